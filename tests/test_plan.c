/* Whole networks: every zoo network planned and run on the OpenCL device
 * matches the naive reference executor (tests/ref/ref_graph.c); each pass
 * switched off gives the same outputs; the memory plan never puts two live
 * storages in one buffer; ShuffleNet plans run no shuffle/split/concat
 * kernel. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mobicl_graph.h"
#include "ref.h"
#include "ref_graph.h"

typedef struct net {
    const char *name;
    mcl_zoo_options o;
} net;

static mcl_context *ctx_new(void)
{
    mcl_context *ctx = NULL;
    mcl_context_options co = {0};
    cr_assert_eq(mcl_context_create(&co, &ctx), MCL_STATUS_OK, "context: %s", mcl_last_error());
    return ctx;
}

/* Run plan with `disable` on input x; returns the malloc'ed output. */
static float *run_plan(mcl_context *ctx, const mcl_graph *g, uint32_t disable, const float *x, size_t xn,
                       size_t yn, mcl_plan_stats *st)
{
    mcl_plan *p = NULL;
    mcl_plan_options po = {.disable = disable};
    cr_assert_eq(mcl_plan_create(ctx, g, &po, &p), MCL_STATUS_OK, "plan (disable 0x%x): %s", disable,
                 mcl_last_error());
    float *y = malloc(yn * sizeof *y);
    cr_assert_not_null(y);
    cr_assert_eq(mcl_plan_set_input(p, 0, x, xn), MCL_STATUS_OK, "%s", mcl_last_error());
    cr_assert_eq(mcl_plan_run(p, 0), MCL_STATUS_OK, "%s", mcl_last_error());
    cr_assert_eq(mcl_plan_get_output(p, 0, y, yn), MCL_STATUS_OK, "%s", mcl_last_error());
    /* a second run of the same plan gives the same answer (buffers reused) */
    float *y2 = malloc(yn * sizeof *y2);
    cr_assert_not_null(y2);
    cr_assert_eq(mcl_plan_run(p, 0), MCL_STATUS_OK, "%s", mcl_last_error());
    cr_assert_eq(mcl_plan_get_output(p, 0, y2, yn), MCL_STATUS_OK, "%s", mcl_last_error());
    cr_assert(memcmp(y, y2, yn * sizeof *y) == 0, "second run differs (disable 0x%x)", disable);
    free(y2);
    if (st)
        cr_assert_eq(mcl_plan_stats_get(p, st), MCL_STATUS_OK);
    /* memory plan invariants */
    size_t ns = mcl_plan_storage_count(p);
    cr_assert_gt(ns, 0);
    for (size_t i = 0; i < ns; i++) {
        mcl_storage_info a;
        cr_assert_eq(mcl_plan_storage(p, i, &a), MCL_STATUS_OK);
        if (!a.bytes)
            continue; /* fused away, not allocated */
        cr_assert_leq(a.first, a.last);
        cr_assert_geq(mcl_plan_buffer_bytes(p, a.buffer), a.bytes, "storage %zu larger than its buffer", i);
        for (size_t j = i + 1; j < ns; j++) {
            mcl_storage_info b;
            cr_assert_eq(mcl_plan_storage(p, j, &b), MCL_STATUS_OK);
            if (b.bytes && a.buffer == b.buffer)
                cr_assert(a.last < b.first || b.last < a.first,
                          "storages %zu [%zu,%zu] and %zu [%zu,%zu] share buffer %zu while both live", i, a.first,
                          a.last, j, b.first, b.last, a.buffer);
        }
    }
    mcl_plan_stats s;
    cr_assert_eq(mcl_plan_stats_get(p, &s), MCL_STATUS_OK);
    cr_assert_geq(s.peak_bytes, s.lower_bound);
    cr_assert_geq(s.naive_bytes, s.peak_bytes);
    mcl_plan_destroy(p);
    return y;
}

/* max |a - b| relative to the largest |b| */
static double rel_err(const float *a, const float *b, size_t n)
{
    double m = 0, d = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert(isfinite(a[i]), "output %zu is %g", i, (double)a[i]);
        m = fabs(b[i]) > m ? fabs(b[i]) : m;
        d = fabs((double)a[i] - b[i]) > d ? fabs((double)a[i] - b[i]) : d;
    }
    return d / (m > 0 ? m : 1);
}

static int top1(const float *y, size_t n)
{
    size_t k = 0;
    for (size_t i = 1; i < n; i++)
        if (y[i] > y[k])
            k = i;
    return (int)k;
}

