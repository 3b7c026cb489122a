/* xml_list.c - the paged listings of the S3 reply reader: ListBucketResult (v1 and v2) and
 * ListMultipartUploadsResult. A page must say whether it is truncated, each object entry needs
 * its key and size, and under EncodingType=url the keys are decoded once the page is read. */
#include "s3m/uri.h"
#include "xml_int.h"

#define SEEN_TRUNC 1u /* <IsTruncated> of the page */
#define SEEN_SIZE 2u  /* <Size> of the current <Contents>, in the entry bits (<< 8) */

#define LIST(type, member, name) S3M__XML_FIELD(s3m_xml_list, type, member, name)
static const struct s3m__xml_field list_fields[] = {
    LIST(STR, name, "Name"),
    LIST(STR, prefix, "Prefix"),
    LIST(STR, delimiter, "Delimiter"),
    LIST(STR, encoding_type, "EncodingType"),
    LIST(STR, continuation_token, "ContinuationToken"),
    LIST(STR, next_continuation_token, "NextContinuationToken"),
    LIST(STR, start_after, "StartAfter"),
    LIST(STR, marker, "Marker"),
    LIST(STR, next_marker, "NextMarker"),
    LIST(INT, max_keys, "MaxKeys"),
    LIST(INT, key_count, "KeyCount"),
};

#define OBJECT(type, member, name) S3M__XML_FIELD(s3m_xml_object, type, member, name)
static const struct s3m__xml_field object_fields[] = {
    OBJECT(STR, key, "Key"),
    OBJECT(ETAG, etag, "ETag"),
    OBJECT(STR, last_modified, "LastModified"),
    OBJECT(STR, storage_class, "StorageClass"),
};
static const struct s3m__xml_field owner_fields[] = {OBJECT(STR, owner_id, "ID")}; /* in <Owner> */

static void start_list(struct s3m_xml_parser *p, const char *name, int d)
{
    struct s3m_xml_list *l = &p->res->list;
    if (d == 2 && s3m__xml_is(name, "Contents")) {
        S3M__XML_GROW(l->objects, l->nobjects, p->cap_objects);
        l->nobjects++;
        p->seen &= 0xff;
    } else if (d == 2 && s3m__xml_is(name, "CommonPrefixes")) {
        S3M__XML_GROW(l->common_prefixes, l->nprefixes, p->cap_prefixes);
        l->common_prefixes[l->nprefixes++] = "";
    }
}

/* the end of a <Contents> entry: it must have had its key and size */
static void end_object(struct s3m_xml_parser *p, const struct s3m_xml_object *o)
{
    if (!o->key)
        s3m__xml_fail(p, S3M_EXML, "<Contents> entry without <Key>");
    else if (!(p->seen & SEEN_SIZE << 8))
        s3m__xml_fail(p, S3M_EXML, "<Contents> entry without <Size>");
    p->seen &= 0xff;
}

static void set_size(struct s3m_xml_parser *p, struct s3m_xml_object *o)
{
    if (p->seen & SEEN_SIZE << 8)
        s3m__xml_fail(p, S3M_EXML, "duplicate <Size> element");
    else if (!s3m_parse_u64(s3m_buf_str(&p->text), &o->size))
        s3m__xml_fail(p, S3M_EXML, "<Size> is not a valid 64-bit number");
    p->seen |= SEEN_SIZE << 8;
}

static void end_list(struct s3m_xml_parser *p, const char *name, int d)
{
    struct s3m_xml_list *l = &p->res->list;
    const char *parent = p->stack[d - 1];
    struct s3m_xml_object *o = l->nobjects ? &l->objects[l->nobjects - 1] : NULL;
    if (d == 2) {
        if (S3M__XML_SET(p, l, list_fields, name))
            return;
        if (s3m__xml_is(name, "IsTruncated"))
            s3m__xml_set_bool(p, &l->is_truncated, SEEN_TRUNC, name);
        else if (s3m__xml_is(name, "Contents"))
            end_object(p, o);
    } else if (d == 3 && s3m__xml_is(parent, "Contents")) {
        if (!S3M__XML_SET(p, o, object_fields, name) && s3m__xml_is(name, "Size"))
            set_size(p, o);
    } else if (d == 4 && s3m__xml_is(parent, "Owner") && s3m__xml_is(p->stack[2], "Contents")) {
        S3M__XML_SET(p, o, owner_fields, name);
    } else if (d == 3 && s3m__xml_is(parent, "CommonPrefixes") && s3m__xml_is(name, "Prefix")) {
        l->common_prefixes[l->nprefixes - 1] = s3m__xml_text(p);
    }
}

/* EncodingType=url: decode form-style the fields S3 encodes (never continuation tokens) */
static void url_decode_field(struct s3m_xml_parser *p, const char **field)
{
    if (!*field || p->err)
        return;
    struct s3m_buf b;
    s3m_buf_init(&b);
    if (!s3m_uri_decode(&b, *field, strlen(*field), true))
        s3m__xml_fail(p, S3M_EXML, "bad percent-escape or NUL in url-encoded value");
    else
        *field = s3m_arena_strndup(&p->res->arena, s3m_buf_str(&b), b.len);
    s3m_buf_cleanup(&b);
}

