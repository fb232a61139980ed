/* Program building: embedded sources, -D options, the in-memory program
 * cache and the on-disk binary cache.
 *
 * A program built from source is written to the disk cache later, by
 * mcl_context_save_cache or mcl_context_destroy, not when it is built:
 * asking a driver for a binary can cost more than building the program
 * (POCL compiles every kernel of it for a generic work-group size: 0.6-1.4 s
 * per program here), and that cost does not belong between the app's start
 * and its first inference. Saved after a run, the binary also carries what
 * the driver compiled for that run's work-group sizes.
 *
 * Disk entry <cache_dir>/<key>.bin:
 *   "MCLBIN01" | u64 key[2] | u64 payload size | u64 payload hash | payload
 * key = hash of (library version, device name, driver version, options,
 * source). An entry that fails any check, or that the driver refuses, is
 * rebuilt from source and rewritten (temp file + rename: readers never see
 * a partial file). */
#include "internal.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct { uint64_t a, b; } hash128;

struct mcl_program_entry {
    mcl_program_entry *next;
    char *key; /* "family|options" */
    cl_program program;
    hash128 disk_key; /* its name in the disk cache */
    int unsaved;      /* built from source, not yet in the disk cache */
    int alias;        /* a variant inside a bundle: shares the bundle entry's program */
    char suffix[32];  /* its kernels' name suffix in that program ("" outside bundles) */
};

/* A program requested while builds are deferred (mcl_programs_defer). */
struct mcl_pending {
    char *key;    /* "family|options", as the in-memory cache's */
    char *family;
    char *defs;   /* the -D list */
};

static const char k_magic[8] = {'M', 'C', 'L', 'B', 'I', 'N', '0', '1'};

void mcl_defs_add(mcl_defs *d, const char *name, long value)
{
    size_t room = sizeof d->text - d->len;
    int n = snprintf(d->text + d->len, room, "%s-D%s=%ld", d->len ? " " : "", name, value);
    if (n < 0 || (size_t)n >= room)
        d->overflow = 1;
    else
        d->len += (size_t)n;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Two 64-bit FNV-1a variants with different bases: a 128-bit key. */
static void hash_bytes(hash128 *h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h->a = (h->a ^ s[i]) * 0x100000001b3ull;
        h->b = (h->b ^ s[i]) * 0x100000001b3ull;
        h->b ^= h->b >> 29;
    }
    /* separator so that ("ab","c") and ("a","bc") differ */
    h->a = (h->a ^ 0xff) * 0x100000001b3ull;
    h->b = (h->b ^ 0xfe) * 0x100000001b3ull;
}
static uint64_t hash64(const void *p, size_t n)
{
    hash128 h = {0xcbf29ce484222325ull, 0x84222325cbf29ce4ull};
    hash_bytes(&h, p, n);
    return h.a ^ (h.b << 1);
}

static char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1))) {
            if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
                free(buf);
                buf = NULL;
            } else {
                buf[n] = 0;
                *size = (size_t)n;
            }
        }
    }
    fclose(f);
    return buf;
}

/* The text of one embedded source ("common" or a family), or of its file
 * under kernel_dir; malloc'd, NUL-terminated. */
static mcl_status load_part(mcl_context *ctx, const char *name, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    if (ctx->kernel_dir) {
        char path[1024];
        if (strcmp(name, "common") == 0)
            snprintf(path, sizeof path, "%s/common/common.cl", ctx->kernel_dir);
        else
            snprintf(path, sizeof path, "%s/%s.cl", ctx->kernel_dir, name);
        *text = read_file(path, len);
        if (!*text)
            return mcl_fail(ctx, MCL_STATUS_IO_ERROR, "kernel_dir override: cannot read %s: %s", path,
                            strerror(errno));
        return MCL_STATUS_OK;
    }
    const mcl_embedded_source *src = NULL;
    for (size_t k = 0; k < mcl_embedded_count; k++)
        if (strcmp(mcl_embedded_sources[k].name, name) == 0)
            src = &mcl_embedded_sources[k];
    if (!src)
        return mcl_fail(ctx, MCL_STATUS_NOT_FOUND, "no embedded kernel source named \"%s\"", name);
    *text = malloc(src->size + 1);
    if (!*text)
        return mcl_fail(ctx, MCL_STATUS_OUT_OF_MEMORY, "copying kernel source %s", name);
    memcpy(*text, src->text, src->size);
    (*text)[src->size] = 0;
    *len = src->size;
    return MCL_STATUS_OK;
}

