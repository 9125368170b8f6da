#!/usr/bin/env bash
# A real, throwaway one-node Slurm (tests/slurm/slurm-local.sh): a job array
# with --shard auto, srun --mpi=pmix ranks, and the packaging/slurm batch
# scripts, each compared byte for byte with the serial run.
#
#   tests/slurm/run.sh BUILD_DIR
#
# Exits 77 with a reason when Slurm is not installed or we are not root
# (slurmd must be); scripts/test.sh runs it as its `slurm` stage.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../cli" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "${1:?usage: tests/slurm/run.sh BUILD_DIR}" && pwd) || exit 2
BIN="$BUILD/cli/mars-replay"
cd "$ROOT" || exit 2

for b in slurmctld slurmd sbatch srun sinfo; do
    command -v "$b" >/dev/null || { echo "SKIP slurm: $b not found (bash scripts/setup.sh installs slurmctld slurmd slurm-client)"; exit 77; }
done
[ "$(id -u)" = 0 ] || { echo "SKIP slurm: slurmd needs root"; exit 77; }

. "$HERE/lib.sh"
export TMPDIR="$TMP" # the jobs' spill files, and nothing left behind

# (not eval "$(...)" || ...: eval of an empty string succeeds, which hid a failed start)
START=$(SLURM_LOCAL_TIMEOUT=60 timeout -k 5 90 bash "$ROOT/tests/slurm/slurm-local.sh" start) || {
    echo "FAIL slurm/cluster-start: the local cluster did not start (its logs are above)"; rm -rf "$TMP"; exit 1; }
eval "$START"
trap 'bash "$ROOT/tests/slurm/slurm-local.sh" stop "$SLURM_LOCAL_DIR" >/dev/null 2>&1; rm -rf "$TMP"' EXIT

HAVE_MPI=0
"$BIN" --version | grep -q mpi && srun --mpi=list 2>&1 | grep -q pmix && HAVE_MPI=1

. "$ROOT/tests/slurm/data.sh" # CAT, NUM, NUM_NPY, their models and serial outputs

sb() { timeout -k 5 180 sbatch --wait --quiet "$@"; }

slurm_array() { # sbatch --array=0-3, each task --shard auto
    cat >job.sh <<JOB
#!/bin/bash
exec "$BIN" predict -m "$CAT_MODEL" -q --keep id --shard auto -o "$PWD/part-\$SLURM_ARRAY_TASK_ID.csv" "$CAT"
JOB
    r sb --array=0-3 --cpus-per-task=1 --output="$PWD/log-%a.txt" job.sh
    want_rc 0 || { echo "logs: $(cat log-*.txt | head -c 300)"; return 1; }
    cat part-0.csv part-1.csv part-2.csv part-3.csv >all.csv
    want_same all.csv "$SHARED/cat.want"
}

slurm_array_list() { # --array=1,5,9 is not a plain range: every task refuses
    cat >job.sh <<JOB
#!/bin/bash
exec "$BIN" predict -m "$CAT_MODEL" --shard auto -o "$PWD/part-\$SLURM_ARRAY_TASK_ID.csv" "$CAT"
JOB
    r sb --array=1,5,9 --cpus-per-task=1 --output="$PWD/log-%a.txt" job.sh
    [ "$RC" != 0 ] || { echo "sbatch --wait succeeded"; return 1; }
    local id
    for id in 1 5 9; do
        grep -q 'not a plain range' "log-$id.txt" || { echo "task $id: $(peek "log-$id.txt" 300)"; return 1; }
        want_absent "part-$id.csv" || return 1
    done
}

slurm_array_script() { # packaging/slurm/replay-array.sbatch over a stepped array, with an index
    "$BIN" index --every 64K -o "$PWD/num.idx" "$NUM" || { echo "index failed"; return 1; }
    r sb --array=10-16:2 --cpus-per-task=1 --output="$PWD/log-%a.txt" \
        --export=ALL,MARS_REPLAY="$BIN",MODEL="$NUM_MODEL",INPUT="$NUM",OUTDIR="$PWD/parts",INDEX="$PWD/num.idx" \
        "$ROOT/packaging/slurm/replay-array.sbatch"
    want_rc 0 || { echo "logs: $(cat log-*.txt | head -c 300)"; return 1; }
    r "$BIN" merge -o all.csv parts/part-*.report.json
    want_rc 0 || { echo "merge failed: $(peek "$W/err" 300)"; return 1; }
    want_same all.csv "$SHARED/num.want"
}

slurm_srun_pmix() { # srun --mpi=pmix -n 2: one output, byte-identical
    r timeout -k 5 120 srun --mpi=pmix -n 2 --overcommit "$BIN" predict -m "$CAT_MODEL" -q --keep id -o "$PWD/o.csv" "$CAT"
    want_rc 0 && want_same o.csv "$SHARED/cat.want" || return 1
    r timeout -k 5 120 srun --mpi=pmix -n 2 --overcommit "$BIN" predict -m "$NUM_MODEL" -O npy -o "$PWD/o.npy" "$NUM_NPY"
    want_rc 0 && want_same o.npy "$SHARED/num.want.npy" || return 1
    r timeout -k 5 120 srun --mpi=pmix -n 3 --overcommit "$BIN" predict -m "$CAT_MODEL" -q --keep id "$CAT"
    want_rc 0 && want_same "$W/out" "$SHARED/cat.want"
}

