/* xml.c - the text of bench/fastsrv's replies and the parsing of its request bodies: listings
 * (v1 and v2, paging, prefix, delimiter), ListParts, query strings and URL/XML encodings. */
#include "fastsrv.h"
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fs_buf_printf(struct fs_buf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = 2 * b->cap + (size_t)(n > 0 ? n : 0) + 1024;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
}

void fs_buf_key(struct fs_buf *b, const char *key, int url)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || strchr("-_.~/", *p);
        if (url && !plain)
            fs_buf_printf(b, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
        else if (*p == '&')
            fs_buf_printf(b, "&amp;");
        else if (*p == '<')
            fs_buf_printf(b, "&lt;");
        else if (*p == '>')
            fs_buf_printf(b, "&gt;");
        else if (*p < 0x20)
            fs_buf_printf(b, "&#%d;", *p);
        else
            fs_buf_printf(b, "%c", *p);
    }
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                : -1;
}

size_t fs_urldecode(char *out, size_t n, const char *in, size_t len, int plus)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < n; i++) {
        if (in[i] == '%' && i + 2 < len && hexval(in[i + 1]) >= 0 && hexval(in[i + 2]) >= 0) {
            out[o++] = (char)(hexval(in[i + 1]) * 16 + hexval(in[i + 2]));
            i += 2;
        } else {
            out[o++] = plus && in[i] == '+' ? ' ' : in[i];
        }
    }
    out[o] = 0;
    return o;
}

/* the value of name in q; 1 if present (also with no '=') */
int fs_qget(const char *q, const char *name, char *out, size_t n)
{
    size_t l = strlen(name);
    for (const char *p = q; p && *p;) {
        if (!strncmp(p, name, l) && (p[l] == '=' || p[l] == '&' || !p[l])) {
            const char *v = p[l] == '=' ? p + l + 1 : p + l, *e = strchr(v, '&');
            if (out)
                fs_urldecode(out, n, v, e ? (size_t)(e - v) : strlen(v), 1);
            return 1;
        }
        p = strchr(p, '&');
        if (p)
            p++;
    }
    return 0;
}

int fs_qhas(const char *q, const char *name)
{
    return fs_qget(q, name, NULL, 0);
}

static void hexenc(char *out, size_t n, const char *s)
{
    size_t o = 0;
    for (; *s && o + 3 < n; s++, o += 2)
        snprintf(out + o, 3, "%02x", (unsigned char)*s);
    out[o] = 0;
}

static void hexdec(char *out, size_t n, const char *s)
{
    size_t o = 0;
    for (; s[0] && s[1] && o + 1 < n; s += 2)
        out[o++] = (char)(hexval(s[0]) * 16 + hexval(s[1]));
    out[o] = 0;
}

struct listq {
    char prefix[FS_KEY_MAX], after[FS_KEY_MAX], delim[8];
    uint64_t max;
    int v2, url;
};

static void parse_listq(const char *q, struct listq *l)
{
    char tok[2 * FS_KEY_MAX + 8], mk[32];
    memset(l, 0, sizeof(*l));
    l->v2 = strstr(q, "list-type=2") != NULL;
    l->url = strstr(q, "encoding-type=url") != NULL;
    l->max = 1000;
    fs_qget(q, "prefix", l->prefix, sizeof(l->prefix));
    fs_qget(q, "delimiter", l->delim, sizeof(l->delim));
    if (fs_qget(q, "max-keys", mk, sizeof(mk)) && strtoull(mk, NULL, 10) < 1000)
        l->max = strtoull(mk, NULL, 10);
    if (l->v2 && fs_qget(q, "continuation-token", tok, sizeof(tok)))
        hexdec(l->after, sizeof(l->after), tok);
    else if (!fs_qget(q, l->v2 ? "start-after" : "marker", l->after, sizeof(l->after)))
        l->after[0] = 0;
}

/* the first index at or after `from` whose key is > after and starts with prefix */
static uint64_t list_start(const struct fs_bucket *b, const struct listq *l)
{
    uint64_t i = fs_bucket_find_ge(b, l->prefix);
    if (l->after[0]) {
        uint64_t j = fs_bucket_find_ge(b, l->after);
        char kb[32];
        if (j < fs_bucket_count(b) && !strcmp(fs_bucket_key(b, j, kb), l->after))
            j++;
        if (j > i)
            i = j;
    }
    return i;
}

static void list_entry(struct fs_buf *o, const struct fs_bucket *b, uint64_t i, const char *key,
                       int url)
{
    struct fs_obj ob;
    fs_bucket_obj(b, i, &ob);
    fs_buf_printf(o, "<Contents><Key>");
    fs_buf_key(o, key, url);
    fs_buf_printf(o,
                  "</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>&quot;%s"
                  "&quot;</ETag><Size>%" PRIu64 "</Size><StorageClass>STANDARD</StorageClass>"
                  "</Contents>",
                  ob.etag, ob.size);
}

