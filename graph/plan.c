/* Plan: a graph compiled for one context.
 *
 *   1. IR passes on a private copy of the nodes: BatchNorm folded into the
 *      conv before it; activation and residual Add fused into the producing
 *      conv's epilogue (and a ReLU after a concat pushed into its writers).
 *      Unfused BatchNorm / activation nodes run as depthwise 1x1 convs.
 *   2. Placement. Every value gets a storage (a blocked device tensor of P
 *      physical channels) and a slot per logical channel. Splits are views
 *      of their input; a concat's or shuffle's input is written straight
 *      into the output's storage (at permuted slots: the shuffle costs
 *      nothing) when its producer is a 1x1 conv (it stores through a slot
 *      table, or to a block range), a pool (to a block range) or another
 *      folded concat/shuffle. A 1x1 or KxK conv reads any slot layout: its
 *      weights are laid out over the physical input channels, zero where a
 *      slot holds no data of this input, and the packer skips all-zero
 *      blocks. A concat input that cannot be written in place (a split view
 *      of an earlier tensor: ShuffleNet V2's pass-through half) is copied by
 *      the 1x1 conv launch that writes the other half (pwconv's PASS rows),
 *      else by a slot-gather kernel.
 *   3. Steps: one op per launch, created and reshaped.
 *   4. Memory: storages whose step ranges do not overlap share a buffer
 *      (greedy, largest first); graph inputs keep their own.
 *   5. Run: every step enqueued in order, no host synchronisation. */
#include "graph_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { AL_NONE = 0, AL_SHUF, AL_CAT, AL_SPLIT };

typedef struct pval {
    mcl_shape shape;   /* logical */
    int producer;      /* working node, -1 = graph input */
    int consumers;     /* node inputs reading it (+1 if a graph output) */
    int is_input, is_output;
    int alias, parent; /* AL_*, value it aliases */
    uint32_t off, groups;
    int storage;       /* resolved */
    int32_t *slot;     /* [c] physical slot of each logical channel */
} pval;

typedef struct pstore {
    uint32_t P; /* physical channels, a multiple of the block */
    mcl_shape shape;
    int first, last; /* steps */
    int dedicated;   /* graph input: never shared */
    int nchw;        /* plain NCHW (an image read only by KxK convs), P = C */
    int unused;      /* no step touches it (an intermediate fused away) */
    int writers;     /* steps writing it */
    uint8_t *covered;
    size_t buffer;
    mcl_tensor *t;
} pstore;

typedef struct pstep {
    const char *name;
    char fused[48];
    mcl_op *op;
    int in_store, res_store, out_store, pass_store; /* -1 none */
    cl_event ev;
    double time_ms;
    uint64_t t0, t1;
    mcl_conv_ext *ext; /* a 1x1 conv's output extension, until its op is final */
    int pw;            /* a 1x1 conv (may carry pass rows) */
    uint32_t in_c;     /* channels the op is reshaped with (0: the input storage's P) */
    double flops;      /* of the graph node (logical channels); 0: the op's own count */
    /* pass / gather table under construction */
    int32_t *psrc, *pdst;
    uint32_t npass, cap;
    int node;
} pstep;

struct mcl_plan {
    mcl_context *ctx;
    mcl_gnode *nodes; /* working copy */
    size_t n_nodes;
    pval *vals;
    size_t n_vals;
    pstore *stores;
    size_t n_stores;
    pstep *steps;
    size_t n_steps, cap_steps;
    cl_mem *buffers;
    uint64_t *buf_bytes;
    size_t n_buffers;
    mcl_value inputs[MCL_GRAPH_MAX_IO], outputs[MCL_GRAPH_MAX_IO];
    size_t n_inputs, n_outputs;
    mcl_tensor *in_io[MCL_GRAPH_MAX_IO], *out_io[MCL_GRAPH_MAX_IO];
    int out_store[MCL_GRAPH_MAX_IO];
    uint32_t disable;
    int quick; /* mcl_plan_options.quick */
    mcl_plan_stats stats;
    char (*fused)[48]; /* per working node */
    uint8_t *done;     /* per working node: already emitted by a fused step */
};

static uint32_t rup(uint32_t c, uint32_t b) { return (c + b - 1) / b * b; }

/* ---- 1. IR passes ---- */

static mcl_status copy_nodes(mcl_plan *p, const mcl_graph *g)
{
    p->nodes = calloc(g->n_nodes ? g->n_nodes : 1, sizeof *p->nodes);
    p->fused = calloc(g->n_nodes ? g->n_nodes : 1, sizeof *p->fused);
    if (!p->nodes || !p->fused)
        return mcl_fail(p->ctx, MCL_STATUS_OUT_OF_MEMORY, "plan nodes");
    for (size_t i = 0; i < g->n_nodes; i++) {
        const mcl_gnode *s = &g->nodes[i];
        mcl_gnode *d = &p->nodes[p->n_nodes++];
        *d = *s;
        d->w = d->b = d->gamma = d->beta = d->mean = d->var = NULL;
        size_t nl = strlen(s->name) + 1;
        if (!(d->name = malloc(nl)))
            return mcl_fail(p->ctx, MCL_STATUS_OUT_OF_MEMORY, "plan: node name");
        memcpy(d->name, s->name, nl);
        size_t c = g->values[s->in[0]].shape.c;
        if (s->kind == MCL_NODE_CONV2D) {
            size_t nw = (size_t)s->conv.out_channels * (s->conv.in_channels / s->conv.groups) * s->conv.kernel_h *
                        s->conv.kernel_w;
            d->w = mcl_gdup(s->w, nw);
            d->b = calloc(s->conv.out_channels, sizeof *d->b); /* always a bias: BN folds into it */
            if (d->b && s->b)
                memcpy(d->b, s->b, s->conv.out_channels * sizeof *d->b);
            if (!d->w || !d->b)
                return mcl_fail(p->ctx, MCL_STATUS_OUT_OF_MEMORY, "plan: conv weights of '%s'", s->name);
        } else if (s->kind == MCL_NODE_FC) {
            d->w = mcl_gdup(s->w, (size_t)s->fc.in_features * s->fc.out_features);
            d->b = mcl_gdup(s->b, s->fc.out_features);
            if (!d->w)
                return mcl_fail(p->ctx, MCL_STATUS_OUT_OF_MEMORY, "plan: fc weights of '%s'", s->name);
        } else if (s->kind == MCL_NODE_BATCHNORM) {
            d->gamma = mcl_gdup(s->gamma, c);
            d->beta = mcl_gdup(s->beta, c);
            d->mean = mcl_gdup(s->mean, c);
            d->var = mcl_gdup(s->var, c);
            if (!d->gamma || !d->beta || !d->mean || !d->var)
                return mcl_fail(p->ctx, MCL_STATUS_OUT_OF_MEMORY, "plan: batchnorm of '%s'", s->name);
        }
    }
    return MCL_STATUS_OK;
}

/* Consumers of each value in the working graph (removed nodes have n_out 0). */
static void count_consumers(mcl_plan *p)
{
    for (size_t v = 0; v < p->n_vals; v++)
        p->vals[v].consumers = p->vals[v].is_output;
    for (size_t i = 0; i < p->n_nodes; i++)
        for (size_t k = 0; k < p->nodes[i].n_in; k++)
            p->vals[p->nodes[i].in[k]].consumers++;
}

/* Node i is dropped: its output value becomes `keep`'s output. Consumers
 * of node i's output now read value `by`. */
static void redirect(mcl_plan *p, mcl_value from, mcl_value to)
{
    for (size_t i = 0; i < p->n_nodes; i++)
        for (size_t k = 0; k < p->nodes[i].n_in; k++)
            if (p->nodes[i].in[k] == from)
                p->nodes[i].in[k] = to;
    for (size_t o = 0; o < p->n_outputs; o++)
        if (p->outputs[o] == from)
            p->outputs[o] = to;
}

static void drop_node(mcl_plan *p, size_t i)
{
    mcl_gnode *n = &p->nodes[i];
    free(n->w);
    free(n->b);
    free(n->gamma);
    free(n->beta);
    free(n->mean);
    free(n->var);
    n->w = n->b = n->gamma = n->beta = n->mean = n->var = NULL;
    n->n_in = n->n_out = 0;
}

static void add_fused(mcl_plan *p, int node, const char *what)
{
    char *f = p->fused[node];
    size_t len = strlen(f);
    snprintf(f + len, 48 - len, "%s%s", len ? "+" : "", what);
}

/* The producer node of v if it is a live conv whose only consumer is the
 * node reading v, with no activation yet. */
static int sole_conv(mcl_plan *p, mcl_value v, int need_no_res)
{
    int pr = p->vals[v].producer;
    if (pr < 0 || p->vals[v].consumers != 1)
        return -1;
    mcl_gnode *n = &p->nodes[pr];
    if (n->kind != MCL_NODE_CONV2D || !n->n_out || n->conv.activation != MCL_ACT_NONE)
        return -1;
    if (need_no_res && n->conv.residual)
        return -1;
    return pr;
}

static void set_producer(mcl_plan *p, int node, mcl_value v)
{
    p->nodes[node].out[0] = v;
    p->vals[v].producer = node;
}

static void pass_fold_bn(mcl_plan *p)
{
    count_consumers(p);
    for (size_t i = 0; i < p->n_nodes; i++) {
        mcl_gnode *n = &p->nodes[i];
        if (n->kind != MCL_NODE_BATCHNORM || !n->n_out)
            continue;
        int c = sole_conv(p, n->in[0], 1);
        if (c < 0)
            continue;
        mcl_gnode *cv = &p->nodes[c];
        const uint32_t oc = cv->conv.out_channels;
        const size_t per = (size_t)(cv->conv.in_channels / cv->conv.groups) * cv->conv.kernel_h * cv->conv.kernel_w;
        for (uint32_t o = 0; o < oc; o++) {
            double s = n->gamma[o] / sqrt((double)n->var[o] + n->eps);
            for (size_t k = 0; k < per; k++)
                cv->w[o * per + k] = (float)(cv->w[o * per + k] * s);
            cv->b[o] = (float)((cv->b[o] - n->mean[o]) * s + n->beta[o]);
        }
        set_producer(p, c, n->out[0]);
        redirect(p, n->in[0], n->out[0]);
        add_fused(p, c, "bn");
        drop_node(p, i);
        count_consumers(p);
    }
}

