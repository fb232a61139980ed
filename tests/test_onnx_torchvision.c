/* ONNX conformance with PyTorch: torchvision's shufflenet_v2_x1_0,
 * shufflenet_v2_x0_5, mobilenet_v2 and mnasnet1_0 (random weights from a
 * fixed seed, BatchNorm statistics randomised) exported by
 * tools/onnx_export.py at opsets 11 and 13 at test time, loaded with
 * mcl_onnx_load, planned and run on the device: max |mobicl - torch| <=
 * 1e-4 * max|torch|, top-5 agree as sets and top-1 equal. One model is also
 * run with every plan pass switched off. A table is printed to stderr.
 * Needs Debian's python3-torch, python3-torchvision, python3-onnx
 * (tools/setup.sh); without them the tests fail, naming the packages. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mobicl_graph.h"
#include "mobicl_onnx.h"

#ifndef MOBICL_SOURCE_DIR
#error "MOBICL_SOURCE_DIR must be defined"
#endif
#ifndef MOBICL_BUILD_DIR
#error "MOBICL_BUILD_DIR must be defined"
#endif

#define PYTHON "/usr/bin/python3"
#define SCRIPT MOBICL_SOURCE_DIR "/tools/onnx_export.py"
#define OUTDIR MOBICL_BUILD_DIR "/onnx_torchvision"
#define NCLASS 1000

/* mtime of path, 0 if it does not exist */
static long long mtime_of(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return 0;
    return (long long)st.st_mtime;
}

static void check_python(void)
{
    int rc = system(PYTHON " -c 'import torch, torchvision, onnx' >/dev/null 2>&1");
    cr_assert_eq(rc, 0,
                 "%s cannot import torch, torchvision and onnx: install Debian's python3-torch, "
                 "python3-torchvision and python3-onnx (tools/setup.sh does)",
                 PYTHON);
}

/* Export model/opset unless its three files exist and are newer than the
 * script; fills the paths. */
static void export_model(const char *model, int opset, char *onnx, char *input, char *logits, size_t cap)
{
    snprintf(onnx, cap, "%s/%s_opset%d.onnx", OUTDIR, model, opset);
    snprintf(input, cap, "%s/%s_input.npy", OUTDIR, model);
    snprintf(logits, cap, "%s/%s_opset%d_logits.npy", OUTDIR, model, opset);
    long long script = mtime_of(SCRIPT);
    cr_assert_gt(script, 0, "export script %s is missing", SCRIPT);
    if (mtime_of(onnx) > script && mtime_of(input) > script && mtime_of(logits) > script)
        return;
    check_python();
    char cmd[1024];
    snprintf(cmd, sizeof cmd, PYTHON " '%s' --model %s --opset %d --out '%s' --seed 1 >'%s/%s_opset%d.log' 2>&1",
             SCRIPT, model, opset, OUTDIR, OUTDIR, model, opset);
    mkdir(OUTDIR, 0755);
    int rc = system(cmd);
    cr_assert_eq(rc, 0, "export failed (see %s/%s_opset%d.log): %s", OUTDIR, model, opset, cmd);
    cr_assert_gt(mtime_of(onnx), 0, "%s not written", onnx);
}

static float *read_npy(const char *path, size_t expect)
{
    float *d = NULL;
    uint32_t dims[4] = {0};
    size_t nd = 0;
    cr_assert_eq(mcl_npy_read(path, &d, dims, &nd), MCL_STATUS_OK, "%s: %s", path, mcl_last_error());
    size_t n = 1;
    for (size_t i = 0; i < nd; i++)
        n *= dims[i];
    cr_assert_eq(n, expect, "%s has %zu elements, expected %zu", path, n, expect);
    return d;
}

/* indices of the 5 largest of v[0..n) in descending order */
static void top5(const float *v, size_t n, size_t idx[5])
{
    for (size_t k = 0; k < 5; k++) {
        size_t best = (size_t)-1;
        for (size_t i = 0; i < n; i++) {
            int taken = 0;
            for (size_t j = 0; j < k; j++)
                taken |= idx[j] == i;
            if (!taken && (best == (size_t)-1 || v[i] > v[best]))
                best = i;
        }
        idx[k] = best;
    }
}

static mcl_context *g_ctx;

static void setup_ctx(void)
{
    mcl_context_options co = {0};
    cr_assert_eq(mcl_context_create(&co, &g_ctx), MCL_STATUS_OK, "context: %s", mcl_last_error());
}

static void teardown_ctx(void)
{
    mcl_context_destroy(g_ctx);
    g_ctx = NULL;
}

