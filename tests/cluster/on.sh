#!/bin/sh
# on.sh NODE CMD [ARGS...] — run CMD on NODE of the namespace cluster in $MR_CLUSTER_DIR
# (tests/cluster/cluster.sh): in its network, UTS and mount namespaces, in the same working
# directory and under the same root (a chroot stays one). It execs (no fork), so the caller's $!
# is CMD's pid.
d=${MR_CLUSTER_DIR:?on.sh: MR_CLUSTER_DIR is not set}
n=${1:?usage: on.sh NODE CMD [ARGS...]}
shift
pid=$(cat "$d/nodes/$n.pid" 2>/dev/null) || { echo "on.sh: no node $n in $d" >&2; exit 255; }
exec nsenter -t "$pid" -n -u -m --root --wd="$PWD" -- "$@"