static void pass_fuse_epilogue(mcl_plan *p)
{
    count_consumers(p);
    for (size_t i = 0; i < p->n_nodes; i++) {
        mcl_gnode *n = &p->nodes[i];
        if (!n->n_out)
            continue;
        if (n->kind == MCL_NODE_ACTIVATION) {
            mcl_value v = n->in[0];
            int c = sole_conv(p, v, 0);
            int pr = p->vals[v].producer;
            if (c < 0 && pr >= 0 && p->vals[v].consumers == 1 && p->nodes[pr].kind == MCL_NODE_POOL2D &&
                p->nodes[pr].pool.type != MCL_POOL_GLOBAL_AVG && p->nodes[pr].act == MCL_ACT_NONE) {
                p->nodes[pr].act = n->act;
                c = pr;
            } else if (c >= 0) {
                p->nodes[c].conv.activation = n->act;
            } else if (pr >= 0 && p->vals[v].consumers == 1 && p->nodes[pr].kind == MCL_NODE_CONCAT) {
                /* relu(concat(a, b)) = concat(relu(a), relu(b)): push into the writers */
                mcl_gnode *cat = &p->nodes[pr];
                int ok = 1;
                for (size_t k = 0; k < cat->n_in && ok; k++) {
                    int w = p->vals[cat->in[k]].producer;
                    ok = w >= 0 && p->vals[cat->in[k]].consumers == 1 &&
                         ((p->nodes[w].kind == MCL_NODE_CONV2D && p->nodes[w].conv.activation == MCL_ACT_NONE) ||
                          (p->nodes[w].kind == MCL_NODE_POOL2D && p->nodes[w].pool.type != MCL_POOL_GLOBAL_AVG &&
                           p->nodes[w].act == MCL_ACT_NONE));
                }
                if (!ok)
                    continue;
                for (size_t k = 0; k < cat->n_in; k++) {
                    int w = p->vals[cat->in[k]].producer;
                    if (p->nodes[w].kind == MCL_NODE_CONV2D)
                        p->nodes[w].conv.activation = n->act;
                    else
                        p->nodes[w].act = n->act;
                    add_fused(p, w, n->act == MCL_ACT_RELU6 ? "relu6" : "relu");
                }
                set_producer(p, pr, n->out[0]);
                redirect(p, v, n->out[0]);
                drop_node(p, i);
                count_consumers(p);
                continue;
            } else {
                continue;
            }
            set_producer(p, c, n->out[0]);
            redirect(p, v, n->out[0]);
            add_fused(p, c, n->act == MCL_ACT_RELU6 ? "relu6" : n->act == MCL_ACT_RELU ? "relu" : "id");
            drop_node(p, i);
            count_consumers(p);
        } else if (n->kind == MCL_NODE_ADD) {
            /* a conv producing either input takes the other as its residual */
            for (int k = 0; k < 2; k++) {
                int c = sole_conv(p, n->in[k], 1);
                if (c < 0 || p->vals[n->in[1 - k]].producer >= c)
                    continue; /* the residual must exist before the conv runs */
                mcl_gnode *cv = &p->nodes[c];
                cv->conv.residual = 1;
                cv->in[1] = n->in[1 - k];
                cv->n_in = 2;
                cv->conv.activation = n->act;
                set_producer(p, c, n->out[0]);
                redirect(p, n->in[k], n->out[0]);
                add_fused(p, c, "add");
                drop_node(p, i);
                count_consumers(p);
                break;
            }
        }
    }
}

/* Unfused BatchNorm / activation become depthwise 1x1 convs (scale, shift). */
static mcl_status lower_pointwise_affine(mcl_plan *p)
{
    for (size_t i = 0; i < p->n_nodes; i++) {
        mcl_gnode *n = &p->nodes[i];
        if (!n->n_out || (n->kind != MCL_NODE_BATCHNORM && n->kind != MCL_NODE_ACTIVATION))
            continue;
        uint32_t c = p->vals[n->in[0]].shape.c;
        float *w = malloc(c * sizeof *w), *b = malloc(c * sizeof *b);
        if (!w || !b) {
            free(w);
            free(b);
            return mcl_fail(p->ctx, MCL_STATUS_OUT_OF_MEMORY, "plan: affine of '%s'", n->name);
        }
        for (uint32_t k = 0; k < c; k++) {
            if (n->kind == MCL_NODE_BATCHNORM) {
                double s = n->gamma[k] / sqrt((double)n->var[k] + n->eps);
                w[k] = (float)s;
                b[k] = (float)(n->beta[k] - n->mean[k] * s);
            } else {
                w[k] = 1.0f;
                b[k] = 0.0f;
            }
        }
        mcl_activation act = n->kind == MCL_NODE_ACTIVATION ? n->act : MCL_ACT_NONE;
        strcpy(p->fused[i], n->kind == MCL_NODE_BATCHNORM ? "bn" : "act");
        drop_node(p, i);
        n->n_in = n->n_out = 1;
        n->kind = MCL_NODE_CONV2D;
        n->conv = (mcl_conv2d_desc){.in_channels = c, .out_channels = c, .groups = c, .kernel_h = 1, .kernel_w = 1,
                                    .stride_h = 1, .stride_w = 1, .activation = act};
        n->w = w;
        n->b = b;
    }
    return MCL_STATUS_OK;
}

/* ---- 2. placement ---- */

static int is_pw(const mcl_gnode *n)
{
    const mcl_conv2d_desc *d = &n->conv;
    return n->kind == MCL_NODE_CONV2D && d->kernel_h == 1 && d->kernel_w == 1 && d->stride_h == 1 &&
           d->stride_w == 1 && !d->pad_top && !d->pad_left && !d->pad_bottom && !d->pad_right &&
           !(d->groups == d->in_channels && d->groups == d->out_channels && d->groups > 1);
}

static int is_dw(const mcl_gnode *n)
{
    return n->kind == MCL_NODE_CONV2D && n->conv.groups == n->conv.in_channels &&
           n->conv.groups == n->conv.out_channels && n->conv.groups > 1;
}

/* Can value v be written straight into the storage of the node consuming it? */
static int can_alias_into(const mcl_plan *p, mcl_value v, int target_is_concat_root)
{
    const pval *x = &p->vals[v];
    if (x->is_input || x->is_output || x->consumers != 1 || x->alias != AL_NONE || x->producer < 0)
        return 0;
    const mcl_gnode *n = &p->nodes[x->producer];
    if (is_pw(n) && !n->conv.residual)
        return 1;
    if (n->kind == MCL_NODE_CONCAT || n->kind == MCL_NODE_SHUFFLE)
        return 1;
    return n->kind == MCL_NODE_POOL2D && n->pool.type != MCL_POOL_GLOBAL_AVG && target_is_concat_root;
}

static void decide_aliases(mcl_plan *p)
{
    const int views = !(p->disable & MCL_PASS_VIEWS), fold = !(p->disable & MCL_PASS_FOLD_SHUFFLE);
    count_consumers(p);
    for (size_t i = p->n_nodes; i-- > 0;) {
        const mcl_gnode *n = &p->nodes[i];
        if (!n->n_out)
            continue;
        if (n->kind == MCL_NODE_SHUFFLE && fold && can_alias_into(p, n->in[0], 0)) {
            pval *x = &p->vals[n->in[0]];
            x->alias = AL_SHUF;
            x->parent = n->out[0];
            x->groups = n->groups;
        } else if (n->kind == MCL_NODE_CONCAT && views) {
            int root = p->vals[n->out[0]].alias == AL_NONE;
            uint32_t off = 0;
            for (size_t k = 0; k < n->n_in; k++) {
                pval *x = &p->vals[n->in[k]];
                int dup = 0; /* the same value twice: one copy in place only */
                for (size_t j = 0; j < k; j++)
                    dup |= n->in[j] == n->in[k];
                if (!dup && can_alias_into(p, n->in[k], root)) {
                    x->alias = AL_CAT;
                    x->parent = n->out[0];
                    x->off = off;
                }
                off += x->shape.c;
            }
        }
    }
    /* splits: forward views */
    for (size_t i = 0; i < p->n_nodes && views; i++) {
        const mcl_gnode *n = &p->nodes[i];
        if (!n->n_out || n->kind != MCL_NODE_SPLIT)
            continue;
        uint32_t off = 0;
        for (size_t k = 0; k < n->n_out; k++) {
            pval *y = &p->vals[n->out[k]];
            y->alias = AL_SPLIT;
            y->parent = n->in[0];
            y->off = off;
            off += n->sizes[k];
        }
    }
}

static mcl_status new_store(mcl_plan *p, const mcl_shape *s, uint32_t P, int *out)
{
    pstore *st = realloc(p->stores, (p->n_stores + 1) * sizeof *st);
    if (!st)
        return mcl_fail(p->ctx, MCL_STATUS_OUT_OF_MEMORY, "plan storages");
    p->stores = st;
    pstore *x = &p->stores[p->n_stores];
    memset(x, 0, sizeof *x);
    x->P = P;
    x->shape = (mcl_shape){s->n, P, s->h, s->w};
    x->first = x->last = -1;
    x->covered = calloc(P, 1);
    if (!x->covered)
        return mcl_fail(p->ctx, MCL_STATUS_OUT_OF_MEMORY, "plan storage map");
    *out = (int)p->n_stores++;
    return MCL_STATUS_OK;
}

