/* `mobicl bench`: a latency lookup table for architecture search, measured
 * on the current device (MnasNet's point: search with measured latency, not
 * FLOPs).
 *
 *   mobicl bench --lut [--out FILE.csv]     every candidate block of a
 *       MobileNet V2 / MnasNet-style space: inverted residual (1x1 expand +
 *       BN + ReLU, kxk depthwise + BN + ReLU, 1x1 project + BN, residual add
 *       when the shape allows) with kernel 3 or 5 and expansion 3 or 6 at
 *       every channel/resolution position of the two networks' stages, the
 *       expansion-1 first block, the stem conv and the classifier head.
 *   mobicl bench --predict MODEL [--table FILE.csv]   cuts MODEL into stem,
 *       inverted-residual blocks and head, sums their table entries (an
 *       entry missing from the table is measured now), and prints the sum
 *       next to the network's measured latency, with the error.
 *
 * Each entry is planned on its own (all passes on) and run with profiling:
 * the latency is the median over runs of the summed kernel times on the
 * device ("device ms", additive across blocks); the median wall time of a
 * run + clFinish is recorded too ("wall ms", which includes the launch and
 * synchronisation overhead of every separate measurement). */
#include "cli_util.h"
#include "mobicl_graph.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef enum { K_STEM = 0, K_BLOCK, K_HEAD } part_kind;
static const char *const k_kind_name[] = {"stem", "block", "head"};

/* One table entry: a stem conv (3 -> cout, 3x3 s2), a block, or a head
 * (1x1 cin -> cout, global average pool, FC cout -> classes). */
typedef struct part {
    part_kind kind;
    uint32_t cin, cout, expansion, kernel, stride, res, classes;
    /* measured */
    double dev_ms, wall_ms;
    size_t kernels;
    uint64_t macs;
    int have;
} part;

typedef struct bench_args {
    int lut, predict;
    const char *out, *lut_in, *model, *device;
    uint32_t runs, resolution;
} bench_args;

static void bench_usage(FILE *f)
{
    fprintf(f, "usage: mobicl bench --lut [--out FILE.csv] [options]\n"
               "       mobicl bench --predict MODEL [--table FILE.csv] [options]\n"
               "  --lut                measure every candidate block of a MobileNet V2 / MnasNet search space\n"
               "                       (kernel 3|5, expansion 3|6, the two networks' channel and resolution\n"
               "                       stages, plus the expansion-1 first block, stem and head) and write CSV\n"
               "  --out FILE           CSV destination (default: standard output)\n"
               "  --predict MODEL      a zoo network (mobilenet_v2, mnasnet1_0, mnasnet0_5): sum its blocks'\n"
               "                       table latencies and compare with the measured network latency\n"
               "  --table FILE         with --predict: the table --lut wrote (missing entries are measured)\n"
               "  --runs N             profiled runs per entry, median taken (default 15)\n"
               "  --resolution R       input resolution of the search space (default 224)\n"
               "  --device D           OpenCL device index or name substring\n");
}

