/* Chains of ops on the device with no host round trip between them, as the
 * graph runtime runs them: each op consumes the blocked tensor the previous
 * one produced (padding lanes included). The blocks of MobileNet V1/V2,
 * ShuffleNet V1 (g=3) and V2 (stride 1 and 2), and the ShuffleNet stem and
 * classifier tail, at reduced sizes. Every intermediate tensor is compared
 * with the chained reference, so a failure names the first wrong step. */
#define _GNU_SOURCE 1
#include <criterion/criterion.h>

#include "harness.h"

#define MAXT 16

/* A chain: device tensors with their host reference values, and the ops. */
typedef struct chain {
    mcl_context *ctx;
    const char *name;
    size_t nt, nop;
    mcl_tensor *t[MAXT];
    float *ref[MAXT];
    char what[MAXT][64];
    mcl_op *op[MAXT];
    double tol;
} chain;

/* tensor index of a new tensor; data NULL = NaN on the device, ref filled later */
static int ch_tensor(chain *c, mcl_shape s, const float *data, const char *what)
{
    cr_assert(c->nt < MAXT);
    int i = (int)c->nt++;
    c->t[i] = h_tensor_with(c->ctx, s, data, c->name);
    c->ref[i] = h_floats(h_count(s));
    if (data)
        memcpy(c->ref[i], data, h_count(s) * sizeof(float));
    snprintf(c->what[i], sizeof c->what[i], "%s", what);
    return i;
}

static mcl_shape ch_shape(chain *c, int i) { return mcl_tensor_shape(c->t[i]); }

/* reshape + setup + run (no wait) */
static void ch_run(chain *c, mcl_op *op, size_t n_in, const int *ins, int n_extra, int out)
{
    cr_assert(c->nop < MAXT);
    c->op[c->nop++] = op;
    mcl_shape shapes[2], o;
    mcl_tensor *tin[3];
    for (size_t k = 0; k < n_in; k++) {
        shapes[k] = ch_shape(c, ins[k]);
        tin[k] = c->t[ins[k]];
    }
    for (int k = 0; k < n_extra; k++)
        tin[n_in + k] = c->t[ins[n_in + k]];
    H_OK(c->name, mcl_op_reshape(op, n_in, shapes, &o));
    cr_assert(h_shape_eq(o, ch_shape(c, out)), "[%s] %s: reshape gives %ux%ux%ux%u", c->name, c->what[out], o.n, o.c,
              o.h, o.w);
    H_OK(c->name, mcl_op_setup(op, n_in + (size_t)n_extra, tin, c->t[out]));
    H_OK(c->name, mcl_op_run(op, NULL));
}

/* conv step: x -> new tensor (res: residual tensor index or -1) */
static int ch_conv(chain *c, int x, const mcl_conv2d_desc *d, int res, const char *what)
{
    const mcl_shape in = ch_shape(c, x);
    ref_conv2d_params p = h_conv_ref_params(d, in);
    uint32_t oh, ow;
    cr_assert(ref_conv2d_out_size(&p, &oh, &ow), "[%s] bad step %s", c->name, what);
    const size_t k = (size_t)(in.c / d->groups) * d->kernel_h * d->kernel_w;
    const float ws = (float)(1.0 / sqrt((double)k));
    char seed[128];
    snprintf(seed, sizeof seed, "%s/%s", c->name, what);
    float *w = h_random((size_t)d->out_channels * k, seed, "weights", -ws, ws);
    float *b = h_random(d->out_channels, seed, "bias", -0.5f, 0.5f);
    int y = ch_tensor(c, h_shape(in.n, d->out_channels, oh, ow), NULL, what);
    ref_conv2d(&p, c->ref[x], w, b, res >= 0 ? c->ref[res] : NULL, c->ref[y]);
    mcl_op *op = NULL;
    H_OK(c->name, mcl_conv2d_create(c->ctx, d, w, b, &op));
    int ins[2] = {x, res};
    ch_run(c, op, 1, ins, res >= 0 ? 1 : 0, y);
    free(w);
    free(b);
    return y;
}

