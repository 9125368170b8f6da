/* consumer.c — a program built against the installed library with
 * `cc consumer.c $(pkg-config --cflags --libs marsreplay)`: loads a model,
 * predicts one all-zero row, checks the library can serve a program built against this header. */
#include <marsreplay.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: consumer MODEL.json\n");
        return 2;
    }
    if (mr_version_check() != MR_OK) { /* same major, library minor >= ours */
        fprintf(stderr, "consumer: library %s, header %d.%d.%d\n", mr_version_string(),
                MR_VERSION_MAJOR, MR_VERSION_MINOR, MR_VERSION_PATCH);
        return 1;
    }
    mr_error err;
    mr_model *m = NULL;
    mr_engine *e = NULL;
    if (mr_model_load_file(argv[1], &m, &err) != MR_OK ||
        mr_engine_create(m, NULL, &e, &err) != MR_OK) {
        fprintf(stderr, "consumer: %s: %s\n", argv[1], err.text);
        return 1;
    }
    size_t nf = mr_model_n_features(m);
    double *x = calloc(nf ? nf : 1, sizeof *x), y = 0;
    if (!x || mr_predict(e, x, 1, nf, &y, &err) != MR_OK) {
        fprintf(stderr, "consumer: predict failed\n");
        return 1;
    }
    printf("consumer: libmarsreplay %s, %zu features, %zu terms, f(0) = %.17g\n",
           mr_version_string(), nf, mr_model_n_terms(m), y);
    free(x);
    mr_engine_free(e);
    mr_model_free(m);
    return 0;
}
