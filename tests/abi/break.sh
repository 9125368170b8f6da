#!/usr/bin/env bash
# tests/abi/break.sh COPY_DIR KIND — turn a copy of the source tree into one of the
# deliberately incompatible fixtures of tests/abi_gate.sh, which must refuse a library
# built from it:
#   struct   a member of the public struct mr_error widened (every later offset changes)
#   removed  mr_model_degree dropped from the exports
set -euo pipefail
d=$1 kind=$2
h=$d/src/include/marsreplay.h map=$d/src/libmarsreplay.map
case $kind in
  struct)
    grep -q '^    uint32_t column; ' "$h" || { echo "break.sh: mr_error.column not found: update the fixture" >&2; exit 1; }
    sed -i 's/^    uint32_t column; /    uint64_t column; /' "$h" ;;
  removed)
    grep -q '^    mr_model_degree;' "$map" || { echo "break.sh: mr_model_degree not in the map: update the fixture" >&2; exit 1; }
    sed -i '/^    mr_model_degree;/d' "$map" ;;
  *) echo "break.sh: unknown kind $kind" >&2; exit 2 ;;
esac