static int ch_channel(chain *c, int x0, int x1, mcl_channel_desc d, const char *what)
{
    const mcl_shape a = ch_shape(c, x0);
    const uint32_t c1 = x1 >= 0 ? ch_shape(c, x1).c : 0;
    d.inputs = x1 >= 0 ? 2 : 1;
    const uint32_t outc = d.channels ? d.channels : a.c + c1 - d.offset;
    int y = ch_tensor(c, h_shape(a.n, outc, a.h, a.w), NULL, what);
    ref_channel(a.n, a.h, a.w, a.c, c->ref[x0], c1, x1 >= 0 ? c->ref[x1] : NULL, d.offset, d.channels, d.groups,
                c->ref[y]);
    mcl_op *op = NULL;
    H_OK(c->name, mcl_channel_create(c->ctx, &d, &op));
    int ins[2] = {x0, x1};
    ch_run(c, op, d.inputs, ins, 0, y);
    return y;
}

static int ch_pool(chain *c, int x, const mcl_pool2d_desc *d, const char *what)
{
    const mcl_shape in = ch_shape(c, x);
    ref_pool2d_params p = {.type = (int)d->type, .n = in.n, .c = in.c, .h = in.h, .w = in.w, .kh = d->kernel_h,
                           .kw = d->kernel_w, .sh = d->stride_h, .sw = d->stride_w, .pt = d->pad_top,
                           .pl = d->pad_left, .pb = d->pad_bottom, .pr = d->pad_right,
                           .count_include_pad = d->count_include_pad};
    uint32_t oh, ow;
    cr_assert(ref_pool2d_out_size(&p, &oh, &ow));
    int y = ch_tensor(c, h_shape(in.n, in.c, oh, ow), NULL, what);
    ref_pool2d(&p, c->ref[x], c->ref[y]);
    mcl_op *op = NULL;
    H_OK(c->name, mcl_pool2d_create(c->ctx, d, &op));
    int ins[1] = {x};
    ch_run(c, op, 1, ins, 0, y);
    return y;
}

static int ch_fc(chain *c, int x, uint32_t out_features, const char *what)
{
    const mcl_shape in = ch_shape(c, x);
    const uint32_t K = in.c * in.h * in.w;
    mcl_fc_desc d = {K, out_features, MCL_ACT_NONE};
    const float ws = (float)(1.0 / sqrt((double)K));
    char seed[128];
    snprintf(seed, sizeof seed, "%s/%s", c->name, what);
    float *w = h_random((size_t)K * out_features, seed, "weights", -ws, ws);
    float *b = h_random(out_features, seed, "bias", -0.5f, 0.5f);
    int y = ch_tensor(c, h_shape(in.n, out_features, 1, 1), NULL, what);
    ref_fc(in.n, K, out_features, 0, c->ref[x], w, b, c->ref[y]);
    mcl_op *op = NULL;
    H_OK(c->name, mcl_fc_create(c->ctx, &d, w, b, &op));
    int ins[1] = {x};
    ch_run(c, op, 1, ins, 0, y);
    free(w);
    free(b);
    return y;
}

static int ch_softmax(chain *c, int x, const char *what)
{
    const mcl_shape s = ch_shape(c, x);
    int y = ch_tensor(c, s, NULL, what);
    ref_softmax(s.n, s.c, s.h, s.w, c->ref[x], c->ref[y]);
    mcl_op *op = NULL;
    H_OK(c->name, mcl_softmax_create(c->ctx, &op));
    int ins[1] = {x};
    ch_run(c, op, 1, ins, 0, y);
    return y;
}

static int ch_add(chain *c, int a, int b, mcl_activation act, const char *what)
{
    const mcl_shape s = ch_shape(c, a);
    int y = ch_tensor(c, s, NULL, what);
    ref_add(h_count(s), c->ref[a], c->ref[b], (int)act, c->ref[y]);
    mcl_add_desc d = {act};
    mcl_op *op = NULL;
    H_OK(c->name, mcl_add_create(c->ctx, &d, &op));
    int ins[2] = {a, b};
    ch_run(c, op, 2, ins, 0, y);
    return y;
}

static void ch_begin(chain *c, mcl_context *ctx, const char *name)
{
    memset(c, 0, sizeof *c);
    c->ctx = ctx;
    c->name = name;
    c->tol = 2e-4; /* a few fp32 roundings compound along the chain */
}

