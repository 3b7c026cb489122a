/* learn.c - what a source copied in parts is (mpu.c's HEAD state): a plain HEAD for its metadata
 * (If-Match: still the listed version), its tags (GetObjectTagging, where the HEAD counts some),
 * then for a multipart source HEAD ?partNumber=1 for part 1's size P where the server tells it.
 * When the object fits a uniform layout of P (N parts: (N-1)*P < size <= N*P, as every tool we
 * know writes) that layout is assumed without more HEADs: mpu.c checks it as a guess (the
 * composite ETag before Complete) and on a miss, or before sending into an upload it resumed in
 * that layout, asks here for the exact sizes (`was`: HEAD ?partNumber=1..N-1, one after another,
 * the last part the rest). Otherwise the other parts'
 * sizes are asked at once the same way. Which HEAD a reply answers travels as the request's user
 * data. It reports to the upload through its callback. */
#include "xfer_int.h"
#include "s3m/layout.h"
#include "s3m/log.h"
#include "s3m/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct s3m__learn {
    struct s3m_xfer_ctx *c;
    struct s3m__object o;
    int src_parts;
    uint64_t *learned; /* part sizes told so far */
    int nlearned;
    const uint64_t *was;     /* exact: the layout assumed before (the owner's), else NULL */
    bool assumed;            /* learned holds the uniform layout of part 1's size, not told sizes */
    struct s3m_s3_req *cur;  /* the HEAD in flight, for a stop to cancel */
    struct s3m_timer *later; /* a HEAD that could not start is reported from the loop */
    struct s3m_errinfo ei;
    s3m__learn_done_cb done;
    void *ud;
};

#define TAGS_READ (-1) /* not a HEAD: the source's tags (GetObjectTagging) */
/* after the exact sizes asked (`was`): a plain HEAD with If-Match, that they are the listed
 * version's (the ?partNumber= HEADs cannot carry it): a source rewritten since is a 412, a
 * changed source, never an integrity failure of the bytes read */
#define VERIFY (-2)

struct head { /* a HEAD's user data: 0 the plain HEAD, N for ?partNumber=N, or TAGS_READ */
    struct s3m__learn *l;
    int part;
};

/* The exact sizes asked after a layout was assumed: a layout of the object (false: ei set);
 * assumed tells whether they are the ones in was. */
static bool relearned(struct s3m__learn *l, bool told)
{
    if (!told || !s3m_layout_check(l->o.size, l->learned, l->nlearned) ||
        l->nlearned != l->src_parts) {
        s3m_errinfo_set(&l->ei, S3M_ES3, "the source no longer tells its %d part sizes",
                        l->src_parts);
        return false;
    }
    l->assumed = !memcmp(l->learned, l->was, (size_t)l->nlearned * sizeof(*l->was));
    if (!l->assumed)
        s3m_log(S3M_LOG_INFO, "xfer",
                "%s: the source's %d parts are not uniform: copied in their sizes", l->o.src_key,
                l->nlearned);
    return true;
}

/* The end: the sizes are handed over when every one was told. */
static void end(struct s3m__learn *l, bool told)
{
    if (l->was && !l->ei.err)
        told = relearned(l, told);
    uint64_t *sizes = told ? l->learned : NULL;
    int n = told ? l->nlearned : 0;
    if (!told)
        free(l->learned);
    l->learned = NULL;
    l->done(l->ud, &l->ei, sizes, n, told && l->assumed);
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
                             : s3m_s3_head_object(l->c->src, l->o.src_bucket, l->o.src_key,
                                                  part == VERIFY ? 0 : part);
    /* a plain HEAD (metadata, or VERIFY) with If-Match: still the listed version. None on
     * ?partNumber=: moto compares it with the part's own ETag */
    if (part == 0 || part == VERIFY)
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
 * size is the rest of the object, or the object fits part 1's uniform layout: assumed, with
 * more than 2 parts; with 2 it is exact). False when more HEADs follow. */
