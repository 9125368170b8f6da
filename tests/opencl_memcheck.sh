#!/usr/bin/env bash
# opencl_memcheck.sh BUILD_DIR — the OpenCL path under valgrind memcheck: no
# definite leak and no memory error outside the loader's known false alarm
# (tests/valgrind-ld.supp). It stands in for LeakSanitizer, which cannot
# check this path: its exit-time thread stop crashes now and then with PoCL's
# threads alive (scripts/test.sh). Exits 77 (skip) without valgrind, OpenCL
# support in the build or an OpenCL device.
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin=$(cd "${1:?usage: tests/opencl_memcheck.sh BUILD_DIR}" && pwd)/cli/mars-replay
command -v valgrind >/dev/null || { echo "SKIP opencl memcheck: no valgrind"; exit 77; }
"$bin" --version | grep -q opencl || { echo "SKIP opencl memcheck: built without OpenCL"; exit 77; }
"$bin" probe --json 2>/dev/null | grep -q '"available": true' || { echo "SKIP opencl memcheck: no OpenCL device"; exit 77; }
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
export XDG_CACHE_HOME=$tmp/cache
pub=$here/../fixtures/conformance/public
python3 "$here/cli/gen.py" cat "$tmp/cat.csv" 9000 3 || exit 2
fail=0
run() { # NAME ARGS...: valgrind the binary; exit 9 = an error or a definite leak
    local name=$1
    shift
    # first run outside valgrind: builds the program cache, so memcheck does
    # not have to run LLVM (minutes under valgrind)
    "$bin" "$@" >/dev/null 2>&1
    if valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=9 \
        --suppressions="$here/valgrind-ld.supp" "$bin" "$@" >"$tmp/out" 2>"$tmp/err"; then
        echo "PASS opencl-memcheck/$name"
    else
        echo "FAIL opencl-memcheck/$name (exit $?): $(grep -v -e '^mars-replay: warning' -e 'hwloc' -e 'HWLOC' -e '^May be reenabled' "$tmp/err" | head -c 1500)"
        fail=1
    fi
}
run predict-cat predict -m "$pub/categorical_strings_missing/model.json" --device opencl -q "$tmp/cat.csv"
run design-deg3 design -m "$pub/deg3_chains/model.json" --device opencl "$pub/deg3_chains/input.csv"
run single-precision predict -m "$pub/deg2_5000_rows/model.json" --device opencl --precision single "$pub/deg2_5000_rows/input.csv"
exit $fail
