/* Direct KxK convolution (MCL_CONV_DIRECT, and AUTO on KxK shapes): dense,
 * grouped (every group count) and depthwise-through-direct, with the full
 * epilogue (bias, residual, relu/relu6), compared with ref_conv2d. */
#define _GNU_SOURCE 1
#include <criterion/criterion.h>

#include "harness.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))
#define DIRECT .variant = MCL_CONV_DIRECT
#define RELU .activation = MCL_ACT_RELU
#define RELU6 .activation = MCL_ACT_RELU6

/* Real layers of the five networks that a direct kernel runs (first convs),
 * and a few depthwise/pointwise layers forced through the direct kernel. */
static const h_conv_row k_networks[] = {
    {"mbv1/mnasnet conv1 3->32 3x3 s2 @224", SHP(1, 3, 224, 224), {CIO(3, 32, 1), CK(3), CS(2), CP(1), CD(1), RELU, DIRECT}, 0},
    {"shufflenet conv1 3->24 3x3 s2 @112 batch2", SHP(2, 3, 112, 112), {CIO(3, 24, 1), CK(3), CS(2), CP(1), CD(1), RELU, DIRECT}, 0},
    {"mbv2 conv1 3->32 3x3 s2 relu6 @96", SHP(1, 3, 96, 96), {CIO(3, 32, 1), CK(3), CS(2), CP(1), CD(1), RELU6, DIRECT}, 0},
    {"mbv1 dw 32@112 3x3 s1 via direct", SHP(1, 32, 112, 112), {CIO(32, 32, 32), CK(3), CS(1), CP(1), CD(1), RELU, DIRECT}, 0},
    {"mnasnet dw 72@56 5x5 s2 via direct", SHP(1, 72, 56, 56), {CIO(72, 72, 72), CK(5), CS(2), CP(2), CD(1), RELU, DIRECT}, 0},
    {"shufflenet v2 dw 58@28 3x3 s1 no act via direct", SHP(1, 58, 28, 28), {CIO(58, 58, 58), CK(3), CS(1), CP(1), CD(1), DIRECT}, 0},
    {"mbv1 pw 32->64 @112 via direct", SHP(1, 32, 112, 112), {CIO(32, 64, 1), CK(1), CS(1), CP(0), CD(1), RELU, DIRECT}, 0},
    {"shufflenet v1 g3 pw 240->60 @28 via direct", SHP(1, 240, 28, 28), {CIO(240, 60, 3), CK(1), CS(1), CP(0), CD(1), RELU, DIRECT}, 0},
    {"dense 3x3 64->64 @14 (resnet-like) residual relu", SHP(1, 64, 14, 14), {CIO(64, 64, 1), CK(3), CS(1), CP(1), CD(1), RELU, .residual = 1, DIRECT}, 0},
};

/* Odd sizes, channels not a multiple of 4/8, strides, asymmetric padding,
 * dilation, odd kernel shapes, every epilogue. */
