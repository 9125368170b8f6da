# t_report.sh — --report FILE|- (JSON run report).

RP_CASE="$PUB/categorical_strings_missing"
RP_ROWS=$(($(wc -l <"$RP_CASE/expected.csv") - 1))

rp_ok() { # rp_ok THREADS
    local sha
    sha=$(sha256sum "$RP_CASE/model.json" | cut -d' ' -f1)
    r mr predict -m "$RP_CASE/model.json" --threads "$1" --report r.json "$RP_CASE/input.csv"
    want_rc 0 && want_same "$W/out" "$RP_CASE/expected.csv" && want_exists r.json || return 1
    "$PY" -m json.tool r.json >/dev/null 2>"$W/jerr" || { echo "not valid JSON: $(peek "$W/jerr")"; return 1; }
    jcheck r.json --var sha="$sha" --var rows="$RP_ROWS" --var threads="$1" \
        "j['rows_in'] == int(rows)" "j['rows_out'] == int(rows)" \
        "isinstance(j['peak_rss_bytes'], int) and j['peak_rss_bytes'] > 0" \
        "isinstance(j['threads'], int) and 1 <= j['threads'] <= int(threads)" \
        "j['model']['sha256'] == sha" \
        "j['exit_code'] == 0" "'error' not in j" \
        "j['command'] == 'predict'"
}
t "report/success-threads-1" rp_ok 1
t "report/success-threads-2" rp_ok 2

rp_threads_exact() { # one thread asked, one used
    r mr predict -m "$RP_CASE/model.json" --threads 1 --report r.json "$RP_CASE/input.csv"
    want_rc 0 && jcheck r.json "j['threads'] == 1"
}
t "report/threads-1-reported" rp_threads_exact

rp_unseen() {
    local n
    n=$(numcmp count-unknown "$RP_CASE/input.csv" colour blue,green,red)
    r mr predict -m "$RP_CASE/model.json" --report r.json "$RP_CASE/input.csv"
    want_rc 0 && jcheck r.json --var n="$n" \
        "[c.get('unseen_levels') for c in j['columns'] if c['name'] == 'colour'] == [int(n)]"
}
t "report/unseen-levels-count" rp_unseen

rp_big() {
    r mr predict -m "$PUB/deg2_5000_rows/model.json" --threads 2 --chunk-rows 100 --report r.json "$PUB/deg2_5000_rows/input.csv"
    local rows=$(($(wc -l <"$PUB/deg2_5000_rows/expected.csv") - 1))
    want_rc 0 && jcheck r.json --var rows="$rows" "j['rows_in'] == int(rows) == j['rows_out']" "j['exit_code'] == 0"
}
t "report/rows-5000-threads-2-chunks-100" rp_big

rp_cpu() { # rp_cpu SPLIT: CPU seconds by role; the workers read a file (pread) and a pipe (its blocks)
    local in="$PUB/deg2_5000_rows/input.csv"
    if [ "$1" = 1 ]; then
        r mr predict -m "$PUB/deg2_5000_rows/model.json" -@ 2 --chunk-bytes 5000 --report r.json "$in"
    else
        cat "$in" | mr predict -m "$PUB/deg2_5000_rows/model.json" -@ 2 --chunk-bytes 5000 --report r.json - >"$W/out" 2>"$W/err"
        RC=$?
    fi
    want_rc 0 && want_same "$W/out" "$PUB/deg2_5000_rows/expected.csv" && jcheck r.json --var split="$1" \
        "all(isinstance(j['cpu'][k], float) and j['cpu'][k] >= 0 for k in ('read_cut_seconds', 'write_seconds', 'workers_seconds'))" \
        "j['cpu']['workers_seconds'] > 0" \
        "0 < j['cpu']['serial_fraction'] < 1" \
        "j['cpu']['input_split'] == (split == '1')" \
        "j['cpu']['input_read_by'] == ('workers (pread)' if split == '1' else 'workers (pipe)')" \
        "j['cpu']['redone_chunks'] == 0"
}
t "report/cpu-by-role/file-split" rp_cpu 1
t "report/cpu-by-role/pipe" rp_cpu 0

rp_pipe_one_thread() { # one thread reads a pipe itself: nobody to hand its blocks to
    cat "$PUB/deg2_5000_rows/input.csv" | mr predict -m "$PUB/deg2_5000_rows/model.json" -@ 1 --report r.json - >"$W/out" 2>"$W/err"
    RC=$?
    want_rc 0 && want_same "$W/out" "$PUB/deg2_5000_rows/expected.csv" &&
        jcheck r.json "j['cpu']['input_read_by'] == 'calling thread'"
}
t "report/cpu-by-role/pipe-one-thread" rp_pipe_one_thread