static int parse_args(int argc, char **argv, bench_args *a)
{
    memset(a, 0, sizeof *a);
    a->runs = 15;
    a->resolution = 224;
    for (int i = 0; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(f, "-h") || !strcmp(f, "--help")) {
            bench_usage(stdout);
            exit(0);
        } else if (!strcmp(f, "--lut")) {
            a->lut = 1;
        } else if (!strcmp(f, "--predict") && v) {
            a->predict = 1;
            a->model = v;
            i++;
        } else if (!strcmp(f, "--table") && v) {
            a->lut_in = v;
            i++;
        } else if (!strcmp(f, "--out") && v) {
            a->out = v;
            i++;
        } else if (!strcmp(f, "--device") && v) {
            a->device = v;
            i++;
        } else if (!strcmp(f, "--runs") && v) {
            if (!cli_parse_u32("bench", f, v, 1, 10000, &a->runs))
                return 0;
            i++;
        } else if (!strcmp(f, "--resolution") && v) {
            if (!cli_parse_u32("bench", f, v, 32, 1024, &a->resolution))
                return 0;
            if (a->resolution % 32) {
                fprintf(stderr, "mobicl bench: --resolution needs a multiple of 32, got %u\n", a->resolution);
                return 0;
            }
            i++;
        } else {
            fprintf(stderr, "mobicl bench: unknown or incomplete option \"%s\"\n", f);
            bench_usage(stderr);
            return 0;
        }
    }
    if (a->lut == a->predict) {
        fprintf(stderr, "mobicl bench: give exactly one of --lut and --predict MODEL\n");
        bench_usage(stderr);
        return 0;
    }
    if ((a->predict && a->out) || (a->lut && a->lut_in)) {
        fprintf(stderr, "mobicl bench: --out goes with --lut, --table with --predict\n");
        return 0;
    }
    return 1;
}

/* ---- building one entry as a graph --------------------------------------- */

typedef struct gb {
    mcl_graph *g;
    mcl_status st;
    uint64_t seed;
} gb;

static float *rnd(gb *b, size_t n, float a)
{
    float *w = cli_random_floats(n, ++b->seed);
    for (size_t i = 0; w && i < n; i++)
        w[i] *= a;
    if (!w && !b->st)
        b->st = MCL_STATUS_OUT_OF_MEMORY;
    return w;
}

static mcl_value conv(gb *b, mcl_value x, uint32_t cin, uint32_t cout, uint32_t k, uint32_t s, uint32_t groups)
{
    if (b->st)
        return -1;
    mcl_conv2d_desc d = {.in_channels = cin, .out_channels = cout, .groups = groups, .kernel_h = k, .kernel_w = k,
                         .stride_h = s, .stride_w = s, .pad_top = k / 2, .pad_left = k / 2, .pad_bottom = k / 2,
                         .pad_right = k / 2, .dilation_h = 1, .dilation_w = 1};
    const size_t fan = (size_t)(cin / groups) * k * k;
    float *w = rnd(b, fan * cout, sqrtf(3.0f / (float)fan));
    mcl_value y = -1;
    if (w)
        b->st = mcl_graph_conv2d(b->g, NULL, &d, w, NULL, x, -1, &y);
    free(w);
    return b->st ? -1 : y;
}

static mcl_value bn_act(gb *b, mcl_value x, uint32_t c, mcl_activation act)
{
    if (b->st)
        return -1;
    float *p = malloc(4 * (size_t)c * sizeof *p);
    if (!p) {
        b->st = MCL_STATUS_OUT_OF_MEMORY;
        return -1;
    }
    for (uint32_t i = 0; i < c; i++) {
        p[i] = 1.0f + 0.25f * sinf((float)i);   /* gamma */
        p[c + i] = 0.1f * cosf((float)i);       /* beta */
        p[2 * c + i] = 0.0f;                     /* mean */
        p[3 * c + i] = 1.0f;                     /* var */
    }
    mcl_value y = -1;
    b->st = mcl_graph_batchnorm(b->g, NULL, x, p, p + c, p + 2 * c, p + 3 * c, 1e-5f, &y);
    free(p);
    if (!b->st && act != MCL_ACT_NONE)
        b->st = mcl_graph_activation(b->g, NULL, act, y, &y);
    return b->st ? -1 : y;
}

