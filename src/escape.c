/* escape.c — see escape.h. */
#include "escape.h"

#include <stdint.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (2..4), or 0. */
static size_t utf8_len(const unsigned char *s, size_t len)
{
    const unsigned c = s[0];
    size_t n;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0; /* overlong, beyond Unicode, a surrogate */
    if (cp >= 0x80 && cp <= 0x9f)
        return 0; /* a C1 control: shown byte by byte */
    return n;
}

size_t mr_escape_char(const char *s, size_t len, size_t *used, char out[MR_ESCAPE_MAX])
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    const unsigned c = u[0];
    *used = 1;
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
        out[0] = (char)c;
        return 1;
    }
    const char *named = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t"
                      : c == '\\' ? "\\\\" : c == '"' ? "\\\"" : NULL;
    if (named) {
        memcpy(out, named, 2);
        return 2;
    }
    const size_t n = c >= 0x80 ? utf8_len(u, len) : 0;
    if (n) {
        memcpy(out, s, n);
        *used = n;
        return n;
    }
    out[0] = '\\';
    out[1] = 'x';
    out[2] = hex[c >> 4];
    out[3] = hex[c & 15];
    return 4;
}

size_t mr_escape(char *dst, size_t cap, const char *s, size_t len)
{
    size_t o = 0;
    char one[MR_ESCAPE_MAX];
    for (size_t i = 0; i < len;) {
        size_t used;
        const size_t n = mr_escape_char(s + i, len - i, &used, one);
        /* keep room for "..." and the NUL unless this is the last character */
        const size_t room = i + used < len ? 4 : 1;
        if (o + n + room > cap) {
            while (o + 4 > cap && o > 0) /* cap is tiny: make room for the dots */
                o--;
            if (o + 4 <= cap) {
                memcpy(dst + o, "...", 3);
                o += 3;
            }
            break;
        }
        memcpy(dst + o, one, n);
        o += n;
        i += used;
    }
    if (cap)
        dst[o < cap ? o : cap - 1] = '\0';
    return o < cap ? o : cap - 1;
}

int mr_escape_needed(const char *s, size_t len)
{
    char one[MR_ESCAPE_MAX];
    for (size_t i = 0; i < len;) {
        size_t used;
        const size_t n = mr_escape_char(s + i, len - i, &used, one);
        if (n != used || memcmp(one, s + i, n) != 0)
            return 1;
        i += used;
    }
    return 0;
}
