/* Model zoo: MobileNet V1/V2, ShuffleNet V1/V2 and MNASNet as mcl_graphs
 * with deterministic pseudo-random weights and BatchNorm statistics.
 *
 * Layer order, channels, strides and kernel sizes follow torchvision
 * (MobileNet V2, ShuffleNet V2, MNASNet), the MobileNet V1 paper and its
 * TF-slim/Keras reference, and the ShuffleNet V1 paper (Table 1) and its
 * authors' code (megvii ShuffleNet-Series). Every conv is conv2d (no bias)
 * + batchnorm (eps 1e-5) [+ activation]; node names follow torchvision's
 * module paths (the conv, BN and activation of one Conv-BN-Act sit at
 * consecutive indices i, i+1, i+2 under one prefix). The FC has a bias.
 *
 * Weights: parameterised layer k (conv, BN or FC, in build order) draws
 * from its own splitmix64 stream, a hash of (seed, k). Conv weights
 * ~ U[-a, a], a = sqrt(3 gain / (fan_in * k_bn_gain)), gain 2 before
 * ReLU/ReLU6, else 1; BN gamma ~ U[0.5, 1.5], beta and mean ~ U[-0.2, 0.2],
 * var ~ U[0.5, 1.5]; FC weights ~ U[-sqrt(3/in), sqrt(3/in)], bias
 * ~ U[-0.1, 0.1]. With these, activations keep a mean square of about 1
 * except for the growth at residual adds: for a [-1, 1] uniform input the
 * logits have an RMS of about 0.4 (MobileNet V1) to 10 (MNASNet 1.0,
 * ShuffleNet V1), largest |logit| < 50 (checked with a naive float
 * forward pass). */
#include "graph_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- deterministic weights ------------------------------------------------ */

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* splitmix64 */
static uint64_t next(uint64_t *s) { return mix64(*s += 0x9e3779b97f4a7c15ull); }

static float uni(uint64_t *s, float lo, float hi)
{
    return lo + (hi - lo) * (float)((double)(next(s) >> 40) / 16777216.0);
}

/* E[gamma^2 / var] of our BatchNorm statistics, (13/12) ln 3: the factor
 * by which a BN scales the mean square of its input (the var it divides by
 * is not the input's). Conv weights divide it out so that conv + BN keeps
 * the mean square (without it MNASNet 1.0's logits reach several hundred). */
static const float k_bn_gain = 1.1902f;

/* ---- builder state: the first failure stops everything after it ---------- */

typedef struct zb {
    mcl_graph *g;
    uint64_t seed;
    uint32_t layer; /* parameterised layers so far: the RNG stream index */
    mcl_status st;
    float *buf;
    size_t cap;
} zb;

/* Start state of the next layer's stream. */
static uint64_t layer_stream(zb *b) { return mix64(mix64(b->seed) + 0x9e3779b97f4a7c15ull * ++b->layer); }

static float *scratch(zb *b, size_t n)
{
    if (n > b->cap) {
        float *p = realloc(b->buf, n * sizeof *p);
        if (!p) {
            b->st = mcl_fail(NULL, MCL_STATUS_OUT_OF_MEMORY, "model zoo: %zu weights", n);
            return NULL;
        }
        b->buf = p;
        b->cap = n;
    }
    return b->buf;
}

static uint32_t channels(zb *b, mcl_value v)
{
    mcl_shape s = {0, 0, 0, 0};
    if (!b->st)
        mcl_graph_value_shape(b->g, v, &s);
    return s.c;
}

/* The value a builder call wrote to *v (read after the call), or -1 on failure. */
static mcl_value done(zb *b, mcl_status st, const mcl_value *v) { return (b->st = st) == MCL_STATUS_OK ? *v : -1; }

