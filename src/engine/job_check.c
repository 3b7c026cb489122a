/* job_check.c - the job's --compare reads: --compare checksum verifications (engine/verify.c),
 * --compare MODE,tags checks of pairs otherwise equal and their tag-only updates
 * (engine/tagcheck.c). Each read's outcome is planned here (core/plan.c), passes apply's gate
 * and becomes a line, an update or a skip; the job (job.c) pumps on. */
#include "defer_int.h"
#include "gate_int.h"
#include "job_int.h"
#include "lanes_int.h"
#include "s3m/log.h"
#include "s3m/sync.h"
#include "verify_int.h"

static struct s3m_verify_env job_env(const struct s3m_sync *s)
{
    return (struct s3m_verify_env){s->src,        s->dst,        s->src_bucket,   s->src_prefix,
                                   s->dst_bucket, s->dst_prefix, s3m__job_stopped};
}

/* a tag-only update (tagcheck.c) ended */
static void tags_written(const struct s3m_errinfo *ei, const char *key, void *ud)
{
    struct s3m_sync *s = ud;
    char line[900] = "";
    struct s3m_log_fields lf = {s->dst->remote->name, s->dst_bucket, key, ei};
    s->active--;
    s3m_plan_count_transfer(&s->st, S3M_PLAN_UPDATE, 0, !ei->err);
    if (ei->err)
        s3m__job_note_error(s, ei), s3m_errinfo_str(ei, line, sizeof(line));
    s3m_logf(ei->err ? S3M_LOG_ERROR : S3M_LOG_INFO, "sync", &lf, "%s: %s: tags %s%s", s->label,
             key, ei->err ? "not written: " : "written", line);
    s3m__job_pump(s);
}

static void start_tagwrite(struct s3m_sync *s, const struct s3m_verify_result *v)
{
    struct s3m_verify_env env = job_env(s);
    struct s3m_errinfo ei;
    s->active++;
    if (!s3m__tagwrite_start(&env, v->key, v->src_tags, tags_written, s, &ei))
        tags_written(&ei, v->key, s); /* counted as failed (it pumps: so does our caller) */
}

static void verified(const struct s3m_verify_result *v, void *ud)
{
    struct s3m_sync *s = ud;
    s->active--;
    s3m__lanes_verifying(s->lanes, v->lane, -1);
    if (v->err && v->err->err == S3M_EABORTED && s3m__job_stopped(s)) { /* a stop ended it */
        if (s->flags & S3M_SYNC_F_CUT)
            s3m__job_count_cut(s, v->key, v->size, "not compared");
    } else if (v->err) {
        char line[900];
        s3m_plan_count_transfer(&s->st, S3M_PLAN_UPDATE, 0, false);
        s3m__job_note_error(s, v->err);
        struct s3m_log_fields lf = {s->src->remote->name, s->src_bucket, v->key, v->err};
        s3m_logf(S3M_LOG_ERROR, "sync", &lf, "%s: comparing %s failed: %s", s->label, v->key,
                 s3m_errinfo_str(v->err, line, sizeof(line)));
    } else if (!v->tags && !v->differ && s->o.compare_tags) { /* the same: now the tags */
        struct s3m_diff_item it = {
            S3M_ACT_SKIP, {v->key, v->size, v->etag, 0}, v->old, NULL, false, false, false, false};
        s3m__job_check(s, v->lane, &it, true);
    } else {
        struct s3m_plan_action a;
        if (v->tags)
            s3m_plan_tags(&s->po, v->differ, v->unverified_why, v->key, v->size, &a);
        else
            s3m_plan_verified(&s->po, v->differ, v->head, v->key, v->size, &a);
        a.seen = (struct s3m_plan_seen){v->etag, v->old.etag, v->old.size};
        s3m__gate(s, v->lane, &a); /* apply: only what the plan saw */
        a.tier = s3m__defer_tier(s->defer, &a);
        bool wait = a.act == S3M_PLAN_UPDATE && s3m__defer_hold(s->defer, &a, v->etag);
        if (!wait)
            s3m__job_line(s, v->lane, &a);
        s3m_plan_count(&s->po, &s->st, &a);
        if (a.execute && !wait && v->tags)
            start_tagwrite(s, v);
        else if (a.execute && !wait)
            s3m__job_start_copy(s, a.act, a.key, a.size, v->etag, &v->old);
        if (a.act == S3M_PLAN_SKIP || a.act == S3M_PLAN_UNVERIFIABLE)
            s3m_log(S3M_LOG_INFO, "sync", "%s: %s", v->key, a.why);
    }
    s3m__lanes_emit(s->lanes, false);
    s3m__job_pump(s);
}

void s3m__job_check(struct s3m_sync *s, size_t lane, const struct s3m_diff_item *it, bool tags)
{
    struct s3m_verify_env env = job_env(s);
    struct s3m_errinfo ei;
    s3m__lanes_verifying(s->lanes, lane, 1);
    s->active++;
    bool started = tags ? s3m__tagcheck_start(&env, it, lane, verified, s, &ei)
                        : s3m__verify_start(&env, it, lane, verified, s, &ei);
    if (started)
        return;
    s->active--; /* no request could start: a failure, counted here */
    s3m__lanes_verifying(s->lanes, lane, -1);
    s3m_plan_count_transfer(&s->st, S3M_PLAN_UPDATE, 0, false);
    s3m__job_note_error(s, &ei);
}
