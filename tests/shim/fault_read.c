/* fault_read.c — LD_PRELOAD shim for tests: the first $MR_TEST_READ_FAULTS
 * read()/pread() calls on a descriptor whose /proc/self/fd link contains
 * $MR_TEST_READ_PATH (e.g. the input's name, or "pipe:") fail with
 * $MR_TEST_READ_ERRNO (EIO by default, or EAGAIN, ETIMEDOUT), then reads
 * work again. Tests --io-retries without a flaky file system.
 * With $MR_TEST_KILL_RANK=R (and the same path match), the MPI rank R
 * ($OMPI_COMM_WORLD_RANK, or $PMIX_RANK under srun) kills itself with SIGKILL at its
 * $MR_TEST_KILL_AT-th read of that file (default 4): a rank, or its node, lost
 * in the middle of a job. With $MR_TEST_APPEND_AT=N, the N-th read of that
 * file first appends a line to it (an input that grows during the run).
 * With $MR_TEST_READ_BELOW=B (and $MR_TEST_READ_ABOVE=A, default 0), every
 * read of that file that touches bytes in [A, B) fails with EIO: proof that
 * a run reads nothing there. With $MR_TEST_READ_DELAY_MS=D, every read of
 * that file first sleeps D ms: a run long enough for a signal to reach it
 * in the middle, however fast the machine or slow the test's own shell.
 * Thread-safe: the library's workers pread at once. */
#undef _FILE_OFFSET_BITS /* define pread and pread64 both, as libc has them */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static int left = -1;
static int fault_errno = EIO;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static ssize_t (*real_pread64)(int, void *, size_t, off64_t);

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void resolve(void)
{
    *(void **)&real_read = dlsym(RTLD_NEXT, "read");
    *(void **)&real_pread = dlsym(RTLD_NEXT, "pread");
    *(void **)&real_pread64 = dlsym(RTLD_NEXT, "pread64");
}

static int should_fail_locked(int fd, long long off, size_t len);

/* The file behind fd, if its name contains want: its path in target. */
static int fd_matches(int fd, const char *want, char *target, size_t cap)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    const ssize_t n = readlink(link, target, cap - 1);
    if (n <= 0)
        return 0;
    target[n] = '\0';
    return strstr(target, want) != NULL;
}

static void maybe_delay(int fd)
{
    const char *d = getenv("MR_TEST_READ_DELAY_MS"), *want = getenv("MR_TEST_READ_PATH");
    char target[4096];
    if (d && want && fd_matches(fd, want, target, sizeof target)) {
        const long ms = atol(d);
        const struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
        nanosleep(&t, NULL);
    }
}

static int should_fail(int fd, long long off, size_t len)
{
    pthread_once(&once, resolve);
    maybe_delay(fd);
    pthread_mutex_lock(&mu);
    const int f = should_fail_locked(fd, off, len);
    const int e = errno;
    pthread_mutex_unlock(&mu);
    errno = e;
    return f;
}

static int should_fail_locked(int fd, long long off, size_t len)
{
    if (left < 0) {
        const char *n = getenv("MR_TEST_READ_FAULTS");
        const char *e = getenv("MR_TEST_READ_ERRNO");
        left = n ? atoi(n) : 0;
        if (e && strcmp(e, "EAGAIN") == 0)
            fault_errno = EAGAIN;
        else if (e && strcmp(e, "ETIMEDOUT") == 0)
            fault_errno = ETIMEDOUT;
    }
    const char *want = getenv("MR_TEST_READ_PATH");
    const char *kill_rank = getenv("MR_TEST_KILL_RANK");
    const char *rank = getenv("OMPI_COMM_WORLD_RANK");
    if (!rank)
        rank = getenv("PMIX_RANK"); /* srun --mpi=pmix */
    const int killing = kill_rank && rank && strcmp(kill_rank, rank) == 0;
    const char *append_at = getenv("MR_TEST_APPEND_AT");
    const char *below = getenv("MR_TEST_READ_BELOW"), *above = getenv("MR_TEST_READ_ABOVE");
    if ((left <= 0 && !killing && !append_at && !below) || !want)
        return 0;
    char target[4096];
    if (!fd_matches(fd, want, target, sizeof target))
        return 0;
    if (append_at) {
        static int reads;
        if (++reads == atoi(append_at)) {
            const int a = open(target, O_WRONLY | O_APPEND);
            if (a >= 0) {
                (void)!write(a, "1,2,3\n", 6);
                close(a);
            }
        }
        if (left <= 0)
            return 0;
    }
    if (below) {
        const long long a = above ? atoll(above) : 0, b = atoll(below);
        if (off < b && off + (long long)len > a) {
            errno = EIO;
            return 1;
        }
        if (left <= 0 && !killing)
            return 0;
    }
    if (killing) {
        static int reads;
        const char *at = getenv("MR_TEST_KILL_AT");
        if (++reads >= (at ? atoi(at) : 4))
            raise(SIGKILL);
        return 0;
    }
    left--;
    errno = fault_errno;
    return 1;
}

ssize_t read(int fd, void *buf, size_t n)
{
    return should_fail(fd, (long long)lseek(fd, 0, SEEK_CUR), n) ? -1 : real_read(fd, buf, n);
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
    return should_fail(fd, (long long)off, n) ? -1 : real_pread(fd, buf, n, off);
}

ssize_t pread64(int fd, void *buf, size_t n, off64_t off)
{
    return should_fail(fd, (long long)off, n) ? -1 : real_pread64(fd, buf, n, off);
}
