/* Tensors: NCHW <-> blocked round trips for block 4/8/16, the blocked
 * layout formula and zero padding lanes (checked on the raw buffer),
 * buffer sizes, write/read count validation, mcl_tensor_convert, and
 * mcl_shape_count. */
#define _GNU_SOURCE 1
#include <criterion/criterion.h>

#include "harness.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

static const mcl_shape k_shapes[] = {
    {1, 3, 5, 7}, {2, 20, 13, 11}, {1, 58, 28, 28}, {1, 1, 1, 1}, {2, 16, 7, 7},
    {1, 17, 1, 1}, {1, 4, 3, 2}, {3, 9, 2, 5}, {1, 1000, 1, 1}, {1, 24, 56, 56},
};
static const uint32_t k_blocks[] = {4, 8, 16};

static void shape_label(char *buf, size_t cap, const char *what, mcl_shape s, uint32_t block)
{
    snprintf(buf, cap, "%s %ux%ux%ux%u block %u", what, s.n, s.c, s.h, s.w, block);
}

/* write NCHW data to a blocked tensor, read it back: identical */
Test(tensor, blocked_write_read_roundtrip, .timeout = 600)
{
    for (size_t b = 0; b < N_(k_blocks); b++) {
        mcl_context *ctx = h_context_block(k_blocks[b]);
        for (size_t i = 0; i < N_(k_shapes); i++) {
            char label[128];
            shape_label(label, sizeof label, "blocked roundtrip", k_shapes[i], k_blocks[b]);
            const size_t n = h_count(k_shapes[i]);
            float *x = h_random(n, label, "data", -1, 1);
            float *y = h_floats(n);
            mcl_tensor *t = h_tensor_with(ctx, k_shapes[i], x, label);
            cr_assert(h_shape_eq(mcl_tensor_shape(t), k_shapes[i]), "[%s] mcl_tensor_shape", label);
            cr_assert_eq(mcl_tensor_layout(t), MCL_LAYOUT_BLOCKED, "[%s] mcl_tensor_layout", label);
            cr_assert(mcl_tensor_buffer(t) != NULL, "[%s] mcl_tensor_buffer is NULL", label);
            H_OK(label, mcl_tensor_read(t, y, n));
            h_compare(label, y, x, k_shapes[i], 0.0, 0.0);
            mcl_tensor_destroy(t);
            free(x);
            free(y);
        }
        mcl_context_destroy(ctx);
    }
}

/* the raw device buffer follows the documented formula, with zero padding
 * lanes, and mcl_tensor_bytes counts the padding */
Test(tensor, blocked_layout_formula, .timeout = 600)
{
    cr_assert(h_cl_read_fn() != NULL, "clEnqueueReadBuffer not found through dlsym/dlopen");
    for (size_t b = 0; b < N_(k_blocks); b++) {
        const uint32_t x = k_blocks[b];
        mcl_context *ctx = h_context_block(x);
        for (size_t i = 0; i < N_(k_shapes); i++) {
            const mcl_shape s = k_shapes[i];
            char label[128];
            shape_label(label, sizeof label, "layout", s, x);
            const size_t cb = (s.c + x - 1) / x;
            const size_t want_bytes = (size_t)s.n * cb * x * s.h * s.w * sizeof(float);
            const size_t n = h_count(s);
            float *data = h_random(n, label, "data", -1, 1);
            mcl_tensor *t = h_tensor_with(ctx, s, data, label);
            cr_assert_eq(mcl_tensor_bytes(t), want_bytes, "[%s] mcl_tensor_bytes %zu, expected %zu", label,
                         mcl_tensor_bytes(t), want_bytes);
            float *raw = h_raw_read(ctx, t, label);
            for (uint32_t nn = 0; nn < s.n; nn++)
                for (uint32_t c = 0; c < cb * x; c++)
                    for (uint32_t h = 0; h < s.h; h++)
                        for (uint32_t w = 0; w < s.w; w++) {
                            const float got = raw[h_blocked_index(s, x, nn, c, h, w)];
                            const float want =
                                c < s.c ? data[(((size_t)nn * s.c + c) * s.h + h) * s.w + w] : 0.0f;
                            cr_assert(got == want || (isnan(got) && isnan(want)),
                                      "[%s] raw blocked element n=%u c=%u h=%u w=%u is %g, expected %g%s", label, nn,
                                      c, h, w, (double)got, (double)want, c >= s.c ? " (padding lane)" : "");
                        }
            free(raw);

            /* NaN data keeps padding lanes zero */
            float *nan = h_floats(n);
            ref_fill_nan(nan, n);
            H_OK(label, mcl_tensor_write(t, nan, n));
            h_check_padding(ctx, t, label);
            free(nan);
            mcl_tensor_destroy(t);
            free(data);
        }
        mcl_context_destroy(ctx);
    }
}

