/* job.c — see job.h. The steps of every predict/design/check run, and the
 * spread of one process: the whole input, or one --shard of it. */
#include "job.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exit_codes.h"
#include "probe.h"
#include "progress.h"

double cli_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ---- one process ------------------------------------------------------------ */

static int create_engine(cli_run *r);
static int resume_open(cli_run *r);

static int local_agree(cli_run *r, int rc, int *who)
{
    if (who)
        *who = rc ? 0 : r->size;
    return rc;
}

static int local_plan(cli_run *r, int rc)
{
    const cli_job *j = r->job;
    if (rc || (!j->dist.shard && !j->resume))
        return rc;
    /* --resume: the whole input is part 0 of 1, which a rerun can start later */
    if (j->resume && r->in.size < 0)
        return cli_usage_error("%s", "--resume needs a regular file as input, not a pipe");
    r->plan.k = 0;
    r->plan.n = 1;
    if (j->dist.shard) {
        rc = dist_shard_spec(j->dist.shard, &r->plan.k, &r->plan.n);
        if (rc)
            return rc;
        snprintf(r->part_name, sizeof r->part_name, "%llu/%llu", (unsigned long long)r->plan.k,
                 (unsigned long long)r->plan.n);
        if (r->plan.k > 0)
            mr_options_set_int(j->opt, MR_OPT_OUT_HEADER, 0);
    }
    r->partitioned = 1;
    return dist_shard_prepare(&r->plan, &r->in, r->m, j->opt, &j->dist, &r->din);
}

static int local_output_open(cli_run *r, int rc)
{
    const cli_job *j = r->job;
    if (rc || j->mode == MR_MODE_CHECK)
        return rc;
    rc = (j->resume ? cli_output_open_resumable : cli_output_open)(&r->out, j->output);
    if (rc == 0 && j->binary_out && r->out.is_tty)
        rc = cli_usage_error("%s", "refusing to write binary output to a terminal (use -o FILE or a pipe)");
    if (rc)
        return rc;
    r->io.write = cli_write;
    r->io.pwrite = r->out.seekable ? cli_pwrite : NULL;
    r->io.write_cookie = &r->out;
    r->io.sink = j->output ? j->output : "<stdout>";
    r->io.write_any_order = r->out.tmp != NULL; /* removed unless the run succeeds */
    return j->resume ? resume_open(r) : 0;
}

static void local_combine(cli_run *r)
{
    r->row_off = r->plan.row_off;
    r->line_off = r->plan.line_off;
    dist_global_stats(&r->stats, r->row_off);
    r->totals = r->stats; /* shares the columns: freed once, with stats */
    r->last_row = r->row_off + r->stats.rows_in;
}

static int local_output_finish(cli_run *r, int rc)
{
    const cli_job *j = r->job;
    if (j->resume && !r->stopped && r->resume_opts) /* a resumed .npy gets the header of all its rows */
        rc = resume_finish(&r->jr, &r->out, &r->rs, r->plan.row_off - r->jr.part_rows0 + r->stats.rows_out, rc);
    if (rc == 0 && !r->pipe_closed && r->out.fd >= 0)
        rc = cli_output_commit(&r->out);
    else if (r->stopped)
        cli_output_keep(&r->out); /* the temporary output and its journal stay for a rerun */
    else if (r->out.fd >= 0 || r->out.tmp)
        cli_output_abort(&r->out);
    if (j->resume && !r->stopped)
        journal_remove(&r->jr); /* done, or failed for good: the next run starts afresh */
    return rc;
}

static int local_final(cli_run *r, int rc)
{
    (void)r;
    return rc;
}

static void local_release(cli_run *r)
{
    journal_free(&r->jr);
    free(r->resume_opts);
}

static const cli_spread one_process = {
    .agree = local_agree,
    .plan = local_plan,
    .output_open = local_output_open,
    .combine = local_combine,
    .output_finish = local_output_finish,
    .final = local_final,
    .release = local_release,
};

/* ---- the steps ---------------------------------------------------------------- */

