/* s3.c - the S3 operations of bench/fastsrv: which request is which (path, method, query), the
 * checks S3 makes (Content-MD5, part ETags, part sizes) and the replies, counted by kind for the
 * bench (GET /_fastsrv/stats). Object bytes are never stored: see store.c. */
#include "fastsrv.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XMLHDR "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define NS "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""
#define CT_XML "Content-Type: application/xml\r\n"
#define BODY_MAX (16u << 20)

enum op { OP_PUT = 1, OP_PART, OP_COMPLETE, OP_DELETE_OBJECTS };

static const char *kinds[] = {"LIST",       "HEAD",          "GET",         "PUT",
                              "UploadPart", "CreateMPU",     "CompleteMPU", "AbortMPU",
                              "ListParts",  "DeleteObjects", "DELETE",      "other"};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))
static uint64_t counts[NKINDS];

void fs_s3_count(const char *kind, uint64_t in, uint64_t out)
{
    (void)in;
    (void)out;
    for (size_t i = 0; i < NKINDS; i++)
        if (!strcmp(kinds[i], kind) || i == NKINDS - 1) {
            counts[i]++;
            return;
        }
}

void fs_s3_stats(char *out, size_t n)
{
    size_t o = (size_t)snprintf(out, n, "{");
    for (size_t i = 0; i < NKINDS && o < n; i++)
        o += (size_t)snprintf(out + o, n - o, "\"%s\": %" PRIu64 ", ", kinds[i], counts[i]);
    if (o < n)
        snprintf(out + o, n - o,
                 "\"bytes_in\": %" PRIu64 ", \"bytes_out\": %" PRIu64 ", "
                 "\"connections\": %" PRIu64 "}\n",
                 fs_bytes_in, fs_bytes_out, fs_conns);
}

static void reply(struct fs_conn *c, struct fs_buf *b)
{
    fs_respond(c, 200, CT_XML, b->p, b->len);
    free(b->p);
}

static int read_only(struct fs_conn *c, const struct fs_bucket *b)
{
    if (b->kind != FS_SYNTH && b->kind != FS_LISTING)
        return 0;
    fs_error(c, 403, "AccessDenied", "a synthetic bucket is read-only");
    return 1;
}

/* 1 if the Content-MD5 header (if any) is the base64 of md5; else answers BadDigest */
static int digest_ok(struct fs_conn *c, const unsigned char md5[16])
{
    unsigned char b64[32];
    if (!c->req.content_md5[0])
        return 1;
    EVP_EncodeBlock(b64, md5, 16);
    if (!strcmp((char *)b64, c->req.content_md5))
        return 1;
    fs_error(c, 400, "BadDigest", "The Content-MD5 you specified did not match what we received.");
    return 0;
}

static void object_headers(char *h, size_t n, const struct fs_obj *o)
{
    snprintf(h, n,
             "ETag: \"%s\"\r\nLast-Modified: Thu, 01 Jan 2026 00:00:00 GMT\r\nContent-Type:"
             " application/octet-stream\r\nAccept-Ranges: bytes\r\n",
             o->etag);
}

/* the part or range asked for: start and length; 0 = none asked, -1 = not satisfiable */
static int byte_range(const struct fs_req *r, const struct fs_obj *o, uint64_t *start,
                      uint64_t *len)
{
    char pn[16];
    if (fs_qget(r->query, "partNumber", pn, sizeof(pn))) {
        unsigned long n = strtoul(pn, NULL, 10);
        uint64_t ps = o->part_size ? o->part_size : o->size;
        if (n < 1 || n > (o->part_size ? o->nparts : 1))
            return -1;
        *start = (n - 1) * ps;
        *len = o->size - *start < ps ? o->size - *start : ps;
        return 1;
    }
    unsigned long long a = 0, b = 0;
    if (!r->range[0])
        return 0;
    if (sscanf(r->range, "bytes=-%llu", &b) == 1) {
        *len = b < o->size ? b : o->size;
        *start = o->size - *len;
    } else if (sscanf(r->range, "bytes=%llu-%llu", &a, &b) == 2) {
        if (a >= o->size || b < a)
            return -1;
        *start = a;
        *len = (b < o->size ? b + 1 : o->size) - a;
    } else if (sscanf(r->range, "bytes=%llu-", &a) == 1) {
        if (a >= o->size)
            return -1;
        *start = a;
        *len = o->size - a;
    } else {
        return 0;
    }
    return 1;
}

