/* job_int.h - what job.c shares with job_end.c and job_info.c (engine-private): one job is the
 * three files; the phase still changes only in job.c's set_phase(), which these reach. */
#ifndef S3M_ENGINE_JOB_INT_H
#define S3M_ENGINE_JOB_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "s3m/err.h"
#include "s3m/plan.h"
#include "s3m/sync.h"

void s3m__job_set_phase(struct s3m_sync *s, enum s3m_sync_phase p);
/* a resting phase reached: the owner's done callback comes from the loop */
void s3m__job_rest(struct s3m_sync *s, enum s3m_sync_phase p);
bool s3m__job_resting(const struct s3m_sync *s);
void s3m__job_note_error(struct s3m_sync *s, const struct s3m_errinfo *ei);
/* a decided action's report / plan lines, straight out */
void s3m__job_write_line(struct s3m_sync *s, const struct s3m_plan_action *a);
/* a real sync's plan line for what was done on the destination */
void s3m__job_write_done(struct s3m_sync *s, enum s3m_plan_act act, const char *key, uint64_t size,
                         const char *why);
/* what the planner looks at, from the job's options (job_info.c): the job's and the run's cap */
struct s3m_plan_opts s3m__job_plan_opts(const struct s3m_sync_opts *o);
/* ---- job_check.c: the --compare reads, and what job.c lends them ---- */
/* Verify the pair (verify.c), or (tags) read both sides' tags of a pair otherwise equal
 * (tagcheck.c); the outcome is planned, gated and carried out there. */
void s3m__job_check(struct s3m_sync *s, size_t lane, const struct s3m_diff_item *it, bool tags);
void s3m__job_pump(struct s3m_sync *s);
/* a decided action's lines in the lane's place of the key order */
void s3m__job_line(struct s3m_sync *s, size_t lane, const struct s3m_plan_action *a);
/* a copy or update's transfer (old: the destination's version an update replaces) */
void s3m__job_start_copy(struct s3m_sync *s, enum s3m_plan_act act, const char *key, uint64_t size,
                         const char *etag, const struct s3m_entry *old);
/* the queue's and the sweep's stop check (ud: the job): stopped, or a --backup-dir move failed */
bool s3m__job_stopped(void *ud);
/* a copy or update the cut-off leaves undone: counted as left, logged with how */
void s3m__job_count_cut(struct s3m_sync *s, const char *key, uint64_t size, const char *how);

#endif
