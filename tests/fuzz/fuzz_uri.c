/* fuzz_uri.c - URI encode/decode round trip and path normalisation on arbitrary bytes. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3m/uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct s3m_buf enc, dec, norm;
    s3m_buf_init(&enc);
    s3m_buf_init(&dec);
    s3m_buf_init(&norm);
    s3m_uri_encode(&enc, (const char *)data, size, size & 1);
    bool has_nul = memchr(data, 0, size) != NULL;
    bool ok = s3m_uri_decode(&dec, enc.data ? enc.data : "", enc.len, false);
    /* decoding what we encoded gives the input back (unless it held a NUL, which is refused) */
    assert(ok == !has_nul);
    assert(!ok || (dec.len == size && !memcmp(dec.data ? dec.data : "", data, size)));
    s3m_buf_reset(&dec);
    s3m_uri_decode(&dec, (const char *)data, size, true);
    if (!has_nul) {
        char *s = s3m_strndup((const char *)data, size);
        s3m_uri_normalize_path(&norm, s);
        free(s);
    }
    s3m_buf_cleanup(&enc);
    s3m_buf_cleanup(&dec);
    s3m_buf_cleanup(&norm);
    return 0;
}
