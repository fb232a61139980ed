/* OpenCL fault injection over whole runs (issue 7, part 4).
 *
 * tests/ref/faultinj.c wraps every entry of the library's OpenCL function
 * table: it numbers the calls, makes call N fail with an error that
 * function really returns, and tracks every OpenCL object handed out
 * (contexts, queues, programs, kernels, buffers, events).
 *
 * Scenario A, the `mobicl run` sequence (tools/run.c): context (with an
 * on-disk program cache) -> plan of a zoo network -> set input -> run ->
 * get output -> run + finish -> plan and context destroyed. A clean
 * counting pass gives the number of OpenCL calls T; then for N in 1..T
 * (every MOBICL_FAULT_STRIDE-th, plus the first call of every function)
 * call N fails and:
 *   - some step returns a non-OK status with a non-empty mcl_last_error(),
 *     or every step is OK (the failed call's result is legitimately
 *     ignored: a release, a build-log or device-info query, a binary-cache
 *     load that falls back to source...) and the output still matches the
 *     reference executor — a failure is never silently wrong;
 *   - if the context was created, the same context (injection off) plans
 *     and runs the network again and matches the reference: it is usable;
 *   - after the destroy calls no OpenCL object is live and nothing was
 *     released twice.
 * At the end a fresh context in the same process still matches.
 *
 * Scenario B: the same over a tuner run (mcl_tune_ops, exhaustive, on a
 * pool op): after a failure the op keeps its tunables and computes the
 * reference.
 *
 * Plus: a cached program binary that the driver refuses, or that loads but
 * fails to build, is rebuilt from source and the cache entry replaced.
 *
 * Environment: MOBICL_FAULT_STRIDE (default 8 for A, 4 for B; 1 = every
 * point), MOBICL_FAULT_NET (default shufflenet_v2_x0_5; the documented full
 * sweep uses shufflenet_v2_x1_0). A summary per function goes to stderr. */
#define _GNU_SOURCE 1
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "faultinj.h"
#include "mobicl.h"
#include "mobicl_graph.h"
#include "ref.h"
#include "ref_graph.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static long env_long(const char *name, long def)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return def;
    char *end = NULL;
    long x = strtol(v, &end, 10);
    cr_assert(end && *end == 0 && x > 0, "%s=%s is not a positive integer", name, v);
    return x;
}

static char *make_tmpdir(const char *tag)
{
    char *d = malloc(256);
    cr_assert(d != NULL);
    snprintf(d, 256, "/tmp/mobicl-%s-XXXXXX", tag);
    cr_assert(mkdtemp(d) != NULL, "mkdtemp %s failed", d);
    return d;
}

static void rm_tree(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect(system(cmd) == 0, "cannot remove %s", dir);
}

/* The tracker's verdict after everything was destroyed. */
static void assert_all_released(const char *when)
{
    char live[256];
    fi_describe_live(live, sizeof live);
    cr_assert(fi_live_total() == 0, "%s: OpenCL objects left alive: %s", when, live);
    cr_assert(fi_bad_releases() == 0, "%s: %ld release(s) of objects that were not alive", when,
              fi_bad_releases());
}

/* ---- per-function summary ---- */

typedef struct fn_stat {
    char name[40];
    long points, errors, ignored;
} fn_stat;
typedef struct summary {
    fn_stat f[48];
    size_t n;
    long points, reused, unfired;
} summary;

static fn_stat *stat_of(summary *s, const char *fn)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->f[i].name, fn))
            return &s->f[i];
    cr_assert(s->n < sizeof s->f / sizeof s->f[0]);
    fn_stat *f = &s->f[s->n++];
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", fn);
    return f;
}

static void print_summary(const char *title, const summary *s, long T, double secs)
{
    fprintf(stderr,
            "%s: T = %ld OpenCL calls per clean run, %ld points injected in %.1f s (%ld not reached: the run made "
            "fewer calls), context reused %ld times\n",
            title, T, s->points, secs, s->unfired, s->reused);
    for (size_t i = 0; i < s->n; i++)
        fprintf(stderr, "  %-28s points %5ld  error status %5ld  ignored (OK, output checked) %5ld\n", s->f[i].name,
                s->f[i].points, s->f[i].errors, s->f[i].ignored);
}

/* The points of a sweep: every stride-th call, the last one, and the first
 * call of every function (so that a stride never skips a function). */
