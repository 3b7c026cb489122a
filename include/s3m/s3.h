/* s3m/s3.h - the S3 client: signed requests on the shared loop, retries, and S3 operations.
 *
 * A request (struct s3m_s3_req) is built with an operation helper or by hand, then submitted.
 * Submit either fails at once (done never runs) or done runs exactly once, later. Requests
 * whose bodies are replayable (none, or in memory) are retried on connection errors, timeouts,
 * HTTP 500/502/503/504/429 and the S3 codes SlowDown, RequestTimeout, InternalError, with capped
 * exponential backoff and full jitter, honouring Retry-After. A request streaming a body from
 * or to the caller is never replayed here: it fails with `retryable` set and the caller
 * decides (it owns the other end of the stream), waiting s3m_s3_backoff_ms like the client.
 * Each client limits its requests in flight (AIMD): HTTP 503, 429 or SlowDown halves the limit,
 * successes raise it again until it is lifted; a request beyond it waits, in order, and its
 * submit still succeeds. Cancel reaches a request on the wire, in backoff or waiting. */
#ifndef S3M_S3_H
#define S3M_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "s3m/config.h"
#include "s3m/err.h"
#include "s3m/http.h"
#include "s3m/loop.h"
#include "s3m/sigv4.h"
#include "s3m/xml.h"

#define S3M_OP_MAP(XX)                                                                             \
    XX(LIST_BUCKETS, "ListBuckets")                                                                \
    XX(CREATE_BUCKET, "CreateBucket")                                                              \
    XX(HEAD_BUCKET, "HeadBucket")                                                                  \
    XX(LIST_OBJECTS, "ListObjectsV2")                                                              \
    XX(HEAD_OBJECT, "HeadObject")                                                                  \
    XX(GET_OBJECT, "GetObject")                                                                    \
    XX(PUT_OBJECT, "PutObject")                                                                    \
    XX(COPY_OBJECT, "CopyObject")                                                                  \
    XX(CREATE_MPU, "CreateMultipartUpload")                                                        \
    XX(UPLOAD_PART, "UploadPart")                                                                  \
    XX(UPLOAD_PART_COPY, "UploadPartCopy")                                                         \
    XX(COMPLETE_MPU, "CompleteMultipartUpload")                                                    \
    XX(ABORT_MPU, "AbortMultipartUpload")                                                          \
    XX(LIST_MPU, "ListMultipartUploads")                                                           \
    XX(LIST_PARTS, "ListParts")                                                                    \
    XX(DELETE_OBJECTS, "DeleteObjects")                                                            \
    XX(DELETE_OBJECT, "DeleteObject")                                                              \
    XX(GET_TAGGING, "GetObjectTagging")                                                            \
    XX(PUT_TAGGING, "PutObjectTagging")                                                            \
    XX(DELETE_TAGGING, "DeleteObjectTagging")

enum s3m_s3_op {
#define S3M_XX(id, name) S3M_OP_##id,
    S3M_OP_MAP(S3M_XX)
#undef S3M_XX
        S3M_OP__COUNT
};

const char *s3m_s3_op_name(enum s3m_s3_op op);

struct s3m_s3_opts {
    int attempts;         /* tries per request, >= 1 (default 5) */
    long backoff_base_ms; /* first retry waits up to this (default 100) */
    long backoff_cap_ms;  /* cap of one wait (default 5000) */
    struct s3m_http_opts http;
    double tps;    /* requests per second to the endpoint (0: no limit; --tpslimit) */
    int tps_burst; /* requests at once within it (>= 1; --tpslimit-burst) */
};
void s3m_s3_opts_default(struct s3m_s3_opts *o);

struct s3m_s3_stats {
    uint64_t requests[S3M_OP__COUNT];
    uint64_t retries; /* requests sent again by the client (a stream's new round is not one) */
    /* those retries by cause: an HTTP status (429, 500, 502, 503, 504, other) or the transport */
    uint64_t retries_by_status[6];
    uint64_t retries_transport;
    uint64_t bytes_sent, bytes_received;
    /* connections opened; TLS handshakes of them, and how many resumed a session (abbreviated) */
    uint64_t connections, tls_handshakes, tls_resumed;
    /* AIMD: throttling (503, 429, SlowDown) halves the requests in flight, successes raise it */
    uint64_t concurrency_lowered, concurrency_raised;
    int concurrency_lowest; /* 0: never lowered */
};

/* A client for one remote. */
struct s3m_s3 {
    struct s3m_loop *loop;
    const struct s3m_remote *remote;
    struct s3m_signer signer;
    bool anonymous;
    char *region; /* signing region */
    struct s3m_s3_opts opts;
    struct s3m_s3_stats stats;
    unsigned rng;
    /* AIMD concurrency limit of this endpoint: requests beyond it wait in a queue */
    int inflight;    /* requests on the wire (counted from start to HTTP completion) */
    double window;   /* limit of inflight; 0 = none (never throttled, or recovered) */
    int window_peak; /* inflight when first throttled: reaching it again lifts the limit */
    uint64_t last_cut_ms;
    struct s3m_s3_req *queue, *queue_tail; /* admitted in order as requests finish */
    struct s3m_tps *tps; /* --tpslimit: the endpoint's request limiter (NULL: none) */
};

