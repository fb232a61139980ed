/* bench_dwpw — is a fused depthwise + pointwise kernel (cl_kernels/dwpw.cl)
 * faster than the library's two ops (dwconv.cl then pwconv.cl) on the real
 * dw -> pw pairs of MobileNet V1 / V2, MnasNet and ShuffleNet V2 (batch 1,
 * 224x224 input, float32)?
 *
 * Per layer pair, three ways to compute the same output:
 *   sep:   the library's two ops through the public API (mcl_conv2d_create
 *          with MCL_CONV_DEPTHWISE and MCL_CONV_POINTWISE, reshape, setup,
 *          mcl_op_run), enqueued back to back, with their default tunables
 *          — what runs today;
 *   sep*:  the same two ops with tunables tuned for the pair (so that a win
 *          of the fused kernel is not just a better pointwise tiling);
 *   fused: dwpw.cl through mcl_kernel_get, its tiling tuned per pair from
 *          a candidate list (below, or --cfg).
 * Every fused candidate's output is compared with the separate ops' output
 * (the whole blocked buffer, padding lanes included: max |diff| / max |y|
 * must be < 1e-4) before it may be timed; a mismatch fails the run.
 *
 * Time: as bench/bench_ops.c — runs back to back, then clFinish, per round;
 * the median over rounds. The runs per round are set per pair so that a
 * round of the separate ops lasts ~--round-ms (or --reps). The things
 * compared are timed in turn inside each round, so that the drifts of this
 * shared machine hit them alike. Per network the times are summed over its
 * pairs, each times its count in the network.
 *
 * usage: bench_dwpw [--net NAME] [--pair I]... [--rounds N] [--tune-rounds N]
 *                   [--reps N | --round-ms MS] [--verbose] [--cfg TW,TC,G,IL,WG]...
 *   --pair: only the pair at index I of the table (repeatable).
 *   --verbose: every fused tiling's tuning times, the tuned tunables, the
 *     per-pair times of the fastest rounds.
 *   --cfg: a fused tiling to try (repeatable; replaces the built-in list):
 *     TW pixels x TC output blocks per register tile, G output-block
 *     groups along dim 1 (0: one group per TC blocks), IL 1: interleaved
 *     order (G must be 0), WG work-group size along dim 0. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { NONE = MCL_ACT_NONE, RELU = MCL_ACT_RELU, RELU6 = MCL_ACT_RELU6 };

typedef struct pair {
    const char *net;
    int c, h, w; /* depthwise input */
    int k, s;    /* depthwise kernel (square, "same" padding k/2) and stride */
    int oc;      /* pointwise output channels */
    int act1, act2, res; /* dw activation, pw activation, pw residual add */
    int count;           /* times the pair occurs in the network */
} pair;

