/* Fully connected (flatten order c, h, w; bias; activation), softmax over
 * channels for every (n, h, w), and elementwise add + activation, compared
 * with ref_fc, ref_softmax and ref_add. */
#define _GNU_SOURCE 1
#include <criterion/criterion.h>

#include "harness.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

/* ---- fully connected ------------------------------------------------------ */

typedef struct fc_row {
    const char *name;
    mcl_shape in;
    uint32_t out_features;
    mcl_activation act;
    int no_bias;
} fc_row;

static const fc_row k_fc[] = {
    {"mbv1 classifier 1024->1000 (K=1024: tol 1e-3)", SHP(1, 1024, 1, 1), 1000, MCL_ACT_NONE, 0},
    {"mbv1 classifier 1024->1000 batch2 (tol 1e-3)", SHP(2, 1024, 1, 1), 1000, MCL_ACT_NONE, 0},
    {"mbv2/mnasnet classifier 1280->1000 (tol 1e-3)", SHP(1, 1280, 1, 1), 1000, MCL_ACT_NONE, 0},
    {"shufflenet v1 g3 classifier 960->1000", SHP(1, 960, 1, 1), 1000, MCL_ACT_NONE, 0},
    {"shufflenet v2 0.5 classifier 1024->1000 no bias (tol 1e-3)", SHP(1, 1024, 1, 1), 1000, MCL_ACT_NONE, 1},
    {"flatten c,h,w 6x3x5 -> 10 relu batch2", SHP(2, 6, 3, 5), 10, MCL_ACT_RELU, 0},
    {"flatten c,h,w 5x13x11 -> 7 relu6", SHP(1, 5, 13, 11), 7, MCL_ACT_RELU6, 0},
    {"flatten 20x7x7 -> 33", SHP(1, 20, 7, 7), 33, MCL_ACT_NONE, 0},
    {"3 -> 5 no bias", SHP(1, 3, 1, 1), 5, MCL_ACT_NONE, 1},
    {"1 -> 1", SHP(1, 1, 1, 1), 1, MCL_ACT_NONE, 0},
    {"58 -> 1 relu batch2", SHP(2, 58, 1, 1), 1, MCL_ACT_RELU, 0},
    {"c1 h3 w7 -> 9 (channel 1, spatial flatten)", SHP(1, 1, 3, 7), 9, MCL_ACT_NONE, 0},
};

static void fc_check(mcl_context *ctx, const fc_row *r, const char *label)
{
    mcl_fc_desc d = {.in_features = r->in.c * r->in.h * r->in.w, .out_features = r->out_features,
                     .activation = r->act};
    const uint32_t K = d.in_features;
    mcl_shape want_out = h_shape(r->in.n, r->out_features, 1, 1), vout;
    memset(&vout, 0xAB, sizeof vout);
    H_OK(label, mcl_fc_validate(&d, &r->in, &vout));
    cr_assert(h_shape_eq(vout, want_out), "[%s] validate's output %ux%ux%ux%u, expected %ux%ux1x1", label, vout.n,
              vout.c, vout.h, vout.w, r->in.n, r->out_features);
    const float amp = r->act == MCL_ACT_RELU6 ? 8.0f : 1.0f;
    const float ws = (float)(1.0 / sqrt((double)K));
    float *x = h_random(h_count(r->in), label, "input", -amp, amp);
    float *w = h_random((size_t)K * r->out_features, label, "weights", -ws, ws);
    float *b = r->no_bias ? NULL : h_random(r->out_features, label, "bias", -0.5f, 0.5f);
    float *want = h_floats(h_count(want_out));
    ref_fc(r->in.n, K, r->out_features, (int)r->act, x, w, b, want);

    mcl_op *op = NULL;
    H_OK(label, mcl_fc_create(ctx, &d, w, b, &op));
    h_run_args a;
    memset(&a, 0, sizeof a);
    a.n_in = 1;
    a.in[0] = r->in;
    a.in_data[0] = x;
    a.out = want_out;
    a.want = want;
    a.atol = h_tol_for_k(K);
    a.rtol = h_tol_for_k(K);
    h_run_op(ctx, op, label, &a);
    mcl_op_destroy(op);
    free(x);
    free(w);
    free(b);
    free(want);
}