/* A root value's storage and slots, from its producer (inputs already placed). */
static mcl_status place_root(mcl_plan *p, mcl_value v)
{
    const uint32_t B = p->ctx->block;
    pval *x = &p->vals[v];
    const uint32_t C = x->shape.c;
    x->slot = malloc(C * sizeof *x->slot);
    if (!x->slot)
        return mcl_fail(p->ctx, MCL_STATUS_OUT_OF_MEMORY, "plan slots");
    const mcl_gnode *n = x->producer >= 0 ? &p->nodes[x->producer] : NULL;
    const pval *from = NULL; /* inherit the slot layout of this input */
    if (n && n->kind == MCL_NODE_CONV2D && n->conv.residual)
        from = &p->vals[n->in[1]];
    else if (n && (is_dw(n) || n->kind == MCL_NODE_POOL2D || n->kind == MCL_NODE_ADD))
        from = &p->vals[n->in[0]];
    if (from) {
        memcpy(x->slot, from->slot, C * sizeof *x->slot);
        return new_store(p, &x->shape, p->stores[from->storage].P, &x->storage);
    }
    uint32_t P = 0;
    const int views = !(p->disable & MCL_PASS_VIEWS), fold = !(p->disable & MCL_PASS_FOLD_SHUFFLE);
    const mcl_gnode *cat = NULL; /* ShuffleNet V2: shuffle(concat(a, b), 2) with both folded */
    if (n && n->kind == MCL_NODE_SHUFFLE && n->groups == 2 && p->vals[n->in[0]].alias == AL_SHUF) {
        int pr = p->vals[n->in[0]].producer;
        cat = pr >= 0 && p->nodes[pr].kind == MCL_NODE_CONCAT && p->nodes[pr].n_in == 2 && C % 4 == 0 &&
                      p->vals[p->nodes[pr].in[0]].shape.c == C / 2
                  ? &p->nodes[pr]
                  : NULL;
    }
    if (cat) {
        /* y[k] comes from a[k/2] (k even) or b[k/2] (k odd). Segments
         * [a lo | a hi | b hi | b lo] of C/4 each, block-aligned: a and b
         * are each one block range (plain stores), and the second half
         * of y, which the next unit's split feeds to its 1x1 conv, is the
         * middle two segments. */
        const uint32_t Q = C / 4, R = rup(Q, B);
        for (uint32_t k = 0; k < C; k++) {
            uint32_t m = k / 2;
            x->slot[k] = (int32_t)(k % 2 == 0 ? (m < Q ? m : R + m - Q) : (m >= Q ? 2 * R + m - Q : 3 * R + m));
        }
        P = 4 * R;
    } else if (n && n->kind == MCL_NODE_CONCAT && views) {
        /* one block-aligned segment per input; a pool writing in place keeps its input's layout */
        uint32_t c0 = 0;
        for (size_t k = 0; k < n->n_in; k++) {
            const pval *in = &p->vals[n->in[k]];
            const mcl_gnode *w = in->producer >= 0 ? &p->nodes[in->producer] : NULL;
            if (in->alias == AL_CAT && in->parent == v && w && w->kind == MCL_NODE_POOL2D) {
                const pval *src = &p->vals[w->in[0]];
                for (uint32_t c = 0; c < in->shape.c; c++)
                    x->slot[c0 + c] = (int32_t)P + src->slot[c];
                P += p->stores[src->storage].P;
            } else {
                for (uint32_t c = 0; c < in->shape.c; c++)
                    x->slot[c0 + c] = (int32_t)(P + c);
                P += rup(in->shape.c, B);
            }
            c0 += in->shape.c;
        }
    } else {
        /* identity; if a split reads it and writers can place freely,
         * each split part starts on a block so the part is a block range */
        const mcl_gnode *split = NULL;
        for (size_t i = 0; i < p->n_nodes && views && fold; i++)
            if (p->nodes[i].n_out && p->nodes[i].kind == MCL_NODE_SPLIT && p->nodes[i].in[0] == v)
                split = &p->nodes[i];
        if (split && n && (is_pw(n) || n->kind == MCL_NODE_SHUFFLE || n->kind == MCL_NODE_CONCAT)) {
            uint32_t c0 = 0;
            for (size_t k = 0; k < split->n_out; k++) {
                for (uint32_t c = 0; c < split->sizes[k]; c++)
                    x->slot[c0 + c] = (int32_t)(P + c);
                c0 += split->sizes[k];
                P += rup(split->sizes[k], B);
            }
        } else {
            for (uint32_t c = 0; c < C; c++)
                x->slot[c] = (int32_t)c;
            P = rup(C, B);
        }
    }
    return new_store(p, &x->shape, P, &x->storage);
}

static mcl_status resolve(mcl_plan *p, mcl_value v, int depth)
{
    pval *x = &p->vals[v];
    if (x->slot)
        return MCL_STATUS_OK;
    if (depth > 64 || x->alias == AL_NONE)
        return mcl_fail(p->ctx, MCL_STATUS_INVALID_STATE, "plan: value '%d' has no placement", (int)v);
    mcl_status st = resolve(p, x->parent, depth + 1);
    if (st != MCL_STATUS_OK)
        return st;
    const pval *y = &p->vals[x->parent];
    const uint32_t C = x->shape.c;
    if (!(x->slot = malloc(C * sizeof *x->slot)))
        return mcl_fail(p->ctx, MCL_STATUS_OUT_OF_MEMORY, "plan slots");
    x->storage = y->storage;
    if (x->alias == AL_SHUF) { /* y[k] = x[(k % g) * (C / g) + k / g] */
        const uint32_t g = x->groups, per = C / g;
        for (uint32_t k = 0; k < C; k++)
            x->slot[(k % g) * per + k / g] = y->slot[k];
    } else if (x->alias == AL_CAT) {
        memcpy(x->slot, y->slot + x->off, C * sizeof *x->slot);
    } else { /* AL_SPLIT: a view of the parent */
        memcpy(x->slot, y->slot + x->off, C * sizeof *x->slot);
    }
    return MCL_STATUS_OK;
}

static mcl_status place_all(mcl_plan *p)
{
    mcl_status st;
    for (size_t i = 0; i < p->n_inputs; i++) {
        mcl_value v = p->inputs[i];
        /* an input only KxK convs read stays NCHW: they read it as uploaded */
        int nchw = !p->vals[v].is_output;
        for (size_t k = 0; k < p->n_nodes && nchw; k++) {
            const mcl_gnode *n = &p->nodes[k];
            for (size_t j = 0; j < n->n_in; j++)
                if (n->in[j] == v)
                    nchw &= j == 0 && n->kind == MCL_NODE_CONV2D && !is_pw(n) && !is_dw(n);
        }
        pval *x = &p->vals[v];
        if (nchw) {
            if (!(x->slot = malloc(x->shape.c * sizeof *x->slot)))
                return mcl_fail(p->ctx, MCL_STATUS_OUT_OF_MEMORY, "plan slots");
            for (uint32_t c = 0; c < x->shape.c; c++)
                x->slot[c] = (int32_t)c;
            if ((st = new_store(p, &x->shape, x->shape.c, &x->storage)) != MCL_STATUS_OK)
                return st;
            p->stores[x->storage].nchw = 1;
        } else if ((st = place_root(p, v)) != MCL_STATUS_OK) {
            return st;
        }
        p->stores[x->storage].dedicated = 1;
    }
    for (size_t i = 0; i < p->n_nodes; i++) {
        const mcl_gnode *n = &p->nodes[i];
        for (size_t k = 0; k < n->n_out; k++) {
            pval *x = &p->vals[n->out[k]];
            if (x->alias == AL_SPLIT && (st = resolve(p, n->out[k], 0)) != MCL_STATUS_OK)
                return st;
            if (x->alias == AL_NONE && (st = place_root(p, n->out[k])) != MCL_STATUS_OK)
                return st;
        }
    }
    for (size_t v = 0; v < p->n_vals; v++)
        if ((p->vals[v].consumers || p->vals[v].producer >= 0 || p->vals[v].is_input) && !p->vals[v].slot &&
            p->vals[v].alias != AL_NONE && (st = resolve(p, (mcl_value)v, 0)) != MCL_STATUS_OK)
            return st;
    return MCL_STATUS_OK;
}

/* ---- 3. steps ---- */

static mcl_status new_step(mcl_plan *p, int node, pstep **out)
{
    if (p->n_steps == p->cap_steps) {
        size_t cap = p->cap_steps ? p->cap_steps * 2 : 64;
        pstep *s = realloc(p->steps, cap * sizeof *s);
        if (!s)
            return mcl_fail(p->ctx, MCL_STATUS_OUT_OF_MEMORY, "plan steps");
        p->steps = s;
        p->cap_steps = cap;
    }
    pstep *s = &p->steps[p->n_steps++];
    memset(s, 0, sizeof *s);
    s->in_store = s->res_store = s->out_store = s->pass_store = -1;
    s->node = node;
    s->name = node >= 0 ? p->nodes[node].name : "output";
    if (node >= 0)
        snprintf(s->fused, sizeof s->fused, "%s", p->fused[node]);
    s->time_ms = -1;
    *out = s;
    return MCL_STATUS_OK;
}

/* Record one channel copy (src slot, -1 = zero; dst slot) for a pass /
 * gather step; block_table turns the list into per-destination-block rows. */
static mcl_status table_push(mcl_plan *p, pstep *s, int32_t src, int32_t dst)
{
    if (s->npass == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 64;
        int32_t *a = realloc(s->psrc, cap * sizeof *a);
        if (a)
            s->psrc = a;
        int32_t *b = a ? realloc(s->pdst, cap * sizeof *b) : NULL;
        if (!a || !b)
            return mcl_fail(p->ctx, MCL_STATUS_OUT_OF_MEMORY, "plan copy table");
        s->pdst = b;
        s->cap = cap;
    }
    s->psrc[s->npass] = src;
    s->pdst[s->npass] = dst;
    s->npass++;
    return MCL_STATUS_OK;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}

/* Entries -> rows of B lanes, one row per destination block: lane l of the
 * row for block D copies into slot D*B + l (-1 where no entry): a row that
 * fills its block is stored as one vector by the kernel. */
