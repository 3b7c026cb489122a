/* xfer.c - one object copy as a series of whole-object attempts (see s3m/xfer.h): NEW -> SINGLE
 * (one stream, pipe.c, or one server-side CopyObject) or MULTIPART (an upload, mpu.c) -> DONE,
 * or RETRY (the one backoff) and the next attempt. The state drives control and changes only in
 * set_state. The transfer context, the public API and the part-size candidates live here too. */
#include "xfer_int.h"
#include "s3m/diff.h"
#include "s3m/hash.h"
#include "s3m/log.h"
#include "s3m/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S3_MIN_PART (5 * S3M__MIB)

enum xfer_state {
    X_NEW,       /* started; the first attempt runs from the loop */
    X_SINGLE,    /* one stream or one CopyObject */
    X_MULTIPART, /* the upload (mpu.c) runs */
    X_REMETA,    /* a resumed upload completed: its object's metadata checked (HEAD) */
    X_FAILED,    /* the attempt's request could not start: it fails from the loop */
    X_RETRY,     /* waiting before the next attempt */
    X_DONE,
};
static const char *const state_names[] = {"NEW",    "SINGLE", "MULTIPART", "REMETA",
                                          "FAILED", "RETRY",  "DONE"};

/* What the listed source ETag says, which decides how an attempt copies. */
enum {
    K_PLAIN,  /* an MD5: Content-MD5 on the PUT, the CopyObject's ETag checked */
    K_MULTI,  /* "<md5>-N": a multipart upload in the source's layout */
    K_OPAQUE, /* neither, or a multipart layout that could not be learned nor guessed */
};

/* How a single stream of a plain-ETag source is checked (x->check); it only goes up, and a
 * step up starts the next stream at once, without using an attempt. */
enum {
    C_SERVER, /* Content-MD5 = source ETag, the destination's ETag must equal it: no client MD5 */
    C_CLIENT, /* the same, and the client hashes the bytes read (BadDigest or another ETag came) */
    C_REREAD, /* the source said its ETag is no MD5 (SSE-KMS, SSE-C) and the bytes read do not
               * hash to it: Content-MD5 = that earlier read's MD5, so that only bytes two reads
               * agree on are stored */
};

static void set_state(struct s3m_xfer *x, enum xfer_state st)
{
    s3m_log(S3M_LOG_DEBUG, "xfer", "%s: %s -> %s", x->src_key, state_names[x->state],
            state_names[st]);
    x->state = st;
}

static void attempt_start(struct s3m_xfer *x);
static void start_single(struct s3m_xfer *x);

static void finished(struct s3m_xfer *x)
{
    set_state(x, X_DONE);
    x->done(x, x->ud);
}

/* ---- between attempts ---- */

static bool retry_worth(const struct s3m_errinfo *ei)
{
    if (ei->err == S3M_ENOTFOUND || ei->err == S3M_EAUTH || ei->err == S3M_ETLS)
        return false;
    return ei->http_status != 412; /* the source changed since it was listed */
}

/* An attempt failed (x->ei); a multipart upload is already aborted when we get here. */
static void attempt_failed(struct s3m_xfer *x)
{
    struct s3m_xfer_ctx *c = x->ctx;
    if (x->attempt < c->attempts && retry_worth(&x->ei) && !c->stopping &&
        !(c->cut && x->ei.err == S3M_EABORTED)) {
        char line[900];
        struct s3m_log_fields lf = {c->src->remote->name, x->src_bucket, x->src_key, &x->ei};
        s3m_logf(S3M_LOG_INFO, "xfer", &lf, "%s: attempt %d failed (%s), retrying", x->src_key,
                 x->attempt, s3m_errinfo_str(&x->ei, line, sizeof(line)));
        c->object_retries++;
        set_state(x, X_RETRY);
        s3m_timer_start(x->timer,
                        (uint64_t)s3m_s3_backoff_ms(c->dst, x->attempt, x->retry_after_ms), 0);
        return;
    }
    finished(x);
}

static void on_timer(void *ud)
{
    struct s3m_xfer *x = ud;
    if (x->state == X_NEW || x->state == X_RETRY)
        attempt_start(x);
    else if (x->state == X_FAILED)
        attempt_failed(x);
}

/* ---- SINGLE: one stream, or one CopyObject inside the server ---- */

