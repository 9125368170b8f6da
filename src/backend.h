/* backend.h — where blocks are evaluated: one file and one row of the table
 * in backend.c per backend (the CPU always; OpenCL when built with it).
 *
 * A worker hands each decoded block to submit() and formats whatever
 * collect() gives back, in row order: the CPU gives a block back at once, a
 * device after flush at the end of the chunk. A backend never formats or
 * writes, and never calls back into the pipeline. */
#ifndef MR_BACKEND_H
#define MR_BACKEND_H

#include "engine.h"
#include "pipeline.h"

typedef struct mr_backend_ops {
    const char *name;                               /* "cpu", "opencl" */
    /* engine level, once: e->dev set, or left NULL with e->info.fallback
     * filled ("auto"); MR_E_BACKEND when a device asked for cannot run */
    mr_status (*open)(mr_engine *e, mr_error *err);
    void (*close)(void *dev);
    char *(*probe_json)(void);                      /* malloc'd JSON; NULL: none */
    /* run level: state for works[0..nwork] (w->be). MR_AGAIN: not for this
     * run (e->info.fallback says why), the CPU evaluates it */
    mr_status (*run_begin)(mr_stream *r, mr_engine *e, mr_error *err);
    void (*run_end)(mr_stream *r, mr_engine *e);
    void (*chunk_begin)(const mr_stream *r, mr_worker *w);
    /* rows [row0, row0 + n) of the chunk, decoded in w->x */
    void (*submit)(const mr_stream *r, mr_slot *s, mr_worker *w, size_t row0, size_t n);
    /* the next block of values in row order: 1 and *out, or 0 when none is
     * ready; with flush (end of the chunk) wait for all of them. A failure
     * sets s->st and returns 0 */
    int (*collect)(const mr_stream *r, mr_slot *s, mr_worker *w, int flush, mr_values *out);
} mr_backend_ops;

extern const mr_backend_ops mr_backend_cpu;

/* Decide the engine's backend (once per engine) and reset the per-run
 * counters of e->info. No OpenCL call for "cpu". */
mr_status mr_backend_select(mr_engine *e, mr_error *err);
/* Release device state (mr_engine_free). */
void mr_backend_release(mr_engine *e);
/* 1 if the build has the backend of that name (a row of the table). */
int mr_backend_compiled(const char *name);

#endif
