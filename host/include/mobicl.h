/* mobicl — OpenCL kernels for lightweight CNNs.
 *
 * Public API. Every function returns an mcl_status (or documents otherwise);
 * on failure mcl_last_error() holds a message naming the bad value and the
 * rule it broke, and the context's log callback (if any) receives it too.
 * The library never aborts, exits or prints by itself.
 *
 * Tensors are float32. At the API boundary data is plain NCHW; inside, the
 * kernels work on a channel-blocked layout NCxHWx ("blocked", x = the
 * context's block, 4, 8 or 16): element (n, c, h, w) lives at
 *   ((n * ceil(C/x) + c/x) * H + h) * W + w) * x + c%x,
 * and the padding lanes (c >= C in the last block) are always zero.
 */
#ifndef MOBICL_H
#define MOBICL_H

#include <stddef.h>
#include <stdint.h>

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MCL_VERSION_MAJOR 0
#define MCL_VERSION_MINOR 1
#define MCL_VERSION_PATCH 0
#define MCL_VERSION_STRING "0.1.0"

/* ---- status ------------------------------------------------------------ */

#define MCL_STATUS_MAP(X)                                                      \
    X(OK, "success")                                                           \
    X(INVALID_ARGUMENT, "invalid argument")                                    \
    X(UNSUPPORTED, "unsupported parameter combination")                        \
    X(INVALID_STATE, "call out of order (e.g. run before setup)")              \
    X(OUT_OF_MEMORY, "out of host or device memory")                           \
    X(OVERFLOW, "size computation overflows")                                  \
    X(NO_OPENCL, "no OpenCL library could be loaded")                          \
    X(NO_DEVICE, "no OpenCL device matches")                                   \
    X(OPENCL_ERROR, "an OpenCL call failed")                                   \
    X(BUILD_FAILED, "OpenCL program build failed")                             \
    X(IO_ERROR, "file input/output failed")                                    \
    X(NOT_FOUND, "not found")

typedef enum mcl_status {
#define MCL_STATUS_ENUM_(name, text) MCL_STATUS_##name,
    MCL_STATUS_MAP(MCL_STATUS_ENUM_)
#undef MCL_STATUS_ENUM_
    MCL_STATUS_COUNT_
} mcl_status;

/* Fixed text for a status; never NULL. */
const char *mcl_status_string(mcl_status s);

/* Message of the last failure on this thread ("" if none). Valid until the
 * next mobicl call on the same thread. */
const char *mcl_last_error(void);

/* ---- devices and context ----------------------------------------------- */

typedef struct mcl_context mcl_context;
typedef struct mcl_tensor mcl_tensor;
typedef struct mcl_op mcl_op;

typedef enum mcl_log_level { MCL_LOG_ERROR, MCL_LOG_WARN, MCL_LOG_INFO, MCL_LOG_DEBUG } mcl_log_level;
typedef void (*mcl_log_fn)(void *user, mcl_log_level level, const char *message);

/* What `mobicl info` shows, and what device choice looks at. */
typedef struct mcl_device_info {
    uint32_t platform_index, device_index; /* index among all devices, in mcl_device_list order */
    char platform_name[128];
    char name[128];
    char vendor[128];
    char driver_version[128];
    char device_version[128];
    char opencl_c_version[128];
    int is_gpu;
    uint32_t compute_units;
    uint32_t max_clock_mhz;
    size_t max_work_group_size;
    size_t max_work_item_sizes[3];
    uint64_t local_mem_bytes;
    uint64_t global_mem_bytes;
    uint64_t max_alloc_bytes;
    int has_fp16;
    int has_images;
    uint32_t preferred_vector_width_float;
} mcl_device_info;

/* Lists every device of every platform. Writes up to `cap` entries to `out`
 * (may be NULL when cap is 0) and the total number to *count. */
mcl_status mcl_device_list(mcl_device_info *out, size_t cap, size_t *count);

