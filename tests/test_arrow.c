/* test_arrow.c — Arrow record batches and streams in (src/input_arrow.c):
 * every accepted type, nulls, sliced arrays and chunked streams against the
 * CSV path (mr_run on the same cells, raw f64 out, bit for bit); wrong types,
 * missing and duplicate fields, malformed arrays and a producer failing
 * mid-stream (its get_last_error passed on); every release callback called
 * exactly once (tests/arrow_build.h counts them). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include "test_util.h"
#include "arrow_build.h"

static const char *model_json_fmt = MR_TEST_CAT_MODEL("%s");

static mr_model *model(int allow_missing)
{
    char json[2048];
    snprintf(json, sizeof json, model_json_fmt, allow_missing ? "true" : "false");
    return load_json(json);
}

/* The test data: row r's cells, NULL / NaN where missing. */
#define MAXR 1000
typedef struct data {
    int64_t n;
    const char *colour[MAXR];
    double b[MAXR], c[MAXR];
    int bvalid[MAXR], cvalid[MAXR];
} data;

static const char *labels[] = { "blue", "green", "red", "purple", "NA", NULL };

static void make_data(data *d, int64_t n, uint64_t seed, int with_missing, int integers)
{
    d->n = n;
    for (int64_t r = 0; r < n; r++) {
        const uint64_t x = rnd_next(&seed);
        d->colour[r] = labels[with_missing ? x % 6 : x % 3];
        d->b[r] = integers ? (double)(int)((x >> 8) % 100) - 50 : rnd_unit(&seed) * 2 - 1;
        d->c[r] = integers ? (double)(int)((x >> 16) % 100) : rnd_unit(&seed) * 10 - 5;
        d->bvalid[r] = !with_missing || (x >> 24) % 7 != 0;
        d->cvalid[r] = !with_missing || (x >> 28) % 5 != 0;
    }
}

/* The same cells through the CSV path: rows [r0, r0+n), raw doubles out. */
static double *oracle(mr_model *m, const data *d, int64_t r0, int64_t n, int mode, int unknown)
{
    size_t cap = (size_t)n * 80 + 64, len = 0;
    char *csv = malloc(cap);
    len += (size_t)sprintf(csv, "b,colour,c\n");
    for (int64_t r = r0; r < r0 + n; r++) {
        char b[40] = "", c[40] = "";
        if (d->bvalid[r])
            snprintf(b, sizeof b, "%.17g", d->b[r]);
        if (d->cvalid[r])
            snprintf(c, sizeof c, "%.17g", d->c[r]);
        len += (size_t)sprintf(csv + len, "%s,%s,%s\n", b, d->colour[r] ? d->colour[r] : "", c);
    }
    mr_options *o;
    assert_int_equal(mr_options_create(&o), MR_OK);
    mr_options_set_int(o, MR_OPT_OUTPUT_FORMAT, MR_FMT_F64);
    mr_options_set_int(o, MR_OPT_MODE, mode);
    mr_options_set_int(o, MR_OPT_UNKNOWN_LEVEL, unknown);
    mr_engine *e;
    assert_int_equal(mr_engine_create(m, o, &e, NULL), MR_OK);
    mem_in in = { .data = csv, .len = len };
    mem_out out = { 0 };
    mr_io io = { .read = mem_read, .read_cookie = &in, .source = "oracle", .write = mem_write,
                 .write_cookie = &out };
    mr_error err;
    const mr_status st = mr_run(e, &io, NULL, NULL, NULL, &err);
    if (st != MR_OK)
        fail_msg("oracle: %s", err.text);
    const size_t w = mode == MR_MODE_DESIGN ? mr_model_n_terms(m) : 1;
    assert_int_equal(out.len, (size_t)n * w * sizeof(double));
    mr_engine_free(e);
    mr_options_free(o);
    free(csv);
    return (double *)out.data;
}

static void assert_bits(const double *a, const double *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof a[i]) != 0)
            fail_msg("value %zu: %.17g vs %.17g", i, a[i], b[i]);
}

/* How a batch is built. */
typedef struct shape {
    const char *bfmt;     /* b's type: "g", "f", "c".."L" */
    int colour;           /* 0 utf8, 1 large_utf8, 2 dictionary of utf8, 3 dictionary of large,
                             4 utf8_view */
    int64_t struct_off;   /* the struct's offset */
    int64_t child_off;    /* extra leading values in every child (its own offset) */
    int extra;            /* an unused field of an unsupported type in front */
} shape;

static size_t fmt_size(const char *f)
{
    switch (f[0]) {
    case 'g': case 'l': case 'L': return 8;
    case 'f': case 'i': case 'I': return 4;
    case 's': case 'S': return 2;
    default: return 1;
    }
}

static void put_num(const char *f, void *buf, int64_t i, double v)
{
    switch (f[0]) {
    case 'g': ((double *)buf)[i] = v; break;
    case 'f': ((float *)buf)[i] = (float)v; break;
    case 'c': ((int8_t *)buf)[i] = (int8_t)v; break;
    case 'C': ((uint8_t *)buf)[i] = (uint8_t)(v + 50); break;
    case 's': ((int16_t *)buf)[i] = (int16_t)v; break;
    case 'S': ((uint16_t *)buf)[i] = (uint16_t)(v + 50); break;
    case 'i': ((int32_t *)buf)[i] = (int32_t)v; break;
    case 'I': ((uint32_t *)buf)[i] = (uint32_t)(v + 50); break;
    case 'l': ((int64_t *)buf)[i] = (int64_t)v; break;
    case 'L': ((uint64_t *)buf)[i] = (uint64_t)(v + 50); break;
    }
}

/* The value a type stores for v (unsigned types shift by 50, float32 rounds). */
static double stored(const char *f, double v)
{
    switch (f[0]) {
    case 'g': return v;
    case 'f': return (float)v;
    case 'C': case 'S': case 'I': case 'L': return v + 50;
    default: return v;
    }
}

