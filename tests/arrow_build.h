/* arrow_build.h — a tiny Arrow producer for the tests and the fuzz target
 * (header-only): columns and record batches on the heap with release
 * callbacks that count their calls, and a stream over a batch factory that
 * can fail where it is told to. Not a library: just enough of the C Data
 * Interface to feed libmarsreplay what Arrow producers hand over. */
#ifndef MR_ARROW_BUILD_H
#define MR_ARROW_BUILD_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "marsreplay.h"

/* Release calls seen, and objects made, of every kind together. */
static long ab_made, ab_released, ab_double_release;

/* What an array owns: up to 3 buffers, its children and dictionary. */
typedef struct ab_priv {
    void *buf[3];
    const void *bufp[4];
    struct ArrowArray **kids;
    struct ArrowArray *dict;
} ab_priv;

static inline void *ab_xmalloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p)
        abort();
    return p;
}

static inline void ab_array_release(struct ArrowArray *a)
{
    if (!a->release) {
        ab_double_release++;
        return;
    }
    ab_priv *p = a->private_data;
    for (int64_t i = 0; i < a->n_children; i++) {
        if (p->kids[i]->release)
            p->kids[i]->release(p->kids[i]);
        free(p->kids[i]);
    }
    if (p->dict) {
        if (p->dict->release)
            p->dict->release(p->dict);
        free(p->dict);
    }
    for (int i = 0; i < 3; i++)
        free(p->buf[i]);
    free(p->kids);
    free(p);
    a->release = NULL;
    ab_released++;
}

typedef struct ab_spriv {
    char *format, *name;
    struct ArrowSchema **kids;
    struct ArrowSchema *dict;
} ab_spriv;

static inline void ab_schema_release(struct ArrowSchema *s)
{
    if (!s->release) {
        ab_double_release++;
        return;
    }
    ab_spriv *p = s->private_data;
    for (int64_t i = 0; i < s->n_children; i++) {
        if (p->kids[i]->release)
            p->kids[i]->release(p->kids[i]);
        free(p->kids[i]);
    }
    if (p->dict) {
        if (p->dict->release)
            p->dict->release(p->dict);
        free(p->dict);
    }
    free(p->format);
    free(p->name);
    free(p->kids);
    free(p);
    s->release = NULL;
    ab_released++;
}

static inline char *ab_strdup(const char *s)
{
    char *d = ab_xmalloc(strlen(s) + 1);
    memcpy(d, s, strlen(s) + 1);
    return d;
}

static inline void ab_schema(struct ArrowSchema *s, const char *format, const char *name)
{
    ab_spriv *p = ab_xmalloc(sizeof *p);
    p->format = ab_strdup(format);
    p->name = ab_strdup(name);
    memset(s, 0, sizeof *s);
    s->format = p->format;
    s->name = p->name;
    s->flags = ARROW_FLAG_NULLABLE;
    s->release = ab_schema_release;
    s->private_data = p;
    ab_made++;
}

/* validity from valid[0..n) (NULL: no bitmap); null_count counted */
static inline uint8_t *ab_bitmap(const int *valid, int64_t n, int64_t *nulls)
{
    *nulls = 0;
    if (!valid)
        return NULL;
    uint8_t *b = ab_xmalloc((size_t)(n + 7) / 8);
    for (int64_t i = 0; i < n; i++) {
        if (valid[i])
            b[i >> 3] |= (uint8_t)(1u << (i & 7));
        else
            ++*nulls;
    }
    return b;
}

static inline void ab_array(struct ArrowArray *a, int64_t n_buffers)
{
    ab_priv *p = ab_xmalloc(sizeof *p);
    memset(a, 0, sizeof *a);
    a->n_buffers = n_buffers;
    a->buffers = p->bufp;
    a->release = ab_array_release;
    a->private_data = p;
    ab_made++;
}

/* A primitive column of n physical values of `size` bytes, viewed from
 * `offset` for `length` values (length < 0: to the end). */
static inline void ab_prim(struct ArrowSchema *s, struct ArrowArray *a, const char *name,
                    const char *fmt, const void *vals, size_t size, int64_t n, const int *valid,
                    int64_t offset, int64_t length)
{
    ab_schema(s, fmt, name);
    ab_array(a, 2);
    ab_priv *p = a->private_data;
    int64_t nulls = 0;
    p->buf[0] = ab_bitmap(valid, n, &nulls);
    p->buf[1] = ab_xmalloc((size_t)n * size);
    memcpy(p->buf[1], vals, (size_t)n * size);
    p->bufp[0] = p->buf[0];
    p->bufp[1] = p->buf[1];
    a->offset = offset;
    a->length = length < 0 ? n - offset : length;
    a->null_count = nulls ? -1 : 0; /* "unknown": the consumer must look at the bitmap */
}

