/* Library-internal declarations shared by the host files. */
#ifndef MCL_INTERNAL_H
#define MCL_INTERNAL_H

#include "clapi.h"
#include "mobicl.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#if defined(__GNUC__)
#define MCL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MCL_PRINTF(a, b)
#endif

typedef struct mcl_program_entry mcl_program_entry;
typedef struct mcl_tunedb mcl_tunedb;
typedef struct mcl_shared mcl_shared;

struct mcl_context {
    const mcl_cl_api *cl;
    cl_platform_id platform;
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;
    mcl_device_info info;
    uint32_t block;
    int profiling;
    char *cache_dir;
    char *kernel_dir;
    mcl_log_fn log;
    void *log_user;
    mcl_log_level log_level;
    cl_int last_cl_error;
    char *build_log;
    mcl_shared *shared; /* program cache and tuning DB, shared with mcl_context_create_shared children */
    mcl_cache_stats stats;
    mcl_tunedb *tunedb; /* tuning database in use (NULL: none); owned by shared */
    /* program requests collected between mcl_programs_defer and
     * mcl_programs_flush, built as one bundle (program.c) */
    int defer;
    int quick; /* ops reshaped now take the quick tier's tunables (mcl_plan_options.quick) */
    struct mcl_pending *pending;
    size_t n_pending, cap_pending;
};

/* What a context and its mcl_context_create_shared children share. The
 * tuning database is read-only once the first context is created; the
 * program list and refs are guarded by lock. */
struct mcl_shared {
    pthread_mutex_t lock;
    unsigned refs;               /* contexts using it */
    mcl_program_entry *programs; /* in-memory program cache, a list */
    mcl_tunedb *tunedb;          /* owned */
};

/* ---- errors (status.c) ---- */

/* Records the message for mcl_last_error(), logs it through ctx (may be
 * NULL) and returns st. */
mcl_status mcl_fail(mcl_context *ctx, mcl_status st, const char *fmt, ...) MCL_PRINTF(3, 4);
/* For a failed OpenCL call: keeps err on ctx, maps it to a status. */
mcl_status mcl_cl_fail(mcl_context *ctx, cl_int err, const char *what);
void mcl_log(mcl_context *ctx, mcl_log_level lvl, const char *fmt, ...) MCL_PRINTF(3, 4);
const char *mcl_cl_error_name(cl_int err);
void mcl_clear_error(void);
/* A malloc'd copy of s (NULL if s is NULL or out of memory). */
char *mcl_strdup(const char *s);

/* ---- programs (program.c) ---- */

/* A -D option list, built up with mcl_defs_add. */
typedef struct mcl_defs {
    char text[512];
    size_t len;
    int overflow;
} mcl_defs;
void mcl_defs_add(mcl_defs *d, const char *name, long value);

/* Create kernel `kernel` from the program of family `family` (a file
 * cl_kernels/<family>.cl) built with `defs`; programs are cached. */
mcl_status mcl_kernel_get(mcl_context *ctx, const char *family, const mcl_defs *defs,
                          const char *kernel, cl_kernel *out);
/* Bundles: from mcl_programs_defer on, mcl_op_kernel only records the
 * program an op needs; mcl_programs_flush builds every recorded program
 * that is not cached yet as one OpenCL program (each variant's kernels
 * renamed apart), then ends the deferral. A driver pays a fixed cost per
 * program (POCL: ~0.09 s, mostly parsing its OpenCL C header), so a plan
 * builds one program instead of one per kernel variant. If the bundle
 * fails to build, a warning is logged and the variants are built one by
 * one as before (so a real build error is reported for its own variant).
 * flush(ctx, 0) drops the requests (a plan that failed). */
void mcl_programs_defer(mcl_context *ctx);
/* Record that a kernel of (family, defs) will be needed (deferred mode). */
mcl_status mcl_kernel_request(mcl_context *ctx, const char *family, const mcl_defs *defs);
mcl_status mcl_programs_flush(mcl_context *ctx, int build);
/* Releases the programs of a shared state (its last context is going). */
/* Write every program built from source and not yet saved to ctx's disk
 * cache (mcl_context_save_cache, mcl_context_destroy). Failures are logged;
 * with report they also give MCL_STATUS_IO_ERROR and set the last error. */