static mcl_status build_part(const part *p, mcl_graph **out)
{
    gb b = {NULL, MCL_STATUS_OK, 0x5eed};
    if ((b.st = mcl_graph_create(&b.g)) != MCL_STATUS_OK)
        return b.st;
    const uint32_t cin = p->kind == K_STEM ? 3 : p->cin;
    mcl_shape s = {1, cin, p->res, p->res};
    mcl_value x = -1, y = -1;
    b.st = mcl_graph_input(b.g, "input", &s, &x);
    if (p->kind == K_STEM) {
        y = bn_act(&b, conv(&b, x, 3, p->cout, 3, 2, 1), p->cout, MCL_ACT_RELU);
    } else if (p->kind == K_BLOCK) {
        const uint32_t mid = p->cin * p->expansion;
        y = p->expansion == 1 ? x : bn_act(&b, conv(&b, x, p->cin, mid, 1, 1, 1), mid, MCL_ACT_RELU);
        y = bn_act(&b, conv(&b, y, mid, mid, p->kernel, p->stride, mid), mid, MCL_ACT_RELU);
        y = bn_act(&b, conv(&b, y, mid, p->cout, 1, 1, 1), p->cout, MCL_ACT_NONE);
        if (!b.st && p->stride == 1 && p->cin == p->cout)
            b.st = mcl_graph_add(b.g, NULL, x, y, MCL_ACT_NONE, &y);
    } else {
        y = bn_act(&b, conv(&b, x, p->cin, p->cout, 1, 1, 1), p->cout, MCL_ACT_RELU);
        mcl_pool2d_desc pd = {.type = MCL_POOL_GLOBAL_AVG};
        if (!b.st)
            b.st = mcl_graph_pool2d(b.g, NULL, &pd, MCL_ACT_NONE, y, &y);
        mcl_fc_desc fd = {.in_features = p->cout, .out_features = p->classes};
        float *w = b.st ? NULL : rnd(&b, (size_t)p->cout * p->classes + p->classes, sqrtf(3.0f / (float)p->cout));
        if (w)
            b.st = mcl_graph_fc(b.g, NULL, &fd, w, w + (size_t)p->cout * p->classes, y, &y);
        free(w);
    }
    if (!b.st)
        b.st = mcl_graph_output(b.g, y);
    if (b.st) {
        mcl_graph_destroy(b.g);
        return b.st;
    }
    *out = b.g;
    return MCL_STATUS_OK;
}

/* ---- measuring ------------------------------------------------------------ */

/* A planned graph being measured: every run's summed kernel time (profiled)
 * and wall time of a run + finish (not profiled). */
typedef struct meas {
    mcl_plan *plan;
    float *x;
    double *dev, *wall;
    uint32_t done;
} meas;

static void meas_close(meas *m)
{
    mcl_plan_destroy(m->plan);
    free(m->x);
    free(m->dev);
    free(m->wall);
    memset(m, 0, sizeof *m);
}

/* Plans g, sets a random input and runs it 3 times to warm up. */
static int meas_open(mcl_context *ctx, const mcl_graph *g, uint32_t runs, meas *m)
{
    mcl_shape is;
    memset(m, 0, sizeof *m);
    if (mcl_graph_value_shape(g, mcl_graph_input_value(g, 0), &is) != MCL_STATUS_OK ||
        mcl_plan_create(ctx, g, NULL, &m->plan) != MCL_STATUS_OK)
        goto fail;
    const size_t n = mcl_shape_count(&is);
    m->dev = malloc(runs * sizeof *m->dev);
    m->wall = malloc(runs * sizeof *m->wall);
    if (!m->dev || !m->wall || !(m->x = cli_random_floats(n, 7)) ||
        mcl_plan_set_input(m->plan, 0, m->x, n) != MCL_STATUS_OK)
        goto fail;
    for (int w = 0; w < 3; w++)
        if (mcl_plan_run(m->plan, 1) != MCL_STATUS_OK || mcl_context_finish(ctx) != MCL_STATUS_OK)
            goto fail;
    return 1;
fail:
    meas_close(m);
    return 0;
}

