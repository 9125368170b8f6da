#!/usr/bin/env bash
# slurm-local.sh — a throwaway Slurm (22.05, Debian 12) for tests/slurm/run.sh (one node, this
# host) and tests/cluster/run.sh (several nodes, each in its own namespaces):
# no systemd, no munge, everything in a temporary directory, random ports.
#
#   eval "$(bash tests/slurm/slurm-local.sh start)"   # prints export lines: SLURM_CONF, SLURM_LOCAL_DIR
#   sbatch --wait --array=0-3 job.sh ; srun -n2 hostname ; ...
#   bash tests/slurm/slurm-local.sh stop              # uses $SLURM_LOCAL_DIR (or the dir as $2)
#   bash tests/slurm/slurm-local.sh slurmd DIR NODE   # restart NODE's slurmd (after a node loss)
#
# Needs root (slurmd) and slurmctld slurmd slurm-client (scripts/setup.sh installs them;
# slurm-wlm-basic-plugins, with the pmix plugin, comes with them).
# Auth: auth/none + cred/none (still shipped in 22.05; removed in later Slurm) -> no munged needed.
# All state, logs, pid files live in a mktemp dir; ports are picked at random to avoid clashes.
# Env knobs: SLURM_LOCAL_CPUS (default nproc; per node), SLURM_LOCAL_TIMEOUT (default 60 s) for
# the start wait, and for several nodes:
#   SLURM_LOCAL_NODES  "NAME=ADDR NAME=ADDR ..." (default: this host, 127.0.0.1); slurmctld runs
#                      on the first; one slurmd per node
#   SLURM_LOCAL_EXEC   a command that runs a command on a node: $SLURM_LOCAL_EXEC NODE CMD ARGS...
#                      (it must exec CMD, so that its pid is CMD's); the daemons, sinfo and scancel
#                      go through it (default: run here)
#   SLURM_LOCAL_BASE   where the temporary directory is made (default /tmp; every node must see it)
#   SLURM_LOCAL_EXTRA  more slurm.conf lines (e.g. SlurmdTimeout=10)
#   SLURM_LOCAL_SPOOL  each slurmd's spool directory, %n = the node (default DIR/spool/%n); the
#                      pmix plugin puts a UNIX socket there, whose path must stay under 108 bytes
set -euo pipefail

cmd=${1:-}
# on NODE CMD...: run CMD on NODE (through $SLURM_LOCAL_EXEC, or here)
on() { local n=$1; shift; if [ -n "${EXEC:-}" ]; then $EXEC "$n" "$@"; else "$@"; fi; }
case "$cmd" in
start)
  for b in slurmctld slurmd sinfo; do
    command -v "$b" >/dev/null || { echo "slurm-local: $b not found (apt-get install -y slurmctld slurmd slurm-client)" >&2; exit 3; }
  done
  read -r -a NODES <<<"${SLURM_LOCAL_NODES:-$(hostname -s)=127.0.0.1}"
  EXEC=${SLURM_LOCAL_EXEC:-}
  D=$(mktemp -d "${SLURM_LOCAL_BASE:-/tmp}/slurm-local.XXXXXX")
  mkdir -p "$D/state" "$D/log"
  chmod 755 "$D"
  FIRST=${NODES[0]%%=*}
  { printf 'EXEC=%q\n' "$EXEC"; printf 'FIRST=%q\n' "$FIRST"; } >"$D/local.env" # for stop
  CPUS=${SLURM_LOCAL_CPUS:-$(nproc)}
  MEM=$(awk -v n="${#NODES[@]}" '/MemTotal/ {printf "%d", $2/1024*0.8/n}' /proc/meminfo)
  # random high ports (ctld, slurmd, srun range)
  BASE=$(( 20000 + (RANDOM % 2000) * 10 ))
  U=$(id -un)
  cat > "$D/slurm.conf" <<EOF