Test(tensor, nchw_bytes_and_roundtrip)
{
    mcl_context *ctx = h_context();
    for (size_t i = 0; i < N_(k_shapes); i++) {
        char label[128];
        shape_label(label, sizeof label, "nchw", k_shapes[i], 0);
        const size_t n = h_count(k_shapes[i]);
        mcl_tensor *t = h_tensor(ctx, k_shapes[i], MCL_LAYOUT_NCHW, label);
        cr_assert_eq(mcl_tensor_layout(t), MCL_LAYOUT_NCHW, "[%s] layout", label);
        cr_assert_eq(mcl_tensor_bytes(t), n * sizeof(float), "[%s] mcl_tensor_bytes %zu, expected %zu", label,
                     mcl_tensor_bytes(t), n * sizeof(float));
        float *x = h_random(n, label, "data", -1, 1);
        float *y = h_floats(n);
        H_OK(label, mcl_tensor_write(t, x, n));
        H_OK(label, mcl_tensor_read(t, y, n));
        h_compare(label, y, x, k_shapes[i], 0.0, 0.0);
        /* an NCHW buffer is plain NCHW */
        float *raw = h_raw_read(ctx, t, label);
        if (raw) {
            h_compare(label, raw, x, k_shapes[i], 0.0, 0.0);
            free(raw);
        }
        mcl_tensor_destroy(t);
        free(x);
        free(y);
    }
    mcl_context_destroy(ctx);
}

/* NCHW -> blocked -> NCHW through mcl_tensor_convert */
Test(tensor, convert_roundtrip, .timeout = 600)
{
    for (size_t b = 0; b < N_(k_blocks); b++) {
        mcl_context *ctx = h_context_block(k_blocks[b]);
        for (size_t i = 0; i < N_(k_shapes); i++) {
            const mcl_shape s = k_shapes[i];
            char label[128];
            shape_label(label, sizeof label, "convert", s, k_blocks[b]);
            const size_t n = h_count(s);
            float *x = h_random(n, label, "data", -1, 1);
            float *y = h_floats(n);
            float *nan = h_floats(n);
            ref_fill_nan(nan, n);
            mcl_tensor *a = h_tensor(ctx, s, MCL_LAYOUT_NCHW, label);
            mcl_tensor *bl = h_tensor(ctx, s, MCL_LAYOUT_BLOCKED, label);
            mcl_tensor *c = h_tensor(ctx, s, MCL_LAYOUT_NCHW, label);
            H_OK(label, mcl_tensor_write(a, x, n));
            H_OK(label, mcl_tensor_write(bl, nan, n));
            H_OK(label, mcl_tensor_write(c, nan, n));
            H_OK(label, mcl_tensor_convert(ctx, a, bl)); /* NCHW -> blocked */
            H_OK(label, mcl_tensor_convert(ctx, bl, c)); /* blocked -> NCHW */
            H_OK(label, mcl_context_finish(ctx));
            H_OK(label, mcl_tensor_read(bl, y, n));
            h_compare(label, y, x, s, 0.0, 0.0);
            h_check_padding(ctx, bl, label);
            H_OK(label, mcl_tensor_read(c, y, n));
            h_compare(label, y, x, s, 0.0, 0.0);
            float *raw = h_raw_read(ctx, c, label);
            if (raw) {
                h_compare(label, raw, x, s, 0.0, 0.0);
                free(raw);
            }
            mcl_tensor_destroy(a);
            mcl_tensor_destroy(bl);
            mcl_tensor_destroy(c);
            free(x);
            free(y);
            free(nan);
        }
        mcl_context_destroy(ctx);
    }
}