/* Source text of a family: the common header, then the family's file.
 * Returns a malloc'd string. */
static mcl_status load_source(mcl_context *ctx, const char *family, char **out, size_t *size)
{
    char *text[2] = {NULL, NULL};
    size_t len[2] = {0, 0};
    mcl_status st = load_part(ctx, "common", &text[0], &len[0]);
    if (st == MCL_STATUS_OK)
        st = load_part(ctx, family, &text[1], &len[1]);
    if (st == MCL_STATUS_OK && !(*out = malloc(len[0] + len[1] + 2)))
        st = mcl_fail(ctx, MCL_STATUS_OUT_OF_MEMORY, "kernel source of %zu bytes", len[0] + len[1]);
    if (st == MCL_STATUS_OK) {
        memcpy(*out, text[0], len[0]);
        (*out)[len[0]] = '\n';
        memcpy(*out + len[0] + 1, text[1], len[1]);
        (*out)[len[0] + len[1] + 1] = 0;
        *size = len[0] + len[1] + 1;
    }
    free(text[0]);
    free(text[1]);
    return st;
}

static void keep_build_log(mcl_context *ctx, cl_program prog)
{
    size_t n = 0;
    if (ctx->cl->clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &n) != CL_SUCCESS || n == 0)
        return;
    char *log = malloc(n + 1);
    if (!log)
        return;
    if (ctx->cl->clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, n, log, NULL) != CL_SUCCESS)
        log[0] = 0;
    log[n] = 0;
    free(ctx->build_log);
    ctx->build_log = log;
}

static void cache_path(const mcl_context *ctx, const hash128 *key, char *path, size_t n)
{
    snprintf(path, n, "%s/%016llx%016llx.bin", ctx->cache_dir, (unsigned long long)key->a,
             (unsigned long long)key->b);
}

const char *mcl_bincache_parse(const unsigned char *buf, size_t size, uint64_t key_a, uint64_t key_b,
                               const unsigned char **payload, size_t *payload_size)
{
    uint64_t hdr[4];
    const size_t off = 8 + sizeof hdr;
    if (!buf || !payload || !payload_size)
        return "NULL argument";
    *payload = NULL;
    *payload_size = 0;
    if (size < off || memcmp(buf, k_magic, 8) != 0)
        return "bad header";
    memcpy(hdr, buf + 8, sizeof hdr);
    if (hdr[0] != key_a || hdr[1] != key_b)
        return "key mismatch";
    if (hdr[2] != size - off)
        return "truncated or oversized payload";
    if (hdr[3] != hash64(buf + off, size - off))
        return "payload checksum mismatch";
    *payload = buf + off;
    *payload_size = size - off;
    return NULL;
}

/* Try the disk cache; NULL if absent or rejected (then counted). */
static cl_program disk_load(mcl_context *ctx, const hash128 *key, const char *opts)
{
    char path[1024];
    cache_path(ctx, key, path, sizeof path);
    size_t size = 0;
    unsigned char *buf = (unsigned char *)read_file(path, &size);
    if (!buf)
        return NULL;
    cl_program prog = NULL;
    const unsigned char *bin = NULL;
    size_t bin_size = 0;
    const char *why = mcl_bincache_parse(buf, size, key->a, key->b, &bin, &bin_size);
    if (!why) {
        cl_int bst = CL_SUCCESS, err = CL_SUCCESS;
        prog = ctx->cl->clCreateProgramWithBinary(ctx->context, 1, &ctx->device, &bin_size, &bin, &bst, &err);
        if (!prog || err != CL_SUCCESS || bst != CL_SUCCESS)
            why = "driver refused the binary";
        else if (ctx->cl->clBuildProgram(prog, 1, &ctx->device, opts, NULL, NULL) != CL_SUCCESS)
            why = "driver failed to build the binary";
        if (why && prog) {
            ctx->cl->clReleaseProgram(prog);
            prog = NULL;
        }
    }
    free(buf);
    if (why) {
        ctx->stats.disk_rejected++;
        mcl_log(ctx, MCL_LOG_WARN, "binary cache entry %s rejected (%s); rebuilding", path, why);
        return NULL;
    }
    return prog;
}

