/* resume.c - before a multipart copy creates its upload (mpu.c's RESUME state): look for an
 * upload of the same destination key left by an earlier run, and keep what of it is provably
 * the current source's. A small state machine: LISTING (ListMultipartUploads, prefix = the key,
 * exact key, initiated before the job began) -> ABORTING (the other candidates) -> PARTS
 * (ListParts, paged) -> VERIFYING (each listed part's range of the source read with If-Match on
 * the source ETag and hashed: kept only where its MD5 is the part's ETag) -> DONE, or GIVING_UP
 * (the chosen upload aborted: the copy starts afresh) -> DONE. It reports to the upload
 * through its callback.
 *
 * Safety: a part is kept only where its number, offset and size are those of the layout the
 * copy needs and the destination's MD5 of it equals the MD5 of the same bytes of the source as
 * it is now; the upload is then completed only after the composite ETag check (mpu.c). Any
 * doubt (another size, a part outside the layout, the source changed: 412, a source whose
 * ETags are no MD5s: SSE-KMS / SSE-C, a failed request, no part kept) gives the upload up. */
#include "sweep_int.h"
#include "xfer_int.h"
#include "s3m/diff.h"
#include "s3m/hash.h"
#include "s3m/log.h"
#include "s3m/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_OTHERS 16 /* leftover uploads of one key aborted here; more wait for the sweep */

enum resume_state { R_LISTING, R_ABORTING, R_PARTS, R_VERIFYING, R_GIVING_UP, R_DONE };
static const char *const state_names[] = {"LISTING",   "ABORTING",  "PARTS",
                                          "VERIFYING", "GIVING_UP", "DONE"};

struct s3m__resume {
    struct s3m_xfer_ctx *c;
    struct s3m__object o;
    struct s3m__resume_part *parts; /* the owner's: the layout the copy needs */
    int nparts;
    enum resume_state state; /* drives control; set only through set_state */
    char *id;                /* the upload chosen (the newest candidate) */
    int64_t id_time;
    char *others[MAX_OTHERS]; /* the other candidates, aborted */
    int nothers;
    char *key_marker, *id_marker; /* ListMultipartUploads paging */
    int part_marker;              /* ListParts paging */
    int idx;                      /* VERIFYING: the part being read */
    struct s3m_md5_ctx md5;
    struct s3m_s3_req *cur; /* the request in flight, for a stop to cancel */
    struct s3m_timer *later;
    int kept;
    bool stopped;
    s3m__resume_done_cb done;
    void *ud;
};

static void set_state(struct s3m__resume *r, enum resume_state st)
{
    s3m_log(S3M_LOG_DEBUG, "xfer", "%s: resume %s -> %s", r->o.dst_key, state_names[r->state],
            state_names[st]);
    r->state = st;
}

static void list_page(struct s3m__resume *r);
static void parts_page(struct s3m__resume *r);
static void verify_next(struct s3m__resume *r);
static void abort_next(struct s3m__resume *r);

/* The end: the upload adopted (kept parts marked), or none. From the loop only. */
static void finish(struct s3m__resume *r)
{
    set_state(r, R_DONE);
    bool adopted = r->id && r->kept > 0 && !r->stopped;
    if (adopted) {
        r->c->uploads_resumed++;
        r->c->parts_kept += (uint64_t)r->kept;
        s3m_log(S3M_LOG_NOTICE, "xfer", "resumed upload of %s: %d of %d parts kept", r->o.dst_key,
                r->kept, r->nparts);
    }
    r->done(r->ud, adopted ? r->id : NULL, r->stopped);
}

static void on_later(void *ud)
{
    finish(ud);
}

/* Send a request (false: it could not start, r->cur is clear). */
static bool submit(struct s3m__resume *r, struct s3m_s3_req *q, s3m_s3_done_cb cb)
{
    r->cur = q;
    if (!s3m_s3_submit(q, cb, r))
        return true;
    r->cur = NULL;
    s3m_s3_req_free(q);
    return false;
}

