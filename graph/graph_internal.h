/* Graph-runtime internals shared by the graph/ sources. */
#ifndef MCL_GRAPH_INTERNAL_H
#define MCL_GRAPH_INTERNAL_H

#include "internal.h"
#include "mobicl_graph.h"

typedef struct mcl_gnode {
    mcl_node_kind kind;
    char *name;
    size_t n_in, n_out;
    mcl_value in[MCL_GRAPH_MAX_IO], out[MCL_GRAPH_MAX_IO];
    mcl_conv2d_desc conv;
    mcl_pool2d_desc pool;
    mcl_fc_desc fc;
    mcl_activation act;
    uint32_t groups;
    uint32_t sizes[MCL_GRAPH_MAX_IO];
    float eps;
    float *w, *b, *gamma, *beta, *mean, *var; /* owned */
} mcl_gnode;

typedef struct mcl_gvalue {
    char *name;
    mcl_shape shape;
    int producer; /* node index, -1 for a graph input */
} mcl_gvalue;

struct mcl_graph {
    mcl_gnode *nodes;
    size_t n_nodes, cap_nodes;
    mcl_gvalue *values;
    size_t n_values, cap_values;
    mcl_value inputs[MCL_GRAPH_MAX_IO], outputs[MCL_GRAPH_MAX_IO];
    size_t n_inputs, n_outputs;
};

void mcl_gnode_free(mcl_gnode *n);
/* malloc'ed copy of n floats; NULL if src is NULL or n is 0 (or no memory). */
float *mcl_gdup(const float *src, size_t n);

#endif
