/* `mobicl tune`: tune the kernels of one op or of every distinct layer of a
 * zoo network (as `mobicl run` plans it) with mcl_tune_ops, and merge the
 * winners into the device's tuning database. The budget covers the whole
 * command: context, plan, program builds, search and writing. */
#include "mobicl_graph.h"
#include "cli_util.h"
#include "tune.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct tune_args {
    const char *model, *op, *db, *device;
    mcl_zoo_options zoo;
    mcl_shape shape;
    uint32_t out, kernel, stride, pad, groups, runs, seed;
    int act, pool_avg, compare, quiet, has_pad, verbose;
    double budget;
    mcl_tune_mode mode;
} tune_args;

static void tune_usage(FILE *f)
{
    fprintf(f,
            "usage: mobicl tune --model NAME [zoo options] [options]\n"
            "       mobicl tune --op pwconv|dwconv|conv|pool|dwpw --shape NxCxHxW [op options] [options]\n"
            "  --model NAME        every distinct layer of a zoo network, as `mobicl run` plans it\n"
            "  --alpha A, --resolution R, --groups G, --scale S, --batch N   zoo options as in `mobicl run`\n"
            "  --op FAMILY         one op: pwconv (1x1), dwconv (depthwise), conv (direct KxK), pool (max/avg);\n"
            "                      dwpw: a depthwise then a 1x1, planned as `mobicl run` plans them (fused on CPUs)\n"
            "  --shape NxCxHxW     its input shape\n"
            "  --out C             output channels (pwconv, conv, dwpw's 1x1; default C)\n"
            "  --kernel K --stride S --pad P   window (conv, dwconv, dwpw: 3/1/K/2; pool: 3/2/1)\n"
            "  --groups G          conv groups (with --op; default 1)\n"
            "  --type max|avg      pool type (default max)\n"
            "  --act none|relu|relu6   conv activation (default relu)\n"
            "  --budget T          wall-clock budget of the whole command: 60s, 2m, 500ms or seconds (default 60s)\n"
            "  --mode M            rapid | normal | exhaustive (default normal)\n"
            "  --seed N            random sample seed (default 1)\n"
            "  --runs N            timed runs per measurement, median (default 10)\n"
            "  --db FILE           tuning database to merge into (default MOBICL_TUNING_DB, else the per-user path)\n"
            "  --device SEL        device index or name substring\n"
            "  --compare           --model: afterwards, time the network with defaults and with the database\n"
            "                      (interleaved medians; not part of the budget)\n"
            "  --quiet             no progress bar\n"
            "  --verbose           every candidate's time on stderr\n");
}

static int bad(const char *flag, const char *v, const char *want)
{
    fprintf(stderr, "mobicl tune: %s needs %s, got \"%s\"\n", flag, want, v ? v : "");
    return 0;
}

/* 60s, 2m, 500ms, 1h or plain seconds */
static int parse_budget(const char *s, double *out)
{
    char *end = NULL;
    double v = s ? strtod(s, &end) : 0;
    double unit = 0;
    if (s && end && end != s)
        unit = !*end || !strcmp(end, "s") ? 1 : !strcmp(end, "ms") ? 1e-3 : !strcmp(end, "m") ? 60 : !strcmp(end, "h") ? 3600 : 0;
    if (!unit || !(v > 0) || v * unit > 86400)
        return bad("--budget", s, "a duration such as 60s, 2m or 500ms (up to 24h)");
    *out = v * unit;
    return 1;
}

static int parse_shape(const char *s, mcl_shape *out)
{
    unsigned v[4];
    char tail;
    if (!s || sscanf(s, "%ux%ux%ux%u%c", &v[0], &v[1], &v[2], &v[3], &tail) != 4 || !v[0] || !v[1] || !v[2] ||
        !v[3] || v[0] > 64 || v[1] > 65536 || v[2] > 16384 || v[3] > 16384)
        return bad("--shape", s, "NxCxHxW (N <= 64, C <= 65536, H, W <= 16384)");
    *out = (mcl_shape){v[0], v[1], v[2], v[3]};
    return 1;
}