/* One profiled run and one timed run. */
static int meas_round(mcl_context *ctx, meas *m)
{
    if (mcl_plan_run(m->plan, 1) != MCL_STATUS_OK || mcl_context_finish(ctx) != MCL_STATUS_OK)
        return 0;
    double sum = 0;
    for (size_t i = 0, n = mcl_plan_step_count(m->plan); i < n; i++) {
        mcl_step_info si;
        if (mcl_plan_step(m->plan, i, &si) != MCL_STATUS_OK || si.time_ms < 0)
            return 0;
        sum += si.time_ms;
    }
    double t0 = cli_now_ms();
    if (mcl_plan_run(m->plan, 0) != MCL_STATUS_OK || mcl_context_finish(ctx) != MCL_STATUS_OK)
        return 0;
    m->wall[m->done] = cli_now_ms() - t0;
    m->dev[m->done++] = sum;
    return 1;
}

static int build_checked(const part *p, mcl_graph **g)
{
    if (build_part(p, g) == MCL_STATUS_OK)
        return 1;
    fprintf(stderr, "mobicl bench: cannot build the %s entry: %s\n", k_kind_name[p->kind], mcl_last_error());
    return 0;
}

/* Measures parts p[0..n) and (if g) a whole network, interleaved: `runs`
 * rounds, each running every one of them once, so that the machine's drift
 * hits all alike. Medians go to the parts and to *g_dev / *g_wall. */
static int measure_parts(mcl_context *ctx, part *const *p, size_t n, const mcl_graph *g, uint32_t runs,
                         double *g_dev, double *g_wall, size_t *g_kernels)
{
    meas *m = calloc(n + 1, sizeof *m);
    size_t open = 0, total = n + (g != NULL);
    int ok = m != NULL;
    for (; ok && open < total; open++) {
        mcl_graph *pg = NULL;
        if (open < n && !build_checked(p[open], &pg)) {
            ok = 0;
            break;
        }
        if (pg) {
            uint64_t params;
            mcl_graph_stats(pg, &p[open]->macs, &params);
        }
        ok = meas_open(ctx, pg ? pg : g, runs, &m[open]);
        mcl_graph_destroy(pg);
    }
    for (uint32_t r = 0; ok && r < runs; r++)
        for (size_t i = 0; ok && i < total; i++)
            ok = meas_round(ctx, &m[i]);
    if (!ok)
        fprintf(stderr, "mobicl bench: measuring failed: %s\n", mcl_last_error());
    for (size_t i = 0; ok && i < total; i++) {
        double dev = cli_median(m[i].dev, runs), wall = cli_median(m[i].wall, runs);
        size_t k = mcl_plan_step_count(m[i].plan);
        if (i < n) {
            p[i]->dev_ms = dev;
            p[i]->wall_ms = wall;
            p[i]->kernels = k;
            p[i]->have = 1;
        } else {
            *g_dev = dev;
            *g_wall = wall;
            *g_kernels = k;
        }
    }
    for (size_t i = 0; m && i < open; i++)
        meas_close(&m[i]);
    free(m);
    return ok;
}

/* ---- the search space ------------------------------------------------------ */

typedef struct parts {
    part *v;
    size_t n, cap;
} parts;

static int same_key(const part *a, const part *b)
{
    return a->kind == b->kind && a->cin == b->cin && a->cout == b->cout && a->expansion == b->expansion &&
           a->kernel == b->kernel && a->stride == b->stride && a->res == b->res && a->classes == b->classes;
}

static part *find(parts *ps, const part *key)
{
    for (size_t i = 0; i < ps->n; i++)
        if (same_key(&ps->v[i], key))
            return &ps->v[i];
    return NULL;
}

static part *add_part(parts *ps, const part *p)
{
    part *f = find(ps, p);
    if (f)
        return f;
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? 2 * ps->cap : 64;
        part *v = realloc(ps->v, cap * sizeof *v);
        if (!v)
            return NULL;
        ps->v = v;
        ps->cap = cap;
    }
    ps->v[ps->n] = *p;
    return &ps->v[ps->n++];
}

