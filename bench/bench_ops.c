/* bench_ops — per-op benchmark on the default device, for the real layers
 * of ShuffleNet V1/V2, MobileNet V1/V2 and MnasNet (batch 1, 224x224 input).
 *
 * Convolutions print GFLOP/s (2 FLOPs per MAC); pointwise layers also run
 * CLBlast's SGEMM on the same shape (NCHW: Y[OC x HW] = W[OC x IC] X[IC x HW],
 * grouped layers as a strided batch of g GEMMs), side by side in the same
 * process, and the ratio. Memory-bound ops (depthwise, shuffle, split,
 * concat, pooling) print GB/s (bytes in + out, the real channel counts) and
 * the percentage of the device's copy bandwidth (the faster of
 * clEnqueueCopyBuffer and the channel kernel's aligned copy, 8 MiB,
 * measured in the same run).
 *
 * Time: a batch is `reps` runs of an op back to back, then clFinish; every
 * selected layer is set up and warmed first, then `rounds` rounds each time
 * one batch of every layer in turn (interleaved), and the median per-run
 * time over the rounds is reported. The
 * output of every pointwise layer is compared with CLBlast's before its time
 * is printed, so a broken kernel cannot post a number.
 *
 * --layer TEXT keeps the layers whose "KIND CxHxW->OC kKsS gG" contains TEXT (e.g.
 * "pw 144x56x56->24"): with a large --reps, one layer to run under a profiler
 * (perf record -e cpu-clock). --solo times only mobicl's layers: no
 * ceilings, no shuffle header, no CLBlast, no same-size copies (so nothing
 * else is in a profile).
 *
 * usage: bench_ops [--net NAME] [--layer TEXT] [--solo] [--reps N] [--rounds N] [--csv FILE] */
#define _POSIX_C_SOURCE 200809L
#include "mobicl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef MOBICL_WITH_CLBLAST
#include <clblast_c.h>
#endif

typedef enum { PW, DW, CONV, SHUF, SPLIT, CONCAT, MAXP, GAP } kind;
static const char *kind_name[] = {"pw", "dw", "conv", "shuffle", "split", "concat", "maxpool", "gap"};

typedef struct layer {
    const char *net;
    kind k;
    int ic, oc, h, w, ks, s, g; /* g: groups (conv), shuffle groups */
    int count;                  /* times the shape occurs in the network */
} layer;

