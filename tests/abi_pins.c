/* abi_pins.c — the numbers of the stable ABI, pinned at compile time: a renumbered
 * status, option or enum value, or a changed version rule, fails the build of this
 * test. Values may only be appended (marsreplay.h, docs/abi.md). */
#include "marsreplay.h"

#define PIN(expr, value) _Static_assert((expr) == (value), #expr " must stay " #value)

/* mr_status: append-only */
PIN(MR_OK, 0);
PIN(MR_AGAIN, 1);
PIN(MR_E_NOMEM, 2);
PIN(MR_E_IO, 3);
PIN(MR_E_MODEL, 4);
PIN(MR_E_PARSE, 5);
PIN(MR_E_SHAPE, 6);
PIN(MR_E_BACKEND, 7);
PIN(MR_E_INVAL, 8);
PIN(MR_E_DATA, 9);
PIN(MR_E_INTERNAL, 10);
PIN(MR_E_VERSION, 11);

/* mr_option */
PIN(MR_OPT_THREADS, 1);
PIN(MR_OPT_CHUNK_ROWS, 2);
PIN(MR_OPT_INPUT_FORMAT, 3);
PIN(MR_OPT_OUTPUT_FORMAT, 4);
PIN(MR_OPT_HEADER, 5);
PIN(MR_OPT_OUT_HEADER, 6);
PIN(MR_OPT_DELIMITER, 7);
PIN(MR_OPT_NAMES, 8);
PIN(MR_OPT_NA_TOKENS, 9);
PIN(MR_OPT_NA_COLUMN, 10);
PIN(MR_OPT_KEEP, 11);
PIN(MR_OPT_UNKNOWN_LEVEL, 12);
PIN(MR_OPT_NA_OUT, 13);
PIN(MR_OPT_MODE, 14);
PIN(MR_OPT_COLS, 15);
PIN(MR_OPT_NAMES_FROM_MODEL, 16);
PIN(MR_OPT_MAX_RECORD_BYTES, 17);
PIN(MR_OPT_DEVICE, 18);
PIN(MR_OPT_PRECISION, 19);
PIN(MR_OPT_CHUNK_BYTES, 20);
PIN(MR_OPT_MAX_MEMORY, 21);

/* the other enums and bits */
PIN(MR_FMT_AUTO, 0);
PIN(MR_FMT_CSV, 1);
PIN(MR_FMT_NPY, 2);
PIN(MR_FMT_F64, 3);
PIN(MR_UNKNOWN_MODE, 0);
PIN(MR_UNKNOWN_NAN, 1);
PIN(MR_UNKNOWN_ERROR, 2);
PIN(MR_MODE_PREDICT, 0);
PIN(MR_MODE_DESIGN, 1);
PIN(MR_MODE_CHECK, 2);
PIN(MR_CATEGORIES_LABEL, 0);
PIN(MR_CATEGORIES_INDEX, 1);
PIN(MR_FEATURE_OPENCL, 1u);
PIN(MR_FEATURE_MPI, 2u);
PIN(MR_FEATURE_SIMD, 4u);

/* the packing and the version rule: same major, library minor >= header minor */
PIN(MR_VERSION_PACK(1, 2, 3), 0x010203);
PIN(MR_VERSION_MAJOR, 1);
PIN(MR_VERSION_COMPATIBLE(0x010000u, 0x010000u), 1);
PIN(MR_VERSION_COMPATIBLE(0x010307u, 0x010200u), 1); /* newer minor, any patch */
PIN(MR_VERSION_COMPATIBLE(0x010200u, 0x010209u), 1); /* older patch */
PIN(MR_VERSION_COMPATIBLE(0x010100u, 0x010200u), 0); /* older minor */
PIN(MR_VERSION_COMPATIBLE(0x020000u, 0x010000u), 0); /* another major */
PIN(MR_VERSION_COMPATIBLE(0x000100u, 0x010000u), 0);
PIN(MR_VERSION_COMPATIBLE(0x01ff00u, 0x020000u), 0); /* no carry from minor into major */

int main(void)
{
    /* and the library this was linked with agrees with the header */
    return mr_version_check() == MR_OK ? 0 : 1;
}
