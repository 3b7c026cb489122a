/* s3m/retry.h - the one retry wait of the program: capped exponential backoff with full jitter
 * that never undercuts a server's Retry-After. Pure: the caller supplies the random source, so
 * the S3 client (requests it replays) and the transfers (streams and whole-object attempts they
 * send again) share one formula, and tests can pin the randomness. */
#ifndef S3M_RETRY_H
#define S3M_RETRY_H

/* A server's Retry-After is honoured up to this (a longer one is clamped to it). */
#define S3M_RETRY_AFTER_MAX_MS 60000L

/* The policy: the first retry waits up to base_ms, each further one up to twice the last, never
 * more than cap_ms (base_ms 0: no wait of our own). */
struct s3m_retry_policy {
    long base_ms;
    long cap_ms;
};

/* A random source: a uniformly distributed unsigned value per call (e.g. rand_r on ud). */
typedef unsigned (*s3m_retry_rand_fn)(void *ud);

/* The wait (ms) after `attempt` (>= 1) failed tries: a uniformly random value in [0, limit],
 * limit = min(cap_ms, base_ms * 2^(attempt-1)) (full jitter), raised to retry_after_ms (a
 * server's Retry-After; 0 = none) clamped to S3M_RETRY_AFTER_MAX_MS. rnd is called once at most. */
long s3m_retry_backoff_ms(const struct s3m_retry_policy *p, int attempt, long retry_after_ms,
                          s3m_retry_rand_fn rnd, void *ud);

#endif
