# t_merge.sh — mars-replay merge: the parts of a --shard job array, checked
# against their --report files and joined in shard order.

MG_MODEL="$PUB/deg1_hinges/model.json"
MG_DESIGN_MODEL="$PUB/categorical_strings_missing/model.json"

mg_shards() { # mg_shards N FORMAT COMMAND MODEL INPUT: part$k.$FORMAT + part$k.json
    local n=$1 fmt=$2 cmd=$3 model=$4 in=$5 k
    for ((k = 0; k < n; k++)); do
        mr "$cmd" -m "$model" -q --shard "$k/$n" -O "$fmt" -o "part$k.$fmt" --report "part$k.json" "$in" ||
            { echo "shard $k/$n failed"; return 1; }
    done
}

mg_same() { # mg_same N FORMAT COMMAND MODEL INPUT: merge == one process
    local n=$1 fmt=$2 cmd=$3 model=$4 in=$5
    mg_shards "$@" || return 1
    mr "$cmd" -m "$model" -q -O "$fmt" -o "want.$fmt" "$in" || return 1
    r mr merge -o "got.$fmt" part*.json
    want_rc 0 && want_no_err && want_same "got.$fmt" "want.$fmt" || return 1
    r mr merge part*.json # to stdout
    want_rc 0 && want_same "$W/out" "want.$fmt" || return 1
    # from another directory: the parts' relative paths are the shards' own
    mkdir -p elsewhere && (cd elsewhere && mr merge -o "../got2.$fmt" ../part*.json) && want_same "got2.$fmt" "want.$fmt"
}
t "merge/csv-4" mg_same 4 csv predict "$MG_MODEL" "$PUB/deg1_hinges/input.csv"
t "merge/npy-3" mg_same 3 npy predict "$MG_MODEL" "$PUB/deg1_hinges/input.csv"
t "merge/f64-5" mg_same 5 f64 predict "$MG_MODEL" "$PUB/deg1_hinges/input.csv"
t "merge/design-npy-3" mg_same 3 npy design "$MG_DESIGN_MODEL" "$PUB/categorical_strings_missing/input.csv"
t "merge/design-csv-2" mg_same 2 csv design "$MG_DESIGN_MODEL" "$PUB/categorical_strings_missing/input.csv"

mg_missing() { # a missing part is named, with the Slurm array task to rerun
    local k
    for k in 0 1 2; do
        SLURM_ARRAY_JOB_ID=900 SLURM_ARRAY_TASK_ID=$((10 + 5 * k)) SLURM_ARRAY_TASK_MIN=10 SLURM_ARRAY_TASK_STEP=5 \
            mr predict -m "$MG_MODEL" --shard "$k/3" -o "part$k.csv" --report "part$k.json" \
            "$PUB/deg1_hinges/input.csv" || return 1
    done
    rm part1.json
    r mr merge -o got.csv part*.json
    want_rc 4 && want_err_line 'shard 1/3 is missing.*900_15.*--array=15' && want_absent got.csv
}
t "merge/missing-part-names-array-task" mg_missing

mg_failed() { # a part whose report shows a failure is refused
    mg_shards 2 csv predict "$MG_MODEL" "$PUB/deg1_hinges/input.csv" || return 1
    sed -i 's/"exit_code": 0/"exit_code": 4/' part1.json
    r mr merge -o got.csv part*.json
    want_rc 4 && want_err_line 'shard 1/2 failed \(exit 4\): rerun it' && want_absent got.csv
}
t "merge/failed-part-refused" mg_failed

mg_stale() { # a stale extra (another N, another model, a duplicate), a changed part
    mg_shards 2 csv predict "$MG_MODEL" "$PUB/deg1_hinges/input.csv" || return 1
    mr predict -m "$MG_MODEL" --shard 2/3 -o old2.csv --report old2.json "$PUB/deg1_hinges/input.csv" || return 1
    r mr merge -o got.csv part0.json part1.json old2.json
    want_rc 4 && want_err_line 'shards of 2 and of 3 parts' && want_absent got.csv || return 1
    cp part1.json dup1.json
    r mr merge -o got.csv part0.json part1.json dup1.json
    want_rc 4 && want_err_line 'both are shard 1/2' || return 1
    mr predict -m "$MG_DESIGN_MODEL" -q --shard 1/2 -o other1.csv --report other1.json \
        "$PUB/categorical_strings_missing/input.csv" || return 1
    r mr merge -o got.csv part0.json other1.json
    want_rc 4 && want_err_line 'different jobs \(model.sha256' || return 1
    # the same size, other bytes: the report's sha256 tells
    cp part1.csv keep1.csv
    "$PY" -c "p='part1.csv'; b=bytearray(open(p,'rb').read()); i=b.index(b'\\n')+1; b[i]=56 if b[i]!=56 else 55; open(p,'wb').write(b)"
    r mr merge -o got.csv part*.json
    want_rc 4 && want_err_line 'part1\.csv: its sha256 is not the one its report part1\.json recorded' &&
        want_absent got.csv || return 1
    cp keep1.csv part1.csv
    echo 1.5 >>part1.csv
    r mr merge -o got.csv part*.json
    want_rc 4 && want_err_line 'part1\.csv: .* bytes, but its report part1\.json says' && want_absent got.csv
}
t "merge/stale-or-changed-parts-refused" mg_stale

mg_usage() {
    r mr merge -o got.csv
    want_rc 2 && want_err_line 'no reports given' || return 1
    mr predict -m "$MG_MODEL" -o whole.csv --report whole.json "$PUB/deg1_hinges/input.csv" || return 1
    r mr merge -o got.csv whole.json
    want_rc 4 && want_err_line 'not the report of a --shard run' || return 1
    echo '{' >bad.json
    r mr merge -o got.csv bad.json
    want_rc 4 && want_err_line 'bad\.json:.*not a JSON report'
}
t "merge/usage-and-bad-reports" mg_usage
