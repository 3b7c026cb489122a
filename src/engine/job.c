/* job.c - one sync / copy / check job: its phases (LISTING -> DRAINING -> COPIED -> DEFERRING
 * -> DEFERRED -> DELETING -> DELETED -> SWEEPING -> DONE), the pump that turns the lanes'
 * decisions (planned by core/plan.c) into transfers, verifications, remembered deletions, waiting
 * copies and report lines, and the callbacks of the parts that work for it (lanes, verify,
 * delete queue, waiting copies, sweep). What the run reads of a job is job_info.c.
 *
 * The pump pulls decisions only while fewer than --transfers objects are in flight, so listings
 * are read at the pace of the copies and memory stays bounded. Deletions wait for the run's
 * one decision (cli/cmd_sync.c), then s3m_sync_delete and s3m_sync_sweep. No loop runs here:
 * the caller runs it until the phase's done callback came and the job is settled. */
#include "backup_int.h"
#include "defer_int.h"
#include "delete_int.h"
#include "job_int.h"
#include "gate_int.h"
#include "lanes_int.h"
#include "s3m/log.h"
#include "s3m/loop.h"
#include "s3m/sync.h"
#include "s3m/util.h"
#include "sweep_int.h"
#include "verify_int.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const phase_names[] = {"LISTING",   "DRAINING", "COPIED",
                                          "DEFERRING", "DEFERRED", "DELETING",
                                          "DELETED",   "SWEEPING", "DONE"};

static void set_phase(struct s3m_sync *s, enum s3m_sync_phase p)
{
    s3m_log(S3M_LOG_DEBUG, "sync", "%s: %s -> %s", s->label, phase_names[s->phase], phase_names[p]);
    s->phase = p;
}

static bool resting(enum s3m_sync_phase p)
{
    return p == S3M_SYNC_COPIED || p == S3M_SYNC_DEFERRED || p == S3M_SYNC_DELETED ||
           p == S3M_SYNC_DONE;
}

static void kick_done(void *ud)
{
    struct s3m_sync *s = ud;
    s->done(s, s->done_ud);
}

/* a phase is over: the owner hears of it from the loop, never from inside its own call */
static void rest(struct s3m_sync *s, enum s3m_sync_phase p)
{
    assert(resting(p));
    s->st.resumed_uploads = s->xctx.uploads_resumed; /* the copies' own counters */
    s->st.resumed_parts = s->xctx.parts_kept;
    s->st.dropped_uploads = s->xctx.uploads_dropped;
    set_phase(s, p);
    s3m_kick_arm(s->kick);
}

static bool stopped(const struct s3m_sync *s)
{
    return (s->flags & S3M_SYNC_F_ABORTED) != 0;
}

static void note_error(struct s3m_sync *s, const struct s3m_errinfo *ei)
{
    s3m_plan_note_error(&s->st, ei);
}

/* ---- report and plan lines ---- */

/* a decided action's lines, in the lane's place of the key order (S3M_NO_LANE: straight out) */
static void write_line(struct s3m_sync *s, size_t lane, const struct s3m_plan_action *a)
{
    unsigned out = s3m_plan_outputs(&s->po, a->act);
    struct s3m_plan_line l = {a->act, a->dst_side ? s->dst_bucket : s->src_bucket,
                              a->key, a->size,
                              a->why, a->tier};
    char why[2400]; /* --backup-dir's destination, --immutable's error */
    l.why = s3m__backup_why(s, a->act, a->key, a->why, s->o.dry_run, why, sizeof(why));
    if ((out & S3M_PLAN_OUT_PLAN) && s->o.plan)
        s3m_plan_json_seen(s3m__lanes_out(s->lanes, lane, s->o.plan, true), &l, &a->seen);
    if ((out & S3M_PLAN_OUT_REPORT) && s->o.report) {
        FILE *f = s3m__lanes_out(s->lanes, lane, s->o.report, false);
        if (s->o.report_json)
            s3m_plan_report_json(f, s->o.mode, &l);
        else
            s3m_plan_text(f, s->o.mode, &l);
    }
}

