# libcsv is not in Spack's builtin repository; mars-replay needs it (H0). Targets Spack 0.23.
# The source tarball cannot be downloaded on the offline CI machines, so no version's checksum
# is recorded here yet: the manual run used libcsv as an external (packaging/spack/README.md).
from spack.package import *


class Libcsv(AutotoolsPackage):
    """A small, simple and fast CSV library written in pure ANSI C89."""

    homepage = "https://github.com/rgamble/libcsv"
    git = "https://github.com/rgamble/libcsv.git"

    license("LGPL-2.1-or-later")

    version("3.0.3", tag="v3.0.3")

    depends_on("autoconf", type="build")
    depends_on("automake", type="build")
    depends_on("libtool", type="build")