typedef struct mcl_context_options {
    /* Device choice: if `device` is non-NULL it is an index ("1") or a name
     * substring ("pthread"); else MOBICL_DEVICE from the environment is used
     * the same way; else the first GPU, else the first device. */
    const char *device;
    int profiling;          /* create the queue with profiling enabled */
    uint32_t block;         /* channel block x of the internal layout: 4, 8 or 16; 0 = per device (GPU 4, CPU 16) */
    const char *cache_dir;  /* on-disk program binary cache (its last folder is created if missing); NULL = none */
    const char *kernel_dir; /* development override: read <family>.cl from here instead of the embedded copies */
    mcl_log_fn log;         /* NULL = silent */
    void *log_user;
    mcl_log_level log_level; /* messages above this level are dropped */
    /* Tuning database written by `mobicl tune` (mcl_tunedb_save): path of a
     * JSON file; NULL = MOBICL_TUNING_DB from the environment, "" = none.
     * A file that cannot be read, is corrupt, or belongs to another device,
     * and entries that do not fit this device, are reported once through
     * `log` (MCL_LOG_WARN) and ignored: the ops keep their defaults. */
    const char *tuning_db;
    /* Or the database's bytes, e.g. an app's asset read into memory (no
     * file to extract first): when tuning_db_data is non-NULL it is used
     * instead of tuning_db and MOBICL_TUNING_DB, parsed during
     * mcl_context_create (the caller may free it afterwards), with the same
     * checks and the same reports. tuning_db_size without data is an error. */
    const void *tuning_db_data;
    size_t tuning_db_size;
} mcl_context_options;

mcl_status mcl_context_create(const mcl_context_options *opt, mcl_context **ctx);
void mcl_context_destroy(mcl_context *ctx);

/* Threads. A context owns one in-order command queue; everything that
 * enqueues on it (ops, tensors, plans, the tuner, mcl_context_finish) is
 * used by one thread at a time: a context and the tensors, ops and plans
 * made on it are not to be used from two threads at once. To run on
 * several threads, give each thread its own context made with
 * mcl_context_create_shared: it shares the parent's OpenCL context and
 * device (its cl_mem objects are valid in the other, but tensors, ops and
 * plans belong to the context they were made on), its in-memory program
 * cache (guarded by a mutex: a program is built once, by the first thread
 * that needs it, while the others wait) and its tuning database (read-only
 * after creation), and has its own command queue, cache statistics, build
 * log and last OpenCL error. What may be shared between threads: the
 * contexts of one family (each used by its own thread), the on-disk program
 * cache (entries are written to a unique temporary file and renamed), the
 * tuning-database file for reading, mcl_graph (read-only, see
 * mobicl_graph.h); mcl_last_error() is per thread. What may not: one
 * context's queue, a tensor, an op, a plan. The log callback may be called
 * from every thread that uses a context of the family (at times with the
 * program cache locked), so it must be thread-safe and must not call
 * mobicl. mcl_cl_api_override (tests) is not thread-safe.
 *
 * mcl_context_create_shared: a new context on parent's OpenCL context with
 * its own queue (profiling as the parent's), same options otherwise. The
 * family's shared state is reference-counted: parent and children may be
 * destroyed in any order. Creating one is not to race with the use of
 * parent on another thread (create the children up front). */
mcl_status mcl_context_create_shared(mcl_context *parent, mcl_context **child);

cl_context mcl_context_cl(const mcl_context *ctx);
cl_command_queue mcl_context_queue(const mcl_context *ctx);
cl_device_id mcl_context_device(const mcl_context *ctx);
uint32_t mcl_context_block(const mcl_context *ctx);
const mcl_device_info *mcl_context_device_info(const mcl_context *ctx);
/* Waits for all enqueued work. */
mcl_status mcl_context_finish(mcl_context *ctx);
/* The raw OpenCL error of the last failed call, and the last build log. */
cl_int mcl_context_cl_error(const mcl_context *ctx);
const char *mcl_context_build_log(const mcl_context *ctx);

typedef struct mcl_cache_stats {
    uint32_t programs_built;   /* compiled from source */
    uint32_t programs_loaded;  /* loaded from the on-disk binary cache */
    uint32_t memory_hits;      /* found in the in-memory cache */
    uint32_t disk_rejected;    /* bad or stale disk entries that were rebuilt */
    uint32_t programs_saved;   /* written to the on-disk cache */
    double build_ms;           /* total time spent building or loading programs */
    double save_ms;            /* total time spent writing the on-disk cache */
} mcl_cache_stats;
void mcl_context_cache_stats(const mcl_context *ctx, mcl_cache_stats *st);

