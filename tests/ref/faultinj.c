/* OpenCL fault injection and object tracking for tests: see faultinj.h. */
#include "faultinj.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../host/clapi.h"

/* ---- function numbering, from the table's own list ---- */

enum {
#define FI_ENUM_(ret, name, params) FN_##name,
    MCL_CL_FUNCS(FI_ENUM_)
#undef FI_ENUM_
    FN_COUNT_
};
static const char *const k_fn_names[FN_COUNT_] = {
#define FI_NAME_(ret, name, params) #name,
    MCL_CL_FUNCS(FI_NAME_)
#undef FI_NAME_
};
static const char *const k_kind_names[FI_KINDS] = {"context", "queue", "program", "kernel", "mem", "event"};

/* ---- state (one mutex) ---- */

typedef struct obj {
    const void *h;
    fi_kind kind;
    long refs;
} obj;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static const mcl_cl_api *g_real;
static mcl_cl_api g_fake;
static long g_calls, g_fn_calls[FN_COUNT_], g_arm;
static int g_fired;
static const char *g_fired_fn;
static cl_int g_fired_err;
static obj *g_objs;
static size_t g_nobj, g_capobj;
static long g_live[FI_KINDS], g_created[FI_KINDS], g_bad_releases;
static int g_trace_on, g_paused, g_poison;
static unsigned char *g_trace; /* function of each call since fi_reset, when tracing */
static size_t g_trace_cap;

/* Counts the call; 1 if it is the armed one (then err is its error). */
static int trip(int fn, cl_int err)
{
    pthread_mutex_lock(&g_lock);
    if (g_paused) {
        pthread_mutex_unlock(&g_lock);
        return 0;
    }
    g_fn_calls[fn]++;
    int hit = ++g_calls == g_arm;
    if (g_trace_on) {
        if ((size_t)g_calls > g_trace_cap) {
            size_t cap = g_trace_cap ? 2 * g_trace_cap : 4096;
            unsigned char *n = realloc(g_trace, cap);
            if (n) {
                g_trace = n;
                g_trace_cap = cap;
            }
        }
        if ((size_t)g_calls <= g_trace_cap)
            g_trace[g_calls - 1] = (unsigned char)fn;
    }
    if (hit) {
        g_fired = 1;
        g_fired_fn = k_fn_names[fn];
        g_fired_err = err;
    }
    pthread_mutex_unlock(&g_lock);
    return hit;
}

static obj *find(const void *h)
{
    for (size_t i = 0; i < g_nobj; i++)
        if (g_objs[i].h == h)
            return &g_objs[i];
    return NULL;
}

/* A new reference to h: a create (created counted) or a retain. */
static void track_ref(const void *h, fi_kind k, int create)
{
    if (!h)
        return;
    pthread_mutex_lock(&g_lock);
    obj *o = find(h);
    if (!o) {
        if (g_nobj == g_capobj) {
            size_t cap = g_capobj ? 2 * g_capobj : 256;
            obj *n = realloc(g_objs, cap * sizeof *n);
            if (!n) { /* cannot track: count it as a bad release so tests notice */
                g_bad_releases++;
                pthread_mutex_unlock(&g_lock);
                return;
            }
            g_objs = n;
            g_capobj = cap;
        }
        o = &g_objs[g_nobj++];
        o->h = h;
        o->kind = k;
        o->refs = 0;
    }
    o->refs++;
    g_live[k]++;
    if (create)
        g_created[k]++;
    pthread_mutex_unlock(&g_lock);
}

static void track_release(const void *h)
{
    pthread_mutex_lock(&g_lock);
    obj *o = find(h);
    if (!o) {
        g_bad_releases++;
    } else {
        g_live[o->kind]--;
        if (--o->refs == 0)
            *o = g_objs[--g_nobj];
    }
    pthread_mutex_unlock(&g_lock);
}

#define SET(e, v) \
    if (e)        \
        *(e) = (v);

/* ---- queries: fail without side effects ---- */

