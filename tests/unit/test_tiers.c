/* test_tiers.c - copy tiers (--copy-last, --layout): the highest matching tier wins, globs
 * keep the --include/--exclude semantics (anchoring, '*' vs '**'), and bad globs or tier
 * numbers are refused without changing anything. Expected tiers follow from the rules in
 * include/s3m/tiers.h and rclone's filter documentation, not from running the code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "s3m/diff.h"
#include "s3m/tiers.h"

static void test_empty_is_all_data(void **state)
{
    (void)state;
    struct s3m_tiers t;
    s3m_tiers_init(&t);
    assert_int_equal(t.ntiers, 0);
    assert_int_equal(s3m_tiers_of(&t, "anything"), 0);
    assert_int_equal(s3m_tiers_of(&t, ""), 0);
    s3m_tiers_cleanup(&t);
}

static void test_tier_numbers(void **state)
{
    (void)state;
    struct s3m_tiers t;
    s3m_tiers_init(&t);
    assert_false(s3m_tiers_add(&t, 0, "*.json")); /* tier 0 is "no glob" */
    assert_false(s3m_tiers_add(&t, 2, "*.json")); /* a gap: tier 1 does not exist yet */
    assert_int_equal(t.nglobs, 0);
    assert_int_equal(t.ntiers, 0);
    assert_true(s3m_tiers_add(&t, 1, "*.json"));
    assert_true(s3m_tiers_add(&t, 1, "*.manifest")); /* a second glob in the same tier */
    assert_true(s3m_tiers_add(&t, 2, "index.latest"));
    assert_false(s3m_tiers_add(&t, 4, "x"));     /* gap again */
    assert_true(s3m_tiers_add(&t, 1, "*.info")); /* back to an existing tier */
    assert_int_equal(t.ntiers, 2);
    assert_int_equal(t.nglobs, 4);
    s3m_tiers_cleanup(&t);

    s3m_tiers_init(&t);
    for (unsigned i = 1; i <= S3M_TIERS_MAX; i++)
        assert_true(s3m_tiers_add(&t, i, "x"));
    assert_false(s3m_tiers_add(&t, S3M_TIERS_MAX + 1, "x"));
    assert_int_equal(t.ntiers, S3M_TIERS_MAX);
    s3m_tiers_cleanup(&t);
}

static void test_highest_tier_wins(void **state)
{
    (void)state;
    struct s3m_tiers t;
    s3m_tiers_init(&t);
    /* added out of order: tier 2's glob first, then a wider tier-1 glob that also matches */
    assert_true(s3m_tiers_add(&t, 1, "*.dat"));
    assert_true(s3m_tiers_add(&t, 2, "/snap-*.dat"));
    assert_true(s3m_tiers_add(&t, 1, "**"));
    assert_int_equal(s3m_tiers_of(&t, "snap-abc.dat"), 2);
    assert_int_equal(s3m_tiers_of(&t, "meta-abc.dat"), 1);
    assert_int_equal(s3m_tiers_of(&t, "indices/x/0/snap-abc.dat"), 1); /* anchored: root only */
    assert_int_equal(s3m_tiers_of(&t, "indices/x/0/__seg"), 1);        /* ** takes everything */
    s3m_tiers_cleanup(&t);

    s3m_tiers_init(&t);
    assert_true(s3m_tiers_add(&t, 1, "*.json"));
    assert_true(s3m_tiers_add(&t, 2, "velero-backup.json"));
    assert_int_equal(s3m_tiers_of(&t, "backups/b1/velero-backup.json"), 2);
    assert_int_equal(s3m_tiers_of(&t, "backups/b1/other.json"), 1);
    assert_int_equal(s3m_tiers_of(&t, "backups/b1/b1.tar.gz"), 0);
    s3m_tiers_cleanup(&t);
}

/* rclone: a leading '/' anchors at the root; otherwise the pattern matches the end of the path
 * at a directory boundary; '*' stops at '/', '**' does not */
static void test_anchoring_and_stars(void **state)
{
    (void)state;
    struct s3m_tiers t;
    s3m_tiers_init(&t);
    assert_true(s3m_tiers_add(&t, 1, "/index-*"));
    assert_true(s3m_tiers_add(&t, 2, "/data/*"));
    assert_true(s3m_tiers_add(&t, 3, "/snapshots/**"));
    assert_true(s3m_tiers_add(&t, 4, "latest"));
    assert_int_equal(s3m_tiers_of(&t, "index-5"), 1);
    assert_int_equal(s3m_tiers_of(&t, "indices/a/0/index-5"), 0); /* anchored */
    assert_int_equal(s3m_tiers_of(&t, "index-5/x"), 0);           /* '*' stops at '/' */
    assert_int_equal(s3m_tiers_of(&t, "data/ab"), 2);
    assert_int_equal(s3m_tiers_of(&t, "data/21/2159dd48"), 0); /* one level only */
    assert_int_equal(s3m_tiers_of(&t, "snapshots/22a5af1b"), 3);
    assert_int_equal(s3m_tiers_of(&t, "snapshots/a/b/c"), 3);
    assert_int_equal(s3m_tiers_of(&t, "x/snapshots/a"), 0);
    assert_int_equal(s3m_tiers_of(&t, "latest"), 4);      /* unanchored: the whole key ... */
    assert_int_equal(s3m_tiers_of(&t, "a/b/latest"), 4);  /* ... or a tail after a '/' */
    assert_int_equal(s3m_tiers_of(&t, "a/notlatest"), 0); /* not a tail inside a name */
    assert_int_equal(s3m_tiers_of(&t, "latest/x"), 0);
    s3m_tiers_cleanup(&t);
}

static void test_malformed_globs(void **state)
{
    (void)state;
    static const char *const bad[] = {"", "[abc", "{a,b", "a}", "{a,{b}}", "abc\\"};
    struct s3m_tiers t;
    s3m_tiers_init(&t);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(s3m_glob_valid(bad[i]));
        assert_false(s3m_tiers_add(&t, 1, bad[i]));
    }
    char longglob[1026];
    memset(longglob, 'a', 1025);
    longglob[1025] = 0;
    assert_false(s3m_tiers_add(&t, 1, longglob)); /* over the 1024 bytes of a filter glob */
    longglob[1024] = 0;
    assert_true(s3m_glob_valid(longglob));
    assert_int_equal(t.nglobs, 0);
    assert_int_equal(t.ntiers, 0);
    static const char *const good[] = {"*.{json,gz}", "[!a]*", "\\*", "/**", "a?c"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(s3m_tiers_add(&t, 1, good[i]));
    assert_int_equal(s3m_tiers_of(&t, "x.gz"), 1);
    assert_int_equal(s3m_tiers_of(&t, "*"), 1);
    s3m_tiers_cleanup(&t);
    assert_null(t.globs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_is_all_data), cmocka_unit_test(test_tier_numbers),
        cmocka_unit_test(test_highest_tier_wins), cmocka_unit_test(test_anchoring_and_stars),
        cmocka_unit_test(test_malformed_globs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
