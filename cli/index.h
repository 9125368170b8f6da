/* index.h — CSV checkpoints for job-array tasks (index.c). */
#ifndef MR_CLI_INDEX_H
#define MR_CLI_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "cli_io.h"
#include "marsreplay.h"

/* mars-replay index: scan input once and write its checkpoints every
 * `every` bytes, with its identity, to output (NULL: stdout; else temp +
 * rename). 0, or an exit code after printing the error. */
int cli_index_build(const char *input, const char *output, const mr_options *opt, int has_header,
                    uint64_t every);
/* Load an index for the open input; refuse (exit 2, printed) one of another
 * input version (size, mtime) or made with another header option. *states
 * is malloc'ed (free it). */
int cli_index_load(const char *path, const cli_input *in, int has_header, mr_part_state **states, size_t *n);

#endif
