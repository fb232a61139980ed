/* mobicl ONNX importer: an ONNX model (opsets 9 to 17) becomes an mcl_graph.
 *
 * The file is parsed with protobuf-c (code generated at build time from the
 * onnx.proto that python3-onnx installs). Shape-computing subgraphs that
 * exporters emit (Shape, Gather, Unsqueeze, Concat of constants, ...) are
 * folded to constants for the fixed input shape; Reshape + Transpose +
 * Reshape forming a channel shuffle becomes one shuffle node; BatchNorm,
 * activations and residual Adds are left as nodes for the plan's passes.
 *
 * Errors never crash: an unsupported op names the op type, the node name
 * and the opset; a malformed or truncated file, a tensor whose declared size
 * does not match its data, an overflowing dimension, a dangling input name
 * or a cycle each give a status and a message (mcl_last_error()).
 *
 * Built only when protobuf-c is found (CMake option MOBICL_ONNX, AUTO by
 * default); without it every call returns MCL_STATUS_UNSUPPORTED. */
#ifndef MOBICL_ONNX_H
#define MOBICL_ONNX_H

#include "mobicl_graph.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MCL_ONNX_MAX_DIMS 8

/* Float tensor data bound by name to a graph input (the ONNX node tests pass
 * weights as graph inputs); the graph input becomes a constant. */
typedef struct mcl_onnx_constant {
    const char *name;
    const float *data;
    const int64_t *dims;
    size_t ndim;
} mcl_onnx_constant;

typedef struct mcl_onnx_options {
    uint32_t batch;                      /* 0: the model's batch (a symbolic batch dim becomes 1) */
    const mcl_onnx_constant *constants;  /* may be NULL */
    size_t n_constants;
} mcl_onnx_options;

/* Load a model file; external data is read relative to the file's folder. */
mcl_status mcl_onnx_load(const char *path, const mcl_onnx_options *opt, mcl_graph **g);
/* Load from memory (e.g. an Android asset); base_dir (may be NULL: external
 * data is then an error) is where external data files are looked up. */
mcl_status mcl_onnx_load_memory(const void *data, size_t size, const char *base_dir,
                                const mcl_onnx_options *opt, mcl_graph **g);

/* Read a serialized ONNX TensorProto (e.g. the test_data_set_N/input_0.pb
 * files of the ONNX backend tests): float data only. Allocates *data (free
 * with free()); dims[0..*ndim) get its shape. */
mcl_status mcl_onnx_read_tensor(const char *path, float **data, int64_t dims[MCL_ONNX_MAX_DIMS], size_t *ndim);

#ifdef __cplusplus
}
#endif
#endif
