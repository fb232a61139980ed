/* Every kernel family once on tiny shapes, for tools/oclgrind.sh: run under
 * `oclgrind --check-api --data-races --uninitialized` the simulator reports
 * out-of-bounds accesses, races and reads of uninitialised memory; the
 * shapes hit the tail paths (odd widths, channels not a multiple of the
 * block, stride 2, asymmetric padding). Each result is also compared with
 * the naive references of tests/ref. Not a ctest test (too slow outside the
 * simulator's purpose); exits 1 on any mismatch or error.
 * Also a ctest test (kernels_small_poison_b4/_b16) with MOBICL_POISON=1.
 * Usage: kernels_small [block [filter]]   (channel block 4, 8 or 16, default 4;
 * filter: run only the cases whose name contains it) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultinj.h"
#include "internal.h"
#include "mobicl.h"
#include "ref.h"

static mcl_context *g_ctx;
static int g_fail, g_cases;
static const char *g_filter; /* argv[2]: run only the cases whose name contains it */

static float *rnd(size_t n, uint64_t seed)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    if (!x) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    ref_fill_uniform(x, n, seed, -1.0f, 1.0f);
    return x;
}

static int ok(mcl_status st, const char *what)
{
    if (st == MCL_STATUS_OK)
        return 1;
    fprintf(stderr, "FAIL %s: status %d: %s\n", what, (int)st, mcl_last_error());
    g_fail++;
    return 0;
}

static int skip(const char *name) { return g_filter && !strstr(name, g_filter); }

static mcl_tensor *tensor(const mcl_shape *s, mcl_layout l, const float *data)
{
    mcl_tensor *t = NULL;
    if (!ok(mcl_tensor_create(g_ctx, s, l, &t), "tensor_create"))
        return NULL;
    if (data && !ok(mcl_tensor_write(t, data, mcl_shape_count(s)), "tensor_write")) {
        mcl_tensor_destroy(t);
        return NULL;
    }
    return t;
}

/* compare n outputs with the reference; prints ok or FAIL and counts it */
static void check_result(const char *name, const float *got, const float *want, size_t n)
{
    ref_mismatch m;
    if (!ref_compare(got, want, n, 1e-4, 1e-3, &m)) {
        fprintf(stderr, "FAIL %s: %zu of %zu differ, first [%zu] got %g want %g\n", name, m.bad, n, m.first, m.got,
                m.want);
        g_fail++;
    } else {
        printf("ok   %s\n", name);
    }
}

/* reshape (data inputs: the first n_data of in), set up, run, read back and
 * compare op's output with want */
static void run_check(const char *name, mcl_op *op, size_t n_data, size_t n_in, mcl_tensor *const *in,
                      const mcl_shape *out_shape, const float *want)
{
    g_cases++;
    size_t n = mcl_shape_count(out_shape);
    mcl_tensor *out = tensor(out_shape, MCL_LAYOUT_BLOCKED, NULL);
    float *got = malloc(n * sizeof *got);
    mcl_shape ins[2], os;
    for (size_t k = 0; k < n_data; k++)
        ins[k] = mcl_tensor_shape(in[k]);
    if (out && got && ok(mcl_op_reshape(op, n_data, ins, &os), name) && ok(mcl_op_setup(op, n_in, in, out), name) &&
        ok(mcl_op_run(op, NULL), name) &&
        ok(mcl_tensor_read(out, got, n), name)) {
        check_result(name, got, want, n);
    }
    free(got);
    mcl_tensor_destroy(out);
}

