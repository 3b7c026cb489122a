/* defer_int.h - a job's waiting copies (engine-private, used by job.c).
 *
 * Ordered copies: a copy or update of a key in a later tier (--copy-last, --layout), and with
 * --max-change every update, is not started when it is decided: it is spooled to an unlinked
 * temporary file (the run's one file, each job writing a region of it, or the job's own), never
 * held in memory. After the run's decisions the region is read back and counted, then run one
 * tier after the other: tier 0's held updates, then tier 1 once every transfer before it
 * succeeded, and so on. What does not run is counted and logged as held; outcomes go back
 * through callbacks. */
#ifndef S3M_ENGINE_DEFER_INT_H
#define S3M_ENGINE_DEFER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "backup_int.h"
#include "s3m/plan.h"
#include "s3m/sync.h"
#include "s3m/tiers.h"
#include "s3m/xfer.h"

struct s3m_defer;

/* For a job of options o: the run's spool (o->defer_list), its tiers (none for check), every
 * update held with --max-change; st: the job's counters. A later tier starts only while they
 * show no failure and no incomplete listing; what is not run is counted there (held; failed
 * when the spool broke). */
struct s3m_defer *s3m__defer_new(const struct s3m_sync_opts *o, const char *label,
                                 struct s3m_sync_stats *st);
void s3m__defer_free(struct s3m_defer *d);
/* The tier of an action's key (copy, update, delete; 0 for any other action or without
 * tiers). */
unsigned s3m__defer_tier(const struct s3m_defer *d, const struct s3m_plan_action *a);
/* A copy or update decided (a->tier set): counted in its tier; true when it waits (a later
 * tier, or an update held for --max-change), false when it goes now. A spool that cannot be
 * written fails the object (counted, logged): true as well, it never starts. */
bool s3m__defer_hold(struct s3m_defer *d, const struct s3m_plan_action *a, const char *etag);
/* The job's region of the spool ends here (its copy phase is over); a failure shows when the
 * region is read back. */
void s3m__defer_seal(struct s3m_defer *d);
/* Updates decided, in every tier (what --max-change counts besides the deletions). */
uint64_t s3m__defer_updates(const struct s3m_defer *d);
/* Copies and updates decided per tier, tiers 0..*ntiers; NULL without tiers. */
const struct s3m_sync_counts *s3m__defer_tier_counts(const struct s3m_defer *d, unsigned *ntiers);

struct s3m_defer_env {
    struct s3m_xfer_ctx *xctx;
    const char *src_bucket, *src_prefix, *dst_bucket, *dst_prefix;
    int transfers;              /* in flight at once */
    const char *refuse_updates; /* NULL, or why no update runs (--max-change) */
    struct s3m_backup *backup;  /* --backup-dir: an update moves the old version first */
};

struct s3m_defer_cbs {
    bool (*stopped)(void *ud); /* asked before each start: a stop starts nothing more */
    /* a waiting action is taken: its report / plan lines (a real sync: its transfer starts) */
    void (*line)(void *ud, const struct s3m_plan_action *a);
    /* a transfer it started ended (x->ei tells how; x is freed after the call) */
    void (*ended)(void *ud, enum s3m_plan_act act, struct s3m_xfer *x);
    void (*done)(void *ud); /* every tier through (or held) */
    /* asked before each transfer starts (--cutoff-mode cautious); false: not started, counted
     * cut in the job's counters */
    bool (*admit)(void *ud, uint64_t size);
};

/* Run the waiting actions (see above); stopped() is the job's, a later tier also waits for
 * counters without failure. false: nothing waits, no callback runs. Else done comes once,
 * possibly from inside this call (a dry run, or everything held). */
bool s3m__defer_run(struct s3m_defer *d, const struct s3m_defer_env *env,
                    const struct s3m_defer_cbs *cbs, void *ud);

#endif
