/* Model zoo (no OpenCL): MAC and parameter counts of every network against
 * the published figures (within 2%), every option combination builds,
 * validates and ends in batch x classes x 1 x 1 logits, torchvision-style
 * node names and the layer structure, invalid options (status and a
 * message naming the bad value), and deterministic weights per seed. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mobicl_graph.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))
#define DEFAULTS {.alpha = 0} /* all options 0: the defaults */

static mcl_graph *build(const char *label, const char *name, const mcl_zoo_options *o)
{
    mcl_graph *g = NULL;
    mcl_status st = mcl_zoo_build(name, o, &g);
    cr_assert_eq(st, MCL_STATUS_OK, "[%s] mcl_zoo_build(%s) -> %s: %s", label, name, mcl_status_string(st),
                 mcl_last_error());
    cr_assert(g != NULL, "[%s] graph is NULL", label);
    return g;
}

static size_t count_kind(const mcl_graph *g, mcl_node_kind k)
{
    size_t n = 0;
    for (size_t i = 0; i < mcl_graph_node_count(g); i++) {
        mcl_node_info ni;
        cr_assert_eq(mcl_graph_node(g, i, &ni), MCL_STATUS_OK);
        n += ni.kind == k;
    }
    return n;
}

/* Index of the node named `name`, or fail. */
static mcl_node_info find_node(const char *label, const mcl_graph *g, const char *name)
{
    mcl_node_info ni;
    for (size_t i = 0; i < mcl_graph_node_count(g); i++) {
        cr_assert_eq(mcl_graph_node(g, i, &ni), MCL_STATUS_OK);
        if (strcmp(ni.name, name) == 0)
            return ni;
    }
    cr_assert_fail("[%s] no node named '%s'", label, name);
    return ni;
}

/* ---- MACs and parameters against published figures ------------------------ */

static const struct {
    const char *name;
    mcl_zoo_options o;
    double macs, params; /* published; params 0 = no reliable figure, not checked */
    double tol;          /* relative; 0 = 2% */
    const char *source;
} k_pub[] = {
    {"mobilenet_v1", DEFAULTS, 569e6, 4231976, 0, "paper 569M; Keras trainable params"},
    {"mobilenet_v1", {.alpha = 0.75f}, 325e6, 2.6e6, 0, "paper Table 6"},
    {"mobilenet_v1", {.alpha = 0.5f}, 149e6, 1.32e6, 0, "paper Table 6 (149M); TF-slim 1.34M"},
    {"mobilenet_v1", {.alpha = 0.25f}, 41e6, 0.47e6, 0, "TF-slim README"},
    {"mobilenet_v1", {.resolution = 192}, 418e6, 4231976, 0, "paper Table 7"},
    {"mobilenet_v1", {.resolution = 160}, 290e6, 4231976, 0, "paper Table 7"},
    {"mobilenet_v1", {.resolution = 128}, 186e6, 4231976, 0, "paper Table 7"},
    {"mobilenet_v2", DEFAULTS, 300e6, 3504872, 0, "torchvision / paper"},
    {"mobilenet_v2", {.alpha = 0.35f}, 59e6, 1.66e6, 0, "TF-slim README (params without BN)"},
    {"mobilenet_v2", {.alpha = 0.5f}, 97e6, 1.95e6, 0, "TF-slim README (params without BN)"},
    {"mobilenet_v2", {.alpha = 0.75f}, 209e6, 2.61e6, 0, "TF-slim README (params without BN)"},
    {"mobilenet_v2", {.alpha = 1.4f}, 582e6, 6.06e6, 0, "TF-slim README (params without BN)"},
    {"shufflenet_v2_x0_5", DEFAULTS, 41e6, 1366792, 0, "paper / torchvision"},
    {"shufflenet_v2_x1_0", DEFAULTS, 146e6, 2278604, 0, "paper / torchvision"},
    {"shufflenet_v2_x1_5", DEFAULTS, 299e6, 3503624, 0, "paper / torchvision"},
    {"shufflenet_v2_x2_0", DEFAULTS, 591e6, 7393996, 0, "paper / torchvision"},
    {"mnasnet1_0", DEFAULTS, 314e6, 4383312, 0, "torchvision (0.31 GFLOPS), MnasNet-B1 ~315M"},
    /* torchvision gives 0.10 GFLOPS: two digits, so +-5% is the rounding */
    {"mnasnet0_5", DEFAULTS, 100e6, 2218512, 0.05, "torchvision (0.10 GFLOPS)"},
    {"shufflenet_v1", {.groups = 1}, 143e6, 0, 0, "paper Table 1"},
    {"shufflenet_v1", {.groups = 2}, 140e6, 0, 0, "paper Table 1"},
    {"shufflenet_v1", DEFAULTS, 137e6, 0, 0, "paper Table 1 (g=3; 140M in the text)"},
    {"shufflenet_v1", {.groups = 4}, 133e6, 0, 0, "paper Table 1"},
    {"shufflenet_v1", {.groups = 8}, 137e6, 0, 0, "paper Table 1"},
    {"shufflenet_v1", {.scale = 0.5f}, 38e6, 0, 0, "paper Table 2 / megvii g3 0.5x"},
    {"shufflenet_v1", {.scale = 1.5f}, 292e6, 0, 0, "megvii g3 1.5x"},
    {"shufflenet_v1", {.scale = 2.0f}, 524e6, 0, 0, "paper / megvii g3 2.0x"},
    {"shufflenet_v1", {.groups = 8, .scale = 0.5f}, 40e6, 0, 0, "megvii g8 0.5x"},
    {"shufflenet_v1", {.groups = 8, .scale = 1.5f}, 292e6, 0, 0, "megvii g8 1.5x"},
    {"shufflenet_v1", {.groups = 8, .scale = 2.0f}, 522e6, 0, 0, "megvii g8 2.0x"},
};

