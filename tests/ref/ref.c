/* Naive reference implementations for the mobicl tests (see ref.h). */
#include "ref.h"

#include <math.h>
#include <string.h>

double ref_act(double x, int act)
{
    switch (act) {
    case REF_ACT_RELU: /* NaN passes through, as in the kernels */
        return x < 0.0 ? 0.0 : x;
    case REF_ACT_RELU6:
        return x < 0.0 ? 0.0 : (x > 6.0 ? 6.0 : x);
    default:
        return x;
    }
}

/* ---- convolution ---------------------------------------------------------- */

static uint32_t one_if_zero(uint32_t d) { return d ? d : 1u; }

int ref_conv2d_out_size(const ref_conv2d_params *p, uint32_t *oh, uint32_t *ow)
{
    if (p->sh == 0 || p->sw == 0 || p->kh == 0 || p->kw == 0)
        return 0;
    int64_t eff_h = ((int64_t)p->kh - 1) * one_if_zero(p->dh) + 1; /* dilated kernel extent */
    int64_t eff_w = ((int64_t)p->kw - 1) * one_if_zero(p->dw) + 1;
    int64_t ph = (int64_t)p->h + p->pt + p->pb; /* padded input */
    int64_t pw = (int64_t)p->w + p->pl + p->pr;
    if (ph < eff_h || pw < eff_w)
        return 0;
    *oh = (uint32_t)((ph - eff_h) / p->sh + 1);
    *ow = (uint32_t)((pw - eff_w) / p->sw + 1);
    return 1;
}

void ref_conv2d(const ref_conv2d_params *p, const float *in, const float *weights, const float *bias,
                const float *residual, float *out)
{
    uint32_t oh = 0, ow = 0;
    if (!ref_conv2d_out_size(p, &oh, &ow))
        return;
    const uint32_t dh = one_if_zero(p->dh), dw = one_if_zero(p->dw);
    const uint32_t in_per_group = p->c / p->groups;      /* input channels of one group */
    const uint32_t out_per_group = p->out_c / p->groups; /* output channels of one group */
    for (uint32_t n = 0; n < p->n; n++)
        for (uint32_t oc = 0; oc < p->out_c; oc++) {
            const uint32_t g = oc / out_per_group;
            for (uint32_t oy = 0; oy < oh; oy++)
                for (uint32_t ox = 0; ox < ow; ox++) {
                    double acc = bias ? (double)bias[oc] : 0.0;
                    for (uint32_t icg = 0; icg < in_per_group; icg++) {
                        const uint32_t ic = g * in_per_group + icg;
                        for (uint32_t ky = 0; ky < p->kh; ky++) {
                            const int64_t iy = (int64_t)oy * p->sh - p->pt + (int64_t)ky * dh;
                            if (iy < 0 || iy >= p->h)
                                continue;
                            for (uint32_t kx = 0; kx < p->kw; kx++) {
                                const int64_t ix = (int64_t)ox * p->sw - p->pl + (int64_t)kx * dw;
                                if (ix < 0 || ix >= p->w)
                                    continue;
                                const size_t ii = (((size_t)n * p->c + ic) * p->h + (size_t)iy) * p->w + (size_t)ix;
                                const size_t wi = (((size_t)oc * in_per_group + icg) * p->kh + ky) * p->kw + kx;
                                acc += (double)in[ii] * (double)weights[wi];
                            }
                        }
                    }
                    const size_t oi = (((size_t)n * p->out_c + oc) * oh + oy) * ow + ox;
                    if (residual)
                        acc += (double)residual[oi];
                    out[oi] = (float)ref_act(acc, p->act);
                }
        }
}

/* ---- pooling -------------------------------------------------------------- */

int ref_pool2d_out_size(const ref_pool2d_params *p, uint32_t *oh, uint32_t *ow)
{
    if (p->type == REF_POOL_GLOBAL_AVG) {
        *oh = *ow = 1;
        return 1;
    }
    if (p->sh == 0 || p->sw == 0 || p->kh == 0 || p->kw == 0)
        return 0;
    int64_t ph = (int64_t)p->h + p->pt + p->pb;
    int64_t pw = (int64_t)p->w + p->pl + p->pr;
    if (ph < p->kh || pw < p->kw)
        return 0;
    *oh = (uint32_t)((ph - p->kh) / p->sh + 1);
    *ow = (uint32_t)((pw - p->kw) / p->sw + 1);
    return 1;
}

void ref_pool2d(const ref_pool2d_params *p, const float *in, float *out)
{
    uint32_t oh = 0, ow = 0;
    if (!ref_pool2d_out_size(p, &oh, &ow))
        return;
    for (uint32_t n = 0; n < p->n; n++)
        for (uint32_t c = 0; c < p->c; c++) {
            const float *plane = in + ((size_t)n * p->c + c) * p->h * p->w;
            float *oplane = out + ((size_t)n * p->c + c) * oh * ow;
            if (p->type == REF_POOL_GLOBAL_AVG) {
                double sum = 0.0;
                for (size_t i = 0; i < (size_t)p->h * p->w; i++)
                    sum += plane[i];
                oplane[0] = (float)(sum / ((double)p->h * p->w));
                continue;
            }
            for (uint32_t oy = 0; oy < oh; oy++)
                for (uint32_t ox = 0; ox < ow; ox++) {
                    double mx = -INFINITY, sum = 0.0;
                    size_t inside = 0;
                    for (uint32_t ky = 0; ky < p->kh; ky++) {
                        const int64_t iy = (int64_t)oy * p->sh - p->pt + ky;
                        if (iy < 0 || iy >= p->h)
                            continue;
                        for (uint32_t kx = 0; kx < p->kw; kx++) {
                            const int64_t ix = (int64_t)ox * p->sw - p->pl + kx;
                            if (ix < 0 || ix >= p->w)
                                continue;
                            const double v = plane[(size_t)iy * p->w + (size_t)ix];
                            if (v > mx || isnan(v)) /* a NaN in the window wins and stays */
                                mx = isnan(mx) ? mx : v;
                            sum += v;
                            inside++;
                        }
                    }
                    double r;
                    if (p->type == REF_POOL_MAX)
                        r = mx;
                    else if (p->count_include_pad)
                        r = sum / ((double)p->kh * p->kw);
                    else
                        r = inside ? sum / (double)inside : 0.0;
                    oplane[(size_t)oy * ow + ox] = (float)r;
                }
        }
}

