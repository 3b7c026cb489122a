/* xfer_int.h - what the three parts of an object copy share inside the engine (not for callers;
 * the public side is s3m/xfer.h). xfer.c runs the attempts of one copy and owns the other two:
 * pipe.c streams one GET into one PUT or UploadPart, mpu.c runs one multipart upload. Each
 * reports to its owner through the callbacks it was handed and never calls its owner by name. */
#ifndef S3M_XFER_INT_H
#define S3M_XFER_INT_H

#include "s3m/xfer.h"

#define S3M__MIB (1024ull * 1024ull)

/* How one stream, or one multipart upload, ended. */
struct s3m__outcome {
    struct s3m_errinfo ei;
    bool retryable;      /* a cause worth sending it again (the client could not replay it) */
    long retry_after_ms; /* the server's Retry-After on that failure */
    char md5[33];        /* a stream hashed on the client and sent whole: the MD5 of its bytes */
    char etag[80];       /* a stream stored: the ETag the destination answered (unquoted) */
    bool digest;         /* failed because the bytes' MD5 is not the one expected (BadDigest) */
};

/* ---- metadata carried from the source's reply to the destination (pipe.c) ---- */

/* Keep r's headers worth carrying (x-amz-meta-*, Content-Type, ...; not our source-ETag
 * header, which is set anew), replacing what m held. */
void s3m__meta_take(struct s3m_xfer_meta *m, const struct s3m_s3_req *r);
/* Add them to a PutObject or CreateMultipartUpload. */
void s3m__meta_add(const struct s3m_xfer_meta *m, struct s3m_s3_req *r);
void s3m__meta_clear(struct s3m_xfer_meta *m);
/* Whether a source reply (GET, HEAD) says the object has tags worth reading: x-amz-tagging-count
 * above 0, and tags not turned off (--no-tags). */
bool s3m__tags_wanted(const struct s3m_xfer_ctx *c, const struct s3m_s3_req *reply);
/* The x-amz-tagging value (malloc'd; "" for none) of a GetObjectTagging reply. */
char *s3m__tags_value(const struct s3m_s3_req *r);
/* Its PutObjectTagging body (malloc'd; NULL for none). */
char *s3m__tags_xml(const struct s3m_s3_req *r);
/* The header that carries them on PutObject and CreateMultipartUpload. */
#define S3M__TAGGING_HEADER "x-amz-tagging"

/* ---- remeta.c: the metadata a fresh multipart copy writes ---- */

/* Add to a CreateMultipartUpload what a fresh copy writes: meta, and recorded (NULL: none) as
 * our source-ETag header. */
void s3m__create_headers(const struct s3m_xfer_meta *meta, const char *recorded,
                         struct s3m_s3_req *r);
/* Whether the object's HEAD reply shows what s3m__create_headers(meta, recorded) writes: false
 * (why says the first difference) when it carries another value, or one more or one fewer. The
 * recorded source ETag may be missing where the object's ETag is src_etag (it is read only
 * where the ETags differ); an older one is a difference. */
bool s3m__meta_same(const struct s3m_xfer_meta *meta, const char *recorded, const char *src_etag,
                    const struct s3m_s3_req *head, char *why, size_t n);

/* ---- pipe.c: one GET streamed into one PUT or UploadPart through a ring buffer ---- */

/* What the pipe reads: the object (If-Match its listed ETag), whole or one byte range. */
struct s3m__pipe_src {
    const char *bucket, *key, *etag; /* the owner's strings: they outlive the pipe */
    uint64_t offset, length;
    bool ranged; /* false: the whole object, length bytes */
    int part;    /* the part number, for the logs; 0: the whole object */
};

/* How a stream is checked, set by the owner with the destination request. The destination
 * verifies the bytes it receives where it was given their MD5 (Content-MD5); the client hashes
 * them only where no server can. */
struct s3m__pipe_check {
    bool hash;       /* MD5 the bytes on the client: the destination's ETag must equal it */
    char expect[33]; /* not hashed: the ETag the destination must answer ("": the owner checks) */
};

struct s3m_xfer_pipe;

struct s3m__pipe_cbs {
    /* Build the destination request (PutObject or UploadPart; the pipe streams its body and
     * submits it) once the source's reply headers are in: get carries them. chk (cleared)
     * says how the stream is checked. */
    struct s3m_s3_req *(*make_put)(void *ud, const struct s3m_s3_req *get,
                                   struct s3m__pipe_check *chk);
    /* Asked once per round when the source's reply headers are in, before make_put (NULL:
     * never): true when the owner has work to do first (read the source's tags); the GET
     * then waits, paused, until the owner calls s3m__pipe_prepared (once, from the loop). */
    bool (*prepare)(void *ud, struct s3m_xfer_pipe *p, const struct s3m_s3_req *get);
    /* Asked before a failed stream is sent again (NULL: always yes). */
    bool (*may_retry)(void *ud);
    /* The stream ended for good: sent, or failed past its tries. Runs once, from the loop;
     * the pipe is already gone. */
    void (*done)(void *ud, const struct s3m__outcome *o);
};