/* clang-format off */
static const layer k_layers[] = {
    /* MobileNet V1 1.0 */
    {"mobilenet_v1", CONV, 3, 32, 224, 224, 3, 2, 1, 1},
    {"mobilenet_v1", DW, 32, 32, 112, 112, 3, 1, 32, 1},   {"mobilenet_v1", PW, 32, 64, 112, 112, 1, 1, 1, 1},
    {"mobilenet_v1", DW, 64, 64, 112, 112, 3, 2, 64, 1},   {"mobilenet_v1", PW, 64, 128, 56, 56, 1, 1, 1, 1},
    {"mobilenet_v1", DW, 128, 128, 56, 56, 3, 1, 128, 1},  {"mobilenet_v1", PW, 128, 128, 56, 56, 1, 1, 1, 1},
    {"mobilenet_v1", DW, 128, 128, 56, 56, 3, 2, 128, 1},  {"mobilenet_v1", PW, 128, 256, 28, 28, 1, 1, 1, 1},
    {"mobilenet_v1", DW, 256, 256, 28, 28, 3, 1, 256, 1},  {"mobilenet_v1", PW, 256, 256, 28, 28, 1, 1, 1, 1},
    {"mobilenet_v1", DW, 256, 256, 28, 28, 3, 2, 256, 1},  {"mobilenet_v1", PW, 256, 512, 14, 14, 1, 1, 1, 1},
    {"mobilenet_v1", DW, 512, 512, 14, 14, 3, 1, 512, 5},  {"mobilenet_v1", PW, 512, 512, 14, 14, 1, 1, 1, 5},
    {"mobilenet_v1", DW, 512, 512, 14, 14, 3, 2, 512, 1},  {"mobilenet_v1", PW, 512, 1024, 7, 7, 1, 1, 1, 1},
    {"mobilenet_v1", DW, 1024, 1024, 7, 7, 3, 1, 1024, 1}, {"mobilenet_v1", PW, 1024, 1024, 7, 7, 1, 1, 1, 1},
    {"mobilenet_v1", GAP, 1024, 1024, 7, 7, 7, 1, 1, 1},
    /* MobileNet V2 1.0 */
    {"mobilenet_v2", DW, 32, 32, 112, 112, 3, 1, 32, 1},   {"mobilenet_v2", PW, 32, 16, 112, 112, 1, 1, 1, 1},
    {"mobilenet_v2", PW, 16, 96, 112, 112, 1, 1, 1, 1},    {"mobilenet_v2", DW, 96, 96, 112, 112, 3, 2, 96, 1},
    {"mobilenet_v2", PW, 96, 24, 56, 56, 1, 1, 1, 1},      {"mobilenet_v2", PW, 24, 144, 56, 56, 1, 1, 1, 2},
    {"mobilenet_v2", DW, 144, 144, 56, 56, 3, 1, 144, 1},  {"mobilenet_v2", PW, 144, 24, 56, 56, 1, 1, 1, 1},
    {"mobilenet_v2", DW, 144, 144, 56, 56, 3, 2, 144, 1},  {"mobilenet_v2", PW, 144, 32, 28, 28, 1, 1, 1, 1},
    {"mobilenet_v2", PW, 32, 192, 28, 28, 1, 1, 1, 3},     {"mobilenet_v2", DW, 192, 192, 28, 28, 3, 1, 192, 2},
    {"mobilenet_v2", PW, 192, 32, 28, 28, 1, 1, 1, 2},     {"mobilenet_v2", DW, 192, 192, 28, 28, 3, 2, 192, 1},
    {"mobilenet_v2", PW, 192, 64, 14, 14, 1, 1, 1, 1},     {"mobilenet_v2", PW, 64, 384, 14, 14, 1, 1, 1, 4},
    {"mobilenet_v2", DW, 384, 384, 14, 14, 3, 1, 384, 4},  {"mobilenet_v2", PW, 384, 64, 14, 14, 1, 1, 1, 3},
    {"mobilenet_v2", PW, 384, 96, 14, 14, 1, 1, 1, 1},     {"mobilenet_v2", PW, 96, 576, 14, 14, 1, 1, 1, 3},
    {"mobilenet_v2", DW, 576, 576, 14, 14, 3, 1, 576, 2},  {"mobilenet_v2", PW, 576, 96, 14, 14, 1, 1, 1, 2},
    {"mobilenet_v2", DW, 576, 576, 14, 14, 3, 2, 576, 1},  {"mobilenet_v2", PW, 576, 160, 7, 7, 1, 1, 1, 1},
    {"mobilenet_v2", PW, 160, 960, 7, 7, 1, 1, 1, 3},      {"mobilenet_v2", DW, 960, 960, 7, 7, 3, 1, 960, 3},
    {"mobilenet_v2", PW, 960, 160, 7, 7, 1, 1, 1, 2},      {"mobilenet_v2", PW, 960, 320, 7, 7, 1, 1, 1, 1},
    {"mobilenet_v2", PW, 320, 1280, 7, 7, 1, 1, 1, 1},
    /* ShuffleNet V2 1.0x (branch widths 58 / 116 / 232) */
    {"shufflenet_v2_x1_0", CONV, 3, 24, 224, 224, 3, 2, 1, 1},
    {"shufflenet_v2_x1_0", MAXP, 24, 24, 112, 112, 3, 2, 1, 1},
    {"shufflenet_v2_x1_0", DW, 24, 24, 56, 56, 3, 2, 24, 1},  {"shufflenet_v2_x1_0", PW, 24, 58, 28, 28, 1, 1, 1, 1},
    {"shufflenet_v2_x1_0", PW, 24, 58, 56, 56, 1, 1, 1, 1},   {"shufflenet_v2_x1_0", DW, 58, 58, 56, 56, 3, 2, 58, 1},
    {"shufflenet_v2_x1_0", PW, 58, 58, 28, 28, 1, 1, 1, 7},   {"shufflenet_v2_x1_0", DW, 58, 58, 28, 28, 3, 1, 58, 3},
    {"shufflenet_v2_x1_0", SPLIT, 116, 58, 28, 28, 1, 1, 1, 3},
    {"shufflenet_v2_x1_0", CONCAT, 116, 116, 28, 28, 1, 1, 1, 4},
    {"shufflenet_v2_x1_0", SHUF, 116, 116, 28, 28, 1, 1, 2, 4},
    {"shufflenet_v2_x1_0", DW, 116, 116, 28, 28, 3, 2, 116, 2}, {"shufflenet_v2_x1_0", PW, 116, 116, 14, 14, 1, 1, 1, 9},
    {"shufflenet_v2_x1_0", PW, 116, 116, 28, 28, 1, 1, 1, 1}, {"shufflenet_v2_x1_0", DW, 116, 116, 14, 14, 3, 1, 116, 7},
    {"shufflenet_v2_x1_0", SHUF, 232, 232, 14, 14, 1, 1, 2, 8},
    {"shufflenet_v2_x1_0", DW, 232, 232, 14, 14, 3, 2, 232, 2}, {"shufflenet_v2_x1_0", PW, 232, 232, 7, 7, 1, 1, 1, 5},
    {"shufflenet_v2_x1_0", PW, 232, 232, 14, 14, 1, 1, 1, 1}, {"shufflenet_v2_x1_0", DW, 232, 232, 7, 7, 3, 1, 232, 3},
    {"shufflenet_v2_x1_0", PW, 464, 1024, 7, 7, 1, 1, 1, 1},
    /* ShuffleNet V2 0.5x (branch widths 24 / 48 / 96) */
    {"shufflenet_v2_x0_5", PW, 24, 24, 28, 28, 1, 1, 1, 7},   {"shufflenet_v2_x0_5", PW, 24, 24, 56, 56, 1, 1, 1, 1},
    {"shufflenet_v2_x0_5", DW, 24, 24, 28, 28, 3, 1, 24, 3},
    {"shufflenet_v2_x0_5", PW, 48, 48, 14, 14, 1, 1, 1, 9},   {"shufflenet_v2_x0_5", PW, 48, 48, 28, 28, 1, 1, 1, 1},
    {"shufflenet_v2_x0_5", DW, 48, 48, 14, 14, 3, 1, 48, 7},
    {"shufflenet_v2_x0_5", PW, 96, 96, 7, 7, 1, 1, 1, 5},     {"shufflenet_v2_x0_5", PW, 96, 96, 14, 14, 1, 1, 1, 1},
    {"shufflenet_v2_x0_5", PW, 192, 1024, 7, 7, 1, 1, 1, 1},
    {"shufflenet_v2_x0_5", SHUF, 96, 96, 28, 28, 1, 1, 2, 4},
    /* ShuffleNet V1 g=3 1.0x (240 / 480 / 960, bottleneck = out/4) */
    {"shufflenet_v1_g3", PW, 24, 60, 56, 56, 1, 1, 1, 1},     {"shufflenet_v1_g3", DW, 60, 60, 56, 56, 3, 2, 60, 1},
    {"shufflenet_v1_g3", PW, 60, 216, 28, 28, 1, 1, 3, 1},    {"shufflenet_v1_g3", PW, 240, 60, 28, 28, 1, 1, 3, 3},
    {"shufflenet_v1_g3", SHUF, 60, 60, 28, 28, 1, 1, 3, 3},   {"shufflenet_v1_g3", DW, 60, 60, 28, 28, 3, 1, 60, 3},
    {"shufflenet_v1_g3", PW, 60, 240, 28, 28, 1, 1, 3, 3},    {"shufflenet_v1_g3", PW, 240, 120, 28, 28, 1, 1, 3, 1},
    {"shufflenet_v1_g3", DW, 120, 120, 28, 28, 3, 2, 120, 1}, {"shufflenet_v1_g3", PW, 120, 240, 14, 14, 1, 1, 3, 1},
    {"shufflenet_v1_g3", PW, 480, 120, 14, 14, 1, 1, 3, 7},   {"shufflenet_v1_g3", DW, 120, 120, 14, 14, 3, 1, 120, 7},
    {"shufflenet_v1_g3", PW, 120, 480, 14, 14, 1, 1, 3, 7},   {"shufflenet_v1_g3", PW, 480, 240, 14, 14, 1, 1, 3, 1},
    {"shufflenet_v1_g3", DW, 240, 240, 14, 14, 3, 2, 240, 1}, {"shufflenet_v1_g3", PW, 240, 480, 7, 7, 1, 1, 3, 1},
    {"shufflenet_v1_g3", PW, 960, 240, 7, 7, 1, 1, 3, 3},     {"shufflenet_v1_g3", DW, 240, 240, 7, 7, 3, 1, 240, 3},
    {"shufflenet_v1_g3", PW, 240, 960, 7, 7, 1, 1, 3, 3},
    /* MnasNet 1.0 (B1: 3x3 and 5x5 depthwise, no squeeze-excite) */
    {"mnasnet1_0", PW, 16, 48, 112, 112, 1, 1, 1, 1},         {"mnasnet1_0", DW, 48, 48, 112, 112, 3, 2, 48, 1},
    {"mnasnet1_0", PW, 48, 24, 56, 56, 1, 1, 1, 1},           {"mnasnet1_0", PW, 24, 72, 56, 56, 1, 1, 1, 3},
    {"mnasnet1_0", DW, 72, 72, 56, 56, 3, 1, 72, 2},          {"mnasnet1_0", PW, 72, 24, 56, 56, 1, 1, 1, 2},
    {"mnasnet1_0", DW, 72, 72, 56, 56, 5, 2, 72, 1},          {"mnasnet1_0", PW, 72, 40, 28, 28, 1, 1, 1, 1},
    {"mnasnet1_0", PW, 40, 120, 28, 28, 1, 1, 1, 2},          {"mnasnet1_0", DW, 120, 120, 28, 28, 5, 1, 120, 2},
    {"mnasnet1_0", PW, 120, 40, 28, 28, 1, 1, 1, 2},          {"mnasnet1_0", PW, 40, 240, 28, 28, 1, 1, 1, 1},
    {"mnasnet1_0", DW, 240, 240, 28, 28, 5, 2, 240, 1},       {"mnasnet1_0", PW, 240, 80, 14, 14, 1, 1, 1, 1},
    {"mnasnet1_0", PW, 80, 480, 14, 14, 1, 1, 1, 2},          {"mnasnet1_0", DW, 480, 480, 14, 14, 5, 1, 480, 2},
    {"mnasnet1_0", PW, 480, 80, 14, 14, 1, 1, 1, 2},          {"mnasnet1_0", PW, 480, 96, 14, 14, 1, 1, 1, 1},
    {"mnasnet1_0", PW, 96, 576, 14, 14, 1, 1, 1, 2},          {"mnasnet1_0", DW, 576, 576, 14, 14, 3, 1, 576, 1},
    {"mnasnet1_0", PW, 576, 96, 14, 14, 1, 1, 1, 1},          {"mnasnet1_0", DW, 576, 576, 14, 14, 5, 2, 576, 1},
    {"mnasnet1_0", PW, 576, 192, 7, 7, 1, 1, 1, 1},           {"mnasnet1_0", PW, 192, 1152, 7, 7, 1, 1, 1, 4},
    {"mnasnet1_0", DW, 1152, 1152, 7, 7, 5, 1, 1152, 3},      {"mnasnet1_0", PW, 1152, 192, 7, 7, 1, 1, 1, 3},
    {"mnasnet1_0", DW, 1152, 1152, 7, 7, 3, 1, 1152, 1},      {"mnasnet1_0", PW, 1152, 320, 7, 7, 1, 1, 1, 1},
    {"mnasnet1_0", PW, 320, 1280, 7, 7, 1, 1, 1, 1},
    /* not a network: the standalone shuffles of the header as layers, to
     * profile (--net shuffle_8mib --layer "shuffle 512x64x64->512 k1s1 g4") */
    {"shuffle_8mib", SHUF, 512, 512, 64, 64, 1, 1, 2, 1},
    {"shuffle_8mib", SHUF, 488, 488, 66, 66, 1, 1, 2, 1},
    {"shuffle_8mib", SHUF, 512, 512, 64, 64, 1, 1, 4, 1},
};
/* clang-format on */

