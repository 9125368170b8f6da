/* numparse.c — strict decimal → double with glibc-strtod-identical rounding.
 *
 * The grammar is validated here, while scanning; rounding is either exact by
 * construction (Clinger's fast path) or delegated to strtod_l in the "C"
 * locale on a canonical, bounded rewrite of the token:
 *
 *     [+-] D1..Dk [1] e [-]X        (k <= KEEP_DIGITS, no decimal point)
 *
 * Why the rewrite is exact: every double and every midpoint between two
 * adjacent doubles has at most 768 significant decimal digits (e.g. the
 * midpoint (2^53+1) * 2^-1075 just above DBL_MIN). Cutting the
 * significand after KEEP_DIGITS (>= 768) digits and appending one '1' when
 * a non-zero digit was cut keeps the value strictly on the same side of
 * every such midpoint, so the rounded result cannot change. Hence a fixed
 * stack buffer always suffices and no token is ever copied to the heap. The
 * rewrite also normalises the exponent (no int overflow however long the
 * exponent text is) and contains no decimal point, so even the fallback to
 * plain strtod (if newlocale failed) is locale-proof.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strtod_l, newlocale */
#endif

#include "numparse.h"

#include <errno.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

/* >= 768: the most significant digits any double or midpoint has. */
#define KEEP_DIGITS 800

/* Saturation bounds that keep point + exponent far from int64 overflow.
 * No token in memory has 1e15 digits, and an exponent past 1e17 outweighs
 * any digit count, so saturating changes no result. */
#define POS_CLAMP ((int64_t)1000000000000000)   /* 1e15 */
#define EXP_CLAMP ((int64_t)100000000000000000) /* 1e17 */

/* Clinger's fast path needs every double operation rounded once, in double. */
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
#define HAVE_FAST_PATH 1
#else
#define HAVE_FAST_PATH 0
#endif

static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale; /* (locale_t)0 if newlocale failed */

