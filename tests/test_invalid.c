/* Invalid input: tables of bad descriptors and shapes with the expected
 * status of each (validate, and create/reshape agreeing with validate),
 * NULL for every pointer argument of validate/create/reshape/setup/run,
 * lifecycle order (INVALID_STATE), setup with tensors of the wrong shape or
 * layout, and tunables outside the family's space (UNSUPPORTED). Every
 * failure must leave a non-empty mcl_last_error(). */
#define _GNU_SOURCE 1
#include <criterion/criterion.h>

#include "harness.h"
#include "internal.h" /* mcl_dwpw_create (the graph runtime's fused op) */

#define N_(a) (sizeof(a) / sizeof((a)[0]))
#define OK_ MCL_STATUS_OK
#define INV MCL_STATUS_INVALID_ARGUMENT
#define UNS MCL_STATUS_UNSUPPORTED
#define OVF MCL_STATUS_OVERFLOW
#define BIG 0xFFFFFFFFu

/* One expected status, or two accepted ones (alt = st when only one). */
static void expect_status(const char *label, const char *call, mcl_status got, mcl_status st, mcl_status alt)
{
    cr_expect(got == st || got == alt, "[%s] %s -> %s, expected %s%s%s (%s)", label, call, mcl_status_string(got),
              mcl_status_string(st), alt != st ? " or " : "", alt != st ? mcl_status_string(alt) : "", h_err());
    if (got != MCL_STATUS_OK)
        cr_expect(*mcl_last_error(), "[%s] %s failed (%s) with an empty mcl_last_error()", label, call,
                  mcl_status_string(got));
}

/* ---- conv ------------------------------------------------------------------------ */

#define BASE_IN SHP(1, 8, 10, 10)
#define C3 CK(3), CS(1), CP(1), CD(1)

static const struct {
    const char *name;
    mcl_shape in;
    mcl_conv2d_desc d;
    mcl_status st, alt;
} k_conv[] = {
    {"control: 3x3 8->16", BASE_IN, {CIO(8, 16, 1), C3}, OK_, OK_},
    {"control: dilation 0 read as 1", BASE_IN, {CIO(8, 16, 1), CK(3), CS(1), CP(1), CD(0)}, OK_, OK_},
    {"control: depthwise variant", BASE_IN, {CIO(8, 8, 8), C3, .variant = MCL_CONV_DEPTHWISE}, OK_, OK_},
    {"control: pointwise variant grouped", BASE_IN, {CIO(8, 16, 2), CK(1), CS(1), CP(0), CD(1), .variant = MCL_CONV_POINTWISE}, OK_, OK_},
    {"control: clblast variant", BASE_IN, {CIO(8, 16, 1), CK(1), CS(1), CP(0), CD(1), .variant = MCL_CONV_CLBLAST}, OK_, OK_},
    {"control: stride 16 > input (one output pixel)", BASE_IN, {CIO(8, 16, 1), CK(3), CS(16), CP(1), CD(1)}, OK_, OK_},
    /* a huge stride is one output pixel; the library may also cap strides */
    {"stride 0xFFFFFFFF: one output pixel, or rejected", BASE_IN, {CIO(8, 16, 1), CK(3), CS(BIG), CP(1), CD(1)}, OK_, INV},
    {"control: kernel = padded input", SHP(1, 8, 4, 4), {CIO(8, 16, 1), CK(6), CS(1), CP(1), CD(1)}, OK_, OK_},
    {"groups 3 does not divide in 8", BASE_IN, {CIO(8, 16, 3), C3}, INV, INV},
    {"groups 0", BASE_IN, {CIO(8, 16, 0), C3}, INV, INV},
    {"groups 8 divides in 8 but not out 12", BASE_IN, {CIO(8, 12, 8), C3}, INV, INV},
    {"groups 16 > in 8", BASE_IN, {CIO(8, 16, 16), C3}, INV, INV},
    {"in_channels 0", SHP(1, 0, 10, 10), {CIO(0, 16, 1), C3}, INV, INV},
    {"out_channels 0", BASE_IN, {CIO(8, 0, 1), C3}, INV, INV},
    {"kernel_h 0", BASE_IN, {CIO(8, 16, 1), .kernel_h = 0, .kernel_w = 3, CS(1), CP(1), CD(1)}, INV, INV},
    {"kernel_w 0", BASE_IN, {CIO(8, 16, 1), .kernel_h = 3, .kernel_w = 0, CS(1), CP(1), CD(1)}, INV, INV},
    {"stride_h 0", BASE_IN, {CIO(8, 16, 1), CK(3), .stride_h = 0, .stride_w = 1, CP(1), CD(1)}, INV, INV},
    {"stride_w 0", BASE_IN, {CIO(8, 16, 1), CK(3), .stride_h = 1, .stride_w = 0, CP(1), CD(1)}, INV, INV},
    {"kernel 5 > input 4, no pad", SHP(1, 8, 4, 4), {CIO(8, 16, 1), CK(5), CS(1), CP(0), CD(1)}, INV, INV},
    {"kernel 7 > padded input 4+2", SHP(1, 8, 4, 4), {CIO(8, 16, 1), CK(7), CS(1), CP(1), CD(1)}, INV, INV},
    {"kernel_w 13 > padded width 10+2", BASE_IN, {CIO(8, 16, 1), .kernel_h = 3, .kernel_w = 13, CS(1), CP(1), CD(1)}, INV, INV},
    {"dilated extent 7 (3, d3) > input 5", SHP(1, 8, 5, 5), {CIO(8, 16, 1), CK(3), CS(1), CP(0), CD(3)}, INV, INV},
    {"input n 0", SHP(0, 8, 10, 10), {CIO(8, 16, 1), C3}, INV, INV},
    {"input h 0", SHP(1, 8, 0, 10), {CIO(8, 16, 1), C3}, INV, INV},
    {"input w 0", SHP(1, 8, 10, 0), {CIO(8, 16, 1), C3}, INV, INV},
    {"in_channels 8, input has 7", SHP(1, 7, 10, 10), {CIO(8, 16, 1), C3}, INV, INV},
    {"in_channels 8, input has 16", SHP(1, 16, 10, 10), {CIO(8, 16, 1), C3}, INV, INV},
    {"activation 3", BASE_IN, {CIO(8, 16, 1), C3, .activation = (mcl_activation)3}, INV, INV},
    {"activation -1", BASE_IN, {CIO(8, 16, 1), C3, .activation = (mcl_activation)-1}, INV, INV},
    {"variant 99", BASE_IN, {CIO(8, 16, 1), C3, .variant = (mcl_conv_variant)99}, INV, INV},
    {"depthwise variant with groups 1", BASE_IN, {CIO(8, 8, 1), C3, .variant = MCL_CONV_DEPTHWISE}, INV, UNS},
    {"depthwise variant with out = 2 x in", BASE_IN, {CIO(8, 16, 8), C3, .variant = MCL_CONV_DEPTHWISE}, INV, UNS},
    {"pointwise variant with 3x3", BASE_IN, {CIO(8, 16, 1), C3, .variant = MCL_CONV_POINTWISE}, INV, UNS},
    {"pointwise variant with stride 2", BASE_IN, {CIO(8, 16, 1), CK(1), CS(2), CP(0), CD(1), .variant = MCL_CONV_POINTWISE}, INV, UNS},
    {"pointwise variant with padding", BASE_IN, {CIO(8, 16, 1), CK(1), CS(1), CP(1), CD(1), .variant = MCL_CONV_POINTWISE}, INV, UNS},
    {"clblast variant with groups 2", BASE_IN, {CIO(8, 16, 2), CK(1), CS(1), CP(0), CD(1), .variant = MCL_CONV_CLBLAST}, INV, UNS},
    {"clblast variant with 3x3", BASE_IN, {CIO(8, 16, 1), C3, .variant = MCL_CONV_CLBLAST}, INV, UNS},
    /* sizes whose arithmetic overflows */
    {"c=h=w=0xFFFFFFFF", SHP(1, BIG, BIG, BIG), {CIO(BIG, 1, 1), CK(1), CS(1), CP(0), CD(1)}, OVF, INV},
    {"n=0xFFFFFFFF c=16 h=w=0xFFFF (element count)", SHP(BIG, 16, 0xFFFF, 0xFFFF), {CIO(16, 16, 1), CK(1), CS(1), CP(0), CD(1)}, OVF, INV},
    {"pad_top 0xFFFFFFFF (h + pads wraps in 32 bits)", SHP(1, 8, 5, 5), {CIO(8, 16, 1), CK(3), CS(1), CPAD(BIG, 1, 2, 1), CD(1)}, OVF, INV},
    {"pad_left + pad_right = 2^32 (wraps to 0)", BASE_IN, {CIO(8, 16, 1), CK(3), CS(1), CPAD(1, 0x80000000u, 1, 0x80000000u), CD(1)}, OVF, INV},
    {"dilation 0x80000000 (extent (k-1)*d wraps)", BASE_IN, {CIO(8, 16, 1), CK(3), CS(1), CP(1), CD(0x80000000u)}, OVF, INV},
    {"weights 0xFFFFFFFF x 0xFFFFFFFF floats (bytes overflow)", SHP(1, BIG, 1, 1), {CIO(BIG, BIG, 1), CK(1), CS(1), CP(0), CD(1)}, OVF, INV},
};