static unsigned char *pick_points(long T, long stride)
{
    unsigned char *pick = calloc((size_t)T + 1, 1);
    cr_assert(pick != NULL);
    for (long n = 1; n <= T; n += stride)
        pick[n] = 1;
    pick[T] = 1;
    const char *seen[64];
    size_t ns = 0;
    for (long n = 1; n <= T; n++) {
        const char *fn = fi_trace_fn(n);
        size_t k = 0;
        while (k < ns && strcmp(seen[k], fn))
            k++;
        if (k == ns && ns < 64) {
            seen[ns++] = fn;
            pick[n] = 1;
        }
    }
    return pick;
}

/* ---- scenario A: a network, the mobicl run sequence ---- */

typedef struct net {
    const char *name;
    mcl_graph *g;
    float *x, *want, *got;
    size_t nx, ny;
    double tol;
    const char *cache_dir;
} net;

static void net_load(net *n)
{
    const char *name = getenv("MOBICL_FAULT_NET");
    n->name = name && *name ? name : "shufflenet_v2_x0_5";
    mcl_status st = mcl_zoo_build(n->name, NULL, &n->g);
    cr_assert(st == MCL_STATUS_OK, "zoo build %s: %s", n->name, mcl_last_error());
    n->nx = ref_graph_value_count(n->g, mcl_graph_input_value(n->g, 0));
    n->ny = ref_graph_value_count(n->g, mcl_graph_output_value(n->g, 0));
    n->x = malloc(n->nx * sizeof *n->x);
    n->got = malloc(n->ny * sizeof *n->got);
    cr_assert(n->x && n->got);
    ref_graph_fill_input(n->x, n->nx, 7);
    const float *in[1] = {n->x};
    float *out[1] = {NULL};
    cr_assert(ref_graph_run(n->g, in, out) == 0, "reference executor: %s", ref_graph_error());
    n->want = out[0];
    double mx = 0;
    for (size_t i = 0; i < n->ny; i++)
        mx = fmax(mx, fabs(n->want[i]));
    n->tol = 1e-4 * (mx > 1 ? mx : 1); /* as test_plan.c: 1e-4 of the largest logit */
}

static void net_free(net *n)
{
    mcl_graph_destroy(n->g);
    free(n->x);
    free(n->want);
    free(n->got);
}

/* 1 if got matches the reference (the first mismatch in why otherwise). */
static int net_matches(const net *n, char *why, size_t wn)
{
    for (size_t i = 0; i < n->ny; i++)
        if (!(fabs((double)n->got[i] - n->want[i]) <= n->tol)) {
            snprintf(why, wn, "output %zu: got %g, reference %g (tolerance %g)", i, n->got[i], n->want[i], n->tol);
            return 0;
        }
    return 1;
}

/* plan -> set input -> run -> get output -> run + finish; the plan is
 * destroyed. Returns the first non-OK status and names the step. */
static mcl_status plan_and_run(const net *n, mcl_context *ctx, const char **step)
{
    mcl_plan *plan = NULL;
    mcl_status st;
#define STEP(name, call)                   \
    *step = name;                          \
    if ((st = (call)) != MCL_STATUS_OK)    \
        goto done;
    STEP("mcl_plan_create", mcl_plan_create(ctx, n->g, NULL, &plan));
    STEP("mcl_plan_set_input", mcl_plan_set_input(plan, 0, n->x, n->nx));
    STEP("mcl_plan_run", mcl_plan_run(plan, 0));
    STEP("mcl_plan_get_output", mcl_plan_get_output(plan, 0, n->got, n->ny));
    STEP("mcl_plan_run (profiled)", mcl_plan_run(plan, 1)); /* as mobicl run --profile: events */
    STEP("mcl_context_finish", mcl_context_finish(ctx));
    mcl_step_info si;
    STEP("mcl_plan_step", mcl_plan_step(plan, 0, &si));
#undef STEP
done:
    mcl_plan_destroy(plan);
    return st;
}

