/* probe.h — the probe command and the backend lines of -v (probe.c). */
#ifndef MR_CLI_PROBE_H
#define MR_CLI_PROBE_H

#include "marsreplay.h"

/* Print the devices (text or JSON) on stdout; returns an exit code. */
int cli_probe(int as_json);
/* One stderr line: which backend ran, or why the CPU ran instead (-v). */
void cli_print_backend(const mr_backend_info *b);
/* A warning line when the device's program cache was refused as untrusted
 * (printed unless -q: a cache another user can write is worth knowing). */
void cli_warn_cache(const mr_backend_info *b);

#endif