/* Write the programs built from source since the last save to the on-disk
 * binary cache (options.cache_dir; nothing to do without one). Programs are
 * not written when they are built: asking a driver for a binary can cost
 * more than the build (POCL compiles every kernel of the program again, up
 * to 1.4 s per program on a 2-core CPU), which would delay the first
 * inference. Call this once the first inference is done (from any thread
 * that may use ctx; it takes the program cache's lock), or leave it to
 * mcl_context_destroy, which saves whatever is still unsaved. A binary
 * saved after a run also holds what the driver compiled for that run.
 * Entries are written to a temporary file and renamed. Returns
 * MCL_STATUS_IO_ERROR naming the file if one could not be written (the
 * others are still written; a later call retries the failed ones). */
mcl_status mcl_context_save_cache(mcl_context *ctx);

/* ---- tensors ------------------------------------------------------------ */

typedef struct mcl_shape { uint32_t n, c, h, w; } mcl_shape;

typedef enum mcl_layout {
    MCL_LAYOUT_NCHW = 0,    /* plain, the API boundary */
    MCL_LAYOUT_BLOCKED = 1, /* NCxHWx with the context's block; what ops consume and produce */
} mcl_layout;

/* Number of elements n*c*h*w; 0 on overflow of size_t or a zero dim. */
size_t mcl_shape_count(const mcl_shape *s);

mcl_status mcl_tensor_create(mcl_context *ctx, const mcl_shape *shape, mcl_layout layout, mcl_tensor **t);
void mcl_tensor_destroy(mcl_tensor *t);
mcl_shape mcl_tensor_shape(const mcl_tensor *t);
mcl_layout mcl_tensor_layout(const mcl_tensor *t);
cl_mem mcl_tensor_buffer(const mcl_tensor *t);
/* Bytes of the device buffer (blocked tensors include the padding lanes). */
size_t mcl_tensor_bytes(const mcl_tensor *t);

/* Copy `count` floats of plain NCHW host data in / out (count must equal the
 * shape's element count). Blocked tensors are converted on the device by
 * the layout kernels. Both calls block until done. */
mcl_status mcl_tensor_write(mcl_tensor *t, const float *nchw, size_t count);
mcl_status mcl_tensor_read(mcl_tensor *t, float *nchw, size_t count);
/* Enqueue a layout conversion between two tensors of the same shape. */
mcl_status mcl_tensor_convert(mcl_context *ctx, const mcl_tensor *src, mcl_tensor *dst);

/* ---- tunable kernel parameters ----------------------------------------- */

/* One struct for every kernel family; each family uses the fields its
 * parameter space (mcl_space_get) lists; a field holds one of its family's
 * listed values, or 0: tile_w / tile_c / split 0 = the heuristic default
 * for that field, wg 0 = the driver's choice. Ops use the heuristic
 * defaults (which may set wg) until mcl_op_set_tunables is called. */
typedef struct mcl_tunables {
    uint32_t tile_w;  /* output pixels per work-item (along W, or along H*W for 1x1) */
    uint32_t tile_c;  /* output channel blocks per work-item */
    uint32_t wg;      /* work-group size along dim 0; 0 = the driver's choice */
    uint32_t split;   /* dwpw: output-block groups along dim 1, the depthwise
                       * computed once per group (1: once for all outputs; more:
                       * more work-items, the depthwise recomputed); families
                       * without it take only 0 */
} mcl_tunables;

typedef enum mcl_family {
    MCL_FAMILY_CONV,    /* direct KxK convolution, any groups */
    MCL_FAMILY_DWCONV,  /* depthwise */
    MCL_FAMILY_PWCONV,  /* 1x1 (grouped too) register-tiled */
    MCL_FAMILY_POOL,
    MCL_FAMILY_DWPW,    /* fused depthwise + dense 1x1 (graph runtime, dwpw.cl):
                         * tile_w pixels x tile_c output blocks per register
                         * tile; split output-block groups */
    MCL_FAMILY_COUNT_
} mcl_family;

