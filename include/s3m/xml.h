/* s3m/xml.h - streaming reader of S3 XML replies (libxml2 push parser, SAX2).
 *
 * Feed the body as it arrives; the reader keeps only the fields S3 defines, in an arena freed
 * with the result. Safe by construction: any DOCTYPE is refused (so no entity expansion, no DTD
 * or external entity loading), no network, bounded depth, text length and entry count; numbers,
 * booleans, root names and url-encoding are validated. */
#ifndef S3M_XML_H
#define S3M_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "s3m/err.h"
#include "s3m/util.h"

#define S3M_MAX_KEY_LEN 1024       /* S3's limit on key bytes */
#define S3M_XML_MAX_TEXT 16384     /* any one element's text */
#define S3M_XML_MAX_DEPTH 16       /* S3 documents nest 4 deep */
#define S3M_XML_MAX_ENTRIES 100000 /* entries of one document */
#define S3M_XML_MAX_BYTES (64u << 20)

/* The document kinds; a caller says which it accepts (bit mask). An <Error> is always accepted. */
enum s3m_xml_kind {
    S3M_XML_NONE = 0,
    S3M_XML_LIST = 1 << 0,     /* ListBucketResult (v1 and v2) */
    S3M_XML_BUCKETS = 1 << 1,  /* ListAllMyBucketsResult */
    S3M_XML_ERROR = 1 << 2,    /* Error */
    S3M_XML_INITIATE = 1 << 3, /* InitiateMultipartUploadResult */
    S3M_XML_COMPLETE = 1 << 4, /* CompleteMultipartUploadResult */
    S3M_XML_COPY = 1 << 5,     /* CopyObjectResult, CopyPartResult */
    S3M_XML_DELETE = 1 << 6,   /* DeleteResult */
    S3M_XML_UPLOADS = 1 << 7,  /* ListMultipartUploadsResult */
    S3M_XML_PARTS = 1 << 8,    /* ListPartsResult */
    S3M_XML_TAGGING = 1 << 9,  /* Tagging (GetObjectTagging) */
};

/* A string field is NULL when the element was absent, "" when empty. */
struct s3m_xml_object {
    const char *key;
    const char *key_raw; /* text as in the document (differs with EncodingType=url) */
    uint64_t size;
    const char *etag; /* without quotes */
    const char *last_modified;
    const char *storage_class;
    const char *owner_id;
};

/* Under EncodingType=url keys, common prefixes and NextMarker are decoded (a bad escape fails
 * the page); the echoes Prefix, Delimiter, StartAfter and Marker are decoded when they decode,
 * else kept as sent (never used). Continuation tokens are never encoded. */
struct s3m_xml_list {
    int version; /* 2 when any v2-only field appeared, else 1 */
    const char *name, *prefix, *delimiter, *encoding_type;
    const char *continuation_token, *next_continuation_token, *start_after;
    const char *marker, *next_marker;
    int64_t max_keys, key_count; /* -1 when absent */
    bool is_truncated;
    struct s3m_xml_object *objects;
    size_t nobjects;
    const char **common_prefixes;
    size_t nprefixes;
};

struct s3m_xml_bucket {
    const char *name, *creation_date;
};

struct s3m_xml_buckets {
    const char *owner_id, *owner_display_name, *continuation_token;
    struct s3m_xml_bucket *buckets;
    size_t nbuckets;
};

struct s3m_xml_error {
    const char *code, *message, *request_id, *host_id, *resource, *bucket_name, *key;
    const char **other_fields; /* names of further children */
    size_t nother;
};

struct s3m_xml_deleted {
    const char *key, *version_id, *delete_marker, *delete_marker_version_id;
    const char *code, *message; /* Error entries only */
};

struct s3m_xml_delete {
    struct s3m_xml_deleted *deleted, *errors;
    size_t ndeleted, nerrors;
};

struct s3m_xml_upload {
    const char *key, *upload_id, *initiated, *storage_class;
};

struct s3m_xml_uploads {
    const char *bucket, *key_marker, *upload_id_marker, *next_key_marker, *next_upload_id_marker;
    int64_t max_uploads;
    bool is_truncated;
    struct s3m_xml_upload *uploads;
    size_t nuploads;
    const char **common_prefixes;
    size_t nprefixes;
};

/* One part of a ListParts page: each has its number (1..10000), size and ETag. */
struct s3m_xml_part {
    int64_t number;
    uint64_t size;
    const char *etag; /* without quotes */
    const char *last_modified;
};

struct s3m_xml_parts {
    const char *bucket, *key, *upload_id, *storage_class;
    int64_t part_number_marker, next_part_number_marker, max_parts; /* -1 when absent */
    bool is_truncated;
    struct s3m_xml_part *parts;
    size_t nparts;
};

/* Single-object results: Initiate (bucket, key, upload_id), Complete (location, bucket, key,
 * etag), Copy (etag, last_modified). */
struct s3m_xml_single {
    const char *location, *bucket, *key, *upload_id, *etag, *last_modified;
};

/* An object's tag set (GetObjectTagging): every Tag has its Key; a missing Value is "". */
struct s3m_xml_tag {
    const char *key, *value;
};

struct s3m_xml_tagging {
    struct s3m_xml_tag *tags;
    size_t ntags;
};

struct s3m_xml_result {
    enum s3m_xml_kind kind;
    const char *root; /* local name of the root element */
    const char *namespace_uri;
    struct s3m_xml_list list;
    struct s3m_xml_buckets buckets;
    struct s3m_xml_error error;
    struct s3m_xml_delete del;
    struct s3m_xml_uploads uploads;
    struct s3m_xml_parts parts;
    struct s3m_xml_single single;
    struct s3m_xml_tagging tagging;
    struct s3m_arena arena;
};

struct s3m_xml_parser;

/* Start a parser accepting the given kinds (an Error document is always accepted). */
struct s3m_xml_parser *s3m_xml_new(unsigned accept);
void s3m_xml_free(struct s3m_xml_parser *p);
/* Feed the next bytes of the body. After an error, later calls return the same error. */
enum s3m_err s3m_xml_feed(struct s3m_xml_parser *p, const void *data, size_t len,
                          struct s3m_errinfo *ei);
/* End of body: finish, validate and move the result to *out (free with s3m_xml_result_free). */
enum s3m_err s3m_xml_finish(struct s3m_xml_parser *p, struct s3m_xml_result **out,
                            struct s3m_errinfo *ei);
/* Whole-document convenience. */
enum s3m_err s3m_xml_parse(const void *data, size_t len, unsigned accept,
                           struct s3m_xml_result **out, struct s3m_errinfo *ei);
void s3m_xml_result_free(struct s3m_xml_result *r);

#endif
