/* header_arrow_test.cpp — marsreplay.h next to another copy of the Arrow C
 * interface structs (tests/arrow_c_abi.h, the specification's block), in
 * both orders (MR_ARROW_FIRST picks), from C and from C++ (this twin of header_arrow_test.c):
 * the guards leave one definition, and it is the one the library uses. */
#ifdef MR_ARROW_REAL /* Arrow's own header (tests/python/run.sh: pyarrow's copy) */
#define MR_ARROW_HEADER <arrow/c/abi.h>
#else
#define MR_ARROW_HEADER "arrow_c_abi.h"
#endif
#ifdef MR_ARROW_FIRST
#include MR_ARROW_HEADER
#include "marsreplay.h"
#else
#include "marsreplay.h"
#include MR_ARROW_HEADER
#endif

#include <stddef.h>

/* The layout the specification fixes (LP64 and ILP32 alike: pointers after
 * the int64 fields). */
typedef char check_schema[offsetof(struct ArrowSchema, flags) == 3 * sizeof(void *) ? 1 : -1];
typedef char check_array[offsetof(struct ArrowArray, buffers) == 5 * sizeof(int64_t) ? 1 : -1];
typedef char check_stream[offsetof(struct ArrowArrayStream, private_data) == 4 * sizeof(void *) ? 1 : -1];

static int get_schema(struct ArrowArrayStream *s, struct ArrowSchema *out)
{
    (void)s;
    (void)out;
    return 5; /* EIO */
}

static const char *last_error(struct ArrowArrayStream *s)
{
    (void)s;
    return "header test";
}

static void release(struct ArrowArrayStream *s)
{
    s->release = NULL;
}

int main(void)
{
    /* a stream built against the other copy goes through the library */
    struct ArrowArrayStream in = { get_schema, NULL, last_error, release, NULL };
    double *out = NULL;
    size_t n = 0;
    const mr_status st = mr_arrow_stream_collect(NULL, &in, MR_MODE_PREDICT, &out, &n, NULL);
    return st == MR_E_INVAL && in.release == NULL && out == NULL ? 0 : 1;
}