static void fc_rows(mcl_context *ctx, const char *tag)
{
    for (size_t i = 0; i < N_(k_fc); i++) {
        char label[192];
        fc_check(ctx, &k_fc[i], h_label(label, sizeof label, k_fc[i].name, tag));
    }
}

Test(fc, table, .timeout = 600)
{
    mcl_context *ctx = h_context();
    fc_rows(ctx, "");
    mcl_context_destroy(ctx);
}

Test(fc, other_blocks, .timeout = 600)
{
    H_FOR_OTHER_BLOCKS(ctx, tag, fc_rows(ctx, tag));
}

/* ---- softmax -------------------------------------------------------------- */

typedef struct sm_row {
    const char *name;
    mcl_shape in;
    float amp; /* inputs U(-amp, amp) */
} sm_row;

static const sm_row k_softmax[] = {
    {"classifier 1000", SHP(1, 1000, 1, 1), 8.0f},
    {"classifier 1000 batch2", SHP(2, 1000, 1, 1), 8.0f},
    {"c5 3x3 batch2 (per pixel)", SHP(2, 5, 3, 3), 4.0f},
    {"c3 13x11", SHP(1, 3, 13, 11), 4.0f},
    {"c20 7x7", SHP(1, 20, 7, 7), 4.0f},
    {"c1 2x2 (all ones)", SHP(1, 1, 2, 2), 4.0f},
    {"c58 1x1", SHP(1, 58, 1, 1), 1.0f},
    {"large logits +-100 (needs max subtraction) c10", SHP(1, 10, 1, 1), 100.0f},
    {"large logits +-200 c17 5x3", SHP(1, 17, 5, 3), 200.0f},
};

static void softmax_rows(mcl_context *ctx, const char *tag)
{
    for (size_t i = 0; i < N_(k_softmax); i++) {
        char label[192];
        h_label(label, sizeof label, k_softmax[i].name, tag);
        mcl_shape in = k_softmax[i].in, vout;
        memset(&vout, 0xAB, sizeof vout);
        H_OK(label, mcl_softmax_validate(&in, &vout));
        cr_assert(h_shape_eq(vout, in), "[%s] softmax validate changed the shape", label);
        float *x = h_random(h_count(in), label, "input", -k_softmax[i].amp, k_softmax[i].amp);
        float *want = h_floats(h_count(in));
        ref_softmax(in.n, in.c, in.h, in.w, x, want);
        mcl_op *op = NULL;
        H_OK(label, mcl_softmax_create(ctx, &op));
        h_run_args a;
        memset(&a, 0, sizeof a);
        a.n_in = 1;
        a.in[0] = in;
        a.in_data[0] = x;
        a.out = in;
        a.want = want;
        a.atol = H_ATOL;
        a.rtol = H_RTOL;
        h_run_op(ctx, op, label, &a);
        mcl_op_destroy(op);
        free(x);
        free(want);
    }
}

Test(softmax, table, .timeout = 600)
{
    mcl_context *ctx = h_context();
    softmax_rows(ctx, "");
    mcl_context_destroy(ctx);
}

Test(softmax, other_blocks, .timeout = 600)
{
    H_FOR_OTHER_BLOCKS(ctx, tag, softmax_rows(ctx, tag));
}

/* ---- add -------------------------------------------------------------------- */

typedef struct add_row {
    const char *name;
    mcl_shape s;
    mcl_activation act;
} add_row;