/* One whole run with call `arm` failing (0: none). */
static void run_a(net *n, long arm, summary *sum)
{
    ref_fill_nan(n->got, n->ny);
    fi_reset();
    fi_arm(arm);
    mcl_context_options o = {.cache_dir = n->cache_dir, .profiling = 1};
    mcl_context *ctx = NULL;
    const char *step = "mcl_context_create";
    mcl_status st = mcl_context_create(&o, &ctx);
    if (st == MCL_STATUS_OK)
        st = plan_and_run(n, ctx, &step);
    char msg[1100];
    snprintf(msg, sizeof msg, "%s", mcl_last_error());
    int fired = fi_fired();
    char fn[40];
    snprintf(fn, sizeof fn, "%s", arm ? fi_fired_fn() : "");
    char why[200] = "";
    fi_pause(1); /* the checks below are not part of the sweep */
    if (!arm) {
        cr_assert(st == MCL_STATUS_OK, "clean run of %s: %s failed: %s", n->name, step, msg);
        cr_assert(net_matches(n, why, sizeof why), "clean run of %s: %s", n->name, why);
    } else if (fired && st != MCL_STATUS_OK) {
        cr_assert(strlen(msg) > 0, "call %ld (%s) failing: %s returned %s with no message", arm, fn, step,
                  mcl_status_string(st));
        stat_of(sum, fn)->errors++;
    } else if (fired) {
        cr_assert(net_matches(n, why, sizeof why),
                  "call %ld (%s) failing was ignored (every step OK) but the output is wrong: %s", arm, fn, why);
        stat_of(sum, fn)->ignored++;
    }
    if (arm && fired)
        stat_of(sum, fn)->points++;
    /* the same context, injection off: still usable */
    if (arm && ctx) {
        ref_fill_nan(n->got, n->ny);
        const char *step2 = "";
        mcl_status st2 = plan_and_run(n, ctx, &step2);
        cr_assert(st2 == MCL_STATUS_OK, "after call %ld (%s) failed in %s, the same context cannot run: %s: %s", arm,
                  fn, step, step2, mcl_last_error());
        cr_assert(net_matches(n, why, sizeof why), "after call %ld (%s) failed in %s, the same context computes: %s",
                  arm, fn, step, why);
        sum->reused++;
    }
    fi_pause(0);
    mcl_context_destroy(ctx); /* a point here: legitimately ignored (a destructor) */
    if (arm && !fired && fi_fired()) {
        snprintf(fn, sizeof fn, "%s", fi_fired_fn());
        step = "mcl_context_destroy";
        stat_of(sum, fn)->points++;
        stat_of(sum, fn)->ignored++;
    }
    sum->unfired += arm && !fi_fired();
    char when[160];
    snprintf(when, sizeof when, "%s, call %ld (%s) failing in %s", n->name, arm, arm ? fn : "none", step);
    assert_all_released(when);
}

/* Bundles (host/program.c): a plan builds its kernel variants as one
 * program; when that build fails, a warning is logged and the variants are
 * built one by one, and the network still computes the reference. */
static char g_warn[2048];
static void warn_log(void *user, mcl_log_level level, const char *msg)
{
    (void)user;
    if (level == MCL_LOG_WARN && !g_warn[0])
        snprintf(g_warn, sizeof g_warn, "%s", msg);
}

Test(faults_run, bundle_build_failure_builds_variants_one_by_one, .timeout = 600)
{
    cr_assert(fi_install() == 0);
    static net n;
    net_load(&n);
    char why[200] = "";
    const char *step = "";
    /* a clean plan: one program, built by the first clBuildProgram */
    fi_reset();
    fi_trace(1);
    mcl_context_options o = {.tuning_db = ""};
    mcl_context *ctx = NULL;
    cr_assert(mcl_context_create(&o, &ctx) == MCL_STATUS_OK, "%s", mcl_last_error());
    cr_assert(plan_and_run(&n, ctx, &step) == MCL_STATUS_OK, "%s: %s", step, mcl_last_error());
    fi_trace(0);
    mcl_cache_stats cs;
    mcl_context_cache_stats(ctx, &cs);
    cr_assert(cs.programs_built == 1, "%s: %u programs built, want 1 bundle", n.name, cs.programs_built);
    cr_assert(net_matches(&n, why, sizeof why), "bundled plan: %s", why);
    mcl_context_destroy(ctx);
    long first = 0;
    for (long k = 1; k <= fi_calls() && !first; k++)
        if (!strcmp(fi_trace_fn(k), "clBuildProgram"))
            first = k;
    cr_assert(first > 0, "no clBuildProgram call");
    /* that build fails: the variants are built one by one */
    fi_reset();
    fi_arm(first);
    g_warn[0] = 0;
    o.log = warn_log;
    o.log_level = MCL_LOG_WARN;
    ctx = NULL;
    cr_assert(mcl_context_create(&o, &ctx) == MCL_STATUS_OK, "%s", mcl_last_error());
    ref_fill_nan(n.got, n.ny);
    cr_assert(plan_and_run(&n, ctx, &step) == MCL_STATUS_OK, "%s after the bundle failed: %s", step, mcl_last_error());
    cr_assert(fi_fired(), "call %ld did not fail", first);
    mcl_context_cache_stats(ctx, &cs);
    cr_assert(cs.programs_built > 1, "%u programs built after the bundle failed", cs.programs_built);
    cr_assert(strstr(g_warn, "one by one") != NULL, "no warning about the failed bundle (first warning: \"%s\")", g_warn);
    cr_assert(net_matches(&n, why, sizeof why), "variants built one by one: %s", why);
    mcl_context_destroy(ctx);
    assert_all_released("bundle fallback");
    fi_uninstall();
}

