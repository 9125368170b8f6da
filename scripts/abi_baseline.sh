#!/usr/bin/env bash
# scripts/abi_baseline.sh — write the ABI baseline abi/libmarsreplay.so.MAJOR.abi (abidw, public
# types only: --headers-dir src/include) from the working tree. Run it when a release adds to
# the ABI (a new minor), never to make tests/abi_gate.sh pass after a change that broke it.
# Needs abigail-tools (scripts/setup.sh). Build directory: build-abi/baseline.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
. tests/abi/lib.sh
command -v abidw >/dev/null || { echo "abi_baseline: abidw not found (apt-get install abigail-tools)" >&2; exit 1; }
mkdir -p build-abi abi
lib=$(abi_build_lib "$root" build-abi/baseline)
maj=$(sh scripts/version.sh); maj=${maj%%.*}
out=abi/libmarsreplay.so.$maj.abi
abidw "${ABIDW_OPTS[@]}" --headers-dir "$root/src/include" --out-file "$out" "$lib"
if ! decls=$(abi_check_decls "$out"); then
  echo "abi_baseline: $out: $decls: built without DWARF, or the headers dir matched nothing" >&2
  exit 1
fi
echo "abi_baseline: $out: $decls functions (abidw $(abidw --version | cut -d' ' -f2))"
