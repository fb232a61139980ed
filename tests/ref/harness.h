/* Shared test harness: run a mobicl op end to end and compare it with the
 * reference. Header-only (static inline) so that every test executable,
 * built from one tests/test_*.c plus tests/ref/ref.c, can use it.
 *
 * Include it after `#define _GNU_SOURCE 1` (the first line of every test
 * file) and <criterion/criterion.h>.
 *
 * Every op goes through the full lifecycle:
 *   validate -> create -> [set_tunables] -> reshape (output shape must equal
 *   validate's) -> blocked tensors, inputs written from NCHW host data,
 *   output pre-filled with NaN -> setup -> run -> finish -> read -> compare
 * and then two contract checks: the padding lanes of the blocked output are
 * zero (header: "the padding lanes are always zero") and the inputs are
 * unchanged.
 *
 * Environment: MOBICL_TEST_CACHE_DIR, if set, is passed as cache_dir to every
 * context the harness creates (speeds up repeated local runs; CI leaves it
 * unset so every program is built from source).
 */
#ifndef MOBICL_TEST_HARNESS_H
#define MOBICL_TEST_HARNESS_H

#include <criterion/criterion.h>
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mobicl.h"
#include "ref.h"

/* fp32 default tolerance: |d| <= atol + rtol * |ref| (DESIGN.md, Tests) */
#define H_ATOL 1e-4
#define H_RTOL 1e-4

static inline const char *h_err(void)
{
    const char *e = mcl_last_error();
    return e ? e : "(mcl_last_error returned NULL)";
}

/* Assert that a call returned MCL_STATUS_OK, naming the row. */
#define H_OK(label, call)                                                                                   \
    do {                                                                                                    \
        mcl_status h_st_ = (call);                                                                          \
        cr_assert(h_st_ == MCL_STATUS_OK, "[%s] %s -> %s: %s", (label), #call, mcl_status_string(h_st_),     \
                  h_err());                                                                                 \
    } while (0)

static inline size_t h_count(mcl_shape s) { return (size_t)s.n * s.c * s.h * s.w; }
static inline int h_shape_eq(mcl_shape a, mcl_shape b) { return a.n == b.n && a.c == b.c && a.h == b.h && a.w == b.w; }
static inline mcl_shape h_shape(uint32_t n, uint32_t c, uint32_t h, uint32_t w)
{
    mcl_shape s = {n, c, h, w};
    return s;
}

static inline void *h_malloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    cr_assert(p != NULL, "malloc(%zu) failed", bytes);
    return p;
}
static inline float *h_floats(size_t n) { return (float *)h_malloc(n * sizeof(float)); }

/* Uniform [lo, hi) data, seeded from the row label and a tag. */
static inline float *h_random(size_t n, const char *label, const char *tag, float lo, float hi)
{
    float *x = h_floats(n);
    ref_fill_uniform(x, n, ref_hash_str(label) ^ (ref_hash_str(tag) * 31u), lo, hi);
    return x;
}

static inline mcl_context *h_context_opts(mcl_context_options *o, const char *label)
{
    if (!o->cache_dir)
        o->cache_dir = getenv("MOBICL_TEST_CACHE_DIR");
    mcl_context *ctx = NULL;
    mcl_status st = mcl_context_create(o, &ctx);
    cr_assert(st == MCL_STATUS_OK && ctx, "[%s] mcl_context_create(block %u) -> %s: %s", label, o->block,
              mcl_status_string(st), h_err());
    return ctx;
}

/* A context with default options, except the channel block (0 = default). */
static inline mcl_context *h_context_block(uint32_t block)
{
    mcl_context_options o;
    memset(&o, 0, sizeof o);
    o.block = block;
    mcl_context *ctx = h_context_opts(&o, "context");
    if (block)
        cr_assert_eq(mcl_context_block(ctx), block, "context block %u requested, got %u", block,
                     mcl_context_block(ctx));
    return ctx;
}
static inline mcl_context *h_context(void) { return h_context_block(0); }

/* The channel blocks (of 4, 8, 16) other than this device's default one,
 * which the default-option tests already cover. Returns how many. */
static inline size_t h_other_blocks(uint32_t out[3])
{
    static const uint32_t all[3] = {4, 8, 16};
    mcl_context *ctx = h_context();
    const uint32_t def = mcl_context_block(ctx);
    mcl_context_destroy(ctx);
    size_t n = 0;
    for (size_t i = 0; i < 3; i++)
        if (all[i] != def)
            out[n++] = all[i];
    return n;
}

