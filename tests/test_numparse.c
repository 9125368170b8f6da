/* test_numparse.c — grammar and bit-exactness of mr_parse_double. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strtod_l, newlocale */
#endif

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numfmt.h"
#include "numparse.h"

#include "num_oracle.h"

static locale_t c_loc;

static int setup(void **state)
{
    (void)state;
    c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    return c_loc == (locale_t)0 ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    freelocale(c_loc);
    return 0;
}

static uint64_t bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t xorshift(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

/* Parse s[0..len) from an exact-size heap copy, so that ASan catches any
 * read past the end. */
static int parse_exact(const char *s, size_t len, double *out)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, s, len);
    int rc = mr_parse_double(copy, len, out);
    free(copy);
    return rc;
}

static double reference(const char *s)
{
    char *end;
    double d = strtod_l(s, &end, c_loc);
    assert_true(*end == '\0');
    return d;
}

/* s is accepted and gives exactly what strtod gives in the C locale. */
static void check_same(const char *s)
{
    double got = 12345.0;
    if (parse_exact(s, strlen(s), &got) != 0)
        fail_msg("rejected: \"%.60s\"", s);
    double want = reference(s);
    if (bits(got) != bits(want))
        fail_msg("\"%.60s\": got %a, strtod %a", s, got, want);
    double orc = 54321.0;
    if (oracle_parse_double(s, strlen(s), &orc) != 0 || bits(orc) != bits(want))
        fail_msg("\"%.60s\": oracle %a, strtod %a", s, orc, want);
}

/* Lighter check_same for the random loops: s[0..len) is a NUL-terminated
 * number; mr_parse_double must give strtod's bits. */
static void check_strtod(const char *s, size_t len)
{
    double got = 12345.0;
    if (parse_exact(s, len, &got) != 0)
        fail_msg("rejected: \"%s\"", s);
    char *end;
    double want = strtod_l(s, &end, c_loc);
    if (end != s + len)
        fail_msg("\"%s\": strtod stopped at %zu", s, (size_t)(end - s));
    if (bits(got) != bits(want))
        fail_msg("\"%s\": got %a, strtod %a", s, got, want);
}

static void check_value(const char *s, double want)
{
    double got = 12345.0;
    if (parse_exact(s, strlen(s), &got) != 0)
        fail_msg("rejected: \"%s\"", s);
    if (bits(got) != bits(want))
        fail_msg("\"%s\": got %a, want %a", s, got, want);
}

static void check_reject_len(const char *s, size_t len)
{
    double got = 12345.0;
    if (parse_exact(s, len, &got) != -1)
        fail_msg("accepted: \"%.*s\" (len %zu) as %a", (int)len, s, len, got);
    assert_true(got == 12345.0); /* nothing stored */
    if (oracle_parse_double(s, len, &got) != -1)
        fail_msg("oracle accepted: \"%.*s\"", (int)len, s);
}

static void check_reject(const char *s)
{
    check_reject_len(s, strlen(s));
}