static void single_finished(struct s3m_xfer *x, const struct s3m__outcome *o)
{
    x->ei = o->ei;
    x->retry_after_ms = o->retry_after_ms;
    if (o->ei.err)
        attempt_failed(x);
    else
        finished(x);
}

/* AWS S3: the ETag of an object encrypted with SSE-KMS or SSE-C is not the MD5 of its bytes. */
static bool etag_not_md5(const struct s3m_s3_req *get)
{
    const char *sse = s3m_s3_resp_header(get, "x-amz-server-side-encryption");
    return (sse && !strncasecmp(sse, "aws:kms", 7)) ||
           s3m_s3_resp_header(get, "x-amz-server-side-encryption-customer-algorithm");
}

/* The PUT of the stream, once the GET's headers (the metadata to copy) are in. A plain source
 * ETag goes as Content-MD5: the destination checks the bytes it receives against the source's
 * MD5 (end to end) and answers it as its ETag; the client hashes only where that cannot hold. */
static struct s3m_s3_req *single_put(void *ud, const struct s3m_s3_req *get,
                                     struct s3m__pipe_check *chk)
{
    struct s3m_xfer *x = ud;
    s3m__meta_take(&x->meta, get);
    struct s3m_s3_req *r = s3m_s3_put_object(x->ctx->dst, x->dst_bucket, x->dst_key);
    s3m__meta_add(&x->meta, r);
    if (x->tags && *x->tags)
        s3m_s3_req_header(r, S3M__TAGGING_HEADER, x->tags);
    uint8_t md5[S3M_MD5_LEN];
    char b64[32];
    x->sse = etag_not_md5(get); /* only the source's own word, per object, never a guess */
    if (x->kind == K_PLAIN && x->check == C_SERVER && x->sse)
        x->check = C_CLIENT;
    const char *sum = x->check == C_REREAD ? x->read_md5 : x->etag;
    chk->hash = x->kind != K_PLAIN || x->check != C_SERVER;
    if (x->kind == K_PLAIN && !s3m_unhex16(sum, md5)) {
        s3m_base64(md5, sizeof(md5), b64);
        s3m_s3_req_header(r, "Content-MD5", b64);
        if (!chk->hash)
            snprintf(chk->expect, sizeof(chk->expect), "%.32s", x->etag);
    }
    return r;
}

/* A plain-ETag stream's check steps up (true: the next stream started). C_SERVER: the bytes'
 * MD5 was not the source ETag (BadDigest, or another ETag stored): hash the next read. C_CLIENT:
 * the bytes read hash to something else than the source ETag, and the source said its ETag is
 * no MD5 (SSE-KMS, SSE-C): read again and store only what agrees with this read. Without the
 * source's word, bytes that keep hashing to something else are damaged, never stored as good:
 * the attempt fails (single_streamed). */
static bool check_up(struct s3m_xfer *x, const struct s3m__outcome *o)
{
    bool other = o->md5[0] && s3m_strcasecmp(o->md5, x->etag);
    const char *what = NULL;
    if (x->check == C_SERVER && o->digest) {
        x->check = C_CLIENT;
        what = "the bytes' MD5 is not the source ETag: hashing them on the client";
    } else if (x->check == C_CLIENT && x->sse && other && (o->digest || !o->ei.err)) {
        x->check = C_REREAD;
        snprintf(x->read_md5, sizeof(x->read_md5), "%s", o->md5);
        what = "the bytes read have another MD5 than the source ETag: reading them again";
    }
    if (!what || x->ctx->stopping)
        return false;
    s3m_log(S3M_LOG_INFO, "xfer", "%s: %s (ETag %s, read %s)", x->src_key, what, x->etag,
            o->md5[0] ? o->md5 : "-");
    start_single(x);
    return true;
}