static void get_object(struct fs_conn *c, struct fs_bucket *b, int head)
{
    struct fs_obj o;
    fs_s3_count(head ? "HEAD" : "GET", 0, 0);
    if (!fs_bucket_lookup(b, c->req.key, &o)) {
        fs_error(c, 404, "NoSuchKey", "The specified key does not exist.");
        return;
    }
    char h[512];
    uint64_t start = 0, len = o.size;
    int rg = byte_range(&c->req, &o, &start, &len);
    if (rg < 0) {
        fs_error(c, 416, "InvalidRange", "The requested range is not satisfiable");
        return;
    }
    object_headers(h, sizeof(h), &o);
    if (rg > 0) {
        size_t l = strlen(h);
        snprintf(h + l, sizeof(h) - l,
                 "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64 "\r\n", start,
                 start + len - (len > 0), o.size);
        if (o.part_size && fs_qhas(c->req.query, "partNumber"))
            snprintf(h + strlen(h), sizeof(h) - strlen(h), "x-amz-mp-parts-count: %u\r\n",
                     o.nparts);
    }
    int status = rg > 0 && !(fs_qhas(c->req.query, "partNumber") && !o.part_size) ? 206 : 200;
    if (head)
        fs_respond_head(c, status, h, len);
    else
        fs_respond_content(c, status, h, o.voff, start, len);
}

static void put_start(struct fs_conn *c, struct fs_bucket *b)
{
    fs_s3_count("PUT", 0, 0);
    if (read_only(c, b))
        return;
    c->opk = OP_PUT;
    c->op = b;
    c->cmp = b->kind == FS_WRITABLE;
    c->cmp_voff = fs_key_offset(c->req.key);
    c->cmp_base = 0;
    fs_body_start(c, FS_BODY_HASH);
}

static void put_done(struct fs_conn *c)
{
    struct fs_bucket *b = c->op;
    unsigned char md5[16];
    fs_body_md5(c, md5);
    if (!digest_ok(c, md5))
        return;
    if (c->cmp && !c->cmp_ok) {
        fs_error(c, 400, "InvalidArgument",
                 "fastsrv regenerates content from the key: this "
                 "upload is not the content of this key");
        return;
    }
    struct fs_obj o = {.size = c->req.clen, .voff = c->cmp_voff};
    fs_md5_hex(md5, o.etag);
    if (b->kind == FS_WRITABLE)
        fs_bucket_put(b, c->req.key, &o);
    char h[128];
    snprintf(h, sizeof(h), "ETag: \"%s\"\r\n", o.etag);
    fs_respond(c, 200, h, NULL, 0);
}

static struct fs_upload *upload_of(struct fs_conn *c)
{
    char id[32];
    struct fs_upload *u = NULL;
    if (fs_qget(c->req.query, "uploadId", id, sizeof(id)))
        u = fs_upload_find(id);
    if (!u || strcmp(u->key, c->req.key) || strcmp(u->b->name, c->req.bucket)) {
        fs_error(c, 404, "NoSuchUpload", "The specified upload does not exist.");
        return NULL;
    }
    return u;
}

static void part_start(struct fs_conn *c)
{
    char pn[16];
    fs_s3_count("UploadPart", 0, 0);
    struct fs_upload *u = upload_of(c);
    if (!u)
        return;
    fs_qget(c->req.query, "partNumber", pn, sizeof(pn));
    unsigned long n = strtoul(pn, NULL, 10);
    if (n < 1 || n > FS_MAX_PARTS) {
        fs_error(c, 400, "InvalidArgument", "Part number must be an integer between 1 and 10000");
        return;
    }
    if (c->req.copy_source[0]) {
        fs_copy_part(c, u, (unsigned)n);
        return;
    }
    c->opk = OP_PART;
    c->upid = u->id;
    c->part = (unsigned)n;
    c->cmp = u->b->kind == FS_WRITABLE;
    c->cmp_voff = u->voff;
    c->cmp_base = (n - 1) * c->req.clen; /* right for every part but a shorter last one */
    fs_body_start(c, FS_BODY_HASH);
}