/* Rows [r0, r0+n) of d as a batch, with the shape's offsets. */
static void build(const data *d, int64_t r0, int64_t n, const shape *sh,
                  struct ArrowSchema *s, struct ArrowArray *a)
{
    const int64_t pad = sh->child_off + sh->struct_off, tot = pad + n;
    struct ArrowSchema cs[4];
    struct ArrowArray ca[4];
    int k = 0;
    if (sh->extra) {
        const uint8_t bools[1] = { 0 };
        ab_prim(&cs[k], &ca[k], "flag", "b", bools, 1, 1, NULL, 0, -1);
        ca[k].length = tot; /* never read: its type alone is not supported */
        k++;
    }
    /* every child holds pad values of junk in front: its own offset skips
     * child_off of them, the struct's offset the rest */
    void *bv = calloc((size_t)tot, 8);
    int *bval = calloc((size_t)tot, sizeof *bval), *cval = calloc((size_t)tot, sizeof *cval);
    double *cv = calloc((size_t)tot, sizeof *cv);
    const char **col = calloc((size_t)tot, sizeof *col);
    for (int64_t i = 0; i < tot; i++) {
        const int64_t r = r0 + i - pad;
        const int in = i >= pad;
        put_num(sh->bfmt, bv, i, in ? d->b[r] : 99);
        bval[i] = in ? d->bvalid[r] : 0;
        cv[i] = in ? d->c[r] : NAN;
        cval[i] = in ? d->cvalid[r] : 1;
        col[i] = in ? d->colour[r] : "junk";
    }
    ab_prim(&cs[k], &ca[k], "b", sh->bfmt, bv, fmt_size(sh->bfmt), tot, bval, sh->child_off, -1);
    k++;
    if (sh->colour == 4) {
        ab_view(&cs[k], &ca[k], "colour", col, tot);
        ca[k].offset = sh->child_off;
        ca[k].length = tot - sh->child_off;
    } else if (sh->colour < 2) {
        ab_str(&cs[k], &ca[k], "colour", sh->colour ? "U" : "u", col, tot, sh->child_off, -1);
    } else {
        static const char *dict[] = { "red", NULL, "junk", "purple", "NA", "green", "blue" };
        int32_t *idx = calloc((size_t)tot, sizeof *idx);
        for (int64_t i = 0; i < tot; i++) {
            idx[i] = -1;
            for (int32_t j = 0; j < 7; j++)
                if (col[i] && dict[j] && strcmp(col[i], dict[j]) == 0)
                    idx[i] = j;
            if (!col[i])
                idx[i] = (i & 1) ? 1 : -1; /* a null index, or an index to a null entry */
        }
        struct ArrowSchema ds;
        struct ArrowArray da;
        ab_str(&ds, &da, "", sh->colour == 2 ? "u" : "U", dict, 7, 0, -1);
        ab_dict(&cs[k], &ca[k], "colour", idx, tot, &ds, &da);
        ca[k].offset = sh->child_off;
        ca[k].length = tot - sh->child_off;
        free(idx);
    }
    k++;
    ab_prim(&cs[k], &ca[k], "c", "g", cv, 8, tot, cval, sh->child_off, -1);
    k++;
    ab_batch(s, a, k, cs, ca, sh->struct_off, n);
    free(bv);
    free(bval);
    free(cval);
    free(cv);
    free(col);
}

static void stored_data(data *d, const char *fmt)
{
    for (int64_t r = 0; r < d->n; r++)
        d->b[r] = stored(fmt, d->b[r]);
}

static void check_batch(mr_model *m, const data *d0, const shape *sh, int unknown)
{
    data d = *d0;
    stored_data(&d, sh->bfmt);
    mr_options *o;
    mr_options_create(&o);
    mr_options_set_int(o, MR_OPT_UNKNOWN_LEVEL, unknown);
    mr_engine *e;
    assert_int_equal(mr_engine_create(m, o, &e, NULL), MR_OK);
    struct ArrowSchema s;
    struct ArrowArray a;
    build(d0, 0, d.n, sh, &s, &a);
    double *want = oracle(m, &d, 0, d.n, MR_MODE_PREDICT, unknown);
    double *got = malloc((size_t)d.n * sizeof *got);
    mr_error err;
    if (mr_arrow_predict(e, &s, &a, got, &err) != MR_OK)
        fail_msg("b %s colour %d: %s (row %" PRIu64 ", field %s)", sh->bfmt, sh->colour, err.text,
                 err.row, err.field);
    assert_bits(got, want, (size_t)d.n);
    free(want);
    free(got);
    const size_t nt = mr_model_n_terms(m);
    want = oracle(m, &d, 0, d.n, MR_MODE_DESIGN, unknown);
    got = malloc((size_t)d.n * (nt + 1) * sizeof *got);
    assert_int_equal(mr_arrow_design(e, &s, &a, got, nt + 1, &err), MR_OK);
    for (int64_t r = 0; r < d.n; r++)
        assert_bits(got + r * (int64_t)(nt + 1), want + r * (int64_t)nt, nt);
    free(want);
    free(got);
    /* the batch stays the caller's */
    assert_non_null(s.release);
    assert_non_null(a.release);
    s.release(&s);
    a.release(&a);
    mr_engine_free(e);
    mr_options_free(o);
}

static void test_types_nulls_slices(void **state)
{
    (void)state;
    static const char *fmts[] = { "g", "f", "c", "C", "s", "S", "i", "I", "l", "L" };
    mr_model *m = model(1);
    data d;
    for (size_t f = 0; f < sizeof fmts / sizeof fmts[0]; f++)
        for (int colour = 0; colour < 5; colour++)
            for (int off = 0; off < 3; off++) {
                make_data(&d, 300 + off, 7 + f * 13 + (uint64_t)colour, 1, fmts[f][0] != 'g' && fmts[f][0] != 'f');
                const shape sh = { fmts[f], colour, off == 1 ? 3 : off == 2 ? 130 : 0,
                                   off == 2 ? 5 : off, off == 1 };
                for (int unknown = MR_UNKNOWN_MODE; unknown <= MR_UNKNOWN_NAN; unknown++)
                    check_batch(m, &d, &sh, unknown);
            }
    mr_model_free(m);
    assert_int_equal(ab_made, ab_released);
    assert_int_equal(ab_double_release, 0);
}

/* ---- streams ---- */

typedef struct chunks {
    const data *d;
    int n;
    int64_t start[8], len[8];
    shape sh;
} chunks;

static int make_chunk(void *ctx, int k, struct ArrowSchema *s, struct ArrowArray *a)
{
    const chunks *c = ctx;
    if (k >= c->n) {
        if (k > 0)
            return 0;
        build(c->d, 0, 0, &c->sh, s, a); /* schema of an empty stream */
        return 1;
    }
    build(c->d, c->start[k], c->len[k], &c->sh, s, a);
    return 1;
}

static void chunk_plan(chunks *c, const data *d, const int64_t *lens, int n)
{
    memset(c, 0, sizeof *c);
    c->d = d;
    c->n = n;
    int64_t at = 0;
    for (int i = 0; i < n; i++) {
        c->start[i] = at;
        c->len[i] = lens[i];
        at += lens[i];
    }
    c->sh = (shape){ "g", 2, 1, 2, 1 };
}

static void test_stream_collect(void **state)
{
    (void)state;
    mr_model *m = model(1);
    mr_engine *e;
    assert_int_equal(mr_engine_create(m, NULL, &e, NULL), MR_OK);
    data d;
    make_data(&d, 700, 99, 1, 0);
    static const int64_t lens[] = { 1, 0, 128, 129, 300, 142 };
    chunks c;
    chunk_plan(&c, &d, lens, 6);
    for (int mode = MR_MODE_PREDICT; mode <= MR_MODE_DESIGN; mode++) {
        const size_t w = mode == MR_MODE_DESIGN ? mr_model_n_terms(m) : 1;
        struct ArrowArrayStream st;
        ab_stream p;
        ab_stream_init(&st, &p, make_chunk, &c);
        double *out = NULL;
        size_t n = 0;
        mr_error err;
        assert_int_equal(mr_arrow_stream_collect(e, &st, mode, &out, &n, &err), MR_OK);
        assert_int_equal(n, 700);
        assert_int_equal(p.releases, 1);
        assert_null(st.release);
        double *want = oracle(m, &d, 0, 700, mode, MR_UNKNOWN_MODE);
        assert_bits(out, want, 700 * w);
        free(want);
        mr_buffer_free(out);
    }
    /* an empty stream: no rows, no buffer */
    chunks none;
    chunk_plan(&none, &d, lens, 0);
    struct ArrowArrayStream st;
    ab_stream p;
    ab_stream_init(&st, &p, make_chunk, &none);
    double *out = (double *)&st;
    size_t n = 5;
    assert_int_equal(mr_arrow_stream_collect(e, &st, MR_MODE_PREDICT, &out, &n, NULL), MR_OK);
    assert_null(out);
    assert_int_equal(n, 0);
    assert_int_equal(p.releases, 1);
    mr_engine_free(e);
    mr_model_free(m);
    assert_int_equal(ab_made, ab_released);
    assert_int_equal(ab_double_release, 0);
}