static void single_streamed(void *ud, const struct s3m__outcome *o)
{
    struct s3m_xfer *x = ud;
    struct s3m__outcome v = *o;
    if (x->kind == K_PLAIN && check_up(x, o))
        return;
    if (x->kind == K_PLAIN && x->check == C_REREAD && v.md5[0] &&
        s3m_strcasecmp(v.md5, x->read_md5)) { /* a destination that ignores Content-MD5 */
        if (!v.ei.err)
            s3m_errinfo_set(&v.ei, S3M_EINTEGRITY, "two reads of the source differ (%s, %s)",
                            x->read_md5, v.md5);
        snprintf(x->read_md5, sizeof(x->read_md5), "%s", v.md5); /* the next must agree */
        v.retryable = true;
    } else if (x->kind == K_PLAIN && x->check != C_SERVER && !x->sse && !v.ei.err && v.md5[0] &&
               s3m_strcasecmp(v.md5, x->etag)) {
        /* this read's reply did not say its ETag is no MD5 (an earlier one's word does not
         * vouch for it): damaged bytes, an error (stored only by a destination that ignores
         * Content-MD5; one that checks it answered BadDigest, an error already) */
        s3m_errinfo_set(&v.ei, S3M_EINTEGRITY,
                        "the bytes read from the source have MD5 %s, not its ETag %s", v.md5,
                        x->etag);
        v.retryable = true;
    } else if (!v.ei.err && x->kind == K_PLAIN && x->check == C_REREAD &&
               s3m_strcasecmp(v.md5, x->etag)) { /* equal: the source's bytes after all */
        snprintf(x->note, sizeof(x->note),
                 "source ETag %s is not the MD5 of its bytes: stored what two reads agree on "
                 "(MD5 %s), not verified against the source",
                 x->etag, v.md5);
        s3m_log(S3M_LOG_WARN, "xfer", "%s: %s", x->src_key, x->note);
    }
    single_finished(x, &v);
}

/* The source's tags, read once per copy where its GET says it has some (x-amz-tagging-count):
 * the PUT waits for them (x-amz-tagging), the GET paused meanwhile. */
struct tags_read {
    struct s3m_xfer *x;
    struct s3m_xfer_pipe *p;
};

static void single_tags_read(struct s3m_s3_req *r, void *ud)
{
    struct tags_read *t = ud;
    struct s3m_xfer *x = t->x;
    struct s3m_xfer_pipe *p = t->p;
    free(t);
    x->cur = NULL;
    if (!r->ei.err) {
        free(x->tags);
        x->tags = s3m__tags_value(r);
    }
    s3m__pipe_prepared(p, &r->ei);
    s3m_s3_req_free(r);
}

static bool single_prepare(void *ud, struct s3m_xfer_pipe *p, const struct s3m_s3_req *get)
{
    struct s3m_xfer *x = ud;
    if (x->tags || !s3m__tags_wanted(x->ctx, get))
        return false;
    struct tags_read *t = s3m_calloc(1, sizeof(*t));
    t->x = x;
    t->p = p;
    struct s3m_s3_req *r = s3m_s3_get_tagging(x->ctx->src, x->src_bucket, x->src_key);
    x->cur = r; /* a stop cancels it: the stream then fails */
    if (!s3m_s3_submit(r, single_tags_read, t))
        return true;
    x->cur = NULL; /* copied without them would be silent: the stream fails */
    free(t);
    s3m__pipe_prepared(p, &r->ei);
    s3m_s3_req_free(r);
    return true;
}

static const struct s3m__pipe_cbs single_cbs = {single_put, single_prepare, NULL, single_streamed};

static void tags_cleared(struct s3m_s3_req *r, void *ud)
{
    struct s3m_xfer *x = ud;
    x->cur = NULL;
    struct s3m__outcome o = {r->ei, false, r->retry_after_ms, "", "", false};
    if (o.ei.err) {
        char msg[sizeof(o.ei.message)];
        snprintf(msg, sizeof(msg), "%s", o.ei.message);
        snprintf(o.ei.message, sizeof(o.ei.message),
                 "removing the copied tags (the object keeps them: remove them by hand, "
                 "or run without --no-tags): %.200s",
                 msg);
    }
    s3m_s3_req_free(r);
    single_finished(x, &o);
}

/* --no-tags: radosgw copies the tags whatever x-amz-tagging-directive says: they are removed
 * (the copy is new, what is removed is only what it copied). True when it runs. */
