/* Fault injection through the OpenCL function table (host/clapi.h): every
 * OpenCL call a whole op pipeline makes is made to fail in turn, and each
 * failure must come back as a non-OK status with a message — no crash, no
 * abort — after which a clean run still gives the reference answer. */
#define _GNU_SOURCE 1
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "clapi.h"
#include "mobicl.h"
#include "ref.h"

/* ---- the injector: the real table, with one function failing at call k ---- */

typedef enum {
    F_CREATE_BUFFER, F_BUILD_PROGRAM, F_CREATE_KERNEL, F_SET_ARG, F_ENQUEUE_ND, F_WRITE, F_READ,
    F_CREATE_CONTEXT, F_CREATE_QUEUE, F_FINISH, F_COUNT
} fault_fn;
static const char *k_fn_name[F_COUNT] = {"clCreateBuffer", "clBuildProgram", "clCreateKernel", "clSetKernelArg",
                                         "clEnqueueNDRangeKernel", "clEnqueueWriteBuffer", "clEnqueueReadBuffer",
                                         "clCreateContext", "clCreateCommandQueue", "clFinish"};

static const mcl_cl_api *g_real;
static mcl_cl_api g_fake;
static long g_calls[F_COUNT];
static int g_fail_fn = -1;
static long g_fail_at = -1;

static int trip(fault_fn f) { return g_calls[f]++ == g_fail_at && (int)f == g_fail_fn; }

static cl_mem CL_API_CALL f_create_buffer(cl_context c, cl_mem_flags fl, size_t n, void *p, cl_int *e)
{
    if (trip(F_CREATE_BUFFER)) {
        if (e)
            *e = CL_MEM_OBJECT_ALLOCATION_FAILURE;
        return NULL;
    }
    return g_real->clCreateBuffer(c, fl, n, p, e);
}
static cl_int CL_API_CALL f_build(cl_program p, cl_uint n, const cl_device_id *d, const char *o,
                                  void(CL_CALLBACK *cb)(cl_program, void *), void *u)
{
    return trip(F_BUILD_PROGRAM) ? CL_BUILD_PROGRAM_FAILURE : g_real->clBuildProgram(p, n, d, o, cb, u);
}
static cl_kernel CL_API_CALL f_create_kernel(cl_program p, const char *name, cl_int *e)
{
    if (trip(F_CREATE_KERNEL)) {
        if (e)
            *e = CL_OUT_OF_HOST_MEMORY;
        return NULL;
    }
    return g_real->clCreateKernel(p, name, e);
}
static cl_int CL_API_CALL f_set_arg(cl_kernel k, cl_uint i, size_t s, const void *v)
{
    return trip(F_SET_ARG) ? CL_INVALID_ARG_VALUE : g_real->clSetKernelArg(k, i, s, v);
}
static cl_int CL_API_CALL f_enqueue(cl_command_queue q, cl_kernel k, cl_uint d, const size_t *o, const size_t *g,
                                    const size_t *l, cl_uint ne, const cl_event *w, cl_event *ev)
{
    return trip(F_ENQUEUE_ND) ? CL_OUT_OF_RESOURCES : g_real->clEnqueueNDRangeKernel(q, k, d, o, g, l, ne, w, ev);
}
static cl_int CL_API_CALL f_write(cl_command_queue q, cl_mem m, cl_bool b, size_t off, size_t n, const void *p,
                                  cl_uint ne, const cl_event *w, cl_event *ev)
{
    return trip(F_WRITE) ? CL_OUT_OF_RESOURCES : g_real->clEnqueueWriteBuffer(q, m, b, off, n, p, ne, w, ev);
}
static cl_int CL_API_CALL f_read(cl_command_queue q, cl_mem m, cl_bool b, size_t off, size_t n, void *p, cl_uint ne,
                                 const cl_event *w, cl_event *ev)
{
    return trip(F_READ) ? CL_OUT_OF_RESOURCES : g_real->clEnqueueReadBuffer(q, m, b, off, n, p, ne, w, ev);
}
static cl_context CL_API_CALL f_create_context(const cl_context_properties *pr, cl_uint n, const cl_device_id *d,
                                               void(CL_CALLBACK *cb)(const char *, const void *, size_t, void *),
                                               void *u, cl_int *e)
{
    if (trip(F_CREATE_CONTEXT)) {
        if (e)
            *e = CL_OUT_OF_HOST_MEMORY;
        return NULL;
    }
    return g_real->clCreateContext(pr, n, d, cb, u, e);
}
static cl_command_queue CL_API_CALL f_create_queue(cl_context c, cl_device_id d, cl_command_queue_properties p,
                                                   cl_int *e)
{
    if (trip(F_CREATE_QUEUE)) {
        if (e)
            *e = CL_OUT_OF_RESOURCES;
        return NULL;
    }
    return g_real->clCreateCommandQueue(c, d, p, e);
}
static cl_int CL_API_CALL f_finish(cl_command_queue q)
{
    /* the real finish still runs, so that no work is left in flight */
    cl_int e = g_real->clFinish(q);
    return trip(F_FINISH) ? CL_OUT_OF_RESOURCES : e;
}

