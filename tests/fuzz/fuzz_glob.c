/* fuzz_glob.c - --include/--exclude globs: pattern and key from one input ("pattern\nkey").
 *
 * Besides "no crash, no hang" (libFuzzer's -timeout), properties every key must satisfy:
 * the key with every byte escaped matches itself anchored, "**" and its anchored form match every
 * key, a filter built from a well-formed pattern decides the same as the pattern, and a key
 * without '/' of N characters (UTF-8 sequences, any other byte on its own) matches N '?' and
 * not N+1. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3m/diff.h"
#include "s3m/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* characters in s, counted apart from the matcher: a well-formed UTF-8 sequence is one */
static size_t utf8_chars(const unsigned char *s)
{
    size_t n = 0;
    while (*s) {
        size_t len = 1;
        unsigned c = s[0];
        if (c >= 0xC2 && c <= 0xDF)
            len = 2;
        else if (c >= 0xE0 && c <= 0xEF)
            len = 3;
        else if (c >= 0xF0 && c <= 0xF4)
            len = 4;
        bool ok = len > 1;
        for (size_t i = 1; ok && i < len; i++)
            ok = (s[i] & 0xC0) == 0x80;
        if (ok && len == 3) /* overlong, surrogates */
            ok = !(c == 0xE0 && s[1] < 0xA0) && !(c == 0xED && s[1] >= 0xA0);
        if (ok && len == 4) /* overlong, above U+10FFFF */
            ok = !(c == 0xF0 && s[1] < 0x90) && !(c == 0xF4 && s[1] >= 0x90);
        s += ok ? len : 1;
        n++;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *in = s3m_strndup((const char *)data, size); /* stops at a NUL */
    char *nl = strchr(in, '\n');
    const char *key = nl ? nl + 1 : "";
    if (nl)
        *nl = 0;
    const char *pat = in;
    if (strlen(key) > 1024) {
        free(in);
        return 0;
    }

    bool hit = s3m_glob_match(pat, key);

    struct s3m_filter f;
    s3m_filter_init(&f, 0);
    if (s3m_filter_add(&f, false, pat)) /* exclude rule: the filter says the opposite */
        if (s3m_filter_match(&f, key, 0, 0) == hit)
            abort();
    s3m_filter_cleanup(&f);

    size_t kl = strlen(key);
    char *lit = s3m_malloc(2 * kl + 2), *q = lit;
    *q++ = '/';
    for (const char *k = key; *k; k++)
        *q++ = '\\', *q++ = *k;
    *q = 0;
    if (!s3m_glob_match(lit, key))
        abort();
    if (!s3m_glob_match("/**", key) || !s3m_glob_match("**", key))
        abort();
    free(lit);
    if (!strchr(key, '/')) {
        size_t n = utf8_chars((const unsigned char *)key);
        char *qs = s3m_malloc(n + 3);
        qs[0] = '/';
        memset(qs + 1, '?', n + 1);
        qs[n + 2] = 0;
        if (s3m_glob_match(qs, key)) /* N+1 */
            abort();
        qs[n + 1] = 0;
        if (!s3m_glob_match(qs, key)) /* N */
            abort();
        free(qs);
    }
    free(in);
    return 0;
}
