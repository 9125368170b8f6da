#!/usr/bin/env python3
"""lint_recipes.py - the recipes under packaging/ agree with the project (H0).

Checks: the version and sha256 of the Spack package, both EasyBuild easyconfigs and the
conda-forge recipe equal meson's version (scripts/version.sh) and packaging/SHA256SUMS (which
tests/packaging/run.sh dist checks against a fresh meson dist tarball); the Spack package's
depends_on names are exactly the ones meson.build's dependencies map to (MESON_TO_SPACK), with
the same optional ones under the same variant. Every Spack package.py compiles.
usage: lint_recipes.py [ROOT]    exit 0 ok, 1 a mismatch (one line each)
"""
import ast
import os
import re
import subprocess
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "."
errors = []

# meson.build name -> (spack name, variant that brings it, or None when always)
MESON_TO_SPACK = {
    "dependency:jansson": ("jansson", None),
    "find_library:csv": ("libcsv", None),
    "dependency:mpi": ("mpi", "+mpi"),
    "has_header:CL/cl.h": ("opencl-c-headers", "+opencl"),
    "find_program:python3": ("python", "+opencl"),
    "dependency:threads": (None, None),   # libc
    "dependency:dl": (None, None),        # libc
    "find_library:dl": (None, None),
    "find_library:m": (None, None),
}
BUILD_TOOLS = {"meson", "ninja", "pkgconfig"}


def read(p):
    with open(os.path.join(root, p), encoding="utf-8") as f:
        return f.read()


class _Stub:
    def __init__(self, *a, **k):
        pass


def _directive(*a, **k):
    return lambda f: f if callable(f) else None


_fake = type(sys)("spack.package")
_fake.__all__ = []
for _n in ("MesonPackage", "AutotoolsPackage", "Package"):
    setattr(_fake, _n, _Stub)
for _n in ("version", "variant", "depends_on", "license", "conflicts", "patch", "provides",
           "join_path", "Executable", "which"):
    setattr(_fake, _n, lambda *a, **k: None)
for _n in ("run_after", "run_before", "on_package_attributes", "when"):
    setattr(_fake, _n, _directive)
_fake.__all__ = [n for n in vars(_fake) if not n.startswith("_")]
sys.modules["spack"] = type(sys)("spack")
sys.modules["spack.package"] = _fake

version = subprocess.run(["sh", os.path.join(root, "scripts/version.sh")], capture_output=True,
                         text=True, check=True).stdout.strip()
tarball = f"mars-replay-{version}.tar.xz"
sums = dict((l.split()[1], l.split()[0]) for l in read("packaging/SHA256SUMS").splitlines() if l.strip())
sha = sums.get(tarball)
if not sha:
    errors.append(f"packaging/SHA256SUMS: no entry for {tarball}")

# ---- Spack
spack_dir = "packaging/spack/packages"
for name in sorted(os.listdir(os.path.join(root, spack_dir))):
    p = f"{spack_dir}/{name}/package.py"
    try:
        code = compile(read(p), p, "exec")
        # run the class body against a stand-in for spack.package: catches unknown names
        exec(code, {"__name__": "spack_pkg_" + name.replace("-", "_"), "__builtins__": __builtins__})
    except Exception as e:  # noqa: BLE001 - any failure is the finding
        errors.append(f"{p}: does not load: {type(e).__name__}: {e}")
tree = ast.parse(read(f"{spack_dir}/mars-replay/package.py"))
versions, deps = {}, {}
for node in ast.walk(tree):
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        args = [a.value for a in node.args if isinstance(a, ast.Constant)]
        kw = {k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)}
        if node.func.id == "version" and args:
            versions[args[0]] = kw.get("sha256")
        elif node.func.id == "depends_on" and args:
            deps[re.split(r"[@+~ ]", args[0])[0]] = kw.get("when")
if versions.get(version) != sha:
    errors.append(f"{spack_dir}/mars-replay/package.py: version {version} sha256 "
                  f"{versions.get(version)}, packaging/SHA256SUMS says {sha}")
meson = read("meson.build") + read("src/meson.build") + read("cli/meson.build")
found = set()
for kind, rx in (("dependency", r"\bdependency\('([^']+)'"), ("find_library", r"find_library\('([^']+)'"),
                 ("has_header", r"has_header\('([^']+)'"), ("find_program", r"find_program\('([^']+)'")):
    for n in re.findall(rx, meson):
        found.add(f"{kind}:{n}")
want = {}
for key in sorted(found):
    if key not in MESON_TO_SPACK:
        errors.append(f"meson.build: {key} has no Spack counterpart in lint_recipes.py MESON_TO_SPACK")
        continue
    spack, when = MESON_TO_SPACK[key]
    if spack:
        want[spack] = when
for spack, when in want.items():
    if spack not in deps:
        errors.append(f"{spack_dir}/mars-replay/package.py: no depends_on(\"{spack}\") (meson.build needs it)")
    elif deps[spack] != when:
        errors.append(f"{spack_dir}/mars-replay/package.py: depends_on(\"{spack}\") when={deps[spack]!r}, "
                      f"meson.build makes it {'optional: ' + when if when else 'required'}")
for d in deps:
    if d not in want and d not in BUILD_TOOLS:
        errors.append(f"{spack_dir}/mars-replay/package.py: depends_on(\"{d}\") is not a dependency of meson.build")
for t in BUILD_TOOLS - set(deps):
    errors.append(f"{spack_dir}/mars-replay/package.py: no build dependency on {t}")

# ---- EasyBuild
eb_dir = "packaging/easybuild"
for name in sorted(os.listdir(os.path.join(root, eb_dir))):
    if not name.startswith("mars-replay-"):
        continue
    p = f"{eb_dir}/{name}"
    s = read(p)
    v = re.search(r"^version\s*=\s*'([^']+)'", s, re.M)
    c = re.search(r"^checksums\s*=\s*\['([0-9a-f]{64})'\]", s, re.M)
    if not v or v.group(1) != version or not name.startswith(f"mars-replay-{version}"):
        errors.append(f"{p}: version {v.group(1) if v else None} (file name {name}), meson says {version}")
    if not c or c.group(1) != sha:
        errors.append(f"{p}: checksum {c.group(1) if c else None}, packaging/SHA256SUMS says {sha}")

# ---- conda-forge
s = read("packaging/conda-forge/recipe.yaml")
v = re.search(r'^\s*version:\s*"([^"]+)"', s, re.M)
c = re.search(r"^\s*sha256:\s*([0-9a-f]{64})", s, re.M)
if not v or v.group(1) != version:
    errors.append(f"packaging/conda-forge/recipe.yaml: version {v.group(1) if v else None}, meson says {version}")
if not c or c.group(1) != sha:
    errors.append(f"packaging/conda-forge/recipe.yaml: sha256 {c.group(1) if c else None}, "
                  f"packaging/SHA256SUMS says {sha}")
for dep in ("jansson", "libcsv"):
    if not re.search(rf"^\s*-\s*{dep}\s*$", s, re.M):
        errors.append(f"packaging/conda-forge/recipe.yaml: no host requirement {dep}")

for e in errors:
    print(f"lint_recipes: {e}")
print(f"lint_recipes: {'FAILED' if errors else 'ok'} (version {version}, sha256 {sha})")
sys.exit(1 if errors else 0)
