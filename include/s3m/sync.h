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
#include "s3m/s3.h"
#include "s3m/xfer.h"

enum s3m_sync_mode { S3M_MODE_SYNC, S3M_MODE_COPY, S3M_MODE_CHECK };

struct s3m_sync;

struct s3m_sync_opts {
    enum s3m_sync_mode mode;
    bool dry_run;
    bool server_side;        /* same endpoint and credentials */
    int transfers;
    int max_keys;
    enum s3m_compare compare;
    const struct s3m_filter *filter;
    int64_t max_delete;      /* -1 = no cap */
    double max_delete_pct;   /* < 0 = no cap */
    bool allow_empty_source;
    FILE *report;            /* dry-run / check lines (stdout) */
    FILE *plan;              /* --plan FILE: JSON lines, or NULL */
    /* The run's delete list (an unlinked temp file, made by the first job with a deletion;
     * the caller closes it after the last job's cleanup), jobs run one after the other each
     * writing a region of it; NULL: each job has its own. */
    FILE **delete_list;
    int part_concurrency;
    size_t buffer_size;
    int attempts;
    uint64_t multipart_threshold, chunk_size; /* 0 = defaults */
    bool dst_absent;         /* the destination bucket does not exist: empty listing */
    /* Key ranges listed concurrently, each merged on its own: lane i holds the keys k (relative
     * to the prefixes) with bounds[i] <= k < bounds[i + 1]; bounds[0] and bounds[nlanes] NULL
     * mean unbounded. nlanes 0: one lane, everything. */
    size_t nlanes;
    const char *const *bounds;
    bool learn;              /* sample the source keys for s3m_sync_learned_bounds */
    bool stopped;            /* a signal came before the job began: it starts as if stopped
                                at once (no copies; the caller refuses its deletions) */
    /* called every progress_ms while the job runs (0 = never), for a live line or stats lines */
    uint64_t progress_ms;
    void (*progress)(const struct s3m_sync *s, void *ud);
    void *progress_ud;
};

struct s3m_sync_counts {
    uint64_t n, bytes;
};

struct s3m_sync_stats {
    struct s3m_sync_counts copy, update, del, skip, excluded, failed, unverified;
    struct s3m_sync_counts planned; /* copies and updates decided so far */
    uint64_t deleted, deleted_bytes; /* deletions done (del counts those decided) */
    uint64_t stale_uploads;         /* multipart uploads left by earlier runs, aborted */
    uint64_t src_keys, dst_keys;
    uint64_t src_scope, dst_scope;  /* ... of them in scope: not excluded, this shard's own */
    uint64_t delete_errors;
    bool listing_failed, delete_refused;
    bool delete_list_failed;        /* the delete list could not be written or read back */
    char refused_why[512];
    struct s3m_errinfo first_error; /* what went wrong first, for the summary and exit code */
};

struct s3m_sync_lane {
    struct s3m_lister lsrc, ldst;
    struct s3m_diff diff;
    bool done;
    int verifies;                     /* --compare checksum reads still out */
    FILE *spill_report, *spill_plan;  /* its lines, until the lanes before it are through */
};

