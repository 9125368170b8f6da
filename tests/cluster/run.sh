#!/usr/bin/env bash
# Distributed replay on a throwaway 3-node cluster on this machine (tests/cluster/cluster.sh):
# each node in its own network, UTS and mount namespaces (own address, hostname and /tmp), one
# slurmd per node and slurmctld on n1 (tests/slurm/slurm-local.sh), OpenMPI between the nodes
# over TCP, started by `srun --mpi=pmix -N 3` and by `mpirun --hostfile` with an nsenter-based
# launcher agent (tests/cluster/rsh-agent.sh) in place of ssh. Checks: outputs byte-identical
# to the serial run (CSV, npy, stdout), the report's per-rank hosts, a job array over the
# nodes, a node lost mid-job (and the rerun; the watchdog naming the lost rank and node), a node
# with a full /tmp, the packaging/slurm scripts on 3 nodes, --resume of an MPI job and of a job
# array.
#
#   tests/cluster/run.sh BUILD_DIR
#   MR_CLUSTER_ONLY=tmp-full tests/cluster/run.sh BUILD_DIR   # only the tests whose name has it
#
# Exits 77 with the reason when nothing can run here (not root, no namespaces, no Slurm and no
# MPI); a piece that cannot run (no Slurm, no MPI, no pmix plugin, no C compiler for the stall
# shim) is skipped with its reason and the rest runs. scripts/test.sh runs it as its `cluster`
# stage. Everything it starts is stopped on exit, also on failure or interruption.
set -u
CL=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HERE=$(cd "$CL/../cli" && pwd)
ROOT=$(cd "$CL/../.." && pwd)
BUILD=$(cd "${1:?usage: tests/cluster/run.sh BUILD_DIR}" && pwd) || exit 2
BIN="$BUILD/cli/mars-replay"
cd "$ROOT" || exit 2
T0=$(date +%s)

