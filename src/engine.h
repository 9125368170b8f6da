/* engine.h — options and the engine (model + plan + settings). */
#ifndef MR_ENGINE_H
#define MR_ENGINE_H

#include <stddef.h>

#include "marsreplay.h"
#include "device_spec.h"
#include "plan.h"

#define MR_DEFAULT_NA ",NA,NaN,nan"
#define MR_DEFAULT_MAX_RECORD ((size_t)64 << 20)
#define MR_DEFAULT_MAX_MODEL_BYTES ((uint64_t)256 << 20) /* MR_OPT_MAX_MODEL_BYTES */

struct mr_options {
    unsigned threads;
    size_t chunk_rows;     /* 0: choose from the input's width */
    uint64_t chunk_bytes;  /* split CSV input: raw bytes per chunk; 0: MR_DEFAULT_CHUNK_BYTES */
    uint64_t max_memory;   /* MR_OPT_MAX_MEMORY; 0: no cap */
    int in_fmt, out_fmt;
    int header, out_header;
    unsigned char delim;
    char *names;           /* NULL: none */
    int names_from_model;
    char *na;              /* global missing tokens */
    char **na_cols;        /* "COL=TOKS" entries */
    size_t n_na_cols;
    char *keep;            /* NULL: none */
    int unknown;
    char *na_out;
    int mode;
    size_t cols;           /* raw f64 columns; 0: n_features */
    size_t max_record;
    mr_device_spec device; /* MR_OPT_DEVICE (device_spec.h) */
    int single;            /* MR_OPT_PRECISION "single" */
    int no_cache;          /* MR_OPT_NO_CACHE */
    uint64_t max_model;    /* MR_OPT_MAX_MODEL_BYTES (mr_model_load_file_opt) */
    int strict_columns;    /* MR_OPT_STRICT_COLUMNS */
};

struct mr_engine {
    const mr_model *m;
    mr_plan *plan;
    mr_options opt;        /* private copy */
    double *scratch;       /* for mr_predict/mr_design */
    double *xblock;
    const struct mr_backend_ops *be; /* decided by the first mr_run (backend.c); NULL before */
    void *dev;                 /* that backend's engine-level state (a device), or NULL */
    mr_backend_info info;      /* of the last mr_run */
};

void mr_options_defaults(mr_options *o);
mr_status mr_options_copy(mr_options *dst, const mr_options *src);
void mr_options_release(mr_options *o);

#endif
