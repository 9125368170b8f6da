/* numfmt.c — shortest round-trip double → text, laid out like repr(float).
 *
 * The digits come from Ryu (Ulf Adams, "Ryu: fast float-to-string
 * conversion", PLDI 2018): with v = m * 2^e, the decimals that read back as
 * v are those strictly between the midpoints to its neighbours, (4m - 1 -
 * [m is not a power of two's significand]) * 2^(e-2) and (4m + 2) *
 * 2^(e-2), plus the midpoints themselves when m is even (strtod breaks ties
 * to even). Ryu scales v and both bounds by one power of ten, chosen so that
 * the three become 64-bit integers with one or two more digits than needed,
 * computed exactly as floor((x * 2^a * 5^b) >> c) from 125-bit tables of
 * powers of five; then it drops trailing decimal digits while the interval
 * still holds a shorter decimal, and rounds the last digit of the scaled v
 * to nearest. It tracks whether the dropped digits were all zeros, so that
 * an exact tie is broken to the even digit and a bound is taken only when it
 * belongs to the interval. That is David Gay's dtoa mode 0, which Python's
 * repr uses: the shortest digits that read back, the closest to v among
 * those (ties to even). The asymmetric interval of a power of two (narrower
 * below) is part of the bounds, so no case needs a second look.
 *
 * The tables (numfmt_tables.h) come from tests/gen_num_tables.py, which also
 * checks the logarithm approximations below over every exponent a double
 * has. Pure integer arithmetic: thread-safe, locale-independent, no
 * allocation, no dependence on the floating-point environment.
 */
#include "numfmt.h"

#include <stdint.h>
#include <string.h>

#include "numfmt_tables.h"

/* ---- 64 x 128-bit multiply and shift ------------------------------------ */

#if defined(__SIZEOF_INT128__) && !defined(MR_NUM_NO_INT128)
__extension__ typedef unsigned __int128 u128;

/* floor(m * (mul[1] * 2^64 + mul[0]) / 2^j), 64 <= j < 128, result < 2^64 */
static inline uint64_t mul_shift(uint64_t m, const uint64_t *mul, int j)
{
    const u128 b0 = (u128)m * mul[0];
    const u128 b2 = (u128)m * mul[1];
    return (uint64_t)(((b0 >> 64) + b2) >> (j - 64));
}
#else
static inline uint64_t mul_128(uint64_t a, uint64_t b, uint64_t *hi)
{
    const uint64_t a0 = (uint32_t)a, a1 = a >> 32;
    const uint64_t b0 = (uint32_t)b, b1 = b >> 32;
    const uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    const uint64_t mid = (p00 >> 32) + (uint32_t)p01 + (uint32_t)p10;
    *hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
    return (mid << 32) | (uint32_t)p00;
}

static inline uint64_t mul_shift(uint64_t m, const uint64_t *mul, int j)
{
    uint64_t h0, h1;
    (void)mul_128(m, mul[0], &h0);
    const uint64_t l1 = mul_128(m, mul[1], &h1);
    const uint64_t mid = l1 + h0;
    h1 += mid < l1;
    const int s = j - 64; /* 54..61 (see numfmt_tables.h) */
    return (mid >> s) | (h1 << (64 - s));
}
#endif

/* floor(log10(2^e)), 0 <= e <= 1650 */
static inline int log10_pow2(int e)
{
    return (int)(((uint32_t)e * 78913) >> 18);
}

/* floor(log10(5^e)), 0 <= e <= 2620 */
static inline int log10_pow5(int e)
{
    return (int)(((uint32_t)e * 732923) >> 20);
}

/* bit length of 5^e (1 for e = 0), 0 <= e <= 3528 */
static inline int pow5_bits(int e)
{
    return (int)(((uint32_t)e * 1217359) >> 19) + 1;
}

/* 5^p divides x (x != 0) */
static int multiple_of_pow5(uint64_t x, int p)
{
    for (; p > 0; p--) {
        if (x % 5 != 0)
            return 0;
        x /= 5;
    }
    return 1;
}

/* 2^p divides x */
static inline int multiple_of_pow2(uint64_t x, int p)
{
    return p < 64 && (x & (((uint64_t)1 << p) - 1)) == 0;
}

/* ---- Ryu ---------------------------------------------------------------- */

