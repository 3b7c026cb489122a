/* delete_int.h - a job's delete queue (engine-private, used by job.c).
 *
 * Deletions are remembered in an unlinked temporary file (the run's one file, each job writing
 * a region of it, or the job's own), never in memory; after the run's one decision they are
 * read back and sent in DeleteObjects batches of up to 1000 keys (a key XML 1.0 cannot carry
 * alone with DeleteObject). What happens to each batch and key goes back through callbacks. */
#ifndef S3M_ENGINE_DELETE_INT_H
#define S3M_ENGINE_DELETE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "s3m/diff.h"
#include "s3m/s3.h"
#include "s3m/tiers.h"

struct s3m_delq;

/* shared: the run's list (made here by the first job with a deletion), or NULL: the queue
 * has a file of its own, closed with it. */
struct s3m_delq *s3m__delq_new(FILE **shared);
void s3m__delq_free(struct s3m_delq *q);
/* Remember one deletion (key relative to the destination prefix). false: the list could not
 * be written (ei says why; give up on it: it refuses every deletion). */
bool s3m__delq_add(struct s3m_delq *q, const struct s3m_entry *e, struct s3m_errinfo *ei);
/* The job's region of the list ends here (the copy phase is over). */
bool s3m__delq_seal(struct s3m_delq *q, struct s3m_errinfo *ei);
/* Read the region back: exactly the entries written, and n entries of bytes in all as the job
 * decided. false (and why) otherwise. */
bool s3m__delq_check(struct s3m_delq *q, uint64_t n, uint64_t bytes, char *why, size_t wn);

struct s3m_delq_cbs {
    bool (*stopped)(void *ud); /* asked before each batch: a stop sends no more */
    void (*deleted)(void *ud, const char *key, uint64_t size); /* key: relative */
    /* the server could not delete one key (key NULL: it named none) */
    void (*key_failed)(void *ud, const char *key, const char *code, const char *message);
    /* a whole batch of n keys failed (sent: the request ran, else it could not start) */
    void (*batch_failed)(void *ud, size_t n, const struct s3m_errinfo *ei, bool sent);
    void (*done)(void *ud); /* the queue is through (or stopped) */
};

/* Ordered copies: send the deletions one tier after the other, the highest (the pointers)
 * first, each tier's batches all done before the next lower's, none of a lower tier once one
 * failed. tiers NULL or without a tier: one pass, as without. Before s3m__delq_run. */
void s3m__delq_order(struct s3m_delq *q, const struct s3m_tiers *tiers, const char *label);

/* Send the remembered deletions to bucket (keys under prefix). false: the list could not be
 * positioned (ei says why), nothing is sent and no callback runs. done may be called from
 * inside this call (a batch that cannot start). */
bool s3m__delq_run(struct s3m_delq *q, struct s3m_s3 *dst, const char *bucket, const char *prefix,
                   const struct s3m_delq_cbs *cbs, void *ud, struct s3m_errinfo *ei);

#endif