static bool clear_copied_tags(struct s3m_xfer *x, struct s3m__outcome *o)
{
    const char *prov = x->ctx->dst->remote ? x->ctx->dst->remote->provider : NULL;
    if (!x->ctx->no_tags || !prov || s3m_strcasecmp(prov, "Ceph"))
        return false;
    struct s3m_s3_req *r = s3m_s3_clear_tagging(x->ctx->dst, x->dst_bucket, x->dst_key);
    x->cur = r;
    if (!s3m_s3_submit(r, tags_cleared, x))
        return true;
    x->cur = NULL;
    o->ei = r->ei; /* the copy fails: never silently left with them */
    s3m_s3_req_free(r);
    return false;
}

static void server_copy_done(struct s3m_s3_req *r, void *ud)
{
    struct s3m_xfer *x = ud;
    x->cur = NULL;
    struct s3m__outcome o = {r->ei, false, r->retry_after_ms,
                             "",    "",    false}; /* the client retried it */
    if (!o.ei.err && r->xml && r->xml->single.etag && x->kind == K_PLAIN &&
        s3m_strcasecmp(r->xml->single.etag, x->etag))
        s3m_errinfo_set(&o.ei, S3M_EINTEGRITY, "server-side copy has ETag %s, source %s",
                        r->xml->single.etag, x->etag);
    s3m_s3_req_free(r);
    if (!o.ei.err && clear_copied_tags(x, &o))
        return;
    single_finished(x, &o);
}

static void start_single(struct s3m_xfer *x)
{
    set_state(x, X_SINGLE);
    struct s3m_xfer_ctx *c = x->ctx;
    if (!c->server_side) {
        struct s3m__pipe_src src = {x->src_bucket, x->src_key, x->etag, 0, x->size, false, 0};
        s3m__pipe_start(c, &src, &single_cbs, x);
        return;
    }
    struct s3m_s3_req *r = s3m_s3_copy_object(c->dst, x->dst_bucket, x->dst_key, x->src_bucket,
                                              x->src_key, x->etag);
    if (c->no_tags) /* CopyObject copies them unless told: none */
        s3m_s3_req_header(r, "x-amz-tagging-directive", "REPLACE");
    x->cur = r;
    if (s3m_s3_submit(r, server_copy_done, x)) {
        x->cur = NULL;
        x->ei = r->ei;
        s3m_s3_req_free(r);
        set_state(x, X_FAILED);
        s3m_timer_start(x->timer, 0, 0);
    }
}

/* ---- MULTIPART: the upload, kept across attempts ---- */

/* A completed multipart copy's tags written again (radosgw ignores x-amz-tagging on
 * CreateMultipartUpload): a failure is the copy's, never an untagged copy said done. */
static void mpu_tagged(struct s3m_s3_req *r, void *ud)
{
    struct s3m_xfer *x = ud;
    x->cur = NULL;
    x->ei = r->ei;
    if (x->ei.err) {
        char msg[sizeof(x->ei.message)];
        snprintf(msg, sizeof(msg), "%s", x->ei.message);
        snprintf(x->ei.message, sizeof(x->ei.message),
                 "writing its tags (the object is there without them: a run with --compare "
                 "etag,tags writes them): %.300s",
                 msg);
    }
    s3m_s3_req_free(r);
    finished(x);
}

static void mpu_tag(struct s3m_xfer *x)
{
    /* none: a resumed upload was created by an earlier run, with the tags the source had then */
    struct s3m_s3_req *r = x->meta.tagging_xml
                             ? s3m_s3_put_tagging_xml(x->ctx->dst, x->dst_bucket, x->dst_key,
                                                      x->meta.tagging_xml)
                             : s3m_s3_clear_tagging(x->ctx->dst, x->dst_bucket, x->dst_key);
    x->cur = r; /* a stop cancels it */
    if (!s3m_s3_submit(r, mpu_tagged, x))
        return;
    x->cur = NULL;
    x->ei = r->ei;
    s3m_s3_req_free(r);
    set_state(x, X_FAILED);
    s3m_timer_start(x->timer, 0, 0);
}

static void start_multipart(struct s3m_xfer *x, enum s3m__mpu_mode mode);

/* REMETA: the HEAD of a resumed upload's object is back. The upload was created by an earlier
 * run with the source's metadata of then (S3 reads no open upload's metadata): where it is not
 * what a fresh copy writes, the object is copied again, afresh (the upload resumes no more). */
