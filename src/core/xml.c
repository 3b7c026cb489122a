/* xml.c - the S3 reply reader: libxml2's push parser with our own SAX2 handlers.
 *
 * Only element structure and text are used; a DOCTYPE aborts the parse before any entity or DTD
 * can be declared, so nothing is expanded or loaded. Each end tag is dispatched by its depth and
 * parent to the field of the result it fills; every field may appear once. */
#include "s3m/xml.h"
#include "s3m/uri.h"

#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct s3m_xml_parser {
    xmlParserCtxtPtr ctxt;
    unsigned accept;
    struct s3m_xml_result *res;
    enum s3m_err err;
    char errmsg[256];
    int depth;                                /* of the open element; root = 1 */
    const char *stack[S3M_XML_MAX_DEPTH + 1]; /* local names (libxml2 dictionary strings) */
    struct s3m_buf text;
    bool started;
    size_t fed;
    size_t cap_objects, cap_prefixes, cap_buckets, cap_deleted, cap_errors, cap_uploads,
        cap_other;
    unsigned seen;                            /* fields already set in the current entry */
};

#define FAIL(p, e, ...)                                                                           \
    do {                                                                                          \
        fail((p), (e));                                                                           \
        snprintf((p)->errmsg, sizeof((p)->errmsg), __VA_ARGS__);                                  \
    } while (0)

static void fail(struct s3m_xml_parser *p, enum s3m_err e)
{
    if (p->err)
        return;
    p->err = e;
    if (p->ctxt)
        xmlStopParser(p->ctxt);
}

/* grow an array stored in the result (realloc'd, freed with it) */
#define GROW(p, arr, n, cap)                                                                      \
    do {                                                                                          \
        if ((n) == (cap)) {                                                                       \
            (cap) = (cap) ? (cap) * 2 : 16;                                                       \
            (arr) = s3m_realloc((void *)(arr), (cap) * sizeof(*(arr)));                           \
        }                                                                                         \
        memset((void *)&(arr)[(n)], 0, sizeof(*(arr)));                                           \
    } while (0)

static const char *dup_text(struct s3m_xml_parser *p)
{
    return s3m_arena_strndup(&p->res->arena, s3m_buf_str(&p->text), p->text.len);
}

/* set a string field once; a second occurrence is an error */
static void set_once(struct s3m_xml_parser *p, const char **field, const char *name)
{
    if (*field) {
        FAIL(p, S3M_EXML, "duplicate <%s> element", name);
        return;
    }
    *field = dup_text(p);
}

static void set_etag(struct s3m_xml_parser *p, const char **field)
{
    if (*field) {
        FAIL(p, S3M_EXML, "duplicate <ETag> element");
        return;
    }
    const char *t = s3m_buf_str(&p->text);
    size_t n = p->text.len;
    if (n >= 2 && t[0] == '"' && t[n - 1] == '"')
        *field = s3m_arena_strndup(&p->res->arena, t + 1, n - 2);
    else
        *field = dup_text(p);
}

static void set_int(struct s3m_xml_parser *p, int64_t *field, const char *name)
{
    uint64_t v;
    if (*field != -1) {
        FAIL(p, S3M_EXML, "duplicate <%s> element", name);
    } else if (!s3m_parse_u64(s3m_buf_str(&p->text), &v) || v > INT64_MAX) {
        FAIL(p, S3M_EXML, "<%s> is not a valid number", name);
    } else {
        *field = (int64_t)v;
    }
}

static void set_bool(struct s3m_xml_parser *p, bool *field, unsigned bit, const char *name)
{
    const char *t = s3m_buf_str(&p->text);
    if (p->seen & bit) {
        FAIL(p, S3M_EXML, "duplicate <%s> element", name);
        return;
    }
    p->seen |= bit;
    if (!strcmp(t, "true"))
        *field = true;
    else if (!strcmp(t, "false"))
        *field = false;
    else
        FAIL(p, S3M_EXML, "<%s> is neither true nor false", name);
}