/* Start a stream. A stream that fails with a cause worth it (the client could not replay it)
 * is sent again on its own, its source range read again with If-Match, after the one backoff,
 * up to the destination client's tries; a stop ends the wait at once. */
void s3m__pipe_start(struct s3m_xfer_ctx *c, const struct s3m__pipe_src *src,
                     const struct s3m__pipe_cbs *cbs, void *ud);
/* The owner's prepare is over: the PUT starts, or (ei set) the stream fails. */
void s3m__pipe_prepared(struct s3m_xfer_pipe *p, const struct s3m_errinfo *ei);
/* The context's kick (ud: the context): resumes, starts and stops the pipes that asked for it
 * from outside curl's callbacks. */
void s3m__pipe_on_kick(void *ud);
/* A stop: every stream fails, a wait for the next try ends now. */
void s3m__pipe_stop_all(struct s3m_xfer_ctx *c);
/* The streams waiting for buffer memory whose owner gave up (may_retry false: a multipart
 * upload that failed) end now, interrupted, instead of running once granted. */
void s3m__pipe_drop_waiting(struct s3m_xfer_ctx *c);
/* A soft cut-off: the whole-object streams waiting for their first round's memory end. */
void s3m__pipe_cut_waiting(struct s3m_xfer_ctx *c);

/* ---- learn.c: a multipart source's metadata and part sizes (HEADs) ---- */

/* The end: ei set when a HEAD failed; else sizes (handed over) holds all n part sizes when the
 * server told them, NULL when it did not (the layout is then guessed); assumed: they are the
 * uniform layout of part 1's told size (to be checked as a guess), or, asked with was, the
 * sizes in was. Runs once, from the loop; the owner then frees the job. */
typedef void (*s3m__learn_done_cb)(void *ud, const struct s3m_errinfo *ei, uint64_t *sizes, int n,
                                   bool assumed);

struct s3m__object;
/* HEAD the source (If-Match its listed ETag) into obj->meta (its tags too, where it has some),
 * then ?partNumber=1, and 2..N-1 unless the uniform layout of part 1's size fits (src_parts 0: a
 * single-part source, the metadata only). was (the layout assumed, kept by the owner until the
 * end): no metadata, ?partNumber=1..N-1 each (ei S3M_ES3 when they are not told now). */
struct s3m__learn *s3m__learn_start(struct s3m_xfer_ctx *c, const struct s3m__object *obj,
                                    int src_parts, const uint64_t *was, s3m__learn_done_cb done,
                                    void *ud);
/* A stop: cancel the HEAD in flight (its end follows). No-op on NULL. */
void s3m__learn_stop(struct s3m__learn *l);
void s3m__learn_free(struct s3m__learn *l);

#define S3M__NOTE_LEN 256
struct s3m__part;
/* The parts of a size-byte object (nparts of them, numbers, offsets and lengths; own unset):
 * the n sizes given, else ps bytes each, the last shorter; note says which. */
struct s3m__part *s3m__learn_lay_out(uint64_t size, const uint64_t *sizes, int n, bool assumed,
                                     uint64_t ps, int *nparts, char note[S3M__NOTE_LEN]);

/* ---- recheck.c: the second read of a multipart copy's source, before completing ---- */

struct s3m__recheck_part {
    uint64_t offset, length;
    const char *md5; /* the MD5 stored for it (its ETag); the owner's string */
    int number;
};

/* The check's end: ei clear when every part (and, for a plain source ETag, the whole) read
 * back as stored. Runs once, from the loop; the owner then frees the check. */
typedef void (*s3m__recheck_done_cb)(void *ud, const struct s3m_errinfo *ei);

/* Read obj's source again in parts (handed over: freed by the check). */
struct s3m__recheck *s3m__recheck_start(struct s3m_xfer_ctx *c, const struct s3m__object *obj,
                                        struct s3m__recheck_part *parts, int nparts,
                                        s3m__recheck_done_cb done, void *ud);
/* A stop: cancel the GET in flight (its end follows). No-op on NULL. */
void s3m__recheck_stop(struct s3m__recheck *k);
void s3m__recheck_free(struct s3m__recheck *k);

/* ---- part.c: one part of a multipart upload ---- */

struct s3m__part;
/* What the parts of one upload share (the upload's record, set before its parts start). */
struct s3m__part_owner {
    struct s3m_xfer_ctx *c;
    const struct s3m__object *o;
    const char *upload_id;
    bool (*may_retry)(void *ud); /* a failed stream may be sent again */
    /* the part ended for good (o->ei: how); once per start, from the loop */
    void (*done)(struct s3m__part *pt, const struct s3m__outcome *o);
    void *ud;
};