static void test_grammar_accept(void **state)
{
    (void)state;
    static const char *ok[] = {
        "0", "1", "+1", "-1", "00", "007", "1.", "1.5", ".5", "+.5", "-.5",
        "5.", "-5.", "0.0", "-0", "+0", "-0.0e10", "1e5", "1E5", "1e+5",
        "1e-5", "1.e5", ".1e5", "1.5E-05", "00000.00000e00000", "1e0",
        "123456789", "0.000001", "1e0000000000000000000000000001",
        "9", "-9.9e-9", "1234567890.0987654321",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        check_same(ok[i]);

    check_value("inf", INFINITY);
    check_value("INF", INFINITY);
    check_value("+inF", INFINITY);
    check_value("-inf", -INFINITY);
    check_value("Infinity", INFINITY);
    check_value("-Infinity", -INFINITY);
    check_value("+INFINITY", INFINITY);
    check_value("iNfInItY", INFINITY);
    check_value("-0", -0.0);
    check_value("-0.0e10", -0.0);
    check_value("+0", 0.0);
    check_value("-.0", -0.0);
    check_value("-0e-99999", -0.0);
    check_value(".5", 0.5);
    check_value("5.", 5.0);
    check_value("+1.5", 1.5);
}

static void test_grammar_reject(void **state)
{
    (void)state;
    static const char *bad[] = {
        "", " 1", "1 ", "\t1", "1\n", "0x10", "0X1p3", "1_0", "1,5", "1,000",
        "nan", "NaN", "-nan", "nan(123)", "e5", "E5", "1e", "1E", "1e+",
        "1e-", ".", "+", "-", "+.", "-.", "--1", "+-1", "-+1", "++1", "inf ",
        " inf", "infinit", "infinityy", "in", "i", "-i", "infx", "+-inf",
        "1.2.3", "1..2", "..1", "1e5.5", "1e5e5", "1e++5", "1e+-5", "1.e",
        ".e1", "+.e1", "e", "1d5", "1f", "1.5f", "1L", "١", "１", "1e 5",
        "1 e5", "- 1", "+ 1", "0b101", "infinity.", "inf1", "1inf", "#1",
        "1.5e-", "1.5e+", "0x", "0x1.8p1", "1e0x1", "½", "\u00a01" /* NBSP */,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        check_reject(bad[i]);

    /* Embedded NUL: the length, not the NUL, delimits the token. */
    check_reject_len("1\0", 2);
    check_reject_len("1\0002", 3);
    check_reject_len("\0001", 2);
    check_reject_len("inf\0", 4);
    check_reject_len("1e5\0", 4);

    /* NULL pointers are rejected, not dereferenced. */
    double d = 1.0;
    assert_int_equal(mr_parse_double(NULL, 3, &d), -1);
    assert_int_equal(mr_parse_double("1", 1, NULL), -1);
    assert_int_equal(mr_parse_double("1", 0, &d), -1);
    assert_true(d == 1.0);
}

static void test_length_bounds(void **state)
{
    (void)state;
    double d = 0;
    /* Only s[0..len) is the token, whatever follows. */
    assert_int_equal(mr_parse_double("1234", 2, &d), 0);
    assert_true(d == 12.0);
    assert_int_equal(mr_parse_double("1.5e10", 3, &d), 0);
    assert_true(d == 1.5);
    assert_int_equal(mr_parse_double("1e5", 2, &d), -1); /* "1e" */
    assert_int_equal(mr_parse_double("infinity", 3, &d), 0);
    assert_true(d == INFINITY);
    assert_int_equal(mr_parse_double("infinity", 5, &d), -1); /* "infin" */
    assert_int_equal(mr_parse_double("-5,", 2, &d), 0);
    assert_true(d == -5.0);
}

static void test_hard_cases(void **state)
{
    (void)state;
    static const char *hard[] = {
        "9007199254740993",         /* 2^53 + 1: halfway, ties to even */
        "9007199254740992",
        "9007199254740994",
        "9007199254740995",         /* halfway, ties up to even */
        "9007199254740993.0000000000000000000000000000001",
        "18014398509481985",
        "2.2250738585072011e-308",  /* just below DBL_MIN */
        "2.2250738585072012e-308",
        "2.2250738585072014e-308",  /* DBL_MIN */
        "2.225073858507201136057409796709131975934819546351645648e-308",
        "4.9406564584124654e-324",  /* least subnormal */
        "2.4703282292062327e-324",  /* just below half of it: 0 */
        "2.4703282292062328e-324",  /* just above half: least subnormal */
        "2.47032822920623272088284396434110686182529901307162382212792841"
        "250337753635104375932649918180817996189898282347722858865463328"
        "355177969898199387398005390939063150356595155702263922908583924"
        "491051844359318028499365361525003193704576782492193656236698636"
        "584807570015857692699037063119282795585513329278343384093519780"
        "155312465972635795746227664652728272200563740064854999770965994"
        "704540208281662262378573934507363390079677619305775067401763246"
        "736009689513405355374585166611342237666786041621596804619144672"
        "918403005300575308490487653917113865916462395249126236538818796"
        "362393732804238910186723484976682350898633885879256283027559956"
        "575244555072551893136908362547791869486679949683240497058210285"
        "131854513962138377228261454376934125320985913276672363281255e-324",
        "1e-320", "-1e-320", "3e-324", "2e-324", "1e-324", "5e-325",
        "1.7976931348623157e308",   /* DBL_MAX */
        "1.7976931348623158e308",
        "1.7976931348623159e308",   /* rounds to inf */
        "-1.7976931348623159e308",
        "179769313486231580793728971405301e276",
        "1e999", "-1e999", "1e-999", "-1e-999", "1e308", "1e309",
        "1e-99999999999", "-1e-99999999999", "1e99999999999",
        "-1e99999999999", "0e99999999999", "1e-9999999999999999999999999999",
        "1e9999999999999999999999999999999999999999",
        "0.1", "0.2", "0.3", "1.1", "123456789012345678",
        "12345678901234567890", "1234567890123456789012345678901234567890",
        "0.12345678901234567890123456789", "3.141592653589793238462643383279",
        "2.718281828459045235360287471352662497757", "1e22", "1e23",
        "8.589973e9", "4503599627370496.5", "4503599627370497.5",
        "9007199254740991", "9007199254740992e0", "9007199254740993e0",
        "1.00000000000000011102230246251565404236316680908203125",
        "1.00000000000000011102230246251565404236316680908203124",
        "1.00000000000000011102230246251565404236316680908203126",
        "7.2057594037927933e16", "5708990770823839524233143877797980545530986496",
        "1448997445238699", "-2.2250738585072011e-308",
        "6.631236846766476e-316", "3.2378839133029012e+283",
        "6.9294956446009195e15", "2.9802322387695312e-8",
        "1e-22", "1e-23", "9999999999999999e22", "4e-320", "1e-310",
        "2.5e-324", "2.4703282292062328e-324",
        "0.0000000000000000000000000000000000000000000000000000000001e50",
    };
    for (size_t i = 0; i < sizeof hard / sizeof hard[0]; i++) {
        check_same(hard[i]);
        char neg[2048];
        snprintf(neg, sizeof neg, "%c%s", hard[i][0] == '-' ? '+' : '-',
                 hard[i] + (hard[i][0] == '-'));
        check_same(neg);
    }
    check_value("9007199254740993", 9007199254740992.0);
    check_value("2.4703282292062327e-324", 0.0);
    check_value("2.4703282292062328e-324", 0x1p-1074);
    check_value("1.7976931348623159e308", INFINITY);
    check_value("1e-320", 0x1.fap-1064);
    check_value("1e99999999999", INFINITY);
    check_value("-1e-99999999999", -0.0);

    /* strtod's ERANGE does not leak out. */
    errno = 0;
    check_value("1e-320", 0x1.fap-1064);
    check_value("1e999", INFINITY);
    check_value("1.7976931348623159e308", INFINITY);
    assert_int_equal(errno, 0);
}

/* Decimal digits of a * 2^e2 ... built by repeated small multiplication. */
struct big {
    uint32_t limb[200]; /* base 1e9, little endian */
    /* 200 limbs: 1800 digits, more than 2^1024 or (2^54) * 5^1075 need */
    int n;
};

static void big_set(struct big *b, uint64_t v)
{
    b->n = 0;
    do {
        b->limb[b->n++] = (uint32_t)(v % 1000000000u);
        v /= 1000000000u;
    } while (v);
}

static void big_mul(struct big *b, uint32_t m)
{
    uint64_t carry = 0;
    for (int i = 0; i < b->n; i++) {
        uint64_t t = (uint64_t)b->limb[i] * m + carry;
        b->limb[i] = (uint32_t)(t % 1000000000u);
        carry = t / 1000000000u;
    }
    while (carry) {
        b->limb[b->n++] = (uint32_t)(carry % 1000000000u);
        carry /= 1000000000u;
    }
}

static int big_str(const struct big *b, char *s)
{
    int n = sprintf(s, "%u", b->limb[b->n - 1]);
    for (int i = b->n - 2; i >= 0; i--)
        n += sprintf(s + n, "%09u", b->limb[i]);
    return n;
}

/* Exact decimal text "DDD...e-X" of odd * 2^e2 (e2 < 0) or "DDD" (e2 >= 0). */
static int exact_decimal(uint64_t odd, int e2, char *s, int *exp10)
{
    struct big b;
    big_set(&b, odd);
    int k = e2 < 0 ? -e2 : e2;
    for (; k >= 13; k -= 13) /* 5^13 and 2^13 fit the 32-bit factor */
        big_mul(&b, e2 < 0 ? 1220703125u : 8192u);
    for (; k > 0; k--)
        big_mul(&b, e2 < 0 ? 5 : 2);
    *exp10 = e2 < 0 ? e2 : 0;
    return big_str(&b, s);
}

/* Midpoints between adjacent doubles (odd m in [2^53, 2^54) times 2^e2, or
 * any odd m times 2^-1075 among subnormals), written out exactly (up to 768
 * significant digits; 768 for the one just above DBL_MIN, which fails a
 * 767-digit cut), then nudged by a digit far beyond the 800th. */
static void test_midpoints(void **state)
{
    (void)state;
    static const struct { uint64_t m; int e2; } mids[] = {
        {1, -1075},                          /* half the least subnormal */
        {3, -1075},
        {((uint64_t)1 << 53) - 1, -1075},    /* 767 digits */
        {((uint64_t)1 << 53) + 1, -1075},    /* above DBL_MIN: 768 */
        {((uint64_t)1 << 54) - 1, -1075},
        {((uint64_t)1 << 53) + 1, -53},      /* 1 + 2^-53 */
        {((uint64_t)1 << 53) + 3, -53},
        {((uint64_t)1 << 54) - 1, -54},
        {((uint64_t)1 << 53) + 1, 0},        /* 2^53 + 1 */
        {((uint64_t)1 << 54) - 1, 970},      /* DBL_MAX + half ulp: inf */
        {((uint64_t)1 << 54) - 3, 970},      /* below DBL_MAX */
        {((uint64_t)1 << 53) | 0x1234567890abcdu, -1000},
        {((uint64_t)1 << 54) - 1, -600},
        {((uint64_t)1 << 53) | 0x1234567890abcdu, 500},
    };
    static char digits[4096], s[8192];
    for (size_t t = 0; t < sizeof mids / sizeof mids[0]; t++) {
        int x;
        int n = exact_decimal(mids[t].m, mids[t].e2, digits, &x);
        /* exactly the midpoint: ties to even */
        snprintf(s, sizeof s, "%se%d", digits, x);
        check_same(s);
        /* midpoint + 10^-(way past 800 digits): must round up */
        for (int zeros = 0; zeros < 1200; zeros += 97) {
            int len = sprintf(s, "%s.", digits);
            memset(s + len, '0', (size_t)zeros);
            len += zeros;
            len += sprintf(s + len, "1e%d", x);
            check_same(s);
            double above = reference(s);
            snprintf(s, sizeof s, "%se%d", digits, x);
            double mid = reference(s);
            /* midpoint - tiny: replace last digit run by ...(d-1)999...9 */
            strcpy(s, digits);
            int i = n - 1;
            while (s[i] == '0')
                s[i--] = '9';
            s[i]--;
            len = n;
            s[len++] = '.';
            memset(s + len, '9', (size_t)zeros + 1);
            len += zeros + 1;
            sprintf(s + len, "e%d", x);
            check_same(s);
            double below = reference(s);
            if (!(below < above))
                fail_msg("case %zu, %d zeros: below %a above %a", t, zeros,
                         below, above);
            assert_true(mid == below || mid == above);
        }
    }
}

static void test_long_mantissas(void **state)
{
    (void)state;
    static char s[20000];
    /* 800 random digits, at several exponents, with and without a point. */
    for (int rep = 0; rep < 200; rep++) {
        int n = 1 + (int)(xorshift() % 2000);
        int len = 0;
        if (xorshift() & 1)
            s[len++] = '-';
        int pt = (int)(xorshift() % (uint64_t)(n + 1));
        for (int i = 0; i < n; i++) {
            if (i == pt && (xorshift() & 1))
                s[len++] = '.';
            s[len++] = (char)('0' + xorshift() % 10);
        }
        if (xorshift() & 1)
            len += sprintf(s + len, "e%d", (int)(xorshift() % 1400) - 700);
        s[len] = '\0';
        check_same(s);
    }
    /* "0.000...0001e400" with many zeros, and the mirror image. */
    int len = sprintf(s, "0.");
    memset(s + len, '0', 5000);
    len += 5000;
    strcpy(s + len, "1e4700");
    check_same(s); /* 1e-301 */
    strcpy(s + len, "1e5309");
    check_same(s); /* 1e308 */
    strcpy(s + len, "1e5310");
    check_same(s); /* 1e309: inf */
    strcpy(s + len, "1e4677");
    check_same(s); /* 1e-324: 0 */
    strcpy(s + len, "1e400");
    check_same(s); /* 0 */
    s[0] = '1';
    s[1] = '0';
    strcpy(s + len, "0e-5300");
    check_same(s);
    /* An 800-digit mantissa: 0.1 to 800 places (the 17 after are cut). */
    len = sprintf(s, "0.");
    for (int i = 0; i < 800; i++)
        s[len++] = "1000000000000000055511151231257827021181583404541015625"[i % 55];
    s[len] = '\0';
    check_same(s);
    /* Trailing zeros do not count as significant digits. */
    len = sprintf(s, "1.5");
    memset(s + len, '0', 3000);
    strcpy(s + len + 3000, "e-3");
    check_value(s, 0.0015);
    check_same(s);
    /* Leading zeros neither. */
    memset(s, '0', 3000);
    strcpy(s + 3000, "12345.678e-2");
    check_same(s);
}

static void roundtrip_fmt(const char *fmt, double d)
{
    char s[64];
    int n = snprintf(s, sizeof s, fmt, d);
    check_strtod(s, (size_t)n);
}

/* A double from 64 random bits, never NaN. */
static double random_double(void)
{
    for (;;) {
        uint64_t u = xorshift();
        double d;
        memcpy(&d, &u, sizeof d);
        if (!isnan(d))
            return d;
    }
}

/* Random doubles printed with %.17g (always round-trips), and in the shortest
 * repr (mr_format_double), which must read back as the same double; every
 * fourth also with %.15g and %.6e, which usually do not. Half random bit
 * patterns, half uniform in [0, 1) (the typical model input). */
static void test_random_doubles(void **state)
{
    (void)state;
    rng_state = 0x0123456789ABCDEFu;
    const long long n = random_count(1000000);
    for (long long i = 0; i < n; i++) {
        double d = (i & 1) ? (double)(xorshift() >> 11) * 0x1p-53 : random_double();
        roundtrip_fmt("%.17g", d);
        if ((i & 3) == 0) {
            roundtrip_fmt("%.15g", d);
            roundtrip_fmt("%.6e", d);
        }
        char s[MR_FMT_MAX + 1];
        size_t len = mr_format_double(d, s);
        s[len] = '\0';
        double back;
        if (mr_parse_double(s, len, &back) != 0 || bits(back) != bits(d))
            fail_msg("%a: shortest \"%s\" reads back as %a", d, s, back);
    }
    print_message("%lld random doubles: %%.17g and shortest texts read back\n", n);
}

/* Random decimal texts: 1..25 digits (sometimes after leading zeros), the
 * point anywhere or nowhere, and no exponent, a small one, one anywhere in
 * the double range, or one near the ends of it for the digits given. */
static void test_random_decimals(void **state)
{
    (void)state;
    rng_state = 0xFEDCBA9876543210u;
    const long long count = random_count(1000000);
    char s[96];
    for (long long i = 0; i < count; i++) {
        int len = 0;
        uint64_t r = xorshift();
        if (r & 1)
            s[len++] = (r & 2) ? '-' : '+';
        int lead = ((r >> 2) & 7) == 0 ? (int)((r >> 5) % 4) : 0;
        int n = 1 + (int)((r >> 8) % 25);
        int total = lead + n;
        int pt = (int)((r >> 16) % (uint64_t)(total + 2)) - 1; /* -1: none */
        uint64_t dg = xorshift();
        for (int k = 0; k < total; k++) {
            if (k == pt)
                s[len++] = '.';
            if (k < lead) {
                s[len++] = '0';
            } else {
                if (k % 16 == 0)
                    dg = xorshift();
                s[len++] = (char)('0' + (dg & 0xF) % 10);
                dg >>= 4;
            }
        }
        if (pt == total)
            s[len++] = '.';
        /* decimal exponent of the first digit, roughly */
        int lead_exp = (pt < 0 ? total : pt) - 1 - lead;
        int ex;
        switch ((r >> 24) & 7) {
        case 0: case 1: case 2:
            ex = INT32_MIN; /* none */
            break;
        case 3: case 4:
            ex = (int)((r >> 28) % 81) - 40;
            break;
        case 5:
            ex = (int)((r >> 28) % 701) - 360;
            break;
        case 6: /* near the overflow threshold 1.8e308 */
            ex = 308 - lead_exp + (int)((r >> 28) % 5) - 2;
            break;
        default: /* near and below the least subnormal, 4.9e-324 */
            ex = -324 - lead_exp + (int)((r >> 28) % 21) - 10;
            break;
        }
        if (ex != INT32_MIN)
            len += sprintf(s + len, "%c%d", ((r >> 40) & 1) ? 'e' : 'E', ex);
        s[len] = '\0';
        check_strtod(s, (size_t)len);
    }
    print_message("%lld random decimal texts equal to strtod\n", count);
}

/* Every power of two and of ten, in several spellings. */
static void test_powers(void **state)
{
    (void)state;
    static char s[2048];
    static const char *fmts[] = {"%.17g", "%.16g", "%.15g", "%.19e", "%.21e",
                                 "%.25e", "%.40e", "%.767e", "%.0f"};
    for (int k = -1074; k <= 1023; k++) {
        double d = ldexp(1.0, k);
        for (size_t f = 0; f < sizeof fmts / sizeof fmts[0]; f++) {
            if (f == 8 && k > 200)
                continue; /* "%.0f" only where it is short enough */
            int n = snprintf(s, sizeof s, fmts[f], d);
            check_strtod(s, (size_t)n);
        }
        /* the neighbours, and the midpoints to them */
        roundtrip_fmt("%.17g", nextafter(d, 0));
        roundtrip_fmt("%.17g", nextafter(d, INFINITY));
    }
    for (int k = -400; k <= 400; k++) {
        int n = snprintf(s, sizeof s, "1e%d", k);
        check_strtod(s, (size_t)n);
        n = snprintf(s, sizeof s, "10E%+d", k - 1);
        check_strtod(s, (size_t)n);
        n = snprintf(s, sizeof s, "-0.1e%d", k + 1);
        check_strtod(s, (size_t)n);
        n = snprintf(s, sizeof s, ".00001e%d", k + 5);
        check_strtod(s, (size_t)n);
        if (k >= 0) { /* 1000...0 and 1000...0.0 */
            s[0] = '1';
            memset(s + 1, '0', (size_t)k);
            s[k + 1] = '\0';
            check_strtod(s, (size_t)k + 1);
            memcpy(s + k + 1, ".0", 3);
            check_strtod(s, (size_t)k + 3);
        } else { /* 0.000...01 */
            memcpy(s, "0.", 2);
            memset(s + 2, '0', (size_t)(-k - 1));
            memcpy(s + 1 - k, "1", 2);
            check_strtod(s, (size_t)(2 - k));
        }
        /* the double nearest 10^k and its neighbours, at 17 digits */
        double d = strtod_l((snprintf(s, sizeof s, "1e%d", k), s), NULL, c_loc);
        if (d != 0 && !isinf(d)) {
            roundtrip_fmt("%.17g", d);
            roundtrip_fmt("%.17g", nextafter(d, 0));
            roundtrip_fmt("%.17g", nextafter(d, INFINITY));
            roundtrip_fmt("%.16e", d);
        }
    }
    for (int k = 0; k <= 22; k++) /* Clinger's range and one past it */
        for (int m = 1; m <= 9; m++) {
            roundtrip_fmt("%.0f", m * pow(10, k));
            int n = snprintf(s, sizeof s, "%de-%d", m, k);
            check_strtod(s, (size_t)n);
            n = snprintf(s, sizeof s, "9007199254740993e%d", k);
            check_strtod(s, (size_t)n);
            n = snprintf(s, sizeof s, "9007199254740993e-%d", k);
            check_strtod(s, (size_t)n);
            n = snprintf(s, sizeof s, "9007199254740992e%d", k + 1);
            check_strtod(s, (size_t)n);
            n = snprintf(s, sizeof s, "9007199254740992e-%d", k + 1);
            check_strtod(s, (size_t)n);
        }
}

/* Around DBL_MIN, the least subnormal, DBL_MAX and the overflow threshold. */
static void test_subnormal_boundaries(void **state)
{
    (void)state;
    static const char *fmts[] = {"%.17g", "%.16e", "%.20e", "%.30e", "%.3e",
                                 "%.1e", "%.0e"};
    static const double anchors[] = {DBL_MIN, 0x1p-1074, 0x1p-1073,
                                     0x1p-1060, 0x1p-1023, DBL_MAX, 0x1p1023};
    for (size_t a = 0; a < sizeof anchors / sizeof anchors[0]; a++) {
        double lo = anchors[a], hi = anchors[a];
        for (int i = 0; i < 300; i++) {
            for (size_t f = 0; f < sizeof fmts / sizeof fmts[0]; f++) {
                roundtrip_fmt(fmts[f], lo);
                if (!isinf(hi))
                    roundtrip_fmt(fmts[f], hi);
            }
            lo = nextafter(lo, 0);
            hi = nextafter(hi, INFINITY);
        }
    }
    static const char *texts[] = {
        "2.2250738585072014e-308", "2.2250738585072013e-308",
        "2.2250738585072012e-308", "2.2250738585072011e-308",
        "2.22507385850720138309e-308", "2.22507385850720113605e-308",
        "2.2250738585072011360574097967091319759348195463516456480234261e-308",
        "4.9406564584124654e-324", "4.94065645841246544e-324",
        "2.4703282292062327208828439643411068618252990130716238221279284e-324",
        "2.4703282292062327208828439643411068618252990130716238221279285e-324",
        "7.4109846876186981626485318930233205854758970392148714663837852e-324",
        "7.4109846876186981626485318930233205854758970392148714663837851e-324",
        "1.7976931348623158079372897140530341507993413271003782693617377e308",
        "1.7976931348623158079372897140530341507993413271003782693617378e308",
        "1.797693134862315807937289714053034150799341327100378269361737e308",
        "179769313486231580793728971405303415079934132710037826936173770e245",
        "1.7976931348623157e308", "1.7976931348623158e308",
        "1.7976931348623159e308", "1e-323", "1e-324", "3e-324", "2e-324",
        "2.5e-324", "2.4e-324", "2.47e-324", "2.48e-324", "4e-320",
        "9.8813129168249309e-324", "1.4821969375237396e-323",
        "0.000000000000000000000000000000000000000000000000000000000000000000"
        "00000000000000000000000000000000000000000000000000000000000000000000"
        "00000000000000000000000000000000000000000000000000000000000000000000"
        "00000000000000000000000000000000000000000000000000000000000000000000"
        "0000000000000000000000000000000000000000000000000049406564584124654",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        check_same(texts[i]);
}

/* ---- exact midpoints between adjacent doubles ------------------------- */

/* s[0..n) (digits, first non-zero) plus or minus one unit in the last place,
 * in place; returns the new length (one more on 99..9 + 1, with the
 * exponent *x adjusted so that the value is digits * 10^x). */
static int digits_step(char *s, int n, int up, int *x)
{
    int i = n - 1;
    if (up) {
        while (i >= 0 && s[i] == '9')
            s[i--] = '0';
        if (i >= 0) {
            s[i]++;
            return n;
        }
        memmove(s + 1, s, (size_t)n);
        s[0] = '1';
        return n + 1;
    }
    while (s[i] == '0')
        s[i--] = '9';
    s[i]--;
    if (s[0] == '0') { /* 100..0 - 1 = 099..9: keep the length, one less digit */
        memmove(s, s + 1, (size_t)n - 1);
        s[n - 1] = '9';
        (*x)--;
        return n;
    }
    return n;
}

/* The midpoint above d (d finite, > 0, below DBL_MAX) as digits * 10^x. */
static int midpoint_digits(double d, char *s, int *x)
{
    int e;
    double f = frexp(d, &e); /* d = f * 2^e, f in [0.5, 1) */
    uint64_t m;
    int e2;
    if (e < -1021) { /* subnormal: m * 2^-1074 */
        m = (uint64_t)ldexp(d, 1074);
        e2 = -1074;
    } else {
        m = (uint64_t)ldexp(f, 53);
        e2 = e - 53;
    }
    /* midpoint = (2m + 1) * 2^(e2 - 1) */
    return exact_decimal(2 * m + 1, e2 - 1, s, x);
}

/* The midpoint between d and its successor, spelt exactly, one unit above
 * and below in the last digit, and cut to 18..25 significant digits (below)
 * and cut plus one unit (above); each rounds to a known one of the two. */
static void check_midpoint(double d)
{
    static char dig[2048], s[2200];
    double up = nextafter(d, INFINITY);
    int x;
    int n = midpoint_digits(d, dig, &x);
    uint64_t bd = bits(d);
    double even = (bd & 1) ? up : d;

    struct { int len, up, cut; } v[32];
    int nv = 0;
    v[nv].len = n, v[nv].up = -1, v[nv++].cut = 0; /* exact */
    v[nv].len = n, v[nv].up = 1, v[nv++].cut = 0;
    v[nv].len = n, v[nv].up = 0, v[nv++].cut = 0;
    /* from 18 digits on, one unit in the last place is < 2^-54 relative:
     * less than half an ulp, so the cuts stay between d and up */
    for (int c = 18; c <= 25 && c < n; c++) {
        v[nv].len = c, v[nv].up = 0, v[nv++].cut = 1;
        v[nv].len = c, v[nv].up = 1, v[nv++].cut = 1;
    }
    for (int i = 0; i < nv; i++) {
        char t[2048];
        int len = v[i].len, xe = x + (n - v[i].len);
        memcpy(t, dig, (size_t)len);
        double want;
        if (v[i].up < 0) {
            want = even;
        } else if (v[i].up) {
            len = digits_step(t, len, 1, &xe);
            want = up;
        } else if (!v[i].cut) { /* exact minus one unit */
            len = digits_step(t, len, 0, &xe);
            want = d;
        } else { /* cut: below unless only zeros were cut */
            want = even;
            for (int k = len; k < n; k++)
                if (dig[k] != '0')
                    want = d;
        }
        int sl = 0;
        memcpy(s, t, (size_t)len);
        sl = len;
        sl += sprintf(s + sl, "e%d", xe);
        double got = 12345.0;
        if (mr_parse_double(s, (size_t)sl, &got) != 0)
            fail_msg("rejected: \"%.60s...\"", s);
        if (bits(got) != bits(want))
            fail_msg("midpoint of %a, variant %d: \"%.40s...e%d\" (%d digits) gave %a, want %a",
                     d, i, s, xe, len, got, want);
        double ref = strtod_l(s, NULL, c_loc);
        if (bits(ref) != bits(want))
            fail_msg("midpoint of %a, variant %d: strtod %a, want %a", d, i, ref, want);
    }
}

static void test_random_midpoints(void **state)
{
    (void)state;
    rng_state = 0x243F6A8885A308D3u;
    const long long count = random_count(1000000) / 200;
    for (long long i = 0; i < count; i++) {
        double d = fabs(random_double());
        switch (i & 3) {
        case 0: { /* subnormal */
            uint64_t u = xorshift() >> 12;
            memcpy(&d, &u, sizeof d);
            break;
        }
        case 1: /* moderate exponents: shorter midpoints */
            d = ldexp(frexp(d, &(int){0}), (int)(xorshift() % 200) - 100);
            break;
        default:
            break;
        }
        if (d == 0 || isinf(d) || d == DBL_MAX)
            continue;
        check_midpoint(d);
    }
    check_midpoint(DBL_MIN);
    check_midpoint(nextafter(DBL_MIN, 0));
    check_midpoint(0x1p-1074);
    check_midpoint(nextafter(DBL_MAX, 0));
    check_midpoint(1.0);
    check_midpoint(nextafter(1.0, 0));
    print_message("%lld random midpoints, 3 to 19 spellings each\n", count);
}

/* Midpoints with at most 19 or 20 significant digits, the ones the
 * Eisel-Lemire path sees whole: integers (2m+1) * 2^(k-1) between 2^53 and
 * 2^64, and (2m+1) * 2^-j (j = 1..3) just below 2^53. */
static void test_short_midpoints(void **state)
{
    (void)state;
    rng_state = 0x13198A2E03707344u;
    char s[64];
    const long long count = random_count(1000000) / 10;
    for (long long i = 0; i < count; i++) {
        uint64_t m = ((uint64_t)1 << 52) | (xorshift() >> 12); /* 53 bits */
        if (i % 7 == 0)
            m = (i % 14 == 0) ? ((uint64_t)1 << 52) : ((uint64_t)1 << 53) - 1;
        int k = (int)(xorshift() % 15) - 3; /* ulp 2^k of a double m * 2^k */
        uint64_t odd = 2 * m + 1;
        double d = ldexp((double)m, k);
        double up = nextafter(d, INFINITY);
        double even = (m & 1) ? up : d;
        int n;
        for (int v = 0; v < 3; v++) { /* exact, one above, one below */
            uint64_t t;
            int e10;
            if (k >= 1) {
                if (k > 11)
                    break; /* (2m+1) * 2^(k-1) < 2^64 */
                t = odd << (k - 1);
                e10 = 0;
            } else {
                t = odd;
                for (int j = 0; j < 1 - k; j++)
                    t *= 5; /* (2m+1) * 5^j * 10^-j */
                e10 = k - 1;
            }
            t += v == 1 ? 1 : v == 2 ? (uint64_t)-1 : 0;
            double want = v == 0 ? even : v == 1 ? up : d;
            n = snprintf(s, sizeof s, "%llue%d", (unsigned long long)t, e10);
            double got = 12345.0;
            if (mr_parse_double(s, (size_t)n, &got) != 0 || bits(got) != bits(want))
                fail_msg("\"%s\": got %a, want %a", s, got, want);
            check_strtod(s, (size_t)n);
        }
    }
    print_message("%lld short midpoints, 3 spellings each\n", count);
}

/* Inputs at the edges of each path: 19 and 20 digits, w = 2^53 and
 * 2^53 + 1, q = +-22 and +-23, the ends of the table, UINT64_MAX. */
static void test_path_edges(void **state)
{
    (void)state;
    static const char *t[] = {
        "9999999999999999999", "99999999999999999999", "10000000000000000000",
        "18446744073709551615", "18446744073709551616", "18446744073709551617",
        "1844674407370955161.5", "1844674407370955161.6e-3",
        "9223372036854775807", "9223372036854775808", "9223372036854775809",
        "9007199254740992e22", "9007199254740992e-22", "9007199254740992e23",
        "9007199254740992e-23", "9007199254740993e22", "9007199254740993e-22",
        "1e308", "1e-342", "1e-343", "9999999999999999999e-343",
        "9999999999999999999e-342", "1e-325", "1e-326", "9999999999999999999e289",
        "9999999999999999999e290", "1797693134862315708e290",
        "1797693134862315807e290", "1797693134862315808e290",
        "17976931348623158079e289", "17976931348623158080e289",
        "2470328229206232720e-342", "2470328229206232721e-342",
        "24703282292062327208e-343", "24703282292062327209e-343",
        "4940656458412465441e-342", "4940656458412465442e-342",
        "2225073858507201136e-326", "2225073858507201137e-326",
        "22250738585072011360e-327", "22250738585072011361e-327",
        "1234567890123456789e-7", "12345678901234567890e-8",
        "123456789012345678901234567890", "0.1234567890123456789012345678",
        "7.0e-10", "3.0e-322", "5e-324", "0.30000000000000000001",
        "0.29999999999999999999", "4.0e22", "4.3e22", "1.1e23",
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        check_same(t[i]);
        char neg[64];
        snprintf(neg, sizeof neg, "-%s", t[i]);
        check_same(neg);
    }
}

static void test_comma_locale(void **state)
{
    (void)state;
    static const char *names[] = {
        "de_DE.UTF-8", "de_DE.utf8", "de_DE", "fr_FR.UTF-8", "fr_FR.utf8",
        "fr_FR", "nl_NL.UTF-8", "ru_RU.UTF-8", "es_ES.UTF-8", "it_IT.UTF-8",
    };
    const char *found = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !found; i++)
        if (setlocale(LC_NUMERIC, names[i]) != NULL)
            found = names[i];
    if (!found || strcmp(localeconv()->decimal_point, ",") != 0) {
        setlocale(LC_NUMERIC, "C");
        skip();
    }
    double d = 0;
    int rc1 = mr_parse_double("1.5", 3, &d);
    double d1 = d;
    int rc2 = mr_parse_double("1,5", 3, &d);
    const char *slow = "1.00000000000000000000000000000000000001e-300";
    int rc3 = mr_parse_double(slow, strlen(slow), &d);
    double d3 = d;
    setlocale(LC_NUMERIC, "C");
    assert_int_equal(rc1, 0);
    assert_true(d1 == 1.5);
    assert_int_equal(rc2, -1);
    assert_int_equal(rc3, 0);
    assert_true(bits(d3) == bits(reference(slow)));
}

static void *thread_body(void *arg)
{
    static const char *inputs[] = {
        "0.1", "2.2250738585072011e-308", "1.00000000000000000000000001",
        "123456789012345678901234567890e-40", "-1e-320", "inf",
    };
    double want[6];
    for (int i = 0; i < 6; i++)
        want[i] = reference(inputs[i]);
    for (int rep = 0; rep < 20000; rep++) {
        int i = rep % 6;
        double d;
        if (mr_parse_double(inputs[i], strlen(inputs[i]), &d) != 0 ||
            bits(d) != bits(want[i]))
            return arg;
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    static int failed = 1; /* a thread returns &failed on a wrong result */
    pthread_t th[8];
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&th[i], NULL, thread_body, &failed), 0);
    for (int i = 0; i < 8; i++) {
        void *ret;
        assert_int_equal(pthread_join(th[i], &ret), 0);
        assert_null(ret);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads), /* first: races the lazy init */
        cmocka_unit_test(test_grammar_accept),
        cmocka_unit_test(test_grammar_reject),
        cmocka_unit_test(test_length_bounds),
        cmocka_unit_test(test_hard_cases),
        cmocka_unit_test(test_midpoints),
        cmocka_unit_test(test_long_mantissas),
        cmocka_unit_test(test_random_doubles),
        cmocka_unit_test(test_random_decimals),
        cmocka_unit_test(test_powers),
        cmocka_unit_test(test_subnormal_boundaries),
        cmocka_unit_test(test_random_midpoints),
        cmocka_unit_test(test_short_midpoints),
        cmocka_unit_test(test_path_edges),
        cmocka_unit_test(test_comma_locale),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