static mcl_value conv(zb *b, const char *name, mcl_value x, uint32_t out, uint32_t k, uint32_t stride,
                      uint32_t groups, float gain)
{
    if (b->st)
        return -1;
    const uint32_t in = channels(b, x);
    mcl_conv2d_desc d = {.in_channels = in, .out_channels = out, .groups = groups, .kernel_h = k, .kernel_w = k,
                         .stride_h = stride, .stride_w = stride, .pad_top = k / 2, .pad_left = k / 2,
                         .pad_bottom = k / 2, .pad_right = k / 2, .dilation_h = 1, .dilation_w = 1};
    const size_t fan_in = (size_t)(in / groups) * k * k, n = fan_in * out;
    float *w = scratch(b, n);
    if (!w)
        return -1;
    uint64_t s = layer_stream(b);
    const float a = sqrtf(3.0f * gain / (k_bn_gain * (float)fan_in));
    for (size_t i = 0; i < n; i++)
        w[i] = uni(&s, -a, a);
    mcl_value y = -1;
    return done(b, mcl_graph_conv2d(b->g, name, &d, w, NULL, x, -1, &y), &y);
}

static mcl_value bn(zb *b, const char *name, mcl_value x)
{
    if (b->st)
        return -1;
    const uint32_t c = channels(b, x);
    float *p = scratch(b, 4 * (size_t)c);
    if (!p)
        return -1;
    uint64_t s = layer_stream(b);
    for (uint32_t i = 0; i < c; i++) {
        p[i] = uni(&s, 0.5f, 1.5f);
        p[c + i] = uni(&s, -0.2f, 0.2f);
        p[2 * c + i] = uni(&s, -0.2f, 0.2f);
        p[3 * c + i] = uni(&s, 0.5f, 1.5f);
    }
    mcl_value y = -1;
    return done(b, mcl_graph_batchnorm(b->g, name, x, p, p + c, p + 2 * c, p + 3 * c, 1e-5f, &y), &y);
}

static mcl_value act(zb *b, const char *name, mcl_value x, mcl_activation a)
{
    mcl_value y = -1;
    return b->st ? -1 : done(b, mcl_graph_activation(b->g, name, a, x, &y), &y);
}

/* Conv-BN[-Act] named prefix.i, prefix.(i+1) [, prefix.(i+2)]. */
static mcl_value cba(zb *b, mcl_value x, const char *prefix, int i, uint32_t out, uint32_t k, uint32_t stride,
                     uint32_t groups, mcl_activation a)
{
    char n[3][160];
    for (int j = 0; j < 3; j++)
        snprintf(n[j], sizeof n[j], "%s.%d", prefix, i + j);
    x = conv(b, n[0], x, out, k, stride, groups, a == MCL_ACT_NONE ? 1.0f : 2.0f);
    x = bn(b, n[1], x);
    return a == MCL_ACT_NONE ? x : act(b, n[2], x, a);
}

/* Depthwise Conv-BN[-Act]. */
static mcl_value dw(zb *b, mcl_value x, const char *prefix, int i, uint32_t k, uint32_t stride, mcl_activation a)
{
    const uint32_t c = channels(b, x);
    return cba(b, x, prefix, i, c, k, stride, c, a);
}

static mcl_value pool(zb *b, const char *name, mcl_value x, mcl_pool_type type, uint32_t k, uint32_t stride,
                      uint32_t pad, int count_include_pad)
{
    mcl_pool2d_desc d = {.type = type, .kernel_h = k, .kernel_w = k, .stride_h = stride, .stride_w = stride,
                         .pad_top = pad, .pad_left = pad, .pad_bottom = pad, .pad_right = pad,
                         .count_include_pad = count_include_pad};
    mcl_value y = -1;
    return b->st ? -1 : done(b, mcl_graph_pool2d(b->g, name, &d, MCL_ACT_NONE, x, &y), &y);
}

static mcl_value add(zb *b, const char *name, mcl_value x, mcl_value y, mcl_activation a)
{
    mcl_value z = -1;
    return b->st ? -1 : done(b, mcl_graph_add(b->g, name, x, y, a, &z), &z);
}

