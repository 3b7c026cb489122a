/* test_filter.c - size/age limits at 0, globs over UTF-8 characters, and key-range boundaries
 * cut before control characters (issue 12, found by the model-based test). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "s3m/diff.h"
#include "s3m/lister.h"
#include "s3m/util.h"

static void test_size_limits_at_zero(void **state)
{
    (void)state;
    struct s3m_filter f;
    s3m_filter_init(&f, 1000000);
    assert_true(s3m_filter_match(&f, "x", 0, 0)); /* nothing set: everything */
    assert_true(s3m_filter_match(&f, "x", UINT64_MAX, 0));
    f.max_size = 0; /* --max-size 0: empty objects only */
    assert_true(s3m_filter_match(&f, "x", 0, 1000000));
    assert_false(s3m_filter_match(&f, "x", 1, 1000000));
    f.max_size = UINT64_MAX;
    f.min_size = 0; /* --min-size 0: no lower limit */
    assert_true(s3m_filter_match(&f, "x", 0, 1000000));
    f.min_size = 1;
    assert_false(s3m_filter_match(&f, "x", 0, 1000000));
    assert_true(s3m_filter_match(&f, "x", 1, 1000000));
    s3m_filter_cleanup(&f);
}

static void test_age_limits_at_zero(void **state)
{
    (void)state;
    struct s3m_filter f;
    s3m_filter_init(&f, 1000000);
    assert_true(s3m_filter_match(&f, "x", 1, 0));       /* unset: any age */
    assert_true(s3m_filter_match(&f, "x", 1, 2000000)); /* even from the future */
    f.max_age = 0; /* --max-age 0: younger than 0 s, nothing older */
    assert_false(s3m_filter_match(&f, "x", 1, 1000000 - 1));
    assert_true(s3m_filter_match(&f, "x", 1, 1000000));
    f.max_age = -1;
    f.min_age = 0; /* --min-age 0: everything not from the future */
    assert_true(s3m_filter_match(&f, "x", 1, 0));
    assert_true(s3m_filter_match(&f, "x", 1, 1000000));
    assert_false(s3m_filter_match(&f, "x", 1, 1000001));
    s3m_filter_cleanup(&f);
}

static void test_glob_utf8(void **state)
{
    (void)state;
    /* '?' is one character */
    assert_true(s3m_glob_match("?", "e"));
    assert_true(s3m_glob_match("?", "\xc3\xa9")); /* é */
    assert_false(s3m_glob_match("??", "\xc3\xa9"));
    assert_true(s3m_glob_match("?", "\xe6\x97\xa5"));     /* 日 */
    assert_true(s3m_glob_match("?", "\xf0\x9f\x98\x80")); /* U+1F600 */
    assert_true(s3m_glob_match("/??", "\xe6\x97\xa5\xe6\x9c\xac"));
    assert_true(s3m_glob_match("/dir/?", "dir/\xc3\xbc"));
    assert_false(s3m_glob_match("?", "/"));
    assert_true(s3m_glob_match("a?c", "a\xc3\xa9"
                                      "c"));
    assert_true(s3m_glob_match("*?", "\xc3\xa9"));
    assert_true(s3m_glob_match("?*", "\xc3\xa9"));
    /* invalid UTF-8: each byte on its own */
    assert_true(s3m_glob_match("?", "\xff"));
    assert_true(s3m_glob_match("??", "\xc3x"));    /* lead byte, no continuation */
    assert_true(s3m_glob_match("??", "\xc0\xaf")); /* overlong '/' */
    assert_false(s3m_glob_match("?", "\xc0\xaf"));
    assert_true(s3m_glob_match("???", "\xed\xa0\x80"));      /* a surrogate */
    assert_true(s3m_glob_match("????", "\xf4\x90\x80\x80")); /* above U+10FFFF */
    assert_true(s3m_glob_match("??", "\xe6\x97"));           /* cut short */
    assert_true(s3m_glob_match("??", "\xa9\xa9"));           /* stray continuations */
    /* classes */
    assert_true(s3m_glob_match("[\xc3\xa9]", "\xc3\xa9"));
    assert_false(s3m_glob_match("[\xc3\xa9]", "\xc3\xa8")); /* è */
    assert_false(s3m_glob_match("[\xc3\xa9]", "e"));
    assert_true(s3m_glob_match("[\xc3\xa0-\xc3\xbf]", "\xc3\xbc")); /* [à-ÿ] ü */
    assert_false(s3m_glob_match("[\xc3\xa0-\xc3\xbf]", "z"));
    assert_false(s3m_glob_match("[\xc3\xa0-\xc3\xbf]", "\xc4\x80")); /* Ā */
    assert_true(s3m_glob_match("[a-\xe6\x97\xa5]", "\xe6\x97\xa4"));
    assert_true(s3m_glob_match("[!a-z]", "\xc3\xa9"));
    assert_false(s3m_glob_match("[!\xc3\xa9]", "\xc3\xa9"));
    assert_true(s3m_glob_match("[^\xc3\xa9]", "\xc3\xa8"));
    assert_false(s3m_glob_match("[!a]", "/"));
    assert_true(s3m_glob_match("[!a-z]?", "\xc3\xb1x")); /* ñx */
    assert_true(s3m_glob_match("[\xc3\xa0-\xc3\xbf]x", "\xc3\xb1x"));
    assert_true(s3m_glob_match("[]\xc3\xa9]", "]"));
    assert_true(s3m_glob_match("[]\xc3\xa9]", "\xc3\xa9"));
    /* an invalid byte is its own character, not the code point of the same value */
    assert_true(s3m_glob_match("[\xff]", "\xff"));
    assert_false(s3m_glob_match("[\xff]", "\xc3\xbf")); /* ÿ is U+00FF */
    assert_false(s3m_glob_match("[\xc3\xbf]", "\xff"));
    assert_true(s3m_glob_match("[!\xc3\xa9]", "\xff"));
    /* escapes and literals stay bytes */
    assert_true(s3m_glob_match("\\\xc3\\\xa9", "\xc3\xa9"));
    assert_true(s3m_glob_match("x/\xc3\xa9", "x/\xc3\xa9"));
    /* through a filter */
    struct s3m_filter f;
    s3m_filter_init(&f, 0);
    assert_true(s3m_filter_add(&f, false, "?"));
    assert_false(s3m_filter_match(&f, "\xc3\xa9", 1, 0));
    assert_false(s3m_filter_match(&f, "dir/\xc3\xbc", 1, 0));
    assert_true(s3m_filter_match(&f, "ab", 1, 0));
    s3m_filter_cleanup(&f);
}

