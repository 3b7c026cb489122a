/* test_plan.c - the planner (core/plan.c): what each mode does with each kind of key, the
 * counters, the safety rules and the report / plan lines. Expected values are written from the
 * man page (man/s3mirror.1: COMMANDS, --plan, --max-delete, --allow-empty-source) and from
 * docs/how-sync-decides.md (the walk table, the folder marker, the safety rules, the sweep). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3m/plan.h"

enum kind {
    ONLY_SRC,
    ONLY_DST,
    DIFFER,
    SAME,
    EXCLUDED,
    UNVERIFIED,
    NEEDS_HEAD,
    NEEDS_CONTENT,
    FOLDER_SRC,
    FOLDER_DST
};

static struct s3m_diff_item item(enum kind k)
{
    static const struct s3m_entry src = {"k", 10, "e1", 100}, dst = {"k", 20, "e2", 200};
    static const struct s3m_entry fsrc = {"", 0, "d41d8cd98f00b204e9800998ecf8427e", 100};
    struct s3m_diff_item it = {S3M_ACT_SKIP, {0}, {0}, "why", false, false, false, false};
    switch (k) {
    case ONLY_SRC: it.action = S3M_ACT_COPY, it.src = src; break;
    case ONLY_DST: it.action = S3M_ACT_DELETE, it.dst = dst; break;
    case DIFFER: it.action = S3M_ACT_UPDATE, it.src = src, it.dst = dst; break;
    case SAME: it.src = src, it.dst = src; break;
    case EXCLUDED: it.action = S3M_ACT_EXCLUDED, it.src = src; break;
    case UNVERIFIED: it.src = src, it.dst = src, it.unverified = true; break;
    case NEEDS_HEAD: it.src = src, it.dst = dst, it.needs_head = true; break;
    case NEEDS_CONTENT: it.src = src, it.dst = dst, it.needs_content = true; break;
    case FOLDER_SRC: it.src = fsrc, it.folder = true; break;
    case FOLDER_DST: it.dst = fsrc, it.dst.size = 7, it.folder = true; break;
    }
    return it;
}

#define P S3M_PLAN_OUT_PLAN
#define R S3M_PLAN_OUT_REPORT

/* the walk table of how-sync-decides.md, per command, real and dry run */
static const struct decide_case {
    enum s3m_sync_mode mode;
    bool dry;
    enum kind k;
    enum s3m_plan_act act;
    bool execute, dst_side;
    unsigned out; /* lines at decision time */
} decide_cases[] = {
    /* sync: copy what is missing, update what differs, delete what is only on DST */
    {S3M_MODE_SYNC, false, ONLY_SRC, S3M_PLAN_COPY, true, false, P},
    {S3M_MODE_SYNC, false, DIFFER, S3M_PLAN_UPDATE, true, false, P},
    /* a real sync's plan has a delete line only once the object was deleted */
    {S3M_MODE_SYNC, false, ONLY_DST, S3M_PLAN_DELETE, true, true, 0},
    {S3M_MODE_SYNC, false, SAME, S3M_PLAN_SKIP, false, false, 0},
    {S3M_MODE_SYNC, false, EXCLUDED, S3M_PLAN_EXCLUDE, false, false, 0},
    /* a dry run changes nothing and says everything */
    {S3M_MODE_SYNC, true, ONLY_SRC, S3M_PLAN_COPY, false, false, P | R},
    {S3M_MODE_SYNC, true, DIFFER, S3M_PLAN_UPDATE, false, false, P | R},
    {S3M_MODE_SYNC, true, ONLY_DST, S3M_PLAN_DELETE, false, true, P | R},
    {S3M_MODE_SYNC, true, EXCLUDED, S3M_PLAN_EXCLUDE, false, false, 0},
    /* copy: like sync, without deletions (the extra object stays) */
    {S3M_MODE_COPY, false, ONLY_SRC, S3M_PLAN_COPY, true, false, P},
    {S3M_MODE_COPY, false, ONLY_DST, S3M_PLAN_NONE, false, true, 0},
    {S3M_MODE_COPY, true, ONLY_DST, S3M_PLAN_NONE, false, true, 0},
    /* check changes nothing and reports the differences */
    {S3M_MODE_CHECK, false, ONLY_SRC, S3M_PLAN_COPY, false, false, P | R},
    {S3M_MODE_CHECK, false, DIFFER, S3M_PLAN_UPDATE, false, false, P | R},
    {S3M_MODE_CHECK, false, ONLY_DST, S3M_PLAN_DELETE, false, true, P | R},
    {S3M_MODE_CHECK, false, UNVERIFIED, S3M_PLAN_UNVERIFIABLE, false, false, P | R},
    /* ETags that prove nothing: a skip said in the plan; --compare checksum reads / HEADs */
    {S3M_MODE_SYNC, false, UNVERIFIED, S3M_PLAN_UNVERIFIABLE, false, false, P},
    {S3M_MODE_SYNC, true, UNVERIFIED, S3M_PLAN_UNVERIFIABLE, false, false, P | R},
    {S3M_MODE_SYNC, false, NEEDS_HEAD, S3M_PLAN_VERIFY, false, false, 0},
    {S3M_MODE_SYNC, true, NEEDS_CONTENT, S3M_PLAN_VERIFY, false, false, 0},
    /* the folder's own marker: a skip with an empty key in the dry run and the plan; check
     * leaves it out */
    {S3M_MODE_SYNC, true, FOLDER_SRC, S3M_PLAN_FOLDER, false, false, P | R},
    {S3M_MODE_SYNC, false, FOLDER_DST, S3M_PLAN_FOLDER, false, true, P},
    {S3M_MODE_CHECK, false, FOLDER_SRC, S3M_PLAN_FOLDER, false, false, 0},
};

