/* Pointwise (1x1) convolution: MCL_CONV_POINTWISE (grouped too, one launch),
 * AUTO on 1x1 shapes, and MCL_CONV_CLBLAST (groups 1, through CLBlast SGEMM).
 * Every 1x1 layer shape of MobileNet V1/V2, ShuffleNet V2 (1.0x, 0.5x),
 * MnasNet 1.0, the grouped 1x1 layers of ShuffleNet V1 for g = 1, 2, 3, 4,
 * 8, and awkward shapes, compared with ref_conv2d. */
#define _GNU_SOURCE 1
#include <criterion/criterion.h>

#include "harness.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))
#define PW .variant = MCL_CONV_POINTWISE
#define RELU .activation = MCL_ACT_RELU
#define RELU6 .activation = MCL_ACT_RELU6
#define RES .residual = 1
/* 1x1, stride 1, no padding, ci -> co in g groups */
#define PWD(ci, co, g) CIO(ci, co, g), CK(1), CS(1), CP(0), CD(1)

static const h_conv_row k_mobilenet_v1[] = {
    {"mbv1 pw 32->64 @112", SHP(1, 32, 112, 112), {PWD(32, 64, 1), RELU, PW}, 0},
    {"mbv1 pw 64->128 @56", SHP(1, 64, 56, 56), {PWD(64, 128, 1), RELU, PW}, 0},
    {"mbv1 pw 128->128 @56", SHP(1, 128, 56, 56), {PWD(128, 128, 1), RELU, PW}, 0},
    {"mbv1 pw 128->256 @28", SHP(1, 128, 28, 28), {PWD(128, 256, 1), RELU, PW}, 0},
    {"mbv1 pw 256->256 @28", SHP(1, 256, 28, 28), {PWD(256, 256, 1), RELU, PW}, 0},
    {"mbv1 pw 256->512 @14", SHP(1, 256, 14, 14), {PWD(256, 512, 1), RELU, PW}, 0},
    {"mbv1 pw 512->512 @14 batch2", SHP(2, 512, 14, 14), {PWD(512, 512, 1), RELU, PW}, 0},
    {"mbv1 pw 512->1024 @7", SHP(1, 512, 7, 7), {PWD(512, 1024, 1), RELU, PW}, 0},
    {"mbv1 pw 1024->1024 @7 (K=1024: tol 1e-3)", SHP(1, 1024, 7, 7), {PWD(1024, 1024, 1), RELU, PW}, 0},
};

static const h_conv_row k_mobilenet_v2[] = {
    {"mbv2 project 32->16 @112", SHP(1, 32, 112, 112), {PWD(32, 16, 1), PW}, 0},
    {"mbv2 expand 16->96 @112", SHP(1, 16, 112, 112), {PWD(16, 96, 1), RELU6, PW}, 0},
    {"mbv2 project 96->24 @56", SHP(1, 96, 56, 56), {PWD(96, 24, 1), PW}, 0},
    {"mbv2 expand 24->144 @56", SHP(1, 24, 56, 56), {PWD(24, 144, 1), RELU6, PW}, 0},
    {"mbv2 project 144->24 @56 +residual", SHP(1, 144, 56, 56), {PWD(144, 24, 1), RES, PW}, 0},
    {"mbv2 project 144->32 @28", SHP(1, 144, 28, 28), {PWD(144, 32, 1), PW}, 0},
    {"mbv2 expand 32->192 @28", SHP(1, 32, 28, 28), {PWD(32, 192, 1), RELU6, PW}, 0},
    {"mbv2 project 192->32 @28 +residual", SHP(1, 192, 28, 28), {PWD(192, 32, 1), RES, PW}, 0},
    {"mbv2 project 192->64 @14", SHP(1, 192, 14, 14), {PWD(192, 64, 1), PW}, 0},
    {"mbv2 expand 64->384 @14", SHP(1, 64, 14, 14), {PWD(64, 384, 1), RELU6, PW}, 0},
    {"mbv2 project 384->64 @14 +residual", SHP(1, 384, 14, 14), {PWD(384, 64, 1), RES, PW}, 0},
    {"mbv2 project 384->96 @14", SHP(1, 384, 14, 14), {PWD(384, 96, 1), PW}, 0},
    {"mbv2 expand 96->576 @14", SHP(1, 96, 14, 14), {PWD(96, 576, 1), RELU6, PW}, 0},
    {"mbv2 project 576->96 @14 +residual", SHP(1, 576, 14, 14), {PWD(576, 96, 1), RES, PW}, 0},
    {"mbv2 project 576->160 @7", SHP(1, 576, 7, 7), {PWD(576, 160, 1), PW}, 0},
    {"mbv2 expand 160->960 @7", SHP(1, 160, 7, 7), {PWD(160, 960, 1), RELU6, PW}, 0},
    {"mbv2 project 960->160 @7 +residual", SHP(1, 960, 7, 7), {PWD(960, 160, 1), RES, PW}, 0},
    {"mbv2 project 960->320 @7", SHP(1, 960, 7, 7), {PWD(960, 320, 1), PW}, 0},
    {"mbv2 conv 320->1280 @7", SHP(1, 320, 7, 7), {PWD(320, 1280, 1), RELU6, PW}, 0},
    {"mbv2 expand 24->144 @56 batch2", SHP(2, 24, 56, 56), {PWD(24, 144, 1), RELU6, PW}, 0},
};

