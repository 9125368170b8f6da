/* ocl_loader.c — dlopen("libOpenCL.so.1") and the function table (ocl_loader.h). */
#include "ocl_loader.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static mr_ocl_api api;
static int api_ok;
static char load_why[256];

static void load(void)
{
    const char *name = getenv("MR_OPENCL_LIBRARY");
    if (!name || !*name)
        name = "libOpenCL.so.1";
    void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(load_why, sizeof load_why, "no OpenCL ICD loader (%s)", e ? e : name);
        return;
    }
#define MR_OCL_SYM(fn) \
    if (!(*(void **)&api.fn = dlsym(h, #fn))) { \
        snprintf(load_why, sizeof load_why, "the OpenCL ICD loader %s lacks %s", name, #fn); \
        dlclose(h); \
        return; \
    }
    MR_OCL_FUNCS(MR_OCL_SYM)
#undef MR_OCL_SYM
    api_ok = 1; /* the handle stays open for the life of the process */
}

const mr_ocl_api *mr_ocl_api_get(char *why, size_t cap)
{
    pthread_once(&once, load);
    if (api_ok)
        return &api;
    if (why && cap)
        snprintf(why, cap, "%s", load_why);
    return NULL;
}

const char *mr_ocl_strerror(cl_int code)
{
    switch (code) {
#define C(x) case x: return #x;
    C(CL_SUCCESS) C(CL_DEVICE_NOT_FOUND) C(CL_DEVICE_NOT_AVAILABLE) C(CL_COMPILER_NOT_AVAILABLE)
    C(CL_MEM_OBJECT_ALLOCATION_FAILURE) C(CL_OUT_OF_RESOURCES) C(CL_OUT_OF_HOST_MEMORY)
    C(CL_PROFILING_INFO_NOT_AVAILABLE) C(CL_BUILD_PROGRAM_FAILURE) C(CL_INVALID_VALUE)
    C(CL_INVALID_PLATFORM) C(CL_INVALID_DEVICE) C(CL_INVALID_CONTEXT) C(CL_INVALID_BINARY)
    C(CL_INVALID_BUILD_OPTIONS) C(CL_INVALID_PROGRAM) C(CL_INVALID_PROGRAM_EXECUTABLE)
    C(CL_INVALID_KERNEL_NAME) C(CL_INVALID_KERNEL) C(CL_INVALID_ARG_INDEX) C(CL_INVALID_ARG_VALUE)
    C(CL_INVALID_ARG_SIZE) C(CL_INVALID_KERNEL_ARGS) C(CL_INVALID_WORK_DIMENSION)
    C(CL_INVALID_WORK_GROUP_SIZE) C(CL_INVALID_GLOBAL_OFFSET) C(CL_INVALID_EVENT_WAIT_LIST)
    C(CL_INVALID_MEM_OBJECT) C(CL_INVALID_BUFFER_SIZE) C(CL_INVALID_COMMAND_QUEUE)
    C(CL_INVALID_OPERATION) C(CL_INVALID_GLOBAL_WORK_SIZE) C(CL_INVALID_DEVICE_TYPE)
#undef C
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
    default: return "unknown OpenCL error";
    }
}
