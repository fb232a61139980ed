/* Tunables: for every kernel family, every combination of its parameter
 * space (mcl_space_get: tile_w x tile_c x wg, plus wg 0 = driver's choice)
 * on a few shapes, awkward ones included: set with mcl_op_set_tunables,
 * reshape, run, compare with the reference; mcl_op_get_tunables must return
 * what was set. */
#define _GNU_SOURCE 1
#include <criterion/criterion.h>

#include "harness.h"
#include "internal.h" /* mcl_dwpw_create: the graph runtime's fused op */

#define N_(a) (sizeof(a) / sizeof((a)[0]))

static size_t list_len(const uint32_t *l)
{
    size_t n = 0;
    while (l && l[n])
        n++;
    return n;
}

static int in_list(const uint32_t *l, uint32_t v)
{
    for (; l && *l; l++)
        if (*l == v)
            return 1;
    return 0;
}

/* Chosen tunables lie in the family's space (wg 0 = driver's choice). */
static int in_space(const mcl_space *sp, const mcl_tunables *t)
{
    return in_list(sp->tile_w, t->tile_w) && in_list(sp->tile_c, t->tile_c) && (t->wg == 0 || in_list(sp->wg, t->wg)) &&
           (sp->split[0] ? in_list(sp->split, t->split) : t->split == 0);
}

/* Every combination of a family's space; wg also takes 0 (driver's choice). */
typedef struct combos {
    mcl_tunables *t;
    size_t n;
} combos;

static combos all_combos(mcl_family f)
{
    const mcl_space *sp = mcl_space_get(f);
    cr_assert(sp != NULL, "mcl_space_get(%d) is NULL", (int)f);
    cr_assert(sp->family && *sp->family, "family %d has no name", (int)f);
    const size_t nw = list_len(sp->tile_w), nc = list_len(sp->tile_c), ng = list_len(sp->wg);
    const size_t ns = list_len(sp->split) ? list_len(sp->split) : 1; /* no split list: only 0 */
    cr_assert(nw > 0 && nc > 0, "family %s: empty tile_w (%zu) or tile_c (%zu) list", sp->family, nw, nc);
    combos c;
    c.n = 0;
    c.t = (mcl_tunables *)h_malloc(nw * nc * (ng + 1) * ns * sizeof *c.t);
    for (size_t i = 0; i < nw; i++)
        for (size_t j = 0; j < nc; j++)
            for (size_t k = 0; k <= ng; k++)
                for (size_t q = 0; q < ns; q++) {
                    mcl_tunables t = {sp->tile_w[i], sp->tile_c[j], k < ng ? sp->wg[k] : 0, sp->split[0] ? sp->split[q] : 0};
                    c.t[c.n++] = t;
                }
    return c;
}

static void check_got(mcl_op *op, mcl_family fam, const mcl_tunables *t, const char *label)
{
    mcl_family f;
    mcl_tunables got;
    H_OK(label, mcl_op_get_tunables(op, &f, &got));
    cr_assert_eq((int)f, (int)fam, "[%s] family %d, expected %d", label, (int)f, (int)fam);
    cr_assert(got.tile_w == t->tile_w && got.tile_c == t->tile_c && got.wg == t->wg && got.split == t->split,
              "[%s] get_tunables {tile_w %u, tile_c %u, wg %u, split %u} != set {%u, %u, %u, %u}", label, got.tile_w,
              got.tile_c, got.wg, got.split, t->tile_w, t->tile_c, t->wg, t->split);
}

/* A tile combination at a corner of the space: smallest or largest tile_w
 * and smallest or largest tile_c (any wg). */
static int is_corner(const mcl_space *sp, const mcl_tunables *t)
{
    const size_t nw = list_len(sp->tile_w), nc = list_len(sp->tile_c);
    return (t->tile_w == sp->tile_w[0] || t->tile_w == sp->tile_w[nw - 1]) &&
           (t->tile_c == sp->tile_c[0] || t->tile_c == sp->tile_c[nc - 1]);
}

/* One op per row, reused for every combination: set, reshape, run.
 * Rows with corners_only[r] != 0 run the corner combinations only (each
 * tile combination of each program configuration is a separate program
 * build, 1-4 s on POCL; the full enumeration runs on the other rows). */
