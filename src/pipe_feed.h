/* pipe_feed.h — piped mode: the workers copy a pipe's bytes out (see pipe_feed.c). */
#ifndef MR_PIPE_FEED_H
#define MR_PIPE_FEED_H

#include "pipeline.h"

typedef struct mr_feed mr_feed;

/* The reader's bytes after the header go in front of chunk 0. NULL: out of memory. */
mr_feed *mr_feed_open(mr_stream *r);
void mr_feed_close(mr_feed *f);
/* Tail bytes the feed holds at most (its pipes are the kernel's). */
uint64_t mr_feed_bytes(const mr_feed *f);
/* Calling thread, per chunk: a new pipe for slot s and the first part of
 * its block moved into it (*got bytes), before the chunk is submitted.
 * MR_AGAIN when nothing was ever moved and the input cannot be (not a pipe
 * or a socket): read it instead. */
mr_status mr_feed_start(mr_stream *r, mr_feed *f, mr_slot *s, size_t *got, mr_error *err);
/* ... then, while its worker reads, the rest of the block; the pipe is
 * closed after it. *eof when the input ended. A read error ends the block
 * early and is the chunk's, after its whole records (its worker sets
 * s->cut_st: once submitted, the slot is the worker's); returns it too. */
mr_status mr_feed_finish(mr_stream *r, mr_feed *f, size_t got, int *eof);
/* Worker, chunks in any order: read s's block, wait for the tail of the
 * chunk before, put it in front, hand on this one's, and set the chunk's
 * records [in_off, in_len). Errors go to s->st. */
void mr_feed_take(const mr_stream *r, mr_feed *f, mr_slot *s);

#endif
