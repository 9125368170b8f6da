#!/usr/bin/env bash
# bench/setup.sh — opt-in: install the benchmark's optional peers from Debian packages.
#   R + earth + data.table  (the R legs of bench/run)
# Not called by bench/run nor by CI. Needs root (or sudo). Everything else the
# benchmark needs (meson, ninja, gcc, jansson, libcsv, python3-venv) is what
# scripts/setup.sh installs for the project itself.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
want=()
for p in r-base-core r-cran-earth r-cran-data.table python3-venv; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || want+=("$p")
done
if [ ${#want[@]} -eq 0 ]; then
    echo "bench/setup.sh: nothing to install"
    exit 0
fi
echo "bench/setup.sh: installing ${want[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${want[@]}"
Rscript -e 'library(earth); library(data.table); cat("R peers ready\n")'