/* wait once, then check every tensor in order */
static void ch_end(chain *c)
{
    H_OK(c->name, mcl_context_finish(c->ctx));
    for (size_t i = 0; i < c->nt; i++) {
        const mcl_shape s = ch_shape(c, (int)i);
        float *got = h_floats(h_count(s));
        H_OK(c->name, mcl_tensor_read(c->t[i], got, h_count(s)));
        char label[192];
        snprintf(label, sizeof label, "%s: tensor %zu (%s)", c->name, i, c->what[i]);
        h_compare(label, got, c->ref[i], s, c->tol, c->tol);
        h_check_padding(c->ctx, c->t[i], label);
        free(got);
    }
    for (size_t i = 0; i < c->nop; i++)
        mcl_op_destroy(c->op[i]);
    for (size_t i = 0; i < c->nt; i++) {
        mcl_tensor_destroy(c->t[i]);
        free(c->ref[i]);
    }
}

static int ch_input(chain *c, mcl_shape s)
{
    float *x = h_random(h_count(s), c->name, "input", -1, 1);
    int i = ch_tensor(c, s, x, "input");
    free(x);
    return i;
}

#define PW(ci, co, g, act, res) {CIO(ci, co, g), CK(1), CS(1), CP(0), CD(1), .activation = act, .residual = res}
#define DW(ch, k, s, act) {CIO(ch, ch, ch), CK(k), CS(s), CP((k) / 2), CD(1), .activation = act}

static void mobilenet_v2_block(mcl_context *ctx, const char *name)
{
    chain c;
    ch_begin(&c, ctx, name);
    int x = ch_input(&c, h_shape(1, 24, 14, 14));
    const mcl_conv2d_desc e = PW(24, 144, 1, MCL_ACT_RELU6, 0), d = DW(144, 3, 1, MCL_ACT_RELU6),
                          p = PW(144, 24, 1, MCL_ACT_NONE, 1);
    int y = ch_conv(&c, x, &e, -1, "expand 24->144 relu6");
    y = ch_conv(&c, y, &d, -1, "dw 3x3 relu6");
    ch_conv(&c, y, &p, x, "project 144->24 + residual");
    ch_end(&c);
}

static void shufflenet_v2_unit_s1(mcl_context *ctx, const char *name)
{
    chain c;
    ch_begin(&c, ctx, name);
    int x = ch_input(&c, h_shape(1, 116, 14, 14));
    mcl_channel_desc lo = {.channels = 58, .offset = 0, .groups = 1}, hi = {.channels = 58, .offset = 58, .groups = 1};
    int a = ch_channel(&c, x, -1, lo, "split low half");
    int b = ch_channel(&c, x, -1, hi, "split high half");
    const mcl_conv2d_desc p1 = PW(58, 58, 1, MCL_ACT_RELU, 0), d = DW(58, 3, 1, MCL_ACT_NONE),
                          p2 = PW(58, 58, 1, MCL_ACT_RELU, 0);
    b = ch_conv(&c, b, &p1, -1, "pw 58 relu");
    b = ch_conv(&c, b, &d, -1, "dw 3x3");
    b = ch_conv(&c, b, &p2, -1, "pw 58 relu (2)");
    mcl_channel_desc cs = {.channels = 0, .offset = 0, .groups = 2};
    ch_channel(&c, a, b, cs, "concat + shuffle g2");
    ch_end(&c);
}

static void shufflenet_v2_unit_s2(mcl_context *ctx, const char *name)
{
    chain c;
    ch_begin(&c, ctx, name);
    int x = ch_input(&c, h_shape(1, 24, 28, 28));
    const mcl_conv2d_desc d1 = DW(24, 3, 2, MCL_ACT_NONE), p1 = PW(24, 58, 1, MCL_ACT_RELU, 0);
    const mcl_conv2d_desc p2 = PW(24, 58, 1, MCL_ACT_RELU, 0), d2 = DW(58, 3, 2, MCL_ACT_NONE),
                          p3 = PW(58, 58, 1, MCL_ACT_RELU, 0);
    int a = ch_conv(&c, x, &d1, -1, "branch1 dw s2");
    a = ch_conv(&c, a, &p1, -1, "branch1 pw 24->58");
    int b = ch_conv(&c, x, &p2, -1, "branch2 pw 24->58");
    b = ch_conv(&c, b, &d2, -1, "branch2 dw s2");
    b = ch_conv(&c, b, &p3, -1, "branch2 pw 58");
    mcl_channel_desc cs = {.channels = 0, .offset = 0, .groups = 2};
    ch_channel(&c, a, b, cs, "concat + shuffle g2");
    ch_end(&c);
}

