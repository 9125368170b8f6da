/* num_oracle.h — test oracles for numparse.c and numfmt.c.
 *
 * These are the previous, deliberately simple implementations, kept verbatim
 * in substance (only renamed): every result comes from glibc's strtod_l and
 * printf in the "C" locale, with no arithmetic of our own that could round
 * wrongly. They are slow (strtod on every parse; up to three printf +
 * strtod rounds per format) and serve only to check the fast code.
 *
 * Header-only (every function static inline), so that a test includes it
 * without any change to the build.
 *
 *   int    oracle_parse_double(const char *s, size_t len, double *out);
 *   size_t oracle_format_double(double v, char *buf);   (MR_FMT_MAX bytes)
 *
 * Same contracts as mr_parse_double and mr_format_double.
 */
#ifndef MR_NUM_ORACLE_H
#define MR_NUM_ORACLE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strtod_l, newlocale, uselocale */
#endif

#include <errno.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t oracle_once_ = PTHREAD_ONCE_INIT;
static locale_t oracle_loc_; /* (locale_t)0 if newlocale failed */

static inline void oracle_init_(void)
{
    oracle_loc_ = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static inline locale_t oracle_c_locale_(void)
{
    pthread_once(&oracle_once_, oracle_init_);
    return oracle_loc_;
}

/* ---- parse: grammar check, then strtod_l on a canonical rewrite -------- */

/* Every double and every midpoint between two adjacent doubles has at most
 * 768 significant decimal digits, so cutting the significand after 800 and
 * appending a sticky '1' when a non-zero digit was cut cannot change the
 * rounding. The rewrite has no decimal point and a normalised exponent. */
#define ORACLE_KEEP_DIGITS 800
#define ORACLE_POS_CLAMP ((int64_t)1000000000000000)   /* 1e15 */
#define ORACLE_EXP_CLAMP ((int64_t)100000000000000000) /* 1e17 */

static inline int oracle_is_digit_(char c)
{
    return c >= '0' && c <= '9';
}

static inline char oracle_lower_(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static inline int oracle_equals_nocase_(const char *s, size_t len, const char *word)
{
    size_t i = 0;
    for (; i < len && word[i] != '\0'; i++)
        if (oracle_lower_(s[i]) != word[i])
            return 0;
    return i == len && word[i] == '\0';
}

static inline int64_t oracle_clamp_(size_t n)
{
    return n > (size_t)ORACLE_POS_CLAMP ? ORACLE_POS_CLAMP : (int64_t)n;
}

static inline int oracle_parse_double(const char *s, size_t len, double *out)
{
    char buf[1 + ORACLE_KEEP_DIGITS + 1 + 2 + 20 + 1];
    char *dig = buf + 1;
    size_t i = 0;
    int neg = 0;

    if (s == NULL || out == NULL || len == 0)
        return -1;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        i = 1;
    }
    if (i < len && oracle_lower_(s[i]) == 'i') {
        if (!oracle_equals_nocase_(s + i, len - i, "inf") &&
            !oracle_equals_nocase_(s + i, len - i, "infinity"))
            return -1;
        *out = neg ? -INFINITY : INFINITY;
        return 0;
    }

    size_t nsig = 0, nz = 0, ndigits;
    int64_t point;
    size_t int_start = i;
    for (; i < len && oracle_is_digit_(s[i]); i++) {
        if (nsig == 0 && s[i] == '0')
            continue;
        if (nsig < ORACLE_KEEP_DIGITS)
            dig[nsig] = s[i];
        nsig++;
        if (s[i] != '0')
            nz = nsig;
    }
    ndigits = i - int_start;
    point = oracle_clamp_(nsig);
    if (i < len && s[i] == '.') {
        size_t frac_start = ++i;
        for (; i < len && oracle_is_digit_(s[i]); i++) {
            if (nsig == 0 && s[i] == '0') {
                point = -oracle_clamp_(i - frac_start + 1);
                continue;
            }
            if (nsig < ORACLE_KEEP_DIGITS)
                dig[nsig] = s[i];
            nsig++;
            if (s[i] != '0')
                nz = nsig;
        }
        ndigits += i - frac_start;
    }
    if (ndigits == 0)
        return -1;

    int64_t ev = 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        int eneg = 0;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-')) {
            eneg = s[i] == '-';
            i++;
        }
        size_t exp_start = i;
        for (; i < len && oracle_is_digit_(s[i]); i++)
            if (ev < ORACLE_EXP_CLAMP)
                ev = ev * 10 + (s[i] - '0');
        if (i == exp_start)
            return -1;
        if (eneg)
            ev = -ev;
    }
    if (i != len)
        return -1;

    if (nz == 0) {
        *out = neg ? -0.0 : 0.0;
        return 0;
    }
    int64_t e10 = point + ev; /* value = 0.D1D2... * 10^e10 */
    if (e10 > 310) {
        *out = neg ? -INFINITY : INFINITY;
        return 0;
    }
    if (e10 < -330) {
        *out = neg ? -0.0 : 0.0;
        return 0;
    }

    size_t k = nz < ORACLE_KEEP_DIGITS ? nz : ORACLE_KEEP_DIGITS;
    if (nz > ORACLE_KEEP_DIGITS)
        dig[k++] = '1';
    buf[0] = neg ? '-' : '+';
    char *p = dig + k;
    int64_t x = e10 - (int64_t)k;
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

    locale_t loc = oracle_c_locale_();
    int saved_errno = errno;
    char *end;
    double d = loc != (locale_t)0 ? strtod_l(buf, &end, loc) : strtod(buf, &end);
    errno = saved_errno;
    if (end != p)
        return -1;
    *out = d;
    return 0;
}

