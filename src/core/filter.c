/* filter.c - rclone-like include/exclude globs and size/age limits.
 *
 * Glob matching is a small backtracking matcher over bytes; '{a,b}' is expanded by trying each
 * alternative against the rest of the pattern. Patterns are short, keys at most 1024 bytes. */
#include "s3m/diff.h"
#include "s3m/util.h"

#include <stdlib.h>
#include <string.h>

void s3m_filter_init(struct s3m_filter *f, int64_t now)
{
    memset(f, 0, sizeof(*f));
    f->now = now;
}

void s3m_filter_cleanup(struct s3m_filter *f)
{
    for (size_t i = 0; i < f->nrules; i++)
        free(f->rules[i].glob);
    free(f->rules);
    memset(f, 0, sizeof(*f));
}

static bool well_formed(const char *p)
{
    int braces = 0;
    for (; *p; p++) {
        if (*p == '\\') {
            if (!p[1])
                return false;
            p++;
        } else if (*p == '[') {
            const char *q = p + 1;
            if (*q == '!' || *q == '^')
                q++;
            if (*q == ']')
                q++;
            while (*q && *q != ']')
                q++;
            if (!*q)
                return false;
            p = q;
        } else if (*p == '{') {
            if (++braces > 1)
                return false; /* nested braces: not supported, say so */
        } else if (*p == '}') {
            if (--braces < 0)
                return false;
        }
    }
    return braces == 0;
}

bool s3m_filter_add(struct s3m_filter *f, bool include, const char *glob)
{
    if (!*glob || strlen(glob) > 1024 || !well_formed(glob))
        return false;
    f->rules = s3m_realloc(f->rules, (f->nrules + 1) * sizeof(*f->rules));
    f->rules[f->nrules].include = include;
    f->rules[f->nrules++].glob = s3m_strdup(glob);
    f->has_include |= include;
    return true;
}

/* match pattern p (up to pend) against s (whole) */
static bool match(const char *p, const char *pend, const char *s, int depth);

static bool match_class(const char **pp, char c)
{
    const char *p = *pp + 1;
    bool neg = *p == '!' || *p == '^', hit = false;
    if (neg)
        p++;
    const char *start = p;
    while (*p && (*p != ']' || p == start)) {
        char lo = *p, hi = lo;
        if (p[1] == '-' && p[2] && p[2] != ']') {
            hi = p[2];
            p += 2;
        }
        if ((unsigned char)c >= (unsigned char)lo && (unsigned char)c <= (unsigned char)hi)
            hit = true;
        p++;
    }
    *pp = p; /* at ']' */
    return hit != neg && c != '/';
}

static bool match_braces(const char *p, const char *pend, const char *s, int depth)
{
    const char *close = strchr(p, '}');
    const char *alt = p + 1;
    while (alt <= close) {
        const char *e = alt;
        while (e < close && *e != ',')
            e++;
        /* build alternative + rest */
        size_t la = (size_t)(e - alt), lr = (size_t)(pend - close - 1);
        char *pat = s3m_malloc(la + lr + 1);
        memcpy(pat, alt, la);
        memcpy(pat + la, close + 1, lr);
        pat[la + lr] = 0;
        bool ok = match(pat, pat + la + lr, s, depth + 1);
        free(pat);
        if (ok)
            return true;
        alt = e + 1;
    }
    return false;
}

static bool match(const char *p, const char *pend, const char *s, int depth)
{
    if (depth > 32)
        return false;
    while (p < pend) {
        switch (*p) {
        case '*':
            if (p + 1 < pend && p[1] == '*') { /* '**': anything, '/' included */
                p += 2;
                for (const char *t = s;; t++) {
                    if (match(p, pend, t, depth + 1))
                        return true;
                    if (!*t)
                        return false;
                }
            }
            p++;
            for (const char *t = s;; t++) {
                if (match(p, pend, t, depth + 1))
                    return true;
                if (!*t || *t == '/')
                    return false;
            }
        case '?':
            if (!*s || *s == '/')
                return false;
            p++, s++;
            break;
        case '[':
            if (!*s || !match_class(&p, *s))
                return false;
            p++, s++;
            break;
        case '{':
            return match_braces(p, pend, s, depth);
        case '\\':
            p++;
            /* fall through */
        default:
            if (*p != *s)
                return false;
            p++, s++;
        }
    }
    return *s == 0;
}

bool s3m_glob_match(const char *pattern, const char *key)
{
    const char *pend = pattern + strlen(pattern);
    if (*pattern == '/')
        return match(pattern + 1, pend, key, 0);
    /* unanchored: the whole key, or any tail after a '/' */
    if (match(pattern, pend, key, 0))
        return true;
    for (const char *s = key; *s; s++)
        if (*s == '/' && match(pattern, pend, s + 1, 0))
            return true;
    return false;
}

bool s3m_filter_match(const struct s3m_filter *f, const char *key, uint64_t size, int64_t mtime)
{
    if (size < f->min_size || (f->max_size && size > f->max_size))
        return false;
    int64_t age = f->now - mtime;
    if (f->min_age && age < f->min_age)
        return false;
    if (f->max_age && age > f->max_age)
        return false;
    for (size_t i = 0; i < f->nrules; i++)
        if (s3m_glob_match(f->rules[i].glob, key))
            return f->rules[i].include;
    return !f->has_include;
}
