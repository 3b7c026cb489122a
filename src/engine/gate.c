/* gate.c - `apply`: each decision of a job passes the plan's gate (core/planfile.c) before it is
 * carried out; what the plan does not have, or had for other objects, is skipped, reported and
 * logged, never guessed. */
#include "gate_int.h"
#include "lanes_int.h"
#include "s3m/log.h"
#include "s3m/planfile.h"

void s3m__gate(struct s3m_sync *s, size_t lane, struct s3m_plan_action *a)
{
    char why[1600];
    const char *bucket = a->dst_side ? s->dst_bucket : s->src_bucket;
    if (!s->o.gate || s3m_planfile_gate(s->o.gate, bucket, a, why, sizeof(why)) != S3M_GATE_CHANGED)
        return;
    struct s3m_log_fields lf = {a->dst_side ? s->dst->remote->name : s->src->remote->name, bucket,
                                a->key, NULL};
    s3m_logf(S3M_LOG_WARN, "apply", &lf, "%s: %s: skipped, changed since the plan: %s", s->label,
             a->key, why);
    if (s->o.report)
        s3m_planfile_report(s3m__lanes_out(s->lanes, lane, s->o.report, false), s->o.report_json,
                            a->key, why);
    a->act = S3M_PLAN_NONE; /* counted as a skip; no transfer, no deletion, no line */
    a->execute = false;
}
