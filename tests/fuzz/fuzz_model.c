/* fuzz_model.c — ModelSpec loader, accessors and evaluation.
 *
 * Input: the bytes of a model file. When it loads:
 *  - every accessor is called and checked against the loaded structure and
 *    an independent SHA-256 of the bytes;
 *  - mr_predict / mr_design over rows built from a fixed pattern (NaN, ±inf,
 *    -0.0, the model's own knots and categories) must equal a naive
 *    tree-walking evaluation of docs/SEMANTICS.md §2/§5, bit for bit;
 *  - the same rows written as headerless CSV go through mr_run, whose output
 *    must match the same reference (stream path == in-memory path).
 * Errors must come with a status, a one-line text and no model. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "marsreplay.h"
#include "model.h"
#include "numparse.h"

#define NROWS 131 /* crosses one MR_BLOCK (128) boundary */
#define MAX_SPECIAL 16

/* ---- independent SHA-256 (FIPS 180-4) -------------------------------------- */

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const uint8_t *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        const uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        const uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (int i = 0; i < 64; i++) {
        const uint32_t t1 = k + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) +
                            K256[i] + w[i];
        const uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d;
    h[4] += e; h[5] += f; h[6] += g; h[7] += k;
}

static void sha256_hex(const uint8_t *data, size_t len, char hex[65])
{
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    size_t i = 0;
    for (; i + 64 <= len; i += 64)
        sha256_block(h, data + i);
    uint8_t tail[128] = {0};
    const size_t rest = len - i;
    memcpy(tail, data + i, rest);
    tail[rest] = 0x80;
    const size_t tl = rest < 56 ? 64 : 128;
    const uint64_t bits = (uint64_t)len * 8;
    for (int k = 0; k < 8; k++)
        tail[tl - 1 - k] = (uint8_t)(bits >> (8 * k));
    sha256_block(h, tail);
    if (tl == 128)
        sha256_block(h, tail + 64);
    for (int k = 0; k < 8; k++)
        snprintf(hex + 8 * k, 9, "%08x", h[k]);
}

/* ---- reference evaluation (docs/SEMANTICS.md §2, §5) ------------------------------- */

static double ref_term(const mr_term *t, const double *x)
{
    double own;
    switch (t->kind) {
    case MR_KIND_INTERACTION:
        FUZZ_CHECK(t->parent1 && t->parent2, "interaction without two parents was loaded");
        return ref_term(t->parent1, x) * ref_term(t->parent2, x);
    case MR_KIND_CONSTANT:
        own = 1.0;
        break;
    case MR_KIND_LINEAR:
        own = x[t->var];
        break;
    case MR_KIND_HINGE: {
        const double d = t->right ? x[t->var] - t->knot : t->knot - x[t->var];
        own = isnan(x[t->var]) || isnan(d) ? NAN : d > 0 ? d : +0.0;
        break;
    }
    case MR_KIND_CATEGORICAL:
        own = isnan(x[t->var]) ? NAN : x[t->var] == t->category ? 1.0 : 0.0;
        break;
    case MR_KIND_MISSINGNESS:
        FUZZ_CHECK(!t->parent1, "missingness with a parent was loaded");
        own = isnan(x[t->var]) ? 1.0 : 0.0;
        break;
    default:
        FUZZ_CHECK(0, "unknown kind %d", (int)t->kind);
    }
    return t->parent1 ? ref_term(t->parent1, x) * own : own;
}

static double ref_predict(const mr_model *m, const double *x)
{
    double acc = 0.0;
    for (size_t i = 0; i < m->n_terms; i++) {
        volatile double prod = m->coef[i] * ref_term(&m->terms[i], x); /* no FMA */
        acc = acc + prod;
    }
    return acc;
}

/* Walk a term: features read, degree (variable factors). */
static int walk(const mr_term *t, const mr_model *m, unsigned char *used)
{
    if (!t)
        return 0;
    if (t->kind == MR_KIND_INTERACTION)
        return walk(t->parent1, m, used) + walk(t->parent2, m, used);
    int d = walk(t->parent1, m, used);
    if (t->kind != MR_KIND_CONSTANT) {
        FUZZ_CHECK(t->var >= 0 && (size_t)t->var < m->n_features, "variable %d out of range",
                   t->var);
        used[t->var] = 1;
        d++;
    }
    return d;
}

