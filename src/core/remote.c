/* remote.c - remote specs ("remote:bucket/prefix") and endpoint resolution (path-style or
 * virtual-hosted addressing). Pure string work. */
#include "s3m/config.h"
#include "s3m/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool s3m_bucket_name_ok(const char *b)
{
    size_t n = strlen(b);
    if (n < 3 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)b[i];
        if (!isalnum(c) && c != '.' && c != '-' && c != '_')
            return false;
    }
    return isalnum((unsigned char)b[0]);
}

void s3m_spec_cleanup(struct s3m_spec *s)
{
    free(s->remote);
    free(s->bucket);
    free(s->prefix);
    memset(s, 0, sizeof(*s));
}

enum s3m_err s3m_spec_parse(const char *s, struct s3m_spec *out, struct s3m_errinfo *ei)
{
    memset(out, 0, sizeof(*out));
    const char *colon = strchr(s, ':');
    if (!colon)
        return s3m_errinfo_set(ei, S3M_EUSAGE,
                               "'%s' is not remote:bucket[/prefix] (missing ':')", s);
    if (colon == s)
        return s3m_errinfo_set(ei, S3M_EUSAGE, "'%s': empty remote name before ':'", s);
    for (const char *p = s; p < colon; p++)
        if (isspace((unsigned char)*p) || *p == '/')
            return s3m_errinfo_set(ei, S3M_EUSAGE, "'%s': invalid remote name", s);
    const char *rest = colon + 1;
    while (*rest == '/') /* rclone accepts remote:/bucket */
        rest++;
    const char *slash = strchr(rest, '/');
    size_t blen = slash ? (size_t)(slash - rest) : strlen(rest);
    out->remote = s3m_strndup(s, (size_t)(colon - s));
    out->bucket = s3m_strndup(rest, blen);
    out->prefix = s3m_strdup(slash ? slash + 1 : "");
    if (*out->bucket && !s3m_bucket_name_ok(out->bucket)) {
        enum s3m_err e = s3m_errinfo_set(ei, S3M_EUSAGE, "'%s': invalid bucket name '%s'", s,
                                         out->bucket);
        s3m_spec_cleanup(out);
        return e;
    }
    if (!*out->bucket && *out->prefix) {
        s3m_spec_cleanup(out);
        return s3m_errinfo_set(ei, S3M_EUSAGE, "'%s': a prefix needs a bucket", s);
    }
    if (strlen(out->prefix) > 1024) {
        s3m_spec_cleanup(out);
        return s3m_errinfo_set(ei, S3M_EUSAGE, "prefix longer than 1024 bytes");
    }
    return S3M_EOK;
}

void s3m_endpoint_cleanup(struct s3m_endpoint *e)
{
    free(e->host);
    free(e->base_url);
    free(e->path_base);
    memset(e, 0, sizeof(*e));
}

static bool dns_compatible(const char *b)
{
    for (const char *p = b; *p; p++)
        if (isupper((unsigned char)*p) || *p == '_')
            return false;
    return true;
}

static bool is_ip_literal(const char *host)
{
    if (host[0] == '[')
        return true;
    for (const char *p = host; *p && *p != ':'; p++)
        if (!isdigit((unsigned char)*p) && *p != '.')
            return false;
    return true;
}

enum s3m_err s3m_endpoint_resolve(const struct s3m_remote *r, const char *bucket,
                                  struct s3m_endpoint *out, struct s3m_errinfo *ei)
{
    memset(out, 0, sizeof(*out));
    const char *ep = r->endpoint;
    char defep[256];
    if (!ep || !*ep) {
        snprintf(defep, sizeof(defep), "https://s3.%s.amazonaws.com",
                 r->region && *r->region ? r->region : "us-east-1");
        ep = defep;
    }
    out->https = true;
    if (!strncmp(ep, "https://", 8)) {
        ep += 8;
    } else if (!strncmp(ep, "http://", 7)) {
        ep += 7;
        out->https = false;
    } else if (strstr(ep, "://")) {
        return s3m_errinfo_set(ei, S3M_ECONFIG, "remote %s: endpoint scheme must be http or https",
                               r->name);
    }
    size_t hl = strcspn(ep, "/?#");
    if (!hl)
        return s3m_errinfo_set(ei, S3M_ECONFIG, "remote %s: endpoint has no host", r->name);
    char host[512];
    snprintf(host, sizeof(host), "%.*s", (int)hl, ep);
    for (char *p = host; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    /* drop the scheme's default port: it is not part of the signed Host */
    if (s3m_str_ends(host, out->https ? ":443" : ":80"))
        host[strlen(host) - (out->https ? 4 : 3)] = 0;
    bool want_virtual = bucket && *bucket && !r->force_path_style && !is_ip_literal(host) &&
                        dns_compatible(bucket) && !(out->https && strchr(bucket, '.'));
    struct s3m_buf h;
    s3m_buf_init(&h);
    if (want_virtual)
        s3m_buf_printf(&h, "%s.%s", bucket, host);
    else
        s3m_buf_adds(&h, host);
    out->virtual_host = want_virtual;
    out->host = s3m_buf_detach(&h);
    s3m_buf_printf(&h, "%s://%s", out->https ? "https" : "http", out->host);
    out->base_url = s3m_buf_detach(&h);
    if (bucket && *bucket && !want_virtual)
        s3m_buf_printf(&h, "/%s", bucket);
    else
        s3m_buf_adds(&h, "");
    out->path_base = s3m_buf_detach(&h);
    return S3M_EOK;
}