/* clang-format off */
static const pair k_pairs[] = {
    /* MobileNet V1 1.0: the 13 depthwise-separable blocks, ReLU6 after both */
    {"mobilenet_v1",   32, 112, 112, 3, 1,   64, RELU6, RELU6, 0, 1},
    {"mobilenet_v1",   64, 112, 112, 3, 2,  128, RELU6, RELU6, 0, 1},
    {"mobilenet_v1",  128,  56,  56, 3, 1,  128, RELU6, RELU6, 0, 1},
    {"mobilenet_v1",  128,  56,  56, 3, 2,  256, RELU6, RELU6, 0, 1},
    {"mobilenet_v1",  256,  28,  28, 3, 1,  256, RELU6, RELU6, 0, 1},
    {"mobilenet_v1",  256,  28,  28, 3, 2,  512, RELU6, RELU6, 0, 1},
    {"mobilenet_v1",  512,  14,  14, 3, 1,  512, RELU6, RELU6, 0, 5},
    {"mobilenet_v1",  512,  14,  14, 3, 2, 1024, RELU6, RELU6, 0, 1},
    {"mobilenet_v1", 1024,   7,   7, 3, 1, 1024, RELU6, RELU6, 0, 1},
    /* MobileNet V2 1.0: the 17 inverted residual blocks' dw -> linear
     * projection (with the residual add where in == out channels, stride 1) */
    {"mobilenet_v2",   32, 112, 112, 3, 1,   16, RELU6, NONE, 0, 1},
    {"mobilenet_v2",   96, 112, 112, 3, 2,   24, RELU6, NONE, 0, 1},
    {"mobilenet_v2",  144,  56,  56, 3, 1,   24, RELU6, NONE, 1, 1},
    {"mobilenet_v2",  144,  56,  56, 3, 2,   32, RELU6, NONE, 0, 1},
    {"mobilenet_v2",  192,  28,  28, 3, 1,   32, RELU6, NONE, 1, 2},
    {"mobilenet_v2",  192,  28,  28, 3, 2,   64, RELU6, NONE, 0, 1},
    {"mobilenet_v2",  384,  14,  14, 3, 1,   64, RELU6, NONE, 1, 3},
    {"mobilenet_v2",  384,  14,  14, 3, 1,   96, RELU6, NONE, 0, 1},
    {"mobilenet_v2",  576,  14,  14, 3, 1,   96, RELU6, NONE, 1, 2},
    {"mobilenet_v2",  576,  14,  14, 3, 2,  160, RELU6, NONE, 0, 1},
    {"mobilenet_v2",  960,   7,   7, 3, 1,  160, RELU6, NONE, 1, 2},
    {"mobilenet_v2",  960,   7,   7, 3, 1,  320, RELU6, NONE, 0, 1},
    /* MnasNet 1.0 (torchvision mnasnet1_0): the stem's separable dw -> pw,
     * then the 16 inverted residual blocks' dw (3x3 and 5x5) -> projection */
    {"mnasnet1_0",     32, 112, 112, 3, 1,   16, RELU,  NONE, 0, 1},
    {"mnasnet1_0",     48, 112, 112, 3, 2,   24, RELU,  NONE, 0, 1},
    {"mnasnet1_0",     72,  56,  56, 3, 1,   24, RELU,  NONE, 1, 2},
    {"mnasnet1_0",     72,  56,  56, 5, 2,   40, RELU,  NONE, 0, 1},
    {"mnasnet1_0",    120,  28,  28, 5, 1,   40, RELU,  NONE, 1, 2},
    {"mnasnet1_0",    240,  28,  28, 5, 2,   80, RELU,  NONE, 0, 1},
    {"mnasnet1_0",    480,  14,  14, 5, 1,   80, RELU,  NONE, 1, 2},
    {"mnasnet1_0",    480,  14,  14, 3, 1,   96, RELU,  NONE, 0, 1},
    {"mnasnet1_0",    576,  14,  14, 3, 1,   96, RELU,  NONE, 1, 1},
    {"mnasnet1_0",    576,  14,  14, 5, 2,  192, RELU,  NONE, 0, 1},
    {"mnasnet1_0",   1152,   7,   7, 5, 1,  192, RELU,  NONE, 1, 3},
    {"mnasnet1_0",   1152,   7,   7, 3, 1,  320, RELU,  NONE, 0, 1},
    /* ShuffleNet V2 1.0x: the stride-1 units' branch pw -> dw -> pw, its
     * dw -> pw pair (no activation after the dw, ReLU after the pw) */
    {"shufflenet_v2",  58,  28,  28, 3, 1,   58, NONE,  RELU,  0, 3},
    {"shufflenet_v2", 116,  14,  14, 3, 1,  116, NONE,  RELU,  0, 7},
    {"shufflenet_v2", 232,   7,   7, 3, 1,  232, NONE,  RELU,  0, 3},
};
/* clang-format on */
#define NPAIRS (sizeof k_pairs / sizeof k_pairs[0])
#define NETS 4
static const char *k_nets[NETS] = {"mobilenet_v1", "mobilenet_v2", "mnasnet1_0", "shufflenet_v2"};

/* A fused tiling: TW pixels x TC output blocks per register tile, G
 * output-block groups along dim 1 (0: one group per TC blocks, i.e. the
 * depthwise recomputed for every register tile), IL interleaved order,
 * WG work-group size along dim 0. */
typedef struct cfg {
    int tw, tc, g, il, wg;
} cfg;

/* Built-in fused candidates, narrowed down from wider sweeps (TW 4/7/8/14,
 * TC 1..6, G 0/1/2/4/8, IL 0/1, WG 1/2/4/8) on representative pairs.
 * 7x2 with G 1 (each work-item's depthwise computed once, for all output
 * blocks) won most pairs; 7-pixel tiles fit every plane here (7 .. 112);
 * 7x7 planes want G 2..4 to give both cores work; 8x1 is for 16-channel
 * outputs (one block). G 0 (the depthwise recomputed per register tile)
 * never won where it does recompute (OB > TC), nor did IL 1; one of each
 * stays as a reference. */