static inline void ab_f64(struct ArrowSchema *s, struct ArrowArray *a, const char *name,
                   const double *v, int64_t n, const int *valid)
{
    ab_prim(s, a, name, "g", v, sizeof *v, n, valid, 0, -1);
}

/* A string column ("u" or "U"); strs[i] NULL is a null. */
static inline void ab_str(struct ArrowSchema *s, struct ArrowArray *a, const char *name,
                   const char *fmt, const char *const *strs, int64_t n, int64_t offset,
                   int64_t length)
{
    ab_schema(s, fmt, name);
    ab_array(a, 3);
    ab_priv *p = a->private_data;
    const int large = fmt[0] == 'U';
    size_t total = 0;
    int any_null = 0;
    for (int64_t i = 0; i < n; i++) {
        total += strs[i] ? strlen(strs[i]) : 0;
        any_null |= !strs[i];
    }
    p->buf[1] = ab_xmalloc((size_t)(n + 1) * (large ? 8 : 4));
    p->buf[2] = ab_xmalloc(total);
    if (any_null) {
        p->buf[0] = ab_xmalloc((size_t)(n + 7) / 8);
        a->null_count = 0;
        for (int64_t i = 0; i < n; i++)
            if (strs[i])
                ((uint8_t *)p->buf[0])[i >> 3] |= (uint8_t)(1u << (i & 7));
            else
                a->null_count++;
    }
    size_t o = 0;
    for (int64_t i = 0; i <= n; i++) {
        if (large)
            ((int64_t *)p->buf[1])[i] = (int64_t)o;
        else
            ((int32_t *)p->buf[1])[i] = (int32_t)o;
        if (i < n && strs[i]) {
            memcpy((char *)p->buf[2] + o, strs[i], strlen(strs[i]));
            o += strlen(strs[i]);
        }
    }
    for (int i = 0; i < 3; i++)
        p->bufp[i] = p->buf[i];
    a->offset = offset;
    a->length = length < 0 ? n - offset : length;
}

/* A utf8_view column ("vu"): strings of up to 12 bytes inline, longer ones
 * in one data buffer; strs[i] NULL is a null. */
static inline void ab_view(struct ArrowSchema *s, struct ArrowArray *a, const char *name,
                           const char *const *strs, int64_t n)
{
    ab_schema(s, "vu", name);
    ab_array(a, 4); /* validity, views, one data buffer, its size */
    ab_priv *p = a->private_data;
    size_t total = 0;
    for (int64_t i = 0; i < n; i++)
        total += strs[i] && strlen(strs[i]) > 12 ? strlen(strs[i]) : 0;
    uint8_t *views = ab_xmalloc((size_t)n * 16);
    const size_t at = (total + 7) & ~(size_t)7;
    char *data = ab_xmalloc(at + 8); /* the data, then its size as int64, aligned */
    int64_t size = (int64_t)total;
    size_t o = 0;
    for (int64_t i = 0; i < n; i++) {
        const int32_t len = strs[i] ? (int32_t)strlen(strs[i]) : 0;
        uint8_t *v = views + i * 16;
        memcpy(v, &len, 4);
        if (len <= 12) {
            if (len)
                memcpy(v + 4, strs[i], (size_t)len);
        } else {
            const int32_t buf = 0, off = (int32_t)o;
            memcpy(v + 4, strs[i], 4);
            memcpy(v + 8, &buf, 4);
            memcpy(v + 12, &off, 4);
            memcpy(data + o, strs[i], (size_t)len);
            o += (size_t)len;
        }
    }
    memcpy(data + at, &size, 8);
    int *valid = ab_xmalloc((size_t)n * sizeof *valid + 1);
    int any = 0;
    for (int64_t i = 0; i < n; i++)
        any |= !(valid[i] = strs[i] != NULL);
    int64_t nulls = 0;
    p->buf[0] = any ? ab_bitmap(valid, n, &nulls) : NULL;
    free(valid);
    p->buf[1] = views;
    p->buf[2] = data;
    p->bufp[0] = p->buf[0];
    p->bufp[1] = views;
    p->bufp[2] = data;
    p->bufp[3] = data + at;
    a->null_count = nulls;
    a->length = n;
}

/* Dictionary-encode: indices (int32 "i") into the given dictionary column,
 * which the column takes. idx[i] < 0 is a null. */
