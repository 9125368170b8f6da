# t_categorical.sh — unseen categorical labels: mode (default, as pymars), nan, error.
# categorical_strings_missing: feature colour, classes blue,green,red.

CAT_CASE="$PUB/categorical_strings_missing"
CAT_MODEL="$CAT_CASE/model.json"
CAT_CLASSES=blue,green,red
CAT_N=$(numcmp count-unknown "$CAT_CASE/input.csv" colour "$CAT_CLASSES")
CAT_GEN="$SHARED/cat_20000.csv"
gen cat "$CAT_GEN" 20000 5 || echo "categorical: cannot generate $CAT_GEN" >&2
CAT_GEN_N=$(numcmp count-unknown "$CAT_GEN" colour "$CAT_CLASSES")

cat_mode() {
    r mr predict -m "$CAT_MODEL" "$CAT_CASE/input.csv"
    want_rc 0 && want_same "$W/out" "$CAT_CASE/expected.csv" &&
        want_err_line "^mars-replay: warning: .*colour.* $CAT_N unseen"
}
t "categorical/unknown-mode-default-warns" cat_mode

cat_mode_explicit() {
    r mr predict -m "$CAT_MODEL" --unknown-level mode "$CAT_CASE/input.csv"
    want_rc 0 && want_same "$W/out" "$CAT_CASE/expected.csv" && want_err_line "colour.* $CAT_N unseen"
}
t "categorical/unknown-mode-explicit" cat_mode_explicit

cat_count_threads() { # the count is over the whole input, whatever the chunking
    [ "$CAT_GEN_N" -gt 100 ] 2>/dev/null || { echo "generated file has '$CAT_GEN_N' unknown labels"; return 1; }
    r mr predict -m "$CAT_MODEL" --threads 3 --chunk-rows 7 "$CAT_GEN"
    want_rc 0 && want_err_line "colour.* $CAT_GEN_N unseen"
}
t "categorical/warning-count-threads-3-chunk-7" cat_count_threads

cat_nan() {
    r mr predict -m "$CAT_MODEL" --unknown-level nan "$CAT_CASE/input.csv"
    want_rc 0 && numcmp unknown-nan "$W/out" "$CAT_CASE/input.csv" "$CAT_CASE/expected.csv" colour "$CAT_CLASSES" &&
        want_err_line "colour.* $CAT_N unseen"
}
t "categorical/unknown-nan" cat_nan

cat_nan_design() { # design: the terms on colour are nan for unknown labels, missing(colour) is 0
    r mr design -m "$CAT_MODEL" --unknown-level nan "$CAT_CASE/input.csv"
    want_rc 0 || return 1
    "$PY" - "$W/out" "$CAT_CASE/input.csv" <<'PYEOF'
import csv, sys
got = list(csv.reader(open(sys.argv[1])))
inp = list(csv.reader(open(sys.argv[2])))
h = got[0]
col = inp[0].index('colour')
for i, (g, r) in enumerate(zip(got[1:], inp[1:]), start=1):
    if r[col] in ('blue', 'green', 'red', '', 'NA', 'NaN', 'nan'):
        continue
    for name, v in zip(h, g):
        if name.startswith('missing(colour'):
            want_nan = False
        else:
            want_nan = 'colour==' in name
        if (v == 'nan') != want_nan:
            print('row %d (colour=%r): term %s is %s' % (i, r[col], name, v))
            sys.exit(1)
PYEOF
}
t "categorical/unknown-nan-design" cat_nan_design

cat_error() {
    r mr predict -m "$CAT_MODEL" --unknown-level error "$CAT_CASE/input.csv"
    local first
    first=$("$PY" -c '
import csv, sys
for i, r in enumerate(csv.reader(open(sys.argv[1])), start=1):
    if i > 1 and r[3] not in ("blue", "green", "red", "", "NA", "NaN", "nan"):
        print(i); break' "$CAT_CASE/input.csv")
    want_rc 4 && want_no_out && want_err_line "input\.csv:$first(:[0-9]+)?: .*colour.*UNSEEN_LABEL"
}
t "categorical/unknown-error" cat_error

cat_bad_value() {
    r mr predict -m "$CAT_MODEL" --unknown-level zero "$CAT_CASE/input.csv"
    want_rc 2 && want_no_out
}
t "categorical/unknown-level-bad-value" cat_bad_value

cat_no_warning_when_known() { # the rows with known labels only: no warning, same predictions
    paste -d '|' "$CAT_CASE/input.csv" "$CAT_CASE/expected.csv" | grep -v -e UNSEEN -e GREEN -e BLUE >both
    cut -d '|' -f 1 both >in.csv
    cut -d '|' -f 2 both >want
    [ "$(numcmp count-unknown in.csv colour "$CAT_CLASSES")" = 0 ] || { echo "filter left unknown labels"; return 1; }
    r mr predict -m "$CAT_MODEL" in.csv
    want_rc 0 && want_no_err && want_same "$W/out" want
}
t "categorical/no-warning-without-unknown-labels" cat_no_warning_when_known
