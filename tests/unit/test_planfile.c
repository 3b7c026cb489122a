/* test_planfile.c - the plan file `apply` reads (core/planfile.c), from its format as
 * docs/plans.md and the man page describe it: a header, action lines with the ETags they saw, a
 * trailer {"sha256":..,"lines":N} over every byte before it. Checksums here are computed with
 * the one-shot s3m_sha256_hex over the text the test wrote, not by the reader under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3m/planfile.h"

#define HEADER                                                                                     \
    "{\"s3mirror_plan\":1,\"version\":\"0.1.0\",\"created\":\"2026-12-02T03:00:00Z\","             \
    "\"dry_run\":true,\"args\":[\"sync\",\"sto2:b\",\"osl1:c\",\"--exclude=*.tmp\"]}\n"
#define COPY_A                                                                                     \
    "{\"action\":\"copy\",\"bucket\":\"b\",\"key\":\"a\",\"size\":1,\"src_etag\":\"e1\",\"why\":"  \
    "\"w\"}\n"
#define UPDATE_B                                                                                   \
    "{\"action\":\"update\",\"bucket\":\"b\",\"key\":\"b\",\"size\":2,\"src_etag\":\"e2\","        \
    "\"dst_etag\":\"e3\",\"dst_size\":5,\"why\":\"size differs\"}\n"
#define DELETE_C                                                                                   \
    "{\"action\":\"delete\",\"bucket\":\"c\",\"key\":\"c\",\"size\":7,\"dst_etag\":\"e4\","        \
    "\"why\":\"w\"}\n"
#define SKIP_D "{\"action\":\"skip\",\"bucket\":\"b\",\"key\":\"\",\"size\":0,\"why\":\"folder\"}\n"
#define ABORT_E                                                                                    \
    "{\"action\":\"abort-upload\",\"bucket\":\"c\",\"key\":\"e\",\"size\":0,\"why\":\"old\"}\n"
#define GOOD_BODY HEADER COPY_A UPDATE_B DELETE_C SKIP_D ABORT_E

/* body + its trailer (the caller frees) */
static char *signed_plan(const char *body)
{
    char hex[65];
    size_t lines = 0, n = strlen(body);
    for (size_t i = 0; i < n; i++)
        lines += body[i] == '\n';
    s3m_sha256_hex(body, n, hex);
    char *out = malloc(n + 128);
    snprintf(out, n + 128, "%s{\"sha256\":\"%s\",\"lines\":%zu}\n", body, hex, lines);
    return out;
}

/* feed text (len bytes) line by line, as apply reads a file */
static bool read_plan(struct s3m_planfile *p, const char *text, size_t len)
{
    s3m_planfile_init(p);
    size_t at = 0;
    bool ok = true;
    while (ok && at < len) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - text - at) + 1 : len - at;
        ok = s3m_planfile_feed(p, text + at, n);
        at += n;
    }
    return ok && s3m_planfile_finish(p);
}

static bool reads(const char *text, const char *want_error)
{
    struct s3m_planfile p;
    bool ok = read_plan(&p, text, strlen(text));
    if (!ok && want_error && !strstr(s3m_planfile_error(&p), want_error))
        fail_msg("error '%s', expected '%s'", s3m_planfile_error(&p), want_error);
    s3m_planfile_cleanup(&p);
    return ok;
}

static void test_good_plan(void **state)
{
    (void)state;
    char *text = signed_plan(GOOD_BODY);
    struct s3m_planfile p;
    assert_true(read_plan(&p, text, strlen(text)));
    assert_true(p.dry_run);
    assert_string_equal(p.version, "0.1.0");
    assert_string_equal(p.created, "2026-12-02T03:00:00Z");
    assert_int_equal(p.nargs, 4);
    assert_string_equal(p.args[0], "sync");
    assert_string_equal(p.args[3], "--exclude=*.tmp");
    assert_int_equal(p.lines, 6);
    /* copies, updates and deletes only, by bucket and key */
    assert_int_equal(p.n, 3);
    assert_string_equal(p.e[0].key, "a");
    assert_int_equal(p.e[0].act, S3M_PLAN_COPY);
    assert_string_equal(p.e[0].src_etag, "e1");
    assert_null(p.e[0].dst_etag);
    assert_string_equal(p.e[1].key, "b");
    assert_int_equal(p.e[1].dst_size, 5);
    assert_string_equal(p.e[1].dst_etag, "e3");
    assert_string_equal(p.e[2].bucket, "c");
    assert_int_equal(p.e[2].act, S3M_PLAN_DELETE);
    s3m_planfile_cleanup(&p);
    free(text);
}

