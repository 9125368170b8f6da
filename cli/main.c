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
#include "index.h"
#include "inspect.h"
#include "job.h"
#include "merge.h"
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
    OPT_NO_MPI,
    OPT_INDEX,
    OPT_EVERY,
    OPT_IO_RETRIES,
    OPT_MAX_MEMORY,
    OPT_CHUNK_BYTES,
    OPT_NO_CACHE,
    OPT_STRICT_COLUMNS,
    OPT_MAX_MODEL,
    OPT_RESUME, /* --resume (journal.c) */
    OPT_RESUME_EVERY,
    OPT_RESUME_SECONDS,
    OPT_PEER_TIMEOUT, /* the MPI ranks' watchdog (dist_mpi.c) */
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
    { "no-mpi", no_argument, NULL, OPT_NO_MPI },
    { "index", required_argument, NULL, OPT_INDEX },
    { "every", required_argument, NULL, OPT_EVERY },
    { "io-retries", required_argument, NULL, OPT_IO_RETRIES },
    { "max-memory", required_argument, NULL, OPT_MAX_MEMORY },
    { "no-cache", no_argument, NULL, OPT_NO_CACHE },
    { "strict-columns", no_argument, NULL, OPT_STRICT_COLUMNS },
    { "max-model-bytes", required_argument, NULL, OPT_MAX_MODEL },
    { "resume", no_argument, NULL, OPT_RESUME },
    { "resume-every", required_argument, NULL, OPT_RESUME_EVERY },
    { "resume-seconds", required_argument, NULL, OPT_RESUME_SECONDS },
    { "peer-timeout", required_argument, NULL, OPT_PEER_TIMEOUT },
    { NULL, 0, NULL, 0 },
};