/* stars, alternatives and one-character items next to each other, per the man page: '*' and '?'
 * do not cross '/', '**' does, {a,b} chooses, a leading '/' anchors at the prefix, otherwise
 * the pattern may match the end of the key at a '/' */
static void test_glob_combined(void **state)
{
    (void)state;
    static const struct {
        const char *pat, *key;
        bool want;
    } cases[] = {
        {"a*", "a", true},       /* '*' takes nothing */
        {"/a*c", "ab/c", false}, /* '*' stops at '/' */
        {"/a**c", "ab/c", true}, /* '**' does not */
        {"/a**", "a/b/c", true},
        {"/a*/**", "ab/c/d", true},
        {"/*[0-9]", "file7", true},
        {"/*[0-9]", "d/7", false},
        {"*[0-9]", "d/7", true},   /* unanchored: the tail after '/' */
        {"{a*,b}x", "aQQx", true}, /* a star inside an alternative */
        {"/{a*,b}x", "a/x", false},
        {"/{a**,b}x", "a/b/x", true},
        {"{?,ab}c",
         "\xc3\xa9"
         "c",
         true}, /* '?' inside an alternative: one character */
        {"{?,ab}c", "abc", true},
        {"{?,ab}c", "xyc", false},
        {"{a,b}*", "bzz", true}, /* a star after the group */
        {"{a,b}*", "c", false},
        {"/{a,b}?", "a/", false},
        {"{[0-9],x}y", "7y", true}, /* a class inside an alternative */
        {"{[0-9],x}y", "zy", false},
        {"*.{jpg,png}", "dir.png/x", false},
        {"?", "", false},
        {"[a]", "", false},
        {"**", "a/b", true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (s3m_glob_match(cases[i].pat, cases[i].key) != cases[i].want)
            fail_msg("glob %s on %s: expected %d", cases[i].pat, cases[i].key, cases[i].want);
}

static void test_glob_utf8_pathological(void **state)
{
    (void)state;
    /* the memo keeps it pattern x key even when '?' and classes take several bytes */
    char key[1025], pat[200];
    size_t n = 0;
    while (n + 2 <= 1022)
        key[n++] = '\xc3', key[n++] = '\xa9';
    key[n++] = 'c';
    key[n] = 0;
    size_t m = 0;
    for (int i = 0; i < 30; i++) {
        pat[m++] = '*';
        if (i % 2) {
            pat[m++] = '?';
        } else {
            memcpy(pat + m, "[\xc3\xa9]", 4);
            m += 4;
        }
    }
    pat[m++] = 'b';
    pat[m] = 0;
    /* without the memo this is 30 stars over 1,023 characters: far beyond any lifetime. With
     * it, a millisecond (a second under valgrind): the bound only needs to tell those apart, and
     * must not fail on a loaded machine, so it is wide */
    clock_t t0 = clock();
    assert_false(s3m_glob_match(pat, key));
    assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 60.0);
}

static void check_bounds(char **b, size_t nb, bool distinct)
{
    for (size_t i = 0; i < nb; i++) {
        if (distinct)
            assert_true(b[i][0] && (unsigned char)b[i][0] >= 0x20);
        assert_true(b[i][0]);
        if ((unsigned char)b[i][0] >= 0x20) /* cut before any control character */
            for (const char *p = b[i]; *p; p++)
                assert_true((unsigned char)*p >= 0x20);
        if (i) {
            int c = strcmp(b[i - 1], b[i]);
            assert_true(distinct ? c < 0 : c <= 0);
        }
    }
}

static void test_split_cuts_control_chars(void **state)
{
    (void)state;
    const char *in[] = {"m", "ctl\x01x", "tab\tx", "\x02s", "z", "a"};
    for (int d = 0; d < 2; d++) {
        char *keys[6];
        for (int i = 0; i < 6; i++)
            keys[i] = s3m_strdup(in[i]);
        char **b;
        size_t nb = s3m_keys_split(keys, 6, 7, d, &b);
        check_bounds(b, nb, d);
        const char *want_d[] = {"a", "ctl", "m", "tab", "z"};
        const char *want_n[] = {"\x02s", "a", "ctl", "m", "tab", "z"};
        assert_int_equal(nb, d ? 5 : 6);
        for (size_t i = 0; i < nb; i++)
            assert_string_equal(b[i], d ? want_d[i] : want_n[i]);
        for (size_t i = 0; i < nb; i++)
            free(b[i]);
        free(b);
        for (int i = 0; i < 6; i++)
            free(keys[i]);
    }
    /* random keys over a small alphabet with control characters: always in order */
    const char *alpha[] = {"\x01", "\t", "\x1f", " ", "a", "b", "\x7f", "\xc3\xa9", "/"};
    srand(12);
    for (int round = 0; round < 500; round++) {
        size_t n = 1 + (size_t)(rand() % 40), parts = 2 + (size_t)(rand() % 20);
        char **keys = s3m_calloc(n, sizeof(char *));
        for (size_t i = 0; i < n; i++) {
            char k[64] = "";
            int len = 1 + rand() % 6;
            for (int j = 0; j < len; j++)
                strcat(k, alpha[rand() % 9]);
            keys[i] = s3m_strdup(k);
        }
        for (int d = 0; d < 2; d++) {
            char **b;
            size_t nb = s3m_keys_split(keys, n, parts, d, &b);
            check_bounds(b, nb, d);
            if (!d)
                assert_int_equal(nb, parts - 1);
            for (size_t i = 0; i < nb; i++)
                free(b[i]);
            free(b);
        }
        for (size_t i = 0; i < n; i++)
            free(keys[i]);
        free(keys);
    }
}

static void test_key_before(void **state)
{
    (void)state;
    char *s;
    assert_string_equal(s = s3m_key_before("abc"), "ab");
    free(s);
    assert_string_equal(s = s3m_key_before("a\xc3\xa9"), "a");
    free(s);
    assert_string_equal(s = s3m_key_before("p/ctl\x01x"), "p/ctl");
    free(s);
    assert_string_equal(s = s3m_key_before("p/tab\t"), "p/tab");
    free(s);
    assert_string_equal(s = s3m_key_before("\x01x"), "");
    free(s);
    assert_string_equal(s = s3m_key_before("a"), "");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_limits_at_zero),
        cmocka_unit_test(test_age_limits_at_zero),
        cmocka_unit_test(test_glob_utf8),
        cmocka_unit_test(test_glob_combined),
        cmocka_unit_test(test_glob_utf8_pathological),
        cmocka_unit_test(test_split_cuts_control_chars),
        cmocka_unit_test(test_key_before),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
