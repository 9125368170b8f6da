/* exit_codes.h — the CLI's exit statuses; mirrored in man/mars-replay.1 and README.md. */
#ifndef MR_EXIT_CODES_H
#define MR_EXIT_CODES_H

enum {
    MR_EXIT_OK = 0,       /* success (also: output pipe closed by the reader) */
    MR_EXIT_INTERNAL = 1, /* internal error, out of memory */
    MR_EXIT_USAGE = 2,    /* bad command line or option value */
    MR_EXIT_MODEL = 3,    /* the model file is invalid */
    MR_EXIT_DATA = 4,     /* bad input data (CSV, npy, values, columns) */
    MR_EXIT_IO = 5,       /* I/O error: cannot open/read/write, disk full */
    MR_EXIT_DEVICE = 6,   /* the requested device (--device opencl) cannot run */
    MR_EXIT_MPI = 7,      /* MPI failed (init, a collective): the job is aborted */
    MR_EXIT_PEER = 8,     /* an MPI rank stopped (no heartbeat for --peer-timeout): the job fails */
    MR_EXIT_SIGNAL = 128  /* + N: a --resume run stopped by signal N, resumable (journal.c) */
};

#endif
