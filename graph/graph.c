/* Graph IR: nodes over values, builders that infer shapes with the ops'
 * validate functions, validation, introspection and MAC/parameter counts. */
#include "graph_internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

mcl_status mcl_graph_create(mcl_graph **g)
{
    mcl_clear_error();
    if (!g)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "graph output pointer is NULL");
    *g = calloc(1, sizeof **g);
    return *g ? MCL_STATUS_OK : mcl_fail(NULL, MCL_STATUS_OUT_OF_MEMORY, "graph");
}

void mcl_gnode_free(mcl_gnode *n)
{
    free(n->name);
    free(n->w);
    free(n->b);
    free(n->gamma);
    free(n->beta);
    free(n->mean);
    free(n->var);
    memset(n, 0, sizeof *n);
}

void mcl_graph_destroy(mcl_graph *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n_nodes; i++)
        mcl_gnode_free(&g->nodes[i]);
    for (size_t i = 0; i < g->n_values; i++)
        free(g->values[i].name);
    free(g->nodes);
    free(g->values);
    free(g);
}


float *mcl_gdup(const float *src, size_t n)
{
    if (!src || !n)
        return NULL;
    float *d = malloc(n * sizeof *d);
    if (d)
        memcpy(d, src, n * sizeof *d);
    return d;
}

static mcl_status new_value(mcl_graph *g, const char *name, const mcl_shape *s, int producer, mcl_value *out)
{
    if (g->n_values == g->cap_values) {
        size_t cap = g->cap_values ? g->cap_values * 2 : 64;
        mcl_gvalue *v = realloc(g->values, cap * sizeof *v);
        if (!v)
            return mcl_fail(NULL, MCL_STATUS_OUT_OF_MEMORY, "graph values");
        g->values = v;
        g->cap_values = cap;
    }
    mcl_gvalue *v = &g->values[g->n_values];
    memset(v, 0, sizeof *v);
    v->shape = *s;
    v->producer = producer;
    v->name = mcl_strdup(name);
    if (!v->name)
        return mcl_fail(NULL, MCL_STATUS_OUT_OF_MEMORY, "graph value name");
    *out = (mcl_value)g->n_values++;
    return MCL_STATUS_OK;
}

static int value_ok(const mcl_graph *g, mcl_value v) { return v >= 0 && (size_t)v < g->n_values; }

/* Infer the output shapes of node n from its inputs; the message names it. */
static mcl_status infer(const mcl_graph *g, const mcl_gnode *n, mcl_shape *outs)
{
    mcl_shape in[MCL_GRAPH_MAX_IO];
    for (size_t i = 0; i < n->n_in; i++) {
        if (!value_ok(g, n->in[i]))
            return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "node '%s': input %zu is value %d, not in the graph",
                            n->name, i, (int)n->in[i]);
        in[i] = g->values[n->in[i]].shape;
    }
    mcl_status st = MCL_STATUS_OK;
    switch (n->kind) {
    case MCL_NODE_CONV2D:
        st = mcl_conv2d_validate(&n->conv, &in[0], &outs[0]);
        if (st == MCL_STATUS_OK && n->conv.residual &&
            (in[1].n != outs[0].n || in[1].c != outs[0].c || in[1].h != outs[0].h || in[1].w != outs[0].w))
            return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT,
                            "node '%s': residual %ux%ux%ux%u does not match the conv output %ux%ux%ux%u", n->name,
                            in[1].n, in[1].c, in[1].h, in[1].w, outs[0].n, outs[0].c, outs[0].h, outs[0].w);
        break;
    case MCL_NODE_BATCHNORM:
    case MCL_NODE_ACTIVATION:
        st = mcl_check_activation(n->act) == MCL_STATUS_OK
                 ? mcl_check_shape(NULL, "input", &in[0])
                 : mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "activation %d is not none, relu or relu6", (int)n->act);
        outs[0] = in[0];
        break;
    case MCL_NODE_ADD: {
        mcl_add_desc d = {n->act};
        st = mcl_add_validate(&d, in, &outs[0]);
        break;
    }
    case MCL_NODE_POOL2D:
        st = mcl_pool2d_validate(&n->pool, &in[0], &outs[0]);
        if (st == MCL_STATUS_OK && mcl_check_activation(n->act) != MCL_STATUS_OK)
            st = mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "activation %d is not none, relu or relu6", (int)n->act);
        break;
    case MCL_NODE_FC:
        st = mcl_fc_validate(&n->fc, &in[0], &outs[0]);
        break;
    case MCL_NODE_SOFTMAX:
        st = mcl_softmax_validate(&in[0], &outs[0]);
        break;
    case MCL_NODE_CONCAT: {
        uint64_t c = 0;
        for (size_t i = 0; i < n->n_in; i++) {
            if (in[i].n != in[0].n || in[i].h != in[0].h || in[i].w != in[0].w)
                return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT,
                                "node '%s': concat input %zu is %ux%ux%ux%u, input 0 is %ux%ux%ux%u (N, H, W must match)",
                                n->name, i, in[i].n, in[i].c, in[i].h, in[i].w, in[0].n, in[0].c, in[0].h, in[0].w);
            c += in[i].c;
        }
        outs[0] = in[0];
        outs[0].c = c > UINT32_MAX ? 0 : (uint32_t)c;
        st = mcl_check_shape(NULL, "concat output", &outs[0]);
        break;
    }
    case MCL_NODE_SPLIT: {
        uint64_t c = 0;
        for (size_t i = 0; i < n->n_out; i++) {
            if (!n->sizes[i])
                return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "node '%s': split size %zu is 0", n->name, i);
            c += n->sizes[i];
            outs[i] = in[0];
            outs[i].c = n->sizes[i];
        }
        if (c != in[0].c)
            return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "node '%s': split sizes sum to %llu, input has %u channels",
                            n->name, (unsigned long long)c, in[0].c);
        break;
    }
    case MCL_NODE_SHUFFLE:
        if (!n->groups || in[0].c % n->groups)
            return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "node '%s': shuffle groups %u must divide %u channels",
                            n->name, n->groups, in[0].c);
        outs[0] = in[0];
        break;
    default:
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "node '%s': kind %d is not a mcl_node_kind", n->name,
                        (int)n->kind);
    }
    if (st != MCL_STATUS_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", mcl_last_error());
        return mcl_fail(NULL, st, "node '%s': %s", n->name, msg);
    }
    return MCL_STATUS_OK;
}