Test(faults_run, network_every_call, .timeout = 3600)
{
    cr_assert(fi_install() == 0, "fault injector: no OpenCL or a table entry without a wrapper");
    static net n;
    net_load(&n);
    char *dir = make_tmpdir("faults");
    n.cache_dir = dir;
    summary *sum = calloc(1, sizeof *sum);
    cr_assert(sum != NULL);
    run_a(&n, 0, sum); /* warms the on-disk cache */
    fi_trace(1);
    run_a(&n, 0, sum); /* counting pass, from the cache */
    fi_trace(0);
    long T = fi_calls();
    cr_assert(T > 100, "only %ld OpenCL calls: is the injector installed?", T);
    cr_assert(fi_created(FI_MEM) > 0 && fi_created(FI_KERNEL) > 0 && fi_created(FI_PROGRAM) > 0 &&
                  fi_created(FI_EVENT) > 0,
              "the counting pass created no buffers, kernels, programs or events");
    long stride = env_long("MOBICL_FAULT_STRIDE", 8);
    unsigned char *pick = pick_points(T, stride);
    double t0 = now_s();
    for (long k = 1; k <= T; k++) {
        if (!pick[k])
            continue;
        run_a(&n, k, sum);
        sum->points++;
    }
    double secs = now_s() - t0;
    char title[160];
    snprintf(title, sizeof title, "fault sweep %s (stride %ld)", n.name, stride);
    print_summary(title, sum, T, secs);
    cr_assert(sum->points >= T / stride, "only %ld points injected of T %ld", sum->points, T);
    cr_assert(sum->reused > 0, "no point left a context to reuse");
    cr_assert(sum->unfired == 0, "%ld points were not reached: the run is not deterministic", sum->unfired);
    /* a fresh context in the same process still computes the reference */
    run_a(&n, 0, sum);
    fi_uninstall();
    free(pick);
    free(sum);
    net_free(&n);
    rm_tree(dir);
    free(dir);
}

/* ---- scenario B: a tuner run ---- */

#define PB_C 20
#define PB_H 13
#define PB_W 11

typedef struct pool_case {
    float x[PB_C * PB_H * PB_W], want[PB_C * 7 * 6], got[PB_C * 7 * 6];
    const char *cache_dir;
} pool_case;

static const mcl_pool2d_desc k_pool = {.type = MCL_POOL_MAX, .kernel_h = 3, .kernel_w = 3, .stride_h = 2,
                                       .stride_w = 2, .pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1};

static void pool_ref(pool_case *p)
{
    ref_fill_uniform(p->x, PB_C * PB_H * PB_W, 11, -1, 1);
    ref_pool2d_params rp = {.n = 1, .c = PB_C, .h = PB_H, .w = PB_W, .type = 0, .kh = 3, .kw = 3, .sh = 2, .sw = 2,
                            .pt = 1, .pl = 1, .pb = 1, .pr = 1};
    ref_pool2d(&rp, p->x, p->want);
}

static int pool_matches(const pool_case *p, char *why, size_t wn)
{
    ref_mismatch m;
    if (ref_compare(p->got, p->want, PB_C * 7 * 6, 0, 0, &m))
        return 1;
    snprintf(why, wn, "output %zu: got %g, reference %g", m.first, m.got, m.want);
    return 0;
}