Test(zoo, macs_and_params_match_published)
{
    printf("%-20s %-22s %10s %10s %7s %11s %11s %7s  %s\n", "network", "options", "MACs", "published", "diff",
           "params", "published", "diff", "source");
    for (size_t i = 0; i < N_(k_pub); i++) {
        char opts[64];
        const mcl_zoo_options *o = &k_pub[i].o;
        snprintf(opts, sizeof opts, "a=%g r=%u g=%u s=%g", (double)o->alpha, o->resolution, o->groups,
                 (double)o->scale);
        mcl_graph *g = build(opts, k_pub[i].name, o);
        uint64_t m = 0, p = 0;
        cr_assert_eq(mcl_graph_stats(g, &m, &p), MCL_STATUS_OK);
        const double tol = k_pub[i].tol > 0 ? k_pub[i].tol : 0.02;
        const double dm = (double)m / k_pub[i].macs - 1, dp = k_pub[i].params ? (double)p / k_pub[i].params - 1 : 0;
        printf("%-20s %-22s %9.2fM %9.0fM %+6.2f%% %11llu %11.0f %+6.2f%%  %s\n", k_pub[i].name, opts, m / 1e6,
               k_pub[i].macs / 1e6, 100 * dm, (unsigned long long)p, k_pub[i].params, 100 * dp, k_pub[i].source);
        cr_expect(fabs(dm) <= tol, "[%s %s] %llu MACs, published %.0f (%+.2f%%, allowed %.0f%%)", k_pub[i].name, opts,
                  (unsigned long long)m, k_pub[i].macs, 100 * dm, 100 * tol);
        cr_expect(fabs(dp) <= tol, "[%s %s] %llu params, published %.0f (%+.2f%%, allowed %.0f%%)", k_pub[i].name,
                  opts, (unsigned long long)p, k_pub[i].params, 100 * dp, 100 * tol);
        mcl_graph_destroy(g);
    }
    fflush(stdout);
}

/* torchvision's parameter counts are exact: our convention (conv/fc
 * weights and biases, BN gamma and beta) is theirs. */
Test(zoo, torchvision_params_exact)
{
    static const struct { const char *name; uint64_t params; } t[] = {
        {"mobilenet_v2", 3504872},       {"shufflenet_v2_x0_5", 1366792}, {"shufflenet_v2_x1_0", 2278604},
        {"shufflenet_v2_x1_5", 3503624}, {"shufflenet_v2_x2_0", 7393996}, {"mnasnet0_5", 2218512},
        {"mnasnet1_0", 4383312},         {"mobilenet_v1", 4231976},
    };
    for (size_t i = 0; i < N_(t); i++) {
        mcl_graph *g = build(t[i].name, t[i].name, NULL);
        uint64_t m, p;
        cr_assert_eq(mcl_graph_stats(g, &m, &p), MCL_STATUS_OK);
        cr_expect_eq(p, t[i].params, "[%s] %llu params, expected %llu", t[i].name, (unsigned long long)p,
                     (unsigned long long)t[i].params);
        mcl_graph_destroy(g);
    }
}

/* ---- every option combination --------------------------------------------- */