static bool is(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

/* ---- per-document end-tag dispatch ---- */

#define SEEN_TRUNC 1u
#define SEEN_SIZE 2u

static void end_list(struct s3m_xml_parser *p, const char *name, int d)
{
    struct s3m_xml_list *l = &p->res->list;
    const char *parent = p->stack[d - 1];
    if (d == 2) {
        if (is(name, "Name")) set_once(p, &l->name, name);
        else if (is(name, "Prefix")) set_once(p, &l->prefix, name);
        else if (is(name, "Delimiter")) set_once(p, &l->delimiter, name);
        else if (is(name, "EncodingType")) set_once(p, &l->encoding_type, name);
        else if (is(name, "ContinuationToken")) set_once(p, &l->continuation_token, name);
        else if (is(name, "NextContinuationToken")) set_once(p, &l->next_continuation_token, name);
        else if (is(name, "StartAfter")) set_once(p, &l->start_after, name);
        else if (is(name, "Marker")) set_once(p, &l->marker, name);
        else if (is(name, "NextMarker")) set_once(p, &l->next_marker, name);
        else if (is(name, "MaxKeys")) set_int(p, &l->max_keys, name);
        else if (is(name, "KeyCount")) set_int(p, &l->key_count, name);
        else if (is(name, "IsTruncated")) set_bool(p, &l->is_truncated, SEEN_TRUNC, name);
        else if (is(name, "Contents")) {
            struct s3m_xml_object *o = &l->objects[l->nobjects - 1];
            if (!o->key)
                FAIL(p, S3M_EXML, "<Contents> entry without <Key>");
            else if (!(p->seen & SEEN_SIZE << 8))
                FAIL(p, S3M_EXML, "<Contents> entry without <Size>");
            p->seen &= 0xff;
        }
    } else if (d == 3 && is(parent, "Contents")) {
        struct s3m_xml_object *o = &l->objects[l->nobjects - 1];
        if (is(name, "Key")) set_once(p, &o->key, name);
        else if (is(name, "ETag")) set_etag(p, &o->etag);
        else if (is(name, "LastModified")) set_once(p, &o->last_modified, name);
        else if (is(name, "StorageClass")) set_once(p, &o->storage_class, name);
        else if (is(name, "Size")) {
            if (p->seen & SEEN_SIZE << 8)
                FAIL(p, S3M_EXML, "duplicate <Size> element");
            else if (!s3m_parse_u64(s3m_buf_str(&p->text), &o->size))
                FAIL(p, S3M_EXML, "<Size> is not a valid 64-bit number");
            p->seen |= SEEN_SIZE << 8;
        }
    } else if (d == 4 && is(parent, "Owner") && is(p->stack[d - 2], "Contents") && is(name, "ID")) {
        set_once(p, &l->objects[l->nobjects - 1].owner_id, name);
    } else if (d == 3 && is(parent, "CommonPrefixes") && is(name, "Prefix")) {
        l->common_prefixes[l->nprefixes - 1] = dup_text(p);
    }
}

static void start_list(struct s3m_xml_parser *p, const char *name, int d)
{
    struct s3m_xml_list *l = &p->res->list;
    if (d == 2 && is(name, "Contents")) {
        GROW(p, l->objects, l->nobjects, p->cap_objects);
        l->nobjects++;
        p->seen &= 0xff;
    } else if (d == 2 && is(name, "CommonPrefixes")) {
        GROW(p, l->common_prefixes, l->nprefixes, p->cap_prefixes);
        l->common_prefixes[l->nprefixes++] = "";
    }
}

static void end_buckets(struct s3m_xml_parser *p, const char *name, int d)
{
    struct s3m_xml_buckets *b = &p->res->buckets;
    const char *parent = p->stack[d - 1];
    if (d == 2 && is(name, "ContinuationToken"))
        set_once(p, &b->continuation_token, name);
    else if (d == 3 && is(parent, "Owner") && is(name, "ID"))
        set_once(p, &b->owner_id, name);
    else if (d == 3 && is(parent, "Owner") && is(name, "DisplayName"))
        set_once(p, &b->owner_display_name, name);
    if (d < 3 || !is(p->stack[2], "Buckets"))
        return; /* only Buckets/Bucket entries were created by start_buckets */
    if (d == 4 && is(parent, "Bucket") && is(name, "Name"))
        set_once(p, &b->buckets[b->nbuckets - 1].name, name);
    else if (d == 4 && is(parent, "Bucket") && is(name, "CreationDate"))
        set_once(p, &b->buckets[b->nbuckets - 1].creation_date, name);
    else if (d == 3 && is(name, "Bucket") && !b->buckets[b->nbuckets - 1].name)
        FAIL(p, S3M_EXML, "<Bucket> entry without <Name>");
}

static void start_buckets(struct s3m_xml_parser *p, const char *name, int d)
{
    struct s3m_xml_buckets *b = &p->res->buckets;
    if (d == 3 && is(name, "Bucket") && is(p->stack[2], "Buckets")) {
        GROW(p, b->buckets, b->nbuckets, p->cap_buckets);
        b->nbuckets++;
    }
}

static void end_error(struct s3m_xml_parser *p, const char *name, int d)
{
    struct s3m_xml_error *e = &p->res->error;
    if (d != 2)
        return;
    if (is(name, "Code")) set_once(p, &e->code, name);
    else if (is(name, "Message")) set_once(p, &e->message, name);
    else if (is(name, "RequestId")) set_once(p, &e->request_id, name);
    else if (is(name, "HostId")) set_once(p, &e->host_id, name);
    else if (is(name, "Resource")) set_once(p, &e->resource, name);
    else if (is(name, "BucketName")) set_once(p, &e->bucket_name, name);
    else if (is(name, "Key")) set_once(p, &e->key, name);
    else {
        GROW(p, e->other_fields, e->nother, p->cap_other);
        e->other_fields[e->nother++] = s3m_arena_strndup(&p->res->arena, name, strlen(name));
    }
}

static void end_delete(struct s3m_xml_parser *p, const char *name, int d)
{
    struct s3m_xml_delete *x = &p->res->del;
    const char *parent = p->stack[d - 1];
    struct s3m_xml_deleted *e = NULL;
    if (d == 3 && is(parent, "Deleted"))
        e = &x->deleted[x->ndeleted - 1];
    else if (d == 3 && is(parent, "Error"))
        e = &x->errors[x->nerrors - 1];
    if (!e)
        return;
    if (is(name, "Key")) set_once(p, &e->key, name);
    else if (is(name, "VersionId")) set_once(p, &e->version_id, name);
    else if (is(name, "DeleteMarker")) set_once(p, &e->delete_marker, name);
    else if (is(name, "DeleteMarkerVersionId")) set_once(p, &e->delete_marker_version_id, name);
    else if (is(name, "Code")) set_once(p, &e->code, name);
    else if (is(name, "Message")) set_once(p, &e->message, name);
}

static void start_delete(struct s3m_xml_parser *p, const char *name, int d)
{
    struct s3m_xml_delete *x = &p->res->del;
    if (d == 2 && is(name, "Deleted")) {
        GROW(p, x->deleted, x->ndeleted, p->cap_deleted);
        x->ndeleted++;
    } else if (d == 2 && is(name, "Error")) {
        GROW(p, x->errors, x->nerrors, p->cap_errors);
        x->nerrors++;
    }
}

static void end_uploads(struct s3m_xml_parser *p, const char *name, int d)
{
    struct s3m_xml_uploads *u = &p->res->uploads;
    const char *parent = p->stack[d - 1];
    if (d == 2) {
        if (is(name, "Bucket")) set_once(p, &u->bucket, name);
        else if (is(name, "KeyMarker")) set_once(p, &u->key_marker, name);
        else if (is(name, "UploadIdMarker")) set_once(p, &u->upload_id_marker, name);
        else if (is(name, "NextKeyMarker")) set_once(p, &u->next_key_marker, name);
        else if (is(name, "NextUploadIdMarker")) set_once(p, &u->next_upload_id_marker, name);
        else if (is(name, "MaxUploads")) set_int(p, &u->max_uploads, name);
        else if (is(name, "IsTruncated")) set_bool(p, &u->is_truncated, SEEN_TRUNC, name);
    } else if (d == 3 && is(parent, "Upload")) {
        struct s3m_xml_upload *x = &u->uploads[u->nuploads - 1];
        if (is(name, "Key")) set_once(p, &x->key, name);
        else if (is(name, "UploadId")) set_once(p, &x->upload_id, name);
        else if (is(name, "Initiated")) set_once(p, &x->initiated, name);
        else if (is(name, "StorageClass")) set_once(p, &x->storage_class, name);
    } else if (d == 3 && is(parent, "CommonPrefixes") && is(name, "Prefix")) {
        u->common_prefixes[u->nprefixes - 1] = dup_text(p);
    }
}

static void start_uploads(struct s3m_xml_parser *p, const char *name, int d)
{
    struct s3m_xml_uploads *u = &p->res->uploads;
    if (d == 2 && is(name, "Upload")) {
        GROW(p, u->uploads, u->nuploads, p->cap_uploads);
        u->nuploads++;
    } else if (d == 2 && is(name, "CommonPrefixes")) {
        GROW(p, u->common_prefixes, u->nprefixes, p->cap_prefixes);
        u->common_prefixes[u->nprefixes++] = "";
    }
}

static void end_single(struct s3m_xml_parser *p, const char *name, int d)
{
    struct s3m_xml_single *s = &p->res->single;
    if (d != 2)
        return;
    if (is(name, "Location")) set_once(p, &s->location, name);
    else if (is(name, "Bucket")) set_once(p, &s->bucket, name);
    else if (is(name, "Key")) set_once(p, &s->key, name);
    else if (is(name, "UploadId")) set_once(p, &s->upload_id, name);
    else if (is(name, "ETag")) set_etag(p, &s->etag);
    else if (is(name, "LastModified")) set_once(p, &s->last_modified, name);
}

/* ---- SAX callbacks ---- */

static const struct {
    const char *root;
    enum s3m_xml_kind kind;
} roots[] = {
    {"ListBucketResult", S3M_XML_LIST},
    {"ListAllMyBucketsResult", S3M_XML_BUCKETS},
    {"Error", S3M_XML_ERROR},
    {"InitiateMultipartUploadResult", S3M_XML_INITIATE},
    {"CompleteMultipartUploadResult", S3M_XML_COMPLETE},
    {"CompleteMultipartUploadResponse", S3M_XML_COMPLETE}, /* moto's name */
    {"CopyObjectResult", S3M_XML_COPY},
    {"CopyPartResult", S3M_XML_COPY},
    {"DeleteResult", S3M_XML_DELETE},
    {"ListMultipartUploadsResult", S3M_XML_UPLOADS},
};

static void on_root(struct s3m_xml_parser *p, const char *name, const char *uri)
{
    struct s3m_xml_result *r = p->res;
    r->root = s3m_arena_strndup(&r->arena, name, strlen(name));
    r->namespace_uri = uri ? s3m_arena_strndup(&r->arena, uri, strlen(uri)) : NULL;
    for (size_t i = 0; i < S3M_ARRAY_LEN(roots); i++) {
        if (is(name, roots[i].root) && ((p->accept | S3M_XML_ERROR) & roots[i].kind)) {
            r->kind = roots[i].kind;
            return;
        }
    }
    FAIL(p, S3M_EXML, "unexpected reply document <%s> for this request", name);
}

static void sax_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                      const xmlChar *uri, int nns, const xmlChar **ns, int nattr, int ndef,
                      const xmlChar **attrs)
{
    (void)prefix, (void)nns, (void)ns, (void)nattr, (void)ndef, (void)attrs;
    struct s3m_xml_parser *p = ctx;
    const char *name = (const char *)localname;
    if (p->err)
        return;
    if (p->depth >= S3M_XML_MAX_DEPTH) {
        FAIL(p, S3M_EXML_LIMIT, "XML nested deeper than %d elements", S3M_XML_MAX_DEPTH);
        return;
    }
    int d = ++p->depth;
    p->stack[d] = name;
    s3m_buf_reset(&p->text);
    if (d == 1) {
        on_root(p, name, (const char *)uri);
        return;
    }
    size_t entries = p->res->list.nobjects + p->res->list.nprefixes + p->res->buckets.nbuckets +
                     p->res->del.ndeleted + p->res->del.nerrors + p->res->uploads.nuploads;
    if (entries >= S3M_XML_MAX_ENTRIES) {
        FAIL(p, S3M_EXML_LIMIT, "more than %d entries in one reply", S3M_XML_MAX_ENTRIES);
        return;
    }
    switch (p->res->kind) {
    case S3M_XML_LIST: start_list(p, name, d); break;
    case S3M_XML_BUCKETS: start_buckets(p, name, d); break;
    case S3M_XML_DELETE: start_delete(p, name, d); break;
    case S3M_XML_UPLOADS: start_uploads(p, name, d); break;
    default: break;
    }
}