static const h_conv_row k_shufflenet_v2[] = {
    {"shufflenet v2 1.0 pw 24->58 @56", SHP(1, 24, 56, 56), {PWD(24, 58, 1), RELU, PW}, 0},
    {"shufflenet v2 1.0 pw 24->58 @28 (branch1)", SHP(1, 24, 28, 28), {PWD(24, 58, 1), RELU, PW}, 0},
    {"shufflenet v2 1.0 pw 58->58 @28", SHP(1, 58, 28, 28), {PWD(58, 58, 1), RELU, PW}, 0},
    {"shufflenet v2 1.0 pw 116->116 @28", SHP(1, 116, 28, 28), {PWD(116, 116, 1), RELU, PW}, 0},
    {"shufflenet v2 1.0 pw 116->116 @14", SHP(1, 116, 14, 14), {PWD(116, 116, 1), RELU, PW}, 0},
    {"shufflenet v2 1.0 pw 232->232 @14", SHP(1, 232, 14, 14), {PWD(232, 232, 1), RELU, PW}, 0},
    {"shufflenet v2 1.0 pw 232->232 @7", SHP(1, 232, 7, 7), {PWD(232, 232, 1), RELU, PW}, 0},
    {"shufflenet v2 1.0 conv5 464->1024 @7", SHP(1, 464, 7, 7), {PWD(464, 1024, 1), RELU, PW}, 0},
    {"shufflenet v2 0.5 pw 24->24 @56", SHP(1, 24, 56, 56), {PWD(24, 24, 1), RELU, PW}, 0},
    {"shufflenet v2 0.5 pw 24->24 @28", SHP(1, 24, 28, 28), {PWD(24, 24, 1), RELU, PW}, 0},
    {"shufflenet v2 0.5 pw 48->48 @28", SHP(1, 48, 28, 28), {PWD(48, 48, 1), RELU, PW}, 0},
    {"shufflenet v2 0.5 pw 48->48 @14", SHP(1, 48, 14, 14), {PWD(48, 48, 1), RELU, PW}, 0},
    {"shufflenet v2 0.5 pw 96->96 @14", SHP(1, 96, 14, 14), {PWD(96, 96, 1), RELU, PW}, 0},
    {"shufflenet v2 0.5 pw 96->96 @7", SHP(1, 96, 7, 7), {PWD(96, 96, 1), RELU, PW}, 0},
    {"shufflenet v2 0.5 conv5 192->1024 @7", SHP(1, 192, 7, 7), {PWD(192, 1024, 1), RELU, PW}, 0},
    {"shufflenet v2 1.0 pw 58->58 @28 batch2", SHP(2, 58, 28, 28), {PWD(58, 58, 1), RELU, PW}, 0},
};

