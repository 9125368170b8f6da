#!/usr/bin/env bash
# Install what mars-replay needs to build and test on Debian 12.
# Idempotent: installs only missing packages. Run as root (or with sudo available).
#   scripts/setup.sh          build + test dependencies
#   scripts/setup.sh --min    only what is needed to build and run the CLI
set -euo pipefail

min=0
[ "${1:-}" = "--min" ] && min=1

pkgs=(build-essential meson ninja-build pkg-config libjansson-dev libcsv-dev python3)
if [ "$min" = 0 ]; then
  pkgs+=(libcmocka-dev clang libclang-rt-14-dev llvm valgrind
         pocl-opencl-icd ocl-icd-libopencl1 ocl-icd-opencl-dev opencl-headers clinfo
         libopenmpi-dev openmpi-bin
         slurmctld slurmd slurm-client iproute2
         gdb                          # tests/cluster: reads the core of a rank that crashed
         python3-venv python3-numpy   # exporters' Python leg (its R packages: tests/exporters/run.sh)
         abigail-tools)               # the ABI gate (tests/abi_gate.sh: abidw, abidiff)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: all packages present" >&2
fi
