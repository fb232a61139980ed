/* conv2d: one entry point, four kernels — depthwise (dwconv.cl), pointwise
 * (pwconv.cl, grouped too), direct KxK any groups (conv.cl), and 1x1
 * through CLBlast SGEMM. The variant is fixed at create from the
 * descriptor alone, so the weights are packed once for it. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#ifdef MOBICL_WITH_CLBLAST
#include <clblast_c.h>
#endif

typedef struct conv_impl {
    mcl_conv2d_desc d;
    mcl_conv_variant variant; /* resolved, never AUTO */
    uint32_t kb;              /* input blocks per output block (pw/direct) */
    int grouped;              /* start[] not all equal (one equal start: an input offset) */
    cl_mem wt, bias, start;
    /* graph-runtime output extensions (pwconv.cl SCATTER / PASS) */
    uint32_t onb, ooff, npass;
    int in_nchw; /* direct conv reading a plain NCHW input */
    cl_mem oslot, psrc, pdst;
    mcl_tensor *pin;
    /* CLBlast variant: NCHW staging buffers and the two layout kernels */
    cl_mem x_nchw, y_nchw;
    cl_kernel k_in, k_out;
} conv_impl;

static uint32_t dil(uint32_t d) { return d ? d : 1; }

static int is_depthwise(const mcl_conv2d_desc *d)
{
    return d->groups == d->in_channels && d->groups == d->out_channels;
}

static int is_pointwise(const mcl_conv2d_desc *d)
{
    return d->kernel_h == 1 && d->kernel_w == 1 && d->stride_h == 1 && d->stride_w == 1 && !d->pad_top &&
           !d->pad_left && !d->pad_bottom && !d->pad_right;
}

/* Checks of the descriptor alone. */
static mcl_status check_desc(mcl_context *ctx, const mcl_conv2d_desc *d)
{
    if (!d)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "conv2d descriptor is NULL");
    if (!d->in_channels || !d->out_channels || !d->groups)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "conv2d: in_channels %u, out_channels %u, groups %u must be > 0",
                        d->in_channels, d->out_channels, d->groups);
    if (d->in_channels % d->groups || d->out_channels % d->groups)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT,
                        "conv2d: groups %u must divide in_channels %u and out_channels %u", d->groups,
                        d->in_channels, d->out_channels);
    if (!d->kernel_h || !d->kernel_w || d->kernel_h > 64 || d->kernel_w > 64)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "conv2d: kernel %ux%u must be 1..64 in each dimension",
                        d->kernel_h, d->kernel_w);
    if (!d->stride_h || !d->stride_w || d->stride_h > 64 || d->stride_w > 64)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "conv2d: stride %ux%u must be 1..64", d->stride_h,
                        d->stride_w);
    if (dil(d->dilation_h) > 64 || dil(d->dilation_w) > 64)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "conv2d: dilation %ux%u must be 1..64", d->dilation_h,
                        d->dilation_w);
    if (d->pad_top > 1024 || d->pad_bottom > 1024 || d->pad_left > 1024 || d->pad_right > 1024)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "conv2d: padding %u/%u/%u/%u exceeds 1024",
                        d->pad_top, d->pad_left, d->pad_bottom, d->pad_right);
    if (d->in_channels > (1u << 20) || d->out_channels > (1u << 20))
        return mcl_fail(ctx, MCL_STATUS_OVERFLOW, "conv2d: %u in / %u out channels exceed the 2^20 limit",
                        d->in_channels, d->out_channels);
    if (mcl_check_activation(d->activation) != MCL_STATUS_OK)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "conv2d: activation %d is not none, relu or relu6",
                        (int)d->activation);
    switch (d->variant) {
    case MCL_CONV_AUTO:
    case MCL_CONV_DIRECT:
        break;
    case MCL_CONV_DEPTHWISE:
        if (!is_depthwise(d))
            return mcl_fail(ctx, MCL_STATUS_UNSUPPORTED,
                            "conv2d: depthwise variant needs groups == in == out channels, got %u/%u/%u", d->groups,
                            d->in_channels, d->out_channels);
        break;
    case MCL_CONV_POINTWISE:
    case MCL_CONV_CLBLAST:
        if (!is_pointwise(d))
            return mcl_fail(ctx, MCL_STATUS_UNSUPPORTED,
                            "conv2d: %s variant needs a 1x1 kernel, stride 1 and no padding (got %ux%u, stride %ux%u)",
                            d->variant == MCL_CONV_CLBLAST ? "clblast" : "pointwise", d->kernel_h, d->kernel_w,
                            d->stride_h, d->stride_w);
        if (d->variant == MCL_CONV_CLBLAST && d->groups != 1)
            return mcl_fail(ctx, MCL_STATUS_UNSUPPORTED, "conv2d: clblast variant needs groups 1, got %u", d->groups);
#ifndef MOBICL_WITH_CLBLAST
        if (d->variant == MCL_CONV_CLBLAST)
            return mcl_fail(ctx, MCL_STATUS_UNSUPPORTED, "conv2d: this build has no CLBlast (MOBICL_WITH_CLBLAST off)");
#endif
        break;
    default:
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "conv2d: variant %d is not a mcl_conv_variant",
                        (int)d->variant);
    }
    return MCL_STATUS_OK;
}

