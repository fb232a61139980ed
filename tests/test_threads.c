/* Threads (issue 7, part 5): the contract in mobicl.h ("Threads").
 *
 * Two plans of different networks (ShuffleNet V2 0.5x at 224, MobileNet V2
 * 0.35 at 96) run on two threads, each with its own context made by
 * mcl_context_create_shared (one OpenCL context, one program cache, one
 * tuning database, a queue each), RUNS times each, and every output is
 * bit-identical to the one a sequential run gives (which itself matches the
 * naive reference executor). Both threads start planning at once on an
 * empty program cache, and both plan the same graph at once in a second
 * test, so the shared cache is raced: each program must be built exactly
 * once. The parent is destroyed before the children run (the shared state
 * is reference-counted). The OpenCL object tracker of faultinj.c checks
 * that everything was released at the end. */
#define _GNU_SOURCE 1
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultinj.h"
#include "mobicl.h"
#include "mobicl_graph.h"
#include "ref_graph.h"

#define RUNS 20

typedef struct net {
    const char *name;
    mcl_zoo_options o;
    mcl_graph *g;
    float *x, *seq; /* input, the sequential run's output */
    size_t nx, ny;
} net;

static void net_build(net *n, const char *name, const mcl_zoo_options *o, uint64_t seed)
{
    n->name = name;
    n->o = *o;
    mcl_status st = mcl_zoo_build(name, o, &n->g);
    cr_assert(st == MCL_STATUS_OK, "zoo build %s: %s", name, mcl_last_error());
    n->nx = ref_graph_value_count(n->g, mcl_graph_input_value(n->g, 0));
    n->ny = ref_graph_value_count(n->g, mcl_graph_output_value(n->g, 0));
    n->x = malloc(n->nx * sizeof *n->x);
    n->seq = malloc(n->ny * sizeof *n->seq);
    cr_assert(n->x && n->seq);
    ref_graph_fill_input(n->x, n->nx, seed);
}

static void net_free(net *n)
{
    mcl_graph_destroy(n->g);
    free(n->x);
    free(n->seq);
}

/* ---- what a thread does; it reports, the main thread asserts ---- */

typedef struct job {
    const net *n;
    mcl_context *ctx;
    pthread_barrier_t *start;
    int runs;
    float *out;
    char err[1200];
    int mismatches;
    size_t first_bad;
    mcl_cache_stats cs;
} job;

static void job_fail(job *j, const char *what)
{
    snprintf(j->err, sizeof j->err, "%s on %s: %s", what, j->n->name, mcl_last_error());
}

static void *job_main(void *arg)
{
    job *j = arg;
    mcl_plan *plan = NULL;
    pthread_barrier_wait(j->start); /* both plan at once */
    if (mcl_plan_create(j->ctx, j->n->g, NULL, &plan) != MCL_STATUS_OK) {
        job_fail(j, "mcl_plan_create");
        return NULL;
    }
    for (int r = 0; r < j->runs; r++) {
        for (size_t i = 0; i < j->n->ny; i++)
            j->out[i] = NAN;
        if (mcl_plan_set_input(plan, 0, j->n->x, j->n->nx) != MCL_STATUS_OK || mcl_plan_run(plan, 0) != MCL_STATUS_OK ||
            mcl_plan_get_output(plan, 0, j->out, j->n->ny) != MCL_STATUS_OK) {
            job_fail(j, "run");
            break;
        }
        if (j->n->seq && memcmp(j->out, j->n->seq, j->n->ny * sizeof(float)) != 0) {
            if (!j->mismatches++)
                for (j->first_bad = 0; j->first_bad < j->n->ny && j->out[j->first_bad] == j->n->seq[j->first_bad];)
                    j->first_bad++;
        }
    }
    mcl_context_cache_stats(j->ctx, &j->cs);
    mcl_plan_destroy(plan);
    return NULL;
}

static void check_job(const job *j, int run)
{
    cr_assert(j->err[0] == 0, "%s", j->err);
    cr_assert(j->mismatches == 0, "%s: %d of %d threaded runs differ from the sequential run (first at %zu: %g vs %g)",
              j->n->name, j->mismatches, run, j->first_bad, j->out[j->first_bad], j->n->seq[j->first_bad]);
}

