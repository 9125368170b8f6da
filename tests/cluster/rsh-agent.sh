#!/bin/sh
# rsh-agent.sh HOST COMMAND... — OpenMPI's launcher agent between the nodes of the namespace
# cluster (mpirun --mca plm_rsh_agent tests/cluster/rsh-agent.sh): what `ssh HOST COMMAND`
# does, without sshd: enter HOST's namespaces (tests/cluster/on.sh) and run COMMAND with a
# shell in a clean environment, as a remote login would (PATH, HOME, and the cluster's
# directory, so that a node can start the next one in a launch tree).
while [ $# -gt 0 ]; do case $1 in -*) shift ;; *) break ;; esac; done # ssh-style options
host=${1:?usage: rsh-agent.sh HOST COMMAND...}
shift
d=${MR_CLUSTER_DIR:?rsh-agent.sh: MR_CLUSTER_DIR is not set}
here=$(cd "$(dirname "$0")" && pwd) || exit 255
cd / || exit 255
exec "$here/on.sh" "$host" env -i PATH="$PATH" HOME=/root LANG=C MR_CLUSTER_DIR="$d" /bin/sh -c "$*"