/* v as an index into the NULL-terminated names */
static int pick(const char *flag, const char *v, const char *const *names, int *out)
{
    char want[128] = "one of:";
    for (int i = 0; names[i]; i++) {
        if (v && !strcmp(v, names[i])) {
            *out = i;
            return 1;
        }
        snprintf(want + strlen(want), sizeof want - strlen(want), " %s", names[i]);
    }
    return bad(flag, v, want);
}

static int parse_args(int argc, char **argv, tune_args *a)
{
    static const char *const modes[] = {"normal", "rapid", "exhaustive", NULL};
    static const char *const acts[] = {"none", "relu", "relu6", NULL};
    static const char *const types[] = {"max", "avg", NULL};
    static const char *const ops[] = {"pwconv", "dwconv", "conv", "pool", "dwpw", NULL};
    memset(a, 0, sizeof *a);
    a->budget = 60;
    a->seed = 1;
    a->act = MCL_ACT_RELU;
    uint32_t groups = 0;
    for (int i = 0; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = 1, takes = 1, k = 0;
        if (!strcmp(f, "--model"))
            a->model = v;
        else if (!strcmp(f, "--op")) {
            if ((ok = pick(f, v, ops, &k)))
                a->op = ops[k];
        }
        else if (!strcmp(f, "--shape"))
            ok = parse_shape(v, &a->shape);
        else if (!strcmp(f, "--alpha"))
            ok = cli_parse_float("tune", f, v, &a->zoo.alpha);
        else if (!strcmp(f, "--scale"))
            ok = cli_parse_float("tune", f, v, &a->zoo.scale);
        else if (!strcmp(f, "--resolution"))
            ok = cli_parse_u32("tune", f, v, 1, 4096, &a->zoo.resolution);
        else if (!strcmp(f, "--groups"))
            ok = cli_parse_u32("tune", f, v, 1, 65536, &groups);
        else if (!strcmp(f, "--batch"))
            ok = cli_parse_u32("tune", f, v, 1, 64, &a->zoo.batch);
        else if (!strcmp(f, "--out"))
            ok = cli_parse_u32("tune", f, v, 1, 65536, &a->out);
        else if (!strcmp(f, "--kernel"))
            ok = cli_parse_u32("tune", f, v, 1, 64, &a->kernel);
        else if (!strcmp(f, "--stride"))
            ok = cli_parse_u32("tune", f, v, 1, 64, &a->stride);
        else if (!strcmp(f, "--pad"))
            ok = a->has_pad = cli_parse_u32("tune", f, v, 0, 64, &a->pad);
        else if (!strcmp(f, "--type"))
            ok = pick(f, v, types, &a->pool_avg);
        else if (!strcmp(f, "--act"))
            ok = pick(f, v, acts, &a->act);
        else if (!strcmp(f, "--budget"))
            ok = parse_budget(v, &a->budget);
        else if (!strcmp(f, "--mode")) {
            if ((ok = pick(f, v, modes, &k)))
                a->mode = (mcl_tune_mode)k;
        }
        else if (!strcmp(f, "--seed"))
            ok = cli_parse_u32("tune", f, v, 0, UINT32_MAX, &a->seed);
        else if (!strcmp(f, "--runs"))
            ok = cli_parse_u32("tune", f, v, 1, 64, &a->runs);
        else if (!strcmp(f, "--db"))
            a->db = v;
        else if (!strcmp(f, "--device"))
            a->device = v;
        else {
            takes = 0;
            if (!strcmp(f, "--compare"))
                a->compare = 1;
            else if (!strcmp(f, "--quiet"))
                a->quiet = 1;
            else if (!strcmp(f, "--verbose"))
                a->verbose = 1;
            else if (!strcmp(f, "-h") || !strcmp(f, "--help")) {
                tune_usage(stdout);
                exit(0);
            } else {
                fprintf(stderr, "mobicl tune: unknown argument \"%s\" (see mobicl tune --help)\n", f);
                return 0;
            }
        }
        if (!ok)
            return 0;
        if (takes) {
            if (!v) {
                fprintf(stderr, "mobicl tune: %s needs a value\n", f);
                return 0;
            }
            i++;
        }
    }
    if (!a->model == !a->op) {
        fprintf(stderr, "mobicl tune: give either --model NAME or --op FAMILY --shape NxCxHxW (see --help)\n");
        return 0;
    }
    if (a->op && !a->shape.n) {
        fprintf(stderr, "mobicl tune: --op needs --shape NxCxHxW\n");
        return 0;
    }
    if (a->model)
        a->zoo.groups = groups;
    else
        a->groups = groups ? groups : 1;
    if (a->db && !*a->db) {
        fprintf(stderr, "mobicl tune: --db needs a file name\n");
        return 0;
    }
    return 1;
}

