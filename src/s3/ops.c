/* ops.c - one builder per S3 operation: method, sub-resources, headers and bodies as S3
 * defines them, and which reply document to expect. */
#include "s3m/hash.h"
#include "s3m/s3.h"
#include "s3m/tags.h"
#include "s3m/uri.h"
#include "s3m/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void s3m_s3_req_etag_header(struct s3m_s3_req *r, const char *name, const char *etag)
{
    char q[96];
    snprintf(q, sizeof(q), "\"%s\"", etag);
    s3m_s3_req_header(r, name, q);
}

struct s3m_s3_req *s3m_s3_list_buckets(struct s3m_s3 *c)
{
    struct s3m_s3_req *r = s3m_s3_req_new(c, S3M_OP_LIST_BUCKETS, "GET", NULL, NULL);
    r->xml_accept = S3M_XML_BUCKETS;
    return r;
}

struct s3m_s3_req *s3m_s3_create_bucket(struct s3m_s3 *c, const char *bucket)
{
    struct s3m_s3_req *r = s3m_s3_req_new(c, S3M_OP_CREATE_BUCKET, "PUT", bucket, NULL);
    const struct s3m_remote *rm = c->remote;
    const char *lc = rm->location_constraint;
    /* AWS refuses a bucket outside us-east-1 created without its region as the constraint;
     * elsewhere (Ceph zonegroups) only an explicit location_constraint is sent */
    if ((!lc || !*lc) && rm->provider && !s3m_strcasecmp(rm->provider, "AWS") && rm->region &&
        *rm->region && strcmp(rm->region, "us-east-1"))
        lc = rm->region;
    if (lc && *lc) {
        struct s3m_buf b;
        s3m_buf_init(&b);
        s3m_buf_printf(&b,
                       "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/"
                       "2006-03-01/\"><LocationConstraint>%s</LocationConstraint>"
                       "</CreateBucketConfiguration>",
                       lc);
        s3m_s3_req_body(r, b.data, b.len);
        s3m_buf_cleanup(&b);
    }
    return r;
}

struct s3m_s3_req *s3m_s3_head_bucket(struct s3m_s3 *c, const char *bucket)
{
    return s3m_s3_req_new(c, S3M_OP_HEAD_BUCKET, "HEAD", bucket, NULL);
}

struct s3m_s3_req *s3m_s3_list_objects(struct s3m_s3 *c, const char *bucket, const char *prefix,
                                       const char *token, const char *start_after,
                                       const char *delimiter, int max_keys)
{
    struct s3m_s3_req *r = s3m_s3_req_new(c, S3M_OP_LIST_OBJECTS, "GET", bucket, NULL);
    s3m_s3_req_query(r, "list-type", "2");
    if (token)
        s3m_s3_req_query(r, "continuation-token", token);
    if (delimiter)
        s3m_s3_req_query(r, "delimiter", delimiter);
    /* keys come back url-encoded: any byte survives the XML (control characters do not) */
    s3m_s3_req_query(r, "encoding-type", "url");
    if (max_keys > 0) {
        char mk[16];
        snprintf(mk, sizeof(mk), "%d", max_keys);
        s3m_s3_req_query(r, "max-keys", mk);
    }
    if (prefix && *prefix)
        s3m_s3_req_query(r, "prefix", prefix);
    if (start_after && *start_after)
        s3m_s3_req_query(r, "start-after", start_after);
    r->xml_accept = S3M_XML_LIST;
    return r;
}

static void add_part_number(struct s3m_s3_req *r, int part_number)
{
    if (part_number > 0) {
        char pn[16];
        snprintf(pn, sizeof(pn), "%d", part_number);
        s3m_s3_req_query(r, "partNumber", pn);
    }
}

struct s3m_s3_req *s3m_s3_head_object(struct s3m_s3 *c, const char *bucket, const char *key,
                                      int part_number)
{
    struct s3m_s3_req *r = s3m_s3_req_new(c, S3M_OP_HEAD_OBJECT, "HEAD", bucket, key);
    add_part_number(r, part_number);
    return r;
}

struct s3m_s3_req *s3m_s3_get_object(struct s3m_s3 *c, const char *bucket, const char *key,
                                     const char *range, int part_number, const char *if_match)
{
    struct s3m_s3_req *r = s3m_s3_req_new(c, S3M_OP_GET_OBJECT, "GET", bucket, key);
    add_part_number(r, part_number);
    if (range)
        s3m_s3_req_header(r, "Range", range);
    if (if_match)
        s3m_s3_req_etag_header(r, "If-Match", if_match);
    return r;
}

struct s3m_s3_req *s3m_s3_put_object(struct s3m_s3 *c, const char *bucket, const char *key)
{
    return s3m_s3_req_new(c, S3M_OP_PUT_OBJECT, "PUT", bucket, key);
}

