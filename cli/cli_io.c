/* cli_io.c — see cli_io.h. */
#include "cli_io.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "escape.h"
#include "exit_codes.h"
#include "partition.h"

/* One write per line (stderr is unbuffered): lines of several MPI ranks do
 * not interleave. */
void cli_msg(const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    const int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof line) {
        fprintf(stderr, "mars-replay: %s\n", line);
        return;
    }
    va_start(ap, fmt); /* longer than a line buffer: as it comes */
    fputs("mars-replay: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_usage_error(const char *fmt, const char *arg)
{
    fputs("mars-replay: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs(" (see mars-replay --help)\n", stderr);
    return MR_EXIT_USAGE;
}

int cli_exit_code(mr_status st)
{
    switch (st) {
    case MR_OK: return MR_EXIT_OK;
    case MR_E_MODEL: return MR_EXIT_MODEL;
    case MR_E_PARSE:
    case MR_E_SHAPE:
    case MR_E_DATA: return MR_EXIT_DATA;
    case MR_E_IO: return MR_EXIT_IO;
    case MR_E_INVAL: return MR_EXIT_USAGE;
    case MR_E_BACKEND: return MR_EXIT_DEVICE;
    default: return MR_EXIT_INTERNAL;
    }
}

void cli_put_escaped(FILE *f, const char *s, int width)
{
    const size_t len = s ? strlen(s) : 0;
    char one[MR_ESCAPE_MAX];
    int n = 0;
    for (size_t i = 0; i < len;) {
        size_t used;
        const size_t k = mr_escape_char(s + i, len - i, &used, one);
        fwrite(one, 1, k, f);
        n += (int)k;
        i += used;
    }
    for (; n < width; n++)
        fputc(' ', f);
}

/* field, json_path and text come escaped from the library; the source is the
 * caller's path, as given */
void cli_print_error(const mr_error *e, const char *fallback)
{
    const char *src = e->source[0] ? e->source : fallback;
    fputs("mars-replay: ", stderr);
    if (src && *src) {
        cli_put_escaped(stderr, src, 0);
        if (e->line) {
            fprintf(stderr, ":%llu", (unsigned long long)e->line);
            if (e->column)
                fprintf(stderr, ":%u", e->column);
        }
        fputs(": ", stderr);
    }
    if (!e->line && e->row)
        fprintf(stderr, "row %llu: ", (unsigned long long)e->row);
    if (e->json_path[0])
        fprintf(stderr, "%s: ", e->json_path);
    if (e->field[0])
        fprintf(stderr, "column \"%s\": ", e->field);
    fputs(e->text[0] ? e->text : mr_strerror(e->status), stderr);
    fputc('\n', stderr);
}

int cli_input_open(cli_input *in, const char *name)
{
    in->name = name;
    in->size = -1;
    if (!name || strcmp(name, "-") == 0) {
        in->fd = STDIN_FILENO;
        in->display = "<stdin>";
    } else {
        in->display = name;
        in->fd = open(name, O_RDONLY | O_CLOEXEC);
        if (in->fd < 0) {
            cli_msg("%s: cannot open: %s", name, strerror(errno));
            return MR_EXIT_IO;
        }
    }
    struct stat st;
    if (fstat(in->fd, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            cli_msg("%s: is a directory", in->display);
            return MR_EXIT_IO;
        }
        if (S_ISFIFO(st.st_mode)) /* fewer, larger reads from a pipe (best effort) */
            (void)fcntl(in->fd, F_SETPIPE_SZ, 1 << 20);
        if (S_ISREG(st.st_mode)) {
            in->size = st.st_size;
            in->mtime = st.st_mtim;
            const off_t at = lseek(in->fd, 0, SEEK_CUR); /* stdin may be partly read */
            in->base = at > 0 && at <= st.st_size ? (uint64_t)at : 0;
        }
    }
    return 0;
}

int cli_input_unchanged(const cli_input *in)
{
    struct stat st;
    if (in->size < 0 || fstat(in->fd, &st) != 0)
        return 0;
    if (st.st_size == in->size && st.st_mtim.tv_sec == in->mtime.tv_sec && st.st_mtim.tv_nsec == in->mtime.tv_nsec)
        return 0;
    cli_msg("%s: the input changed during the run (%lld bytes at the start, %lld at the end): no output written",
            in->display, (long long)in->size, (long long)st.st_size);
    return MR_EXIT_IO;
}

void cli_input_close(cli_input *in)
{
    if (in->fd > STDERR_FILENO)
        close(in->fd);
    in->fd = -1;
}

long cli_read(void *cookie, void *buf, size_t cap)
{
    const cli_input *in = cookie;
    int tries = 0;
    for (;;) {
        const ssize_t n = read(in->fd, buf, cap);
        if (n >= 0 || (errno != EINTR && !part_retry_transient(&tries, in->retries)))
            return (long)n;
    }
}

void cli_std_fds(void)
{
    for (int fd = 0; fd <= 2; fd++)
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
            const int n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY); /* the lowest free: fd */
            if (n >= 0 && n != fd)
                close(n);
        }
}