static const cfg k_cfgs[] = {
    {7, 2, 1, 0, 2}, {7, 2, 2, 0, 2}, {7, 2, 4, 0, 2}, {7, 3, 2, 0, 2}, {8, 2, 1, 0, 8}, {14, 2, 1, 0, 2},
    {4, 4, 1, 0, 8}, {8, 1, 1, 0, 8}, {8, 2, 0, 0, 8}, {4, 4, 0, 1, 8},
};
#define MAX_CFGS 64

/* The separate ops' tunables tried for the tuned baseline (wg: default). */
static const uint32_t k_dw_tw[] = {2, 4, 8};
static const uint32_t k_pw_tile[][2] = {{4, 4}, {8, 2}, {4, 2}, {8, 1}, {16, 1}, {2, 4}};
#define NDW (sizeof k_dw_tw / sizeof k_dw_tw[0])
#define NPW (sizeof k_pw_tile / sizeof k_pw_tile[0])

static int g_reps = 0, g_rounds = 21, g_tune_rounds = 7, g_verbose = 0;
static double g_round_ms = 10.0;

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

/* Sorts t. */
static double median(double *t, int n)
{
    qsort(t, n, sizeof t[0], cmp_d);
    return t[n / 2];
}

static double minimum(const double *t, int n)
{
    double m = t[0];
    for (int i = 1; i < n; i++)
        m = fmin(m, t[i]);
    return m;
}

#define DIE(...)                      \
    do {                              \
        fprintf(stderr, __VA_ARGS__); \
        fprintf(stderr, "\n");        \
        exit(1);                      \
    } while (0)
#define CK(x)                                                       \
    do {                                                            \
        if ((x) != MCL_STATUS_OK)                                   \
            DIE("%s:%d: %s", __FILE__, __LINE__, mcl_last_error()); \
    } while (0)
#define CKCL(x)                                                    \
    do {                                                           \
        cl_int e_ = (x);                                           \
        if (e_ != CL_SUCCESS)                                      \
            DIE("%s:%d: OpenCL error %d", __FILE__, __LINE__, e_); \
    } while (0)

static float frand(unsigned *s)
{
    *s = *s * 1664525u + 1013904223u;
    return ((*s >> 8) & 0xffff) / 65536.0f - 0.5f;
}

static float *rnd(size_t n, unsigned seed, float scale)
{
    float *p = malloc(n * sizeof *p);
    if (!p)
        DIE("out of memory");
    for (size_t i = 0; i < n; i++)
        p[i] = scale * frand(&seed);
    return p;
}

static void *zalloc(size_t n)
{
    void *p = calloc(n, sizeof(float));
    if (!p)
        DIE("out of memory");
    return p;
}

static cl_mem upload(cl_context c, const float *p, size_t n)
{
    cl_int err;
    cl_mem m = clCreateBuffer(c, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, n * sizeof *p, (void *)p, &err);
    CKCL(err);
    return m;
}

/* ---- one layer pair ---- */

typedef struct layer {
    const pair *P;
    int oh, ow, icb, ob;
    float *wd, *bd, *wp, *bp;       /* OIHW weights, biases */
    mcl_tensor *x, *mid, *r, *y;    /* input, dw output, residual, pw output */
    cl_mem wdw, bdw, wpw, bpw, yf;  /* fused: packed weights, output */
    size_t out_floats;              /* blocked output buffer */
} layer;

/* The library's op for the pair's dw (pw = 0) or pw (pw = 1), with the
 * given tunables (NULL: the defaults), set up on the layer's tensors. */
static mcl_op *op_make(mcl_context *ctx, layer *L, int pw, const mcl_tunables *t)
{
    const pair *P = L->P;
    const uint32_t p = P->k / 2;
    mcl_op *op = NULL;
    if (!pw) {
        mcl_conv2d_desc d = {.in_channels = P->c, .out_channels = P->c, .groups = P->c, .kernel_h = P->k,
                             .kernel_w = P->k, .stride_h = P->s, .stride_w = P->s, .pad_top = p, .pad_left = p,
                             .pad_bottom = p, .pad_right = p, .activation = P->act1, .variant = MCL_CONV_DEPTHWISE};
        CK(mcl_conv2d_create(ctx, &d, L->wd, L->bd, &op));
    } else {
        mcl_conv2d_desc d = {.in_channels = P->c, .out_channels = P->oc, .groups = 1, .kernel_h = 1, .kernel_w = 1,
                             .stride_h = 1, .stride_w = 1, .activation = P->act2, .residual = P->res,
                             .variant = MCL_CONV_POINTWISE};
        CK(mcl_conv2d_create(ctx, &d, L->wp, L->bp, &op));
    }
    if (t)
        CK(mcl_op_set_tunables(op, t));
    mcl_shape in = pw ? mcl_tensor_shape(L->mid) : mcl_tensor_shape(L->x), out;
    CK(mcl_op_reshape(op, 1, &in, &out));
    mcl_tensor *ins[2] = {pw ? L->mid : L->x, L->r};
    CK(mcl_op_setup(op, pw && P->res ? 2 : 1, ins, pw ? L->y : L->mid));
    return op;
}