/* Loop over the other blocks with a fresh context each: BODY sees `ctx` and
 * `tag` ("(block x)"). */
#define H_FOR_OTHER_BLOCKS(ctx, tag, ...)                                                                      \
    do {                                                                                                       \
        uint32_t h_blocks_[3];                                                                                 \
        size_t h_nb_ = h_other_blocks(h_blocks_);                                                              \
        for (size_t h_bi_ = 0; h_bi_ < h_nb_; h_bi_++) {                                                       \
            mcl_context *ctx = h_context_block(h_blocks_[h_bi_]);                                              \
            char tag[32];                                                                                      \
            snprintf(tag, sizeof tag, "(block %u)", h_blocks_[h_bi_]);                                         \
            __VA_ARGS__;                                                                                       \
            mcl_context_destroy(ctx);                                                                          \
        }                                                                                                      \
    } while (0)

/* ---- raw device buffer access (for the blocked-layout contract checks) ----
 * Looked up at run time so the tests do not depend on how the library links
 * the OpenCL ICD loader; not finding it fails the test. */
typedef cl_int(CL_API_CALL *h_read_buffer_fn)(cl_command_queue, cl_mem, cl_bool, size_t, size_t, void *, cl_uint,
                                              const cl_event *, cl_event *);
typedef cl_int(CL_API_CALL *h_write_buffer_fn)(cl_command_queue, cl_mem, cl_bool, size_t, size_t, const void *,
                                               cl_uint, const cl_event *, cl_event *);
static inline void *h_cl_sym(const char *name)
{
    void *f = dlsym(RTLD_DEFAULT, name);
    if (!f) {
        void *lib = dlopen("libOpenCL.so.1", RTLD_NOW | RTLD_GLOBAL);
        if (!lib)
            lib = dlopen("libOpenCL.so", RTLD_NOW | RTLD_GLOBAL);
        if (lib)
            f = dlsym(lib, name);
    }
    /* a missing entry point would silently drop the layout checks: fail */
    cr_assert(f != NULL, "OpenCL entry point %s not found for the raw-buffer checks", name);
    return f;
}
static inline h_read_buffer_fn h_cl_read_fn(void) { return (h_read_buffer_fn)h_cl_sym("clEnqueueReadBuffer"); }
static inline h_write_buffer_fn h_cl_write_fn(void) { return (h_write_buffer_fn)h_cl_sym("clEnqueueWriteBuffer"); }

/* Raw contents of a tensor's buffer (mcl_tensor_bytes bytes). Caller frees. */
static inline float *h_raw_read(mcl_context *ctx, const mcl_tensor *t, const char *label)
{
    h_read_buffer_fn rd = h_cl_read_fn();
    if (!rd)
        return NULL;
    size_t bytes = mcl_tensor_bytes(t);
    float *raw = (float *)h_malloc(bytes);
    cl_int err = rd(mcl_context_queue(ctx), mcl_tensor_buffer(t), CL_TRUE, 0, bytes, raw, 0, NULL, NULL);
    cr_assert(err == CL_SUCCESS, "[%s] clEnqueueReadBuffer of a tensor (%zu bytes) failed: %d", label, bytes, (int)err);
    return raw;
}

/* Index of (n, c, h, w) in a blocked buffer, per mobicl.h. */
static inline size_t h_blocked_index(mcl_shape s, uint32_t x, uint32_t n, uint32_t c, uint32_t h, uint32_t w)
{
    const size_t cb = (s.c + x - 1) / x;
    return ((((size_t)n * cb + c / x) * s.h + h) * s.w + w) * x + c % x;
}

/* The padding lanes (c >= C in the last channel block) of a blocked tensor
 * must be zero. */
