/*
 * marsreplay.h — the public C API of libmarsreplay (ABI 1.0).
 *
 * libmarsreplay replays fitted MARS models exported as ModelSpec v1 JSON
 * (by pymars / mars-earth). This is the only public header. docs/abi.md has
 * every function's ownership, thread-safety and errors in one table.
 *
 * What is public: the functions marked MR_API, the types, enums and macros
 * below. Everything else is internal and may change in any release: the
 * library's other headers (under src/), the layout of the opaque handles
 * (mr_model, mr_options, mr_engine), any symbol that does not start with
 * mr_ or is not declared here, and the MR_BUILDING_LIBRARY switch.
 *
 * Stability (each section below says which it is):
 *  - stable: signatures, struct layouts, enum values and documented
 *    behaviour hold for every 1.x; a minor release only adds.
 *  - experimental: binary compatible for every 1.x as well (the ABI gate
 *    checks them too), but documented behaviour may change in a minor
 *    release (e.g. the JSON of mr_probe_devices, the fields' meaning in
 *    mr_backend_info).
 *
 * Version rule: a program compiled against header MAJOR.MINOR works with a
 * library of the same MAJOR and a minor >= MINOR (patch levels never
 * matter). Another major is another soname (libmarsreplay.so.MAJOR) and
 * another symbol version node (MARSREPLAY_MAJOR.MINOR), so the dynamic
 * loader refuses it; a host that loads the library itself (dlopen, ctypes)
 * calls mr_version_check() first and refuses a mismatch.
 *
 * Ownership rules (apply everywhere):
 *  - Every object the library allocates has its own *_free(); every *_free()
 *    accepts NULL.
 *  - Pointers passed in (arrays, strings, callbacks' cookies) stay owned by
 *    the caller; the library copies what it keeps beyond the call.
 *  - Strings returned by the library (names, messages) are owned by the
 *    object they came from and live as long as it does.
 *  - An mr_model is immutable after loading and may be shared by any number
 *    of threads and engines. An mr_engine is used by one thread at a time.
 *
 * Errors: every fallible call returns an mr_status and, if the caller passes
 * a non-NULL mr_error *, fills it with where and what. The library never
 * prints, exits or aborts on bad input.
 *
 * Threads and devices: loading the library starts no thread and initialises
 * no device or MPI. Threads exist only inside mr_run() and the Arrow calls
 * (MR_OPT_THREADS > 1), started and joined within the call.
 */
#ifndef MARSREPLAY_H
#define MARSREPLAY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(MR_BUILDING_LIBRARY) && defined(__GNUC__)
#define MR_API __attribute__((visibility("default")))
#else
#define MR_API
#endif

/* ---- version (stable) ---------------------------------------------- */

/* Hand-bumped; meson reads these. The soname is libmarsreplay.so.MAJOR. */
#define MR_VERSION_MAJOR 1
#define MR_VERSION_MINOR 0
#define MR_VERSION_PATCH 0
#define MR_VERSION_PACK(a, b, c) (((a) << 16) | ((b) << 8) | (c))
#define MR_VERSION MR_VERSION_PACK(MR_VERSION_MAJOR, MR_VERSION_MINOR, MR_VERSION_PATCH)

/*! mr_version() : the library's packed version (0x00MMmmpp), to compare
 * with MR_VERSION of the header a program was compiled against. Its name,
 * signature and packing never change, in any major version. */
MR_API unsigned mr_version(void);
/*! mr_version_string() : "1.0.0" plus the git description when built from git. */
MR_API const char *mr_version_string(void);

/* MR_VERSION_COMPATIBLE(lib, hdr): 1 when a library of packed version `lib`
 * can serve a program compiled against packed version `hdr` (the rule above). */
#define MR_VERSION_COMPATIBLE(lib, hdr) \
    (((lib) >> 16) == ((hdr) >> 16) && ((lib) >> 8) >= ((hdr) >> 8))

#define MR_FEATURE_OPENCL (1u << 0) /* built with the OpenCL backend */
#define MR_FEATURE_MPI    (1u << 1) /* the build found MPI: the CLI's MPI module exists
                                       (the library itself never calls MPI) */
#define MR_FEATURE_SIMD   (1u << 2) /* SIMD (AVX2) evaluation kernels compiled in and used
                                       on this CPU */
/*! mr_features() : MR_FEATURE_* bits compiled into this library. */
MR_API unsigned mr_features(void);

/* ---- status and errors (stable) ---------------------------------------- */

/* Append only: a value, once released, never changes meaning or number
 * (tests/abi_pins.c pins them). A caller must accept values it does not know
 * (mr_strerror gives "unknown status" for them). */
typedef enum {
    MR_OK = 0,
    MR_AGAIN = 1,       /* not an error: output buffer full, drain and call again */
    MR_E_NOMEM = 2,     /* allocation failed */
    MR_E_IO = 3,        /* read or write failed (errno in mr_error.sys_errno) */
    MR_E_MODEL = 4,     /* ModelSpec invalid */
    MR_E_PARSE = 5,     /* input data could not be parsed (bad number, bad CSV, bad .npy) */
    MR_E_SHAPE = 6,     /* input shape does not fit the model (columns, widths) */
    MR_E_BACKEND = 7,   /* an accelerator backend failed */
    MR_E_INVAL = 8,     /* invalid argument or option value (caller error) */
    MR_E_DATA = 9,      /* a value is not allowed by the model (missing/inf when
                           allow_missing is false, unknown level with MR_UNKNOWN_ERROR) */
    MR_E_INTERNAL = 10, /* a bug: please report */
    MR_E_VERSION = 11   /* the loaded library cannot serve this program (mr_version_check) */
} mr_status;