/* Stages (output channels, repeats, first stride) after the stem (32
 * channels at R/2) and the expansion-1 block to 16 channels. */
static const uint32_t k_mbv2_stages[6][3] = {{24, 2, 2}, {32, 3, 2}, {64, 4, 2}, {96, 3, 1}, {160, 3, 2}, {320, 1, 1}};
static const uint32_t k_mnas_stages[6][3] = {{24, 3, 2}, {40, 3, 2}, {80, 3, 2}, {96, 2, 1}, {192, 4, 2}, {320, 1, 1}};

static int make_space(parts *ps, uint32_t resolution)
{
    part stem = {.kind = K_STEM, .cin = 3, .cout = 32, .expansion = 1, .kernel = 3, .stride = 2, .res = resolution};
    part head = {.kind = K_HEAD, .cin = 320, .cout = 1280, .expansion = 1, .kernel = 1, .stride = 1,
                 .res = resolution / 32, .classes = 1000};
    if (!add_part(ps, &stem) || !add_part(ps, &head))
        return 0;
    for (uint32_t k = 3; k <= 5; k += 2) {
        part first = {.kind = K_BLOCK, .cin = 32, .cout = 16, .expansion = 1, .kernel = k, .stride = 1,
                      .res = resolution / 2};
        if (!add_part(ps, &first))
            return 0;
    }
    const uint32_t(*nets[2])[3] = {k_mbv2_stages, k_mnas_stages};
    for (int net = 0; net < 2; net++) {
        uint32_t cin = 16, res = resolution / 2;
        for (int s = 0; s < 6; s++) {
            const uint32_t cout = nets[net][s][0], reps = nets[net][s][1], stride = nets[net][s][2];
            for (uint32_t rep = 0; rep < (reps > 1 ? 2u : 1u); rep++)
                for (uint32_t k = 3; k <= 5; k += 2)
                    for (uint32_t e = 3; e <= 6; e += 3) {
                        part p = {.kind = K_BLOCK, .cin = rep ? cout : cin, .cout = cout, .expansion = e,
                                  .kernel = k, .stride = rep ? 1 : stride, .res = rep ? res / stride : res};
                        if (!add_part(ps, &p))
                            return 0;
                    }
            cin = cout;
            res /= stride;
        }
    }
    return 1;
}

/* ---- CSV ------------------------------------------------------------------- */

static const char k_csv_header[] =
    "kind,cin,cout,expansion,kernel,stride,resolution,classes,macs,kernels,device_ms,wall_ms";

static void write_row(FILE *f, const part *p)
{
    fprintf(f, "%s,%u,%u,%u,%u,%u,%u,%u,%llu,%zu,%.4f,%.4f\n", k_kind_name[p->kind], p->cin, p->cout, p->expansion,
            p->kernel, p->stride, p->res, p->classes, (unsigned long long)p->macs, p->kernels, p->dev_ms, p->wall_ms);
}

static int read_lut(const char *path, parts *ps)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "mobicl bench: cannot open --table %s\n", path);
        return 0;
    }
    char line[512];
    int ok = fgets(line, sizeof line, f) && !strncmp(line, k_csv_header, strlen(k_csv_header));
    if (!ok)
        fprintf(stderr, "mobicl bench: %s: first line is not the table header \"%s\"\n", path, k_csv_header);
    for (unsigned row = 2; ok && fgets(line, sizeof line, f); row++) {
        char kind[16];
        part p = {0};
        unsigned long long macs = 0;
        if (sscanf(line, "%15[a-z],%u,%u,%u,%u,%u,%u,%u,%llu,%zu,%lf,%lf", kind, &p.cin, &p.cout, &p.expansion,
                   &p.kernel, &p.stride, &p.res, &p.classes, &macs, &p.kernels, &p.dev_ms, &p.wall_ms) != 12 ||
            !(p.dev_ms >= 0) || !(p.wall_ms >= 0)) {
            fprintf(stderr, "mobicl bench: %s line %u: not a table row: %s", path, row, line);
            ok = 0;
            break;
        }
        int k = -1;
        for (int i = 0; i < 3; i++)
            if (!strcmp(kind, k_kind_name[i]))
                k = i;
        if (k < 0) {
            fprintf(stderr, "mobicl bench: %s line %u: unknown kind \"%s\"\n", path, row, kind);
            ok = 0;
            break;
        }
        p.kind = (part_kind)k;
        p.macs = macs;
        p.have = 1;
        ok = add_part(ps, &p) != NULL;
    }
    fclose(f);
    return ok;
}