static void layer_create(mcl_context *ctx, const pair *P, layer *L)
{
    const uint32_t B = mcl_context_block(ctx);
    cl_context cc = mcl_context_cl(ctx);
    memset(L, 0, sizeof *L);
    L->P = P;
    const int p = P->k / 2;
    L->oh = (P->h + 2 * p - P->k) / P->s + 1;
    L->ow = (P->w + 2 * p - P->k) / P->s + 1;
    L->icb = (int)mcl_cblocks(P->c, B);
    L->ob = (int)mcl_cblocks(P->oc, B);

    /* dw weights ~ U(-0.5, 0.5); pw weights scaled by 1/sqrt(C): outputs O(1) */
    const size_t kk = (size_t)P->k * P->k;
    L->wd = rnd((size_t)P->c * kk, 1, 1.0f);
    L->bd = rnd(P->c, 2, 1.0f);
    L->wp = rnd((size_t)P->oc * P->c, 3, 2.0f / sqrtf((float)P->c));
    L->bp = rnd(P->oc, 4, 1.0f);

    mcl_shape xs = {1, P->c, P->h, P->w}, ms = {1, P->c, L->oh, L->ow}, ys = {1, P->oc, L->oh, L->ow};
    CK(mcl_tensor_create(ctx, &xs, MCL_LAYOUT_BLOCKED, &L->x));
    CK(mcl_tensor_create(ctx, &ms, MCL_LAYOUT_BLOCKED, &L->mid));
    CK(mcl_tensor_create(ctx, &ys, MCL_LAYOUT_BLOCKED, &L->y));
    float *x = rnd(mcl_shape_count(&xs), 10, 2.0f);
    CK(mcl_tensor_write(L->x, x, mcl_shape_count(&xs)));
    free(x);
    if (P->res) {
        CK(mcl_tensor_create(ctx, &ys, MCL_LAYOUT_BLOCKED, &L->r));
        float *r = rnd(mcl_shape_count(&ys), 11, 2.0f);
        CK(mcl_tensor_write(L->r, r, mcl_shape_count(&ys)));
        free(r);
    }

    /* fused weights: dw [ICB][K][K][CB], pw [OB][ICB*CB][CB], biases padded
     * to whole blocks with zeros */
    float *pwd = zalloc((size_t)L->icb * kk * B), *pbd = zalloc((size_t)L->icb * B);
    float *pwp = zalloc((size_t)L->ob * L->icb * B * B), *pbp = zalloc((size_t)L->ob * B);
    for (int ch = 0; ch < P->c; ch++) {
        for (size_t q = 0; q < kk; q++)
            pwd[((size_t)(ch / B) * kk + q) * B + ch % B] = L->wd[(size_t)ch * kk + q];
        pbd[ch] = L->bd[ch];
    }
    for (int oc = 0; oc < P->oc; oc++) {
        for (int ic = 0; ic < P->c; ic++)
            pwp[((size_t)(oc / B) * L->icb * B + ic) * B + oc % B] = L->wp[(size_t)oc * P->c + ic];
        pbp[oc] = L->bp[oc];
    }
    L->wdw = upload(cc, pwd, (size_t)L->icb * kk * B);
    L->bdw = upload(cc, pbd, (size_t)L->icb * B);
    L->wpw = upload(cc, pwp, (size_t)L->ob * L->icb * B * B);
    L->bpw = upload(cc, pbp, (size_t)L->ob * B);
    free(pwd);
    free(pbd);
    free(pwp);
    free(pbp);
    L->out_floats = mcl_tensor_bytes(L->y) / sizeof(float);
    cl_int err;
    L->yf = clCreateBuffer(cc, CL_MEM_READ_WRITE, mcl_tensor_bytes(L->y), NULL, &err);
    CKCL(err);
}