/* Append node *n (taking ownership of its arrays, also on failure), infer
 * its outputs and create them. */
static mcl_status add_node(mcl_graph *g, mcl_gnode *n, const char *name, mcl_value *outs)
{
    mcl_status st = MCL_STATUS_OK;
    char auto_name[48];
    if (!g || !outs) {
        st = mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "graph or output pointer is NULL");
        goto fail;
    }
    if (!name) {
        snprintf(auto_name, sizeof auto_name, "node%zu", g->n_nodes);
        name = auto_name;
    }
    if (!(n->name = mcl_strdup(name))) {
        st = mcl_fail(NULL, MCL_STATUS_OUT_OF_MEMORY, "node name");
        goto fail;
    }
    mcl_shape shapes[MCL_GRAPH_MAX_IO];
    if ((st = infer(g, n, shapes)) != MCL_STATUS_OK)
        goto fail;
    if (g->n_nodes == g->cap_nodes) {
        size_t cap = g->cap_nodes ? g->cap_nodes * 2 : 64;
        mcl_gnode *p = realloc(g->nodes, cap * sizeof *p);
        if (!p) {
            st = mcl_fail(NULL, MCL_STATUS_OUT_OF_MEMORY, "graph nodes");
            goto fail;
        }
        g->nodes = p;
        g->cap_nodes = cap;
    }
    size_t first = g->n_values;
    for (size_t i = 0; i < n->n_out; i++) {
        char vname[300];
        if (n->n_out == 1)
            snprintf(vname, sizeof vname, "%s", n->name);
        else
            snprintf(vname, sizeof vname, "%s:%zu", n->name, i);
        if ((st = new_value(g, vname, &shapes[i], (int)g->n_nodes, &n->out[i])) != MCL_STATUS_OK) {
            while (g->n_values > first)
                free(g->values[--g->n_values].name);
            goto fail;
        }
        outs[i] = n->out[i];
    }
    g->nodes[g->n_nodes++] = *n;
    return MCL_STATUS_OK;
fail:
    mcl_gnode_free(n);
    return st;
}

mcl_status mcl_graph_input(mcl_graph *g, const char *name, const mcl_shape *shape, mcl_value *out)
{
    mcl_clear_error();
    if (!g || !out)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "graph or output pointer is NULL");
    if (g->n_inputs >= MCL_GRAPH_MAX_IO)
        return mcl_fail(NULL, MCL_STATUS_UNSUPPORTED, "graph: more than %d inputs", MCL_GRAPH_MAX_IO);
    mcl_status st = mcl_check_shape(NULL, "graph input", shape);
    if (st != MCL_STATUS_OK)
        return st;
    char auto_name[32];
    snprintf(auto_name, sizeof auto_name, "input%zu", g->n_inputs);
    if ((st = new_value(g, name ? name : auto_name, shape, -1, out)) != MCL_STATUS_OK)
        return st;
    g->inputs[g->n_inputs++] = *out;
    return MCL_STATUS_OK;
}