/* Knots and categories seen on feature j: boundary values for the rows. */
static void collect(const mr_term *t, double (*sp)[MAX_SPECIAL], size_t *nsp)
{
    if (!t)
        return;
    collect(t->parent1, sp, nsp);
    collect(t->parent2, sp, nsp);
    if (t->var < 0 || t->kind == MR_KIND_INTERACTION)
        return;
    const double v = t->kind == MR_KIND_HINGE ? t->knot : t->category;
    if ((t->kind == MR_KIND_HINGE || t->kind == MR_KIND_CATEGORICAL) &&
        nsp[t->var] < MAX_SPECIAL)
        sp[t->var][nsp[t->var]++] = v;
}

/* ---- accessors ---------------------------------------------------------------- */

static void check_error(mr_status st, const mr_model *m, const mr_error *err)
{
    FUZZ_CHECK(m == NULL, "model returned with status %d", st);
    FUZZ_CHECK(st == MR_E_MODEL || st == MR_E_NOMEM, "load status %d (%s)", st, err->text);
    FUZZ_CHECK(err->status == st, "err.status %d != %d", err->status, st);
    FUZZ_CHECK(memchr(err->text, 0, sizeof err->text) && err->text[0], "empty or unterminated text");
    FUZZ_CHECK(memchr(err->json_path, 0, sizeof err->json_path), "json_path unterminated");
    FUZZ_CHECK(memchr(err->field, 0, sizeof err->field), "field unterminated");
    FUZZ_CHECK(memchr(err->source, 0, sizeof err->source), "source unterminated");
    FUZZ_CHECK(!strpbrk(err->text, "\r\n"), "error text is not one line: %s", err->text);
}

static void check_accessors(const mr_model *m, const uint8_t *data, size_t size)
{
    const size_t nf = mr_model_n_features(m), nt = mr_model_n_terms(m);
    FUZZ_CHECK(nf == m->n_features && nt == m->n_terms, "counts");
    for (size_t j = 0; j < nf; j++) {
        const char *name = mr_model_feature_name(m, j);
        FUZZ_CHECK(name != NULL, "feature %zu has no name", j);
        (void)strlen(name);
        const int cat = mr_model_feature_is_categorical(m, j);
        const size_t nc = mr_model_n_classes(m, j);
        FUZZ_CHECK(cat == 0 || cat == 1, "is_categorical %d", cat);
        FUZZ_CHECK(cat ? nc > 0 : nc == 0, "feature %zu: categorical %d with %zu classes", j, cat, nc);
        for (size_t k = 0; k < nc; k++) {
            const char *l = mr_model_class_label(m, j, k);
            FUZZ_CHECK(l != NULL, "class %zu of %zu has no label", k, j);
            (void)strlen(l);
        }
        FUZZ_CHECK(mr_model_class_label(m, j, nc) == NULL, "label past the end");
        if (cat)
            FUZZ_CHECK(m->encoders[j]->most_frequent < nc, "most_frequent out of range");
    }
    FUZZ_CHECK(mr_model_feature_name(m, nf) == NULL, "name past the end");
    FUZZ_CHECK(mr_model_n_classes(m, nf) == 0, "classes past the end");
    FUZZ_CHECK(!mr_model_feature_is_categorical(m, nf) && !mr_model_feature_is_used(m, nf),
               "flags past the end");

    unsigned char *used = calloc(nf ? nf : 1, 1);
    FUZZ_CHECK(used, "oom");
    int maxdeg = 0;
    for (size_t i = 0; i < nt; i++) {
        const char *name = mr_model_term_name(m, i);
        FUZZ_CHECK(name != NULL && name[0], "term %zu has no name", i);
        FUZZ_CHECK(isfinite(mr_model_coefficient(m, i)), "coefficient %zu not finite", i);
        const int d = walk(&m->terms[i], m, used);
        FUZZ_CHECK(mr_model_term_degree(m, i) == d, "term %zu degree %d, counted %d", i,
                   mr_model_term_degree(m, i), d);
        if (d > maxdeg)
            maxdeg = d;
    }
    FUZZ_CHECK(mr_model_degree(m) == maxdeg, "degree %d, max term degree %d", mr_model_degree(m),
               maxdeg);
    for (size_t j = 0; j < nf; j++)
        FUZZ_CHECK(mr_model_feature_is_used(m, j) == used[j], "feature %zu used flag %d != %d", j,
                   mr_model_feature_is_used(m, j), used[j]);
    free(used);
    FUZZ_CHECK(mr_model_term_name(m, nt) == NULL, "term name past the end");
    FUZZ_CHECK(isnan(mr_model_coefficient(m, nt)), "coefficient past the end");
    FUZZ_CHECK(mr_model_term_degree(m, nt) == -1, "degree past the end");
    const int am = mr_model_allow_missing(m);
    FUZZ_CHECK(am == 0 || am == 1, "allow_missing %d", am);

    char hex[65];
    sha256_hex(data, size, hex);
    const char *sha = mr_model_sha256(m);
    FUZZ_CHECK(sha && strcmp(sha, hex) == 0, "sha256 %s, expected %s", sha ? sha : "(null)", hex);
}