/* Run the jobs on their own threads, started together. */
static void run_threads(job *jobs, int n)
{
    pthread_barrier_t start;
    cr_assert(pthread_barrier_init(&start, NULL, (unsigned)n) == 0);
    pthread_t th[4];
    for (int i = 0; i < n; i++) {
        jobs[i].start = &start;
        cr_assert(pthread_create(&th[i], NULL, job_main, &jobs[i]) == 0);
    }
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&start);
}

static void assert_all_released(void)
{
    char live[256];
    fi_describe_live(live, sizeof live);
    cr_assert(fi_live_total() == 0, "OpenCL objects left alive: %s", live);
    cr_assert(fi_bad_releases() == 0, "%ld releases of objects that were not alive", fi_bad_releases());
}

/* The sequential outputs, each checked against the reference executor. */
static void sequential(net *nets, int count)
{
    mcl_context *ctx = NULL;
    cr_assert(mcl_context_create(NULL, &ctx) == MCL_STATUS_OK, "%s", mcl_last_error());
    for (int i = 0; i < count; i++) {
        net *n = &nets[i];
        mcl_plan *plan = NULL;
        cr_assert(mcl_plan_create(ctx, n->g, NULL, &plan) == MCL_STATUS_OK, "%s: %s", n->name, mcl_last_error());
        cr_assert(mcl_plan_set_input(plan, 0, n->x, n->nx) == MCL_STATUS_OK, "%s", mcl_last_error());
        cr_assert(mcl_plan_run(plan, 0) == MCL_STATUS_OK, "%s", mcl_last_error());
        cr_assert(mcl_plan_get_output(plan, 0, n->seq, n->ny) == MCL_STATUS_OK, "%s", mcl_last_error());
        mcl_plan_destroy(plan);
        const float *in[1] = {n->x};
        float *want[1] = {NULL};
        cr_assert(ref_graph_run(n->g, in, want) == 0, "%s", ref_graph_error());
        double mx = 0, err = 0;
        for (size_t k = 0; k < n->ny; k++) {
            mx = fmax(mx, fabs(want[0][k]));
            err = fmax(err, fabs((double)n->seq[k] - want[0][k]));
        }
        cr_assert(err <= 1e-4 * (mx > 1 ? mx : 1), "%s: sequential run differs from the reference by %g", n->name, err);
        free(want[0]);
    }
    mcl_context_destroy(ctx);
}

Test(threads, two_networks_two_queues_one_context, .timeout = 1200)
{
    cr_assert(fi_install() == 0);
    fi_reset();
    net nets[2];
    mcl_zoo_options o1 = {0}, o2 = {.alpha = 0.35f, .resolution = 96};
    net_build(&nets[0], "shufflenet_v2_x0_5", &o1, 1);
    net_build(&nets[1], "mobilenet_v2", &o2, 2);
    sequential(nets, 2);

    mcl_context *parent = NULL, *child[2] = {NULL, NULL};
    cr_assert(mcl_context_create(NULL, &parent) == MCL_STATUS_OK, "%s", mcl_last_error());
    for (int i = 0; i < 2; i++) {
        cr_assert(mcl_context_create_shared(parent, &child[i]) == MCL_STATUS_OK, "%s", mcl_last_error());
        cr_assert(mcl_context_cl(child[i]) == mcl_context_cl(parent), "a child has its own OpenCL context");
        cr_assert(mcl_context_queue(child[i]) != mcl_context_queue(parent), "a child shares the parent's queue");
    }
    cr_assert(mcl_context_queue(child[0]) != mcl_context_queue(child[1]));
    mcl_context_destroy(parent); /* the children keep the shared state alive */
    job jobs[2];
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < 2; i++) {
        jobs[i].n = &nets[i];
        jobs[i].ctx = child[i];
        jobs[i].runs = RUNS;
        jobs[i].out = malloc(nets[i].ny * sizeof(float));
        cr_assert(jobs[i].out != NULL);
    }
    run_threads(jobs, 2);
    for (int i = 0; i < 2; i++) {
        check_job(&jobs[i], RUNS);
        free(jobs[i].out);
    }
    fprintf(stderr, "threads: %s and %s, %d runs each on two queues: bit-identical to the sequential runs; programs built %u + %u, in-memory hits %u + %u\n",
            nets[0].name, nets[1].name, RUNS, jobs[0].cs.programs_built, jobs[1].cs.programs_built,
            jobs[0].cs.memory_hits, jobs[1].cs.memory_hits);
    for (int i = 0; i < 2; i++)
        mcl_context_destroy(child[i]);
    for (int i = 0; i < 2; i++)
        net_free(&nets[i]);
    assert_all_released();
    fi_uninstall();
}

