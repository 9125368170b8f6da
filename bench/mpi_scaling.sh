#!/usr/bin/env bash
# bench/mpi_scaling.sh — the cost of distributing one input over MPI ranks and
# job-array shards, against the single-process run (docs/distributed.md).
#
#   bench/mpi_scaling.sh [BUILD_DIR] [--rows N] [--ranks "1 2 4"] [--runs N]
#
# One input (bench_model.json's 10 features, CSV and .npy from gen_data.py,
# default 1e6 rows, cached in bench/build/data) is replayed with -@ 1 per
# process: serially, then under `mpirun -n K --oversubscribe` to a file and
# to stdout, then as K --shard processes run one after the other. Wall times
# are the median of --runs. For MPI, from --report's per-rank numbers (the
# slowest rank of one more run): `replay` (its mr_run), `partition` (cutting
# its part: the quote-parity pass, the MPI_Exscan, the boundary search) and
# `output` (the offsets and MPI_File_write_at_all of its spill, or the
# rank-ordered gathering to stdout); `launch` is `mpirun -n K true`, and
# `other` = wall - launch - replay - partition - output (MPI_Init/Finalize,
# model load, waiting for the slowest rank).
# For shards: the total and the slowest shard, whose CSV prefix scan
# (part K reads K/N of the data once more for the quote parity) shows in the
# last shard's time. With more ranks than cores (oversubscribed) the wall
# time cannot drop; the overhead column is the point.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build="$root/build"
rows=1000000
ranks="1 2 4"
runs=3
while [ $# -gt 0 ]; do
    case "$1" in
    --rows) rows=$2; shift 2 ;;
    --ranks) ranks=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "mpi_scaling.sh: unknown option $1" >&2; exit 2 ;;
    *) build=$1; shift ;;
    esac
done
bin="$build/cli/mars-replay"
[ -x "$bin" ] || { echo "mpi_scaling.sh: no $bin (meson setup $build && ninja -C $build)" >&2; exit 1; }
"$bin" --version | grep -q mpi || { echo "mpi_scaling.sh: $bin was built without MPI" >&2; exit 1; }
command -v mpirun >/dev/null || { echo "mpi_scaling.sh: mpirun not found" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1

model="$here/bench_model.json"
data="$here/build/data"
mkdir -p "$data"
csv="$data/mpi-$rows.csv"
npy="$data/mpi-$rows.npy"
[ -s "$csv" ] || python3 "$here/gen_data.py" --rows "$rows" --model "$model" --out "$csv"
[ -s "$npy" ] || python3 "$here/gen_data.py" --rows "$rows" --model "$model" --npy --out "$npy"
work=$(mktemp -d "${TMPDIR:-/tmp}/mr-mpi-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
# time_of CMD...: median wall seconds of --runs runs
time_of() {
    local i t0 t1
    for ((i = 0; i < runs; i++)); do
        t0=$(now)
        "$@" >/dev/null 2>"$work/err" || { echo "mpi_scaling.sh: failed: $* ($(head -c 300 "$work/err"))" >&2; exit 1; }
        t1=$(now)
        echo "$t1 - $t0" | bc -l
    done | median
}
# slowest KEY REPORT: the largest per-rank value (n = 1: no ranks, the run's seconds)
slowest() { python3 -c "import json,sys; j=json.load(open(sys.argv[2])); r=j.get('ranks'); print('%.6f' % (max(k[sys.argv[1]] for k in r) if r else (j['seconds'] if sys.argv[1] == 'seconds' else 0)))" "$1" "$2"; }

printf 'mars-replay %s, %s rows, %s runs each (median), -@ 1 per process, %s CPUs\n' \
    "$("$bin" --version | head -1 | cut -d' ' -f2)" "$rows" "$runs" "$(nproc)"
for input in "$csv" "$npy"; do
    kind=${input##*.}
    serial=$(time_of "$bin" predict -m "$model" -@ 1 -o "$work/serial.out" "$input")
    printf '\n%s input: serial %.3f s (%.0f rows/s)\n' "$kind" "$serial" "$(echo "$rows / $serial" | bc -l)"
    printf '%-6s %-7s %8s %8s %8s %9s %8s %8s %9s\n' ranks output wall launch replay partition output other vs-serial
    for n in $ranks; do
        launch=$(time_of mpirun -n "$n" --oversubscribe true)
        for out in file stdout; do
            if [ "$out" = file ]; then
                wall=$(time_of mpirun -n "$n" --oversubscribe "$bin" predict -m "$model" -@ 1 -o "$work/mpi.out" "$input")
                mpirun -n "$n" --oversubscribe "$bin" predict -m "$model" -@ 1 -o "$work/mpi.out" --report "$work/rep.json" "$input" >/dev/null
                cmp -s "$work/mpi.out" "$work/serial.out" || { echo "mpi_scaling.sh: $n ranks: output differs" >&2; exit 3; }
            else
                wall=$(time_of mpirun -n "$n" --oversubscribe "$bin" predict -m "$model" -@ 1 "$input")
                mpirun -n "$n" --oversubscribe "$bin" predict -m "$model" -@ 1 --report "$work/rep.json" "$input" >/dev/null
            fi
            rep=$(slowest seconds "$work/rep.json")
            part=$(slowest partition_seconds "$work/rep.json")
            outs=$(slowest output_seconds "$work/rep.json")
            printf '%-6s %-7s %8.3f %8.3f %8.3f %9.3f %8.3f %8.3f %8.2fx\n' "$n" "$out" "$wall" "$launch" "$rep" \
                "$part" "$outs" "$(echo "$wall - $launch - $rep - $part - $outs" | bc -l)" "$(echo "$wall / $serial" | bc -l)"
        done
    done
    printf '%-6s %9s %9s %9s\n' shards total slowest vs-serial
    for n in $ranks; do
        total=0 slow=0
        : >"$work/parts"
        for ((k = 0; k < n; k++)); do
            s=$(time_of "$bin" predict -m "$model" -@ 1 --shard "$k/$n" -o "$work/part" "$input")
            cat "$work/part" >>"$work/parts"
            total=$(echo "$total + $s" | bc -l)
            slow=$(echo "if ($s > $slow) $s else $slow" | bc -l)
        done
        cmp -s "$work/parts" "$work/serial.out" || { echo "mpi_scaling.sh: $n shards: output differs" >&2; exit 3; }
        printf '%-6s %9.3f %9.3f %8.2fx\n' "$n" "$total" "$slow" "$(echo "$total / $serial" | bc -l)"
    done
done