/*! mr_strerror() : a short constant description of a status; never NULL. */
MR_API const char *mr_strerror(mr_status s);

/*! mr_version_check() : compiled into the caller (static inline, not a
 * library symbol), so it compares the library actually loaded with the
 * header the caller was compiled against. MR_OK, or MR_E_VERSION when the
 * library's major differs or its minor is older (MR_VERSION_COMPATIBLE): the
 * caller should then stop and say which versions met, e.g. with
 * mr_version_string() and MR_VERSION_MAJOR/MINOR. Calls only mr_version(). */
static inline mr_status mr_version_check(void)
{
    return MR_VERSION_COMPATIBLE(mr_version(), (unsigned)MR_VERSION) ? MR_OK : MR_E_VERSION;
}

/* Where an error happened. Caller-owned; fields that do not apply are 0/"". */
typedef struct mr_error {
    mr_status status;
    int sys_errno;          /* errno for MR_E_IO, else 0 */
    uint64_t line;          /* 1-based physical line in the input (CSV), 0 if n/a */
    uint64_t row;           /* 1-based data row (CSV: excluding the header; a batch: its
                               row), 0 if n/a */
    uint32_t column;        /* 1-based field number in the input record (a batch: its
                               column), 0 if n/a */
    char source[256];       /* file name as given to the library, or "" */
    char field[128];        /* column / feature name, or ""; like text, shown escaped
                               (control bytes and invalid UTF-8 as \n, \xNN...) */
    char json_path[256];    /* ModelSpec: e.g. "basis_terms[3].parent1.knot_val" */
    char text[256];         /* what is wrong, with what was found: one line, no period */
} mr_error;

/* ---- models (stable) -------------------------------------------------- */

typedef struct mr_model mr_model;

/*! mr_model_load_file() : read and fully validate a ModelSpec v1 file.
 * @return MR_OK and *out, or MR_E_IO (cannot read), MR_E_MODEL (invalid:
 * err->json_path and err->text say where and what; also a file over 256 MiB,
 * see mr_model_load_file_opt), MR_E_NOMEM. */
MR_API mr_status mr_model_load_file(const char *path, mr_model **out, mr_error *err);
/*! mr_model_load_buffer() : the same from memory (len bytes, no NUL needed).
 * `source` names the buffer in messages (may be NULL). */
MR_API mr_status mr_model_load_buffer(const char *buf, size_t len, const char *source,
                                      mr_model **out, mr_error *err);
MR_API void mr_model_free(mr_model *m);

MR_API size_t mr_model_n_features(const mr_model *m);
/*! Feature name j (the spec's feature_names, else "x<j>"). NULL if out of range. */
MR_API const char *mr_model_feature_name(const mr_model *m, size_t j);
/*! 1 if feature j has a categorical encoder, else 0. */
MR_API int mr_model_feature_is_categorical(const mr_model *m, size_t j);
/*! 1 if some term reads feature j, else 0. */
MR_API int mr_model_feature_is_used(const mr_model *m, size_t j);
MR_API size_t mr_model_n_terms(const mr_model *m);
/*! Readable name of top-level term i, e.g. "h(x0-0.885)*x1"; NULL if out of range. */
MR_API const char *mr_model_term_name(const mr_model *m, size_t i);
MR_API double mr_model_coefficient(const mr_model *m, size_t i);
/*! Interaction degree of term i (number of variable factors), 0 for constants. */
MR_API int mr_model_term_degree(const mr_model *m, size_t i);
/*! The model's maximal term degree. */
MR_API int mr_model_degree(const mr_model *m);
/*! 1 if missing values / inf are allowed in the input (params.allow_missing). */
MR_API int mr_model_allow_missing(const mr_model *m);
/*! Lower-case hex SHA-256 of the model file's bytes (64 chars). */
MR_API const char *mr_model_sha256(const mr_model *m);
/*! mr_model_metadata() : the file's optional provenance (docs/SEMANTICS.md §9):
 * key "exporter", "exporter_version", "source_tool", "source_tool_version",
 * "source_runtime" (members of "provenance") or "module_version"; NULL when
 * absent or not a string. Key "malformed" gives "1" when one of them had the
 * wrong type (it was ignored), else NULL. Never used for replay. */
MR_API const char *mr_model_metadata(const mr_model *m, const char *key);
/*! Number of classes of categorical feature j (0 if numeric); class k as text. */
MR_API size_t mr_model_n_classes(const mr_model *m, size_t j);
MR_API const char *mr_model_class_label(const mr_model *m, size_t j, size_t k);

/* ---- options (stable; MR_OPT_DEVICE and MR_OPT_PRECISION: experimental) - */

typedef struct mr_options mr_options;

