/* dist.c — see dist.h. */
#include "dist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_io.h"
#include "exit_codes.h"

int dist_detect_format(int fd, int fmt)
{
    if (fmt != MR_FMT_AUTO)
        return fmt;
    unsigned char b[6];
    const ssize_t n = part_pread(fd, b, sizeof b, 0);
    if (n < 0)
        return -1;
    return n == 6 && memcmp(b, "\x93NUMPY", 6) == 0 ? MR_FMT_NPY : MR_FMT_CSV;
}

int dist_plan_csv_header(dist_plan *p, int fd, uint64_t size, int has_header)
{
    memset(p, 0, sizeof *p);
    p->fmt = MR_FMT_CSV;
    p->size = size;
    return part_csv_data_start(fd, size, has_header, &p->data_start);
}

void dist_plan_csv_range(dist_plan *p, uint64_t start, uint64_t end)
{
    p->nseg = 2;
    p->seg_from[0] = 0;
    p->seg_to[0] = p->data_start;
    p->seg_from[1] = start;
    p->seg_to[1] = end;
}

int dist_plan_binary(dist_plan *p, int fd, uint64_t size, uint64_t cols, uint64_t k, uint64_t n)
{
    const int fmt = p->fmt;
    memset(p, 0, sizeof *p);
    p->fmt = fmt;
    p->size = size;
    p->k = k;
    p->n = n;
    if (fmt == MR_FMT_NPY) {
        unsigned char buf[4096];
        const ssize_t got = part_pread(fd, buf, sizeof buf, 0);
        if (got < 0)
            return -1;
        if (part_npy_parse(buf, (size_t)got, &p->npy) != 0 ||
            p->npy.header_bytes + p->npy.rows * p->npy.cols * p->npy.itemsize != size) {
            /* not ours to judge: part 0 shows the library the whole file */
            p->whole = k == 0;
            p->skip = k != 0;
            p->nseg = p->whole;
            p->seg_to[0] = size;
            return 0;
        }
        p->data_start = p->npy.header_bytes;
        p->row_bytes = (unsigned)(p->npy.cols * p->npy.itemsize);
        p->total_rows = p->npy.rows;
    } else {
        p->data_start = 0;
        p->row_bytes = (unsigned)(cols * 8);
        p->total_rows = p->row_bytes ? size / p->row_bytes : 0;
    }
    uint64_t lo = 0, hi = 0;
    part_row_range(p->total_rows, k, n, &lo, &hi);
    p->row_off = lo;
    p->rows = hi - lo;
    p->nseg = 1;
    p->seg_from[0] = p->data_start + lo * p->row_bytes;
    /* the last part also takes a partial row at the end: the library reports it */
    p->seg_to[0] = k + 1 == n ? size : p->data_start + hi * p->row_bytes;
    if (fmt == MR_FMT_NPY) {
        p->prefix_len = part_npy_header(p->prefix, sizeof p->prefix, p->rows, p->npy.cols, p->npy.itemsize);
        if (!p->prefix_len) {
            errno = EOVERFLOW;
            return -1;
        }
    }
    return 0;
}

int dist_plan_shard(dist_plan *p, int fd, uint64_t size, int fmt, int has_header, uint64_t cols,
                    uint64_t k, uint64_t n)
{
    if (fmt != MR_FMT_CSV) {
        p->fmt = fmt;
        return dist_plan_binary(p, fd, size, cols, k, n);
    }
    if (dist_plan_csv_header(p, fd, size, has_header) != 0)
        return -1;
    p->k = k;
    p->n = n;
    part_range r;
    if (part_csv_shard(fd, size, p->data_start, k, n, &r) != 0)
        return -1;
    p->row_off = r.rows_before;
    p->line_off = r.lines_before;
    dist_plan_csv_range(p, r.start, r.end);
    return 0;
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
    if (p->whole || p->skip || !p->nseg)
        return -1;
    const int i = p->nseg - 1; /* the data: CSV's second segment, binary's only one */
    if (at < p->seg_from[i] || at > p->seg_to[i] || rows < p->row_off || lines < p->line_off)
        return -1;
    if (p->fmt != MR_FMT_CSV) {
        const uint64_t done = (at - p->seg_from[i]) / p->row_bytes;
        if (!p->row_bytes || (at - p->seg_from[i]) % p->row_bytes || rows != p->row_off + done ||
            done > p->rows)
            return -1;
        p->rows -= done;
        if (p->fmt == MR_FMT_NPY &&
            !(p->prefix_len = part_npy_header(p->prefix, sizeof p->prefix, p->rows, p->npy.cols, p->npy.itemsize)))
            return -1;
    }
    p->seg_from[i] = at;
    p->row_off = rows;
    p->line_off = lines;
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

int dist_shard_prepare(dist_plan *p, const cli_input *in, const mr_model *m,
                       const cli_dist_opts *o, dist_input *din)
{
    const uint64_t k = p->k, n = p->n;
    if (in->size < 0) {
        cli_msg("%s: --shard needs a regular file (seekable input), not a pipe or a terminal", in->display);
        return MR_EXIT_USAGE;
    }
    part_set_io_retries(o->io_retries);
    const int fmt = dist_detect_format(in->fd, o->in_fmt);
    const uint64_t cols = o->cols > 0 ? (uint64_t)o->cols : mr_model_n_features(m);
    if (fmt < 0 || dist_plan_shard(p, in->fd, (uint64_t)in->size, fmt, !o->no_header, cols, k, n) != 0) {
        cli_msg("%s: read error: %s", in->display, strerror(errno));
        return MR_EXIT_IO;
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

