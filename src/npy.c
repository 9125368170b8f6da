/* npy.c — NumPy .npy headers: a strict parser for the dict literal NumPy
 * writes (input side) and a fixed-length v1.0 writer (output side). */
#include "npy.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "escape.h"

#define PREFIX_V1 10 /* magic + version + 2-byte length */
#define PREFIX_V2 12 /* magic + version + 4-byte length */
/* A float array needs ~120 header bytes; the cap stops a hostile 4-byte length
 * field from making a caller buffer gigabytes before we look at the dict. */
#define MAX_HEADER_LEN ((size_t)1 << 20)
#define ROWS_RESERVED 20 /* digits of UINT64_MAX */
#define DIMS_SHOWN 8     /* dimensions kept for error messages */
#define SHOW_CAP 48      /* bytes of header text quoted in a message */

enum { KEY_DESCR, KEY_FORTRAN, KEY_SHAPE, KEY_COUNT };
static const char *const key_names[KEY_COUNT] = {"descr", "fortran_order", "shape"};

typedef struct {
    const unsigned char *p; /* start of the dict text */
    size_t n;               /* declared header length */
    size_t i;               /* cursor into p */
    size_t base;            /* file offset of p[0], for messages */
    mr_error *err;
} cursor;

/* Quote bytes for a message: headers are untrusted and may hold control
 * bytes or invalid UTF-8 (escape.h). */
static void show(char *dst, size_t cap, const unsigned char *s, size_t len)
{
    mr_escape(dst, cap, (const char *)s, len);
}

static int peek(const cursor *c)
{
    return c->i < c->n ? c->p[c->i] : -1;
}

