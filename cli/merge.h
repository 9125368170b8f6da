/* merge.h — mars-replay merge: the outputs of a --shard job array, checked
 * against the shards' --report files and joined in shard order. */
#ifndef MR_CLI_MERGE_H
#define MR_CLI_MERGE_H

/* Merge the parts described by the reports into output (NULL: stdout, else
 * a temporary file renamed on success). 0, or an exit code after printing
 * one line: a failed, missing, duplicate or stale part names the shard (and
 * the Slurm array task) to rerun. */
int cli_merge(const char *output, int nreports, char *const *reports);

#endif
