/* test_cutoff.c - --max-duration and --cutoff-mode (cli/cutoff.c): the options, cautious
 * mode's admission at the measured rate, and the exit code of a cut-off run.
 *
 * Expected values from the man page: DURATION has --min-age's syntax (0 = no limit); MODE is
 * hard (default), soft or cautious; cautious starts no transfer that would not finish in the
 * time left at the run's rate since its first transfer, and until a second of transfers was
 * measured (or no byte moved) starts them all; a cut-off run exits 15 unless a real failure
 * gives its own code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "../../src/cli/cmd_sync.h" /* the CLI has no public header */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int parse(const char *dur, const char *mode, struct s3m_cutoff *c)
{
    struct s3m_opts o;
    memset(&o, 0, sizeof(o));
    o.max_duration = dur;
    o.cutoff_mode = mode;
    return s3m__cutoff_parse(c, &o);
}

static void test_options(void **state)
{
    (void)state;
    struct s3m_cutoff c;
    assert_int_equal(parse("2s", NULL, &c), 0);
    assert_true(c.limit_s == 2 && c.mode == S3M_CUTOFF_HARD && !c.cut && !c.reached);
    assert_int_equal(parse("45m", "soft", &c), 0);
    assert_true(c.limit_s == 45 * 60 && c.mode == S3M_CUTOFF_SOFT);
    assert_int_equal(parse("2h", "cautious", &c), 0);
    assert_true(c.limit_s == 7200 && c.mode == S3M_CUTOFF_CAUTIOUS);
    assert_int_equal(parse("0", NULL, &c), 0);
    assert_true(c.limit_s == 0);
    assert_false(s3m__cutoff_due(&c)); /* no limit: never due */
    assert_int_equal(parse(NULL, NULL, &c), 0);
    assert_int_equal(parse("soon", NULL, &c), S3M_EXIT_USAGE);
    assert_int_equal(parse("-5s", NULL, &c), S3M_EXIT_USAGE);
    assert_int_equal(parse("2s", "gentle", &c), S3M_EXIT_USAGE);
    assert_int_equal(parse("2s", "HARD", &c), S3M_EXIT_USAGE);
}

static void test_due(void **state)
{
    (void)state;
    struct s3m_cutoff c;
    assert_int_equal(parse("5s", NULL, &c), 0);
    assert_false(s3m__cutoff_due(&c));
    c.t0 -= 6; /* the run began 6 s ago */
    assert_true(s3m__cutoff_due(&c));
    /* asking is not acting: it stays due (not reached) until the run is cut off. Marking it
     * reached here stopped the run with no cut-off recorded: exit 0 (seen once in CI) */
    assert_true(s3m__cutoff_due(&c) && !c.reached && !c.cut);
    s3m__cutoff_notice(&c, NULL);
    assert_true(c.reached && c.cut && !s3m__cutoff_due(&c));
    assert_int_equal(s3m__cutoff_exit(&c, &(struct s3m_opts){0}, S3M_MODE_SYNC,
                                      &(struct s3m_sync_stats){0}),
                     S3M_EXIT_CUTOFF);
}

static void test_cautious(void **state)
{
    (void)state;
    struct s3m_cutoff c;
    assert_int_equal(parse("10s", "soft", &c), 0);
    assert_true(s3m__cutoff_admit(&c, 1, UINT64_MAX)); /* soft: every transfer starts */
    assert_int_equal(parse("10s", "cautious", &c), 0);
    assert_true(s3m__cutoff_admit(&c, 0, UINT64_MAX)); /* the first: nothing measured */
    assert_true(c.first_xfer > 0 && !c.cut);
    assert_true(s3m__cutoff_admit(&c, 1000, UINT64_MAX)); /* under a second measured */
    double t = now_s();
    c.t0 = t - 6;                                      /* 4 s left */
    c.first_xfer = t - 2;                              /* 2000 bytes in 2 s: 1000 B/s */
    assert_true(s3m__cutoff_admit(&c, 0, UINT64_MAX)); /* no byte moved: no rate */
    assert_true(s3m__cutoff_admit(&c, 2000, 3000));    /* 3 s of the 4 left */
    assert_false(c.cut);
    assert_false(s3m__cutoff_admit(&c, 2000, 5000)); /* 5 s: not started */
    assert_true(c.cut && !c.reached);                /* the run is cut off, and goes on */
    assert_true(s3m__cutoff_admit(&c, 2000, 1000));  /* a small one still starts */
}

static void test_exit(void **state)
{
    (void)state;
    struct s3m_cutoff c;
    struct s3m_opts o;
    struct s3m_sync_stats st;
    memset(&o, 0, sizeof(o));
    memset(&st, 0, sizeof(st));
    assert_int_equal(parse("1s", NULL, &c), 0);
    assert_int_equal(s3m__cutoff_exit(&c, &o, S3M_MODE_SYNC, &st), S3M_EXIT_OK);
    c.cut = true;
    st.delete_refused = true; /* the cut-off refused them: not exit 2 */
    assert_int_equal(s3m__cutoff_exit(&c, &o, S3M_MODE_SYNC, &st), S3M_EXIT_CUTOFF);
    assert_int_equal(s3m__cutoff_exit(&c, &o, S3M_MODE_CHECK, &st), S3M_EXIT_CUTOFF);
    st.failed.n = 1; /* a real failure wins */
    st.first_error.err = S3M_EIO;
    assert_int_equal(s3m__cutoff_exit(&c, &o, S3M_MODE_SYNC, &st), S3M_EXIT_PARTIAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_due),
        cmocka_unit_test(test_cautious),
        cmocka_unit_test(test_exit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
