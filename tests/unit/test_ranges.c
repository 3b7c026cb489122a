/* test_ranges.c - the pure parts of key ranges (engine/ranges.c): boundary text read and
 * written (percent-encoded keys, one a line, '#' comments), and picking the boundaries inside a
 * range.
 *
 * Expected values come from the rules in s3m/ranges.h, the man page (shard-plan) and
 * docs/internals/README.md, written out by hand: keys in increasing byte order (a repeat only
 * where not strict), 1 to 1024 bytes, no NUL; a split into parts of equal count takes key
 * number i*n/parts of the sorted candidates for boundary i. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3m/ranges.h"

/* parse text; returns the bad line (0 = fine) */
static int parse(const char *text, bool strict, struct s3m_bounds *b)
{
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    assert_non_null(f);
    int bad = s3m_bounds_parse(f, strict, b);
    fclose(f);
    return bad;
}

static void expect_keys(const struct s3m_bounds *b, const char *const *want, size_t n)
{
    assert_int_equal(b->n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(b->keys[i], want[i]);
}

static void test_parse_good(void **state)
{
    (void)state;
    struct s3m_bounds b;
    const char *abc[] = {"a", "b", "c"};
    assert_int_equal(parse("a\nb\nc\n", true, &b), 0);
    expect_keys(&b, abc, 3);
    s3m_bounds_free(&b);
    /* comments, blank lines, CRLF, no final newline */
    assert_int_equal(parse("# a plan\n\na\r\n# between\nb\r\n\nc", true, &b), 0);
    expect_keys(&b, abc, 3);
    s3m_bounds_free(&b);
    /* percent-encoded: '/' (0x2f) sorts before 'a' */
    const char *dec[] = {"/x", "a b", "caf\xc3\xa9", "caf\xc3\xa9/%"};
    assert_int_equal(parse("%2Fx\na%20b\ncaf%C3%A9\ncaf%c3%a9/%25\n", true, &b), 0);
    expect_keys(&b, dec, 4);
    s3m_bounds_free(&b);
    /* nothing but comments: no boundaries, no error */
    assert_int_equal(parse("# empty\n\n", true, &b), 0);
    assert_int_equal(b.n, 0);
    assert_int_equal(parse("", false, &b), 0);
    assert_int_equal(b.n, 0);
}

static void test_parse_repeats(void **state)
{
    (void)state;
    struct s3m_bounds b;
    /* a shard plan of fewer keys than shards repeats a boundary: allowed unless strict */
    const char *aab[] = {"a", "a", "b"};
    assert_int_equal(parse("a\na\nb\n", false, &b), 0);
    expect_keys(&b, aab, 3);
    s3m_bounds_free(&b);
    assert_int_equal(parse("a\na\nb\n", true, &b), 2);
    assert_int_equal(b.n, 0);
    assert_null(b.keys);
}

static void test_parse_bad(void **state)
{
    (void)state;
    struct s3m_bounds b;
    assert_int_equal(parse("b\na\n", false, &b), 2); /* decreasing */
    assert_int_equal(b.n, 0);
    assert_int_equal(parse("a\n#\nc\nb\n", false, &b), 4); /* line numbers count comments */
    assert_int_equal(parse("a%00b\n", false, &b), 1);      /* a NUL byte */
    assert_int_equal(parse("a%zz\n", false, &b), 1);       /* a broken escape */
    assert_int_equal(parse("a\nb%2\n", false, &b), 2);     /* a cut escape */
    /* 1024 bytes is the longest key */
    char line[1100];
    memset(line, 'k', 1024);
    strcpy(line + 1024, "\n");
    assert_int_equal(parse(line, true, &b), 0);
    assert_int_equal(b.n, 1);
    assert_int_equal(strlen(b.keys[0]), 1024);
    s3m_bounds_free(&b);
    memset(line, 'k', 1025);
    strcpy(line + 1025, "\n");
    assert_int_equal(parse(line, true, &b), 1);
    /* encoded, the limit is on the decoded key: 1024 x "%41" is 1024 bytes */
    struct s3m_buf e;
    s3m_buf_init(&e);
    for (int i = 0; i < 1024; i++)
        s3m_buf_adds(&e, "%41");
    assert_int_equal(parse(s3m_buf_str(&e), true, &b), 0);
    assert_int_equal(b.n, 1);
    s3m_bounds_free(&b);
    s3m_buf_cleanup(&e);
}

static void test_text_round_trip(void **state)
{
    (void)state;
    char *keys[] = {"a b", "dir/sub", "x%y", "\xc3\xa9t\xc3\xa9"};
    struct s3m_buf t;
    s3m_buf_init(&t);
    s3m_bounds_text(&t, keys, 4);
    /* RFC 3986 unreserved characters and '/' stay, the rest is %XX */
    assert_string_equal(s3m_buf_str(&t), "a%20b\ndir/sub\nx%25y\n%C3%A9t%C3%A9\n");
    struct s3m_bounds b;
    assert_int_equal(parse(s3m_buf_str(&t), true, &b), 0);
    expect_keys(&b, (const char *const *)keys, 4);
    s3m_bounds_free(&b);
    s3m_buf_cleanup(&t);
    s3m_bounds_text(&t, keys, 0); /* nothing: no text */
    assert_int_equal(t.len, 0);
    s3m_buf_cleanup(&t);
}

/* candidates (copied) picked into out */
static void pick(const char *const *keys, size_t n, const char *lo, const char *hi, size_t want,
                 struct s3m_bounds *out)
{
    struct s3m_bounds cand = {0};
    cand.keys = calloc(n ? n : 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        cand.keys[i] = strdup(keys[i]);
    cand.n = n;
    memset(out, 0, sizeof(*out));
    s3m_bounds_pick(&cand, lo, hi, want, out);
    assert_int_equal(cand.n, 0); /* taken */
    assert_null(cand.keys);
}

static void test_pick(void **state)
{
    (void)state;
    const char *seven[] = {"g", "a", "c", "e", "b", "d", "f"}; /* any order */
    struct s3m_bounds out;
    /* unbounded, 7 keys in 2 parts: key 7/2 = 3 of a..g */
    const char *d[] = {"d"};
    pick(seven, 7, NULL, NULL, 2, &out);
    expect_keys(&out, d, 1);
    s3m_bounds_free(&out);
    /* strictly inside (b, g): c d e f; 4 parts: keys 1, 2, 3 */
    const char *def[] = {"d", "e", "f"};
    pick(seven, 7, "b", "g", 4, &out);
    expect_keys(&out, def, 3);
    s3m_bounds_free(&out);
    /* lo and hi themselves are never boundaries: inside (a, c) only b */
    const char *b[] = {"b"};
    pick(seven, 7, "a", "c", 8, &out);
    expect_keys(&out, b, 1);
    s3m_bounds_free(&out);
    /* 6 keys in 3 parts: keys 2 and 4 */
    const char *ce[] = {"c", "e"};
    pick(seven + 1, 6, NULL, NULL, 3, &out); /* a c e b d f */
    expect_keys(&out, ce, 2);
    s3m_bounds_free(&out);
}

static void test_pick_nothing(void **state)
{
    (void)state;
    const char *keys[] = {"a", "b", "c"};
    struct s3m_bounds out;
    pick(keys, 3, NULL, NULL, 1, &out); /* one range wanted: no boundary */
    assert_int_equal(out.n, 0);
    s3m_bounds_free(&out);
    pick(keys, 3, "c", NULL, 4, &out); /* none inside */
    assert_int_equal(out.n, 0);
    s3m_bounds_free(&out);
    pick(keys, 3, NULL, "a", 4, &out);
    assert_int_equal(out.n, 0);
    s3m_bounds_free(&out);
    pick(keys, 0, NULL, NULL, 4, &out); /* no candidates */
    assert_int_equal(out.n, 0);
    s3m_bounds_free(&out);
}

static void test_pick_control_characters(void **state)
{
    (void)state;
    /* a boundary is cut before its first control character; cut, it must still lie above lo
     * (here "b\x01y" becomes "b" = lo: dropped), and repeats go */
    const char *keys[] = {"b\x01x", "b\x01y", "c", "d\x02z"};
    struct s3m_bounds out;
    const char *cd[] = {"c", "d"};
    pick(keys, 4, "b", NULL, 4, &out); /* keys 1, 2, 3: b\1y, c, d\2z */
    expect_keys(&out, cd, 2);
    s3m_bounds_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_repeats),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_text_round_trip),
        cmocka_unit_test(test_pick),
        cmocka_unit_test(test_pick_nothing),
        cmocka_unit_test(test_pick_control_characters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
