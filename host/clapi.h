/* The OpenCL function table: every OpenCL call of the library goes through
 * it. On desktop it points at the ICD loader the library links; with
 * MOBICL_ANDROID it is filled by dlopen/dlsym from the vendor locations.
 * It is also the seam for fault-injection tests (mcl_cl_api_override). */
#ifndef MCL_CLAPI_H
#define MCL_CLAPI_H

#include "mobicl.h"

/* X(return type, name, parameter list) */
#define MCL_CL_FUNCS(X)                                                                            \
    X(cl_int, clGetPlatformIDs, (cl_uint, cl_platform_id *, cl_uint *))                            \
    X(cl_int, clGetPlatformInfo, (cl_platform_id, cl_platform_info, size_t, void *, size_t *))     \
    X(cl_int, clGetDeviceIDs, (cl_platform_id, cl_device_type, cl_uint, cl_device_id *, cl_uint *)) \
    X(cl_int, clGetDeviceInfo, (cl_device_id, cl_device_info, size_t, void *, size_t *))           \
    X(cl_context, clCreateContext,                                                                 \
      (const cl_context_properties *, cl_uint, const cl_device_id *,                               \
       void(CL_CALLBACK *)(const char *, const void *, size_t, void *), void *, cl_int *))         \
    X(cl_int, clReleaseContext, (cl_context))                                                      \
    X(cl_int, clRetainContext, (cl_context))                                                       \
    X(cl_command_queue, clCreateCommandQueue,                                                      \
      (cl_context, cl_device_id, cl_command_queue_properties, cl_int *))                           \
    X(cl_int, clReleaseCommandQueue, (cl_command_queue))                                           \
    X(cl_mem, clCreateBuffer, (cl_context, cl_mem_flags, size_t, void *, cl_int *))                \
    X(cl_int, clReleaseMemObject, (cl_mem))                                                        \
    X(cl_int, clRetainMemObject, (cl_mem))                                                         \
    X(cl_int, clEnqueueWriteBuffer,                                                                \
      (cl_command_queue, cl_mem, cl_bool, size_t, size_t, const void *, cl_uint, const cl_event *, \
       cl_event *))                                                                                \
    X(cl_int, clEnqueueReadBuffer,                                                                 \
      (cl_command_queue, cl_mem, cl_bool, size_t, size_t, void *, cl_uint, const cl_event *,       \
       cl_event *))                                                                                \
    X(cl_program, clCreateProgramWithSource,                                                       \
      (cl_context, cl_uint, const char **, const size_t *, cl_int *))                              \
    X(cl_program, clCreateProgramWithBinary,                                                       \
      (cl_context, cl_uint, const cl_device_id *, const size_t *, const unsigned char **,          \
       cl_int *, cl_int *))                                                                        \
    X(cl_int, clBuildProgram,                                                                      \
      (cl_program, cl_uint, const cl_device_id *, const char *,                                    \
       void(CL_CALLBACK *)(cl_program, void *), void *))                                           \
    X(cl_int, clGetProgramInfo, (cl_program, cl_program_info, size_t, void *, size_t *))           \
    X(cl_int, clGetProgramBuildInfo,                                                               \
      (cl_program, cl_device_id, cl_program_build_info, size_t, void *, size_t *))                 \
    X(cl_int, clReleaseProgram, (cl_program))                                                      \
    X(cl_kernel, clCreateKernel, (cl_program, const char *, cl_int *))                             \
    X(cl_int, clReleaseKernel, (cl_kernel))                                                        \
    X(cl_int, clSetKernelArg, (cl_kernel, cl_uint, size_t, const void *))                          \
    X(cl_int, clGetKernelWorkGroupInfo,                                                            \
      (cl_kernel, cl_device_id, cl_kernel_work_group_info, size_t, void *, size_t *))              \
    X(cl_int, clEnqueueNDRangeKernel,                                                              \
      (cl_command_queue, cl_kernel, cl_uint, const size_t *, const size_t *, const size_t *,       \
       cl_uint, const cl_event *, cl_event *))                                                     \
    X(cl_int, clFinish, (cl_command_queue))                                                        \
    X(cl_int, clFlush, (cl_command_queue))                                                         \
    X(cl_int, clWaitForEvents, (cl_uint, const cl_event *))                                        \
    X(cl_int, clReleaseEvent, (cl_event))                                                          \
    X(cl_int, clGetEventProfilingInfo, (cl_event, cl_profiling_info, size_t, void *, size_t *))

typedef struct mcl_cl_api {
#define MCL_CL_MEMBER_(ret, name, params) ret(CL_API_CALL *name) params;
    MCL_CL_FUNCS(MCL_CL_MEMBER_)
#undef MCL_CL_MEMBER_
} mcl_cl_api;

/* The table in use: loads it on first call. NULL (and the thread's error
 * message set, status MCL_STATUS_NO_OPENCL) if no OpenCL library loads. */
const mcl_cl_api *mcl_cl_api_get(void);

/* Testing seam: replace the table for contexts created afterwards (NULL
 * restores the real one). Not thread-safe; call before creating contexts. */
void mcl_cl_api_override(const mcl_cl_api *api);

#endif