static const h_conv_row k_awkward[] = {
    {"13x11 c5->7 3x3 s1 p1", SHP(1, 5, 13, 11), {CIO(5, 7, 1), CK(3), CS(1), CP(1), CD(1), DIRECT}, 0},
    {"13x11 c3->6 3x3 s2 p1 relu", SHP(1, 3, 13, 11), {CIO(3, 6, 1), CK(3), CS(2), CP(1), CD(1), RELU, DIRECT}, 0},
    {"7x7 c20->20 3x3 s2 p0", SHP(1, 20, 7, 7), {CIO(20, 20, 1), CK(3), CS(2), CP(0), CD(1), DIRECT}, 0},
    {"1x1 input c6->5 3x3 p1", SHP(1, 6, 1, 1), {CIO(6, 5, 1), CK(3), CS(1), CP(1), CD(1), DIRECT}, 0},
    {"1x1 input c58->20 3x3 s2 p1 relu", SHP(2, 58, 1, 1), {CIO(58, 20, 1), CK(3), CS(2), CP(1), CD(1), RELU, DIRECT}, 0},
    {"asym pad (tf same s2) 0,0,1,1 c6->8 14x14", SHP(1, 6, 14, 14), {CIO(6, 8, 1), CK(3), CS(2), CPAD(0, 0, 1, 1), CD(1), DIRECT}, 0},
    {"asym pad 1,2,0,3 c5->5 3x3 9x10", SHP(1, 5, 9, 10), {CIO(5, 5, 1), CK(3), CS(1), CPAD(1, 2, 0, 3), CD(1), DIRECT}, 0},
    {"asym pad 2,0,1,0 5x5 s2 c3->4 13x11", SHP(1, 3, 13, 11), {CIO(3, 4, 1), CK(5), CS(2), CPAD(2, 0, 1, 0), CD(1), DIRECT}, 0},
    {"dilation 2 c6->6 3x3 p2 13x11", SHP(1, 6, 13, 11), {CIO(6, 6, 1), CK(3), CS(1), CP(2), CD(2), DIRECT}, 0},
    {"dilation 2x3 c4->5 3x3 pad 2,3 15x16 s2", SHP(1, 4, 15, 16), {CIO(4, 5, 1), CK(3), CS(2), CPAD(2, 3, 2, 3), .dilation_h = 2, .dilation_w = 3, DIRECT}, 0},
    {"dilation 0 (read as 1) c5->6 3x3 p1 13x11", SHP(1, 5, 13, 11), {CIO(5, 6, 1), CK(3), CS(1), CP(1), CD(0), DIRECT}, 0},
    {"5x5 s2 p2 c20->12 13x11", SHP(1, 20, 13, 11), {CIO(20, 12, 1), CK(5), CS(2), CP(2), CD(1), RELU, DIRECT}, 0},
    {"7x7 kernel = whole 7x7 input c3->4 p0", SHP(1, 3, 7, 7), {CIO(3, 4, 1), CK(7), CS(1), CP(0), CD(1), DIRECT}, 0},
    {"1x7 kernel pad 0,3 c8->8 9x9", SHP(1, 8, 9, 9), {CIO(8, 8, 1), .kernel_h = 1, .kernel_w = 7, CS(1), CPAD(0, 3, 0, 3), CD(1), DIRECT}, 0},
    {"7x1 kernel pad 3,0 c8->9 9x9", SHP(1, 8, 9, 9), {CIO(8, 9, 1), .kernel_h = 7, .kernel_w = 1, CS(1), CPAD(3, 0, 3, 0), CD(1), DIRECT}, 0},
    {"3x5 kernel stride 2x1 c6->10 11x13", SHP(1, 6, 11, 13), {CIO(6, 10, 1), .kernel_h = 3, .kernel_w = 5, .stride_h = 2, .stride_w = 1, CPAD(1, 2, 1, 2), CD(1), DIRECT}, 0},
    {"stride 3 c3->5 3x3 16x17", SHP(1, 3, 16, 17), {CIO(3, 5, 1), CK(3), CS(3), CP(1), CD(1), DIRECT}, 0},
    {"1x1 stride 2 c20->36 14x13", SHP(1, 20, 14, 13), {CIO(20, 36, 1), CK(1), CS(2), CP(0), CD(1), DIRECT}, 0},
    {"pad 3 > kernel: all-padding windows (bias only) c4->4 3x3 5x5", SHP(1, 4, 5, 5), {CIO(4, 4, 1), CK(3), CS(1), CP(3), CD(1), RELU, DIRECT}, 0},
    {"residual relu c8->8 3x3 p1 13x11", SHP(1, 8, 13, 11), {CIO(8, 8, 1), CK(3), CS(1), CP(1), CD(1), RELU, .residual = 1, DIRECT}, 0},
    {"residual relu6 no bias c5->5 3x3 p1 13x11", SHP(1, 5, 13, 11), {CIO(5, 5, 1), CK(3), CS(1), CP(1), CD(1), RELU6, .residual = 1, DIRECT}, 1},
    {"residual no act batch2 c12->16 g4 7x7", SHP(2, 12, 7, 7), {CIO(12, 16, 4), CK(3), CS(1), CP(1), CD(1), .residual = 1, DIRECT}, 0},
    {"residual stride 2 c6->6 g3 13x11", SHP(1, 6, 13, 11), {CIO(6, 6, 3), CK(3), CS(2), CP(1), CD(1), RELU, .residual = 1, DIRECT}, 0},
    {"relu6 c6->20 s2 13x11", SHP(1, 6, 13, 11), {CIO(6, 20, 1), CK(3), CS(2), CP(1), CD(1), RELU6, DIRECT}, 0},
    {"no bias c58->58 g2 7x7", SHP(1, 58, 7, 7), {CIO(58, 58, 2), CK(3), CS(1), CP(1), CD(1), DIRECT}, 1},
    {"batch2 c20->24 g4 dilation 2 p2 relu 13x11", SHP(2, 20, 13, 11), {CIO(20, 24, 4), CK(3), CS(1), CP(2), CD(2), RELU, DIRECT}, 0},
    {"batch2 c3->5 5x5 s2 asym 1,2,2,1 relu6", SHP(2, 3, 17, 15), {CIO(3, 5, 1), CK(5), CS(2), CPAD(1, 2, 2, 1), CD(1), RELU6, DIRECT}, 0},
};