static void part_done(struct fs_conn *c)
{
    char id[16];
    snprintf(id, sizeof(id), "%u", c->upid);
    struct fs_upload *u = fs_upload_find(id); /* aborted while this part was uploaded? */
    unsigned char md5[16];
    fs_body_md5(c, md5);
    if (!u) {
        fs_error(c, 404, "NoSuchUpload", "The specified upload does not exist.");
        return;
    }
    if (!digest_ok(c, md5))
        return;
    struct fs_part p = {.size = c->req.clen, .have = 1, .matched = c->cmp_ok};
    memcpy(p.md5, md5, 16);
    fs_upload_part(u, c->part, &p);
    char h[128], hex[33];
    fs_md5_hex(md5, hex);
    snprintf(h, sizeof(h), "ETag: \"%s\"\r\n", hex);
    fs_respond(c, 200, h, NULL, 0);
}

static void create_upload(struct fs_conn *c, struct fs_bucket *b)
{
    fs_s3_count("CreateMPU", 0, 0);
    if (read_only(c, b))
        return;
    struct fs_upload *u = fs_upload_new(b, c->req.key);
    struct fs_buf o = {0};
    fs_buf_printf(&o, XMLHDR "<InitiateMultipartUploadResult " NS "><Bucket>%s</Bucket><Key>",
                  b->name);
    fs_buf_key(&o, u->key, 0);
    fs_buf_printf(&o, "</Key><UploadId>%u</UploadId></InitiateMultipartUploadResult>", u->id);
    reply(c, &o);
}

/* checks the listed parts against the uploaded ones and the generated content; fills o */
static const char *complete_check(struct fs_conn *c, struct fs_upload *u, struct fs_obj *o)
{
    char num[16], etag[80], hex[33];
    size_t pos = 0;
    unsigned last = 0, n = 0;
    uint64_t off = 0, first = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_md5(), NULL);
    const char *err = NULL;
    char part[512];
    while (!err && fs_xml_next(c->buf, c->buflen, &pos, "Part", part, sizeof(part))) {
        size_t pp = 0, pe = 0; /* PartNumber and ETag come in either order */
        if (!fs_xml_next(part, strlen(part), &pp, "PartNumber", num, sizeof(num)) ||
            !fs_xml_next(part, strlen(part), &pe, "ETag", etag, sizeof(etag))) {
            err = "MalformedXML";
            break;
        }
        unsigned k = (unsigned)strtoul(num, NULL, 10);
        struct fs_part *p = k >= 1 && k <= u->cap ? &u->parts[k - 1] : NULL;
        char *e = etag[0] == '"' ? etag + 1 : etag;
        e[strcspn(e, "\"")] = 0;
        if (p && p->have)
            fs_md5_hex(p->md5, hex);
        if (k <= last || !p || !p->have || strcmp(hex, e))
            err = "InvalidPart";
        else if (n && first < 5 * 1024 * 1024)
            err = "EntityTooSmall";
        else if (u->b->kind == FS_WRITABLE && !(p->matched && off == (k - 1) * p->size)) {
            unsigned char want[16]; /* a part checked at another offset: hash the content */
            fs_content_md5_cached(u->voff, off, p->size, want);
            if (memcmp(want, p->md5, 16))
                err = "InvalidArgument";
        }
        if (!n)
            first = p ? p->size : 0;
        if (!err)
            EVP_DigestUpdate(md, p->md5, 16);
        off += p ? p->size : 0;
        last = k;
        n++;
    }
    unsigned char md5[16];
    EVP_DigestFinal_ex(md, md5, NULL);
    EVP_MD_CTX_free(md);
    if (!err && !n)
        err = "MalformedXML";
    *o = (struct fs_obj){.size = off, .part_size = first, .nparts = n, .voff = u->voff};
    fs_md5_hex(md5, o->etag);
    snprintf(o->etag + 32, sizeof(o->etag) - 32, "-%u", n);
    return err;
}

