/* partition.c — see partition.h. */
#include "partition.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int io_retries;

void part_set_io_retries(int n)
{
    io_retries = n;
}

int part_retry_transient(int *tries, int max)
{
    const int e = errno;
    if (!(e == EAGAIN || e == EWOULDBLOCK || e == EIO || e == ETIMEDOUT) || *tries >= max)
        return 0;
    long ms = 10L << (*tries < 8 ? *tries : 8);
    if (ms > 2000)
        ms = 2000;
    const struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
    (*tries)++;
    errno = e;
    return 1;
}


/* pread all of [off, off+len) unless EOF comes first; returns bytes read or -1. */
ssize_t part_pread(int fd, void *dst, size_t len, uint64_t off)
{
    char *buf = dst;
    size_t got = 0;
    int tries = 0;
    while (got < len) {
        const ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));
        if (n < 0) {
            if (errno == EINTR || part_retry_transient(&tries, io_retries))
                continue;
            return -1;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

static int parse_u64(const char *s, uint64_t *v)
{
    if (!s || *s < '0' || *s > '9')
        return -1;
    char *end;
    errno = 0;
    const unsigned long long x = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *v = x;
    return 0;
}

int part_parse_shard(const char *s, uint64_t *k, uint64_t *n, char *why, size_t whylen)
{
    const char *slash = strchr(s, '/');
    char a[32];
    if (!slash || (size_t)(slash - s) >= sizeof a) {
        snprintf(why, whylen, "expected K/N (e.g. 0/4) or auto, found '%s'", s);
        return -1;
    }
    memcpy(a, s, (size_t)(slash - s));
    a[slash - s] = '\0';
    if (parse_u64(a, k) != 0 || parse_u64(slash + 1, n) != 0) {
        snprintf(why, whylen, "expected K/N with whole numbers (e.g. 0/4), found '%s'", s);
        return -1;
    }
    if (*n < 1 || *n > 1000000 || *k >= *n) {
        snprintf(why, whylen, "expected 0 <= K < N <= 1000000, found '%s'", s);
        return -1;
    }
    return 0;
}

int part_slurm_shard(const char *(*get)(const char *), uint64_t *k, uint64_t *n, char *why,
                     size_t whylen)
{
    static const char *const names[] = { "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN",
                                         "SLURM_ARRAY_TASK_MAX", "SLURM_ARRAY_TASK_COUNT" };
    uint64_t v[4], step = 1;
    for (int i = 0; i < 4; i++) {
        const char *s = get(names[i]);
        if (!s || !*s) {
            snprintf(why, whylen, "%s is not set: --shard auto needs a Slurm job array (sbatch --array=0-N)",
                     names[i]);
            return -1;
        }
        if (parse_u64(s, &v[i]) != 0) {
            snprintf(why, whylen, "%s: expected a whole number, found '%s'", names[i], s);
            return -1;
        }
    }
    const char *st = get("SLURM_ARRAY_TASK_STEP");
    if (st && *st && (parse_u64(st, &step) != 0 || step == 0)) {
        snprintf(why, whylen, "SLURM_ARRAY_TASK_STEP: expected a whole number >= 1, found '%s'", st);
        return -1;
    }
    const uint64_t id = v[0], min = v[1], max = v[2], count = v[3];
    if (min > max || id < min || id > max) {
        snprintf(why, whylen,
                 "inconsistent Slurm array: SLURM_ARRAY_TASK_ID=%" PRIu64 " outside MIN=%" PRIu64 "..MAX=%" PRIu64,
                 id, min, max);
        return -1;
    }
    if ((max - min) % step != 0 || count != (max - min) / step + 1 || (id - min) % step != 0) {
        snprintf(why, whylen,
                 "the job array is not a plain range MIN-MAX:STEP (MIN=%" PRIu64 ", MAX=%" PRIu64 ", STEP=%" PRIu64
                 ", COUNT=%" PRIu64 "): use --array=0-N[:S] or --shard K/N",
                 min, max, step, count);
        return -1;
    }
    if (count > 1000000) {
        snprintf(why, whylen, "a job array of %" PRIu64 " tasks: at most 1000000 shards", count);
        return -1;
    }
    *k = (id - min) / step;
    *n = count;
    return 0;
}

int part_mpi_launched(const char *(*get)(const char *))
{
    const char *s;
    if (((s = get("OMPI_COMM_WORLD_SIZE")) && *s) || ((s = get("PMIX_RANK")) && *s) ||
        ((s = get("PMI_RANK")) && *s))
        return 1;
    uint64_t tasks;
    if (parse_u64(get("SLURM_STEP_NUM_TASKS"), &tasks) == 0 && tasks > 1 &&
        (((s = get("PMI_FD")) && *s) || ((s = get("PMI_SIZE")) && *s)))
        return 1;
    return 0;
}
