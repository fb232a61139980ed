/* bench_peak — the device's measured ceilings for the roofline of
 * bench/compare.py: peak FMA throughput and copy bandwidth, on mobicl's
 * default device (MOBICL_DEVICE selects another), timed with OpenCL
 * profiling events, the best of several runs (a ceiling: load on a shared
 * machine only slows a run, so the fastest is the closest to the device).
 * Prints one JSON object.
 *
 * FMA: every work-item runs 8 independent fma chains on float8 (or float16)
 * vectors for `iters` iterations (2 FLOPs per lane and fma); the result is
 * summed and stored so the compiler keeps the chains.
 * Copy: a float4 (and float16) copy kernel over a 128 MiB buffer; bytes
 * counted read + write.
 *
 * usage: bench_peak [--runs N] [--mib M] */
#define _POSIX_C_SOURCE 200809L
#include "mobicl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIE(...)                                                                                   \
    do {                                                                                           \
        fprintf(stderr, "bench_peak: " __VA_ARGS__);                                              \
        fprintf(stderr, "\n");                                                                     \
        exit(1);                                                                                   \
    } while (0)
#define CLK(call)                                                                                  \
    do {                                                                                           \
        cl_int e_ = (call);                                                                        \
        if (e_ != CL_SUCCESS)                                                                      \
            DIE("%s failed: OpenCL error %d", #call, (int)e_);                                     \
    } while (0)

static const char *k_src =
    "#define CHAINS(T, V) \\\n"
    "  T x0 = (T)(V), x1 = x0 + 1e-3f, x2 = x0 + 2e-3f, x3 = x0 + 3e-3f; \\\n"
    "  T x4 = x0 + 4e-3f, x5 = x0 + 5e-3f, x6 = x0 + 6e-3f, x7 = x0 + 7e-3f; \\\n"
    "  for (int i = 0; i < iters; i++) { \\\n"
    "    x0 = fma(x0, a, b); x1 = fma(x1, a, b); x2 = fma(x2, a, b); x3 = fma(x3, a, b); \\\n"
    "    x4 = fma(x4, a, b); x5 = fma(x5, a, b); x6 = fma(x6, a, b); x7 = fma(x7, a, b); } \\\n"
    "  T s = ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7));\n"
    "__kernel void fma8(__global float *out, float a, float b, int iters) {\n"
    "  CHAINS(float8, get_global_id(0) * 1e-6f)\n"
    "  float4 t = s.lo + s.hi; out[get_global_id(0)] = t.x + t.y + t.z + t.w;\n"
    "}\n"
    "__kernel void fma16(__global float *out, float a, float b, int iters) {\n"
    "  CHAINS(float16, get_global_id(0) * 1e-6f)\n"
    "  float8 u = s.lo + s.hi; float4 t = u.lo + u.hi; out[get_global_id(0)] = t.x + t.y + t.z + t.w;\n"
    "}\n"
    "__kernel void fma1(__global float *out, float a, float b, int iters) {\n"
    "  CHAINS(float, get_global_id(0) * 1e-6f)\n"
    "  float y0 = x0 + 1e-3f, y1 = x1 + 1e-3f, y2 = x2 + 1e-3f, y3 = x3 + 1e-3f;\n"
    "  float y4 = x4 + 1e-3f, y5 = x5 + 1e-3f, y6 = x6 + 1e-3f, y7 = x7 + 1e-3f;\n"
    "  for (int i = 0; i < iters; i++) {\n"
    "    y0 = fma(y0, a, b); y1 = fma(y1, a, b); y2 = fma(y2, a, b); y3 = fma(y3, a, b);\n"
    "    y4 = fma(y4, a, b); y5 = fma(y5, a, b); y6 = fma(y6, a, b); y7 = fma(y7, a, b); }\n"
    "  out[get_global_id(0)] = s + ((y0 + y1) + (y2 + y3)) + ((y4 + y5) + (y6 + y7));\n"
    "}\n"
    "__kernel void copy1(__global const float *src, __global float *dst) {\n"
    "  size_t i = get_global_id(0); dst[i] = src[i];\n"
    "}\n"
    "__kernel void copy4(__global const float4 *src, __global float4 *dst) {\n"
    "  size_t i = get_global_id(0); dst[i] = src[i];\n"
    "}\n"
    "__kernel void copy16(__global const float16 *src, __global float16 *dst) {\n"
    "  size_t i = get_global_id(0); dst[i] = src[i];\n"
    "}\n";

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The fastest of `runs` launches of k over gsize work-items, in seconds (one warm-up first). */
static double time_kernel(cl_command_queue q, cl_kernel k, size_t gsize, int runs)
{
    double t[64];
    CLK(clEnqueueNDRangeKernel(q, k, 1, NULL, &gsize, NULL, 0, NULL, NULL));
    CLK(clFinish(q));
    for (int r = 0; r < runs; r++) {
        cl_event ev;
        cl_ulong t0, t1;
        CLK(clEnqueueNDRangeKernel(q, k, 1, NULL, &gsize, NULL, 0, NULL, &ev));
        CLK(clWaitForEvents(1, &ev));
        CLK(clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL));
        CLK(clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL));
        clReleaseEvent(ev);
        t[r] = (double)(t1 - t0) * 1e-9;
    }
    qsort(t, (size_t)runs, sizeof t[0], cmp_double);
    return t[0];
}

static double max3(double a, double b, double c)
{
    const double m = a > b ? a : b;
    return m > c ? m : c;
}

