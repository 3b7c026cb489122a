/* xml_field.c - the S3 reply reader's field setters: an element's text becomes a string, an ETag,
 * a number or a boolean of the result, each at most once, and any bad value refuses the reply.
 * The document handlers (xml_list.c, xml_reply.c) say which element fills which field. */
#include "xml_int.h"

#include <stdarg.h>
#include <stdio.h>

void s3m__xml_fail(struct s3m_xml_parser *p, enum s3m_err e, const char *fmt, ...)
{
    if (!p->err) {
        p->err = e;
        if (p->ctxt)
            xmlStopParser(p->ctxt);
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->errmsg, sizeof(p->errmsg), fmt, ap);
    va_end(ap);
}

const char *s3m__xml_text(struct s3m_xml_parser *p)
{
    return s3m_arena_strndup(&p->res->arena, s3m_buf_str(&p->text), p->text.len);
}

/* set a string field once; a second occurrence is an error */
static void set_once(struct s3m_xml_parser *p, const char **field, const char *name)
{
    if (*field) {
        s3m__xml_fail(p, S3M_EXML, "duplicate <%s> element", name);
        return;
    }
    *field = s3m__xml_text(p);
}

static void set_etag(struct s3m_xml_parser *p, const char **field)
{
    if (*field) {
        s3m__xml_fail(p, S3M_EXML, "duplicate <ETag> element");
        return;
    }
    const char *t = s3m_buf_str(&p->text);
    size_t n = p->text.len;
    if (n >= 2 && t[0] == '"' && t[n - 1] == '"')
        *field = s3m_arena_strndup(&p->res->arena, t + 1, n - 2);
    else
        *field = s3m__xml_text(p);
}

static void set_int(struct s3m_xml_parser *p, int64_t *field, const char *name)
{
    uint64_t v;
    if (*field != -1) {
        s3m__xml_fail(p, S3M_EXML, "duplicate <%s> element", name);
    } else if (!s3m_parse_u64(s3m_buf_str(&p->text), &v) || v > INT64_MAX) {
        s3m__xml_fail(p, S3M_EXML, "<%s> is not a valid number", name);
    } else {
        *field = (int64_t)v;
    }
}

bool s3m__xml_set_field(struct s3m_xml_parser *p, void *obj, const struct s3m__xml_field *fields,
                        size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (!s3m__xml_is(name, fields[i].name))
            continue;
        char *at = (char *)obj + fields[i].off;
        switch (fields[i].type) {
        case S3M__XML_STR: set_once(p, (const char **)at, name); break;
        case S3M__XML_ETAG: set_etag(p, (const char **)at); break;
        case S3M__XML_INT: set_int(p, (int64_t *)at, name); break;
        }
        return true;
    }
    return false;
}

void s3m__xml_set_bool(struct s3m_xml_parser *p, bool *field, unsigned bit, const char *name)
{
    const char *t = s3m_buf_str(&p->text);
    if (p->seen & bit) {
        s3m__xml_fail(p, S3M_EXML, "duplicate <%s> element", name);
        return;
    }
    p->seen |= bit;
    if (!strcmp(t, "true"))
        *field = true;
    else if (!strcmp(t, "false"))
        *field = false;
    else
        s3m__xml_fail(p, S3M_EXML, "<%s> is neither true nor false", name);
}
