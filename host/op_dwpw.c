/* dwpw: a depthwise conv and the 1x1 conv reading it, in one kernel
 * (dwpw.cl), for the graph runtime. Weights come laid out over physical
 * channels: wdw [C][KH][KW], wpw [OUT][C] (dense). */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct dwpw_impl {
    mcl_conv2d_desc dw, pw;
    cl_mem wdw, bdw, wpw, bpw;
    uint32_t tw, tc, opb;
    /* graph-runtime output extensions (dwpw.cl SCATTER / PASS), as conv2d's */
    uint32_t onb, ooff, npass;
    cl_mem oslot, psrc, pdst;
    mcl_tensor *pin;
} dwpw_impl;

static mcl_status dwpw_reshape(mcl_op *op, size_t n_in, const mcl_shape *in, mcl_shape *out)
{
    (void)n_in;
    dwpw_impl *f = op->impl;
    mcl_context *ctx = op->ctx;
    const uint32_t B = ctx->block;
    mcl_shape mid;
    mcl_status st = mcl_conv2d_validate(&f->dw, in, &mid);
    if (st == MCL_STATUS_OK)
        st = mcl_conv2d_validate(&f->pw, &mid, out);
    if (st != MCL_STATUS_OK)
        return mcl_fail(ctx, st, "dwpw: %s", mcl_last_error());
    const uint32_t OB = mcl_cblocks(out->c, B);
    /* bench/bench_dwpw.c on POCL (CB 16): 7 pixels x 2 blocks, the
     * depthwise computed once per work-item (OPB = all blocks); on 7x7
     * planes two block groups keep both cores busy; 16-channel outputs
     * 8 pixels x 1 block. Work-group size 4 on CPUs: POCL compiles a
     * kernel for its work-group size at the first launch, and this kernel
     * costs 1.0-1.25 s at size 2 but 0.55-0.75 s at 4 (0.5-0.65 s at 1),
     * while the networks ran as fast or faster with 4 (interleaved runs,
     * 0.98-1.05x over size 2; size 1 was 2-5% slower on MobileNet V1). */
    mcl_tunables def = {out->c <= B ? 8 : 7, out->c <= B ? 1 : 2, ctx->info.is_gpu ? 0 : 4, 1};
    if ((size_t)out->h * out->w <= 64 && OB >= 2 * def.tile_c)
        def.split = 2;
    if ((st = mcl_op_tunables(op, MCL_FAMILY_DWPW, &def, in, out)) != MCL_STATUS_OK)
        return st;
    f->tw = op->tun.tile_w;
    f->tc = op->tun.tile_c;
    /* split groups of OPB blocks (a multiple of tile_c); 0 (a database
     * entry from before the field existed): the heuristic's */
    const uint32_t G = op->tun.split ? op->tun.split : def.split;
    f->opb = ((OB + G - 1) / G + f->tc - 1) / f->tc * f->tc;
    /* the quick tier (mcl_plan_options.quick) takes the interleaved order,
     * the depthwise redone per output block: slower, but POCL generates its
     * code faster (pass-row kernel at 2x1 tiles: 0.20 -> 0.14 s) */
    const int interleave = op->tun_src == MCL_TUN_SRC_QUICK;
    if (interleave)
        f->opb = f->tc;
    mcl_defs defs = {0};
    mcl_defs_add(&defs, "CB", B);
    mcl_defs_add(&defs, "TILE_W", f->tw);
    mcl_defs_add(&defs, "TILE_C", f->tc);
    mcl_defs_add(&defs, "INTERLEAVE", interleave);
    mcl_defs_add(&defs, "KH", f->dw.kernel_h);
    mcl_defs_add(&defs, "KW", f->dw.kernel_w);
    mcl_defs_add(&defs, "SH", f->dw.stride_h);
    mcl_defs_add(&defs, "SW", f->dw.stride_w);
    /* the private buffer's bound, a multiple of 16 blocks: layers of one
     * kernel size and stride share a program (POCL compiles each dwpw
     * program for 1-2 s at its first launch) */
    mcl_defs_add(&defs, "ICB_MAX", (mcl_cblocks(in->c, B) + 15) / 16 * 16);
    mcl_defs_add(&defs, "ACT1", f->dw.activation);
    mcl_defs_add(&defs, "ACT2", f->pw.activation);
    mcl_defs_add(&defs, "HAS_RES", f->pw.residual != 0);
    mcl_defs_add(&defs, "SCATTER", f->oslot != NULL);
    mcl_defs_add(&defs, "PASS", f->npass > 0);
    op->kname = "dwpw";
    if ((st = mcl_op_kernel(op, "dwpw", &defs, "dwpw")) != MCL_STATUS_OK)
        return st;
    const size_t hw = (size_t)mid.h * mid.w;
    op->flops = 2.0 * in->n * hw * ((double)in->c * f->dw.kernel_h * f->dw.kernel_w + (double)in->c * out->c);
    op->bytes = 4.0 * ((double)mcl_shape_count(in) + (double)mcl_shape_count(out) * (f->pw.residual ? 2 : 1));
    mcl_op_set_range(op, 3, (size_t)out->h * ((out->w + f->tw - 1) / f->tw), (OB + f->opb - 1) / f->opb + f->npass,
                     in->n, op->tun.wg);
    return MCL_STATUS_OK;
}

