#!/usr/bin/env bash
# The shared library exports exactly the functions the public header declares.
#   tests/check_exports.sh LIBMARSREPLAY.so HEADER
set -euo pipefail
lib=$1 hdr=$2
exported=$(nm -D --defined-only "$lib" | awk '$2 == "T" {print $3}' | sed 's/@.*//' | sort -u)
declared=$(grep -E '^MR_API ' "$hdr" | grep -oE '^MR_API [^(]*\(' | sed -E 's/\($//; s/.*[ *]//' | sort -u)
if [ "$exported" != "$declared" ]; then
  echo "exported vs declared differ:"
  diff <(echo "$declared") <(echo "$exported") || true
  echo "0 passed, 1 failed"
  exit 1
fi
echo "$(echo "$exported" | wc -l) exported symbols match the header"
echo "1 passed, 0 failed"
