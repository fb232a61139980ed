/* mobicl graph runtime: IR and builder, model zoo, plan (passes, memory
 * planner, executor).
 *
 *   mcl_graph  - a DAG of nodes over tensor values, built with the
 *                mcl_graph_* calls (or by mcl_zoo_build / the ONNX importer);
 *                owns copies of all weights; no OpenCL objects.
 *   mcl_plan   - a graph compiled for one context: passes applied, kernels
 *                created, buffers planned. Run it many times.
 *
 * Values are small integers (mcl_value) naming tensors of the graph. Shapes
 * are NCHW; every builder call infers the output shape with the op's own
 * validate function and fails, naming the node, if it does not fit.
 *
 * Threads (see also "Threads" in mobicl.h): a graph may be read (planned,
 * introspected) from several threads at once but not modified meanwhile. A
 * plan belongs to its context and is used by one thread at a time; to run
 * plans on several threads, plan each on its own context made with
 * mcl_context_create_shared (one OpenCL context, one program cache and
 * tuning database, a command queue per thread). The zoo and the .npy
 * functions keep no state and may be called from any thread. */
#ifndef MOBICL_GRAPH_H
#define MOBICL_GRAPH_H

#include "mobicl.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mcl_graph mcl_graph;
typedef struct mcl_plan mcl_plan;
typedef int32_t mcl_value; /* a tensor of a graph; -1 = none */

typedef enum mcl_node_kind {
    MCL_NODE_CONV2D = 0, /* any groups; epilogue act(conv + bias (+ residual input)) */
    MCL_NODE_BATCHNORM,  /* y = gamma * (x - mean) / sqrt(var + eps) + beta, per channel */
    MCL_NODE_ACTIVATION, /* relu / relu6 (none = identity) */
    MCL_NODE_ADD,        /* elementwise a + b, then activation */
    MCL_NODE_POOL2D,     /* max / avg / global avg, then activation */
    MCL_NODE_FC,         /* fully connected over flattened c*h*w */
    MCL_NODE_SOFTMAX,    /* over channels */
    MCL_NODE_CONCAT,     /* along channels, 2..8 inputs */
    MCL_NODE_SPLIT,      /* along channels, 2..8 outputs */
    MCL_NODE_SHUFFLE,    /* channel shuffle with `groups` groups */
    MCL_NODE_KIND_COUNT_
} mcl_node_kind;

#define MCL_GRAPH_MAX_IO 8

/* Read-only view of a node (pointers stay valid until the graph changes). */
typedef struct mcl_node_info {
    mcl_node_kind kind;
    const char *name;
    size_t n_in, n_out;
    mcl_value in[MCL_GRAPH_MAX_IO];  /* conv: in[1] = residual if desc.residual */
    mcl_value out[MCL_GRAPH_MAX_IO];
    mcl_conv2d_desc conv;            /* CONV2D */
    mcl_pool2d_desc pool;            /* POOL2D */
    mcl_fc_desc fc;                  /* FC */
    mcl_activation act;              /* ACTIVATION, ADD, POOL2D */
    uint32_t groups;                 /* SHUFFLE */
    uint32_t sizes[MCL_GRAPH_MAX_IO];/* SPLIT: channels of each output */
    float eps;                       /* BATCHNORM */
    /* CONV2D/FC: weights (OIHW / [out][in]) and bias (NULL = none);
     * BATCHNORM: gamma, beta, mean, var (each [channels]). */
    const float *weights, *bias, *gamma, *beta, *mean, *var;
} mcl_node_info;

mcl_status mcl_graph_create(mcl_graph **g);
void mcl_graph_destroy(mcl_graph *g);

/* Builders. `name` is copied (NULL: a name is generated); weights are
 * copied. Each writes the new value(s) to *out. */
mcl_status mcl_graph_input(mcl_graph *g, const char *name, const mcl_shape *shape, mcl_value *out);
mcl_status mcl_graph_conv2d(mcl_graph *g, const char *name, const mcl_conv2d_desc *d, const float *weights,
                            const float *bias, mcl_value in, mcl_value residual, mcl_value *out);
mcl_status mcl_graph_batchnorm(mcl_graph *g, const char *name, mcl_value in, const float *gamma,
                               const float *beta, const float *mean, const float *var, float eps,
                               mcl_value *out);
mcl_status mcl_graph_activation(mcl_graph *g, const char *name, mcl_activation act, mcl_value in,
                                mcl_value *out);
mcl_status mcl_graph_add(mcl_graph *g, const char *name, mcl_value a, mcl_value b, mcl_activation act,
                         mcl_value *out);