/* The parameter space of a family: for each field, the list of allowed
 * values, terminated by 0. For wg, 0 (the driver's choice) is always
 * allowed and is not listed; an empty split list (a lone 0) means the
 * family has no split (only 0). The tuner and the tests enumerate it. */
typedef struct mcl_space {
    const char *family;
    const uint32_t *tile_w;
    const uint32_t *tile_c;
    const uint32_t *wg;
    const uint32_t *split;
} mcl_space;
const mcl_space *mcl_space_get(mcl_family f);

/* ---- ops ---------------------------------------------------------------- */

typedef enum mcl_activation { MCL_ACT_NONE = 0, MCL_ACT_RELU = 1, MCL_ACT_RELU6 = 2 } mcl_activation;

typedef enum mcl_conv_variant {
    MCL_CONV_AUTO = 0,     /* depthwise (groups == in == out > 1), else pointwise (1x1, stride 1, no pad), else direct */
    MCL_CONV_DIRECT,       /* direct KxK, any groups */
    MCL_CONV_DEPTHWISE,    /* groups == in == out channels */
    MCL_CONV_POINTWISE,    /* 1x1, stride 1, no padding; any groups, one launch */
    MCL_CONV_CLBLAST,      /* 1x1, groups 1, through CLBlast SGEMM (if built with it) */
} mcl_conv_variant;

/* Convolution. weights: OIHW, [out][in/groups][kernel_h][kernel_w];
 * bias: [out] or NULL. Epilogue: y = act(conv + bias + residual), the
 * residual being an optional second input of the output's shape. */
typedef struct mcl_conv2d_desc {
    uint32_t in_channels, out_channels, groups;
    uint32_t kernel_h, kernel_w;
    uint32_t stride_h, stride_w;
    uint32_t pad_top, pad_left, pad_bottom, pad_right;
    uint32_t dilation_h, dilation_w; /* 0 is read as 1 */
    mcl_activation activation;
    int residual;                    /* 1: setup takes a residual input */
    mcl_conv_variant variant;
} mcl_conv2d_desc;

typedef enum mcl_pool_type { MCL_POOL_MAX = 0, MCL_POOL_AVG = 1, MCL_POOL_GLOBAL_AVG = 2 } mcl_pool_type;

/* Pooling. AVG divides by the number of in-bounds elements of the window
 * (count_include_pad = 0), or by kernel_h*kernel_w if count_include_pad. */
typedef struct mcl_pool2d_desc {
    mcl_pool_type type;
    uint32_t kernel_h, kernel_w, stride_h, stride_w;
    uint32_t pad_top, pad_left, pad_bottom, pad_right;
    int count_include_pad;
} mcl_pool2d_desc;

/* Fully connected over the flattened (c, h, w) input (NCHW flatten order).
 * weights: [out_features][in_features]; bias [out_features] or NULL.
 * Output shape: n x out_features x 1 x 1. */
typedef struct mcl_fc_desc {
    uint32_t in_features, out_features;
    mcl_activation activation;
} mcl_fc_desc;

/* Channel movement, one kernel for shuffle, split, concat and their fusions.
 * The source is the concatenation of the inputs along channels (one or two
 * inputs); output channel c (c < channels) reads source channel
 *   offset + shuffle(c),  shuffle(c) = (c % groups) * (channels / groups) + c / groups
 * i.e. a channel shuffle with `groups` groups of the selected range.
 *   shuffle: offset 0, channels C, groups g;  split: offset o, channels k,
 *   groups 1;  concat: two inputs, offset 0, channels C1+C2, groups 1. */
typedef struct mcl_channel_desc {
    uint32_t channels; /* output channels; 0 = all source channels minus offset */
    uint32_t offset;
    uint32_t groups;   /* 0 or 1 = no shuffle */
    uint32_t inputs;   /* 1 or 2 */
} mcl_channel_desc;

/* Elementwise add of two tensors of one shape, then activation. */
typedef struct mcl_add_desc { mcl_activation activation; } mcl_add_desc;