static void test_stream_export(void **state)
{
    (void)state;
    mr_model *m = model(1);
    mr_engine *e;
    assert_int_equal(mr_engine_create(m, NULL, &e, NULL), MR_OK);
    data d;
    make_data(&d, 600, 5, 1, 0);
    static const int64_t lens[] = { 200, 0, 1, 399 };
    chunks c;
    chunk_plan(&c, &d, lens, 4);
    for (int mode = MR_MODE_PREDICT; mode <= MR_MODE_DESIGN; mode++) {
        const size_t w = mode == MR_MODE_DESIGN ? mr_model_n_terms(m) : 1;
        double *want = oracle(m, &d, 0, 600, mode, MR_UNKNOWN_MODE);
        struct ArrowArrayStream in, out;
        ab_stream p;
        ab_stream_init(&in, &p, make_chunk, &c);
        assert_int_equal(mr_arrow_stream_export(e, &in, mode, &out, NULL), MR_OK);
        assert_null(in.release); /* moved into out */
        struct ArrowSchema s;
        assert_int_equal(out.get_schema(&out, &s), 0);
        assert_string_equal(s.format, "+s");
        assert_int_equal(s.n_children, (int64_t)w);
        for (size_t i = 0; i < w; i++) {
            assert_string_equal(s.children[i]->format, "g");
            assert_string_equal(s.children[i]->name,
                                mode == MR_MODE_DESIGN ? mr_model_term_name(m, i) : "prediction");
        }
        /* a child schema moved out and released on its own, then the parent */
        struct ArrowSchema moved = *s.children[0];
        s.children[0]->release = NULL;
        moved.release(&moved);
        assert_null(moved.release);
        s.release(&s);
        assert_null(s.release);
        int64_t row = 0;
        for (int k = 0;; k++) {
            struct ArrowArray a;
            assert_int_equal(out.get_next(&out, &a), 0);
            if (!a.release)
                break;
            assert_int_equal(a.length, lens[k]);
            assert_int_equal(a.n_children, (int64_t)w);
            assert_int_equal(a.n_buffers, 1);
            assert_null(a.buffers[0]);
            for (int64_t r = 0; r < a.length; r++)
                for (size_t i = 0; i < w; i++) {
                    const struct ArrowArray *ch = a.children[i];
                    assert_int_equal(ch->n_buffers, 2);
                    assert_int_equal(ch->length, a.length);
                    const double v = ((const double *)ch->buffers[1])[r];
                    assert_bits(&v, &want[(size_t)(row + r) * w + i], 1);
                }
            row += a.length;
            if (k == 2 && w > 1) { /* a child array moved out: released alone */
                struct ArrowArray ch = *a.children[1];
                a.children[1]->release = NULL;
                ch.release(&ch);
                assert_null(ch.release);
            }
            a.release(&a);
            assert_null(a.release);
        }
        assert_int_equal(row, 600);
        assert_int_equal(p.releases, 0);
        out.release(&out);
        assert_null(out.release);
        assert_int_equal(p.releases, 1);
        free(want);
    }
    mr_engine_free(e);
    mr_model_free(m);
    assert_int_equal(ab_made, ab_released);
    assert_int_equal(ab_double_release, 0);
}

static void test_producer_fails(void **state)
{
    (void)state;
    mr_model *m = model(1);
    mr_engine *e;
    assert_int_equal(mr_engine_create(m, NULL, &e, NULL), MR_OK);
    data d;
    make_data(&d, 500, 3, 1, 0);
    static const int64_t lens[] = { 100, 150, 250 };
    chunks c;
    chunk_plan(&c, &d, lens, 3);
    struct ArrowArrayStream st;
    ab_stream p;
    ab_stream_init(&st, &p, make_chunk, &c);
    p.fail_at = 2;
    double *out = (double *)&st;
    size_t n = 9;
    mr_error err;
    assert_int_equal(mr_arrow_stream_collect(e, &st, MR_MODE_PREDICT, &out, &n, &err), MR_E_IO);
    assert_null(out);
    assert_int_equal(n, 0);
    assert_int_equal(err.status, MR_E_IO);
    assert_int_equal(err.sys_errno, EIO);
    assert_int_equal(err.row, 251);
    assert_non_null(strstr(err.text, "disk on fire: test producer"));
    assert_non_null(strstr(err.text, "get_next"));
    assert_int_equal(p.releases, 1);
    /* get_schema failing */
    ab_stream_init(&st, &p, make_chunk, &c);
    p.fail_schema = 1;
    assert_int_equal(mr_arrow_stream_collect(e, &st, MR_MODE_PREDICT, &out, &n, &err), MR_E_IO);
    assert_non_null(strstr(err.text, "schema unavailable: test producer"));
    assert_int_equal(p.releases, 1);
    struct ArrowArrayStream out_st;
    ab_stream_init(&st, &p, make_chunk, &c);
    p.fail_schema = 1;
    assert_int_equal(mr_arrow_stream_export(e, &st, MR_MODE_PREDICT, &out_st, &err), MR_E_IO);
    assert_int_equal(p.releases, 1);
    assert_null(out_st.release);
    /* through the exported stream: its get_next fails, and says why */
    ab_stream_init(&st, &p, make_chunk, &c);
    p.fail_at = 1;
    assert_int_equal(mr_arrow_stream_export(e, &st, MR_MODE_PREDICT, &out_st, &err), MR_OK);
    struct ArrowArray a;
    assert_int_equal(out_st.get_next(&out_st, &a), 0);
    a.release(&a);
    assert_int_equal(out_st.get_next(&out_st, &a), EIO);
    assert_null(a.release);
    assert_non_null(strstr(out_st.get_last_error(&out_st), "disk on fire: test producer"));
    assert_non_null(strstr(out_st.get_last_error(&out_st), "row 101"));
    assert_int_equal(out_st.get_next(&out_st, &a), EIO); /* and stays failed */
    out_st.release(&out_st);
    assert_int_equal(p.releases, 1);
    mr_engine_free(e);
    mr_model_free(m);
    assert_int_equal(ab_made, ab_released);
    assert_int_equal(ab_double_release, 0);
}

/* A batch with fields named and typed as given (all float64 but "b"). */
static void batch_of(const char *const *names, const char *bfmt, int n_fields,
                     struct ArrowSchema *s, struct ArrowArray *a)
{
    struct ArrowSchema cs[4];
    struct ArrowArray ca[4];
    const double v[3] = { 0.5, 1.5, 2.5 };
    for (int i = 0; i < n_fields; i++) {
        if (strcmp(names[i], "colour") == 0) {
            static const char *col[3] = { "red", "blue", "green" };
            ab_str(&cs[i], &ca[i], names[i], "u", col, 3, 0, -1);
        } else {
            const char *f = strcmp(names[i], "b") == 0 ? bfmt : "g";
            ab_prim(&cs[i], &ca[i], names[i], f, v, 8, 3, NULL, 0, -1);
            cs[i].format = f; /* the name sticks; "+l", "b" ... are types we refuse */
        }
    }
    ab_batch(s, a, n_fields, cs, ca, 0, -1);
}

