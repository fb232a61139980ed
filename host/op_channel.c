/* channel: shuffle, split, concat and their fusions, one gather kernel
 * (channel.cl). */
#include "internal.h"

/* pixels per work-item of both gather kernels (channel.cl's PIX) */
#define GATHER_PIX 16

typedef struct channel_impl {
    mcl_channel_desc d;
} channel_impl;

static mcl_status channel_shape(mcl_context *ctx, const mcl_channel_desc *d, const mcl_shape *in, size_t n_in,
                                mcl_shape *out)
{
    if (!d)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "channel descriptor is NULL");
    if (d->inputs != 1 && d->inputs != 2)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "channel: inputs %u must be 1 or 2", d->inputs);
    if (!in || !out)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "channel: %s is NULL", !in ? "input shapes" : "output shape");
    if (n_in != d->inputs)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "channel: %zu inputs given, descriptor says %u", n_in,
                        d->inputs);
    uint64_t src = 0;
    for (size_t i = 0; i < n_in; i++) {
        mcl_status st = mcl_check_shape(ctx, "channel input", &in[i]);
        if (st != MCL_STATUS_OK)
            return st;
        if (in[i].n != in[0].n || in[i].h != in[0].h || in[i].w != in[0].w)
            return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT,
                            "channel: inputs %ux%ux%ux%u and %ux%ux%ux%u differ in n, h or w", in[0].n, in[0].c,
                            in[0].h, in[0].w, in[i].n, in[i].c, in[i].h, in[i].w);
        src += in[i].c;
    }
    if (d->offset >= src)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "channel: offset %u is not below the %llu source channels",
                        d->offset, (unsigned long long)src);
    uint64_t ch = d->channels ? d->channels : src - d->offset;
    if (d->offset + ch > src)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "channel: offset %u + channels %llu exceed the %llu source channels",
                        d->offset, (unsigned long long)ch, (unsigned long long)src);
    uint32_t g = d->groups ? d->groups : 1;
    if (ch % g)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "channel: groups %u must divide the %llu output channels", g,
                        (unsigned long long)ch);
    *out = (mcl_shape){in[0].n, (uint32_t)ch, in[0].h, in[0].w};
    return mcl_check_shape(ctx, "channel output", out);
}

mcl_status mcl_channel_validate(const mcl_channel_desc *d, const mcl_shape *in, mcl_shape *out)
{
    mcl_clear_error();
    return channel_shape(NULL, d, in, d ? d->inputs : 0, out);
}

static mcl_status channel_reshape(mcl_op *op, size_t n_in, const mcl_shape *in, mcl_shape *out)
{
    channel_impl *c = op->impl;
    mcl_status st = channel_shape(op->ctx, &c->d, in, n_in, out);
    if (st != MCL_STATUS_OK)
        return st;
    mcl_defs defs = {0};
    mcl_defs_add(&defs, "CB", op->ctx->block);
    mcl_defs_add(&defs, "PIX", GATHER_PIX);
    op->kname = "gather";
    if ((st = mcl_op_kernel(op, "channel", &defs, "gather")) != MCL_STATUS_OK)
        return st;
    op->flops = 0;
    op->bytes = 8.0 * mcl_shape_count(out);
    mcl_op_set_range(op, 3, ((size_t)out->h * out->w + GATHER_PIX - 1) / GATHER_PIX, mcl_cblocks(out->c, op->ctx->block), out->n, 0);
    return MCL_STATUS_OK;
}

static mcl_status channel_setup(mcl_op *op)
{
    channel_impl *c = op->impl;
    const uint32_t B = op->ctx->block;
    const mcl_shape *in = op->in_shape, *out = &op->out_shape;
    cl_kernel k = op->kernel;
    int c1 = op->n_in > 1 ? (int)in[1].c : 0;
    const int v[8] = {(int)in[0].c, (int)mcl_cblocks(in[0].c, B), c1 ? (int)mcl_cblocks((uint32_t)c1, B) : 0,
                      (int)(out->h * out->w), (int)out->c, (int)mcl_cblocks(out->c, B), (int)c->d.offset,
                      (int)(c->d.groups ? c->d.groups : 1)};
    mcl_status st;
    if ((st = mcl_arg_mem(op, k, 0, op->in[0]->buf)) ||
        (st = mcl_arg_mem(op, k, 1, op->in[1] ? op->in[1]->buf : NULL)) || (st = mcl_arg_mem(op, k, 2, op->out->buf)))
        return st;
    for (cl_uint i = 0; i < 8; i++)
        if ((st = mcl_arg_int(op, k, 3 + i, v[i])) != MCL_STATUS_OK)
            return st;
    return MCL_STATUS_OK;
}