/* What the kernel's speed depends on (mcl_op_tune_key). */
static void dwpw_tune_key(const mcl_op *op, const mcl_shape *in, const mcl_shape *out, char *buf, size_t n)
{
    const dwpw_impl *f = op->impl;
    snprintf(buf, n, "dwpw n=%u in=%u out=%u hw=%ux%u k=%ux%u s=%ux%u res=%d scat=%d pass=%u cb=%u", in->n, in->c,
             out->c, out->h, out->w, f->dw.kernel_h, f->dw.kernel_w, f->dw.stride_h, f->dw.stride_w,
             f->pw.residual != 0, f->oslot != NULL, f->npass, op->ctx->block);
}

static size_t dwpw_setup_extra(const mcl_op *op) { return ((const dwpw_impl *)op->impl)->pw.residual ? 1 : 0; }

static mcl_status dwpw_setup(mcl_op *op)
{
    dwpw_impl *f = op->impl;
    const mcl_shape *in = &op->in_shape[0], *out = &op->out_shape;
    cl_kernel k = op->kernel;
    mcl_status st;
    if ((st = mcl_arg_mem(op, k, 0, op->in[0]->buf)) || (st = mcl_arg_mem(op, k, 1, f->wdw)) ||
        (st = mcl_arg_mem(op, k, 2, f->bdw)) || (st = mcl_arg_mem(op, k, 3, f->wpw)) ||
        (st = mcl_arg_mem(op, k, 4, f->bpw)) || (st = mcl_arg_mem(op, k, 5, op->in[1] ? op->in[1]->buf : NULL)) ||
        (st = mcl_arg_mem(op, k, 6, op->out->buf)))
        return st;
    const uint32_t B = op->ctx->block, OB = mcl_cblocks(out->c, B);
    const int v[9] = {(int)in->h, (int)in->w, (int)out->h, (int)out->w, (int)f->dw.pad_top, (int)f->dw.pad_left,
                      (int)OB, (int)(f->onb ? f->onb : OB), (int)f->ooff};
    for (cl_uint i = 0; i < 9; i++)
        if ((st = mcl_arg_int(op, k, 7 + i, v[i])) != MCL_STATUS_OK)
            return st;
    if ((st = mcl_arg_mem(op, k, 16, f->oslot)) || (st = mcl_arg_mem(op, k, 17, f->pin ? f->pin->buf : NULL)) ||
        (st = mcl_arg_mem(op, k, 18, f->psrc)) || (st = mcl_arg_mem(op, k, 19, f->pdst)) ||
        (st = mcl_arg_int(op, k, 20, f->pin ? (int)mcl_cblocks(f->pin->shape.c, B) : 0)) ||
        (st = mcl_arg_int(op, k, 21, (int)f->npass)) ||
        (st = mcl_arg_int(op, k, 22, (int)mcl_cblocks(in->c, B))) || (st = mcl_arg_int(op, k, 23, (int)f->opb)))
        return st;
    return MCL_STATUS_OK;
}

static void dwpw_destroy(mcl_op *op)
{
    dwpw_impl *f = op->impl;
    mcl_buffer_release(op->ctx, &f->wdw);
    mcl_buffer_release(op->ctx, &f->bdw);
    mcl_buffer_release(op->ctx, &f->wpw);
    mcl_buffer_release(op->ctx, &f->bpw);
    mcl_buffer_release(op->ctx, &f->oslot);
    mcl_buffer_release(op->ctx, &f->psrc);
    mcl_buffer_release(op->ctx, &f->pdst);
}

