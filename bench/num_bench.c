/* num_bench.c — mr_parse_double / mr_format_double against glibc.
 *
 *   cc -O3 -ffp-contract=off -D_GNU_SOURCE -Isrc -Isrc/include \
 *      bench/num_bench.c src/numparse.c src/numfmt.c -lpthread -lm
 *   ./a.out [count] [--json]   (default 1000000 values per set; --json: one JSON
 *                              line instead of the text table, for bench/run)
 *
 * Two sets of doubles: uniform in [0, 1) (53 random bits) and random 64-bit
 * patterns (NaN excluded). Each set is printed twice, with "%.17g" and with
 * mr_format_double (the shortest repr). Timed, per value, median of 5 runs:
 *   parse:  strtod and mr_parse_double on both texts;
 *   format: snprintf("%.17g") and mr_format_double.
 * Every parse is checked against the original bits (outside the timed loop),
 * so the numbers are for correct results only.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "numfmt.h"
#include "numparse.h"

#define RUNS 5

static uint64_t rng = 0x9E3779B97F4A7C15u;

static uint64_t next_u64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t bits_of(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

/* NUL-terminated texts, back to back. */
struct texts {
    char *buf;
    size_t *off;
    unsigned char *len;
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *t)
{
    qsort(t, RUNS, sizeof *t, cmp_double);
    return t[RUNS / 2];
}

static volatile uint64_t sink;

static void die(const char *what, size_t i)
{
    fprintf(stderr, "num_bench: %s wrong at value %zu\n", what, i);
    exit(1);
}

static double time_strtod(const struct texts *t, const double *v, size_t n)
{
    double ts[RUNS];
    for (int r = 0; r < RUNS; r++) {
        uint64_t acc = 0;
        double t0 = now_ns();
        for (size_t i = 0; i < n; i++)
            acc ^= bits_of(strtod(t->buf + t->off[i], NULL));
        ts[r] = (now_ns() - t0) / (double)n;
        sink = acc;
    }
    for (size_t i = 0; i < n; i++)
        if (bits_of(strtod(t->buf + t->off[i], NULL)) != bits_of(v[i]))
            die("strtod", i);
    return median(ts);
}

static double time_parse(const struct texts *t, const double *v, size_t n)
{
    double ts[RUNS];
    for (int r = 0; r < RUNS; r++) {
        uint64_t acc = 0;
        double t0 = now_ns();
        for (size_t i = 0; i < n; i++) {
            double d;
            mr_parse_double(t->buf + t->off[i], t->len[i], &d);
            acc ^= bits_of(d);
        }
        ts[r] = (now_ns() - t0) / (double)n;
        sink = acc;
    }
    for (size_t i = 0; i < n; i++) {
        double d;
        if (mr_parse_double(t->buf + t->off[i], t->len[i], &d) != 0 ||
            bits_of(d) != bits_of(v[i]))
            die("mr_parse_double", i);
    }
    return median(ts);
}

static double time_printf(const double *v, size_t n)
{
    double ts[RUNS];
    char s[40];
    for (int r = 0; r < RUNS; r++) {
        uint64_t acc = 0;
        double t0 = now_ns();
        for (size_t i = 0; i < n; i++)
            acc += (uint64_t)snprintf(s, sizeof s, "%.17g", v[i]) + (unsigned char)s[1];
        ts[r] = (now_ns() - t0) / (double)n;
        sink = acc;
    }
    return median(ts);
}

static double time_format(const double *v, size_t n)
{
    double ts[RUNS];
    char s[MR_FMT_MAX];
    for (int r = 0; r < RUNS; r++) {
        uint64_t acc = 0;
        double t0 = now_ns();
        for (size_t i = 0; i < n; i++)
            acc += mr_format_double(v[i], s) + (unsigned char)s[1];
        ts[r] = (now_ns() - t0) / (double)n;
        sink = acc;
    }
    return median(ts);
}