static mcl_status conv_out_shape(mcl_context *ctx, const mcl_conv2d_desc *d, const mcl_shape *in, mcl_shape *out)
{
    mcl_status st = check_desc(ctx, d);
    if (st != MCL_STATUS_OK)
        return st;
    if ((st = mcl_check_shape(ctx, "conv2d input", in)) != MCL_STATUS_OK)
        return st;
    if (!out)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "conv2d: output shape pointer is NULL");
    if (in->c != d->in_channels)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "conv2d: input has %u channels, descriptor says %u", in->c,
                        d->in_channels);
    uint64_t eh = (uint64_t)dil(d->dilation_h) * (d->kernel_h - 1) + 1;
    uint64_t ew = (uint64_t)dil(d->dilation_w) * (d->kernel_w - 1) + 1;
    uint64_t ph = (uint64_t)in->h + d->pad_top + d->pad_bottom;
    uint64_t pw = (uint64_t)in->w + d->pad_left + d->pad_right;
    if (eh > ph || ew > pw)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT,
                        "conv2d: effective kernel %llux%llu is larger than the padded input %llux%llu",
                        (unsigned long long)eh, (unsigned long long)ew, (unsigned long long)ph,
                        (unsigned long long)pw);
    mcl_shape o = {in->n, d->out_channels, (uint32_t)((ph - eh) / d->stride_h + 1),
                   (uint32_t)((pw - ew) / d->stride_w + 1)};
    if ((st = mcl_check_shape(ctx, "conv2d output", &o)) != MCL_STATUS_OK)
        return st;
    *out = o;
    return MCL_STATUS_OK;
}

mcl_status mcl_conv2d_validate(const mcl_conv2d_desc *d, const mcl_shape *in, mcl_shape *out)
{
    mcl_clear_error();
    return conv_out_shape(NULL, d, in, out);
}

/* ---- weight packing ---- */

/* pw/direct: wt [OB][KB*CB][KH][KW][CB], start [OB]. Each output block
 * reads the input blocks its channels' groups cover, narrowed to the blocks
 * with a non-zero weight (the graph runtime passes group-free weights with
 * zeros where a permuted or padded input has no data); KB is the widest. */