static void install(void)
{
    mcl_cl_api_override(NULL);
    g_real = mcl_cl_api_get();
    cr_assert(g_real != NULL, "no OpenCL: %s", mcl_last_error());
    g_fake = *g_real;
    g_fake.clCreateBuffer = f_create_buffer;
    g_fake.clBuildProgram = f_build;
    g_fake.clCreateKernel = f_create_kernel;
    g_fake.clSetKernelArg = f_set_arg;
    g_fake.clEnqueueNDRangeKernel = f_enqueue;
    g_fake.clEnqueueWriteBuffer = f_write;
    g_fake.clEnqueueReadBuffer = f_read;
    g_fake.clCreateContext = f_create_context;
    g_fake.clCreateCommandQueue = f_create_queue;
    g_fake.clFinish = f_finish;
    mcl_cl_api_override(&g_fake);
}

/* ---- the pipeline under test: a grouped 1x1 conv with residual and a
 * depthwise conv, through tensors, upload and download ---- */

#define N 1
#define C 24
#define H 9
#define W 7

typedef struct data {
    float x[N * C * H * W], r[N * C * H * W], wp[C * (C / 3)], wd[C * 9], b[C];
    float want_pw[N * C * H * W], want_dw[N * C * H * W];
} data;

static void make_data(data *d)
{
    ref_fill_uniform(d->x, sizeof d->x / 4, 1, -1, 1);
    ref_fill_uniform(d->r, sizeof d->r / 4, 2, -1, 1);
    ref_fill_uniform(d->wp, sizeof d->wp / 4, 3, -1, 1);
    ref_fill_uniform(d->wd, sizeof d->wd / 4, 4, -1, 1);
    ref_fill_uniform(d->b, sizeof d->b / 4, 5, -1, 1);
    ref_conv2d_params pw = {.n = N, .c = C, .h = H, .w = W, .out_c = C, .groups = 3, .kh = 1, .kw = 1, .sh = 1,
                            .sw = 1, .act = 2};
    ref_conv2d(&pw, d->x, d->wp, d->b, d->r, d->want_pw);
    ref_conv2d_params dw = {.n = N, .c = C, .h = H, .w = W, .out_c = C, .groups = C, .kh = 3, .kw = 3, .sh = 1,
                            .sw = 1, .pt = 1, .pl = 1, .pb = 1, .pr = 1, .act = 1};
    ref_conv2d(&dw, d->want_pw, d->wd, d->b, NULL, d->want_dw);
}

/* Runs everything; returns the first failing status (cleaning up all). */
static mcl_status pipeline(const data *d, float *got)
{
    mcl_context *ctx = NULL;
    mcl_tensor *x = NULL, *r = NULL, *rn = NULL, *y = NULL, *z = NULL;
    mcl_op *pw = NULL, *dw = NULL;
    mcl_shape s = {N, C, H, W}, o;
    mcl_conv2d_desc dp = {.in_channels = C, .out_channels = C, .groups = 3, .kernel_h = 1, .kernel_w = 1,
                          .stride_h = 1, .stride_w = 1, .activation = MCL_ACT_RELU6, .residual = 1};
    mcl_conv2d_desc dd = {.in_channels = C, .out_channels = C, .groups = C, .kernel_h = 3, .kernel_w = 3,
                          .stride_h = 1, .stride_w = 1, .pad_top = 1, .pad_left = 1, .pad_bottom = 1,
                          .pad_right = 1, .activation = MCL_ACT_RELU};
    mcl_status st;
#define TRY(call)                         \
    if ((st = (call)) != MCL_STATUS_OK) \
        goto done;
    TRY(mcl_context_create(NULL, &ctx));
    TRY(mcl_tensor_create(ctx, &s, MCL_LAYOUT_BLOCKED, &x));
    TRY(mcl_tensor_create(ctx, &s, MCL_LAYOUT_BLOCKED, &r));
    TRY(mcl_tensor_create(ctx, &s, MCL_LAYOUT_BLOCKED, &y));
    TRY(mcl_tensor_create(ctx, &s, MCL_LAYOUT_BLOCKED, &z));
    TRY(mcl_tensor_write(x, d->x, N * C * H * W));
    /* the residual goes in through an NCHW tensor and an on-device convert */
    TRY(mcl_tensor_create(ctx, &s, MCL_LAYOUT_NCHW, &rn));
    TRY(mcl_tensor_write(rn, d->r, N * C * H * W));
    TRY(mcl_tensor_convert(ctx, rn, r));
    TRY(mcl_conv2d_create(ctx, &dp, d->wp, d->b, &pw));
    TRY(mcl_conv2d_create(ctx, &dd, d->wd, d->b, &dw));
    TRY(mcl_op_reshape(pw, 1, &s, &o));
    TRY(mcl_op_reshape(dw, 1, &s, &o));
    mcl_tensor *in_pw[2] = {x, r};
    TRY(mcl_op_setup(pw, 2, in_pw, y));
    TRY(mcl_op_setup(dw, 1, &y, z));
    TRY(mcl_op_run(pw, NULL));
    TRY(mcl_op_run(dw, NULL));
    TRY(mcl_context_finish(ctx));
    TRY(mcl_tensor_read(z, got, N * C * H * W));
#undef TRY
done:
    mcl_op_destroy(pw);
    mcl_op_destroy(dw);
    mcl_tensor_destroy(x);
    mcl_tensor_destroy(r);
    mcl_tensor_destroy(rn);
    mcl_tensor_destroy(y);
    mcl_tensor_destroy(z);
    mcl_context_destroy(ctx);
    return st;
}

