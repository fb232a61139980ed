/* Device enumeration and choice, context and queue. */
#include "internal.h"

#include <errno.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MCL_MAX_PLATFORMS 16
#define MCL_MAX_DEVICES 64

/* A device string, truncated to fit dst (drivers refuse a short buffer). */
static void info_str(const mcl_cl_api *cl, cl_device_id d, cl_device_info p, char *dst, size_t n)
{
    char tmp[8192];
    dst[0] = 0;
    if (cl->clGetDeviceInfo(d, p, sizeof tmp, tmp, NULL) != CL_SUCCESS)
        return;
    tmp[sizeof tmp - 1] = 0;
    size_t l = strlen(tmp);
    if (l >= n)
        l = n - 1;
    memcpy(dst, tmp, l);
    dst[l] = 0;
}

static uint64_t info_u64(const mcl_cl_api *cl, cl_device_id d, cl_device_info p, size_t size)
{
    uint64_t v64 = 0;
    uint32_t v32 = 0;
    size_t vs = 0;
    if (size == 8 && cl->clGetDeviceInfo(d, p, 8, &v64, NULL) == CL_SUCCESS)
        return v64;
    if (size == 4 && cl->clGetDeviceInfo(d, p, 4, &v32, NULL) == CL_SUCCESS)
        return v32;
    if (size == sizeof(size_t) && cl->clGetDeviceInfo(d, p, sizeof vs, &vs, NULL) == CL_SUCCESS)
        return vs;
    return 0;
}

static void fill_info(const mcl_cl_api *cl, cl_platform_id p, cl_device_id d, mcl_device_info *o)
{
    memset(o, 0, sizeof *o);
    if (cl->clGetPlatformInfo(p, CL_PLATFORM_NAME, sizeof o->platform_name, o->platform_name, NULL) !=
        CL_SUCCESS)
        o->platform_name[0] = 0;
    o->platform_name[sizeof o->platform_name - 1] = 0;
    info_str(cl, d, CL_DEVICE_NAME, o->name, sizeof o->name);
    info_str(cl, d, CL_DEVICE_VENDOR, o->vendor, sizeof o->vendor);
    info_str(cl, d, CL_DRIVER_VERSION, o->driver_version, sizeof o->driver_version);
    info_str(cl, d, CL_DEVICE_VERSION, o->device_version, sizeof o->device_version);
    info_str(cl, d, CL_DEVICE_OPENCL_C_VERSION, o->opencl_c_version, sizeof o->opencl_c_version);
    cl_device_type type = 0;
    if (cl->clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof type, &type, NULL) == CL_SUCCESS)
        o->is_gpu = (type & CL_DEVICE_TYPE_GPU) != 0;
    o->compute_units = (uint32_t)info_u64(cl, d, CL_DEVICE_MAX_COMPUTE_UNITS, 4);
    o->max_clock_mhz = (uint32_t)info_u64(cl, d, CL_DEVICE_MAX_CLOCK_FREQUENCY, 4);
    o->max_work_group_size = (size_t)info_u64(cl, d, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof(size_t));
    size_t wis[3] = {0, 0, 0};
    if (cl->clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof wis, wis, NULL) == CL_SUCCESS)
        memcpy(o->max_work_item_sizes, wis, sizeof wis);
    o->local_mem_bytes = info_u64(cl, d, CL_DEVICE_LOCAL_MEM_SIZE, 8);
    o->global_mem_bytes = info_u64(cl, d, CL_DEVICE_GLOBAL_MEM_SIZE, 8);
    o->max_alloc_bytes = info_u64(cl, d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, 8);
    o->has_images = info_u64(cl, d, CL_DEVICE_IMAGE_SUPPORT, 4) != 0;
    o->preferred_vector_width_float = (uint32_t)info_u64(cl, d, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT, 4);
    char ext[8192];
    info_str(cl, d, CL_DEVICE_EXTENSIONS, ext, sizeof ext);
    o->has_fp16 = strstr(ext, "cl_khr_fp16") != NULL;
}

/* All devices of all platforms, in order. */
static mcl_status enumerate(const mcl_cl_api *cl, cl_platform_id *plat_of, cl_device_id *devs,
                            uint32_t *pidx, size_t *n)
{
    cl_platform_id plats[MCL_MAX_PLATFORMS];
    cl_uint np = 0;
    *n = 0;
    cl_int err = cl->clGetPlatformIDs(MCL_MAX_PLATFORMS, plats, &np);
    if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */ || (err == CL_SUCCESS && np == 0))
        return mcl_fail(NULL, MCL_STATUS_NO_DEVICE, "no OpenCL platform is installed (clGetPlatformIDs found none)");
    if (err != CL_SUCCESS)
        return mcl_cl_fail(NULL, err, "clGetPlatformIDs");
    if (np > MCL_MAX_PLATFORMS)
        np = MCL_MAX_PLATFORMS;
    for (cl_uint p = 0; p < np; p++) {
        cl_uint nd = 0;
        cl_device_id d[MCL_MAX_DEVICES];
        if (cl->clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, MCL_MAX_DEVICES, d, &nd) != CL_SUCCESS)
            continue; /* a platform without devices is not an error */
        if (nd > MCL_MAX_DEVICES)
            nd = MCL_MAX_DEVICES;
        for (cl_uint i = 0; i < nd && *n < MCL_MAX_DEVICES; i++) {
            plat_of[*n] = plats[p];
            devs[*n] = d[i];
            pidx[*n] = p;
            (*n)++;
        }
    }
    return MCL_STATUS_OK;
}

