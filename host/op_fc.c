/* fc: fully connected over the flattened (c, h, w) input (fc.cl). The
 * weights are packed per input shape (at reshape) in the blocked input's
 * order: wt [OB][ICB*H*W*CB][CB]. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct fc_impl {
    mcl_fc_desc d;
    float *w;         /* host copy [out][in], kept to repack on reshape */
    mcl_shape packed; /* input shape the device weights are packed for */
    cl_mem wt, bias;
} fc_impl;

static mcl_status fc_check(mcl_context *ctx, const mcl_fc_desc *d)
{
    if (!d)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "fc descriptor is NULL");
    if (!d->in_features || !d->out_features)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "fc: in_features %u and out_features %u must be > 0",
                        d->in_features, d->out_features);
    if ((uint64_t)d->in_features * d->out_features > (1u << 28))
        return mcl_fail(ctx, MCL_STATUS_OVERFLOW, "fc: %u x %u weights exceed the 2^28 limit", d->out_features,
                        d->in_features);
    if (mcl_check_activation(d->activation) != MCL_STATUS_OK)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "fc: activation %d is not none, relu or relu6",
                        (int)d->activation);
    return MCL_STATUS_OK;
}

static mcl_status fc_out_shape(mcl_context *ctx, const mcl_fc_desc *d, const mcl_shape *in, mcl_shape *out)
{
    mcl_status st = fc_check(ctx, d);
    if (st != MCL_STATUS_OK)
        return st;
    if ((st = mcl_check_shape(ctx, "fc input", in)) != MCL_STATUS_OK)
        return st;
    if (!out)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "fc: output shape pointer is NULL");
    if ((uint64_t)in->c * in->h * in->w != d->in_features)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "fc: input %ux%ux%u flattens to %llu features, descriptor says %u",
                        in->c, in->h, in->w, (unsigned long long)in->c * in->h * in->w, d->in_features);
    *out = (mcl_shape){in->n, d->out_features, 1, 1};
    return MCL_STATUS_OK;
}

mcl_status mcl_fc_validate(const mcl_fc_desc *d, const mcl_shape *in, mcl_shape *out)
{
    mcl_clear_error();
    return fc_out_shape(NULL, d, in, out);
}

static mcl_status fc_pack(mcl_op *op, const mcl_shape *in)
{
    fc_impl *f = op->impl;
    const uint32_t B = op->ctx->block, OB = mcl_cblocks(f->d.out_features, B), ICB = mcl_cblocks(in->c, B);
    const size_t HW = (size_t)in->h * in->w, K = (size_t)ICB * HW * B;
    float *p = calloc((size_t)OB * K * B, sizeof *p);
    if (!p)
        return mcl_fail(op->ctx, MCL_STATUS_OUT_OF_MEMORY, "fc packed weights of %zu floats", (size_t)OB * K * B);
    for (uint32_t o = 0; o < f->d.out_features; o++)
        for (uint32_t c = 0; c < in->c; c++)
            for (size_t q = 0; q < HW; q++) {
                size_t k = ((size_t)(c / B) * HW + q) * B + c % B;
                p[((size_t)(o / B) * K + k) * B + o % B] = f->w[(size_t)o * f->d.in_features + c * HW + q];
            }
    mcl_buffer_release(op->ctx, &f->wt);
    mcl_status st = mcl_buffer_upload(op->ctx, p, (size_t)OB * K * B * sizeof *p, &f->wt);
    free(p);
    if (st == MCL_STATUS_OK)
        f->packed = *in;
    return st;
}

static mcl_status fc_reshape(mcl_op *op, size_t n_in, const mcl_shape *in, mcl_shape *out)
{
    (void)n_in;
    fc_impl *f = op->impl;
    mcl_status st = fc_out_shape(op->ctx, &f->d, in, out);
    if (st != MCL_STATUS_OK)
        return st;
    if (!f->wt || f->packed.c != in->c || f->packed.h != in->h || f->packed.w != in->w)
        if ((st = fc_pack(op, in)) != MCL_STATUS_OK)
            return st;
    mcl_defs defs = {0};
    mcl_defs_add(&defs, "CB", op->ctx->block);
    mcl_defs_add(&defs, "ACT", f->d.activation);
    op->kname = "fc";
    if ((st = mcl_op_kernel(op, "fc", &defs, "fc")) != MCL_STATUS_OK)
        return st;
    op->flops = 2.0 * in->n * f->d.in_features * f->d.out_features;
    op->bytes = 4.0 * ((double)mcl_shape_count(in) + (double)f->d.in_features * f->d.out_features + (double)in->n * f->d.out_features);
    mcl_op_set_range(op, 2, mcl_cblocks(f->d.out_features, op->ctx->block), in->n, 1, mcl_default_wg(op->ctx));
    return MCL_STATUS_OK;
}

static mcl_status fc_setup(mcl_op *op)
{
    fc_impl *f = op->impl;
    const mcl_shape *in = &op->in_shape[0];
    const uint32_t B = op->ctx->block;
    cl_kernel k = op->kernel;
    mcl_status st;
    if ((st = mcl_arg_mem(op, k, 0, op->in[0]->buf)) || (st = mcl_arg_mem(op, k, 1, f->wt)) ||
        (st = mcl_arg_mem(op, k, 2, f->bias)) || (st = mcl_arg_mem(op, k, 3, op->out->buf)) ||
        (st = mcl_arg_int(op, k, 4, (int)(mcl_cblocks(in->c, B) * in->h * in->w * B))) ||
        (st = mcl_arg_int(op, k, 5, (int)mcl_cblocks(f->d.out_features, B))))
        return st;
    return MCL_STATUS_OK;
}

static void fc_destroy(mcl_op *op)
{
    fc_impl *f = op->impl;
    mcl_buffer_release(op->ctx, &f->wt);
    mcl_buffer_release(op->ctx, &f->bias);
    free(f->w);
    f->w = NULL;
}

static const mcl_op_vtable k_fc_vt = {
    .kind = "fc", .min_in = 1, .max_in = 1, .reshape = fc_reshape, .setup = fc_setup, .destroy = fc_destroy,
};

mcl_status mcl_fc_create(mcl_context *ctx, const mcl_fc_desc *d, const float *weights, const float *bias,
                         mcl_op **out)
{
    mcl_status st = mcl_create_check(ctx, "fc", out);
    if (st != MCL_STATUS_OK)
        return st;
    st = fc_check(ctx, d);
    if (st != MCL_STATUS_OK)
        return st;
    if (!weights)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "fc: weights pointer is NULL");
    mcl_op *op = NULL;
    if ((st = mcl_op_new(ctx, &k_fc_vt, sizeof(fc_impl), &op)) != MCL_STATUS_OK)
        return st;
    fc_impl *f = op->impl;
    f->d = *d;
    size_t nw = (size_t)d->in_features * d->out_features;
    f->w = malloc(nw * sizeof *f->w);
    if (!f->w) {
        st = mcl_fail(ctx, MCL_STATUS_OUT_OF_MEMORY, "fc weights of %zu floats", nw);
        goto error;
    }
    memcpy(f->w, weights, nw * sizeof *f->w);
    if ((st = mcl_upload_padded(ctx, bias, d->out_features, &f->bias)) != MCL_STATUS_OK)
        goto error;
    *out = op;
    return MCL_STATUS_OK;
error:
    mcl_op_destroy(op);
    return st;
}
