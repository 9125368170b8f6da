/* inspect.h — `mars-replay inspect MODEL [--json]`. */
#ifndef MR_CLI_INSPECT_H
#define MR_CLI_INSPECT_H

#include "marsreplay.h"

/* Print the model to stdout; returns 0 or -1 on a write error. */
int cli_inspect(const mr_model *m, const char *path, int as_json);

#endif