/* The network against the reference; `passes`: also each pass off. */
static void check_net(const net *nt, int passes)
{
    mcl_graph *g = NULL;
    cr_assert_eq(mcl_zoo_build(nt->name, &nt->o, &g), MCL_STATUS_OK, "%s: %s", nt->name, mcl_last_error());
    mcl_shape is, os;
    cr_assert_eq(mcl_graph_value_shape(g, mcl_graph_input_value(g, 0), &is), MCL_STATUS_OK);
    cr_assert_eq(mcl_graph_value_shape(g, mcl_graph_output_value(g, 0), &os), MCL_STATUS_OK);
    size_t xn = (size_t)is.n * is.c * is.h * is.w, yn = (size_t)os.n * os.c * os.h * os.w;
    float *x = malloc(xn * sizeof *x);
    cr_assert_not_null(x);
    ref_graph_fill_input(x, xn, 7);
    float *ref[MCL_GRAPH_MAX_IO] = {0};
    const float *ins[1] = {x};
    cr_assert_eq(ref_graph_run(g, ins, ref), 0, "reference: %s", ref_graph_error());

    mcl_context *ctx = ctx_new();
    mcl_plan_stats st;
    float *y = run_plan(ctx, g, 0, x, xn, yn, &st);
    /* a fresh context builds the plan's kernel variants as one program */
    mcl_cache_stats cs;
    mcl_context_cache_stats(ctx, &cs);
    cr_expect(cs.programs_built + cs.programs_loaded == 1 && st.programs == 1,
              "%s: %u programs built and %u loaded, %zu in the plan, for %zu kernels (want one bundle)", nt->name,
              cs.programs_built, cs.programs_loaded, st.programs, st.kernels);
    double e = rel_err(y, ref[0], yn);
    cr_log_info("%s: %zu kernels, %zu shuffle kernels, rel err %.2e vs reference", nt->name, st.kernels,
                st.shuffle_kernels, e);
    cr_expect_leq(e, 1e-4, "%s: max error %.3e of the largest logit vs the reference", nt->name, e);
    cr_expect_eq(top1(y, os.c), top1(ref[0], os.c), "%s: top-1 differs from the reference", nt->name);
    if (!strncmp(nt->name, "shufflenet", 10))
        cr_expect_eq(st.shuffle_kernels, 0, "%s: %zu shuffle/split/concat kernels in the plan", nt->name,
                     st.shuffle_kernels);
    if (passes) { /* the quick tier (mcl_plan_options.quick): smallest tiles, the same network */
        mcl_plan *q = NULL;
        mcl_plan_options po = {.quick = 1};
        cr_assert_eq(mcl_plan_create(ctx, g, &po, &q), MCL_STATUS_OK, "%s quick: %s", nt->name, mcl_last_error());
        size_t tuned = 0;
        for (size_t i = 0; i < mcl_plan_step_count(q); i++) {
            const char *src = mcl_op_tunables_source(mcl_plan_step_op(q, i));
            if (src && *src) {
                cr_expect_str_eq(src, "quick", "%s quick: step %zu takes its parameters from \"%s\"", nt->name, i,
                                 src);
                tuned++;
            }
        }
        cr_expect_gt(tuned, 0, "%s quick: no step with tunables", nt->name);
        float *z = malloc(yn * sizeof *z);
        cr_assert_not_null(z);
        cr_assert_eq(mcl_plan_set_input(q, 0, x, xn), MCL_STATUS_OK, "%s", mcl_last_error());
        cr_assert_eq(mcl_plan_run(q, 0), MCL_STATUS_OK, "%s", mcl_last_error());
        cr_assert_eq(mcl_plan_get_output(q, 0, z, yn), MCL_STATUS_OK, "%s", mcl_last_error());
        double eq = rel_err(z, ref[0], yn);
        cr_log_info("%s quick tier: %zu steps with tunables, rel err %.2e vs reference", nt->name, tuned, eq);
        cr_expect_leq(eq, 1e-4, "%s quick tier: max error %.3e of the largest logit vs the reference", nt->name, eq);
        free(z);
        mcl_plan_destroy(q);
    }
    if (passes) {
        static const uint32_t off[] = {MCL_PASS_FOLD_BN,      MCL_PASS_FUSE_EPILOGUE, MCL_PASS_VIEWS,
                                       MCL_PASS_FOLD_SHUFFLE, MCL_PASS_SHARE_BUFFERS, MCL_PASS_FUSE_DWPW,
                                       MCL_PASS_ALL};
        for (size_t i = 0; i < sizeof off / sizeof off[0]; i++) {
            mcl_plan_stats s2;
            float *z = run_plan(ctx, g, off[i], x, xn, yn, &s2);
            double e2 = rel_err(z, y, yn);
            cr_log_info("%s without passes 0x%x: %zu kernels (%zu shuffle), %llu bytes planned, rel diff %.2e",
                        nt->name, off[i], s2.kernels, s2.shuffle_kernels, (unsigned long long)s2.peak_bytes, e2);
            cr_expect_leq(e2, 1e-4, "%s: disabling passes 0x%x changes the output by %.3e", nt->name, off[i], e2);
            /* each pass does something on these networks */
            if (off[i] == MCL_PASS_FOLD_BN || off[i] == MCL_PASS_FUSE_EPILOGUE)
                cr_expect_gt(s2.kernels, st.kernels, "disabling 0x%x should add kernels", off[i]);
            if (off[i] == MCL_PASS_FUSE_DWPW && strncmp(nt->name, "shufflenet", 10))
                cr_expect_gt(s2.kernels, st.kernels, "disabling dw+pw fusion should add kernels");
            if (off[i] == MCL_PASS_SHARE_BUFFERS)
                cr_expect_gt(s2.peak_bytes, st.peak_bytes, "buffer sharing should save memory");
            if (off[i] == MCL_PASS_ALL && !strncmp(nt->name, "shufflenet", 10))
                cr_expect_gt(s2.shuffle_kernels, 0, "unfused ShuffleNet should run gather kernels");
            free(z);
        }
    }
    free(y);
    free(ref[0]);
    free(x);
    mcl_context_destroy(ctx);
    mcl_graph_destroy(g);
}