Test(invalid, conv_table, .timeout = 600)
{
    mcl_context *ctx = h_context();
    for (size_t i = 0; i < N_(k_conv); i++) {
        const char *label = k_conv[i].name;
        mcl_shape out;
        mcl_status st = mcl_conv2d_validate(&k_conv[i].d, &k_conv[i].in, &out);
        expect_status(label, "mcl_conv2d_validate", st, k_conv[i].st, k_conv[i].alt);

        /* create + reshape agree with validate (small rows only) */
        const mcl_conv2d_desc *d = &k_conv[i].d;
        const uint64_t nw = (uint64_t)d->out_channels * d->in_channels * d->kernel_h * d->kernel_w;
        if (nw > (1u << 22) || k_conv[i].in.n > 16 || k_conv[i].in.h > 4096 || k_conv[i].in.w > 4096)
            continue;
        float *w = (float *)calloc(nw ? nw : 1, sizeof(float));
        float *b = (float *)calloc(d->out_channels ? d->out_channels : 1, sizeof(float));
        cr_assert(w && b);
        mcl_op *op = NULL;
        mcl_status cs = mcl_conv2d_create(ctx, d, w, b, &op);
        if (cs != MCL_STATUS_OK) {
            expect_status(label, "mcl_conv2d_create", cs, k_conv[i].st, k_conv[i].alt);
            cr_expect(k_conv[i].st != MCL_STATUS_OK || k_conv[i].alt != MCL_STATUS_OK, "[%s] valid row, create failed",
                      label);
        } else {
            mcl_status rs = mcl_op_reshape(op, 1, &k_conv[i].in, &out);
            expect_status(label, "mcl_op_reshape (after create OK)", rs, k_conv[i].st, k_conv[i].alt);
            mcl_op_destroy(op);
        }
        free(w);
        free(b);
    }
    mcl_context_destroy(ctx);
}

/* ---- pool ------------------------------------------------------------------------ */

