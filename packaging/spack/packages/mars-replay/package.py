# Spack recipe for mars-replay (H0). Targets Spack 0.23 (no depends_on("c"): that
# release rejects the v1 language virtuals; for Spack >= 1.0 add depends_on("c", type="build")).
# Checked statically in CI (tests/packaging/recipes.sh); see packaging/spack/README.md for the
# one manual install run.
from spack.package import *


class MarsReplay(MesonPackage):
    """Replay fitted MARS (Multivariate Adaptive Regression Splines) models exported as
    ModelSpec v1 JSON over CSV, NumPy .npy or raw float64 data: the mars-replay program and
    the libmarsreplay C library."""

    homepage = "https://github.com/mars-replay/mars-replay"
    url = "https://github.com/mars-replay/mars-replay/releases/download/v1.0.0/mars-replay-1.0.0.tar.xz"

    license("MIT")

    version("1.0.0", sha256="cc1cfedb4afc25f52e633fc47c57a6fb1fa41000e80a5a691f032c94551d1d90")

    variant("opencl", default=False, description="OpenCL backend (headers at build time; the ICD loader is loaded at run time)")
    variant("mpi", default=False, description="The MPI module for mpirun/srun runs of the CLI")

    depends_on("meson@0.63:", type="build")
    depends_on("ninja", type="build")
    depends_on("pkgconfig", type="build")
    depends_on("python@3:", type="build", when="+opencl")
    depends_on("jansson")
    depends_on("libcsv")
    depends_on("opencl-c-headers", type="build", when="+opencl")
    depends_on("mpi", when="+mpi")

    def meson_args(self):
        spec = self.spec
        return [
            "-Dtests=false",
            "-Dopencl=" + ("enabled" if spec.satisfies("+opencl") else "disabled"),
            "-Dmpi=" + ("enabled" if spec.satisfies("+mpi") else "disabled"),
        ]

    @run_after("install")
    @on_package_attributes(run_tests=True)
    def check_example(self):
        """Replay the bundled example model with the installed program."""
        example = join_path(self.stage.source_path, "fixtures", "example")
        exe = Executable(self.prefix.bin.join("mars-replay"))
        out = exe("predict", "-m", join_path(example, "model.json"), join_path(example, "data.csv"),
                  output=str, error=str)
        assert out.startswith("prediction"), out
