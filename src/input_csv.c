/* input_csv.c — CSV input: the header (names → features, kept columns,
 * per-column missing tokens), cutting chunks of whole records, and the
 * worker's parse + decode of one chunk. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "input.h"

/* Levenshtein distance of a and b, or cap + 1 when it is larger. */
static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb, size_t cap)
{
    if (la > 64 || lb > 64 || (la > lb ? la - lb : lb - la) > cap)
        return cap + 1;
    size_t prev[65], cur[65];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t best = cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t v = prev[j - 1] + (a[i - 1] != b[j - 1]);
            if (prev[j] + 1 < v)
                v = prev[j] + 1;
            if (cur[j - 1] + 1 < v)
                v = cur[j - 1] + 1;
            cur[j] = v;
            if (v < best)
                best = v;
        }
        if (best > cap)
            return cap + 1;
        memcpy(prev, cur, (lb + 1) * sizeof *prev);
    }
    return prev[lb];
}

/* The header's name nearest to `want` (a typo, colour for color) among the
 * columns no feature took, or NULL. */
static const char *nearest(char *const *names, size_t n, const unsigned char *taken, const char *want)
{
    const size_t lw = strlen(want), cap = lw < 5 ? 1 : 2;
    const char *best = NULL;
    size_t bd = cap + 1;
    for (size_t i = 0; i < n && n <= 10000; i++) { /* a hostile header gets no suggestion */
        if (taken[i])
            continue;
        const size_t d = edit_distance(want, lw, names[i], strlen(names[i]), cap);
        if (d < bd) {
            bd = d;
            best = names[i];
        }
    }
    return best;
}

static int looks_numeric(char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *end;
        if (!*names[i] || (strtod(names[i], &end), *end))
            return 0;
    }
    return n > 0;
}

/* Append to a one-line message, as much as fits. */
static void put(char *buf, size_t cap, size_t *len, const char *fmt, const char *a, const char *b)
{
    if (*len + 1 >= cap)
        return;
    const int k = snprintf(buf + *len, cap - *len, fmt, a, b);
    *len = k < 0 ? *len : *len + (size_t)k >= cap ? cap - 1 : *len + (size_t)k;
}

/* Some model features are not among the columns. Those no term uses may be
 * absent (unless MR_OPT_STRICT_COLUMNS): the caller warns from
 * mr_column_stats.absent. Any other: one error naming every missing feature,
 * a near name for a typo, the columns there are, and --no-header when the
 * header looks like data. */
static mr_status missing_columns(mr_stream *r, char *const *names, size_t nnames, mr_error *err)
{
    size_t first = 0;
    const mr_model *m = r->m;
    size_t nmiss = 0;
    for (size_t f = 0; f < m->n_features; f++)
        nmiss += r->feat_col[f] == nnames && (r->o->strict_columns || m->feature_used[f]);
    if (!nmiss)
        return MR_OK;
    char msg[256], q[64], q2[64];
    size_t len = 0, shown = 0;
    unsigned char *taken = calloc(nnames ? nnames : 1, 1);
    for (size_t f = 0; taken && f < m->n_features; f++)
        if (r->feat_col[f] < nnames)
            taken[r->feat_col[f]] = 1;
    const char *where = r->o->header ? "header" : "column names";
    put(msg, sizeof msg, &len, "%s%s", nmiss == 1 ? "model feature column " : "model feature columns ", "");
    for (size_t f = 0; f < m->n_features; f++) {
        if (r->feat_col[f] != nnames || !(r->o->strict_columns || m->feature_used[f]))
            continue;
        if (len > 150) {
            char more[32];
            snprintf(more, sizeof more, "%zu more", nmiss - shown);
            put(msg, sizeof msg, &len, ", %s%s", more, "");
            break;
        }
        if (!shown)
            first = f;
        mr_err_quote(q, sizeof q, m->feature_names[f], strlen(m->feature_names[f]));
        put(msg, sizeof msg, &len, shown ? ", \"%s\"%s" : "\"%s\"%s", q, "");
        const char *near = shown < 8 && taken ? nearest(names, nnames, taken, m->feature_names[f]) : NULL;
        if (near) {
            mr_err_quote(q2, sizeof q2, near, strlen(near));
            put(msg, sizeof msg, &len, " (did you mean \"%s\"?)%s", q2, "");
        }
        shown++;
    }
    put(msg, sizeof msg, &len, nmiss == 1 ? " is missing from the %s%s" : " are missing from the %s%s", where, "");
    if (r->o->header && looks_numeric(names, nnames))
        put(msg, sizeof msg, &len, "%s%s", "; the header looks like data: for input without a header use "
            "--no-header with --names or --names-from-model", "");
    else {
        char cnt[48];
        snprintf(cnt, sizeof cnt, "; the %zu column%s: ", nnames, nnames == 1 ? " is" : "s are");
        put(msg, sizeof msg, &len, "%s%s", cnt, "");
        for (size_t i = 0; i < nnames && len < sizeof msg - 1; i++) {
            mr_err_quote(q, sizeof q, names[i], strlen(names[i]));
            if (len + strlen(q) + 8 >= sizeof msg) {
                put(msg, sizeof msg, &len, "%s%s", i ? ", ..." : "...", "");
                break;
            }
            put(msg, sizeof msg, &len, i ? ", %s%s" : "%s%s", q, "");
        }
    }
    free(taken);
    mr_err_set(err, MR_E_SHAPE, "%s", msg);
    return mr_stream_fail_at(r, err, MR_E_SHAPE, r->o->header ? 1 : 0, 0, 0, m->feature_names[first]);
}