slurm_srun_no_pmi() { # srun without an MPI plugin: no MPI, and --shard still works per task
    r timeout -k 5 120 srun --mpi=none -n 2 --overcommit bash -c \
        "exec '$BIN' predict -m '$NUM_MODEL' --shard \$SLURM_PROCID/2 -o '$PWD/p'\$SLURM_PROCID.csv '$NUM'"
    want_rc 0 && cat p0.csv p1.csv >all.csv && want_same all.csv "$SHARED/num.want"
}

slurm_srun_rank_dies() { # task 1 killed mid-read: the step fails, no output, no temporary file
    printf 'old\n' >keep.csv
    LD_PRELOAD="$BUILD/tests/mr_fault_read.so" MR_TEST_READ_PATH=num.csv MR_TEST_KILL_RANK=1 MR_TEST_KILL_AT=3 \
        r timeout -k 5 120 srun --mpi=pmix --kill-on-bad-exit=1 -n 2 --overcommit "$BIN" predict -m "$NUM_MODEL" -o "$PWD/keep.csv" "$NUM"
    [ "$RC" != 0 ] || { echo "the step succeeded"; return 1; }
    grep -q 'task 1: Killed' "$W/err" || { echo "task 1 was not killed: $(peek "$W/err" 300)"; return 1; }
    want_text keep.csv $'old\n' && [ -z "$(find . -maxdepth 1 -name '.*.tmp.*')" ] || { echo "temporary file left"; return 1; }
}

slurm_mpi_script() { # packaging/slurm/replay-mpi.sbatch with 2 tasks
    r sb --nodes=1 --ntasks=2 --ntasks-per-node=2 --cpus-per-task=1 --overcommit --output="$PWD/log.txt" \
        --export=ALL,MARS_REPLAY="$BIN",MODEL="$NUM_MODEL",INPUT="$NUM_NPY",OUTPUT="$PWD/o.npy" \
        "$ROOT/packaging/slurm/replay-mpi.sbatch"
    want_rc 0 || { echo "log: $(peek log.txt 300)"; return 1; }
    want_same o.npy "$SHARED/num.want.npy" && jcheck o.npy.report.json "len(j['ranks']) == 2" "j['rows_out'] == 100000"
}

slurm_requeue_script() { # packaging/slurm/replay-requeue.sbatch: SIGTERM, requeue, resume
    command -v cc >/dev/null || { echo "no C compiler (cc) for the stall shim"; return 1; }
    cc -shared -fPIC -O2 -o stall.so "$ROOT/tests/cluster/stall_read.c" -ldl || return 1
    mkdir stall
    # the shim holds the 4th read of the input until stall/go exists:
    # SIGTERM then comes mid-run
    local id i
    id=$(sbatch --parsable --array=0 --cpus-per-task=2 --output="$PWD/log.txt" \
        --export=ALL,MARS_REPLAY="$BIN",MODEL="$NUM_MODEL",INPUT="$NUM",OUTDIR="$PWD/parts",RESUME_EVERY=1K,LD_PRELOAD="$PWD/stall.so",MR_TEST_STALL_PATH=num.csv,MR_TEST_STALL_DIR="$PWD/stall",MR_TEST_STALL_AT=4 \
        "$ROOT/packaging/slurm/replay-requeue.sbatch") || { echo "sbatch failed"; return 1; }
    for ((i = 0; i < 600; i++)); do [ -e stall/at.0 ] && break; sleep 0.1; done
    [ -e stall/at.0 ] || { echo "the task never read its input: $(peek log.txt 300)"; scancel "$id"; return 1; }
    scancel --batch --signal=TERM "${id%%;*}_0" || { echo "scancel failed"; scancel "$id"; return 1; }
    sleep 1
    touch stall/go
    for ((i = 0; i < 1800; i++)); do [ -e parts/part-000000.csv ] && break; sleep 0.1; done
    for ((i = 0; i < 100; i++)); do grep -q 'mars-replay-requeue: done' log.txt && break; sleep 0.1; done
    [ -e parts/part-000000.csv ] || { echo "no output after the requeue: $(peek log.txt 600)"; scancel "$id"; return 1; }
    grep -q 'stopped by signal 15 after' log.txt && grep -q 'requeueing task 0' log.txt &&
        grep -q 'resuming at row [1-9]' log.txt || { echo "log: $(peek log.txt 800)"; return 1; }
    want_same parts/part-000000.csv "$SHARED/num.want"
}

t "slurm/array-0-3-shard-auto" slurm_array
t "slurm/array-list-refused" slurm_array_list
t "slurm/packaging-array-script-stepped" slurm_array_script
t "slurm/srun-tasks-without-pmi-shard" slurm_srun_no_pmi
t "slurm/packaging-requeue-script" slurm_requeue_script
if [ "$HAVE_MPI" = 1 ]; then
    t "slurm/srun-mpi-pmix" slurm_srun_pmix
    t "slurm/packaging-mpi-script" slurm_mpi_script
    t "slurm/srun-rank-killed-leaves-no-output" slurm_srun_rank_dies
else
    echo "SKIP slurm/srun-mpi-pmix: no MPI in $BIN or no pmix plugin in srun"
fi

echo "$NPASS passed, $NFAIL failed"
[ "$NFAIL" -eq 0 ]
