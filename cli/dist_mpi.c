/* dist_mpi.c — see dist_mpi.h and docs/distributed.md.
 *
 * Every rank: load the model, cut its part of the input (partition.h; CSV
 * quote parity through an MPI_Exscan), replay it with mr_run into a private
 * spill file (unlinked at once, so nothing is left behind by a crash), then
 * agree on the first failing rank. On success, an MPI_Exscan of the output
 * sizes gives each rank its offset and all ranks write their bytes into the
 * one temporary file beside the target with MPI_File_write_at_all; rank 0
 * renames it after a last all-success check. To stdout, rank 0 writes its
 * own part directly and then the others' in rank order, each sent on
 * request in 8 MiB messages (bounded memory). Errors are captured while
 * ranks work and only the first failing rank prints its one line, with the
 * row and line numbers a single process would report.
 *
 * This file is the shared module mars-replay-mpi.so (built when meson finds
 * MPI), loaded by dist_mpi_loader.c only when MPI is wanted: a plain run
 * does not even map libmpi. */
#include "dist_mpi.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_io.h"
#include "config.h"
#include "exit_codes.h"
#include "partition.h"
#include "probe.h"
#include "progress.h"
#include "report.h"

#include <mpi.h>

#define BLOCK ((size_t)8 << 20)
#define TAG_GO 1
#define TAG_DATA 2

static int mpi_initialised;
static int world_rank, world_size;
static char world_host[65]; /* this rank's host name (gethostname) */
static int multi_host;      /* the ranks run on more than one host: messages name the host */

/* "rank R of N", and " on HOST" when the job spans several hosts */
static const char *rank_label(void)
{
    static char label[128];
    if (multi_host)
        snprintf(label, sizeof label, "rank %d of %d on %s", world_rank, world_size, world_host);
    else
        snprintf(label, sizeof label, "rank %d of %d", world_rank, world_size);
    return label;
}

/* ---- stderr capture: ranks keep their messages until the first failing
 * rank is known (main thread only; workers never print) ---- */
typedef struct capture {
    FILE *saved, *mem;
    char *buf;
    size_t len;
} capture;

static void capture_begin(capture *c)
{
    fflush(stderr);
    c->saved = stderr;
    c->mem = open_memstream(&c->buf, &c->len);
    if (c->mem)
        stderr = c->mem;
}

static void capture_end(capture *c)
{
    if (c->mem) {
        fflush(c->mem);
        stderr = c->saved;
        fclose(c->mem);
        c->mem = NULL;
    }
}

/* Print the captured lines with "rank R of N: " after the "mars-replay: " prefix. */
static void capture_print(const capture *c, int with_rank)
{
    const char *p = c->buf;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        const size_t n = nl ? (size_t)(nl - p) : strlen(p);
        const char *pre = "mars-replay: ";
        const size_t pl = strlen(pre);
        if (with_rank && n >= pl && memcmp(p, pre, pl) == 0)
            fprintf(stderr, "%s%s: %.*s\n", pre, rank_label(), (int)(n - pl), p + pl);
        else
            fprintf(stderr, "%.*s\n", (int)n, p);
        p = nl ? nl + 1 : NULL;
    }
    fflush(stderr);
}

static void capture_free(capture *c)
{
    capture_end(c);
    free(c->buf);
    c->buf = NULL;
    c->len = 0;
}

static void mpi_fail(const char *what, int code)
{
    char s[MPI_MAX_ERROR_STRING];
    int n = 0;
    MPI_Error_string(code, s, &n);
    fprintf(stderr, "mars-replay: %s: %s failed: %.*s\n", rank_label(), what, n, s);
    MPI_Abort(MPI_COMM_WORLD, MR_EXIT_MPI);
}