/* Read the CSV header (or take the names given), map features and kept
 * columns to fields, set per-column missing tokens. */
static mr_status csv_header(mr_stream *r, mr_error *err)
{
    const mr_model *m = r->m;
    mr_csv_scanner_init(&r->scan, r->o->delim);
    /* UTF-8 BOM */
    if (r->rend - r->rpos >= 3 && memcmp(r->rbuf + r->rpos, "\xEF\xBB\xBF", 3) == 0)
        r->rpos += 3;
    char **names = NULL;
    mr_name_ref *idx = NULL;
    size_t nnames = 0;
    mr_csv_fields fs;
    mr_csv_fields_init(&fs);
    mr_status st = MR_OK;
    if (r->o->header) {
        if (r->rpos == r->rend && r->eof) {
            mr_err_set(err, MR_E_PARSE, "empty input: expected a header line");
            return mr_stream_fail_at(r, err, MR_E_PARSE, 1, 0, 0, NULL);
        }
        /* scan one record, reading more as needed */
        size_t spos = r->rpos;
        uint64_t recs = 0, lines = 0;
        for (;;) {
            spos += mr_csv_scan(&r->scan, r->rbuf + spos, r->rend - spos, 1, &recs, &lines);
            if (recs || r->eof)
                break;
            if (spos - r->rpos > r->o->max_record) {
                mr_err_set(err, MR_E_PARSE, "header line longer than %zu bytes", r->o->max_record);
                return mr_stream_fail_at(r, err, MR_E_PARSE, 1, 0, 0, NULL);
            }
            const size_t off = spos - r->rpos;
            FORWARD_IF(mr_stream_fill(r, r->rpos, r->rend - r->rpos + MR_READ_SIZE, err));
            spos = r->rpos + off;
        }
        if (!recs && mr_csv_scanner_in_quotes(&r->scan)) {
            mr_err_set(err, MR_E_PARSE, "unterminated quoted field in the header");
            return mr_stream_fail_at(r, err, MR_E_PARSE, 1, 0, 0, NULL);
        }
        size_t len = spos - r->rpos;
        if (recs)
            len--; /* drop '\n' */
        if (len > r->o->max_record) {
            mr_err_set(err, MR_E_PARSE, "header line longer than %zu bytes (--max-record-bytes)", r->o->max_record);
            return mr_stream_fail_at(r, err, MR_E_PARSE, 1, 0, 0, NULL);
        }
        uint32_t bad = 0;
        st = mr_csv_split(&fs, r->rbuf + r->rpos, len, r->o->delim, &bad);
        if (st == MR_E_PARSE) {
            mr_err_set(err, MR_E_PARSE, "malformed quoting in the header");
            mr_stream_fail_at(r, err, st, 1, 0, bad, NULL);
            goto out;
        }
        if (st != MR_OK)
            goto nomem;
        nnames = fs.n;
        names = calloc(nnames + 1, sizeof *names);
        if (!names)
            goto nomem;
        for (size_t i = 0; i < nnames; i++) {
            if (memchr(fs.f[i].p, '\0', fs.f[i].len)) { /* it would match as the name cut there */
                mr_err_set(err, MR_E_PARSE, "header field %zu holds a NUL byte", i + 1);
                mr_stream_fail_at(r, err, MR_E_PARSE, 1, 0, (uint32_t)(i + 1), NULL);
                st = MR_E_PARSE;
                goto out;
            }
            if (!(names[i] = strndup(fs.f[i].p, fs.f[i].len)))
                goto nomem;
        }
        r->rpos = spos;
        r->lines = lines;
    } else if (r->o->names) {
        if (!(names = mr_split_list(r->o->names, &nnames)))
            goto nomem;
    } else if (r->o->names_from_model) {
        nnames = m->n_features;
        names = calloc(nnames + 1, sizeof *names);
        if (!names)
            goto nomem;
        for (size_t i = 0; i < nnames; i++)
            if (!(names[i] = strdup(m->feature_names[i])))
                goto nomem;
    } else {
        mr_err_set(err, MR_E_INVAL, "headerless input needs column names (--names or --names-from-model)");
        st = MR_E_INVAL;
        goto out;
    }
    r->ncols = nnames;
    if (!(idx = mr_name_index(names, nnames)))
        goto nomem;
    r->feat_col = calloc(m->n_features ? m->n_features : 1, sizeof *r->feat_col);
    if (!r->feat_col)
        goto nomem;
    size_t a = 0, b = 0;
    const mr_map_result mapped = mr_map_features_idx(m, idx, nnames, r->feat_col, &a, &b);
    if (mapped == MR_MAP_DUPLICATE) {
        char q[96];
        mr_err_quote(q, sizeof q, names[b], strlen(names[b]));
        mr_err_set(err, MR_E_SHAPE, "duplicate column name \"%s\" (columns %zu and %zu)", q, a + 1, b + 1);
        mr_stream_fail_at(r, err, MR_E_SHAPE, r->o->header ? 1 : 0, 0, (uint32_t)(b + 1), names[b]);
        st = MR_E_SHAPE;
        goto out;
    }
    if (mapped == MR_MAP_MISSING && (st = missing_columns(r, names, nnames, err)) != MR_OK)
        goto out;
    if (!(r->present = malloc((m->n_features ? m->n_features : 1) * sizeof *r->present)))
        goto nomem;
    for (size_t f = 0; f < m->n_features; f++)
        if (r->feat_col[f] < nnames)
            r->present[r->npresent++] = f;
    if (r->o->keep) {
        if (!(r->keep_names = mr_split_list(r->o->keep, &r->nkeep)))
            goto nomem;
        r->keep_col = calloc(r->nkeep, sizeof *r->keep_col);
        if (!r->keep_col)
            goto nomem;
        for (size_t k = 0; k < r->nkeep; k++) {
            const size_t c = mr_name_find(idx, nnames, r->keep_names[k], strlen(r->keep_names[k]));
            if (c == nnames) {
                char q[96];
                mr_err_quote(q, sizeof q, r->keep_names[k], strlen(r->keep_names[k]));
                mr_err_set(err, MR_E_SHAPE, "--keep column \"%s\" is not in the input", q);
                mr_stream_fail_at(r, err, MR_E_SHAPE, r->o->header ? 1 : 0, 0, 0, r->keep_names[k]);
                st = MR_E_SHAPE;
                goto out;
            }
            r->keep_col[k] = c;
        }
    }
    for (size_t i = 0; i < r->o->n_na_cols; i++) {
        const char *spec = r->o->na_cols[i];
        const char *eq = strchr(spec, '=');
        const size_t c = mr_name_find(idx, nnames, spec, (size_t)(eq - spec));
        if (c == nnames) {
            char q[96];
            mr_err_quote(q, sizeof q, spec, (size_t)(eq - spec));
            mr_err_set(err, MR_E_INVAL, "--na-col column \"%s\" is not in the input", q);
            st = MR_E_INVAL;
            goto out;
        }
        for (size_t f = 0; f < m->n_features; f++)
            if (r->feat_col[f] == c && mr_decoder_set_na(&r->dec, f, eq + 1) != MR_OK)
                goto nomem;
    }
    goto out;
nomem:
    st = mr_err_set(err, MR_E_NOMEM, "out of memory");
out:
    free(idx);
    mr_free_list(names, nnames);
    mr_csv_fields_free(&fs);
    return st;
}