static void expect_error(mr_engine *e, struct ArrowSchema *s, struct ArrowArray *a, mr_status st,
                         uint64_t row, uint32_t column, const char *field, const char *text)
{
    static double out[MAXR];
    mr_error err;
    assert_int_equal(mr_arrow_predict(e, s, a, out, &err), st);
    assert_int_equal(err.status, st);
    assert_int_equal(err.row, row);
    assert_int_equal(err.column, column);
    assert_string_equal(err.field, field);
    if (!strstr(err.text, text))
        fail_msg("\"%s\" not in \"%s\"", text, err.text);
    s->release(s);
    a->release(a);
}

static void test_schema_errors(void **state)
{
    (void)state;
    mr_model *m = model(1);
    mr_engine *e;
    assert_int_equal(mr_engine_create(m, NULL, &e, NULL), MR_OK);
    struct ArrowSchema s;
    struct ArrowArray a;
    static const char *missing[] = { "b", "colour", "x" };
    batch_of(missing, "g", 3, &s, &a);
    expect_error(e, &s, &a, MR_E_SHAPE, 0, 0, "c", "model feature \"c\" is not a field");
    static const char *dup[] = { "b", "colour", "c", "b" };
    batch_of(dup, "g", 4, &s, &a);
    expect_error(e, &s, &a, MR_E_SHAPE, 0, 4, "b", "duplicate field name \"b\" (fields 1 and 4)");
    static const char *ok[] = { "c", "colour", "b" };
    static const char *bad[] = { "b", "e", "tsu:", "z", "vz", "+l", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        batch_of(ok, bad[i], 3, &s, &a);
        expect_error(e, &s, &a, MR_E_SHAPE, 0, 3, "b", "is not supported for a feature");
    }
    /* a numeric column for the categorical feature is decoded as .npy cells are;
     * a string column for a numeric feature as CSV cells are: "red" is not a number */
    static const char *swapped[] = { "c", "b", "colour" };
    {
        struct ArrowSchema cs[3];
        struct ArrowArray ca[3];
        const double v[3] = { 0, 1, 2 };
        static const char *txt[3] = { "1.5", "NA", "red" };
        ab_f64(&cs[0], &ca[0], "c", v, 3, NULL);
        ab_str(&cs[1], &ca[1], "b", "u", txt, 3, 0, -1);
        ab_f64(&cs[2], &ca[2], "colour", v, 3, NULL);
        ab_batch(&s, &a, 3, cs, ca, 0, -1);
        (void)swapped;
        expect_error(e, &s, &a, MR_E_PARSE, 3, 2, "b", "not a number (\"red\")");
    }
    /* a schema that is not a struct; NULL arguments */
    ab_prim(&s, &a, "x", "g", (double[1]){ 1 }, 8, 1, NULL, 0, -1);
    expect_error(e, &s, &a, MR_E_SHAPE, 0, 0, "", "not a struct");
    double out[1];
    assert_int_equal(mr_arrow_predict(e, NULL, NULL, out, NULL), MR_E_INVAL);
    assert_int_equal(mr_arrow_stream_collect(e, NULL, 0, NULL, NULL, NULL), MR_E_INVAL);
    mr_engine_free(e);
    mr_model_free(m);
    assert_int_equal(ab_made, ab_released);
}

static void test_cell_errors(void **state)
{
    (void)state;
    mr_model *m = model(0); /* allow_missing false */
    mr_engine *e;
    assert_int_equal(mr_engine_create(m, NULL, &e, NULL), MR_OK);
    data d;
    make_data(&d, 200, 11, 0, 0);
    d.cvalid[137] = 0; /* a null in row 138 */
    struct ArrowSchema s;
    struct ArrowArray a;
    const shape sh = { "g", 0, 4, 1, 1 };
    build(&d, 0, 200, &sh, &s, &a);
    expect_error(e, &s, &a, MR_E_DATA, 138, 4, "c", "missing value (\"null\")");
    d.cvalid[137] = 1;
    d.b[60] = INFINITY;
    build(&d, 0, 200, &sh, &s, &a);
    expect_error(e, &s, &a, MR_E_DATA, 61, 2, "b", "infinite value (\"inf\")");
    d.b[60] = 0;
    d.colour[20] = "purple";
    mr_options *o;
    mr_options_create(&o);
    mr_options_set_int(o, MR_OPT_UNKNOWN_LEVEL, MR_UNKNOWN_ERROR);
    mr_engine *eu;
    assert_int_equal(mr_engine_create(m, o, &eu, NULL), MR_OK);
    for (int colour = 0; colour < 5; colour++) {
        const shape sc = { "g", colour, 0, 0, 0 };
        build(&d, 0, 200, &sc, &s, &a);
        expect_error(eu, &s, &a, MR_E_DATA, 21, 2, "colour", "unknown categorical level (\"purple\")");
    }
    /* a utf8_view label longer than 12 bytes lives in a data buffer */
    d.colour[20] = "a purple of more than twelve bytes";
    d.colour[10] = "green";
    {
        const shape sc = { "g", 4, 0, 0, 0 };
        build(&d, 0, 200, &sc, &s, &a);
        expect_error(eu, &s, &a, MR_E_DATA, 21, 2, "colour",
                     "unknown categorical level (\"a purple of more than twelve bytes\")");
        build(&d, 0, 200, &sc, &s, &a);
        uint8_t *views = ((ab_priv *)a.children[1]->private_data)->buf[1];
        views[20 * 16 + 8] = 1; /* buffer 1 of 1 */
        expect_error(eu, &s, &a, MR_E_SHAPE, 21, 2, "colour", "a view points outside its buffer");
        build(&d, 0, 200, &sc, &s, &a);
        views = ((ab_priv *)a.children[1]->private_data)->buf[1];
        views[20 * 16 + 12] = 9; /* offset 9: its end past the buffer's size */
        expect_error(eu, &s, &a, MR_E_SHAPE, 21, 2, "colour", "a view points outside its buffer");
    }
    d.colour[20] = "purple";
    /* the struct's rows are counted across the stream */
    static const int64_t lens[] = { 10, 15, 175 };
    chunks c;
    chunk_plan(&c, &d, lens, 3);
    c.sh = (shape){ "g", 2, 0, 0, 0 };
    struct ArrowArrayStream st;
    ab_stream p;
    ab_stream_init(&st, &p, make_chunk, &c);
    double *out;
    size_t n;
    mr_error err;
    assert_int_equal(mr_arrow_stream_collect(eu, &st, MR_MODE_PREDICT, &out, &n, &err), MR_E_DATA);
    assert_int_equal(err.row, 21);
    assert_string_equal(err.field, "colour");
    assert_int_equal(p.releases, 1);
    mr_engine_free(eu);
    mr_options_free(o);
    mr_engine_free(e);
    mr_model_free(m);
    assert_int_equal(ab_made, ab_released);
}

