/* Tensors: a device buffer with a shape and a layout; upload/download with
 * on-device layout conversion. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

size_t mcl_shape_count(const mcl_shape *s)
{
    if (!s || !s->n || !s->c || !s->h || !s->w)
        return 0;
    size_t n = s->n;
    uint32_t d[3] = {s->c, s->h, s->w};
    for (int i = 0; i < 3; i++) {
        if (n > SIZE_MAX / d[i])
            return 0;
        n *= d[i];
    }
    return n;
}

size_t mcl_tensor_floats(const mcl_shape *s, mcl_layout layout, uint32_t block)
{
    if (layout == MCL_LAYOUT_NCHW)
        return mcl_shape_count(s);
    if (!s || !block)
        return 0;
    mcl_shape p = *s;
    uint64_t cpad = (uint64_t)mcl_cblocks(s->c, block) * block;
    if (s->c && cpad > UINT32_MAX)
        return 0;
    p.c = (uint32_t)cpad;
    return mcl_shape_count(&p);
}

/* Element counts are limited to what a kernel's int indexing covers. */
#define MCL_MAX_TENSOR_FLOATS ((size_t)1 << 30)

mcl_status mcl_check_shape(mcl_context *ctx, const char *what, const mcl_shape *s)
{
    if (!s)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "%s shape is NULL", what);
    if (!s->n || !s->c || !s->h || !s->w)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "%s shape %ux%ux%ux%u has a zero dimension", what,
                        s->n, s->c, s->h, s->w);
    uint64_t n = (uint64_t)s->n * s->c;
    if (n > MCL_MAX_TENSOR_FLOATS || (n *= s->h) > MCL_MAX_TENSOR_FLOATS || (n *= s->w) > MCL_MAX_TENSOR_FLOATS ||
        ((uint64_t)s->n * (s->c + 16) * s->h * s->w) > MCL_MAX_TENSOR_FLOATS)
        return mcl_fail(ctx, MCL_STATUS_OVERFLOW, "%s shape %ux%ux%ux%u exceeds the %zu-element limit", what, s->n,
                        s->c, s->h, s->w, MCL_MAX_TENSOR_FLOATS);
    return MCL_STATUS_OK;
}

mcl_status mcl_buffer_upload(mcl_context *ctx, const void *host, size_t bytes, cl_mem *out)
{
    cl_int err = CL_SUCCESS;
    *out = ctx->cl->clCreateBuffer(ctx->context, CL_MEM_READ_ONLY | (host ? CL_MEM_COPY_HOST_PTR : 0), bytes,
                                   (void *)host, &err);
    if (!*out || err != CL_SUCCESS) {
        *out = NULL;
        char what[96];
        snprintf(what, sizeof what, "clCreateBuffer(%zu bytes)", bytes);
        return mcl_cl_fail(ctx, err, what);
    }
    return MCL_STATUS_OK;
}

void mcl_buffer_release(mcl_context *ctx, cl_mem *m)
{
    if (*m)
        ctx->cl->clReleaseMemObject(*m);
    *m = NULL;
}

mcl_status mcl_tensor_create(mcl_context *ctx, const mcl_shape *shape, mcl_layout layout, mcl_tensor **out)
{
    mcl_clear_error();
    if (!out)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "tensor output pointer is NULL");
    *out = NULL;
    if (!ctx)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "context is NULL");
    mcl_status st = mcl_check_shape(ctx, "tensor", shape);
    if (st != MCL_STATUS_OK)
        return st;
    if (layout != MCL_LAYOUT_NCHW && layout != MCL_LAYOUT_BLOCKED)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "layout %d is neither NCHW (0) nor BLOCKED (1)", (int)layout);
    mcl_tensor *t = calloc(1, sizeof *t);
    if (!t)
        return mcl_fail(ctx, MCL_STATUS_OUT_OF_MEMORY, "tensor struct");
    t->ctx = ctx;
    t->shape = *shape;
    t->layout = layout;
    t->bytes = mcl_tensor_floats(shape, layout, ctx->block) * sizeof(float);
    if (ctx->info.max_alloc_bytes && t->bytes > ctx->info.max_alloc_bytes) {
        size_t b = t->bytes;
        free(t);
        return mcl_fail(ctx, MCL_STATUS_OUT_OF_MEMORY,
                        "tensor shape %ux%ux%ux%u needs %zu bytes, more than the device's largest allocation "
                        "(CL_DEVICE_MAX_MEM_ALLOC_SIZE %llu)",
                        shape->n, shape->c, shape->h, shape->w, b, (unsigned long long)ctx->info.max_alloc_bytes);
    }
    cl_int err = CL_SUCCESS;
    t->buf = ctx->cl->clCreateBuffer(ctx->context, CL_MEM_READ_WRITE, t->bytes, NULL, &err);
    if (!t->buf || err != CL_SUCCESS) {
        char what[96];
        snprintf(what, sizeof what, "clCreateBuffer(%zu bytes) for a tensor", t->bytes);
        free(t);
        return mcl_cl_fail(ctx, err, what);
    }
    *out = t;
    return MCL_STATUS_OK;
}