static void copy_source(struct s3m_s3_req *r, const char *src_bucket, const char *src_key)
{
    struct s3m_buf b;
    s3m_buf_init(&b);
    s3m_buf_printf(&b, "/%s/", src_bucket);
    s3m_uri_encode(&b, src_key, strlen(src_key), true);
    s3m_s3_req_header(r, "x-amz-copy-source", b.data);
    s3m_buf_cleanup(&b);
}

struct s3m_s3_req *s3m_s3_copy_object(struct s3m_s3 *c, const char *bucket, const char *key,
                                      const char *src_bucket, const char *src_key,
                                      const char *if_match)
{
    struct s3m_s3_req *r = s3m_s3_req_new(c, S3M_OP_COPY_OBJECT, "PUT", bucket, key);
    copy_source(r, src_bucket, src_key);
    if (if_match)
        s3m_s3_req_etag_header(r, "x-amz-copy-source-if-match", if_match);
    r->xml_accept = S3M_XML_COPY;
    return r;
}

struct s3m_s3_req *s3m_s3_create_mpu(struct s3m_s3 *c, const char *bucket, const char *key)
{
    struct s3m_s3_req *r = s3m_s3_req_new(c, S3M_OP_CREATE_MPU, "POST", bucket, key);
    s3m_s3_req_query(r, "uploads", NULL);
    r->xml_accept = S3M_XML_INITIATE;
    return r;
}

static void part_query(struct s3m_s3_req *r, int part_number, const char *upload_id)
{
    char pn[16];
    snprintf(pn, sizeof(pn), "%d", part_number);
    s3m_s3_req_query(r, "partNumber", pn);
    s3m_s3_req_query(r, "uploadId", upload_id);
}

struct s3m_s3_req *s3m_s3_upload_part(struct s3m_s3 *c, const char *bucket, const char *key,
                                      const char *upload_id, int part_number)
{
    struct s3m_s3_req *r = s3m_s3_req_new(c, S3M_OP_UPLOAD_PART, "PUT", bucket, key);
    part_query(r, part_number, upload_id);
    return r;
}

struct s3m_s3_req *s3m_s3_upload_part_copy(struct s3m_s3 *c, const char *bucket, const char *key,
                                           const char *upload_id, int part_number,
                                           const char *src_bucket, const char *src_key,
                                           uint64_t first, uint64_t last)
{
    struct s3m_s3_req *r = s3m_s3_req_new(c, S3M_OP_UPLOAD_PART_COPY, "PUT", bucket, key);
    part_query(r, part_number, upload_id);
    copy_source(r, src_bucket, src_key);
    char range[80];
    snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64, first, last);
    s3m_s3_req_header(r, "x-amz-copy-source-range", range);
    r->xml_accept = S3M_XML_COPY;
    return r;
}

static void set_md5(struct s3m_s3_req *r)
{
    uint8_t md5[S3M_MD5_LEN];
    char b64[32];
    s3m_md5(r->body.data, r->body.len, md5);
    s3m_base64(md5, sizeof(md5), b64);
    s3m_s3_req_header(r, "Content-MD5", b64);
}