static void check_graph(const char *label, const char *name, const mcl_zoo_options *o, uint32_t res,
                        uint32_t batch, uint32_t classes)
{
    mcl_graph *g = build(label, name, o);
    cr_expect_eq(mcl_graph_validate(g), MCL_STATUS_OK, "[%s] validate: %s", label, mcl_last_error());
    cr_assert_eq(mcl_graph_input_count(g), 1, "[%s] inputs", label);
    cr_assert_eq(mcl_graph_output_count(g), 1, "[%s] outputs", label);
    mcl_shape s;
    mcl_value in = mcl_graph_input_value(g, 0), out = mcl_graph_output_value(g, 0);
    cr_assert_eq(mcl_graph_value_shape(g, in, &s), MCL_STATUS_OK);
    cr_expect(s.n == batch && s.c == 3 && s.h == res && s.w == res, "[%s] input %ux%ux%ux%u, expected %ux3x%ux%u",
              label, s.n, s.c, s.h, s.w, batch, res, res);
    cr_expect_str_eq(mcl_graph_value_name(g, in), "input", "[%s] input name", label);
    cr_assert_eq(mcl_graph_value_shape(g, out, &s), MCL_STATUS_OK);
    cr_expect(s.n == batch && s.c == classes && s.h == 1 && s.w == 1, "[%s] output %ux%ux%ux%u, expected %ux%ux1x1",
              label, s.n, s.c, s.h, s.w, batch, classes);
    mcl_node_info last;
    cr_assert_eq(mcl_graph_node(g, mcl_graph_node_count(g) - 1, &last), MCL_STATUS_OK);
    cr_expect(last.kind == MCL_NODE_FC && last.out[0] == out && last.bias, "[%s] the output is not the FC (with bias)",
              label);
    mcl_graph_destroy(g);
}

Test(zoo, every_option_combination_builds)
{
    static const float a1[] = {0.25f, 0.5f, 0.75f, 1.0f}, a2[] = {0.35f, 0.5f, 0.75f, 1.0f, 1.4f};
    static const float sc[] = {0.5f, 1.0f, 1.5f, 2.0f};
    static const uint32_t r1[] = {128, 160, 192, 224}, r2[] = {96, 128, 160, 192, 224}, gr[] = {1, 2, 3, 4, 8};
    char label[128];
    for (size_t i = 0; i < N_(a1); i++)
        for (size_t j = 0; j < N_(r1); j++) {
            mcl_zoo_options o = {.alpha = a1[i], .resolution = r1[j]};
            snprintf(label, sizeof label, "mobilenet_v1 alpha %g res %u", (double)a1[i], r1[j]);
            check_graph(label, "mobilenet_v1", &o, r1[j], 1, 1000);
        }
    for (size_t i = 0; i < N_(a2); i++)
        for (size_t j = 0; j < N_(r2); j++) {
            mcl_zoo_options o = {.alpha = a2[i], .resolution = r2[j]};
            snprintf(label, sizeof label, "mobilenet_v2 alpha %g res %u", (double)a2[i], r2[j]);
            check_graph(label, "mobilenet_v2", &o, r2[j], 1, 1000);
        }
    for (size_t i = 0; i < N_(gr); i++)
        for (size_t j = 0; j < N_(sc); j++) {
            mcl_zoo_options o = {.groups = gr[i], .scale = sc[j]};
            snprintf(label, sizeof label, "shufflenet_v1 g %u scale %g", gr[i], (double)sc[j]);
            check_graph(label, "shufflenet_v1", &o, 224, 1, 1000);
        }
    /* "shufflenet_v2" (not in the names list) picks the width by scale and
     * equals the named variant */
    static const char *const v2[] = {"shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5",
                                     "shufflenet_v2_x2_0"};
    for (size_t j = 0; j < N_(sc); j++) {
        mcl_zoo_options o = {.scale = sc[j]};
        snprintf(label, sizeof label, "shufflenet_v2 scale %g", (double)sc[j]);
        check_graph(label, "shufflenet_v2", &o, 224, 1, 1000);
        check_graph(label, v2[j], &o, 224, 1, 1000); /* the name's own scale may be repeated */
        mcl_graph *a = build(label, "shufflenet_v2", &o), *b = build(label, v2[j], NULL);
        uint64_t ma, pa, mb, pb;
        mcl_graph_stats(a, &ma, &pa);
        mcl_graph_stats(b, &mb, &pb);
        cr_expect(ma == mb && pa == pb, "[%s] differs from %s", label, v2[j]);
        mcl_graph_destroy(a);
        mcl_graph_destroy(b);
    }
    /* every listed name: defaults (NULL), batch, classes */
    const char *const *names = mcl_zoo_names();
    size_t n = 0;
    for (; names[n]; n++) {
        snprintf(label, sizeof label, "%s defaults", names[n]);
        check_graph(label, names[n], NULL, 224, 1, 1000);
        mcl_zoo_options o = {.batch = 3, .classes = 10};
        snprintf(label, sizeof label, "%s batch 3 classes 10", names[n]);
        check_graph(label, names[n], &o, 224, 3, 10);
        mcl_zoo_options big = {.batch = 64, .classes = 1};
        snprintf(label, sizeof label, "%s batch 64 classes 1", names[n]);
        check_graph(label, names[n], &big, 224, 64, 1);
    }
    cr_expect_eq(n, 9, "mcl_zoo_names lists %zu networks, expected 9", n);
}

