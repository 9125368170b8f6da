/* numparse.h — strict decimal → double (docs/SEMANTICS.md §3 number grammar). */
#ifndef MR_NUMPARSE_H
#define MR_NUMPARSE_H

#include <stddef.h>

/* Parse s[0..len) (not NUL-terminated) as one number of the grammar
 *   [+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?   or   [+-]?(inf|infinity) in any case
 * with correct rounding (identical to glibc strtod in the C locale: subnormals,
 * overflow to ±inf, "-0" is -0.0). No NaN spelling, no hex, no spaces.
 * Returns 0 and stores *out, or -1 (nothing stored) when the text is not such
 * a number. Thread-safe, locale-independent, never allocates. */
int mr_parse_double(const char *s, size_t len, double *out);

#endif