static inline void ab_dict(struct ArrowSchema *s, struct ArrowArray *a, const char *name,
                    const int32_t *idx, int64_t n, struct ArrowSchema *ds, struct ArrowArray *da)
{
    int *valid = ab_xmalloc((size_t)n * sizeof *valid);
    int any = 0;
    for (int64_t i = 0; i < n; i++)
        any |= !(valid[i] = idx[i] >= 0);
    ab_prim(s, a, name, "i", idx, sizeof *idx, n, any ? valid : NULL, 0, -1);
    free(valid);
    struct ArrowSchema *dsh = ab_xmalloc(sizeof *dsh);
    struct ArrowArray *dah = ab_xmalloc(sizeof *dah);
    *dsh = *ds;
    *dah = *da;
    ds->release = NULL;
    da->release = NULL;
    ((ab_spriv *)s->private_data)->dict = dsh;
    s->dictionary = dsh;
    ((ab_priv *)a->private_data)->dict = dah;
    a->dictionary = dah;
}

/* A record batch from n columns (each moved in), its struct viewed from
 * `offset` for `length` rows (length < 0: the shortest column's length minus
 * offset). */
static inline void ab_batch(struct ArrowSchema *s, struct ArrowArray *a, int n,
                     struct ArrowSchema *cs, struct ArrowArray *ca, int64_t offset, int64_t length)
{
    ab_schema(s, "+s", "");
    ab_array(a, 1);
    ab_spriv *sp = s->private_data;
    ab_priv *ap = a->private_data;
    sp->kids = ab_xmalloc((size_t)n * sizeof *sp->kids);
    ap->kids = ab_xmalloc((size_t)n * sizeof *ap->kids);
    int64_t len = INT64_MAX;
    for (int i = 0; i < n; i++) {
        sp->kids[i] = ab_xmalloc(sizeof **sp->kids);
        ap->kids[i] = ab_xmalloc(sizeof **ap->kids);
        *sp->kids[i] = cs[i];
        *ap->kids[i] = ca[i];
        cs[i].release = NULL;
        ca[i].release = NULL;
        if (ap->kids[i]->length < len)
            len = ap->kids[i]->length;
    }
    s->n_children = n;
    s->children = sp->kids;
    a->n_children = n;
    a->children = ap->kids;
    a->offset = offset;
    a->length = length < 0 ? (n ? len : 0) - offset : length;
}

/* A stream of batches made on demand by `make` (batch k of the stream; 0 at
 * the end); get_next fails with EIO at batch fail_at (>= 0). */
typedef int (*ab_make_fn)(void *ctx, int k, struct ArrowSchema *s, struct ArrowArray *a);

typedef struct ab_stream {
    ab_make_fn make;
    void *ctx;
    int next, fail_at, fail_schema;
    long releases;
    char msg[64];
} ab_stream;

static inline int ab_get_schema(struct ArrowArrayStream *st, struct ArrowSchema *out)
{
    ab_stream *p = st->private_data;
    if (p->fail_schema) {
        strcpy(p->msg, "schema unavailable: test producer");
        return EIO;
    }
    struct ArrowArray a;
    if (!p->make(p->ctx, 0, out, &a))
        abort();
    a.release(&a);
    return 0;
}

static inline int ab_get_next(struct ArrowArrayStream *st, struct ArrowArray *out)
{
    ab_stream *p = st->private_data;
    if (p->next == p->fail_at) {
        strcpy(p->msg, "disk on fire: test producer");
        return EIO;
    }
    struct ArrowSchema s;
    if (!p->make(p->ctx, p->next, &s, out)) {
        memset(out, 0, sizeof *out); /* the end: a released array */
        return 0;
    }
    s.release(&s);
    p->next++;
    return 0;
}

static inline const char *ab_last_error(struct ArrowArrayStream *st)
{
    ab_stream *p = st->private_data;
    return p->msg[0] ? p->msg : NULL;
}

static inline void ab_stream_release(struct ArrowArrayStream *st)
{
    ab_stream *p = st->private_data;
    if (!st->release) {
        ab_double_release++;
        return;
    }
    p->releases++;
    st->release = NULL;
}

static inline void ab_stream_init(struct ArrowArrayStream *st, ab_stream *p, ab_make_fn make, void *ctx)
{
    memset(p, 0, sizeof *p);
    p->make = make;
    p->ctx = ctx;
    p->fail_at = -1;
    *st = (struct ArrowArrayStream){ ab_get_schema, ab_get_next, ab_last_error,
                                     ab_stream_release, p };
}

#endif