/* ---- structure and names ------------------------------------------------------ */

static void expect_conv(const char *label, const mcl_graph *g, const char *name, uint32_t in, uint32_t out,
                        uint32_t k, uint32_t stride, uint32_t groups)
{
    mcl_node_info ni = find_node(label, g, name);
    cr_expect(ni.kind == MCL_NODE_CONV2D && ni.conv.in_channels == in && ni.conv.out_channels == out &&
                  ni.conv.kernel_h == k && ni.conv.kernel_w == k && ni.conv.stride_h == stride &&
                  ni.conv.stride_w == stride && ni.conv.groups == groups && ni.conv.pad_top == k / 2 &&
                  ni.conv.pad_left == k / 2 && !ni.bias && ni.conv.activation == MCL_ACT_NONE && !ni.conv.residual,
              "[%s] %s: kind %d, %u->%u k%u s%u g%u, expected %u->%u k%u s%u g%u, no bias, act none", label, name,
              (int)ni.kind, ni.conv.in_channels, ni.conv.out_channels, ni.conv.kernel_h, ni.conv.stride_h,
              ni.conv.groups, in, out, k, stride, groups);
}

static void expect_kind(const char *label, const mcl_graph *g, const char *name, mcl_node_kind k)
{
    mcl_node_info ni = find_node(label, g, name);
    cr_expect_eq(ni.kind, k, "[%s] %s: kind %d, expected %d", label, name, (int)ni.kind, (int)k);
}