/* a real sync's plan says what was done on the destination, when done */
static void write_done(struct s3m_sync *s, enum s3m_plan_act act, const char *key, uint64_t size,
                       const char *why)
{
    char bwhy[2400];
    struct s3m_plan_line l = {act, s->dst_bucket, key, size, why, 0};
    l.why = s3m__backup_why(s, act, key, why, false, bwhy, sizeof(bwhy));
    if (s->o.plan)
        s3m_plan_json(s->o.plan, &l);
}

/* ---- transfers ---- */

static void pump(struct s3m_sync *s);

static char *join(const char *prefix, const char *rel)
{
    struct s3m_buf b;
    s3m_buf_init(&b);
    s3m_buf_printf(&b, "%s%s", prefix, rel);
    return s3m_buf_detach(&b);
}

struct job_xfer {
    struct s3m_sync *s;
    enum s3m_plan_act act;
};

/* a copy or update the cut-off leaves undone (stopped in flight, never started, not compared) */
void s3m__job_count_cut(struct s3m_sync *s, const char *key, uint64_t size, const char *how)
{
    s->st.cut.n++;
    s->st.cut.bytes += size;
    s->st.cut_off = true;
    s3m_log(S3M_LOG_INFO, "sync", "%s: %s (%" PRIu64 " bytes) %s: cut off", s->label, key, size,
            how);
}

/* a transfer ended: counted and logged (also those of the waiting copies, defer.c) */
static void transfer_ended(void *ud, enum s3m_plan_act act, struct s3m_xfer *x)
{
    struct s3m_sync *s = ud;
    if (x->ei.err == S3M_EABORTED && (s->flags & S3M_SYNC_F_CUT)) {
        s3m__job_count_cut(s, x->src_key, x->size, "stopped in flight");
        return;
    }
    s3m_plan_count_transfer(&s->st, act, x->size, !x->ei.err);
    if (x->ei.err) {
        char line[900];
        note_error(s, &x->ei);
        struct s3m_log_fields lf = {s->src->remote->name, x->src_bucket, x->src_key, &x->ei};
        s3m_logf(S3M_LOG_ERROR, "sync", &lf, "%s: %s failed: %s", s->label, x->src_key,
                 s3m_errinfo_str(&x->ei, line, sizeof(line)));
    } else {
        s3m_log(S3M_LOG_INFO, "sync", "%s %s (%" PRIu64 " bytes)%s%s",
                act == S3M_PLAN_COPY ? "copied" : "updated", x->dst_key, x->size,
                x->note[0] ? ": " : "", x->note);
    }
}

static void xfer_done(struct s3m_xfer *x, void *ud)
{
    struct job_xfer *j = ud;
    struct s3m_sync *s = j->s;
    s->active--;
    transfer_ended(s, j->act, x);
    s3m_xfer_free(x);
    free(j);
    pump(s);
}

/* old: the destination's version an update replaces (its listed size and ETag) */
static void start_copy(struct s3m_sync *s, enum s3m_plan_act act, const char *key, uint64_t size,
                       const char *etag, const struct s3m_entry *old)
{
    /* the empty relative key is the folder itself (the diff skips it): never written */
    assert(*key);
    if ((s->flags & S3M_SYNC_F_CUT) && stopped(s)) { /* a verification settled after it */
        s3m__job_count_cut(s, key, size, "not started");
        return;
    }
    if (s->o.admit && !s->o.admit(s->o.admit_ud, size)) { /* --cutoff-mode cautious */
        s3m__job_count_cut(s, key, size, "not started, it would not finish in time");
        return;
    }
    char *sk = join(s->src_prefix, key), *dk = join(s->dst_prefix, key);
    struct job_xfer *j = s3m_calloc(1, sizeof(*j));
    j->s = s;
    j->act = act;
    s->active++;
    struct s3m_backup_copy c = {s->src_bucket, sk, s->dst_bucket, dk, size, etag, xfer_done, j};
    if (act != S3M_PLAN_UPDATE || !s3m__backup_then_copy(s->backup, &s->xctx, old, &c))
        s3m_xfer_start(&s->xctx, s->src_bucket, sk, s->dst_bucket, dk, size, etag, xfer_done, j);
    free(sk);
    free(dk);
}

