/* fuzz_numparse.c — mr_parse_double against strtod, mr_format_double against
 * Python's repr rules.
 *
 * Input: the text of one cell (no NUL needed).
 *  - If it matches  [+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?  or
 *    [+-]?(inf|infinity) (any case), mr_parse_double must accept it and give
 *    strtod's result bit for bit (C locale); otherwise it must reject it and
 *    leave *out alone.
 *  - The value read (or the input's first 8 bytes as a double) is formatted
 *    with mr_format_double: the text must be the shortest that round-trips,
 *    the closest of that length, in repr's fixed/scientific layout. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "numfmt.h"
#include "numparse.h"

static int digit(char c)
{
    return c >= '0' && c <= '9';
}

static int nocase_eq(const char *s, size_t len, const char *word)
{
    if (strlen(word) != len)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != word[i])
            return 0;
    }
    return 1;
}

/* The docs/SEMANTICS.md §3 number grammar, by hand. */
static int in_grammar(const char *s, size_t len)
{
    size_t i = 0;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    if (nocase_eq(s + i, len - i, "inf") || nocase_eq(s + i, len - i, "infinity"))
        return 1;
    size_t nd = 0;
    while (i < len && digit(s[i]))
        i++, nd++;
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && digit(s[i]))
            i++, nd++;
    }
    if (nd == 0)
        return 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t ne = 0;
        while (i < len && digit(s[i]))
            i++, ne++;
        if (ne == 0)
            return 0;
    }
    return i == len;
}

/* Shortest p-digit decimal M * 10^E that reads back as v: the correctly
 * rounded one, or at a power of two (where the gap below v is half the gap
 * above) its upper/lower neighbour; the closest wins. 0 if none. */
static int shortest_at(double v, int p, uint64_t *m, int *e)
{
    char s[48];
    snprintf(s, sizeof s, "%.*e", p - 1, v);
    uint64_t m0 = 0;
    const char *q = s;
    for (; *q != 'e'; q++)
        if (digit(*q))
            m0 = m0 * 10 + (uint64_t)(*q - '0');
    const int e0 = atoi(q + 1) - (p - 1);
    const uint64_t cand[3] = {m0, m0 + 1, m0 - 1};
    long double best = -1;
    for (int i = 0; i < 3; i++) {
        if (cand[i] == 0)
            continue;
        snprintf(s, sizeof s, "%llue%d", (unsigned long long)cand[i], e0);
        if (strtod(s, NULL) != v)
            continue;
        const long double d = fabsl(strtold(s, NULL) - (long double)v);
        if (best < 0 || d < best) {
            best = d;
            *m = cand[i];
            *e = e0;
        }
    }
    return best >= 0;
}

/* Python repr(float): shortest round-tripping digits, closest of those,
 * fixed notation for decimal exponents in [-4, 16). */
static void py_repr(double v, char *out, size_t cap)
{
    if (isnan(v)) {
        snprintf(out, cap, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(out, cap, v < 0 ? "-inf" : "inf");
        return;
    }
    const double a = fabs(v);
    uint64_t m = 0;
    int e = 0;
    for (int p = 1; p <= 17 && !shortest_at(a, p, &m, &e); p++)
        ;
    while (m >= 10 && m % 10 == 0) {
        m /= 10;
        e++;
    }
    char dig[24];
    const size_t nd = (size_t)snprintf(dig, sizeof dig, "%llu", (unsigned long long)m);
    const int x = e + (int)nd - 1; /* v = d.ddd * 10^x */
    size_t o = 0;
    if (signbit(v))
        out[o++] = '-';
    if (x >= -4 && x < 16) {
        if (x < 0) {
            o += (size_t)snprintf(out + o, cap - o, "0.%.*s%s", -x - 1, "0000", dig);
        } else {
            for (int k = 0; k <= x; k++)
                out[o++] = (size_t)k < nd ? dig[k] : '0';
            out[o++] = '.';
            if ((size_t)x + 1 < nd)
                o += (size_t)snprintf(out + o, cap - o, "%s", dig + x + 1);
            else
                out[o++] = '0';
            out[o] = '\0';
        }
    } else {
        out[o++] = dig[0];
        if (nd > 1)
            o += (size_t)snprintf(out + o, cap - o, ".%s", dig + 1);
        snprintf(out + o, cap - o, "e%c%02d", x < 0 ? '-' : '+', x < 0 ? -x : x);
    }
}

static void check_format(double v)
{
    char buf[MR_FMT_MAX + 1], want[64];
    const size_t n = mr_format_double(v, buf);
    FUZZ_CHECK(n > 0 && n <= MR_FMT_MAX, "format length %zu", n);
    buf[n] = '\0';
    py_repr(v, want, sizeof want);
    FUZZ_CHECK(strcmp(buf, want) == 0, "format %a: '%s', repr '%s'", v, buf, want);
    if (!isnan(v)) {
        double back = 0;
        FUZZ_CHECK(mr_parse_double(buf, n, &back) == 0 && fz_same(back, v),
                   "'%s' does not read back as %a", buf, v);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    const double sentinel = 12345.678;
    double got = sentinel;
    const int rc = mr_parse_double(s, size, &got);
    if (in_grammar(s, size)) {
        char *z = malloc(size + 1);
        FUZZ_CHECK(z, "oom");
        memcpy(z, s, size);
        z[size] = '\0';
        char *end;
        const double want = strtod(z, &end);
        FUZZ_CHECK(end == z + size, "strtod stopped at %zu of %zu", (size_t)(end - z), size);
        free(z);
        FUZZ_CHECK(rc == 0, "rejected a number in the grammar (%zu bytes)", size);
        FUZZ_CHECK(memcmp(&got, &want, sizeof got) == 0, "%a, strtod %a (%zu bytes)", got, want,
                   size);
        check_format(got);
    } else {
        FUZZ_CHECK(rc == -1, "accepted text outside the grammar (%zu bytes): %a", size, got);
        FUZZ_CHECK(memcmp(&got, &sentinel, sizeof got) == 0, "rejected but *out was written");
    }
    if (size >= 8) {
        double v;
        memcpy(&v, data, 8);
        check_format(v);
    }
    return 0;
}
