/* s3m/diff.h - the streaming merge-join of two sorted listings, the comparison rules that decide
 * copy / update / delete / skip, and the filters (globs, size, age). Pure code: no I/O.
 *
 * Both sides are read through a tiny stream interface (peek/advance), so the same merge runs on
 * live listers in the engine and on arrays in the unit tests. Keys are compared as bytes (the
 * order S3 lists in) relative to each side's prefix. */
#ifndef S3M_DIFF_H
#define S3M_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One listed object; key is relative to the side's prefix. */
struct s3m_entry {
    const char *key;
    uint64_t size;
    const char *etag; /* without quotes */
    int64_t mtime;    /* seconds since the epoch, 0 = unknown */
};

enum s3m_pull { S3M_PULL_ENTRY, S3M_PULL_WAIT, S3M_PULL_END, S3M_PULL_ERROR };

struct s3m_stream {
    /* Look at the next entry without consuming it. */
    enum s3m_pull (*peek)(void *ctx, struct s3m_entry *e);
    void (*advance)(void *ctx);
    void *ctx;
};

enum s3m_action { S3M_ACT_SKIP, S3M_ACT_COPY, S3M_ACT_UPDATE, S3M_ACT_DELETE, S3M_ACT_EXCLUDED };

enum s3m_compare { S3M_CMP_ETAG, S3M_CMP_SIZE, S3M_CMP_SIZE_MTIME, S3M_CMP_CHECKSUM };

/* Parse "etag|size|size-mtime|checksum". */
bool s3m_compare_parse(const char *s, enum s3m_compare *out);

/* Decide between a source and a destination object of the same key. *why gets a short reason
 * ("size differs", "ETag differs", ...). *unverified is set when the ETags cannot be compared
 * (different multipart layouts) and the decision fell back to size and time. With CHECKSUM a
 * pair whose ETags cannot prove equality gets S3M_ACT_UPDATE only if sizes differ; the caller
 * must otherwise verify by content (*needs_content).
 * Two multipart ETags with the same part count that differ (ETAG and CHECKSUM modes) give
 * S3M_ACT_SKIP with *needs_head: the destination may be a copy whose source layout could not be
 * reproduced, which carries the source's ETag in its metadata (S3M_XFER_SOURCE_ETAG_HEADER).
 * The caller HEADs the destination: that value equal to the source ETag means the same object
 * (skip), anything else an update. */
enum s3m_action s3m_compare_entries(const struct s3m_entry *src, const struct s3m_entry *dst,
                                    enum s3m_compare mode, const char **why, bool *unverified,
                                    bool *needs_content, bool *needs_head);

/* Number of parts of a multipart ETag ("md5-N"), 0 for a plain MD5 ETag, -1 if malformed. */
int s3m_etag_parts(const char *etag);

/* ---- filters ---- */

struct s3m_filter_rule {
    bool include;
    char *glob;
};

struct s3m_filter {
    struct s3m_filter_rule *rules;
    size_t nrules;
    bool has_include;
    uint64_t min_size, max_size; /* max_size UINT64_MAX = no limit; 0 = empty objects only */
    int64_t min_age, max_age;    /* seconds; -1 = no limit (0 is a limit, as in rclone) */
    int64_t now;
    uint32_t shard_index, shard_count; /* --shard without boundaries; count 0 = all keys */
};

void s3m_filter_init(struct s3m_filter *f, int64_t now);
void s3m_filter_cleanup(struct s3m_filter *f);
/* Add an --include or --exclude glob; false when the pattern is malformed. */
bool s3m_filter_add(struct s3m_filter *f, bool include, const char *glob);
/* Whether an object takes part in the sync. Rules are tried in order, the first match decides;
 * with any include rule, what matches none is excluded. */
bool s3m_filter_match(const struct s3m_filter *f, const char *key, uint64_t size, int64_t mtime);
/* The part of it that looks at the name only: the shard and the globs. */
bool s3m_filter_match_name(const struct s3m_filter *f, const char *key);
/* The shard (0..count-1) of a key relative to the job's prefix: FNV-1a 64 of its bytes, mod
 * count. Stable across versions and machines: COUNT processes split every key exactly once. */
uint32_t s3m_shard_of(const char *key, uint32_t count);
/* rclone-style glob: '*' and '?' stop at '/', '**' crosses it, [...] classes, {a,b} choices.
 * A pattern starting with '/' is anchored at the root; otherwise it may match the end of the
 * key at any directory boundary. A malformed pattern (see s3m_filter_add) matches nothing. */
bool s3m_glob_match(const char *pattern, const char *key);
/* Whether a pattern is one s3m_filter_add accepts: not empty, at most 1024 bytes, no unclosed
 * class or brace, no nested braces, no trailing backslash. */
bool s3m_glob_valid(const char *glob);

/* ---- the merge ---- */

struct s3m_diff_item {
    enum s3m_action action;
    struct s3m_entry src, dst; /* valid per action (copy: src; delete: dst; update: both) */
    const char *why;
    bool unverified, needs_content, needs_head;
    bool folder; /* SKIP of the key "" (src or dst set): the prefix's own folder marker */
};

struct s3m_diff {
    struct s3m_stream src, dst;
    const struct s3m_filter *filter; /* may be NULL */
    enum s3m_compare mode;
    bool src_done, dst_done;
    bool failed;
    uint64_t nsrc, ndst; /* entries seen per side */
    /* ... of them in the job's scope: not excluded by a filter nor owned by another hash
     * shard (what --max-delete P% and the empty-source rule look at) */
    uint64_t nsrc_scope, ndst_scope;
};

void s3m_diff_init(struct s3m_diff *d, struct s3m_stream src, struct s3m_stream dst,
                   const struct s3m_filter *filter, enum s3m_compare mode);
/* Next classified key. ENTRY fills *it (valid until the next call, whose advance consumes it);
 * WAIT: a side has nothing ready yet; END: both sides done; ERROR: a side failed. */
enum s3m_pull s3m_diff_next(struct s3m_diff *d, struct s3m_diff_item *it);

/* Parse an ISO 8601 UTC time as S3 writes it ("2026-11-25T15:43:14.120Z"); 0 on failure. */
int64_t s3m_parse_time(const char *s);

#endif