static bool part_learned(struct s3m__learn *l, int part, uint64_t len)
{
    l->learned[part - 1] = len;
    l->nlearned = part;
    if (part == 1 && !l->was && l->src_parts > 2 &&
        s3m_layout_uniform(l->o.size, len, NULL, 0) == l->src_parts) {
        l->nlearned = s3m_layout_uniform(l->o.size, len, l->learned, l->src_parts);
        l->assumed = true;
        return true;
    }
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
    if (part == VERIFY) { /* the sizes told are the listed version's */
        s3m_s3_req_free(r);
        end(l, true);
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
    if (told && l->was) {
        head_submit(l, VERIFY);
        return;
    }
    end(l, told);
}

struct s3m__learn *s3m__learn_start(struct s3m_xfer_ctx *c, const struct s3m__object *obj,
                                    int src_parts, const uint64_t *was, s3m__learn_done_cb done,
                                    void *ud)
{
    struct s3m__learn *l = s3m_calloc(1, sizeof(*l));
    l->c = c;
    l->o = *obj;
    l->src_parts = src_parts;
    l->learned = s3m_calloc((size_t)src_parts, sizeof(*l->learned));
    l->done = done;
    l->ud = ud;
    l->was = was;
    l->later = s3m_timer_new(c->src->loop, on_later, l);
    head_submit(l, was && src_parts > 0 ? 1 : 0);
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

struct s3m__part *s3m__learn_lay_out(uint64_t size, const uint64_t *sizes, int n, bool assumed,
                                     uint64_t ps, int *nparts, char note[S3M__NOTE_LEN])
{
    *nparts = sizes ? n : s3m_layout_uniform(size, ps, NULL, 0);
    if (*nparts <= 0) /* candidates and learned layouts have 1..10000 parts */
        abort();
    struct s3m__part *parts = s3m_calloc((size_t)*nparts, sizeof(*parts));
    uint64_t off = 0;
    for (int i = 0; i < *nparts; i++) {
        parts[i].number = i + 1;
        parts[i].offset = off;
        parts[i].length = sizes ? sizes[i] : i + 1 < *nparts ? ps : size - (uint64_t)i * ps;
        off += parts[i].length;
    }
    if (off != size)
        abort();
    if (sizes)
        snprintf(note, S3M__NOTE_LEN, "%d parts as on the source (sizes %s)", *nparts,
                 assumed ? "uniform, of part 1's" : "told by the server");
    else
        snprintf(note, S3M__NOTE_LEN, "%d parts of %" PRIu64 " bytes", *nparts, ps);
    return parts;
}

bool s3m__parts_etag(const struct s3m__part *parts, int n, char out[48])
{
    const char **md5s = s3m_calloc((size_t)n, sizeof(*md5s));
    for (int i = 0; i < n; i++)
        md5s[i] = parts[i].etag;
    bool formed = s3m_layout_etag(md5s, n, out);
    free(md5s);
    return formed;
}

struct s3m_mpu_part *s3m__parts_list(const struct s3m__part *parts, int n)
{
    struct s3m_mpu_part *pp = s3m_calloc((size_t)n, sizeof(*pp));
    for (int i = 0; i < n; i++) {
        pp[i].number = parts[i].number;
        snprintf(pp[i].etag, sizeof(pp[i].etag), "%s", parts[i].etag);
    }
    return pp;
}

struct s3m__recheck_part *s3m__parts_recheck(const struct s3m__part *parts, int n)
{
    struct s3m__recheck_part *rp = s3m_calloc((size_t)n, sizeof(*rp));
    for (int i = 0; i < n; i++)
        rp[i] = (struct s3m__recheck_part){parts[i].offset, parts[i].length, parts[i].etag,
                                           parts[i].number};
    return rp;
}

struct s3m__resume_part *s3m__parts_resume(const struct s3m__part *parts, int n)
{
    struct s3m__resume_part *rp = s3m_calloc((size_t)n, sizeof(*rp));
    for (int i = 0; i < n; i++)
        rp[i] = (struct s3m__resume_part){parts[i].offset, parts[i].length, "", false};
    return rp;
}
