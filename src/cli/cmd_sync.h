/* cmd_sync.h - what the files of the `sync`, `copy` and `check` command share (src/cli only):
 * its options (sync_opts.c), what it tells at the end of each job and of the run
 * (sync_report.c); the command and its run are cmd_sync.c. */
#ifndef S3M_CLI_CMD_SYNC_H
#define S3M_CLI_CMD_SYNC_H

#include <time.h>

#include "cli.h"
#include "s3m/sync.h"

/* Print "s3mirror: error: " and fmt (with arg) on stderr; returns S3M_EXIT_USAGE. */
int s3m__usage_error(const char *fmt, const char *arg);
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

/* Add one job's counts to the run's total t. */
void s3m__stats_add(struct s3m_sync_stats *t, const struct s3m_sync_stats *s);
/* One job's summary line (stdout; the log as well when it goes to a file). */
void s3m__summary(const struct s3m_opts *o, enum s3m_sync_mode mode, const char *label,
                  const struct s3m_sync_stats *st, double secs);
/* The exit code of a run that went to its end, from its total. */
int s3m__exit_code(const struct s3m_opts *o, enum s3m_sync_mode mode,
                   const struct s3m_sync_stats *st);
/* A job whose listing failed: one error line (stderr, and the log file). */
void s3m__listing_failed(const char *label, const struct s3m_sync_stats *st);
/* The requests each side's client made so far, retries and throttling (info log lines). */
void s3m__requests_log(const struct s3m_s3 *src, const struct s3m_s3 *dst);
/* --metrics-file for the run: its start, exit code rc and total; returns rc, or the metrics
 * file's error when rc is 0. */
int s3m__metrics_write(const struct s3m_opts *o, const char *job_src, const char *job_dst,
                       const struct timespec *t_start, int rc, const struct s3m_sync_stats *total,
                       uint64_t retries);

#endif
