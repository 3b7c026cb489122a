/* tjson.c - a small recursive-descent JSON reader used only by the unit tests. */
#include "tjson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rd {
    const char *s, *e;
};

static void ws(struct rd *r)
{
    while (r->s < r->e && (*r->s == ' ' || *r->s == '\n' || *r->s == '\r' || *r->s == '\t'))
        r->s++;
}

static struct tj *val(struct rd *r, int depth);

static void put_utf8(char **o, unsigned cp)
{
    unsigned char *p = (unsigned char *)*o;
    if (cp < 0x80) {
        *p++ = (unsigned char)cp;
    } else if (cp < 0x800) {
        *p++ = (unsigned char)(0xC0 | cp >> 6);
        *p++ = (unsigned char)(0x80 | (cp & 63));
    } else if (cp < 0x10000) {
        *p++ = (unsigned char)(0xE0 | cp >> 12);
        *p++ = (unsigned char)(0x80 | (cp >> 6 & 63));
        *p++ = (unsigned char)(0x80 | (cp & 63));
    } else {
        *p++ = (unsigned char)(0xF0 | cp >> 18);
        *p++ = (unsigned char)(0x80 | (cp >> 12 & 63));
        *p++ = (unsigned char)(0x80 | (cp >> 6 & 63));
        *p++ = (unsigned char)(0x80 | (cp & 63));
    }
    *o = (char *)p;
}

static unsigned hex4(const char *s)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 32) - 'a' + 10);
    }
    return v;
}

static char *str(struct rd *r, size_t *len)
{
    if (r->s >= r->e || *r->s != '"')
        return NULL;
    r->s++;
    char *out = malloc((size_t)(r->e - r->s) + 1), *o = out;
    while (r->s < r->e && *r->s != '"') {
        char c = *r->s++;
        if (c != '\\') {
            *o++ = c;
            continue;
        }
        c = *r->s++;
        switch (c) {
        case 'n': *o++ = '\n'; break;
        case 't': *o++ = '\t'; break;
        case 'r': *o++ = '\r'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'u': {
            unsigned cp = hex4(r->s);
            r->s += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && r->s[0] == '\\' && r->s[1] == 'u') {
                unsigned lo = hex4(r->s + 2);
                r->s += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            put_utf8(&o, cp);
            break;
        }
        default: *o++ = c;
        }
    }
    r->s++;
    *o = 0;
    *len = (size_t)(o - out);
    return out;
}

static struct tj *val(struct rd *r, int depth)
{
    ws(r);
    if (r->s >= r->e || depth > 64)
        return NULL;
    struct tj *v = calloc(1, sizeof(*v));
    char c = *r->s;
    if (c == '{' || c == '[') {
        v->type = c == '{' ? TJ_OBJ : TJ_ARR;
        r->s++;
        for (;;) {
            ws(r);
            if (*r->s == (c == '{' ? '}' : ']')) {
                r->s++;
                break;
            }
            char *k = NULL;
            size_t kl;
            if (c == '{') {
                k = str(r, &kl);
                ws(r);
                r->s++; /* ':' */
            }
            struct tj *item = val(r, depth + 1);
            v->items = realloc(v->items, (v->n + 1) * sizeof(*v->items));
            v->keys = realloc(v->keys, (v->n + 1) * sizeof(*v->keys));
            v->items[v->n] = item;
            v->keys[v->n++] = k;
            ws(r);
            if (*r->s == ',')
                r->s++;
        }
    } else if (c == '"') {
        v->type = TJ_STR;
        v->str = str(r, &v->len);
    } else if (!strncmp(r->s, "null", 4)) {
        r->s += 4;
    } else if (!strncmp(r->s, "true", 4)) {
        v->type = TJ_BOOL, v->b = true, r->s += 4;
    } else if (!strncmp(r->s, "false", 5)) {
        v->type = TJ_BOOL, r->s += 5;
    } else {
        char *end;
        v->type = TJ_NUM;
        v->num = strtod(r->s, &end);
        r->s = end;
    }
    return v;
}

struct tj *tj_parse(const char *text, size_t len)
{
    struct rd r = {text, text + len};
    return val(&r, 0);
}

char *tj_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(buf);
        return NULL;
    }
    fclose(f);
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

struct tj *tj_parse_file(const char *path)
{
    size_t len;
    char *t = tj_read_file(path, &len);
    if (!t)
        return NULL;
    struct tj *v = tj_parse(t, len);
    free(t);
    return v;
}

void tj_free(struct tj *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++) {
        tj_free(v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    free(v);
}

const struct tj *tj_get(const struct tj *o, const char *key)
{
    if (!o || o->type != TJ_OBJ)
        return NULL;
    for (size_t i = 0; i < o->n; i++)
        if (o->keys[i] && !strcmp(o->keys[i], key))
            return o->items[i];
    return NULL;
}

const char *tj_str(const struct tj *o, const char *key)
{
    const struct tj *v = tj_get(o, key);
    return v && v->type == TJ_STR ? v->str : NULL;
}

const char *tj_data_path(const char *rel, char *buf, size_t n)
{
    const char *base = getenv("S3M_TESTDATA");
    snprintf(buf, n, "%s/%s", base ? base : "tests/data", rel);
    return buf;
}