/* ---- decisions ---- */

/* The delete list is the one thing on disk a deletion rests on: once it failed, it refuses
 * every deletion of the run (s3m_sync_refusal). */
static void delete_list_broken(struct s3m_sync *s, const struct s3m_errinfo *ei)
{
    if (s->st.delete_list_failed)
        return;
    s->st.delete_list_failed = true;
    note_error(s, ei);
    s3m_log(S3M_LOG_ERROR, "sync", "%s: %s", s->label, ei->message);
}

static void remember_delete(struct s3m_sync *s, const struct s3m_entry *e)
{
    struct s3m_errinfo ei;
    assert(*e->key); /* the destination folder's own marker is never deleted */
    if (!s->st.delete_list_failed && !s3m__delq_add(s->delq, e, &ei))
        delete_list_broken(s, &ei);
}

static void handle(struct s3m_sync *s, size_t lane, const struct s3m_diff_item *it)
{
    struct s3m_plan_action a;
    char why[1400];
    s3m_plan_decide(&s->po, it, &a);
    bool tags = (a.act == S3M_PLAN_SKIP || a.act == S3M_PLAN_UNVERIFIABLE) && s->o.compare_tags;
    if (a.act == S3M_PLAN_VERIFY || tags) { /* one HEAD, or reading both, settles it */
        s3m__job_check(s, lane, it, tags);  /* tags: equal but for the tags? */
        return;
    }
    if (a.act == S3M_PLAN_FOLDER) {
        s3m_plan_folder_why(why, sizeof(why), a.dst_side,
                            a.dst_side ? s->dst_bucket : s->src_bucket,
                            a.dst_side ? s->dst_prefix : s->src_prefix, a.why);
        a.why = why;
        s3m_log(S3M_LOG_INFO, "sync", "%s: %s", s->label, why);
    }
    s3m__gate(s, lane, &a); /* apply: only what the plan saw */
    a.tier = s3m__defer_tier(s->defer, &a);
    bool copy = a.act == S3M_PLAN_COPY || a.act == S3M_PLAN_UPDATE;
    bool wait = copy && s3m__defer_hold(s->defer, &a, it->src.etag); /* spooled, defer.c */
    if (!wait)
        write_line(s, lane, &a);
    if (a.act == S3M_PLAN_UNVERIFIABLE)
        s3m_log(S3M_LOG_INFO, "sync", "%s: %s", a.key, a.why);
    s3m_plan_count(&s->po, &s->st, &a);
    if (a.execute && a.act == S3M_PLAN_DELETE)
        remember_delete(s, &it->dst);
    else if (a.execute && !wait)
        start_copy(s, a.act, a.key, a.size, it->src.etag, &it->dst);
}

/* ---- the copy phase ---- */

static void lane_failed(struct s3m_sync *s, size_t lane)
{
    s->st.listing_failed = true;
    struct s3m_errinfo ei;
    char msg[1200];
    const char *remote, *bucket;
    s3m__lanes_error(s->lanes, lane, &ei, msg, sizeof(msg), &remote, &bucket);
    note_error(s, &ei);
    struct s3m_log_fields lf = {remote, bucket, NULL, &ei};
    s3m_logf(S3M_LOG_DEBUG, "sync", &lf, "%s", msg);
}

static void end_of_copies(struct s3m_sync *s)
{
    struct s3m_lanes_counts c;
    struct s3m_errinfo ei;
    s3m__lanes_counts(s->lanes, &c);
    s->st.src_keys = c.nsrc;
    s->st.dst_keys = c.ndst;
    s->st.src_scope = c.src_scope;
    s->st.dst_scope = c.dst_scope;
    if (!s->st.delete_list_failed && !s3m__delq_seal(s->delq, &ei))
        delete_list_broken(s, &ei); /* the region of this job ends here */
    s3m__defer_seal(s->defer);      /* so does its spool's: the run reads it back */
    s3m__lanes_emit(s->lanes, true);
    s3m__lanes_stop(s->lanes); /* the caller waits for them to come back */
    rest(s, S3M_SYNC_COPIED);  /* the transfer context stays for the waiting copies */
    if (s->progress_timer) {   /* the last tick, which takes a live line away */
        s3m_timer_free(s->progress_timer);
        s->progress_timer = NULL;
        s->o.progress(s, s->o.progress_ud);
    }
}