static void test_every_flipped_byte_is_refused(void **state)
{
    (void)state;
    char *text = signed_plan(GOOD_BODY);
    size_t n = strlen(text);
    for (size_t i = 0; i < n; i++) {
        text[i] ^= 1;
        print_message("byte %zu\n", i);
        assert_false(reads(text, NULL));
        text[i] ^= 1;
    }
    assert_true(reads(text, NULL));
    free(text);
}

static void test_every_truncation_is_refused(void **state)
{
    (void)state;
    char *text = signed_plan(GOOD_BODY);
    size_t n = strlen(text);
    for (size_t len = 0; len < n; len++) {
        struct s3m_planfile p;
        assert_false(read_plan(&p, text, len));
        s3m_planfile_cleanup(&p);
    }
    free(text);
    assert_false(reads(GOOD_BODY, "no checksum line")); /* the trailer missing */
    assert_false(reads("", "no checksum line"));
}

static void test_edited_plan_is_called_edited(void **state)
{
    (void)state;
    char *text = signed_plan(GOOD_BODY);
    char *at = strstr(text, "\"key\":\"a\"");
    at[7] = 'q'; /* another key, the old trailer */
    assert_false(reads(text, "checksum mismatch"));
    at[7] = 'a';
    at = strstr(text, "\"action\":\"copy\"");
    memcpy(at + 10, "skip", 4); /* another action */
    assert_false(reads(text, "checksum mismatch"));
    free(text);
    /* a line more or less than the trailer counts, with the digest of what is there */
    char hex[65], buf[2048];
    s3m_sha256_hex(HEADER COPY_A, strlen(HEADER COPY_A), hex);
    snprintf(buf, sizeof(buf), "%s{\"sha256\":\"%s\",\"lines\":3}\n", HEADER COPY_A, hex);
    assert_false(reads(buf, "checksum mismatch"));
}

static void test_real_run_plan_is_read_as_one(void **state)
{
    (void)state;
    char *text = signed_plan("{\"s3mirror_plan\":1,\"version\":\"0.1.0\",\"created\":\"t\","
                             "\"dry_run\":false,\"args\":[\"sync\",\"a:b\",\"c:d\"]}\n" COPY_A);
    struct s3m_planfile p;
    assert_true(read_plan(&p, text, strlen(text)));
    assert_false(p.dry_run); /* apply refuses it (cli/cmd_apply.c) */
    s3m_planfile_cleanup(&p);
    free(text);
}