/* ---- progress bar (stderr) ---- */

typedef struct bar {
    int tty, quiet;
    size_t last_key;
} bar;

static void progress(void *user, const mcl_tune_progress *p)
{
    bar *b = user;
    if (b->quiet)
        return;
    if (!b->tty) { /* a log: one line per key */
        if (p->key_index + 1 != b->last_key) {
            fprintf(stderr, "mobicl tune: [%zu/%zu] %.1fs %s\n", p->key_index + 1, p->key_count, p->elapsed_s, p->key);
            b->last_key = p->key_index + 1;
        }
        return;
    }
    double frac = p->budget_s > 0 ? p->elapsed_s / p->budget_s : (double)p->key_index / (p->key_count ? p->key_count : 1);
    int fill = frac < 0 ? 0 : frac > 1 ? 20 : (int)(frac * 20 + 0.5);
    char line[100];
    snprintf(line, sizeof line, "[%.*s%.*s] %zu/%zu %.1fs best %.4f/%.4f ms, %u tried: %s", fill, "####################",
             20 - fill, "....................", p->key_index + 1, p->key_count, p->elapsed_s, p->best_ms, p->default_ms,
             p->tried, p->key);
    fprintf(stderr, "\r%s\033[K", line); /* one terminal line, redrawn */
    fflush(stderr);
}

/* ---- targets ---- */