/* v = digits * 10^exp10, shortest and closest; v finite and non-zero. */
static inline uint64_t shortest(uint64_t ieee_m, unsigned ieee_e, int *exp10)
{
    int e2;
    uint64_t m2;
    if (ieee_e == 0) {
        e2 = 1 - 1023 - 52 - 2;
        m2 = ieee_m;
    } else {
        e2 = (int)ieee_e - 1023 - 52 - 2;
        m2 = ((uint64_t)1 << 52) | ieee_m;
    }
    /* v = mv * 2^e2; the bounds are mm * 2^e2 and mp * 2^e2. */
    const int even = (m2 & 1) == 0; /* the bounds themselves read back */
    const uint64_t mv = 4 * m2;
    const uint64_t mp = mv + 2;
    const uint64_t mm = mv - 1 - (ieee_m != 0 || ieee_e <= 1);

    /* vr, vp, vm = floor of v and the bounds over 10^e10; *_tz: that
     * division was exact */
    uint64_t vr, vp, vm;
    int e10;
    int vr_tz = 0, vm_tz = 0;
    if (e2 >= 0) {
        /* times 2^e2 / 10^q = 2^(e2-q) / 5^q */
        int q = log10_pow2(e2);
        q -= q > 0;
        e10 = q;
        const int j = -e2 + q + RYU_POW5_INV_BITS + pow5_bits(q) - 1;
        vr = mul_shift(mv, RYU_POW5_INV[q], j);
        vp = mul_shift(mp, RYU_POW5_INV[q], j);
        vm = mul_shift(mm, RYU_POW5_INV[q], j);
        if (q <= 23) { /* 5^24 > 2^55 > mp: no multiple beyond */
            vr_tz = multiple_of_pow5(mv, q);
            if (even)
                vm_tz = multiple_of_pow5(mm, q);
            else
                vp -= (uint64_t)multiple_of_pow5(mp, q); /* vp excluded */
        }
    } else {
        /* times 2^e2 / 10^(q+e2) = 5^(-e2-q) / 2^q */
        int q = log10_pow5(-e2);
        q -= q > 0;
        e10 = q + e2;
        const int i = -e2 - q;
        const int j = q - (pow5_bits(i) - RYU_POW5_BITS);
        vr = mul_shift(mv, RYU_POW5[i], j);
        vp = mul_shift(mp, RYU_POW5[i], j);
        vm = mul_shift(mm, RYU_POW5[i], j);
        vr_tz = multiple_of_pow2(mv, q);
        if (even)
            vm_tz = multiple_of_pow2(mm, q);
        else
            vp -= (uint64_t)multiple_of_pow2(mp, q);
    }

    /* Drop digits while (vm, vp] still holds a shorter decimal. */
    int removed = 0;
    uint64_t out;
    if (vr_tz || vm_tz) {
        /* Rare: exact quotients, so ties and attainable bounds exist. */
        unsigned last = 0;
        for (;;) {
            const uint64_t vp10 = vp / 10, vm10 = vm / 10;
            if (vp10 <= vm10)
                break;
            const uint64_t vr10 = vr / 10;
            vm_tz &= vm - vm10 * 10 == 0;
            vr_tz &= last == 0;
            last = (unsigned)(vr - vr10 * 10);
            vr = vr10;
            vp = vp10;
            vm = vm10;
            removed++;
        }
        if (even && vm_tz) {
            /* the lower bound itself is a candidate: strip its zeros */
            for (;;) {
                const uint64_t vm10 = vm / 10;
                if (vm - vm10 * 10 != 0)
                    break;
                const uint64_t vr10 = vr / 10;
                vr_tz &= last == 0;
                last = (unsigned)(vr - vr10 * 10);
                vr = vr10;
                vp /= 10;
                vm = vm10;
                removed++;
            }
        }
        if (vr_tz && last == 5 && (vr & 1) == 0)
            last = 4; /* exactly half way: to even */
        out = vr + ((vr == vm && !(even && vm_tz)) || last >= 5);
    } else {
        /* Common: the dropped digits are never all zeros, so no ties. */
        int round_up = 0;
        const uint64_t vp100 = vp / 100, vm100 = vm / 100;
        if (vp100 > vm100) {
            const uint64_t vr100 = vr / 100;
            round_up = vr - vr100 * 100 >= 50;
            vr = vr100;
            vp = vp100;
            vm = vm100;
            removed += 2;
        }
        for (;;) {
            const uint64_t vp10 = vp / 10, vm10 = vm / 10;
            if (vp10 <= vm10)
                break;
            const uint64_t vr10 = vr / 10;
            round_up = vr - vr10 * 10 >= 5;
            vr = vr10;
            vp = vp10;
            vm = vm10;
            removed++;
        }
        out = vr + (vr == vm || round_up);
    }
    *exp10 = e10 + removed;
    return out;
}

/* ---- layout ------------------------------------------------------------- */

static const char DIGIT_PAIRS[200] = {
    '0', '0', '0', '1', '0', '2', '0', '3', '0', '4', '0', '5', '0', '6', '0', '7',
    '0', '8', '0', '9', '1', '0', '1', '1', '1', '2', '1', '3', '1', '4', '1', '5',
    '1', '6', '1', '7', '1', '8', '1', '9', '2', '0', '2', '1', '2', '2', '2', '3',
    '2', '4', '2', '5', '2', '6', '2', '7', '2', '8', '2', '9', '3', '0', '3', '1',
    '3', '2', '3', '3', '3', '4', '3', '5', '3', '6', '3', '7', '3', '8', '3', '9',
    '4', '0', '4', '1', '4', '2', '4', '3', '4', '4', '4', '5', '4', '6', '4', '7',
    '4', '8', '4', '9', '5', '0', '5', '1', '5', '2', '5', '3', '5', '4', '5', '5',
    '5', '6', '5', '7', '5', '8', '5', '9', '6', '0', '6', '1', '6', '2', '6', '3',
    '6', '4', '6', '5', '6', '6', '6', '7', '6', '8', '6', '9', '7', '0', '7', '1',
    '7', '2', '7', '3', '7', '4', '7', '5', '7', '6', '7', '7', '7', '8', '7', '9',
    '8', '0', '8', '1', '8', '2', '8', '3', '8', '4', '8', '5', '8', '6', '8', '7',
    '8', '8', '8', '9', '9', '0', '9', '1', '9', '2', '9', '3', '9', '4', '9', '5',
    '9', '6', '9', '7', '9', '8', '9', '9',
};