/* Write prog's binary as the entry for key; 0 on success, else -1 with
 * the reason in why. */
static int disk_store(mcl_context *ctx, const hash128 *key, cl_program prog, char *why, size_t why_n)
{
    size_t bin_size = 0;
    char path[1024], tmp[1100];
    cache_path(ctx, key, path, sizeof path);
    cl_int err = ctx->cl->clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof bin_size, &bin_size, NULL);
    if (err != CL_SUCCESS || bin_size == 0) {
        snprintf(why, why_n, "%s: the driver gave no binary size (%s)", path, mcl_cl_error_name(err));
        return -1;
    }
    unsigned char *bin = malloc(bin_size);
    if (!bin) {
        snprintf(why, why_n, "%s: no memory for a binary of %zu bytes", path, bin_size);
        return -1;
    }
    unsigned char *bins[1] = {bin};
    int rc = -1;
    err = ctx->cl->clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL);
    if (err != CL_SUCCESS) {
        snprintf(why, why_n, "%s: the driver gave no binary (%s)", path, mcl_cl_error_name(err));
        goto done;
    }
    /* unique per process and per call: threads may store at once */
    static _Atomic unsigned long seq;
    snprintf(tmp, sizeof tmp, "%s.tmp%ld.%lu", path, (long)getpid(), (unsigned long)atomic_fetch_add(&seq, 1));
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        snprintf(why, why_n, "cannot write %s: %s", tmp, strerror(errno));
        goto done;
    }
    uint64_t hdr[4] = {key->a, key->b, bin_size, hash64(bin, bin_size)};
    int ok = fwrite(k_magic, 1, 8, f) == 8 && fwrite(hdr, 1, sizeof hdr, f) == sizeof hdr &&
             fwrite(bin, 1, bin_size, f) == bin_size;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(why, why_n, "cannot store %s: %s", path, strerror(errno));
        remove(tmp);
    } else {
        rc = 0;
    }
done:
    free(bin);
    return rc;
}

/* Build (or load from the disk cache) the program of source src with
 * options opts; `what` names it in errors. */
