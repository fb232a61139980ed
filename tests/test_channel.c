/* Channel movement (mcl_channel_*): shuffle with every group count dividing
 * C, split, concat, concat + shuffle fused, and a split of a two-input
 * source, compared with ref_channel (the mcl_channel_desc formula). */
#define _GNU_SOURCE 1
#include <criterion/criterion.h>

#include "harness.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

typedef struct ch_row {
    const char *name;
    uint32_t n, h, w;
    uint32_t c0, c1; /* input channels; c1 used when d.inputs == 2 */
    mcl_channel_desc d;
} ch_row;

#define SPLIT(off, ch) {.channels = (ch), .offset = (off), .groups = 1, .inputs = 1}
#define CONCAT(g) {.channels = 0, .offset = 0, .groups = (g), .inputs = 2}
#define GATHER2(off, ch, g) {.channels = (ch), .offset = (off), .groups = (g), .inputs = 2}

static void channel_check(mcl_context *ctx, const ch_row *r, const char *label)
{
    const mcl_channel_desc *d = &r->d;
    const int two = d->inputs == 2;
    mcl_shape in[2] = {h_shape(r->n, r->c0, r->h, r->w), h_shape(r->n, r->c1, r->h, r->w)};
    float *x0 = h_random(h_count(in[0]), label, "in0", -1, 1);
    float *x1 = two ? h_random(h_count(in[1]), label, "in1", -1, 1) : NULL;
    const uint32_t src_c = r->c0 + (two ? r->c1 : 0);
    const uint32_t outc = d->channels ? d->channels : src_c - d->offset;
    mcl_shape out = h_shape(r->n, outc, r->h, r->w), vout;
    float *want = h_floats(h_count(out));
    uint32_t rc = ref_channel(r->n, r->h, r->w, r->c0, x0, two ? r->c1 : 0, x1, d->offset, d->channels, d->groups,
                              want);
    cr_assert_eq(rc, outc, "[%s] bad test row", label);

    memset(&vout, 0xAB, sizeof vout);
    H_OK(label, mcl_channel_validate(d, in, &vout));
    cr_assert(h_shape_eq(vout, out), "[%s] validate's output %ux%ux%ux%u, expected %ux%ux%ux%u", label, vout.n, vout.c,
              vout.h, vout.w, out.n, out.c, out.h, out.w);
    mcl_op *op = NULL;
    H_OK(label, mcl_channel_create(ctx, d, &op));
    h_run_args a;
    memset(&a, 0, sizeof a);
    a.n_in = two ? 2 : 1;
    a.in[0] = in[0];
    a.in[1] = in[1];
    a.in_data[0] = x0;
    a.in_data[1] = x1;
    a.out = out;
    a.want = want;
    a.atol = 0.0; /* data movement: exact */
    a.rtol = 0.0;
    h_run_op(ctx, op, label, &a);
    mcl_op_destroy(op);
    free(x0);
    free(x1);
    free(want);
}

static void run_rows(mcl_context *ctx, const ch_row *rows, size_t n, const char *tag)
{
    for (size_t i = 0; i < n; i++) {
        char label[192];
        channel_check(ctx, &rows[i], h_label(label, sizeof label, rows[i].name, tag));
    }
}

/* ---- shuffle: every group count dividing C ------------------------------ */

static const struct {
    const char *name;
    uint32_t n, c, h, w;
} k_shuffle_shapes[] = {
    {"shufflenet v2 1.0 116@28", 1, 116, 28, 28},
    {"shufflenet v2 1.0 232@14", 1, 232, 14, 14},
    {"shufflenet v2 1.0 464@7", 1, 464, 7, 7},
    {"shufflenet v2 0.5 48@28", 1, 48, 28, 28},
    {"shufflenet v2 0.5 96@14", 1, 96, 14, 14},
    {"shufflenet v2 0.5 192@7", 1, 192, 7, 7},
    {"shufflenet v1 g3 240@28", 1, 240, 28, 28},
    {"shufflenet v1 g3 480@7", 1, 480, 7, 7},
    {"c20 13x11", 1, 20, 13, 11},
    {"c6 13x11", 1, 6, 13, 11},
    {"c12 5x3 batch2", 2, 12, 5, 3},
    {"c58 7x7", 1, 58, 7, 7},
    {"c3 13x11", 1, 3, 13, 11},
    {"c5 1x1", 1, 5, 1, 1},
};

