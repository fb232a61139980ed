/* NumPy .npy reader/writer (graph/npy.c): round trips of 1-4 dim arrays,
 * files built byte by byte as NumPy's format spec says (v1.0, v2.0, v3.0,
 * dict keys in any order, spacing, quotes), files written by real NumPy
 * (Debian's python3-numpy), and every error case with its status and a message
 * naming the file. */
#define _GNU_SOURCE 1
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mobicl_graph.h"
#include "ref.h"

static char g_dir[64];

static void make_dir(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/mcl_npy_XXXXXX");
    cr_assert(mkdtemp(g_dir) != NULL, "mkdtemp failed");
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        cr_log_warn("could not remove %s", g_dir);
}

TestSuite(npy, .init = make_dir, .fini = remove_dir);

/* g_dir/name in one of a few rotating buffers */
static const char *P(const char *name)
{
    static char buf[4][256];
    static int k;
    char *p = buf[k++ & 3];
    snprintf(p, 256, "%s/%s", g_dir, name);
    return p;
}

static void write_bytes(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert(f, "cannot create %s", path);
    cr_assert_eq(fwrite(b, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}

static size_t file_bytes(const char *path, unsigned char **out)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *out = malloc((size_t)n + 1);
    cr_assert_eq(fread(*out, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return (size_t)n;
}

/* A .npy file as NumPy's format spec describes it: magic, version, header
 * length (2 bytes LE for 1.x, 4 for 2.x/3.x), dict + spaces + '\n' with the
 * whole preamble+header a multiple of 64, then `nd` data bytes. */
static void build_npy(const char *path, int major, int minor, const char *dict, const void *data, size_t nd)
{
    unsigned char b[4096];
    const size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
    const size_t total = (pre + dl + 1 + 63) / 64 * 64, hlen = total - pre;
    cr_assert(total + nd <= sizeof b);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (unsigned char)major;
    b[7] = (unsigned char)minor;
    for (size_t i = 0; i < pre - 8; i++)
        b[8 + i] = (unsigned char)(hlen >> (8 * i));
    memcpy(b + pre, dict, dl);
    memset(b + pre + dl, ' ', hlen - dl - 1);
    b[total - 1] = '\n';
    if (nd)
        memcpy(b + total, data, nd);
    write_bytes(path, b, total + nd);
}

static const float k_iota[24] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23};

/* Read path; expect OK with these dims and data 0, 1, 2, ... */
static void expect_iota(const char *path, size_t ndim, const uint32_t *dims)
{
    float *x = NULL;
    uint32_t d[4];
    size_t nd = 0;
    mcl_status st = mcl_npy_read(path, &x, d, &nd);
    cr_assert_eq(st, MCL_STATUS_OK, "%s: %s", path, mcl_last_error());
    cr_assert_eq(nd, ndim, "%s: ndim %zu, want %zu", path, nd, ndim);
    size_t n = 1;
    for (size_t i = 0; i < ndim; i++) {
        cr_assert_eq(d[i], dims[i], "%s: dim %zu is %u, want %u", path, i, d[i], dims[i]);
        n *= dims[i];
    }
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(x[i], (float)i, "%s: element %zu is %g", path, i, (double)x[i]);
    free(x);
}

/* Read path; expect status st and a message naming the path and containing
 * each of the (NULL-terminated) fragments. */
static void expect_fail(const char *path, mcl_status want, ...)
{
    float *x = (float *)(uintptr_t)1;
    uint32_t d[4];
    size_t nd = 99;
    mcl_status st = mcl_npy_read(path, &x, d, &nd);
    const char *e = mcl_last_error();
    cr_expect_eq(st, want, "%s: status %s, want %s (%s)", path, mcl_status_string(st), mcl_status_string(want), e);
    cr_expect(strstr(e, path) != NULL, "message does not name the file: %s", e);
    cr_expect(x == NULL && nd == 0, "%s: outputs not cleared on failure", path);
    va_list ap;
    va_start(ap, want);
    for (const char *frag; (frag = va_arg(ap, const char *));)
        cr_expect(strstr(e, frag) != NULL, "message lacks \"%s\": %s", frag, e);
    va_end(ap);
}

/* Names in g_dir (excluding . and ..) */
static size_t dir_entries(void)
{
    DIR *d = opendir(g_dir);
    cr_assert(d);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

Test(npy, round_trip_1_to_4_dims)
{
    static const struct {
        size_t nd;
        uint32_t d[4];
    } rows[] = {{1, {7}}, {1, {1}}, {2, {1, 1000}}, {2, {3, 5}}, {3, {2, 3, 4}}, {4, {2, 3, 4, 5}}, {4, {1, 32, 3, 3}}};
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        size_t n = 1;
        for (size_t i = 0; i < rows[r].nd; i++)
            n *= rows[r].d[i];
        float *x = malloc(n * sizeof *x);
        ref_fill_uniform(x, n, r + 1, -3.0f, 3.0f);
        x[0] = -0.0f;
        const char *path = P("rt.npy");
        cr_assert_eq(mcl_npy_write(path, x, rows[r].d, rows[r].nd), MCL_STATUS_OK, "%s", mcl_last_error());

        unsigned char *b;
        size_t len = file_bytes(path, &b);
        cr_assert(len > 10 && !memcmp(b, "\x93NUMPY\x01\x00", 8), "row %zu: bad preamble", r);
        const size_t hlen = b[8] | (size_t)b[9] << 8;
        cr_expect_eq((10 + hlen) % 64, 0, "row %zu: header not padded to 64 (%zu)", r, hlen);
        cr_expect_eq(b[10 + hlen - 1], '\n', "row %zu: header does not end in newline", r);
        cr_expect_eq(len, 10 + hlen + n * 4, "row %zu: file %zu bytes", r, len);
        free(b);

        float *y = NULL;
        uint32_t d[4];
        size_t nd = 0;
        cr_assert_eq(mcl_npy_read(path, &y, d, &nd), MCL_STATUS_OK, "%s", mcl_last_error());
        cr_assert_eq(nd, rows[r].nd);
        cr_assert(!memcmp(d, rows[r].d, nd * sizeof *d), "row %zu: dims differ", r);
        cr_assert(!memcmp(x, y, n * sizeof *x), "row %zu: data differs", r);
        free(x);
        free(y);
    }
    cr_expect_eq(dir_entries(), 1, "temp files left behind");
}

/* The exact bytes NumPy (before 1.23's extra shape padding) writes for
 * np.arange(6, dtype='<f4').reshape(2, 3): our writer produces the same. */
Test(npy, writer_matches_numpy_bytes)
{
    const char *want_path = P("numpy.npy"), *ours = P("ours.npy");
    build_npy(want_path, 1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", k_iota, 24);
    const uint32_t d[2] = {2, 3};
    cr_assert_eq(mcl_npy_write(ours, k_iota, d, 2), MCL_STATUS_OK, "%s", mcl_last_error());
    unsigned char *a, *b;
    size_t na = file_bytes(want_path, &a), nb = file_bytes(ours, &b);
    cr_expect_eq(na, 128 + 24);
    cr_expect(na == nb && !memcmp(a, b, na), "writer output differs from numpy's bytes:\n%.*s\n%.*s", (int)na - 34,
              a + 10, (int)nb - 34, b + 10);
    free(a);
    free(b);
    expect_iota(want_path, 2, d);
    const uint32_t d1[1] = {5};
    cr_assert_eq(mcl_npy_write(ours, k_iota, d1, 1), MCL_STATUS_OK); /* overwrites */
    unsigned char *c;
    size_t nc = file_bytes(ours, &c);
    cr_expect(memmem(c, nc, "'shape': (5,), }", 16) != NULL, "1-d shape not written as (5,)");
    free(c);
    expect_iota(ours, 1, d1);
}

Test(npy, hand_built_headers)
{
    const uint32_t d23[2] = {2, 3}, d234[3] = {2, 3, 4}, d6[1] = {6}, d1111[4] = {1, 2, 3, 4};
    const char *std = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    build_npy(P("v2.npy"), 2, 0, std, k_iota, 24);
    expect_iota(P("v2.npy"), 2, d23);
    build_npy(P("v3.npy"), 3, 0, std, k_iota, 24);
    expect_iota(P("v3.npy"), 2, d23);
    static const char *variants[] = {
        "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}",
        "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2,3)}",
        "{ 'fortran_order' :False,'shape':( 2 , 3 , ),'descr':'<f4' , }",
        "{'descr':'<f4','fortran_order':False,'shape':(2L, 3L)}",
        "\t{'descr': '<f4',\n 'fortran_order': False,\n 'shape': (2, 3)}  ",
    };
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        build_npy(P("var.npy"), 1, 0, variants[i], k_iota, 24);
        expect_iota(P("var.npy"), 2, d23);
    }
    build_npy(P("3d.npy"), 1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }", k_iota, 96);
    expect_iota(P("3d.npy"), 3, d234);
    build_npy(P("1d.npy"), 1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", k_iota, 24);
    expect_iota(P("1d.npy"), 1, d6);
    build_npy(P("4d.npy"), 2, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3, 4), }", k_iota, 96);
    expect_iota(P("4d.npy"), 4, d1111);
}

/* Fixtures written by real NumPy (Debian's python3-numpy, which the test
 * set-up installs with python3-onnx). */
Test(npy, real_numpy)
{
    cr_assert_eq(system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1"), 0,
                 "/usr/bin/python3 with numpy is needed (apt-get install python3-numpy; tools/setup.sh does)");
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && /usr/bin/python3 -c \"\n"
             "import numpy as np\n"
             "a = lambda *s: np.arange(int(np.prod(s)), dtype='<f4').reshape(s)\n"
             "np.save('n1.npy', a(7)); np.save('n2.npy', a(2, 3)); np.save('n3.npy', a(2, 3, 4))\n"
             "np.save('n4.npy', a(1, 2, 3, 4))\n"
             "f = open('v2.npy', 'wb'); np.lib.format.write_array(f, a(3, 4), version=(2, 0)); f.close()\n"
             "np.save('f8.npy', a(2, 3).astype('<f8')); np.save('be.npy', a(2, 3).astype('>f4'))\n"
             "np.save('fo.npy', np.asfortranarray(a(2, 3))); np.save('d5.npy', a(1, 1, 1, 2, 3))\n"
             "np.save('d0.npy', np.float32(1)); np.save('e.npy', np.zeros((0, 3), np.float32))\n"
             "\"",
             g_dir);
    cr_assert_eq(system(cmd), 0, "python3 fixture script failed");
    const uint32_t d1[] = {7}, d2[] = {2, 3}, d3[] = {2, 3, 4}, d4[] = {1, 2, 3, 4}, dv2[] = {3, 4};
    expect_iota(P("n1.npy"), 1, d1);
    expect_iota(P("n2.npy"), 2, d2);
    expect_iota(P("n3.npy"), 3, d3);
    expect_iota(P("n4.npy"), 4, d4);
    expect_iota(P("v2.npy"), 2, dv2);
    expect_fail(P("f8.npy"), MCL_STATUS_UNSUPPORTED, "'<f8'", NULL);
    expect_fail(P("be.npy"), MCL_STATUS_UNSUPPORTED, "'>f4'", NULL);
    expect_fail(P("fo.npy"), MCL_STATUS_UNSUPPORTED, "fortran", NULL);
    expect_fail(P("d5.npy"), MCL_STATUS_UNSUPPORTED, "5 dimensions", NULL);
    expect_fail(P("d0.npy"), MCL_STATUS_UNSUPPORTED, "0 dimensions", NULL);
    expect_fail(P("e.npy"), MCL_STATUS_UNSUPPORTED, "dimension 0 is 0", NULL);
    /* and NumPy reads what we write */
    const uint32_t d[3] = {2, 3, 4};
    cr_assert_eq(mcl_npy_write(P("ours.npy"), k_iota, d, 3), MCL_STATUS_OK);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && /usr/bin/python3 -c \"\n"
             "import numpy as np\n"
             "x = np.load('ours.npy')\n"
             "assert x.dtype == np.float32 and x.shape == (2, 3, 4) and (x.ravel() == np.arange(24)).all()\n"
             "\"",
             g_dir);
    cr_expect_eq(system(cmd), 0, "numpy could not read our file");
}

