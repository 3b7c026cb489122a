/* remeta.c - the metadata a fresh multipart copy writes, as one list: what its
 * CreateMultipartUpload sends, and what the object of a resumed upload is checked against. An
 * upload resumed was created by an earlier run with the source's metadata of then, which no S3
 * call reads back while the upload is open: once it is completed, the object's HEAD must show
 * what a fresh copy would have written, or the object is copied afresh (xfer.c). */
#include "xfer_int.h"
#include "s3m/util.h"

#include <stdio.h>
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
