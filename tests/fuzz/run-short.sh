#!/bin/sh
# run-short.sh BUILD_DIR SECONDS [TARGET...]
#
# Runs each libFuzzer binary BUILD_DIR/tests/fuzz/fuzz_<target> for SECONDS
# on a copy of its seed corpus fixtures/fuzz/<target> (in a temporary
# directory: the repository is not modified). Exits non-zero if any target
# crashes, leaks, times out or fails a check. Crash inputs are kept in
# $FUZZ_ARTIFACTS (default: a directory under the temporary one, printed).
# BUILD_DIR must be configured as tests/fuzz/README.md shows.
set -u

if [ $# -lt 2 ]; then
    echo "usage: $0 BUILD_DIR SECONDS [TARGET...]" >&2
    exit 2
fi
build=$1
secs=$2
shift 2
targets=${*:-model csv npy threads numparse arrow part}
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mr-fuzz.XXXXXX") || exit 2
art=${FUZZ_ARTIFACTS:-$tmp/artifacts}
mkdir -p "$art" || exit 2

# Stop at the first UBSan report too; keep leak checking on.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}"

status=0
for t in $targets; do
    bin=$build/tests/fuzz/fuzz_$t
    if [ ! -x "$bin" ]; then
        echo "run-short: $bin not built (configure with -Dfuzzing=true)" >&2
        status=1
        continue
    fi
    corpus=$tmp/corpus-$t
    mkdir -p "$corpus"
    cp "$root/fixtures/fuzz/$t/"* "$corpus/" 2>/dev/null
    rm -f "$corpus/README"* 
    echo "== fuzz_$t: $secs s on $(ls "$corpus" | wc -l) seeds"
    "$bin" -max_total_time="$secs" -timeout=30 -rss_limit_mb=2560 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$art/$t-" "$corpus" \
        >"$tmp/fuzz_$t.log" 2>&1
    rc=$?
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$tmp/fuzz_$t.log"
    if [ $rc -ne 0 ]; then
        echo "run-short: fuzz_$t failed (exit $rc); log: $tmp/fuzz_$t.log" >&2
        grep -E 'ERROR|SUMMARY|check failed|runtime error|Test unit written' "$tmp/fuzz_$t.log" | head -n 20 >&2
        status=1
    fi
done
if [ $status -ne 0 ]; then
    echo "run-short: crash inputs in $art (copy them to fixtures/fuzz/<target>/ as regression tests)" >&2
else
    rm -rf "$tmp"
fi
exit $status