static mcl_value cat2(zb *b, const char *name, mcl_value x, mcl_value y)
{
    mcl_value in[2] = {x, y}, z = -1;
    return b->st ? -1 : done(b, mcl_graph_concat(b->g, name, 2, in, &z), &z);
}

static mcl_value shuffle(zb *b, const char *name, mcl_value x, uint32_t groups)
{
    mcl_value y = -1;
    return b->st ? -1 : done(b, mcl_graph_shuffle(b->g, name, x, groups, &y), &y);
}

/* Global average pool ("avgpool") + FC with bias (fc_name) as the output. */
static void head(zb *b, mcl_value x, const char *fc_name, uint32_t classes)
{
    x = pool(b, "avgpool", x, MCL_POOL_GLOBAL_AVG, 0, 0, 0, 0);
    if (b->st)
        return;
    const uint32_t in = channels(b, x);
    const size_t n = (size_t)in * classes;
    float *w = scratch(b, n + classes);
    if (!w)
        return;
    uint64_t s = layer_stream(b);
    const float a = sqrtf(3.0f / (float)in);
    for (size_t i = 0; i < n; i++)
        w[i] = uni(&s, -a, a);
    for (uint32_t i = 0; i < classes; i++)
        w[n + i] = uni(&s, -0.1f, 0.1f);
    mcl_fc_desc d = {.in_features = in, .out_features = classes, .activation = MCL_ACT_NONE};
    mcl_value y = -1;
    if ((x = done(b, mcl_graph_fc(b->g, fc_name, &d, w, w + n, x, &y), &y)) >= 0)
        b->st = mcl_graph_output(b->g, x);
}

#define P(...) (snprintf(pre, sizeof pre, __VA_ARGS__), pre)

/* ---- MobileNet V1 ----------------------------------------------------------
 * Conv 3x3 s2 32, 13 depthwise-separable blocks (dw 3x3 + BN + ReLU, pw 1x1
 * + BN + ReLU), channels int(c * alpha) as in the TF reference. ReLU, as in
 * the paper (the TF/Keras models use ReLU6; the shapes and counts are the
 * same). Names: features.0.{0,1,2} stem, features.k.{0..5} block k, fc. */
static void mobilenet_v1(zb *b, mcl_value x, double alpha, uint32_t classes)
{
    static const uint32_t ch[13] = {64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024};
    static const uint32_t st[13] = {1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1};
    char pre[64];
    x = cba(b, x, "features.0", 0, (uint32_t)(32 * alpha), 3, 2, 1, MCL_ACT_RELU);
    for (int i = 0; i < 13; i++) {
        x = dw(b, x, P("features.%d", i + 1), 0, 3, st[i], MCL_ACT_RELU);
        x = cba(b, x, pre, 3, (uint32_t)(ch[i] * alpha), 1, 1, 1, MCL_ACT_RELU);
    }
    head(b, x, "fc", classes);
}

/* ---- MobileNet V2 (torchvision) ------------------------------------------ */

static uint32_t make_divisible(double v, uint32_t d)
{
    uint32_t r = (uint32_t)(v + d / 2.0) / d * d;
    if (r < d)
        r = d;
    return r < 0.9 * v ? r + d : r;
}

