/* stall_read.c — LD_PRELOAD shim for tests/cluster/run.sh (built there with cc): holds every
 * task of a job in the middle of its part, so that a node can be killed at a known point.
 *
 * The $MR_TEST_STALL_AT-th read()/pread()/pread64() (default 3) of a file whose /proc/self/fd
 * link contains $MR_TEST_STALL_PATH creates $MR_TEST_STALL_DIR/at.<rank> (rank: $PMIX_RANK, or
 * $OMPI_COMM_WORLD_RANK, or a job array's $SLURM_ARRAY_TASK_ID; its content: the host name)
 * and waits until $MR_TEST_STALL_DIR/go
 * exists, at most 60 s; then the read goes on as usual.
 * The environment is read once, at load time, before any thread runs: the MPI runtime's
 * threads change the environment while they start, and a getenv() racing with them can crash. */
#undef _FILE_OFFSET_BITS /* define pread and pread64 both, as libc has them */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static ssize_t (*real_pread64)(int, void *, size_t, off64_t);
static char want[512], dir[2048], rank[32];
static int stall_at = 3, active;
static atomic_int reads;

__attribute__((constructor)) static void stall_init(void)
{
    *(void **)&real_read = dlsym(RTLD_NEXT, "read");
    *(void **)&real_pread = dlsym(RTLD_NEXT, "pread");
    *(void **)&real_pread64 = dlsym(RTLD_NEXT, "pread64");
    const char *w = getenv("MR_TEST_STALL_PATH"), *d = getenv("MR_TEST_STALL_DIR");
    const char *at = getenv("MR_TEST_STALL_AT"), *r = getenv("PMIX_RANK");
    if (!r)
        r = getenv("OMPI_COMM_WORLD_RANK");
    if (!r)
        r = getenv("SLURM_ARRAY_TASK_ID");
    if (!w || !d || !r)
        return;
    snprintf(want, sizeof want, "%s", w);
    snprintf(dir, sizeof dir, "%s", d);
    snprintf(rank, sizeof rank, "%s", r);
    if (at)
        stall_at = atoi(at);
    active = 1;
}

static void maybe_stall(int fd)
{
    if (!active)
        return;
    char link[64], target[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    const ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0)
        return;
    target[n] = '\0';
    if (!strstr(target, want) || atomic_fetch_add(&reads, 1) + 1 != stall_at)
        return;
    char path[4096], host[256] = "?";
    gethostname(host, sizeof host - 1);
    snprintf(path, sizeof path, "%s/at.%s", dir, rank);
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "%s\n", host);
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/go", dir);
    for (int i = 0; i < 600 && access(path, F_OK) != 0; i++)
        usleep(100000);
}

ssize_t read(int fd, void *buf, size_t n)
{
    if (!real_read) /* called before the constructor ran */
        stall_init();
    maybe_stall(fd);
    return real_read(fd, buf, n);
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
    if (!real_pread) /* called before the constructor ran */
        stall_init();
    maybe_stall(fd);
    return real_pread(fd, buf, n, off);
}

ssize_t pread64(int fd, void *buf, size_t n, off64_t off)
{
    if (!real_pread64) /* called before the constructor ran */
        stall_init();
    maybe_stall(fd);
    return real_pread64(fd, buf, n, off);
}
