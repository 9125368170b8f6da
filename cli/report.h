/* report.h — the --report JSON object and the stderr summary of unseen levels. */
#ifndef MR_CLI_REPORT_H
#define MR_CLI_REPORT_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

#include "marsreplay.h"

/* One MPI rank's part of a distributed run (dist_mpi.c). */
typedef struct cli_rank_stat {
    uint64_t rows;
    uint64_t bytes_in, bytes_out;
    double seconds;           /* its mr_run */
    double partition_seconds; /* cutting its part (quote pass, exscan, boundaries) */
    double output_seconds;    /* writing its output at its offset, or gathering to stdout */
    long long peak_rss;
    char host[65];            /* gethostname() */
} cli_rank_stat;

typedef struct cli_report {
    const char *command;
    const char *model_path;
    const mr_model *model;
    const char *input;
    long long input_size;     /* -1 if unknown */
    struct timespec input_mtime; /* with input_size >= 0 */
    const char *output_format; /* "csv", "npy" or "f64"; NULL for check */
    time_t started;           /* wall-clock start of the run */
    int stdout_free;          /* no data goes to stdout: "--report -" may use it */
    const char *output_sha256; /* the committed output file's, or NULL */
    const char *output;
    const mr_run_stats *stats;
    double seconds;
    double run_seconds;       /* the replay itself (mr_run, rank 0's part under MPI) */
    int exit_code;
    const mr_error *error;    /* NULL on success */
    const mr_backend_info *backend; /* NULL: no engine was made */
    const cli_rank_stat *ranks; /* MPI: per rank, in rank order; NULL otherwise */
    int n_ranks;
    const char *shard;        /* --shard K/N as resolved, or NULL */
} cli_report;

/* The sha256 of a regular file (the committed output) into hex: 0, or -1
 * when it is not a regular file or cannot be read. */
int cli_file_sha256(const char *path, char hex[65]);
/* The program's command line, recorded in every report. */
void cli_report_set_command_line(int argc, char *const *argv);
/* obj[key] = s (NULL: null), always written: a string that is not valid
 * UTF-8 (JSON cannot hold it) is written escaped (src/escape.h) and its exact
 * bytes in hex under key_hex. */
void cli_json_put_str(json_t *obj, const char *key, const char *s);
/* Write the report to path; "-" means stdout when no data goes there
 * (r->stdout_free: -o FILE, or check), else stderr, so that it never mixes
 * with data. Returns 0 or -1 with errno. */
int cli_report_write(const cli_report *r, const char *path);
/* Before a run: 0, or (with the message printed) 2 when the --report path
 * is the same file as the model, the input (or stdin) or the output (or
 * stdout): compared by device and inode when both exist, else by the names
 * they resolve to (-o is only created at the end). "-" and NULL: 0. */
int cli_report_check_paths(const char *report, const char *model, const char *input,
                           const char *output);
/* One warning line per categorical column that met unseen labels. */
void cli_report_unknown_levels(const mr_model *m, const mr_run_stats *st, int unknown_mode,
                               const char *input);
/* Peak resident set size of this process in bytes. */
long long cli_peak_rss(void);

#endif