#define NET_TEST(id, passes, ...)                                   \
    Test(plan, id, .timeout = 600)                                  \
    {                                                               \
        net nt = __VA_ARGS__;                                       \
        check_net(&nt, passes);                                     \
    }

NET_TEST(shufflenet_v2_x1_0, 1, {"shufflenet_v2_x1_0", {0}})
NET_TEST(shufflenet_v2_x0_5, 0, {"shufflenet_v2_x0_5", {0}})
NET_TEST(shufflenet_v2_x1_5, 0, {"shufflenet_v2_x1_5", {.resolution = 0}})
NET_TEST(shufflenet_v2_x2_0, 0, {"shufflenet_v2_x2_0", {0}})
NET_TEST(shufflenet_v1_g3, 1, {"shufflenet_v1", {.groups = 3}})
NET_TEST(shufflenet_v1_g1_x0_5, 0, {"shufflenet_v1", {.groups = 1, .scale = 0.5f}})
NET_TEST(shufflenet_v1_g8_x2, 0, {"shufflenet_v1", {.groups = 8, .scale = 2.0f}})
NET_TEST(shufflenet_v1_g2_x1_5, 0, {"shufflenet_v1", {.groups = 2, .scale = 1.5f}})
NET_TEST(shufflenet_v1_g4, 0, {"shufflenet_v1", {.groups = 4}})
NET_TEST(mobilenet_v2, 1, {"mobilenet_v2", {0}})
NET_TEST(mobilenet_v2_a035, 0, {"mobilenet_v2", {.alpha = 0.35f}})
NET_TEST(mobilenet_v2_a14, 0, {"mobilenet_v2", {.alpha = 1.4f}})
NET_TEST(mobilenet_v1, 0, {"mobilenet_v1", {0}})
NET_TEST(mobilenet_v1_a025_r128, 0, {"mobilenet_v1", {.alpha = 0.25f, .resolution = 128}})
NET_TEST(mobilenet_v1_a075_r192_b2, 0, {"mobilenet_v1", {.alpha = 0.75f, .resolution = 192, .batch = 2}})
NET_TEST(mnasnet1_0, 1, {"mnasnet1_0", {0}})
NET_TEST(mnasnet0_5, 0, {"mnasnet0_5", {0}})
NET_TEST(shufflenet_v2_x1_0_batch3, 0, {"shufflenet_v2_x1_0", {.batch = 3}})

/* A network's image read in place by its first KxK conv (plain NCHW input):
 * 3 channels into 72 outputs (several output blocks per work-item, a tail
 * group), 20 channels (more than one channel block), a grouped first conv,
 * stride 2 with odd sizes and batch 2; each against the reference. */