static int g_reps = 20, g_rounds = 7;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#define DIE(...)                          \
    do {                                  \
        fprintf(stderr, __VA_ARGS__);     \
        fprintf(stderr, "\n");            \
        exit(1);                          \
    } while (0)
#define CK(x)                                                                 \
    do {                                                                      \
        if ((x) != MCL_STATUS_OK)                                             \
            DIE("%s:%d: %s", __FILE__, __LINE__, mcl_last_error());           \
    } while (0)

/* Seconds per run of one batch: `reps` runs of fn(arg) back to back (fn
 * enqueues one run), then clFinish; NAN if fn fails. */
typedef int (*run_fn)(void *);
static double time_batch(cl_command_queue q, run_fn fn, void *arg, int reps)
{
    double t0 = now_s();
    for (int i = 0; i < reps; i++)
        if (fn(arg))
            return NAN;
    clFinish(q);
    return (now_s() - t0) / reps;
}

static double median(double *t, int n)
{
    qsort(t, n, sizeof t[0], cmp_d);
    return t[n / 2];
}

/* Median seconds per run of fn(arg) over `rounds` batches, after a warm-up
 * of 2 runs (program build, first touch). */
static double time_runs(cl_command_queue q, run_fn fn, void *arg)
{
    double t[64];
    if (!(time_batch(q, fn, arg, 2) >= 0))
        return NAN;
    for (int r = 0; r < g_rounds; r++)
        t[r] = time_batch(q, fn, arg, g_reps);
    return median(t, g_rounds);
}

