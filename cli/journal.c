/* journal.c — see journal.h. */
#include "journal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "exit_codes.h"
#include "partition.h"

#define JOURNAL_MAGIC "mars-replay-journal 1\n"

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}
#define FNV_START 0xcbf29ce484222325ULL

static int opts_put(journal_opts *o, const char *s, size_t n)
{
    if (o->failed)
        return -1;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        while (cap < o->len + n + 1)
            cap *= 2;
        char *p = realloc(o->s, cap);
        if (!p) {
            o->failed = 1;
            return -1;
        }
        o->s = p;
        o->cap = cap;
    }
    memcpy(o->s + o->len, s, n);
    o->len += n;
    o->s[o->len] = '\0';
    return 0;
}

void journal_opts_add(journal_opts *o, const char *name, const char *value)
{
    opts_put(o, " --", 3);
    opts_put(o, name, strlen(name));
    if (!value)
        return;
    opts_put(o, "=", 1);
    /* one line in the journal whatever the value holds */
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        char e[4];
        if (*p <= ' ' || *p == '%' || *p >= 0x7f) {
            snprintf(e, sizeof e, "%%%02X", *p);
            opts_put(o, e, 3);
        } else {
            opts_put(o, (const char *)p, 1);
        }
    }
}

char *resume_options(const char *command, uint64_t k, uint64_t n, const journal_opts *o)
{
    char head[160];
    snprintf(head, sizeof head, " %s %s part=%" PRIu64 "/%" PRIu64, command, MR_PROJECT_VERSION, k, n);
    char *s = o->failed ? NULL : malloc(strlen(head) + o->len + 1);
    if (!s) {
        cli_msg("out of memory");
        return NULL;
    }
    strcat(strcpy(s, head), o->s ? o->s : "");
    return s;
}

void journal_opts_free(journal_opts *o)
{
    free(o->s);
    memset(o, 0, sizeof *o);
}

/* FNV-1a of the first MiB: cheap, and catches an input rewritten in place
 * with its size and mtime restored (cp -p of another file of that size). */