/* lines that are not the format, each with a checksum that matches: refused, naming the line */
static void test_malformed_lines(void **state)
{
    (void)state;
    static const struct {
        const char *body, *want;
    } cases[] = {
        {"{\"s3mirror_plan\":2,\"version\":\"x\",\"created\":\"t\",\"dry_run\":true,"
         "\"args\":[\"sync\",\"a:b\",\"c:d\"]}\n",
         "plan format 2"},
        {"{\"s3mirror_plan\":1,\"version\":\"x\",\"created\":\"t\",\"dry_run\":true}\n",
         "no \"args\""},
        {"{\"s3mirror_plan\":1,\"version\":\"x\",\"created\":\"t\",\"dry_run\":true,"
         "\"args\":[\"sync\",\"a:b\"]}\n",
         "do not name"},
        {COPY_A, "line 1: the plan header has no \"s3mirror_plan\""},
        {"[1]\n", "line 1: not a plan header"},
        {HEADER "{\"action\":\"copy\",\"bucket\":\"b\",\"key\":\"k\",\"size\":1}\n",
         "without the source ETag"},
        {HEADER "{\"action\":\"delete\",\"bucket\":\"b\",\"key\":\"k\",\"size\":1}\n",
         "without the destination ETag"},
        {HEADER "{\"action\":\"update\",\"bucket\":\"b\",\"key\":\"k\",\"size\":1,"
                "\"src_etag\":\"x\",\"dst_etag\":\"y\"}\n",
         "destination size"},
        {HEADER "{\"action\":\"move\",\"bucket\":\"b\",\"key\":\"k\",\"size\":1}\n",
         "unknown action \"move\""},
        {HEADER "{\"action\":\"skip\",\"bucket\":\"b\",\"size\":1}\n", "needs action, bucket"},
        {HEADER "{\"action\":\"skip\",\"action\":\"skip\",\"bucket\":\"b\",\"key\":\"k\","
                "\"size\":1}\n",
         "a member twice"},
        {HEADER "{\"action\":\"skip\",\"bucket\":\"b\",\"key\":\"k\",\"size\":-1}\n",
         "unsigned integer"},
        {HEADER "{\"action\":\"skip\",\"bucket\":\"b\",\"key\":\"k\",\"size\":01}\n",
         "unsigned integer"},
        {HEADER "{\"action\":\"skip\",\"bucket\":\"b\",\"key\":\"k\",\"size\":1.5}\n",
         "unsigned integer"},
        {HEADER "{\"action\":\"skip\",\"bucket\":\"b\",\"key\":\"k\",\"size\":"
                "18446744073709551616}\n",
         "too large"},
        {HEADER "{\"action\":\"skip\",\"bucket\":\"b\",\"key\":\"k\tx\",\"size\":1}\n",
         "control byte"},
        {HEADER "{\"action\":\"skip\",\"bucket\":\"b\",\"key\":\"k\\q\",\"size\":1}\n",
         "unknown escape"},
        {HEADER "{\"action\":\"skip\",\"bucket\":\"b\",\"key\":\"\\ud800x\",\"size\":1}\n",
         "lone high surrogate"},
        {HEADER "{\"action\":\"skip\",\"bucket\":\"b\",\"key\":\"\\udc00\",\"size\":1}\n",
         "lone low surrogate"},
        {HEADER "{\"action\":\"skip\",\"bucket\":\"b\",\"key\":\"\\u0000\",\"size\":1}\n",
         "NUL byte"},
        {HEADER "{\"action\":\"skip\",\"bucket\":\"b\",\"key\":\"k\",\"size\":1} x\n",
         "text after the object"},
        {HEADER "{\"action\":\"skip\",\"bucket\":\"b\",\"key\":\"k\",\"size\":1,\"x\":{}}\n",
         "line 2: malformed"},
        {HEADER "{\"action\":\"skip\",\"bucket\":\"b\",\"key\":\"k\",\"size\":1,}\n",
         "line 2: malformed"},
        {HEADER "{\"action\":\"skip\" \"bucket\":\"b\"}\n", "line 2: malformed"},
        {HEADER "[]\n", "line 2: malformed"},
        {HEADER "\n", "line 2: malformed"},
        {HEADER COPY_A COPY_A, "b/a has two actions"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        print_message("case %zu\n", i);
        char *text = signed_plan(cases[i].body);
        bool ok = reads(text, cases[i].want);
        free(text);
        assert_false(ok);
    }
    /* a line too long is refused before it is kept */
    size_t n = S3M_PLANFILE_MAX_LINE + 10;
    char *big = malloc(n + 1);
    memset(big, 'x', n);
    big[n] = 0;
    assert_false(reads(big, "longer than"));
    free(big);
}

static void test_tolerated(void **state)
{
    (void)state;
    /* JSON's whitespace, and members this reader does not know (a later writer's) */
    char *text = signed_plan(HEADER " { \"action\" : \"copy\" , \"bucket\":\"b\",\"key\":\"a\","
                                    "\"size\":1,\"src_etag\":\"e\",\"tier\":[1,\"x\",true,null],"
                                    "\"note\":false}\r\n");
    struct s3m_planfile p;
    assert_true(read_plan(&p, text, strlen(text)));
    assert_int_equal(p.n, 1);
    s3m_planfile_cleanup(&p);
    free(text);
}

/* every key the model test's generator makes (tests/model/gen.py REL_KEYS, CTL_KEYS, its
 * paths), and the bytes our writer escapes: written by s3m_plan_json_seen, read back the same */
static const char *const round_keys[] = {
    "a",
    "b",
    "a b",
    "x+y",
    "100%",
    "p%20q",
    "\xc3\xbc/\xc3\xb1.txt",
    "\xe6\x97\xa5\xe6\x9c\xac",
    "emoji\xf0\x9f\x98\x80",
    "d/e",
    "d/",
    "a//b",
    "//x",
    "/lead",
    "trail/",
    "./x",
    "../y",
    "a/./b",
    ".",
    "..",
    "sp ",
    "~t",
    "k.tmp",
    "~",
    "\xc3\xa9",
    "quote\"'",
    "back\\slash",
    "star*",
    "q?m",
    "{br}[]",
    "hash#",
    "amp&=;",
    "tab\tx",
    "ctl\x01x",
    "del\x7f",
    "cr\rx",
    "nl\nx",
    "\x1f\x02\x08\x0c",
    "pre fix/k",
    "\\u0041",
    "\"\"",
    "/",
    "\xff\xfe raw bytes",
};

static void test_keys_round_trip(void **state)
{
    (void)state;
    struct s3m_buf b;
    s3m_buf_init(&b);
    const char *args[] = {"sync", "sto2:b/pre fix", "osl1:c", "--exclude=quote\"\\\t*"};
    s3m_planfile_header(&b, "0.1.0", "2026-12-02T03:00:00Z", true, args, 4);
    char *line = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&line, &len);
    for (size_t i = 0; i < sizeof(round_keys) / sizeof(round_keys[0]); i++) {
        struct s3m_plan_line l = {S3M_PLAN_COPY, "b\"k\\t", round_keys[i], i, "why \"\n", 0};
        struct s3m_plan_seen seen = {"etag\"1", NULL, 0};
        s3m_plan_json_seen(f, &l, &seen);
    }
    fclose(f);
    s3m_buf_add(&b, line, len);
    free(line);
    char *text = signed_plan(s3m_buf_str(&b));
    struct s3m_planfile p;
    assert_true(read_plan(&p, text, strlen(text)));
    assert_int_equal(p.nargs, 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(p.args[i], args[i]);
    assert_int_equal(p.n, sizeof(round_keys) / sizeof(round_keys[0]));
    for (size_t i = 0; i < sizeof(round_keys) / sizeof(round_keys[0]); i++) {
        struct s3m_plan_action a = {.act = S3M_PLAN_COPY, .key = round_keys[i], .size = i};
        a.seen.src_etag = "etag\"1";
        char why[256];
        assert_int_equal(s3m_planfile_gate(&p, "b\"k\\t", &a, why, sizeof(why)), S3M_GATE_PASS);
    }
    size_t at = 0;
    assert_null(s3m_planfile_unmet(&p, &at));
    s3m_planfile_cleanup(&p);
    s3m_buf_cleanup(&b);
    free(text);
}

static void test_unicode_escapes(void **state)
{
    (void)state;
    /* what other JSON writers may put: \u escapes of any character, a surrogate pair, \/ */
    char *text = signed_plan(HEADER "{\"action\":\"copy\",\"bucket\":\"b\",\"key\":"
                                    "\"\\u00fc\\u65e5\\ud83d\\ude00\\/\\b\\f\\n\\r\\t\\\"\\\\\","
                                    "\"size\":1,\"src_etag\":\"e\"}\n");
    struct s3m_planfile p;
    assert_true(read_plan(&p, text, strlen(text)));
    assert_string_equal(p.e[0].key, "\xc3\xbc\xe6\x97\xa5\xf0\x9f\x98\x80/\b\f\n\r\t\"\\");
    s3m_planfile_cleanup(&p);
    free(text);
}

static struct s3m_plan_action act(enum s3m_plan_act a, const char *key, uint64_t size,
                                  const char *se, const char *de, uint64_t dsize)
{
    struct s3m_plan_action x = {.act = a, .key = key, .size = size, .why = "now"};
    x.seen = (struct s3m_plan_seen){se, de, dsize};
    return x;
}

static enum s3m_gate gate(struct s3m_planfile *p, const char *bucket, struct s3m_plan_action a,
                          const char *want)
{
    char why[512] = "";
    enum s3m_gate g = s3m_planfile_gate(p, bucket, &a, why, sizeof(why));
    if (want && !strstr(why, want))
        fail_msg("why '%s', expected '%s'", why, want);
    return g;
}

static void test_gate(void **state)
{
    (void)state;
    char *text = signed_plan(GOOD_BODY);
    struct s3m_planfile p;
    assert_true(read_plan(&p, text, strlen(text)));
    /* the plan's own actions on the objects it saw */
    assert_int_equal(gate(&p, "b", act(S3M_PLAN_COPY, "a", 1, "e1", NULL, 0), NULL), S3M_GATE_PASS);
    assert_int_equal(gate(&p, "b", act(S3M_PLAN_UPDATE, "b", 2, "e2", "e3", 5), NULL),
                     S3M_GATE_PASS);
    assert_int_equal(gate(&p, "c", act(S3M_PLAN_DELETE, "c", 7, NULL, "e4", 7), NULL),
                     S3M_GATE_PASS);
    assert_int_equal(p.changed, 0);
    /* what changed since */
    assert_int_equal(gate(&p, "b", act(S3M_PLAN_COPY, "a", 1, "e9", NULL, 0),
                          "source ETag was e1, now e9"),
                     S3M_GATE_CHANGED);
    assert_int_equal(gate(&p, "b", act(S3M_PLAN_COPY, "a", 3, "e1", NULL, 0),
                          "source size was 1, now 3"),
                     S3M_GATE_CHANGED);
    assert_int_equal(gate(&p, "b", act(S3M_PLAN_UPDATE, "a", 1, "e1", "x", 1),
                          "the plan's copy: now a update"),
                     S3M_GATE_CHANGED);
    assert_int_equal(gate(&p, "b", act(S3M_PLAN_UPDATE, "b", 2, "e2", "e8", 5),
                          "destination ETag was e3, now e8"),
                     S3M_GATE_CHANGED);
    assert_int_equal(gate(&p, "b", act(S3M_PLAN_UPDATE, "b", 2, "e2", "e3", 6),
                          "destination size was 5, now 6"),
                     S3M_GATE_CHANGED);
    assert_int_equal(gate(&p, "c", act(S3M_PLAN_DELETE, "c", 7, NULL, "e5", 7),
                          "destination ETag was e4, now e5"),
                     S3M_GATE_CHANGED);
    assert_int_equal(gate(&p, "c", act(S3M_PLAN_SKIP, "c", 7, NULL, NULL, 0),
                          "the plan's delete: nothing to do now"),
                     S3M_GATE_CHANGED);
    assert_int_equal(gate(&p, "b", act(S3M_PLAN_EXCLUDE, "a", 1, "e1", NULL, 0), "excluded"),
                     S3M_GATE_CHANGED);
    /* a difference the plan does not have, also the plan's key in another bucket */
    assert_int_equal(gate(&p, "b", act(S3M_PLAN_COPY, "new", 1, "e", NULL, 0), "does not have"),
                     S3M_GATE_CHANGED);
    assert_int_equal(gate(&p, "other", act(S3M_PLAN_COPY, "a", 1, "e1", NULL, 0), "does not have"),
                     S3M_GATE_CHANGED);
    assert_int_equal(p.changed, 10);
    /* nothing to say: not an action, not in the plan */
    assert_int_equal(gate(&p, "b", act(S3M_PLAN_SKIP, "zz", 1, "e", "e", 1), NULL), S3M_GATE_NONE);
    assert_int_equal(gate(&p, "b", act(S3M_PLAN_FOLDER, "", 0, NULL, NULL, 0), NULL),
                     S3M_GATE_NONE);
    assert_int_equal(p.changed, 10);
    s3m_planfile_cleanup(&p);
    free(text);
}

static void test_unmet(void **state)
{
    (void)state;
    char *text = signed_plan(GOOD_BODY);
    struct s3m_planfile p;
    assert_true(read_plan(&p, text, strlen(text)));
    gate(&p, "b", act(S3M_PLAN_UPDATE, "b", 2, "e2", "e3", 5), NULL);
    size_t at = 0;
    const struct s3m_planfile_entry *e = s3m_planfile_unmet(&p, &at);
    assert_non_null(e);
    assert_string_equal(e->key, "a");
    e = s3m_planfile_unmet(&p, &at);
    assert_non_null(e);
    assert_string_equal(e->key, "c");
    assert_null(s3m_planfile_unmet(&p, &at));
    s3m_planfile_cleanup(&p);
    free(text);
}

static void test_writers(void **state)
{
    (void)state;
    struct s3m_buf b;
    s3m_buf_init(&b);
    const char *args[] = {"sync", "sto2:b", "osl1:c", "--exclude=*.tmp"};
    s3m_planfile_header(&b, "0.1.0", "2026-12-02T03:00:00Z", true, args, 4);
    assert_string_equal(s3m_buf_str(&b), HEADER);
    s3m_buf_reset(&b);
    s3m_planfile_trailer(&b, "ab", 6);
    assert_string_equal(s3m_buf_str(&b), "{\"sha256\":\"ab\",\"lines\":6}\n");
    s3m_buf_cleanup(&b);
    /* the action lines: the ETags each action needs, between size and why */
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    struct s3m_plan_seen seen = {"e2", "e3", 5};
    struct s3m_plan_line l = {S3M_PLAN_UPDATE, "b", "b", 2, "size differs", 0};
    s3m_plan_json_seen(f, &l, &seen);
    struct s3m_plan_line c = {S3M_PLAN_COPY, "b", "a", 1, "w", 0};
    seen = (struct s3m_plan_seen){"e1", NULL, 0};
    s3m_plan_json_seen(f, &c, &seen);
    struct s3m_plan_line d = {S3M_PLAN_DELETE, "c", "c", 7, "w", 0};
    seen = (struct s3m_plan_seen){NULL, "e4", 7};
    s3m_plan_json_seen(f, &d, &seen);
    fclose(f);
    assert_string_equal(out, UPDATE_B COPY_A DELETE_C);
    free(out);
    /* the report line of a skipped action */
    f = open_memstream(&out, &len);
    s3m_planfile_report(f, false, "a\x01z", "source ETag was x, now y");
    fclose(f);
    assert_string_equal(out, "changed            - a\\x01z  (source ETag was x, now y)\n");
    free(out);
    f = open_memstream(&out, &len); /* --json */
    s3m_planfile_report(f, true, "a\x01z", "source ETag was \"x\"");
    fclose(f);
    assert_string_equal(out, "{\"type\":\"changed\",\"key\":\"a\\u0001z\",\"why\":\"source ETag "
                             "was \\\"x\\\"\"}\n");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_plan),
        cmocka_unit_test(test_every_flipped_byte_is_refused),
        cmocka_unit_test(test_every_truncation_is_refused),
        cmocka_unit_test(test_edited_plan_is_called_edited),
        cmocka_unit_test(test_real_run_plan_is_read_as_one),
        cmocka_unit_test(test_malformed_lines),
        cmocka_unit_test(test_tolerated),
        cmocka_unit_test(test_keys_round_trip),
        cmocka_unit_test(test_unicode_escapes),
        cmocka_unit_test(test_gate),
        cmocka_unit_test(test_unmet),
        cmocka_unit_test(test_writers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
