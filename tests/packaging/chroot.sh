#!/usr/bin/env bash
# tests/packaging/chroot.sh WORK LIBPKG — part "chroot" of tests/packaging/run.sh.
# A fresh debootstrap minbase (bookworm) in WORK/rootfs; apt installs ONLY the runtime .debs from
# WORK/deb and the dependencies they declare (so a missing Depends shows up as a failure here);
# then the example prediction, inspect, probe and `man mars-replay` (man-db is installed as the
# viewer, it is no dependency of ours). Then libmarsreplay-dev, a compiler and pkgconf, and a C
# program built with `pkg-config marsreplay`. Last, the same installed tree under
# `bwrap --unshare-all` (skipped, saying why, where this kernel or chroot refuses namespaces).
set -uo pipefail
work=$1 libpkg=$2
rootfs=$work/rootfs
here=$(cd "$(dirname "$0")/../.." && pwd)
fail() { echo "packaging: chroot: $*" >&2; exit 1; }
in_root() { chroot "$rootfs" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

for p in debootstrap bubblewrap; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$p" >/dev/null 2>&1 ||
    fail "cannot install $p"
done
mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
t=$SECONDS
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
  { tail -20 "$work/debootstrap.log"; fail "debootstrap failed"; }
echo "packaging: chroot: debootstrap minbase in $((SECONDS - t))s"
mountpoint -q "$rootfs/proc" || mount -t proc proc "$rootfs/proc" || fail "cannot mount /proc in the rootfs"

mkdir -p "$rootfs/tmp/debs" "$rootfs/tmp/ex"
cp "$work/deb/$libpkg"_*.deb "$work/deb"/mars-replay_*.deb "$work/deb"/libmarsreplay-dev_*.deb "$rootfs/tmp/debs/"
cp "$here"/fixtures/example/model.json "$here"/fixtures/example/data.csv "$here"/tests/packaging/consumer.c "$rootfs/tmp/ex/"

apt() { in_root env DEBIAN_FRONTEND=noninteractive apt-get "$@" >"$work/chroot-apt.log" 2>&1 ||
  { tail -15 "$work/chroot-apt.log"; fail "apt-get $*"; }; }
apt update -qq
# runtime only: the library package and the program, with what they declare
apt install -y -qq --no-install-recommends "/tmp/debs/$(basename "$work/deb/$libpkg"_*.deb)" \
  "/tmp/debs/$(basename "$work/deb"/mars-replay_*.deb)"
in_root dpkg-query -W "$libpkg" mars-replay || fail "packages not installed"
in_root sh -c '! dpkg-query -W libmarsreplay-dev 2>/dev/null' || fail "-dev installed with the runtime packages"

out=$(in_root mars-replay predict -m /tmp/ex/model.json --keep id /tmp/ex/data.csv 2>/dev/null) ||
  fail "predict failed in the chroot"
rows=$(($(wc -l <"$here/fixtures/example/data.csv") - 1))
[ "$(printf '%s\n' "$out" | wc -l)" -eq $((rows + 1)) ] || fail "predict: expected $rows rows"
if [ -x "$work/b/cli/mars-replay" ]; then
  want=$("$work/b/cli/mars-replay" predict -m "$here/fixtures/example/model.json" --keep id \
    "$here/fixtures/example/data.csv" 2>/dev/null)
  [ "$out" = "$want" ] || fail "predict: the packaged binary's output differs from the build tree's"
fi
echo "packaging: chroot: predict ok ($rows rows)"
# grep reads all it is given (no -q): an early exit would make the writer die of
# SIGPIPE, and pipefail would count that as a failure
in_root mars-replay inspect /tmp/ex/model.json | grep sha256 >/dev/null || fail "inspect"
rc=0; in_root mars-replay probe >"$work/probe.txt" 2>&1 || rc=$?
# no ICD loader is installed (it is only Suggested): probe must still run and say so
[ "$rc" = 0 ] || { cat "$work/probe.txt"; fail "probe exited $rc"; }
echo "packaging: chroot: probe: $(head -1 "$work/probe.txt")"
apt install -y -qq --no-install-recommends man-db
in_root sh -c 'MANPAGER=cat MANWIDTH=80 man mars-replay 2>/dev/null' | grep 'replay a fitted MARS model' >/dev/null ||
  fail "man mars-replay"
echo "packaging: chroot: inspect, probe, man ok"

# development: the -dev package (and what it declares), a compiler, pkg-config
apt install -y -qq --no-install-recommends "/tmp/debs/$(basename "$work/deb"/libmarsreplay-dev_*.deb)" gcc libc6-dev pkgconf
in_root sh -c 'cd /tmp/ex && cc -Wall -Werror -o consumer consumer.c $(pkg-config --cflags --libs marsreplay)' ||
  fail "compiling a program with pkg-config marsreplay"
in_root sh -c 'ldd /tmp/ex/consumer' | grep "libmarsreplay.so" >/dev/null || fail "consumer is not linked to the shared library"
in_root /tmp/ex/consumer /tmp/ex/model.json || fail "consumer failed"

# the same installed tree in a sandbox: no network, new pid/ipc/uts/user namespaces
if ! bwrap --unshare-all --ro-bind "$rootfs" / --proc /proc --dev /dev true 2>"$work/bwrap.err"; then
  echo "packaging: chroot: SKIP bwrap: bwrap --unshare-all cannot run here ($(head -1 "$work/bwrap.err"))"
  exit 0
fi
bw() { bwrap --unshare-all --ro-bind "$rootfs" / --proc /proc --dev /dev --tmpfs /var/tmp \
  --clearenv --setenv PATH /usr/bin:/bin "$@"; }
bout=$(bw mars-replay predict -m /tmp/ex/model.json --keep id /tmp/ex/data.csv 2>/dev/null) ||
  fail "predict under bwrap"
[ "$bout" = "$out" ] || fail "predict under bwrap differs from the chroot's"
bw mars-replay inspect /tmp/ex/model.json >/dev/null || fail "inspect under bwrap"
bw mars-replay probe >/dev/null 2>&1 || fail "probe under bwrap"
bw /tmp/ex/consumer /tmp/ex/model.json || fail "consumer under bwrap"
echo "packaging: chroot: bwrap --unshare-all: predict, inspect, probe, consumer ok"