/* ---- rows -------------------------------------------------------------------- */

static const double PATTERN[] = {
    0.0, 1.0, -1.0, 0.5, NAN, -0.0, 1e300, -INFINITY, INFINITY, 0.2117, 4.9e-324, 3.0, 2.0, -2.5,
};
#define NPAT (sizeof PATTERN / sizeof PATTERN[0])

/* Row r, feature j (decoded value): pattern values, the model's knots and
 * categories, and class indices for categorical features. */
static double cell(const mr_model *m, size_t r, size_t j, double (*sp)[MAX_SPECIAL],
                   const size_t *nsp)
{
    const size_t sel = (r * 7 + j * 3) % 5;
    const size_t nc = m->encoders[j] ? m->encoders[j]->n_classes : 0;
    if (sel == 0 && nsp[j])
        return sp[j][(r / 5 + j) % nsp[j]];
    if (sel >= 2 && nc)
        return (double)((r + j) % nc);
    return PATTERN[(r + 3 * j) % NPAT];
}

/* ---- in-memory evaluation ----------------------------------------------------- */

static void check_eval(const mr_model *m, mr_engine *e, const double *x, size_t ld)
{
    const size_t nt = m->n_terms;
    double *pred = malloc(NROWS * sizeof *pred);
    double *des = malloc(NROWS * (nt + 1) * sizeof *des);
    FUZZ_CHECK(pred && des, "oom");
    mr_error err;
    mr_status st = mr_predict(e, x, NROWS, ld, pred, &err);
    FUZZ_CHECK(st == MR_OK, "mr_predict: %d %s", st, err.text);
    st = mr_design(e, x, NROWS, ld, des, nt + 1, &err);
    FUZZ_CHECK(st == MR_OK, "mr_design: %d %s", st, err.text);
    for (size_t r = 0; r < NROWS; r++) {
        const double *xr = x + r * ld;
        for (size_t i = 0; i < nt; i++) {
            const double want = ref_term(&m->terms[i], xr);
            FUZZ_CHECK(fz_same(des[r * (nt + 1) + i], want), "row %zu term %zu (%s): %a, reference %a",
                       r, i, m->term_names[i], des[r * (nt + 1) + i], want);
        }
        const double want = ref_predict(m, xr);
        FUZZ_CHECK(fz_same(pred[r], want), "row %zu prediction %a, reference %a", r, pred[r], want);
    }
    /* argument checks */
    if (m->n_features) {
        st = mr_predict(e, x, NROWS, m->n_features - 1, pred, &err);
        FUZZ_CHECK(st == MR_E_SHAPE, "short ld accepted: %d", st);
    }
    st = mr_predict(e, NULL, 0, ld, pred, &err);
    FUZZ_CHECK(st == MR_OK, "zero rows: %d", st);
    free(pred);
    free(des);
}

/* ---- the stream path ----------------------------------------------------------- */

static int is_default_na(const char *s, size_t len)
{
    return len == 0 || (len == 2 && !memcmp(s, "NA", 2)) || (len == 3 && !memcmp(s, "NaN", 3)) ||
           (len == 3 && !memcmp(s, "nan", 3));
}

/* What decode.c must make of cell text s (docs/SEMANTICS.md §3/§4, unknown = mode).
 * Returns 0 (value), 1 (missing), 2 (unknown), -1 (error: not allowed). */