static const char *hdr(const char *shape_or_dict)
{
    static char b[512];
    snprintf(b, sizeof b, "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", shape_or_dict);
    return b;
}

Test(npy, errors_file)
{
    expect_fail(P("missing.npy"), MCL_STATUS_IO_ERROR, NULL);
    cr_assert_eq(mkdir(P("adir"), 0755), 0);
    expect_fail(P("adir"), MCL_STATUS_IO_ERROR, "directory", NULL);
    cr_assert_eq(mkfifo(P("fifo"), 0644), 0);
    expect_fail(P("fifo"), MCL_STATUS_IO_ERROR, "not a regular file", NULL);
    write_bytes(P("empty.npy"), "", 0);
    expect_fail(P("empty.npy"), MCL_STATUS_INVALID_ARGUMENT, "truncated", NULL);
    write_bytes(P("short.npy"), "\x93NUMPY\x01\x00", 8);
    expect_fail(P("short.npy"), MCL_STATUS_INVALID_ARGUMENT, "truncated", NULL);
    write_bytes(P("short2.npy"), "\x93NUMPY\x02\x00\x10\x00\x00", 11);
    expect_fail(P("short2.npy"), MCL_STATUS_INVALID_ARGUMENT, "truncated", NULL);
    write_bytes(P("magic.npy"), "\x93NUMPZ\x01\x00\x00\x00", 10);
    expect_fail(P("magic.npy"), MCL_STATUS_INVALID_ARGUMENT, "magic", NULL);
    write_bytes(P("text.npy"), "hello, this is not numpy data at all\n", 37);
    expect_fail(P("text.npy"), MCL_STATUS_INVALID_ARGUMENT, "magic", NULL);
    build_npy(P("ver.npy"), 4, 0, hdr("(2, 3)"), k_iota, 24);
    expect_fail(P("ver.npy"), MCL_STATUS_UNSUPPORTED, "4.0", NULL);

    /* header length beyond the file: v1.0 says 118 bytes, 40 follow; v2.0 says 2^32-1 */
    unsigned char b[64];
    build_npy(P("ok.npy"), 1, 0, hdr("(2, 3)"), k_iota, 24);
    FILE *f = fopen(P("ok.npy"), "rb");
    cr_assert_eq(fread(b, 1, 50, f), 50);
    fclose(f);
    write_bytes(P("hlen.npy"), b, 50);
    expect_fail(P("hlen.npy"), MCL_STATUS_INVALID_ARGUMENT, "beyond the file", "118", NULL);
    memcpy(b, "\x93NUMPY\x02\x00\xff\xff\xff\xff{}\n", 15);
    write_bytes(P("hlen2.npy"), b, 15);
    expect_fail(P("hlen2.npy"), MCL_STATUS_INVALID_ARGUMENT, "beyond the file", "4294967295", NULL);
}