static void test_decide(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(decide_cases) / sizeof(decide_cases[0]); i++) {
        const struct decide_case *c = &decide_cases[i];
        struct s3m_plan_opts o = {c->mode, c->dry, false, -1, -1, false};
        struct s3m_diff_item it = item(c->k);
        struct s3m_plan_action a;
        s3m_plan_decide(&o, &it, &a);
        print_message("case %zu\n", i);
        assert_int_equal(a.act, c->act);
        assert_int_equal(a.execute, c->execute);
        if (c->act != S3M_PLAN_EXCLUDE)
            assert_int_equal(a.dst_side, c->dst_side);
        assert_int_equal(s3m_plan_outputs(&o, a.act), c->out);
        if (c->act == S3M_PLAN_FOLDER)
            assert_string_equal(a.key, "");
        else
            assert_string_equal(a.key, "k");
        if (c->act == S3M_PLAN_FOLDER) /* the marker's own size, on its side */
            assert_int_equal(a.size, c->dst_side ? 7 : 0);
        else
            assert_int_equal(a.size, c->dst_side ? 20 : 10);
    }
}

/* The summary's counts: what was decided, in a dry run or check, is counted at once; a real
 * run's copies count when they end (s3m_plan_count_transfer). */
static void test_count(void **state)
{
    (void)state;
    static const enum kind seq[] = {ONLY_SRC, ONLY_SRC,   DIFFER,     ONLY_DST,  SAME,
                                    EXCLUDED, UNVERIFIED, FOLDER_SRC, NEEDS_HEAD};
    for (int m = 0; m < 4; m++) {
        struct s3m_plan_opts o = {m == 3 ? S3M_MODE_CHECK : m == 2 ? S3M_MODE_COPY : S3M_MODE_SYNC,
                                  m == 1,
                                  false,
                                  -1,
                                  -1,
                                  false};
        struct s3m_sync_stats st;
        memset(&st, 0, sizeof(st));
        for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
            struct s3m_diff_item it = item(seq[i]);
            struct s3m_plan_action a;
            s3m_plan_decide(&o, &it, &a);
            s3m_plan_count(&o, &st, &a);
        }
        bool counted_now = o.dry_run || o.mode == S3M_MODE_CHECK;
        assert_int_equal(st.planned.n, 3);
        assert_int_equal(st.planned.bytes, 30);
        assert_int_equal(st.copy.n, counted_now ? 2 : 0);
        assert_int_equal(st.copy.bytes, counted_now ? 20 : 0);
        assert_int_equal(st.update.n, counted_now ? 1 : 0);
        /* copy never deletes: the extra object is a skip (no bytes) */
        assert_int_equal(st.del.n, o.mode == S3M_MODE_COPY ? 0 : 1);
        assert_int_equal(st.del.bytes, o.mode == S3M_MODE_COPY ? 0 : 20);
        assert_int_equal(st.excluded.n, 1);
        assert_int_equal(st.unverified.n, 1);
        /* same + unverified (+ the folder marker, not in check; + copy's extra object) */
        uint64_t skips = 2 + (o.mode != S3M_MODE_CHECK) + (o.mode == S3M_MODE_COPY);
        assert_int_equal(st.skip.n, skips);
        assert_int_equal(st.skip.bytes, 20);
        assert_int_equal(st.failed.n, 0);
    }
}

