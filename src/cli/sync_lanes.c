/* sync_lanes.c - a job's key ranges, listed at once: the shard plan's, the source's '/'
 * structure, or what the last run of the source learned (the cache file it leaves); a source
 * whose last listing fit in one page is listed in one range. */
#include "cmd_sync.h"
#include "s3m/log.h"
#include "s3m/ranges.h"
#include "s3m/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t list_want(const struct s3m__lanes_ctx *r)
{
    return r->o->list_concurrency ? (size_t)r->o->list_concurrency : 8;
}

/* The cache file of what the last run of this source (and shard) learned; NULL: none. */
static char *lanes_cache(const struct s3m__lanes_ctx *r, const struct s3m_spec *spec,
                         const char *sb)
{
    char spec_s[2200];
    /* a range shard learns its own range: shards must not overwrite each other */
    snprintf(spec_s, sizeof(spec_s), "%s:%s/%s%s%s", spec->remote, sb, spec->prefix,
             r->plan && r->shard_count ? "\nshard " : "",
             r->plan && r->shard_count ? r->o->shard : "");
    return s3m_ranges_cache_path(spec_s);
}

/* Boundaries inside (lo, hi) to list at once: none when the last run's listing fit in one page
 * (ranges would only add requests), else the source's '/' structure, else what the last run
 * learned. */
static void split_lanes(const struct s3m__lanes_ctx *r, const struct s3m_spec *spec, const char *sb,
                        const char *lo, const char *hi, struct s3m_bounds *found, char **cache)
{
    size_t want = list_want(r);
    *cache = lanes_cache(r, spec, sb);
    struct s3m_bounds learned;
    int64_t listed = s3m_ranges_cache_load(*cache, lo, hi, want, &learned);
    uint64_t page = r->o->max_keys > 0 ? (uint64_t)r->o->max_keys : 1000;
    if (listed >= 0 && (uint64_t)listed <= page) {
        s3m_log(S3M_LOG_INFO, "sync",
                "listing in one range: the last run listed %" PRId64 " source keys, one page",
                listed);
        s3m_bounds_free(&learned);
        return;
    }
    s3m_bounds_discover(r->src, sb, spec->prefix, lo, hi, want, found, r->stop, r->stop_ud);
    if (found->n)
        s3m_bounds_free(&learned);
    else
        *found = learned;
}

/* The key ranges of one job: this shard's range of the plan (or everything), cut further at
 * boundaries found under '/' so that --list-concurrency ranges are listed at once. bounds gets
 * nlanes + 1 entries: [0] and [nlanes] may be NULL (unbounded). */
size_t s3m__job_lanes(const struct s3m__lanes_ctx *r, const struct s3m_spec *spec, const char *sb,
                      const char ***bounds, struct s3m_bounds *found, char **cache)
{
    *cache = NULL;
    const char *lo = NULL, *hi = NULL;
    memset(found, 0, sizeof(*found));
    size_t want = list_want(r);
    if (r->plan && !r->shard_count) { /* no --shard: the plan's ranges, all at once */
        *bounds = s3m_calloc(r->plan->n + 2, sizeof(char *));
        size_t n = 0;
        for (size_t i = 0; i < r->plan->n; i++)
            if (!n || strcmp(r->plan->keys[i], (*bounds)[n]))
                (*bounds)[++n] = r->plan->keys[i];
        return n + 1;
    }
    if (r->plan) {
        lo = r->shard_index ? r->plan->keys[r->shard_index - 1] : NULL;
        hi = r->shard_index < r->plan->n ? r->plan->keys[r->shard_index] : NULL;
    }
    if (want > 1 && !(lo && hi && !strcmp(lo, hi)))
        split_lanes(r, spec, sb, lo, hi, found, cache);
    *bounds = s3m_calloc(found->n + 2, sizeof(char *));
    (*bounds)[0] = lo;
    for (size_t i = 0; i < found->n; i++)
        (*bounds)[i + 1] = found->keys[i];
    (*bounds)[found->n + 1] = hi;
    if (found->n)
        s3m_log(S3M_LOG_INFO, "sync", "listing %zu key ranges at once", found->n + 1);
    return found->n + 1;
}

/* what this run learned of the source's keys, left for the next run's ranges */
void s3m__lanes_save(const struct s3m__lanes_ctx *r, struct s3m_sync *job, const char *cache)
{
    char **learned;
    size_t n = s3m_sync_learned_bounds(job, list_want(r), &learned);
    uint64_t nsrc, ndst;
    s3m_sync_listed(job, &nsrc, &ndst);
    s3m_ranges_cache_save(cache, learned, n, nsrc); /* n = 0: too few keys to split */
    for (size_t i = 0; i < n; i++)
        free(learned[i]);
    free(learned);
}
