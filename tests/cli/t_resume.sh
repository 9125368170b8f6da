# t_resume.sh — --resume: a run killed (SIGKILL) or stopped (SIGTERM) and
# rerun with --resume gives the output of an uninterrupted run; a journal of
# another model, input or options is refused with a restart.

RS_MODEL="$PUB/deg1_hinges/model.json"
RS_CAT_MODEL="$PUB/categorical_strings_missing/model.json"
RS_BIG="$SHARED/resume_1e6.csv"
RS_CAT="$SHARED/resume_cat.csv"
[ -s "$RS_BIG" ] || gen num "$RS_BIG" 1000000 || echo "resume: cannot generate $RS_BIG" >&2
gen cat "$RS_CAT" 40000 7 || echo "resume: cannot generate $RS_CAT" >&2
RS_NPY="$SHARED/resume_1e6.npy"
gen npy "$RS_NPY" "$RS_BIG" x0,x1,x2 '<f8' || echo "resume: cannot generate $RS_NPY" >&2
# the uninterrupted outputs
"$BIN" predict -m "$RS_MODEL" -o "$SHARED/resume_ref.csv" "$RS_BIG"
"$BIN" predict -m "$RS_MODEL" -o "$SHARED/resume_ref.npy" -O npy "$RS_BIG"
"$BIN" predict -m "$RS_MODEL" -o "$SHARED/resume_ref_npyin.f64" -O f64 "$RS_NPY"
"$BIN" predict -m "$RS_MODEL" -o "$SHARED/resume_ref_shard.csv" --shard 1/3 "$RS_BIG"
"$BIN" design -m "$RS_CAT_MODEL" -o "$SHARED/resume_ref_cat.csv" --keep id -q "$RS_CAT"

# How long an uninterrupted --resume run takes here (ms): the kills fall inside it.
rs_t0=$(date +%s%N)
"$BIN" predict -m "$RS_MODEL" -o "$SHARED/resume_timing.csv" --resume --resume-every 512K "$RS_BIG"
RS_MS=$((($(date +%s%N) - rs_t0) / 1000000))
[ "$RS_MS" -ge 50 ] || RS_MS=50

# kill_at MS SIG ARGS...: start a --resume run, send SIG after MS ms (or, with
# MS "temp", once its temporary output exists: its signal handlers are then
# in place, and a SIGTERM stops it at its first chunk); its status in $RC
kill_at() {
    local ms=$1 sig=$2 pid i
    shift 2
    "$BIN" "$@" --resume >/dev/null 2>"$W/killed.err" </dev/null &
    pid=$!
    if [ "$ms" = temp ]; then
        for ((i = 0; i < 2000; i++)); do
            compgen -G '.*.resume' >/dev/null && break
            sleep 0.005
        done
    else
        sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
    fi
    kill -s "$sig" "$pid" 2>/dev/null
    wait "$pid"
    RC=$?
}

# the journal on disk describes a prefix of the temporary output that is
# also a prefix of the uninterrupted output
journal_prefix_ok() { # TMPFILE REF
    local j="$1.journal" off
    [ -e "$j" ] || return 0
    off=$(awk '$1 == "at" { print $5 }' "$j")
    [ -n "$off" ] || { echo "no position in $(peek "$j" 300)"; return 1; }
    [ "$(stat -c %s "$1")" -ge "$off" ] || { echo "temporary output shorter than the journal's $off"; return 1; }
    cmp -s -n "$off" "$1" "$2" || { echo "the first $off bytes of $1 are not the uninterrupted output's"; return 1; }
}

# 20 instants (a fixed seed) across the run: kill -9, then --resume
resume_kill9_many() {
    local i ms resumed=0 args
    RANDOM=1515
    for ((i = 0; i < 20; i++)); do
        ms=$((RANDOM % RS_MS))
        args=(predict -m "$RS_MODEL" -o out.csv --resume-every 512K -@ $((1 + i % 3)))
        [ $((i % 4)) = 3 ] && args+=(--chunk-rows 5000) # cut by the calling thread (stream mode)
        kill_at "$ms" KILL "${args[@]}" "$RS_BIG"
        if [ "$RC" = 0 ] || { [ "$RC" = 137 ] && [ -e out.csv ]; }; then
            # finished before the kill, or killed after its rename (before its exit,
            # maybe before the journal's removal: the next --resume of out.csv removes it)
            want_same out.csv "$SHARED/resume_ref.csv" || return 1
            rm -f out.csv .out.csv.resume .out.csv.resume.journal
            continue
        fi
        [ "$RC" = 137 ] || { echo "killed run: status $RC: $(peek "$W/killed.err")"; return 1; }
        want_absent out.csv || return 1
        journal_prefix_ok .out.csv.resume "$SHARED/resume_ref.csv" || { echo "kill $i at $ms ms"; return 1; }
        r "$BIN" "${args[@]}" --resume "$RS_BIG"
        want_rc 0 || { echo "resume $i (killed at $ms ms)"; return 1; }
        grep -q 'resuming at row' "$W/err" && resumed=$((resumed + 1))
        want_same out.csv "$SHARED/resume_ref.csv" || { echo "resume $i (killed at $ms ms)"; return 1; }
        want_absent .out.csv.resume || return 1
        want_absent .out.csv.resume.journal || return 1
        rm -f out.csv
    done
    # most kills fall after the first commit: the runs really resumed
    [ "$resumed" -ge 10 ] || { echo "only $resumed of 20 runs resumed (run: $RS_MS ms)"; return 1; }
}
t "resume/kill9-20-instants" resume_kill9_many

