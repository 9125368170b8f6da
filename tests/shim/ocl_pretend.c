/* ocl_pretend.c — a fake OpenCL ICD loader for tests, reached through the
 * product's MR_OPENCL_LIBRARY. It dlopen()s the real loader
 * ($MR_TEST_OCL_REAL, default libOpenCL.so.1) and forwards every function
 * libmarsreplay looks up (src/ocl_loader.h), rewriting some device facts so
 * that paths a CPU-only driver such as PoCL cannot reach are tested on it:
 *
 *   MR_TEST_OCL_NO_FP64=1  no device has fp64: CL_DEVICE_EXTENSIONS loses the
 *                          cl_khr_fp64 token, CL_DEVICE_DOUBLE_FP_CONFIG and
 *                          the double vector widths answer 0
 *   MR_TEST_OCL_AS_GPU=1   CL_DEVICE_TYPE answers CL_DEVICE_TYPE_GPU
 *
 * The variables are read at each call. clGetDeviceIDs is passed through
 * unfiltered (libmarsreplay asks for CL_DEVICE_TYPE_ALL only).
 *
 * Each time this library is loaded (its constructor runs) it increments the
 * int `mr_test_ocl_loads` of the program, if the program exports one
 * (tests/test_device.c does, linked with export_dynamic): the count lives
 * outside this library, so it also sees an unload and reload.
 *
 * Without the real loader, clGetPlatformIDs answers CL_PLATFORM_NOT_FOUND_KHR
 * (no platform) and every other function fails. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "ocl_loader.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#define CL_PLATFORM_NOT_FOUND_KHR_ (-1001)

#define EXPORT __attribute__((visibility("default")))

static mr_ocl_api real;
static int real_ok;

__attribute__((constructor)) static void pretend_init(void)
{
    int *loads = (int *)dlsym(RTLD_DEFAULT, "mr_test_ocl_loads");
    if (loads)
        ++*loads;
    const char *name = getenv("MR_TEST_OCL_REAL");
    void *h = dlopen(name && *name ? name : "libOpenCL.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return;
#define PRETEND_SYM(fn) \
    if (!(*(void **)&real.fn = dlsym(h, #fn))) \
        return;
    MR_OCL_FUNCS(PRETEND_SYM)
#undef PRETEND_SYM
    real_ok = 1;
}

static int flag(const char *var)
{
    const char *v = getenv(var);
    return v && strcmp(v, "1") == 0;
}

/* The standard answer for a value of n bytes at src: CL_INVALID_VALUE when
 * the caller's buffer is too small. */
static cl_int answer(const void *src, size_t n, size_t size, void *value, size_t *size_ret)
{
    if (size_ret)
        *size_ret = n;
    if (value) {
        if (size < n)
            return CL_INVALID_VALUE;
        memcpy(value, src, n);
    }
    return CL_SUCCESS;
}

/* The real extension list without the token cl_khr_fp64. */
static cl_int extensions_without_fp64(cl_device_id d, size_t size, void *value, size_t *size_ret)
{
    size_t len = 0;
    cl_int rc = real.clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, 0, NULL, &len);
    if (rc != CL_SUCCESS)
        return rc;
    char *ext = malloc(len + 1), *out = malloc(len + 1);
    if (!ext || !out) {
        free(ext);
        free(out);
        return CL_OUT_OF_HOST_MEMORY;
    }
    rc = real.clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, len, ext, NULL);
    if (rc == CL_SUCCESS) {
        ext[len] = '\0';
        size_t n = 0;
        for (char *save = NULL, *tok = strtok_r(ext, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
            if (strcmp(tok, "cl_khr_fp64") == 0)
                continue;
            const size_t k = strlen(tok);
            if (n)
                out[n++] = ' ';
            memcpy(out + n, tok, k);
            n += k;
        }
        out[n] = '\0';
        rc = answer(out, n + 1, size, value, size_ret);
    }
    free(ext);
    free(out);
    return rc;
}

EXPORT cl_int clGetDeviceInfo(cl_device_id d, cl_device_info what, size_t size, void *value, size_t *size_ret)
{
    if (!real_ok)
        return CL_INVALID_DEVICE;
    if (flag("MR_TEST_OCL_NO_FP64")) {
        const cl_device_fp_config none = 0;
        const cl_uint zero = 0;
        switch (what) {
        case CL_DEVICE_EXTENSIONS:
            return extensions_without_fp64(d, size, value, size_ret);
        case CL_DEVICE_DOUBLE_FP_CONFIG:
            return answer(&none, sizeof none, size, value, size_ret);
        case CL_DEVICE_PREFERRED_VECTOR_WIDTH_DOUBLE:
        case CL_DEVICE_NATIVE_VECTOR_WIDTH_DOUBLE:
            return answer(&zero, sizeof zero, size, value, size_ret);
        default:
            break;
        }
    }
    if (what == CL_DEVICE_TYPE && flag("MR_TEST_OCL_AS_GPU")) {
        const cl_int rc = real.clGetDeviceInfo(d, what, size, value, size_ret);
        if (rc != CL_SUCCESS)
            return rc;
        const cl_device_type gpu = CL_DEVICE_TYPE_GPU;
        return answer(&gpu, sizeof gpu, size, value, size_ret);
    }
    return real.clGetDeviceInfo(d, what, size, value, size_ret);
}