static mr_status too_long(const mr_stream *r, mr_error *err, uint64_t line, uint64_t row)
{
    mr_err_set(err, MR_E_PARSE, "record longer than %zu bytes (--max-record-bytes; missing line ends or an unterminated quote?)",
               r->o->max_record);
    return mr_stream_fail_at(r, err, MR_E_PARSE, line, row, 0, NULL);
}

static size_t csv_chunk_rows(const mr_stream *r)
{
    /* ~ a few MiB of input per chunk: depends on the input's width only */
    const size_t rows = r->ncols <= 32 ? 8192 : 262144 / r->ncols;
    return rows < 64 ? 64 : rows;
}

/* Index just after the last record end in p[0..n), which starts on a record
 * boundary; 0 if there is none. Record ends are found by the quote parity
 * (as in split mode below), and without a quote by one memrchr. */
static size_t last_boundary(const char *p, size_t n)
{
    if (!memchr(p, '"', n)) {
        const char *nl = memrchr(p, '\n', n);
        return nl ? (size_t)(nl - p) + 1 : 0;
    }
    int q = 0;
    size_t last = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '"')
            q ^= 1;
        else if (p[i] == '\n' && !q)
            last = i + 1;
    }
    return last;
}

/* Stream mode by bytes (no row count asked for): the chunk is the records
 * that end within the next chunk_bytes of input (a window that doubles while
 * it holds no record end). The calling thread only reads, looks for the last
 * record end, and hands its read buffer to the slot: the workers count the
 * records and lines, and the writer numbers them. A record longer than
 * max_record is cut at max_record + 2 bytes, where its decoder says so. */
