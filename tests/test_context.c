/* Devices and contexts: device list, device choice (options.device and
 * MOBICL_DEVICE: index, name substring, no match), channel block option,
 * log callback, status strings, build log and cache statistics, the
 * on-disk program binary cache (reload, truncated and corrupted entries),
 * and the kernel_dir development override. */
#define _GNU_SOURCE 1
#include <criterion/criterion.h>

#include <errno.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

static mcl_status try_context(const mcl_context_options *o, mcl_context **ctx)
{
    *ctx = NULL;
    return mcl_context_create(o, ctx);
}

static void first_device(mcl_device_info *info)
{
    size_t count = 0;
    H_OK("device list", mcl_device_list(NULL, 0, &count));
    cr_assert(count > 0, "no OpenCL device");
    mcl_device_info *all = (mcl_device_info *)h_malloc(count * sizeof *all);
    size_t count2 = 0;
    H_OK("device list", mcl_device_list(all, count, &count2));
    *info = all[0];
    free(all);
}

/* ---- device list ------------------------------------------------------------- */

Test(context, device_list)
{
    size_t count = 0;
    H_OK("count", mcl_device_list(NULL, 0, &count));
    cr_assert(count > 0, "mcl_device_list reports no device");
    mcl_device_info *all = (mcl_device_info *)h_malloc((count + 1) * sizeof *all);
    memset(all, 0, (count + 1) * sizeof *all);
    size_t count2 = 0;
    H_OK("list", mcl_device_list(all, count + 1, &count2));
    cr_assert_eq(count2, count, "device count %zu then %zu", count, count2);
    for (size_t i = 0; i < count; i++) {
        cr_expect(all[i].name[0], "device %zu has an empty name", i);
        cr_expect(all[i].platform_name[0], "device %zu has an empty platform name", i);
        cr_expect_eq(all[i].device_index, (uint32_t)i, "device %zu: device_index %u", i, all[i].device_index);
        cr_expect(all[i].compute_units > 0, "device %zu: compute_units 0", i);
        cr_expect(all[i].max_work_group_size > 0, "device %zu: max_work_group_size 0", i);
        cr_expect(all[i].global_mem_bytes > 0, "device %zu: global_mem_bytes 0", i);
    }
    /* a short array gets the first entries and the full count */
    mcl_device_info one;
    size_t count3 = 0;
    H_OK("list cap 1", mcl_device_list(&one, 1, &count3));
    cr_expect_eq(count3, count);
    cr_expect_str_eq(one.name, all[0].name);
    free(all);
    H_FAIL("count NULL", mcl_device_list(NULL, 0, NULL), MCL_STATUS_INVALID_ARGUMENT);
    H_FAIL("out NULL with cap 4", mcl_device_list(NULL, 4, &count3), MCL_STATUS_INVALID_ARGUMENT);
}

Test(context, default_context)
{
    unsetenv("MOBICL_DEVICE");
    const char *e = mcl_last_error();
    cr_expect(e && *e == '\0', "mcl_last_error() before any failure is \"%s\"", e ? e : "(null)");
    mcl_context *ctx = h_context();
    const mcl_device_info *info = mcl_context_device_info(ctx);
    cr_assert(info != NULL);
    cr_expect(info->name[0], "context device has an empty name");
    cr_expect(mcl_context_cl(ctx) != NULL);
    cr_expect(mcl_context_queue(ctx) != NULL);
    cr_expect(mcl_context_device(ctx) != NULL);
    /* header: "0 = per device (GPU 4, CPU 16)" */
    cr_expect_eq(mcl_context_block(ctx), info->is_gpu ? 4u : 16u, "default block %u on a %s", mcl_context_block(ctx),
                 info->is_gpu ? "GPU" : "non-GPU device");
    H_OK("finish", mcl_context_finish(ctx));
    cr_expect(mcl_context_build_log(ctx) != NULL, "mcl_context_build_log returned NULL");
    mcl_context_destroy(ctx);
    mcl_context_destroy(NULL); /* no-op */
}

Test(context, null_arguments)
{
    mcl_context_options o;
    memset(&o, 0, sizeof o);
    H_FAIL("ctx out NULL", mcl_context_create(&o, NULL), MCL_STATUS_INVALID_ARGUMENT);
    mcl_context *ctx = NULL;
    o.tuning_db_size = 100; /* a size without the bytes */
    H_FAIL("tuning_db_size without tuning_db_data", mcl_context_create(&o, &ctx), MCL_STATUS_INVALID_ARGUMENT);
    cr_expect(ctx == NULL);
    cr_expect(strstr(mcl_last_error(), "tuning_db_size 100") != NULL, "message: %s", mcl_last_error());
    o.tuning_db_size = 0;
    H_FAIL("finish NULL", mcl_context_finish(NULL), MCL_STATUS_INVALID_ARGUMENT);
    cr_expect_eq(mcl_context_block(NULL), 0u);
    cr_expect(mcl_context_cl(NULL) == NULL);
    cr_expect(mcl_context_queue(NULL) == NULL);
    cr_expect(mcl_context_device(NULL) == NULL);
    cr_expect(mcl_context_device_info(NULL) == NULL);
    mcl_cache_stats st;
    memset(&st, 0xFF, sizeof st);
    mcl_context_cache_stats(NULL, &st); /* must not crash */
}