# SIGTERM: stop at the next commit, exit 143, both files kept; then resume
resume_sigterm() { # MS FORMAT REF INPUT ARGS...
    local ms=$1 fmt=$2 ref=$3 input=$4
    shift 4
    kill_at "$ms" TERM predict -m "$RS_MODEL" -o "out.$fmt" -O "$fmt" --resume-every 64K "$@" "$input"
    [ "$RC" = 0 ] && { echo "finished before the signal at $ms ms"; return 1; }
    [ "$RC" = 143 ] || { echo "stopped run: status $RC, expected 143: $(peek "$W/killed.err")"; return 1; }
    grep -Eq 'stopped by signal 15 after [0-9]+ commits?: rerun with --resume' "$W/killed.err" ||
        { echo "stderr: $(peek "$W/killed.err" 300)"; return 1; }
    want_absent "out.$fmt" || return 1
    want_exists ".out.$fmt.resume" || return 1
    want_exists ".out.$fmt.resume.journal" || return 1
    r "$BIN" predict -m "$RS_MODEL" -o "out.$fmt" -O "$fmt" "$@" --resume "$input"
    want_rc 0 || return 1
    want_err_line 'resuming at row [1-9]' || return 1
    want_same "out.$fmt" "$ref" || return 1
    want_absent ".out.$fmt.resume" || return 1
    want_absent ".out.$fmt.resume.journal"
}
t "resume/sigterm-csv" resume_sigterm temp csv "$SHARED/resume_ref.csv" "$RS_BIG"
t "resume/sigterm-csv-to-npy" resume_sigterm temp npy "$SHARED/resume_ref.npy" "$RS_BIG" -@ 2
t "resume/sigterm-npy-to-f64" resume_sigterm temp f64 "$SHARED/resume_ref_npyin.f64" "$RS_NPY" -@ 1

# a shard of a job array: its own journal, its own part
resume_shard() {
    kill_at temp TERM predict -m "$RS_MODEL" -o part1.csv --shard 1/3 --resume-every 256K "$RS_BIG"
    [ "$RC" = 143 ] || { echo "stopped shard: status $RC: $(peek "$W/killed.err")"; return 1; }
    r "$BIN" predict -m "$RS_MODEL" -o part1.csv --shard 1/3 --resume "$RS_BIG"
    want_rc 0 || return 1
    want_err_line 'resuming at row [1-9]' || return 1
    want_same part1.csv "$SHARED/resume_ref_shard.csv"
}
t "resume/shard" resume_shard

# quoted multi-line records, --keep, design: stopped after its first chunk of
# 700 records, cut by rows (stream mode), resumed by byte chunks. Each read
# of the input waits 20 ms (the fault shim): the whole run (40000 records,
# about 60 reads) could otherwise end before a loaded machine runs the
# signal's sender
resume_cat_design() {
    [ -f "$BUILD/tests/mr_fault_read.so" ] || { echo "no $BUILD/tests/mr_fault_read.so (built by meson with the tests)"; return 1; }
    LD_PRELOAD="$BUILD/tests/mr_fault_read.so" MR_TEST_READ_PATH=resume_cat.csv MR_TEST_READ_DELAY_MS=20 \
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" kill_at temp TERM design -m "$RS_CAT_MODEL" -o out.csv --keep id --chunk-rows 700 -q "$RS_CAT"
    [ "$RC" = 143 ] || { echo "stopped run: status $RC"; return 1; }
    r "$BIN" design -m "$RS_CAT_MODEL" -o out.csv --keep id -q --resume "$RS_CAT"
    want_rc 0 || return 1
    want_same out.csv "$SHARED/resume_ref_cat.csv"
}
t "resume/csv-quoted-design" resume_cat_design

# stop after some commits, then change one thing: refused, started over
resume_refused() { # WHAT WHY_REGEX
    local what=$1 why=$2 model="$RS_MODEL" input=in.csv
    local -a extra=()
    cp -p "$RS_BIG" in.csv
    kill_at temp TERM predict -m "$model" -o out.csv --resume-every 512K "$input"
    [ "$RC" = 143 ] || { echo "stopped run: status $RC: $(peek "$W/killed.err")"; return 1; }
    local ref="$SHARED/resume_ref.csv"
    case $what in
    model) # the same model with one more space: the same predictions, another sha256
        { cat "$RS_MODEL"; echo ' '; } >model.json
        model=model.json ;;
    input) # one digit changed in the first MiB; size and mtime restored
        "$PY" -c "
