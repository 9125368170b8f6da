/* main.c — the mars-replay command line: parse options, open files, call
 * libmarsreplay, render errors and exit codes (cli/exit_codes.h). */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_io.h"
#include "config.h"
#include "dist.h"
#include "dist_mpi.h"
#include "exit_codes.h"
#include "inspect.h"
#include "journal.h"
#include "marsreplay.h"
#include "probe.h"
#include "progress.h"
#include "report.h"

enum {
    OPT_CHUNK_ROWS = 256,
    OPT_COLS,
    OPT_NO_HEADER,
    OPT_NAMES,
    OPT_NAMES_FROM_MODEL,
    OPT_NA,
    OPT_NA_COL,
    OPT_KEEP,
    OPT_UNKNOWN_LEVEL,
    OPT_NA_OUT,
    OPT_NO_OUT_HEADER,
    OPT_PROGRESS,
    OPT_REPORT,
    OPT_JSON,
    OPT_MAX_RECORD,
    OPT_VERSION,
    OPT_DEVICE,
    OPT_PRECISION,
    OPT_SHARD, /* distributed replay (dist.c, dist_mpi.c) */
    OPT_MPI,
    OPT_IO_RETRIES,
    OPT_MAX_MEMORY,
    OPT_CHUNK_BYTES,
    OPT_RESUME, /* --resume (journal.c) */
    OPT_RESUME_EVERY,
    OPT_RESUME_SECONDS,
};

static const struct option long_opts[] = {
    { "model", required_argument, NULL, 'm' },
    { "output", required_argument, NULL, 'o' },
    { "threads", required_argument, NULL, '@' },
    { "input-format", required_argument, NULL, 'I' },
    { "output-format", required_argument, NULL, 'O' },
    { "delimiter", required_argument, NULL, 'd' },
    { "quiet", no_argument, NULL, 'q' },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { "chunk-rows", required_argument, NULL, OPT_CHUNK_ROWS },
    { "chunk-bytes", required_argument, NULL, OPT_CHUNK_BYTES },
    { "cols", required_argument, NULL, OPT_COLS },
    { "no-header", no_argument, NULL, OPT_NO_HEADER },
    { "names", required_argument, NULL, OPT_NAMES },
    { "names-from-model", no_argument, NULL, OPT_NAMES_FROM_MODEL },
    { "na", required_argument, NULL, OPT_NA },
    { "na-col", required_argument, NULL, OPT_NA_COL },
    { "keep", required_argument, NULL, OPT_KEEP },
    { "unknown-level", required_argument, NULL, OPT_UNKNOWN_LEVEL },
    { "na-out", required_argument, NULL, OPT_NA_OUT },
    { "no-out-header", no_argument, NULL, OPT_NO_OUT_HEADER },
    { "progress", no_argument, NULL, OPT_PROGRESS },
    { "report", required_argument, NULL, OPT_REPORT },
    { "json", no_argument, NULL, OPT_JSON },
    { "max-record-bytes", required_argument, NULL, OPT_MAX_RECORD },
    { "version", no_argument, NULL, OPT_VERSION },
    { "device", required_argument, NULL, OPT_DEVICE },
    { "precision", required_argument, NULL, OPT_PRECISION },
    { "shard", required_argument, NULL, OPT_SHARD },
    { "mpi", no_argument, NULL, OPT_MPI },
    { "io-retries", required_argument, NULL, OPT_IO_RETRIES },
    { "max-memory", required_argument, NULL, OPT_MAX_MEMORY },
    { "resume", no_argument, NULL, OPT_RESUME },
    { "resume-every", required_argument, NULL, OPT_RESUME_EVERY },
    { "resume-seconds", required_argument, NULL, OPT_RESUME_SECONDS },
    { NULL, 0, NULL, 0 },
};

