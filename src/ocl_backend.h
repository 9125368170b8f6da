/* ocl_backend.h — the OpenCL backend (ocl_backend.c; built with -Dopencl).
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
 * rows. At the end of the chunk the worker waits for its queue and formats
 * the chunk's values through the same mr_output_rows, so the ordered writer
 * sees exactly the bytes of the CPU path. */
#ifndef MR_OCL_BACKEND_H
#define MR_OCL_BACKEND_H

#include "engine.h"
#include "stream_internal.h"

typedef struct mr_ocl_engine mr_ocl_engine;

/* Choose and set up the device for e->opt.device (not "cpu"). MR_OK with
 * e->ocl set, or MR_OK with e->ocl NULL and e->info.fallback filled ("auto"),
 * or MR_E_BACKEND ("opencl" that cannot run; err says why). */
mr_status mr_ocl_engine_open(mr_engine *e, mr_error *err);
void mr_ocl_engine_close(mr_ocl_engine *o);
/* The probe as JSON text (malloc'd), NULL when out of memory. */
char *mr_ocl_probe_json(void);

/* Attach per-worker device state to r->works (nothing when e->ocl is NULL or
 * the mode is check). A model or chunk that does not fit the device falls
 * back to the CPU for "auto" (reason in e->info.fallback) and fails with
 * MR_E_BACKEND for "opencl". */
mr_status mr_ocl_run_begin(run *r, mr_engine *e, mr_error *err);
/* Fold the run's device times into e->info and release the run's state. */
void mr_ocl_run_end(run *r);
/* Hooks of the worker job (stream.c, output.c). */
void mr_ocl_chunk_begin(run *r, slot *s, work *w);
/* From mr_output_rows: 0 = the block was staged for the device (nothing to
 * format yet), 1 = w->vals already holds the device's values: format them. */
int mr_ocl_rows(run *r, slot *s, work *w, size_t n);
void mr_ocl_chunk_end(run *r, slot *s, work *w);

#endif