/* the listing's entries from i on; returns the last key or common prefix listed ("" if none) */
static int list_body(struct fs_buf *o, const struct fs_bucket *b, const struct listq *l, uint64_t i,
                     char *last, size_t lastn, uint64_t *count)
{
    uint64_t n = fs_bucket_count(b), listed = 0;
    size_t pl = strlen(l->prefix);
    char kb[32];
    last[0] = 0;
    while (i < n) {
        const char *key = fs_bucket_key(b, i, kb);
        *count = listed;
        if (strncmp(key, l->prefix, pl))
            return 0;
        if (listed == l->max)
            return 1;
        const char *d = l->delim[0] ? strstr(key + pl, l->delim) : NULL;
        if (d) { /* a common prefix: listed once, then skip every key under it */
            char cp[FS_KEY_MAX];
            size_t cl = (size_t)(d - key) + strlen(l->delim);
            snprintf(cp, sizeof(cp), "%.*s", (int)cl, key);
            fs_buf_printf(o, "<CommonPrefixes><Prefix>");
            fs_buf_key(o, cp, l->url);
            fs_buf_printf(o, "</Prefix></CommonPrefixes>");
            snprintf(last, lastn, "%s", cp);
            cp[cl - 1]++;
            i = fs_bucket_find_ge(b, cp);
        } else {
            list_entry(o, b, i, key, l->url);
            snprintf(last, lastn, "%s", key);
            i++;
        }
        listed++;
    }
    *count = listed;
    return 0;
}

void fs_list(struct fs_conn *c, struct fs_bucket *b, const char *q)
{
    struct listq l;
    parse_listq(q, &l);
    struct fs_buf body = {0}, o = {0};
    char last[FS_KEY_MAX], tok[2 * FS_KEY_MAX + 8];
    uint64_t cnt = 0;
    int more = list_body(&body, b, &l, list_start(b, &l), last, sizeof(last), &cnt);
    fs_buf_printf(&o,
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\""
                  "http://s3.amazonaws.com/doc/2006-03-01/\"><Name>%s</Name><Prefix>",
                  b->name);
    fs_buf_key(&o, l.prefix, l.url);
    fs_buf_printf(&o, "</Prefix><MaxKeys>%" PRIu64 "</MaxKeys><IsTruncated>%s</IsTruncated>", l.max,
                  more ? "true" : "false");
    if (l.delim[0]) {
        fs_buf_printf(&o, "<Delimiter>");
        fs_buf_key(&o, l.delim, l.url);
        fs_buf_printf(&o, "</Delimiter>");
    }
    if (l.url)
        fs_buf_printf(&o, "<EncodingType>url</EncodingType>");
    if (more && l.v2) {
        hexenc(tok, sizeof(tok), last);
        fs_buf_printf(&o, "<NextContinuationToken>%s</NextContinuationToken>", tok);
    } else if (more) { /* v1: NextMarker */
        fs_buf_printf(&o, "<NextMarker>");
        fs_buf_key(&o, last, l.url);
        fs_buf_printf(&o, "</NextMarker>");
    }
    if (l.v2)
        fs_buf_printf(&o, "<KeyCount>%" PRIu64 "</KeyCount>", cnt);
    fs_buf_printf(&o, "%.*s</ListBucketResult>", (int)body.len, body.p ? body.p : "");
    fs_respond(c, 200, "Content-Type: application/xml\r\n", o.p, o.len);
    free(o.p);
    free(body.p);
}

void fs_xml_list_parts(struct fs_buf *o, const struct fs_upload *u, const char *bucket)
{
    fs_buf_printf(o,
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListPartsResult xmlns=\"http://"
                  "s3.amazonaws.com/doc/2006-03-01/\"><Bucket>%s</Bucket><Key>",
                  bucket);
    fs_buf_key(o, u->key, 0);
    fs_buf_printf(o,
                  "</Key><UploadId>%u</UploadId><MaxParts>10000</MaxParts><IsTruncated>false"
                  "</IsTruncated>",
                  u->id);
    for (unsigned i = 0; i < u->cap; i++) {
        if (!u->parts[i].have)
            continue;
        char hex[33];
        fs_md5_hex(u->parts[i].md5, hex);
        fs_buf_printf(o,
                      "<Part><PartNumber>%u</PartNumber><LastModified>2026-01-01T00:00:00.000Z"
                      "</LastModified><ETag>&quot;%s&quot;</ETag><Size>%" PRIu64 "</Size></Part>",
                      i + 1, hex, u->parts[i].size);
    }
    fs_buf_printf(o, "</ListPartsResult>");
}

static size_t xml_unescape(char *out, size_t n, const char *in, size_t len)
{
    static const struct {
        const char *ent;
        char c;
    } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < n; i++) {
        char c = in[i];
        if (c == '&') {
            for (size_t e = 0; e < sizeof(ents) / sizeof(ents[0]); e++) {
                size_t el = strlen(ents[e].ent);
                if (i + el <= len && !strncmp(in + i, ents[e].ent, el)) {
                    c = ents[e].c;
                    i += el - 1;
                    break;
                }
            }
            if (c == '&' && i + 2 < len && in[i + 1] == '#') { /* &#NN; */
                char *end;
                long v = strtol(in + i + 2, &end, 10);
                if (*end == ';') {
                    c = (char)v;
                    i = (size_t)(end - in);
                }
            }
        }
        out[o++] = c;
    }
    out[o] = 0;
    return o;
}

int fs_xml_next(const char *xml, size_t len, size_t *pos, const char *tag, char *out, size_t n)
{
    char open[64], close[64];
    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    const char *s = memmem(xml + *pos, len - *pos, open, strlen(open));
    if (!s)
        return 0;
    s += strlen(open);
    const char *e = memmem(s, len - (size_t)(s - xml), close, strlen(close));
    if (!e)
        return 0;
    xml_unescape(out, n, s, (size_t)(e - s));
    *pos = (size_t)(e - xml) + strlen(close);
    return 1;
}
