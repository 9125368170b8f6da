/* test_escape.c — the one rule for showing names, labels and paths in
 * messages (src/escape.h): C escapes, \xNN for controls, C1 and invalid
 * UTF-8, valid UTF-8 kept, cut after a whole character. */
#include <stdio.h>

#include "escape.h"
#include "test_util.h"

static void esc(const char *in, size_t len, const char *want)
{
    char out[256];
    const size_t n = mr_escape(out, sizeof out, in, len);
    if (strcmp(out, want) != 0)
        fail_msg("escape(%zu bytes): got \"%s\", want \"%s\"", len, out, want);
    assert_int_equal(n, strlen(want));
    assert_int_equal(mr_escape_needed(in, len), strcmp(in, want) != 0 || strlen(in) != len);
}
#define ESC(lit, want) esc(lit, sizeof lit - 1, want)

static void rules(void **state)
{
    (void)state;
    ESC("plain name_1", "plain name_1");
    ESC("a\nb\rc\td", "a\\nb\\rc\\td");
    ESC("\x1b[31mred", "\\x1b[31mred");
    ESC("q\"b\\s", "q\\\"b\\\\s");
    ESC("del\x7f", "del\\x7f");
    ESC("nul\0x", "nul\\x00x");
    ESC("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"); /* valid UTF-8 */
    ESC("c1 \xc2\x9b[2J", "c1 \\xc2\\x9b[2J");       /* U+009B (CSI): a control */
    ESC("raw \x9b \xff \xfe", "raw \\x9b \\xff \\xfe"); /* not UTF-8 */
    ESC("over \xc0\xaf \xe0\x80\xaf", "over \\xc0\\xaf \\xe0\\x80\\xaf"); /* overlong */
    ESC("sur \xed\xa0\x80", "sur \\xed\\xa0\\x80");     /* a surrogate */
    ESC("big \xf4\x90\x80\x80", "big \\xf4\\x90\\x80\\x80"); /* beyond U+10FFFF */
    ESC("cut \xe2\x82", "cut \\xe2\\x82");               /* cut short */
}

static void truncation(void **state)
{
    (void)state;
    char out[12];
    /* cut after a whole character, never inside an escape, with "..." */
    assert_int_equal(mr_escape(out, sizeof out, "abcdefghijklmnop", 16), 11);
    assert_string_equal(out, "abcdefgh...");
    assert_int_equal(mr_escape(out, sizeof out, "abcdef\x1b\x1b\x1b", 9), 9);
    assert_string_equal(out, "abcdef...");
    assert_int_equal(mr_escape(out, sizeof out, "abcdefg\x1b", 8), 11); /* fits exactly */
    assert_string_equal(out, "abcdefg\\x1b");
    assert_int_equal(mr_escape(out, sizeof out, "", 0), 0);
    assert_string_equal(out, "");
    char tiny[3];
    mr_escape(tiny, sizeof tiny, "abcdef", 6);
    assert_true(strlen(tiny) < sizeof tiny);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rules),
        cmocka_unit_test(truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
