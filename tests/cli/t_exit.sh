# t_exit.sh — exit statuses and one-line error messages.

exit_invalid_case() { # exit_invalid_case CASE WANT_RC
    local d="$INV/$1"
    r mr predict -m "$d/model.json" "$d/input.csv"
    want_rc "$2" && want_err_line && want_no_out
}
for d in "$INV"/*/; do
    c=$(basename "$d")
    case $c in
    csv_*) t "exit/data/$c" exit_invalid_case "$c" 4 ;;
    *) t "exit/model/$c" exit_invalid_case "$c" 3 ;;
    esac
done

# the model error names the model file; a data error names the input and its line
exit_model_msg() {
    r mr predict -m "$INV/unknown_kind/model.json" "$INV/unknown_kind/input.csv"
    want_rc 3 && want_err_line "unknown_kind/model\.json.*basis_terms\[1\]\.kind.*spline"
}
t "exit/model-message-names-file-path-and-value" exit_model_msg

exit_data_msg() {
    r mr predict -m "$INV/csv_non_numeric/model.json" "$INV/csv_non_numeric/input.csv"
    want_rc 4 && want_err_line 'csv_non_numeric/input\.csv:3:[0-9]+: .*"abc"'
}
t "exit/data-message-names-file-line-and-value" exit_data_msg

exit_usage_unknown_option() {
    r mr predict --no-such-option -m "$PUB/deg1_hinges/model.json" "$PUB/deg1_hinges/input.csv"
    want_rc 2 && want_no_out && want_err_line "no-such-option"
}
t "exit/usage/unknown-option" exit_usage_unknown_option

exit_usage_threads() { # exit_usage_threads VALUE
    r mr predict --threads "$1" -m "$PUB/deg1_hinges/model.json" "$PUB/deg1_hinges/input.csv"
    want_rc 2 && want_no_out && want_err_line "threads"
}
t "exit/usage/threads-abc" exit_usage_threads abc
t "exit/usage/threads-4097" exit_usage_threads 4097
threads_zero_is_serial() { # -@ 0 (samtools' "no extra threads") and MARS_REPLAY_THREADS=0: serial
    r mr predict -@ 1 -m "$PUB/deg1_hinges/model.json" "$PUB/deg1_hinges/input.csv" -o want.csv --report want.json
    want_rc 0 || return 1
    r mr predict -@ 0 -m "$PUB/deg1_hinges/model.json" "$PUB/deg1_hinges/input.csv" -o got.csv --report got.json
    want_rc 0 && want_same got.csv want.csv || return 1
    grep -q '"threads": *1[,}]' got.json || { echo "-@ 0 did not run serially: $(grep -o '"threads":[^,]*' got.json)"; return 1; }
    MARS_REPLAY_THREADS=0 r mr predict -m "$PUB/deg1_hinges/model.json" "$PUB/deg1_hinges/input.csv" -o env.csv
    want_rc 0 && want_same env.csv want.csv
}
t "threads/zero-is-serial" threads_zero_is_serial
threads_env_garbage() { # MARS_REPLAY_THREADS garbage is an error (the man page says so), -@ overrides it
    MARS_REPLAY_THREADS=four r mr predict -m "$PUB/deg1_hinges/model.json" "$PUB/deg1_hinges/input.csv"
    want_rc 2 && want_no_out && want_err_line "MARS_REPLAY_THREADS.*four" || return 1
    MARS_REPLAY_THREADS=four r mr predict -@ 2 -m "$PUB/deg1_hinges/model.json" "$PUB/deg1_hinges/input.csv"
    want_rc 0
}
t "threads/env-garbage-is-an-error" threads_env_garbage
t "exit/usage/threads-empty" exit_usage_threads ""

exit_usage_chunk() {
    r mr predict --chunk-rows 0 -m "$PUB/deg1_hinges/model.json" "$PUB/deg1_hinges/input.csv"
    want_rc 2 && want_no_out && want_err_line "chunk-rows"
}
t "exit/usage/chunk-rows-0" exit_usage_chunk

exit_no_input_file() {
    r mr predict -m "$PUB/deg1_hinges/model.json" "$W/no-such-input.csv"
    want_rc 5 && want_no_out && want_err_line "no-such-input\.csv"
}
t "exit/io/nonexistent-input" exit_no_input_file

exit_no_model_file() {
    r mr predict -m "$W/no-such-model.json" "$PUB/deg1_hinges/input.csv"
    want_rc 5 && want_no_out && want_err_line "no-such-model\.json"
}
t "exit/io/nonexistent-model" exit_no_model_file

exit_input_dir() {
    r mr predict -m "$PUB/deg1_hinges/model.json" "$W"
    want_rc 5 && want_no_out && want_err_line "directory"
}
t "exit/io/input-is-a-directory" exit_input_dir
