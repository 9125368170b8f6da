/* dist_mpi_loader.c — find and load mars-replay-mpi.so (dist_mpi.c) when MPI
 * is wanted; see dist_mpi.h. Looked up, in order: $MARS_REPLAY_MPI_MODULE,
 * beside the executable (the build tree), ../LIBDIR/mars-replay/ from the
 * executable's directory (a relocated install), and the configured
 * LIBDIR/mars-replay/ (an install). Loaded RTLD_GLOBAL: OpenMPI's own
 * plugins resolve libmpi's symbols through the global scope. */
#include "dist_mpi.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_io.h"
#include "config.h"
#include "exit_codes.h"
#include "partition.h"

static const cli_mpi_module *module;

static const char *env_get(const char *name)
{
    return getenv(name);
}

int cli_mpi_launched(void)
{
    return part_mpi_launched(env_get);
}

#if MR_HAVE_MPI
static void *try_open(const char *path, char *why, size_t whylen)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    if (!h && !why[0]) /* keep the first reason: the most specific place */
        snprintf(why, whylen, "%s", dlerror());
    return h;
}

static int load_module(void)
{
    char why[512] = "", path[PATH_MAX + 64], exe[PATH_MAX];
    void *h = NULL;
    const char *env = getenv("MARS_REPLAY_MPI_MODULE");
    if (env && *env) {
        h = try_open(env, why, sizeof why);
    } else {
        const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n > 0) {
            exe[n] = '\0';
            char *slash = strrchr(exe, '/');
            if (slash)
                *slash = '\0';
            snprintf(path, sizeof path, "%s/" MR_MPI_MODULE_NAME, exe);
            if (access(path, F_OK) == 0)
                h = try_open(path, why, sizeof why);
            snprintf(path, sizeof path, "%s/../" MR_MPI_MODULE_LIBDIR "/mars-replay/" MR_MPI_MODULE_NAME, exe);
            if (!h && access(path, F_OK) == 0)
                h = try_open(path, why, sizeof why);
        }
        if (!h)
            h = try_open(MR_MPI_MODULE_DIR "/" MR_MPI_MODULE_NAME, why, sizeof why);
    }
    if (!h) {
        cli_msg("cannot load the MPI module %s: %s", MR_MPI_MODULE_NAME, why);
        return MR_EXIT_MPI;
    }
    const cli_mpi_module *m = dlsym(h, "mr_cli_mpi_module");
    if (!m || m->abi != CLI_MPI_MODULE_ABI || m->job_size != sizeof(cli_job)) {
        cli_msg("the MPI module %s does not match this mars-replay (rebuild both)", MR_MPI_MODULE_NAME);
        return MR_EXIT_MPI;
    }
    module = m;
    return 0;
}
#endif

int cli_mpi_init(int *argc, char ***argv, int *ranks)
{
    *ranks = 1;
#if MR_HAVE_MPI
    const int rc = load_module();
    return rc ? rc : module->init(argc, argv, ranks);
#else
    (void)argc;
    (void)argv;
    if (cli_mpi_launched()) /* each process would replay everything: refuse rather than duplicate */
        cli_msg("started by an MPI launcher, but this mars-replay was built without MPI "
                "(meson setup -Dmpi=enabled); use --shard K/N for independent processes");
    else
        cli_msg("--mpi: this mars-replay was built without MPI (meson setup -Dmpi=enabled)");
    return MR_EXIT_USAGE;
#endif
}

int cli_mpi_finalize(int rc)
{
    return module ? module->finalize(rc) : rc;
}

int cli_mpi_run(const cli_job *j)
{
    return module ? module->run(j) : MR_EXIT_INTERNAL; /* not reached: init refuses first */
}
