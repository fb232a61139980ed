/* Autotuner (mcl_tune_ops): for each distinct tuning key among set-up ops,
 * search the family's parameter space (mcl_space_get, wg limited by the
 * device) for the fastest tunables whose output matches the default's.
 *
 *   1. Baseline: every key's default time (kernel time from profiling
 *      events, median of `runs` back-to-back launches after a warm-up);
 *      its weight is that time x the ops sharing the key.
 *   2. Search, key by key in execution order, each with a share of the
 *      time left proportional to its weight; a second pass gives what is
 *      left to the keys whose share ran out. Candidates cost compiles (a
 *      program build for new tiles; POCL also compiles at the first launch
 *      with a new work-group size), so none starts once the estimated
 *      cost of a compile would cross the budget. The context's database
 *      entry for the key, if any, is tried first. Exhaustive mode (and
 *      normal mode on spaces of <= 24 points) measures every point in a
 *      seeded random order; normal mode on larger spaces a seeded random
 *      sample (the same for every key of a family: programs built for one
 *      key serve the next), then climbs from the best point to a better
 *      neighbour (one parameter one step along its list) while there is
 *      one; rapid mode climbs from the default, at most 8 candidates.
 *      wg 0 (the driver's choice) is searched only where the heuristics use
 *      it (GPUs) or in exhaustive mode.
 *   3. Check: before a candidate is timed, its output (the output buffer
 *      pre-filled with NaN) must equal the default's: the same elements
 *      written, |d| <= 1e-4 * max |y|. Otherwise it is rejected.
 *   4. Timing is paired, against this machine's slow swings (another
 *      process taking a core halves the speed for a while): a candidate is
 *      timed right after the best so far and scored by the ratio; a win is
 *      confirmed over 3 more interleaved rounds (median ratio).
 *   5. Verify: the final winner against the default, 7 interleaved rounds;
 *      kept only if the median ratio is below 0.98, else the default stays.
 * The ops' inputs hold the data of a real run (the ops before each are run
 * first); each tuned op's output buffer is restored afterwards, and every op
 * is left with the tunables it had. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VERIFY_ROUNDS 7
#define CONFIRM_ROUNDS 3
#define MIN_GAIN 0.02
#define RAPID_MAX 8
#define SMALL_SPACE 24
#define MAX_RUNS 64

typedef struct tuner {
    mcl_context *ctx;
    mcl_op *const *ops;
    size_t n_ops, ran; /* ops[0..ran) ran since the inputs were made */
    mcl_tune_options opt;
    double t0, deadline; /* seconds; deadline 0 = none */
    double cost, slow_cost; /* estimates of one candidate, and of one that compiles (s) */
    float *ref, *got, *keep, *nan;
    size_t cap; /* floats in each */
    double tol;
    mcl_tune_progress prog;
    const mcl_tunedb *db; /* the context's database, set aside: its entries are the first candidates */
} tuner;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n ? (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2])) : 0;
}

/* Restoring the ops after a failure st calls functions that clear the
 * thread's message: keep_msg saves it (without the status prefix), put_msg
 * sets it again. */
static void keep_msg(mcl_status st, char *buf, size_t n)
{
    buf[0] = 0;
    if (st == MCL_STATUS_OK)
        return;
    const char *m = mcl_last_error(), *pre = mcl_status_string(st);
    size_t pl = strlen(pre);
    snprintf(buf, n, "%s", strncmp(m, pre, pl) == 0 && m[pl] == ':' && m[pl + 1] == ' ' ? m + pl + 2 : m);
}
static void put_msg(mcl_context *ctx, mcl_status st, const char *buf)
{
    if (st != MCL_STATUS_OK && buf[0])
        mcl_fail(ctx, st, "%s", buf);
}

/* Reshape op with tunables t (NULL: the default; the database is set aside
 * while tuning) for the same input shapes, and bind the same tensors again. */
static mcl_status configure(mcl_op *op, const mcl_tunables *t)
{
    mcl_tensor *in0 = op->in[0], *in1 = op->in[1], *out = op->out;
    mcl_shape in[2], o;
    memcpy(in, op->in_shape, sizeof in);
    mcl_status st = mcl_op_set_tunables(op, t);
    if (st == MCL_STATUS_OK)
        st = mcl_op_reshape(op, op->n_in, in, &o);
    mcl_status sb = mcl_op_bind(op, in0, in1, out); /* restores the tensors even after a failed reshape */
    return st != MCL_STATUS_OK ? st : sb;
}

