/* progress.h — --progress: rows, rows/s and % of the input read, on stderr,
 * at most twice a second and once at the end (one line rewritten in place
 * on a terminal). */
#ifndef CLI_PROGRESS_H
#define CLI_PROGRESS_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

typedef struct cli_progress {
    struct timespec start, last;
    uint64_t total; /* bytes this process reads (0: unknown, no %) */
    int tty;
    char label[64]; /* "" or e.g. "shard 2/8: " */
    FILE *to;
} cli_progress;

/* to: where the lines go (stderr; the MPI driver passes the real stderr
 * while it holds other messages back). */
void cli_progress_start(cli_progress *p, FILE *to, uint64_t total_bytes, const char *label);
/* An mr_progress_fn: the cookie is a cli_progress. */
void cli_progress_update(void *cookie, uint64_t rows, uint64_t bytes);
/* After the run: ok -> one last line with the final counts (always shown,
 * so even a short run reports), then the line ends on a terminal. */
void cli_progress_end(cli_progress *p, int ok, uint64_t rows, uint64_t bytes);

#endif