static const h_conv_row k_mnasnet[] = {
    {"mnasnet pw 32->16 @112", SHP(1, 32, 112, 112), {PWD(32, 16, 1), PW}, 0},
    {"mnasnet expand 16->48 @112", SHP(1, 16, 112, 112), {PWD(16, 48, 1), RELU, PW}, 0},
    {"mnasnet project 48->24 @56", SHP(1, 48, 56, 56), {PWD(48, 24, 1), PW}, 0},
    {"mnasnet expand 24->72 @56", SHP(1, 24, 56, 56), {PWD(24, 72, 1), RELU, PW}, 0},
    {"mnasnet project 72->24 @56 +residual", SHP(1, 72, 56, 56), {PWD(72, 24, 1), RES, PW}, 0},
    {"mnasnet project 72->40 @28", SHP(1, 72, 28, 28), {PWD(72, 40, 1), PW}, 0},
    {"mnasnet expand 40->120 @28", SHP(1, 40, 28, 28), {PWD(40, 120, 1), RELU, PW}, 0},
    {"mnasnet project 120->40 @28 +residual", SHP(1, 120, 28, 28), {PWD(120, 40, 1), RES, PW}, 0},
    {"mnasnet expand 40->240 @28", SHP(1, 40, 28, 28), {PWD(40, 240, 1), RELU, PW}, 0},
    {"mnasnet project 240->80 @14", SHP(1, 240, 14, 14), {PWD(240, 80, 1), PW}, 0},
    {"mnasnet expand 80->480 @14", SHP(1, 80, 14, 14), {PWD(80, 480, 1), RELU, PW}, 0},
    {"mnasnet project 480->80 @14 +residual", SHP(1, 480, 14, 14), {PWD(480, 80, 1), RES, PW}, 0},
    {"mnasnet project 480->96 @14", SHP(1, 480, 14, 14), {PWD(480, 96, 1), PW}, 0},
    {"mnasnet expand 96->576 @14", SHP(1, 96, 14, 14), {PWD(96, 576, 1), RELU, PW}, 0},
    {"mnasnet project 576->96 @14 +residual", SHP(1, 576, 14, 14), {PWD(576, 96, 1), RES, PW}, 0},
    {"mnasnet project 576->192 @7", SHP(1, 576, 7, 7), {PWD(576, 192, 1), PW}, 0},
    {"mnasnet expand 192->1152 @7", SHP(1, 192, 7, 7), {PWD(192, 1152, 1), RELU, PW}, 0},
    {"mnasnet project 1152->192 @7 +residual (K=1152: tol 1e-3)", SHP(1, 1152, 7, 7), {PWD(1152, 192, 1), RES, PW}, 0},
    {"mnasnet project 1152->320 @7 (K=1152: tol 1e-3)", SHP(1, 1152, 7, 7), {PWD(1152, 320, 1), PW}, 0},
    {"mnasnet conv 320->1280 @7", SHP(1, 320, 7, 7), {PWD(320, 1280, 1), RELU, PW}, 0},
};

