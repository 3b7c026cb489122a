/* verify_int.h - --compare checksum verification of one pair (engine-private, used by job.c).
 *
 * ETags that prove nothing are settled by reading both objects (MD5 of each); a multipart pair
 * whose ETags differ with the same part count by one HEAD of the destination: the source ETag
 * it recorded when we copied it (s3m/diff.h). The outcome goes back through a callback. */
#ifndef S3M_ENGINE_VERIFY_INT_H
#define S3M_ENGINE_VERIFY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "s3m/diff.h"
#include "s3m/s3.h"

/* Where the pair lives (keys of the item are relative to the prefixes). */
struct s3m_verify_env {
    struct s3m_s3 *src, *dst;
    const char *src_bucket, *src_prefix, *dst_bucket, *dst_prefix;
    /* asked (with the callback's ud) as bytes come in: true and the reads end (S3M_EABORTED),
     * so that a stop does not wait for a large pair to be read; NULL: never */
    bool (*stopped)(void *ud);
};

struct s3m_verify_result {
    size_t lane;     /* as handed to s3m__verify_start */
    const char *key; /* relative */
    uint64_t size;
    const char *etag;              /* the source's, from the listing */
    struct s3m_entry old;          /* the destination's as listed (what an update replaces) */
    bool head;                     /* settled by the destination's HEAD */
    bool differ;                   /* valid when err is NULL */
    const struct s3m_errinfo *err; /* a request failed: nothing is known */
};

typedef void (*s3m_verify_cb)(const struct s3m_verify_result *r, void *ud);

/* Start verifying the item (needs_head or needs_content). false: no request could start (ei
 * says why) and done is never called; else done is called once, from the loop. */
bool s3m__verify_start(const struct s3m_verify_env *env, const struct s3m_diff_item *it,
                       size_t lane, s3m_verify_cb done, void *ud, struct s3m_errinfo *ei);

#endif