static mcl_status pack_blocked(mcl_context *ctx, conv_impl *c, const float *w)
{
    const mcl_conv2d_desc *d = &c->d;
    const uint32_t B = ctx->block, OB = mcl_cblocks(d->out_channels, B), ICB = mcl_cblocks(d->in_channels, B);
    const uint32_t icg = d->in_channels / d->groups, ocg = d->out_channels / d->groups;
    const uint32_t kk = d->kernel_h * d->kernel_w;
    int32_t *start = calloc(OB, sizeof *start);
    if (!start)
        return mcl_fail(ctx, MCL_STATUS_OUT_OF_MEMORY, "conv2d start table");
    uint32_t kb = 1;
    for (uint32_t ob = 0; ob < OB; ob++) {
        uint32_t lo = UINT32_MAX, hi = 0; /* input channels with a non-zero weight */
        for (uint32_t oc = ob * B; oc < ob * B + B && oc < d->out_channels; oc++) {
            uint32_t g = oc / ocg;
            for (uint32_t i = 0; i < icg; i++)
                for (uint32_t q = 0; q < kk; q++)
                    if (w[((size_t)oc * icg + i) * kk + q] != 0.0f) {
                        uint32_t ic = g * icg + i;
                        lo = ic < lo ? ic : lo;
                        hi = ic + 1 > hi ? ic + 1 : hi;
                        break;
                    }
        }
        if (lo == UINT32_MAX)
            lo = hi = 0;
        uint32_t need = hi > lo ? mcl_cblocks(hi, B) - lo / B : 1;
        start[ob] = (int32_t)(lo / B);
        if (need > kb)
            kb = need;
    }
    c->grouped = 0;
    for (uint32_t ob = 0; ob < OB; ob++) {
        if ((uint32_t)start[ob] + kb > ICB)
            start[ob] = (int32_t)(ICB - kb);
        c->grouped |= start[ob] != start[0];
    }
    size_t n = (size_t)OB * kb * B * kk * B;
    float *p = calloc(n, sizeof *p);
    if (!p) {
        free(start);
        return mcl_fail(ctx, MCL_STATUS_OUT_OF_MEMORY, "conv2d packed weights of %zu floats", n);
    }
    for (uint32_t ob = 0; ob < OB; ob++)
        for (uint32_t lane = 0; lane < B; lane++) {
            uint32_t oc = ob * B + lane;
            if (oc >= d->out_channels)
                continue;
            uint32_t g = oc / ocg;
            for (uint32_t k = 0; k < kb * B; k++) {
                uint32_t ic = (uint32_t)start[ob] * B + k;
                if (ic < g * icg || ic >= (g + 1) * icg)
                    continue;
                for (uint32_t q = 0; q < kk; q++)
                    p[(((size_t)ob * kb * B + k) * kk + q) * B + lane] = w[((size_t)oc * icg + (ic - g * icg)) * kk + q];
            }
        }
    c->kb = kb;
    mcl_status st = mcl_buffer_upload(ctx, p, n * sizeof *p, &c->wt);
    if (st == MCL_STATUS_OK)
        st = mcl_buffer_upload(ctx, start, OB * sizeof *start, &c->start);
    free(p);
    free(start);
    return st;
}

/* depthwise: wt [CBK][KH][KW][CB]. */
static mcl_status pack_depthwise(mcl_context *ctx, conv_impl *c, const float *w)
{
    const mcl_conv2d_desc *d = &c->d;
    const uint32_t B = ctx->block, CBK = mcl_cblocks(d->out_channels, B), kk = d->kernel_h * d->kernel_w;
    size_t n = (size_t)CBK * kk * B;
    float *p = calloc(n, sizeof *p);
    if (!p)
        return mcl_fail(ctx, MCL_STATUS_OUT_OF_MEMORY, "depthwise packed weights of %zu floats", n);
    for (uint32_t ch = 0; ch < d->out_channels; ch++)
        for (uint32_t q = 0; q < kk; q++)
            p[((size_t)(ch / B) * kk + q) * B + ch % B] = w[(size_t)ch * kk + q];
    mcl_status st = mcl_buffer_upload(ctx, p, n * sizeof *p, &c->wt);
    free(p);
    return st;
}

static void conv_destroy(mcl_op *op)
{
    conv_impl *c = op->impl;
    mcl_buffer_release(op->ctx, &c->wt);
    mcl_buffer_release(op->ctx, &c->bias);
    mcl_buffer_release(op->ctx, &c->start);
    mcl_buffer_release(op->ctx, &c->oslot);
    mcl_buffer_release(op->ctx, &c->psrc);
    mcl_buffer_release(op->ctx, &c->pdst);
    mcl_buffer_release(op->ctx, &c->x_nchw);
    mcl_buffer_release(op->ctx, &c->y_nchw);
    if (c->k_in)
        op->ctx->cl->clReleaseKernel(c->k_in);
    if (c->k_out)
        op->ctx->cl->clReleaseKernel(c->k_out);
    c->k_in = c->k_out = NULL;
}

/* ---- reshape ---- */

static void add_shape_defs(mcl_defs *defs, const mcl_conv2d_desc *d)
{
    mcl_defs_add(defs, "KH", d->kernel_h);
    mcl_defs_add(defs, "KW", d->kernel_w);
    mcl_defs_add(defs, "SH", d->stride_h);
    mcl_defs_add(defs, "SW", d->stride_w);
    mcl_defs_add(defs, "DH", dil(d->dilation_h));
    mcl_defs_add(defs, "DW", dil(d->dilation_w));
}

