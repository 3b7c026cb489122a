/* s3m/xfer.h - copying one object from the source to the destination.
 *
 * Between endpoints the bytes stream: a GET feeds a PUT (or UploadPart) through a bounded ring
 * buffer, each side paused while the other catches up, nothing on disk. A multipart source is
 * copied with its own part layout so the destination gets the same ETag: each part's size is
 * learned with HEAD ?partNumber=N where the server tells it, else guessed (and then the source
 * ETag is recorded on the destination, S3M_XFER_SOURCE_ETAG_HEADER); on the same endpoint
 * with the same credentials the copy is server-side (CopyObject / UploadPartCopy).
 * Integrity: Content-MD5 from a plain source ETag and the destination's ETag compared with it
 * (no client MD5); the parts' ETags the destination returns combined and compared with the
 * source's multipart ETag before the upload is completed; the client hashes only where no
 * ETag can be compared (docs/how-sync-decides.md). A failed multipart upload is aborted, once.
 * Retries: a request whose body is in memory is retried by the client (--low-level-retries); a
 * streamed PUT or part the client cannot replay is sent again on its own, its source range
 * read again with If-Match, after the client's one backoff (s3m_s3_backoff_ms, s3m/retry.h),
 * up to the same number of tries; only then does the object fail its attempt (--retries
 * whole-object attempts, the same backoff between them).
 * Inside: engine/xfer.c (attempts), pipe.c (streams), mpu.c (multipart uploads, with learn.c
 * and recheck.c), sharing engine/xfer_int.h. */
#ifndef S3M_XFER_H
#define S3M_XFER_H

#include <stdbool.h>
#include <stdint.h>

#include "s3m/s3.h"

struct s3m_xfer_pipe;
struct s3m_xfer_mpu;
struct s3m_xfer;

/* Metadata a copy with a guessed part layout carries: the source's ETag at copy time, which
 * the diff compares when the destination's own ETag cannot equal the source's (see diff.h). */
#define S3M_XFER_SOURCE_ETAG_HEADER "x-amz-meta-s3mirror-source-etag"

/* What all transfers of one job share. */
struct s3m_xfer_ctx {
    struct s3m_s3 *src, *dst;
    bool server_side;     /* same endpoint and credentials: copy inside the server */
    bool no_tags;         /* --no-tags: the source's tags are neither read nor copied */
    int part_concurrency; /* parts in flight per multipart object */
    size_t buffer_size;   /* ring buffer per stream */
    int attempts;         /* whole-object attempts */
    uint64_t single_max;  /* single-part sources up to this go as one PUT (S3 limit: 5 GiB) */
    uint64_t chunk_size;  /* part size for single-part sources above single_max */
    uint64_t bytes_streamed, parts_done, integrity_failures, object_retries;
    uint64_t stream_retries; /* streamed PUTs / parts sent again on their own */
    /* resume a multipart upload of the key initiated before this UNIX time (0: never) */
    int64_t resume_before;
    uint64_t uploads_resumed, parts_kept; /* uploads resumed, their parts not sent again */
    uint64_t uploads_dropped;             /* leftovers of copied keys aborted, not resumed */
    bool close_done;                      /* closed: the context may be freed */
    bool stopping; /* interrupted: no new work, no retries, uploads aborted */
    bool cut;      /* a soft cut-off: copies running go on, none starts (nor starts again) */
    /* private to engine/xfer.c, pipe.c, mpu.c */
    struct s3m_kick *kick;         /* resumes paused streams outside curl callbacks */
    struct s3m_xfer_pipe *pending; /* the streams that asked for the kick */
    struct s3m_xfer_pipe *pipes;   /* every live stream, to stop them */
    struct s3m_xfer *xfers;        /* every live transfer, to stop their requests */
};

void s3m_xfer_ctx_init(struct s3m_xfer_ctx *c, struct s3m_s3 *src, struct s3m_s3 *dst);
/* Interrupt: every stream fails, multipart uploads are aborted, nothing is retried or started;
 * each transfer still ends through its done callback. */
void s3m_xfer_ctx_stop(struct s3m_xfer_ctx *c);
/* A soft cut-off (--cutoff-mode soft, cautious): the copies running go on, but a whole-object
 * stream still waiting for its first round's buffer memory never started: it ends now (as
 * interrupted, not tried again), and no attempt that ends interrupted is tried again. */
void s3m_xfer_ctx_cut(struct s3m_xfer_ctx *c);
/* Release the context's handle (no transfer may be live); c->close_done tells when c may be
 * freed (at once, today). */
void s3m_xfer_ctx_close(struct s3m_xfer_ctx *c);

typedef void (*s3m_xfer_done_cb)(struct s3m_xfer *x, void *ud);

/* Headers carried over from the source to the destination. */
struct s3m_xfer_meta {
    struct s3m_kv *kv; /* owned strings */
    size_t n;
    /* a multipart copy's tags as a PutObjectTagging body (NULL: none): sent after the upload
     * completes too, as radosgw ignores x-amz-tagging on CreateMultipartUpload */
    char *tagging_xml;
};

struct s3m_xfer {
    struct s3m_xfer_ctx *ctx;
    char *src_bucket, *src_key, *dst_bucket, *dst_key;
    uint64_t size;
    char etag[80];         /* source ETag from the listing */
    char note[256];        /* what was done (for the report) */
    struct s3m_errinfo ei; /* the outcome, when done runs */
    /* private to engine/xfer.c */
    int kind;          /* what the source ETag says: plain MD5, multipart, or opaque */
    int check;         /* how a single stream is checked (xfer.c); only ever goes up */
    char read_md5[33]; /* the client's MD5 of an earlier read (a source ETag no MD5) */
    bool sse;          /* the source's GET said SSE-KMS / SSE-C: its ETag is no MD5 */
    int state;         /* drives control; changed only through set_state */
    int attempt;
    long retry_after_ms; /* the last failure's Retry-After, for the next attempt's wait */
    struct s3m_xfer_meta meta;
    char *tags;               /* a single copy's x-amz-tagging value, once read (NULL: not read) */
    struct s3m_xfer_mpu *mpu; /* the multipart upload, kept across attempts (its layout) */
    int mpu_mode;
    struct s3m_s3_req *cur;    /* a CopyObject or HEAD in flight, for a stop to cancel */
    struct s3m_timer *timer;   /* the first start, the wait between attempts, a failed start */
    struct s3m_xfer *all_next; /* ctx->xfers */
    s3m_xfer_done_cb done;
    void *ud;
};

/* Start copying; done is called once, later, with x->ei.err telling the outcome. */
struct s3m_xfer *s3m_xfer_start(struct s3m_xfer_ctx *c, const char *src_bucket, const char *src_key,
                                const char *dst_bucket, const char *dst_key, uint64_t size,
                                const char *etag, s3m_xfer_done_cb done, void *ud);
void s3m_xfer_free(struct s3m_xfer *x);

/* --buffer-size's default: the ring of one stream */
#define S3M_XFER_BUFFER_SIZE ((size_t)1 << 20)

/* The memory a stream of a body of length bytes holds at --buffer-size buffer_size: its ring
 * (the body, up to buffer_size) and curl's two buffers; what a stream's round charges to
 * --max-buffer-memory (s3m/membudget.h). */
uint64_t s3m_xfer_stream_charge(size_t buffer_size, uint64_t length);

/* Part sizes that would give `parts` parts for `size` bytes, most common first (tried in this
 * order when the server does not tell a multipart object's part size). Returns the count. */
int s3m_xfer_part_candidates(uint64_t size, int parts, uint64_t *out, int max);

#endif
