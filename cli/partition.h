/* partition.h — cutting one seekable input into N contiguous parts of whole
 * records, shared by MPI ranks (dist_mpi.c) and job-array shards (--shard).
 * No MPI here: every function is pure or reads a file with pread.
 *
 * CSV: the data region [data_start, size) (after the header record, or after
 * a UTF-8 BOM when there is no header) is cut at raw byte points
 *     raw(k) = data_start + k * (size - data_start) / n       (k = 0..n)
 * and part k starts at the first record boundary at or after raw(k): the
 * position right after the first '\n' outside quotes found at an index >=
 * raw(k) - 1 (so a raw point that already sits on a boundary stays there).
 * part 0 starts at data_start, part n ends at size. "Outside quotes" is the
 * parity of the '"' bytes from data_start: exact for RFC 4180 input, where a
 * quote only opens a field, closes it or is doubled inside it (what the
 * library's scanner accepts; a stray quote is a data error either way).
 *
 * npy / raw float64: rows are cut by index, lo(k) = k * rows / n. */
#ifndef MR_CLI_PARTITION_H
#define MR_CLI_PARTITION_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* For a transient read error (errno EAGAIN, EWOULDBLOCK, EIO, ETIMEDOUT):
 * if *tries < max, sleep 10 ms << *tries (at most 2 s), count the try and
 * return 1 (read again); else 0. Data errors never come here. */
int part_retry_transient(int *tries, int max);
/* --io-retries for the preads of this module (default 0). */
void part_set_io_retries(int n);

/* pread all of [off, off+len) unless EOF comes first, retrying EINTR and
 * (part_set_io_retries) transient errors. Bytes read, or -1 with errno. */
ssize_t part_pread(int fd, void *buf, size_t len, uint64_t off);

/* Counts over a byte range, accumulated by part_count_buf / part_count_fd. */
typedef struct part_counts {
    uint64_t quotes;    /* '"' bytes */
    uint64_t newlines;  /* '\n' bytes (physical lines) */
    uint64_t records;   /* '\n' outside quotes (record ends) */
    int in_quotes;      /* quote parity after the range (input: before it) */
} part_counts;

/* Add the counts of buf[0..len) to *c, starting in c->in_quotes. */
void part_count_buf(const char *buf, size_t len, part_counts *c);
/* The same over [from, to) of fd (pread). 0, or -1 with errno. */
int part_count_fd(int fd, uint64_t from, uint64_t to, part_counts *c);

/* Index of the first '\n' outside quotes in buf[0..len), starting with
 * quote parity *in_quotes (updated up to the returned index, or over the
 * whole buffer when none is found: then returns len). */
size_t part_find_boundary_buf(const char *buf, size_t len, int *in_quotes);
/* First record boundary at or after `from` in [from, size) of fd: the
 * position after the first '\n' outside quotes at index >= from (from's
 * quote parity given); size when there is none. 0, or -1 with errno. */
int part_next_boundary_fd(int fd, uint64_t from, uint64_t size, int in_quotes, uint64_t *boundary);

/* Where the CSV data starts: after a UTF-8 BOM, and with has_header after
 * the first record (or at size when it has no record end). 0, or -1. */
int part_csv_data_start(int fd, uint64_t size, int has_header, uint64_t *data_start);

/* raw(k) of the header comment, k in 0..n. */
uint64_t part_raw_cut(uint64_t data_start, uint64_t size, uint64_t k, uint64_t n);
/* Where part k's search for its first boundary starts: data_start for
 * k == 0 (or when raw(k) <= data_start), else raw(k) - 1; size for k >= n. */
uint64_t part_anchor(uint64_t data_start, uint64_t size, uint64_t k, uint64_t n);
/* Part k's [start, end) given the quote parity at its anchor (q_k) and at
 * the next part's anchor (q_k1), e.g. from an MPI_Exscan. 0, or -1. */
int part_csv_bounds(int fd, uint64_t size, uint64_t data_start, uint64_t k, uint64_t n,
                    int q_k, int q_k1, uint64_t *start, uint64_t *end);
/* Rows [*lo, *hi) of part k of n. */
void part_row_range(uint64_t rows, uint64_t k, uint64_t n, uint64_t *lo, uint64_t *hi);

/* A CSV part as a shard computes it alone: [start, end) plus the records
 * and physical lines in [data_start, start) (for global row/line numbers).
 * Reads [data_start, raw(k+1)) once and a little beyond each cut. */
typedef struct part_range {
    uint64_t start, end;
    uint64_t rows_before;   /* data rows before start */
    uint64_t lines_before;  /* '\n' in [data_start, start) */
} part_range;
int part_csv_shard(int fd, uint64_t size, uint64_t data_start, uint64_t k, uint64_t n,
                   part_range *out);

/* The parsed .npy header fields we need to cut rows; 0 if the header is one
 * the library accepts (little-endian f8/f4, C order, 2-D), -1 otherwise. */
typedef struct part_npy {
    uint64_t header_bytes;
    uint64_t rows, cols;
    unsigned itemsize;      /* 8 or 4 */
} part_npy;
int part_npy_parse(const unsigned char *buf, size_t len, part_npy *h);
/* A v1.0 header for rows x cols of the given itemsize, as NumPy writes it
 * (padded to a multiple of 64). Returns its length, 0 if cap is too small. */
size_t part_npy_header(unsigned char *buf, size_t cap, uint64_t rows, uint64_t cols,
                       unsigned itemsize);
/* The header the library writes for float64 output (mode: cols == 0 is 1-D):
 * the row count padded as if it had 20 digits. Same bytes as the library's. */
size_t part_npy_out_header(unsigned char *buf, size_t cap, uint64_t rows, uint64_t cols);

/* "K/N" with 0 <= K < N <= 1000000. 0, or -1 with a reason in why. */
int part_parse_shard(const char *s, uint64_t *k, uint64_t *n, char *why, size_t whylen);
/* K and N from a Slurm job array's environment (SLURM_ARRAY_TASK_ID, _MIN,
 * _MAX, _STEP, _COUNT), looked up through get (getenv in the program). The
 * array must be a plain range MIN, MIN+STEP, ..., MAX: checked with
 * COUNT == (MAX - MIN) / STEP + 1, (ID - MIN) % STEP == 0 and
 * (MAX - MIN) % STEP == 0; K = (ID - MIN) / STEP, N = COUNT. 0, or -1 with
 * a reason in why. */
int part_slurm_shard(const char *(*get)(const char *), uint64_t *k, uint64_t *n, char *why,
                     size_t whylen);

/* 1 when the environment says an MPI launcher started this process:
 * OMPI_COMM_WORLD_SIZE, PMIX_RANK, PMI_RANK, or srun with
 * SLURM_STEP_NUM_TASKS > 1 and a PMI (PMIX_RANK / PMI_RANK / PMI_FD). */
int part_mpi_launched(const char *(*get)(const char *));

#endif
