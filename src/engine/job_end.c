/* job_end.c - the end of one job: its deletions (the delete queue, engine/delete.c, tier by
 * tier, --backup-dir moving each batch first), or their refusal, and its stale-upload sweep
 * (engine/sweep.c), each after the run's one decision, each ending in the job's done callback
 * from the loop. */
#include "backup_int.h"
#include "delete_int.h"
#include "job_int.h"
#include "s3m/log.h"
#include "s3m/sync.h"
#include "sweep_int.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>

void s3m_sync_refuse(struct s3m_sync *s, const char *why)
{
    if (s->o.mode != S3M_MODE_SYNC || !s->st.del.n || s->st.delete_refused)
        return;
    s->st.delete_refused = true;
    snprintf(s->st.refused_why, sizeof(s->st.refused_why), "%s", why);
    s3m_log(S3M_LOG_ERROR, "sync", "%s: %s %" PRIu64 " deletion(s): %s", s->label,
            s->o.dry_run ? "would not run" : "not deleting", s->st.del.n, why);
}

static void del_deleted(void *ud, const char *key, uint64_t size)
{
    struct s3m_sync *s = ud;
    s->st.deleted++;
    s->st.deleted_bytes += size;
    s3m__job_write_done(s, S3M_PLAN_DELETE, key, size, "not on source");
}

static void del_key_failed(void *ud, const char *key, const char *code, const char *message)
{
    struct s3m_sync *s = ud;
    struct s3m_errinfo ei;
    s->st.delete_errors++;
    s3m_errinfo_clear(&ei);
    ei.err = S3M_ES3;
    snprintf(ei.code, sizeof(ei.code), "%s", code);
    snprintf(ei.message, sizeof(ei.message), "deleting %s: %s", key ? key : "?", message);
    s3m__job_note_error(s, &ei);
    struct s3m_log_fields lf = {s->dst->remote->name, s->dst_bucket, key, &ei};
    s3m_logf(S3M_LOG_ERROR, "sync", &lf, "%s: could not delete %s: %s %s", s->label,
             key ? key : "?", ei.code, message);
}

static void del_batch_failed(void *ud, size_t n, const struct s3m_errinfo *ei, bool sent)
{
    struct s3m_sync *s = ud;
    s->st.delete_errors += n;
    s3m__job_note_error(s, ei);
    if (!sent)
        return;
    char line[900];
    struct s3m_log_fields lf = {s->dst->remote->name, s->dst_bucket, NULL, ei};
    s3m_logf(S3M_LOG_ERROR, "sync", &lf, "%s: deleting %zu objects failed: %s", s->label, n,
             s3m_errinfo_str(ei, line, sizeof(line)));
}

static void del_done(void *ud)
{
    s3m__job_rest(ud, S3M_SYNC_DELETED);
}

/* --backup-dir moves each batch's keys first (s3m__backup_batch) */
static const struct s3m_delq_cbs delq_cbs = {s3m__job_stopped, s3m__backup_batch, del_deleted,
                                             del_key_failed,   del_batch_failed,  del_done};

static bool delete_due(const struct s3m_sync *s)
{
    return s->o.mode == S3M_MODE_SYNC && !s->o.dry_run && s->st.del.n && !s->st.delete_refused &&
           s->phase < S3M_SYNC_DELETED;
}

bool s3m_sync_delete(struct s3m_sync *s, s3m_sync_done_cb done, void *ud)
{
    if (!delete_due(s))
        return false;
    /* s3m_sync_refusal read the list back; the run's other jobs read theirs since */
    assert(s3m__job_resting(s) && !s->st.delete_list_failed);
    s3m__delq_order(s->delq, s->o.tiers, s->label); /* the last tier's deletions first */
    struct s3m_errinfo ei;
    s->done = done;
    s->done_ud = ud;
    s3m__job_set_phase(s, S3M_SYNC_DELETING);
    if (s3m__delq_run(s->delq, s->dst, s->dst_bucket, s->dst_prefix, &delq_cbs, s, &ei))
        return true;
    s3m__job_note_error(s, &ei); /* the list could not be positioned: nothing deleted */
    s->st.delete_errors += s->st.del.n;
    s3m__job_set_phase(s, S3M_SYNC_DELETED);
    return false;
}

static void swept_upload(void *ud, const char *key, const char *initiated, bool aborted)
{
    struct s3m_sync *s = ud;
    char why[300];
    /* a dry run lists no parts: a sync resumes such an upload of a key it copies (engine/
     * resume.c) before this sweep, and aborts here only what is left */
    snprintf(why, sizeof(why), "multipart upload left by an earlier run, initiated %s%s", initiated,
             aborted || s->o.no_resume ? "" : "; a sync that copies the key resumes it instead");
    struct s3m_plan_action a = {
        .act = S3M_PLAN_ABORT_UPLOAD, .dst_side = true, .key = key, .why = why};
    s3m_plan_count(&s->po, &s->st, &a);
    if (aborted)
        s3m__job_write_done(s, a.act, key, 0, why);
    else
        s3m__job_write_line(s, &a);
}

static void sweep_done(void *ud)
{
    s3m__job_rest(ud, S3M_SYNC_DONE);
}

static const struct s3m_sweep_cbs sweep_cbs = {s3m__job_stopped, swept_upload, sweep_done};

/* a sync's job, every step of it gone well, sweeps (not apply's: a plan aborts no upload) */
static bool sweep_due(const struct s3m_sync *s)
{
    return s3m__job_resting(s) && s->phase != S3M_SYNC_DONE && s->o.mode == S3M_MODE_SYNC &&
           !s->o.dst_absent && !s3m_sync_stopped(s) && !s->st.listing_failed && !s->st.failed.n &&
           !s->st.delete_refused && !s->o.gate;
}

bool s3m_sync_steps_left(const struct s3m_sync *s)
{
    return delete_due(s) || sweep_due(s);
}

bool s3m_sync_sweep(struct s3m_sync *s, s3m_sync_done_cb done, void *ud)
{
    if (!sweep_due(s))
        return false;
    s->done = done;
    s->done_ud = ud;
    s3m__job_set_phase(s, S3M_SYNC_SWEEPING);
    /* the key range: the caller's bounds are gone by now, these are copies of its ends */
    struct s3m_sweep_cfg cfg = {s->dst, s->dst_bucket, s->dst_prefix, s->label,    s->o.filter,
                                s->lo,  s->hi,         s->started,    s->o.dry_run};
    s->sweep = s3m__sweep_start(&cfg, &sweep_cbs, s);
    return true;
}
