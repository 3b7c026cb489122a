/* learn.c - what a source copied in parts is (mpu.c's HEAD state): a plain HEAD for its metadata
 * (If-Match: still the listed version), its tags (GetObjectTagging, where the HEAD counts some),
 * then for a multipart source HEAD ?partNumber=1..N-1 for its part sizes where the server tells
 * them. Which HEAD a reply answers travels as the request's user data. It
 * reports to the upload through its callback. */
#include "xfer_int.h"
#include "s3m/util.h"

#include <stdlib.h>

struct s3m__learn {
    struct s3m_xfer_ctx *c;
    struct s3m__object o;
    int src_parts;
    uint64_t *learned; /* part sizes told so far */
    int nlearned;
    struct s3m_s3_req *cur;  /* the HEAD in flight, for a stop to cancel */
    struct s3m_timer *later; /* a HEAD that could not start is reported from the loop */
    struct s3m_errinfo ei;
    s3m__learn_done_cb done;
    void *ud;
};

#define TAGS_READ (-1) /* not a HEAD: the source's tags (GetObjectTagging) */

struct head { /* a HEAD's user data: 0 the plain HEAD, N for ?partNumber=N, or TAGS_READ */
    struct s3m__learn *l;
    int part;
};

/* The end: the sizes are handed over when every one was told. */
static void end(struct s3m__learn *l, bool told)
{
    uint64_t *sizes = told ? l->learned : NULL;
    int n = told ? l->nlearned : 0;
    if (!told)
        free(l->learned);
    l->learned = NULL;
    l->done(l->ud, &l->ei, sizes, n);
}

static void on_later(void *ud)
{
    end(ud, false);
}

static void head_done(struct s3m_s3_req *r, void *ud);

static void head_submit(struct s3m__learn *l, int part)
{
    struct head *h = s3m_calloc(1, sizeof(*h));
    h->l = l;
    h->part = part;
    struct s3m_s3_req *r = part == TAGS_READ
                             ? s3m_s3_get_tagging(l->c->src, l->o.src_bucket, l->o.src_key)
                             : s3m_s3_head_object(l->c->src, l->o.src_bucket, l->o.src_key, part);
    if (!part) /* plain HEAD: metadata, and If-Match: still the listed version. No If-Match on
                * ?partNumber=: moto compares it with the part's own ETag */
        s3m_s3_req_etag_header(r, "If-Match", l->o.etag);
    l->cur = r;
    if (s3m_s3_submit(r, head_done, h)) {
        free(h);
        l->cur = NULL;
        l->ei = r->ei;
        s3m_s3_req_free(r);
        s3m_timer_start(l->later, 0, 0);
    }
}

/* One HEAD ?partNumber=N answered: true when it told part N's size (AWS S3 and moto send that
 * part's Content-Length and x-amz-mp-parts-count; radosgw Pacific ignores partNumber and
 * answers with the whole object and no parts count). */
static bool part_size_told(struct s3m__learn *l, const struct s3m_s3_req *r, uint64_t *len)
{
    const char *cl = s3m_s3_resp_header(r, "content-length");
    const char *pc = s3m_s3_resp_header(r, "x-amz-mp-parts-count");
    uint64_t count = 0;
    return cl && pc && s3m_parse_u64(cl, len) && s3m_parse_u64(pc, &count) &&
           count == (uint64_t)l->src_parts && *len > 0 && *len <= l->o.size;
}

/* Part `part`'s size told (len): the next HEAD, or the sizes are complete (the last part's
 * size is the rest of the object). False when more HEADs follow. */
static bool part_learned(struct s3m__learn *l, int part, uint64_t len)
{
    l->learned[part - 1] = len;
    l->nlearned = part;
    if (part + 1 < l->src_parts) { /* each part's size, but the last: the rest of the object */
        head_submit(l, part + 1);
        return false;
    }
    uint64_t sum = 0;
    for (int i = 0; i < part; i++)
        sum += l->learned[i];
    if (part < l->src_parts && sum < l->o.size)
        l->learned[l->nlearned++] = l->o.size - sum;
    return true;
}

/* The metadata (and tags) are in: the part sizes next, or (a single-part source copied in
 * parts: no part sizes to learn) the end. */
static void after_meta(struct s3m__learn *l)
{
    if (l->src_parts > 0)
        head_submit(l, 1);
    else
        end(l, false);
}

static void head_done(struct s3m_s3_req *r, void *ud)
{
    struct head *h = ud;
    struct s3m__learn *l = h->l;
    int part = h->part;
    free(h);
    l->cur = NULL;
    l->ei = r->ei;
    if (!l->ei.err && l->c->stopping)
        s3m_errinfo_set(&l->ei, S3M_EABORTED, "interrupted");
    if (l->ei.err) {
        s3m_s3_req_free(r);
        end(l, false);
        return;
    }
    if (!part) { /* the plain HEAD: metadata (moto drops it on ?partNumber=), and tags */
        s3m__meta_take(l->o.meta, r);
        bool tags = s3m__tags_wanted(l->c, r);
        s3m_s3_req_free(r);
        if (tags)
            head_submit(l, TAGS_READ);
        else
            after_meta(l);
        return;
    }
    if (part == TAGS_READ) {
        /* written by PutObjectTagging once the upload is complete (xfer.c mpu_tag), never as
         * x-amz-tagging on CreateMultipartUpload: radosgw ignores that header there and keeps
         * an empty tag set its GetObjectTagging then answers with no body at all */
        struct s3m_xfer_meta *m = l->o.meta;
        free(m->tagging_xml);
        m->tagging_xml = s3m__tags_xml(r);
        s3m_s3_req_free(r);
        after_meta(l);
        return;
    }
    uint64_t len = 0;
    bool told = part_size_told(l, r, &len);
    s3m_s3_req_free(r);
    if (told && !part_learned(l, part, len))
        return;
    end(l, told);
}

struct s3m__learn *s3m__learn_start(struct s3m_xfer_ctx *c, const struct s3m__object *obj,
                                    int src_parts, s3m__learn_done_cb done, void *ud)
{
    struct s3m__learn *l = s3m_calloc(1, sizeof(*l));
    l->c = c;
    l->o = *obj;
    l->src_parts = src_parts;
    l->learned = s3m_calloc((size_t)src_parts, sizeof(*l->learned));
    l->done = done;
    l->ud = ud;
    l->later = s3m_timer_new(c->src->loop, on_later, l);
    head_submit(l, 0);
    return l;
}

void s3m__learn_stop(struct s3m__learn *l)
{
    if (l && l->cur)
        s3m_s3_cancel(l->cur);
}

void s3m__learn_free(struct s3m__learn *l)
{
    if (!l)
        return;
    s3m_timer_free(l->later);
    free(l->learned);
    free(l);
}
