/* ocl_loader.h — the OpenCL entry points, resolved at run time.
 *
 * libmarsreplay never links libOpenCL: the ICD loader is dlopen()ed the
 * first time a device is asked for (--device opencl|auto, mr_probe_devices),
 * and only the functions below are looked up. A machine without the loader
 * runs everything else unchanged. The environment variable
 * MR_OPENCL_LIBRARY overrides the library name (tests: a path that does not
 * exist simulates a machine without OpenCL; tests/shim/ocl_pretend.c is a
 * fake loader that forwards to the real one and rewrites device facts). */
#ifndef MR_OCL_LOADER_H
#define MR_OCL_LOADER_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#include <stddef.h>

#define MR_OCL_FUNCS(X) \
    X(clGetPlatformIDs) X(clGetPlatformInfo) X(clGetDeviceIDs) X(clGetDeviceInfo) \
    X(clCreateContext) X(clReleaseContext) X(clCreateCommandQueue) X(clReleaseCommandQueue) \
    X(clCreateProgramWithSource) X(clCreateProgramWithBinary) X(clBuildProgram) \
    X(clGetProgramBuildInfo) X(clGetProgramInfo) X(clReleaseProgram) X(clCreateKernel) \
    X(clReleaseKernel) X(clSetKernelArg) X(clCreateBuffer) X(clReleaseMemObject) \
    X(clEnqueueWriteBuffer) X(clEnqueueReadBuffer) X(clEnqueueNDRangeKernel) X(clFlush) \
    X(clFinish) X(clGetEventProfilingInfo) X(clReleaseEvent)

typedef struct mr_ocl_api {
#define MR_OCL_PTR(name) __typeof__(&name) name;
    MR_OCL_FUNCS(MR_OCL_PTR)
#undef MR_OCL_PTR
} mr_ocl_api;

/* The table, loading the library on first use (thread-safe, once per
 * process). NULL if the loader or one of the functions is missing; then
 * `why` (may be NULL) receives a one-line reason. */
const mr_ocl_api *mr_ocl_api_get(char *why, size_t cap);
/* A short name for an OpenCL error code, e.g. "CL_OUT_OF_RESOURCES". */
const char *mr_ocl_strerror(cl_int code);

#endif
