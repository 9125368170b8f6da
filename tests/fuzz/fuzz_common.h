/* fuzz_common.h — helpers shared by the fuzz targets: memory streams for
 * mr_run, an output sink, a quote-aware CSV record walker and checks.
 * Everything is static so each target stays one translation unit. */
#ifndef MR_FUZZ_COMMON_H
#define MR_FUZZ_COMMON_H

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "marsreplay.h"

/* Abort with a message: the fuzzer reports the stack. */
#define FUZZ_CHECK(cond, ...)                                                   \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__,    \
                    #cond);                                                     \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
            abort();                                                            \
        }                                                                       \
    } while (0)

/* ---- input: a virtual stream of up to 4 segments, read in short pieces ---- */

typedef struct fz_seg {
    const char *p;   /* NULL: `len` copies of `fill` */
    size_t len;
    char fill;
} fz_seg;

typedef struct fz_reader {
    fz_seg seg[4];
    int nseg;
    int cur;          /* current segment */
    size_t off;       /* offset in it */
    uint32_t rng;     /* 0: every read returns as much as asked */
    size_t max_piece; /* longest short read */
} fz_reader;

static inline uint32_t fz_next(uint32_t *s)
{
    /* xorshift32; the state is never 0 */
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* Read pattern from one control byte: 0xff gives full reads, anything else
 * short reads of 1..max_piece bytes in a byte-seeded order. */
static inline void fz_reader_init(fz_reader *r, uint8_t pattern)
{
    memset(r, 0, sizeof *r);
    if (pattern != 0xff) {
        r->rng = 0x9e3779b9u ^ ((uint32_t)pattern * 0x01000193u);
        static const size_t pieces[8] = {1, 2, 3, 7, 16, 61, 509, 4099};
        r->max_piece = pieces[pattern & 7];
    }
}

static inline void fz_reader_add(fz_reader *r, const void *p, size_t len, char fill)
{
    if (r->nseg < 4 && len)
        r->seg[r->nseg++] = (fz_seg){ p, len, fill };
}

static inline long fz_read(void *cookie, void *buf, size_t cap)
{
    fz_reader *r = cookie;
    while (r->cur < r->nseg && r->off == r->seg[r->cur].len) {
        r->cur++;
        r->off = 0;
    }
    if (r->cur == r->nseg || cap == 0)
        return 0;
    const fz_seg *s = &r->seg[r->cur];
    size_t n = s->len - r->off;
    if (n > cap)
        n = cap;
    if (r->rng) {
        const size_t piece = 1 + fz_next(&r->rng) % r->max_piece;
        if (n > piece)
            n = piece;
    }
    if (s->p)
        memcpy(buf, s->p + r->off, n);
    else
        memset(buf, s->fill, n);
    r->off += n;
    return (long)n;
}

/* ---- output: a growable buffer ------------------------------------------ */

#define FZ_OUT_LIMIT ((size_t)256 << 20)

typedef struct fz_sink {
    char *p;
    size_t len, cap;
} fz_sink;

static inline int fz_write(void *cookie, const void *buf, size_t len)
{
    fz_sink *s = cookie;
    if (len == 0)
        return 0; /* s->p may still be NULL */
    if (len > FZ_OUT_LIMIT - s->len) {
        errno = ENOSPC;
        return -1;
    }
    if (s->len + len > s->cap) {
        size_t c = s->cap ? s->cap : 4096;
        while (c < s->len + len)
            c *= 2;
        char *q = realloc(s->p, c);
        if (!q) {
            errno = ENOMEM;
            return -1;
        }
        s->p = q;
        s->cap = c;
    }
    memcpy(s->p + s->len, buf, len);
    s->len += len;
    return 0;
}

static inline int fz_pwrite(void *cookie, const void *buf, size_t len, uint64_t off)
{
    fz_sink *s = cookie;
    if (off > s->len || len > s->len - off) {
        errno = EINVAL; /* the library only rewrites bytes it wrote */
        return -1;
    }
    memcpy(s->p + off, buf, len);
    return 0;
}

static inline void fz_sink_free(fz_sink *s)
{
    free(s->p);
    memset(s, 0, sizeof *s);
}

/* ---- CSV output walker (RFC 4180, ',' separated) -------------------------- */

typedef struct fz_rec {
    const char *p;  /* record start */
    size_t len;     /* without the '\n' */
    size_t fields;
} fz_rec;

/* Next record of out[*pos..len); 0 at the end. A record without a final
 * '\n' or with an open quote sets *bad. */
static inline int fz_next_record(const char *out, size_t len, size_t *pos, fz_rec *rec,
                                 int *bad)
{
    if (*pos >= len)
        return 0;
    size_t i = *pos;
    int inq = 0;
    rec->p = out + i;
    rec->fields = 1;
    for (; i < len; i++) {
        const char c = out[i];
        if (c == '"')
            inq = !inq;
        else if (!inq && c == ',')
            rec->fields++;
        else if (!inq && c == '\n')
            break;
    }
    if (i == len)
        *bad = 1; /* last record unterminated */
    rec->len = (size_t)(out + i - rec->p);
    *pos = i + 1;
    return 1;
}

/* Field k of a record, unquoted into buf (cap bytes, NUL-terminated). */
static inline size_t fz_field(const fz_rec *rec, size_t k, char *buf, size_t cap)
{
    size_t i = 0, f = 0, o = 0;
    int inq = 0;
    for (; i < rec->len && f < k; i++) {
        if (rec->p[i] == '"')
            inq = !inq;
        else if (!inq && rec->p[i] == ',')
            f++;
    }
    inq = 0;
    for (; i < rec->len; i++) {
        const char c = rec->p[i];
        if (c == '"') {
            if (inq && i + 1 < rec->len && rec->p[i + 1] == '"') {
                i++;
            } else {
                inq = !inq;
                continue;
            }
        } else if (!inq && c == ',') {
            break;
        }
        if (o + 1 < cap)
            buf[o++] = c;
    }
    buf[o] = '\0';
    return o;
}

/* A value written by the library: "nan" (the NaN text) or a number that
 * strtod reads completely. */
static inline int fz_value_ok(const char *s, const char *na)
{
    if (strcmp(s, na) == 0)
        return 1;
    if (!*s)
        return 0;
    char *end;
    (void)strtod(s, &end);
    return *end == '\0';
}

/* Bitwise equal, or both NaN (sign and payload ignored: docs/SEMANTICS.md §6). */
static inline int fz_same(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    return memcmp(&a, &b, sizeof a) == 0;
}

static inline int fz_is_error_status(mr_status st)
{
    return st >= MR_E_NOMEM && st <= MR_E_INTERNAL;
}

#endif
