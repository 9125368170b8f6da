/* merge.c — `mars-replay merge`: join the outputs of a --shard job array in
 * shard order, after the shards' own --report files prove that the parts
 * are exactly 0..N-1 of one input and one model, each finished with exit 0,
 * and each output is still the one its report describes.
 *
 * CSV and raw f64 parts are concatenated (shard 0 alone has the CSV header).
 * .npy parts each carry a header: the merged file gets one header for the
 * total row count, written by the library (mr_npy_output_header), and
 * each part's header must be exactly that code's bytes for its own rows. */
#include "merge.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_io.h"
#include "exit_codes.h"
#include "partition.h"
#include "report.h"

typedef struct part {
    const char *report;       /* the report's path */
    json_t *json;
    uint64_t k, n;
    const char *output;       /* the shard's output file, from its report */
    char *path_buf;           /* output made absolute with the report's cwd */
    uint64_t bytes_out, rows_out;
    uint64_t data_off;        /* .npy: where the rows start */
} part;

static const char *str_at(json_t *o, const char *a, const char *b)
{
    json_t *v = json_object_get(o, a);
    if (b)
        v = json_object_get(v, b);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int int_at(json_t *o, const char *key, uint64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* "the array task to rerun": from the report of any shard of the same array */
static void task_hint(const part *any, uint64_t k, char *buf, size_t cap)
{
    json_t *s = any ? json_object_get(any->json, "slurm") : NULL;
    json_t *min = json_object_get(s, "array_task_min"), *step = json_object_get(s, "array_task_step");
    json_t *job = json_object_get(s, "array_job_id");
    if (json_is_integer(min) && json_is_integer(step) && json_is_string(job))
        snprintf(buf, cap, " (Slurm array task %s_%" PRIu64 ": sbatch --array=%" PRIu64 " ...)",
                 json_string_value(job), (uint64_t)json_integer_value(min) + k * (uint64_t)json_integer_value(step),
                 (uint64_t)json_integer_value(min) + k * (uint64_t)json_integer_value(step));
    else
        buf[0] = '\0';
}

/* Load and check one report: a finished --shard run that wrote a file. */
static int load_part(part *p, const char *path)
{
    json_error_t je;
    p->report = path;
    p->json = json_load_file(path, 0, &je);
    if (!p->json) {
        if (access(path, R_OK) != 0) {
            cli_msg("%s: %s", path, strerror(errno));
            return MR_EXIT_IO;
        }
        cli_msg("%s:%d: not a JSON report: %s", path, je.line, je.text);
        return MR_EXIT_DATA;
    }
    const char *prog = str_at(p->json, "program", NULL), *shard = str_at(p->json, "shard", NULL);
    if (!prog || strcmp(prog, "mars-replay") != 0) {
        cli_msg("%s: not a mars-replay --report file", path);
        return MR_EXIT_DATA;
    }
    char why[128];
    if (!shard || part_parse_shard(shard, &p->k, &p->n, why, sizeof why) != 0) {
        cli_msg("%s: not the report of a --shard run (no \"shard\": \"K/N\")", path);
        return MR_EXIT_DATA;
    }
    uint64_t code = 1;
    if (int_at(p->json, "exit_code", &code) != 0 || code != 0) {
        char hint[160];
        task_hint(p, p->k, hint, sizeof hint);
        cli_msg("%s: shard %" PRIu64 "/%" PRIu64 " failed (exit %" PRIu64 "): rerun it%s", path, p->k, p->n,
                code, hint);
        return MR_EXIT_DATA;
    }
    p->output = str_at(p->json, "output", NULL);
    if (!p->output || strcmp(p->output, "-") == 0) {
        cli_msg("%s: shard %" PRIu64 "/%" PRIu64 " wrote to stdout, not to a file (-o): nothing to merge",
                path, p->k, p->n);
        return MR_EXIT_DATA;
    }
    const char *cwd = str_at(p->json, "cwd", NULL); /* a relative -o was relative to the shard's directory */
    if (p->output[0] != '/' && cwd && *cwd) {
        const size_t len = strlen(cwd) + strlen(p->output) + 2;
        if (!(p->path_buf = malloc(len)))
            return (cli_msg("out of memory"), MR_EXIT_INTERNAL);
        snprintf(p->path_buf, len, "%s/%s", cwd, p->output);
        p->output = p->path_buf;
    }
    if (int_at(p->json, "bytes_out", &p->bytes_out) != 0 || int_at(p->json, "rows_out", &p->rows_out) != 0) {
        cli_msg("%s: the report has no bytes_out/rows_out", path);
        return MR_EXIT_DATA;
    }
    return 0;
}

/* The same job: command, model, input identity, output format. */
static int same_job(const part *a, const part *b)
{
    static const char *const keys[][2] = {
        { "command", NULL }, { "model", "sha256" }, { "output_format", NULL },
    };
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const char *x = str_at(a->json, keys[i][0], keys[i][1]), *y = str_at(b->json, keys[i][0], keys[i][1]);
        if ((x || y) && (!x || !y || strcmp(x, y) != 0)) {
            cli_msg("%s and %s: different jobs (%s%s%s: '%s' and '%s'): a stale part of another run?", a->report,
                    b->report, keys[i][0], keys[i][1] ? "." : "", keys[i][1] ? keys[i][1] : "", x ? x : "",
                    y ? y : "");
            return MR_EXIT_DATA;
        }
    }
    json_t *ia = json_array_get(json_object_get(a->json, "inputs"), 0);
    json_t *ib = json_array_get(json_object_get(b->json, "inputs"), 0);
    if (!json_equal(ia, ib)) {
        cli_msg("%s and %s: different inputs (path, size or modification time): a stale part of another run?",
                a->report, b->report);
        return MR_EXIT_DATA;
    }
    if (a->n != b->n) {
        cli_msg("%s and %s: shards of %" PRIu64 " and of %" PRIu64 " parts: a stale part of another run?",
                a->report, b->report, a->n, b->n);
        return MR_EXIT_DATA;
    }
    return 0;
}

/* Open a part's output and check it is what its report says. */
static int open_output(part *p, int npy, int mode, uint64_t nvals, int *fd)
{
    *fd = open(p->output, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (*fd < 0 || fstat(*fd, &st) != 0) {
        cli_msg("%s: %s (shard %" PRIu64 "/%" PRIu64 "'s output, from %s)", p->output, strerror(errno), p->k,
                p->n, p->report);
        return MR_EXIT_IO;
    }
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != p->bytes_out) {
        cli_msg("%s: %lld bytes, but its report %s says %" PRIu64 ": changed since the shard wrote it; rerun "
                "shard %" PRIu64 "/%" PRIu64, p->output, (long long)st.st_size, p->report, p->bytes_out, p->k, p->n);
        return MR_EXIT_DATA;
    }
    /* same size is not same bytes: the report's sha256, when it has one */
    const char *want_sha = str_at(p->json, "output_sha256", NULL);
    char sha[65];
    if (want_sha && (cli_file_sha256(p->output, sha) != 0 || strcmp(sha, want_sha) != 0)) {
        cli_msg("%s: its sha256 is not the one its report %s recorded: changed since the shard wrote it; "
                "rerun shard %" PRIu64 "/%" PRIu64, p->output, p->report, p->k, p->n);
        return MR_EXIT_DATA;
    }
    p->data_off = 0;
    if (npy) {
        unsigned char want[256], got[256];
        const size_t len = mr_npy_output_header(want, sizeof want, p->rows_out, nvals, mode);
        if (!len || part_pread(*fd, got, len, 0) != (ssize_t)len || memcmp(got, want, len) != 0 ||
            len + p->rows_out * nvals * 8 != p->bytes_out) {
            cli_msg("%s: not the .npy of %" PRIu64 " rows that its report %s describes", p->output, p->rows_out,
                    p->report);
            return MR_EXIT_DATA;
        }
        p->data_off = len;
    }
    return 0;
}

static int copy_part(cli_output *out, const part *p, int fd, char *buf, size_t cap)
{
    for (uint64_t off = p->data_off; off < p->bytes_out;) {
        const ssize_t n = part_pread(fd, buf, cap, off);
        if (n <= 0) {
            cli_msg("%s: read error: %s", p->output, n < 0 ? strerror(errno) : "file shrank");
            return MR_EXIT_IO;
        }
        if (cli_write(out, buf, (size_t)n) != 0) {
            cli_msg("%s: write error: %s", out->path ? out->path : "<stdout>", strerror(errno));
            return MR_EXIT_IO;
        }
        off += (uint64_t)n;
    }
    return 0;
}

static int cmp_k(const void *a, const void *b)
{
    const part *x = a, *y = b;
    return x->k < y->k ? -1 : x->k > y->k;
}

int cli_merge(const char *output, int nreports, char *const *reports)
{
    if (nreports < 1) {
        cli_msg("merge: no reports given (mars-replay merge -o OUT PART.report.json...) (see mars-replay --help)");
        return MR_EXIT_USAGE;
    }
    part *parts = calloc((size_t)nreports, sizeof *parts);
    if (!parts)
        return (cli_msg("out of memory"), MR_EXIT_INTERNAL);
    int rc = 0;
    for (int i = 0; i < nreports && rc == 0; i++)
        rc = load_part(&parts[i], reports[i]);
    for (int i = 1; i < nreports && rc == 0; i++)
        rc = same_job(&parts[0], &parts[i]);
    if (rc == 0) {
        qsort(parts, (size_t)nreports, sizeof *parts, cmp_k);
        const uint64_t n = parts[0].n;
        for (uint64_t k = 0, i = 0; k < n && rc == 0; k++) {
            if (i < (uint64_t)nreports && parts[i].k == k) {
                if (i + 1 < (uint64_t)nreports && parts[i + 1].k == k) {
                    cli_msg("%s and %s: both are shard %" PRIu64 "/%" PRIu64 ": a stale extra?", parts[i].report,
                            parts[i + 1].report, k, n);
                    rc = MR_EXIT_DATA;
                }
                i++;
                continue;
            }
            char hint[160];
            task_hint(&parts[0], k, hint, sizeof hint);
            cli_msg("shard %" PRIu64 "/%" PRIu64 " is missing (no report for it): rerun it%s", k, n, hint);
            rc = MR_EXIT_DATA;
        }
    }
    const char *cmd = rc == 0 ? str_at(parts[0].json, "command", NULL) : NULL;
    const char *fmt = rc == 0 ? str_at(parts[0].json, "output_format", NULL) : NULL;
    const int npy = fmt && strcmp(fmt, "npy") == 0;
    const int mode = cmd && strcmp(cmd, "design") == 0 ? MR_MODE_DESIGN : MR_MODE_PREDICT;
    uint64_t nvals = 1;
    if (rc == 0 && cmd && strcmp(cmd, "design") == 0 &&
        int_at(json_object_get(parts[0].json, "model"), "n_terms", &nvals) != 0) {
        cli_msg("%s: the report has no model.n_terms", parts[0].report);
        rc = MR_EXIT_DATA;
    }
    int *fds = calloc((size_t)nreports, sizeof *fds);
    for (int i = 0; i < nreports && fds; i++)
        fds[i] = -1;
    if (!fds && rc == 0)
        rc = (cli_msg("out of memory"), MR_EXIT_INTERNAL);
    uint64_t rows = 0;
    for (int i = 0; i < nreports && rc == 0; i++) {
        rc = open_output(&parts[i], npy, mode, nvals, &fds[i]);
        rows += parts[i].rows_out;
    }
    cli_output out = { .fd = -1 };
    if (rc == 0)
        rc = cli_output_open(&out, output);
    const size_t cap = (size_t)1 << 20;
    char *buf = rc == 0 ? malloc(cap) : NULL;
    if (rc == 0 && !buf)
        rc = (cli_msg("out of memory"), MR_EXIT_INTERNAL);
    if (rc == 0 && npy) {
        unsigned char head[256];
        const size_t len = mr_npy_output_header(head, sizeof head, rows, nvals, mode);
        if (cli_write(&out, head, len) != 0)
            rc = (cli_msg("%s: write error: %s", output ? output : "<stdout>", strerror(errno)), MR_EXIT_IO);
    }
    for (int i = 0; i < nreports && rc == 0; i++)
        rc = copy_part(&out, &parts[i], fds[i], buf, cap);
    if (rc == 0 && out.fd >= 0)
        rc = cli_output_commit(&out);
    else if (out.fd >= 0 || out.tmp)
        cli_output_abort(&out);
    if (rc == 0 && !output && fflush(stdout) != 0 && errno != EPIPE)
        rc = (cli_msg("<stdout>: write error: %s", strerror(errno)), MR_EXIT_IO);
    free(buf);
    for (int i = 0; i < nreports; i++) {
        if (fds && fds[i] >= 0)
            close(fds[i]);
        json_decref(parts[i].json);
        free(parts[i].path_buf);
    }
    free(fds);
    free(parts);
    return rc;
}
