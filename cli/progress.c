/* progress.c — see progress.h. */
#include "progress.h"

#include <unistd.h>

static double since(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) * 1e-9;
}

void cli_progress_start(cli_progress *p, FILE *to, uint64_t total_bytes, const char *label)
{
    p->to = to;
    p->total = total_bytes;
    p->tty = isatty(fileno(to));
    snprintf(p->label, sizeof p->label, "%s", label ? label : "");
    clock_gettime(CLOCK_MONOTONIC, &p->start);
    p->last = p->start;
}

static void show(cli_progress *p, uint64_t rows, uint64_t bytes, int force)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (!force && since(&p->last, &now) < 0.5)
        return; /* rate-limited: at most two lines a second */
    p->last = now;
    const double s = since(&p->start, &now);
    char pct[32] = "";
    if (p->total > 0)
        snprintf(pct, sizeof pct, ", %.0f%%", 100.0 * (double)bytes / (double)p->total);
    fprintf(p->to, "%smars-replay: %s%llu rows, %.0f rows/s%s%s", p->tty ? "\r" : "", p->label,
            (unsigned long long)rows, s > 0 ? (double)rows / s : 0.0, pct, p->tty ? "" : "\n");
    fflush(p->to);
}

void cli_progress_update(void *cookie, uint64_t rows, uint64_t bytes)
{
    show(cookie, rows, bytes, 0);
}

void cli_progress_end(cli_progress *p, int ok, uint64_t rows, uint64_t bytes)
{
    if (ok)
        show(p, rows, bytes, 1);
    if (p->tty)
        fputc('\n', p->to);
    fflush(p->to);
}