static mcl_status build_source(mcl_context *ctx, const char *what, const char *opts, const char *src, size_t size,
                               cl_program *out, hash128 *disk_key, int *from_source)
{
    mcl_status st = MCL_STATUS_OK;
    double t0 = now_ms();
    hash128 key = {0xcbf29ce484222325ull, 0x84222325cbf29ce4ull};
    const char *ver = MCL_VERSION_STRING;
    hash_bytes(&key, ver, strlen(ver));
    hash_bytes(&key, ctx->info.name, strlen(ctx->info.name));
    hash_bytes(&key, ctx->info.driver_version, strlen(ctx->info.driver_version));
    hash_bytes(&key, ctx->info.platform_name, strlen(ctx->info.platform_name));
    hash_bytes(&key, opts, strlen(opts));
    hash_bytes(&key, src, size);

    *disk_key = key;
    *from_source = 0;
    cl_program prog = ctx->cache_dir ? disk_load(ctx, &key, opts) : NULL;
    if (prog) {
        ctx->stats.programs_loaded++;
        mcl_log(ctx, MCL_LOG_INFO, "loaded %s from the binary cache in %.1f ms", what, now_ms() - t0);
    } else {
        cl_int err = CL_SUCCESS;
        const char *srcs[1] = {src};
        prog = ctx->cl->clCreateProgramWithSource(ctx->context, 1, srcs, &size, &err);
        if (!prog || err != CL_SUCCESS) {
            st = mcl_cl_fail(ctx, err, "clCreateProgramWithSource");
            goto done;
        }
        err = ctx->cl->clBuildProgram(prog, 1, &ctx->device, opts, NULL, NULL);
        keep_build_log(ctx, prog);
        if (err != CL_SUCCESS) {
            ctx->last_cl_error = err;
            st = mcl_fail(ctx, MCL_STATUS_BUILD_FAILED, "building %s with options \"%s\": %s (%d); build log: %.300s",
                          what, opts, mcl_cl_error_name(err), (int)err, ctx->build_log ? ctx->build_log : "");
            ctx->cl->clReleaseProgram(prog);
            prog = NULL;
            goto done;
        }
        ctx->stats.programs_built++;
        *from_source = 1;
        mcl_log(ctx, MCL_LOG_INFO, "built %s (%zu bytes of source) in %.1f ms", what, size, now_ms() - t0);
    }
    ctx->stats.build_ms += now_ms() - t0;
    *out = prog;
done:
    return st;
}

static mcl_status build_program(mcl_context *ctx, const char *family, const char *opts, cl_program *out,
                                hash128 *disk_key, int *from_source)
{
    char *src = NULL;
    size_t size = 0;
    mcl_status st = load_source(ctx, family, &src, &size);
    if (st != MCL_STATUS_OK)
        return st;
    char what[96];
    snprintf(what, sizeof what, "kernel family %s", family);
    st = build_source(ctx, what, opts, src, size, out, disk_key, from_source);
    free(src);
    return st;
}

/* The build options of a variant and its in-memory cache key. */
static void variant_key(const mcl_context *ctx, const char *family, const char *defs, char *opts, size_t nopts,
                        char *key, size_t nkey)
{
    /* MCL_CPU: see MCL_OUTLINE in cl_kernels/common/common.cl */
    snprintf(opts, nopts, "-cl-std=CL1.2%s %s", ctx->info.is_gpu ? "" : " -DMCL_CPU=1", defs);
    snprintf(key, nkey, "%s|%s", family, opts);
}

/* The in-memory cache entry of key, or NULL; sh->lock held. */
static mcl_program_entry *find_entry(mcl_shared *sh, const char *key)
{
    mcl_program_entry *e = sh->programs;
    while (e && strcmp(e->key, key) != 0)
        e = e->next;
    return e;
}

/* Add an entry for prog; sh->lock held. NULL if out of memory. The entry
 * owns the program's reference, except an alias, which borrows its
 * bundle's (entries all go together, in mcl_programs_release). */
static mcl_program_entry *add_entry(mcl_context *ctx, const char *key, cl_program prog, int alias,
                                    const char *suffix)
{
    mcl_program_entry *e = calloc(1, sizeof *e);
    size_t kl = strlen(key) + 1;
    if (!e || !(e->key = malloc(kl))) {
        free(e);
        return NULL;
    }
    memcpy(e->key, key, kl);
    e->program = prog;
    e->alias = alias;
    snprintf(e->suffix, sizeof e->suffix, "%s", suffix ? suffix : "");
    e->next = ctx->shared->programs;
    ctx->shared->programs = e;
    return e;
}

