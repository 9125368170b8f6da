#!/usr/bin/env bash
# tests/packaging/run.sh — the H0 packaging stage (docs/contracts.md, H0).
#   bash tests/packaging/run.sh [PART...]     parts: claims dist install deb chroot recipes
#                                               (default: all, in that order)
# claims   scripts/check_claims.py over the docs, and its own must-flag/must-pass fixtures
# dist     meson dist; the tarball's sha256 must equal packaging/SHA256SUMS
# install  meson install into a DESTDIR: binary, library + soname, header, .pc, man page, MPI module
# deb      dpkg-buildpackage -us -uc -b from debian/, lintian --fail-on error, soname = package name
# chroot   a fresh debootstrap minbase: only the runtime .debs + their declared dependencies, then
#          predict/inspect/probe/man; then -dev and a C program built with pkg-config marsreplay;
#          then the same installed tree under bwrap --unshare-all
# recipes  the EasyBuild/Spack/conda-forge recipes (tests/packaging/recipes.sh)
# Exit: 0 all ran parts passed, 1 a part failed, 77 every part skipped (each says why).
# Needs root for deb/chroot (apt-get, debootstrap, chroot); those parts skip otherwise.
# Nothing is cached across runs: the rootfs is built afresh in a temporary folder.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(claims dist install deb chroot recipes)
work=$(mktemp -d /var/tmp/mr-packaging.XXXXXX)
rootfs=$work/rootfs
failed=() skipped=() passed=()
t0=$SECONDS