static void mobilenet_v2(zb *b, mcl_value x, double alpha, uint32_t classes)
{
    static const uint32_t cfg[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
                                       {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}}; /* t, c, n, s */
    char pre[64], sub[80];
    int f = 0;
    x = cba(b, x, P("features.%d", f++), 0, make_divisible(32 * alpha, 8), 3, 2, 1, MCL_ACT_RELU6);
    for (int s = 0; s < 7; s++) {
        const uint32_t out = make_divisible(cfg[s][1] * alpha, 8);
        for (uint32_t i = 0; i < cfg[s][2]; i++) {
            const uint32_t in = channels(b, x), t = cfg[s][0], stride = i ? 1 : cfg[s][3];
            mcl_value y = x;
            int k = 0;
            P("features.%d.conv", f++);
            if (t != 1) {
                snprintf(sub, sizeof sub, "%s.%d", pre, k++);
                y = cba(b, y, sub, 0, in * t, 1, 1, 1, MCL_ACT_RELU6);
            }
            snprintf(sub, sizeof sub, "%s.%d", pre, k++);
            y = dw(b, y, sub, 0, 3, stride, MCL_ACT_RELU6);
            y = cba(b, y, pre, k, out, 1, 1, 1, MCL_ACT_NONE);
            if (stride == 1 && in == out)
                y = add(b, P("features.%d.add", f - 1), x, y, MCL_ACT_NONE);
            x = y;
        }
    }
    x = cba(b, x, P("features.%d", f), 0, make_divisible(1280 * (alpha > 1.0 ? alpha : 1.0), 8), 1, 1, 1,
            MCL_ACT_RELU6);
    head(b, x, "classifier.1", classes);
}

/* ---- MNASNet (torchvision, B1) -------------------------------------------- */

static uint32_t round_to_multiple_of(double v, uint32_t d)
{
    uint32_t r = (uint32_t)(v + d / 2.0) / d * d;
    if (r < d)
        r = d;
    return r >= 0.9 * v ? r : r + d;
}

static void mnasnet(zb *b, mcl_value x, double alpha, uint32_t classes)
{
    static const uint32_t base[8] = {32, 16, 24, 40, 80, 96, 192, 320};
    static const uint32_t stk[6][4] = {{3, 3, 2, 3}, {3, 5, 2, 3}, {6, 5, 2, 3},
                                       {6, 3, 1, 2}, {6, 5, 2, 4}, {6, 3, 1, 1}}; /* exp, k, s, repeats */
    uint32_t dep[8];
    char pre[64];
    for (int i = 0; i < 8; i++)
        dep[i] = round_to_multiple_of(base[i] * alpha, 8);
    x = cba(b, x, "layers", 0, dep[0], 3, 2, 1, MCL_ACT_RELU);
    x = dw(b, x, "layers", 3, 3, 1, MCL_ACT_RELU);
    x = cba(b, x, "layers", 6, dep[1], 1, 1, 1, MCL_ACT_NONE);
    for (int s = 0; s < 6; s++)
        for (uint32_t i = 0; i < stk[s][3]; i++) {
            const uint32_t in = channels(b, x), stride = i ? 1 : stk[s][2];
            P("layers.%d.%u.layers", 8 + s, i);
            mcl_value y = cba(b, x, pre, 0, in * stk[s][0], 1, 1, 1, MCL_ACT_RELU);
            y = dw(b, y, pre, 3, stk[s][1], stride, MCL_ACT_RELU);
            y = cba(b, y, pre, 6, dep[s + 2], 1, 1, 1, MCL_ACT_NONE);
            x = stride == 1 && in == dep[s + 2] ? add(b, P("layers.%d.%u.add", 8 + s, i), x, y, MCL_ACT_NONE) : y;
        }
    x = cba(b, x, "layers", 14, 1280, 1, 1, 1, MCL_ACT_RELU);
    head(b, x, "classifier.1", classes);
}

/* ---- ShuffleNet V2 (torchvision) ------------------------------------------ */

