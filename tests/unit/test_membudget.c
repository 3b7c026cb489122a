/* test_membudget.c - the transfer buffer memory budget (core/membudget.c): takes that fit are
 * granted at once, the others queue in FIFO order (no later take overtakes a queued one, even
 * a small one that would fit), a release grants the queue's head while it fits, a take larger
 * than the whole budget runs once nothing is held (alone), a cancel leaves the queue and may
 * let the ones behind it go, and limit 0 grants everything.
 *
 * Expected values from the rules in s3m/membudget.h, worked out by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "s3m/membudget.h"

static int order[16], norder; /* the waiters granted, in the order they were */

static struct s3m_membudget_wait W[8];

static void granted(struct s3m_membudget_wait *w)
{
    order[norder++] = (int)(w - W);
}

static struct s3m_membudget_wait *wait_for(int i, uint64_t charge)
{
    W[i] = (struct s3m_membudget_wait){.charge = charge, .granted = granted};
    return &W[i];
}

static int setup(void **state)
{
    (void)state;
    s3m_membudget_reset();
    norder = 0;
    return 0;
}

static uint64_t in_use(void)
{
    struct s3m_membudget_stats st;
    s3m_membudget_stats(&st);
    return st.in_use;
}

static void test_fifo(void **state)
{
    (void)state;
    s3m_membudget_set(10);
    assert_true(s3m_membudget_take(wait_for(0, 6)));
    assert_false(s3m_membudget_take(wait_for(1, 6))); /* 12 > 10: waits */
    assert_false(s3m_membudget_take(wait_for(2, 2))); /* would fit, but 1 is ahead */
    assert_false(s3m_membudget_take(wait_for(3, 3)));
    assert_int_equal(in_use(), 6);
    assert_int_equal(norder, 0);
    s3m_membudget_release(6); /* 1 (6) and 2 (8) fit, 3 (11) does not */
    assert_int_equal(norder, 2);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 2);
    assert_false(W[1].queued);
    assert_true(W[3].queued);
    assert_int_equal(in_use(), 8);
    s3m_membudget_release(2); /* 6 + 3 = 9 */
    assert_int_equal(norder, 3);
    assert_int_equal(order[2], 3);
    struct s3m_membudget_stats st;
    s3m_membudget_stats(&st);
    assert_int_equal(st.waits, 3);
    assert_int_equal(st.waiting, 0);
    assert_int_equal(st.peak, 9);
    s3m_membudget_release(6);
    s3m_membudget_release(3);
    assert_int_equal(in_use(), 0);
}

static void test_oversized_runs_alone(void **state)
{
    (void)state;
    s3m_membudget_set(10);
    assert_true(s3m_membudget_take(wait_for(0, 25))); /* nothing held: it goes */
    assert_false(s3m_membudget_take(wait_for(1, 1))); /* everything else waits */
    assert_false(s3m_membudget_take(wait_for(2, 30)));
    s3m_membudget_release(25);
    assert_int_equal(norder, 1); /* 1 goes; 2 (30) only once 1 gave back */
    assert_int_equal(order[0], 1);
    s3m_membudget_release(1);
    assert_int_equal(norder, 2);
    assert_int_equal(order[1], 2);
    struct s3m_membudget_stats st;
    s3m_membudget_stats(&st);
    assert_int_equal(st.oversized, 2);
    s3m_membudget_release(30);
    assert_int_equal(in_use(), 0);
}

static void test_cancel(void **state)
{
    (void)state;
    s3m_membudget_set(10);
    assert_true(s3m_membudget_take(wait_for(0, 5)));
    assert_false(s3m_membudget_take(wait_for(1, 8)));
    assert_false(s3m_membudget_take(wait_for(2, 4)));
    assert_false(s3m_membudget_take(wait_for(3, 1)));
    s3m_membudget_cancel(&W[1]); /* the head leaves: 2 and 3 fit behind 0 */
    assert_false(W[1].queued);
    assert_int_equal(norder, 2);
    assert_int_equal(order[0], 2);
    assert_int_equal(order[1], 3);
    s3m_membudget_cancel(&W[1]); /* not queued: nothing */
    assert_int_equal(in_use(), 10);
    assert_false(s3m_membudget_take(wait_for(4, 1)));
    assert_false(s3m_membudget_take(wait_for(5, 1)));
    s3m_membudget_cancel(&W[5]); /* the tail leaves; a take after it queues behind 4 */
    assert_false(s3m_membudget_take(wait_for(6, 1)));
    s3m_membudget_release(2);
    assert_int_equal(norder, 4);
    assert_int_equal(order[2], 4);
    assert_int_equal(order[3], 6);
    struct s3m_membudget_stats st;
    s3m_membudget_stats(&st);
    assert_int_equal(st.waiting, 0);
}

static void test_off(void **state)
{
    (void)state;
    for (int i = 0; i < 8; i++)
        assert_true(s3m_membudget_take(wait_for(i, 1ull << 40)));
    assert_int_equal(norder, 0);
    s3m_membudget_reset();
    s3m_membudget_set(4); /* a limit lifted while waiters queue grants them */
    assert_true(s3m_membudget_take(wait_for(0, 4)));
    assert_false(s3m_membudget_take(wait_for(1, 4)));
    s3m_membudget_set(0);
    assert_int_equal(norder, 1);
    assert_int_equal(order[0], 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_fifo, setup),
        cmocka_unit_test_setup(test_oversized_runs_alone, setup),
        cmocka_unit_test_setup(test_cancel, setup),
        cmocka_unit_test_setup(test_off, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