/* one decision per lane in turn (lanes.c), while there is room */
static void pump(struct s3m_sync *s)
{
    while (s->phase == S3M_SYNC_LISTING && s->active < s->o.transfers) {
        size_t lane;
        struct s3m_diff_item it;
        enum s3m_pull p = s3m__lanes_pull(s->lanes, &lane, &it);
        if (p == S3M_PULL_WAIT)
            break;
        if (p == S3M_PULL_ERROR)
            lane_failed(s, lane);
        if (p != S3M_PULL_ENTRY) {
            s->flags |= S3M_SYNC_F_LISTED;
            set_phase(s, S3M_SYNC_DRAINING);
            break;
        }
        if (s->o.learn && it.src.key)
            s3m_sample_add(&s->sample, it.src.key);
        handle(s, lane, &it);
    }
    if (s->phase == S3M_SYNC_DRAINING && s->active == 0)
        end_of_copies(s);
}

static void on_ready(void *ud)
{
    pump(ud);
}

static void on_progress(void *ud)
{
    struct s3m_sync *s = ud;
    s->o.progress(s, s->o.progress_ud);
}

static void set_opts(struct s3m_sync *s, const struct s3m_sync_opts *o)
{
    s->o = *o;
    if (s->o.transfers < 1)
        s->o.transfers = 1;
    s->po = s3m__job_plan_opts(o);
    s->xctx.server_side = o->server_side;
    s->xctx.no_tags = o->no_tags;
    if (o->part_concurrency > 0)
        s->xctx.part_concurrency = o->part_concurrency;
    if (o->buffer_size)
        s->xctx.buffer_size = o->buffer_size;
    if (o->attempts > 0)
        s->xctx.attempts = o->attempts;
    if (o->multipart_threshold)
        s->xctx.single_max = o->multipart_threshold;
    if (o->chunk_size)
        s->xctx.chunk_size = o->chunk_size;
    if (o->nlanes && o->bounds[0])
        s->lo = s3m_strdup(o->bounds[0]);
    if (o->nlanes && o->bounds[o->nlanes])
        s->hi = s3m_strdup(o->bounds[o->nlanes]);
}

void s3m_sync_start(struct s3m_sync *s, const struct s3m_sync_opts *o, struct s3m_s3 *src,
                    const char *src_bucket, const char *src_prefix, struct s3m_s3 *dst,
                    const char *dst_bucket, const char *dst_prefix, const char *label,
                    s3m_sync_done_cb done, void *ud)
{
    memset(s, 0, sizeof(*s));
    s->src = src;
    s->dst = dst;
    s->src_bucket = s3m_strdup(src_bucket);
    s->src_prefix = s3m_strdup(src_prefix);
    s->dst_bucket = s3m_strdup(dst_bucket);
    s->dst_prefix = s3m_strdup(dst_prefix);
    s->label = label;
    s->started = (int64_t)time(NULL);
    s->done = done;
    s->done_ud = ud;
    s3m_xfer_ctx_init(&s->xctx, src, dst);
    set_opts(s, o);
    if (!o->no_resume && !o->dry_run && !o->gate) /* apply: only the plan's actions */
        s->xctx.resume_before = s->started;
    s->backup = s3m__backup_new(s); /* after set_opts: the job's copy limits */
    s->kick = s3m_kick_new(src->loop, kick_done, s);
    if (o->progress_ms && o->progress) {
        s->progress_timer = s3m_timer_new(src->loop, on_progress, s);
        s3m_timer_start(s->progress_timer, o->progress_ms, o->progress_ms);
    }
    s3m_sample_init(&s->sample, 4096);
    s->delq = s3m__delq_new(o->delete_list);
    s->defer = s3m__defer_new(o, label, &s->st);
    struct s3m_lanes_cfg lc = {src,           dst,           s->src_bucket, s->src_prefix,
                               s->dst_bucket, s->dst_prefix, o->nlanes,     o->bounds,
                               o->max_keys,   o->dst_absent, o->filter,     o->compare,
                               o->report,     o->plan,       on_ready,      s};
    s->lanes = s3m__lanes_new(&lc);
    set_phase(s, S3M_SYNC_LISTING);
    if (o->stopped)
        s3m_sync_abort(s);
}