static void test_transfers_and_verify(void **state)
{
    (void)state;
    struct s3m_plan_opts real = {S3M_MODE_SYNC, false, false, -1, -1, false};
    struct s3m_plan_opts dry = {S3M_MODE_SYNC, true, false, -1, -1, false};
    struct s3m_sync_stats st;
    memset(&st, 0, sizeof(st));
    s3m_plan_count_transfer(&st, S3M_PLAN_COPY, 5, true);
    s3m_plan_count_transfer(&st, S3M_PLAN_UPDATE, 7, true);
    s3m_plan_count_transfer(&st, S3M_PLAN_COPY, 9, false);
    assert_int_equal(st.copy.n, 1);
    assert_int_equal(st.copy.bytes, 5);
    assert_int_equal(st.update.bytes, 7);
    assert_int_equal(st.failed.n, 1);
    assert_int_equal(st.failed.bytes, 9);
    /* --compare checksum: an update when the content (or recorded ETag) differs, else a skip */
    struct s3m_plan_action a;
    s3m_plan_verified(&real, true, false, "k", 3, &a);
    assert_int_equal(a.act, S3M_PLAN_UPDATE);
    assert_true(a.execute);
    assert_string_equal(a.why, "content differs (MD5)");
    s3m_plan_verified(&dry, true, true, "k", 3, &a);
    assert_false(a.execute);
    assert_string_equal(a.why, "ETag differs");
    memset(&st, 0, sizeof(st));
    s3m_plan_count(&dry, &st, &a);
    assert_int_equal(st.update.n, 1);
    assert_int_equal(st.planned.n, 0); /* the planned total is what the listings decided */
    s3m_plan_verified(&real, false, true, "k", 3, &a);
    assert_int_equal(a.act, S3M_PLAN_SKIP);
    s3m_plan_count(&real, &st, &a);
    assert_int_equal(st.skip.bytes, 3);
    assert_int_equal(s3m_plan_outputs(&real, a.act), 0);
    /* the first error is the one kept */
    struct s3m_errinfo e1, e2;
    s3m_errinfo_set(&e1, S3M_EIO, "first");
    s3m_errinfo_set(&e2, S3M_ES3, "second");
    s3m_plan_note_error(&st, &e1);
    s3m_plan_note_error(&st, &e2);
    assert_string_equal(st.first_error.message, "first");
}

/* how-sync-decides.md, "When deletes happen": rules 1-4 for every bucket */
static const struct refusal_case {
    struct s3m_plan_job j;
    bool allow_empty;
    const char *want; /* NULL: allowed; else a phrase of the reason */
} refusal_cases[] = {
    {{false, false, 0, false, 10, 10, 0}, false, NULL},
    {{true, false, 0, false, 10, 10, 0}, false, "interrupted"},
    {{false, true, 0, false, 10, 10, 0}, false, "a listing did not complete"},
    {{false, false, 3, false, 10, 10, 0}, false, "3 object(s) failed to copy"},
    {{false, false, 0, true, 10, 10, 0}, false, "delete list could not be written"},
    {{false, false, 0, false, 0, 5, 0}, false, "--allow-empty-source"},
    {{false, false, 0, false, 0, 5, 0}, true, NULL},
    {{false, false, 0, false, 0, 0, 0}, false, NULL}, /* nothing on either side: nothing to lose */
    /* the first reason wins */
    {{true, true, 2, true, 0, 5, 0}, false, "interrupted"},
    {{false, true, 2, false, 0, 5, 0}, false, "a listing did not complete"},
};