static void layer_destroy(layer *L)
{
    mcl_tensor_destroy(L->x);
    mcl_tensor_destroy(L->mid);
    mcl_tensor_destroy(L->r);
    mcl_tensor_destroy(L->y);
    clReleaseMemObject(L->wdw);
    clReleaseMemObject(L->bdw);
    clReleaseMemObject(L->wpw);
    clReleaseMemObject(L->bpw);
    clReleaseMemObject(L->yf);
    free(L->wd);
    free(L->bd);
    free(L->wp);
    free(L->bp);
}

/* ---- the fused kernel ---- */

typedef struct fused {
    cl_kernel k;
    size_t gws[3], lws[3];
} fused;

static int cfg_opb(const cfg *c, int ob)
{
    if (c->il || c->g == 0)
        return c->tc;
    int per = (ob + c->g - 1) / c->g;
    return (per + c->tc - 1) / c->tc * c->tc;
}

static void cfg_name(const cfg *c, int ob, char *s, size_t n)
{
    snprintf(s, n, "%dx%d/%d%s w%d", c->tw, c->tc, cfg_opb(c, ob), c->il ? " il" : "", c->wg);
}

/* Build the fused kernel of a tiling for a layer and set its arguments. */
static void fused_make(mcl_context *ctx, layer *L, const cfg *c, fused *f)
{
    const pair *P = L->P;
    const int opb = cfg_opb(c, L->ob);
    mcl_defs defs = {0};
    mcl_defs_add(&defs, "CB", mcl_context_block(ctx));
    mcl_defs_add(&defs, "TILE_W", c->tw);
    mcl_defs_add(&defs, "TILE_C", c->tc);
    mcl_defs_add(&defs, "INTERLEAVE", c->il);
    mcl_defs_add(&defs, "KH", P->k);
    mcl_defs_add(&defs, "KW", P->k);
    mcl_defs_add(&defs, "SH", P->s);
    mcl_defs_add(&defs, "SW", P->s);
    mcl_defs_add(&defs, "ICB_MAX", L->icb);
    mcl_defs_add(&defs, "ACT1", P->act1);
    mcl_defs_add(&defs, "ACT2", P->act2);
    mcl_defs_add(&defs, "HAS_RES", P->res);
    mcl_defs_add(&defs, "SCATTER", 0);
    mcl_defs_add(&defs, "PASS", 0);
    CK(mcl_kernel_get(ctx, "dwpw", &defs, "dwpw", &f->k));
    cl_mem in = mcl_tensor_buffer(L->x), res = P->res ? mcl_tensor_buffer(L->r) : NULL;
    /* H W OH OW PT PL OB ONB OOFF, then (oslot pin psrc pdst: none) PNB NPASS ICB OPB */
    const int a[9] = {P->h, P->w, L->oh, L->ow, P->k / 2, P->k / 2, L->ob, L->ob, 0};
    const int b[4] = {0, 0, L->icb, opb};
    cl_mem none = NULL;
    CKCL(clSetKernelArg(f->k, 0, sizeof in, &in));
    CKCL(clSetKernelArg(f->k, 1, sizeof L->wdw, &L->wdw));
    CKCL(clSetKernelArg(f->k, 2, sizeof L->bdw, &L->bdw));
    CKCL(clSetKernelArg(f->k, 3, sizeof L->wpw, &L->wpw));
    CKCL(clSetKernelArg(f->k, 4, sizeof L->bpw, &L->bpw));
    CKCL(clSetKernelArg(f->k, 5, sizeof res, &res));
    CKCL(clSetKernelArg(f->k, 6, sizeof L->yf, &L->yf));
    for (int i = 0; i < 9; i++)
        CKCL(clSetKernelArg(f->k, 7 + i, sizeof(int), &a[i]));
    for (int i = 0; i < 4; i++)
        CKCL(clSetKernelArg(f->k, 16 + i, sizeof none, &none));
    for (int i = 0; i < 4; i++)
        CKCL(clSetKernelArg(f->k, 20 + i, sizeof(int), &b[i]));
    const size_t items = (size_t)L->oh * ((L->ow + c->tw - 1) / c->tw);
    f->lws[0] = (size_t)c->wg;
    f->lws[1] = f->lws[2] = 1;
    f->gws[0] = (items + c->wg - 1) / c->wg * c->wg;
    f->gws[1] = (size_t)((L->ob + opb - 1) / opb);
    f->gws[2] = 1;
}

/* max |yf - y| / max |y| over the whole blocked output buffers (padding
 * lanes included); NaN if any is NaN. */
