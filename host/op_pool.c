/* pool2d: max, average and global average pooling (pool.cl). */
#include "internal.h"

typedef struct pool_impl {
    mcl_pool2d_desc d;
    mcl_activation act; /* graph runtime: fused activation */
    uint32_t onb, ooff; /* graph runtime: output in blocks [ooff, ...) of an onb-block tensor; 0 = own */
} pool_impl;

mcl_status mcl_pool2d_set_ext(mcl_op *op, mcl_activation act, uint32_t onb, uint32_t ooff)
{
    pool_impl *p = op->impl;
    if (p->d.type == MCL_POOL_GLOBAL_AVG && (act || onb))
        return mcl_fail(op->ctx, MCL_STATUS_UNSUPPORTED, "global average pool has no fused activation or output view");
    p->act = act;
    p->onb = onb;
    p->ooff = ooff;
    return MCL_STATUS_OK;
}

static mcl_status pool_out_shape(mcl_context *ctx, const mcl_pool2d_desc *d, const mcl_shape *in, mcl_shape *out)
{
    if (!d)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "pool2d descriptor is NULL");
    if (!out)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "pool2d: output shape pointer is NULL");
    mcl_status st = mcl_check_shape(ctx, "pool2d input", in);
    if (st != MCL_STATUS_OK)
        return st;
    if (d->type == MCL_POOL_GLOBAL_AVG) {
        *out = (mcl_shape){in->n, in->c, 1, 1};
        return MCL_STATUS_OK;
    }
    if (d->type != MCL_POOL_MAX && d->type != MCL_POOL_AVG)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "pool2d: type %d is not max (0), avg (1) or global avg (2)",
                        (int)d->type);
    if (!d->kernel_h || !d->kernel_w || d->kernel_h > 64 || d->kernel_w > 64)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "pool2d: kernel %ux%u must be 1..64", d->kernel_h,
                        d->kernel_w);
    if (!d->stride_h || !d->stride_w || d->stride_h > 64 || d->stride_w > 64)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "pool2d: stride %ux%u must be 1..64", d->stride_h,
                        d->stride_w);
    /* a window entirely in the padding would have nothing to pool */
    if (d->pad_top >= d->kernel_h || d->pad_bottom >= d->kernel_h || d->pad_left >= d->kernel_w ||
        d->pad_right >= d->kernel_w)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT,
                        "pool2d: padding %u/%u/%u/%u must be smaller than the kernel %ux%u", d->pad_top,
                        d->pad_left, d->pad_bottom, d->pad_right, d->kernel_h, d->kernel_w);
    uint64_t ph = (uint64_t)in->h + d->pad_top + d->pad_bottom, pw = (uint64_t)in->w + d->pad_left + d->pad_right;
    if (d->kernel_h > ph || d->kernel_w > pw)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "pool2d: kernel %ux%u is larger than the padded input %llux%llu",
                        d->kernel_h, d->kernel_w, (unsigned long long)ph, (unsigned long long)pw);
    *out = (mcl_shape){in->n, in->c, (uint32_t)((ph - d->kernel_h) / d->stride_h + 1),
                       (uint32_t)((pw - d->kernel_w) / d->stride_w + 1)};
    return MCL_STATUS_OK;
}

mcl_status mcl_pool2d_validate(const mcl_pool2d_desc *d, const mcl_shape *in, mcl_shape *out)
{
    mcl_clear_error();
    return pool_out_shape(NULL, d, in, out);
}