static void conv(const char *name, mcl_conv2d_desc d, mcl_shape s, int nchw_in)
{
    if (skip(name))
        return;
    mcl_shape os;
    if (!ok(mcl_conv2d_validate(&d, &s, &os), name))
        return;
    ref_conv2d_params p = {s.n, s.c, s.h, s.w, d.out_channels, d.groups, d.kernel_h, d.kernel_w, d.stride_h,
                           d.stride_w, d.pad_top, d.pad_left, d.pad_bottom, d.pad_right, d.dilation_h, d.dilation_w,
                           (int)d.activation};
    size_t nw = (size_t)d.out_channels * (d.in_channels / d.groups) * d.kernel_h * d.kernel_w;
    float *x = rnd(mcl_shape_count(&s), 1), *w = rnd(nw, 2), *b = rnd(d.out_channels, 3);
    float *r = d.residual ? rnd(mcl_shape_count(&os), 4) : NULL, *want = malloc(mcl_shape_count(&os) * sizeof *want);
    ref_conv2d(&p, x, w, b, r, want);
    mcl_op *op = NULL;
    mcl_tensor *in[2] = {tensor(&s, nchw_in ? MCL_LAYOUT_NCHW : MCL_LAYOUT_BLOCKED, x),
                         r ? tensor(&os, MCL_LAYOUT_BLOCKED, r) : NULL};
    if (in[0] && ok(mcl_conv2d_create(g_ctx, &d, w, b, &op), name) &&
        (!nchw_in || ok(mcl_conv2d_set_nchw_input(op), name)))
        run_check(name, op, 1, r ? 2 : 1, in, &os, want);
    mcl_op_destroy(op);
    mcl_tensor_destroy(in[0]);
    mcl_tensor_destroy(in[1]);
    free(x), free(w), free(b), free(r), free(want);
}

static void pool(const char *name, mcl_pool2d_desc d, mcl_shape s)
{
    if (skip(name))
        return;
    mcl_shape os;
    if (!ok(mcl_pool2d_validate(&d, &s, &os), name))
        return;
    ref_pool2d_params p = {(int)d.type, s.n, s.c, s.h, s.w, d.kernel_h, d.kernel_w, d.stride_h, d.stride_w,
                           d.pad_top, d.pad_left, d.pad_bottom, d.pad_right, d.count_include_pad};
    float *x = rnd(mcl_shape_count(&s), 5), *want = malloc(mcl_shape_count(&os) * sizeof *want);
    ref_pool2d(&p, x, want);
    mcl_op *op = NULL;
    mcl_tensor *in = tensor(&s, MCL_LAYOUT_BLOCKED, x);
    if (in && ok(mcl_pool2d_create(g_ctx, &d, &op), name))
        run_check(name, op, 1, 1, &in, &os, want);
    mcl_op_destroy(op);
    mcl_tensor_destroy(in);
    free(x), free(want);
}

static void fc(const char *name, mcl_shape s, uint32_t out_f, mcl_activation act)
{
    if (skip(name))
        return;
    mcl_fc_desc d = {s.c * s.h * s.w, out_f, act};
    mcl_shape os = {s.n, out_f, 1, 1};
    float *x = rnd(mcl_shape_count(&s), 6), *w = rnd((size_t)d.in_features * out_f, 7), *b = rnd(out_f, 8);
    float *want = malloc(mcl_shape_count(&os) * sizeof *want);
    ref_fc(s.n, d.in_features, out_f, (int)act, x, w, b, want);
    mcl_op *op = NULL;
    mcl_tensor *in = tensor(&s, MCL_LAYOUT_BLOCKED, x);
    if (in && ok(mcl_fc_create(g_ctx, &d, w, b, &op), name))
        run_check(name, op, 1, 1, &in, &os, want);
    mcl_op_destroy(op);
    mcl_tensor_destroy(in);
    free(x), free(w), free(b), free(want);
}

static void softmax(const char *name, mcl_shape s)
{
    if (skip(name))
        return;
    float *x = rnd(mcl_shape_count(&s), 9), *want = malloc(mcl_shape_count(&s) * sizeof *want);
    ref_softmax(s.n, s.c, s.h, s.w, x, want);
    mcl_op *op = NULL;
    mcl_tensor *in = tensor(&s, MCL_LAYOUT_BLOCKED, x);
    if (in && ok(mcl_softmax_create(g_ctx, &op), name))
        run_check(name, op, 1, 1, &in, &s, want);
    mcl_op_destroy(op);
    mcl_tensor_destroy(in);
    free(x), free(want);
}

