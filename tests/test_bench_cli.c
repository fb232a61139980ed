/* `mobicl bench --lut` / `--predict` as a user runs them: the table has one
 * row per candidate of the search space with MACs that match an independent
 * count, and --predict cuts MobileNet V2 and MnasNet into parts that cover
 * every kernel of the network (no timing is asserted: tests check
 * correctness, bench/ checks speed). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MOBICL_CLI
#error "MOBICL_CLI (path of the mobicl executable) must be defined"
#endif

static char g_dir[64];

static void make_dir(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/mobicl_bench_XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(bench_cli, .init = make_dir, .fini = remove_dir, .timeout = 600);

static int bench(const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' bench %s >'%s/out.txt' 2>'%s/err.txt'", MOBICL_CLI, args, g_dir, g_dir);
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

/* MACs of one table entry, counted here from the definition. */
static unsigned long long macs_of(const char *kind, unsigned cin, unsigned cout, unsigned e, unsigned k, unsigned s,
                                  unsigned res, unsigned classes)
{
    if (!strcmp(kind, "stem"))
        return 3ull * 9 * cout * (res / 2) * (res / 2);
    if (!strcmp(kind, "head"))
        return (unsigned long long)cin * cout * res * res + (unsigned long long)cout * classes;
    const unsigned long long mid = (unsigned long long)cin * e, ro = res / s;
    return (e > 1 ? cin * mid * res * res : 0) + mid * k * k * ro * ro + mid * cout * ro * ro;
}

Test(bench_cli, lut_rows_cover_the_space)
{
    char args[256];
    snprintf(args, sizeof args, "--lut --runs 1 --resolution 64 --out '%s/lut.csv'", g_dir);
    cr_assert_eq(bench(args), 0, "%s", slurp("err.txt"));
    char *csv = slurp("lut.csv");
    char *line = strtok(csv, "\n");
    cr_assert_str_eq(line, "kind,cin,cout,expansion,kernel,stride,resolution,classes,macs,kernels,device_ms,wall_ms");
    int rows = 0, stems = 0, heads = 0, k5e6 = 0;
    while ((line = strtok(NULL, "\n"))) {
        char kind[16];
        unsigned cin, cout, e, k, s, res, classes, kernels;
        unsigned long long macs;
        double dev, wall;
        cr_assert_eq(sscanf(line, "%15[a-z],%u,%u,%u,%u,%u,%u,%u,%llu,%u,%lf,%lf", kind, &cin, &cout, &e, &k, &s, &res,
                            &classes, &macs, &kernels, &dev, &wall),
                     12, "row %d: %s", rows + 1, line);
        cr_assert_eq(macs, macs_of(kind, cin, cout, e, k, s, res, classes), "row %s", line);
        cr_assert(dev > 0 && wall > 0 && kernels >= 1, "row %s", line);
        stems += !strcmp(kind, "stem");
        heads += !strcmp(kind, "head");
        k5e6 += !strcmp(kind, "block") && k == 5 && e == 6;
        cr_assert(!strcmp(kind, "stem") || !strcmp(kind, "head") || (e == 1 && cin == 32 && cout == 16) ||
                      ((e == 3 || e == 6) && (k == 3 || k == 5)),
                  "row outside the space: %s", line);
        rows++;
    }
    /* stem, head, 2 expansion-1 blocks, and 4 candidates at each of the 19
     * distinct (cin, cout, stride, resolution) positions of the two
     * networks' stages (MobileNet V2: 11, MnasNet: 11, 3 shared) */
    cr_assert_eq(stems, 1);
    cr_assert_eq(heads, 1);
    cr_assert_eq(rows, 2 + 2 + 4 * 19, "rows %d", rows);
    cr_assert_eq(k5e6, 19);
}

static void predict_covers(const char *model)
{
    char args[256];
    snprintf(args, sizeof args, "--predict %s --runs 1", model);
    cr_assert_eq(bench(args), 0, "%s", slurp("err.txt"));
    char *out = slurp("out.txt");
    const char *p = strstr(out, "kernels in the parts");
    cr_assert_not_null(p, "%s", out);
    /* "<model>: 19 parts (...), 37 kernels in the parts, 37 in the network" */
    const char *q = p;
    while (q > out && q[-1] != ',')
        q--;
    unsigned parts_k = 0, net_k = 0;
    cr_assert_eq(sscanf(q, " %u kernels in the parts, %u in the network", &parts_k, &net_k), 2, "%s", out);
    cr_assert_eq(parts_k, net_k, "the parts miss kernels of the network: %s", out);
    unsigned nparts = 0;
    char pat[64];
    snprintf(pat, sizeof pat, "%s: ", model);
    const char *r = strstr(out, pat);
    cr_assert_not_null(r, "%s", out);
    cr_assert_eq(sscanf(r + strlen(pat), "%u parts", &nparts), 1);
    /* stem + 17 blocks + head for both (torchvision's MobileNet V2 has 17
     * inverted residuals; MNASNet B1 a SepConv and 16) */
    cr_assert_eq(nparts, 19, "%s", out);
    cr_assert_not_null(strstr(out, "error "), "%s", out);
}

Test(bench_cli, predict_mobilenet_v2) { predict_covers("mobilenet_v2"); }
Test(bench_cli, predict_mnasnet) { predict_covers("mnasnet1_0"); }

Test(bench_cli, bad_arguments)
{
    cr_assert_eq(bench(""), 2);
    cr_assert_eq(bench("--lut --predict mobilenet_v2"), 2);
    cr_assert_eq(bench("--lut --runs 0"), 2);
    cr_assert_eq(bench("--lut --resolution 100"), 2);
    cr_assert_not_null(strstr(slurp("err.txt"), "100"));
    cr_assert_eq(bench("--predict no_such_net"), 2);
    cr_assert_not_null(strstr(slurp("err.txt"), "no_such_net"));
    cr_assert_eq(bench("--predict shufflenet_v2_x1_0 --runs 1"), 1); /* no inverted residuals */
    cr_assert_eq(bench("--predict mobilenet_v2 --table /nonexistent/lut.csv"), 1);
    cr_assert_not_null(strstr(slurp("err.txt"), "/nonexistent/lut.csv"));
    char args[256];
    snprintf(args, sizeof args, "--predict mobilenet_v2 --table '%s'", g_dir); /* a directory */
    cr_assert_eq(bench(args), 1);
}