static void conv_family_sel(mcl_family fam, const h_conv_row *rows, size_t nrows, const int *corners_only)
{
    mcl_context *ctx = h_context();
    combos c = all_combos(fam);
    const mcl_space *sp = mcl_space_get(fam);
    for (size_t r = 0; r < nrows; r++) {
        h_conv_data cd;
        h_conv_data_make(&cd, &rows[r].d, rows[r].in, rows[r].no_bias, rows[r].name);
        mcl_op *op = NULL;
        H_OK(rows[r].name, mcl_conv2d_create(ctx, &rows[r].d, cd.wt, cd.bias, &op));
        h_run_args a = h_conv_args(&cd, &rows[r].d, rows[r].in);
        for (size_t i = 0; i < c.n; i++) {
            if (corners_only && corners_only[r] && !is_corner(sp, &c.t[i]))
                continue;
            char label[256];
            snprintf(label, sizeof label, "%s: %s {tile_w %u, tile_c %u, wg %u}", sp->family, rows[r].name,
                     c.t[i].tile_w, c.t[i].tile_c, c.t[i].wg);
            H_OK(label, mcl_op_set_tunables(op, &c.t[i]));
            h_run_op(ctx, op, label, &a);
            check_got(op, fam, &c.t[i], label);
        }
        mcl_op_destroy(op);
        h_conv_data_free(&cd);
    }
    free(c.t);
    mcl_context_destroy(ctx);
}

static void conv_family(mcl_family fam, const h_conv_row *rows, size_t nrows)
{
    conv_family_sel(fam, rows, nrows, NULL);
}

#define RELU .activation = MCL_ACT_RELU
#define RELU6 .activation = MCL_ACT_RELU6

/* Rows share two program configurations per family (the shape is a runtime
 * argument; kernel size, stride, dilation, activation and residual are
 * build options), so that every tile combination costs two builds. */
Test(tunables, conv_every_combination, .timeout = 600)
{
    static const h_conv_row rows[] = {
        {"3x3 g2 6->10 s1 p1 relu 13x11", SHP(1, 6, 13, 11), {CIO(6, 10, 2), CK(3), CS(1), CP(1), CD(1), RELU, .variant = MCL_CONV_DIRECT}, 0},
        {"3x3 5->7 s1 p1 relu batch2 7x9", SHP(2, 5, 7, 9), {CIO(5, 7, 1), CK(3), CS(1), CP(1), CD(1), RELU, .variant = MCL_CONV_DIRECT}, 0},
        {"5x5 d2 s2 20->12 g4 asym 4,3,2,4 +residual relu6 17x17", SHP(1, 20, 17, 17), {CIO(20, 12, 4), CK(5), CS(2), CPAD(4, 3, 2, 4), CD(2), RELU6, .residual = 1, .variant = MCL_CONV_DIRECT}, 0},
        {"5x5 d2 s2 3->5 p4 +residual relu6 1x1 input", SHP(1, 3, 1, 1), {CIO(3, 5, 1), CK(5), CS(2), CP(4), CD(2), RELU6, .residual = 1, .variant = MCL_CONV_DIRECT}, 0},
    };
    conv_family(MCL_FAMILY_CONV, rows, N_(rows));
}

Test(tunables, dwconv_every_combination, .timeout = 600)
{
    static const h_conv_row rows[] = {
        {"dw 20 3x3 s1 p1 relu6 13x11", SHP(1, 20, 13, 11), {CIO(20, 20, 20), CK(3), CS(1), CP(1), CD(1), RELU6, .variant = MCL_CONV_DEPTHWISE}, 0},
        {"dw 3 3x3 s1 p1 relu6 batch2 1x1", SHP(2, 3, 1, 1), {CIO(3, 3, 3), CK(3), CS(1), CP(1), CD(1), RELU6, .variant = MCL_CONV_DEPTHWISE}, 0},
        {"dw 58 5x5 s2 p2 +residual batch2 14x14", SHP(2, 58, 14, 14), {CIO(58, 58, 58), CK(5), CS(2), CP(2), CD(1), .residual = 1, .variant = MCL_CONV_DEPTHWISE}, 0},
        {"dw 6 5x5 s2 asym 1,2,2,1 +residual 9x7", SHP(1, 6, 9, 7), {CIO(6, 6, 6), CK(5), CS(2), CPAD(1, 2, 2, 1), CD(1), .residual = 1, .variant = MCL_CONV_DEPTHWISE}, 0},
    };
    conv_family(MCL_FAMILY_DWCONV, rows, N_(rows));
}

/* pwconv has the largest space (tile_w x tile_c) and its unrolled register
 * tiles build slowly on POCL (up to ~4 s a program): the ungrouped
 * configuration, which most layers use, runs every combination; the grouped
 * one (GROUPED + residual) the corners of the tile space, every wg. */
