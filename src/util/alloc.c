/* alloc.c - allocation that aborts on out-of-memory, buffers, an arena and string helpers.
 *
 * Everything here is plain libc; nothing may fail except by aborting. */
#include "s3m/util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
    fprintf(stderr, "s3mirror: out of memory (allocating %zu bytes)\n", n);
    abort();
}

_Noreturn void s3m_oom(const char *what)
{
    fprintf(stderr, "s3mirror: out of memory (%s)\n", what);
    abort();
}

void *s3m_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *s3m_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *s3m_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *s3m_strndup(const char *s, size_t n)
{
    char *p = s3m_malloc(n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *s3m_strdup(const char *s)
{
    return s ? s3m_strndup(s, strlen(s)) : NULL;
}

void s3m_wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

void s3m_free_secret(char *s)
{
    if (!s)
        return;
    s3m_wipe(s, strlen(s));
    free(s);
}

/* ---- buffers ---- */

void s3m_buf_init(struct s3m_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
}

void s3m_buf_cleanup(struct s3m_buf *b)
{
    free(b->data);
    s3m_buf_init(b);
}

void s3m_buf_reset(struct s3m_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = 0;
}

void s3m_buf_reserve(struct s3m_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->data = s3m_realloc(b->data, cap);
    b->cap = cap;
}

void s3m_buf_add(struct s3m_buf *b, const void *p, size_t n)
{
    s3m_buf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
}

void s3m_buf_adds(struct s3m_buf *b, const char *s)
{
    s3m_buf_add(b, s, strlen(s));
}

void s3m_buf_addc(struct s3m_buf *b, char c)
{
    s3m_buf_add(b, &c, 1);
}

void s3m_buf_printf(struct s3m_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    s3m_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *s3m_buf_detach(struct s3m_buf *b)
{
    char *s = b->data ? b->data : s3m_strdup("");
    s3m_buf_init(b);
    return s;
}

const char *s3m_buf_str(const struct s3m_buf *b)
{
    return b->data ? b->data : "";
}

/* ---- arena ---- */

struct s3m_arena_block {
    struct s3m_arena_block *next;
    size_t used, cap;
    char mem[];
};

void s3m_arena_init(struct s3m_arena *a)
{
    a->head = NULL;
    a->used_total = 0;
}

void s3m_arena_cleanup(struct s3m_arena *a)
{
    struct s3m_arena_block *blk = a->head;
    while (blk) {
        struct s3m_arena_block *next = blk->next;
        free(blk);
        blk = next;
    }
    s3m_arena_init(a);
}

void *s3m_arena_alloc(struct s3m_arena *a, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    struct s3m_arena_block *blk = a->head;
    if (!blk || blk->cap - blk->used < n) {
        size_t cap = n > 32768 ? n : 32768;
        blk = s3m_malloc(sizeof(*blk) + cap);
        blk->used = 0;
        blk->cap = cap;
        blk->next = a->head;
        a->head = blk;
    }
    void *p = blk->mem + blk->used;
    blk->used += n;
    a->used_total += n;
    return p;
}

char *s3m_arena_strndup(struct s3m_arena *a, const char *s, size_t n)
{
    char *p = s3m_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

/* ---- strings ---- */

void s3m_json_escape(struct s3m_buf *b, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            s3m_buf_printf(b, "\\%c", c);
        else if (c < 0x20)
            s3m_buf_printf(b, "\\u%04x", c);
        else
            s3m_buf_addc(b, (char)c);
    }
}

void s3m_json_fput(FILE *f, const char *s)
{
    struct s3m_buf b;
    s3m_buf_init(&b);
    s3m_json_escape(&b, s);
    fprintf(f, "\"%s\"", s3m_buf_str(&b));
    s3m_buf_cleanup(&b);
}

int s3m_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int s3m_strcasecmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        int ca = tolower((unsigned char)*a), cb = tolower((unsigned char)*b);
        if (ca != cb || !ca)
            return ca - cb;
    }
}

bool s3m_str_starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool s3m_str_ends(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

bool s3m_parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!s || !*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool s3m_parse_bool(const char *s, bool *out)
{
    static const char *const t[] = {"true", "1", "yes", "on"};
    static const char *const f[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < S3M_ARRAY_LEN(t); i++) {
        if (!s3m_strcasecmp(s, t[i]))
            return *out = true, true;
        if (!s3m_strcasecmp(s, f[i]))
            return *out = false, true;
    }
    return false;
}

char *s3m_trim(char *s)
{
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
    size_t i = 0;
    while (isspace((unsigned char)s[i]))
        i++;
    if (i)
        memmove(s, s + i, n - i + 1);
    return s;
}