static double fused_error(cl_command_queue q, layer *L, float *a, float *b)
{
    size_t bytes = L->out_floats * sizeof(float);
    CKCL(clEnqueueReadBuffer(q, L->yf, CL_TRUE, 0, bytes, a, 0, NULL, NULL));
    CKCL(clEnqueueReadBuffer(q, mcl_tensor_buffer(L->y), CL_TRUE, 0, bytes, b, 0, NULL, NULL));
    double d = 0, s = 0;
    for (size_t i = 0; i < L->out_floats; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (!(e <= d))
            d = e; /* NaN sticks */
        s = fmax(s, fabs(b[i]));
    }
    return d / (s > 0 ? s : 1);
}

/* ---- timing ---- */

/* Something to time: one or two library ops back to back, or a fused kernel. */
typedef struct runner {
    mcl_op *op[2];
    const fused *f;
} runner;

static void run_once(cl_command_queue q, const runner *r)
{
    if (r->f) {
        CKCL(clEnqueueNDRangeKernel(q, r->f->k, 3, NULL, r->f->gws, r->f->lws, 0, NULL, NULL));
        return;
    }
    for (int i = 0; i < 2; i++)
        if (r->op[i])
            CK(mcl_op_run(r->op[i], NULL));
}

/* Seconds per run of one round: reps runs back to back, then clFinish. */
static double time_round(cl_command_queue q, const runner *r, int reps)
{
    double t0 = now_s();
    for (int i = 0; i < reps; i++)
        run_once(q, r);
    clFinish(q);
    return (now_s() - t0) / reps;
}

/* Times the runners in turn within each round; t[i][round]. */
static void time_interleaved(cl_command_queue q, const runner *r, int n, int rounds, int reps, double (*t)[64])
{
    for (int i = 0; i < n; i++) /* warm-up */
        run_once(q, &r[i]);
    clFinish(q);
    for (int k = 0; k < rounds; k++)
        for (int i = 0; i < n; i++)
            t[i][k] = time_round(q, &r[i], reps);
}

/* Index of the runner with the lowest round: under load from other
 * processes the fastest round is the least disturbed one. */
static int pick_fastest(double (*t)[64], int n, int rounds)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (minimum(t[i], rounds) < minimum(t[best], rounds))
            best = i;
    return best;
}

/* ---- main ---- */

