/* err.c - names and messages of the error table, and s3m_errinfo helpers. */
#include "s3m/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const names[] = {
#define S3M_XX(name, msg) #name,
    S3M_ERR_MAP(S3M_XX)
#undef S3M_XX
};

static const char *const msgs[] = {
#define S3M_XX(name, msg) msg,
    S3M_ERR_MAP(S3M_XX)
#undef S3M_XX
};

const char *s3m_err_name(enum s3m_err err)
{
    return (unsigned)err < S3M_E__COUNT ? names[err] : "UNKNOWN";
}

const char *s3m_err_msg(enum s3m_err err)
{
    return (unsigned)err < S3M_E__COUNT ? msgs[err] : "unknown error";
}

void s3m_errinfo_clear(struct s3m_errinfo *ei)
{
    memset(ei, 0, sizeof(*ei));
}

enum s3m_err s3m_errinfo_set(struct s3m_errinfo *ei, enum s3m_err err, const char *fmt, ...)
{
    if (!ei)
        return err;
    /* a new error: format first (an argument may point into *ei), then reset the rest */
    char msg[sizeof(ei->message)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    memset(ei, 0, sizeof(*ei));
    ei->err = err;
    memcpy(ei->message, msg, sizeof(msg));
    return err;
}

const char *s3m_errinfo_str(const struct s3m_errinfo *ei, char *out, size_t outlen)
{
    size_t n = 0;
    out[0] = 0;
    if (ei->code[0])
        n += (size_t)snprintf(out + n, outlen - n, "%s", ei->code);
    else
        n += (size_t)snprintf(out + n, outlen - n, "%s", s3m_err_msg(ei->err));
    if (n < outlen && ei->http_status)
        n += (size_t)snprintf(out + n, outlen - n, " (HTTP %d)", ei->http_status);
    if (n < outlen && ei->message[0])
        n += (size_t)snprintf(out + n, outlen - n, ": %s", ei->message);
    if (n < outlen && ei->request_id[0])
        snprintf(out + n, outlen - n, " [request id %s]", ei->request_id);
    return out;
}