static void init_c_locale(void)
{
    /* glibc returns its static C locale object here: nothing is allocated. */
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* s[0..len) equals word (lower case) ignoring ASCII case. */
static int equals_nocase(const char *s, size_t len, const char *word)
{
    size_t i = 0;
    for (; i < len && word[i] != '\0'; i++)
        if (lower(s[i]) != word[i])
            return 0;
    return i == len && word[i] == '\0';
}

static int64_t clamp_count(size_t n)
{
    return n > (size_t)POS_CLAMP ? POS_CLAMP : (int64_t)n;
}

int mr_parse_double(const char *s, size_t len, double *out)
{
    static const double pow10[] = {
        1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    };
    static const uint64_t upow10[] = {
        1u, 10u, 100u, 1000u, 10000u, 100000u, 1000000u, 10000000u,
        100000000u, 1000000000u, 10000000000u, 100000000000u,
        1000000000000u, 10000000000000u, 100000000000000u,
        1000000000000000u, 10000000000000000u, 100000000000000000u,
        1000000000000000000u, 10000000000000000000u,
    };
    /* buf: sign, kept digits, sticky '1', "e-", up to 20 exponent digits, NUL */
    char buf[1 + KEEP_DIGITS + 1 + 2 + 20 + 1];
    char *dig = buf + 1;
    size_t i = 0;
    int neg = 0;

    if (s == NULL || out == NULL || len == 0)
        return -1;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        i = 1;
    }
    if (i < len && lower(s[i]) == 'i') {
        if (!equals_nocase(s + i, len - i, "inf") &&
            !equals_nocase(s + i, len - i, "infinity"))
            return -1;
        *out = neg ? -INFINITY : INFINITY;
        return 0;
    }

    /* Significand. nsig counts digits from the first non-zero one; nz is
     * nsig as of the last non-zero digit (so trailing zeros are free). */
    size_t nsig = 0, nz = 0, ndigits;
    uint64_t w = 0;          /* first min(nsig, 19) significant digits */
    int64_t point;           /* value = 0.D1D2... * 10^point */
    size_t int_start = i;
    for (; i < len && is_digit(s[i]); i++) {
        if (nsig == 0 && s[i] == '0')
            continue;
        if (nsig < KEEP_DIGITS)
            dig[nsig] = s[i];
        if (nsig < 19)
            w = w * 10 + (uint64_t)(s[i] - '0');
        nsig++;
        if (s[i] != '0')
            nz = nsig;
    }
    ndigits = i - int_start;
    point = clamp_count(nsig); /* significant digits before the point */
    if (i < len && s[i] == '.') {
        size_t frac_start = ++i;
        for (; i < len && is_digit(s[i]); i++) {
            if (nsig == 0 && s[i] == '0') {
                point = -clamp_count(i - frac_start + 1);
                continue;
            }
            if (nsig < KEEP_DIGITS)
                dig[nsig] = s[i];
            if (nsig < 19)
                w = w * 10 + (uint64_t)(s[i] - '0');
            nsig++;
            if (s[i] != '0')
                nz = nsig;
        }
        ndigits += i - frac_start;
    }
    if (ndigits == 0)
        return -1; /* "", ".", "+", "e5", ".e1" */

    /* Exponent, saturated at EXP_CLAMP (then the result is 0 or inf). */
    int64_t ev = 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        int eneg = 0;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-')) {
            eneg = s[i] == '-';
            i++;
        }
        size_t exp_start = i;
        for (; i < len && is_digit(s[i]); i++)
            if (ev < EXP_CLAMP)
                ev = ev * 10 + (s[i] - '0');
        if (i == exp_start)
            return -1; /* "1e", "1e+" */
        if (eneg)
            ev = -ev;
    }
    if (i != len)
        return -1; /* trailing junk, spaces, embedded NUL, ... */

    if (nz == 0) {
        *out = neg ? -0.0 : 0.0;
        return 0;
    }
    int64_t e10 = point + ev; /* value = 0.D1D2... * 10^e10, D1 != 0 */
    if (e10 > 310) { /* value >= 10^310 > DBL_MAX */
        *out = neg ? -INFINITY : INFINITY;
        return 0;
    }
    if (e10 < -330) { /* value < 10^-330, below half the least subnormal */
        *out = neg ? -0.0 : 0.0;
        return 0;
    }

#if HAVE_FAST_PATH
    /* Clinger: an exact integer <= 2^53 times or over an exact power of ten
     * is one correctly rounded IEEE operation. */
    if (nz <= 19) {
        uint64_t m = w / upow10[(nsig < 19 ? nsig : 19) - nz];
        int64_t q = e10 - (int64_t)nz; /* value = m * 10^q */
        if (m <= ((uint64_t)1 << 53) && q >= -22 && q <= 22) {
            double d = (double)m;
            d = q < 0 ? d / pow10[-q] : d * pow10[q];
            *out = neg ? -d : d;
            return 0;
        }
    }
#endif

    /* Canonical rewrite for strtod_l (see the file comment). */
    size_t k = nz < KEEP_DIGITS ? nz : KEEP_DIGITS;
    if (nz > KEEP_DIGITS)
        dig[k++] = '1'; /* sticky: a non-zero digit was cut */
    buf[0] = neg ? '-' : '+';
    char *p = dig + k;
    int64_t x = e10 - (int64_t)k; /* value = D1..Dk * 10^x, |x| < 1200 */
    *p++ = 'e';
    if (x < 0) {
        *p++ = '-';
        x = -x;
    }
    char tmp[20];
    int nt = 0;
    do {
        tmp[nt++] = (char)('0' + x % 10);
        x /= 10;
    } while (x > 0);
    while (nt > 0)
        *p++ = tmp[--nt];
    *p = '\0';

    pthread_once(&c_locale_once, init_c_locale);
    int saved_errno = errno; /* strtod's ERANGE is not part of our contract */
    char *end;
    double d = c_locale != (locale_t)0 ? strtod_l(buf, &end, c_locale)
                                       : strtod(buf, &end);
    errno = saved_errno;
    if (end != p)
        return -1; /* cannot happen: buf is well-formed by construction */
    *out = d;
    return 0;
}