static mcl_status block_table(mcl_plan *p, pstep *s)
{
    const uint32_t B = p->ctx->block;
    int32_t *blocks = malloc((s->npass ? s->npass : 1) * sizeof *blocks);
    if (!blocks)
        return mcl_fail(p->ctx, MCL_STATUS_OUT_OF_MEMORY, "plan copy table");
    for (uint32_t i = 0; i < s->npass; i++)
        blocks[i] = s->pdst[i] / (int32_t)B;
    qsort(blocks, s->npass, sizeof *blocks, cmp_i32);
    uint32_t nb = 0;
    for (uint32_t i = 0; i < s->npass; i++)
        if (!nb || blocks[nb - 1] != blocks[i])
            blocks[nb++] = blocks[i];
    int32_t *src = malloc((size_t)(nb ? nb : 1) * B * sizeof *src), *dst = malloc((size_t)(nb ? nb : 1) * B * sizeof *dst);
    if (!src || !dst) {
        free(blocks);
        free(src);
        free(dst);
        return mcl_fail(p->ctx, MCL_STATUS_OUT_OF_MEMORY, "plan copy table");
    }
    for (size_t i = 0; i < (size_t)nb * B; i++)
        src[i] = dst[i] = -1;
    for (uint32_t i = 0; i < s->npass; i++) {
        int32_t D = s->pdst[i] / (int32_t)B;
        uint32_t lo = 0, hi = nb; /* binary search of D */
        while (lo + 1 < hi) {
            uint32_t mid = (lo + hi) / 2;
            if (blocks[mid] <= D)
                lo = mid;
            else
                hi = mid;
        }
        size_t k = (size_t)lo * B + (uint32_t)s->pdst[i] % B;
        src[k] = s->psrc[i];
        dst[k] = s->pdst[i];
    }
    free(blocks);
    free(s->psrc);
    free(s->pdst);
    s->psrc = src;
    s->pdst = dst;
    s->npass = nb;
    return MCL_STATUS_OK;
}

static void cover(mcl_plan *p, int store, int32_t slot)
{
    if (slot >= 0 && (uint32_t)slot < p->stores[store].P)
        p->stores[store].covered[slot] = 1;
}

/* The rows a conv node n computes and where they go in its output
 * storage: a block range that only this value uses (plain stores at block
 * ext->ooff), else (scatter) its C channels compacted into rup(C, B) rows
 * with a slot table (ext->oslot, malloc'd, owned by the caller with
 * *rowmapp). rowmap[r]: the channel of row r, -1 for none. Marks the slots
 * written. Used by step_conv and try_dwpw. */
static mcl_status conv_out_rows(mcl_plan *p, const mcl_gnode *n, mcl_conv_ext *ext, int32_t **rowmapp,
                                uint32_t *rowsp)
{
    const uint32_t B = p->ctx->block;
    const pval *out = &p->vals[n->out[0]];
    const pstore *so = &p->stores[out->storage];
    const uint32_t C = out->shape.c;
    /* rows: a block range of the output storage that only this value
     * uses (plain stores at block ooff), else a slot table (scatter) */
    uint32_t lo = UINT32_MAX, hi = 0;
    for (uint32_t c = 0; c < C; c++) {
        lo = (uint32_t)out->slot[c] < lo ? (uint32_t)out->slot[c] : lo;
        hi = (uint32_t)out->slot[c] + 1 > hi ? (uint32_t)out->slot[c] + 1 : hi;
    }
    lo = lo / B * B;
    hi = rup(hi, B);
    int exclusive = 1;
    for (size_t v = 0; v < p->n_vals && exclusive; v++) {
        const pval *o = &p->vals[v];
        if ((mcl_value)v == n->out[0] || !o->slot || o->storage != out->storage || o->alias == AL_SPLIT)
            continue;
        /* values aliasing this one (or that it aliases) share its slots legitimately */
        if (o->alias != AL_NONE && o->parent == n->out[0])
            continue;
        if (out->alias != AL_NONE && (mcl_value)v == out->parent)
            continue;
        int related = 0; /* v is this value's parent, grand-parent, ... up to the root */
        for (mcl_value a = n->out[0];; a = p->vals[a].parent) {
            related |= a == (mcl_value)v;
            if (p->vals[a].alias == AL_NONE || p->vals[a].alias == AL_SPLIT)
                break;
        }
        if (related)
            continue;
        for (uint32_t c = 0; c < o->shape.c && exclusive; c++)
            exclusive = (uint32_t)o->slot[c] < lo || (uint32_t)o->slot[c] >= hi;
    }
    int monotone = 1; /* slot order follows channel order: rows keep their groups together */
    for (uint32_t c = 1; c < C && monotone; c++)
        monotone = out->slot[c] > out->slot[c - 1];
    int scatter = !exclusive || (!monotone && n->conv.groups > 1);
    if (!scatter && !is_pw(n) && (lo != 0 || hi != so->P))
        scatter = 1;
    if (scatter && !is_pw(n))
        return mcl_fail(p->ctx, MCL_STATUS_UNSUPPORTED, "plan: node '%s': a KxK conv cannot write a permuted output",
                        n->name);
    uint32_t rows = scatter ? rup(C, B) : hi - lo;
    int32_t *rowmap = malloc(rows * sizeof *rowmap), *oslot = NULL;
    if (!rowmap)
        return mcl_fail(p->ctx, MCL_STATUS_OUT_OF_MEMORY, "plan: rows of '%s'", n->name);
    for (uint32_t r = 0; r < rows; r++)
        rowmap[r] = scatter && r < C ? (int32_t)r : -1;
    if (scatter) {
        if (!(oslot = malloc(rows * sizeof *oslot))) {
            free(rowmap);
            return mcl_fail(p->ctx, MCL_STATUS_OUT_OF_MEMORY, "plan: slots of '%s'", n->name);
        }
        for (uint32_t r = 0; r < rows; r++)
            oslot[r] = r < C ? out->slot[r] : -1;
        for (uint32_t c = 0; c < C; c++)
            cover(p, out->storage, out->slot[c]);
        ext->oslot = oslot;
    } else {
        for (uint32_t c = 0; c < C; c++)
            rowmap[out->slot[c] - lo] = (int32_t)c;
        for (uint32_t k = lo; k < hi; k++)
            cover(p, out->storage, (int32_t)k);
        ext->ooff = lo / B;
    }
    ext->onb = so->P / B;
    *rowsp = rows;
    *rowmapp = rowmap;
    return MCL_STATUS_OK;
}

/* Weights of a conv over the physical input slots: [rows][P_in/g'][kh][kw]
 * with groups 1 (zeros where a slot holds another group or no data);
 * row r holds logical output channel rowmap[r] (-1: a zero row). */
static float *expand_conv(const mcl_gnode *n, const pval *in, uint32_t Pin, const int32_t *rowmap, uint32_t rows)
{
    const mcl_conv2d_desc *d = &n->conv;
    const size_t kk = (size_t)d->kernel_h * d->kernel_w, icg = d->in_channels / d->groups,
                 ocg = d->out_channels / d->groups;
    float *w = calloc((size_t)rows * Pin * kk, sizeof *w);
    if (!w)
        return NULL;
    for (uint32_t r = 0; r < rows; r++) {
        int32_t oc = rowmap[r];
        if (oc < 0)
            continue;
        size_t g = (size_t)oc / ocg;
        for (size_t i = 0; i < icg; i++) {
            size_t slot = (size_t)in->slot[g * icg + i];
            for (size_t q = 0; q < kk; q++)
                w[((size_t)r * Pin + slot) * kk + q] = n->w[((size_t)oc * icg + i) * kk + q];
        }
    }
    return w;
}

static mcl_status step_conv(mcl_plan *p, int node, pstep **made)
{
    const uint32_t B = p->ctx->block;
    mcl_gnode *n = &p->nodes[node];
    const pval *in = &p->vals[n->in[0]], *out = &p->vals[n->out[0]];
    const pstore *si = &p->stores[in->storage], *so = &p->stores[out->storage];
    const uint32_t C = out->shape.c;
    pstep *s;
    mcl_status st = new_step(p, node, &s);
    if (st != MCL_STATUS_OK)
        return st;
    *made = s;
    s->in_store = in->storage;
    s->out_store = out->storage;
    s->flops = 2.0 * out->shape.n * out->shape.c * out->shape.h * out->shape.w * (n->conv.in_channels / n->conv.groups) *
               n->conv.kernel_h * n->conv.kernel_w;
    if (n->conv.residual) {
        const pval *r = &p->vals[n->in[1]];
        if (p->stores[r->storage].P != so->P || memcmp(r->slot, out->slot, C * sizeof *r->slot))
            return mcl_fail(p->ctx, MCL_STATUS_UNSUPPORTED,
                            "plan: node '%s': the residual's channel layout differs from the output's", n->name);
        s->res_store = r->storage;
    }
    mcl_conv2d_desc d = n->conv;
    float *w = NULL, *b = NULL;
    int32_t *rowmap = NULL, *oslot = NULL;
    uint32_t rows = 0;
    mcl_conv_ext ext = {0};
    if (is_dw(n)) {
        /* per slot; the output keeps the input's layout */
        if (si->P != so->P || memcmp(in->slot, out->slot, C * sizeof *in->slot))
            return mcl_fail(p->ctx, MCL_STATUS_UNSUPPORTED, "plan: node '%s': depthwise output layout differs",
                            n->name);
        const size_t kk = (size_t)d.kernel_h * d.kernel_w;
        w = calloc((size_t)si->P * kk, sizeof *w);
        b = calloc(si->P, sizeof *b);
        if (!w || !b) {
            st = mcl_fail(p->ctx, MCL_STATUS_OUT_OF_MEMORY, "plan: weights of '%s'", n->name);
            goto done;
        }
        for (uint32_t c = 0; c < C; c++) {
            memcpy(w + (size_t)in->slot[c] * kk, n->w + c * kk, kk * sizeof *w);
            b[in->slot[c]] = n->b[c];
        }
        d.in_channels = d.out_channels = d.groups = si->P;
        d.variant = MCL_CONV_DEPTHWISE;
        for (uint32_t k = 0; k < so->P; k++)
            cover(p, out->storage, (int32_t)k);
    } else {
        if ((st = conv_out_rows(p, n, &ext, &rowmap, &rows)) != MCL_STATUS_OK)
            goto done;
        oslot = (int32_t *)ext.oslot;
        /* a KxK conv loops over input lanes: stop at the last slot with
         * data when that keeps the block count (3-channel images: 3 of 16) */
        uint32_t cin = si->P;
        if (si->nchw) {
            cin = s->in_c = si->P;
        } else if (!is_pw(n)) {
            uint32_t top = 0;
            for (uint32_t c = 0; c < in->shape.c; c++)
                top = (uint32_t)in->slot[c] + 1 > top ? (uint32_t)in->slot[c] + 1 : top;
            if (rup(top, B) == si->P)
                cin = s->in_c = top;
        }
        w = expand_conv(n, in, cin, rowmap, rows);
        b = calloc(rows, sizeof *b);
        if (!w || !b) {
            st = mcl_fail(p->ctx, MCL_STATUS_OUT_OF_MEMORY, "plan: weights of '%s'", n->name);
            goto done;
        }
        for (uint32_t r = 0; r < rows; r++)
            b[r] = rowmap[r] >= 0 ? n->b[rowmap[r]] : 0.0f;
        d.in_channels = cin;
        d.out_channels = rows;
        d.groups = 1;
        d.variant = is_pw(n) ? MCL_CONV_POINTWISE : MCL_CONV_DIRECT;
        if (!is_pw(n) && (ext.ooff || ext.onb != rows / B)) {
            st = mcl_fail(p->ctx, MCL_STATUS_UNSUPPORTED, "plan: node '%s': a KxK conv writes a whole tensor", n->name);
            goto done;
        }
    }
    if ((st = mcl_conv2d_create(p->ctx, &d, w, b, &s->op)) != MCL_STATUS_OK)
        goto done;
    if (si->nchw && (st = mcl_conv2d_set_nchw_input(s->op)) != MCL_STATUS_OK)
        goto done;
    if (d.variant == MCL_CONV_POINTWISE) {
        /* the pass table is filled later: keep the ext until steps are final */
        mcl_conv_ext *keep = malloc(sizeof *keep);
        if (!keep) {
            st = mcl_fail(p->ctx, MCL_STATUS_OUT_OF_MEMORY, "plan ext");
            goto done;
        }
        *keep = ext;
        keep->oslot = oslot;
        oslot = NULL;
        s->ext = keep;
        s->pw = 1;
    }
done:
    free(w);
    free(b);
    free(rowmap);
    free(oslot);
    return st;
}