static void test_refusal(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(refusal_cases) / sizeof(refusal_cases[0]); i++) {
        const struct refusal_case *c = &refusal_cases[i];
        struct s3m_plan_opts o = {S3M_MODE_SYNC, false, c->allow_empty, -1, -1, false};
        char why[512] = "";
        print_message("case %zu\n", i);
        assert_int_equal(s3m_plan_refusal(&o, &c->j, why, sizeof(why)), c->want != NULL);
        if (c->want)
            assert_non_null(strstr(why, c->want));
    }
}

/* man page, --max-delete N|P%: more than N objects, or more than P percent of the destination
 * objects in the run's scope */
static const struct cap_case {
    int64_t n;
    double pct;
    uint64_t ndel, ndst;
    const char *want;
} cap_cases[] = {
    {-1, -1, 1000000, 1, NULL},
    {10, -1, 10, 100, NULL},
    {10, -1, 11, 100, "11 deletions exceed --max-delete 10"},
    {0, -1, 1, 100, "exceed --max-delete 0"},
    {0, -1, 0, 100, NULL},
    {-1, 12.5, 125, 1000, NULL},
    {-1, 12.5, 126, 1000, "126 deletions are 12.6% of the destination, over --max-delete 12.5%"},
    {-1, 0, 1, 3, "over --max-delete 0%"},
    {-1, 50, 5, 0, NULL}, /* an empty destination: no percentage */
    {-1, 100, 10, 10, NULL},
};

static void test_over_cap(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cap_cases) / sizeof(cap_cases[0]); i++) {
        const struct cap_case *c = &cap_cases[i];
        struct s3m_plan_opts o = {S3M_MODE_SYNC, false, false, c->n, c->pct, false};
        char why[512] = "";
        print_message("case %zu\n", i);
        assert_int_equal(s3m_plan_over_cap(&o, c->ndel, c->ndst, why, sizeof(why)),
                         c->want != NULL);
        if (c->want)
            assert_non_null(strstr(why, c->want));
    }
}

/* man page, --max-change N|P%: updates plus deletions over N, or over P percent of the
 * destination objects in the run's scope; copies of new objects are not changes */
static const struct change_case {
    int64_t n;
    double pct;
    uint64_t nupd, ndel, ndst;
    const char *want;
} change_cases[] = {
    {-1, -1, 1000, 1000, 1, NULL},
    {5, -1, 3, 2, 100, NULL},
    {5, -1, 3, 3, 100, "6 changes (3 updated, 3 deleted) exceed --max-change 5"},
    {5, -1, 6, 0, 100, "6 changes (6 updated, 0 deleted) exceed --max-change 5"},
    {0, -1, 0, 0, 100, NULL},
    {0, -1, 1, 0, 100, "exceed --max-change 0"},
    {-1, 10, 5, 5, 100, NULL},
    {-1, 10, 6, 5, 100,
     "11 changes (6 updated, 5 deleted) are 11.0% of the destination, over "
     "--max-change 10%"},
    {-1, 0, 0, 1, 3, "over --max-change 0%"},
    {-1, 50, 0, 0, 0, NULL}, /* an empty destination: nothing to change */
    {-1, 100, 4, 6, 10, NULL},
    {20, 10, 6, 5, 1000, NULL}, /* both: each must hold */
    {20, 1, 6, 5, 1000, "over --max-change 1%"},
};

static void test_over_change(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(change_cases) / sizeof(change_cases[0]); i++) {
        const struct change_case *c = &change_cases[i];
        char why[512] = "";
        print_message("case %zu\n", i);
        assert_int_equal(s3m_plan_over_change(c->n, c->pct, c->nupd, c->ndel, c->ndst, why,
                                              sizeof(why)),
                         c->want != NULL);
        if (c->want)
            assert_non_null(strstr(why, c->want));
    }
}

