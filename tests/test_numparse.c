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
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numparse.h"

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
    for (int i = 0; i < (e2 < 0 ? -e2 : e2); i++)
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
    snprintf(s, sizeof s, fmt, d);
    double got;
    if (mr_parse_double(s, strlen(s), &got) != 0)
        fail_msg("rejected: \"%s\"", s);
    double want = reference(s);
    if (bits(got) != bits(want))
        fail_msg("\"%s\": got %a, strtod %a", s, got, want);
}

static void test_random_doubles(void **state)
{
    (void)state;
    rng_state = 0x0123456789ABCDEFu;
    for (int i = 0; i < 1000000; i++) {
        uint64_t u = xorshift();
        double d;
        memcpy(&d, &u, sizeof d);
        if (isnan(d))
            continue;
        roundtrip_fmt("%.17g", d);
        roundtrip_fmt("%.15g", d);
        roundtrip_fmt("%.6e", d);
    }
}

/* Random short decimal texts, the inputs the fast path decides. */
static void test_random_decimals(void **state)
{
    (void)state;
    rng_state = 0xFEDCBA9876543210u;
    char s[64];
    for (int i = 0; i < 300000; i++) {
        int len = 0;
        uint64_t r = xorshift();
        if (r & 1)
            s[len++] = '-';
        int n = 1 + (int)((r >> 1) % 22);
        int pt = (int)((r >> 8) % (uint64_t)(n + 2)) - 1;
        for (int k = 0; k < n; k++) {
            if (k == pt)
                s[len++] = '.';
            s[len++] = (char)('0' + xorshift() % 10);
        }
        if (pt == n)
            s[len++] = '.';
        if ((r >> 16) & 1)
            len += sprintf(s + len, "e%d", (int)((r >> 20) % 80) - 40);
        s[len] = '\0';
        check_same(s);
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
        cmocka_unit_test(test_comma_locale),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