mcl_status mcl_programs_save(mcl_context *ctx, int report);
void mcl_programs_release(mcl_context *ctx, mcl_shared *sh);
/* Distinct programs in the context's in-memory cache (a bundle counts once). */
size_t mcl_programs_count(const mcl_context *ctx);

/* Embedded sources (generated at build time). */
typedef struct mcl_embedded_source {
    const char *name;
    const char *text;
    size_t size;
} mcl_embedded_source;
extern const mcl_embedded_source mcl_embedded_sources[];
extern const size_t mcl_embedded_count;

/* ---- tensors (tensor.c) ---- */

struct mcl_tensor {
    mcl_context *ctx;
    mcl_shape shape;
    mcl_layout layout;
    cl_mem buf;
    size_t bytes;
};

/* Channel blocks of a shape, ceil(c / block). */
static inline uint32_t mcl_cblocks(uint32_t c, uint32_t block) { return (c + block - 1) / block; }
/* Float count of a tensor of this shape and layout; 0 on overflow or zero dim. */
size_t mcl_tensor_floats(const mcl_shape *s, mcl_layout layout, uint32_t block);
mcl_status mcl_check_shape(mcl_context *ctx, const char *what, const mcl_shape *s);

/* ---- buffers ---- */
mcl_status mcl_buffer_upload(mcl_context *ctx, const void *host, size_t bytes, cl_mem *out);
void mcl_buffer_release(mcl_context *ctx, cl_mem *m);

/* ---- ops (op.c) ---- */

typedef struct mcl_op_vtable {
    const char *kind; /* "conv2d", "pool2d", ... */
    size_t min_in, max_in; /* number of inputs setup takes */
    /* choose kernel/variant, fill op->kernel, gws/lws, out shape, flops */
    mcl_status (*reshape)(mcl_op *op, size_t n_in, const mcl_shape *in, mcl_shape *out);
    /* set kernel arguments for op->in / op->out */
    mcl_status (*setup)(mcl_op *op);
    /* optional: extra tensors setup takes beyond the data inputs (residual) */
    size_t (*setup_extra)(const mcl_op *op);
    /* optional (ops with tunables): the tuning key for these shapes, see
     * mcl_op_tune_key; called by mcl_op_tunables during reshape */
    void (*tune_key)(const mcl_op *op, const mcl_shape *in, const mcl_shape *out, char *buf, size_t n);
    /* optional: custom enqueue (default: one NDRange) */
    mcl_status (*run)(mcl_op *op, cl_event *ev);
    void (*destroy)(mcl_op *op);
} mcl_op_vtable;

enum { MCL_OP_CREATED = 0, MCL_OP_RESHAPED = 1, MCL_OP_READY = 2 };
enum { MCL_TUN_SRC_NONE = 0, MCL_TUN_SRC_DEFAULT, MCL_TUN_SRC_USER, MCL_TUN_SRC_DB, MCL_TUN_SRC_DB_NEAR, MCL_TUN_SRC_QUICK };

struct mcl_op {
    mcl_context *ctx;
    const mcl_op_vtable *vt;
    int state;
    int has_family;
    mcl_family family;
    mcl_tunables tun;      /* in use after reshape */
    mcl_tunables tun_user; /* set by mcl_op_set_tunables */
    int tun_user_set;
    int tun_src;           /* MCL_TUN_SRC_*: where reshape took op->tun from */
    const char *kname;
    cl_kernel kernel;
    /* a kernel requested while program builds were deferred: created by
     * mcl_op_kernel_resolve */
    int kpending;
    const char *kfamily, *kfunc;
    mcl_defs kdefs;
    cl_uint dims;
    size_t gws[3], lws[3];
    int use_lws;
    size_t n_in;
    mcl_shape in_shape[2], out_shape;
    mcl_tensor *in[2], *out;
    double flops, bytes;
    void *impl;
};