static void shufflenet_v2(zb *b, mcl_value x, int variant, uint32_t classes)
{
    static const uint32_t soc[4][5] = {
        {24, 48, 96, 192, 1024}, {24, 116, 232, 464, 1024}, {24, 176, 352, 704, 1024}, {24, 244, 488, 976, 2048}};
    static const uint32_t rep[3] = {4, 8, 4};
    const uint32_t *c = soc[variant];
    char pre[64];
    x = cba(b, x, "conv1", 0, c[0], 3, 2, 1, MCL_ACT_RELU);
    x = pool(b, "maxpool", x, MCL_POOL_MAX, 3, 2, 1, 0);
    for (int s = 0; s < 3; s++)
        for (uint32_t i = 0; i < rep[s]; i++) {
            const uint32_t half = c[s + 1] / 2;
            mcl_value x1, x2;
            if (i == 0) {
                x1 = dw(b, x, P("stage%d.%u.branch1", s + 2, i), 0, 3, 2, MCL_ACT_NONE);
                x1 = cba(b, x1, pre, 2, half, 1, 1, 1, MCL_ACT_RELU);
                x2 = x;
            } else {
                const uint32_t sizes[2] = {half, half};
                mcl_value o[2] = {-1, -1};
                if (!b->st)
                    b->st = mcl_graph_split(b->g, P("stage%d.%u.chunk", s + 2, i), x, 2, sizes, o);
                x1 = o[0];
                x2 = o[1];
            }
            P("stage%d.%u.branch2", s + 2, i);
            x2 = cba(b, x2, pre, 0, half, 1, 1, 1, MCL_ACT_RELU);
            x2 = dw(b, x2, pre, 3, 3, i ? 1 : 2, MCL_ACT_NONE);
            x2 = cba(b, x2, pre, 5, half, 1, 1, 1, MCL_ACT_RELU);
            x = cat2(b, P("stage%d.%u.cat", s + 2, i), x1, x2);
            x = shuffle(b, P("stage%d.%u.shuffle", s + 2, i), x, 2);
        }
    x = cba(b, x, "conv5", 0, c[4], 1, 1, 1, MCL_ACT_RELU);
    head(b, x, "fc", classes);
}

/* ---- ShuffleNet V1 ---------------------------------------------------------
 * Paper Table 1 stage channels times scale, rounded to the nearest multiple
 * of 4 * groups (so the bottleneck out/4 and the stride-2 branch out - in
 * divide by the groups; this changes only g=2 and g=4 at 0.5x and 1.5x,
 * e.g. 100 -> 104). Stem conv 3x3 s2 + BN + ReLU with the channels of the
 * authors' reference models (megvii ShuffleNet-Series): 24 at 1x and 1.5x,
 * 48 at 2x, 12 at 0.5x (16 for g=8, which must divide out - in); these
 * reproduce the paper's 38M (0.5x), 292M (1.5x) and 524M (2x) MACs for
 * g=3, a 24-channel stem at 0.5x would give 43M. Maxpool 3x3 s2 p1.
 * Unit: gconv1x1 to out/4 (groups 1 in the first unit of stage 2, whose
 * input is the stem) + BN + ReLU, shuffle, dw3x3 + BN, gconv1x1 + BN;
 * stride 1: relu(x + branch); stride 2: relu(concat(avgpool(x), branch)),
 * the branch giving out - in channels and the avgpool 3x3 s2 p1 with
 * count_include_pad = 1 (PyTorch's nn.AvgPool2d default, used by the
 * reference implementations). Names follow megvii's code (first_conv,
 * stageN.i.branch_main_1 / branch_main_2 / branch_proj). */