static void complete_done(struct fs_conn *c)
{
    char id[16];
    snprintf(id, sizeof(id), "%u", c->upid);
    struct fs_upload *u = fs_upload_find(id);
    struct fs_obj o;
    if (!u) {
        fs_error(c, 404, "NoSuchUpload", "The specified upload does not exist.");
        return;
    }
    const char *err = complete_check(c, u, &o);
    if (err) {
        fs_error(
            c, 400, err,
            !strcmp(err, "InvalidArgument")
                ? "fastsrv regenerates content from the key: a part is not the content of this key"
                : "the parts listed do not match the uploaded ones");
        return;
    }
    if (u->b->kind == FS_WRITABLE)
        fs_bucket_put(u->b, u->key, &o);
    struct fs_buf r = {0};
    fs_buf_printf(&r, XMLHDR "<CompleteMultipartUploadResult " NS "><Location>/%s/", u->b->name);
    fs_buf_key(&r, u->key, 0);
    fs_buf_printf(&r, "</Location><Bucket>%s</Bucket><Key>", u->b->name);
    fs_buf_key(&r, u->key, 0);
    fs_buf_printf(&r, "</Key><ETag>&quot;%s&quot;</ETag></CompleteMultipartUploadResult>", o.etag);
    fs_upload_free(u);
    reply(c, &r);
}

static void list_uploads(struct fs_conn *c, struct fs_bucket *b)
{
    struct fs_buf o = {0};
    unsigned cur = 0;
    fs_buf_printf(&o,
                  XMLHDR "<ListMultipartUploadsResult " NS "><Bucket>%s</Bucket><MaxUploads>"
                         "1000</MaxUploads><IsTruncated>false</IsTruncated>",
                  b->name);
    for (struct fs_upload *u; (u = fs_upload_each(&cur));) {
        if (u->b != b)
            continue;
        fs_buf_printf(&o, "<Upload><Key>");
        fs_buf_key(&o, u->key, 0);
        fs_buf_printf(&o,
                      "</Key><UploadId>%u</UploadId><Initiated>2026-01-01T00:00:00.000Z"
                      "</Initiated></Upload>",
                      u->id);
    }
    fs_buf_printf(&o, "</ListMultipartUploadsResult>");
    reply(c, &o);
}

static void delete_objects_done(struct fs_conn *c)
{
    struct fs_bucket *b = c->op;
    int quiet = strstr(c->buf, "<Quiet>true</Quiet>") != NULL;
    struct fs_buf o = {0};
    char key[FS_KEY_MAX];
    size_t pos = 0;
    fs_buf_printf(&o, XMLHDR "<DeleteResult " NS ">");
    while (fs_xml_next(c->buf, c->buflen, &pos, "Key", key, sizeof(key))) {
        int ro = b->kind == FS_SYNTH || b->kind == FS_LISTING;
        if (!ro)
            fs_bucket_delete(b, key);
        if (quiet && !ro)
            continue;
        fs_buf_printf(&o, ro ? "<Error><Key>" : "<Deleted><Key>");
        fs_buf_key(&o, key, 0);
        fs_buf_printf(&o, ro ? "</Key><Code>AccessDenied</Code><Message>read-only</Message>"
                               "</Error>"
                             : "</Key></Deleted>");
    }
    fs_buf_printf(&o, "</DeleteResult>");
    reply(c, &o);
}

static void buffer_body(struct fs_conn *c, int opk, void *op)
{
    if (c->req.clen > BODY_MAX) {
        fs_error(c, 400, "MaxMessageLengthExceeded", "request body too large");
        return;
    }
    c->opk = opk;
    c->op = op;
    fs_body_start(c, FS_BODY_BUFFER);
}

static void list_buckets(struct fs_conn *c)
{
    struct fs_buf o = {0};
    fs_buf_printf(&o, XMLHDR "<ListAllMyBucketsResult " NS "><Owner><ID>fastsrv</ID></Owner>"
                             "<Buckets>");
    for (struct fs_bucket *b = fs_bucket_first(); b; b = b->next)
        fs_buf_printf(&o,
                      "<Bucket><Name>%s</Name><CreationDate>2026-01-01T00:00:00.000Z"
                      "</CreationDate></Bucket>",
                      b->name);
    fs_buf_printf(&o, "</Buckets></ListAllMyBucketsResult>");
    reply(c, &o);
}