/* The chosen upload cannot be resumed (why): abort it, then the copy starts afresh. */
static void give_up(struct s3m__resume *r, const char *why)
{
    s3m_log(S3M_LOG_NOTICE, "xfer", "%s: not resuming upload %s: %s; starting afresh", r->o.dst_key,
            r->id, why);
    for (int i = 0; i < r->nparts; i++)
        r->parts[i].kept = false;
    r->kept = 0;
    if (r->stopped || r->nothers >= MAX_OTHERS) { /* a stop leaves it to the next run */
        s3m_timer_start(r->later, 0, 0);
        return;
    }
    r->others[r->nothers++] = r->id;
    r->id = NULL;
    set_state(r, R_GIVING_UP);
    abort_next(r);
}

/* ---- ABORTING / GIVING_UP: one AbortMultipartUpload at a time ---- */

static void aborted(struct s3m_s3_req *q, void *ud)
{
    struct s3m__resume *r = ud;
    r->cur = NULL;
    if (q->ei.err && q->ei.http_status != 404)
        s3m_log(S3M_LOG_WARN, "xfer", "%s: could not abort leftover upload: %s", r->o.dst_key,
                q->ei.code[0] ? q->ei.code : q->ei.message);
    else
        r->c->uploads_dropped++;
    s3m_s3_req_free(q);
    abort_next(r);
}

static void abort_next(struct s3m__resume *r)
{
    while (r->nothers > 0 && !r->c->stopping) {
        char *id = r->others[--r->nothers];
        s3m_log(S3M_LOG_INFO, "xfer", "%s: aborting leftover upload %s", r->o.dst_key, id);
        struct s3m_s3_req *q = s3m_s3_abort_mpu(r->c->dst, r->o.dst_bucket, r->o.dst_key, id);
        free(id);
        if (submit(r, q, aborted))
            return;
    }
    r->stopped |= r->c->stopping;
    if (r->state == R_ABORTING && r->id && !r->stopped) {
        set_state(r, R_PARTS);
        parts_page(r);
        return;
    }
    s3m_timer_start(r->later, 0, 0);
}

/* ---- LISTING: the uploads of this very key ---- */

static void candidate(struct s3m__resume *r, const struct s3m_xml_upload *up)
{
    int64_t t = up->initiated ? s3m_parse_time(up->initiated) : 0;
    if (!up->key || strcmp(up->key, r->o.dst_key) || !up->upload_id || !*up->upload_id || t <= 0 ||
        t >= r->c->resume_before)
        return; /* another key, or this run's own */
    bool seen = r->id && !strcmp(r->id, up->upload_id);
    for (int i = 0; i < r->nothers && !seen; i++)
        seen = !strcmp(r->others[i], up->upload_id);
    if (seen) /* listed again (pages that overlap): one upload, never its own "other" */
        return;
    char *id = s3m_strdup(up->upload_id);
    if (!r->id || t > r->id_time) { /* the newest is kept: the latest run got furthest */
        char *old = r->id;
        r->id = id;
        r->id_time = t;
        id = old;
    }
    if (id && r->nothers < MAX_OTHERS)
        r->others[r->nothers++] = id;
    else
        free(id);
}

