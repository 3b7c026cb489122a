/* hash.c - thin wrappers over OpenSSL's EVP digests and HMAC, plus hex and base64.
 *
 * OpenSSL is used here and in nothing else, so the rest of core builds against this header. */
#include "s3m/hash.h"
#include "s3m/util.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>

static void digest(const EVP_MD *md, const void *data, size_t len, uint8_t *out)
{
    unsigned int n = 0;
    if (!EVP_Digest(data, len, out, &n, md, NULL))
        s3m_oom("OpenSSL digest"); /* cannot fail on valid input but for memory */
}

void s3m_sha256(const void *data, size_t len, uint8_t out[S3M_SHA256_LEN])
{
    digest(EVP_sha256(), data, len, out);
}

void s3m_md5(const void *data, size_t len, uint8_t out[S3M_MD5_LEN])
{
    digest(EVP_md5(), data, len, out);
}

void s3m_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
                     uint8_t out[S3M_SHA256_LEN])
{
    unsigned int n = 0;
    if (!HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &n))
        s3m_oom("OpenSSL HMAC");
}

void s3m_hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = 0;
}

void s3m_sha256_hex(const void *data, size_t len, char out[65])
{
    uint8_t h[S3M_SHA256_LEN];
    s3m_sha256(data, len, h);
    s3m_hex(h, sizeof(h), out);
}

void s3m_base64(const uint8_t *in, size_t n, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

int s3m_unhex16(const char *hex, uint8_t out[S3M_MD5_LEN])
{
    for (int i = 0; i < S3M_MD5_LEN; i++) {
        int hi = s3m_hexval(hex[2 * i]), lo = hi < 0 ? -1 : s3m_hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return hex[32] == 0 ? 0 : -1;
}

void s3m_md5_init(struct s3m_md5_ctx *c)
{
    c->evp = EVP_MD_CTX_new();
    if (!c->evp || !EVP_DigestInit_ex(c->evp, EVP_md5(), NULL))
        s3m_oom("OpenSSL MD5 context");
}

void s3m_md5_update(struct s3m_md5_ctx *c, const void *data, size_t len)
{
    EVP_DigestUpdate(c->evp, data, len);
}

void s3m_md5_final(struct s3m_md5_ctx *c, uint8_t out[S3M_MD5_LEN])
{
    unsigned int n = 0;
    EVP_DigestFinal_ex(c->evp, out, &n);
}

void s3m_md5_cleanup(struct s3m_md5_ctx *c)
{
    EVP_MD_CTX_free(c->evp);
    c->evp = NULL;
}

void s3m_sha256_init(struct s3m_sha256_ctx *c)
{
    c->evp = EVP_MD_CTX_new();
    if (!c->evp || !EVP_DigestInit_ex(c->evp, EVP_sha256(), NULL))
        s3m_oom("OpenSSL SHA-256 context");
}

void s3m_sha256_update(struct s3m_sha256_ctx *c, const void *data, size_t len)
{
    EVP_DigestUpdate(c->evp, data, len);
}

void s3m_sha256_final_hex(struct s3m_sha256_ctx *c, char out[65])
{
    uint8_t h[S3M_SHA256_LEN];
    unsigned int n = 0;
    EVP_DigestFinal_ex(c->evp, h, &n);
    EVP_MD_CTX_free(c->evp);
    c->evp = NULL;
    s3m_hex(h, sizeof(h), out);
}
