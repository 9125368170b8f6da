/* backend.h — choosing where mr_run evaluates (backend.c). */
#ifndef MR_BACKEND_H
#define MR_BACKEND_H

#include "engine.h"

/* Decide the backend for the engine's runs (once per engine) and reset the
 * per-run counters of e->info. MR_OK: the CPU (e->ocl NULL, e->info.fallback
 * says why if a device was asked for) or a device (e->ocl set); MR_E_BACKEND
 * when an explicit "opencl" device cannot run. No OpenCL call for "cpu". */
mr_status mr_backend_select(mr_engine *e, mr_error *err);
/* Release device state (mr_engine_free). */
void mr_backend_release(mr_engine *e);

#endif
