/* Pooling: max, average (count_include_pad 0 and 1) and global average,
 * on the network layers (ShuffleNet stem max pool, ShuffleNet V1 shortcut
 * avg pool, every network's final global pool) and awkward shapes,
 * compared with ref_pool2d. */
#define _GNU_SOURCE 1
#include <criterion/criterion.h>

#include "harness.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))
#define MAXP(k, s, p) .type = MCL_POOL_MAX, .kernel_h = (k), .kernel_w = (k), .stride_h = (s), .stride_w = (s), CP(p)
#define AVGP(k, s, p, inc)                                                                                        \
    .type = MCL_POOL_AVG, .kernel_h = (k), .kernel_w = (k), .stride_h = (s), .stride_w = (s), CP(p),              \
    .count_include_pad = (inc)
#define GAP .type = MCL_POOL_GLOBAL_AVG

static const h_pool_row k_networks[] = {
    {"shufflenet stem maxpool 24@112 3x3 s2 p1", SHP(1, 24, 112, 112), {MAXP(3, 2, 1)}},
    {"shufflenet stem maxpool 24@112 3x3 s2 p1 batch2", SHP(2, 24, 112, 112), {MAXP(3, 2, 1)}},
    {"shufflenet v1 g3 shortcut avgpool 24@56 3x3 s2 p1 (incl pad)", SHP(1, 24, 56, 56), {AVGP(3, 2, 1, 1)}},
    {"shufflenet v1 g3 shortcut avgpool 240@28 3x3 s2 p1 (incl pad)", SHP(1, 240, 28, 28), {AVGP(3, 2, 1, 1)}},
    {"shufflenet v1 g3 shortcut avgpool 480@14 3x3 s2 p1 (excl pad)", SHP(1, 480, 14, 14), {AVGP(3, 2, 1, 0)}},
    {"mbv1 global avg 1024@7", SHP(1, 1024, 7, 7), {GAP}},
    {"mbv2/mnasnet global avg 1280@7", SHP(1, 1280, 7, 7), {GAP}},
    {"shufflenet v2 1.0 global avg 1024@7 batch2", SHP(2, 1024, 7, 7), {GAP}},
    {"shufflenet v1 g3 global avg 960@7", SHP(1, 960, 7, 7), {GAP}},
    {"mbv1 avgpool 7x7 1024@7 (as avg)", SHP(1, 1024, 7, 7), {AVGP(7, 1, 0, 0)}},
};

static const h_pool_row k_awkward[] = {
    {"max 2x2 s2 c5 13x11", SHP(1, 5, 13, 11), {MAXP(2, 2, 0)}},
    {"max 3x3 s2 p1 c3 13x11", SHP(1, 3, 13, 11), {MAXP(3, 2, 1)}},
    {"max 3x3 s1 p1 c20 7x7", SHP(1, 20, 7, 7), {MAXP(3, 1, 1)}},
    {"max 3x3 s2 asym pad 0,0,1,1 c6 14x14", SHP(1, 6, 14, 14), {.type = MCL_POOL_MAX, .kernel_h = 3, .kernel_w = 3, .stride_h = 2, .stride_w = 2, CPAD(0, 0, 1, 1)}},
    {"max 3x2 kernel s(1,2) pad 1,0,1,1 c58 9x10", SHP(1, 58, 9, 10), {.type = MCL_POOL_MAX, .kernel_h = 3, .kernel_w = 2, .stride_h = 1, .stride_w = 2, CPAD(1, 0, 1, 1)}},
    {"max 7x7 = whole input c6", SHP(1, 6, 7, 7), {MAXP(7, 1, 0)}},
    {"max 3x3 p1 on 1x1 input c5", SHP(1, 5, 1, 1), {MAXP(3, 1, 1)}},
    {"max 3x3 s3 c20 batch2 13x11", SHP(2, 20, 13, 11), {MAXP(3, 3, 0)}},
    {"avg 3x3 s1 p1 excl pad c5 13x11", SHP(1, 5, 13, 11), {AVGP(3, 1, 1, 0)}},
    {"avg 3x3 s1 p1 incl pad c5 13x11", SHP(1, 5, 13, 11), {AVGP(3, 1, 1, 1)}},
    {"avg 2x2 s2 c3 13x11", SHP(1, 3, 13, 11), {AVGP(2, 2, 0, 0)}},
    {"avg 3x3 s2 p1 excl pad c58 batch2 7x7", SHP(2, 58, 7, 7), {AVGP(3, 2, 1, 0)}},
    {"avg 3x3 s2 p1 incl pad c58 batch2 7x7", SHP(2, 58, 7, 7), {AVGP(3, 2, 1, 1)}},
    {"avg 5x5 s2 asym pad 2,1,0,2 excl c6 13x11", SHP(1, 6, 13, 11), {.type = MCL_POOL_AVG, .kernel_h = 5, .kernel_w = 5, .stride_h = 2, .stride_w = 2, CPAD(2, 1, 0, 2), .count_include_pad = 0}},
    {"avg 5x5 s2 asym pad 2,1,0,2 incl c6 13x11", SHP(1, 6, 13, 11), {.type = MCL_POOL_AVG, .kernel_h = 5, .kernel_w = 5, .stride_h = 2, .stride_w = 2, CPAD(2, 1, 0, 2), .count_include_pad = 1}},
    {"avg 3x3 p1 on 1x1 input excl c20", SHP(1, 20, 1, 1), {AVGP(3, 1, 1, 0)}},
    {"avg 3x3 p1 on 1x1 input incl c20", SHP(1, 20, 1, 1), {AVGP(3, 1, 1, 1)}},
    {"global avg c5 13x11", SHP(1, 5, 13, 11), {GAP}},
    {"global avg c3 1x1", SHP(1, 3, 1, 1), {GAP}},
    {"global avg c58 batch2 14x14", SHP(2, 58, 14, 14), {GAP}},
    {"global avg c20 56x56 (large plane)", SHP(1, 20, 56, 56), {GAP}},
    {"global avg ignores kernel/stride fields c6 7x7", SHP(1, 6, 7, 7), {GAP, .kernel_h = 3, .kernel_w = 3, .stride_h = 2, .stride_w = 2}},
};

