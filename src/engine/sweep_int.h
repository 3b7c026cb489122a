/* sweep_int.h - the stale multipart-upload sweep of one job (engine-private, used by job.c).
 *
 * A run killed with SIGKILL (or a lost pod) cannot abort its multipart uploads: their parts stay
 * on the destination, invisible and billed. After the run's decision allowed its deletions, a
 * sync lists the uploads under the destination prefix and aborts those of its own keys (see
 * owns() in sweep.c) initiated before the job began; a dry run only names them. Each one goes
 * back to the job through a callback, which reports it (the plan's "abort-upload" lines). */
#ifndef S3M_ENGINE_SWEEP_INT_H
#define S3M_ENGINE_SWEEP_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "s3m/diff.h"
#include "s3m/s3.h"

struct s3m_sweep;

struct s3m_sweep_cfg {
    struct s3m_s3 *dst;
    const char *bucket, *prefix;     /* the destination and its prefix */
    const char *label;               /* for the log */
    const struct s3m_filter *filter; /* the job's globs and hash shard (may be NULL) */
    const char *lo, *hi;             /* the job's key range (relative), NULL = unbounded */
    int64_t started;                 /* uploads initiated before it are stale */
    bool dry_run;                    /* name them, abort none */
};

struct s3m_sweep_cbs {
    bool (*stopped)(void *ud); /* a stop ends the sweep after the request out */
    /* one stale upload of the job's keys (key relative): found (a dry run) or aborted */
    void (*upload)(void *ud, const char *key, const char *initiated, bool aborted);
    void (*done)(void *ud); /* called once (from inside start if no listing can start) */
};

/* Start the sweep; cfg's strings must outlive it. */
struct s3m_sweep *s3m__sweep_start(const struct s3m_sweep_cfg *cfg, const struct s3m_sweep_cbs *cbs,
                                   void *ud);
/* Free a sweep that is done (or never started: NULL). */
void s3m__sweep_free(struct s3m_sweep *sw);

/* Whether a ListMultipartUploads page u, asked with key_marker / id_marker (NULL: none), has a
 * next page further on: truncated, with a next key marker not before the one asked with and the
 * markers not both those asked with (a server or proxy answering the same markers again would
 * be asked the same page forever). Shared with resume.c's look for a leftover. */
bool s3m__uploads_more(const struct s3m_xml_uploads *u, const char *key_marker,
                       const char *id_marker);

#endif
