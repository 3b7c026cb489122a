/* cmd_sync.h - what the files of the `sync`, `copy` and `check` command share (src/cli only):
 * its options (sync_opts.c), what it tells at the end of each job and of the run
 * (sync_report.c); the command and its run are cmd_sync.c. */
#ifndef S3M_CLI_CMD_SYNC_H
#define S3M_CLI_CMD_SYNC_H

#include <time.h>

#include "cli.h"
#include "s3m/sync.h"
#include "s3m/tiers.h"

/* Print "s3mirror: error: " and fmt (with arg) on stderr; returns S3M_EXIT_USAGE. */
int s3m__usage_error(const char *fmt, const char *arg);
/* A warning when --buffer-size and --max-buffer-memory let only one large stream run at a time
 * (after the budget is set: s3m_env_init). */
void s3m__buffer_warn(const struct s3m_opts *o, const struct s3m_sync_opts *so);
/* Options -> filter (initialised here, the caller cleans it up) and job options (mode, sizes,
 * compare, --max-delete...); returns an exit code, 0 = ok, after printing the error. */
int s3m__sync_opts_build(struct s3m_opts *o, enum s3m_sync_mode mode, struct s3m_filter *f,
                         struct s3m_sync_opts *so);
/* REMOTE:BUCKET[/FOLDER] as the job is known to its lock and metrics (out, n bytes). */
void s3m__job_name(const struct s3m_spec *sp, char *out, size_t n);
/* --backup-dir and --suffix: the place parsed into bk (cleaned up by the caller) and cfg
 * (pointing into bk); usage errors for --suffix alone, no bucket, DST a whole remote. Returns
 * an exit code. */
int s3m__backup_parse(const struct s3m_opts *o, const struct s3m_spec *d, struct s3m_spec *bk,
                      struct s3m_backup_cfg *cfg);
/* rclone's checks, before anything runs: the backup on the destination's remote (the same
 * endpoint and credentials), not overlapping the destination (nor the source on the same
 * endpoint) unless a filter excludes it inside (usage errors), and its bucket there (HEAD on
 * dst, the destination's client: the same place). Returns an exit code or 0. */
int s3m__backup_check(const struct s3m_config *cfg, struct s3m_s3 *dst, const struct s3m_spec *s,
                      const struct s3m_spec *d, bool src_same_place, const struct s3m_spec *bk,
                      const struct s3m_filter *f);
/* The two clients reach the same endpoint: copies can be server-side. */
bool s3m__same_place(struct s3m_s3 *a, struct s3m_s3 *b);

/* One bucket: sync and copy create a missing destination bucket (a dry run says it would;
 * check creates nothing; either then compares against an empty listing: so->dst_absent), once
 * the source bucket is known to exist. Returns an exit code (after the error line). */
int s3m__ensure_dst_bucket(struct s3m_s3 *src, struct s3m_s3 *dst, const struct s3m_spec *s,
                           const struct s3m_spec *d, struct s3m_sync_opts *so);

/* Add one job's counts to the run's total t. */
void s3m__stats_add(struct s3m_sync_stats *t, const struct s3m_sync_stats *s);
/* One job's summary line (stdout; the log as well when it goes to a file), also appended to
 * lines (the run's, for --notify-url). */
void s3m__summary(const struct s3m_opts *o, enum s3m_sync_mode mode, const char *label,
                  const struct s3m_sync_stats *st, double secs, struct s3m_buf *lines);
/* --json: one job's summary as a JSON object (summary_json.c), into b. */
void s3m__summary_json(struct s3m_buf *b, const struct s3m_opts *o, enum s3m_sync_mode mode,
                       const char *label, const struct s3m_sync_stats *st, double secs);
/* The exit code of the failures in a total (a listing, copies, deletions), 0 when none. */
int s3m__exit_failed(const struct s3m_sync_stats *st);
/* The exit code of a run that went to its end, from its total. */
int s3m__exit_code(const struct s3m_opts *o, enum s3m_sync_mode mode,
                   const struct s3m_sync_stats *st);
