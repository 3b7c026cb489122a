/* cli.h - shared declarations of the command-line front end (src/cli only). */
#ifndef S3M_CLI_H
#define S3M_CLI_H

/* --transfers' default: objects in flight. Small objects are bound by round trips: at 20 ms on a
 * quiet machine, 64 made a first sync of 10,000 x 4 KiB 1.54x rclone --transfers 64 --checkers
 * 64 (3 requests per object to our 2, as many in flight); 128, the requests rclone tuned has in
 * flight (64 + 64), made it 2.9x and 1.17x its latency bound (docs/benchmarks.md). The streams
 * of large objects share --max-buffer-memory, which keeps their memory bounded at any count. */
#define S3M_DEFAULT_TRANSFERS 128

#include <stdbool.h>
#include <stdint.h>

#include "s3m/config.h"
#include "s3m/err.h"
#include "s3m/loop.h"
#include "s3m/ranges.h"
#include "s3m/s3.h"

/* rclone-compatible exit codes where they overlap */
enum s3m_exit {
    S3M_EXIT_OK = 0,
    S3M_EXIT_USAGE = 1,      /* syntax, usage or configuration error */
    S3M_EXIT_ERROR = 2,      /* other error */
    S3M_EXIT_NOTFOUND = 3,   /* bucket not found */
    S3M_EXIT_TEMPORARY = 5,  /* temporary error (network, throttling): retrying later may work */
    S3M_EXIT_PARTIAL = 6,    /* less serious errors: some objects failed */
    S3M_EXIT_FATAL = 7,      /* fatal error: access denied, TLS failure */
    S3M_EXIT_NOTRANSFER = 9, /* nothing transferred, with --error-on-no-transfer */
    S3M_EXIT_DIFFERS = 10,   /* check: the two sides differ */
    S3M_EXIT_LOCKED = 11,    /* another run of the same job holds the lock */
    S3M_EXIT_CHANGE = 12,    /* --max-change exceeded: updates and deletions refused */
    S3M_EXIT_IMMUTABLE = 13, /* --immutable: a destination object would have been changed */
    S3M_EXIT_CHANGED = 14,   /* apply: planned actions skipped, the world changed since the plan */
    S3M_EXIT_CUTOFF = 15,    /* --max-duration reached: the run was cut off, nothing deleted */
};

struct s3m_opts {
    const char *config;
    const char *log_level;
    const char *log_format;
    const char *log_file;
    const char *stats;
    bool progress, no_progress;
    const char *output;
    const char *shard, *shard_boundaries;
    long list_concurrency;
    const char *ca_file;
    int verbose, quiet;
    bool json, dry_run, help, version;
    long connections;
    long transfers;
    long attempts;
    long contimeout_s, timeout_s;
    int max_keys;
    /* sync, copy, check */
    const char *compare, *min_size, *max_size, *min_age, *max_age, *max_delete, *plan;
    const char *lock_file, *metrics_file;
    const char *metrics_push, *notify_url; /* --metrics-push, --notify-url (monitor.c) */
    bool no_lock;
    const char *multipart_chunk_buffer, *multipart_threshold, *multipart_chunk_size;
    const char *max_buffer_memory; /* --max-buffer-memory */
    bool allow_empty_source, error_on_no_transfer, no_server_side;
    const char *backup_dir, *suffix; /* --backup-dir, --suffix */
    bool suffix_keep_extension, immutable;
    bool no_resume; /* --no-resume */
    bool no_tags;   /* --no-tags */
    long multipart_concurrency, retries;
    struct s3m_cli_rule {
        bool include;
        const char *glob;
    } rules[64];
    int nrules;
    /* ordered copies and the change guard: --copy-last (each a tier), --layout, --max-change */
    struct s3m_cli_list {
        const char *v[64];
        int n;
    } copy_last;
    const char *layout, *max_change;
    const char *max_duration, *cutoff_mode; /* --max-duration D, --cutoff-mode (cli/cutoff.c) */
    /* --bwlimit, --bwlimit-tz, --tpslimit, --tpslimit-burst (limits.c) */
    const char *bwlimit, *bwlimit_tz, *tpslimit, *tpslimit_burst;
    /* the options given that shape what a run does (not how it goes, nor what it tells), in
     * order, as "--name" or "--name=value": a plan's header records them, and `apply` takes
     * them from the plan only (options.c: runtime_only). Freed by s3m_cli_opts_cleanup. */
    char **plan_args;
    int nplan_args;
    struct s3m_planfile *gate; /* apply: the plan every decision must pass (engine/gate.c) */
};

