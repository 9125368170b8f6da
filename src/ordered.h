/* ordered.h — order-blind worker pool behind an in-order ring of slots.
 *
 * The producer submits tickets 0, 1, 2, ... (slot = ticket & mask); workers
 * run jobs in any order and mark their slot done; the consumer waits for the
 * ticket it must write next. The producer may reuse a slot only after the
 * consumer released it, so at most `slots` chunks exist at a time: that is
 * the memory bound and the backpressure (htslib hts_tpool / zstdmt shape). */
#ifndef MR_ORDERED_H
#define MR_ORDERED_H

#include <stddef.h>
#include <stdint.h>

#include "marsreplay.h"

typedef void (*mr_job_fn)(void *ctx, size_t slot, unsigned worker);

typedef struct mr_ordered mr_ordered;

/* Start `workers` threads (>= 1). *started tells how many did start (fewer
 * when pthread_create fails; 0 means run serially). */
mr_status mr_ordered_create(unsigned workers, size_t slots_pow2, mr_job_fn fn, void *ctx,
                            mr_ordered **out, unsigned *started);
void mr_ordered_submit(mr_ordered *q, uint64_t ticket);
/* Block until `ticket` is done. */
void mr_ordered_wait(mr_ordered *q, uint64_t ticket);
/* 1 if `ticket` is done, without blocking. */
int mr_ordered_is_done(mr_ordered *q, uint64_t ticket);
/* Stop taking jobs, let running ones finish, join, free. NULL is fine. */
void mr_ordered_destroy(mr_ordered *q);

#endif
