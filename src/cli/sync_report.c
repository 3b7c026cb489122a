/* sync_report.c - what `sync`, `copy` and `check` tell: each job's summary line and, when its
 * listing failed, the error; the requests each endpoint served; the run's exit code and its
 * --metrics-file record (and --metrics-push). Nothing here decides anything: it reads the jobs'
 * counts. */
#include "cmd_sync.h"
#include "s3m/log.h"
#include "s3m/membudget.h"
#include "s3m/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void s3m__stats_add(struct s3m_sync_stats *t, const struct s3m_sync_stats *s)
{
    const struct s3m_sync_counts *a[] = {&s->copy,     &s->update, &s->del,       &s->skip,
                                         &s->excluded, &s->failed, &s->unverified};
    struct s3m_sync_counts *b[] = {&t->copy,     &t->update, &t->del,       &t->skip,
                                   &t->excluded, &t->failed, &t->unverified};
    for (size_t i = 0; i < S3M_ARRAY_LEN(a); i++)
        b[i]->n += a[i]->n, b[i]->bytes += a[i]->bytes;
    t->src_keys += s->src_keys;
    t->dst_keys += s->dst_keys;
    t->src_scope += s->src_scope;
    t->dst_scope += s->dst_scope;
    t->delete_errors += s->delete_errors;
    t->deleted += s->deleted;
    t->deleted_bytes += s->deleted_bytes;
    t->stale_uploads += s->stale_uploads;
    t->resumed_uploads += s->resumed_uploads;
    t->resumed_parts += s->resumed_parts;
    t->dropped_uploads += s->dropped_uploads;
    t->immutable.n += s->immutable.n, t->immutable.bytes += s->immutable.bytes;
    t->backed_up += s->backed_up, t->backed_up_bytes += s->backed_up_bytes;
    t->listing_failed |= s->listing_failed;
    t->delete_list_failed |= s->delete_list_failed;
    if (s->delete_refused && !t->delete_refused)
        memcpy(t->refused_why, s->refused_why, sizeof(t->refused_why));
    t->delete_refused |= s->delete_refused;
    if (s->held.n && !t->held.n) /* ordered copies, --max-change: the first reason */
        memcpy(t->held_why, s->held_why, sizeof(t->held_why));
    t->held.n += s->held.n, t->held.bytes += s->held.bytes;
    t->change_refused |= s->change_refused;
    t->cut.n += s->cut.n, t->cut.bytes += s->cut.bytes;
    t->cut_off |= s->cut_off;
    t->cut_unlisted |= s->cut_unlisted;
    if (!t->first_error.err)
        t->first_error = s->first_error;
}

static void summary_check(struct s3m_buf *l, const char *label, const struct s3m_sync_stats *st,
                          double secs)
{
    char a[32], b[32], c[32];
    s3m_buf_printf(l,
                   "check %s: %" PRIu64 " only on source (%s), %" PRIu64 " differ (%s), %" PRIu64
                   " only on destination (%s), %" PRIu64 " identical, %" PRIu64
                   " not verifiable by ETag, %" PRIu64 " excluded, %.1f s",
                   label, st->copy.n, s3m_cli_human(st->copy.bytes, a, 32), st->update.n,
                   s3m_cli_human(st->update.bytes, b, 32), st->del.n,
                   s3m_cli_human(st->del.bytes, c, 32),
                   st->skip.n >= st->unverified.n ? st->skip.n - st->unverified.n : 0,
                   st->unverified.n, st->excluded.n, secs);
}

/* sync's deletions: a real run says what was deleted, not what was decided: the rest
 * (refused, failed, interrupted) is "NOT deleted" */
static void summary_deletes(struct s3m_buf *l, const struct s3m_opts *o,
                            const struct s3m_sync_stats *st)
{
    char c[32];
    if (o->dry_run || st->delete_refused) {
        s3m_buf_printf(l, ", %s%s %" PRIu64 " (%s)",
                       o->dry_run && !st->delete_refused ? "would be " : "",
                       st->delete_refused ? "NOT deleted" : "deleted", st->del.n,
                       s3m_cli_human(st->del.bytes, c, 32));
        return;
    }
    s3m_buf_printf(l, ", deleted %" PRIu64 " (%s)", st->deleted,
                   s3m_cli_human(st->deleted_bytes, c, 32));
    if (st->deleted < st->del.n)
        s3m_buf_printf(l, ", NOT deleted %" PRIu64, st->del.n - st->deleted);
}