mcl_status mcl_kernel_get(mcl_context *ctx, const char *family, const mcl_defs *defs, const char *kernel,
                          cl_kernel *out)
{
    if (defs->overflow)
        return mcl_fail(ctx, MCL_STATUS_OVERFLOW, "option string for kernel family %s is too long", family);
    char opts[640], key[768];
    variant_key(ctx, family, defs->text, opts, sizeof opts, key, sizeof key);
    /* the cache may be shared with other threads' contexts: the lock is held
     * through a build, so that two threads never build one program twice;
     * entries live until the last context goes, so e stays valid unlocked */
    mcl_shared *sh = ctx->shared;
    pthread_mutex_lock(&sh->lock);
    mcl_program_entry *e = find_entry(sh, key);
    if (e) {
        ctx->stats.memory_hits++;
    } else {
        cl_program prog = NULL;
        hash128 disk_key;
        int from_source = 0;
        mcl_status st = build_program(ctx, family, opts, &prog, &disk_key, &from_source);
        if (st != MCL_STATUS_OK) {
            pthread_mutex_unlock(&sh->lock);
            return st;
        }
        if (!(e = add_entry(ctx, key, prog, 0, NULL))) {
            ctx->cl->clReleaseProgram(prog);
            pthread_mutex_unlock(&sh->lock);
            return mcl_fail(ctx, MCL_STATUS_OUT_OF_MEMORY, "program cache entry");
        }
        e->disk_key = disk_key;
        e->unsaved = from_source && ctx->cache_dir && *ctx->cache_dir;
    }
    pthread_mutex_unlock(&sh->lock);
    char name[128];
    snprintf(name, sizeof name, "%s%s", kernel, e->suffix);
    cl_int err = CL_SUCCESS;
    *out = ctx->cl->clCreateKernel(e->program, name, &err);
    if (!*out || err != CL_SUCCESS) {
        if (*out)
            ctx->cl->clReleaseKernel(*out);
        *out = NULL;
        char what[192];
        snprintf(what, sizeof what, "clCreateKernel(%s) of family %s", name, family);
        return mcl_cl_fail(ctx, err, what);
    }
    return MCL_STATUS_OK;
}

/* ---- bundles ---- */

void mcl_programs_defer(mcl_context *ctx) { ctx->defer = 1; }

static void pending_clear(mcl_context *ctx)
{
    for (size_t i = 0; i < ctx->n_pending; i++) {
        free(ctx->pending[i].key);
        free(ctx->pending[i].family);
        free(ctx->pending[i].defs);
    }
    free(ctx->pending);
    ctx->pending = NULL;
    ctx->n_pending = ctx->cap_pending = 0;
}

mcl_status mcl_kernel_request(mcl_context *ctx, const char *family, const mcl_defs *defs)
{
    if (defs->overflow)
        return mcl_fail(ctx, MCL_STATUS_OVERFLOW, "option string for kernel family %s is too long", family);
    char opts[640], key[768];
    variant_key(ctx, family, defs->text, opts, sizeof opts, key, sizeof key);
    for (size_t i = 0; i < ctx->n_pending; i++)
        if (strcmp(ctx->pending[i].key, key) == 0)
            return MCL_STATUS_OK;
    if (ctx->n_pending == ctx->cap_pending) {
        size_t cap = ctx->cap_pending ? 2 * ctx->cap_pending : 16;
        struct mcl_pending *p = realloc(ctx->pending, cap * sizeof *p);
        if (!p)
            return mcl_fail(ctx, MCL_STATUS_OUT_OF_MEMORY, "program request list");
        ctx->pending = p;
        ctx->cap_pending = cap;
    }
    struct mcl_pending *r = &ctx->pending[ctx->n_pending];
    r->key = mcl_strdup(key);
    r->family = mcl_strdup(family);
    r->defs = mcl_strdup(defs->text);
    if (!r->key || !r->family || !r->defs) {
        free(r->key);
        free(r->family);
        free(r->defs);
        return mcl_fail(ctx, MCL_STATUS_OUT_OF_MEMORY, "program request");
    }
    ctx->n_pending++;
    return MCL_STATUS_OK;
}

/* A growing string; oom set on the first failed growth. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}
static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }
static void sb_ident(sbuf *b, const char *pre, const char *id, size_t n, const char *post)
{
    sb_str(b, pre);
    sb_add(b, id, n);
    sb_str(b, post);
}

static int ident_char(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; }

/* The names a family's text defines at file scope, one line at a time:
 * kind 'd' macros (#define NAME), kind 'f' kernels (__kernel void NAME)
 * and static functions (static ... NAME( on the line). Calls fn for each. */