static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

static mcl_status conv_reshape(mcl_op *op, size_t n_in, const mcl_shape *in, mcl_shape *out)
{
    (void)n_in;
    conv_impl *c = op->impl;
    const mcl_conv2d_desc *d = &c->d;
    mcl_context *ctx = op->ctx;
    mcl_status st = conv_out_shape(ctx, d, in, out);
    if (st != MCL_STATUS_OK)
        return st;
    const uint32_t B = ctx->block;
    const size_t HW = (size_t)out->h * out->w;
    mcl_defs defs = {0};
    mcl_defs_add(&defs, "CB", B);
    mcl_defs_add(&defs, "ACT", d->activation);
    op->flops = 2.0 * in->n * d->out_channels * HW * (d->in_channels / d->groups) * d->kernel_h * d->kernel_w;
    op->bytes = 4.0 * ((double)mcl_shape_count(in) + (double)mcl_shape_count(out) * (d->residual ? 2 : 1) +
                       (double)d->out_channels * (d->in_channels / d->groups) * d->kernel_h * d->kernel_w);

    switch (c->variant) {
    case MCL_CONV_POINTWISE: {
        mcl_tunables def = {4, 1, mcl_default_wg(ctx), 0};
        if (B >= 8) {
            /* A cost model from measurements on POCL (AVX-512, 2 cores), CB
             * 16 (`mobicl tune --op pwconv --mode exhaustive` and bench_ops
             * on the networks' 1x1 shapes): time ~ the pixels and output
             * blocks computed, last partial tiles included, x a per-FMA
             * factor of the tile: 4 x 4 and 7 x 3 (16 and 21 accumulators
             * of the 32 registers; 6 x 3 and 6 x 4 ran as fast) 1.0, 7 x 2
             * 1.05, 4 x 2 1.1, 7 x 1 1.25, 8 x 1 1.5 (8-pixel tiles run
             * slower than 7-pixel ones here). Grouped layers: a tile whose
             * blocks span two groups takes the slow path (one FMA per input
             * scalar), so the 3- and 4-block tiles cost 1.5. This picks 4 x 4 on wide
             * layers whose planes and block counts it divides, 7 x 3 on 7x7
             * planes and on 3- or 6-block outputs (40-48, 96 channels), 7 x
             * 2 on grouped layers, 7 x 1 for 16-channel outputs. bench_ops
             * (6 interleaved runs) on the 32 layers of the five networks
             * whose tile moved to 7 x 3: median 1.075x, geometric mean
             * 1.11x (the 30 unchanged layers: 1.00x). What the model
             * misses per layer is the tuner's to find. */
            static const uint32_t tw[6] = {4, 7, 7, 4, 7, 8}, tc[6] = {4, 3, 2, 2, 1, 1};
            const double g = c->grouped ? 1.5 : 1.0;
            const double cost[6] = {g, g, 1.05, 1.1, 1.25, 1.5};
            const uint32_t OB = mcl_cblocks(d->out_channels, B);
            double best = 1e300;
            for (int i = 0; i < 6; i++) {
                double t = (double)((HW + tw[i] - 1) / tw[i] * tw[i]) * ((OB + tc[i] - 1) / tc[i] * tc[i]) * cost[i];
                if (t < best) {
                    best = t;
                    def.tile_w = tw[i];
                    def.tile_c = tc[i];
                }
            }
        }
        if ((st = mcl_op_tunables(op, MCL_FAMILY_PWCONV, &def, in, out)) != MCL_STATUS_OK)
            return st;
        mcl_defs_add(&defs, "TILE_W", op->tun.tile_w);
        mcl_defs_add(&defs, "TILE_C", op->tun.tile_c);
        mcl_defs_add(&defs, "GROUPED", c->grouped);
        mcl_defs_add(&defs, "HAS_RES", d->residual != 0);
        mcl_defs_add(&defs, "SCATTER", c->oslot != NULL);
        mcl_defs_add(&defs, "PASS", c->npass > 0);
        op->kname = "pwconv";
        if ((st = mcl_op_kernel(op, "pwconv", &defs, "pwconv")) != MCL_STATUS_OK)
            return st;
        mcl_op_set_range(op, 3, ceil_div(HW, op->tun.tile_w),
                         ceil_div(mcl_cblocks(d->out_channels, B), op->tun.tile_c) + c->npass, in->n, op->tun.wg);
        return MCL_STATUS_OK;
    }
    case MCL_CONV_DEPTHWISE:
    case MCL_CONV_DIRECT: {
        int dw = c->variant == MCL_CONV_DEPTHWISE;
        /* POCL: 8-pixel row tiles measured fastest for depthwise at 7..112 */
        mcl_tunables def = {dw ? (out->w >= 6 ? 8 : 4) : (out->w >= 8 ? 4 : 2), 1, mcl_default_wg(ctx), 0};
        if ((st = mcl_op_tunables(op, dw ? MCL_FAMILY_DWCONV : MCL_FAMILY_CONV, &def, in, out)) != MCL_STATUS_OK)
            return st;
        mcl_defs_add(&defs, "TILE_W", op->tun.tile_w);
        add_shape_defs(&defs, d);
        mcl_defs_add(&defs, "HAS_RES", d->residual != 0);
        /* a plain image (<= B channels, groups 1): each work-item computes
         * up to 4 output blocks from one read of its input rows */
        const uint32_t OB = mcl_cblocks(d->out_channels, B);
        const uint32_t obn = !dw && c->in_nchw && !c->grouped && d->in_channels <= B ? (OB < 4 ? OB : 4) : 1;
        if (!dw) {
            mcl_defs_add(&defs, "IN_NCHW", c->in_nchw);
            if (c->in_nchw) {
                mcl_defs_add(&defs, "ICN", d->in_channels);
                mcl_defs_add(&defs, "OBN", obn);
            }
        }
        op->kname = dw ? "dwconv" : "conv";
        if ((st = mcl_op_kernel(op, op->kname, &defs, op->kname)) != MCL_STATUS_OK)
            return st;
        mcl_op_set_range(op, 2, ceil_div(out->w, op->tun.tile_w) * out->h, (size_t)in->n * ceil_div(OB, obn), 1,
                         op->tun.wg);
        return MCL_STATUS_OK;
    }
    case MCL_CONV_CLBLAST: {
        op->kname = "clblast";
        mcl_buffer_release(ctx, &c->x_nchw);
        mcl_buffer_release(ctx, &c->y_nchw);
        cl_int err = CL_SUCCESS;
        c->x_nchw = ctx->cl->clCreateBuffer(ctx->context, CL_MEM_READ_WRITE, mcl_shape_count(in) * 4, NULL, &err);
        if (err == CL_SUCCESS)
            c->y_nchw = ctx->cl->clCreateBuffer(ctx->context, CL_MEM_READ_WRITE, mcl_shape_count(out) * 4, NULL, &err);
        if (err != CL_SUCCESS)
            return mcl_cl_fail(ctx, err, "clCreateBuffer for the CLBlast staging buffers");
        if (c->k_in)
            ctx->cl->clReleaseKernel(c->k_in);
        if (c->k_out)
            ctx->cl->clReleaseKernel(c->k_out);
        c->k_in = c->k_out = NULL;
        if ((st = mcl_kernel_get(ctx, "layout", &defs, "blocked_to_nchw", &c->k_in)) != MCL_STATUS_OK)
            return st;
        return mcl_kernel_get(ctx, "layout", &defs, "nchw_to_blocked", &c->k_out);
    }
    default:
        return mcl_fail(ctx, MCL_STATUS_INVALID_STATE, "conv2d: unresolved variant %d", (int)c->variant);
    }
}

