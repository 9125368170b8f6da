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
 * With --resume every rank writes its part to a file of its own beside the
 * output, with its journal (journal.h), and the parts are copied after rank
 * 0's at the end; a rerun continues each part (resume_open_parts). From the
 * planning on, a watchdog thread per rank fails the job, naming the rank
 * and host, when a peer's heartbeat stops (--peer-timeout).
 *
 * This file is the shared module mars-replay-mpi.so (built when meson finds
 * MPI), loaded by dist_mpi_loader.c only when MPI is wanted: a plain run
 * does not even map libmpi. */
#include "dist_mpi.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <pthread.h>
#include <stdarg.h>
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

static FILE *real_stderr; /* while stderr is captured: for lines that cannot wait */

static void capture_begin(capture *c)
{
    fflush(stderr);
    c->saved = stderr;
    c->mem = open_memstream(&c->buf, &c->len);
    if (c->mem) {
        real_stderr = c->saved;
        stderr = c->mem;
    }
}

static void capture_end(capture *c)
{
    if (c->mem) {
        fflush(c->mem);
        stderr = c->saved;
        real_stderr = NULL;
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

static void watchdog_forget(void);

/* An MPI call failed (a peer's connection broke, ...): the line now, not
 * captured, and the whole job goes (the launcher ends the other ranks). */
static void mpi_fail(const char *what, int code)
{
    char s[MPI_MAX_ERROR_STRING];
    int n = 0;
    MPI_Error_string(code, s, &n);
    fprintf(real_stderr ? real_stderr : stderr, "mars-replay: %s: %s failed: %.*s\n", rank_label(), what, n, s);
    watchdog_forget();
    MPI_Abort(MPI_COMM_WORLD, MR_EXIT_MPI);
}

#define MPI_CHECK(call)                       \
    do {                                      \
        const int mpi_rc_ = (call);           \
        if (mpi_rc_ != MPI_SUCCESS)           \
            mpi_fail(#call, mpi_rc_);         \
    } while (0)

static int job_argc;     /* the command line (module_init), which every rank must share */
static char **job_argv;

static int module_init(int *argc, char ***argv, int *ranks)
{
    job_argc = *argc;
    job_argv = *argv;
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
        b[i].absent |= a[i].absent;
        b[i].unknown += a[i].unknown;
    }
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

/* ---- the watchdog: a peer that stops (a lost node, a killed or frozen
 * rank) fails the job within --peer-timeout seconds, naming it, instead of
 * leaving the others blocked in MPI until the launcher gives up ----
 *
 * Every rank's thread rewrites a small heartbeat file beside the job's
 * output (.NAME.alive.TAG.R, TAG rank 0's for this job; with --resume,
 * which locks the output to one job, .NAME.resume.alive.R, so that a rerun
 * reuses and removes those of a job that was killed whole: the directory
 * every rank must see for the output anyway), from the planning on,
 * several times per timeout, and watches the file of the rank before it in
 * the ring (R-1, rank 0 watches the last): each rank is watched once, so one
 * line is said per lost rank and the file system sees two small operations
 * per rank and beat. The content changes every beat; what counts is when
 * the watcher saw it change, on its own monotonic clock (no clock skew
 * between nodes). A rank that finishes removes its file: a missing file is
 * a peer that is done, a stale one a peer that stopped. Files, not sockets:
 * no port, address or firewall to get right, and no MPI call, since the
 * MPI runtime is what hangs. */
typedef struct watchdog {
    pthread_t thread;
    int started, quit;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    double timeout, period;
    int resume;
    char *tmp;                /* the job's temporary output, once open (atomic) */
    char *stem;               /* DIR/.NAME.alive.TAG */
    char *mine, *peer;        /* heartbeat files: this rank's, the watched rank's */
    int peer_rank;
    char peer_host[65];
    unsigned long beats;
} watchdog;

static watchdog wd;

static char *alive_path(const char *stem, int rank)
{
    const size_t n = strlen(stem) + 32;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s.%d", stem, rank);
    return p;
}

/* The first beat creates the file; later ones only rewrite it, so that a
 * file removed by a rank that declared the job lost is not made again. */
static void beat(watchdog *w)
{
    char buf[160];
    const int n = snprintf(buf, sizeof buf, "rank %d of %d on %s, pid %ld, beat %lu\n", world_rank, world_size,
                           world_host, (long)getpid(), ++w->beats);
    const int fd = open(w->mine, O_WRONLY | O_TRUNC | O_CLOEXEC | (w->beats == 1 ? O_CREAT : 0), 0666);
    if (fd >= 0) {
        if (write(fd, buf, (size_t)n) < 0) { /* a missed beat is a late one: the next may do */
        }
        close(fd);
    }
}

/* The watched file's content (a beat), or "" when it is not there. */
static void read_peer(const watchdog *w, char *buf, size_t cap)
{
    buf[0] = '\0';
    const int fd = open(w->peer, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    const ssize_t n = read(fd, buf, cap - 1);
    buf[n > 0 ? n : 0] = '\0';
    close(fd);
}

/* The watched rank stopped: one line, no output left (or the parts kept
 * for --resume), and the whole job goes. */
static void peer_lost(watchdog *w)
{
    char line[512];
    const int n = snprintf(line, sizeof line,
                           "mars-replay: rank %d of %d on %s stopped (no heartbeat for %.0f s): the job fails, %s\n",
                           w->peer_rank, world_size, w->peer_host, w->timeout,
                           w->resume ? "its parts and journals are kept: rerun with --resume to continue"
                                     : "no output written");
    const char *tmp = __atomic_load_n(&w->tmp, __ATOMIC_ACQUIRE);
    if (!w->resume && tmp)
        unlink(tmp);
    for (int k = 0; k < world_size; k++) { /* the launcher kills the others: their beats go too */
        char *p = alive_path(w->stem, k);
        if (p)
            unlink(p);
        free(p);
    }
    if (write(STDERR_FILENO, line, (size_t)n) < 0) { /* nothing more to do */
    }
    MPI_Abort(MPI_COMM_WORLD, MR_EXIT_PEER); /* the launcher ends every rank */
    _exit(MR_EXIT_PEER);
}

static void *watch(void *arg)
{
    watchdog *w = arg;
    char last[160] = "", now_s[160];
    double changed = cli_now(), prev = changed;
    int watching = 1;
    pthread_mutex_lock(&w->mu);
    while (!w->quit) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        const double t = (double)until.tv_nsec * 1e-9 + w->period;
        until.tv_sec += (time_t)t;
        until.tv_nsec = (long)((t - (double)(time_t)t) * 1e9);
        pthread_cond_timedwait(&w->wake, &w->mu, &until);
        if (w->quit)
            break;
        pthread_mutex_unlock(&w->mu);
        beat(w);
        const double now = cli_now();
        if (now - prev > w->timeout / 2)
            changed = now; /* this rank was not running (stopped, swapped out): it cannot judge */
        prev = now;
        if (watching) {
            read_peer(w, now_s, sizeof now_s);
            if (!now_s[0])
                watching = 0; /* removed: the peer is done */
            else if (strcmp(now_s, last) != 0)
                changed = now, snprintf(last, sizeof last, "%s", now_s);
            else if (now - changed >= w->timeout)
                peer_lost(w);
        }
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Start the watchdog of a job writing -o FILE (on every rank, after the
 * same collectives). The first beat is written before the neighbours' host
 * names are exchanged, so that every watched file exists once this returns
 * (a missing one means a peer that is done). */
static void watchdog_start(const cli_job *j)
{
    if (j->peer_timeout <= 0 || world_size < 2 || !j->output || j->mode == MR_MODE_CHECK || wd.started)
        return;
    unsigned long long tag = ((unsigned long long)getpid() << 32) ^ (unsigned long long)(cli_now() * 1e6);
    MPI_CHECK(MPI_Bcast(&tag, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD));
    wd.timeout = (double)j->peer_timeout;
    wd.period = wd.timeout / 5 < 2 ? wd.timeout / 5 : 2;
    wd.resume = j->resume;
    char *d = strdup(j->output), *b = strdup(j->output);
    const size_t n = strlen(j->output) + 64;
    wd.stem = d && b ? malloc(n) : NULL;
    if (wd.stem)
        snprintf(wd.stem, n, wd.resume ? "%s/.%s.resume.alive" : "%s/.%s.alive.%llx", dirname(d), basename(b), tag);
    free(d);
    free(b);
    wd.peer_rank = (world_rank + world_size - 1) % world_size;
    wd.mine = wd.stem ? alive_path(wd.stem, world_rank) : NULL;
    wd.peer = wd.stem ? alive_path(wd.stem, wd.peer_rank) : NULL;
    int ok = wd.mine && wd.peer;
    if (ok) {
        beat(&wd);
        /* the launcher ends the job with SIGTERM: this rank's beat goes, and
         * the one it watches (a killed peer cannot remove its own) */
        cli_remove_on_signal(wd.mine, wd.peer);
    }
    MPI_CHECK(MPI_Sendrecv(world_host, (int)sizeof world_host, MPI_CHAR, (world_rank + 1) % world_size, TAG_GO,
                           wd.peer_host, (int)sizeof wd.peer_host, MPI_CHAR, wd.peer_rank, TAG_GO, MPI_COMM_WORLD,
                           MPI_STATUS_IGNORE));
    wd.peer_host[sizeof wd.peer_host - 1] = '\0';
    pthread_mutex_init(&wd.mu, NULL);
    pthread_cond_init(&wd.wake, NULL);
    wd.started = ok && pthread_create(&wd.thread, NULL, watch, &wd) == 0;
    if (!wd.started) { /* no watchdog: the launcher's own handling, as before */
        pthread_mutex_destroy(&wd.mu);
        pthread_cond_destroy(&wd.wake);
    }
}

/* The job's temporary output exists: a lost peer removes it. */
static void watchdog_output(const char *tmp)
{
    if (wd.started && !wd.tmp)
        __atomic_store_n(&wd.tmp, strdup(tmp), __ATOMIC_RELEASE);
}

/* This rank leaves at once (MPI_Abort): its heartbeat goes, and the one it
 * watches (the peer may be the reason, killed, unable to remove its own). */
static void watchdog_forget(void)
{
    if (wd.mine)
        unlink(wd.mine);
    if (wd.peer)
        unlink(wd.peer);
}

/* This rank is done (or fails by itself): no more beats, its file goes. */
static void watchdog_stop(void)
{
    if (wd.started) {
        pthread_mutex_lock(&wd.mu);
        wd.quit = 1;
        pthread_cond_signal(&wd.wake);
        pthread_mutex_unlock(&wd.mu);
        pthread_join(wd.thread, NULL);
        pthread_mutex_destroy(&wd.mu);
        pthread_cond_destroy(&wd.wake);
        wd.started = 0;
    }
    if (wd.mine)
        unlink(wd.mine);
    cli_remove_on_signal(NULL, NULL);
    free(wd.tmp);
    free(wd.stem);
    free(wd.mine);
    free(wd.peer);
    memset(&wd, 0, sizeof wd);
}

/* ---- the MPI spread (job.h): one part per rank ---- */

static struct mpi_part {
    capture cap;
    spill sp;
    char *buf;                /* BLOCK bytes for moving spills */
    int npy_out;              /* -O npy: the ranks write f64 rows, rank 0 the header */
    int to_file;              /* the output is a temporary file every rank writes */
    int in_place;             /* binary rows: each rank writes its rows at their offset */
    int direct;               /* rank 0 writes its part straight to stdout */
    char *tmp;                /* the temporary file's name, on every rank */
    at_writer aw;
    uint64_t spilled_before;  /* spill bytes of the ranks before */
    uint64_t part_len;        /* --resume: the bytes of this rank's part file */
    uint64_t total_len;       /* --resume: of all the parts */
    int own_rc;               /* this rank's code before the job agreed on the run's */
    mr_column_stats *cols;    /* rank 0: the columns' counters merged in rank order */
} mp = { .sp = { .fd = -1 }, .aw = { MPI_FILE_NULL, 0 } };

static int mpi_agree(cli_run *r, int rc, int *who)
{
    (void)r;
    if (who)
        mp.own_rc = rc;
    return agree_who(rc, &mp.cap, who);
}

/* One line on the real stderr, now (not captured): "mars-replay: [rank R of N: ]..." */
__attribute__((format(printf, 2, 3))) static void say(int with_rank, const char *fmt, ...)
{
    FILE *f = mp.cap.saved ? mp.cap.saved : stderr;
    va_list ap;
    va_start(ap, fmt);
    fprintf(f, "mars-replay: %s%s", with_rank ? rank_label() : "", with_rank ? ": " : "");
    vfprintf(f, fmt, ap);
    fputc('\n', f);
    fflush(f);
    va_end(ap);
}

/* One job or separate commands? mpirun used as a plain launcher of
 * different commands (bash -c '... part$RANK.csv -o out$RANK.csv') must not
 * be merged into one job: every rank compares its command line (after the
 * program name) and its model's sha256 with rank 0's, byte for byte. */
static int same_job(const cli_run *r)
{
    size_t len = 0;
    for (int i = 1; i < job_argc; i++)
        len += strlen(job_argv[i]) + 1;
    const char *sha = mr_model_sha256(r->m);
    len += strlen(sha) + 1;
    char *mine = malloc(len), *p = mine;
    if (!mine)
        MPI_Abort(MPI_COMM_WORLD, MR_EXIT_INTERNAL);
    for (int i = 1; i < job_argc; i++)
        p = stpcpy(p, job_argv[i]) + 1;
    strcpy(p, sha);
    unsigned long long len0 = len;
    MPI_CHECK(MPI_Bcast(&len0, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD));
    char *first = r->rank == 0 ? mine : malloc((size_t)len0);
    if (!first)
        MPI_Abort(MPI_COMM_WORLD, MR_EXIT_INTERNAL);
    MPI_CHECK(MPI_Bcast(first, (int)len0, MPI_CHAR, 0, MPI_COMM_WORLD));
    int rc = 0;
    if (len0 != len || memcmp(first, mine, len) != 0) {
        cli_msg("this rank's command line or model differs from rank 0's: under mpirun/srun the "
                "ranks run one job with the same command; to run each rank as an independent "
                "process, add --no-mpi");
        rc = MR_EXIT_USAGE;
    }
    if (first != mine)
        free(first);
    free(mine);
    return rc;
}

static int mpi_plan(cli_run *r, int rc)
{
    const cli_job *j = r->job;
    if (rc)
        return rc;
    rc = agree(same_job(r), &mp.cap);
    if (rc)
        return rc;
    watchdog_start(j); /* from here on, every step may wait for every rank */
    r->partitioned = 1;
    r->progress_to = mp.cap.saved ? mp.cap.saved : stderr;
    if (r->in.size < 0) {
        cli_msg("%s: under MPI the input must be a regular file (stdin and pipes are refused: "
                "run one process, or save the stream to a file first)", r->in.display);
        rc = MR_EXIT_USAGE;
    }
    if (rc == 0 && !(mp.buf = malloc(BLOCK)))
        rc = (cli_msg("out of memory"), MR_EXIT_INTERNAL);
    rc = agree(rc, &mp.cap);
    if (rc)
        return rc;
    /* one snapshot of the input for every rank: rank 0's */
    cli_input *in = &r->in;
    long long snap[3] = { (long long)in->size, (long long)in->mtime.tv_sec, in->mtime.tv_nsec };
    MPI_CHECK(MPI_Bcast(snap, 3, MPI_LONG_LONG, 0, MPI_COMM_WORLD));
    in->size = snap[0];
    in->mtime.tv_sec = (time_t)snap[1];
    in->mtime.tv_nsec = (long)snap[2];
    part_set_io_retries(j->dist.io_retries);
    /* the library cuts: CSV records need the quote parity at each rank's
     * anchor, the exclusive XOR scan of the ranks' own parities */
    mr_error err;
    int fd = in->fd, mine = 0, parity[2] = { 0, 0 };
    const mr_status st = mr_input_part_parity(j->opt, dist_file_read_at, &fd, (uint64_t)in->size,
                                              (uint64_t)r->rank, (uint64_t)r->size, &mine, &err);
    if (st != MR_OK) {
        cli_print_error(&err, in->display);
        rc = cli_exit_code(st);
    }
    rc = agree(rc, &mp.cap);
    if (rc)
        return rc;
    MPI_CHECK(MPI_Exscan(&mine, &parity[0], 1, MPI_INT, MPI_BXOR, MPI_COMM_WORLD));
    if (r->rank == 0)
        parity[0] = 0; /* MPI_Exscan leaves rank 0's result undefined */
    parity[1] = parity[0] ^ mine;
    rc = dist_plan_part(&r->plan, fd, (uint64_t)in->size, j->opt, r->m, (uint64_t)r->rank, (uint64_t)r->size,
                        parity, NULL, 0, &err);
    if (rc)
        cli_print_error(&err, in->display);
    if (rc == 0)
        dist_input_init(&r->din, in->fd, &r->plan, j->dist.io_retries);
    /* this rank's options: the CSV header only from rank 0; .npy rows raw,
     * the header written by rank 0 with the total row count */
    mp.npy_out = j->dist.out_fmt == MR_FMT_NPY && j->mode != MR_MODE_CHECK;
    if (r->rank > 0)
        mr_options_set_int(j->opt, MR_OPT_OUT_HEADER, 0);
    if (mp.npy_out && !(j->resume && r->rank == 0)) /* --resume: rank 0's part is the .npy's start */
        mr_options_set_int(j->opt, MR_OPT_OUTPUT_FORMAT, MR_FMT_F64);
    return rc;
}

/* Rank 0's temporary output name, on every rank (mp.tmp): where the job's
 * output is assembled and the watchdog's heartbeats go. */
static void share_tmp_name(const cli_run *r)
{
    int plen = r->rank == 0 ? (int)strlen(r->out.tmp) + 1 : 0;
    MPI_CHECK(MPI_Bcast(&plen, 1, MPI_INT, 0, MPI_COMM_WORLD));
    mp.tmp = r->rank == 0 ? r->out.tmp : malloc((size_t)plen);
    if (!mp.tmp)
        MPI_Abort(MPI_COMM_WORLD, MR_EXIT_INTERNAL);
    MPI_CHECK(MPI_Bcast(mp.tmp, plen, MPI_CHAR, 0, MPI_COMM_WORLD));
}

/* --resume: every rank writes its part to a resumable file of its own beside
 * the output (not $TMPDIR: a requeued job may run the rank on another node),
 * with its own journal: rank 0 the output's own temporary file, rank K > 0
 * that of "OUTPUT.rank-K". At the end the parts are copied after rank 0's. */
static int resume_open_parts(cli_run *r)
{
    const cli_job *j = r->job;
    char part[4096];
    snprintf(part, sizeof part, "%s.rank-%d", j->output, r->rank);
    int rc = cli_output_open_resumable(&r->out, r->rank == 0 ? j->output : part);
    rc = agree(rc, &mp.cap);
    if (rc)
        return rc;
    if (r->rank == 0)
        resume_remove_parts(j->output, (unsigned)r->size); /* of a job of more ranks */
    r->io.write = cli_write;
    r->io.pwrite = cli_pwrite;
    r->io.write_cookie = &r->out;
    r->io.sink = r->rank == 0 || !r->out.tmp ? j->output : r->out.tmp; /* a write error names the part */
    r->io.write_any_order = 1; /* removed unless the job succeeds or stops resumably */
    rc = cli_resume_open(r, r->rank == 0 || !mp.npy_out ? j->dist.out_fmt : MR_FMT_F64, 1);
    /* one line for the job: the first rank that could not resume says why, rank 0 what is kept */
    int mine = r->jr.why ? r->rank : r->size, first = r->size;
    MPI_CHECK(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD));
    uint64_t kept[3] = { (uint64_t)r->jr.resumed, r->jr.resumed ? r->jr.start.rows - r->jr.part_rows0 : 0,
                         r->jr.start.out_off }, sum[3] = { 0, 0, 0 };
    MPI_CHECK(MPI_Reduce(kept, sum, 3, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD));
    if (j->verbose >= 0 && first == r->rank && rc == 0)
        say(1, "%s: cannot resume: %s; starting over", j->output, r->jr.why);
    if (j->verbose >= 0 && r->rank == 0 && sum[0])
        say(0, "%s: resuming: %" PRIu64 " of %d ranks continue their parts (%" PRIu64 " rows, %" PRIu64
            " output bytes kept)", j->output, sum[0], r->size, sum[1], sum[2]);
    rc = agree(rc, &mp.cap);
    if (rc == 0) { /* the name of the job's output, for the assembly and the watchdog */
        share_tmp_name(r);
        mp.to_file = 1;
        watchdog_output(mp.tmp);
    }
    return rc;
}

static int mpi_output_open(cli_run *r, int rc)
{
    const cli_job *j = r->job;
    rc = agree(rc, &mp.cap);
    if (rc)
        return rc;
    if (j->resume)
        return resume_open_parts(r);
    /* rank 0 owns the output: a temporary file beside it, or stdout; no
     * terminal check: launchers hand rank 0 a pseudo-terminal for the stdout
     * they forward, whatever the user redirected it to */
    if (j->mode != MR_MODE_CHECK && r->rank == 0) {
        rc = cli_output_open(&r->out, j->output);
        mp.to_file = r->out.tmp != NULL;
    }
    rc = agree(rc, &mp.cap);
    if (rc)
        return rc;
    MPI_CHECK(MPI_Bcast(&mp.to_file, 1, MPI_INT, 0, MPI_COMM_WORLD));
    if (mp.to_file) {
        share_tmp_name(r);
        watchdog_output(mp.tmp);
    }
    /* binary rows to binary output in a file: every rank knows its byte
     * range in advance and writes it in place, no spill (the same decision
     * on every rank: the plan comes from the same header) */
    const dist_plan *p = &r->plan;
    const size_t nvals = j->mode == MR_MODE_DESIGN ? mr_model_n_terms(r->m) : 1;
    mp.in_place = mp.to_file && j->mode != MR_MODE_CHECK &&
                  (mp.npy_out || j->dist.out_fmt == MR_FMT_F64) && p->fmt != MR_FMT_CSV && !p->whole && !p->skip;
    if (mp.in_place) {
        unsigned char h[256]; /* its length does not depend on the row count */
        mp.aw.off = (mp.npy_out ? mr_npy_output_header(h, sizeof h, 0, nvals, j->mode) : 0) +
                    p->row_off * nvals * 8;
        if (MPI_File_open(MPI_COMM_WORLD, mp.tmp, MPI_MODE_WRONLY, MPI_INFO_NULL, &mp.aw.fh) != MPI_SUCCESS)
            rc = (cli_msg("%s: MPI_File_open failed: the output must be on a file system every rank sees", mp.tmp),
                  MR_EXIT_IO);
    }
    /* rank 0 writes its part straight to a stream; everything else spills */
    mp.direct = r->rank == 0 && !mp.to_file && !mp.npy_out;
    if (rc == 0 && j->mode != MR_MODE_CHECK && !mp.direct && !mp.in_place)
        rc = spill_open(&mp.sp);
    if (j->mode != MR_MODE_CHECK) {
        r->io.write = mp.direct ? cli_write : mp.in_place ? at_write : spill_write;
        r->io.write_cookie = mp.direct ? (void *)&r->out : mp.in_place ? (void *)&mp.aw : (void *)&mp.sp;
        /* a write error names the file that failed: a spill is this rank's, in $TMPDIR */
        r->io.sink = mp.direct || mp.in_place ? (j->output ? j->output : "<stdout>") : mp.sp.path;
    }
    return rc;
}

/* Global positions: rows and lines of the ranks before (complete, since
 * they did not fail before the first failing rank); totals and the columns'
 * counters merged in rank order for rank 0's warnings and report. */
static void mpi_combine(cli_run *r)
{
    const mr_run_stats *st = &r->stats;
    struct stat ps;
    if (r->job->resume && r->out.fd >= 0 && fstat(r->out.fd, &ps) == 0)
        mp.part_len = (uint64_t)ps.st_size; /* rank 0's: the .npy header and its rows included */
    uint64_t mine[3] = { st->rows_in, r->plan.fmt == MR_FMT_CSV ? st->lines_in : 0,
                         r->job->resume ? mp.part_len : mp.sp.len };
    uint64_t before[3] = { 0, 0, 0 };
    MPI_CHECK(MPI_Exscan(mine, before, 3, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD));
    if (r->rank == 0)
        before[0] = before[1] = before[2] = 0;
    if (r->plan.fmt != MR_FMT_CSV)
        before[0] = r->plan.row_off;
    r->row_off = before[0];
    r->line_off = before[1];
    mp.spilled_before = before[2];
    dist_global_stats(&r->stats, r->row_off);

    const size_t nf = r->ran ? mr_model_n_features(r->m) : 0;
    if (nf) {
        MPI_Datatype t;
        MPI_Op op;
        mr_column_stats *none = calloc(nf, sizeof *none); /* a rank that had nothing to read */
        mp.cols = calloc(nf, sizeof *mp.cols);
        if (!mp.cols || !none)
            MPI_Abort(MPI_COMM_WORLD, MR_EXIT_INTERNAL);
        MPI_CHECK(MPI_Type_contiguous((int)sizeof(mr_column_stats), MPI_BYTE, &t));
        MPI_CHECK(MPI_Type_commit(&t));
        MPI_CHECK(MPI_Op_create(merge_columns, 0, &op));
        MPI_CHECK(MPI_Reduce(st->columns ? st->columns : none, mp.cols, (int)nf, t, op, 0, MPI_COMM_WORLD));
        MPI_Op_free(&op);
        MPI_Type_free(&t);
        free(none);
    }
    uint64_t local[6] = { st->rows_in, st->rows_out, st->bytes_in, st->bytes_out,
                          (uint64_t)st->last_record_unterminated, mp.part_len };
    uint64_t tot[6] = { 0 };
    MPI_CHECK(MPI_Allreduce(local, tot, 6, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD));
    mp.total_len = tot[5];
    r->totals = *st;
    r->totals.rows_in = tot[0];
    r->totals.rows_out = tot[1];
    r->totals.bytes_in = tot[2];
    r->totals.bytes_out = tot[3];
    r->totals.last_record_unterminated = tot[4] != 0; /* only the last part can end without one */
    r->totals.columns = mp.cols;
    r->last_row = tot[0];
}

/* --resume: the job succeeded: the parts after rank 0's, the .npy header
 * of all the rows, the rename; then the parts and journals go. It stopped
 * for a signal on every failing rank: everything stays for a rerun. Any
 * other failure is for good (a rerun would meet it again): everything goes. */
static int resume_assemble(cli_run *r, int rc)
{
    const cli_job *j = r->job;
    const int rank = r->rank;
    int hard = mp.own_rc && !r->stopped, any_hard = 0;
    MPI_CHECK(MPI_Allreduce(&hard, &any_hard, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD));
    rc = resume_finish(&r->jr, &r->out, &r->rs, r->stats.rows_out, rc); /* the committer stops */
    rc = agree(rc, &mp.cap);
    if (rc == 0 && !mp.tmp)
        rc = MR_EXIT_INTERNAL;
    if (rc == 0) {
        spill part = { .fd = r->out.fd, .len = rank == 0 ? 0 : mp.part_len }; /* rank 0's is in place */
        rc = write_collective(mp.tmp, mp.spilled_before, &part, mp.buf);
        if (rc == 0 && rank == 0 && mp.npy_out) { /* its header counted rank 0's rows only */
            unsigned char h[256];
            const size_t nvals = j->mode == MR_MODE_DESIGN ? mr_model_n_terms(r->m) : 1;
            const size_t hl = mr_npy_output_header(h, sizeof h, 0, nvals, j->mode);
            const uint64_t rows = (mp.total_len - hl) / (nvals * 8);
            if (mr_npy_output_header(h, sizeof h, rows, nvals, j->mode) != hl ||
                pwrite(r->out.fd, h, hl, 0) != (ssize_t)hl)
                rc = (cli_msg("%s: write error: %s", j->output, strerror(errno)), MR_EXIT_IO);
        }
        rc = agree(rc, &mp.cap);
        if (rank == 0 && rc == 0)
            rc = cli_output_commit(&r->out);
        MPI_CHECK(MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD));
        any_hard = rc != 0;
    }
    if (rc == 0 || any_hard) {
        journal_remove(&r->jr);
        cli_output_abort(&r->out); /* a part, or rank 0's output after a failure */
    } else {
        if (mp.own_rc == 0 && r->ran)
            journal_flush(&r->jr); /* this part is done: a rerun skips it */
        cli_output_keep(&r->out);
    }
    return rc;
}

static int mpi_output_finish(cli_run *r, int rc)
{
    const cli_job *j = r->job;
    const int rank = r->rank;
    /* the report (rank 0) carries the first failing rank's error */
    if (rc && j->report) {
        MPI_CHECK(MPI_Bcast(&r->err, (int)sizeof r->err, MPI_BYTE, r->who, MPI_COMM_WORLD));
        r->report_err = 1;
    }
    MPI_CHECK(MPI_Bcast(&r->pipe_closed, 1, MPI_INT, 0, MPI_COMM_WORLD));
    unsigned char head[256];
    size_t head_len = 0;
    if (rc == 0 && mp.npy_out)
        head_len = mr_npy_output_header(head, sizeof head, r->totals.rows_out, mr_model_n_terms(r->m), j->mode);
    const double t0 = cli_now();
    if (j->resume) {
        rc = resume_assemble(r, rc);
    } else if (mp.in_place) { /* the rows are in place: the header, a collective close, the rename */
        int hrc = 0;
        if (rc == 0 && rank == 0 && head_len && cli_pwrite(&r->out, head, head_len, 0) != 0)
            hrc = (cli_msg("%s: write error: %s", j->output, strerror(errno)), MR_EXIT_IO);
        if (mp.aw.fh != MPI_FILE_NULL && MPI_File_close(&mp.aw.fh) != MPI_SUCCESS && !hrc)
            hrc = (cli_msg("%s: write error on close", mp.tmp), MR_EXIT_IO);
        if (rc == 0) {
            rc = agree(hrc, &mp.cap);
            if (rank == 0 && rc == 0)
                rc = cli_output_commit(&r->out);
            MPI_CHECK(MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD));
        }
    } else if (rc == 0 && !r->pipe_closed && j->mode != MR_MODE_CHECK) {
        if (mp.to_file) {
            int hrc = 0;
            if (rank == 0 && head_len && cli_pwrite(&r->out, head, head_len, 0) != 0)
                hrc = (cli_msg("%s: write error: %s", j->output, strerror(errno)), MR_EXIT_IO);
            rc = write_collective(mp.tmp, head_len + mp.spilled_before, &mp.sp, mp.buf);
            if (!rc)
                rc = hrc;
            rc = agree(rc, &mp.cap);
            if (rank == 0 && rc == 0)
                rc = cli_output_commit(&r->out); /* fchmod'ed at creation; close + rename */
            MPI_CHECK(MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD));
        } else {
            const int werr = gather_to_stdout(&r->out, rank == 0 ? head : NULL, rank == 0 ? head_len : 0,
                                              !mp.direct, &mp.sp, mp.buf);
            if (werr && werr != EPIPE)
                rc = (cli_msg("%s: write error: %s", j->output ? j->output : "<stdout>", strerror(werr)), MR_EXIT_IO);
            rc = agree(rc, &mp.cap);
            if (rank == 0 && rc == 0)
                rc = cli_output_commit(&r->out);
            MPI_CHECK(MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD));
        }
    }
    watchdog_stop(); /* the output is renamed or removed: nothing left to wait for */
    capture_end(&mp.cap);
    if (rank == 0 && rc == 0 && mp.cap.buf && *mp.cap.buf)
        capture_print(&mp.cap, 0); /* a commit error printed on rank 0 */
    capture_free(&mp.cap);
    fflush(stderr);
    if (rank == 0 && (r->out.fd >= 0 || r->out.tmp))
        cli_output_abort(&r->out);
    r->write_s = cli_now() - t0;

    /* each rank's numbers, gathered in rank order for the report and -v */
    cli_rank_stat me = { r->stats.rows_out, r->stats.bytes_in, r->stats.bytes_out, r->run_s, r->plan_s,
                         r->write_s, cli_peak_rss(), { 0 } };
    memcpy(me.host, world_host, sizeof me.host);
    if (j->report || j->verbose > 0) {
        r->ranks = rank == 0 ? calloc((size_t)r->size, sizeof *r->ranks) : NULL;
        MPI_CHECK(MPI_Gather(&me, (int)sizeof me, MPI_BYTE, r->ranks, (int)sizeof me, MPI_BYTE, 0, MPI_COMM_WORLD));
    }
    return rc;
}