/* A job whose listing failed: one error line (stderr, and the log file). */
void s3m__listing_failed(const char *label, const struct s3m_sync_stats *st);
/* The requests each side's client made so far, retries and throttling (info log lines). */
void s3m__requests_log(const struct s3m_s3 *src, const struct s3m_s3 *dst);
/* The requests both endpoints were sent so far (ep: source, destination). */
uint64_t s3m__requests_total(const struct s3m_s3_stats *ep[2]);
/* --metrics-file and --metrics-push for the run: its start, exit code rc and total; returns rc,
 * or the metrics file's error when rc is 0 (a push never changes it). */
int s3m__metrics_write(const struct s3m_opts *o, enum s3m_sync_mode mode, const char *job_src,
                       const char *job_dst, const struct timespec *t_start, int rc,
                       const struct s3m_sync_stats *total, const struct s3m_s3_stats *ep[2]);
/* --json: what the whole run cost each endpoint (ep: source, destination) as one object of type
 * stats on stdout: requests by type, retries, bytes, connections and TLS handshakes. */
void s3m__stats_json(const struct s3m_s3_stats *ep[2]);
/* A dry run's "create bucket REMOTE:BUCKET (not on destination)" line, or under --json its
 * object {"type":"action","action":"create-bucket","remote":..,"bucket":..}. */
void s3m__create_bucket_line(bool json, const char *remote, const char *bucket);

/* ---- a job's key ranges (sync_lanes.c) ---- */
struct s3m__lanes_ctx {
    const struct s3m_opts *o;
    struct s3m_s3 *src;
    const struct s3m_bounds *plan;     /* --shard-boundaries, or NULL */
    uint32_t shard_index, shard_count; /* --shard; count 0 = none */
    bool (*stop)(void *ud);            /* a signal or the deadline: discovery ends */
    void *stop_ud;
};
/* The key ranges of one job: this shard's range of the plan (or everything), cut further so
 * that --list-concurrency ranges are listed at once. bounds gets nlanes + 1 entries: [0] and
 * [nlanes] may be NULL (unbounded); found holds the keys they point to, cache the path of the
 * cache file to leave what the job learned in (NULL: none). Returns nlanes. */
size_t s3m__job_lanes(const struct s3m__lanes_ctx *r, const struct s3m_spec *spec, const char *sb,
                      const char ***bounds, struct s3m_bounds *found, char **cache);
/* What the job learned of the source's keys (boundaries, how many), for the next run. */
void s3m__lanes_save(const struct s3m__lanes_ctx *r, struct s3m_sync *job, const char *cache);

/* ---- ordered copies and --max-change (sync_order.c) ---- */

/* The run's ordering: the tiers of --layout NAME, then one per --copy-last GLOB. */
struct s3m_order {
    struct s3m_tiers tiers;
    bool autodetect; /* --layout auto: each job's own, from its source (s3m__order_job) */
    const struct s3m_cli_list *copy_last;
};
/* From the options (a preset's excludes go first in f); an exit code, 0 = ok, after printing
 * the error. */
int s3m__order_init(struct s3m_order *ord, const struct s3m_opts *o, struct s3m_filter *f);
void s3m__order_cleanup(struct s3m_order *ord);
/* What a job of --layout auto holds: its tiers, and the run's filter with its preset's
 * excludes. */
struct s3m_job_order {
    struct s3m_tiers tiers;
    struct s3m_filter filter;
};
/* Where a job's source is, and the job's label. */
struct s3m_job_place {
    struct s3m_s3 *src;
    const char *remote, *bucket, *prefix, *label;
    bool (*stop)(void *ud); /* a signal or the deadline: the detection's listing ends */
    void *stop_ud;
};
/* The job's tiers and filter into so: the run's (base), or with --layout auto those of the
 * preset one delimiter listing of the source folder shows (said on stdout and in the log); *jo
 * what the job holds until its cleanup (NULL: nothing). false when that listing failed: said
 * (an error line) and noted in the run's total (a failed listing). */