/* What the kernels' speed depends on (mcl_op_tune_key). */
static void conv_tune_key(const mcl_op *op, const mcl_shape *in, const mcl_shape *out, char *buf, size_t n)
{
    const conv_impl *c = op->impl;
    const mcl_conv2d_desc *d = &c->d;
    const uint32_t cb = op->ctx->block;
    if (c->variant == MCL_CONV_POINTWISE)
        snprintf(buf, n, "pwconv n=%u in=%u out=%u hw=%ux%u kb=%u grp=%d res=%d scat=%d pass=%u cb=%u", in->n, in->c,
                 out->c, out->h, out->w, c->kb, c->grouped, d->residual != 0, c->oslot != NULL, c->npass, cb);
    else if (c->variant == MCL_CONV_DEPTHWISE)
        snprintf(buf, n, "dwconv n=%u c=%u hw=%ux%u k=%ux%u s=%ux%u d=%ux%u res=%d cb=%u", in->n, out->c, out->h,
                 out->w, d->kernel_h, d->kernel_w, d->stride_h, d->stride_w, dil(d->dilation_h), dil(d->dilation_w),
                 d->residual != 0, cb);
    else
        snprintf(buf, n, "conv n=%u in=%u out=%u hw=%ux%u k=%ux%u s=%ux%u d=%ux%u kb=%u res=%d nchw=%d cb=%u", in->n,
                 in->c, out->c, out->h, out->w, d->kernel_h, d->kernel_w, d->stride_h, d->stride_w, dil(d->dilation_h),
                 dil(d->dilation_w), c->kb, d->residual != 0, c->in_nchw, cb);
}

