/* tiers.c - which copy tier a key belongs to: the highest tier with a glob that matches it.
 *
 * The globs are those of --include/--exclude (filter.c's matcher), so an operator writes both
 * kinds of rule the same way. */
#include "s3m/tiers.h"
#include "s3m/diff.h"
#include "s3m/util.h"

#include <stdlib.h>
#include <string.h>

void s3m_tiers_init(struct s3m_tiers *t)
{
    memset(t, 0, sizeof(*t));
}

void s3m_tiers_cleanup(struct s3m_tiers *t)
{
    for (size_t i = 0; i < t->nglobs; i++)
        free(t->globs[i].glob);
    free(t->globs);
    memset(t, 0, sizeof(*t));
}

bool s3m_tiers_add(struct s3m_tiers *t, unsigned tier, const char *glob)
{
    if (tier < 1 || tier > t->ntiers + 1 || tier > S3M_TIERS_MAX || !s3m_glob_valid(glob))
        return false;
    t->globs = s3m_realloc(t->globs, (t->nglobs + 1) * sizeof(*t->globs));
    t->globs[t->nglobs].glob = s3m_strdup(glob);
    t->globs[t->nglobs++].tier = tier;
    if (tier > t->ntiers)
        t->ntiers = tier;
    return true;
}

unsigned s3m_tiers_of(const struct s3m_tiers *t, const char *key)
{
    unsigned best = 0;
    for (size_t i = 0; i < t->nglobs; i++)
        if (t->globs[i].tier > best && s3m_glob_match(t->globs[i].glob, key))
            best = t->globs[i].tier;
    return best;
}
