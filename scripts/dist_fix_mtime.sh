#!/bin/sh
# meson dist script: give every entry of the tarball one time, that of the last commit that
# changed a file the tarball holds (paths marked export-ignore in .gitattributes do not count),
# so that recording the tarball's sha256 (scripts/record_dist.sh) does not change the tarball,
# and one source tree always gives the same tarball bytes.
set -eu
cd "$MESON_SOURCE_ROOT"
set --
for p in $(awk '$2 == "export-ignore" {print $1}' .gitattributes); do set -- "$@" ":(exclude)$p"; done
t=$(git log -1 --format=%ct HEAD -- . "$@")
find "$MESON_DIST_ROOT" -exec touch -h -d "@$t" {} +