static const add_row k_add[] = {
    {"mbv2 residual 24@56", SHP(1, 24, 56, 56), MCL_ACT_NONE},
    {"mbv2 residual 32@28 batch2", SHP(2, 32, 28, 28), MCL_ACT_NONE},
    {"shufflenet v1 g3 residual relu 240@28", SHP(1, 240, 28, 28), MCL_ACT_RELU},
    {"shufflenet v1 g3 residual relu 960@7", SHP(1, 960, 7, 7), MCL_ACT_RELU},
    {"mnasnet residual 80@14", SHP(1, 80, 14, 14), MCL_ACT_NONE},
    {"c5 13x11 relu6", SHP(1, 5, 13, 11), MCL_ACT_RELU6},
    {"c3 1x1", SHP(1, 3, 1, 1), MCL_ACT_NONE},
    {"c58 7x7 relu batch2", SHP(2, 58, 7, 7), MCL_ACT_RELU},
    {"c20 13x11 relu6", SHP(1, 20, 13, 11), MCL_ACT_RELU6},
    {"c1 13x11", SHP(1, 1, 13, 11), MCL_ACT_RELU},
};

static void add_rows(mcl_context *ctx, const char *tag)
{
    for (size_t i = 0; i < N_(k_add); i++) {
        char label[192];
        h_label(label, sizeof label, k_add[i].name, tag);
        mcl_add_desc d = {.activation = k_add[i].act};
        mcl_shape in[2] = {k_add[i].s, k_add[i].s}, vout;
        memset(&vout, 0xAB, sizeof vout);
        H_OK(label, mcl_add_validate(&d, in, &vout));
        cr_assert(h_shape_eq(vout, k_add[i].s), "[%s] add validate output shape", label);
        const float amp = k_add[i].act == MCL_ACT_RELU6 ? 8.0f : 1.0f;
        const size_t n = h_count(k_add[i].s);
        float *a0 = h_random(n, label, "a", -amp, amp);
        float *a1 = h_random(n, label, "b", -amp, amp);
        float *want = h_floats(n);
        ref_add(n, a0, a1, (int)k_add[i].act, want);
        mcl_op *op = NULL;
        H_OK(label, mcl_add_create(ctx, &d, &op));
        h_run_args a;
        memset(&a, 0, sizeof a);
        a.n_in = 2;
        a.in[0] = in[0];
        a.in[1] = in[1];
        a.in_data[0] = a0;
        a.in_data[1] = a1;
        a.out = vout;
        a.want = want;
        a.atol = H_ATOL;
        a.rtol = H_RTOL;
        h_run_op(ctx, op, label, &a);
        mcl_op_destroy(op);
        free(a0);
        free(a1);
        free(want);
    }
}

Test(add, table, .timeout = 600)
{
    mcl_context *ctx = h_context();
    add_rows(ctx, "");
    mcl_context_destroy(ctx);
}

Test(add, other_blocks, .timeout = 600)
{
    H_FOR_OTHER_BLOCKS(ctx, tag, add_rows(ctx, tag));
}

/* add(x, x) with the same tensor bound twice. */
Test(add, same_tensor_twice)
{
    mcl_context *ctx = h_context();
    const mcl_shape s = {1, 20, 13, 11};
    const size_t n = h_count(s);
    const char *label = "add(x, x)";
    float *x = h_random(n, label, "x", -1, 1);
    float *want = h_floats(n), *got = h_floats(n);
    ref_add(n, x, x, MCL_ACT_RELU, want);
    mcl_add_desc d = {MCL_ACT_RELU};
    mcl_op *op = NULL;
    mcl_shape in[2] = {s, s}, out;
    H_OK(label, mcl_add_create(ctx, &d, &op));
    H_OK(label, mcl_op_reshape(op, 2, in, &out));
    mcl_tensor *t = h_tensor_with(ctx, s, x, label);
    mcl_tensor *to = h_tensor_with(ctx, s, NULL, label);
    mcl_tensor *ins[2] = {t, t};
    H_OK(label, mcl_op_setup(op, 2, ins, to));
    H_OK(label, mcl_op_run(op, NULL));
    H_OK(label, mcl_context_finish(ctx));
    H_OK(label, mcl_tensor_read(to, got, n));
    h_compare(label, got, want, s, H_ATOL, H_RTOL);
    mcl_tensor_destroy(t);
    mcl_tensor_destroy(to);
    mcl_op_destroy(op);
    free(x);
    free(want);
    free(got);
    mcl_context_destroy(ctx);
}
