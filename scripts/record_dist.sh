#!/usr/bin/env bash
# scripts/record_dist.sh — make the release tarball with `meson dist` and record its sha256 in
# packaging/SHA256SUMS (and in the recipes under packaging/ that carry it). Run it on a clean,
# committed tree after the sources change, then commit. One commit gives one tarball (the dist
# script scripts/dist_fix_mtime.sh fixes the only varying timestamp); the recorded files are
# export-ignore'd (.gitattributes), so recording does not change the tarball.
# Prints the tarball's path. Exit 1 on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sh scripts/version.sh)
b=$(mktemp -d /var/tmp/mr-dist.XXXXXX)
trap 'rm -rf "$b"' EXIT
meson setup "$b/build" -Dtests=false >/dev/null
meson dist -C "$b/build" --no-tests >/dev/null
tar=mars-replay-$version.tar.xz
sum=$(sha256sum "$b/build/meson-dist/$tar" | cut -d' ' -f1)
printf '%s  %s\n' "$sum" "$tar" > packaging/SHA256SUMS
# the recipes: every 64-hex sha256 and the version next to it
for f in packaging/spack/packages/mars-replay/package.py packaging/easybuild/*.eb packaging/conda-forge/recipe.yaml; do
  [ -f "$f" ] || continue
  sed -i -E "s/[0-9a-f]{64}/$sum/" "$f"
done
echo "record_dist: $tar sha256 $sum (packaging/SHA256SUMS)"
mkdir -p build-dist && cp "$b/build/meson-dist/$tar" build-dist/ && echo "build-dist/$tar"
