/* test_xfer.c - the part sizes a copy tries when the server does not tell a multipart source's
 * layout (s3m_xfer_part_candidates). Expected values come from S3's multipart rules, worked out
 * by hand below, not from the code: a size ps is a candidate for `parts` parts of `size` bytes
 * when every part but the last is ps bytes, so ceil(size / ps) == parts, and ps >= 5 MiB (S3's
 * smallest part but the last). Candidates come in the documented order: the common sizes
 * 5, 8, 16, 10, 15, 32, 64, 100, 128, 50, 25, 256, 512, 1024, 20, 200, 500, 96 MiB (tools'
 * defaults first), then the even split ceil(size / parts) rounded up to a MiB, then the even
 * split itself; each size once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "s3m/xfer.h"

#define MiB (1024ull * 1024ull)

struct row {
    uint64_t size;
    int parts;
    int n;             /* candidates expected */
    uint64_t want[20]; /* in this order */
    const char *why;
};

static const struct row rows[] = {
    /* 6+5+1 MiB (an uneven upload): of the common sizes only 5 MiB gives 3 parts
     * (ceil(12/5) = 3; 8 MiB gives 2); the even split, 4 MiB, is below the 5 MiB minimum */
    {12 * MiB, 3, 1, {5 * MiB}, "12 MiB in 3 parts"},
    /* 1 GiB in 64 parts: 16 MiB exactly (15 MiB gives 69, 20 MiB gives 52); the even split
     * is 16 MiB again, so it is not repeated */
    {1024 * MiB, 64, 1, {16 * MiB}, "1 GiB in 64 parts"},
    /* 100 MiB in 13 parts: 8 MiB (12.5 -> 13); the even split 104857600 / 13 = 8065969.2 ->
     * 8065970 bytes, which rounds up to 8 MiB (already there) and gives 13 parts itself
     * (13 x 8065970 = 104857610 >= size > 12 x 8065970) */
    {100 * MiB, 13, 2, {8 * MiB, 8065970}, "100 MiB in 13 parts"},
    /* 30 MiB in 2 parts: 16 (ceil 1.875), 15 (exactly 2), 25 (1.2) and 20 (1.5) MiB, in the
     * order of the list; 5, 8, 10 give more parts, 32 and up give one; the even split is 15 */
    {30 * MiB, 2, 4, {16 * MiB, 15 * MiB, 25 * MiB, 20 * MiB}, "30 MiB in 2 parts"},
    /* 16500000 bytes in 3 parts: no common size (5 MiB gives 4, 8 MiB gives 2); the even
     * split 5500000 rounded up to 6 MiB gives 3 (16500000 / 6291456 = 2.6), and so does
     * 5500000 itself */
    {16500000, 3, 2, {6 * MiB, 5500000}, "only even splits"},
    /* 10 MiB in 3 parts: two parts of at least 5 MiB already make 10 MiB, so no third part:
     * no S3 layout has this ETag, no candidate (the copy goes as one part) */
    {10 * MiB, 3, 0, {0}, "impossible layout"},
    /* 4 MiB in 1 part: any size of at least 4 MiB gives one part, so every common size is a
     * candidate (they all lay the object out alike); the even split, 4 MiB, is too small */
    {4 * MiB,
     1,
     18,
     {5 * MiB, 8 * MiB, 16 * MiB, 10 * MiB, 15 * MiB, 32 * MiB, 64 * MiB, 100 * MiB, 128 * MiB,
      50 * MiB, 25 * MiB, 256 * MiB, 512 * MiB, 1024 * MiB, 20 * MiB, 200 * MiB, 500 * MiB,
      96 * MiB},
     "one part"},
};

static void test_candidates_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *r = &rows[i];
        uint64_t out[24] = {0};
        int n = s3m_xfer_part_candidates(r->size, r->parts, out, 24);
        if (n != r->n)
            fail_msg("%s: %d candidates, want %d", r->why, n, r->n);
        for (int k = 0; k < n; k++)
            if (out[k] != r->want[k])
                fail_msg("%s: candidate %d is %llu, want %llu", r->why, k,
                         (unsigned long long)out[k], (unsigned long long)r->want[k]);
    }
}

static void test_candidates_respect_max(void **state)
{
    (void)state;
    /* the first `max` of the full list, and never a write past out[max-1] */
    uint64_t out[4] = {0, 0, 0, 7};
    assert_int_equal(s3m_xfer_part_candidates(30 * MiB, 2, out, 2), 2);
    assert_true(out[0] == 16 * MiB && out[1] == 15 * MiB);
    assert_true(out[2] == 0 && out[3] == 7);
    assert_int_equal(s3m_xfer_part_candidates(30 * MiB, 2, out, 0), 0);
}

static void test_candidates_give_the_part_count(void **state)
{
    (void)state;
    /* whatever the size, each candidate obeys the rules it was chosen by */
    static const uint64_t sizes[] = {5 * MiB + 1,        64 * MiB,   64 * MiB + 1,
                                     1000 * MiB + 12345, 5ull << 30, 50ull << 30};
    static const int parts[] = {1, 2, 3, 7, 10, 13, 64, 100, 1000, 10000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        for (size_t j = 0; j < sizeof(parts) / sizeof(parts[0]); j++) {
            uint64_t out[24];
            int n = s3m_xfer_part_candidates(sizes[i], parts[j], out, 24);
            for (int k = 0; k < n; k++) {
                assert_true(out[k] >= 5 * MiB);
                assert_true((sizes[i] + out[k] - 1) / out[k] == (uint64_t)parts[j]);
                for (int m = 0; m < k; m++)
                    assert_true(out[m] != out[k]);
            }
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_candidates_table),
        cmocka_unit_test(test_candidates_respect_max),
        cmocka_unit_test(test_candidates_give_the_part_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
