/* Status strings, the per-thread error message and logging. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

static _Thread_local char t_msg[1024];

const char *mcl_status_string(mcl_status s)
{
    switch (s) {
#define MCL_STATUS_CASE_(name, text) \
    case MCL_STATUS_##name:          \
        return text;
        MCL_STATUS_MAP(MCL_STATUS_CASE_)
#undef MCL_STATUS_CASE_
    default:
        return "unknown status";
    }
}

const char *mcl_last_error(void) { return t_msg; }

void mcl_clear_error(void) { t_msg[0] = 0; }

static void vlog(mcl_context *ctx, mcl_log_level lvl, const char *msg)
{
    if (ctx && ctx->log && lvl <= ctx->log_level)
        ctx->log(ctx->log_user, lvl, msg);
}

mcl_status mcl_fail(mcl_context *ctx, mcl_status st, const char *fmt, ...)
{
    char tmp[sizeof t_msg - 96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    snprintf(t_msg, sizeof t_msg, "%s: %s", mcl_status_string(st), tmp);
    vlog(ctx, MCL_LOG_ERROR, t_msg);
    return st;
}

void mcl_log(mcl_context *ctx, mcl_log_level lvl, const char *fmt, ...)
{
    if (!ctx || !ctx->log || lvl > ctx->log_level)
        return;
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    ctx->log(ctx->log_user, lvl, tmp);
}

const char *mcl_cl_error_name(cl_int err)
{
    switch (err) {
#define E(x) \
    case x:  \
        return #x;
        E(CL_SUCCESS) E(CL_DEVICE_NOT_FOUND) E(CL_DEVICE_NOT_AVAILABLE) E(CL_COMPILER_NOT_AVAILABLE)
        E(CL_MEM_OBJECT_ALLOCATION_FAILURE) E(CL_OUT_OF_RESOURCES) E(CL_OUT_OF_HOST_MEMORY)
        E(CL_PROFILING_INFO_NOT_AVAILABLE) E(CL_BUILD_PROGRAM_FAILURE) E(CL_INVALID_VALUE)
        E(CL_INVALID_DEVICE_TYPE) E(CL_INVALID_PLATFORM) E(CL_INVALID_DEVICE) E(CL_INVALID_CONTEXT)
        E(CL_INVALID_COMMAND_QUEUE) E(CL_INVALID_HOST_PTR) E(CL_INVALID_MEM_OBJECT)
        E(CL_INVALID_BINARY) E(CL_INVALID_BUILD_OPTIONS) E(CL_INVALID_PROGRAM)
        E(CL_INVALID_PROGRAM_EXECUTABLE) E(CL_INVALID_KERNEL_NAME) E(CL_INVALID_KERNEL)
        E(CL_INVALID_ARG_INDEX) E(CL_INVALID_ARG_VALUE) E(CL_INVALID_ARG_SIZE)
        E(CL_INVALID_KERNEL_ARGS) E(CL_INVALID_WORK_DIMENSION) E(CL_INVALID_WORK_GROUP_SIZE)
        E(CL_INVALID_WORK_ITEM_SIZE) E(CL_INVALID_GLOBAL_OFFSET) E(CL_INVALID_EVENT)
        E(CL_INVALID_OPERATION) E(CL_INVALID_BUFFER_SIZE) E(CL_INVALID_GLOBAL_WORK_SIZE)
#undef E
    case -1001:
        return "CL_PLATFORM_NOT_FOUND_KHR";
    default:
        return "unknown OpenCL error";
    }
}

mcl_status mcl_cl_fail(mcl_context *ctx, cl_int err, const char *what)
{
    if (ctx)
        ctx->last_cl_error = err;
    mcl_status st = MCL_STATUS_OPENCL_ERROR;
    if (err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_OUT_OF_HOST_MEMORY ||
        err == CL_OUT_OF_RESOURCES)
        st = MCL_STATUS_OUT_OF_MEMORY;
    return mcl_fail(ctx, st, "%s failed with %s (%d)", what, mcl_cl_error_name(err), (int)err);
}
