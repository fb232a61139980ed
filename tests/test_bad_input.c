/* Bad input everywhere (issue 7, part 6), beyond the op-descriptor tables
 * of test_invalid.c: tensors with "negative" (huge uint32), zero and
 * enormous dimensions, element counts overflowing 32 and 64 bits, and a
 * tensor of 2^40 bytes, each refused before any OpenCL allocation (the
 * clCreateBuffer counter of tests/ref/faultinj.c stays 0, the resident set
 * does not grow) with a message naming the value; the same through the
 * graph builders (inputs, a conv/fc descriptor refuted by its input, split
 * sizes and concat channels that wrap, shuffle groups) and zoo options; a
 * graph whose tensors are within the element limit but larger than the
 * device can allocate, refused by mcl_plan_create before it allocates; NaN
 * and +-Inf inputs through a small plan, against the reference executor's
 * NaN/Inf pattern; and paths that do not exist or are directories (npy
 * read and write, cache_dir, tuning_db). */
#define _GNU_SOURCE 1
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "faultinj.h"
#include "mobicl.h"
#include "mobicl_graph.h"
#include "ref.h"
#include "ref_graph.h"

#define BIG 0xFFFFFFFFu /* -1 as uint32 */
#define OK_ MCL_STATUS_OK
#define INV MCL_STATUS_INVALID_ARGUMENT
#define OVF MCL_STATUS_OVERFLOW
#define OOM MCL_STATUS_OUT_OF_MEMORY

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void expect_msg(const char *label, const char *needle)
{
    const char *m = mcl_last_error();
    cr_assert(m && *m, "[%s] no message", label);
    if (needle)
        cr_assert(strstr(m, needle) != NULL, "[%s] the message does not name \"%s\": %s", label, needle, m);
}

/* ---- tensors ------------------------------------------------------------------ */

static const struct {
    const char *name;
    mcl_shape s;
    mcl_status st, alt;
    const char *needle; /* the message must contain it */
} k_tensors[] = {
    {"n = -1", {BIG, 8, 4, 4}, OVF, INV, "4294967295"},
    {"c = -1", {1, BIG, 4, 4}, OVF, INV, "4294967295"},
    {"h = -1", {1, 8, BIG, 4}, OVF, INV, "4294967295"},
    {"w = -1", {1, 8, 4, BIG}, OVF, INV, "4294967295"},
    {"n = 0", {0, 8, 4, 4}, INV, INV, "0x8x4x4"},
    {"c = 0", {1, 0, 4, 4}, INV, INV, "1x0x4x4"},
    {"h = 0", {1, 8, 0, 4}, INV, INV, "zero"},
    {"w = 0", {1, 8, 4, 0}, INV, INV, "zero"},
    {"all -1: count overflows 64 bits", {BIG, BIG, BIG, BIG}, OVF, INV, "4294967295"},
    {"2^16 x 2^16 x 2^16 x 2^16: count 2^64 wraps to 0", {65536, 65536, 65536, 65536}, OVF, INV, "65536"},
    {"count 2^32 (overflows 32 bits)", {1, 65536, 256, 256}, OVF, OOM, "65536"},
    {"count 2^32 + 16 wraps to 16 in 32 bits", {1, 16, 0x10000001u, 1}, OVF, OOM, "268435457"},
    {"2^40 bytes (2^38 floats)", {1, 16384, 4096, 4096}, OVF, OOM, "16384"},
    {"2^31 floats: int indexing", {2, 1024, 1024, 1024}, OVF, OOM, "1024"},
};

