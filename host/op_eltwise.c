/* Elementwise add (eltwise.cl) and channel softmax (softmax.cl). */
#include "internal.h"

#include <string.h>

typedef struct add_impl {
    mcl_add_desc d;
} add_impl;

static mcl_status add_shape(mcl_context *ctx, const mcl_add_desc *d, const mcl_shape *in, size_t n_in,
                            mcl_shape *out)
{
    if (!d)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "add descriptor is NULL");
    if (mcl_check_activation(d->activation) != MCL_STATUS_OK)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "add: activation %d is not none, relu or relu6",
                        (int)d->activation);
    if (!in || !out)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "add: %s is NULL", !in ? "input shapes" : "output shape");
    for (size_t i = 0; i < n_in; i++) {
        mcl_status st = mcl_check_shape(ctx, "add input", &in[i]);
        if (st != MCL_STATUS_OK)
            return st;
    }
    if (memcmp(&in[0], &in[1], sizeof in[0]) != 0)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "add: input shapes %ux%ux%ux%u and %ux%ux%ux%u differ",
                        in[0].n, in[0].c, in[0].h, in[0].w, in[1].n, in[1].c, in[1].h, in[1].w);
    *out = in[0];
    return MCL_STATUS_OK;
}

/* in: the two input shapes. */
mcl_status mcl_add_validate(const mcl_add_desc *d, const mcl_shape *in, mcl_shape *out)
{
    mcl_clear_error();
    return add_shape(NULL, d, in, 2, out);
}

static mcl_status add_reshape(mcl_op *op, size_t n_in, const mcl_shape *in, mcl_shape *out)
{
    add_impl *a = op->impl;
    mcl_status st = add_shape(op->ctx, &a->d, in, n_in, out);
    if (st != MCL_STATUS_OK)
        return st;
    mcl_defs defs = {0};
    mcl_defs_add(&defs, "CB", op->ctx->block);
    mcl_defs_add(&defs, "ACT", a->d.activation);
    op->kname = "add";
    if ((st = mcl_op_kernel(op, "eltwise", &defs, "add")) != MCL_STATUS_OK)
        return st;
    size_t nvec = mcl_tensor_floats(out, MCL_LAYOUT_BLOCKED, op->ctx->block) / op->ctx->block;
    op->flops = (double)mcl_shape_count(out);
    op->bytes = 12.0 * mcl_shape_count(out);
    mcl_op_set_range(op, 1, nvec, 1, 1, 0);
    return MCL_STATUS_OK;
}

static mcl_status add_setup(mcl_op *op)
{
    cl_kernel k = op->kernel;
    mcl_status st;
    if ((st = mcl_arg_mem(op, k, 0, op->in[0]->buf)) || (st = mcl_arg_mem(op, k, 1, op->in[1]->buf)) ||
        (st = mcl_arg_mem(op, k, 2, op->out->buf)) || (st = mcl_arg_int(op, k, 3, (int)op->gws[0])))
        return st;
    return MCL_STATUS_OK;
}

static const mcl_op_vtable k_add_vt = {
    .kind = "add", .min_in = 2, .max_in = 2, .reshape = add_reshape, .setup = add_setup,
};

mcl_status mcl_add_create(mcl_context *ctx, const mcl_add_desc *d, mcl_op **out)
{
    mcl_status st = mcl_create_check(ctx, "add", out);
    if (st != MCL_STATUS_OK)
        return st;
    if (!d)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "add descriptor is NULL");
    if (mcl_check_activation(d->activation) != MCL_STATUS_OK)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "add: activation %d is not none, relu or relu6",
                        (int)d->activation);
    st = mcl_op_new(ctx, &k_add_vt, sizeof(add_impl), out);
    if (st == MCL_STATUS_OK)
        ((add_impl *)(*out)->impl)->d = *d;
    return st;
}

/* ---- softmax over channels ---- */

mcl_status mcl_softmax_validate(const mcl_shape *in, mcl_shape *out)
{
    mcl_clear_error();
    mcl_status st = mcl_check_shape(NULL, "softmax input", in);
    if (st != MCL_STATUS_OK)
        return st;
    if (!out)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "softmax: output shape pointer is NULL");
    *out = *in;
    return MCL_STATUS_OK;
}

static mcl_status softmax_reshape(mcl_op *op, size_t n_in, const mcl_shape *in, mcl_shape *out)
{
    (void)n_in;
    *out = *in;
    mcl_defs defs = {0};
    mcl_defs_add(&defs, "CB", op->ctx->block);
    op->kname = "softmax";
    mcl_status st = mcl_op_kernel(op, "softmax", &defs, "softmax");
    if (st != MCL_STATUS_OK)
        return st;
    op->flops = 4.0 * mcl_shape_count(in);
    op->bytes = 8.0 * mcl_shape_count(in);
    mcl_op_set_range(op, 2, (size_t)in->h * in->w, in->n, 1, 0);
    return MCL_STATUS_OK;
}

static mcl_status softmax_setup(mcl_op *op)
{
    cl_kernel k = op->kernel;
    const mcl_shape *in = &op->in_shape[0];
    mcl_status st;
    if ((st = mcl_arg_mem(op, k, 0, op->in[0]->buf)) || (st = mcl_arg_mem(op, k, 1, op->out->buf)) ||
        (st = mcl_arg_int(op, k, 2, (int)in->c)) || (st = mcl_arg_int(op, k, 3, (int)(in->h * in->w))))
        return st;
    return MCL_STATUS_OK;
}

static const mcl_op_vtable k_softmax_vt = {
    .kind = "softmax", .min_in = 1, .max_in = 1, .reshape = softmax_reshape, .setup = softmax_setup,
};

mcl_status mcl_softmax_create(mcl_context *ctx, mcl_op **out)
{
    mcl_status st = mcl_create_check(ctx, "softmax", out);
    if (st != MCL_STATUS_OK)
        return st;
    return mcl_op_new(ctx, &k_softmax_vt, 0, out);
}