static void shufflenet_v1_unit(mcl_context *ctx, const char *name)
{
    chain c;
    ch_begin(&c, ctx, name);
    int x = ch_input(&c, h_shape(1, 240, 14, 14));
    const mcl_conv2d_desc g1 = PW(240, 60, 3, MCL_ACT_RELU, 0), d = DW(60, 3, 1, MCL_ACT_NONE),
                          g2 = PW(60, 240, 3, MCL_ACT_RELU, 1);
    int y = ch_conv(&c, x, &g1, -1, "grouped pw 240->60 g3 relu");
    mcl_channel_desc sh = {.channels = 0, .offset = 0, .groups = 3};
    y = ch_channel(&c, y, -1, sh, "shuffle g3");
    y = ch_conv(&c, y, &d, -1, "dw 3x3");
    ch_conv(&c, y, &g2, x, "grouped pw 60->240 g3 + residual relu");
    ch_end(&c);
}

static void stem_and_tail(mcl_context *ctx, const char *name)
{
    chain c;
    ch_begin(&c, ctx, name);
    int x = ch_input(&c, h_shape(2, 3, 32, 32));
    const mcl_conv2d_desc conv1 = {CIO(3, 24, 1), CK(3), CS(2), CP(1), CD(1), .activation = MCL_ACT_RELU};
    const mcl_pool2d_desc mp = {.type = MCL_POOL_MAX, CK(3), CS(2), CP(1)};
    const mcl_conv2d_desc d = DW(24, 3, 1, MCL_ACT_RELU), p = PW(24, 40, 1, MCL_ACT_RELU, 0);
    const mcl_pool2d_desc gap = {.type = MCL_POOL_GLOBAL_AVG};
    int y = ch_conv(&c, x, &conv1, -1, "conv1 3->24 s2 relu");
    y = ch_pool(&c, y, &mp, "maxpool 3x3 s2");
    int z = ch_conv(&c, y, &d, -1, "dw 3x3 relu");
    z = ch_add(&c, z, y, MCL_ACT_RELU, "add + relu");
    z = ch_conv(&c, z, &p, -1, "pw 24->40 relu");
    z = ch_pool(&c, z, &gap, "global avg");
    z = ch_fc(&c, z, 10, "fc 40->10");
    ch_softmax(&c, z, "softmax");
    ch_end(&c);
}

Test(chain, mobilenet_v2_block, .timeout = 600)
{
    mcl_context *ctx = h_context();
    mobilenet_v2_block(ctx, "mbv2 inverted residual 24->144->24 @14");
    mcl_context_destroy(ctx);
}

Test(chain, shufflenet_v2_units, .timeout = 600)
{
    mcl_context *ctx = h_context();
    shufflenet_v2_unit_s1(ctx, "shufflenet v2 unit s1 116 @14");
    shufflenet_v2_unit_s2(ctx, "shufflenet v2 unit s2 24->116 @28");
    mcl_context_destroy(ctx);
}

Test(chain, shufflenet_v1_unit, .timeout = 600)
{
    mcl_context *ctx = h_context();
    shufflenet_v1_unit(ctx, "shufflenet v1 g3 unit 240 @14");
    mcl_context_destroy(ctx);
}

Test(chain, stem_and_tail, .timeout = 600)
{
    mcl_context *ctx = h_context();
    stem_and_tail(ctx, "stem conv+maxpool, dw, add, pw, gap, fc, softmax batch2");
    mcl_context_destroy(ctx);
}

Test(chain, other_blocks, .timeout = 600)
{
    H_FOR_OTHER_BLOCKS(ctx, tag, {
        char n1[96], n2[96];
        snprintf(n1, sizeof n1, "shufflenet v2 unit s1 %s", tag);
        snprintf(n2, sizeof n2, "mbv2 block %s", tag);
        shufflenet_v2_unit_s1(ctx, n1);
        mobilenet_v2_block(ctx, n2);
    });
}
