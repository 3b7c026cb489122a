/* s3m/err.h - error codes and error details shared by every module.
 *
 * One X-macro table generates the enum, the names and the messages. Fallible functions return
 * an enum s3m_err (0 = OK); details (S3 code, HTTP status, request id) travel in s3m_errinfo. */
#ifndef S3M_ERR_H
#define S3M_ERR_H

#include <stddef.h>

#define S3M_ERR_MAP(XX)                                                                            \
    XX(OK, "success")                                                                              \
    XX(INVAL, "invalid argument")                                                                  \
    XX(USAGE, "usage error")                                                                       \
    XX(CONFIG, "configuration error")                                                              \
    XX(NOREMOTE, "unknown remote")                                                                 \
    XX(XML, "malformed XML reply")                                                                 \
    XX(XML_LIMIT, "XML reply exceeds a limit")                                                     \
    XX(S3, "S3 error reply")                                                                       \
    XX(HTTP, "unexpected HTTP reply")                                                              \
    XX(NET, "network error")                                                                       \
    XX(TLS, "TLS error")                                                                           \
    XX(TIMEOUT, "timed out")                                                                       \
    XX(NOTFOUND, "not found")                                                                      \
    XX(AUTH, "access denied")                                                                      \
    XX(IO, "I/O error")                                                                            \
    XX(ABORTED, "aborted")                                                                         \
    XX(UNSORTED, "listing not sorted")                                                             \
    XX(INTEGRITY, "integrity check failed")                                                        \
    XX(SAFETY, "refused by safety rule")

enum s3m_err {
#define S3M_XX(name, msg) S3M_E##name,
    S3M_ERR_MAP(S3M_XX)
#undef S3M_XX
        S3M_E__COUNT
};

/* Details of the last failure of an operation. All strings are NUL-terminated, possibly empty. */
struct s3m_errinfo {
    enum s3m_err err;
    int http_status;      /* 0 when no HTTP reply */
    char code[64];        /* S3 error code, e.g. "NoSuchBucket" */
    char message[512];    /* human text: S3 Message or our own explanation */
    char request_id[128]; /* x-amz-request-id or RequestId */
};

/* Short name of an error ("CONFIG"). Never NULL. */
const char *s3m_err_name(enum s3m_err err);
/* Human message of an error ("configuration error"). Never NULL. */
const char *s3m_err_msg(enum s3m_err err);
/* Reset ei (if non-NULL) to err and a formatted message (code, status and request id cleared);
 * returns err for `return s3m_errinfo_set(...)`. */
enum s3m_err s3m_errinfo_set(struct s3m_errinfo *ei, enum s3m_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Reset ei to OK with empty strings. */
void s3m_errinfo_clear(struct s3m_errinfo *ei);
/* One line describing ei: "NoSuchBucket (HTTP 404): message [request id ...]". */
const char *s3m_errinfo_str(const struct s3m_errinfo *ei, char *out, size_t outlen);

#endif
