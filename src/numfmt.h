/* numfmt.h — shortest round-trip double → text, Python repr style. */
#ifndef MR_NUMFMT_H
#define MR_NUMFMT_H

#include <stddef.h>

#define MR_FMT_MAX 32 /* buffer size that always suffices (no NUL written) */

/* Write v as Python's repr(float) does: the shortest digit string that reads
 * back to exactly v (closest to v when several have that length), in fixed
 * notation when the decimal exponent is in [-4, 16) ("0.1", "3.0",
 * "1000000000000000.0", "0.0001") and scientific otherwise ("1e-05",
 * "1.5e+16", "1.7976931348623157e+308", "5e-324"); "-0.0", "inf", "-inf",
 * "nan" (any NaN). Writes at most MR_FMT_MAX bytes, no terminating NUL;
 * returns the length. Thread-safe, locale-independent. */
size_t mr_format_double(double v, char *buf);

#endif