static void scan_names(const char *text, void (*fn)(void *, char, const char *, size_t), void *user)
{
    const char *line = text;
    while (*line) {
        const char *end = strchr(line, '\n');
        if (!end)
            end = line + strlen(line);
        const char *q = line;
        while (q < end && (*q == ' ' || *q == '\t'))
            q++;
        if (*q == '#') {
            q++;
            while (q < end && (*q == ' ' || *q == '\t'))
                q++;
            if ((size_t)(end - q) > 7 && strncmp(q, "define", 6) == 0 && (q[6] == ' ' || q[6] == '\t')) {
                q += 7;
                while (q < end && (*q == ' ' || *q == '\t'))
                    q++;
                const char *id = q;
                while (q < end && ident_char(*q))
                    q++;
                if (q > id)
                    fn(user, 'd', id, (size_t)(q - id));
            }
        } else if (q == line && (strncmp(q, "__kernel void ", 14) == 0 || strncmp(q, "static ", 7) == 0)) {
            const char *paren = memchr(q, '(', (size_t)(end - q));
            if (paren) {
                const char *e = paren;
                while (e > q && (e[-1] == ' ' || e[-1] == '\t'))
                    e--;
                const char *id = e;
                while (id > q && ident_char(id[-1]))
                    id--;
                if (e > id)
                    fn(user, 'f', id, (size_t)(e - id));
            }
        }
        line = *end ? end + 1 : end;
    }
}

typedef struct { sbuf *b; const char *suffix; char kind; } scan_emit;

/* "\nNAME\n" in names (a newline-separated list starting with "\n")? */
static int has_name(const char *names, const char *id, size_t n)
{
    for (const char *p = names; (p = strstr(p, "\n")) != NULL; p++)
        if (strncmp(p + 1, id, n) == 0 && p[1 + n] == '\n')
            return 1;
    return 0;
}
/* collect every name into a list (common's) */
static void collect_name(void *u, char kind, const char *id, size_t n)
{
    (void)kind;
    sb_add(u, id, n);
    sb_str(u, "\n");
}
typedef struct { const char *names; int clash; } scan_clash;
static void check_clash(void *u, char kind, const char *id, size_t n)
{
    (void)kind;
    scan_clash *c = u;
    c->clash |= has_name(c->names, id, n);
}

/* 'f' names: #define NAME NAME<suffix> before the text */
static void emit_rename(void *u, char kind, const char *id, size_t n)
{
    scan_emit *s = u;
    if (kind != 'f')
        return;
    sb_ident(s->b, "#define ", id, n, " ");
    sb_add(s->b, id, n);
    sb_str(s->b, s->suffix);
    sb_str(s->b, "\n");
}
/* every name: #undef after the text */
static void emit_undef(void *u, char kind, const char *id, size_t n)
{
    (void)kind;
    sb_ident(((scan_emit *)u)->b, "#undef ", id, n, "\n");
}

/* Append variant r of a bundle: its -D list as #defines (CB, set once for
 * the bundle, must match), its functions renamed with suffix, the family's
 * text, then every name it defined #undef'd. 0 if the variant cannot be
 * bundled (a CB that differs, an option not of the form -DNAME=VALUE). */
