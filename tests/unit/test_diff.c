/* test_diff.c - merge-join, compare rules, globs and filters on in-memory listings, and the key
 * sampler that splits listings into ranges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3m/diff.h"
#include "s3m/util.h"

struct arr {
    const struct s3m_entry *e;
    size_t n, pos;
    size_t wait_at; /* answer WAIT once when reaching this position (0 = never) */
    bool waited;
};

static enum s3m_pull arr_peek(void *ctx, struct s3m_entry *e)
{
    struct arr *a = ctx;
    if (a->wait_at && a->pos == a->wait_at && !a->waited) {
        a->waited = true;
        return S3M_PULL_WAIT;
    }
    if (a->pos >= a->n)
        return S3M_PULL_END;
    *e = a->e[a->pos];
    return S3M_PULL_ENTRY;
}

static void arr_advance(void *ctx)
{
    ((struct arr *)ctx)->pos++;
}

#define E1 "0123456789abcdef0123456789abcdef"
#define E2 "fedcba9876543210fedcba9876543210"

static void test_merge(void **state)
{
    (void)state;
    const struct s3m_entry src[] = {
        {"a", 1, E1, 100}, {"b", 2, E1, 100},      {"c", 3, E1, 100},
        {"d", 4, E1, 100}, {"f", 5, E1 "-2", 100}, {"z\xc3\xa9", 6, E1, 100},
    };
    const struct s3m_entry dst[] = {
        {"a", 1, E1, 200},      /* same */
        {"b", 2, E2, 200},      /* same size, other ETag */
        {"c", 4, E1, 200},      /* size differs */
        {"e", 1, E1, 200},      /* only on destination */
        {"f", 5, E2 "-3", 200}, /* multipart, other layout: not comparable */
        {"z", 1, E1, 200},      /* "z" < "z\xc3\xa9" */
    };
    struct arr a = {src, 6, 0, 3, false}, b = {dst, 6, 0, 0, false};
    struct s3m_diff d;
    s3m_diff_init(&d, (struct s3m_stream){arr_peek, arr_advance, &a},
                  (struct s3m_stream){arr_peek, arr_advance, &b}, NULL, S3M_CMP_ETAG);
    struct {
        const char *key;
        enum s3m_action act;
        const char *why;
    } want[] = {
        {"a", S3M_ACT_SKIP, "same ETag"},
        {"b", S3M_ACT_UPDATE, "ETag differs"},
        {"c", S3M_ACT_UPDATE, "size differs"},
        {"d", S3M_ACT_COPY, "not on destination"},
        {"e", S3M_ACT_DELETE, "not on source"},
        {"f", S3M_ACT_SKIP,
         "ETags not comparable (different part layouts), same size, destination not older"},
        {"z", S3M_ACT_DELETE, "not on source"},
        {"z\xc3\xa9", S3M_ACT_COPY, "not on destination"},
    };
    size_t i = 0, waits = 0;
    struct s3m_diff_item it;
    enum s3m_pull p;
    while ((p = s3m_diff_next(&d, &it)) != S3M_PULL_END) {
        if (p == S3M_PULL_WAIT) {
            waits++;
            continue;
        }
        assert_int_equal(p, S3M_PULL_ENTRY);
        assert_true(i < sizeof(want) / sizeof(want[0]));
        const char *key = it.action == S3M_ACT_DELETE ? it.dst.key : it.src.key;
        assert_string_equal(key, want[i].key);
        assert_int_equal(it.action, want[i].act);
        assert_string_equal(it.why, want[i].why);
        i++;
    }
    assert_int_equal(i, 8);
    assert_int_equal(waits, 1);
}

static void test_empty_sides(void **state)
{
    (void)state;
    const struct s3m_entry one[] = {{"k", 1, E1, 1}};
    struct arr a = {one, 1, 0, 0, false}, b = {NULL, 0, 0, 0, false};
    struct s3m_diff d;
    struct s3m_diff_item it;
    s3m_diff_init(&d, (struct s3m_stream){arr_peek, arr_advance, &b},
                  (struct s3m_stream){arr_peek, arr_advance, &a}, NULL, S3M_CMP_ETAG);
    assert_int_equal(s3m_diff_next(&d, &it), S3M_PULL_ENTRY);
    assert_int_equal(it.action, S3M_ACT_DELETE);
    assert_int_equal(s3m_diff_next(&d, &it), S3M_PULL_END);
    assert_int_equal(d.nsrc, 0);
    assert_int_equal(d.ndst, 1);
}

