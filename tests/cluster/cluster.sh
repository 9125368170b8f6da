#!/usr/bin/env bash
# cluster.sh — a throwaway cluster of N "nodes" on this one machine, for tests/cluster/run.sh.
#
#   bash tests/cluster/cluster.sh probe              # can namespaces be made here? (exit 0, or 77 + why)
#   bash tests/cluster/cluster.sh start DIR N OWNER  # nodes n1..nN; DIR: an empty directory every node sees
#   bash tests/cluster/cluster.sh kill DIR NODE [COMM...]  # SIGKILL every process of NODE (a node
#                                                    # lost), or those named COMM; the node itself (its
#                                                    # namespaces) stays, for a restart
#   bash tests/cluster/cluster.sh stop DIR           # end every process of every node; the namespaces go
#   MR_CLUSTER_DIR=DIR tests/cluster/on.sh NODE CMD  # run CMD on NODE
#
# Each node has its own network namespace (one veth pair to a bridge, address 10.250.0.(10+k)/24,
# no route anywhere else), its own UTS namespace (hostname nK) and its own mount namespace: a
# private tmpfs on /tmp (node-local scratch, TMPDIR) and on /dev/shm, DIR/hosts on /etc/hosts
# (n1..nN resolve on every node; where this machine has no /etc/hosts, as in a bare chroot, an
# overlay on /etc adds it); every other path, the project directory and DIR included, is
# this machine's, shared by all nodes as a network file system would be. The bridge lives in a
# namespace of its own, so nothing is added to this machine's network: the cluster's traffic
# cannot leave its namespaces.
#
# A node is held by one small shell process (its "holder"; DIR/nodes/nK.pid) that also watches
# OWNER (the test's pid): when OWNER is gone, or after MR_CLUSTER_MAX_S seconds (default 1200),
# it kills every process in its node, so a killed test leaves nothing running. Processes are
# found by their network namespace, which only this cluster's processes are in.
# MR_CLUSTER_TMP_SIZE: each node's /tmp (default 256m); MR_CLUSTER_NO_CGROUP=1: hide
# /sys/fs/cgroup in the nodes (the bare-chroot case, for Slurm's cgroup plugin).
set -euo pipefail
SUBNET=10.250.0

# pids of every process in the network namespace of process $1 (itself included)
ns_pids() {
    local me p
    me=$(readlink "/proc/$1/ns/net" 2>/dev/null) || return 0
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/ns/net" 2>/dev/null)" = "$me" ] && echo "${p#/proc/}"
    done
    return 0
}

# the holder's script: set the node up, say ready, then watch the owner (bounded)
HOLDER='
set -e
if [ "$1" != switch ]; then
    hostname "$1"
    mount -t tmpfs -o "size=$5,mode=1777" tmpfs /tmp
    mount -t tmpfs -o size=64m,mode=1777 tmpfs /dev/shm
    if [ -e /etc/hosts ]; then
        mount --bind "$4/hosts" /etc/hosts
    else # nothing to mount over (a bare chroot): an overlay on /etc adds the hosts file
        mkdir /dev/shm/.etc /dev/shm/.etc-work
        cp "$4/hosts" /dev/shm/.etc/hosts
        mount -t overlay overlay -o lowerdir=/etc,upperdir=/dev/shm/.etc,workdir=/dev/shm/.etc-work /etc
    fi
    # MR_CLUSTER_NO_CGROUP=1: a node without /sys/fs/cgroup, as in a bare chroot
    if [ "$6" = 1 ] && grep -q " /sys/fs/cgroup " /proc/self/mounts; then umount -R -l /sys/fs/cgroup; fi