/* validate: pure, from shapes alone; writes the output shape. `in` holds
 * the op's data inputs (1, or 2 for concat and add); a residual is not
 * passed (it must have the output's shape). */
mcl_status mcl_conv2d_validate(const mcl_conv2d_desc *d, const mcl_shape *in, mcl_shape *out);
mcl_status mcl_pool2d_validate(const mcl_pool2d_desc *d, const mcl_shape *in, mcl_shape *out);
mcl_status mcl_fc_validate(const mcl_fc_desc *d, const mcl_shape *in, mcl_shape *out);
mcl_status mcl_channel_validate(const mcl_channel_desc *d, const mcl_shape *in, mcl_shape *out);
mcl_status mcl_add_validate(const mcl_add_desc *d, const mcl_shape *in, mcl_shape *out);
mcl_status mcl_softmax_validate(const mcl_shape *in, mcl_shape *out);

/* create: copies the descriptor, packs and uploads the weights. */
mcl_status mcl_conv2d_create(mcl_context *ctx, const mcl_conv2d_desc *d, const float *weights,
                             const float *bias, mcl_op **op);
mcl_status mcl_pool2d_create(mcl_context *ctx, const mcl_pool2d_desc *d, mcl_op **op);
mcl_status mcl_fc_create(mcl_context *ctx, const mcl_fc_desc *d, const float *weights,
                         const float *bias, mcl_op **op);
mcl_status mcl_channel_create(mcl_context *ctx, const mcl_channel_desc *d, mcl_op **op);
mcl_status mcl_add_create(mcl_context *ctx, const mcl_add_desc *d, mcl_op **op);
/* Softmax over channels, for each (n, h, w). */
mcl_status mcl_softmax_create(mcl_context *ctx, mcl_op **op);

/* Override the tunables (before reshape; takes effect at the next reshape).
 * NULL restores the defaults. Values outside the family's space are
 * MCL_STATUS_UNSUPPORTED. */
mcl_status mcl_op_set_tunables(mcl_op *op, const mcl_tunables *t);
/* The tunables and kernel family reshape chose (valid after reshape). */
mcl_status mcl_op_get_tunables(const mcl_op *op, mcl_family *family, mcl_tunables *t);
/* Human-readable name of the chosen kernel, e.g. "pwconv", "clblast". */
const char *mcl_op_kernel_name(const mcl_op *op);
/* Where reshape took the tunables from: "user" (mcl_op_set_tunables), "db"
 * (the context's tuning database, this op's key), "db-near" (the database
 * entry of the nearest shape of the same class, see mcl_op_tune_key),
 * "default" (the heuristics), or "" (not reshaped, or a kernel without
 * tunables). Never NULL. */
const char *mcl_op_tunables_source(const mcl_op *op);
/* The tuning key of a reshaped op with tunables: the family and everything
 * the kernel's speed depends on, e.g.
 *   "pwconv n=1 in=128 out=64 hw=28x28 kb=8 grp=0 res=0 scat=0 pass=0 cb=16"
 * (physical channel counts as the op was created and reshaped with). The
 * "hw=HxW" token (output height x width) is the only spatial one: keys that
 * differ only there are one shape class. NOT_FOUND for ops without
 * tunables; OVERFLOW if n is too small (n >= MCL_TUNE_KEY_MAX is enough). */
#define MCL_TUNE_KEY_MAX 160
mcl_status mcl_op_tune_key(const mcl_op *op, char *buf, size_t n);

/* reshape: choose the variant and parameters for these input shapes, build
 * (or fetch) the program, compute work sizes. n_in: 1 or 2 (concat, add). */
mcl_status mcl_op_reshape(mcl_op *op, size_t n_in, const mcl_shape *in, mcl_shape *out);
/* setup: bind blocked tensors. `in` holds n_in tensors (for a conv with
 * residual: the data input and then the residual). */
mcl_status mcl_op_setup(mcl_op *op, size_t n_in, mcl_tensor *const *in, mcl_tensor *out);
/* run: enqueue on the context's queue; no wait. `event` may be NULL. */
mcl_status mcl_op_run(mcl_op *op, cl_event *event);
/* FLOPs (2 per MAC) and bytes read+written of one run, after reshape. */
double mcl_op_flops(const mcl_op *op);
double mcl_op_bytes(const mcl_op *op);
void mcl_op_destroy(mcl_op *op);