static inline void h_check_padding(mcl_context *ctx, const mcl_tensor *t, const char *label)
{
    if (mcl_tensor_layout(t) != MCL_LAYOUT_BLOCKED)
        return;
    mcl_shape s = mcl_tensor_shape(t);
    const uint32_t x = mcl_context_block(ctx);
    if (s.c % x == 0)
        return;
    float *raw = h_raw_read(ctx, t, label);
    if (!raw)
        return;
    const uint32_t cpad = (s.c + x - 1) / x * x;
    for (uint32_t n = 0; n < s.n; n++)
        for (uint32_t c = s.c; c < cpad; c++)
            for (uint32_t h = 0; h < s.h; h++)
                for (uint32_t w = 0; w < s.w; w++) {
                    float v = raw[h_blocked_index(s, x, n, c, h, w)];
                    if (v != 0.0f) {
                        free(raw);
                        cr_assert_fail("[%s] padding lane not zero in blocked %ux%ux%ux%u (block %u) at n=%u c=%u "
                                       "h=%u w=%u: %g",
                                       label, s.n, s.c, s.h, s.w, x, n, c, h, w, (double)v);
                    }
                }
    free(raw);
}

/* Compare and report the first mismatch as (n, c, h, w). */
static inline void h_compare(const char *label, const float *got, const float *want, mcl_shape s, double atol,
                             double rtol)
{
    ref_mismatch m;
    if (ref_compare(got, want, h_count(s), atol, rtol, &m))
        return;
    size_t i = m.first;
    uint32_t w = (uint32_t)(i % s.w);
    i /= s.w;
    uint32_t h = (uint32_t)(i % s.h);
    i /= s.h;
    uint32_t c = (uint32_t)(i % s.c);
    uint32_t n = (uint32_t)(i / s.c);
    cr_assert_fail("[%s] output %ux%ux%ux%u: %zu of %zu elements wrong (%zu NaN, max |d| %.3g); first at index %zu "
                   "(n=%u c=%u h=%u w=%u): got %.9g, want %.9g, |d| %.3g > tol %.3g (atol %g rtol %g)",
                   label, s.n, s.c, s.h, s.w, m.bad, h_count(s), m.nan, m.max_diff, m.first, n, c, h, w, m.got, m.want,
                   m.diff, m.tol, atol, rtol);
}

static inline mcl_tensor *h_tensor(mcl_context *ctx, mcl_shape s, mcl_layout layout, const char *label)
{
    mcl_tensor *t = NULL;
    mcl_status st = mcl_tensor_create(ctx, &s, layout, &t);
    cr_assert(st == MCL_STATUS_OK && t, "[%s] mcl_tensor_create(%ux%ux%ux%u, layout %d) -> %s: %s", label, s.n, s.c,
              s.h, s.w, (int)layout, mcl_status_string(st), h_err());
    return t;
}

/* Blocked tensor holding `data` (NCHW); data NULL = all NaN. */
static inline mcl_tensor *h_tensor_with(mcl_context *ctx, mcl_shape s, const float *data, const char *label)
{
    mcl_tensor *t = h_tensor(ctx, s, MCL_LAYOUT_BLOCKED, label);
    const size_t n = h_count(s);
    float *nan = NULL;
    if (!data) {
        nan = h_floats(n);
        ref_fill_nan(nan, n);
        data = nan;
    }
    H_OK(label, mcl_tensor_write(t, data, n));
    free(nan);
    return t;
}

/* Inputs/outputs of one run of an op. */
typedef struct h_run_args {
    size_t n_in;             /* data inputs for reshape/validate: 1 or 2 */
    mcl_shape in[2];
    const float *in_data[2]; /* NCHW */
    const float *residual;   /* conv residual (output's shape), NULL if none */
    mcl_shape out;           /* validate's output shape */
    const float *want;       /* reference output, NCHW */
    double atol, rtol;
} h_run_args;

/* Reshape, bind, run and compare an already-created op. If `got_out` is not
 * NULL it receives a malloc'ed copy of the output (caller frees). */