static mr_status csv_cut_bytes(mr_stream *r, mr_slot *s, mr_error *err)
{
    const size_t chunk = (size_t)r->chunk_bytes;
    const size_t limit = r->o->max_record + 2;
    s->n_rows = 0;
    s->n_lines = 0;
    size_t want = chunk, end = 0;
    for (;;) {
        FORWARD_IF(mr_stream_fill(r, r->rpos, want, err));
        const size_t avail = r->rend - r->rpos;
        if (r->eof && avail <= want) {
            end = avail; /* the rest, the last record perhaps without '\n' */
            break;
        }
        if ((end = last_boundary(r->rbuf + r->rpos, want)) > 0)
            break;
        if (want >= limit) {
            end = limit; /* an over-long record: its decoder reports it */
            break;
        }
        want = 2 * want < limit ? 2 * want : limit;
    }
    if (end == 0)
        return MR_OK;
    /* the slot takes the read buffer; the rest moves to the slot's old one */
    char *const in = s->in;
    const size_t in_cap = s->in_cap, rest = r->rend - r->rpos - end;
    s->in = r->rbuf;
    s->in_cap = r->rcap;
    s->in_off = r->rpos;
    s->in_len = r->rpos + end;
    s->n_rows = 1; /* some: the job counts them */
    r->rbuf = in;
    r->rcap = in_cap;
    if (mr_buf_grow(&r->rbuf, &r->rcap, rest > MR_READ_SIZE ? rest : MR_READ_SIZE) != 0)
        return mr_err_set(err, MR_E_NOMEM, "out of memory");
    memcpy(r->rbuf, s->in + s->in_len, rest);
    r->rpos = 0;
    r->rend = rest;
    return MR_OK;
}

