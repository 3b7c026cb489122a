/* client_int.h - what client.c and message.c share inside the s3 layer (not for callers). */
#ifndef S3M_CLIENT_INT_H
#define S3M_CLIENT_INT_H

#include "s3m/retry.h"
#include "s3m/s3.h"

/* Free n owned name/value pairs and the array. */
void s3m__kv_free(struct s3m_kv *arr, size_t n);
/* Fill r->ei from an S3 <Error> document (NULL: from the status alone). */
void s3m__s3_set_error(struct s3m_s3_req *r, const struct s3m_xml_error *x);
/* Fill r->ei from the error body read (or the status alone). */
void s3m__s3_error_from_body(struct s3m_s3_req *r);
/* The reply's Retry-After in ms (0: none or not a number of seconds), clamped to
 * S3M_RETRY_AFTER_MAX_MS. */
long s3m__s3_retry_after_ms(const struct s3m_s3_req *r);
/* A CreateBucket refused: true when the bucket is there and ours (r->ei cleared). */
bool s3m__s3_bucket_is_ours(struct s3m_s3_req *r);
/* The request's path (as signed) and full URL for endpoint ep. */
void s3m__s3_build_target(struct s3m_s3_req *r, const struct s3m_endpoint *ep, struct s3m_buf *path,
                          struct s3m_buf *url);
/* Sign the attempt (a fresh date each time) into headers of r->http; payload is its hash. */
void s3m__s3_sign(struct s3m_s3_req *r, const struct s3m_endpoint *ep, const char *path,
                  const char *payload);

#endif