static inline int decimal_length(uint64_t v) /* 1 <= v < 10^17 */
{
    /* high to low: most outputs have 16 or 17 digits */
    if (v >= 10000000000000000u) return 17;
    if (v >= 1000000000000000u) return 16;
    if (v >= 100000000000000u) return 15;
    if (v >= 10000000000000u) return 14;
    if (v >= 1000000000000u) return 13;
    if (v >= 100000000000u) return 12;
    if (v >= 10000000000u) return 11;
    if (v >= 1000000000u) return 10;
    if (v >= 100000000u) return 9;
    if (v >= 10000000u) return 8;
    if (v >= 1000000u) return 7;
    if (v >= 100000u) return 6;
    if (v >= 10000u) return 5;
    if (v >= 1000u) return 4;
    if (v >= 100u) return 3;
    if (v >= 10u) return 2;
    return 1;
}

/* The n decimal digits of v (10^(n-1) <= v < 10^n) into d[0..n). */
static inline void write_digits(uint64_t v, int n, char *d)
{
    char *e = d + n;
    /* at most two groups of the low eight digits in 32-bit arithmetic (v < 10^17) */
    for (int g = 0; g < 2 && v >= 100000000u; g++) {
        const uint64_t hi = v / 100000000u;
        uint32_t lo = (uint32_t)(v - hi * 100000000u);
        v = hi;
        for (int k = 0; k < 4; k++) {
            const uint32_t r = lo % 100;
            lo /= 100;
            e -= 2;
            memcpy(e, DIGIT_PAIRS + 2 * r, 2);
        }
    }
    uint32_t u = (uint32_t)v;
    while (u >= 100) {
        const uint32_t r = u % 100;
        u /= 100;
        e -= 2;
        memcpy(e, DIGIT_PAIRS + 2 * r, 2);
    }
    if (u >= 10) {
        e -= 2;
        memcpy(e, DIGIT_PAIRS + 2 * u, 2);
    } else {
        *--e = (char)('0' + u);
    }
}

size_t mr_format_double(double v, char *buf)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    const uint64_t ieee_m = bits & (((uint64_t)1 << 52) - 1);
    const unsigned ieee_e = (unsigned)(bits >> 52) & 0x7FF;
    size_t n = 0;

    if (ieee_e == 0x7FF && ieee_m != 0) {
        memcpy(buf, "nan", 3);
        return 3;
    }
    if (bits >> 63)
        buf[n++] = '-';
    if (ieee_e == 0x7FF) {
        memcpy(buf + n, "inf", 3);
        return n + 3;
    }
    if (ieee_e == 0 && ieee_m == 0) {
        memcpy(buf + n, "0.0", 3);
        return n + 3;
    }

    int e;
    const uint64_t out = shortest(ieee_m, ieee_e, &e);
    const int nd = decimal_length(out);
    const int x = e + nd - 1; /* v = d1.d2..dnd * 10^x */
    char *p = buf + n;

    /* The digits go straight to their place; no byte past the result is
     * written. */
    if (x >= 16 || x < -4) { /* D.DDDe±XX */
        write_digits(out, nd, p + 1);
        p[0] = p[1];
        if (nd > 1) {
            p[1] = '.';
            p += nd + 1;
        } else {
            p += 1;
        }
        int a = x;
        *p++ = 'e';
        if (a < 0) {
            *p++ = '-';
            a = -a;
        } else {
            *p++ = '+';
        }
        if (a >= 100) {
            *p++ = (char)('0' + a / 100);
            a %= 100;
        }
        memcpy(p, DIGIT_PAIRS + 2 * a, 2);
        p += 2;
    } else if (x < 0) { /* 0.000DDD */
        *p++ = '0';
        *p++ = '.';
        for (int k = -1; k > x; k--)
            *p++ = '0';
        write_digits(out, nd, p);
        p += nd;
    } else if (nd <= x + 1) { /* DDD00.0 */
        write_digits(out, nd, p);
        p += nd;
        for (int k = nd; k <= x; k++)
            *p++ = '0';
        *p++ = '.';
        *p++ = '0';
    } else { /* DDD.DD: the integer digits move one to the left */
        write_digits(out, nd, p + 1);
        for (int k = 0; k <= x; k++)
            p[k] = p[k + 1];
        p[x + 1] = '.';
        p += nd + 1;
    }
    return (size_t)(p - buf); /* <= 24: "-" + 17 digits + "." + "e-308" */
}
