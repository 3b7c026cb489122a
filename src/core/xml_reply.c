/* xml_reply.c - the S3 reply reader's handlers for the documents other than listings:
 * ListAllMyBucketsResult, Error, DeleteResult, and the single-object results of Initiate,
 * Complete and Copy. Each maps the elements it knows to fields; an Error must have its Code. */
#include "xml_int.h"

/* ---- ListAllMyBucketsResult ---- */

#define BUCKETS(member, name) S3M__XML_FIELD(s3m_xml_buckets, STR, member, name)
static const struct s3m__xml_field buckets_fields[] = {
    BUCKETS(continuation_token, "ContinuationToken"),
};
static const struct s3m__xml_field owner_fields[] = {
    /* in <Owner> */
    BUCKETS(owner_id, "ID"),
    BUCKETS(owner_display_name, "DisplayName"),
};

#define BUCKET(member, name) S3M__XML_FIELD(s3m_xml_bucket, STR, member, name)
static const struct s3m__xml_field bucket_fields[] = {
    BUCKET(name, "Name"),
    BUCKET(creation_date, "CreationDate"),
};

static void start_buckets(struct s3m_xml_parser *p, const char *name, int d)
{
    struct s3m_xml_buckets *b = &p->res->buckets;
    if (d == 3 && s3m__xml_is(name, "Bucket") && s3m__xml_is(p->stack[2], "Buckets")) {
        S3M__XML_GROW(b->buckets, b->nbuckets, p->cap_buckets);
        b->nbuckets++;
    }
}

static void end_buckets(struct s3m_xml_parser *p, const char *name, int d)
{
    struct s3m_xml_buckets *b = &p->res->buckets;
    const char *parent = p->stack[d - 1];
    if (d == 2)
        S3M__XML_SET(p, b, buckets_fields, name);
    else if (d == 3 && s3m__xml_is(parent, "Owner"))
        S3M__XML_SET(p, b, owner_fields, name);
    if (d < 3 || !s3m__xml_is(p->stack[2], "Buckets"))
        return; /* only Buckets/Bucket entries were created by start_buckets */
    if (d == 4 && s3m__xml_is(parent, "Bucket"))
        S3M__XML_SET(p, &b->buckets[b->nbuckets - 1], bucket_fields, name);
    else if (d == 3 && s3m__xml_is(name, "Bucket") && !b->buckets[b->nbuckets - 1].name)
        s3m__xml_fail(p, S3M_EXML, "<Bucket> entry without <Name>");
}

const struct s3m__xml_doc s3m__xml_buckets_doc = {start_buckets, end_buckets, NULL};

/* ---- Error ---- */

#define ERR_FIELD(member, name) S3M__XML_FIELD(s3m_xml_error, STR, member, name)
static const struct s3m__xml_field error_fields[] = {
    ERR_FIELD(code, "Code"),
    ERR_FIELD(message, "Message"),
    ERR_FIELD(request_id, "RequestId"),
    ERR_FIELD(host_id, "HostId"),
    ERR_FIELD(resource, "Resource"),
    ERR_FIELD(bucket_name, "BucketName"),
    ERR_FIELD(key, "Key"),
};

static void end_error(struct s3m_xml_parser *p, const char *name, int d)
{
    struct s3m_xml_error *e = &p->res->error;
    if (d != 2 || S3M__XML_SET(p, e, error_fields, name))
        return;
    S3M__XML_GROW(e->other_fields, e->nother, p->cap_other);
    e->other_fields[e->nother++] = s3m_arena_strndup(&p->res->arena, name, strlen(name));
}

static void finish_error(struct s3m_xml_parser *p)
{
    if (!p->res->error.code)
        s3m__xml_fail(p, S3M_EXML, "error reply without <Code>");
}

const struct s3m__xml_doc s3m__xml_error_doc = {NULL, end_error, finish_error};

/* ---- DeleteResult ---- */

#define DELETED(member, name) S3M__XML_FIELD(s3m_xml_deleted, STR, member, name)
static const struct s3m__xml_field deleted_fields[] = {
    DELETED(key, "Key"),
    DELETED(version_id, "VersionId"),
    DELETED(delete_marker, "DeleteMarker"),
    DELETED(delete_marker_version_id, "DeleteMarkerVersionId"),
    DELETED(code, "Code"),
    DELETED(message, "Message"),
};

static void start_delete(struct s3m_xml_parser *p, const char *name, int d)
{
    struct s3m_xml_delete *x = &p->res->del;
    if (d == 2 && s3m__xml_is(name, "Deleted")) {
        S3M__XML_GROW(x->deleted, x->ndeleted, p->cap_deleted);
        x->ndeleted++;
    } else if (d == 2 && s3m__xml_is(name, "Error")) {
        S3M__XML_GROW(x->errors, x->nerrors, p->cap_errors);
        x->nerrors++;
    }
}

static void end_delete(struct s3m_xml_parser *p, const char *name, int d)
{
    struct s3m_xml_delete *x = &p->res->del;
    const char *parent = p->stack[d - 1];
    if (d == 3 && s3m__xml_is(parent, "Deleted"))
        S3M__XML_SET(p, &x->deleted[x->ndeleted - 1], deleted_fields, name);
    else if (d == 3 && s3m__xml_is(parent, "Error"))
        S3M__XML_SET(p, &x->errors[x->nerrors - 1], deleted_fields, name);
}

const struct s3m__xml_doc s3m__xml_delete_doc = {start_delete, end_delete, NULL};

/* ---- InitiateMultipartUploadResult, CompleteMultipartUploadResult, Copy*Result ---- */

#define SINGLE(type, member, name) S3M__XML_FIELD(s3m_xml_single, type, member, name)
static const struct s3m__xml_field single_fields[] = {
    SINGLE(STR, location, "Location"), SINGLE(STR, bucket, "Bucket"),
    SINGLE(STR, key, "Key"),           SINGLE(STR, upload_id, "UploadId"),
    SINGLE(ETAG, etag, "ETag"),        SINGLE(STR, last_modified, "LastModified"),
};

static void end_single(struct s3m_xml_parser *p, const char *name, int d)
{
    if (d == 2)
        S3M__XML_SET(p, &p->res->single, single_fields, name);
}

const struct s3m__xml_doc s3m__xml_single_doc = {NULL, end_single, NULL};
