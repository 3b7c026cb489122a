/* s3m/sync.h - one sync / copy / check job between two buckets (or two prefixes).
 *
 * The listings stream into the merge-join; each decision becomes a transfer (up to `transfers`
 * at once), a remembered deletion (spilled to an unlinked temporary file, so memory does not
 * grow with the number of keys) or a line of the report. Deletions run only after every copy
 * succeeded and both listings completed, in DeleteObjects batches of up to 1000 keys, and only
 * when the safety rules allow (see the promises in DESIGN.md). */
#ifndef S3M_SYNC_H
#define S3M_SYNC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "s3m/diff.h"
#include "s3m/lister.h"
#include "s3m/plan.h"
#include "s3m/s3.h"
#include "s3m/tiers.h"
#include "s3m/xfer.h"

struct s3m_sync;
struct s3m_planfile; /* s3m/planfile.h */

/* --backup-dir: where the destination's objects go before they are deleted or overwritten (a
 * server-side copy on the destination, pinned to the listed ETag and checked, then the delete
 * or the update). Same endpoint and credentials as the destination, checked by the caller. */
struct s3m_backup_cfg {
    const char *bucket;
    const char *prefix; /* "" or ending in '/' */
    const char *suffix; /* --suffix, "" = none */
    bool keep_extension;
};

struct s3m_sync_opts {
    enum s3m_sync_mode mode;
    bool dry_run;
    bool server_side; /* same endpoint and credentials */
    int transfers;
    int max_keys;
    enum s3m_compare compare;
    /* --compare MODE,tags: pairs otherwise equal have both sides' tags read and compared; a
     * difference is an update of the tags alone (PutObjectTagging) */
    bool compare_tags;
    bool no_tags; /* --no-tags: tags neither read, copied nor compared */
    const struct s3m_filter *filter;
    int64_t max_delete;    /* -1 = no cap */
    double max_delete_pct; /* < 0 = no cap */
    bool allow_empty_source;
    /* --immutable: a differing destination object is refused, never updated */
    bool immutable;
    /* --no-resume: an upload of a key left by an earlier run is never resumed (engine/resume.c) */
    bool no_resume;
    /* --backup-dir, NULL = none */
    const struct s3m_backup_cfg *backup;
    FILE *report;     /* dry-run / check lines (stdout) */
    bool report_json; /* --json: those lines as JSON objects (s3m_plan_report_json) */
    FILE *plan;       /* --plan FILE: JSON lines, or NULL */
    /* The run's delete list (an unlinked temp file, made by the first job with a deletion;
     * the caller closes it after the last job's cleanup), jobs run one after the other each
     * writing a region of it; NULL: each job has its own. */
    FILE **delete_list;
    int part_concurrency;
    size_t buffer_size;
    int attempts;
    uint64_t multipart_threshold, chunk_size; /* 0 = defaults */
    bool dst_absent; /* the destination bucket does not exist: empty listing */
    /* Key ranges listed concurrently, each merged on its own: lane i holds the keys k (relative
     * to the prefixes) with bounds[i] <= k < bounds[i + 1]; bounds[0] and bounds[nlanes] NULL
     * mean unbounded. nlanes 0: one lane, everything. */
    size_t nlanes;
    const char *const *bounds;
    bool learn;   /* sample the source keys for s3m_sync_learned_bounds */
    bool stopped; /* a signal came before the job began: it starts as if stopped
                                at once (no copies; the caller refuses its deletions) */
    /* called every progress_ms while the job runs (0 = never), for a live line or stats lines */
    uint64_t progress_ms;
    void (*progress)(const struct s3m_sync *s, void *ud);
    void *progress_ud;
    /* Ordered copies (--copy-last, --layout; engine/defer.c): a copy or update of a key in tier
     * t >= 1 waits, spooled on disk, until every transfer of the tiers before it succeeded;
     * deletions go highest tier first. NULL or no tier: none. */
    const struct s3m_tiers *tiers;
    /* --max-change N|P% (< 0 = none): every update waits for the run's decision */
    int64_t max_change;
    double max_change_pct;
    FILE **defer_list; /* the run's spool of waiting copies, as delete_list (NULL: the job's) */
    /* `apply`: the reviewed plan; an action runs only when the plan has it for the objects it
     * saw (engine/gate.c), anything else is skipped and reported; no stale-upload sweep. */
    struct s3m_planfile *gate;
    /* --cutoff-mode cautious: asked before each copy or update starts (size: its bytes); false
     * and it does not start, counted cut (st.cut) and left for the next run. NULL: all start. */
    bool (*admit)(void *ud, uint64_t size);
    void *admit_ud;
};

