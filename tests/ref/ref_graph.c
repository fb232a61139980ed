/* Reference executor for an mcl_graph (see ref_graph.h). */
#include "ref_graph.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"

static _Thread_local char t_err[512];
static _Thread_local size_t t_live, t_peak; /* bytes of value tensors alive */

const char *ref_graph_error(void) { return t_err; }
size_t ref_graph_peak_bytes(void) { return t_peak; }

static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t_err, sizeof t_err, fmt, ap);
    va_end(ap);
    return -1;
}

void ref_graph_fill_input(float *x, size_t n, uint64_t seed) { ref_fill_uniform(x, n, seed, -1.0f, 1.0f); }

static size_t count_of(mcl_shape s) { return (size_t)s.n * s.c * s.h * s.w; }
static int same_shape(mcl_shape a, mcl_shape b) { return a.n == b.n && a.c == b.c && a.h == b.h && a.w == b.w; }

size_t ref_graph_value_count(const mcl_graph *g, mcl_value v)
{
    mcl_shape s;
    return mcl_graph_value_shape(g, v, &s) == MCL_STATUS_OK ? count_of(s) : 0;
}

/* ---- naive helpers for the node kinds ref.h does not cover ---------------- */

/* y = gamma * (x - mean) / sqrt(var + eps) + beta, per channel, in double */
static void bn(mcl_shape s, const float *x, const mcl_node_info *nd, float *y)
{
    const size_t hw = (size_t)s.h * s.w;
    for (uint32_t n = 0; n < s.n; n++)
        for (uint32_t c = 0; c < s.c; c++) {
            const double sd = sqrt((double)nd->var[c] + (double)nd->eps);
            for (size_t i = 0; i < hw; i++) {
                const size_t k = ((size_t)n * s.c + c) * hw + i;
                y[k] = (float)((double)nd->gamma[c] * ((double)x[k] - (double)nd->mean[c]) / sd + (double)nd->beta[c]);
            }
        }
}

static void act(size_t count, const float *x, int a, float *y)
{
    for (size_t i = 0; i < count; i++)
        y[i] = (float)ref_act((double)x[i], a);
}

/* copy channels [c0, c0 + k) of x (n x cx x hw) to channels [d0, d0 + k) of y (n x cy x hw) */
static void copy_channels(uint32_t n, size_t hw, const float *x, uint32_t cx, uint32_t c0, float *y, uint32_t cy,
                          uint32_t d0, uint32_t k)
{
    for (uint32_t b = 0; b < n; b++)
        for (uint32_t c = 0; c < k; c++)
            memcpy(y + ((size_t)b * cy + d0 + c) * hw, x + ((size_t)b * cx + c0 + c) * hw, hw * sizeof(float));
}

/* out channel c = in channel (c % g) * (C / g) + c / g */
static void shuffle(mcl_shape s, uint32_t g, const float *x, float *y)
{
    const size_t hw = (size_t)s.h * s.w;
    for (uint32_t c = 0; c < s.c; c++)
        copy_channels(s.n, hw, x, s.c, (c % g) * (s.c / g) + c / g, y, s.c, c, 1);
}

/* ---- one node ---------------------------------------------------------------- */

/* Computes the output shapes of node nd from the input shapes `in` on its
 * own (no library shape inference), and runs it. x: input data, y: outputs
 * (allocated by the caller from the graph's recorded shapes, which must
 * equal the computed ones, checked before anything is written). */