typedef enum {
    MR_OPT_THREADS = 1,       /* int: evaluation workers, >= 1 (default 1 = no pool: the
                                 calling thread does everything); with N > 1 the workers
                                 decode and evaluate (and, given mr_io.read_at, read their
                                 own chunks) while the calling thread writes in order; the
                                 Arrow calls split a batch of 16384 rows or more over them.
                                 Values never depend on it */
    MR_OPT_CHUNK_ROWS = 2,    /* int: rows per chunk; 0 (default) = 8192 for inputs of up to
                                 32 columns, else 262144 / columns (at least 64) */
    MR_OPT_INPUT_FORMAT = 3,  /* int: mr_format (default MR_FMT_AUTO) */
    MR_OPT_OUTPUT_FORMAT = 4, /* int: mr_format (default MR_FMT_CSV) */
    MR_OPT_HEADER = 5,        /* int: 1 = CSV input has a header line (default 1) */
    MR_OPT_OUT_HEADER = 6,    /* int: 1 = CSV output starts with a header (default 1) */
    MR_OPT_DELIMITER = 7,     /* str: one byte (default ",") */
    MR_OPT_NAMES = 8,         /* str: comma-separated column names for headerless CSV
                                 (setting them sets MR_OPT_HEADER 0) */
    MR_OPT_NA_TOKENS = 9,     /* str: comma-separated missing tokens ("" entry = empty
                                 field); default ",NA,NaN,nan" */
    MR_OPT_NA_COLUMN = 10,    /* str: "COL=TOK1,TOK2": per-column tokens; repeatable */
    MR_OPT_KEEP = 11,         /* str: comma-separated input columns copied to the front of
                                 each output row (CSV input and output only) */
    MR_OPT_UNKNOWN_LEVEL = 12,/* int: mr_unknown_level (default MR_UNKNOWN_MODE) */
    MR_OPT_NA_OUT = 13,       /* str: text for a NaN output value (default "nan") */
    MR_OPT_MODE = 14,         /* int: mr_mode (default MR_MODE_PREDICT) */
    MR_OPT_COLS = 15,         /* int: columns of raw f64 input (default: n_features) */
    MR_OPT_NAMES_FROM_MODEL = 16, /* int: 1 = headerless CSV in the model's feature order
                                 (sets MR_OPT_HEADER 0) */
    MR_OPT_MAX_RECORD_BYTES = 17, /* int: longest accepted CSV record (default 64 MiB) */
    /* 18..29: the OpenCL backend (docs/accelerator.md); mr_run only: mr_predict,
     * mr_design and the batch calls always run on the CPU */
    MR_OPT_DEVICE = 18,       /* str: "cpu" (default: no OpenCL call at all), "opencl" (the
                                 first usable device, GPUs/accelerators first; fails with
                                 MR_E_BACKEND if none), "opencl:P.D" (platform P, device D
                                 as numbered by mr_probe_devices), "auto" (a usable GPU or
                                 accelerator, else the CPU path: see mr_engine_backend) */
    MR_OPT_PRECISION = 19,    /* str: device arithmetic, "double" (default; bit-identical to
                                 the CPU) or "single" (float; docs/tolerance.md; needed for
                                 devices without fp64). The CPU path is always double */
    MR_OPT_CHUNK_BYTES = 20,  /* int: with a positional reader (mr_io.read_at), CSV chunks
                                 are cut every this many input bytes by the workers
                                 themselves; 0 (default) = 1 MiB. MR_OPT_CHUNK_ROWS > 0
                                 makes CSV input cut by rows in the calling thread */
    MR_OPT_MAX_MEMORY = 21,   /* int: bytes; 0 (default) = no cap. Chunks are sized from
                                 the input's row width (CSV: sampled from its first MiB)
                                 so that the pipeline's buffers (mr_run_stats.buffer_bytes)
                                 stay under it; MR_E_INVAL, before any output, when even
                                 16 rows per chunk do not fit. Records much longer than
                                 the sampled ones can exceed it */
    MR_OPT_NO_CACHE = 22,     /* int: 1 = the OpenCL program-binary cache is neither read
                                 nor written (default 0: used only in a directory that
                                 nobody else can write; docs/accelerator.md) */
    MR_OPT_MAX_MODEL_BYTES = 23,/* int: the largest model file mr_model_load_file_opt reads,
                                 >= 1 (default 256 MiB, also mr_model_load_file's): a bigger
                                 one is MR_E_MODEL before it is read whole */
    MR_OPT_STRICT_COLUMNS = 24  /* int: 1 = every model feature must be a CSV input column,
                                 also one no term uses (default 0: an unused feature may be
                                 absent; mr_column_stats.absent says so) */
} mr_option;

typedef enum { MR_FMT_AUTO = 0, MR_FMT_CSV = 1, MR_FMT_NPY = 2, MR_FMT_F64 = 3 } mr_format;
typedef enum { MR_UNKNOWN_MODE = 0, MR_UNKNOWN_NAN = 1, MR_UNKNOWN_ERROR = 2 } mr_unknown_level;
typedef enum { MR_MODE_PREDICT = 0, MR_MODE_DESIGN = 1, MR_MODE_CHECK = 2 } mr_mode;

MR_API mr_status mr_options_create(mr_options **out);
MR_API void mr_options_free(mr_options *o);
/*! Set an integer option. MR_E_INVAL for an unknown option or bad value. */
MR_API mr_status mr_options_set_int(mr_options *o, mr_option opt, int64_t value);
/*! Set a string option (copied). MR_E_INVAL for an unknown option or bad value. */
MR_API mr_status mr_options_set_str(mr_options *o, mr_option opt, const char *value);

/*! mr_model_load_file_opt() : mr_model_load_file with options: only
 * MR_OPT_MAX_MODEL_BYTES is read (opt NULL: the defaults). A regular file
 * over the limit is refused from its size, before it is read; a pipe when it
 * passes it. */
MR_API mr_status mr_model_load_file_opt(const char *path, const mr_options *opt, mr_model **out,
                                        mr_error *err);

/* ---- in-memory evaluation (stable) ------------------------------------ */

typedef struct mr_engine mr_engine;

/*! mr_engine_create() : compile the model into an evaluation plan.
 * The engine keeps a reference to `m`: free the engine before the model.
 * `o` may be NULL (defaults); it is copied. */
MR_API mr_status mr_engine_create(const mr_model *m, const mr_options *o, mr_engine **out,
                                  mr_error *err);
MR_API void mr_engine_free(mr_engine *e);