static void remeta_done(struct s3m_s3_req *r, void *ud)
{
    struct s3m_xfer *x = ud;
    const char *recorded;
    char why[256] = "";
    x->cur = NULL;
    x->ei = r->ei;
    (void)s3m__mpu_resumed(x->mpu, &recorded);
    bool same = x->ei.err || s3m__meta_same(&x->meta, recorded, x->etag, r, why, sizeof(why));
    s3m_s3_req_free(r);
    if (!same && x->ctx->stopping)
        s3m_errinfo_set(&x->ei, S3M_EABORTED, "interrupted: its metadata is an older source's");
    if (x->ei.err) {
        attempt_failed(x); /* a next attempt copies afresh */
    } else if (!same) {
        s3m_log(S3M_LOG_NOTICE, "xfer",
                "resumed upload of %s carried an older source version's metadata: copying it "
                "afresh (%s)",
                x->dst_key, why);
        start_multipart(x, (enum s3m__mpu_mode)x->mpu_mode);
    } else if (x->meta.tagging_xml || !x->ctx->no_tags) {
        mpu_tag(x); /* then the source's tags of now (none: removed), as it was created with
                     * the tags of the earlier run's time, and tags change without the ETag */
    } else {
        finished(x);
    }
}

static void remeta_start(struct s3m_xfer *x)
{
    set_state(x, X_REMETA);
    struct s3m_s3_req *r = s3m_s3_head_object(x->ctx->dst, x->dst_bucket, x->dst_key, 0);
    x->cur = r;
    if (s3m_s3_submit(r, remeta_done, x)) {
        x->cur = NULL;
        x->ei = r->ei;
        s3m_s3_req_free(r);
        set_state(x, X_FAILED);
        s3m_timer_start(x->timer, 0, 0);
    }
}

static void mpu_ended(void *ud, enum s3m__mpu_end end, const struct s3m__outcome *o,
                      const char *note)
{
    struct s3m_xfer *x = ud;
    snprintf(x->note, sizeof(x->note), "%s", note);
    x->ei = o->ei;
    x->retry_after_ms = o->retry_after_ms;
    const char *recorded;
    if (end == S3M__MPU_DONE && s3m__mpu_resumed(x->mpu, &recorded)) {
        remeta_start(x); /* then its tags (remeta_done) */
    } else if (end == S3M__MPU_DONE && x->meta.tagging_xml) {
        mpu_tag(x);
    } else if (end == S3M__MPU_DONE) {
        finished(x);
    } else if (end == S3M__MPU_FAILED) {
        attempt_failed(x);
    } else { /* no layout: copied as one part, without Content-MD5 (the ETag is no MD5) */
        x->kind = K_OPAQUE;
        start_single(x);
    }
}

static void start_multipart(struct s3m_xfer *x, enum s3m__mpu_mode mode)
{
    if (x->mpu && x->mpu_mode != (int)mode) {
        s3m__mpu_free(x->mpu);
        x->mpu = NULL;
    }
    if (!x->mpu) {
        struct s3m__object o = {x->src_bucket, x->src_key, x->dst_bucket, x->dst_key,
                                x->etag,       x->size,    &x->meta};
        x->mpu = s3m__mpu_new(x->ctx, &o, mode, mpu_ended, x);
        x->mpu_mode = (int)mode;
    }
    set_state(x, X_MULTIPART);
    s3m__mpu_run(x->mpu);
}

/* ---- attempts ---- */

static void attempt_start(struct s3m_xfer *x)
{
    if (x->ctx->stopping) {
        s3m_errinfo_set(&x->ei, S3M_EABORTED, "interrupted");
        attempt_failed(x);
        return;
    }
    s3m_errinfo_clear(&x->ei);
    x->retry_after_ms = 0;
    x->attempt++;
    if (x->kind == K_MULTI) /* its own layout: first a HEAD (metadata, part sizes) */
        start_multipart(x, S3M__MPU_SOURCE);
    else if (x->size <= x->ctx->single_max)
        start_single(x);
    else /* above --multipart-threshold: parts of --multipart-chunk-size (a multipart ETag) */
        start_multipart(x, S3M__MPU_CHUNKED);
}