static void add(const char *name, mcl_shape s, mcl_activation act)
{
    if (skip(name))
        return;
    size_t n = mcl_shape_count(&s);
    float *a = rnd(n, 10), *b = rnd(n, 11), *want = malloc(n * sizeof *want);
    ref_add(n, a, b, (int)act, want);
    mcl_add_desc d = {act};
    mcl_op *op = NULL;
    mcl_tensor *in[2] = {tensor(&s, MCL_LAYOUT_BLOCKED, a), tensor(&s, MCL_LAYOUT_BLOCKED, b)};
    if (in[0] && in[1] && ok(mcl_add_create(g_ctx, &d, &op), name))
        run_check(name, op, 2, 2, in, &s, want);
    mcl_op_destroy(op);
    mcl_tensor_destroy(in[0]);
    mcl_tensor_destroy(in[1]);
    free(a), free(b), free(want);
}

static void channel(const char *name, mcl_shape s0, uint32_t c1, mcl_channel_desc d)
{
    if (skip(name))
        return;
    mcl_shape s1 = {s0.n, c1, s0.h, s0.w};
    float *a = rnd(mcl_shape_count(&s0), 12), *b = c1 ? rnd(mcl_shape_count(&s1), 13) : NULL;
    uint32_t oc = d.channels ? d.channels : s0.c + c1 - d.offset;
    mcl_shape os = {s0.n, oc, s0.h, s0.w};
    float *want = malloc(mcl_shape_count(&os) * sizeof *want);
    ref_channel(s0.n, s0.h, s0.w, s0.c, a, c1, b, d.offset, d.channels, d.groups, want);
    mcl_op *op = NULL;
    mcl_tensor *in[2] = {tensor(&s0, MCL_LAYOUT_BLOCKED, a), c1 ? tensor(&s1, MCL_LAYOUT_BLOCKED, b) : NULL};
    if (in[0] && ok(mcl_channel_create(g_ctx, &d, &op), name))
        run_check(name, op, c1 ? 2 : 1, c1 ? 2 : 1, in, &os, want);
    mcl_op_destroy(op);
    mcl_tensor_destroy(in[0]);
    mcl_tensor_destroy(in[1]);
    free(a), free(b), free(want);
}

/* Fused depthwise + 1x1 (dwpw.cl; the graph planner uses it on CPUs only,
 * so it is driven here directly): C -> O channels. ext: the 1x1's row r
 * goes to slot 2r+1 of a 2*O-channel output through a slot table
 * (SCATTER), and pass rows copy channel k of a third tensor to slot 2k
 * (PASS), as in a ShuffleNet V2 unit. */