Test(conv, networks, .timeout = 600)
{
    mcl_context *ctx = h_context();
    h_conv_table(ctx, k_networks, N_(k_networks), "", -1, MCL_FAMILY_CONV);
    mcl_context_destroy(ctx);
}

Test(conv, awkward, .timeout = 600)
{
    mcl_context *ctx = h_context();
    h_conv_table(ctx, k_awkward, N_(k_awkward), "", -1, MCL_FAMILY_CONV);
    mcl_context_destroy(ctx);
}

/* Every group count dividing both channel counts, for a few channel pairs. */
Test(conv, every_group_count, .timeout = 600)
{
    static const struct {
        uint32_t ci, co, h, w, k, s, n;
    } pairs[] = {
        {12, 24, 9, 7, 3, 1, 1}, /* 1,2,3,4,6,12 */
        {24, 12, 8, 8, 3, 2, 1}, /* 1,2,3,4,6,12 */
        {20, 20, 7, 7, 5, 1, 2}, /* 1,2,4,5,10,20 */
        {8, 16, 6, 5, 3, 1, 1},  /* ..., 8: depthwise with multiplier 2 */
        {6, 3, 13, 11, 3, 2, 1}, /* 1,3 */
        {58, 58, 14, 14, 3, 2, 1}, /* 1,2,29,58 */
    };
    mcl_context *ctx = h_context();
    for (size_t i = 0; i < N_(pairs); i++) {
        for (uint32_t g = 1; g <= pairs[i].ci; g++) {
            if (pairs[i].ci % g || pairs[i].co % g)
                continue;
            mcl_conv2d_desc d = {CIO(pairs[i].ci, pairs[i].co, g), CK(pairs[i].k), CS(pairs[i].s),
                                 CP(pairs[i].k / 2), CD(1), RELU, DIRECT};
            char label[128];
            snprintf(label, sizeof label, "groups %u: %ux%ux%ux%u -> %u, %ux%u s%u", g, pairs[i].n, pairs[i].ci,
                     pairs[i].h, pairs[i].w, pairs[i].co, pairs[i].k, pairs[i].k, pairs[i].s);
            h_conv_check(ctx, &d, h_shape(pairs[i].n, pairs[i].ci, pairs[i].h, pairs[i].w), 0, NULL, MCL_FAMILY_CONV,
                         label);
        }
    }
    mcl_context_destroy(ctx);
}

