/* s3m/plan.h - the planner: what a sync, copy or check does with one key, and why. Pure code
 * (no I/O of its own: the lines are written to a FILE the caller owns).
 *
 * A diff item (s3m/diff.h) and the job's options give an action record; the counters of a job
 * and their updates; the safety rules that decide whether a run may delete (the refusal from a
 * job's own state, --max-delete over the whole run); the text lines of the dry-run / check
 * report and the JSON lines of --plan. The engine executes the actions (engine/job.c). */
#ifndef S3M_PLAN_H
#define S3M_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "s3m/diff.h"
#include "s3m/err.h"

enum s3m_sync_mode { S3M_MODE_SYNC, S3M_MODE_COPY, S3M_MODE_CHECK };

struct s3m_sync_counts {
    uint64_t n, bytes;
};

struct s3m_sync_stats {
    struct s3m_sync_counts copy, update, del, skip, excluded, failed, unverified;
    struct s3m_sync_counts planned;          /* copies and updates decided so far */
    uint64_t deleted, deleted_bytes;         /* deletions done (del counts those decided) */
    uint64_t stale_uploads;                  /* multipart uploads left by earlier runs, aborted */
    uint64_t resumed_uploads, resumed_parts; /* ... resumed, and their parts not sent again */
    uint64_t dropped_uploads; /* ... of keys copied, aborted by the copy (not resumable) */
    uint64_t src_keys, dst_keys;
    uint64_t src_scope, dst_scope; /* ... of them in scope: not excluded, this shard's own */
    uint64_t delete_errors;
    /* --immutable: updates refused (differing destination objects, never changed) */
    struct s3m_sync_counts immutable;
    uint64_t backed_up, backed_up_bytes; /* --backup-dir: old versions moved there */
    bool listing_failed, delete_refused;
    bool delete_list_failed; /* the delete list could not be written or read back */
    char refused_why[512];
    /* ordered copies (--copy-last, --layout) and --max-change: copies and updates not done
     * because their tier never started (an earlier tier failed, a stop) or --max-change
     * refused the updates; held_why says why (the first reason) */
    struct s3m_sync_counts held;
    bool change_refused; /* --max-change exceeded: updates and deletions refused (exit 12) */
    char held_why[256];
    /* --max-duration: copies and updates decided but not done because the run was cut off
     * (stopped in flight, or not started: after the deadline, or --cutoff-mode cautious) */
    struct s3m_sync_counts cut;
    bool cut_off;      /* the job was cut off (its deadline, or cautious left a transfer) */
    bool cut_unlisted; /* ... before its listings completed: more may be left than counted */
    struct s3m_errinfo first_error; /* what went wrong first, for the summary and exit code */
};

/* What the planner looks at. */
struct s3m_plan_opts {
    enum s3m_sync_mode mode;
    bool dry_run;
    bool allow_empty_source;
    int64_t max_delete;    /* -1 = no cap */
    double max_delete_pct; /* < 0 = no cap */
    bool immutable;        /* --immutable: an update becomes a refusal (sync, copy) */
};

/* What to do with one key. */
enum s3m_plan_act {
    S3M_PLAN_NONE,         /* nothing to say (copy's extra destination object: a plain skip) */
    S3M_PLAN_COPY,         /* only on the source */
    S3M_PLAN_UPDATE,       /* on both sides, different */
    S3M_PLAN_DELETE,       /* only on the destination (sync, check) */
    S3M_PLAN_SKIP,         /* the same on both sides */
    S3M_PLAN_EXCLUDE,      /* a filter or another shard's: left alone on both sides */
    S3M_PLAN_UNVERIFIABLE, /* skipped, equality resting on size and time only */
    S3M_PLAN_VERIFY,       /* the engine reads (or HEADs) to settle it: then update or skip */
    S3M_PLAN_FOLDER,       /* the prefix's own folder marker: skipped, never copied/deleted */
    S3M_PLAN_ABORT_UPLOAD, /* a multipart upload left by an earlier run (the sweep) */
    S3M_PLAN_REFUSE,       /* an update --immutable forbids: an error naming the key */
};

/* What the listings showed of the two objects an action is about, recorded in the plan so that
 * `apply` acts only on what the plan saw (core/planfile.c): the source's ETag (copy, update),
 * the destination's ETag and size (update, delete); NULL / 0 where a side has no object. */
struct s3m_plan_seen {
    const char *src_etag, *dst_etag;
    uint64_t dst_size;
};

/* An action record: the action, the key (relative to the side's prefix: the destination's for a
 * delete and a folder marker found there, else the source's), its size and the reason. */
struct s3m_plan_action {
    enum s3m_plan_act act;
    bool dst_side; /* the key is the destination's */
    bool execute;  /* copy / update: start a transfer; delete: remember it (a real sync) */
    bool verified; /* decided by a --compare verification, not by the listing */
    unsigned tier; /* ordered copies: 0 = the data, copied first; n waits for tier n-1 */
    const char *key;
    uint64_t size;
    const char *why;
    struct s3m_plan_seen seen;
};

/* Decide what the job does with a diff item. The record points into the item. */
void s3m_plan_decide(const struct s3m_plan_opts *o, const struct s3m_diff_item *it,
                     struct s3m_plan_action *a);
/* The action after a --compare verification: an update (differ) or a skip; why from head (one
 * HEAD of the destination settled it) or from reading both. */