/* One job's phases, in order; the phase drives control and changes only in job.c's
 * set_phase(), which logs it. COPIED, DEFERRED, DELETED and DONE are resting phases: the job
 * waits for the run (its --max-change decision, its one delete decision, then the deletes,
 * then the stale-upload sweep). */
enum s3m_sync_phase {
    S3M_SYNC_LISTING,   /* listings and copies: decisions pulled while there is room */
    S3M_SYNC_DRAINING,  /* listings over (or failed, or stopped): the copies in flight end */
    S3M_SYNC_COPIED,    /* the copy phase is over: waiting for the run's --max-change decision */
    S3M_SYNC_DEFERRING, /* the waiting copies run, tier after tier (s3m_sync_deferred) */
    S3M_SYNC_DEFERRED,  /* ... and are through: waiting for the run's delete decision */
    S3M_SYNC_DELETING,  /* the delete queue runs (s3m_sync_delete) */
    S3M_SYNC_DELETED,   /* ... and is through */
    S3M_SYNC_SWEEPING,  /* the stale-upload sweep runs (s3m_sync_sweep) */
    S3M_SYNC_DONE,
};

/* A phase is over (COPIED, DELETED or DONE reached); called from the loop, never from inside
 * the call that started the phase. */
typedef void (*s3m_sync_done_cb)(struct s3m_sync *s, void *ud);

struct s3m_lanes; /* engine/lanes_int.h */
struct s3m_delq;  /* engine/delete_int.h */
struct s3m_defer; /* engine/defer_int.h */
struct s3m_sweep; /* engine/sweep_int.h */
struct s3m_timer;
struct s3m_kick;
struct s3m_backup; /* engine/backup_int.h */

#define S3M_SYNC_F_ABORTED 1u /* stopped: no new work, no deletes */
#define S3M_SYNC_F_LISTED 2u  /* every listing ended (or one failed): what the progress says */
#define S3M_SYNC_F_CUT 4u     /* cut off (--max-duration): what it did not copy is counted cut */
#define S3M_SYNC_F_SOFT                                                                            \
    8u /* ... softly: stopped, its transfers let run (s3m_sync_abort ends them) */

struct s3m_sync {
    struct s3m_sync_opts o;
    struct s3m_plan_opts po; /* what the planner looks at, from o */
    struct s3m_s3 *src, *dst;
    char *src_bucket, *src_prefix, *dst_bucket, *dst_prefix;
    const char *label;         /* "sto2:a -> osl1:b" */
    enum s3m_sync_phase phase; /* set only through set_phase (job.c) */
    unsigned flags;            /* S3M_SYNC_F_* */
    struct s3m_lanes *lanes;   /* the key ranges' listers and merges, NULL once released */
    struct s3m_sample sample;  /* of the source keys (relative), for the next run's ranges */
    struct s3m_xfer_ctx xctx;
    int active;              /* transfers and verifications in flight */
    struct s3m_delq *delq;   /* the job's deletions, remembered on disk */
    struct s3m_defer *defer; /* the copies waiting for their tier (or --max-change), on disk */
    struct s3m_sweep *sweep;
    struct s3m_backup *backup; /* --backup-dir's moves, NULL = none */
    struct s3m_sync_stats st;
    struct s3m_timer *progress_timer;
    struct s3m_kick *kick; /* calls done from the loop */
    s3m_sync_done_cb done;
    void *done_ud;
    int64_t started; /* UNIX time the job began: uploads initiated before it are stale */
    char *lo, *hi;   /* the job's key range (relative), NULL = unbounded */
};

/* After a run whose listings completed: up to want-1 source keys (relative to the prefix) that
 * split the source into parts of about equal key count, from the run's sample (sorts it); the
 * caller frees the strings and the array. 0 when the source was too small to be worth it. */
size_t s3m_sync_learned_bounds(struct s3m_sync *s, size_t want, char ***out);
/* Keys listed so far on each side, all lanes. */
void s3m_sync_listed(const struct s3m_sync *s, uint64_t *nsrc, uint64_t *ndst);
/* Bytes of copies and updates done so far, in-flight streams included. */
uint64_t s3m_sync_bytes_done(const struct s3m_sync *s);

/* Start one job's listings and copies on the client's loop; the caller runs the loop
 * (s3m_loop_run_until) until done has been called and s3m_sync_settled is true.
 * Deletions are decided and remembered, never carried out here: a run (one bucket, or every
 * bucket of a remote) makes one decision over all its jobs, then calls s3m_sync_delete. */
void s3m_sync_start(struct s3m_sync *s, const struct s3m_sync_opts *o, struct s3m_s3 *src,
                    const char *src_bucket, const char *src_prefix, struct s3m_s3 *dst,
                    const char *dst_bucket, const char *dst_prefix, const char *label,
                    s3m_sync_done_cb done, void *ud);
