/* uri.c - URI encoding and decoding by S3's rules, and the generic SigV4 path normalisation
 * that S3 must never apply (kept so the generic test-suite cases can run with S3 rules off). */
#include "s3m/uri.h"

#include <string.h>

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

void s3m_uri_encode(struct s3m_buf *b, const char *s, size_t n, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    s3m_buf_reserve(b, n * 3);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            b->data[b->len++] = (char)c;
        } else {
            b->data[b->len++] = '%';
            b->data[b->len++] = hex[c >> 4];
            b->data[b->len++] = hex[c & 15];
        }
    }
    b->data[b->len] = 0;
}

bool s3m_uri_decode(struct s3m_buf *b, const char *s, size_t n, bool form)
{
    s3m_buf_reserve(b, n);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return false;
            int hi = s3m_hexval(s[i + 1]);
            int lo = hi < 0 ? -1 : s3m_hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return false;
            c = (char)(hi << 4 | lo);
            if (c == 0)
                return false;
            i += 2;
        } else if (form && c == '+') {
            c = ' ';
        }
        b->data[b->len++] = c;
    }
    b->data[b->len] = 0;
    return true;
}

void s3m_uri_normalize_path(struct s3m_buf *out, const char *path)
{
    size_t starts[512]; /* where each kept segment begins in out, for ".." */
    size_t depth = 0;
    bool trailing = false;
    s3m_buf_reset(out);
    s3m_buf_addc(out, '/');
    for (const char *p = path; *p;) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0 || (len == 1 && p[0] == '.')) {
            trailing = true;
        } else if (len == 2 && p[0] == '.' && p[1] == '.') {
            if (depth)
                out->len = starts[--depth];
            out->data[out->len] = 0;
            trailing = true;
        } else {
            if (depth < S3M_ARRAY_LEN(starts))
                starts[depth++] = out->len;
            if (out->len > 1)
                s3m_buf_addc(out, '/');
            s3m_buf_add(out, p, len);
            trailing = false;
        }
        p += len;
        if (*p == '/') {
            p++;
            if (!*p)
                trailing = true;
        }
    }
    if (trailing && out->len > 1)
        s3m_buf_addc(out, '/');
}
