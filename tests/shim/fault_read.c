/* fault_read.c — LD_PRELOAD shim for tests: the first $MR_TEST_READ_FAULTS
 * read()/pread() calls on a descriptor whose /proc/self/fd link contains
 * $MR_TEST_READ_PATH (e.g. the input's name, or "pipe:") fail with
 * $MR_TEST_READ_ERRNO (EIO by default, or EAGAIN, ETIMEDOUT), then reads
 * work again. Tests --io-retries without a flaky file system. */
#undef _FILE_OFFSET_BITS /* define pread and pread64 both, as libc has them */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static int left = -1;
static int fault_errno = EIO;

static int should_fail(int fd)
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
    if (left <= 0 || !want)
        return 0;
    char link[64], target[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    const ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0)
        return 0;
    target[n] = '\0';
    if (!strstr(target, want))
        return 0;
    left--;
    errno = fault_errno;
    return 1;
}

ssize_t read(int fd, void *buf, size_t n)
{
    static ssize_t (*real)(int, void *, size_t);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "read");
    return should_fail(fd) ? -1 : real(fd, buf, n);
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
    static ssize_t (*real)(int, void *, size_t, off_t);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "pread");
    return should_fail(fd) ? -1 : real(fd, buf, n, off);
}

ssize_t pread64(int fd, void *buf, size_t n, off64_t off)
{
    static ssize_t (*real)(int, void *, size_t, off64_t);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "pread64");
    return should_fail(fd) ? -1 : real(fd, buf, n, off);
}