static cl_int CL_API_CALL w_get_platform_ids(cl_uint n, cl_platform_id *p, cl_uint *np)
{
    return trip(FN_clGetPlatformIDs, CL_OUT_OF_HOST_MEMORY) ? CL_OUT_OF_HOST_MEMORY
                                                            : g_real->clGetPlatformIDs(n, p, np);
}
static cl_int CL_API_CALL w_get_platform_info(cl_platform_id p, cl_platform_info i, size_t s, void *v, size_t *r)
{
    return trip(FN_clGetPlatformInfo, CL_OUT_OF_HOST_MEMORY) ? CL_OUT_OF_HOST_MEMORY
                                                             : g_real->clGetPlatformInfo(p, i, s, v, r);
}
static cl_int CL_API_CALL w_get_device_ids(cl_platform_id p, cl_device_type t, cl_uint n, cl_device_id *d,
                                           cl_uint *nd)
{
    return trip(FN_clGetDeviceIDs, CL_OUT_OF_RESOURCES) ? CL_OUT_OF_RESOURCES
                                                        : g_real->clGetDeviceIDs(p, t, n, d, nd);
}
static cl_int CL_API_CALL w_get_device_info(cl_device_id d, cl_device_info i, size_t s, void *v, size_t *r)
{
    return trip(FN_clGetDeviceInfo, CL_OUT_OF_HOST_MEMORY) ? CL_OUT_OF_HOST_MEMORY
                                                           : g_real->clGetDeviceInfo(d, i, s, v, r);
}
static cl_int CL_API_CALL w_get_program_info(cl_program p, cl_program_info i, size_t s, void *v, size_t *r)
{
    return trip(FN_clGetProgramInfo, CL_OUT_OF_RESOURCES) ? CL_OUT_OF_RESOURCES
                                                          : g_real->clGetProgramInfo(p, i, s, v, r);
}
static cl_int CL_API_CALL w_get_build_info(cl_program p, cl_device_id d, cl_program_build_info i, size_t s, void *v,
                                           size_t *r)
{
    return trip(FN_clGetProgramBuildInfo, CL_OUT_OF_RESOURCES) ? CL_OUT_OF_RESOURCES
                                                               : g_real->clGetProgramBuildInfo(p, d, i, s, v, r);
}
static cl_int CL_API_CALL w_get_wg_info(cl_kernel k, cl_device_id d, cl_kernel_work_group_info i, size_t s, void *v,
                                        size_t *r)
{
    return trip(FN_clGetKernelWorkGroupInfo, CL_OUT_OF_RESOURCES)
               ? CL_OUT_OF_RESOURCES
               : g_real->clGetKernelWorkGroupInfo(k, d, i, s, v, r);
}
static cl_int CL_API_CALL w_get_profiling(cl_event e, cl_profiling_info i, size_t s, void *v, size_t *r)
{
    return trip(FN_clGetEventProfilingInfo, CL_PROFILING_INFO_NOT_AVAILABLE)
               ? CL_PROFILING_INFO_NOT_AVAILABLE
               : g_real->clGetEventProfilingInfo(e, i, s, v, r);
}
static cl_int CL_API_CALL w_set_arg(cl_kernel k, cl_uint i, size_t s, const void *v)
{
    return trip(FN_clSetKernelArg, CL_OUT_OF_RESOURCES) ? CL_OUT_OF_RESOURCES : g_real->clSetKernelArg(k, i, s, v);
}
static cl_int CL_API_CALL w_build(cl_program p, cl_uint n, const cl_device_id *d, const char *o,
                                  void(CL_CALLBACK *cb)(cl_program, void *), void *u)
{
    return trip(FN_clBuildProgram, CL_BUILD_PROGRAM_FAILURE) ? CL_BUILD_PROGRAM_FAILURE
                                                             : g_real->clBuildProgram(p, n, d, o, cb, u);
}

/* ---- creates: NULL and nothing created on failure ---- */