static void shufflenet_v1(zb *b, mcl_value x, uint32_t g, double scale, uint32_t classes)
{
    static const uint32_t tab[9][3] = {[1] = {144, 288, 576}, [2] = {200, 400, 800}, [3] = {240, 480, 960},
                                       [4] = {272, 544, 1088}, [8] = {384, 768, 1536}};
    static const uint32_t rep[3] = {4, 8, 4};
    char pre[64];
    const uint32_t stem = scale < 0.75 ? (g == 8 ? 16 : 12) : scale > 1.75 ? 48 : 24;
    x = cba(b, x, "first_conv", 0, stem, 3, 2, 1, MCL_ACT_RELU);
    x = pool(b, "maxpool", x, MCL_POOL_MAX, 3, 2, 1, 0);
    for (int s = 0; s < 3; s++) {
        const uint32_t q = 4 * g, out = (uint32_t)(tab[g][s] * scale + q / 2.0) / q * q;
        for (uint32_t i = 0; i < rep[s]; i++) {
            const uint32_t in = channels(b, x), stride = i ? 1 : 2;
            P("stage%d.%u.branch_main_1", s + 2, i);
            mcl_value y = cba(b, x, pre, 0, out / 4, 1, 1, s == 0 && i == 0 ? 1 : g, MCL_ACT_RELU);
            if (g > 1)
                y = shuffle(b, P("stage%d.%u.shuffle", s + 2, i), y, g);
            y = dw(b, y, P("stage%d.%u.branch_main_1", s + 2, i), 3, 3, stride, MCL_ACT_NONE);
            y = cba(b, y, P("stage%d.%u.branch_main_2", s + 2, i), 0, stride == 2 ? out - in : out, 1, 1, g,
                    MCL_ACT_NONE);
            if (stride == 1) {
                x = add(b, P("stage%d.%u.add", s + 2, i), x, y, MCL_ACT_RELU);
            } else {
                mcl_value p = pool(b, P("stage%d.%u.branch_proj", s + 2, i), x, MCL_POOL_AVG, 3, 2, 1, 1);
                x = cat2(b, P("stage%d.%u.cat", s + 2, i), p, y);
                x = act(b, P("stage%d.%u.relu", s + 2, i), x, MCL_ACT_RELU);
            }
        }
    }
    head(b, x, "fc", classes);
}

/* ---- names and options ------------------------------------------------------
 * alpha: mobilenet_v1 {0.25, 0.5, 0.75, 1}, mobilenet_v2 {0.35, 0.5, 0.75, 1,
 * 1.4}; resolution: mobilenet_v1 {128, 160, 192, 224}, mobilenet_v2 {96,
 * 128, 160, 192, 224} (the resolutions of the published checkpoints; the
 * other networks are 224 only); groups and scale: shufflenet_v1; scale:
 * "shufflenet_v2" (an alias, not in mcl_zoo_names, that picks x0_5..x2_0).
 * A width fixed by the name (shufflenet_v2_xA_B scale, mnasnetA_B alpha)
 * may be repeated in its option. Any other option a network does not use
 * must be 0. batch 1..64, classes 1..100000 (0 = the default 1 / 1000, as
 * for every option); seed 0 = 1. */

enum { NET_MBV1, NET_MBV2, NET_SHV1, NET_SHV2, NET_MNAS };

static const struct {
    const char *name;
    int net;
    float fixed; /* width fixed by the name (shufflenet_v2 scale, mnasnet alpha); 0 = none */
} k_nets[] = {
    {"mobilenet_v1", NET_MBV1, 0},          {"mobilenet_v2", NET_MBV2, 0},
    {"shufflenet_v1", NET_SHV1, 0},         {"shufflenet_v2_x0_5", NET_SHV2, 0.5f},
    {"shufflenet_v2_x1_0", NET_SHV2, 1.0f}, {"shufflenet_v2_x1_5", NET_SHV2, 1.5f},
    {"shufflenet_v2_x2_0", NET_SHV2, 2.0f}, {"mnasnet0_5", NET_MNAS, 0.5f},
    {"mnasnet1_0", NET_MNAS, 1.0f},
    {"shufflenet_v2", NET_SHV2, 0}, /* alias, width from opt->scale; not listed */
};
#define N_NETS (sizeof k_nets / sizeof k_nets[0])

static const char *const k_names[] = {"mobilenet_v1",       "mobilenet_v2",       "shufflenet_v1",
                                      "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5",
                                      "shufflenet_v2_x2_0", "mnasnet0_5",         "mnasnet1_0",
                                      NULL};

const char *const *mcl_zoo_names(void) { return k_names; }