mcl_status mcl_tensor_wrap(mcl_context *ctx, cl_mem buf, const mcl_shape *shape, mcl_layout layout,
                           mcl_tensor **out)
{
    *out = NULL;
    mcl_status st = mcl_check_shape(ctx, "tensor", shape);
    if (st != MCL_STATUS_OK)
        return st;
    mcl_tensor *t = calloc(1, sizeof *t);
    if (!t)
        return mcl_fail(ctx, MCL_STATUS_OUT_OF_MEMORY, "tensor struct");
    cl_int err = ctx->cl->clRetainMemObject(buf);
    if (err != CL_SUCCESS) {
        free(t);
        return mcl_cl_fail(ctx, err, "clRetainMemObject");
    }
    t->ctx = ctx;
    t->shape = *shape;
    t->layout = layout;
    t->bytes = mcl_tensor_floats(shape, t->layout, ctx->block) * sizeof(float);
    t->buf = buf;
    *out = t;
    return MCL_STATUS_OK;
}

void mcl_tensor_destroy(mcl_tensor *t)
{
    if (!t)
        return;
    mcl_buffer_release(t->ctx, &t->buf);
    free(t);
}

mcl_shape mcl_tensor_shape(const mcl_tensor *t)
{
    mcl_shape z = {0, 0, 0, 0};
    return t ? t->shape : z;
}
mcl_layout mcl_tensor_layout(const mcl_tensor *t) { return t ? t->layout : MCL_LAYOUT_NCHW; }
cl_mem mcl_tensor_buffer(const mcl_tensor *t) { return t ? t->buf : NULL; }
size_t mcl_tensor_bytes(const mcl_tensor *t) { return t ? t->bytes : 0; }

/* Enqueue NCHW <-> blocked conversion between two buffers. */
static mcl_status convert(mcl_context *ctx, const mcl_shape *s, cl_mem src, cl_mem dst, int to_blocked)
{
    mcl_defs defs = {0};
    mcl_defs_add(&defs, "CB", ctx->block);
    mcl_defs_add(&defs, "ACT", 0);
    cl_kernel k = NULL;
    const char *name = to_blocked ? "nchw_to_blocked" : "blocked_to_nchw";
    mcl_status st = mcl_kernel_get(ctx, "layout", &defs, name, &k);
    if (st != MCL_STATUS_OK)
        return st;
    int C = (int)s->c, HW = (int)(s->h * s->w);
    cl_mem none = NULL;
    cl_int err = ctx->cl->clSetKernelArg(k, 0, sizeof(cl_mem), &src);
    err |= ctx->cl->clSetKernelArg(k, 1, sizeof(cl_mem), &dst);
    if (to_blocked) {
        int zero = 0;
        err |= ctx->cl->clSetKernelArg(k, 2, sizeof(cl_mem), &none); /* bias */
        err |= ctx->cl->clSetKernelArg(k, 3, sizeof(cl_mem), &none); /* residual */
        err |= ctx->cl->clSetKernelArg(k, 4, sizeof(int), &zero);    /* flags */
        err |= ctx->cl->clSetKernelArg(k, 5, sizeof(int), &C);
        err |= ctx->cl->clSetKernelArg(k, 6, sizeof(int), &HW);
    } else {
        err |= ctx->cl->clSetKernelArg(k, 2, sizeof(int), &C);
        err |= ctx->cl->clSetKernelArg(k, 3, sizeof(int), &HW);
    }
    if (err != CL_SUCCESS) {
        ctx->cl->clReleaseKernel(k);
        return mcl_cl_fail(ctx, err, "clSetKernelArg for the layout kernel");
    }
    size_t gws[3] = {(size_t)HW, to_blocked ? mcl_cblocks(s->c, ctx->block) : s->c, s->n};
    st = mcl_enqueue(ctx, k, 3, gws, NULL, NULL, name);
    ctx->cl->clReleaseKernel(k);
    return st;
}

static mcl_status check_io(mcl_tensor *t, const float *p, size_t count, const char *what)
{
    if (!t)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "%s: tensor is NULL", what);
    if (!p)
        return mcl_fail(t->ctx, MCL_STATUS_INVALID_ARGUMENT, "%s: host pointer is NULL", what);
    size_t n = mcl_shape_count(&t->shape);
    if (count != n)
        return mcl_fail(t->ctx, MCL_STATUS_INVALID_ARGUMENT, "%s: count %zu differs from the tensor's %ux%ux%ux%u = %zu elements",
                        what, count, t->shape.n, t->shape.c, t->shape.h, t->shape.w, n);
    return MCL_STATUS_OK;
}