/*! mr_predict() : predictions for n_rows rows of decoded feature values.
 * Row r, feature j is x[r*ld + j] (ld >= n_features); NaN means missing.
 * Categorical features take the class index (0..n_classes-1) here
 * (MR_CATEGORIES_INDEX), unchecked; the batch calls below take either coding
 * and check every cell. Does not check allow_missing. out[r] receives row r's prediction; a NaN
 * result is always +NaN (0x7ff8000000000000), here and in mr_design. */
MR_API mr_status mr_predict(mr_engine *e, const double *x, size_t n_rows, size_t ld,
                            double *out, mr_error *err);
/*! mr_design() : the basis matrix: out[r*ld_out + i] = value of term i. */
MR_API mr_status mr_design(mr_engine *e, const double *x, size_t n_rows, size_t ld,
                           double *out, size_t ld_out, mr_error *err);

/* ---- batches on caller-owned memory (stable) --------------------------------
 * A batch is a strided view of doubles that the caller owns: row-major,
 * column-major, or a slice of either (e.g. every other row of a larger
 * array). Unlike mr_predict, the batch calls decode and check every cell as
 * mars-replay does for .npy input: NaN is missing (an error unless the model
 * allows missing values, as is +-inf), categorical cells are matched to the
 * model's classes, unseen labels follow MR_OPT_UNKNOWN_LEVEL. So a batch
 * gives the bits `mars-replay predict` gives for the same values. */

/* Per-feature counters, in model feature order. */
typedef struct mr_column_stats {
    uint64_t missing;         /* cells read as missing */
    uint64_t unknown;         /* categorical labels not among the classes */
    uint64_t first_unknown_row; /* 1-based data row of the first unknown label, 0 if none */
    char first_unknown[64];   /* that label (truncated) */
    uint64_t absent;          /* 1: a feature no term uses, absent from the CSV columns
                                 (allowed unless MR_OPT_STRICT_COLUMNS) */
    uint64_t reserved[3];     /* 0; room for counters of later 1.x minors */
} mr_column_stats;

/* How a categorical feature's cells are coded in a batch. */
typedef enum {
    MR_CATEGORIES_LABEL = 0, /* the class label's numeric value, as in .npy and raw f64
                                input (classes with text labels cannot be matched: such a
                                cell is an unseen label) */
    MR_CATEGORIES_INDEX = 1  /* the class index, 0..n_classes-1, as mr_predict takes;
                                another value (not a whole number in range) is MR_E_DATA */
} mr_categories;

typedef struct mr_batch {
    const double *data;     /* cell (row r, feature j): data[r * row_stride + j * col_stride] */
    size_t n_rows;
    size_t n_cols;          /* must equal mr_model_n_features(): columns in feature order */
    ptrdiff_t row_stride;   /* in elements (doubles), not bytes; may be negative */
    ptrdiff_t col_stride;
    int categories;         /* mr_categories (0: MR_CATEGORIES_LABEL) */
    void *reserved[4];      /* must be zero (MR_E_INVAL otherwise): room for later minors */
} mr_batch;

/*! mr_batch_rows() / mr_batch_columns() : the batch of a row-major array
 * (cell (r, j) at x[r*ld + j]) or a column-major one (at x[j*ld + r]),
 * categories coded as labels. */
static inline mr_batch mr_batch_rows(const double *x, size_t n_rows, size_t n_cols, size_t ld)
{
    mr_batch b = {x, n_rows, n_cols, (ptrdiff_t)ld, 1, MR_CATEGORIES_LABEL, {0, 0, 0, 0}};
    return b;
}
static inline mr_batch mr_batch_columns(const double *x, size_t n_rows, size_t n_cols, size_t ld)
{
    mr_batch b = {x, n_rows, n_cols, 1, (ptrdiff_t)ld, MR_CATEGORIES_LABEL, {0, 0, 0, 0}};
    return b;
}

/*! mr_predict_batch() : out[r] = the prediction of row r (n_rows doubles,
 * caller-owned; a NaN result is +NaN). Errors: MR_E_INVAL (NULL pointer, a
 * bad `categories`, non-zero `reserved`), MR_E_SHAPE (n_cols is not the
 * feature count), MR_E_DATA for the first bad cell in row order (err->row
 * and err->column are its 1-based row and column, err->field the feature):
 * then every out[r] is NaN. */
MR_API mr_status mr_predict_batch(mr_engine *e, const mr_batch *x, double *out, mr_error *err);
/*! mr_design_batch() : the basis matrix; the value of term i for row r goes
 * to out[r * out_row_stride + i * out_col_stride] (strides in elements).
 * Errors as mr_predict_batch; on error every output cell is NaN. */
MR_API mr_status mr_design_batch(mr_engine *e, const mr_batch *x, double *out,
                                 ptrdiff_t out_row_stride, ptrdiff_t out_col_stride,
                                 mr_error *err);
/*! mr_validate() : check every cell of a batch as mr_predict_batch would,
 * evaluating nothing. Returns MR_OK, or the status of the first bad cell in
 * row order with err->row / err->column / err->field naming it. `columns`
 * (NULL, or n_cols entries, caller-owned) receives the whole batch's counts
 * per feature: missing cells (also those not allowed) and unseen labels
 * (also with MR_UNKNOWN_ERROR), with the first unseen label and its row. */
MR_API mr_status mr_validate(mr_engine *e, const mr_batch *x, mr_column_stats *columns,
                             mr_error *err);

