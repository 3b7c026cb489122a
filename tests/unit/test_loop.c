/* test_loop.c - net/loop's signal watcher (s3m/loop.h): it answers a signal that came while no
 * loop ran once polled, and never keeps the loop running by itself. SIGUSR1 stands in for
 * SIGINT/SIGTERM; an alarm ends a test that would hang. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <unistd.h>

#include "s3m/loop.h"

struct seen {
    int n, signum;
};

static void on_signal(int signum, void *ud)
{
    struct seen *s = ud;
    s->n++;
    s->signum = signum;
}

static bool never(void *ud)
{
    (void)ud;
    return false;
}

static void test_signal_poll_takes_a_pending_signal(void **state)
{
    (void)state;
    alarm(10);
    struct s3m_loop l;
    assert_int_equal(s3m_loop_init(&l, NULL), 0);
    struct seen s = {0, 0};
    struct s3m_signal *w = s3m_signal_new(&l, SIGUSR1, on_signal, &s);
    raise(SIGUSR1); /* no loop runs: it waits */
    assert_int_equal(s.n, 0);
    s3m_signal_poll(w);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.signum, SIGUSR1);
    s3m_signal_poll(w); /* nothing more pending: nothing more */
    assert_int_equal(s.n, 1);
    s3m_signal_free(w);
    s3m_signal_free(NULL);
    s3m_loop_cleanup(&l);
    alarm(0);
}

static void test_signal_watcher_keeps_no_loop_alive(void **state)
{
    (void)state;
    alarm(10);
    struct s3m_loop l;
    assert_int_equal(s3m_loop_init(&l, NULL), 0);
    struct seen s = {0, 0};
    struct s3m_signal *w = s3m_signal_new(&l, SIGUSR1, on_signal, &s);
    s3m_loop_run(&l); /* returns at once: a watcher alone is no work */
    assert_false(s3m_loop_run_until(&l, never, NULL));
    assert_int_equal(s.n, 0);
    s3m_signal_free(w);
    s3m_loop_cleanup(&l);
    alarm(0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signal_poll_takes_a_pending_signal),
        cmocka_unit_test(test_signal_watcher_keeps_no_loop_alive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
