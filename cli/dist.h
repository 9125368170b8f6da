/* dist.h — one part of a partitioned input (an MPI rank's or a --shard's):
 * the plan (which bytes, which global row/line numbers), the read callback
 * that shows the library "header + this part" as if it were a whole input,
 * and the fix-up of error positions to global ones. No MPI here. */
#ifndef MR_CLI_DIST_H
#define MR_CLI_DIST_H

#include <stdint.h>

#include "cli_io.h"
#include "marsreplay.h"
#include "partition.h"

/* The command line's distributed options (main.c fills them). */
typedef struct cli_dist_opts {
    const char *shard;        /* --shard K/N or auto, or NULL */
    int mpi;                  /* --mpi */
    int no_mpi;               /* --no-mpi: ignore a launcher, run as one process */
    const char *index;        /* --index FILE: CSV checkpoints for a --shard (index.c) */
    uint64_t index_every;     /* index --every BYTES */
    int io_retries;           /* --io-retries N */
    long cols;                /* --cols (0: the model's feature count) */
    int no_header;            /* --no-header */
    int in_fmt, out_fmt;      /* -I, -O (MR_FMT_*) */
    uint64_t max_memory;      /* --max-memory, 0 if not given */
    long chunk_rows;          /* --chunk-rows, 0 if not given */
} cli_dist_opts;

/* What a part reads: the synthetic prefix (a rewritten .npy header), then
 * up to two byte ranges of the file (CSV: the header record, then the part's
 * records; binary: the part's rows). */
typedef struct dist_plan {
    mr_part part;             /* the library's cut (mr_input_part), kept for a resume */
    int fmt;                  /* MR_FMT_CSV, MR_FMT_NPY or MR_FMT_F64 */
    int whole;                /* .npy that cannot be cut (bad header or size): part 0
                                 reads the whole file so the library reports it */
    int skip;                 /* nothing to read (the other parts in that case) */
    uint64_t k, n;            /* part k of n */
    uint64_t size;            /* input file size */
    uint64_t row_off;         /* data rows before this part */
    uint64_t line_off;        /* CSV: physical lines of data before this part */
    unsigned char prefix[256];
    size_t prefix_len;
    uint64_t seg_from[2], seg_to[2];
    int nseg;
} dist_plan;

typedef struct dist_input {
    int fd;
    const dist_plan *plan;
    size_t prefix_pos;
    int seg;                  /* current segment */
    uint64_t pos;             /* position in the current segment */
    int retries;              /* --io-retries */
} dist_input;

/* mr_read_at_fn over a file: cookie is an int *fd; pread with the
 * --io-retries policy (part_set_io_retries). */
long dist_file_read_at(void *cookie, void *buf, size_t cap, uint64_t offset);
/* Plan part k of n of the input file fd of `size` bytes through the library
 * (mr_input_part: opt's format, header and columns; parity as there; or,
 * with states, mr_input_part_from an index's checkpoints). 0, or an exit
 * code with err filled. */
int dist_plan_part(dist_plan *p, int fd, uint64_t size, const mr_options *opt, const mr_model *m,
                   uint64_t k, uint64_t n, const int parity[2], const mr_part_state *states, size_t nstates,
                   mr_error *err);
/* Bytes dist_read gives for this part (header and prefix included). */
uint64_t dist_plan_bytes(const dist_plan *p);

/* The file offset of byte v of what dist_read gives (v past the prefix). */
uint64_t dist_file_offset(const dist_plan *p, uint64_t v);
/* --resume: the part now starts at file offset `at` (a record boundary),
 * after `rows` global data rows and `lines` data lines. 0, or -1 when that
 * is not a place inside this part (a journal of another plan). */
int dist_plan_resume(dist_plan *p, uint64_t at, uint64_t rows, uint64_t lines);

void dist_input_init(dist_input *in, int fd, const dist_plan *p, int retries);
/* mr_read_fn over dist_input (pread; retries transient errors). */
long dist_read(void *cookie, void *buf, size_t cap);
/* mr_read_at_fn over the same bytes (header + part as one input of
 * dist_plan_bytes): the library's workers then read their own chunks of
 * the part. Thread-safe. */
long dist_read_at(void *cookie, void *buf, size_t cap, uint64_t offset);

/* Library positions (local to the part) to global ones. */
void dist_global_error(mr_error *e, uint64_t row_off, uint64_t line_off);
void dist_global_stats(mr_run_stats *s, uint64_t row_off);

/* Plan a --shard run of the open input (p->k, p->n already set) and set
 * up its reader. 0, or an exit code after printing the error. */
int dist_shard_prepare(dist_plan *p, const cli_input *in, const mr_model *m, const mr_options *opt,
                       const cli_dist_opts *o, dist_input *din);

/* --shard SPEC ("K/N" or "auto" from the Slurm array environment). 0, or an
 * exit code after printing the error. */
int dist_shard_spec(const char *spec, uint64_t *k, uint64_t *n);

/* --max-memory BYTES (K, M, G, T suffixes: powers of 1024). 0, or -1. */
int dist_parse_bytes(const char *s, uint64_t *out);

#endif
