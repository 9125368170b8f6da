/* version_stub.c — LD_PRELOAD shim for tests/abi_version.sh: mr_version() and
 * mr_version_string() answer the packed version in $MR_STUB_VERSION (hex), as
 * a library of another version would; version node MARSREPLAY_1.0
 * (version_stub.map) so that it binds a host linked against ABI 1.0. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((visibility("default"))) unsigned mr_version(void)
{
    const char *v = getenv("MR_STUB_VERSION");
    return v ? (unsigned)strtoul(v, NULL, 16) : 0u;
}

__attribute__((visibility("default"))) const char *mr_version_string(void)
{
    static char s[32];
    const unsigned v = mr_version();
    snprintf(s, sizeof s, "%u.%u.%u (stub)", v >> 16, (v >> 8) & 0xff, v & 0xff);
    return s;
}
