/* report.c — see report.h. */
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_io.h"
#include "config.h"
#include "sha256.h"
#include "escape.h"
#include "exit_codes.h"

static int job_argc;
static char *const *job_argv;

void cli_report_set_command_line(int argc, char *const *argv)
{
    job_argc = argc;
    job_argv = argv;
}

/* The Slurm ids of this task, when it runs under Slurm (merge names the
 * array task to rerun from them). */
static json_t *slurm_ids(void)
{
    static const char *const vars[][2] = {
        { "job_id", "SLURM_JOB_ID" },
        { "array_job_id", "SLURM_ARRAY_JOB_ID" },
        { "array_task_id", "SLURM_ARRAY_TASK_ID" },
        { "array_task_min", "SLURM_ARRAY_TASK_MIN" },
        { "array_task_step", "SLURM_ARRAY_TASK_STEP" },
        { "array_task_count", "SLURM_ARRAY_TASK_COUNT" },
    };
    json_t *o = NULL;
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i][1]);
        if (!v || !*v)
            continue;
        if (!o)
            o = json_object();
        char *end;
        const long long n = strtoll(v, &end, 10);
        /* ids as strings (Slurm's own form), task numbers as integers */
        json_object_set_new(o, vars[i][0], i >= 2 && !*end ? json_integer(n) : json_string(v));
    }
    return o;
}

int cli_file_sha256(const char *path, char hex[65])
{
    const int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0)
        return -1;
    int rc = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? 0 : -1;
    enum { BLOCK = 1 << 20 };
    char *buf = rc == 0 ? malloc(BLOCK) : NULL;
    mr_sha256 s;
    mr_sha256_init(&s);
    for (ssize_t n; rc == 0;) {
        if (!buf || (n = read(fd, buf, BLOCK)) < 0) {
            if (buf && errno == EINTR)
                continue;
            rc = -1;
        } else if (n == 0) {
            break;
        } else {
            mr_sha256_update(&s, buf, (size_t)n);
        }
    }
    if (rc == 0)
        mr_sha256_final(&s, hex);
    free(buf);
    close(fd);
    return rc;
}

long long cli_peak_rss(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return (long long)ru.ru_maxrss * 1024; /* Linux: KiB */
}

void cli_report_unknown_levels(const mr_model *m, const mr_run_stats *st, int unknown_mode,
                               const char *input)
{
    if (!st || !st->columns)
        return;
    for (size_t f = 0; f < st->n_columns; f++) {
        const mr_column_stats *c = &st->columns[f];
        if (!c->unknown)
            continue;
        char how[160];
        if (unknown_mode == MR_UNKNOWN_NAN)
            snprintf(how, sizeof how, "treated as missing (--unknown-level nan)");
        else {
            /* the class index the reference substitutes is not public; name the rule */
            snprintf(how, sizeof how, "replaced by the most frequent training level (as pymars does)");
        }
        fputs("mars-replay: warning: ", stderr);
        cli_put_escaped(stderr, input, 0);
        fputs(": column \"", stderr);
        cli_put_escaped(stderr, mr_model_feature_name(m, f), 0);
        fprintf(stderr, "\": %llu unseen categorical level%s %s; first \"", (unsigned long long)c->unknown,
                c->unknown == 1 ? "" : "s", how);
        cli_put_escaped(stderr, c->first_unknown, 0);
        fprintf(stderr, "\" at row %llu\n", (unsigned long long)c->first_unknown_row);
    }
}

/* JSON strings are UTF-8: jansson refuses anything else, and the key would
 * silently go missing. */
void cli_json_put_str(json_t *obj, const char *key, const char *s)
{
    json_t *v = s ? json_string(s) : json_null();
    if (!v) {
        const size_t n = strlen(s), cap = 4 * n + 8;
        char *esc = malloc(cap), *hex = malloc(2 * n + 1), kh[64];
        if (esc && hex) {
            mr_escape(esc, cap, s, n);
            for (size_t i = 0; i < n; i++)
                snprintf(hex + 2 * i, 3, "%02x", (unsigned char)s[i]);
            snprintf(kh, sizeof kh, "%s_hex", key);
            v = json_string(esc);
            json_object_set_new(obj, kh, json_string(hex));
        }
        free(esc);
        free(hex);
    }
    json_object_set_new(obj, key, v ? v : json_null());
}

