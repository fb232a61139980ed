/* Depthwise convolution (MCL_CONV_DEPTHWISE, and AUTO on depthwise shapes):
 * every depthwise layer shape of MobileNet V1/V2, ShuffleNet V1 (g=3) / V2
 * (1.0x, 0.5x) and MnasNet 1.0, plus awkward shapes, compared with
 * ref_conv2d (groups == in == out channels). */
#define _GNU_SOURCE 1
#include <criterion/criterion.h>

#include "harness.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))
#define DW .variant = MCL_CONV_DEPTHWISE
#define RELU .activation = MCL_ACT_RELU
#define RELU6 .activation = MCL_ACT_RELU6
/* depthwise c channels, k x k, stride s, pad k/2 */
#define DWD(c, k, s) CIO(c, c, c), CK(k), CS(s), CP((k) / 2), CD(1)

static const h_conv_row k_mobilenet[] = {
    /* MobileNet V1 1.0 (relu) */
    {"mbv1 dw 32@112 s1", SHP(1, 32, 112, 112), {DWD(32, 3, 1), RELU, DW}, 0},
    {"mbv1 dw 64@112 s2", SHP(1, 64, 112, 112), {DWD(64, 3, 2), RELU, DW}, 0},
    {"mbv1 dw 128@56 s1", SHP(1, 128, 56, 56), {DWD(128, 3, 1), RELU, DW}, 0},
    {"mbv1 dw 128@56 s2", SHP(1, 128, 56, 56), {DWD(128, 3, 2), RELU, DW}, 0},
    {"mbv1 dw 256@28 s1", SHP(1, 256, 28, 28), {DWD(256, 3, 1), RELU, DW}, 0},
    {"mbv1 dw 256@28 s2", SHP(1, 256, 28, 28), {DWD(256, 3, 2), RELU, DW}, 0},
    {"mbv1 dw 512@14 s1", SHP(1, 512, 14, 14), {DWD(512, 3, 1), RELU, DW}, 0},
    {"mbv1 dw 512@14 s2", SHP(1, 512, 14, 14), {DWD(512, 3, 2), RELU, DW}, 0},
    {"mbv1 dw 1024@7 s1", SHP(1, 1024, 7, 7), {DWD(1024, 3, 1), RELU, DW}, 0},
    /* MobileNet V2 (relu6) */
    {"mbv2 dw 32@112 s1 (t=1)", SHP(1, 32, 112, 112), {DWD(32, 3, 1), RELU6, DW}, 0},
    {"mbv2 dw 96@112 s2", SHP(1, 96, 112, 112), {DWD(96, 3, 2), RELU6, DW}, 0},
    {"mbv2 dw 144@56 s1", SHP(1, 144, 56, 56), {DWD(144, 3, 1), RELU6, DW}, 0},
    {"mbv2 dw 144@56 s2", SHP(1, 144, 56, 56), {DWD(144, 3, 2), RELU6, DW}, 0},
    {"mbv2 dw 192@28 s1", SHP(1, 192, 28, 28), {DWD(192, 3, 1), RELU6, DW}, 0},
    {"mbv2 dw 192@28 s2", SHP(1, 192, 28, 28), {DWD(192, 3, 2), RELU6, DW}, 0},
    {"mbv2 dw 384@14 s1", SHP(1, 384, 14, 14), {DWD(384, 3, 1), RELU6, DW}, 0},
    {"mbv2 dw 576@14 s1", SHP(1, 576, 14, 14), {DWD(576, 3, 1), RELU6, DW}, 0},
    {"mbv2 dw 576@14 s2", SHP(1, 576, 14, 14), {DWD(576, 3, 2), RELU6, DW}, 0},
    {"mbv2 dw 960@7 s1", SHP(1, 960, 7, 7), {DWD(960, 3, 1), RELU6, DW}, 0},
};