static void test_malformed(void **state)
{
    (void)state;
    mr_model *m = model(1);
    mr_engine *e;
    assert_int_equal(mr_engine_create(m, NULL, &e, NULL), MR_OK);
    data d;
    make_data(&d, 50, 1, 0, 0);
    struct ArrowSchema s;
    struct ArrowArray a;
    const shape sh = { "g", 2, 0, 0, 0 };
    /* a dictionary index past the dictionary */
    build(&d, 0, 50, &sh, &s, &a);
    ((int32_t *)((ab_priv *)a.children[1]->private_data)->buf[1])[7] = 7;
    expect_error(e, &s, &a, MR_E_SHAPE, 8, 2, "colour", "dictionary index 7 is outside");
    build(&d, 0, 50, &sh, &s, &a);
    ((int32_t *)((ab_priv *)a.children[1]->private_data)->buf[1])[9] = -3;
    expect_error(e, &s, &a, MR_E_SHAPE, 10, 2, "colour", "dictionary index -3");
    /* string offsets going back */
    const shape su = { "g", 0, 0, 0, 0 };
    build(&d, 0, 50, &su, &s, &a);
    int32_t *offs = ((ab_priv *)a.children[1]->private_data)->buf[1];
    offs[5] = offs[6] + 1;
    expect_error(e, &s, &a, MR_E_SHAPE, 6, 2, "colour", "string offsets go back");
    /* a child shorter than the struct says */
    build(&d, 0, 50, &su, &s, &a);
    a.children[2]->length = 49;
    expect_error(e, &s, &a, MR_E_SHAPE, 1, 3, "c", "malformed Arrow array");
    /* more children in the array than in the schema */
    build(&d, 0, 50, &su, &s, &a);
    struct ArrowArray fewer = a; /* the same batch, one field short */
    fewer.n_children = 2;
    fewer.release = ab_array_release; /* never called: `a` owns it all */
    double out[50];
    mr_error err;
    assert_int_equal(mr_arrow_predict(e, &s, &fewer, out, &err), MR_E_SHAPE);
    assert_int_equal(err.row, 1);
    assert_int_equal(err.column, 0);
    assert_non_null(strstr(err.text, "does not match its schema"));
    s.release(&s);
    a.release(&a);
    /* buffers missing */
    build(&d, 0, 50, &su, &s, &a);
    a.children[0]->buffers[1] = NULL;
    expect_error(e, &s, &a, MR_E_SHAPE, 1, 1, "b", "malformed Arrow array");
    /* a dictionary-encoded field whose batch has no dictionary */
    build(&d, 0, 50, &sh, &s, &a);
    a.children[1]->dictionary = NULL; /* still owned by the column's private data */
    expect_error(e, &s, &a, MR_E_SHAPE, 1, 2, "colour", "malformed Arrow array");
    mr_engine_free(e);
    mr_model_free(m);
    assert_int_equal(ab_made, ab_released);
}

/* A row-major batch: one fixed_size_list<float64>[3] field over rows of
 * (colour, b, c), with `pad` junk rows in front split between the values'
 * own offset (in values), the list's offset and the struct's. */
static void build_rows(const data *d, int64_t n, const char *fmt, const char *vfmt,
                       struct ArrowSchema *s, struct ArrowArray *a)
{
    const int64_t voff = 3, loff = 2, soff = 1, tot = voff + 3 * (loff + soff + n);
    double *v = calloc((size_t)tot, sizeof *v);
    int *valid = calloc((size_t)tot, sizeof *valid);
    for (int64_t i = 0; i < tot; i++) {
        v[i] = 1e300; /* junk, and a number behind every null */
        valid[i] = 1;
    }
    for (int64_t r = 0; r < n; r++) {
        double *row = v + voff + 3 * (loff + soff + r);
        int *ok = valid + voff + 3 * (loff + soff + r);
        row[0] = d->colour[r] ? strtod(d->colour[r], NULL) : 0;
        ok[0] = d->colour[r] != NULL;
        row[1] = d->b[r];
        ok[1] = d->bvalid[r];
        row[2] = d->c[r];
        ok[2] = d->cvalid[r];
    }
    struct ArrowSchema vs, ls[1];
    struct ArrowArray va, la[1];
    ab_prim(&vs, &va, "item", vfmt, v, 8, tot, valid, voff, -1);
    ab_schema(&ls[0], fmt, "rows");
    ab_array(&la[0], 1);
    ab_spriv *sp = ls[0].private_data;
    ab_priv *ap = la[0].private_data;
    sp->kids = ab_xmalloc(sizeof *sp->kids);
    ap->kids = ab_xmalloc(sizeof *ap->kids);
    sp->kids[0] = ab_xmalloc(sizeof **sp->kids);
    ap->kids[0] = ab_xmalloc(sizeof **ap->kids);
    *sp->kids[0] = vs;
    *ap->kids[0] = va;
    ls[0].n_children = la[0].n_children = 1;
    ls[0].children = sp->kids;
    la[0].children = ap->kids;
    la[0].offset = loff;
    la[0].length = soff + n;
    ab_batch(s, a, 1, ls, la, soff, n);
    free(v);
    free(valid);
}

static void test_rowmajor(void **state)
{
    (void)state;
    static const char *codes[] = { "0", "1", "2", "1.5", NULL };
    mr_model *m = model(1);
    mr_engine *e;
    assert_int_equal(mr_engine_create(m, NULL, &e, NULL), MR_OK);
    data d;
    make_data(&d, 300, 21, 1, 0);
    uint64_t seed = 5;
    for (int64_t r = 0; r < d.n; r++)
        d.colour[r] = codes[rnd_next(&seed) % 5];
    struct ArrowSchema s;
    struct ArrowArray a;
    build_rows(&d, d.n, "+w:3", "g", &s, &a);
    double *want = oracle(m, &d, 0, d.n, MR_MODE_PREDICT, MR_UNKNOWN_MODE);
    double got[300];
    mr_error err;
    if (mr_arrow_predict(e, &s, &a, got, &err) != MR_OK)
        fail_msg("%s", err.text);
    assert_bits(got, want, 300);
    free(want);
    s.release(&s);
    a.release(&a);
    /* the wrong width or value type, or values too short: refused */
    build_rows(&d, d.n, "+w:2", "g", &s, &a);
    expect_error(e, &s, &a, MR_E_SHAPE, 0, 1, "rows", "fixed_size_list<float64>[3]");
    build_rows(&d, d.n, "+w:3", "f", &s, &a);
    expect_error(e, &s, &a, MR_E_SHAPE, 0, 1, "rows", "fixed_size_list<float64>[3]");
    build_rows(&d, d.n, "+w:3", "g", &s, &a);
    a.children[0]->children[0]->length -= 1;
    expect_error(e, &s, &a, MR_E_SHAPE, 1, 1, "rows", "malformed fixed_size_list");
    mr_engine_free(e);
    /* allow_missing false: a null, a NaN or an infinity is an error, with its row and feature */
    mr_model *strict = model(0);
    assert_int_equal(mr_engine_create(strict, NULL, &e, NULL), MR_OK);
    make_data(&d, 300, 22, 0, 0);
    for (int64_t r = 0; r < d.n; r++)
        d.colour[r] = codes[r % 3];
    d.cvalid[200] = 0;
    build_rows(&d, d.n, "+w:3", "g", &s, &a);
    expect_error(e, &s, &a, MR_E_DATA, 201, 3, "c", "missing value (\"null\")");
    d.cvalid[200] = 1;
    d.b[77] = -INFINITY;
    build_rows(&d, d.n, "+w:3", "g", &s, &a);
    expect_error(e, &s, &a, MR_E_DATA, 78, 2, "b", "infinite value (\"-inf\")");
    d.b[77] = 0;
    build_rows(&d, d.n, "+w:3", "g", &s, &a);
    want = oracle(strict, &d, 0, d.n, MR_MODE_PREDICT, MR_UNKNOWN_MODE);
    assert_int_equal(mr_arrow_predict(e, &s, &a, got, &err), MR_OK);
    assert_bits(got, want, 300);
    free(want);
    s.release(&s);
    a.release(&a);
    mr_engine_free(e);
    mr_model_free(strict);
    mr_model_free(m);
    assert_int_equal(ab_made, ab_released);
}


