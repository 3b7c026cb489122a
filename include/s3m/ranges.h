/* s3m/ranges.h - key ranges of one job's keyspace: where a job's listing is cut so that its
 * ranges are listed at once. Boundaries come from the common prefixes under '/' (a few delimiter
 * listings: the network part), or from the ranges cache, where each run leaves the boundaries it
 * learned from the keys it saw for the next run of the same source (a keyspace without '/'
 * structure offers nothing to split at before it is listed). Any boundaries make a correct
 * split: stale ones cost only speed.
 *
 * Boundaries are keys relative to the job's prefix. As text (a shard plan, the cache file) they
 * are percent-encoded, one per line; '#' lines and blank lines are comments. */
#ifndef S3M_RANGES_H
#define S3M_RANGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "s3m/s3.h"
#include "s3m/util.h"

/* Key boundaries, increasing (strictly, except in a shard plan of a bucket with fewer keys than
 * shards, where a boundary repeats). */
struct s3m_bounds {
    char **keys;
    size_t n;
};
/* Free the keys and empty b (an empty or zeroed b is fine). */
void s3m_bounds_free(struct s3m_bounds *b);

/* Boundary lines from f into b (which it initialises): each a percent-encoded key of 1 to 1024
 * bytes without NUL, at least (strict: greater than) the one before. Returns 0, or the number of
 * the first bad line (b then empty). */
int s3m_bounds_parse(FILE *f, bool strict, struct s3m_bounds *b);
/* keys as boundary lines (percent-encoded, '\n' after each), appended to out */
void s3m_bounds_text(struct s3m_buf *out, char *const *keys, size_t n);
/* Of the candidates, those strictly inside (lo, hi) (NULL: unbounded), then up to want-1 of
 * them evenly spread (s3m_keys_split, distinct), into out, each still inside (lo, hi). Takes
 * cand (left empty). */
void s3m_bounds_pick(struct s3m_bounds *cand, const char *lo, const char *hi, size_t want,
                     struct s3m_bounds *out);

/* Up to want-1 boundaries inside (lo, hi) from the common prefixes under '/' of bucket/prefix:
 * one delimiter listing per level, going down while a level holds a single common prefix (at
 * most 4 levels); none when the keyspace shows no structure, a level takes more than one page,
 * or a request fails. Runs the client's loop until it is done (signal watchers answer
 * meanwhile); stop (NULL: none), asked as the loop turns, true: the request in flight is
 * cancelled and nothing is found (a signal, --max-duration's deadline). */
void s3m_bounds_discover(struct s3m_s3 *c, const char *bucket, const char *prefix, const char *lo,
                         const char *hi, size_t want, struct s3m_bounds *out,
                         bool (*stop)(void *ud), void *stop_ud);

/* The cache file where runs of the source src_spec leave learned boundaries: under
 * $S3MIRROR_CACHE_DIR, $CACHE_DIRECTORY (systemd), $XDG_CACHE_HOME/s3mirror or
 * ~/.cache/s3mirror. NULL: no cache directory. The caller frees it. */
char *s3m_ranges_cache_path(const char *src_spec);
/* Up to want-1 of its boundaries inside (lo, hi); none when absent or damaged. path may be
 * NULL. Returns the number of source keys the run that wrote it listed, or -1 when the file is
 * absent, damaged or does not say. */
int64_t s3m_ranges_cache_load(const char *path, const char *lo, const char *hi, size_t want,
                              struct s3m_bounds *out);
/* Replace the cache file with keys and the count of source keys listed (its directory made if
 * missing); a failure is only logged: the cache costs nothing but speed. */
void s3m_ranges_cache_save(const char *path, char *const *keys, size_t n, uint64_t listed);

#endif
