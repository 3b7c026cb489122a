/* test_uploads_paging.c - when a ListMultipartUploads page has a next page worth asking
 * (s3m__uploads_more, shared by the stale-upload sweep and the look for a leftover to resume).
 * Expected values from S3's paging rules, by hand: a truncated page names where the next starts
 * (NextKeyMarker, NextUploadIdMarker); keys come in order, so a next key marker before the one
 * asked with goes back, and the same two markers again would ask the same page forever. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../src/engine/sweep_int.h" /* engine-private */

struct row {
    bool truncated;
    const char *next_key, *next_id; /* the page's */
    const char *key, *id;           /* asked with */
    bool more;
    const char *why;
};

static const struct row rows[] = {
    {false, "a", "u1", NULL, NULL, false, "not truncated: the last page"},
    {true, NULL, NULL, NULL, NULL, false, "truncated without a next key marker: nowhere to go"},
    {true, "", "u1", NULL, NULL, false, "an empty next key marker: nowhere to go"},
    {true, "a", "u1", NULL, NULL, true, "the first page, markers set"},
    {true, "a", NULL, NULL, NULL, true, "the first page, a key marker alone"},
    {true, "b", "u2", "a", "u1", true, "the next key"},
    {true, "b", NULL, "a", "u1", true, "the next key, no upload marker"},
    {true, "a", "u2", "a", "u1", true, "the same key, another upload"},
    {true, "a", "u1", "a", "u1", false, "the same markers: the same page again"},
    {true, "a", NULL, "a", NULL, false, "the same key marker, no upload marker either time"},
    {true, "a", "", "a", NULL, false, "the same key marker, an empty upload marker"},
    {true, "a", "u1", "b", "u9", false, "a key before the one asked with: back"},
};

static void test_paging_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *r = &rows[i];
        struct s3m_xml_uploads u = {0};
        u.is_truncated = r->truncated;
        u.next_key_marker = r->next_key;
        u.next_upload_id_marker = r->next_id;
        bool got = s3m__uploads_more(&u, r->key, r->id);
        if (got != r->more)
            fail_msg("%s: got %d", r->why, got);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paging_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
