/* NumPy .npy files: float32 ('<f4'), C order, 1 to 4 dims.
 *
 * Format: "\x93NUMPY", major, minor, header length (uint16 LE for 1.0,
 * uint32 LE for 2.0 and 3.0), then the header: a Python dict literal
 * {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with
 * spaces to a 64-byte boundary and ending in '\n'; then the raw data.
 *
 * Statuses: IO_ERROR for the file system (open, read, write, rename),
 * INVALID_ARGUMENT for a malformed file or bad arguments, UNSUPPORTED for a
 * well-formed array this reader does not take (dtype, order, rank, empty,
 * version), OVERFLOW for sizes beyond 2^31 floats. */
#include "graph_internal.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NPY_MAX_FLOATS (1ull << 31)
#define NPY_MAX_PARSED_DIMS 32

static const char k_magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

static int host_is_le(void)
{
    const uint32_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static void swap4(float *x, size_t n)
{
    unsigned char *p = (unsigned char *)x;
    for (size_t i = 0; i < n; i++, p += 4) {
        unsigned char t = p[0];
        p[0] = p[3];
        p[3] = t;
        t = p[1];
        p[1] = p[2];
        p[2] = t;
    }
}

/* ---- header parsing ---------------------------------------------------------- */

typedef struct npy_hdr {
    char descr[32];
    int fortran;                           /* -1: missing */
    int have_descr, have_shape;
    size_t ndim;                           /* parsed dims (may exceed 4) */
    uint64_t dims[NPY_MAX_PARSED_DIMS];    /* saturated at UINT64_MAX / 16 */
    char err[160];                         /* what is wrong, if parsing failed */
} npy_hdr;

typedef struct cur {
    const char *p, *end;
} cur;

static void ws(cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int eat(cur *c, char ch)
{
    ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

static int perr(npy_hdr *h, const cur *c, const char *start, const char *what)
{
    snprintf(h->err, sizeof h->err, "%s at header offset %td", what, c->p - start);
    return 0;
}

/* A quoted string ('...' or "..."), without escapes, into buf. */
static int str(cur *c, char *buf, size_t cap)
{
    ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return 0;
    const char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || n + 1 >= cap)
            return 0;
        buf[n++] = *c->p++;
    }
    if (c->p >= c->end)
        return 0;
    c->p++;
    buf[n] = 0;
    return 1;
}

static int word(cur *c, const char *w)
{
    ws(c);
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) >= n && !memcmp(c->p, w, n)) {
        c->p += n;
        return 1;
    }
    return 0;
}

/* A non-negative integer (a Python 2 'L' suffix is allowed), saturating. */
static int integer(cur *c, uint64_t *v)
{
    ws(c);
    if (c->p >= c->end || *c->p < '0' || *c->p > '9')
        return 0;
    uint64_t x = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        x = x > UINT64_MAX / 16 ? UINT64_MAX / 16 : x * 10 + (uint64_t)(*c->p - '0');
        c->p++;
    }
    if (c->p < c->end && *c->p == 'L')
        c->p++;
    *v = x;
    return 1;
}

/* (d0, d1, ...) with an optional trailing comma; () is 0 dims. */
static int tuple(cur *c, npy_hdr *h, const char *start)
{
    if (!eat(c, '('))
        return perr(h, c, start, "'shape' is not a tuple");
    h->ndim = 0;
    while (!eat(c, ')')) {
        uint64_t d;
        if (!integer(c, &d))
            return perr(h, c, start, "'shape' holds something other than a non-negative integer");
        if (h->ndim == NPY_MAX_PARSED_DIMS)
            return perr(h, c, start, "'shape' has too many dimensions");
        h->dims[h->ndim++] = d;
        if (!eat(c, ',')) {
            if (!eat(c, ')'))
                return perr(h, c, start, "expected ',' or ')' in 'shape'");
            break;
        }
    }
    h->have_shape = 1;
    return 1;
}