static const char usage_text[] =
    "Usage: mars-replay [OPTIONS] COMMAND [OPTIONS] [INPUT|-]\n"
    "Replay a fitted MARS model (ModelSpec v1 JSON, exported by pymars) over a data stream.\n"
    "\n"
    "Commands:\n"
    "  predict -m MODEL [INPUT]   one prediction per input row\n"
    "  design  -m MODEL [INPUT]   the basis (design) matrix, one column per term\n"
    "  check   -m MODEL [INPUT]   validate model, header and every row; write nothing\n"
    "  inspect MODEL [--json]     terms, features, degree and sha256 of a model\n"
    "  version                    versions and compiled-in backends\n"
    "  probe [--json]             OpenCL platforms and devices, and which can run\n"
    "  merge [-o OUT] REPORT...   join the outputs of --shard runs in shard order, after\n"
    "                            their --report files show all N parts, each exit 0\n"
    "  index [-o OUT] INPUT.csv   CSV checkpoints every --every BYTES (default 64M) for\n"
    "                            --shard --index: a task then reads only about its part\n"
    "\n"
    "INPUT is a file or - for stdin (the default). CSV, .npy or raw float64.\n"
    "\n"
    "Options:\n"
    "  -m, --model FILE          ModelSpec v1 JSON file (required)\n"
    "  -o, --output FILE         output file (default: stdout); written to a temporary\n"
    "                            file beside it and renamed only on success\n"
    "  -@, --threads N           evaluation worker threads (default: $MARS_REPLAY_THREADS,\n"
    "                            else the CPUs in the affinity mask); 0 or 1 = serial, no pool;\n"
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
    "      --names A,B,C         column names of headerless CSV input (implies --no-header)\n"
    "      --strict-columns      every model feature must be a column, also one no term\n"
    "                            uses (default: such a feature may be absent, with a warning)\n"
    "      --names-from-model    headerless CSV columns are the model's features in order\n"
    "                            (implies --no-header)\n"
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
    "      --max-model-bytes N   largest model file read (default: 256M); a bigger one is\n"
    "                            refused (exit 3) before it is read\n"
    "      --device D            cpu (default), opencl (first usable device), opencl:P.D\n"
    "                            (platform.device of probe), or auto (a GPU/accelerator\n"
    "                            if usable, else the CPU); opencl that cannot run: exit 6\n"
    "      --precision P         device arithmetic: double (default, bit-identical to the\n"
    "                            CPU) or single (needed without fp64; docs/tolerance.md)\n"
    "      --no-cache            neither read nor write the OpenCL program-binary cache\n"
    "                            (used only in a directory nobody else can write)\n"
    "      --shard K/N|auto      replay only part K of N (0-based) of a seekable input:\n"
    "                            whole records, header output only in part 0; auto =\n"
    "                            from the Slurm job array (SLURM_ARRAY_TASK_*)\n"
    "      --mpi                 initialise MPI even without a launcher's environment\n"
    "                            (mpirun/srun are detected; a plain run never uses MPI)\n"
    "      --index FILE          with --shard: checkpoints from mars-replay index, so the\n"
    "                            task does not read the whole CSV before its part\n"
    "      --no-mpi              under mpirun/srun, run this rank as an independent\n"
    "                            process (the ranks of one job must share one command)\n"
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
    "      --peer-timeout S      MPI with -o FILE: a rank whose heartbeat stops for S\n"
    "                            seconds (a lost node, a killed or frozen rank) fails\n"
    "                            the job with exit 8, naming it (default: 60; 0: off)\n"
    "      --progress            rows/s and % done on stderr\n"
    "      --report FILE|-       JSON run report at exit (- = stderr); FILE may not be\n"
    "                            the model, the input or the output (exit 2)\n"
    "  -q, --quiet               no warnings (unseen-level counts stay in --report)\n"
    "  -v, --verbose             summary lines at the end (rows, seconds, threads; backend\n"
    "                            used, or why the CPU ran instead of a device)\n"
    "  -h, --help                this help\n"
    "      --version             program and library versions\n"
    "\n"
    "Exit status: 0 ok (also when a downstream pipe closes), 1 internal error,\n"
    "2 usage, 3 invalid model, 4 bad input data, 5 I/O error, 6 the requested\n"
    "device (--device opencl) cannot run, 7 MPI failure, 8 an MPI rank stopped\n"
    "(--peer-timeout), 128+N a --resume run stopped by signal N (143: SIGTERM;\n"
    "rerun with --resume).\n"
    "See man mars-replay (man/mars-replay.1) for details.\n";

typedef struct cli {
    const char *command;
    char *const *args;        /* merge: every argument after the options */
    int nargs;
    int json;                 /* inspect, probe: --json */
    int ranks;                /* MPI world size; 1 without MPI */
    cli_job job;              /* predict, design, check */
} cli;


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
    if (env && *env) /* a typo in a job script is an error, not a silent default */
        return parse_count(env, 0, 4096, &v) == 0 ? (v ? v : 1) : -1;
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

static int load_model(const mr_options *opt, const char *path, mr_model **m)
{
    mr_error err;
    const mr_status st = mr_model_load_file_opt(path, opt, m, &err);
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
    case OPT_MPI: case OPT_RESUME: case OPT_RESUME_EVERY: case OPT_RESUME_SECONDS: case OPT_PEER_TIMEOUT:
    case OPT_NO_MPI: case OPT_INDEX: case OPT_EVERY: case OPT_NO_CACHE: case OPT_MAX_MODEL:
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
            journal_opts_add(&c->job.shape, o->name, o->has_arg ? arg : NULL);
            return;
        }
}

static int cmd_inspect(cli *c, int mode)
{
    (void)mode;
    if (!c->job.input && !c->job.model)
        return cli_usage_error("%s", "inspect: no model file given");
    const char *path = c->job.input ? c->job.input : c->job.model;
    mr_model *m = NULL;
    int rc = load_model(c->job.opt, path, &m);
    if (rc == 0 && cli_inspect(m, path, c->json) != 0) {
        rc = errno == EPIPE ? MR_EXIT_OK : MR_EXIT_IO;
        if (rc)
            cli_msg("write error: %s", strerror(errno));
    }
    mr_model_free(m);
    return rc;
}