static const char usage_text[] =
    "Usage: mars-replay COMMAND [OPTIONS] [INPUT|-]\n"
    "Replay a fitted MARS model (ModelSpec v1 JSON, exported by pymars) over a data stream.\n"
    "\n"
    "Commands:\n"
    "  predict -m MODEL [INPUT]   one prediction per input row\n"
    "  design  -m MODEL [INPUT]   the basis (design) matrix, one column per term\n"
    "  check   -m MODEL [INPUT]   validate model, header and every row; write nothing\n"
    "  inspect MODEL [--json]     terms, features, degree and sha256 of a model\n"
    "  version                    versions and compiled-in backends\n"
    "  probe [--json]             OpenCL platforms and devices, and which can run\n"
    "\n"
    "INPUT is a file or - for stdin (the default). CSV, .npy or raw float64.\n"
    "\n"
    "Options:\n"
    "  -m, --model FILE          ModelSpec v1 JSON file (required)\n"
    "  -o, --output FILE         output file (default: stdout); written to a temporary\n"
    "                            file beside it and renamed only on success\n"
    "  -@, --threads N           evaluation worker threads (default: $MARS_REPLAY_THREADS,\n"
    "                            else the CPUs in the affinity mask); 1 = serial, no pool;\n"
    "                            with N > 1 the main thread reads and writes\n"
    "      --chunk-rows N        rows per chunk (default: 8192, fewer for wide inputs); CSV\n"
    "                            is then cut by rows in the calling thread\n"
    "      --chunk-bytes N       CSV input bytes per chunk (default: 1 MiB), cut by the\n"
    "                            workers themselves in a regular file\n"
    "  -I, --input-format F      csv, npy, f64 or auto (default auto: .npy magic, else csv)\n"
    "  -O, --output-format F     csv, npy or f64 (default: csv)\n"
    "      --cols N              columns of raw f64 input; must equal the model's feature\n"
    "                            count (a check on the data layout)\n"
    "      --no-header           CSV input has no header line; needs --names or\n"
    "                            --names-from-model\n"
    "      --names A,B,C         column names of headerless CSV input\n"
    "      --names-from-model    headerless CSV columns are the model's features in order\n"
    "  -d, --delimiter C         CSV input field delimiter (default: ,; 'tab' or \\t for a\n"
    "                            tab); CSV output always uses ,\n"
    "      --na TOKENS           missing-value tokens, comma-separated (default: ,NA,NaN,nan\n"
    "                            i.e. empty, NA, NaN, nan)\n"
    "      --na-col COL=TOKENS   missing-value tokens for one column (repeatable)\n"
    "      --keep COL[,COL]      copy these input columns to the front of each output row\n"
    "      --unknown-level M     unseen categorical labels: mode (default, as pymars:\n"
    "                            the most frequent level), nan, or error\n"
    "      --na-out TOKEN        text of a NaN output value (default: nan)\n"
    "      --no-out-header       no header line in CSV output\n"
    "      --max-record-bytes N  longest CSV record accepted (default: 67108864)\n"
    "      --device D            cpu (default), opencl (first usable device), opencl:P.D\n"
    "                            (platform.device of probe), or auto (a GPU/accelerator\n"
    "                            if usable, else the CPU); opencl that cannot run: exit 6\n"
    "      --precision P         device arithmetic: double (default, bit-identical to the\n"
    "                            CPU) or single (needed without fp64; docs/tolerance.md)\n"
    "      --shard K/N|auto      replay only part K of N (0-based) of a seekable input:\n"
    "                            whole records, header output only in part 0; auto =\n"
    "                            from the Slurm job array (SLURM_ARRAY_TASK_*)\n"
    "      --mpi                 initialise MPI even without a launcher's environment\n"
    "                            (mpirun/srun are detected; a plain run never uses MPI)\n"
    "      --io-retries N        retry a transient read error (EAGAIN, EIO, ETIMEDOUT) up\n"
    "                            to N times with backoff (default: 0)\n"
    "      --max-memory BYTES    cap the pipeline's buffers (e.g. 64M, 2G; per process or\n"
    "                            rank) by sizing the chunk rows for this input\n"
    "      --resume              with -o FILE: journal the progress beside the temporary\n"
    "                            output; rerun with --resume after a crash or a stop to\n"
    "                            continue where it stopped (same model, input, options);\n"
    "                            a signal (SIGTERM) stops it at the next commit with exit\n"
    "                            128 + the signal, both files kept (docs/distributed.md)\n"
    "      --resume-every SIZE   --resume: commit every SIZE of output (default: 64M)\n"
    "      --resume-seconds S    --resume: ... or every S seconds (default: 30)\n"
    "      --progress            rows/s and % done on stderr\n"
    "      --report FILE|-       JSON run report at exit (- = stderr)\n"
    "  -q, --quiet               no warnings (unseen-level counts stay in --report)\n"
    "  -v, --verbose             summary lines at the end (rows, seconds, threads; backend\n"
    "                            used, or why the CPU ran instead of a device)\n"
    "  -h, --help                this help\n"
    "      --version             program and library versions\n"
    "\n"
    "Exit status: 0 ok (also when a downstream pipe closes), 1 internal error,\n"
    "2 usage, 3 invalid model, 4 bad input data, 5 I/O error, 6 the requested\n"
    "device (--device opencl) cannot run, 7 MPI failure, 128+N a --resume run\n"
    "stopped by signal N (143: SIGTERM; rerun with --resume).\n"
    "See man mars-replay (man/mars-replay.1) for details.\n";