static void shuffle_all(mcl_context *ctx, const char *tag)
{
    for (size_t i = 0; i < N_(k_shuffle_shapes); i++) {
        const uint32_t C = k_shuffle_shapes[i].c;
        for (uint32_t g = 1; g <= C; g++) {
            if (C % g)
                continue;
            ch_row r = {NULL, k_shuffle_shapes[i].n, k_shuffle_shapes[i].h, k_shuffle_shapes[i].w, C, 0,
                        /* alternate channels = C and channels = 0 (all source channels) */
                        {.channels = (g & 1) ? C : 0, .offset = 0, .groups = g, .inputs = 1}};
            char label[192];
            snprintf(label, sizeof label, "shuffle %s groups %u (channels %u) %s", k_shuffle_shapes[i].name, g,
                     r.d.channels, tag);
            r.name = label;
            channel_check(ctx, &r, label);
        }
    }
}

Test(channel, shuffle_every_group, .timeout = 600)
{
    mcl_context *ctx = h_context();
    shuffle_all(ctx, "");
    mcl_context_destroy(ctx);
}

/* groups 0 means no shuffle, like 1 */
Test(channel, shuffle_groups_zero_is_copy, .timeout = 600)
{
    static const ch_row rows[] = {
        {"groups 0 = copy c20 13x11", 1, 13, 11, 20, 0, {.channels = 20, .offset = 0, .groups = 0, .inputs = 1}},
        {"groups 0 = copy c116 7x7", 1, 7, 7, 116, 0, {.channels = 0, .offset = 0, .groups = 0, .inputs = 1}},
    };
    mcl_context *ctx = h_context();
    run_rows(ctx, rows, N_(rows), "");
    mcl_context_destroy(ctx);
}

/* ---- split ------------------------------------------------------------------ */

static const ch_row k_split[] = {
    {"shufflenet v2 split 116@28 first half", 1, 28, 28, 116, 0, SPLIT(0, 58)},
    {"shufflenet v2 split 116@28 second half", 1, 28, 28, 116, 0, SPLIT(58, 58)},
    {"shufflenet v2 split 116@28 rest (channels 0)", 1, 28, 28, 116, 0, SPLIT(58, 0)},
    {"shufflenet v2 split 232@14 first half", 1, 14, 14, 232, 0, SPLIT(0, 116)},
    {"shufflenet v2 split 232@14 second half", 1, 14, 14, 232, 0, SPLIT(116, 116)},
    {"shufflenet v2 split 464@7 second half", 1, 7, 7, 464, 0, SPLIT(232, 232)},
    {"shufflenet v2 0.5 split 48@28 second half batch2", 2, 28, 28, 48, 0, SPLIT(24, 24)},
    {"c20 offset 3 channels 5", 1, 13, 11, 20, 0, SPLIT(3, 5)},
    {"c20 offset 7 rest", 1, 13, 11, 20, 0, SPLIT(7, 0)},
    {"c20 offset 8 channels 8 (block aligned for 8)", 1, 13, 11, 20, 0, SPLIT(8, 8)},
    {"c20 offset 16 channels 4", 1, 13, 11, 20, 0, SPLIT(16, 4)},
    {"c5 offset 1 channels 3", 1, 13, 11, 5, 0, SPLIT(1, 3)},
    {"c5 offset 4 channels 1", 1, 13, 11, 5, 0, SPLIT(4, 1)},
    {"c13 identity", 1, 7, 7, 13, 0, SPLIT(0, 13)},
    {"c20 offset 4 channels 12 groups 3", 1, 13, 11, 20, 0, {.channels = 12, .offset = 4, .groups = 3, .inputs = 1}},
    {"c58 offset 2 rest (56) groups 2", 1, 7, 7, 58, 0, {.channels = 0, .offset = 2, .groups = 2, .inputs = 1}},
    {"c6 offset 5 channels 1 on 1x1 batch2", 2, 1, 1, 6, 0, SPLIT(5, 1)},
};

Test(channel, split, .timeout = 600)
{
    mcl_context *ctx = h_context();
    run_rows(ctx, k_split, N_(k_split), "");
    mcl_context_destroy(ctx);
}