/* context -> op -> tensors -> reshape -> setup -> write -> tune -> (the op
 * runs again: its tunables as before, the reference output) -> destroy. */
static void run_b(pool_case *p, long arm, summary *sum)
{
    fi_reset();
    fi_arm(arm);
    mcl_context_options o = {.cache_dir = p->cache_dir, .profiling = 1, .tuning_db = ""};
    mcl_context *ctx = NULL;
    mcl_op *op = NULL;
    mcl_tensor *x = NULL, *y = NULL;
    mcl_tune_result *res = NULL;
    size_t nres = 0;
    mcl_shape s = {1, PB_C, PB_H, PB_W}, os;
    mcl_tune_options to = {.mode = MCL_TUNE_EXHAUSTIVE, .runs = 2, .seed = 1};
    const char *step = "";
    mcl_status st;
#define STEP(name, call)                   \
    step = name;                           \
    if ((st = (call)) != MCL_STATUS_OK)    \
        goto done;
    STEP("mcl_context_create", mcl_context_create(&o, &ctx));
    STEP("mcl_pool2d_create", mcl_pool2d_create(ctx, &k_pool, &op));
    STEP("mcl_op_reshape", mcl_op_reshape(op, 1, &s, &os));
    STEP("mcl_tensor_create x", mcl_tensor_create(ctx, &s, MCL_LAYOUT_BLOCKED, &x));
    STEP("mcl_tensor_create y", mcl_tensor_create(ctx, &os, MCL_LAYOUT_BLOCKED, &y));
    STEP("mcl_op_setup", mcl_op_setup(op, 1, &x, y));
    STEP("mcl_tensor_write", mcl_tensor_write(x, p->x, PB_C * PB_H * PB_W));
    STEP("mcl_tune_ops", mcl_tune_ops(ctx, &op, 1, &to, &res, &nres));
#undef STEP
done:;
    char msg[1100];
    snprintf(msg, sizeof msg, "%s", mcl_last_error());
    int fired = fi_fired();
    char fn[40];
    snprintf(fn, sizeof fn, "%s", arm ? fi_fired_fn() : "");
    char why[200] = "";
    fi_pause(1); /* the checks below are not part of the sweep */
    if (!arm) {
        cr_assert(st == MCL_STATUS_OK, "clean tuner run: %s failed: %s", step, msg);
        cr_assert(nres == 1 && res, "clean tuner run: %zu results", nres);
    } else if (fired && st != MCL_STATUS_OK) {
        cr_assert(strlen(msg) > 0, "call %ld (%s) failing: %s returned %s with no message", arm, fn, step,
                  mcl_status_string(st));
        cr_assert(res == NULL && nres == 0, "call %ld (%s) failing: results returned with an error", arm, fn);
        stat_of(sum, fn)->errors++;
    } else if (fired) {
        stat_of(sum, fn)->ignored++;
    }
    if (arm && fired)
        stat_of(sum, fn)->points++;
    free(res);
    /* injection off: whatever the tuner went through, the op (if it got that
     * far) keeps its default tunables and computes the reference */
    if (op && y && x) {
        mcl_family fam;
        mcl_tunables t;
        /* if restoring the op failed too (the failing call was in the
         * restore), it is left unreshaped (documented): reshape it again */
        if (!*mcl_op_tunables_source(op)) {
            mcl_shape os2;
            cr_assert(mcl_op_reshape(op, 1, &s, &os2) == MCL_STATUS_OK, "call %ld (%s) failing in %s: reshape again: %s",
                      arm, fn, step, mcl_last_error());
        }
        cr_assert(strcmp(mcl_op_tunables_source(op), "default") == 0,
                  "call %ld (%s) failing in %s: op left with tunables from \"%s\"", arm, fn, step,
                  mcl_op_tunables_source(op));
        cr_assert(mcl_op_get_tunables(op, &fam, &t) == MCL_STATUS_OK);
        ref_fill_nan(p->got, PB_C * 7 * 6);
        /* a failed setup leaves the op unbound: bind again (a no-op otherwise) */
        mcl_status s2 = mcl_op_setup(op, 1, &x, y);
        if (s2 == MCL_STATUS_OK)
            s2 = mcl_tensor_write(x, p->x, PB_C * PB_H * PB_W);
        if (s2 == MCL_STATUS_OK)
            s2 = mcl_op_run(op, NULL);
        if (s2 == MCL_STATUS_OK)
            s2 = mcl_tensor_read(y, p->got, PB_C * 7 * 6);
        cr_assert(s2 == MCL_STATUS_OK, "call %ld (%s) failing in %s: the op cannot run afterwards: %s", arm, fn,
                  step, mcl_last_error());
        cr_assert(pool_matches(p, why, sizeof why), "call %ld (%s) failing in %s: afterwards the op computes: %s",
                  arm, fn, step, why);
        if (arm)
            sum->reused++;
    }
    fi_pause(0);
    mcl_op_destroy(op); /* a point here: legitimately ignored (destructors) */
    mcl_tensor_destroy(x);
    mcl_tensor_destroy(y);
    mcl_context_destroy(ctx);
    if (arm && !fired && fi_fired()) {
        snprintf(fn, sizeof fn, "%s", fi_fired_fn());
        step = "destroy";
        stat_of(sum, fn)->points++;
        stat_of(sum, fn)->ignored++;
    }
    sum->unfired += arm && !fi_fired();
    char when[160];
    snprintf(when, sizeof when, "tuner, call %ld (%s) failing in %s", arm, arm ? fn : "none", step);
    assert_all_released(when);
}

