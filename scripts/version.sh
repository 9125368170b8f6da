#!/bin/sh
# Print the project version from the public header (single source of truth).
h="$(dirname "$0")/../src/include/marsreplay.h"
maj=$(sed -n 's/^#define MR_VERSION_MAJOR \([0-9]*\)/\1/p' "$h")
min=$(sed -n 's/^#define MR_VERSION_MINOR \([0-9]*\)/\1/p' "$h")
pat=$(sed -n 's/^#define MR_VERSION_PATCH \([0-9]*\)/\1/p' "$h")
echo "$maj.$min.$pat"