Test(zoo, structure_and_names)
{
    mcl_graph *g = build("mbv2", "mobilenet_v2", NULL);
    expect_conv("mbv2", g, "features.0.0", 3, 32, 3, 2, 1);
    expect_conv("mbv2", g, "features.1.conv.0.0", 32, 32, 3, 1, 32); /* t=1: no expand */
    expect_conv("mbv2", g, "features.1.conv.1", 32, 16, 1, 1, 1);
    expect_conv("mbv2", g, "features.3.conv.0.0", 24, 144, 1, 1, 1);
    expect_conv("mbv2", g, "features.3.conv.1.0", 144, 144, 3, 1, 144);
    expect_conv("mbv2", g, "features.3.conv.2", 144, 24, 1, 1, 1);
    expect_kind("mbv2", g, "features.3.conv.3", MCL_NODE_BATCHNORM);
    expect_kind("mbv2", g, "features.3.conv.1.2", MCL_NODE_ACTIVATION);
    cr_expect_eq(find_node("mbv2", g, "features.3.conv.1.2").act, MCL_ACT_RELU6);
    expect_kind("mbv2", g, "features.3.add", MCL_NODE_ADD);
    expect_conv("mbv2", g, "features.18.0", 320, 1280, 1, 1, 1);
    cr_expect_eq(count_kind(g, MCL_NODE_ADD), 10, "mbv2 residual adds");
    cr_expect_eq(count_kind(g, MCL_NODE_CONV2D), 52, "mbv2 convs");
    cr_expect_eq(count_kind(g, MCL_NODE_BATCHNORM), 52, "mbv2 BNs");
    mcl_graph_destroy(g);

    g = build("mbv1", "mobilenet_v1", &(mcl_zoo_options){.alpha = 0.5f});
    expect_conv("mbv1", g, "features.0.0", 3, 16, 3, 2, 1);
    expect_conv("mbv1", g, "features.2.0", 32, 32, 3, 2, 32);
    expect_conv("mbv1", g, "features.2.3", 32, 64, 1, 1, 1);
    expect_conv("mbv1", g, "features.13.3", 512, 512, 1, 1, 1);
    cr_expect_eq(find_node("mbv1", g, "features.13.5").act, MCL_ACT_RELU);
    cr_expect_eq(find_node("mbv1", g, "fc").fc.in_features, 512);
    cr_expect_eq(count_kind(g, MCL_NODE_CONV2D), 27, "mbv1 convs");
    mcl_graph_destroy(g);

    g = build("shv2", "shufflenet_v2_x1_0", NULL);
    expect_conv("shv2", g, "conv1.0", 3, 24, 3, 2, 1);
    expect_kind("shv2", g, "maxpool", MCL_NODE_POOL2D);
    expect_conv("shv2", g, "stage2.0.branch1.0", 24, 24, 3, 2, 24);
    expect_conv("shv2", g, "stage2.0.branch1.2", 24, 58, 1, 1, 1);
    expect_conv("shv2", g, "stage2.0.branch2.0", 24, 58, 1, 1, 1);
    expect_conv("shv2", g, "stage2.0.branch2.3", 58, 58, 3, 2, 58);
    expect_conv("shv2", g, "stage2.1.branch2.0", 58, 58, 1, 1, 1);
    expect_conv("shv2", g, "stage2.1.branch2.3", 58, 58, 3, 1, 58);
    expect_conv("shv2", g, "stage4.3.branch2.5", 232, 232, 1, 1, 1);
    expect_kind("shv2", g, "stage2.1.chunk", MCL_NODE_SPLIT);
    expect_kind("shv2", g, "stage2.1.cat", MCL_NODE_CONCAT);
    cr_expect_eq(find_node("shv2", g, "stage3.7.shuffle").groups, 2);
    expect_conv("shv2", g, "conv5.0", 464, 1024, 1, 1, 1);
    cr_expect_eq(count_kind(g, MCL_NODE_SPLIT), 13, "shv2 splits");
    cr_expect_eq(count_kind(g, MCL_NODE_CONCAT), 16, "shv2 concats");
    cr_expect_eq(count_kind(g, MCL_NODE_SHUFFLE), 16, "shv2 shuffles");
    mcl_graph_destroy(g);

    g = build("mnas", "mnasnet1_0", NULL);
    expect_conv("mnas", g, "layers.0", 3, 32, 3, 2, 1);
    expect_conv("mnas", g, "layers.3", 32, 32, 3, 1, 32);
    expect_conv("mnas", g, "layers.6", 32, 16, 1, 1, 1);
    expect_conv("mnas", g, "layers.8.0.layers.0", 16, 48, 1, 1, 1);
    expect_conv("mnas", g, "layers.8.0.layers.3", 48, 48, 3, 2, 48);
    expect_conv("mnas", g, "layers.9.0.layers.3", 72, 72, 5, 2, 72);
    expect_conv("mnas", g, "layers.11.0.layers.6", 480, 96, 1, 1, 1);
    expect_conv("mnas", g, "layers.13.0.layers.6", 1152, 320, 1, 1, 1);
    expect_conv("mnas", g, "layers.14", 320, 1280, 1, 1, 1);
    expect_kind("mnas", g, "layers.12.3.add", MCL_NODE_ADD);
    cr_expect_eq(count_kind(g, MCL_NODE_ADD), 10, "mnasnet residual adds");
    mcl_graph_destroy(g);

    g = build("mnas0.5", "mnasnet0_5", NULL);
    expect_conv("mnas0.5", g, "layers.6", 16, 8, 1, 1, 1);
    expect_conv("mnas0.5", g, "layers.8.0.layers.6", 24, 16, 1, 1, 1);
    mcl_graph_destroy(g);

    g = build("shv1", "shufflenet_v1", NULL);
    expect_conv("shv1", g, "first_conv.0", 3, 24, 3, 2, 1);
    expect_conv("shv1", g, "stage2.0.branch_main_1.0", 24, 60, 1, 1, 1); /* first unit: groups 1 */
    expect_conv("shv1", g, "stage2.0.branch_main_1.3", 60, 60, 3, 2, 60);
    expect_conv("shv1", g, "stage2.0.branch_main_2.0", 60, 216, 1, 1, 3);
    expect_conv("shv1", g, "stage2.1.branch_main_1.0", 240, 60, 1, 1, 3);
    expect_conv("shv1", g, "stage3.0.branch_main_2.0", 120, 240, 1, 1, 3);
    mcl_node_info p = find_node("shv1", g, "stage3.0.branch_proj");
    cr_expect(p.kind == MCL_NODE_POOL2D && p.pool.type == MCL_POOL_AVG && p.pool.kernel_h == 3 &&
                  p.pool.stride_h == 2 && p.pool.pad_top == 1 && p.pool.count_include_pad == 1,
              "shv1 branch_proj is not avgpool 3x3 s2 p1 count_include_pad");
    cr_expect(find_node("shv1", g, "stage2.1.add").act == MCL_ACT_RELU, "shv1 add without relu");
    expect_kind("shv1", g, "stage2.0.cat", MCL_NODE_CONCAT);
    cr_expect_eq(find_node("shv1", g, "stage2.0.shuffle").groups, 3);
    cr_expect_eq(count_kind(g, MCL_NODE_ADD), 13, "shv1 adds");
    cr_expect_eq(count_kind(g, MCL_NODE_SHUFFLE), 16, "shv1 shuffles");
    mcl_graph_destroy(g);

    g = build("shv1 g1", "shufflenet_v1", &(mcl_zoo_options){.groups = 1});
    cr_expect_eq(count_kind(g, MCL_NODE_SHUFFLE), 0, "shv1 g1: no shuffles");
    mcl_graph_destroy(g);
}

