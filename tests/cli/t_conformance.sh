# t_conformance.sh — the shared corpus: predictions (check.py) and design matrices.

conf_check_py() {
    local n_cases
    n_cases=$(($(find "$PUB" -mindepth 1 -maxdepth 1 -type d | wc -l) + $(find "$INV" -mindepth 1 -maxdepth 1 -type d | wc -l)))
    "$PY" "$FIX/check.py" --timeout 60 --cmd "timeout -k 5 60 $(printf '%q' "$BIN") predict --model {model} {input}" \
        --corpus "$PUB" --invalid "$INV" >"$W/log" 2>&1
    local rc=$? last
    last=$(tail -n 1 "$W/log")
    if [ $rc -ne 0 ] || [ "$last" != "$n_cases passed, 0 failed" ]; then
        echo "check.py exit $rc, '$last' (expected '$n_cases passed, 0 failed'); $(grep '^FAIL' "$W/log" | head -5 | tr '\n' ';')"
        return 1
    fi
}
t "conformance/check.py" conf_check_py

# design: our header has term names, the corpus's t0..tN; values must be bitwise equal.
conf_design() {
    local d="$PUB/$1"
    r mr design -m "$d/model.json" "$d/input.csv"
    want_rc 0 && numcmp csv "$W/out" "$d/design.csv"
}
for d in "$PUB"/*/; do
    c=$(basename "$d")
    t "conformance/design/$c" conf_design "$c"
done