static inline void h_run_op_keep(mcl_context *ctx, mcl_op *op, const char *label, const h_run_args *a,
                                 float **got_out)
{
    mcl_shape out;
    memset(&out, 0xAB, sizeof out);
    H_OK(label, mcl_op_reshape(op, a->n_in, a->in, &out));
    cr_assert(h_shape_eq(out, a->out), "[%s] reshape's output %ux%ux%ux%u != validate's %ux%ux%ux%u", label, out.n,
              out.c, out.h, out.w, a->out.n, a->out.c, a->out.h, a->out.w);
    const char *kname = mcl_op_kernel_name(op);
    cr_assert(kname && *kname, "[%s] mcl_op_kernel_name is empty after reshape", label);

    mcl_tensor *tin[3] = {NULL, NULL, NULL};
    size_t n_setup = 0;
    for (size_t i = 0; i < a->n_in; i++)
        tin[n_setup++] = h_tensor_with(ctx, a->in[i], a->in_data[i], label);
    if (a->residual)
        tin[n_setup++] = h_tensor_with(ctx, a->out, a->residual, label);
    mcl_tensor *tout = h_tensor_with(ctx, a->out, NULL, label); /* NaN: unwritten elements fail */

    H_OK(label, mcl_op_setup(op, n_setup, tin, tout));
    H_OK(label, mcl_op_run(op, NULL));
    H_OK(label, mcl_context_finish(ctx));

    const size_t n = h_count(a->out);
    float *got = h_floats(n);
    H_OK(label, mcl_tensor_read(tout, got, n));
    h_compare(label, got, a->want, a->out, a->atol, a->rtol);
    h_check_padding(ctx, tout, label);

    /* the op must not write its inputs */
    for (size_t i = 0; i < n_setup; i++) {
        mcl_shape s = mcl_tensor_shape(tin[i]);
        const float *orig = i < a->n_in ? a->in_data[i] : a->residual;
        float *back = h_floats(h_count(s));
        H_OK(label, mcl_tensor_read(tin[i], back, h_count(s)));
        char what[256];
        snprintf(what, sizeof what, "%s: input %zu after the run", label, i);
        h_compare(what, back, orig, s, 0.0, 0.0);
        free(back);
    }
    for (size_t i = 0; i < n_setup; i++)
        mcl_tensor_destroy(tin[i]);
    mcl_tensor_destroy(tout);
    if (got_out)
        *got_out = got;
    else
        free(got);
}

static inline void h_run_op(mcl_context *ctx, mcl_op *op, const char *label, const h_run_args *a)
{
    h_run_op_keep(ctx, op, label, a, NULL);
}

/* ---- convolution rows ------------------------------------------------------ */

typedef struct h_conv_row {
    const char *name;
    mcl_shape in;
    mcl_conv2d_desc d;
    int no_bias; /* 1: bias NULL */
} h_conv_row;

static inline ref_conv2d_params h_conv_ref_params(const mcl_conv2d_desc *d, mcl_shape in)
{
    ref_conv2d_params p = {
        .n = in.n, .c = in.c, .h = in.h, .w = in.w,
        .out_c = d->out_channels, .groups = d->groups,
        .kh = d->kernel_h, .kw = d->kernel_w, .sh = d->stride_h, .sw = d->stride_w,
        .pt = d->pad_top, .pl = d->pad_left, .pb = d->pad_bottom, .pr = d->pad_right,
        .dh = d->dilation_h, .dw = d->dilation_w, .act = (int)d->activation,
    };
    return p;
}

/* Tolerance for a reduction of `k` products. Data: inputs U(-1,1) (U(-8,8)
 * for relu6 rows), weights U(-1,1)/sqrt(k), so outputs are O(1). fp32
 * default up to k = 1000; above, the worst-case fp32 summation error bound
 * (~k * eps * sum|terms| ~ 1e-7 * k^1.5 / 4) exceeds 1e-4, so 1e-3. */
static inline double h_tol_for_k(size_t k) { return k > 1000 ? 1e-3 : H_ATOL; }

/* Data for a conv row, shared by every test that runs one. */
typedef struct h_conv_data {
    ref_conv2d_params p;
    mcl_shape out;
    float *x, *wt, *bias, *res, *want;
} h_conv_data;

static inline void h_conv_data_make(h_conv_data *cd, const mcl_conv2d_desc *d, mcl_shape in, int no_bias,
                                    const char *label)
{
    memset(cd, 0, sizeof *cd);
    cd->p = h_conv_ref_params(d, in);
    uint32_t oh = 0, ow = 0;
    cr_assert(ref_conv2d_out_size(&cd->p, &oh, &ow), "[%s] bad test row: window does not fit", label);
    cd->out = h_shape(in.n, d->out_channels, oh, ow);
    const size_t k = (size_t)(in.c / d->groups) * d->kernel_h * d->kernel_w;
    const size_t nw = (size_t)d->out_channels * k;
    const float amp = d->activation == MCL_ACT_RELU6 ? 8.0f : 1.0f; /* reach both relu6 clamps */
    const float ws = (float)(1.0 / sqrt((double)k));
    cd->x = h_random(h_count(in), label, "input", -amp, amp);
    cd->wt = h_random(nw, label, "weights", -ws, ws);
    cd->bias = no_bias ? NULL : h_random(d->out_channels, label, "bias", -0.5f, 0.5f);
    cd->res = d->residual ? h_random(h_count(cd->out), label, "residual", -amp, amp) : NULL;
    cd->want = h_floats(h_count(cd->out));
    ref_conv2d(&cd->p, cd->x, cd->wt, cd->bias, cd->res, cd->want);
}

