# t_determinism.sh — output bytes do not depend on --threads or --chunk-rows.
# Data: a generated file for the categorical_strings_missing model (columns
# note,c,b,colour,id) with quoted notes holding commas, doubled quotes and
# newlines, NA tokens, unknown labels. 200000 rows; chunk size 1 on 20000 rows.

DET_MODEL="$PUB/categorical_strings_missing/model.json"
DET_BIG="$SHARED/det_big.csv"
DET_SMALL="$SHARED/det_small.csv"
gen cat "$DET_BIG" 200000 20240601 || echo "determinism: cannot generate $DET_BIG" >&2
gen cat "$DET_SMALL" 20000 99 || echo "determinism: cannot generate $DET_SMALL" >&2

det_args() { # det_args MODE: the command words of a mode
    case $1 in
    predict) echo predict ;;
    design) echo design ;;
    keep) echo "predict --keep id,note" ;;
    esac
}

# the reference: one thread, default chunk size
det_base() { # det_base MODE SIZE NROWS
    local in="$SHARED/det_$2.csv" base="$SHARED/base_$1_$2"
    # shellcheck disable=SC2046
    mr $(det_args "$1") --threads 1 -m "$DET_MODEL" "$in" >"$base" 2>"$W/err"
    RC=$?
    want_rc 0 || { rm -f "$base"; return 1; }
    local n
    n=$("$PY" -c 'import csv,sys; print(sum(1 for _ in csv.reader(open(sys.argv[1], newline=""))))' "$base")
    [ "$n" = $(($3 + 1)) ] || { echo "$n output records, expected $(($3 + 1))"; rm -f "$base"; return 1; }
}

det_same() { # det_same MODE SIZE OPTIONS...
    local mode=$1 size=$2
    shift 2
    local base="$SHARED/base_${mode}_$size"
    [ -s "$base" ] || { echo "no reference output (see the base test)"; return 1; }
    # shellcheck disable=SC2046
    r mr $(det_args "$mode") "$@" -m "$DET_MODEL" "$SHARED/det_$size.csv"
    want_rc 0 && want_same "$W/out" "$base"
}

det_same_pipe() { # det_same_pipe MODE SIZE OPTIONS...: the input through a pipe
    local mode=$1 size=$2
    shift 2
    local base="$SHARED/base_${mode}_$size"
    [ -s "$base" ] || { echo "no reference output (see the base test)"; return 1; }
    # shellcheck disable=SC2046
    cat "$SHARED/det_$size.csv" | mr $(det_args "$mode") "$@" -m "$DET_MODEL" - >"$W/out" 2>"$W/err"
    RC=$?
    want_rc 0 && want_same "$W/out" "$base"
}

det_same_o() { # det_same_o MODE SIZE OPTIONS...: -o FILE instead of stdout
    local mode=$1 size=$2
    shift 2
    local base="$SHARED/base_${mode}_$size"
    [ -s "$base" ] || { echo "no reference output (see the base test)"; return 1; }
    # shellcheck disable=SC2046
    r mr $(det_args "$mode") "$@" -m "$DET_MODEL" -o out.csv "$SHARED/det_$size.csv"
    want_rc 0 && want_same out.csv "$base"
}

for mode in predict design keep; do
    # `t` runs tests in a subshell: make the references here
    W="$TMP/det_base_$mode"; mkdir -p "$W"
    why=$(det_base "$mode" big 200000); rc=$?
    [ $rc -eq 0 ] && pass "determinism/$mode/reference-200000-rows" || fail "determinism/$mode/reference-200000-rows" "$why"
    why=$(det_base "$mode" small 20000); rc=$?
    [ $rc -eq 0 ] && pass "determinism/$mode/reference-20000-rows" || fail "determinism/$mode/reference-20000-rows" "$why"
    for n in 2 3 8; do
        t "determinism/$mode/threads-$n" det_same "$mode" big --threads "$n"
    done
    for c in 7 128 100000; do
        t "determinism/$mode/chunk-rows-$c" det_same "$mode" big --threads 3 --chunk-rows "$c"
    done
    t "determinism/$mode/chunk-rows-1-threads-1" det_same "$mode" small --threads 1 --chunk-rows 1
    t "determinism/$mode/chunk-rows-1-threads-3" det_same "$mode" small --threads 3 --chunk-rows 1
    # a file: the workers cut it at record ends found from the quote parity
    t "determinism/$mode/chunk-bytes-4096-threads-3" det_same "$mode" big --threads 3 --chunk-bytes 4096
    t "determinism/$mode/chunk-bytes-61-threads-3" det_same "$mode" small --threads 3 --chunk-bytes 61
    t "determinism/$mode/chunk-bytes-61-threads-1" det_same "$mode" small --threads 1 --chunk-bytes 61
    # a pipe: the calling thread cuts by bytes at the last record end
    t "determinism/$mode/pipe-chunk-bytes-61-threads-3" det_same_pipe "$mode" small --threads 3 --chunk-bytes 61
    t "determinism/$mode/pipe-threads-2" det_same_pipe "$mode" big --threads 2
    # -o FILE: the workers write their own chunks once their offsets are known
    t "determinism/$mode/o-file-chunk-bytes-61-threads-3" det_same_o "$mode" small --threads 3 --chunk-bytes 61
    t "determinism/$mode/o-file-threads-2" det_same_o "$mode" big --threads 2
done

# --keep copies the fields exactly (re-quoted where needed) before the prediction
det_keep_content() {
    [ -s "$SHARED/base_keep_small" ] && [ -s "$SHARED/base_predict_small" ] || { echo "no reference outputs"; return 1; }
    numcmp keep "$SHARED/base_keep_small" "$DET_SMALL" "$SHARED/base_predict_small" id,note
}
t "determinism/keep/fields-copied-exactly" det_keep_content