/* ---- concat ------------------------------------------------------------------ */

static const ch_row k_concat[] = {
    {"shufflenet v2 concat 58+58 @28", 1, 28, 28, 58, 58, CONCAT(1)},
    {"shufflenet v2 concat 116+116 @14", 1, 14, 14, 116, 116, CONCAT(1)},
    {"shufflenet v2 concat 232+232 @7", 1, 7, 7, 232, 232, CONCAT(1)},
    {"shufflenet v2 0.5 concat 24+24 @28", 1, 28, 28, 24, 24, CONCAT(1)},
    {"shufflenet v1 g3 concat avgpool 24 + 216 @28", 1, 28, 28, 24, 216, CONCAT(1)},
    {"shufflenet v1 g3 concat 240+240 @14", 1, 14, 14, 240, 240, CONCAT(1)},
    {"shufflenet v1 g3 concat 480+480 @7", 1, 7, 7, 480, 480, CONCAT(1)},
    {"concat 3+5 13x11", 1, 13, 11, 3, 5, CONCAT(1)},
    {"concat 5+6 7x7", 1, 7, 7, 5, 6, CONCAT(1)},
    {"concat 1+1 13x11", 1, 13, 11, 1, 1, CONCAT(1)},
    {"concat 7+20 5x3 batch2", 2, 5, 3, 7, 20, CONCAT(1)},
    {"concat 20+3 1x1", 1, 1, 1, 20, 3, CONCAT(1)},
    {"concat 8+8 (block aligned) 13x11", 1, 13, 11, 8, 8, CONCAT(1)},
    {"concat explicit channels 58+58 @28", 1, 28, 28, 58, 58, {.channels = 116, .offset = 0, .groups = 1, .inputs = 2}},
};

Test(channel, concat, .timeout = 600)
{
    mcl_context *ctx = h_context();
    run_rows(ctx, k_concat, N_(k_concat), "");
    mcl_context_destroy(ctx);
}

/* ---- concat + shuffle fused --------------------------------------------------- */

static const ch_row k_concat_shuffle[] = {
    {"shufflenet v2 concat+shuffle 58+58 g2 @28", 1, 28, 28, 58, 58, CONCAT(2)},
    {"shufflenet v2 concat+shuffle 116+116 g2 @14", 1, 14, 14, 116, 116, CONCAT(2)},
    {"shufflenet v2 concat+shuffle 232+232 g2 @7", 1, 7, 7, 232, 232, CONCAT(2)},
    {"shufflenet v2 0.5 concat+shuffle 24+24 g2 @28", 1, 28, 28, 24, 24, CONCAT(2)},
    {"shufflenet v2 0.5 concat+shuffle 48+48 g2 @14 batch2", 2, 14, 14, 48, 48, CONCAT(2)},
    {"concat+shuffle 3+3 g2 13x11", 1, 13, 11, 3, 3, CONCAT(2)},
    {"concat+shuffle 5+7 g3 13x11", 1, 13, 11, 5, 7, CONCAT(3)},
    {"concat+shuffle 5+7 g4 13x11", 1, 13, 11, 5, 7, CONCAT(4)},
    {"concat+shuffle 5+7 g6 13x11", 1, 13, 11, 5, 7, CONCAT(6)},
    {"concat+shuffle 5+7 g12 13x11", 1, 13, 11, 5, 7, CONCAT(12)},
    {"concat+shuffle 20+20 g4 7x7", 1, 7, 7, 20, 20, CONCAT(4)},
    {"concat+shuffle 20+20 g5 7x7", 1, 7, 7, 20, 20, CONCAT(5)},
    {"concat+shuffle 20+20 g8 7x7", 1, 7, 7, 20, 20, CONCAT(8)},
    {"concat+shuffle 20+20 g40 7x7", 1, 7, 7, 20, 20, CONCAT(40)},
    {"concat+shuffle 1+1 g2 1x1 batch2", 2, 1, 1, 1, 1, CONCAT(2)},
};

Test(channel, concat_shuffle, .timeout = 600)
{
    mcl_context *ctx = h_context();
    run_rows(ctx, k_concat_shuffle, N_(k_concat_shuffle), "");
    mcl_context_destroy(ctx);
}

/* ---- split (with or without shuffle) of a two-input source -------------------- */

