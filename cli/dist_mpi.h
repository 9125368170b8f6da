/* dist_mpi.h — replay under mpirun / srun: one contiguous part of the input
 * per rank, one output in input order (docs/distributed.md). Built with MPI
 * when meson finds it (-Dmpi=auto); without it, --mpi and a detected
 * launcher are refused. MPI is initialised only by cli_mpi_init. */
#ifndef MR_CLI_DIST_MPI_H
#define MR_CLI_DIST_MPI_H

#include "dist.h"
#include "marsreplay.h"

typedef struct cli_mpi_job {
    const char *command, *model, *output, *input, *report;
    int mode, progress, verbose, binary_out, unknown_mode;
    long threads;             /* per rank; < 1: MARS_REPLAY_THREADS was invalid */
    const char *keep;
    mr_options *opt;
    const cli_dist_opts *dist;
} cli_mpi_job;

/* 1 when a launcher's environment is present (partition.h: part_mpi_launched). */
int cli_mpi_launched(void);
/* Initialise MPI (or refuse: built without MPI, --mpi with --shard); *ranks
 * gets the world size (1 when MPI is not used: --shard under a launcher).
 * 0, or an exit code after printing the error. */
int cli_mpi_init(int *argc, char ***argv, int *ranks);
/* Finalise MPI if it was initialised; returns rc. */
int cli_mpi_finalize(int rc);
/* The distributed run of predict/design/check (ranks > 1): every rank
 * returns the same exit code; only one rank prints an error. */
int cli_mpi_run(const cli_mpi_job *j);

#endif