static mcl_status step_gather(mcl_plan *p, int node, mcl_value from, uint32_t off, uint32_t count,
                              const int32_t *dst_slots, int dst_store, const uint32_t *perm)
{
    const pval *x = &p->vals[from];
    pstep *s;
    mcl_status st = new_step(p, node, &s);
    if (st != MCL_STATUS_OK)
        return st;
    s->in_store = x->storage;
    s->out_store = dst_store;
    for (uint32_t c = 0; c < count; c++) {
        int32_t src = x->slot[off + (perm ? perm[c] : c)];
        if ((st = table_push(p, s, src, dst_slots[c])) != MCL_STATUS_OK)
            return st;
        cover(p, dst_store, dst_slots[c]);
    }
    return MCL_STATUS_OK;
}

/* Depthwise node i and the 1x1 conv that alone reads it, as one dwpw
 * launch (bench/bench_dwpw.c: 1.05-1.9x the two kernels on POCL). The
 * 1x1's output is placed as step_conv places a lone 1x1 (its own tensor,
 * a block range, or a slot table into a shuffled concat) and the step can
 * carry a concat's pass rows like one. CPU devices only (the kernel keeps
 * a [C][7][16] private buffer). *made = 0: not fused. */
static mcl_status try_dwpw(mcl_plan *p, int i, int *made)
{
    const uint32_t B = p->ctx->block;
    *made = 0;
    const mcl_gnode *dn = &p->nodes[i];
    if ((p->disable & MCL_PASS_FUSE_DWPW) || p->ctx->info.is_gpu || !is_dw(dn) || dn->conv.residual ||
        dn->conv.dilation_h > 1 || dn->conv.dilation_w > 1)
        return MCL_STATUS_OK;
    const pval *in = &p->vals[dn->in[0]], *mid = &p->vals[dn->out[0]];
    if (mid->consumers != 1 || mid->is_output || mid->alias != AL_NONE || p->stores[in->storage].nchw)
        return MCL_STATUS_OK;
    int k = -1;
    for (size_t j = (size_t)i + 1; j < p->n_nodes && k < 0; j++)
        if (p->nodes[j].n_out && p->nodes[j].in[0] == dn->out[0])
            k = (int)j;
    if (k < 0)
        return MCL_STATUS_OK;
    const mcl_gnode *pn = &p->nodes[k];
    const pval *out = &p->vals[pn->out[0]];
    /* a grouped 1x1 (ShuffleNet V1) would be expanded to dense weights:
     * groups x the FMAs (measured 1.13x slower there): not fused */
    if (!is_pw(pn) || pn->conv.groups != 1 ||
        (pn->conv.residual && (p->vals[pn->in[1]].producer >= i || out->alias != AL_NONE)))
        return MCL_STATUS_OK;
    /* a 1x1 with 1024+ outputs runs better alone (pwconv's 4x4 register
     * tile): bench_dwpw, MobileNet V1's last two pairs, 0.84-0.93x fused;
     * every pair with fewer outputs in MobileNet V1/V2 and MnasNet gained */
    if (out->shape.c >= 1024)
        return MCL_STATUS_OK;
    const pstore *si = &p->stores[in->storage], *so = &p->stores[out->storage];
    if (si->P / B > 128) /* private buffer limit */
        return MCL_STATUS_OK;
    const uint32_t C = out->shape.c, P = si->P;
    if (pn->conv.residual) {
        const pval *r = &p->vals[pn->in[1]];
        if (p->stores[r->storage].P != so->P || memcmp(r->slot, out->slot, C * sizeof *r->slot))
            return MCL_STATUS_OK;
    }
    pstep *s;
    mcl_status st = new_step(p, i, &s);
    if (st != MCL_STATUS_OK)
        return st;
    /* the 1x1's rows and where they go: its own tensor, or its part of a
     * concat (ShuffleNet V2: interleaved by the folded shuffle: a slot
     * table), exactly as step_conv places a lone 1x1 */
    mcl_conv_ext ext = {0};
    uint32_t rows = 0;
    int32_t *rowmap = NULL;
    float *wd = NULL, *bd = NULL, *bp = NULL, *wp = NULL;
    if ((st = conv_out_rows(p, pn, &ext, &rowmap, &rows)) != MCL_STATUS_OK)
        goto done;
    s->in_store = in->storage;
    s->out_store = out->storage;
    s->res_store = pn->conv.residual ? p->vals[pn->in[1]].storage : -1;
    snprintf(s->fused, sizeof s->fused, "%s|%s", p->fused[i], p->fused[k]);
    s->flops = 2.0 * out->shape.n * mid->shape.h * mid->shape.w *
               ((double)mid->shape.c * dn->conv.kernel_h * dn->conv.kernel_w + (double)mid->shape.c * C);
    const size_t kk = (size_t)dn->conv.kernel_h * dn->conv.kernel_w;
    wd = calloc((size_t)P * kk, sizeof *wd), bd = calloc(P, sizeof *bd), bp = calloc(rows, sizeof *bp);
    if (!wd || !bd || !bp) {
        st = mcl_fail(p->ctx, MCL_STATUS_OUT_OF_MEMORY, "plan: dwpw weights");
        goto done;
    }
    for (uint32_t c = 0; c < mid->shape.c; c++) {
        memcpy(wd + (size_t)in->slot[c] * kk, dn->w + c * kk, kk * sizeof *wd);
        bd[in->slot[c]] = dn->b[c];
    }
    for (uint32_t r = 0; r < rows; r++)
        bp[r] = rowmap[r] >= 0 ? pn->b[rowmap[r]] : 0.0f;
    if (!(wp = expand_conv(pn, mid, P, rowmap, rows))) { /* mid's slots = in's slots */
        st = mcl_fail(p->ctx, MCL_STATUS_OUT_OF_MEMORY, "plan: dwpw weights");
        goto done;
    }
    mcl_conv2d_desc dd = dn->conv, pd = pn->conv;
    dd.in_channels = dd.out_channels = dd.groups = P;
    pd.in_channels = P;
    pd.out_channels = rows;
    pd.groups = 1;
    if ((st = mcl_dwpw_create(p->ctx, &dd, wd, bd, &pd, wp, bp, &s->op)) != MCL_STATUS_OK)
        goto done;
    /* like a lone 1x1: the pass table is filled later (concat copies) */
    mcl_conv_ext *keep = malloc(sizeof *keep);
    if (!keep) {
        st = mcl_fail(p->ctx, MCL_STATUS_OUT_OF_MEMORY, "plan ext");
        goto done;
    }
    *keep = ext;
    ext.oslot = NULL;
    s->ext = keep;
    s->pw = 1;
    p->done[k] = 1;
    *made = 1;
done:
    free(wd);
    free(bd);
    free(bp);
    free(wp);
    free(rowmap);
    free((void *)ext.oslot);
    return st;
}