static int cmd_probe(cli *c, int mode)
{
    (void)mode;
    return c->job.input ? cli_usage_error("probe: unexpected argument '%s'", c->job.input) : cli_probe(c->json);
}

static int cmd_distributed(cli *c, int mode);

static int cmd_index(cli *c, int mode)
{
    (void)mode;
    if (!c->job.input)
        return cli_usage_error("%s", "index: no input file given (mars-replay index [-o OUT] INPUT.csv)");
    const uint64_t every = c->job.dist.index_every ? c->job.dist.index_every : (uint64_t)64 << 20;
    return cli_index_build(c->job.input, c->job.output, c->job.opt, !c->job.dist.no_header, every);
}

static int cmd_merge(cli *c, int mode)
{
    (void)mode;
    return cli_merge(c->job.output, c->nargs, c->args);
}

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
    { "merge", -1, cmd_merge },
    { "index", -1, cmd_index },
};

/* predict, design, check: one process, or the MPI job it is part of */
static int cmd_distributed(cli *c, int mode)
{
    const int same = cli_report_check_paths(c->job.report, c->job.model, c->job.input, c->job.output);
    if (same)
        return same;
    c->job.command = c->command;
    c->job.mode = mode;
    c->job.threads = c->job.threads > 0 ? c->job.threads : default_threads();
    return c->ranks <= 1 ? cli_job_run(&c->job, NULL, 0, 1) : cli_mpi_run(&c->job);
}

