/* abi_host.c — a host program as docs/abi.md tells hosts to start: check the
 * loaded library's version against the header first, refuse a mismatch with
 * a clear message (exit 3), else use it. tests/abi_version.sh runs it against
 * the real library and against stubs of other versions. */
#include <stdio.h>

#include "marsreplay.h"

int main(void)
{
    const unsigned v = mr_version();
    printf("library 0x%06x, header 0x%06x\n", v, (unsigned)MR_VERSION);
    if (mr_version_check() != MR_OK) {
        fprintf(stderr, "abi_host: libmarsreplay %s cannot serve this program, built against %d.%d "
                "(needs major %d, minor >= %d)\n", mr_version_string(), MR_VERSION_MAJOR,
                MR_VERSION_MINOR, MR_VERSION_MAJOR, MR_VERSION_MINOR);
        return 3;
    }
    printf("ok: %s\n", mr_strerror(MR_OK));
    return 0;
}