static void sax_end(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                    const xmlChar *uri)
{
    (void)prefix, (void)uri;
    struct s3m_xml_parser *p = ctx;
    const char *name = (const char *)localname;
    if (p->err)
        return;
    int d = p->depth--;
    switch (p->res->kind) {
    case S3M_XML_LIST: end_list(p, name, d); break;
    case S3M_XML_BUCKETS: end_buckets(p, name, d); break;
    case S3M_XML_ERROR: end_error(p, name, d); break;
    case S3M_XML_DELETE: end_delete(p, name, d); break;
    case S3M_XML_UPLOADS: end_uploads(p, name, d); break;
    case S3M_XML_INITIATE:
    case S3M_XML_COMPLETE:
    case S3M_XML_COPY: end_single(p, name, d); break;
    default: break;
    }
    s3m_buf_reset(&p->text);
}

static void sax_text(void *ctx, const xmlChar *ch, int len)
{
    struct s3m_xml_parser *p = ctx;
    if (p->err)
        return;
    if (p->text.len + (size_t)len > S3M_XML_MAX_TEXT) {
        FAIL(p, S3M_EXML_LIMIT, "XML element text longer than %d bytes", S3M_XML_MAX_TEXT);
        return;
    }
    s3m_buf_add(&p->text, ch, (size_t)len);
}