enum s3m_err s3m_s3_init(struct s3m_s3 *c, struct s3m_loop *loop, const struct s3m_remote *r,
                         const struct s3m_s3_opts *o, struct s3m_errinfo *ei);
void s3m_s3_cleanup(struct s3m_s3 *c);

struct s3m_s3_req;
typedef void (*s3m_s3_done_cb)(struct s3m_s3_req *r, void *ud);
/* Streaming bodies: same contracts as s3m_http read/write callbacks. */
typedef size_t (*s3m_s3_read_cb)(struct s3m_s3_req *r, char *buf, size_t n, void *ud);
typedef size_t (*s3m_s3_write_cb)(struct s3m_s3_req *r, const char *data, size_t n, void *ud);

struct s3m_s3_req {
    struct s3m_s3 *c;
    enum s3m_s3_op op;
    char *method, *bucket, *key;
    struct s3m_kv *query, *headers; /* owned strings */
    size_t nquery, nheaders;
    /* request body: in memory (replayable) or streamed from read_cb (never replayed) */
    struct s3m_buf body;
    bool has_body;
    s3m_s3_read_cb read_cb;
    int64_t stream_len;
    size_t body_off;
    /* response */
    unsigned xml_accept; /* parse a success body as XML of these kinds */
    s3m_s3_write_cb write_cb;
    size_t recv_buffer, send_buffer; /* a large streamed body: the HTTP buffers (0: default) */
    struct s3m_xml_parser *xp;
    struct s3m_xml_result *xml; /* on success with xml_accept */
    struct s3m_buf errbody;     /* error bodies (bounded) */
    struct s3m_kv *resp_headers;
    size_t nresp_headers, cap_resp_headers;
    int status;
    struct s3m_errinfo ei;
    bool retryable; /* failed with a cause worth retrying, but the body could not be replayed */
    bool body_started;
    int attempt;
    uint64_t started_ms;
    s3m_s3_done_cb done;
    void *ud;
    struct s3m_http http;
    struct s3m_timer *retry_timer; /* waiting in backoff (or to report from the loop) */
    bool cancelled;                /* s3m_s3_cancel while waiting: done runs with ABORTED */
    bool counted;                  /* holds one of c->inflight */
    bool queued;                   /* waiting in c->queue for the concurrency limit */
    long retry_after_ms;           /* from the last failed reply's Retry-After (0: none) */
    bool tps_ok;                   /* its --tpslimit token taken, waited for: it may start */
    struct s3m_s3_req *queue_next;
};

/* Build a request. bucket/key may be NULL. */
struct s3m_s3_req *s3m_s3_req_new(struct s3m_s3 *c, enum s3m_s3_op op, const char *method,
                                  const char *bucket, const char *key);
void s3m_s3_req_free(struct s3m_s3_req *r);
/* Add a query parameter (value NULL: bare, as in "?uploads"). */
void s3m_s3_req_query(struct s3m_s3_req *r, const char *name, const char *value);
/* Add an ETag precondition header (If-Match, x-amz-copy-source-if-match): the ETag quoted. */
void s3m_s3_req_etag_header(struct s3m_s3_req *r, const char *name, const char *etag);
/* Add a request header; it is signed. */
void s3m_s3_req_header(struct s3m_s3_req *r, const char *name, const char *value);
/* In-memory body (copied; signed with its SHA-256). */
void s3m_s3_req_body(struct s3m_s3_req *r, const void *data, size_t len);
/* Streamed body of exactly len bytes (signed as UNSIGNED-PAYLOAD). */
void s3m_s3_req_stream(struct s3m_s3_req *r, int64_t len, s3m_s3_read_cb cb);
/* Submit. ud is passed to done and to the body callbacks. */
enum s3m_err s3m_s3_submit(struct s3m_s3_req *r, s3m_s3_done_cb done, void *ud);
/* Submit and run the loop until this request is done; returns r->ei.err. Only for requests
 * without body callbacks: their ud would be the internal done flag. */
enum s3m_err s3m_s3_run(struct s3m_s3_req *r);
/* A response header (case-insensitive name), or NULL. */
const char *s3m_s3_resp_header(const struct s3m_s3_req *r, const char *name);
/* Resume a streamed request paused by its body callback. */
void s3m_s3_resume(struct s3m_s3_req *r);
/* Cancel a request, running, waiting in backoff or queued: done runs with ABORTED, later. */
void s3m_s3_cancel(struct s3m_s3_req *r);