static void dwpw(const char *name, mcl_shape s, uint32_t O, uint32_t k, uint32_t stride, int ext)
{
    if (skip(name))
        return;
    g_cases++;
    const uint32_t C = s.c, B = mcl_context_block(g_ctx);
    mcl_conv2d_desc dd = {.in_channels = C, .out_channels = C, .groups = C, .kernel_h = k, .kernel_w = k,
                          .stride_h = stride, .stride_w = stride, .pad_top = k / 2, .pad_left = k / 2,
                          .pad_bottom = k / 2, .pad_right = k / 2, .activation = MCL_ACT_RELU6};
    mcl_conv2d_desc pd = {.in_channels = C, .out_channels = O, .groups = 1, .kernel_h = 1, .kernel_w = 1,
                          .stride_h = 1, .stride_w = 1, .activation = MCL_ACT_RELU};
    mcl_shape ms, os;
    if (!ok(mcl_conv2d_validate(&dd, &s, &ms), name) || !ok(mcl_conv2d_validate(&pd, &ms, &os), name))
        return;
    const size_t nx = mcl_shape_count(&s), nm = mcl_shape_count(&ms), no = mcl_shape_count(&os);
    float *x = rnd(nx, 21), *wd = rnd((size_t)C * k * k, 22), *bd = rnd(C, 23), *wp = rnd((size_t)O * C, 24),
          *bp = rnd(O, 25), *mid = malloc(nm * sizeof *mid), *pw = malloc(no * sizeof *pw),
          *pv = rnd(no, 26);
    ref_conv2d_params p1 = {s.n, C, s.h, s.w, C, C, k, k, stride, stride, k / 2, k / 2, k / 2, k / 2, 1, 1,
                            (int)MCL_ACT_RELU6};
    ref_conv2d_params p2 = {ms.n, C, ms.h, ms.w, O, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, (int)MCL_ACT_RELU};
    ref_conv2d(&p1, x, wd, bd, NULL, mid);
    ref_conv2d(&p2, mid, wp, bp, NULL, pw);
    mcl_shape ts = os; /* the output tensor: the op's own, or 2*O interleaved channels */
    if (ext)
        ts.c = 2 * O;
    const size_t nt = mcl_shape_count(&ts), hw = (size_t)os.h * os.w;
    float *want = malloc(nt * sizeof *want), *got = malloc(nt * sizeof *got);
    for (uint32_t n = 0; n < os.n; n++)
        for (uint32_t c = 0; c < ts.c; c++)
            for (size_t q = 0; q < hw; q++) {
                const uint32_t oc = ext ? c / 2 : c;
                const float *src = !ext || c % 2 ? pw : pv;
                want[((size_t)n * ts.c + c) * hw + q] = src[((size_t)n * O + oc) * hw + q];
            }
    mcl_op *op = NULL;
    mcl_tensor *in = tensor(&s, MCL_LAYOUT_BLOCKED, x), *out = tensor(&ts, MCL_LAYOUT_BLOCKED, NULL),
               *pin = ext ? tensor(&os, MCL_LAYOUT_BLOCKED, pv) : NULL;
    const uint32_t rows = mcl_cblocks(O, B) * B, nblk = mcl_cblocks(O, B);
    int32_t *oslot = malloc(rows * sizeof *oslot), *psrc = malloc(rows * sizeof *psrc),
            *pdst = malloc(rows * sizeof *pdst);
    for (uint32_t r = 0; r < rows; r++) {
        oslot[r] = r < O ? (int32_t)(2 * r + 1) : -1;
        psrc[r] = r < O ? (int32_t)r : -1;
        pdst[r] = r < O ? (int32_t)(2 * r) : -1;
    }
    mcl_conv_ext e = {oslot, mcl_cblocks(2 * O, B), 0, psrc, pdst, nblk};
    mcl_shape os2;
    if (in && out && (!ext || pin) && ok(mcl_dwpw_create(g_ctx, &dd, wd, bd, &pd, wp, bp, &op), name) &&
        (!ext || ok(mcl_conv2d_set_ext(op, &e), name)) && ok(mcl_op_reshape(op, 1, &s, &os2), name) &&
        (!ext || ok(mcl_conv2d_bind_pass(op, pin), name)) && ok(mcl_op_bind(op, in, NULL, out), name) &&
        ok(mcl_op_run(op, NULL), name) && ok(mcl_tensor_read(out, got, nt), name)) {
        check_result(name, got, want, nt);
    }
    mcl_op_destroy(op);
    mcl_tensor_destroy(in), mcl_tensor_destroy(out), mcl_tensor_destroy(pin);
    free(x), free(wd), free(bd), free(wp), free(bp), free(mid), free(pw), free(pv), free(want), free(got);
    free(oslot), free(psrc), free(pdst);
}

/* NCHW -> blocked -> NCHW through the layout kernels alone */
static void layout(const char *name, mcl_shape s)
{
    if (skip(name))
        return;
    g_cases++;
    size_t n = mcl_shape_count(&s);
    float *x = rnd(n, 14), *got = malloc(n * sizeof *got);
    mcl_tensor *a = tensor(&s, MCL_LAYOUT_NCHW, x), *b = tensor(&s, MCL_LAYOUT_BLOCKED, NULL),
               *c = tensor(&s, MCL_LAYOUT_NCHW, NULL);
    if (a && b && c && ok(mcl_tensor_convert(g_ctx, a, b), name) && ok(mcl_tensor_convert(g_ctx, b, c), name) &&
        ok(mcl_tensor_read(c, got, n), name)) {
        if (memcmp(got, x, n * sizeof *x)) {
            fprintf(stderr, "FAIL %s: round trip changed the data\n", name);
            g_fail++;
        } else {
            printf("ok   %s\n", name);
        }
    }
    mcl_tensor_destroy(a), mcl_tensor_destroy(b), mcl_tensor_destroy(c);
    free(x), free(got);
}

#define CONV(...) ((mcl_conv2d_desc){__VA_ARGS__})
#define SH(n, c, h, w) ((mcl_shape){n, c, h, w})

