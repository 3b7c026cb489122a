/* retry.c - the retry wait shared by the S3 client and the transfers (see s3m/retry.h): one
 * formula, so a stream sent again and a request replayed back off alike. */
#include "s3m/retry.h"

long s3m_retry_backoff_ms(const struct s3m_retry_policy *p, int attempt, long retry_after_ms,
                          s3m_retry_rand_fn rnd, void *ud)
{
    long cap = p->base_ms;
    for (int i = 1; i < attempt && cap < p->cap_ms; i++)
        cap *= 2;
    if (cap > p->cap_ms)
        cap = p->cap_ms;
    /* full jitter: spread the retries of many clients over the whole window */
    long wait = cap > 0 ? (long)(rnd(ud) % (unsigned)(cap + 1)) : 0;
    if (retry_after_ms > S3M_RETRY_AFTER_MAX_MS)
        retry_after_ms = S3M_RETRY_AFTER_MAX_MS;
    return retry_after_ms > wait ? retry_after_ms : wait;
}