#define MPI_CHECK(call)                       \
    do {                                      \
        const int mpi_rc_ = (call);           \
        if (mpi_rc_ != MPI_SUCCESS)           \
            mpi_fail(#call, mpi_rc_);         \
    } while (0)

static int module_init(int *argc, char ***argv, int *ranks)
{
    int provided = 0;
    const int rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) {
        cli_msg("MPI_Init failed (error %d)", rc);
        return MR_EXIT_MPI;
    }
    mpi_initialised = 1;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &world_rank));
    MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &world_size));
    /* one host or several: the least and the greatest hash of the host names */
    if (gethostname(world_host, sizeof world_host - 1) != 0)
        snprintf(world_host, sizeof world_host, "?");
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const char *c = world_host; *c; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211ULL;
    uint64_t mine[2] = { h, ~h }, low[2];
    MPI_CHECK(MPI_Allreduce(mine, low, 2, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD));
    multi_host = low[0] != ~low[1];
    *ranks = world_size;
    return 0;
}

static int module_finalize(int rc)
{
    if (mpi_initialised) {
        fflush(stdout);
        fflush(stderr);
        MPI_Finalize();
        mpi_initialised = 0;
    }
    return rc;
}

/* The lowest rank whose rc is not 0 (world_size if none) and its rc. */
static int first_failure(int rc, int *who)
{
    int mine = rc ? world_rank : world_size, low = world_size;
    MPI_CHECK(MPI_Allreduce(&mine, &low, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD));
    *who = low;
    if (low == world_size)
        return 0;
    int code = rc;
    MPI_CHECK(MPI_Bcast(&code, 1, MPI_INT, low, MPI_COMM_WORLD));
    return code;
}

/* Agree on failure so far: the first failing rank prints what it captured;
 * *who (if not NULL) gets that rank. */
static int agree_who(int rc, capture *cap, int *who_out)
{
    capture_end(cap);
    int who;
    const int code = first_failure(rc, &who);
    if (who_out)
        *who_out = who;
    if (code && who == world_rank)
        capture_print(cap, 1);
    capture_free(cap);
    capture_begin(cap);
    return code;
}

