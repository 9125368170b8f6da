# tests/abi/lib.sh — sourced by scripts/abi_baseline.sh and tests/abi_gate.sh.
# abidw and abidiff need the library's DWARF, which a release build has not: these build
# the shared library alone, unoptimised with -g (types do not depend on the optimisation),
# in a build directory of their own.

# The options every ABI dump is written with: no absolute paths, so that
# the baseline does not depend on where the tree was built. Not --no-show-locs: abidiff's
# --headers-dir2 then takes every type without a location for a private one and drops its
# changes (a widened struct member passed the gate that way).
ABIDW_OPTS=(--no-corpus-path --no-comp-dir-path --short-locs --drop-private-types)

abi_build_lib() { # abi_build_lib SRC_DIR BUILD_DIR -> prints the path of libmarsreplay.so.MAJOR
  local src=$1 dir=$2 ver maj
  ver=$(sh "$src/scripts/version.sh") maj=${ver%%.*}
  # meson compiles with paths relative to the build directory, which DWARF keeps as they
  # are; abidiff's --headers-dir only recognises a header by its absolute path, and with a
  # relative one it silently takes every type for a private one and drops its changes
  local abs rel
  abs=$(cd "$src" && pwd) && mkdir -p "$dir" && rel=$(realpath --relative-to="$dir" "$abs")
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$src" -Dbuildtype=debug -Dtests=false -Dopencl=disabled -Dmpi=disabled \
      "-Dc_args=-fdebug-prefix-map=$rel=$abs" \
      >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log" >&2; return 1; }
  fi
  ninja -C "$dir" "src/libmarsreplay.so.$ver" >"$dir.ninja.log" 2>&1 ||
    { tail -30 "$dir.ninja.log" >&2; return 1; }
  echo "$dir/src/libmarsreplay.so.$maj"
}

# An ABI dump's exported functions (ELF symbols) and those of them it has a declaration
# (with its types) for. A dump made without DWARF, or with a headers dir that matched no
# header, has the symbols but no declarations: comparing such dumps compares nothing.
abi_syms() { grep -oE "<elf-symbol name='mr_[a-z0-9_]*' [^>]*type='func-type'" "$1" | cut -d"'" -f2 | sort -u; }
abi_decls() { grep -oE "<function-decl name='mr_[a-z0-9_]*'" "$1" | cut -d"'" -f2 | sort -u; }
# abi_check_decls DUMP -> 0 when every exported function is declared (prints the count),
# else 1 and the names without a declaration
abi_check_decls() {
  local syms missing
  syms=$(abi_syms "$1")
  missing=$(comm -23 <(echo "$syms") <(abi_decls "$1"))
  if [ -z "$syms" ] || [ -n "$missing" ]; then
    echo "no declaration for: ${missing:-(no exported function at all)}" | tr '\n' ' '
    return 1
  fi
  echo "$syms" | wc -l
}