static void listed(struct s3m_s3_req *q, void *ud)
{
    struct s3m__resume *r = ud;
    r->cur = NULL;
    if (q->ei.err || !q->xml || q->xml->kind != S3M_XML_UPLOADS) {
        s3m_log(S3M_LOG_INFO, "xfer", "%s: cannot look for an upload to resume: %s", r->o.dst_key,
                q->ei.err ? (q->ei.code[0] ? q->ei.code : q->ei.message) : "unexpected reply");
        s3m_s3_req_free(q);
        r->stopped |= r->c->stopping;
        free(r->id); /* none resumed, none aborted: what was found stays for the sweep */
        r->id = NULL;
        finish(r);
        return;
    }
    const struct s3m_xml_uploads *u = &q->xml->uploads;
    for (size_t i = 0; i < u->nuploads; i++)
        candidate(r, &u->uploads[i]);
    /* uploads come by key: past a page of this key alone, the next may hold more of it; a
     * page whose markers do not move on is the last (never ask the same page again) */
    bool more = s3m__uploads_more(u, r->key_marker, r->id_marker) &&
                !strcmp(u->next_key_marker, r->o.dst_key);
    free(r->key_marker);
    free(r->id_marker);
    r->key_marker = more ? s3m_strdup(u->next_key_marker) : NULL;
    r->id_marker = more && u->next_upload_id_marker ? s3m_strdup(u->next_upload_id_marker) : NULL;
    s3m_s3_req_free(q);
    if (more && !r->c->stopping) {
        list_page(r);
        return;
    }
    set_state(r, R_ABORTING);
    abort_next(r);
}

static void list_page(struct s3m__resume *r)
{
    struct s3m_s3_req *q = s3m_s3_list_mpu(r->c->dst, r->o.dst_bucket, r->o.dst_key, r->key_marker,
                                           r->id_marker);
    if (!submit(r, q, listed))
        s3m_timer_start(r->later, 0, 0);
}

/* ---- PARTS: what the upload holds, against the layout ---- */

/* A listed part: false when it does not fit the layout (the upload is given up). */
static bool part_fits(struct s3m__resume *r, const struct s3m_xml_part *p)
{
    uint8_t d[S3M_MD5_LEN];
    if (p->number < 1 || p->number > r->nparts || p->size != r->parts[p->number - 1].length)
        return false;
    struct s3m__resume_part *rp = &r->parts[p->number - 1];
    rp->kept = !s3m_unhex16(p->etag, d); /* an ETag no MD5 is no proof: the part goes again */
    snprintf(rp->etag, sizeof(rp->etag), "%s", p->etag);
    return true;
}

static void parts_listed(struct s3m_s3_req *q, void *ud)
{
    struct s3m__resume *r = ud;
    r->cur = NULL;
    r->stopped |= r->c->stopping;
    const char *why = NULL;
    char buf[160];
    if (q->ei.err || !q->xml || q->xml->kind != S3M_XML_PARTS) {
        snprintf(buf, sizeof(buf), "ListParts failed: %.80s",
                 q->ei.err ? (q->ei.code[0] ? q->ei.code : q->ei.message) : "unexpected reply");
        why = buf;
    }
    const struct s3m_xml_parts *x = why ? NULL : &q->xml->parts;
    for (size_t i = 0; x && i < x->nparts && !why; i++)
        if (!part_fits(r, &x->parts[i])) {
            snprintf(buf, sizeof(buf), "part %" PRId64 " (%" PRIu64 " bytes) is not in the layout",
                     x->parts[i].number, x->parts[i].size);
            why = buf;
        }
    bool more = x && x->is_truncated && x->next_part_number_marker > r->part_marker;
    if (more)
        r->part_marker = (int)x->next_part_number_marker;
    s3m_s3_req_free(q);
    if (why || r->stopped) {
        give_up(r, why ? why : "interrupted");
    } else if (more) {
        parts_page(r);
    } else {
        set_state(r, R_VERIFYING);
        r->idx = 0;
        verify_next(r);
    }
}

static void parts_page(struct s3m__resume *r)
{
    struct s3m_s3_req *q = s3m_s3_list_parts(r->c->dst, r->o.dst_bucket, r->o.dst_key, r->id,
                                             r->part_marker);
    if (!submit(r, q, parts_listed))
        give_up(r, "ListParts could not be sent");
}

/* ---- VERIFYING: each listed part against the source's bytes as they are now ---- */

static size_t verify_write(struct s3m_s3_req *q, const char *d, size_t n, void *ud)
{
    (void)q;
    s3m_md5_update(&((struct s3m__resume *)ud)->md5, d, n);
    return n;
}