static const mcl_op_vtable k_channel_vt = {
    .kind = "channel", .min_in = 1, .max_in = 2, .reshape = channel_reshape, .setup = channel_setup,
};

mcl_status mcl_channel_create(mcl_context *ctx, const mcl_channel_desc *d, mcl_op **out)
{
    mcl_status st = mcl_create_check(ctx, "channel", out);
    if (st != MCL_STATUS_OK)
        return st;
    if (!d)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "channel descriptor is NULL");
    if (d->inputs != 1 && d->inputs != 2)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "channel: inputs %u must be 1 or 2", d->inputs);
    st = mcl_op_new(ctx, &k_channel_vt, sizeof(channel_impl), out);
    if (st == MCL_STATUS_OK)
        ((channel_impl *)(*out)->impl)->d = *d;
    return st;
}

/* ---- slot gather (graph runtime) ---- */

typedef struct slot_impl {
    cl_mem src, dst;
    uint32_t nblk;
} slot_impl;

static mcl_status slot_reshape(mcl_op *op, size_t n_in, const mcl_shape *in, mcl_shape *out)
{
    (void)n_in;
    slot_impl *s = op->impl;
    *out = in[0]; /* the plan binds the real output; only n, h, w matter */
    mcl_defs defs = {0};
    mcl_defs_add(&defs, "CB", op->ctx->block);
    mcl_defs_add(&defs, "PIX", GATHER_PIX);
    op->kname = "slot_gather";
    mcl_status st = mcl_op_kernel(op, "channel", &defs, "slot_gather");
    if (st != MCL_STATUS_OK)
        return st;
    op->flops = 0;
    op->bytes = 8.0 * in->n * in->h * in->w * s->nblk * op->ctx->block;
    mcl_op_set_range(op, 3, ((size_t)in->h * in->w + GATHER_PIX - 1) / GATHER_PIX, s->nblk, in->n, 0);
    return MCL_STATUS_OK;
}

static mcl_status slot_setup(mcl_op *op)
{
    slot_impl *s = op->impl;
    const uint32_t B = op->ctx->block;
    cl_kernel k = op->kernel;
    mcl_status st;
    if ((st = mcl_arg_mem(op, k, 0, op->in[0]->buf)) || (st = mcl_arg_mem(op, k, 1, op->out->buf)) ||
        (st = mcl_arg_mem(op, k, 2, s->src)) || (st = mcl_arg_mem(op, k, 3, s->dst)) ||
        (st = mcl_arg_int(op, k, 4, (int)(op->in[0]->shape.h * op->in[0]->shape.w))) ||
        (st = mcl_arg_int(op, k, 5, (int)mcl_cblocks(op->in[0]->shape.c, B))) ||
        (st = mcl_arg_int(op, k, 6, (int)mcl_cblocks(op->out->shape.c, B))) ||
        (st = mcl_arg_int(op, k, 7, (int)s->nblk)))
        return st;
    return MCL_STATUS_OK;
}

static void slot_destroy(mcl_op *op)
{
    slot_impl *s = op->impl;
    mcl_buffer_release(op->ctx, &s->src);
    mcl_buffer_release(op->ctx, &s->dst);
}

static const mcl_op_vtable k_slot_vt = {
    .kind = "gather", .min_in = 1, .max_in = 1, .reshape = slot_reshape, .setup = slot_setup,
    .destroy = slot_destroy,
};

mcl_status mcl_slot_gather_create(mcl_context *ctx, const int32_t *src, const int32_t *dst, uint32_t nblk,
                                  mcl_op **out)
{
    mcl_status st = mcl_create_check(ctx, "gather", out);
    if (st != MCL_STATUS_OK)
        return st;
    if (!nblk || !src || !dst)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "slot gather: empty table");
    if ((st = mcl_op_new(ctx, &k_slot_vt, sizeof(slot_impl), out)) != MCL_STATUS_OK)
        return st;
    slot_impl *s = (*out)->impl;
    s->nblk = nblk;
    size_t bytes = (size_t)nblk * ctx->block * sizeof(int32_t);
    if ((st = mcl_buffer_upload(ctx, src, bytes, &s->src)) != MCL_STATUS_OK ||
        (st = mcl_buffer_upload(ctx, dst, bytes, &s->dst)) != MCL_STATUS_OK) {
        mcl_op_destroy(*out);
        *out = NULL;
    }
    return st;
}