static int run_op(void *op) { return mcl_op_run(op, NULL) != MCL_STATUS_OK; }

static float frand(unsigned *s)
{
    *s = *s * 1664525u + 1013904223u;
    return ((*s >> 8) & 0xffff) / 65536.0f - 0.5f;
}

static float *rnd(size_t n, unsigned seed)
{
    float *p = malloc(n * sizeof *p);
    if (!p)
        DIE("out of memory");
    for (size_t i = 0; i < n; i++)
        p[i] = frand(&seed);
    return p;
}

typedef struct copy_arg { cl_command_queue q; cl_mem a, b; size_t n; } copy_arg;
static int run_copy(void *p)
{
    copy_arg *c = p;
    return clEnqueueCopyBuffer(c->q, c->a, c->b, 0, 0, c->n, 0, NULL, NULL) != CL_SUCCESS;
}

#ifdef MOBICL_WITH_CLBLAST
typedef struct gemm_arg { cl_command_queue q; cl_mem w, x, y; size_t m, n, k, g; } gemm_arg;
static int run_gemm(void *p)
{
    gemm_arg *a = p;
    CLBlastStatusCode s;
    if (a->g == 1)
        s = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, a->m, a->n, a->k, 1.0f, a->w, 0,
                         a->k, a->x, 0, a->n, 0.0f, a->y, 0, a->n, &a->q, NULL);
    else
        s = CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, a->m, a->n, a->k,
                                       1.0f, a->w, 0, a->k, a->m * a->k, a->x, 0, a->n, a->k * a->n, 0.0f, a->y, 0,
                                       a->n, a->m * a->n, a->g, &a->q, NULL);
    return s != CLBlastSuccess;
}
#endif

