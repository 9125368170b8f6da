/* engine.c — options, engine creation and in-memory evaluation. */
#include "engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "error.h"
#include "model.h"
#include "transpose.h"

void mr_options_defaults(mr_options *o)
{
    memset(o, 0, sizeof *o);
    o->threads = 1;
    o->in_fmt = MR_FMT_AUTO;
    o->out_fmt = MR_FMT_CSV;
    o->header = 1;
    o->out_header = 1;
    o->delim = ',';
    o->unknown = MR_UNKNOWN_MODE;
    o->mode = MR_MODE_PREDICT;
    o->max_record = MR_DEFAULT_MAX_RECORD;
    o->max_model = MR_DEFAULT_MAX_MODEL_BYTES;
    mr_device_spec_parse("cpu", &o->device);
}

static char *dup_or_null(const char *s, int *oom)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = 1;
    return d;
}

void mr_options_release(mr_options *o)
{
    free(o->names);
    free(o->na);
    for (size_t i = 0; i < o->n_na_cols; i++)
        free(o->na_cols[i]);
    free(o->na_cols);
    free(o->keep);
    free(o->na_out);
    mr_options_defaults(o);
}

mr_status mr_options_copy(mr_options *dst, const mr_options *src)
{
    int oom = 0;
    *dst = *src;
    dst->names = dup_or_null(src->names, &oom);
    dst->na = dup_or_null(src->na, &oom);
    dst->keep = dup_or_null(src->keep, &oom);
    dst->na_out = dup_or_null(src->na_out, &oom);
    dst->na_cols = NULL;
    dst->n_na_cols = 0;
    if (src->n_na_cols) {
        dst->na_cols = calloc(src->n_na_cols, sizeof *dst->na_cols);
        if (!dst->na_cols)
            oom = 1;
        for (size_t i = 0; !oom && i < src->n_na_cols; i++) {
            dst->na_cols[i] = dup_or_null(src->na_cols[i], &oom);
            dst->n_na_cols = i + 1;
        }
    }
    if (oom) {
        mr_options_release(dst);
        return MR_E_NOMEM;
    }
    return MR_OK;
}

mr_status mr_options_create(mr_options **out)
{
    *out = malloc(sizeof **out);
    if (!*out)
        return MR_E_NOMEM;
    mr_options_defaults(*out);
    return MR_OK;
}

void mr_options_free(mr_options *o)
{
    if (!o)
        return;
    mr_options_release(o);
    free(o);
}

