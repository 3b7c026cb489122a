/* s3m/tiers.h - tiers of globs for ordered copies ("--copy-last", "--layout"). Pure code.
 *
 * Tier 0 is everything no glob matches (the data); tier 1 is copied after all of tier 0, tier 2
 * after tier 1, and so on, so an object that points to others lands after what it points to.
 * Deletions go the other way (highest tier first). Globs are those of --include/--exclude. */
#ifndef S3M_TIERS_H
#define S3M_TIERS_H

#include <stdbool.h>
#include <stddef.h>

struct s3m_tier_glob {
    char *glob;
    unsigned tier;
};

struct s3m_tiers {
    struct s3m_tier_glob *globs;
    size_t nglobs;
    unsigned ntiers; /* tiers after tier 0 (tier 0 = everything no glob matches: the data) */
};

#define S3M_TIERS_MAX 64 /* more tiers than any layout needs; a bound on what the CLI accepts */

void s3m_tiers_init(struct s3m_tiers *t);
void s3m_tiers_cleanup(struct s3m_tiers *t);
/* Add glob to tier (1..ntiers+1; ntiers+1 opens the next tier). false: malformed glob / bad tier
 * (0, a gap, or past S3M_TIERS_MAX). */
bool s3m_tiers_add(struct s3m_tiers *t, unsigned tier, const char *glob);
/* The tier of a key relative to the prefix: the HIGHEST tier with a matching glob; 0 = none. */
unsigned s3m_tiers_of(const struct s3m_tiers *t, const char *key);

#endif