/* ---- streaming (stable; mr_run_stats' cpu_* timings: experimental) ---------
 * mr_run() reads a whole input stream, evaluates it with a pool of
 * MR_OPT_THREADS workers in chunks of MR_OPT_CHUNK_ROWS rows, and writes the
 * formatted output strictly in input order. The output bytes do not depend on
 * the thread count or the chunk size. Memory is bounded by
 * (2 x threads) chunks, independent of the input length.
 *
 * On error, output of the chunks before the failing one may have been
 * written (never a partial row, never a row after it); err names the first
 * failing row, as a single-threaded run would. */

/* Read up to cap bytes; return the count, 0 at end of input, -1 on error with
 * errno set. The library retries nothing: retries are the caller's policy. */
typedef long (*mr_read_fn)(void *cookie, void *buf, size_t cap);
/* Write all len bytes; return 0, or -1 with errno set. */
typedef int (*mr_write_fn)(void *cookie, const void *buf, size_t len);
/* Write len bytes at byte offset `offset` of the output (already written
 * before); return 0, or -1 with errno set. Only needed for .npy output whose
 * row count is not known in advance (CSV or raw input). */
typedef int (*mr_pwrite_fn)(void *cookie, const void *buf, size_t len, uint64_t offset);
/* Read up to cap bytes at byte `offset` of the input, counted from where
 * mr_read_fn starts; return the count (short only at the end), or -1 with
 * errno set. Called from several worker threads at once (pread is). */
typedef long (*mr_read_at_fn)(void *cookie, void *buf, size_t cap, uint64_t offset);

struct mr_commit;

typedef struct mr_io {
    mr_read_fn read;
    void *read_cookie;
    const char *source;       /* input name for messages ("-" or "<stdin>" for stdin) */
    mr_write_fn write;        /* may be NULL in MR_MODE_CHECK */
    mr_pwrite_fn pwrite;      /* may be NULL: .npy output then needs a known row count */
    void *write_cookie;       /* for write and pwrite */
    const char *sink;         /* output name for messages ("<stdout>", a path); may be NULL */
    /* Optional, for a seekable input (a regular file): with read_at, the
     * header is read with `read` and the workers then read their own chunks
     * of the first `size` bytes (a snapshot: bytes appended later are not
     * read; an input found shorter is an MR_E_IO error). */
    mr_read_at_fn read_at;    /* uses read_cookie */
    uint64_t size;            /* input bytes from where `read` starts */
    /* 1: the output is thrown away unless mr_run succeeds (a temporary file
     * renamed on success) and pwrite may be called from several threads:
     * fixed-width output (.npy, f64) of a split binary input is then written
     * by the workers at each chunk's own offset, not in order */
    int write_any_order;
    /* Optional: called by the writing thread after each chunk's output is
     * written, in input order (also with write_any_order: every chunk before
     * is then written too), with what is done so far. Return 0 to go on;
     * anything else stops the run before the next chunk with MR_E_IO and
     * err->sys_errno = errno as the callback left it (a failed fdatasync, or
     * ECANCELED for a stop the caller asked for). */
    int (*commit)(void *cookie, const struct mr_commit *done);
    void *commit_cookie;
    /* Optional, for an input that is a pipe or a socket (Linux): move up to
     * `len` bytes of the input, from where `read` left off, into the pipe
     * `pipe_fd` without copying them through user memory (splice(2) with
     * SPLICE_F_MOVE); return as `read` does. With it and worker threads,
     * the workers copy the input's bytes out, not the calling thread
     * (mr_run_stats.split = 2). A first call that fails with EINVAL, ENOSYS
     * or EBADF, with nothing moved, makes the run use `read` instead. */
    long (*read_into_pipe)(void *read_cookie, int pipe_fd, size_t len);
    /* Room for fields of later 1.x minors, which will treat 0/NULL as "not
     * given": zero-initialise the whole struct (= {0}, designated
     * initialisers or memset). */
    void *reserved[5];
} mr_io;

/* What mr_io.commit is told: the input up to `in_offset` (counted like
 * mr_io.size, from where `read` starts) gave exactly the first `out_bytes`
 * bytes of the output, header included. */
typedef struct mr_commit {
    uint64_t in_offset;       /* the next chunk's first record starts here */
    uint64_t rows;            /* data rows before it */
    uint64_t lines;           /* CSV: physical lines of data before it (header excluded) */
    uint64_t out_bytes;       /* output bytes written, all of them in order */
    uint64_t reserved[4];     /* 0; room for later 1.x minors */
} mr_commit;

typedef struct mr_run_stats {
    uint64_t rows_in;
    uint64_t rows_out;
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t chunks;
    uint64_t buffer_bytes;    /* peak bytes held by the pipeline's buffers */
    uint32_t threads;         /* workers actually used */
    size_t n_columns;         /* entries in `columns` (= n_features) */
    mr_column_stats *columns; /* owned by the stats: release with mr_run_stats_free */
    /* CPU seconds by role (CLOCK_THREAD_CPUTIME_ID). The calling thread's
     * share, (read + write) / (read + write + workers), is what caps the
     * speed-up of more workers: at most 1 / that share. */
    double cpu_read_seconds;  /* calling thread: reading, headers, cutting, submitting */
    double cpu_write_seconds; /* calling thread: waiting aside, ordering and writing */
    double cpu_worker_seconds;/* all chunk jobs (in the calling thread too when serial) */
    uint32_t split;           /* 1: the workers read their own chunks (mr_io.read_at);
                                 2: they copied a pipe's blocks out (mr_io.read_into_pipe) */
    uint64_t lines_in;        /* CSV: physical lines of data read (after the header) */
    uint32_t redone_chunks;   /* split CSV: chunks whose quote parity guess was wrong */
    uint32_t last_record_unterminated; /* CSV: the last record had no line end (cut short?) */
    uint64_t reserved[8];     /* 0; room for counters of later 1.x minors */
} mr_run_stats;