static mcl_status buffer_io(mcl_op *op, float *host, int write)
{
    const mcl_cl_api *cl = op->ctx->cl;
    cl_command_queue q = op->ctx->queue;
    cl_int err = write ? cl->clEnqueueWriteBuffer(q, op->out->buf, CL_TRUE, 0, op->out->bytes, host, 0, NULL, NULL)
                       : cl->clEnqueueReadBuffer(q, op->out->buf, CL_TRUE, 0, op->out->bytes, host, 0, NULL, NULL);
    return err == CL_SUCCESS ? MCL_STATUS_OK : mcl_cl_fail(op->ctx, err, write ? "tuner: write" : "tuner: read");
}

/* Median kernel time of `runs` back-to-back launches (profiling events). */
static mcl_status time_op(tuner *T, mcl_op *op, double *ms)
{
    cl_event ev[MAX_RUNS];
    double v[MAX_RUNS];
    uint32_t n = 0;
    mcl_status st = MCL_STATUS_OK;
    for (; n < T->opt.runs && st == MCL_STATUS_OK; n++)
        if ((st = mcl_op_run(op, &ev[n])) != MCL_STATUS_OK)
            break;
    cl_int err = T->ctx->cl->clFinish(T->ctx->queue);
    for (uint32_t i = 0; i < n; i++) {
        cl_ulong a = 0, b = 0;
        if (T->ctx->cl->clGetEventProfilingInfo(ev[i], CL_PROFILING_COMMAND_START, sizeof a, &a, NULL) != CL_SUCCESS ||
            T->ctx->cl->clGetEventProfilingInfo(ev[i], CL_PROFILING_COMMAND_END, sizeof b, &b, NULL) != CL_SUCCESS)
            err = CL_PROFILING_INFO_NOT_AVAILABLE;
        v[i] = (double)(b - a) * 1e-6;
        T->ctx->cl->clReleaseEvent(ev[i]);
    }
    if (st == MCL_STATUS_OK && err != CL_SUCCESS)
        st = mcl_cl_fail(T->ctx, err, "tuner: profiling events");
    *ms = median(v, n);
    return st;
}

/* Run op once into a NaN-filled output and read it into dst. */
static mcl_status output_of(tuner *T, mcl_op *op, float *dst)
{
    mcl_status st = buffer_io(op, T->nan, 1);
    if (st == MCL_STATUS_OK)
        st = mcl_op_run(op, NULL);
    if (st == MCL_STATUS_OK)
        st = buffer_io(op, dst, 0);
    return st;
}

/* Same elements written (NaN where the default left NaN), values within tol. */
static int output_matches(const tuner *T, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float a = T->ref[i], b = T->got[i];
        if (isnan(a) != isnan(b) || (!isnan(a) && !(fabs((double)a - b) <= T->tol)))
            return 0;
    }
    return 1;
}

/* Run ops[0..i) (from where the last call stopped) so ops[i]'s inputs hold
 * the data of a real run. */
static mcl_status prepare(tuner *T, size_t i)
{
    if (T->ran > i)
        T->ran = 0;
    for (; T->ran < i; T->ran++) {
        mcl_status st = mcl_op_run(T->ops[T->ran], NULL);
        if (st != MCL_STATUS_OK)
            return st;
    }
    return mcl_context_finish(T->ctx);
}

/* ---- the space of one family on this device ---- */

typedef struct space {
    const uint32_t *w, *c;
    uint32_t g[16], spl[8];
    size_t nw, nc, ng, ns, n;
} space;

/* wg 0 (the driver's choice) only where the heuristics use it (GPUs) or in
 * exhaustive mode: on POCL it puts the whole grid in one group and costs a
 * compile for every grid size. A family without split has the one value 0.
 * Point i: ((tile_w * nc + tile_c) * ng + wg) * ns + split, as indices. */
