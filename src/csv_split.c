/* csv_split.c — record scanning and field splitting (see csv_split.h). */
#include "csv_split.h"

#include <csv.h>
#include <stdlib.h>
#include <string.h>

/* Scanner states. A quote opens a quoted field only at the start of a field
 * (RFC 4180, libcsv's CSV_STRICT); inside, "" is a literal quote. */
enum { ST_FIELD_START, ST_UNQUOTED, ST_QUOTED, ST_QUOTE_SEEN };

void mr_csv_scanner_init(mr_csv_scanner *s, unsigned char delim)
{
    s->state = ST_FIELD_START;
    s->delim = delim;
}

int mr_csv_scanner_in_quotes(const mr_csv_scanner *s)
{
    return s->state == ST_QUOTED;
}

size_t mr_csv_scan(mr_csv_scanner *s, const char *buf, size_t len, size_t want,
                   uint64_t *records, uint64_t *lines)
{
    size_t pos = 0;
    size_t found = 0;
    while (pos < len && found < want) {
        if (s->state == ST_FIELD_START || s->state == ST_UNQUOTED) {
            /* Fast path: a record without a quote character costs two memchr. */
            const char *nl = memchr(buf + pos, '\n', len - pos);
            const size_t end = nl ? (size_t)(nl - buf) : len;
            const char *q = memchr(buf + pos, '"', end - pos);
            if (!q) {
                if (nl) {
                    pos = end + 1;
                    found++;
                    (*lines)++;
                    s->state = ST_FIELD_START;
                    continue;
                }
                /* partial record: resume later in the right state */
                s->state = buf[len - 1] == s->delim ? ST_FIELD_START : ST_UNQUOTED;
                pos = len;
                break;
            }
            const size_t qpos = (size_t)(q - buf);
            if (qpos > pos) {
                s->state = buf[qpos - 1] == s->delim ? ST_FIELD_START : ST_UNQUOTED;
                pos = qpos;
            }
        }
        /* Slow path: one byte at a time until out of the quoted region. */
        const unsigned char c = (unsigned char)buf[pos++];
        switch (s->state) {
        case ST_FIELD_START:
        case ST_UNQUOTED:
            if (c == '\n') {
                found++;
                (*lines)++;
                s->state = ST_FIELD_START;
            } else if (c == s->delim) {
                s->state = ST_FIELD_START;
            } else if (c == '"' && s->state == ST_FIELD_START) {
                s->state = ST_QUOTED;
            } else {
                s->state = ST_UNQUOTED; /* a stray quote here is libcsv's error to report */
            }
            break;
        case ST_QUOTED:
            if (c == '"')
                s->state = ST_QUOTE_SEEN;
            else if (c == '\n')
                (*lines)++;
            break;
        case ST_QUOTE_SEEN:
            if (c == '"') {
                s->state = ST_QUOTED;
            } else if (c == '\n') {
                found++;
                (*lines)++;
                s->state = ST_FIELD_START;
            } else if (c == s->delim) {
                s->state = ST_FIELD_START;
            } else {
                s->state = ST_UNQUOTED; /* malformed: libcsv reports it */
            }
            break;
        }
    }
    *records += found;
    return pos;
}

void mr_csv_fields_init(mr_csv_fields *fs)
{
    memset(fs, 0, sizeof *fs);
}

void mr_csv_fields_free(mr_csv_fields *fs)
{
    if (fs->parser) {
        csv_free(fs->parser);
        free(fs->parser);
    }
    free(fs->f);
    free(fs->arena);
    memset(fs, 0, sizeof *fs);
}

static int push_field(mr_csv_fields *fs, const char *p, size_t len)
{
    if (fs->n == fs->cap) {
        const size_t cap = fs->cap ? fs->cap * 2 : 64;
        mr_field *f = realloc(fs->f, cap * sizeof *f);
        if (!f)
            return -1;
        fs->f = f;
        fs->cap = cap;
    }
    fs->f[fs->n++] = (mr_field){ p, len };
    return 0;
}

/* libcsv callbacks: copy each field into the arena; pointers are fixed up
 * after parsing, because the arena may move while it grows. */
