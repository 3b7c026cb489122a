/* layout.c - multipart part layouts (learned or uniform) and the composite ETag a layout gives.
 *
 * Kept apart from the transfer engine so the arithmetic that decides whether a copy reproduces
 * its source's ETag is tested on its own (tests/unit/test_layout.c). */
#include "s3m/layout.h"
#include "s3m/hash.h"

#include <stdio.h>

bool s3m_layout_check(uint64_t size, const uint64_t *sizes, int n)
{
    if (n < 1 || n > S3M_LAYOUT_MAX_PARTS)
        return false;
    uint64_t sum = 0;
    for (int i = 0; i < n; i++) {
        if (!sizes[i] || sizes[i] > size - sum) /* empty, or past the end (no overflow) */
            return false;
        sum += sizes[i];
    }
    return sum == size;
}

int s3m_layout_uniform(uint64_t size, uint64_t part_size, uint64_t *sizes, int max)
{
    if (!part_size)
        return 0;
    uint64_t n = size ? (size - 1) / part_size + 1 : 1;
    if (n > S3M_LAYOUT_MAX_PARTS)
        return 0;
    for (uint64_t i = 0; sizes && i < n && i < (uint64_t)max; i++)
        sizes[i] = i + 1 < n ? part_size : size - i * part_size;
    return (int)n;
}

bool s3m_layout_etag(const char *const *md5s, int n, char out[S3M_LAYOUT_ETAG_LEN])
{
    out[0] = '\0';
    if (n < 1 || n > S3M_LAYOUT_MAX_PARTS)
        return false;
    struct s3m_md5_ctx m;
    s3m_md5_init(&m);
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        uint8_t b[S3M_MD5_LEN];
        ok = md5s[i] && !s3m_unhex16(md5s[i], b); /* exactly 32 hex digits */
        if (ok)
            s3m_md5_update(&m, b, sizeof(b));
    }
    uint8_t d[S3M_MD5_LEN];
    char hex[2 * S3M_MD5_LEN + 1];
    s3m_md5_final(&m, d);
    s3m_md5_cleanup(&m);
    if (!ok)
        return false;
    s3m_hex(d, sizeof(d), hex);
    snprintf(out, S3M_LAYOUT_ETAG_LEN, "%s-%d", hex, n);
    return true;
}
