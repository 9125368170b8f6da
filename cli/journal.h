/* journal.h — --resume: a run that writes -o FILE records, after every
 * committed chunk, how far it got, in a small journal beside its temporary
 * output (.NAME.resume, journal .NAME.resume.journal). A rerun with --resume
 * that finds a journal of the same model, input, options and output
 * truncates the temporary output to the journalled offset and replays the
 * rest of the input as a part (dist.h) that starts there.
 *
 * Crash safety: the output's bytes are fdatasync'ed before the journal that
 * covers them is written, and the journal is replaced atomically (a new file,
 * fdatasync, rename, directory fsync) and carries a checksum, so that at any
 * instant the journal on disk describes a prefix of the output on disk.
 * Those syncs run in a thread of their own (the committer), so that the
 * writer goes on writing while the disk catches up; only a stop waits. */
#ifndef MR_CLI_JOURNAL_H
#define MR_CLI_JOURNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cli_io.h"
#include "dist.h"

/* The options that change the output, as the command line gave them. */
typedef struct journal_opts {
    char *s;
    size_t len, cap;
    int failed;               /* out of memory: never matches */
} journal_opts;

/* Append "--NAME=VALUE" (VALUE percent-escaped; NULL: no value). */
void journal_opts_add(journal_opts *o, const char *name, const char *value);
void journal_opts_free(journal_opts *o);
/* The journal's options line: " COMMAND VERSION part=K/N" and the options
 * (malloc'ed), or NULL after printing "out of memory". */
char *resume_options(const char *command, uint64_t k, uint64_t n, const journal_opts *o);

/* How far a run got: everything before input byte `in_off` of the file is
 * in the first `out_off` bytes of the output. */
typedef struct journal_pos {
    uint64_t in_off;          /* file offset of the next record */
    uint64_t rows, lines;     /* global data rows and (CSV) data lines before it */
    uint64_t out_off;
} journal_pos;

typedef struct journal {
    /* what must match for a resume */
    char model_sha[65];
    char *options;            /* command, version, part and the journal_opts */
    const char *output;       /* -o as given */
    int64_t in_size;
    struct timespec in_mtime;
    uint64_t in_head;         /* FNV-1a 64 of the input's first MiB */
    /* the files */
    char *path;               /* the journal */
    char *path_new;           /* written, then renamed onto path */
    char *dir;                /* their directory, fsync'ed after a rename */
    int out_fd;
    /* this run */
    const dist_plan *plan;    /* maps the library's input offsets to the file's */
    journal_pos start;        /* where this run started (zeros: from the start) */
    uint64_t part_rows0;      /* the part's first global row (its plan before resuming) */
    uint64_t out_skip;        /* library output bytes not written (a resumed .npy header) */
    uint64_t every_bytes;     /* commit when this much output is new ... */
    double every_seconds;     /* ... or this long has passed */
    uint64_t last_out;        /* output offset of the last commit */
    struct timespec last_t;
    unsigned commits;         /* journals written */
    const char *why;          /* journal_load: why a journal was not used (NULL: used or none) */
    char why_buf[160];
    int resumed;              /* resume_begin continued from the journal */
    int write_failed;         /* errno of a failed journal write, reported by the caller */
    /* the committer thread: takes the newest position handed to it */
    pthread_t thread;
    int thread_started;
    pthread_mutex_t mu;
    pthread_cond_t wake, idle;
    int pending, busy, quit;
    journal_pos next;
    journal_pos seen;         /* the last commit point the library reported */
} journal;

/* Set up the journal of the temporary output `tmp` (its fd `out_fd`) for a
 * run of `plan` over input `in`. 0, or an exit code after printing why. */
int journal_init(journal *j, const char *tmp, int out_fd, const cli_input *in, const mr_model *m,
                 const char *output, const char *options, const dist_plan *plan);
/* Read the existing journal: 1 and *pos when it matches this run (model,
 * input, options, output, part) and the temporary output holds what it
 * covers; 0 when there is none (silently) or it does not match (j->why
 * says why; printed on one line unless quiet). */
int journal_load(journal *j, uint64_t out_size, int quiet, journal_pos *pos);
/* mr_io.commit: every every_bytes/every_seconds hand the position to the
 * committer (fdatasync the output, then the journal); once a stop was asked
 * for (cli_stop_signal), wait for it, commit here and stop the run. */
int journal_commit(void *cookie, const struct mr_commit *c);
/* A part that finished while its job stopped (an MPI rank whose peers were
 * signalled): journal its last commit point, so that a rerun skips it. */
void journal_flush(journal *j);
/* Success or a failure that is not a stop: the journal goes (the
 * committer is stopped first). */
void journal_remove(journal *j);
void journal_free(journal *j);

/* What cmd_run knows about a --resume run. */
typedef struct resume_spec {
    const char *output;       /* -o */
    const char *options;      /* see journal.options */
    uint64_t every_bytes;     /* --resume-every */
    double every_seconds;     /* --resume-seconds */
    int out_fmt;              /* MR_FMT_*: a resumed .npy output gets its header at the end */
    uint64_t npy_cols;        /* its columns: the term count (design) */
    int mode;                 /* MR_MODE_PREDICT (1-D .npy) or MR_MODE_DESIGN */
    int quiet;
} resume_spec;

/* The parts of an MPI job's --resume run: rank K > 0 writes its part to
 * the resumable output of path "OUTPUT.rank-K" (.OUTPUT.rank-K.resume,
 * with its own journal), and every rank its heartbeat to
 * .OUTPUT.resume.alive.K. Remove those of ranks >= from (a job of more
 * ranks before this one; from 0: a single process). */
void resume_remove_parts(const char *output, unsigned from);

/* After the output (cli_output_open_resumable) and the part's plan: load a
 * matching journal and continue from it (truncate the temporary output,
 * advance the plan, no output header), or start over. 0, or an exit code
 * after printing why. */
int resume_begin(journal *j, cli_output *out, const cli_input *in, dist_plan *plan,
                 const mr_model *m, mr_options *opt, const resume_spec *rs);
/* The run stopped for a signal (cli_stop_signal): say so, set *rc to
 * 128 + the signal and return 1; else 0. */
int resume_stopped(const journal *j, mr_status st, const mr_error *err, int *rc);
/* After the run, before the output is closed, whatever `rc`: stop the
 * committer; on success (rc 0) a resumed .npy output gets the header of all
 * its `part_rows` rows. Returns rc, or an exit code after printing why. */
int resume_finish(journal *j, const cli_output *out, const resume_spec *rs, uint64_t part_rows, int rc);

#endif
