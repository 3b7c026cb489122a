/* xml.c - the S3 reply reader: libxml2's push parser driven by our SAX2 callbacks.
 *
 * Only element structure and text are used; a DOCTYPE aborts the parse before any entity or DTD
 * can be declared, so nothing is expanded or loaded. This file enforces the limits (bytes, depth,
 * text, entries), picks the document's handlers by its root and hands them each element
 * (xml_list.c, xml_reply.c), which fill the result's fields, each at most once. */
#include "s3m/xml.h"
#include "xml_int.h"

#include <libxml/xmlerror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the documents a reply may be, by root element: the kind the caller accepts and its handlers */
static const struct {
    const char *root;
    enum s3m_xml_kind kind;
    const struct s3m__xml_doc *doc;
} roots[] = {
    {"ListBucketResult", S3M_XML_LIST, &s3m__xml_list_doc},
    {"ListAllMyBucketsResult", S3M_XML_BUCKETS, &s3m__xml_buckets_doc},
    {"Error", S3M_XML_ERROR, &s3m__xml_error_doc},
    {"InitiateMultipartUploadResult", S3M_XML_INITIATE, &s3m__xml_single_doc},
    {"CompleteMultipartUploadResult", S3M_XML_COMPLETE, &s3m__xml_single_doc},
    {"CompleteMultipartUploadResponse", S3M_XML_COMPLETE, &s3m__xml_single_doc}, /* moto's */
    {"CopyObjectResult", S3M_XML_COPY, &s3m__xml_single_doc},
    {"CopyPartResult", S3M_XML_COPY, &s3m__xml_single_doc},
    {"DeleteResult", S3M_XML_DELETE, &s3m__xml_delete_doc},
    {"ListMultipartUploadsResult", S3M_XML_UPLOADS, &s3m__xml_uploads_doc},
    {"ListPartsResult", S3M_XML_PARTS, &s3m__xml_parts_doc},
    {"ListPartsResponse", S3M_XML_PARTS, &s3m__xml_parts_doc}, /* moto's */
    {"Tagging", S3M_XML_TAGGING, &s3m__xml_tagging_doc},
};

static void on_root(struct s3m_xml_parser *p, const char *name, const char *uri)
{
    struct s3m_xml_result *r = p->res;
    r->root = s3m_arena_strndup(&r->arena, name, strlen(name));
    r->namespace_uri = uri ? s3m_arena_strndup(&r->arena, uri, strlen(uri)) : NULL;
    for (size_t i = 0; i < S3M_ARRAY_LEN(roots); i++) {
        if (!strcmp(name, roots[i].root) && ((p->accept | S3M_XML_ERROR) & roots[i].kind)) {
            r->kind = roots[i].kind;
            p->doc = roots[i].doc;
            return;
        }
    }
    s3m__xml_fail(p, S3M_EXML, "unexpected reply document <%s> for this request", name);
}

/* ---- SAX callbacks ---- */

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
        s3m__xml_fail(p, S3M_EXML_LIMIT, "XML nested deeper than %d elements", S3M_XML_MAX_DEPTH);
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
                     p->res->del.ndeleted + p->res->del.nerrors + p->res->uploads.nuploads +
                     p->res->parts.nparts;
    if (entries >= S3M_XML_MAX_ENTRIES) {
        s3m__xml_fail(p, S3M_EXML_LIMIT, "more than %d entries in one reply", S3M_XML_MAX_ENTRIES);
        return;
    }
    if (p->doc->start)
        p->doc->start(p, name, d);
}

static void sax_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
    (void)prefix, (void)uri;
    struct s3m_xml_parser *p = ctx;
    const char *name = (const char *)localname;
    if (p->err)
        return;
    int d = p->depth--;
    if (p->doc->end)
        p->doc->end(p, name, d);
    s3m_buf_reset(&p->text);
}

static void sax_text(void *ctx, const xmlChar *ch, int len)
{
    struct s3m_xml_parser *p = ctx;
    if (p->err)
        return;
    if (p->text.len + (size_t)len > S3M_XML_MAX_TEXT) {
        s3m__xml_fail(p, S3M_EXML_LIMIT, "XML element text longer than %d bytes", S3M_XML_MAX_TEXT);
        return;
    }
    s3m_buf_add(&p->text, ch, (size_t)len);
}

static void sax_doctype(void *ctx, const xmlChar *name, const xmlChar *eid, const xmlChar *sid)
{
    (void)name, (void)eid, (void)sid;
    s3m__xml_fail(ctx, S3M_EXML, "DOCTYPE not allowed in an S3 reply");
}

static xmlEntityPtr sax_entity(void *ctx, const xmlChar *name)
{
    (void)name;
    s3m__xml_fail(ctx, S3M_EXML, "entity reference not allowed in an S3 reply");
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
    s3m__xml_fail(p, S3M_EXML, "malformed XML at line %d: %s", e->line, msg);
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
    p->res->parts.part_number_marker = p->res->parts.next_part_number_marker = -1;
    p->res->parts.max_parts = -1;
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
    free(r->parts.parts);
    free(r->tagging.tags);
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
        s3m__xml_fail(p, S3M_EXML_LIMIT, "XML reply larger than %u bytes", S3M_XML_MAX_BYTES);
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

enum s3m_err s3m_xml_finish(struct s3m_xml_parser *p, struct s3m_xml_result **out,
                            struct s3m_errinfo *ei)
{
    *out = NULL;
    if (!p->err && !p->started)
        s3m__xml_fail(p, S3M_EXML, "empty reply where an XML document was expected");
    if (!p->err) {
        xmlParseChunk(p->ctxt, NULL, 0, 1);
        if (!p->err && (!p->ctxt->wellFormed || p->ctxt->errNo || p->depth != 0 ||
                        p->res->kind == S3M_XML_NONE))
            s3m__xml_fail(p, S3M_EXML, "malformed or incomplete XML reply");
    }
    if (!p->err && p->doc->finish)
        p->doc->finish(p);
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