static int load(cli_run *r)
{
    const cli_job *j = r->job;
    if (!j->model)
        return cli_usage_error("%s: no model given (-m MODEL.json)", j->command);
    if (j->resume && (!j->output || j->mode == MR_MODE_CHECK))
        return cli_usage_error("%s", "--resume needs -o FILE (predict or design)");
    if (j->resume) /* from the start: a stop may come while a shard still scans its input */
        cli_stop_on_signals();
    if (j->threads < 1)
        return cli_usage_error("MARS_REPLAY_THREADS: expected a whole number from 0 to 4096, found '%s'",
                     getenv("MARS_REPLAY_THREADS"));
    const mr_status st = mr_model_load_file_opt(j->model, j->opt, &r->m, &r->err);
    if (st != MR_OK) {
        cli_print_error(&r->err, j->model);
        return cli_exit_code(st);
    }
    return 0;
}

static int open_input(cli_run *r)
{
    const cli_job *j = r->job;
    if (!j->input && isatty(STDIN_FILENO) && r->size == 1)
        return cli_usage_error("%s", "no input: give a file, or - to read a terminal");
    const int rc = cli_input_open(&r->in, j->input);
    r->in.retries = j->dist.io_retries;
    return rc;
}

static int create_engine(cli_run *r)
{
    const cli_job *j = r->job;
    mr_options_set_int(j->opt, MR_OPT_THREADS, j->threads);
    mr_options_set_int(j->opt, MR_OPT_MODE, j->mode);
    const mr_status st = mr_engine_create(r->m, j->opt, &r->e, &r->err);
    if (st != MR_OK) {
        cli_print_error(&r->err, NULL);
        return cli_exit_code(st);
    }
    if (j->binary_out && j->keep)
        return cli_usage_error("%s", "--keep needs CSV output (-O csv)");
    return 0;
}

/* --resume: continue from a journal that matches this run (truncate the
 * temporary output, advance the plan past what it covers, no output header),
 * or start over saying why (unless quiet); then journal every committed
 * chunk. An MPI rank calls it for its own part (dist_mpi.c). */
int cli_resume_open(cli_run *r, int out_fmt, int quiet)
{
    const cli_job *j = r->job;
    if (!r->out.tmp) {
        cli_output_abort(&r->out);
        return cli_usage_error("%s", "--resume needs -o FILE naming a regular file, not a FIFO or device");
    }
    r->resume_opts = resume_options(j->command, r->plan.k, r->plan.n, &j->shape);
    if (!r->resume_opts)
        return MR_EXIT_INTERNAL;
    r->rs = (resume_spec){
        .output = j->output, .options = r->resume_opts, .every_bytes = j->resume_every,
        .every_seconds = (double)j->resume_seconds, .quiet = quiet,
        .out_fmt = out_fmt, .npy_cols = j->mode == MR_MODE_DESIGN ? mr_model_n_terms(r->m) : 0,
        .mode = j->mode,
    };
    int rc = resume_begin(&r->jr, &r->out, &r->in, &r->plan, r->m, j->opt, &r->rs);
    if (rc == 0 && r->jr.start.out_off) { /* resumed without the output header: an engine copies its options */
        mr_engine_free(r->e);
        r->e = NULL;
        rc = create_engine(r);
    }
    r->io.commit = journal_commit;
    r->io.commit_cookie = &r->jr;
    return rc;
}

static int resume_open(cli_run *r)
{
    const cli_job *j = r->job;
    if (r->out.tmp && !j->dist.shard)
        resume_remove_parts(j->output, 0); /* the parts of an MPI job: its rank 0's journal says why not */
    return cli_resume_open(r, j->dist.out_fmt, j->verbose < 0);
}

/* The read side of the part: the whole input, or the part's bytes shown as
 * one input; a regular file (or a part of one) is read by the workers. */
