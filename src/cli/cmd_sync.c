/* cmd_sync.c - `sync`, `copy` and `check`: the command in four steps (parse the arguments, open
 * the clients, lock and plan file, run, report), and the run: each bucket's job (its key ranges,
 * s3m_sync_start of engine/job.c), the one delete decision over all of them and the whole-remote
 * mode (every bucket, missing destination buckets created). The run's signal watchers and
 * deadline are sync_signals.c, the options sync_opts.c, the summary lines and exit code
 * sync_report.c. */
#include "sync_run.h"
#include "s3m/log.h"
#include "s3m/util.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
        s3m_log(S3M_LOG_ERROR, "sync",
                "%s: the loop ran out of work in the middle of a job "
                "(a bug)",
                p->label);
        abort();
    }
}

static double since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* key-range discovery asks: a signal or the deadline ends it */
static bool run_halted(void *ud)
{
    return s3m__run_halted(ud);
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
    snprintf(label, sizeof(p->label), "%s:%s%s%s -> %s:%s%s%s", s->remote, sb,
             *s->prefix ? "/" : "", s->prefix, d->remote, db, *d->prefix ? "/" : "", d->prefix);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    s3m_log(S3M_LOG_INFO, "sync", "%s: start%s", label, r->o->dry_run ? " (dry run)" : "");
    s3m_progress_attach(&r->progress, &r->so);
    const char **bounds = NULL;
    struct s3m_bounds found;
    char *cache = NULL;
    struct s3m__lanes_ctx lc = {
        r->o,       r->src, r->have_plan ? &r->plan : NULL, r->shard_index, r->shard_count,
        run_halted, r};
    r->so.nlanes = s3m__job_lanes(&lc, s, sb, &bounds, &found, &cache);
    r->so.bounds = bounds;
    r->so.learn = cache != NULL;
    struct s3m_job_place jp = {r->src, s->remote, sb, s->prefix, label, run_halted, r};
    bool undetected = !s3m__order_job(&r->order, &r->f, &jp, &r->so, &p->ord, &r->total);
    if (undetected && !s3m__run_halted(r)) /* --layout auto could not list the source: the job
                                              * starts stopped (a stop says why itself) */
        r->refuse = "the layout of a source could not be detected";
    s3m__run_signals_poll(r); /* a stop during discovery (or before): the job starts stopped */
    r->so.stopped = r->signal != 0 || undetected;
    r->in_job = true;
    r->cur = job;
    p->phase_done = false;
    s3m_sync_start(job, &r->so, r->src, sb, s->prefix, r->dst, db, d->prefix, label, pair_done, p);
    if (r->cut.reached) /* the deadline passed before it began */
        s3m_sync_cutoff(job, true);
    run_job(r, p);
    job->st.cut_unlisted = r->cut.cut && !s3m_sync_listing_done(job);
    r->cur = NULL;
    r->in_job = false;
    if (job->st.listing_failed)
        s3m__listing_failed(label, &job->st);
    s3m__requests_log(r->src, r->dst);
    const struct s3m_s3_stats *ep[2] = {&r->src->stats, &r->dst->stats};
    r->logged_requests = s3m__requests_total(ep);
    if (cache && !job->st.listing_failed && !s3m_sync_stopped(job))
        s3m__lanes_save(&lc, job, cache);
    free(cache);
    free(bounds);
    s3m_bounds_free(&found);
    s3m_sync_release(job); /* memory held until the deletes: counts and the delete list */
    p->secs = since(&t0);
}

/* After every job's copies: --max-change over the whole run (its updates and deletions), then
 * each job's waiting copies (held updates, later tiers), before any deletion. */
static void run_deferred(struct run *r)
{
    struct s3m_change c = {0, 0, 0, true};
    for (struct pair *p = r->pairs; p; p = p->next)
        s3m_sync_changes(&p->job, &c.nupd, &c.ndel, &c.ndst, &c.whole);
    const char *no_updates = s3m__change_decide(&r->so, &c, r->change_why, sizeof(r->change_why),
                                                &r->change_over);
    for (struct pair *p = r->pairs; p; p = p->next) {
        p->job.st.change_refused = r->change_over;
        s3m__run_signals_poll(r);
        r->in_job = true;
        r->cur = &p->job;
        p->phase_done = false;
        if (s3m_sync_deferred(&p->job, no_updates, s3m__run_halted(r), pair_done, p))
            run_job(r, p);
        r->in_job = false;
        r->cur = NULL;
    }
}