fi
: >"$4/nodes/$1.ready"
set +e
i=0
while [ "$i" -lt "$3" ] && kill -0 "$2" 2>/dev/null; do sleep 1; i=$((i + 1)); done
me=$(readlink /proc/$$/ns/net)
for p in /proc/[0-9]*; do
    q=${p#/proc/}
    [ "$q" != $$ ] && [ "$(readlink "$p/ns/net" 2>/dev/null)" = "$me" ] && kill -9 "$q" 2>/dev/null
done
'

# unshare's flags for a node: a private mount tree; where / is not a mount point (a chroot),
# `--propagation private` fails, and "unchanged" is safe only if no mount is shared
mount_flags() {
    if unshare --mount --propagation private true 2>/dev/null; then
        echo "--propagation private"
    elif ! grep -q 'shared:' /proc/self/mountinfo; then
        echo "--propagation unchanged"
    else
        echo "cannot make a private mount namespace: $(unshare --mount --propagation private true 2>&1 | head -1), and this machine has shared mounts" >&2
        return 1
    fi
}

probe() {
    local why flags
    [ "$(id -u)" = 0 ] || { echo "not root (namespaces, mounts and veth pairs need it)"; return 77; }
    for b in unshare nsenter ip mount; do
        command -v "$b" >/dev/null || { echo "$b not found (util-linux, iproute2)"; return 77; }
    done
    flags=$(mount_flags 2>&1) || { echo "$flags"; return 77; }
    # shellcheck disable=SC2086 # $flags is two words
    why=$(unshare --net --uts --mount $flags true 2>&1) || { echo "cannot create namespaces: $why"; return 77; }
    if [ ! -e /etc/hosts ]; then
        # shellcheck disable=SC2086
        why=$(unshare --mount $flags sh -c 'mount -t tmpfs tmpfs /dev/shm && mkdir /dev/shm/u /dev/shm/w &&
            mount -t overlay overlay -o lowerdir=/etc,upperdir=/dev/shm/u,workdir=/dev/shm/w /etc' 2>&1) ||
            { echo "no /etc/hosts to mount over, and no overlay on /etc for the nodes' host names: $why"; return 77; }
    fi
    why=$(unshare --net sh -c 'ip link add mrprobe0 type veth peer name mrprobe1 && ip link add mrprobebr type bridge' 2>&1) ||
        { echo "cannot create veth pairs or a bridge in a network namespace: $why"; return 77; }
    return 0
}

start() {
    local dir=$1 n=$2 owner=$3 max=${MR_CLUSTER_MAX_S:-1200} tmp_size=${MR_CLUSTER_TMP_SIZE:-256m}
    local flags k node pid why here
    here=$(cd "$(dirname "$0")" && pwd)
    flags=$(mount_flags)
    mkdir -p "$dir/nodes"
    { echo "127.0.0.1 localhost"; for k in $(seq 1 "$n"); do echo "$SUBNET.$((10 + k)) n$k"; done; } >"$dir/hosts"
    # the switch: a bridge in a network namespace of its own
    unshare --net -- sh -c "$HOLDER" holder switch "$owner" "$max" "$dir" >/dev/null 2>&1 </dev/null &
    echo $! >"$dir/nodes/switch.pid"
    for k in $(seq 1 "$n"); do
        # shellcheck disable=SC2086 # $flags is two words
        unshare --net --uts --mount $flags -- sh -c "$HOLDER" holder "n$k" "$owner" "$max" "$dir" "$tmp_size" \
            "${MR_CLUSTER_NO_CGROUP:-0}" \
            >"$dir/nodes/n$k.log" 2>&1 </dev/null &
        echo $! >"$dir/nodes/n$k.pid"
    done
    for node in switch $(seq -f 'n%g' 1 "$n"); do
        for _ in $(seq 1 100); do [ -e "$dir/nodes/$node.ready" ] && break; sleep 0.1; done
        [ -e "$dir/nodes/$node.ready" ] || { echo "cluster: node $node did not come up: $(cat "$dir/nodes/$node.log" 2>/dev/null)" >&2; return 1; }
    done
    local sw
    sw=$(cat "$dir/nodes/switch.pid")
    nsenter -t "$sw" -n ip link add br0 type bridge
    nsenter -t "$sw" -n ip link set br0 up
    for k in $(seq 1 "$n"); do
        pid=$(cat "$dir/nodes/n$k.pid")
        # the veth pair is made in the switch's namespace, its node end moved straight into the
        # node's: it never appears in this machine's namespace
        nsenter -t "$sw" -n ip link add "p$k" type veth peer name eth0 netns "$pid"
        nsenter -t "$sw" -n ip link set "p$k" master br0
        nsenter -t "$sw" -n ip link set "p$k" up
        nsenter -t "$pid" -n sh -c "
            for f in /proc/sys/net/ipv6/conf/all/disable_ipv6 /proc/sys/net/ipv6/conf/default/disable_ipv6; do
                [ -w \$f ] && echo 1 >\$f; done
            ip link set lo up && ip addr add $SUBNET.$((10 + k))/24 dev eth0 && ip link set eth0 up"
    done
    # every node reaches every other (bounded: ARP on a fresh bridge is quick)
    for k in $(seq 1 "$n"); do
        for _ in $(seq 1 50); do
            why=$(MR_CLUSTER_DIR=$dir bash "$here/on.sh" n1 bash -c "exec 3<>/dev/tcp/$SUBNET.$((10 + k))/1" 2>&1) || true
            case $why in *refused*) break ;; esac
            sleep 0.1
        done
        case $why in *refused*) ;; *) echo "cluster: n1 cannot reach n$k: $why" >&2; return 1 ;; esac
    done
}

kill_node() { # DIR NODE [COMM...]: every process of the node but its holder (or those named COMM)
    local pid p dir=$1 node=$2
    shift 2
    pid=$(cat "$dir/nodes/$node.pid")
    for p in $(ns_pids "$pid"); do
        [ "$p" = "$pid" ] && continue
        [ $# = 0 ] || [[ " $* " == *" $(cat "/proc/$p/comm" 2>/dev/null) "* ]] || continue
        kill -9 "$p" 2>/dev/null || true
    done
}

stop() {
    local dir=$1 f pid p left
    [ -d "$dir/nodes" ] || return 0
    for sig in TERM KILL; do
        left=0
        for f in "$dir"/nodes/*.pid; do
            pid=$(cat "$f")
            for p in $(ns_pids "$pid"); do kill -"$sig" "$p" 2>/dev/null && left=1; done
        done
        [ $left = 0 ] && return 0
        for _ in $(seq 1 30); do
            left=0
            for f in "$dir"/nodes/*.pid; do kill -0 "$(cat "$f")" 2>/dev/null && left=1; done
            [ $left = 0 ] && break
            sleep 0.1
        done
    done
    for f in "$dir"/nodes/*.pid; do
        pid=$(cat "$f")
        [ -z "$(ns_pids "$pid")" ] || { echo "cluster: processes left in node $(basename "$f" .pid): $(ns_pids "$pid" | tr '\n' ' ')" >&2; return 1; }
    done
}

case ${1:-} in
probe) probe ;;
start) start "${2:?DIR}" "${3:?N}" "${4:?OWNER}" ;;
kill) kill_node "${2:?DIR}" "${3:?NODE}" "${@:4}" ;;
stop) stop "${2:?DIR}" ;;
*) echo "usage: cluster.sh probe | start DIR N OWNER | kill DIR NODE [COMM...] | stop DIR" >&2; exit 2 ;;
esac