static int run_node(const mcl_node_info *nd, const mcl_shape *in, const mcl_shape *rec, const float *const *x,
                    float *const *y)
{
    mcl_shape want[MCL_GRAPH_MAX_IO];
    const mcl_shape s = in[0];
    want[0] = s;
    switch (nd->kind) {
    case MCL_NODE_CONV2D: {
        const mcl_conv2d_desc *d = &nd->conv;
        ref_conv2d_params p = {
            .n = s.n, .c = s.c, .h = s.h, .w = s.w, .out_c = d->out_channels, .groups = d->groups,
            .kh = d->kernel_h, .kw = d->kernel_w, .sh = d->stride_h, .sw = d->stride_w,
            .pt = d->pad_top, .pl = d->pad_left, .pb = d->pad_bottom, .pr = d->pad_right,
            .dh = d->dilation_h, .dw = d->dilation_w, .act = (int)d->activation,
        };
        if (d->in_channels != s.c || !d->groups || s.c % d->groups || d->out_channels % d->groups ||
            !ref_conv2d_out_size(&p, &want[0].h, &want[0].w) || !nd->weights)
            return fail("conv '%s': descriptor does not fit input %ux%ux%ux%u", nd->name, s.n, s.c, s.h, s.w);
        want[0].c = d->out_channels;
        const int has_res = d->residual && nd->n_in == 2;
        if (has_res != (nd->n_in == 2))
            return fail("conv '%s': residual flag %d but %zu inputs", nd->name, d->residual, nd->n_in);
        if (has_res && !same_shape(in[1], want[0]))
            return fail("conv '%s': residual shape differs from the output", nd->name);
        if (!same_shape(rec[0], want[0]))
            break;
        ref_conv2d(&p, x[0], nd->weights, nd->bias, has_res ? x[1] : NULL, y[0]);
        return 0;
    }
    case MCL_NODE_BATCHNORM:
        if (!nd->gamma || !nd->beta || !nd->mean || !nd->var)
            return fail("batchnorm '%s': missing parameters", nd->name);
        if (!same_shape(rec[0], want[0]))
            break;
        bn(s, x[0], nd, y[0]);
        return 0;
    case MCL_NODE_ACTIVATION:
        if (!same_shape(rec[0], want[0]))
            break;
        act(count_of(s), x[0], (int)nd->act, y[0]);
        return 0;
    case MCL_NODE_ADD:
        if (nd->n_in != 2 || !same_shape(in[1], s))
            return fail("add '%s': inputs differ in shape", nd->name);
        if (!same_shape(rec[0], want[0]))
            break;
        ref_add(count_of(s), x[0], x[1], (int)nd->act, y[0]);
        return 0;
    case MCL_NODE_POOL2D: {
        const mcl_pool2d_desc *d = &nd->pool;
        ref_pool2d_params p = {
            .type = (int)d->type, .n = s.n, .c = s.c, .h = s.h, .w = s.w,
            .kh = d->kernel_h, .kw = d->kernel_w, .sh = d->stride_h, .sw = d->stride_w,
            .pt = d->pad_top, .pl = d->pad_left, .pb = d->pad_bottom, .pr = d->pad_right,
            .count_include_pad = d->count_include_pad,
        };
        if (!ref_pool2d_out_size(&p, &want[0].h, &want[0].w))
            return fail("pool '%s': window does not fit input %ux%ux%ux%u", nd->name, s.n, s.c, s.h, s.w);
        if (!same_shape(rec[0], want[0]))
            break;
        ref_pool2d(&p, x[0], y[0]);
        act(count_of(want[0]), y[0], (int)nd->act, y[0]);
        return 0;
    }
    case MCL_NODE_FC:
        if ((uint64_t)s.c * s.h * s.w != nd->fc.in_features || !nd->weights)
            return fail("fc '%s': in_features %u != c*h*w of %ux%ux%ux%u", nd->name, nd->fc.in_features, s.n, s.c,
                        s.h, s.w);
        want[0].c = nd->fc.out_features;
        want[0].h = want[0].w = 1;
        if (!same_shape(rec[0], want[0]))
            break;
        ref_fc(s.n, nd->fc.in_features, nd->fc.out_features, (int)nd->fc.activation, x[0], nd->weights, nd->bias,
               y[0]);
        return 0;
    case MCL_NODE_SOFTMAX:
        if (!same_shape(rec[0], want[0]))
            break;
        ref_softmax(s.n, s.c, s.h, s.w, x[0], y[0]);
        return 0;
    case MCL_NODE_CONCAT: {
        uint32_t c = 0;
        for (size_t i = 0; i < nd->n_in; i++) {
            if (in[i].n != s.n || in[i].h != s.h || in[i].w != s.w)
                return fail("concat '%s': input %zu differs in N, H or W", nd->name, i);
            c += in[i].c;
        }
        want[0].c = c;
        if (!same_shape(rec[0], want[0]))
            break;
        for (size_t i = 0, at = 0; i < nd->n_in; at += in[i].c, i++)
            copy_channels(s.n, (size_t)s.h * s.w, x[i], in[i].c, 0, y[0], c, (uint32_t)at, in[i].c);
        return 0;
    }
    case MCL_NODE_SPLIT: {
        uint64_t c = 0;
        for (size_t i = 0; i < nd->n_out; i++) {
            want[i] = s;
            want[i].c = nd->sizes[i];
            c += nd->sizes[i];
        }
        if (c != s.c)
            return fail("split '%s': sizes sum to %llu, input has %u channels", nd->name, (unsigned long long)c, s.c);
        for (size_t i = 0; i < nd->n_out; i++)
            if (!same_shape(rec[i], want[i]))
                return fail("node '%s': output %zu recorded as %ux%ux%ux%u, reference computes %ux%ux%ux%u",
                            nd->name, i, rec[i].n, rec[i].c, rec[i].h, rec[i].w, want[i].n, want[i].c, want[i].h,
                            want[i].w);
        for (size_t i = 0, at = 0; i < nd->n_out; at += nd->sizes[i], i++)
            copy_channels(s.n, (size_t)s.h * s.w, x[0], s.c, (uint32_t)at, y[i], nd->sizes[i], 0, nd->sizes[i]);
        return 0;
    }
    case MCL_NODE_SHUFFLE:
        if (!nd->groups || s.c % nd->groups)
            return fail("shuffle '%s': groups %u do not divide %u channels", nd->name, nd->groups, s.c);
        if (!same_shape(rec[0], want[0]))
            break;
        shuffle(s, nd->groups, x[0], y[0]);
        return 0;
    default:
        return fail("node '%s': unknown kind %d", nd->name, (int)nd->kind);
    }
    return fail("node '%s': output recorded as %ux%ux%ux%u, reference computes %ux%ux%ux%u", nd->name, rec[0].n,
                rec[0].c, rec[0].h, rec[0].w, want[0].n, want[0].c, want[0].h, want[0].w);
}