/* ---- invalid options ------------------------------------------------------------ */

static const struct {
    const char *name;
    mcl_zoo_options o;
    mcl_status st;
    const char *msg; /* must appear in mcl_last_error() */
} k_bad[] = {
    {"resnet50", DEFAULTS, MCL_STATUS_NOT_FOUND, "resnet50"},
    {"MobileNet_V2", DEFAULTS, MCL_STATUS_NOT_FOUND, "MobileNet_V2"},
    {"", DEFAULTS, MCL_STATUS_NOT_FOUND, "''"},
    {"mobilenet_v1", {.alpha = 0.3f}, MCL_STATUS_INVALID_ARGUMENT, "alpha 0.3"},
    {"mobilenet_v1", {.alpha = 1.4f}, MCL_STATUS_INVALID_ARGUMENT, "alpha 1.4"},
    {"mobilenet_v1", {.alpha = -1.0f}, MCL_STATUS_INVALID_ARGUMENT, "alpha -1"},
    {"mobilenet_v1", {.alpha = NAN}, MCL_STATUS_INVALID_ARGUMENT, "alpha nan"},
    {"mobilenet_v1", {.resolution = 96}, MCL_STATUS_INVALID_ARGUMENT, "resolution 96"},
    {"mobilenet_v1", {.resolution = 100}, MCL_STATUS_INVALID_ARGUMENT, "resolution 100"},
    {"mobilenet_v1", {.groups = 3}, MCL_STATUS_INVALID_ARGUMENT, "does not apply"},
    {"mobilenet_v1", {.scale = 1.0f}, MCL_STATUS_INVALID_ARGUMENT, "does not apply"},
    {"mobilenet_v2", {.alpha = 1.3f}, MCL_STATUS_INVALID_ARGUMENT, "alpha 1.3"},
    {"mobilenet_v2", {.alpha = 0.25f}, MCL_STATUS_INVALID_ARGUMENT, "alpha 0.25"},
    {"mobilenet_v2", {.resolution = 256}, MCL_STATUS_INVALID_ARGUMENT, "resolution 256"},
    {"mobilenet_v2", {.batch = 65}, MCL_STATUS_INVALID_ARGUMENT, "batch 65"},
    {"mobilenet_v2", {.classes = 100001}, MCL_STATUS_INVALID_ARGUMENT, "classes 100001"},
    {"mobilenet_v2", {.classes = 0xFFFFFFFFu}, MCL_STATUS_INVALID_ARGUMENT, "classes 4294967295"},
    {"shufflenet_v1", {.groups = 5}, MCL_STATUS_INVALID_ARGUMENT, "groups 5"},
    {"shufflenet_v1", {.groups = 6}, MCL_STATUS_INVALID_ARGUMENT, "groups 6"},
    {"shufflenet_v1", {.scale = 0.25f}, MCL_STATUS_INVALID_ARGUMENT, "scale 0.25"},
    {"shufflenet_v1", {.scale = 0.75f}, MCL_STATUS_INVALID_ARGUMENT, "scale 0.75"},
    {"shufflenet_v1", {.alpha = 1.0f}, MCL_STATUS_INVALID_ARGUMENT, "does not apply"},
    {"shufflenet_v1", {.resolution = 224}, MCL_STATUS_INVALID_ARGUMENT, "does not apply"},
    {"shufflenet_v1", {.batch = 1000}, MCL_STATUS_INVALID_ARGUMENT, "batch 1000"},
    {"shufflenet_v2", {.scale = 0.25f}, MCL_STATUS_INVALID_ARGUMENT, "scale 0.25"},
    {"shufflenet_v2_x1_0", {.scale = 2.0f}, MCL_STATUS_INVALID_ARGUMENT, "scale 2"},
    {"shufflenet_v2_x1_0", {.alpha = 0.5f}, MCL_STATUS_INVALID_ARGUMENT, "does not apply"},
    {"shufflenet_v2_x1_0", {.groups = 2}, MCL_STATUS_INVALID_ARGUMENT, "does not apply"},
    {"shufflenet_v2_x0_5", {.resolution = 160}, MCL_STATUS_INVALID_ARGUMENT, "does not apply"},
    {"mnasnet1_0", {.alpha = 0.5f}, MCL_STATUS_INVALID_ARGUMENT, "alpha 0.5"},
    {"mnasnet0_5", {.scale = 1.0f}, MCL_STATUS_INVALID_ARGUMENT, "does not apply"},
    {"mnasnet0_5", {.groups = 4}, MCL_STATUS_INVALID_ARGUMENT, "does not apply"},
    {"mnasnet0_5", {.classes = 200000}, MCL_STATUS_INVALID_ARGUMENT, "classes 200000"},
};