/* ---- cutting a network into table entries --------------------------------- */

typedef struct cut {
    part key;
    size_t first, last; /* node range */
} cut;

static int node(const mcl_graph *g, size_t i, mcl_node_info *n) { return mcl_graph_node(g, i, n) == MCL_STATUS_OK; }

static int is_dw(const mcl_node_info *n)
{
    return n->kind == MCL_NODE_CONV2D && n->conv.groups > 1 && n->conv.groups == n->conv.in_channels &&
           n->conv.groups == n->conv.out_channels;
}

static int is_pw(const mcl_node_info *n)
{
    return n->kind == MCL_NODE_CONV2D && n->conv.groups == 1 && n->conv.kernel_h == 1 && n->conv.kernel_w == 1 &&
           n->conv.stride_h == 1 && n->conv.stride_w == 1;
}

static int is_bn_act(const mcl_node_info *n) { return n->kind == MCL_NODE_BATCHNORM || n->kind == MCL_NODE_ACTIVATION; }

/* The node producing value v, or SIZE_MAX. */
static size_t producer(const mcl_graph *g, mcl_value v)
{
    mcl_node_info n;
    for (size_t i = 0; node(g, i, &n); i++)
        for (size_t o = 0; o < n.n_out; o++)
            if (n.out[o] == v)
                return i;
    return SIZE_MAX;
}

static uint32_t height(const mcl_graph *g, mcl_value v)
{
    mcl_shape s = {0, 0, 0, 0};
    mcl_graph_value_shape(g, v, &s);
    return s.h;
}