/* ---- validate: counts and the first bad cell ---- */

/* The counts mr_arrow_validate must give for rows [0, n) of d. */
static void want_counts(const data *d, int64_t n, mr_column_stats *w)
{
    memset(w, 0, 3 * sizeof *w);
    for (int64_t r = 0; r < n; r++) {
        const char *c = d->colour[r];
        if (!c || strcmp(c, "NA") == 0) {
            w[0].missing++;
        } else if (strcmp(c, "blue") && strcmp(c, "green") && strcmp(c, "red") && w[0].unknown++ == 0) {
            w[0].first_unknown_row = (uint64_t)r + 1;
            snprintf(w[0].first_unknown, sizeof w[0].first_unknown, "%s", c);
        }
        w[1].missing += !d->bvalid[r];
        w[2].missing += !d->cvalid[r];
    }
}

static void assert_counts(const mr_column_stats *got, const mr_column_stats *want, size_t nf)
{
    for (size_t f = 0; f < nf; f++) {
        if (got[f].missing != want[f].missing || got[f].unknown != want[f].unknown ||
            got[f].first_unknown_row != want[f].first_unknown_row ||
            strcmp(got[f].first_unknown, want[f].first_unknown) != 0 || got[f].absent != 0)
            fail_msg("feature %zu: missing %" PRIu64 "/%" PRIu64 ", unknown %" PRIu64 "/%" PRIu64
                     ", first %" PRIu64 " \"%s\"/%" PRIu64 " \"%s\"", f, got[f].missing,
                     want[f].missing, got[f].unknown, want[f].unknown, got[f].first_unknown_row,
                     got[f].first_unknown, want[f].first_unknown_row, want[f].first_unknown);
    }
}

/* validate and predict on the same batch: the same status and place */
static void expect_same_error(mr_engine *e, const struct ArrowSchema *s, const struct ArrowArray *a,
                              mr_status st, uint64_t row, const char *field, mr_column_stats *cols)
{
    static double out[MAXR];
    mr_error ev, ep;
    assert_int_equal(mr_arrow_validate(e, s, a, cols, &ev), st);
    assert_int_equal(mr_arrow_predict(e, s, a, out, &ep), st);
    assert_int_equal(ev.row, row);
    assert_string_equal(ev.field, field);
    assert_int_equal(ep.row, ev.row);
    assert_int_equal(ep.column, ev.column);
    assert_string_equal(ep.field, ev.field);
    assert_string_equal(ep.text, ev.text);
}

static void test_validate(void **state)
{
    (void)state;
    mr_model *m = model(1);
    mr_engine *e;
    assert_int_equal(mr_engine_create(m, NULL, &e, NULL), MR_OK);
    data d;
    mr_column_stats got[3], want[3];
    /* every column kind and offset: the counts of the cells */
    for (int colour = 0; colour < 5; colour++)
        for (int off = 0; off < 3; off++) {
            make_data(&d, 290 + off, 31 + (uint64_t)colour, 1, 0);
            const shape sh = { "g", colour, off == 1 ? 3 : off == 2 ? 130 : 0, off == 2 ? 5 : off,
                               off == 1 };
            struct ArrowSchema s;
            struct ArrowArray a;
            build(&d, 0, d.n, &sh, &s, &a);
            memset(got, 0xff, sizeof got);
            mr_error err;
            assert_int_equal(mr_arrow_validate(e, &s, &a, got, &err), MR_OK);
            assert_int_equal(err.status, MR_OK);
            want_counts(&d, d.n, want);
            assert_true(want[0].unknown > 0 && want[0].missing > 0 && want[1].missing > 0);
            assert_counts(got, want, 3);
            assert_int_equal(mr_arrow_validate(e, &s, &a, NULL, NULL), MR_OK);
            s.release(&s);
            a.release(&a);
        }
    /* a stream: the counts of every batch, rows counted across the stream */
    make_data(&d, 700, 77, 1, 0);
    static const int64_t lens[] = { 1, 0, 128, 129, 300, 142 };
    chunks c;
    chunk_plan(&c, &d, lens, 6);
    struct ArrowArrayStream st;
    ab_stream p;
    ab_stream_init(&st, &p, make_chunk, &c);
    uint64_t rows = 0;
    assert_int_equal(mr_arrow_stream_validate(e, &st, got, &rows, NULL), MR_OK);
    assert_int_equal(rows, 700);
    assert_int_equal(p.releases, 1);
    want_counts(&d, 700, want);
    assert_counts(got, want, 3);
    /* unseen labels with MR_UNKNOWN_ERROR: counted, the first one is the error */
    mr_options *o;
    mr_options_create(&o);
    mr_options_set_int(o, MR_OPT_UNKNOWN_LEVEL, MR_UNKNOWN_ERROR);
    mr_engine *eu;
    assert_int_equal(mr_engine_create(m, o, &eu, NULL), MR_OK);
    ab_stream_init(&st, &p, make_chunk, &c);
    mr_error err;
    assert_int_equal(mr_arrow_stream_validate(eu, &st, got, &rows, &err), MR_E_DATA);
    assert_int_equal(rows, 700);
    assert_int_equal(err.row, want[0].first_unknown_row);
    assert_string_equal(err.field, "colour");
    assert_counts(got, want, 3);
    /* the same error as collect's */
    ab_stream_init(&st, &p, make_chunk, &c);
    double *out;
    size_t n;
    mr_error ec;
    assert_int_equal(mr_arrow_stream_collect(eu, &st, MR_MODE_PREDICT, &out, &n, &ec), MR_E_DATA);
    assert_int_equal(ec.row, err.row);
    assert_string_equal(ec.text, err.text);
    /* a producer failing after a bad cell: the bad cell (first in row order), counts of what was read */
    ab_stream_init(&st, &p, make_chunk, &c);
    p.fail_at = 5;
    assert_int_equal(mr_arrow_stream_validate(eu, &st, got, &rows, &err), MR_E_DATA);
    assert_int_equal(rows, 1 + 128 + 129 + 300);
    assert_int_equal(p.releases, 1);
    want_counts(&d, 558, want);
    assert_counts(got, want, 3);
    /* ... and before any: MR_E_IO */
    ab_stream_init(&st, &p, make_chunk, &c);
    p.fail_at = 1;
    assert_int_equal(mr_arrow_stream_validate(e, &st, got, &rows, &err), MR_E_IO);
    assert_int_equal(rows, 1);
    assert_int_equal(err.row, 2);
    assert_non_null(strstr(err.text, "disk on fire"));
    mr_engine_free(eu);
    mr_options_free(o);
    /* schema errors, NULLs, a released stream */
    static const char *missing[] = { "b", "colour", "x" };
    struct ArrowSchema s;
    struct ArrowArray a;
    batch_of(missing, "g", 3, &s, &a);
    assert_int_equal(mr_arrow_validate(e, &s, &a, got, &err), MR_E_SHAPE);
    assert_string_equal(err.field, "c");
    s.release(&s);
    a.release(&a);
    assert_int_equal(mr_arrow_validate(NULL, &s, &a, got, &err), MR_E_INVAL);
    assert_int_equal(mr_arrow_stream_validate(e, NULL, got, &rows, &err), MR_E_INVAL);
    assert_int_equal(mr_arrow_stream_validate(e, &st, got, &rows, &err), MR_E_INVAL); /* released */
    mr_engine_free(e);
    /* allow_missing false: the first bad cell in row order, across columns
     * of one block, the same for predict and validate; counts of the whole */
    mr_model *strict = model(0);
    assert_int_equal(mr_engine_create(strict, NULL, &e, NULL), MR_OK);
    make_data(&d, 300, 41, 0, 0);
    d.cvalid[30] = 0;      /* row 31, feature c (after b) */
    d.b[40] = INFINITY;    /* row 41, feature b */
    d.bvalid[250] = 0;
    const shape sh = { "g", 2, 2, 1, 1 };
    build(&d, 0, d.n, &sh, &s, &a);
    expect_same_error(e, &s, &a, MR_E_DATA, 31, "c", got);
    want_counts(&d, d.n, want);
    assert_counts(got, want, 3);
    s.release(&s);
    a.release(&a);
    d.bvalid[30] = 0;      /* row 31 in b too: the earlier feature */
    build(&d, 0, d.n, &sh, &s, &a);
    expect_same_error(e, &s, &a, MR_E_DATA, 31, "b", got);
    s.release(&s);
    a.release(&a);
    /* row-major batches: the same rules */
    static const char *codes[] = { "0", "1", "2" };
    for (int64_t r = 0; r < d.n; r++)
        d.colour[r] = codes[r % 3];
    d.colour[260] = NULL;
    build_rows(&d, d.n, "+w:3", "g", &s, &a);
    expect_same_error(e, &s, &a, MR_E_DATA, 31, "b", got);
    /* the classes have text labels: a number matches none (docs/abi.md) */
    assert_int_equal(got[0].missing, 1);
    assert_int_equal(got[0].unknown, 299);
    assert_int_equal(got[0].first_unknown_row, 1);
    assert_string_equal(got[0].first_unknown, "0.0"); /* as mr_validate writes it */
    assert_int_equal(got[1].missing, 2);
    assert_int_equal(got[2].missing, 1);
    s.release(&s);
    a.release(&a);
    mr_engine_free(e);
    mr_model_free(strict);
    mr_model_free(m);
    assert_int_equal(ab_made, ab_released);
    assert_int_equal(ab_double_release, 0);
}