/* Parse options (anywhere on the line) and collect positional args. Returns exit code or -1. */
int s3m_cli_parse(int argc, char **argv, struct s3m_opts *o, char ***args, int *nargs);
void s3m_cli_usage(FILE *out);
/* Free what s3m_cli_parse allocated in o (plan_args). */
void s3m_cli_opts_cleanup(struct s3m_opts *o);
/* Print the bash or zsh completion script (from the option table); returns an exit code. */
int s3m_cli_completion(FILE *out, const char *shell);
/* The values a shell may complete for option name (space-separated), NULL: free-form. */
const char *s3m_cli_opt_values(const char *name);
int s3m_cli_exit_code(enum s3m_err err);
/* Same, from the details: S3 errors worth a retry (5xx, SlowDown...) are temporary (5). */
int s3m_cli_exit_code_ei(const struct s3m_errinfo *ei);
/* Print "s3mirror: error: <context>: <details>" on stderr and log it; returns the exit code. */
int s3m_cli_fail(const char *context, const struct s3m_errinfo *ei);

/* The process-wide environment of a command: config, loop, clients. */
struct s3m_env {
    struct s3m_opts *o;
    struct s3m_config cfg;
    struct s3m_loop loop;
    bool loop_ready;
    double tps;    /* --tpslimit per endpoint (0: none) */
    int tps_burst; /* --tpslimit-burst */
};
/* --bwlimit and --tpslimit: checked (a usage error after a one-line message: exit code), then
 * the bandwidth limit set on e's loop and the request limit kept for its clients (limits.c). */
int s3m_cli_limits_check(struct s3m_env *e);
void s3m_cli_limits_start(struct s3m_env *e);
int s3m_env_init(struct s3m_env *e, struct s3m_opts *o);
/* The log as o asks (--log-level, -v/-q, --log-format, --log-file); s3m_env_init does it, and
 * apply before and after its run. Returns an exit code after a one-line message. */
int s3m_cli_log_setup(struct s3m_opts *o);
void s3m_env_cleanup(struct s3m_env *e);
/* Set up a client for a remote by name; returns an exit code (0 = ok). */
int s3m_env_client(struct s3m_env *e, const char *remote, struct s3m_s3 *c);

/* --transfers as the run uses it: the option, or S3M_DEFAULT_TRANSFERS without it (or 0) */
int s3m_cli_transfers(const struct s3m_opts *o);
/* "1.5 GiB" */
const char *s3m_cli_human(uint64_t b, char *out, size_t n);

/* The live progress line and --stats lines of a job (progress.c). */
struct s3m_progress {
    bool live;      /* redraw a line on stderr */
    double stats_s; /* --stats interval, 0 = off */
    double t0, last_t, rate, last_stats;
    uint64_t last_bytes, stats_bytes;
};
struct s3m_sync_opts;
struct s3m_sync;
/* false when --stats is not a duration */
bool s3m_progress_init(struct s3m_progress *p, const struct s3m_opts *o, bool stdout_report);
/* Set the job's progress callback; call before each job. */
void s3m_progress_attach(struct s3m_progress *p, struct s3m_sync_opts *so);
void s3m_progress_tick(const struct s3m_sync *s, void *ud);

/* "INDEX/COUNT" (decimal, 0 <= INDEX < COUNT <= 100000); returns an exit code (0 = ok), after
 * printing the error. */
int s3m_shard_parse(const char *spec, uint32_t *index, uint32_t *count);
/* A shard-plan file (boundaries in key order, a repeat allowed); returns an exit code (0 = ok),
 * after printing the error. */
int s3m_bounds_read(const char *path, struct s3m_bounds *b);
int s3m_cmd_shard_plan(struct s3m_opts *o, char **args, int nargs);

/* What --metrics-file records about one run. */
struct s3m_job_result {
    double start, end; /* UNIX time */
    int exit_code;
    uint64_t objects[4], bytes[4]; /* copy, update, delete, skip */
    uint64_t errors, retries;
    /* "success", "cut_off" (--max-duration), "interrupted" (a signal) or "failed" */
    const char *outcome;
    uint64_t left_objects, left_bytes; /* a cut-off run's copies and updates not done */
    /* per endpoint (0 source, 1 destination): requests sent, connections opened, the TLS
     * handshakes of those and how many resumed a session */
    struct {
        uint64_t requests, connections, tls_handshakes, tls_resumed;
    } endpoint[2];
};
/* Take the job's lock (path NULL: a default per SRC/DST pair); 0, or an exit code after a
 * one-line message (S3M_EXIT_LOCKED when another run holds it). */