static const mcl_op_vtable k_dwpw_vt = {
    .kind = "conv2d",
    .min_in = 1,
    .max_in = 1,
    .reshape = dwpw_reshape,
    .setup = dwpw_setup,
    .setup_extra = dwpw_setup_extra,
    .tune_key = dwpw_tune_key,
    .destroy = dwpw_destroy,
};

int mcl_op_is_dwpw(const mcl_op *op) { return op && op->vt == &k_dwpw_vt; }

mcl_status mcl_dwpw_set_ext(mcl_op *op, const mcl_conv_ext *e)
{
    dwpw_impl *f = op->impl;
    mcl_context *ctx = op->ctx;
    if (op->state != MCL_OP_CREATED)
        return mcl_fail(ctx, MCL_STATUS_INVALID_STATE, "dwpw: output extensions are set before reshape");
    f->onb = e->onb;
    f->ooff = e->ooff;
    f->npass = e->npass;
    return mcl_conv_ext_upload(ctx, e, f->pw.out_channels, &f->oslot, &f->psrc, &f->pdst);
}

void mcl_dwpw_bind_pass(mcl_op *op, mcl_tensor *pin) { ((dwpw_impl *)op->impl)->pin = pin; }

mcl_status mcl_dwpw_create(mcl_context *ctx, const mcl_conv2d_desc *dw, const float *wdw, const float *bdw,
                           const mcl_conv2d_desc *pw, const float *wpw, const float *bpw, mcl_op **out)
{
    mcl_status st = mcl_create_check(ctx, "dwpw", out);
    if (st != MCL_STATUS_OK)
        return st;
    const uint32_t B = ctx->block, C = dw->out_channels, CP = mcl_cblocks(C, B) * B, O = pw->out_channels,
                   OP = mcl_cblocks(O, B) * B, kk = dw->kernel_h * dw->kernel_w;
    if (dw->groups != C || dw->in_channels != C || pw->in_channels != C || pw->groups != 1 || pw->kernel_h != 1 ||
        pw->kernel_w != 1)
        return mcl_fail(ctx, MCL_STATUS_UNSUPPORTED, "dwpw: needs a depthwise conv and a dense 1x1 conv over its channels");
    mcl_op *op = NULL;
    if ((st = mcl_op_new(ctx, &k_dwpw_vt, sizeof(dwpw_impl), &op)) != MCL_STATUS_OK)
        return st;
    dwpw_impl *f = op->impl;
    f->dw = *dw;
    f->pw = *pw;
    /* wdw [CB][KH][KW][B]; wpw [OB][CP][B] (lane = output channel) */
    float *a = calloc((size_t)CP * kk, sizeof *a), *b = calloc((size_t)OP * CP, sizeof *b);
    if (!a || !b) {
        st = mcl_fail(ctx, MCL_STATUS_OUT_OF_MEMORY, "dwpw packed weights");
        goto done;
    }
    for (uint32_t c = 0; c < C; c++)
        for (uint32_t q = 0; q < kk; q++)
            a[((size_t)(c / B) * kk + q) * B + c % B] = wdw[(size_t)c * kk + q];
    for (uint32_t o = 0; o < O; o++)
        for (uint32_t c = 0; c < C; c++)
            b[((size_t)(o / B) * CP + c) * B + o % B] = wpw[(size_t)o * C + c];
    if ((st = mcl_buffer_upload(ctx, a, (size_t)CP * kk * sizeof *a, &f->wdw)) != MCL_STATUS_OK ||
        (st = mcl_upload_padded(ctx, bdw, C, &f->bdw)) != MCL_STATUS_OK ||
        (st = mcl_buffer_upload(ctx, b, (size_t)OP * CP * sizeof *b, &f->wpw)) != MCL_STATUS_OK ||
        (st = mcl_upload_padded(ctx, bpw, O, &f->bpw)) != MCL_STATUS_OK)
        goto done;
done:
    free(a);
    free(b);
    if (st != MCL_STATUS_OK) {
        mcl_op_destroy(op);
        return st;
    }
    *out = op;
    return MCL_STATUS_OK;
}