static void check_clean(const data *d, const char *when)
{
    static float got[N * C * H * W];
    ref_fill_nan(got, N * C * H * W);
    g_fail_fn = -1;
    mcl_status st = pipeline(d, got);
    cr_assert(st == MCL_STATUS_OK, "%s: clean pipeline failed: %s", when, mcl_last_error());
    ref_mismatch m;
    cr_assert(ref_compare(got, d->want_dw, N * C * H * W, 1e-4, 1e-4, &m),
              "%s: clean pipeline differs from the reference at %zu: got %g want %g", when, m.first, m.got, m.want);
}

Test(faults, every_opencl_failure_is_a_status)
{
    static data d;
    make_data(&d);
    install();
    memset(g_calls, 0, sizeof g_calls);
    check_clean(&d, "before injection");
    long clean_calls[F_COUNT];
    memcpy(clean_calls, g_calls, sizeof g_calls);
    static float got[N * C * H * W];
    int injected = 0;
    for (int f = 0; f < F_COUNT; f++) {
        cr_assert(clean_calls[f] > 0, "the pipeline never calls %s: the injector misses it", k_fn_name[f]);
        /* the last clFinish is mcl_context_destroy's, which has no status to
         * return (a void destructor, like free) */
        long last = f == F_FINISH ? clean_calls[f] - 1 : clean_calls[f];
        for (long k = 0; k < last; k++) {
            memset(g_calls, 0, sizeof g_calls);
            g_fail_fn = f;
            g_fail_at = k;
            mcl_status st = pipeline(&d, got);
            cr_assert(st != MCL_STATUS_OK, "%s failing at call %ld went unnoticed", k_fn_name[f], k);
            cr_assert(strlen(mcl_last_error()) > 0, "%s failing at call %ld: status %s without a message",
                      k_fn_name[f], k, mcl_status_string(st));
            if (f == F_CREATE_BUFFER)
                cr_assert(st == MCL_STATUS_OUT_OF_MEMORY, "clCreateBuffer failure at call %ld gave %s, not out of memory",
                          k, mcl_status_string(st));
            if (f == F_BUILD_PROGRAM)
                cr_assert(st == MCL_STATUS_BUILD_FAILED, "clBuildProgram failure at call %ld gave %s", k,
                          mcl_status_string(st));
            injected++;
        }
    }
    cr_assert(injected > 20, "only %d failures injected", injected);
    check_clean(&d, "after injection");
    mcl_cl_api_override(NULL);
}

static cl_int CL_API_CALL no_platform(cl_uint n, cl_platform_id *p, cl_uint *np)
{
    (void)n;
    (void)p;
    if (np)
        *np = 0;
    return -1001; /* CL_PLATFORM_NOT_FOUND_KHR: the ICD loader found no driver */
}

Test(faults, no_platform_is_no_device)
{
    install();
    g_fake.clGetPlatformIDs = no_platform;
    mcl_context *ctx = (mcl_context *)1;
    mcl_status st = mcl_context_create(NULL, &ctx);
    cr_assert(st == MCL_STATUS_NO_DEVICE, "got %s", mcl_status_string(st));
    cr_assert(ctx == NULL, "context output not cleared on failure");
    cr_assert(strstr(mcl_last_error(), "platform") != NULL, "message does not name the cause: %s", mcl_last_error());
    size_t count = 7;
    st = mcl_device_list(NULL, 0, &count);
    cr_assert(st == MCL_STATUS_NO_DEVICE && count == 0, "device list: %s, count %zu", mcl_status_string(st), count);
    mcl_cl_api_override(NULL);
}