static const struct {
    const char *name;
    mcl_shape in;
    mcl_pool2d_desc d;
    mcl_status st, alt;
} k_pool[] = {
    {"control: max 3x3 s2 p1", BASE_IN, {.type = MCL_POOL_MAX, CK(3), CS(2), CP(1)}, OK_, OK_},
    {"control: avg 3x3 s2 p1 incl pad", BASE_IN, {.type = MCL_POOL_AVG, CK(3), CS(2), CP(1), .count_include_pad = 1}, OK_, OK_},
    {"control: global avg, kernel fields 0", BASE_IN, {.type = MCL_POOL_GLOBAL_AVG}, OK_, OK_},
    {"kernel_h 0", BASE_IN, {.type = MCL_POOL_MAX, .kernel_h = 0, .kernel_w = 3, CS(1), CP(0)}, INV, INV},
    {"kernel_w 0", BASE_IN, {.type = MCL_POOL_AVG, .kernel_h = 3, .kernel_w = 0, CS(1), CP(0)}, INV, INV},
    {"stride_h 0", BASE_IN, {.type = MCL_POOL_MAX, CK(3), .stride_h = 0, .stride_w = 1, CP(0)}, INV, INV},
    {"stride_w 0", BASE_IN, {.type = MCL_POOL_AVG, CK(3), .stride_h = 1, .stride_w = 0, CP(0)}, INV, INV},
    {"type 7", BASE_IN, {.type = (mcl_pool_type)7, CK(3), CS(1), CP(0)}, INV, INV},
    {"kernel 5 > input 4", SHP(1, 8, 4, 4), {.type = MCL_POOL_MAX, CK(5), CS(1), CP(0)}, INV, INV},
    {"kernel 13 > padded width 10+2", BASE_IN, {.type = MCL_POOL_AVG, .kernel_h = 3, .kernel_w = 13, CS(1), CP(1)}, INV, INV},
    {"input n 0", SHP(0, 8, 10, 10), {.type = MCL_POOL_MAX, CK(3), CS(1), CP(0)}, INV, INV},
    {"input c 0", SHP(1, 0, 10, 10), {.type = MCL_POOL_MAX, CK(3), CS(1), CP(0)}, INV, INV},
    {"input h 0 (global)", SHP(1, 8, 0, 10), {.type = MCL_POOL_GLOBAL_AVG}, INV, INV},
    {"max window entirely in padding (pad 3 >= kernel 3)", BASE_IN, {.type = MCL_POOL_MAX, CK(3), CS(1), CP(3)}, INV, UNS},
    {"avg excl-pad window entirely in padding (pad 2 >= kernel 2)", BASE_IN, {.type = MCL_POOL_AVG, CK(2), CS(1), CP(2)}, INV, UNS},
    {"c=h=w=0xFFFFFFFF", SHP(1, BIG, BIG, BIG), {.type = MCL_POOL_MAX, CK(1), CS(1), CP(0)}, OVF, INV},
    {"pad_top 0xFFFFFFFF", SHP(1, 8, 5, 5), {.type = MCL_POOL_MAX, CK(3), CS(1), CPAD(BIG, 1, 2, 1)}, OVF, INV},
};

Test(invalid, pool_table)
{
    mcl_context *ctx = h_context();
    for (size_t i = 0; i < N_(k_pool); i++) {
        const char *label = k_pool[i].name;
        mcl_shape out;
        mcl_status st = mcl_pool2d_validate(&k_pool[i].d, &k_pool[i].in, &out);
        expect_status(label, "mcl_pool2d_validate", st, k_pool[i].st, k_pool[i].alt);
        if (k_pool[i].in.c > 4096 || k_pool[i].in.h > 4096 || k_pool[i].in.w > 4096)
            continue;
        mcl_op *op = NULL;
        mcl_status cs = mcl_pool2d_create(ctx, &k_pool[i].d, &op);
        if (cs != MCL_STATUS_OK) {
            expect_status(label, "mcl_pool2d_create", cs, k_pool[i].st, k_pool[i].alt);
        } else {
            mcl_status rs = mcl_op_reshape(op, 1, &k_pool[i].in, &out);
            expect_status(label, "mcl_op_reshape (after create OK)", rs, k_pool[i].st, k_pool[i].alt);
            mcl_op_destroy(op);
        }
    }
    mcl_context_destroy(ctx);
}

/* ---- fc ------------------------------------------------------------------------ */

static const struct {
    const char *name;
    mcl_shape in;
    mcl_fc_desc d;
    mcl_status st, alt;
} k_fc[] = {
    {"control: 1024 -> 1000", SHP(1, 1024, 1, 1), {1024, 1000, MCL_ACT_NONE}, OK_, OK_},
    {"control: flatten 6x3x5 = 90 -> 10", SHP(2, 6, 3, 5), {90, 10, MCL_ACT_RELU}, OK_, OK_},
    {"in_features 89 != c*h*w 90", SHP(2, 6, 3, 5), {89, 10, MCL_ACT_NONE}, INV, INV},
    {"in_features 6 = c only, h*w ignored", SHP(2, 6, 3, 5), {6, 10, MCL_ACT_NONE}, INV, INV},
    {"out_features 0", SHP(1, 16, 1, 1), {16, 0, MCL_ACT_NONE}, INV, INV},
    {"in_features 0", SHP(1, 16, 1, 1), {0, 10, MCL_ACT_NONE}, INV, INV},
    {"activation 5", SHP(1, 16, 1, 1), {16, 10, (mcl_activation)5}, INV, INV},
    {"input n 0", SHP(0, 16, 1, 1), {16, 10, MCL_ACT_NONE}, INV, INV},
    {"c*h*w = 2^32 + 2^16 wraps to in_features 2^16 in 32 bits", SHP(1, 0x10001, 0x10000, 1), {0x10000, 10, MCL_ACT_NONE}, INV, OVF},
    {"c=h=w=0xFFFFFFFF", SHP(1, BIG, BIG, BIG), {BIG, 10, MCL_ACT_NONE}, OVF, INV},
};

Test(invalid, fc_table)
{
    mcl_context *ctx = h_context();
    for (size_t i = 0; i < N_(k_fc); i++) {
        const char *label = k_fc[i].name;
        mcl_shape out;
        mcl_status st = mcl_fc_validate(&k_fc[i].d, &k_fc[i].in, &out);
        expect_status(label, "mcl_fc_validate", st, k_fc[i].st, k_fc[i].alt);
        const uint64_t nw = (uint64_t)k_fc[i].d.in_features * k_fc[i].d.out_features;
        if (nw > (1u << 22))
            continue;
        float *w = (float *)calloc(nw ? nw : 1, sizeof(float));
        cr_assert(w);
        mcl_op *op = NULL;
        mcl_status cs = mcl_fc_create(ctx, &k_fc[i].d, w, NULL, &op);
        if (cs != MCL_STATUS_OK) {
            expect_status(label, "mcl_fc_create", cs, k_fc[i].st, k_fc[i].alt);
        } else {
            mcl_status rs = mcl_op_reshape(op, 1, &k_fc[i].in, &out);
            expect_status(label, "mcl_op_reshape (after create OK)", rs, k_fc[i].st, k_fc[i].alt);
            mcl_op_destroy(op);
        }
        free(w);
    }
    mcl_context_destroy(ctx);
}

