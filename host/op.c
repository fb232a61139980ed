/* The op lifecycle shared by every family: reshape, setup, run, destroy,
 * tunables and their parameter spaces. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- parameter spaces (the launcher, the tuner and the tests read these) */

static const uint32_t k_tw_conv[] = {1, 2, 4, 8, 0};
static const uint32_t k_tw_dw[] = {1, 2, 4, 8, 0};
static const uint32_t k_tw_pw[] = {1, 2, 4, 6, 7, 8, 16, 0};
static const uint32_t k_tw_pool[] = {1, 2, 4, 0};
static const uint32_t k_tc_one[] = {1, 0};
static const uint32_t k_tc_pw[] = {1, 2, 3, 4, 0};
/* wg 0 (the driver's choice) is always allowed and not listed */
static const uint32_t k_wg[] = {8, 16, 32, 64, 0};
/* dwpw: 7 divides the 7/14/28/56/112 planes; wg 4 is its CPU default */
static const uint32_t k_tw_dwpw[] = {2, 4, 7, 8, 0};
static const uint32_t k_tc_dwpw[] = {1, 2, 4, 0};
static const uint32_t k_wg_dwpw[] = {2, 4, 8, 16, 32, 64, 0};
/* dwpw output-block groups: bench_dwpw on POCL found 1 fastest on most
 * pairs and 2 on some 7x7 planes (MnasNet's 1152 -> 320: 12%) */
static const uint32_t k_split_dwpw[] = {1, 2, 4, 0};
static const uint32_t k_none[] = {0};

static const mcl_space k_spaces[MCL_FAMILY_COUNT_] = {
    [MCL_FAMILY_CONV] = {"conv", k_tw_conv, k_tc_one, k_wg, k_none},
    [MCL_FAMILY_DWCONV] = {"dwconv", k_tw_dw, k_tc_one, k_wg, k_none},
    [MCL_FAMILY_PWCONV] = {"pwconv", k_tw_pw, k_tc_pw, k_wg, k_none},
    [MCL_FAMILY_POOL] = {"pool", k_tw_pool, k_tc_one, k_wg, k_none},
    [MCL_FAMILY_DWPW] = {"dwpw", k_tw_dwpw, k_tc_dwpw, k_wg_dwpw, k_split_dwpw},
};

const mcl_space *mcl_space_get(mcl_family f)
{
    if ((unsigned)f >= MCL_FAMILY_COUNT_) {
        mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "family %d is not a mcl_family", (int)f);
        return NULL;
    }
    return &k_spaces[f];
}

static int in_list(const uint32_t *l, uint32_t v)
{
    for (; *l; l++)
        if (*l == v)
            return 1;
    return 0;
}

int mcl_tunables_fit(const mcl_context *ctx, mcl_family f, const mcl_tunables *t, char *why, size_t n)
{
    const mcl_space *s = &k_spaces[f];
    if (!in_list(s->tile_w, t->tile_w) || !in_list(s->tile_c, t->tile_c) || (t->wg && !in_list(s->wg, t->wg)) ||
        (t->split && !in_list(s->split, t->split))) {
        snprintf(why, n, "tunables tile_w=%u tile_c=%u wg=%u split=%u are outside the %s space", t->tile_w, t->tile_c,
                 t->wg, t->split, s->family);
        return 0;
    }
    size_t lim = ctx->info.max_work_group_size, item = ctx->info.max_work_item_sizes[0];
    if (item && item < lim)
        lim = item;
    if (t->wg > lim) {
        snprintf(why, n, "work-group size %u exceeds the device limit %zu", t->wg, lim);
        return 0;
    }
    return 1;
}