static size_t conv_setup_extra(const mcl_op *op)
{
    return ((const conv_impl *)op->impl)->d.residual ? 1 : 0;
}

static mcl_status conv_setup(mcl_op *op)
{
    conv_impl *c = op->impl;
    const mcl_shape *in = &op->in_shape[0], *out = &op->out_shape;
    const uint32_t B = op->ctx->block;
    cl_mem res = op->in[1] ? op->in[1]->buf : NULL;
    cl_kernel k = op->kernel;
    mcl_status st = MCL_STATUS_OK;
#define TRY(x)                          \
    if ((st = (x)) != MCL_STATUS_OK) \
        return st;
    switch (c->variant) {
    case MCL_CONV_POINTWISE:
        TRY(mcl_arg_mem(op, k, 0, op->in[0]->buf));
        TRY(mcl_arg_mem(op, k, 1, c->wt));
        TRY(mcl_arg_mem(op, k, 2, c->bias));
        TRY(mcl_arg_mem(op, k, 3, c->start));
        TRY(mcl_arg_mem(op, k, 4, res));
        TRY(mcl_arg_mem(op, k, 5, op->out->buf));
        TRY(mcl_arg_int(op, k, 6, (int)(out->h * out->w)));
        TRY(mcl_arg_int(op, k, 7, (int)mcl_cblocks(in->c, B)));
        TRY(mcl_arg_int(op, k, 8, (int)mcl_cblocks(out->c, B)));
        TRY(mcl_arg_int(op, k, 9, (int)c->kb));
        TRY(mcl_arg_int(op, k, 10, (int)(c->onb ? c->onb : mcl_cblocks(out->c, B))));
        TRY(mcl_arg_int(op, k, 11, (int)c->ooff));
        TRY(mcl_arg_mem(op, k, 12, c->oslot));
        TRY(mcl_arg_mem(op, k, 13, c->pin ? c->pin->buf : NULL));
        TRY(mcl_arg_mem(op, k, 14, c->psrc));
        TRY(mcl_arg_mem(op, k, 15, c->pdst));
        TRY(mcl_arg_int(op, k, 16, c->pin ? (int)mcl_cblocks(c->pin->shape.c, B) : 0));
        TRY(mcl_arg_int(op, k, 17, (int)c->npass));
        break;
    case MCL_CONV_DEPTHWISE:
        TRY(mcl_arg_mem(op, k, 0, op->in[0]->buf));
        TRY(mcl_arg_mem(op, k, 1, c->wt));
        TRY(mcl_arg_mem(op, k, 2, c->bias));
        TRY(mcl_arg_mem(op, k, 3, res));
        TRY(mcl_arg_mem(op, k, 4, op->out->buf));
        TRY(mcl_arg_int(op, k, 5, (int)in->h));
        TRY(mcl_arg_int(op, k, 6, (int)in->w));
        TRY(mcl_arg_int(op, k, 7, (int)out->h));
        TRY(mcl_arg_int(op, k, 8, (int)out->w));
        TRY(mcl_arg_int(op, k, 9, (int)c->d.pad_top));
        TRY(mcl_arg_int(op, k, 10, (int)c->d.pad_left));
        TRY(mcl_arg_int(op, k, 11, (int)mcl_cblocks(in->c, B)));
        break;
    case MCL_CONV_DIRECT:
        TRY(mcl_arg_mem(op, k, 0, op->in[0]->buf));
        TRY(mcl_arg_mem(op, k, 1, c->wt));
        TRY(mcl_arg_mem(op, k, 2, c->bias));
        TRY(mcl_arg_mem(op, k, 3, c->start));
        TRY(mcl_arg_mem(op, k, 4, res));
        TRY(mcl_arg_mem(op, k, 5, op->out->buf));
        TRY(mcl_arg_int(op, k, 6, (int)in->h));
        TRY(mcl_arg_int(op, k, 7, (int)in->w));
        TRY(mcl_arg_int(op, k, 8, (int)out->h));
        TRY(mcl_arg_int(op, k, 9, (int)out->w));
        TRY(mcl_arg_int(op, k, 10, (int)c->d.pad_top));
        TRY(mcl_arg_int(op, k, 11, (int)c->d.pad_left));
        TRY(mcl_arg_int(op, k, 12, (int)mcl_cblocks(in->c, B)));
        TRY(mcl_arg_int(op, k, 13, (int)mcl_cblocks(out->c, B)));
        TRY(mcl_arg_int(op, k, 14, (int)c->kb));
        TRY(mcl_arg_int(op, k, 15, (int)in->c));
        break;
    case MCL_CONV_CLBLAST:
        TRY(mcl_arg_mem(op, c->k_in, 0, op->in[0]->buf));
        TRY(mcl_arg_mem(op, c->k_in, 1, c->x_nchw));
        TRY(mcl_arg_int(op, c->k_in, 2, (int)in->c));
        TRY(mcl_arg_int(op, c->k_in, 3, (int)(in->h * in->w)));
        TRY(mcl_arg_mem(op, c->k_out, 0, c->y_nchw));
        TRY(mcl_arg_mem(op, c->k_out, 1, op->out->buf));
        TRY(mcl_arg_mem(op, c->k_out, 2, c->bias));
        TRY(mcl_arg_mem(op, c->k_out, 3, res));
        TRY(mcl_arg_int(op, c->k_out, 4, 1 | (res ? 2 : 0)));
        TRY(mcl_arg_int(op, c->k_out, 5, (int)out->c));
        TRY(mcl_arg_int(op, c->k_out, 6, (int)(out->h * out->w)));
        break;
    default:
        return mcl_fail(op->ctx, MCL_STATUS_INVALID_STATE, "conv2d: unresolved variant");
    }
#undef TRY
    return MCL_STATUS_OK;
}

