/* fuzz_arrow.c — the Arrow importer (src/input_arrow.c).
 *
 * Input: bytes that describe a record batch: a control byte (fields, model,
 * unknown-level mode, the struct's offset), then per field a name choice, a
 * format string (one of the accepted ones, one of Arrow's others, or
 * arbitrary bytes), a dictionary choice and format, its own offset, and the
 * bytes of its values, validity bitmap, string lengths and dictionary
 * indices. Every buffer is its own heap block, sized for the lengths the
 * batch declares (buffer sizes are not part of the C Data Interface, so a
 * consumer cannot check them: the producer here is honest about them and
 * lies about everything else it can: formats, names, indices, offsets going
 * backwards, nulls, NaN and infinities).
 *
 * Checks:
 *  - mr_arrow_predict returns MR_OK or MR_E_SHAPE / PARSE / DATA / INVAL
 *    with a one-line printable message, a row within the batch and a column
 *    within its fields;
 *  - the same batch as a one-batch stream gives the same status, row,
 *    column and, on success, the same bits through mr_arrow_stream_collect
 *    and through mr_arrow_stream_export;
 *  - every release callback is called exactly once. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../arrow_build.h"
#include "fuzz_common.h"
#include "marsreplay.h"

static const char *model_fmt =
    "{\"spec_version\":\"1.0\",\"params\":{\"allow_missing\":%s},"
    "\"feature_schema\":{\"n_features\":3,\"feature_names\":[\"colour\",\"b\",\"c\"]},"
    "\"basis_terms\":[{\"kind\":\"constant\"},"
    "{\"kind\":\"categorical\",\"variable_idx\":0,\"category\":2.0},"
    "{\"kind\":\"hinge\",\"variable_idx\":1,\"knot_val\":0.3,\"is_right_hinge\":true,"
    " \"parent1\":{\"kind\":\"categorical\",\"variable_idx\":0,\"category\":0.0}},"
    "{\"kind\":\"missingness\",\"variable_idx\":2},"
    "{\"kind\":\"linear\",\"variable_idx\":2,\"parent1\":{\"kind\":\"hinge\",\"variable_idx\":1,"
    " \"knot_val\":-0.2,\"is_right_hinge\":false}}],"
    "\"coefficients\":[0.1,-2.5,3.25,0.7,1.125],"
    "\"categorical_imputer\":{\"encoders\":{\"0\":[\"blue\",\"green\",3.5]},"
    "\"most_frequent\":{\"0\":\"blue\"}}}";

typedef struct cur {
    const uint8_t *p;
    size_t n, i;
} cur;

static uint8_t byte(cur *c)
{
    return c->i < c->n ? c->p[c->i++] : 0;
}

static void bytes(cur *c, void *dst, size_t n)
{
    uint8_t *d = dst;
    for (size_t i = 0; i < n; i++)
        d[i] = byte(c);
}

static const char *formats[] = {
    "g", "f", "c", "C", "s", "S", "i", "I", "l", "L", "u", "U", "vu", /* accepted */
    "b", "e", "z", "Z", "n", "tdD", "tsu:", "+l", "+s", "vz", "d:10,2", "w:4", "",
};
#define N_ACCEPTED 13

static size_t elem_size(const char *f)
{
    if (strlen(f) != 1)
        return 8;
    switch (f[0]) {
    case 'f': case 'i': case 'I': return 4;
    case 's': case 'S': case 'e': return 2;
    case 'c': case 'C': case 'b': return 1;
    default: return 8;
    }
}

static const char *labels[] = { "blue", "green", "3.5", "red", "NA", "", "3.50", "nan", "1e999",
                                 "a label longer than twelve bytes" };

