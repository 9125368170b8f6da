# t_formats.sh — .npy and raw float64 input and output, compressed input.

FMT_CASE="$PUB/deg2_5000_rows"  # numeric; CSV columns x4,x1,x2,x0,id,x3
FMT_MODEL="$FMT_CASE/model.json"
FMT_WANT="$FMT_CASE/expected.csv"
FMT_FEATS=$(features_of "$FMT_MODEL") # x0..x4: .npy / f64 columns are in this order
FMT_NF=$(echo "$FMT_FEATS" | tr ',' '\n' | wc -l)
gen npy "$SHARED/f8.npy" "$FMT_CASE/input.csv" "$FMT_FEATS" '<f8' || echo "formats: cannot generate f8.npy" >&2
gen npy "$SHARED/f4.npy" "$FMT_CASE/input.csv" "$FMT_FEATS" '<f4' || echo "formats: cannot generate f4.npy" >&2
gen f32csv "$SHARED/f4.csv" "$FMT_CASE/input.csv" "$FMT_FEATS" || echo "formats: cannot generate f4.csv" >&2
gen f64 "$SHARED/in.f64" "$FMT_CASE/input.csv" "$FMT_FEATS" || echo "formats: cannot generate in.f64" >&2

fmt_npy_f8() {
    r mr predict -m "$FMT_MODEL" "$SHARED/f8.npy"
    want_rc 0 && want_no_err && want_same "$W/out" "$FMT_WANT"
}
t "formats/npy-f64-input" fmt_npy_f8

fmt_npy_f4() { # float32 .npy == the CSV of the same float32 values
    r mr predict -m "$FMT_MODEL" "$SHARED/f4.csv"
    want_rc 0 || return 1
    mv "$W/out" want
    [ "$(wc -l <want)" = "$(wc -l <"$FMT_WANT")" ] || { echo "CSV run gave $(wc -l <want) lines"; return 1; }
    ! cmp -s want "$FMT_WANT" || { echo "float32 rounding changed no prediction: the test proves nothing"; return 1; }
    r mr predict -m "$FMT_MODEL" "$SHARED/f4.npy"
    want_rc 0 && want_no_err && want_same "$W/out" want
}
t "formats/npy-f32-input" fmt_npy_f4

fmt_npy_explicit() {
    r mr predict -m "$FMT_MODEL" -I npy --threads 3 --chunk-rows 100 "$SHARED/f8.npy"
    want_rc 0 && want_same "$W/out" "$FMT_WANT"
}
t "formats/npy-input-format-npy-threads-3" fmt_npy_explicit

fmt_npy_stdin() {
    rin "$SHARED/f8.npy" mr predict -m "$FMT_MODEL" -
    want_rc 0 && want_same "$W/out" "$FMT_WANT"
}
t "formats/npy-input-on-stdin" fmt_npy_stdin

fmt_npy_pipe_in() {
    cat "$SHARED/f8.npy" | mr predict -m "$FMT_MODEL" - >"$W/out" 2>"$W/err"
    RC=${PIPESTATUS[1]}
    want_rc 0 && want_same "$W/out" "$FMT_WANT"
}
t "formats/npy-input-through-pipe" fmt_npy_pipe_in

fmt_npy_out() {
    r mr predict -m "$FMT_MODEL" -O npy -o y.npy "$FMT_CASE/input.csv"
    want_rc 0 && want_no_out && want_no_err && numcmp npy y.npy "$FMT_WANT"
}
t "formats/npy-output-file" fmt_npy_out

fmt_npy_out_design() {
    r mr design -m "$FMT_MODEL" -O npy -o d.npy --chunk-rows 100 "$FMT_CASE/input.csv"
    want_rc 0 && numcmp npy d.npy "$FMT_CASE/design.csv"
}
t "formats/npy-output-design" fmt_npy_out_design