int s3m_job_lock(const char *path, const char *src, const char *dst, int *fd_out);
/* Write the Prometheus textfile atomically; 0 or an exit code. */
int s3m_job_metrics(const char *path, const char *src, const char *dst, const char *shard,
                    const struct s3m_job_result *r);
struct s3m_buf;
/* The series of the run (exposition text 0.0.4) appended to m, labelled src, dst (and shard);
 * last_ok: the last success's time, < 0 for none (the series left out). The textfile and the
 * Pushgateway get this same text. */
void s3m_job_metrics_render(struct s3m_buf *m, const char *src, const char *dst, const char *shard,
                            const struct s3m_job_result *r, double last_ok);

/* ---- the run told to watchers outside (monitor.c): no failure here changes the exit code ---- */
/* --metrics-push and --notify-url are http(s) URLs; 0, or S3M_EXIT_USAGE after the error. */
int s3m_monitor_check(const struct s3m_opts *o);
/* BASE/metrics/job/s3mirror/src@base64/../dst@base64/..[/shard@base64/..][/command/C] appended
 * to u: the Pushgateway group of one job (command: NULL for sync, else "copy" or "check"). */
void s3m_push_url(struct s3m_buf *u, const char *base, const char *src, const char *dst,
                  const char *shard, const char *command);
/* Push r (the --metrics-file series) to the Pushgateway at o->metrics_push: PUT when the run
 * succeeded (s3m_exit_success), else POST without the last success's time (the gateway keeps
 * the previous one). A failure is a warning. Blocks up to 10 s. */
void s3m_metrics_push(const struct s3m_opts *o, const char *src, const char *dst, const char *shard,
                      const char *command, const struct s3m_job_result *r);
/* Whether exit code rc is a run that went well (0, and 9: --error-on-no-transfer's "nothing to
 * do"): it pings the success URL, is the "success" outcome and sets the last success's time
 * (textfile, Pushgateway). */
bool s3m_exit_success(int rc);
/* --notify-url: POST URL/start with a short line (the run holds its job). */
void s3m_notify_start(const struct s3m_opts *o, const char *cmd, const char *src, const char *dst);
/* --notify-url: POST URL (rc a success) or URL/fail, lines (the summary lines) and the exit
 * code as the body. Either ping: a failure is a warning; blocks up to 10 s. */
void s3m_notify_end(const struct s3m_opts *o, int rc, const char *lines);

int s3m_cmd_ls(struct s3m_opts *o, char **args, int nargs);
int s3m_cmd_lsd(struct s3m_opts *o, char **args, int nargs);
/* sync, copy and check (mode from the command name). */
int s3m_cmd_sync(struct s3m_opts *o, const char *cmd, char **args, int nargs);
/* apply PLAN: args are the positional arguments after "apply" (pointers into argv), argc/argv
 * the whole command line (its other options are the run's output and tuning options). */
int s3m_cmd_apply(struct s3m_opts *o, char **args, int nargs, int argc, char **argv);
/* apply: the run's exit code rc with the plan's skipped actions (14 when a clean run skipped
 * any); the plan's actions no decision met are reported here. */
int s3m__apply_outcome(struct s3m_planfile *p, int rc);
/* --plan FILE opened for a run: the plan header first (the run's command cmd SRC DST and o's
 * plan_args), every byte hashed, and s3m_plan_close writes the checksum trailer (plan_out.c). NULL when
 * the file cannot be written. */
FILE *s3m_plan_open(const struct s3m_opts *o, const char *cmd, const char *src, const char *dst,
                    bool dry_run);
/* Close the plan s3m_plan_open gave; complete false (the run was stopped, a listing or a
 * comparison failed): no trailer, so that apply refuses a plan of part of the run. */
void s3m_plan_close(FILE *plan, bool complete);
/* "10M", "1.5G", "512" (bytes); false when malformed. */
bool s3m_parse_size(const char *s, uint64_t *out);
/* "90", "30s", "15m", "2h", "7d", "1w" as seconds; false when malformed. */
bool s3m_parse_duration(const char *s, int64_t *out);
void s3m_cmd_version(void);

#endif