struct s3m__part {
    const struct s3m__part_owner *own; /* a part is its requests' user data */
    int number;
    uint64_t offset, length;
    char etag[80];
    bool kept;              /* held by the upload resumed: not sent */
    struct s3m_s3_req *req; /* its UploadPartCopy in flight (server-side), to cancel */
};

/* Send the part: streamed, or copied inside the server. False (ei set, done never runs) when
 * its request could not start. */
bool s3m__part_start(struct s3m__part *pt, struct s3m_errinfo *ei);

/* ---- resume.c: an upload of the key left by an earlier run, checked part by part ---- */

/* One part of the layout the copy needs (number: index + 1). The check sets kept, with the
 * destination's ETag of the part, where the upload holds it with the source's bytes. */
struct s3m__resume_part {
    uint64_t offset, length;
    char etag[80];
    bool kept;
};

/* The end: upload_id (the check's string: copy it) is the upload adopted, its kept parts
 * marked; NULL: none (any leftover that did not fit was aborted). stopped: a stop came. Runs
 * once, from the loop; the owner then frees the check. */
typedef void (*s3m__resume_done_cb)(void *ud, const char *upload_id, bool stopped);

struct s3m__object;
/* Look for an upload of obj's destination key initiated before c->resume_before; parts (the
 * owner's, nparts long) is the layout needed. */
struct s3m__resume *s3m__resume_start(struct s3m_xfer_ctx *c, const struct s3m__object *obj,
                                      struct s3m__resume_part *parts, int nparts,
                                      s3m__resume_done_cb done, void *ud);
/* A stop: cancel the request in flight (its end follows). No-op on NULL. */
void s3m__resume_stop(struct s3m__resume *r);
void s3m__resume_free(struct s3m__resume *r);

/* ---- mpu.c: one multipart upload ---- */

enum s3m__mpu_mode {
    S3M__MPU_SOURCE,  /* a multipart source: its own layout, learned (HEAD) or guessed */
    S3M__MPU_CHUNKED, /* a single-part source above the threshold: parts of chunk_size */
};

enum s3m__mpu_end {
    S3M__MPU_DONE,      /* completed */
    S3M__MPU_FAILED,    /* failed (o->ei), the upload aborted: the owner may try again */
    S3M__MPU_NO_LAYOUT, /* the source's layout is neither told nor guessable: copy it whole */
};

/* Called once per s3m__mpu_run, from the loop; note says what was done (for the report). */
typedef void (*s3m__mpu_done_cb)(void *ud, enum s3m__mpu_end end, const struct s3m__outcome *o,
                                 const char *note);

/* The object an upload copies: the owner's strings and metadata, which outlive the upload. */
struct s3m__object {
    const char *src_bucket, *src_key, *dst_bucket, *dst_key, *etag;
    uint64_t size;
    struct s3m_xfer_meta *meta; /* filled by the plain HEAD, sent with CreateMultipartUpload */
};

struct s3m_xfer_mpu *s3m__mpu_new(struct s3m_xfer_ctx *c, const struct s3m__object *obj,
                                  enum s3m__mpu_mode mode, s3m__mpu_done_cb done, void *ud);
/* One attempt: HEAD (unless the layout is known from an earlier one) -> CREATE -> PARTS ->
 * (RECHECK) -> COMPLETE, or ABORTING; done runs once, later. */
void s3m__mpu_run(struct s3m_xfer_mpu *m);
/* A stop: cancel the requests in flight (not a CreateMultipartUpload on the wire); waits end. */
void s3m__mpu_stop(struct s3m_xfer_mpu *m);
/* Whether the last run completed an upload it resumed (resume.c) rather than created; recorded
 * is set to the source ETag a fresh create records (NULL: none): see s3m__create_headers. */
bool s3m__mpu_resumed(const struct s3m_xfer_mpu *m, const char **recorded);

/* Free an upload that is not running (no-op on NULL). */
void s3m__mpu_free(struct s3m_xfer_mpu *m);

/* ---- learn.c: a layout's parts in the forms the requests take (the caller frees them) ---- */

/* The composite ETag of the parts' ETags (the destination's MD5 of each): false (out empty)
 * when one is no MD5. */
bool s3m__parts_etag(const struct s3m__part *parts, int n, char out[48]);
struct s3m_mpu_part *s3m__parts_list(const struct s3m__part *parts, int n); /* Complete's */
struct s3m__recheck_part *s3m__parts_recheck(const struct s3m__part *parts, int n);
struct s3m__resume_part *s3m__parts_resume(const struct s3m__part *parts, int n);

#endif