/* Same-layout "conversion": the header does not forbid it. Either it is a
 * correct copy, or it is refused with INVALID_ARGUMENT and a message. */
Test(tensor, convert_same_layout)
{
    mcl_context *ctx = h_context();
    const mcl_shape s = {2, 5, 3, 7};
    const size_t n = h_count(s);
    float *x = h_random(n, "same layout", "data", -1, 1);
    float *y = h_floats(n);
    for (int layout = 0; layout < 2; layout++) {
        const char *label = layout ? "blocked -> blocked" : "nchw -> nchw";
        mcl_tensor *a = h_tensor(ctx, s, (mcl_layout)layout, label);
        mcl_tensor *b = h_tensor_with(ctx, s, NULL, label);
        if (!layout) {
            mcl_tensor_destroy(b);
            b = h_tensor(ctx, s, MCL_LAYOUT_NCHW, label);
        }
        H_OK(label, mcl_tensor_write(a, x, n));
        mcl_status st = mcl_tensor_convert(ctx, a, b);
        cr_expect(st == MCL_STATUS_OK || st == MCL_STATUS_INVALID_ARGUMENT, "[%s] -> %s (%s)", label,
                  mcl_status_string(st), h_err());
        if (st == MCL_STATUS_OK) {
            H_OK(label, mcl_context_finish(ctx));
            H_OK(label, mcl_tensor_read(b, y, n));
            h_compare(label, y, x, s, 0.0, 0.0);
        } else {
            cr_expect(*mcl_last_error(), "[%s] refused with an empty mcl_last_error()", label);
        }
        mcl_tensor_destroy(a);
        mcl_tensor_destroy(b);
    }
    free(x);
    free(y);
    mcl_context_destroy(ctx);
}

Test(tensor, write_read_count_validation)
{
    mcl_context *ctx = h_context();
    const mcl_shape s = {2, 5, 3, 3};
    const size_t n = h_count(s);
    float *buf = h_floats(n + 8);
    ref_fill_value(buf, n + 8, 1.0f);
    for (int layout = 0; layout < 2; layout++) {
        const char *label = layout ? "blocked" : "nchw";
        mcl_tensor *t = h_tensor(ctx, s, (mcl_layout)layout, label);
        H_FAIL(label, mcl_tensor_write(t, buf, n - 1), MCL_STATUS_INVALID_ARGUMENT);
        H_FAIL(label, mcl_tensor_write(t, buf, n + 1), MCL_STATUS_INVALID_ARGUMENT);
        H_FAIL(label, mcl_tensor_write(t, buf, 0), MCL_STATUS_INVALID_ARGUMENT);
        H_FAIL(label, mcl_tensor_write(t, NULL, n), MCL_STATUS_INVALID_ARGUMENT);
        H_FAIL(label, mcl_tensor_write(NULL, buf, n), MCL_STATUS_INVALID_ARGUMENT);
        H_FAIL(label, mcl_tensor_read(t, buf, n - 1), MCL_STATUS_INVALID_ARGUMENT);
        H_FAIL(label, mcl_tensor_read(t, buf, n + 1), MCL_STATUS_INVALID_ARGUMENT);
        H_FAIL(label, mcl_tensor_read(t, buf, 0), MCL_STATUS_INVALID_ARGUMENT);
        H_FAIL(label, mcl_tensor_read(t, NULL, n), MCL_STATUS_INVALID_ARGUMENT);
        H_FAIL(label, mcl_tensor_read(NULL, buf, n), MCL_STATUS_INVALID_ARGUMENT);
        /* a failed read leaves the host buffer alone, a failed write the tensor */
        H_OK(label, mcl_tensor_write(t, buf, n));
        float *back = h_floats(n);
        H_OK(label, mcl_tensor_read(t, back, n));
        h_compare(label, back, buf, s, 0.0, 0.0);
        free(back);
        mcl_tensor_destroy(t);
    }
    free(buf);
    mcl_context_destroy(ctx);
}

