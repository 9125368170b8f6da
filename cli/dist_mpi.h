/* dist_mpi.h — replay under mpirun / srun: one contiguous part of the input
 * per rank, one output in input order (docs/distributed.md).
 *
 * The MPI driver (dist_mpi.c) is a shared module, mars-replay-mpi.so, built
 * when meson finds MPI (-Dmpi=auto) and loaded by dist_mpi_loader.c only
 * when MPI is wanted, so a plain run neither initialises nor even maps
 * libmpi. Without it, --mpi and a detected launcher are refused. */
#ifndef MR_CLI_DIST_MPI_H
#define MR_CLI_DIST_MPI_H

#include "dist.h"
#include "job.h"
#include "marsreplay.h"


/* What the module exports (symbol mr_cli_mpi_module). */
#define CLI_MPI_MODULE_ABI 3
typedef struct cli_mpi_module {
    int abi;                  /* CLI_MPI_MODULE_ABI */
    size_t job_size;          /* sizeof(cli_job) */
    int (*init)(int *argc, char ***argv, int *ranks);
    int (*finalize)(int rc);
    int (*run)(const cli_job *j);
} cli_mpi_module;

/* 1 when a launcher's environment is present (partition.h: part_mpi_launched). */
int cli_mpi_launched(void);
/* Load the module and initialise MPI (or refuse: built without MPI, module
 * not found); *ranks gets the world size. 0, or an exit code after printing
 * the error (7 when the module cannot be loaded or MPI_Init fails). */
int cli_mpi_init(int *argc, char ***argv, int *ranks);
/* Finalise MPI if it was initialised; returns rc. Leaves the module mapped. */
int cli_mpi_finalize(int rc);
/* The distributed run of predict/design/check (ranks > 1): every rank
 * returns the same exit code; only one rank prints an error. */
int cli_mpi_run(const cli_job *j);

#endif
