/* cutoff.c - --max-duration and --cutoff-mode: the run's deadline (counted from the start of the
 * command, listings included), the timer on the run's loop that fires it, the clock looked at
 * between loop runs, the cautious mode's admission of each transfer at the measured rate, and
 * what a cut-off run tells (its exit code, its summary line). The stop itself is the engine's
 * (s3m_sync_cutoff), called by cmd_sync.c where a signal calls s3m_sync_abort. */
#include "cmd_sync.h"
#include "s3m/log.h"
#include "s3m/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const mode_names[] = {"hard", "soft", "cautious"};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int s3m__cutoff_parse(struct s3m_cutoff *c, const struct s3m_opts *o)
{
    memset(c, 0, sizeof(*c));
    c->t0 = now_s();
    c->first_xfer = -1;
    if (o->cutoff_mode) {
        size_t i = 0;
        while (i < S3M_ARRAY_LEN(mode_names) && strcmp(o->cutoff_mode, mode_names[i]))
            i++;
        if (i == S3M_ARRAY_LEN(mode_names))
            return s3m__usage_error("--cutoff-mode: '%s': expected hard, soft or cautious",
                                    o->cutoff_mode);
        c->mode = (enum s3m_cutoff_mode)i;
    }
    if (!o->max_duration)
        return 0;
    int64_t secs;
    if (!s3m_parse_duration(o->max_duration, &secs))
        return s3m__usage_error("--max-duration: '%s' is not a duration (e.g. 90s, 45m, 2h; 0 "
                                "for none)",
                                o->max_duration);
    /* the parser's whole seconds would make 500ms (or 1.5s) no limit (or 1 s): the value as
     * written, in its unit (the parser checked the syntax) */
    char *end;
    double v = strtod(o->max_duration, &end);
    static const char *const units[] = {"ms", "", "s", "m", "h", "d", "w"};
    static const double mult[] = {0.001, 1, 1, 60, 3600, 86400, 7 * 86400};
    for (size_t i = 0; i < S3M_ARRAY_LEN(units); i++)
        if (!strcmp(end, units[i]))
            c->limit_s = v * mult[i];
    return 0;
}

void s3m__cutoff_arm(struct s3m_cutoff *c, struct s3m_loop *loop, void (*cb)(void *ud), void *ud)
{
    if (c->limit_s <= 0)
        return;
    double left = c->t0 + c->limit_s - now_s();
    c->timer = s3m_timer_new(loop, cb, ud);
    s3m_timer_unref(c->timer); /* it ends no run, and keeps none going */
    s3m_timer_start(c->timer, left > 0 ? (uint64_t)(left * 1000.0) + 1 : 0, 0);
}

void s3m__cutoff_cleanup(struct s3m_cutoff *c)
{
    s3m_timer_free(c->timer);
    c->timer = NULL;
    c->limit_s = 0; /* nothing left to cut: never due */
}

/* It only asks: s3m__cutoff_notice marks the deadline reached, and the run cut off. (Marking it
 * reached here stopped the run with the cut-off unrecorded: exit 0.) */
bool s3m__cutoff_due(const struct s3m_cutoff *c)
{
    return !c->reached && c->limit_s > 0 && now_s() >= c->t0 + c->limit_s;
}

void s3m__cutoff_notice(struct s3m_cutoff *c, const char *where)
{
    c->reached = c->cut = true;
    static const char *const what[] = {
        "transfers in flight stopped, their multipart uploads aborted",
        "no new transfer starts, those in flight finish",
        "no new transfer starts, those in flight finish",
    };
    s3m_log(S3M_LOG_NOTICE, "sync",
            "--max-duration %gs reached%s%s: cutting the run off (%s: %s; no deletion starts)",
            c->limit_s, where ? " " : "", where ? where : "", mode_names[c->mode], what[c->mode]);
}

/* Cautious: the run's rate is its bytes moved since its first transfer started; until a
 * second of it was measured (or no byte moved yet) there is nothing to judge by and a transfer
 * starts, as in soft mode. */
bool s3m__cutoff_admit(struct s3m_cutoff *c, uint64_t bytes_moved, uint64_t size)
{
    if (c->mode != S3M_CUTOFF_CAUTIOUS || c->limit_s <= 0)
        return true;
    double t = now_s();
    if (c->first_xfer < 0)
        c->first_xfer = t;
    double measured = t - c->first_xfer, left = c->t0 + c->limit_s - t;
    if (measured < 1.0 || !bytes_moved)
        return true;
    double rate = (double)bytes_moved / measured;
    if ((double)size / rate <= left)
        return true;
    if (!c->cut)
        s3m_log(S3M_LOG_NOTICE, "sync",
                "--cutoff-mode cautious: an object of %" PRIu64 " bytes would not finish in the "
                "%.1f s left at %.0f B/s: not started (and the run is cut off: nothing deleted)",
                size, left > 0 ? left : 0, rate);
    c->cut = true;
    return false;
}

int s3m__cutoff_exit(const struct s3m_cutoff *c, const struct s3m_opts *o, enum s3m_sync_mode mode,
                     const struct s3m_sync_stats *total)
{
    int failed = s3m__exit_failed(total);
    if (!c->cut)
        return s3m__exit_code(o, mode, total);
    if (!failed && total->immutable.n) /* alarms of their own: a cut-off must not hide them */
        failed = S3M_EXIT_IMMUTABLE;
    else if (!failed && total->change_refused && !o->dry_run)
        failed = S3M_EXIT_CHANGE;
    if (failed) /* a real failure's code wins; the cut-off is in the summary and the log */
        s3m_log(S3M_LOG_NOTICE, "sync",
                "the run was cut off by --max-duration and had failures or refusals: exit %d, "
                "not %d",
                failed, S3M_EXIT_CUTOFF);
    return failed ? failed : S3M_EXIT_CUTOFF;
}

void s3m__cutoff_summary(struct s3m_buf *l, const struct s3m_opts *o, bool copies,
                         const struct s3m_sync_stats *st)
{
    char a[32];
    if (!st->cut_off)
        return;
    uint64_t n = st->cut.n + st->held.n, b = st->cut.bytes + st->held.bytes;
    s3m_buf_printf(l, "\ncut off by --max-duration %s (%s)", o->max_duration ? o->max_duration : "",
                   o->cutoff_mode ? o->cutoff_mode : "hard");
    if (copies)
        s3m_buf_printf(l, ": left %" PRIu64 " object(s) (%s) not copied", n,
                       s3m_cli_human(b, a, 32));
    if (st->cut_unlisted)
        s3m_buf_printf(l, "%s the listing not complete: more may be left", copies ? "," : ":");
}

void s3m__cutoff_buckets(const struct s3m_cutoff *c, const struct s3m_opts *o, const char *remote)
{
    if (o->json) {
        struct s3m_buf b;
        s3m_buf_init(&b);
        s3m_buf_printf(&b,
                       "{\"type\":\"cut_off\",\"buckets_not_started\":%" PRIu64 ",\"remote\":\"",
                       c->buckets_left);
        s3m_json_escape(&b, remote);
        printf("%s\"}\n", s3m_buf_str(&b));
        s3m_buf_cleanup(&b);
    } else {
        printf("cut off by --max-duration: %" PRIu64 " bucket(s) of %s: not started\n",
               c->buckets_left, remote);
    }
    if (!s3m_log_to_stderr())
        s3m_log(S3M_LOG_NOTICE, "summary",
                "cut off by --max-duration: %" PRIu64 " bucket(s) of %s: not started",
                c->buckets_left, remote);
}