/* ---- operations (s3/ops.c): each returns a request ready to submit ---- */
struct s3m_s3_req *s3m_s3_list_buckets(struct s3m_s3 *c);
struct s3m_s3_req *s3m_s3_create_bucket(struct s3m_s3 *c, const char *bucket);
struct s3m_s3_req *s3m_s3_head_bucket(struct s3m_s3 *c, const char *bucket);
/* ListObjectsV2; NULL arguments are left out. url_encoding asks encoding-type=url. */
struct s3m_s3_req *s3m_s3_list_objects(struct s3m_s3 *c, const char *bucket, const char *prefix,
                                       const char *token, const char *start_after,
                                       const char *delimiter, int max_keys);
struct s3m_s3_req *s3m_s3_head_object(struct s3m_s3 *c, const char *bucket, const char *key,
                                      int part_number);
/* GetObject: range "bytes=a-b" or NULL, part_number 0 = none, if_match NULL = none. */
struct s3m_s3_req *s3m_s3_get_object(struct s3m_s3 *c, const char *bucket, const char *key,
                                     const char *range, int part_number, const char *if_match);
struct s3m_s3_req *s3m_s3_put_object(struct s3m_s3 *c, const char *bucket, const char *key);
struct s3m_s3_req *s3m_s3_copy_object(struct s3m_s3 *c, const char *bucket, const char *key,
                                      const char *src_bucket, const char *src_key,
                                      const char *if_match);
struct s3m_s3_req *s3m_s3_create_mpu(struct s3m_s3 *c, const char *bucket, const char *key);
struct s3m_s3_req *s3m_s3_upload_part(struct s3m_s3 *c, const char *bucket, const char *key,
                                      const char *upload_id, int part_number);
struct s3m_s3_req *s3m_s3_upload_part_copy(struct s3m_s3 *c, const char *bucket, const char *key,
                                           const char *upload_id, int part_number,
                                           const char *src_bucket, const char *src_key,
                                           uint64_t first, uint64_t last);
struct s3m_mpu_part {
    int number;
    char etag[80];
};
struct s3m_s3_req *s3m_s3_complete_mpu(struct s3m_s3 *c, const char *bucket, const char *key,
                                       const char *upload_id, const struct s3m_mpu_part *parts,
                                       size_t nparts);
struct s3m_s3_req *s3m_s3_abort_mpu(struct s3m_s3 *c, const char *bucket, const char *key,
                                    const char *upload_id);
struct s3m_s3_req *s3m_s3_list_mpu(struct s3m_s3 *c, const char *bucket, const char *prefix,
                                   const char *key_marker, const char *upload_id_marker);
/* ListParts of an upload: the parts after part_marker (0: from the first). */
struct s3m_s3_req *s3m_s3_list_parts(struct s3m_s3 *c, const char *bucket, const char *key,
                                     const char *upload_id, int part_marker);
/* DeleteObjects of n keys (1..1000), quiet mode, Content-MD5 set. */
struct s3m_s3_req *s3m_s3_delete_objects(struct s3m_s3 *c, const char *bucket,
                                         const char *const *keys, size_t n);
struct s3m_s3_req *s3m_s3_delete_object(struct s3m_s3 *c, const char *bucket, const char *key);
/* Object tagging: GetObjectTagging (a Tagging reply), PutObjectTagging of n tags (Content-MD5
 * set), DeleteObjectTagging. */
struct s3m_s3_req *s3m_s3_get_tagging(struct s3m_s3 *c, const char *bucket, const char *key);
struct s3m_s3_req *s3m_s3_put_tagging(struct s3m_s3 *c, const char *bucket, const char *key,
                                      const struct s3m_xml_tag *tags, size_t n);
struct s3m_s3_req *s3m_s3_delete_tagging(struct s3m_s3 *c, const char *bucket, const char *key);
/* PutObjectTagging of a body made by s3m_tags_xml. */
struct s3m_s3_req *s3m_s3_put_tagging_xml(struct s3m_s3 *c, const char *bucket, const char *key,
                                          const char *xml);
/* Remove every tag: DeleteObjectTagging, or an empty PutObjectTagging on provider Ceph (whose
 * DeleteObjectTagging blanks the object's ETag). */
struct s3m_s3_req *s3m_s3_clear_tagging(struct s3m_s3 *c, const char *bucket, const char *key);

/* The retry policy's one wait (ms) after `attempt` (>= 1) failed tries: s3m_retry_backoff_ms
 * (s3m/retry.h) with this client's opts.backoff_base_ms / backoff_cap_ms and random state.
 * Used for requests retried here and for the streamed parts and objects the caller retries. */
long s3m_s3_backoff_ms(struct s3m_s3 *c, int attempt, long retry_after_ms);

/* Whether an S3 error code or status is worth a retry. */
bool s3m_s3_retryable(int status, const char *code);

#endif