static void check_model(const char *model, int opset, uint32_t disable)
{
    char onnx[512], input[512], logits[512];
    export_model(model, opset, onnx, input, logits, sizeof onnx);
    float *x = read_npy(input, 3 * 224 * 224);
    float *ref = read_npy(logits, NCLASS);

    mcl_graph *g = NULL;
    mcl_onnx_options oo = {0};
    mcl_status s = mcl_onnx_load(onnx, &oo, &g);
    cr_assert_eq(s, MCL_STATUS_OK, "%s opset %d: mcl_onnx_load: %s (%s)", model, opset, mcl_status_string(s),
                 mcl_last_error());
    cr_assert_eq(mcl_graph_input_count(g), 1);
    cr_assert_eq(mcl_graph_output_count(g), 1);
    mcl_shape is, os;
    cr_assert_eq(mcl_graph_value_shape(g, mcl_graph_input_value(g, 0), &is), MCL_STATUS_OK);
    cr_assert(is.n == 1 && is.c == 3 && is.h == 224 && is.w == 224, "%s: input shape %ux%ux%ux%u", model, is.n,
              is.c, is.h, is.w);
    cr_assert_eq(mcl_graph_value_shape(g, mcl_graph_output_value(g, 0), &os), MCL_STATUS_OK);
    cr_assert_eq(mcl_shape_count(&os), NCLASS, "%s: output shape %ux%ux%ux%u", model, os.n, os.c, os.h, os.w);

    mcl_plan *p = NULL;
    mcl_plan_options po = {.disable = disable};
    s = mcl_plan_create(g_ctx, g, &po, &p);
    cr_assert_eq(s, MCL_STATUS_OK, "%s opset %d: plan (disable 0x%x): %s", model, opset, disable, mcl_last_error());
    float *y = malloc(NCLASS * sizeof *y);
    cr_assert_not_null(y);
    for (size_t i = 0; i < NCLASS; i++)
        y[i] = NAN;
    cr_assert_eq(mcl_plan_set_input(p, 0, x, 3 * 224 * 224), MCL_STATUS_OK, "%s", mcl_last_error());
    cr_assert_eq(mcl_plan_run(p, 0), MCL_STATUS_OK, "%s", mcl_last_error());
    cr_assert_eq(mcl_plan_get_output(p, 0, y, NCLASS), MCL_STATUS_OK, "%s", mcl_last_error());

    double maxref = 0, maxdiff = 0;
    size_t worst = 0;
    int finite = 1;
    for (size_t i = 0; i < NCLASS; i++) {
        maxref = fmax(maxref, fabs(ref[i]));
        double d = fabs((double)y[i] - ref[i]);
        if (!isfinite(y[i]))
            finite = 0;
        if (d > maxdiff) {
            maxdiff = d;
            worst = i;
        }
    }
    size_t ti[5], tr[5];
    top5(y, NCLASS, ti);
    top5(ref, NCLASS, tr);
    int agree = 0;
    for (size_t k = 0; k < 5; k++)
        for (size_t j = 0; j < 5; j++)
            agree += ti[k] == tr[j];
    double rel = maxref > 0 ? maxdiff / maxref : INFINITY;
    fprintf(stderr, "onnx-torchvision | %-20s | opset %2d | passes off 0x%02x | max|torch| %.3e | max abs diff %.3e | rel %.3e | "
            "top-5 %d/5 | top-1 %s\n",
            model, opset, disable, maxref, maxdiff, rel, agree, ti[0] == tr[0] ? "same" : "DIFFERENT");

    cr_expect(finite, "%s opset %d: non-finite logits", model, opset);
    cr_expect(maxref > 0, "%s: PyTorch logits are all zero", model);
    cr_expect_leq(maxdiff, 1e-4 * maxref, "%s opset %d: max diff %g at %zu (mobicl %g, torch %g) > 1e-4 * %g", model,
                  opset, maxdiff, worst, y[worst], ref[worst], maxref);
    cr_expect_eq(agree, 5, "%s opset %d: top-5 agree on %d of 5", model, opset, agree);
    cr_expect_eq(ti[0], tr[0], "%s opset %d: top-1 %zu vs torch %zu", model, opset, ti[0], tr[0]);

    free(y);
    mcl_plan_destroy(p);
    mcl_graph_destroy(g);
    free(x);
    free(ref);
}

TestSuite(onnx_torchvision, .init = setup_ctx, .fini = teardown_ctx, .timeout = 600);

Test(onnx_torchvision, shufflenet_v2_x1_0_opset11) { check_model("shufflenet_v2_x1_0", 11, 0); }
Test(onnx_torchvision, shufflenet_v2_x1_0_opset13) { check_model("shufflenet_v2_x1_0", 13, 0); }
Test(onnx_torchvision, shufflenet_v2_x0_5_opset11) { check_model("shufflenet_v2_x0_5", 11, 0); }
Test(onnx_torchvision, shufflenet_v2_x0_5_opset13) { check_model("shufflenet_v2_x0_5", 13, 0); }
Test(onnx_torchvision, mobilenet_v2_opset11) { check_model("mobilenet_v2", 11, 0); }
Test(onnx_torchvision, mobilenet_v2_opset13) { check_model("mobilenet_v2", 13, 0); }
Test(onnx_torchvision, mnasnet1_0_opset11) { check_model("mnasnet1_0", 11, 0); }
Test(onnx_torchvision, mnasnet1_0_opset13) { check_model("mnasnet1_0", 13, 0); }

/* every plan pass off: BatchNorm, epilogues, views and the shuffle run as
 * separate kernels and must give the same answer */
Test(onnx_torchvision, shufflenet_v2_x1_0_all_passes_off) { check_model("shufflenet_v2_x1_0", 13, MCL_PASS_ALL); }
Test(onnx_torchvision, mobilenet_v2_all_passes_off) { check_model("mobilenet_v2", 11, MCL_PASS_ALL); }