/* ---- channel ------------------------------------------------------------------------ */

static const struct {
    const char *name;
    mcl_shape in[2];
    mcl_channel_desc d;
    mcl_status st, alt;
} k_channel[] = {
    {"control: shuffle g4", {SHP(1, 20, 13, 11)}, {.channels = 20, .offset = 0, .groups = 4, .inputs = 1}, OK_, OK_},
    {"control: split offset 4 rest", {SHP(1, 20, 13, 11)}, {.channels = 0, .offset = 4, .groups = 1, .inputs = 1}, OK_, OK_},
    {"control: concat", {SHP(1, 20, 13, 11), SHP(1, 6, 13, 11)}, {.channels = 0, .offset = 0, .groups = 1, .inputs = 2}, OK_, OK_},
    {"control: concat + shuffle g2", {SHP(1, 20, 13, 11), SHP(1, 6, 13, 11)}, {.channels = 0, .offset = 0, .groups = 2, .inputs = 2}, OK_, OK_},
    {"concat with 3 inputs", {SHP(1, 20, 13, 11), SHP(1, 6, 13, 11)}, {.channels = 0, .offset = 0, .groups = 1, .inputs = 3}, INV, INV},
    {"inputs 0", {SHP(1, 20, 13, 11)}, {.channels = 0, .offset = 0, .groups = 1, .inputs = 0}, INV, INV},
    {"offset 10 + channels 12 > 20", {SHP(1, 20, 13, 11)}, {.channels = 12, .offset = 10, .groups = 1, .inputs = 1}, INV, INV},
    {"offset 20 = C, channels 0: nothing left", {SHP(1, 20, 13, 11)}, {.channels = 0, .offset = 20, .groups = 1, .inputs = 1}, INV, INV},
    {"offset 25 > C", {SHP(1, 20, 13, 11)}, {.channels = 1, .offset = 25, .groups = 1, .inputs = 1}, INV, INV},
    {"two inputs: offset 20 + channels 7 > 26", {SHP(1, 20, 13, 11), SHP(1, 6, 13, 11)}, {.channels = 7, .offset = 20, .groups = 1, .inputs = 2}, INV, INV},
    {"channels 21 > C 20", {SHP(1, 20, 13, 11)}, {.channels = 21, .offset = 0, .groups = 1, .inputs = 1}, INV, INV},
    {"groups 3 does not divide 20", {SHP(1, 20, 13, 11)}, {.channels = 20, .offset = 0, .groups = 3, .inputs = 1}, INV, INV},
    {"groups 3 does not divide 20-4 (channels 0)", {SHP(1, 20, 13, 11)}, {.channels = 0, .offset = 4, .groups = 3, .inputs = 1}, INV, INV},
    {"groups 40 > channels 20", {SHP(1, 20, 13, 11)}, {.channels = 20, .offset = 0, .groups = 40, .inputs = 1}, INV, INV},
    {"two inputs, different h", {SHP(1, 20, 13, 11), SHP(1, 6, 12, 11)}, {.channels = 0, .offset = 0, .groups = 1, .inputs = 2}, INV, INV},
    {"two inputs, different w", {SHP(1, 20, 13, 11), SHP(1, 6, 13, 10)}, {.channels = 0, .offset = 0, .groups = 1, .inputs = 2}, INV, INV},
    {"two inputs, different n", {SHP(1, 20, 13, 11), SHP(2, 6, 13, 11)}, {.channels = 0, .offset = 0, .groups = 1, .inputs = 2}, INV, INV},
    {"input c 0", {SHP(1, 0, 13, 11)}, {.channels = 0, .offset = 0, .groups = 1, .inputs = 1}, INV, INV},
    {"input h 0", {SHP(1, 20, 0, 11)}, {.channels = 0, .offset = 0, .groups = 1, .inputs = 1}, INV, INV},
    {"offset 0xFFFFFFFF + channels 2 wraps", {SHP(1, 20, 13, 11)}, {.channels = 2, .offset = BIG, .groups = 1, .inputs = 1}, INV, OVF},
    {"two inputs of 0x80000000 channels (sum wraps)", {SHP(1, 0x80000000u, 1, 1), SHP(1, 0x80000000u, 1, 1)}, {.channels = 4, .offset = 0, .groups = 1, .inputs = 2}, OVF, INV},
};

Test(invalid, channel_table)
{
    mcl_context *ctx = h_context();
    for (size_t i = 0; i < N_(k_channel); i++) {
        const char *label = k_channel[i].name;
        mcl_shape out;
        mcl_status st = mcl_channel_validate(&k_channel[i].d, k_channel[i].in, &out);
        expect_status(label, "mcl_channel_validate", st, k_channel[i].st, k_channel[i].alt);
        mcl_op *op = NULL;
        mcl_status cs = mcl_channel_create(ctx, &k_channel[i].d, &op);
        if (cs != MCL_STATUS_OK) {
            expect_status(label, "mcl_channel_create", cs, k_channel[i].st, k_channel[i].alt);
        } else {
            size_t n_in = k_channel[i].d.inputs == 2 ? 2 : 1;
            mcl_status rs = mcl_op_reshape(op, n_in, k_channel[i].in, &out);
            expect_status(label, "mcl_op_reshape (after create OK)", rs, k_channel[i].st, k_channel[i].alt);
            mcl_op_destroy(op);
        }
    }
    mcl_context_destroy(ctx);
}

/* ---- add and softmax ------------------------------------------------------------------ */