static int bundle_variant(sbuf *b, const char *defs, const char *text, const char *suffix, uint32_t cb,
                          const char *common_names)
{
    sbuf undefs = {0};
    scan_clash clash = {common_names, 0};
    scan_names(text, check_clash, &clash);
    if (clash.clash) /* a name of its own would hide or undo one of common's */
        goto refuse;
    const char *q = defs;
    while (*q) {
        while (*q == ' ')
            q++;
        if (!*q)
            break;
        if (strncmp(q, "-D", 2) != 0)
            goto refuse;
        q += 2;
        const char *id = q;
        while (ident_char(*q))
            q++;
        const char *id_end = q;
        if (id_end == id || *q != '=')
            goto refuse;
        const char *val = ++q;
        while (*q && *q != ' ')
            q++;
        if ((size_t)(id_end - id) == 2 && strncmp(id, "CB", 2) == 0) {
            if (strtol(val, NULL, 10) != (long)cb)
                goto refuse;
            continue;
        }
        if (has_name(common_names, id, (size_t)(id_end - id)))
            goto refuse;
        sb_ident(b, "#define ", id, (size_t)(id_end - id), " ");
        sb_add(b, val, (size_t)(q - val));
        sb_str(b, "\n");
        sb_ident(&undefs, "#undef ", id, (size_t)(id_end - id), "\n");
    }
    scan_emit se = {b, suffix, 0};
    scan_names(text, emit_rename, &se);
    sb_str(b, text);
    sb_str(b, "\n");
    scan_names(text, emit_undef, &se);
    if (undefs.p)
        sb_str(b, undefs.p);
    free(undefs.p);
    b->oom |= undefs.oom;
    return 1;
refuse:
    free(undefs.p);
    return 0;
}

static int defs_cb(const char *defs, uint32_t *cb)
{
    const char *p = strstr(defs, "-DCB=");
    if (!p || (p != defs && p[-1] != ' '))
        return 0;
    *cb = (uint32_t)strtoul(p + 5, NULL, 10);
    return 1;
}

mcl_status mcl_programs_flush(mcl_context *ctx, int build)
{
    ctx->defer = 0;
    mcl_shared *sh = ctx->shared;
    mcl_status st = MCL_STATUS_OK;
    sbuf src = {0};
    size_t *slot = NULL; /* per request: 1 + its index in the bundle, 0 if not in it */
    size_t n = 0, nb = 0;
    uint32_t cb = 0;
    int locked = 0;
    if (!build || ctx->n_pending < 2) /* one variant: its own program, as outside a plan */
        goto done;
    n = ctx->n_pending;
    if (!(slot = calloc(n, sizeof *slot)))
        goto done; /* the variants are built one by one */
    /* the lock is held through the build, as in mcl_kernel_get: another
     * context of the family flushing the same requests waits, then finds
     * them cached */
    pthread_mutex_lock(&sh->lock);
    locked = 1;
    char *common = NULL;
    size_t len = 0;
    if (!defs_cb(ctx->pending[0].defs, &cb) || load_part(ctx, "common", &common, &len) != MCL_STATUS_OK) {
        mcl_clear_error();
        goto done;
    }
    char head[64];
    snprintf(head, sizeof head, "#define CB %u\n", (unsigned)cb);
    sb_str(&src, head);
    sb_str(&src, common);
    sb_str(&src, "\n");
    sbuf cnames = {0};
    sb_str(&cnames, "\n");
    scan_names(common, collect_name, &cnames);
    free(common);
    if (cnames.oom) {
        free(cnames.p);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        char *text = NULL;
        if (find_entry(sh, ctx->pending[i].key)) /* cached meanwhile */
            continue;
        if (load_part(ctx, ctx->pending[i].family, &text, &len) != MCL_STATUS_OK) {
            mcl_clear_error(); /* left to build on its own, which reports it */
            continue;
        }
        char suffix[32];
        snprintf(suffix, sizeof suffix, "_mclb%zu", nb);
        size_t mark = src.len;
        if (bundle_variant(&src, ctx->pending[i].defs, text, suffix, cb, cnames.p)) {
            slot[i] = ++nb;
        } else { /* left to build on its own */
            src.len = mark;
            if (src.p)
                src.p[mark] = 0;
        }
        free(text);
    }
    free(cnames.p);
    if (nb < 2 || src.oom)
        goto done;
    char opts[64];
    snprintf(opts, sizeof opts, "-cl-std=CL1.2%s", ctx->info.is_gpu ? "" : " -DMCL_CPU=1");
    cl_program prog = NULL;
    hash128 disk_key;
    int from_source = 0;
    char what[64];
    snprintf(what, sizeof what, "a bundle of %zu kernel variants", nb);
    char *saved_log = ctx->build_log ? mcl_strdup(ctx->build_log) : NULL;
    if (build_source(ctx, what, opts, src.p, src.len, &prog, &disk_key, &from_source) != MCL_STATUS_OK) {
        mcl_log(ctx, MCL_LOG_WARN, "%s; building the variants one by one", mcl_last_error());
        mcl_clear_error();
        free(ctx->build_log);
        ctx->build_log = saved_log;
        goto done;
    }
    free(saved_log);
    /* the bundle's own entry (saved to the disk cache), then one alias per
     * variant, which mcl_kernel_get finds by the variant's usual key */
    char bkey[64];
    snprintf(bkey, sizeof bkey, "bundle|%016llx%016llx", (unsigned long long)disk_key.a,
             (unsigned long long)disk_key.b);
    mcl_program_entry *owner = add_entry(ctx, bkey, prog, 0, NULL);
    if (!owner) {
        ctx->cl->clReleaseProgram(prog);
        st = mcl_fail(ctx, MCL_STATUS_OUT_OF_MEMORY, "program cache entry");
        goto done;
    }
    owner->disk_key = disk_key;
    owner->unsaved = from_source && ctx->cache_dir && *ctx->cache_dir;
    for (size_t i = 0; i < n; i++) {
        if (!slot[i])
            continue;
        char suffix[32];
        snprintf(suffix, sizeof suffix, "_mclb%zu", slot[i] - 1);
        if (!add_entry(ctx, ctx->pending[i].key, prog, 1, suffix)) {
            st = mcl_fail(ctx, MCL_STATUS_OUT_OF_MEMORY, "program cache entry");
            break;
        }
    }
done:
    if (locked)
        pthread_mutex_unlock(&sh->lock);
    free(slot);
    free(src.p);
    pending_clear(ctx);
    return st;
}