/* ---- MR_OPT_THREADS: the same bits, errors and counts ---- */

#define BIGN 50000

typedef struct bigdata {
    double b[BIGN], c[BIGN];
    int bvalid[BIGN];
    int32_t idx[BIGN];
} bigdata;

static const char *bigdict[] = { "red", NULL, "junk", "purple", "NA", "green", "blue" };

/* rows [r0, r0+n) of g as a batch: b (float64, nulls), colour (dictionary
 * of utf8) and c (float64), or c as utf8 text (text != 0) */
static void big_batch(const bigdata *g, int64_t r0, int64_t n, int text, struct ArrowSchema *s,
                      struct ArrowArray *a)
{
    struct ArrowSchema cs[3], ds;
    struct ArrowArray ca[3], da;
    ab_f64(&cs[0], &ca[0], "b", g->b + r0, n, g->bvalid + r0);
    ab_str(&ds, &da, "", "u", bigdict, 7, 0, -1);
    ab_dict(&cs[1], &ca[1], "colour", g->idx + r0, n, &ds, &da);
    if (text) {
        char (*buf)[32] = malloc((size_t)n * sizeof *buf);
        const char **strs = malloc((size_t)n * sizeof *strs);
        for (int64_t i = 0; i < n; i++) {
            snprintf(buf[i], sizeof buf[i], "%.17g", g->c[r0 + i]);
            strs[i] = buf[i];
        }
        ab_str(&cs[2], &ca[2], "c", "u", strs, n, 0, -1);
        free(buf);
        free(strs);
    } else {
        ab_f64(&cs[2], &ca[2], "c", g->c + r0, n, NULL);
    }
    ab_batch(s, a, 3, cs, ca, 0, n);
}

static mr_engine *engine_threads(mr_model *m, int threads, int unknown)
{
    mr_options *o;
    mr_options_create(&o);
    assert_int_equal(mr_options_set_int(o, MR_OPT_THREADS, threads), MR_OK);
    mr_options_set_int(o, MR_OPT_UNKNOWN_LEVEL, unknown);
    mr_engine *e;
    assert_int_equal(mr_engine_create(m, o, &e, NULL), MR_OK);
    mr_options_free(o);
    return e;
}

typedef struct bigchunks {
    const bigdata *g;
    int text;
    int n;
    int64_t start[4], len[4];
} bigchunks;

static int make_big(void *ctx, int k, struct ArrowSchema *s, struct ArrowArray *a)
{
    const bigchunks *c = ctx;
    if (k >= c->n)
        return 0;
    big_batch(c->g, c->start[k], c->len[k], c->text, s, a);
    return 1;
}