/* Parses the dict literal of len bytes; 1 on success, else 0 with h->err. */
static int parse_header(const char *s, size_t len, npy_hdr *h)
{
    memset(h, 0, sizeof *h);
    h->fortran = -1;
    cur c = {s, s + len};
    if (!eat(&c, '{'))
        return perr(h, &c, s, "header does not start with '{'");
    while (!eat(&c, '}')) {
        char key[32];
        if (!str(&c, key, sizeof key))
            return perr(h, &c, s, "expected a quoted key");
        if (!eat(&c, ':'))
            return perr(h, &c, s, "expected ':' after a key");
        if (!strcmp(key, "descr")) {
            if (h->have_descr || !str(&c, h->descr, sizeof h->descr))
                return perr(h, &c, s, "'descr' is repeated or not a short string");
            h->have_descr = 1;
        } else if (!strcmp(key, "fortran_order")) {
            if (h->fortran >= 0)
                return perr(h, &c, s, "'fortran_order' is repeated");
            if (word(&c, "True"))
                h->fortran = 1;
            else if (word(&c, "False"))
                h->fortran = 0;
            else
                return perr(h, &c, s, "'fortran_order' is not True or False");
        } else if (!strcmp(key, "shape")) {
            if (h->have_shape)
                return perr(h, &c, s, "'shape' is repeated");
            if (!tuple(&c, h, s))
                return 0;
        } else {
            snprintf(h->err, sizeof h->err, "unexpected key '%s'", key);
            return 0;
        }
        if (!eat(&c, ',')) {
            if (!eat(&c, '}'))
                return perr(h, &c, s, "expected ',' or '}'");
            break;
        }
    }
    ws(&c);
    if (c.p != c.end)
        return perr(h, &c, s, "unexpected text after the closing '}'");
    if (!h->have_descr || h->fortran < 0 || !h->have_shape) {
        snprintf(h->err, sizeof h->err, "the header lacks key '%s'",
                 !h->have_descr ? "descr" : h->fortran < 0 ? "fortran_order" : "shape");
        return 0;
    }
    return 1;
}

/* ---- read ---------------------------------------------------------------------- */

