/* s3m/planfile.h - the plan file (format 1) that `sync --dry-run --plan FILE` writes and
 * `apply FILE` runs: its header and trailer lines, a strict reader that checks the checksum,
 * and the gate that lets `apply` do an action only when the world is still as the plan saw it.
 * Pure code: the caller reads the file and hands in its lines (docs/plans.md has the format).
 *
 * A plan is JSON lines: a header {"s3mirror_plan":1,"version":..,"created":..,"dry_run":..,
 * "args":[..]}, one line per action (s3m_plan_json_seen), and a trailer
 * {"sha256":"<hex>","lines":N} over every byte before it (N lines, the header included). */
#ifndef S3M_PLANFILE_H
#define S3M_PLANFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "s3m/hash.h"
#include "s3m/plan.h"
#include "s3m/util.h"

#define S3M_PLANFILE_FORMAT 1
#define S3M_PLANFILE_MAX_LINE (1u << 20) /* longer lines are refused before they are kept */
#define S3M_PLANFILE_MAX_ARGS 1024

/* One copy, update or delete of the plan (the only lines kept: skips are not needed). */
struct s3m_planfile_entry {
    enum s3m_plan_act act;
    bool met; /* the run decided something about this key (s3m_planfile_gate) */
    char *bucket, *key;
    uint64_t size, dst_size;
    char *src_etag, *dst_etag; /* NULL where the line has none */
};

struct s3m_planfile {
    /* the header */
    char *version, *created;
    bool dry_run;
    char **args; /* the command line that shaped the plan: COMMAND SRC DST OPTION... */
    size_t nargs;
    /* the actions, sorted by bucket and key once the plan is read (s3m_planfile_finish) */
    struct s3m_planfile_entry *e;
    size_t n, cap;
    uint64_t lines;   /* lines before the trailer */
    uint64_t changed; /* apply: actions skipped because something changed since the plan */
    bool report_json; /* apply --json: their report lines as JSON objects */
    /* reading */
    struct s3m_sha256_ctx sha;
    struct s3m_buf pending; /* the last line fed: the trailer if nothing follows */
    bool have_pending, failed;
    char err[600]; /* the first reason to refuse the plan */
};

void s3m_planfile_init(struct s3m_planfile *p);
void s3m_planfile_cleanup(struct s3m_planfile *p);
/* Feed the next line of the file, its '\n' included (the last line may lack it). false once
 * the plan is refused (s3m_planfile_error says why); reading may stop then. */
bool s3m_planfile_feed(struct s3m_planfile *p, const char *line, size_t len);
/* The end of the file: the last line fed must be the trailer, its checksum and line count
 * those of every byte before it, and every line before it well-formed. false: refused. */
bool s3m_planfile_finish(struct s3m_planfile *p);
/* Why the plan was refused ("line 3: ..."), or "". */
const char *s3m_planfile_error(const struct s3m_planfile *p);

/* ---- writing ---- */

/* The header line (with its '\n') into b: created is a UTC ISO 8601 time, args the canonical
 * command line. */
void s3m_planfile_header(struct s3m_buf *b, const char *version, const char *created, bool dry_run,
                         const char *const *args, size_t nargs);
/* The trailer line (with its '\n'): sha256 is the hex digest of the lines lines before it. */
void s3m_planfile_trailer(struct s3m_buf *b, const char *sha256, uint64_t lines);

/* ---- the gate of `apply` ---- */

enum s3m_gate {
    S3M_GATE_NONE,    /* not an action and not in the plan: nothing to say */
    S3M_GATE_PASS,    /* the plan's own action on the objects it saw: do it */
    S3M_GATE_CHANGED, /* anything else: skip it (why says what changed; changed is counted) */
};
/* The run decided a on bucket/key (bucket: the side's, as in the plan lines). Marks the plan's
 * entry for the key met. */
enum s3m_gate s3m_planfile_gate(struct s3m_planfile *p, const char *bucket,
                                const struct s3m_plan_action *a, char *why, size_t n);
/* After the run: the next of the plan's actions the run never met (a key gone from both sides,
 * or that no listing reached), from *cursor (start at 0); NULL at the end. */
const struct s3m_planfile_entry *s3m_planfile_unmet(const struct s3m_planfile *p, size_t *cursor);
/* The report line of a skipped action: "changed  -  KEY  (WHY)", control bytes as \xNN; json:
 * {"type":"changed","key":..,"why":..} instead (--json). */
void s3m_planfile_report(FILE *f, bool json, const char *key, const char *why);

#endif