mcl_status mcl_op_tunables(mcl_op *op, mcl_family fam, const mcl_tunables *def, const mcl_shape *in,
                           const mcl_shape *out)
{
    op->family = fam;
    op->has_family = 1;
    if (!op->tun_user_set && op->ctx->quick) {
        /* the quick tier (mcl_plan_options.quick): the smallest tiles of the
         * family's space and, on CPUs, work-groups of 1, which POCL
         * generates code for fastest */
        const mcl_space *s = &k_spaces[fam];
        mcl_tunables q = {s->tile_w[0], s->tile_c[0], op->ctx->info.is_gpu ? def->wg : 1, s->split[0]};
        op->tun = q;
        op->tun_src = MCL_TUN_SRC_QUICK;
        return MCL_STATUS_OK;
    }
    if (!op->tun_user_set) {
        op->tun = *def;
        op->tun_src = MCL_TUN_SRC_DEFAULT;
        if (op->ctx->tunedb && op->vt->tune_key) {
            /* entries were checked against the space and the device at load */
            char key[MCL_TUNE_KEY_MAX];
            int near = 0;
            op->vt->tune_key(op, in, out, key, sizeof key);
            const mcl_tune_entry *e = mcl_tunedb_lookup(op->ctx->tunedb, key, &near);
            if (e) {
                op->tun = e->t;
                op->tun_src = near ? MCL_TUN_SRC_DB_NEAR : MCL_TUN_SRC_DB;
            }
        }
        return MCL_STATUS_OK;
    }
    mcl_tunables t = op->tun_user; /* 0 in tile_w / tile_c / split: that field's default */
    if (!t.tile_w)
        t.tile_w = def->tile_w;
    if (!t.tile_c)
        t.tile_c = def->tile_c;
    if (!t.split)
        t.split = def->split;
    char why[160];
    if (!mcl_tunables_fit(op->ctx, fam, &t, why, sizeof why))
        return mcl_fail(op->ctx, MCL_STATUS_UNSUPPORTED, "%s", why);
    op->tun = t;
    op->tun_src = MCL_TUN_SRC_USER;
    return MCL_STATUS_OK;
}

const char *mcl_op_tunables_source(const mcl_op *op)
{
    static const char *const names[] = {"", "default", "user", "db", "db-near", "quick"};
    return op && op->state >= MCL_OP_RESHAPED && op->has_family ? names[op->tun_src] : "";
}

mcl_status mcl_op_tune_key(const mcl_op *op, char *buf, size_t n)
{
    mcl_clear_error();
    if (!op || !buf)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "mcl_op_tune_key: %s is NULL", !op ? "op" : "buf");
    if (n)
        buf[0] = 0;
    if (op->state < MCL_OP_RESHAPED)
        return mcl_fail(op->ctx, MCL_STATUS_INVALID_STATE, "%s: the tuning key is known after reshape", op->vt->kind);
    if (!op->has_family || !op->vt->tune_key)
        return mcl_fail(op->ctx, MCL_STATUS_NOT_FOUND, "%s kernel %s has no tunables", op->vt->kind,
                        op->kname ? op->kname : "?");
    char key[MCL_TUNE_KEY_MAX];
    op->vt->tune_key(op, &op->in_shape[0], &op->out_shape, key, sizeof key);
    if (strlen(key) >= n)
        return mcl_fail(op->ctx, MCL_STATUS_OVERFLOW, "mcl_op_tune_key: buffer of %zu bytes, the key needs %zu", n,
                        strlen(key) + 1);
    memcpy(buf, key, strlen(key) + 1);
    return MCL_STATUS_OK;
}

mcl_status mcl_op_set_tunables(mcl_op *op, const mcl_tunables *t)
{
    mcl_clear_error();
    if (!op)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "op is NULL");
    if (!t) {
        op->tun_user_set = 0;
    } else {
        /* reject values no family has; the family check happens at reshape */
        int ok = 0;
        for (int f = 0; f < MCL_FAMILY_COUNT_; f++)
            ok |= (!t->tile_w || in_list(k_spaces[f].tile_w, t->tile_w)) &&
                  (!t->tile_c || in_list(k_spaces[f].tile_c, t->tile_c)) &&
                  (!t->wg || in_list(k_spaces[f].wg, t->wg)) && (!t->split || in_list(k_spaces[f].split, t->split));
        if (!ok)
            return mcl_fail(op->ctx, MCL_STATUS_UNSUPPORTED,
                            "tunables tile_w=%u tile_c=%u wg=%u split=%u are in no family's space", t->tile_w,
                            t->tile_c, t->wg, t->split);
        op->tun_user = *t;
        op->tun_user_set = 1;
    }
    if (op->state > MCL_OP_CREATED)
        op->state = MCL_OP_CREATED; /* reshape again before running */
    return MCL_STATUS_OK;
}