mcl_status mcl_graph_conv2d(mcl_graph *g, const char *name, const mcl_conv2d_desc *d, const float *weights,
                            const float *bias, mcl_value in, mcl_value residual, mcl_value *out)
{
    mcl_clear_error();
    if (!d || !weights)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "conv '%s': descriptor or weights is NULL",
                        name ? name : "?");
    mcl_gnode n = {.kind = MCL_NODE_CONV2D, .conv = *d, .n_in = 1, .n_out = 1, .in = {in, residual}};
    n.conv.residual = residual >= 0;
    n.n_in = residual >= 0 ? 2 : 1;
    /* the weights' size comes from the descriptor: check it against the
     * input first (add_node reports the error), so that a bad or enormous
     * descriptor never makes a huge copy past the end of `weights` */
    mcl_shape is, os;
    if (mcl_graph_value_shape(g, in, &is) != MCL_STATUS_OK || mcl_conv2d_validate(d, &is, &os) != MCL_STATUS_OK)
        return add_node(g, &n, name, out);
    if (d->in_channels && d->groups && d->in_channels % d->groups == 0) {
        size_t nw = (size_t)d->out_channels * (d->in_channels / d->groups) * d->kernel_h * d->kernel_w;
        n.w = mcl_gdup(weights, nw);
        n.b = mcl_gdup(bias, d->out_channels);
        if ((nw && !n.w) || (bias && d->out_channels && !n.b)) {
            mcl_gnode_free(&n);
            return mcl_fail(NULL, MCL_STATUS_OUT_OF_MEMORY, "conv weights");
        }
    }
    return add_node(g, &n, name, out);
}

mcl_status mcl_graph_batchnorm(mcl_graph *g, const char *name, mcl_value in, const float *gamma,
                               const float *beta, const float *mean, const float *var, float eps,
                               mcl_value *out)
{
    mcl_clear_error();
    if (!g || !value_ok(g, in))
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "batchnorm '%s': input value %d is not in the graph",
                        name ? name : "?", (int)in);
    if (!gamma || !beta || !mean || !var)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "batchnorm '%s': gamma, beta, mean and var must be given",
                        name ? name : "?");
    if (!(eps >= 0.0f) || eps > 1.0f)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "batchnorm '%s': eps %g must be in [0, 1]",
                        name ? name : "?", (double)eps);
    size_t c = g->values[in].shape.c;
    for (size_t i = 0; i < c; i++)
        if (!(var[i] + eps > 0.0f))
            return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT,
                            "batchnorm '%s': var[%zu] + eps = %g must be > 0", name ? name : "?", i,
                            (double)(var[i] + eps));
    mcl_gnode n = {.kind = MCL_NODE_BATCHNORM, .n_in = 1, .n_out = 1, .in = {in}, .eps = eps};
    n.gamma = mcl_gdup(gamma, c);
    n.beta = mcl_gdup(beta, c);
    n.mean = mcl_gdup(mean, c);
    n.var = mcl_gdup(var, c);
    if (!n.gamma || !n.beta || !n.mean || !n.var) {
        mcl_gnode_free(&n);
        return mcl_fail(NULL, MCL_STATUS_OUT_OF_MEMORY, "batchnorm parameters");
    }
    return add_node(g, &n, name, out);
}

mcl_status mcl_graph_activation(mcl_graph *g, const char *name, mcl_activation act, mcl_value in, mcl_value *out)
{
    mcl_clear_error();
    mcl_gnode n = {.kind = MCL_NODE_ACTIVATION, .n_in = 1, .n_out = 1, .in = {in}, .act = act};
    return add_node(g, &n, name, out);
}

mcl_status mcl_graph_add(mcl_graph *g, const char *name, mcl_value a, mcl_value b, mcl_activation act,
                         mcl_value *out)
{
    mcl_clear_error();
    mcl_gnode n = {.kind = MCL_NODE_ADD, .n_in = 2, .n_out = 1, .in = {a, b}, .act = act};
    return add_node(g, &n, name, out);
}

