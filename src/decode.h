/* decode.h — one input cell → the decoded feature value (docs/SEMANTICS.md §3, §4).
 *
 * The evaluators see one double per feature: NaN means missing (a missing
 * cell), anything else is the value (a categorical column gives the index of
 * the matching class). Every kind of term treats "missing" exactly as it
 * treats a NaN value, so this loses nothing. */
#ifndef MR_DECODE_H
#define MR_DECODE_H

#include <stddef.h>

#include "csv_split.h"
#include "model.h"

typedef enum {
    MR_CELL_VALUE = 0,   /* an ordinary value */
    MR_CELL_MISSING,     /* a missing token / NaN: *out is NaN */
    MR_CELL_UNKNOWN,     /* unseen categorical label, mapped per unknown mode */
    MR_CELL_BAD_NUMBER,  /* not a number (numeric column) */
    MR_CELL_MISSING_NOT_ALLOWED, /* missing while allow_missing is false */
    MR_CELL_INF_NOT_ALLOWED,     /* ±inf while allow_missing is false */
    MR_CELL_UNKNOWN_ERROR /* unseen label with MR_UNKNOWN_ERROR */
} mr_cell;

typedef struct mr_na_set {
    size_t n;
    mr_field *tok;     /* pointers into storage */
    char *storage;
} mr_na_set;

typedef struct mr_decoder {
    const mr_model *m;
    int unknown_mode;        /* mr_unknown_level */
    mr_na_set *na;           /* n_features sets */
} mr_decoder;

/* Parse a comma-separated token list ("" entries allowed: ",NA" = empty and
 * NA) into *set. MR_E_NOMEM only. */
mr_status mr_na_set_parse(mr_na_set *set, const char *list);
void mr_na_set_free(mr_na_set *set);

/* Decoder with `na_default` for every feature; mr_decoder_set_na overrides one. */
mr_status mr_decoder_init(mr_decoder *d, const mr_model *m, int unknown_mode,
                          const char *na_default);
mr_status mr_decoder_set_na(mr_decoder *d, size_t feature, const char *list);
void mr_decoder_free(mr_decoder *d);

/* Map each model feature to the column named as it is (names[0..n)), the
 * rule for CSV headers and Arrow fields: feat_col[f] = that column. Returns
 * MR_MAP_OK; MR_MAP_DUPLICATE when two columns share a name (selection by
 * name would be ambiguous: *a < *b are the two columns), checked first;
 * MR_MAP_MISSING when feature *a has no column. */
/* Column names sorted by (name, column), so that the duplicate check and each
 * name-to-column lookup cost O(log n): a hostile header may have a million
 * columns (bench/hostile.py). */
typedef struct mr_name_ref {
    const char *name;
    size_t len, col;
} mr_name_ref;
/* The index of names[0..n) (malloc'ed: free it), or NULL. */
mr_name_ref *mr_name_index(char *const *names, size_t n);
/* The first column named s[0..len), or n. */
size_t mr_name_find(const mr_name_ref *idx, size_t n, const char *s, size_t len);
/* A duplicate name: the earliest column i that repeats an earlier name, and
 * that name's first column *j; 0 if none (i is 1-based). */
size_t mr_name_first_duplicate(const mr_name_ref *idx, size_t n, size_t *j);

typedef enum { MR_MAP_OK = 0, MR_MAP_DUPLICATE, MR_MAP_MISSING, MR_MAP_NOMEM } mr_map_result;
mr_map_result mr_map_features(const mr_model *m, const char *const *names, size_t n,
                              size_t *feat_col, size_t *a, size_t *b);
/* The same over an index the caller already has (mr_name_index of the names). */
mr_map_result mr_map_features_idx(const mr_model *m, const mr_name_ref *idx, size_t n, size_t *feat_col,
                                  size_t *a, size_t *b);

/* 1 if one of v[0..n) is ±inf or NaN (the batch and Arrow paths' check of a
 * column that allows neither; one copy: target_clones' resolver symbols of
 * two static functions of one name collide under clang). */
int mr_any_nonfinite(const double *v, size_t n);

/* Decode text cell s[0..len) of feature f. */
mr_cell mr_decode_text(const mr_decoder *d, size_t f, const char *s, size_t len, double *out);
/* Decode a binary value (npy / raw f64): NaN is missing. */
mr_cell mr_decode_binary(const mr_decoder *d, size_t f, double raw, double *out);

#endif