int main(int argc, char **argv)
{
    cli_std_fds(); /* before anything is opened: nothing of ours may become fd 0, 1 or 2 */
    signal(SIGPIPE, SIG_IGN); /* a closed pipe is a write error (EPIPE) we handle */
    signal(SIGXFSZ, SIG_IGN); /* over ulimit -f: a write error (EFBIG), exit 5, temp removed */
    if (mr_version_check() != MR_OK) { /* the header's rule: same major, minor >= ours */
        cli_msg("library libmarsreplay %s cannot serve this program (built against %d.%d: needs "
                "major %d, minor >= %d)", mr_version_string(), MR_VERSION_MAJOR, MR_VERSION_MINOR,
                MR_VERSION_MAJOR, MR_VERSION_MINOR);
        return MR_EXIT_INTERNAL;
    }
    if (argc < 2)
        return cli_usage_error("%s", "no command given");
    cli_report_set_command_line(argc, argv);
    cli c = { .command = argv[1] };
    if (strcmp(c.command, "--help") == 0 || strcmp(c.command, "-h") == 0 || strcmp(c.command, "help") == 0) {
        fputs(usage_text, stdout);
        return cli_stdout_done();
    }
    if (strcmp(c.command, "--version") == 0 || strcmp(c.command, "version") == 0)
        return print_version();
    if (mr_options_create(&c.job.opt) != MR_OK) {
        cli_msg("out of memory");
        return MR_EXIT_INTERNAL;
    }
    /* Options may come before the command (mars-replay -@ 8 predict ...):
     * "-" keeps every other argument, in order, as option 1. */
    char **pos = calloc((size_t)argc, sizeof *pos);
    int npos = 0;
    if (!pos) {
        cli_msg("out of memory");
        mr_options_free(c.job.opt);
        return MR_EXIT_INTERNAL;
    }
    int rc = 0;
    int opt;
    long v;
    optind = 1;
    opterr = 0; /* getopt's own messages would start with argv[0]: ours say mars-replay */
    c.job.resume_every = 64ULL << 20;
    c.job.resume_seconds = 30;
    c.job.peer_timeout = 60;
    while (rc == 0 && (opt = getopt_long(argc, argv, "-:m:o:@:I:O:d:qvh", long_opts, NULL)) != -1) {
        if (opt != 1)
            note_option(&c, opt, optarg);
        switch (opt) {
        case 1: pos[npos++] = optarg; break;
        case 'm': c.job.model = optarg; break;
        case 'o': c.job.output = strcmp(optarg, "-") == 0 ? NULL : optarg; break;
        case '@':
            /* 0 as in samtools: no worker threads, the same as 1 */
            if (parse_count(optarg, 0, 4096, &c.job.threads) != 0)
                rc = cli_usage_error("--threads: expected a whole number from 0 to 4096, found '%s'", optarg);
            else if (c.job.threads == 0)
                c.job.threads = 1;
            break;
        case OPT_CHUNK_ROWS:
            if (parse_count(optarg, 1, 1 << 24, &v) != 0)
                rc = cli_usage_error("--chunk-rows: expected a whole number from 1 to 16777216, found '%s'", optarg);
            else
                mr_options_set_int(c.job.opt, MR_OPT_CHUNK_ROWS, v);
            c.job.dist.chunk_rows = v;
            break;
        case OPT_CHUNK_BYTES:
            if (parse_count(optarg, 1, 1L << 32, &v) != 0)
                rc = cli_usage_error("--chunk-bytes: expected a whole number from 1 to 4294967296, found '%s'", optarg);
            else
                mr_options_set_int(c.job.opt, MR_OPT_CHUNK_BYTES, v);
            break;
        case 'I': {
            const int f = parse_format(optarg, 1);
            if (f < 0)
                rc = cli_usage_error("--input-format: expected csv, npy or f64, found '%s'", optarg);
            else
                mr_options_set_int(c.job.opt, MR_OPT_INPUT_FORMAT, f);
            c.job.dist.in_fmt = f;
            break;
        }
        case 'O': {
            const int f = parse_format(optarg, 0);
            if (f < 0)
                rc = cli_usage_error("--output-format: expected csv, npy or f64, found '%s'", optarg);
            else
                mr_options_set_int(c.job.opt, MR_OPT_OUTPUT_FORMAT, f);
            c.job.dist.out_fmt = f;
            c.job.binary_out = f == MR_FMT_NPY || f == MR_FMT_F64;
            break;
        }
        case OPT_COLS:
            if (parse_count(optarg, 1, 1 << 20, &v) != 0)
                rc = cli_usage_error("--cols: expected a whole number from 1 to 1048576, found '%s'", optarg);
            else
                mr_options_set_int(c.job.opt, MR_OPT_COLS, v);
            c.job.dist.cols = v;
            break;
        case 'd': {
            const char *d = strcmp(optarg, "\\t") == 0 || strcmp(optarg, "tab") == 0 ? "\t" : optarg;
            if (mr_options_set_str(c.job.opt, MR_OPT_DELIMITER, d) != MR_OK)
                rc = cli_usage_error("--delimiter: expected one character other than '\"', found '%s'", optarg);
            break;
        }
        case OPT_NO_HEADER: mr_options_set_int(c.job.opt, MR_OPT_HEADER, 0); c.job.dist.no_header = 1; break;
        /* column names are for headerless input: they imply --no-header */
        case OPT_NAMES: mr_options_set_str(c.job.opt, MR_OPT_NAMES, optarg); c.job.dist.no_header = 1; break;
        case OPT_NAMES_FROM_MODEL:
            mr_options_set_int(c.job.opt, MR_OPT_NAMES_FROM_MODEL, 1);
            c.job.dist.no_header = 1;
            break;
        case OPT_NA: mr_options_set_str(c.job.opt, MR_OPT_NA_TOKENS, optarg); break;
        case OPT_NA_COL:
            if (mr_options_set_str(c.job.opt, MR_OPT_NA_COLUMN, optarg) != MR_OK)
                rc = cli_usage_error("--na-col: expected COLUMN=TOKENS, found '%s'", optarg);
            break;
        case OPT_KEEP:
            c.job.keep = optarg;
            mr_options_set_str(c.job.opt, MR_OPT_KEEP, optarg);
            break;
        case OPT_UNKNOWN_LEVEL:
            c.job.unknown_mode = strcmp(optarg, "mode") == 0 ? MR_UNKNOWN_MODE
                           : strcmp(optarg, "nan") == 0 ? MR_UNKNOWN_NAN
                           : strcmp(optarg, "error") == 0 ? MR_UNKNOWN_ERROR : -1;
            if (c.job.unknown_mode < 0)
                rc = cli_usage_error("--unknown-level: expected mode, nan or error, found '%s'", optarg);
            else
                mr_options_set_int(c.job.opt, MR_OPT_UNKNOWN_LEVEL, c.job.unknown_mode);
            break;
        case OPT_NA_OUT: mr_options_set_str(c.job.opt, MR_OPT_NA_OUT, optarg); break;
        case OPT_NO_OUT_HEADER: mr_options_set_int(c.job.opt, MR_OPT_OUT_HEADER, 0); break;
        case OPT_MAX_RECORD:
            if (parse_count(optarg, 1024, 1L << 40, &v) != 0)
                rc = cli_usage_error("--max-record-bytes: expected a whole number from 1024, found '%s'", optarg);
            else
                mr_options_set_int(c.job.opt, MR_OPT_MAX_RECORD_BYTES, v);
            break;
        case OPT_NO_CACHE: mr_options_set_int(c.job.opt, MR_OPT_NO_CACHE, 1); break;
        case OPT_STRICT_COLUMNS: mr_options_set_int(c.job.opt, MR_OPT_STRICT_COLUMNS, 1); break;
        case OPT_MAX_MODEL: {
            uint64_t b = 0;
            if (dist_parse_bytes(optarg, &b) != 0 || b == 0 || b > (uint64_t)INT64_MAX)
                rc = cli_usage_error("--max-model-bytes: expected a byte count such as 256M or 1G, found '%s'", optarg);
            else
                mr_options_set_int(c.job.opt, MR_OPT_MAX_MODEL_BYTES, (int64_t)b);
            break;
        }
        case OPT_PROGRESS: c.job.progress = 1; break;
        case OPT_REPORT: c.job.report = optarg; break;
        case OPT_JSON: c.json = 1; break;
        case OPT_DEVICE:
            if (mr_options_set_str(c.job.opt, MR_OPT_DEVICE, optarg) != MR_OK)
                rc = cli_usage_error("--device: expected cpu, opencl, opencl:P.D or auto, found '%s'", optarg);
            break;
        case OPT_PRECISION:
            if (mr_options_set_str(c.job.opt, MR_OPT_PRECISION, optarg) != MR_OK)
                rc = cli_usage_error("--precision: expected double or single, found '%s'", optarg);
            break;
        case 'q': c.job.verbose--; break;
        case 'v': c.job.verbose++; break;
        case 'h':
            fputs(usage_text, stdout);
            journal_opts_free(&c.job.shape);
            mr_options_free(c.job.opt);
            free(pos);
            return cli_stdout_done();
        case OPT_VERSION:
            journal_opts_free(&c.job.shape);
            mr_options_free(c.job.opt);
            free(pos);
            return print_version();
        case OPT_SHARD: c.job.dist.shard = optarg; break;
        case OPT_MPI: c.job.dist.mpi = 1; break;
        case OPT_NO_MPI: c.job.dist.no_mpi = 1; break;
        case OPT_INDEX: c.job.dist.index = optarg; break;
        case OPT_EVERY:
            if (dist_parse_bytes(optarg, &c.job.dist.index_every) != 0 || c.job.dist.index_every < 4096)
                rc = cli_usage_error("--every: expected a byte count of at least 4096 such as 64M, found '%s'", optarg);
            break;
        case OPT_IO_RETRIES:
            if (parse_count(optarg, 0, 100, &v) != 0)
                rc = cli_usage_error("--io-retries: expected a whole number from 0 to 100, found '%s'", optarg);
            c.job.dist.io_retries = (int)v;
            break;
        case OPT_MAX_MEMORY:
            if (dist_parse_bytes(optarg, &c.job.dist.max_memory) != 0 || c.job.dist.max_memory == 0 ||
                c.job.dist.max_memory > (uint64_t)INT64_MAX)
                rc = cli_usage_error("--max-memory: expected a byte count such as 64M or 2G, found '%s'", optarg);
            else
                mr_options_set_int(c.job.opt, MR_OPT_MAX_MEMORY, (int64_t)c.job.dist.max_memory);
            break;
        case OPT_RESUME: c.job.resume = 1; break;
        case OPT_RESUME_EVERY:
            if (dist_parse_bytes(optarg, &c.job.resume_every) != 0 || c.job.resume_every == 0)
                rc = cli_usage_error("--resume-every: expected a byte count such as 64M or 1G, found '%s'", optarg);
            break;
        case OPT_RESUME_SECONDS:
            if (parse_count(optarg, 1, 86400, &c.job.resume_seconds) != 0)
                rc = cli_usage_error("--resume-seconds: expected a whole number from 1 to 86400, found '%s'", optarg);
            break;
        case OPT_PEER_TIMEOUT:
            if (parse_count(optarg, 0, 86400, &c.job.peer_timeout) != 0)
                rc = cli_usage_error("--peer-timeout: expected a whole number of seconds from 0 to 86400, found '%s'", optarg);
            break;
        case ':':
            rc = cli_usage_error("option '%s' needs a value", argv[optind - 1]);
            break;
        default:
            if (optopt)
                rc = cli_usage_error("unknown option '-%s'", (char[]){ (char)optopt, 0 });
            else
                rc = cli_usage_error("unknown option '%s'", argv[optind - 1]);
            break;
        }
    }
    while (rc == 0 && optind < argc) /* after "--" */
        pos[npos++] = argv[optind++];
    const struct command *cmd = NULL;
    if (rc == 0 && npos == 0)
        rc = cli_usage_error("%s", "no command given");
    if (rc == 0) {
        c.command = pos[0];
        for (size_t i = 0; i < sizeof commands / sizeof *commands && !cmd; i++)
            if (strcmp(c.command, commands[i].name) == 0)
                cmd = &commands[i];
        if (strcmp(c.command, "version") == 0 || strcmp(c.command, "help") == 0) {
            const int vrc = c.command[0] == 'v' ? print_version() : (fputs(usage_text, stdout), cli_stdout_done());
            mr_options_free(c.job.opt);
            free(pos);
            return vrc;
        }
        if (!cmd)
            rc = cli_usage_error("unknown command '%s'", c.command);
    }
    const int mode = cmd ? cmd->mode : -1;
    if (rc == 0 && cmd->run == cmd_merge) { /* any number of reports */
        c.args = pos + 1;
        c.nargs = npos - 1;
    } else if (rc == 0 && npos > 1) {
        c.job.input = pos[1];
    }
    if (rc == 0 && cmd->run != cmd_merge && npos > 2)
        rc = cli_usage_error("unexpected argument '%s' (one input per run; use cat to join files)", pos[2]);
    c.ranks = 1; /* MPI only under a launcher or with --mpi (dist_mpi.c) */
    if (rc == 0 && c.job.dist.mpi && c.job.dist.shard)
        rc = cli_usage_error("%s", "--shard and --mpi do not mix: shards are independent processes");
    if (rc == 0 && c.job.dist.index && !c.job.dist.shard)
        rc = cli_usage_error("%s", "--index is for --shard runs (an MPI job finds its parities itself)");
    if (rc == 0 && c.job.dist.mpi && c.job.dist.no_mpi)
        rc = cli_usage_error("%s", "--mpi and --no-mpi contradict each other");
    const int mpi = mode >= 0 && !c.job.dist.no_mpi && (c.job.dist.mpi || (cli_mpi_launched() && !c.job.dist.shard));
    if (rc == 0 && mpi)
        rc = cli_mpi_init(&argc, &argv, &c.ranks);
    if (rc == 0)
        rc = cmd->run(&c, mode);
    rc = cli_mpi_finalize(rc);
    journal_opts_free(&c.job.shape);
    mr_options_free(c.job.opt);
    free(pos);
    return rc;
}
