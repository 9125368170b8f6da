#!/usr/bin/env bash
# Build and run the whole test suite: the README's test command and CI's.
#   scripts/test.sh            everything (release, ABI gate, ASan+UBSan, TSan, fuzzing, callgrind gate,
#                              a build without OpenCL and MPI, local Slurm, big stream,
#                              the Python package's two legs)
#   QUICK=1 scripts/test.sh    the release build's suites and the ABI gate only
# Build trees go to build-ci/<variant>; each variant is configured afresh when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=$(nproc 2>/dev/null || echo 2)
fuzz_seconds=${FUZZ_SECONDS:-15}
failed=()

say() { printf '\n=== %s ===\n' "$*"; }

setup() { # setup DIR [meson args...]
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" --werror "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
  fi
  ninja -C "$dir" -j "$jobs"
}

suite() { # suite NAME DIR [meson test args...]
  local name=$1 dir=$2; shift 2
  say "$name"
  if ! meson test -C "$dir" --num-processes "$jobs" --print-errorlogs "$@"; then
    failed+=("$name")
  fi
}

mkdir -p build-ci

say "release build (gcc, -Werror)"
setup build-ci/release -Dbuildtype=release
tests_listed=$(meson test -C build-ci/release --list 2>/dev/null || true)
if ! grep -q '^mars-replay:unit' <<<"$tests_listed"; then
  echo "test.sh: the unit tests were not built (cmocka missing?): run bash scripts/setup.sh" >&2
  exit 1
fi
suite "release: unit + cli + fuzz-regress" build-ci/release
say "ABI gate: abidiff against abi/libmarsreplay.so.1.abi, and its broken fixtures refused (tests/abi_gate.sh)"
bash tests/abi_gate.sh build-ci/abi || failed+=("abi gate (exit 77: abigail-tools missing, run bash scripts/setup.sh)")

if [ "${QUICK:-0}" != 1 ]; then
  say "ASan + UBSan build"
  setup build-ci/asan -Dbuildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false
  # LSan: the OpenCL driver stack (PoCL, LLVM) keeps memory until exit; only its
  # own frames are suppressed (tests/lsan-opencl.supp)
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    LSAN_OPTIONS=suppressions=$root/tests/lsan-opencl.supp:print_suppressions=0 \
    suite "asan+ubsan: unit + cli + mpi + fuzz-regress" build-ci/asan --no-suite opencl
  # The opencl suite without leak detection: LeakSanitizer's exit-time stop of
  # all threads crashes now and then ("Tracer caught signal 11") while PoCL's
  # worker threads are alive (in fresh-machine runs: the device unit test once,
  # two opencl CLI tests in a later run). ASan's and UBSan's error checks stay on.
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    suite "asan+ubsan: opencl (no leak check)" build-ci/asan --suite opencl
  # ... so the OpenCL path's leaks are checked by valgrind instead
  say "OpenCL path under valgrind memcheck (leaks and memory errors)"
  rc=0
  bash tests/opencl_memcheck.sh build-ci/release || rc=$?
  [ "$rc" = 0 ] || [ "$rc" = 77 ] || failed+=("opencl memcheck")

  say "TSan build"
  setup build-ci/tsan -Dbuildtype=debugoptimized -Db_sanitize=thread -Db_lundef=false
  TSAN_OPTIONS=halt_on_error=1 suite "tsan: unit + cli + opencl" build-ci/tsan --suite unit --suite cli --suite opencl

  if command -v clang >/dev/null; then
    say "libFuzzer build (clang, ASan + UBSan), ${fuzz_seconds}s per target"
    CC=clang setup build-ci/fuzz -Dbuildtype=debugoptimized -Dfuzzing=true \
      -Db_sanitize=address,undefined -Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link
    if ! bash tests/fuzz/run-short.sh build-ci/fuzz "$fuzz_seconds"; then failed+=("fuzz"); fi
  fi

  say "instruction-count regression gate (callgrind, bench/baseline.json, +5% fails)"
  if ! bash bench/callgrind_gate.sh build-ci/release/cli/mars-replay; then
    failed+=("callgrind gate")
  fi

  say "build without OpenCL and MPI (-Dopencl=disabled -Dmpi=disabled): every other test still passes"
  setup build-ci/no-backends -Dbuildtype=release -Dopencl=disabled -Dmpi=disabled
  suite "no-backends: unit + cli + headers (mpi skips)" build-ci/no-backends --suite unit --suite cli \
    --suite headers --suite mpi

  say "Slurm: job array, srun --mpi=pmix, packaging/slurm scripts on a throwaway local cluster"
  slurm_rc=0
  timeout -k 10 600 bash tests/slurm/run.sh build-ci/release || slurm_rc=$?
  if [ "$slurm_rc" != 0 ] && [ "$slurm_rc" != 77 ]; then failed+=("slurm"); fi

  say "bounded memory on a large stream"
  if ! bash tests/big_stream.sh build-ci/release/cli/mars-replay "${BIG_STREAM_MB:-1024}"; then
    failed+=("big stream")
  fi
fi

if [ "${QUICK:-0}" != 1 ]; then
  say "3-node cluster in namespaces: srun -N 3, mpirun --hostfile, node loss (and the watchdog), full /tmp, --resume (tests/cluster)"
  cluster_rc=0
  timeout -k 10 600 bash tests/cluster/run.sh build-ci/release || cluster_rc=$?
  if [ "$cluster_rc" != 0 ] && [ "$cluster_rc" != 77 ]; then failed+=("cluster"); fi
fi

if [ "${QUICK:-0}" != 1 ]; then
  say "packaging (H0): claim gate, meson dist + sha256, install, Debian packages, clean chroot + bwrap, recipes"
  pkg_rc=0
  timeout -k 10 1200 bash tests/packaging/run.sh || pkg_rc=$?
  [ "$pkg_rc" = 0 ] || [ "$pkg_rc" = 77 ] || failed+=("packaging")
fi

if [ "${QUICK:-0}" != 1 ]; then
  say "exporters: R earth and pymars 1.0.4 models replayed bit for bit (tests/exporters/run.sh)"
  exporters_rc=0
  timeout -k 10 900 bash tests/exporters/run.sh build-ci/release/cli/mars-replay || exporters_rc=$?
  if [ "$exporters_rc" != 0 ] && [ "$exporters_rc" != 77 ]; then failed+=("exporters"); fi
fi

if [ "${QUICK:-0}" != 1 ]; then
  say "python: the marsreplay package, pyarrow current and 14.0.2 legs (tests/python/run.sh)"
  python_rc=0
  timeout -k 10 1200 bash tests/python/run.sh build-ci/release/cli/mars-replay || python_rc=$?
  if [ "$python_rc" != 0 ] && [ "$python_rc" != 77 ]; then failed+=("python"); fi
fi

say "summary"
if [ ${#failed[@]} -gt 0 ]; then
  printf 'FAILED: %s\n' "${failed[@]}"
  exit 1
fi
echo "all test stages passed"