/* ---- autotuner and tuning database (host/tune.c, host/tunedb.c) -------- */

typedef enum mcl_tune_mode {
    MCL_TUNE_NORMAL = 0,  /* small spaces exhaustively, else a random sample, then hill climbing */
    MCL_TUNE_RAPID,       /* hill climbing from the default, a few candidates per op */
    MCL_TUNE_EXHAUSTIVE,  /* every point of the space (still within the budget) */
} mcl_tune_mode;

/* Reported after every candidate. */
typedef struct mcl_tune_progress {
    size_t key_index, key_count; /* the op (distinct key) being tuned */
    const char *key;
    uint32_t tried;              /* candidates measured for this key so far */
    double default_ms, best_ms;  /* this key: the default's time, the best so far */
    double elapsed_s, budget_s;  /* of the whole call (budget 0: none) */
} mcl_tune_progress;

typedef struct mcl_tune_options {
    mcl_tune_mode mode;
    double budget_s;   /* wall-clock budget of the call, program builds included; 0 = none */
    uint64_t seed;     /* of the random sample */
    uint32_t runs;     /* timed runs per measurement (median); 0 = 10 */
    void (*progress)(void *user, const mcl_tune_progress *p); /* NULL = none */
    void *progress_user;
} mcl_tune_options;

/* One distinct key (one or more ops). Times are kernel times (profiling
 * events), medians; default_ms and best_ms are re-measured interleaved at
 * the end, so they compare fairly. */
typedef struct mcl_tune_result {
    char key[MCL_TUNE_KEY_MAX];
    mcl_family family;
    uint32_t ops;             /* ops sharing the key */
    mcl_tunables def, best;   /* best == def unless a candidate beat the default on re-measurement */
    double default_ms, best_ms;
    uint32_t tried, rejected; /* candidates measured; candidates whose output was wrong */
    int improved;             /* best != def */
} mcl_tune_result;

/* Tune ops that are set up (READY), in execution order (e.g. a plan's
 * steps: before tuning ops[i] the tuner runs ops[0..i-1], so its inputs hold
 * what a real run gives). Ops with the same key are tuned once. Each
 * candidate's output must match the default's (|d| <= 1e-4 * max |y|, and
 * the same elements written) before it may win; the winner is re-measured
 * against the default, interleaved, and kept only if faster. The ops are
 * left with the tunables they had. The context needs profiling. The
 * context's tuning database is not used while tuning (the baseline is the
 * heuristic default). *results is malloc'ed (free()), one per key. On
 * failure nothing is returned, and an op whose restore failed too (the
 * OpenCL failure hit it) is left unreshaped: reshape and set it up again. */
mcl_status mcl_tune_ops(mcl_context *ctx, mcl_op *const *ops, size_t n_ops, const mcl_tune_options *opt,
                        mcl_tune_result **results, size_t *n_results);

/* Merge results into the database file `path` of ctx's device: an entry
 * per key (tunables = best, ms = best_ms, default_ms), replacing the
 * file's entry of the same key. The file is created if missing (its
 * directories too); a corrupt one is replaced (logged); one of another
 * device is refused with INVALID_ARGUMENT. Written to a temporary file and
 * renamed; entries sorted by key, one per line. n may be 0 (r NULL): a
 * check that the file can be written. *total (may be NULL) gets the number
 * of entries in the file. */
mcl_status mcl_tunedb_save(mcl_context *ctx, const char *path, const mcl_tune_result *r, size_t n, size_t *total);
/* The per-user default path of ctx's device's database:
 * $XDG_CACHE_HOME (else $HOME/.cache)/mobicl/tuning-<device>.json. */
mcl_status mcl_tunedb_default_path(const mcl_context *ctx, char *buf, size_t n);
/* Entries of the database the context loaded and uses (0: none). */
size_t mcl_context_tuning_db_entries(const mcl_context *ctx);

#ifdef __cplusplus
}
#endif
#endif
