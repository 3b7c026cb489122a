/* s3m/uri.h - S3's URI encoding rules (RFC 3986 unreserved kept, everything else %XX upper-case).
 *
 * Keys are encoded exactly once and never normalised: "a/../b" and "//" stay literal. */
#ifndef S3M_URI_H
#define S3M_URI_H

#include <stdbool.h>
#include <stddef.h>

#include "s3m/util.h"

/* Append the encoding of s[0..n) to b; keep_slash keeps '/' (paths), otherwise %2F (query). */
void s3m_uri_encode(struct s3m_buf *b, const char *s, size_t n, bool keep_slash);
/* Percent-decode s[0..n) into b. form: '+' means space. Fails (false) on a broken escape or a
 * decoded NUL byte, which no key may hold. */
bool s3m_uri_decode(struct s3m_buf *b, const char *s, size_t n, bool form);
/* Remove "." and ".." segments and merge repeated '/' (generic SigV4 only, never S3). */
void s3m_uri_normalize_path(struct s3m_buf *out, const char *path);

#endif
