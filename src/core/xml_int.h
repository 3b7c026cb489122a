/* xml_int.h - what the parts of the S3 reply reader share, private to src/core/xml*.c: the parser
 * state, the one way to record an error, the element-to-field tables with which the document
 * handlers (xml_list.c, xml_reply.c) fill a result, and the handlers the SAX driver (xml.c) calls.
 * Calls go one way: driver -> document handlers -> field setters (xml_field.c). */
#ifndef S3M_XML_INT_H
#define S3M_XML_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <libxml/parser.h>

#include "s3m/xml.h"

struct s3m__xml_doc;

struct s3m_xml_parser {
    xmlParserCtxtPtr ctxt;
    unsigned accept;
    const struct s3m__xml_doc *doc; /* handlers of the root's kind; NULL before the root */
    struct s3m_xml_result *res;
    enum s3m_err err;
    char errmsg[256];
    int depth;                                /* of the open element; root = 1 */
    const char *stack[S3M_XML_MAX_DEPTH + 1]; /* local names (libxml2 dictionary strings) */
    struct s3m_buf text;
    bool started;
    size_t fed;
    size_t cap_objects, cap_prefixes, cap_buckets, cap_deleted, cap_errors, cap_uploads, cap_other;
    size_t cap_parts, cap_tags;
    unsigned seen; /* fields already set, in the document and (bits 8..) in its current entry */
};

/* One kind of document: start runs after an element at depth d (root = 1) opened, end when it
 * closes with its text in p->text, finish once the whole document was read; any may be NULL. */
struct s3m__xml_doc {
    void (*start)(struct s3m_xml_parser *p, const char *name, int d);
    void (*end)(struct s3m_xml_parser *p, const char *name, int d);
    void (*finish)(struct s3m_xml_parser *p);
};

/* xml_list.c: ListBucketResult (v1 and v2), ListMultipartUploadsResult */
extern const struct s3m__xml_doc s3m__xml_list_doc, s3m__xml_uploads_doc;
/* xml_parts.c: ListPartsResult */
extern const struct s3m__xml_doc s3m__xml_parts_doc;
/* xml_reply.c: the other replies */
extern const struct s3m__xml_doc s3m__xml_buckets_doc, s3m__xml_error_doc, s3m__xml_delete_doc,
    s3m__xml_single_doc;
/* xml_tags.c: Tagging (GetObjectTagging) */
extern const struct s3m__xml_doc s3m__xml_tagging_doc;

/* Refuse the reply: the first error's code is kept (the message is that of the latest call;
 * callers test p->err first, so there is one) and the parser stops. */
void s3m__xml_fail(struct s3m_xml_parser *p, enum s3m_err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- fields (xml_field.c) ---- */

enum s3m__xml_type {
    S3M__XML_STR,  /* const char *, set once */
    S3M__XML_ETAG, /* const char *, set once, surrounding quotes dropped */
    S3M__XML_INT,  /* int64_t, -1 until set once with a decimal number */
};

/* An element that fills a field of a result struct at byte offset off. */
struct s3m__xml_field {
    const char *name;
    enum s3m__xml_type type;
    size_t off;
};
/* One entry of a field table: element name, how its text is read (S3M__XML_<type>), and where
 * it goes in struct st. */
#define S3M__XML_FIELD(st, type, member, name)                                                     \
    {                                                                                              \
        name, S3M__XML_##type, offsetof(struct st, member)                                         \
    }

/* The field of obj named name in fields[0..n) set from the element's text (a second occurrence
 * or a bad value fails the reply): true when name is one of them. */
bool s3m__xml_set_field(struct s3m_xml_parser *p, void *obj, const struct s3m__xml_field *fields,
                        size_t n, const char *name);
#define S3M__XML_SET(p, obj, fields, name)                                                         \
    s3m__xml_set_field((p), (obj), (fields), S3M_ARRAY_LEN(fields), (name))
/* A true/false field; bit (of p->seen) says it was set. */
void s3m__xml_set_bool(struct s3m_xml_parser *p, bool *field, unsigned bit, const char *name);
/* The element's text, copied into the result's arena. */
const char *s3m__xml_text(struct s3m_xml_parser *p);

/* grow an array stored in the result (realloc'd, freed with it) and zero its entry n */
#define S3M__XML_GROW(arr, n, cap)                                                                 \
    do {                                                                                           \
        if ((n) == (cap)) {                                                                        \
            (cap) = (cap) ? (cap)*2 : 16;                                                          \
            (arr) = s3m_realloc((void *)(arr), (cap) * sizeof(*(arr)));                            \
        }                                                                                          \
        memset((void *)&(arr)[(n)], 0, sizeof(*(arr)));                                            \
    } while (0)

static inline bool s3m__xml_is(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

#endif