Test(npy, errors_header)
{
    static const struct {
        const char *dict;
        mcl_status st;
        const char *frag;
    } rows[] = {
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", MCL_STATUS_UNSUPPORTED, "'<f8'"},
        {"{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }", MCL_STATUS_UNSUPPORTED, "'|u1'"},
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", MCL_STATUS_UNSUPPORTED, "fortran"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 2, 3), }", MCL_STATUS_UNSUPPORTED, "5 dimensions"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (), }", MCL_STATUS_UNSUPPORTED, "0 dimensions"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 0, 3), }", MCL_STATUS_UNSUPPORTED, "dimension 1 is 0"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 65536), }", MCL_STATUS_OVERFLOW, "2^31"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296,), }", MCL_STATUS_OVERFLOW, "4294967296"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999999999,), }", MCL_STATUS_OVERFLOW, "overflows"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3), }", MCL_STATUS_INVALID_ARGUMENT, "shape"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3], }", MCL_STATUS_INVALID_ARGUMENT, "tuple"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3}", MCL_STATUS_INVALID_ARGUMENT, "malformed"},
        {"{'descr': '<f4', 'fortran_order': False}", MCL_STATUS_INVALID_ARGUMENT, "'shape'"},
        {"{'descr': '<f4', 'shape': (2, 3)}", MCL_STATUS_INVALID_ARGUMENT, "'fortran_order'"},
        {"{'fortran_order': False, 'shape': (2, 3)}", MCL_STATUS_INVALID_ARGUMENT, "'descr'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1}", MCL_STATUS_INVALID_ARGUMENT, "'extra'"},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", MCL_STATUS_INVALID_ARGUMENT, "repeated"},
        {"{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3)}", MCL_STATUS_INVALID_ARGUMENT, "True or False"},
        {"{'descr: '<f4', 'fortran_order': False, 'shape': (2, 3)}", MCL_STATUS_INVALID_ARGUMENT, "malformed"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} x", MCL_STATUS_INVALID_ARGUMENT, "after"},
        {"'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)", MCL_STATUS_INVALID_ARGUMENT, "'{'"},
        {"{'descr': '<f4' 'fortran_order': False, 'shape': (2, 3)}", MCL_STATUS_INVALID_ARGUMENT, "malformed"},
        {"{", MCL_STATUS_INVALID_ARGUMENT, "malformed"},
        {"", MCL_STATUS_INVALID_ARGUMENT, "malformed"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        build_npy(P("h.npy"), i % 2 ? 1 : 2, 0, rows[i].dict, k_iota, 24);
        cr_log_info("row %zu: %s", i, rows[i].dict);
        expect_fail(P("h.npy"), rows[i].st, rows[i].frag, NULL);
    }
    /* a NUL byte inside the header */
    unsigned char b[128];
    build_npy(P("nul.npy"), 1, 0, hdr("(2, 3)"), NULL, 0);
    FILE *f = fopen(P("nul.npy"), "rb");
    cr_assert_eq(fread(b, 1, 128, f), 128);
    fclose(f);
    b[20] = 0;
    write_bytes(P("nul.npy"), b, 128);
    expect_fail(P("nul.npy"), MCL_STATUS_INVALID_ARGUMENT, "NUL", NULL);
}