why=$(bash "$CL/cluster.sh" probe) || { echo "SKIP cluster: $why"; exit 77; }
case "$BUILD/" in /tmp/*)
    echo "SKIP cluster: the build directory $BUILD is under /tmp, which every node replaces by its own"
    exit 77 ;;
esac
HAVE_SLURM=1 HAVE_MPI=1 HAVE_PMIX=1 HAVE_CC=1
for b in slurmctld slurmd sbatch srun sinfo; do
    command -v "$b" >/dev/null || { HAVE_SLURM=0; NO_SLURM="$b not found (bash scripts/setup.sh installs slurmctld slurmd slurm-client)"; break; }
done
if ! command -v mpirun >/dev/null; then
    HAVE_MPI=0; NO_MPI="mpirun not found (bash scripts/setup.sh installs openmpi-bin)"
elif ! "$BIN" --version | grep -q mpi; then
    HAVE_MPI=0; NO_MPI="$BIN was built without MPI"
elif ldd "$BIN" | grep -q 'lib[at]san'; then
    HAVE_MPI=0; NO_MPI="a sanitizer build (run this stage on the release build)"
fi
[ "$HAVE_MPI" = 1 ] || { HAVE_PMIX=0; NO_PMIX=$NO_MPI; }
[ "$HAVE_SLURM" = 1 ] || { HAVE_PMIX=0; NO_PMIX=$NO_SLURM; }
command -v cc >/dev/null || { HAVE_CC=0; NO_CC="no C compiler (cc) for the stall shim"; }
if [ "$HAVE_SLURM" = 0 ] && [ "$HAVE_MPI" = 0 ]; then
    echo "SKIP cluster: neither Slurm ($NO_SLURM) nor MPI ($NO_MPI)"
    exit 77
fi

# the tests' files live in the build tree: every node sees it (the "shared file system");
# the jobs' TMPDIR is each node's own /tmp
TMPDIR=$BUILD . "$HERE/lib.sh"
C="$TMP/cluster"
SLURM_LOCAL_DIR=
cleanup() {
    if [ "$NFAIL" != 0 ] && [ -n "$SLURM_LOCAL_DIR" ]; then # for the diagnosis: Slurm's errors
        for f in "$SLURM_LOCAL_DIR"/log/*.log; do
            echo "--- errors in $(basename "$f"):"
            grep -iE 'error|fatal' "$f" | tail -n 8
        done
    fi
    [ -n "$SLURM_LOCAL_DIR" ] && bash "$ROOT/tests/slurm/slurm-local.sh" stop "$SLURM_LOCAL_DIR" >/dev/null 2>&1
    bash "$CL/cluster.sh" stop "$C" || echo "FAIL cluster/teardown: processes were left (see above)"
    rm -rf "$TMP"
}
trap cleanup EXIT
mkdir -p "$C"
export MR_CLUSTER_DIR="$C"
if ! MR_CLUSTER_TMP_SIZE=64m bash "$CL/cluster.sh" start "$C" 3 $$; then
    echo "FAIL cluster/start: the nodes did not come up"
    exit 1
fi
on() { "$CL/on.sh" n1 "$@"; } # n1 is also the login node: srun, sbatch, mpirun run there
onto() { "$CL/on.sh" "$@"; }   # onto NODE CMD...
export TMPDIR=/tmp
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
ADDRS="n1=10.250.0.11 n2=10.250.0.12 n3=10.250.0.13"

if [ "$HAVE_SLURM" = 1 ]; then
    # SlurmdTimeout=10: a lost node is noticed (and its job failed) in seconds, not 5 minutes;
    # the spool directories are node-local (/dev/shm is each node's own), as on real nodes
    START=$(SLURM_LOCAL_NODES=$ADDRS SLURM_LOCAL_EXEC="$CL/on.sh" SLURM_LOCAL_BASE=$C SLURM_LOCAL_CPUS=2 \
        SLURM_LOCAL_SPOOL=/dev/shm/slurmd \
        SLURM_LOCAL_EXTRA=SlurmdTimeout=10 SLURM_LOCAL_TIMEOUT=60 timeout -k 5 90 bash "$ROOT/tests/slurm/slurm-local.sh" start) || {
        echo "FAIL cluster/slurm-start: Slurm did not start on the 3 nodes (its logs are above)"; exit 1; }
    eval "$START"
    on srun --mpi=list 2>&1 | grep -q pmix || { HAVE_PMIX=0; NO_PMIX="srun has no pmix plugin (slurm-wlm-basic-plugins)"; }
fi

. "$ROOT/tests/slurm/data.sh" # CAT, NUM, NUM_NPY, their models and serial outputs
printf 'n1 slots=2\nn2 slots=2\nn3 slots=2\n' >"$SHARED/hostfile"
SIX_HOSTS="['n1', 'n1', 'n2', 'n2', 'n3', 'n3']"

# A known crash of the MPI runtime, not of mars-replay (docs/distributed.md, "What was
# tested"): OpenMPI 4.1.4 (Debian 12) now and then loses a rank inside MPI_Init here. Its
# TCP transport hands a PML match fragment (header type 0x41) to a handler that is not
# registered yet, a call through NULL ("Failing at address: (nil)"). Seen twice in about
# 10 runs of this suite (one core taken), each in a job started soon after n3's slurmd was
# killed and restarted. A job that fails with a segfault is run once more only when every rank's core
# (core dumps on, in the test's directory, read by gdb) shows MPI_Init under it. Anything
# else fails the test, as does a second crash. Each retry is printed.
ulimit -c unlimited 2>/dev/null || true
rank_crash_in_mpi_init() {
    grep -qE 'Segmentation fault|signal 11' "$W/err" || return 1
    command -v gdb >/dev/null || { echo "    | a rank crashed: no gdb to read its core (bash scripts/setup.sh installs it)"; return 1; }
    local c n=0 all=1
    for c in core core.[0-9]*; do
        [ -f "$c" ] || continue
        n=$((n + 1))
        gdb -q -batch -ex bt "$BIN" "$c" 2>/dev/null | grep -q 'PMPI_Init' || { all=0; echo "    | core $c: $(gdb -q -batch -ex bt "$BIN" "$c" 2>/dev/null | grep '^#' | head -4 | tr '\n' ' ')"; }
    done
    rm -f core core.[0-9]*
    [ "$n" -gt 0 ] || echo "    | a rank crashed, but left no core in $PWD (core_pattern: $(cat /proc/sys/kernel/core_pattern))"
    [ "$n" -gt 0 ] && [ "$all" = 1 ]
}
# rj CMD...: r for an MPI job, run once more after that runtime crash
rj() {
    r "$@"
    if [ "$RC" != 0 ] && rank_crash_in_mpi_init; then
        echo "    | RETRY: a rank crashed inside OpenMPI's MPI_Init (the runtime crash above; the backtrace is in its core): the job runs once more"
        r "$@"
    fi
}

# tc NAME FUNC...: t, for the tests whose name contains $MR_CLUSTER_ONLY (default: all)
tc() { case $1 in *"${MR_CLUSTER_ONLY:-}"*) t "$@" ;; esac; }

no_tmp_left() {
    local left
    left=$(find . -maxdepth 1 -name '.*.tmp.*' | head -3)
    [ -z "$left" ] || { echo "temporary files left: $left"; return 1; }
}
# bytes that entered the bridge from n2 and n3 (their veth ends, seen from the switch)
bridge_bytes() {
    local sw
    sw=$(cat "$C/nodes/switch.pid")
    nsenter -t "$sw" -n ip -j -s link show | "$PY" -c \
        'import json, sys; print(sum(l["stats64"]["rx"]["bytes"] for l in json.load(sys.stdin) if l["ifname"] in ("p2", "p3")))'
}

# ---- the nodes themselves ----
cluster_nodes() { # own hostname, address, /tmp; no route out; nothing added to this machine
    local k got
    for k in 1 2 3; do
        got=$(onto "n$k" sh -c 'hostname; ip -o -4 addr show eth0 | awk "{print \$4}"; ip route | grep -c default; echo x >/tmp/mine; ls /tmp')
        [ "$got" = "$(printf 'n%s\n10.250.0.%s/24\n0\nmine' "$k" $((10 + k)))" ] || { echo "n$k: $(echo "$got" | tr '\n' ' ')"; return 1; }
    done
    [ ! -e /tmp/mine ] || { echo "a node's /tmp is this machine's"; return 1; }
    onto n3 getent hosts n1 | grep -q '^10.250.0.11 ' || { echo "n3 cannot resolve n1"; return 1; }
    ! ip -o addr | grep -q '10\.250\.0\.' || { echo "the cluster's subnet appears on this machine: $(ip -o addr | grep 10.250)"; return 1; }
    onto n2 bash -c 'exec 3<>/dev/tcp/10.250.0.13/1' 2>&1 | grep -q refused || { echo "n2 does not reach n3"; return 1; }
}
tc "cluster/nodes-namespaces" cluster_nodes

# ---- Slurm ----
slurm_srun_hosts() { # srun -N 3 -n 6: two tasks on each node
    r on timeout -k 5 60 srun -N 3 -n 6 hostname
    want_rc 0 || return 1
    [ "$(sort "$W/out" | tr '\n' ' ')" = "n1 n1 n2 n2 n3 n3 " ] || { echo "hosts: $(peek "$W/out")"; return 1; }
}

# same_srun OUTMODE WANT ARGS...: srun --mpi=pmix -N 3 -n 6, file (-o) or stdout
same_srun() {
    local mode=$1 want=$2
    shift 2
    if [ "$mode" = file ]; then
        rj on timeout -k 5 120 srun --mpi=pmix -N 3 -n 6 "$BIN" "$@" -o "$PWD/got" --report "$PWD/rep.json"
        want_rc 0 && no_tmp_left && want_same got "$want" || return 1
        jcheck rep.json "[k['host'] for k in j['ranks']] == $SIX_HOSTS" "j['exit_code'] == 0"
    else
        local b0
        b0=$(bridge_bytes)
        rj on timeout -k 5 120 srun --mpi=pmix -N 3 -n 6 "$BIN" "$@"
        want_rc 0 && want_same "$W/out" "$want" || return 1
        # the ranks of n2 and n3 send their rows to rank 0 (n1) through the bridge
        local moved=$(($(bridge_bytes) - b0)) size
        size=$(wc -c <"$want")
        [ "$moved" -gt $((size / 2)) ] || { echo "only $moved bytes crossed the bridge from n2 and n3 for $size bytes of output"; return 1; }
    fi
}

slurm_array() { # an array of 6 one-CPU tasks spreads over the 3 nodes; the parts concatenate
    cat >job.sh <<JOB
#!/bin/bash
hostname >"$PWD/host-\$SLURM_ARRAY_TASK_ID"
exec "$BIN" predict -m "$CAT_MODEL" -q --keep id --shard auto -o "$PWD/part-\$SLURM_ARRAY_TASK_ID.csv" "$CAT"
JOB
    r on timeout -k 5 180 sbatch --wait --quiet --array=0-5 --cpus-per-task=1 --output="$PWD/log-%a.txt" job.sh
    want_rc 0 || { echo "logs: $(cat log-*.txt | head -c 300)"; return 1; }
    [ "$(sort -u host-* | tr '\n' ' ')" = "n1 n2 n3 " ] || { echo "tasks ran on: $(sort host-* | tr '\n' ' ')"; return 1; }
    cat part-0.csv part-1.csv part-2.csv part-3.csv part-4.csv part-5.csv >all.csv
    want_same all.csv "$SHARED/cat.want"
}

slurm_array_script() { # packaging/slurm/replay-array.sbatch, unchanged, over the 3 nodes
    r on timeout -k 5 180 sbatch --wait --quiet --array=0-5 --cpus-per-task=1 --output="$PWD/log-%a.txt" \
        --export=ALL,MARS_REPLAY="$BIN",MODEL="$NUM_MODEL",INPUT="$NUM",OUTDIR="$PWD/parts" \
        "$ROOT/packaging/slurm/replay-array.sbatch"
    want_rc 0 || { echo "logs: $(cat log-*.txt | head -c 300)"; return 1; }
    r "$BIN" merge -o all.csv parts/part-*.report.json
    want_rc 0 || { echo "merge failed: $(peek "$W/err" 300)"; return 1; }
    want_same all.csv "$SHARED/num.want"
}

slurm_mpi_script() { # packaging/slurm/replay-mpi.sbatch, unchanged, with -N 3
    r on timeout -k 5 180 sbatch --wait --quiet -N 3 --ntasks-per-node=2 --cpus-per-task=1 --output="$PWD/log.txt" \
        --export=ALL,MARS_REPLAY="$BIN",MODEL="$NUM_MODEL",INPUT="$NUM_NPY",OUTPUT="$PWD/o.npy" \
        "$ROOT/packaging/slurm/replay-mpi.sbatch"
    want_rc 0 || { echo "log: $(peek log.txt 300)"; return 1; }
    want_same o.npy "$SHARED/num.want.npy" &&
        jcheck o.npy.report.json "[k['host'] for k in j['ranks']] == $SIX_HOSTS" "j['rows_out'] == 100000"
}

# slurm_node_lost WHAT MESSAGE: kill WHAT on n3 while every task is in the middle of its part
# (stall_read.c): "" = every process of the node (slurmd, slurmstepd, ranks 4 and 5: the node is
# lost), or the names of the processes to kill; the job fails, srun's error matches MESSAGE
# (the node, and the ranks where Slurm can tell), nothing is left; then n3's slurmd is started
# again and the rerun gives the output
slurm_node_lost() {
    local what=$1 message=$2
    mkdir st
    printf 'old\n' >keep.csv
    (LD_PRELOAD="$STALL" MR_TEST_STALL_AT=2 MR_TEST_STALL_PATH=num.csv MR_TEST_STALL_DIR="$PWD/st" \
        "$CL/on.sh" n1 timeout -k 5 150 srun --mpi=pmix --kill-on-bad-exit=1 -N 3 -n 6 \
        "$BIN" predict -m "$NUM_MODEL" -o "$PWD/keep.csv" "$NUM" >srun.out 2>srun.err </dev/null
     echo $? >srun.rc) &
    local job=$! i
    for i in $(seq 1 600); do [ "$(ls st | wc -l)" -ge 6 ] && break; sleep 0.1; done
    if [ "$(cat st/at.4 st/at.5 2>/dev/null | tr '\n' ' ')" != "n3 n3 " ]; then
        touch st/go; wait $job
        echo "the 6 tasks did not all reach their part (ranks 4 and 5 on n3): $(ls st | tr '\n' ' '); $(peek srun.err 300)"; return 1
    fi
    # shellcheck disable=SC2086 # $what: names
    bash "$CL/cluster.sh" kill "$C" n3 $what
    touch st/go # the other ranks go on, into the dead ones
    wait $job
    local rc
    rc=$(cat srun.rc)
    [ "$rc" != 0 ] && [ "$rc" != 124 ] && [ "$rc" != 137 ] || { echo "srun exit status $rc: $(peek srun.err 400)"; return 1; }
    want_text keep.csv $'old\n' && no_tmp_left || return 1
    grep -Eq "$message" srun.err || { echo "srun's error does not match /$message/: $(peek srun.err 600)"; return 1; }
    grep -v -e '^--*$' -e '^ *$' srun.err | grep -v -e 'Open MPI failed to TCP' -e 'should not happen' \
        -e 'may now hang' -e 'Local host:' -e 'PID:' -e 'Message:' -e 'Error:' >"$SHARED/node-lost.err"
    timeout -k 5 90 bash "$ROOT/tests/slurm/slurm-local.sh" slurmd "$SLURM_LOCAL_DIR" n3 || return 1
    rj on timeout -k 5 120 srun --mpi=pmix --kill-on-bad-exit=1 -N 3 -n 6 "$BIN" predict -m "$NUM_MODEL" -o "$PWD/keep.csv" "$NUM"
    want_rc 0 && want_same keep.csv "$SHARED/num.want"
}

# the watchdog (--peer-timeout): n3's slurmd and ranks killed while every task is in the middle
# of its part, and srun left to its default (no --kill-on-bad-exit: it waits for the survivors,
# which wait in MPI for the dead): within the timeout a survivor says which rank on which node
# stopped, removes the temporary output and ends the job (exit 8); no heartbeat file is left;
# after n3's slurmd is back the rerun gives the output
slurm_node_lost_watchdog() {
    mkdir st
    printf 'old\n' >keep.csv
    (LD_PRELOAD="$STALL" MR_TEST_STALL_AT=2 MR_TEST_STALL_PATH=num.csv MR_TEST_STALL_DIR="$PWD/st" \
        "$CL/on.sh" n1 timeout -k 5 150 srun --mpi=pmix -N 3 -n 6 \
        "$BIN" predict -m "$NUM_MODEL" --peer-timeout 4 -o "$PWD/keep.csv" "$NUM" >srun.out 2>srun.err </dev/null
     echo $? >srun.rc) &
    local job=$! i t0
    for i in $(seq 1 600); do [ "$(ls st | wc -l)" -ge 6 ] && break; sleep 0.1; done
    if [ "$(cat st/at.4 st/at.5 2>/dev/null | tr '\n' ' ')" != "n3 n3 " ]; then
        touch st/go; wait $job
        echo "the 6 tasks did not all reach their part (ranks 4 and 5 on n3): $(ls st | tr '\n' ' '); $(peek srun.err 300)"; return 1
    fi
    bash "$CL/cluster.sh" kill "$C" n3 slurmd mars-replay
    t0=$(date +%s)
    touch st/go
    wait $job
    echo "    | the job ended $(($(date +%s) - t0)) s after n3's ranks were killed (--peer-timeout 4), srun exit $(cat srun.rc)"
    [ "$(cat srun.rc)" != 0 ] && [ "$(cat srun.rc)" != 124 ] && [ "$(cat srun.rc)" != 137 ] || { echo "srun exit status $(cat srun.rc): $(peek srun.err 400)"; return 1; }
    grep '^mars-replay: ' srun.err >ours
    [ "$(wc -l <ours)" = 1 ] && grep -Eq '^mars-replay: rank 5 of 6 on n3 stopped \(no heartbeat for 4 s\): the job fails, no output written$' ours ||
        { echo "stderr: $(peek srun.err 600)"; return 1; }
    want_text keep.csv $'old\n' && no_tmp_left || return 1
    [ -z "$(find . -maxdepth 1 -name '.*.alive.*')" ] || { echo "heartbeat files left: $(ls -A)"; return 1; }
    timeout -k 5 90 bash "$ROOT/tests/slurm/slurm-local.sh" slurmd "$SLURM_LOCAL_DIR" n3 || return 1
    rj on timeout -k 5 120 srun --mpi=pmix -N 3 -n 6 "$BIN" predict -m "$NUM_MODEL" -o "$PWD/keep.csv" "$NUM"
    want_rc 0 && want_same keep.csv "$SHARED/num.want"
}

# --resume of an MPI job over the 3 nodes: srun -N 3 -n 6 (block: ranks 0-1 on n1, 2-3 on n2,
# 4-5 on n3) held in the middle of the parts and sent SIGTERM by Slurm (scancel --signal=TERM,
# as at preemption): every rank stops resumably (143), its part and journal in the shared
# directory; the rerun with the ranks laid out cyclically (rank 1 on n2, rank 2 on n3, ...)
# continues each part wherever it now runs, and gives the serial output
slurm_mpi_resume() {
    mkdir st
    (LD_PRELOAD="$STALL" MR_TEST_STALL_AT=4 MR_TEST_STALL_PATH=num.csv MR_TEST_STALL_DIR="$PWD/st" \
        "$CL/on.sh" n1 timeout -k 5 150 srun --mpi=pmix -N 3 -n 6 --job-name=mr-resume \
        "$BIN" predict -m "$NUM_MODEL" --resume --resume-every 1K --chunk-rows 2000 -o "$PWD/out.csv" "$NUM" \
        >srun.out 2>srun.err </dev/null
     echo $? >srun.rc) &
    local job=$! i id
    for i in $(seq 1 600); do [ "$(ls st | wc -l)" -ge 6 ] && break; sleep 0.1; done
    id=$(on squeue -h -n mr-resume -o %i)
    [ "$(ls st | wc -l)" -ge 6 ] && [ -n "$id" ] || { touch st/go; wait $job; echo "the tasks did not all reach their part: $(ls st)"; return 1; }
    on scancel --signal=TERM "$id" || { on scancel "$id"; touch st/go; wait $job; echo "scancel failed"; return 1; }
    sleep 1
    touch st/go
    wait $job
    [ "$(cat srun.rc)" = 143 ] || { echo "srun exit status $(cat srun.rc), expected 143: $(peek srun.err 400)"; return 1; }
    grep '^mars-replay: ' srun.err >ours
    [ "$(wc -l <ours)" = 1 ] && grep -Eq '^mars-replay: rank [0-5] of 6 on n[1-3]: [^ ]*/out\.csv: stopped by signal 15 after [0-9]+ commits?: rerun with --resume' ours ||
        { echo "stderr: $(peek srun.err 600)"; return 1; }
    want_absent out.csv && want_exists .out.csv.resume.journal && want_exists .out.csv.rank-5.resume.journal || return 1
    rj on timeout -k 5 120 srun --mpi=pmix -N 3 -n 6 --distribution=cyclic "$BIN" predict -m "$NUM_MODEL" --resume \
        --chunk-rows 2000 -o "$PWD/out.csv" --report "$PWD/rep.json" "$NUM"
    want_rc 0 || return 1
    grep -Eq '^mars-replay: [^ ]*/out\.csv: resuming: 6 of 6 ranks continue their parts \([1-9][0-9]* rows' "$W/err" || { echo "stderr: $(peek "$W/err" 400)"; return 1; }
    want_same out.csv "$SHARED/num.want" || return 1
    [ -z "$(find . -maxdepth 1 -name '.out.csv.*')" ] || { echo "left: $(ls -A)"; return 1; }
    jcheck rep.json "[k['host'] for k in j['ranks']] == ['n1', 'n2', 'n3', 'n1', 'n2', 'n3']"
}

