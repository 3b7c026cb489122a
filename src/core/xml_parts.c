/* xml_parts.c - the S3 reply reader's handlers for ListPartsResult (one page of an upload's
 * parts, for resuming an interrupted multipart upload). The page must say whether it is
 * truncated, and each <Part> needs its number (1..10000), its size and its ETag: a part that
 * cannot be compared is a reply we refuse, never a part we keep. */
#include "xml_int.h"

#define SEEN_TRUNC 1u /* <IsTruncated> of the page */
#define SEEN_SIZE 2u  /* <Size> of the current <Part>, in the entry bits (<< 8) */

#define PARTS(type, member, name) S3M__XML_FIELD(s3m_xml_parts, type, member, name)
static const struct s3m__xml_field parts_fields[] = {
    PARTS(STR, bucket, "Bucket"),
    PARTS(STR, key, "Key"),
    PARTS(STR, upload_id, "UploadId"),
    PARTS(STR, storage_class, "StorageClass"),
    PARTS(INT, part_number_marker, "PartNumberMarker"),
    PARTS(INT, next_part_number_marker, "NextPartNumberMarker"),
    PARTS(INT, max_parts, "MaxParts"),
};

#define PART(type, member, name) S3M__XML_FIELD(s3m_xml_part, type, member, name)
static const struct s3m__xml_field part_fields[] = {
    PART(INT, number, "PartNumber"),
    PART(ETAG, etag, "ETag"),
    PART(STR, last_modified, "LastModified"),
};

static void start_parts(struct s3m_xml_parser *p, const char *name, int d)
{
    struct s3m_xml_parts *x = &p->res->parts;
    if (d == 2 && s3m__xml_is(name, "Part")) {
        S3M__XML_GROW(x->parts, x->nparts, p->cap_parts);
        x->parts[x->nparts++].number = -1;
        p->seen &= 0xff;
    }
}

static void end_part(struct s3m_xml_parser *p, const struct s3m_xml_part *pt)
{
    if (pt->number < 1 || pt->number > 10000)
        s3m__xml_fail(p, S3M_EXML, "<Part> entry without a <PartNumber> in 1..10000");
    else if (!pt->etag)
        s3m__xml_fail(p, S3M_EXML, "<Part> entry without <ETag>");
    else if (!(p->seen & SEEN_SIZE << 8))
        s3m__xml_fail(p, S3M_EXML, "<Part> entry without <Size>");
    p->seen &= 0xff;
}

static void set_size(struct s3m_xml_parser *p, struct s3m_xml_part *pt)
{
    if (p->seen & SEEN_SIZE << 8)
        s3m__xml_fail(p, S3M_EXML, "duplicate <Size> element");
    else if (!s3m_parse_u64(s3m_buf_str(&p->text), &pt->size))
        s3m__xml_fail(p, S3M_EXML, "<Size> is not a valid 64-bit number");
    p->seen |= SEEN_SIZE << 8;
}

static void end_parts(struct s3m_xml_parser *p, const char *name, int d)
{
    struct s3m_xml_parts *x = &p->res->parts;
    struct s3m_xml_part *pt = x->nparts ? &x->parts[x->nparts - 1] : NULL;
    if (d == 2) {
        if (S3M__XML_SET(p, x, parts_fields, name))
            return;
        if (s3m__xml_is(name, "IsTruncated"))
            s3m__xml_set_bool(p, &x->is_truncated, SEEN_TRUNC, name);
        else if (s3m__xml_is(name, "Part"))
            end_part(p, pt);
    } else if (d == 3 && s3m__xml_is(p->stack[2], "Part")) {
        if (!S3M__XML_SET(p, pt, part_fields, name) && s3m__xml_is(name, "Size"))
            set_size(p, pt);
    }
}

static void finish_parts(struct s3m_xml_parser *p)
{
    const struct s3m_xml_parts *x = &p->res->parts;
    if (!(p->seen & SEEN_TRUNC))
        s3m__xml_fail(p, S3M_EXML, "ListParts page without <IsTruncated>");
    else if (x->is_truncated && x->next_part_number_marker < 1)
        s3m__xml_fail(p, S3M_EXML, "truncated ListParts page without <NextPartNumberMarker>");
}

const struct s3m__xml_doc s3m__xml_parts_doc = {start_parts, end_parts, finish_parts};
