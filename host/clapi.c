#include "clapi.h"
#include "internal.h"

#include <stddef.h>

static const mcl_cl_api *g_override;

#ifndef MOBICL_ANDROID
/* Desktop: link the ICD loader. */
static const mcl_cl_api g_linked = {
#define MCL_CL_LINK_(ret, name, params) .name = name,
    MCL_CL_FUNCS(MCL_CL_LINK_)
#undef MCL_CL_LINK_
};

const mcl_cl_api *mcl_cl_api_get(void)
{
    return g_override ? g_override : &g_linked;
}
#else
/* Android: no libOpenCL.so at link time (it is not part of the NDK); try the
 * places vendors put it. */
#include <dlfcn.h>
#include <pthread.h>

static const char *const k_paths[] = {
    "libOpenCL.so",
    "/system/vendor/lib64/libOpenCL.so",
    "/vendor/lib64/libOpenCL.so",
    "/system/lib64/libOpenCL.so",
    "/vendor/lib64/egl/libGLES_mali.so",
    "/system/vendor/lib64/egl/libGLES_mali.so",
    "/vendor/lib64/libOpenCL-pixel.so",
    "/system/vendor/lib/libOpenCL.so",
    "/vendor/lib/libOpenCL.so",
    "/system/lib/libOpenCL.so",
    "/vendor/lib/egl/libGLES_mali.so",
    "/system/vendor/lib/egl/libGLES_mali.so",
    "/vendor/lib/libOpenCL-pixel.so",
    "libGLES_mali.so",
    "libOpenCL-pixel.so",
};

static mcl_cl_api g_loaded;
static int g_loaded_ok;
static char g_load_msg[256];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void load_once(void)
{
    for (size_t i = 0; i < sizeof k_paths / sizeof k_paths[0]; i++) {
        void *h = dlopen(k_paths[i], RTLD_NOW | RTLD_LOCAL);
        if (!h)
            continue;
        int ok = 1;
#define MCL_CL_SYM_(ret, name, params)                                  \
        *(void **)(&g_loaded.name) = dlsym(h, #name);                   \
        if (!g_loaded.name) ok = 0;
        MCL_CL_FUNCS(MCL_CL_SYM_)
#undef MCL_CL_SYM_
        if (ok) {
            g_loaded_ok = 1;
            return;
        }
        snprintf(g_load_msg, sizeof g_load_msg, "%s lacks OpenCL 1.2 entry points", k_paths[i]);
        dlclose(h);
    }
    if (!g_load_msg[0])
        snprintf(g_load_msg, sizeof g_load_msg, "none of the %zu known libOpenCL.so locations could be opened",
                 sizeof k_paths / sizeof k_paths[0]);
}

const mcl_cl_api *mcl_cl_api_get(void)
{
    if (g_override)
        return g_override;
    pthread_once(&g_once, load_once);
    if (!g_loaded_ok) {
        mcl_fail(NULL, MCL_STATUS_NO_OPENCL, "OpenCL not available: %s", g_load_msg);
        return NULL;
    }
    return &g_loaded;
}
#endif

void mcl_cl_api_override(const mcl_cl_api *api)
{
    g_override = api;
}
