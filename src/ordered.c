/* ordered.c — the worker pool (see ordered.h). Lock order: only q->mu. */
#include "ordered.h"

#include <pthread.h>
#include <stdlib.h>

struct mr_ordered {
    pthread_mutex_t mu;
    pthread_cond_t cv_work; /* submitted > taken, or stop */
    pthread_cond_t cv_done; /* some slot became done */
    uint64_t submitted, taken;
    unsigned char *done;
    size_t mask;
    int stop;
    mr_job_fn fn;
    void *ctx;
    unsigned n_threads;
    pthread_t *threads;
};

typedef struct {
    mr_ordered *q;
    unsigned id;
} worker_arg;

static void *worker(void *argp)
{
    worker_arg *arg = argp;
    mr_ordered *q = arg->q;
    const unsigned id = arg->id;
    free(arg);
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (!q->stop && q->taken == q->submitted)
            pthread_cond_wait(&q->cv_work, &q->mu);
        if (q->stop)
            break;
        const size_t slot = (size_t)(q->taken++ & q->mask);
        pthread_mutex_unlock(&q->mu);
        q->fn(q->ctx, slot, id);
        pthread_mutex_lock(&q->mu);
        q->done[slot] = 1;
        pthread_cond_broadcast(&q->cv_done);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

mr_status mr_ordered_create(unsigned workers, size_t slots_pow2, mr_job_fn fn, void *ctx,
                            mr_ordered **out, unsigned *started)
{
    *out = NULL;
    *started = 0;
    mr_ordered *q = calloc(1, sizeof *q);
    if (!q)
        return MR_E_NOMEM;
    q->done = calloc(slots_pow2, 1);
    q->threads = calloc(workers, sizeof *q->threads);
    if (!q->done || !q->threads) {
        free(q->done);
        free(q->threads);
        free(q);
        return MR_E_NOMEM;
    }
    q->mask = slots_pow2 - 1;
    q->fn = fn;
    q->ctx = ctx;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv_work, NULL);
    pthread_cond_init(&q->cv_done, NULL);
    for (unsigned i = 0; i < workers; i++) {
        worker_arg *a = malloc(sizeof *a);
        if (!a)
            break;
        *a = (worker_arg){ q, i };
        if (pthread_create(&q->threads[i], NULL, worker, a) != 0) {
            free(a);
            break;
        }
        q->n_threads++;
    }
    *started = q->n_threads;
    *out = q;
    return MR_OK;
}

void mr_ordered_submit(mr_ordered *q, uint64_t ticket)
{
    pthread_mutex_lock(&q->mu);
    q->done[ticket & q->mask] = 0;
    q->submitted++;
    pthread_cond_signal(&q->cv_work);
    pthread_mutex_unlock(&q->mu);
}

void mr_ordered_wait(mr_ordered *q, uint64_t ticket)
{
    pthread_mutex_lock(&q->mu);
    while (!q->done[ticket & q->mask])
        pthread_cond_wait(&q->cv_done, &q->mu);
    pthread_mutex_unlock(&q->mu);
}

int mr_ordered_is_done(mr_ordered *q, uint64_t ticket)
{
    pthread_mutex_lock(&q->mu);
    const int d = q->done[ticket & q->mask];
    pthread_mutex_unlock(&q->mu);
    return d;
}

void mr_ordered_destroy(mr_ordered *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    q->stop = 1;
    pthread_cond_broadcast(&q->cv_work);
    pthread_mutex_unlock(&q->mu);
    for (unsigned i = 0; i < q->n_threads; i++)
        pthread_join(q->threads[i], NULL);
    pthread_cond_destroy(&q->cv_work);
    pthread_cond_destroy(&q->cv_done);
    pthread_mutex_destroy(&q->mu);
    free(q->threads);
    free(q->done);
    free(q);
}
