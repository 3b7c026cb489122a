/* test_retry.c - the one backoff formula (net/retry.c) against the policy as documented in
 * s3m/retry.h and the man page: limit = min(cap, base * 2^(attempt-1)), full jitter over
 * [0, limit], never below Retry-After, which is clamped to 60 s. The random source is pinned. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>

#include "s3m/retry.h"

/* a source that always returns *ud */
static unsigned fixed(void *ud)
{
    return *(unsigned *)ud;
}

/* a source that counts its calls */
static unsigned counting(void *ud)
{
    (*(int *)ud)++;
    return 0;
}

static const struct s3m_retry_policy std = {100, 5000}; /* the client's defaults */

/* the highest wait: a source returning the limit itself (r % (limit+1) == limit) */
static long top(const struct s3m_retry_policy *p, int attempt, long limit)
{
    unsigned r = (unsigned)limit;
    return s3m_retry_backoff_ms(p, attempt, 0, fixed, &r);
}

static void test_limit_doubles_up_to_cap(void **state)
{
    (void)state;
    /* attempt: limit (ms) = min(5000, 100 * 2^(attempt-1)) */
    static const long want[][2] = {{1, 100},  {2, 200},  {3, 400},  {4, 800},   {5, 1600},
                                   {6, 3200}, {7, 5000}, {8, 5000}, {30, 5000}, {1000, 5000}};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        int attempt = (int)want[i][0];
        long limit = want[i][1];
        assert_int_equal(top(&std, attempt, limit), limit);
        /* one more than the limit wraps to 0: the window is exactly [0, limit] */
        unsigned over = (unsigned)limit + 1;
        assert_int_equal(s3m_retry_backoff_ms(&std, attempt, 0, fixed, &over), 0);
    }
}

static void test_full_jitter_range(void **state)
{
    (void)state;
    /* every value of the window is reachable, and nothing outside it */
    for (unsigned r = 0; r < 1000; r++) {
        long w = s3m_retry_backoff_ms(&std, 3, 0, fixed, &r); /* window [0, 400] */
        assert_true(w >= 0 && w <= 400);
        assert_int_equal(w, (long)(r % 401));
    }
    unsigned big = UINT_MAX;
    long w = s3m_retry_backoff_ms(&std, 7, 0, fixed, &big);
    assert_true(w >= 0 && w <= 5000);
    assert_int_equal(w, (long)(UINT_MAX % 5001u));
}

static void test_retry_after_honoured(void **state)
{
    (void)state;
    unsigned zero = 0, r = 150;
    /* a Retry-After longer than the jittered wait wins */
    assert_int_equal(s3m_retry_backoff_ms(&std, 1, 2000, fixed, &zero), 2000);
    /* a shorter one does not cut the wait: attempt 2, window [0, 200], r = 150 */
    assert_int_equal(s3m_retry_backoff_ms(&std, 2, 100, fixed, &r), 150);
    /* clamped to 60 s however long */
    assert_int_equal(s3m_retry_backoff_ms(&std, 1, 60000, fixed, &zero), 60000);
    assert_int_equal(s3m_retry_backoff_ms(&std, 1, 61000, fixed, &zero), S3M_RETRY_AFTER_MAX_MS);
    assert_int_equal(s3m_retry_backoff_ms(&std, 1, LONG_MAX, fixed, &zero), 60000);
    assert_int_equal(S3M_RETRY_AFTER_MAX_MS, 60000);
}

static void test_no_wait_of_our_own(void **state)
{
    (void)state;
    /* base 0: no jitter window, no call to the source; only Retry-After makes us wait */
    struct s3m_retry_policy none = {0, 5000};
    int calls = 0;
    assert_int_equal(s3m_retry_backoff_ms(&none, 1, 0, counting, &calls), 0);
    assert_int_equal(s3m_retry_backoff_ms(&none, 9, 0, counting, &calls), 0);
    assert_int_equal(s3m_retry_backoff_ms(&none, 1, 3000, counting, &calls), 3000);
    assert_int_equal(calls, 0);
    /* otherwise the source is asked exactly once */
    assert_int_equal(s3m_retry_backoff_ms(&std, 4, 0, counting, &calls), 0);
    assert_int_equal(calls, 1);
    /* a cap below the base: the cap holds from the first retry */
    struct s3m_retry_policy low = {1000, 300};
    assert_int_equal(top(&low, 1, 300), 300);
    assert_int_equal(top(&low, 5, 300), 300);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_doubles_up_to_cap),
        cmocka_unit_test(test_full_jitter_range),
        cmocka_unit_test(test_retry_after_honoured),
        cmocka_unit_test(test_no_wait_of_our_own),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