Test(bad_input, tensor_dims_refused_before_allocation)
{
    cr_assert(fi_install() == 0);
    mcl_context *ctx = NULL;
    cr_assert(mcl_context_create(NULL, &ctx) == MCL_STATUS_OK, "%s", mcl_last_error());
    for (size_t i = 0; i < sizeof k_tensors / sizeof k_tensors[0]; i++) {
        for (int layout = 0; layout < 2; layout++) {
            fi_reset();
            long rss0 = rss_kib();
            double t0 = now_ms();
            mcl_tensor *t = (mcl_tensor *)&ctx; /* must be cleared */
            mcl_status st = mcl_tensor_create(ctx, &k_tensors[i].s, (mcl_layout)layout, &t);
            double ms = now_ms() - t0;
            char label[160];
            snprintf(label, sizeof label, "%s, %s", k_tensors[i].name, layout ? "blocked" : "NCHW");
            cr_assert(st == k_tensors[i].st || st == k_tensors[i].alt, "[%s] got %s: %s", label, mcl_status_string(st),
                      mcl_last_error());
            cr_assert(t == NULL, "[%s] output not cleared", label);
            expect_msg(label, k_tensors[i].needle);
            cr_assert(fi_calls_of("clCreateBuffer") == 0, "[%s] clCreateBuffer was called", label);
            cr_assert(rss_kib() - rss0 < 16 * 1024, "[%s] the resident set grew by %ld KiB", label, rss_kib() - rss0);
            cr_assert(ms < 50, "[%s] took %.1f ms: not refused up front", label, ms);
        }
    }
    /* larger than the device's largest allocation, within the element limit */
    const mcl_device_info *di = mcl_context_device_info(ctx);
    mcl_shape s = {1, 1000, 1000, 1000};
    if (di->max_alloc_bytes && di->max_alloc_bytes < 4000000000ull) {
        fi_reset();
        mcl_tensor *t = NULL;
        mcl_status st = mcl_tensor_create(ctx, &s, MCL_LAYOUT_NCHW, &t);
        cr_assert(st == OOM && t == NULL, "4e9-byte tensor, max alloc %llu: %s", (unsigned long long)di->max_alloc_bytes,
                  mcl_status_string(st));
        expect_msg("4e9-byte tensor", "CL_DEVICE_MAX_MEM_ALLOC_SIZE");
        expect_msg("4e9-byte tensor", "1x1000x1000x1000");
        cr_assert(fi_calls_of("clCreateBuffer") == 0, "4e9-byte tensor: clCreateBuffer was called");
    } else {
        cr_log_warn("the device allocates %llu bytes at once: the 4e9-byte tensor row does not apply",
                    (unsigned long long)di->max_alloc_bytes);
    }
    /* a bad layout, and write/read counts that do not match */
    mcl_shape ok = {1, 3, 4, 5};
    mcl_tensor *t = NULL;
    cr_assert(mcl_tensor_create(ctx, &ok, (mcl_layout)7, &t) == INV && t == NULL);
    expect_msg("layout 7", "7");
    cr_assert(mcl_tensor_create(ctx, &ok, (mcl_layout)-1, &t) == INV && t == NULL);
    expect_msg("layout -1", "-1");
    cr_assert(mcl_tensor_create(ctx, &ok, MCL_LAYOUT_BLOCKED, &t) == MCL_STATUS_OK);
    float buf[60] = {0};
    cr_assert(mcl_tensor_write(t, buf, (size_t)-1) != MCL_STATUS_OK);
    expect_msg("write count -1", "18446744073709551615");
    cr_assert(mcl_tensor_read(t, buf, 61) != MCL_STATUS_OK);
    expect_msg("read count 61", "61");
    mcl_tensor_destroy(t);
    mcl_context_destroy(ctx);
    fi_reset();
    char live[128];
    fi_describe_live(live, sizeof live);
    cr_assert(fi_live_total() == 0, "left alive: %s", live);
    fi_uninstall();
}

/* ---- graph builders -------------------------------------------------------------- */