# fill_tmp NODE / unfill_tmp NODE: NODE's /tmp full, then free again
fill_tmp() { onto "$1" sh -c 'dd if=/dev/zero of=/tmp/.fill bs=1M 2>/dev/null; [ "$(df -P /tmp | awk "NR == 2 {print \$4}")" = 0 ]'; }
unfill_tmp() { onto "$1" rm -f /tmp/.fill; }

slurm_tmp_full() { # n3's /tmp (TMPDIR) full: the job fails with status 5, naming the node
    fill_tmp n3 || { unfill_tmp n3; echo "cannot fill n3's /tmp"; return 1; }
    rj on timeout -k 5 120 srun --mpi=pmix -N 3 -n 6 "$BIN" predict -m "$NUM_MODEL" -o "$PWD/o.csv" "$NUM"
    unfill_tmp n3
    want_rc 5 && want_absent o.csv && no_tmp_left || return 1
    grep '^mars-replay: ' "$W/err" >ours
    [ "$(wc -l <ours)" = 1 ] && grep -Eq '^mars-replay: rank 4 of 6 on n3: /tmp/\.mars-replay-spill\.[^:]*: write error: No space left on device$' ours ||
        { echo "stderr: $(peek "$W/err" 400)"; return 1; }
}

# packaging/slurm/replay-requeue.sbatch over the 3 nodes: every task is held in the middle of
# its part (stall_read.c), gets SIGTERM, stops resumably (143) and requeues itself; each task's
# next run, on whichever node Slurm picks, resumes from the journal in the shared directory
slurm_requeue_resume() {
    mkdir st
    local id i k
    id=$(on sbatch --parsable --array=0-2 --cpus-per-task=1 --output="$PWD/log-%a.txt" \
        --export=ALL,MARS_REPLAY="$BIN",MODEL="$NUM_MODEL",INPUT="$NUM",OUTDIR="$PWD/parts",RESUME_EVERY=1K,LD_PRELOAD="$STALL",MR_TEST_STALL_PATH=num.csv,MR_TEST_STALL_DIR="$PWD/st",MR_TEST_STALL_AT=4 \
        "$ROOT/packaging/slurm/replay-requeue.sbatch") || { echo "sbatch failed"; return 1; }
    id=${id%%;*}
    for ((i = 0; i < 600; i++)); do [ "$(ls st | wc -l)" -ge 3 ] && break; sleep 0.1; done
    [ "$(ls st | wc -l)" -ge 3 ] || { on scancel "$id"; touch st/go; echo "the tasks did not all reach their part: $(ls st)"; return 1; }
    on scancel --batch --signal=TERM "$id" || { on scancel "$id"; touch st/go; echo "scancel failed"; return 1; }
    sleep 1
    touch st/go
    for ((i = 0; i < 2400; i++)); do
        [ "$(grep -l 'mars-replay-requeue: done' log-*.txt 2>/dev/null | wc -l)" = 3 ] && break
        sleep 0.1
    done
    for k in 0 1 2; do
        grep -q 'stopped by signal 15 after' "log-$k.txt" && grep -q "requeueing task $k" "log-$k.txt" &&
            grep -q 'resuming at row [1-9]' "log-$k.txt" && grep -q 'mars-replay-requeue: done' "log-$k.txt" ||
            { on scancel "$id"; echo "task $k: $(peek "log-$k.txt" 600)"; return 1; }
    done
    echo "    | first runs on: $(cat st/at.* | tr '\n' ' '); runs: $(grep -ho 'run [0-9], on n[0-9]' log-*.txt | tr '\n' ' ')"
    cat parts/part-000000.csv parts/part-000001.csv parts/part-000002.csv >all.csv
    want_same all.csv "$SHARED/num.want"
}