mcl_status mcl_graph_pool2d(mcl_graph *g, const char *name, const mcl_pool2d_desc *d, mcl_activation act,
                            mcl_value in, mcl_value *out);
mcl_status mcl_graph_fc(mcl_graph *g, const char *name, const mcl_fc_desc *d, const float *weights,
                        const float *bias, mcl_value in, mcl_value *out);
mcl_status mcl_graph_softmax(mcl_graph *g, const char *name, mcl_value in, mcl_value *out);
mcl_status mcl_graph_concat(mcl_graph *g, const char *name, size_t n, const mcl_value *in, mcl_value *out);
/* sizes[i] channels go to out[i]; they must sum to the input's channels. */
mcl_status mcl_graph_split(mcl_graph *g, const char *name, mcl_value in, size_t n, const uint32_t *sizes,
                           mcl_value *out);
mcl_status mcl_graph_shuffle(mcl_graph *g, const char *name, mcl_value in, uint32_t groups, mcl_value *out);
/* Mark a value as a graph output (in the order of the calls). */
mcl_status mcl_graph_output(mcl_graph *g, mcl_value v);

/* Checks every node again (shapes through the ops' validate functions,
 * value references, outputs present); the error names the first bad node. */
mcl_status mcl_graph_validate(const mcl_graph *g);

/* Introspection. */
size_t mcl_graph_node_count(const mcl_graph *g);
mcl_status mcl_graph_node(const mcl_graph *g, size_t i, mcl_node_info *info);
size_t mcl_graph_value_count(const mcl_graph *g);
mcl_status mcl_graph_value_shape(const mcl_graph *g, mcl_value v, mcl_shape *shape);
const char *mcl_graph_value_name(const mcl_graph *g, mcl_value v);
size_t mcl_graph_input_count(const mcl_graph *g);
size_t mcl_graph_output_count(const mcl_graph *g);
mcl_value mcl_graph_input_value(const mcl_graph *g, size_t i);
mcl_value mcl_graph_output_value(const mcl_graph *g, size_t i);
/* Multiply-accumulates of CONV2D and FC nodes (batch 1), and learned
 * parameters (conv/fc weights and biases, BatchNorm gamma and beta). */
mcl_status mcl_graph_stats(const mcl_graph *g, uint64_t *macs, uint64_t *params);

/* ---- model zoo ---------------------------------------------------------- */

/* Options; 0 means the network's default. */
typedef struct mcl_zoo_options {
    float alpha;         /* mobilenet_v1 {0.25,0.5,0.75,1.0}; mobilenet_v2 {0.35,0.5,0.75,1.0,1.4} */
    uint32_t resolution; /* input H = W; mobilenet_v1 {128,160,192,224}; default 224 */
    uint32_t groups;     /* shufflenet_v1 {1,2,3,4,8}; default 3 */
    float scale;         /* shufflenet_v1 {0.5,1,1.5,2}; shufflenet_v2 (or by name) */
    uint32_t batch;      /* default 1 */
    uint32_t classes;    /* default 1000 */
    uint64_t seed;       /* weights and BatchNorm statistics; default 1 */
} mcl_zoo_options;

/* Names: mobilenet_v1, mobilenet_v2, shufflenet_v1, shufflenet_v2_x0_5,
 * shufflenet_v2_x1_0, shufflenet_v2_x1_5, shufflenet_v2_x2_0, mnasnet0_5,
 * mnasnet1_0 (the network ends with FC logits; no softmax). */
mcl_status mcl_zoo_build(const char *name, const mcl_zoo_options *opt, mcl_graph **g);
/* NULL-terminated list of the names. */
const char *const *mcl_zoo_names(void);

/* ---- plan --------------------------------------------------------------- */

/* Passes, each switchable (set the bit in mcl_plan_options.disable). */
enum {
    MCL_PASS_FOLD_BN = 1u << 0,        /* BatchNorm into the preceding conv */
    MCL_PASS_FUSE_EPILOGUE = 1u << 1,  /* bias, ReLU/ReLU6 and residual Add into the producer */
    MCL_PASS_VIEWS = 1u << 2,          /* split and concat as views, no copy kernels */
    MCL_PASS_FOLD_SHUFFLE = 1u << 3,   /* shuffle into the writers' index arithmetic */
    MCL_PASS_SHARE_BUFFERS = 1u << 4,  /* memory planner: reuse buffers across lifetimes */
    MCL_PASS_FUSE_DWPW = 1u << 5,      /* depthwise + the 1x1 conv reading it in one kernel (CPU devices) */
    MCL_PASS_ALL = 0x3fu
};