static const double k_v1_alpha[] = {0.25, 0.5, 0.75, 1.0};
static const double k_v2_alpha[] = {0.35, 0.5, 0.75, 1.0, 1.4};
static const double k_scales[] = {0.5, 1.0, 1.5, 2.0};
static const uint32_t k_v1_res[] = {128, 160, 192, 224};
static const uint32_t k_v2_res[] = {96, 128, 160, 192, 224};
static const uint32_t k_groups[] = {1, 2, 3, 4, 8};

/* v in list[n] (floats compared to 1e-5; *out = the list's value), or a
 * failure naming v and the list. */
static mcl_status pick_f(const char *net, const char *what, float v, const double *list, size_t n, double *out)
{
    char set[128] = "";
    for (size_t i = 0; i < n; i++) {
        if (fabs((double)v - list[i]) < 1e-5) {
            *out = list[i];
            return MCL_STATUS_OK;
        }
        size_t l = strlen(set);
        snprintf(set + l, sizeof set - l, "%s%g", i ? ", " : "", list[i]);
    }
    return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "%s: %s %g is not one of {%s}", net, what, (double)v, set);
}

static mcl_status pick_u(const char *net, const char *what, uint32_t v, const uint32_t *list, size_t n)
{
    char set[128] = "";
    for (size_t i = 0; i < n; i++) {
        if (v == list[i])
            return MCL_STATUS_OK;
        size_t l = strlen(set);
        snprintf(set + l, sizeof set - l, "%s%u", i ? ", " : "", list[i]);
    }
    return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "%s: %s %u is not one of {%s}", net, what, v, set);
}

static mcl_status unused_f(const char *net, const char *what, float v)
{
    return v == 0.0f ? MCL_STATUS_OK
                     : mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "%s: option %s (%g) does not apply; leave it 0",
                                net, what, (double)v);
}

static mcl_status unused_u(const char *net, const char *what, uint32_t v)
{
    return v == 0 ? MCL_STATUS_OK
                  : mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "%s: option %s (%u) does not apply; leave it 0", net,
                             what, v);
}

/* A width fixed by the name may be repeated in its option, nothing else. */
static mcl_status fixed_f(const char *net, const char *what, float v, float fixed)
{
    return v == 0.0f || fabsf(v - fixed) < 1e-5f
               ? MCL_STATUS_OK
               : mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "%s: %s %g does not match the name's %g (leave it 0)",
                          net, what, (double)v, (double)fixed);
}

#define N_(a) (sizeof(a) / sizeof((a)[0]))
#define TRY(x)                                                                                                        \
    do {                                                                                                              \
        if ((st = (x)) != MCL_STATUS_OK)                                                                              \
            return st;                                                                                                \
    } while (0)

typedef struct zoo_cfg {
    int net;
    double width; /* alpha or scale */
    uint32_t res, groups, batch, classes;
    uint64_t seed;
} zoo_cfg;