static bool is_ws(int ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static bool is_ident(int ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '_';
}

static void skip_ws(cursor *c)
{
    while (is_ws(peek(c)))
        c->i++;
}

static mr_status fail_expected(const cursor *c, const char *what)
{
    if (c->i >= c->n)
        return mr_err_set(c->err, MR_E_PARSE,
                          "npy header: expected %s at byte %zu, found end of header "
                          "(declared length %zu)", what, c->base + c->i, c->n);
    char found[16];
    show(found, sizeof found, c->p + c->i, 1);
    return mr_err_set(c->err, MR_E_PARSE, "npy header: expected %s at byte %zu, found '%s'",
                      what, c->base + c->i, found);
}

static mr_status expect_char(cursor *c, char ch, const char *what)
{
    if (peek(c) != (unsigned char)ch)
        return fail_expected(c, what);
    c->i++;
    return MR_OK;
}

/* A Python str literal without escapes; none of the accepted keys or values
 * need one, so a backslash is simply an unexpected byte. */
static mr_status parse_string(cursor *c, const char *what, const unsigned char **s, size_t *len)
{
    const int q = peek(c);
    if (q != '\'' && q != '"')
        return fail_expected(c, what);
    const size_t start = ++c->i;
    for (;;) {
        const int ch = peek(c);
        if (ch == q)
            break;
        if (ch < 0 || ch == '\n' || ch == '\\') {
            char got[SHOW_CAP];
            show(got, sizeof got, c->p + start - 1, c->i - start + 1);
            if (ch < 0)
                return mr_err_set(c->err, MR_E_PARSE,
                                  "npy header: string %s at byte %zu is not terminated "
                                  "within the declared header length %zu", got,
                                  c->base + start - 1, c->n);
            if (ch == '\n')
                return mr_err_set(c->err, MR_E_PARSE,
                                  "npy header: string %s at byte %zu is not terminated "
                                  "before the end of the line", got, c->base + start - 1);
            return mr_err_set(c->err, MR_E_PARSE,
                              "npy header: escaped string %s at byte %zu not supported", got,
                              c->base + start - 1);
        }
        c->i++;
    }
    *s = c->p + start;
    *len = c->i - start;
    c->i++;
    return MR_OK;
}

static bool text_is(const unsigned char *s, size_t len, const char *lit)
{
    return len == strlen(lit) && memcmp(s, lit, len) == 0;
}

static mr_status parse_descr(cursor *c, mr_npy_dtype *dtype)
{
    if (peek(c) == '[')
        return mr_err_set(c->err, MR_E_PARSE,
                          "npy header: structured dtype not supported: expected float64 or "
                          "float32");
    const unsigned char *s;
    size_t len;
    FORWARD_IF(parse_string(c, "a quoted dtype string for 'descr'", &s, &len));
    if (text_is(s, len, "<f8")) {
        *dtype = MR_NPY_F64;
        return MR_OK;
    }
    if (text_is(s, len, "<f4")) {
        *dtype = MR_NPY_F32;
        return MR_OK;
    }
    char got[SHOW_CAP];
    show(got, sizeof got, s, len);
    if (text_is(s, len, ">f8") || text_is(s, len, ">f4"))
        return mr_err_set(c->err, MR_E_PARSE,
                          "npy header: big-endian '%s' not supported: convert with "
                          "a.astype('<%s')", got, got + 1);
    if (len == 3 && (s[0] == '=' || s[0] == '|') &&
        (text_is(s + 1, 2, "f8") || text_is(s + 1, 2, "f4")))
        return mr_err_set(c->err, MR_E_PARSE,
                          "npy header: dtype '%s' not supported: byte order must be explicit "
                          "little-endian '<%s'", got, got + 1);
    return mr_err_set(c->err, MR_E_PARSE,
                      "npy header: dtype '%s' not supported: expected float64 or float32",
                      got);
}

static mr_status parse_fortran(cursor *c)
{
    const size_t start = c->i;
    while (is_ident(peek(c)))
        c->i++;
    const unsigned char *s = c->p + start;
    const size_t len = c->i - start;
    if (text_is(s, len, "False"))
        return MR_OK;
    if (text_is(s, len, "True"))
        return mr_err_set(c->err, MR_E_PARSE,
                          "npy header: fortran_order is True: Fortran-order arrays not "
                          "supported: save with np.ascontiguousarray");
    if (len == 0) {
        c->i = start;
        return fail_expected(c, "True or False for 'fortran_order'");
    }
    char got[SHOW_CAP];
    show(got, sizeof got, s, len);
    return mr_err_set(c->err, MR_E_PARSE,
                      "npy header: fortran_order must be True or False, found '%s'", got);
}

typedef struct {
    size_t ndim;
    uint64_t dims[DIMS_SHOWN];
} shape_t;

static mr_status parse_dim(cursor *c, uint64_t *out)
{
    const size_t start = c->i;
    if (peek(c) == '-')
        return mr_err_set(c->err, MR_E_PARSE,
                          "npy header: negative dimension in shape at byte %zu",
                          c->base + start);
    uint64_t v = 0;
    bool overflow = false;
    for (int ch = peek(c); ch >= '0' && ch <= '9'; ch = peek(c)) {
        const uint64_t d = (uint64_t)(ch - '0');
        if (v > (UINT64_MAX - d) / 10)
            overflow = true;
        else
            v = v * 10 + d;
        c->i++;
    }
    if (c->i == start)
        return fail_expected(c, "a dimension in shape");
    if (overflow) {
        char got[SHOW_CAP];
        show(got, sizeof got, c->p + start, c->i - start);
        return mr_err_set(c->err, MR_E_PARSE,
                          "npy header: shape dimension %s overflows uint64", got);
    }
    /* Python 2 NumPy wrote longs as "3L". */
    if (peek(c) == 'L')
        c->i++;
    *out = v;
    return MR_OK;
}

static mr_status parse_shape(cursor *c, shape_t *sh)
{
    sh->ndim = 0;
    FORWARD_IF(expect_char(c, '(', "'(' starting the shape tuple"));
    skip_ws(c);
    if (peek(c) == ')') {
        c->i++;
        return MR_OK;
    }
    bool trailing_comma = false;
    for (;;) {
        uint64_t v = 0;
        FORWARD_IF(parse_dim(c, &v));
        if (sh->ndim < DIMS_SHOWN)
            sh->dims[sh->ndim] = v;
        sh->ndim++;
        skip_ws(c);
        if (peek(c) == ',') {
            c->i++;
            skip_ws(c);
            if (peek(c) == ')') {
                c->i++;
                trailing_comma = true;
                break;
            }
            continue;
        }
        if (peek(c) == ')') {
            c->i++;
            break;
        }
        return fail_expected(c, "',' or ')' in shape");
    }
    /* "(5)" is the integer 5 in Python, not a tuple. */
    if (sh->ndim == 1 && !trailing_comma)
        return mr_err_set(c->err, MR_E_PARSE,
                          "npy header: shape (%" PRIu64 ") is not a tuple", sh->dims[0]);
    return MR_OK;
}

static void format_shape(char *dst, size_t cap, const shape_t *sh)
{
    size_t o = (size_t)snprintf(dst, cap, "(");
    for (size_t k = 0; k < sh->ndim && k < DIMS_SHOWN && o < cap; k++)
        o += (size_t)snprintf(dst + o, cap - o, "%s%" PRIu64, k ? ", " : "", sh->dims[k]);
    if (o < cap)
        snprintf(dst + o, cap - o, "%s)",
                 sh->ndim > DIMS_SHOWN ? ", ..." : sh->ndim == 1 ? "," : "");
}

static mr_status parse_dict(cursor *c, mr_npy_header *h)
{
    bool seen[KEY_COUNT] = {false};
    mr_npy_dtype dtype = MR_NPY_F64;
    shape_t sh = {0};

    skip_ws(c);
    FORWARD_IF(expect_char(c, '{', "'{' starting the header dict"));
    for (;;) {
        skip_ws(c);
        if (peek(c) == '}')
            break;
        const size_t key_at = c->i;
        const unsigned char *k;
        size_t klen;
        FORWARD_IF(parse_string(c, "a quoted key or '}'", &k, &klen));
        int key = -1;
        for (int j = 0; j < KEY_COUNT; j++)
            if (text_is(k, klen, key_names[j]))
                key = j;
        if (key < 0) {
            char got[SHOW_CAP];
            show(got, sizeof got, k, klen);
            return mr_err_set(c->err, MR_E_PARSE, "npy header: unknown key '%s' at byte %zu",
                              got, c->base + key_at);
        }
        if (seen[key])
            return mr_err_set(c->err, MR_E_PARSE,
                              "npy header: duplicate key '%s' at byte %zu", key_names[key],
                              c->base + key_at);
        seen[key] = true;
        skip_ws(c);
        FORWARD_IF(expect_char(c, ':', "':' after a key"));
        skip_ws(c);
        switch (key) {
        case KEY_DESCR: FORWARD_IF(parse_descr(c, &dtype)); break;
        case KEY_FORTRAN: FORWARD_IF(parse_fortran(c)); break;
        default: FORWARD_IF(parse_shape(c, &sh)); break;
        }
        skip_ws(c);
        if (peek(c) == ',') {
            c->i++;
            continue;
        }
        if (peek(c) != '}')
            return fail_expected(c, "',' or '}' in the header dict");
    }
    c->i++; /* '}' */

    /* Only padding may follow, and the '\n' NumPy ends the header with must
     * lie inside the declared length: otherwise the length field is wrong. */
    bool newline = false;
    for (; c->i < c->n; c->i++) {
        const int ch = c->p[c->i];
        if (!is_ws(ch))
            return fail_expected(c, "only padding after the header dict (is the header "
                                    "length field wrong?)");
        newline |= ch == '\n';
    }
    if (!newline)
        return mr_err_set(c->err, MR_E_PARSE,
                          "npy header: no '\\n' after the dict within the declared length %zu",
                          c->n);

    for (int j = 0; j < KEY_COUNT; j++)
        RETURN_IF(!seen[j], MR_E_PARSE, c->err, "npy header: missing key '%s'", key_names[j]);
    if (sh.ndim != 2) {
        char s[200];
        format_shape(s, sizeof s, &sh);
        return mr_err_set(c->err, MR_E_PARSE, "npy header: expected a 2-D array, found shape %s",
                          s);
    }
    const uint64_t rows = sh.dims[0], cols = sh.dims[1];
    const uint64_t item = dtype == MR_NPY_F64 ? 8 : 4;
    if (cols && rows > UINT64_MAX / cols / item)
        return mr_err_set(c->err, MR_E_PARSE,
                          "npy header: shape (%" PRIu64 ", %" PRIu64 ") is too large: byte size "
                          "overflows uint64", rows, cols);
    h->dtype = dtype;
    h->rows = rows;
    h->cols = cols;
    return MR_OK;
}

mr_status mr_npy_parse_header(const unsigned char *buf, size_t len, mr_npy_header *h,
                              size_t *need, mr_error *err)
{
    RETURN_IF(!h || (!buf && len), MR_E_INVAL, err, "npy header: NULL argument");

    /* Check the magic on whatever prefix is present so a non-.npy input fails
     * at once instead of asking for more bytes. */
    const size_t m = len < MR_NPY_MAGIC_LEN ? len : MR_NPY_MAGIC_LEN;
    if (m && memcmp(buf, MR_NPY_MAGIC, m) != 0) {
        char got[SHOW_CAP];
        show(got, sizeof got, buf, m);
        return mr_err_set(err, MR_E_PARSE,
                          "npy header: bad magic \"%s\": not a .npy file (expected "
                          "\"\\x93NUMPY\")", got);
    }
    if (len < MR_NPY_MAGIC_LEN + 2) {
        if (need)
            *need = PREFIX_V1; /* at least; v2/v3 need two more */
        return MR_AGAIN;
    }
    const unsigned major = buf[6], minor = buf[7];
    RETURN_IF(major < 1 || major > 3 || minor != 0, MR_E_PARSE, err,
              "npy header: unsupported format version %u.%u: expected 1.0, 2.0 or 3.0",
              major, minor);
    const size_t prefix = major == 1 ? PREFIX_V1 : PREFIX_V2;
    if (len < prefix) {
        if (need)
            *need = prefix;
        return MR_AGAIN;
    }
    size_t hl = (size_t)buf[8] | (size_t)buf[9] << 8;
    if (major > 1)
        hl |= (size_t)buf[10] << 16 | (size_t)((uint32_t)buf[11] << 24);
    RETURN_IF(hl > MAX_HEADER_LEN, MR_E_PARSE, err,
              "npy header: declared header length %zu exceeds the %zu-byte limit", hl,
              MAX_HEADER_LEN);
    if (len - prefix < hl) {
        if (need)
            *need = prefix + hl;
        return MR_AGAIN;
    }

    /* v3.0 only allows UTF-8 in the dict; the accepted keys and values are
     * ASCII, so any other byte is rejected as unexpected either way. */
    cursor c = {buf + prefix, hl, 0, prefix, err};
    mr_npy_header out;
    FORWARD_IF(parse_dict(&c, &out));
    out.header_bytes = prefix + hl;
    *h = out;
    return MR_OK;
}

static size_t write_header(unsigned char *buf, size_t cap, uint64_t rows, uint64_t cols, int two_d,
                           mr_npy_dtype dtype)
{
    const char *descr = dtype == MR_NPY_F32 ? "<f4" : "<f8";
    char dict[128];
    const int n = two_d
        ? snprintf(dict, sizeof dict,
                   "{'descr': '%s', 'fortran_order': False, 'shape': (%" PRIu64 ", %" PRIu64
                   "), }", descr, rows, cols)
        : snprintf(dict, sizeof dict,
                   "{'descr': '%s', 'fortran_order': False, 'shape': (%" PRIu64 ",), }", descr, rows);
    char digits[24];
    const int rd = snprintf(digits, sizeof digits, "%" PRIu64, rows);
    if (n <= 0 || (size_t)n >= sizeof dict || rd <= 0)
        return 0;

    /* Size as if ROWS had 20 digits, so rewriting it later with the final row
     * count yields the same total and the data offset does not move. */
    const size_t fixed = PREFIX_V1 + (size_t)n - (size_t)rd + ROWS_RESERVED + 1; /* + '\n' */
    const size_t total = (fixed + 63) / 64 * 64;
    if (!buf || cap < total)
        return 0;
    const size_t hl = total - PREFIX_V1;
    memcpy(buf, MR_NPY_MAGIC, MR_NPY_MAGIC_LEN);
    buf[6] = 1;
    buf[7] = 0;
    buf[8] = (unsigned char)(hl & 0xff);
    buf[9] = (unsigned char)(hl >> 8);
    memcpy(buf + PREFIX_V1, dict, (size_t)n);
    memset(buf + PREFIX_V1 + n, ' ', total - PREFIX_V1 - (size_t)n - 1);
    buf[total - 1] = '\n';
    return total;
}

size_t mr_npy_write_header(unsigned char *buf, size_t cap, uint64_t rows, uint64_t cols)
{
    return write_header(buf, cap, rows, cols, cols != 0, MR_NPY_F64);
}

size_t mr_npy_write_header_dtype(unsigned char *buf, size_t cap, uint64_t rows, uint64_t cols,
                                 mr_npy_dtype dtype)
{
    return write_header(buf, cap, rows, cols, cols != 0, dtype);
}

size_t mr_npy_write_matrix_header(unsigned char *buf, size_t cap, uint64_t rows, uint64_t cols)
{
    return write_header(buf, cap, rows, cols, 1, MR_NPY_F64);
}