Test(npy, errors_data_size)
{
    build_npy(P("short.npy"), 1, 0, hdr("(2, 3)"), k_iota, 20);
    expect_fail(P("short.npy"), MCL_STATUS_INVALID_ARGUMENT, "20 bytes", "24 bytes", NULL);
    build_npy(P("none.npy"), 1, 0, hdr("(2, 3)"), NULL, 0);
    expect_fail(P("none.npy"), MCL_STATUS_INVALID_ARGUMENT, "0 bytes", "24 bytes", NULL);
    build_npy(P("big.npy"), 1, 0, hdr("(1000, 1000, 1000)"), k_iota, 96);
    expect_fail(P("big.npy"), MCL_STATUS_INVALID_ARGUMENT, "96 bytes", "4000000000 bytes", NULL);
    build_npy(P("long.npy"), 1, 0, hdr("(2, 3)"), k_iota, 28);
    expect_fail(P("long.npy"), MCL_STATUS_INVALID_ARGUMENT, "28 bytes", "24 bytes", NULL);
}

Test(npy, errors_arguments_and_write)
{
    float *x = NULL;
    uint32_t d[4] = {2, 3, 0, 0};
    size_t nd = 0;
    cr_expect_eq(mcl_npy_read(NULL, &x, d, &nd), MCL_STATUS_INVALID_ARGUMENT);
    cr_expect_eq(mcl_npy_read(P("a.npy"), NULL, d, &nd), MCL_STATUS_INVALID_ARGUMENT);
    cr_expect_eq(mcl_npy_read(P("a.npy"), &x, NULL, &nd), MCL_STATUS_INVALID_ARGUMENT);
    cr_expect_eq(mcl_npy_read(P("a.npy"), &x, d, NULL), MCL_STATUS_INVALID_ARGUMENT);

    static const struct {
        size_t nd;
        uint32_t d[5];
        mcl_status st;
    } rows[] = {
        {0, {2}, MCL_STATUS_INVALID_ARGUMENT},
        {5, {1, 1, 1, 2, 3}, MCL_STATUS_INVALID_ARGUMENT},
        {2, {2, 0}, MCL_STATUS_INVALID_ARGUMENT},
        {2, {65536, 65536}, MCL_STATUS_OVERFLOW},
        {4, {4096, 4096, 4096, 4096}, MCL_STATUS_OVERFLOW},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        mcl_status st = mcl_npy_write(P("w.npy"), k_iota, rows[i].d, rows[i].nd);
        cr_expect_eq(st, rows[i].st, "row %zu: %s", i, mcl_last_error());
        cr_expect(strstr(mcl_last_error(), P("w.npy")) != NULL, "row %zu: %s", i, mcl_last_error());
    }
    cr_expect_eq(mcl_npy_write(P("w.npy"), NULL, d, 2), MCL_STATUS_INVALID_ARGUMENT);
    cr_expect_eq(mcl_npy_write(P("w.npy"), k_iota, NULL, 2), MCL_STATUS_INVALID_ARGUMENT);
    cr_expect_eq(mcl_npy_write(NULL, k_iota, d, 2), MCL_STATUS_INVALID_ARGUMENT);
    cr_expect_eq(dir_entries(), 0, "a failed write left a file");

    /* file system errors */
    cr_expect_eq(mcl_npy_write(P("no/such/dir/w.npy"), k_iota, d, 2), MCL_STATUS_IO_ERROR);
    cr_expect(strstr(mcl_last_error(), P("no/such/dir/w.npy")) != NULL, "%s", mcl_last_error());
    cr_assert_eq(mkdir(P("adir"), 0755), 0);
    cr_expect_eq(mcl_npy_write(P("adir"), k_iota, d, 2), MCL_STATUS_IO_ERROR);
    cr_expect(strstr(mcl_last_error(), P("adir")) != NULL, "%s", mcl_last_error());
    cr_expect_eq(dir_entries(), 1, "a failed rename left the temp file");

    /* success clears the previous error */
    cr_assert_eq(mcl_npy_write(P("w.npy"), k_iota, d, 2), MCL_STATUS_OK);
    cr_expect_str_empty(mcl_last_error());
    expect_iota(P("w.npy"), 2, d);
    cr_expect_str_empty(mcl_last_error());
}