static uint32_t le32(const unsigned char *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

mcl_status mcl_npy_read(const char *path, float **data, uint32_t dims[4], size_t *ndim)
{
    mcl_clear_error();
    if (!path || !data || !dims || !ndim)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "npy read: NULL argument (path %s)", path ? path : "NULL");
    *data = NULL;
    *ndim = 0;
    struct stat sb;
    if (stat(path, &sb) != 0) /* before opening: a FIFO would block fopen */
        return mcl_fail(NULL, MCL_STATUS_IO_ERROR, "npy '%s': cannot open: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return mcl_fail(NULL, MCL_STATUS_IO_ERROR, "npy '%s': %s", path,
                        S_ISDIR(sb.st_mode) ? "is a directory" : "is not a regular file");
    FILE *f = fopen(path, "rb");
    if (!f)
        return mcl_fail(NULL, MCL_STATUS_IO_ERROR, "npy '%s': cannot open: %s", path, strerror(errno));
    mcl_status st = MCL_STATUS_OK;
    char *hdr = NULL;
    float *buf = NULL;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) { /* the file may have changed meanwhile */
        st = mcl_fail(NULL, MCL_STATUS_IO_ERROR, "npy '%s': cannot stat the opened file", path);
        goto out;
    }
    const uint64_t fsize = (uint64_t)sb.st_size;
    unsigned char pre[12];
    if (fsize < 10 || fread(pre, 1, 10, f) != 10) {
        st = mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "npy '%s': truncated header (file is %llu bytes)", path,
                      (unsigned long long)fsize);
        goto out;
    }
    if (memcmp(pre, k_magic, sizeof k_magic)) {
        st = mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "npy '%s': bad magic (not a .npy file)", path);
        goto out;
    }
    const unsigned major = pre[6], minor = pre[7];
    if (major < 1 || major > 3 || minor != 0) {
        st = mcl_fail(NULL, MCL_STATUS_UNSUPPORTED, "npy '%s': format version %u.%u (supported: 1.0, 2.0, 3.0)", path,
                      major, minor);
        goto out;
    }
    uint64_t hlen, off;
    if (major == 1) {
        hlen = (uint64_t)pre[8] | (uint64_t)pre[9] << 8;
        off = 10;
    } else {
        if (fsize < 12 || fread(pre + 10, 1, 2, f) != 2) {
            st = mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "npy '%s': truncated header (file is %llu bytes)", path,
                          (unsigned long long)fsize);
            goto out;
        }
        hlen = le32(pre + 8);
        off = 12;
    }
    if (hlen > fsize - off) {
        st = mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT,
                      "npy '%s': header length %llu is beyond the file (%llu bytes after the %llu-byte preamble)", path,
                      (unsigned long long)hlen, (unsigned long long)(fsize - off), (unsigned long long)off);
        goto out;
    }
    if (!(hdr = malloc((size_t)hlen + 1))) {
        st = mcl_fail(NULL, MCL_STATUS_OUT_OF_MEMORY, "npy '%s': header of %llu bytes", path, (unsigned long long)hlen);
        goto out;
    }
    if (fread(hdr, 1, (size_t)hlen, f) != hlen) {
        st = mcl_fail(NULL, MCL_STATUS_IO_ERROR, "npy '%s': reading the header failed", path);
        goto out;
    }
    hdr[hlen] = 0;
    npy_hdr h;
    if (memchr(hdr, 0, (size_t)hlen)) {
        st = mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "npy '%s': header contains a NUL byte", path);
        goto out;
    }
    if (!parse_header(hdr, (size_t)hlen, &h)) {
        st = mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "npy '%s': malformed header: %s", path, h.err);
        goto out;
    }
    if (strcmp(h.descr, "<f4")) {
        st = mcl_fail(NULL, MCL_STATUS_UNSUPPORTED, "npy '%s': dtype '%s' is not supported (only '<f4', float32)", path,
                      h.descr);
        goto out;
    }
    if (h.fortran) {
        st = mcl_fail(NULL, MCL_STATUS_UNSUPPORTED, "npy '%s': fortran_order True is not supported (only C order)",
                      path);
        goto out;
    }
    if (h.ndim < 1 || h.ndim > 4) {
        st = mcl_fail(NULL, MCL_STATUS_UNSUPPORTED, "npy '%s': %zu dimensions (supported: 1 to 4)", path, h.ndim);
        goto out;
    }
    uint64_t count = 1;
    for (size_t i = 0; i < h.ndim; i++) {
        if (!h.dims[i]) {
            st = mcl_fail(NULL, MCL_STATUS_UNSUPPORTED, "npy '%s': dimension %zu is 0 (empty arrays are not supported)",
                          path, i);
            goto out;
        }
        if (h.dims[i] > NPY_MAX_FLOATS || (count *= h.dims[i]) > NPY_MAX_FLOATS || count > SIZE_MAX / sizeof(float)) {
            st = mcl_fail(NULL, MCL_STATUS_OVERFLOW,
                          "npy '%s': shape overflows at dimension %zu (%llu): more than 2^31 floats", path, i,
                          (unsigned long long)h.dims[i]);
            goto out;
        }
        dims[i] = (uint32_t)h.dims[i];
    }
    const uint64_t bytes = count * sizeof(float), have = fsize - off - hlen;
    if (have != bytes) {
        st = mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT,
                      "npy '%s': data is %llu bytes but the shape says %llu bytes (%llu floats)%s", path,
                      (unsigned long long)have, (unsigned long long)bytes, (unsigned long long)count,
                      have < bytes ? " (truncated)" : " (trailing bytes)");
        goto out;
    }
    if (!(buf = malloc((size_t)bytes))) {
        st = mcl_fail(NULL, MCL_STATUS_OUT_OF_MEMORY, "npy '%s': %llu bytes of data", path, (unsigned long long)bytes);
        goto out;
    }
    if (fread(buf, 1, (size_t)bytes, f) != bytes) {
        st = mcl_fail(NULL, MCL_STATUS_IO_ERROR, "npy '%s': reading %llu data bytes failed", path,
                      (unsigned long long)bytes);
        goto out;
    }
    if (!host_is_le())
        swap4(buf, (size_t)count);
    *data = buf;
    buf = NULL;
    *ndim = h.ndim;
