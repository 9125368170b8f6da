#!/usr/bin/env bash
# bench/callgrind_gate.sh — CI regression gate on executed instructions (valgrind callgrind).
#
#   bench/callgrind_gate.sh [--update] [MARS_REPLAY_BINARY]
#
# Counts the instructions (callgrind Ir, whole process) of two fixed runs of
# bench/bench_model.json with --threads 1:
#   csv_csv_ir  1e5-row CSV -> CSV
#   npy_npy_ir  1e5-row npy -> npy
# on data from bench/gen_data.py --seed 12345 (generated once, cached in
# ${TMPDIR:-/tmp}/mars-replay-gate-<key>), and compares them with bench/baseline.json: a
# count more than 5% above its baseline fails the gate (exit 1). --update rewrites the
# baseline with the counts measured now. Instruction counts do not depend on machine load,
# unlike seconds; they do depend on the compiler, glibc and build options, so the baseline is
# for a meson release build (the default buildtype) with this machine kind's toolchain.
# Without a binary argument it builds one in bench/build (meson release), like bench/run.
# Prints "N passed, M failed". Needs valgrind and python3.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
update=0
bin=""
for a in "$@"; do
    case "$a" in
    --update) update=1 ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "callgrind_gate: unknown option: $a" >&2; exit 2 ;;
    *) bin=$a ;;
    esac
done
command -v valgrind >/dev/null || { echo "callgrind_gate: valgrind not found" >&2; exit 2; }

if [ -z "$bin" ]; then
    B="$here/build"
    if [ ! -f "$B/build.ninja" ]; then
        meson setup "$B" "$root" -Dbuildtype=release -Dtests=false >"$B.setup.log" 2>&1 || {
            cat "$B.setup.log" >&2
            exit 2
        }
    fi
    ninja -C "$B" cli/mars-replay >/dev/null
    bin="$B/cli/mars-replay"
fi
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
[ -x "$bin" ] || { echo "callgrind_gate: not an executable: $bin" >&2; exit 2; }

model="$here/bench_model.json"
rows=100000
key=$(cat "$here/gen_data.py" "$model" | sha256sum | cut -c1-12)
data="${TMPDIR:-/tmp}/mars-replay-gate-$key"
mkdir -p "$data"
if [ ! -s "$data/in.csv" ]; then
    python3 "$here/gen_data.py" --rows $rows --model "$model" --seed 12345 --out "$data/in.csv.tmp"
    mv "$data/in.csv.tmp" "$data/in.csv"
fi
if [ ! -s "$data/in.npy" ]; then
    python3 "$here/gen_data.py" --rows $rows --model "$model" --seed 12345 --npy --out "$data/in.npy.tmp"
    mv "$data/in.npy.tmp" "$data/in.npy"
fi

ir() { # ir NAME ARGS... : total Ir of one run of mars-replay under callgrind
    local name=$1
    shift
    local out="$data/$name.callgrind"
    rm -f "$out"
    # fixed cwd and relative paths: the counts do not depend on where the tree lives
    (cd "$data" && valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" "$@" >/dev/null 2>"$data/$name.log") || {
        echo "callgrind_gate: $name: mars-replay under valgrind failed:" >&2
        tail -5 "$data/$name.log" >&2
        return 1
    }
    awk '/^totals:/ {t = $2} /^summary:/ {s = $2} END {print (t != "" ? t : s)}' "$out"
}

cp "$model" "$data/model.json"
echo "callgrind_gate: $bin"
csv_ir=$(ir csv_csv predict -m model.json in.csv -o out.csv --threads 1 -q)
npy_ir=$(ir npy_npy predict -m model.json in.npy -O npy -o out.npy --threads 1 -q)

python3 - "$here/baseline.json" "$csv_ir" "$npy_ir" "$update" "$bin" <<'PY'
import datetime, json, os, subprocess, sys
path, csv_ir, npy_ir, update, binary = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1", sys.argv[5]
now = {"csv_csv_ir": csv_ir, "npy_npy_ir": npy_ir}
if update:
    root = os.path.dirname(os.path.dirname(os.path.abspath(path)))
    commit = subprocess.run(["git", "-C", root, "--no-optional-locks", "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    cc = subprocess.run(["cc", "--version"], capture_output=True, text=True).stdout.splitlines()[:1]
    vg = subprocess.run(["valgrind", "--version"], capture_output=True, text=True).stdout.strip()
    doc = dict(now)
    doc["why"] = ("Instructions executed (callgrind Ir, whole process) by mars-replay predict --threads 1 "
                  "on 1e5 rows of bench_model.json (gen_data.py --seed 12345), CSV->CSV and npy->npy, meson "
                  "release build. Measured at commit %s (%s, %s, %s); bench/callgrind_gate.sh fails when a "
                  "count rises more than 5%% above this. Rewrite with --update after an intended change."
                  % (commit or "?", datetime.date.today().isoformat(), cc[0] if cc else "cc ?", vg))
    with open(path + ".tmp", "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    os.rename(path + ".tmp", path)
    for k, v in now.items():
        print("baseline %s = %d" % (k, v))
    print("2 passed, 0 failed")
    sys.exit(0)
try:
    base = json.load(open(path))
except OSError:
    print("callgrind_gate: no %s (run with --update to create it)" % path)
    print("0 passed, 2 failed")
    sys.exit(1)
passed = failed = 0
for k, v in now.items():
    b = int(base[k])
    change = (v - b) / b
    if change > 0.05:
        verdict = "FAIL (more than +5%)"
        failed += 1
    else:
        verdict = "ok" + (" (improved: bench/callgrind_gate.sh --update records it)" if change < -0.05 else "")
        passed += 1
    print("%-11s %14d Ir, baseline %14d, %+6.2f%%  %s" % (k, v, b, 100 * change, verdict))
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
PY