mcl_status mcl_graph_pool2d(mcl_graph *g, const char *name, const mcl_pool2d_desc *d, mcl_activation act,
                            mcl_value in, mcl_value *out)
{
    mcl_clear_error();
    if (!d)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "pool '%s': descriptor is NULL", name ? name : "?");
    mcl_gnode n = {.kind = MCL_NODE_POOL2D, .n_in = 1, .n_out = 1, .in = {in}, .pool = *d, .act = act};
    return add_node(g, &n, name, out);
}

mcl_status mcl_graph_fc(mcl_graph *g, const char *name, const mcl_fc_desc *d, const float *weights,
                        const float *bias, mcl_value in, mcl_value *out)
{
    mcl_clear_error();
    if (!d || !weights)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "fc '%s': descriptor or weights is NULL", name ? name : "?");
    mcl_gnode n = {.kind = MCL_NODE_FC, .n_in = 1, .n_out = 1, .in = {in}, .fc = *d};
    mcl_shape is, os; /* as for conv: no copy sized by a descriptor the input refutes */
    if (mcl_graph_value_shape(g, in, &is) != MCL_STATUS_OK || mcl_fc_validate(d, &is, &os) != MCL_STATUS_OK)
        return add_node(g, &n, name, out);
    n.w = mcl_gdup(weights, (size_t)d->in_features * d->out_features);
    n.b = mcl_gdup(bias, d->out_features);
    if ((d->in_features && d->out_features && !n.w) || (bias && d->out_features && !n.b)) {
        mcl_gnode_free(&n);
        return mcl_fail(NULL, MCL_STATUS_OUT_OF_MEMORY, "fc weights");
    }
    return add_node(g, &n, name, out);
}

mcl_status mcl_graph_softmax(mcl_graph *g, const char *name, mcl_value in, mcl_value *out)
{
    mcl_clear_error();
    mcl_gnode n = {.kind = MCL_NODE_SOFTMAX, .n_in = 1, .n_out = 1, .in = {in}};
    return add_node(g, &n, name, out);
}

mcl_status mcl_graph_concat(mcl_graph *g, const char *name, size_t count, const mcl_value *in, mcl_value *out)
{
    mcl_clear_error();
    if (!in || count < 2 || count > MCL_GRAPH_MAX_IO)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "concat '%s': %zu inputs, must be 2..%d",
                        name ? name : "?", count, MCL_GRAPH_MAX_IO);
    mcl_gnode n = {.kind = MCL_NODE_CONCAT, .n_in = count, .n_out = 1};
    memcpy(n.in, in, count * sizeof *in);
    return add_node(g, &n, name, out);
}

mcl_status mcl_graph_split(mcl_graph *g, const char *name, mcl_value in, size_t count, const uint32_t *sizes,
                           mcl_value *out)
{
    mcl_clear_error();
    if (!sizes || count < 2 || count > MCL_GRAPH_MAX_IO)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "split '%s': %zu outputs, must be 2..%d",
                        name ? name : "?", count, MCL_GRAPH_MAX_IO);
    mcl_gnode n = {.kind = MCL_NODE_SPLIT, .n_in = 1, .n_out = count, .in = {in}};
    memcpy(n.sizes, sizes, count * sizeof *sizes);
    return add_node(g, &n, name, out);
}

mcl_status mcl_graph_shuffle(mcl_graph *g, const char *name, mcl_value in, uint32_t groups, mcl_value *out)
{
    mcl_clear_error();
    mcl_gnode n = {.kind = MCL_NODE_SHUFFLE, .n_in = 1, .n_out = 1, .in = {in}, .groups = groups};
    return add_node(g, &n, name, out);
}

mcl_status mcl_graph_output(mcl_graph *g, mcl_value v)
{
    mcl_clear_error();
    if (!g || !value_ok(g, v))
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "graph output: value %d is not in the graph", (int)v);
    if (g->n_outputs >= MCL_GRAPH_MAX_IO)
        return mcl_fail(NULL, MCL_STATUS_UNSUPPORTED, "graph: more than %d outputs", MCL_GRAPH_MAX_IO);
    g->outputs[g->n_outputs++] = v;
    return MCL_STATUS_OK;
}