/* --backup-dir's moves and --immutable's refusals */
static void summary_quarantine(struct s3m_buf *l, const struct s3m_opts *o,
                               const struct s3m_sync_stats *st)
{
    char a[32];
    if (o->backup_dir && o->dry_run)
        s3m_buf_printf(l, "\nwould move %" PRIu64 " object(s) to --backup-dir first",
                       st->update.n + (st->delete_refused ? 0 : st->del.n));
    else if (o->backup_dir)
        s3m_buf_printf(l, "\nmoved %" PRIu64 " object(s) (%s) to --backup-dir first", st->backed_up,
                       s3m_cli_human(st->backed_up_bytes, a, 32));
    if (st->immutable.n)
        s3m_buf_printf(l, "\nrefused %" PRIu64 " update(s) under --immutable (%s)", st->immutable.n,
                       s3m_cli_human(st->immutable.bytes, a, 32));
}

static void summary_copy(struct s3m_buf *l, const struct s3m_opts *o, enum s3m_sync_mode mode,
                         const char *label, const struct s3m_sync_stats *st, double secs)
{
    char a[32], b[32], d[32];
    uint64_t moved = st->copy.bytes + st->update.bytes;
    s3m_buf_printf(l, "%s%s %s: %s %" PRIu64 " (%s), %s %" PRIu64 " (%s)",
                   o->dry_run ? "dry run: " : "", mode == S3M_MODE_SYNC ? "sync" : "copy", label,
                   o->dry_run ? "would copy" : "copied", st->copy.n,
                   s3m_cli_human(st->copy.bytes, a, 32), o->dry_run ? "would update" : "updated",
                   st->update.n, s3m_cli_human(st->update.bytes, b, 32));
    if (mode == S3M_MODE_SYNC)
        summary_deletes(l, o, st);
    s3m_buf_printf(l, ", skipped %" PRIu64 ", excluded %" PRIu64 ", errors %" PRIu64 ", %.1f s",
                   st->skip.n, st->excluded.n,
                   st->failed.n + st->delete_errors + (st->listing_failed ? 1 : 0) +
                       (st->delete_list_failed ? 1 : 0),
                   secs);
    if (!o->dry_run)
        s3m_buf_printf(l, ", %s/s",
                       s3m_cli_human(secs > 0 ? (uint64_t)((double)moved / secs) : moved, d, 32));
    summary_quarantine(l, o, st);
    if (st->stale_uploads + st->dropped_uploads) /* by the sweep, or by a copy of the key */
        s3m_buf_printf(l, "\n%s %" PRIu64 " multipart upload(s) left by an earlier run",
                       o->dry_run ? "would abort" : "aborted",
                       st->stale_uploads + st->dropped_uploads);
    if (st->resumed_uploads)
        s3m_buf_printf(l,
                       "\nresumed %" PRIu64 " multipart upload(s) left by an earlier run (%" PRIu64
                       " parts kept, not sent again)",
                       st->resumed_uploads, st->resumed_parts);
    if (st->delete_refused)
        s3m_buf_printf(l, "\ndeletions %s: %s", o->dry_run ? "would be refused" : "refused",
                       st->refused_why);
    if (st->held.n) /* ordered copies, --max-change */
        s3m_buf_printf(l, "\nNOT copied or updated %" PRIu64 " (%s): %s", st->held.n,
                       s3m_cli_human(st->held.bytes, d, 32), st->held_why);
    s3m__cutoff_summary(l, o, !o->dry_run, st);
}

void s3m__summary(const struct s3m_opts *o, enum s3m_sync_mode mode, const char *label,
                  const struct s3m_sync_stats *st, double secs, struct s3m_buf *lines)
{
    struct s3m_buf l;
    s3m_buf_init(&l);
    if (mode == S3M_MODE_CHECK) {
        summary_check(&l, label, st, secs);
        s3m__cutoff_summary(&l, o, false, st);
    } else
        summary_copy(&l, o, mode, label, st, secs);
    if (o->json) { /* machine-readable: one JSON object; the text goes to a log file */
        struct s3m_buf j;
        s3m_buf_init(&j);
        s3m__summary_json(&j, o, mode, label, st, secs);
        printf("%s\n", s3m_buf_str(&j));
        s3m_buf_cleanup(&j);
    } else {
        printf("%s\n", s3m_buf_str(&l));
    }
    s3m_buf_printf(lines, "%s\n", s3m_buf_str(&l));
    if (!s3m_log_to_stderr()) /* the log file tells the whole story */
        s3m_log(S3M_LOG_NOTICE, "summary", "%s", s3m_buf_str(&l));
    s3m_buf_cleanup(&l);
}

