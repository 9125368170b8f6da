/* version.c — run-time version and feature queries. */
#include "backend.h"
#include "config.h"
#include "marsreplay.h"
#include "plan.h"
#include "vcs_version.h"

unsigned mr_version(void)
{
    return MR_VERSION;
}

const char *mr_version_string(void)
{
    /* "0.1.0", or "0.1.0 (git 5d749e4-dirty)" when built from a git checkout */
    return sizeof MR_VCS_VERSION > 1 ? MR_PROJECT_VERSION " (git " MR_VCS_VERSION ")" : MR_PROJECT_VERSION;
}

unsigned mr_features(void)
{
    return (mr_backend_compiled("opencl") ? MR_FEATURE_OPENCL : 0u) | (MR_HAVE_MPI ? MR_FEATURE_MPI : 0u) |
           (mr_eval_simd() ? MR_FEATURE_SIMD : 0u);
}
