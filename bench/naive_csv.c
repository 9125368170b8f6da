/* naive_csv.c — the CSV -> CSV floor: what a careful programmer writes in an afternoon.
 *
 *   naive_csv INPUT.csv > OUT.csv
 *
 * mmap the file, split records by hand (no quoting, no missing tokens), strtod every model
 * column (columns found by header name; others skipped unparsed), the generated
 * straight-line floor_row() (gen_floor.py, -include floor_<model>.h), printf("%.17g") into
 * a 1 MiB stdio buffer. One thread. Exit 4 on a cell strtod does not consume. */
#include <fcntl.h>
#include <math.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_util.h"

#ifndef FLOOR_MODEL_H
#error "compile with -include floor_<model>.h (bench/gen_floor.py)"
#endif

#define MAX_COLS 4096

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s INPUT.csv > OUT.csv\n", argv[0]);
        return 2;
    }
    const int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        bu_die(argv[1], NULL);
    const size_t size = (size_t)st.st_size;
    if (size == 0)
        bu_die(argv[1], "empty file");
    const char *buf = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (buf == MAP_FAILED)
        bu_die(argv[1], NULL);
    madvise((void *)buf, size, MADV_SEQUENTIAL);
    if (buf[size - 1] != '\n')
        bu_die(argv[1], "needs a final newline (strtod must stop inside the mapping)");
    const char *p = buf, *const end = buf + size;

    /* header: column -> feature index, or -1 (skipped) */
    static int col[MAX_COLS];
    int ncol = 0, found = 0;
    for (;;) {
        const char *q = p;
        while (*q != ',' && *q != '\n' && *q != '\r')
            q++;
        if (ncol == MAX_COLS)
            bu_die(argv[1], "too many columns");
        col[ncol] = -1;
        for (int j = 0; j < FLOOR_NF; j++)
            if (strlen(FLOOR_NAMES[j]) == (size_t)(q - p) && memcmp(FLOOR_NAMES[j], p, (size_t)(q - p)) == 0) {
                col[ncol] = j;
                found++;
            }
        ncol++;
        p = q + 1;
        if (*q != ',') {
            if (*q == '\r')
                p++;
            break;
        }
    }
    if (found != FLOOR_NF)
        bu_die(argv[1], "header lacks a model feature");

    static char obuf[1 << 20];
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    fputs("prediction\n", stdout);
    double x[FLOOR_NF];
    while (p < end) {
        for (int c = 0; c < ncol; c++) {
            if (col[c] >= 0) {
                char *e;
                const double v = strtod(p, &e);
                if (e == p) {
                    if (*p != ',' && *p != '\n' && *p != '\r')
                        bu_die(argv[1], "not a number");
                    x[col[c]] = NAN; /* empty cell */
                } else {
                    x[col[c]] = v;
                }
                p = e;
                if (*p != ',' && *p != '\n' && *p != '\r')
                    bu_die(argv[1], "not a number");
            } else {
                while (*p != ',' && *p != '\n')
                    p++;
            }
            if (*p == '\r')
                p++;
            p++; /* the ',' or '\n' */
        }
        printf("%.17g\n", floor_row(x));
    }
    if (fflush(stdout) != 0)
        bu_die("stdout", NULL);
    munmap((void *)buf, size);
    close(fd);
    return 0;
}