static int ref_decode(const mr_model *m, size_t j, const char *s, size_t len, double *out)
{
    if (is_default_na(s, len)) {
        *out = NAN;
        return m->allow_missing ? 1 : -1;
    }
    double v;
    const int numeric = mr_parse_double(s, len, &v) == 0;
    const mr_encoder *enc = m->encoders[j];
    if (numeric && isinf(v) && !m->allow_missing)
        return -1;
    if (!enc) {
        FUZZ_CHECK(numeric, "reference wrote a bad number");
        *out = v;
        return 0;
    }
    for (size_t k = 0; k < enc->n_classes; k++) {
        const mr_class *c = &enc->classes[k];
        if (c->is_string ? c->len == len && memcmp(c->str, s, len) == 0 : numeric && c->num == v) {
            *out = (double)k;
            return 0;
        }
    }
    *out = (double)enc->most_frequent;
    return 2;
}

static void put_cell(fz_sink *csv, const char *s, size_t len)
{
    int quote = 0;
    for (size_t i = 0; i < len; i++)
        quote |= s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!quote) {
        FUZZ_CHECK(fz_write(csv, s, len) == 0, "oom");
        return;
    }
    FUZZ_CHECK(fz_write(csv, "\"", 1) == 0, "oom");
    for (size_t i = 0; i < len; i++)
        FUZZ_CHECK(fz_write(csv, s + i, 1) == 0 && (s[i] != '"' || fz_write(csv, "\"", 1) == 0),
                   "oom");
    FUZZ_CHECK(fz_write(csv, "\"", 1) == 0, "oom");
}

static int has_dup_names(const mr_model *m)
{
    for (size_t i = 0; i < m->n_features; i++)
        for (size_t k = 0; k < i; k++)
            if (strcmp(m->feature_names[i], m->feature_names[k]) == 0)
                return 1;
    return 0;
}