Test(faults_run, tuner_every_call, .timeout = 3600)
{
    cr_assert(fi_install() == 0, "fault injector: no OpenCL or a table entry without a wrapper");
    static pool_case p;
    pool_ref(&p);
    char *dir = make_tmpdir("faults-tune");
    p.cache_dir = dir;
    summary *sum = calloc(1, sizeof *sum);
    cr_assert(sum != NULL);
    run_b(&p, 0, sum); /* warms the on-disk cache */
    fi_trace(1);
    run_b(&p, 0, sum);
    fi_trace(0);
    long T = fi_calls();
    cr_assert(fi_calls_of("clGetEventProfilingInfo") > 0 && fi_created(FI_EVENT) > 0,
              "the tuner run made no profiling events");
    long stride = env_long("MOBICL_FAULT_STRIDE", 4);
    unsigned char *pick = pick_points(T, stride);
    double t0 = now_s();
    for (long k = 1; k <= T; k++) {
        if (!pick[k])
            continue;
        run_b(&p, k, sum);
        sum->points++;
    }
    print_summary("fault sweep tuner (pool, exhaustive)", sum, T, now_s() - t0);
    cr_assert(sum->points >= T / stride);
    run_b(&p, 0, sum);
    fi_uninstall();
    free(pick);
    free(sum);
    rm_tree(dir);
    free(dir);
}

/* ---- a cached binary the driver refuses or cannot build ---- */

/* Runs the pool op once on a fresh context of dir; stats out. */
static void pool_once(pool_case *p, mcl_cache_stats *cs)
{
    mcl_context_options o = {.cache_dir = p->cache_dir, .tuning_db = ""};
    mcl_context *ctx = NULL;
    mcl_op *op = NULL;
    mcl_tensor *x = NULL, *y = NULL;
    mcl_shape s = {1, PB_C, PB_H, PB_W}, os;
    cr_assert(mcl_context_create(&o, &ctx) == MCL_STATUS_OK, "%s", mcl_last_error());
    cr_assert(mcl_pool2d_create(ctx, &k_pool, &op) == MCL_STATUS_OK, "%s", mcl_last_error());
    cr_assert(mcl_op_reshape(op, 1, &s, &os) == MCL_STATUS_OK, "%s", mcl_last_error());
    cr_assert(mcl_tensor_create(ctx, &s, MCL_LAYOUT_BLOCKED, &x) == MCL_STATUS_OK);
    cr_assert(mcl_tensor_create(ctx, &os, MCL_LAYOUT_BLOCKED, &y) == MCL_STATUS_OK);
    cr_assert(mcl_op_setup(op, 1, &x, y) == MCL_STATUS_OK, "%s", mcl_last_error());
    cr_assert(mcl_tensor_write(x, p->x, PB_C * PB_H * PB_W) == MCL_STATUS_OK, "%s", mcl_last_error());
    ref_fill_nan(p->got, PB_C * 7 * 6);
    cr_assert(mcl_op_run(op, NULL) == MCL_STATUS_OK, "%s", mcl_last_error());
    cr_assert(mcl_tensor_read(y, p->got, PB_C * 7 * 6) == MCL_STATUS_OK, "%s", mcl_last_error());
    mcl_context_cache_stats(ctx, cs);
    mcl_op_destroy(op);
    mcl_tensor_destroy(x);
    mcl_tensor_destroy(y);
    mcl_context_destroy(ctx);
    char why[200];
    cr_assert(pool_matches(p, why, sizeof why), "%s", why);
}

