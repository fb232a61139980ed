/* libFuzzer harness: the .npy reader (mcl_npy_read in graph/npy.c). The
 * reader takes a path (it checks the file type and size first), so each
 * input is written to one temporary file made at start-up. No OpenCL
 * device needed. */
#include "mobicl_graph.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char g_path[64];
static int g_fd = -1;

static void cleanup(void)
{
    if (g_fd >= 0)
        unlink(g_path);
}

static int tmp_open(void)
{
    if (g_fd >= 0)
        return 1;
    const char *dir = getenv("TMPDIR");
    snprintf(g_path, sizeof g_path, "%s/mcl_fuzz_npy_XXXXXX", dir && strlen(dir) < 32 ? dir : "/tmp");
    g_fd = mkstemp(g_path);
    if (g_fd < 0)
        return 0;
    atexit(cleanup);
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!tmp_open())
        __builtin_trap();
    if (ftruncate(g_fd, 0) != 0 || pwrite(g_fd, data, size, 0) != (ssize_t)size)
        __builtin_trap();
    float *x = NULL;
    uint32_t dims[4] = {0};
    size_t ndim = 0;
    if (mcl_npy_read(g_path, &x, dims, &ndim) == MCL_STATUS_OK) {
        if (ndim > 4)
            __builtin_trap();
        size_t n = 1;
        for (size_t i = 0; i < ndim; i++)
            n *= dims[i];
        /* the data must hold every element: n floats after the header */
        if (n * sizeof(float) > size)
            __builtin_trap();
        volatile float sink = 0;
        for (size_t i = 0; i < n; i++)
            sink += x[i];
        (void)sink;
    } else if (x) {
        __builtin_trap();
    }
    free(x);
    return 0;
}
