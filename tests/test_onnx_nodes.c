/* ONNX backend node tests shipped by Debian's libonnx-testdata
 * (/usr/share/libonnx-testdata/data/{node,pytorch-operator,pytorch-converted}):
 * every test whose op is one the importer supports is loaded with
 * mcl_onnx_load (weight inputs bound as mcl_onnx_constant, read with
 * mcl_onnx_read_tensor), planned, run on the device on test_data_set_0's
 * inputs and compared with its outputs (|d| <= 1e-4 + 1e-4*|ref|; exact for
 * data movement). A model the importer refuses with MCL_STATUS_UNSUPPORTED
 * (or an input that is not float) is "skipped" with the message; any other
 * failure fails the test, and the tests of the `must_pass` list fail it when
 * skipped too. The full list (passed / skipped with why / failed) and counts
 * go to stderr. Needs the libonnx-testdata package (tools/setup.sh). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mobicl_graph.h"
#include "mobicl_onnx.h"

#ifndef MOBICL_BUILD_DIR
#error "MOBICL_BUILD_DIR must be defined"
#endif

#define DATA_ROOT "/usr/share/libonnx-testdata/data"
#define MAX_IO 8

/* Which inputs of an op are weights (bound as constants): FROM1 = every
 * input after the first; NONE = all are activations (Add, Concat). */
enum bind { FROM1, NONE };

typedef struct op_rule {
    const char *prefix; /* test directory name prefix (exact name when it has no trailing '_') */
    const char *op;
    enum bind bind;
    int exact; /* data movement: compared bit-exactly */
} op_rule;

/* node/ tests are named after their op; the pytorch-* ones after the
 * torch module (only those whose model is one supported op are listed). */
static const op_rule rules[] = {
    {"test_basic_conv_", "Conv", FROM1, 0},
    {"test_conv_", "Conv", FROM1, 0},
    {"test_batchnorm_", "BatchNormalization", FROM1, 0},
    {"test_relu", "Relu", FROM1, 1},
    {"test_clip", "Clip", FROM1, 1},
    {"test_add", "Add", NONE, 0},
    {"test_mul", "Mul", FROM1, 0},
    {"test_concat_", "Concat", NONE, 1},
    {"test_split_", "Split", FROM1, 1},
    {"test_slice", "Slice", FROM1, 1},
    {"test_reshape_", "Reshape", FROM1, 1},
    {"test_transpose_", "Transpose", FROM1, 1},
    {"test_maxpool_", "MaxPool", FROM1, 1},
    {"test_averagepool_", "AveragePool", FROM1, 0},
    {"test_globalaveragepool", "GlobalAveragePool", FROM1, 0},
    {"test_reduce_mean_", "ReduceMean", FROM1, 0},
    {"test_flatten_", "Flatten", FROM1, 1},
    {"test_gemm_", "Gemm", FROM1, 0},
    {"test_matmul_", "MatMul", FROM1, 0},
    {"test_softmax_", "Softmax", FROM1, 0},
    {"test_identity", "Identity", FROM1, 1},
    {"test_constant", "Constant", FROM1, 1},
    /* pytorch-converted / pytorch-operator */
    {"test_Conv2d", "Conv", FROM1, 0},
    {"test_Conv1d", "Conv", FROM1, 0},
    {"test_BatchNorm2d_", "BatchNormalization", FROM1, 0},
    {"test_BatchNorm1d_", "BatchNormalization", FROM1, 0},
    {"test_AvgPool2d", "AveragePool", FROM1, 0},
    {"test_MaxPool2d", "MaxPool", FROM1, 1},
    {"test_MaxPool1d", "MaxPool", FROM1, 1},
    {"test_ReLU", "Relu", FROM1, 1},
    {"test_Softmax", "Softmax", FROM1, 0},
    {"test_softmax_functional_dim3", "Softmax", FROM1, 0},
    {"test_softmax_lastdim", "Softmax", FROM1, 0},
    {"test_Linear", "Gemm", FROM1, 0},
    {"test_operator_conv", "Conv", FROM1, 0},
    {"test_operator_maxpool", "MaxPool", FROM1, 1},
    {"test_operator_flatten", "Flatten", FROM1, 1},
    {"test_operator_view", "Flatten", FROM1, 1},
    {"test_operator_clip", "Clip", FROM1, 1},
    {"test_operator_concat2", "Concat", NONE, 1},
    {"test_operator_chunk", "Split", FROM1, 1},
    {"test_operator_add_", "Add", NONE, 0},
    {"test_operator_addconstant", "Add", NONE, 0},
    {"test_operator_addmm", "Gemm", FROM1, 0},
    {"test_operator_mm", "Gemm", FROM1, 0},
};