mcl_status mcl_op_get_tunables(const mcl_op *op, mcl_family *family, mcl_tunables *t)
{
    mcl_clear_error();
    if (!op || !family || !t)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "mcl_op_get_tunables: %s is NULL",
                        !op ? "op" : !family ? "family" : "t");
    if (op->state < MCL_OP_RESHAPED)
        return mcl_fail(op->ctx, MCL_STATUS_INVALID_STATE, "%s: tunables are chosen at reshape, which has not run",
                        op->vt->kind);
    if (!op->has_family)
        return mcl_fail(op->ctx, MCL_STATUS_NOT_FOUND, "%s kernel %s has no tunables", op->vt->kind,
                        op->kname ? op->kname : "?");
    *family = op->family;
    *t = op->tun;
    return MCL_STATUS_OK;
}

const char *mcl_op_kernel_name(const mcl_op *op) { return op && op->kname ? op->kname : ""; }

/* ---- lifecycle ---- */

mcl_status mcl_op_new(mcl_context *ctx, const mcl_op_vtable *vt, size_t impl_size, mcl_op **out)
{
    mcl_op *op = calloc(1, sizeof *op);
    void *impl = impl_size ? calloc(1, impl_size) : NULL;
    if (!op || (impl_size && !impl)) {
        free(op);
        free(impl);
        return mcl_fail(ctx, MCL_STATUS_OUT_OF_MEMORY, "%s op allocation", vt->kind);
    }
    op->ctx = ctx;
    op->vt = vt;
    op->impl = impl;
    *out = op;
    return MCL_STATUS_OK;
}

mcl_status mcl_op_kernel(mcl_op *op, const char *family, const mcl_defs *defs, const char *kernel)
{
    if (op->kernel)
        op->ctx->cl->clReleaseKernel(op->kernel);
    op->kernel = NULL;
    op->kpending = 0;
    if (op->ctx->defer) {
        mcl_status st = mcl_kernel_request(op->ctx, family, defs);
        if (st == MCL_STATUS_OK) {
            op->kpending = 1;
            op->kfamily = family;
            op->kfunc = kernel;
            op->kdefs = *defs;
        }
        return st;
    }
    return mcl_kernel_get(op->ctx, family, defs, kernel, &op->kernel);
}

mcl_status mcl_op_kernel_resolve(mcl_op *op)
{
    if (!op->kpending)
        return MCL_STATUS_OK;
    op->kpending = 0;
    return mcl_kernel_get(op->ctx, op->kfamily, &op->kdefs, op->kfunc, &op->kernel);
}

static mcl_status set_arg(mcl_op *op, cl_kernel k, cl_uint i, size_t size, const void *v, const char *type)
{
    cl_int err = op->ctx->cl->clSetKernelArg(k, i, size, v);
    if (err == CL_SUCCESS)
        return MCL_STATUS_OK;
    char what[96];
    snprintf(what, sizeof what, "%s: clSetKernelArg(%u, %s)", op->vt->kind, i, type);
    return mcl_cl_fail(op->ctx, err, what);
}

mcl_status mcl_arg_mem(mcl_op *op, cl_kernel k, cl_uint i, cl_mem m) { return set_arg(op, k, i, sizeof m, &m, "buffer"); }
mcl_status mcl_arg_int(mcl_op *op, cl_kernel k, cl_uint i, int v) { return set_arg(op, k, i, sizeof v, &v, "int"); }
mcl_status mcl_arg_float(mcl_op *op, cl_kernel k, cl_uint i, float v) { return set_arg(op, k, i, sizeof v, &v, "float"); }

mcl_status mcl_create_check(mcl_context *ctx, const char *kind, mcl_op **out)
{
    mcl_clear_error();
    if (!out)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "%s: op output pointer is NULL", kind);
    *out = NULL;
    if (!ctx)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "%s: context is NULL", kind);
    return MCL_STATUS_OK;
}

mcl_status mcl_upload_padded(mcl_context *ctx, const float *src, uint32_t n, cl_mem *out)
{
    size_t padded = (size_t)mcl_cblocks(n, ctx->block) * ctx->block;
    float *p = calloc(padded, sizeof *p);
    if (!p)
        return mcl_fail(ctx, MCL_STATUS_OUT_OF_MEMORY, "padded buffer of %zu floats", padded);
    if (src)
        memcpy(p, src, n * sizeof *p);
    mcl_status st = mcl_buffer_upload(ctx, p, padded * sizeof *p, out);
    free(p);
    return st;
}