bool s3m_sync_settled(const struct s3m_sync *s)
{
    return resting(s->phase) && (s->xctx.close_done || s->phase == S3M_SYNC_COPIED) &&
           !s3m__lanes_busy(s->lanes);
}

void s3m_sync_abort(struct s3m_sync *s)
{
    /* after a soft cut-off (its transfers let run) a signal still stops them */
    if ((stopped(s) && !(s->flags & S3M_SYNC_F_SOFT)) || resting(s->phase))
        return;
    s->flags = (s->flags & ~S3M_SYNC_F_SOFT) |
               S3M_SYNC_F_ABORTED;      /* a running delete queue or sweep asks (job_stopped) */
    s3m__backup_stop(s->backup);        /* its moves fail: nothing deleted nor overwritten */
    if (s->phase == S3M_SYNC_DEFERRING) /* so do the waiting copies; those out end now */
        s3m_xfer_ctx_stop(&s->xctx);
    if (s->phase != S3M_SYNC_LISTING && s->phase != S3M_SYNC_DRAINING)
        return;
    s3m_xfer_ctx_stop(&s->xctx);
    if (s->phase == S3M_SYNC_LISTING)
        set_phase(s, S3M_SYNC_DRAINING);
    pump(s);
}

void s3m_sync_cutoff(struct s3m_sync *s, bool hard)
{
    if (resting(s->phase))
        return;
    s->flags |= S3M_SYNC_F_CUT;
    s->st.cut_off = true;
    bool copying = s->phase == S3M_SYNC_LISTING || s->phase == S3M_SYNC_DRAINING ||
                   s->phase == S3M_SYNC_DEFERRING;
    if (hard || !copying || stopped(s)) {
        s3m_sync_abort(s);
        return;
    }
    /* no new work (the waiting copies are held), no deletes; those running go on, those
     * still waiting for buffer memory never started */
    s->flags |= S3M_SYNC_F_ABORTED | S3M_SYNC_F_SOFT;
    s3m_xfer_ctx_cut(&s->xctx);
    if (s->phase == S3M_SYNC_LISTING)
        set_phase(s, S3M_SYNC_DRAINING);
    if (s->phase == S3M_SYNC_DRAINING)
        pump(s);
}

/* ---- after the copies: the decision, the deletes, the sweep ---- */

bool s3m_sync_refusal(struct s3m_sync *s, char *why, size_t n)
{
    struct s3m_plan_job j = {stopped(s) || s->st.cut.n, s->st.listing_failed, s->st.failed.n,
                             s->st.delete_list_failed,  s->st.src_scope,      s->st.dst_scope,
                             s->st.immutable.n};
    if (s3m_plan_refusal(&s->po, &j, why, n))
        return true;
    char what[400];
    if (s->o.mode != S3M_MODE_SYNC || s->o.dry_run || !s->st.del.n ||
        s3m__delq_check(s->delq, s->st.del.n, s->st.del.bytes, what, sizeof(what)))
        return false;
    struct s3m_errinfo ei;
    s3m_errinfo_set(&ei, S3M_EIO, "delete list (temporary file): %s", what);
    delete_list_broken(s, &ei);
    snprintf(why, n, "the delete list on disk does not read back as written");
    return true;
}

bool s3m__job_stopped(void *ud)
{
    struct s3m_sync *s = ud; /* a failed --backup-dir move: no further deletes either */
    return stopped(s) || s3m__backup_failed(s->backup);
}

