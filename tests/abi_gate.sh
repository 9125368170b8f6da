#!/usr/bin/env bash
# tests/abi_gate.sh — the ABI gate (docs/abi.md): the library built from this tree must be
# binary compatible with the committed baseline abi/libmarsreplay.so.MAJOR.abi:
#   abidiff --no-added-syms --headers-dir2 src/include BASELINE LIB   must exit 0.
# abidiff's exit status is a bit mask (1 error, 2 usage, 4 ABI change, 8 incompatible change),
# and it compares nothing, silently, when it finds no DWARF or the headers dir matches no
# header. So the gate also checks that both sides declare every exported function, and it
# proves that it can fail: copies of the tree broken by tests/abi/break.sh (a changed struct;
# a removed function) must be refused.
#   tests/abi_gate.sh [WORK_DIR]      (default build-abi; build trees are kept there)
# Exit: 0 pass, 1 fail, 77 skipped (abigail-tools not installed).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
. tests/abi/lib.sh
work=${1:-build-abi}
case $work in /*) ;; *) work=$root/$work ;; esac
if ! command -v abidiff >/dev/null || ! command -v abidw >/dev/null; then
  echo "abi_gate: SKIP: abidiff/abidw not found (apt-get install abigail-tools; scripts/setup.sh installs it)"
  exit 77
fi
maj=$(sh scripts/version.sh); maj=${maj%%.*}
base=$root/abi/libmarsreplay.so.$maj.abi
[ -f "$base" ] || { echo "abi_gate: FAIL: no baseline $base (scripts/abi_baseline.sh writes it)"; exit 1; }
mkdir -p "$work"
fail=0
bad() { echo "abi_gate: FAIL: $*"; fail=1; }

n=$(abi_check_decls "$base") ||
  bad "the baseline $(basename "$base"): $n: made without DWARF or without the public headers?"

check() { # check NAME LIB HEADERS_DIR -> abidiff's status; its report in $work/NAME.abidiff
  local name=$1 lib=$2 hdrs=$3 rc=0 d
  abidw "${ABIDW_OPTS[@]}" --headers-dir "$hdrs" --out-file "$work/$name.abi" "$lib" ||
    { bad "abidw $lib failed"; return 1; }
  d=$(abi_check_decls "$work/$name.abi") ||
    bad "$name: abidw of $lib: $d: no DWARF, or the headers dir matched nothing"
  abidiff --no-added-syms --headers-dir2 "$hdrs" "$base" "$lib" >"$work/$name.abidiff" 2>&1 || rc=$?
  return $rc
}

# 1. this tree
lib=$(abi_build_lib "$root" "$work/tree") || exit 1
rc=0; check tree "$lib" "$root/src/include" || rc=$?
if [ "$rc" != 0 ]; then
  bad "abidiff exit $rc (bits: 1 error, 2 usage, 4 ABI change, 8 incompatible change) against $(basename "$base"):"
  cat "$work/tree.abidiff"
else
  echo "abi_gate: this tree's library is compatible with $(basename "$base")" \
    "($n functions in the baseline, $(abi_check_decls "$work/tree.abi") now)"
fi

# 2. the broken fixtures must be refused: abidiff's bit 4 (ABI change) for a changed struct,
#    bit 8 (incompatible) for a removed function, each with the culprit named
broken() { # broken KIND BIT NAME
  local kind=$1 bit=$2 what=$3 copy=$work/$1-src rc=0 blib
  rm -rf "$copy" && mkdir -p "$copy"
  git ls-files -z --cached --others --exclude-standard | tar -c --null -T - -f - | tar -x -C "$copy"
  bash tests/abi/break.sh "$copy" "$kind" && blib=$(abi_build_lib "$copy" "$work/$kind") ||
    { bad "could not build the $kind fixture"; return; }
  check "$kind" "$blib" "$copy/src/include" || rc=$?
  if (( rc & bit )) && grep -q "$what" "$work/$kind.abidiff"; then
    echo "abi_gate: the $kind fixture is refused (abidiff exit $rc, names $what)"
  else
    bad "the $kind fixture was not refused as it should be (abidiff exit $rc, expected bit $bit and $what named):"
    cat "$work/$kind.abidiff"
  fi
}
broken struct 4 "struct mr_error"
broken removed 8 "mr_model_degree"

[ "$fail" = 0 ] || exit 1
echo "abi_gate: pass"