/* One column of len values from its own offset `off`; fmt chosen above. */
static void column(cur *c, const char *name, const char *fmt, int64_t len, int64_t off,
                   struct ArrowSchema *s, struct ArrowArray *a)
{
    const int64_t n = len + off;
    const int view = strcmp(fmt, "vu") == 0;
    const int str = view || strcmp(fmt, "u") == 0 || strcmp(fmt, "U") == 0;
    const uint8_t vmode = byte(c);
    int *valid = NULL;
    if (vmode & 1) {
        valid = calloc((size_t)n + 1, sizeof *valid);
        for (int64_t i = 0; i < n; i++)
            valid[i] = (byte(c) & 3) != 0;
    }
    if (str) {
        const char **strs = calloc((size_t)n + 1, sizeof *strs);
        char (*own)[16] = calloc((size_t)n + 1, sizeof *own);
        for (int64_t i = 0; i < n; i++) {
            const uint8_t k = byte(c);
            if (valid && !valid[i])
                strs[i] = NULL;
            else if (k < 200)
                strs[i] = labels[k % 10];
            else {
                bytes(c, own[i], k & 7);
                strs[i] = own[i];
            }
        }
        if (view) {
            ab_view(s, a, name, strs, n);
            a->offset = off;
            a->length = len;
            if ((vmode & 6) == 6 && n > 0) { /* a view past its buffer */
                uint8_t *v = ((ab_priv *)a->private_data)->buf[1];
                const int64_t at = byte(c) % n;
                int32_t l;
                memcpy(&l, v + at * 16, 4);
                if (l > 12)
                    v[at * 16 + 8 + (byte(c) & 4)] = byte(c) | 1;
            }
        } else {
            ab_str(s, a, name, fmt, strs, n, off, len);
        }
        if (!view && (vmode & 6) == 6 && n > 1) { /* offsets that go back */
            ab_priv *p = a->private_data;
            const int64_t at = 1 + byte(c) % (n - 1);
            if (fmt[0] == 'u') {
                int32_t *o = p->buf[1];
                o[at] = o[at + 1] + 1 <= o[n] ? o[at + 1] + 1 : -1;
            } else {
                ((int64_t *)p->buf[1])[at] = -1;
            }
        }
        free(strs);
        free(own);
    } else {
        const size_t sz = elem_size(fmt);
        uint8_t *v = calloc((size_t)n + 1, sz);
        for (int64_t i = 0; i < n; i++) {
            const uint8_t k = byte(c);
            if (k < 64 && sz == 8 && fmt[0] == 'g') { /* small numbers, labels' values, specials */
                static const double pick[] = { 0.0, -0.0, 0.3, -0.2, 3.5, 1.0, 2.0, 1e300,
                                               __builtin_inf(), -__builtin_inf(), __builtin_nan("") };
                memcpy(v + (size_t)i * sz, &pick[k % 11], sz);
            } else {
                bytes(c, v + (size_t)i * sz, sz);
            }
        }
        ab_prim(s, a, name, fmt, v, sz, n, valid, off, len);
        free(v);
    }
    free(valid);
}

static void batch(cur *c, int n_fields, int64_t len, int64_t soff, struct ArrowSchema *s,
                  struct ArrowArray *a)
{
    struct ArrowSchema cs[4];
    struct ArrowArray ca[4];
    static const char *names[] = { "colour", "b", "c" };
    for (int f = 0; f < n_fields; f++) {
        char name[16] = "";
        const uint8_t nb = byte(c);
        if (nb < 160)
            strcpy(name, names[f % 3]); /* the model's names, in order */
        else if (nb < 240)
            strcpy(name, names[(nb + (unsigned)f) % 3]);
        else
            bytes(c, name, nb & 7); /* NUL inside: the name stops there */
        const uint8_t fb = byte(c);
        char fmt[16] = "";
        if (fb < 230)
            strcpy(fmt, formats[fb % (sizeof formats / sizeof formats[0])]);
        else
            bytes(c, fmt, fb & 7);
        const int64_t off = byte(c) & 15;
        const uint8_t db = byte(c);
        if ((db & 3) == 3) { /* dictionary-encoded: indices in fmt, values in another */
            const char *dfmt = formats[(db >> 2) % N_ACCEPTED];
            const int64_t dlen = byte(c) & 15;
            struct ArrowSchema ds;
            struct ArrowArray da;
            column(c, "", dfmt, dlen, byte(c) & 3, &ds, &da);
            const char *ifmt = elem_size(fmt) && strlen(fmt) == 1 && strchr("cCsSiIlL", fmt[0])
                                   ? fmt : "i";
            column(c, name, ifmt, len + soff, off, &cs[f], &ca[f]);
            /* the indices: mostly in range */
            ab_priv *p = ca[f].private_data;
            const size_t sz = elem_size(ifmt);
            for (int64_t i = 0; i < len + soff + off; i++)
                if (byte(c) < 220) {
                    const uint64_t ix = dlen ? (uint64_t)(byte(c) % dlen) : 0;
                    memcpy((uint8_t *)p->buf[1] + (size_t)i * sz, &ix, sz); /* little-endian */
                }
            struct ArrowSchema *dsh = malloc(sizeof *dsh);
            struct ArrowArray *dah = malloc(sizeof *dah);
            FUZZ_CHECK(dsh && dah, "oom");
            *dsh = ds;
            *dah = da;
            ((ab_spriv *)cs[f].private_data)->dict = dsh;
            cs[f].dictionary = dsh;
            ((ab_priv *)ca[f].private_data)->dict = dah;
            if (!(db & 4))
                ca[f].dictionary = dah; /* else: a batch that lost its dictionary */
        } else {
            column(c, name, fmt, len + soff, off, &cs[f], &ca[f]);
        }
        if (db == 0x40)
            ca[f].length = len + soff - 1; /* a child shorter than the struct */
    }
    ab_batch(s, a, n_fields, cs, ca, soff, len);
}