int cli_report_write(const cli_report *r, const char *path)
{
    json_t *o = json_object();
    cli_json_put_str(o, "program", "mars-replay");
    cli_json_put_str(o, "version", MR_PROJECT_VERSION);
    cli_json_put_str(o, "library_version", mr_version_string());
    cli_json_put_str(o, "command", r->command);
    if (job_argv) {
        json_t *argv = json_array();
        for (int i = 0; i < job_argc; i++) {
            json_t *one = json_object(); /* an argument may not be UTF-8: put it as the others */
            cli_json_put_str(one, "a", job_argv[i]);
            json_array_append(argv, json_object_get(one, "a"));
            json_decref(one);
        }
        json_object_set_new(o, "command_line", argv);
    }
    char when[32] = "";
    struct tm tm;
    if (r->started && gmtime_r(&r->started, &tm))
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_object_set_new(o, "started", when[0] ? json_string(when) : json_null());
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    cli_json_put_str(o, "host", host);
    char *cwd = getcwd(NULL, 0); /* relative paths below are relative to it */
    cli_json_put_str(o, "cwd", cwd);
    free(cwd);
    json_t *slurm = slurm_ids();
    if (slurm)
        json_object_set_new(o, "slurm", slurm);
    json_object_set_new(o, "mpi_ranks", json_integer(r->n_ranks > 0 ? r->n_ranks : 1));
    json_t *model = json_object();
    cli_json_put_str(model, "path", r->model_path ? r->model_path : "");
    if (r->model) {
        cli_json_put_str(model, "sha256", mr_model_sha256(r->model));
        json_object_set_new(model, "n_features", json_integer((json_int_t)mr_model_n_features(r->model)));
        json_object_set_new(model, "n_terms", json_integer((json_int_t)mr_model_n_terms(r->model)));
    }
    json_object_set_new(o, "model", model);
    json_t *in = json_object();
    cli_json_put_str(in, "path", r->input ? r->input : "-");
    json_object_set_new(in, "size_bytes", r->input_size >= 0 ? json_integer(r->input_size) : json_null());
    if (r->input_size >= 0) { /* with the size, the identity merge and --resume compare */
        char mt[48];
        snprintf(mt, sizeof mt, "%lld.%09ld", (long long)r->input_mtime.tv_sec, r->input_mtime.tv_nsec);
        json_object_set_new(in, "mtime", json_string(mt));
    }
    json_t *inputs = json_array();
    json_array_append_new(inputs, in);
    json_object_set_new(o, "inputs", inputs);
    cli_json_put_str(o, "output", r->output ? r->output : "-");
    if (r->output_format)
        json_object_set_new(o, "output_format", json_string(r->output_format));
    if (r->output_sha256)
        json_object_set_new(o, "output_sha256", json_string(r->output_sha256));
    const mr_run_stats *s = r->stats;
    if (s) {
        json_object_set_new(o, "rows_in", json_integer((json_int_t)s->rows_in));
        json_object_set_new(o, "rows_out", json_integer((json_int_t)s->rows_out));
        json_object_set_new(o, "bytes_in", json_integer((json_int_t)s->bytes_in));
        json_object_set_new(o, "bytes_out", json_integer((json_int_t)s->bytes_out));
        json_object_set_new(o, "threads", json_integer(s->threads));
        json_object_set_new(o, "pipeline_buffer_bytes", json_integer((json_int_t)s->buffer_bytes));
        json_t *cols = json_array();
        for (size_t f = 0; r->model && s->columns && f < s->n_columns; f++) {
            json_t *c = json_object();
            cli_json_put_str(c, "name", mr_model_feature_name(r->model, f));
            json_object_set_new(c, "missing", json_integer((json_int_t)s->columns[f].missing));
            if (s->columns[f].absent)
                json_object_set_new(c, "absent", json_true());
            if (mr_model_feature_is_categorical(r->model, f))
                json_object_set_new(c, "unseen_levels", json_integer((json_int_t)s->columns[f].unknown));
            json_array_append_new(cols, c);
        }
        json_object_set_new(o, "columns", cols);
        json_object_set_new(o, "last_record_unterminated", json_boolean(s->last_record_unterminated));
        /* where the CPU went: the calling thread's share caps the speed-up */
        json_t *cpu = json_object();
        const double calling = s->cpu_read_seconds + s->cpu_write_seconds;
        const double total = calling + s->cpu_worker_seconds;
        json_object_set_new(cpu, "read_cut_seconds", json_real(s->cpu_read_seconds));
        json_object_set_new(cpu, "write_seconds", json_real(s->cpu_write_seconds));
        json_object_set_new(cpu, "workers_seconds", json_real(s->cpu_worker_seconds));
        json_object_set_new(cpu, "serial_fraction", json_real(total > 0 ? calling / total : 0.0));
        json_object_set_new(cpu, "input_split", json_boolean(s->split == 1));
        json_object_set_new(cpu, "input_read_by", json_string(s->split == 1 ? "workers (pread)"
                                                              : s->split == 2 ? "workers (pipe)" : "calling thread"));
        json_object_set_new(cpu, "redone_chunks", json_integer(s->redone_chunks));
        json_object_set_new(o, "cpu", cpu);
        json_object_set_new(o, "rows_per_second",
                            json_integer(r->seconds > 0 ? (json_int_t)((double)s->rows_out / r->seconds) : 0));
    }
    if (r->backend) {
        const mr_backend_info *b = r->backend;
        json_t *bo = json_object();
        cli_json_put_str(bo, "requested", b->requested);
        cli_json_put_str(bo, "used", b->used);
        cli_json_put_str(bo, "precision", b->precision);
        cli_json_put_str(bo, "fallback_reason", b->fallback[0] ? b->fallback : NULL);
        if (strcmp(b->used, "opencl") == 0) {
            char spec[32];
            snprintf(spec, sizeof spec, "opencl:%d.%d", b->platform_index, b->device_index);
            cli_json_put_str(bo, "device_spec", spec);
            cli_json_put_str(bo, "device", b->device);
            cli_json_put_str(bo, "platform", b->platform);
            json_object_set_new(bo, "kernel_cached", json_boolean(b->kernel_cached));
            cli_json_put_str(bo, "cache", b->cache);
            json_object_set_new(bo, "setup_seconds", json_real(b->setup_seconds));
            json_object_set_new(bo, "kernel_build_seconds", json_real(b->build_seconds));
            json_object_set_new(bo, "write_seconds", json_real(b->write_seconds));
            json_object_set_new(bo, "kernel_seconds", json_real(b->kernel_seconds));
            json_object_set_new(bo, "read_seconds", json_real(b->read_seconds));
            json_object_set_new(bo, "wait_seconds", json_real(b->wait_seconds));
            json_object_set_new(bo, "batches", json_integer((json_int_t)b->batches));
            json_object_set_new(bo, "bytes_to_device", json_integer((json_int_t)b->bytes_to_device));
            json_object_set_new(bo, "bytes_from_device", json_integer((json_int_t)b->bytes_from_device));
        }
        json_object_set_new(o, "backend", bo);
    }
    json_object_set_new(o, "seconds", json_real(r->seconds));
    json_object_set_new(o, "run_seconds", json_real(r->run_seconds));
    json_object_set_new(o, "peak_rss_bytes", json_integer(cli_peak_rss()));
    json_object_set_new(o, "exit_code", json_integer(r->exit_code));
    if (r->shard)
        cli_json_put_str(o, "shard", r->shard);
    if (r->ranks) {
        json_t *ranks = json_array();
        for (int i = 0; i < r->n_ranks; i++) {
            json_t *k = json_object();
            json_object_set_new(k, "rank", json_integer(i));
            cli_json_put_str(k, "host", r->ranks[i].host);
            json_object_set_new(k, "rows", json_integer((json_int_t)r->ranks[i].rows));
            json_object_set_new(k, "bytes_in", json_integer((json_int_t)r->ranks[i].bytes_in));
            json_object_set_new(k, "bytes_out", json_integer((json_int_t)r->ranks[i].bytes_out));
            json_object_set_new(k, "seconds", json_real(r->ranks[i].seconds));
            json_object_set_new(k, "partition_seconds", json_real(r->ranks[i].partition_seconds));
            json_object_set_new(k, "output_seconds", json_real(r->ranks[i].output_seconds));
            json_object_set_new(k, "peak_rss_bytes", json_integer(r->ranks[i].peak_rss));
            json_array_append_new(ranks, k);
        }
        json_object_set_new(o, "ranks", ranks);
    }
    if (r->error) {
        json_t *e = json_object();
        cli_json_put_str(e, "status", mr_strerror(r->error->status));
        cli_json_put_str(e, "message", r->error->text);
        if (r->error->line)
            json_object_set_new(e, "line", json_integer((json_int_t)r->error->line));
        if (r->error->row)
            json_object_set_new(e, "row", json_integer((json_int_t)r->error->row));
        json_object_set_new(o, "error", e);
    }
    int rc = 0;
    /* "-": stdout when the data does not go there (-o FILE, check), else stderr */
    FILE *std = r->stdout_free ? stdout : stderr;
    FILE *fp = strcmp(path, "-") == 0 ? std : fopen(path, "w");
    if (!fp) {
        rc = -1;
    } else {
        /* floats short: 6 significant digits (0.00339, not 0.0033911509999999812) */
        if (json_dumpf(o, fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6)) != 0 ||
            fputc('\n', fp) == EOF)
            rc = -1;
        if (fp == std ? fflush(fp) != 0 : fclose(fp) != 0)
            rc = -1;
    }
    json_decref(o);
    return rc;
}