static mcl_status build_steps(mcl_plan *p)
{
    const uint32_t B = p->ctx->block;
    mcl_status st = MCL_STATUS_OK;
    int32_t *tmp = NULL;
    uint32_t *perm = NULL;
    for (size_t i = 0; i < p->n_nodes && st == MCL_STATUS_OK; i++) {
        mcl_gnode *n = &p->nodes[i];
        if (!n->n_out)
            continue;
        const pval *in = &p->vals[n->in[0]], *out = &p->vals[n->out[0]];
        pstep *s = NULL;
        if (p->done[i])
            continue;
        switch (n->kind) {
        case MCL_NODE_CONV2D: {
            int made = 0;
            if ((st = try_dwpw(p, (int)i, &made)) == MCL_STATUS_OK && !made)
                st = step_conv(p, (int)i, &s);
            break;
        }
        case MCL_NODE_POOL2D: {
            const pstore *si = &p->stores[in->storage], *so = &p->stores[out->storage];
            if ((st = new_step(p, (int)i, &s)) != MCL_STATUS_OK)
                break;
            s->in_store = in->storage;
            s->out_store = out->storage;
            uint32_t ooff = out->alias == AL_CAT ? (uint32_t)out->slot[0] / B : 0; /* in place: a block range */
            if (out->alias == AL_CAT && (out->slot[0] - in->slot[0]) % (int32_t)B) {
                st = mcl_fail(p->ctx, MCL_STATUS_INVALID_STATE, "plan: pool '%s' segment not block aligned", n->name);
                break;
            }
            if (out->alias == AL_CAT)
                ooff = (uint32_t)(out->slot[0] - in->slot[0]) / B;
            for (uint32_t k = 0; k < si->P; k++)
                cover(p, out->storage, (int32_t)(ooff * B + k));
            if ((st = mcl_pool2d_create(p->ctx, &n->pool, &s->op)) == MCL_STATUS_OK)
                st = mcl_pool2d_set_ext(s->op, n->act, out->alias == AL_CAT ? so->P / B : 0, ooff);
            break;
        }
        case MCL_NODE_ADD: {
            const pval *bv = &p->vals[n->in[1]];
            int bstore = bv->storage;
            if (p->stores[bv->storage].P != p->stores[in->storage].P ||
                memcmp(bv->slot, in->slot, in->shape.c * sizeof *in->slot)) {
                /* different channel layouts: gather b into a's layout first */
                if ((st = new_store(p, &bv->shape, p->stores[in->storage].P, &bstore)) != MCL_STATUS_OK ||
                    (st = step_gather(p, (int)i, n->in[1], 0, bv->shape.c, in->slot, bstore, NULL)) != MCL_STATUS_OK)
                    break;
                in = &p->vals[n->in[0]];
                out = &p->vals[n->out[0]];
            }
            if ((st = new_step(p, (int)i, &s)) != MCL_STATUS_OK)
                break;
            s->in_store = in->storage;
            s->res_store = bstore;
            s->out_store = out->storage;
            for (uint32_t k = 0; k < p->stores[out->storage].P; k++)
                cover(p, out->storage, (int32_t)k);
            mcl_add_desc d = {n->act};
            st = mcl_add_create(p->ctx, &d, &s->op);
            break;
        }
        case MCL_NODE_FC: {
            const pstore *si = &p->stores[in->storage];
            const size_t hw = (size_t)in->shape.h * in->shape.w, inf = (size_t)si->P * hw;
            float *w = calloc(inf * n->fc.out_features, sizeof *w);
            if (!w) {
                st = mcl_fail(p->ctx, MCL_STATUS_OUT_OF_MEMORY, "plan: fc weights of '%s'", n->name);
                break;
            }
            for (size_t o = 0; o < n->fc.out_features; o++)
                for (uint32_t c = 0; c < in->shape.c; c++)
                    memcpy(w + o * inf + (size_t)in->slot[c] * hw, n->w + o * n->fc.in_features + c * hw,
                           hw * sizeof *w);
            mcl_fc_desc d = n->fc;
            d.in_features = (uint32_t)inf;
            if ((st = new_step(p, (int)i, &s)) == MCL_STATUS_OK) {
                s->in_store = in->storage;
                s->out_store = out->storage;
                for (uint32_t k = 0; k < p->stores[out->storage].P; k++)
                    cover(p, out->storage, (int32_t)k);
                st = mcl_fc_create(p->ctx, &d, w, n->b, &s->op);
            }
            free(w);
            break;
        }
        case MCL_NODE_SOFTMAX:
            for (uint32_t c = 0; c < in->shape.c; c++)
                if (in->slot[c] != (int32_t)c || p->stores[in->storage].P != rup(in->shape.c, B)) {
                    st = mcl_fail(p->ctx, MCL_STATUS_UNSUPPORTED, "plan: softmax '%s' needs a plain channel layout",
                                  n->name);
                    break;
                }
            if (st != MCL_STATUS_OK || (st = new_step(p, (int)i, &s)) != MCL_STATUS_OK)
                break;
            s->in_store = in->storage;
            s->out_store = out->storage;
            for (uint32_t k = 0; k < p->stores[out->storage].P; k++)
                cover(p, out->storage, (int32_t)k);
            st = mcl_softmax_create(p->ctx, &s->op);
            break;
        case MCL_NODE_SPLIT: {
            uint32_t off = 0;
            for (size_t k = 0; k < n->n_out && st == MCL_STATUS_OK; k++) {
                const pval *y = &p->vals[n->out[k]];
                if (y->alias != AL_SPLIT)
                    st = step_gather(p, (int)i, n->in[0], off, y->shape.c, y->slot, y->storage, NULL);
                off += n->sizes[k];
            }
            break;
        }
        case MCL_NODE_SHUFFLE: {
            if (in->alias == AL_SHUF)
                break; /* folded */
            const uint32_t C = in->shape.c, g = n->groups, per = C / g;
            free(perm);
            if (!(perm = malloc(C * sizeof *perm))) {
                st = mcl_fail(p->ctx, MCL_STATUS_OUT_OF_MEMORY, "plan shuffle");
                break;
            }
            for (uint32_t k = 0; k < C; k++)
                perm[k] = (k % g) * per + k / g;
            st = step_gather(p, (int)i, n->in[0], 0, C, out->slot, out->storage, perm);
            break;
        }
        case MCL_NODE_CONCAT: {
            uint32_t off = 0;
            for (size_t k = 0; k < n->n_in && st == MCL_STATUS_OK; k++) {
                const pval *x = &p->vals[n->in[k]];
                if (!(x->alias == AL_CAT && x->parent == n->out[0] && x->off == off)) {
                    /* copy: by the 1x1 conv writing another part of this
                     * storage after x exists (pass rows), else a gather */
                    pstep *host = NULL;
                    for (size_t j = 0; j < p->n_steps; j++) {
                        pstep *c = &p->steps[j];
                        if (c->out_store == out->storage && c->ext && c->node > x->producer)
                            host = c;
                    }
                    if (host && !(p->disable & MCL_PASS_VIEWS)) {
                        if (host->pass_store >= 0 && host->pass_store != x->storage)
                            host = NULL;
                    } else {
                        host = NULL;
                    }
                    if (host) {
                        host->pass_store = x->storage;
                        for (uint32_t c = 0; c < x->shape.c && st == MCL_STATUS_OK; c++) {
                            st = table_push(p, host, x->slot[c], out->slot[off + c]);
                            cover(p, out->storage, out->slot[off + c]);
                        }
                        add_fused(p, host->node, "copy");
                        snprintf(host->fused, sizeof host->fused, "%s", p->fused[host->node]);
                    } else {
                        st = step_gather(p, (int)i, n->in[k], 0, x->shape.c, out->slot + off, out->storage, NULL);
                    }
                }
                off += x->shape.c;
            }
            break;
        }
        default:
            st = mcl_fail(p->ctx, MCL_STATUS_UNSUPPORTED, "plan: node '%s' of kind %d has no kernel", n->name,
                          (int)n->kind);
        }
    }
    free(tmp);
    free(perm);
    return st;
}

/* Outputs with a plain layout are read in place; others are gathered. */
static mcl_status output_steps(mcl_plan *p)
{
    const uint32_t B = p->ctx->block;
    for (size_t o = 0; o < p->n_outputs; o++) {
        pval *x = &p->vals[p->outputs[o]];
        int plain = p->stores[x->storage].P == rup(x->shape.c, B) && !p->stores[x->storage].dedicated;
        for (uint32_t c = 0; c < x->shape.c && plain; c++)
            plain = x->slot[c] == (int32_t)c;
        if (plain) {
            p->out_store[o] = x->storage;
            continue;
        }
        int s;
        mcl_status st = new_store(p, &x->shape, rup(x->shape.c, B), &s);
        if (st != MCL_STATUS_OK)
            return st;
        int32_t *ident = malloc(x->shape.c * sizeof *ident);
        if (!ident)
            return mcl_fail(p->ctx, MCL_STATUS_OUT_OF_MEMORY, "plan output");
        for (uint32_t c = 0; c < x->shape.c; c++)
            ident[c] = (int32_t)c;
        st = step_gather(p, -1, p->outputs[o], 0, x->shape.c, ident, s, NULL);
        free(ident);
        if (st != MCL_STATUS_OK)
            return st;
        p->out_store[o] = s;
    }
    return MCL_STATUS_OK;
}

/* Slots no step writes (padding between segments) must still read as 0:
 * a zero-writing lane goes to the last table-carrying or 1x1 step. */
static mcl_status cover_pads(mcl_plan *p)
{
    for (size_t k = 0; k < p->n_stores; k++) {
        pstore *s = &p->stores[k];
        int used = 0; /* a fused-away intermediate has no step at all */
        for (size_t j = 0; j < p->n_steps && !used; j++)
            used = p->steps[j].out_store == (int)k || p->steps[j].in_store == (int)k ||
                   p->steps[j].res_store == (int)k || p->steps[j].pass_store == (int)k;
        for (size_t o = 0; o < p->n_outputs && !used; o++)
            used = p->out_store[o] == (int)k;
        s->unused = !used;
        if (s->dedicated || s->unused)
            continue;
        pstep *host = NULL;
        for (size_t j = 0; j < p->n_steps; j++)
            if (p->steps[j].out_store == (int)k && (p->steps[j].ext || !p->steps[j].op))
                host = &p->steps[j];
        for (uint32_t c = 0; c < s->P; c++) {
            if (s->covered[c])
                continue;
            if (!host)
                return mcl_fail(p->ctx, MCL_STATUS_INVALID_STATE, "plan: slot %u of a storage is never written", c);
            mcl_status st = table_push(p, host, -1, (int32_t)c);
            if (st != MCL_STATUS_OK)
                return st;
            if (host->pass_store < 0 && host->pw)
                host->pass_store = host->in_store;
            s->covered[c] = 1;
        }
    }
    return MCL_STATUS_OK;
}

/* ---- 4. memory ---- */

static uint64_t store_bytes(const pstore *s)
{
    if (s->unused)
        return 0;
    return (uint64_t)s->shape.n * s->P * s->shape.h * s->shape.w * sizeof(float);
}

static void touch(pstore *s, int step)
{
    if (s->first < 0 || step < s->first)
        s->first = step;
    if (step > s->last)
        s->last = step;
}