/* CLBlast: blocked -> NCHW, SGEMM per image (Y = W X), NCHW -> blocked with
 * bias, residual and activation. */
static mcl_status conv_run(mcl_op *op, cl_event *ev)
{
    conv_impl *c = op->impl;
    if (c->variant != MCL_CONV_CLBLAST)
        return mcl_op_enqueue(op, ev);
#ifdef MOBICL_WITH_CLBLAST
    mcl_context *ctx = op->ctx;
    const mcl_shape *in = &op->in_shape[0], *out = &op->out_shape;
    const size_t HW = (size_t)out->h * out->w;
    size_t g_in[3] = {HW, in->c, in->n};
    mcl_status st = mcl_enqueue(ctx, c->k_in, 3, g_in, NULL, NULL, "blocked_to_nchw");
    if (st != MCL_STATUS_OK)
        return st;
    for (uint32_t n = 0; n < in->n; n++) {
        cl_command_queue q = ctx->queue;
        CLBlastStatusCode s = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo,
                                           out->c, HW, in->c, 1.0f, c->wt, 0, in->c, c->x_nchw, n * in->c * HW, HW,
                                           0.0f, c->y_nchw, n * out->c * HW, HW, &q, NULL);
        if (s != CLBlastSuccess)
            return mcl_fail(ctx, MCL_STATUS_OPENCL_ERROR, "CLBlastSgemm(%u x %zu x %u) failed with status %d",
                            out->c, HW, in->c, (int)s);
    }
    size_t g_out[3] = {HW, mcl_cblocks(out->c, ctx->block), out->n};
    return mcl_enqueue(ctx, c->k_out, 3, g_out, NULL, ev, "nchw_to_blocked");
#else
    (void)ev;
    return mcl_fail(op->ctx, MCL_STATUS_UNSUPPORTED, "conv2d: built without CLBlast");
#endif
}