void mcl_op_set_range(mcl_op *op, cl_uint dims, size_t g0, size_t g1, size_t g2, uint32_t wg)
{
    op->dims = dims;
    op->use_lws = wg != 0;
    op->gws[0] = op->use_lws ? (g0 + wg - 1) / wg * wg : g0;
    op->gws[1] = g1;
    op->gws[2] = g2;
    op->lws[0] = op->use_lws ? wg : 1;
    op->lws[1] = 1;
    op->lws[2] = 1;
}

mcl_status mcl_enqueue(mcl_context *ctx, cl_kernel k, cl_uint dims, const size_t *gws, const size_t *lws,
                       cl_event *ev, const char *what)
{
    cl_int err = ctx->cl->clEnqueueNDRangeKernel(ctx->queue, k, dims, NULL, gws, lws, 0, NULL, ev);
    if (err == CL_SUCCESS)
        return MCL_STATUS_OK;
    char msg[128];
    snprintf(msg, sizeof msg, "clEnqueueNDRangeKernel(%s, global %zux%zux%zu)", what, gws[0],
             dims > 1 ? gws[1] : 1, dims > 2 ? gws[2] : 1);
    return mcl_cl_fail(ctx, err, msg);
}

mcl_status mcl_op_reshape(mcl_op *op, size_t n_in, const mcl_shape *in, mcl_shape *out)
{
    mcl_clear_error();
    if (!op)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "op is NULL");
    if (!in || !out)
        return mcl_fail(op->ctx, MCL_STATUS_INVALID_ARGUMENT, "%s reshape: %s is NULL", op->vt->kind,
                        !in ? "input shapes" : "output shape");
    if (n_in < op->vt->min_in || n_in > op->vt->max_in)
        return mcl_fail(op->ctx, MCL_STATUS_INVALID_ARGUMENT, "%s reshape: %zu input shapes given, it takes %zu..%zu",
                        op->vt->kind, n_in, op->vt->min_in, op->vt->max_in);
    for (size_t i = 0; i < n_in; i++) {
        mcl_status st = mcl_check_shape(op->ctx, "input", &in[i]);
        if (st != MCL_STATUS_OK)
            return st;
    }
    op->state = MCL_OP_CREATED;
    op->has_family = 0;
    op->tun_src = MCL_TUN_SRC_NONE;
    mcl_shape o;
    mcl_status st = op->vt->reshape(op, n_in, in, &o);
    if (st != MCL_STATUS_OK)
        return st;
    op->n_in = n_in;
    memcpy(op->in_shape, in, n_in * sizeof *in);
    op->out_shape = o;
    *out = o;
    op->in[0] = op->in[1] = op->out = NULL;
    op->state = MCL_OP_RESHAPED;
    return MCL_STATUS_OK;
}

mcl_status mcl_check_blocked(mcl_op *op, const char *what, const mcl_tensor *t, const mcl_shape *want)
{
    if (!t)
        return mcl_fail(op->ctx, MCL_STATUS_INVALID_ARGUMENT, "%s setup: %s tensor is NULL", op->vt->kind, what);
    if (t->ctx != op->ctx)
        return mcl_fail(op->ctx, MCL_STATUS_INVALID_ARGUMENT, "%s setup: %s tensor belongs to another context",
                        op->vt->kind, what);
    if (t->layout != MCL_LAYOUT_BLOCKED)
        return mcl_fail(op->ctx, MCL_STATUS_INVALID_ARGUMENT, "%s setup: %s tensor has layout NCHW; ops take BLOCKED",
                        op->vt->kind, what);
    if (memcmp(&t->shape, want, sizeof *want) != 0)
        return mcl_fail(op->ctx, MCL_STATUS_INVALID_ARGUMENT,
                        "%s setup: %s tensor is %ux%ux%ux%u, reshape expects %ux%ux%ux%u", op->vt->kind, what,
                        t->shape.n, t->shape.c, t->shape.h, t->shape.w, want->n, want->c, want->h, want->w);
    return MCL_STATUS_OK;
}