static void test_threads(void **state)
{
    (void)state;
    static bigdata g;
    uint64_t seed = 99;
    for (int64_t r = 0; r < BIGN; r++) {
        g.b[r] = rnd_unit(&seed) * 2 - 1;
        g.c[r] = rnd_unit(&seed) * 10 - 5;
        g.bvalid[r] = rnd_next(&seed) % 9 != 0;
        const uint64_t x = rnd_next(&seed) % 8;
        g.idx[r] = x == 7 ? -1 : (int32_t)(x == 2 ? 0 : x); /* no "junk": red, null entry, ... */
    }
    mr_model *m = model(1);
    const size_t nt = mr_model_n_terms(m);
    double *want = malloc(BIGN * sizeof *want), *got = malloc(BIGN * sizeof *got);
    double *wantd = malloc(BIGN * nt * sizeof *wantd), *gotd = malloc(BIGN * nt * sizeof *gotd);
    mr_column_stats wantc[3], gotc[3];
    struct ArrowSchema s;
    struct ArrowArray a;
    for (int text = 0; text < 2; text++) {
        big_batch(&g, 0, BIGN, text, &s, &a);
        mr_engine *e1 = engine_threads(m, 1, MR_UNKNOWN_MODE);
        assert_int_equal(mr_arrow_predict(e1, &s, &a, want, NULL), MR_OK);
        assert_int_equal(mr_arrow_design(e1, &s, &a, wantd, nt, NULL), MR_OK);
        assert_int_equal(mr_arrow_validate(e1, &s, &a, wantc, NULL), MR_OK);
        assert_true(wantc[0].unknown > 0 && wantc[0].missing > 0 && wantc[1].missing > 0);
        for (int th = 2; th <= 5; th++) {
            mr_engine *e = engine_threads(m, th, MR_UNKNOWN_MODE);
            memset(got, 0, BIGN * sizeof *got);
            assert_int_equal(mr_arrow_predict(e, &s, &a, got, NULL), MR_OK);
            assert_bits(got, want, BIGN);
            assert_int_equal(mr_arrow_design(e, &s, &a, gotd, nt, NULL), MR_OK);
            assert_bits(gotd, wantd, BIGN * nt);
            assert_int_equal(mr_arrow_validate(e, &s, &a, gotc, NULL), MR_OK);
            assert_counts(gotc, wantc, 3);
            /* a stream of batches, some split, some not */
            bigchunks bc = { &g, text, 3, { 0, 20000, 21000 }, { 20000, 1000, BIGN - 21000 } };
            struct ArrowArrayStream st;
            ab_stream p;
            ab_stream_init(&st, &p, make_big, &bc);
            double *out;
            size_t n;
            assert_int_equal(mr_arrow_stream_collect(e, &st, MR_MODE_PREDICT, &out, &n, NULL), MR_OK);
            assert_int_equal(n, BIGN);
            assert_bits(out, want, BIGN);
            mr_buffer_free(out);
            ab_stream_init(&st, &p, make_big, &bc);
            uint64_t rows;
            assert_int_equal(mr_arrow_stream_validate(e, &st, gotc, &rows, NULL), MR_OK);
            assert_int_equal(rows, BIGN);
            assert_counts(gotc, wantc, 3);
            struct ArrowArrayStream xs;
            ab_stream_init(&st, &p, make_big, &bc);
            assert_int_equal(mr_arrow_stream_export(e, &st, MR_MODE_PREDICT, &xs, NULL), MR_OK);
            int64_t row = 0;
            for (;;) {
                struct ArrowArray x;
                assert_int_equal(xs.get_next(&xs, &x), 0);
                if (!x.release)
                    break;
                assert_bits(x.children[0]->buffers[1], want + row, (size_t)x.length);
                row += x.length;
                x.release(&x);
            }
            assert_int_equal(row, BIGN);
            xs.release(&xs);
            mr_engine_free(e);
        }
        mr_engine_free(e1);
        s.release(&s);
        a.release(&a);
    }
    /* errors: the first in row order, as on one thread, whatever chunk finds it */
    mr_model *strict = model(0);
    for (int k = 0; k < 3; k++) {
        bigdata *h = malloc(sizeof *h);
        memcpy(h, &g, sizeof *h);
        for (int64_t r = 0; r < BIGN; r++) {
            h->bvalid[r] = 1;
            h->idx[r] = h->idx[r] < 0 || h->idx[r] == 1 || h->idx[r] == 3 || h->idx[r] == 4 ? 0 : h->idx[r];
        }
        h->c[47000] = NAN;                 /* in the last chunk */
        if (k >= 1)
            h->bvalid[30001] = 0;          /* a middle chunk */
        if (k >= 2)
            h->idx[30001] = 99;            /* the same row, an earlier feature, malformed */
        mr_error e1err;
        big_batch(h, 0, BIGN, 0, &s, &a);
        mr_engine *e1 = engine_threads(strict, 1, MR_UNKNOWN_MODE);
        assert_int_not_equal(mr_arrow_predict(e1, &s, &a, want, &e1err), MR_OK);
        assert_int_equal(e1err.row, k == 0 ? 47001 : 30002);
        assert_string_equal(e1err.field, k == 0 ? "c" : k == 1 ? "b" : "colour");
        assert_int_equal(e1err.status, k == 2 ? MR_E_SHAPE : MR_E_DATA);
        mr_error v1;
        assert_int_equal(mr_arrow_validate(e1, &s, &a, wantc, &v1), e1err.status);
        assert_int_equal(v1.row, e1err.row);
        for (int th = 2; th <= 4; th++) {
            mr_engine *e = engine_threads(strict, th, MR_UNKNOWN_MODE);
            mr_error err;
            assert_int_equal(mr_arrow_predict(e, &s, &a, got, &err), e1err.status);
            assert_int_equal(err.row, e1err.row);
            assert_int_equal(err.column, e1err.column);
            assert_string_equal(err.text, e1err.text);
            assert_int_equal(mr_arrow_validate(e, &s, &a, gotc, &err), e1err.status);
            assert_int_equal(err.row, e1err.row);
            if (k < 2) /* a malformed cell stops the counting where it is found */
                assert_counts(gotc, wantc, 3);
            mr_engine_free(e);
        }
        mr_engine_free(e1);
        s.release(&s);
        a.release(&a);
        free(h);
    }
    mr_model_free(strict);
    mr_model_free(m);
    free(want);
    free(got);
    free(wantd);
    free(gotd);
    assert_int_equal(ab_made, ab_released);
    assert_int_equal(ab_double_release, 0);
}

/* Values whose sum overflows are finite all the same: the fast test (a sum
 * per block) only sends them to the cell-by-cell check, which accepts them. */
static void test_huge_values(void **state)
{
    (void)state;
    mr_model *m = model(0); /* allow_missing false: every cell is checked */
    mr_engine *e;
    assert_int_equal(mr_engine_create(m, NULL, &e, NULL), MR_OK);
    data d;
    make_data(&d, 300, 51, 0, 0);
    static const char *codes[] = { "0", "1", "2" };
    for (int64_t r = 0; r < d.n; r++) {
        d.b[r] = r % 2 ? 1.7e308 : 1.6e308;
        d.c[r] = r % 3 ? -1.75e308 : 1.75e308;
    }
    double got[300];
    mr_column_stats cols[3];
    for (int rows = 0; rows < 2; rows++) {
        struct ArrowSchema s;
        struct ArrowArray a;
        if (rows) {
            for (int64_t r = 0; r < d.n; r++)
                d.colour[r] = codes[r % 3];
            build_rows(&d, d.n, "+w:3", "g", &s, &a);
        } else {
            const shape sh = { "g", 0, 0, 0, 0 };
            build(&d, 0, d.n, &sh, &s, &a);
        }
        double *want = oracle(m, &d, 0, d.n, MR_MODE_PREDICT, MR_UNKNOWN_MODE);
        mr_error err;
        if (mr_arrow_predict(e, &s, &a, got, &err) != MR_OK)
            fail_msg("%s", err.text);
        assert_bits(got, want, 300);
        assert_int_equal(mr_arrow_validate(e, &s, &a, cols, NULL), MR_OK);
        assert_int_equal(cols[1].missing + cols[2].missing, 0);
        free(want);
        s.release(&s);
        a.release(&a);
    }
    mr_engine_free(e);
    mr_model_free(m);
    assert_int_equal(ab_made, ab_released);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types_nulls_slices),
        cmocka_unit_test(test_stream_collect),
        cmocka_unit_test(test_stream_export),
        cmocka_unit_test(test_producer_fails),
        cmocka_unit_test(test_schema_errors),
        cmocka_unit_test(test_cell_errors),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_rowmajor),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_huge_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