static const h_conv_row k_awkward[] = {
    {"c3->5 13x11", SHP(1, 3, 13, 11), {PWD(3, 5, 1), PW}, 0},
    {"c5->6 13x11 relu", SHP(1, 5, 13, 11), {PWD(5, 6, 1), RELU, PW}, 0},
    {"c6->20 7x7 relu6", SHP(1, 6, 7, 7), {PWD(6, 20, 1), RELU6, PW}, 0},
    {"c20->58 13x11", SHP(1, 20, 13, 11), {PWD(20, 58, 1), PW}, 0},
    {"c58->3 1x1 spatial", SHP(1, 58, 1, 1), {PWD(58, 3, 1), PW}, 0},
    {"c1024->1000 1x1 spatial (classifier as conv, tol 1e-3)", SHP(1, 1024, 1, 1), {PWD(1024, 1000, 1), PW}, 0},
    {"c1->1 13x11", SHP(1, 1, 13, 11), {PWD(1, 1, 1), PW}, 0},
    {"c17->33 1x64", SHP(1, 17, 1, 64), {PWD(17, 33, 1), RELU, PW}, 0},
    {"c9->7 64x1", SHP(1, 9, 64, 1), {PWD(9, 7, 1), PW}, 0},
    {"c20->36 g2 batch2 13x11", SHP(2, 20, 13, 11), {PWD(20, 36, 2), RELU, PW}, 0},
    {"c6->9 g3 13x11 +residual", SHP(1, 6, 13, 11), {PWD(6, 9, 3), RES, PW}, 0},
    {"c58->58 g2 7x7 relu batch2", SHP(2, 58, 7, 7), {PWD(58, 58, 2), RELU, PW}, 0},
    {"c4->4 g4 (per-channel scale) 13x11", SHP(1, 4, 13, 11), {PWD(4, 4, 4), PW}, 0},
    {"c12->24 g12 13x11", SHP(1, 12, 13, 11), {PWD(12, 24, 12), RELU, PW}, 0},
    {"c20->20 g5 13x11 relu6 +residual", SHP(1, 20, 13, 11), {PWD(20, 20, 5), RELU6, RES, PW}, 0},
    {"c116->116 @28 no bias", SHP(1, 116, 28, 28), {PWD(116, 116, 1), PW}, 1},
    {"c24->24 batch2 relu6 +residual no bias 7x7", SHP(2, 24, 7, 7), {PWD(24, 24, 1), RELU6, RES, PW}, 1},
    {"c7->13 batch2 odd 5x3", SHP(2, 7, 5, 3), {PWD(7, 13, 1), PW}, 0},
    {"c16->16 17x17 (hw not a multiple of any tile)", SHP(1, 16, 17, 17), {PWD(16, 16, 1), PW}, 0},
};

/* ShuffleNet V1 1.0x grouped 1x1 layers for every group count of the paper:
 * stage widths O2 (O3 = 2*O2, O4 = 4*O2), bottleneck = out / 4. */
static void shufflenet_v1_rows(mcl_context *ctx, const char *tag, int only_g3)
{
    static const uint32_t groups[] = {1, 2, 3, 4, 8};
    static const uint32_t o2[] = {144, 200, 240, 272, 384};
    for (size_t i = 0; i < N_(groups); i++) {
        const uint32_t g = groups[i];
        if (only_g3 && g != 3)
            continue;
        const uint32_t O2 = o2[i], M2 = O2 / 4, O3 = 2 * O2, M3 = O3 / 4, O4 = 4 * O2, M4 = O4 / 4;
        const struct {
            const char *what;
            uint32_t ci, co, g, hw;
            int act, res;
        } layers[] = {
            {"stage2 unit1 pw (ungrouped) 24->M2", 24, M2, 1, 56, 1, 0},
            {"stage2 unit1 expand M2->O2-24", M2, O2 - 24, g, 28, 0, 0},
            {"stage2 compress O2->M2", O2, M2, g, 28, 1, 0},
            {"stage2 expand M2->O2 +residual relu", M2, O2, g, 28, 1, 1},
            {"stage3 unit1 compress O2->M3", O2, M3, g, 28, 1, 0},
            {"stage3 compress O3->M3", O3, M3, g, 14, 1, 0},
            {"stage3 expand M3->O3 +residual relu", M3, O3, g, 14, 1, 1},
            {"stage4 compress O4->M4", O4, M4, g, 7, 1, 0},
            {"stage4 expand M4->O4 +residual relu", M4, O4, g, 7, 1, 1},
        };
        for (size_t j = 0; j < N_(layers); j++) {
            mcl_conv2d_desc d = {PWD(layers[j].ci, layers[j].co, layers[j].g),
                                 .activation = layers[j].act ? MCL_ACT_RELU : MCL_ACT_NONE,
                                 .residual = layers[j].res, PW};
            char label[192];
            snprintf(label, sizeof label, "shufflenet v1 g%u %s: %u->%u groups %u @%u %s", g, layers[j].what,
                     layers[j].ci, layers[j].co, layers[j].g, layers[j].hw, tag);
            h_conv_check(ctx, &d, h_shape(1, layers[j].ci, layers[j].hw, layers[j].hw), 0, NULL, MCL_FAMILY_PWCONV,
                         label);
        }
    }
}