Test(tunables, pwconv_every_combination, .timeout = 600)
{
    static const h_conv_row rows[] = {
        {"pw 20->36 relu 13x11", SHP(1, 20, 13, 11), {CIO(20, 36, 1), CK(1), CS(1), CP(0), CD(1), RELU, .variant = MCL_CONV_POINTWISE}, 0},
        {"pw 5->3 relu 1x1 spatial", SHP(1, 5, 1, 1), {CIO(5, 3, 1), CK(1), CS(1), CP(0), CD(1), RELU, .variant = MCL_CONV_POINTWISE}, 0},
        {"pw 7->13 relu batch2 5x3", SHP(2, 7, 5, 3), {CIO(7, 13, 1), CK(1), CS(1), CP(0), CD(1), RELU, .variant = MCL_CONV_POINTWISE}, 0},
        {"pw 58->116 g2 +residual relu batch2 7x7", SHP(2, 58, 7, 7), {CIO(58, 116, 2), CK(1), CS(1), CP(0), CD(1), RELU, .residual = 1, .variant = MCL_CONV_POINTWISE}, 0},
        {"pw 240->60 g3 +residual relu 7x7", SHP(1, 240, 7, 7), {CIO(240, 60, 3), CK(1), CS(1), CP(0), CD(1), RELU, .residual = 1, .variant = MCL_CONV_POINTWISE}, 0},
    };
    static const int corners_only[] = {0, 0, 0, 1, 1};
    conv_family_sel(MCL_FAMILY_PWCONV, rows, N_(rows), corners_only);
}

Test(tunables, pool_every_combination, .timeout = 600)
{
    static const h_pool_row rows[] = {
        {"max 3x3 s2 p1 c20 13x11", SHP(1, 20, 13, 11), {.type = MCL_POOL_MAX, CK(3), CS(2), CP(1)}},
        {"max 3x3 s2 p1 c5 batch2 1x1", SHP(2, 5, 1, 1), {.type = MCL_POOL_MAX, CK(3), CS(2), CP(1)}},
        {"avg 3x3 s2 p1 incl c6 batch2 7x7", SHP(2, 6, 7, 7), {.type = MCL_POOL_AVG, CK(3), CS(2), CP(1), .count_include_pad = 1}},
        {"avg 3x3 s2 asym 0,1,1,0 incl c5 9x10", SHP(1, 5, 9, 10), {.type = MCL_POOL_AVG, CK(3), CS(2), CPAD(0, 1, 1, 0), .count_include_pad = 1}},
    };
    mcl_context *ctx = h_context();
    combos c = all_combos(MCL_FAMILY_POOL);
    for (size_t r = 0; r < N_(rows); r++)
        for (size_t i = 0; i < c.n; i++) {
            char label[256];
            snprintf(label, sizeof label, "pool: %s {tile_w %u, tile_c %u, wg %u}", rows[r].name, c.t[i].tile_w,
                     c.t[i].tile_c, c.t[i].wg);
            h_pool_check(ctx, &rows[r].d, rows[r].in, &c.t[i], label);
        }
    free(c.t);
    mcl_context_destroy(ctx);
}

/* The fused depthwise + 1x1 op (host/op_dwpw.c) against a naive depthwise
 * followed by a naive 1x1 (tests/ref): every combination of the dwpw space
 * on two pairs (3 output blocks exercise partial tile_c tiles and split
 * groups of unequal size, 1 block the narrow case where split 2 and 4
 * leave empty groups). */
typedef struct dwpw_row {
    const char *name;
    mcl_shape in;
    mcl_conv2d_desc dw, pw;
} dwpw_row;