static void run_rows(mcl_context *ctx, const h_pool_row *rows, size_t n, const char *tag)
{
    for (size_t i = 0; i < n; i++) {
        char label[192];
        h_label(label, sizeof label, rows[i].name, tag);
        h_pool_check(ctx, &rows[i].d, rows[i].in, NULL, label);
    }
}

Test(pool, networks, .timeout = 600)
{
    mcl_context *ctx = h_context();
    run_rows(ctx, k_networks, N_(k_networks), "");
    mcl_context_destroy(ctx);
}

Test(pool, awkward, .timeout = 600)
{
    mcl_context *ctx = h_context();
    run_rows(ctx, k_awkward, N_(k_awkward), "");
    mcl_context_destroy(ctx);
}

/* The other channel blocks (4, 8, 16 minus the default) on a subset. */
static const size_t k_block_rows[] = {0, 1, 3, 7, 8, 9, 12, 14, 17, 19};

Test(pool, other_blocks, .timeout = 600)
{
    H_FOR_OTHER_BLOCKS(ctx, tag, {
        for (size_t i = 0; i < N_(k_block_rows); i++)
            run_rows(ctx, &k_awkward[k_block_rows[i]], 1, tag);
        run_rows(ctx, k_networks + 4, 1, tag);
    });
}

/* Max pool over all-negative data: padding must never win (a 0 or an
 * uninitialised max would). */
Test(pool, max_all_negative, .timeout = 600)
{
    static const h_pool_row rows[] = {
        {"max 3x3 s2 p1 all negative c6 13x11", SHP(1, 6, 13, 11), {MAXP(3, 2, 1)}},
        {"max 3x3 s1 p1 all negative c20 7x7", SHP(1, 20, 7, 7), {MAXP(3, 1, 1)}},
    };
    mcl_context *ctx = h_context();
    for (size_t i = 0; i < N_(rows); i++) {
        const char *label = rows[i].name;
        mcl_shape in = rows[i].in, out;
        H_OK(label, mcl_pool2d_validate(&rows[i].d, &in, &out));
        float *x = h_random(h_count(in), label, "input", -3.0f, -1.0f);
        float *want = h_floats(h_count(out));
        ref_pool2d_params p = {.type = REF_POOL_MAX, .n = in.n, .c = in.c, .h = in.h, .w = in.w,
                               .kh = 3, .kw = 3, .sh = rows[i].d.stride_h, .sw = rows[i].d.stride_w,
                               .pt = 1, .pl = 1, .pb = 1, .pr = 1};
        ref_pool2d(&p, x, want);
        mcl_op *op = NULL;
        H_OK(label, mcl_pool2d_create(ctx, &rows[i].d, &op));
        h_run_args a;
        memset(&a, 0, sizeof a);
        a.n_in = 1;
        a.in[0] = in;
        a.in_data[0] = x;
        a.out = out;
        a.want = want;
        a.atol = H_ATOL;
        a.rtol = H_RTOL;
        h_run_op(ctx, op, label, &a);
        mcl_op_destroy(op);
        free(x);
        free(want);
    }
    mcl_context_destroy(ctx);
}

/* The pool ops report the POOL family after reshape. */
Test(pool, family)
{
    mcl_context *ctx = h_context();
    const mcl_pool2d_desc d = {MAXP(3, 2, 1)};
    mcl_op *op = NULL;
    mcl_shape in = h_shape(1, 5, 13, 11), out;
    H_OK("pool family", mcl_pool2d_create(ctx, &d, &op));
    H_OK("pool family", mcl_op_reshape(op, 1, &in, &out));
    mcl_family f;
    mcl_tunables t;
    H_OK("pool family", mcl_op_get_tunables(op, &f, &t));
    cr_expect_eq((int)f, (int)MCL_FAMILY_POOL, "pool op family %d", (int)f);
    mcl_op_destroy(op);
    mcl_context_destroy(ctx);
}
