#!/bin/sh
# meson dist script: the dist root directory is created at the current time;
# give it the commit's time like every other entry (git archive), so that one
# commit always gives the same tarball bytes.
set -eu
t=$(git -C "$MESON_SOURCE_ROOT" log -1 --format=%ct HEAD)
touch -h -d "@$t" "$MESON_DIST_ROOT"