/* One op of `a` on random data, set up: *op, tensors in t[0..1]. */
static int make_op(mcl_context *ctx, const tune_args *a, mcl_op **op, mcl_tensor *t[2])
{
    const mcl_shape in = a->shape;
    mcl_shape out;
    mcl_status st;
    if (!strcmp(a->op, "pool")) {
        uint32_t k = a->kernel ? a->kernel : 3;
        uint32_t p = a->has_pad ? a->pad : (a->kernel ? k / 2 : 1);
        mcl_pool2d_desc d = {a->pool_avg ? MCL_POOL_AVG : MCL_POOL_MAX, k, k, a->stride ? a->stride : 2,
                             a->stride ? a->stride : 2, p, p, p, p, 0};
        st = mcl_pool2d_create(ctx, &d, op);
    } else {
        int pw = !strcmp(a->op, "pwconv"), dw = !strcmp(a->op, "dwconv");
        uint32_t k = pw ? 1 : a->kernel ? a->kernel : 3, s = pw ? 1 : a->stride ? a->stride : 1;
        uint32_t p = pw ? 0 : a->has_pad ? a->pad : k / 2;
        if (pw && (a->kernel > 1 || a->stride > 1 || a->pad)) {
            fprintf(stderr, "mobicl tune: pwconv is 1x1, stride 1, no padding\n");
            return 2;
        }
        mcl_conv2d_desc d = {.in_channels = in.c, .out_channels = dw ? in.c : a->out ? a->out : in.c,
                             .groups = dw ? in.c : a->groups, .kernel_h = k, .kernel_w = k, .stride_h = s,
                             .stride_w = s, .pad_top = p, .pad_left = p, .pad_bottom = p, .pad_right = p,
                             .activation = (mcl_activation)a->act,
                             .variant = pw ? MCL_CONV_POINTWISE : dw ? MCL_CONV_DEPTHWISE : MCL_CONV_DIRECT};
        if (mcl_conv2d_validate(&d, &in, &out) != MCL_STATUS_OK) {
            fprintf(stderr, "mobicl tune: %s\n", mcl_last_error());
            return 2;
        }
        size_t nw = (size_t)d.out_channels * (d.in_channels / d.groups) * k * k;
        float *w = cli_random_floats(nw, 7), *b = cli_random_floats(d.out_channels, 8);
        st = w && b ? mcl_conv2d_create(ctx, &d, w, b, op) : MCL_STATUS_OUT_OF_MEMORY;
        free(w);
        free(b);
    }
    float *x = NULL;
    if (st == MCL_STATUS_OK)
        st = mcl_op_reshape(*op, 1, &in, &out);
    if (st == MCL_STATUS_OK && (st = mcl_tensor_create(ctx, &in, MCL_LAYOUT_BLOCKED, &t[0])) == MCL_STATUS_OK &&
        (st = mcl_tensor_create(ctx, &out, MCL_LAYOUT_BLOCKED, &t[1])) == MCL_STATUS_OK) {
        size_t n = mcl_shape_count(&in);
        x = cli_random_floats(n, 9);
        st = x ? mcl_tensor_write(t[0], x, n) : MCL_STATUS_OUT_OF_MEMORY;
    }
    free(x);
    if (st == MCL_STATUS_OK)
        st = mcl_op_setup(*op, 1, &t[0], t[1]);
    if (st != MCL_STATUS_OK) {
        fprintf(stderr, "mobicl tune: %s %ux%ux%ux%u: %s\n", a->op, in.n, in.c, in.h, in.w, mcl_last_error());
        return st == MCL_STATUS_INVALID_ARGUMENT || st == MCL_STATUS_UNSUPPORTED ? 2 : 1;
    }
    return 0;
}

/* --op dwpw: a graph of a depthwise and a 1x1 (random weights), to be
 * planned like a network's pair (the planner fuses them on CPUs). */
static int make_dwpw_graph(const tune_args *a, mcl_graph **g)
{
    const mcl_shape in = a->shape;
    uint32_t k = a->kernel ? a->kernel : 3, s = a->stride ? a->stride : 1, p = a->has_pad ? a->pad : k / 2;
    mcl_conv2d_desc dw = {.in_channels = in.c, .out_channels = in.c, .groups = in.c, .kernel_h = k, .kernel_w = k,
                          .stride_h = s, .stride_w = s, .pad_top = p, .pad_left = p, .pad_bottom = p, .pad_right = p,
                          .activation = (mcl_activation)a->act};
    mcl_conv2d_desc pw = {.in_channels = in.c, .out_channels = a->out ? a->out : in.c, .groups = 1, .kernel_h = 1,
                          .kernel_w = 1, .stride_h = 1, .stride_w = 1, .activation = (mcl_activation)a->act};
    if (a->groups > 1) {
        fprintf(stderr, "mobicl tune: dwpw: --groups does not apply\n");
        return 2;
    }
    float *w1 = cli_random_floats((size_t)in.c * k * k, 7), *b1 = cli_random_floats(in.c, 8);
    float *w2 = cli_random_floats((size_t)in.c * pw.out_channels, 10), *b2 = cli_random_floats(pw.out_channels, 11);
    mcl_value x, y, z;
    mcl_status st = !w1 || !b1 || !w2 || !b2 ? MCL_STATUS_OUT_OF_MEMORY : mcl_graph_create(g);
    if (st == MCL_STATUS_OK && (st = mcl_graph_input(*g, "x", &in, &x)) == MCL_STATUS_OK &&
        (st = mcl_graph_conv2d(*g, "dw", &dw, w1, b1, x, -1, &y)) == MCL_STATUS_OK &&
        (st = mcl_graph_conv2d(*g, "pw", &pw, w2, b2, y, -1, &z)) == MCL_STATUS_OK)
        st = mcl_graph_output(*g, z);
    free(w1);
    free(b1);
    free(w2);
    free(b2);
    if (st != MCL_STATUS_OK) {
        fprintf(stderr, "mobicl tune: dwpw %ux%ux%ux%u: %s\n", in.n, in.c, in.h, in.w, mcl_last_error());
        return st == MCL_STATUS_INVALID_ARGUMENT || st == MCL_STATUS_UNSUPPORTED ? 2 : 1;
    }
    return 0;
}

