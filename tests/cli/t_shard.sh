# t_shard.sh — --shard K/N and --shard auto (Slurm job arrays without MPI),
# and --io-retries with injected read faults (tests/shim/fault_read.c).

SH_CAT_MODEL="$PUB/categorical_strings_missing/model.json"
SH_NUM_MODEL="$PUB/deg1_hinges/model.json"
SH_CAT="$SHARED/shard_cat.csv"    # quoted fields with commas, quotes and newlines
SH_NUM="$SHARED/numeric_big.csv"  # made by t_output.sh when it ran; else here
SH_MID_BAD="$SHARED/shard_mid_bad.csv"
gen cat "$SH_CAT" 6000 11 || echo "shard: cannot generate $SH_CAT" >&2
[ -s "$SH_NUM" ] || gen num "$SH_NUM" 100000 || echo "shard: cannot generate $SH_NUM" >&2
# a bad number in the middle of quoted multi-line records: line numbers differ from rows
"$PY" - "$SH_CAT" "$SH_MID_BAD" <<'EOF' || echo "shard: cannot generate $SH_MID_BAD" >&2
import sys
data = open(sys.argv[1], newline='').read()
cut = data.index('\nplain,', len(data) * 3 // 5) + 1
i = data.index(',', cut)           # the unquoted note ends: the next field is c (numeric)
j = data.index(',', i + 1)
open(sys.argv[2], 'w', newline='').write(data[:i + 1] + 'oops' + data[j:])
EOF
SH_NPY="$SHARED/shard_num.npy"
gen npy "$SH_NPY" "$SH_NUM" x0,x1,x2 '<f8' || echo "shard: cannot generate $SH_NPY" >&2
FAULT_SO="$BUILD/tests/mr_fault_read.so"

# shard_concat N MODEL INPUT [ARGS...]: the N shards, concatenated, equal the serial output
shard_concat() {
    local n=$1 model=$2 input=$3 k
    shift 3
    r mr predict -m "$model" -@ 1 "$@" "$input"
    want_rc 0 || return 1
    mv "$W/out" full
    : >parts
    for ((k = 0; k < n; k++)); do
        r mr predict -m "$model" --shard "$k/$n" "$@" "$input"
        want_rc 0 || { echo "shard $k/$n"; return 1; }
        cat "$W/out" >>parts
    done
    want_same parts full
}
for n in 1 2 3 4 5 6 7; do
    t "shard/csv-quoted-newlines/N=$n" shard_concat "$n" "$SH_CAT_MODEL" "$SH_CAT" --keep id
    t "shard/csv-numeric-1e5/N=$n" shard_concat "$n" "$SH_NUM_MODEL" "$SH_NUM"
done
t "shard/csv-to-f64/N=5" shard_concat 5 "$SH_NUM_MODEL" "$SH_NUM" -O f64 -o -
t "shard/npy-to-csv/N=7" shard_concat 7 "$SH_NUM_MODEL" "$SH_NPY"
t "shard/npy-to-f64/N=3" shard_concat 3 "$SH_NUM_MODEL" "$SH_NPY" -O f64 -o -
t "shard/threads-4/N=3" shard_concat 3 "$SH_CAT_MODEL" "$SH_CAT" -@ 4 --chunk-rows 100
t "shard/design/N=4" shard_concat 4 "$SH_CAT_MODEL" "$SH_CAT"
t "shard/more-shards-than-rows/N=7" shard_concat 7 "$PUB/deg1_hinges/model.json" "$PUB/deg1_hinges/input.csv"

# headerless (with and without a BOM) and CRLF input
SH_BODY="$SHARED/shard_body.csv"; SH_BOM="$SHARED/shard_bom.csv"; SH_CRLF="$SHARED/shard_crlf.csv"
tail -n +2 "$SH_NUM" | head -n 20000 >"$SH_BODY"
{ printf '\xEF\xBB\xBF'; cat "$SH_BODY"; } >"$SH_BOM"
head -n 20001 "$SH_NUM" | sed 's/$/\r/' >"$SH_CRLF"
t "shard/headerless/N=4" shard_concat 4 "$SH_NUM_MODEL" "$SH_BODY" --no-header --names-from-model
t "shard/headerless-bom/N=4" shard_concat 4 "$SH_NUM_MODEL" "$SH_BOM" --no-header --names x0,x1,x2
t "shard/crlf/N=5" shard_concat 5 "$SH_NUM_MODEL" "$SH_CRLF"

shard_conformance() { # every public case, N=3
    local d n=0
    for d in "$PUB"/*/; do
        shard_concat 3 "$d/model.json" "$d/input.csv" || { echo "case $(basename "$d")"; return 1; }
        n=$((n + 1))
    done
    [ "$n" -ge 10 ] || { echo "only $n conformance cases"; return 1; }
}
t "shard/conformance/N=3" shard_conformance

# -O npy: every shard is a valid .npy of its own rows; the rows concatenate
shard_npy_parts() {
    local k
    r mr predict -m "$SH_NUM_MODEL" -O npy -o full.npy "$SH_NUM"
    want_rc 0 || return 1
    for k in 0 1 2 3; do
        r mr predict -m "$SH_NUM_MODEL" -O npy --shard "$k/4" -o "part$k.npy" "$SH_NUM"
        want_rc 0 || return 1
    done
    "$PY" - full.npy part0.npy part1.npy part2.npy part3.npy <<'EOF'
import ast, struct, sys
def load(p):
    b = open(p, 'rb').read()
    assert b[:6] == b'\x93NUMPY', p + ': not .npy'
    hl = struct.unpack('<H', b[8:10])[0]
    h = ast.literal_eval(b[10:10 + hl].decode())
    data = b[10 + hl:]
    assert len(data) == h['shape'][0] * 8, p + ': %d bytes for shape %r' % (len(data), h['shape'])
    return h['shape'][0], data
rows, data = load(sys.argv[1])
parts = [load(p) for p in sys.argv[2:]]
assert sum(r for r, _ in parts) == rows, 'rows %r vs %d' % ([r for r, _ in parts], rows)
assert b''.join(d for _, d in parts) == data, 'data differs'
EOF
}
t "shard/npy-output-each-shard-valid" shard_npy_parts

shard_header_only_first() {
    r mr predict -m "$SH_NUM_MODEL" --shard 0/3 "$SH_NUM"
    want_rc 0 && [ "$(head -n 1 "$W/out")" = prediction ] || { echo "shard 0 has no header"; return 1; }
    r mr predict -m "$SH_NUM_MODEL" --shard 2/3 "$SH_NUM"
    want_rc 0 && ! grep -q prediction "$W/out" || { echo "shard 2 has a header"; return 1; }
}
t "shard/header-only-in-shard-0" shard_header_only_first

# errors name the global line and row, as a single process does
shard_global_error() {
    r mr predict -m "$SH_CAT_MODEL" -@ 1 "$SH_MID_BAD"
    want_rc 4 || return 1
    cp "$W/err" serial.err
    local k failed=0
    for k in 0 1 2 3 4; do
        r mr predict -m "$SH_CAT_MODEL" --shard "$k/5" "$SH_MID_BAD"
        if [ "$RC" = 4 ]; then
            failed=$((failed + 1))
            # the first line is the error; unseen-level counts (line 2) are per shard
            [ "$(head -n 1 "$W/err")" = "$(head -n 1 serial.err)" ] || { echo "shard $k: $(peek "$W/err") vs $(peek serial.err)"; return 1; }
        else
            want_rc 0 || return 1
        fi
    done
    [ "$failed" = 1 ] || { echo "$failed shards failed, expected 1"; return 1; }
    grep -Eq ':[0-9]+:2: column "c": not a number \("oops"\)' serial.err || { echo "unexpected serial error: $(peek serial.err)"; return 1; }
}
t "shard/error-names-global-line-and-row" shard_global_error

shard_npy_global_row() {
    "$PY" - "$SH_NPY" bad.npy <<'EOF'
import struct, sys
b = bytearray(open(sys.argv[1], 'rb').read())
hl = struct.unpack('<H', b[8:10])[0]
off = 10 + hl + (77777 * 3 + 1) * 8       # row 77778, column x1
b[off:off + 8] = struct.pack('<d', float('inf'))
open(sys.argv[2], 'wb').write(bytes(b))
EOF
    r mr predict -m "$INV/csv_inf_with_allow_missing_false/model.json" -@ 1 bad.npy
    cp "$W/err" serial.err
    local rc_serial=$RC
    r mr predict -m "$INV/csv_inf_with_allow_missing_false/model.json" --shard 3/4 bad.npy
    [ "$RC" = "$rc_serial" ] || { echo "shard exit $RC, serial $rc_serial"; return 1; }
    want_same "$W/err" serial.err
}
t "shard/npy-error-names-global-row" shard_npy_global_row

# --shard auto: Slurm job array variables
shard_auto() {
    r mr predict -m "$SH_CAT_MODEL" -@ 1 "$SH_CAT"
    mv "$W/out" full
    : >parts
    local id
    for id in 10 12 14 16; do # sbatch --array=10-16:2
        SLURM_ARRAY_TASK_ID=$id SLURM_ARRAY_TASK_MIN=10 SLURM_ARRAY_TASK_MAX=16 SLURM_ARRAY_TASK_STEP=2 \
            SLURM_ARRAY_TASK_COUNT=4 SLURM_ARRAY_JOB_ID=99 SLURM_JOB_ID=$((99 + id)) \
            r mr predict -m "$SH_CAT_MODEL" --shard auto "$SH_CAT"
        want_rc 0 || return 1
        cat "$W/out" >>parts
    done
    want_same parts full
}
t "shard/auto-from-slurm-array" shard_auto

shard_auto_list() { # --array=1,5,9: Slurm says STEP=1, COUNT=3
    SLURM_ARRAY_TASK_ID=5 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_MAX=9 SLURM_ARRAY_TASK_STEP=1 \
        SLURM_ARRAY_TASK_COUNT=3 r mr predict -m "$SH_CAT_MODEL" --shard auto "$SH_CAT"
    want_rc 2 && want_no_out && want_err_line 'not a plain range'
}
t "shard/auto-refuses-a-list-array" shard_auto_list

shard_auto_missing() {
    (unset SLURM_ARRAY_TASK_ID SLURM_ARRAY_TASK_MIN SLURM_ARRAY_TASK_MAX SLURM_ARRAY_TASK_COUNT SLURM_ARRAY_TASK_STEP
     r mr predict -m "$SH_CAT_MODEL" --shard auto "$SH_CAT"
     want_rc 2 && want_no_out && want_err_line 'SLURM_ARRAY_TASK_ID is not set')
}
t "shard/auto-without-an-array" shard_auto_missing

shard_bad_spec() {
    local s
    for s in 4/4 x 1/0 -1/2 2; do
        r mr predict -m "$SH_CAT_MODEL" --shard "$s" "$SH_CAT"
        want_rc 2 && want_no_out && want_err_line '^mars-replay: --shard: ' || { echo "spec $s"; return 1; }
    done
}
t "shard/bad-specs" shard_bad_spec

shard_pipe() {
    cat "$SH_CAT" | mr predict -m "$SH_CAT_MODEL" --shard 0/2 - >"$W/out" 2>"$W/err"
    RC=$?
    want_rc 2 && want_no_out && want_err_line 'seekable'
}
t "shard/pipe-refused" shard_pipe

shard_stdin_file() { # stdin redirected from a regular file is seekable: fine
    rin "$SH_CAT" mr predict -m "$SH_CAT_MODEL" -q --shard 1/2 -
    want_rc 0 && cp "$W/out" got && r mr predict -m "$SH_CAT_MODEL" -q --shard 1/2 "$SH_CAT" && want_same got "$W/out"
}
t "shard/stdin-from-a-file" shard_stdin_file

shard_report() {
    r mr predict -m "$SH_NUM_MODEL" --shard 1/4 --report rep.json -o o.csv "$SH_NUM"
    want_rc 0 && jcheck rep.json "j['shard'] == '1/4'" "j['rows_out'] == 25000" "j['exit_code'] == 0"
}
t "shard/report" shard_report

progress_plain() { # --progress: stdout unchanged, a last line with the final count and 100%
    r mr predict -m "$SH_NUM_MODEL" -q "$SH_NUM"
    want_rc 0 && mv "$W/out" plain
    r mr predict -m "$SH_NUM_MODEL" -q --progress "$SH_NUM"
    want_rc 0 && want_same "$W/out" plain || return 1
    tail -n 1 "$W/err" | grep -Eq '^mars-replay: 100000 rows, [0-9]+ rows/s, 100%$' ||
        { echo "last progress line: $(tail -n 1 "$W/err")"; return 1; }
}
t "progress/final-line" progress_plain

progress_shard() { # a shard's % is of its own part, and the line says which shard
    r mr predict -m "$SH_NUM_MODEL" -q --progress --shard 2/4 "$SH_NUM"
    want_rc 0 || return 1
    local rows # CSV parts are cut by bytes: rows vary; shard 2 prints no header
    rows=$(wc -l <"$W/out")
    tail -n 1 "$W/err" | grep -Eq "^mars-replay: shard 2/4: $rows rows, [0-9]+ rows/s, 100%\$" ||
        { echo "last progress line: $(tail -n 1 "$W/err")"; return 1; }
}
t "progress/shard-part" progress_shard

# --io-retries: transient read errors are retried, then reported
retry_env() { env LD_PRELOAD="$FAULT_SO" MR_TEST_READ_PATH="$(basename "$SH_NUM")" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" "$@"; }
retry_ok() { # $1: errno name, $2: the input (- = stdin), then extra args
    local e=$1 input=$2 run=r
    shift 2
    if [ "$input" = - ]; then run="rin $SH_NUM"; fi
    rin "$SH_NUM" mr predict -m "$SH_NUM_MODEL" -@ 1 -
    mv "$W/out" full
    [ "$input" = - ] || input=$SH_NUM
    MR_TEST_READ_FAULTS=3 MR_TEST_READ_ERRNO=$e $run retry_env timeout -k 5 120 "$BIN" predict -m "$SH_NUM_MODEL" --io-retries 3 "$@" "$input"
    want_rc 0 && want_no_err && want_same "$W/out" full || return 1
    MR_TEST_READ_FAULTS=3 MR_TEST_READ_ERRNO=$e $run retry_env timeout -k 5 120 "$BIN" predict -m "$SH_NUM_MODEL" --io-retries 2 "$@" "$input"
    want_rc 5 && want_no_out && want_err_line 'read error'
}
if [ -f "$FAULT_SO" ]; then
    t "retries/eio-plain-read" retry_ok EIO file
    t "retries/eagain-plain-read" retry_ok EAGAIN file
    t "retries/eio-shard-pread" retry_ok EIO file --shard 0/1
    t "retries/etimedout-stdin" retry_ok ETIMEDOUT -
else
    echo "SKIP retries: no $FAULT_SO (built by meson with the tests)"
fi

retry_bad_value() {
    r mr predict -m "$SH_NUM_MODEL" --io-retries x "$SH_NUM"
    want_rc 2 && want_err_line 'io-retries'
}
t "retries/bad-value" retry_bad_value

# an input that grows during the run (the fault shim appends a line at its
# 2nd read): the run reads only what was there at the start, then fails
# (exit 5) without an output file, for a plain run and for a shard
grow_during_run() {
    cp "$SH_NUM" grow.csv
    env LD_PRELOAD="$FAULT_SO" MR_TEST_READ_PATH=grow.csv MR_TEST_APPEND_AT=2 \
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
        "$BIN" predict -m "$SH_NUM_MODEL" -@ 2 -o out.csv "$@" grow.csv >"$W/out" 2>"$W/err"
    RC=$?
    want_rc 5 && want_err_line 'grow\.csv: the input changed during the run' && want_absent out.csv
}
t "changed-input/grows-during-run" grow_during_run
t "changed-input/grows-during-shard" grow_during_run --shard 1/3

# --max-memory: the pipeline's buffers (report: pipeline_buffer_bytes) stay under the cap
maxmem_bounded() { # $1 threads, $2 model, $3 input, then extra args
    local th=$1 model=$2 input=$3
    shift 3
    r mr predict -m "$model" -q -@ 1 "$@" "$input"
    mv "$W/out" full
    r mr predict -m "$model" -q -@ "$th" --max-memory 3M --report rep.json "$@" "$input"
    want_rc 0 && want_same "$W/out" full && jcheck rep.json "0 < j['pipeline_buffer_bytes'] <= 3 * 1048576"
}
for th in 1 4; do
    t "max-memory/csv-numeric/threads=$th" maxmem_bounded "$th" "$SH_NUM_MODEL" "$SH_NUM"
    t "max-memory/csv-quoted-keep/threads=$th" maxmem_bounded "$th" "$SH_CAT_MODEL" "$SH_CAT" --keep id,note
    t "max-memory/npy/threads=$th" maxmem_bounded "$th" "$SH_NUM_MODEL" "$SH_NPY"
done
maxmem_pipe() { # a pipe cannot be sampled: 1 KiB records are assumed
    cat "$SH_NUM" | mr predict -m "$SH_NUM_MODEL" -@ 2 --max-memory 4M --report rep.json - >"$W/out" 2>"$W/err"
    RC=$?
    want_rc 0 && jcheck rep.json "0 < j['pipeline_buffer_bytes'] <= 4 * 1048576" "j['rows_out'] == 100000"
}
t "max-memory/pipe" maxmem_pipe
maxmem_too_small() {
    r mr predict -m "$SH_NUM_MODEL" -@ 4 --max-memory 16K "$SH_NUM"
    want_rc 2 && want_no_out && want_err_line 'max-memory 16384: too small'
}
t "max-memory/too-small" maxmem_too_small
maxmem_split_small() { # a file read by the workers needs no 1 MiB read buffer: 1M is enough
    r mr predict -m "$SH_NUM_MODEL" -q -@ 1 "$SH_NUM"
    mv "$W/out" full
    r mr predict -m "$SH_NUM_MODEL" -q -@ 4 --max-memory 1M --report rep.json "$SH_NUM"
    want_rc 0 && want_same "$W/out" full &&
        jcheck rep.json "0 < j['pipeline_buffer_bytes'] <= 1048576" "j['cpu']['input_split'] is True"
}
t "max-memory/split-csv-1M" maxmem_split_small
maxmem_bad() {
    local v
    for v in x 0 5Q -1 12MB; do
        r mr predict -m "$SH_NUM_MODEL" --max-memory "$v" "$SH_NUM"
        want_rc 2 && want_err_line 'max-memory' || { echo "value $v"; return 1; }
    done
}
t "max-memory/bad-values" maxmem_bad

# --index: checkpoints of the CSV (mars-replay index), so that a shard reads
# only about its part; the same parts, rows and errors as without
shard_index_same() {
    r mr index --every 4096 -o idx.json "$SH_CAT"
    want_rc 0 && want_no_err || return 1
    local n k
    for n in 1 3 7; do
        : >a; : >b
        for ((k = 0; k < n; k++)); do
            mr predict -m "$SH_CAT_MODEL" -q --keep id --shard "$k/$n" "$SH_CAT" >>a || return 1
            mr predict -m "$SH_CAT_MODEL" -q --keep id --shard "$k/$n" --index idx.json "$SH_CAT" >>b ||
                { echo "shard $k/$n with --index failed"; return 1; }
        done
        want_same b a || { echo "N=$n"; return 1; }
    done
    # an error names the same global line and row
    mr index --every 4096 -o bad.json "$SH_MID_BAD" || return 1
    r mr predict -m "$SH_CAT_MODEL" -@ 1 "$SH_MID_BAD"
    head -n 1 "$W/err" >serial.err
    for k in 0 1 2 3 4; do
        r mr predict -m "$SH_CAT_MODEL" --shard "$k/5" --index bad.json "$SH_MID_BAD"
        if [ "$RC" = 4 ]; then
            [ "$(head -n 1 "$W/err")" = "$(cat serial.err)" ] || { echo "shard $k: $(peek "$W/err")"; return 1; }
        fi
    done
}
t "shard/index-same-parts-and-errors" shard_index_same

# the last shard reads its part and at most one step before it (the fault
# shim fails every read below the bound: without --index the run would fail)
shard_index_reads_little() {
    local size
    size=$(stat -c %s "$SH_NUM")
    mr index --every 65536 -o idx.json "$SH_NUM" || return 1
    mr predict -m "$SH_NUM_MODEL" --shard 9/10 "$SH_NUM" >want.csv || return 1
    # reads of [4096, 80 % of the file) fail (the header's first block is allowed)
    r retry_env MR_TEST_READ_BELOW=$((size * 8 / 10)) MR_TEST_READ_ABOVE=4096 \
        timeout 120 "$BIN" predict -m "$SH_NUM_MODEL" --shard 9/10 --index idx.json "$SH_NUM"
    want_rc 0 && want_same "$W/out" want.csv || return 1
    r retry_env MR_TEST_READ_BELOW=$((size * 8 / 10)) MR_TEST_READ_ABOVE=4096 \
        timeout 120 "$BIN" predict -m "$SH_NUM_MODEL" --shard 9/10 "$SH_NUM"
    [ "$RC" != 0 ] || { echo "the shim did not bite: without --index the prefix is read"; return 1; }
}
t "shard/index-reads-only-about-its-part" shard_index_reads_little

shard_index_refused() {
    cp "$SH_NUM" in.csv
    mr index -o idx.json in.csv || return 1
    r mr predict -m "$SH_NUM_MODEL" --index idx.json in.csv
    want_rc 2 && want_err_line -- '--index is for --shard' || return 1
    r mr predict -m "$SH_NUM_MODEL" --shard 1/2 --no-header --names-from-model --index idx.json in.csv
    want_rc 2 && want_err_line 'made with(out)? --no-header' || return 1
    touch -d '2001-01-01' in.csv
    r mr predict -m "$SH_NUM_MODEL" --shard 1/2 --index idx.json in.csv
    want_rc 2 && want_no_out && want_err_line 'another version of in\.csv.*rebuild it' || return 1
    echo '{"mars_replay_index": 7}' >junk.json
    r mr predict -m "$SH_NUM_MODEL" --shard 1/2 --index junk.json in.csv
    want_rc 2 && want_err_line 'junk\.json: not a mars-replay index' || return 1
    r mr index "$SH_NPY"
    want_rc 2 && want_err_line 'CSV input' || return 1
    r mr index --every 12 in.csv
    want_rc 2 && want_err_line -- '--every' || return 1
    r mr index - <in.csv
    want_rc 2 && want_err_line 'regular file'
}
t "shard/index-stale-or-foreign-refused" shard_index_refused