mcl_status mcl_op_setup(mcl_op *op, size_t n_in, mcl_tensor *const *in, mcl_tensor *out)
{
    mcl_clear_error();
    if (!op)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "op is NULL");
    if (op->state < MCL_OP_RESHAPED)
        return mcl_fail(op->ctx, MCL_STATUS_INVALID_STATE, "%s setup before reshape", op->vt->kind);
    /* a conv with a residual takes one more tensor than reshape's inputs */
    size_t want = op->n_in + (op->vt->setup_extra ? op->vt->setup_extra(op) : 0);
    if (n_in != want)
        return mcl_fail(op->ctx, MCL_STATUS_INVALID_ARGUMENT, "%s setup: %zu input tensors given, it takes %zu",
                        op->vt->kind, n_in, want);
    if (!in)
        return mcl_fail(op->ctx, MCL_STATUS_INVALID_ARGUMENT, "%s setup: input array is NULL", op->vt->kind);
    for (size_t i = 0; i < n_in; i++) {
        const mcl_shape *s = i < op->n_in ? &op->in_shape[i] : &op->out_shape;
        mcl_status st = mcl_check_blocked(op, i < op->n_in ? "input" : "residual", in[i], s);
        if (st != MCL_STATUS_OK)
            return st;
    }
    mcl_status st = mcl_check_blocked(op, "output", out, &op->out_shape);
    if (st != MCL_STATUS_OK)
        return st;
    for (size_t i = 0; i < n_in; i++)
        if (in[i] == out)
            return mcl_fail(op->ctx, MCL_STATUS_INVALID_ARGUMENT, "%s setup: input %zu aliases the output",
                            op->vt->kind, i);
    op->in[0] = in[0];
    op->in[1] = n_in > 1 ? in[1] : NULL;
    op->out = out;
    st = op->vt->setup(op);
    if (st != MCL_STATUS_OK) {
        op->state = MCL_OP_RESHAPED;
        return st;
    }
    op->state = MCL_OP_READY;
    return MCL_STATUS_OK;
}

mcl_status mcl_op_bind(mcl_op *op, mcl_tensor *in0, mcl_tensor *in1, mcl_tensor *out)
{
    if (op->state < MCL_OP_RESHAPED)
        return mcl_fail(op->ctx, MCL_STATUS_INVALID_STATE, "%s bind before reshape", op->vt->kind);
    op->in[0] = in0;
    op->in[1] = in1;
    op->out = out;
    mcl_status st = op->vt->setup(op);
    op->state = st == MCL_STATUS_OK ? MCL_OP_READY : MCL_OP_RESHAPED;
    return st;
}

mcl_status mcl_op_run(mcl_op *op, cl_event *ev)
{
    mcl_clear_error();
    if (!op)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "op is NULL");
    if (op->state != MCL_OP_READY)
        return mcl_fail(op->ctx, MCL_STATUS_INVALID_STATE, "%s run before %s", op->vt->kind,
                        op->state == MCL_OP_CREATED ? "reshape" : "setup");
    return op->vt->run ? op->vt->run(op, ev) : mcl_op_enqueue(op, ev);
}

mcl_status mcl_op_enqueue(mcl_op *op, cl_event *ev)
{
    return mcl_enqueue(op->ctx, op->kernel, op->dims, op->gws, op->use_lws ? op->lws : NULL, ev,
                       op->kname ? op->kname : op->vt->kind);
}

double mcl_op_flops(const mcl_op *op) { return op ? op->flops : 0; }
double mcl_op_bytes(const mcl_op *op) { return op ? op->bytes : 0; }

void mcl_op_destroy(mcl_op *op)
{
    if (!op)
        return;
    if (op->vt->destroy)
        op->vt->destroy(op);
    if (op->kernel)
        op->ctx->cl->clReleaseKernel(op->kernel);
    free(op->impl);
    free(op);
}

mcl_status mcl_check_activation(mcl_activation a)
{
    if (a != MCL_ACT_NONE && a != MCL_ACT_RELU && a != MCL_ACT_RELU6)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "activation %d is not none (0), relu (1) or relu6 (2)",
                        (int)a);
    return MCL_STATUS_OK;
}
