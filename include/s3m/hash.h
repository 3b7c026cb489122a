/* s3m/hash.h - SHA-256, HMAC-SHA256, MD5, hex and base64 (the only OpenSSL user besides sigv4). */
#ifndef S3M_HASH_H
#define S3M_HASH_H

#include <stddef.h>
#include <stdint.h>

#define S3M_SHA256_LEN 32
#define S3M_MD5_LEN 16

void s3m_sha256(const void *data, size_t len, uint8_t out[S3M_SHA256_LEN]);
void s3m_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
                     uint8_t out[S3M_SHA256_LEN]);
void s3m_md5(const void *data, size_t len, uint8_t out[S3M_MD5_LEN]);
/* Lower-case hex of n bytes into out (2n+1 bytes). */
void s3m_hex(const uint8_t *in, size_t n, char *out);
/* SHA-256 as lower-case hex (65 bytes). */
void s3m_sha256_hex(const void *data, size_t len, char out[65]);
/* Base64 of n bytes into out (4*ceil(n/3)+1 bytes). */
void s3m_base64(const uint8_t *in, size_t n, char *out);
/* Decode 32 hex digits into 16 bytes; 0 on success. */
int s3m_unhex16(const char *hex, uint8_t out[S3M_MD5_LEN]);

/* Incremental MD5 (for streamed parts). */
struct s3m_md5_ctx {
    void *evp; /* EVP_MD_CTX */
};
void s3m_md5_init(struct s3m_md5_ctx *c);
void s3m_md5_update(struct s3m_md5_ctx *c, const void *data, size_t len);
void s3m_md5_final(struct s3m_md5_ctx *c, uint8_t out[S3M_MD5_LEN]);
void s3m_md5_cleanup(struct s3m_md5_ctx *c);

/* Incremental SHA-256 (a plan file's checksum over what was written). */
struct s3m_sha256_ctx {
    void *evp; /* EVP_MD_CTX */
};
void s3m_sha256_init(struct s3m_sha256_ctx *c);
void s3m_sha256_update(struct s3m_sha256_ctx *c, const void *data, size_t len);
/* The digest as lower-case hex (65 bytes); the context is freed. */
void s3m_sha256_final_hex(struct s3m_sha256_ctx *c, char out[65]);

#endif