/* The same for a field we only echo back: a value that does not decode stays as it came. */
static void echo_decode_field(struct s3m_xml_parser *p, const char **field)
{
    if (!*field || p->err)
        return;
    struct s3m_buf b;
    s3m_buf_init(&b);
    if (s3m_uri_decode(&b, *field, strlen(*field), true))
        *field = s3m_arena_strndup(&p->res->arena, s3m_buf_str(&b), b.len);
    s3m_buf_cleanup(&b);
}

static void finish_list(struct s3m_xml_parser *p)
{
    struct s3m_xml_list *l = &p->res->list;
    /* without it a truncated listing would pass for complete, and what it hides for absent */
    if (!(p->seen & SEEN_TRUNC)) {
        s3m__xml_fail(p, S3M_EXML, "listing page without <IsTruncated>");
        return;
    }
    l->version = (l->key_count >= 0 || l->continuation_token || l->next_continuation_token ||
                  l->start_after)
                   ? 2
                   : 1;
    bool url = l->encoding_type && !s3m_strcasecmp(l->encoding_type, "url");
    for (size_t i = 0; i < l->nobjects && !p->err; i++) {
        struct s3m_xml_object *o = &l->objects[i];
        o->key_raw = o->key;
        if (url)
            url_decode_field(p, &o->key);
        if (!p->err && strlen(o->key) > S3M_MAX_KEY_LEN)
            s3m__xml_fail(p, S3M_EXML_LIMIT, "key longer than %d bytes in listing",
                          S3M_MAX_KEY_LEN);
    }
    if (!url)
        return;
    /* echoes of our own request, never used: decoded when they decode, else left as sent (moto
     * echoes StartAfter unencoded); a bad one must not fail the page */
    echo_decode_field(p, &l->prefix);
    echo_decode_field(p, &l->delimiter);
    echo_decode_field(p, &l->start_after);
    echo_decode_field(p, &l->marker);
    url_decode_field(p, &l->next_marker);
    for (size_t i = 0; i < l->nprefixes; i++)
        url_decode_field(p, &l->common_prefixes[i]);
}

const struct s3m__xml_doc s3m__xml_list_doc = {start_list, end_list, finish_list};

/* ---- ListMultipartUploadsResult ---- */

#define UPLOADS(type, member, name) S3M__XML_FIELD(s3m_xml_uploads, type, member, name)
static const struct s3m__xml_field uploads_fields[] = {
    UPLOADS(STR, bucket, "Bucket"),
    UPLOADS(STR, key_marker, "KeyMarker"),
    UPLOADS(STR, upload_id_marker, "UploadIdMarker"),
    UPLOADS(STR, next_key_marker, "NextKeyMarker"),
    UPLOADS(STR, next_upload_id_marker, "NextUploadIdMarker"),
    UPLOADS(INT, max_uploads, "MaxUploads"),
};

#define UPLOAD(member, name) S3M__XML_FIELD(s3m_xml_upload, STR, member, name)
static const struct s3m__xml_field upload_fields[] = {
    UPLOAD(key, "Key"),
    UPLOAD(upload_id, "UploadId"),
    UPLOAD(initiated, "Initiated"),
    UPLOAD(storage_class, "StorageClass"),
};

static void start_uploads(struct s3m_xml_parser *p, const char *name, int d)
{
    struct s3m_xml_uploads *u = &p->res->uploads;
    if (d == 2 && s3m__xml_is(name, "Upload")) {
        S3M__XML_GROW(u->uploads, u->nuploads, p->cap_uploads);
        u->nuploads++;
    } else if (d == 2 && s3m__xml_is(name, "CommonPrefixes")) {
        S3M__XML_GROW(u->common_prefixes, u->nprefixes, p->cap_prefixes);
        u->common_prefixes[u->nprefixes++] = "";
    }
}

static void end_uploads(struct s3m_xml_parser *p, const char *name, int d)
{
    struct s3m_xml_uploads *u = &p->res->uploads;
    const char *parent = p->stack[d - 1];
    if (d == 2) {
        if (!S3M__XML_SET(p, u, uploads_fields, name) && s3m__xml_is(name, "IsTruncated"))
            s3m__xml_set_bool(p, &u->is_truncated, SEEN_TRUNC, name);
    } else if (d == 3 && s3m__xml_is(parent, "Upload")) {
        S3M__XML_SET(p, &u->uploads[u->nuploads - 1], upload_fields, name);
    } else if (d == 3 && s3m__xml_is(parent, "CommonPrefixes") && s3m__xml_is(name, "Prefix")) {
        u->common_prefixes[u->nprefixes - 1] = s3m__xml_text(p);
    }
}

const struct s3m__xml_doc s3m__xml_uploads_doc = {start_uploads, end_uploads, NULL};