static void on_field(void *data, size_t len, void *ctx)
{
    mr_csv_fields *fs = ctx;
    if (fs->failed)
        return;
    if (fs->arena_len + len + 1 > fs->arena_cap) {
        size_t cap = fs->arena_cap ? fs->arena_cap : 256;
        while (cap < fs->arena_len + len + 1)
            cap *= 2;
        char *a = realloc(fs->arena, cap);
        if (!a) {
            fs->failed = 1;
            return;
        }
        fs->arena = a;
        fs->arena_cap = cap;
    }
    if (len)
        memcpy(fs->arena + fs->arena_len, data, len);
    /* store the offset in p for now */
    if (push_field(fs, (const char *)(uintptr_t)fs->arena_len, len) != 0)
        fs->failed = 1;
    fs->arena_len += len;
}

static void on_record(int c, void *ctx)
{
    (void)c;
    mr_csv_fields *fs = ctx;
    fs->records++; /* more than one: a bare '\r' split the record */
}

static int no_space(unsigned char c)
{
    (void)c;
    return 0; /* never trim: " 1" must stay " 1" (docs/SEMANTICS.md §3) */
}

/* After a parse error libcsv's state is not reset (csv_fini returns early):
 * start the next quoted record with a fresh parser. */
static void drop_parser(mr_csv_fields *fs)
{
    if (fs->parser) {
        csv_free(fs->parser);
        free(fs->parser);
        fs->parser = NULL;
    }
}

/* libcsv ends a record at a bare '\r', and skips one at a record's start:
 * for us a '\r' outside quotes is data, and with a quote in the record it
 * makes the record malformed. Returns the 1-based field holding such a
 * '\r', or 0. */
static uint32_t bare_cr_field(const char *rec, size_t len, unsigned char delim)
{
    uint32_t field = 1;
    int state = ST_FIELD_START;
    for (size_t i = 0; i < len; i++) {
        const unsigned char c = (unsigned char)rec[i];
        if (state == ST_QUOTED) {
            if (c == '"')
                state = ST_QUOTE_SEEN;
            continue;
        }
        if (c == '\r')
            return field;
        if (c == delim) {
            field++;
            state = ST_FIELD_START;
        } else if (c == '"') {
            state = state == ST_FIELD_START || state == ST_QUOTE_SEEN ? ST_QUOTED : ST_UNQUOTED;
        } else {
            state = ST_UNQUOTED;
        }
    }
    return 0;
}

static mr_status split_quoted(mr_csv_fields *fs, const char *rec, size_t len,
                              unsigned char delim, uint32_t *bad_field)
{
    if (memchr(rec, '\r', len)) {
        const uint32_t f = bare_cr_field(rec, len, delim);
        if (f) {
            *bad_field = f;
            return MR_E_PARSE;
        }
    }
    if (!fs->parser) {
        struct csv_parser *p = malloc(sizeof *p);
        if (!p || csv_init(p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
            free(p);
            return MR_E_NOMEM;
        }
        csv_set_space_func(p, no_space);
        fs->parser = p;
    }
    struct csv_parser *p = fs->parser;
    csv_set_delim(p, delim);
    fs->arena_len = 0;
    fs->failed = 0;
    fs->records = 0;
    const size_t used = csv_parse(p, rec, len, on_field, on_record, fs);
    if (used != len) { /* the field being parsed is the bad one; fini would submit it */
        *bad_field = (uint32_t)fs->n + 1;
        drop_parser(fs);
        return fs->failed ? MR_E_NOMEM : MR_E_PARSE;
    }
    const int fini = csv_fini(p, on_field, on_record, fs);
    if (fs->failed)
        return MR_E_NOMEM;
    /* libcsv ends a record at a bare '\r' too: inside one of our records
     * that is malformed input, not a second row. */
    if (fini != 0 || fs->records > 1) {
        *bad_field = (uint32_t)fs->n + (fini != 0);
        drop_parser(fs);
        return MR_E_PARSE;
    }
    for (size_t i = 0; i < fs->n; i++)
        fs->f[i].p = fs->arena + (uintptr_t)fs->f[i].p;
    return MR_OK;
}

mr_status mr_csv_split(mr_csv_fields *fs, const char *rec, size_t len, unsigned char delim,
                       uint32_t *bad_field)
{
    fs->n = 0;
    if (len && rec[len - 1] == '\r')
        len--; /* CRLF */
    if (memchr(rec, '"', len) == NULL) {
        const char *p = rec, *end = rec + len;
        for (;;) {
            const char *d = memchr(p, delim, (size_t)(end - p));
            const char *fe = d ? d : end;
            if (push_field(fs, p, (size_t)(fe - p)) != 0)
                return MR_E_NOMEM;
            if (!d)
                break;
            p = d + 1;
        }
        return MR_OK;
    }
    return split_quoted(fs, rec, len, delim, bad_field);
}