EXPORT cl_int clGetPlatformIDs(cl_uint n, cl_platform_id *ids, cl_uint *count)
{
    if (!real_ok) {
        if (count)
            *count = 0;
        return CL_PLATFORM_NOT_FOUND_KHR_;
    }
    return real.clGetPlatformIDs(n, ids, count);
}

/* The rest: forwarded unchanged; without the real loader, an error. */
#define FWD(ret, fail, name, params, args) \
    EXPORT ret name params \
    { \
        return real_ok ? real.name args : (fail); \
    }
#define E CL_INVALID_OPERATION

FWD(cl_int, E, clGetPlatformInfo, (cl_platform_id p, cl_platform_info w, size_t s, void *v, size_t *r), (p, w, s, v, r))
FWD(cl_int, E, clGetDeviceIDs, (cl_platform_id p, cl_device_type t, cl_uint n, cl_device_id *d, cl_uint *c),
    (p, t, n, d, c))
FWD(cl_int, E, clReleaseContext, (cl_context c), (c))
FWD(cl_int, E, clReleaseCommandQueue, (cl_command_queue q), (q))
FWD(cl_int, E, clBuildProgram,
    (cl_program p, cl_uint n, const cl_device_id *d, const char *o, void(CL_CALLBACK *f)(cl_program, void *), void *u),
    (p, n, d, o, f, u))
FWD(cl_int, E, clGetProgramBuildInfo, (cl_program p, cl_device_id d, cl_program_build_info w, size_t s, void *v, size_t *r),
    (p, d, w, s, v, r))
FWD(cl_int, E, clGetProgramInfo, (cl_program p, cl_program_info w, size_t s, void *v, size_t *r), (p, w, s, v, r))
FWD(cl_int, E, clReleaseProgram, (cl_program p), (p))
FWD(cl_int, E, clReleaseKernel, (cl_kernel k), (k))
FWD(cl_int, E, clSetKernelArg, (cl_kernel k, cl_uint i, size_t s, const void *v), (k, i, s, v))
FWD(cl_int, E, clReleaseMemObject, (cl_mem m), (m))
FWD(cl_int, E, clEnqueueWriteBuffer,
    (cl_command_queue q, cl_mem m, cl_bool b, size_t o, size_t s, const void *p, cl_uint n, const cl_event *w, cl_event *e),
    (q, m, b, o, s, p, n, w, e))
FWD(cl_int, E, clEnqueueReadBuffer,
    (cl_command_queue q, cl_mem m, cl_bool b, size_t o, size_t s, void *p, cl_uint n, const cl_event *w, cl_event *e),
    (q, m, b, o, s, p, n, w, e))
FWD(cl_int, E, clEnqueueNDRangeKernel,
    (cl_command_queue q, cl_kernel k, cl_uint d, const size_t *o, const size_t *g, const size_t *l, cl_uint n,
     const cl_event *w, cl_event *e),
    (q, k, d, o, g, l, n, w, e))
FWD(cl_int, E, clFlush, (cl_command_queue q), (q))
FWD(cl_int, E, clFinish, (cl_command_queue q), (q))
FWD(cl_int, E, clGetEventProfilingInfo, (cl_event e, cl_profiling_info w, size_t s, void *v, size_t *r), (e, w, s, v, r))
FWD(cl_int, E, clReleaseEvent, (cl_event e), (e))

/* the constructors: an error code through the last argument */
#define FWD_NEW(type, name, params, args, errp) \
    EXPORT type name params \
    { \
        if (real_ok) \
            return real.name args; \
        if (errp) \
            *(errp) = CL_INVALID_OPERATION; \
        return NULL; \
    }
FWD_NEW(cl_context, clCreateContext,
        (const cl_context_properties *p, cl_uint n, const cl_device_id *d,
         void(CL_CALLBACK *f)(const char *, const void *, size_t, void *), void *u, cl_int *e),
        (p, n, d, f, u, e), e)
FWD_NEW(cl_command_queue, clCreateCommandQueue, (cl_context c, cl_device_id d, cl_command_queue_properties p, cl_int *e),
        (c, d, p, e), e)
FWD_NEW(cl_program, clCreateProgramWithSource, (cl_context c, cl_uint n, const char **s, const size_t *l, cl_int *e),
        (c, n, s, l, e), e)
FWD_NEW(cl_program, clCreateProgramWithBinary,
        (cl_context c, cl_uint n, const cl_device_id *d, const size_t *l, const unsigned char **b, cl_int *s, cl_int *e),
        (c, n, d, l, b, s, e), e)
FWD_NEW(cl_kernel, clCreateKernel, (cl_program p, const char *n, cl_int *e), (p, n, e), e)
FWD_NEW(cl_mem, clCreateBuffer, (cl_context c, cl_mem_flags f, size_t s, void *h, cl_int *e), (c, f, s, h, e), e)