/* The modification time (ns) of the only .bin entry with the pool family's
 * program... all entries: the newest. */
static long long newest_entry_ns(const char *dir, int *count)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls '%s'", dir);
    FILE *f = popen(cmd, "r");
    cr_assert(f != NULL);
    char name[512];
    long long best = 0;
    *count = 0;
    while (fgets(name, sizeof name, f)) {
        name[strcspn(name, "\n")] = 0;
        size_t l = strlen(name);
        if (l < 4 || strcmp(name + l - 4, ".bin"))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        struct stat sb;
        cr_assert(stat(path, &sb) == 0);
        long long ns = (long long)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec;
        if (ns > best)
            best = ns;
        (*count)++;
    }
    pclose(f);
    return best;
}

static void binary_rejected_by_driver(const char *fn)
{
    cr_assert(fi_install() == 0);
    static pool_case p;
    pool_ref(&p);
    char *dir = make_tmpdir("faults-bin");
    p.cache_dir = dir;
    mcl_cache_stats cs;
    fi_reset();
    pool_once(&p, &cs); /* fills the cache */
    cr_assert(cs.programs_built >= 1 && cs.disk_rejected == 0, "built %u rejected %u", cs.programs_built,
              cs.disk_rejected);
    int entries = 0;
    long long t_before = newest_entry_ns(dir, &entries);
    cr_assert(entries == (int)cs.programs_built, "%d cache entries for %u programs", entries, cs.programs_built);
    /* the first program the next context loads: fn fails on its binary */
    fi_reset();
    fi_trace(1);
    pool_once(&p, &cs);
    fi_trace(0);
    cr_assert(cs.programs_loaded == (uint32_t)entries && cs.programs_built == 0, "reload: loaded %u built %u",
              cs.programs_loaded, cs.programs_built);
    long first = 0;
    for (long k = 1; k <= fi_calls() && !first; k++)
        if (!strcmp(fi_trace_fn(k), fn))
            first = k;
    cr_assert(first > 0, "no %s call when loading from the cache", fn);
    usleep(20000); /* a rewritten entry gets a later mtime */
    fi_reset();
    fi_arm(first);
    pool_once(&p, &cs);
    cr_assert(fi_fired(), "%s (call %ld) did not fail", fn, first);
    cr_assert(cs.disk_rejected == 1 && cs.programs_built == 1 && cs.programs_loaded == (uint32_t)entries - 1,
              "%s failing on a cached binary: rejected %u built %u loaded %u (want 1, 1, %d)", fn, cs.disk_rejected,
              cs.programs_built, cs.programs_loaded, entries - 1);
    int entries2 = 0;
    long long t_after = newest_entry_ns(dir, &entries2);
    cr_assert(entries2 == entries && t_after > t_before, "the rejected entry was not replaced (%d entries)", entries2);
    /* and the replaced entry loads */
    fi_reset();
    pool_once(&p, &cs);
    cr_assert(cs.disk_rejected == 0 && cs.programs_built == 0 && cs.programs_loaded == (uint32_t)entries,
              "after the rebuild: rejected %u built %u loaded %u", cs.disk_rejected, cs.programs_built,
              cs.programs_loaded);
    assert_all_released(fn);
    fi_uninstall();
    rm_tree(dir);
    free(dir);
}

Test(faults_run, cached_binary_refused_is_rebuilt) { binary_rejected_by_driver("clCreateProgramWithBinary"); }
Test(faults_run, cached_binary_build_failure_is_rebuilt) { binary_rejected_by_driver("clBuildProgram"); }

/* ---- shared contexts: a child on a parent, each call failing in turn ---- */

/* parent -> child (mcl_context_create_shared) -> pool op on the child ->
 * run -> read; the parent is destroyed before the child. */