static const h_conv_row k_mnasnet[] = {
    /* MnasNet 1.0 (relu): 3x3 and 5x5, stride 1 and 2 */
    {"mnasnet dw 32@112 3x3 s1 (sep)", SHP(1, 32, 112, 112), {DWD(32, 3, 1), RELU, DW}, 0},
    {"mnasnet dw 48@112 3x3 s2", SHP(1, 48, 112, 112), {DWD(48, 3, 2), RELU, DW}, 0},
    {"mnasnet dw 72@56 3x3 s1", SHP(1, 72, 56, 56), {DWD(72, 3, 1), RELU, DW}, 0},
    {"mnasnet dw 72@56 5x5 s2", SHP(1, 72, 56, 56), {DWD(72, 5, 2), RELU, DW}, 0},
    {"mnasnet dw 120@28 5x5 s1", SHP(1, 120, 28, 28), {DWD(120, 5, 1), RELU, DW}, 0},
    {"mnasnet dw 240@28 5x5 s2 (40->240)", SHP(1, 240, 28, 28), {DWD(240, 5, 2), RELU, DW}, 0},
    {"mnasnet dw 480@14 5x5 s1", SHP(1, 480, 14, 14), {DWD(480, 5, 1), RELU, DW}, 0},
    {"mnasnet dw 480@14 3x3 s1", SHP(1, 480, 14, 14), {DWD(480, 3, 1), RELU, DW}, 0},
    {"mnasnet dw 576@14 3x3 s1", SHP(1, 576, 14, 14), {DWD(576, 3, 1), RELU, DW}, 0},
    {"mnasnet dw 576@14 5x5 s2", SHP(1, 576, 14, 14), {DWD(576, 5, 2), RELU, DW}, 0},
    {"mnasnet dw 1152@7 5x5 s1", SHP(1, 1152, 7, 7), {DWD(1152, 5, 1), RELU, DW}, 0},
    {"mnasnet dw 1152@7 3x3 s1", SHP(1, 1152, 7, 7), {DWD(1152, 3, 1), RELU, DW}, 0},
};

static const h_conv_row k_shufflenet[] = {
    /* ShuffleNet V2 1.0x (no activation after the depthwise) */
    {"shufflenet v2 1.0 dw 24@56 s2 (branch1)", SHP(1, 24, 56, 56), {DWD(24, 3, 2), DW}, 0},
    {"shufflenet v2 1.0 dw 58@56 s2 (branch2)", SHP(1, 58, 56, 56), {DWD(58, 3, 2), DW}, 0},
    {"shufflenet v2 1.0 dw 58@28 s1", SHP(1, 58, 28, 28), {DWD(58, 3, 1), DW}, 0},
    {"shufflenet v2 1.0 dw 116@28 s2", SHP(1, 116, 28, 28), {DWD(116, 3, 2), DW}, 0},
    {"shufflenet v2 1.0 dw 116@14 s1", SHP(1, 116, 14, 14), {DWD(116, 3, 1), DW}, 0},
    {"shufflenet v2 1.0 dw 232@14 s2", SHP(1, 232, 14, 14), {DWD(232, 3, 2), DW}, 0},
    {"shufflenet v2 1.0 dw 232@7 s1", SHP(1, 232, 7, 7), {DWD(232, 3, 1), DW}, 0},
    /* ShuffleNet V2 0.5x */
    {"shufflenet v2 0.5 dw 24@28 s1", SHP(1, 24, 28, 28), {DWD(24, 3, 1), DW}, 0},
    {"shufflenet v2 0.5 dw 48@28 s2", SHP(1, 48, 28, 28), {DWD(48, 3, 2), DW}, 0},
    {"shufflenet v2 0.5 dw 48@14 s1", SHP(1, 48, 14, 14), {DWD(48, 3, 1), DW}, 0},
    {"shufflenet v2 0.5 dw 96@14 s2", SHP(1, 96, 14, 14), {DWD(96, 3, 2), DW}, 0},
    {"shufflenet v2 0.5 dw 96@7 s1", SHP(1, 96, 7, 7), {DWD(96, 3, 1), DW}, 0},
    /* ShuffleNet V1 g=3 1.0x: bottleneck = out/4 of 240/480/960 */
    {"shufflenet v1 g3 dw 60@56 s2", SHP(1, 60, 56, 56), {DWD(60, 3, 2), DW}, 0},
    {"shufflenet v1 g3 dw 60@28 s1", SHP(1, 60, 28, 28), {DWD(60, 3, 1), DW}, 0},
    {"shufflenet v1 g3 dw 120@28 s2", SHP(1, 120, 28, 28), {DWD(120, 3, 2), DW}, 0},
    {"shufflenet v1 g3 dw 120@14 s1", SHP(1, 120, 14, 14), {DWD(120, 3, 1), DW}, 0},
    {"shufflenet v1 g3 dw 240@14 s2", SHP(1, 240, 14, 14), {DWD(240, 3, 2), DW}, 0},
    {"shufflenet v1 g3 dw 240@7 s1", SHP(1, 240, 7, 7), {DWD(240, 3, 1), DW}, 0},
    {"shufflenet v2 1.0 dw 116@28 s1 batch2", SHP(2, 116, 28, 28), {DWD(116, 3, 1), DW}, 0},
};