static mcl_status plan_memory(mcl_plan *p)
{
    const int n = (int)p->n_steps;
    for (int i = 0; i < n; i++) {
        pstep *s = &p->steps[i];
        int use[4] = {s->in_store, s->res_store, s->out_store, s->pass_store};
        for (int k = 0; k < 4; k++)
            if (use[k] >= 0)
                touch(&p->stores[use[k]], i);
    }
    for (size_t k = 0; k < p->n_stores; k++) {
        pstore *s = &p->stores[k];
        if (s->dedicated)
            s->first = 0;
        if (s->first < 0)
            s->first = s->last = 0;
    }
    for (size_t o = 0; o < p->n_outputs; o++)
        p->stores[p->out_store[o]].last = n > 0 ? n - 1 : 0;
    /* naive and lower bound */
    uint64_t naive = 0, lb = 0;
    for (size_t k = 0; k < p->n_stores; k++)
        naive += store_bytes(&p->stores[k]);
    for (int i = 0; i < (n > 0 ? n : 1); i++) {
        uint64_t live = 0;
        for (size_t k = 0; k < p->n_stores; k++)
            if (p->stores[k].first <= i && i <= p->stores[k].last)
                live += store_bytes(&p->stores[k]);
        lb = live > lb ? live : lb;
    }
    /* greedy: largest first, into the first buffer free over its range */
    size_t *order = malloc(p->n_stores * sizeof *order);
    p->buf_bytes = calloc(p->n_stores, sizeof *p->buf_bytes);
    p->buffers = calloc(p->n_stores, sizeof *p->buffers);
    if (!order || !p->buf_bytes || !p->buffers) {
        free(order);
        return mcl_fail(p->ctx, MCL_STATUS_OUT_OF_MEMORY, "plan memory");
    }
    for (size_t k = 0; k < p->n_stores; k++)
        order[k] = k;
    for (size_t a = 1; a < p->n_stores; a++) /* insertion sort by bytes, descending */
        for (size_t b = a; b > 0 && store_bytes(&p->stores[order[b]]) > store_bytes(&p->stores[order[b - 1]]); b--) {
            size_t t = order[b];
            order[b] = order[b - 1];
            order[b - 1] = t;
        }
    const int share = !(p->disable & MCL_PASS_SHARE_BUFFERS);
    for (size_t a = 0; a < p->n_stores; a++) {
        pstore *s = &p->stores[order[a]];
        if (s->unused) {
            s->buffer = SIZE_MAX;
            continue;
        }
        size_t buf = p->n_buffers;
        for (size_t b = 0; b < p->n_buffers && share && !s->dedicated; b++) {
            int ok = 1;
            for (size_t c = 0; c < a && ok; c++) {
                const pstore *o = &p->stores[order[c]];
                if (!o->unused && o->buffer == b && (o->dedicated || !(o->last < s->first || s->last < o->first)))
                    ok = 0;
            }
            if (ok) {
                buf = b;
                break;
            }
        }
        if (buf == p->n_buffers)
            p->n_buffers++;
        s->buffer = buf;
        uint64_t need = store_bytes(s);
        if (need > p->buf_bytes[buf])
            p->buf_bytes[buf] = need;
    }
    free(order);
    /* refuse what the device cannot hold before allocating anything (a
     * model may claim an enormous tensor; the driver may not refuse it) */
    const mcl_device_info *di = &p->ctx->info;
    uint64_t total = 0;
    for (size_t b = 0; b < p->n_buffers; b++) {
        if (di->max_alloc_bytes && p->buf_bytes[b] > di->max_alloc_bytes)
            return mcl_fail(p->ctx, MCL_STATUS_OUT_OF_MEMORY,
                            "plan: activation buffer %zu needs %llu bytes, more than the device's largest allocation "
                            "(CL_DEVICE_MAX_MEM_ALLOC_SIZE %llu)",
                            b, (unsigned long long)p->buf_bytes[b], (unsigned long long)di->max_alloc_bytes);
        total += p->buf_bytes[b];
    }
    if (di->global_mem_bytes && total > di->global_mem_bytes)
        return mcl_fail(p->ctx, MCL_STATUS_OUT_OF_MEMORY,
                        "plan: activation buffers need %llu bytes, more than the device's memory "
                        "(CL_DEVICE_GLOBAL_MEM_SIZE %llu)",
                        (unsigned long long)total, (unsigned long long)di->global_mem_bytes);
    uint64_t peak = 0;
    for (size_t b = 0; b < p->n_buffers; b++) {
        cl_int err = CL_SUCCESS;
        if (p->buf_bytes[b] > SIZE_MAX)
            return mcl_fail(p->ctx, MCL_STATUS_OVERFLOW, "plan: a %llu-byte buffer does not fit this platform's size_t",
                            (unsigned long long)p->buf_bytes[b]);
        p->buffers[b] = p->ctx->cl->clCreateBuffer(p->ctx->context, CL_MEM_READ_WRITE, (size_t)p->buf_bytes[b], NULL,
                                                   &err);
        if (!p->buffers[b] || err != CL_SUCCESS) {
            p->buffers[b] = NULL;
            return mcl_cl_fail(p->ctx, err, "clCreateBuffer for a plan buffer");
        }
        peak += p->buf_bytes[b];
    }
    for (size_t k = 0; k < p->n_stores; k++) {
        if (p->stores[k].unused)
            continue;
        mcl_status st = mcl_tensor_wrap(p->ctx, p->buffers[p->stores[k].buffer], &p->stores[k].shape,
                                        p->stores[k].nchw ? MCL_LAYOUT_NCHW : MCL_LAYOUT_BLOCKED, &p->stores[k].t);
        if (st != MCL_STATUS_OK)
            return st;
    }
    p->stats.peak_bytes = peak;
    p->stats.naive_bytes = naive;
    p->stats.lower_bound = lb;
    p->stats.buffers = p->n_buffers;
    return MCL_STATUS_OK;
}

/* ---- 5. ops: extensions, reshape, bind ---- */

/* Reshape every step's op with program builds deferred, build the
 * programs they asked for as one bundle (mcl_programs_defer), then create
 * the kernels and bind the ops to their tensors. */
static mcl_status reshape_steps(mcl_plan *p);
static mcl_status finish_steps(mcl_plan *p)
{
    mcl_programs_defer(p->ctx);
    p->ctx->quick = p->quick;
    mcl_status st = reshape_steps(p);
    p->ctx->quick = 0;
    mcl_status fst = mcl_programs_flush(p->ctx, st == MCL_STATUS_OK);
    if (st != MCL_STATUS_OK)
        return st;
    if (fst != MCL_STATUS_OK)
        return fst;
    for (size_t i = 0; i < p->n_steps; i++) {
        pstep *s = &p->steps[i];
        mcl_tensor *in = p->stores[s->in_store].t, *out = p->stores[s->out_store].t;
        mcl_tensor *res = s->res_store >= 0 ? p->stores[s->res_store].t : NULL;
        if ((st = mcl_op_kernel_resolve(s->op)) != MCL_STATUS_OK)
            return st;
        if (s->pw && s->pass_store >= 0)
            mcl_conv2d_bind_pass(s->op, p->stores[s->pass_store].t);
        if ((st = mcl_op_bind(s->op, in, res, out)) != MCL_STATUS_OK)
            return st;
    }
    return MCL_STATUS_OK;
}

static mcl_status reshape_steps(mcl_plan *p)
{
    for (size_t i = 0; i < p->n_steps; i++) {
        pstep *s = &p->steps[i];
        mcl_status st;
        if (s->npass && (st = block_table(p, s)) != MCL_STATUS_OK)
            return st;
        if (!s->op) { /* a slot gather */
            if ((st = mcl_slot_gather_create(p->ctx, s->psrc, s->pdst, s->npass, &s->op)) != MCL_STATUS_OK)
                return st;
        } else if (s->ext) {
            mcl_conv_ext *e = s->ext;
            e->psrc = s->psrc;
            e->pdst = s->pdst;
            e->npass = s->npass;
            st = mcl_conv2d_set_ext(s->op, e);
            free((void *)e->oslot);
            free(e);
            s->ext = NULL;
            if (st != MCL_STATUS_OK)
                return st;
        }
        mcl_tensor *in = p->stores[s->in_store].t;
        mcl_tensor *res = s->res_store >= 0 ? p->stores[s->res_store].t : NULL;
        mcl_shape ishape[2] = {in->shape, res ? res->shape : in->shape}, oshape;
        int two = s->op->vt->max_in == 2 && res; /* add: two data inputs */
        if (s->node >= 0 && p->nodes[s->node].kind == MCL_NODE_SOFTMAX)
            ishape[0].c = p->vals[p->nodes[s->node].in[0]].shape.c;
        if (s->in_c)
            ishape[0].c = s->in_c;
        if ((st = mcl_op_reshape(s->op, two ? 2 : 1, ishape, &oshape)) != MCL_STATUS_OK)
            return st;
        free(s->psrc);
        free(s->pdst);
        s->psrc = s->pdst = NULL;
        p->stats.kernels++;
        if (!strcmp(s->op->vt->kind, "gather"))
            p->stats.shuffle_kernels++;
    }
    return MCL_STATUS_OK;
}

/* ---- public ---- */

void mcl_plan_destroy(mcl_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_steps; i++) {
        pstep *s = &p->steps[i];
        if (s->ev)
            p->ctx->cl->clReleaseEvent(s->ev);
        mcl_op_destroy(s->op);
        if (s->ext) {
            free((void *)s->ext->oslot);
            free(s->ext);
        }
        free(s->psrc);
        free(s->pdst);
    }
    for (size_t k = 0; k < p->n_stores; k++) {
        mcl_tensor_destroy(p->stores[k].t);
        free(p->stores[k].covered);
    }
    for (size_t i = 0; i < MCL_GRAPH_MAX_IO; i++) {
        mcl_tensor_destroy(p->in_io[i]);
        mcl_tensor_destroy(p->out_io[i]);
    }
    for (size_t b = 0; b < p->n_buffers; b++)
        mcl_buffer_release(p->ctx, &p->buffers[b]);
    for (size_t i = 0; i < p->n_nodes; i++) {
        drop_node(p, i);
        free(p->nodes[i].name);
    }
    for (size_t v = 0; v < p->n_vals; v++)
        free(p->vals[v].slot);
    free(p->vals);
    free(p->nodes);
    free(p->fused);
    free(p->done);
    free(p->stores);
    free(p->steps);
    free(p->buffers);
    free(p->buf_bytes);
    free(p);
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

