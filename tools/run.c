/* `mobicl run`: build a zoo network, plan it, run it, report. */
#include "mobicl_graph.h"
#include "cli_util.h"
#include "run.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct run_args {
    const char *model, *input, *output, *trace, *cache_dir, *device, *tuning_db;
    mcl_zoo_options zoo;
    uint32_t runs, warmup, disable;
    int profile, json, quick, verbose;
} run_args;

static void run_usage(FILE *f)
{
    fprintf(f,
            "usage: mobicl run --model NAME [options]\n"
            "  --model NAME        zoo network: mobilenet_v1, mobilenet_v2, shufflenet_v1, shufflenet_v2_x0_5,\n"
            "                      shufflenet_v2_x1_0, shufflenet_v2_x1_5, shufflenet_v2_x2_0, mnasnet0_5, mnasnet1_0;\n"
            "                      or an ONNX model FILE.onnx (opsets 9-17; --batch sets a symbolic batch)\n"
            "  --alpha A           width multiplier (mobilenet_v1, mobilenet_v2)\n"
            "  --resolution R      input height and width (mobilenet_v1, mobilenet_v2)\n"
            "  --groups G          shufflenet_v1 groups\n"
            "  --scale S           shufflenet_v1 / shufflenet_v2 scale\n"
            "  --batch N           batch size (default 1)\n"
            "  --seed S            weights seed (default 1)\n"
            "  --runs N            timed runs after warm-up (default 20)\n"
            "  --warmup N          untimed runs first (default 3)\n"
            "  --profile           per-layer table (OpenCL profiling events)\n"
            "  --trace FILE        Chrome/Perfetto trace of one profiled run (ui.perfetto.dev)\n"
            "  --json              one JSON object on stdout instead of the text report\n"
            "  --input FILE.npy    input (float32, C order, the network's N x C x H x W)\n"
            "  --output FILE.npy   write the output (logits: N x classes)\n"
            "  --disable LIST      switch passes off: fold_bn,epilogue,views,shuffle,memory,dwpw (or all)\n"
            "  --cache-dir DIR     on-disk program binary cache\n"
            "  --quick             start with the quick tier (mcl_plan_options.quick) and build the full plan\n"
            "                      on a shared context in a second thread meanwhile; times both\n"
            "  --tuning-db FILE    tuning database from mobicl tune (else MOBICL_TUNING_DB)\n"
            "  --device SEL        device index or name substring (else MOBICL_DEVICE, else first GPU)\n"
            "  --verbose           the library's information messages on stderr (device, program builds)\n");
}

static int parse_disable(const char *s, uint32_t *out)
{
    static const struct {
        const char *name;
        uint32_t bit;
    } k[] = {{"fold_bn", MCL_PASS_FOLD_BN}, {"epilogue", MCL_PASS_FUSE_EPILOGUE}, {"views", MCL_PASS_VIEWS},
             {"shuffle", MCL_PASS_FOLD_SHUFFLE}, {"memory", MCL_PASS_SHARE_BUFFERS}, {"dwpw", MCL_PASS_FUSE_DWPW}, {"all", MCL_PASS_ALL}};
    *out = 0;
    while (s && *s) {
        size_t len = strcspn(s, ",");
        int found = 0;
        for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
            if (strlen(k[i].name) == len && !strncmp(s, k[i].name, len)) {
                *out |= k[i].bit;
                found = 1;
            }
        if (!found) {
            fprintf(stderr, "mobicl run: --disable: unknown pass \"%.*s\" (fold_bn, epilogue, views, shuffle, memory, dwpw, all)\n",
                    (int)len, s);
            return 0;
        }
        s += len + (s[len] == ',');
    }
    return 1;
}