bool s3m__order_job(const struct s3m_order *ord, const struct s3m_filter *base,
                    const struct s3m_job_place *jp, struct s3m_sync_opts *so,
                    struct s3m_job_order **jo, struct s3m_sync_stats *total);
void s3m__job_order_free(struct s3m_job_order *jo);
/* What --max-change counts over the run (s3m_sync_changes of every job). */
struct s3m_change {
    uint64_t nupd, ndel, ndst;
    bool whole; /* every listing completed, nothing stopped */
};
/* The run's decision: NULL (updates may run), or why no update runs (why, n bytes); *over when
 * the cap was exceeded (exit 12; the deletions are refused too). Logged. */
const char *s3m__change_decide(const struct s3m_sync_opts *so, const struct s3m_change *c,
                               char *why, size_t n, bool *over);
/* The job's copies and updates per tier (a dry run: stdout; else an info log line). */
void s3m__tiers_report(const struct s3m_opts *o, const char *label, const struct s3m_sync *job);

/* ---- --max-duration and --cutoff-mode (cutoff.c) ---- */
enum s3m_cutoff_mode { S3M_CUTOFF_HARD, S3M_CUTOFF_SOFT, S3M_CUTOFF_CAUTIOUS };
struct s3m_cutoff {
    double limit_s; /* --max-duration, 0 = none */
    enum s3m_cutoff_mode mode;
    double t0;         /* the run's start (CLOCK_MONOTONIC, seconds) */
    double first_xfer; /* when the first transfer was admitted (< 0: none yet) */
    struct s3m_timer *timer;
    bool reached; /* the deadline passed */
    bool cut;     /* the run is cut off: the deadline passed, or cautious left a transfer */
    uint64_t buckets_left; /* a whole remote's buckets not started */
};
/* The options; the run's clock starts here. Returns an exit code after the error line. */
int s3m__cutoff_parse(struct s3m_cutoff *c, const struct s3m_opts *o);
/* The deadline's timer on the run's loop (nothing without --max-duration): cb(ud) fires it. */
void s3m__cutoff_arm(struct s3m_cutoff *c, struct s3m_loop *loop, void (*cb)(void *ud), void *ud);
/* The deadline gone (no step left that it could cut): its timer freed, never due again. */
void s3m__cutoff_cleanup(struct s3m_cutoff *c);
/* The deadline passed (the clock, between loop runs) and the run is not yet cut off by it. */
bool s3m__cutoff_due(const struct s3m_cutoff *c);
/* The run is cut off now: noted, and the notice logged (where: "during ..." or NULL). */
void s3m__cutoff_notice(struct s3m_cutoff *c, const char *where);
/* --cutoff-mode cautious: may a transfer of size bytes start, the run having moved
 * bytes_moved so far? false marks the run cut off. */
bool s3m__cutoff_admit(struct s3m_cutoff *c, uint64_t bytes_moved, uint64_t size);
/* The run's exit code: a real failure's code wins over a cut-off's 15. */
int s3m__cutoff_exit(const struct s3m_cutoff *c, const struct s3m_opts *o, enum s3m_sync_mode mode,
                     const struct s3m_sync_stats *total);
/* A whole remote's buckets the cut-off left unstarted (stdout, and the log file). */
void s3m__cutoff_buckets(const struct s3m_cutoff *c, const struct s3m_opts *o, const char *remote);
/* A cut-off job's summary line: what it left (sync_report.c's summary); copies: the run copies
 * (not a dry run nor a check), so it says what it left not copied. */
void s3m__cutoff_summary(struct s3m_buf *l, const struct s3m_opts *o, bool copies,
                         const struct s3m_sync_stats *st);

/* SIGINT / SIGTERM came (name): the notice for where the run is */
void s3m__stop_notice(const struct s3m_sync *cur, bool in_job, const char *name);

#endif