/* The canonical name of a path that may not exist yet: its directory
 * resolved (symlinks, ., ..) and its last component. 0, or -1. */
static int resolved_name(const char *path, char *out, size_t cap)
{
    char dir[PATH_MAX], *slash;
    snprintf(dir, sizeof dir, "%s", path);
    slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : dir;
    char real[PATH_MAX];
    if (slash) {
        *slash = '\0';
        if (!realpath(dir[0] ? dir : "/", real))
            return -1;
    } else if (!realpath(".", real)) {
        return -1;
    }
    const int n = snprintf(out, cap, "%s/%s", strcmp(real, "/") == 0 ? "" : real, base);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

int cli_report_check_paths(const char *report, const char *model, const char *input,
                           const char *output)
{
    if (!report || strcmp(report, "-") == 0)
        return 0;
    struct stat rs;
    const int exists = stat(report, &rs) == 0;
    const struct {
        const char *what, *path;
        int fd; /* when path is NULL: the standard stream it stands for */
    } other[] = {
        { "the model", model, -1 },
        { "the input", input && strcmp(input, "-") != 0 ? input : NULL, STDIN_FILENO },
        { "the output", output, STDOUT_FILENO },
    };
    char rname[PATH_MAX + 256] = "";
    for (size_t i = 0; i < sizeof other / sizeof *other; i++) {
        struct stat os;
        const int have = other[i].path ? stat(other[i].path, &os) == 0
                       : other[i].fd >= 0 && fstat(other[i].fd, &os) == 0 && S_ISREG(os.st_mode);
        int same = exists && have && rs.st_dev == os.st_dev && rs.st_ino == os.st_ino;
        /* -o FILE is created at the end: compare the names the two resolve to */
        if (!same && other[i].path && (!exists || !have)) {
            char oname[PATH_MAX + 256];
            if ((rname[0] || resolved_name(report, rname, sizeof rname) == 0) &&
                resolved_name(other[i].path, oname, sizeof oname) == 0)
                same = strcmp(rname, oname) == 0;
        }
        if (same) { /* one write: under MPI every rank says it, line by line */
            char shown[512];
            mr_escape(shown, sizeof shown, report, strlen(report));
            cli_msg("--report %s is the same file as %s%s: it would be overwritten (see mars-replay --help)",
                    shown, other[i].what, other[i].path ? (other[i].fd == STDOUT_FILENO ? " (-o)" : "")
                                          : other[i].fd == STDIN_FILENO ? " (stdin)" : " (stdout)");
            return MR_EXIT_USAGE;
        }
    }
    return 0;
}
