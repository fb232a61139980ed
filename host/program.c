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

/* Source text of a family: the common header, then the family's file.
 * Returns a malloc'd string. */
static mcl_status load_source(mcl_context *ctx, const char *family, char **out, size_t *size)
{
    const char *parts[2] = {"common", family};
    char *text[2] = {NULL, NULL};
    size_t len[2] = {0, 0};
    mcl_status st = MCL_STATUS_OK;
    for (int i = 0; i < 2; i++) {
        if (ctx->kernel_dir) {
            char path[1024];
            if (i == 0)
                snprintf(path, sizeof path, "%s/common/common.cl", ctx->kernel_dir);
            else
                snprintf(path, sizeof path, "%s/%s.cl", ctx->kernel_dir, parts[i]);
            text[i] = read_file(path, &len[i]);
            if (!text[i]) {
                st = mcl_fail(ctx, MCL_STATUS_IO_ERROR, "kernel_dir override: cannot read %s: %s", path,
                              strerror(errno));
                goto done;
            }
        } else {
            const mcl_embedded_source *src = NULL;
            for (size_t k = 0; k < mcl_embedded_count; k++)
                if (strcmp(mcl_embedded_sources[k].name, parts[i]) == 0)
                    src = &mcl_embedded_sources[k];
            if (!src) {
                st = mcl_fail(ctx, MCL_STATUS_NOT_FOUND, "no embedded kernel source named \"%s\"", parts[i]);
                goto done;
            }
            text[i] = malloc(src->size + 1);
            if (!text[i]) {
                st = mcl_fail(ctx, MCL_STATUS_OUT_OF_MEMORY, "copying kernel source %s", parts[i]);
                goto done;
            }
            memcpy(text[i], src->text, src->size);
            text[i][src->size] = 0;
            len[i] = src->size;
        }
    }
    *out = malloc(len[0] + len[1] + 2);
    if (!*out) {
        st = mcl_fail(ctx, MCL_STATUS_OUT_OF_MEMORY, "kernel source of %zu bytes", len[0] + len[1]);
        goto done;
    }
    memcpy(*out, text[0], len[0]);
    (*out)[len[0]] = '\n';
    memcpy(*out + len[0] + 1, text[1], len[1]);
    (*out)[len[0] + len[1] + 1] = 0;
    *size = len[0] + len[1] + 1;
done:
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

static mcl_status build_program(mcl_context *ctx, const char *family, const char *opts, cl_program *out,
                                hash128 *disk_key, int *from_source)
{
    char *src = NULL;
    size_t size = 0;
    mcl_status st = load_source(ctx, family, &src, &size);
    if (st != MCL_STATUS_OK)
        return st;
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
            st = mcl_fail(ctx, MCL_STATUS_BUILD_FAILED, "building kernel family %s with options \"%s\": %s (%d); build log: %.300s",
                          family, opts, mcl_cl_error_name(err), (int)err, ctx->build_log ? ctx->build_log : "");
            ctx->cl->clReleaseProgram(prog);
            prog = NULL;
            goto done;
        }
        ctx->stats.programs_built++;
        *from_source = 1;
    }
    ctx->stats.build_ms += now_ms() - t0;
    *out = prog;
done:
    free(src);
    return st;
}

mcl_status mcl_kernel_get(mcl_context *ctx, const char *family, const mcl_defs *defs, const char *kernel,
                          cl_kernel *out)
{
    if (defs->overflow)
        return mcl_fail(ctx, MCL_STATUS_OVERFLOW, "option string for kernel family %s is too long", family);
    char opts[640];
    /* MCL_CPU: see MCL_OUTLINE in cl_kernels/common/common.cl */
    snprintf(opts, sizeof opts, "-cl-std=CL1.2%s %s", ctx->info.is_gpu ? "" : " -DMCL_CPU=1", defs->text);
    char key[768];
    snprintf(key, sizeof key, "%s|%s", family, opts);
    /* the cache may be shared with other threads' contexts: the lock is held
     * through a build, so that two threads never build one program twice;
     * entries live until the last context goes, so e stays valid unlocked */
    mcl_shared *sh = ctx->shared;
    pthread_mutex_lock(&sh->lock);
    mcl_program_entry *e = sh->programs;
    while (e && strcmp(e->key, key) != 0)
        e = e->next;
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
        e = calloc(1, sizeof *e);
        size_t kl = strlen(key) + 1;
        if (!e || !(e->key = malloc(kl))) {
            free(e);
            ctx->cl->clReleaseProgram(prog);
            pthread_mutex_unlock(&sh->lock);
            return mcl_fail(ctx, MCL_STATUS_OUT_OF_MEMORY, "program cache entry");
        }
        memcpy(e->key, key, kl);
        e->program = prog;
        e->disk_key = disk_key;
        e->unsaved = from_source && ctx->cache_dir && *ctx->cache_dir;
        e->next = sh->programs;
        sh->programs = e;
    }
    pthread_mutex_unlock(&sh->lock);
    cl_int err = CL_SUCCESS;
    *out = ctx->cl->clCreateKernel(e->program, kernel, &err);
    if (!*out || err != CL_SUCCESS) {
        if (*out)
            ctx->cl->clReleaseKernel(*out);
        *out = NULL;
        char what[128];
        snprintf(what, sizeof what, "clCreateKernel(%s) of family %s", kernel, family);
        return mcl_cl_fail(ctx, err, what);
    }
    return MCL_STATUS_OK;
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
        n++;
    pthread_mutex_unlock(&ctx->shared->lock);
    return n;
}