static void make_texts(struct texts *t, const double *v, size_t n, int shortest)
{
    t->buf = malloc(n * 32);
    t->off = malloc(n * sizeof *t->off);
    t->len = malloc(n);
    if (!t->buf || !t->off || !t->len) {
        perror("malloc");
        exit(1);
    }
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        int k;
        if (shortest)
            k = (int)mr_format_double(v[i], t->buf + pos);
        else
            k = snprintf(t->buf + pos, 32, "%.17g", v[i]);
        t->buf[pos + (size_t)k] = '\0';
        t->off[i] = pos;
        t->len[i] = (unsigned char)k;
        pos += (size_t)k + 1;
    }
}

static void free_texts(struct texts *t)
{
    free(t->buf);
    free(t->off);
    free(t->len);
}

static int json_out;

static void bench_set(const char *name, const double *v, size_t n, const char *sep)
{
    struct texts g, s;
    make_texts(&g, v, n, 0);
    make_texts(&s, v, n, 1);
    double mean_g = 0, mean_s = 0;
    for (size_t i = 0; i < n; i++) {
        mean_g += g.len[i];
        mean_s += s.len[i];
    }

    double strtod_g = time_strtod(&g, v, n), parse_g = time_parse(&g, v, n);
    double strtod_s = time_strtod(&s, v, n), parse_s = time_parse(&s, v, n);
    double printf_t = time_printf(v, n), format_t = time_format(v, n);

    if (json_out) {
        printf("%s\"%s\": {\"values\": %zu, \"chars_17g\": %.2f, \"chars_shortest\": %.2f, "
               "\"strtod_17g_ns\": %.3f, \"parse_17g_ns\": %.3f, \"strtod_shortest_ns\": %.3f, "
               "\"parse_shortest_ns\": %.3f, \"printf_ns\": %.3f, \"format_ns\": %.3f}",
               sep, name, n, mean_g / (double)n, mean_s / (double)n, strtod_g, parse_g, strtod_s,
               parse_s, printf_t, format_t);
        free_texts(&g);
        free_texts(&s);
        return;
    }
    printf("%s (%zu values; %%.17g texts %.1f chars, shortest %.1f chars)\n", name,
           n, mean_g / (double)n, mean_s / (double)n);
    printf("  parse  %%.17g text:   strtod %7.1f ns   mr_parse_double %6.1f ns   x%.2f\n",
           strtod_g, parse_g, strtod_g / parse_g);
    printf("  parse  shortest text: strtod %7.1f ns   mr_parse_double %6.1f ns   x%.2f\n",
           strtod_s, parse_s, strtod_s / parse_s);
    printf("  format:  snprintf %%.17g %7.1f ns   mr_format_double %6.1f ns   x%.2f\n",
           printf_t, format_t, printf_t / format_t);
    free_texts(&g);
    free_texts(&s);
}

int main(int argc, char **argv)
{
    size_t n = 1000000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json_out = 1;
        else
            n = (size_t)strtoull(argv[i], NULL, 10);
    }
    if (n == 0)
        n = 1;
    double *v = malloc(n * sizeof *v);
    if (!v) {
        perror("malloc");
        return 1;
    }
    if (json_out)
        printf("{\"runs\": %d, \"sets\": {", RUNS);
    else
        printf("num_bench: ns per value, median of %d runs; xN = glibc time / ours\n", RUNS);

    for (size_t i = 0; i < n; i++)
        v[i] = (double)(next_u64() >> 11) * 0x1p-53;
    bench_set("uniform [0,1)", v, n, "");

    for (size_t i = 0; i < n;) {
        uint64_t u = next_u64();
        double d;
        memcpy(&d, &u, sizeof d);
        if (!isnan(d))
            v[i++] = d;
    }
    bench_set("random bit patterns", v, n, ", ");
    if (json_out)
        printf("}}\n");

    free(v);
    return 0;
}