Test(pwconv, mobilenet_v1, .timeout = 600)
{
    mcl_context *ctx = h_context();
    h_conv_table(ctx, k_mobilenet_v1, N_(k_mobilenet_v1), "", -1, MCL_FAMILY_PWCONV);
    mcl_context_destroy(ctx);
}

Test(pwconv, mobilenet_v2, .timeout = 600)
{
    mcl_context *ctx = h_context();
    h_conv_table(ctx, k_mobilenet_v2, N_(k_mobilenet_v2), "", -1, MCL_FAMILY_PWCONV);
    mcl_context_destroy(ctx);
}

Test(pwconv, shufflenet_v2, .timeout = 600)
{
    mcl_context *ctx = h_context();
    h_conv_table(ctx, k_shufflenet_v2, N_(k_shufflenet_v2), "", -1, MCL_FAMILY_PWCONV);
    mcl_context_destroy(ctx);
}

Test(pwconv, mnasnet, .timeout = 600)
{
    mcl_context *ctx = h_context();
    h_conv_table(ctx, k_mnasnet, N_(k_mnasnet), "", -1, MCL_FAMILY_PWCONV);
    mcl_context_destroy(ctx);
}

Test(pwconv, shufflenet_v1_grouped, .timeout = 600)
{
    mcl_context *ctx = h_context();
    shufflenet_v1_rows(ctx, "", 0);
    mcl_context_destroy(ctx);
}

Test(pwconv, awkward, .timeout = 600)
{
    mcl_context *ctx = h_context();
    h_conv_table(ctx, k_awkward, N_(k_awkward), "", -1, MCL_FAMILY_PWCONV);
    mcl_context_destroy(ctx);
}

/* AUTO on 1x1 / stride 1 / no padding shapes picks the pointwise kernel,
 * except where the shape is also depthwise (groups == in == out), where the
 * depthwise kernel is as right (and a single channel, where any is). */
Test(pwconv, auto_variant_picks_pointwise, .timeout = 600)
{
    mcl_context *ctx = h_context();
    for (size_t i = 0; i < N_(k_awkward); i++) {
        const mcl_conv2d_desc *d = &k_awkward[i].d;
        const int dw = d->groups == d->in_channels && d->groups == d->out_channels;
        /* c1 -> 1 is pointwise, depthwise and dense at once: any family */
        const int fam = d->in_channels == 1 ? -1 : dw ? MCL_FAMILY_DWCONV : MCL_FAMILY_PWCONV;
        h_conv_table(ctx, &k_awkward[i], 1, "(AUTO)", MCL_CONV_AUTO, fam);
    }
    h_conv_table(ctx, k_shufflenet_v2 + 2, 2, "(AUTO)", MCL_CONV_AUTO, MCL_FAMILY_PWCONV);
    mcl_context_destroy(ctx);
}

/* The other channel blocks (4, 8, 16 minus the default) on a subset. */
static const size_t k_block_rows[] = {0, 3, 4, 9, 10, 13, 14, 16, 18};

Test(pwconv, other_blocks, .timeout = 600)
{
    H_FOR_OTHER_BLOCKS(ctx, tag, {
        for (size_t i = 0; i < N_(k_block_rows); i++)
            h_conv_table(ctx, &k_awkward[k_block_rows[i]], 1, tag, -1, MCL_FAMILY_PWCONV);
        shufflenet_v1_rows(ctx, tag, 1);
    });
}