/* The run's one delete decision (see run_finish): true when deletions are refused, why
 * then saying why. */
static bool run_decide(struct run *r, const char *refuse, char *why, size_t nwhy)
{
    refuse = refuse ? refuse : r->change_over ? r->change_why : r->refuse;
    if (!refuse && !r->signal && r->cut.cut)
        refuse = "cut off by --max-duration";
    bool refused = r->signal || refuse;
    snprintf(why, nwhy, "%s", refuse ? refuse : "interrupted");
    uint64_t ndel = 0, ndst = 0;
    for (struct pair *p = r->pairs; p && r->so.mode == S3M_MODE_SYNC; p = p->next) {
        char w[520];
        if (!refused && s3m_sync_refusal(&p->job, w, sizeof(w))) {
            refused = true;
            if (r->pairs->next) /* say which bucket forbids the others' deletes */
                snprintf(why, nwhy, "%.400s: %.520s", p->label, w);
            else
                snprintf(why, nwhy, "%s", w);
        }
        ndel += p->job.st.del.n;
        ndst += p->job.st.dst_scope; /* this run's own keys, not the excluded nor others' */
    }
    if (!refused && r->so.mode == S3M_MODE_SYNC)
        refused = s3m_sync_over_cap(&r->so, ndel, ndst, why, nwhy);
    return refused;
}

/* The deadline cuts work off: once p and the jobs after it have no step left (copy, check and
 * apply have none after their copies; sync has its deletions and the stale-upload sweep), it
 * is disarmed, so a finished run does not turn into a cut-off one (exit 15) while its summaries
 * print or between its jobs. */
static void run_disarm_when_done(struct run *r, const struct pair *p)
{
    for (; p; p = p->next)
        if (s3m_sync_steps_left(&p->job))
            return;
    s3m__cutoff_cleanup(&r->cut);
}

/* The run's one delete decision, taken after every job's listings and copies: any job that
 * went wrong refuses every deletion of the run, and --max-delete caps the run's total (a
 * percentage: of all its destination objects). Then the deletes, job by job, and each job's
 * summary. refuse: the run itself failed (a bucket could not be created). */
