/* csv_split.h — CSV records and fields.
 *
 * Two steps, so that chunking can run on the reading thread and field
 * splitting on the workers:
 *  1. mr_csv_scan finds record ends (a '\n' outside quotes), carrying its
 *     quote state across buffer boundaries;
 *  2. mr_csv_split cuts one record (without its '\n'; a trailing '\r' is
 *     dropped) into fields. A record containing no quote character is split
 *     on the delimiter directly; a quoted record goes through libcsv in
 *     strict mode with no whitespace trimming. Both give the same fields for
 *     the same bytes (tests/test_csv_split.c checks it). */
#ifndef MR_CSV_SPLIT_H
#define MR_CSV_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "marsreplay.h"

typedef struct mr_csv_scanner {
    int state;          /* quote state machine, see csv_split.c */
    unsigned char delim;
} mr_csv_scanner;

void mr_csv_scanner_init(mr_csv_scanner *s, unsigned char delim);

/* Scan buf[0..len) from a record boundary or from where the previous call
 * stopped. Stops right after the `want`-th record end or at len. Returns the
 * bytes consumed; adds the record ends found to *records and every '\n'
 * consumed to *lines. */
size_t mr_csv_scan(mr_csv_scanner *s, const char *buf, size_t len, size_t want,
                   uint64_t *records, uint64_t *lines);

/* 1 if the scanner stopped inside a quoted field (an unterminated quote at EOF). */
int mr_csv_scanner_in_quotes(const mr_csv_scanner *s);

typedef struct mr_field {
    const char *p;
    size_t len;
} mr_field;

typedef struct mr_csv_fields {
    mr_field *f;          /* fields of the last split record */
    size_t n, cap;
    char *arena;          /* unquoted copies of quoted fields */
    size_t arena_len, arena_cap;
    void *parser;         /* struct csv_parser *, created on first quoted record */
    int failed;           /* internal: allocation failure in a libcsv callback */
    int records;          /* internal: records libcsv reported */
} mr_csv_fields;

void mr_csv_fields_init(mr_csv_fields *fs);
void mr_csv_fields_free(mr_csv_fields *fs);

/* Split rec[0..len) into fs->f[0..fs->n). Field pointers stay valid until the
 * next call (they point into rec or into fs->arena). Returns MR_OK, MR_E_PARSE
 * (malformed quoting: *bad_field is the 1-based field where it was noticed) or
 * MR_E_NOMEM. */
mr_status mr_csv_split(mr_csv_fields *fs, const char *rec, size_t len, unsigned char delim,
                       uint32_t *bad_field);

#endif
