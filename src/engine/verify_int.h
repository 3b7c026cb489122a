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
    bool tags;                     /* a tag check (tagcheck.c): differ says the tags differ */
    const struct s3m_xml_tagging *src_tags; /* ... and the source's tags (valid in the call) */
    const char *unverified_why; /* ... of a pair skipped as unverifiable (why), else NULL */
};

typedef void (*s3m_verify_cb)(const struct s3m_verify_result *r, void *ud);

/* Start verifying the item (needs_head or needs_content). false: no request could start (ei
 * says why) and done is never called; else done is called once, from the loop. */
bool s3m__verify_start(const struct s3m_verify_env *env, const struct s3m_diff_item *it,
                       size_t lane, s3m_verify_cb done, void *ud, struct s3m_errinfo *ei);

/* --compare MODE,tags (tagcheck.c): read both objects' tags of a pair found equal (skipped,
 * or unverifiable: it->unverified, it->why); the same contract as s3m__verify_start, the
 * result with tags set. */
bool s3m__tagcheck_start(const struct s3m_verify_env *env, const struct s3m_diff_item *it,
                         size_t lane, s3m_verify_cb done, void *ud, struct s3m_errinfo *ei);

/* The update of a tag-only difference: tags (copied at once) written on the destination's key
 * (relative): PutObjectTagging, or for none s3m_s3_clear_tagging. false: it could not start
 * (ei), done never runs; else done runs once, from the loop. */
typedef void (*s3m_tagwrite_cb)(const struct s3m_errinfo *ei, const char *key, void *ud);
bool s3m__tagwrite_start(const struct s3m_verify_env *env, const char *key,
                         const struct s3m_xml_tagging *tags, s3m_tagwrite_cb done, void *ud,
                         struct s3m_errinfo *ei);

#endif
