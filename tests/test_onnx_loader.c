/* The ONNX importer on small models made at test time by
 * tests/onnx/make_models.py (python3-onnx): a conv/relu/pool/gemm/softmax
 * model and the exporters' shape subgraph + channel-shuffle pattern, run
 * on the device against NumPy's answers; weights as external data; and one
 * broken model per rule (status and the message naming what broke), every
 * truncation of a valid file, and bad arguments. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mobicl_onnx.h"
#include "ref.h"

#ifndef MOBICL_SOURCE_DIR
#error "MOBICL_SOURCE_DIR must be defined"
#endif

static char g_dir[64];

static void make_models(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/mobicl_onnx_XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
    char cmd[512];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/onnx/make_models.py' '%s' >/dev/null", MOBICL_SOURCE_DIR,
             g_dir);
    cr_assert_eq(system(cmd), 0, "%s failed: the tests need Debian's python3-onnx (tools/setup.sh installs it)", cmd);
}

static void remove_models(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(onnx_loader, .init = make_models, .fini = remove_models, .timeout = 300);

static const char *path(const char *name)
{
    static char p[256];
    snprintf(p, sizeof p, "%s/%s", g_dir, name);
    return p;
}

/* Load name.onnx, plan, run on name_in.npy (or tiny_in.npy) and compare
 * with the expected .npy. */
static void run_model(const char *name, const char *in, const char *want_file, mcl_node_kind must_have)
{
    char file[64];
    snprintf(file, sizeof file, "%s.onnx", name);
    mcl_graph *g = NULL;
    cr_assert_eq(mcl_onnx_load(path(file), NULL, &g), MCL_STATUS_OK, "%s", mcl_last_error());
    int found = 0;
    for (size_t i = 0; i < mcl_graph_node_count(g); i++) {
        mcl_node_info n;
        cr_assert_eq(mcl_graph_node(g, i, &n), MCL_STATUS_OK);
        found |= n.kind == must_have;
    }
    cr_assert(found, "%s: no node of kind %d", name, must_have);
    float *x = NULL, *want = NULL;
    uint32_t dx[4], dw[4];
    size_t nx = 0, nw = 0;
    cr_assert_eq(mcl_npy_read(path(in), &x, dx, &nx), MCL_STATUS_OK, "%s", mcl_last_error());
    cr_assert_eq(mcl_npy_read(path(want_file), &want, dw, &nw), MCL_STATUS_OK, "%s", mcl_last_error());
    size_t xc = 1, yc = 1;
    for (size_t i = 0; i < nx; i++)
        xc *= dx[i];
    for (size_t i = 0; i < nw; i++)
        yc *= dw[i];
    mcl_context *ctx = NULL;
    cr_assert_eq(mcl_context_create(NULL, &ctx), MCL_STATUS_OK);
    mcl_plan *p = NULL;
    cr_assert_eq(mcl_plan_create(ctx, g, NULL, &p), MCL_STATUS_OK, "%s", mcl_last_error());
    float *y = malloc(yc * sizeof *y);
    cr_assert_not_null(y);
    cr_assert_eq(mcl_plan_set_input(p, 0, x, xc), MCL_STATUS_OK, "%s", mcl_last_error());
    cr_assert_eq(mcl_plan_run(p, 0), MCL_STATUS_OK, "%s", mcl_last_error());
    cr_assert_eq(mcl_plan_get_output(p, 0, y, yc), MCL_STATUS_OK, "%s", mcl_last_error());
    ref_mismatch m;
    cr_assert(ref_compare(y, want, yc, 1e-5, 1e-4, &m), "%s: output %zu is %g, NumPy says %g", name, m.first, m.got,
              m.want);
    free(y);
    free(x);
    free(want);
    mcl_plan_destroy(p);
    mcl_context_destroy(ctx);
    mcl_graph_destroy(g);
}

Test(onnx_loader, conv_relu_pool_gemm_softmax) { run_model("tiny", "tiny_in.npy", "tiny_out.npy", MCL_NODE_SOFTMAX); }

/* Shape -> Gather -> Unsqueeze -> Concat -> Reshape -> Transpose -> Reshape
 * folds into one shuffle node and nothing else but the ReLU. */
Test(onnx_loader, shape_subgraph_and_shuffle)
{
    run_model("shuffle", "shuffle_in.npy", "shuffle_out.npy", MCL_NODE_SHUFFLE);
    mcl_graph *g = NULL;
    cr_assert_eq(mcl_onnx_load(path("shuffle.onnx"), NULL, &g), MCL_STATUS_OK);
    cr_assert_eq(mcl_graph_node_count(g), 2, "shuffle + relu expected, got %zu nodes", mcl_graph_node_count(g));
    mcl_graph_destroy(g);
}

Test(onnx_loader, external_data) { run_model("external", "tiny_in.npy", "external_out.npy", MCL_NODE_CONV2D); }

static void expect_error(const char *file, mcl_status want, const char *a, const char *b)
{
    mcl_graph *g = (mcl_graph *)0x1;
    mcl_status st = mcl_onnx_load(path(file), NULL, &g);
    cr_assert_eq(st, want, "%s: status %d (%s), want %d", file, st, mcl_last_error(), want);
    cr_assert_null(g, "%s: *g must be NULL after a failure", file);
    const char *msg = mcl_last_error();
    cr_assert_not_null(strstr(msg, a), "%s: message \"%s\" lacks \"%s\"", file, msg, a);
    if (b)
        cr_assert_not_null(strstr(msg, b), "%s: message \"%s\" lacks \"%s\"", file, msg, b);
}