static const h_conv_row k_awkward[] = {
    {"c3 13x11 3x3 s1", SHP(1, 3, 13, 11), {DWD(3, 3, 1), DW}, 0},
    {"c5 13x11 3x3 s2 relu", SHP(1, 5, 13, 11), {DWD(5, 3, 2), RELU, DW}, 0},
    {"c6 7x7 5x5 s2", SHP(1, 6, 7, 7), {DWD(6, 5, 2), DW}, 0},
    {"c20 13x11 5x5 s1 relu6", SHP(1, 20, 13, 11), {DWD(20, 5, 1), RELU6, DW}, 0},
    {"c58 1x1 3x3 p1", SHP(1, 58, 1, 1), {DWD(58, 3, 1), DW}, 0},
    {"c20 1x1 5x5 s2 p2", SHP(2, 20, 1, 1), {DWD(20, 5, 2), RELU, DW}, 0},
    {"c13 3x3 input 5x5 kernel p2", SHP(1, 13, 3, 3), {DWD(13, 5, 1), DW}, 0},
    {"c6 asym pad tf-same s2 0,0,1,1 14x14", SHP(1, 6, 14, 14), {CIO(6, 6, 6), CK(3), CS(2), CPAD(0, 0, 1, 1), CD(1), DW}, 0},
    {"c20 asym pad 5x5 s2 1,1,2,2 28x28", SHP(1, 20, 28, 28), {CIO(20, 20, 20), CK(5), CS(2), CPAD(1, 1, 2, 2), CD(1), RELU6, DW}, 0},
    {"c5 asym pad 2,0,0,1 13x11", SHP(1, 5, 13, 11), {CIO(5, 5, 5), CK(3), CS(1), CPAD(2, 0, 0, 1), CD(1), DW}, 0},
    {"c6 no pad 3x3 s1 13x11", SHP(1, 6, 13, 11), {CIO(6, 6, 6), CK(3), CS(1), CP(0), CD(1), DW}, 0},
    {"c20 dilation 2 p2 13x11", SHP(1, 20, 13, 11), {CIO(20, 20, 20), CK(3), CS(1), CP(2), CD(2), RELU, DW}, 0},
    {"c58 dilation 2 s2 p2 14x14", SHP(1, 58, 14, 14), {CIO(58, 58, 58), CK(3), CS(2), CP(2), CD(2), DW}, 0},
    {"c5 dilation 0 (read as 1) p1 13x11", SHP(1, 5, 13, 11), {CIO(5, 5, 5), CK(3), CS(1), CP(1), CD(0), DW}, 0},
    {"c6 3x5 kernel stride 1x2", SHP(1, 6, 11, 13), {CIO(6, 6, 6), .kernel_h = 3, .kernel_w = 5, .stride_h = 1, .stride_w = 2, CPAD(1, 2, 1, 2), CD(1), DW}, 0},
    {"c20 7x7 kernel = whole input p0", SHP(1, 20, 7, 7), {CIO(20, 20, 20), CK(7), CS(1), CP(0), CD(1), DW}, 0},
    {"c8 stride 3 17x16", SHP(1, 8, 17, 16), {DWD(8, 3, 3), DW}, 0},
    {"c20 residual relu 13x11", SHP(1, 20, 13, 11), {DWD(20, 3, 1), RELU, .residual = 1, DW}, 0},
    {"c6 residual relu6 no bias s2 13x11", SHP(1, 6, 13, 11), {DWD(6, 3, 2), RELU6, .residual = 1, DW}, 1},
    {"c58 no bias batch2 28x28", SHP(2, 58, 28, 28), {DWD(58, 3, 1), DW}, 1},
    {"c3 batch2 5x5 s2 13x11", SHP(2, 3, 13, 11), {DWD(3, 5, 2), RELU, DW}, 0},
    {"c1 13x11", SHP(1, 1, 13, 11), {DWD(1, 3, 1), DW}, 0},
    {"c17 wide row 1x64", SHP(1, 17, 1, 64), {CIO(17, 17, 17), CK(3), CS(1), CP(1), CD(1), DW}, 0},
    {"c9 tall column 64x1", SHP(1, 9, 64, 1), {CIO(9, 9, 9), CK(3), CS(2), CP(1), CD(1), DW}, 0},
};