static cl_kernel make_kernel(cl_program p, const char *name)
{
    cl_int e;
    cl_kernel k = clCreateKernel(p, name, &e);
    if (e != CL_SUCCESS)
        DIE("clCreateKernel(%s): OpenCL error %d", name, (int)e);
    return k;
}

static double fma_gflops(cl_command_queue q, cl_program p, const char *name, int lanes, cl_mem out, size_t gsize,
                         int runs)
{
    const cl_float a = 0.999999f, b = 1e-6f;
    const cl_int iters = 2048;
    cl_kernel k = make_kernel(p, name);
    CLK(clSetKernelArg(k, 0, sizeof out, &out));
    CLK(clSetKernelArg(k, 1, sizeof a, &a));
    CLK(clSetKernelArg(k, 2, sizeof b, &b));
    CLK(clSetKernelArg(k, 3, sizeof iters, &iters));
    const double s = time_kernel(q, k, gsize, runs);
    clReleaseKernel(k);
    return (double)gsize * 8.0 * lanes * 2.0 * iters / s / 1e9;
}

static double copy_gbs(cl_command_queue q, cl_program p, const char *name, int lanes, cl_mem src, cl_mem dst,
                       size_t bytes, int runs)
{
    cl_kernel k = make_kernel(p, name);
    CLK(clSetKernelArg(k, 0, sizeof src, &src));
    CLK(clSetKernelArg(k, 1, sizeof dst, &dst));
    const double s = time_kernel(q, k, bytes / (sizeof(cl_float) * (size_t)lanes), runs);
    clReleaseKernel(k);
    return 2.0 * (double)bytes / s / 1e9;
}

int main(int argc, char **argv)
{
    int runs = 15, mib = 128;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--mib") && i + 1 < argc)
            mib = atoi(argv[++i]);
        else
            DIE("usage: %s [--runs N (1-64)] [--mib M (16-1024)]", argv[0]);
    }
    if (runs < 1 || runs > 64 || mib < 16 || mib > 1024)
        DIE("--runs must be 1..64 and --mib 16..1024 (got %d, %d)", runs, mib);

    mcl_context *ctx = NULL;
    mcl_context_options opt = {0};
    opt.profiling = 1;
    if (mcl_context_create(&opt, &ctx) != MCL_STATUS_OK)
        DIE("mcl_context_create: %s", mcl_last_error());
    cl_context cl = mcl_context_cl(ctx);
    cl_command_queue q = mcl_context_queue(ctx);
    const mcl_device_info *di = mcl_context_device_info(ctx);

    cl_int e;
    cl_program p = clCreateProgramWithSource(cl, 1, &k_src, NULL, &e);
    if (e != CL_SUCCESS)
        DIE("clCreateProgramWithSource: OpenCL error %d", (int)e);
    cl_device_id dev;
    CLK(clGetCommandQueueInfo(q, CL_QUEUE_DEVICE, sizeof dev, &dev, NULL));
    if (clBuildProgram(p, 1, &dev, "-cl-mad-enable", NULL, NULL) != CL_SUCCESS) {
        char log[4096] = "";
        clGetProgramBuildInfo(p, dev, CL_PROGRAM_BUILD_LOG, sizeof log - 1, log, NULL);
        DIE("build failed:\n%s", log);
    }

    const size_t fma_items = 16384, bytes = (size_t)mib << 20;
    cl_mem out = clCreateBuffer(cl, CL_MEM_WRITE_ONLY, fma_items * 16 * sizeof(cl_float), NULL, &e); /* fma1 uses 16x the items */
    CLK(e);
    cl_mem src = clCreateBuffer(cl, CL_MEM_READ_WRITE, bytes, NULL, &e);
    CLK(e);
    cl_mem dst = clCreateBuffer(cl, CL_MEM_READ_WRITE, bytes, NULL, &e);
    CLK(e);
    const cl_float zero = 0.0f;
    CLK(clEnqueueFillBuffer(q, src, &zero, sizeof zero, 0, bytes, 0, NULL, NULL));
    CLK(clEnqueueFillBuffer(q, dst, &zero, sizeof zero, 0, bytes, 0, NULL, NULL));
    CLK(clFinish(q));

    /* fma1: scalar chains, 16 per work-item, that POCL vectorises across work-items */
    const double f1 = fma_gflops(q, p, "fma1", 2, out, fma_items * 16, runs);
    const double f8 = fma_gflops(q, p, "fma8", 8, out, fma_items, runs);
    const double f16 = fma_gflops(q, p, "fma16", 16, out, fma_items, runs);
    const double c1 = copy_gbs(q, p, "copy1", 1, src, dst, bytes, runs);
    const double c4 = copy_gbs(q, p, "copy4", 4, src, dst, bytes, runs);
    const double c16 = copy_gbs(q, p, "copy16", 16, src, dst, bytes, runs);

    printf("{\"device\":\"%s\",\"runs\":%d,\"fma_gflops\":%.2f,\"fma_float8_gflops\":%.2f,"
           "\"fma_float16_gflops\":%.2f,\"fma_scalar_gflops\":%.2f,\"copy_mib\":%d,\"copy_gbs\":%.2f,"
           "\"copy_float_gbs\":%.2f,\"copy_float4_gbs\":%.2f,\"copy_float16_gbs\":%.2f}\n",
           di->name, runs, max3(f1, f8, f16), f8, f16, f1, mib, max3(c1, c4, c16), c1, c4, c16);

    clReleaseMemObject(out);
    clReleaseMemObject(src);
    clReleaseMemObject(dst);
    clReleaseProgram(p);
    mcl_context_destroy(ctx);
    return 0;
}
