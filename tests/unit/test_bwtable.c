/* test_bwtable.c - --bwlimit's syntax as rclone documents it (rates with binary suffixes, a bare
 * number in KiB/s, off, UP:DOWN, timetables with and without days, our :SS extension), the
 * slot in force at a time of the week (wrapping to the week before), and the token bucket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "s3m/bwtable.h"

#define KiB 1024.0
#define MiB (1024.0 * 1024)
#define AT(day, h, m, s) ((day)*86400 + (h)*3600 + (m)*60 + (s))

static void test_rates(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        double want;
    } ok[] = {{"10M", 10 * MiB}, {"512k", 512 * KiB},
              {"10", 10 * KiB},  {"1.5G", 1.5 * 1024 * MiB},
              {"100B", 100},     {"1Mi", MiB},
              {"1MiB", MiB},     {"off", 0},
              {"OFF", 0},        {"0", 0},
              {"2.5", 2.5 * KiB}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        double v = -1;
        assert_true(s3m_bw_parse_rate(ok[i].s, &v));
        assert_true(v == ok[i].want);
    }
    static const char *const bad[] = {"", "10X", "-1M", "M", "1MB", "x", "1..2M", " 1M"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        double v;
        assert_false(s3m_bw_parse_rate(bad[i], &v));
    }
    struct s3m_bw_pair p;
    assert_true(s3m_bw_parse_pair("4M:1M", &p));
    assert_true(p.up == 4 * MiB && p.down == MiB);
    assert_true(s3m_bw_parse_pair("off:512k", &p));
    assert_true(p.up == 0 && p.down == 512 * KiB);
    assert_true(s3m_bw_parse_pair("2M", &p));
    assert_true(p.up == 2 * MiB && p.down == 2 * MiB);
    assert_false(s3m_bw_parse_pair("4M:", &p));
    assert_false(s3m_bw_parse_pair(":4M", &p));
}

static double down_at(const struct s3m_bwtable *t, int32_t pos, int32_t *next)
{
    return s3m_bwtable_at(t, pos, next)->bw.down;
}

static void test_daily_timetable(void **state)
{
    (void)state;
    struct s3m_bwtable t;
    char err[200];
    int32_t next;
    assert_true(s3m_bwtable_parse("06:00,20M 22:00,off", &t, err, sizeof(err)));
    assert_true(t.timed);
    assert_int_equal(t.n, 14);                            /* each time on every day */
    assert_true(down_at(&t, AT(3, 5, 0, 0), &next) == 0); /* Tuesday 22:00 still */
    assert_int_equal(next, 3600);
    assert_true(down_at(&t, AT(3, 6, 0, 0), &next) == 20 * MiB);
    assert_int_equal(next, 16 * 3600);
    assert_true(down_at(&t, AT(0, 0, 30, 0), &next) == 0); /* Saturday 22:00, a week wrapped */
    assert_true(down_at(&t, AT(6, 23, 59, 59), &next) == 0);
    assert_int_equal(next, 6 * 3600 + 1);
    assert_float_equal(s3m_bwtable_min_rate(&t), 20 * MiB, 0);
    s3m_bwtable_free(&t);
}

static void test_weekdays_and_seconds(void **state)
{
    (void)state;
    struct s3m_bwtable t;
    char err[200];
    int32_t next;
    assert_true(s3m_bwtable_parse("Mon-08:00,512k Fri-18:00,off;Sunday-10:00:30,1M:2M", &t, err,
                                  sizeof(err)));
    assert_int_equal(t.n, 3);
    assert_true(down_at(&t, AT(0, 9, 0, 0), &next) == 0); /* Friday's off, wrapped */
    assert_int_equal(next, 3600 + 30);
    const struct s3m_bw_slot *s = s3m_bwtable_at(&t, AT(0, 10, 0, 30), &next);
    assert_true(s->bw.up == MiB && s->bw.down == 2 * MiB);
    assert_true(down_at(&t, AT(1, 8, 0, 0), &next) == 512 * KiB);
    assert_true(down_at(&t, AT(4, 23, 0, 0), &next) == 512 * KiB);
    char buf[32];
    assert_string_equal(s3m_bw_slot_str(s, buf, sizeof(buf)), "Sun 10:00:30");
    s3m_bwtable_free(&t);
    /* a time for every day and one for a day at the same time: the later given wins */
    assert_true(s3m_bwtable_parse("06:00,1M Wed-06:00,2M", &t, err, sizeof(err)));
    assert_true(down_at(&t, AT(3, 7, 0, 0), &next) == 2 * MiB);
    assert_true(down_at(&t, AT(4, 7, 0, 0), &next) == MiB);
    s3m_bwtable_free(&t);
    /* a single value: one slot, never changes */
    assert_true(s3m_bwtable_parse("4M:1M", &t, err, sizeof(err)));
    assert_false(t.timed);
    assert_true(down_at(&t, AT(2, 3, 4, 5), &next) == MiB);
    assert_int_equal(next, 0);
    s3m_bwtable_free(&t);
}

static void test_bad_tables(void **state)
{
    (void)state;
    static const char *const bad[] = {"",          "10X",         "25:00,1M",     "06:60,1M",
                                      "6:00,1M",   "Mon-08:00",   "Xyz-08:00,1M", "06:00,1M 07:00",
                                      "06:00,1M:", "06:00,1M,2M", "06:00:61,1M",  "Mon08:00,1M"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct s3m_bwtable t;
        char err[200] = "";
        assert_false(s3m_bwtable_parse(bad[i], &t, err, sizeof(err)));
        assert_true(err[0] != 0);
        assert_null(t.slots);
    }
}

static void test_tokens(void **state)
{
    (void)state;
    struct s3m_tokens t = {0};
    s3m_tokens_set(&t, 1000, 100, 1000); /* 1000/s, burst 100, full */
    assert_int_equal(s3m_tokens_take(&t, 100, 1000), 0);
    assert_int_equal(s3m_tokens_take(&t, 50, 1000), 50); /* overdrawn by 50: 50 ms */
    assert_int_equal(s3m_tokens_wait_ms(&t), 51);
    s3m_tokens_refill(&t, 1100); /* +100 */
    assert_float_equal(t.level, 50, 1e-9);
    s3m_tokens_refill(&t, 5000); /* capped at the burst */
    assert_float_equal(t.level, 100, 1e-9);
    /* requests: 5/s, burst 2: two at once, then one every 200 ms */
    struct s3m_tokens r = {0};
    s3m_tokens_set(&r, 5, 2, 10);
    assert_int_equal(s3m_tokens_take(&r, 1, 10), 0);
    assert_int_equal(s3m_tokens_take(&r, 1, 10), 0);
    assert_int_equal(s3m_tokens_take(&r, 1, 10), 200);
    assert_int_equal(s3m_tokens_take(&r, 1, 10), 400);
    /* a lower rate keeps the level, capped at the new burst */
    s3m_tokens_set(&t, 10, 20, 5000);
    assert_float_equal(t.level, 20, 1e-9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rates),
        cmocka_unit_test(test_daily_timetable),
        cmocka_unit_test(test_weekdays_and_seconds),
        cmocka_unit_test(test_bad_tables),
        cmocka_unit_test(test_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