/* names that share a prefix above but are other ops */
static const char *const not_ours[] = {
    "test_constant_pad", "test_constantofshape", "test_softmax_cross_entropy", "test_clip_default_int8",
    "test_Linear_no_bias",    /* Transpose + MatMul */
    "test_identity_opt",      /* optional / sequence values, not tensors */
    "test_identity_sequence",
};

/* The node tests of the issue (4-D NCHW activations, or ranks 1-3 whose
 * mapping to NCHW keeps the op on channels): they must load and match. */
static const char *const must_pass[] = {
    "node/test_basic_conv_with_padding",
    "node/test_basic_conv_without_padding",
    "node/test_conv_with_autopad_same",
    "node/test_conv_with_strides_and_asymmetric_padding",
    "node/test_conv_with_strides_no_padding",
    "node/test_conv_with_strides_padding",
    "node/test_averagepool_2d_default",
    "node/test_averagepool_2d_pads",
    "node/test_averagepool_2d_pads_count_include_pad",
    "node/test_averagepool_2d_precomputed_pads",
    "node/test_averagepool_2d_precomputed_pads_count_include_pad",
    "node/test_averagepool_2d_precomputed_same_upper",
    "node/test_averagepool_2d_precomputed_strides",
    "node/test_averagepool_2d_same_lower",
    "node/test_averagepool_2d_same_upper",
    "node/test_averagepool_2d_strides",
    "node/test_maxpool_2d_default",
    "node/test_maxpool_2d_pads",
    "node/test_maxpool_2d_precomputed_pads",
    "node/test_maxpool_2d_precomputed_same_upper",
    "node/test_maxpool_2d_precomputed_strides",
    "node/test_maxpool_2d_same_lower",
    "node/test_maxpool_2d_same_upper",
    "node/test_maxpool_2d_strides",
    "pytorch-converted/test_Conv2d_groups", /* opset 6: grouped, depthwise and dilated convs */
    "pytorch-converted/test_Conv2d_depthwise",
    "pytorch-converted/test_Conv2d_depthwise_strided",
    "pytorch-converted/test_Conv2d_depthwise_with_multiplier",
    "pytorch-converted/test_Conv2d_dilated",
    "pytorch-converted/test_BatchNorm2d_eval",
    "node/test_globalaveragepool", /* opset 1 models (the op is unchanged since opset 1) */
    "node/test_globalaveragepool_precomputed",
    "node/test_batchnorm_epsilon",
    "node/test_batchnorm_example",
    "node/test_relu",
    "node/test_clip_default_min", /* min 0, no max: ReLU (the others clip to ranges mobicl has no activation for) */
    "node/test_averagepool_2d_ceil",
    "node/test_maxpool_2d_ceil",
    "node/test_gemm_default_scalar_bias",
    "node/test_gemm_default_single_elem_vector_bias",
    "node/test_concat_2d_axis_1",
    "node/test_concat_2d_axis_negative_1",
    "node/test_concat_3d_axis_1",
    "node/test_concat_3d_axis_negative_2",
    "node/test_split_equal_parts_2d",
    "node/test_softmax_axis_1",
    "node/test_softmax_example",
    "node/test_softmax_large_number",
    "node/test_gemm_default_no_bias",
    "node/test_gemm_default_vector_bias",
    "node/test_gemm_default_zero_bias",
    "node/test_gemm_alpha",
    "node/test_gemm_beta",
    "node/test_gemm_transposeB",
    "node/test_matmul_2d",
    "node/test_flatten_axis1",
    "node/test_flatten_default_axis",
    "node/test_flatten_negative_axis3",
    "node/test_identity",
    "node/test_add",
};