/* Stream mode: cut the next chunk of whole records (up to chunk_rows) into s.
 * When the cutter itself meets an error (an over-long record, a quote still
 * open at the end), s still gets the complete records before it, so that a
 * bad row among them is reported first, whatever the chunk size. */
static mr_status csv_cut(mr_stream *r, mr_slot *s, mr_error *err)
{
    if (!r->cut_rows)
        return csv_cut_bytes(r, s, err);
    uint64_t recs = 0, lines = 0;
    uint64_t rec_lines = 0; /* lines before the current record, within this chunk */
    size_t spos = r->rpos;
    size_t rec_start = r->rpos;
    mr_status st = MR_OK;
    s->n_rows = 0;
    while (recs < r->chunk_rows) {
        const uint64_t before = recs;
        spos += mr_csv_scan(&r->scan, r->rbuf + spos, r->rend - spos, 1, &recs, &lines);
        if (recs > before) { /* one record per call: spos is right after its '\n' */
            if (spos - rec_start - 1 > r->o->max_record) {
                recs--;
                st = too_long(r, err, r->lines + rec_lines + 1, r->rows_read + recs + 1);
                break;
            }
            rec_start = spos;
            rec_lines = lines;
            continue;
        }
        /* the buffer ends inside a record */
        if (spos - rec_start > r->o->max_record) {
            st = too_long(r, err, r->lines + rec_lines + 1, r->rows_read + recs + 1);
            break;
        }
        if (r->eof)
            break;
        const size_t off = spos - r->rpos, roff = rec_start - r->rpos;
        FORWARD_IF(mr_stream_fill(r, r->rpos, r->rend - r->rpos + MR_READ_SIZE, err));
        spos = r->rpos + off;
        rec_start = r->rpos + roff;
    }
    if (st == MR_OK && r->eof && spos == r->rend && spos > rec_start) {
        /* a last record without '\n' */
        if (mr_csv_scanner_in_quotes(&r->scan)) {
            mr_err_set(err, MR_E_PARSE, "unterminated quoted field at end of input (the record starts here)");
            st = mr_stream_fail_at(r, err, MR_E_PARSE, r->lines + rec_lines + 1, r->rows_read + recs + 1, 0, NULL);
        } else {
            recs++;
            rec_start = spos;
            rec_lines = lines;
        }
    }
    const size_t len = rec_start - r->rpos; /* whole records only */
    if (mr_buf_grow(&s->in, &s->in_cap, len + 1) != 0)
        return mr_err_set(err, MR_E_NOMEM, "out of memory");
    memcpy(s->in, r->rbuf + r->rpos, len);
    s->in_off = 0;
    s->in_len = len;
    s->n_rows = (size_t)recs;
    s->n_lines = rec_lines;
    r->rpos = rec_start;
    r->rows_read += recs;
    r->lines += rec_lines;
    return st;
}

/* Split mode: chunk k covers the raw bytes [a_k, a_k+1) with
 * a_k = data_start + k * chunk_bytes, and its records run from the first
 * record boundary at or after a_k to the first one at or after a_k+1. A
 * boundary is the byte after a '\n' outside quotes, found from index a_k - 1
 * on (so a cut that already sits on a boundary stays there); "outside quotes"
 * is the parity of the '"' bytes since data_start: exact for RFC 4180 input,
 * where a quote opens a field, closes it or is doubled inside it. A worker
 * does not know the parity at a_k - 1: it assumes s->parity and counts the
 * quotes of [a_k - 1, a_k+1 - 1) into s->range_parity; the writer, which
 * sees the chunks in order, redoes a chunk whose assumption was wrong. */
static mr_status csv_split(mr_stream *r, mr_error *err)
{
    (void)err;
    const uint64_t data = r->io->size - r->data_start;
    r->n_chunks = (data + r->chunk_bytes - 1) / r->chunk_bytes;
    return MR_OK;
}