/* ---- format: the shortest printf("%.*e") that strtod reads back -------- *
 *
 *  - Normal v: by Matula's theorem (10^15 < 2^52) at most one 15-digit
 *    decimal reads back as v, and if one does it is c_15, the correctly
 *    rounded one. Otherwise try c_16, then c_17 (always round-trips).
 *  - Subnormal v: fewer bits, so try p = 1, 2, ...
 *  - The decimals that read back form an interval around v, so if any
 *    p-digit one does, c_p does too — except when v is a power of two,
 *    whose interval is twice as wide above as below; there the neighbour of
 *    c_p on the wide side is tried too. */

#define ORACLE_MAX_DIGITS 17

struct oracle_dec_ {
    char d[ORACLE_MAX_DIGITS];
    int n;
    int e; /* value = d1.d2..dn * 10^e */
};

static inline void oracle_round_to_(double v, int p, struct oracle_dec_ *out)
{
    char tmp[64];
    locale_t loc = oracle_c_locale_(), old = (locale_t)0;

    if (loc != (locale_t)0)
        old = uselocale(loc);
    snprintf(tmp, sizeof tmp, "%.*e", p - 1, v);
    if (loc != (locale_t)0)
        uselocale(old);

    const char *c = tmp;
    out->n = 0;
    for (; *c != '\0' && *c != 'e'; c++)
        if (*c >= '0' && *c <= '9' && out->n < ORACLE_MAX_DIGITS)
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

static inline double oracle_read_back_(const struct oracle_dec_ *x)
{
    char tmp[ORACLE_MAX_DIGITS + 8];
    int n = x->n;
    locale_t loc = oracle_c_locale_();

    memcpy(tmp, x->d, (size_t)n);
    snprintf(tmp + n, sizeof tmp - (size_t)n, "e%d", x->e - (n - 1));
    int saved_errno = errno;
    double r = loc != (locale_t)0 ? strtod_l(tmp, NULL, loc) : strtod(tmp, NULL);
    errno = saved_errno;
    return r;
}

static inline void oracle_step_(struct oracle_dec_ *x, int up)
{
    int i = x->n - 1;
    if (up) {
        while (i >= 0 && x->d[i] == '9')
            x->d[i--] = '0';
        if (i >= 0) {
            x->d[i]++;
        } else {
            x->d[0] = '1';
            x->e++;
        }
    } else {
        while (i >= 0 && x->d[i] == '0')
            x->d[i--] = '9';
        x->d[i]--;
        if (x->d[0] == '0') {
            memset(x->d, '9', (size_t)x->n);
            x->e--;
        }
    }
}

static inline void oracle_shortest_(double v, struct oracle_dec_ *out)
{
    int exp2;
    int pow2 = frexp(v, &exp2) == 0.5 && v > DBL_MIN;
    int p = v < DBL_MIN ? 1 : 15;

    for (; p <= ORACLE_MAX_DIGITS; p++) {
        oracle_round_to_(v, p, out);
        if (p == ORACLE_MAX_DIGITS)
            break;
        double r = oracle_read_back_(out);
        if (r == v)
            break;
        if (pow2) {
            struct oracle_dec_ alt = *out;
            oracle_step_(&alt, r < v);
            if (oracle_read_back_(&alt) == v) {
                *out = alt;
                break;
            }
        }
    }
    while (out->n > 1 && out->d[out->n - 1] == '0')
        out->n--;
}

static inline size_t oracle_format_double(double v, char *buf)
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

    struct oracle_dec_ x;
    oracle_shortest_(v, &x);

    if (x.e >= -4 && x.e < 16) {
        if (x.e >= 0) {
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
        } else {
            buf[n++] = '0';
            buf[n++] = '.';
            for (int i = 0; i < -x.e - 1; i++)
                buf[n++] = '0';
            memcpy(buf + n, x.d, (size_t)x.n);
            n += (size_t)x.n;
        }
    } else {
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
    return n;
}

/* MR_NUM_LONG=N: the random tests draw N values instead of their default
 * (for one long run, e.g. N = 100000000 with a release build). */
static inline long long random_count(long long dflt)
{
    const char *e = getenv("MR_NUM_LONG");
    if (e == NULL || *e == '\0')
        return dflt;
    char *end;
    double n = strtod(e, &end);
    if (*end != '\0' || !(n >= 1))
        return dflt;
    return (long long)n;
}

#endif