import sys
f = open('in.csv', 'r+b'); f.seek(5000); b = f.read(1); f.seek(5000)
f.write(b'7' if b != b'7' else b'3')" || return 1
        touch -r "$RS_BIG" in.csv
        "$BIN" predict -m "$model" -o ref.csv in.csv || return 1
        ref=ref.csv ;;
    options)
        extra=(--na-out NA) ;;
    esac
    r "$BIN" predict -m "$model" -o out.csv "${extra[@]}" --resume "$input"
    want_rc 0 || return 1
    want_err_line "out.csv: cannot resume: $why.*; starting over" || return 1
    want_same out.csv "$ref" || return 1
    want_absent .out.csv.resume.journal
}
t "resume/refused-model" resume_refused model 'the model is not the same'
t "resume/refused-input" resume_refused input 'the input changed'
t "resume/refused-options" resume_refused options 'the options .* differ'

# options that do not shape the output may change: threads, chunk sizes
resume_other_threads() {
    kill_at temp TERM predict -m "$RS_MODEL" -o out.csv -@ 1 --resume-every 512K "$RS_BIG"
    [ "$RC" = 143 ] || { echo "stopped run: status $RC"; return 1; }
    r "$BIN" predict -m "$RS_MODEL" -o out.csv -@ 3 --chunk-bytes 70000 --resume "$RS_BIG"
    want_rc 0 || return 1
    want_err_line 'resuming at row' || return 1
    want_same out.csv "$SHARED/resume_ref.csv"
}
t "resume/other-threads" resume_other_threads

# a journal that is damaged: refused, started over
resume_damaged() {
    kill_at temp TERM predict -m "$RS_MODEL" -o out.csv --resume-every 512K "$RS_BIG"
    [ "$RC" = 143 ] || { echo "stopped run: status $RC"; return 1; }
    sed -i 's/^at \([0-9]*\)/at 1\1/' .out.csv.resume.journal
    r "$BIN" predict -m "$RS_MODEL" -o out.csv --resume "$RS_BIG"
    want_rc 0 || return 1
    want_err_line 'cannot resume: its journal is damaged; starting over' || return 1
    want_same out.csv "$SHARED/resume_ref.csv"
}
t "resume/damaged-journal" resume_damaged

# --resume without a journal: a plain run that leaves nothing behind
resume_fresh() {
    r "$BIN" predict -m "$RS_MODEL" -o out.csv --resume "$PUB/deg1_hinges/input.csv"
    want_rc 0 || return 1
    want_no_err || return 1
    "$BIN" predict -m "$RS_MODEL" -o want.csv "$PUB/deg1_hinges/input.csv" || return 1
    want_same out.csv want.csv || return 1
    [ "$(ls -A | tr '\n' ' ')" = "err out out.csv want.csv " ] || { echo "left: $(ls -A)"; return 1; }
}
t "resume/fresh" resume_fresh

# bad data under --resume: exit 4, nothing kept (a rerun would fail the same way)
resume_bad_data() {
    gen num bad.csv 20000 bad || return 1
    r "$BIN" predict -m "$RS_MODEL" -o out.csv --resume --resume-every 1K bad.csv
    want_rc 4 || return 1
    want_err_line 'bad.csv:20001' || return 1
    [ "$(ls -A | tr '\n' ' ')" = "bad.csv err out " ] || { echo "left: $(ls -A)"; return 1; }
}
t "resume/bad-data-leaves-nothing" resume_bad_data

# two runs of the same output at once: the second is refused (the lock)
resume_locked() {
    "$BIN" predict -m "$RS_MODEL" -o out.csv --resume "$RS_BIG" 2>/dev/null &
    local pid=$! i
    for ((i = 0; i < 100; i++)); do [ -e .out.csv.resume ] && break; sleep 0.01; done
    r "$BIN" predict -m "$RS_MODEL" -o out.csv --resume "$RS_BIG"
    wait "$pid"
    want_rc 5 || return 1
    want_err_line 'another run is writing this output' || return 1
    want_same out.csv "$SHARED/resume_ref.csv"
}
t "resume/locked" resume_locked

resume_usage() { # WHY_REGEX COMMAND ARGS...
    local why=$1 cmd=$2
    shift 2
    rin "$RS_BIG" "$BIN" "$cmd" -m "$RS_MODEL" --resume "$@"
    want_rc 2 || return 1
    want_err_line "$why"
}
t "resume/usage-no-output" resume_usage 'needs -o FILE' predict "$RS_BIG"
t "resume/usage-check" resume_usage 'needs -o FILE \(predict or design\)' check -o x.csv "$RS_BIG"
resume_pipe() {
    cat "$RS_BIG" | "$BIN" predict -m "$RS_MODEL" --resume -o x.csv - >"$W/out" 2>"$W/err"
    RC=$?
    want_rc 2 || return 1
    want_err_line 'needs a regular file as input, not a pipe' || return 1
    want_absent x.csv
}
t "resume/usage-pipe" resume_pipe
t "resume/usage-every" resume_usage 'resume-every: expected a byte count' predict --resume-every 0 -o x.csv "$RS_BIG"
t "resume/usage-device" resume_usage 'not a FIFO or device' predict -o /dev/null "$RS_BIG"