Test(bad_input, graph_builders)
{
    mcl_graph *g = NULL;
    cr_assert(mcl_graph_create(&g) == MCL_STATUS_OK);
    mcl_value v = -1;
    static const struct {
        mcl_shape s;
        const char *needle;
    } bad_in[] = {
        {{BIG, 3, 8, 8}, "4294967295"},       {{1, 3, 0, 8}, "zero"},
        {{1, 16384, 4096, 4096}, "16384"},    {{65536, 65536, 65536, 65536}, "65536"},
        {{1, 65536, 256, 256}, "65536"},
    };
    for (size_t i = 0; i < sizeof bad_in / sizeof bad_in[0]; i++) {
        long rss0 = rss_kib();
        mcl_status st = mcl_graph_input(g, "x", &bad_in[i].s, &v);
        cr_assert(st == INV || st == OVF, "graph input %zu: %s", i, mcl_status_string(st));
        expect_msg("graph input", bad_in[i].needle);
        cr_assert(rss_kib() - rss0 < 16 * 1024, "graph input %zu: the resident set grew", i);
    }
    cr_assert(mcl_graph_value_count(g) == 0, "a refused input left a value");
    mcl_value x = -1;
    mcl_shape xs = {1, 8, 6, 6};
    cr_assert(mcl_graph_input(g, "x", &xs, &x) == MCL_STATUS_OK);

    /* a conv descriptor that the input refutes, with enormous weights: the
     * builder must not copy out_channels * in_channels floats from `w` */
    float w[16] = {0};
    mcl_conv2d_desc huge = {.in_channels = 0x40000, .out_channels = 0x40000, .groups = 1, .kernel_h = 1,
                            .kernel_w = 1, .stride_h = 1, .stride_w = 1};
    long rss0 = rss_kib();
    mcl_status st = mcl_graph_conv2d(g, "huge_conv", &huge, w, NULL, x, -1, &v);
    cr_assert(st == INV || st == OVF, "conv 0x40000 -> 0x40000 on 8 channels: %s", mcl_status_string(st));
    expect_msg("huge conv", "huge_conv");
    cr_assert(rss_kib() - rss0 < 16 * 1024, "huge conv: the resident set grew by %ld KiB", rss_kib() - rss0);
    mcl_conv2d_desc neg = {.in_channels = 8, .out_channels = BIG, .groups = 1, .kernel_h = 3, .kernel_w = 3,
                           .stride_h = 1, .stride_w = 1};
    st = mcl_graph_conv2d(g, "neg_out", &neg, w, NULL, x, -1, &v);
    cr_assert(st == INV || st == OVF, "conv out_channels -1: %s", mcl_status_string(st));
    expect_msg("conv out -1", "neg_out");
    mcl_fc_desc fc = {.in_features = 0x80000000u, .out_features = 4};
    rss0 = rss_kib();
    st = mcl_graph_fc(g, "huge_fc", &fc, w, NULL, x, &v);
    cr_assert(st == INV || st == OVF, "fc in_features 2^31 on 288: %s", mcl_status_string(st));
    expect_msg("huge fc", "huge_fc");
    cr_assert(rss_kib() - rss0 < 16 * 1024, "huge fc: the resident set grew by %ld KiB", rss_kib() - rss0);

    /* split sizes and shuffle groups */
    mcl_value outs[8];
    const uint32_t wrap[2] = {BIG, 9}; /* sums to 8 in 32 bits */
    st = mcl_graph_split(g, "wrap_split", x, 2, wrap, outs);
    cr_assert(st == INV || st == OVF, "split {-1, 9}: %s", mcl_status_string(st));
    expect_msg("split wrap", "wrap_split");
    const uint32_t zero[2] = {0, 8};
    st = mcl_graph_split(g, "zero_split", x, 2, zero, outs);
    cr_assert(st == INV, "split {0, 8}: %s", mcl_status_string(st));
    expect_msg("split zero", "zero_split");
    st = mcl_graph_split(g, "many_split", x, (size_t)-1, zero, outs);
    cr_assert(st == INV || st == MCL_STATUS_UNSUPPORTED, "split into SIZE_MAX: %s", mcl_status_string(st));
    expect_msg("split count", NULL);
    st = mcl_graph_shuffle(g, "neg_shuffle", x, BIG, &v);
    cr_assert(st == INV, "shuffle groups -1: %s", mcl_status_string(st));
    expect_msg("shuffle -1", "4294967295");
    st = mcl_graph_shuffle(g, "zero_shuffle", x, 0, &v);
    cr_assert(st == INV || st == OK_, "shuffle groups 0: %s", mcl_status_string(st));
    mcl_value two[2] = {x, x};
    st = mcl_graph_concat(g, "big_concat", (size_t)-1, two, &v);
    cr_assert(st == INV || st == MCL_STATUS_UNSUPPORTED, "concat of SIZE_MAX inputs: %s", mcl_status_string(st));
    expect_msg("concat count", NULL);
    /* values that do not exist: negative, and far too large */
    st = mcl_graph_activation(g, "neg_value", MCL_ACT_RELU, -5, &v);
    cr_assert(st == INV, "activation of value -5: %s", mcl_status_string(st));
    expect_msg("value -5", "-5");
    st = mcl_graph_activation(g, "big_value", MCL_ACT_RELU, 0x7fffffff, &v);
    cr_assert(st == INV, "activation of value 2^31-1: %s", mcl_status_string(st));
    expect_msg("value 2^31-1", "2147483647");
    mcl_graph_destroy(g);
}