static int mpi_final(cli_run *r, int rc)
{
    (void)r;
    MPI_CHECK(MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD));
    return rc;
}

static void mpi_release(cli_run *r)
{
    watchdog_stop();
    journal_free(&r->jr);
    free(r->resume_opts);
    r->resume_opts = NULL;
    if (r->rank != 0)
        free(mp.tmp);
    mp.tmp = NULL;
    free(r->ranks);
    r->ranks = NULL;
    free(mp.cols);
    mp.cols = NULL;
    free(mp.buf);
    mp.buf = NULL;
    if (mp.sp.fd >= 0)
        close(mp.sp.fd);
    mp.sp.fd = -1;
    capture_free(&mp.cap);
}

static const cli_spread mpi_spread = {
    .agree = mpi_agree,
    .plan = mpi_plan,
    .output_open = mpi_output_open,
    .combine = mpi_combine,
    .output_finish = mpi_output_finish,
    .final = mpi_final,
    .release = mpi_release,
};

static int module_run(const cli_job *j)
{
    capture_begin(&mp.cap); /* ranks keep their messages until the first failing rank is known */
    return cli_job_run(j, &mpi_spread, world_rank, world_size);
}

__attribute__((visibility("default"))) const cli_mpi_module mr_cli_mpi_module = {
    .abi = CLI_MPI_MODULE_ABI,
    .job_size = sizeof(cli_job),
    .init = module_init,
    .finalize = module_finalize,
    .run = module_run,
};