mcl_status mcl_programs_save(mcl_context *ctx, int report)
{
    if (!ctx->cache_dir || !*ctx->cache_dir)
        return MCL_STATUS_OK;
    double t0 = now_ms();
    mcl_shared *sh = ctx->shared;
    mcl_status st = MCL_STATUS_OK;
    char why[1400] = "";
    int failed = 0;
    /* the walk holds the lock (another thread may be adding entries); each
     * entry is claimed before its store, so two threads never write one */
    pthread_mutex_lock(&sh->lock);
    for (mcl_program_entry *e = sh->programs; e; e = e->next) {
        if (!e->unsaved)
            continue;
        e->unsaved = 0;
        if (disk_store(ctx, &e->disk_key, e->program, why, sizeof why) == 0) {
            ctx->stats.programs_saved++;
        } else {
            e->unsaved = 1; /* a later save may succeed */
            failed++;
            mcl_log(ctx, MCL_LOG_WARN, "binary cache: %s", why);
        }
    }
    pthread_mutex_unlock(&sh->lock);
    if (failed && report)
        st = mcl_fail(ctx, MCL_STATUS_IO_ERROR, "binary cache: %d program(s) not saved; last: %s", failed, why);
    ctx->stats.save_ms += now_ms() - t0;
    return st;
}

void mcl_programs_release(mcl_context *ctx, mcl_shared *sh)
{
    mcl_program_entry *e = sh->programs;
    while (e) {
        mcl_program_entry *n = e->next;
        if (!e->alias)
            ctx->cl->clReleaseProgram(e->program);
        free(e->key);
        free(e);
        e = n;
    }
    sh->programs = NULL;
}

size_t mcl_programs_count(const mcl_context *ctx)
{
    size_t n = 0;
    if (!ctx || !ctx->shared)
        return 0;
    pthread_mutex_lock(&ctx->shared->lock);
    for (const mcl_program_entry *e = ctx->shared->programs; e; e = e->next)
        n += !e->alias;
    pthread_mutex_unlock(&ctx->shared->lock);
    return n;
}
