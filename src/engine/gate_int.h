/* gate_int.h - `apply`'s gate in a job's decision path (engine-private, used by job.c). */
#ifndef S3M_ENGINE_GATE_INT_H
#define S3M_ENGINE_GATE_INT_H

#include <stddef.h>

#include "s3m/plan.h"
#include "s3m/sync.h"

/* With a plan (s->o.gate): a decision the plan does not have for the objects it saw is turned
 * into nothing to do (a->act S3M_PLAN_NONE), with a report line in the lane's place and a log
 * line naming the key and what changed. Without a plan, or when the plan has it: a untouched. */
void s3m__gate(struct s3m_sync *s, size_t lane, struct s3m_plan_action *a);

#endif
