#!/bin/bash
# conda-forge build script for mars-replay (H0); run from $SRC_DIR with $PREFIX set.
set -euxo pipefail
meson setup build ${MESON_ARGS:-} --prefix="$PREFIX" --libdir=lib --buildtype=release \
  -Dtests=false -Dopencl=disabled -Dmpi=disabled
ninja -C build -j"${CPU_COUNT:-2}"
ninja -C build install