mr_status mr_options_set_int(mr_options *o, mr_option opt, int64_t v)
{
    if (!o)
        return MR_E_INVAL;
    switch (opt) {
    case MR_OPT_THREADS:
        if (v < 1 || v > 4096)
            return MR_E_INVAL;
        o->threads = (unsigned)v;
        return MR_OK;
    case MR_OPT_CHUNK_ROWS:
        if (v < 0 || v > (1 << 24))
            return MR_E_INVAL;
        o->chunk_rows = (size_t)v;
        return MR_OK;
    case MR_OPT_CHUNK_BYTES:
        if (v < 0 || v > ((int64_t)1 << 32))
            return MR_E_INVAL;
        o->chunk_bytes = (uint64_t)v;
        return MR_OK;
    case MR_OPT_MAX_MEMORY:
        if (v < 0)
            return MR_E_INVAL;
        o->max_memory = (uint64_t)v;
        return MR_OK;
    case MR_OPT_INPUT_FORMAT:
        if (v < MR_FMT_AUTO || v > MR_FMT_F64)
            return MR_E_INVAL;
        o->in_fmt = (int)v;
        return MR_OK;
    case MR_OPT_OUTPUT_FORMAT:
        if (v < MR_FMT_CSV || v > MR_FMT_F64)
            return MR_E_INVAL;
        o->out_fmt = (int)v;
        return MR_OK;
    case MR_OPT_HEADER: o->header = v != 0; return MR_OK;
    case MR_OPT_OUT_HEADER: o->out_header = v != 0; return MR_OK;
    case MR_OPT_NAMES_FROM_MODEL: /* names for headerless input: it has none (implied) */
        o->names_from_model = v != 0;
        if (v)
            o->header = 0;
        return MR_OK;
    case MR_OPT_NO_CACHE: o->no_cache = v != 0; return MR_OK;
    case MR_OPT_STRICT_COLUMNS: o->strict_columns = v != 0; return MR_OK;
    case MR_OPT_MAX_MODEL_BYTES:
        if (v < 1)
            return MR_E_INVAL;
        o->max_model = (uint64_t)v;
        return MR_OK;
    case MR_OPT_UNKNOWN_LEVEL:
        if (v < MR_UNKNOWN_MODE || v > MR_UNKNOWN_ERROR)
            return MR_E_INVAL;
        o->unknown = (int)v;
        return MR_OK;
    case MR_OPT_MODE:
        if (v < MR_MODE_PREDICT || v > MR_MODE_CHECK)
            return MR_E_INVAL;
        o->mode = (int)v;
        return MR_OK;
    case MR_OPT_COLS:
        if (v < 0 || v > (1 << 20))
            return MR_E_INVAL;
        o->cols = (size_t)v;
        return MR_OK;
    case MR_OPT_MAX_RECORD_BYTES:
        if (v < 1024 || v > ((int64_t)1 << 40))
            return MR_E_INVAL;
        o->max_record = (size_t)v;
        return MR_OK;
    default:
        return MR_E_INVAL;
    }
}

static mr_status set_str(char **dst, const char *v)
{
    char *d = v ? strdup(v) : NULL;
    if (v && !d)
        return MR_E_NOMEM;
    free(*dst);
    *dst = d;
    return MR_OK;
}

mr_status mr_options_set_str(mr_options *o, mr_option opt, const char *v)
{
    if (!o)
        return MR_E_INVAL;
    switch (opt) {
    case MR_OPT_DELIMITER:
        /* one byte; not a quote or a line end, which would make records ambiguous */
        if (!v || strlen(v) != 1 || v[0] == '"' || v[0] == '\n' || v[0] == '\r')
            return MR_E_INVAL;
        o->delim = (unsigned char)v[0];
        return MR_OK;
    case MR_OPT_NAMES: /* names for headerless input: it has none (implied) */
        if (v && *v)
            o->header = 0;
        return set_str(&o->names, v);
    case MR_OPT_NA_TOKENS: return set_str(&o->na, v);
    case MR_OPT_KEEP: return set_str(&o->keep, v);
    case MR_OPT_NA_OUT: return set_str(&o->na_out, v);
    case MR_OPT_DEVICE: return mr_device_spec_parse(v, &o->device) == 0 ? MR_OK : MR_E_INVAL;
    case MR_OPT_PRECISION:
        if (!v || (strcmp(v, "double") != 0 && strcmp(v, "single") != 0))
            return MR_E_INVAL;
        o->single = strcmp(v, "single") == 0;
        return MR_OK;
    case MR_OPT_NA_COLUMN: {
        if (!v || !strchr(v, '=') || v[0] == '=')
            return MR_E_INVAL;
        char **n = realloc(o->na_cols, (o->n_na_cols + 1) * sizeof *n);
        if (!n)
            return MR_E_NOMEM;
        o->na_cols = n;
        if (!(n[o->n_na_cols] = strdup(v)))
            return MR_E_NOMEM;
        o->n_na_cols++;
        return MR_OK;
    }
    default:
        return MR_E_INVAL;
    }
}

