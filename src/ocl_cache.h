/* ocl_cache.h — the program-binary cache of the OpenCL backend. Pure file
 * logic (no OpenCL calls), unit-tested in tests/test_ocl_cache.c.
 *
 * One file per (kernel source, build options, platform, device, driver):
 * DIR/<key>.clbin where key is the SHA-256 of those parts. The file is
 *   "MRCLBIN1" | key (64 hex) | payload length (u64 LE) | payload SHA-256 (64 hex) | payload
 * and is written to a temporary file in DIR, then renamed over the name, so a
 * reader sees either a whole file or none. Anything that does not match
 * exactly (magic, key, length, digest) is a miss: the caller rebuilds and
 * overwrites it.
 *
 * The payload is a native program the driver runs (PoCL dlopens it), so the
 * cache is used only where nobody else can write: mr_ocl_cache_trust. */
#ifndef MR_OCL_CACHE_H
#define MR_OCL_CACHE_H

#include <stddef.h>

/* hex[65] = SHA-256 of the parts, each length-prefixed ("ab","c" != "a","bc"). */
void mr_ocl_cache_key(const char *const *parts, size_t n, char hex[65]);
/* The cache directory: $XDG_CACHE_HOME/mars-replay if XDG_CACHE_HOME is an
 * absolute path, else $HOME/.cache/mars-replay. -1 if neither is usable. */
int mr_ocl_cache_dir(char *buf, size_t cap);
/* The file name for a key in dir. -1 if it does not fit. */
int mr_ocl_cache_path(const char *dir, const char *key, char *buf, size_t cap);
/* Create dir (0700, each missing component) and check that it can be trusted:
 * no component is a symbolic link or other than a directory; dir itself is
 * owned by the effective user and not group- or world-writable; each ancestor
 * is owned by that user or root and not group- or world-writable unless it
 * has the sticky bit (/tmp). 0; -1 when it cannot be used (not creatable,
 * not a directory); -2 when it is untrusted (a symlink, another owner,
 * writable by others); the first failing component and why in why. */
int mr_ocl_cache_trust(const char *dir, char *why, size_t cap);
/* Read and verify DIR/<key>.clbin, in a trusted DIR only (checked here too),
 * opened without following a symlink or blocking (a FIFO), and only a regular
 * file of the effective user that is not group- or world-writable. 0 and *bin
 * (malloc'd, caller frees) on a hit; -1 on a miss, with a reason in why. */
int mr_ocl_cache_load(const char *dir, const char *key, unsigned char **bin, size_t *len,
                      char *why, size_t cap);
/* Write DIR/<key>.clbin atomically, creating DIR 0700 if needed; only in a
 * trusted DIR (mr_ocl_cache_trust). 0, or -1 with a reason in why (the caller just goes on). */
int mr_ocl_cache_store(const char *dir, const char *key, const unsigned char *bin, size_t len,
                       char *why, size_t cap);

#endif