mcl_status mcl_conv2d_set_ext(mcl_op *op, const mcl_conv_ext *e)
{
    if (mcl_op_is_dwpw(op))
        return mcl_dwpw_set_ext(op, e);
    conv_impl *c = op->impl;
    mcl_context *ctx = op->ctx;
    if (c->variant != MCL_CONV_POINTWISE)
        return mcl_fail(ctx, MCL_STATUS_UNSUPPORTED, "conv2d: output extensions need the pointwise variant");
    if (op->state != MCL_OP_CREATED)
        return mcl_fail(ctx, MCL_STATUS_INVALID_STATE, "conv2d: output extensions are set before reshape");
    c->onb = e->onb;
    c->ooff = e->ooff;
    c->npass = e->npass;
    return mcl_conv_ext_upload(ctx, e, c->d.out_channels, &c->oslot, &c->psrc, &c->pdst);
}

mcl_status mcl_conv_ext_upload(mcl_context *ctx, const mcl_conv_ext *e, uint32_t out_channels, cl_mem *oslot,
                               cl_mem *psrc, cl_mem *pdst)
{
    const uint32_t B = ctx->block;
    mcl_status st = MCL_STATUS_OK;
    if (e->oslot)
        st = mcl_buffer_upload(ctx, e->oslot, (size_t)mcl_cblocks(out_channels, B) * B * sizeof(int32_t), oslot);
    if (st == MCL_STATUS_OK && e->npass)
        st = mcl_buffer_upload(ctx, e->psrc, (size_t)e->npass * B * sizeof(int32_t), psrc);
    if (st == MCL_STATUS_OK && e->npass)
        st = mcl_buffer_upload(ctx, e->pdst, (size_t)e->npass * B * sizeof(int32_t), pdst);
    return st;
}

mcl_status mcl_conv2d_set_nchw_input(mcl_op *op)
{
    conv_impl *c = op->impl;
    if (c->variant != MCL_CONV_DIRECT || op->state != MCL_OP_CREATED)
        return mcl_fail(op->ctx, MCL_STATUS_UNSUPPORTED, "conv2d: an NCHW input needs the direct variant, before reshape");
    c->in_nchw = 1;
    return MCL_STATUS_OK;
}

mcl_status mcl_conv2d_bind_pass(mcl_op *op, mcl_tensor *pin)
{
    if (mcl_op_is_dwpw(op)) {
        mcl_dwpw_bind_pass(op, pin);
        return MCL_STATUS_OK;
    }
    ((conv_impl *)op->impl)->pin = pin;
    return MCL_STATUS_OK;
}

static const mcl_op_vtable k_conv_vt = {
    .kind = "conv2d",
    .min_in = 1,
    .max_in = 1,
    .reshape = conv_reshape,
    .setup = conv_setup,
    .setup_extra = conv_setup_extra,
    .tune_key = conv_tune_key,
    .run = conv_run,
    .destroy = conv_destroy,
};

mcl_status mcl_conv2d_create(mcl_context *ctx, const mcl_conv2d_desc *d, const float *weights, const float *bias,
                             mcl_op **out)
{
    mcl_status st = mcl_create_check(ctx, "conv2d", out);
    if (st != MCL_STATUS_OK)
        return st;
    st = check_desc(ctx, d);
    if (st != MCL_STATUS_OK)
        return st;
    if (!weights)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "conv2d: weights pointer is NULL");
    mcl_op *op = NULL;
    if ((st = mcl_op_new(ctx, &k_conv_vt, sizeof(conv_impl), &op)) != MCL_STATUS_OK)
        return st;
    conv_impl *c = op->impl;
    c->d = *d;
    c->variant = d->variant;
    if (c->variant == MCL_CONV_AUTO)
        c->variant = is_depthwise(d) && d->groups > 1 ? MCL_CONV_DEPTHWISE
                     : is_pointwise(d)                 ? MCL_CONV_POINTWISE
                                                       : MCL_CONV_DIRECT;

    if ((st = mcl_upload_padded(ctx, bias, d->out_channels, &c->bias)) != MCL_STATUS_OK)
        goto error;
    if (c->variant == MCL_CONV_DEPTHWISE)
        st = pack_depthwise(ctx, c, weights);
    else if (c->variant == MCL_CONV_CLBLAST)
        st = mcl_buffer_upload(ctx, weights, (size_t)d->out_channels * d->in_channels * sizeof(float), &c->wt);
    else
        st = pack_blocked(ctx, c, weights);
    if (st != MCL_STATUS_OK)
        goto error;
    *out = op;
    return MCL_STATUS_OK;
error:
    mcl_op_destroy(op);
    return st;
}