/* AUTO must pick the direct kernel for KxK non-depthwise shapes. */
Test(conv, auto_variant_picks_direct, .timeout = 600)
{
    mcl_context *ctx = h_context();
    h_conv_table(ctx, k_awkward, 8, "(AUTO)", MCL_CONV_AUTO, MCL_FAMILY_CONV);
    h_conv_table(ctx, k_networks, 3, "(AUTO)", MCL_CONV_AUTO, MCL_FAMILY_CONV);
    mcl_context_destroy(ctx);
}

/* The other channel blocks (4, 8, 16 minus the default) on a subset: C not a
 * multiple of the block, stride 2, asymmetric padding, dilation, groups,
 * residual, batch 2. */
static const size_t k_block_rows[] = {0, 1, 5, 8, 15, 19, 21, 25};

Test(conv, other_blocks, .timeout = 600)
{
    H_FOR_OTHER_BLOCKS(ctx, tag, {
        for (size_t i = 0; i < N_(k_block_rows); i++)
            h_conv_table(ctx, &k_awkward[k_block_rows[i]], 1, tag, -1, MCL_FAMILY_CONV);
        h_conv_table(ctx, k_networks + 1, 1, tag, -1, MCL_FAMILY_CONV);
    });
}

/* One op, reshaped to new input shapes and run again; and a second run on
 * new input data without a new setup. */
