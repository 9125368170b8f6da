/* ocl_backend.c — the OpenCL backend (built with -Dopencl): the "opencl" row
 * of the backend table (backend.h); probe, selection, program cache.
 *
 * Engine level (once per engine, by its first mr_run with a device): load the
 * ICD loader, enumerate, pick a device, make a context, load the program from
 * the binary cache or build it, and upload the plan (ops, knots, term
 * registers, coefficients) into read-only buffers.
 *
 * Run level: each worker gets its own in-order queue, kernel object, two
 * device batch slots and host staging for one chunk. The worker parses and
 * decodes on the host as on the CPU path; every decoded block of 128 rows is
 * staged, and each full batch (up to 4096 rows) is sent with non-blocking
 * write / kernel / read commands while the worker goes on parsing the next
 * rows. At the end of the chunk (collect with flush) the worker waits for its
 * queue and takes the values back block by block, to be formatted as the
 * CPU's are, so the ordered writer sees exactly the bytes of the CPU path. */
#include <jansson.h>

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "error.h"
#include "ocl_cache.h"
#include "ocl_loader.h"

extern const char mr_kernel_replay_cl[];
extern const size_t mr_kernel_replay_cl_len;

#define MAX_TILE 4096 /* rows per device batch */

/* snprintf for messages: truncation is fine (and not worth a warning). */
__attribute__((format(printf, 3, 4))) static void bput(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
}

/* ---- device facts -------------------------------------------------------- */

typedef struct dev_facts {
    cl_platform_id pid;
    cl_device_id did;
    int p, d;
    char pname[128], pvendor[128], pversion[128];
    char name[128], vendor[128], version[128], driver[128], clc[64];
    cl_device_type type;
    cl_uint units;
    cl_ulong gmem, max_alloc;
    int fp64, available, compiler;
} dev_facts;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void pinfo(const mr_ocl_api *cl, cl_platform_id p, cl_platform_info what, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (cl->clGetPlatformInfo(p, what, cap, buf, NULL) != CL_SUCCESS)
        buf[0] = '\0';
    buf[cap - 1] = '\0';
}

static void dinfo_str(const mr_ocl_api *cl, cl_device_id d, cl_device_info what, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (cl->clGetDeviceInfo(d, what, cap, buf, NULL) != CL_SUCCESS)
        buf[0] = '\0';
    buf[cap - 1] = '\0';
}

