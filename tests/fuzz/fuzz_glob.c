/* fuzz_glob.c - --include/--exclude globs: pattern and key from one input ("pattern\nkey").
 *
 * Besides "no crash, no hang" (libFuzzer's -timeout), properties every key must satisfy:
 * the key with every byte escaped matches itself anchored, "**" and its anchored form match every
 * key, and a filter built from a well-formed pattern decides the same as the pattern. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3m/diff.h"
#include "s3m/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
    free(in);
    return 0;
}