Test(context, status_strings)
{
    for (int s = 0; s < MCL_STATUS_COUNT_; s++) {
        const char *t = mcl_status_string((mcl_status)s);
        cr_expect(t && *t, "mcl_status_string(%d) is empty", s);
    }
    cr_expect_str_eq(mcl_status_string(MCL_STATUS_OK), "success");
    cr_expect(mcl_status_string((mcl_status)999) != NULL, "unknown status must still give a string");
    cr_expect(mcl_status_string((mcl_status)-1) != NULL, "unknown status must still give a string");
}

/* ---- device choice -------------------------------------------------------------- */

static void check_choice(const char *how, const char *sel, int use_env, mcl_status want, const char *want_name)
{
    mcl_context_options o;
    memset(&o, 0, sizeof o);
    if (use_env) {
        setenv("MOBICL_DEVICE", sel, 1);
    } else {
        unsetenv("MOBICL_DEVICE");
        o.device = sel;
    }
    mcl_context *ctx = NULL;
    mcl_status st = try_context(&o, &ctx);
    cr_expect_eq(st, want, "[%s \"%s\"] mcl_context_create -> %s, expected %s (%s)", how, sel, mcl_status_string(st),
                 mcl_status_string(want), h_err());
    if (st != MCL_STATUS_OK) {
        cr_expect(*mcl_last_error(), "[%s \"%s\"] failed with an empty mcl_last_error()", how, sel);
        cr_expect(ctx == NULL, "[%s \"%s\"] failed but set *ctx", how, sel);
    }
    if (st == MCL_STATUS_OK && ctx) {
        if (want_name)
            cr_expect(strstr(mcl_context_device_info(ctx)->name, want_name) != NULL,
                      "[%s \"%s\"] chose \"%s\", expected a name containing \"%s\"", how, sel,
                      mcl_context_device_info(ctx)->name, want_name);
        mcl_context_destroy(ctx);
    }
}

static void name_substring(const mcl_device_info *d, char *buf, size_t cap)
{
    /* a piece from the middle of the name, so it is a true substring */
    size_t len = strlen(d->name);
    size_t start = len > 8 ? 2 : 0;
    size_t n = len - start < 5 ? len - start : 5;
    snprintf(buf, cap, "%.*s", (int)n, d->name + start);
}

Test(context, device_option)
{
    mcl_device_info d0;
    first_device(&d0);
    char sub[16];
    name_substring(&d0, sub, sizeof sub);
    check_choice("options.device index", "0", 0, MCL_STATUS_OK, d0.name);
    check_choice("options.device name substring", sub, 0, MCL_STATUS_OK, sub);
    check_choice("options.device index out of range", "99", 0, MCL_STATUS_NO_DEVICE, NULL);
    check_choice("options.device no match", "no-such-device-xyz", 0, MCL_STATUS_NO_DEVICE, NULL);
}

Test(context, device_env)
{
    mcl_device_info d0;
    first_device(&d0);
    char sub[16];
    name_substring(&d0, sub, sizeof sub);
    check_choice("MOBICL_DEVICE index", "0", 1, MCL_STATUS_OK, d0.name);
    check_choice("MOBICL_DEVICE name substring", sub, 1, MCL_STATUS_OK, sub);
    check_choice("MOBICL_DEVICE index out of range", "99", 1, MCL_STATUS_NO_DEVICE, NULL);
    check_choice("MOBICL_DEVICE no match", "no-such-device-xyz", 1, MCL_STATUS_NO_DEVICE, NULL);
}

/* options.device wins over MOBICL_DEVICE */
Test(context, device_option_overrides_env)
{
    setenv("MOBICL_DEVICE", "no-such-device-xyz", 1);
    mcl_context_options o;
    memset(&o, 0, sizeof o);
    o.device = "0";
    mcl_context *ctx = NULL;
    mcl_status st = try_context(&o, &ctx);
    cr_expect_eq(st, MCL_STATUS_OK, "options.device \"0\" with MOBICL_DEVICE=no-such -> %s (%s)",
                 mcl_status_string(st), h_err());
    if (ctx)
        mcl_context_destroy(ctx);
}

/* ---- block option ----------------------------------------------------------------- */