mr_status mr_engine_create(const mr_model *m, const mr_options *o, mr_engine **out,
                           mr_error *err)
{
    mr_err_clear(err);
    RETURN_IF(!m || !out, MR_E_INVAL, err, "mr_engine_create: NULL argument");
    *out = NULL;
    mr_engine *e = calloc(1, sizeof *e);
    RETURN_IF(!e, MR_E_NOMEM, err, "out of memory");
    e->m = m;
    mr_options defaults;
    mr_options_defaults(&defaults);
    mr_status st = mr_options_copy(&e->opt, o ? o : &defaults);
    if (st == MR_OK)
        st = mr_plan_build(m, &e->plan);
    if (st == MR_OK) {
        e->scratch = malloc(mr_plan_scratch_len(e->plan) * sizeof *e->scratch);
        e->xblock = malloc((m->n_features ? m->n_features : 1) * MR_STRIDE * sizeof *e->xblock);
        if (!e->scratch || !e->xblock)
            st = MR_E_NOMEM;
    }
    if (st != MR_OK) {
        mr_engine_free(e);
        return mr_err_set(err, st, "%s", mr_strerror(st));
    }
    *out = e;
    return MR_OK;
}

void mr_engine_free(mr_engine *e)
{
    if (!e)
        return;
    mr_backend_release(e);
    mr_plan_free(e->plan);
    mr_options_release(&e->opt);
    free(e->scratch);
    free(e->xblock);
    free(e);
}

/* Row-major caller rows → the evaluators' column-wise block. */
static void transpose_block(const mr_engine *e, const double *x, size_t n, size_t ld)
{
    mr_transpose_rows(x, ld, e->m->n_features, n, e->xblock, MR_STRIDE);
}

static mr_status check_args(const mr_engine *e, const double *x, size_t n, size_t ld,
                            const void *out, mr_error *err)
{
    mr_err_clear(err);
    RETURN_IF(!e || !out || (n && !x), MR_E_INVAL, err, "NULL argument");
    RETURN_IF(ld < e->m->n_features, MR_E_SHAPE, err,
              "leading dimension %zu is smaller than the model's %zu features", ld,
              e->m->n_features);
    return MR_OK;
}

mr_status mr_predict(mr_engine *e, const double *x, size_t n_rows, size_t ld, double *out,
                     mr_error *err)
{
    FORWARD_IF(check_args(e, x, n_rows, ld, out, err));
    for (size_t r0 = 0; r0 < n_rows; r0 += MR_BLOCK) {
        const size_t n = n_rows - r0 < MR_BLOCK ? n_rows - r0 : MR_BLOCK;
        const size_t r1 = r0 + n, n1 = n_rows - r1 < MR_BLOCK ? n_rows - r1 : MR_BLOCK;
        transpose_block(e, x + r0 * ld, n, ld);
        /* the next block's rows, in caller order (the last row only up to its features) */
        const size_t next_bytes = n1 ? ((n1 - 1) * ld + e->m->n_features) * sizeof *x : 0;
        mr_eval_predict(e->plan, e->xblock, MR_STRIDE, n, e->scratch, out + r0,
                        n1 ? x + r1 * ld : NULL, next_bytes);
    }
    return MR_OK;
}

mr_status mr_design(mr_engine *e, const double *x, size_t n_rows, size_t ld, double *out,
                    size_t ld_out, mr_error *err)
{
    FORWARD_IF(check_args(e, x, n_rows, ld, out, err));
    RETURN_IF(ld_out < e->m->n_terms, MR_E_SHAPE, err,
              "output leading dimension %zu is smaller than the model's %zu terms", ld_out,
              e->m->n_terms);
    for (size_t r0 = 0; r0 < n_rows; r0 += MR_BLOCK) {
        const size_t n = n_rows - r0 < MR_BLOCK ? n_rows - r0 : MR_BLOCK;
        transpose_block(e, x + r0 * ld, n, ld);
        mr_eval_design(e->plan, e->xblock, MR_STRIDE, n, e->scratch, out + r0 * ld_out, ld_out);
    }
    return MR_OK;
}
