/* `mobicl run` as a user runs it: the output it writes for an input file
 * matches the reference executor; --json and --trace produce what they
 * promise; bad arguments give one clear line on stderr and exit != 0. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mobicl_graph.h"
#include "ref_graph.h"

#ifndef MOBICL_CLI
#error "MOBICL_CLI (path of the mobicl executable) must be defined"
#endif

static char g_dir[64];

static void make_dir(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/mobicl_cli_XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(cli, .init = make_dir, .fini = remove_dir, .timeout = 300);

/* Run `mobicl run ARGS`, stdout and stderr to files; returns the exit code. */
static int run(const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' run %s >'%s/out.txt' 2>'%s/err.txt'", MOBICL_CLI, args, g_dir, g_dir);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static char *slurp(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

Test(cli, output_matches_reference)
{
    mcl_graph *g = NULL;
    mcl_zoo_options o = {.alpha = 0.25f, .resolution = 128, .seed = 3};
    cr_assert_eq(mcl_zoo_build("mobilenet_v1", &o, &g), MCL_STATUS_OK, "%s", mcl_last_error());
    size_t xn = 3 * 128 * 128;
    float *x = malloc(xn * sizeof *x), *ref[MCL_GRAPH_MAX_IO] = {0};
    ref_graph_fill_input(x, xn, 11);
    const float *ins[1] = {x};
    cr_assert_eq(ref_graph_run(g, ins, ref), 0, "%s", ref_graph_error());
    char xp[128], yp[128], args[512];
    snprintf(xp, sizeof xp, "%s/x.npy", g_dir);
    snprintf(yp, sizeof yp, "%s/y.npy", g_dir);
    uint32_t dims[4] = {1, 3, 128, 128};
    cr_assert_eq(mcl_npy_write(xp, x, dims, 4), MCL_STATUS_OK, "%s", mcl_last_error());
    snprintf(args, sizeof args, "--model mobilenet_v1 --alpha 0.25 --resolution 128 --seed 3 --runs 2 --input '%s' --output '%s'",
             xp, yp);
    cr_assert_eq(run(args), 0, "mobicl run failed: %s", slurp("err.txt"));
    float *y = NULL;
    uint32_t yd[4];
    size_t nd = 0;
    cr_assert_eq(mcl_npy_read(yp, &y, yd, &nd), MCL_STATUS_OK, "%s", mcl_last_error());
    cr_assert_eq(nd, 2);
    cr_assert(yd[0] == 1 && yd[1] == 1000, "output shape %u x %u", yd[0], yd[1]);
    double m = 0, d = 0;
    for (size_t i = 0; i < 1000; i++) {
        /* plain compares: gcc 12's aarch64 vectoriser crashes on fmax here */
        double r = fabs(ref[0][i]), e = fabs((double)y[i] - ref[0][i]);
        if (r > m)
            m = r;
        if (e > d)
            d = e;
    }
    cr_expect_leq(d, 1e-4 * m, "max |diff| %g vs largest logit %g", d, m);
    const char *text = slurp("out.txt");
    cr_expect(strstr(text, "latency") && strstr(text, "MACs") && strstr(text, "kernels") && strstr(text, "memory"),
              "report lacks fields:\n%s", text);
    free(x);
    free(y);
    free(ref[0]);
    mcl_graph_destroy(g);
}

Test(cli, json_and_trace)
{
    char args[512];
    snprintf(args, sizeof args, "--model shufflenet_v2_x0_5 --runs 3 --json --profile --trace '%s/t.json'", g_dir);
    cr_assert_eq(run(args), 0, "mobicl run failed: %s", slurp("err.txt"));
    const char *j = slurp("out.txt");
    cr_expect(strstr(j, "\"macs\":40") != NULL, "json lacks the MAC count: %.300s", j);
    cr_expect(strstr(j, "\"median\":") && strstr(j, "\"layers\":[") && strstr(j, "\"shuffle_kernels\":0"),
              "json lacks fields: %.300s", j);
    /* both files are valid JSON (python3 is part of Debian's base) */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "python3 -c 'import json,sys; json.load(open(sys.argv[1])); d=json.load(open(sys.argv[2])); "
                              "assert len(d[\"traceEvents\"]) > 10' '%s/out.txt' '%s/t.json'",
             g_dir, g_dir);
    cr_expect_eq(system(cmd), 0, "invalid JSON from --json or --trace");
}

/* --quick: the first inference from the quick plan, the full plan built
 * meanwhile on a second thread; both compute the same logits */
Test(cli, quick_start)
{
    cr_assert_eq(run("--model shufflenet_v2_x0_5 --quick --runs 3 --json"), 0, "mobicl run --quick failed: %s",
                 slurp("err.txt"));
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import json,sys; q=json.load(open(sys.argv[1]))[\"quick\"]; "
             "assert 0 < q[\"first_inference_ms\"] <= q[\"full_plan_ready_ms\"], q; "
             "assert q[\"max_abs_diff_vs_full\"] <= 1e-3, q' '%s/out.txt'",
             g_dir);
    cr_expect_eq(system(cmd), 0, "--quick JSON: %s", slurp("out.txt"));
    /* --verbose: the library's information messages, among them the plan's one program build */
    cr_assert_eq(run("--model shufflenet_v2_x0_5 --runs 2 --verbose"), 0, "%s", slurp("err.txt"));
    const char *e = slurp("err.txt");
    cr_expect(strstr(e, "a bundle of") != NULL && strstr(e, "device") != NULL, "--verbose stderr: %s", e);
}

static void expect_error(const char *args, const char *needle)
{
    int rc = run(args);
    cr_expect_neq(rc, 0, "`mobicl run %s` succeeded", args);
    const char *e = slurp("err.txt");
    cr_expect(strstr(e, needle) != NULL, "`mobicl run %s`: stderr lacks \"%s\":\n%s", args, needle, e);
    int lines = 0;
    for (const char *c = e; *c; c++)
        lines += *c == '\n';
    cr_expect_eq(lines, 1, "`mobicl run %s`: %d lines on stderr:\n%s", args, lines, e);
}

Test(cli, bad_arguments)
{
    expect_error("", "--model");
    expect_error("--model nosuchnet", "nosuchnet");
    expect_error("--model mobilenet_v1 --alpha 0.3", "0.3");
    expect_error("--model mobilenet_v1 --resolution 100", "100");
    expect_error("--model shufflenet_v1 --groups 5", "5");
    expect_error("--model mobilenet_v2 --runs 0", "--runs");
    expect_error("--model mobilenet_v2 --runs", "--runs");
    expect_error("--model mobilenet_v2 --frobnicate", "--frobnicate");
    expect_error("--model mobilenet_v2 --disable nonsense", "nonsense");
    expect_error("--model mobilenet_v2 --quick --cache-dir /tmp", "--quick");
    expect_error("--model mobilenet_v2 --input /nonexistent/x.npy", "/nonexistent/x.npy");
    char args[256];
    snprintf(args, sizeof args, "--model mobilenet_v2 --input '%s'", g_dir); /* a directory */
    expect_error(args, g_dir);
    /* an input of the wrong shape */
    char xp[128];
    snprintf(xp, sizeof xp, "%s/small.npy", g_dir);
    float v[3 * 8 * 8] = {0};
    uint32_t dims[4] = {1, 3, 8, 8};
    cr_assert_eq(mcl_npy_write(xp, v, dims, 4), MCL_STATUS_OK);
    snprintf(args, sizeof args, "--model mobilenet_v2 --input '%s'", xp);
    expect_error(args, "(1, 3, 8, 8)");
}