Test(zoo, invalid_options)
{
    for (size_t i = 0; i < N_(k_bad); i++) {
        mcl_graph *g = (mcl_graph *)&g; /* must be reset to NULL */
        mcl_status st = mcl_zoo_build(k_bad[i].name, &k_bad[i].o, &g);
        const char *e = mcl_last_error();
        cr_expect_eq(st, k_bad[i].st, "[%zu: %s, expect '%s'] status %s, expected %s (%s)", i, k_bad[i].name,
                     k_bad[i].msg, mcl_status_string(st), mcl_status_string(k_bad[i].st), e);
        cr_expect(strstr(e, k_bad[i].msg) != NULL, "[%zu: %s] message '%s' does not contain '%s'", i, k_bad[i].name, e,
                  k_bad[i].msg);
        cr_expect(g == NULL, "[%zu: %s] *g not set to NULL on failure", i, k_bad[i].name);
        if (g && g != (mcl_graph *)&g)
            mcl_graph_destroy(g);
    }
    mcl_graph *g = NULL;
    cr_expect_eq(mcl_zoo_build(NULL, NULL, &g), MCL_STATUS_INVALID_ARGUMENT, "NULL name");
    cr_expect(*mcl_last_error(), "NULL name: no message");
    cr_expect_eq(mcl_zoo_build("mobilenet_v2", NULL, NULL), MCL_STATUS_INVALID_ARGUMENT, "NULL graph pointer");
    cr_expect(*mcl_last_error(), "NULL graph pointer: no message");
}

/* ---- determinism ----------------------------------------------------------------- */

static int same_floats(const float *a, const float *b, size_t n)
{
    if (!a || !b)
        return a == b;
    return memcmp(a, b, n * sizeof *a) == 0;
}

/* Number of parameterised nodes whose parameters differ between a and b
 * (which must have the same structure). */
static size_t differing_nodes(const char *label, const mcl_graph *a, const mcl_graph *b, size_t *param_nodes)
{
    cr_assert_eq(mcl_graph_node_count(a), mcl_graph_node_count(b), "[%s] node counts", label);
    size_t diff = 0, np = 0;
    for (size_t i = 0; i < mcl_graph_node_count(a); i++) {
        mcl_node_info x, y;
        cr_assert_eq(mcl_graph_node(a, i, &x), MCL_STATUS_OK);
        cr_assert_eq(mcl_graph_node(b, i, &y), MCL_STATUS_OK);
        cr_assert(x.kind == y.kind && strcmp(x.name, y.name) == 0, "[%s] node %zu: %s vs %s", label, i, x.name, y.name);
        mcl_shape s;
        mcl_graph_value_shape(a, x.in[0], &s);
        int same = 1;
        if (x.kind == MCL_NODE_CONV2D) {
            const mcl_conv2d_desc *d = &x.conv;
            size_t n = (size_t)d->out_channels * (d->in_channels / d->groups) * d->kernel_h * d->kernel_w;
            same = same_floats(x.weights, y.weights, n) && same_floats(x.bias, y.bias, d->out_channels);
        } else if (x.kind == MCL_NODE_FC) {
            same = same_floats(x.weights, y.weights, (size_t)x.fc.in_features * x.fc.out_features) &&
                   same_floats(x.bias, y.bias, x.fc.out_features);
        } else if (x.kind == MCL_NODE_BATCHNORM) {
            same = same_floats(x.gamma, y.gamma, s.c) && same_floats(x.beta, y.beta, s.c) &&
                   same_floats(x.mean, y.mean, s.c) && same_floats(x.var, y.var, s.c) && x.eps == y.eps;
        } else {
            continue;
        }
        np++;
        diff += !same;
    }
    *param_nodes = np;
    return diff;
}

