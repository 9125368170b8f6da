/* numfmt.c — shortest round-trip double → text, laid out like repr(float).
 *
 * Deliberately simple (it is the oracle for a faster formatter): glibc's
 * printf("%.*e") gives the correctly rounded p-digit decimal c_p, the p-digit
 * decimal closest to v; strtod_l tells whether it reads back as v.
 *
 *  - Normal v: by Matula's theorem (10^15 < 2^52, i.e. DBL_DIG = 15) at most
 *    one 15-digit decimal reads back as v, and if one does it is c_15. Any
 *    shorter string that reads back is that one with trailing zeros, so
 *    "c_15 round-trips" decides every length <= 15 at once. Otherwise try
 *    c_16, then c_17 (17 digits always round-trip).
 *  - Subnormal v: fewer bits, so Matula does not apply; try p = 1, 2, ...
 *  - Why c_p is enough: the decimals that read back as v form an interval
 *    around v, so if any p-digit one does, the closest (c_p) does too —
 *    except when v is a power of two, whose interval is twice as wide above
 *    as below. There c_p may lie just outside on the narrow side while its
 *    neighbour on the wide side is inside, so that neighbour is tried too.
 *  This yields the shortest digits, closest to v among the shortest, which
 *  is what repr (David Gay's dtoa mode 0) prints. Assumes round-to-nearest.
 *
 * Locale: printf runs under uselocale(C) (thread-local switch), the digits
 * are picked out ignoring whatever separates them, and the read-back string
 * has no decimal point at all.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strtod_l, newlocale, uselocale */
#endif

#include "numfmt.h"

#include <errno.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DIGITS 17

static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale; /* (locale_t)0 if newlocale failed */

static void init_c_locale(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* A decimal D1.D2..Dn * 10^e with n = p digits (trailing zeros allowed). */
struct dec {
    char d[MAX_DIGITS];
    int n;
    int e;
};

/* c_p for v > 0: the correctly rounded p-significant-digit decimal. */
static void round_to(double v, int p, struct dec *out)
{
    char tmp[64];
    locale_t old = (locale_t)0;

    if (c_locale != (locale_t)0)
        old = uselocale(c_locale);
    snprintf(tmp, sizeof tmp, "%.*e", p - 1, v);
    if (c_locale != (locale_t)0)
        uselocale(old);

    /* "D.DDDDe±XX"; skip any non-digit decimal separator up to the 'e'. */
    const char *c = tmp;
    out->n = 0;
    for (; *c != '\0' && *c != 'e'; c++)
        if (*c >= '0' && *c <= '9' && out->n < MAX_DIGITS)
            out->d[out->n++] = *c;
    int eneg = 0, e = 0;
    if (*c == 'e')
        c++;
    if (*c == '+' || *c == '-')
        eneg = *c++ == '-';
    for (; *c >= '0' && *c <= '9'; c++)
        e = e * 10 + (*c - '0');
    out->e = eneg ? -e : e;
}

/* The value of x, rounded to double (always positive here). */
static double read_back(const struct dec *x)
{
    char tmp[MAX_DIGITS + 8];
    int n = x->n;

    memcpy(tmp, x->d, (size_t)n);
    snprintf(tmp + n, sizeof tmp - (size_t)n, "e%d", x->e - (n - 1));
    int saved_errno = errno; /* ERANGE on subnormals is no error to us */
    double r = c_locale != (locale_t)0 ? strtod_l(tmp, NULL, c_locale)
                                       : strtod(tmp, NULL); /* no '.' in tmp */
    errno = saved_errno;
    return r;
}

/* Next p-digit decimal above (up) or below x, in place. */
static void step(struct dec *x, int up)
{
    int i = x->n - 1;
    if (up) {
        while (i >= 0 && x->d[i] == '9')
            x->d[i--] = '0';
        if (i >= 0) {
            x->d[i]++;
        } else { /* 99..9 -> 100..0, one decade up */
            x->d[0] = '1';
            x->e++;
        }
    } else {
        while (i >= 0 && x->d[i] == '0')
            x->d[i--] = '9';
        x->d[i]--; /* i >= 0: x is non-zero */
        if (x->d[0] == '0') { /* 100..0 -> 99..9, one decade down */
            memset(x->d, '9', (size_t)x->n);
            x->e--;
        }
    }
}

/* Shortest, closest decimal reading back as v (finite, v > 0). */
static void shortest(double v, struct dec *out)
{
    int exp2;
    int pow2 = frexp(v, &exp2) == 0.5 && v > DBL_MIN; /* asymmetric gaps */
    int p = v < DBL_MIN ? 1 : 15;

    for (; p <= MAX_DIGITS; p++) {
        round_to(v, p, out);
        if (p == MAX_DIGITS)
            break; /* 17 digits always round-trip */
        double r = read_back(out);
        if (r == v)
            break;
        if (pow2) {
            struct dec alt = *out;
            step(&alt, r < v);
            if (read_back(&alt) == v) {
                *out = alt;
                break;
            }
        }
    }
    while (out->n > 1 && out->d[out->n - 1] == '0')
        out->n--;
}

size_t mr_format_double(double v, char *buf)
{
    size_t n = 0;

    if (isnan(v)) {
        memcpy(buf, "nan", 3);
        return 3;
    }
    if (signbit(v)) {
        buf[n++] = '-';
        v = -v;
    }
    if (isinf(v)) {
        memcpy(buf + n, "inf", 3);
        return n + 3;
    }
    if (v == 0) {
        memcpy(buf + n, "0.0", 3);
        return n + 3;
    }

    pthread_once(&c_locale_once, init_c_locale);
    struct dec x;
    shortest(v, &x);

    if (x.e >= -4 && x.e < 16) {
        if (x.e >= 0) { /* DDD.DD, DDD00.0 */
            int nint = x.e + 1;
            for (int i = 0; i < nint; i++)
                buf[n++] = i < x.n ? x.d[i] : '0';
            buf[n++] = '.';
            if (x.n > nint) {
                memcpy(buf + n, x.d + nint, (size_t)(x.n - nint));
                n += (size_t)(x.n - nint);
            } else {
                buf[n++] = '0';
            }
        } else { /* 0.000DDD */
            buf[n++] = '0';
            buf[n++] = '.';
            for (int i = 0; i < -x.e - 1; i++)
                buf[n++] = '0';
            memcpy(buf + n, x.d, (size_t)x.n);
            n += (size_t)x.n;
        }
    } else { /* D.DDDe±XX */
        buf[n++] = x.d[0];
        if (x.n > 1) {
            buf[n++] = '.';
            memcpy(buf + n, x.d + 1, (size_t)(x.n - 1));
            n += (size_t)(x.n - 1);
        }
        buf[n++] = 'e';
        int e = x.e;
        buf[n++] = e < 0 ? '-' : '+';
        if (e < 0)
            e = -e;
        if (e >= 100)
            buf[n++] = (char)('0' + e / 100);
        buf[n++] = (char)('0' + e / 10 % 10);
        buf[n++] = (char)('0' + e % 10);
    }
    return n; /* <= 24: "-" + 17 digits + "." + "e-308" */
}
