/* pipe_feed.c — piped mode: a pipe's bytes are copied out by the workers.
 *
 * Reading a pipe copies every byte out of the kernel. In stream mode the
 * calling thread does that copy, work no number of workers can share (about
 * 8 % of a CSV run's CPU here, docs/performance.md). Given
 * mr_io.read_into_pipe (splice(2)), the calling thread only moves raw blocks
 * of `block` bytes, page references and no copy, into pipes of the run's
 * own, and each worker reads its block out of its pipe itself.
 *
 * A raw block does not end on a record boundary, so the workers cut: chunk k
 * ends after the last record end in its block (input_format.record_end) and
 * hands the rest, its tail, to chunk k + 1, which puts it in front of its own
 * block. Tails pass in ticket order through one buffer; a worker reads its
 * block before it waits for its tail, so the blocks are copied in parallel
 * and only tails (part of one record) pass in order. A record end found
 * without knowing the quote state (a '\n' inside a quoted field) is a wrong
 * cut: the chunk's decoder then ends inside quotes (s->open_end), and the
 * writer, which sees the chunks in order, carries that open record into the
 * next chunk and redoes it (stream.c, drain).
 *
 * Fixed-width rows (.npy, raw f64) end at known offsets, so their cut is
 * never wrong; the format's piped_span then says which rows are its (not
 * those past a declared count) and what error follows them. A block is read
 * at an offset that puts its chunk's rows on 8 bytes, for the vector path. */
#include "pipe_feed.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "input.h"

#define HEADROOM 4096 /* room before a block for its tail: most tails fit */

struct mr_feed {
    size_t block;             /* raw bytes per chunk */
    uint64_t off;             /* calling thread: input offset of the next block */
    int wfd;                  /* calling thread: the write end of the block being moved */
    int moved;                /* calling thread: some bytes were moved */
    int failed;               /* the last block was cut short by a read error (atomic) ... */
    mr_error fail_err;        /* ... this one, written before `failed` */
    pthread_mutex_t mu;
    pthread_cond_t cv;        /* a tail handed on */
    uint64_t tail_for;        /* the ticket the tail below belongs in front of */
    int tail_bad;             /* a chunk before failed: the run fails there anyway */
    char *tail;
    size_t tail_len, tail_cap;
};

mr_feed *mr_feed_open(mr_stream *r)
{
    mr_feed *f = calloc(1, sizeof *f);
    const size_t left = r->rend - r->rpos;
    if (!f || mr_buf_grow(&f->tail, &f->tail_cap, left + 1) != 0) {
        free(f);
        return NULL;
    }
    f->block = r->chunk_bytes < ((uint64_t)1 << 30) ? (size_t)r->chunk_bytes : (size_t)1 << 30;
    f->off = r->bytes_in;
    f->wfd = -1;
    r->data_start = r->bytes_in - left; /* where records begin: fixed-width rows count from it */
    /* the reader's bytes after the header go in front of chunk 0 */
    memcpy(f->tail, r->rbuf + r->rpos, left);
    f->tail_len = left;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    return f;
}

void mr_feed_close(mr_feed *f)
{
    if (!f)
        return;
    if (f->wfd >= 0)
        close(f->wfd);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f->tail);
    free(f);
}

uint64_t mr_feed_bytes(const mr_feed *f)
{
    return f ? f->tail_cap : 0;
}

static mr_status move_failed(mr_error *err, int e)
{
    mr_err_set(err, MR_E_IO, "read error: %s", strerror(e));
    if (err)
        err->sys_errno = e;
    return MR_E_IO;
}

/* Move one call's worth into the block's pipe: bytes, 0 at the end, -1. */
static long move_some(mr_stream *r, mr_feed *f, size_t got)
{
    const long n = r->io->read_into_pipe(r->io->read_cookie, f->wfd, f->block - got);
    if (n > 0) {
        f->moved = 1;
        f->off += (uint64_t)n;
        r->bytes_in += (uint64_t)n;
    }
    return n;
}

mr_status mr_feed_start(mr_stream *r, mr_feed *f, mr_slot *s, size_t *got, mr_error *err)
{
    int p[2];
    *got = 0;
    if (pipe2(p, O_CLOEXEC) != 0)
        return f->moved ? move_failed(err, errno) : MR_AGAIN;
    /* best effort: a pipe that holds a whole block moves it with fewer
     * wake-ups (without privilege at most /proc/sys/fs/pipe-max-size) */
    (void)fcntl(p[1], F_SETPIPE_SZ, (int)(f->block < ((size_t)1 << 20) ? f->block : (size_t)1 << 20));
    f->wfd = p[1];
    s->raw_off = f->off;
    /* one call before the worker reads: into an empty pipe it does not wait
     * for room, and it tells whether the input can be moved at all */
    const long n = move_some(r, f, 0);
    if (n < 0) {
        const int e = errno;
        close(p[0]);
        close(p[1]);
        f->wfd = -1;
        if (!f->moved && (e == EINVAL || e == ENOSYS || e == EBADF))
            return MR_AGAIN; /* not a pipe or socket: nothing consumed, read it */
        return move_failed(err, e);
    }
    *got = (size_t)n;
    s->feed_fd = p[0];
    s->fed = 1;
    s->n_rows = 0;
    s->n_lines = 0;
    return MR_OK;
}

