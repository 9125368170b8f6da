/* dist.c — see dist.h. */
#include "dist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_io.h"
#include "exit_codes.h"
#include "index.h"

static void segments(dist_plan *p);

long dist_file_read_at(void *cookie, void *buf, size_t cap, uint64_t offset)
{
    return (long)part_pread(*(const int *)cookie, buf, cap, offset);
}

int dist_plan_part(dist_plan *p, int fd, uint64_t size, const mr_options *opt, const mr_model *m,
                   uint64_t k, uint64_t n, const int parity[2], const mr_part_state *states, size_t nstates,
                   mr_error *err)
{
    mr_part part;
    const mr_status st = states
        ? mr_input_part_from(opt, m, dist_file_read_at, &fd, size, k, n, states, nstates, &part, err)
        : mr_input_part(opt, m, dist_file_read_at, &fd, size, k, n, parity, &part, err);
    if (st != MR_OK)
        return cli_exit_code(st);
    memset(p, 0, sizeof *p);
    p->part = part;
    p->fmt = part.format;
    p->k = k;
    p->n = n;
    p->size = size;
    segments(p);
    return 0;
}

/* The segments dist_read shows, from the library's part. */
static void segments(dist_plan *p)
{
    const mr_part part = p->part;
    const uint64_t size = p->size;
    p->nseg = 0;
    p->whole = part.whole;
    p->skip = part.empty;
    p->row_off = part.rows_before;
    p->line_off = part.lines_before;
    memcpy(p->prefix, part.prefix, part.prefix_len);
    p->prefix_len = part.prefix_len;
    if (part.whole) { /* not ours to judge: part 0 shows the library the whole file */
        p->nseg = 1;
        p->seg_to[0] = size;
    } else if (part.format == MR_FMT_CSV) { /* the header, then the part's records */
        p->nseg = 2;
        p->seg_to[0] = part.head_end;
        p->seg_from[1] = part.start;
        p->seg_to[1] = part.end;
    } else if (!part.empty) { /* the rows, behind prefix for .npy */
        p->nseg = 1;
        p->seg_from[0] = part.start;
        p->seg_to[0] = part.end;
    }
}

uint64_t dist_plan_bytes(const dist_plan *p)
{
    if (p->skip)
        return 0;
    uint64_t n = p->prefix_len;
    for (int i = 0; i < p->nseg; i++)
        n += p->seg_to[i] - p->seg_from[i];
    return n;
}

uint64_t dist_file_offset(const dist_plan *p, uint64_t v)
{
    v = v > p->prefix_len ? v - p->prefix_len : 0;
    for (int i = 0; i < p->nseg; i++) {
        const uint64_t len = p->seg_to[i] - p->seg_from[i];
        if (v < len || i + 1 == p->nseg)
            return p->seg_from[i] + v;
        v -= len;
    }
    return 0;
}

int dist_plan_resume(dist_plan *p, uint64_t at, uint64_t rows, uint64_t lines)
{
    mr_error err;
    if (p->skip || mr_input_part_advance(&p->part, at, rows, lines, &err) != MR_OK)
        return -1;
    segments(p);
    return 0;
}

void dist_input_init(dist_input *in, int fd, const dist_plan *p, int retries)
{
    memset(in, 0, sizeof *in);
    in->fd = fd;
    in->plan = p;
    in->retries = retries;
    in->pos = p->nseg ? p->seg_from[0] : 0;
}

long dist_read(void *cookie, void *buf, size_t cap)
{
    dist_input *in = cookie;
    const dist_plan *p = in->plan;
    if (p->skip)
        return 0;
    if (in->prefix_pos < p->prefix_len) {
        size_t n = p->prefix_len - in->prefix_pos;
        if (n > cap)
            n = cap;
        memcpy(buf, p->prefix + in->prefix_pos, n);
        in->prefix_pos += n;
        return (long)n;
    }
    int tries = 0;
    while (in->seg < p->nseg) {
        const uint64_t end = p->seg_to[in->seg];
        if (in->pos >= end) {
            if (++in->seg < p->nseg)
                in->pos = p->seg_from[in->seg];
            continue;
        }
        size_t want = end - in->pos < cap ? (size_t)(end - in->pos) : cap;
        const ssize_t n = pread(in->fd, buf, want, (off_t)in->pos);
        if (n < 0) {
            if (errno == EINTR || part_retry_transient(&tries, in->retries))
                continue;
            return -1;
        }
        if (n == 0) { /* the file shrank under us: end of this segment */
            in->pos = end;
            continue;
        }
        in->pos += (uint64_t)n;
        return (long)n;
    }
    return 0;
}

