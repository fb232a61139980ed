/* Graph IR and builder (graph/graph.c), no OpenCL: inferred shapes and
 * introspection, builder errors naming the node, validation, MAC/parameter
 * counts, and the reference executor (tests/ref/ref_graph.c) checked on tiny
 * graphs against values computed by hand. */
#define _GNU_SOURCE 1
#include <criterion/criterion.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mobicl_graph.h"
#include "ref.h"
#include "ref_graph.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

#define OK(call)                                                                                                   \
    do {                                                                                                           \
        mcl_status st_ = (call);                                                                                   \
        cr_assert_eq(st_, MCL_STATUS_OK, "%s -> %s: %s", #call, mcl_status_string(st_), mcl_last_error());         \
    } while (0)

/* frag NULL: anything */
static int says(const char *msg, const char *frag) { return !frag || strstr(msg, frag) != NULL; }

/* call must fail with `want`, leave the graph unchanged, and (if frag) say frag */
#define FAILS(g, call, want, frag)                                                                                 \
    do {                                                                                                           \
        size_t nn_ = mcl_graph_node_count(g), nv_ = mcl_graph_value_count(g);                                     \
        mcl_status st_ = (call);                                                                                   \
        const char *e_ = mcl_last_error();                                                                         \
        cr_expect_eq(st_, (want), "%s -> %s, want %s (%s)", #call, mcl_status_string(st_),                         \
                     mcl_status_string(want), e_);                                                                 \
        cr_expect(*e_, "%s: empty error message", #call);                                                          \
        cr_expect(says(e_, frag), "%s: message lacks '%s': %s", #call, (const char *)(frag), e_);                 \
        cr_expect(mcl_graph_node_count(g) == nn_ && mcl_graph_value_count(g) == nv_,                               \
                  "%s: failed call changed the graph", #call);                                                     \
    } while (0)

static mcl_shape shp(uint32_t n, uint32_t c, uint32_t h, uint32_t w)
{
    mcl_shape s = {n, c, h, w};
    return s;
}

static void expect_shape(const mcl_graph *g, mcl_value v, mcl_shape want)
{
    mcl_shape s;
    OK(mcl_graph_value_shape(g, v, &s));
    cr_expect(s.n == want.n && s.c == want.c && s.h == want.h && s.w == want.w,
              "value %d '%s' is %ux%ux%ux%u, want %ux%ux%ux%u", (int)v, mcl_graph_value_name(g, v), s.n, s.c, s.h,
              s.w, want.n, want.c, want.h, want.w);
}

static mcl_conv2d_desc cdesc(uint32_t ci, uint32_t co, uint32_t groups, uint32_t k, uint32_t s, uint32_t p)
{
    mcl_conv2d_desc d = {.in_channels = ci, .out_channels = co, .groups = groups, .kernel_h = k, .kernel_w = k,
                         .stride_h = s, .stride_w = s, .pad_top = p, .pad_left = p, .pad_bottom = p, .pad_right = p,
                         .dilation_h = 1, .dilation_w = 1};
    return d;
}

static float *rnd(size_t n, uint64_t seed, float lo, float hi)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    cr_assert(x);
    ref_fill_uniform(x, n, seed, lo, hi);
    return x;
}

static size_t cnt(mcl_shape s) { return (size_t)s.n * s.c * s.h * s.w; }

/* Runs the reference on a one-input graph; returns output 0 (caller frees the rest). */
static float *run1(const mcl_graph *g, const float *x, float **outs)
{
    const float *in[1] = {x};
    float *o[MCL_GRAPH_MAX_IO];
    cr_assert_eq(ref_graph_run(g, in, outs ? outs : o), 0, "ref_graph_run: %s", ref_graph_error());
    return outs ? outs[0] : o[0];
}

/* ---- shapes and introspection --------------------------------------------------- */

/* input -> conv -> bn -> relu -> split -> shuffle -> concat -> pool -> fc -> softmax */
typedef struct chain {
    mcl_graph *g;
    mcl_value x, conv, bn, relu, sp[2], shuf, cat, pool, fc, prob;
    float *w, *b, *gamma, *beta, *mean, *var, *fw, *fb;
} chain;

static void chain_build(chain *c)
{
    memset(c, 0, sizeof *c);
    OK(mcl_graph_create(&c->g));
    mcl_shape in = shp(2, 8, 16, 16);
    OK(mcl_graph_input(c->g, "data", &in, &c->x));
    mcl_conv2d_desc d = cdesc(8, 12, 1, 3, 1, 1);
    c->w = rnd(12 * 8 * 9, 1, -0.3f, 0.3f);
    c->b = rnd(12, 2, -0.5f, 0.5f);
    OK(mcl_graph_conv2d(c->g, "conv1", &d, c->w, c->b, c->x, -1, &c->conv));
    c->gamma = rnd(12, 3, 0.5f, 1.5f);
    c->beta = rnd(12, 4, -0.5f, 0.5f);
    c->mean = rnd(12, 5, -0.5f, 0.5f);
    c->var = rnd(12, 6, 0.1f, 2.0f);
    OK(mcl_graph_batchnorm(c->g, "bn1", c->conv, c->gamma, c->beta, c->mean, c->var, 1e-5f, &c->bn));
    OK(mcl_graph_activation(c->g, "relu1", MCL_ACT_RELU, c->bn, &c->relu));
    const uint32_t sizes[2] = {4, 8};
    OK(mcl_graph_split(c->g, "split1", c->relu, 2, sizes, c->sp));
    OK(mcl_graph_shuffle(c->g, "shuf1", c->sp[1], 2, &c->shuf));
    const mcl_value cat_in[2] = {c->sp[0], c->shuf};
    OK(mcl_graph_concat(c->g, "cat1", 2, cat_in, &c->cat));
    mcl_pool2d_desc pd = {.type = MCL_POOL_MAX, .kernel_h = 3, .kernel_w = 3, .stride_h = 2, .stride_w = 2,
                          .pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1};
    OK(mcl_graph_pool2d(c->g, "pool1", &pd, MCL_ACT_NONE, c->cat, &c->pool));
    mcl_fc_desc fd = {.in_features = 12 * 8 * 8, .out_features = 10};
    c->fw = rnd(10 * 768, 7, -0.05f, 0.05f);
    c->fb = rnd(10, 8, -0.1f, 0.1f);
    OK(mcl_graph_fc(c->g, "fc1", &fd, c->fw, c->fb, c->pool, &c->fc));
    OK(mcl_graph_softmax(c->g, "prob", c->fc, &c->prob));
    OK(mcl_graph_output(c->g, c->prob));
}

static void chain_free(chain *c)
{
    mcl_graph_destroy(c->g);
    float *p[] = {c->w, c->b, c->gamma, c->beta, c->mean, c->var, c->fw, c->fb};
    for (size_t i = 0; i < N_(p); i++)
        free(p[i]);
}

Test(graph_ir, build_infers_shapes)
{
    chain c;
    chain_build(&c);
    const mcl_graph *g = c.g;
    expect_shape(g, c.x, shp(2, 8, 16, 16));
    expect_shape(g, c.conv, shp(2, 12, 16, 16));
    expect_shape(g, c.bn, shp(2, 12, 16, 16));
    expect_shape(g, c.relu, shp(2, 12, 16, 16));
    expect_shape(g, c.sp[0], shp(2, 4, 16, 16));
    expect_shape(g, c.sp[1], shp(2, 8, 16, 16));
    expect_shape(g, c.shuf, shp(2, 8, 16, 16));
    expect_shape(g, c.cat, shp(2, 12, 16, 16));
    expect_shape(g, c.pool, shp(2, 12, 8, 8));
    expect_shape(g, c.fc, shp(2, 10, 1, 1));
    expect_shape(g, c.prob, shp(2, 10, 1, 1));

    cr_expect_eq(mcl_graph_node_count(g), 9);
    cr_expect_eq(mcl_graph_value_count(g), 11);
    cr_expect_eq(mcl_graph_input_count(g), 1);
    cr_expect_eq(mcl_graph_output_count(g), 1);
    cr_expect_eq(mcl_graph_input_value(g, 0), c.x);
    cr_expect_eq(mcl_graph_output_value(g, 0), c.prob);
    cr_expect_eq(mcl_graph_input_value(g, 1), -1);
    cr_expect_eq(mcl_graph_output_value(g, 1), -1);
    cr_expect_str_eq(mcl_graph_value_name(g, c.x), "data");
    cr_expect_str_eq(mcl_graph_value_name(g, c.conv), "conv1");
    cr_expect_str_eq(mcl_graph_value_name(g, c.sp[0]), "split1:0");
    cr_expect_str_eq(mcl_graph_value_name(g, c.sp[1]), "split1:1");
    cr_expect_null(mcl_graph_value_name(g, 11));
    cr_expect_null(mcl_graph_value_name(g, -1));
    OK(mcl_graph_validate(g));

    static const mcl_node_kind kinds[9] = {MCL_NODE_CONV2D, MCL_NODE_BATCHNORM, MCL_NODE_ACTIVATION,
                                           MCL_NODE_SPLIT,  MCL_NODE_SHUFFLE,   MCL_NODE_CONCAT,
                                           MCL_NODE_POOL2D, MCL_NODE_FC,        MCL_NODE_SOFTMAX};
    static const char *names[9] = {"conv1", "bn1", "relu1", "split1", "shuf1", "cat1", "pool1", "fc1", "prob"};
    mcl_node_info nd;
    for (size_t i = 0; i < 9; i++) {
        OK(mcl_graph_node(g, i, &nd));
        cr_expect_eq(nd.kind, kinds[i], "node %zu kind %d", i, (int)nd.kind);
        cr_expect_str_eq(nd.name, names[i]);
    }
    OK(mcl_graph_node(g, 0, &nd));
    cr_expect(nd.n_in == 1 && nd.n_out == 1 && nd.in[0] == c.x && nd.out[0] == c.conv);
    cr_expect(nd.conv.in_channels == 8 && nd.conv.out_channels == 12 && nd.conv.kernel_h == 3 && !nd.conv.residual);
    cr_expect(nd.weights && nd.weights != c.w && !memcmp(nd.weights, c.w, 12 * 8 * 9 * sizeof(float)),
              "conv weights are not a copy");
    cr_expect(nd.bias && nd.bias != c.b && !memcmp(nd.bias, c.b, 12 * sizeof(float)));
    OK(mcl_graph_node(g, 1, &nd));
    cr_expect(nd.eps == 1e-5f && nd.gamma && !memcmp(nd.var, c.var, 12 * sizeof(float)) && nd.var != c.var);
    OK(mcl_graph_node(g, 2, &nd));
    cr_expect_eq(nd.act, MCL_ACT_RELU);
    OK(mcl_graph_node(g, 3, &nd));
    cr_expect(nd.n_out == 2 && nd.sizes[0] == 4 && nd.sizes[1] == 8 && nd.out[0] == c.sp[0] && nd.out[1] == c.sp[1]);
    OK(mcl_graph_node(g, 4, &nd));
    cr_expect_eq(nd.groups, 2);
    OK(mcl_graph_node(g, 5, &nd));
    cr_expect(nd.n_in == 2 && nd.in[0] == c.sp[0] && nd.in[1] == c.shuf);
    OK(mcl_graph_node(g, 7, &nd));
    cr_expect(nd.fc.in_features == 768 && nd.fc.out_features == 10 && nd.weights && nd.bias);
    chain_free(&c);
}

/* The reference executor on the chain equals the same chain spelled out with
 * ref.h calls and explicit index formulas. */
Test(graph_ir, reference_runs_chain)
{
    chain c;
    chain_build(&c);
    const mcl_shape in = shp(2, 8, 16, 16);
    float *x = rnd(cnt(in), 42, -1.0f, 1.0f);
    float *got = run1(c.g, x, NULL);

    const size_t hw = 16 * 16, n16 = 2 * 12 * hw;
    float *a = malloc(n16 * sizeof *a), *b = malloc(n16 * sizeof *b), *p = malloc(2 * 12 * 64 * sizeof *p);
    float f[20], want[20];
    ref_conv2d_params cp = {.n = 2, .c = 8, .h = 16, .w = 16, .out_c = 12, .groups = 1, .kh = 3, .kw = 3, .sh = 1,
                            .sw = 1, .pt = 1, .pl = 1, .pb = 1, .pr = 1, .dh = 1, .dw = 1};
    ref_conv2d(&cp, x, c.w, c.b, NULL, a);
    for (size_t n = 0; n < 2; n++)
        for (size_t ch = 0; ch < 12; ch++)
            for (size_t i = 0; i < hw; i++) {
                float *v = &a[(n * 12 + ch) * hw + i];
                double y = c.gamma[ch] * ((double)*v - c.mean[ch]) / sqrt((double)c.var[ch] + 1e-5) + c.beta[ch];
                *v = (float)(y > 0 ? y : 0);
            }
    /* concat(channels 0..3, shuffle_g2(channels 4..11)): shuffle of 8 with g 2 takes 0,4,1,5,2,6,3,7 */
    static const int src[12] = {0, 1, 2, 3, 4, 8, 5, 9, 6, 10, 7, 11};
    for (size_t n = 0; n < 2; n++)
        for (size_t ch = 0; ch < 12; ch++)
            memcpy(&b[(n * 12 + ch) * hw], &a[(n * 12 + (size_t)src[ch]) * hw], hw * sizeof(float));
    ref_pool2d_params pp = {.type = REF_POOL_MAX, .n = 2, .c = 12, .h = 16, .w = 16, .kh = 3, .kw = 3, .sh = 2,
                            .sw = 2, .pt = 1, .pl = 1, .pb = 1, .pr = 1};
    ref_pool2d(&pp, b, p);
    ref_fc(2, 768, 10, 0, p, c.fw, c.fb, f);
    ref_softmax(2, 10, 1, 1, f, want);
    ref_mismatch m;
    cr_expect(ref_compare(got, want, 20, 1e-6, 1e-5, &m), "element %zu: %g vs %g", m.first, m.got, m.want);
    for (size_t n = 0; n < 2; n++) {
        double s = 0;
        for (size_t i = 0; i < 10; i++)
            s += got[n * 10 + i];
        cr_expect(fabs(s - 1.0) < 1e-5, "softmax row %zu sums to %g", n, s);
    }
    free(a);
    free(b);
    free(p);
    free(x);
    free(got);
    chain_free(&c);
}

/* ---- builder errors ------------------------------------------------------------- */

Test(graph_ir, builder_errors_name_the_node)
{
    mcl_graph *g;
    OK(mcl_graph_create(&g));
    mcl_value x, x2, y, outs[MCL_GRAPH_MAX_IO + 1];
    mcl_shape s8 = shp(1, 8, 10, 10), s8b = shp(1, 8, 5, 5);
    OK(mcl_graph_input(g, "x", &s8, &x));
    OK(mcl_graph_input(g, "x2", &s8b, &x2));
    float *w = calloc(8 * 8 * 11 * 11, sizeof *w), ones[16], zeros[16] = {0}, neg[16];
    for (size_t i = 0; i < 16; i++) {
        ones[i] = 1.0f;
        neg[i] = -1.0f;
    }

    /* conv whose in_channels mismatch the input */
    mcl_conv2d_desc d = cdesc(4, 8, 1, 3, 1, 1);
    FAILS(g, mcl_graph_conv2d(g, "conv_bad_cin", &d, w, NULL, x, -1, &y), MCL_STATUS_INVALID_ARGUMENT, "conv_bad_cin");
    d = cdesc(8, 8, 3, 3, 1, 1); /* groups not dividing */
    FAILS(g, mcl_graph_conv2d(g, "conv_groups", &d, w, NULL, x, -1, &y), MCL_STATUS_INVALID_ARGUMENT, "conv_groups");
    d = cdesc(8, 8, 1, 11, 1, 0); /* kernel larger than input */
    FAILS(g, mcl_graph_conv2d(g, "conv_big_k", &d, w, NULL, x, -1, &y), MCL_STATUS_INVALID_ARGUMENT, "conv_big_k");
    d = cdesc(8, 8, 1, 3, 1, 1);
    d.activation = (mcl_activation)7;
    FAILS(g, mcl_graph_conv2d(g, "conv_act", &d, w, NULL, x, -1, &y), MCL_STATUS_INVALID_ARGUMENT, "conv_act");
    d = cdesc(8, 8, 1, 3, 2, 1); /* residual 10x10 vs output 5x5... x2 is 5x5: fits; x is not */
    FAILS(g, mcl_graph_conv2d(g, "conv_res", &d, w, NULL, x, x, &y), MCL_STATUS_INVALID_ARGUMENT, "conv_res");
    FAILS(g, mcl_graph_conv2d(g, "conv_res_id", &d, w, NULL, x, 77, &y), MCL_STATUS_INVALID_ARGUMENT, "conv_res_id");
    FAILS(g, mcl_graph_conv2d(g, "conv_in_id", &d, w, NULL, 99, -1, &y), MCL_STATUS_INVALID_ARGUMENT, "conv_in_id");
    FAILS(g, mcl_graph_conv2d(g, "conv_nullw", &d, NULL, NULL, x, -1, &y), MCL_STATUS_INVALID_ARGUMENT, "conv_nullw");
    FAILS(g, mcl_graph_conv2d(g, "conv_nulld", NULL, w, NULL, x, -1, &y), MCL_STATUS_INVALID_ARGUMENT, "conv_nulld");
    FAILS(g, mcl_graph_conv2d(g, "conv_nullout", &d, w, NULL, x, -1, NULL), MCL_STATUS_INVALID_ARGUMENT, NULL);
    FAILS(g, mcl_graph_conv2d(NULL, "conv_nullg", &d, w, NULL, x, -1, &y), MCL_STATUS_INVALID_ARGUMENT, NULL);
    OK(mcl_graph_conv2d(g, "conv_res_ok", &d, w, NULL, x, x2, &y));
    expect_shape(g, y, shp(1, 8, 5, 5));

    /* batchnorm */
    FAILS(g, mcl_graph_batchnorm(g, "bn_var", x, ones, zeros, zeros, neg, 1e-3f, &y), MCL_STATUS_INVALID_ARGUMENT,
          "bn_var");
    FAILS(g, mcl_graph_batchnorm(g, "bn_zero", x, ones, zeros, zeros, zeros, 0.0f, &y), MCL_STATUS_INVALID_ARGUMENT,
          "bn_zero");
    FAILS(g, mcl_graph_batchnorm(g, "bn_eps", x, ones, zeros, zeros, ones, -1.0f, &y), MCL_STATUS_INVALID_ARGUMENT,
          "bn_eps");
    FAILS(g, mcl_graph_batchnorm(g, "bn_eps_nan", x, ones, zeros, zeros, ones, NAN, &y), MCL_STATUS_INVALID_ARGUMENT,
          "bn_eps_nan");
    FAILS(g, mcl_graph_batchnorm(g, "bn_null", x, ones, NULL, zeros, ones, 1e-3f, &y), MCL_STATUS_INVALID_ARGUMENT,
          "bn_null");
    FAILS(g, mcl_graph_batchnorm(g, "bn_id", 42, ones, zeros, zeros, ones, 1e-3f, &y), MCL_STATUS_INVALID_ARGUMENT,
          "bn_id");
    FAILS(g, mcl_graph_batchnorm(g, "bn_nullout", x, ones, zeros, zeros, ones, 1e-3f, NULL),
          MCL_STATUS_INVALID_ARGUMENT, NULL);
    OK(mcl_graph_batchnorm(g, "bn_ok", x, ones, zeros, zeros, zeros, 1e-3f, &y)); /* var 0 + eps > 0 */

    /* activation / add / pool / fc / softmax */
    FAILS(g, mcl_graph_activation(g, "act_bad", (mcl_activation)5, x, &y), MCL_STATUS_INVALID_ARGUMENT, "act_bad");
    FAILS(g, mcl_graph_activation(g, "act_id", MCL_ACT_RELU, -1, &y), MCL_STATUS_INVALID_ARGUMENT, "act_id");
    FAILS(g, mcl_graph_add(g, "add_shape", x, x2, MCL_ACT_NONE, &y), MCL_STATUS_INVALID_ARGUMENT, "add_shape");
    FAILS(g, mcl_graph_add(g, "add_id", x, 1000, MCL_ACT_NONE, &y), MCL_STATUS_INVALID_ARGUMENT, "add_id");
    mcl_pool2d_desc pd = {.type = MCL_POOL_MAX, .kernel_h = 3, .kernel_w = 3, .stride_h = 1, .stride_w = 1};
    FAILS(g, mcl_graph_pool2d(g, "pool_act", &pd, (mcl_activation)9, x, &y), MCL_STATUS_INVALID_ARGUMENT, "pool_act");
    FAILS(g, mcl_graph_pool2d(g, "pool_null", NULL, MCL_ACT_NONE, x, &y), MCL_STATUS_INVALID_ARGUMENT, "pool_null");
    pd.kernel_h = pd.kernel_w = 12;
    FAILS(g, mcl_graph_pool2d(g, "pool_big", &pd, MCL_ACT_NONE, x, &y), MCL_STATUS_INVALID_ARGUMENT, "pool_big");
    mcl_fc_desc fd = {.in_features = 100, .out_features = 4};
    float *fw = calloc(800 * 4, sizeof *fw);
    FAILS(g, mcl_graph_fc(g, "fc_features", &fd, fw, NULL, x, &y), MCL_STATUS_INVALID_ARGUMENT, "fc_features");
    FAILS(g, mcl_graph_fc(g, "fc_null", &fd, NULL, NULL, x, &y), MCL_STATUS_INVALID_ARGUMENT, "fc_null");
    fd.in_features = 800;
    OK(mcl_graph_fc(g, "fc_ok", &fd, fw, NULL, x, &y));
    expect_shape(g, y, shp(1, 4, 1, 1));
    free(fw);
    FAILS(g, mcl_graph_softmax(g, "sm_id", 5000, &y), MCL_STATUS_INVALID_ARGUMENT, "sm_id");

    /* split */
    const uint32_t sz_bad[3] = {2, 2, 2}, sz_zero[2] = {8, 0}, sz_ok[3] = {2, 5, 1};
    const uint32_t sz_many[9] = {1, 1, 1, 1, 1, 1, 1, 1, 0};
    FAILS(g, mcl_graph_split(g, "split_sum", x, 3, sz_bad, outs), MCL_STATUS_INVALID_ARGUMENT, "split_sum");
    FAILS(g, mcl_graph_split(g, "split_zero", x, 2, sz_zero, outs), MCL_STATUS_INVALID_ARGUMENT, "split_zero");
    FAILS(g, mcl_graph_split(g, "split_one", x, 1, sz_ok, outs), MCL_STATUS_INVALID_ARGUMENT, "split_one");
    FAILS(g, mcl_graph_split(g, "split_nine", x, 9, sz_many, outs), MCL_STATUS_INVALID_ARGUMENT, "split_nine");
    FAILS(g, mcl_graph_split(g, "split_null", x, 2, NULL, outs), MCL_STATUS_INVALID_ARGUMENT, "split_null");
    FAILS(g, mcl_graph_split(g, "split_id", 321, 3, sz_ok, outs), MCL_STATUS_INVALID_ARGUMENT, "split_id");
    OK(mcl_graph_split(g, "split_ok", x, 3, sz_ok, outs));
    expect_shape(g, outs[1], shp(1, 5, 10, 10));

    /* shuffle */
    FAILS(g, mcl_graph_shuffle(g, "shuf_3", x, 3, &y), MCL_STATUS_INVALID_ARGUMENT, "shuf_3");
    FAILS(g, mcl_graph_shuffle(g, "shuf_0", x, 0, &y), MCL_STATUS_INVALID_ARGUMENT, "shuf_0");
    FAILS(g, mcl_graph_shuffle(g, "shuf_16", x, 16, &y), MCL_STATUS_INVALID_ARGUMENT, "shuf_16");
    FAILS(g, mcl_graph_shuffle(g, "shuf_id", -7, 2, &y), MCL_STATUS_INVALID_ARGUMENT, "shuf_id");
    OK(mcl_graph_shuffle(g, "shuf_8", x, 8, &y));

    /* concat */
    const mcl_value hw_mismatch[2] = {x, x2}, bad_id[2] = {x, 64}, one[1] = {x};
    mcl_value nine[9];
    for (size_t i = 0; i < 9; i++)
        nine[i] = x;
    FAILS(g, mcl_graph_concat(g, "cat_hw", 2, hw_mismatch, &y), MCL_STATUS_INVALID_ARGUMENT, "cat_hw");
    FAILS(g, mcl_graph_concat(g, "cat_id", 2, bad_id, &y), MCL_STATUS_INVALID_ARGUMENT, "cat_id");
    FAILS(g, mcl_graph_concat(g, "cat_one", 1, one, &y), MCL_STATUS_INVALID_ARGUMENT, "cat_one");
    FAILS(g, mcl_graph_concat(g, "cat_nine", 9, nine, &y), MCL_STATUS_INVALID_ARGUMENT, "cat_nine");
    FAILS(g, mcl_graph_concat(g, "cat_null", 2, NULL, &y), MCL_STATUS_INVALID_ARGUMENT, "cat_null");
    OK(mcl_graph_concat(g, "cat_8", 8, nine, &y));
    expect_shape(g, y, shp(1, 64, 10, 10));

    /* inputs, outputs, introspection */
    mcl_shape zero = shp(1, 0, 4, 4);
    FAILS(g, mcl_graph_input(g, "in_zero", &zero, &y), MCL_STATUS_INVALID_ARGUMENT, NULL);
    FAILS(g, mcl_graph_input(g, "in_null", NULL, &y), MCL_STATUS_INVALID_ARGUMENT, NULL);
    FAILS(g, mcl_graph_input(NULL, "in_g", &s8, &y), MCL_STATUS_INVALID_ARGUMENT, NULL);
    FAILS(g, mcl_graph_output(g, 5000), MCL_STATUS_INVALID_ARGUMENT, "5000");
    FAILS(g, mcl_graph_output(g, -1), MCL_STATUS_INVALID_ARGUMENT, NULL);
    FAILS(g, mcl_graph_output(NULL, x), MCL_STATUS_INVALID_ARGUMENT, NULL);
    mcl_shape s;
    mcl_node_info nd;
    uint64_t macs, params;
    cr_expect_eq(mcl_graph_value_shape(g, 5000, &s), MCL_STATUS_INVALID_ARGUMENT);
    cr_expect_eq(mcl_graph_value_shape(g, x, NULL), MCL_STATUS_INVALID_ARGUMENT);
    cr_expect_eq(mcl_graph_node(g, 5000, &nd), MCL_STATUS_INVALID_ARGUMENT);
    cr_expect_eq(mcl_graph_node(g, 0, NULL), MCL_STATUS_INVALID_ARGUMENT);
    cr_expect_eq(mcl_graph_stats(g, NULL, &params), MCL_STATUS_INVALID_ARGUMENT);
    cr_expect_eq(mcl_graph_stats(NULL, &macs, &params), MCL_STATUS_INVALID_ARGUMENT);
    cr_expect_eq(mcl_graph_create(NULL), MCL_STATUS_INVALID_ARGUMENT);
    cr_expect_eq(mcl_graph_node_count(NULL), 0);
    cr_expect_eq(mcl_graph_value_count(NULL), 0);
    cr_expect_eq(mcl_graph_input_value(NULL, 0), -1);
    mcl_graph_destroy(NULL);

    /* a generated name when name is NULL; later errors name it */
    OK(mcl_graph_activation(g, NULL, MCL_ACT_RELU, x, &y));
    cr_expect(mcl_graph_value_name(g, y) && *mcl_graph_value_name(g, y), "no generated name");
    OK(mcl_graph_output(g, y));
    OK(mcl_graph_validate(g));
    mcl_graph_destroy(g);
    free(w);
}

Test(graph_ir, io_limits)
{
    mcl_graph *g;
    OK(mcl_graph_create(&g));
    mcl_shape s = shp(1, 2, 2, 2);
    mcl_value v[MCL_GRAPH_MAX_IO], y;
    for (size_t i = 0; i < MCL_GRAPH_MAX_IO; i++)
        OK(mcl_graph_input(g, NULL, &s, &v[i]));
    cr_expect_str_eq(mcl_graph_value_name(g, v[1]), "input1");
    FAILS(g, mcl_graph_input(g, "ninth", &s, &y), MCL_STATUS_UNSUPPORTED, NULL);
    for (size_t i = 0; i < MCL_GRAPH_MAX_IO; i++)
        OK(mcl_graph_output(g, v[i]));
    cr_expect_eq(mcl_graph_output(g, v[0]), MCL_STATUS_UNSUPPORTED);
    mcl_graph_destroy(g);
}

/* ---- validate and stats --------------------------------------------------------- */

Test(graph_ir, validate)
{
    chain c;
    chain_build(&c);
    OK(mcl_graph_validate(c.g));
    cr_expect_eq(mcl_graph_validate(NULL), MCL_STATUS_INVALID_ARGUMENT);
    chain_free(&c);

    mcl_graph *g;
    OK(mcl_graph_create(&g));
    cr_expect_eq(mcl_graph_validate(g), MCL_STATUS_INVALID_ARGUMENT, "an empty graph validates");
    mcl_shape s = shp(1, 4, 3, 3);
    mcl_value x, y;
    OK(mcl_graph_input(g, "x", &s, &x));
    OK(mcl_graph_activation(g, "r", MCL_ACT_RELU6, x, &y));
    mcl_status st = mcl_graph_validate(g);
    cr_expect_eq(st, MCL_STATUS_INVALID_ARGUMENT, "a graph without outputs validates");
    cr_expect(strstr(mcl_last_error(), "output") != NULL, "%s", mcl_last_error());
    OK(mcl_graph_output(g, y));
    OK(mcl_graph_validate(g));
    cr_expect_str_empty(mcl_last_error());
    mcl_graph_destroy(g);
}

/* input 1x3x8x8 -> conv 3->4 3x3 s2 p1 +bias (out 4x4x4) -> bn -> dw 4 3x3 p1 no bias
 * -> global avg -> fc 4->5 +bias */
Test(graph_ir, stats_by_hand)
{
    mcl_graph *g;
    OK(mcl_graph_create(&g));
    mcl_shape s = shp(1, 3, 8, 8);
    mcl_value v;
    float w[200] = {0}, one[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    OK(mcl_graph_input(g, "x", &s, &v));
    mcl_conv2d_desc d = cdesc(3, 4, 1, 3, 2, 1);
    OK(mcl_graph_conv2d(g, "c1", &d, w, w, v, -1, &v));
    OK(mcl_graph_batchnorm(g, "bn", v, one, one, one, one, 0.0f, &v));
    d = cdesc(4, 4, 4, 3, 1, 1);
    OK(mcl_graph_conv2d(g, "dw", &d, w, NULL, v, -1, &v));
    mcl_pool2d_desc pd = {.type = MCL_POOL_GLOBAL_AVG};
    OK(mcl_graph_pool2d(g, "gap", &pd, MCL_ACT_NONE, v, &v));
    mcl_fc_desc fd = {.in_features = 4, .out_features = 5};
    OK(mcl_graph_fc(g, "fc", &fd, w, w, v, &v));
    OK(mcl_graph_output(g, v));
    uint64_t macs = 0, params = 0;
    OK(mcl_graph_stats(g, &macs, &params));
    /* c1: 4*3*9 = 108 weights x 16 pixels = 1728 MACs, 112 params; bn 8 params;
     * dw: 4*1*9 = 36 x 16 = 576 MACs, 36 params; fc: 20 MACs, 25 params */
    cr_expect_eq(macs, 1728 + 576 + 20, "macs %llu", (unsigned long long)macs);
    cr_expect_eq(params, 112 + 8 + 36 + 25, "params %llu", (unsigned long long)params);
    mcl_graph_destroy(g);
}

/* ---- the reference executor on hand-computed graphs --------------------------- */

/* 1x1 conv, known weights, bias, residual (a second graph input) and relu */
Test(graph_ir, ref_conv_1x1_by_hand)
{
    mcl_graph *g;
    OK(mcl_graph_create(&g));
    mcl_shape s = shp(1, 2, 1, 2);
    mcl_value x, r, y, z;
    OK(mcl_graph_input(g, "x", &s, &x));
    OK(mcl_graph_input(g, "r", &s, &r));
    const float w[4] = {1, 10, -1, 0.5f}, b[2] = {0.5f, -1};
    mcl_conv2d_desc d = cdesc(2, 2, 1, 1, 1, 0);
    OK(mcl_graph_conv2d(g, "plain", &d, w, b, x, -1, &y));
    d.activation = MCL_ACT_RELU;
    OK(mcl_graph_conv2d(g, "res", &d, w, b, x, r, &z));
    OK(mcl_graph_output(g, y));
    OK(mcl_graph_output(g, z));
    /* x: channel 0 = {1, 2}, channel 1 = {3, 4} */
    const float xin[4] = {1, 2, 3, 4}, rin[4] = {-40, 0, 1, 2};
    const float *in[2] = {xin, rin};
    float *out[2];
    cr_assert_eq(ref_graph_run(g, in, out), 0, "%s", ref_graph_error());
    /* y0 = x0 + 10 x1 + 0.5 = {31.5, 42.5}; y1 = -x0 + 0.5 x1 - 1 = {-0.5, -1} */
    const float want_y[4] = {31.5f, 42.5f, -0.5f, -1.0f};
    /* relu(y + r) = {0, 42.5, 0.5, 1} */
    const float want_z[4] = {0.0f, 42.5f, 0.5f, 1.0f};
    for (size_t i = 0; i < 4; i++) {
        cr_expect_float_eq(out[0][i], want_y[i], 1e-6f, "plain[%zu] = %g", i, (double)out[0][i]);
        cr_expect_float_eq(out[1][i], want_z[i], 1e-6f, "res[%zu] = %g", i, (double)out[1][i]);
    }
    free(out[0]);
    free(out[1]);
    mcl_graph_destroy(g);
}

Test(graph_ir, ref_shuffle_by_hand)
{
    static const struct {
        uint32_t groups;
        float want[6];
    } rows[] = {{2, {0, 3, 1, 4, 2, 5}}, {3, {0, 2, 4, 1, 3, 5}}, {1, {0, 1, 2, 3, 4, 5}}, {6, {0, 1, 2, 3, 4, 5}}};
    for (size_t r = 0; r < N_(rows); r++) {
        mcl_graph *g;
        OK(mcl_graph_create(&g));
        mcl_shape s = shp(1, 6, 1, 1);
        mcl_value x, y;
        OK(mcl_graph_input(g, "x", &s, &x));
        OK(mcl_graph_shuffle(g, "shuf", x, rows[r].groups, &y));
        OK(mcl_graph_output(g, y));
        const float xin[6] = {0, 1, 2, 3, 4, 5};
        float *got = run1(g, xin, NULL);
        for (size_t i = 0; i < 6; i++)
            cr_expect_eq(got[i], rows[r].want[i], "g=%u: channel %zu is %g, want %g", rows[r].groups, i,
                         (double)got[i], (double)rows[r].want[i]);
        free(got);
        mcl_graph_destroy(g);
    }
}

/* split + concat in order is the identity, exactly; split's outputs are the channel ranges */
Test(graph_ir, ref_split_concat_identity)
{
    mcl_graph *g;
    OK(mcl_graph_create(&g));
    mcl_shape s = shp(2, 7, 3, 4);
    mcl_value x, parts[3], y;
    const uint32_t sizes[3] = {2, 4, 1};
    OK(mcl_graph_input(g, "x", &s, &x));
    OK(mcl_graph_split(g, "split", x, 3, sizes, parts));
    OK(mcl_graph_concat(g, "cat", 3, parts, &y));
    OK(mcl_graph_output(g, y));
    OK(mcl_graph_output(g, parts[1]));
    float *xin = rnd(cnt(s), 9, -1.0f, 1.0f), *out[2];
    run1(g, xin, out);
    cr_expect(!memcmp(out[0], xin, cnt(s) * sizeof(float)), "split+concat is not the identity");
    for (size_t n = 0; n < 2; n++) /* part 1 = channels 2..5 */
        cr_expect(!memcmp(out[1] + n * 4 * 12, xin + (n * 7 + 2) * 12, 4 * 12 * sizeof(float)),
                  "split part 1 of batch %zu", n);
    free(out[0]);
    free(out[1]);
    free(xin);
    mcl_graph_destroy(g);
}

/* BN on a constant input: gamma (x - mean) / sqrt(var + eps) + beta */
Test(graph_ir, ref_batchnorm_constant)
{
    mcl_graph *g;
    OK(mcl_graph_create(&g));
    mcl_shape s = shp(1, 2, 2, 3);
    mcl_value x, y;
    const float gamma[2] = {2, 0.5f}, beta[2] = {1, -1}, mean[2] = {1, 3}, var[2] = {3, 0};
    OK(mcl_graph_input(g, "x", &s, &x));
    OK(mcl_graph_batchnorm(g, "bn", x, gamma, beta, mean, var, 1.0f, &y));
    OK(mcl_graph_output(g, y));
    float xin[12];
    ref_fill_value(xin, 12, 3.0f);
    float *got = run1(g, xin, NULL);
    /* channel 0: 2 * (3 - 1) / sqrt(4) + 1 = 3; channel 1: 0.5 * 0 / 1 - 1 = -1 */
    for (size_t i = 0; i < 12; i++)
        cr_expect_float_eq(got[i], i < 6 ? 3.0f : -1.0f, 1e-6f, "element %zu is %g", i, (double)got[i]);
    free(got);
    mcl_graph_destroy(g);
}

/* activation, add + relu6, pool + act, fc, softmax: small values by hand */
Test(graph_ir, ref_small_ops_by_hand)
{
    mcl_graph *g;
    OK(mcl_graph_create(&g));
    mcl_shape s = shp(1, 2, 2, 2);
    mcl_value x, relu, add, mx, avg, fc, sm;
    OK(mcl_graph_input(g, "x", &s, &x));
    OK(mcl_graph_activation(g, "relu", MCL_ACT_RELU, x, &relu));
    OK(mcl_graph_add(g, "add", x, relu, MCL_ACT_RELU6, &add));
    mcl_pool2d_desc pd = {.type = MCL_POOL_MAX, .kernel_h = 2, .kernel_w = 2, .stride_h = 2, .stride_w = 2};
    OK(mcl_graph_pool2d(g, "max", &pd, MCL_ACT_RELU, x, &mx));
    pd.type = MCL_POOL_AVG;
    OK(mcl_graph_pool2d(g, "avg", &pd, MCL_ACT_NONE, x, &avg));
    const float fw[2] = {2, -1}, fb[1] = {0.5f};
    mcl_fc_desc fd = {.in_features = 2, .out_features = 1};
    OK(mcl_graph_fc(g, "fc", &fd, fw, fb, avg, &fc));
    OK(mcl_graph_softmax(g, "sm", avg, &sm));
    const mcl_value outs[5] = {relu, add, mx, fc, sm};
    for (size_t i = 0; i < 5; i++)
        OK(mcl_graph_output(g, outs[i]));
    /* channel 0: {1, 2, 3, 4}, channel 1: {-1, -2, -3, -4} */
    const float xin[8] = {1, 2, 3, 4, -1, -2, -3, -4};
    float *o[5];
    run1(g, xin, o);
    const float w_relu[8] = {1, 2, 3, 4, 0, 0, 0, 0}, w_add[8] = {2, 4, 6, 6, 0, 0, 0, 0}; /* relu6(x + relu(x)) */
    for (size_t i = 0; i < 8; i++) {
        cr_expect_eq(o[0][i], w_relu[i], "relu[%zu] %g", i, (double)o[0][i]);
        cr_expect_eq(o[1][i], w_add[i], "add[%zu] %g", i, (double)o[1][i]);
    }
    cr_expect(o[2][0] == 4.0f && o[2][1] == 0.0f, "max+relu: %g %g", (double)o[2][0], (double)o[2][1]);
    /* avg = {2.5, -2.5}; fc = 2 * 2.5 - (-2.5) + 0.5 = 8 */
    cr_expect_float_eq(o[3][0], 8.0f, 1e-6f, "fc %g", (double)o[3][0]);
    /* softmax(2.5, -2.5) = 1 / (1 + e^-5), e^-5 / (1 + e^-5) */
    cr_expect_float_eq(o[4][0], (float)(1.0 / (1.0 + exp(-5.0))), 1e-6f, "sm0 %g", (double)o[4][0]);
    cr_expect_float_eq(o[4][1], (float)(exp(-5.0) / (1.0 + exp(-5.0))), 1e-6f, "sm1 %g", (double)o[4][1]);
    for (size_t i = 0; i < 5; i++)
        free(o[i]);
    mcl_graph_destroy(g);
}

/* input passed straight through as an output, an output listed twice, a
 * value nobody uses, an add of a value with itself */
Test(graph_ir, ref_odd_wiring)
{
    mcl_graph *g;
    OK(mcl_graph_create(&g));
    mcl_shape s = shp(1, 3, 2, 2);
    mcl_value x, dead, dbl;
    OK(mcl_graph_input(g, "x", &s, &x));
    OK(mcl_graph_activation(g, "dead", MCL_ACT_RELU, x, &dead));
    OK(mcl_graph_add(g, "double", x, x, MCL_ACT_NONE, &dbl));
    OK(mcl_graph_output(g, x));
    OK(mcl_graph_output(g, dbl));
    OK(mcl_graph_output(g, dbl));
    float *xin = rnd(12, 3, -1, 1), *o[3];
    run1(g, xin, o);
    for (size_t i = 0; i < 12; i++) {
        cr_expect_eq(o[0][i], xin[i]);
        cr_expect_eq(o[1][i], 2 * xin[i]);
        cr_expect_eq(o[2][i], 2 * xin[i]);
    }
    cr_expect(o[1] != o[2], "an output listed twice must get two buffers");
    for (size_t i = 0; i < 3; i++)
        free(o[i]);
    const float *bad[1] = {NULL};
    o[0] = o[1] = o[2] = (float *)xin;
    cr_expect_eq(ref_graph_run(g, bad, o), -1);
    cr_expect(o[0] == NULL && o[1] == NULL && o[2] == NULL, "outputs not cleared on failure");
    cr_expect(*ref_graph_error(), "no reference error message");
    free(xin);
    mcl_graph_destroy(g);
}

/* MobileNet V1 (conv/BN/ReLU unfolded, width alpha) built by hand: the
 * reference runs it and frees as it goes, so its peak is exactly the
 * largest input + output pair of one node in this chain. */
static mcl_value mbv1(mcl_graph *g, float alpha, uint32_t res, uint64_t *seed)
{
    static const struct {
        uint32_t c, s;
    } blocks[13] = {{64, 1},  {128, 2}, {128, 1}, {256, 2}, {256, 1}, {512, 2}, {512, 1},
                    {512, 1}, {512, 1}, {512, 1}, {512, 1}, {1024, 2}, {1024, 1}};
    mcl_shape s = shp(1, 3, res, res);
    mcl_value v;
    OK(mcl_graph_input(g, "image", &s, &v));
    uint32_t cin = 3;
    float *prm = rnd(1024, 77, 0.5f, 1.5f), *zero = calloc(1024, sizeof(float));
    for (int i = -1; i < 13; i++) {
        for (int k = 0; k < (i < 0 ? 1 : 2); k++) {
            const uint32_t co = i < 0 ? (uint32_t)(32 * alpha) : k == 0 ? cin : (uint32_t)(blocks[i].c * alpha);
            mcl_conv2d_desc d = i < 0    ? cdesc(3, co, 1, 3, 2, 1)
                                : k == 0 ? cdesc(cin, cin, cin, 3, blocks[i].s, 1)
                                         : cdesc(cin, co, 1, 1, 1, 0);
            const size_t nw = (size_t)co * (cin / d.groups) * d.kernel_h * d.kernel_w;
            float *w = rnd(nw, (*seed)++, -1.0f, 1.0f);
            const float sc = (float)sqrt(3.0 / (double)(nw / co)); /* keep activations O(1) */
            for (size_t j = 0; j < nw; j++)
                w[j] *= sc;
            OK(mcl_graph_conv2d(g, NULL, &d, w, NULL, v, -1, &v));
            OK(mcl_graph_batchnorm(g, NULL, v, prm, zero, zero, prm, 1e-5f, &v));
            OK(mcl_graph_activation(g, NULL, MCL_ACT_RELU, v, &v));
            free(w);
            cin = co;
        }
    }
    mcl_pool2d_desc pd = {.type = MCL_POOL_GLOBAL_AVG};
    OK(mcl_graph_pool2d(g, "gap", &pd, MCL_ACT_NONE, v, &v));
    mcl_fc_desc fd = {.in_features = cin, .out_features = 1000};
    float *fw = rnd((size_t)cin * 1000, (*seed)++, -0.1f, 0.1f);
    OK(mcl_graph_fc(g, "logits", &fd, fw, NULL, v, &v));
    OK(mcl_graph_output(g, v));
    free(fw);
    free(prm);
    free(zero);
    return v;
}

Test(graph_ir, ref_mobilenet_v1_memory, .timeout = 300)
{
    mcl_graph *g;
    OK(mcl_graph_create(&g));
    uint64_t seed = 1;
    mcl_value out = mbv1(g, 0.25f, 224, &seed);
    OK(mcl_graph_validate(g));
    uint64_t macs, params;
    OK(mcl_graph_stats(g, &macs, &params));
    cr_expect(macs > 40000000 && macs < 43000000, "MobileNet V1 0.25 @224 MACs %llu (about 41M)",
              (unsigned long long)macs);

    size_t peak_want = 0, naive = 0;
    mcl_node_info nd;
    for (size_t i = 0; i < mcl_graph_node_count(g); i++) {
        OK(mcl_graph_node(g, i, &nd));
        size_t b = (ref_graph_value_count(g, nd.in[0]) + ref_graph_value_count(g, nd.out[0])) * sizeof(float);
        peak_want = b > peak_want ? b : peak_want;
        naive += ref_graph_value_count(g, nd.out[0]) * sizeof(float);
    }
    float *x = malloc(3 * 224 * 224 * sizeof *x), *o[1];
    ref_graph_fill_input(x, 3 * 224 * 224, 5);
    run1(g, x, o);
    cr_expect_eq(ref_graph_peak_bytes(), peak_want, "peak %zu bytes, want %zu (naive %zu)", ref_graph_peak_bytes(),
                 peak_want, naive);
    cr_expect(ref_graph_peak_bytes() * 4 < naive, "peak %zu vs naive %zu", ref_graph_peak_bytes(), naive);
    const size_t n = ref_graph_value_count(g, out);
    cr_expect_eq(n, 1000);
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert(isfinite(o[0][i]), "logit %zu is %g", i, (double)o[0][i]);
        sum += fabs(o[0][i]);
    }
    cr_expect(sum > 0, "all logits zero");
    free(o[0]);
    free(x);
    mcl_graph_destroy(g);
}

/* ref_graph_fill_input: deterministic, in [-1, 1], seeds differ */
Test(graph_ir, fill_input)
{
    float a[256], b[256], c[256];
    ref_graph_fill_input(a, 256, 11);
    ref_graph_fill_input(b, 256, 11);
    ref_graph_fill_input(c, 256, 12);
    cr_expect(!memcmp(a, b, sizeof a));
    cr_expect(memcmp(a, c, sizeof a));
    float lo = 1, hi = -1;
    for (size_t i = 0; i < 256; i++) {
        lo = a[i] < lo ? a[i] : lo;
        hi = a[i] > hi ? a[i] : hi;
    }
    cr_expect(lo >= -1.0f && hi <= 1.0f && lo < -0.9f && hi > 0.9f, "range [%g, %g]", (double)lo, (double)hi);
}
