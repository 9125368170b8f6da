# t_output.sh — -o FILE (temporary file + rename), devices, FIFOs, full disks, closed pipes.

OUT_MODEL="$PUB/deg1_hinges/model.json"
OUT_IN="$PUB/deg1_hinges/input.csv"
OUT_WANT="$PUB/deg1_hinges/expected.csv"
OUT_BAD="$SHARED/late_bad.csv"   # 50000 rows, the last one bad (line 50001)
OUT_BIG="$SHARED/numeric_big.csv" # 100000 numeric rows (2 MB of output)
gen num "$OUT_BAD" 50000 bad || echo "output: cannot generate $OUT_BAD" >&2
gen num "$OUT_BIG" 100000 || echo "output: cannot generate $OUT_BIG" >&2

no_tmp_left() {
    local left
    left=$(find . -maxdepth 1 -name '.*.tmp.*' | head -3)
    [ -z "$left" ] || { echo "temporary files left: $left"; return 1; }
}

out_fail_no_file() {
    r mr predict -m "$OUT_MODEL" -o out.csv --chunk-rows 1000 "$OUT_BAD"
    want_rc 4 && want_err_line 'late_bad\.csv:50001' && want_no_out && want_absent out.csv && no_tmp_left
}
t "output/failed-run-leaves-no-file" out_fail_no_file

out_fail_keeps_old() {
    printf 'old contents\n' >out.csv
    cp out.csv saved
    r mr predict -m "$OUT_MODEL" -o out.csv "$OUT_BAD"
    want_rc 4 && want_same out.csv saved && no_tmp_left
}
t "output/failed-run-keeps-existing-file" out_fail_keeps_old

out_success_mode() {
    (umask 022 && exec timeout -k 5 120 "$BIN" predict -m "$OUT_MODEL" -o out.csv "$OUT_IN") >"$W/out" 2>"$W/err"
    RC=$?
    want_rc 0 && want_no_err && want_no_out && want_same out.csv "$OUT_WANT" && no_tmp_left || return 1
    local mode
    mode=$(stat -c %a out.csv)
    [ "$mode" = 644 ] || { echo "out.csv has mode $mode, expected 644 (umask 022)"; return 1; }
}
t "output/success-creates-file-mode-0644" out_success_mode

out_success_umask077() {
    (umask 077 && exec timeout -k 5 120 "$BIN" predict -m "$OUT_MODEL" -o out.csv "$OUT_IN") >"$W/out" 2>"$W/err"
    RC=$?
    want_rc 0 && want_same out.csv "$OUT_WANT" || return 1
    local mode
    mode=$(stat -c %a out.csv)
    [ "$mode" = 600 ] || { echo "out.csv has mode $mode, expected 600 (umask 077)"; return 1; }
}
t "output/success-respects-umask-077" out_success_umask077

out_replace_on_success() {
    printf 'old contents\n' >out.csv
    r mr predict -m "$OUT_MODEL" -o out.csv "$OUT_IN"
    want_rc 0 && want_same out.csv "$OUT_WANT" && no_tmp_left
}
t "output/existing-file-replaced-on-success" out_replace_on_success

out_model_error_no_file() {
    r mr predict -m "$INV/unknown_kind/model.json" -o out.csv "$OUT_IN"
    want_rc 3 && want_absent out.csv && no_tmp_left
}
t "output/model-error-creates-no-file" out_model_error_no_file

out_no_dir() {
    r mr predict -m "$OUT_MODEL" -o no-such-dir/out.csv "$OUT_IN"
    want_rc 5 && want_no_out && want_err_line 'no-such-dir/out\.csv'
}
t "output/directory-does-not-exist" out_no_dir

out_is_dir() {
    mkdir d
    r mr predict -m "$OUT_MODEL" -o d "$OUT_IN"
    want_rc 5 && want_no_out && want_err_line 'directory'
}
t "output/output-is-a-directory" out_is_dir


out_dev_stdout_pipe() {
    mr predict -m "$OUT_MODEL" -o /dev/stdout "$OUT_IN" 2>"$W/err" | cat >"$W/out"
    RC=${PIPESTATUS[0]}
    want_rc 0 && want_no_err && want_same "$W/out" "$OUT_WANT"
}
t "output/dev-stdout-to-pipe" out_dev_stdout_pipe