mr_status mr_feed_finish(mr_stream *r, mr_feed *f, size_t got, int *eof)
{
    mr_status st = MR_OK;
    *eof = got == 0;
    while (!*eof && got < f->block) {
        const long n = move_some(r, f, got);
        if (n < 0) {
            mr_err_clear(&f->fail_err);
            st = move_failed(&f->fail_err, errno);
            /* its worker must not take the short block for the input's end */
            __atomic_store_n(&f->failed, 1, __ATOMIC_RELEASE);
            break;
        }
        *eof = n == 0;
        got += (size_t)n;
    }
    close(f->wfd); /* its worker reads to the end */
    f->wfd = -1;
    return st;
}

/* Read the pipe to its end and drop what comes: the calling thread may be
 * moving into it still, and a pipe closed under it would raise SIGPIPE in a
 * host that does not ignore it. */
static void drain(int fd)
{
    char sink[4096];
    ssize_t n;
    while ((n = read(fd, sink, sizeof sink)) > 0 || (n < 0 && errno == EINTR))
        ;
}

/* Read the block out of its pipe, to its end, into s->in + at. */
static mr_status take_block(const mr_feed *f, mr_slot *s, size_t at, mr_error *err)
{
    s->raw_len = 0;
    if (mr_buf_grow(&s->in, &s->in_cap, at + f->block + 1) != 0) {
        drain(s->feed_fd);
        return mr_err_set(err, MR_E_NOMEM, "out of memory");
    }
    for (;;) {
        const ssize_t n = read(s->feed_fd, s->in + at + s->raw_len, f->block + 1 - s->raw_len);
        if (n == 0)
            return MR_OK;
        if (n > 0)
            s->raw_len += (size_t)n;
        else if (errno != EINTR) /* our own pipe: cannot happen */
            return mr_err_set(err, MR_E_IO, "read error on the run's own pipe: %s", strerror(errno));
    }
}

void mr_feed_take(const mr_stream *r, mr_feed *f, mr_slot *s)
{
    const int rows = r->in->piped_span != NULL;
    /* fixed-width rows: the tail is (raw_off - data_start) mod the row
     * width, so this puts the chunk's first row (at - tail) on 8 bytes */
    const size_t at = HEADROOM + (rows ? (size_t)((s->raw_off - r->data_start) & 7) : 0);
    mr_status st = take_block(f, s, at, &s->err);
    close(s->feed_fd);
    s->feed_fd = -1;
    s->last = s->raw_len < f->block; /* the calling thread stops short only at the end ... */
    /* ... or at a read error, which comes after the chunk's whole records */
    const int cut_short = s->last && __atomic_load_n(&f->failed, __ATOMIC_ACQUIRE);
    if (cut_short) {
        s->cut_st = f->fail_err.status;
        s->cut_err = f->fail_err;
    }
    /* where this chunk's records end in its block: all of it at the end of
     * the input; else (and when cut short: the record after it is not
     * whole, and not bad data) after the last record end */
    const int to_end = s->last && !cut_short;
    const size_t in_blk = st != MR_OK ? 0 : to_end && !rows ? s->raw_len
                        : r->in->record_end(r, s->in + at, s->raw_len, s->raw_off);
    pthread_mutex_lock(&f->mu);
    while (f->tail_for != s->ticket)
        pthread_cond_wait(&f->cv, &f->mu);
    const size_t t = f->tail_len;
    if (st == MR_OK && f->tail_bad)
        st = mr_err_set(&s->err, MR_E_INTERNAL, "a chunk before this one failed");
    if (st == MR_OK && t > at && mr_buf_grow(&s->in, &s->in_cap, t + s->raw_len + 1) != 0)
        st = mr_err_set(&s->err, MR_E_NOMEM, "out of memory");
    size_t end = 0, span = 0; /* from in_off: the records end, all bytes end */
    if (st == MR_OK) {
        if (t > at)
            memmove(s->in + t, s->in + at, s->raw_len);
        s->in_off = t > at ? 0 : at - t;
        memcpy(s->in + s->in_off, f->tail, t);
        span = t + s->raw_len;
        /* none in the block: perhaps in the tail (chunk 0's holds the
         * reader's bytes after the header, whole records) */
        if (to_end)
            end = span;
        else
            end = in_blk ? t + in_blk : r->in->record_end(r, s->in + s->in_off, t, s->raw_off - t);
    }
    /* the next tail: what follows the last record end, part of one record.
     * Beyond max_record + 2 bytes its decoder only needs to know that the
     * record is too long (fixed-width rows: it is shorter than a row). */
    size_t rest = span - end;
    const size_t limit = rows ? SIZE_MAX : r->o->max_record + 2;
    if (rest > limit)
        rest = limit;
    if (rest && mr_buf_grow(&f->tail, &f->tail_cap, rest + 1) != 0)
        st = mr_err_set(&s->err, MR_E_NOMEM, "out of memory");
    if (st == MR_OK)
        memcpy(f->tail, s->in + s->in_off + end, rest);
    f->tail_len = st == MR_OK ? rest : 0;
    f->tail_bad |= st != MR_OK;
    f->tail_for = s->ticket + 1;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    if (st != MR_OK) {
        s->st = st;
        s->in_off = s->in_len = 0;
        mr_stream_fail_at(r, &s->err, st, 0, 0, 0, NULL);
        return;
    }
    s->in_len = s->in_off + end;
    if (rows) /* which rows are the input's, and the error after them (none cut short) */
        s->in_len = s->in_off + (cut_short ? end : r->in->piped_span(r, s, s->raw_off - t, end, s->last));
    s->cut_open = !to_end && !rows; /* a record end found without the quote state */
    s->in_end = s->raw_off - t + (s->in_len - s->in_off);
    s->in_bytes = s->in_len - s->in_off;
}