static cl_context CL_API_CALL w_create_context(const cl_context_properties *pr, cl_uint n, const cl_device_id *d,
                                               void(CL_CALLBACK *cb)(const char *, const void *, size_t, void *),
                                               void *u, cl_int *e)
{
    if (trip(FN_clCreateContext, CL_OUT_OF_HOST_MEMORY)) {
        SET(e, CL_OUT_OF_HOST_MEMORY);
        return NULL;
    }
    cl_context c = g_real->clCreateContext(pr, n, d, cb, u, e);
    track_ref(c, FI_CONTEXT, 1);
    return c;
}
static cl_command_queue CL_API_CALL w_create_queue(cl_context c, cl_device_id d, cl_command_queue_properties p,
                                                   cl_int *e)
{
    if (trip(FN_clCreateCommandQueue, CL_OUT_OF_RESOURCES)) {
        SET(e, CL_OUT_OF_RESOURCES);
        return NULL;
    }
    cl_command_queue q = g_real->clCreateCommandQueue(c, d, p, e);
    track_ref(q, FI_QUEUE, 1);
    return q;
}
static cl_mem CL_API_CALL w_create_buffer(cl_context c, cl_mem_flags f, size_t n, void *p, cl_int *e)
{
    if (trip(FN_clCreateBuffer, CL_MEM_OBJECT_ALLOCATION_FAILURE)) {
        SET(e, CL_MEM_OBJECT_ALLOCATION_FAILURE);
        return NULL;
    }
    cl_mem m = NULL;
    if (g_poison && !p && !(f & (CL_MEM_USE_HOST_PTR | CL_MEM_COPY_HOST_PTR)) && n % sizeof(uint32_t) == 0) {
        /* born holding NaN (all bits set: a quiet NaN with a payload)
         * instead of whatever the allocator left */
        uint32_t *nan = malloc(n ? n : 1);
        if (nan) {
            memset(nan, 0xff, n);
            m = g_real->clCreateBuffer(c, f | CL_MEM_COPY_HOST_PTR, n, nan, e);
            free(nan);
        }
    }
    if (!m)
        m = g_real->clCreateBuffer(c, f, n, p, e);
    track_ref(m, FI_MEM, 1);
    return m;
}
static cl_program CL_API_CALL w_create_source(cl_context c, cl_uint n, const char **s, const size_t *l, cl_int *e)
{
    if (trip(FN_clCreateProgramWithSource, CL_OUT_OF_HOST_MEMORY)) {
        SET(e, CL_OUT_OF_HOST_MEMORY);
        return NULL;
    }
    cl_program p = g_real->clCreateProgramWithSource(c, n, s, l, e);
    track_ref(p, FI_PROGRAM, 1);
    return p;
}
static cl_program CL_API_CALL w_create_binary(cl_context c, cl_uint n, const cl_device_id *d, const size_t *l,
                                              const unsigned char **b, cl_int *bs, cl_int *e)
{
    if (trip(FN_clCreateProgramWithBinary, CL_INVALID_BINARY)) {
        SET(bs, CL_INVALID_BINARY);
        SET(e, CL_INVALID_BINARY);
        return NULL;
    }
    cl_program p = g_real->clCreateProgramWithBinary(c, n, d, l, b, bs, e);
    track_ref(p, FI_PROGRAM, 1);
    return p;
}
static cl_kernel CL_API_CALL w_create_kernel(cl_program p, const char *name, cl_int *e)
{
    if (trip(FN_clCreateKernel, CL_OUT_OF_HOST_MEMORY)) {
        SET(e, CL_OUT_OF_HOST_MEMORY);
        return NULL;
    }
    cl_kernel k = g_real->clCreateKernel(p, name, e);
    track_ref(k, FI_KERNEL, 1);
    return k;
}

/* ---- retains and releases ---- */

