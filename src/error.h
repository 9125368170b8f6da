/* error.h — filling mr_error and keeping the happy path flat (zstd-shaped). */
#ifndef MR_ERROR_H
#define MR_ERROR_H

#include "marsreplay.h"

/* Set err->status and err->text (printf-style); other fields untouched.
 * `err` may be NULL. Returns `st` so callers can `return mr_err_set(...)`. */
mr_status mr_err_set(mr_error *err, mr_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Reset every field to empty. */
void mr_err_clear(mr_error *err);
/* Copy a string into a fixed field, truncating safely. */
void mr_err_field(char *dst, size_t cap, const char *src);
/* A name from the model or the data into a fixed field (mr_error.field),
 * escaped (escape.h) and truncated to fit. */
void mr_err_name(char *dst, size_t cap, const char *name);
/* Quote `s` (len bytes) for a message: escaped (escape.h: printable UTF-8
 * kept, anything else as \n, \xNN...), truncated to fit with "...". Always
 * NUL-terminates dst. */
void mr_err_quote(char *dst, size_t cap, const char *s, size_t len);

#define RETURN_IF(cond, st, err, ...) \
    do { if (cond) return mr_err_set((err), (st), __VA_ARGS__); } while (0)
#define FORWARD_IF(expr) \
    do { const mr_status mr_fwd_ = (expr); if (mr_fwd_ != MR_OK) return mr_fwd_; } while (0)

#endif