enum result { R_PASS, R_SKIP, R_FAIL };

typedef struct outcome {
    enum result r;
    char why[512];
} outcome;

static enum result set(outcome *o, enum result r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->why, sizeof o->why, fmt, ap);
    va_end(ap);
    o->r = r;
    return r;
}

static const op_rule *rule_for(const char *name)
{
    if (strstr(name, "_expanded")) /* the op's function body: other ops (ReduceMax, Exp, ...) */
        return NULL;
    for (size_t i = 0; i < sizeof not_ours / sizeof *not_ours; i++)
        if (!strncmp(name, not_ours[i], strlen(not_ours[i])))
            return NULL;
    for (size_t i = 0; i < sizeof rules / sizeof *rules; i++)
        if (!strncmp(name, rules[i].prefix, strlen(rules[i].prefix)))
            return &rules[i];
    return NULL;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static size_t count_of(const int64_t *dims, size_t nd)
{
    size_t n = 1;
    for (size_t i = 0; i < nd; i++)
        n *= (size_t)dims[i];
    return n;
}

typedef struct tensor {
    float *data;
    int64_t dims[MCL_ONNX_MAX_DIMS];
    size_t nd;
    char name[128];
} tensor;

/* Reads dir/test_data_set_0/<kind>_<i>.pb for i = 0.. until one is missing. */
static enum result read_all(const char *dir, const char *kind, tensor *t, size_t *n, outcome *o)
{
    *n = 0;
    for (size_t i = 0; i < MAX_IO; i++) {
        char path[768];
        snprintf(path, sizeof path, "%s/test_data_set_0/%s_%zu.pb", dir, kind, i);
        if (!exists(path))
            break;
        mcl_status s = mcl_onnx_read_tensor(path, &t[i].data, t[i].dims, &t[i].nd);
        if (s == MCL_STATUS_UNSUPPORTED)
            return set(o, R_SKIP, "%s_%zu.pb: %s", kind, i, mcl_last_error());
        if (s != MCL_STATUS_OK)
            return set(o, R_FAIL, "mcl_onnx_read_tensor(%s_%zu.pb): %s: %s", kind, i, mcl_status_string(s),
                       mcl_last_error());
        *n = i + 1;
    }
    return R_PASS;
}

static void free_all(tensor *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(t[i].data);
}

/* The ONNX names of each test's graph inputs (initializers excluded), from
 * a manifest written once by python3-onnx: "<sub>/<test> name0 name1 ...". */
#define MANIFEST MOBICL_BUILD_DIR "/onnx_node_inputs.txt"

static void write_manifest(void)
{
    const char *cmd =
        "/usr/bin/python3 -c 'import glob, onnx, os, sys\n"
        "for d in sorted(glob.glob(\"" DATA_ROOT "/*/test_*\")):\n"
        "    try:\n"
        "        g = onnx.load(d + \"/model.onnx\", load_external_data=False).graph\n"
        "    except Exception:\n"
        "        continue\n"
        "    init = set(i.name for i in g.initializer)\n"
        "    print(\" \".join([os.path.relpath(d, \"" DATA_ROOT "\")] + [i.name for i in g.input if i.name not in init]))\n"
        "' > '" MANIFEST "'";
    int rc = system(cmd);
    cr_assert_eq(rc, 0, "writing the node tests' input names failed: needs Debian's python3-onnx (tools/setup.sh); "
                 "command: %s", cmd);
}

static enum result input_names(const char *id, size_t n_in, tensor *in, outcome *o)
{
    FILE *f = fopen(MANIFEST, "r");
    cr_assert_not_null(f, "%s: cannot open", MANIFEST);
    char line[4096];
    size_t idlen = strlen(id);
    enum result r = set(o, R_FAIL, "%s not in %s", id, MANIFEST);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, id, idlen) || (line[idlen] != ' ' && line[idlen] != '\n' && line[idlen]))
            continue;
        size_t k = 0;
        for (char *tok = strtok(line + idlen, " \n"); tok; tok = strtok(NULL, " \n"), k++)
            if (k < n_in)
                snprintf(in[k].name, sizeof in[k].name, "%s", tok);
        r = k == n_in ? R_PASS : set(o, R_FAIL, "model has %zu graph inputs, test data %zu", k, n_in);
        break;
    }
    fclose(f);
    return r;
}

