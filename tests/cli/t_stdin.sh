# t_stdin.sh — reading the input from standard input.

stdin_dash() { # stdin_dash CASE [ARGS...]: `cat input | predict -m model ARGS` == expected.csv
    local d="$PUB/$1"
    shift
    cat "$d/input.csv" | mr predict -m "$d/model.json" "$@" >"$W/out" 2>"$W/err"
    RC=${PIPESTATUS[1]}
    want_rc 0 && want_same "$W/out" "$d/expected.csv"
}
t "stdin/dash/deg2_5000_rows" stdin_dash deg2_5000_rows -
t "stdin/dash/categorical_strings_missing" stdin_dash categorical_strings_missing -
t "stdin/dash/chunk-rows-3-threads-2" stdin_dash deg2_5000_rows --chunk-rows 3 --threads 2 -
t "stdin/no-input-argument" stdin_dash deg1_hinges

stdin_redirect() { # a file redirected to stdin (seekable) behaves the same
    local d="$PUB/deg2_interactions_shuffled"
    rin "$d/input.csv" mr predict -m "$d/model.json" -
    want_rc 0 && want_no_err && want_same "$W/out" "$d/expected.csv"
}
t "stdin/redirected-file" stdin_redirect

stdin_error_names_stdin() { # a data error on stdin names <stdin> (or -) and the line
    local d="$INV/csv_non_numeric"
    rin "$d/input.csv" mr predict -m "$d/model.json" -
    want_rc 4 && want_no_out && want_err_line '(<stdin>|-|stdin):3'
}
t "stdin/error-names-stdin-and-line" stdin_error_names_stdin

stdin_piped_random() { # a pipe with workers: they cut its raw blocks (pipe_feed.c), on random CSV
    # with quoted line ends, CRs, long records and errors: as one thread reading it (pipecmp.py)
    $PY "$HERE/pipecmp.py" "$BIN" "$ROOT/fixtures/example/model.json" 150 7 >"$W/log" 2>&1 || { tail -5 "$W/log"; return 1; }
}
t "stdin/piped-blocks-random-csv" stdin_piped_random

stdin_piped_rows_random() { # the same for .npy and raw f64: rows cut at their offsets, declared
    # counts, short inputs, trailing bytes and bad cells as one thread reading it (pipecmp_rows.py)
    $PY "$HERE/pipecmp_rows.py" "$BIN" "$PUB" 120 5 >"$W/log" 2>&1 || { tail -5 "$W/log"; return 1; }
}
t "stdin/piped-blocks-random-npy-f64" stdin_piped_rows_random