long dist_read_at(void *cookie, void *buf, size_t cap, uint64_t off)
{
    const dist_input *in = cookie;
    const dist_plan *p = in->plan;
    if (p->skip)
        return 0;
    if (off < p->prefix_len) {
        const size_t n = p->prefix_len - off < cap ? (size_t)(p->prefix_len - off) : cap;
        memcpy(buf, p->prefix + off, n);
        return (long)n;
    }
    off -= p->prefix_len;
    for (int i = 0; i < p->nseg; i++) { /* the part's bytes follow each other */
        const uint64_t len = p->seg_to[i] - p->seg_from[i];
        if (off >= len) {
            off -= len;
            continue;
        }
        const size_t want = len - off < cap ? (size_t)(len - off) : cap;
        int tries = 0;
        for (;;) {
            const ssize_t n = pread(in->fd, buf, want, (off_t)(p->seg_from[i] + off));
            if (n >= 0 || (errno != EINTR && !part_retry_transient(&tries, in->retries)))
                return (long)n;
        }
    }
    return 0;
}

void dist_global_error(mr_error *e, uint64_t row_off, uint64_t line_off)
{
    if (!e->row)
        return; /* the header, the model, the output: the same in every part */
    e->row += row_off;
    if (e->line)
        e->line += line_off;
}

void dist_global_stats(mr_run_stats *s, uint64_t row_off)
{
    for (size_t f = 0; s->columns && f < s->n_columns; f++)
        if (s->columns[f].unknown)
            s->columns[f].first_unknown_row += row_off;
}

static const char *env_get(const char *name)
{
    return getenv(name);
}

int dist_shard_spec(const char *spec, uint64_t *k, uint64_t *n)
{
    char why[320];
    const int bad = strcmp(spec, "auto") == 0 ? part_slurm_shard(env_get, k, n, why, sizeof why)
                                              : part_parse_shard(spec, k, n, why, sizeof why);
    if (bad) {
        cli_msg("--shard: %s (see mars-replay --help)", why);
        return MR_EXIT_USAGE;
    }
    return 0;
}

int dist_shard_prepare(dist_plan *p, const cli_input *in, const mr_model *m, const mr_options *opt,
                       const cli_dist_opts *o, dist_input *din)
{
    const uint64_t k = p->k, n = p->n;
    if (in->size < 0) {
        cli_msg("%s: --shard needs a regular file (seekable input), not a pipe or a terminal", in->display);
        return MR_EXIT_USAGE;
    }
    part_set_io_retries(o->io_retries);
    mr_error err;
    /* alone: the quote parity and the row and line counts from the input up
     * to this part (read once, counted, not parsed), or from the index's
     * last checkpoint before it */
    mr_part_state *states = NULL;
    size_t nstates = 0;
    int rc = o->index ? cli_index_load(o->index, in, !o->no_header, &states, &nstates) : 0;
    if (rc)
        return rc;
    rc = dist_plan_part(p, in->fd, (uint64_t)in->size, opt, m, k, n, NULL, o->index ? states : NULL, nstates,
                        &err);
    free(states);
    if (rc) {
        cli_print_error(&err, in->display);
        return rc;
    }
    if (p->skip) {
        cli_msg("%s: cannot cut into shards: the .npy header or the file size is not that of a plain "
                "float array (shard 0 reports what is wrong)", in->display);
        return MR_EXIT_DATA;
    }
    dist_input_init(din, in->fd, p, o->io_retries);
    return 0;
}

/* ---- --max-memory ------------------------------------------------------------ */

int dist_parse_bytes(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    const unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *s == '-')
        return -1;
    uint64_t mul = 1;
    if (*end && !end[1]) {
        switch (*end) {
        case 'K': case 'k': mul = 1ULL << 10; break;
        case 'M': case 'm': mul = 1ULL << 20; break;
        case 'G': case 'g': mul = 1ULL << 30; break;
        case 'T': case 't': mul = 1ULL << 40; break;
        default: return -1;
        }
    } else if (*end) {
        return -1;
    }
    if (v > UINT64_MAX / mul)
        return -1;
    *out = v * mul;
    return 0;
}

