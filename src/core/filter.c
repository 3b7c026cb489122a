/* filter.c - rclone-like include/exclude globs and size/age limits.
 *
 * Glob matching: see "matching" below. Patterns are at most 1024 bytes, keys too. */
#include "s3m/diff.h"
#include "s3m/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void s3m_filter_init(struct s3m_filter *f, int64_t now)
{
    memset(f, 0, sizeof(*f));
    f->max_size = UINT64_MAX;
    f->min_age = f->max_age = -1;
    f->now = now;
}

void s3m_filter_cleanup(struct s3m_filter *f)
{
    for (size_t i = 0; i < f->nrules; i++)
        free(f->rules[i].glob);
    free(f->rules);
    memset(f, 0, sizeof(*f));
}

/* p at '[': the ']' that closes the class (an unclosed one: at the NUL) */
static const char *class_end(const char *p)
{
    const char *q = p + 1;
    if (*q == '!' || *q == '^')
        q++;
    if (*q == ']')
        q++;
    while (*q && *q != ']')
        q++;
    return q;
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
            p = class_end(p);
            if (!*p)
                return false;
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

bool s3m_glob_valid(const char *glob)
{
    return *glob && strlen(glob) <= 1024 && well_formed(glob);
}

bool s3m_filter_add(struct s3m_filter *f, bool include, const char *glob)
{
    if (!s3m_glob_valid(glob))
        return false;
    f->rules = s3m_realloc(f->rules, (f->nrules + 1) * sizeof(*f->rules));
    f->rules[f->nrules].include = include;
    f->rules[f->nrules++].glob = s3m_strdup(glob);
    f->has_include |= include;
    return true;
}

/* ---- matching ----
 *
 * A backtracking matcher over bytes, but '?' and '[...]' take one character: a valid UTF-8
 * sequence, or else one byte (rclone matches characters). '{a,b}' tries each alternative, which
 * goes on with the rest of the pattern after the '}' (braces do not nest, so where an
 * alternative ends is known from its position). Backtracking on '*' can take exponential time
 * ("*a*a*a*b" on "aaaa...c"), so after a small budget of steps the match restarts with a table
 * of (pattern position, key position) pairs known to fail, which bounds it by pattern length x
 * key length (positions are bytes, however many a character takes). */

struct glob {
    const char *pat, *pend, *key;
    size_t klen;
    uint8_t *failed; /* bit (p, s) set: no match from there; NULL until the budget runs out */
    size_t steps;
    bool over_budget;
};

#define GLOB_BUDGET 20000

/* p after '{' or ',': the next ',' or '}' of the group */
static const char *alt_end(const char *p)
{
    for (; *p && *p != ',' && *p != '}'; p++) {
        if (*p == '\\' && p[1])
            p++;
        else if (*p == '[')
            p = class_end(p);
    }
    return p;
}

/* One character at s: its length in bytes (1..4) and its code point. A valid UTF-8 sequence
 * (no overlong form, no surrogate, at most U+10FFFF) is one character; any other byte is a
 * character of its own, with a value above every code point. s is not at its NUL. */
static size_t utf8_char(const char *s, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    uint32_t c = u[0], min;
    size_t n;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        n = 2, c &= 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3, c &= 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4, c &= 0x07, min = 0x10000;
    } else {
        goto invalid;
    }
    for (size_t i = 1; i < n; i++) {
        if ((u[i] & 0xC0) != 0x80) /* the NUL stops it too */
            goto invalid;
        c = (c << 6) | (u[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        goto invalid;
    *cp = c;
    return n;
invalid:
    *cp = 0x110000 + u[0];
    return 1;
}

/* p at '[': whether the character c is in the class; characters, as in keys, are UTF-8 */
static bool match_class(const char *p, uint32_t c)
{
    p++;
    bool neg = *p == '!' || *p == '^', hit = false;
    if (neg)
        p++;
    const char *start = p;
    while (*p && (*p != ']' || p == start)) {
        uint32_t lo, hi;
        p += utf8_char(p, &lo);
        hi = lo;
        if (p[0] == '-' && p[1] && p[1] != ']')
            p += 1 + utf8_char(p + 1, &hi);
        if (c >= lo && c <= hi)
            hit = true;
    }
    return hit != neg && c != '/';
}

static bool match(struct glob *g, const char *p, const char *close, const char *s);

/* match with the memo: the result from (p, s) does not depend on how it was reached */
static bool match_at(struct glob *g, const char *p, const char *close, const char *s)
{
    if (g->over_budget)
        return false;
    if (!g->failed) {
        if (++g->steps > GLOB_BUDGET) {
            g->over_budget = true;
            return false;
        }
        return match(g, p, close, s);
    }
    size_t bit = (size_t)(p - g->pat) * (g->klen + 1) + (size_t)(s - g->key);
    if (g->failed[bit / 8] & (1u << (bit % 8)))
        return false;
    if (match(g, p, close, s))
        return true;
    g->failed[bit / 8] |= (uint8_t)(1u << (bit % 8));
    return false;
}

/* p at '*': '**' takes any run of characters, '/' included; '*' any run up to a '/' */
static bool match_star(struct glob *g, const char *p, const char *close, const char *s)
{
    bool any = p + 1 < g->pend && p[1] == '*';
    p += any ? 2 : 1;
    for (const char *t = s;; t++) {
        if (match_at(g, p, close, t))
            return true;
        if (!*t || (!any && *t == '/') || g->over_budget)
            return false;
    }
}

/* p at '{': whether one of the group's alternatives, then the rest of the pattern, matches s */
static bool match_alternatives(struct glob *g, const char *p, const char *s)
{
    const char *end = p;
    while (*end != '}')
        end = alt_end(end + 1);
    for (const char *alt = p + 1; alt <= end; alt = alt_end(alt) + 1)
        if (match_at(g, alt, end, s))
            return true;
    return false;
}

/* p at '?' or '[': the bytes of the one character at s it takes (a UTF-8 sequence, or any other
 * byte), 0 when it takes none; neither takes a '/' */
static size_t match_one(const char *p, const char *s)
{
    uint32_t c;
    if (!*s || (*p == '?' && *s == '/'))
        return 0;
    size_t n = utf8_char(s, &c);
    return *p == '?' || match_class(p, c) ? n : 0;
}

static bool match(struct glob *g, const char *p, const char *close, const char *s)
{
    while (p < g->pend) {
        if (close && (*p == ',' || p == close)) { /* this alternative matched: go on after '}' */
            p = close + 1;
            close = NULL;
            continue;
        }
        switch (*p) {
        case '*': return match_star(g, p, close, s);
        case '{': return match_alternatives(g, p, s);
        case '?':
        case '[': {
            size_t n = match_one(p, s);
            if (!n)
                return false;
            p = *p == '?' ? p + 1 : class_end(p) + 1;
            s += n;
            break;
        }
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

static bool match_key(struct glob *g)
{
    const char *p = g->pat;
    if (*p == '/')
        return match_at(g, p + 1, NULL, g->key);
    /* unanchored: the whole key, or any tail after a '/' */
    if (match_at(g, p, NULL, g->key))
        return true;
    for (const char *s = g->key; *s && !g->over_budget; s++)
        if (*s == '/' && match_at(g, p, NULL, s + 1))
            return true;
    return false;
}

/* a pattern known to be well formed (s3m_filter_add checked it once) */
static bool glob_match(const char *pattern, const char *key)
{
    struct glob g = {pattern, pattern + strlen(pattern), key, strlen(key), NULL, 0, false};
    bool hit = match_key(&g);
    if (!g.over_budget)
        return hit;
    size_t bits = (size_t)(g.pend - g.pat + 1) * (g.klen + 1);
    g.failed = s3m_calloc(bits / 8 + 1, 1);
    g.over_budget = false;
    hit = match_key(&g);
    free(g.failed);
    return hit;
}

bool s3m_glob_match(const char *pattern, const char *key)
{
    return well_formed(pattern) && glob_match(pattern, key);
}

uint32_t s3m_shard_of(const char *key, uint32_t count)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    return count ? (uint32_t)(h % count) : 0;
}

bool s3m_filter_match_name(const struct s3m_filter *f, const char *key)
{
    if (f->shard_count > 1 && s3m_shard_of(key, f->shard_count) != f->shard_index)
        return false;
    for (size_t i = 0; i < f->nrules; i++)
        if (glob_match(f->rules[i].glob, key))
            return f->rules[i].include;
    return !f->has_include;
}

bool s3m_filter_match(const struct s3m_filter *f, const char *key, uint64_t size, int64_t mtime)
{
    if (size < f->min_size || size > f->max_size)
        return false;
    int64_t age = f->now - mtime;
    if (f->min_age >= 0 && age < f->min_age)
        return false;
    if (f->max_age >= 0 && age > f->max_age)
        return false;
    return s3m_filter_match_name(f, key);
}
