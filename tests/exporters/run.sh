#!/usr/bin/env bash
# tests/exporters/run.sh MARS_REPLAY — the exporters' stage (exporters/, issue 13).
#
# Two legs, each: install what it needs, export models fitted by the source tool,
# replay them with MARS_REPLAY, compare with the tool's own predict bit for bit,
# then corrupt an export and check that mars-replay refuses it (exit 3, JSON path).
#   R leg:      Debian r-base-core, r-cran-earth, r-cran-jsonlite (apt-get);
#               exporters/R as an installed package and source()d;
#               exporters/R/tests/test_export_earth.R
#   Python leg: a venv over Debian's python3-numpy (reference BLAS) with the pins of
#               exporters/python/requirements.txt (mars-earth==1.0.4, from PyPI);
#               exporters/python/tests/test_from_pymars.py
# A leg is skipped, with the reason printed, only where its packages cannot be
# installed (no root or sudo, no network). Exit: 0 every leg that ran passed (at
# least one ran), 77 both skipped, 1 a failure. Work files: $EXPORTERS_WORK
# (default build-ci/exporters; the venv there is reused while the pins are the same).
set -u
if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: tests/exporters/run.sh MARS_REPLAY (the built binary)" >&2
    exit 2
fi
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=${EXPORTERS_WORK:-$root/build-ci/exporters}
mkdir -p "$work" || exit 1
work=$(cd "$work" && pwd)
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 # scipy's own OpenBLAS: no thread pool

failed=()
skipped=()
ran=0
t_stage=$(date +%s)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi

# apt_install PKG...: install the missing Debian packages; on failure print why
# and return 1.
apt_install() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if ! command -v apt-get >/dev/null; then
        echo "no apt-get to install ${missing[*]}"
        return 1
    fi
    if [ -n "$SUDO" ] && ! sudo -n true 2>/dev/null; then
        echo "${missing[*]} not installed, and neither root nor password-less sudo to install them"
        return 1
    fi
    echo "installing ${missing[*]} (apt-get)" >&2
    if [ ! -e "$work/.apt-updated" ]; then
        $SUDO apt-get update -qq >"$work/apt.log" 2>&1 || { echo "apt-get update failed: $(tail -n 1 "$work/apt.log")"; return 1; }
        touch "$work/.apt-updated"
    fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" \
        >"$work/apt.log" 2>&1 || { echo "apt-get install ${missing[*]} failed: $(tail -n 1 "$work/apt.log")"; return 1; }
}

leg_done() { # leg_done NAME RC START
    echo "exporters: $1 leg: $([ "$2" = 0 ] && echo passed || echo FAILED) in $(($(date +%s) - $3)) s"
    ran=$((ran + 1))
    [ "$2" = 0 ] || failed+=("$1")
}

# ---- R leg ---------------------------------------------------------------------
t0=$(date +%s)
echo "=== exporters: R earth ==="
if why=$(apt_install r-base-core r-cran-earth r-cran-jsonlite); then
    [ -n "$why" ] && echo "$why"
    rc=0
    Rscript -e 'cat("R", format(getRversion()), "earth", format(packageVersion("earth")), "jsonlite",
                    format(packageVersion("jsonlite")), "BLAS", extSoftVersion()[["BLAS"]], "\n")' || rc=1
    # the package: installs, and its export_earth() writes a model mars-replay loads
    rm -rf "$work/rlib" && mkdir -p "$work/rlib"
    if R CMD INSTALL --no-test-load -l "$work/rlib" "$root/exporters/R" >"$work/r-install.log" 2>&1 &&
        Rscript -e 'library(marsreplayexport, lib.loc = commandArgs(TRUE)[1]); suppressMessages(library(earth))
                    export_earth(earth(Volume ~ ., data = trees), commandArgs(TRUE)[2])' "$work/rlib" "$work/pkg.json" &&
        "$bin" inspect "$work/pkg.json" | grep -q '^exporter: *marsreplay-export-earth '; then
        echo "PASS R package marsreplayexport: installs, exports, mars-replay inspect names it"
    else
        echo "FAIL R package marsreplayexport (log: $work/r-install.log)"
        tail -n 5 "$work/r-install.log"
        rc=1
    fi
    Rscript "$root/exporters/R/tests/test_export_earth.R" "$bin" "$work/r" || rc=1
    python3 "$root/tests/exporters/corrupt.py" "$bin" "$work/r/etitanic-factors.json" \
        "$work/r/etitanic-factors.csv" "$work/r-corrupt" || rc=1
    leg_done R "$rc" "$t0"
else
    echo "SKIP R leg: $why"
    skipped+=("R: $why")
fi

# ---- Python leg ----------------------------------------------------------------
t0=$(date +%s)
echo "=== exporters: pymars 1.0.4 (PyPI) ==="
venv=$work/venv
req=$root/exporters/python/requirements.txt
if why=$(apt_install python3-venv python3-numpy); then
    [ -n "$why" ] && echo "$why"
    np=$(/usr/bin/python3 -c 'import numpy; print(numpy.__version__)')
    stamp="$(cat "$req") numpy==$np"
    pip_ok=1
    if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.pins" 2>/dev/null)" != "$stamp" ]; then
        rm -rf "$venv"
        echo "creating $venv (pip: $(grep -c '==' "$req") pins, numpy $np from Debian)"
        printf 'numpy==%s\n' "$np" >"$work/constraints.txt"
        if /usr/bin/python3 -m venv --system-site-packages "$venv" >"$work/pip.log" 2>&1 &&
            "$venv/bin/pip" install -q --disable-pip-version-check --only-binary=:all: \
                -c "$work/constraints.txt" -r "$req" >>"$work/pip.log" 2>&1; then
            printf '%s' "$stamp" >"$venv/.pins"
        else
            pip_ok=0
            why="pip could not install $req: $(grep -m1 -E 'ERROR|error' "$work/pip.log" || tail -n 1 "$work/pip.log")"
            rm -rf "$venv"
        fi
    fi
    if [ "$pip_ok" = 1 ]; then
        rc=0
        blas=$(readlink -f "$(/sbin/ldconfig -p 2>/dev/null | awk '/libblas\.so\.3 /{print $NF; exit}')" 2>/dev/null)
        "$venv/bin/python" -c 'import sys, numpy, sklearn, pymars; print("Python", sys.version.split()[0],
            "numpy", numpy.__version__, numpy.__file__, "scikit-learn", sklearn.__version__, "pymars", pymars.__version__)' || rc=1
        echo "libblas.so.3 -> ${blas:-?}"
        "$venv/bin/python" "$root/exporters/python/tests/blas_order.py" --expect-in-order || rc=1
        "$venv/bin/python" "$root/exporters/python/tests/test_from_pymars.py" "$bin" "$work/py" || rc=1
        python3 "$root/tests/exporters/corrupt.py" "$bin" "$work/py/diabetes-handmade-kinds.json" \
            "$work/py/diabetes-handmade-kinds.csv" "$work/py-corrupt" || rc=1
        leg_done Python "$rc" "$t0"
    else
        echo "SKIP Python leg: $why"
        skipped+=("Python: $why")
    fi
else
    echo "SKIP Python leg: $why"
    skipped+=("Python: $why")
fi

echo "exporters: stage took $(($(date +%s) - t_stage)) s"
for s in "${skipped[@]}"; do echo "exporters: skipped $s"; done
if [ ${#failed[@]} -gt 0 ]; then
    echo "exporters: FAILED: ${failed[*]}"
    exit 1
fi
[ "$ran" -gt 0 ] || exit 77
exit 0