static inline void h_conv_data_free(h_conv_data *cd)
{
    free(cd->x);
    free(cd->wt);
    free(cd->bias);
    free(cd->res);
    free(cd->want);
}

static inline h_run_args h_conv_args(const h_conv_data *cd, const mcl_conv2d_desc *d, mcl_shape in)
{
    const size_t k = (size_t)(in.c / d->groups) * d->kernel_h * d->kernel_w;
    h_run_args a;
    memset(&a, 0, sizeof a);
    a.n_in = 1;
    a.in[0] = in;
    a.in_data[0] = cd->x;
    a.residual = cd->res;
    a.out = cd->out;
    a.want = cd->want;
    a.atol = h_tol_for_k(k);
    a.rtol = h_tol_for_k(k);
    return a;
}

/* Validate, create and run one conv row; compare with the reference.
 * tun: tunables to set (NULL: defaults); expect_family < 0: not checked. */
static inline void h_conv_check(mcl_context *ctx, const mcl_conv2d_desc *d, mcl_shape in, int no_bias,
                                const mcl_tunables *tun, int expect_family, const char *label)
{
    h_conv_data cd;
    h_conv_data_make(&cd, d, in, no_bias, label);

    mcl_shape vout;
    memset(&vout, 0xAB, sizeof vout);
    H_OK(label, mcl_conv2d_validate(d, &in, &vout));
    cr_assert(h_shape_eq(vout, cd.out), "[%s] validate's output %ux%ux%ux%u != reference %ux%ux%ux%u", label, vout.n,
              vout.c, vout.h, vout.w, cd.out.n, cd.out.c, cd.out.h, cd.out.w);

    mcl_op *op = NULL;
    H_OK(label, mcl_conv2d_create(ctx, d, cd.wt, cd.bias, &op));
    if (tun)
        H_OK(label, mcl_op_set_tunables(op, tun));
    h_run_args a = h_conv_args(&cd, d, in);
    h_run_op(ctx, op, label, &a);

    if (expect_family >= 0 || tun) {
        mcl_family fam;
        mcl_tunables got;
        H_OK(label, mcl_op_get_tunables(op, &fam, &got));
        if (expect_family >= 0)
            cr_assert_eq((int)fam, expect_family, "[%s] kernel family %d (kernel %s), expected %d", label, (int)fam,
                         mcl_op_kernel_name(op), expect_family);
        if (tun)
            cr_assert(got.tile_w == tun->tile_w && got.tile_c == tun->tile_c && got.wg == tun->wg,
                      "[%s] get_tunables {tile_w %u, tile_c %u, wg %u} != set {%u, %u, %u}", label, got.tile_w,
                      got.tile_c, got.wg, tun->tile_w, tun->tile_c, tun->wg);
    }
    mcl_op_destroy(op);
    h_conv_data_free(&cd);
}

/* Row label: "<row name> [extra]" into buf. */
static inline const char *h_label(char *buf, size_t cap, const char *name, const char *extra)
{
    snprintf(buf, cap, "%s%s%s", name, extra && *extra ? " " : "", extra ? extra : "");
    return buf;
}

/* Run every row of a conv table. variant < 0 keeps the row's variant;
 * expect_family < 0 does not check the chosen family. */
static inline void h_conv_table(mcl_context *ctx, const h_conv_row *rows, size_t n, const char *tag, int variant,
                                int expect_family)
{
    for (size_t i = 0; i < n; i++) {
        mcl_conv2d_desc d = rows[i].d;
        if (variant >= 0)
            d.variant = (mcl_conv_variant)variant;
        char label[256];
        h_label(label, sizeof label, rows[i].name, tag);
        h_conv_check(ctx, &d, rows[i].in, rows[i].no_bias, NULL, expect_family, label);
    }
}

