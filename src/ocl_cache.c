/* ocl_cache.c — see ocl_cache.h. */
#include "ocl_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sha256.h"

#define MAGIC "MRCLBIN1"
#define HEAD (8 + 64 + 8 + 64)
#define MAX_PAYLOAD ((size_t)1 << 30)

void mr_ocl_cache_key(const char *const *parts, size_t n, char hex[65])
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += strlen(parts[i]) + 24;
    char *buf = malloc(total + 1);
    if (!buf) { /* no memory for a key: a key nobody else computes */
        snprintf(hex, 65, "%064d", 0);
        return;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        const size_t l = strlen(parts[i]);
        o += (size_t)snprintf(buf + o, total + 1 - o, "%zu:", l);
        memcpy(buf + o, parts[i], l);
        o += l;
    }
    mr_sha256_hex(buf, o, hex);
    free(buf);
}

int mr_ocl_cache_dir(char *buf, size_t cap)
{
    const char *x = getenv("XDG_CACHE_HOME");
    int n;
    if (x && x[0] == '/') {
        n = snprintf(buf, cap, "%s/mars-replay", x);
    } else {
        const char *h = getenv("HOME");
        if (!h || h[0] != '/')
            return -1;
        n = snprintf(buf, cap, "%s/.cache/mars-replay", h);
    }
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

int mr_ocl_cache_path(const char *dir, const char *key, char *buf, size_t cap)
{
    const int n = snprintf(buf, cap, "%s/%s.clbin", dir, key);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

static int fail(char *why, size_t cap, const char *what, const char *path)
{
    if (why && cap)
        snprintf(why, cap, "%s: %s", path, what);
    return -1;
}

int mr_ocl_cache_load(const char *dir, const char *key, unsigned char **bin, size_t *len,
                      char *why, size_t cap)
{
    char path[4096];
    *bin = NULL;
    *len = 0;
    if (mr_ocl_cache_path(dir, key, path, sizeof path) != 0)
        return fail(why, cap, "path too long", dir);
    if (mr_ocl_cache_trust(dir, why, cap) != 0)
        return -1;
    /* no symlink, and never block: a FIFO planted here would hang the run */
    const int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return fail(why, cap, errno == ENOENT ? "not cached yet"
                              : errno == ELOOP ? "a symbolic link (not followed)" : strerror(errno), path);
    struct stat st;
    const char *odd = fstat(fd, &st) != 0 ? strerror(errno)
                    : !S_ISREG(st.st_mode) ? "not a regular file"
                    : st.st_uid != geteuid() ? "owned by another user"
                    : (st.st_mode & 022) ? "writable by group or others" : NULL;
    FILE *fp = odd ? NULL : fdopen(fd, "rb");
    if (!fp) {
        close(fd);
        return fail(why, cap, odd ? odd : strerror(errno), path);
    }
    unsigned char head[HEAD];
    unsigned char *data = NULL;
    const char *bad = NULL;
    uint64_t n = 0;
    if (fread(head, 1, HEAD, fp) != HEAD || memcmp(head, MAGIC, 8) != 0) {
        bad = "not a cache file (bad header)";
    } else if (memcmp(head + 8, key, 64) != 0) {
        bad = "key mismatch";
    } else {
        for (int i = 7; i >= 0; i--)
            n = (n << 8) | head[72 + i];
        if (n == 0 || n > MAX_PAYLOAD)
            bad = "bad payload length";
    }
    if (!bad && !(data = malloc((size_t)n)))
        bad = "out of memory";
    if (!bad && fread(data, 1, (size_t)n, fp) != (size_t)n)
        bad = "truncated";
    if (!bad && fgetc(fp) != EOF)
        bad = "trailing bytes";
    if (!bad) {
        char hex[65];
        mr_sha256_hex(data, (size_t)n, hex);
        if (memcmp(hex, head + 80, 64) != 0)
            bad = "checksum mismatch (corrupt)";
    }
    fclose(fp);
    if (bad) {
        free(data);
        return fail(why, cap, bad, path);
    }
    *bin = data;
    *len = (size_t)n;
    return 0;
}

/* One component of the cache path, created 0700 if missing, checked without
 * following it. The leaf is ours alone; an ancestor may also be root's, and
 * may be writable by others only with the sticky bit (/tmp): there nobody
 * else can rename or replace an entry we own. NULL if fine, else why, with
 * *untrusted set when the reason is another user's reach (a symlink, an
 * owner, a mode) rather than a path that cannot be used. */
static const char *component(const char *path, int leaf, int *untrusted)
{
    struct stat st;
    *untrusted = 0;
    if (lstat(path, &st) != 0 && (errno != ENOENT || mkdir(path, 0700) != 0 || lstat(path, &st) != 0))
        return strerror(errno);
    *untrusted = 1;
    if (S_ISLNK(st.st_mode))
        return "a symbolic link (not followed)";
    if (st.st_uid != geteuid() && (leaf || st.st_uid != 0))
        return "owned by another user";
    if ((st.st_mode & 022) && (leaf || !(st.st_mode & S_ISVTX)))
        return "writable by group or others";
    *untrusted = 0;
    return S_ISDIR(st.st_mode) ? NULL : "not a directory";
}

int mr_ocl_cache_trust(const char *dir, char *why, size_t cap)
{
    char p[4096];
    const size_t n = strlen(dir);
    if (dir[0] != '/' || n >= sizeof p)
        return fail(why, cap, "not an absolute path that fits", dir);
    memcpy(p, dir, n + 1);
    /* from the root down, as ssh checks its files: an ancestor is checked
     * before anything is created in it */
    int untrusted = 0;
    const char *bad = component("/", 0, &untrusted);
    if (bad)
        return fail(why, cap, bad, "/") - untrusted;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/' && s[1] != '\0')
            continue;
        const int slash = *s == '/', leaf = !slash || s[1] == '\0';
        if (slash)
            *s = '\0';
        if ((bad = component(p, leaf, &untrusted)) != NULL)
            return fail(why, cap, bad, p) - untrusted; /* -1 unusable, -2 untrusted */
        if (slash)
            *s = '/';
    }
    return 0;
}

int mr_ocl_cache_store(const char *dir, const char *key, const unsigned char *bin, size_t len,
                       char *why, size_t cap)
{
    char path[4096], tmp[4200];
    if (mr_ocl_cache_path(dir, key, path, sizeof path) != 0)
        return fail(why, cap, "path too long", dir);
    if (len == 0 || len > MAX_PAYLOAD)
        return fail(why, cap, "no program binary to store", path);
    if (mr_ocl_cache_trust(dir, why, cap) != 0)
        return -1;
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp.XXXXXX", dir, key);
    const int fd = mkstemp(tmp);
    if (fd < 0)
        return fail(why, cap, strerror(errno), dir);
    unsigned char head[HEAD];
    memcpy(head, MAGIC, 8);
    memcpy(head + 8, key, 64);
    for (int i = 0; i < 8; i++)
        head[72 + i] = (unsigned char)((uint64_t)len >> (8 * i));
    char hex[65];
    mr_sha256_hex(bin, len, hex);
    memcpy(head + 80, hex, 64);
    int ok = 1;
    const unsigned char *parts[2] = { head, bin };
    const size_t lens[2] = { HEAD, len };
    for (int p = 0; p < 2 && ok; p++)
        for (size_t off = 0; off < lens[p];) {
            const ssize_t w = write(fd, parts[p] + off, lens[p] - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                ok = 0;
                break;
            }
            off += (size_t)w;
        }
    const int e = errno;
    if (close(fd) != 0)
        ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        const int e2 = ok ? errno : e;
        unlink(tmp);
        return fail(why, cap, strerror(e2 ? e2 : EIO), path);
    }
    return 0;
}