mcl_status mcl_op_new(mcl_context *ctx, const mcl_op_vtable *vt, size_t impl_size, mcl_op **op);
/* The checks every mcl_*_create starts with: out non-NULL (set to NULL),
 * ctx non-NULL. Clears the thread's error message. */
mcl_status mcl_create_check(mcl_context *ctx, const char *kind, mcl_op **out);
/* Upload n floats (or zeros if src is NULL) padded with zeros to a whole
 * number of channel blocks. */
mcl_status mcl_upload_padded(mcl_context *ctx, const float *src, uint32_t n, cl_mem *out);
/* Fetch a kernel into op->kernel (releasing the previous one); while the
 * context defers builds, only record it (mcl_programs_defer). */
mcl_status mcl_op_kernel(mcl_op *op, const char *family, const mcl_defs *defs, const char *kernel);
/* Create the kernel an op recorded while builds were deferred (no-op
 * otherwise). */
mcl_status mcl_op_kernel_resolve(mcl_op *op);
/* Set kernel arg i to a cl_mem / int; returns a status naming the op. */
mcl_status mcl_arg_mem(mcl_op *op, cl_kernel k, cl_uint i, cl_mem m);
mcl_status mcl_arg_int(mcl_op *op, cl_kernel k, cl_uint i, int v);
mcl_status mcl_arg_float(mcl_op *op, cl_kernel k, cl_uint i, float v);
/* gws rounded up to a multiple of wg (wg 0: no local size). */
void mcl_op_set_range(mcl_op *op, cl_uint dims, size_t g0, size_t g1, size_t g2, uint32_t wg);
/* Default work-group size along dim 0: explicit and small on CPUs (a
 * driver-chosen one can put the whole grid in one group, on one core). */
static inline uint32_t mcl_default_wg(const mcl_context *ctx) { return ctx->info.is_gpu ? 0u : 8u; }
/* Resolve tunables for reshape to in -> out: the user's (validated against
 * the space), else the context's tuning database entry for the op's key
 * (validated at load), else `def`. */
mcl_status mcl_op_tunables(mcl_op *op, mcl_family fam, const mcl_tunables *def, const mcl_shape *in,
                           const mcl_shape *out);
/* 1 if t (every field explicit, wg 0 allowed) lies in family f's space and
 * within the device's work-group limits; else 0 and a reason in why. */
int mcl_tunables_fit(const mcl_context *ctx, mcl_family f, const mcl_tunables *t, char *why, size_t n);
/* The default run: one NDRange of op->kernel with the reshape's sizes. */
mcl_status mcl_op_enqueue(mcl_op *op, cl_event *ev);
mcl_status mcl_enqueue(mcl_context *ctx, cl_kernel k, cl_uint dims, const size_t *gws,
                       const size_t *lws, cl_event *ev, const char *what);

/* ---- graph-runtime extensions of the ops (see graph/plan.c) ---- */

/* Bind tensors without the public shape checks (the plan guarantees the
 * geometry: outputs may be larger tensors the op writes a part of). */
mcl_status mcl_op_bind(mcl_op *op, mcl_tensor *in0, mcl_tensor *in1, mcl_tensor *out);
/* A tensor over an existing buffer (retained), e.g. one the memory planner
 * shares between tensors. */
mcl_status mcl_tensor_wrap(mcl_context *ctx, cl_mem buf, const mcl_shape *shape, mcl_layout layout,
                           mcl_tensor **out);
/* Pool: fused activation, and the output as blocks [ooff, ooff + own) of
 * a tensor with onb blocks per image (onb 0: a tensor of its own). */
mcl_status mcl_pool2d_set_ext(mcl_op *op, mcl_activation act, uint32_t onb, uint32_t ooff);
/* Pointwise conv output extensions (before reshape), see pwconv.cl:
 * oslot (NULL: none) has out_blocks * block entries; otherwise the output
 * is blocks [ooff, ...) of a tensor of onb blocks per image. npass pass
 * blocks of psrc/pdst (block entries each) copy from the tensor bound with
 * mcl_conv2d_bind_pass. The tables are copied. */