Test(conv, reshape_and_rerun, .timeout = 600)
{
    const char *label = "reuse 3x3 c6->10 g2 s1 p1 relu";
    mcl_conv2d_desc d = {CIO(6, 10, 2), CK(3), CS(1), CP(1), CD(1), RELU, DIRECT};
    mcl_context *ctx = h_context();
    h_conv_data cd;
    h_conv_data_make(&cd, &d, h_shape(1, 6, 13, 11), 0, label);
    mcl_op *op = NULL;
    H_OK(label, mcl_conv2d_create(ctx, &d, cd.wt, cd.bias, &op));
    h_run_args a = h_conv_args(&cd, &d, h_shape(1, 6, 13, 11));
    h_run_op(ctx, op, "reuse: first shape 1x6x13x11", &a);

    /* same op and weights, new shapes */
    static const mcl_shape shapes[] = {{2, 6, 7, 9}, {1, 6, 1, 1}, {1, 6, 28, 28}, {1, 6, 13, 11}};
    for (size_t i = 0; i < N_(shapes); i++) {
        char l2[128];
        snprintf(l2, sizeof l2, "reuse: reshape to %ux%ux%ux%u", shapes[i].n, shapes[i].c, shapes[i].h, shapes[i].w);
        ref_conv2d_params p = h_conv_ref_params(&d, shapes[i]);
        uint32_t oh, ow;
        cr_assert(ref_conv2d_out_size(&p, &oh, &ow));
        mcl_shape out = h_shape(shapes[i].n, 10, oh, ow);
        float *x = h_random(h_count(shapes[i]), l2, "input", -1, 1);
        float *want = h_floats(h_count(out));
        ref_conv2d(&p, x, cd.wt, cd.bias, NULL, want);
        mcl_shape vout;
        H_OK(l2, mcl_conv2d_validate(&d, &shapes[i], &vout));
        cr_assert(h_shape_eq(vout, out), "[%s] validate output shape", l2);
        h_run_args a2 = a;
        a2.in[0] = shapes[i];
        a2.in_data[0] = x;
        a2.out = out;
        a2.want = want;
        h_run_op(ctx, op, l2, &a2);
        free(x);
        free(want);
    }

    /* run twice after one setup, writing new input data in between */
    mcl_shape in = h_shape(1, 6, 13, 11);
    mcl_shape out;
    H_OK(label, mcl_op_reshape(op, 1, &in, &out));
    mcl_tensor *tin = h_tensor_with(ctx, in, cd.x, label);
    mcl_tensor *tout = h_tensor_with(ctx, out, NULL, label);
    H_OK(label, mcl_op_setup(op, 1, &tin, tout));
    float *got = h_floats(h_count(out));
    for (int rep = 0; rep < 3; rep++) {
        char l3[128];
        snprintf(l3, sizeof l3, "reuse: run %d after one setup", rep);
        float *x = h_random(h_count(in), l3, "input", -1, 1);
        float *want = h_floats(h_count(out));
        ref_conv2d(&cd.p, x, cd.wt, cd.bias, NULL, want);
        H_OK(l3, mcl_tensor_write(tin, x, h_count(in)));
        H_OK(l3, mcl_op_run(op, NULL));
        H_OK(l3, mcl_context_finish(ctx));
        H_OK(l3, mcl_tensor_read(tout, got, h_count(out)));
        h_compare(l3, got, want, out, H_ATOL, H_RTOL);
        free(x);
        free(want);
    }

    /* run is enqueue-only and read/write block: reading right after run (no
     * finish) sees the result, and writing new input right after run does
     * not change what the enqueued run computes */
    {
        const char *l4 = "reuse: read right after run, then write input while the run may be pending";
        float *x1 = h_random(h_count(in), l4, "x1", -1, 1);
        float *x2 = h_random(h_count(in), l4, "x2", -1, 1);
        float *want1 = h_floats(h_count(out)), *want2 = h_floats(h_count(out));
        ref_conv2d(&cd.p, x1, cd.wt, cd.bias, NULL, want1);
        ref_conv2d(&cd.p, x2, cd.wt, cd.bias, NULL, want2);
        H_OK(l4, mcl_tensor_write(tin, x1, h_count(in)));
        H_OK(l4, mcl_op_run(op, NULL));
        H_OK(l4, mcl_tensor_read(tout, got, h_count(out))); /* no finish */
        h_compare("reuse: read right after run", got, want1, out, H_ATOL, H_RTOL);
        H_OK(l4, mcl_op_run(op, NULL));
        H_OK(l4, mcl_tensor_write(tin, x2, h_count(in))); /* after the run in queue order */
        H_OK(l4, mcl_tensor_read(tout, got, h_count(out)));
        h_compare("reuse: write after run, output still from the old input", got, want1, out, H_ATOL, H_RTOL);
        H_OK(l4, mcl_op_run(op, NULL));
        H_OK(l4, mcl_tensor_read(tout, got, h_count(out)));
        h_compare("reuse: run on the new input", got, want2, out, H_ATOL, H_RTOL);
        free(x1);
        free(x2);
        free(want1);
        free(want2);
    }
    free(got);
    mcl_tensor_destroy(tin);
    mcl_tensor_destroy(tout);
    mcl_op_destroy(op);
    h_conv_data_free(&cd);
    mcl_context_destroy(ctx);
}

/* flops/bytes are reported after reshape: 2 * MACs for a conv. */
Test(conv, flops)
{
    const char *label = "flops 3x3 c6->10 g2 13x11";
    mcl_conv2d_desc d = {CIO(6, 10, 2), CK(3), CS(1), CP(1), CD(1), RELU, DIRECT};
    mcl_context *ctx = h_context();
    float w[10 * 3 * 9] = {0};
    mcl_op *op = NULL;
    H_OK(label, mcl_conv2d_create(ctx, &d, w, NULL, &op));
    mcl_shape in = h_shape(1, 6, 13, 11), out;
    H_OK(label, mcl_op_reshape(op, 1, &in, &out));
    const double macs = 10.0 * 13 * 11 * 3 * 9;
    const double f = mcl_op_flops(op);
    cr_expect(f >= 2 * macs * 0.99 && f <= 2 * macs * 1.2, "[%s] mcl_op_flops %g, expected about %g", label, f,
              2 * macs);
    cr_expect(mcl_op_bytes(op) > 0, "[%s] mcl_op_bytes %g", label, mcl_op_bytes(op));
    mcl_op_destroy(op);
    mcl_context_destroy(ctx);
}
