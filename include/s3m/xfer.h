/* s3m/xfer.h - copying one object from the source to the destination.
 *
 * Between endpoints the bytes stream: a GET feeds a PUT (or UploadPart) through a bounded ring
 * buffer, each side paused while the other catches up, nothing on disk. A multipart source is
 * copied with its own part layout so the destination gets the same ETag: each part's size is
 * learned with HEAD ?partNumber=N where the server tells it, else guessed (and then the source
 * ETag is recorded on the destination, S3M_XFER_SOURCE_ETAG_HEADER); on the same endpoint
 * with the same credentials the copy is server-side (CopyObject / UploadPartCopy).
 * Integrity: Content-MD5 from a plain source ETag; every streamed part's MD5 checked against
 * the ETag the server returns; the final multipart ETag compared with the source's before the
 * upload is completed. A failed multipart upload is aborted, once.
 * Retries: a request whose body is in memory is retried by the client (--low-level-retries); a
 * streamed PUT or part the client cannot replay is sent again here on its own, its source range
 * read again with If-Match, after the client's one backoff (s3m_s3_backoff_ms), up to the same
 * number of tries; only then does the object fail its attempt (--retries whole-object attempts,
 * the same backoff between them). */
#ifndef S3M_XFER_H
#define S3M_XFER_H

#include <stdbool.h>
#include <stdint.h>

#include "s3m/s3.h"

struct s3m_xfer_pipe;
struct s3m_xfer_timer;
struct s3m_xfer;
struct s3m_md5_ctx;

/* Metadata a copy with a guessed part layout carries: the source's ETag at copy time, which
 * the diff compares when the destination's own ETag cannot equal the source's (see diff.h). */
#define S3M_XFER_SOURCE_ETAG_HEADER "x-amz-meta-s3mirror-source-etag"

/* What all transfers of one job share. */
struct s3m_xfer_ctx {
    struct s3m_s3 *src, *dst;
    bool server_side;        /* same endpoint and credentials: copy inside the server */
    int part_concurrency;    /* parts in flight per multipart object */
    size_t buffer_size;      /* ring buffer per stream */
    int attempts;            /* whole-object attempts */
    uint64_t single_max;     /* single-part sources up to this go as one PUT (S3 limit: 5 GiB) */
    uint64_t chunk_size;     /* part size for single-part sources above single_max */
    uv_idle_t kick;          /* resumes paused streams outside curl callbacks */
    struct s3m_xfer_pipe *pending;
    uint64_t bytes_streamed, parts_done, integrity_failures, object_retries;
    uint64_t stream_retries;     /* streamed PUTs / parts sent again on their own */
    struct s3m_xfer_timer *timers; /* pending waits: a stop makes them fire at once */
    struct s3m_xfer *xfers;      /* every live transfer, to stop their part copies */
    bool closed, close_done; /* the idle handle must be closed before the context goes */
    bool stopping;           /* interrupted: no new work, no retries, uploads aborted */
    struct s3m_xfer_pipe *pipes; /* every live pipe, to stop them */
};

void s3m_xfer_ctx_init(struct s3m_xfer_ctx *c, struct s3m_s3 *src, struct s3m_s3 *dst);
/* Interrupt: every stream fails, multipart uploads are aborted, nothing is retried or started;
 * each transfer still ends through its done callback. */
void s3m_xfer_ctx_stop(struct s3m_xfer_ctx *c);
/* Close the context's handle; the loop must run until c->close_done before c is freed. */
void s3m_xfer_ctx_close(struct s3m_xfer_ctx *c);

struct s3m_xfer;
typedef void (*s3m_xfer_done_cb)(struct s3m_xfer *x, void *ud);

struct s3m_xfer_part {
    int number;
    uint64_t offset, length;
    char etag[80];
    bool done;
    int tries;               /* failed tries of this part in this upload */
    struct s3m_s3_req *req;  /* its UploadPartCopy in flight (server-side), to cancel */
};

struct s3m_xfer {
    struct s3m_xfer_ctx *ctx;
    char *src_bucket, *src_key, *dst_bucket, *dst_key;
    uint64_t size;
    char etag[80]; /* source ETag from the listing */
    int src_parts; /* 0: plain ETag */
    int attempt;
    int state;               /* drives control; changed only through set_state (xfer.c) */
    int single_tries;        /* failed tries of the single stream in this attempt */
    long retry_after_ms;     /* the last failure's Retry-After, for the next attempt's wait */
    struct s3m_xfer *all_next; /* ctx->xfers */
    struct s3m_kv *meta; /* headers to carry over */
    size_t nmeta;
    /* multipart */
    char *upload_id;
    uint64_t part_size;
    uint64_t candidates[24];
    int ncandidates, candidate;
    struct s3m_xfer_part *parts;
    int nparts, next_part, active, parts_ok;
    bool multipart;
    bool failing;
    bool layout_mismatch; /* no candidate part size gave the source ETag */
    uint64_t *learned;    /* the source's part sizes as its server told them, or NULL */
    int nlearned;
    int head_part;        /* the HEAD in flight: 0 plain, N for ?partNumber=N */
    char computed_etag[48]; /* the multipart ETag of the parts uploaded (before completing) */
    struct s3m_md5_ctx *whole; /* RECHECK of a plain-ETag source: MD5 of the whole read */
    /* the one request of a one-at-a-time phase in flight (HEAD, CreateMultipartUpload,
     * CopyObject, a RECHECK GET, CompleteMultipartUpload), for a stop to cancel */
    struct s3m_s3_req *cur;
    char note[256]; /* what was done (for the report) */
    struct s3m_errinfo ei;
    s3m_xfer_done_cb done;
    void *ud;
};

/* Start copying; done is called once, later, with x->ei.err telling the outcome. */
struct s3m_xfer *s3m_xfer_start(struct s3m_xfer_ctx *c, const char *src_bucket,
                                const char *src_key, const char *dst_bucket, const char *dst_key,
                                uint64_t size, const char *etag, s3m_xfer_done_cb done, void *ud);
void s3m_xfer_free(struct s3m_xfer *x);

/* Part sizes that would give `parts` parts for `size` bytes, most common first (tried in this
 * order when the server does not tell a multipart object's part size). Returns the count. */
int s3m_xfer_part_candidates(uint64_t size, int parts, uint64_t *out, int max);

#endif