int main(int argc, char **argv)
{
    const char *net = NULL;
    cfg cfgs[MAX_CFGS];
    int ncfg = 0, any_only = 0;
    char only[NPAIRS] = {0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--net") && i + 1 < argc)
            net = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            g_reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--round-ms") && i + 1 < argc)
            g_round_ms = atof(argv[++i]);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            g_rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--tune-rounds") && i + 1 < argc)
            g_tune_rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--pair") && i + 1 < argc) {
            int k = atoi(argv[++i]);
            if (k < 0 || k >= (int)NPAIRS)
                DIE("--pair: 0..%d", (int)NPAIRS - 1);
            only[k] = 1;
            any_only = 1;
        } else if (!strcmp(argv[i], "--verbose"))
            g_verbose = 1;
        else if (!strcmp(argv[i], "--cfg") && i + 1 < argc && ncfg < MAX_CFGS) {
            cfg *c = &cfgs[ncfg++];
            if (sscanf(argv[++i], "%d,%d,%d,%d,%d", &c->tw, &c->tc, &c->g, &c->il, &c->wg) != 5 || c->tw < 1 ||
                c->tc < 1 || c->g < 0 || c->wg < 1 || (c->il && c->g))
                DIE("--cfg TW,TC,G,IL,WG: bad value %s", argv[i]);
        } else
            DIE("usage: %s [--net NAME] [--pair I]... [--rounds N] [--tune-rounds N] [--reps N | --round-ms MS] "
                "[--verbose] [--cfg TW,TC,G,IL,WG]...",
                argv[0]);
    }
    if (g_reps < 0 || g_round_ms <= 0 || g_rounds < 1 || g_rounds > 64 || g_tune_rounds < 1 || g_tune_rounds > 64)
        DIE("--reps >= 1, --round-ms > 0, --rounds and --tune-rounds 1..64");
    if (!ncfg) {
        ncfg = (int)(sizeof k_cfgs / sizeof k_cfgs[0]);
        memcpy(cfgs, k_cfgs, sizeof k_cfgs);
    }

    mcl_context *ctx = NULL;
    mcl_context_options opt = {0};
    CK(mcl_context_create(&opt, &ctx));
    cl_command_queue q = mcl_context_queue(ctx);
    printf("device: %s (block %u)\n", mcl_context_device_info(ctx)->name, mcl_context_block(ctx));
    printf("times: ms per run, median of %d rounds (a round: ", g_rounds);
    if (g_reps)
        printf("%d runs", g_reps);
    else
        printf("runs for ~%.1f ms", g_round_ms);
    printf(" back to back); tunings picked by their fastest of %d rounds\n", g_tune_rounds);
    printf("dw, pw, sep: the library's ops with their default tunables (alone, alone, back to back)\n");
    printf("sep*: the two ops with tunables tuned for the pair (dw tile_w, pw tile_w x tile_c)\n");
    printf("fused tiling: TWxTC/OPB [il] wWG = pixels x output blocks per register tile / output blocks\n"
           "  per work-item (the dw is computed OB/OPB times), interleaved order, work-group size\n");
    printf("x sep, x sep*: separate / fused (> 1: fusion faster)\n\n");
    printf("%-13s %-26s %2s | %7s %7s %7s %7s | %7s %-14s | %6s %6s\n", "net", "pair (C HxW kKsS -> OC)", "n",
           "dw", "pw", "sep", "sep*", "fused", "tiling", "x sep", "x sep*");

    double sum[NETS][3] = {{0}}, sum_min[NETS][3] = {{0}};
    int fails = 0;
    for (size_t pi = 0; pi < NPAIRS; pi++) {
        const pair *P = &k_pairs[pi];
        if ((net && strcmp(net, P->net)) || (any_only && !only[pi]))
            continue;
        layer L;
        layer_create(ctx, P, &L);
        float *ha = zalloc(L.out_floats), *hb = zalloc(L.out_floats);

        /* the separate ops: defaults, and candidates for the tuned pair */
        mcl_op *dw = op_make(ctx, &L, 0, NULL), *pw = op_make(ctx, &L, 1, NULL);
        mcl_op *dwc[NDW], *pwc[NPW];
        runner rd[NDW], rp[NPW];
        for (size_t i = 0; i < NDW; i++) {
            mcl_tunables t = {k_dw_tw[i], 1, 0, 0};
            dwc[i] = op_make(ctx, &L, 0, &t);
            rd[i] = (runner){{dwc[i], NULL}, NULL};
        }
        for (size_t i = 0; i < NPW; i++) {
            mcl_tunables t = {k_pw_tile[i][0], k_pw_tile[i][1], 0, 0};
            pwc[i] = op_make(ctx, &L, 1, &t);
            rp[i] = (runner){{pwc[i], NULL}, NULL};
        }
        runner sep = {{dw, pw}, NULL};
        run_once(q, &sep);
        clFinish(q);
        const double t_est = time_round(q, &sep, 3);
        int reps = g_reps ? g_reps : (int)fmin(fmax(g_round_ms * 1e-3 / t_est, 2), 500);

        /* the reference output: the default ops (the mid and y tensors are
         * shared by all candidates; run the defaults last before reading) */
        run_once(q, &sep);
        clFinish(q);
        CKCL(clEnqueueReadBuffer(q, mcl_tensor_buffer(L.y), CL_TRUE, 0, L.out_floats * sizeof(float), hb, 0, NULL,
                                 NULL));

        /* fused candidates: build, check against the reference */
        fused f[MAX_CFGS];
        runner rf[MAX_CFGS];
        int nok = 0, idx[MAX_CFGS];
        double worst_err = 0;
        for (int c = 0; c < ncfg; c++) {
            fused_make(ctx, &L, &cfgs[c], &f[c]);
            const float nan = NAN;
            CKCL(clEnqueueFillBuffer(q, L.yf, &nan, sizeof nan, 0, L.out_floats * sizeof(float), 0, NULL, NULL));
            rf[c] = (runner){{NULL, NULL}, &f[c]};
            run_once(q, &rf[c]);
            double e = fused_error(q, &L, ha, hb);
            if (!(e < 1e-4)) {
                char nm[64];
                cfg_name(&cfgs[c], L.ob, nm, sizeof nm);
                printf("  MISMATCH: pair %zu tiling %s: max |diff| / max |y| = %.3g\n", pi, nm, e);
                fails++;
                continue;
            }
            worst_err = fmax(worst_err, e);
            rf[nok] = rf[c];
            idx[nok++] = c;
        }
        if (!nok)
            DIE("pair %zu: no fused tiling matches the separate ops", pi);

        /* tuning: each set of candidates interleaved within rounds */
        static double tt[MAX_CFGS][64];
        time_interleaved(q, rd, NDW, g_tune_rounds, reps, tt);
        const int bd = pick_fastest(tt, NDW, g_tune_rounds);
        time_interleaved(q, rp, NPW, g_tune_rounds, reps, tt);
        const int bp = pick_fastest(tt, NPW, g_tune_rounds);
        time_interleaved(q, rf, nok, g_tune_rounds, reps, tt);
        const int bf = pick_fastest(tt, nok, g_tune_rounds);
        if (g_verbose)
            for (int c = 0; c < nok; c++) {
                char nm[64];
                cfg_name(&cfgs[idx[c]], L.ob, nm, sizeof nm);
                printf("    %-16s fastest %8.4f ms, median %8.4f ms\n", nm, minimum(tt[c], g_tune_rounds) * 1e3,
                       median(tt[c], g_tune_rounds) * 1e3);
            }

        /* final: default pair, tuned pair, fused, dw alone, pw alone */
        enum { SEP, SEPT, FUS, DW, PW, NR };
        runner r[NR] = {sep, {{dwc[bd], pwc[bp]}, NULL}, rf[bf], {{dw, NULL}, NULL}, {{pw, NULL}, NULL}};
        static double t[NR][64];
        time_interleaved(q, r, NR, g_rounds, reps, t);
        double mn[NR], md[NR];
        for (int i = 0; i < NR; i++) {
            mn[i] = minimum(t[i], g_rounds);
            md[i] = median(t[i], g_rounds);
        }

        char shape[64], nm[64];
        snprintf(shape, sizeof shape, "%d %dx%d k%ds%d -> %d%s", P->c, P->h, P->w, P->k, P->s, P->oc,
                 P->res ? " +r" : "");
        cfg_name(&cfgs[idx[bf]], L.ob, nm, sizeof nm);
        printf("%-13s %-26s %2d | %7.4f %7.4f %7.4f %7.4f | %7.4f %-14s | %6.2f %6.2f", P->net, shape, P->count,
               md[DW] * 1e3, md[PW] * 1e3, md[SEP] * 1e3, md[SEPT] * 1e3, md[FUS] * 1e3, nm, md[SEP] / md[FUS],
               md[SEPT] / md[FUS]);
        if (g_verbose)
            printf("  [dw %u, pw %ux%u; err %.1e; fastest rounds: sep %.4f sep* %.4f fused %.4f, x %.2f %.2f]",
                   k_dw_tw[bd], k_pw_tile[bp][0], k_pw_tile[bp][1], worst_err, mn[SEP] * 1e3, mn[SEPT] * 1e3,
                   mn[FUS] * 1e3, mn[SEP] / mn[FUS], mn[SEPT] / mn[FUS]);
        printf("\n");
        fflush(stdout);
        for (int n = 0; n < NETS; n++)
            if (!strcmp(k_nets[n], P->net))
                for (int i = 0; i < 3; i++) {
                    sum[n][i] += P->count * md[i];
                    sum_min[n][i] += P->count * mn[i];
                }

        for (int c = 0; c < ncfg; c++)
            clReleaseKernel(f[c].k);
        for (size_t i = 0; i < NDW; i++)
            mcl_op_destroy(dwc[i]);
        for (size_t i = 0; i < NPW; i++)
            mcl_op_destroy(pwc[i]);
        mcl_op_destroy(dw);
        mcl_op_destroy(pw);
        free(ha);
        free(hb);
        layer_destroy(&L);
    }

    printf("\nper network, sum over its pairs x n (ms): medians, and in [] the sums of the fastest rounds\n");
    printf("%-13s | %8s %8s %8s | %6s %6s | %s\n", "net", "sep", "sep*", "fused", "x sep", "x sep*",
           "[sep sep* fused]");
    for (int n = 0; n < NETS; n++)
        if (sum[n][0] > 0)
            printf("%-13s | %8.3f %8.3f %8.3f | %6.2f %6.2f | [%.3f %.3f %.3f]\n", k_nets[n], sum[n][0] * 1e3,
                   sum[n][1] * 1e3, sum[n][2] * 1e3, sum[n][0] / sum[n][2], sum[n][1] / sum[n][2],
                   sum_min[n][0] * 1e3, sum_min[n][1] * 1e3, sum_min[n][2] * 1e3);
    if (fails)
        printf("\n%d fused tiling(s) did not match the separate ops\n", fails);
    mcl_context_destroy(ctx);
    return fails ? 1 : 0;
}