/* ---- pooling rows ---------------------------------------------------------- */

typedef struct h_pool_row {
    const char *name;
    mcl_shape in;
    mcl_pool2d_desc d;
} h_pool_row;

static inline void h_pool_check(mcl_context *ctx, const mcl_pool2d_desc *d, mcl_shape in, const mcl_tunables *tun,
                                const char *label)
{
    ref_pool2d_params p = {
        .type = (int)d->type, .n = in.n, .c = in.c, .h = in.h, .w = in.w,
        .kh = d->kernel_h, .kw = d->kernel_w, .sh = d->stride_h, .sw = d->stride_w,
        .pt = d->pad_top, .pl = d->pad_left, .pb = d->pad_bottom, .pr = d->pad_right,
        .count_include_pad = d->count_include_pad,
    };
    uint32_t oh = 0, ow = 0;
    cr_assert(ref_pool2d_out_size(&p, &oh, &ow), "[%s] bad test row: window does not fit", label);
    mcl_shape out = h_shape(in.n, in.c, oh, ow);

    mcl_shape vout;
    memset(&vout, 0xAB, sizeof vout);
    H_OK(label, mcl_pool2d_validate(d, &in, &vout));
    cr_assert(h_shape_eq(vout, out), "[%s] validate's output %ux%ux%ux%u != reference %ux%ux%ux%u", label, vout.n,
              vout.c, vout.h, vout.w, out.n, out.c, out.h, out.w);

    float *x = h_random(h_count(in), label, "input", -1.0f, 1.0f);
    float *want = h_floats(h_count(out));
    ref_pool2d(&p, x, want);

    mcl_op *op = NULL;
    H_OK(label, mcl_pool2d_create(ctx, d, &op));
    if (tun)
        H_OK(label, mcl_op_set_tunables(op, tun));
    h_run_args a;
    memset(&a, 0, sizeof a);
    a.n_in = 1;
    a.in[0] = in;
    a.in_data[0] = x;
    a.out = out;
    a.want = want;
    a.atol = H_ATOL;
    a.rtol = H_RTOL;
    h_run_op(ctx, op, label, &a);
    if (tun) {
        mcl_family fam;
        mcl_tunables got;
        H_OK(label, mcl_op_get_tunables(op, &fam, &got));
        cr_assert_eq((int)fam, (int)MCL_FAMILY_POOL, "[%s] family %d, expected POOL", label, (int)fam);
        cr_assert(got.tile_w == tun->tile_w && got.tile_c == tun->tile_c && got.wg == tun->wg,
                  "[%s] get_tunables {tile_w %u, tile_c %u, wg %u} != set {%u, %u, %u}", label, got.tile_w,
                  got.tile_c, got.wg, tun->tile_w, tun->tile_c, tun->wg);
    }
    mcl_op_destroy(op);
    free(x);
    free(want);
}

/* Descriptor shorthands for the shape tables (designated initializers; every
 * row spells out its dilation, since 0 is a legal value read as 1). */
#define CIO(ci, co, g) .in_channels = (ci), .out_channels = (co), .groups = (g)
#define CK(k) .kernel_h = (k), .kernel_w = (k)
#define CS(s) .stride_h = (s), .stride_w = (s)
#define CP(p) .pad_top = (p), .pad_left = (p), .pad_bottom = (p), .pad_right = (p)
#define CPAD(t, l, b, r) .pad_top = (t), .pad_left = (l), .pad_bottom = (b), .pad_right = (r)
#define CD(d) .dilation_h = (d), .dilation_w = (d)
#define SHP(n, c, h, w) {(n), (c), (h), (w)}

/* Expect a failure status; mcl_last_error() must then be non-empty. */
#define H_FAIL(label, call, expected)                                                                          \
    do {                                                                                                       \
        mcl_status h_st_ = (call);                                                                             \
        cr_expect(h_st_ == (expected), "[%s] %s -> %s, expected %s (%s)", (label), #call,                      \
                  mcl_status_string(h_st_), mcl_status_string(expected), h_err());                             \
        if (h_st_ != MCL_STATUS_OK) {                                                                          \
            const char *h_e_ = mcl_last_error();                                                               \
            cr_expect(h_e_ && *h_e_, "[%s] %s failed but mcl_last_error() is empty", (label), #call);          \
        }                                                                                                      \
    } while (0)

#endif