rp_fail() {
    r mr predict -m "$INV/csv_non_numeric/model.json" --report r.json "$INV/csv_non_numeric/input.csv"
    want_rc 4 && want_err_line && want_exists r.json || return 1
    jcheck r.json "j['exit_code'] == 4" "j['rows_out'] == 0" "j['peak_rss_bytes'] > 0" \
        "j['error']['line'] == 3" "'abc' in j['error']['message']"
}
t "report/failed-run-exit-4" rp_fail

rp_fail_model() { # an invalid model: the report still says what happened
    r mr predict -m "$INV/unknown_kind/model.json" --report r.json "$INV/unknown_kind/input.csv"
    want_rc 3 && want_exists r.json && jcheck r.json "j['exit_code'] == 3"
}
t "report/invalid-model-exit-3" rp_fail_model

rp_fail_io() {
    mr predict -m "$PUB/deg1_hinges/model.json" --report r.json "$PUB/deg1_hinges/input.csv" >/dev/full 2>"$W/err"
    RC=$?
    want_rc 5 && want_exists r.json && jcheck r.json "j['exit_code'] == 5"
}
t "report/write-error-exit-5" rp_fail_io

rp_stderr() { # --report - writes the JSON to stderr
    r mr predict -m "$PUB/deg1_hinges/model.json" --report - "$PUB/deg1_hinges/input.csv"
    want_rc 0 && want_same "$W/out" "$PUB/deg1_hinges/expected.csv" &&
        jcheck "$W/err" "j['rows_out'] == 54" "j['exit_code'] == 0"
}
t "report/to-stderr" rp_stderr

rp_unwritable() { # a report that cannot be written is an I/O error
    r mr predict -m "$PUB/deg1_hinges/model.json" --report "$W/no/such/dir/r.json" "$PUB/deg1_hinges/input.csv"
    want_rc 5 && want_err_line 'r\.json'
}
t "report/unwritable-path" rp_unwritable

rp_stdout_when_output_is_a_file() { # --report - with -o FILE: the JSON goes to stdout
    r mr predict -m "$PUB/deg1_hinges/model.json" -o o.csv --report - "$PUB/deg1_hinges/input.csv"
    want_rc 0 && want_same o.csv "$PUB/deg1_hinges/expected.csv" && want_no_err &&
        jcheck "$W/out" "j['rows_out'] == 54" || return 1
    r mr check -m "$PUB/deg1_hinges/model.json" --report - "$PUB/deg1_hinges/input.csv"
    want_rc 0 && jcheck "$W/out" "j['command'] == 'check'"
}
t "report/dash-is-stdout-with-o-file" rp_stdout_when_output_is_a_file

rp_identity() { # who, where, when, what: enough to trust and to merge a part
    local sha mt
    sha=$(sha256sum "$RP_CASE/model.json" | cut -d' ' -f1)
    mt=$(stat -c %Y "$RP_CASE/input.csv")
    SLURM_JOB_ID=77 SLURM_ARRAY_JOB_ID=70 SLURM_ARRAY_TASK_ID=12 SLURM_ARRAY_TASK_MIN=10 SLURM_ARRAY_TASK_STEP=2 \
        r mr predict -m "$RP_CASE/model.json" -O f64 -o o.f64 --report r.json "$RP_CASE/input.csv"
    want_rc 0 || return 1
    jcheck r.json --var sha="$sha" --var mt="$mt" --var host="$(hostname)" \
        "j['model']['sha256'] == sha" \
        "j['command_line'][1:3] == ['predict', '-m']" \
        "len(j['started']) == 20 and j['started'].endswith('Z')" \
        "j['host'] == host" "j['mpi_ranks'] == 1" \
        "j['inputs'][0]['mtime'].split('.')[0] == mt" \
        "j['inputs'][0]['size_bytes'] > 0" \
        "j['output_format'] == 'f64'" \
        "j['slurm'] == {'job_id': '77', 'array_job_id': '70', 'array_task_id': 12, 'array_task_min': 10, 'array_task_step': 2}" \
        "isinstance(j['rows_per_second'], int)" "0 < j['run_seconds'] <= j['seconds']" || return 1
    jcheck r.json --var osha="$(sha256sum o.f64 | cut -d' ' -f1)" "j['output_sha256'] == osha" || return 1
    r mr predict -m "$RP_CASE/model.json" --report r2.json "$RP_CASE/input.csv" # stdout: no output sha256
    want_rc 0 && jcheck r2.json "'output_sha256' not in j" || return 1
    # floats short: at most 6 significant digits (no 17-digit tails)
    "$PY" - r.json <<'PYEOF' || return 1
import json, sys
bad = []
def walk(v):
    if isinstance(v, float) and float('%.6g' % v) != v: bad.append(v)
    elif isinstance(v, dict): [walk(x) for x in v.values()]
    elif isinstance(v, list): [walk(x) for x in v]
walk(json.load(open(sys.argv[1])))
if bad: print('long floats:', bad[:3]); sys.exit(1)
PYEOF
}
t "report/identity-slurm-short-floats" rp_identity