static int parse_args(int argc, char **argv, run_args *a)
{
    memset(a, 0, sizeof *a);
    a->runs = 20;
    a->warmup = 3;
    for (int i = 0; i < argc; i++) {
        const char *f = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1, ok = 1;
        if (!strcmp(f, "--model"))
            a->model = v;
        else if (!strcmp(f, "--alpha"))
            ok = cli_parse_float("run", f, v, &a->zoo.alpha);
        else if (!strcmp(f, "--scale"))
            ok = cli_parse_float("run", f, v, &a->zoo.scale);
        else if (!strcmp(f, "--resolution"))
            ok = cli_parse_u32("run", f, v, 1, 4096, &a->zoo.resolution);
        else if (!strcmp(f, "--groups"))
            ok = cli_parse_u32("run", f, v, 1, 64, &a->zoo.groups);
        else if (!strcmp(f, "--batch"))
            ok = cli_parse_u32("run", f, v, 1, 64, &a->zoo.batch);
        else if (!strcmp(f, "--seed")) {
            uint32_t s = 0;
            ok = cli_parse_u32("run", f, v, 0, UINT32_MAX, &s);
            a->zoo.seed = s;
        } else if (!strcmp(f, "--runs"))
            ok = cli_parse_u32("run", f, v, 1, 100000, &a->runs);
        else if (!strcmp(f, "--warmup"))
            ok = cli_parse_u32("run", f, v, 0, 100000, &a->warmup);
        else if (!strcmp(f, "--trace"))
            a->trace = v;
        else if (!strcmp(f, "--input"))
            a->input = v;
        else if (!strcmp(f, "--output"))
            a->output = v;
        else if (!strcmp(f, "--cache-dir"))
            a->cache_dir = v;
        else if (!strcmp(f, "--device"))
            a->device = v;
        else if (!strcmp(f, "--tuning-db"))
            a->tuning_db = v;
        else if (!strcmp(f, "--disable"))
            ok = parse_disable(v, &a->disable);
        else {
            takes = 0;
            if (!strcmp(f, "--profile"))
                a->profile = 1;
            else if (!strcmp(f, "--json"))
                a->json = 1;
            else if (!strcmp(f, "--quick"))
                a->quick = 1;
            else if (!strcmp(f, "--verbose"))
                a->verbose = 1;
            else if (!strcmp(f, "-h") || !strcmp(f, "--help")) {
                run_usage(stdout);
                exit(0);
            } else {
                fprintf(stderr, "mobicl run: unknown argument \"%s\" (see mobicl run --help)\n", f);
                return 0;
            }
        }
        if (!ok)
            return 0;
        if (takes) {
            if (!v) {
                fprintf(stderr, "mobicl run: %s needs a value\n", f);
                return 0;
            }
            i++;
        }
    }
    if (!a->model) {
        fprintf(stderr, "mobicl run: --model NAME is required (see mobicl run --help)\n");
        return 0;
    }
    return 1;
}

static void write_trace(FILE *f, const mcl_plan *plan)
{
    size_t n = mcl_plan_step_count(plan);
    uint64_t base = UINT64_MAX;
    for (size_t i = 0; i < n; i++) {
        mcl_step_info s;
        if (mcl_plan_step(plan, i, &s) == MCL_STATUS_OK && s.time_ms >= 0 && s.start_ns < base)
            base = s.start_ns;
    }
    fprintf(f, "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n");
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        mcl_step_info s;
        if (mcl_plan_step(plan, i, &s) != MCL_STATUS_OK || s.time_ms < 0)
            continue;
        fprintf(f,
                "%s{\"name\":\"%s\",\"cat\":\"%s\",\"ph\":\"X\",\"pid\":1,\"tid\":1,\"ts\":%.3f,\"dur\":%.3f,"
                "\"args\":{\"kernel\":\"%s\",\"fused\":\"%s\",\"out\":\"%ux%ux%ux%u\",\"mflop\":%.3f}}",
                first ? "" : ",\n", s.name, s.op, (double)(s.start_ns - base) / 1e3,
                (double)(s.end_ns - s.start_ns) / 1e3, s.kernel, s.fused, s.out.n, s.out.c, s.out.h, s.out.w,
                s.flops / 1e6);
        first = 0;
    }
    fprintf(f, "\n]}\n");
}

/* Bad tuning databases and the like are reported through the log (warnings only). */
static void run_log(void *user, mcl_log_level level, const char *msg)
{
    (void)user;
    if (level == MCL_LOG_WARN)
        fprintf(stderr, "mobicl run: warning: %s\n", msg);
    else if (level == MCL_LOG_INFO)
        fprintf(stderr, "mobicl run: %s\n", msg);
}