# -o /dev/stdout while stdout is a regular file must write through the link, not
# replace it. Emulated with our own link to /proc/self/fd/1 (never touch /dev).
out_stdout_link_file() {
    ln -s /proc/self/fd/1 stdout-link || { echo "cannot make a symlink"; return 1; }
    r mr predict -m "$OUT_MODEL" -o stdout-link "$OUT_IN"
    want_rc 0 || return 1
    [ -L stdout-link ] || { echo "stdout-link was replaced by a $(stat -c %F stdout-link) and stdout got $(wc -c <"$W/out") bytes (a temp file was renamed over the link instead of writing to fd 1)"; return 1; }
    want_same "$W/out" "$OUT_WANT"
}
t "output/stdout-link-with-stdout-a-regular-file" out_stdout_link_file

out_fifo() {
    mkfifo fifo || { echo "mkfifo failed"; return 1; }
    timeout 60 cat fifo >got &
    local reader=$!
    r mr predict -m "$OUT_MODEL" -o fifo "$OUT_IN"
    wait $reader
    want_rc 0 && want_no_err && want_same got "$OUT_WANT" || return 1
    [ -p fifo ] || { echo "fifo is no longer a FIFO"; return 1; }
    no_tmp_left
}
t "output/fifo" out_fifo

out_dev_full_stdout() {
    mr predict -m "$OUT_MODEL" "$OUT_IN" >/dev/full 2>"$W/err"
    RC=$?
    want_rc 5 && want_err_line 'write error'
}
t "output/stdout-dev-full" out_dev_full_stdout

out_dev_full_o() {
    r mr predict -m "$OUT_MODEL" -o /dev/full "$OUT_IN"
    want_rc 5 && want_no_out && want_err_line '/dev/full.*write error|write error.*/dev/full'
}
t "output/o-dev-full" out_dev_full_o

out_dev_full_big() { # a write error while the pipeline is busy (many chunks)
    mr predict -m "$OUT_MODEL" --threads 2 --chunk-rows 100 "$OUT_BIG" >/dev/full 2>"$W/err"
    RC=$?
    want_rc 5 && want_err_line 'write error'
}
t "output/stdout-dev-full-100000-rows" out_dev_full_big

out_closed_pipe() { # out_closed_pipe COMMAND OPTIONS...
    local cmd=$1
    shift
    mr "$cmd" -m "$OUT_MODEL" "$@" "$OUT_BIG" 2>"$W/err" | head -n 1 >"$W/out"
    RC=${PIPESTATUS[0]}
    want_rc 0 && want_no_err || return 1
    [ "$(wc -l <"$W/out")" = 1 ] || { echo "head got no line"; return 1; }
}
t "output/closed-pipe/predict" out_closed_pipe predict
t "output/closed-pipe/predict-threads-1" out_closed_pipe predict --threads 1
t "output/closed-pipe/design-threads-3-chunk-7" out_closed_pipe design --threads 3 --chunk-rows 7

# ---- hardening: no silent corruption, temp files always removed ----

out_sigterm_any() { # out_sigterm_any SIGNAL STATUS: any terminating signal removes the temp file
    mkfifo in.fifo || { echo "mkfifo failed"; return 1; }
    (head -n 20 "$OUT_IN" && exec sleep 20) >in.fifo 2>/dev/null &
    local writer=$! pid i
    "$BIN" predict -m "$OUT_MODEL" -o out.csv in.fifo >"$W/out" 2>"$W/err" &
    pid=$!
    for i in $(seq 100); do
        [ -n "$(find . -maxdepth 1 -name '.out.csv.tmp.*')" ] && break
        sleep 0.05
    done
    [ -n "$(find . -maxdepth 1 -name '.out.csv.tmp.*')" ] || { kill $pid $writer; echo "no temporary file appeared"; return 1; }
    kill -"$1" $pid
    wait $pid
    RC=$?
    kill $writer 2>/dev/null
    wait $writer 2>/dev/null
    want_rc "$2" && want_absent out.csv && no_tmp_left
}
t "output/sigterm-removes-temporary-file" out_sigterm_any TERM 143
t "output/sigquit-removes-temporary-file" out_sigterm_any QUIT 131
t "output/sigusr1-removes-temporary-file" out_sigterm_any USR1 138
t "output/sigxcpu-removes-temporary-file" out_sigterm_any XCPU 152