mcl_status mcl_device_list(mcl_device_info *out, size_t cap, size_t *count)
{
    mcl_clear_error();
    if (!count)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "count is NULL");
    if (cap > 0 && !out)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "out is NULL while cap is %zu", cap);
    *count = 0;
    const mcl_cl_api *cl = mcl_cl_api_get();
    if (!cl)
        return MCL_STATUS_NO_OPENCL;
    cl_platform_id plats[MCL_MAX_DEVICES];
    cl_device_id devs[MCL_MAX_DEVICES];
    uint32_t pidx[MCL_MAX_DEVICES];
    size_t n = 0;
    mcl_status st = enumerate(cl, plats, devs, pidx, &n);
    if (st != MCL_STATUS_OK)
        return st;
    for (size_t i = 0; i < n && i < cap; i++) {
        fill_info(cl, plats[i], devs[i], &out[i]);
        out[i].platform_index = pidx[i];
        out[i].device_index = (uint32_t)i;
    }
    *count = n;
    return MCL_STATUS_OK;
}

static int ci_contains(const char *hay, const char *needle)
{
    size_t nl = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < nl && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == nl)
            return 1;
    }
    return nl == 0;
}

/* Picks the device: `sel` is an index or a name substring, NULL = default. */
static mcl_status choose(const mcl_cl_api *cl, const char *sel, const char *origin, cl_platform_id *pp,
                         cl_device_id *pd, mcl_device_info *info)
{
    cl_platform_id plats[MCL_MAX_DEVICES];
    cl_device_id devs[MCL_MAX_DEVICES];
    uint32_t pidx[MCL_MAX_DEVICES];
    size_t n = 0;
    mcl_status st = enumerate(cl, plats, devs, pidx, &n);
    if (st != MCL_STATUS_OK)
        return st;
    if (n == 0)
        return mcl_fail(NULL, MCL_STATUS_NO_DEVICE, "the OpenCL platforms list no device");
    long pick = -1;
    if (sel && *sel) {
        char *end = NULL;
        long idx = strtol(sel, &end, 10);
        if (end && *end == 0) {
            if (idx < 0 || (size_t)idx >= n)
                return mcl_fail(NULL, MCL_STATUS_NO_DEVICE, "%s device index %ld is out of range: %zu device(s)",
                                origin, idx, n);
            pick = idx;
        } else {
            for (size_t i = 0; i < n && pick < 0; i++) {
                mcl_device_info di;
                fill_info(cl, plats[i], devs[i], &di);
                if (ci_contains(di.name, sel) || ci_contains(di.platform_name, sel))
                    pick = (long)i;
            }
            if (pick < 0)
                return mcl_fail(NULL, MCL_STATUS_NO_DEVICE, "%s \"%s\" matches no device name among %zu device(s)",
                                origin, sel, n);
        }
    } else {
        for (size_t i = 0; i < n && pick < 0; i++) {
            cl_device_type t = 0;
            if (cl->clGetDeviceInfo(devs[i], CL_DEVICE_TYPE, sizeof t, &t, NULL) == CL_SUCCESS &&
                (t & CL_DEVICE_TYPE_GPU))
                pick = (long)i;
        }
        if (pick < 0)
            pick = 0;
    }
    *pp = plats[pick];
    *pd = devs[pick];
    fill_info(cl, plats[pick], devs[pick], info);
    info->platform_index = pidx[pick];
    info->device_index = (uint32_t)pick;
    return MCL_STATUS_OK;
}

char *mcl_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* A fresh shared state, ctx its only user. */
static mcl_status shared_new(mcl_context *ctx)
{
    mcl_shared *sh = calloc(1, sizeof *sh);
    if (!sh)
        return mcl_fail(NULL, MCL_STATUS_OUT_OF_MEMORY, "shared context state of %zu bytes", sizeof *sh);
    if (pthread_mutex_init(&sh->lock, NULL) != 0) {
        free(sh);
        return mcl_fail(NULL, MCL_STATUS_OUT_OF_MEMORY, "pthread_mutex_init for the program cache lock");
    }
    sh->refs = 1;
    ctx->shared = sh;
    return MCL_STATUS_OK;
}