/* concat of eight legal inputs whose sum passes the element limit */
Test(bad_input, graph_concat_beyond_the_limit)
{
    mcl_graph *g = NULL;
    cr_assert(mcl_graph_create(&g) == MCL_STATUS_OK);
    mcl_value in[8];
    mcl_shape s = {1, 1024, 512, 512}; /* 2^28 floats each: fine alone */
    for (int i = 0; i < 8; i++)
        cr_assert(mcl_graph_input(g, NULL, &s, &in[i]) == MCL_STATUS_OK, "%s", mcl_last_error());
    mcl_value v;
    mcl_status st = mcl_graph_concat(g, "big_concat", 8, in, &v);
    cr_assert(st == OVF || st == INV, "concat to 8192 channels of 512x512: %s", mcl_status_string(st));
    expect_msg("big concat", "big_concat");
    mcl_graph_destroy(g);
}

/* ---- zoo options ------------------------------------------------------------------ */

Test(bad_input, zoo_enormous_options)
{
    static const struct {
        const char *net;
        mcl_zoo_options o;
        const char *needle;
    } k[] = {
        {"mobilenet_v2", {.batch = BIG}, "4294967295"},
        {"mobilenet_v2", {.resolution = BIG}, "4294967295"},
        {"mobilenet_v1", {.resolution = 0x80000000u}, "2147483648"},
        {"shufflenet_v1", {.groups = BIG}, "4294967295"},
        {"mobilenet_v2", {.alpha = INFINITY}, "alpha"},
        {"mobilenet_v2", {.alpha = -INFINITY}, "alpha"},
        {"shufflenet_v2", {.scale = NAN}, "scale"},
        {"shufflenet_v1", {.scale = 1e30f}, "scale"},
        {"mnasnet1_0", {.classes = 0x40000000u}, "1073741824"},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        mcl_graph *g = (mcl_graph *)&k;
        long rss0 = rss_kib();
        mcl_status st = mcl_zoo_build(k[i].net, &k[i].o, &g);
        cr_assert(st == INV || st == OVF, "zoo row %zu (%s): %s", i, k[i].net, mcl_status_string(st));
        cr_assert(g == NULL, "zoo row %zu: output not cleared", i);
        expect_msg(k[i].net, k[i].needle);
        cr_assert(rss_kib() - rss0 < 16 * 1024, "zoo row %zu: the resident set grew", i);
    }
}

/* ---- a plan whose tensors the device cannot hold ------------------------------ */

Test(bad_input, plan_beyond_device_memory_refused_before_allocation)
{
    cr_assert(fi_install() == 0);
    mcl_context *ctx = NULL;
    cr_assert(mcl_context_create(NULL, &ctx) == MCL_STATUS_OK);
    const mcl_device_info *di = mcl_context_device_info(ctx);
    /* 1 x 1008 x 1024 x 1024 floats = 4.2e9 bytes: within the element limit */
    mcl_graph *g = NULL;
    cr_assert(mcl_graph_create(&g) == MCL_STATUS_OK);
    mcl_shape s = {1, 1008, 1024, 1024};
    mcl_value x, y;
    cr_assert(mcl_graph_input(g, "x", &s, &x) == MCL_STATUS_OK, "%s", mcl_last_error());
    mcl_pool2d_desc pd = {.type = MCL_POOL_MAX, .kernel_h = 2, .kernel_w = 2, .stride_h = 2, .stride_w = 2};
    cr_assert(mcl_graph_pool2d(g, "pool", &pd, MCL_ACT_NONE, x, &y) == MCL_STATUS_OK, "%s", mcl_last_error());
    cr_assert(mcl_graph_output(g, y) == MCL_STATUS_OK);
    cr_assert(di->max_alloc_bytes > 0 && di->max_alloc_bytes < 4227858432ull,
              "the device allocates %llu bytes at once: this test needs a smaller limit",
              (unsigned long long)di->max_alloc_bytes);
    fi_reset();
    long rss0 = rss_kib();
    mcl_plan *plan = (mcl_plan *)&s;
    mcl_status st = mcl_plan_create(ctx, g, NULL, &plan);
    cr_assert(st == OOM, "plan of a 4.2e9-byte input: %s: %s", mcl_status_string(st), mcl_last_error());
    cr_assert(plan == NULL, "plan output not cleared");
    expect_msg("big plan", "CL_DEVICE_MAX_MEM_ALLOC_SIZE");
    cr_assert(fi_calls_of("clCreateBuffer") == 0, "plan: %ld clCreateBuffer calls before refusing",
              fi_calls_of("clCreateBuffer"));
    cr_assert(fi_calls_of("clCreateKernel") + fi_calls_of("clCreateProgramWithSource") +
                      fi_calls_of("clCreateProgramWithBinary") ==
                  0,
              "plan: kernels or programs made before refusing");
    expect_msg("big plan", "1x1008x1024x1024");
    cr_assert(rss_kib() - rss0 < 64 * 1024, "plan: the resident set grew by %ld KiB", rss_kib() - rss0);
    mcl_graph_destroy(g);
    mcl_context_destroy(ctx);
    char live[128];
    fi_describe_live(live, sizeof live);
    cr_assert(fi_live_total() == 0, "left alive: %s", live);
    fi_uninstall();
}