out_file_size_limit() { # ulimit -f: EFBIG is a write error (5), not a SIGXFSZ death
    (ulimit -f 64 && exec "$BIN" predict -m "$OUT_MODEL" -o out.csv "$OUT_BIG") >"$W/out" 2>"$W/err"
    RC=$?
    want_rc 5 && want_err_line 'out\.csv' && want_absent out.csv && no_tmp_left
}
t "output/file-size-limit-exit-5" out_file_size_limit

out_closed_stderr() { # 2>&-: the output file must not become fd 2 and get the messages
    local ex="$ROOT/fixtures/example"
    "$BIN" predict -m "$ex/model.json" -o want.csv "$ex/data.csv" 2>/dev/null
    # unseen labels (a warning), --progress and -v all write to stderr
    "$BIN" predict -v --progress -m "$ex/model.json" -o out.csv - <"$ex/data.csv" 2>&-
    RC=$?
    want_rc 0 && want_same out.csv want.csv
}
t "output/closed-stderr-keeps-output-clean" out_closed_stderr

out_closed_stdin_stdout() { # <&- >&-: the same for fds 0 and 1 (the input is named)
    "$BIN" predict -m "$OUT_MODEL" -o out.csv "$OUT_IN" <&- >&- 2>"$W/err"
    RC=$?
    want_rc 0 && want_same out.csv "$OUT_WANT"
}
t "output/closed-stdin-stdout" out_closed_stdin_stdout

out_npy_after_prefix() { # stdout a regular file opened at an offset: the .npy header goes there
    local n
    { printf 'PREFIX\n'; "$BIN" predict -m "$OUT_MODEL" -O npy "$OUT_IN" 2>"$W/err"; } >f.npy
    RC=$?
    want_rc 0 || return 1
    head -c 7 f.npy | cmp -s - <(printf 'PREFIX\n') || { echo "the prefix was overwritten: $(head -c 16 f.npy | od -c | head -2)"; return 1; }
    tail -c +8 f.npy >y.npy
    "$BIN" predict -m "$OUT_MODEL" -O npy -o want.npy "$OUT_IN" 2>/dev/null
    cmp y.npy want.npy || { echo "the .npy after the prefix differs from -o FILE's"; return 1; }
}
t "output/npy-header-at-stdout-offset" out_npy_after_prefix

out_regular_file_under_dev() { # decided by what the path is, not by its prefix
    local d=/dev/shm
    [ -d "$d" ] && [ -w "$d" ] || { echo "SKIP: no writable /dev/shm"; return 0; }
    local f
    f=$(mktemp "$d/mars-replay-test.XXXXXX") || { echo "mktemp in $d failed"; return 1; }
    head -c 100000 /dev/zero | tr '\0' 'x' >"$f" # longer than the output
    r mr predict -m "$OUT_MODEL" -o "$f" "$OUT_IN"
    want_rc 0 && cmp -s "$f" "$OUT_WANT"
    local ok=$?
    [ $ok = 0 ] || echo "$f is not exactly the output ($(wc -c <"$f") bytes, want $(wc -c <"$OUT_WANT")): old bytes kept?"
    rm -f "$f" "$d"/."$(basename "$f")".tmp.* 2>/dev/null
    r mr predict -m "$OUT_MODEL" -o "$f" "$OUT_IN" # a new file there too
    want_rc 0 && cmp -s "$f" "$OUT_WANT" || { ok=1; echo "new $f: exit $RC, $(peek "$W/err")"; }
    rm -f "$f"
    return $ok
}
t "output/regular-file-under-dev-replaced-whole" out_regular_file_under_dev

out_bad_names_before_reading() { # -o '' and -o DIR/ fail before any input is read
    local what
    for what in '' 'nodir/' "$W/"; do
        sleep 5 | timeout 3 "$BIN" predict -m "$OUT_MODEL" -o "$what" - >"$W/out" 2>"$W/err"
        RC=$?
        [ "$RC" = 2 ] || [ "$RC" = 5 ] || { echo "-o '$what': exit $RC (124: waited for the input): $(peek "$W/err")"; return 1; }
        want_err_line '' || return 1
    done
}
t "output/bad-output-name-fails-first" out_bad_names_before_reading