static mcl_status pool_reshape(mcl_op *op, size_t n_in, const mcl_shape *in, mcl_shape *out)
{
    (void)n_in;
    pool_impl *p = op->impl;
    mcl_status st = pool_out_shape(op->ctx, &p->d, in, out);
    if (st != MCL_STATUS_OK)
        return st;
    const uint32_t B = op->ctx->block;
    mcl_defs defs = {0};
    mcl_defs_add(&defs, "CB", B);
    size_t z = (size_t)in->n * mcl_cblocks(in->c, B);
    op->bytes = 4.0 * ((double)mcl_shape_count(in) + (double)mcl_shape_count(out));
    if (p->d.type == MCL_POOL_GLOBAL_AVG) {
        op->flops = (double)mcl_shape_count(in);
        op->kname = "global_avg";
        /* pool.cl needs its switches even for global_avg: fixed ones, one program */
        mcl_defs_add(&defs, "TILE_W", 1);
        mcl_defs_add(&defs, "KH", 1);
        mcl_defs_add(&defs, "KW", 1);
        mcl_defs_add(&defs, "SH", 1);
        mcl_defs_add(&defs, "SW", 1);
        mcl_defs_add(&defs, "MODE", 1);
        mcl_defs_add(&defs, "COUNT_PAD", 0);
        mcl_defs_add(&defs, "ACT", 0);
        if ((st = mcl_op_kernel(op, "pool", &defs, "global_avg")) != MCL_STATUS_OK)
            return st;
        mcl_op_set_range(op, 1, z, 1, 1, 0);
        return MCL_STATUS_OK;
    }
    op->flops = (double)mcl_shape_count(out) * p->d.kernel_h * p->d.kernel_w;
    mcl_tunables def = {out->w >= 4 ? 2 : 1, 1, mcl_default_wg(op->ctx), 0};
    if ((st = mcl_op_tunables(op, MCL_FAMILY_POOL, &def, in, out)) != MCL_STATUS_OK)
        return st;
    mcl_defs_add(&defs, "TILE_W", op->tun.tile_w);
    mcl_defs_add(&defs, "KH", p->d.kernel_h);
    mcl_defs_add(&defs, "KW", p->d.kernel_w);
    mcl_defs_add(&defs, "SH", p->d.stride_h);
    mcl_defs_add(&defs, "SW", p->d.stride_w);
    mcl_defs_add(&defs, "MODE", p->d.type == MCL_POOL_AVG);
    mcl_defs_add(&defs, "COUNT_PAD", p->d.count_include_pad != 0);
    mcl_defs_add(&defs, "ACT", p->act);
    op->kname = "pool";
    if ((st = mcl_op_kernel(op, "pool", &defs, "pool")) != MCL_STATUS_OK)
        return st;
    mcl_op_set_range(op, 2, (size_t)(out->w + op->tun.tile_w - 1) / op->tun.tile_w * out->h, z, 1, op->tun.wg);
    return MCL_STATUS_OK;
}

static mcl_status pool_setup(mcl_op *op)
{
    pool_impl *p = op->impl;
    const mcl_shape *in = &op->in_shape[0], *out = &op->out_shape;
    cl_kernel k = op->kernel;
    mcl_status st;
    if ((st = mcl_arg_mem(op, k, 0, op->in[0]->buf)) || (st = mcl_arg_mem(op, k, 1, op->out->buf)))
        return st;
    if (p->d.type == MCL_POOL_GLOBAL_AVG)
        return mcl_arg_int(op, k, 2, (int)(in->h * in->w));
    const uint32_t cbk = mcl_cblocks(in->c, op->ctx->block);
    const int v[11] = {(int)in->h,         (int)in->w,         (int)out->h,          (int)out->w,
                       (int)p->d.pad_top,  (int)p->d.pad_left, (int)p->d.pad_bottom, (int)p->d.pad_right,
                       (int)cbk,           (int)(p->onb ? p->onb : cbk), (int)p->ooff};
    for (cl_uint i = 0; i < 11; i++)
        if ((st = mcl_arg_int(op, k, 2 + i, v[i])) != MCL_STATUS_OK)
            return st;
    return MCL_STATUS_OK;
}

/* What the kernel's speed depends on (mcl_op_tune_key). */
static void pool_tune_key(const mcl_op *op, const mcl_shape *in, const mcl_shape *out, char *buf, size_t n)
{
    const pool_impl *p = op->impl;
    snprintf(buf, n, "pool %s n=%u c=%u hw=%ux%u k=%ux%u s=%ux%u cb=%u", p->d.type == MCL_POOL_AVG ? "avg" : "max",
             in->n, in->c, out->h, out->w, p->d.kernel_h, p->d.kernel_w, p->d.stride_h, p->d.stride_w,
             op->ctx->block);
}

static const mcl_op_vtable k_pool_vt = {
    .kind = "pool2d", .min_in = 1, .max_in = 1, .reshape = pool_reshape, .setup = pool_setup,
    .tune_key = pool_tune_key,
};

mcl_status mcl_pool2d_create(mcl_context *ctx, const mcl_pool2d_desc *d, mcl_op **out)
{
    mcl_status st = mcl_create_check(ctx, "pool2d", out);
    if (st != MCL_STATUS_OK)
        return st;
    if (!d)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "pool2d descriptor is NULL");
    /* check the descriptor against a large enough input */
    mcl_shape probe = {1, 1, 4096, 4096}, o;
    st = pool_out_shape(ctx, d, &probe, &o);
    if (st != MCL_STATUS_OK)
        return st;
    if ((st = mcl_op_new(ctx, &k_pool_vt, sizeof(pool_impl), out)) != MCL_STATUS_OK)
        return st;
    ((pool_impl *)(*out)->impl)->d = *d;
    return MCL_STATUS_OK;
}
