/* test_lister.c - the lister's pure part: s3m_key_before, the start-after of a key range.
 *
 * The rule (docs/internals/README.md, s3m/lister.h): a range [lo, hi) starts with start-after
 * set to lo without its last UTF-8 character, so that lo itself is listed and the request stays
 * valid UTF-8; a lo holding a control character (a byte below 0x20, which some servers echo
 * unescaped in their XML) is cut before the first one instead. Expected values are written from
 * that rule, by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "s3m/lister.h"

struct before_case {
    const char *key, *want, *why;
};

static const struct before_case cases[] = {
    {"abc", "ab", "ASCII: the last byte goes"},
    {"b", "", "one ASCII character: nothing left"},
    {"a/b/", "a/b", "a folder: its '/' goes"},
    {"a~", "a", "the highest printable ASCII character"},
    {"a\x7f", "a", "DEL (0x7f) is no control character below 0x20"},
    {"", "", "the empty string stays empty"},
    {"caf\xc3\xa9", "caf", "2-byte last character (e acute): both bytes go"},
    {"x\xe2\x82\xac", "x", "3-byte last character (euro sign)"},
    {"ab\xf0\x9f\x98\x80", "ab", "4-byte last character (an emoji)"},
    {"\xf0\x9f\x98\x80", "", "only one 4-byte character"},
    {"\xc3\xa9\xc3\xa9", "\xc3\xa9", "two 2-byte characters: the first stays whole"},
    {"\xe2\x82\xac"
     "a",
     "\xe2\x82\xac", "multibyte then ASCII: only the ASCII goes"},
    {"ab\x01"
     "cd",
     "ab", "a control character: cut before it"},
    {"a\nb", "a", "a newline is a control character"},
    {"\tx", "", "a control character first: nothing left"},
    {"ab\x1f", "ab", "0x1f, the highest control character, at the end"},
    {"a b", "a ", "a space (0x20) is no control character"},
    {"\xc3\xa9\x02\xc3\xa9", "\xc3\xa9", "a control character after a multibyte one"},
};

static void test_key_before_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = s3m_key_before(cases[i].key);
        if (strcmp(got, cases[i].want))
            fail_msg("case %zu (%s): got '%s'", i, cases[i].why, got);
        free(got);
    }
}

/* whatever the key: a prefix of it, strictly below it (unless empty), and never a partial
 * UTF-8 character at its end */
static void test_key_before_properties(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *k = cases[i].key;
        char *got = s3m_key_before(k);
        size_t n = strlen(got);
        assert_memory_equal(got, k, n);
        if (*k)
            assert_true(strcmp(got, k) < 0);
        if (n) {
            /* the byte after the cut starts a character (or is the control character) */
            unsigned char next = (unsigned char)k[n];
            assert_true((next & 0xC0) != 0x80);
        }
        free(got);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_before_table),
        cmocka_unit_test(test_key_before_properties),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
