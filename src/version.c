/* version.c — run-time version and feature queries. */
#include "config.h"
#include "marsreplay.h"
#include "vcs_version.h"

unsigned mr_version(void)
{
    return MR_VERSION;
}

const char *mr_version_string(void)
{
    return MR_VCS_VERSION;
}

unsigned mr_features(void)
{
    return (MR_HAVE_OPENCL ? MR_FEATURE_OPENCL : 0u) | (MR_HAVE_MPI ? MR_FEATURE_MPI : 0u);
}