static const struct {
    const char *name;
    mcl_shape in[2];
    mcl_add_desc d;
    mcl_status st, alt;
} k_add[] = {
    {"control: same shapes", {SHP(2, 5, 3, 3), SHP(2, 5, 3, 3)}, {MCL_ACT_RELU}, OK_, OK_},
    {"different c", {SHP(2, 5, 3, 3), SHP(2, 6, 3, 3)}, {MCL_ACT_NONE}, INV, INV},
    {"different h", {SHP(2, 5, 3, 3), SHP(2, 5, 4, 3)}, {MCL_ACT_NONE}, INV, INV},
    {"different w", {SHP(2, 5, 3, 3), SHP(2, 5, 3, 1)}, {MCL_ACT_NONE}, INV, INV},
    {"different n", {SHP(2, 5, 3, 3), SHP(1, 5, 3, 3)}, {MCL_ACT_NONE}, INV, INV},
    {"activation 4", {SHP(2, 5, 3, 3), SHP(2, 5, 3, 3)}, {(mcl_activation)4}, INV, INV},
    {"zero shapes", {SHP(2, 0, 3, 3), SHP(2, 0, 3, 3)}, {MCL_ACT_NONE}, INV, INV},
    {"c=h=w=0xFFFFFFFF", {SHP(1, BIG, BIG, BIG), SHP(1, BIG, BIG, BIG)}, {MCL_ACT_NONE}, OVF, INV},
};

Test(invalid, add_table)
{
    mcl_context *ctx = h_context();
    for (size_t i = 0; i < N_(k_add); i++) {
        const char *label = k_add[i].name;
        mcl_shape out;
        mcl_status st = mcl_add_validate(&k_add[i].d, k_add[i].in, &out);
        expect_status(label, "mcl_add_validate", st, k_add[i].st, k_add[i].alt);
        mcl_op *op = NULL;
        mcl_status cs = mcl_add_create(ctx, &k_add[i].d, &op);
        if (cs != MCL_STATUS_OK) {
            expect_status(label, "mcl_add_create", cs, k_add[i].st, k_add[i].alt);
        } else {
            mcl_status rs = mcl_op_reshape(op, 2, k_add[i].in, &out);
            expect_status(label, "mcl_op_reshape (after create OK)", rs, k_add[i].st, k_add[i].alt);
            /* an add takes exactly two inputs */
            if (k_add[i].st == MCL_STATUS_OK)
                expect_status(label, "mcl_op_reshape with 1 input", mcl_op_reshape(op, 1, k_add[i].in, &out), INV,
                              INV);
            mcl_op_destroy(op);
        }
    }
    mcl_context_destroy(ctx);
}

Test(invalid, softmax_table)
{
    static const struct {
        const char *name;
        mcl_shape in;
        mcl_status st, alt;
    } rows[] = {
        {"control", SHP(2, 10, 1, 1), OK_, OK_},
        {"n 0", SHP(0, 10, 1, 1), INV, INV},
        {"c 0", SHP(1, 0, 1, 1), INV, INV},
        {"h 0", SHP(1, 10, 0, 1), INV, INV},
        {"w 0", SHP(1, 10, 1, 0), INV, INV},
        {"c=h=w=0xFFFFFFFF", SHP(1, BIG, BIG, BIG), OVF, INV},
    };
    for (size_t i = 0; i < N_(rows); i++) {
        mcl_shape out;
        expect_status(rows[i].name, "mcl_softmax_validate", mcl_softmax_validate(&rows[i].in, &out), rows[i].st,
                      rows[i].alt);
    }
}

/* ---- NULL pointers ------------------------------------------------------------------------ */

Test(invalid, null_validate)
{
    const mcl_conv2d_desc cd = {CIO(8, 16, 1), C3};
    const mcl_pool2d_desc pd = {.type = MCL_POOL_MAX, CK(3), CS(1), CP(1)};
    const mcl_fc_desc fd = {8 * 10 * 10, 10, MCL_ACT_NONE};
    const mcl_channel_desc chd = {.channels = 0, .offset = 0, .groups = 2, .inputs = 1};
    const mcl_add_desc ad = {MCL_ACT_NONE};
    const mcl_shape in[2] = {BASE_IN, BASE_IN};
    mcl_shape out;
    H_FAIL("conv validate d NULL", mcl_conv2d_validate(NULL, in, &out), INV);
    H_FAIL("conv validate in NULL", mcl_conv2d_validate(&cd, NULL, &out), INV);
    H_FAIL("conv validate out NULL", mcl_conv2d_validate(&cd, in, NULL), INV);
    H_FAIL("pool validate d NULL", mcl_pool2d_validate(NULL, in, &out), INV);
    H_FAIL("pool validate in NULL", mcl_pool2d_validate(&pd, NULL, &out), INV);
    H_FAIL("pool validate out NULL", mcl_pool2d_validate(&pd, in, NULL), INV);
    H_FAIL("fc validate d NULL", mcl_fc_validate(NULL, in, &out), INV);
    H_FAIL("fc validate in NULL", mcl_fc_validate(&fd, NULL, &out), INV);
    H_FAIL("fc validate out NULL", mcl_fc_validate(&fd, in, NULL), INV);
    H_FAIL("channel validate d NULL", mcl_channel_validate(NULL, in, &out), INV);
    H_FAIL("channel validate in NULL", mcl_channel_validate(&chd, NULL, &out), INV);
    H_FAIL("channel validate out NULL", mcl_channel_validate(&chd, in, NULL), INV);
    H_FAIL("add validate d NULL", mcl_add_validate(NULL, in, &out), INV);
    H_FAIL("add validate in NULL", mcl_add_validate(&ad, NULL, &out), INV);
    H_FAIL("add validate out NULL", mcl_add_validate(&ad, in, NULL), INV);
    H_FAIL("softmax validate in NULL", mcl_softmax_validate(NULL, &out), INV);
    H_FAIL("softmax validate out NULL", mcl_softmax_validate(in, NULL), INV);
}