/* Make s->in hold the input's bytes [base, min(to, size)). */
static mr_status fetch_to(const mr_stream *r, mr_slot *s, uint64_t base, uint64_t to)
{
    if (to > r->io->size)
        to = r->io->size;
    if (to <= base + s->in_len)
        return MR_OK;
    const size_t want = (size_t)(to - base);
    if (mr_buf_grow(&s->in, &s->in_cap, want + 1) != 0)
        return mr_err_set(&s->err, MR_E_NOMEM, "out of memory");
    size_t got;
    FORWARD_IF(mr_stream_read_at(r, s->in + s->in_len, want - s->in_len, base + s->in_len, &got, &s->err));
    s->in_len = want;
    return MR_OK;
}

/* The first record boundary at or after index `from` (quote parity `parity`
 * before it), reading on as needed; `limit` when there is none before it. */
static mr_status boundary(const mr_stream *r, mr_slot *s, uint64_t base, uint64_t from,
                          uint64_t limit, int parity, uint64_t *at)
{
    uint64_t i = from, step = 256; /* usually one record away: read on in growing steps */
    while (i < limit) {
        FORWARD_IF(fetch_to(r, s, base, limit - i > step ? i + step : limit));
        step *= 2;
        const uint64_t end = base + s->in_len < limit ? base + s->in_len : limit;
        for (; i < end; i++) {
            const char c = s->in[i - base];
            if (c == '"') {
                parity ^= 1;
            } else if (c == '\n' && !parity) {
                *at = i + 1;
                return MR_OK;
            }
        }
        if (end == r->io->size)
            break;
    }
    *at = limit;
    return MR_OK;
}

static int quote_parity(const char *p, size_t n)
{
    int q = 0;
    for (const char *e = p + n; (p = memchr(p, '"', (size_t)(e - p))) != NULL; p++)
        q ^= 1;
    return q;
}

static void csv_fetch(const mr_stream *r, mr_slot *s, mr_worker *w)
{
    (void)w;
    const uint64_t size = r->io->size, k = s->ticket;
    const uint64_t a = r->data_start + k * r->chunk_bytes;
    const uint64_t b = size - a > r->chunk_bytes ? a + r->chunk_bytes : size;
    const uint64_t base = k ? a - 1 : a;
    /* a record reaching further than this is too long (the decoder says so) */
    const uint64_t limit = b == size || size - b < r->o->max_record + 2 ? size : b + r->o->max_record + 2;
    s->in_len = 0;
    if (fetch_to(r, s, base, b) != MR_OK)
        goto failed;
    s->range_parity = b < size ? quote_parity(s->in, (size_t)(b - 1 - base)) : 0;
    uint64_t start = a, end = size;
    if (k && boundary(r, s, base, base, limit, s->parity, &start) != MR_OK)
        goto failed;
    if (b < size && boundary(r, s, base, b - 1, limit, s->parity ^ s->range_parity, &end) != MR_OK)
        goto failed;
    if (b < size && end == limit && fetch_to(r, s, base, limit) != MR_OK)
        goto failed;
    if (start > end)
        start = end; /* a wrong parity guess: redone by the writer */
    s->in_off = (size_t)(start - base);
    s->in_len = (size_t)(end - base);
    s->in_bytes = end - start;
    return;
failed:
    s->st = s->err.status ? s->err.status : MR_E_IO;
    mr_stream_fail_at(r, &s->err, s->st, 0, 0, 0, NULL);
}

/* Piped mode: a record ends at a '\n'; if it is inside quotes, the
 * decoder of the chunk ends inside quotes and says so. */
static size_t csv_record_end(const mr_stream *r, const char *p, size_t n, uint64_t at)
{
    (void)r;
    (void)at;
    const char *nl = memrchr(p, '\n', n);
    return nl ? (size_t)(nl - p) + 1 : 0;
}

static int grow_keep_end(mr_worker *w, size_t rows)
{
    if (rows <= w->keep_end_cap)
        return 0;
    size_t c = w->keep_end_cap ? 2 * w->keep_end_cap : 1024;
    while (c < rows)
        c *= 2;
    size_t *k = realloc(w->keep_end, c * sizeof *k);
    if (!k)
        return -1;
    w->keep_end = k;
    w->keep_end_cap = c;
    return 0;
}

