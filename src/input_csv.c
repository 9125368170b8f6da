/* input_csv.c — CSV input: the header (names → features, kept columns,
 * per-column missing tokens), cutting chunks of whole records, and the
 * worker's parse + decode of one chunk. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "stream_internal.h"

/* Read the CSV header (or take the names given), map features and kept
 * columns to fields, set per-column missing tokens. */
mr_status mr_csv_input_header(run *r, mr_error *err)
{
    const mr_model *m = r->m;
    mr_csv_scanner_init(&r->scan, r->o->delim);
    /* UTF-8 BOM */
    if (r->rend - r->rpos >= 3 && memcmp(r->rbuf + r->rpos, "\xEF\xBB\xBF", 3) == 0)
        r->rpos += 3;
    char **names = NULL;
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
            FORWARD_IF(mr_stream_fill(r, r->rpos, r->rend - r->rpos + READ_SIZE, err));
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
        for (size_t i = 0; i < nnames; i++)
            if (!(names[i] = strndup(fs.f[i].p, fs.f[i].len)))
                goto nomem;
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
    /* duplicate names make selection by name ambiguous */
    for (size_t i = 0; i < nnames; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(names[i], names[j]) == 0) {
                char q[96];
                mr_err_quote(q, sizeof q, names[i], strlen(names[i]));
                mr_err_set(err, MR_E_SHAPE, "duplicate column name \"%s\" (columns %zu and %zu)", q, j + 1, i + 1);
                mr_stream_fail_at(r, err, MR_E_SHAPE, r->o->header ? 1 : 0, 0, (uint32_t)(i + 1), names[i]);
                st = MR_E_SHAPE;
                goto out;
            }
    r->feat_col = calloc(m->n_features ? m->n_features : 1, sizeof *r->feat_col);
    if (!r->feat_col)
        goto nomem;
    for (size_t f = 0; f < m->n_features; f++) {
        size_t c = 0;
        while (c < nnames && strcmp(names[c], m->feature_names[f]) != 0)
            c++;
        if (c == nnames) {
            char q[96];
            mr_err_quote(q, sizeof q, m->feature_names[f], strlen(m->feature_names[f]));
            mr_err_set(err, MR_E_SHAPE, "model feature column \"%s\" is missing from the %s", q,
                       r->o->header ? "header" : "column names");
            mr_stream_fail_at(r, err, MR_E_SHAPE, r->o->header ? 1 : 0, 0, 0, m->feature_names[f]);
            st = MR_E_SHAPE;
            goto out;
        }
        r->feat_col[f] = c;
    }
    if (r->o->keep) {
        if (!(r->keep_names = mr_split_list(r->o->keep, &r->nkeep)))
            goto nomem;
        r->keep_col = calloc(r->nkeep, sizeof *r->keep_col);
        if (!r->keep_col)
            goto nomem;
        for (size_t k = 0; k < r->nkeep; k++) {
            size_t c = 0;
            while (c < nnames && strcmp(names[c], r->keep_names[k]) != 0)
                c++;
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
        size_t c = 0;
        while (c < nnames && (strlen(names[c]) != (size_t)(eq - spec) ||
                              memcmp(names[c], spec, (size_t)(eq - spec)) != 0))
            c++;
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
    mr_free_list(names, nnames);
    mr_csv_fields_free(&fs);
    return st;
}

static mr_status too_long(run *r, mr_error *err, uint64_t line, uint64_t row)
{
    mr_err_set(err, MR_E_PARSE, "record longer than %zu bytes (--max-record-bytes; missing line ends or an unterminated quote?)",
               r->o->max_record);
    return mr_stream_fail_at(r, err, MR_E_PARSE, line, row, 0, NULL);
}

/* Cut the next chunk of whole records (up to chunk_rows) into s. When the
 * cutter itself meets an error (an over-long record, a quote still open at
 * the end), s still gets the complete records before it, so that a bad row
 * among them is reported first, whatever the chunk size. */
mr_status mr_csv_input_chunk(run *r, slot *s, mr_error *err)
{
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
        FORWARD_IF(mr_stream_fill(r, r->rpos, r->rend - r->rpos + READ_SIZE, err));
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
    s->in_len = len;
    s->first_row = r->rows_read;
    s->first_line = r->lines + 1;
    s->n_rows = (size_t)recs;
    r->rpos = rec_start;
    r->rows_read += recs;
    r->lines += rec_lines;
    return st;
}

void mr_csv_input_job(run *r, slot *s, work *w)
{
    mr_csv_scanner sc;
    mr_csv_scanner_init(&sc, r->o->delim);
    size_t pos = 0;
    uint64_t line = s->first_line;
    size_t nb = 0; /* rows in the current block */
    w->keep_len = 0;
    for (size_t i = 0; i < s->n_rows; i++) {
        uint64_t recs = 0, lines = 0;
        const size_t used = mr_csv_scan(&sc, s->in + pos, s->in_len - pos, 1, &recs, &lines);
        const size_t len = recs ? used - 1 : used; /* without '\n' */
        const uint64_t row = s->first_row + i + 1;
        uint32_t bad = 0;
        const mr_status st = mr_csv_split(&w->fs, s->in + pos, len, r->o->delim, &bad);
        if (st != MR_OK) {
            s->st = st;
            if (st == MR_E_PARSE)
                mr_err_set(&s->err, st, "malformed quoted field");
            else
                mr_err_set(&s->err, st, "out of memory");
            mr_stream_fail_at(r, &s->err, st, line, row, bad, NULL);
            return;
        }
        if (w->fs.n != r->ncols) {
            s->st = MR_E_SHAPE;
            mr_err_set(&s->err, MR_E_SHAPE, "expected %zu fields, found %zu", r->ncols, w->fs.n);
            mr_stream_fail_at(r, &s->err, MR_E_SHAPE, line, row, 0, NULL);
            return;
        }
        for (size_t f = 0; f < r->m->n_features; f++) {
            const mr_field *fl = &w->fs.f[r->feat_col[f]];
            double *x = &w->x[f * MR_STRIDE + nb];
            const mr_cell c = mr_decode_text(&r->dec, f, fl->p, fl->len, x);
            if (c == MR_CELL_VALUE)
                continue;
            if (c == MR_CELL_MISSING) {
                s->cnt.missing[f]++;
            } else if (c == MR_CELL_UNKNOWN) {
                mr_stream_count_unknown(s, f, row, fl->p, fl->len);
            } else {
                mr_stream_cell_error(r, s, c, f, line, row, (uint32_t)(r->feat_col[f] + 1), fl->p, fl->len);
                return;
            }
        }
        for (size_t k = 0; k < r->nkeep; k++) {
            const mr_field *fl = &w->fs.f[r->keep_col[k]];
            if (mr_csv_put_field(&w->keep, &w->keep_len, &w->keep_cap, fl->p, fl->len) != 0 ||
                mr_buf_grow(&w->keep, &w->keep_cap, w->keep_len + 1) != 0)
                goto nomem;
            w->keep[w->keep_len++] = ',';
        }
        w->keep_end[nb] = w->keep_len;
        pos += used;
        line += lines;
        if (++nb == MR_BLOCK || i + 1 == s->n_rows) {
            if (mr_output_rows(r, s, w, nb) != 0)
                goto nomem;
            nb = 0;
            w->keep_len = 0;
        }
    }
    s->rows_done = s->n_rows;
    return;
nomem:
    s->st = mr_err_set(&s->err, MR_E_NOMEM, "out of memory");
}