static void space_make(const mcl_context *ctx, mcl_family f, int driver_wg, space *s)
{
    const mcl_space *ms = mcl_space_get(f);
    memset(s, 0, sizeof *s);
    s->w = ms->tile_w;
    s->c = ms->tile_c;
    while (s->w[s->nw])
        s->nw++;
    while (s->c[s->nc])
        s->nc++;
    for (const uint32_t *v = ms->split; *v && s->ns < 8; v++)
        s->spl[s->ns++] = *v;
    if (!s->ns)
        s->spl[s->ns++] = 0;
    if (driver_wg)
        s->g[s->ng++] = 0;
    char why[160];
    for (const uint32_t *g = ms->wg; *g && s->ng < 16; g++) {
        mcl_tunables t = {s->w[0], s->c[0], *g, s->spl[0]};
        if (mcl_tunables_fit(ctx, f, &t, why, sizeof why))
            s->g[s->ng++] = *g;
    }
    s->n = s->nw * s->nc * s->ng * s->ns;
}

static mcl_tunables space_at(const space *s, size_t i)
{
    const size_t j = i / s->ns;
    mcl_tunables t = {s->w[j / (s->nc * s->ng)], s->c[j / s->ng % s->nc], s->g[j % s->ng], s->spl[i % s->ns]};
    return t;
}

static size_t space_index(const space *s, const mcl_tunables *t)
{
    for (size_t i = 0; i < s->n; i++) {
        mcl_tunables u = space_at(s, i);
        if (u.tile_w == t->tile_w && u.tile_c == t->tile_c && u.wg == t->wg && u.split == t->split)
            return i;
    }
    return SIZE_MAX;
}

/* The neighbours of point i: one coordinate one step along its list. */
static size_t space_neighbours(const space *s, size_t i, size_t out[8])
{
    const size_t j = i / s->ns;
    const size_t at[4] = {j / (s->nc * s->ng), j / s->ng % s->nc, j % s->ng, i % s->ns};
    const size_t dim[4] = {s->nw, s->nc, s->ng, s->ns};
    const size_t stride[4] = {s->nc * s->ng * s->ns, s->ng * s->ns, s->ns, 1};
    size_t k = 0;
    for (int d = 0; d < 4; d++) {
        if (at[d] > 0)
            out[k++] = i - stride[d];
        if (at[d] + 1 < dim[d])
            out[k++] = i + stride[d];
    }
    return k;
}

/* ---- search ---- */

/* One distinct key: its search state survives between passes. */
typedef struct group {
    size_t rep;     /* the first op with the key */
    double weight;  /* default time x ops */
    mcl_tune_result r;
    space sp;
    double *ms;     /* per point: < 0 untried, INFINITY rejected or failed */
    size_t def, best, verified; /* points: the default, the best so far, the last one verified */
    double end;     /* this pass's share ends (0: none) */
    int stop;       /* why the last pass ended: 0 converged, 1 its share, 2 the budget */
} group;

static void report(tuner *T, const group *g)
{
    if (!T->opt.progress)
        return;
    T->prog.tried = g->r.tried;
    T->prog.default_ms = g->r.default_ms;
    T->prog.best_ms = g->ms[g->best];
    T->prog.elapsed_s = now_s() - T->t0;
    T->opt.progress(T->opt.progress_user, &T->prog);
}

/* a and b (NULL: the default) measured interleaved, `rounds` rounds of
 * `runs` each. Paired: *ratio is the median of the rounds' b/a ratios,
 * which cancels the machine's slow swings (another process taking a core
 * halves the speed for a while); *ma is the median of a's round medians. */
static mcl_status duel(tuner *T, mcl_op *op, const mcl_tunables *a, const mcl_tunables *b, int rounds, double *ma,
                       double *ratio)
{
    double v[2][VERIFY_ROUNDS], q[VERIFY_ROUNDS];
    const mcl_tunables *t[2] = {a, b};
    mcl_status st = MCL_STATUS_OK;
    for (int r = 0; r < rounds && st == MCL_STATUS_OK; r++) {
        for (int k = 0; k < 2 && st == MCL_STATUS_OK; k++)
            if ((st = configure(op, t[k])) == MCL_STATUS_OK && (st = mcl_op_run(op, NULL)) == MCL_STATUS_OK)
                st = time_op(T, op, &v[k][r]);
        q[r] = v[0][r] > 0 ? v[1][r] / v[0][r] : 1;
    }
    *ma = median(v[0], (size_t)rounds);
    *ratio = median(q, (size_t)rounds);
    return st;
}

