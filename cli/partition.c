/* partition.c — see partition.h. */
#include "partition.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SCAN_BLOCK ((size_t)1 << 20)

static int io_retries;

void part_set_io_retries(int n)
{
    io_retries = n;
}

int part_retry_transient(int *tries, int max)
{
    const int e = errno;
    if (!(e == EAGAIN || e == EWOULDBLOCK || e == EIO || e == ETIMEDOUT) || *tries >= max)
        return 0;
    long ms = 10L << (*tries < 8 ? *tries : 8);
    if (ms > 2000)
        ms = 2000;
    const struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
    (*tries)++;
    errno = e;
    return 1;
}


static uint64_t count_newlines(const char *p, const char *end)
{
    uint64_t n = 0;
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        n++;
        p++;
    }
    return n;
}

void part_count_buf(const char *buf, size_t len, part_counts *c)
{
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *q = memchr(p, '"', (size_t)(end - p));
        const char *stop = q ? q : end;
        const uint64_t nl = count_newlines(p, stop);
        c->newlines += nl;
        if (!c->in_quotes)
            c->records += nl;
        if (!q)
            break;
        c->quotes++;
        c->in_quotes ^= 1;
        p = q + 1;
    }
}

size_t part_find_boundary_buf(const char *buf, size_t len, int *in_quotes)
{
    size_t i = 0;
    while (i < len) {
        const char *q = memchr(buf + i, '"', len - i);
        const size_t qi = q ? (size_t)(q - buf) : len;
        if (!*in_quotes) {
            const char *nl = memchr(buf + i, '\n', qi - i);
            if (nl)
                return (size_t)(nl - buf);
        }
        if (!q)
            break;
        *in_quotes ^= 1;
        i = qi + 1;
    }
    return len;
}