/* The NCHW shape an ONNX tensor of these dims stands for (mapping documented
 * in graph/onnx.c): rank 4 as is; [N,C] = N,C,1,1; [A,B,L] = A,B,1,L;
 * [C] = 1,C,1,1; a scalar 1,1,1,1. 0 for ranks above 4. */
static int nchw_of(const int64_t *d, size_t nd, mcl_shape *s)
{
    switch (nd) {
    case 0: *s = (mcl_shape){1, 1, 1, 1}; return 1;
    case 1: *s = (mcl_shape){1, (uint32_t)d[0], 1, 1}; return 1;
    case 2: *s = (mcl_shape){(uint32_t)d[0], (uint32_t)d[1], 1, 1}; return 1;
    case 3: *s = (mcl_shape){(uint32_t)d[0], (uint32_t)d[1], 1, (uint32_t)d[2]}; return 1;
    case 4: *s = (mcl_shape){(uint32_t)d[0], (uint32_t)d[1], (uint32_t)d[2], (uint32_t)d[3]}; return 1;
    default: return 0;
    }
}

static int close_enough(float y, float ref, int exact)
{
    if (isnan(ref))
        return isnan(y);
    if (exact)
        return y == ref;
    return fabs((double)y - ref) <= 1e-4 + 1e-4 * fabs((double)ref);
}