# packaging/slurm/replay-mpi-requeue.sbatch over the 3 nodes (-N 3, 2 tasks a node): every
# rank held in the middle of its part; SIGTERM to the job's steps (as its --signal=TERM@120
# does before the time limit): the ranks stop resumably (143), the script requeues the job,
# and its next run continues every part
slurm_mpi_requeue_resume() {
    mkdir st
    local id i
    id=$(on sbatch --parsable -N 3 --ntasks-per-node=2 --cpus-per-task=1 --output="$PWD/log.txt" \
        --export=ALL,MARS_REPLAY="$BIN",MODEL="$NUM_MODEL",INPUT="$NUM",OUTPUT="$PWD/out.csv",FORMAT=csv,RESUME_EVERY=1K,OPTIONS="--chunk-rows 2000",LD_PRELOAD="$STALL",MR_TEST_STALL_PATH=num.csv,MR_TEST_STALL_DIR="$PWD/st",MR_TEST_STALL_AT=4 \
        "$ROOT/packaging/slurm/replay-mpi-requeue.sbatch") || { echo "sbatch failed"; return 1; }
    id=${id%%;*}
    for ((i = 0; i < 600; i++)); do [ "$(ls st | wc -l)" -ge 6 ] && break; sleep 0.1; done
    [ "$(ls st | wc -l)" -ge 6 ] || { on scancel "$id"; touch st/go; echo "the ranks did not all reach their part: $(ls st); $(peek log.txt 400)"; return 1; }
    on scancel --signal=TERM "$id" || { on scancel "$id"; touch st/go; echo "scancel failed"; return 1; }
    sleep 1
    touch st/go
    for ((i = 0; i < 2400; i++)); do grep -q 'mars-replay-mpi-requeue: done' log.txt 2>/dev/null && break; sleep 0.1; done
    grep -q 'stopped by signal 15 after' log.txt && grep -q "requeueing job $id" log.txt &&
        grep -Eq 'resuming: 6 of 6 ranks continue their parts \([1-9]' log.txt && grep -q 'mars-replay-mpi-requeue: done' log.txt ||
        { on scancel "$id"; echo "log: $(peek log.txt 900)"; return 1; }
    echo "    | $(grep -o 'run [0-9], on .*' log.txt | tr '\n' ' ')"
    want_same out.csv "$SHARED/num.want" || return 1
    [ -z "$(find . -maxdepth 1 -name '.out.csv.*')" ] || { echo "left: $(ls -A)"; return 1; }
}