/* pread all of [off, off+len) unless EOF comes first; returns bytes read or -1. */
ssize_t part_pread(int fd, void *dst, size_t len, uint64_t off)
{
    char *buf = dst;
    size_t got = 0;
    int tries = 0;
    while (got < len) {
        const ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));
        if (n < 0) {
            if (errno == EINTR || part_retry_transient(&tries, io_retries))
                continue;
            return -1;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

int part_count_fd(int fd, uint64_t from, uint64_t to, part_counts *c)
{
    if (to <= from)
        return 0;
    char *buf = malloc(SCAN_BLOCK);
    if (!buf)
        return -1;
    int rc = 0;
    while (from < to) {
        const size_t want = to - from < SCAN_BLOCK ? (size_t)(to - from) : SCAN_BLOCK;
        const ssize_t n = part_pread(fd, buf, want, from);
        if (n < 0) {
            rc = -1;
            break;
        }
        part_count_buf(buf, (size_t)n, c);
        if ((size_t)n < want)
            break; /* the file shrank: count what is there */
        from += (uint64_t)n;
    }
    const int e = errno;
    free(buf);
    errno = e;
    return rc;
}

int part_next_boundary_fd(int fd, uint64_t from, uint64_t size, int in_quotes, uint64_t *boundary)
{
    *boundary = size;
    if (from >= size)
        return 0;
    char *buf = malloc(SCAN_BLOCK);
    if (!buf)
        return -1;
    int rc = 0;
    /* a boundary is usually a record away: start small, grow */
    size_t block = 4096;
    while (from < size) {
        const size_t want = size - from < block ? (size_t)(size - from) : block;
        const ssize_t n = part_pread(fd, buf, want, from);
        if (n < 0) {
            rc = -1;
            break;
        }
        const size_t i = part_find_boundary_buf(buf, (size_t)n, &in_quotes);
        if (i < (size_t)n) {
            *boundary = from + i + 1;
            break;
        }
        if ((size_t)n < want)
            break;
        from += (uint64_t)n;
        if (block < SCAN_BLOCK)
            block *= 4;
    }
    const int e = errno;
    free(buf);
    errno = e;
    return rc;
}

int part_csv_data_start(int fd, uint64_t size, int has_header, uint64_t *data_start)
{
    unsigned char bom[3];
    uint64_t start = 0;
    if (size >= 3) {
        const ssize_t n = part_pread(fd, (char *)bom, 3, 0);
        if (n < 0)
            return -1;
        if (n == 3 && bom[0] == 0xEF && bom[1] == 0xBB && bom[2] == 0xBF)
            start = 3;
    }
    if (!has_header) {
        *data_start = start;
        return 0;
    }
    return part_next_boundary_fd(fd, start, size, 0, data_start);
}

uint64_t part_raw_cut(uint64_t data_start, uint64_t size, uint64_t k, uint64_t n)
{
    if (k >= n || size <= data_start)
        return k >= n ? size : data_start;
    return data_start + (uint64_t)((unsigned __int128)(size - data_start) * k / n);
}

void part_row_range(uint64_t rows, uint64_t k, uint64_t n, uint64_t *lo, uint64_t *hi)
{
    *lo = (uint64_t)((unsigned __int128)rows * k / n);
    *hi = (uint64_t)((unsigned __int128)rows * (k + 1) / n);
}

uint64_t part_anchor(uint64_t data_start, uint64_t size, uint64_t k, uint64_t n)
{
    if (k == 0)
        return data_start;
    if (k >= n)
        return size;
    const uint64_t raw = part_raw_cut(data_start, size, k, n);
    return raw > data_start ? raw - 1 : data_start;
}

int part_csv_bounds(int fd, uint64_t size, uint64_t data_start, uint64_t k, uint64_t n,
                    int q_k, int q_k1, uint64_t *start, uint64_t *end)
{
    *start = data_start;
    *end = size;
    if (k > 0 && part_raw_cut(data_start, size, k, n) > data_start &&
        part_next_boundary_fd(fd, part_anchor(data_start, size, k, n), size, q_k, start) != 0)
        return -1;
    if (k + 1 < n) {
        if (part_raw_cut(data_start, size, k + 1, n) <= data_start)
            *end = data_start;
        else if (part_next_boundary_fd(fd, part_anchor(data_start, size, k + 1, n), size, q_k1, end) != 0)
            return -1;
    }
    if (*end < *start)
        *end = *start;
    return 0;
}

int part_csv_shard(int fd, uint64_t size, uint64_t data_start, uint64_t k, uint64_t n,
                   part_range *out)
{
    part_counts c = { 0 };
    uint64_t start = data_start;
    const uint64_t raw = part_raw_cut(data_start, size, k, n);
    if (k > 0 && raw > data_start) {
        const uint64_t anchor = raw - 1;
        if (part_count_fd(fd, data_start, anchor, &c) != 0 ||
            part_next_boundary_fd(fd, anchor, size, c.in_quotes, &start) != 0 ||
            part_count_fd(fd, anchor, start, &c) != 0)
            return -1;
    }
    out->start = start;
    out->rows_before = c.records;
    out->lines_before = c.newlines;
    out->end = size;
    if (k + 1 < n) {
        const uint64_t raw1 = part_raw_cut(data_start, size, k + 1, n);
        if (raw1 <= data_start) {
            out->end = data_start;
        } else if (raw1 - 1 < start) {
            out->end = start; /* the start already passed the next cut: empty */
        } else {
            part_counts d = { 0 }; /* parity is even at a boundary */
            if (part_count_fd(fd, start, raw1 - 1, &d) != 0 ||
                part_next_boundary_fd(fd, raw1 - 1, size, d.in_quotes, &out->end) != 0)
                return -1;
        }
    }
    if (out->end < out->start)
        out->end = out->start;
    return 0;
}

/* ---- .npy ----------------------------------------------------------------- */

typedef struct npy_cur {
    const unsigned char *p;
    size_t n, i;
} npy_cur;

static void npy_ws(npy_cur *c)
{
    while (c->i < c->n && (c->p[c->i] == ' ' || c->p[c->i] == '\t' || c->p[c->i] == '\n' || c->p[c->i] == '\r'))
        c->i++;
}

static int npy_lit(npy_cur *c, const char *s)
{
    npy_ws(c);
    const size_t l = strlen(s);
    if (c->n - c->i < l || memcmp(c->p + c->i, s, l) != 0)
        return 0;
    c->i += l;
    return 1;
}

/* a quoted string into dst; 1 on success */
static int npy_str(npy_cur *c, char *dst, size_t cap)
{
    npy_ws(c);
    if (c->i >= c->n || (c->p[c->i] != '\'' && c->p[c->i] != '"'))
        return 0;
    const unsigned char q = c->p[c->i++];
    size_t o = 0;
    while (c->i < c->n && c->p[c->i] != q) {
        if (o + 1 >= cap)
            return 0;
        dst[o++] = (char)c->p[c->i++];
    }
    if (c->i >= c->n)
        return 0;
    c->i++;
    dst[o] = '\0';
    return 1;
}

static int npy_uint(npy_cur *c, uint64_t *v)
{
    npy_ws(c);
    if (c->i >= c->n || c->p[c->i] < '0' || c->p[c->i] > '9')
        return 0;
    uint64_t x = 0;
    while (c->i < c->n && c->p[c->i] >= '0' && c->p[c->i] <= '9') {
        const unsigned d = c->p[c->i++] - '0';
        if (x > (UINT64_MAX - d) / 10)
            return 0;
        x = x * 10 + d;
    }
    *v = x;
    return 1;
}

int part_npy_parse(const unsigned char *buf, size_t len, part_npy *h)
{
    if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0 || buf[6] < 1 || buf[6] > 3 || buf[7] != 0)
        return -1;
    const size_t prefix = buf[6] == 1 ? 10 : 12;
    if (len < prefix)
        return -1;
    size_t hl = (size_t)buf[8] | (size_t)buf[9] << 8;
    if (buf[6] > 1)
        hl |= (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
    if (len - prefix < hl)
        return -1;
    npy_cur c = { buf + prefix, hl, 0 };
    int have_descr = 0, have_fortran = 0, have_shape = 0;
    if (!npy_lit(&c, "{"))
        return -1;
    for (;;) {
        if (npy_lit(&c, "}"))
            break;
        char key[32];
        if (!npy_str(&c, key, sizeof key) || !npy_lit(&c, ":"))
            return -1;
        if (strcmp(key, "descr") == 0 && !have_descr) {
            char d[16];
            if (!npy_str(&c, d, sizeof d))
                return -1;
            if (strcmp(d, "<f8") == 0)
                h->itemsize = 8;
            else if (strcmp(d, "<f4") == 0)
                h->itemsize = 4;
            else
                return -1;
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0 && !have_fortran) {
            if (!npy_lit(&c, "False"))
                return -1;
            have_fortran = 1;
        } else if (strcmp(key, "shape") == 0 && !have_shape) {
            if (!npy_lit(&c, "(") || !npy_uint(&c, &h->rows) || !npy_lit(&c, ",") ||
                !npy_uint(&c, &h->cols))
                return -1;
            npy_lit(&c, ",");
            if (!npy_lit(&c, ")"))
                return -1;
            have_shape = 1;
        } else {
            return -1;
        }
        if (!npy_lit(&c, ",")) {
            if (!npy_lit(&c, "}"))
                return -1;
            break;
        }
    }
    npy_ws(&c);
    if (c.i != c.n || !have_descr || !have_fortran || !have_shape || h->cols == 0)
        return -1;
    if (h->rows > UINT64_MAX / h->cols / h->itemsize)
        return -1;
    h->header_bytes = prefix + hl;
    return 0;
}

static size_t npy_pad(unsigned char *buf, size_t cap, const char *dict, size_t n, size_t fixed)
{
    const size_t total = (fixed + 63) / 64 * 64;
    if (total - 10 > 0xffff || cap < total)
        return 0;
    const size_t hl = total - 10;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = 1;
    buf[7] = 0;
    buf[8] = (unsigned char)(hl & 0xff);
    buf[9] = (unsigned char)(hl >> 8);
    memcpy(buf + 10, dict, n);
    memset(buf + 10 + n, ' ', total - 10 - n - 1);
    buf[total - 1] = '\n';
    return total;
}

size_t part_npy_header(unsigned char *buf, size_t cap, uint64_t rows, uint64_t cols,
                       unsigned itemsize)
{
    char dict[160];
    const int n = snprintf(dict, sizeof dict,
                           "{'descr': '<f%u', 'fortran_order': False, 'shape': (%" PRIu64 ", %" PRIu64 "), }",
                           itemsize, rows, cols);
    if (n <= 0 || (size_t)n >= sizeof dict)
        return 0;
    return npy_pad(buf, cap, dict, (size_t)n, 10 + (size_t)n + 1);
}

size_t part_npy_out_header(unsigned char *buf, size_t cap, uint64_t rows, uint64_t cols)
{
    char dict[160], digits[24];
    const int n = cols
        ? snprintf(dict, sizeof dict, "{'descr': '<f8', 'fortran_order': False, 'shape': (%" PRIu64 ", %" PRIu64 "), }", rows, cols)
        : snprintf(dict, sizeof dict, "{'descr': '<f8', 'fortran_order': False, 'shape': (%" PRIu64 ",), }", rows);
    const int rd = snprintf(digits, sizeof digits, "%" PRIu64, rows);
    if (n <= 0 || (size_t)n >= sizeof dict || rd <= 0)
        return 0;
    /* as the library: sized as if the row count had 20 digits */
    return npy_pad(buf, cap, dict, (size_t)n, 10 + (size_t)n - (size_t)rd + 20 + 1);
}

/* ---- shard specs and the environment ---------------------------------------- */

static int parse_u64(const char *s, uint64_t *v)
{
    if (!s || *s < '0' || *s > '9')
        return -1;
    char *end;
    errno = 0;
    const unsigned long long x = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *v = x;
    return 0;
}

int part_parse_shard(const char *s, uint64_t *k, uint64_t *n, char *why, size_t whylen)
{
    const char *slash = strchr(s, '/');
    char a[32];
    if (!slash || (size_t)(slash - s) >= sizeof a) {
        snprintf(why, whylen, "expected K/N (e.g. 0/4) or auto, found '%s'", s);
        return -1;
    }
    memcpy(a, s, (size_t)(slash - s));
    a[slash - s] = '\0';
    if (parse_u64(a, k) != 0 || parse_u64(slash + 1, n) != 0) {
        snprintf(why, whylen, "expected K/N with whole numbers (e.g. 0/4), found '%s'", s);
        return -1;
    }
    if (*n < 1 || *n > 1000000 || *k >= *n) {
        snprintf(why, whylen, "expected 0 <= K < N <= 1000000, found '%s'", s);
        return -1;
    }
    return 0;
}

int part_slurm_shard(const char *(*get)(const char *), uint64_t *k, uint64_t *n, char *why,
                     size_t whylen)
{
    static const char *const names[] = { "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN",
                                         "SLURM_ARRAY_TASK_MAX", "SLURM_ARRAY_TASK_COUNT" };
    uint64_t v[4], step = 1;
    for (int i = 0; i < 4; i++) {
        const char *s = get(names[i]);
        if (!s || !*s) {
            snprintf(why, whylen, "%s is not set: --shard auto needs a Slurm job array (sbatch --array=0-N)",
                     names[i]);
            return -1;
        }
        if (parse_u64(s, &v[i]) != 0) {
            snprintf(why, whylen, "%s: expected a whole number, found '%s'", names[i], s);
            return -1;
        }
    }
    const char *st = get("SLURM_ARRAY_TASK_STEP");
    if (st && *st && (parse_u64(st, &step) != 0 || step == 0)) {
        snprintf(why, whylen, "SLURM_ARRAY_TASK_STEP: expected a whole number >= 1, found '%s'", st);
        return -1;
    }
    const uint64_t id = v[0], min = v[1], max = v[2], count = v[3];
    if (min > max || id < min || id > max) {
        snprintf(why, whylen,
                 "inconsistent Slurm array: SLURM_ARRAY_TASK_ID=%" PRIu64 " outside MIN=%" PRIu64 "..MAX=%" PRIu64,
                 id, min, max);
        return -1;
    }
    if ((max - min) % step != 0 || count != (max - min) / step + 1 || (id - min) % step != 0) {
        snprintf(why, whylen,
                 "the job array is not a plain range MIN-MAX:STEP (MIN=%" PRIu64 ", MAX=%" PRIu64 ", STEP=%" PRIu64
                 ", COUNT=%" PRIu64 "): use --array=0-N[:S] or --shard K/N",
                 min, max, step, count);
        return -1;
    }
    if (count > 1000000) {
        snprintf(why, whylen, "a job array of %" PRIu64 " tasks: at most 1000000 shards", count);
        return -1;
    }
    *k = (id - min) / step;
    *n = count;
    return 0;
}

int part_mpi_launched(const char *(*get)(const char *))
{
    const char *s;
    if (((s = get("OMPI_COMM_WORLD_SIZE")) && *s) || ((s = get("PMIX_RANK")) && *s) ||
        ((s = get("PMI_RANK")) && *s))
        return 1;
    uint64_t tasks;
    if (parse_u64(get("SLURM_STEP_NUM_TASKS"), &tasks) == 0 && tasks > 1 &&
        (((s = get("PMI_FD")) && *s) || ((s = get("PMI_SIZE")) && *s)))
        return 1;
    return 0;
}