static int head_hash(int fd, uint64_t *h)
{
    static char buf[1 << 16];
    *h = FNV_START;
    for (uint64_t off = 0; off < (1u << 20);) {
        const ssize_t n = pread(fd, buf, sizeof buf, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        *h = fnv1a(*h, buf, (size_t)n);
        off += (uint64_t)n;
    }
    return 0;
}

int journal_init(journal *j, const char *tmp, int out_fd, const cli_input *in, const mr_model *m,
                 const char *output, const char *options, const dist_plan *plan)
{
    memset(j, 0, sizeof *j);
    j->out_fd = out_fd;
    j->plan = plan;
    j->output = output;
    j->in_size = in->size;
    j->in_mtime = in->mtime;
    j->part_rows0 = plan->row_off;
    snprintf(j->model_sha, sizeof j->model_sha, "%s", mr_model_sha256(m));
    const size_t n = strlen(tmp) + 16;
    j->path = malloc(n);
    j->path_new = malloc(n);
    char *d = strdup(tmp);
    j->dir = d ? strdup(dirname(d)) : NULL;
    free(d);
    j->options = strdup(options);
    if (!j->path || !j->path_new || !j->dir || !j->options) {
        cli_msg("out of memory");
        return MR_EXIT_INTERNAL;
    }
    snprintf(j->path, n, "%s.journal", tmp);
    snprintf(j->path_new, n, "%s.journal.new", tmp);
    if (head_hash(in->fd, &j->in_head) != 0) {
        cli_msg("%s: read error: %s", in->display, strerror(errno));
        return MR_EXIT_IO;
    }
    clock_gettime(CLOCK_MONOTONIC, &j->last_t);
    return 0;
}

/* The record: identity, then position, then a checksum of all before it. */
static size_t render(const journal *j, const journal_pos *p, char *buf, size_t cap)
{
    int n = snprintf(buf, cap,
                     JOURNAL_MAGIC
                     "model %s\n"
                     "input %" PRId64 " %lld.%09ld %016" PRIx64 "\n"
                     "output %s\n"
                     "options%s\n"
                     "at %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
                     j->model_sha, j->in_size, (long long)j->in_mtime.tv_sec, j->in_mtime.tv_nsec,
                     j->in_head, j->output, j->options, p->in_off, p->rows, p->lines, p->out_off);
    if (n < 0 || (size_t)n + 32 >= cap)
        return 0;
    n += snprintf(buf + n, cap - (size_t)n, "check %016" PRIx64 "\n", fnv1a(FNV_START, buf, (size_t)n));
    return (size_t)n;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        const ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int sync_dir(const char *dir)
{
    const int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    const int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Data first, then the journal that covers it, replaced atomically. */
static int write_journal(journal *j, const journal_pos *p)
{
    const size_t cap = strlen(j->options) + strlen(j->output) + 512;
    char *buf = malloc(cap);
    if (!buf)
        return -1;
    const size_t n = render(j, p, buf, cap);
    int rc = -1;
    if (n && fdatasync(j->out_fd) == 0) {
        const int fd = open(j->path_new, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (fd >= 0) {
            rc = write_all(fd, buf, n) == 0 && fdatasync(fd) == 0 ? 0 : -1;
            const int e = errno;
            if (close(fd) != 0 && rc == 0)
                rc = -1;
            errno = e;
        }
        if (rc == 0)
            rc = rename(j->path_new, j->path) == 0 && sync_dir(j->dir) == 0 ? 0 : -1;
    }
    const int e = errno;
    free(buf);
    errno = e;
    return rc;
}

static int parse_pos(const char *line, journal_pos *p)
{
    return sscanf(line, "at %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64, &p->in_off, &p->rows,
                  &p->lines, &p->out_off) == 4 ? 0 : -1;
}

/* The identity line that differs between two records, as a reason; NULL
 * when they all match. */
static const char *identity_differs(const char *got, const char *want)
{
    static const struct {
        const char *key, *why;
    } lines[] = {
        { "\nmodel ", "the model is not the same (sha256)" },
        { "\ninput ", "the input changed (size, modification time or first MiB)" },
        { "\noutput ", "it was written for another output path" },
        { "\noptions", "the options that shape the output, the part or the program version differ" },
    };
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
        const char *a = strstr(got, lines[i].key), *b = strstr(want, lines[i].key);
        const size_t la = a ? strcspn(a + 1, "\n") : 0, lb = b ? strcspn(b + 1, "\n") : 0;
        if (!a || !b || la != lb || memcmp(a, b, la + 1) != 0)
            return lines[i].why;
    }
    return NULL;
}

/* The N of "part=K/N" in a record's options line, or 0. */
static uint64_t parts_of(const char *rec)
{
    const char *o = strstr(rec, "\noptions ");
    const char *p = o ? strstr(o, " part=") : NULL;
    uint64_t k = 0, n = 0;
    return p && sscanf(p, " part=%" SCNu64 "/%" SCNu64, &k, &n) == 2 ? n : 0;
}

/* Another number of parts (MPI ranks, --shard N, one process): the reason
 * names both, since the cut points and so every part moved. */
static const char *parts_differ(journal *j, const char *got, const char *want)
{
    const uint64_t was = parts_of(got), now = parts_of(want);
    if (!was || !now || was == now)
        return NULL;
    snprintf(j->why_buf, sizeof j->why_buf,
             "it was written by a job of %" PRIu64 " part%s, this one has %" PRIu64
             " (another MPI rank count or --shard N)", was, was == 1 ? "" : "s", now);
    return j->why_buf;
}

int journal_load(journal *j, uint64_t out_size, int quiet, journal_pos *pos)
{
    j->why = NULL;
    memset(pos, 0, sizeof *pos);
    const int fd = open(j->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0; /* none: a fresh run that journals */
    const size_t cap = strlen(j->options) + strlen(j->output) + 65536;
    char *got = malloc(cap), *want = malloc(cap);
    const char *why = NULL;
    ssize_t n = -1;
    if (got && want) {
        size_t have = 0;
        while (have < cap - 1 && (n = read(fd, got + have, cap - 1 - have)) > 0)
            have += (size_t)n;
        n = n < 0 ? -1 : (ssize_t)have;
    }
    close(fd);
    journal_pos p = { 0 };
    if (!got || !want) {
        why = "out of memory";
    } else if (n < 0) {
        why = "its journal cannot be read";
    } else {
        got[n] = '\0';
        const char *at = strstr(got, "\nat "), *check = strstr(got, "\ncheck ");
        uint64_t sum = 0;
        if (strncmp(got, JOURNAL_MAGIC, strlen(JOURNAL_MAGIC)) != 0 || !at || !check ||
            sscanf(check + 7, "%" SCNx64, &sum) != 1 ||
            sum != fnv1a(FNV_START, got, (size_t)(check + 1 - got)) || parse_pos(at + 1, &p) != 0)
            why = "its journal is damaged";
        else if (render(j, &p, want, cap) == 0)
            why = "out of memory";
        else if (!(why = parts_differ(j, got, want)))
            why = identity_differs(got, want);
    }
    if (!why && p.out_off > out_size)
        why = "the temporary output is shorter than its journal says";
    if (!why && p.in_off > (uint64_t)j->in_size)
        why = "its journal points past the end of the input";
    free(got);
    free(want);
    j->why = why;
    if (why) {
        if (!quiet)
            cli_msg("%s: cannot resume: %s; starting over", j->output, why);
        return 0;
    }
    *pos = p;
    return 1;
}

/* The committer: the newest position handed over, synced and journalled
 * while the writer goes on (a position is only handed over once every byte
 * before it was written, so the fdatasync covers it). */
static void *committer(void *arg)
{
    journal *j = arg;
    pthread_mutex_lock(&j->mu);
    for (;;) {
        while (!j->pending && !j->quit)
            pthread_cond_wait(&j->wake, &j->mu);
        if (!j->pending)
            break;
        const journal_pos p = j->next;
        j->pending = 0;
        j->busy = 1;
        pthread_mutex_unlock(&j->mu);
        const int rc = write_journal(j, &p);
        const int e = errno;
        pthread_mutex_lock(&j->mu);
        j->busy = 0;
        if (rc != 0 && !j->write_failed)
            j->write_failed = e ? e : EIO;
        if (rc == 0)
            j->commits++;
        pthread_cond_broadcast(&j->idle);
    }
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

/* Wait until the committer has nothing in hand. */
static void wait_idle(journal *j)
{
    if (!j->thread_started)
        return;
    pthread_mutex_lock(&j->mu);
    while (j->pending || j->busy)
        pthread_cond_wait(&j->idle, &j->mu);
    pthread_mutex_unlock(&j->mu);
}

static void stop_committer(journal *j)
{
    if (!j->thread_started)
        return;
    pthread_mutex_lock(&j->mu);
    j->quit = 1;
    j->pending = 0; /* what is not journalled yet never will be: the run is over */
    pthread_cond_signal(&j->wake);
    pthread_mutex_unlock(&j->mu);
    pthread_join(j->thread, NULL);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->wake);
    pthread_cond_destroy(&j->idle);
    j->thread_started = 0;
}

int journal_commit(void *cookie, const struct mr_commit *c)
{
    journal *j = cookie;
    const uint64_t out = j->start.out_off + c->out_bytes - j->out_skip;
    const int stop = cli_stop_signal();
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    const double dt = (double)(now.tv_sec - j->last_t.tv_sec) + (double)(now.tv_nsec - j->last_t.tv_nsec) * 1e-9;
    const journal_pos p = {
        .in_off = dist_file_offset(j->plan, c->in_offset),
        .rows = j->plan->row_off + c->rows,
        .lines = j->plan->line_off + c->lines,
        .out_off = out,
    };
    j->seen = p;
    if (!stop && out - j->last_out < j->every_bytes && dt < j->every_seconds)
        return 0;
    j->last_out = out;
    j->last_t = now;
    if (!j->thread_started && !stop) {
        pthread_mutex_init(&j->mu, NULL);
        pthread_cond_init(&j->wake, NULL);
        pthread_cond_init(&j->idle, NULL);
        j->thread_started = pthread_create(&j->thread, NULL, committer, j) == 0;
        if (!j->thread_started) {
            pthread_mutex_destroy(&j->mu);
            pthread_cond_destroy(&j->wake);
            pthread_cond_destroy(&j->idle);
        }
    }
    int failed;
    if (stop || !j->thread_started) { /* here and now: the run stops, or no thread */
        wait_idle(j); /* the committer is idle from here on */
        if (!j->write_failed && write_journal(j, &p) != 0)
            j->write_failed = errno ? errno : EIO;
        else if (!j->write_failed)
            j->commits++;
        failed = j->write_failed;
    } else {
        pthread_mutex_lock(&j->mu);
        j->next = p; /* replaces one not taken yet: the newest is enough */
        j->pending = 1;
        pthread_cond_signal(&j->wake);
        failed = j->write_failed;
        pthread_mutex_unlock(&j->mu);
    }
    if (failed) { /* the journal cannot be kept: the run fails (exit 5) */
        errno = failed;
        return -1;
    }
    if (stop) {
        errno = ECANCELED;
        return -1;
    }
    return 0;
}

void journal_flush(journal *j)
{
    stop_committer(j);
    if (j->path && !j->write_failed && j->seen.out_off > j->last_out && write_journal(j, &j->seen) == 0) {
        j->last_out = j->seen.out_off;
        j->commits++;
    }
}

void journal_remove(journal *j)
{
    stop_committer(j);
    if (j->path)
        unlink(j->path);
    if (j->path_new)
        unlink(j->path_new);
}

void journal_free(journal *j)
{
    stop_committer(j);
    free(j->path);
    free(j->path_new);
    free(j->dir);
    free(j->options);
    memset(j, 0, sizeof *j);
}

void resume_remove_parts(const char *output, unsigned from)
{
    char *d = strdup(output), *b = strdup(output);
    DIR *dir = d && b ? opendir(dirname(d)) : NULL;
    if (dir) {
        char prefix[4096];
        const char *base = basename(b);
        char beat[4096];
        snprintf(prefix, sizeof prefix, ".%s.rank-", base);
        snprintf(beat, sizeof beat, ".%s.resume.alive.", base);
        const size_t pl = strlen(prefix), bl = strlen(beat);
        const struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            char *end = NULL;
            if (strncmp(e->d_name, prefix, pl) != 0 || !isdigit((unsigned char)e->d_name[pl]))
                continue;
            const unsigned long k = strtoul(e->d_name + pl, &end, 10);
            if (k >= from && (strcmp(end, ".resume") == 0 || strcmp(end, ".resume.journal") == 0 ||
                              strcmp(end, ".resume.journal.new") == 0))
                unlinkat(dirfd(dir), e->d_name, 0);
        }
        rewinddir(dir); /* the ranks' heartbeats (dist_mpi.c) */
        while ((e = readdir(dir)) != NULL) {
            char *end = NULL;
            if (strncmp(e->d_name, beat, bl) == 0 && isdigit((unsigned char)e->d_name[bl]) &&
                strtoul(e->d_name + bl, &end, 10) >= from && !*end)
                unlinkat(dirfd(dir), e->d_name, 0);
        }
        closedir(dir);
    }
    free(d);
    free(b);
}

/* ---- the run's side: what cmd_run calls ---------------------------------- */

int resume_begin(journal *j, cli_output *out, const cli_input *in, dist_plan *plan,
                 const mr_model *m, mr_options *opt, const resume_spec *rs)
{
    int rc = journal_init(j, out->tmp, out->fd, in, m, rs->output, rs->options, plan);
    if (rc)
        return rc;
    j->every_bytes = rs->every_bytes;
    j->every_seconds = rs->every_seconds;
    struct stat st;
    if (fstat(out->fd, &st) != 0) {
        cli_msg("%s: %s", out->tmp, strerror(errno));
        return MR_EXIT_IO;
    }
    journal_pos pos;
    int ok = journal_load(j, (uint64_t)st.st_size, rs->quiet, &pos);
    if (ok && dist_plan_resume(plan, pos.in_off, pos.rows, pos.lines) != 0) {
        j->why = "its journal does not fit this part of the input";
        if (!rs->quiet)
            cli_msg("%s: cannot resume: %s; starting over", rs->output, j->why);
        ok = 0;
    }
    if (!ok) {
        memset(&pos, 0, sizeof pos);
        journal_remove(j); /* a stale one: this run writes its own */
    }
    if (ftruncate(out->fd, (off_t)pos.out_off) != 0 || lseek(out->fd, (off_t)pos.out_off, SEEK_SET) < 0) {
        cli_msg("%s: %s", out->tmp, strerror(errno));
        return MR_EXIT_IO;
    }
    j->start = pos;
    j->last_out = pos.out_off;
    j->resumed = ok;
    if (!ok)
        return 0;
    out->base = pos.out_off;
    mr_options_set_int(opt, MR_OPT_OUT_HEADER, 0); /* the kept bytes begin with it */
    if (rs->out_fmt == MR_FMT_NPY) { /* the library's own header is dropped: resume_finish writes it */
        unsigned char h[256];
        out->skip = out->pskip = mr_npy_output_header(h, sizeof h, 0, rs->npy_cols, rs->mode);
    }
    if (!rs->quiet)
        cli_msg("%s: resuming at row %" PRIu64 " (%" PRIu64 " output bytes kept)", rs->output,
                pos.rows - j->part_rows0, pos.out_off);
    return 0;
}

int resume_stopped(const journal *j, mr_status st, const mr_error *err, int *rc)
{
    const int sig = cli_stop_signal();
    if (st != MR_E_IO || err->sys_errno != ECANCELED || !sig)
        return 0;
    cli_msg("%s: stopped by signal %d after %u commit%s: rerun with --resume to continue", j->output,
            sig, j->commits, j->commits == 1 ? "" : "s");
    *rc = MR_EXIT_SIGNAL + sig;
    return 1;
}

int resume_finish(journal *j, const cli_output *out, const resume_spec *rs, uint64_t part_rows, int rc)
{
    stop_committer(j); /* before the output is closed: it syncs through its fd */
    if (rc || rs->out_fmt != MR_FMT_NPY || !out->pskip)
        return rc;
    unsigned char h[256];
    const size_t n = mr_npy_output_header(h, sizeof h, part_rows, rs->npy_cols, rs->mode);
    if (n != out->pskip || pwrite(out->fd, h, n, 0) != (ssize_t)n) {
        cli_msg("%s: write error: %s", j->output, n != out->pskip ? "npy header length changed" : strerror(errno));
        return MR_EXIT_IO;
    }
    return 0;
}