struct s3m_sync {
    struct s3m_sync_opts o;
    struct s3m_s3 *src, *dst;
    char *src_bucket, *src_prefix, *dst_bucket, *dst_prefix;
    const char *label; /* "sto2:a -> osl1:b" */
    struct s3m_sync_lane *lanes;
    size_t nlanes, lane_next, lanes_done;
    size_t cur_lane;  /* the lane whose decision is being handled */
    struct s3m_sample sample; /* of the source keys (relative), for the next run's ranges */
    size_t emit_lane; /* lanes before it are reported; its lines go straight out */
    struct s3m_xfer_ctx xctx;
    int active;
    bool listing_done, finished, deleting, aborted;
    bool del_phase;    /* s3m_sync_delete is running (the copy phase is closed) */
    FILE *deletes; /* keys to delete, NUL-terminated, in an unlinked temp file */
    bool own_deletes;       /* ... its own (no o.delete_list): closed with the job */
    off_t del_start, del_end; /* the job's region of it */
    uint64_t pending_deletes, pending_delete_bytes; /* entries written to it */
    struct s3m_sync_stats st;
    struct s3m_s3_req *del_req;
    uv_signal_t sigint, sigterm;
    uv_timer_t progress_timer;
    int signal;        /* the first SIGINT/SIGTERM received, 0 = none */
    int handles_open;  /* signal handles still to be closed */
    char **del_batch;
    uint64_t *del_sizes; /* of each key of del_batch */
    bool *del_failed;    /* ... and whether the server said it could not delete it */
    size_t del_n;
    int64_t started;   /* UNIX time the job began: uploads initiated before it are stale */
    bool swept;        /* the stale-upload sweep ran */
    bool sweeping;     /* ... and is running */
    char *sweep_key_marker, *sweep_id_marker;
    char *sweep_lo, *sweep_hi; /* the job's key range (relative), NULL = unbounded */
    struct s3m_s3_req *sweep_list;
    size_t sweep_next; /* next upload of sweep_list to look at */
};

/* After a run whose listings completed: up to want-1 source keys (relative to the prefix) that
 * split the source into parts of about equal key count, from the run's sample (sorts it); the
 * caller frees the strings and the array. 0 when the source was too small to be worth it. */
size_t s3m_sync_learned_bounds(struct s3m_sync *s, size_t want, char ***out);
/* Keys listed so far on each side, all lanes. */
void s3m_sync_listed(const struct s3m_sync *s, uint64_t *nsrc, uint64_t *ndst);
/* Bytes of copies and updates done so far, in-flight streams included. */
uint64_t s3m_sync_bytes_done(const struct s3m_sync *s);

/* Run one job's listings and copies to the end on the client's loop.
 * Deletions are decided and remembered, never carried out here: a run (one bucket, or every
 * bucket of a remote) makes one decision over all its jobs, then calls s3m_sync_delete. */
void s3m_sync_run(struct s3m_sync *s, const struct s3m_sync_opts *o, struct s3m_s3 *src,
                  const char *src_bucket, const char *src_prefix, struct s3m_s3 *dst,
                  const char *dst_bucket, const char *dst_prefix, const char *label);
/* After s3m_sync_run: true (and why) when this job's own state forbids any deletion in the
 * run: interrupted, a listing incomplete, a copy failed, an empty source, or a delete list that
 * could not be written or does not read back exactly as written (count and bytes). */
bool s3m_sync_refusal(struct s3m_sync *s, char *why, size_t n);
/* true (and why) when ndel deletions out of ndst destination objects in scope (the whole
 * run's: not excluded by a filter, this shard's own) exceed --max-delete N or P% */
bool s3m_sync_over_cap(const struct s3m_sync_opts *o, uint64_t ndel, uint64_t ndst, char *why,
                       size_t n);
/* No deletion for this job: marks it refused with why (logged). */
void s3m_sync_refuse(struct s3m_sync *s, const char *why);
/* Carry out the job's remembered deletions (sync, not a dry run, not refused); only after
 * s3m_sync_refusal returned false for every job of the run and the cap allowed them. */
void s3m_sync_delete(struct s3m_sync *s);
/* The stale multipart-upload sweep of the job (a dry run lists them): only after the run's
 * one decision allowed its deletions (sync, a clean copy phase, not refused, not interrupted),
 * like s3m_sync_delete, which it follows. */
void s3m_sync_sweep(struct s3m_sync *s);
/* Free what the listings held (lanes, sample), keeping the counts and the delete list. */
void s3m_sync_release(struct s3m_sync *s);
void s3m_sync_cleanup(struct s3m_sync *s);
/* Stop: no new work, in-flight streams fail, multipart uploads are aborted, no deletes.
 * SIGINT and SIGTERM do this; a second signal exits at once. */
void s3m_sync_abort(struct s3m_sync *s);

#endif
