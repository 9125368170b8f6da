#!/usr/bin/env bash
# The ABI's symbol list (docs/abi.md):
#  - every dynamic symbol the shared library defines starts with mr_, is declared MR_API in
#    the public header, and carries a MARSREPLAY_<major>.<minor> version of this major;
#  - every function the header declares MR_API is exported;
#  - the version script names its exports one by one (no mr_* wildcard);
#  - the soname is libmarsreplay.so.<MR_VERSION_MAJOR>.
#   tests/check_exports.sh LIBMARSREPLAY.so HEADER MAP
set -euo pipefail
lib=$1 hdr=$2 map=$3
fail=0
bad() { echo "check_exports: $*"; fail=1; }

major=$(sed -n 's/^#define MR_VERSION_MAJOR \([0-9]*\).*/\1/p' "$hdr")
# every defined dynamic symbol, whatever its type (functions, data), but not the
# version-node definitions themselves (type A, e.g. MARSREPLAY_1.0)
all=$(nm -D --defined-only "$lib" | awk '$2 != "A" {print $3}' | sort -u)
[ -n "$all" ] || bad "nm found no exported symbol in $lib"
exported=$(sed 's/@.*//' <<<"$all" | sort -u)
declared=$(grep -E '^MR_API ' "$hdr" | grep -oE '^MR_API [^(]*\(' | sed -E 's/\($//; s/.*[ *]//' | sort -u)

while read -r s; do
  [ -n "$s" ] || continue
  case $s in mr_*) ;; *) bad "exported symbol $s does not start with mr_" ;; esac
  grep -qxF "$s" <<<"$declared" || bad "exported symbol $s is not declared MR_API in $(basename "$hdr")"
done <<<"$exported"
while read -r s; do
  grep -qxF "$s" <<<"$exported" || bad "$s is declared MR_API in $(basename "$hdr") but not exported"
done <<<"$declared"
while read -r s; do
  [[ $s == *@MARSREPLAY_"$major".* ]] || bad "exported symbol $s is not in a MARSREPLAY_$major.x version node"
done <<<"$all"
if sed 's,/\*.*\*/,,' "$map" | grep -nE '^[[:space:]]*[^[:space:]]*\*[^[:space:]]*;' | grep -vE '^[0-9]+:[[:space:]]*\*;'; then
  bad "$(basename "$map") has a wildcard export: list the symbols one by one"
fi
so=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
[ "$so" = "libmarsreplay.so.$major" ] || bad "soname $so, expected libmarsreplay.so.$major"

if [ "$fail" != 0 ]; then
  echo "0 passed, 1 failed"
  exit 1
fi
echo "$(wc -l <<<"$exported") exported symbols match the header, all in MARSREPLAY_$major.x, soname $so"
echo "1 passed, 0 failed"