Test(context, block_option, .timeout = 600)
{
    unsetenv("MOBICL_DEVICE");
    static const uint32_t good[] = {4, 8, 16};
    for (size_t i = 0; i < N_(good); i++) {
        mcl_context *ctx = h_context_block(good[i]);
        cr_expect_eq(mcl_context_block(ctx), good[i]);
        /* and a blocked tensor uses it */
        mcl_tensor *t = h_tensor(ctx, h_shape(1, 5, 3, 3), MCL_LAYOUT_BLOCKED, "block tensor");
        size_t want = (size_t)((5 + good[i] - 1) / good[i]) * good[i] * 9 * sizeof(float);
        cr_expect_eq(mcl_tensor_bytes(t), want, "block %u: blocked 1x5x3x3 takes %zu bytes, expected %zu", good[i],
                     mcl_tensor_bytes(t), want);
        mcl_tensor_destroy(t);
        mcl_context_destroy(ctx);
    }
    static const uint32_t bad[] = {5, 1, 2, 3, 12, 32, 0xFFFFFFFFu};
    for (size_t i = 0; i < N_(bad); i++) {
        mcl_context_options o;
        memset(&o, 0, sizeof o);
        o.block = bad[i];
        mcl_context *ctx = NULL;
        char label[64];
        snprintf(label, sizeof label, "block %u", bad[i]);
        H_FAIL(label, try_context(&o, &ctx), MCL_STATUS_INVALID_ARGUMENT);
        cr_expect(ctx == NULL, "[%s] failed but set *ctx", label);
    }
}

/* ---- log callback ------------------------------------------------------------------ */

typedef struct log_rec {
    int count[4];
    int bad_level;
    char last_error[512];
} log_rec;

static void log_fn(void *user, mcl_log_level level, const char *msg)
{
    log_rec *r = (log_rec *)user;
    if ((int)level < 0 || (int)level > 3) {
        r->bad_level++;
        return;
    }
    r->count[level]++;
    if (level == MCL_LOG_ERROR)
        snprintf(r->last_error, sizeof r->last_error, "%s", msg ? msg : "");
}

Test(context, log_callback)
{
    unsetenv("MOBICL_DEVICE");
    for (int lvl = MCL_LOG_ERROR; lvl <= MCL_LOG_DEBUG; lvl++) {
        log_rec rec;
        memset(&rec, 0, sizeof rec);
        mcl_context_options o;
        memset(&o, 0, sizeof o);
        o.log = log_fn;
        o.log_user = &rec;
        o.log_level = (mcl_log_level)lvl;
        mcl_context *ctx = h_context_opts(&o, "log context");
        mcl_tensor *t = h_tensor(ctx, h_shape(1, 3, 2, 2), MCL_LAYOUT_BLOCKED, "log");
        float buf[12] = {0};
        H_FAIL("write wrong count", mcl_tensor_write(t, buf, 11), MCL_STATUS_INVALID_ARGUMENT);
        cr_expect(rec.count[MCL_LOG_ERROR] >= 1, "log level %d: the failure was not logged at ERROR", lvl);
        cr_expect(rec.last_error[0], "log level %d: empty ERROR message", lvl);
        for (int l = lvl + 1; l <= MCL_LOG_DEBUG; l++)
            cr_expect_eq(rec.count[l], 0, "log level %d: %d messages of level %d got through", lvl, rec.count[l], l);
        cr_expect_eq(rec.bad_level, 0, "log level out of the enum");
        mcl_tensor_destroy(t);
        mcl_context_destroy(ctx);
    }
}

/* ---- build log and cache statistics ----------------------------------------------------- */

static const mcl_conv2d_desc k_conv = {CIO(6, 10, 2), CK(3), CS(1), CP(1), CD(1), .activation = MCL_ACT_RELU,
                                       .variant = MCL_CONV_DIRECT};

Test(context, cache_stats_and_build_log, .timeout = 600)
{
    unsetenv("MOBICL_DEVICE");
    mcl_context_options o;
    memset(&o, 0, sizeof o);
    o.cache_dir = NULL; /* h_context_opts may fill it from MOBICL_TEST_CACHE_DIR; force none */
    mcl_context *ctx = NULL;
    H_OK("context", try_context(&o, &ctx));
    mcl_cache_stats s0, s1, s2;
    mcl_context_cache_stats(ctx, &s0);
    cr_expect_eq(s0.programs_loaded, 0u, "no cache_dir, yet programs_loaded %u", s0.programs_loaded);
    cr_expect_eq(s0.disk_rejected, 0u);

    h_conv_check(ctx, &k_conv, h_shape(1, 6, 13, 11), 0, NULL, MCL_FAMILY_CONV, "stats: first conv");
    mcl_context_cache_stats(ctx, &s1);
    cr_expect(s1.programs_built > s0.programs_built, "programs_built %u -> %u after a first conv", s0.programs_built,
              s1.programs_built);
    cr_expect(s1.build_ms > 0.0, "build_ms %g after building", s1.build_ms);
    cr_expect_eq(s1.programs_loaded, 0u);
    cr_expect(mcl_context_build_log(ctx) != NULL);

    /* same kernel and options again: from memory, no new build */
    h_conv_check(ctx, &k_conv, h_shape(1, 6, 13, 11), 0, NULL, MCL_FAMILY_CONV, "stats: same conv again");
    mcl_context_cache_stats(ctx, &s2);
    cr_expect_eq(s2.programs_built, s1.programs_built, "programs_built %u -> %u for an identical op",
                 s1.programs_built, s2.programs_built);
    cr_expect(s2.memory_hits > s1.memory_hits, "memory_hits %u -> %u for an identical op", s1.memory_hits,
              s2.memory_hits);
    mcl_context_destroy(ctx);
}

/* ---- on-disk binary cache ---------------------------------------------------------------- */

