#!/usr/bin/env bash
# tests/python/run.sh [MARS_REPLAY] — the Python package's stage (python/, issue 11).
#
# Two legs, each in a venv of its own under $PYTHON_WORK (default build-ci/python,
# reused while its requirements file is unchanged):
#   current:   python/requirements-test.txt
#   pyarrow14: python/requirements-test-pyarrow14.txt (pyarrow 14.0.2, the first
#              release with the Arrow PyCapsule protocol)
# In each: pip install ./python (meson-python builds the repository's library into
# the package), then tests/python/test_api.py and tests/python/conformance.py
# (every public conformance case from NumPy, pandas, pyarrow, polars and DuckDB,
# bit for bit; against MARS_REPLAY's output too when given; skipped, exit 77,
# without ../shared). Exit: 0 passed, 1 a failure, 77 no leg could be set up
# (no network for pip), with the reason printed.
set -u
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=${PYTHON_WORK:-$root/build-ci/python}
cli=${1:-}
[ -z "$cli" ] || cli=$(cd "$(dirname "$cli")" && pwd)/$(basename "$cli")
mkdir -p "$work" && work=$(cd "$work" && pwd) || exit 1
failed=() skipped=() ran=0

for leg in current pyarrow14; do
  req=$root/python/requirements-test.txt
  [ "$leg" = current ] || req=$root/python/requirements-test-$leg.txt
  venv=$work/venv-$leg
  stamp=$(sha256sum "$req" | cut -c1-16)
  echo "--- leg $leg ($(basename "$req"))"
  if [ "$(cat "$venv/.stamp" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "$venv"
    if ! python3 -m venv "$venv" >"$work/$leg.venv.log" 2>&1 ||
       ! "$venv/bin/pip" install -q -r "$req" >>"$work/$leg.venv.log" 2>&1; then
      echo "SKIP leg $leg: cannot set up its venv: $(tail -n 1 "$work/$leg.venv.log")"
      skipped+=("$leg")
      continue
    fi
    echo "$stamp" >"$venv/.stamp"
  fi
  # the venv's meson and ninja build the package (no build isolation: the pins hold)
  if ! PATH=$venv/bin:$PATH "$venv/bin/pip" install -q --no-build-isolation --force-reinstall \
       --no-deps "$root/python" >"$work/$leg.install.log" 2>&1; then
    echo "FAIL leg $leg: pip install ./python:"; tail -n 20 "$work/$leg.install.log"
    failed+=("$leg: install")
    continue
  fi
  rm -rf "$root"/python/.mesonpy-*
  ran=$((ran + 1))
  # marsreplay.h next to Arrow's own arrow/c/abi.h (pyarrow ships it), both orders, C and C++
  inc=$("$venv/bin/python" -c 'import pyarrow; print(pyarrow.get_include())')
  if [ -f "$inc/arrow/c/abi.h" ]; then
    for first in -DMR_ARROW_FIRST -UMR_ARROW_FIRST; do
      cc -std=c99 -pedantic -Wall -Werror -fsyntax-only -DMR_ARROW_REAL $first -I"$root/src/include" \
         -I"$inc" "$root/tests/header_arrow_test.c" || failed+=("$leg: header with arrow/c/abi.h (C $first)")
      c++ -Wall -Werror -fsyntax-only -DMR_ARROW_REAL $first -I"$root/src/include" -I"$inc" \
         "$root/tests/header_arrow_test.cpp" || failed+=("$leg: header with arrow/c/abi.h (C++ $first)")
    done
    echo "marsreplay.h and $inc/arrow/c/abi.h: compiled together"
  else
    echo "SKIP: no arrow/c/abi.h under $inc"
  fi
  # from outside the checkout, so that the installed package is the one imported
  (cd "$work" && "$venv/bin/python" "$root/tests/python/test_api.py") || failed+=("$leg: test_api")
  rc=0
  (cd "$work" && "$venv/bin/python" "$root/tests/python/conformance.py" ${cli:+--cli "$cli"}) || rc=$?
  [ "$rc" = 0 ] || [ "$rc" = 77 ] || failed+=("$leg: conformance")
done

if [ ${#failed[@]} -gt 0 ]; then
  printf 'FAILED: %s\n' "${failed[@]}"
  exit 1
fi
[ "$ran" -gt 0 ] || exit 77
echo "python: $ran leg(s) passed${skipped[*]:+, skipped: ${skipped[*]}}"