static void bucket_op(struct fs_conn *c, struct fs_bucket *b)
{
    const char *m = c->req.method, *q = c->req.query;
    if (!strcmp(m, "GET") && fs_qhas(q, "location")) {
        const char *loc = XMLHDR "<LocationConstraint " NS "></LocationConstraint>";
        fs_respond(c, 200, CT_XML, loc, strlen(loc));
    } else if (!strcmp(m, "GET") && fs_qhas(q, "uploads")) {
        list_uploads(c, b);
    } else if (!strcmp(m, "GET") && fs_qhas(q, "versioning")) {
        const char *v = XMLHDR "<VersioningConfiguration " NS "/>";
        fs_respond(c, 200, CT_XML, v, strlen(v));
    } else if (!strcmp(m, "GET")) {
        fs_s3_count("LIST", 0, 0);
        fs_list(c, b, q);
    } else if (!strcmp(m, "POST") && fs_qhas(q, "delete")) {
        fs_s3_count("DeleteObjects", 0, 0);
        buffer_body(c, OP_DELETE_OBJECTS, b);
    } else if (!strcmp(m, "DELETE")) {
        fs_respond(c, 204, "", NULL, 0);
    } else { /* HEAD bucket, PUT bucket (create): it exists */
        fs_s3_count("other", 0, 0);
        fs_respond(c, 200, "", NULL, 0);
    }
}

static void object_op(struct fs_conn *c, struct fs_bucket *b)
{
    const char *m = c->req.method, *q = c->req.query;
    int has_up = fs_qhas(q, "uploadId");
    struct fs_upload *u;
    if (!strcmp(m, "GET") && has_up) {
        fs_s3_count("ListParts", 0, 0);
        if ((u = upload_of(c))) {
            struct fs_buf o = {0};
            fs_xml_list_parts(&o, u, b->name);
            reply(c, &o);
        }
    } else if (!strcmp(m, "GET") || !strcmp(m, "HEAD")) {
        get_object(c, b, !strcmp(m, "HEAD"));
    } else if (!strcmp(m, "PUT") && has_up) {
        part_start(c);
    } else if (!strcmp(m, "PUT") && c->req.copy_source[0]) {
        fs_s3_count("PUT", 0, 0);
        if (!read_only(c, b))
            fs_copy_object(c, b);
    } else if (!strcmp(m, "PUT")) {
        put_start(c, b);
    } else if (!strcmp(m, "POST") && fs_qhas(q, "uploads")) {
        create_upload(c, b);
    } else if (!strcmp(m, "POST") && has_up) {
        fs_s3_count("CompleteMPU", 0, 0);
        if ((u = upload_of(c))) {
            c->upid = u->id;
            buffer_body(c, OP_COMPLETE, u);
        }
    } else if (!strcmp(m, "DELETE") && has_up) {
        fs_s3_count("AbortMPU", 0, 0);
        if ((u = upload_of(c))) {
            fs_upload_free(u);
            fs_respond(c, 204, "", NULL, 0);
        }
    } else if (!strcmp(m, "DELETE")) {
        fs_s3_count("DELETE", 0, 0);
        if (!read_only(c, b)) {
            fs_bucket_delete(b, c->req.key);
            fs_respond(c, 204, "", NULL, 0);
        }
    } else {
        fs_error(c, 501, "NotImplemented", "fastsrv does not implement this operation");
    }
}

void fs_s3_request(struct fs_conn *c)
{
    struct fs_req *r = &c->req;
    if (fs_verbose)
        fprintf(stderr, "fastsrv: %s /%s/%s?%s (%" PRIu64 " bytes)\n", r->method, r->bucket, r->key,
                r->query, r->clen);
    if (!strcmp(r->bucket, "_fastsrv")) { /* the bench's counters, not S3 */
        char s[1024];
        fs_s3_stats(s, sizeof(s));
        fs_respond(c, 200, "Content-Type: application/json\r\n", s, strlen(s));
    } else if (!r->bucket[0]) {
        list_buckets(c);
    } else if (!r->has_key || !r->key[0]) {
        bucket_op(c, fs_bucket_get(r->bucket));
    } else {
        object_op(c, fs_bucket_get(r->bucket));
    }
}

void fs_s3_body_done(struct fs_conn *c)
{
    switch (c->opk) {
    case OP_PUT: put_done(c); break;
    case OP_PART: part_done(c); break;
    case OP_COMPLETE: complete_done(c); break;
    case OP_DELETE_OBJECTS: delete_objects_done(c); break;
    default: break;
    }
}