static mcl_status check_options(const char *name, const mcl_zoo_options *o, zoo_cfg *c)
{
    static const mcl_zoo_options defaults;
    if (!o)
        o = &defaults;
    size_t k = 0;
    while (k < N_NETS && strcmp(name, k_nets[k].name) != 0)
        k++;
    if (k == N_NETS) {
        char set[256] = "";
        for (size_t i = 0; i < N_NETS; i++) {
            size_t l = strlen(set);
            snprintf(set + l, sizeof set - l, "%s%s", i ? ", " : "", k_nets[i].name);
        }
        return mcl_fail(NULL, MCL_STATUS_NOT_FOUND, "model zoo: no network '%s' (known: %s)", name, set);
    }
    mcl_status st;
    const float fixed = k_nets[k].fixed;
    c->net = k_nets[k].net;
    c->res = o->resolution ? o->resolution : 224;
    c->groups = o->groups ? o->groups : 3;
    c->batch = o->batch ? o->batch : 1;
    c->classes = o->classes ? o->classes : 1000;
    c->seed = o->seed ? o->seed : 1;
    c->width = 1.0;
    switch (c->net) {
    case NET_MBV1:
    case NET_MBV2:
        if (o->alpha != 0.0f)
            TRY(c->net == NET_MBV1 ? pick_f(name, "alpha", o->alpha, k_v1_alpha, N_(k_v1_alpha), &c->width)
                                   : pick_f(name, "alpha", o->alpha, k_v2_alpha, N_(k_v2_alpha), &c->width));
        TRY(c->net == NET_MBV1 ? pick_u(name, "resolution", c->res, k_v1_res, N_(k_v1_res))
                               : pick_u(name, "resolution", c->res, k_v2_res, N_(k_v2_res)));
        TRY(unused_u(name, "groups", o->groups));
        TRY(unused_f(name, "scale", o->scale));
        break;
    case NET_SHV1:
        TRY(pick_u(name, "groups", c->groups, k_groups, N_(k_groups)));
        if (o->scale != 0.0f)
            TRY(pick_f(name, "scale", o->scale, k_scales, N_(k_scales), &c->width));
        TRY(unused_f(name, "alpha", o->alpha));
        TRY(unused_u(name, "resolution", o->resolution));
        break;
    case NET_SHV2:
        if (fixed != 0.0f) {
            TRY(fixed_f(name, "scale", o->scale, fixed));
            c->width = fixed;
        } else if (o->scale != 0.0f) {
            TRY(pick_f(name, "scale", o->scale, k_scales, N_(k_scales), &c->width));
        }
        TRY(unused_f(name, "alpha", o->alpha));
        TRY(unused_u(name, "resolution", o->resolution));
        TRY(unused_u(name, "groups", o->groups));
        break;
    default: /* NET_MNAS */
        TRY(fixed_f(name, "alpha", o->alpha, fixed));
        c->width = fixed;
        TRY(unused_f(name, "scale", o->scale));
        TRY(unused_u(name, "resolution", o->resolution));
        TRY(unused_u(name, "groups", o->groups));
        break;
    }
    if (c->batch > 64)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "%s: batch %u is not in 1..64", name, c->batch);
    if (c->classes > 100000)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "%s: classes %u is not in 1..100000", name, c->classes);
    return MCL_STATUS_OK;
}

mcl_status mcl_zoo_build(const char *name, const mcl_zoo_options *opt, mcl_graph **g)
{
    mcl_clear_error();
    if (g)
        *g = NULL;
    if (!name || !g)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "model zoo: name or graph pointer is NULL");
    zoo_cfg c = {0};
    mcl_status st = check_options(name, opt, &c);
    if (st != MCL_STATUS_OK)
        return st;
    zb b = {.seed = c.seed};
    if ((st = mcl_graph_create(&b.g)) != MCL_STATUS_OK)
        return st;
    const mcl_shape in = {c.batch, 3, c.res, c.res};
    mcl_value x;
    b.st = mcl_graph_input(b.g, "input", &in, &x);
    if (!b.st) {
        switch (c.net) {
        case NET_MBV1: mobilenet_v1(&b, x, c.width, c.classes); break;
        case NET_MBV2: mobilenet_v2(&b, x, c.width, c.classes); break;
        case NET_SHV1: shufflenet_v1(&b, x, c.groups, c.width, c.classes); break;
        case NET_SHV2: shufflenet_v2(&b, x, (int)(2 * c.width + 0.5) - 1, c.classes); break; /* 0.5..2 -> 0..3 */
        default: mnasnet(&b, x, c.width, c.classes); break;
        }
    }
    free(b.buf);
    if (b.st != MCL_STATUS_OK) {
        char msg[768];
        const char *e = mcl_last_error(), *pfx = mcl_status_string(b.st);
        const size_t lp = strlen(pfx);
        snprintf(msg, sizeof msg, "%s", strncmp(e, pfx, lp) == 0 && e[lp] == ':' ? e + lp + 2 : e);
        mcl_graph_destroy(b.g);
        return mcl_fail(NULL, b.st, "model zoo '%s': %s", name, msg);
    }
    *g = b.g;
    return MCL_STATUS_OK;
}