static const ch_row k_split2[] = {
    {"two-input first input exactly 58+58 offset 0 ch 58", 1, 28, 28, 58, 58, GATHER2(0, 58, 1)},
    {"two-input second input exactly 58+58 offset 58 ch 58", 1, 28, 28, 58, 58, GATHER2(58, 58, 1)},
    {"two-input rest 58+58 offset 58 ch 0", 1, 28, 28, 58, 58, GATHER2(58, 0, 1)},
    {"two-input across the boundary 58+58 offset 50 ch 20", 1, 28, 28, 58, 58, GATHER2(50, 20, 1)},
    {"two-input across the boundary with shuffle 58+58 offset 10 ch 100 g4", 1, 14, 14, 58, 58, GATHER2(10, 100, 4)},
    {"two-input 3+5 offset 2 ch 4 13x11", 1, 13, 11, 3, 5, GATHER2(2, 4, 1)},
    {"two-input 5+6 offset 4 rest (7) g7", 1, 7, 7, 5, 6, GATHER2(4, 0, 7)},
    {"two-input 24+24 offset 12 ch 24 g2 batch2", 2, 7, 7, 24, 24, GATHER2(12, 24, 2)},
    {"two-input 20+3 offset 19 ch 2 1x1", 1, 1, 1, 20, 3, GATHER2(19, 2, 1)},
    {"two-input 20+3 offset 20 ch 3 (second only) 13x11", 1, 13, 11, 20, 3, GATHER2(20, 3, 1)},
    {"two-input 8+8 offset 0 ch 4 (first only) 13x11", 1, 13, 11, 8, 8, GATHER2(0, 4, 1)},
};

Test(channel, split_of_two_inputs, .timeout = 600)
{
    mcl_context *ctx = h_context();
    run_rows(ctx, k_split2, N_(k_split2), "");
    mcl_context_destroy(ctx);
}

static void all_tables(mcl_context *ctx, const char *tag)
{
    run_rows(ctx, k_split, N_(k_split), tag);
    run_rows(ctx, k_concat, N_(k_concat), tag);
    run_rows(ctx, k_concat_shuffle, N_(k_concat_shuffle), tag);
    run_rows(ctx, k_split2, N_(k_split2), tag);
    shuffle_all(ctx, tag);
}

Test(channel, other_blocks, .timeout = 600)
{
    H_FOR_OTHER_BLOCKS(ctx, tag, all_tables(ctx, tag));
}

/* The same tensor as both inputs: concat(x, x) and concat+shuffle(x, x). */
Test(channel, same_tensor_twice, .timeout = 600)
{
    mcl_context *ctx = h_context();
    const mcl_shape s = {1, 58, 7, 7};
    const size_t n = h_count(s);
    float *x = h_random(n, "same tensor twice", "x", -1, 1);
    mcl_tensor *t = h_tensor_with(ctx, s, x, "same tensor twice");
    for (uint32_t g = 1; g <= 2; g++) {
        char label[64];
        snprintf(label, sizeof label, "concat(x, x) groups %u", g);
        mcl_channel_desc d = {.channels = 0, .offset = 0, .groups = g, .inputs = 2};
        mcl_shape in[2] = {s, s}, out;
        mcl_op *op = NULL;
        H_OK(label, mcl_channel_create(ctx, &d, &op));
        H_OK(label, mcl_op_reshape(op, 2, in, &out));
        mcl_tensor *to = h_tensor_with(ctx, out, NULL, label);
        mcl_tensor *ins[2] = {t, t};
        H_OK(label, mcl_op_setup(op, 2, ins, to));
        H_OK(label, mcl_op_run(op, NULL));
        H_OK(label, mcl_context_finish(ctx));
        float *want = h_floats(h_count(out)), *got = h_floats(h_count(out));
        ref_channel(s.n, s.h, s.w, s.c, x, s.c, x, 0, 0, g, want);
        H_OK(label, mcl_tensor_read(to, got, h_count(out)));
        h_compare(label, got, want, out, 0, 0);
        h_check_padding(ctx, to, label);
        free(want);
        free(got);
        mcl_tensor_destroy(to);
        mcl_op_destroy(op);
    }
    mcl_tensor_destroy(t);
    free(x);
    mcl_context_destroy(ctx);
}
