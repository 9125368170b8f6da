#!/usr/bin/env bash
# tests/packaging/recipes.sh WORK — part "recipes" of tests/packaging/run.sh (H0).
#  lint       tests/packaging/lint_recipes.py: versions and sha256 = meson + packaging/SHA256SUMS,
#             Spack depends_on = meson.build's dependencies, every package.py loads
#  conda      recipe.yaml against the v1 schema (check-jsonschema from PyPI, pinned; the schema is
#             read from ../shared/packaging, skipped saying why where absent), then build.sh under
#             a fake $PREFIX/$SRC_DIR with Debian's toolchain and the recipe's own test commands
#             against that prefix. Not rattler-build: it cannot be installed on these machines.
#  easybuild  EasyBuild (PyPI, pinned) + Lmod (Debian): a real build of the SYSTEM easyconfig from
#             the meson dist tarball (unit tests, sanity check), a check that the module file
#             exists (as root eb refuses and exits 0 unless allowed), `module load mars-replay` in a
#             fresh shell running the example; then `eb -Dr` and `eb --check-contrib` on the
#             upstream-style GCCcore/MesonNinja easyconfig.
# Spack itself is not installable here (not on PyPI or in Debian): the one manual run with a
# Spack 0.23 snapshot is recorded in packaging/spack/README.md.
# Exit 0 passed, 1 failed, 77 nothing could run.
set -uo pipefail
work=$1
here=$(cd "$(dirname "$0")/../.." && pwd)
cd "$here"
EB_VERSION=5.4.1 PYCODESTYLE_VERSION=2.15.0 CHECK_JSONSCHEMA_VERSION=0.39.0
version=$(sh scripts/version.sh)
tar=mars-replay-$version.tar.xz
bad=() ran=0
say() { echo "packaging: recipes: $*"; }

# ---- lint
ran=1
python3 tests/packaging/lint_recipes.py || bad+=(lint)

# the tarball the recipes name: the one the dist part made, else make it
tarball=$work/b/meson-dist/$tar
if [ ! -f "$tarball" ]; then
  meson setup "$work/rb" -Dtests=false >/dev/null 2>&1 && meson dist -C "$work/rb" --no-tests >/dev/null 2>&1 ||
    { say "meson dist failed"; exit 1; }
  tarball=$work/rb/meson-dist/$tar
fi
[ "$(sha256sum "$tarball" | cut -d' ' -f1)" = "$(awk -v f="$tar" '$2==f{print $1}' packaging/SHA256SUMS)" ] ||
  say "warning: the tarball's sha256 is not the recorded one (run.sh dist fails for that); the builds below use it anyway"

pip_venv() { # pip_venv DIR PKG==VER... : a fresh venv (nothing cached across runs)
  local dir=$1; shift
  python3 -m venv "$dir" >/dev/null 2>&1 || { say "python3 -m venv failed (python3-venv missing?)"; return 1; }
  "$dir/bin/pip" install -q --disable-pip-version-check "$@" >"$dir.log" 2>&1 || { tail -5 "$dir.log"; return 1; }
}
dpkg-query -W -f='${Status}' python3-venv 2>/dev/null | grep -q 'install ok installed' ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null 2>&1 || true

# ---- conda-forge
conda_part() {
  local schema=$here/../shared/packaging/conda-recipe-v1.schema.json
  if [ -f "$schema" ]; then
    pip_venv "$work/cj" "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" || return 1
    "$work/cj/bin/check-jsonschema" --schemafile "$schema" packaging/conda-forge/recipe.yaml || return 1
  else
    say "SKIP schema check: ../shared/packaging/conda-recipe-v1.schema.json is absent (the schema is not part of this repository)"
  fi
  local src=$work/conda/src prefix=$work/conda/prefix
  mkdir -p "$src" "$prefix"
  tar -xJf "$tarball" -C "$src" --strip-components=1 || return 1
  (cd "$src" && PREFIX=$prefix SRC_DIR=$src CPU_COUNT=$(nproc) bash "$here/packaging/conda-forge/build.sh") \
    >"$work/conda/build.log" 2>&1 || { tail -20 "$work/conda/build.log"; return 1; }
  # the recipe's own test commands, against that prefix
  python3 - packaging/conda-forge/recipe.yaml >"$work/conda/tests.sh" <<'PY' || return 1
import re, sys
lines = open(sys.argv[1]).read().split("\n")
i = next(n for n, l in enumerate(lines) if re.match(r"^tests:", l))
cmds, in_script = [], False
for l in lines[i + 1:]:
    if l and not l.startswith(" "):
        break
    if re.match(r"^\s*- script:\s*$", l):
        in_script = True
        continue
    m = re.match(r"^\s{6}- (.*)$", l)
    if in_script and m:
        cmds.append(m.group(1))
    elif in_script and l.strip():
        in_script = False
if not cmds:
    sys.exit("no test commands found in the recipe")
print("set -e")
for c in cmds:
    print(f"echo '+ {c}'")
    print(c)
PY
  (cd "$work/conda" && env -i PATH="$prefix/bin:/usr/bin:/bin" PREFIX="$prefix" SRC_DIR="$src" SHLIB_EXT=.so \
    PKG_CONFIG_PATH="$prefix/lib/pkgconfig" LD_LIBRARY_PATH="$prefix/lib" bash tests.sh) >"$work/conda/tests.log" 2>&1 ||
    { tail -20 "$work/conda/tests.log"; return 1; }
  say "conda-forge: schema, build.sh and $(grep -c '^+ ' "$work/conda/tests.log") test commands ok (not rattler-build)"
}
conda_part || bad+=(conda-forge)