/* Drops ctx's reference; the last one frees the programs and the database. */
static void shared_release(mcl_context *ctx)
{
    mcl_shared *sh = ctx->shared;
    if (!sh)
        return;
    ctx->shared = NULL;
    pthread_mutex_lock(&sh->lock);
    unsigned left = --sh->refs;
    pthread_mutex_unlock(&sh->lock);
    if (left)
        return;
    mcl_programs_release(ctx, sh);
    /* a context that failed before its database was handed over owns it */
    if (ctx->tunedb && ctx->tunedb != sh->tunedb)
        mcl_tunedb_free(ctx->tunedb);
    mcl_tunedb_free(sh->tunedb);
    pthread_mutex_destroy(&sh->lock);
    free(sh);
}

mcl_status mcl_context_create(const mcl_context_options *opt, mcl_context **out)
{
    mcl_clear_error();
    if (!out)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "context output pointer is NULL");
    *out = NULL;
    mcl_context_options def = {0};
    if (!opt)
        opt = &def;
    if (!opt->tuning_db_data && opt->tuning_db_size)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT,
                        "tuning_db_size %zu given without tuning_db_data (NULL)", opt->tuning_db_size);
    if (opt->block != 0 && opt->block != 4 && opt->block != 8 && opt->block != 16)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "block %u is not one of 0 (auto), 4, 8, 16",
                        opt->block);
    if ((unsigned)opt->log_level > MCL_LOG_DEBUG)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "log_level %d is not a mcl_log_level",
                        (int)opt->log_level);
    const mcl_cl_api *cl = mcl_cl_api_get();
    if (!cl)
        return MCL_STATUS_NO_OPENCL;

    mcl_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return mcl_fail(NULL, MCL_STATUS_OUT_OF_MEMORY, "context allocation of %zu bytes", sizeof *ctx);
    ctx->cl = cl;
    mcl_status st = shared_new(ctx);
    if (st != MCL_STATUS_OK)
        goto error;
    ctx->log = opt->log;
    ctx->log_user = opt->log_user;
    ctx->log_level = opt->log_level;
    ctx->profiling = opt->profiling != 0;
    if ((opt->cache_dir && !(ctx->cache_dir = mcl_strdup(opt->cache_dir))) ||
        (opt->kernel_dir && !(ctx->kernel_dir = mcl_strdup(opt->kernel_dir)))) {
        st = mcl_fail(NULL, MCL_STATUS_OUT_OF_MEMORY, "copying the option strings");
        goto error;
    }
    /* the cache folder's last component is created if missing; any other
     * failure shows up (logged) when the first entry is written */
    if (ctx->cache_dir && *ctx->cache_dir && mkdir(ctx->cache_dir, 0700) != 0 && errno != EEXIST)
        mcl_log(ctx, MCL_LOG_WARN, "binary cache: cannot create %s: %s", ctx->cache_dir, strerror(errno));

    const char *sel = opt->device, *origin = "options.device";
    if (!sel || !*sel) {
        sel = getenv("MOBICL_DEVICE");
        origin = "MOBICL_DEVICE";
    }
    st = choose(cl, sel, origin, &ctx->platform, &ctx->device, &ctx->info);
    if (st != MCL_STATUS_OK)
        goto error;
    ctx->block = opt->block ? opt->block : (ctx->info.is_gpu ? 4u : 16u);

    cl_int err = CL_SUCCESS;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)ctx->platform, 0};
    ctx->context = cl->clCreateContext(props, 1, &ctx->device, NULL, NULL, &err);
    if (!ctx->context || err != CL_SUCCESS) {
        st = mcl_cl_fail(ctx, err, "clCreateContext");
        goto error;
    }
    ctx->queue = cl->clCreateCommandQueue(ctx->context, ctx->device,
                                          ctx->profiling ? CL_QUEUE_PROFILING_ENABLE : 0, &err);
    if (!ctx->queue || err != CL_SUCCESS) {
        st = mcl_cl_fail(ctx, err, "clCreateCommandQueue");
        goto error;
    }
    mcl_log(ctx, MCL_LOG_INFO, "device %u: %s (%s), block %u", ctx->info.device_index, ctx->info.name,
            ctx->info.platform_name, ctx->block);
    /* tuning database: problems are logged and leave the defaults in use */
    const char *db = opt->tuning_db ? opt->tuning_db : getenv("MOBICL_TUNING_DB");
    if (opt->tuning_db_data)
        mcl_tunedb_attach_bytes(ctx, opt->tuning_db_data, opt->tuning_db_size, "(in memory)");
    else if (db && *db)
        mcl_tunedb_attach(ctx, db);
    ctx->shared->tunedb = ctx->tunedb;
    *out = ctx;
    return MCL_STATUS_OK;
