/* error.c — mr_error helpers and mr_strerror. */
#include "error.h"

#include "escape.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

mr_status mr_err_set(mr_error *err, mr_status st, const char *fmt, ...)
{
    if (err) {
        err->status = st;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->text, sizeof err->text, fmt, ap);
        va_end(ap);
    }
    return st;
}

void mr_err_clear(mr_error *err)
{
    if (err)
        memset(err, 0, sizeof *err);
}

void mr_err_field(char *dst, size_t cap, const char *src)
{
    if (!cap)
        return;
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

void mr_err_name(char *dst, size_t cap, const char *name)
{
    mr_escape(dst, cap, name ? name : "", name ? strlen(name) : 0);
}

void mr_err_quote(char *dst, size_t cap, const char *s, size_t len)
{
    mr_escape(dst, cap, s, len);
}

const char *mr_strerror(mr_status s)
{
    switch (s) {
    case MR_OK: return "success";
    case MR_AGAIN: return "output buffer full";
    case MR_E_NOMEM: return "out of memory";
    case MR_E_IO: return "I/O error";
    case MR_E_MODEL: return "invalid model";
    case MR_E_PARSE: return "cannot parse input";
    case MR_E_SHAPE: return "input does not fit the model";
    case MR_E_BACKEND: return "backend failure";
    case MR_E_INVAL: return "invalid argument";
    case MR_E_DATA: return "value not allowed by the model";
    case MR_E_INTERNAL: return "internal error";
    case MR_E_VERSION: return "library version mismatch";
    }
    return "unknown status";
}