Test(tensor, create_validation)
{
    mcl_context *ctx = h_context();
    mcl_tensor *t = NULL;
    static const struct {
        const char *name;
        mcl_shape s;
        mcl_status st, alt; /* alt: a second accepted status (or the same) */
    } rows[] = {
        {"n = 0", {0, 3, 4, 4}, MCL_STATUS_INVALID_ARGUMENT, MCL_STATUS_INVALID_ARGUMENT},
        {"c = 0", {1, 0, 4, 4}, MCL_STATUS_INVALID_ARGUMENT, MCL_STATUS_INVALID_ARGUMENT},
        {"h = 0", {1, 3, 0, 4}, MCL_STATUS_INVALID_ARGUMENT, MCL_STATUS_INVALID_ARGUMENT},
        {"w = 0", {1, 3, 4, 0}, MCL_STATUS_INVALID_ARGUMENT, MCL_STATUS_INVALID_ARGUMENT},
        {"c=h=w=0xFFFFFFFF", {1, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, MCL_STATUS_OVERFLOW, MCL_STATUS_INVALID_ARGUMENT},
        {"n=c=h=w=0xFFFFFFFF", {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, MCL_STATUS_OVERFLOW, MCL_STATUS_INVALID_ARGUMENT},
        /* count fits size_t, bytes (x4) do not */
        {"count 2^62 (bytes overflow)", {1u << 31, 1u << 31, 1u, 1u}, MCL_STATUS_OVERFLOW, MCL_STATUS_INVALID_ARGUMENT},
    };
    for (size_t i = 0; i < N_(rows); i++)
        for (int layout = 0; layout < 2; layout++) {
            char label[128];
            snprintf(label, sizeof label, "tensor_create %s layout %d", rows[i].name, layout);
            t = NULL;
            mcl_status st = mcl_tensor_create(ctx, &rows[i].s, (mcl_layout)layout, &t);
            cr_expect(st == rows[i].st || st == rows[i].alt, "[%s] -> %s, expected %s or %s (%s)", label,
                      mcl_status_string(st), mcl_status_string(rows[i].st), mcl_status_string(rows[i].alt), h_err());
            if (st != MCL_STATUS_OK)
                cr_expect(*mcl_last_error(), "[%s] failed with an empty mcl_last_error()", label);
            if (st == MCL_STATUS_OK)
                mcl_tensor_destroy(t);
        }
    const mcl_shape ok = {1, 3, 4, 4};
    H_FAIL("bad layout 7", mcl_tensor_create(ctx, &ok, (mcl_layout)7, &t), MCL_STATUS_INVALID_ARGUMENT);
    H_FAIL("NULL ctx", mcl_tensor_create(NULL, &ok, MCL_LAYOUT_BLOCKED, &t), MCL_STATUS_INVALID_ARGUMENT);
    H_FAIL("NULL shape", mcl_tensor_create(ctx, NULL, MCL_LAYOUT_BLOCKED, &t), MCL_STATUS_INVALID_ARGUMENT);
    H_FAIL("NULL out", mcl_tensor_create(ctx, &ok, MCL_LAYOUT_BLOCKED, NULL), MCL_STATUS_INVALID_ARGUMENT);
    mcl_tensor_destroy(NULL); /* no-op */
    mcl_context_destroy(ctx);
}

Test(tensor, convert_validation)
{
    mcl_context *ctx = h_context();
    mcl_tensor *a = h_tensor(ctx, h_shape(1, 5, 3, 3), MCL_LAYOUT_NCHW, "a");
    mcl_tensor *b = h_tensor(ctx, h_shape(1, 6, 3, 3), MCL_LAYOUT_BLOCKED, "b");
    mcl_tensor *c = h_tensor(ctx, h_shape(2, 5, 3, 3), MCL_LAYOUT_BLOCKED, "c");
    mcl_tensor *d = h_tensor(ctx, h_shape(1, 5, 3, 4), MCL_LAYOUT_NCHW, "d");
    H_FAIL("convert c mismatch", mcl_tensor_convert(ctx, a, b), MCL_STATUS_INVALID_ARGUMENT);
    H_FAIL("convert n mismatch", mcl_tensor_convert(ctx, a, c), MCL_STATUS_INVALID_ARGUMENT);
    H_FAIL("convert w mismatch", mcl_tensor_convert(ctx, a, d), MCL_STATUS_INVALID_ARGUMENT);
    H_FAIL("convert NULL src", mcl_tensor_convert(ctx, NULL, b), MCL_STATUS_INVALID_ARGUMENT);
    H_FAIL("convert NULL dst", mcl_tensor_convert(ctx, a, NULL), MCL_STATUS_INVALID_ARGUMENT);
    H_FAIL("convert NULL ctx", mcl_tensor_convert(NULL, a, b), MCL_STATUS_INVALID_ARGUMENT);
    mcl_tensor_destroy(a);
    mcl_tensor_destroy(b);
    mcl_tensor_destroy(c);
    mcl_tensor_destroy(d);
    mcl_context_destroy(ctx);
}

Test(tensor, shape_count)
{
    const mcl_shape a = {2, 3, 5, 7};
    cr_expect_eq(mcl_shape_count(&a), (size_t)210);
    const mcl_shape z[] = {{0, 3, 5, 7}, {2, 0, 5, 7}, {2, 3, 0, 7}, {2, 3, 5, 0}};
    for (size_t i = 0; i < N_(z); i++)
        cr_expect_eq(mcl_shape_count(&z[i]), (size_t)0, "zero dim %zu", i);
    const mcl_shape big = {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 1};
    cr_expect_eq(mcl_shape_count(&big), (size_t)0, "overflowing shape must count 0");
    const mcl_shape big2 = {1, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu};
    cr_expect_eq(mcl_shape_count(&big2), (size_t)0, "overflowing shape must count 0");
    if (sizeof(size_t) >= 8) {
        const mcl_shape fits = {0xFFFFFFFFu, 0xFFFFFFFFu, 1, 1};
        cr_expect_eq(mcl_shape_count(&fits), (size_t)0xFFFFFFFFu * 0xFFFFFFFFu);
    }
}

/* Two tensors, one context: writes do not alias. */
Test(tensor, independent_buffers)
{
    mcl_context *ctx = h_context();
    const mcl_shape s = {1, 5, 4, 3};
    const size_t n = h_count(s);
    float *x = h_random(n, "indep", "x", -1, 1), *y = h_random(n, "indep", "y", -1, 1), *r = h_floats(n);
    mcl_tensor *a = h_tensor_with(ctx, s, x, "a");
    mcl_tensor *b = h_tensor_with(ctx, s, y, "b");
    H_OK("a", mcl_tensor_read(a, r, n));
    h_compare("independent a", r, x, s, 0, 0);
    H_OK("b", mcl_tensor_read(b, r, n));
    h_compare("independent b", r, y, s, 0, 0);
    mcl_tensor_destroy(a);
    mcl_tensor_destroy(b);
    free(x);
    free(y);
    free(r);
    mcl_context_destroy(ctx);
}