Test(onnx_loader, errors_name_what_broke)
{
    expect_error("unsupported_op.onnx", MCL_STATUS_UNSUPPORTED, "Sigmoid", "'sig1'");
    expect_error("unsupported_op.onnx", MCL_STATUS_UNSUPPORTED, "opset 13", NULL);
    expect_error("new_opset.onnx", MCL_STATUS_UNSUPPORTED, "opset 18", NULL);
    expect_error("old_opset_op.onnx", MCL_STATUS_UNSUPPORTED, "'Reshape' at opset 8", "'rs'");
    expect_error("size_mismatch.onnx", MCL_STATUS_INVALID_ARGUMENT, "'w'", "100 bytes");
    expect_error("huge_tensor.onnx", MCL_STATUS_INVALID_ARGUMENT, "'w'", "overflow");
    expect_error("negative_dim.onnx", MCL_STATUS_INVALID_ARGUMENT, "'w'", "-3");
    expect_error("dangling.onnx", MCL_STATUS_INVALID_ARGUMENT, "'nope'", "'add1'");
    expect_error("cycle.onnx", MCL_STATUS_INVALID_ARGUMENT, "cycle", NULL);
    expect_error("no_output.onnx", MCL_STATUS_INVALID_ARGUMENT, "'y'", NULL);
    expect_error("external_missing.onnx", MCL_STATUS_IO_ERROR, "missing.bin", NULL);
    expect_error("external_past_end.onnx", MCL_STATUS_INVALID_ARGUMENT, "weights.bin", "offset 64");
    expect_error("external_dotdot.onnx", MCL_STATUS_INVALID_ARGUMENT, "../weights.bin", NULL);
    expect_error("external_absolute.onnx", MCL_STATUS_INVALID_ARGUMENT, "/etc/passwd", NULL);
    expect_error("does_not_exist.onnx", MCL_STATUS_IO_ERROR, "does_not_exist.onnx", NULL);
    expect_error("", MCL_STATUS_IO_ERROR, "not a regular file", NULL); /* the folder itself */
    expect_error("tiny_in.npy", MCL_STATUS_INVALID_ARGUMENT, "tiny_in.npy", NULL); /* not protobuf */
}

/* Every prefix of a valid model: an error or a valid graph, never a crash
 * or a read past the end (run under ASan by tools/sanitize.sh). */
Test(onnx_loader, every_truncation)
{
    FILE *f = fopen(path("tiny.onnx"), "rb");
    cr_assert_not_null(f);
    static unsigned char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    cr_assert(n > 100 && n < sizeof buf);
    size_t failed = 0;
    for (size_t len = 1; len < n; len++) {
        unsigned char *copy = malloc(len); /* exactly len bytes: ASan sees any overread */
        cr_assert_not_null(copy);
        memcpy(copy, buf, len);
        mcl_graph *g = NULL;
        mcl_status st = mcl_onnx_load_memory(copy, len, NULL, NULL, &g);
        if (st != MCL_STATUS_OK) {
            failed++;
            cr_assert(mcl_last_error()[0], "prefix %zu: failure without a message", len);
        } else {
            cr_assert_eq(mcl_graph_validate(g), MCL_STATUS_OK, "prefix %zu loaded an invalid graph", len);
        }
        mcl_graph_destroy(g);
        free(copy);
    }
    cr_assert_geq(failed, (n - 1) * 9 / 10, "only %zu of %zu prefixes failed", failed, n - 1);
}

Test(onnx_loader, bad_arguments)
{
    mcl_graph *g = NULL;
    cr_assert_eq(mcl_onnx_load(NULL, NULL, &g), MCL_STATUS_INVALID_ARGUMENT);
    cr_assert_eq(mcl_onnx_load(path("tiny.onnx"), NULL, NULL), MCL_STATUS_INVALID_ARGUMENT);
    cr_assert_eq(mcl_onnx_load_memory(NULL, 10, NULL, NULL, &g), MCL_STATUS_INVALID_ARGUMENT);
    cr_assert_eq(mcl_onnx_load_memory("x", 0, NULL, NULL, &g), MCL_STATUS_INVALID_ARGUMENT);
    /* external data from memory without a folder */
    FILE *f = fopen(path("external.onnx"), "rb");
    cr_assert_not_null(f);
    static unsigned char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    cr_assert_eq(mcl_onnx_load_memory(buf, n, NULL, NULL, &g), MCL_STATUS_INVALID_ARGUMENT);
    cr_assert_not_null(strstr(mcl_last_error(), "without a folder"), "%s", mcl_last_error());
    cr_assert_eq(mcl_onnx_load_memory(buf, n, g_dir, NULL, &g), MCL_STATUS_OK, "%s", mcl_last_error());
    mcl_graph_destroy(g);
    /* a batch override on a fixed-batch model is applied to the input */
    mcl_onnx_options o = {.batch = 3};
    cr_assert_eq(mcl_onnx_load(path("tiny.onnx"), &o, &g), MCL_STATUS_OK, "%s", mcl_last_error());
    mcl_shape s;
    cr_assert_eq(mcl_graph_value_shape(g, mcl_graph_input_value(g, 0), &s), MCL_STATUS_OK);
    cr_assert_eq(s.n, 3);
    mcl_graph_destroy(g);
    float *d = NULL;
    int64_t dims[MCL_ONNX_MAX_DIMS];
    size_t nd = 0;
    cr_assert_eq(mcl_onnx_read_tensor(path("nope.pb"), &d, dims, &nd), MCL_STATUS_IO_ERROR);
    cr_assert_eq(mcl_onnx_read_tensor(NULL, &d, dims, &nd), MCL_STATUS_INVALID_ARGUMENT);
}
