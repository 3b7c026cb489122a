/* remeta.c - the metadata a fresh multipart copy writes, as one list: what its
 * CreateMultipartUpload sends, and what the object of a resumed upload is checked against. An
 * upload resumed was created by an earlier run with the source's metadata of then, which no S3
 * call reads back while the upload is open: once it is completed, the object's HEAD must show
 * what a fresh copy would have written, or the object is copied afresh (xfer.c). Also the
 * metadata carried from a source reply to the destination. */
#include "xfer_int.h"
#include "s3m/tags.h"
#include "s3m/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void s3m__create_headers(const struct s3m_xfer_meta *meta, const char *recorded,
                         struct s3m_s3_req *r)
{
    s3m__meta_add(meta, r);
    if (recorded) /* a guessed layout may not reproduce the ETag: see diff.c */
        s3m_s3_req_header(r, S3M_XFER_SOURCE_ETAG_HEADER, recorded);
}

/* The value of name in m, or NULL. */
static const char *meta_get(const struct s3m_xfer_meta *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (!s3m_strcasecmp(m->kv[i].name, name))
            return m->kv[i].value;
    return NULL;
}

/* The first header of want not in got with the same value (NULL: none); a Content-Type left
 * out of a create is the server's default, whatever it is; the tags (x-amz-tagging, which no
 * HEAD shows) are written again after every multipart copy (xfer.c mpu_tag). */
static const char *missing(const struct s3m_xfer_meta *want, const struct s3m_xfer_meta *got,
                           const char **value)
{
    for (size_t i = 0; i < want->n; i++) {
        const char *v = meta_get(got, want->kv[i].name);
        if (!s3m_strcasecmp(want->kv[i].name, S3M__TAGGING_HEADER) ||
            (!v && !s3m_strcasecmp(want->kv[i].name, "content-type")))
            continue;
        if (!v || strcmp(v, want->kv[i].value)) {
            *value = v ? v : "(none)";
            return want->kv[i].name;
        }
    }
    return NULL;
}

/* Whether the HEAD's ETag is etag (unquoted). */
static bool etag_is(const struct s3m_s3_req *head, const char *etag)
{
    const char *et = s3m_s3_resp_header(head, "etag");
    size_t n = et ? strlen(et) : 0;
    if (n >= 2 && et[0] == '"' && et[n - 1] == '"')
        et++, n -= 2;
    return et && n == strlen(etag) && !strncasecmp(et, etag, n);
}

bool s3m__meta_same(const struct s3m_xfer_meta *meta, const char *recorded, const char *src_etag,
                    const struct s3m_s3_req *head, char *why, size_t n)
{
    struct s3m_xfer_meta got;
    memset(&got, 0, sizeof(got));
    s3m__meta_take(&got, head); /* the same headers a copy carries, ours apart */
    const char *v = "", *name = missing(meta, &got, &v);
    if (name) /* one the source has, with another value or none */
        snprintf(why, n, "%s is %.80s, the source's %.80s", name, v, meta_get(meta, name));
    else if ((name = missing(&got, meta, &v))) /* one the source has not */
        snprintf(why, n, "%s is %.80s, the source has none", name, meta_get(&got, name));
    s3m__meta_clear(&got);
    if (name)
        return false;
    /* the recorded source ETag is read only where the ETags differ (diff.c): one the object
     * lacks matters only then, but an older one would claim another version's bytes */
    const char *rec = s3m_s3_resp_header(head, S3M_XFER_SOURCE_ETAG_HEADER);
    if (!rec && recorded && etag_is(head, src_etag))
        return true;
    if (!rec != !recorded || (rec && strcmp(rec, recorded))) {
        snprintf(why, n, "%s is %.80s, a fresh copy's %.80s", S3M_XFER_SOURCE_ETAG_HEADER,
                 rec ? rec : "(none)", recorded ? recorded : "(none)");
        return false;
    }
    return true;
}

/* ---- metadata carried from a source reply ---- */

void s3m__meta_clear(struct s3m_xfer_meta *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free((char *)m->kv[i].name);
        free((char *)m->kv[i].value);
    }
    free(m->kv);
    free(m->tagging_xml);
    m->kv = NULL;
    m->n = 0;
    m->tagging_xml = NULL;
}

void s3m__meta_take(struct s3m_xfer_meta *m, const struct s3m_s3_req *r)
{
    static const char *const keep[] = {"content-type",        "cache-control",
                                       "content-disposition", "content-encoding",
                                       "content-language",    "expires"};
    s3m__meta_clear(m);
    for (size_t i = 0; i < r->nresp_headers; i++) {
        const char *n = r->resp_headers[i].name;
        bool take = strncasecmp(n, "x-amz-meta-", 11) == 0 &&
                    s3m_strcasecmp(n, S3M_XFER_SOURCE_ETAG_HEADER); /* ours is set anew */
        for (size_t k = 0; !take && k < S3M_ARRAY_LEN(keep); k++)
            take = !s3m_strcasecmp(n, keep[k]);
        if (!take)
            continue;
        m->kv = s3m_realloc(m->kv, (m->n + 1) * sizeof(*m->kv));
        m->kv[m->n].name = s3m_strdup(n);
        m->kv[m->n++].value = s3m_strdup(r->resp_headers[i].value);
    }
}

void s3m__meta_add(const struct s3m_xfer_meta *m, struct s3m_s3_req *r)
{
    for (size_t i = 0; i < m->n; i++)
        s3m_s3_req_header(r, m->kv[i].name, m->kv[i].value);
}

bool s3m__tags_wanted(const struct s3m_xfer_ctx *c, const struct s3m_s3_req *reply)
{
    return !c->no_tags && s3m_tags_counted(s3m_s3_resp_header(reply, "x-amz-tagging-count"));
}

char *s3m__tags_xml(const struct s3m_s3_req *r)
{
    struct s3m_buf b;
    s3m_buf_init(&b);
    if (r->xml && r->xml->kind == S3M_XML_TAGGING && r->xml->tagging.ntags)
        s3m_tags_xml(&b, r->xml->tagging.tags, r->xml->tagging.ntags);
    return b.len ? s3m_buf_detach(&b) : (s3m_buf_cleanup(&b), NULL);
}

char *s3m__tags_value(const struct s3m_s3_req *r)
{
    struct s3m_buf b;
    s3m_buf_init(&b);
    if (r->xml && r->xml->kind == S3M_XML_TAGGING)
        s3m_tags_encode(&b, r->xml->tagging.tags, r->xml->tagging.ntags);
    s3m_buf_addc(&b, 0);
    return s3m_buf_detach(&b);
}
