/* backend.c — backend selection, mr_engine_backend, mr_probe_devices. The
 * OpenCL parts live in ocl_backend.c and are compiled only with -Dopencl;
 * without them "opencl" fails and "auto" runs on the CPU, saying why. */
#include "backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "error.h"
#if MR_HAVE_OPENCL
#include "ocl_backend.h"
#endif

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
    if (e->backend_chosen) { /* the same device again: only the run counters restart */
        in->write_seconds = in->kernel_seconds = in->read_seconds = in->wait_seconds = 0.0;
        in->batches = in->bytes_to_device = in->bytes_from_device = 0;
        return MR_OK;
    }
    info_defaults(in, &e->opt);
    if (e->opt.device.kind == MR_DEV_CPU) {
        e->backend_chosen = 1;
        return MR_OK;
    }
#if MR_HAVE_OPENCL
    const mr_status st = mr_ocl_engine_open(e, err);
    if (st != MR_OK) {
        info_defaults(in, &e->opt);
        return st;
    }
#else
    if (e->opt.device.kind == MR_DEV_OPENCL) {
        mr_err_set(err, MR_E_BACKEND, "this build has no OpenCL support (configured with -Dopencl=disabled)");
        if (err)
            snprintf(err->source, sizeof err->source, "device %s", e->opt.device.text);
        return MR_E_BACKEND;
    }
    snprintf(in->fallback, sizeof in->fallback, "this build has no OpenCL support");
#endif
    e->backend_chosen = 1;
    return MR_OK;
}

void mr_backend_release(mr_engine *e)
{
#if MR_HAVE_OPENCL
    mr_ocl_engine_close(e->ocl);
#endif
    e->ocl = NULL;
}

mr_status mr_engine_backend(const mr_engine *e, mr_backend_info *out)
{
    if (!e || !out)
        return MR_E_INVAL;
    if (!e->backend_chosen)
        info_defaults(out, &e->opt);
    else
        *out = e->info;
    return MR_OK;
}

mr_status mr_probe_devices(char **json, mr_error *err)
{
    mr_err_clear(err);
    RETURN_IF(!json, MR_E_INVAL, err, "mr_probe_devices: NULL argument");
#if MR_HAVE_OPENCL
    *json = mr_ocl_probe_json();
#else
    *json = strdup("{\"opencl_compiled\": false, \"available\": false, "
                   "\"reason\": \"this build has no OpenCL support\", \"platforms\": []}");
#endif
    RETURN_IF(!*json, MR_E_NOMEM, err, "out of memory");
    return MR_OK;
}

void mr_string_free(char *s)
{
    free(s);
}
