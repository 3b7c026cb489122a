/* part.c - one part of a multipart upload (mpu.c's PARTS state): streamed from the source
 * (pipe.c, UploadPart) or copied inside the server (UploadPartCopy, pinned to the source ETag).
 * Each part reports its end to the upload through the callback in its owner record. */
#include "xfer_int.h"
#include "s3m/util.h"

#include <stdio.h>

/* A streamed part (pipe.c) */
static struct s3m_s3_req *part_put(void *ud, const struct s3m_s3_req *get,
                                   struct s3m__pipe_check *chk)
{
    (void)get, (void)chk; /* no client MD5: the part's ETag is the server's MD5 of what it
                           * stored, and the parts' ETags are checked together (mpu_complete) */
    struct s3m__part *pt = ud;
    const struct s3m__part_owner *w = pt->own;
    return s3m_s3_upload_part(w->c->dst, w->o->dst_bucket, w->o->dst_key, w->upload_id, pt->number);
}

static bool part_may_retry(void *ud)
{
    const struct s3m__part_owner *w = ((struct s3m__part *)ud)->own;
    return w->may_retry(w->ud);
}

static void part_streamed(void *ud, const struct s3m__outcome *o)
{
    struct s3m__part *pt = ud;
    struct s3m_xfer_ctx *c = pt->own->c;
    if (!o->ei.err)
        snprintf(pt->etag, sizeof(pt->etag), "%s", o->etag);
    pt->own->done(pt, o);
    if (o->ei.err) /* the upload may have failed: its parts waiting for memory end now */
        s3m__pipe_drop_waiting(c);
}

static const struct s3m__pipe_cbs part_cbs = {part_put, NULL, part_may_retry, part_streamed};

/* A part copied inside the server (UploadPartCopy); the client retried it already. */
static void part_copy_done(struct s3m_s3_req *r, void *ud)
{
    struct s3m__part *pt = ud;
    pt->req = NULL;
    struct s3m__outcome o = {r->ei, false, r->retry_after_ms, "", "", false};
    if (!o.ei.err && r->xml && r->xml->single.etag)
        snprintf(pt->etag, sizeof(pt->etag), "%s", r->xml->single.etag);
    else if (!o.ei.err)
        s3m_errinfo_set(&o.ei, S3M_EINTEGRITY, "UploadPartCopy reply without ETag");
    s3m_s3_req_free(r);
    pt->own->done(pt, &o);
}

bool s3m__part_start(struct s3m__part *pt, struct s3m_errinfo *ei)
{
    const struct s3m__part_owner *w = pt->own;
    struct s3m_xfer_ctx *c = w->c;
    if (!c->server_side) {
        struct s3m__pipe_src src = {w->o->src_bucket, w->o->src_key, w->o->etag, pt->offset,
                                    pt->length,       true,          pt->number};
        s3m__pipe_start(c, &src, &part_cbs, pt);
        return true;
    }
    struct s3m_s3_req *r = s3m_s3_upload_part_copy(c->dst, w->o->dst_bucket, w->o->dst_key,
                                                   w->upload_id, pt->number, w->o->src_bucket,
                                                   w->o->src_key, pt->offset,
                                                   pt->offset + pt->length - 1);
    s3m_s3_req_etag_header(r, "x-amz-copy-source-if-match", w->o->etag);
    if (s3m_s3_submit(r, part_copy_done, pt)) {
        *ei = r->ei;
        s3m_s3_req_free(r);
        return false;
    }
    pt->req = r;
    return true;
}