error:
    mcl_context_destroy(ctx);
    return st;
}

void mcl_context_destroy(mcl_context *ctx)
{
    if (!ctx)
        return;
    if (ctx->queue)
        ctx->cl->clFinish(ctx->queue);
    if (ctx->shared)
        (void)mcl_programs_save(ctx, 0); /* failures were logged; a destructor cannot report them */
    if (ctx->queue)
        ctx->cl->clReleaseCommandQueue(ctx->queue);
    shared_release(ctx);
    if (ctx->context)
        ctx->cl->clReleaseContext(ctx->context);
    (void)mcl_programs_flush(ctx, 0); /* requests of a plan that never finished (none normally) */
    free(ctx->cache_dir);
    free(ctx->kernel_dir);
    free(ctx->build_log);
    free(ctx);
}

mcl_status mcl_context_create_shared(mcl_context *parent, mcl_context **out)
{
    mcl_clear_error();
    if (!out)
        return mcl_fail(parent, MCL_STATUS_INVALID_ARGUMENT, "shared context output pointer is NULL");
    *out = NULL;
    if (!parent)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "parent context is NULL");
    mcl_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return mcl_fail(parent, MCL_STATUS_OUT_OF_MEMORY, "context allocation of %zu bytes", sizeof *ctx);
    const mcl_cl_api *cl = parent->cl;
    ctx->cl = cl;
    ctx->platform = parent->platform;
    ctx->device = parent->device;
    ctx->info = parent->info;
    ctx->block = parent->block;
    ctx->profiling = parent->profiling;
    ctx->log = parent->log;
    ctx->log_user = parent->log_user;
    ctx->log_level = parent->log_level;
    ctx->tunedb = parent->shared->tunedb;
    /* a reference to the shared state first: the error path undoes it */
    pthread_mutex_lock(&parent->shared->lock);
    parent->shared->refs++;
    pthread_mutex_unlock(&parent->shared->lock);
    ctx->shared = parent->shared;
    mcl_status st = MCL_STATUS_OK;
    if ((parent->cache_dir && !(ctx->cache_dir = mcl_strdup(parent->cache_dir))) ||
        (parent->kernel_dir && !(ctx->kernel_dir = mcl_strdup(parent->kernel_dir)))) {
        st = mcl_fail(parent, MCL_STATUS_OUT_OF_MEMORY, "copying the option strings");
        goto error;
    }
    cl_int err = cl->clRetainContext(parent->context);
    if (err != CL_SUCCESS) {
        st = mcl_cl_fail(parent, err, "clRetainContext (shared context)");
        goto error;
    }
    ctx->context = parent->context;
    ctx->queue = cl->clCreateCommandQueue(ctx->context, ctx->device,
                                          ctx->profiling ? CL_QUEUE_PROFILING_ENABLE : 0, &err);
    if (!ctx->queue || err != CL_SUCCESS) {
        st = mcl_cl_fail(parent, err, "clCreateCommandQueue (shared context)");
        goto error;
    }
    *out = ctx;
    return MCL_STATUS_OK;
error:
    mcl_context_destroy(ctx);
    return st;
}

cl_context mcl_context_cl(const mcl_context *ctx) { return ctx ? ctx->context : NULL; }
cl_command_queue mcl_context_queue(const mcl_context *ctx) { return ctx ? ctx->queue : NULL; }
cl_device_id mcl_context_device(const mcl_context *ctx) { return ctx ? ctx->device : NULL; }
uint32_t mcl_context_block(const mcl_context *ctx) { return ctx ? ctx->block : 0; }
const mcl_device_info *mcl_context_device_info(const mcl_context *ctx) { return ctx ? &ctx->info : NULL; }
cl_int mcl_context_cl_error(const mcl_context *ctx) { return ctx ? ctx->last_cl_error : CL_SUCCESS; }
const char *mcl_context_build_log(const mcl_context *ctx)
{
    return ctx && ctx->build_log ? ctx->build_log : "";
}

mcl_status mcl_context_save_cache(mcl_context *ctx)
{
    mcl_clear_error();
    if (!ctx)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "mcl_context_save_cache: ctx is NULL");
    return mcl_programs_save(ctx, 1);
}

void mcl_context_cache_stats(const mcl_context *ctx, mcl_cache_stats *st)
{
    if (!st)
        return;
    if (!ctx) {
        memset(st, 0, sizeof *st);
        return;
    }
    *st = ctx->stats;
}

mcl_status mcl_context_finish(mcl_context *ctx)
{
    mcl_clear_error();
    if (!ctx)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "context is NULL");
    cl_int err = ctx->cl->clFinish(ctx->queue);
    return err == CL_SUCCESS ? MCL_STATUS_OK : mcl_cl_fail(ctx, err, "clFinish");
}