static void read_side(cli_run *r)
{
    mr_io *io = &r->io;
    io->source = r->in.display;
    if (r->partitioned) {
        dist_input_init(&r->din, r->in.fd, &r->plan, r->job->dist.io_retries); /* a resume moved the plan */
        io->read = dist_read;
        io->read_cookie = &r->din;
        io->read_at = dist_read_at;
        io->size = dist_plan_bytes(&r->plan);
    } else {
        io->read = cli_read;
        io->read_cookie = &r->in;
        io->read_at = r->in.size >= 0 ? cli_read_at : NULL;
        io->read_into_pipe = r->in.size >= 0 ? NULL : cli_read_into_pipe;
        io->size = r->in.size >= 0 ? (uint64_t)r->in.size - r->in.base : 0;
    }
}

static int run_part(cli_run *r)
{
    const cli_job *j = r->job;
    if (r->partitioned && r->plan.skip)
        return 0; /* nothing to read: another part reports the input */
    read_side(r);
    char label[96] = "";
    if (r->size > 1)
        snprintf(label, sizeof label, "rank 0 of %d (its part): ", r->size);
    else if (r->part_name[0])
        snprintf(label, sizeof label, "shard %s: ", r->part_name);
    /* one line for the job: rank 0's part stands for it (parts are equal byte ranges) */
    const int show = j->progress && r->rank == 0;
    cli_progress ps;
    cli_progress_start(&ps, r->progress_to, r->io.size ? r->io.size : r->in.size > 0 ? (uint64_t)r->in.size : 0,
                       label);
    const double t = cli_now();
    const mr_status st = mr_run(r->e, &r->io, show ? cli_progress_update : NULL, &ps, &r->stats, &r->err);
    r->run_s = cli_now() - t;
    mr_engine_backend(r->e, &r->backend);
    if (show)
        cli_progress_end(&ps, st == MR_OK, r->stats.rows_out, r->stats.bytes_in);
    if (st == MR_E_IO && r->err.sys_errno == EPIPE && !r->err.line && !r->err.row && r->io.write == cli_write) {
        r->pipe_closed = 1; /* the reader went away (| head): not an error */
        return 0;
    }
    int rc = 0;
    if (j->resume && resume_stopped(&r->jr, st, &r->err, &rc)) {
        r->stopped = 1;
        return rc;
    }
    if (st != MR_OK) {
        r->have_err = 1;
        return cli_exit_code(st);
    }
    return 0;
}

static void warnings(cli_run *r, int rc)
{
    const cli_job *j = r->job;
    if (r->rank != 0 || j->verbose < 0 || !r->m) /* counted always; silenced only by -q */
        return;
    if (r->e)
        cli_warn_cache(&r->backend); /* an OpenCL cache that is not trusted (docs/accelerator.md) */
    if (r->totals.columns)
        cli_report_unknown_levels(r->m, &r->totals, j->unknown_mode, r->in.display);
    /* unused features left out of the input: allowed, said once */
    char names[200] = "";
    size_t len = 0, n = 0;
    for (size_t f = 0; r->totals.columns && f < r->totals.n_columns; f++) {
        if (!r->totals.columns[f].absent)
            continue;
        if (len < sizeof names - 40) {
            const int k = snprintf(names + len, sizeof names - len, "%s\"%s\"", n ? ", " : "",
                                   mr_model_feature_name(r->m, f));
            len = k < 0 ? len : len + (size_t)k >= sizeof names ? sizeof names - 1 : len + (size_t)k;
        }
        n++;
    }
    if (n && rc == 0)
        cli_msg("warning: %s: %zu model feature%s that no term uses %s absent (%s%s): not needed; "
                "--strict-columns makes this an error", r->in.display, n, n == 1 ? "" : "s",
                n == 1 ? "is" : "are", names, len >= sizeof names - 40 ? ", ..." : "");
    if (rc == 0 && r->totals.last_record_unterminated)
        cli_msg("warning: %s: the last record (row %llu) has no line end: was the input cut short?",
                r->in.display, (unsigned long long)r->last_row);
}