int main(int argc, char **argv)
{
    mcl_context_options o = {0};
    o.block = argc > 1 ? (uint32_t)atoi(argv[1]) : 4;
    g_filter = argc > 2 && *argv[2] ? argv[2] : NULL;
    /* MOBICL_POISON=1: buffers start as NaN (faultinj.c's poison mode), so
     * a kernel reading memory nothing wrote fails the reference check; the
     * ctest tests kernels_small_poison_b* run this way */
    const char *poison = getenv("MOBICL_POISON");
    if (poison && *poison == '1') {
        if (fi_install() != 0) {
            fprintf(stderr, "cannot install the OpenCL wrappers for poison mode\n");
            return 1;
        }
        fi_poison(1);
    }
    o.tuning_db = "";
    if (!ok(mcl_context_create(&o, &g_ctx), "context_create"))
        return 1;
    const mcl_activation R = MCL_ACT_RELU, R6 = MCL_ACT_RELU6, N = MCL_ACT_NONE;
    /* pointwise 1x1: channel tails, odd pixel counts, grouped, residual */
    conv("pwconv 5->7 3x5", CONV(.in_channels = 5, .out_channels = 7, .groups = 1, .kernel_h = 1, .kernel_w = 1,
                                 .stride_h = 1, .stride_w = 1, .activation = R, .variant = MCL_CONV_POINTWISE),
         SH(1, 5, 3, 5), 0);
    conv("pwconv 6->9 grouped 3 + residual", CONV(.in_channels = 6, .out_channels = 9, .groups = 3, .kernel_h = 1,
                                                  .kernel_w = 1, .stride_h = 1, .stride_w = 1, .activation = R6,
                                                  .residual = 1, .variant = MCL_CONV_POINTWISE),
         SH(2, 6, 3, 3), 0);
    /* direct KxK: stride 2, asymmetric pad, grouped, dilation */
    conv("conv 3x3 s2 3->5 7x7", CONV(.in_channels = 3, .out_channels = 5, .groups = 1, .kernel_h = 3, .kernel_w = 3,
                                      .stride_h = 2, .stride_w = 2, .pad_top = 1, .pad_left = 1, .pad_bottom = 1,
                                      .pad_right = 1, .activation = R, .variant = MCL_CONV_DIRECT),
         SH(1, 3, 7, 7), 0);
    /* IN_NCHW (a first conv reading the plain image) is bound by the graph
     * planner only: tools/oclgrind.sh covers it with a zoo network run */
    conv("conv 2x3 grouped 2, pad 0/1/1/0, dil 2", CONV(.in_channels = 6, .out_channels = 10, .groups = 2,
                                                        .kernel_h = 2, .kernel_w = 3, .stride_h = 1, .stride_w = 1,
                                                        .pad_top = 0, .pad_left = 1, .pad_bottom = 1, .pad_right = 0,
                                                        .dilation_h = 2, .dilation_w = 1, .activation = N,
                                                        .residual = 1, .variant = MCL_CONV_DIRECT),
         SH(1, 6, 6, 5), 0);
    /* depthwise: odd channels, stride 1 and 2 */
    conv("dwconv 3x3 s1 c5 5x7", CONV(.in_channels = 5, .out_channels = 5, .groups = 5, .kernel_h = 3, .kernel_w = 3,
                                      .stride_h = 1, .stride_w = 1, .pad_top = 1, .pad_left = 1, .pad_bottom = 1,
                                      .pad_right = 1, .activation = R6, .variant = MCL_CONV_DEPTHWISE),
         SH(1, 5, 5, 7), 0);
    conv("dwconv 3x3 s2 c9 7x6", CONV(.in_channels = 9, .out_channels = 9, .groups = 9, .kernel_h = 3, .kernel_w = 3,
                                      .stride_h = 2, .stride_w = 2, .pad_top = 1, .pad_left = 1, .pad_bottom = 1,
                                      .pad_right = 1, .activation = N, .variant = MCL_CONV_DEPTHWISE),
         SH(2, 9, 7, 6), 0);
    conv("dwconv 5x5 s2 c6 9x9", CONV(.in_channels = 6, .out_channels = 6, .groups = 6, .kernel_h = 5, .kernel_w = 5,
                                      .stride_h = 2, .stride_w = 2, .pad_top = 2, .pad_left = 2, .pad_bottom = 2,
                                      .pad_right = 2, .activation = R, .variant = MCL_CONV_DEPTHWISE),
         SH(1, 6, 9, 9), 0);
    /* pooling */
    pool("maxpool 3x3 s2 p1 c5 7x7",
         (mcl_pool2d_desc){MCL_POOL_MAX, 3, 3, 2, 2, 1, 1, 1, 1, 0}, SH(1, 5, 7, 7));
    pool("avgpool 3x3 s2 p1 c6 6x5", (mcl_pool2d_desc){MCL_POOL_AVG, 3, 3, 2, 2, 1, 1, 1, 1, 0}, SH(2, 6, 6, 5));
    pool("avgpool 2x2 s1 incl-pad c3 5x4", (mcl_pool2d_desc){MCL_POOL_AVG, 2, 2, 1, 1, 0, 1, 1, 0, 1}, SH(1, 3, 5, 4));
    pool("global avgpool c7 5x3", (mcl_pool2d_desc){MCL_POOL_GLOBAL_AVG, 0, 0, 0, 0, 0, 0, 0, 0, 0}, SH(2, 7, 5, 3));
    /* fc, softmax, add */
    fc("fc 7x3x3 -> 5 relu", SH(2, 7, 3, 3), 5, R);
    fc("fc 5 -> 11", SH(1, 5, 1, 1), 11, N);
    softmax("softmax c11", SH(2, 11, 1, 1));
    softmax("softmax c5 2x3", SH(1, 5, 2, 3));
    add("add c7 3x5 relu", SH(2, 7, 3, 5), R);
    /* channel gather: shuffle, split, concat */
    channel("shuffle c12 g3", SH(1, 12, 3, 3), 0, (mcl_channel_desc){0, 0, 3, 1});
    channel("split c10 off 5", SH(1, 10, 3, 5), 0, (mcl_channel_desc){5, 5, 1, 1});
    channel("concat 5+7 + shuffle 2", SH(2, 5, 3, 3), 7, (mcl_channel_desc){0, 0, 2, 2});
    /* the gather's unaligned-run path at its edges: runs that cross into
     * the last block, read at the last pixel, in the last image */
    channel("split c10 off 6 n2", SH(2, 10, 3, 5), 0, (mcl_channel_desc){4, 6, 1, 1});
    channel("shuffle c18 g2 n2", SH(2, 18, 3, 3), 0, (mcl_channel_desc){0, 0, 2, 1});
    channel("shuffle c116 g2 n2", SH(2, 116, 3, 3), 0, (mcl_channel_desc){0, 0, 2, 1});
    channel("concat 58+58 n2", SH(2, 58, 2, 3), 58, (mcl_channel_desc){0, 0, 1, 2});
    /* 4 groups through the runs path: unaligned runs crossing blocks; runs
     * from both inputs */
    channel("shuffle c116 g4 n2", SH(2, 116, 3, 3), 0, (mcl_channel_desc){0, 0, 4, 1});
    channel("concat 20+44 + shuffle 4", SH(1, 20, 2, 3), 44, (mcl_channel_desc){0, 0, 4, 2});
    /* layout conversions */
    /* fused depthwise + 1x1: odd widths, stride 2, slot-table stores and pass rows */
    dwpw("dwpw 3x3 s1 c12->10 7x9", SH(1, 12, 7, 9), 10, 3, 1, 0);
    dwpw("dwpw 3x3 s2 c6->20 9x8", SH(2, 6, 9, 8), 20, 3, 2, 0);
    dwpw("dwpw 5x5 s1 c9->7 6x11 scatter+pass", SH(1, 9, 6, 11), 7, 5, 1, 1);
    dwpw("dwpw 3x3 s2 c12->18 7x7 scatter+pass", SH(2, 12, 7, 7), 18, 3, 2, 1);
    layout("layout c5 3x7", SH(2, 5, 3, 7));
    layout("layout c1 1x1", SH(1, 1, 1, 1));
    mcl_context_destroy(g_ctx);
    printf("%d cases, %d failures\n", g_cases, g_fail);
    return g_fail ? 1 : 0;
}