/* The ops used for the cache tests (one per kernel family); outputs are
 * checked against the reference and returned. */
#define CACHE_OPS 4
static void run_cache_ops(mcl_context *ctx, const char *tag, float *outs[CACHE_OPS], size_t counts[CACHE_OPS])
{
    static const mcl_conv2d_desc dw = {CIO(20, 20, 20), CK(3), CS(2), CP(1), CD(1), .activation = MCL_ACT_RELU6,
                                       .variant = MCL_CONV_DEPTHWISE};
    static const mcl_conv2d_desc pw = {CIO(20, 36, 2), CK(1), CS(1), CP(0), CD(1), .activation = MCL_ACT_RELU,
                                       .variant = MCL_CONV_POINTWISE};
    const mcl_conv2d_desc *descs[3] = {&k_conv, &dw, &pw};
    const mcl_shape ins[3] = {{1, 6, 13, 11}, {1, 20, 13, 11}, {1, 20, 7, 9}};
    for (int i = 0; i < 3; i++) {
        char label[96];
        snprintf(label, sizeof label, "cache op %d %s", i, tag);
        h_conv_data cd;
        /* same data in every context: seed from the op index only */
        char seed[32];
        snprintf(seed, sizeof seed, "cache op %d", i);
        h_conv_data_make(&cd, descs[i], ins[i], 0, seed);
        mcl_op *op = NULL;
        H_OK(label, mcl_conv2d_create(ctx, descs[i], cd.wt, cd.bias, &op));
        h_run_args a = h_conv_args(&cd, descs[i], ins[i]);
        h_run_op_keep(ctx, op, label, &a, &outs[i]);
        counts[i] = h_count(cd.out);
        mcl_op_destroy(op);
        h_conv_data_free(&cd);
    }
    /* pool */
    const mcl_pool2d_desc pd = {.type = MCL_POOL_MAX, CK(3), CS(2), CP(1)};
    const mcl_shape pin = {1, 5, 13, 11};
    ref_pool2d_params p = {.type = REF_POOL_MAX, .n = 1, .c = 5, .h = 13, .w = 11, .kh = 3, .kw = 3, .sh = 2,
                           .sw = 2, .pt = 1, .pl = 1, .pb = 1, .pr = 1};
    uint32_t oh, ow;
    cr_assert(ref_pool2d_out_size(&p, &oh, &ow));
    float *x = h_random(h_count(pin), "cache pool", "input", -1, 1);
    mcl_shape pout = h_shape(1, 5, oh, ow);
    float *want = h_floats(h_count(pout));
    ref_pool2d(&p, x, want);
    mcl_op *op = NULL;
    H_OK("cache pool", mcl_pool2d_create(ctx, &pd, &op));
    h_run_args a;
    memset(&a, 0, sizeof a);
    a.n_in = 1;
    a.in[0] = pin;
    a.in_data[0] = x;
    a.out = pout;
    a.want = want;
    a.atol = H_ATOL;
    a.rtol = H_RTOL;
    h_run_op_keep(ctx, op, "cache pool", &a, &outs[3]);
    counts[3] = h_count(pout);
    mcl_op_destroy(op);
    free(x);
    free(want);
}

static void free_outs(float *outs[CACHE_OPS])
{
    for (int i = 0; i < CACHE_OPS; i++)
        free(outs[i]);
}

static mcl_context *cache_context(const char *dir, mcl_cache_stats *st_after, float *outs[CACHE_OPS],
                                  size_t counts[CACHE_OPS], const char *tag)
{
    unsetenv("MOBICL_DEVICE");
    mcl_context_options o;
    memset(&o, 0, sizeof o);
    o.cache_dir = dir;
    mcl_context *ctx = NULL;
    mcl_status st = try_context(&o, &ctx);
    cr_assert_eq(st, MCL_STATUS_OK, "[%s] context with cache_dir %s -> %s (%s)", tag, dir, mcl_status_string(st),
                 h_err());
    run_cache_ops(ctx, tag, outs, counts);
    mcl_context_cache_stats(ctx, st_after);
    return ctx;
}