/* ---- NaN and Inf through a small plan -------------------------------------------- */

/* 0 finite, 1 NaN, 2 +Inf, 3 -Inf */
static int fclass(float v) { return isnan(v) ? 1 : isinf(v) ? (v > 0 ? 2 : 3) : 0; }

/* input 1x8x9x9 -> conv 3x3 (8 -> 12, BN folded) + conv 1x1 residual add
 * -> avg pool 3x3 s2 p1 (excl. pad): no activation, so NaN and Inf must
 * propagate exactly as in the reference; a second output through relu6,
 * max pool and fc: ReLU6 and max pooling let NaN through (the kernels and
 * the reference alike), so NaN/Inf must land on the same elements there
 * too. */
static mcl_graph *nan_graph(mcl_value *out_strict, mcl_value *out_loose)
{
    mcl_graph *g = NULL;
    cr_assert(mcl_graph_create(&g) == MCL_STATUS_OK);
    mcl_shape s = {1, 8, 9, 9};
    mcl_value x, a, b, c, d, e, f;
    cr_assert(mcl_graph_input(g, "x", &s, &x) == MCL_STATUS_OK);
    static float w3[12 * 8 * 9], w1[12 * 8], bias[12], gam[12], bet[12], mean[12], var[12], wf[10 * 12 * 2 * 2];
    ref_fill_uniform(w3, sizeof w3 / 4, 21, -1, 1);
    ref_fill_uniform(w1, sizeof w1 / 4, 22, -1, 1);
    ref_fill_uniform(bias, 12, 23, -1, 1);
    ref_fill_uniform(gam, 12, 24, 0.5f, 1.5f);
    ref_fill_uniform(bet, 12, 25, -1, 1);
    ref_fill_uniform(mean, 12, 26, -1, 1);
    ref_fill_uniform(var, 12, 27, 0.5f, 1.5f);
    ref_fill_uniform(wf, sizeof wf / 4, 28, -1, 1);
    mcl_conv2d_desc c1 = {.in_channels = 8, .out_channels = 12, .groups = 1, .kernel_h = 1, .kernel_w = 1,
                          .stride_h = 1, .stride_w = 1};
    mcl_conv2d_desc c3 = {.in_channels = 8, .out_channels = 12, .groups = 1, .kernel_h = 3, .kernel_w = 3,
                          .stride_h = 1, .stride_w = 1, .pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1};
    cr_assert(mcl_graph_conv2d(g, "skip", &c1, w1, NULL, x, -1, &a) == MCL_STATUS_OK, "%s", mcl_last_error());
    cr_assert(mcl_graph_conv2d(g, "conv", &c3, w3, bias, x, a, &b) == MCL_STATUS_OK, "%s", mcl_last_error());
    cr_assert(mcl_graph_batchnorm(g, "bn", b, gam, bet, mean, var, 1e-5f, &c) == MCL_STATUS_OK, "%s",
              mcl_last_error());
    mcl_pool2d_desc avg = {.type = MCL_POOL_AVG, .kernel_h = 3, .kernel_w = 3, .stride_h = 2, .stride_w = 2,
                           .pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1};
    cr_assert(mcl_graph_pool2d(g, "avg", &avg, MCL_ACT_NONE, c, out_strict) == MCL_STATUS_OK, "%s", mcl_last_error());
    cr_assert(mcl_graph_activation(g, "relu6", MCL_ACT_RELU6, c, &d) == MCL_STATUS_OK);
    mcl_pool2d_desc mx = {.type = MCL_POOL_MAX, .kernel_h = 4, .kernel_w = 4, .stride_h = 4, .stride_w = 4};
    cr_assert(mcl_graph_pool2d(g, "max", &mx, MCL_ACT_NONE, d, &e) == MCL_STATUS_OK, "%s", mcl_last_error());
    mcl_fc_desc fd = {.in_features = 12 * 2 * 2, .out_features = 10};
    cr_assert(mcl_graph_fc(g, "fc", &fd, wf, NULL, e, &f) == MCL_STATUS_OK, "%s", mcl_last_error());
    *out_loose = f;
    cr_assert(mcl_graph_output(g, *out_strict) == MCL_STATUS_OK);
    cr_assert(mcl_graph_output(g, *out_loose) == MCL_STATUS_OK);
    return g;
}