struct s3m_s3_req *s3m_s3_complete_mpu(struct s3m_s3 *c, const char *bucket, const char *key,
                                       const char *upload_id, const struct s3m_mpu_part *parts,
                                       size_t nparts)
{
    struct s3m_s3_req *r = s3m_s3_req_new(c, S3M_OP_COMPLETE_MPU, "POST", bucket, key);
    s3m_s3_req_query(r, "uploadId", upload_id);
    struct s3m_buf b;
    s3m_buf_init(&b);
    s3m_buf_adds(&b, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for (size_t i = 0; i < nparts; i++)
        s3m_buf_printf(&b, "<Part><PartNumber>%d</PartNumber><ETag>\"%s\"</ETag></Part>",
                       parts[i].number, parts[i].etag);
    s3m_buf_adds(&b, "</CompleteMultipartUpload>");
    s3m_s3_req_body(r, b.data, b.len);
    s3m_buf_cleanup(&b);
    r->xml_accept = S3M_XML_COMPLETE;
    return r;
}

struct s3m_s3_req *s3m_s3_abort_mpu(struct s3m_s3 *c, const char *bucket, const char *key,
                                    const char *upload_id)
{
    struct s3m_s3_req *r = s3m_s3_req_new(c, S3M_OP_ABORT_MPU, "DELETE", bucket, key);
    s3m_s3_req_query(r, "uploadId", upload_id);
    return r;
}

struct s3m_s3_req *s3m_s3_list_mpu(struct s3m_s3 *c, const char *bucket, const char *prefix,
                                   const char *key_marker, const char *upload_id_marker)
{
    struct s3m_s3_req *r = s3m_s3_req_new(c, S3M_OP_LIST_MPU, "GET", bucket, NULL);
    s3m_s3_req_query(r, "uploads", NULL);
    if (key_marker && *key_marker)
        s3m_s3_req_query(r, "key-marker", key_marker);
    if (prefix && *prefix)
        s3m_s3_req_query(r, "prefix", prefix);
    if (upload_id_marker && *upload_id_marker)
        s3m_s3_req_query(r, "upload-id-marker", upload_id_marker);
    r->xml_accept = S3M_XML_UPLOADS;
    return r;
}

struct s3m_s3_req *s3m_s3_list_parts(struct s3m_s3 *c, const char *bucket, const char *key,
                                     const char *upload_id, int part_marker)
{
    struct s3m_s3_req *r = s3m_s3_req_new(c, S3M_OP_LIST_PARTS, "GET", bucket, key);
    s3m_s3_req_query(r, "uploadId", upload_id);
    if (part_marker > 0) {
        char pm[16];
        snprintf(pm, sizeof(pm), "%d", part_marker);
        s3m_s3_req_query(r, "part-number-marker", pm);
    }
    r->xml_accept = S3M_XML_PARTS;
    return r;
}

struct s3m_s3_req *s3m_s3_delete_objects(struct s3m_s3 *c, const char *bucket,
                                         const char *const *keys, size_t n)
{
    struct s3m_s3_req *r = s3m_s3_req_new(c, S3M_OP_DELETE_OBJECTS, "POST", bucket, NULL);
    s3m_s3_req_query(r, "delete", NULL);
    struct s3m_buf b;
    s3m_buf_init(&b);
    s3m_buf_adds(&b,
                 "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>");
    for (size_t i = 0; i < n; i++) {
        s3m_buf_adds(&b, "<Object><Key>");
        s3m_xml_escape(&b, keys[i]);
        s3m_buf_adds(&b, "</Key></Object>");
    }
    s3m_buf_adds(&b, "</Delete>");
    s3m_s3_req_body(r, b.data, b.len);
    s3m_buf_cleanup(&b);
    set_md5(r);
    s3m_s3_req_header(r, "Content-Type", "application/xml");
    r->xml_accept = S3M_XML_DELETE;
    return r;
}

struct s3m_s3_req *s3m_s3_delete_object(struct s3m_s3 *c, const char *bucket, const char *key)
{
    return s3m_s3_req_new(c, S3M_OP_DELETE_OBJECT, "DELETE", bucket, key);
}

struct s3m_s3_req *s3m_s3_get_tagging(struct s3m_s3 *c, const char *bucket, const char *key)
{
    struct s3m_s3_req *r = s3m_s3_req_new(c, S3M_OP_GET_TAGGING, "GET", bucket, key);
    s3m_s3_req_query(r, "tagging", NULL);
    r->xml_accept = S3M_XML_TAGGING;
    return r;
}

struct s3m_s3_req *s3m_s3_put_tagging_xml(struct s3m_s3 *c, const char *bucket, const char *key,
                                          const char *xml)
{
    struct s3m_s3_req *r = s3m_s3_req_new(c, S3M_OP_PUT_TAGGING, "PUT", bucket, key);
    s3m_s3_req_query(r, "tagging", NULL);
    s3m_s3_req_body(r, xml, strlen(xml));
    set_md5(r);
    s3m_s3_req_header(r, "Content-Type", "application/xml");
    return r;
}

struct s3m_s3_req *s3m_s3_put_tagging(struct s3m_s3 *c, const char *bucket, const char *key,
                                      const struct s3m_xml_tag *tags, size_t n)
{
    struct s3m_buf b;
    s3m_buf_init(&b);
    s3m_tags_xml(&b, tags, n);
    struct s3m_s3_req *r = s3m_s3_put_tagging_xml(c, bucket, key, s3m_buf_str(&b));
    s3m_buf_cleanup(&b);
    return r;
}

struct s3m_s3_req *s3m_s3_delete_tagging(struct s3m_s3 *c, const char *bucket, const char *key)
{
    struct s3m_s3_req *r = s3m_s3_req_new(c, S3M_OP_DELETE_TAGGING, "DELETE", bucket, key);
    s3m_s3_req_query(r, "tagging", NULL);
    return r;
}

struct s3m_s3_req *s3m_s3_clear_tagging(struct s3m_s3 *c, const char *bucket, const char *key)
{
    /* radosgw blanks the object's listed ETag on DeleteObjectTagging (the next run would see
     * it differ and copy it again) and takes an empty PutObjectTagging; moto answers that one
     * with HTTP 500 */
    const char *prov = c->remote ? c->remote->provider : NULL;
    if (prov && !s3m_strcasecmp(prov, "Ceph"))
        return s3m_s3_put_tagging(c, bucket, key, NULL, 0);
    return s3m_s3_delete_tagging(c, bucket, key);
}