/* Measure point i (once): configure, check the output, then time it paired
 * with the best so far (and confirm a win over 3 more rounds). Returns its
 * time on the best's scale (INFINITY: rejected, or not started because the
 * time is up: then g->stop is set). */
static double try_point(tuner *T, group *g, size_t i, mcl_status *fatal)
{
    if (g->ms[i] >= 0 || g->stop || *fatal)
        return g->ms[i] >= 0 ? g->ms[i] : INFINITY;
    double t = now_s();
    if (T->deadline > 0 && t + 1.25 * T->slow_cost > T->deadline)
        g->stop = 2;
    else if (g->end > 0 && t + T->cost > g->end)
        g->stop = 1;
    if (g->stop)
        return INFINITY;
    mcl_op *op = T->ops[g->rep];
    const mcl_tunables tun = space_at(&g->sp, i), best = space_at(&g->sp, g->best);
    double mb = 0, q = INFINITY;
    g->ms[i] = INFINITY;
    g->r.tried++;
    mcl_status st = configure(op, &tun);
    if (st == MCL_STATUS_OK) { /* else it cannot be built or set up here: skipped */
        if ((st = output_of(T, op, T->got)) != MCL_STATUS_OK)
            return *fatal = st, INFINITY;
        if (!output_matches(T, op->out->bytes / sizeof(float))) {
            g->r.rejected++;
            mcl_log(T->ctx, MCL_LOG_WARN,
                    "tuner: %s with tile_w=%u tile_c=%u wg=%u split=%u gives a wrong output: rejected", g->r.key,
                    tun.tile_w, tun.tile_c, tun.wg, tun.split);
        } else if ((st = duel(T, op, &best, &tun, 1, &mb, &q)) != MCL_STATUS_OK ||
                   (q < 1 && (st = duel(T, op, &best, &tun, CONFIRM_ROUNDS, &mb, &q)) != MCL_STATUS_OK)) {
            return *fatal = st, INFINITY;
        }
        g->ms[i] = g->ms[g->best] * q;
    }
    double c = now_s() - t;
    mcl_log(T->ctx, MCL_LOG_DEBUG, "tuner: %s: tile_w=%u tile_c=%u wg=%u split=%u: %.3f x the best (%.4f ms), %.2f s",
            g->r.key, tun.tile_w, tun.tile_c, tun.wg, tun.split, q, mb, c);
    T->cost = 0.7 * T->cost + 0.3 * c;
    if (c > 0.1) /* compile-bound: a program build, or POCL's first launch at a work-group size */
        T->slow_cost = 0.6 * T->slow_cost + 0.4 * c;
    if (q < 1)
        g->best = i;
    report(T, g);
    return g->ms[i];
}

/* Climb from point `from` to the first better neighbour (by 1%), while one
 * exists (at most `limit` new candidates). */