int cli_stdout_done(void)
{
    return fflush(stdout) == 0 && !ferror(stdout) ? MR_EXIT_OK : MR_EXIT_IO;
}

long cli_read_into_pipe(void *cookie, int pipe_fd, size_t len)
{
    const cli_input *in = cookie;
    int tries = 0;
    for (;;) {
        const ssize_t n = splice(in->fd, NULL, pipe_fd, NULL, len, SPLICE_F_MOVE);
        if (n >= 0 || (errno != EINTR && !part_retry_transient(&tries, in->retries)))
            return (long)n;
    }
}

long cli_read_at(void *cookie, void *buf, size_t cap, uint64_t offset)
{
    const cli_input *in = cookie;
    int tries = 0;
    for (;;) {
        const ssize_t n = pread(in->fd, buf, cap, (off_t)(in->base + offset));
        if (n >= 0 || (errno != EINTR && !part_retry_transient(&tries, in->retries)))
            return (long)n;
    }
}

/* Temp file path for the signal handler: removed if we are killed. */
static volatile sig_atomic_t have_tmp;
static char tmp_for_signal[4096];

/* Files that a signal removes too (an MPI rank's heartbeat, and the one it watches). */
static volatile sig_atomic_t have_own;
static char own_for_signal[2][4096];

static void on_signal(int sig)
{
    if (have_tmp)
        unlink(tmp_for_signal);
    for (int i = 0; i < have_own; i++)
        unlink(own_for_signal[i]);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* --resume: a signal asks the run to stop at its next committed chunk (the
 * journal then covers everything written). A second signal of another kind
 * (a second Ctrl-C after a SIGTERM, ...) leaves at once, the journal on disk
 * already matching the data before it; a repeated SIGTERM changes nothing
 * (Slurm signals the batch shell and its children, and the shell may pass
 * it on: SIGKILL follows anyway). */
static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
    if (stop_signal && !(sig == SIGTERM && stop_signal == SIGTERM)) {
        for (int i = 0; i < have_own; i++)
            unlink(own_for_signal[i]);
        _exit(MR_EXIT_SIGNAL + stop_signal);
    }
    stop_signal = sig;
}

int cli_stop_signal(void)
{
    return stop_signal;
}

/* Every signal whose default action ends the process and that can be
 * caught (SIGXCPU: Slurm's CPU limit; SIGXFSZ is ignored in main). */
static const int terminating[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM,
                                   SIGXCPU, SIGVTALRM, SIGPROF, SIGPOLL };

void cli_stop_on_signals(void)
{
    for (size_t i = 0; i < sizeof terminating / sizeof *terminating; i++)
        signal(terminating[i], on_stop);
}