Test(dwconv, mobilenet, .timeout = 600)
{
    mcl_context *ctx = h_context();
    h_conv_table(ctx, k_mobilenet, N_(k_mobilenet), "", -1, MCL_FAMILY_DWCONV);
    mcl_context_destroy(ctx);
}

Test(dwconv, mnasnet, .timeout = 600)
{
    mcl_context *ctx = h_context();
    h_conv_table(ctx, k_mnasnet, N_(k_mnasnet), "", -1, MCL_FAMILY_DWCONV);
    mcl_context_destroy(ctx);
}

Test(dwconv, shufflenet, .timeout = 600)
{
    mcl_context *ctx = h_context();
    h_conv_table(ctx, k_shufflenet, N_(k_shufflenet), "", -1, MCL_FAMILY_DWCONV);
    mcl_context_destroy(ctx);
}

Test(dwconv, awkward, .timeout = 600)
{
    mcl_context *ctx = h_context();
    h_conv_table(ctx, k_awkward, N_(k_awkward), "", -1, MCL_FAMILY_DWCONV);
    mcl_context_destroy(ctx);
}

/* AUTO must pick the depthwise kernel when groups == in == out (for a
 * single channel, depthwise and dense are the same: any family). */
Test(dwconv, auto_variant_picks_depthwise, .timeout = 600)
{
    mcl_context *ctx = h_context();
    for (size_t i = 0; i < N_(k_awkward); i++)
        h_conv_table(ctx, &k_awkward[i], 1, "(AUTO)", MCL_CONV_AUTO,
                     k_awkward[i].d.in_channels == 1 ? -1 : MCL_FAMILY_DWCONV);
    h_conv_table(ctx, k_shufflenet + 2, 3, "(AUTO)", MCL_CONV_AUTO, MCL_FAMILY_DWCONV);
    mcl_context_destroy(ctx);
}

/* The other channel blocks (4, 8, 16 minus the default) on a subset. */
static const size_t k_block_rows[] = {0, 1, 3, 7, 8, 11, 17, 18, 20};

Test(dwconv, other_blocks, .timeout = 600)
{
    H_FOR_OTHER_BLOCKS(ctx, tag, {
        for (size_t i = 0; i < N_(k_block_rows); i++)
            h_conv_table(ctx, &k_awkward[k_block_rows[i]], 1, tag, -1, MCL_FAMILY_DWCONV);
        h_conv_table(ctx, k_shufflenet + 1, 2, tag, -1, MCL_FAMILY_DWCONV);
        h_conv_table(ctx, k_mnasnet + 5, 1, tag, -1, MCL_FAMILY_DWCONV);
    });
}