static void check_stream(const mr_model *m, const double *x, size_t ld, int design)
{
    const size_t nf = m->n_features, nt = m->n_terms;
    if (nf == 0)
        return; /* a CSV record always has one field */
    /* headerless CSV of the rows, and what each cell decodes to */
    fz_sink csv = {0};
    double *xd = malloc(NROWS * nf * sizeof *xd);
    uint64_t *miss = calloc(nf, sizeof *miss), *unk = calloc(nf, sizeof *unk);
    FUZZ_CHECK(xd && miss && unk, "oom");
    int fails = 0;
    for (size_t r = 0; r < NROWS; r++) {
        for (size_t j = 0; j < nf; j++) {
            const double v = x[r * ld + j];
            const mr_encoder *enc = m->encoders[j];
            char num[40];
            const char *s = num;
            size_t len;
            if (enc && !isnan(v) && v == floor(v) && v >= 0 && v < (double)enc->n_classes) {
                s = enc->classes[(size_t)v].is_string ? enc->classes[(size_t)v].str
                                                      : enc->classes[(size_t)v].label;
                len = enc->classes[(size_t)v].is_string ? enc->classes[(size_t)v].len : strlen(s);
            } else {
                len = (size_t)snprintf(num, sizeof num, "%.17g", v);
            }
            if (j)
                FUZZ_CHECK(fz_write(&csv, ",", 1) == 0, "oom");
            put_cell(&csv, s, len);
            const int d = ref_decode(m, j, s, len, &xd[r * nf + j]);
            fails |= d < 0;
            miss[j] += d == 1;
            unk[j] += d == 2;
        }
        FUZZ_CHECK(fz_write(&csv, "\n", 1) == 0, "oom");
    }

    mr_options *o;
    FUZZ_CHECK(mr_options_create(&o) == MR_OK, "oom");
    mr_options_set_int(o, MR_OPT_HEADER, 0);
    mr_options_set_int(o, MR_OPT_NAMES_FROM_MODEL, 1);
    mr_options_set_int(o, MR_OPT_CHUNK_ROWS, 7);
    mr_options_set_int(o, MR_OPT_MODE, design ? MR_MODE_DESIGN : MR_MODE_PREDICT);
    mr_engine *e;
    mr_error err;
    mr_status st = mr_engine_create(m, o, &e, &err);
    FUZZ_CHECK(st == MR_OK, "engine: %d %s", st, err.text);
    fz_reader rd;
    fz_reader_init(&rd, (uint8_t)(NROWS + nt));
    fz_reader_add(&rd, csv.p, csv.len, 0);
    fz_sink out = {0};
    const mr_io io = { .read = fz_read, .read_cookie = &rd, .source = "rows",
                       .write = fz_write, .pwrite = fz_pwrite, .write_cookie = &out };
    mr_run_stats stats;
    st = mr_run(e, &io, NULL, NULL, &stats, &err);
    const mr_status want = has_dup_names(m) ? MR_E_SHAPE : fails ? MR_E_DATA : MR_OK;
    FUZZ_CHECK(st == want, "mr_run status %d (%s, row %llu col %u), expected %d", st, err.text,
               (unsigned long long)err.row, err.column, want);
    if (st == MR_OK) {
        FUZZ_CHECK(stats.rows_in == NROWS && stats.rows_out == NROWS, "rows %llu/%llu",
                   (unsigned long long)stats.rows_in, (unsigned long long)stats.rows_out);
        for (size_t j = 0; j < nf; j++)
            FUZZ_CHECK(stats.columns[j].missing == miss[j] && stats.columns[j].unknown == unk[j],
                       "feature %zu: missing %llu/%llu unknown %llu/%llu", j,
                       (unsigned long long)stats.columns[j].missing, (unsigned long long)miss[j],
                       (unsigned long long)stats.columns[j].unknown, (unsigned long long)unk[j]);
        size_t pos = 0;
        int bad = 0;
        fz_rec rec;
        FUZZ_CHECK(fz_next_record(out.p, out.len, &pos, &rec, &bad), "no header");
        const size_t nv = design ? nt : 1;
        FUZZ_CHECK(rec.fields == (nv ? nv : 1), "header has %zu fields, expected %zu", rec.fields, nv);
        char buf[64];
        for (size_t r = 0; r < NROWS; r++) {
            FUZZ_CHECK(fz_next_record(out.p, out.len, &pos, &rec, &bad) && !bad, "row %zu missing", r);
            FUZZ_CHECK(rec.fields == (nv ? nv : 1), "row %zu has %zu fields", r, rec.fields);
            for (size_t i = 0; i < nv; i++) {
                fz_field(&rec, i, buf, sizeof buf);
                FUZZ_CHECK(fz_value_ok(buf, "nan"), "row %zu value '%s'", r, buf);
                const double got = strcmp(buf, "nan") == 0 ? NAN : strtod(buf, NULL);
                const double w = design ? ref_term(&m->terms[i], xd + r * nf) : ref_predict(m, xd + r * nf);
                FUZZ_CHECK(fz_same(got, w), "stream row %zu value %zu: %s, reference %a", r, i, buf, w);
            }
        }
        FUZZ_CHECK(!fz_next_record(out.p, out.len, &pos, &rec, &bad), "extra output rows");
    } else {
        FUZZ_CHECK(out.len == 0 || want == MR_E_DATA, "output after a header error");
    }
    mr_run_stats_free(&stats);
    mr_engine_free(e);
    mr_options_free(o);
    fz_sink_free(&out);
    fz_sink_free(&csv);
    free(xd);
    free(miss);
    free(unk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mr_model *m = (mr_model *)1;
    mr_error err;
    const mr_status st = mr_model_load_buffer((const char *)data, size, "fuzz", &m, &err);
    if (st != MR_OK) {
        check_error(st, m, &err);
        return 0;
    }
    FUZZ_CHECK(m != NULL, "MR_OK without a model");
    check_accessors(m, data, size);

    const size_t nf = m->n_features, ld = nf + 1;
    double (*sp)[MAX_SPECIAL] = calloc(nf ? nf : 1, sizeof *sp);
    size_t *nsp = calloc(nf ? nf : 1, sizeof *nsp);
    double *x = malloc(NROWS * ld * sizeof *x);
    FUZZ_CHECK(sp && nsp && x, "oom");
    for (size_t i = 0; i < m->n_terms; i++)
        collect(&m->terms[i], sp, nsp);
    for (size_t r = 0; r < NROWS; r++) {
        for (size_t j = 0; j < nf; j++)
            x[r * ld + j] = cell(m, r, j, sp, nsp);
        x[r * ld + nf] = 12345.0; /* padding the library must not read */
    }
    mr_engine *e;
    const mr_status est = mr_engine_create(m, NULL, &e, &err);
    FUZZ_CHECK(est == MR_OK, "engine on a valid model: %d %s", est, err.text);
    check_eval(m, e, x, ld);
    mr_engine_free(e);
    check_stream(m, x, ld, 0);
    if (m->n_terms <= 64)
        check_stream(m, x, ld, 1);
    free(x);
    free(sp);
    free(nsp);
    mr_model_free(m);
    return 0;
}
