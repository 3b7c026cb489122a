/* test_shard.c - the CLI's shard arguments (cli/shard.c): --shard INDEX/COUNT and a
 * --shard-boundaries file.
 *
 * Expected values from the man page: INDEX is 0 to COUNT-1, both decimal; a plan file is
 * shard-plan's output (percent-encoded keys, one a line, '#' comments, each key at least the
 * one before: a plan of fewer keys than shards repeats one). Bad input is a usage error (exit
 * code 1), with a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/cli/cli.h" /* the CLI has no public header */

struct shard_case {
    const char *spec;
    int rc;
    uint32_t index, count;
};

static const struct shard_case shard_cases[] = {
    {"0/1", 0, 0, 1},
    {"0/2", 0, 0, 2},
    {"1/2", 0, 1, 2},
    {"99999/100000", 0, 99999, 100000},
    {"007/010", 0, 7, 10},         /* leading zeros are still decimal */
    {"2/2", S3M_EXIT_USAGE, 0, 0}, /* INDEX must be below COUNT */
    {"0/0", S3M_EXIT_USAGE, 0, 0},
    {"0/100001", S3M_EXIT_USAGE, 0, 0},
    {"-1/2", S3M_EXIT_USAGE, 0, 0},
    {"0/-2", S3M_EXIT_USAGE, 0, 0},
    {"1", S3M_EXIT_USAGE, 0, 0},
    {"1/", S3M_EXIT_USAGE, 0, 0},
    {"/2", S3M_EXIT_USAGE, 0, 0},
    {"1/2x", S3M_EXIT_USAGE, 0, 0},
    {"1x/2", S3M_EXIT_USAGE, 0, 0},
    {"", S3M_EXIT_USAGE, 0, 0},
};

static void test_shard_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(shard_cases) / sizeof(shard_cases[0]); i++) {
        const struct shard_case *c = &shard_cases[i];
        uint32_t index = 12345, count = 12345;
        int rc = s3m_shard_parse(c->spec, &index, &count);
        if (rc != c->rc)
            fail_msg("'%s': exit code %d, expected %d", c->spec, rc, c->rc);
        if (!rc && (index != c->index || count != c->count))
            fail_msg("'%s': %u/%u", c->spec, index, count);
        if (rc && (index != 12345 || count != 12345))
            fail_msg("'%s': refused, yet its outputs were written", c->spec);
    }
}

/* text into a temporary file; returns its path (static buffer) */
static const char *plan_file(const char *text)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/test_shard.XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_bounds_read(void **state)
{
    (void)state;
    struct s3m_bounds b;
    const char *p = plan_file("# s3mirror shard plan\nk%2F1\nk%2F1\nm\n");
    assert_int_equal(s3m_bounds_read(p, &b), 0);
    assert_int_equal(b.n, 3); /* a repeat: the shard between is empty */
    assert_string_equal(b.keys[0], "k/1");
    assert_string_equal(b.keys[1], "k/1");
    assert_string_equal(b.keys[2], "m");
    s3m_bounds_free(&b);
    unlink(p);
    p = plan_file("m\nk\n");
    assert_int_equal(s3m_bounds_read(p, &b), S3M_EXIT_USAGE);
    assert_int_equal(b.n, 0);
    unlink(p);
    assert_int_equal(s3m_bounds_read("/nonexistent/plan", &b), S3M_EXIT_USAGE);
    assert_int_equal(b.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shard_parse),
        cmocka_unit_test(test_bounds_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