Test(zoo, deterministic_weights)
{
    const char *const *names = mcl_zoo_names();
    for (size_t k = 0; names[k]; k++) {
        mcl_zoo_options s1 = {.seed = 1}, s2 = {.seed = 2}, s1b = {.seed = 1, .batch = 2};
        mcl_graph *a = build(names[k], names[k], &s1), *b = build(names[k], names[k], NULL),
                  *c = build(names[k], names[k], &s2), *d = build(names[k], names[k], &s1b);
        size_t np = 0, diff;
        diff = differing_nodes(names[k], a, b, &np);
        cr_expect_eq(diff, 0, "[%s] seed 1 vs default seed: %zu of %zu nodes differ", names[k], diff, np);
        diff = differing_nodes(names[k], a, d, &np);
        cr_expect_eq(diff, 0, "[%s] seed 1 batch 1 vs batch 2: %zu of %zu nodes differ", names[k], diff, np);
        diff = differing_nodes(names[k], a, c, &np);
        cr_expect_eq(diff, np, "[%s] seed 1 vs 2: only %zu of %zu nodes differ", names[k], diff, np);
        mcl_graph_destroy(a);
        mcl_graph_destroy(b);
        mcl_graph_destroy(c);
        mcl_graph_destroy(d);
    }
}

/* Parameter ranges, and BN statistics that are not the identity. */
Test(zoo, weight_ranges)
{
    mcl_graph *g = build("mbv2", "mobilenet_v2", NULL);
    double gsum = 0;
    size_t gn = 0;
    for (size_t i = 0; i < mcl_graph_node_count(g); i++) {
        mcl_node_info ni;
        cr_assert_eq(mcl_graph_node(g, i, &ni), MCL_STATUS_OK);
        mcl_shape s;
        mcl_graph_value_shape(g, ni.in[0], &s);
        if (ni.kind == MCL_NODE_BATCHNORM) {
            cr_expect(fabsf(ni.eps - 1e-5f) < 1e-9f, "[%s] eps %g", ni.name, (double)ni.eps);
            for (uint32_t c = 0; c < s.c; c++) {
                cr_assert(ni.gamma[c] >= 0.5f && ni.gamma[c] <= 1.5f && fabsf(ni.beta[c]) <= 0.2f &&
                              fabsf(ni.mean[c]) <= 0.2f && ni.var[c] >= 0.5f && ni.var[c] <= 1.5f,
                          "[%s] channel %u: gamma %g beta %g mean %g var %g out of range", ni.name, c,
                          (double)ni.gamma[c], (double)ni.beta[c], (double)ni.mean[c], (double)ni.var[c]);
                gsum += ni.gamma[c];
                gn++;
            }
        } else if (ni.kind == MCL_NODE_CONV2D) {
            const mcl_conv2d_desc *d = &ni.conv;
            size_t fan = (size_t)(d->in_channels / d->groups) * d->kernel_h * d->kernel_w, n = fan * d->out_channels;
            double a = sqrt(6.0 / fan), ss = 0;
            for (size_t j = 0; j < n; j++) {
                cr_assert(isfinite(ni.weights[j]) && fabs(ni.weights[j]) <= a, "[%s] weight %zu = %g", ni.name, j,
                          (double)ni.weights[j]);
                ss += (double)ni.weights[j] * ni.weights[j];
            }
            cr_expect(ss > 0, "[%s] all-zero weights", ni.name);
        } else if (ni.kind == MCL_NODE_FC) {
            const double a = sqrt(3.0 / ni.fc.in_features);
            for (size_t j = 0; j < (size_t)ni.fc.in_features * ni.fc.out_features; j++)
                cr_assert(fabs(ni.weights[j]) <= a, "[%s] weight %zu = %g", ni.name, j, (double)ni.weights[j]);
            for (uint32_t j = 0; j < ni.fc.out_features; j++)
                cr_assert(fabsf(ni.bias[j]) <= 0.1f, "[%s] bias %u = %g", ni.name, j, (double)ni.bias[j]);
        }
    }
    cr_expect(fabs(gsum / gn - 1.0) < 0.02, "BN gamma mean %g over %zu channels, expected ~1", gsum / gn, gn);
    mcl_graph_destroy(g);
}