typedef struct mcl_plan_options {
    uint32_t disable; /* MCL_PASS_* bits to switch off */
    /* 1: the quick tier, for a fast first inference: every kernel takes the
     * smallest tiles of its parameter space (and work-groups of 1 on CPUs)
     * instead of its tuned or default parameters. Such kernels compile
     * about twice as fast (POCL generates each kernel's code at its first
     * launch) and run slower. The pattern: plan quick, serve the first
     * inferences with it while another thread creates the full plan on a
     * shared context (mcl_context_create_shared) and runs it once; then
     * switch (`mobicl run --quick` does this and times both). */
    int quick;
} mcl_plan_options;

mcl_status mcl_plan_create(mcl_context *ctx, const mcl_graph *g, const mcl_plan_options *opt, mcl_plan **plan);
void mcl_plan_destroy(mcl_plan *plan);

/* Copy an input in (NCHW floats, count = the input's element count). */
mcl_status mcl_plan_set_input(mcl_plan *plan, size_t i, const float *nchw, size_t count);
/* Enqueue every kernel of the plan in order on the context's queue; no host
 * synchronisation. With profile != 0 each kernel gets an event and, once
 * the run has finished (mcl_plan_get_output or mcl_context_finish), its time
 * appears in mcl_plan_step. */
mcl_status mcl_plan_run(mcl_plan *plan, int profile);
/* Read an output (blocks until the run is done). */
mcl_status mcl_plan_get_output(mcl_plan *plan, size_t i, float *nchw, size_t count);
mcl_status mcl_plan_output_shape(const mcl_plan *plan, size_t i, mcl_shape *shape);

typedef struct mcl_plan_stats {
    size_t kernels;          /* NDRange launches per run */
    size_t programs;         /* distinct OpenCL programs the plan uses */
    size_t shuffle_kernels;  /* standalone shuffle/split/concat kernels among them */
    size_t buffers;          /* device buffers for activations */
    uint64_t macs, params;   /* of the source graph */
    uint64_t peak_bytes;     /* activation bytes allocated (planned) */
    uint64_t naive_bytes;    /* sum of all activation tensors, no sharing */
    uint64_t lower_bound;    /* largest total of tensors alive at one time */
    double build_ms;         /* plan creation (program builds included) */
} mcl_plan_stats;
mcl_status mcl_plan_stats_get(const mcl_plan *plan, mcl_plan_stats *st);

/* One launch of the plan. */
typedef struct mcl_step_info {
    const char *name;    /* the graph node it comes from (the first fused one) */
    const char *op;      /* "conv2d", "pool2d", "gather", ... */
    const char *kernel;  /* kernel variant, e.g. "pwconv", "dwconv" */
    const char *fused;   /* what was fused in, e.g. "bn+relu", or "" */
    mcl_shape in, out;   /* physical shapes (channels include padding) */
    double flops, bytes; /* per run */
    double time_ms;      /* of the last profiled run; < 0 if none */
    uint64_t start_ns, end_ns; /* device timestamps of the last profiled run */
} mcl_step_info;
size_t mcl_plan_step_count(const mcl_plan *plan);
mcl_status mcl_plan_step(const mcl_plan *plan, size_t i, mcl_step_info *info);
/* The op of step i (owned by the plan; NULL if there is no such step), set
 * up on the plan's tensors: for the tuner (mcl_tune_ops takes a plan's ops in
 * step order) and for mcl_op_tunables_source / mcl_op_get_tunables. */
mcl_op *mcl_plan_step_op(const mcl_plan *plan, size_t i);

/* Memory plan: storage i (a set of aliased values) lives in buffer `buffer`
 * from step `first` to step `last` (inclusive) and needs `bytes`. Two
 * storages of one buffer never have overlapping [first, last]. A storage
 * that a fusion made unnecessary has bytes 0 and buffer SIZE_MAX. */
typedef struct mcl_storage_info {
    size_t buffer;
    size_t first, last;
    uint64_t bytes;
} mcl_storage_info;
size_t mcl_plan_storage_count(const mcl_plan *plan);
mcl_status mcl_plan_storage(const mcl_plan *plan, size_t i, mcl_storage_info *info);
uint64_t mcl_plan_buffer_bytes(const mcl_plan *plan, size_t buffer);

/* ---- NumPy .npy files (float32, C order) ------------------------------- */

/* Read: allocates *data (free with free()); dims[0..ndim) get the file's
 * shape (1 to 4 dims; a 0-d or >4-d array is an error). Only '<f4' data in
 * C order is accepted. Errors name the file and what is wrong. */
mcl_status mcl_npy_read(const char *path, float **data, uint32_t dims[4], size_t *ndim);
mcl_status mcl_npy_write(const char *path, const float *data, const uint32_t *dims, size_t ndim);

#ifdef __cplusplus
}
#endif
#endif