static char *line_of(bool json, enum s3m_sync_mode mode, const struct s3m_plan_line *l)
{
    static char buf[1024];
    memset(buf, 0, sizeof(buf));
    FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
    assert_non_null(f);
    if (json)
        s3m_plan_json(f, l);
    else
        s3m_plan_text(f, mode, l);
    fclose(f);
    return buf;
}

/* the report's columns: action (6 wide; check: what differs, 19 wide), size (12), key, (why);
 * the plan: one JSON object a line. The sweep's lines: "abort" with no size, "abort-upload". */
static const struct line_case {
    enum s3m_sync_mode mode;
    bool json;
    struct s3m_plan_line l;
    const char *want;
} line_cases[] = {
    {S3M_MODE_SYNC,
     false,
     {S3M_PLAN_COPY, "b", "a/k", 10, "not on destination", 0},
     "copy             10 a/k  (not on destination)\n"},
    {S3M_MODE_SYNC,
     false,
     {S3M_PLAN_DELETE, "b", "x", 0, "not on source", 0},
     "delete            0 x  (not on source)\n"},
    {S3M_MODE_SYNC,
     false,
     {S3M_PLAN_FOLDER, "b", "", 0, "source folder marker b/d/: w", 0},
     "skip              0   (source folder marker b/d/: w)\n"},
    {S3M_MODE_SYNC,
     false,
     {S3M_PLAN_ABORT_UPLOAD, "b", "big", 0, "left", 0},
     "abort             - big  (left)\n"},
    {S3M_MODE_SYNC,
     false,
     {S3M_PLAN_UPDATE, "b",
      "a\x01\x7f"
      "b",
      3, "size differs", 0},
     "update            3 a\\x01\\x7fb  (size differs)\n"},
    {S3M_MODE_CHECK,
     false,
     {S3M_PLAN_COPY, "b", "k", 1, "w", 0},
     "only on source                 1 k  (w)\n"},
    {S3M_MODE_CHECK,
     false,
     {S3M_PLAN_UPDATE, "b", "k", 1, "w", 0},
     "differs                        1 k  (w)\n"},
    {S3M_MODE_CHECK,
     false,
     {S3M_PLAN_DELETE, "b", "k", 1, "w", 0},
     "only on destination            1 k  (w)\n"},
    {S3M_MODE_CHECK,
     false,
     {S3M_PLAN_UNVERIFIABLE, "b", "k", 1, "w", 0},
     "unverified                     1 k  (w)\n"},
    {S3M_MODE_SYNC,
     true,
     {S3M_PLAN_COPY, "b", "k\"\\", 10, "why", 0},
     "{\"action\":\"copy\",\"bucket\":\"b\",\"key\":\"k\\\"\\\\\",\"size\":10,\"why\":\"why\"}\n"},
    {S3M_MODE_SYNC,
     true,
     {S3M_PLAN_UNVERIFIABLE, "b", "k", 1, "w", 0},
     "{\"action\":\"skip\",\"bucket\":\"b\",\"key\":\"k\",\"size\":1,\"why\":\"w\"}\n"},
    {S3M_MODE_SYNC,
     true,
     {S3M_PLAN_ABORT_UPLOAD, "d", "big", 0, "w", 0},
     "{\"action\":\"abort-upload\",\"bucket\":\"d\",\"key\":\"big\",\"size\":0,\"why\":\"w\"}\n"},
    /* ordered copies: a later tier is said in both lines, tier 0 in neither */
    {S3M_MODE_SYNC,
     false,
     {S3M_PLAN_COPY, "b", "snapshots/1", 7, "not on destination", 2},
     "copy              7 snapshots/1  (not on destination; tier 2)\n"},
    {S3M_MODE_SYNC,
     true,
     {S3M_PLAN_UPDATE, "b", "index/1", 7, "ETag differs", 1},
     "{\"action\":\"update\",\"bucket\":\"b\",\"key\":\"index/1\",\"size\":7,\"why\":\"ETag "
     "differs\",\"tier\":1}\n"},
    {S3M_MODE_SYNC,
     true,
     {S3M_PLAN_DELETE, "d", "k", 1, "not on source", 0},
     "{\"action\":\"delete\",\"bucket\":\"d\",\"key\":\"k\",\"size\":1,\"why\":\"not on "
     "source\"}\n"},
};

