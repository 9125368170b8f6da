#!/usr/bin/env bash
# slurm-local.sh — a throwaway one-node Slurm (22.05, Debian 12) for tests/slurm/run.sh:
# no systemd, no munge, everything in a temporary directory, random ports.
#
#   eval "$(bash tests/slurm/slurm-local.sh start)"   # prints export lines: SLURM_CONF, SLURM_LOCAL_DIR
#   sbatch --wait --array=0-3 job.sh ; srun -n2 hostname ; ...
#   bash tests/slurm/slurm-local.sh stop              # uses $SLURM_LOCAL_DIR (or the dir as $2)
#
# Needs root (slurmd) and slurmctld slurmd slurm-client (scripts/setup.sh installs them;
# slurm-wlm-basic-plugins, with the pmix plugin, comes with them).
# Auth: auth/none + cred/none (still shipped in 22.05; removed in later Slurm) -> no munged needed.
# All state, logs, pid files live in a mktemp dir; ports are picked at random to avoid clashes.
# Env knobs: SLURM_LOCAL_CPUS (default nproc), SLURM_LOCAL_TIMEOUT (default 60 s) for the start wait.
set -euo pipefail

cmd=${1:-}
case "$cmd" in
start)
  for b in slurmctld slurmd sinfo; do
    command -v "$b" >/dev/null || { echo "slurm-local: $b not found (apt-get install -y slurmctld slurmd slurm-client)" >&2; exit 3; }
  done
  D=$(mktemp -d /tmp/slurm-local.XXXXXX)
  NODE=$(hostname -s)
  mkdir -p "$D/state" "$D/spool/$NODE" "$D/log"   # SlurmdSpoolDir=spool/%n must exist
  chmod 755 "$D"
  CPUS=${SLURM_LOCAL_CPUS:-$(nproc)}
  MEM=$(awk '/MemTotal/ {printf "%d", $2/1024*0.8}' /proc/meminfo)
  # random high ports (ctld, slurmd, srun range)
  BASE=$(( 20000 + (RANDOM % 2000) * 10 ))
  U=$(id -un)
  cat > "$D/slurm.conf" <<EOF
ClusterName=local$BASE
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$BASE
SlurmdPort=$((BASE + 1))
SrunPortRange=$((BASE + 2))-$((BASE + 9))
SlurmUser=$U
SlurmdUser=root
AuthType=auth/none
CredType=cred/none
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool/%n
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
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
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  : > "$D/plugstack.conf"
  # slurmd 22.05 always initialises a cgroup plugin; "autodetect" fails where /sys/fs/cgroup
  # is not mounted (a bare chroot). cgroup/v1 loads without a mount, and proctrack/pgid +
  # task/none never use it.
  printf '%s\n' "${SLURM_LOCAL_CGROUP:-CgroupPlugin=cgroup/v1}" > "$D/cgroup.conf"
  export SLURM_CONF="$D/slurm.conf"
  # -D = foreground; backgrounded with setsid so stop can kill by pid; -c = clean state; -i = ignore bad state
  setsid slurmctld -D -c -i -f "$SLURM_CONF" >"$D/log/slurmctld.out" 2>&1 < /dev/null &
  echo $! > "$D/slurmctld.bgpid"
  setsid slurmd -D -f "$SLURM_CONF" -N "$NODE" >"$D/log/slurmd.out" 2>&1 < /dev/null &
  echo $! > "$D/slurmd.bgpid"
  T=${SLURM_LOCAL_TIMEOUT:-60}
  ok=0
  for _ in $(seq 1 $((T * 2))); do
    st=$(timeout 5 sinfo -h -N -o '%T' 2>/dev/null | head -1 || true)
    case "$st" in idle|mixed|allocated) ok=1; break ;; esac
    # daemons died?
    kill -0 "$(cat "$D/slurmctld.bgpid")" 2>/dev/null || break
    kill -0 "$(cat "$D/slurmd.bgpid")" 2>/dev/null || break
    sleep 0.5
  done
  if [ $ok != 1 ]; then
    echo "slurm-local: cluster did not become idle within ${T}s (node state: '${st:-none}'); logs:" >&2
    tail -n 20 "$D"/log/* >&2 || true
    SLURM_LOCAL_DIR="$D" bash "$0" stop "$D" >&2 || true
    exit 1
  fi
  echo "export SLURM_CONF='$D/slurm.conf'"
  echo "export SLURM_LOCAL_DIR='$D'"
  ;;
stop)
  D=${2:-${SLURM_LOCAL_DIR:-}}
  [ -n "$D" ] && [ -d "$D" ] || { echo "slurm-local: no dir to stop (give it as \$2 or SLURM_LOCAL_DIR)" >&2; exit 0; }
  export SLURM_CONF="$D/slurm.conf"
  timeout 10 scancel --full --quiet -u "$(id -un)" 2>/dev/null || true
  for d in slurmd slurmctld; do
    f="$D/$d.bgpid"
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
  echo "usage: eval \"\$($0 start)\"  |  $0 stop [DIR]" >&2; exit 2 ;;
esac