/* GB/s of the aligned copy path (one vector per pixel and block) over a
 * tensor of shape s: what moving these bytes costs at this size, launch
 * and all, next to the 8 MiB ceiling */
/* GB/s of the channel gather on a blocked tensor of shape s: a plain copy
 * (groups 1) or a channel shuffle of `groups` groups */
static double gather_timed(mcl_context *ctx, cl_command_queue q, mcl_shape s, uint32_t groups);
static double gather_gbs(mcl_context *ctx, cl_command_queue q, mcl_shape s, uint32_t groups)
{
    const uint32_t B = mcl_context_block(ctx);
    return 8.0 * s.n * ((s.c + B - 1) / B * B) * s.h * s.w / gather_timed(ctx, q, s, groups) / 1e9;
}

/* seconds per run of that gather */
static double gather_timed(mcl_context *ctx, cl_command_queue q, mcl_shape s, uint32_t groups)
{
    mcl_channel_desc d = {.groups = groups, .inputs = 1};
    mcl_op *op = NULL;
    mcl_tensor *a = NULL, *b = NULL;
    mcl_shape o;
    CK(mcl_channel_create(ctx, &d, &op));
    CK(mcl_op_reshape(op, 1, &s, &o));
    CK(mcl_tensor_create(ctx, &s, MCL_LAYOUT_BLOCKED, &a));
    CK(mcl_tensor_create(ctx, &o, MCL_LAYOUT_BLOCKED, &b));
    CK(mcl_op_setup(op, 1, &a, b));
    double t = time_runs(q, run_op, op);
    mcl_op_destroy(op);
    mcl_tensor_destroy(a);
    mcl_tensor_destroy(b);
    return t;
}

/* a copy of the same bytes as shape s (channels rounded up to blocks) */
static double same_size_copy_gbs(mcl_context *ctx, cl_command_queue q, mcl_shape s)
{
    const uint32_t B = mcl_context_block(ctx);
    s.c = (s.c + B - 1) / B * B;
    return gather_gbs(ctx, q, s, 1);
}

static mcl_op *make_op(mcl_context *ctx, const layer *L, mcl_shape *in, mcl_shape *out, size_t *n_in)
{
    mcl_op *op = NULL;
    *n_in = 1;
    if (L->k == PW || L->k == DW || L->k == CONV) {
        int p = L->ks / 2;
        mcl_conv2d_desc d = {.in_channels = L->ic, .out_channels = L->oc, .groups = L->g, .kernel_h = L->ks,
                             .kernel_w = L->ks, .stride_h = L->s, .stride_w = L->s, .pad_top = p, .pad_left = p,
                             .pad_bottom = p, .pad_right = p, .activation = MCL_ACT_RELU};
        size_t nw = (size_t)L->oc * (L->ic / L->g) * L->ks * L->ks;
        float *w = rnd(nw, 1), *b = rnd(L->oc, 2);
        CK(mcl_conv2d_create(ctx, &d, w, b, &op));
        free(w);
        free(b);
    } else if (L->k == SHUF || L->k == SPLIT || L->k == CONCAT) {
        mcl_channel_desc d = {.channels = L->oc, .groups = L->k == SHUF ? L->g : 1, .inputs = L->k == CONCAT ? 2 : 1};
        if (L->k == SPLIT)
            d.offset = L->ic - L->oc;
        if (L->k == CONCAT) {
            in[1] = in[0] = (mcl_shape){1, L->ic / 2, L->h, L->w};
            *n_in = 2;
        }
        CK(mcl_channel_create(ctx, &d, &op));
    } else {
        mcl_pool2d_desc d = {.type = L->k == GAP ? MCL_POOL_GLOBAL_AVG : MCL_POOL_MAX, .kernel_h = L->ks,
                             .kernel_w = L->ks, .stride_h = L->s, .stride_w = L->s, .pad_top = 1, .pad_left = 1,
                             .pad_bottom = 1, .pad_right = 1};
        CK(mcl_pool2d_create(ctx, &d, &op));
    }
    CK(mcl_op_reshape(op, *n_in, in, out));
    return op;
}

