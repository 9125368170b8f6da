/* inspect.c — human-readable and JSON model summaries. */
#include "inspect.h"

#include <jansson.h>
#include <stdio.h>

#include "cli_io.h"
#include "report.h"

/* A string from the model on one line (src/escape.h). */
static void put_meta(const char *s)
{
    cli_put_escaped(stdout, s, 0);
}

/* "exporter:" and "source:" lines (SEMANTICS "Optional metadata"). */
/* The provenance as the library gives it (NULL: absent). */
typedef struct provenance {
    const char *exporter, *exporter_version, *source_tool, *source_tool_version, *source_runtime,
        *module_version;
    int malformed;
} provenance;

static provenance provenance_of(const mr_model *m)
{
    return (provenance){
        .exporter = mr_model_metadata(m, "exporter"),
        .exporter_version = mr_model_metadata(m, "exporter_version"),
        .source_tool = mr_model_metadata(m, "source_tool"),
        .source_tool_version = mr_model_metadata(m, "source_tool_version"),
        .source_runtime = mr_model_metadata(m, "source_runtime"),
        .module_version = mr_model_metadata(m, "module_version"),
        .malformed = mr_model_metadata(m, "malformed") != NULL,
    };
}

static void inspect_provenance_text(const mr_model *m)
{
    const provenance pv = provenance_of(m), *p = &pv;
    const char *tool_version = p->source_tool_version ? p->source_tool_version : p->module_version;
    printf("exporter:   ");
    if (p->exporter || p->exporter_version) {
        put_meta(p->exporter ? p->exporter : "(unnamed)");
        if (p->exporter_version) {
            putchar(' ');
            put_meta(p->exporter_version);
        }
    } else {
        printf("not stated");
    }
    printf("\nsource:     ");
    if (p->source_tool || tool_version) {
        put_meta(p->source_tool ? p->source_tool : "(unnamed tool)");
        if (tool_version) {
            putchar(' ');
            put_meta(tool_version);
            if (!p->source_tool_version)
                printf(" (module_version)");
        }
        if (p->source_runtime) {
            printf(" (");
            put_meta(p->source_runtime);
            putchar(')');
        }
    } else {
        printf("not stated");
    }
    if (p->malformed)
        printf("\n            (provenance or module_version of the wrong type: ignored)");
    putchar('\n');
}

static json_t *json_string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *inspect_provenance_json(const mr_model *m)
{
    const provenance pv = provenance_of(m), *p = &pv;
    json_t *o = json_object();
    json_object_set_new(o, "exporter", json_string_or_null(p->exporter));
    json_object_set_new(o, "exporter_version", json_string_or_null(p->exporter_version));
    json_object_set_new(o, "source_tool", json_string_or_null(p->source_tool));
    json_object_set_new(o, "source_tool_version", json_string_or_null(p->source_tool_version));
    json_object_set_new(o, "source_runtime", json_string_or_null(p->source_runtime));
    json_object_set_new(o, "module_version", json_string_or_null(p->module_version));
    json_object_set_new(o, "malformed", json_boolean(p->malformed));
    return o;
}

static int inspect_json(const mr_model *m, const char *path)
{
    json_t *o = json_object();
    cli_json_put_str(o, "path", path);
    json_object_set_new(o, "sha256", json_string(mr_model_sha256(m)));
    json_object_set_new(o, "n_features", json_integer((json_int_t)mr_model_n_features(m)));
    json_object_set_new(o, "n_terms", json_integer((json_int_t)mr_model_n_terms(m)));
    json_object_set_new(o, "degree", json_integer(mr_model_degree(m)));
    json_object_set_new(o, "allow_missing", json_boolean(mr_model_allow_missing(m)));
    json_object_set_new(o, "provenance", inspect_provenance_json(m));
    json_t *feats = json_array();
    for (size_t j = 0; j < mr_model_n_features(m); j++) {
        json_t *f = json_object();
        json_object_set_new(f, "index", json_integer((json_int_t)j));
        json_object_set_new(f, "name", json_string(mr_model_feature_name(m, j)));
        json_object_set_new(f, "used", json_boolean(mr_model_feature_is_used(m, j)));
        if (mr_model_feature_is_categorical(m, j)) {
            json_t *cls = json_array();
            for (size_t k = 0; k < mr_model_n_classes(m, j); k++)
                json_array_append_new(cls, json_string(mr_model_class_label(m, j, k)));
            json_object_set_new(f, "classes", cls);
        }
        json_array_append_new(feats, f);
    }
    json_object_set_new(o, "features", feats);
    json_t *terms = json_array();
    for (size_t i = 0; i < mr_model_n_terms(m); i++) {
        json_t *t = json_object();
        json_object_set_new(t, "index", json_integer((json_int_t)i));
        json_object_set_new(t, "name", json_string(mr_model_term_name(m, i)));
        json_object_set_new(t, "degree", json_integer(mr_model_term_degree(m, i)));
        json_object_set_new(t, "coefficient", json_real(mr_model_coefficient(m, i)));
        json_array_append_new(terms, t);
    }
    json_object_set_new(o, "terms", terms);
    const int rc = json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(o);
    return rc != 0 || putchar('\n') == EOF ? -1 : 0;
}

int cli_inspect(const mr_model *m, const char *path, int as_json)
{
    if (as_json)
        return inspect_json(m, path);
    printf("model:      ");
    put_meta(path);
    putchar('\n');
    printf("sha256:     %s\n", mr_model_sha256(m));
    printf("features:   %zu\n", mr_model_n_features(m));
    printf("terms:      %zu\n", mr_model_n_terms(m));
    printf("degree:     %d\n", mr_model_degree(m));
    printf("missing:    %s\n", mr_model_allow_missing(m) ? "allowed" : "not allowed (params.allow_missing is false)");
    inspect_provenance_text(m);
    printf("\nfeatures (index, name, role):\n");
    for (size_t j = 0; j < mr_model_n_features(m); j++) {
        printf("  %3zu  ", j);
        cli_put_escaped(stdout, mr_model_feature_name(m, j), 24);
        printf(" %s", mr_model_feature_is_used(m, j) ? "used" : "unused");
        if (mr_model_feature_is_categorical(m, j)) {
            printf(", categorical:");
            for (size_t k = 0; k < mr_model_n_classes(m, j); k++)
            {
                putchar(' ');
                put_meta(mr_model_class_label(m, j, k));
            }
        }
        putchar('\n');
    }
    printf("\nterms (index, coefficient, degree, term):\n");
    for (size_t i = 0; i < mr_model_n_terms(m); i++)
    {
        printf("  %3zu  %24.17g  %d  ", i, mr_model_coefficient(m, i), mr_model_term_degree(m, i));
        put_meta(mr_model_term_name(m, i));
        putchar('\n');
    }
    return fflush(stdout) != 0 || ferror(stdout) ? -1 : 0;
}