/* Cuts g into stem, inverted-residual blocks and head, in node order. */
static int cut_network(const mcl_graph *g, cut **out, size_t *count)
{
    const size_t nn = mcl_graph_node_count(g);
    cut *c = calloc(nn + 2, sizeof *c);
    size_t nc = 0, next = 0; /* first node not yet covered */
    mcl_node_info n, m;
    if (!c)
        return 0;
    for (size_t i = 0; i < nn; i++) {
        if (!node(g, i, &n) || !is_dw(&n))
            continue;
        /* back through BN/activations to an expanding 1x1 conv, if any */
        size_t first = i, p = producer(g, n.in[0]);
        while (p != SIZE_MAX && node(g, p, &m) && is_bn_act(&m))
            p = producer(g, m.in[0]);
        mcl_value x = n.in[0];
        uint32_t expansion = 1;
        if (p != SIZE_MAX && p >= next && node(g, p, &m) && is_pw(&m) && m.conv.out_channels % m.conv.in_channels == 0 &&
            m.conv.out_channels > m.conv.in_channels) {
            first = p;
            x = m.in[0];
            expansion = m.conv.out_channels / m.conv.in_channels;
        }
        /* forward through BN/activations to the projecting 1x1 conv, its BN, and the residual add */
        size_t last = i, j = i + 1;
        while (j < nn && node(g, j, &m) && is_bn_act(&m))
            last = j++;
        if (j >= nn || !node(g, j, &m) || !is_pw(&m))
            break;
        const uint32_t cout = m.conv.out_channels;
        last = j++;
        while (j < nn && node(g, j, &m) && m.kind == MCL_NODE_BATCHNORM)
            last = j++;
        if (j < nn && node(g, j, &m) && m.kind == MCL_NODE_ADD && (m.in[0] == x || m.in[1] == x))
            last = j;
        mcl_shape xs;
        mcl_graph_value_shape(g, x, &xs);
        if (first > next) { /* everything before the first block is the stem */
            if (nc) {
                fprintf(stderr, "mobicl bench: node %zu lies between two blocks; --predict handles networks of "
                                "a stem, inverted-residual blocks and a head\n", next);
                free(c);
                return 0;
            }
            mcl_node_info s0;
            node(g, 0, &s0);
            if (s0.kind != MCL_NODE_CONV2D) {
                fprintf(stderr, "mobicl bench: the network does not start with a convolution\n");
                free(c);
                return 0;
            }
            c[nc++] = (cut){{.kind = K_STEM, .cin = 3, .cout = s0.conv.out_channels, .expansion = 1, .kernel = 3,
                             .stride = 2, .res = height(g, s0.in[0])},
                            0, first - 1};
        }
        c[nc++] = (cut){{.kind = K_BLOCK, .cin = xs.c, .cout = cout, .expansion = expansion, .kernel = n.conv.kernel_h,
                         .stride = n.conv.stride_h, .res = xs.h},
                        first, last};
        next = last + 1;
        i = last;
    }
    /* the rest: 1x1 conv (+BN+act), global pool, FC */
    size_t j = next;
    part head = {.kind = K_HEAD, .expansion = 1, .kernel = 1, .stride = 1};
    int ok = nc > 0 && j < nn && node(g, j, &m) && is_pw(&m);
    if (ok) {
        head.cin = m.conv.in_channels;
        head.cout = m.conv.out_channels;
        head.res = height(g, m.in[0]);
        for (j++; j < nn && node(g, j, &m) && is_bn_act(&m); j++)
            ;
        ok = j < nn && node(g, j, &m) && m.kind == MCL_NODE_POOL2D && m.pool.type == MCL_POOL_GLOBAL_AVG;
        ok = ok && ++j < nn && node(g, j, &m) && m.kind == MCL_NODE_FC && j + 1 == nn;
        head.classes = ok ? m.fc.out_features : 0;
    }
    if (!ok) {
        fprintf(stderr, "mobicl bench: node %zu does not fit the stem / inverted-residual blocks / head (1x1 conv, "
                        "global pool, FC) pattern that --predict handles\n", j);
        free(c);
        return 0;
    }
    c[nc++] = (cut){head, next, nn - 1};
    *out = c;
    *count = nc;
    return 1;
}

/* ---- the two modes ----------------------------------------------------------- */

static int lut_mode(mcl_context *ctx, const bench_args *a)
{
    parts ps = {0};
    if (!make_space(&ps, a->resolution)) {
        fprintf(stderr, "mobicl bench: out of memory\n");
        free(ps.v);
        return 1;
    }
    FILE *f = a->out ? fopen(a->out, "w") : stdout;
    if (!f) {
        fprintf(stderr, "mobicl bench: cannot write --out %s\n", a->out);
        free(ps.v);
        return 1;
    }
    fprintf(f, "%s\n", k_csv_header);
    int ok = 1;
    double t0 = cli_now_ms();
    for (size_t i = 0; i < ps.n && ok; i += 8) { /* batches of 8, interleaved */
        part *batch[8];
        size_t nb = ps.n - i < 8 ? ps.n - i : 8;
        for (size_t j = 0; j < nb; j++)
            batch[j] = &ps.v[i + j];
        ok = measure_parts(ctx, batch, nb, NULL, a->runs, NULL, NULL, NULL);
        for (size_t j = 0; ok && j < nb; j++)
            write_row(f, batch[j]);
        fflush(f);
        fprintf(stderr, "\r[%zu/%zu] entries measured  ", i + nb, ps.n);
    }
    fprintf(stderr, "\n%zu entries in %.1f s\n", ps.n, (cli_now_ms() - t0) / 1e3);
    if (f != stdout && fclose(f) != 0) {
        fprintf(stderr, "mobicl bench: writing %s failed\n", a->out);
        ok = 0;
    }
    free(ps.v);
    return ok ? 0 : 1;
}

