/* sync_run.h - the run of `sync`, `copy` and `check` as cmd_sync.c and sync_signals.c share it
 * (src/cli only): its jobs, its state, and its watchers of signals and of the deadline. */
#ifndef S3M_CLI_SYNC_RUN_H
#define S3M_CLI_SYNC_RUN_H

#include <stdio.h>

#include "cmd_sync.h"

/* one job of the run, kept (its listings released) from its copy phase to its delete phase */
struct pair {
    struct s3m_sync job;
    char label[1024];
    double secs;
    bool phase_done;           /* the job's done callback came (the phase it was in is over) */
    struct s3m_job_order *ord; /* --layout auto: the job's tiers and filter */
    struct pair *next;
};

struct run {
    struct s3m_opts *o;
    const char *cmd, *src_arg, *dst_arg; /* as given: the plan's header names them */
    struct s3m_sync_opts so;
    struct s3m_s3 *src, *dst; /* &cs, &cd once each client is set up */
    struct s3m_sync_stats total;
    int signal;
    struct s3m_progress progress;
    uint32_t shard_index, shard_count; /* --shard; count 0 = none */
    bool have_plan;                    /* --shard-boundaries */
    struct s3m_bounds plan;
    struct pair *pairs, **tail; /* the jobs run so far, waiting for the delete decision */
    /* SIGINT and SIGTERM for the whole run: while a job runs and between its phases (the
     * copies done, the decision, between buckets) */
    struct s3m_signal *sig[2];
    bool in_job;
    struct s3m_sync *cur; /* the job running (copies, deletes, sweep), for run_on_signal */
    FILE *delete_list;    /* every job's deletions, one region each: one descriptor */
    FILE *defer_list;     /* ... and their waiting copies (ordered copies, --max-change) */
    struct s3m_order order;
    const char *refuse; /* the run failed besides its jobs: no deletion */
    bool change_over;   /* --max-change exceeded: updates and deletions refused */
    char change_why[600];
    /* the command's own resources, released at its one exit (sync_close) */
    struct s3m_spec s, d, bk; /* bk: --backup-dir, described by bcfg */
    struct s3m_backup_cfg bcfg;
    struct s3m_filter f;
    struct s3m_env env;
    struct s3m_s3 cs, cd;
    char job_src[2048], job_dst[2048]; /* the job's names for its lock and metrics */
    int lock_fd;
    struct timespec t_start;
    bool write_metrics;
    uint64_t logged_requests; /* the requests the last -v stats lines counted */
    bool notify;              /* --notify-url pings this run (not a dry run) */
    struct s3m_buf lines;     /* the jobs' summary lines: the end ping's body */
    struct s3m_cutoff cut;    /* --max-duration, --cutoff-mode */
};

/* no further work: a signal came, or the deadline passed */
bool s3m__run_halted(const struct run *r);
/* --max-duration's timer fired (ud: the run) */
void s3m__run_on_deadline(void *ud);
/* --cutoff-mode cautious: whether an object of size may start (ud: the run) */
bool s3m__run_admit(void *ud, uint64_t size);
/* SIGINT and SIGTERM watched on the run's loop, from before the start ping to the report */
void s3m__run_signals_start(struct run *r);
/* A signal that came while no loop ran, or a deadline passed then: take it now. */
void s3m__run_signals_poll(struct run *r);
void s3m__run_signals_stop(struct run *r);
/* After the run, while the push and the end ping wait: a plain handler (second signal exits). */
void s3m__run_signals_late(struct run *r);
/* Test hooks at a named point of the run (no loop runs there): S3MIRROR_TEST_RAISE=point
 * raises SIGTERM, S3MIRROR_TEST_HOLD=point:SECONDS sleeps (a slow stdout, a paused process). */
void s3m__run_test_point(const char *point);

#endif