typedef struct mcl_conv_ext {
    const int32_t *oslot;
    uint32_t onb, ooff;
    const int32_t *psrc, *pdst;
    uint32_t npass;
} mcl_conv_ext;
mcl_status mcl_conv2d_set_ext(mcl_op *op, const mcl_conv_ext *e);
/* Upload e's slot and pass tables (oslot: rup(out_channels) entries). */
mcl_status mcl_conv_ext_upload(mcl_context *ctx, const mcl_conv_ext *e, uint32_t out_channels, cl_mem *oslot,
                               cl_mem *psrc, cl_mem *pdst);
mcl_status mcl_conv2d_bind_pass(mcl_op *op, mcl_tensor *pin);
/* Direct conv: the input tensor is plain NCHW (before reshape). */
mcl_status mcl_conv2d_set_nchw_input(mcl_op *op);
/* Fused depthwise + dense 1x1 (dwpw.cl): dw over C channels (groups C),
 * wdw [C][KH][KW]; pw C -> OUT, wpw [OUT][C]; biases [C] / [OUT]. */
mcl_status mcl_dwpw_create(mcl_context *ctx, const mcl_conv2d_desc *dw, const float *wdw, const float *bdw,
                           const mcl_conv2d_desc *pw, const float *wpw, const float *bpw, mcl_op **op);
/* The same output extensions on a dwpw op (mcl_conv2d_set_ext and
 * mcl_conv2d_bind_pass dispatch to these). */
int mcl_op_is_dwpw(const mcl_op *op);
mcl_status mcl_dwpw_set_ext(mcl_op *op, const mcl_conv_ext *e);
void mcl_dwpw_bind_pass(mcl_op *op, mcl_tensor *pin);
/* Slot gather (channel.cl): nblk table blocks of src/dst slots. */
mcl_status mcl_slot_gather_create(mcl_context *ctx, const int32_t *src, const int32_t *dst, uint32_t nblk,
                                  mcl_op **op);

/* ---- tuning database (tunedb.c) ---- */

typedef struct mcl_tune_entry {
    char *key;
    mcl_tunables t;
    double ms, default_ms;
} mcl_tune_entry;

struct mcl_tunedb {
    char name[128], driver[128]; /* device name and driver version */
    uint32_t compute_units;
    mcl_tune_entry *e;
    size_t n, cap;
};

/* Parse a database file's text (strict, bounds-checked). On failure returns
 * a status and a reason ("line 3: ...") in why; *db is NULL. */
mcl_status mcl_tunedb_parse(const char *text, size_t len, mcl_tunedb **db, char *why, size_t wn);
void mcl_tunedb_free(mcl_tunedb *db);
/* Validate an on-disk program binary cache entry (host/program.c, format
 * "MCLBIN01" | u64 key[2] | u64 size | u64 hash | payload) held in memory:
 * NULL if buf is a valid entry for key (a, b), with *payload pointing into
 * buf; else the reason it is rejected. Reads nothing outside buf[0, size). */
const char *mcl_bincache_parse(const unsigned char *buf, size_t size, uint64_t key_a, uint64_t key_b,
                               const unsigned char **payload, size_t *payload_size);
/* Load `path` for ctx (context creation): a problem is logged once
 * (MCL_LOG_WARN) and leaves ctx->tunedb NULL; entries that do not fit the
 * device are dropped, reported in one message. */
void mcl_tunedb_attach(mcl_context *ctx, const char *path);
/* The same for a database held in memory; label names it in the reports. */
void mcl_tunedb_attach_bytes(mcl_context *ctx, const void *data, size_t size, const char *label);
/* The entry for key: exact, else the nearest shape of its class (the same
 * key but "hw=", pixel counts within a factor of 4; *near = 1); or NULL. */
const mcl_tune_entry *mcl_tunedb_lookup(const mcl_tunedb *db, const char *key, int *near);
/* The family a key names (its first word); -1 if none. */
int mcl_tune_key_family(const char *key);

/* Shared validation helpers. */
mcl_status mcl_check_activation(mcl_activation a);
mcl_status mcl_check_blocked(mcl_op *op, const char *what, const mcl_tensor *t, const mcl_shape *want);

#endif