/* --quick: the full plan, built on a shared context by a second thread
 * while the first serves inferences with the quick plan */
typedef struct full_job {
    mcl_context *ctx; /* a shared child of the run's context */
    const mcl_graph *g;
    const float *x;
    size_t icount;
    uint32_t disable;
    mcl_plan *plan;
    mcl_status st;
    char err[600];
    double done_ms;
    atomic_int done;
} full_job;

static void *full_worker(void *arg)
{
    full_job *j = arg;
    mcl_plan_options po = {.disable = j->disable};
    mcl_status st = mcl_plan_create(j->ctx, j->g, &po, &j->plan);
    if (st == MCL_STATUS_OK)
        st = mcl_plan_set_input(j->plan, 0, j->x, j->icount);
    if (st == MCL_STATUS_OK) /* its first run: POCL generates the kernels' code now */
        st = mcl_plan_run(j->plan, 0);
    if (st == MCL_STATUS_OK)
        st = mcl_context_finish(j->ctx);
    if (st != MCL_STATUS_OK)
        snprintf(j->err, sizeof j->err, "%s", mcl_last_error());
    j->st = st;
    j->done_ms = cli_now_ms();
    atomic_store(&j->done, 1);
    return NULL;
}

static int fail(const char *what)
{
    fprintf(stderr, "mobicl run: %s: %s\n", what, mcl_last_error());
    return 1;
}

