/* limits.c - --bwlimit (rclone's syntax: a rate, UP:DOWN, or a timetable; times in UTC unless
 * --bwlimit-tz local), --tpslimit and --tpslimit-burst: checked before the command does
 * anything (bad syntax is a usage error), then set on the loop (s3m/ratelimit.h). Also
 * --max-buffer-memory, the process's budget for stream buffers (s3m/membudget.h). */
#include "cli.h"
#include "s3m/bwtable.h"
#include "s3m/membudget.h"
#include "s3m/ratelimit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(const char *opt, const char *msg)
{
    fprintf(stderr, "s3mirror: error: --%s: %s\n", opt, msg);
    return S3M_EXIT_USAGE;
}

/* --bwlimit-tz: utc (the default) or local; -1 when neither */
static int tz_local(const char *tz)
{
    if (!tz || !strcmp(tz, "utc") || !strcmp(tz, "UTC"))
        return 0;
    return !strcmp(tz, "local") ? 1 : -1;
}

static int check_tps(struct s3m_env *e)
{
    const struct s3m_opts *o = e->o;
    char *end;
    e->tps = 0;
    e->tps_burst = 1; /* rclone's default */
    if (o->tpslimit) {
        e->tps = strtod(o->tpslimit, &end);
        if (end == o->tpslimit || *end || !isfinite(e->tps) || e->tps < 0 || e->tps > 1e6)
            return usage("tpslimit", "expected a number of requests per second (e.g. 10, 0.5; "
                                     "0 = no limit)");
    }
    if (o->tpslimit_burst) {
        long b = strtol(o->tpslimit_burst, &end, 10);
        if (end == o->tpslimit_burst || *end || b < 1 || b > 1000000)
            return usage("tpslimit-burst", "expected a number of requests from 1 to 1000000");
        e->tps_burst = (int)b;
    }
    return 0;
}

int s3m_cli_limits_check(struct s3m_env *e)
{
    const struct s3m_opts *o = e->o;
    if (tz_local(o->bwlimit_tz) < 0)
        return usage("bwlimit-tz", "expected utc or local");
    if (o->bwlimit) {
        struct s3m_bwtable t;
        char err[300];
        if (!s3m_bwtable_parse(o->bwlimit, &t, err, sizeof(err)))
            return usage("bwlimit", err);
        s3m_bwtable_free(&t);
    }
    uint64_t mem = S3M_MEMBUDGET_DEFAULT;
    if (o->max_buffer_memory && !s3m_parse_size(o->max_buffer_memory, &mem))
        return usage("max-buffer-memory", "expected a size (e.g. 64M; 0 = no limit)");
    s3m_membudget_set(mem); /* one budget for the process's streams (s3m/membudget.h) */
    return check_tps(e);
}

void s3m_cli_limits_start(struct s3m_env *e)
{
    struct s3m_bwtable t;
    char err[300];
    if (!e->o->bwlimit || !s3m_bwtable_parse(e->o->bwlimit, &t, err, sizeof(err)))
        return; /* none (checked before: it parses) */
    /* a single "off" limits nothing: no limiter at all, as without the option */
    if (t.timed || t.slots[0].bw.up > 0 || t.slots[0].bw.down > 0)
        s3m_ratelimit_bw(&e->loop, &t, tz_local(e->o->bwlimit_tz) == 1, s3m_cli_transfers(e->o));
    s3m_bwtable_free(&t);
}