struct s3m_xfer *s3m_xfer_start(struct s3m_xfer_ctx *c, const char *src_bucket, const char *src_key,
                                const char *dst_bucket, const char *dst_key, uint64_t size,
                                const char *etag, s3m_xfer_done_cb done, void *ud)
{
    struct s3m_xfer *x = s3m_calloc(1, sizeof(*x));
    x->ctx = c;
    x->src_bucket = s3m_strdup(src_bucket);
    x->src_key = s3m_strdup(src_key);
    x->dst_bucket = s3m_strdup(dst_bucket);
    x->dst_key = s3m_strdup(dst_key);
    x->size = size;
    snprintf(x->etag, sizeof(x->etag), "%s", etag ? etag : "");
    int parts = s3m_etag_parts(x->etag);
    x->kind = parts > 0 ? K_MULTI : parts == 0 ? K_PLAIN : K_OPAQUE;
    x->done = done;
    x->ud = ud;
    x->state = X_NEW;
    x->all_next = c->xfers;
    c->xfers = x;
    x->timer = s3m_timer_new(c->src->loop, on_timer, x);
    s3m_timer_start(x->timer, 0, 0); /* done never runs from inside this call */
    return x;
}

void s3m_xfer_free(struct s3m_xfer *x)
{
    if (!x)
        return;
    for (struct s3m_xfer **pp = &x->ctx->xfers; *pp; pp = &(*pp)->all_next) {
        if (*pp == x) {
            *pp = x->all_next;
            break;
        }
    }
    s3m_timer_free(x->timer);
    s3m__mpu_free(x->mpu);
    s3m__meta_clear(&x->meta);
    free(x->tags);
    free(x->src_bucket);
    free(x->src_key);
    free(x->dst_bucket);
    free(x->dst_key);
    free(x);
}

/* ---- the context ---- */

void s3m_xfer_ctx_init(struct s3m_xfer_ctx *c, struct s3m_s3 *src, struct s3m_s3 *dst)
{
    memset(c, 0, sizeof(*c));
    c->src = src;
    c->dst = dst;
    c->part_concurrency = 4;
    c->buffer_size = S3M_XFER_BUFFER_SIZE;
    c->attempts = 3;
    c->single_max = 5ull << 30;
    c->chunk_size = 64 * S3M__MIB;
    c->kick = s3m_kick_new(src->loop, s3m__pipe_on_kick, c);
}

void s3m_xfer_ctx_cut(struct s3m_xfer_ctx *c)
{
    c->cut = true;
    s3m__pipe_cut_waiting(c);
}

void s3m_xfer_ctx_stop(struct s3m_xfer_ctx *c)
{
    c->stopping = true;
    s3m__pipe_stop_all(c);
    for (struct s3m_xfer *x = c->xfers; x; x = x->all_next) {
        if (x->mpu)
            s3m__mpu_stop(x->mpu);
        if (x->cur) /* a CopyObject or a HEAD: its done callback sees the cancel */
            s3m_s3_cancel(x->cur);
        if (s3m_timer_active(x->timer)) /* a wait ends now */
            s3m_timer_start(x->timer, 0, 0);
    }
}

void s3m_xfer_ctx_close(struct s3m_xfer_ctx *c)
{
    s3m_kick_free(c->kick); /* its callback never runs again */
    c->kick = NULL;
    c->close_done = true;
}

/* ---- part layouts ---- */

int s3m_xfer_part_candidates(uint64_t size, int parts, uint64_t *out, int max)
{
    static const uint64_t common[] = {5,  8,  16,  10,  15,   32, 64,  100, 128,
                                      50, 25, 256, 512, 1024, 20, 200, 500, 96};
    int n = 0;
    uint64_t tries[S3M_ARRAY_LEN(common) + 2];
    size_t nt = 0;
    for (size_t i = 0; i < S3M_ARRAY_LEN(common); i++)
        tries[nt++] = common[i] * S3M__MIB;
    uint64_t even = (size + (uint64_t)parts - 1) / (uint64_t)parts;
    tries[nt++] = (even + S3M__MIB - 1) / S3M__MIB * S3M__MIB; /* an even split rounded up */
    tries[nt++] = even;
    for (size_t i = 0; i < nt && n < max; i++) {
        uint64_t ps = tries[i];
        if (ps < S3_MIN_PART || (size + ps - 1) / ps != (uint64_t)parts)
            continue;
        bool dup = false;
        for (int k = 0; k < n; k++)
            dup |= out[k] == ps;
        if (!dup)
            out[n++] = ps;
    }
    return n;
}