fmt_npy_out_pipe_npy_in() { # the row count is known from the .npy input: a pipe is fine
    mr predict -m "$FMT_MODEL" -O npy "$SHARED/f8.npy" 2>"$W/err" | cat >y.npy
    RC=${PIPESTATUS[0]}
    want_rc 0 && numcmp npy y.npy "$FMT_WANT"
}
t "formats/npy-output-to-pipe-from-npy-input" fmt_npy_out_pipe_npy_in

fmt_npy_out_pipe_refused() { # CSV input: unknown row count, a pipe cannot be patched
    mr predict -m "$FMT_MODEL" -O npy "$FMT_CASE/input.csv" 2>"$W/err" | cat >"$W/out"
    RC=${PIPESTATUS[0]}
    want_rc 2 && want_no_out && want_err_line
}
t "formats/npy-output-to-pipe-from-csv-refused" fmt_npy_out_pipe_refused

fmt_f64_out() {
    r mr predict -m "$FMT_MODEL" -O f64 -o y.f64 "$FMT_CASE/input.csv"
    want_rc 0 && want_no_out && numcmp f64 y.f64 "$FMT_WANT"
}
t "formats/f64-output-file" fmt_f64_out

fmt_f64_out_pipe() {
    mr predict -m "$FMT_MODEL" -O f64 --threads 2 --chunk-rows 64 "$FMT_CASE/input.csv" 2>"$W/err" | cat >y.f64
    RC=${PIPESTATUS[0]}
    want_rc 0 && numcmp f64 y.f64 "$FMT_WANT"
}
t "formats/f64-output-to-pipe" fmt_f64_out_pipe

fmt_f64_in() {
    r mr predict -m "$FMT_MODEL" -I f64 --cols "$FMT_NF" "$SHARED/in.f64"
    want_rc 0 && want_no_err && want_same "$W/out" "$FMT_WANT"
}
t "formats/f64-input-cols" fmt_f64_in

fmt_f64_in_default_cols() {
    rin "$SHARED/in.f64" mr predict -m "$FMT_MODEL" -I f64 -
    want_rc 0 && want_same "$W/out" "$FMT_WANT"
}
t "formats/f64-input-default-cols-stdin" fmt_f64_in_default_cols

fmt_f64_in_wrong_cols() {
    r mr predict -m "$FMT_MODEL" -I f64 --cols $((FMT_NF + 1)) "$SHARED/in.f64"
    want_rc 4 && want_no_out && want_err_line
}
t "formats/f64-input-wrong-cols" fmt_f64_in_wrong_cols

fmt_f64_in_partial_row() {
    head -c $((8 * FMT_NF * 10 + 12)) "$SHARED/in.f64" >part.f64
    r mr predict -m "$FMT_MODEL" -I f64 part.f64
    want_rc 4 && want_err_line
}
t "formats/f64-input-partial-last-row" fmt_f64_in_partial_row

fmt_gzip() {
    gzip -c "$FMT_CASE/input.csv" >in.csv.gz
    r mr predict -m "$FMT_MODEL" in.csv.gz
    want_rc 4 && want_no_out && want_err_line 'zcat'
}
t "formats/gzip-input-refused" fmt_gzip

fmt_gzip_stdin() {
    gzip -c "$FMT_CASE/input.csv" | mr predict -m "$FMT_MODEL" - >"$W/out" 2>"$W/err"
    RC=${PIPESTATUS[1]}
    want_rc 4 && want_no_out && want_err_line 'zcat'
}
t "formats/gzip-stdin-refused" fmt_gzip_stdin

fmt_zstd() {
    printf '\x28\xb5\x2f\xfd\x24\x04\x21\x00\x00x0,x1\n' >in.csv.zst
    r mr predict -m "$FMT_MODEL" in.csv.zst
    want_rc 4 && want_no_out && want_err_line 'zstdcat'
}
t "formats/zstd-input-refused" fmt_zstd