/* The job rests (COPIED, DELETED or DONE) and nothing it started is still out (transfer
 * context closed, listing requests back): the loop may stop, the job may be released. */
bool s3m_sync_settled(const struct s3m_sync *s);
/* The job's phase (for the notice a signal prints). */
enum s3m_sync_phase s3m_sync_phase(const struct s3m_sync *s);
/* Every listing of the job ended, or one failed (a stop leaves them unfinished). */
bool s3m_sync_listing_done(const struct s3m_sync *s);
/* The job was stopped (s3m_sync_abort, or started stopped). */
bool s3m_sync_stopped(const struct s3m_sync *s);
/* After the copy phase: true (and why) when this job's own state forbids any deletion in the
 * run: interrupted, a listing incomplete, a copy failed, an empty source, or a delete list that
 * could not be written or does not read back exactly as written (count and bytes). */
bool s3m_sync_refusal(struct s3m_sync *s, char *why, size_t n);
/* true (and why) when ndel deletions out of ndst destination objects in scope (the whole
 * run's: not excluded by a filter, this shard's own) exceed --max-delete N or P% */
bool s3m_sync_over_cap(const struct s3m_sync_opts *o, uint64_t ndel, uint64_t ndst, char *why,
                       size_t n);
/* ---- ordered copies and --max-change (engine/defer.c) ---- */

/* What --max-change counts of the job, added to the run's: its updates and deletions decided,
 * its destination objects in scope; *whole false when its listings did not complete (or it
 * was stopped): the run's count is then a lower bound. */
void s3m_sync_changes(const struct s3m_sync *s, uint64_t *nupd, uint64_t *ndel, uint64_t *ndst,
                      bool *whole);
/* After the copy phase (COPIED) and the run's --max-change decision: the job's waiting copies,
 * tier 0's held updates and then each later tier, a tier only once every transfer before it
 * succeeded. refuse_updates: no update runs, for that reason (the cap was exceeded, or could
 * not be decided); stop: none runs (a signal came). What does not run is counted held. Returns
 * false when nothing waits (done is not called; the job is DEFERRED); else done comes when
 * DEFERRED. */
bool s3m_sync_deferred(struct s3m_sync *s, const char *refuse_updates, bool stop,
                       s3m_sync_done_cb done, void *ud);
/* Copies and updates decided per tier (count and bytes), tiers 0..*ntiers; NULL without tiers. */
const struct s3m_sync_counts *s3m_sync_tier_counts(const struct s3m_sync *s, unsigned *ntiers);

/* No deletion for this job: marks it refused with why (logged). */
void s3m_sync_refuse(struct s3m_sync *s, const char *why);
/* Carry out the job's remembered deletions (sync, not a dry run, not refused); only after
 * s3m_sync_refusal returned false for every job of the run and the cap allowed them. Returns
 * false when there is nothing to do (done is not called); else done comes when DELETED. */
bool s3m_sync_delete(struct s3m_sync *s, s3m_sync_done_cb done, void *ud);
/* The stale multipart-upload sweep of the job (a dry run lists them): only after the run's
 * one decision allowed its deletions (sync, a clean copy phase, not refused, not interrupted),
 * like s3m_sync_delete, which it follows. Returns false when it does not run (done is not
 * called); else done comes when DONE. Its aborts are report / plan lines ("abort-upload"). */
bool s3m_sync_sweep(struct s3m_sync *s, s3m_sync_done_cb done, void *ud);
/* The job still has a step after its copies: deletions to run, or the sweep (what a deadline
 * could still cut off). */
bool s3m_sync_steps_left(const struct s3m_sync *s);
/* Free what the listings held (lanes, sample), keeping the counts and the delete list. */
void s3m_sync_release(struct s3m_sync *s);
void s3m_sync_cleanup(struct s3m_sync *s);
/* Stop: no new work, in-flight streams fail, multipart uploads are aborted, no deletes (a
 * running delete queue or sweep ends after the request in flight). Nothing in a resting
 * phase. The CLI calls it on SIGINT / SIGTERM. */
void s3m_sync_abort(struct s3m_sync *s);
/* The run's deadline passed (--max-duration): as s3m_sync_abort, but what it leaves is counted
 * cut (st.cut), not failed. hard: as s3m_sync_abort (transfers in flight stopped, their
 * uploads aborted); soft: no new transfer starts and those in flight finish. A delete queue or
 * sweep running stops after its request in flight, either way. Nothing in a resting phase. */
void s3m_sync_cutoff(struct s3m_sync *s, bool hard);

#endif