Test(invalid, null_create)
{
    mcl_context *ctx = h_context();
    const mcl_conv2d_desc cd = {CIO(8, 16, 1), C3};
    const mcl_pool2d_desc pd = {.type = MCL_POOL_MAX, CK(3), CS(1), CP(1)};
    const mcl_fc_desc fd = {16, 10, MCL_ACT_NONE};
    const mcl_channel_desc chd = {.channels = 0, .offset = 0, .groups = 2, .inputs = 1};
    const mcl_add_desc ad = {MCL_ACT_NONE};
    static float w[16 * 8 * 9], b[16];
    mcl_op *op = NULL;
    H_FAIL("conv create ctx NULL", mcl_conv2d_create(NULL, &cd, w, b, &op), INV);
    H_FAIL("conv create d NULL", mcl_conv2d_create(ctx, NULL, w, b, &op), INV);
    H_FAIL("conv create weights NULL", mcl_conv2d_create(ctx, &cd, NULL, b, &op), INV);
    H_FAIL("conv create op NULL", mcl_conv2d_create(ctx, &cd, w, b, NULL), INV);
    H_FAIL("pool create ctx NULL", mcl_pool2d_create(NULL, &pd, &op), INV);
    H_FAIL("pool create d NULL", mcl_pool2d_create(ctx, NULL, &op), INV);
    H_FAIL("pool create op NULL", mcl_pool2d_create(ctx, &pd, NULL), INV);
    H_FAIL("fc create ctx NULL", mcl_fc_create(NULL, &fd, w, b, &op), INV);
    H_FAIL("fc create d NULL", mcl_fc_create(ctx, NULL, w, b, &op), INV);
    H_FAIL("fc create weights NULL", mcl_fc_create(ctx, &fd, NULL, b, &op), INV);
    H_FAIL("fc create op NULL", mcl_fc_create(ctx, &fd, w, b, NULL), INV);
    H_FAIL("channel create ctx NULL", mcl_channel_create(NULL, &chd, &op), INV);
    H_FAIL("channel create d NULL", mcl_channel_create(ctx, NULL, &op), INV);
    H_FAIL("channel create op NULL", mcl_channel_create(ctx, &chd, NULL), INV);
    H_FAIL("add create ctx NULL", mcl_add_create(NULL, &ad, &op), INV);
    H_FAIL("add create d NULL", mcl_add_create(ctx, NULL, &op), INV);
    H_FAIL("add create op NULL", mcl_add_create(ctx, &ad, NULL), INV);
    H_FAIL("softmax create ctx NULL", mcl_softmax_create(NULL, &op), INV);
    H_FAIL("softmax create op NULL", mcl_softmax_create(ctx, NULL), INV);
    /* invalid descriptors at create time too */
    const mcl_channel_desc ch3 = {.channels = 0, .offset = 0, .groups = 1, .inputs = 3};
    H_FAIL("channel create with 3 inputs", mcl_channel_create(ctx, &ch3, &op), INV);
    const mcl_conv2d_desc g3 = {CIO(8, 16, 3), C3};
    H_FAIL("conv create groups 3 of 8", mcl_conv2d_create(ctx, &g3, w, b, &op), INV);
    mcl_op_destroy(NULL); /* no-op */
    mcl_context_destroy(ctx);
}

static mcl_op *make_conv(mcl_context *ctx, const mcl_conv2d_desc *d)
{
    static float w[64 * 64 * 9], b[64];
    mcl_op *op = NULL;
    H_OK("make conv", mcl_conv2d_create(ctx, d, w, b, &op));
    return op;
}

Test(invalid, null_reshape_setup_run)
{
    mcl_context *ctx = h_context();
    const mcl_conv2d_desc cd = {CIO(8, 16, 1), C3};
    mcl_op *op = make_conv(ctx, &cd);
    const mcl_shape in = BASE_IN;
    mcl_shape out;
    H_FAIL("reshape op NULL", mcl_op_reshape(NULL, 1, &in, &out), INV);
    H_FAIL("reshape in NULL", mcl_op_reshape(op, 1, NULL, &out), INV);
    H_FAIL("reshape out NULL", mcl_op_reshape(op, 1, &in, NULL), INV);
    H_FAIL("reshape n_in 0", mcl_op_reshape(op, 0, &in, &out), INV);
    const mcl_shape in2[2] = {BASE_IN, BASE_IN};
    H_FAIL("reshape conv with n_in 2", mcl_op_reshape(op, 2, in2, &out), INV);
    H_OK("reshape", mcl_op_reshape(op, 1, &in, &out));
    mcl_tensor *ti = h_tensor(ctx, in, MCL_LAYOUT_BLOCKED, "in");
    mcl_tensor *to = h_tensor(ctx, out, MCL_LAYOUT_BLOCKED, "out");
    mcl_tensor *null_in[1] = {NULL};
    H_FAIL("setup op NULL", mcl_op_setup(NULL, 1, &ti, to), INV);
    H_FAIL("setup in array NULL", mcl_op_setup(op, 1, NULL, to), INV);
    H_FAIL("setup in[0] NULL", mcl_op_setup(op, 1, null_in, to), INV);
    H_FAIL("setup out NULL", mcl_op_setup(op, 1, &ti, NULL), INV);
    H_FAIL("setup n_in 0", mcl_op_setup(op, 0, &ti, to), INV);
    H_FAIL("run op NULL", mcl_op_run(NULL, NULL), INV);
    mcl_tunables t = {0, 0, 0, 0};
    mcl_family f;
    H_FAIL("set_tunables op NULL", mcl_op_set_tunables(NULL, &t), INV);
    H_FAIL("get_tunables op NULL", mcl_op_get_tunables(NULL, &f, &t), INV);
    H_FAIL("get_tunables family NULL", mcl_op_get_tunables(op, NULL, &t), INV);
    H_FAIL("get_tunables t NULL", mcl_op_get_tunables(op, &f, NULL), INV);
    cr_expect(mcl_op_kernel_name(NULL) != NULL, "mcl_op_kernel_name(NULL) must not be NULL");
    cr_expect_eq(mcl_op_flops(NULL), 0.0);
    mcl_tensor_destroy(ti);
    mcl_tensor_destroy(to);
    mcl_op_destroy(op);
    mcl_context_destroy(ctx);
}

/* ---- lifecycle order ------------------------------------------------------------------ */