fmt_npy_truncated() {
    local size
    size=$(stat -c %s "$SHARED/f8.npy")
    head -c $((size - 8 * FMT_NF * 100)) "$SHARED/f8.npy" >trunc.npy # 100 rows short
    r mr predict -m "$FMT_MODEL" trunc.npy
    want_rc 4 && want_err_line 'trunc\.npy'
}
t "formats/npy-truncated-data" fmt_npy_truncated

fmt_npy_truncated_mid_row() {
    local size
    size=$(stat -c %s "$SHARED/f8.npy")
    head -c $((size - 20)) "$SHARED/f8.npy" >trunc.npy
    r mr predict -m "$FMT_MODEL" trunc.npy
    want_rc 4 && want_err_line 'trunc\.npy'
}
t "formats/npy-truncated-mid-row" fmt_npy_truncated_mid_row

fmt_npy_cols() { # fmt_npy_cols NCOLS
    local cols
    cols=$(echo "$FMT_FEATS,x0,x1" | cut -d, -f1-"$1")
    gen npy bad.npy "$FMT_CASE/input.csv" "$cols" '<f8' || return 1
    r mr predict -m "$FMT_MODEL" bad.npy
    want_rc 4 && want_no_out && want_err_line 'column'
}
t "formats/npy-too-few-columns" fmt_npy_cols $((FMT_NF - 1))
t "formats/npy-too-many-columns" fmt_npy_cols $((FMT_NF + 1))

fmt_bad_format_name() {
    r mr predict -m "$FMT_MODEL" -O xml "$FMT_CASE/input.csv"
    want_rc 2 && want_no_out
}
t "formats/unknown-output-format" fmt_bad_format_name

# The .npy fast path (whole blocks transposed, NaN counted and made canonical column by
# column) against the CSV path on the same values: NaNs of many payloads and both signs
# (CSV: nan), +-inf, blocks cut short by --chunk-rows, 2 threads.
NM_MODEL="$PUB/handmade_interaction_kinds/model.json" # numeric, allow_missing true
NM_FEATS=$(features_of "$NM_MODEL")
gen nanmix "$SHARED/nm.npy" "$SHARED/nm.csv" "$NM_FEATS" 3000 5 || echo "formats: cannot generate nm.npy" >&2

fmt_npy_nan_payloads() {
    r mr predict -m "$NM_MODEL" -O npy -o want.npy --report want.json "$SHARED/nm.csv"
    want_rc 0 || return 1
    r mr predict -m "$NM_MODEL" -O npy -o got.npy --report got.json --chunk-rows 300 -@ 2 "$SHARED/nm.npy"
    want_rc 0 && want_no_err && want_same got.npy want.npy || return 1
    "$PY" - want.json got.json <<'PY'
import json, sys
a, b = (json.load(open(p))["columns"] for p in sys.argv[1:])
assert a == b, (a, b)
assert all(c["missing"] > 0 for c in a), a
PY
}
t "formats/npy-fast-path-nan-payloads-equal-csv" fmt_npy_nan_payloads

fmt_npy_nan_not_allowed() { # allow_missing false: the first bad cell, in a later block
    gen nanmix one.npy one.csv "$FMT_FEATS" 1000 5 700:3 || return 1
    r mr predict -m "$FMT_MODEL" -O npy -o y.npy one.npy
    want_rc 4 && want_err_line 'one.npy: row 700: column "x2": missing value' && want_absent y.npy
}
t "formats/npy-nan-not-allowed-names-row-and-column" fmt_npy_nan_not_allowed

fmt_f64_on_npy_refused() { # -I f64 would read a .npy's header as data
    r mr predict -m "$FMT_MODEL" -I f64 -o y.csv "$SHARED/f8.npy"
    want_rc 2 && want_err_line 'f8\.npy: the input starts with the \.npy magic' && want_absent y.csv
}
t "formats/f64-on-npy-refused" fmt_f64_on_npy_refused