static int one_batch(void *ctx, int k, struct ArrowSchema *s, struct ArrowArray *a)
{
    const uint8_t *in = ((const uint8_t **)ctx)[0];
    const size_t n = (size_t)((const uint8_t **)ctx)[1];
    if (k > 0)
        return 0;
    cur c = { in, n, 1 };
    const uint8_t b0 = in[0];
    batch(&c, 1 + (b0 & 3), byte(&c) & 63, (b0 >> 5) & 7, s, a);
    return 1;
}

static int printable_line(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const long made0 = ab_made, released0 = ab_released;
    char json[2048];
    snprintf(json, sizeof json, model_fmt, data[0] & 4 ? "true" : "false");
    mr_model *m = NULL;
    FUZZ_CHECK(mr_model_load_buffer(json, strlen(json), "fuzz", &m, NULL) == MR_OK, "model");
    mr_options *o;
    mr_options_create(&o);
    mr_options_set_int(o, MR_OPT_UNKNOWN_LEVEL, (data[0] >> 3) % 3);
    mr_engine *e;
    FUZZ_CHECK(mr_engine_create(m, o, &e, NULL) == MR_OK, "engine");

    const void *ctx[2] = { data, (const void *)size };
    struct ArrowSchema s;
    struct ArrowArray a;
    one_batch((void *)ctx, 0, &s, &a);
    double *out = malloc((size_t)(a.length + 1) * sizeof *out);
    mr_error err;
    const mr_status st = mr_arrow_predict(e, &s, &a, out, &err);
    FUZZ_CHECK(st == MR_OK || st == MR_E_SHAPE || st == MR_E_PARSE || st == MR_E_DATA ||
                   st == MR_E_INVAL, "status %d", st);
    if (st != MR_OK) {
        FUZZ_CHECK(err.status == st && err.text[0] && printable_line(err.text), "message: %s", err.text);
        FUZZ_CHECK(err.row <= (uint64_t)a.length + 1 && err.column <= (uint64_t)s.n_children,
                   "row %llu column %u", (unsigned long long)err.row, err.column);
    }
    const int64_t len = a.length;
    s.release(&s);
    a.release(&a);

    /* the same batch as a stream */
    struct ArrowArrayStream in;
    ab_stream p;
    ab_stream_init(&in, &p, one_batch, (void *)ctx);
    double *got = NULL;
    size_t n = 0;
    mr_error err2;
    const mr_status st2 = mr_arrow_stream_collect(e, &in, MR_MODE_PREDICT, &got, &n, &err2);
    FUZZ_CHECK(st2 == st, "stream status %d, batch %d", st2, st);
    FUZZ_CHECK(p.releases == 1, "stream released %ld times", p.releases);
    if (st == MR_OK) {
        FUZZ_CHECK(n == (size_t)len && (n == 0 || memcmp(got, out, n * sizeof *out) == 0),
                   "stream values differ");
    } else {
        FUZZ_CHECK(err2.row == err.row && err2.column == err.column, "stream error place differs");
    }
    mr_buffer_free(got);

    ab_stream_init(&in, &p, one_batch, (void *)ctx);
    struct ArrowArrayStream xs;
    const mr_status st3 = mr_arrow_stream_export(e, &in, MR_MODE_PREDICT, &xs, NULL);
    if (st3 == MR_OK) {
        struct ArrowArray xa;
        const int rc = xs.get_next(&xs, &xa);
        FUZZ_CHECK((rc == 0) == (st == MR_OK), "export get_next %d, batch %d", rc, st);
        if (rc == 0 && xa.release) {
            FUZZ_CHECK(xa.n_children == 1, "children");
            FUZZ_CHECK(memcmp(xa.children[0]->buffers[1], out, (size_t)xa.length * sizeof *out) == 0,
                       "exported values differ");
            xa.release(&xa);
        } else if (rc != 0) {
            FUZZ_CHECK(xs.get_last_error(&xs) && printable_line(xs.get_last_error(&xs)), "last error");
        }
        xs.release(&xs);
    } else {
        FUZZ_CHECK(st3 == st, "export status %d, batch %d", st3, st);
    }
    FUZZ_CHECK(p.releases == 1, "exported stream released its input %ld times", p.releases);
    FUZZ_CHECK(ab_made - made0 == ab_released - released0 && ab_double_release == 0,
               "made %ld, released %ld, twice %ld", ab_made - made0, ab_released - released0,
               ab_double_release);
    free(out);
    mr_engine_free(e);
    mr_options_free(o);
    mr_model_free(m);
    return 0;
}