/* "cl_khr_fp64" as a whole token of the extension list. */
static int has_token(const char *list, const char *tok)
{
    const size_t n = strlen(tok);
    for (const char *p = list; (p = strstr(p, tok)) != NULL; p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return 1;
    return 0;
}

static void facts_of(const mr_ocl_api *cl, dev_facts *f)
{
    dinfo_str(cl, f->did, CL_DEVICE_NAME, f->name, sizeof f->name);
    dinfo_str(cl, f->did, CL_DEVICE_VENDOR, f->vendor, sizeof f->vendor);
    dinfo_str(cl, f->did, CL_DEVICE_VERSION, f->version, sizeof f->version);
    dinfo_str(cl, f->did, CL_DRIVER_VERSION, f->driver, sizeof f->driver);
    dinfo_str(cl, f->did, CL_DEVICE_OPENCL_C_VERSION, f->clc, sizeof f->clc);
    if (cl->clGetDeviceInfo(f->did, CL_DEVICE_TYPE, sizeof f->type, &f->type, NULL) != CL_SUCCESS)
        f->type = 0;
    if (cl->clGetDeviceInfo(f->did, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof f->units, &f->units, NULL) != CL_SUCCESS)
        f->units = 0;
    if (cl->clGetDeviceInfo(f->did, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof f->gmem, &f->gmem, NULL) != CL_SUCCESS)
        f->gmem = 0;
    if (cl->clGetDeviceInfo(f->did, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof f->max_alloc, &f->max_alloc, NULL) != CL_SUCCESS)
        f->max_alloc = 0;
    cl_bool b = CL_FALSE;
    f->available = cl->clGetDeviceInfo(f->did, CL_DEVICE_AVAILABLE, sizeof b, &b, NULL) == CL_SUCCESS && b;
    b = CL_FALSE;
    f->compiler = cl->clGetDeviceInfo(f->did, CL_DEVICE_COMPILER_AVAILABLE, sizeof b, &b, NULL) == CL_SUCCESS && b;
    /* fp64: the extension (OpenCL 1.x/2.x; 3.0 devices with __opencl_c_fp64
     * report it too) or a non-zero double config (1.2 core query) */
    size_t len = 0;
    f->fp64 = 0;
    if (cl->clGetDeviceInfo(f->did, CL_DEVICE_EXTENSIONS, 0, NULL, &len) == CL_SUCCESS && len) {
        char *ext = malloc(len + 1);
        if (ext && cl->clGetDeviceInfo(f->did, CL_DEVICE_EXTENSIONS, len, ext, NULL) == CL_SUCCESS) {
            ext[len] = '\0';
            f->fp64 = has_token(ext, "cl_khr_fp64");
        }
        free(ext);
    }
    cl_device_fp_config fc = 0;
    if (!f->fp64 && cl->clGetDeviceInfo(f->did, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof fc, &fc, NULL) == CL_SUCCESS && fc)
        f->fp64 = 1;
}

/* Every device of every platform. 0 (n may be 0), or -1 with why. */
static int enumerate(const mr_ocl_api *cl, dev_facts **out, size_t *n, char *why, size_t cap)
{
    *out = NULL;
    *n = 0;
    cl_uint np = 0;
    cl_int rc = cl->clGetPlatformIDs(0, NULL, &np);
    if (rc == -1001 || (rc == CL_SUCCESS && np == 0)) {
        bput(why, cap, "no OpenCL platform (the ICD loader found no vendor driver: see OCL_ICD_VENDORS, /etc/OpenCL/vendors)");
        return -1;
    }
    if (rc != CL_SUCCESS) {
        bput(why, cap, "clGetPlatformIDs failed (%s)", mr_ocl_strerror(rc));
        return -1;
    }
    cl_platform_id *pids = calloc(np, sizeof *pids);
    if (!pids || cl->clGetPlatformIDs(np, pids, NULL) != CL_SUCCESS) {
        free(pids);
        bput(why, cap, "cannot list the OpenCL platforms");
        return -1;
    }
    dev_facts *v = NULL;
    size_t nv = 0;
    for (cl_uint p = 0; p < np; p++) {
        cl_uint nd = 0;
        if (cl->clGetDeviceIDs(pids[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd) != CL_SUCCESS || nd == 0)
            continue;
        cl_device_id *dids = calloc(nd, sizeof *dids);
        dev_facts *nvp = realloc(v, (nv + nd) * sizeof *v);
        if (!dids || !nvp) {
            free(dids);
            free(nvp ? nvp : v);
            free(pids);
            bput(why, cap, "out of memory");
            return -1;
        }
        v = nvp;
        if (cl->clGetDeviceIDs(pids[p], CL_DEVICE_TYPE_ALL, nd, dids, NULL) != CL_SUCCESS)
            nd = 0;
        for (cl_uint d = 0; d < nd; d++) {
            dev_facts *f = &v[nv++];
            memset(f, 0, sizeof *f);
            f->pid = pids[p];
            f->did = dids[d];
            f->p = (int)p;
            f->d = (int)d;
            pinfo(cl, pids[p], CL_PLATFORM_NAME, f->pname, sizeof f->pname);
            pinfo(cl, pids[p], CL_PLATFORM_VENDOR, f->pvendor, sizeof f->pvendor);
            pinfo(cl, pids[p], CL_PLATFORM_VERSION, f->pversion, sizeof f->pversion);
            facts_of(cl, f);
        }
        free(dids);
    }
    free(pids);
    *out = v;
    *n = nv;
    return 0;
}

static const char *type_name(cl_device_type t)
{
    if (t & CL_DEVICE_TYPE_GPU)
        return "gpu";
    if (t & CL_DEVICE_TYPE_ACCELERATOR)
        return "accelerator";
    if (t & CL_DEVICE_TYPE_CPU)
        return "cpu";
    return "other";
}

static int is_gpu_like(const dev_facts *f)
{
    return (f->type & (CL_DEVICE_TYPE_GPU | CL_DEVICE_TYPE_ACCELERATOR)) != 0;
}

/* 1 if the device can run the kernel at this precision, else 0 and why. */
static int usable(const dev_facts *f, int single, char *why, size_t cap)
{
    if (!f->available)
        bput(why, cap, "device not available");
    else if (!f->compiler)
        bput(why, cap, "no OpenCL C compiler for this device");
    else if (!single && !f->fp64)
        bput(why, cap, "no fp64 support (cl_khr_fp64): usable with single precision only");
    else
        return 1;
    return 0;
}

/* ---- probe ---------------------------------------------------------------- */

static char *ocl_probe_json(void)
{
    char why[256] = "";
    json_t *o = json_object();
    json_object_set_new(o, "opencl_compiled", json_true());
    const mr_ocl_api *cl = mr_ocl_api_get(why, sizeof why);
    dev_facts *v = NULL;
    size_t n = 0;
    json_t *plats = json_array();
    if (cl && enumerate(cl, &v, &n, why, sizeof why) == 0) {
        json_t *cur = NULL, *devs = NULL;
        int curp = -1;
        for (size_t i = 0; i < n; i++) {
            const dev_facts *f = &v[i];
            if (f->p != curp) {
                cur = json_object();
                curp = f->p;
                json_object_set_new(cur, "index", json_integer(f->p));
                json_object_set_new(cur, "name", json_string(f->pname));
                json_object_set_new(cur, "vendor", json_string(f->pvendor));
                json_object_set_new(cur, "version", json_string(f->pversion));
                devs = json_array();
                json_object_set_new(cur, "devices", devs);
                json_array_append_new(plats, cur);
            }
            json_t *d = json_object();
            char spec[32], wd[160] = "", ws[160] = "";
            bput(spec, sizeof spec, "opencl:%d.%d", f->p, f->d);
            const int ud = usable(f, 0, wd, sizeof wd), us = usable(f, 1, ws, sizeof ws);
            json_object_set_new(d, "index", json_integer(f->d));
            json_object_set_new(d, "spec", json_string(spec));
            json_object_set_new(d, "name", json_string(f->name));
            json_object_set_new(d, "vendor", json_string(f->vendor));
            json_object_set_new(d, "type", json_string(type_name(f->type)));
            json_object_set_new(d, "version", json_string(f->version));
            json_object_set_new(d, "opencl_c_version", json_string(f->clc));
            json_object_set_new(d, "driver_version", json_string(f->driver));
            json_object_set_new(d, "compute_units", json_integer(f->units));
            json_object_set_new(d, "global_mem_bytes", json_integer((json_int_t)f->gmem));
            json_object_set_new(d, "max_alloc_bytes", json_integer((json_int_t)f->max_alloc));
            json_object_set_new(d, "fp64", json_boolean(f->fp64));
            json_object_set_new(d, "usable_double", json_boolean(ud));
            json_object_set_new(d, "usable_single", json_boolean(us));
            json_object_set_new(d, "why_not", json_string(ud ? "" : wd));
            json_object_set_new(d, "auto_candidate", json_boolean(ud && is_gpu_like(f)));
            json_array_append_new(devs, d);
        }
        if (n == 0)
            bput(why, sizeof why, "no OpenCL device on any platform");
    }
    json_object_set_new(o, "available", json_boolean(n > 0));
    json_object_set_new(o, "reason", json_string(n > 0 ? "" : why));
    json_object_set_new(o, "platforms", plats);
    free(v);
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

/* ---- engine level ------------------------------------------------------------ */

typedef struct mr_ocl_engine {
    const mr_ocl_api *cl;
    cl_device_id did;
    cl_context ctx;
    cl_program prog;
    cl_mem ops, knot, term_reg, coef;
    int single;
    int no_cache; /* MR_OPT_NO_CACHE: the program cache is neither read nor written */
    size_t real; /* bytes per value on the device */
    cl_ulong gmem, max_alloc;
} mr_ocl_engine;

static void ocl_engine_close(void *dev)
{
    mr_ocl_engine *o = dev;
    if (!o)
        return;
    const mr_ocl_api *cl = o->cl;
    cl_mem *bufs[] = { &o->ops, &o->knot, &o->term_reg, &o->coef };
    for (size_t i = 0; i < 4; i++)
        if (*bufs[i])
            cl->clReleaseMemObject(*bufs[i]);
    if (o->prog)
        cl->clReleaseProgram(o->prog);
    if (o->ctx)
        cl->clReleaseContext(o->ctx);
    free(o);
}

/* First line of the build log, for a one-line message. */
static void build_log(const mr_ocl_engine *o, char *buf, size_t cap)
{
    buf[0] = '\0';
    size_t len = 0;
    if (o->cl->clGetProgramBuildInfo(o->prog, o->did, CL_PROGRAM_BUILD_LOG, 0, NULL, &len) != CL_SUCCESS || !len)
        return;
    char *log = malloc(len + 1);
    if (!log)
        return;
    if (o->cl->clGetProgramBuildInfo(o->prog, o->did, CL_PROGRAM_BUILD_LOG, len, log, NULL) == CL_SUCCESS) {
        log[len] = '\0';
        char *p = log;
        while (*p == '\n' || *p == ' ')
            p++;
        const size_t l = strcspn(p, "\n");
        bput(buf, cap, "%.*s", (int)(l < cap ? l : cap - 1), p);
    }
    free(log);
}

/* Binary of the built program, for the cache (malloc'd), or NULL. */
static unsigned char *program_binary(const mr_ocl_engine *o, size_t *len)
{
    size_t sz = 0;
    if (o->cl->clGetProgramInfo(o->prog, CL_PROGRAM_BINARY_SIZES, sizeof sz, &sz, NULL) != CL_SUCCESS || !sz)
        return NULL;
    unsigned char *bin = malloc(sz);
    if (!bin)
        return NULL;
    unsigned char *bins[1] = { bin };
    if (o->cl->clGetProgramInfo(o->prog, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) != CL_SUCCESS) {
        free(bin);
        return NULL;
    }
    *len = sz;
    return bin;
}

/* The kernel's opcode numbers come from plan.h here, never from its own
 * copy; no -cl-mad-enable, no -cl-fast-relaxed-math: IEEE operations as
 * written. */
static void build_options(int single, char *buf, size_t cap)
{
    _Static_assert(MR_REG_ONE == 0xffffffffu, "the kernel's registers are 32-bit");
    bput(buf, cap, "%s-DOP_LINEAR=%du -DOP_HINGE_R=%du -DOP_HINGE_L=%du -DOP_CAT=%du -DOP_MISS=%du -DOP_MUL=%du -DREG_ONE=%uu",
         single ? "-DMR_SINGLE " : "", MR_OP_LINEAR, MR_OP_HINGE_R, MR_OP_HINGE_L, MR_OP_CAT, MR_OP_MISS, MR_OP_MUL,
         (unsigned)MR_REG_ONE);
}

/* The program: from the cache if a valid binary for this exact source,
 * options, platform, device and driver is there, else built from source
 * (and stored). 0, or -1 with why. */
static int load_program(mr_ocl_engine *o, const dev_facts *f, mr_backend_info *in, char *why, size_t cap)
{
    const mr_ocl_api *cl = o->cl;
    char opts[256];
    build_options(o->single, opts, sizeof opts);
    const char *parts[] = { "mars-replay opencl program cache v1", mr_kernel_replay_cl, opts, f->pname,
                            f->pversion, f->name, f->version, f->driver };
    char key[65], dir[3800], path[4096];
    mr_ocl_cache_key(parts, sizeof parts / sizeof *parts, key);
    int have_dir = 0, trust;
    char distrust[300];
    if (o->no_cache)
        bput(in->cache, sizeof in->cache, "disabled");
    else if (mr_ocl_cache_dir(dir, sizeof dir) != 0)
        bput(in->cache, sizeof in->cache, "no cache directory (neither XDG_CACHE_HOME nor HOME is an absolute path)");
    else if ((trust = mr_ocl_cache_trust(dir, distrust, sizeof distrust)) != 0) /* another user could plant code */
        bput(in->cache, sizeof in->cache, trust == -2 ? "untrusted, not used: %s" : "built; not cached: %s", distrust);
    else
        have_dir = mr_ocl_cache_path(dir, key, path, sizeof path) == 0;
    cl_int rc;
    unsigned char *bin = NULL;
    size_t len = 0;
    char miss[300] = "";
    int stale = 0; /* a file was there but could not be used: it gets replaced */
    if (have_dir && mr_ocl_cache_load(dir, key, &bin, &len, miss, sizeof miss) != 0) {
        stale = strstr(miss, "not cached yet") == NULL;
        const char *colon = strstr(miss, ".clbin: "); /* keep the reason, not the path again */
        if (colon)
            memmove(miss, colon + 8, strlen(colon + 8) + 1);
    } else if (have_dir) {
        const unsigned char *b = bin;
        cl_int bst = CL_SUCCESS;
        o->prog = cl->clCreateProgramWithBinary(o->ctx, 1, &o->did, &len, &b, &bst, &rc);
        if (o->prog && rc == CL_SUCCESS && bst == CL_SUCCESS) {
            const double t0 = now();
            rc = cl->clBuildProgram(o->prog, 1, &o->did, opts, NULL, NULL);
            in->build_seconds = now() - t0;
            if (rc == CL_SUCCESS) {
                free(bin);
                in->kernel_cached = 1;
                bput(in->cache, sizeof in->cache, "%s", path);
                return 0;
            }
        }
        if (o->prog)
            cl->clReleaseProgram(o->prog);
        o->prog = NULL;
        bput(miss, sizeof miss, "the driver rejected the cached binary (%s)",
             mr_ocl_strerror(rc != CL_SUCCESS ? rc : bst));
        stale = 1;
    }
    free(bin);
    const char *src = mr_kernel_replay_cl;
    o->prog = cl->clCreateProgramWithSource(o->ctx, 1, &src, &mr_kernel_replay_cl_len, &rc);
    if (!o->prog || rc != CL_SUCCESS) {
        bput(why, cap, "clCreateProgramWithSource failed (%s)", mr_ocl_strerror(rc));
        return -1;
    }
    const double t0 = now();
    rc = cl->clBuildProgram(o->prog, 1, &o->did, opts, NULL, NULL);
    in->build_seconds = now() - t0;
    if (rc != CL_SUCCESS) {
        char log[160];
        build_log(o, log, sizeof log);
        bput(why, cap, "kernel build failed on %s (%s)%s%s", f->name, mr_ocl_strerror(rc),
                 log[0] ? ": " : "", log);
        return -1;
    }
    in->kernel_cached = 0;
    if (have_dir) {
        char serr[300] = "";
        unsigned char *out = program_binary(o, &len);
        if (!out)
            bput(in->cache, sizeof in->cache, "built; the driver gave no program binary to cache");
        else if (mr_ocl_cache_store(dir, key, out, len, serr, sizeof serr) == 0)
            bput(in->cache, sizeof in->cache, "%s%s%s%s", path, stale ? " (replaced: " : "",
                 stale ? miss : "", stale ? ")" : "");
        else
            bput(in->cache, sizeof in->cache, "built; not cached: %s", serr);
        free(out);
    }
    return 0;
}

static cl_mem upload(mr_ocl_engine *o, const void *data, size_t bytes, cl_int *rc)
{
    return o->cl->clCreateBuffer(o->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes, (void *)data, rc);
}

/* The plan as the kernel reads it: ops as (code, a, b) triples, knots and
 * coefficients in the device precision. */
static int upload_plan(mr_ocl_engine *o, const mr_plan *p, char *why, size_t cap)
{
    const size_t nops = p->n_ops ? p->n_ops : 1, nt = p->n_terms ? p->n_terms : 1;
    cl_uint *ops = calloc(3 * nops, sizeof *ops);
    cl_uint *treg = calloc(nt, sizeof *treg);
    void *knot = calloc(nops, o->real), *coef = calloc(nt, o->real);
    int ok = ops && treg && knot && coef;
    for (size_t i = 0; ok && i < p->n_ops; i++) {
        ops[3 * i] = (cl_uint)p->ops[i].code;
        ops[3 * i + 1] = p->ops[i].a;
        ops[3 * i + 2] = p->ops[i].b;
        if (o->single)
            ((float *)knot)[i] = (float)p->ops[i].k;
        else
            ((double *)knot)[i] = p->ops[i].k;
    }
    for (size_t i = 0; ok && i < p->n_terms; i++) {
        treg[i] = p->term_reg[i]; /* MR_REG_ONE is the kernel's REG_ONE */
        if (o->single)
            ((float *)coef)[i] = (float)p->coef[i];
        else
            ((double *)coef)[i] = p->coef[i];
    }
    cl_int rc = CL_SUCCESS;
    if (ok) {
        o->ops = upload(o, ops, 3 * nops * sizeof *ops, &rc);
        if (rc == CL_SUCCESS)
            o->knot = upload(o, knot, nops * o->real, &rc);
        if (rc == CL_SUCCESS)
            o->term_reg = upload(o, treg, nt * sizeof *treg, &rc);
        if (rc == CL_SUCCESS)
            o->coef = upload(o, coef, nt * o->real, &rc);
        if (rc != CL_SUCCESS)
            bput(why, cap, "cannot create the plan buffers (%s)", mr_ocl_strerror(rc));
    } else {
        bput(why, cap, "out of memory");
    }
    free(ops);
    free(treg);
    free(knot);
    free(coef);
    return ok && rc == CL_SUCCESS ? 0 : -1;
}

static int setup(mr_engine *e, const mr_ocl_api *cl, const dev_facts *f, char *why, size_t cap)
{
    mr_ocl_engine *o = calloc(1, sizeof *o);
    if (!o) {
        bput(why, cap, "out of memory");
        return -1;
    }
    o->cl = cl;
    o->did = f->did;
    o->single = e->opt.single;
    o->no_cache = e->opt.no_cache;
    o->real = o->single ? sizeof(float) : sizeof(double);
    o->gmem = f->gmem;
    o->max_alloc = f->max_alloc;
    const cl_context_properties props[] = { CL_CONTEXT_PLATFORM, (cl_context_properties)f->pid, 0 };
    cl_int rc;
    o->ctx = cl->clCreateContext(props, 1, &f->did, NULL, NULL, &rc);
    if (!o->ctx || rc != CL_SUCCESS) {
        bput(why, cap, "clCreateContext failed on %s (%s)", f->name, mr_ocl_strerror(rc));
        ocl_engine_close(o);
        return -1;
    }
    if (load_program(o, f, &e->info, why, cap) != 0 || upload_plan(o, e->plan, why, cap) != 0) {
        ocl_engine_close(o);
        return -1;
    }
    cl_kernel k = cl->clCreateKernel(o->prog, "mr_replay", &rc);
    if (!k || rc != CL_SUCCESS) {
        bput(why, cap, "clCreateKernel failed on %s (%s)", f->name, mr_ocl_strerror(rc));
        ocl_engine_close(o);
        return -1;
    }
    cl->clReleaseKernel(k);
    e->dev = o;
    return 0;
}

static mr_status no_device(mr_engine *e, mr_error *err, const char *why)
{
    if (e->opt.device.kind == MR_DEV_OPENCL) {
        mr_err_set(err, MR_E_BACKEND, "%s", why);
        if (err)
            bput(err->source, sizeof err->source, "device %s", e->opt.device.text);
        return MR_E_BACKEND;
    }
    bput(e->info.fallback, sizeof e->info.fallback, "%s", why);
    return MR_OK;
}

static mr_status ocl_engine_open(mr_engine *e, mr_error *err)
{
    const double t0 = now();
    mr_backend_info *in = &e->info;
    const mr_device_spec *sp = &e->opt.device;
    const int single = e->opt.single;
    char why[320] = "", uw[160] = "";
    const mr_ocl_api *cl = mr_ocl_api_get(why, sizeof why);
    if (!cl)
        return no_device(e, err, why);
    dev_facts *v = NULL;
    size_t n = 0;
    if (enumerate(cl, &v, &n, why, sizeof why) != 0)
        return no_device(e, err, why);
    const dev_facts *pick = NULL;
    if (n == 0) {
        bput(why, sizeof why, "no OpenCL device on any platform");
    } else if (sp->platform >= 0) {
        for (size_t i = 0; i < n && !pick; i++)
            if (v[i].p == sp->platform && v[i].d == sp->device)
                pick = &v[i];
        if (!pick)
            bput(why, sizeof why, "no OpenCL device %d.%d (mars-replay probe lists the devices)",
                     sp->platform, sp->device);
        else if (!usable(pick, single, uw, sizeof uw)) {
            bput(why, sizeof why, "OpenCL device %d.%d (%s): %s", pick->p, pick->d, pick->name, uw);
            pick = NULL;
        }
    } else {
        for (size_t i = 0; i < n && !pick; i++) /* GPUs and accelerators first */
            if (is_gpu_like(&v[i]) && usable(&v[i], single, uw, sizeof uw))
                pick = &v[i];
        for (size_t i = 0; i < n && !pick && sp->kind == MR_DEV_OPENCL; i++)
            if (usable(&v[i], single, uw, sizeof uw))
                pick = &v[i];
        if (!pick) {
            size_t first_cpu = n;
            for (size_t i = 0; i < n && first_cpu == n; i++)
                if (usable(&v[i], single, uw, sizeof uw))
                    first_cpu = i;
            if (first_cpu < n) /* auto, and only CPU devices can run */
                bput(why, sizeof why, "no usable GPU or accelerator; the OpenCL CPU device %d.%d (%s) is left to the native CPU path (select it with device opencl)",
                         v[first_cpu].p, v[first_cpu].d, v[first_cpu].name);
            else {
                usable(&v[0], single, uw, sizeof uw);
                bput(why, sizeof why, "no usable OpenCL device (%zu found; %d.%d %s: %s)", n, v[0].p,
                         v[0].d, v[0].name, uw);
            }
        }
    }
    mr_status st = MR_OK;
    if (!pick || setup(e, cl, pick, why, sizeof why) != 0) {
        st = no_device(e, err, why);
    } else {
        bput(in->used, sizeof in->used, "opencl");
        in->platform_index = pick->p;
        in->device_index = pick->d;
        bput(in->platform, sizeof in->platform, "%s", pick->pname);
        bput(in->device, sizeof in->device, "%s", pick->name);
        in->fallback[0] = '\0';
    }
    in->setup_seconds = now() - t0;
    free(v);
    return st;
}

/* ---- run level ---------------------------------------------------------------- */

typedef struct mr_ocl_work {
    cl_command_queue q;
    cl_kernel k;
    cl_mem dx[2], dreg[2], dout[2];
    void *hx, *hout;       /* host staging: whole chunk, tile by tile */
    size_t cap_rows;       /* rows the staging holds; grows with a chunk */
    size_t staged;         /* rows of the chunk staged so far */
    size_t launched;       /* rows of the chunk sent */
    size_t next;           /* rows of the chunk given back */
    int flushed;
    cl_event *ev;          /* write, kernel, read per batch */
    size_t nev, evcap;
    int failed;
    char fail[160];
    double write_s, kernel_s, read_s, wait_s;
    uint64_t batches, to_dev, from_dev;
} mr_ocl_work;

typedef struct mr_ocl_run {
    mr_ocl_engine *o;
    size_t tile, nf, nops, nvals;
    unsigned n;
    mr_ocl_work *w;
} mr_ocl_run;

static void work_free(const mr_ocl_api *cl, mr_ocl_work *d)
{
    for (int i = 0; i < 2; i++) {
        if (d->dx[i])
            cl->clReleaseMemObject(d->dx[i]);
        if (d->dreg[i])
            cl->clReleaseMemObject(d->dreg[i]);
        if (d->dout[i])
            cl->clReleaseMemObject(d->dout[i]);
    }
    for (size_t i = 0; i < d->nev; i++)
        cl->clReleaseEvent(d->ev[i]);
    if (d->k)
        cl->clReleaseKernel(d->k);
    if (d->q)
        cl->clReleaseCommandQueue(d->q);
    free(d->hx);
    free(d->hout);
    free(d->ev);
}

/* Fold the run's device times into e->info and release the run's state. */
static void ocl_run_end(mr_stream *r, mr_engine *e)
{
    mr_ocl_run *R = r->be_run;
    if (!R)
        return;
    mr_backend_info *in = &e->info;
    for (unsigned i = 0; i < R->n; i++) {
        mr_ocl_work *d = &R->w[i];
        if (d->q)
            R->o->cl->clFinish(d->q);
        in->write_seconds += d->write_s;
        in->kernel_seconds += d->kernel_s;
        in->read_seconds += d->read_s;
        in->wait_seconds += d->wait_s;
        in->batches += d->batches;
        in->bytes_to_device += d->to_dev;
        in->bytes_from_device += d->from_dev;
        work_free(R->o->cl, d);
        r->works[i].be = NULL;
    }
    free(R->w);
    free(R);
    r->be_run = NULL;
}

/* "opencl" fails; "auto" runs on the CPU (MR_AGAIN), saying why. */
static mr_status run_fail(mr_stream *r, mr_engine *e, mr_error *err, const char *why)
{
    ocl_run_end(r, e);
    if (e->opt.device.kind == MR_DEV_OPENCL) {
        mr_err_set(err, MR_E_BACKEND, "%s", why);
        if (err)
            bput(err->source, sizeof err->source, "device %s", e->opt.device.text);
        return MR_E_BACKEND;
    }
    bput(e->info.used, sizeof e->info.used, "cpu");
    bput(e->info.fallback, sizeof e->info.fallback, "%s", why);
    return MR_AGAIN;
}

static int grow_staging(const mr_ocl_run *R, mr_ocl_work *d, size_t rows)
{
    if (rows <= d->cap_rows)
        return 0;
    size_t c = d->cap_rows ? d->cap_rows : R->tile;
    while (c < rows)
        c *= 2;
    if (d->q && d->nev) /* batches in flight read hx and write hout: let them land first */
        R->o->cl->clFinish(d->q);
    void *hx = realloc(d->hx, c * R->nf * R->o->real);
    if (hx)
        d->hx = hx;
    void *ho = realloc(d->hout, c * R->nvals * R->o->real);
    if (ho)
        d->hout = ho;
    if (!hx || !ho)
        return -1;
    d->cap_rows = c;
    return 0;
}

/* Per-worker device state for works[0..nwork] (the last is the writer's). */
static mr_status ocl_run_begin(mr_stream *r, mr_engine *e, mr_error *err)
{
    mr_ocl_engine *o = e->dev;
    bput(e->info.used, sizeof e->info.used, "opencl");
    e->info.fallback[0] = '\0';
    if (r->o->mode == MR_MODE_CHECK)
        return MR_OK; /* nothing to evaluate */
    const mr_ocl_api *cl = o->cl;
    const mr_plan *p = e->plan;
    mr_ocl_run *R = calloc(1, sizeof *R);
    if (!R)
        return mr_err_set(err, MR_E_NOMEM, "out of memory");
    r->be_run = R;
    R->o = o;
    R->nf = r->m->n_features ? r->m->n_features : 1;
    R->nops = p->n_ops ? p->n_ops : 1;
    R->nvals = r->nvals ? r->nvals : 1;
    const size_t t = (r->chunk_rows + MR_BLOCK - 1) / MR_BLOCK * MR_BLOCK;
    R->tile = t < MAX_TILE ? t : MAX_TILE;
    char why[256];
    const unsigned nq = r->nwork + 1;
    /* what the device must hold per worker: two batch slots */
    const cl_ulong bx = (cl_ulong)R->tile * R->nf * o->real, breg = (cl_ulong)R->tile * R->nops * o->real,
                   bout = (cl_ulong)R->tile * R->nvals * o->real;
    const cl_ulong per_worker = 2 * (bx + breg + bout);
    if ((o->max_alloc && (bx > o->max_alloc || breg > o->max_alloc || bout > o->max_alloc)) ||
        (o->gmem && per_worker * nq > o->gmem / 2)) {
        bput(why, sizeof why, "the model needs %llu MiB of device memory per worker (%zu ops, %zu features), more than the device allows",
                 (unsigned long long)(per_worker >> 20), p->n_ops, r->m->n_features);
        return run_fail(r, e, err, why);
    }
    R->w = calloc(nq, sizeof *R->w);
    if (!R->w)
        return run_fail(r, e, err, "out of memory");
    R->n = nq;
    for (unsigned i = 0; i < nq; i++) {
        mr_ocl_work *d = &R->w[i];
        cl_int rc;
        d->q = cl->clCreateCommandQueue(o->ctx, o->did, CL_QUEUE_PROFILING_ENABLE, &rc);
        if (rc == CL_SUCCESS)
            d->k = cl->clCreateKernel(o->prog, "mr_replay", &rc);
        for (int s = 0; s < 2 && rc == CL_SUCCESS; s++) {
            d->dx[s] = cl->clCreateBuffer(o->ctx, CL_MEM_READ_ONLY, bx, NULL, &rc);
            if (rc == CL_SUCCESS)
                d->dreg[s] = cl->clCreateBuffer(o->ctx, CL_MEM_READ_WRITE, breg, NULL, &rc);
            if (rc == CL_SUCCESS)
                d->dout[s] = cl->clCreateBuffer(o->ctx, CL_MEM_WRITE_ONLY, bout, NULL, &rc);
        }
        if (rc != CL_SUCCESS) {
            bput(why, sizeof why, "cannot create the queue, kernel or batch buffers (%s)", mr_ocl_strerror(rc));
            return run_fail(r, e, err, why);
        }
        const cl_uint tile = (cl_uint)R->tile, nops = (cl_uint)p->n_ops, nterms = (cl_uint)p->n_terms,
                      design = r->o->mode == MR_MODE_DESIGN;
        rc = cl->clSetKernelArg(d->k, 1, sizeof tile, &tile);
        rc |= cl->clSetKernelArg(d->k, 2, sizeof nops, &nops);
        rc |= cl->clSetKernelArg(d->k, 3, sizeof nterms, &nterms);
        rc |= cl->clSetKernelArg(d->k, 4, sizeof design, &design);
        rc |= cl->clSetKernelArg(d->k, 5, sizeof(cl_mem), &o->ops);
        rc |= cl->clSetKernelArg(d->k, 6, sizeof(cl_mem), &o->knot);
        rc |= cl->clSetKernelArg(d->k, 7, sizeof(cl_mem), &o->term_reg);
        rc |= cl->clSetKernelArg(d->k, 8, sizeof(cl_mem), &o->coef);
        if (rc != CL_SUCCESS)
            return run_fail(r, e, err, "clSetKernelArg failed");
        if (grow_staging(R, d, R->tile) != 0)
            return run_fail(r, e, err, "out of memory");
        r->works[i].be = d;
    }
    return MR_OK;
}

static void ocl_chunk_begin(const mr_stream *r, mr_worker *w)
{
    (void)r;
    mr_ocl_work *d = w->be;
    d->staged = d->launched = d->next = 0;
    d->flushed = 0;
    d->nev = 0;
    d->failed = 0;
}

static void failed(mr_ocl_work *d, const char *what, cl_int rc)
{
    if (!d->failed)
        bput(d->fail, sizeof d->fail, "%s failed (%s)", what, mr_ocl_strerror(rc));
    d->failed = 1;
}

static int push_event(mr_ocl_work *d, cl_event ev)
{
    if (d->nev == d->evcap) {
        const size_t c = d->evcap ? 2 * d->evcap : 48;
        cl_event *n = realloc(d->ev, c * sizeof *n);
        if (!n)
            return -1;
        d->ev = n;
        d->evcap = c;
    }
    d->ev[d->nev++] = ev;
    return 0;
}

/* Send the staged rows [launched, staged) as batch launched / tile (they
 * never cross a tile) through device slot ti % 2. */
static void launch(const mr_ocl_run *R, mr_ocl_work *d)
{
    const mr_ocl_api *cl = R->o->cl;
    const size_t ti = d->launched / R->tile, rows = d->staged - d->launched;
    const size_t real = R->o->real, ds = ti & 1;
    const size_t bx = R->tile * R->nf * real, bout = rows * R->nvals * real;
    d->launched = d->staged;
    cl_event ev[3] = { NULL, NULL, NULL };
    cl_int rc = cl->clEnqueueWriteBuffer(d->q, d->dx[ds], CL_FALSE, 0, bx, (char *)d->hx + ti * bx, 0, NULL, &ev[0]);
    if (rc != CL_SUCCESS) {
        failed(d, "clEnqueueWriteBuffer", rc);
        return;
    }
    const cl_uint n = (cl_uint)rows;
    rc = cl->clSetKernelArg(d->k, 0, sizeof n, &n);
    rc |= cl->clSetKernelArg(d->k, 9, sizeof(cl_mem), &d->dx[ds]);
    rc |= cl->clSetKernelArg(d->k, 10, sizeof(cl_mem), &d->dreg[ds]);
    rc |= cl->clSetKernelArg(d->k, 11, sizeof(cl_mem), &d->dout[ds]);
    const size_t global = (rows + 63) / 64 * 64; /* work-groups of 64 fit; the kernel skips rows >= n */
    if (rc == CL_SUCCESS)
        rc = cl->clEnqueueNDRangeKernel(d->q, d->k, 1, NULL, &global, NULL, 0, NULL, &ev[1]);
    if (rc == CL_SUCCESS)
        rc = cl->clEnqueueReadBuffer(d->q, d->dout[ds], CL_FALSE, 0, bout,
                                     (char *)d->hout + ti * R->tile * R->nvals * real, 0, NULL, &ev[2]);
    for (int i = 0; i < 3; i++)
        if (ev[i] && push_event(d, ev[i]) != 0) {
            cl->clReleaseEvent(ev[i]);
            failed(d, "recording an event", CL_OUT_OF_HOST_MEMORY);
        }
    if (rc != CL_SUCCESS) {
        failed(d, "enqueueing a batch", rc);
        return;
    }
    cl->clFlush(d->q); /* start it now: the host goes on parsing */
    d->batches++;
    d->to_dev += bx;
    d->from_dev += bout;
}

/* Stage a decoded block; a full tile goes to the device at once. */
static void ocl_submit(const mr_stream *r, mr_slot *s, mr_worker *w, size_t row0, size_t n)
{
    (void)s;
    mr_ocl_work *d = w->be;
    const mr_ocl_run *R = r->be_run;
    if (d->failed)
        return;
    if (row0 != d->staged) {
        failed(d, "staging rows out of order", CL_INVALID_VALUE);
        return;
    }
    /* a block never crosses a tile: tiles are whole blocks */
    if (grow_staging(R, d, (row0 + n + R->tile - 1) / R->tile * R->tile) != 0) {
        failed(d, "staging", CL_OUT_OF_HOST_MEMORY);
        return;
    }
    const size_t T = R->tile, nf = r->m->n_features;
    const size_t ti = row0 / T, rr = row0 % T;
    for (size_t f = 0; f < nf; f++) {
        const double *src = w->x + f * MR_STRIDE;
        if (R->o->single) {
            float *dst = (float *)d->hx + ti * T * R->nf + f * T + rr;
            for (size_t j = 0; j < n; j++)
                dst[j] = (float)src[j];
        } else {
            memcpy((double *)d->hx + ti * T * R->nf + f * T + rr, src, n * sizeof *src);
        }
    }
    d->staged += n;
    if (d->staged % T == 0)
        launch(R, d);
}

static double event_seconds(const mr_ocl_api *cl, cl_event ev)
{
    cl_ulong a = 0, b = 0;
    if (cl->clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof a, &a, NULL) != CL_SUCCESS ||
        cl->clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof b, &b, NULL) != CL_SUCCESS || b < a)
        return 0.0;
    return (double)(b - a) * 1e-9;
}

/* Wait for the worker's queue and account its events. */
static void finish(const mr_ocl_run *R, mr_ocl_work *d)
{
    const mr_ocl_api *cl = R->o->cl;
    if (!d->failed && d->staged > d->launched)
        launch(R, d);
    if (d->nev) {
        const double t0 = now();
        const cl_int rc = cl->clFinish(d->q);
        d->wait_s += now() - t0;
        if (rc != CL_SUCCESS)
            failed(d, "clFinish", rc);
    }
    for (size_t i = 0; i < d->nev; i++) {
        const double sec = event_seconds(cl, d->ev[i]);
        *(i % 3 == 0 ? &d->write_s : i % 3 == 1 ? &d->kernel_s : &d->read_s) += sec;
        cl->clReleaseEvent(d->ev[i]);
    }
    d->nev = 0;
}

/* Values come back only at the end of the chunk, block by block, as doubles
 * whose NaNs are the CPU's. */
static int ocl_collect(const mr_stream *r, mr_slot *s, mr_worker *w, int flush, mr_values *out)
{
    mr_ocl_work *d = w->be;
    const mr_ocl_run *R = r->be_run;
    if (!flush)
        return 0;
    if (!d->flushed) {
        d->flushed = 1;
        finish(R, d);
        if (s->st == MR_OK && d->failed) {
            s->st = mr_err_set(&s->err, MR_E_BACKEND, "OpenCL: %s", d->fail);
            mr_err_field(s->err.source, sizeof s->err.source, "device opencl");
        }
    }
    if (s->st != MR_OK || d->next >= d->staged)
        return 0;
    const size_t row0 = d->next, n = d->staged - row0 < MR_BLOCK ? d->staged - row0 : MR_BLOCK;
    const size_t m = n * r->nvals, at = row0 * R->nvals;
    if (R->o->single)
        for (size_t i = 0; i < m; i++)
            w->vals[i] = (double)((const float *)d->hout)[at + i];
    else if (m)
        memcpy(w->vals, (const double *)d->hout + at, m * sizeof(double));
    mr_canonical_nans(w->vals, m);
    d->next += n;
    *out = (mr_values){ .v = w->vals, .row0 = row0, .n = n };
    return 1;
}

const mr_backend_ops mr_backend_opencl = {
    .name = "opencl",
    .open = ocl_engine_open,
    .close = ocl_engine_close,
    .probe_json = ocl_probe_json,
    .run_begin = ocl_run_begin,
    .run_end = ocl_run_end,
    .chunk_begin = ocl_chunk_begin,
    .submit = ocl_submit,
    .collect = ocl_collect,
};