/* A planned network with a random input, run once. */
static int make_plan(mcl_context *ctx, const mcl_graph *g, mcl_plan **plan)
{
    mcl_plan_options po = {0};
    mcl_shape s;
    mcl_graph_value_shape(g, mcl_graph_input_value(g, 0), &s);
    size_t n = mcl_shape_count(&s);
    float *x = cli_random_floats(n, 12345);
    mcl_status st = !x ? MCL_STATUS_OUT_OF_MEMORY : mcl_plan_create(ctx, g, &po, plan);
    if (st == MCL_STATUS_OK && (st = mcl_plan_set_input(*plan, 0, x, n)) == MCL_STATUS_OK &&
        (st = mcl_plan_run(*plan, 0)) == MCL_STATUS_OK)
        st = mcl_context_finish(ctx);
    free(x);
    if (st != MCL_STATUS_OK)
        fprintf(stderr, "mobicl tune: cannot plan the network: %s\n", mcl_last_error());
    return st == MCL_STATUS_OK;
}

static void log_stderr(void *user, mcl_log_level level, const char *msg)
{
    (void)user;
    if (level <= MCL_LOG_WARN || strncmp(msg, "tuner:", 6) == 0) /* --verbose: candidates, not every build */
        fprintf(stderr, "mobicl tune: %s%s\n", level == MCL_LOG_WARN ? "warning: " : "", msg);
}

/* --compare: the network with defaults (plan 0) and with the database
 * (plan 1), interleaved: 15 rounds of 10 timed runs each, medians of the
 * wall-clock latency and of the summed kernel times. */
static int compare(const tune_args *a, const mcl_graph *g, const char *db)
{
    mcl_context *ctx[2] = {NULL, NULL};
    mcl_plan *plan[2] = {NULL, NULL};
    enum { ROUNDS = 15, RUNS = 10 };
    static double lat[2][ROUNDS * RUNS], kern[2][ROUNDS];
    int rc = 1;
    size_t from_db = 0, tunable = 0;
    for (int v = 0; v < 2; v++) {
        mcl_context_options co = {.device = a->device, .profiling = 1, .tuning_db = v ? db : "",
                                  .log = log_stderr, .log_level = MCL_LOG_WARN};
        if (mcl_context_create(&co, &ctx[v]) != MCL_STATUS_OK || !make_plan(ctx[v], g, &plan[v])) {
            fprintf(stderr, "mobicl tune: --compare: %s\n", mcl_last_error());
            goto out;
        }
    }
    for (size_t i = 0; i < mcl_plan_step_count(plan[1]); i++) {
        const char *src = mcl_op_tunables_source(mcl_plan_step_op(plan[1], i));
        tunable += *src != 0;
        from_db += !strncmp(src, "db", 2);
    }
    for (int r = 0; r < ROUNDS; r++)
        for (int v = 0; v < 2; v++) {
            for (int i = 0; i < 3; i++) /* warm-up */
                mcl_plan_run(plan[v], 0);
            mcl_context_finish(ctx[v]);
            for (int i = 0; i < RUNS; i++) {
                double t = (cli_now_ms() / 1e3);
                if (mcl_plan_run(plan[v], 0) != MCL_STATUS_OK || mcl_context_finish(ctx[v]) != MCL_STATUS_OK) {
                    fprintf(stderr, "mobicl tune: --compare: %s\n", mcl_last_error());
                    goto out;
                }
                lat[v][r * RUNS + i] = ((cli_now_ms() / 1e3) - t) * 1e3;
            }
            mcl_plan_run(plan[v], 1);
            mcl_context_finish(ctx[v]);
            kern[v][r] = 0;
            for (size_t i = 0; i < mcl_plan_step_count(plan[v]); i++) {
                mcl_step_info s;
                if (mcl_plan_step(plan[v], i, &s) == MCL_STATUS_OK && s.time_ms > 0)
                    kern[v][r] += s.time_ms;
            }
        }
    double l0 = cli_median(lat[0], ROUNDS * RUNS), l1 = cli_median(lat[1], ROUNDS * RUNS);
    double k0 = cli_median(kern[0], ROUNDS), k1 = cli_median(kern[1], ROUNDS);
    printf("\ncompare      %zu of %zu tunable layers take their parameters from the database\n", from_db, tunable);
    printf("             latency median %.3f ms with defaults, %.3f ms with the database (%.2fx), %d x %d runs each\n",
           l0, l1, l1 > 0 ? l0 / l1 : 0, ROUNDS, RUNS);
    printf("             kernel time median %.3f ms with defaults, %.3f ms with the database (%.2fx)\n", k0, k1,
           k1 > 0 ? k0 / k1 : 0);
    rc = 0;
out:
    for (int v = 0; v < 2; v++) {
        mcl_plan_destroy(plan[v]);
        mcl_context_destroy(ctx[v]);
    }
    return rc;
}

