/* Reference executor for an mcl_graph (tests only).
 *
 * Runs the graph node by node on the host with the naive functions of ref.h
 * (plus a few equally naive helpers for BatchNorm, activation, concat, split
 * and shuffle), reading the graph only through the public introspection API
 * of mobicl_graph.h. No OpenCL, no library kernels, no passes: BatchNorm is
 * applied unfolded, shuffle/split/concat copy channels. Slow on purpose.
 *
 * Every node's output shape is recomputed from its inputs and checked
 * against the shape the graph recorded, so a shape-inference bug of the
 * builder shows up here as an error rather than as a silent agreement.
 * Intermediate tensors are freed as soon as their last consumer has run. */
#ifndef MOBICL_TEST_REF_GRAPH_H
#define MOBICL_TEST_REF_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "mobicl_graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* inputs[i]: NCHW data of graph input i (mcl_graph_input_value(g, i)), its
 * element count given by the value's shape. On success returns 0 and
 * outputs[i] (i < mcl_graph_output_count(g)) is a malloc'ed NCHW copy of
 * graph output i (free each with free()). On failure returns -1, every
 * outputs[i] is NULL and ref_graph_error() says why (naming the node). */
int ref_graph_run(const mcl_graph *g, const float *const *inputs, float **outputs);

/* Message of the last failed ref_graph_run on this thread ("" if none). */
const char *ref_graph_error(void);

/* Largest total of value tensors (inputs' copies included) alive at once
 * during the last ref_graph_run on this thread, in bytes. */
size_t ref_graph_peak_bytes(void);

/* x[0..n) uniform in [-1, 1), deterministic in `seed`. */
void ref_graph_fill_input(float *x, size_t n, uint64_t seed);

/* Elements of a graph value (n*c*h*w), 0 if it is not a value of g. */
size_t ref_graph_value_count(const mcl_graph *g, mcl_value v);

#ifdef __cplusplus
}
#endif
#endif