if [ "$HAVE_SLURM" = 1 ]; then
    tc "cluster/slurm/srun-N3-n6-two-tasks-per-node" slurm_srun_hosts
    tc "cluster/slurm/array-0-5-over-3-nodes-cat" slurm_array
    tc "cluster/slurm/packaging-array-script-3-nodes" slurm_array_script
    if [ "$HAVE_PMIX" = 1 ]; then
        tc "cluster/slurm/srun-pmix-N3-n6/csv-keep-quoted/file" same_srun file "$SHARED/cat.want" predict -m "$CAT_MODEL" -q --keep id "$CAT"
        tc "cluster/slurm/srun-pmix-N3-n6/npy/file" same_srun file "$SHARED/num.want.npy" predict -m "$NUM_MODEL" -O npy "$NUM_NPY"
        tc "cluster/slurm/srun-pmix-N3-n6/csv/stdout" same_srun stdout "$SHARED/num.want" predict -m "$NUM_MODEL" "$NUM"
        tc "cluster/slurm/srun-pmix-N3-n6/npy/stdout" same_srun stdout "$SHARED/num.want.npy" predict -m "$NUM_MODEL" -O npy "$NUM_NPY"
        tc "cluster/slurm/packaging-mpi-script-N3" slurm_mpi_script
        tc "cluster/slurm/tmp-full-on-n3" slurm_tmp_full
        if [ "$HAVE_CC" = 1 ]; then
            STALL="$C/stall.so"
            cc -shared -fPIC -O2 -o "$STALL" "$CL/stall_read.c" -ldl || HAVE_CC=0 NO_CC="the stall shim did not build"
        fi
        if [ "$HAVE_CC" = 1 ]; then
            tc "cluster/slurm/n3-slurmd-and-ranks-killed-mid-job-then-rerun" slurm_node_lost "slurmd mars-replay" \
                '^srun: error: n3: tasks 4-5: Killed$'
            [ -f "$SHARED/node-lost.err" ] && sed 's/^/    | /' "$SHARED/node-lost.err" && rm "$SHARED/node-lost.err"
            tc "cluster/slurm/n3-lost-mid-job-then-rerun" slurm_node_lost "" '^srun: error: Node failure on n3$'
            tc "cluster/slurm/n3-slurmd-and-ranks-killed-watchdog-names-rank-and-node-then-rerun" slurm_node_lost_watchdog
            tc "cluster/slurm/srun-N3-n6-resume-after-sigterm-ranks-moved" slurm_mpi_resume
            tc "cluster/slurm/requeue-script-resume-3-nodes" slurm_requeue_resume
            tc "cluster/slurm/mpi-requeue-script-N3-resume" slurm_mpi_requeue_resume
            [ -f "$SHARED/node-lost.err" ] && sed 's/^/    | /' "$SHARED/node-lost.err" && rm "$SHARED/node-lost.err"
        else
            echo "SKIP cluster/slurm/node-lost-mid-job: $NO_CC"
        fi
    else
        echo "SKIP cluster/slurm/srun-pmix (replay, packaging MPI script, node loss, full /tmp): $NO_PMIX"
    fi