int s3m__exit_failed(const struct s3m_sync_stats *st)
{
    if (st->listing_failed) {
        int rc = s3m_cli_exit_code_ei(&st->first_error);
        return rc == S3M_EXIT_USAGE || rc == S3M_EXIT_OK ? S3M_EXIT_ERROR : rc;
    }
    if (st->failed.n || st->delete_errors) {
        int rc = s3m_cli_exit_code(st->first_error.err);
        return rc == S3M_EXIT_TEMPORARY || rc == S3M_EXIT_FATAL ? rc : S3M_EXIT_PARTIAL;
    }
    return 0;
}

int s3m__exit_code(const struct s3m_opts *o, enum s3m_sync_mode mode,
                   const struct s3m_sync_stats *st)
{
    int failed = s3m__exit_failed(st);
    if (failed)
        return failed;
    if (st->immutable.n) /* --immutable refused an update (and so every deletion) */
        return S3M_EXIT_IMMUTABLE;
    if (st->change_refused && !o->dry_run)
        return S3M_EXIT_CHANGE;
    if (st->delete_refused && !o->dry_run)
        return S3M_EXIT_ERROR;
    if (mode == S3M_MODE_CHECK)
        return st->copy.n || st->update.n || st->del.n ? S3M_EXIT_DIFFERS : S3M_EXIT_OK;
    if (o->error_on_no_transfer && !o->dry_run && !st->copy.n && !st->update.n &&
        !(mode == S3M_MODE_SYNC && st->deleted))
        return S3M_EXIT_NOTRANSFER;
    return S3M_EXIT_OK;
}

void s3m__listing_failed(const char *label, const struct s3m_sync_stats *st)
{
    char line[900];
    s3m_errinfo_str(&st->first_error, line, sizeof(line));
    fprintf(stderr, "s3mirror: error: %s: listing failed, nothing deleted: %s\n", label, line);
    if (!s3m_log_to_stderr()) {
        struct s3m_log_fields lf = {NULL, NULL, NULL, &st->first_error};
        s3m_logf(S3M_LOG_ERROR, "sync", &lf, "%s: listing failed, nothing deleted: %s", label,
                 line);
    }
}

uint64_t s3m__requests_total(const struct s3m_s3_stats *ep[2])
{
    uint64_t n = 0;
    for (int e = 0; e < 2; e++)
        for (int op = 0; op < S3M_OP__COUNT; op++)
            n += ep[e]->requests[op];
    return n;
}

void s3m__requests_log(const struct s3m_s3 *src, const struct s3m_s3 *dst)
{
    for (int side = 0; side < 2; side++) {
        const struct s3m_s3_stats *cs = side ? &dst->stats : &src->stats;
        struct s3m_buf b;
        s3m_buf_init(&b);
        for (int op = 0; op < S3M_OP__COUNT; op++)
            if (cs->requests[op])
                s3m_buf_printf(&b, " %s=%" PRIu64, s3m_s3_op_name((enum s3m_s3_op)op),
                               cs->requests[op]);
        s3m_log(S3M_LOG_INFO, "stats",
                "%s requests:%s; retries %" PRIu64 " (transport %" PRIu64 ", 429 %" PRIu64
                ", 500 %" PRIu64 ", 503 %" PRIu64 "); sent %" PRIu64 " B, received %" PRIu64 " B",
                side ? "destination" : "source", s3m_buf_str(&b), cs->retries,
                cs->retries_transport, cs->retries_by_status[0], cs->retries_by_status[1],
                cs->retries_by_status[3], cs->bytes_sent, cs->bytes_received);
        s3m_log(S3M_LOG_INFO, "stats",
                "%s connections %" PRIu64 "; TLS handshakes %" PRIu64 " (%" PRIu64 " resumed)",
                side ? "destination" : "source", cs->connections, cs->tls_handshakes,
                cs->tls_resumed);
        if (cs->concurrency_lowered) /* AIMD: what throttling did to this endpoint */
            s3m_log(S3M_LOG_INFO, "stats",
                    "%s concurrency %s (lowest %d, lowered %" PRIu64 " times, raised %" PRIu64 ")",
                    side ? "destination" : "source",
                    (side ? dst : src)->window > 0 ? "limited" : "unlimited",
                    cs->concurrency_lowest, cs->concurrency_lowered, cs->concurrency_raised);
        s3m_buf_cleanup(&b);
    }
    struct s3m_membudget_stats mb;
    s3m_membudget_stats(&mb);
    if (s3m_membudget_limit()) /* --max-buffer-memory: how close the streams came, how often held */
        s3m_log(S3M_LOG_INFO, "stats",
                "buffer memory: peak %" PRIu64 " of %" PRIu64 " B; streams waited %" PRIu64
                " times (%" PRIu64 " ran alone above the limit)",
                mb.peak, s3m_membudget_limit(), mb.waits, mb.oversized);
}

