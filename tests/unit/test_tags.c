/* test_tags.c - object tags (core/xml_tags.c): the Tagging reply of GetObjectTagging as AWS
 * documents it and as moto and radosgw answer it (captured from both), the refusals, the
 * canonical x-amz-tagging form (expected strings written by hand from RFC 3986 / S3's URI
 * encoding) and the PutObjectTagging body read back by the reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3m/plan.h"
#include "s3m/tags.h"
#include "s3m/xml.h"

/* the AWS GetObjectTagging documentation's example */
static const char aws_doc[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                              "<Tagging xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
                              "  <TagSet>\n"
                              "     <Tag>\n"
                              "       <Key>tag1</Key>\n"
                              "       <Value>val1</Value>\n"
                              "     </Tag>\n"
                              "     <Tag>\n"
                              "       <Key>tag2</Key>\n"
                              "       <Value>val2</Value>\n"
                              "     </Tag>\n"
                              "  </TagSet>\n"
                              "</Tagging>\n";
/* moto 5's answer (no tags: <TagSet/>), radosgw 16.2's (no tags: <TagSet></TagSet>) */
static const char moto_one[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Tagging "
    "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><TagSet><Tag><Key>k</Key><Value>a b "
    "c</Value></Tag></TagSet></Tagging>";
static const char moto_none[] = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Tagging "
                                "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><TagSet/></"
                                "Tagging>";
static const char rgw_none[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Tagging "
    "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><TagSet></TagSet></Tagging>";

static struct s3m_xml_result *parse_ok(const char *doc)
{
    struct s3m_xml_result *r = NULL;
    struct s3m_errinfo ei;
    if (s3m_xml_parse(doc, strlen(doc), S3M_XML_TAGGING, &r, &ei))
        fail_msg("refused: %s", ei.message);
    assert_int_equal(r->kind, S3M_XML_TAGGING);
    return r;
}

static void refused(const char *doc, unsigned accept)
{
    struct s3m_xml_result *r = NULL;
    struct s3m_errinfo ei;
    assert_int_not_equal(s3m_xml_parse(doc, strlen(doc), accept, &r, &ei), 0);
    assert_null(r);
}

static void test_documents(void **state)
{
    (void)state;
    struct s3m_xml_result *r = parse_ok(aws_doc);
    assert_int_equal(r->tagging.ntags, 2);
    assert_string_equal(r->tagging.tags[0].key, "tag1");
    assert_string_equal(r->tagging.tags[0].value, "val1");
    assert_string_equal(r->tagging.tags[1].key, "tag2");
    assert_string_equal(r->tagging.tags[1].value, "val2");
    s3m_xml_result_free(r);
    r = parse_ok(moto_one);
    assert_int_equal(r->tagging.ntags, 1);
    assert_string_equal(r->tagging.tags[0].value, "a b c");
    s3m_xml_result_free(r);
    r = parse_ok(moto_none);
    assert_int_equal(r->tagging.ntags, 0);
    s3m_xml_result_free(r);
    r = parse_ok(rgw_none);
    assert_int_equal(r->tagging.ntags, 0);
    s3m_xml_result_free(r);
    /* an absent Value is the empty one; a Tagging without TagSet has no tags */
    r = parse_ok("<Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet></Tagging>");
    assert_string_equal(r->tagging.tags[0].value, "");
    s3m_xml_result_free(r);
    r = parse_ok("<Tagging/>");
    assert_int_equal(r->tagging.ntags, 0);
    s3m_xml_result_free(r);
}

static void test_refused(void **state)
{
    (void)state;
    refused(aws_doc, S3M_XML_LIST); /* not asked for */
    refused("<Tagging><TagSet><Tag><Value>v</Value></Tag></TagSet></Tagging>", S3M_XML_TAGGING);
    refused("<Tagging><TagSet><Tag><Key>a</Key><Key>b</Key></Tag></TagSet></Tagging>",
            S3M_XML_TAGGING);
    refused("<Tagging><TagSet><Tag><Key>a</Key></Tag><Tag><Key>a</Key></Tag></TagSet></Tagging>",
            S3M_XML_TAGGING);
    char big[8192] = "<Tagging><TagSet>";
    for (int i = 0; i <= S3M_TAGS_MAX; i++)
        snprintf(big + strlen(big), sizeof(big) - strlen(big), "<Tag><Key>k%d</Key></Tag>", i);
    strcat(big, "</TagSet></Tagging>");
    refused(big, S3M_XML_TAGGING);
}

static void expect_form(const struct s3m_xml_tag *t, size_t n, const char *want)
{
    struct s3m_buf b;
    s3m_buf_init(&b);
    s3m_tags_encode(&b, t, n);
    assert_string_equal(s3m_buf_str(&b), want);
    s3m_buf_cleanup(&b);
}

static void test_form(void **state)
{
    (void)state;
    const struct s3m_xml_tag t[] = {
        {"note", "a b=c&d+e%f"}, {"env", "prod"}, {"\xc3\x85", "\xe2\x9c\x93"}, {"e", ""}};
    /* sorted by key bytes; everything but A-Z a-z 0-9 - . _ ~ as %XX */
    expect_form(t, 4, "e=&env=prod&note=a%20b%3Dc%26d%2Be%25f&%C3%85=%E2%9C%93");
    const struct s3m_xml_tag u[] = {
        {"e", ""}, {"\xc3\x85", "\xe2\x9c\x93"}, {"env", "prod"}, {"note", "a b=c&d+e%f"}};
    expect_form(u, 4, "e=&env=prod&note=a%20b%3Dc%26d%2Be%25f&%C3%85=%E2%9C%93");
    expect_form(NULL, 0, "");
    assert_true(s3m_tags_counted("3"));
    assert_false(s3m_tags_counted("0"));
    assert_false(s3m_tags_counted(NULL));
    assert_false(s3m_tags_counted("x"));
}

/* the PutObjectTagging body reads back as the tags it was made of */
static void test_body(void **state)
{
    (void)state;
    const struct s3m_xml_tag t[] = {{"a<&>\"'", "\tv\r\n"}, {"b", ""}};
    struct s3m_buf b;
    s3m_buf_init(&b);
    s3m_tags_xml(&b, t, 2);
    struct s3m_xml_result *r = parse_ok(s3m_buf_str(&b));
    assert_int_equal(r->tagging.ntags, 2);
    assert_string_equal(r->tagging.tags[0].key, "a<&>\"'");
    assert_string_equal(r->tagging.tags[0].value, "\tv\r\n");
    assert_string_equal(r->tagging.tags[1].value, "");
    s3m_xml_result_free(r);
    s3m_buf_reset(&b);
    s3m_tags_xml(&b, NULL, 0);
    assert_string_equal(s3m_buf_str(&b), "<Tagging xmlns=\"http://s3.amazonaws.com/doc/"
                                         "2006-03-01/\"><TagSet></TagSet></Tagging>");
    s3m_buf_cleanup(&b);
}

/* the planner's word after a tag check (core/plan.c) */
static void test_plan_tags(void **state)
{
    (void)state;
    struct s3m_plan_opts real = {S3M_MODE_SYNC, false, false, -1, -1, false};
    struct s3m_plan_opts dry = {S3M_MODE_SYNC, true, false, -1, -1, false};
    struct s3m_plan_opts imm = {S3M_MODE_SYNC, false, false, -1, -1, true};
    struct s3m_plan_action a;
    struct s3m_sync_stats st;
    memset(&st, 0, sizeof(st));
    s3m_plan_tags(&real, true, NULL, "k", 5, &a);
    assert_int_equal(a.act, S3M_PLAN_UPDATE);
    assert_string_equal(a.why, "tags");
    assert_true(a.execute);
    s3m_plan_tags(&dry, true, "layouts differ", "k", 5, &a);
    assert_int_equal(a.act, S3M_PLAN_UPDATE);
    assert_false(a.execute);
    s3m_plan_count(&dry, &st, &a);
    assert_int_equal(st.update.n, 1);
    assert_int_equal(st.planned.n, 0); /* not a listing's decision */
    s3m_plan_tags(&real, false, NULL, "k", 5, &a);
    assert_int_equal(a.act, S3M_PLAN_SKIP);
    s3m_plan_tags(&real, false, "layouts differ", "k", 5, &a);
    assert_int_equal(a.act, S3M_PLAN_UNVERIFIABLE); /* kept as the listing decided it */
    assert_string_equal(a.why, "layouts differ");
    s3m_plan_tags(&imm, true, NULL, "k", 5, &a);
    assert_int_equal(a.act, S3M_PLAN_REFUSE);
    assert_false(a.execute);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_documents), cmocka_unit_test(test_refused),
        cmocka_unit_test(test_form),      cmocka_unit_test(test_body),
        cmocka_unit_test(test_plan_tags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