Test(tunables, dwpw_every_combination, .timeout = 900)
{
    static const dwpw_row rows[] = {
        {"dw 20 3x3 s1 relu6 -> pw 36 relu6 +residual 13x11", SHP(1, 20, 13, 11),
         {CIO(20, 20, 20), CK(3), CS(1), CP(1), CD(1), RELU6, .variant = MCL_CONV_DEPTHWISE},
         {CIO(20, 36, 1), CK(1), CS(1), CP(0), CD(1), RELU6, .residual = 1, .variant = MCL_CONV_POINTWISE}},
        {"dw 24 5x5 s2 relu -> pw 16 batch2 9x10", SHP(2, 24, 9, 10),
         {CIO(24, 24, 24), CK(5), CS(2), CP(2), CD(1), RELU, .variant = MCL_CONV_DEPTHWISE},
         {CIO(24, 16, 1), CK(1), CS(1), CP(0), CD(1), .variant = MCL_CONV_POINTWISE}},
    };
    mcl_context *ctx = h_context();
    combos c = all_combos(MCL_FAMILY_DWPW);
    for (size_t r = 0; r < N_(rows); r++) {
        h_conv_data dw, pw;
        h_conv_data_make(&dw, &rows[r].dw, rows[r].in, 0, rows[r].name);
        h_conv_data_make(&pw, &rows[r].pw, dw.out, 0, rows[r].name);
        ref_conv2d(&pw.p, dw.want, pw.wt, pw.bias, pw.res, pw.want); /* the 1x1 of the depthwise's output */
        mcl_op *op = NULL;
        H_OK(rows[r].name, mcl_dwpw_create(ctx, &rows[r].dw, dw.wt, dw.bias, &rows[r].pw, pw.wt, pw.bias, &op));
        h_run_args a = h_conv_args(&dw, &rows[r].dw, rows[r].in);
        a.residual = pw.res;
        a.out = pw.out;
        a.want = pw.want;
        for (size_t i = 0; i < c.n; i++) {
            char label[256];
            snprintf(label, sizeof label, "dwpw: %s {tile_w %u, tile_c %u, wg %u, split %u}", rows[r].name,
                     c.t[i].tile_w, c.t[i].tile_c, c.t[i].wg, c.t[i].split);
            H_OK(label, mcl_op_set_tunables(op, &c.t[i]));
            h_run_op(ctx, op, label, &a);
            check_got(op, MCL_FAMILY_DWPW, &c.t[i], label);
        }
        mcl_op_destroy(op);
        h_conv_data_free(&dw);
        h_conv_data_free(&pw);
    }
    free(c.t);
    mcl_context_destroy(ctx);
}

/* mcl_tunables: tile_w / tile_c 0 = that field's heuristic default, wg 0 =
 * the driver's choice. All-zero tunables, and zero fields next to a set one,
 * are accepted and run correctly. */
Test(tunables, zero_means_default, .timeout = 600)
{
    mcl_context *ctx = h_context();
    static const h_conv_row rows[] = {
        {"conv", SHP(1, 6, 13, 11), {CIO(6, 10, 2), CK(3), CS(1), CP(1), CD(1), RELU, .variant = MCL_CONV_DIRECT}, 0},
        {"dwconv", SHP(1, 20, 13, 11), {CIO(20, 20, 20), CK(3), CS(1), CP(1), CD(1), .variant = MCL_CONV_DEPTHWISE}, 0},
        {"pwconv", SHP(1, 20, 13, 11), {CIO(20, 36, 1), CK(1), CS(1), CP(0), CD(1), .variant = MCL_CONV_POINTWISE}, 0},
    };
    for (size_t r = 0; r < N_(rows); r++) {
        const mcl_space *sp = mcl_space_get(r == 0 ? MCL_FAMILY_CONV : r == 1 ? MCL_FAMILY_DWCONV : MCL_FAMILY_PWCONV);
        const mcl_tunables zero = {0, 0, 0, 0};
        const mcl_tunables half = {sp->tile_w[0], 0, 0, 0};
        const mcl_tunables *ts[2] = {&zero, &half};
        for (int k = 0; k < 2; k++) {
            char label[128];
            snprintf(label, sizeof label, "%s tunables {%u, %u, %u}", rows[r].name, ts[k]->tile_w, ts[k]->tile_c,
                     ts[k]->wg);
            h_conv_data cd;
            h_conv_data_make(&cd, &rows[r].d, rows[r].in, 0, label);
            mcl_op *op = NULL;
            H_OK(label, mcl_conv2d_create(ctx, &rows[r].d, cd.wt, cd.bias, &op));
            H_OK(label, mcl_op_set_tunables(op, ts[k]));
            h_run_args a = h_conv_args(&cd, &rows[r].d, rows[r].in);
            h_run_op(ctx, op, label, &a);
            mcl_family f;
            mcl_tunables got;
            H_OK(label, mcl_op_get_tunables(op, &f, &got));
            if (ts[k]->tile_w)
                cr_expect_eq(got.tile_w, ts[k]->tile_w, "[%s] tile_w set to %u, got %u", label, ts[k]->tile_w,
                             got.tile_w);
            /* header: wg 0 = the driver's choice (no default work-group) */
            cr_expect_eq(got.wg, 0u, "[%s] wg set to 0 (driver's choice), get_tunables says %u", label, got.wg);
            cr_expect(in_space(sp, &got), "[%s] chosen {%u, %u, %u} outside the %s space", label, got.tile_w,
                      got.tile_c, got.wg, sp->family);
            mcl_op_destroy(op);
            h_conv_data_free(&cd);
        }
    }
    mcl_context_destroy(ctx);
}