int mcl_cli_run(int argc, char **argv)
{
    run_args a;
    if (!parse_args(argc, argv, &a))
        return 2;
    int rc = 1;
    mcl_graph *g = NULL;
    mcl_context *ctx = NULL;
    mcl_context *full_ctx = NULL; /* --quick: the context the full plan is built on */
    mcl_plan *plan = NULL;
    float *x = NULL, *y = NULL;
    double *lat = NULL, *lt = NULL;
    if (cli_load_model(a.model, &a.zoo, &g) != MCL_STATUS_OK) {
        fprintf(stderr, "mobicl run: model \"%s\": %s\n", a.model, mcl_last_error());
        return 2;
    }
    mcl_shape ishape;
    mcl_graph_value_shape(g, mcl_graph_input_value(g, 0), &ishape);
    size_t icount = (size_t)ishape.n * ishape.c * ishape.h * ishape.w;
    if (a.input) {
        uint32_t dims[4];
        size_t nd = 0;
        if (mcl_npy_read(a.input, &x, dims, &nd) != MCL_STATUS_OK) {
            fprintf(stderr, "mobicl run: %s\n", mcl_last_error());
            goto out;
        }
        uint32_t want[4] = {ishape.n, ishape.c, ishape.h, ishape.w};
        int ok = nd == 4 || (nd == 3 && ishape.n == 1);
        for (size_t i = 0; i < nd && ok; i++)
            ok = dims[i] == want[4 - nd + i];
        if (!ok) {
            fprintf(stderr, "mobicl run: --input %s has shape (", a.input);
            for (size_t i = 0; i < nd; i++)
                fprintf(stderr, "%s%u", i ? ", " : "", dims[i]);
            fprintf(stderr, "), the network takes (%u, %u, %u, %u)\n", want[0], want[1], want[2], want[3]);
            goto out;
        }
    } else {
        x = cli_random_floats(icount, 12345);
        if (!x) {
            fprintf(stderr, "mobicl run: out of memory for the input\n");
            goto out;
        }
    }
    mcl_context_options co = {0};
    co.profiling = a.profile || a.trace;
    co.cache_dir = a.cache_dir;
    co.device = a.device;
    co.tuning_db = a.tuning_db;
    co.log = run_log;
    co.log_level = a.verbose ? MCL_LOG_INFO : MCL_LOG_WARN;
    if (a.quick && a.cache_dir) {
        fprintf(stderr, "mobicl run: --quick and --cache-dir: give one (--quick is for a start without a cache; "
                        "with a filled cache the start is already warm)\n");
        goto out;
    }
    mcl_plan_options po = {.disable = a.disable, .quick = a.quick};
    double quick_start = 0, full_ready = 0, quick_med = 0, quick_diff = 0;
    uint32_t quick_runs = 0;
    /* start-up: context + plan (program builds) + first run; with a cache
     * directory twice, the second time from the cache filled by the first */
    double ctx_ms[2] = {0}, build_ms = 0, first_ms = 0, cold_build = 0, cold_first = 0, save_ms = 0, t0 = 0;
    mcl_cache_stats cs[2] = {{0}};
    int passes = a.cache_dir ? 2 : 1;
    for (int pass = 0; pass < passes; pass++) {
        if (pass) {
            cold_build = build_ms;
            cold_first = first_ms;
            mcl_plan_destroy(plan);
            plan = NULL;
            mcl_context_destroy(ctx);
            ctx = NULL;
        }
        t0 = quick_start = cli_now_ms();
        if (mcl_context_create(&co, &ctx) != MCL_STATUS_OK) {
            rc = fail("cannot create an OpenCL context");
            goto out;
        }
        ctx_ms[pass] = cli_now_ms() - t0;
        t0 = cli_now_ms();
        if (mcl_plan_create(ctx, g, &po, &plan) != MCL_STATUS_OK) {
            rc = fail("cannot plan the network");
            goto out;
        }
        build_ms = cli_now_ms() - t0;
        mcl_context_cache_stats(ctx, &cs[pass]);
        if (mcl_plan_set_input(plan, 0, x, icount) != MCL_STATUS_OK) {
            rc = fail("input");
            goto out;
        }
        mcl_shape os;
        mcl_plan_output_shape(plan, 0, &os);
        size_t on = (size_t)os.n * os.c * os.h * os.w;
        free(y);
        if (!(y = malloc(on * sizeof *y))) {
            fprintf(stderr, "mobicl run: out of memory\n");
            goto out;
        }
        /* first run: includes any lazy driver work (POCL compiles each
         * kernel for its work-group size at the first launch) */
        t0 = cli_now_ms();
        if (mcl_plan_run(plan, 0) != MCL_STATUS_OK || mcl_plan_get_output(plan, 0, y, on) != MCL_STATUS_OK) {
            rc = fail("run");
            goto out;
        }
        first_ms = cli_now_ms() - t0;
        if (a.cache_dir && pass == 0) {
            /* what an app does once its first inference is out: fill the
             * disk cache (off the start-up path; see mcl_context_save_cache) */
            t0 = cli_now_ms();
            if (mcl_context_save_cache(ctx) != MCL_STATUS_OK)
                fprintf(stderr, "mobicl run: warning: %s\n", mcl_last_error());
            save_ms = cli_now_ms() - t0;
        }
    }
    if (a.quick) {
        /* serve inferences with the quick plan until the full one is ready */
        mcl_shape qs;
        mcl_plan_output_shape(plan, 0, &qs);
        size_t qn = (size_t)qs.n * qs.c * qs.h * qs.w;
        float *yq = malloc(qn * sizeof *yq);
        double *ql = malloc(100000 * sizeof *ql);
        full_job job = {.g = g, .x = x, .icount = icount, .disable = a.disable};
        atomic_init(&job.done, 0);
        pthread_t th;
        int ok = yq && ql && mcl_context_create_shared(ctx, &full_ctx) == MCL_STATUS_OK;
        if (ok) {
            job.ctx = full_ctx;
            ok = pthread_create(&th, NULL, full_worker, &job) == 0;
            if (!ok)
                fprintf(stderr, "mobicl run: cannot start a thread\n");
        }
        int served_ok = 1;
        while (ok && !atomic_load(&job.done) && quick_runs < 100000) {
            t0 = cli_now_ms();
            if (mcl_plan_run(plan, 0) != MCL_STATUS_OK || mcl_context_finish(ctx) != MCL_STATUS_OK) {
                served_ok = 0;
                break;
            }
            ql[quick_runs++] = cli_now_ms() - t0;
        }
        if (ok)
            pthread_join(th, NULL);
        if (quick_runs)
            quick_med = cli_median(ql, quick_runs);
        free(ql);
        if (!ok || !served_ok || job.st != MCL_STATUS_OK) {
            if (!ok || !served_ok)
                rc = fail("quick start");
            else
                fprintf(stderr, "mobicl run: the full plan: %s\n", job.err);
            mcl_plan_destroy(job.plan);
            free(yq);
            goto out;
        }
        full_ready = job.done_ms - quick_start;
        /* the quick plan's answer against the full plan's */
        memcpy(yq, y, qn * sizeof *yq);
        if (mcl_plan_get_output(job.plan, 0, y, qn) != MCL_STATUS_OK) {
            rc = fail("reading the full plan's output");
            mcl_plan_destroy(job.plan);
            free(yq);
            goto out;
        }
        for (size_t i = 0; i < qn; i++)
            quick_diff = fmax(quick_diff, fabs((double)yq[i] - y[i]));
        free(yq);
        /* from here on: the full plan on its context */
        mcl_plan_destroy(plan);
        plan = job.plan;
        mcl_context *old = ctx;
        ctx = full_ctx;
        full_ctx = old; /* destroyed at the end */
    }
    mcl_shape oshape;
    mcl_plan_output_shape(plan, 0, &oshape);
    size_t ocount = (size_t)oshape.n * oshape.c * oshape.h * oshape.w;
    lat = malloc(a.runs * sizeof *lat);
    if (!lat) {
        fprintf(stderr, "mobicl run: out of memory\n");
        goto out;
    }
    for (uint32_t i = 0; i < a.warmup; i++)
        if (mcl_plan_run(plan, 0) != MCL_STATUS_OK || mcl_context_finish(ctx) != MCL_STATUS_OK) {
            rc = fail("run");
            goto out;
        }
    for (uint32_t i = 0; i < a.runs; i++) {
        t0 = cli_now_ms();
        if (mcl_plan_run(plan, 0) != MCL_STATUS_OK || mcl_context_finish(ctx) != MCL_STATUS_OK) {
            rc = fail("run");
            goto out;
        }
        lat[i] = cli_now_ms() - t0;
    }
    double lmin = lat[0], lmax = lat[0];
    for (uint32_t i = 0; i < a.runs; i++) {
        lmin = lat[i] < lmin ? lat[i] : lmin;
        lmax = lat[i] > lmax ? lat[i] : lmax;
    }
    double lmed = cli_median(lat, a.runs);
    if (mcl_plan_get_output(plan, 0, y, ocount) != MCL_STATUS_OK) {
        rc = fail("reading the output");
        goto out;
    }
    /* per-layer: median over several profiled runs */
    size_t nsteps = mcl_plan_step_count(plan);
    uint32_t pruns = a.runs < 10 ? a.runs : 10;
    if (a.profile || a.trace) {
        lt = calloc(nsteps * pruns, sizeof *lt);
        if (!lt) {
            fprintf(stderr, "mobicl run: out of memory\n");
            goto out;
        }
        for (uint32_t r = 0; r < pruns; r++) {
            if (mcl_plan_run(plan, 1) != MCL_STATUS_OK || mcl_context_finish(ctx) != MCL_STATUS_OK) {
                rc = fail("profiled run");
                goto out;
            }
            for (size_t i = 0; i < nsteps; i++) {
                mcl_step_info s;
                mcl_plan_step(plan, i, &s);
                lt[i * pruns + r] = s.time_ms;
            }
        }
    }
    if (a.trace) {
        FILE *f = fopen(a.trace, "w");
        if (!f) {
            fprintf(stderr, "mobicl run: --trace %s: %s\n", a.trace, strerror(errno));
            goto out;
        }
        write_trace(f, plan);
        if (fclose(f)) {
            fprintf(stderr, "mobicl run: --trace %s: write failed\n", a.trace);
            goto out;
        }
    }
    if (a.output) {
        uint32_t dims[4] = {oshape.n, oshape.c, oshape.h, oshape.w};
        size_t nd = oshape.h == 1 && oshape.w == 1 ? 2 : 4;
        if (mcl_npy_write(a.output, y, dims, nd) != MCL_STATUS_OK) {
            fprintf(stderr, "mobicl run: %s\n", mcl_last_error());
            goto out;
        }
    }
    mcl_plan_stats st;
    mcl_plan_stats_get(plan, &st);
    const mcl_device_info *di = mcl_context_device_info(ctx);
    double total = 0;
    double *med = calloc(nsteps ? nsteps : 1, sizeof *med);
    if (!med)
        goto out;
    for (size_t i = 0; i < nsteps && lt; i++) {
        med[i] = cli_median(lt + i * pruns, pruns);
        total += med[i];
    }
    if (a.json) {
        printf("{\"model\":\"%s\",\"device\":\"%s\",\"batch\":%u,\"input\":[%u,%u,%u,%u],\"kernels\":%zu,"
               "\"programs\":%zu,\"shuffle_kernels\":%zu,\"macs\":%llu,\"params\":%llu,\"build_ms\":%.3f,"
               "\"first_run_ms\":%.3f,\"context_ms\":%.3f,\"runs\":%u,\"latency_ms\":{\"median\":%.4f,\"min\":%.4f,\"max\":%.4f},"
               "\"memory_bytes\":{\"planned\":%llu,\"naive\":%llu,\"lower_bound\":%llu,\"buffers\":%zu}",
               a.model, di->name, ishape.n, ishape.n, ishape.c, ishape.h, ishape.w, st.kernels, st.programs,
               st.shuffle_kernels, (unsigned long long)st.macs, (unsigned long long)st.params, build_ms, first_ms,
               ctx_ms[passes - 1], a.runs, lmed, lmin, lmax, (unsigned long long)st.peak_bytes, (unsigned long long)st.naive_bytes,
               (unsigned long long)st.lower_bound, st.buffers);
        if (a.quick)
            printf(",\"quick\":{\"first_inference_ms\":%.3f,\"full_plan_ready_ms\":%.3f,\"inferences_meanwhile\":%u,"
                   "\"quick_latency_median_ms\":%.4f,\"max_abs_diff_vs_full\":%.3g}",
                   ctx_ms[0] + cold_build + first_ms, full_ready, quick_runs, quick_med, quick_diff);
        if (a.cache_dir)
            printf(",\"cold\":{\"context_ms\":%.3f,\"build_ms\":%.3f,\"first_run_ms\":%.3f,\"programs_built\":%u,"
                   "\"total_ms\":%.3f,\"cache_save_ms\":%.3f},"
                   "\"warm\":{\"context_ms\":%.3f,\"build_ms\":%.3f,\"first_run_ms\":%.3f,\"programs_loaded\":%u,"
                   "\"total_ms\":%.3f}",
                   ctx_ms[0], cold_build, cold_first, cs[0].programs_built, ctx_ms[0] + cold_build + cold_first, save_ms,
                   ctx_ms[1], build_ms, first_ms, cs[1].programs_loaded, ctx_ms[1] + build_ms + first_ms);
        if (lt) {
            printf(",\"layers\":[");
            for (size_t i = 0; i < nsteps; i++) {
                mcl_step_info s;
                mcl_plan_step(plan, i, &s);
                const char *src = mcl_op_tunables_source(mcl_plan_step_op(plan, i));
                printf("%s{\"name\":\"%s\",\"op\":\"%s\",\"kernel\":\"%s\",\"fused\":\"%s\",\"params\":\"%s\","
                       "\"out\":[%u,%u,%u,%u],\"ms\":%.5f,\"flops\":%.0f,\"bytes\":%.0f}",
                       i ? "," : "", s.name, s.op, s.kernel, s.fused, src && *src ? src : "-", s.out.n, s.out.c,
                       s.out.h, s.out.w, med[i], s.flops, s.bytes);
            }
            printf("]");
        }
        printf("}\n");
    } else {
        printf("model        %s (input %ux%ux%ux%u)\n", a.model, ishape.n, ishape.c, ishape.h, ishape.w);
        printf("device       %s (channel block %u)\n", di->name, mcl_context_block(ctx));
        printf("plan         %zu kernels (%zu shuffle/split/concat), %zu program%s\n", st.kernels, st.shuffle_kernels,
               st.programs, st.programs == 1 ? "" : "s");
        printf("MACs         %.1f M\nparams       %.3f M\n", st.macs / 1e6, st.params / 1e6);
        if (a.cache_dir) {
            printf("start-up     cold: context %.1f ms + plan %.1f ms (programs: %u built, %u loaded) + first run %.1f ms"
                   " = %.1f ms\n",
                   ctx_ms[0], cold_build, cs[0].programs_built, cs[0].programs_loaded, cold_first,
                   ctx_ms[0] + cold_build + cold_first);
            printf("             then the cache was saved: %.1f ms (mcl_context_save_cache, after the first inference)\n",
                   save_ms);
            printf("             warm: context %.1f ms + plan %.1f ms (programs: %u built, %u loaded) + first run %.1f ms"
                   " = %.1f ms\n",
                   ctx_ms[1], build_ms, cs[1].programs_built, cs[1].programs_loaded, first_ms,
                   ctx_ms[1] + build_ms + first_ms);
        } else if (a.quick) {
            printf("start-up     quick: context %.1f ms + plan %.1f ms (programs built: %u) + first run %.1f ms = %.1f ms\n",
                   ctx_ms[0], build_ms, cs[0].programs_built, first_ms, ctx_ms[0] + build_ms + first_ms);
            printf("             full plan ready %.1f ms after the start (built by a second thread on a shared context\n"
                   "             while the quick plan served %u inferences, median %.3f ms; max |quick - full| %.3g)\n",
                   full_ready, quick_runs, quick_med, quick_diff);
        } else {
            printf("start-up     context %.1f ms + plan %.1f ms (programs built: %u) + first run %.1f ms\n", ctx_ms[0],
                   build_ms, cs[0].programs_built, first_ms);
        }
        printf("latency      median %.3f ms, min %.3f, max %.3f over %u runs (after %u warm-up)\n", lmed, lmin, lmax,
               a.runs, a.warmup);
        printf("memory       %.2f MiB activations planned in %zu buffers (naive %.2f MiB, lower bound %.2f MiB)\n",
               st.peak_bytes / 1048576.0, st.buffers, st.naive_bytes / 1048576.0, st.lower_bound / 1048576.0);
        if (lt) {
            printf("\ntuning database: %zu entries in use (params: db = tuned entry, db-near = nearby shape, default = heuristic)\n",
                   mcl_context_tuning_db_entries(ctx));
            printf("%-28s %-8s %-12s %-16s %-8s %-18s %9s %6s %10s\n", "layer", "op", "kernel", "fused", "params",
                   "out (NxCxHxW)", "ms", "share", "rate");
            for (size_t i = 0; i < nsteps; i++) {
                mcl_step_info s;
                mcl_plan_step(plan, i, &s);
                char shp[40], rate[24];
                snprintf(shp, sizeof shp, "%ux%ux%ux%u", s.out.n, s.out.c, s.out.h, s.out.w);
                if (med[i] <= 0)
                    snprintf(rate, sizeof rate, "-");
                else if (s.flops > 4 * s.bytes)
                    snprintf(rate, sizeof rate, "%.1f GF/s", s.flops / med[i] / 1e6);
                else
                    snprintf(rate, sizeof rate, "%.1f GB/s", s.bytes / med[i] / 1e6);
                const char *src = mcl_op_tunables_source(mcl_plan_step_op(plan, i));
                printf("%-28.28s %-8s %-12s %-16.16s %-8s %-18s %9.4f %5.1f%% %10s\n", s.name, s.op, s.kernel, s.fused,
                       src && *src ? src : "-", shp, med[i], total > 0 ? 100 * med[i] / total : 0, rate);
            }
            printf("%-28s %-8s %-12s %-16s %-8s %-18s %9.4f\n", "total (kernel time)", "", "", "", "", "", total);
        }
    }
    free(med);
    rc = 0;
out:
    free(lt);
    free(lat);
    free(x);
    free(y);
    mcl_plan_destroy(plan);
    mcl_context_destroy(ctx);
    mcl_context_destroy(full_ctx);
    mcl_graph_destroy(g);
    return rc;
}
