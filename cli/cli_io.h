/* cli_io.h — files for the CLI: input streams, safe output (temp + rename),
 * and rendering library errors as one GNU-style line. */
#ifndef MR_CLI_IO_H
#define MR_CLI_IO_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "marsreplay.h"

typedef struct cli_input {
    int fd;
    const char *name;       /* as given; "-" for stdin */
    const char *display;    /* for messages: the path or "<stdin>" */
    int64_t size;           /* regular file size, or -1 */
    uint64_t base;          /* regular file: the offset reading starts from */
    struct timespec mtime;  /* regular file: when it was last changed, at open */
    int retries;            /* --io-retries: transient read errors retried */
} cli_input;

typedef struct cli_output {
    int fd;
    uint64_t base;          /* stdout that is a regular file: where our output starts */
    const char *path;       /* NULL: stdout */
    char *tmp;              /* temp path to rename on success, or NULL */
    char *target;           /* resolved target when path is a symlink, or NULL */
    int seekable;           /* pwrite allowed */
    int is_tty;
    int resumable;          /* --resume: tmp has a fixed name and survives a stop */
    uint64_t skip;          /* library output bytes still to drop (cli_write) */
    uint64_t pskip;         /* library output offsets below this are dropped, the rest
                               moved down by it (cli_pwrite): a resumed .npy header */
} cli_output;

/* Open an input; on failure print the error and return an exit code, else 0. */
int cli_input_open(cli_input *in, const char *name);
void cli_input_close(cli_input *in);
/* A regular file input whose size or modification time is not what it was
 * at open changed under the run: print that and return 5, else 0. */
int cli_input_unchanged(const cli_input *in);
long cli_read(void *cookie, void *buf, size_t cap);
/* mr_io.read_into_pipe for a pipe or socket: splice (EINVAL otherwise). */
long cli_read_into_pipe(void *cookie, int pipe_fd, size_t len);
/* mr_read_at_fn for a regular file: pread at base + offset (thread-safe). */
long cli_read_at(void *cookie, void *buf, size_t cap, uint64_t offset);

/* Open the output: "-"/NULL is stdout; a regular (or new) file gets a temp
 * file beside it, renamed by cli_output_commit; anything else (FIFO, device,
 * /dev/stdout) is written directly. Returns 0 or an exit code (printed). */
int cli_output_open(cli_output *out, const char *path);
/* --resume: the temporary file is .NAME.resume beside NAME (opened without
 * truncation, locked); any terminating signal then asks the run to stop at
 * its next committed chunk (cli_stop_signal) instead of removing it. */
int cli_output_open_resumable(cli_output *out, const char *path);
/* From now on, a terminating signal asks the run to stop at its next
 * committed chunk (cli_output_open_resumable does it too): a --resume run
 * calls it first, so that a signal during the planning is not fatal. */
void cli_stop_on_signals(void);
/* A terminating signal that ends the process removes the files a and b
 * too (NULL: none any more); a --resume run's stop handler stays. */
void cli_remove_on_signal(const char *a, const char *b);
/* The signal that asked a resumable run to stop, or 0. */
int cli_stop_signal(void);
/* A stopped resumable run: close, keep the temporary file. */
void cli_output_keep(cli_output *out);
/* Success: fsync-free close and rename. Returns 0 or an exit code (printed). */
int cli_output_commit(cli_output *out);
/* Failure: remove the temp file; nothing that looks like a result is left. */
void cli_output_abort(cli_output *out);
int cli_write(void *cookie, const void *buf, size_t len);
int cli_pwrite(void *cookie, const void *buf, size_t len, uint64_t offset);

/* Make sure fds 0, 1 and 2 are open (on /dev/null when closed), so that no
 * file opened later becomes one of them: with 2>&- the output file would
 * otherwise be fd 2 and receive every warning. */
void cli_std_fds(void);
/* Flush stdout after --help or --version text: 0, or 5 when any of it failed
 * (a write that failed inside fputs leaves nothing for fflush to report). */
int cli_stdout_done(void);

/* Print "mars-replay: " + the error as one line. */
void cli_print_error(const mr_error *err, const char *fallback_source);
/* Exit code for a library status. */
int cli_exit_code(mr_status st);
void cli_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A usage error: one line, fmt with one %s for arg, and the --help hint on
 * it. Returns the usage exit code (2). */
int cli_usage_error(const char *fmt, const char *arg);
/* Write s escaped (src/escape.h: \n, \x1b...) to f: a name, label or path
 * from the model, the data or the command line stays on its line and sends
 * no terminal control sequence. width > 0 pads to that many bytes (%-*s). */
void cli_put_escaped(FILE *f, const char *s, int width);

#endif
