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
        return s3m_errinfo_set(ei, S3M_EUSAGE, "'%s' is not remote:bucket[/prefix] (missing ':')",
                               s);
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
    out->prefix = s3m_strdup("");
    if (*out->bucket && !s3m_bucket_name_ok(out->bucket)) {
        enum s3m_err e = s3m_errinfo_set(ei, S3M_EUSAGE, "'%s': invalid bucket name '%s'", s,
                                         out->bucket);
        s3m_spec_cleanup(out);
        return e;
    }
    /* rest has no leading '/' left: an empty bucket means "remote:" (and no path) */
    if (slash) {
        struct s3m_errinfo pe;
        char *folder;
        if (s3m_path_folder(slash + 1, &folder, &pe)) {
            enum s3m_err e = s3m_errinfo_set(ei, S3M_EUSAGE, "'%s': %s", s, pe.message);
            s3m_spec_cleanup(out);
            return e;
        }
        free(out->prefix);
        out->prefix = folder;
    }
    return S3M_EOK;
}

enum s3m_err s3m_path_folder(const char *path, char **prefix, struct s3m_errinfo *ei)
{
    *prefix = NULL;
    if (!*path) { /* "remote:bucket/" is the bucket itself */
        *prefix = s3m_strdup("");
        return S3M_EOK;
    }
    size_t n = strlen(path);
    if (path[n - 1] == '/') /* "b/backup/" names the same folder as "b/backup" */
        n--;
    /* every segment must be a name: S3 does not normalise keys, so we do not guess */
    for (size_t i = 0;; i++) {
        size_t len = 0;
        while (i + len < n && path[i + len] != '/')
            len++;
        if (len == 0)
            return s3m_errinfo_set(ei, S3M_EUSAGE,
                                   "empty segment in the path ('//', or '/' "
                                   "at its start): S3 keys are not normalised, so this names no "
                                   "folder for sure; write it as BUCKET/a/b");
        if (path[i] == '.' && (len == 1 || (len == 2 && path[i + 1] == '.')))
            return s3m_errinfo_set(ei, S3M_EUSAGE,
                                   "'%.*s' segment in the path: S3 keys are not "
                                   "normalised, so it would be taken literally; write the "
                                   "folder without '.' and '..'",
                                   (int)len, path + i);
        i += len;
        if (i >= n)
            break;
    }
    if (n + 1 > 1024)
        return s3m_errinfo_set(ei, S3M_EUSAGE,
                               "path longer than 1023 bytes (a key has at "
                               "most 1024)");
    struct s3m_buf b;
    s3m_buf_init(&b);
    s3m_buf_printf(&b, "%.*s/", (int)n, path);
    *prefix = s3m_buf_detach(&b);
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
