/* cmd_sync.c - `sync`, `copy` and `check`: argument checks, filters and safety options, the
 * whole-remote mode (every bucket, missing destination buckets created), the summary line and
 * the exit code. The work itself is s3m_sync_start (engine/job.c). */
#include "cli.h"
#include "s3m/log.h"
#include "s3m/sync.h"
#include "s3m/util.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void add_stats(struct s3m_sync_stats *t, const struct s3m_sync_stats *s)
{
    const struct s3m_sync_counts *a[] = {&s->copy, &s->update, &s->del, &s->skip,
                                         &s->excluded, &s->failed, &s->unverified};
    struct s3m_sync_counts *b[] = {&t->copy, &t->update, &t->del, &t->skip,
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
    t->listing_failed |= s->listing_failed;
    t->delete_list_failed |= s->delete_list_failed;
    if (s->delete_refused && !t->delete_refused)
        memcpy(t->refused_why, s->refused_why, sizeof(t->refused_why));
    t->delete_refused |= s->delete_refused;
    if (!t->first_error.err)
        t->first_error = s->first_error;
}

static void summary(const struct s3m_opts *o, enum s3m_sync_mode mode, const char *label,
                    const struct s3m_sync_stats *st, double secs)
{
    char a[32], b[32], c[32], d[32];
    uint64_t moved = st->copy.bytes + st->update.bytes;
    struct s3m_buf l;
    s3m_buf_init(&l);
    if (mode == S3M_MODE_CHECK) {
        s3m_buf_printf(&l, "check %s: %" PRIu64 " only on source (%s), %" PRIu64 " differ (%s), %"
                       PRIu64 " only on destination (%s), %" PRIu64 " identical, %" PRIu64
                       " not verifiable by ETag, %" PRIu64 " excluded, %.1f s",
                       label, st->copy.n, s3m_cli_human(st->copy.bytes, a, 32), st->update.n,
                       s3m_cli_human(st->update.bytes, b, 32), st->del.n,
                       s3m_cli_human(st->del.bytes, c, 32),
                       st->skip.n >= st->unverified.n ? st->skip.n - st->unverified.n : 0,
                       st->unverified.n, st->excluded.n, secs);
    } else {
        const char *del_word = mode == S3M_MODE_COPY ? "" : st->delete_refused ? "NOT deleted"
                                                                               : "deleted";
        s3m_buf_printf(&l, "%s%s %s: %s %" PRIu64 " (%s), %s %" PRIu64 " (%s)",
                       o->dry_run ? "dry run: " : "", mode == S3M_MODE_SYNC ? "sync" : "copy",
                       label, o->dry_run ? "would copy" : "copied", st->copy.n,
                       s3m_cli_human(st->copy.bytes, a, 32),
                       o->dry_run ? "would update" : "updated",
                       st->update.n, s3m_cli_human(st->update.bytes, b, 32));
        /* a real run says what was deleted, not what was decided: the rest (refused, failed,
         * interrupted) is "NOT deleted" */
        if (mode == S3M_MODE_SYNC && (o->dry_run || st->delete_refused))
            s3m_buf_printf(&l, ", %s%s %" PRIu64 " (%s)",
                           o->dry_run && !st->delete_refused ? "would be " : "", del_word,
                           st->del.n, s3m_cli_human(st->del.bytes, c, 32));
        else if (mode == S3M_MODE_SYNC) {
            s3m_buf_printf(&l, ", deleted %" PRIu64 " (%s)", st->deleted,
                           s3m_cli_human(st->deleted_bytes, c, 32));
            if (st->deleted < st->del.n)
                s3m_buf_printf(&l, ", NOT deleted %" PRIu64, st->del.n - st->deleted);
        }
        s3m_buf_printf(&l, ", skipped %" PRIu64 ", excluded %" PRIu64 ", errors %" PRIu64
                       ", %.1f s", st->skip.n, st->excluded.n,
                       st->failed.n + st->delete_errors + (st->listing_failed ? 1 : 0) +
                       (st->delete_list_failed ? 1 : 0), secs);
        if (!o->dry_run)
            s3m_buf_printf(&l, ", %s/s", s3m_cli_human(secs > 0 ? (uint64_t)((double)moved / secs)
                                                              : moved, d, 32));
        if (st->stale_uploads)
            s3m_buf_printf(&l, "\n%s %" PRIu64 " multipart upload(s) left by an earlier run",
                           o->dry_run ? "would abort" : "aborted", st->stale_uploads);
        if (st->delete_refused)
            s3m_buf_printf(&l, "\ndeletions %s: %s", o->dry_run ? "would be refused" : "refused",
                           st->refused_why);
    }
    printf("%s\n", s3m_buf_str(&l));
    if (!s3m_log_to_stderr()) /* the log file tells the whole story */
        s3m_log(S3M_LOG_NOTICE, "summary", "%s", s3m_buf_str(&l));
    s3m_buf_cleanup(&l);
}

static int exit_code(const struct s3m_opts *o, enum s3m_sync_mode mode,
                     const struct s3m_sync_stats *st)
{
    if (st->listing_failed) {
        int rc = s3m_cli_exit_code_ei(&st->first_error);
        return rc == S3M_EXIT_USAGE || rc == S3M_EXIT_OK ? S3M_EXIT_ERROR : rc;
    }
    if (st->failed.n || st->delete_errors) {
        int rc = s3m_cli_exit_code(st->first_error.err);
        return rc == S3M_EXIT_TEMPORARY || rc == S3M_EXIT_FATAL ? rc : S3M_EXIT_PARTIAL;
    }
    if (st->delete_refused && !o->dry_run)
        return S3M_EXIT_ERROR;
    if (mode == S3M_MODE_CHECK)
        return st->copy.n || st->update.n || st->del.n ? S3M_EXIT_DIFFERS : S3M_EXIT_OK;
    if (o->error_on_no_transfer && !o->dry_run && !st->copy.n && !st->update.n &&
        !(mode == S3M_MODE_SYNC && st->deleted))
        return S3M_EXIT_NOTRANSFER;
    return S3M_EXIT_OK;
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "s3mirror: error: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return S3M_EXIT_USAGE;
}

/* --max-delete N|P%: N decimal digits (at most 10^15), P decimal digits with an optional
 * decimal fraction, at most 100. Nothing strtod would take besides (nan, inf, hex, exponents,
 * signs, spaces): a cap that quietly meant no cap would be worse than an error. */
static bool parse_max_delete(const char *s, struct s3m_sync_opts *so)
{
    size_t len = strlen(s);
    bool pct = len && s[len - 1] == '%';
    size_t n = pct ? len - 1 : len, i = 0, int_digits, frac_digits = 0;
    uint64_t v = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        if (i >= 16)
            return false; /* more than 10^15 */
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    int_digits = i;
    if (!int_digits)
        return false;
    if (pct && i < n && s[i] == '.') {
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            frac_digits++;
        if (!frac_digits || frac_digits > 6)
            return false;
    }
    if (i != n)
        return false;
    if (!pct) {
        if (v > 1000000000000000ull)
            return false;
        so->max_delete = (int64_t)v;
        return true;
    }
    char *end;
    double d = strtod(s, &end); /* only digits and one '.' are left: a plain decimal */
    if (end != s + n || !(d >= 0 && d <= 100))
        return false;
    so->max_delete_pct = d;
    return true;
}

/* options -> filter and job options; returns an exit code or 0 */
static int build_opts(struct s3m_opts *o, enum s3m_sync_mode mode, struct s3m_filter *f,
                      struct s3m_sync_opts *so)
{
    memset(so, 0, sizeof(*so));
    s3m_filter_init(f, (int64_t)time(NULL));
    so->mode = mode;
    if (o->multipart_threshold && (!s3m_parse_size(o->multipart_threshold, &so->multipart_threshold) ||
                                   so->multipart_threshold < 5 * 1024 * 1024 ||
                                   so->multipart_threshold > 5ull << 30))
        return usage_error("--multipart-threshold: '%s' is not a size from 5M to 5G",
                           o->multipart_threshold);
    if (o->multipart_chunk_size && (!s3m_parse_size(o->multipart_chunk_size, &so->chunk_size) ||
                                    so->chunk_size < 5 * 1024 * 1024 || so->chunk_size > 5ull << 30))
        return usage_error("--multipart-chunk-size: '%s' is not a size from 5M to 5G",
                           o->multipart_chunk_size);
    so->dry_run = o->dry_run;
    so->transfers = o->transfers ? (int)o->transfers : 32;
    so->max_keys = o->max_keys;
    so->report = stdout;
    so->part_concurrency = (int)o->multipart_concurrency;
    so->attempts = (int)o->retries;
    so->allow_empty_source = o->allow_empty_source;
    so->max_delete = -1;
    so->max_delete_pct = -1;
    if (o->compare && !s3m_compare_parse(o->compare, &so->compare))
        return usage_error("--compare: '%s' is not etag, size, size-mtime or checksum", o->compare);
    uint64_t sz;
    if (o->multipart_chunk_buffer) {
        if (!s3m_parse_size(o->multipart_chunk_buffer, &sz) || sz < 65536 || sz > (1u << 30))
            return usage_error("--buffer-size: '%s' is not a size from 64k to 1G",
                               o->multipart_chunk_buffer);
        so->buffer_size = (size_t)sz;
    }
    for (int i = 0; i < o->nrules; i++)
        if (!s3m_filter_add(f, o->rules[i].include, o->rules[i].glob))
            return usage_error("malformed glob '%s'", o->rules[i].glob);
    if (o->min_size && !s3m_parse_size(o->min_size, &f->min_size))
        return usage_error("--min-size: '%s' is not a size", o->min_size);
    if (o->max_size && !s3m_parse_size(o->max_size, &f->max_size))
        return usage_error("--max-size: '%s' is not a size", o->max_size);
    if (o->min_age && !s3m_parse_duration(o->min_age, &f->min_age))
        return usage_error("--min-age: '%s' is not a duration", o->min_age);
    if (o->max_age && !s3m_parse_duration(o->max_age, &f->max_age))
        return usage_error("--max-age: '%s' is not a duration", o->max_age);
    if (o->max_delete && !parse_max_delete(o->max_delete, so))
        return usage_error("--max-delete: '%s' is not a count (decimal digits) nor a percentage "
                           "from 0 to 100 (e.g. 12.5%%)", o->max_delete);
    so->filter = f;
    return 0;
}

/* REMOTE:BUCKET[/FOLDER] as the job is known to its lock and metrics: the parsed spec, so that
 * "b/x", "b/x/" and "remote:/b/x" name one job (no trailing '/', as most people write it). */
static void job_name(const struct s3m_spec *sp, char *out, size_t n)
{
    const char *p = sp->prefix ? sp->prefix : "";
    size_t lp = strlen(p);
    if (lp && p[lp - 1] == '/')
        lp--;
    snprintf(out, n, "%s:%s%s%.*s", sp->remote ? sp->remote : "", sp->bucket ? sp->bucket : "",
             lp ? "/" : "", (int)lp, p);
}

static bool same_place(struct s3m_s3 *a, struct s3m_s3 *b)
{
    struct s3m_endpoint ea, eb;
    struct s3m_errinfo ei;
    if (s3m_endpoint_resolve(a->remote, NULL, &ea, &ei))
        return false;
    if (s3m_endpoint_resolve(b->remote, NULL, &eb, &ei)) {
        s3m_endpoint_cleanup(&ea);
        return false;
    }
    bool same = !strcmp(ea.base_url, eb.base_url);
    s3m_endpoint_cleanup(&ea);
    s3m_endpoint_cleanup(&eb);
    return same;
}

/* one job of the run, kept (its listings released) from its copy phase to its delete phase */
struct pair {
    struct s3m_sync job;
    char label[1024];
    double secs;
    bool phase_done; /* the job's done callback came (the phase it was in is over) */
    struct pair *next;
};

struct run {
    struct s3m_opts *o;
    struct s3m_sync_opts so;
    struct s3m_s3 *src, *dst;
    struct s3m_sync_stats total;
    int signal;
    struct s3m_progress progress;
    uint32_t shard_index, shard_count; /* --shard; count 0 = none */
    bool have_plan;                    /* --shard-boundaries */
    struct s3m_bounds plan;
    struct pair *pairs, **tail; /* the jobs run so far, waiting for the delete decision */
    /* SIGINT and SIGTERM for the whole run: while a job runs and between its phases (the
     * copies done, the decision, between buckets) */
    uv_signal_t sig[2];
    bool sig_on, in_job;
    struct s3m_sync *cur; /* the job running (copies, deletes, sweep), for run_on_signal */
    FILE *delete_list; /* every job's deletions, one region each: one descriptor */
};

static void run_on_signal(uv_signal_t *h, int signum)
{
    struct run *r = h->data;
    if (r->signal) {
        fprintf(stderr, "s3mirror: second signal: exiting now\n");
        _exit(128 + signum);
    }
    r->signal = signum;
    const char *name = signum == SIGINT ? "SIGINT" : "SIGTERM";
    enum s3m_sync_phase ph = r->cur ? s3m_sync_phase(r->cur) : S3M_SYNC_DONE;
    /* what stops depends on where the job is: its copies, or its deletes (and sweep) */
    if (r->cur && (ph == S3M_SYNC_LISTING || ph == S3M_SYNC_DRAINING))
        s3m_log(S3M_LOG_NOTICE, "sync", "%s: %s received: stopping (no new copies, multipart "
                "uploads aborted, nothing deleted); send it again to exit at once",
                r->cur->label, name);
    else if (r->cur && (ph == S3M_SYNC_DELETING || ph == S3M_SYNC_SWEEPING))
        s3m_log(S3M_LOG_NOTICE, "sync", "%s: %s received: stopping (no further deletions; %"
                PRIu64 " of %" PRIu64 " deleted so far, the batch in flight ends); send it "
                "again to exit at once", r->cur->label, name, r->cur->st.deleted,
                r->cur->st.del.n);
    else if (!r->in_job) /* between jobs, or before the decision */
        s3m_log(S3M_LOG_NOTICE, "sync", "%s received: stopping (nothing more deleted); send "
                "it again to exit at once", name);
    if (r->cur) /* nothing in a phase at rest: the run's refusal sees r->signal */
        s3m_sync_abort(r->cur);
}

static void run_signals_start(struct run *r)
{
    int sigs[2] = {SIGINT, SIGTERM};
    for (int i = 0; i < 2; i++) {
        uv_signal_init(&r->src->loop->uv, &r->sig[i]);
        r->sig[i].data = r;
        uv_signal_start(&r->sig[i], run_on_signal, sigs[i]);
        uv_unref((uv_handle_t *)&r->sig[i]); /* never keeps a loop run going */
    }
    r->sig_on = true;
}

/* A signal that came while no loop ran waits in libuv's pipe: take it now. */
static void run_signals_poll(struct run *r)
{
    if (!r->sig_on)
        return;
    /* a loop with nothing referenced is not alive: uv_run would not even look */
    for (int i = 0; i < 2; i++)
        uv_ref((uv_handle_t *)&r->sig[i]);
    uv_run(&r->src->loop->uv, UV_RUN_NOWAIT);
    for (int i = 0; i < 2; i++)
        uv_unref((uv_handle_t *)&r->sig[i]);
}

static void run_signals_stop(struct run *r)
{
    if (!r->sig_on)
        return;
    for (int i = 0; i < 2; i++)
        uv_close((uv_handle_t *)&r->sig[i], NULL);
    uv_run(&r->src->loop->uv, UV_RUN_NOWAIT);
    r->sig_on = false;
}

/* Test hook: S3MIRROR_TEST_RAISE=decision raises SIGTERM just before the run's delete decision
 * (the copies done, no job's handlers installed), to check that a signal there is handled. */
static void test_raise(const char *point)
{
    const char *v = getenv("S3MIRROR_TEST_RAISE");
    if (v && !strcmp(v, point))
        raise(SIGTERM);
}

/* --list-concurrency: how many key ranges a job is cut into at most */
static size_t list_want(const struct run *r)
{
    return r->o->list_concurrency ? (size_t)r->o->list_concurrency : 8;
}

/* The key ranges of one job: this shard's range of the plan (or everything), cut further at
 * boundaries found under '/' so that --list-concurrency ranges are listed at once. bounds gets
 * nlanes + 1 entries: [0] and [nlanes] may be NULL (unbounded). */
static size_t job_lanes(struct run *r, const struct s3m_spec *spec, const char *sb,
                        const char ***bounds, struct s3m_bounds *found, char **cache)
{
    const char *sprefix = spec->prefix;
    *cache = NULL;
    const char *lo = NULL, *hi = NULL;
    memset(found, 0, sizeof(*found));
    size_t want = list_want(r);
    if (r->have_plan && !r->shard_count) { /* no --shard: the plan's ranges, all at once */
        *bounds = s3m_calloc(r->plan.n + 2, sizeof(char *));
        size_t n = 0;
        for (size_t i = 0; i < r->plan.n; i++)
            if (!n || strcmp(r->plan.keys[i], (*bounds)[n]))
                (*bounds)[++n] = r->plan.keys[i];
        return n + 1;
    }
    if (r->have_plan) {
        lo = r->shard_index ? r->plan.keys[r->shard_index - 1] : NULL;
        hi = r->shard_index < r->plan.n ? r->plan.keys[r->shard_index] : NULL;
    }
    if (want > 1 && !(lo && hi && !strcmp(lo, hi))) {
        s3m_bounds_discover(r->src, sb, sprefix, lo, hi, want, found);
        if (!found->n) { /* no structure to split at: what the last run learned, if anything */
            char spec_s[2200];
            /* a range shard learns its own range: shards must not overwrite each other */
            snprintf(spec_s, sizeof(spec_s), "%s:%s/%s%s%s", spec->remote, sb, sprefix,
                     r->have_plan && r->shard_count ? "\nshard " : "",
                     r->have_plan && r->shard_count ? r->o->shard : "");
            *cache = s3m_ranges_cache_path(spec_s);
            s3m_ranges_cache_load(*cache, lo, hi, want, found);
        }
    }
    *bounds = s3m_calloc(found->n + 2, sizeof(char *));
    (*bounds)[0] = lo;
    for (size_t i = 0; i < found->n; i++)
        (*bounds)[i + 1] = found->keys[i];
    (*bounds)[found->n + 1] = hi;
    if (found->n)
        s3m_log(S3M_LOG_INFO, "sync", "listing %zu key ranges at once", found->n + 1);
    return found->n + 1;
}

static void pair_done(struct s3m_sync *s, void *ud)
{
    struct pair *p = ud;
    (void)s;
    p->phase_done = true;
}

static bool pair_settled(void *ud)
{
    struct pair *p = ud;
    return p->phase_done && s3m_sync_settled(&p->job);
}

/* run the loop until the job's phase is over and nothing it started is out */
static void run_job(struct run *r, struct pair *p)
{
    if (!s3m_loop_run_until(r->src->loop, pair_settled, p)) {
        s3m_log(S3M_LOG_ERROR, "sync", "%s: the loop ran out of work in the middle of a job "
                "(a bug)", p->label);
        abort();
    }
}

static double since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* what the job's requests cost on each side, for the log */
static void log_client_stats(const struct run *r)
{
    for (int side = 0; side < 2; side++) {
        const struct s3m_s3_stats *cs = side ? &r->dst->stats : &r->src->stats;
        struct s3m_buf b;
        s3m_buf_init(&b);
        for (int op = 0; op < S3M_OP__COUNT; op++)
            if (cs->requests[op])
                s3m_buf_printf(&b, " %s=%" PRIu64, s3m_s3_op_name((enum s3m_s3_op)op),
                               cs->requests[op]);
        s3m_log(S3M_LOG_INFO, "stats", "%s requests:%s; retries %" PRIu64 " (transport %" PRIu64
                ", 429 %" PRIu64 ", 500 %" PRIu64 ", 503 %" PRIu64 "); sent %" PRIu64
                " B, received %" PRIu64 " B", side ? "destination" : "source", s3m_buf_str(&b),
                cs->retries, cs->retries_transport, cs->retries_by_status[0],
                cs->retries_by_status[1], cs->retries_by_status[3], cs->bytes_sent,
                cs->bytes_received);
        if (cs->concurrency_lowered) /* AIMD: what throttling did to this endpoint */
            s3m_log(S3M_LOG_INFO, "stats", "%s concurrency %s (lowest %d, lowered %" PRIu64
                    " times, raised %" PRIu64 ")", side ? "destination" : "source",
                    (side ? r->dst : r->src)->window > 0 ? "limited" : "unlimited",
                    cs->concurrency_lowest, cs->concurrency_lowered, cs->concurrency_raised);
        s3m_buf_cleanup(&b);
    }
}

/* one job's listings and copies; its deletions wait for run_finish */
static void run_pair(struct run *r, const struct s3m_spec *s, const struct s3m_spec *d,
                     const char *sb, const char *db)
{
    struct pair *p = s3m_calloc(1, sizeof(*p));
    *r->tail = p;
    r->tail = &p->next;
    char *label = p->label;
    struct s3m_sync *job = &p->job;
    snprintf(label, sizeof(p->label), "%s:%s%s%s -> %s:%s%s%s", s->remote, sb, *s->prefix ? "/" : "",
             s->prefix, d->remote, db, *d->prefix ? "/" : "", d->prefix);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    s3m_log(S3M_LOG_INFO, "sync", "%s: start%s", label, r->o->dry_run ? " (dry run)" : "");
    s3m_progress_attach(&r->progress, &r->so);
    const char **bounds = NULL;
    struct s3m_bounds found;
    char *cache = NULL;
    r->so.nlanes = job_lanes(r, s, sb, &bounds, &found, &cache);
    r->so.bounds = bounds;
    r->so.learn = cache != NULL;
    run_signals_poll(r); /* a stop during discovery (or before): the job starts stopped */
    r->so.stopped = r->signal != 0;
    r->in_job = true;
    r->cur = job;
    p->phase_done = false;
    s3m_sync_start(job, &r->so, r->src, sb, s->prefix, r->dst, db, d->prefix, label, pair_done,
                   p);
    run_job(r, p);
    r->cur = NULL;
    r->in_job = false;
    if (job->st.listing_failed) {
        char line[900];
        s3m_errinfo_str(&job->st.first_error, line, sizeof(line));
        fprintf(stderr, "s3mirror: error: %s: listing failed, nothing deleted: %s\n", label, line);
        if (!s3m_log_to_stderr()) {
            struct s3m_log_fields lf = {NULL, NULL, NULL, &job->st.first_error};
            s3m_logf(S3M_LOG_ERROR, "sync", &lf, "%s: listing failed, nothing deleted: %s",
                     label, line);
        }
    }
    log_client_stats(r);
    if (cache && !job->st.listing_failed && !s3m_sync_stopped(job)) {
        char **learned;
        size_t n = s3m_sync_learned_bounds(job, list_want(r), &learned);
        if (n)
            s3m_ranges_cache_save(cache, learned, n);
        for (size_t i = 0; i < n; i++)
            free(learned[i]);
        free(learned);
    }
    free(cache);
    free(bounds);
    s3m_bounds_free(&found);
    s3m_sync_release(job); /* memory held until the deletes: counts and the delete list */
    p->secs = since(&t0);
}

/* The run's one delete decision, taken after every job's listings and copies: any job that
 * went wrong refuses every deletion of the run, and --max-delete caps the run's total (a
 * percentage: of all its destination objects). Then the deletes, job by job, and each job's
 * summary. refuse: the run itself failed (a bucket could not be created). */
static void run_finish(struct run *r, const char *refuse)
{
    char why[1000] = "";
    test_raise("decision");
    run_signals_poll(r);
    bool refused = r->signal || refuse;
    snprintf(why, sizeof(why), "%s", refuse ? refuse : "interrupted");
    uint64_t ndel = 0, ndst = 0;
    for (struct pair *p = r->pairs; p && r->so.mode == S3M_MODE_SYNC; p = p->next) {
        char w[520];
        if (!refused && s3m_sync_refusal(&p->job, w, sizeof(w))) {
            refused = true;
            if (r->pairs->next) /* say which bucket forbids the others' deletes */
                snprintf(why, sizeof(why), "%.400s: %.520s", p->label, w);
            else
                snprintf(why, sizeof(why), "%s", w);
        }
        ndel += p->job.st.del.n;
        ndst += p->job.st.dst_scope; /* this run's own keys, not the excluded nor others' */
    }
    if (!refused && r->so.mode == S3M_MODE_SYNC)
        refused = s3m_sync_over_cap(&r->so, ndel, ndst, why, sizeof(why));
    while (r->pairs) {
        struct pair *p = r->pairs;
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        run_signals_poll(r);
        if (r->signal && !refused) /* stopped during an earlier job's deletes, or between */
            refused = true, snprintf(why, sizeof(why), "interrupted");
        if (refused) {
            s3m_sync_refuse(&p->job, why);
        } else {
            r->in_job = true;
            r->cur = &p->job;
            p->phase_done = false;
            if (s3m_sync_delete(&p->job, pair_done, p))
                run_job(r, p);
            /* the stale-upload sweep throws parts away: the same decision as the deletes */
            run_signals_poll(r);
            p->phase_done = false;
            if (!r->signal && s3m_sync_sweep(&p->job, pair_done, p))
                run_job(r, p);
            r->in_job = false;
            r->cur = NULL;
        }
        fflush(stdout);
        summary(r->o, r->so.mode, p->label, &p->job.st, p->secs + since(&t0));
        add_stats(&r->total, &p->job.st);
        s3m_sync_cleanup(&p->job);
        r->pairs = p->next;
        free(p);
    }
    r->tail = &r->pairs;
}

/* One bucket: sync and copy create a destination bucket that does not exist, as rclone does
 * (with the remote's location_constraint), once the source bucket is known to exist - a
 * missing source stays an error, reported by its listing, and nothing is created for it. A
 * dry run says it would; check creates nothing. Either compares against an empty listing. */
static int ensure_dst_bucket(struct run *r, const struct s3m_spec *s, const struct s3m_spec *d)
{
    struct s3m_s3_req *h = s3m_s3_head_bucket(r->dst, d->bucket);
    bool missing = s3m_s3_run(h) && h->ei.http_status == 404;
    s3m_s3_req_free(h);
    if (!missing) /* there, or another error that the listing will report */
        return 0;
    h = s3m_s3_head_bucket(r->src, s->bucket);
    bool src_there = !s3m_s3_run(h);
    s3m_s3_req_free(h);
    if (!src_there)
        return 0;
    if (r->o->dry_run || r->so.mode == S3M_MODE_CHECK) {
        if (r->so.mode != S3M_MODE_CHECK)
            printf("create bucket %s:%s (not on destination)\n", d->remote, d->bucket);
        r->so.dst_absent = true;
        return 0;
    }
    int rc = 0;
    struct s3m_s3_req *cb = s3m_s3_create_bucket(r->dst, d->bucket);
    if (s3m_s3_run(cb)) {
        char ctx[300];
        snprintf(ctx, sizeof(ctx), "remote %s: creating bucket %s", d->remote, d->bucket);
        rc = s3m_cli_fail(ctx, &cb->ei);
    } else {
        s3m_log(S3M_LOG_NOTICE, "sync", "created bucket %s:%s", d->remote, d->bucket);
    }
    s3m_s3_req_free(cb);
    return rc;
}

/* every bucket of the source remote; missing destination buckets are created */
static int run_all_buckets(struct run *r, const struct s3m_spec *s, const struct s3m_spec *d)
{
    struct s3m_s3_req *ls = s3m_s3_list_buckets(r->src), *ld = s3m_s3_list_buckets(r->dst);
    int rc = 0;
    char ctx[300];
    if (s3m_s3_run(ls)) {
        snprintf(ctx, sizeof(ctx), "remote %s: listing buckets", s->remote);
        rc = s3m_cli_fail(ctx, &ls->ei);
    } else if (s3m_s3_run(ld)) {
        snprintf(ctx, sizeof(ctx), "remote %s: listing buckets", d->remote);
        rc = s3m_cli_fail(ctx, &ld->ei);
    }
    for (size_t i = 0; !rc && i < ls->xml->buckets.nbuckets; i++) {
        run_signals_poll(r);
        if (r->signal) /* between buckets: no further bucket */
            break;
        const char *b = ls->xml->buckets.buckets[i].name;
        bool exists = false;
        for (size_t k = 0; k < ld->xml->buckets.nbuckets; k++)
            exists |= !strcmp(ld->xml->buckets.buckets[k].name, b);
        if (!exists && r->so.mode != S3M_MODE_CHECK) {
            if (r->o->dry_run) {
                printf("create bucket %s:%s (not on destination)\n", d->remote, b);
            } else {
                struct s3m_s3_req *cb = s3m_s3_create_bucket(r->dst, b);
                if (s3m_s3_run(cb)) {
                    snprintf(ctx, sizeof(ctx), "remote %s: creating bucket %s", d->remote, b);
                    rc = s3m_cli_fail(ctx, &cb->ei);
                    r->total.listing_failed = true;
                    r->total.first_error = cb->ei;
                }
                s3m_s3_req_free(cb);
                if (rc)
                    break;
                s3m_log(S3M_LOG_NOTICE, "sync", "created bucket %s:%s", d->remote, b);
            }
        }
        /* dry run or check: nothing to list on a destination bucket that does not exist */
        r->so.dst_absent = !exists && (r->o->dry_run || r->so.mode == S3M_MODE_CHECK);
        run_pair(r, s, d, b, b);
        run_signals_poll(r);
        if (r->signal)
            break;
    }
    run_finish(r, rc ? "a destination bucket could not be created" : NULL);
    s3m_s3_req_free(ls);
    s3m_s3_req_free(ld);
    return rc;
}

int s3m_cmd_sync(struct s3m_opts *o, const char *cmd, char **args, int nargs)
{
    enum s3m_sync_mode mode = !strcmp(cmd, "sync") ? S3M_MODE_SYNC
                              : !strcmp(cmd, "copy") ? S3M_MODE_COPY : S3M_MODE_CHECK;
    if (nargs != 2) {
        fprintf(stderr, "s3mirror: error: usage: s3mirror %s SRC DST\n", cmd);
        return S3M_EXIT_USAGE;
    }
    struct s3m_errinfo ei;
    s3m_errinfo_clear(&ei);
    struct s3m_spec s, d;
    if (s3m_spec_parse(args[0], &s, &ei))
        return s3m_cli_fail(cmd, &ei);
    if (s3m_spec_parse(args[1], &d, &ei)) {
        s3m_spec_cleanup(&s);
        return s3m_cli_fail(cmd, &ei);
    }
    signal(SIGXFSZ, SIG_IGN); /* a file-size limit: the delete list's write fails, and says so */
    struct run r;
    memset(&r, 0, sizeof(r));
    r.o = o;
    r.tail = &r.pairs;
    struct s3m_filter f;
    struct s3m_env env;
    struct s3m_s3 cs, cd;
    bool have_src = false, have_dst = false;
    int rc = build_opts(o, mode, &f, &r.so);
    if (!rc && !s3m_progress_init(&r.progress, o, o->dry_run || mode == S3M_MODE_CHECK))
        rc = usage_error("--stats: '%s' is not a duration (e.g. 30s, 5m, 0 for none)", o->stats);
    if (!rc && o->shard && s3m_shard_parse(o->shard, &r.shard_index, &r.shard_count))
        rc = S3M_EXIT_USAGE;
    if (!rc && o->shard_boundaries) {
        if (!(rc = s3m_bounds_read(o->shard_boundaries, &r.plan)))
            r.have_plan = true;
        if (!rc && !*s.bucket)
            rc = usage_error("%s", "--shard-boundaries: a plan is for one bucket, not a whole "
                             "remote");
        if (!rc && r.shard_count && r.shard_count != r.plan.n + 1) {
            fprintf(stderr, "s3mirror: error: --shard %s: %s holds the boundaries of %zu shards\n",
                    o->shard, o->shard_boundaries, r.plan.n + 1);
            rc = S3M_EXIT_USAGE;
        }
    }
    if (!rc && r.shard_count > 1 && !r.have_plan) { /* a hash of the key decides */
        f.shard_index = r.shard_index;
        f.shard_count = r.shard_count;
    }
    if (!rc && !*s.bucket != !*d.bucket)
        rc = usage_error("%s", "SRC and DST must both name a bucket, or both be a whole remote "
                         "(REMOTE:)");
    if (!rc)
        rc = s3m_env_init(&env, o);
    else
        memset(&env, 0, sizeof(env)), s3m_config_init(&env.cfg);
    if (!rc && !(rc = s3m_env_client(&env, s.remote, &cs)))
        have_src = true;
    if (!rc && !(rc = s3m_env_client(&env, d.remote, &cd)))
        have_dst = true;
    /* the job's name for its lock and metrics: "b/x" and "b/x/" are one folder, so one job */
    char job_src[2048], job_dst_spec[2048];
    job_name(&s, job_src, sizeof(job_src));
    job_name(&d, job_dst_spec, sizeof(job_dst_spec));
    int lock_fd = -1;
    struct timespec t_start;
    clock_gettime(CLOCK_REALTIME, &t_start);
    if (!rc && mode != S3M_MODE_CHECK && !o->no_lock && !o->dry_run) {
        /* shards of one sync are separate jobs, each with its own lock */
        char job_dst[2300];
        snprintf(job_dst, sizeof(job_dst), "%s%s%s", job_dst_spec, o->shard ? "\nshard " : "",
                 o->shard ? o->shard : "");
        rc = s3m_job_lock(o->lock_file, job_src, job_dst, &lock_fd);
    }
    /* the metrics file describes the real job: a dry run, or a run turned away by the lock
     * (the job holding it writes its own), leaves its series as they are */
    bool metrics = o->metrics_file && have_src && have_dst && !o->dry_run &&
                   rc != S3M_EXIT_LOCKED;
    FILE *plan = NULL;
    if (!rc && o->plan && !(plan = fopen(o->plan, "w")))
        rc = usage_error("--plan: cannot write '%s'", o->plan);
    r.so.plan = plan;
    if (!rc) {
        bool same = same_place(&cs, &cd);
        r.so.server_side = same && !o->no_server_side &&
                           !strcmp(cs.remote->access_key_id ? cs.remote->access_key_id : "",
                                   cd.remote->access_key_id ? cd.remote->access_key_id : "");
        size_t ls = strlen(s.prefix), ld = strlen(d.prefix);
        bool overlap = same && (!*s.bucket || !strcmp(s.bucket, d.bucket)) &&
                       !strncmp(s.prefix, d.prefix, ls < ld ? ls : ld);
        if (overlap)
            rc = usage_error("%s", "source and destination are the same place or one contains "
                             "the other: refusing to sync it into itself");
    }
    if (!rc) {
        r.src = &cs;
        r.dst = &cd;
        r.so.delete_list = &r.delete_list;
        run_signals_start(&r);
        if (*s.bucket) {
            if (!(rc = ensure_dst_bucket(&r, &s, &d))) {
                run_signals_poll(&r);
                if (!r.signal)
                    run_pair(&r, &s, &d, s.bucket, d.bucket);
                run_finish(&r, NULL);
            }
        } else
            rc = run_all_buckets(&r, &s, &d);
        run_signals_poll(&r);
        if (!rc || r.signal)
            rc = r.signal ? 128 + r.signal : exit_code(o, mode, &r.total);
    }
    if (plan)
        fclose(plan);
    if (metrics) {
        struct timespec t_end;
        clock_gettime(CLOCK_REALTIME, &t_end);
        struct s3m_job_result jr = {
            .start = (double)t_start.tv_sec + (double)t_start.tv_nsec / 1e9,
            .end = (double)t_end.tv_sec + (double)t_end.tv_nsec / 1e9,
            .exit_code = rc,
            /* deletions done, not decided: refused, failed or interrupted ones are not */
            .objects = {r.total.copy.n, r.total.update.n, r.total.deleted, r.total.skip.n},
            .bytes = {r.total.copy.bytes, r.total.update.bytes, r.total.deleted_bytes,
                      r.total.skip.bytes},
            .errors = r.total.failed.n + r.total.delete_errors + (r.total.listing_failed ? 1 : 0) +
                      (r.total.delete_list_failed ? 1 : 0),
            .retries = cs.stats.retries + cd.stats.retries,
        };
        int mrc = s3m_job_metrics(o->metrics_file, job_src, job_dst_spec, o->shard, &jr);
        if (!rc)
            rc = mrc;
    }
    run_signals_stop(&r);
    if (r.delete_list)
        fclose(r.delete_list);
    if (lock_fd >= 0)
        close(lock_fd); /* releases the flock */
    if (have_src)
        s3m_s3_cleanup(&cs);
    if (have_dst)
        s3m_s3_cleanup(&cd);
    s3m_env_cleanup(&env);
    s3m_filter_cleanup(&f);
    s3m_bounds_free(&r.plan);
    s3m_spec_cleanup(&s);
    s3m_spec_cleanup(&d);
    return rc;
}
