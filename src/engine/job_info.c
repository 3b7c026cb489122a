/* job_info.c - what the run reads of a job: its phase and state, the keys it listed and bytes it
 * moved, the ranges it learned, what --max-change counts of it and its copies per tier, and the
 * caps over the whole run. Reads only: every change of a job is job.c's. */
#include "defer_int.h"
#include "job_int.h"
#include "lanes_int.h"
#include "s3m/sync.h"

enum s3m_sync_phase s3m_sync_phase(const struct s3m_sync *s)
{
    return s->phase;
}

bool s3m_sync_listing_done(const struct s3m_sync *s)
{
    return (s->flags & S3M_SYNC_F_LISTED) != 0;
}

bool s3m_sync_stopped(const struct s3m_sync *s)
{
    return (s->flags & S3M_SYNC_F_ABORTED) != 0;
}

size_t s3m_sync_learned_bounds(struct s3m_sync *s, size_t want, char ***out)
{
    *out = NULL;
    /* a few pages are listed in a few round trips: not worth ranges */
    if (s->st.listing_failed || want < 2 || s->sample.seen < 10000)
        return 0;
    return s3m_sample_bounds(&s->sample, want, true, out);
}

void s3m_sync_listed(const struct s3m_sync *s, uint64_t *nsrc, uint64_t *ndst)
{
    struct s3m_lanes_counts c;
    s3m__lanes_counts(s->lanes, &c);
    *nsrc = c.nsrc;
    *ndst = c.ndst;
}

uint64_t s3m_sync_bytes_done(const struct s3m_sync *s)
{
    uint64_t done = s->st.copy.bytes + s->st.update.bytes;
    if (s->o.dry_run || s->o.mode == S3M_MODE_CHECK)
        return done;
    return s->xctx.bytes_streamed > done ? s->xctx.bytes_streamed : done;
}

struct s3m_plan_opts s3m__job_plan_opts(const struct s3m_sync_opts *o)
{
    return (struct s3m_plan_opts){o->mode,       o->dry_run,        o->allow_empty_source,
                                  o->max_delete, o->max_delete_pct, o->immutable};
}

bool s3m_sync_over_cap(const struct s3m_sync_opts *o, uint64_t ndel, uint64_t ndst, char *why,
                       size_t n)
{
    struct s3m_plan_opts po = s3m__job_plan_opts(o);
    return s3m_plan_over_cap(&po, ndel, ndst, why, n);
}

void s3m_sync_changes(const struct s3m_sync *s, uint64_t *nupd, uint64_t *ndel, uint64_t *ndst,
                      bool *whole)
{
    *nupd += s3m__defer_updates(s->defer);
    *ndel += s->st.del.n;
    *ndst += s->st.dst_scope; /* the run's own keys, not the excluded nor others' */
    if (s->st.listing_failed || s3m_sync_stopped(s))
        *whole = false;
}

const struct s3m_sync_counts *s3m_sync_tier_counts(const struct s3m_sync *s, unsigned *ntiers)
{
    return s3m__defer_tier_counts(s->defer, ntiers);
}