Test(invalid, lifecycle_state)
{
    mcl_context *ctx = h_context();
    const mcl_conv2d_desc cd = {CIO(8, 16, 1), C3};
    mcl_op *op = make_conv(ctx, &cd);
    const mcl_shape in = BASE_IN, in_b = SHP(2, 8, 7, 7);
    mcl_shape out, out_b;
    mcl_family f;
    mcl_tunables t;
    H_OK("validate", mcl_conv2d_validate(&cd, &in, &out));
    mcl_tensor *ti = h_tensor(ctx, in, MCL_LAYOUT_BLOCKED, "in");
    mcl_tensor *to = h_tensor(ctx, out, MCL_LAYOUT_BLOCKED, "out");

    H_FAIL("run before reshape", mcl_op_run(op, NULL), MCL_STATUS_INVALID_STATE);
    H_FAIL("setup before reshape", mcl_op_setup(op, 1, &ti, to), MCL_STATUS_INVALID_STATE);
    H_FAIL("get_tunables before reshape", mcl_op_get_tunables(op, &f, &t), MCL_STATUS_INVALID_STATE);
    H_OK("reshape", mcl_op_reshape(op, 1, &in, &out));
    H_FAIL("run before setup", mcl_op_run(op, NULL), MCL_STATUS_INVALID_STATE);
    H_OK("setup", mcl_op_setup(op, 1, &ti, to));
    H_OK("run", mcl_op_run(op, NULL));
    H_OK("finish", mcl_context_finish(ctx));

    /* reshape to another shape: the bound tensors no longer fit */
    H_OK("reshape b", mcl_op_reshape(op, 1, &in_b, &out_b));
    H_FAIL("run after a reshape, before a new setup", mcl_op_run(op, NULL), MCL_STATUS_INVALID_STATE);
    H_FAIL("setup with the old tensors after a reshape", mcl_op_setup(op, 1, &ti, to), INV);

    /* a failed reshape leaves the op unusable until a good one */
    const mcl_shape bad = SHP(1, 7, 10, 10);
    H_OK("reshape", mcl_op_reshape(op, 1, &in, &out));
    H_OK("setup", mcl_op_setup(op, 1, &ti, to));
    H_FAIL("reshape with wrong channels", mcl_op_reshape(op, 1, &bad, &out_b), INV);
    H_FAIL("run after a failed reshape", mcl_op_run(op, NULL), MCL_STATUS_INVALID_STATE);
    H_OK("reshape", mcl_op_reshape(op, 1, &in, &out));
    H_OK("setup", mcl_op_setup(op, 1, &ti, to));
    H_OK("run", mcl_op_run(op, NULL));
    H_OK("finish", mcl_context_finish(ctx));

    mcl_tensor_destroy(ti);
    mcl_tensor_destroy(to);
    mcl_op_destroy(op);
    mcl_context_destroy(ctx);
}

/* ---- setup with wrong tensors ---------------------------------------------------------- */

Test(invalid, setup_wrong_tensors)
{
    mcl_context *ctx = h_context();
    const mcl_conv2d_desc cd = {CIO(8, 16, 1), C3};
    const mcl_conv2d_desc cr = {CIO(8, 16, 1), C3, .residual = 1};
    mcl_op *op = make_conv(ctx, &cd);
    mcl_op *opr = make_conv(ctx, &cr);
    const mcl_shape in = BASE_IN;
    mcl_shape out;
    H_OK("reshape", mcl_op_reshape(op, 1, &in, &out));
    H_OK("reshape residual op", mcl_op_reshape(opr, 1, &in, &out));
    mcl_tensor *ti = h_tensor(ctx, in, MCL_LAYOUT_BLOCKED, "in");
    mcl_tensor *to = h_tensor(ctx, out, MCL_LAYOUT_BLOCKED, "out");
    mcl_tensor *tres = h_tensor(ctx, out, MCL_LAYOUT_BLOCKED, "residual");
    mcl_tensor *ti_nchw = h_tensor(ctx, in, MCL_LAYOUT_NCHW, "in nchw");
    mcl_tensor *to_nchw = h_tensor(ctx, out, MCL_LAYOUT_NCHW, "out nchw");
    mcl_tensor *ti_w = h_tensor(ctx, h_shape(1, 8, 10, 9), MCL_LAYOUT_BLOCKED, "in wrong w");
    mcl_tensor *ti_c = h_tensor(ctx, h_shape(1, 7, 10, 10), MCL_LAYOUT_BLOCKED, "in wrong c");
    mcl_tensor *ti_n = h_tensor(ctx, h_shape(2, 8, 10, 10), MCL_LAYOUT_BLOCKED, "in wrong n");
    mcl_tensor *to_c = h_tensor(ctx, h_shape(out.n, out.c + 1, out.h, out.w), MCL_LAYOUT_BLOCKED, "out wrong c");
    mcl_tensor *to_h = h_tensor(ctx, h_shape(out.n, out.c, out.h + 1, out.w), MCL_LAYOUT_BLOCKED, "out wrong h");

    H_FAIL("input of wrong w", mcl_op_setup(op, 1, &ti_w, to), INV);
    H_FAIL("input of wrong c", mcl_op_setup(op, 1, &ti_c, to), INV);
    H_FAIL("input of wrong n", mcl_op_setup(op, 1, &ti_n, to), INV);
    H_FAIL("output of wrong c", mcl_op_setup(op, 1, &ti, to_c), INV);
    H_FAIL("output of wrong h", mcl_op_setup(op, 1, &ti, to_h), INV);
    H_FAIL("input NCHW instead of blocked", mcl_op_setup(op, 1, &ti_nchw, to), INV);
    H_FAIL("output NCHW instead of blocked", mcl_op_setup(op, 1, &ti, to_nchw), INV);
    H_FAIL("output aliases the input", mcl_op_setup(op, 1, &to, to), INV);
    mcl_tensor *two[2] = {ti, tres};
    H_FAIL("residual given to an op without residual", mcl_op_setup(op, 2, two, to), INV);
    H_FAIL("residual op without its residual", mcl_op_setup(opr, 1, &ti, to), INV);
    mcl_tensor *res_bad[2] = {ti, to_c};
    H_FAIL("residual of wrong shape", mcl_op_setup(opr, 2, res_bad, to), INV);
    mcl_tensor *res_nchw[2] = {ti, to_nchw};
    H_FAIL("residual NCHW", mcl_op_setup(opr, 2, res_nchw, to), INV);
    H_OK("residual op, good tensors", mcl_op_setup(opr, 2, two, to));
    H_FAIL("run the no-residual op after failed setups", mcl_op_run(op, NULL), MCL_STATUS_INVALID_STATE);
    H_OK("good setup", mcl_op_setup(op, 1, &ti, to));

    /* a tensor from another context */
    mcl_context *ctx2 = h_context();
    mcl_tensor *ti_other = h_tensor(ctx2, in, MCL_LAYOUT_BLOCKED, "other context");
    H_FAIL("input from another context", mcl_op_setup(op, 1, &ti_other, to), INV);
    mcl_tensor_destroy(ti_other);
    mcl_context_destroy(ctx2);

    /* add: two inputs */
    mcl_add_desc ad = {MCL_ACT_NONE};
    mcl_op *add = NULL;
    H_OK("add create", mcl_add_create(ctx, &ad, &add));
    mcl_shape ain[2] = {out, out}, aout;
    H_OK("add reshape", mcl_op_reshape(add, 2, ain, &aout));
    H_FAIL("add setup with one input", mcl_op_setup(add, 1, &tres, to), INV);
    mcl_tensor *amix[2] = {tres, to_c};
    H_FAIL("add setup second input of wrong shape", mcl_op_setup(add, 2, amix, to), INV);
    mcl_op_destroy(add);

    mcl_tensor *all[] = {ti, to, tres, ti_nchw, to_nchw, ti_w, ti_c, ti_n, to_c, to_h};
    for (size_t i = 0; i < N_(all); i++)
        mcl_tensor_destroy(all[i]);
    mcl_op_destroy(op);
    mcl_op_destroy(opr);
    mcl_context_destroy(ctx);
}