static void sax_doctype(void *ctx, const xmlChar *name, const xmlChar *eid, const xmlChar *sid)
{
    (void)name, (void)eid, (void)sid;
    FAIL((struct s3m_xml_parser *)ctx, S3M_EXML, "DOCTYPE not allowed in an S3 reply");
}

static xmlEntityPtr sax_entity(void *ctx, const xmlChar *name)
{
    (void)name;
    FAIL((struct s3m_xml_parser *)ctx, S3M_EXML, "entity reference not allowed in an S3 reply");
    return NULL;
}

static void sax_serror(void *ctx, xmlErrorPtr e)
{
    struct s3m_xml_parser *p = ctx;
    if (!e || e->level < XML_ERR_ERROR || p->err)
        return;
    char msg[200];
    snprintf(msg, sizeof(msg), "%s", e->message ? e->message : "parse error");
    for (char *c = msg; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    s3m_trim(msg);
    FAIL(p, S3M_EXML, "malformed XML at line %d: %s", e->line, msg);
}

/* ---- public ---- */

struct s3m_xml_parser *s3m_xml_new(unsigned accept)
{
    struct s3m_xml_parser *p = s3m_calloc(1, sizeof(*p));
    p->accept = accept;
    p->res = s3m_calloc(1, sizeof(*p->res));
    s3m_arena_init(&p->res->arena);
    p->res->list.max_keys = p->res->list.key_count = -1;
    p->res->uploads.max_uploads = -1;
    s3m_buf_init(&p->text);
    return p;
}

void s3m_xml_result_free(struct s3m_xml_result *r)
{
    if (!r)
        return;
    free(r->list.objects);
    free((void *)r->list.common_prefixes);
    free(r->buckets.buckets);
    free((void *)r->error.other_fields);
    free(r->del.deleted);
    free(r->del.errors);
    free(r->uploads.uploads);
    free((void *)r->uploads.common_prefixes);
    s3m_arena_cleanup(&r->arena);
    free(r);
}

void s3m_xml_free(struct s3m_xml_parser *p)
{
    if (!p)
        return;
    if (p->ctxt)
        xmlFreeParserCtxt(p->ctxt);
    s3m_xml_result_free(p->res);
    s3m_buf_cleanup(&p->text);
    free(p);
}

static void make_ctxt(struct s3m_xml_parser *p, const char *first, int n)
{
    xmlSAXHandler sax;
    memset(&sax, 0, sizeof(sax));
    sax.initialized = XML_SAX2_MAGIC;
    sax.startElementNs = sax_start;
    sax.endElementNs = sax_end;
    sax.characters = sax_text;
    sax.cdataBlock = sax_text;
    sax.internalSubset = sax_doctype;
    sax.externalSubset = sax_doctype;
    sax.getEntity = sax_entity;
    sax.getParameterEntity = sax_entity;
    sax.serror = sax_serror;
    p->ctxt = xmlCreatePushParserCtxt(&sax, p, first, n, NULL);
    if (!p->ctxt)
        abort();
    xmlCtxtUseOptions(p->ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                   XML_PARSE_NOCDATA);
}

enum s3m_err s3m_xml_feed(struct s3m_xml_parser *p, const void *data, size_t len,
                          struct s3m_errinfo *ei)
{
    const char *d = data;
    if (!p->err && !p->started) { /* MinIO and others send white space before the declaration */
        while (len && (*d == ' ' || *d == '\t' || *d == '\r' || *d == '\n'))
            d++, len--;
        if (len) {
            p->started = true;
            make_ctxt(p, NULL, 0);
        }
    }
    p->fed += len;
    if (!p->err && p->fed > S3M_XML_MAX_BYTES)
        FAIL(p, S3M_EXML_LIMIT, "XML reply larger than %u bytes", S3M_XML_MAX_BYTES);
    while (!p->err && len) {
        int chunk = len > (1 << 20) ? 1 << 20 : (int)len;
        xmlParseChunk(p->ctxt, d, chunk, 0);
        d += chunk;
        len -= (size_t)chunk;
    }
    if (p->err)
        return s3m_errinfo_set(ei, p->err, "%s", p->errmsg);
    return S3M_EOK;
}

/* EncodingType=url: decode form-style the fields S3 encodes (never continuation tokens) */
static void url_decode_field(struct s3m_xml_parser *p, const char **field)
{
    if (!*field || p->err)
        return;
    struct s3m_buf b;
    s3m_buf_init(&b);
    if (!s3m_uri_decode(&b, *field, strlen(*field), true))
        FAIL(p, S3M_EXML, "bad percent-escape or NUL in url-encoded value");
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
        FAIL(p, S3M_EXML, "listing page without <IsTruncated>");
        return;
    }
    l->version = (l->key_count >= 0 || l->continuation_token || l->next_continuation_token ||
                  l->start_after) ? 2 : 1;
    bool url = l->encoding_type && !s3m_strcasecmp(l->encoding_type, "url");
    for (size_t i = 0; i < l->nobjects && !p->err; i++) {
        struct s3m_xml_object *o = &l->objects[i];
        o->key_raw = o->key;
        if (url)
            url_decode_field(p, &o->key);
        if (!p->err && strlen(o->key) > S3M_MAX_KEY_LEN)
            FAIL(p, S3M_EXML_LIMIT, "key longer than %d bytes in listing", S3M_MAX_KEY_LEN);
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

enum s3m_err s3m_xml_finish(struct s3m_xml_parser *p, struct s3m_xml_result **out,
                            struct s3m_errinfo *ei)
{
    *out = NULL;
    if (!p->err && !p->started)
        FAIL(p, S3M_EXML, "empty reply where an XML document was expected");
    if (!p->err) {
        xmlParseChunk(p->ctxt, NULL, 0, 1);
        if (!p->err && (!p->ctxt->wellFormed || p->ctxt->errNo || p->depth != 0 ||
                        p->res->kind == S3M_XML_NONE))
            FAIL(p, S3M_EXML, "malformed or incomplete XML reply");
    }
    if (!p->err && p->res->kind == S3M_XML_LIST)
        finish_list(p);
    if (!p->err && p->res->kind == S3M_XML_ERROR && !p->res->error.code)
        FAIL(p, S3M_EXML, "error reply without <Code>");
    if (p->err)
        return s3m_errinfo_set(ei, p->err, "%s", p->errmsg);
    *out = p->res;
    p->res = NULL;
    return S3M_EOK;
}

enum s3m_err s3m_xml_parse(const void *data, size_t len, unsigned accept,
                           struct s3m_xml_result **out, struct s3m_errinfo *ei)
{
    struct s3m_xml_parser *p = s3m_xml_new(accept);
    enum s3m_err err = s3m_xml_feed(p, data, len, ei);
    if (!err)
        err = s3m_xml_finish(p, out, ei);
    else
        *out = NULL;
    s3m_xml_free(p);
    return err;
}
