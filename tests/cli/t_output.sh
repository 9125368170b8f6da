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

out_sigterm() { # killed mid-run: the temporary file is removed, no out.csv
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
    kill -TERM $pid
    wait $pid
    RC=$?
    kill $writer 2>/dev/null
    wait $writer 2>/dev/null
    want_rc 143 && want_absent out.csv && no_tmp_left
}
t "output/sigterm-removes-temporary-file" out_sigterm

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