out:
    if (st != MCL_STATUS_OK)
        memset(dims, 0, 4 * sizeof *dims);
    free(buf);
    free(hdr);
    fclose(f);
    return st;
}

/* ---- write ------------------------------------------------------------------------ */

mcl_status mcl_npy_write(const char *path, const float *data, const uint32_t *dims, size_t ndim)
{
    mcl_clear_error();
    if (!path || !data || !dims)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "npy write '%s': NULL data or dims", path ? path : "NULL");
    if (ndim < 1 || ndim > 4)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "npy write '%s': %zu dimensions, must be 1 to 4", path,
                        ndim);
    uint64_t count = 1;
    char shape[96];
    int sl = snprintf(shape, sizeof shape, "(");
    for (size_t i = 0; i < ndim; i++) {
        if (!dims[i])
            return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "npy write '%s': dimension %zu is 0", path, i);
        if ((count *= dims[i]) > NPY_MAX_FLOATS || count > SIZE_MAX / sizeof(float))
            return mcl_fail(NULL, MCL_STATUS_OVERFLOW, "npy write '%s': more than 2^31 floats", path);
        sl += snprintf(shape + sl, sizeof shape - (size_t)sl, i ? ", %u" : "%u", dims[i]);
    }
    snprintf(shape + sl, sizeof shape - (size_t)sl, ndim == 1 ? ",)" : ")");

    /* header: dict, spaces, '\n'; preamble + header a multiple of 64 */
    char hdr[192];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", shape);
    size_t total = (10 + (size_t)n + 1 + 63) / 64 * 64, hlen = total - 10;
    memset(hdr + n, ' ', hlen - 1 - (size_t)n);
    hdr[hlen - 1] = '\n';
    unsigned char pre[10];
    memcpy(pre, k_magic, sizeof k_magic);
    pre[6] = 1;
    pre[7] = 0;
    pre[8] = (unsigned char)(hlen & 0xff);
    pre[9] = (unsigned char)(hlen >> 8);

    static atomic_uint serial;
    const size_t tl = strlen(path) + 48;
    char *tmp = malloc(tl);
    if (!tmp)
        return mcl_fail(NULL, MCL_STATUS_OUT_OF_MEMORY, "npy write '%s': temp name", path);
    snprintf(tmp, tl, "%s.tmp.%ld.%u", path, (long)getpid(), atomic_fetch_add(&serial, 1u));
    FILE *f = fopen(tmp, "wbx");
    if (!f) {
        mcl_status st = mcl_fail(NULL, MCL_STATUS_IO_ERROR, "npy write '%s': cannot create temp file '%s': %s", path,
                                 tmp, strerror(errno));
        free(tmp);
        return st;
    }
    int ok = fwrite(pre, 1, sizeof pre, f) == sizeof pre && fwrite(hdr, 1, hlen, f) == hlen;
    if (host_is_le()) {
        ok = ok && fwrite(data, sizeof(float), (size_t)count, f) == count;
    } else {
        float chunk[1024];
        for (size_t i = 0; ok && i < count; i += 1024) {
            size_t k = count - i < 1024 ? (size_t)(count - i) : 1024;
            memcpy(chunk, data + i, k * sizeof(float));
            swap4(chunk, k);
            ok = fwrite(chunk, sizeof(float), k, f) == k;
        }
    }
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    int err = errno;
    if (fclose(f) != 0 && ok) {
        err = errno;
        ok = 0;
    }
    if (ok && rename(tmp, path) != 0) {
        err = errno;
        ok = 0;
    }
    mcl_status st = MCL_STATUS_OK;
    if (!ok) {
        remove(tmp);
        st = mcl_fail(NULL, MCL_STATUS_IO_ERROR, "npy write '%s': writing or renaming the temp file failed: %s", path,
                      strerror(err));
    }
    free(tmp);
    return st;
}
