/* test_layout.c - part layouts (learned and uniform) and the multipart ETag they give.
 *
 * The ETag vectors come from real servers, not from this code: moto and Ceph radosgw both
 * answered 05da0bb411e052ceccb875071f34cd63-3 for a boto3 upload of parts of 6 MiB of 'A',
 * 5 MiB of 'B' and 1 MiB of 'C' (moto's HEAD ?partNumber=N gave the three part MD5s below),
 * and 59adb24ef3cdbe0297f05b395827453f-1 is the ETag of an upload of one empty part. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "s3m/layout.h"

#define MiB (1024ull * 1024ull)

static void test_etag_of_uneven_parts(void **state)
{
    (void)state;
    const char *parts[] = {"ba0f003033ee6eda6582b4323b61d80b", "ba8c3fac0e224c9b79a8e74bebd54654",
                           "C3CDA277453831CDB8D94454EC44F7A8"};
    char out[S3M_LAYOUT_ETAG_LEN];
    assert_true(s3m_layout_etag(parts, 3, out));
    assert_string_equal(out, "05da0bb411e052ceccb875071f34cd63-3");
    const char *empty[] = {"d41d8cd98f00b204e9800998ecf8427e"};
    assert_true(s3m_layout_etag(empty, 1, out));
    assert_string_equal(out, "59adb24ef3cdbe0297f05b395827453f-1");
    /* the order of the parts is part of the ETag */
    const char *swapped[] = {parts[1], parts[0], parts[2]};
    assert_true(s3m_layout_etag(swapped, 3, out));
    assert_string_not_equal(out, "05da0bb411e052ceccb875071f34cd63-3");
}

static void test_etag_refuses_bad_input(void **state)
{
    (void)state;
    char out[S3M_LAYOUT_ETAG_LEN];
    const char *bad[] = {"ba0f003033ee6eda6582b4323b61d80", "ba0f003033ee6eda6582b4323b61d80bb",
                         "ba0f003033ee6eda6582b4323b61d80g", "", NULL};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(s3m_layout_etag(&bad[i], 1, out));
        assert_string_equal(out, "");
    }
    const char *ok[] = {"d41d8cd98f00b204e9800998ecf8427e"};
    assert_false(s3m_layout_etag(ok, 0, out));
    assert_false(s3m_layout_etag(ok, S3M_LAYOUT_MAX_PARTS + 1, out));
}

static void test_check_learned_sizes(void **state)
{
    (void)state;
    uint64_t uneven[] = {6 * MiB, 5 * MiB, 1 * MiB};
    assert_true(s3m_layout_check(12 * MiB, uneven, 3));
    assert_false(s3m_layout_check(12 * MiB + 1, uneven, 3)); /* a byte short */
    assert_false(s3m_layout_check(12 * MiB - 1, uneven, 3)); /* a byte past the end */
    assert_false(s3m_layout_check(12 * MiB, uneven, 2));     /* a part missing */
    assert_true(s3m_layout_check(11 * MiB, uneven, 2));
    uint64_t zero[] = {5 * MiB, 0, 1};
    assert_false(s3m_layout_check(5 * MiB + 1, zero, 3));
    uint64_t huge[] = {UINT64_MAX, 2}; /* the sum must not wrap round to the size */
    assert_false(s3m_layout_check(1, huge, 2));
    assert_false(s3m_layout_check(1, huge, 0));
}

static void test_uniform(void **state)
{
    (void)state;
    uint64_t s[4] = {0};
    assert_int_equal(s3m_layout_uniform(16 * MiB, 7 * MiB, s, 4), 3);
    assert_true(s[0] == 7 * MiB && s[1] == 7 * MiB && s[2] == 2 * MiB);
    assert_int_equal(s3m_layout_uniform(10 * MiB, 5 * MiB, s, 4), 2);
    assert_true(s[0] == 5 * MiB && s[1] == 5 * MiB);
    assert_int_equal(s3m_layout_uniform(5 * MiB + 1, 5 * MiB, s, 4), 2);
    assert_true(s[1] == 1);
    assert_int_equal(s3m_layout_uniform(3, 5 * MiB, s, 4), 1);
    assert_true(s[0] == 3);
    assert_int_equal(s3m_layout_uniform(0, 5 * MiB, s, 4), 1);
    assert_true(s[0] == 0);
    assert_int_equal(s3m_layout_uniform(10 * MiB, 0, s, 4), 0);
    assert_int_equal(s3m_layout_uniform(10001, 1, NULL, 0), 0); /* more than 10000 parts */
    assert_int_equal(s3m_layout_uniform(10000, 1, NULL, 0), 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_etag_of_uneven_parts),
        cmocka_unit_test(test_etag_refuses_bad_input),
        cmocka_unit_test(test_check_learned_sizes),
        cmocka_unit_test(test_uniform),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
