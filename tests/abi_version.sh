#!/usr/bin/env bash
# Version negotiation (docs/abi.md): a host compiled against 1.0 runs with a library of
# major 1 and minor >= 0, and refuses another major with a clear message, not a crash.
# The other versions are simulated by an LD_PRELOAD stub of mr_version (tests/shim/version_stub.c).
#   tests/abi_version.sh ABI_HOST VERSION_STUB.so
set -uo pipefail
host=$1 stub=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail=0 n=0
# ASan wants its runtime first in the preload list; the stub is not instrumented
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0

case_() { # case_ STUB_VERSION|real EXPECTED_EXIT
  local v=$1 want=$2 rc=0
  n=$((n + 1))
  if [ "$v" = real ]; then
    "$host" >"$out/o" 2>"$out/e" || rc=$?
  else
    LD_PRELOAD=$stub MR_STUB_VERSION=$v "$host" >"$out/o" 2>"$out/e" || rc=$?
    # the stub really answered (else this case proves nothing)
    grep -q "^library 0x$(printf '%06x' $((16#$v)))," "$out/o" ||
      { echo "FAIL $v: the stub was not used: $(cat "$out/o")"; fail=1; return; }
  fi
  if [ "$rc" != "$want" ]; then
    echo "FAIL $v: exit $rc, expected $want"; cat "$out/o" "$out/e"; fail=1; return
  fi
  if [ "$want" = 3 ] && ! grep -q "^abi_host: libmarsreplay .* cannot serve this program, built against 1\.0" "$out/e"; then
    echo "FAIL $v: no clear refusal on stderr:"; cat "$out/e"; fail=1; return
  fi
  echo "ok $v -> exit $rc $(head -c 200 "$out/e")"
}

case_ real 0
case_ 010000 0     # 1.0.0
case_ 010105 0     # 1.1.5: a newer minor serves a 1.0 program
case_ 01ff00 0
case_ 020000 3     # 2.0.0: another major
case_ 000100 3     # 0.1.0: the pre-1.0 library
case_ 000000 3

[ "$fail" = 0 ] || { echo "0 passed, 1 failed"; exit 1; }
echo "$n cases: 1 passed, 0 failed"