/* Progress callback: called from the writing thread after each chunk with
 * rows written so far and input bytes consumed. Optional. */
typedef void (*mr_progress_fn)(void *cookie, uint64_t rows, uint64_t bytes_in);

/*! mr_run() : stream the input through the engine to the output.
 * `stats` may be NULL; when given, it is filled also on failure (what was
 * done until then); release it with mr_run_stats_free(). */
MR_API mr_status mr_run(mr_engine *e, const mr_io *io, mr_progress_fn progress,
                        void *progress_cookie, mr_run_stats *stats, mr_error *err);
MR_API void mr_run_stats_free(mr_run_stats *stats);

/* ---- accelerator backend (experimental) ---------------------------------- */

/* Which backend the engine's last mr_run() used and where its time went.
 * Caller-owned; nothing to free. Times are seconds; device times come from
 * OpenCL profiling events, summed over all batches and workers. */
typedef struct mr_backend_info {
    char requested[32];       /* MR_OPT_DEVICE as set ("cpu" by default) */
    char used[16];            /* "cpu" or "opencl" */
    char precision[8];        /* "double" or "single" */
    int platform_index;       /* the device as numbered by mr_probe_devices; -1 on the CPU */
    int device_index;
    char platform[128];       /* OpenCL platform and device names; "" on the CPU */
    char device[128];
    char fallback[256];       /* why the CPU ran though "auto" asked for a device; "" if not */
    int kernel_cached;        /* 1: program binary loaded from the cache, 0: built from source */
    char cache[320];          /* the cache file used or written, or why no cache was used */
    double setup_seconds;     /* loader, context, program (built or cached), buffers: paid once
                                 per engine, by its first device run */
    double build_seconds;     /* clBuildProgram alone (also needed for a cached binary) */
    double write_seconds;     /* host -> device transfers */
    double kernel_seconds;    /* kernel execution */
    double read_seconds;      /* device -> host transfers */
    double wait_seconds;      /* host threads blocked waiting for the device */
    uint64_t batches;         /* device batches (kernel launches) */
    uint64_t bytes_to_device, bytes_from_device;
    uint64_t reserved[8];     /* 0; room for fields of later 1.x minors */
} mr_backend_info;

/*! mr_engine_backend() : the backend of the engine's last mr_run() (before any
 * run: the CPU, with `requested` filled). MR_E_INVAL for NULL arguments. */
MR_API mr_status mr_engine_backend(const mr_engine *e, mr_backend_info *out);

/*! mr_probe_devices() : every OpenCL platform and device with the facts that
 * decide usability, as JSON text in *json (owned by the caller: release it with
 * mr_string_free). This loads the OpenCL ICD loader (nothing else does, except
 * mr_run with MR_OPT_DEVICE "opencl*" or "auto"). A machine without OpenCL is
 * not an error: the JSON says "available": false and why. Format: see
 * docs/accelerator.md. MR_E_NOMEM, MR_E_INVAL (NULL json). */
MR_API mr_status mr_probe_devices(char **json, mr_error *err);
/*! mr_string_free() : release a string the library returned to the caller. */
MR_API void mr_string_free(char *s);

/* ---- partitioning one seekable input: MPI ranks, job arrays (experimental) --
 * The library cuts its own formats, so that callers spreading one input over
 * processes never re-derive its header, record or row layout. Part k of n
 * is shown to mr_run as one input: bytes [0, head_end) (the CSV header and
 * BOM), or `prefix` (a .npy header for the part's rows alone), then
 * [start, end). Global row and line numbers are the part's plus
 * rows_before / lines_before. See docs/distributed.md. */
typedef struct mr_part {
    int format;               /* MR_FMT_CSV, MR_FMT_NPY or MR_FMT_F64 */
    int whole;                /* a binary input that cannot be cut (bad .npy header or
                                 size): part 0 gets [0, size) so that mr_run reports why */
    int empty;                /* ... and the other parts then read nothing */
    uint64_t head_end;        /* CSV: bytes every part reads first; binary: first data byte */
    uint64_t start, end;      /* this part: whole records (CSV) or rows */
    uint64_t rows_before;     /* data rows before start */
    uint64_t lines_before;    /* CSV: '\n' in [head_end, start) */
    uint64_t rows;            /* binary: rows of this part */
    uint64_t total_rows;      /* binary: rows of the input */
    unsigned char prefix[256];/* .npy: the header to read instead of [0, head_end) */
    size_t prefix_len;
    uint64_t cols;            /* binary: values per row */
    uint32_t itemsize;        /* binary: bytes per value (8, or 4 for float32 .npy) */
    uint32_t pad_;
    uint64_t reserved[4];     /* zero; room for 1.x additions */
} mr_part;

/*! mr_input_part() : part k of n (k < n) of an input of `size` bytes read
 * through read_at (offsets from 0), with opt's MR_OPT_INPUT_FORMAT,
 * MR_OPT_HEADER and MR_OPT_COLS (m: the feature count when MR_OPT_COLS is
 * 0). CSV parts are cut at record ends: the quote parity at part k's
 * anchor and at part k+1's comes from `parity` (an MPI job's exclusive XOR
 * scan of mr_input_part_parity), or, with parity NULL, from counting
 * everything before the part here (a job-array task alone: it reads the
 * input up to its part once, and also counts rows_before/lines_before).
 * MR_E_IO (errno in err->sys_errno), MR_E_INVAL, MR_E_NOMEM. Thread-safe. */
