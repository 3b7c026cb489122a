/* recheck.c - the second read of a multipart copy's source (mpu.c's RECHECK state), before the
 * upload is completed: part by part in the upload's layout, pinned with If-Match, each part's
 * MD5 compared with the one stored. It reports to the upload through its callback.
 *
 * Why: no guess reproduced the source ETag, or a single-part source was streamed in parts of
 * --multipart-chunk-size, so the parts' MD5s cannot give the source ETag: two independent reads
 * must agree. The parts are read in order, so where the source ETag is a plain MD5 (a
 * single-part source) the MD5 of the whole second read must also equal it: the bytes stored
 * are the source's. */
#include "xfer_int.h"
#include "s3m/diff.h"
#include "s3m/hash.h"
#include "s3m/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EMPTY_MD5 "d41d8cd98f00b204e9800998ecf8427e"

struct s3m__recheck {
    struct s3m_xfer_ctx *c;
    struct s3m__object o;
    struct s3m__recheck_part *parts; /* handed over; the MD5 strings are the owner's */
    int nparts;
    int idx;                   /* the part being read (the GET's context) */
    struct s3m_md5_ctx md5;    /* of that part */
    struct s3m_md5_ctx *whole; /* a plain-ETag source: MD5 of the whole read */
    struct s3m_s3_req *cur;    /* the GET in flight, for a stop to cancel */
    struct s3m_timer *later;   /* an end found at once is reported from the loop */
    struct s3m_errinfo ei;
    s3m__recheck_done_cb done;
    void *ud;
};

static void whole_drop(struct s3m__recheck *k)
{
    if (!k->whole)
        return;
    s3m_md5_cleanup(k->whole);
    free(k->whole);
    k->whole = NULL;
}

static void end(struct s3m__recheck *k)
{
    whole_drop(k);
    k->done(k->ud, &k->ei);
}

static void on_later(void *ud)
{
    end(ud);
}

/* After the last part: the whole second read against a plain source ETag. */
static bool whole_matches(struct s3m__recheck *k)
{
    if (!k->whole)
        return true;
    uint8_t d[S3M_MD5_LEN];
    char hex[33];
    s3m_md5_final(k->whole, d);
    whole_drop(k);
    s3m_hex(d, sizeof(d), hex);
    if (!s3m_strcasecmp(hex, k->o.etag))
        return true;
    k->c->integrity_failures++;
    s3m_errinfo_set(&k->ei, S3M_EINTEGRITY, "the source read again has MD5 %s, source ETag %s", hex,
                    k->o.etag);
    return false;
}

static size_t recheck_write(struct s3m_s3_req *r, const char *d, size_t n, void *ud)
{
    (void)r;
    struct s3m__recheck *k = ud;
    s3m_md5_update(&k->md5, d, n);
    if (k->whole)
        s3m_md5_update(k->whole, d, n);
    return n;
}

/* Parts from idx on: an empty part needs no read; past the last, the whole. False when the
 * rest cannot be read back as stored (k->ei says why). */
static bool skip_empty(struct s3m__recheck *k)
{
    for (; k->idx < k->nparts && !k->parts[k->idx].length; k->idx++)
        if (s3m_strcasecmp(k->parts[k->idx].md5, EMPTY_MD5)) {
            s3m_errinfo_set(&k->ei, S3M_EINTEGRITY, "empty part %d stored as %s",
                            k->parts[k->idx].number, k->parts[k->idx].md5);
            return false;
        }
    return k->idx < k->nparts || whole_matches(k);
}

/* Read the next part; false when the check ended (k->ei tells how). */
static bool read_next(struct s3m__recheck *k);

static void recheck_done(struct s3m_s3_req *r, void *ud)
{
    struct s3m__recheck *k = ud;
    const struct s3m__recheck_part *pt = &k->parts[k->idx];
    k->cur = NULL;
    uint8_t d[S3M_MD5_LEN];
    char hex[33];
    s3m_md5_final(&k->md5, d);
    s3m_md5_cleanup(&k->md5);
    s3m_hex(d, sizeof(d), hex);
    k->ei = r->ei;
    s3m_s3_req_free(r);
    if (!k->ei.err && k->c->stopping)
        s3m_errinfo_set(&k->ei, S3M_EABORTED, "interrupted");
    if (!k->ei.err && s3m_strcasecmp(hex, pt->md5)) {
        k->c->integrity_failures++;
        s3m_errinfo_set(&k->ei, S3M_EINTEGRITY, "part %d read again has MD5 %s, stored %s",
                        pt->number, hex, pt->md5);
    }
    k->idx++;
    if (k->ei.err || !read_next(k))
        end(k);
}

static bool read_next(struct s3m__recheck *k)
{
    if (!skip_empty(k) || k->idx == k->nparts)
        return false;
    const struct s3m__recheck_part *pt = &k->parts[k->idx];
    char range[64];
    snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64, pt->offset,
             pt->offset + pt->length - 1);
    s3m_md5_init(&k->md5);
    struct s3m_s3_req *r = s3m_s3_get_object(k->c->src, k->o.src_bucket, k->o.src_key, range, 0,
                                             k->o.etag);
    r->write_cb = recheck_write;
    k->cur = r;
    if (s3m_s3_submit(r, recheck_done, k)) {
        k->cur = NULL;
        k->ei = r->ei;
        s3m_s3_req_free(r);
        s3m_md5_cleanup(&k->md5);
        return false;
    }
    return true;
}

struct s3m__recheck *s3m__recheck_start(struct s3m_xfer_ctx *c, const struct s3m__object *obj,
                                        struct s3m__recheck_part *parts, int nparts,
                                        s3m__recheck_done_cb done, void *ud)
{
    struct s3m__recheck *k = s3m_calloc(1, sizeof(*k));
    uint8_t d[S3M_MD5_LEN];
    k->c = c;
    k->o = *obj;
    k->parts = parts;
    k->nparts = nparts;
    k->done = done;
    k->ud = ud;
    k->later = s3m_timer_new(c->src->loop, on_later, k);
    if (s3m_etag_parts(obj->etag) == 0 && !s3m_unhex16(obj->etag, d)) {
        k->whole = s3m_calloc(1, sizeof(*k->whole));
        s3m_md5_init(k->whole);
    }
    if (!read_next(k))
        s3m_timer_start(k->later, 0, 0);
    return k;
}

void s3m__recheck_stop(struct s3m__recheck *k)
{
    if (k && k->cur)
        s3m_s3_cancel(k->cur);
}

void s3m__recheck_free(struct s3m__recheck *k)
{
    if (!k)
        return;
    s3m_timer_free(k->later);
    whole_drop(k);
    free(k->parts);
    free(k);
}