void cli_remove_on_signal(const char *a, const char *b)
{
    have_own = 0;
    if (!a || !b || strlen(a) >= sizeof own_for_signal[0] || strlen(b) >= sizeof own_for_signal[0])
        return;
    strcpy(own_for_signal[0], a);
    strcpy(own_for_signal[1], b);
    have_own = 2;
    for (size_t i = 0; i < sizeof terminating / sizeof *terminating; i++) {
        struct sigaction sa;
        if (sigaction(terminating[i], NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
            signal(terminating[i], on_signal); /* a --resume run's stop handler stays */
    }
}

/* A name that denotes an already open file, not a place: write through it. */
static int names_open_file(const char *path)
{
    static const char *const fixed[] = { "/dev/stdin", "/dev/stdout", "/dev/stderr", "/dev/tty" };
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        if (strcmp(path, fixed[i]) == 0)
            return 1;
    return strncmp(path, "/dev/fd/", 8) == 0 || strncmp(path, "/proc/", 6) == 0;
}

static int output_open(cli_output *out, const char *path, int resumable);

int cli_output_open(cli_output *out, const char *path)
{
    return output_open(out, path, 0);
}

int cli_output_open_resumable(cli_output *out, const char *path)
{
    return output_open(out, path, 1);
}

/* The temporary output of a resumable run has a name a rerun can find; it
 * is locked, so that two runs never write it at once. */
static int open_resumable(cli_output *out, const char *path)
{
    out->fd = open(out->tmp, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (out->fd < 0) {
        cli_msg("%s: cannot create a temporary file beside it: %s", path, strerror(errno));
        return MR_EXIT_IO;
    }
    if (flock(out->fd, LOCK_EX | LOCK_NB) != 0) {
        cli_msg("%s: %s", out->tmp, errno == EWOULDBLOCK ? "another run is writing this output (its temporary file is locked)"
                                                           : strerror(errno));
        close(out->fd);
        out->fd = -1;
        return MR_EXIT_IO;
    }
    return 0;
}

static int output_open(cli_output *out, const char *path, int resumable)
{
    memset(out, 0, sizeof *out);
    if (!path || strcmp(path, "-") == 0) {
        out->fd = STDOUT_FILENO;
        out->is_tty = isatty(STDOUT_FILENO);
        struct stat st;
        /* a redirect to a regular file (not appending) can be patched in
         * place, relative to where our output starts in it */
        out->seekable = fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode) &&
                        !(fcntl(STDOUT_FILENO, F_GETFL) & O_APPEND);
        const off_t at = out->seekable ? lseek(STDOUT_FILENO, 0, SEEK_CUR) : 0;
        out->base = at > 0 ? (uint64_t)at : 0;
        return 0;
    }
    if (!*path) {
        cli_msg("-o: empty file name");
        return MR_EXIT_USAGE;
    }
    if (path[strlen(path) - 1] == '/') {
        cli_msg("%s: names a directory, not a file", path);
        return MR_EXIT_IO;
    }
    out->path = path;
    /* our own standard output by name: use the descriptor itself, so that an
     * appending or seekable stdout behaves exactly like -o - */
    if (strcmp(path, "/dev/stdout") == 0 || strcmp(path, "/dev/fd/1") == 0 ||
        strcmp(path, "/proc/self/fd/1") == 0)
        return output_open(out, NULL, 0);
    /* /dev/stderr, /proc/self/fd/N and the like are links to an open file:
     * write through them, never rename over them. Anything else is decided
     * by what it is: a regular file (or none yet) gets a temporary file and
     * a rename, wherever it lives (/dev/shm too); a FIFO, socket or device
     * is written directly */
    int special = names_open_file(path);
    char link[4096];
    const ssize_t ll = special ? -1 : readlink(path, link, sizeof link - 1); /* a link to one */
    if (ll > 0) {
        link[ll] = '\0';
        special = names_open_file(link);
    }
    struct stat st;
    if (special || (stat(path, &st) == 0 && !S_ISREG(st.st_mode))) {
        if (!special && S_ISDIR(st.st_mode)) {
            cli_msg("%s: is a directory", path);
            return MR_EXIT_IO;
        }
        /* FIFO, /dev/stdout, a device: write directly, never replace it */
        out->fd = open(path, O_WRONLY | O_CLOEXEC);
        if (out->fd < 0) {
            cli_msg("%s: cannot open for writing: %s", path, strerror(errno));
            return MR_EXIT_IO;
        }
        out->is_tty = isatty(out->fd);
        return 0;
    }
    /* a link to a regular file: replace the target, keep the link */
    char *resolved = NULL;
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && (resolved = realpath(path, NULL)) != NULL)
        path = resolved;
    char *dup = strdup(path), *base = strdup(path);
    if (!dup || !base) {
        free(dup);
        free(base);
        cli_msg("out of memory");
        return MR_EXIT_INTERNAL;
    }
    const char *dir = dirname(dup);
    const char *b = basename(base);
    const size_t n = strlen(dir) + strlen(b) + 32;
    out->tmp = malloc(n);
    if (out->tmp)
        snprintf(out->tmp, n, resumable ? "%s/.%s.resume" : "%s/.%s.tmp.XXXXXX", dir, b);
    free(dup);
    free(base);
    out->target = resolved; /* rename onto the link's target (NULL: onto path) */
    if (!out->tmp) {
        cli_msg("out of memory");
        return MR_EXIT_INTERNAL;
    }
    if (resumable) {
        const int rc = open_resumable(out, path);
        if (rc) {
            free(out->tmp);
            out->tmp = NULL;
            return rc;
        }
        out->resumable = 1;
        out->seekable = 1;
        cli_stop_on_signals();
        return 0;
    }
    out->fd = mkostemp(out->tmp, O_CLOEXEC);
    if (out->fd < 0) {
        cli_msg("%s: cannot create a temporary file beside it: %s", path, strerror(errno));
        free(out->tmp);
        out->tmp = NULL;
        return MR_EXIT_IO;
    }
    /* mkstemp makes 0600; give the result the mode a plain create would */
    const mode_t mask = umask(0);
    umask(mask);
    fchmod(out->fd, 0666 & ~mask);
    out->seekable = 1;
    if (strlen(out->tmp) < sizeof tmp_for_signal) {
        strcpy(tmp_for_signal, out->tmp);
        have_tmp = 1;
        for (size_t i = 0; i < sizeof terminating / sizeof *terminating; i++)
            signal(terminating[i], on_signal);
    }
    return 0;
}

int cli_output_commit(cli_output *out)
{
    int rc = 0;
    if (out->fd > STDERR_FILENO && close(out->fd) != 0) {
        cli_msg("%s: write error: %s", out->path, strerror(errno));
        rc = MR_EXIT_IO;
    } else if (out->fd == STDOUT_FILENO && fflush(stdout) != 0) {
        rc = MR_EXIT_IO;
    }
    out->fd = -1;
    if (out->tmp) {
        if (rc == 0 && rename(out->tmp, out->target ? out->target : out->path) != 0) {
            cli_msg("%s: cannot rename the temporary file into place: %s", out->path, strerror(errno));
            rc = MR_EXIT_IO;
        }
        if (rc != 0)
            unlink(out->tmp);
        have_tmp = 0;
        free(out->tmp);
        out->tmp = NULL;
    }
    free(out->target);
    out->target = NULL;
    return rc;
}

void cli_output_keep(cli_output *out)
{
    if (out->fd > STDERR_FILENO)
        close(out->fd);
    out->fd = -1;
    free(out->tmp);
    out->tmp = NULL;
    free(out->target);
    out->target = NULL;
}

void cli_output_abort(cli_output *out)
{
    if (out->fd > STDERR_FILENO)
        close(out->fd);
    out->fd = -1;
    if (out->tmp) {
        unlink(out->tmp);
        have_tmp = 0;
        free(out->tmp);
        out->tmp = NULL;
    }
    free(out->target);
    out->target = NULL;
}

int cli_write(void *cookie, const void *buf, size_t len)
{
    cli_output *out = cookie;
    const char *p = buf;
    if (out->skip) { /* a resumed .npy output's header: the file has its own */
        const size_t n = out->skip < len ? (size_t)out->skip : len;
        out->skip -= n;
        p += n;
        len -= n;
    }
    while (len) {
        const ssize_t n = write(out->fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int cli_pwrite(void *cookie, const void *buf, size_t len, uint64_t offset)
{
    const cli_output *out = cookie;
    const char *p = buf;
    if (offset < out->pskip) { /* the part of a resumed .npy header: not ours to write */
        const uint64_t n = out->pskip - offset < len ? out->pskip - offset : len;
        p += n;
        len -= (size_t)n;
        offset += n;
    }
    offset -= out->pskip;
    while (len) {
        const ssize_t n = pwrite(out->fd, p, len, (off_t)(out->base + offset));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
        offset += (uint64_t)n;
    }
    return 0;
}