/* Runs one node test; the outcome says pass / skip (why) / fail (why). */
static enum result run_node_test(mcl_context *ctx, const char *id, const char *dir, const op_rule *rule, outcome *o)
{
    char model[768];
    snprintf(model, sizeof model, "%s/model.onnx", dir);
    tensor in[MAX_IO] = {0}, out[MAX_IO] = {0};
    size_t n_in = 0, n_out = 0;
    mcl_graph *g = NULL;
    mcl_plan *p = NULL;
    float *y = NULL;
    mcl_onnx_constant consts[MAX_IO];
    size_t n_const = 0;
    enum result r = read_all(dir, "input", in, &n_in, o);
    if (r == R_PASS)
        r = read_all(dir, "output", out, &n_out, o);
    if (r == R_PASS && n_out == 0)
        r = set(o, R_FAIL, "no output_0.pb");
    if (r == R_PASS && n_in > 0)
        r = input_names(id, n_in, in, o);
    size_t first_const = rule->bind == FROM1 ? 1 : n_in;
    for (size_t i = first_const; r == R_PASS && i < n_in; i++)
        consts[n_const++] = (mcl_onnx_constant){in[i].name, in[i].data, in[i].dims, in[i].nd};
    if (r == R_PASS) {
        mcl_onnx_options oo = {0, consts, n_const};
        mcl_status s = mcl_onnx_load(model, &oo, &g);
        if (s == MCL_STATUS_UNSUPPORTED)
            r = set(o, R_SKIP, "%s", mcl_last_error());
        else if (s != MCL_STATUS_OK)
            r = set(o, R_FAIL, "mcl_onnx_load: %s: %s", mcl_status_string(s), mcl_last_error());
    }
    size_t n_act = n_in < first_const ? n_in : first_const;
    if (r == R_PASS && mcl_graph_input_count(g) != n_act)
        r = set(o, R_FAIL, "%zu graph inputs after binding %zu constants, expected %zu", mcl_graph_input_count(g),
                n_const, n_act);
    if (r == R_PASS && mcl_graph_output_count(g) != n_out)
        r = set(o, R_FAIL, "%zu graph outputs, the test has %zu", mcl_graph_output_count(g), n_out);
    if (r == R_PASS) {
        mcl_plan_options po = {0};
        mcl_status s = mcl_plan_create(ctx, g, &po, &p);
        if (s != MCL_STATUS_OK)
            r = set(o, R_FAIL, "mcl_plan_create: %s: %s", mcl_status_string(s), mcl_last_error());
    }
    for (size_t i = 0; r == R_PASS && i < n_act; i++) {
        mcl_status s = mcl_plan_set_input(p, i, in[i].data, count_of(in[i].dims, in[i].nd));
        if (s != MCL_STATUS_OK)
            r = set(o, R_FAIL, "mcl_plan_set_input(%zu): %s: %s", i, mcl_status_string(s), mcl_last_error());
    }
    if (r == R_PASS) {
        mcl_status s = mcl_plan_run(p, 0);
        if (s != MCL_STATUS_OK)
            r = set(o, R_FAIL, "mcl_plan_run: %s: %s", mcl_status_string(s), mcl_last_error());
    }
    for (size_t k = 0; r == R_PASS && k < n_out; k++) {
        size_t n = count_of(out[k].dims, out[k].nd);
        mcl_shape sh = {0}, want = {0};
        nchw_of(out[k].dims, out[k].nd, &want);
        int ok = mcl_plan_output_shape(p, k, &sh) == MCL_STATUS_OK;
        /* a rank-2 [N, M] result may be the flattened view of an N,C,H,W value
         * (graph/onnx.c): same N and C*H*W = M, same bytes */
        int same = sh.n == want.n && sh.c == want.c && sh.h == want.h && sh.w == want.w;
        int view = out[k].nd == 2 && sh.n == want.n && (uint64_t)sh.c * sh.h * sh.w == want.c;
        if (!ok || !(same || view)) {
            r = set(o, R_FAIL, "output %zu: shape %ux%ux%ux%u, expected %ux%ux%ux%u (%zu-D reference)", k, sh.n, sh.c,
                    sh.h, sh.w, want.n, want.c, want.h, want.w, out[k].nd);
            break;
        }
        y = malloc((n ? n : 1) * sizeof *y);
        cr_assert_not_null(y);
        for (size_t i = 0; i < n; i++)
            y[i] = NAN;
        mcl_status s = mcl_plan_get_output(p, k, y, n);
        if (s != MCL_STATUS_OK)
            r = set(o, R_FAIL, "mcl_plan_get_output(%zu): %s: %s", k, mcl_status_string(s), mcl_last_error());
        for (size_t i = 0; r == R_PASS && i < n; i++)
            if (!close_enough(y[i], out[k].data[i], rule->exact))
                r = set(o, R_FAIL, "output %zu element %zu: mobicl %.9g, expected %.9g (%s)", k, i, y[i],
                        out[k].data[i], rule->exact ? "exact" : "1e-4 + 1e-4*|ref|");
        free(y);
        y = NULL;
    }
    if (r == R_PASS)
        set(o, R_PASS, "%s", rule->op);
    mcl_plan_destroy(p);
    mcl_graph_destroy(g);
    free_all(in, n_in);
    free_all(out, n_out);
    return r;
}

