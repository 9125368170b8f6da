/* backend_cpu.c — evaluation on the calling CPU (eval_c.c): each block is
 * evaluated when submitted and given back by the next collect. */
#include <stdlib.h>

#include "backend.h"
#include "error.h"

typedef struct cpu_work {
    size_t row0, n;
    int ready;
} cpu_work;

static mr_status cpu_run_begin(mr_stream *r, mr_engine *e, mr_error *err)
{
    (void)e;
    for (unsigned i = 0; i <= r->nwork; i++)
        if (!(r->works[i].be = calloc(1, sizeof(cpu_work))))
            return mr_err_set(err, MR_E_NOMEM, "out of memory");
    return MR_OK;
}

static void cpu_run_end(mr_stream *r, mr_engine *e)
{
    (void)e;
    for (unsigned i = 0; r->works && i <= r->nwork; i++) {
        free(r->works[i].be);
        r->works[i].be = NULL;
    }
}

static void cpu_chunk_begin(const mr_stream *r, mr_worker *w)
{
    (void)r;
    ((cpu_work *)w->be)->ready = 0;
}

static void cpu_submit(const mr_stream *r, mr_slot *s, mr_worker *w, size_t row0, size_t n)
{
    (void)s;
    const mr_plan *p = r->e->plan;
    if (r->o->mode == MR_MODE_DESIGN)
        mr_eval_design(p, w->x, MR_STRIDE, n, w->scratch, w->vals, r->nvals);
    else
        mr_eval_predict(p, w->x, MR_STRIDE, n, w->scratch, w->vals, NULL, 0);
    cpu_work *c = w->be;
    c->row0 = row0;
    c->n = n;
    c->ready = 1;
}

static int cpu_collect(const mr_stream *r, mr_slot *s, mr_worker *w, int flush, mr_values *out)
{
    (void)r;
    (void)s;
    (void)flush;
    cpu_work *c = w->be;
    if (!c->ready)
        return 0;
    c->ready = 0;
    *out = (mr_values){ .v = w->vals, .row0 = c->row0, .n = c->n };
    return 1;
}

const mr_backend_ops mr_backend_cpu = {
    .name = "cpu",
    .run_begin = cpu_run_begin,
    .run_end = cpu_run_end,
    .chunk_begin = cpu_chunk_begin,
    .submit = cpu_submit,
    .collect = cpu_collect,
};
