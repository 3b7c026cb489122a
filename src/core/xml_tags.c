/* xml_tags.c - object tag sets, pure: the Tagging reply's handlers (GetObjectTagging), the
 * canonical URL-encoded form (the x-amz-tagging header, and what a comparison of two tag sets
 * compares) and the PutObjectTagging body. */
#include "s3m/tags.h"
#include "s3m/uri.h"
#include "xml_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- the Tagging reply: Tagging / TagSet / Tag / (Key, Value) ---- */

#define TAG(member, name) S3M__XML_FIELD(s3m_xml_tag, STR, member, name)
static const struct s3m__xml_field tag_fields[] = {
    TAG(key, "Key"),
    TAG(value, "Value"),
};

/* an element at depth d (root = 1) inside Tagging/TagSet */
static bool in_tagset(const struct s3m_xml_parser *p, int d)
{
    return d >= 3 && s3m__xml_is(p->stack[2], "TagSet");
}

static void start_tagging(struct s3m_xml_parser *p, const char *name, int d)
{
    struct s3m_xml_tagging *t = &p->res->tagging;
    if (d != 3 || !s3m__xml_is(name, "Tag") || !in_tagset(p, d))
        return;
    if (t->ntags >= S3M_TAGS_MAX) {
        s3m__xml_fail(p, S3M_EXML, "more than %d tags", S3M_TAGS_MAX);
        return;
    }
    S3M__XML_GROW(t->tags, t->ntags, p->cap_tags);
    t->ntags++;
}

static void end_tagging(struct s3m_xml_parser *p, const char *name, int d)
{
    struct s3m_xml_tagging *t = &p->res->tagging;
    if (d < 3 || !in_tagset(p, d) || !t->ntags)
        return; /* only TagSet/Tag entries were created by start_tagging */
    struct s3m_xml_tag *tag = &t->tags[t->ntags - 1];
    if (d == 4 && s3m__xml_is(p->stack[3], "Tag"))
        S3M__XML_SET(p, tag, tag_fields, name);
    else if (d == 3 && s3m__xml_is(name, "Tag") && !tag->key)
        s3m__xml_fail(p, S3M_EXML, "<Tag> without <Key>");
    else if (d == 3 && s3m__xml_is(name, "Tag") && !tag->value)
        tag->value = "";
}

static void finish_tagging(struct s3m_xml_parser *p)
{
    const struct s3m_xml_tagging *t = &p->res->tagging;
    for (size_t i = 0; i < t->ntags; i++)
        for (size_t k = 0; k < i; k++)
            if (!strcmp(t->tags[i].key, t->tags[k].key)) {
                s3m__xml_fail(p, S3M_EXML, "tag key '%s' twice", t->tags[i].key);
                return;
            }
}

const struct s3m__xml_doc s3m__xml_tagging_doc = {start_tagging, end_tagging, finish_tagging};

/* ---- forms ---- */

static int tag_cmp(const void *a, const void *b)
{
    const struct s3m_xml_tag *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->value, y->value);
}

void s3m_tags_encode(struct s3m_buf *out, const struct s3m_xml_tag *tags, size_t n)
{
    struct s3m_xml_tag *sorted = n ? s3m_malloc(n * sizeof(*sorted)) : NULL;
    if (n)
        memcpy(sorted, tags, n * sizeof(*sorted));
    if (n > 1)
        qsort(sorted, n, sizeof(*sorted), tag_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i)
            s3m_buf_addc(out, '&');
        s3m_uri_encode(out, sorted[i].key, strlen(sorted[i].key), false);
        s3m_buf_addc(out, '=');
        s3m_uri_encode(out, sorted[i].value, strlen(sorted[i].value), false);
    }
    free(sorted);
}

void s3m_xml_escape(struct s3m_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': s3m_buf_adds(b, "&amp;"); break;
        case '<': s3m_buf_adds(b, "&lt;"); break;
        case '>': s3m_buf_adds(b, "&gt;"); break;
        case '"': s3m_buf_adds(b, "&quot;"); break;
        case '\'': s3m_buf_adds(b, "&apos;"); break;
        case '\r': s3m_buf_adds(b, "&#13;"); break;
        case '\n': s3m_buf_adds(b, "&#10;"); break;
        case '\t': s3m_buf_adds(b, "&#9;"); break;
        default: s3m_buf_addc(b, *s);
        }
    }
}

void s3m_tags_xml(struct s3m_buf *out, const struct s3m_xml_tag *tags, size_t n)
{
    s3m_buf_adds(out, "<Tagging xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><TagSet>");
    for (size_t i = 0; i < n; i++) {
        s3m_buf_adds(out, "<Tag><Key>");
        s3m_xml_escape(out, tags[i].key);
        s3m_buf_adds(out, "</Key><Value>");
        s3m_xml_escape(out, tags[i].value);
        s3m_buf_adds(out, "</Value></Tag>");
    }
    s3m_buf_adds(out, "</TagSet></Tagging>");
}

bool s3m_tags_counted(const char *count)
{
    uint64_t n = 0;
    return count && s3m_parse_u64(count, &n) && n > 0;
}