static void run_finish(struct run *r, const char *refuse)
{
    char why[1000] = "";
    run_deferred(r);
    run_disarm_when_done(r, r->pairs);
    s3m__run_test_point("decision");
    s3m__run_signals_poll(r);
    bool refused = run_decide(r, refuse, why, sizeof(why));
    if (refused) /* no job deletes or sweeps now: nothing left that the deadline could cut */
        s3m__cutoff_cleanup(&r->cut);
    while (r->pairs) {
        struct pair *p = r->pairs;
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        s3m__run_signals_poll(r);
        if (s3m__run_halted(r) &&
            !refused) /* stopped during an earlier job's deletes, or between */
            refused = true, snprintf(why, sizeof(why), "%s",
                                     r->signal ? "interrupted" : "cut off by --max-duration");
        if (refused) {
            s3m_sync_refuse(&p->job, why);
        } else {
            r->in_job = true;
            r->cur = &p->job;
            p->phase_done = false;
            if (s3m_sync_delete(&p->job, pair_done, p))
                run_job(r, p);
            /* the stale-upload sweep throws parts away: the same decision as the deletes */
            s3m__run_test_point("sweep");
            run_disarm_when_done(r, p);
            s3m__run_signals_poll(r);
            p->phase_done = false;
            if (!s3m__run_halted(r) && s3m_sync_sweep(&p->job, pair_done, p))
                run_job(r, p);
            r->in_job = false;
            r->cur = NULL;
        }
        run_disarm_when_done(r, p->next);
        p->job.st.cut_off |= r->cut.cut; /* a cut before the sweep too: exit 15 says so */
        fflush(stdout);
        s3m__run_test_point("summary");
        s3m__summary(r->o, r->so.mode, p->label, &p->job.st, p->secs + since(&t0), &r->lines);
        s3m__tiers_report(r->o, p->label, &p->job);
        s3m__stats_add(&r->total, &p->job.st);
        s3m_sync_cleanup(&p->job);
        s3m__job_order_free(p->ord);
        r->pairs = p->next;
        free(p);
    }
    r->tail = &r->pairs;
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
        s3m__run_signals_poll(r);
        r->cut.buckets_left = ls->xml->buckets.nbuckets - i;
        if (s3m__run_halted(r)) /* between buckets: no further bucket */
            break;
        r->cut.buckets_left = 0;
        const char *b = ls->xml->buckets.buckets[i].name;
        bool exists = false;
        for (size_t k = 0; k < ld->xml->buckets.nbuckets; k++)
            exists |= !strcmp(ld->xml->buckets.buckets[k].name, b);
        if (!exists && r->so.mode != S3M_MODE_CHECK) {
            if (r->o->dry_run) {
                s3m__create_bucket_line(r->o->json, d->remote, b);
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
        s3m__run_signals_poll(r);
        r->cut.buckets_left = ls->xml->buckets.nbuckets - i - 1;
        if (s3m__run_halted(r))
            break;
        r->cut.buckets_left = 0;
    }
    run_finish(r, rc ? "a destination bucket could not be created" : NULL);
    s3m_s3_req_free(ls);
    s3m_s3_req_free(ld);
    return rc;
}
/* ---- the command: parse -> open -> run -> report, one exit ---- */

/* --shard and --shard-boundaries; returns an exit code */
static int parse_shard(struct run *r)
{
    struct s3m_opts *o = r->o;
    int rc;
    if (o->shard && s3m_shard_parse(o->shard, &r->shard_index, &r->shard_count))
        return S3M_EXIT_USAGE;
    if (o->shard_boundaries) {
        if ((rc = s3m_bounds_read(o->shard_boundaries, &r->plan)))
            return rc;
        r->have_plan = true;
        if (!*r->s.bucket)
            return s3m__usage_error("%s", "--shard-boundaries: a plan is for one bucket, not a "
                                          "whole remote");
        if (r->shard_count && r->shard_count != r->plan.n + 1) {
            fprintf(stderr, "s3mirror: error: --shard %s: %s holds the boundaries of %zu shards\n",
                    o->shard, o->shard_boundaries, r->plan.n + 1);
            return S3M_EXIT_USAGE;
        }
    }
    if (r->shard_count > 1 && !r->have_plan) { /* a hash of the key decides */
        r->f.shard_index = r->shard_index;
        r->f.shard_count = r->shard_count;
    }
    return 0;
}

/* The arguments and options, checked before anything is opened; returns an exit code. */
static int sync_parse(struct run *r, const char *cmd, char **args, int nargs)
{
    enum s3m_sync_mode mode = !strcmp(cmd, "sync") ? S3M_MODE_SYNC
                            : !strcmp(cmd, "copy") ? S3M_MODE_COPY
                                                   : S3M_MODE_CHECK;
    if (nargs != 2) {
        fprintf(stderr, "s3mirror: error: usage: s3mirror %s SRC DST\n", cmd);
        return S3M_EXIT_USAGE;
    }
    struct s3m_errinfo ei;
    s3m_errinfo_clear(&ei);
    if (s3m_spec_parse(args[0], &r->s, &ei) || s3m_spec_parse(args[1], &r->d, &ei))
        return s3m_cli_fail(cmd, &ei);
    int rc = s3m__sync_opts_build(r->o, mode, &r->f, &r->so);
    if (!rc)
        rc = s3m__cutoff_parse(&r->cut, r->o);
    if (!rc && r->cut.mode == S3M_CUTOFF_CAUTIOUS && r->cut.limit_s > 0)
        r->so.admit = s3m__run_admit, r->so.admit_ud = r;
    if (!rc && !s3m_progress_init(&r->progress, r->o, r->o->dry_run || mode == S3M_MODE_CHECK))
        rc = s3m__usage_error("--stats: '%s' is not a duration (e.g. 30s, 5m, 0 for none)",
                              r->o->stats);
    if (!rc)
        rc = parse_shard(r);
    if (!rc)
        rc = s3m__order_init(&r->order, r->o, &r->f);
    if (!rc)
        rc = s3m__backup_parse(r->o, &r->d, &r->bk, &r->bcfg);
    if (!rc && !*r->s.bucket != !*r->d.bucket)
        rc = s3m__usage_error("%s", "SRC and DST must both name a bucket, or both be a whole "
                                    "remote (REMOTE:)");
    return rc;
}

/* A job that changes the destination takes its lock; shards of one sync are separate jobs,
 * each with its own. Returns an exit code. */
static int open_lock(struct run *r)
{
    struct s3m_opts *o = r->o;
    if (r->so.mode == S3M_MODE_CHECK || o->no_lock || o->dry_run)
        return 0;
    char job_dst[2300];
    snprintf(job_dst, sizeof(job_dst), "%s%s%s", r->job_dst, o->shard ? "\nshard " : "",
             o->shard ? o->shard : "");
    return s3m_job_lock(o->lock_file, r->job_src, job_dst, &r->lock_fd);
}

/* --plan's file, and the two sides as places: one server copies server-side (same
 * credentials), and a side inside the other is refused. Returns an exit code. */
static int open_places(struct run *r)
{
    struct s3m_opts *o = r->o;
    bool dry = o->dry_run || r->so.mode == S3M_MODE_CHECK;
    if (o->plan && !(r->so.plan = s3m_plan_open(o, r->cmd, r->src_arg, r->dst_arg, dry)))
        return s3m__usage_error("--plan: cannot write '%s'", o->plan);
    bool same = s3m__same_place(&r->cs, &r->cd);
    r->so.server_side = same && !o->no_server_side &&
                        !strcmp(r->cs.remote->access_key_id ? r->cs.remote->access_key_id : "",
                                r->cd.remote->access_key_id ? r->cd.remote->access_key_id : "");
    size_t ls = strlen(r->s.prefix), ld = strlen(r->d.prefix);
    bool overlap = same && (!*r->s.bucket || !strcmp(r->s.bucket, r->d.bucket)) &&
                   !strncmp(r->s.prefix, r->d.prefix, ls < ld ? ls : ld);
    if (overlap)
        return s3m__usage_error("%s", "source and destination are the same place or one "
                                      "contains the other: refusing to sync it into itself");
    r->so.backup = o->backup_dir ? &r->bcfg : NULL;
    return o->backup_dir ? s3m__backup_check(&r->env.cfg, r->dst, &r->s, &r->d, same, &r->bk, &r->f)
                         : 0;
}

/* The environment and both clients, the job's lock, the plan file; returns an exit code. */
static int sync_open(struct run *r)
{
    signal(SIGXFSZ, SIG_IGN); /* a file-size limit: the delete list's write fails, and says so */
    int rc = s3m_env_init(&r->env, r->o);
    if (!rc && !(rc = s3m_env_client(&r->env, r->s.remote, &r->cs)))
        r->src = &r->cs;
    if (!rc && !(rc = s3m_env_client(&r->env, r->d.remote, &r->cd)))
        r->dst = &r->cd;
    if (rc)
        return rc;
    /* the job's name for its lock and metrics: "b/x" and "b/x/" are one folder, so one job */
    s3m__job_name(&r->s, r->job_src, sizeof(r->job_src));
    s3m__job_name(&r->d, r->job_dst, sizeof(r->job_dst));
    clock_gettime(CLOCK_REALTIME, &r->t_start);
    s3m__run_signals_start(r); /* a stop while the start ping waits is the run's, not a death */
    s3m__cutoff_arm(&r->cut, r->src->loop, s3m__run_on_deadline, r);
    rc = open_lock(r);
    /* the metrics file describes the real job: a dry run, or a run turned away by the lock
     * (the job holding it writes its own), leaves its series as they are; so does a push */
    r->write_metrics = (r->o->metrics_file || r->o->metrics_push) && !r->o->dry_run &&
                       rc != S3M_EXIT_LOCKED;
    if (!rc && r->notify) /* the run holds its job: it starts */
        s3m_notify_start(r->o, r->cmd, r->job_src, r->job_dst);
    if (!rc && !(rc = open_places(r)))
        s3m__buffer_warn(r->o, &r->so);
    return rc;
}

/* The run: one bucket, or every bucket of a whole remote; returns the exit code. */
static int sync_run(struct run *r)
{
    int rc;
    r->so.delete_list = &r->delete_list;
    r->so.defer_list = &r->defer_list;
    s3m__run_signals_poll(r); /* stopped before the run (during the start ping): nothing starts */
    if (r->signal) {
        rc = 0;
    } else if (*r->s.bucket) {
        if (!(rc = s3m__ensure_dst_bucket(r->src, r->dst, &r->s, &r->d, &r->so))) {
            s3m__run_signals_poll(r);
            if (!r->signal)
                run_pair(r, &r->s, &r->d, r->s.bucket, r->d.bucket);
            run_finish(r, NULL);
        }
    } else {
        rc = run_all_buckets(r, &r->s, &r->d);
    }
    s3m__run_signals_poll(r);
    if (r->cut.buckets_left && !r->signal)
        s3m__cutoff_buckets(&r->cut, r->o, r->s.remote);
    if (!rc || r->signal)
        rc = r->signal ? 128 + r->signal : s3m__cutoff_exit(&r->cut, r->o, r->so.mode, &r->total);
    return r->o->gate && !r->signal ? s3m__apply_outcome(r->o->gate, rc) : rc;
}

/* What the command leaves besides the jobs' summary lines: the plan file complete, the
 * metrics record (even of a run that failed once both clients were set up). Returns the exit
 * code. */
static int sync_report(struct run *r, int rc)
{
    if (r->so.plan) /* a plan of part of a run gets no trailer: apply refuses it */
        s3m_plan_close(r->so.plan,
                       !r->signal && !r->cut.cut && !r->total.listing_failed && !r->total.failed.n);
    r->so.plan = NULL;
    if (r->write_metrics || r->notify)
        s3m__run_signals_late(r);
    const struct s3m_s3_stats *ep[2] = {&r->cs.stats, &r->cd.stats};
    uint64_t asked = s3m__requests_total(ep);
    if (asked != r->logged_requests) /* the deletions and the sweep, after the last job's -v */
        s3m__requests_log(&r->cs, &r->cd);
    if (r->o->json && asked) /* after the summaries: what each endpoint was asked, if anything */
        s3m__stats_json(ep);
    if (r->write_metrics)
        rc = s3m__metrics_write(r->o, r->so.mode, r->job_src, r->job_dst, &r->t_start, rc,
                                &r->total, ep);
    /* a run turned away by the lock pings nothing: the run holding it pings its own end */
    if (r->notify && rc != S3M_EXIT_LOCKED)
        s3m_notify_end(r->o, rc, s3m_buf_str(&r->lines));
    return rc;
}

/* everything the steps set up, whichever step stopped (each part knows if it is set up) */
static void sync_close(struct run *r)
{
    s3m__run_signals_stop(r);
    s3m__cutoff_cleanup(&r->cut);
    if (r->delete_list)
        fclose(r->delete_list);
    if (r->defer_list)
        fclose(r->defer_list);
    s3m__order_cleanup(&r->order);
    if (r->lock_fd >= 0)
        close(r->lock_fd); /* releases the flock */
    if (r->src)
        s3m_s3_cleanup(&r->cs);
    if (r->dst)
        s3m_s3_cleanup(&r->cd);
    s3m_env_cleanup(&r->env);
    s3m_filter_cleanup(&r->f);
    s3m_bounds_free(&r->plan);
    s3m_spec_cleanup(&r->s);
    s3m_spec_cleanup(&r->d);
    s3m_spec_cleanup(&r->bk);
    s3m_buf_cleanup(&r->lines);
}

int s3m_cmd_sync(struct s3m_opts *o, const char *cmd, char **args, int nargs)
{
    struct run r;
    memset(&r, 0, sizeof(r));
    r.o = o;
    r.tail = &r.pairs;
    r.lock_fd = -1;
    s3m_buf_init(&r.lines);
    r.cmd = cmd;
    r.src_arg = nargs > 0 ? args[0] : NULL;
    r.dst_arg = nargs > 1 ? args[1] : NULL;
    int rc = s3m_monitor_check(o);
    r.notify = !rc && o->notify_url && !o->dry_run; /* a usable URL pings even a usage error */
    if (!rc)
        rc = sync_parse(&r, cmd, args, nargs);
    if (rc)
        goto out;
    rc = sync_open(&r);
    if (rc)
        goto out;
    rc = sync_run(&r);
out:
    rc = sync_report(&r, rc);
    sync_close(&r);
    return rc;
}