/* ---- tunables outside the space --------------------------------------------------------- */

static int in_list(const uint32_t *l, uint32_t v)
{
    for (; l && *l; l++)
        if (*l == v)
            return 1;
    return 0;
}
static uint32_t not_in(const uint32_t *l)
{
    for (uint32_t v = 1;; v++)
        if (!in_list(l, v))
            return v;
}

static void expect_unsupported(mcl_op *op, const mcl_shape *in, const mcl_tunables *t, const char *label)
{
    mcl_status st = mcl_op_set_tunables(op, t);
    if (st == MCL_STATUS_OK) {
        mcl_shape out;
        st = mcl_op_reshape(op, 1, in, &out);
        expect_status(label, "mcl_op_set_tunables + mcl_op_reshape", st, UNS, UNS);
    } else {
        expect_status(label, "mcl_op_set_tunables", st, UNS, UNS);
    }
}

Test(invalid, tunables_outside_space)
{
    mcl_context *ctx = h_context();
    cr_expect(mcl_space_get(MCL_FAMILY_COUNT_) == NULL, "mcl_space_get(MCL_FAMILY_COUNT_) must be NULL");
    cr_expect(mcl_space_get((mcl_family)-1) == NULL, "mcl_space_get(-1) must be NULL");
    static const mcl_conv2d_desc conv = {CIO(8, 16, 2), C3, .variant = MCL_CONV_DIRECT};
    static const mcl_conv2d_desc dw = {CIO(8, 8, 8), C3, .variant = MCL_CONV_DEPTHWISE};
    static const mcl_conv2d_desc pw = {CIO(8, 16, 1), CK(1), CS(1), CP(0), CD(1), .variant = MCL_CONV_POINTWISE};
    const mcl_pool2d_desc pd = {.type = MCL_POOL_MAX, CK(3), CS(2), CP(1)};
    const mcl_shape in = BASE_IN;
    for (int fam = 0; fam < MCL_FAMILY_COUNT_; fam++) {
        const mcl_space *sp = mcl_space_get((mcl_family)fam);
        cr_assert(sp && sp->tile_w && sp->tile_c && sp->wg, "mcl_space_get(%d) incomplete", fam);
        mcl_op *op = NULL;
        static float w[64 * 64 * 9], b[64];
        if (fam == MCL_FAMILY_POOL)
            H_OK("pool create", mcl_pool2d_create(ctx, &pd, &op));
        else if (fam == MCL_FAMILY_DWPW)
            H_OK("dwpw create", mcl_dwpw_create(ctx, &dw, w, b, &pw, w, b, &op));
        else
            op = make_conv(ctx, fam == MCL_FAMILY_CONV ? &conv : fam == MCL_FAMILY_DWCONV ? &dw : &pw);
        const mcl_tunables ok = {sp->tile_w[0], sp->tile_c[0], sp->wg[0], 0};
        struct {
            const char *what;
            mcl_tunables t;
        } bad[] = {
            {"tile_w not in list", {not_in(sp->tile_w), ok.tile_c, ok.wg, 0}},
            {"tile_w 1<<20", {1u << 20, ok.tile_c, ok.wg, 0}},
            {"tile_c not in list", {ok.tile_w, not_in(sp->tile_c), ok.wg, 0}},
            {"tile_c 1<<20", {ok.tile_w, 1u << 20, ok.wg, 0}},
            {"wg not in list", {ok.tile_w, ok.tile_c, not_in(sp->wg), 0}},
            {"wg 1<<20 (beyond any device)", {ok.tile_w, ok.tile_c, 1u << 20, 0}},
            /* dwpw: 3 is not in its list; the others have no split at all
             * (2 is dwpw's, so only the family check at reshape rejects it) */
            {"split not in the family's list", {ok.tile_w, ok.tile_c, ok.wg, sp->split[0] ? 3u : 2u}},
            {"split 1<<20", {ok.tile_w, ok.tile_c, ok.wg, 1u << 20}},
        };
        for (size_t i = 0; i < N_(bad); i++) {
            char label[160];
            snprintf(label, sizeof label, "family %s: %s {tile_w %u, tile_c %u, wg %u, split %u}", sp->family,
                     bad[i].what, bad[i].t.tile_w, bad[i].t.tile_c, bad[i].t.wg, bad[i].t.split);
            expect_unsupported(op, &in, &bad[i].t, label);
        }
        /* NULL restores the defaults; an in-space value works */
        mcl_shape out;
        H_OK(sp->family, mcl_op_set_tunables(op, NULL));
        H_OK(sp->family, mcl_op_reshape(op, 1, &in, &out));
        H_OK(sp->family, mcl_op_set_tunables(op, &ok));
        H_OK(sp->family, mcl_op_reshape(op, 1, &in, &out));
        mcl_op_destroy(op);
    }
    mcl_context_destroy(ctx);
}