/* files under the cache dir, recursively */
static char g_files[256][PATH_MAX];
static size_t g_nfiles;
static int collect(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (type == FTW_F && g_nfiles < N_(g_files))
        snprintf(g_files[g_nfiles++], PATH_MAX, "%s", path);
    return 0;
}
static size_t list_files(const char *dir)
{
    g_nfiles = 0;
    cr_assert(nftw(dir, collect, 16, FTW_PHYS) == 0, "nftw(%s) failed: %s", dir, strerror(errno));
    return g_nfiles;
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static void remove_tree(const char *dir)
{
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

/* Temporary directories of this test process, removed by the suite's fini
 * even when an assertion ends the test early. */
static char g_tmpdirs[4][PATH_MAX];
static size_t g_ntmp;

static void remove_tmpdirs(void)
{
    for (size_t i = 0; i < g_ntmp; i++)
        remove_tree(g_tmpdirs[i]);
    g_ntmp = 0;
}

TestSuite(context, .fini = remove_tmpdirs);

static void make_tmpdir(char *buf, size_t cap)
{
    const char *base = getenv("TMPDIR");
    snprintf(buf, cap, "%s/mobicl-test-XXXXXX", base && *base ? base : "/tmp");
    cr_assert(mkdtemp(buf) != NULL, "mkdtemp(%s): %s", buf, strerror(errno));
    if (g_ntmp < N_(g_tmpdirs))
        snprintf(g_tmpdirs[g_ntmp++], PATH_MAX, "%s", buf);
}

static void expect_same_outputs(float *a[CACHE_OPS], float *b[CACHE_OPS], size_t counts[CACHE_OPS], const char *tag)
{
    for (int i = 0; i < CACHE_OPS; i++)
        cr_expect(memcmp(a[i], b[i], counts[i] * sizeof(float)) == 0,
                  "[%s] op %d: output differs from the first context's (same device, same program)", tag, i);
}

/* First context fills the cache; returns its outputs. */
static void fill_cache(const char *dir, float *outs[CACHE_OPS], size_t counts[CACHE_OPS])
{
    mcl_cache_stats st;
    mcl_context *ctx = cache_context(dir, &st, outs, counts, "(fill cache)");
    cr_expect(st.programs_built > 0, "first context built no program (programs_built 0)");
    cr_expect_eq(st.programs_loaded, 0u, "empty cache dir, yet programs_loaded %u", st.programs_loaded);
    mcl_context_destroy(ctx);
    cr_assert(list_files(dir) > 0, "no file in the cache dir %s after a context built %u programs", dir,
              st.programs_built);
}

/* Programs are written when the app asks (or at destroy), not when built:
 * nothing on disk before mcl_context_save_cache, every built program after
 * it, nothing more on a second call; a cache folder that cannot be written
 * gives MCL_STATUS_IO_ERROR naming the file. */
Test(context, disk_cache_saved_on_request, .timeout = 600)
{
    char dir[PATH_MAX];
    make_tmpdir(dir, sizeof dir);
    float *o[CACHE_OPS];
    size_t counts[CACHE_OPS];
    mcl_cache_stats st;
    mcl_context *ctx = cache_context(dir, &st, o, counts, "(save on request)");
    cr_assert(st.programs_built > 0, "no program built");
    cr_expect_eq(list_files(dir), 0u, "%zu files in the cache before mcl_context_save_cache (first: %s)", g_nfiles,
                 g_nfiles ? g_files[0] : "");
    cr_expect_eq(st.programs_saved, 0u, "programs_saved %u before any save", st.programs_saved);
    cr_assert_eq(mcl_context_save_cache(ctx), MCL_STATUS_OK, "%s", h_err());
    mcl_context_cache_stats(ctx, &st);
    cr_expect_eq(st.programs_saved, st.programs_built, "saved %u of %u built programs", st.programs_saved,
                 st.programs_built);
    cr_expect_eq(list_files(dir), (size_t)st.programs_built, "%zu files for %u programs", g_nfiles, st.programs_built);
    cr_assert_eq(mcl_context_save_cache(ctx), MCL_STATUS_OK, "%s", h_err());
    mcl_cache_stats st2;
    mcl_context_cache_stats(ctx, &st2);
    cr_expect_eq(st2.programs_saved, st.programs_saved, "a second save wrote %u more", st2.programs_saved - st.programs_saved);
    mcl_context_destroy(ctx);
    free_outs(o);
    cr_expect_eq(mcl_context_save_cache(NULL), MCL_STATUS_INVALID_ARGUMENT);

    /* unwritable: the cache folder is replaced by a file after the context made it */
    char bad[PATH_MAX + 8];
    snprintf(bad, sizeof bad, "%s/sub", dir);
    ctx = cache_context(bad, &st, o, counts, "(unwritable)");
    remove_tree(bad);
    FILE *f = fopen(bad, "w");
    cr_assert(f, "cannot create %s", bad);
    fclose(f);
    cr_expect_eq(mcl_context_save_cache(ctx), MCL_STATUS_IO_ERROR, "saving into a file, not a folder: %s", h_err());
    cr_expect(strstr(h_err(), "sub/") != NULL, "the message names the file: %s", h_err());
    mcl_context_destroy(ctx); /* logs and goes on */
    free_outs(o);
}

Test(context, disk_cache_reload, .timeout = 600)
{
    char dir[PATH_MAX];
    make_tmpdir(dir, sizeof dir);
    float *o1[CACHE_OPS], *o2[CACHE_OPS];
    size_t counts[CACHE_OPS];
    fill_cache(dir, o1, counts);
    mcl_cache_stats st;
    mcl_context *ctx = cache_context(dir, &st, o2, counts, "(reload)");
    cr_expect(st.programs_loaded > 0, "second context loaded no program from the disk cache");
    cr_expect_eq(st.programs_built, 0u, "second context rebuilt %u programs despite the cache", st.programs_built);
    cr_expect_eq(st.disk_rejected, 0u, "intact cache entries rejected: %u", st.disk_rejected);
    expect_same_outputs(o1, o2, counts, "reload");
    mcl_context_destroy(ctx);
    free_outs(o1);
    free_outs(o2);
    remove_tree(dir);
}

typedef enum { DAMAGE_TRUNCATE, DAMAGE_EMPTY, DAMAGE_FLIP, DAMAGE_GARBAGE } damage_kind;

static void damage_files(const char *dir, damage_kind kind)
{
    size_t n = list_files(dir);
    for (size_t i = 0; i < n; i++) {
        const char *path = g_files[i];
        long size = file_size(path);
        cr_assert(size >= 0, "stat %s", path);
        if (kind == DAMAGE_TRUNCATE || kind == DAMAGE_EMPTY) {
            cr_assert(truncate(path, kind == DAMAGE_EMPTY ? 0 : size / 2) == 0, "truncate %s: %s", path,
                      strerror(errno));
            continue;
        }
        FILE *f = fopen(path, "r+b");
        cr_assert(f, "open %s: %s", path, strerror(errno));
        unsigned char *buf = (unsigned char *)h_malloc((size_t)size);
        size_t got = fread(buf, 1, (size_t)size, f);
        cr_assert_eq(got, (size_t)size, "read %s", path);
        if (kind == DAMAGE_FLIP) {
            /* flip bytes spread over the whole file, header and payload */
            for (long j = 0; j < size; j += 61)
                buf[j] ^= 0x5A;
            if (size > 0)
                buf[size / 2] ^= 0xFF;
        } else {
            ref_rng r;
            ref_rng_seed(&r, (uint64_t)i + 7);
            for (long j = 0; j < size; j++)
                buf[j] = (unsigned char)ref_rng_next(&r);
        }
        rewind(f);
        cr_assert_eq(fwrite(buf, 1, (size_t)size, f), (size_t)size, "write %s", path);
        fclose(f);
        free(buf);
    }
}

static void damaged_cache_case(damage_kind kind, const char *tag)
{
    char dir[PATH_MAX];
    make_tmpdir(dir, sizeof dir);
    float *o1[CACHE_OPS], *o2[CACHE_OPS], *o3[CACHE_OPS];
    size_t counts[CACHE_OPS];
    fill_cache(dir, o1, counts);
    damage_files(dir, kind);

    mcl_cache_stats st;
    mcl_context *ctx = cache_context(dir, &st, o2, counts, tag); /* outputs checked against the reference */
    cr_expect(st.disk_rejected > 0, "[%s] damaged cache entries, yet disk_rejected 0 (loaded %u, built %u)", tag,
              st.programs_loaded, st.programs_built);
    cr_expect(st.programs_built > 0, "[%s] damaged entries must be rebuilt, programs_built 0", tag);
    expect_same_outputs(o1, o2, counts, tag);
    mcl_context_destroy(ctx);

    /* the rebuilt entries replaced the bad ones */
    mcl_cache_stats st3;
    ctx = cache_context(dir, &st3, o3, counts, "(after repair)");
    cr_expect(st3.programs_loaded > 0, "[%s] after the rebuild, no program loaded from disk", tag);
    cr_expect_eq(st3.disk_rejected, 0u, "[%s] after the rebuild, %u entries still rejected", tag, st3.disk_rejected);
    expect_same_outputs(o1, o3, counts, tag);
    mcl_context_destroy(ctx);
    free_outs(o1);
    free_outs(o2);
    free_outs(o3);
    remove_tree(dir);
}

Test(context, disk_cache_truncated, .timeout = 600) { damaged_cache_case(DAMAGE_TRUNCATE, "truncated to half"); }
Test(context, disk_cache_empty_files, .timeout = 600) { damaged_cache_case(DAMAGE_EMPTY, "truncated to 0 bytes"); }
Test(context, disk_cache_flipped_bytes, .timeout = 600) { damaged_cache_case(DAMAGE_FLIP, "bytes flipped"); }
Test(context, disk_cache_garbage, .timeout = 600) { damaged_cache_case(DAMAGE_GARBAGE, "random garbage"); }

/* A cache directory that cannot be created: the cache is an optimisation,
 * so either context creation reports IO_ERROR or the ops work without it. */
Test(context, disk_cache_unwritable_dir, .timeout = 600)
{
    char dir[PATH_MAX], bad[PATH_MAX + 16];
    make_tmpdir(dir, sizeof dir);
    char file[PATH_MAX + 8];
    snprintf(file, sizeof file, "%s/file", dir);
    FILE *f = fopen(file, "w");
    cr_assert(f);
    fputs("not a directory\n", f);
    fclose(f);
    snprintf(bad, sizeof bad, "%s/sub", file); /* below a regular file */
    mcl_context_options o;
    memset(&o, 0, sizeof o);
    o.cache_dir = bad;
    mcl_context *ctx = NULL;
    mcl_status st = try_context(&o, &ctx);
    cr_expect(st == MCL_STATUS_OK || st == MCL_STATUS_IO_ERROR, "cache_dir %s -> %s (%s)", bad,
              mcl_status_string(st), h_err());
    if (st == MCL_STATUS_OK) {
        float *outs[CACHE_OPS];
        size_t counts[CACHE_OPS];
        run_cache_ops(ctx, "(unwritable cache dir)", outs, counts);
        free_outs(outs);
        mcl_context_destroy(ctx);
    }
    remove_tree(dir);
}

/* ---- kernel_dir development override ---------------------------------------------------- */

/* <repo>/cl_kernels, found from this file's path; "" if absent. */
static void kernel_src_dir(char *buf, size_t cap)
{
    char here[PATH_MAX];
    snprintf(here, sizeof here, "%s", __FILE__);
    char *d = dirname(here);
    snprintf(buf, cap, "%s/../cl_kernels", d);
    struct stat sb;
    if (stat(buf, &sb) != 0 || !S_ISDIR(sb.st_mode))
        buf[0] = '\0';
}

static void copy_kernels(char *dst, size_t cap)
{
    char src[PATH_MAX];
    kernel_src_dir(src, sizeof src);
    cr_assert(src[0], "cl_kernels not found next to %s", __FILE__);
    make_tmpdir(dst, cap);
    char cmd[3 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "cp -R '%s/.' '%s/'", src, dst);
    cr_assert(system(cmd) == 0, "%s failed", cmd);
}

Test(context, kernel_dir_override, .timeout = 600)
{
    char dir[PATH_MAX];
    copy_kernels(dir, sizeof dir);
    mcl_context_options o;
    memset(&o, 0, sizeof o);
    o.kernel_dir = dir;
    mcl_context *ctx = NULL;
    H_OK("kernel_dir copy", try_context(&o, &ctx));
    float *outs[CACHE_OPS];
    size_t counts[CACHE_OPS];
    run_cache_ops(ctx, "(kernel_dir copy)", outs, counts);
    free_outs(outs);
    mcl_context_destroy(ctx);
    remove_tree(dir);
}

static int break_cl(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    size_t len = strlen(path);
    if (type == FTW_F && len > 3 && strcmp(path + len - 3, ".cl") == 0) {
        FILE *f = fopen(path, "a");
        if (f) {
            fputs("\n#error mobicl_test_deliberately_broken\n", f);
            fclose(f);
        }
    }
    return 0;
}

Test(context, kernel_dir_build_failure, .timeout = 600)
{
    char dir[PATH_MAX];
    copy_kernels(dir, sizeof dir);
    cr_assert(nftw(dir, break_cl, 16, FTW_PHYS) == 0);
    mcl_context_options o;
    memset(&o, 0, sizeof o);
    o.kernel_dir = dir;
    mcl_context *ctx = NULL;
    mcl_status st = try_context(&o, &ctx);
    if (st != MCL_STATUS_OK) {
        /* a context that builds its layout kernels up front fails here */
        cr_expect_eq(st, MCL_STATUS_BUILD_FAILED, "context with broken kernels -> %s (%s)", mcl_status_string(st),
                     h_err());
        cr_expect(*mcl_last_error(), "build failure with an empty mcl_last_error()");
    } else {
        float w[10 * 3 * 9] = {0};
        mcl_op *op = NULL;
        H_OK("broken kernels: create", mcl_conv2d_create(ctx, &k_conv, w, NULL, &op));
        mcl_shape in = h_shape(1, 6, 13, 11), out;
        H_FAIL("broken kernels: reshape", mcl_op_reshape(op, 1, &in, &out), MCL_STATUS_BUILD_FAILED);
        const char *log = mcl_context_build_log(ctx);
        cr_expect(log && *log, "build failed but the build log is empty");
        cr_expect(log && strstr(log, "mobicl_test_deliberately_broken"),
                  "the build log does not show the #error: \"%.300s\"", log ? log : "(null)");
        H_FAIL("broken kernels: run", mcl_op_run(op, NULL), MCL_STATUS_INVALID_STATE);
        mcl_op_destroy(op);
        mcl_context_destroy(ctx);
    }
    remove_tree(dir);
}

/* ---- events and profiling ------------------------------------------------------------ */

typedef cl_int(CL_API_CALL *wait_fn)(cl_uint, const cl_event *);
typedef cl_int(CL_API_CALL *prof_fn)(cl_event, cl_profiling_info, size_t, void *, size_t *);
typedef cl_int(CL_API_CALL *rel_fn)(cl_event);

/* run(op, &event) returns an event of the enqueued work; with profiling on,
 * it carries start/end times. Checked for a plain kernel and for CLBlast. */
Test(context, run_event_and_profiling, .timeout = 600)
{
    wait_fn wait = (wait_fn)h_cl_sym("clWaitForEvents");
    prof_fn prof = (prof_fn)h_cl_sym("clGetEventProfilingInfo");
    rel_fn rel = (rel_fn)h_cl_sym("clReleaseEvent");
    cr_assert(wait && prof && rel, "OpenCL event functions not found");
    unsetenv("MOBICL_DEVICE");
    mcl_context_options o;
    memset(&o, 0, sizeof o);
    o.profiling = 1;
    mcl_context *ctx = h_context_opts(&o, "profiling context");
    static const mcl_conv2d_desc pw_blas = {CIO(20, 36, 1), CK(1), CS(1), CP(0), CD(1), .activation = MCL_ACT_RELU,
                                            .variant = MCL_CONV_CLBLAST};
    const mcl_conv2d_desc *descs[2] = {&k_conv, &pw_blas};
    const mcl_shape ins[2] = {{1, 6, 13, 11}, {1, 20, 13, 11}};
#ifdef MOBICL_WITH_CLBLAST
    const int n_descs = 2;
#else
    const int n_descs = 1; /* no CLBlast variant in this build */
#endif
    for (int i = 0; i < n_descs; i++) {
        const char *label = i ? "event: clblast 20->36" : "event: direct conv";
        h_conv_data cd;
        h_conv_data_make(&cd, descs[i], ins[i], 0, label);
        mcl_op *op = NULL;
        H_OK(label, mcl_conv2d_create(ctx, descs[i], cd.wt, cd.bias, &op));
        mcl_shape out;
        H_OK(label, mcl_op_reshape(op, 1, &ins[i], &out));
        mcl_tensor *ti = h_tensor_with(ctx, ins[i], cd.x, label);
        mcl_tensor *to = h_tensor_with(ctx, out, NULL, label);
        H_OK(label, mcl_op_setup(op, 1, &ti, to));
        cl_event ev = NULL;
        H_OK(label, mcl_op_run(op, &ev));
        cr_assert(ev != NULL, "[%s] mcl_op_run gave no event", label);
        cr_assert_eq(wait(1, &ev), CL_SUCCESS, "[%s] clWaitForEvents", label);
        cl_ulong t0 = 0, t1 = 0;
        cr_expect_eq(prof(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL), CL_SUCCESS,
                     "[%s] profiling info (queue created without profiling?)", label);
        cr_expect_eq(prof(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL), CL_SUCCESS);
        cr_expect(t1 >= t0 && t0 > 0, "[%s] profiling start %llu end %llu", label, (unsigned long long)t0,
                  (unsigned long long)t1);
        rel(ev);
        /* the event is the op's last command: after it the output is final */
        float *got = h_floats(h_count(out));
        H_OK(label, mcl_tensor_read(to, got, h_count(out)));
        h_compare(label, got, cd.want, out, H_ATOL, H_RTOL);
        free(got);
        mcl_tensor_destroy(ti);
        mcl_tensor_destroy(to);
        mcl_op_destroy(op);
        h_conv_data_free(&cd);
    }
    mcl_context_destroy(ctx);
}

/* ---- two contexts in one process ------------------------------------------------------- */

Test(context, two_contexts_interleaved, .timeout = 600)
{
    unsetenv("MOBICL_DEVICE");
    mcl_context *a = h_context_block(4);
    mcl_context *b = h_context_block(16);
    const mcl_shape in = {1, 6, 13, 11};
    h_conv_data cd;
    h_conv_data_make(&cd, &k_conv, in, 0, "two contexts");
    mcl_op *oa = NULL, *ob = NULL;
    H_OK("ctx a", mcl_conv2d_create(a, &k_conv, cd.wt, cd.bias, &oa));
    H_OK("ctx b", mcl_conv2d_create(b, &k_conv, cd.wt, cd.bias, &ob));
    h_run_args args = h_conv_args(&cd, &k_conv, in);
    for (int rep = 0; rep < 2; rep++) {
        h_run_op(a, oa, "two contexts: a (block 4)", &args);
        h_run_op(b, ob, "two contexts: b (block 16)", &args);
    }
    mcl_op_destroy(oa);
    mcl_context_destroy(a); /* b keeps working after a is gone */
    h_run_op(b, ob, "two contexts: b after a was destroyed", &args);
    mcl_op_destroy(ob);
    mcl_context_destroy(b);
    h_conv_data_free(&cd);
}

/* ---- mcl_last_error is per thread ------------------------------------------------------- */

static char g_thread_msg[512];
static void *fail_in_thread(void *arg)
{
    (void)arg;
    const mcl_shape s = {1, 3, 4, 4};
    mcl_shape out;
    const mcl_pool2d_desc d = {.type = MCL_POOL_MAX, .kernel_h = 0, .kernel_w = 3, CS(1), CP(0)};
    mcl_pool2d_validate(&d, &s, &out);
    snprintf(g_thread_msg, sizeof g_thread_msg, "%s", mcl_last_error());
    return NULL;
}

Test(context, last_error_is_per_thread)
{
    const mcl_conv2d_desc bad = {CIO(8, 16, 3), CK(3), CS(1), CP(1), CD(1)};
    const mcl_shape s = {1, 8, 10, 10};
    mcl_shape out;
    H_FAIL("main thread", mcl_conv2d_validate(&bad, &s, &out), MCL_STATUS_INVALID_ARGUMENT);
    char mine[512];
    snprintf(mine, sizeof mine, "%s", mcl_last_error());
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, fail_in_thread, NULL), 0);
    pthread_join(th, NULL);
    cr_expect(g_thread_msg[0], "the other thread's failure left no message");
    cr_expect_str_eq(mcl_last_error(), mine, "the main thread's message changed after another thread failed");
    cr_expect_str_neq(g_thread_msg, mine, "both threads see the same message");
}