/* ---- the graph ------------------------------------------------------------------ */

static float *talloc(size_t count)
{
    float *p = malloc(count * sizeof(float));
    if (p && (t_live += count * sizeof(float)) > t_peak)
        t_peak = t_live;
    return p;
}

static void tfree(const mcl_graph *g, float **t, mcl_value v)
{
    if (t[v])
        t_live -= ref_graph_value_count(g, v) * sizeof(float);
    free(t[v]);
    t[v] = NULL;
}

int ref_graph_run(const mcl_graph *g, const float *const *inputs, float **outputs)
{
    t_err[0] = 0;
    t_live = t_peak = 0;
    const size_t nv = mcl_graph_value_count(g), nn = mcl_graph_node_count(g);
    const size_t n_in = mcl_graph_input_count(g), n_out = mcl_graph_output_count(g);
    if (!g || !inputs || !outputs)
        return fail("ref_graph_run: NULL argument");
    for (size_t i = 0; i < n_out; i++)
        outputs[i] = NULL;
    float **t = calloc(nv ? nv : 1, sizeof *t); /* data of each value while it lives */
    size_t *uses = calloc(nv ? nv : 1, sizeof *uses); /* consumers still to run (+1 per graph output) */
    int rc = -1;
    if (!t || !uses) {
        fail("ref_graph_run: out of memory");
        goto done;
    }
    mcl_node_info nd;
    for (size_t i = 0; i < nn; i++) {
        if (mcl_graph_node(g, i, &nd) != MCL_STATUS_OK || nd.n_in < 1 || nd.n_in > MCL_GRAPH_MAX_IO ||
            nd.n_out < 1 || nd.n_out > MCL_GRAPH_MAX_IO) {
            fail("node %zu: cannot read it (%s)", i, mcl_last_error());
            goto done;
        }
        for (size_t k = 0; k < nd.n_in; k++)
            if (nd.in[k] >= 0 && (size_t)nd.in[k] < nv)
                uses[nd.in[k]]++;
    }
    for (size_t i = 0; i < n_out; i++) {
        mcl_value v = mcl_graph_output_value(g, i);
        if (v < 0 || (size_t)v >= nv) {
            fail("graph output %zu is not a value", i);
            goto done;
        }
        uses[v]++;
    }
    for (size_t i = 0; i < n_in; i++) {
        const mcl_value v = mcl_graph_input_value(g, i);
        const size_t cnt = ref_graph_value_count(g, v);
        if (!cnt || !inputs[i] || t[v]) {
            fail("graph input %zu (value %d): bad value, NULL data or listed twice", i, (int)v);
            goto done;
        }
        if (!(t[v] = talloc(cnt))) {
            fail("graph input %zu: out of memory", i);
            goto done;
        }
        memcpy(t[v], inputs[i], cnt * sizeof(float));
    }
    for (size_t i = 0; i < nn; i++) {
        mcl_graph_node(g, i, &nd);
        mcl_shape in[MCL_GRAPH_MAX_IO], rec[MCL_GRAPH_MAX_IO];
        const float *x[MCL_GRAPH_MAX_IO];
        float *y[MCL_GRAPH_MAX_IO] = {NULL};
        for (size_t k = 0; k < nd.n_in; k++) {
            if (nd.in[k] < 0 || (size_t)nd.in[k] >= nv || !t[nd.in[k]] ||
                mcl_graph_value_shape(g, nd.in[k], &in[k]) != MCL_STATUS_OK) {
                fail("node '%s': input %zu (value %d) is not available before it", nd.name, k, (int)nd.in[k]);
                goto done;
            }
            x[k] = t[nd.in[k]];
        }
        for (size_t k = 0; k < nd.n_out; k++) {
            if (nd.out[k] < 0 || (size_t)nd.out[k] >= nv || t[nd.out[k]] ||
                mcl_graph_value_shape(g, nd.out[k], &rec[k]) != MCL_STATUS_OK) {
                fail("node '%s': output %zu (value %d) is invalid or written twice", nd.name, k, (int)nd.out[k]);
                goto done;
            }
            if (!(t[nd.out[k]] = y[k] = talloc(count_of(rec[k])))) {
                fail("node '%s': out of memory for output %zu", nd.name, k);
                goto done;
            }
        }
        if (run_node(&nd, in, rec, x, y) != 0)
            goto done;
        for (size_t k = 0; k < nd.n_in; k++)
            if (--uses[nd.in[k]] == 0)
                tfree(g, t, nd.in[k]);
        for (size_t k = 0; k < nd.n_out; k++)
            if (uses[nd.out[k]] == 0) /* dead value */
                tfree(g, t, nd.out[k]);
    }
    for (size_t i = 0; i < n_out; i++) {
        const mcl_value v = mcl_graph_output_value(g, i);
        const size_t cnt = ref_graph_value_count(g, v);
        if (!t[v]) {
            fail("graph output %zu (value %d) was never computed", i, (int)v);
            goto done;
        }
        if (!(outputs[i] = malloc(cnt * sizeof(float)))) {
            fail("graph output %zu: out of memory", i);
            goto done;
        }
        memcpy(outputs[i], t[v], cnt * sizeof(float));
    }
    rc = 0;
done:
    for (size_t v = 0; t && v < nv; v++)
        tfree(g, t, (mcl_value)v);
    free(t);
    free(uses);
    if (rc != 0)
        for (size_t i = 0; i < n_out; i++) {
            free(outputs[i]);
            outputs[i] = NULL;
        }
    return rc;
}