Test(bad_input, nan_and_inf_propagate)
{
    mcl_value vs, vl;
    mcl_graph *g = nan_graph(&vs, &vl);
    mcl_context *ctx = NULL;
    cr_assert(mcl_context_create(NULL, &ctx) == MCL_STATUS_OK);
    mcl_plan *plan = NULL;
    cr_assert(mcl_plan_create(ctx, g, NULL, &plan) == MCL_STATUS_OK, "%s", mcl_last_error());
    const size_t nx = 8 * 9 * 9, ns = 12 * 5 * 5, nl = 10;
    /* cases: one NaN; +Inf and -Inf far apart; +Inf and -Inf at one pixel
     * (Inf - Inf = NaN); a whole channel of NaN (every output NaN: the
     * 3x3 conv mixes all channels) */
    for (int cs = 0; cs < 4; cs++) {
        float x[8 * 9 * 9];
        ref_fill_uniform(x, nx, 30 + cs, -1, 1);
        switch (cs) {
        case 0: x[(2 * 9 + 1) * 9 + 1] = NAN; break;
        case 1: x[(0 * 9 + 0) * 9 + 0] = INFINITY; x[(5 * 9 + 8) * 9 + 8] = -INFINITY; break;
        case 2: x[(1 * 9 + 4) * 9 + 4] = INFINITY; x[(6 * 9 + 4) * 9 + 4] = -INFINITY; break;
        default:
            for (size_t i = 0; i < 81; i++)
                x[3 * 81 + i] = NAN;
            break;
        }
        const float *in[1] = {x};
        float *want[2] = {NULL, NULL};
        cr_assert(ref_graph_run(g, in, want) == 0, "%s", ref_graph_error());
        float got_s[12 * 5 * 5], got_l[10];
        cr_assert(mcl_plan_set_input(plan, 0, x, nx) == MCL_STATUS_OK, "%s", mcl_last_error());
        cr_assert(mcl_plan_run(plan, 0) == MCL_STATUS_OK, "%s", mcl_last_error());
        cr_assert(mcl_plan_get_output(plan, 0, got_s, ns) == MCL_STATUS_OK, "%s", mcl_last_error());
        cr_assert(mcl_plan_get_output(plan, 1, got_l, nl) == MCL_STATUS_OK, "%s", mcl_last_error());
        size_t special = 0;
        for (size_t i = 0; i < ns; i++) {
            int a = fclass(got_s[i]), b = fclass(want[0][i]);
            special += b != 0;
            cr_assert(a == b, "case %d, strict output %zu: got %g, the reference %g", cs, i, got_s[i], want[0][i]);
            if (!b)
                cr_assert(fabs((double)got_s[i] - want[0][i]) <= 1e-4 + 1e-4 * fabs(want[0][i]),
                          "case %d, strict output %zu: got %g, the reference %g", cs, i, got_s[i], want[0][i]);
        }
        cr_assert(special > 0 && (special < ns || cs == 3), "case %d: %zu of %zu outputs NaN/Inf: the case tests nothing", cs,
                  special, ns);
        /* the output through relu6 + max pool + fc: the same classes, and
         * equal where finite */
        for (size_t i = 0; i < nl; i++) {
            cr_assert(fclass(got_l[i]) == fclass(want[1][i]), "case %d, fc output %zu: got %g, the reference %g", cs,
                      i, got_l[i], want[1][i]);
            if (!fclass(want[1][i]))
                cr_assert(fabs((double)got_l[i] - want[1][i]) <= 1e-4 + 1e-4 * fabs(want[1][i]),
                          "case %d, fc output %zu: got %g, the reference %g", cs, i, got_l[i], want[1][i]);
        }
        free(want[0]);
        free(want[1]);
    }
    /* and a clean input afterwards: nothing stuck in the buffers */
    float x[8 * 9 * 9];
    ref_fill_uniform(x, nx, 99, -1, 1);
    const float *in[1] = {x};
    float *want[2] = {NULL, NULL};
    cr_assert(ref_graph_run(g, in, want) == 0);
    float got_s[12 * 5 * 5], got_l[10];
    cr_assert(mcl_plan_set_input(plan, 0, x, nx) == MCL_STATUS_OK);
    cr_assert(mcl_plan_run(plan, 0) == MCL_STATUS_OK);
    cr_assert(mcl_plan_get_output(plan, 0, got_s, ns) == MCL_STATUS_OK);
    cr_assert(mcl_plan_get_output(plan, 1, got_l, nl) == MCL_STATUS_OK);
    ref_mismatch m;
    cr_assert(ref_compare(got_s, want[0], ns, 1e-4, 1e-4, &m), "clean after NaN: %zu got %g want %g", m.first, m.got,
              m.want);
    cr_assert(ref_compare(got_l, want[1], nl, 1e-4, 1e-4, &m), "clean after NaN (fc): %zu got %g want %g", m.first,
              m.got, m.want);
    free(want[0]);
    free(want[1]);
    mcl_plan_destroy(plan);
    mcl_context_destroy(ctx);
    mcl_graph_destroy(g);
}