/* ---- the waiting copies (defer.c): after the run's --max-change decision ---- */

static void deferred_line(void *ud, const struct s3m_plan_action *a)
{
    write_line(ud, S3M_NO_LANE, a);
}

static void deferred_done(void *ud)
{
    struct s3m_sync *s = ud;
    s3m_xfer_ctx_close(&s->xctx);
    rest(s, S3M_SYNC_DEFERRED);
}

static bool deferred_admit(void *ud, uint64_t size)
{
    struct s3m_sync *s = ud;
    return !s->o.admit || s->o.admit(s->o.admit_ud, size);
}

static const struct s3m_defer_cbs defer_cbs = {s3m__job_stopped, deferred_line, transfer_ended,
                                               deferred_done, deferred_admit};

bool s3m_sync_deferred(struct s3m_sync *s, const char *refuse_updates, bool stop,
                       s3m_sync_done_cb done, void *ud)
{
    assert(s->phase == S3M_SYNC_COPIED);
    if (stop)
        s->flags |= S3M_SYNC_F_ABORTED; /* what waits is held: nothing new starts */
    s->done = done;
    s->done_ud = ud;
    set_phase(s, S3M_SYNC_DEFERRING);
    struct s3m_defer_env env = {&s->xctx,      s->src_bucket,  s->src_prefix,  s->dst_bucket,
                                s->dst_prefix, s->o.transfers, refuse_updates, s->backup};
    if (s3m__defer_run(s->defer, &env, &defer_cbs, s))
        return true;
    s3m_xfer_ctx_close(&s->xctx);
    set_phase(s, S3M_SYNC_DEFERRED);
    return false;
}

/* ---- for the end of the job (job_end.c) ---- */

void s3m__job_set_phase(struct s3m_sync *s, enum s3m_sync_phase p)
{
    set_phase(s, p);
}

void s3m__job_rest(struct s3m_sync *s, enum s3m_sync_phase p)
{
    rest(s, p);
}

bool s3m__job_resting(const struct s3m_sync *s)
{
    return resting(s->phase);
}

void s3m__job_note_error(struct s3m_sync *s, const struct s3m_errinfo *ei)
{
    note_error(s, ei);
}

void s3m__job_write_line(struct s3m_sync *s, const struct s3m_plan_action *a)
{
    write_line(s, S3M_NO_LANE, a);
}

void s3m__job_write_done(struct s3m_sync *s, enum s3m_plan_act act, const char *key, uint64_t size,
                         const char *why)
{
    write_done(s, act, key, size, why);
}

/* ---- for the --compare reads (job_check.c) ---- */

void s3m__job_pump(struct s3m_sync *s)
{
    pump(s);
}

void s3m__job_line(struct s3m_sync *s, size_t lane, const struct s3m_plan_action *a)
{
    write_line(s, lane, a);
}

void s3m__job_start_copy(struct s3m_sync *s, enum s3m_plan_act act, const char *key, uint64_t size,
                         const char *etag, const struct s3m_entry *old)
{
    start_copy(s, act, key, size, etag, old);
}

void s3m_sync_release(struct s3m_sync *s)
{
    s3m__lanes_free(s->lanes);
    s->lanes = NULL;
    s3m_sample_cleanup(&s->sample);
}

void s3m_sync_cleanup(struct s3m_sync *s)
{
    s3m_sync_release(s);
    s3m__delq_free(s->delq);
    s3m__defer_free(s->defer);
    if (!s->xctx.close_done) /* a job the run did not take to its waiting copies */
        s3m_xfer_ctx_close(&s->xctx);
    s3m__sweep_free(s->sweep);
    s3m__backup_free(s->backup);
    s3m_timer_free(s->progress_timer);
    s3m_kick_free(s->kick);
    free(s->lo);
    free(s->hi);
    free(s->src_bucket);
    free(s->src_prefix);
    free(s->dst_bucket);
    free(s->dst_prefix);
    s->delq = NULL;
    s->defer = NULL;
    s->sweep = NULL;
    s->backup = NULL;
    s->kick = NULL;
    s->progress_timer = NULL;
}