static int agree(int rc, capture *cap)
{
    return agree_who(rc, cap, NULL);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

typedef struct spill {
    int fd;
    uint64_t len;
    char path[4096]; /* for messages: the file is unlinked at once */
} spill;

static int spill_open(spill *s)
{
    const char *dir = getenv("TMPDIR");
    snprintf(s->path, sizeof s->path, "%s/.mars-replay-spill.XXXXXX", dir && *dir ? dir : "/tmp");
    s->len = 0;
    s->fd = mkostemp(s->path, O_CLOEXEC);
    if (s->fd < 0) {
        cli_msg("%s: cannot create this rank's spill file: %s", s->path, strerror(errno));
        return MR_EXIT_IO;
    }
    unlink(s->path); /* private and gone with the process, whatever happens */
    return 0;
}

static int spill_write(void *cookie, const void *buf, size_t len)
{
    spill *s = cookie;
    const char *p = buf;
    while (len) {
        const ssize_t n = pwrite(s->fd, p, len, (off_t)s->len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
        s->len += (uint64_t)n;
    }
    return 0;
}

static ssize_t spill_read(const spill *s, char *buf, size_t len, uint64_t off)
{
    return part_pread(s->fd, buf, len, off); /* the partitioner's loop (EINTR, retries) */
}

/* Merge per-column counters in rank order: sums, and the first unseen label
 * of the lowest rank that met one (a non-commutative MPI_Op). */
static void merge_columns(void *in, void *inout, int *len, MPI_Datatype *type)
{
    (void)type;
    const mr_column_stats *a = in;
    mr_column_stats *b = inout;
    for (int i = 0; i < *len; i++) {
        if (a[i].unknown) {
            b[i].first_unknown_row = a[i].first_unknown_row;
            memcpy(b[i].first_unknown, a[i].first_unknown, sizeof b[i].first_unknown);
        }
        b[i].missing += a[i].missing;
        b[i].unknown += a[i].unknown;
    }
}

/* CSV: this rank's [start, end) from the quote parity of everything before
 * its anchor (MPI_Exscan of the parities of the ranks before). */
static int plan_csv(dist_plan *p, int fd, uint64_t size, int has_header, capture *cap,
                    const char *name)
{
    const uint64_t k = (uint64_t)world_rank, n = (uint64_t)world_size;
    int rc = 0;
    if (dist_plan_csv_header(p, fd, size, has_header) != 0) {
        cli_msg("%s: read error: %s", name, strerror(errno));
        rc = MR_EXIT_IO;
    }
    p->k = k;
    p->n = n;
    const uint64_t d0 = p->data_start;
    const uint64_t anchor = part_anchor(d0, size, k, n), anchor1 = part_anchor(d0, size, k + 1, n);
    part_counts c = { 0 };
    if (rc == 0 && part_count_fd(fd, anchor, anchor1, &c) != 0) {
        cli_msg("%s: read error: %s", name, strerror(errno));
        rc = MR_EXIT_IO;
    }
    rc = agree(rc, cap);
    if (rc)
        return rc;
    int mine = c.in_quotes, before = 0;
    MPI_CHECK(MPI_Exscan(&mine, &before, 1, MPI_INT, MPI_BXOR, MPI_COMM_WORLD));
    if (k == 0)
        before = 0; /* MPI_Exscan leaves rank 0's result undefined */
    uint64_t start = d0, end = size;
    if (part_csv_bounds(fd, size, d0, k, n, before, before ^ c.in_quotes, &start, &end) != 0) {
        cli_msg("%s: read error: %s", name, strerror(errno));
        rc = MR_EXIT_IO;
    }
    dist_plan_csv_range(p, start, end);
    return agree(rc, cap);
}

/* Rank 0 writes everything to its stdout: its own part (spilled or already
 * written), then each other rank's spill on request. */
static int gather_to_stdout(cli_output *out, const unsigned char *head, size_t head_len,
                            int own_spilled, spill *sp, char *buf)
{
    int werr = 0;
    if (world_rank == 0) {
        if (head_len && cli_write(out, head, head_len) != 0)
            werr = errno;
        for (uint64_t off = 0; own_spilled && !werr && off < sp->len; off += BLOCK) {
            const ssize_t n = spill_read(sp, buf, BLOCK, off);
            if (n < 0 || cli_write(out, buf, (size_t)n) != 0)
                werr = n < 0 ? EIO : errno;
        }
        for (int r = 1; r < world_size; r++) {
            int go = 1;
            MPI_CHECK(MPI_Send(&go, 1, MPI_INT, r, TAG_GO, MPI_COMM_WORLD));
            for (;;) {
                MPI_Status st;
                int n = 0;
                MPI_CHECK(MPI_Recv(buf, (int)BLOCK, MPI_BYTE, r, TAG_DATA, MPI_COMM_WORLD, &st));
                MPI_CHECK(MPI_Get_count(&st, MPI_BYTE, &n));
                if (n == 0)
                    break;
                if (!werr && cli_write(out, buf, (size_t)n) != 0)
                    werr = errno; /* keep receiving: the senders must finish */
            }
        }
        if (!werr && fflush(stdout) != 0)
            werr = errno;
    } else {
        int go = 0;
        MPI_CHECK(MPI_Recv(&go, 1, MPI_INT, 0, TAG_GO, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
        for (uint64_t off = 0; off < sp->len; off += BLOCK) {
            const ssize_t n = spill_read(sp, buf, BLOCK, off);
            if (n <= 0)
                break; /* rank 0 cannot tell a short spill from the end: it gets fewer bytes */
            MPI_CHECK(MPI_Send(buf, (int)n, MPI_BYTE, 0, TAG_DATA, MPI_COMM_WORLD));
        }
        MPI_CHECK(MPI_Send(buf, 0, MPI_BYTE, 0, TAG_DATA, MPI_COMM_WORLD));
    }
    return werr;
}

/* mr_write_fn for in-place output: this rank's bytes at its own offset. */
typedef struct at_writer {
    MPI_File fh;
    uint64_t off;
} at_writer;

static int at_write(void *cookie, const void *buf, size_t len)
{
    at_writer *w = cookie;
    const char *p = buf;
    while (len) {
        const int n = len > ((size_t)1 << 30) ? 1 << 30 : (int)len;
        MPI_Status st;
        if (MPI_File_write_at(w->fh, (MPI_Offset)w->off, p, n, MPI_BYTE, &st) != MPI_SUCCESS) {
            errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t)n;
        w->off += (uint64_t)n;
    }
    return 0;
}

/* All ranks write their spill at their offset of the temporary file. */
static int write_collective(const char *tmp, uint64_t offset, spill *sp, char *buf)
{
    MPI_File fh;
    int rc = 0;
    int err = MPI_File_open(MPI_COMM_WORLD, tmp, MPI_MODE_WRONLY, MPI_INFO_NULL, &fh);
    int ok = err == MPI_SUCCESS, all_ok = 0;
    MPI_CHECK(MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD));
    if (!all_ok) {
        if (ok)
            MPI_File_close(&fh);
        if (!ok)
            cli_msg("%s: MPI_File_open failed: the output must be on a file system every rank sees", tmp);
        return MR_EXIT_IO;
    }
    uint64_t mine = (sp->len + BLOCK - 1) / BLOCK, rounds = 0;
    MPI_CHECK(MPI_Allreduce(&mine, &rounds, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD));
    for (uint64_t r = 0; r < rounds; r++) {
        ssize_t n = 0;
        if (!rc && r * BLOCK < sp->len && (n = spill_read(sp, buf, BLOCK, r * BLOCK)) < 0) {
            cli_msg("spill file: read error: %s", strerror(errno));
            rc = MR_EXIT_IO;
            n = 0;
        }
        if (rc)
            n = 0;
        MPI_Status st;
        err = MPI_File_write_at_all(fh, (MPI_Offset)(offset + r * BLOCK), buf, (int)n, MPI_BYTE, &st);
        if (err != MPI_SUCCESS && !rc) {
            char s[MPI_MAX_ERROR_STRING];
            int sl = 0;
            MPI_Error_string(err, s, &sl);
            cli_msg("%s: write error: %.*s", tmp, sl, s);
            rc = MR_EXIT_IO;
        }
    }
    if (MPI_File_close(&fh) != MPI_SUCCESS && !rc) {
        cli_msg("%s: write error on close", tmp);
        rc = MR_EXIT_IO;
    }
    return rc;
}

static int module_run(const cli_mpi_job *j)
{
    const double t0 = now_s();
    const int rank = world_rank, size = world_size;
    capture cap = { 0 };
    capture_begin(&cap);
    int rc = 0;
    mr_model *m = NULL;
    mr_engine *e = NULL;
    cli_input in = { .fd = -1 };
    cli_output out = { .fd = -1 };
    spill sp = { .fd = -1 };
    mr_run_stats stats = { 0 };
    mr_backend_info backend = { 0 };
    mr_error err = { 0 };
    dist_plan plan = { 0 };
    dist_input din;
    memset(&din, 0, sizeof din);
    char *buf = NULL;
    int have_err = 0, pipe_closed = 0;
    double run_s = 0;
    const int npy_out = j->dist->out_fmt == MR_FMT_NPY && j->mode != MR_MODE_CHECK;

    if (!j->model)
        rc = (cli_msg("%s: no model given (-m MODEL.json) (see mars-replay --help)", j->command), MR_EXIT_USAGE);
    else if (j->threads < 1)
        rc = (cli_msg("MARS_REPLAY_THREADS: expected a whole number from 1 to 4096, found '%s' (see mars-replay --help)",
                      getenv("MARS_REPLAY_THREADS")), MR_EXIT_USAGE);
    if (rc == 0) {
        const mr_status st = mr_model_load_file_opt(j->model, j->opt, &m, &err);
        if (st != MR_OK) {
            cli_print_error(&err, j->model);
            rc = cli_exit_code(st);
        }
    }
    if (rc == 0)
        rc = cli_input_open(&in, j->input);
    if (rc == 0 && in.size < 0) {
        cli_msg("%s: under MPI the input must be a regular file (stdin and pipes are refused: "
                "run one process, or save the stream to a file first)", in.display);
        rc = MR_EXIT_USAGE;
    }
    if (rc == 0 && !(buf = malloc(BLOCK)))
        rc = (cli_msg("out of memory"), MR_EXIT_INTERNAL);
    rc = agree(rc, &cap);
    if (rc == 0) { /* one snapshot of the input for every rank: rank 0's */
        long long snap[3] = { (long long)in.size, (long long)in.mtime.tv_sec, in.mtime.tv_nsec };
        MPI_CHECK(MPI_Bcast(snap, 3, MPI_LONG_LONG, 0, MPI_COMM_WORLD));
        in.size = snap[0];
        in.mtime.tv_sec = (time_t)snap[1];
        in.mtime.tv_nsec = (long)snap[2];
    }
    int fmt = MR_FMT_CSV;
    double plan_t0 = 0, plan_s = 0, write_s = 0;
    part_set_io_retries(j->dist->io_retries);
    if (rc == 0) {
        plan_t0 = now_s();
        fmt = dist_detect_format(in.fd, j->dist->in_fmt);
        if (fmt < 0) {
            cli_msg("%s: read error: %s", in.display, strerror(errno));
            rc = MR_EXIT_IO;
        }
        rc = agree(rc, &cap);
        if (rc == 0 && fmt == MR_FMT_CSV) {
            rc = plan_csv(&plan, in.fd, (uint64_t)in.size, !j->dist->no_header, &cap, in.display);
        } else if (rc == 0) {
            plan.fmt = fmt;
            const uint64_t cols = j->dist->cols > 0 ? (uint64_t)j->dist->cols : mr_model_n_features(m);
            if (dist_plan_binary(&plan, in.fd, (uint64_t)in.size, cols, (uint64_t)rank, (uint64_t)size) != 0) {
                cli_msg("%s: read error: %s", in.display, strerror(errno));
                rc = MR_EXIT_IO;
            }
        }
    }
    plan_s = plan_t0 > 0 ? now_s() - plan_t0 : 0;
    /* this rank's options: the CSV header only from rank 0; .npy rows raw,
     * the header written here with the total row count */
    if (rc == 0) {
        mr_options_set_int(j->opt, MR_OPT_THREADS, j->threads);
        if (rank > 0)
            mr_options_set_int(j->opt, MR_OPT_OUT_HEADER, 0);
        if (npy_out)
            mr_options_set_int(j->opt, MR_OPT_OUTPUT_FORMAT, MR_FMT_F64);
        mr_options_set_int(j->opt, MR_OPT_MODE, j->mode);
    }
    if (rc == 0) {
        const mr_status st = mr_engine_create(m, j->opt, &e, &err);
        if (st != MR_OK) {
            cli_print_error(&err, NULL);
            rc = cli_exit_code(st);
        }
    }
    if (rc == 0 && j->binary_out && j->keep)
        rc = (cli_msg("--keep needs CSV output (-O csv) (see mars-replay --help)"), MR_EXIT_USAGE);
    /* rank 0 owns the output: a temporary file beside it, or stdout */
    int to_file = 0;
    if (rc == 0 && j->mode != MR_MODE_CHECK && rank == 0) {
        /* no terminal check: launchers hand rank 0 a pseudo-terminal for
         * the stdout they forward, whatever the user redirected it to */
        rc = cli_output_open(&out, j->output);
        to_file = out.tmp != NULL;
    }
    rc = agree(rc, &cap);
    if (rc == 0)
        MPI_CHECK(MPI_Bcast(&to_file, 1, MPI_INT, 0, MPI_COMM_WORLD));
    char *tmp = NULL; /* the temporary file's name, on every rank */
    if (rc == 0 && to_file) {
        int plen = rank == 0 ? (int)strlen(out.tmp) + 1 : 0;
        MPI_CHECK(MPI_Bcast(&plen, 1, MPI_INT, 0, MPI_COMM_WORLD));
        tmp = rank == 0 ? out.tmp : malloc((size_t)plen);
        if (!tmp)
            MPI_Abort(MPI_COMM_WORLD, MR_EXIT_INTERNAL);
        MPI_CHECK(MPI_Bcast(tmp, plen, MPI_CHAR, 0, MPI_COMM_WORLD));
    }
    /* binary rows to binary output in a file: every rank knows its byte
     * range in advance and writes it in place, no spill (the same decision
     * on every rank: the plan comes from the same header) */
    const size_t nvals = m && j->mode == MR_MODE_DESIGN ? mr_model_n_terms(m) : 1;
    const int in_place = rc == 0 && to_file && j->mode != MR_MODE_CHECK &&
                         (npy_out || j->dist->out_fmt == MR_FMT_F64) && plan.fmt != MR_FMT_CSV &&
                         !plan.whole && !plan.skip;
    at_writer aw = { MPI_FILE_NULL, 0 };
    if (in_place) {
        unsigned char h[256]; /* its length does not depend on the row count */
        aw.off = (npy_out ? part_npy_out_header(h, sizeof h, 0, j->mode == MR_MODE_DESIGN ? nvals : 0) : 0) +
                 plan.row_off * nvals * 8;
        int ok = MPI_File_open(MPI_COMM_WORLD, tmp, MPI_MODE_WRONLY, MPI_INFO_NULL, &aw.fh) == MPI_SUCCESS;
        if (!ok)
            rc = (cli_msg("%s: MPI_File_open failed: the output must be on a file system every rank sees", tmp),
                  MR_EXIT_IO);
        (void)ok;
    }
    /* rank 0 writes its part straight to a stream; everything else spills */
    const int direct = rank == 0 && !to_file && !npy_out;
    if (rc == 0 && j->mode != MR_MODE_CHECK && !direct && !in_place)
        rc = spill_open(&sp);
    rc = agree(rc, &cap);
    const int ran = rc == 0; /* the same on every rank */

    if (rc == 0 && !plan.skip) {
        dist_input_init(&din, in.fd, &plan, j->dist->io_retries);
        const mr_io io = {
            .read = dist_read,
            .read_cookie = &din,
            .read_at = dist_read_at,
            .size = dist_plan_bytes(&plan),
            .source = in.display,
            .write = j->mode == MR_MODE_CHECK ? NULL : direct ? cli_write : in_place ? at_write : spill_write,
            .pwrite = NULL,
            .write_cookie = direct ? (void *)&out : in_place ? (void *)&aw : (void *)&sp,
            /* a write error names the file that failed: a spill is this rank's, in $TMPDIR */
            .sink = direct || in_place ? (j->output ? j->output : "<stdout>") : sp.path,
        };
        /* --progress: rank 0's own part (parts are equal byte ranges, so it
         * stands for the job); other ranks stay quiet */
        cli_progress ps;
        char label[64];
        snprintf(label, sizeof label, "rank 0 of %d (its part): ", size);
        const int show = j->progress && rank == 0;
        cli_progress_start(&ps, cap.saved ? cap.saved : stderr, dist_plan_bytes(&plan), label);
        const double r0 = now_s();
        const mr_status st = mr_run(e, &io, show ? cli_progress_update : NULL, &ps, &stats, &err);
        run_s = now_s() - r0;
        mr_engine_backend(e, &backend);
        if (show)
            cli_progress_end(&ps, st == MR_OK, stats.rows_out, stats.bytes_in);
        if (st == MR_E_IO && err.sys_errno == EPIPE && !err.line && !err.row && direct) {
            pipe_closed = 1; /* the reader went away (| head): not an error */
        } else if (st != MR_OK) {
            have_err = 1;
            rc = cli_exit_code(st);
        }
    }
    /* global positions: rows and lines of the ranks before (complete,
     * since they did not fail before the first failing rank) */
    uint64_t mine[3] = { stats.rows_in, plan.fmt == MR_FMT_CSV ? stats.lines_in : 0, sp.len };
    uint64_t before[3] = { 0, 0, 0 };
    MPI_CHECK(MPI_Exscan(mine, before, 3, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD));
    if (rank == 0)
        before[0] = before[1] = before[2] = 0;
    if (plan.fmt != MR_FMT_CSV)
        before[0] = plan.row_off;
    if (have_err) {
        dist_global_error(&err, before[0], before[1]);
        cli_print_error(&err, in.display);
    }
    dist_global_stats(&stats, before[0]);
    if (rc == 0 && ran) /* every rank read the snapshot: did the file change since? */
        rc = cli_input_unchanged(&in);
    int who = size;
    rc = agree_who(rc, &cap, &who);
    /* the report (rank 0) carries the first failing rank's error */
    int report_err = 0;
    if (rc && j->report) {
        MPI_CHECK(MPI_Bcast(&err, (int)sizeof err, MPI_BYTE, who, MPI_COMM_WORLD));
        report_err = 1;
    }
    MPI_CHECK(MPI_Bcast(&pipe_closed, 1, MPI_INT, 0, MPI_COMM_WORLD));

    /* the counters of every column, merged in rank order, for rank 0's warnings */
    mr_column_stats *cols = NULL, *none = NULL;
    const size_t nf = ran ? mr_model_n_features(m) : 0;
    if (nf) {
        MPI_Datatype t;
        MPI_Op op;
        cols = calloc(nf, sizeof *cols);
        none = calloc(nf, sizeof *none); /* a rank that had nothing to read */
        if (!cols || !none)
            MPI_Abort(MPI_COMM_WORLD, MR_EXIT_INTERNAL);
        MPI_CHECK(MPI_Type_contiguous((int)sizeof(mr_column_stats), MPI_BYTE, &t));
        MPI_CHECK(MPI_Type_commit(&t));
        MPI_CHECK(MPI_Op_create(merge_columns, 0, &op));
        MPI_CHECK(MPI_Reduce(stats.columns ? stats.columns : none, cols, (int)nf, t, op, 0, MPI_COMM_WORLD));
        MPI_Op_free(&op);
        MPI_Type_free(&t);
        free(none);
    }
    uint64_t tot_local[4] = { stats.rows_in, stats.rows_out, stats.bytes_in, stats.bytes_out }, tot[4] = { 0 };
    MPI_CHECK(MPI_Allreduce(tot_local, tot, 4, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD));

    /* output */
    unsigned char head[256];
    size_t head_len = 0;
    if (rc == 0 && npy_out)
        head_len = part_npy_out_header(head, sizeof head, tot[1],
                                       j->mode == MR_MODE_DESIGN ? mr_model_n_terms(m) : 0);
    const double write_t0 = now_s();
    if (in_place) { /* the rows are in place: the header, a collective close, the rename */
        int hrc = 0;
        if (rc == 0 && rank == 0 && head_len && cli_pwrite(&out, head, head_len, 0) != 0)
            hrc = (cli_msg("%s: write error: %s", j->output, strerror(errno)), MR_EXIT_IO);
        if (aw.fh != MPI_FILE_NULL && MPI_File_close(&aw.fh) != MPI_SUCCESS && !hrc)
            hrc = (cli_msg("%s: write error on close", tmp), MR_EXIT_IO);
        if (rc == 0) {
            rc = agree(hrc, &cap);
            if (rank == 0 && rc == 0)
                rc = cli_output_commit(&out);
            MPI_CHECK(MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD));
        }
    } else if (rc == 0 && !pipe_closed && j->mode != MR_MODE_CHECK) {
        if (to_file) {
            int hrc = 0;
            if (rank == 0 && head_len && cli_pwrite(&out, head, head_len, 0) != 0)
                hrc = (cli_msg("%s: write error: %s", j->output, strerror(errno)), MR_EXIT_IO);
            rc = write_collective(tmp, head_len + before[2], &sp, buf);
            if (!rc)
                rc = hrc;
            rc = agree(rc, &cap);
            if (rank == 0 && rc == 0)
                rc = cli_output_commit(&out); /* fchmod'ed at creation; close + rename */
            MPI_CHECK(MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD));
        } else {
            const int werr = gather_to_stdout(&out, rank == 0 ? head : NULL, rank == 0 ? head_len : 0,
                                              !direct, &sp, buf);
            if (werr && werr != EPIPE)
                rc = (cli_msg("%s: write error: %s", j->output ? j->output : "<stdout>", strerror(werr)), MR_EXIT_IO);
            rc = agree(rc, &cap);
            if (rank == 0 && rc == 0)
                rc = cli_output_commit(&out);
            MPI_CHECK(MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD));
        }
    }
    capture_end(&cap);
    if (rank == 0 && rc == 0 && cap.buf && *cap.buf)
        capture_print(&cap, 0); /* a commit error printed on rank 0 */
    capture_free(&cap);
    fflush(stderr);
    if (rank == 0 && (out.fd >= 0 || out.tmp))
        cli_output_abort(&out);
    if (rank == 0 && cols && j->verbose >= 0) {
        mr_run_stats g = stats;
        g.columns = cols;
        cli_report_unknown_levels(m, &g, j->unknown_mode, in.display);
    }

    /* the report: totals, and each rank's numbers gathered in rank order */
    write_s = now_s() - write_t0;
    cli_rank_stat me = { stats.rows_out, stats.bytes_in, stats.bytes_out, run_s, plan_s, write_s, cli_peak_rss(), { 0 } };
    memcpy(me.host, world_host, sizeof me.host);
    cli_rank_stat *all = rank == 0 ? calloc((size_t)size, sizeof *all) : NULL;
    if (j->report || j->verbose > 0)
        MPI_CHECK(MPI_Gather(&me, (int)sizeof me, MPI_BYTE, all, (int)sizeof me, MPI_BYTE, 0, MPI_COMM_WORLD));
    const double t1 = now_s();
    if (rank == 0 && j->report) {
        mr_run_stats g = stats;
        g.rows_in = tot[0];
        g.rows_out = tot[1];
        g.bytes_in = tot[2];
        g.bytes_out = tot[3];
        g.columns = cols;
        const cli_report rep = {
            .command = j->command,
            .model_path = j->model,
            .model = m,
            .input = in.display ? in.display : j->input,
            .input_size = in.size,
            .output = j->output,
            .stats = &g,
            .seconds = t1 - t0,
            .exit_code = rc,
            .error = report_err ? &err : NULL,
            .backend = e ? &backend : NULL, /* rank 0's; every rank asks for the same device */
            .ranks = all,
            .n_ranks = size,
        };
        if (cli_report_write(&rep, j->report) != 0) {
            cli_msg("%s: cannot write the report: %s", j->report, strerror(errno));
            if (rc == 0)
                rc = MR_EXIT_IO;
        }
    }
    if (rank == 0 && j->verbose >= 0 && e)
        cli_warn_cache(&backend);
    if (rank == 0 && j->verbose > 0 && rc == 0 && e)
        cli_print_backend(&backend); /* as a single process says it */
    if (rank == 0 && j->verbose > 0 && rc == 0)
        cli_msg("%llu rows in %.3f s with %d ranks x %u thread%s", (unsigned long long)tot[1], t1 - t0, size,
                stats.threads, stats.threads == 1 ? "" : "s");
    MPI_CHECK(MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD));
    if (rank != 0)
        free(tmp);
    free(all);
    free(cols);
    free(buf);
    if (sp.fd >= 0)
        close(sp.fd);
    cli_input_close(&in);
    mr_run_stats_free(&stats);
    mr_engine_free(e);
    mr_model_free(m);
    return rc;
}

__attribute__((visibility("default"))) const cli_mpi_module mr_cli_mpi_module = {
    .abi = CLI_MPI_MODULE_ABI,
    .job_size = sizeof(cli_mpi_job),
    .init = module_init,
    .finalize = module_finalize,
    .run = module_run,
};