/* MCL_CONV_CLBLAST: 1x1, groups 1 through CLBlast SGEMM plus the epilogue.
 * The build under test has CLBlast, so every row must be OK (it may only be
 * MCL_STATUS_UNSUPPORTED in a build without CLBlast). */
static const h_conv_row k_clblast[] = {
    {"clblast mbv1 32->64 @112", SHP(1, 32, 112, 112), {PWD(32, 64, 1), RELU, .variant = MCL_CONV_CLBLAST}, 0},
    {"clblast mbv1 512->512 @14", SHP(1, 512, 14, 14), {PWD(512, 512, 1), RELU, .variant = MCL_CONV_CLBLAST}, 0},
    {"clblast mbv1 1024->1024 @7 (tol 1e-3)", SHP(1, 1024, 7, 7), {PWD(1024, 1024, 1), RELU, .variant = MCL_CONV_CLBLAST}, 0},
    {"clblast mbv2 24->144 @56 relu6", SHP(1, 24, 56, 56), {PWD(24, 144, 1), RELU6, .variant = MCL_CONV_CLBLAST}, 0},
    {"clblast mbv2 144->24 @56 +residual", SHP(1, 144, 56, 56), {PWD(144, 24, 1), RES, .variant = MCL_CONV_CLBLAST}, 0},
    {"clblast shufflenet v2 116->116 @14", SHP(1, 116, 14, 14), {PWD(116, 116, 1), RELU, .variant = MCL_CONV_CLBLAST}, 0},
    {"clblast c3->5 13x11", SHP(1, 3, 13, 11), {PWD(3, 5, 1), .variant = MCL_CONV_CLBLAST}, 0},
    {"clblast c58->3 1x1 spatial", SHP(1, 58, 1, 1), {PWD(58, 3, 1), .variant = MCL_CONV_CLBLAST}, 0},
    {"clblast c20->58 13x11 batch2 relu", SHP(2, 20, 13, 11), {PWD(20, 58, 1), RELU, .variant = MCL_CONV_CLBLAST}, 0},
    {"clblast c5->6 no bias", SHP(1, 5, 13, 11), {PWD(5, 6, 1), .variant = MCL_CONV_CLBLAST}, 1},
    {"clblast c6->6 relu6 +residual no bias batch2", SHP(2, 6, 7, 7), {PWD(6, 6, 1), RELU6, RES, .variant = MCL_CONV_CLBLAST}, 1},
};

static void clblast_rows(mcl_context *ctx, const char *tag)
{
    for (size_t i = 0; i < N_(k_clblast); i++) {
        char label[192];
        h_label(label, sizeof label, k_clblast[i].name, tag);
        h_conv_check(ctx, &k_clblast[i].d, k_clblast[i].in, k_clblast[i].no_bias, NULL, -1, label);
    }
    /* the kernel name says it went through CLBlast */
    mcl_op *op = NULL;
    float w[6 * 5] = {0};
    mcl_conv2d_desc d = {PWD(5, 6, 1), .variant = MCL_CONV_CLBLAST};
    mcl_shape in = h_shape(1, 5, 13, 11), out;
    H_OK("clblast kernel name", mcl_conv2d_create(ctx, &d, w, NULL, &op));
    H_OK("clblast kernel name", mcl_op_reshape(op, 1, &in, &out));
    const char *name = mcl_op_kernel_name(op);
    cr_expect(name && strstr(name, "clblast"), "clblast variant: mcl_op_kernel_name is \"%s\"", name ? name : "(null)");
    mcl_op_destroy(op);
}

Test(pwconv, clblast, .timeout = 600)
{
    mcl_context *ctx = h_context();
    clblast_rows(ctx, "");
    mcl_context_destroy(ctx);
}

Test(pwconv, clblast_other_blocks, .timeout = 600)
{
    H_FOR_OTHER_BLOCKS(ctx, tag, clblast_rows(ctx, tag));
}