static int predict_mode(mcl_context *ctx, const bench_args *a)
{
    parts ps = {0};
    mcl_graph *g = NULL;
    cut *c = NULL;
    size_t nc = 0;
    int rc = 1;
    if (a->lut_in && !read_lut(a->lut_in, &ps))
        goto out;
    mcl_zoo_options zo = {0};
    if (cli_load_model(a->model, &zo, &g) != MCL_STATUS_OK) {
        fprintf(stderr, "mobicl bench: model \"%s\": %s\n", a->model, mcl_last_error());
        rc = 2;
        goto out;
    }
    if (!cut_network(g, &c, &nc))
        goto out;
    /* table entries for every part; the missing ones are measured now,
     * interleaved with the network itself */
    part **pp = calloc(nc, sizeof *pp), **todo = calloc(nc, sizeof *todo);
    size_t ntodo = 0;
    int ok = pp && todo;
    for (size_t i = 0; ok && i < nc; i++) {
        pp[i] = find(&ps, &c[i].key);
        if (!pp[i])
            todo[ntodo++] = &c[i].key; /* measured into the cut's key, then added */
    }
    double dev = 0, wall = 0;
    size_t kernels = 0;
    ok = ok && measure_parts(ctx, todo, ntodo, g, a->runs, &dev, &wall, &kernels);
    if (ok)
        printf("%-28s %-5s %5s %5s %3s %3s %3s %4s %10s  %s\n", "first node", "kind", "cin", "cout", "e", "k", "s",
               "res", "device ms", "source");
    double sum = 0, sum_wall = 0;
    size_t part_kernels = 0;
    for (size_t i = 0; ok && i < nc; i++) {
        const part *p = pp[i] ? pp[i] : &c[i].key;
        mcl_node_info n;
        node(g, c[i].first, &n);
        printf("%-28.28s %-5s %5u %5u %3u %3u %3u %4u %10.4f  %s\n", n.name, k_kind_name[p->kind], p->cin, p->cout,
               p->expansion, p->kernel, p->stride, p->res, p->dev_ms, pp[i] ? "table" : "measured now");
        sum += p->dev_ms;
        sum_wall += p->wall_ms;
        part_kernels += p->kernels;
    }
    free(pp);
    free(todo);
    if (!ok)
        goto out;
    printf("\n%s: %zu parts (%zu measured now with the network, %zu from the table), %zu kernels in the parts, "
           "%zu in the network\n", a->model, nc, ntodo, nc - ntodo, part_kernels, kernels);
    printf("predicted (sum of parts, device time)  %8.3f ms\n", sum);
    printf("measured network (device time)          %8.3f ms   error %+.1f%%\n", dev, 100.0 * (sum - dev) / dev);
    printf("measured network (wall, run + finish)   %8.3f ms   (sum of the parts' wall times %.3f ms)\n", wall,
           sum_wall);
    rc = 0;
out:
    free(c);
    free(ps.v);
    mcl_graph_destroy(g);
    return rc;
}

int mcl_cli_bench(int argc, char **argv)
{
    bench_args a;
    if (!parse_args(argc, argv, &a))
        return 2;
    mcl_context_options co = {0};
    co.device = a.device;
    co.profiling = 1;
    mcl_context *ctx = NULL;
    if (mcl_context_create(&co, &ctx) != MCL_STATUS_OK) {
        fprintf(stderr, "mobicl bench: cannot create an OpenCL context: %s\n", mcl_last_error());
        return 1;
    }
    int rc = a.lut ? lut_mode(ctx, &a) : predict_mode(ctx, &a);
    mcl_context_destroy(ctx);
    return rc;
}