/* ---- fully connected ------------------------------------------------------ */

void ref_fc(uint32_t n, uint32_t in_features, uint32_t out_features, int act, const float *in,
            const float *weights, const float *bias, float *out)
{
    for (uint32_t b = 0; b < n; b++)
        for (uint32_t o = 0; o < out_features; o++) {
            double acc = bias ? (double)bias[o] : 0.0;
            for (uint32_t i = 0; i < in_features; i++)
                acc += (double)in[(size_t)b * in_features + i] * (double)weights[(size_t)o * in_features + i];
            out[(size_t)b * out_features + o] = (float)ref_act(acc, act);
        }
}

/* ---- softmax ---------------------------------------------------------------- */

void ref_softmax(uint32_t n, uint32_t c, uint32_t h, uint32_t w, const float *in, float *out)
{
    const size_t hw = (size_t)h * w;
    for (uint32_t b = 0; b < n; b++)
        for (size_t p = 0; p < hw; p++) {
            const float *x = in + (size_t)b * c * hw + p; /* channel ch at x[ch * hw] */
            float *y = out + (size_t)b * c * hw + p;
            double mx = -INFINITY;
            for (uint32_t ch = 0; ch < c; ch++)
                if (x[ch * hw] > mx)
                    mx = x[ch * hw];
            double sum = 0.0;
            for (uint32_t ch = 0; ch < c; ch++)
                sum += exp((double)x[ch * hw] - mx);
            for (uint32_t ch = 0; ch < c; ch++)
                y[ch * hw] = (float)(exp((double)x[ch * hw] - mx) / sum);
        }
}

/* ---- channel gather --------------------------------------------------------- */

uint32_t ref_channel(uint32_t n, uint32_t h, uint32_t w, uint32_t c0, const float *in0, uint32_t c1,
                     const float *in1, uint32_t offset, uint32_t channels, uint32_t groups, float *out)
{
    if (!in1)
        c1 = 0;
    if (channels == 0)
        channels = c0 + c1 - offset;
    if (groups == 0)
        groups = 1;
    const size_t hw = (size_t)h * w;
    for (uint32_t b = 0; b < n; b++)
        for (uint32_t c = 0; c < channels; c++) {
            const uint32_t src = offset + (c % groups) * (channels / groups) + c / groups;
            const float *from = src < c0 ? in0 + ((size_t)b * c0 + src) * hw
                                         : in1 + ((size_t)b * c1 + (src - c0)) * hw;
            memcpy(out + ((size_t)b * channels + c) * hw, from, hw * sizeof(float));
        }
    return channels;
}

/* ---- elementwise ------------------------------------------------------------- */

void ref_add(size_t count, const float *a, const float *b, int act, float *out)
{
    for (size_t i = 0; i < count; i++)
        out[i] = (float)ref_act((double)a[i] + (double)b[i], act);
}

/* ---- data helpers --------------------------------------------------------------- */

void ref_rng_seed(ref_rng *r, uint64_t seed)
{
    /* one splitmix64 step spreads similar seeds apart */
    uint64_t z = seed + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    r->s = z ? z : 0x2545F4914F6CDD1Dull;
}

uint64_t ref_rng_next(ref_rng *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

float ref_rng_uniform(ref_rng *r, float lo, float hi)
{
    const double u = (double)(ref_rng_next(r) >> 11) * (1.0 / 9007199254740992.0); /* [0, 1) */
    float v = (float)(lo + (hi - lo) * u);
    return v < hi ? v : lo; /* rounding may reach hi */
}

uint64_t ref_hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; s && *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

void ref_fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi)
{
    ref_rng r;
    ref_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        x[i] = ref_rng_uniform(&r, lo, hi);
}

void ref_fill_nan(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = NAN;
}

void ref_fill_value(float *x, size_t n, float v)
{
    for (size_t i = 0; i < n; i++)
        x[i] = v;
}

/* ---- comparison ------------------------------------------------------------------- */

int ref_compare(const float *got, const float *want, size_t n, double atol, double rtol, ref_mismatch *m)
{
    ref_mismatch r;
    memset(&r, 0, sizeof r);
    for (size_t i = 0; i < n; i++) {
        const double g = got[i], e = want[i];
        const double tol = atol + rtol * fabs(e);
        int ok;
        double d = 0.0;
        if (isnan(g)) {
            r.nan++;
            ok = 0;
        } else if (isnan(e)) {
            ok = 0;
        } else if (g == e) {
            ok = 1; /* also equal infinities */
        } else {
            d = fabs(g - e);
            ok = d <= tol; /* false for d = inf */
            if (d > r.max_diff)
                r.max_diff = d;
        }
        if (!ok) {
            if (r.bad == 0) {
                r.first = i;
                r.got = g;
                r.want = e;
                r.diff = isnan(g) || isnan(e) ? NAN : d;
                r.tol = tol;
            }
            r.bad++;
        }
    }
    if (m)
        *m = r;
    return r.bad == 0;
}