/* ---- paths that do not exist or are directories -------------------------------- */

static char g_log[4096];
static void keep_log(void *user, mcl_log_level lvl, const char *msg)
{
    (void)user;
    (void)lvl;
    size_t l = strlen(g_log);
    snprintf(g_log + l, sizeof g_log - l, "%s\n", msg);
}

/* A context with these options still plans and runs a tiny graph right. */
static void context_still_works(const mcl_context_options *o, const char *label)
{
    mcl_context *ctx = NULL;
    mcl_status st = mcl_context_create(o, &ctx);
    cr_assert(st == MCL_STATUS_OK, "[%s] context: %s", label, mcl_last_error());
    mcl_graph *g = NULL;
    cr_assert(mcl_graph_create(&g) == MCL_STATUS_OK);
    mcl_shape s = {1, 4, 5, 5};
    mcl_value x, y;
    cr_assert(mcl_graph_input(g, "x", &s, &x) == MCL_STATUS_OK);
    mcl_pool2d_desc pd = {.type = MCL_POOL_GLOBAL_AVG};
    cr_assert(mcl_graph_pool2d(g, "gap", &pd, MCL_ACT_NONE, x, &y) == MCL_STATUS_OK);
    cr_assert(mcl_graph_output(g, y) == MCL_STATUS_OK);
    mcl_plan *plan = NULL;
    cr_assert(mcl_plan_create(ctx, g, NULL, &plan) == MCL_STATUS_OK, "[%s] plan: %s", label, mcl_last_error());
    float in[100], out[4] = {NAN, NAN, NAN, NAN}, want[4];
    ref_fill_uniform(in, 100, 5, -1, 1);
    ref_pool2d_params rp = {.type = 2, .n = 1, .c = 4, .h = 5, .w = 5};
    ref_pool2d(&rp, in, want);
    cr_assert(mcl_plan_set_input(plan, 0, in, 100) == MCL_STATUS_OK);
    cr_assert(mcl_plan_run(plan, 0) == MCL_STATUS_OK);
    cr_assert(mcl_plan_get_output(plan, 0, out, 4) == MCL_STATUS_OK);
    ref_mismatch m;
    cr_assert(ref_compare(out, want, 4, 1e-5, 1e-5, &m), "[%s] got %g want %g", label, m.got, m.want);
    mcl_plan_destroy(plan);
    mcl_graph_destroy(g);
    mcl_context_destroy(ctx);
}

