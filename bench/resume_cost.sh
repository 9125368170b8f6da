#!/usr/bin/env bash
# bench/resume_cost.sh — what --resume's journal costs on CSV→CSV, against
# the same run without it (docs/performance.md, "--resume").
#
#   bench/resume_cost.sh [BUILD_DIR] [--rows N] [--runs N] [--out FILE.md]
#
# One input (bench_model.json's 10 features, gen_data.py --seed 12345,
# default 1e6 rows, cached in bench/build/data) is replayed to -o FILE with
# -@ 1 and -@ $(nproc), three ways, interleaved run by run so that a load
# change hits all of them alike: plain; --resume at the defaults (a commit
# every 64 MiB of output or 30 s: fdatasync of the output, the journal
# written, fdatasync'ed, renamed, the directory fsync'ed); and --resume
# --resume-every 1M (many commits: the cost per commit shows). Wall times
# are medians of --runs (default 9). The output goes to the directory of
# the cached data (a real file system, not tmpfs, unless that is one).
# RESUME_BENCH_THREADS="2" measures only those thread counts.
#
# Under MPI (when mpirun is there and the binary has MPI; RESUME_BENCH_RANKS,
# default 2, 0 skips it): mpirun -n RANKS, one thread a rank, plain and
# --resume at the defaults. --resume under MPI costs more than the journal:
# each rank writes its part to a file of its own beside the output, and the
# parts are copied after rank 0's at the end (docs/distributed.md), where a
# plain run writes each rank's rows once.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build="$root/build"
rows=1000000
runs=9
out=""
while [ $# -gt 0 ]; do
    case "$1" in
    --rows) rows=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "resume_cost.sh: unknown option $1" >&2; exit 2 ;;
    *) build=$1; shift ;;
    esac
done
bin="$build/cli/mars-replay"
[ -x "$bin" ] || { echo "resume_cost.sh: no $bin (meson setup $build && ninja -C $build)" >&2; exit 1; }
model="$here/bench_model.json"
data="$here/build/data"
mkdir -p "$data"
csv="$data/resume-$rows.csv"
[ -s "$csv" ] || python3 "$here/gen_data.py" --rows "$rows" --model "$model" --seed 12345 --out "$csv"
work=$(mktemp -d "$data/resume-work.XXXXXX")
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
one() { # FILE CMD...: append one run's wall seconds to FILE
    local f=$1 t0 t1
    shift
    t0=$(now)
    "$@" >/dev/null 2>"$work/err" || { echo "resume_cost.sh: failed: $* ($(head -c 300 "$work/err"))" >&2; exit 1; }
    t1=$(now)
    echo "$t1 - $t0" | bc -l >>"$f"
}

"$bin" predict -m "$model" -o "$work/want.csv" "$csv"
lines=()
lines+=("mars-replay $("$bin" --version | head -1 | cut -d' ' -f2), commit $(git -C "$root" rev-parse --short HEAD), $rows rows CSV→CSV, median of $runs interleaved runs, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)")
lines+=("output on: $(df -T "$work" | awk 'NR == 2 { print $2 }') ($(stat -c %s "$work/want.csv") bytes)")
lines+=("" "| threads | plain s | --resume s | cost | --resume-every 1M s | cost | commits (default, 1M) |" "|---|---|---|---|---|---|---|")
for t in ${RESUME_BENCH_THREADS:-1 $(nproc)}; do
    rm -f "$work"/t.*
    for ((i = 0; i < runs; i++)); do
        one "$work/t.plain" "$bin" predict -m "$model" -@ "$t" -o "$work/a.csv" "$csv"
        one "$work/t.resume" "$bin" predict -m "$model" -@ "$t" -o "$work/b.csv" --resume "$csv"
        one "$work/t.every" "$bin" predict -m "$model" -@ "$t" -o "$work/c.csv" --resume --resume-every 1M "$csv"
    done
    cmp -s "$work/b.csv" "$work/want.csv" && cmp -s "$work/c.csv" "$work/want.csv" ||
        { echo "resume_cost.sh: the --resume output differs" >&2; exit 3; }
    p=$(median <"$work/t.plain"); r=$(median <"$work/t.resume"); e=$(median <"$work/t.every")
    commits="$(( $(stat -c %s "$work/want.csv") / 67108864 )), $(( $(stat -c %s "$work/want.csv") / 1048576 ))"
    lines+=("$(printf '| %s | %.3f | %.3f | %+.1f %% | %.3f | %+.1f %% | %s |' "$t" "$p" "$r" \
        "$(echo "($r - $p) / $p * 100" | bc -l)" "$e" "$(echo "($e - $p) / $p * 100" | bc -l)" "$commits")")
done
ranks=${RESUME_BENCH_RANKS:-2}
if [ "$ranks" != 0 ] && command -v mpirun >/dev/null && "$bin" --version | grep -q mpi; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
    mpi=(mpirun --oversubscribe -n "$ranks")
    rm -f "$work"/t.*
    for ((i = 0; i < runs; i++)); do
        one "$work/t.mplain" "${mpi[@]}" "$bin" predict -m "$model" -@ 1 -o "$work/m.csv" "$csv"
        one "$work/t.mresume" "${mpi[@]}" "$bin" predict -m "$model" -@ 1 -o "$work/n.csv" --resume "$csv"
    done
    cmp -s "$work/m.csv" "$work/want.csv" && cmp -s "$work/n.csv" "$work/want.csv" ||
        { echo "resume_cost.sh: an MPI output differs" >&2; exit 3; }
    p=$(median <"$work/t.mplain"); r=$(median <"$work/t.mresume")
    lines+=("" "| MPI ranks (1 thread each) | plain s | --resume s | cost |" "|---|---|---|---|")
    lines+=("$(printf '| %s | %.3f | %.3f | %+.1f %% |' "$ranks" "$p" "$r" "$(echo "($r - $p) / $p * 100" | bc -l)")")
fi
lines+=("" "load after: $(cut -d' ' -f1-3 /proc/loadavg)")
printf '%s\n' "${lines[@]}"
[ -z "$out" ] || printf '%s\n' "# bench/resume_cost.sh, $(date -u +%Y-%m-%dT%H:%MZ)" "" "${lines[@]}" >"$out"