# ---- EasyBuild
eb_part() {
  if [ "$(id -u)" != 0 ] && ! command -v lmod >/dev/null && [ ! -f /usr/share/lmod/lmod/init/bash ]; then
    say "SKIP easybuild: Lmod is not installed and installing it needs root"; return 77
  fi
  [ -f /usr/share/lmod/lmod/init/bash ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends lmod >/dev/null 2>&1 || { say "cannot install lmod"; return 1; }
  pip_venv "$work/ebv" "easybuild-framework==$EB_VERSION" "easybuild-easyblocks==$EB_VERSION" \
    "easybuild-easyconfigs==$EB_VERSION" "pycodestyle==$PYCODESTYLE_VERSION" || return 1
  local eb=$work/eb
  mkdir -p "$eb/src/m/mars-replay"
  cp "$tarball" "$eb/src/m/mars-replay/"
  local sys_ec=packaging/easybuild/mars-replay-$version.eb up_ec=packaging/easybuild/mars-replay-$version-GCCcore-13.3.0.eb
  ( set +u
    # shellcheck disable=SC1091
    source /usr/share/lmod/lmod/init/bash
    export PATH=$work/ebv/bin:$PATH EASYBUILD_PREFIX=$eb/prefix EASYBUILD_SOURCEPATH=$eb/src \
      EASYBUILD_MODULES_TOOL=Lmod EASYBUILD_TMPDIR=$eb/tmp EASYBUILD_PARALLEL=$(nproc) \
      EASYBUILD_ALLOW_USE_AS_ROOT_AND_ACCEPT_CONSEQUENCES=1
    eb "$sys_ec" >"$eb/build.log" 2>&1 || { tail -30 "$eb/build.log"; exit 1; }
    # eb exits 0 when it refuses to run: the module file is the proof
    [ -f "$eb/prefix/modules/all/mars-replay/$version.lua" ] ||
      { tail -30 "$eb/build.log"; echo "packaging: recipes: eb made no module file" >&2; exit 1; }
    grep -q "^Ok: *[1-9]" "$eb"/prefix/software/mars-replay/"$version"/easybuild/easybuild-*.log ||
      { echo "packaging: recipes: eb ran no unit test" >&2; exit 1; }
    eb -Dr --robot-paths=packaging/easybuild: "$up_ec" >"$eb/dr.log" 2>&1 &&
      grep -q "mars-replay/$version-GCCcore-13.3.0" "$eb/dr.log" || { tail -20 "$eb/dr.log"; exit 1; }
    eb --check-contrib "$up_ec" >"$eb/contrib.log" 2>&1 &&
      grep -q "All contribution checks PASSed" "$eb/contrib.log" || { tail -20 "$eb/contrib.log"; exit 1; }
  ) || return 1
  # a fresh login-like shell: only Lmod and the new module tree
  local out
  out=$(env -i HOME="$eb" PATH=/usr/bin:/bin bash -c "source /usr/share/lmod/lmod/init/bash &&
    module use '$eb/prefix/modules/all' && module load mars-replay &&
    command -v mars-replay && mars-replay predict -m '$here/fixtures/example/model.json' --keep id \
      '$here/fixtures/example/data.csv' 2>/dev/null") || { echo "$out"; say "module load mars-replay failed"; return 1; }
  case $(head -1 <<<"$out") in "$eb"/prefix/software/mars-replay/*) ;; *) say "module load: mars-replay is $(head -1 <<<"$out")"; return 1 ;; esac
  [ "$(sed -n 2p <<<"$out")" = "id,prediction" ] || { say "module load: the example gave no predictions"; return 1; }
  say "easybuild: built, unit tests + sanity check, module load runs the example; upstream-style: eb -Dr and --check-contrib pass"
}
rc=0; eb_part || rc=$?
[ $rc = 0 ] || [ $rc = 77 ] || bad+=(easybuild)

[ ${#bad[@]} -eq 0 ] || { say "FAILED: ${bad[*]}"; exit 1; }
exit 0