int mcl_cli_tune(int argc, char **argv)
{
    const double t0 = (cli_now_ms() / 1e3);
    tune_args a;
    if (!parse_args(argc, argv, &a))
        return 2;
    int rc = 1;
    mcl_graph *g = NULL;
    mcl_context *ctx = NULL;
    mcl_plan *plan = NULL;
    mcl_op *op = NULL, **ops = NULL;
    mcl_tensor *t[2] = {NULL, NULL};
    mcl_tune_result *res = NULL;
    size_t n_ops = 0, n_res = 0;
    if (a.model && cli_load_model(a.model, &a.zoo, &g) != MCL_STATUS_OK) {
        fprintf(stderr, "mobicl tune: model \"%s\": %s\n", a.model, mcl_last_error());
        return 2;
    }
    const int pair = a.op && !strcmp(a.op, "dwpw"); /* tuned as a planned graph */
    if (pair && (rc = make_dwpw_graph(&a, &g)) != 0) {
        mcl_graph_destroy(g);
        return rc;
    }
    /* the database to merge into: checked (device, writable) before the
     * budget is spent; the tuning context loads it so that its entries are
     * the first candidates (the baseline stays the heuristic defaults) */
    char path[1024];
    const char *env = getenv("MOBICL_TUNING_DB");
    mcl_context_options co = {.device = a.device, .profiling = 1, .tuning_db = "", .log = log_stderr,
                              .log_level = a.verbose ? MCL_LOG_DEBUG : MCL_LOG_WARN};
    for (int pass = 0; pass < 2; pass++) {
        if (mcl_context_create(&co, &ctx) != MCL_STATUS_OK) {
            fprintf(stderr, "mobicl tune: cannot create an OpenCL context: %s\n", mcl_last_error());
            goto out;
        }
        if (pass)
            break;
        if (a.db || (env && *env))
            snprintf(path, sizeof path, "%s", a.db ? a.db : env);
        else if (mcl_tunedb_default_path(ctx, path, sizeof path) != MCL_STATUS_OK) {
            fprintf(stderr, "mobicl tune: no --db given and %s\n", mcl_last_error());
            goto out;
        }
        if (mcl_tunedb_save(ctx, path, NULL, 0, NULL) != MCL_STATUS_OK) {
            fprintf(stderr, "mobicl tune: %s\n", mcl_last_error());
            goto out;
        }
        mcl_context_destroy(ctx);
        ctx = NULL;
        co.tuning_db = path;
    }
    if (a.op && !pair) {
        if ((rc = make_op(ctx, &a, &op, t)) != 0)
            goto out;
        rc = 1;
        ops = &op;
        n_ops = 1;
    } else {
        if (!make_plan(ctx, g, &plan))
            goto out;
        n_ops = mcl_plan_step_count(plan);
        if (!(ops = calloc(n_ops ? n_ops : 1, sizeof *ops))) {
            fprintf(stderr, "mobicl tune: out of memory\n");
            goto out;
        }
        for (size_t i = 0; i < n_ops; i++)
            if (!(ops[i] = mcl_plan_step_op(plan, i))) {
                fprintf(stderr, "mobicl tune: step %zu of the plan: %s\n", i, mcl_last_error());
                goto out;
            }
    }
    /* what is left of the budget, less a reserve for writing and tearing down */
    double reserve = a.budget * 0.03 < 1.0 ? a.budget * 0.03 : 1.0;
    double left = a.budget - ((cli_now_ms() / 1e3) - t0) - reserve;
    bar b = {isatty(2), a.quiet, 0};
    mcl_tune_options to = {.mode = a.mode, .budget_s = left > 0.01 ? left : 0.01, .seed = a.seed, .runs = a.runs,
                           .progress = progress, .progress_user = &b};
    mcl_status st = mcl_tune_ops(ctx, ops, n_ops, &to, &res, &n_res);
    if (b.tty && !b.quiet)
        fprintf(stderr, "\r\033[K");
    if (st != MCL_STATUS_OK) {
        fprintf(stderr, "mobicl tune: %s\n", mcl_last_error());
        goto out;
    }
    size_t total = 0;
    if (mcl_tunedb_save(ctx, path, res, n_res, &total) != MCL_STATUS_OK) {
        fprintf(stderr, "mobicl tune: %s\n", mcl_last_error());
        goto out;
    }
    const double took = (cli_now_ms() / 1e3) - t0;
    /* summary */
    printf("%-78s %4s %10s %10s %8s %6s %6s %4s %5s %5s\n", "op key", "ops", "default ms", "best ms", "speed-up",
           "tile_w", "tile_c", "wg", "split", "tried");
    double sum_def = 0, sum_best = 0;
    size_t improved = 0;
    for (size_t i = 0; i < n_res; i++) {
        const mcl_tune_result *r = &res[i];
        char split[12] = "-";
        if (r->best.split)
            snprintf(split, sizeof split, "%u", r->best.split);
        printf("%-78s %4u %10.4f %10.4f %7.2fx %6u %6u %4u %5s %5u%s\n", r->key, r->ops, r->default_ms, r->best_ms,
               r->best_ms > 0 ? r->default_ms / r->best_ms : 1.0, r->best.tile_w, r->best.tile_c, r->best.wg, split,
               r->tried, r->rejected ? " (some rejected: wrong output)" : "");
        sum_def += r->default_ms * r->ops;
        sum_best += r->best_ms * r->ops;
        improved += r->improved;
    }
    const mcl_device_info *di = mcl_context_device_info(ctx);
    printf("\n%zu distinct ops (%zu improved) on %s; tuned kernel time %.3f ms -> %.3f ms (%.2fx, sum over ops)\n",
           n_res, improved, di->name, sum_def, sum_best, sum_best > 0 ? sum_def / sum_best : 1.0);
    printf("took %.1f s (budget %.1f s, %s mode, seed %u); database %s: %zu entries\n", took, a.budget,
           a.mode == MCL_TUNE_RAPID ? "rapid" : a.mode == MCL_TUNE_EXHAUSTIVE ? "exhaustive" : "normal", a.seed, path,
           total);
    fflush(stdout);
    rc = 0;
    if (a.compare && g) {
        mcl_plan_destroy(plan);
        plan = NULL;
        mcl_context_destroy(ctx);
        ctx = NULL;
        rc = compare(&a, g, path);
    }
out:
    free(res);
    if (ops != &op)
        free(ops);
    mcl_op_destroy(op);
    mcl_tensor_destroy(t[0]);
    mcl_tensor_destroy(t[1]);
    mcl_plan_destroy(plan);
    mcl_context_destroy(ctx);
    mcl_graph_destroy(g);
    return rc;
}
