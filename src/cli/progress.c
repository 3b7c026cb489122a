/* progress.c - what a job shows while it runs: a live line on a terminal (redrawn twice a
 * second) and, with --stats, a log line every interval, for cron and Kubernetes logs.
 *
 * Totals come from the plan and grow while the listings run: they carry a "+" until both
 * listings are complete, and only then is there an ETA. */
#include "cli.h"
#include "s3m/log.h"
#include "s3m/sync.h"
#include "s3m/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *s3m_cli_human(uint64_t b, char *out, size_t n)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)b;
    size_t u = 0;
    while (v >= 1024 && u + 1 < S3M_ARRAY_LEN(units))
        v /= 1024, u++;
    if (u == 0)
        snprintf(out, n, "%" PRIu64 " B", b);
    else
        snprintf(out, n, "%.1f %s", v, units[u]);
    return out;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void duration(double s, char *out, size_t n)
{
    uint64_t t = (uint64_t)(s + 0.5);
    if (t >= 3600)
        snprintf(out, n, "%" PRIu64 "h%02" PRIu64 "m", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(out, n, "%" PRIu64 "m%02" PRIu64 "s", t / 60, t % 60);
    else
        snprintf(out, n, "%" PRIu64 "s", t);
}

bool s3m_progress_init(struct s3m_progress *p, const struct s3m_opts *o, bool stdout_report)
{
    memset(p, 0, sizeof(*p));
    if (o->stats) {
        int64_t secs;
        if (!s3m_parse_duration(o->stats, &secs) || (secs == 0 && strtod(o->stats, NULL) > 0))
            return false;
        p->stats_s = (double)secs;
    }
    /* a live line by default on a terminal, unless output is quiet, or a dry run / check
     * prints its report on the same terminal */
    bool auto_live = isatty(STDERR_FILENO) && s3m_log_to_stderr() && !o->quiet && !o->json &&
                     !(stdout_report && isatty(STDOUT_FILENO));
    p->live = !o->no_progress && (o->progress || auto_live);
    return true;
}

void s3m_progress_attach(struct s3m_progress *p, struct s3m_sync_opts *so)
{
    so->progress_ms = p->live ? 500 : p->stats_s > 0 ? (uint64_t)(p->stats_s * 1000) : 0;
    so->progress = so->progress_ms ? s3m_progress_tick : NULL;
    so->progress_ud = p;
    p->t0 = p->last_t = p->last_stats = now_s();
    p->last_bytes = p->stats_bytes = 0; /* a new job counts from zero */
    p->rate = 0;
}

static void format_line(const struct s3m_progress *p, const struct s3m_sync *s, double rate,
                        struct s3m_buf *line)
{
    const struct s3m_sync_stats *st = &s->st;
    bool listed = s3m_sync_listing_done(s);
    const char *more = listed ? "" : "+";
    uint64_t done = s3m_sync_bytes_done(s), total = st->planned.bytes;
    if (done > total)
        done = total;
    char a[32], b[32], r[32], eta[32] = "-";
    if (listed && rate > 0 && total > done)
        duration((double)(total - done) / rate, eta, sizeof(eta));
    else if (listed && total <= done)
        snprintf(eta, sizeof(eta), "0s");
    s3m_buf_reset(line);
    s3m_buf_printf(line, "%s / %s%s", s3m_cli_human(done, a, sizeof(a)),
                   s3m_cli_human(total, b, sizeof(b)), more);
    if (total)
        s3m_buf_printf(line, " (%d%%)", (int)(100.0 * (double)done / (double)total));
    s3m_buf_printf(line,
                   ", %s/s, ETA %s; objects %" PRIu64 " / %" PRIu64 "%s, in flight %d, "
                   "errors %" PRIu64,
                   s3m_cli_human((uint64_t)rate, r, sizeof(r)), eta, st->copy.n + st->update.n,
                   st->planned.n, more, s->active, st->failed.n + st->delete_errors);
    if (s->o.mode == S3M_MODE_SYNC)
        s3m_buf_printf(line, ", deleted %" PRIu64 " / %" PRIu64 "%s", st->deleted, st->del.n, more);
    if (s->o.backup) /* the old versions --backup-dir took before an update or a delete */
        s3m_buf_printf(line, ", moved to --backup-dir %" PRIu64, st->backed_up);
    uint64_t nsrc, ndst;
    s3m_sync_listed(s, &nsrc, &ndst);
    s3m_buf_printf(line, "; listed %" PRIu64 " + %" PRIu64 "%s, %.0f s", nsrc, ndst,
                   listed ? "" : " so far", now_s() - p->t0);
}

void s3m_progress_tick(const struct s3m_sync *s, void *ud)
{
    struct s3m_progress *p = ud;
    double t = now_s();
    uint64_t bytes = s3m_sync_bytes_done(s);
    bool over = s3m_sync_phase(s) >= S3M_SYNC_COPIED; /* the last tick */
    struct s3m_buf line;
    s3m_buf_init(&line);
    if (p->live) {
        if (over) { /* the summary follows: take the line away */
            fputs("\r\033[K", stderr);
            s3m_log_set_status_line(false);
        } else {
            double dt = t - p->last_t;
            if (dt > 0.05) {
                double inst = (double)(bytes - p->last_bytes) / dt;
                p->rate = p->rate > 0 ? 0.8 * p->rate + 0.2 * inst : inst;
                p->last_t = t;
                p->last_bytes = bytes;
            }
            format_line(p, s, p->rate, &line);
            /* one terminal line: cut to the width rather than wrap */
            fprintf(stderr, "\r\033[K%.*s", 200, s3m_buf_str(&line));
            fflush(stderr);
            s3m_log_set_status_line(true);
        }
    }
    if (p->stats_s > 0 && !over && t - p->last_stats >= p->stats_s - 0.01) {
        double rate = (double)(bytes - p->stats_bytes) / (t - p->last_stats);
        p->last_stats = t;
        p->stats_bytes = bytes;
        format_line(p, s, rate, &line);
        s3m_log(S3M_LOG_NOTICE, "stats", "%s: %s", s->label, s3m_buf_str(&line));
    }
    s3m_buf_cleanup(&line);
}