/* Both threads plan the same graph at once, on an empty shared cache: every
 * program is built exactly once (the other thread waits for it and finds
 * it), and both compute the sequential output. Several rounds. */
Test(threads, racing_plan_creation_builds_each_program_once, .timeout = 1200)
{
    cr_assert(fi_install() == 0);
    fi_reset();
    net n;
    mcl_zoo_options o = {.alpha = 0.35f, .resolution = 96};
    net_build(&n, "mobilenet_v2", &o, 3);
    sequential(&n, 1);
    for (int round = 0; round < 4; round++) {
        mcl_context *parent = NULL, *child[3] = {NULL, NULL, NULL};
        mcl_context_options co = {.block = round % 2 ? 8 : 0}; /* a new cache key space every other round */
        cr_assert(mcl_context_create(&co, &parent) == MCL_STATUS_OK, "%s", mcl_last_error());
        for (int i = 0; i < 3; i++)
            cr_assert(mcl_context_create_shared(parent, &child[i]) == MCL_STATUS_OK, "%s", mcl_last_error());
        job jobs[3];
        memset(jobs, 0, sizeof jobs);
        for (int i = 0; i < 3; i++) {
            jobs[i].n = &n;
            jobs[i].ctx = child[i];
            jobs[i].runs = 2;
            jobs[i].out = malloc(n.ny * sizeof(float));
            cr_assert(jobs[i].out != NULL);
        }
        net n8 = n;
        if (co.block == 8) { /* another block: other kernels, another sequential output */
            n8.seq = NULL;   /* the threads' outputs are compared with each other below instead */
            for (int i = 0; i < 3; i++)
                jobs[i].n = &n8;
        }
        run_threads(jobs, 3);
        uint32_t built = 0, hits = 0;
        for (int i = 0; i < 3; i++) {
            check_job(&jobs[i], 2);
            built += jobs[i].cs.programs_built;
            hits += jobs[i].cs.memory_hits;
            if (co.block == 8)
                cr_assert(memcmp(jobs[i].out, jobs[0].out, n.ny * sizeof(float)) == 0,
                          "round %d: thread %d's output differs from thread 0's", round, i);
        }
        mcl_plan *probe = NULL;
        /* the parent's view of the shared cache: the programs a plan uses */
        cr_assert(mcl_plan_create(parent, n.g, NULL, &probe) == MCL_STATUS_OK, "%s", mcl_last_error());
        mcl_plan_stats ps;
        cr_assert(mcl_plan_stats_get(probe, &ps) == MCL_STATUS_OK);
        mcl_cache_stats pcs;
        mcl_context_cache_stats(parent, &pcs);
        cr_assert(pcs.programs_built == 0, "round %d: the parent rebuilt %u programs the children built", round,
                  pcs.programs_built);
        cr_assert(built == ps.programs, "round %d: %u program builds for %zu distinct programs (%u hits)", round, built,
                  ps.programs, hits);
        mcl_plan_destroy(probe);
        for (int i = 0; i < 3; i++) {
            free(jobs[i].out);
            mcl_context_destroy(child[i]);
        }
        mcl_context_destroy(parent);
    }
    net_free(&n);
    assert_all_released();
    fi_uninstall();
}

Test(threads, create_shared_bad_arguments)
{
    mcl_context *child = (mcl_context *)1;
    mcl_status st = mcl_context_create_shared(NULL, &child);
    cr_assert(st == MCL_STATUS_INVALID_ARGUMENT && child == NULL, "NULL parent: %s", mcl_status_string(st));
    cr_assert(strstr(mcl_last_error(), "parent") != NULL, "message: %s", mcl_last_error());
    mcl_context *parent = NULL;
    cr_assert(mcl_context_create(NULL, &parent) == MCL_STATUS_OK);
    st = mcl_context_create_shared(parent, NULL);
    cr_assert(st == MCL_STATUS_INVALID_ARGUMENT, "NULL output: %s", mcl_status_string(st));
    cr_assert(strstr(mcl_last_error(), "output") != NULL, "message: %s", mcl_last_error());
    mcl_context_destroy(parent);
}