mcl_status mcl_tensor_write(mcl_tensor *t, const float *nchw, size_t count)
{
    mcl_clear_error();
    mcl_status st = check_io(t, nchw, count, "mcl_tensor_write");
    if (st != MCL_STATUS_OK)
        return st;
    mcl_context *ctx = t->ctx;
    size_t bytes = count * sizeof(float);
    if (t->layout == MCL_LAYOUT_NCHW) {
        cl_int err = ctx->cl->clEnqueueWriteBuffer(ctx->queue, t->buf, CL_TRUE, 0, bytes, nchw, 0, NULL, NULL);
        return err == CL_SUCCESS ? MCL_STATUS_OK : mcl_cl_fail(ctx, err, "clEnqueueWriteBuffer");
    }
    cl_mem staging = NULL;
    st = mcl_buffer_upload(ctx, nchw, bytes, &staging);
    if (st == MCL_STATUS_OK)
        st = convert(ctx, &t->shape, staging, t->buf, 1);
    if (st == MCL_STATUS_OK)
        st = mcl_context_finish(ctx);
    mcl_buffer_release(ctx, &staging);
    return st;
}

mcl_status mcl_tensor_read(mcl_tensor *t, float *nchw, size_t count)
{
    mcl_clear_error();
    mcl_status st = check_io(t, nchw, count, "mcl_tensor_read");
    if (st != MCL_STATUS_OK)
        return st;
    mcl_context *ctx = t->ctx;
    size_t bytes = count * sizeof(float);
    cl_mem src = t->buf, staging = NULL;
    if (t->layout == MCL_LAYOUT_BLOCKED && t->shape.h * t->shape.w == 1) {
        /* 1x1 planes (a classifier's logits): image n's channels are
         * already in order at n * its padded channel count, so no layout
         * kernel and no staging buffer (one launch less per inference, and
         * one program less to build at start-up); the last read blocks, the
         * in-order queue finishes the others first. */
        const size_t C = t->shape.c, pitch = (size_t)mcl_cblocks(t->shape.c, ctx->block) * ctx->block;
        for (size_t n = 0; n < t->shape.n; n++) {
            cl_int err = ctx->cl->clEnqueueReadBuffer(ctx->queue, t->buf, n + 1 == t->shape.n ? CL_TRUE : CL_FALSE,
                                                      n * pitch * sizeof(float), C * sizeof(float), nchw + n * C, 0,
                                                      NULL, NULL);
            if (err != CL_SUCCESS) {
                st = mcl_cl_fail(ctx, err, "clEnqueueReadBuffer");
                if (n > 0) /* reads already enqueued write into nchw: wait for them before returning */
                    ctx->cl->clFinish(ctx->queue);
                return st;
            }
        }
        return MCL_STATUS_OK;
    }
    if (t->layout == MCL_LAYOUT_BLOCKED) {
        cl_int err = CL_SUCCESS;
        staging = ctx->cl->clCreateBuffer(ctx->context, CL_MEM_READ_WRITE, bytes, NULL, &err);
        if (!staging || err != CL_SUCCESS)
            return mcl_cl_fail(ctx, err, "clCreateBuffer for the read staging buffer");
        st = convert(ctx, &t->shape, t->buf, staging, 0);
        src = staging;
    }
    if (st == MCL_STATUS_OK) {
        cl_int err = ctx->cl->clEnqueueReadBuffer(ctx->queue, src, CL_TRUE, 0, bytes, nchw, 0, NULL, NULL);
        if (err != CL_SUCCESS)
            st = mcl_cl_fail(ctx, err, "clEnqueueReadBuffer");
    }
    mcl_buffer_release(ctx, &staging);
    return st;
}

mcl_status mcl_tensor_convert(mcl_context *ctx, const mcl_tensor *src, mcl_tensor *dst)
{
    mcl_clear_error();
    if (!ctx || !src || !dst)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "mcl_tensor_convert: %s is NULL",
                        !ctx ? "ctx" : !src ? "src" : "dst");
    if (memcmp(&src->shape, &dst->shape, sizeof src->shape) != 0)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "mcl_tensor_convert: shapes differ (%ux%ux%ux%u vs %ux%ux%ux%u)",
                        src->shape.n, src->shape.c, src->shape.h, src->shape.w, dst->shape.n, dst->shape.c,
                        dst->shape.h, dst->shape.w);
    if (src->layout == dst->layout)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "mcl_tensor_convert: both tensors have layout %d", (int)src->layout);
    return convert(ctx, &src->shape, src->buf, dst->buf, dst->layout == MCL_LAYOUT_BLOCKED);
}