else
    echo "SKIP cluster/slurm: $NO_SLURM"
fi

# ---- mpirun with a hostfile, the launcher agent in place of ssh ----
mpir() { on timeout -k 5 120 mpirun --hostfile "$SHARED/hostfile" -n 6 --mca plm_rsh_agent "$CL/rsh-agent.sh" "$@"; }

mpirun_hosts() {
    r mpir hostname
    want_rc 0 || return 1
    [ "$(sort "$W/out" | tr '\n' ' ')" = "n1 n1 n2 n2 n3 n3 " ] || { echo "hosts: $(peek "$W/out")"; return 1; }
}

same_mpirun() { # OUTMODE WANT ARGS...
    local mode=$1 want=$2
    shift 2
    if [ "$mode" = file ]; then
        rj mpir "$BIN" "$@" -o "$PWD/got" --report "$PWD/rep.json"
        want_rc 0 && no_tmp_left && want_same got "$want" || return 1
        jcheck rep.json "[k['host'] for k in j['ranks']] == $SIX_HOSTS" "j['exit_code'] == 0"
    else
        local b0
        b0=$(bridge_bytes)
        rj mpir "$BIN" "$@"
        want_rc 0 && want_same "$W/out" "$want" || return 1
        local moved=$(($(bridge_bytes) - b0)) size
        size=$(wc -c <"$want")
        [ "$moved" -gt $((size / 2)) ] || { echo "only $moved bytes crossed the bridge from n2 and n3 for $size bytes of output"; return 1; }
    fi
}

