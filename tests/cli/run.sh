#!/usr/bin/env bash
# End-to-end tests of the mars-replay command line.
#
#   tests/cli/run.sh BUILD_DIR [GROUP...]
#
# BUILD_DIR is the meson build directory (the binary is BUILD_DIR/cli/mars-replay).
# GROUPs are the t_*.sh files to run (e.g. `csv formats`; default: all).
# Prints `PASS name` or `FAIL name: why` per test and finally `N passed, M failed`;
# exits 0 when all pass, 1 otherwise. Needs bash, python3 and coreutils; uses only
# fixtures/ of this project (fixtures/conformance is a copy of the shared corpus).
set -u

if [ $# -lt 1 ]; then
    echo "usage: tests/cli/run.sh BUILD_DIR [GROUP...]" >&2
    exit 2
fi

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "$1" 2>/dev/null && pwd) || { echo "run.sh: no build directory: $1" >&2; exit 2; }
shift
BIN="$BUILD/cli/mars-replay"
if [ ! -x "$BIN" ]; then
    echo "run.sh: no executable $BIN (build first: ninja -C $1)" >&2
    exit 2
fi
cd "$ROOT" || exit 2

. "$HERE/lib.sh"

GROUPS_ALL=(conformance exit determinism stdin output formats csv categorical check_inspect report misc shard merge harden resume)
if [ $# -gt 0 ]; then
    GROUPS_RUN=("$@")
else
    GROUPS_RUN=("${GROUPS_ALL[@]}")
fi
for g in "${GROUPS_RUN[@]}"; do
    if [ ! -f "$HERE/t_$g.sh" ]; then
        echo "run.sh: no test group $g (tests/cli/t_$g.sh)" >&2
        exit 2
    fi
    . "$HERE/t_$g.sh"
done

echo "$NPASS passed, $NFAIL failed"
[ "$NFAIL" -eq 0 ]
