/* backup_int.h - --backup-dir (engine-private, used by job.c): the destination's objects moved
 * into the backup before they are deleted or overwritten.
 *
 * A move is a server-side copy on the destination endpoint (CopyObject, or the engine's
 * multipart copy above the threshold or for a multipart object), pinned to the ETag the
 * listing saw (x-amz-copy-source-if-match) and checked as the engine checks any copy; only a
 * move that succeeded lets its object be deleted or overwritten. What failed is logged here and
 * counted in the job's stats; the caller hears the outcome through a callback. */
#ifndef S3M_ENGINE_BACKUP_INT_H
#define S3M_ENGINE_BACKUP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "delete_int.h"
#include "s3m/err.h"
#include "s3m/plan.h"
#include "s3m/sync.h"
#include "s3m/xfer.h"

struct s3m_backup;

/* The job's moves, or NULL when it has no --backup-dir (s->o.backup); made after the job's
 * options are set (the copy limits of its transfers are the moves' too). */
struct s3m_backup *s3m__backup_new(struct s3m_sync *s);
/* No move may be in flight (the job is settled). */
void s3m__backup_free(struct s3m_backup *b);
/* Stop: moves in flight fail (their objects are neither deleted nor overwritten). */
void s3m__backup_stop(struct s3m_backup *b);
/* A move failed during the deletes: no further batch may go (the job's stop check asks). */
bool s3m__backup_failed(const struct s3m_backup *b);

/* The reason of the job's report / plan line for act: a delete or update with a backup says
 * where the old version goes ("WHY; [would be ]moved first to BUCKET/KEY", in out); an
 * --immutable refusal is logged as an error naming the key; else why itself. */
const char *s3m__backup_why(const struct s3m_sync *s, enum s3m_plan_act act, const char *rel,
                            const char *why, bool dry_run, char *out, size_t n);

/* An update's copy, started once the old version is moved. */
struct s3m_backup_copy {
    const char *src_bucket, *src_key, *dst_bucket, *dst_key;
    uint64_t size;
    const char *etag;
    s3m_xfer_done_cb done;
    void *ud;
};
/* false (nothing done) when b is NULL. Else move old (the destination's version, as listed)
 * first, then start the copy c in xctx; when the move fails, the update is not started and
 * c->done gets the failed move's transfer (its ei says why; the caller frees it as its own). */
bool s3m__backup_then_copy(struct s3m_backup *b, struct s3m_xfer_ctx *xctx,
                           const struct s3m_entry *old, const struct s3m_backup_copy *c);

/* The delete queue's before hook (ud: the job): move the batch's keys (full keys under the
 * destination's prefix), skip those whose move failed (each a delete error, logged), then
 * resume(rud) from the loop. false when the job has no backup (the batch goes at once). */
bool s3m__backup_batch(void *ud, struct s3m_delq_batch *batch, void (*resume)(void *rud),
                       void *rud);

#endif