cleanup() {
  for m in dev/pts dev proc sys; do
    mountpoint -q "$rootfs/$m" 2>/dev/null && umount -l "$rootfs/$m"
  done
  if grep -q " $work" /proc/mounts; then echo "packaging: still mounted, leaving $work" >&2; return; fi
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

say() { printf -- '--- packaging: %s (%ds)\n' "$*" $((SECONDS - t0)); }
skip() { echo "packaging: SKIP $1: $2"; skipped+=("$1"); }

apt_install() { # install the missing Debian packages this stage itself needs
  local miss=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || miss+=("$p")
  done
  [ ${#miss[@]} -eq 0 ] && return 0
  echo "packaging: apt-get install ${miss[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${miss[@]}" \
    >"$work/apt.log" 2>&1 || {
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${miss[@]}" \
      >"$work/apt.log" 2>&1; } || { tail -5 "$work/apt.log"; return 1; }
}

version=$(sh scripts/version.sh)
# the soname and the Debian library package follow meson's soversion rule (meson.build)
soversion=$(sed -n 's/^#define MR_VERSION_\(MAJOR\|MINOR\) \([0-9]*\).*/\2/p' src/include/marsreplay.h |
  { read -r maj; read -r min; [ "$maj" -gt 0 ] && echo "$maj" || echo "0.$min"; })
libpkg=libmarsreplay$soversion

# ---------------------------------------------------------------- parts
part_claims() {
  python3 scripts/check_claims.py || return 1
  python3 tests/packaging/test_check_claims.py || return 1
}

part_dist() {
  meson setup "$work/b" -Dtests=false >"$work/setup.log" 2>&1 || { cat "$work/setup.log"; return 1; }
  meson dist -C "$work/b" --no-tests >"$work/dist.log" 2>&1 || { cat "$work/dist.log"; return 1; }
  tarball=$work/b/meson-dist/mars-replay-$version.tar.xz
  local got want
  got=$(sha256sum "$tarball" | cut -d' ' -f1)
  want=$(awk -v f="mars-replay-$version.tar.xz" '$2==f {print $1}' packaging/SHA256SUMS 2>/dev/null)
  echo "packaging: $(basename "$tarball") sha256 $got"
  if [ "$got" != "$want" ]; then
    echo "packaging: dist: the tarball's sha256 is not the one in packaging/SHA256SUMS (${want:-none}):" \
      "the sources changed since it was recorded; run bash scripts/record_dist.sh and commit" >&2
    return 1
  fi
}

part_install() {
  [ -f "$work/b/build.ninja" ] || meson setup "$work/b" -Dtests=false >"$work/setup.log" 2>&1 ||
    { cat "$work/setup.log"; return 1; }
  ninja -C "$work/b" >"$work/ninja.log" 2>&1 || { tail -20 "$work/ninja.log"; return 1; }
  DESTDIR=$work/dest meson install -C "$work/b" --no-rebuild >"$work/install.log" 2>&1 ||
    { cat "$work/install.log"; return 1; }
  local libdir prefix rc=0 f
  prefix=$(meson introspect --buildoptions "$work/b" | python3 -c \
    'import json,sys; o={x["name"]:x["value"] for x in json.load(sys.stdin)}; print(o["prefix"], o["libdir"])')
  libdir=${prefix#* }; prefix=${prefix% *}
  case $libdir in /*) ;; *) libdir=$prefix/$libdir ;; esac
  local want=("$prefix/bin/mars-replay" "$libdir/libmarsreplay.so.$soversion"
    "$libdir/libmarsreplay.so" "$prefix/include/marsreplay.h" "$libdir/pkgconfig/marsreplay.pc"
    "$prefix/share/man/man1/mars-replay.1")
  if grep -q "MPI *: *YES" "$work/setup.log"; then want+=("$libdir/mars-replay/mars-replay-mpi.so")
  else echo "packaging: install: no MPI in this build, the MPI module is not checked"; fi
  for f in "${want[@]}"; do
    [ -e "$work/dest$f" ] || { echo "packaging: install: missing $f" >&2; rc=1; }
  done
  local so
  so=$(objdump -p "$work/dest$libdir/libmarsreplay.so" | awk '/SONAME/ {print $2}')
  [ "$so" = "libmarsreplay.so.$soversion" ] || { echo "packaging: install: soname $so, expected libmarsreplay.so.$soversion" >&2; rc=1; }
  return $rc
}

part_deb() {
  [ "$(id -u)" = 0 ] || { skip deb "needs root to install the build dependencies"; return 77; }
  apt_install dpkg-dev debhelper lintian opencl-c-headers libopenmpi-dev libjansson-dev libcsv-dev \
    meson ninja-build pkg-config python3 || return 1
  if [ ! -f "debian/$libpkg.symbols" ] || ! grep -q "^Package: $libpkg\$" debian/control; then
    echo "packaging: deb: the soname is libmarsreplay.so.$soversion but debian/ has no package $libpkg" \
      "(rename it in debian/control and rename debian/libmarsreplay*.install and .symbols, whose first line names the soname)" >&2
    return 1
  fi
  mkdir -p "$work/deb"
  git archive HEAD --prefix=src/ | tar -x -C "$work/deb" || return 1
  cp -r debian "$work/deb/src/"   # export-ignore'd from the tarball
  (cd "$work/deb/src" && dpkg-buildpackage -us -uc -b -j"$(nproc)") >"$work/deb/build.log" 2>&1 ||
    { tail -30 "$work/deb/build.log"; return 1; }
  grep -E '^dpkg-gensymbols: (warning|error)' "$work/deb/build.log"
  ls "$work/deb"/*.deb
  lintian --fail-on error --suppress-tags initial-upload-closes-no-bugs "$work/deb"/*.changes || {
    echo "packaging: deb: lintian found errors" >&2; return 1; }
}

part_chroot() {
  [ "$(id -u)" = 0 ] || { skip chroot "needs root (debootstrap, chroot)"; return 77; }
  ls "$work/deb/$libpkg"_*.deb >/dev/null 2>&1 || { skip chroot "no .debs (the deb part did not run)"; return 77; }
  bash tests/packaging/chroot.sh "$work" "$libpkg"
}

part_recipes() {
  [ -f tests/packaging/recipes.sh ] || { skip recipes "tests/packaging/recipes.sh not present"; return 77; }
  bash tests/packaging/recipes.sh "$work"
}

for p in "${parts[@]}"; do
  say "$p"
  rc=0
  "part_$p" || rc=$?
  case $rc in
    0) passed+=("$p") ;;
    77) [[ " ${skipped[*]} " == *" $p "* ]] || skipped+=("$p") ;;
    *) failed+=("$p") ;;
  esac
done
say "done: passed ${passed[*]:-none}; skipped ${skipped[*]:-none}; failed ${failed[*]:-none}"
[ ${#failed[@]} -eq 0 ] || exit 1
[ ${#passed[@]} -gt 0 ] || exit 77
exit 0