static int is_must(const char *id)
{
    for (size_t i = 0; i < sizeof must_pass / sizeof *must_pass; i++)
        if (!strcmp(id, must_pass[i]))
            return 1;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted directory names under DATA_ROOT/sub starting with "test_". */
static char **list_tests(const char *sub, size_t *n)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", DATA_ROOT, sub);
    DIR *d = opendir(path);
    cr_assert_not_null(d, "%s is missing: install Debian's libonnx-testdata (tools/setup.sh does)", path);
    char **names = NULL;
    size_t cap = 0;
    *n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "test_", 5))
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 256;
            names = realloc(names, cap * sizeof *names);
            cr_assert_not_null(names);
        }
        size_t len = strlen(e->d_name) + 1;
        names[*n] = malloc(len);
        cr_assert_not_null(names[*n]);
        memcpy(names[(*n)++], e->d_name, len);
    }
    closedir(d);
    qsort(names, *n, sizeof *names, by_name);
    return names;
}

Test(onnx_nodes, backend_node_tests, .timeout = 900)
{
    write_manifest();
    mcl_context *ctx = NULL;
    mcl_context_options co = {0};
    cr_assert_eq(mcl_context_create(&co, &ctx), MCL_STATUS_OK, "context: %s", mcl_last_error());
    static const char *const subs[] = {"node", "pytorch-converted", "pytorch-operator"};
    size_t n_pass = 0, n_skip = 0, n_fail = 0, n_must_bad = 0;
    char must_seen[sizeof must_pass / sizeof *must_pass] = {0};
    static char fails[64][640];
    for (size_t s = 0; s < sizeof subs / sizeof *subs; s++) {
        size_t n = 0;
        char **names = list_tests(subs[s], &n);
        for (size_t i = 0; i < n; i++) {
            const op_rule *rule = rule_for(names[i]);
            if (!rule) {
                free(names[i]);
                continue;
            }
            char id[300], dir[512];
            snprintf(id, sizeof id, "%s/%s", subs[s], names[i]);
            snprintf(dir, sizeof dir, "%s/%s", DATA_ROOT, id);
            outcome o = {R_FAIL, ""};
            run_node_test(ctx, id, dir, rule, &o);
            int must = is_must(id);
            for (size_t m = 0; m < sizeof must_pass / sizeof *must_pass; m++)
                if (!strcmp(id, must_pass[m]))
                    must_seen[m] = 1;
            const char *tag = o.r == R_PASS ? "PASS" : o.r == R_SKIP ? "SKIP" : "FAIL";
            fprintf(stderr, "onnx-node | %s%s | %-60s | %s\n", tag, must ? " (must pass)" : "", id, o.why);
            n_pass += o.r == R_PASS;
            n_skip += o.r == R_SKIP;
            n_fail += o.r == R_FAIL;
            if (o.r != R_PASS && (must || o.r == R_FAIL)) {
                if (n_must_bad < 64)
                    snprintf(fails[n_must_bad], sizeof fails[0], "%s %s: %s", tag, id, o.why);
                n_must_bad++;
            }
            free(names[i]);
        }
        free(names);
    }
    mcl_context_destroy(ctx);
    fprintf(stderr, "onnx-node | totals: %zu passed, %zu skipped, %zu failed (%zu failures incl. must-pass skips)\n",
            n_pass, n_skip, n_fail, n_must_bad);
    for (size_t m = 0; m < sizeof must_pass / sizeof *must_pass; m++)
        cr_expect(must_seen[m], "must-pass test %s not found under %s", must_pass[m], DATA_ROOT);
    for (size_t i = 0; i < n_must_bad && i < 64; i++)
        cr_expect_fail("%s", fails[i]);
    cr_expect_eq(n_must_bad, 0, "%zu node tests failed or must-pass tests were skipped (list above)", n_must_bad);
    cr_expect_gt(n_pass, 0, "no node test passed");
}
