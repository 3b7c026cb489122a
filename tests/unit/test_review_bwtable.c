/* test_review_bwtable.c - the --bwlimit timetable docs/running-nightly.md gives for "20 MiB/s
 * from 06:00 to 22:00 UTC, no limit at night; weekends free from Friday 18:00" does that: read
 * from the document (the tests run from the repository's top), parsed, and asked at times of the
 * week. A daily slot (no day) applies on Saturday and Sunday too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "s3m/bwtable.h"

#define MiB (1024.0 * 1024)
#define AT(day, h, m) ((day)*86400 + (h)*3600 + (m)*60)

/* the --bwlimit "..." value of the line after the comment naming the weekends */
static int docs_table(char *out, size_t n)
{
    FILE *f = fopen("docs/running-nightly.md", "r");
    char line[512];
    int seen = 0;
    while (f && fgets(line, sizeof(line), f)) {
        const char *q = strstr(line, "--bwlimit \"");
        if (strstr(line, "weekends free"))
            seen = 1;
        else if (seen && q) {
            q += strlen("--bwlimit \"");
            size_t len = strcspn(q, "\"");
            snprintf(out, n, "%.*s", (int)len, q);
            fclose(f);
            return 0;
        }
    }
    if (f)
        fclose(f);
    return -1;
}

static void test_docs_weekend_table(void **state)
{
    (void)state;
    char s[400], err[300];
    struct s3m_bwtable t;
    int32_t next;
    assert_int_equal(docs_table(s, sizeof(s)), 0);
    assert_true(s3m_bwtable_parse(s, &t, err, sizeof(err)));
    static const struct {
        int32_t at;
        double want;
    } cases[] = {{AT(1, 12, 0), 20 * MiB}, {AT(4, 21, 59), 20 * MiB}, {AT(5, 12, 0), 20 * MiB},
                 {AT(1, 3, 0), 0},         {AT(3, 23, 0), 0},         {AT(5, 19, 0), 0},
                 {AT(6, 12, 0), 0},        {AT(0, 12, 0), 0},         {AT(0, 23, 0), 0}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct s3m_bw_slot *sl = s3m_bwtable_at(&t, cases[i].at, &next);
        if (sl->bw.up != cases[i].want)
            fail_msg("'%s' at day %d %02d:%02d: %.0f B/s, the docs say %.0f", s,
                     (int)(cases[i].at / 86400), (int)(cases[i].at % 86400 / 3600),
                     (int)(cases[i].at % 3600 / 60), sl->bw.up, cases[i].want);
    }
    s3m_bwtable_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_docs_weekend_table)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
