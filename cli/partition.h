/* partition.h — the plumbing of spreading one input over processes: shard
 * specs (--shard K/N, the Slurm job array), the MPI launcher's environment,
 * and preads with the --io-retries policy. Where the parts are cut is the
 * library's business (mr_input_part in marsreplay.h). No MPI here. */
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