/* One layer of the run: its op and tensors, CLBlast's GEMM on the same
 * shape (pointwise, not --solo), and the time of each round's batch. */
typedef struct row {
    const layer *L;
    mcl_op *op;
    mcl_tensor *ti[2], *to;
    mcl_shape out;
    int gemm;
#ifdef MOBICL_WITH_CLBLAST
    gemm_arg g;
#endif
    double t[64], ct[64];
} row;

static void row_setup(mcl_context *ctx, cl_command_queue q, const layer *L, int with_gemm, row *R)
{
    memset(R, 0, sizeof *R);
    R->L = L;
    mcl_shape in[2] = {{1, L->ic, L->h, L->w}, {0}};
    size_t n_in;
    R->op = make_op(ctx, L, in, &R->out, &n_in);
    for (size_t k = 0; k < n_in; k++) {
        CK(mcl_tensor_create(ctx, &in[k], MCL_LAYOUT_BLOCKED, &R->ti[k]));
        float *x = rnd(mcl_shape_count(&in[k]), 10 + k);
        CK(mcl_tensor_write(R->ti[k], x, mcl_shape_count(&in[k])));
        free(x);
    }
    CK(mcl_tensor_create(ctx, &R->out, MCL_LAYOUT_BLOCKED, &R->to));
    CK(mcl_op_setup(R->op, n_in, R->ti, R->to));
    if (!(time_batch(q, run_op, R->op, 2) >= 0)) /* warm-up: program build, first touch */
        DIE("%s: the op failed: %s", L->net, mcl_last_error());
#ifdef MOBICL_WITH_CLBLAST
    if (L->k == PW && with_gemm) {
        cl_context clctx = mcl_context_cl(ctx);
        cl_int err;
        size_t HW = (size_t)L->h * L->w, icg = L->ic / L->g, ocg = L->oc / L->g;
        R->g = (gemm_arg){q, NULL, NULL, NULL, ocg, HW, icg, (size_t)L->g};
        float *w = rnd((size_t)L->oc * icg, 1), *x = malloc(sizeof(float) * L->ic * HW);
        CK(mcl_tensor_read(R->ti[0], x, (size_t)L->ic * HW));
        R->g.w = clCreateBuffer(clctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof(float) * L->oc * icg, w, &err);
        R->g.x = clCreateBuffer(clctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof(float) * L->ic * HW, x, &err);
        R->g.y = clCreateBuffer(clctx, CL_MEM_READ_WRITE, sizeof(float) * L->oc * HW, NULL, &err);
        free(w);
        free(x);
        if (!R->g.w || !R->g.x || !R->g.y || !(time_batch(q, run_gemm, &R->g, 2) >= 0))
            DIE("%s: CLBlast's GEMM failed", L->net);
        R->gemm = 1;
    }
#else
    (void)with_gemm;
#endif
}

/* Prints the device's ceilings for this run: copy bandwidth at 8 MiB (the
 * faster of clEnqueueCopyBuffer and the copy kernel), the launch floor, and
 * the standalone channel shuffle against that copy. */
static void ceilings(mcl_context *ctx, cl_command_queue q, double *copy_out, double *floor_out)
{
    /* copy bandwidth ceiling */
    copy_arg cp = {q, NULL, NULL, 8u << 20};
    cl_int err;
    cl_context clctx = mcl_context_cl(ctx);
    cp.a = clCreateBuffer(clctx, CL_MEM_READ_WRITE, cp.n, NULL, &err);
    cp.b = clCreateBuffer(clctx, CL_MEM_READ_WRITE, cp.n, NULL, &err);
    float *junk = rnd(cp.n / 4, 3);
    clEnqueueWriteBuffer(q, cp.a, CL_TRUE, 0, cp.n, junk, 0, NULL, NULL);
    free(junk);
    double copy_api = 2.0 * cp.n / time_runs(q, run_copy, &cp) / 1e9;
    clReleaseMemObject(cp.a);
    clReleaseMemObject(cp.b);
    /* and a copy kernel: the channel gather's aligned fast path, 8 MiB */
    double copy_kernel = gather_gbs(ctx, q, (mcl_shape){1, 512, 64, 64}, 1);
    *copy_out = copy_api > copy_kernel ? copy_api : copy_kernel;
    const double copy_gbs = *copy_out;

    printf("device: %s (block %u), %d rounds x %d runs, median\n", mcl_context_device_info(ctx)->name,
           mcl_context_block(ctx), g_rounds, g_reps);
    printf("copy bandwidth, 8 MiB, read+write: clEnqueueCopyBuffer %.1f GB/s, copy kernel %.1f GB/s; ceiling %.1f GB/s\n\n",
           copy_api, copy_kernel, copy_gbs);
    /* the launch floor: a kernel with next to no work (a 1-pixel, 1-block
     * copy), timed like every layer; what a small layer cannot go below on
     * this device, so its rate is also given with the floor taken off */
    const double floor_s = *floor_out = gather_timed(ctx, q, (mcl_shape){1, mcl_context_block(ctx), 1, 1}, 1);
    printf("launch floor: %.1f us per kernel (a 1-pixel copy, back to back)\n", floor_s * 1e6);
    /* a standalone channel shuffle at the ceiling's size (launch overhead
     * amortised): 2 groups of 256 (runs aligned to blocks) and of 244
     * channels (unaligned runs), 4 groups (lane by lane) */
    {
        const struct { uint32_t c, h, g; } sh[] = {{512, 64, 2}, {488, 66, 2}, {512, 64, 4}};
        for (size_t i = 0; i < sizeof sh / sizeof sh[0]; i++) {
            double gbs = gather_gbs(ctx, q, (mcl_shape){1, sh[i].c, sh[i].h, sh[i].h}, sh[i].g);
            printf("shuffle %ux%ux%u groups %u: %.1f GB/s, %.0f%% of the ceiling\n", sh[i].c, sh[i].h, sh[i].h, sh[i].g,
                   gbs, 100.0 * gbs / copy_gbs);
        }
        printf("\n");
    }
}