MR_API mr_status mr_input_part(const mr_options *opt, const mr_model *m, mr_read_at_fn read_at,
                               void *cookie, uint64_t size, uint64_t k, uint64_t n,
                               const int parity[2], mr_part *out, mr_error *err);
/* The CSV scan state at a byte offset: what mr_input_part counts from the
 * data's start when a part is cut alone. */
typedef struct mr_part_state {
    uint64_t offset;          /* in [head_end, size) */
    uint64_t records;         /* record ends (data rows) in [head_end, offset) */
    uint64_t lines;           /* '\n' in [head_end, offset) */
    int in_quotes;            /* the quote parity at offset */
} mr_part_state;
/*! mr_input_part_checkpoints() : CSV: scan the whole input once and call emit
 * with the state at head_end + i * every for i = 0, 1, ... (an index that
 * callers keep beside the input). emit returns 0 to go on. MR_E_INVAL for
 * non-CSV input. */
MR_API mr_status mr_input_part_checkpoints(const mr_options *opt, mr_read_at_fn read_at, void *cookie,
                                           uint64_t size, uint64_t every,
                                           int (*emit)(void *ctx, const mr_part_state *state),
                                           void *ctx, uint64_t *head_end, mr_error *err);
/*! mr_input_part_from() : mr_input_part for a task alone, counting from the
 * last of `states` (ascending, from mr_input_part_checkpoints over the same
 * input and options: the caller checks that) at or before the part instead
 * of from the data's start: it reads at most one checkpoint step before its
 * part. Binary input: as mr_input_part. */
MR_API mr_status mr_input_part_from(const mr_options *opt, const mr_model *m, mr_read_at_fn read_at,
                                    void *cookie, uint64_t size, uint64_t k, uint64_t n,
                                    const mr_part_state *states, size_t nstates, mr_part *out,
                                    mr_error *err);
/*! mr_input_part_parity() : CSV: the parity of the quotes between part k's
 * anchor and part k+1's (0 for binary input). Part k's parity[0] is the XOR
 * of those of parts 0..k-1; parity[1] is that XOR with part k's own. */
MR_API mr_status mr_input_part_parity(const mr_options *opt, mr_read_at_fn read_at, void *cookie,
                                      uint64_t size, uint64_t k, uint64_t n, int *parity,
                                      mr_error *err);
/*! mr_input_part_advance() : the part now starts at input offset `at`, a
 * record boundary (CSV) or row boundary (binary) inside it, after `rows`
 * data rows and `lines` CSV lines of the input (what mr_io.commit reported,
 * made global): a stopped run resumed there. A .npy part gets the header
 * of its remaining rows. MR_E_INVAL when `at` is not such a place in this
 * part (a journal of another plan). */
MR_API mr_status mr_input_part_advance(mr_part *p, uint64_t at, uint64_t rows, uint64_t lines,
                                       mr_error *err);
/*! mr_npy_output_header() : the .npy header the library writes before float64
 * output of `rows` rows in `mode`: MR_MODE_PREDICT a 1-D array (cols
 * ignored), MR_MODE_DESIGN a rows x cols matrix (also for cols 0), for
 * callers that put parts of one output together (MPI ranks, merging a job
 * array). Its length does not depend on rows. Returns the length, 0 if cap
 * is too small. */
MR_API size_t mr_npy_output_header(unsigned char *buf, size_t cap, uint64_t rows, uint64_t cols, int mode);

/* ---- Arrow interchange (stable) ---------------------------------------------
 * Arrow record batches in, predictions or design matrices out, through the
 * Arrow C Data Interface and C Stream Interface (docs/arrow.md). No Arrow
 * library is needed on either side.
 *
 * The three structs below are the Arrow specification's ABI, written from
 * its "C Data Interface" and "C Stream Interface" pages, under the
 * specification's own guards: a program
 * that includes Arrow's header (or another copy) as well gets one
 * definition. */

#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE

#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE 2
#define ARROW_FLAG_MAP_KEYS_SORTED 4

struct ArrowSchema {
    /* the type: a format string ("g" float64, "u" utf8, "+s" struct ...) */
    const char *format;
    const char *name;
    const char *metadata;
    int64_t flags;
    int64_t n_children;
    struct ArrowSchema **children;
    struct ArrowSchema *dictionary;
    /* releases this schema and its children; NULL once released */
    void (*release)(struct ArrowSchema *);
    void *private_data;
};

struct ArrowArray {
    /* the data: lengths and offsets count elements, not bytes */
    int64_t length;
    int64_t null_count;
    int64_t offset;
    int64_t n_buffers;
    int64_t n_children;
    const void **buffers;
    struct ArrowArray **children;
    struct ArrowArray *dictionary;
    /* releases this array and its children; NULL once released */
    void (*release)(struct ArrowArray *);
    void *private_data;
};

#endif /* ARROW_C_DATA_INTERFACE */

#ifndef ARROW_C_STREAM_INTERFACE
#define ARROW_C_STREAM_INTERFACE

struct ArrowArrayStream {
    /* 0, or an errno value; get_last_error then says why (valid until the
     * next call on the stream) */
    int (*get_schema)(struct ArrowArrayStream *, struct ArrowSchema *out);
    /* the next batch; a released array (release == NULL) at the end */
    int (*get_next)(struct ArrowArrayStream *, struct ArrowArray *out);
    const char *(*get_last_error)(struct ArrowArrayStream *);
    void (*release)(struct ArrowArrayStream *);
    void *private_data;
};

#endif /* ARROW_C_STREAM_INTERFACE */