ClusterName=local$BASE
SlurmctldHost=$FIRST(${NODES[0]#*=})
SlurmctldPort=$BASE
SlurmdPort=$((BASE + 1))
SrunPortRange=$((BASE + 2))-$((BASE + 9))
SlurmUser=$U
SlurmdUser=root
AuthType=auth/none
CredType=cred/none
StateSaveLocation=$D/state
SlurmdSpoolDir=${SLURM_LOCAL_SPOOL:-$D/spool/%n}
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd-%n.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
SlurmdParameters=config_overrides
MailProg=/bin/true
PlugStackConfig=$D/plugstack.conf
KillWait=5
InactiveLimit=0
MinJobAge=300
${SLURM_LOCAL_EXTRA:-}
EOF
  for nd in "${NODES[@]}"; do
    echo "NodeName=${nd%%=*} NodeAddr=${nd#*=} CPUs=$CPUS RealMemory=$MEM State=UNKNOWN"
  done >>"$D/slurm.conf"
  for nd in "${NODES[@]}"; do # SlurmdSpoolDir must exist
    spool=${SLURM_LOCAL_SPOOL:-$D/spool/%n}
    on "${nd%%=*}" mkdir -p "${spool//%n/${nd%%=*}}"
  done
  echo "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP" >>"$D/slurm.conf"
  : > "$D/plugstack.conf"
  # slurmd 22.05 always initialises a cgroup plugin; "autodetect" fails where /sys/fs/cgroup
  # is not mounted (a bare chroot). cgroup/v1 loads without a mount, and proctrack/pgid +
  # task/none never use it.
  printf '%s\n' "${SLURM_LOCAL_CGROUP:-CgroupPlugin=cgroup/v1}" > "$D/cgroup.conf"
  export SLURM_CONF="$D/slurm.conf"
  # -D = foreground; backgrounded with setsid so stop can kill by pid; -c = clean state; -i = ignore bad state
  # (with $SLURM_LOCAL_EXEC: $EXEC NODE slurmd ..., which execs the daemon)
  # (cd /: a daemon must not hold on to the caller's directory, which may be removed)
  (cd / && exec setsid $EXEC ${EXEC:+"$FIRST"} slurmctld -D -c -i -f "$SLURM_CONF" >"$D/log/slurmctld.out" 2>&1 < /dev/null) &
  echo $! > "$D/slurmctld.bgpid"
  for nd in "${NODES[@]}"; do
    n=${nd%%=*}
    (cd / && exec setsid $EXEC ${EXEC:+"$n"} slurmd -D -f "$SLURM_CONF" -N "$n" >"$D/log/slurmd-$n.out" 2>&1 < /dev/null) &
    echo $! > "$D/slurmd.$n.bgpid"
  done
  T=${SLURM_LOCAL_TIMEOUT:-60}
  ok=0
  for _ in $(seq 1 $((T * 2))); do
    st=$(on "$FIRST" timeout 5 sinfo -h -N -o '%N:%T' 2>/dev/null | tr '\n' ' ' || true)
    # every node up (idle, or busy with a job)
    n_up=$(tr ' ' '\n' <<<"$st" | grep -cE ':(idle|mixed|allocated)$' || true)
    [ "$n_up" = "${#NODES[@]}" ] && { ok=1; break; }
    # daemons died?
    alive=1
    for f in "$D"/slurmctld.bgpid "$D"/slurmd.*.bgpid; do kill -0 "$(cat "$f")" 2>/dev/null || alive=0; done
    [ $alive = 1 ] || break
    sleep 0.5
  done
  if [ $ok != 1 ]; then
    echo "slurm-local: cluster did not become idle within ${T}s (node states: '${st:-none}'); logs:" >&2
    tail -n 20 "$D"/log/* >&2 || true
    SLURM_LOCAL_DIR="$D" bash "$0" stop "$D" >&2 || true
    exit 1
  fi
  echo "export SLURM_CONF='$D/slurm.conf'"
  echo "export SLURM_LOCAL_DIR='$D'"
  ;;
slurmd) # slurmd DIR NODE: start NODE's slurmd again (after a node loss) and wait until it is up
  D=${2:?usage: $0 slurmd DIR NODE}; n=${3:?usage: $0 slurmd DIR NODE}
  export SLURM_CONF="$D/slurm.conf"
  EXEC= FIRST=
  . "$D/local.env"
  (cd / && exec setsid $EXEC ${EXEC:+"$n"} slurmd -D -f "$SLURM_CONF" -N "$n" >>"$D/log/slurmd-$n.out" 2>&1 < /dev/null) &
  echo $! > "$D/slurmd.$n.bgpid"
  for _ in $(seq 1 $((${SLURM_LOCAL_TIMEOUT:-60} * 2))); do
    st=$(on "$FIRST" timeout 5 sinfo -h -n "$n" -o '%T' 2>/dev/null || true)
    case "$st" in idle|mixed|allocated) exit 0 ;; esac
    kill -0 "$(cat "$D/slurmd.$n.bgpid")" 2>/dev/null || break
    sleep 0.5
  done
  echo "slurm-local: $n did not come back (state '${st:-none}'): $(tail -n 5 "$D/log/slurmd-$n.log" 2>/dev/null)" >&2
  exit 1
  ;;
stop)
  D=${2:-${SLURM_LOCAL_DIR:-}}
  [ -n "$D" ] && [ -d "$D" ] || { echo "slurm-local: no dir to stop (give it as \$2 or SLURM_LOCAL_DIR)" >&2; exit 0; }
  export SLURM_CONF="$D/slurm.conf"
  EXEC= FIRST=
  [ -f "$D/local.env" ] && . "$D/local.env"
  on "$FIRST" timeout 10 scancel --full --quiet -u "$(id -un)" 2>/dev/null || true
  for f in "$D"/slurmd.*.bgpid "$D"/slurmctld.bgpid; do
    [ -f "$f" ] || continue
    p=$(cat "$f")
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
    kill -KILL "$p" 2>/dev/null || true
  done
  # slurmstepd processes of this cluster: by their pid files in the spool directory
  for f in "$D"/spool/*/*.pid; do [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null || true; done
  if [ "${SLURM_LOCAL_KEEP:-0}" = 1 ]; then echo "slurm-local: kept $D" >&2; else rm -rf "$D"; fi
  ;;
*)
  echo "usage: eval \"\$($0 start)\"  |  $0 stop [DIR]  |  $0 slurmd DIR NODE" >&2; exit 2 ;;
esac