/* Without set_tunables, reshape picks defaults inside the space. */
Test(tunables, defaults_in_space, .timeout = 600)
{
    mcl_context *ctx = h_context();
    static const mcl_conv2d_desc descs[3] = {
        {CIO(6, 10, 2), CK(3), CS(1), CP(1), CD(1), .variant = MCL_CONV_DIRECT},
        {CIO(20, 20, 20), CK(3), CS(2), CP(1), CD(1), .variant = MCL_CONV_DEPTHWISE},
        {CIO(20, 36, 1), CK(1), CS(1), CP(0), CD(1), .variant = MCL_CONV_POINTWISE},
    };
    static const mcl_family fams[3] = {MCL_FAMILY_CONV, MCL_FAMILY_DWCONV, MCL_FAMILY_PWCONV};
    static const mcl_shape shapes[] = {{1, 0, 13, 11}, {2, 0, 7, 7}, {1, 0, 56, 56}, {1, 0, 1, 1}};
    static float w[36 * 20 * 9];
    for (int k = 0; k < 3; k++)
        for (size_t s = 0; s < N_(shapes); s++) {
            mcl_shape in = shapes[s], out;
            in.c = descs[k].in_channels;
            char label[128];
            snprintf(label, sizeof label, "defaults family %d shape %ux%ux%ux%u", k, in.n, in.c, in.h, in.w);
            mcl_op *op = NULL;
            H_OK(label, mcl_conv2d_create(ctx, &descs[k], w, NULL, &op));
            H_OK(label, mcl_op_reshape(op, 1, &in, &out));
            mcl_family f;
            mcl_tunables got;
            H_OK(label, mcl_op_get_tunables(op, &f, &got));
            cr_expect_eq((int)f, (int)fams[k], "[%s] family %d", label, (int)f);
            cr_expect(in_space(mcl_space_get(fams[k]), &got), "[%s] default {%u, %u, %u} outside the space", label,
                      got.tile_w, got.tile_c, got.wg);
            mcl_op_destroy(op);
        }
    mcl_context_destroy(ctx);
}

/* set_tunables(NULL) restores the defaults reshape picked before. */
Test(tunables, null_restores_defaults, .timeout = 600)
{
    mcl_context *ctx = h_context();
    const mcl_conv2d_desc d = {CIO(20, 36, 1), CK(1), CS(1), CP(0), CD(1), .variant = MCL_CONV_POINTWISE};
    static float w[36 * 20];
    const mcl_shape in = {1, 20, 13, 11};
    mcl_shape out;
    mcl_op *op = NULL;
    H_OK("restore", mcl_conv2d_create(ctx, &d, w, NULL, &op));
    H_OK("restore", mcl_op_reshape(op, 1, &in, &out));
    mcl_family f;
    mcl_tunables def, got;
    H_OK("restore", mcl_op_get_tunables(op, &f, &def));
    const mcl_space *sp = mcl_space_get(MCL_FAMILY_PWCONV);
    /* pick a combination different from the default */
    mcl_tunables other = {sp->tile_w[0], sp->tile_c[0], 0, 0};
    if (other.tile_w == def.tile_w && other.tile_c == def.tile_c)
        other.tile_w = sp->tile_w[1];
    H_OK("restore", mcl_op_set_tunables(op, &other));
    H_OK("restore", mcl_op_reshape(op, 1, &in, &out));
    H_OK("restore", mcl_op_get_tunables(op, &f, &got));
    cr_expect(got.tile_w == other.tile_w && got.tile_c == other.tile_c, "set tunables not in effect");
    H_OK("restore", mcl_op_set_tunables(op, NULL));
    H_OK("restore", mcl_op_reshape(op, 1, &in, &out));
    H_OK("restore", mcl_op_get_tunables(op, &f, &got));
    cr_expect(got.tile_w == def.tile_w && got.tile_c == def.tile_c && got.wg == def.wg,
              "after set_tunables(NULL): {%u, %u, %u}, defaults were {%u, %u, %u}", got.tile_w, got.tile_c, got.wg,
              def.tile_w, def.tile_c, def.wg);
    mcl_op_destroy(op);
    mcl_context_destroy(ctx);
}
