/* Naive reference implementations for the mobicl tests.
 *
 * Everything works on plain NCHW float arrays and accumulates in double.
 * These functions are written to be obviously correct, not fast: one loop
 * per index, bounds checks spelled out. They do not depend on mobicl.h.
 *
 * Activations use the values of mcl_activation: 0 none, 1 relu, 2 relu6.
 */
#ifndef MOBICL_TEST_REF_H
#define MOBICL_TEST_REF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { REF_ACT_NONE = 0, REF_ACT_RELU = 1, REF_ACT_RELU6 = 2 };

/* y = act(x) in double */
double ref_act(double x, int act);

/* ---- convolution ---------------------------------------------------------
 * in:  n x c x h x w
 * weights: OIHW, [out_c][c/groups][kh][kw]
 * bias: [out_c] or NULL; residual: n x out_c x oh x ow or NULL
 * out: n x out_c x oh x ow, out = act(conv + bias + residual)
 * dh/dw 0 are read as 1 (as in mcl_conv2d_desc). */
typedef struct ref_conv2d_params {
    uint32_t n, c, h, w;
    uint32_t out_c, groups;
    uint32_t kh, kw, sh, sw;
    uint32_t pt, pl, pb, pr;
    uint32_t dh, dw;
    int act;
} ref_conv2d_params;

/* Output height/width; returns 0 if the window does not fit the padded input
 * (or a stride is zero), 1 otherwise. */
int ref_conv2d_out_size(const ref_conv2d_params *p, uint32_t *oh, uint32_t *ow);
void ref_conv2d(const ref_conv2d_params *p, const float *in, const float *weights, const float *bias,
                const float *residual, float *out);

/* ---- pooling -------------------------------------------------------------
 * type: 0 max, 1 avg, 2 global avg (values of mcl_pool_type).
 * max ignores padded positions; avg divides by the number of in-bounds
 * elements (count_include_pad 0) or by kh*kw (count_include_pad 1);
 * global avg: out n x c x 1 x 1, kernel/stride/pad ignored. */
enum { REF_POOL_MAX = 0, REF_POOL_AVG = 1, REF_POOL_GLOBAL_AVG = 2 };
typedef struct ref_pool2d_params {
    int type;
    uint32_t n, c, h, w;
    uint32_t kh, kw, sh, sw;
    uint32_t pt, pl, pb, pr;
    int count_include_pad;
} ref_pool2d_params;
int ref_pool2d_out_size(const ref_pool2d_params *p, uint32_t *oh, uint32_t *ow);
void ref_pool2d(const ref_pool2d_params *p, const float *in, float *out);

/* ---- fully connected -----------------------------------------------------
 * in: n x in_features (the NCHW input flattened in (c, h, w) order)
 * weights: [out_features][in_features]; bias [out_features] or NULL
 * out: n x out_features */
void ref_fc(uint32_t n, uint32_t in_features, uint32_t out_features, int act, const float *in,
            const float *weights, const float *bias, float *out);

/* ---- softmax over channels, for each (n, h, w); in/out n x c x h x w ---- */
void ref_softmax(uint32_t n, uint32_t c, uint32_t h, uint32_t w, const float *in, float *out);

/* ---- channel gather (mcl_channel_desc) -------------------------------------
 * The source is the concatenation along channels of in0 (n x c0 x h x w) and,
 * if in1 != NULL, in1 (n x c1 x h x w). channels 0 means c0 + c1 - offset;
 * groups 0 means 1. Output channel c (< channels) reads source channel
 *   offset + (c % groups) * (channels / groups) + c / groups.
 * out: n x channels x h x w. Returns the number of output channels. */
uint32_t ref_channel(uint32_t n, uint32_t h, uint32_t w, uint32_t c0, const float *in0, uint32_t c1,
                     const float *in1, uint32_t offset, uint32_t channels, uint32_t groups, float *out);

/* ---- elementwise: out[i] = act(a[i] + b[i]) ------------------------------ */
void ref_add(size_t count, const float *a, const float *b, int act, float *out);

/* ---- data helpers ----------------------------------------------------------- */

/* xorshift64* generator; a seed of 0 is replaced by a fixed non-zero one. */
typedef struct ref_rng { uint64_t s; } ref_rng;
void ref_rng_seed(ref_rng *r, uint64_t seed);
uint64_t ref_rng_next(ref_rng *r);
/* uniform in [lo, hi) */
float ref_rng_uniform(ref_rng *r, float lo, float hi);
/* FNV-1a of a string: derive seeds from test row names. */
uint64_t ref_hash_str(const char *s);

/* Fill x[0..n) uniformly in [lo, hi) from `seed` (deterministic). */
void ref_fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi);
/* Fill x[0..n) with quiet NaN. */
void ref_fill_nan(float *x, size_t n);
void ref_fill_value(float *x, size_t n, float v);

/* ---- comparison --------------------------------------------------------------
 * An element passes if got == want (covers equal infinities) or
 * |got - want| <= atol + rtol * |want|. A NaN in `got` (or `want`) fails. */
typedef struct ref_mismatch {
    size_t bad;       /* elements that failed, NaN included */
    size_t nan;       /* NaN elements in got */
    size_t first;     /* index of the first failing element (valid if bad > 0) */
    double got, want; /* values at `first` */
    double diff, tol; /* |got - want| and the allowed difference at `first` */
    double max_diff;  /* largest |got - want| over non-NaN elements */
} ref_mismatch;
/* Returns 1 if every element passes, 0 otherwise; fills *m (may be NULL). */
int ref_compare(const float *got, const float *want, size_t n, double atol, double rtol, ref_mismatch *m);

#ifdef __cplusplus
}
#endif
#endif
