/* job.h — the one orchestrator of predict, design and check.
 *
 * main.c parses the options once into a cli_job. cli_job_run() then takes
 * the same steps, in the same order, for every kind of run: load the model,
 * open the input, plan this process's part, create the engine, open the
 * output, mr_run, make positions and totals global, assemble the output,
 * warnings, --report and -v. What differs between one process (the whole
 * input or a --shard) and an MPI rank is only how the input is spread and
 * how the output is put together: a cli_spread (the MPI one lives in the
 * module dist_mpi.c, so a plain run never maps libmpi). */
#ifndef MR_CLI_JOB_H
#define MR_CLI_JOB_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "cli_io.h"
#include "dist.h"
#include "journal.h"
#include "marsreplay.h"
#include "report.h"

/* The options of predict/design/check, parsed once. */
typedef struct cli_job {
    const char *command;
    int mode;                 /* MR_MODE_* */
    const char *model, *output, *input, *report;
    int progress, verbose, binary_out, unknown_mode;
    long threads;             /* < 1: MARS_REPLAY_THREADS was invalid */
    const char *keep;
    mr_options *opt;
    cli_dist_opts dist;       /* --shard, --mpi, --io-retries and what a partition needs */
    int resume;               /* --resume, --resume-every, --resume-seconds (journal.h) */
    uint64_t resume_every;
    long resume_seconds;
    journal_opts shape;       /* the options that shape the output, for the journal */
    long peer_timeout;        /* --peer-timeout: seconds without a peer's heartbeat (MPI); 0: off */
} cli_job;

/* One run's state, shared by the orchestrator and its spread. */
typedef struct cli_run {
    const cli_job *job;
    const struct cli_spread *spread;
    int rank, size;           /* this part and the number of parts running together */
    mr_model *m;
    mr_engine *e;
    cli_input in;
    cli_output out;
    int partitioned;          /* plan/din describe a part of the input (shard, MPI) */
    dist_plan plan;
    dist_input din;
    mr_io io;                 /* the read side from the part, the write side from the spread */
    mr_run_stats stats;       /* this part's, made global by combine */
    mr_run_stats totals;      /* the whole job's counts (rank 0: merged columns) */
    mr_backend_info backend;
    mr_error err;
    int have_err;             /* err is this part's error, with global positions */
    int report_err;           /* err is the job's first error (for --report) */
    int ran;                  /* every part got as far as mr_run */
    int who;                  /* the first failing part (size if none) */
    int pipe_closed;          /* the reader of stdout went away: not an error */
    uint64_t row_off, line_off; /* data rows and CSV lines before this part */
    uint64_t last_row;        /* the job's last data row (global row number) */
    char part_name[48];       /* "K/N" of a --shard, else "" */
    FILE *progress_to;        /* --progress lines (MPI: the real stderr) */
    time_t started;           /* wall clock, for --report */
    double t0, plan_s, run_s, write_s;
    cli_rank_stat *ranks;     /* rank 0 of an MPI job: one per rank, in rank order */
    /* --resume (one process, a shard, an MPI rank): the journal beside this part's output */
    journal jr;
    resume_spec rs;
    char *resume_opts;        /* the journal's options line */
    int stopped;              /* stopped by a signal: output and journal kept for a rerun */
} cli_run;

/* How the parts of a job agree, and how the output is put together. */
typedef struct cli_spread {
    /* The job's code so far: the lowest failing part's rc, 0 if none; *who
     * (if not NULL) gets that part (size if none). Only it prints its error. */
    int (*agree)(cli_run *r, int rc, int *who);
    /* Every part calls plan and output_open, whatever rc it has (they may be
     * collective); they return a nonzero rc at once, after their collectives.
     * The input is open: take the snapshot every part reads, plan this
     * part (r->plan, r->din) and set this part's options. 0 or an exit code. */
    int (*plan)(cli_run *r, int rc);
    /* Open the output and fill the write side of r->io. 0 or an exit code. */
    int (*output_open)(cli_run *r, int rc);
    /* After mr_run: row_off/line_off, and totals (merged over the parts). */
    void (*combine)(cli_run *r);
    /* After the job agreed on rc: assemble the output, commit or remove it. */
    int (*output_finish)(cli_run *r, int rc);
    /* The job's exit code from its first part's, on every part. */
    int (*final)(cli_run *r, int rc);
    void (*release)(cli_run *r);
} cli_spread;

/* Run the job: spread NULL is one process (the whole input, or j->dist.shard).
 * Returns the exit code (cli/exit_codes.h). */
int cli_job_run(const cli_job *j, const cli_spread *spread, int rank, int size);

/* Helpers a spread shares with the orchestrator. */
double cli_now(void);
/* --resume, once r->out is the resumable output of this part and r->plan
 * its plan: continue from its journal or start over (saying why unless
 * quiet), and journal the run. out_fmt: what this part writes (MR_FMT_*).
 * 0, or an exit code after printing why. */
int cli_resume_open(cli_run *r, int out_fmt, int quiet);

#endif