/* a stream that answers ERROR once it reaches a position */
struct failing {
    struct arr a;
    size_t error_at;
    int peeks;
};

static enum s3m_pull failing_peek(void *ctx, struct s3m_entry *e)
{
    struct failing *f = ctx;
    f->peeks++;
    return f->a.pos == f->error_at ? S3M_PULL_ERROR : arr_peek(&f->a, e);
}

static void failing_advance(void *ctx)
{
    arr_advance(&((struct failing *)ctx)->a);
}

/* The pull results as s3m/diff.h states them: WAIT while either side has nothing ready (and
 * nothing is consumed meanwhile), END once both are done (and after), ERROR when a side failed,
 * from then on. */
static void test_pull_results(void **state)
{
    (void)state;
    const struct s3m_entry one[] = {{"k", 1, E1, 1}};
    struct s3m_diff d;
    struct s3m_diff_item it;
    /* both empty: END at once, and again */
    struct arr e1 = {NULL, 0, 0, 0, false}, e2 = {NULL, 0, 0, 0, false};
    s3m_diff_init(&d, (struct s3m_stream){arr_peek, arr_advance, &e1},
                  (struct s3m_stream){arr_peek, arr_advance, &e2}, NULL, S3M_CMP_ETAG);
    assert_int_equal(s3m_diff_next(&d, &it), S3M_PULL_END);
    assert_int_equal(s3m_diff_next(&d, &it), S3M_PULL_END);
    assert_int_equal(d.nsrc + d.ndst, 0);
    /* the destination not ready while the source is: WAIT, the source's head not taken */
    const struct s3m_entry two[] = {{"a", 1, E1, 1}, {"b", 1, E1, 1}};
    struct arr a = {two, 2, 0, 0, false}, b = {two, 2, 0, 1, false};
    s3m_diff_init(&d, (struct s3m_stream){arr_peek, arr_advance, &a},
                  (struct s3m_stream){arr_peek, arr_advance, &b}, NULL, S3M_CMP_ETAG);
    assert_int_equal(s3m_diff_next(&d, &it), S3M_PULL_ENTRY);
    assert_string_equal(it.src.key, "a");
    assert_int_equal(s3m_diff_next(&d, &it), S3M_PULL_WAIT);
    assert_int_equal(a.pos, 1);
    assert_int_equal(d.nsrc, 1);
    assert_int_equal(s3m_diff_next(&d, &it), S3M_PULL_ENTRY);
    assert_int_equal(it.action, S3M_ACT_SKIP);
    assert_string_equal(it.src.key, "b");
    assert_string_equal(it.dst.key, "b");
    assert_int_equal(s3m_diff_next(&d, &it), S3M_PULL_END);
    /* a finished source does not end the merge while the destination still waits */
    struct arr done = {NULL, 0, 0, 0, false}, late = {two, 2, 0, 1, false};
    s3m_diff_init(&d, (struct s3m_stream){arr_peek, arr_advance, &done},
                  (struct s3m_stream){arr_peek, arr_advance, &late}, NULL, S3M_CMP_ETAG);
    assert_int_equal(s3m_diff_next(&d, &it), S3M_PULL_ENTRY);
    assert_int_equal(it.action, S3M_ACT_DELETE);
    assert_int_equal(s3m_diff_next(&d, &it), S3M_PULL_WAIT);
    assert_int_equal(s3m_diff_next(&d, &it), S3M_PULL_ENTRY);
    assert_int_equal(it.action, S3M_ACT_DELETE);
    assert_string_equal(it.dst.key, "b");
    assert_int_equal(s3m_diff_next(&d, &it), S3M_PULL_END);
    assert_int_equal(d.ndst, 2);
    /* a side that fails: ERROR, and ERROR on every later call, nothing more consumed */
    for (int side = 0; side < 2; side++) {
        struct failing f = {{one, 1, 0, 0, false}, 0, 0};
        struct arr other = {one, 1, 0, 0, false};
        struct s3m_stream fs = {failing_peek, failing_advance, &f};
        struct s3m_stream os = {arr_peek, arr_advance, &other};
        s3m_diff_init(&d, side ? os : fs, side ? fs : os, NULL, S3M_CMP_ETAG);
        assert_int_equal(s3m_diff_next(&d, &it), S3M_PULL_ERROR);
        assert_int_equal(s3m_diff_next(&d, &it), S3M_PULL_ERROR);
        assert_int_equal(other.pos, 0);
        assert_int_equal(d.nsrc + d.ndst, 0);
    }
}