int main(int argc, char **argv)
{
    const char *net = NULL, *csv_path = NULL, *only = NULL;
    int solo = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--net") && i + 1 < argc)
            net = argv[++i];
        else if (!strcmp(argv[i], "--layer") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--solo"))
            solo = 1;
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            g_reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            g_rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--csv") && i + 1 < argc)
            csv_path = argv[++i];
        else
            DIE("usage: %s [--net NAME] [--layer TEXT] [--solo] [--reps N] [--rounds N] [--csv FILE]", argv[0]);
    }
    if (g_reps < 1 || g_rounds < 1 || g_rounds > 64)
        DIE("--reps must be >= 1 and --rounds 1..64");
    mcl_context *ctx = NULL;
    mcl_context_options opt = {0};
    CK(mcl_context_create(&opt, &ctx));
    cl_command_queue q = mcl_context_queue(ctx);
    FILE *csv = csv_path ? fopen(csv_path, "w") : NULL;
    if (csv_path && !csv)
        DIE("cannot write %s", csv_path);
    if (csv)
        fprintf(csv, "net,kind,ic,oc,h,w,k,s,g,count,kernel,ms,gflops,gbs,clblast_ms,clblast_gflops,ratio,floor_ms,tile_w,tile_c\n");

    double copy_gbs = NAN, floor_s = NAN;
    if (!solo)
        ceilings(ctx, q, &copy_gbs, &floor_s);
    printf("%-19s %-7s %-24s %3s %-8s %8s %8s %6s | %8s %8s %6s\n", "net", "op", "shape (CinxHxW->Cout)", "n",
           "kernel", "ms", "GFLOP/s", "GB/s", "clb ms", "clb GF/s", "x clb");
    /* Set every selected layer up (and CLBlast's GEMM for the pointwise
     * ones), then time them interleaved: round r times one batch of each
     * layer in turn, so a burst of load on this shared machine hits one
     * round of every layer rather than all rounds of a few. */
    const size_t n_layers = sizeof k_layers / sizeof k_layers[0];
    row *rows = calloc(n_layers, sizeof *rows);
    if (!rows)
        DIE("out of memory");
    size_t n_rows = 0;
    for (size_t i = 0; i < n_layers; i++) {
        const layer *L = &k_layers[i];
        if (net && strcmp(net, L->net))
            continue;
        char key[64];
        snprintf(key, sizeof key, "%s %dx%dx%d->%d k%ds%d g%d", kind_name[L->k], L->ic, L->h, L->w, L->oc, L->ks, L->s,
                 L->g);
        if (only && !strstr(key, only))
            continue;
        row_setup(ctx, q, L, !solo, &rows[n_rows++]);
    }
    for (int r = 0; r < g_rounds; r++)
        for (size_t i = 0; i < n_rows; i++) {
            rows[i].t[r] = time_batch(q, run_op, rows[i].op, g_reps);
#ifdef MOBICL_WITH_CLBLAST
            if (rows[i].gemm)
                rows[i].ct[r] = time_batch(q, run_gemm, &rows[i].g, g_reps);
#endif
        }

    double min_ratio = 1e30;
    int n_pw = 0, n_fail = 0;
    for (size_t i = 0; i < n_rows; i++) {
        row *R = &rows[i];
        const layer *L = R->L;
        mcl_op *op = R->op;
        const mcl_shape out = R->out;
        double t = median(R->t, g_rounds);
        double gf = mcl_op_flops(op) / t / 1e9, gbs = mcl_op_bytes(op) / t / 1e9;
        char shape[64];
        snprintf(shape, sizeof shape, "%dx%dx%d->%d%s", L->ic, L->h, L->w, out.c,
                 L->k == PW && L->g > 1 ? " g" : "");
        if (L->g > 1 && L->k == PW)
            snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%d", L->g);
        if (L->k == DW)
            snprintf(shape + strlen(shape), sizeof shape - strlen(shape), " k%ds%d", L->ks, L->s);
        printf("%-19s %-7s %-24s %3d %-8s %8.4f %8.1f %6.1f", L->net, kind_name[L->k], shape, L->count,
               mcl_op_kernel_name(op), t * 1e3, gf, gbs);
        double ct = NAN, cgf = NAN, ratio = NAN;
#ifdef MOBICL_WITH_CLBLAST
        if (R->gemm) {
            gemm_arg *g = &R->g;
            const size_t HW = g->n;
            ct = median(R->ct, g_rounds);
            cgf = mcl_op_flops(op) / ct / 1e9;
            ratio = ct / t;
            /* the same answer: relu(W X + b) from mobicl vs W X from CLBlast + b, relu */
            float *yc = malloc(sizeof(float) * L->oc * HW), *ym = malloc(sizeof(float) * L->oc * HW);
            float *b = rnd(L->oc, 2);
            clEnqueueReadBuffer(q, g->y, CL_TRUE, 0, sizeof(float) * L->oc * HW, yc, 0, NULL, NULL);
            CK(mcl_tensor_read(R->to, ym, (size_t)L->oc * HW));
            /* |d| <= 1e-4 (|ref| + max|ref|): fp32 sums of K products round
             * differently in the two GEMMs; relative to the output's scale */
            double maxd = 0, scale = 0;
            for (size_t e = 0; e < (size_t)L->oc * HW; e++)
                scale = fmax(scale, fabs(yc[e] + b[e / HW]));
            for (size_t e = 0; e < (size_t)L->oc * HW; e++) {
                float ref = yc[e] + b[e / HW];
                ref = ref > 0 ? ref : 0;
                double d = fabs(ref - ym[e]) / (fabs(ref) + scale);
                if (!(d <= maxd))
                    maxd = d;
            }
            if (!(maxd <= 1e-4)) {
                printf("  MISMATCH vs CLBlast (max rel %.2e)", maxd);
                n_fail++;
            }
            free(yc);
            free(ym);
            free(b);
            clReleaseMemObject(g->w);
            clReleaseMemObject(g->x);
            clReleaseMemObject(g->y);
            printf(" | %8.4f %8.1f %6.2f", ct * 1e3, cgf, ratio);
            n_pw++;
            if (ratio < min_ratio)
                min_ratio = ratio;
        } else
#endif
            if (L->k != PW && L->k != CONV) {
            printf(" | %5.0f%% of copy", 100.0 * gbs / copy_gbs);
            if ((L->k == SHUF || L->k == SPLIT || L->k == CONCAT) && !solo) {
                double same = same_size_copy_gbs(ctx, q, out);
                printf(", %3.0f%% of a same-size copy (%.1f GB/s)", 100.0 * gbs / same, same);
            }
        }
        printf("\n");
        mcl_family fam;
        mcl_tunables tun = {0};
        if (mcl_op_get_tunables(op, &fam, &tun) != MCL_STATUS_OK)
            memset(&tun, 0, sizeof tun); /* an op without tunables: 0 x 0 */
        if (csv)
            fprintf(csv, "%s,%s,%d,%d,%d,%d,%d,%d,%d,%d,%s,%.5f,%.2f,%.2f,%.5f,%.2f,%.3f,%.5f,%u,%u\n", L->net,
                    kind_name[L->k], L->ic, L->oc, L->h, L->w, L->ks, L->s, L->g, L->count, mcl_op_kernel_name(op),
                    t * 1e3, gf, gbs, ct * 1e3, cgf, ratio, floor_s * 1e3, tun.tile_w, tun.tile_c);
        mcl_op_destroy(op);
        mcl_tensor_destroy(R->ti[0]);
        mcl_tensor_destroy(R->ti[1]);
        mcl_tensor_destroy(R->to);
    }
    free(rows);
    if (n_pw)
        printf("\npointwise layers: %d, slowest mobicl/CLBlast speed-up %.2fx%s\n", n_pw, min_ratio,
               n_fail ? ", SOME OUTPUTS DIFFER" : ", all outputs match CLBlast");
    if (csv)
        fclose(csv);
    mcl_context_destroy(ctx);
    return n_fail ? 1 : 0;
}