Test(bad_input, paths_missing_or_directories)
{
    char dir[] = "/tmp/mobicl-badpath-XXXXXX";
    cr_assert(mkdtemp(dir) != NULL);
    char missing[256], nested[256], file[256];
    snprintf(missing, sizeof missing, "%s/no-such-file.npy", dir);
    snprintf(nested, sizeof nested, "%s/no/such/folder", dir);
    snprintf(file, sizeof file, "%s/plain-file", dir);
    FILE *f = fopen(file, "w");
    cr_assert(f != NULL);
    fputs("x\n", f);
    fclose(f);

    /* npy: read a missing file / a directory; write into a missing folder / onto a directory */
    float *data = (float *)dir;
    uint32_t dims[4];
    size_t nd = 9;
    mcl_status st = mcl_npy_read(missing, &data, dims, &nd);
    cr_assert(st == MCL_STATUS_IO_ERROR && data == NULL, "npy read missing: %s", mcl_status_string(st));
    expect_msg("npy read missing", missing);
    st = mcl_npy_read(dir, &data, dims, &nd);
    cr_assert(st == MCL_STATUS_IO_ERROR && data == NULL, "npy read dir: %s", mcl_status_string(st));
    expect_msg("npy read dir", dir);
    expect_msg("npy read dir", "directory");
    const float v[2] = {1, 2};
    const uint32_t d1[1] = {2};
    char wpath[300];
    snprintf(wpath, sizeof wpath, "%s/x.npy", nested);
    st = mcl_npy_write(wpath, v, d1, 1);
    cr_assert(st == MCL_STATUS_IO_ERROR, "npy write into a missing folder: %s", mcl_status_string(st));
    expect_msg("npy write missing folder", wpath);
    st = mcl_npy_write(dir, v, d1, 1);
    cr_assert(st == MCL_STATUS_IO_ERROR, "npy write onto a directory: %s", mcl_status_string(st));
    expect_msg("npy write dir", dir);
    const uint32_t dneg[1] = {BIG};
    st = mcl_npy_write(file, v, dneg, 1);
    cr_assert(st != MCL_STATUS_OK, "npy write of 2^32-1 elements from a 2-float array: %s", mcl_status_string(st));

    /* cache_dir: missing nested folders, a plain file: logged, the context works */
    const char *bad_cache[2] = {nested, file};
    for (int i = 0; i < 2; i++) {
        g_log[0] = 0;
        mcl_context_options o = {.cache_dir = bad_cache[i], .log = keep_log, .log_level = MCL_LOG_WARN, .tuning_db = ""};
        context_still_works(&o, bad_cache[i]);
        cr_assert(strstr(g_log, bad_cache[i]) != NULL, "cache_dir %s: the log does not name it: %s", bad_cache[i],
                  g_log);
    }
    /* tuning_db: missing, a directory: logged once, the context works */
    const char *bad_db[2] = {missing, dir};
    for (int i = 0; i < 2; i++) {
        g_log[0] = 0;
        mcl_context_options o = {.tuning_db = bad_db[i], .log = keep_log, .log_level = MCL_LOG_WARN};
        context_still_works(&o, bad_db[i]);
        cr_assert(strstr(g_log, bad_db[i]) != NULL, "tuning_db %s: the log does not name it: %s", bad_db[i], g_log);
    }
    /* kernel_dir that does not exist: the first build fails with IO_ERROR naming it */
    mcl_context_options ko = {.kernel_dir = nested};
    mcl_context *ctx = NULL;
    cr_assert(mcl_context_create(&ko, &ctx) == MCL_STATUS_OK);
    mcl_op *op = NULL;
    mcl_pool2d_desc pd = {.type = MCL_POOL_GLOBAL_AVG};
    cr_assert(mcl_pool2d_create(ctx, &pd, &op) == MCL_STATUS_OK);
    mcl_shape s = {1, 4, 5, 5}, os;
    st = mcl_op_reshape(op, 1, &s, &os);
    cr_assert(st == MCL_STATUS_IO_ERROR, "kernel_dir missing: %s", mcl_status_string(st));
    expect_msg("kernel_dir missing", nested);
    mcl_op_destroy(op);
    mcl_context_destroy(ctx);

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert(system(cmd) == 0);
}