/* A random input for graph g (seeded) and the reference executor's output
 * for it; *yn: the output's element count. */
static float *graph_input_and_ref(const mcl_graph *g, uint32_t seed, float **xv, size_t *xn, size_t *yn)
{
    mcl_shape s, os;
    mcl_graph_value_shape(g, mcl_graph_input_value(g, 0), &s);
    mcl_graph_value_shape(g, mcl_graph_output_value(g, 0), &os);
    *xn = mcl_shape_count(&s);
    *yn = mcl_shape_count(&os);
    *xv = malloc(*xn * sizeof **xv);
    cr_assert_not_null(*xv);
    ref_fill_uniform(*xv, *xn, seed, -2, 2);
    const float *in[1] = {*xv};
    float *want[1] = {NULL};
    cr_assert_eq(ref_graph_run(g, in, want), 0, "%s", ref_graph_error());
    return want[0];
}

Test(plan, image_first_conv)
{
    static const struct {
        uint32_t n, c, h, w, out, groups, k, s;
    } cs[] = {{1, 3, 17, 23, 72, 1, 3, 2}, {2, 3, 9, 9, 16, 1, 3, 1}, {1, 20, 11, 9, 24, 1, 3, 2},
              {1, 8, 7, 10, 12, 2, 3, 1}, {1, 4, 12, 12, 40, 1, 5, 2}};
    mcl_context *ctx = ctx_new();
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        mcl_graph *g = NULL;
        cr_assert_eq(mcl_graph_create(&g), MCL_STATUS_OK);
        mcl_shape s = {cs[i].n, cs[i].c, cs[i].h, cs[i].w};
        mcl_value x, y;
        cr_assert_eq(mcl_graph_input(g, "image", &s, &x), MCL_STATUS_OK);
        const uint32_t k = cs[i].k;
        mcl_conv2d_desc d = {.in_channels = cs[i].c, .out_channels = cs[i].out, .groups = cs[i].groups,
                             .kernel_h = k, .kernel_w = k, .stride_h = cs[i].s, .stride_w = cs[i].s,
                             .pad_top = k / 2, .pad_left = k / 2, .pad_bottom = k / 2, .pad_right = k / 2,
                             .activation = MCL_ACT_RELU6};
        const size_t wn = (size_t)cs[i].out * (cs[i].c / cs[i].groups) * k * k;
        float *w = malloc((wn + cs[i].out) * sizeof *w);
        cr_assert_not_null(w);
        ref_fill_uniform(w, wn + cs[i].out, 40 + (uint32_t)i, -1, 1);
        cr_assert_eq(mcl_graph_conv2d(g, "conv1", &d, w, w + wn, x, -1, &y), MCL_STATUS_OK, "%s", mcl_last_error());
        cr_assert_eq(mcl_graph_output(g, y), MCL_STATUS_OK);
        free(w);
        float *xv = NULL;
        size_t xn = 0, yn = 0;
        float *want[1] = {graph_input_and_ref(g, 50 + (uint32_t)i, &xv, &xn, &yn)};
        float *got = run_plan(ctx, g, 0, xv, xn, yn, NULL);
        ref_mismatch m;
        cr_assert(ref_compare(got, want[0], yn, 1e-4, 1e-4, &m), "case %zu: element %zu got %g want %g", i, m.first,
                  m.got, m.want);
        free(got);
        free(want[0]);
        free(xv);
        mcl_graph_destroy(g);
    }
    mcl_context_destroy(ctx);
}

/* A depthwise + 1x1 pair whose 1x1 writes its half of a concat that a
 * channel shuffle interleaves with another branch (10 + 10 channels: the
 * halves share every channel block, so both writers store through slot
 * tables), with the pass rows of a third tensor: the fused dwpw step's
 * SCATTER and PASS paths, against the reference, with channel blocks 16, 8
 * and 4, fused and unfused. */
static mcl_value conv_node(mcl_graph *g, const char *name, mcl_value in, uint32_t ic, uint32_t oc, uint32_t groups,
                           uint32_t k, mcl_activation act, uint32_t seed)
{
    mcl_conv2d_desc d = {.in_channels = ic, .out_channels = oc, .groups = groups, .kernel_h = k, .kernel_w = k,
                         .stride_h = 1, .stride_w = 1, .pad_top = k / 2, .pad_left = k / 2, .pad_bottom = k / 2,
                         .pad_right = k / 2, .activation = act};
    const size_t wn = (size_t)oc * (ic / groups) * k * k;
    float *w = malloc((wn + oc) * sizeof *w);
    cr_assert_not_null(w);
    ref_fill_uniform(w, wn + oc, seed, -1, 1);
    mcl_value y;
    cr_assert_eq(mcl_graph_conv2d(g, name, &d, w, w + wn, in, -1, &y), MCL_STATUS_OK, "%s", mcl_last_error());
    free(w);
    return y;
}

