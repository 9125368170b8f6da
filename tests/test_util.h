/* test_util.h — shared helpers for the unit tests (header-only). */
#ifndef MR_TEST_UTIL_H
#define MR_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "marsreplay.h"

#ifndef MR_FIXTURES
#define MR_FIXTURES "fixtures"
#endif

static inline mr_model *load_json(const char *json)
{
    mr_model *m = NULL;
    mr_error err;
    const mr_status st = mr_model_load_buffer(json, strlen(json), "test", &m, &err);
    if (st != MR_OK)
        fail_msg("model did not load: %s: %s", err.json_path, err.text);
    return m;
}

/* xorshift64*: deterministic test data */
static inline uint64_t rnd_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static inline double rnd_unit(uint64_t *s)
{
    return (double)(rnd_next(s) >> 11) * 0x1.0p-53;
}

/* A model with a string categorical, hinges under a categorical parent, a
 * missingness term and an interaction; ALLOW is allow_missing's JSON text
 * (or "%s" for a format). */
#define MR_TEST_CAT_MODEL(ALLOW) \
    "{\"spec_version\":\"1.0\",\"params\":{\"allow_missing\":" ALLOW "}," \
    "\"feature_schema\":{\"n_features\":3,\"feature_names\":[\"colour\",\"b\",\"c\"]}," \
    "\"basis_terms\":[{\"kind\":\"constant\"}," \
    "{\"kind\":\"categorical\",\"variable_idx\":0,\"category\":2.0}," \
    "{\"kind\":\"hinge\",\"variable_idx\":1,\"knot_val\":0.3,\"is_right_hinge\":true," \
    " \"parent1\":{\"kind\":\"categorical\",\"variable_idx\":0,\"category\":0.0}}," \
    "{\"kind\":\"missingness\",\"variable_idx\":2}," \
    "{\"kind\":\"linear\",\"variable_idx\":2,\"parent1\":{\"kind\":\"hinge\",\"variable_idx\":1," \
    " \"knot_val\":-0.2,\"is_right_hinge\":false}}]," \
    "\"coefficients\":[0.1,-2.5,3.25,0.7,1.125]," \
    "\"categorical_imputer\":{\"encoders\":{\"0\":[\"blue\",\"green\",\"red\"]}," \
    "\"most_frequent\":{\"0\":\"blue\"}}}"

/* In-memory mr_io endpoints. */
typedef struct mem_in {
    const char *data;
    size_t len, pos;
    size_t max_read; /* 0: unlimited; else the largest read returned */
    int fail_at;     /* >0: the fail_at-th read call fails with EIO */
    int calls;
    int not_movable; /* mem_read_into_pipe fails with EINVAL (not a pipe) */
} mem_in;

typedef struct mem_out {
    char *data;
    size_t len, cap;
    size_t limit;    /* >0: writes past this many bytes fail with ENOSPC */
} mem_out;

#include <errno.h>

static inline long mem_read(void *cookie, void *buf, size_t cap)
{
    mem_in *in = cookie;
    if (in->fail_at && ++in->calls == in->fail_at) {
        errno = EIO;
        return -1;
    }
    size_t n = in->len - in->pos;
    if (n > cap)
        n = cap;
    if (in->max_read && n > in->max_read)
        n = in->max_read;
    memcpy(buf, in->data + in->pos, n);
    in->pos += n;
    return (long)n;
}

#include <unistd.h>

/* mr_io.read_into_pipe over the same bytes: write(2) at most a page into the
 * pipe, as splice(2) moves what there is room for; fail_at as mem_read. */
static inline long mem_read_into_pipe(void *cookie, int fd, size_t len)
{
    mem_in *in = cookie;
    if (in->not_movable) {
        errno = EINVAL;
        return -1;
    }
    if (in->fail_at && ++in->calls == in->fail_at) {
        errno = EIO;
        return -1;
    }
    size_t n = in->len - in->pos;
    if (n > len)
        n = len;
    if (n > 4096)
        n = 4096;
    if (in->max_read && n > in->max_read)
        n = in->max_read;
    const ssize_t w = write(fd, in->data + in->pos, n);
    if (w > 0)
        in->pos += (size_t)w;
    return (long)w;
}

/* mr_read_at_fn over the same bytes (thread-safe: reads only data, len). */
static inline long mem_read_at(void *cookie, void *buf, size_t cap, uint64_t off)
{
    const mem_in *in = cookie;
    if (off >= in->len)
        return 0;
    size_t n = in->len - (size_t)off;
    if (n > cap)
        n = cap;
    memcpy(buf, in->data + off, n);
    return (long)n;
}

static inline int mem_write(void *cookie, const void *buf, size_t len)
{
    mem_out *o = cookie;
    if (o->limit && o->len + len > o->limit) {
        errno = ENOSPC;
        return -1;
    }
    if (o->len + len > o->cap) {
        size_t c = o->cap ? o->cap : 1024;
        while (c < o->len + len)
            c *= 2;
        o->data = realloc(o->data, c);
        o->cap = c;
    }
    memcpy(o->data + o->len, buf, len);
    o->len += len;
    return 0;
}

static inline int mem_pwrite(void *cookie, const void *buf, size_t len, uint64_t off)
{
    mem_out *o = cookie;
    if (off + len > o->len)
        return -1;
    memcpy(o->data + off, buf, len);
    return 0;
}

#endif