static void test_lines(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++) {
        const struct line_case *c = &line_cases[i];
        print_message("case %zu\n", i);
        assert_string_equal(line_of(c->json, c->mode, &c->l), c->want);
    }
    char why[200];
    s3m_plan_folder_why(why, sizeof(why), false, "b", "dir/", "the folder itself, not copied");
    assert_string_equal(why, "source folder marker b/dir/: the folder itself, not copied");
    s3m_plan_folder_why(why, sizeof(why), true, "b2", "mirror/", "the folder itself, kept");
    assert_string_equal(why, "destination folder marker b2/mirror/: the folder itself, kept");
}

/* --immutable (man page; rclone's docs.md --immutable): an existing destination object that
 * differs is never updated, in sync and copy, real or dry run: the decision is a refusal, an
 * error naming the key in the report and the plan; new objects are still copied, deletions
 * decided as usual (the refusal below then forbids them); check only reports */
static void test_immutable(void **state)
{
    (void)state;
    static const struct {
        enum s3m_sync_mode mode;
        bool dry;
        enum kind k;
        enum s3m_plan_act act;
        bool execute;
    } cases[] = {
        {S3M_MODE_SYNC, false, DIFFER, S3M_PLAN_REFUSE, false},
        {S3M_MODE_SYNC, true, DIFFER, S3M_PLAN_REFUSE, false},
        {S3M_MODE_COPY, false, DIFFER, S3M_PLAN_REFUSE, false},
        {S3M_MODE_SYNC, false, ONLY_SRC, S3M_PLAN_COPY, true},
        {S3M_MODE_SYNC, false, ONLY_DST, S3M_PLAN_DELETE, true},
        {S3M_MODE_SYNC, false, SAME, S3M_PLAN_SKIP, false},
        {S3M_MODE_CHECK, false, DIFFER, S3M_PLAN_UPDATE, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct s3m_plan_opts o = {cases[i].mode, cases[i].dry, false, -1, -1, true};
        struct s3m_diff_item it = item(cases[i].k);
        struct s3m_plan_action a;
        print_message("case %zu\n", i);
        s3m_plan_decide(&o, &it, &a);
        assert_int_equal(a.act, cases[i].act);
        assert_int_equal(a.execute, cases[i].execute);
        if (a.act == S3M_PLAN_REFUSE) /* the report and the plan say it, real run or not */
            assert_int_equal(s3m_plan_outputs(&o, a.act), P | R);
    }
    /* a --compare checksum verification that finds a difference: refused too */
    struct s3m_plan_opts o = {S3M_MODE_SYNC, false, false, -1, -1, true};
    struct s3m_plan_action a;
    s3m_plan_verified(&o, true, true, "k", 10, &a);
    assert_int_equal(a.act, S3M_PLAN_REFUSE);
    assert_false(a.execute);
    s3m_plan_verified(&o, false, true, "k", 10, &a);
    assert_int_equal(a.act, S3M_PLAN_SKIP);
    /* counted apart: neither an update nor a copy */
    struct s3m_sync_stats st;
    memset(&st, 0, sizeof(st));
    struct s3m_plan_action r = {.act = S3M_PLAN_REFUSE, .key = "k", .size = 10, .why = "w"};
    s3m_plan_count(&o, &st, &r);
    assert_int_equal(st.immutable.n, 1);
    assert_int_equal(st.immutable.bytes, 10);
    assert_int_equal(st.update.n + st.copy.n + st.planned.n, 0);
    /* and it forbids every deletion of the run */
    struct s3m_plan_job j = {false, false, 0, false, 5, 5, 2};
    char why[300] = "";
    assert_true(s3m_plan_refusal(&o, &j, why, sizeof(why)));
    assert_string_equal(why, "2 destination object(s) differ from the source under --immutable");
    /* the lines: action "refuse", the rule named before the difference */
    struct s3m_plan_line l = {S3M_PLAN_REFUSE, "b", "k", 3, "size differs", 0};
    assert_string_equal(line_of(false, S3M_MODE_SYNC, &l),
                        "refuse            3 k  (--immutable: size differs)\n");
    assert_string_equal(line_of(true, S3M_MODE_SYNC, &l),
                        "{\"action\":\"refuse\",\"bucket\":\"b\",\"key\":\"k\",\"size\":3,"
                        "\"why\":\"--immutable: size differs\"}\n");
}

/* --backup-dir naming, from rclone's docs.md (--backup-dir, --suffix, --suffix-keep-extension):
 * the path the object had, under the backup prefix; the suffix after the name, or before its
 * extension: file.txt -> file-2019-01-01.txt; file.tar.gz -> file-2019-01-01.tar.gz (tar is a
 * known type); file.badextension.gz -> file.badextension-2019-01-01.gz */
static void test_backup_key(void **state)
{
    (void)state;
    static const struct {
        const char *prefix, *rel, *suffix;
        bool keep;
        const char *want;
    } cases[] = {
        {"old/", "a/file.txt", "", false, "old/a/file.txt"},
        {"old/", "a/file.txt", "", true, "old/a/file.txt"},
        {"", "file.txt", "-2019-01-01", false, "file.txt-2019-01-01"},
        {"q/", "file.txt", "-2019-01-01", true, "q/file-2019-01-01.txt"},
        {"q/", "d/file.tar.gz", "-2019-01-01", true, "q/d/file-2019-01-01.tar.gz"},
        {"q/", "file.badextension.gz", "-2019-01-01", true, "q/file.badextension-2019-01-01.gz"},
        {"q/", "dir.d/file", "-S", true, "q/dir.d/file-S"},
        {"q/", "noext", "-S", true, "q/noext-S"},
        {"q/", ".profile", "-S", true, "q/-S.profile"},
        {"q/", "x.TAR.GZ", "-S", true, "q/x-S.TAR.GZ"},
        {"q/", "a/b.c", ".bak", false, "q/a/b.c.bak"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        print_message("case %zu\n", i);
        char *k = s3m_plan_backup_key(cases[i].prefix, cases[i].rel, cases[i].suffix,
                                      cases[i].keep);
        assert_string_equal(k, cases[i].want);
        free(k);
    }
}

/* the sweep's aborts: listed by a dry run (report and plan), a real sync's plan says the ones
 * done (written by the engine when done, not at the decision) */
static void test_abort_upload(void **state)
{
    (void)state;
    struct s3m_plan_opts dry = {S3M_MODE_SYNC, true, false, -1, -1, false};
    struct s3m_plan_opts real = {S3M_MODE_SYNC, false, false, -1, -1, false};
    assert_int_equal(s3m_plan_outputs(&dry, S3M_PLAN_ABORT_UPLOAD), P | R);
    assert_int_equal(s3m_plan_outputs(&real, S3M_PLAN_ABORT_UPLOAD), 0);
    struct s3m_sync_stats st;
    memset(&st, 0, sizeof(st));
    struct s3m_plan_action a = {.act = S3M_PLAN_ABORT_UPLOAD, .dst_side = true, .key = "k"};
    s3m_plan_count(&dry, &st, &a);
    assert_int_equal(st.stale_uploads, 1);
    assert_string_equal(s3m_plan_act_name(S3M_PLAN_ABORT_UPLOAD), "abort-upload");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decide),
        cmocka_unit_test(test_count),
        cmocka_unit_test(test_transfers_and_verify),
        cmocka_unit_test(test_refusal),
        cmocka_unit_test(test_over_cap),
        cmocka_unit_test(test_over_change),
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_abort_upload),
        cmocka_unit_test(test_immutable),
        cmocka_unit_test(test_backup_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