Test(plan, dwpw_into_shuffled_concat, .timeout = 600)
{
    mcl_graph *g = NULL;
    cr_assert_eq(mcl_graph_create(&g), MCL_STATUS_OK);
    mcl_shape s = {2, 12, 9, 11};
    mcl_value x, parts[2], halves[2], cat, shuf, cat2, y;
    cr_assert_eq(mcl_graph_input(g, "x", &s, &x), MCL_STATUS_OK);
    mcl_value a = conv_node(g, "pw1", x, 12, 12, 1, 1, MCL_ACT_RELU, 61);
    mcl_value b = conv_node(g, "dw", a, 12, 12, 12, 3, MCL_ACT_NONE, 62);
    parts[0] = conv_node(g, "pw2", b, 12, 10, 1, 1, MCL_ACT_RELU, 63);
    parts[1] = conv_node(g, "other", x, 12, 10, 1, 1, MCL_ACT_RELU6, 64);
    cr_assert_eq(mcl_graph_concat(g, "cat", 2, parts, &cat), MCL_STATUS_OK, "%s", mcl_last_error());
    cr_assert_eq(mcl_graph_shuffle(g, "shuffle", cat, 2, &shuf), MCL_STATUS_OK, "%s", mcl_last_error());
    /* ShuffleNet V2 style: the shuffled result next to an earlier tensor */
    halves[0] = shuf;
    halves[1] = a;
    cr_assert_eq(mcl_graph_concat(g, "cat2", 2, halves, &cat2), MCL_STATUS_OK, "%s", mcl_last_error());
    y = conv_node(g, "head", cat2, 32, 8, 1, 1, MCL_ACT_NONE, 65);
    cr_assert_eq(mcl_graph_output(g, y), MCL_STATUS_OK);
    float *xv = NULL;
    size_t xn = 0, yn = 0;
    float *want[1] = {graph_input_and_ref(g, 66, &xv, &xn, &yn)};
    const uint32_t blocks[3] = {16, 8, 4};
    for (int bi = 0; bi < 3; bi++) {
        mcl_context *ctx = NULL;
        mcl_context_options co = {0};
        co.block = blocks[bi];
        co.tuning_db = "";
        cr_assert_eq(mcl_context_create(&co, &ctx), MCL_STATUS_OK, "context: %s", mcl_last_error());
        for (int off = 0; off < 2; off++) {
            uint32_t disable = off ? MCL_PASS_FUSE_DWPW : 0;
            float *got = run_plan(ctx, g, disable, xv, xn, yn, NULL);
            ref_mismatch m;
            cr_assert(ref_compare(got, want[0], yn, 1e-4, 1e-4, &m), "block %u, dwpw %s: element %zu got %g want %g",
                      blocks[bi], off ? "off" : "on", m.first, m.got, m.want);
            free(got);
            /* the pair did fuse when allowed */
            mcl_plan *p = NULL;
            mcl_plan_options po = {.disable = disable};
            cr_assert_eq(mcl_plan_create(ctx, g, &po, &p), MCL_STATUS_OK, "%s", mcl_last_error());
            int fused = 0;
            for (size_t i = 0; i < mcl_plan_step_count(p); i++) {
                mcl_step_info si;
                cr_assert_eq(mcl_plan_step(p, i, &si), MCL_STATUS_OK);
                fused += !strcmp(si.kernel, "dwpw");
            }
            /* the planner fuses on CPU devices only (Oclgrind's is a GPU) */
            const int cpu = !mcl_context_device_info(ctx)->is_gpu;
            cr_expect_eq(fused, !off && cpu ? 1 : 0, "block %u: %d dwpw steps with dwpw %s on a %s", blocks[bi],
                         fused, off ? "off" : "on", cpu ? "CPU" : "GPU");
            mcl_plan_destroy(p);
        }
        mcl_context_destroy(ctx);
    }
    free(want[0]);
    free(xv);
    mcl_graph_destroy(g);
}