/* Input: a record batch is a struct array ("+s") whose fields are matched
 * to the model's features by name, as CSV header names are (a field name
 * given twice is refused, a feature without a field is MR_E_SHAPE, other
 * fields are ignored). A feature's field may be float64, float32, int8..64,
 * uint8..64, utf8, large_utf8 or utf8_view, or dictionary-encoded with any
 * of these as values and integer indices. Numbers are decoded as .npy cells are and
 * strings as CSV cells are (the engine's MR_OPT_NA_TOKENS / NA_COLUMN, class
 * labels, MR_OPT_UNKNOWN_LEVEL); a null (validity bitmap) is a missing value.
 * Offsets on the struct and on the fields are honoured. A batch whose only
 * field is a fixed_size_list<float64>[n_features] ("+w:N") is read as rows
 * instead (a NumPy array's layout): value j of a row is feature j, decoded
 * as a .npy cell.
 *
 * Errors: mr_error.row is the 1-based row (counted across the whole stream
 * for stream calls), .column the 1-based field of the struct, .field the
 * feature name; MR_E_SHAPE (missing feature, unsupported type, a malformed
 * array or schema), MR_E_PARSE (a string that is not a number), MR_E_DATA
 * (as for CSV), MR_E_IO (the producer failed: its get_last_error text is in
 * .text). A bad cell reported is the first in row order (then in the
 * model's feature order), as the CLI reports it. On error the caller's
 * output is unspecified.
 *
 * Threads: one call per engine at a time (the calls use the engine's
 * buffers). With the engine's MR_OPT_THREADS > 1, a batch of at least 16384
 * rows is cut into chunks of whole rows that that many workers, started and
 * joined inside the call (inside each get_next of an exported stream),
 * decode and evaluate; the values, errors and counts are those of one
 * thread. Input schemas, arrays and streams are read, never modified, except
 * where a call says it takes the stream; producers' callbacks are called
 * from the calling thread only. */

/*! mr_arrow_predict() : predictions for one record batch (schema and array
 * stay the caller's, not released): out[r] for r < batch->length. */
MR_API mr_status mr_arrow_predict(mr_engine *e, const struct ArrowSchema *schema,
                                  const struct ArrowArray *batch, double *out, mr_error *err);
/*! mr_arrow_design() : the basis matrix of one record batch:
 * out[r*ld_out + i] = value of term i (ld_out >= mr_model_n_terms). */
MR_API mr_status mr_arrow_design(mr_engine *e, const struct ArrowSchema *schema,
                                 const struct ArrowArray *batch, double *out, size_t ld_out,
                                 mr_error *err);
/*! mr_arrow_stream_collect() : read the whole stream `in` and evaluate it in
 * `mode` (MR_MODE_PREDICT: one value per row; MR_MODE_DESIGN: n_terms values
 * per row, row-major). The call takes `in`: it is released before return,
 * whatever happens. On success *out holds *n_rows rows in a buffer now owned
 * by the caller (free it with mr_buffer_free; NULL when there are no rows);
 * on error *out is NULL. */
MR_API mr_status mr_arrow_stream_collect(mr_engine *e, struct ArrowArrayStream *in, int mode,
                                         double **out, size_t *n_rows, mr_error *err);
/*! mr_arrow_stream_export() : a stream `out` that yields, for each batch of
 * `in`, a struct batch of float64 fields ("prediction", or one per term named
 * as mr_model_term_name). It takes `in` (released when `out` is released, or
 * now if the call fails). Evaluation happens in out's get_next, which fails
 * with EINVAL (a bad cell or batch), EIO (the producer failed) or ENOMEM and
 * says why in out's get_last_error. Each exported schema and array has its own
 * release callback, as the specification asks; their children may be moved
 * out and released separately. The engine must outlive `out` and not be used
 * elsewhere while out's get_next runs. */
MR_API mr_status mr_arrow_stream_export(mr_engine *e, struct ArrowArrayStream *in, int mode,
                                        struct ArrowArrayStream *out, mr_error *err);
/*! mr_arrow_validate() : check every cell of one record batch as
 * mr_arrow_predict would, evaluating nothing: mr_validate for Arrow input.
 * Returns MR_OK, or the error mr_arrow_predict would return: a schema or
 * batch that does not fit (MR_E_SHAPE, MR_E_INVAL), else the first bad cell
 * in row order (MR_E_DATA, MR_E_PARSE, or MR_E_SHAPE for a malformed cell)
 * with err->row / column / field naming it. `columns` (NULL, or
 * mr_model_n_features entries in the model's feature order, caller-owned)
 * receives every feature's counts over the whole batch, as mr_validate's:
 * missing cells (nulls, NaN, missing tokens; also those not allowed), unseen
 * labels (also with MR_UNKNOWN_ERROR) with the first one and its row; a
 * malformed cell stops the counting there. */
MR_API mr_status mr_arrow_validate(mr_engine *e, const struct ArrowSchema *schema,
                                   const struct ArrowArray *batch, mr_column_stats *columns,
                                   mr_error *err);
/*! mr_arrow_stream_validate() : the same over a whole stream, which the call
 * takes (released before return, whatever happens). A bad cell does not stop
 * the reading: the counts cover every row read (*n_rows, may be NULL); a
 * malformed batch or cell or a failing producer (MR_E_IO) stops it. The
 * status and err are the first error in row order of all that was read:
 * what mr_arrow_stream_collect would return. */
MR_API mr_status mr_arrow_stream_validate(mr_engine *e, struct ArrowArrayStream *in,
                                          mr_column_stats *columns, uint64_t *n_rows,
                                          mr_error *err);
/*! mr_buffer_free() : release a buffer the library handed to the caller. */
MR_API void mr_buffer_free(void *p);

#ifdef __cplusplus
}
#endif
#endif /* MARSREPLAY_H */