static void test_compare_modes(void **state)
{
    (void)state;
    struct s3m_entry s = {"k", 10, E1, 500}, t = {"k", 10, E2, 400};
    const char *why;
    bool unv, content, head;
    assert_int_equal(s3m_compare_entries(&s, &t, S3M_CMP_ETAG, &why, &unv, &content, &head),
                     S3M_ACT_UPDATE);
    assert_int_equal(s3m_compare_entries(&s, &t, S3M_CMP_SIZE, &why, &unv, &content, &head),
                     S3M_ACT_SKIP);
    assert_int_equal(s3m_compare_entries(&s, &t, S3M_CMP_SIZE_MTIME, &why, &unv, &content, &head),
                     S3M_ACT_UPDATE);
    t.mtime = 600;
    assert_int_equal(s3m_compare_entries(&s, &t, S3M_CMP_SIZE_MTIME, &why, &unv, &content, &head),
                     S3M_ACT_SKIP);
    t.etag = E1 "-2";
    assert_int_equal(s3m_compare_entries(&s, &t, S3M_CMP_CHECKSUM, &why, &unv, &content, &head),
                     S3M_ACT_SKIP);
    assert_true(unv && content);
    s.mtime = 700; /* source changed after the destination was written */
    assert_int_equal(s3m_compare_entries(&s, &t, S3M_CMP_ETAG, &why, &unv, &content, &head),
                     S3M_ACT_UPDATE);
    assert_true(unv);
    /* multipart ETags of the same part count that differ: the destination's metadata decides */
    s.etag = E1 "-3", t.etag = E2 "-3", s.mtime = 100;
    assert_int_equal(s3m_compare_entries(&s, &t, S3M_CMP_ETAG, &why, &unv, &content, &head),
                     S3M_ACT_SKIP);
    assert_true(head && !unv && !content);
    assert_int_equal(s3m_compare_entries(&s, &t, S3M_CMP_CHECKSUM, &why, &unv, &content, &head),
                     S3M_ACT_SKIP);
    assert_true(head && !unv && !content);
    t.size = 11; /* a size that differs decides alone */
    assert_int_equal(s3m_compare_entries(&s, &t, S3M_CMP_ETAG, &why, &unv, &content, &head),
                     S3M_ACT_UPDATE);
    assert_false(head);
    t.size = 10, t.etag = E1 "-3"; /* equal ETags: no HEAD */
    assert_int_equal(s3m_compare_entries(&s, &t, S3M_CMP_ETAG, &why, &unv, &content, &head),
                     S3M_ACT_SKIP);
    assert_false(head);
    s.etag = E1, t.etag = E2; /* plain ETags that differ: bytes differ, no HEAD */
    assert_int_equal(s3m_compare_entries(&s, &t, S3M_CMP_ETAG, &why, &unv, &content, &head),
                     S3M_ACT_UPDATE);
    assert_false(head);
    assert_int_equal(s3m_etag_parts(E1), 0);
    assert_int_equal(s3m_etag_parts(E1 "-10000"), 10000);
    assert_int_equal(s3m_etag_parts(E1 "-0"), -1);
    assert_int_equal(s3m_etag_parts("abc"), -1);
}