static void climb(tuner *T, group *g, size_t from, uint64_t *rng, size_t limit, mcl_status *fatal)
{
    size_t cur = from, tried = 0;
    for (int moved = 1; moved && !g->stop && !*fatal && tried < limit;) {
        size_t nb[8], k = space_neighbours(&g->sp, cur, nb);
        for (size_t a = k; a > 1; a--) {
            size_t b = splitmix(rng) % a, x = nb[a - 1];
            nb[a - 1] = nb[b];
            nb[b] = x;
        }
        moved = 0;
        for (size_t a = 0; a < k && !moved && !g->stop && !*fatal && tried < limit; a++) {
            tried += g->ms[nb[a]] < 0;
            if (try_point(T, g, nb[a], fatal) < g->ms[cur] * (1 - 0.01)) {
                cur = nb[a];
                moved = 1;
            }
        }
    }
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* The search proper. Deterministic for a seed, and resumable: points
 * measured in an earlier pass are not measured again. */
static mcl_status run_search(tuner *T, group *g)
{
    mcl_status fatal = MCL_STATUS_OK;
    const space *sp = &g->sp;
    uint64_t rng = T->opt.seed ^ hash_str(mcl_space_get(g->r.family)->family);
    size_t *order = malloc(sp->n * sizeof *order);
    if (!order)
        return mcl_fail(T->ctx, MCL_STATUS_OUT_OF_MEMORY, "tuner: order");
    for (size_t i = 0; i < sp->n; i++)
        order[i] = i;
    for (size_t a = sp->n; a > 1; a--) { /* seeded shuffle: the same for every key of the family */
        size_t b = splitmix(&rng) % a, x = order[a - 1];
        order[a - 1] = order[b];
        order[b] = x;
    }
    int near = 0;
    const mcl_tune_entry *e = mcl_tunedb_lookup(T->db, g->r.key, &near);
    size_t hint = e ? space_index(sp, &e->t) : SIZE_MAX;
    if (hint != SIZE_MAX) { /* what the database has for this key (or its class) first, outside the share */
        double end = g->end;
        g->end = 0;
        try_point(T, g, hint, &fatal);
        g->end = end;
    }
    if (T->opt.mode == MCL_TUNE_RAPID) {
        climb(T, g, g->best, &rng, RAPID_MAX, &fatal);
    } else {
        int all = T->opt.mode == MCL_TUNE_EXHAUSTIVE || sp->n <= SMALL_SPACE;
        size_t sample = all ? sp->n : (sp->n / 6 > 8 ? sp->n / 6 : 8);
        for (size_t i = 0; i < sample && !g->stop && !fatal; i++)
            try_point(T, g, order[i], &fatal);
        if (!all)
            climb(T, g, g->best, &rng, SIZE_MAX, &fatal);
    }
    free(order);
    return fatal;
}

/* Grow the output copies to nf floats. */
static mcl_status reserve(tuner *T, size_t nf)
{
    if (nf <= T->cap)
        return MCL_STATUS_OK;
    float **p[4] = {&T->ref, &T->got, &T->keep, &T->nan};
    T->cap = 0;
    for (int i = 0; i < 4; i++) {
        free(*p[i]);
        if (!(*p[i] = malloc(nf * sizeof(float))))
            return mcl_fail(T->ctx, MCL_STATUS_OUT_OF_MEMORY, "tuner: output copies of %zu floats", nf);
    }
    for (size_t i = 0; i < nf; i++)
        T->nan[i] = NAN;
    T->cap = nf;
    return MCL_STATUS_OK;
}

/* One pass over a key: reference output, search until done or out of time,
 * verify a new winner against the default; then the op and its output
 * buffer as they were. */
static mcl_status tune_group(tuner *T, group *g)
{
    mcl_op *op = T->ops[g->rep];
    const size_t nf = op->out->bytes / sizeof(float);
    mcl_status st = reserve(T, nf);
    if (st != MCL_STATUS_OK)
        return st;
    g->stop = 0;
    if ((st = prepare(T, g->rep)) == MCL_STATUS_OK && (st = buffer_io(op, T->keep, 0)) == MCL_STATUS_OK &&
        (st = configure(op, NULL)) == MCL_STATUS_OK && (st = output_of(T, op, T->ref)) == MCL_STATUS_OK) {
        double amax = 0;
        size_t written = 0;
        for (size_t i = 0; i < nf; i++)
            if (!isnan(T->ref[i])) {
                written++;
                amax = fabs(T->ref[i]) > amax ? fabs(T->ref[i]) : amax;
            }
        T->tol = 1e-4 * amax;
        report(T, g);
        if (written) {
            st = run_search(T, g);
        } else { /* NaN inputs (a plan run without an input?): candidates cannot be checked */
            mcl_log(T->ctx, MCL_LOG_WARN, "tuner: %s: the default's output is all NaN: not tuned", g->r.key);
            g->stop = 0;
        }
    }
    if (st == MCL_STATUS_OK && g->best != g->verified) {
        /* the winner against the default, interleaved: kept only if clearly faster */
        const mcl_tunables best = space_at(&g->sp, g->best);
        double md = 0, q = 1;
        st = duel(T, op, NULL, &best, VERIFY_ROUNDS, &md, &q);
        mcl_log(T->ctx, MCL_LOG_DEBUG,
                "tuner: %s: verified tile_w=%u tile_c=%u wg=%u split=%u: %.3f x the default (%.4f ms)", g->r.key,
                best.tile_w, best.tile_c, best.wg, best.split, q, md);
        g->ms[g->def] = md;
        g->ms[g->best] = md * q;
        if (!(q < 1 - MIN_GAIN))
            g->best = g->def;
        g->verified = g->best;
    }
    g->r.best = space_at(&g->sp, g->best);
    g->r.best_ms = g->ms[g->best];
    g->r.default_ms = g->ms[g->def];
    g->r.improved = g->best != g->def;
    char why[768];
    keep_msg(st, why, sizeof why); /* configure clears the thread's message */
    mcl_status s2 = configure(op, NULL);
    if (s2 == MCL_STATUS_OK)
        s2 = buffer_io(op, T->keep, 1);
    put_msg(T->ctx, st, why);
    if (T->ran > g->rep)
        T->ran = g->rep; /* the next prepare runs it again */
    return st != MCL_STATUS_OK ? st : s2;
}

mcl_status mcl_tune_ops(mcl_context *ctx, mcl_op *const *ops, size_t n_ops, const mcl_tune_options *opt,
                        mcl_tune_result **results, size_t *n_results)
{
    mcl_clear_error();
    if (!ctx || (n_ops && !ops) || !results || !n_results)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "mcl_tune_ops: %s is NULL",
                        !ctx ? "ctx" : !results ? "results" : !n_results ? "n_results" : "ops");
    *results = NULL;
    *n_results = 0;
    if (!ctx->profiling)
        return mcl_fail(ctx, MCL_STATUS_INVALID_STATE, "mcl_tune_ops: the context needs profiling on");
    for (size_t i = 0; i < n_ops; i++) {
        if (!ops[i] || ops[i]->ctx != ctx || ops[i]->state != MCL_OP_READY)
            return mcl_fail(ctx, !ops[i] || ops[i]->ctx != ctx ? MCL_STATUS_INVALID_ARGUMENT : MCL_STATUS_INVALID_STATE,
                            "mcl_tune_ops: op %zu is %s", i,
                            !ops[i] ? "NULL" : ops[i]->ctx != ctx ? "of another context" : "not set up");
    }
    tuner T = {.ctx = ctx, .ops = ops, .n_ops = n_ops, .t0 = now_s(), .cost = 0.3, .slow_cost = 1.0};
    if (opt)
        T.opt = *opt;
    if ((unsigned)T.opt.mode > MCL_TUNE_EXHAUSTIVE || !(T.opt.budget_s >= 0))
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "mcl_tune_ops: mode %d or budget %g is invalid",
                        (int)T.opt.mode, T.opt.budget_s);
    T.opt.runs = !T.opt.runs ? 10 : T.opt.runs > MAX_RUNS ? MAX_RUNS : T.opt.runs;
    T.deadline = T.opt.budget_s > 0 ? T.t0 + T.opt.budget_s : 0;
    T.prog.budget_s = T.opt.budget_s;

    /* distinct keys, in execution order; their tunables as the user left them */
    group *gs = calloc(n_ops ? n_ops : 1, sizeof *gs);
    mcl_tunables *user = calloc(n_ops ? n_ops : 1, sizeof *user);
    int *user_set = calloc(n_ops ? n_ops : 1, sizeof *user_set);
    if (!gs || !user || !user_set) {
        free(gs), free(user), free(user_set);
        return mcl_fail(ctx, MCL_STATUS_OUT_OF_MEMORY, "tuner state");
    }
    size_t ng = 0;
    for (size_t i = 0; i < n_ops; i++) {
        mcl_op *op = ops[i];
        user[i] = op->tun_user;
        user_set[i] = op->tun_user_set;
        char key[MCL_TUNE_KEY_MAX];
        if (!op->has_family || !op->vt->tune_key || (op->in[0] && op->in[0]->buf == op->out->buf) ||
            (op->in[1] && op->in[1]->buf == op->out->buf))
            continue; /* no tunables, or in place: not tuned */
        op->vt->tune_key(op, &op->in_shape[0], &op->out_shape, key, sizeof key);
        size_t k = 0;
        while (k < ng && strcmp(gs[k].r.key, key))
            k++;
        if (k == ng) {
            gs[ng].rep = i;
            memcpy(gs[ng].r.key, key, sizeof key);
            gs[ng].r.family = op->family;
            space_make(ctx, op->family, T.opt.mode == MCL_TUNE_EXHAUSTIVE || mcl_default_wg(ctx) == 0, &gs[ng].sp);
            ng++;
        }
        gs[k].r.ops++;
    }
    mcl_tunedb *db = ctx->tunedb; /* the baseline is the heuristic default */
    ctx->tunedb = NULL;
    T.db = db;
    mcl_status st = MCL_STATUS_OK;
    /* 1. baselines */
    for (size_t k = 0; k < ng && st == MCL_STATUS_OK; k++) {
        group *g = &gs[k];
        mcl_op *op = ops[g->rep];
        if ((st = prepare(&T, g->rep)) != MCL_STATUS_OK || (st = configure(op, NULL)) != MCL_STATUS_OK ||
            (st = mcl_op_run(op, NULL)) != MCL_STATUS_OK || (st = time_op(&T, op, &g->r.default_ms)) != MCL_STATUS_OK)
            break;
        T.ran = g->rep + 1;
        g->r.def = g->r.best = op->tun;
        g->r.best_ms = g->r.default_ms;
        g->weight = g->r.default_ms * g->r.ops;
        g->def = space_index(&g->sp, &op->tun);
        if (g->def == SIZE_MAX) /* a default outside the space (not with the heuristics): not tuned */
            continue;
        if (!(g->ms = malloc(g->sp.n * sizeof *g->ms))) {
            st = mcl_fail(ctx, MCL_STATUS_OUT_OF_MEMORY, "tuner: search state");
            break;
        }
        for (size_t i = 0; i < g->sp.n; i++)
            g->ms[i] = -1;
        g->ms[g->def] = g->r.default_ms;
        g->best = g->verified = g->def;
    }
    /* 2-4. search key by key in execution order, each with its share of the
     * time left; a second pass gives what is left to the keys whose share
     * ran out */
    T.prog.key_count = ng;
    for (int pass = 0; pass < 2 && st == MCL_STATUS_OK; pass++) {
        for (size_t k = 0; k < ng && st == MCL_STATUS_OK; k++) {
            group *g = &gs[k];
            if (!g->ms || (pass && g->stop != 1))
                continue;
            double left = 0;
            for (size_t j = k; j < ng; j++)
                left += gs[j].ms && (!pass || gs[j].stop == 1) ? gs[j].weight : 0;
            g->end = T.deadline > 0 ? now_s() + (T.deadline - now_s()) * (left > 0 ? g->weight / left : 1) : 0;
            T.prog.key_index = k;
            T.prog.key = g->r.key;
            st = tune_group(&T, g);
        }
        if (!T.deadline)
            break;
    }
    /* every op back to what it had, with the database in place again (the
     * restore clears the thread's message: keep the failure's) */
    char why[768];
    keep_msg(st, why, sizeof why);
    ctx->tunedb = db;
    for (size_t k = 0; k < ng; k++) {
        mcl_op *op = ops[gs[k].rep];
        mcl_status s2 = configure(op, user_set[gs[k].rep] ? &user[gs[k].rep] : NULL);
        if (st == MCL_STATUS_OK)
            st = s2;
    }
    put_msg(ctx, st, why);
    free(T.ref), free(T.got), free(T.keep), free(T.nan);
    free(user), free(user_set);
    mcl_tune_result *res = st == MCL_STATUS_OK ? malloc((ng ? ng : 1) * sizeof *res) : NULL;
    if (st == MCL_STATUS_OK && !res)
        st = mcl_fail(ctx, MCL_STATUS_OUT_OF_MEMORY, "tuner results");
    for (size_t k = 0; k < ng; k++) {
        if (res)
            res[k] = gs[k].r;
        free(gs[k].ms);
    }
    free(gs);
    if (st != MCL_STATUS_OK)
        return st;
    mcl_clear_error(); /* candidates that could not be built are not the caller's errors */
    *results = res;
    *n_results = ng;
    return MCL_STATUS_OK;
}