static int report(cli_run *r, int rc)
{
    const cli_job *j = r->job;
    if (r->rank != 0 || !j->report)
        return rc;
    /* the output as committed: what merge, a checksum list or a later reader can check */
    char sha[65];
    const int hashed = rc == 0 && j->output && j->mode != MR_MODE_CHECK && !r->stopped &&
                       cli_file_sha256(j->output, sha) == 0;
    const cli_report rep = {
        .command = j->command,
        .model_path = j->model,
        .model = r->m,
        .input = r->in.display ? r->in.display : j->input,
        .input_size = r->in.size,
        .input_mtime = r->in.mtime,
        .output_format = j->mode == MR_MODE_CHECK ? NULL
                       : j->dist.out_fmt == MR_FMT_NPY ? "npy" : j->dist.out_fmt == MR_FMT_F64 ? "f64" : "csv",
        .started = r->started,
        .stdout_free = j->mode == MR_MODE_CHECK || j->output != NULL,
        .output_sha256 = hashed ? sha : NULL,
        .output = j->output,
        .stats = &r->totals,
        .seconds = cli_now() - r->t0,
        .run_seconds = r->run_s,
        .exit_code = rc,
        .error = r->report_err ? &r->err : NULL,
        .backend = r->e ? &r->backend : NULL, /* rank 0's; every rank asks for the same device */
        .ranks = r->ranks,
        .n_ranks = r->ranks ? r->size : 0,
        .shard = r->part_name[0] ? r->part_name : NULL,
    };
    if (cli_report_write(&rep, j->report) != 0) {
        cli_msg("%s: cannot write the report: %s", j->report, strerror(errno));
        if (rc == 0)
            rc = MR_EXIT_IO;
    }
    return rc;
}

/* -v: the same lines for one process, a shard and an MPI job */
static void verbose(cli_run *r, int rc)
{
    if (r->rank != 0 || r->job->verbose <= 0 || rc != 0)
        return;
    if (r->e)
        cli_print_backend(&r->backend);
    char how[32] = "", part[64] = "";
    if (r->size > 1)
        snprintf(how, sizeof how, "%d ranks x ", r->size);
    if (r->part_name[0])
        snprintf(part, sizeof part, " (shard %s)", r->part_name);
    const unsigned th = r->stats.threads;
    cli_msg("%llu rows in %.3f s with %s%u thread%s%s", (unsigned long long)r->totals.rows_out,
            cli_now() - r->t0, how, th, th == 1 ? "" : "s", part);
}

int cli_job_run(const cli_job *j, const cli_spread *spread, int rank, int size)
{
    cli_run run = {
        .job = j,
        .spread = spread ? spread : &one_process,
        .rank = rank,
        .size = size,
        .in = { .fd = -1 },
        .out = { .fd = -1 },
        .progress_to = stderr,
        .t0 = cli_now(),
        .started = time(NULL),
    };
    cli_run *r = &run;
    const cli_spread *s = r->spread;

    /* The spread's steps run on every part whatever rc is (they may be
     * collective); each gives up at once on a code the job agreed on. */
    int rc = load(r);
    if (rc == 0)
        rc = open_input(r);
    rc = s->agree(r, rc, NULL);
    const double t = cli_now();
    rc = s->plan(r, rc);
    r->plan_s = cli_now() - t;
    if (rc == 0)
        rc = create_engine(r);
    rc = s->output_open(r, rc);
    rc = s->agree(r, rc, NULL);
    r->ran = rc == 0; /* the same on every part */
    if (r->ran)
        rc = run_part(r);
    s->combine(r);
    if (r->have_err) {
        dist_global_error(&r->err, r->row_off, r->line_off);
        cli_print_error(&r->err, r->in.display);
    }
    if (rc == 0 && r->ran) /* a file that grew or changed under the run: its output is not one input's */
        rc = cli_input_unchanged(&r->in);
    r->who = size;
    rc = s->agree(r, rc, &r->who);
    r->report_err = r->have_err;
    rc = s->output_finish(r, rc);
    warnings(r, rc);
    rc = report(r, rc);
    verbose(r, rc);
    rc = s->final(r, rc);
    s->release(r);
    cli_input_close(&r->in);
    mr_run_stats_free(&r->stats);
    mr_engine_free(r->e);
    mr_model_free(r->m);
    return rc;
}