static void test_globs(void **state)
{
    (void)state;
    static const struct {
        const char *pat, *key;
        bool want;
    } cases[] = {
        {"*.jpg", "a.jpg", true},
        {"*.jpg", "dir/a.jpg", true},
        {"*.jpg", "a.jpeg", false},
        {"/*.jpg", "dir/a.jpg", false},
        {"/*.jpg", "a.jpg", true},
        {"dir/*", "dir/a", true},
        {"dir/*", "dir/sub/a", false},
        {"dir/**", "dir/sub/a", true},
        {"/dir/**", "x/dir/a", false},
        {"a?c", "abc", true},
        {"a?c", "a/c", false},
        {"[a-c]x", "bx", true},
        {"[!a-c]x", "bx", false},
        {"*.{jpg,png}", "p/q.png", true},
        {"*.{jpg,png}", "p/q.gif", false},
        {"logs/2026-*/**", "logs/2026-11/a/b", true},
        {"\\*lit", "*lit", true},
        {"\\*lit", "xlit", false},
        {"{a,b}{c,d}/x", "q/bd/x", true},
        {"{a,b}{c,d}/x", "ab/x", false},
        {"[,}]{x,y}", "}y", true},
        {"{[,],z}", ",", true},
        {"{,pre}fix", "fix", true},
        {"{a,\\,}b", ",b", true},
        {"/**/*.log", "a/b/c.log", true},
        {"/**/*.log", "c.log", false},
        {"**.log", "c.log", true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (s3m_glob_match(cases[i].pat, cases[i].key) != cases[i].want)
            fail_msg("glob %s on %s: expected %d", cases[i].pat, cases[i].key, cases[i].want);
}

/* backtracking on '*' must not take exponential time, and more than 32 stars still match */
static void test_globs_pathological(void **state)
{
    (void)state;
    char key[1025], pat[200];
    memset(key, 'a', 1023);
    key[1023] = 'c';
    key[1024] = 0;
    assert_false(s3m_glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*b", key));
    assert_false(s3m_glob_match("**a**a**a**a**a**a**a**a**b", key));
    assert_true(s3m_glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*c", key));
    assert_false(s3m_glob_match("{*a,*b}{*a,*b}{*a,*b}{*a,*b}{*a,*b}*x", key));
    size_t n = 0;
    for (int i = 0; i < 60; i++)
        pat[n++] = '*', pat[n++] = 'a';
    pat[n++] = 'c', pat[n] = 0;
    assert_true(s3m_glob_match(pat, key));
    pat[n - 1] = 'd';
    assert_false(s3m_glob_match(pat, key));
}

static void test_filter(void **state)
{
    (void)state;
    struct s3m_filter f;
    s3m_filter_init(&f, 1000000);
    assert_true(s3m_filter_add(&f, false, "*.tmp"));
    assert_true(s3m_filter_add(&f, true, "/keep/**"));
    assert_false(s3m_filter_add(&f, true, "bad[class"));
    assert_false(s3m_filter_add(&f, true, "{a,{b}}"));
    assert_true(s3m_filter_match(&f, "keep/a", 1, 0));
    assert_false(s3m_filter_match(&f, "keep/a.tmp", 1, 0)); /* first match wins */
    assert_false(s3m_filter_match(&f, "other", 1, 0));      /* includes exist: rest excluded */
    s3m_filter_cleanup(&f);
    s3m_filter_init(&f, 1000000);
    f.min_size = 10;
    f.max_size = 100;
    f.max_age = 3600;
    assert_true(s3m_filter_match(&f, "x", 10, 1000000 - 3600));
    assert_false(s3m_filter_match(&f, "x", 9, 1000000));
    assert_false(s3m_filter_match(&f, "x", 101, 1000000));
    assert_false(s3m_filter_match(&f, "x", 50, 1000000 - 3601));
    s3m_filter_cleanup(&f);
}

static void test_filtered_merge_keeps_excluded(void **state)
{
    (void)state;
    const struct s3m_entry src[] = {{"a.tmp", 1, E1, 1}};
    const struct s3m_entry dst[] = {{"a.tmp", 2, E2, 1}, {"b.tmp", 1, E1, 1}};
    struct arr a = {src, 1, 0, 0, false}, b = {dst, 2, 0, 0, false};
    struct s3m_filter f;
    s3m_filter_init(&f, 0);
    s3m_filter_add(&f, false, "*.tmp");
    struct s3m_diff d;
    struct s3m_diff_item it;
    s3m_diff_init(&d, (struct s3m_stream){arr_peek, arr_advance, &a},
                  (struct s3m_stream){arr_peek, arr_advance, &b}, &f, S3M_CMP_ETAG);
    assert_int_equal(s3m_diff_next(&d, &it), S3M_PULL_ENTRY);
    assert_int_equal(it.action, S3M_ACT_EXCLUDED); /* not updated */
    assert_int_equal(s3m_diff_next(&d, &it), S3M_PULL_ENTRY);
    assert_int_equal(it.action, S3M_ACT_EXCLUDED); /* excluded keys are never deleted */
    assert_int_equal(s3m_diff_next(&d, &it), S3M_PULL_END);
    /* listed, but not in scope: --max-delete P% and the empty-source rule ignore them */
    assert_int_equal(d.nsrc, 1);
    assert_int_equal(d.ndst, 2);
    assert_int_equal(d.nsrc_scope, 0);
    assert_int_equal(d.ndst_scope, 0);
    s3m_filter_cleanup(&f);
}

static void test_scope_counts(void **state)
{
    (void)state;
    const struct s3m_entry src[] = {{"a.db", 1, E1, 1}, {"c.log", 1, E1, 1}};
    const struct s3m_entry dst[] = {
        {"a.db", 1, E1, 1}, {"b.db", 1, E1, 1}, {"b.log", 1, E1, 1}, {"c.log", 1, E1, 1}};
    struct arr a = {src, 2, 0, 0, false}, b = {dst, 4, 0, 0, false};
    struct s3m_filter f;
    s3m_filter_init(&f, 0);
    s3m_filter_add(&f, true, "*.db");
    struct s3m_diff d;
    struct s3m_diff_item it;
    s3m_diff_init(&d, (struct s3m_stream){arr_peek, arr_advance, &a},
                  (struct s3m_stream){arr_peek, arr_advance, &b}, &f, S3M_CMP_ETAG);
    while (s3m_diff_next(&d, &it) == S3M_PULL_ENTRY)
        ;
    assert_int_equal(d.nsrc, 2);
    assert_int_equal(d.ndst, 4);
    assert_int_equal(d.nsrc_scope, 1); /* a.db */
    assert_int_equal(d.ndst_scope, 2); /* a.db, b.db */
    s3m_filter_cleanup(&f);
}

/* The key "" relative to a prefix is that folder's own marker ("dir/" under "dir/"): skipped
 * on either side, whatever the filters, never copied to the empty key nor deleted, and not
 * counted as a listed key. */
static void test_folder_markers(void **state)
{
    (void)state;
    const struct s3m_entry src[] = {{"", 0, "d41d8cd98f00b204e9800998ecf8427e", 1},
                                    {"a", 1, E1, 1}};
    const struct s3m_entry dst[] = {{"", 0, "d41d8cd98f00b204e9800998ecf8427e", 1},
                                    {"b", 1, E1, 1}};
    struct s3m_filter f;
    s3m_filter_init(&f, 0);
    s3m_filter_add(&f, true, "a"); /* "" matches no rule: would be excluded, is still a folder */
    for (int filtered = 0; filtered < 2; filtered++) {
        struct arr a = {src, 2, 0, 0, false}, b = {dst, 2, 0, 0, false};
        struct s3m_diff d;
        struct s3m_diff_item it;
        s3m_diff_init(&d, (struct s3m_stream){arr_peek, arr_advance, &a},
                      (struct s3m_stream){arr_peek, arr_advance, &b}, filtered ? &f : NULL,
                      S3M_CMP_ETAG);
        assert_int_equal(s3m_diff_next(&d, &it), S3M_PULL_ENTRY);
        assert_int_equal(it.action, S3M_ACT_SKIP);
        assert_true(it.folder);
        assert_string_equal(it.src.key, "");
        assert_null(it.dst.key);
        assert_string_equal(it.why, "the folder itself, not copied");
        assert_int_equal(s3m_diff_next(&d, &it), S3M_PULL_ENTRY);
        assert_int_equal(it.action, S3M_ACT_SKIP);
        assert_true(it.folder);
        assert_null(it.src.key);
        assert_string_equal(it.dst.key, "");
        assert_string_equal(it.why, "the folder itself, kept");
        assert_int_equal(s3m_diff_next(&d, &it), S3M_PULL_ENTRY);
        assert_false(it.folder);
        assert_int_equal(it.action, S3M_ACT_COPY);
        assert_string_equal(it.src.key, "a");
        assert_int_equal(s3m_diff_next(&d, &it), S3M_PULL_ENTRY);
        assert_int_equal(it.action, filtered ? S3M_ACT_EXCLUDED : S3M_ACT_DELETE);
        assert_string_equal(it.dst.key, "b");
        assert_int_equal(s3m_diff_next(&d, &it), S3M_PULL_END);
        assert_int_equal(d.nsrc, 1);
        assert_int_equal(d.ndst, 1);
    }
    /* --shard by hash: one shard says it (the shard of ""), the others count it as excluded */
    for (uint32_t shard = 0; shard < 3; shard++) {
        struct s3m_filter sf;
        s3m_filter_init(&sf, 0);
        sf.shard_count = 3;
        sf.shard_index = shard;
        struct arr a = {src, 1, 0, 0, false}, b = {NULL, 0, 0, 0, false};
        struct s3m_diff d;
        struct s3m_diff_item it;
        s3m_diff_init(&d, (struct s3m_stream){arr_peek, arr_advance, &a},
                      (struct s3m_stream){arr_peek, arr_advance, &b}, &sf, S3M_CMP_ETAG);
        assert_int_equal(s3m_diff_next(&d, &it), S3M_PULL_ENTRY);
        bool mine = s3m_shard_of("", 3) == shard;
        assert_int_equal(it.action, mine ? S3M_ACT_SKIP : S3M_ACT_EXCLUDED);
        assert_int_equal(it.folder, mine);
        assert_int_equal(s3m_diff_next(&d, &it), S3M_PULL_END);
        s3m_filter_cleanup(&sf);
    }
    /* a destination holding only its marker, an empty source: nothing to delete or count */
    struct arr a = {NULL, 0, 0, 0, false}, b = {dst, 1, 0, 0, false};
    struct s3m_diff d;
    struct s3m_diff_item it;
    s3m_diff_init(&d, (struct s3m_stream){arr_peek, arr_advance, &a},
                  (struct s3m_stream){arr_peek, arr_advance, &b}, NULL, S3M_CMP_ETAG);
    assert_int_equal(s3m_diff_next(&d, &it), S3M_PULL_ENTRY);
    assert_true(it.folder);
    assert_int_equal(it.action, S3M_ACT_SKIP);
    assert_int_equal(s3m_diff_next(&d, &it), S3M_PULL_END);
    assert_int_equal(d.ndst, 0);
    s3m_filter_cleanup(&f);
}

static void test_time(void **state)
{
    (void)state;
    assert_int_equal(s3m_parse_time("2026-11-25T15:43:14.120Z"), 1795621394);
    assert_int_equal(s3m_parse_time("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(s3m_parse_time("garbage"), 0);
    assert_int_equal(s3m_parse_time("2024-02-29T23:59:59Z"), 1709251199); /* leap day */
    assert_int_equal(s3m_parse_time("2000-03-01T00:00:00.000Z"), 951868800);
    assert_int_equal(s3m_parse_time("1999-12-31T23:59:60Z"), 946684800); /* leap second */
    assert_int_equal(s3m_parse_time("2026-13-01T00:00:00Z"), 0);
}

/* the key sampler behind shard-plan and learned ranges: evenly spaced in bounded memory */
static void test_sample_bounds(void **state)
{
    (void)state;
    struct s3m_sample sm;
    s3m_sample_init(&sm, 64);
    char key[32];
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof(key), "k%06d", i);
        s3m_sample_add(&sm, key);
        assert_true(sm.n <= 64);
    }
    char **b;
    size_t n = s3m_sample_bounds(&sm, 4, true, &b);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        int at = atoi(b[i] + 1), want = (int)(i + 1) * 25000;
        if (at < want - 2500 || at > want + 2500)
            fail_msg("boundary %zu at %d, expected near %d", i, at, want);
        free(b[i]);
    }
    free(b);
    s3m_sample_cleanup(&sm);

    /* fewer keys than parts: a plan repeats boundaries (empty shards), learned ranges do not */
    s3m_sample_init(&sm, 64);
    s3m_sample_add(&sm, "a");
    s3m_sample_add(&sm, "b");
    assert_int_equal(s3m_sample_bounds(&sm, 5, false, &b), 4);
    for (int i = 0; i < 4; i++)
        free(b[i]);
    free(b);
    assert_int_equal(s3m_sample_bounds(&sm, 5, true, &b), 2);
    assert_string_equal(b[0], "a");
    assert_string_equal(b[1], "b");
    free(b[0]), free(b[1]), free(b);
    s3m_sample_cleanup(&sm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge),        cmocka_unit_test(test_empty_sides),
        cmocka_unit_test(test_pull_results), cmocka_unit_test(test_compare_modes),
        cmocka_unit_test(test_globs),        cmocka_unit_test(test_globs_pathological),
        cmocka_unit_test(test_filter),       cmocka_unit_test(test_filtered_merge_keeps_excluded),
        cmocka_unit_test(test_scope_counts), cmocka_unit_test(test_folder_markers),
        cmocka_unit_test(test_time),         cmocka_unit_test(test_sample_bounds),
    };
    return cmocka_run_group_tests_name("diff", tests, NULL, NULL);
}