typedef struct cli {
    const char *command;
    const char *model;
    const char *output;
    const char *input;
    const char *report;
    int json;
    int progress;
    int verbose;
    int threads_set;
    int binary_out;
    const char *keep;
    int unknown_mode;
    long threads;
    mr_options *opt;
    cli_dist_opts dist; /* --shard, --mpi, --io-retries, and what they need to know */
    int ranks;          /* MPI world size; 1 without MPI */
    int resume;         /* --resume, --resume-every, --resume-seconds (journal.h) */
    uint64_t resume_every;
    long resume_seconds;
    journal_opts shape; /* the options that shape the output, for the journal */
} cli;

/* One line, like every other error: the hint rides on the same line. */
static int usage_error(const char *fmt, const char *arg)
{
    fputs("mars-replay: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs(" (see mars-replay --help)\n", stderr);
    return MR_EXIT_USAGE;
}

static int parse_count(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    const long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_format(const char *s, int allow_auto)
{
    if (strcmp(s, "csv") == 0)
        return MR_FMT_CSV;
    if (strcmp(s, "npy") == 0)
        return MR_FMT_NPY;
    if (strcmp(s, "f64") == 0)
        return MR_FMT_F64;
    if (allow_auto && strcmp(s, "auto") == 0)
        return MR_FMT_AUTO;
    return -1;
}

/* CPUs this process may run on: what Slurm, cgroups cpusets and taskset grant. */
static long default_threads(void)
{
    const char *env = getenv("MARS_REPLAY_THREADS");
    long v;
    if (env && *env)
        return parse_count(env, 1, 4096, &v) == 0 ? v : -1;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? n : 1;
}

static int print_version(void)
{
    const unsigned v = mr_version();
    const unsigned f = mr_features();
    printf("mars-replay %s\nlibmarsreplay %u.%u.%u, %s\nbackends: cpu%s%s%s\n", MR_PROJECT_VERSION,
           v >> 16, (v >> 8) & 0xff, v & 0xff, mr_version_string(),
           (f & MR_FEATURE_SIMD) ? " (avx2)" : "", (f & MR_FEATURE_OPENCL) ? " opencl" : "",
           (MR_HAVE_MPI || (f & MR_FEATURE_MPI)) ? " mpi" : "");
    return cli_stdout_done();
}

static double since(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) * 1e-9;
}

static int load_model(const char *path, mr_model **m)
{
    mr_error err;
    const mr_status st = mr_model_load_file(path, m, &err);
    if (st != MR_OK) {
        cli_print_error(&err, path);
        return cli_exit_code(st);
    }
    return 0;
}

/* Options that cannot change the output's bytes (or are checked apart: the
 * model by its sha256, the output path): a resumed run may differ in them. */
static int shapes_output(int opt)
{
    switch (opt) {
    case 'm': case 'o': case '@': case 'q': case 'v': case OPT_CHUNK_ROWS: case OPT_CHUNK_BYTES:
    case OPT_PROGRESS: case OPT_REPORT: case OPT_JSON: case OPT_IO_RETRIES: case OPT_MAX_MEMORY:
    case OPT_MPI: case OPT_RESUME: case OPT_RESUME_EVERY: case OPT_RESUME_SECONDS:
        return 0;
    default:
        return 1;
    }
}

static void note_option(cli *c, int opt, const char *arg)
{
    if (!shapes_output(opt))
        return;
    for (const struct option *o = long_opts; o->name; o++)
        if (o->val == opt) {
            journal_opts_add(&c->shape, o->name, o->has_arg ? arg : NULL);
            return;
        }
}

static int cmd_inspect(cli *c, int mode)
{
    (void)mode;
    if (!c->input && !c->model)
        return usage_error("%s", "inspect: no model file given");
    const char *path = c->input ? c->input : c->model;
    mr_model *m = NULL;
    int rc = load_model(path, &m);
    if (rc == 0 && cli_inspect(m, path, c->json) != 0) {
        rc = errno == EPIPE ? MR_EXIT_OK : MR_EXIT_IO;
        if (rc)
            cli_msg("write error: %s", strerror(errno));
    }
    mr_model_free(m);
    return rc;
}

static int make_engine(const mr_model *m, const mr_options *opt, mr_engine **e)
{
    mr_error err;
    const mr_status st = mr_engine_create(m, opt, e, &err);
    if (st == MR_OK)
        return 0;
    cli_print_error(&err, NULL);
    return cli_exit_code(st);
}

static int cmd_run(cli *c, int mode)
{
    if (!c->model)
        return usage_error("%s: no model given (-m MODEL.json)", c->command);
    if (c->resume && (!c->output || mode == MR_MODE_CHECK))
        return usage_error("%s", "--resume needs -o FILE (predict or design)");
    if (c->resume)
        cli_stop_on_signals();
    mr_options_set_int(c->opt, MR_OPT_MODE, mode);
    const long threads = c->threads_set ? c->threads : default_threads();
    if (threads < 1)
        return usage_error("MARS_REPLAY_THREADS: expected a whole number from 1 to 4096, found '%s'",
                           getenv("MARS_REPLAY_THREADS"));
    mr_options_set_int(c->opt, MR_OPT_THREADS, threads);
    dist_plan shard = { 0 };
    char shard_name[48] = "";
    if (c->dist.shard) {
        const int src = dist_shard_spec(c->dist.shard, &shard.k, &shard.n);
        if (src)
            return src;
        if (shard.k > 0)
            mr_options_set_int(c->opt, MR_OPT_OUT_HEADER, 0);
        snprintf(shard_name, sizeof shard_name, "%llu/%llu", (unsigned long long)shard.k,
                 (unsigned long long)shard.n);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    mr_model *m = NULL;
    mr_engine *e = NULL;
    cli_input in = { .fd = -1 };
    cli_output out = { .fd = -1 };
    mr_run_stats stats = { 0 };
    mr_backend_info backend = { 0 };
    mr_error err = { 0 };
    int have_err = 0;
    int rc = load_model(c->model, &m);
    if (rc == 0)
        rc = make_engine(m, c->opt, &e);
    if (rc == 0 && !c->input && isatty(STDIN_FILENO))
        rc = usage_error("%s", "no input: give a file, or - to read a terminal");
    if (rc == 0)
        rc = cli_input_open(&in, c->input);
    in.retries = c->dist.io_retries;
    dist_input din;
    /* --resume: the whole input is part 0 of 1, which a rerun can start later */
    const int part = c->dist.shard || c->resume;
    if (rc == 0 && c->resume && in.size < 0)
        rc = usage_error("%s", "--resume needs a regular file as input, not a pipe");
    if (rc == 0 && part && !c->dist.shard)
        shard.n = 1;
    if (rc == 0 && part)
        rc = dist_shard_prepare(&shard, &in, m, &c->dist, &din);
    if (rc == 0 && mode != MR_MODE_CHECK)
        rc = (c->resume ? cli_output_open_resumable : cli_output_open)(&out, c->output);
    if (rc == 0 && c->binary_out && c->keep) {
        cli_output_abort(&out);
        rc = usage_error("%s", "--keep needs CSV output (-O csv)");
    }
    if (rc == 0 && c->binary_out && out.is_tty) {
        cli_output_abort(&out);
        rc = usage_error("%s", "refusing to write binary output to a terminal (use -o FILE or a pipe)");
    }
    journal jr = { 0 };
    char *options = c->resume ? resume_options(c->command, shard.k, shard.n, &c->shape) : NULL;
    const resume_spec rs = {
        .output = c->output, .options = options, .every_bytes = c->resume_every,
        .every_seconds = (double)c->resume_seconds, .quiet = c->verbose < 0,
        .out_fmt = c->dist.out_fmt, .npy_cols = mode == MR_MODE_DESIGN ? mr_model_n_terms(m) : 0,
    };
    if (rc == 0 && c->resume && !out.tmp) {
        cli_output_abort(&out);
        rc = usage_error("%s", "--resume needs -o FILE naming a regular file, not a FIFO or device");
    }
    if (rc == 0 && c->resume)
        rc = options ? resume_begin(&jr, &out, &in, &shard, m, c->opt, &rs) : MR_EXIT_INTERNAL;
    if (rc == 0 && jr.start.out_off) { /* resumed without the output header: an engine copies its options */
        mr_engine_free(e);
        e = NULL;
        rc = make_engine(m, c->opt, &e);
    }
    int stopped = 0;
    if (rc == 0) {
        const mr_io io = {
            .read = part ? dist_read : cli_read,
            .read_cookie = part ? (void *)&din : (void *)&in,
            .source = in.display,
            .write = mode == MR_MODE_CHECK ? NULL : cli_write,
            .pwrite = out.seekable ? cli_pwrite : NULL,
            .write_cookie = &out,
            .sink = c->output ? c->output : "<stdout>",
            /* a regular file (or a shard's part of one): the workers read
             * their own chunks */
            .read_at = part ? dist_read_at : in.size >= 0 ? cli_read_at : NULL,
            .size = part ? dist_plan_bytes(&shard) : in.size >= 0 ? (uint64_t)in.size - in.base : 0,
            .write_any_order = out.tmp != NULL, /* removed unless the run succeeds */
            .commit = c->resume ? journal_commit : NULL,
            .commit_cookie = &jr,
        };
        cli_progress ps;
        char label[64] = "";
        if (c->dist.shard)
            snprintf(label, sizeof label, "shard %llu/%llu: ", (unsigned long long)shard.k,
                     (unsigned long long)shard.n);
        cli_progress_start(&ps, stderr, part ? dist_plan_bytes(&shard) : in.size > 0 ? (uint64_t)in.size : 0, label);
        const mr_status st = mr_run(e, &io, c->progress ? cli_progress_update : NULL, &ps, &stats, &err);
        if (c->progress)
            cli_progress_end(&ps, st == MR_OK, stats.rows_out, stats.bytes_in);
        if (st == MR_E_IO && err.sys_errno == EPIPE && !err.line && !err.row) {
            rc = MR_EXIT_OK; /* the reader went away (| head): not an error */
            cli_output_abort(&out);
        } else if (c->resume && resume_stopped(&jr, st, &err, &rc)) {
            stopped = 1; /* the temporary output and its journal stay for a rerun */
        } else if (st != MR_OK) {
            dist_global_error(&err, shard.row_off, shard.line_off);
            cli_print_error(&err, in.display);
            rc = cli_exit_code(st);
            have_err = 1;
        }
        mr_engine_backend(e, &backend);
        dist_global_stats(&stats, shard.row_off);
        if (c->verbose >= 0) /* counted always; silenced only by an explicit -q */
            cli_report_unknown_levels(m, &stats, c->unknown_mode, in.display);
        if (c->verbose >= 0 && st == MR_OK && stats.last_record_unterminated)
            cli_msg("warning: %s: the last record (row %llu) has no line end: was the input cut short?",
                    in.display, (unsigned long long)(shard.row_off + stats.rows_in));
    }
    if (rc == 0) /* a file that grew or changed under the run: its output is not one input's */
        rc = cli_input_unchanged(&in);
    if (c->resume)
        rc = resume_finish(&jr, &out, &rs, shard.row_off - jr.part_rows0 + stats.rows_out, rc);
    if (rc == 0 && mode != MR_MODE_CHECK && out.fd >= 0)
        rc = cli_output_commit(&out);
    else if (stopped)
        cli_output_keep(&out);
    else if (out.fd >= 0 || out.tmp)
        cli_output_abort(&out);
    if (c->resume && !stopped)
        journal_remove(&jr); /* done, or failed for good: the next run starts afresh */
    journal_free(&jr);
    free(options);
    cli_input_close(&in);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (c->report) {
        const cli_report rep = {
            .command = c->command,
            .model_path = c->model,
            .model = m,
            .input = in.display ? in.display : c->input,
            .input_size = in.size,
            .output = c->output,
            .stats = &stats,
            .seconds = since(&t0, &t1),
            .exit_code = rc,
            .error = have_err ? &err : NULL,
            .backend = e ? &backend : NULL,
            .shard = c->dist.shard ? shard_name : NULL,
        };
        if (cli_report_write(&rep, c->report) != 0) {
            cli_msg("%s: cannot write the report: %s", c->report, strerror(errno));
            if (rc == 0)
                rc = MR_EXIT_IO;
        }
    }
    if (c->verbose > 0 && e && rc == 0)
        cli_print_backend(&backend);
    if (c->verbose > 0 && rc == 0)
        cli_msg("%llu rows in %.3f s with %u thread%s", (unsigned long long)stats.rows_out,
                since(&t0, &t1), stats.threads, stats.threads == 1 ? "" : "s");
    mr_run_stats_free(&stats);
    mr_engine_free(e);
    mr_model_free(m);
    return rc;
}

static int cmd_probe(cli *c, int mode)
{
    (void)mode;
    return c->input ? usage_error("probe: unexpected argument '%s'", c->input) : cli_probe(c->json);
}

static int cmd_distributed(cli *c, int mode);

/* The commands that take options (help and version are answered first). */
static const struct command {
    const char *name;
    int mode;                 /* MR_MODE_* for the commands that run the pipeline, else -1 */
    int (*run)(cli *c, int mode);
} commands[] = {
    { "predict", MR_MODE_PREDICT, cmd_distributed },
    { "design", MR_MODE_DESIGN, cmd_distributed },
    { "check", MR_MODE_CHECK, cmd_distributed },
    { "inspect", -1, cmd_inspect },
    { "probe", -1, cmd_probe },
};

/* predict, design, check: one process, or the MPI job it is part of */
static int cmd_distributed(cli *c, int mode)
{
    if (c->ranks <= 1)
        return cmd_run(c, mode);
    const cli_mpi_job job = {
        .command = c->command, .model = c->model, .output = c->output, .input = c->input,
        .report = c->report, .mode = mode, .progress = c->progress, .verbose = c->verbose,
        .binary_out = c->binary_out, .unknown_mode = c->unknown_mode,
        .threads = c->threads_set ? c->threads : default_threads(), .keep = c->keep,
        .opt = c->opt, .dist = &c->dist,
    };
    return cli_mpi_run(&job);
}

int main(int argc, char **argv)
{
    cli_std_fds(); /* before anything is opened: nothing of ours may become fd 0, 1 or 2 */
    signal(SIGPIPE, SIG_IGN); /* a closed pipe is a write error (EPIPE) we handle */
    signal(SIGXFSZ, SIG_IGN); /* over ulimit -f: a write error (EFBIG), exit 5, temp removed */
    if ((mr_version() >> 8) != (MR_VERSION >> 8)) {
        cli_msg("library version %s does not match the program's %s", mr_version_string(),
                MR_PROJECT_VERSION);
        return MR_EXIT_INTERNAL;
    }
    if (argc < 2)
        return usage_error("%s", "no command given");
    cli c = { .command = argv[1] };
    if (strcmp(c.command, "--help") == 0 || strcmp(c.command, "-h") == 0 || strcmp(c.command, "help") == 0) {
        fputs(usage_text, stdout);
        return cli_stdout_done();
    }
    if (strcmp(c.command, "--version") == 0 || strcmp(c.command, "version") == 0)
        return print_version();
    const struct command *cmd = NULL;
    for (size_t i = 0; i < sizeof commands / sizeof *commands && !cmd; i++)
        if (strcmp(c.command, commands[i].name) == 0)
            cmd = &commands[i];
    if (!cmd)
        return usage_error("unknown command '%s'", c.command);
    const int mode = cmd->mode;

    if (mr_options_create(&c.opt) != MR_OK) {
        cli_msg("out of memory");
        return MR_EXIT_INTERNAL;
    }
    int rc = 0;
    int opt;
    long v;
    optind = 2;
    opterr = 0; /* getopt's own messages would start with argv[0]: ours say mars-replay */
    c.resume_every = 64ULL << 20;
    c.resume_seconds = 30;
    while (rc == 0 && (opt = getopt_long(argc, argv, ":m:o:@:I:O:d:qvh", long_opts, NULL)) != -1) {
        note_option(&c, opt, optarg);
        switch (opt) {
        case 'm': c.model = optarg; break;
        case 'o': c.output = strcmp(optarg, "-") == 0 ? NULL : optarg; break;
        case '@':
            if (parse_count(optarg, 1, 4096, &c.threads) != 0)
                rc = usage_error("--threads: expected a whole number from 1 to 4096, found '%s'", optarg);
            c.threads_set = 1;
            break;
        case OPT_CHUNK_ROWS:
            if (parse_count(optarg, 1, 1 << 24, &v) != 0)
                rc = usage_error("--chunk-rows: expected a whole number from 1 to 16777216, found '%s'", optarg);
            else
                mr_options_set_int(c.opt, MR_OPT_CHUNK_ROWS, v);
            c.dist.chunk_rows = v;
            break;
        case OPT_CHUNK_BYTES:
            if (parse_count(optarg, 1, 1L << 32, &v) != 0)
                rc = usage_error("--chunk-bytes: expected a whole number from 1 to 4294967296, found '%s'", optarg);
            else
                mr_options_set_int(c.opt, MR_OPT_CHUNK_BYTES, v);
            break;
        case 'I': {
            const int f = parse_format(optarg, 1);
            if (f < 0)
                rc = usage_error("--input-format: expected csv, npy or f64, found '%s'", optarg);
            else
                mr_options_set_int(c.opt, MR_OPT_INPUT_FORMAT, f);
            c.dist.in_fmt = f;
            break;
        }
        case 'O': {
            const int f = parse_format(optarg, 0);
            if (f < 0)
                rc = usage_error("--output-format: expected csv, npy or f64, found '%s'", optarg);
            else
                mr_options_set_int(c.opt, MR_OPT_OUTPUT_FORMAT, f);
            c.dist.out_fmt = f;
            c.binary_out = f == MR_FMT_NPY || f == MR_FMT_F64;
            break;
        }
        case OPT_COLS:
            if (parse_count(optarg, 1, 1 << 20, &v) != 0)
                rc = usage_error("--cols: expected a whole number from 1 to 1048576, found '%s'", optarg);
            else
                mr_options_set_int(c.opt, MR_OPT_COLS, v);
            c.dist.cols = v;
            break;
        case 'd': {
            const char *d = strcmp(optarg, "\\t") == 0 || strcmp(optarg, "tab") == 0 ? "\t" : optarg;
            if (mr_options_set_str(c.opt, MR_OPT_DELIMITER, d) != MR_OK)
                rc = usage_error("--delimiter: expected one character other than '\"', found '%s'", optarg);
            break;
        }
        case OPT_NO_HEADER: mr_options_set_int(c.opt, MR_OPT_HEADER, 0); c.dist.no_header = 1; break;
        case OPT_NAMES: mr_options_set_str(c.opt, MR_OPT_NAMES, optarg); break;
        case OPT_NAMES_FROM_MODEL: mr_options_set_int(c.opt, MR_OPT_NAMES_FROM_MODEL, 1); break;
        case OPT_NA: mr_options_set_str(c.opt, MR_OPT_NA_TOKENS, optarg); break;
        case OPT_NA_COL:
            if (mr_options_set_str(c.opt, MR_OPT_NA_COLUMN, optarg) != MR_OK)
                rc = usage_error("--na-col: expected COLUMN=TOKENS, found '%s'", optarg);
            break;
        case OPT_KEEP:
            c.keep = optarg;
            mr_options_set_str(c.opt, MR_OPT_KEEP, optarg);
            break;
        case OPT_UNKNOWN_LEVEL:
            c.unknown_mode = strcmp(optarg, "mode") == 0 ? MR_UNKNOWN_MODE
                           : strcmp(optarg, "nan") == 0 ? MR_UNKNOWN_NAN
                           : strcmp(optarg, "error") == 0 ? MR_UNKNOWN_ERROR : -1;
            if (c.unknown_mode < 0)
                rc = usage_error("--unknown-level: expected mode, nan or error, found '%s'", optarg);
            else
                mr_options_set_int(c.opt, MR_OPT_UNKNOWN_LEVEL, c.unknown_mode);
            break;
        case OPT_NA_OUT: mr_options_set_str(c.opt, MR_OPT_NA_OUT, optarg); break;
        case OPT_NO_OUT_HEADER: mr_options_set_int(c.opt, MR_OPT_OUT_HEADER, 0); break;
        case OPT_MAX_RECORD:
            if (parse_count(optarg, 1024, 1L << 40, &v) != 0)
                rc = usage_error("--max-record-bytes: expected a whole number from 1024, found '%s'", optarg);
            else
                mr_options_set_int(c.opt, MR_OPT_MAX_RECORD_BYTES, v);
            break;
        case OPT_PROGRESS: c.progress = 1; break;
        case OPT_REPORT: c.report = optarg; break;
        case OPT_JSON: c.json = 1; break;
        case OPT_DEVICE:
            if (mr_options_set_str(c.opt, MR_OPT_DEVICE, optarg) != MR_OK)
                rc = usage_error("--device: expected cpu, opencl, opencl:P.D or auto, found '%s'", optarg);
            break;
        case OPT_PRECISION:
            if (mr_options_set_str(c.opt, MR_OPT_PRECISION, optarg) != MR_OK)
                rc = usage_error("--precision: expected double or single, found '%s'", optarg);
            break;
        case 'q': c.verbose--; break;
        case 'v': c.verbose++; break;
        case 'h':
            fputs(usage_text, stdout);
            journal_opts_free(&c.shape);
            mr_options_free(c.opt);
            return cli_stdout_done();
        case OPT_VERSION:
            journal_opts_free(&c.shape);
            mr_options_free(c.opt);
            return print_version();
        case OPT_SHARD: c.dist.shard = optarg; break;
        case OPT_MPI: c.dist.mpi = 1; break;
        case OPT_IO_RETRIES:
            if (parse_count(optarg, 0, 100, &v) != 0)
                rc = usage_error("--io-retries: expected a whole number from 0 to 100, found '%s'", optarg);
            c.dist.io_retries = (int)v;
            break;
        case OPT_MAX_MEMORY:
            if (dist_parse_bytes(optarg, &c.dist.max_memory) != 0 || c.dist.max_memory == 0 ||
                c.dist.max_memory > (uint64_t)INT64_MAX)
                rc = usage_error("--max-memory: expected a byte count such as 64M or 2G, found '%s'", optarg);
            else
                mr_options_set_int(c.opt, MR_OPT_MAX_MEMORY, (int64_t)c.dist.max_memory);
            break;
        case OPT_RESUME: c.resume = 1; break;
        case OPT_RESUME_EVERY:
            if (dist_parse_bytes(optarg, &c.resume_every) != 0 || c.resume_every == 0)
                rc = usage_error("--resume-every: expected a byte count such as 64M or 1G, found '%s'", optarg);
            break;
        case OPT_RESUME_SECONDS:
            if (parse_count(optarg, 1, 86400, &c.resume_seconds) != 0)
                rc = usage_error("--resume-seconds: expected a whole number from 1 to 86400, found '%s'", optarg);
            break;
        case ':':
            rc = usage_error("option '%s' needs a value", argv[optind - 1]);
            break;
        default:
            if (optopt)
                rc = usage_error("unknown option '-%s'", (char[]){ (char)optopt, 0 });
            else
                rc = usage_error("unknown option '%s'", argv[optind - 1]);
            break;
        }
    }
    if (rc == 0 && optind < argc)
        c.input = argv[optind++];
    if (rc == 0 && optind < argc)
        rc = usage_error("unexpected argument '%s' (one input per run; use cat to join files)", argv[optind]);
    c.ranks = 1; /* MPI only under a launcher or with --mpi (dist_mpi.c) */
    if (rc == 0 && c.dist.mpi && c.dist.shard)
        rc = usage_error("%s", "--shard and --mpi do not mix: shards are independent processes");
    const int mpi = mode >= 0 && (c.dist.mpi || (cli_mpi_launched() && !c.dist.shard));
    if (rc == 0 && mpi && c.resume) /* refused before MPI_Init: each rank says it once */
        rc = usage_error("%s", "--resume is not supported under MPI yet: run the parts as --shard K/N jobs (a job array) to resume each");
    if (rc == 0 && mpi)
        rc = cli_mpi_init(&argc, &argv, &c.ranks);
    if (rc == 0)
        rc = cmd->run(&c, mode);
    rc = cli_mpi_finalize(rc);
    journal_opts_free(&c.shape);
    mr_options_free(c.opt);
    return rc;
}