static size_t csv_decode(const mr_stream *r, mr_slot *s, mr_worker *w, size_t row0)
{
    if (row0 == 0) {
        mr_csv_scanner_init(&w->sc, r->o->delim);
        w->pos = s->in_off;
        w->line = 1;
        w->keep_len = 0;
    }
    if (r->nkeep && grow_keep_end(w, row0 + MR_BLOCK) != 0)
        goto nomem;
    size_t nb = 0;
    while (nb < MR_BLOCK && w->pos < s->in_len) {
        uint64_t recs = 0, lines = 0;
        const char *rec = s->in + w->pos;
        const size_t used = mr_csv_scan(&w->sc, rec, s->in_len - w->pos, 1, &recs, &lines);
        const size_t len = recs ? used - 1 : used; /* without '\n' */
        const uint64_t row = row0 + nb + 1, line = w->line;
        if (len > r->o->max_record) {
            s->st = too_long(r, &s->err, line, row);
            return 0;
        }
        if (!recs && mr_csv_scanner_in_quotes(&w->sc) && s->cut_open) {
            s->open_end = 1; /* its cut was inside quotes: the writer carries this record on */
            s->open_from = w->pos;
            w->pos = s->in_len;
            break;
        }
        if (!recs && mr_csv_scanner_in_quotes(&w->sc)) {
            mr_err_set(&s->err, MR_E_PARSE, "unterminated quoted field at end of input (the record starts here)");
            s->st = mr_stream_fail_at(r, &s->err, MR_E_PARSE, line, row, 0, NULL);
            return 0;
        }
        s->unterminated = !recs; /* only the input's last record can end without '\n' */
        uint32_t bad = 0;
        const mr_status st = mr_csv_split(&w->fs, rec, len, r->o->delim, &bad);
        if (st != MR_OK) {
            mr_err_set(&s->err, st, st == MR_E_PARSE ? "malformed quoted field" : "out of memory");
            s->st = mr_stream_fail_at(r, &s->err, st, line, row, bad, NULL);
            return 0;
        }
        if (w->fs.n != r->ncols) {
            mr_err_set(&s->err, MR_E_SHAPE, "expected %zu fields, found %zu", r->ncols, w->fs.n);
            s->st = mr_stream_fail_at(r, &s->err, MR_E_SHAPE, line, row, 0, NULL);
            return 0;
        }
        for (size_t i = 0; i < r->npresent; i++) {
            const size_t f = r->present[i];
            const mr_field *fl = &w->fs.f[r->feat_col[f]];
            const mr_cell c = mr_decode_text(&r->dec, f, fl->p, fl->len, &w->x[f * MR_STRIDE + nb]);
            if (c == MR_CELL_VALUE)
                continue;
            if (c == MR_CELL_MISSING) {
                s->cnt.missing[f]++;
            } else if (c == MR_CELL_UNKNOWN) {
                mr_stream_count_unknown(s, f, row, fl->p, fl->len);
            } else {
                mr_stream_cell_error(r, s, c, f, line, row, (uint32_t)(r->feat_col[f] + 1), fl->p, fl->len);
                return 0;
            }
        }
        for (size_t k = 0; k < r->nkeep; k++) {
            const mr_field *fl = &w->fs.f[r->keep_col[k]];
            if (mr_csv_put_field(&w->keep, &w->keep_len, &w->keep_cap, fl->p, fl->len) != 0 ||
                mr_buf_grow(&w->keep, &w->keep_cap, w->keep_len + 1) != 0)
                goto nomem;
            w->keep[w->keep_len++] = ',';
        }
        if (r->nkeep)
            w->keep_end[row0 + nb] = w->keep_len;
        w->pos += used;
        w->line += lines;
        nb++;
    }
    s->n_lines = w->line - 1;
    return nb;
nomem:
    s->st = mr_err_set(&s->err, MR_E_NOMEM, "out of memory");
    return 0;
}

const mr_input_format mr_input_csv = {
    .name = "csv",
    .fmt = MR_FMT_CSV,
    .probe = NULL, /* the default */
    .header = csv_header,
    .chunk_rows = csv_chunk_rows,
    .cut = csv_cut,
    .split = csv_split,
    .fetch = csv_fetch,
    .record_end = csv_record_end,
    .decode = csv_decode,
};