static const char *outcome_of(int rc)
{
    return s3m_exit_success(rc)  ? "success"
         : rc == S3M_EXIT_CUTOFF ? "cut_off"
         : rc >= 128             ? "interrupted"
                                 : "failed";
}

int s3m__metrics_write(const struct s3m_opts *o, enum s3m_sync_mode mode, const char *job_src,
                       const char *job_dst, const struct timespec *t_start, int rc,
                       const struct s3m_sync_stats *total, const struct s3m_s3_stats *ep[2])
{
    struct timespec t_end;
    clock_gettime(CLOCK_REALTIME, &t_end);
    struct s3m_job_result jr = {
        .start = (double)t_start->tv_sec + (double)t_start->tv_nsec / 1e9,
        .end = (double)t_end.tv_sec + (double)t_end.tv_nsec / 1e9,
        .exit_code = rc,
        /* deletions done, not decided: refused, failed or interrupted ones are not */
        .objects = {total->copy.n, total->update.n, total->deleted, total->skip.n},
        .bytes = {total->copy.bytes, total->update.bytes, total->deleted_bytes, total->skip.bytes},
        .errors = total->failed.n + total->delete_errors + (total->listing_failed ? 1 : 0) +
                  (total->delete_list_failed ? 1 : 0),
        .retries = ep[0]->retries + ep[1]->retries,
        .outcome = outcome_of(rc),
        .left_objects = total->cut.n + (total->cut_off ? total->held.n : 0),
        .left_bytes = total->cut.bytes + (total->cut_off ? total->held.bytes : 0),
    };
    for (int e = 0; e < 2; e++) {
        for (int op = 0; op < S3M_OP__COUNT; op++)
            jr.endpoint[e].requests += ep[e]->requests[op];
        jr.endpoint[e].connections = ep[e]->connections;
        jr.endpoint[e].tls_handshakes = ep[e]->tls_handshakes;
        jr.endpoint[e].tls_resumed = ep[e]->tls_resumed;
    }
    int mrc = o->metrics_file ? s3m_job_metrics(o->metrics_file, job_src, job_dst, o->shard, &jr)
                              : 0;
    /* a success that could not write its textfile fails (exit 9 as exit 0); the gateway is told
     * the code the run exits with, and the outcome of that code */
    if (mrc && s3m_exit_success(rc))
        rc = mrc;
    jr.exit_code = rc;
    jr.outcome = outcome_of(rc);
    if (o->metrics_push) /* never changes the exit code */
        s3m_metrics_push(o, job_src, job_dst, o->shard,
                         mode == S3M_MODE_SYNC    ? NULL
                         : mode == S3M_MODE_CHECK ? "check"
                                                  : "copy",
                         &jr);
    return rc;
}

/* The notice a stop prints: what stops depends on where the job is (its copies, or its deletes
 * and sweep), or on the run between jobs. */
void s3m__stop_notice(const struct s3m_sync *cur, bool in_job, const char *name)
{
    enum s3m_sync_phase ph = cur ? s3m_sync_phase(cur) : S3M_SYNC_DONE;
    /* what stops depends on where the job is: its copies, or its deletes (and sweep) */
    if (cur && (ph == S3M_SYNC_LISTING || ph == S3M_SYNC_DRAINING || ph == S3M_SYNC_DEFERRING))
        s3m_log(S3M_LOG_NOTICE, "sync",
                "%s: %s received: stopping (no new copies, multipart "
                "uploads aborted, nothing deleted); send it again to exit at once",
                cur->label, name);
    else if (cur && (ph == S3M_SYNC_DELETING || ph == S3M_SYNC_SWEEPING))
        s3m_log(S3M_LOG_NOTICE, "sync",
                "%s: %s received: stopping (no further deletions; %" PRIu64 " of %" PRIu64
                " deleted so far, the batch in flight ends); send it "
                "again to exit at once",
                cur->label, name, cur->st.deleted, cur->st.del.n);
    else if (!in_job) /* between jobs, or before the decision */
        s3m_log(S3M_LOG_NOTICE, "sync",
                "%s received: stopping (nothing more deleted); send "
                "it again to exit at once",
                name);
}
