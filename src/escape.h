/* escape.h — the one rule for showing bytes that come from a model, the data
 * or a path in a message, a warning, `inspect` or a report: every line stays
 * one line and no byte reaches a terminal as a control sequence.
 *
 *   \n \r \t \\ \"     for those bytes;
 *   \xNN               for any other byte below 0x20, 0x7f, each byte of a C1
 *                      control (U+0080..U+009F) and each byte that is not part
 *                      of valid UTF-8 (overlong, surrogate, beyond U+10FFFF,
 *                      cut short);
 *   as is              printable ASCII and valid UTF-8 characters.
 *
 * The form is lossless: the original bytes can be recovered from it.
 * Compiled into the library and the program (cli/meson.build). */
#ifndef MR_ESCAPE_H
#define MR_ESCAPE_H

#include <stddef.h>

#define MR_ESCAPE_MAX 16 /* the longest form of one character: 4 bytes as \xNN */

/* The escaped form of the character at s[0..len) (len > 0) into out (not
 * NUL-terminated); *used = bytes of s consumed. Returns the form's length. */
size_t mr_escape_char(const char *s, size_t len, size_t *used, char out[MR_ESCAPE_MAX]);
/* s[0..len) escaped into dst (cap > 0, always NUL-terminated). When it does
 * not fit, it is cut after a whole character and ends with "...". Returns
 * strlen(dst). */
size_t mr_escape(char *dst, size_t cap, const char *s, size_t len);
/* 1 if s[0..len) has anything the rule changes, else 0. */
int mr_escape_needed(const char *s, size_t len);

#endif
