/* backend.c — the table of backends, the engine's choice among them,
 * mr_engine_backend and mr_probe_devices. A backend is one file and one row
 * here; only this table knows which backends the build has. */
#include "backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "error.h"

#if MR_HAVE_OPENCL
extern const mr_backend_ops mr_backend_opencl;
#endif

static const mr_backend_ops *const backends[] = {
    &mr_backend_cpu,
#if MR_HAVE_OPENCL
    &mr_backend_opencl,
#endif
};
#define N_BACKENDS (sizeof backends / sizeof *backends)

static const mr_backend_ops *find(const char *name)
{
    for (size_t i = 0; i < N_BACKENDS; i++)
        if (strcmp(backends[i]->name, name) == 0)
            return backends[i];
    return NULL;
}

int mr_backend_compiled(const char *name)
{
    return find(name) != NULL;
}

static void info_defaults(mr_backend_info *in, const mr_options *o)
{
    memset(in, 0, sizeof *in);
    snprintf(in->requested, sizeof in->requested, "%s", o->device.text);
    snprintf(in->used, sizeof in->used, "cpu");
    snprintf(in->precision, sizeof in->precision, "%s", o->single ? "single" : "double");
    in->platform_index = -1;
    in->device_index = -1;
}

mr_status mr_backend_select(mr_engine *e, mr_error *err)
{
    mr_backend_info *in = &e->info;
    if (e->be) { /* the same device again: only the run counters restart */
        in->write_seconds = in->kernel_seconds = in->read_seconds = in->wait_seconds = 0.0;
        in->batches = in->bytes_to_device = in->bytes_from_device = 0;
        return MR_OK;
    }
    info_defaults(in, &e->opt);
    e->be = &mr_backend_cpu;
    if (e->opt.device.kind == MR_DEV_CPU)
        return MR_OK;
    /* "opencl", "opencl:P.D" and "auto" all mean the OpenCL row today */
    const mr_backend_ops *dev = find("opencl");
    if (!dev) {
        if (e->opt.device.kind == MR_DEV_OPENCL) {
            e->be = NULL;
            mr_err_set(err, MR_E_BACKEND, "this build has no OpenCL support (configured with -Dopencl=disabled)");
            if (err)
                snprintf(err->source, sizeof err->source, "device %s", e->opt.device.text);
            return MR_E_BACKEND;
        }
        snprintf(in->fallback, sizeof in->fallback, "this build has no OpenCL support");
        return MR_OK;
    }
    const mr_status st = dev->open(e, err);
    if (st != MR_OK) {
        e->be = NULL;
        info_defaults(in, &e->opt);
        return st;
    }
    if (e->dev)
        e->be = dev;
    return MR_OK;
}

void mr_backend_release(mr_engine *e)
{
    if (e->be && e->be->close)
        e->be->close(e->dev);
    e->dev = NULL;
    e->be = NULL;
}

mr_status mr_engine_backend(const mr_engine *e, mr_backend_info *out)
{
    if (!e || !out)
        return MR_E_INVAL;
    if (!e->be)
        info_defaults(out, &e->opt);
    else
        *out = e->info;
    return MR_OK;
}

mr_status mr_probe_devices(char **json, mr_error *err)
{
    mr_err_clear(err);
    RETURN_IF(!json, MR_E_INVAL, err, "mr_probe_devices: NULL argument");
    *json = NULL;
    for (size_t i = 0; i < N_BACKENDS && !*json; i++)
        if (backends[i]->probe_json)
            *json = backends[i]->probe_json();
    if (!*json && !find("opencl"))
        *json = strdup("{\"opencl_compiled\": false, \"available\": false, "
                       "\"reason\": \"this build has no OpenCL support\", \"platforms\": []}");
    RETURN_IF(!*json, MR_E_NOMEM, err, "out of memory");
    return MR_OK;
}

void mr_string_free(char *s)
{
    free(s);
}
