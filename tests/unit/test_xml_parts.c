/* test_xml_parts.c - the S3 XML reader on ListParts pages (resuming an upload keeps a part only
 * from a page read right): the AWS documentation's example and moto's reply (tests/data/
 * s3-xml-parts), fed whole and in small chunks, and the documents it must refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3m/xml.h"
#include "tjson.h"

static struct s3m_xml_result *parse_file(const char *name, size_t chunk)
{
    char rel[256], path[1024];
    size_t len;
    snprintf(rel, sizeof(rel), "s3-xml-parts/%s", name);
    tj_data_path(rel, path, sizeof(path));
    char *data = tj_read_file(path, &len);
    assert_non_null(data);
    struct s3m_xml_result *r = NULL;
    struct s3m_errinfo ei;
    struct s3m_xml_parser *p = s3m_xml_new(S3M_XML_PARTS);
    enum s3m_err err = S3M_EOK;
    for (size_t off = 0; off < len && !err; off += chunk)
        err = s3m_xml_feed(p, data + off, len - off < chunk ? len - off : chunk, &ei);
    if (!err)
        err = s3m_xml_finish(p, &r, &ei);
    s3m_xml_free(p);
    free(data);
    if (err)
        fail_msg("%s: %s", name, ei.message);
    assert_int_equal(r->kind, S3M_XML_PARTS);
    return r;
}

static void test_aws_docs(void **state)
{
    (void)state;
    static const size_t chunks[] = {1, 7, 1 << 20};
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        struct s3m_xml_result *r = parse_file("aws-docs-list-parts.xml", chunks[i]);
        const struct s3m_xml_parts *x = &r->parts;
        assert_string_equal(x->bucket, "example-bucket");
        assert_string_equal(x->key, "example-object");
        assert_string_equal(x->upload_id,
                            "XXBsb2FkIElEIGZvciBlbHZpbmcncyVcdS1tb3ZpZS5tMnRzEEEwbG9hZA");
        assert_string_equal(x->storage_class, "STANDARD");
        assert_int_equal(x->part_number_marker, 1);
        assert_int_equal(x->next_part_number_marker, 3);
        assert_int_equal(x->max_parts, 2);
        assert_true(x->is_truncated);
        assert_int_equal(x->nparts, 2);
        assert_int_equal(x->parts[0].number, 2);
        assert_int_equal(x->parts[0].size, 10485760);
        assert_string_equal(x->parts[0].etag, "7778aef83f66abc1fa1e8477f296d394");
        assert_string_equal(x->parts[0].last_modified, "2010-11-10T20:48:34.000Z");
        assert_int_equal(x->parts[1].number, 3);
        assert_string_equal(x->parts[1].etag, "aaaa18db4cc2f85cedef654fccc4a4x8");
        s3m_xml_result_free(r);
    }
}

static void test_moto(void **state)
{
    (void)state;
    struct s3m_xml_result *r = parse_file("moto-list-parts.xml", 5);
    const struct s3m_xml_parts *x = &r->parts;
    assert_string_equal(r->root, "ListPartsResponse");
    assert_string_equal(x->bucket, "bkt1");
    assert_string_equal(x->key, "k");
    assert_int_equal(x->part_number_marker, 0);
    assert_int_equal(x->next_part_number_marker, 1);
    assert_true(x->is_truncated);
    assert_int_equal(x->nparts, 1);
    assert_int_equal(x->parts[0].number, 1);
    assert_int_equal(x->parts[0].size, 5242880);
    assert_string_equal(x->parts[0].etag, "4f08eef4096726bff1125e1b1b734644");
    s3m_xml_result_free(r);
}

/* a page whose parts cannot all be compared, or whose paging is unclear, is refused whole */
static void test_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "<ListPartsResult><Part><PartNumber>1</PartNumber><ETag>\"a\"</ETag><Size>5</Size>"
        "</Part></ListPartsResult>", /* no IsTruncated */
        "<ListPartsResult><IsTruncated>false</IsTruncated><Part><PartNumber>1</PartNumber>"
        "<ETag>\"a\"</ETag></Part></ListPartsResult>", /* no Size */
        "<ListPartsResult><IsTruncated>false</IsTruncated><Part><PartNumber>1</PartNumber>"
        "<Size>5</Size></Part></ListPartsResult>", /* no ETag */
        "<ListPartsResult><IsTruncated>false</IsTruncated><Part><ETag>\"a\"</ETag>"
        "<Size>5</Size></Part></ListPartsResult>", /* no PartNumber */
        "<ListPartsResult><IsTruncated>false</IsTruncated><Part><PartNumber>0</PartNumber>"
        "<ETag>\"a\"</ETag><Size>5</Size></Part></ListPartsResult>", /* part 0 */
        "<ListPartsResult><IsTruncated>false</IsTruncated><Part><PartNumber>10001</PartNumber>"
        "<ETag>\"a\"</ETag><Size>5</Size></Part></ListPartsResult>", /* past S3's 10000 */
        "<ListPartsResult><IsTruncated>false</IsTruncated><Part><PartNumber>1</PartNumber>"
        "<PartNumber>2</PartNumber><ETag>\"a\"</ETag><Size>5</Size></Part></ListPartsResult>",
        "<ListPartsResult><IsTruncated>false</IsTruncated><Part><PartNumber>1</PartNumber>"
        "<ETag>\"a\"</ETag><Size>-5</Size></Part></ListPartsResult>",         /* a bad size */
        "<ListPartsResult><IsTruncated>true</IsTruncated></ListPartsResult>", /* no next marker */
        "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated>"
        "</ListMultipartUploadsResult>", /* another document */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct s3m_xml_result *r = NULL;
        struct s3m_errinfo ei;
        if (!s3m_xml_parse(bad[i], strlen(bad[i]), S3M_XML_PARTS, &r, &ei))
            fail_msg("accepted: %s", bad[i]);
        assert_null(r);
        assert_true(ei.message[0] != 0);
    }
    /* an empty last page is a page */
    const char ok[] = "<ListPartsResult><IsTruncated>false</IsTruncated></ListPartsResult>";
    struct s3m_xml_result *r = NULL;
    struct s3m_errinfo ei;
    assert_int_equal(s3m_xml_parse(ok, sizeof(ok) - 1, S3M_XML_PARTS, &r, &ei), S3M_EOK);
    assert_int_equal(r->parts.nparts, 0);
    s3m_xml_result_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aws_docs),
        cmocka_unit_test(test_moto),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