mpirun_tmp_full() { # n3's /tmp full: OpenMPI's own session files fail first; the job fails, naming n3
    fill_tmp n3 || { unfill_tmp n3; echo "cannot fill n3's /tmp"; return 1; }
    rj mpir "$BIN" predict -m "$NUM_MODEL" -o "$PWD/o.csv" "$NUM"
    unfill_tmp n3
    [ "$RC" != 0 ] && want_absent o.csv && no_tmp_left || { echo "status $RC"; return 1; }
    grep -q 'n3' "$W/err" || { echo "the error does not name n3: $(peek "$W/err" 400)"; return 1; }
}

if [ "$HAVE_MPI" = 1 ]; then
    tc "cluster/mpirun/hostfile-6-ranks-on-3-hosts" mpirun_hosts
    tc "cluster/mpirun-n6/csv-keep-quoted/file" same_mpirun file "$SHARED/cat.want" predict -m "$CAT_MODEL" -q --keep id "$CAT"
    tc "cluster/mpirun-n6/npy/file" same_mpirun file "$SHARED/num.want.npy" predict -m "$NUM_MODEL" -O npy "$NUM_NPY"
    tc "cluster/mpirun-n6/csv/stdout" same_mpirun stdout "$SHARED/num.want" predict -m "$NUM_MODEL" "$NUM"
    tc "cluster/mpirun-n6/npy/stdout" same_mpirun stdout "$SHARED/num.want.npy" predict -m "$NUM_MODEL" -O npy "$NUM_NPY"
    tc "cluster/mpirun/tmp-full-on-n3" mpirun_tmp_full
else
    echo "SKIP cluster/mpirun: $NO_MPI"
fi

echo "$NPASS passed, $NFAIL failed ($(($(date +%s) - T0)) s)"
[ "$NFAIL" -eq 0 ]