/* AWS S3: an object encrypted with SSE-KMS or SSE-C has no MD5 ETags: nothing to resume on. */
static bool sse(const struct s3m_s3_req *get)
{
    const char *h = s3m_s3_resp_header(get, "x-amz-server-side-encryption");
    return (h && !strncasecmp(h, "aws:kms", 7)) ||
           s3m_s3_resp_header(get, "x-amz-server-side-encryption-customer-algorithm");
}

static void verified(struct s3m_s3_req *q, void *ud)
{
    struct s3m__resume *r = ud;
    struct s3m__resume_part *p = &r->parts[r->idx];
    r->cur = NULL;
    uint8_t d[S3M_MD5_LEN];
    char hex[33], why[160] = "";
    s3m_md5_final(&r->md5, d);
    s3m_md5_cleanup(&r->md5);
    s3m_hex(d, sizeof(d), hex);
    if (q->ei.http_status == 412)
        snprintf(why, sizeof(why), "the source changed since it was listed");
    else if (q->ei.err)
        snprintf(why, sizeof(why), "reading part %d of the source failed: %.80s", r->idx + 1,
                 q->ei.code[0] ? q->ei.code : q->ei.message);
    else if (sse(q))
        snprintf(why, sizeof(why), "the source is encrypted (SSE-KMS / SSE-C)");
    s3m_s3_req_free(q);
    r->stopped |= r->c->stopping;
    if (why[0] || r->stopped) {
        give_up(r, why[0] ? why : "interrupted");
        return;
    }
    p->kept = !s3m_strcasecmp(hex, p->etag);
    if (!p->kept)
        s3m_log(S3M_LOG_INFO, "xfer",
                "%s: part %d of upload %s has ETag %s, the source %s: sent again", r->o.dst_key,
                r->idx + 1, r->id, p->etag, hex);
    r->kept += p->kept;
    r->idx++;
    verify_next(r);
}

static void verify_next(struct s3m__resume *r)
{
    while (r->idx < r->nparts && !r->parts[r->idx].kept)
        r->idx++;
    if (r->idx == r->nparts) {
        if (!r->kept)
            give_up(r, "no part of it holds the source's bytes");
        else
            s3m_timer_start(r->later, 0, 0);
        return;
    }
    const struct s3m__resume_part *p = &r->parts[r->idx];
    r->parts[r->idx].kept = false; /* kept again only once its bytes are read */
    char range[64];
    snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64, p->offset,
             p->offset + p->length - 1);
    s3m_md5_init(&r->md5);
    struct s3m_s3_req *q = s3m_s3_get_object(r->c->src, r->o.src_bucket, r->o.src_key, range, 0,
                                             r->o.etag);
    q->write_cb = verify_write;
    if (!submit(r, q, verified)) {
        s3m_md5_cleanup(&r->md5);
        give_up(r, "a ranged GET of the source could not be sent");
    }
}

/* ---- the check's life ---- */

struct s3m__resume *s3m__resume_start(struct s3m_xfer_ctx *c, const struct s3m__object *obj,
                                      struct s3m__resume_part *parts, int nparts,
                                      s3m__resume_done_cb done, void *ud)
{
    struct s3m__resume *r = s3m_calloc(1, sizeof(*r));
    r->c = c;
    r->o = *obj;
    r->parts = parts;
    r->nparts = nparts;
    r->done = done;
    r->ud = ud;
    r->later = s3m_timer_new(c->src->loop, on_later, r);
    for (int i = 0; i < nparts; i++)
        parts[i].kept = false;
    set_state(r, R_LISTING);
    list_page(r);
    return r;
}

void s3m__resume_stop(struct s3m__resume *r)
{
    if (r && r->cur)
        s3m_s3_cancel(r->cur);
}

void s3m__resume_free(struct s3m__resume *r)
{
    if (!r)
        return;
    s3m_timer_free(r->later);
    for (int i = 0; i < r->nothers; i++)
        free(r->others[i]);
    free(r->id);
    free(r->key_marker);
    free(r->id_marker);
    free(r);
}