void s3m_plan_verified(const struct s3m_plan_opts *o, bool differ, bool head, const char *key,
                       uint64_t size, struct s3m_plan_action *a);
/* The action after a --compare MODE,tags check of a pair otherwise equal: an update with the
 * reason "tags" (differ: the tags alone are written, no data copied), else a skip, or the
 * unverifiable skip it was (unverified_why, its reason; NULL: a plain skip). */
void s3m_plan_tags(const struct s3m_plan_opts *o, bool differ, const char *unverified_why,
                   const char *key, uint64_t size, struct s3m_plan_action *a);
/* The reason of a folder-marker line: "source folder marker BUCKET/PREFIX: WHY". */
void s3m_plan_folder_why(char *out, size_t n, bool dst_side, const char *bucket, const char *prefix,
                         const char *why);

/* ---- counters ---- */

/* Count an action when it is decided (a transfer started counts when it ends). */
void s3m_plan_count(const struct s3m_plan_opts *o, struct s3m_sync_stats *st,
                    const struct s3m_plan_action *a);
/* Count a transfer that ended: copied or updated (ok), or failed. */
void s3m_plan_count_transfer(struct s3m_sync_stats *st, enum s3m_plan_act act, uint64_t size,
                             bool ok);
/* Keep the first error of the job (the summary and exit code say it). */
void s3m_plan_note_error(struct s3m_sync_stats *st, const struct s3m_errinfo *ei);

/* ---- the safety rules ---- */

/* The state of one job after its copies, as the refusal looks at it. */
struct s3m_plan_job {
    bool interrupted;
    bool listing_failed;
    uint64_t failed; /* objects that failed to copy or compare */
    bool delete_list_failed;
    uint64_t src_scope, dst_scope;
    uint64_t immutable; /* updates refused by --immutable */
};
/* true (and why) when the job's own state forbids every deletion of the run: interrupted, a
 * listing incomplete, a copy failed, an update refused by --immutable, the delete list broken,
 * or an empty source in scope while
 * the destination holds objects in scope (unless allow_empty_source). The engine checks the
 * delete list on disk after this. */
bool s3m_plan_refusal(const struct s3m_plan_opts *o, const struct s3m_plan_job *j, char *why,
                      size_t n);
/* true (and why) when ndel deletions of ndst destination objects in the run's scope exceed
 * --max-delete N or P%. */
bool s3m_plan_over_cap(const struct s3m_plan_opts *o, uint64_t ndel, uint64_t ndst, char *why,
                       size_t n);
/* true (and why) when nupd updates plus ndel deletions of ndst destination objects in the run's
 * scope exceed --max-change max (a count, < 0 = none) or pct (a percentage, < 0 = none). */
bool s3m_plan_over_change(int64_t max, double pct, uint64_t nupd, uint64_t ndel, uint64_t ndst,
                          char *why, size_t n);

/* ---- report and plan lines ---- */

/* Where a decided action is written at once (a real sync's deletes and aborts are written to
 * the plan when done, never at the decision). */
#define S3M_PLAN_OUT_PLAN 1u
#define S3M_PLAN_OUT_REPORT 2u
unsigned s3m_plan_outputs(const struct s3m_plan_opts *o, enum s3m_plan_act act);

/* One line: bucket is the side's bucket. */
struct s3m_plan_line {
    enum s3m_plan_act act;
    const char *bucket, *key;
    uint64_t size;
    const char *why;
    unsigned tier; /* ordered copies: > 0 is said in the line ("tier":N, "(why; tier N)") */
};
/* The --plan JSON line: {"action":..,"bucket":..,"key":..,"size":..,"why":..[,"tier":N]}. */
void s3m_plan_json(FILE *f, const struct s3m_plan_line *l);
/* The same with what the plan saw (seen may be NULL): "src_etag" for copy and update,
 * "dst_etag" for update and delete, "dst_size" for update, between "size" and "why". */
void s3m_plan_json_seen(FILE *f, const struct s3m_plan_line *l, const struct s3m_plan_seen *seen);
/* The dry-run / check report line (check names the differences, not the actions); control
 * bytes of the key are written as \xNN. */
void s3m_plan_text(FILE *f, enum s3m_sync_mode mode, const struct s3m_plan_line *l);
/* The same line under --json: {"type":"action","action":..} (check: {"type":"difference",
 * "difference":"only on source"|"differs"|"only on destination"|"unverified"}), then the
 * fields of the --plan line from "bucket" on. */
void s3m_plan_report_json(FILE *f, enum s3m_sync_mode mode, const struct s3m_plan_line *l);
/* A key as the text lines write it: control bytes as \xNN. */
void s3m_plan_key_text(FILE *f, const char *k);
/* The action's name in the plan ("copy", "update", "delete", "skip", "abort-upload",
 * "refuse"). */
const char *s3m_plan_act_name(enum s3m_plan_act act);

/* ---- --backup-dir naming ---- */

/* The key an object's old version gets in the backup (--backup-dir, rclone's rule): prefix +
 * rel (the key relative to the destination's prefix) + suffix; with keep_ext the suffix goes
 * before the extension of the last path element ("a/file.txt" -> "a/file-SUFFIX.txt") and
 * before a second extension too when it is a known type ("x.tar.gz" -> "x-SUFFIX.tar.gz"), as
 * Go's path.Ext sees them (".profile" is an extension). Returns a malloc'd string. */
char *s3m_plan_backup_key(const char *prefix, const char *rel, const char *suffix, bool keep_ext);

#endif