static void run_shared(pool_case *p, long arm, summary *sum)
{
    fi_reset();
    fi_arm(arm);
    mcl_context *parent = NULL, *child = NULL;
    mcl_op *op = NULL;
    mcl_tensor *x = NULL, *y = NULL;
    mcl_shape s = {1, PB_C, PB_H, PB_W}, os;
    const char *step = "";
    mcl_context_options o = {.cache_dir = p->cache_dir, .tuning_db = ""};
    ref_fill_nan(p->got, PB_C * 7 * 6);
    mcl_status st;
#define STEP(name, call)                   \
    step = name;                           \
    if ((st = (call)) != MCL_STATUS_OK)    \
        goto done;
    STEP("mcl_context_create", mcl_context_create(&o, &parent));
    STEP("mcl_context_create_shared", mcl_context_create_shared(parent, &child));
    STEP("mcl_pool2d_create", mcl_pool2d_create(child, &k_pool, &op));
    STEP("mcl_op_reshape", mcl_op_reshape(op, 1, &s, &os));
    STEP("mcl_tensor_create x", mcl_tensor_create(child, &s, MCL_LAYOUT_BLOCKED, &x));
    STEP("mcl_tensor_create y", mcl_tensor_create(child, &os, MCL_LAYOUT_BLOCKED, &y));
    STEP("mcl_op_setup", mcl_op_setup(op, 1, &x, y));
    STEP("mcl_tensor_write", mcl_tensor_write(x, p->x, PB_C * PB_H * PB_W));
    STEP("mcl_op_run", mcl_op_run(op, NULL));
    STEP("mcl_tensor_read", mcl_tensor_read(y, p->got, PB_C * 7 * 6));
#undef STEP
done:;
    int fired = fi_fired();
    char fn[40], why[200];
    snprintf(fn, sizeof fn, "%s", arm ? fi_fired_fn() : "");
    if (!arm || (fired && st == MCL_STATUS_OK)) {
        cr_assert(st == MCL_STATUS_OK, "clean shared-context run: %s: %s", step, mcl_last_error());
        cr_assert(pool_matches(p, why, sizeof why), "shared context, call %ld (%s) failing was ignored: %s", arm, fn,
                  why);
        if (arm)
            stat_of(sum, fn)->ignored++;
    } else if (fired) {
        cr_assert(strlen(mcl_last_error()) > 0, "call %ld (%s) failing: %s returned %s with no message", arm, fn, step,
                  mcl_status_string(st));
        stat_of(sum, fn)->errors++;
    }
    if (arm && fired)
        stat_of(sum, fn)->points++;
    mcl_context_destroy(parent); /* first: the child keeps the shared state */
    mcl_op_destroy(op);
    mcl_tensor_destroy(x);
    mcl_tensor_destroy(y);
    mcl_context_destroy(child);
    if (arm && !fired && fi_fired()) {
        snprintf(fn, sizeof fn, "%s", fi_fired_fn());
        stat_of(sum, fn)->points++;
        stat_of(sum, fn)->ignored++;
    }
    sum->unfired += arm && !fi_fired();
    char when[160];
    snprintf(when, sizeof when, "shared context, call %ld (%s) failing in %s", arm, arm ? fn : "none", step);
    assert_all_released(when);
}

Test(faults_run, shared_context_every_call, .timeout = 600)
{
    cr_assert(fi_install() == 0);
    static pool_case p;
    pool_ref(&p);
    char *dir = make_tmpdir("faults-shared");
    p.cache_dir = dir;
    summary *sum = calloc(1, sizeof *sum);
    cr_assert(sum != NULL);
    run_shared(&p, 0, sum); /* warms the cache */
    run_shared(&p, 0, sum);
    long T = fi_calls();
    cr_assert(fi_calls_of("clRetainContext") == 1, "the child did not retain the OpenCL context");
    double t0 = now_s();
    for (long k = 1; k <= T; k++) {
        run_shared(&p, k, sum);
        sum->points++;
    }
    print_summary("fault sweep shared context (pool op on a child)", sum, T, now_s() - t0);
    cr_assert(sum->unfired == 0, "%ld points not reached", sum->unfired);
    cr_assert(stat_of(sum, "clRetainContext")->errors == 1, "a failing clRetainContext was not reported");
    fi_uninstall();
    free(sum);
    rm_tree(dir);
    free(dir);
}
