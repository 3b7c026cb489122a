/* s3m/sigv4.h - AWS Signature Version 4: canonical request, string to sign, signature,
 * Authorization header and presigned query. Pure functions over s3m/hash.h.
 *
 * S3 rules (the default for requests built by s3m_s3): the path is signed exactly as sent on the
 * wire (already URI-encoded once, never normalised); x-amz-content-sha256 is added and signed.
 * The generic-suite options (encode_path, normalize_path) exist so the published AWS test suite
 * can be run in full; S3 requests never set them. */
#ifndef S3M_SIGV4_H
#define S3M_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "s3m/util.h"

#define S3M_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define S3M_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* A name/value pair; value NULL is a bare query parameter ("?uploads"). */
struct s3m_kv {
    const char *name;
    const char *value;
};

/* Credentials plus the cached signing key (valid for one date/region/service). */
struct s3m_signer {
    char *access_key;
    char *secret_key;    /* wiped on cleanup */
    char *session_token; /* NULL unless temporary credentials */
    char key_scope[128]; /* "date/region/service" of the cached key */
    uint8_t key[32];
};

/* Copy the credentials into s; session_token may be NULL. */
void s3m_signer_init(struct s3m_signer *s, const char *access_key, const char *secret_key,
                     const char *session_token);
void s3m_signer_cleanup(struct s3m_signer *s);

struct s3m_sigv4_req {
    const char *method;
    const char *host;           /* value of the Host header, as sent */
    const char *path;           /* canonical path source: the wire path (S3) */
    const struct s3m_kv *query; /* decoded query parameters, in wire order */
    size_t nquery;
    const struct s3m_kv *headers; /* further headers to sign (not Host, X-Amz-Date) */
    size_t nheaders;
    const char *payload_hash; /* lower-case hex SHA-256 or "UNSIGNED-PAYLOAD" */
    const char *amz_date;     /* "YYYYMMDDTHHMMSSZ" */
    const char *region;
    const char *service;     /* "s3" */
    bool add_content_sha256; /* add and sign x-amz-content-sha256 (S3: always) */
    bool token_unsigned;     /* leave X-Amz-Security-Token out of the signature */
    bool encode_path;        /* generic SigV4: URI-encode the given path (never for S3) */
    bool normalize_path;     /* generic SigV4: remove dot segments (never for S3) */
    long expires;            /* presign only: X-Amz-Expires */
};

struct s3m_sigv4_out {
    struct s3m_buf canonical_request;
    struct s3m_buf string_to_sign;
    struct s3m_buf signed_headers;
    struct s3m_buf authorization;   /* header signing: the Authorization value */
    struct s3m_buf presigned_query; /* presigning: X-Amz-* params and X-Amz-Signature, encoded */
    char signature[65];
    /* headers the caller must send (header signing), wire names: X-Amz-Date, and as applicable
     * X-Amz-Content-SHA256 and X-Amz-Security-Token. */
    struct s3m_kv add_headers[3];
    size_t nadd_headers;
};

void s3m_sigv4_out_init(struct s3m_sigv4_out *o);
void s3m_sigv4_out_cleanup(struct s3m_sigv4_out *o);

/* Sign with the Authorization header. */
void s3m_sigv4_sign(struct s3m_signer *s, const struct s3m_sigv4_req *r, struct s3m_sigv4_out *o);
/* Sign with query parameters (presigned URL); payload hash as given (S3: UNSIGNED-PAYLOAD). */
void s3m_sigv4_presign(struct s3m_signer *s, const struct s3m_sigv4_req *r,
                       struct s3m_sigv4_out *o);
/* Format a UNIX time as "YYYYMMDDTHHMMSSZ" (17 bytes). */
void s3m_sigv4_amz_date(int64_t t, char out[17]);

#endif