mcl_status mcl_graph_validate(const mcl_graph *g)
{
    mcl_clear_error();
    if (!g)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "graph is NULL");
    if (!g->n_inputs || !g->n_outputs)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "graph has %zu inputs and %zu outputs; needs at least one each",
                        g->n_inputs, g->n_outputs);
    for (size_t i = 0; i < g->n_nodes; i++) {
        const mcl_gnode *n = &g->nodes[i];
        for (size_t k = 0; k < n->n_in; k++)
            if (!value_ok(g, n->in[k]) ||
                (g->values[n->in[k]].producer >= (int)i))
                return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT,
                                "node '%s': input %zu (value %d) is not produced before it", n->name, k,
                                (int)n->in[k]);
        mcl_shape s[MCL_GRAPH_MAX_IO];
        mcl_status st = infer(g, n, s);
        if (st != MCL_STATUS_OK)
            return st;
        for (size_t k = 0; k < n->n_out; k++) {
            const mcl_shape *v = &g->values[n->out[k]].shape;
            if (v->n != s[k].n || v->c != s[k].c || v->h != s[k].h || v->w != s[k].w)
                return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT,
                                "node '%s': output %zu is recorded as %ux%ux%ux%u but infers to %ux%ux%ux%u", n->name,
                                k, v->n, v->c, v->h, v->w, s[k].n, s[k].c, s[k].h, s[k].w);
        }
    }
    return MCL_STATUS_OK;
}

size_t mcl_graph_node_count(const mcl_graph *g) { return g ? g->n_nodes : 0; }
size_t mcl_graph_value_count(const mcl_graph *g) { return g ? g->n_values : 0; }
size_t mcl_graph_input_count(const mcl_graph *g) { return g ? g->n_inputs : 0; }
size_t mcl_graph_output_count(const mcl_graph *g) { return g ? g->n_outputs : 0; }
mcl_value mcl_graph_input_value(const mcl_graph *g, size_t i) { return g && i < g->n_inputs ? g->inputs[i] : -1; }
mcl_value mcl_graph_output_value(const mcl_graph *g, size_t i) { return g && i < g->n_outputs ? g->outputs[i] : -1; }

const char *mcl_graph_value_name(const mcl_graph *g, mcl_value v)
{
    return g && value_ok(g, v) ? g->values[v].name : NULL;
}

mcl_status mcl_graph_value_shape(const mcl_graph *g, mcl_value v, mcl_shape *shape)
{
    if (!g || !shape || !value_ok(g, v))
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "graph value %d: no such value (or NULL argument)", (int)v);
    *shape = g->values[v].shape;
    return MCL_STATUS_OK;
}

mcl_status mcl_graph_node(const mcl_graph *g, size_t i, mcl_node_info *info)
{
    if (!g || !info || i >= g->n_nodes)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "graph node %zu: no such node (or NULL argument)", i);
    const mcl_gnode *n = &g->nodes[i];
    memset(info, 0, sizeof *info);
    info->kind = n->kind;
    info->name = n->name;
    info->n_in = n->n_in;
    info->n_out = n->n_out;
    memcpy(info->in, n->in, sizeof n->in);
    memcpy(info->out, n->out, sizeof n->out);
    info->conv = n->conv;
    info->pool = n->pool;
    info->fc = n->fc;
    info->act = n->act;
    info->groups = n->groups;
    memcpy(info->sizes, n->sizes, sizeof n->sizes);
    info->eps = n->eps;
    info->weights = n->w;
    info->bias = n->b;
    info->gamma = n->gamma;
    info->beta = n->beta;
    info->mean = n->mean;
    info->var = n->var;
    return MCL_STATUS_OK;
}

mcl_status mcl_graph_stats(const mcl_graph *g, uint64_t *macs, uint64_t *params)
{
    if (!g || !macs || !params)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "graph stats: NULL argument");
    uint64_t m = 0, p = 0;
    for (size_t i = 0; i < g->n_nodes; i++) {
        const mcl_gnode *n = &g->nodes[i];
        if (n->kind == MCL_NODE_CONV2D) {
            const mcl_shape *o = &g->values[n->out[0]].shape;
            uint64_t w = (uint64_t)n->conv.out_channels * (n->conv.in_channels / n->conv.groups) * n->conv.kernel_h *
                         n->conv.kernel_w;
            m += w * o->h * o->w;
            p += w + (n->b ? n->conv.out_channels : 0);
        } else if (n->kind == MCL_NODE_FC) {
            uint64_t w = (uint64_t)n->fc.in_features * n->fc.out_features;
            m += w;
            p += w + (n->b ? n->fc.out_features : 0);
        } else if (n->kind == MCL_NODE_BATCHNORM) {
            p += 2ull * g->values[n->in[0]].shape.c;
        }
    }
    *macs = m;
    *params = p;
    return MCL_STATUS_OK;
}