mcl_status mcl_plan_create(mcl_context *ctx, const mcl_graph *g, const mcl_plan_options *opt, mcl_plan **out)
{
    mcl_clear_error();
    if (!out)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "plan output pointer is NULL");
    *out = NULL;
    if (!ctx || !g)
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "plan: %s is NULL", !ctx ? "context" : "graph");
    mcl_status st = mcl_graph_validate(g);
    if (st != MCL_STATUS_OK)
        return st;
    if (opt && (opt->disable & ~(uint32_t)MCL_PASS_ALL))
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "plan: disable mask 0x%x has bits outside MCL_PASS_ALL 0x%x",
                        opt->disable, (unsigned)MCL_PASS_ALL);
    /* a value the device cannot hold at all is refused before anything is
     * built or allocated (plan_memory checks the buffers it makes too) */
    for (size_t v = 0; v < g->n_values && ctx->info.max_alloc_bytes; v++) {
        const mcl_shape *sh = &g->values[v].shape;
        uint64_t bytes = (uint64_t)mcl_tensor_floats(sh, MCL_LAYOUT_BLOCKED, ctx->block) * sizeof(float);
        if (bytes > ctx->info.max_alloc_bytes)
            return mcl_fail(ctx, MCL_STATUS_OUT_OF_MEMORY,
                            "plan: value '%s' (%ux%ux%ux%u) needs %llu bytes, more than the device's largest "
                            "allocation (CL_DEVICE_MAX_MEM_ALLOC_SIZE %llu)",
                            mcl_graph_value_name(g, (mcl_value)v), sh->n, sh->c, sh->h, sh->w,
                            (unsigned long long)bytes, (unsigned long long)ctx->info.max_alloc_bytes);
    }
    double t0 = now_ms();
    mcl_plan *p = calloc(1, sizeof *p);
    if (!p)
        return mcl_fail(ctx, MCL_STATUS_OUT_OF_MEMORY, "plan");
    p->ctx = ctx;
    p->disable = opt ? opt->disable : 0;
    p->quick = opt ? opt->quick != 0 : 0;
    p->n_inputs = g->n_inputs;
    p->n_outputs = g->n_outputs;
    memcpy(p->inputs, g->inputs, sizeof p->inputs);
    memcpy(p->outputs, g->outputs, sizeof p->outputs);
    p->n_vals = g->n_values;
    p->vals = calloc(p->n_vals, sizeof *p->vals);
    if (!p->vals) {
        st = mcl_fail(ctx, MCL_STATUS_OUT_OF_MEMORY, "plan values");
        goto error;
    }
    for (size_t v = 0; v < p->n_vals; v++) {
        p->vals[v].shape = g->values[v].shape;
        p->vals[v].producer = g->values[v].producer;
        p->vals[v].parent = -1;
    }
    for (size_t i = 0; i < p->n_inputs; i++)
        p->vals[p->inputs[i]].is_input = 1;
    for (size_t i = 0; i < p->n_outputs; i++)
        p->vals[p->outputs[i]].is_output = 1;
    if ((st = copy_nodes(p, g)) != MCL_STATUS_OK)
        goto error;
    if (!(p->done = calloc(p->n_nodes ? p->n_nodes : 1, 1))) {
        st = mcl_fail(ctx, MCL_STATUS_OUT_OF_MEMORY, "plan");
        goto error;
    }
    if (!(p->disable & MCL_PASS_FOLD_BN))
        pass_fold_bn(p);
    if (!(p->disable & MCL_PASS_FUSE_EPILOGUE))
        pass_fuse_epilogue(p);
    if ((st = lower_pointwise_affine(p)) != MCL_STATUS_OK)
        goto error;
    for (size_t v = 0; v < p->n_vals; v++) /* outputs may have moved */
        p->vals[v].is_output = 0;
    for (size_t i = 0; i < p->n_outputs; i++)
        p->vals[p->outputs[i]].is_output = 1;
    decide_aliases(p);
    if ((st = place_all(p)) != MCL_STATUS_OK || (st = build_steps(p)) != MCL_STATUS_OK ||
        (st = output_steps(p)) != MCL_STATUS_OK || (st = cover_pads(p)) != MCL_STATUS_OK ||
        (st = plan_memory(p)) != MCL_STATUS_OK || (st = finish_steps(p)) != MCL_STATUS_OK)
        goto error;
    for (size_t i = 0; i < p->n_inputs; i++) {
        const pval *x = &p->vals[p->inputs[i]];
        if ((st = mcl_tensor_wrap(ctx, p->stores[x->storage].t->buf, &x->shape,
                                  p->stores[x->storage].nchw ? MCL_LAYOUT_NCHW : MCL_LAYOUT_BLOCKED, &p->in_io[i])) !=
            MCL_STATUS_OK)
            goto error;
    }
    for (size_t o = 0; o < p->n_outputs; o++) {
        const pval *x = &p->vals[p->outputs[o]];
        if ((st = mcl_tensor_wrap(ctx, p->stores[p->out_store[o]].t->buf, &x->shape, MCL_LAYOUT_BLOCKED,
                                  &p->out_io[o])) != MCL_STATUS_OK)
            goto error;
    }
    if ((st = mcl_graph_stats(g, &p->stats.macs, &p->stats.params)) != MCL_STATUS_OK)
        goto error;
    p->stats.programs = mcl_programs_count(ctx);
    p->stats.build_ms = now_ms() - t0;
    *out = p;
    return MCL_STATUS_OK;
error:
    mcl_plan_destroy(p);
    return st;
}

mcl_status mcl_plan_set_input(mcl_plan *p, size_t i, const float *nchw, size_t count)
{
    mcl_clear_error();
    if (!p || i >= p->n_inputs)
        return mcl_fail(p ? p->ctx : NULL, MCL_STATUS_INVALID_ARGUMENT, "plan input %zu: no such input", i);
    return mcl_tensor_write(p->in_io[i], nchw, count);
}

mcl_status mcl_plan_run(mcl_plan *p, int profile)
{
    mcl_clear_error();
    if (!p)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "plan is NULL");
    for (size_t i = 0; i < p->n_steps; i++) {
        pstep *s = &p->steps[i];
        if (s->ev) {
            p->ctx->cl->clReleaseEvent(s->ev);
            s->ev = NULL;
        }
        s->time_ms = -1;
        mcl_status st = mcl_op_run(s->op, profile ? &s->ev : NULL);
        if (st != MCL_STATUS_OK)
            return st;
    }
    return MCL_STATUS_OK;
}

mcl_status mcl_plan_get_output(mcl_plan *p, size_t i, float *nchw, size_t count)
{
    mcl_clear_error();
    if (!p || i >= p->n_outputs)
        return mcl_fail(p ? p->ctx : NULL, MCL_STATUS_INVALID_ARGUMENT, "plan output %zu: no such output", i);
    return mcl_tensor_read(p->out_io[i], nchw, count);
}

mcl_status mcl_plan_output_shape(const mcl_plan *p, size_t i, mcl_shape *shape)
{
    if (!p || !shape || i >= p->n_outputs)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "plan output %zu: no such output", i);
    *shape = p->vals[p->outputs[i]].shape;
    return MCL_STATUS_OK;
}

mcl_status mcl_plan_stats_get(const mcl_plan *p, mcl_plan_stats *st)
{
    if (!p || !st)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "plan stats: NULL argument");
    *st = p->stats;
    return MCL_STATUS_OK;
}

size_t mcl_plan_step_count(const mcl_plan *p) { return p ? p->n_steps : 0; }

mcl_status mcl_plan_step(const mcl_plan *cp, size_t i, mcl_step_info *info)
{
    if (!cp || !info || i >= cp->n_steps)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "plan step %zu: no such step", i);
    mcl_plan *p = (mcl_plan *)cp;
    pstep *s = &p->steps[i];
    if (s->ev && s->time_ms < 0) {
        cl_ulong a = 0, b = 0;
        if (p->ctx->cl->clGetEventProfilingInfo(s->ev, CL_PROFILING_COMMAND_START, sizeof a, &a, NULL) == CL_SUCCESS &&
            p->ctx->cl->clGetEventProfilingInfo(s->ev, CL_PROFILING_COMMAND_END, sizeof b, &b, NULL) == CL_SUCCESS) {
            s->t0 = a;
            s->t1 = b;
            s->time_ms = (double)(b - a) / 1e6;
        }
    }
    memset(info, 0, sizeof *info);
    info->name = s->name;
    info->op = s->op->vt->kind;
    info->kernel = mcl_op_kernel_name(s->op);
    info->fused = s->fused;
    info->in = p->stores[s->in_store].shape;
    info->out = s->op->out_shape;
    info->flops = s->flops > 0 ? s->flops : mcl_op_flops(s->op);
    info->bytes = mcl_op_bytes(s->op);
    info->time_ms = s->time_ms;
    info->start_ns = s->t0;
    info->end_ns = s->t1;
    return MCL_STATUS_OK;
}

size_t mcl_plan_storage_count(const mcl_plan *p) { return p ? p->n_stores : 0; }

mcl_status mcl_plan_storage(const mcl_plan *p, size_t i, mcl_storage_info *info)
{
    if (!p || !info || i >= p->n_stores)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "plan storage %zu: no such storage", i);
    info->buffer = p->stores[i].buffer;
    info->first = (size_t)p->stores[i].first;
    info->last = (size_t)p->stores[i].last;
    info->bytes = store_bytes(&p->stores[i]);
    return MCL_STATUS_OK;
}

uint64_t mcl_plan_buffer_bytes(const mcl_plan *p, size_t b) { return p && b < p->n_buffers ? p->buf_bytes[b] : 0; }

mcl_op *mcl_plan_step_op(const mcl_plan *p, size_t i) { return p && i < p->n_steps ? p->steps[i].op : NULL; }