static cl_int CL_API_CALL w_retain_context(cl_context c)
{
    if (trip(FN_clRetainContext, CL_OUT_OF_HOST_MEMORY))
        return CL_OUT_OF_HOST_MEMORY;
    cl_int err = g_real->clRetainContext(c);
    if (err == CL_SUCCESS)
        track_ref(c, FI_CONTEXT, 0);
    return err;
}
static cl_int CL_API_CALL w_retain_mem(cl_mem m)
{
    if (trip(FN_clRetainMemObject, CL_OUT_OF_HOST_MEMORY))
        return CL_OUT_OF_HOST_MEMORY;
    cl_int err = g_real->clRetainMemObject(m);
    if (err == CL_SUCCESS)
        track_ref(m, FI_MEM, 0);
    return err;
}
/* Releases: the real release always runs (see faultinj.h). */
#define FI_RELEASE_(fname, type)                                     \
    static cl_int CL_API_CALL w_##fname(type h)                      \
    {                                                                \
        int fail = trip(FN_##fname, CL_OUT_OF_RESOURCES);            \
        track_release(h);                                            \
        cl_int err = g_real->fname(h);                               \
        return fail ? CL_OUT_OF_RESOURCES : err;                     \
    }
FI_RELEASE_(clReleaseContext, cl_context)
FI_RELEASE_(clReleaseCommandQueue, cl_command_queue)
FI_RELEASE_(clReleaseMemObject, cl_mem)
FI_RELEASE_(clReleaseProgram, cl_program)
FI_RELEASE_(clReleaseKernel, cl_kernel)
FI_RELEASE_(clReleaseEvent, cl_event)
#undef FI_RELEASE_

/* ---- enqueues and waits ---- */

static cl_int CL_API_CALL w_write(cl_command_queue q, cl_mem m, cl_bool b, size_t off, size_t n, const void *p,
                                  cl_uint ne, const cl_event *wl, cl_event *ev)
{
    if (trip(FN_clEnqueueWriteBuffer, CL_INVALID_COMMAND_QUEUE))
        return CL_INVALID_COMMAND_QUEUE;
    cl_int err = g_real->clEnqueueWriteBuffer(q, m, b, off, n, p, ne, wl, ev);
    if (err == CL_SUCCESS && ev)
        track_ref(*ev, FI_EVENT, 1);
    return err;
}
static cl_int CL_API_CALL w_read(cl_command_queue q, cl_mem m, cl_bool b, size_t off, size_t n, void *p, cl_uint ne,
                                 const cl_event *wl, cl_event *ev)
{
    if (trip(FN_clEnqueueReadBuffer, CL_OUT_OF_RESOURCES))
        return CL_OUT_OF_RESOURCES;
    cl_int err = g_real->clEnqueueReadBuffer(q, m, b, off, n, p, ne, wl, ev);
    if (err == CL_SUCCESS && ev)
        track_ref(*ev, FI_EVENT, 1);
    return err;
}
static cl_int CL_API_CALL w_enqueue(cl_command_queue q, cl_kernel k, cl_uint d, const size_t *o, const size_t *g,
                                    const size_t *l, cl_uint ne, const cl_event *wl, cl_event *ev)
{
    if (trip(FN_clEnqueueNDRangeKernel, CL_OUT_OF_RESOURCES))
        return CL_OUT_OF_RESOURCES;
    cl_int err = g_real->clEnqueueNDRangeKernel(q, k, d, o, g, l, ne, wl, ev);
    if (err == CL_SUCCESS && ev)
        track_ref(*ev, FI_EVENT, 1);
    return err;
}
static cl_int CL_API_CALL w_finish(cl_command_queue q)
{
    int fail = trip(FN_clFinish, CL_INVALID_COMMAND_QUEUE);
    cl_int err = g_real->clFinish(q);
    return fail ? CL_INVALID_COMMAND_QUEUE : err;
}
static cl_int CL_API_CALL w_flush(cl_command_queue q)
{
    int fail = trip(FN_clFlush, CL_OUT_OF_RESOURCES);
    cl_int err = g_real->clFlush(q);
    return fail ? CL_OUT_OF_RESOURCES : err;
}
static cl_int CL_API_CALL w_wait(cl_uint n, const cl_event *e)
{
    int fail = trip(FN_clWaitForEvents, CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
    cl_int err = g_real->clWaitForEvents(n, e);
    return fail ? CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST : err;
}

/* ---- the public side ---- */

int fi_install(void)
{
    mcl_cl_api_override(NULL);
    const mcl_cl_api *real = mcl_cl_api_get();
    if (!real)
        return -1;
    pthread_mutex_lock(&g_lock);
    g_real = real;
    /* every entry wrapped: a new table entry without a wrapper stays NULL
     * here only if the list below misses it, which the check catches */
    memset(&g_fake, 0, sizeof g_fake);
    g_fake.clGetPlatformIDs = w_get_platform_ids;
    g_fake.clGetPlatformInfo = w_get_platform_info;
    g_fake.clGetDeviceIDs = w_get_device_ids;
    g_fake.clGetDeviceInfo = w_get_device_info;
    g_fake.clCreateContext = w_create_context;
    g_fake.clRetainContext = w_retain_context;
    g_fake.clReleaseContext = w_clReleaseContext;
    g_fake.clCreateCommandQueue = w_create_queue;
    g_fake.clReleaseCommandQueue = w_clReleaseCommandQueue;
    g_fake.clCreateBuffer = w_create_buffer;
    g_fake.clReleaseMemObject = w_clReleaseMemObject;
    g_fake.clRetainMemObject = w_retain_mem;
    g_fake.clEnqueueWriteBuffer = w_write;
    g_fake.clEnqueueReadBuffer = w_read;
    g_fake.clCreateProgramWithSource = w_create_source;
    g_fake.clCreateProgramWithBinary = w_create_binary;
    g_fake.clBuildProgram = w_build;
    g_fake.clGetProgramInfo = w_get_program_info;
    g_fake.clGetProgramBuildInfo = w_get_build_info;
    g_fake.clReleaseProgram = w_clReleaseProgram;
    g_fake.clCreateKernel = w_create_kernel;
    g_fake.clReleaseKernel = w_clReleaseKernel;
    g_fake.clSetKernelArg = w_set_arg;
    g_fake.clGetKernelWorkGroupInfo = w_get_wg_info;
    g_fake.clEnqueueNDRangeKernel = w_enqueue;
    g_fake.clFinish = w_finish;
    g_fake.clFlush = w_flush;
    g_fake.clWaitForEvents = w_wait;
    g_fake.clReleaseEvent = w_clReleaseEvent;
    g_fake.clGetEventProfilingInfo = w_get_profiling;
    int missing = 0;
#define FI_CHECK_(ret, name, params) missing += g_fake.name == NULL;
    MCL_CL_FUNCS(FI_CHECK_)
#undef FI_CHECK_
    pthread_mutex_unlock(&g_lock);
    if (missing)
        return -2;
    mcl_cl_api_override(&g_fake);
    return 0;
}

void fi_uninstall(void) { mcl_cl_api_override(NULL); }

void fi_reset(void)
{
    pthread_mutex_lock(&g_lock);
    g_calls = 0;
    memset(g_fn_calls, 0, sizeof g_fn_calls);
    memset(g_created, 0, sizeof g_created);
    g_arm = 0;
    g_fired = 0;
    g_fired_fn = NULL;
    g_fired_err = CL_SUCCESS;
    g_bad_releases = 0;
    g_paused = 0;
    pthread_mutex_unlock(&g_lock);
}

void fi_forget(void)
{
    pthread_mutex_lock(&g_lock);
    g_nobj = 0;
    memset(g_live, 0, sizeof g_live);
    pthread_mutex_unlock(&g_lock);
}

void fi_arm(long n)
{
    pthread_mutex_lock(&g_lock);
    g_arm = n;
    g_fired = 0;
    pthread_mutex_unlock(&g_lock);
}

#define FI_GET_(type, expr)              \
    {                                    \
        pthread_mutex_lock(&g_lock);     \
        type v_ = (expr);                \
        pthread_mutex_unlock(&g_lock);   \
        return v_;                       \
    }
long fi_calls(void) FI_GET_(long, g_calls)
int fi_fired(void) FI_GET_(int, g_fired)
const char *fi_fired_fn(void) FI_GET_(const char *, g_fired_fn ? g_fired_fn : "")
cl_int fi_fired_error(void) FI_GET_(cl_int, g_fired_err)
long fi_live(fi_kind k) FI_GET_(long, (unsigned)k < FI_KINDS ? g_live[k] : 0)
long fi_created(fi_kind k) FI_GET_(long, (unsigned)k < FI_KINDS ? g_created[k] : 0)
long fi_bad_releases(void) FI_GET_(long, g_bad_releases)
#undef FI_GET_

void fi_poison(int on) { g_poison = on; }

void fi_pause(int on)
{
    pthread_mutex_lock(&g_lock);
    g_paused = on;
    pthread_mutex_unlock(&g_lock);
}

void fi_trace(int on)
{
    pthread_mutex_lock(&g_lock);
    g_trace_on = on;
    pthread_mutex_unlock(&g_lock);
}

const char *fi_trace_fn(long call)
{
    pthread_mutex_lock(&g_lock);
    const char *r = call >= 1 && call <= g_calls && (size_t)call <= g_trace_cap ? k_fn_names[g_trace[call - 1]] : "";
    pthread_mutex_unlock(&g_lock);
    return r;
}

long fi_calls_of(const char *fn)
{
    long n = 0;
    pthread_mutex_lock(&g_lock);
    for (int i = 0; i < FN_COUNT_; i++)
        if (strcmp(k_fn_names[i], fn) == 0)
            n = g_fn_calls[i];
    pthread_mutex_unlock(&g_lock);
    return n;
}

long fi_live_total(void)
{
    long n = 0;
    for (int k = 0; k < FI_KINDS; k++)
        n += fi_live((fi_kind)k);
    return n;
}

const char *fi_kind_name(fi_kind k) { return (unsigned)k < FI_KINDS ? k_kind_names[k] : "?"; }

void fi_describe_live(char *buf, size_t n)
{
    size_t len = 0;
    if (n)
        buf[0] = 0;
    for (int k = 0; k < FI_KINDS; k++) {
        long v = fi_live((fi_kind)k);
        if (v && len < n) {
            int w = snprintf(buf + len, n - len, "%s%s %ld", len ? ", " : "", k_kind_names[k], v);
            if (w > 0)
                len += (size_t)w;
        }
    }
}
