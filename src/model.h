/* model.h — the validated, immutable in-memory ModelSpec v1 (see
 * docs/SEMANTICS.md). */
#ifndef MR_MODEL_H
#define MR_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "marsreplay.h"

#define MR_MAX_DEPTH 64 /* parent nesting limit (docs/SEMANTICS.md §1) */

typedef enum {
    MR_KIND_CONSTANT = 0,
    MR_KIND_LINEAR,
    MR_KIND_HINGE,
    MR_KIND_CATEGORICAL,
    MR_KIND_MISSINGNESS,
    MR_KIND_INTERACTION
} mr_kind;

/* One basis term. value = parent1 ? parent1 * own : own (parent on the left);
 * for an interaction, value = parent1 * parent2. */
typedef struct mr_term {
    mr_kind kind;
    int var;                 /* feature index; -1 for constant/interaction */
    bool right;              /* hinge: is_right_hinge */
    double knot;             /* hinge: knot_val */
    double category;         /* categorical: compared with the decoded value */
    struct mr_term *parent1; /* owned; NULL if absent */
    struct mr_term *parent2; /* owned; interaction only */
} mr_term;

/* One class of a categorical encoder: a JSON string or a JSON number. */
typedef struct mr_class {
    bool is_string;
    char *str;    /* is_string: UTF-8 bytes, NUL-terminated (may contain no NUL) */
    size_t len;
    double num;   /* !is_string */
    char *label;  /* text for messages/inspect: the string, or the number printed */
} mr_class;

typedef struct mr_encoder {
    size_t n_classes;
    mr_class *classes;
    size_t most_frequent; /* index into classes */
} mr_encoder;

/* Optional provenance metadata (SEMANTICS "Optional metadata"): informational,
 * never used by the replay and never a reason to reject a model. A member is NULL
 * when absent or not a string. */
typedef struct mr_provenance {
    char *exporter;            /* provenance.exporter */
    char *exporter_version;    /* provenance.exporter_version */
    char *source_tool;         /* provenance.source_tool */
    char *source_tool_version; /* provenance.source_tool_version */
    char *source_runtime;      /* provenance.source_runtime */
    char *module_version;      /* top-level module_version (pymars's own export) */
    bool malformed;            /* provenance (or module_version) present with a wrong type */
} mr_provenance;

struct mr_model {
    char *source;          /* file name or "<buffer>" */
    size_t n_features;
    char **feature_names;  /* n_features names (spec's names or "x<j>") */
    bool *feature_used;    /* n_features: read by some term */
    size_t n_terms;
    mr_term *terms;        /* n_terms top-level terms (parents owned by them) */
    double *coef;          /* n_terms */
    char **term_names;     /* n_terms readable names */
    int *term_degree;      /* n_terms */
    int degree;
    bool allow_missing;
    mr_encoder **encoders; /* n_features entries, NULL for numeric features */
    char sha256[65];       /* hex of the source bytes */
    mr_provenance provenance;
};


#endif
