/* message.c - one S3 request's parts as built (method, query, headers, body) and what its reply
 * means: the headers read back, the <Error> document mapped to an error, whether the cause is
 * worth a retry and how long the server asks us to wait (Retry-After); its URL and its SigV4
 * headers, made afresh for each attempt. client.c sends it. */
#include "client_int.h"
#include "s3m/log.h"
#include "s3m/sigv4.h"
#include "s3m/uri.h"
#include "s3m/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_RETRY_AFTER_MS S3M_RETRY_AFTER_MAX_MS

/* ---- request building ---- */

struct s3m_s3_req *s3m_s3_req_new(struct s3m_s3 *c, enum s3m_s3_op op, const char *method,
                                  const char *bucket, const char *key)
{
    struct s3m_s3_req *r = s3m_calloc(1, sizeof(*r));
    r->c = c;
    r->op = op;
    r->method = s3m_strdup(method);
    r->bucket = bucket && *bucket ? s3m_strdup(bucket) : NULL;
    r->key = key ? s3m_strdup(key) : NULL;
    s3m_http_init(&r->http, c->loop);
    return r;
}

static void kv_add(struct s3m_kv **arr, size_t *n, const char *name, const char *value)
{
    *arr = s3m_realloc(*arr, (*n + 1) * sizeof(**arr));
    (*arr)[*n].name = s3m_strdup(name);
    (*arr)[*n].value = value ? s3m_strdup(value) : NULL;
    (*n)++;
}

void s3m__kv_free(struct s3m_kv *arr, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free((char *)arr[i].name);
        free((char *)arr[i].value);
    }
    free(arr);
}

void s3m_s3_req_query(struct s3m_s3_req *r, const char *name, const char *value)
{
    kv_add(&r->query, &r->nquery, name, value);
}

void s3m_s3_req_header(struct s3m_s3_req *r, const char *name, const char *value)
{
    kv_add(&r->headers, &r->nheaders, name, value ? value : "");
}

void s3m_s3_req_body(struct s3m_s3_req *r, const void *data, size_t len)
{
    s3m_buf_reset(&r->body);
    s3m_buf_add(&r->body, data, len);
    r->has_body = true;
}

void s3m_s3_req_stream(struct s3m_s3_req *r, int64_t len, s3m_s3_read_cb cb)
{
    r->read_cb = cb;
    r->stream_len = len;
}

/* ---- the reply ---- */

const char *s3m_s3_resp_header(const struct s3m_s3_req *r, const char *name)
{
    for (size_t i = 0; i < r->nresp_headers; i++)
        if (!s3m_strcasecmp(r->resp_headers[i].name, name))
            return r->resp_headers[i].value;
    return NULL;
}

/* ---- errors and retries ---- */

bool s3m_s3_retryable(int status, const char *code)
{
    if (status == 429 || status == 500 || status == 502 || status == 503 || status == 504)
        return true;
    return code && (!strcmp(code, "SlowDown") || !strcmp(code, "RequestTimeout") ||
                    !strcmp(code, "InternalError") || !strcmp(code, "ServiceUnavailable"));
}

static enum s3m_err err_of(int status, const char *code)
{
    if (code) {
        if (!strcmp(code, "NoSuchBucket") || !strcmp(code, "NoSuchKey") ||
            !strcmp(code, "NoSuchUpload") || !strcmp(code, "NotFound"))
            return S3M_ENOTFOUND;
        if (!strcmp(code, "AccessDenied") || !strcmp(code, "InvalidAccessKeyId") ||
            !strcmp(code, "SignatureDoesNotMatch") || !strcmp(code, "Forbidden"))
            return S3M_EAUTH;
    }
    if (status == 404)
        return S3M_ENOTFOUND;
    if (status == 403)
        return S3M_EAUTH;
    return S3M_ES3;
}

static const char *status_code_name(int status)
{
    switch (status) {
    case 301: return "PermanentRedirect";
    case 304: return "NotModified";
    case 400: return "BadRequest";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 412: return "PreconditionFailed";
    case 416: return "InvalidRange";
    case 429: return "TooManyRequests";
    case 500: return "InternalError";
    case 502: return "BadGateway";
    case 503: return "ServiceUnavailable";
    case 504: return "GatewayTimeout";
    default: return "HTTPError";
    }
}

/* Fill r->ei from an S3 <Error> document (or the status alone). */
void s3m__s3_set_error(struct s3m_s3_req *r, const struct s3m_xml_error *x)
{
    struct s3m_errinfo *ei = &r->ei;
    const char *code = x && x->code ? x->code : status_code_name(r->status);
    ei->err = err_of(r->status, code);
    ei->http_status = r->status;
    snprintf(ei->code, sizeof(ei->code), "%s", code);
    snprintf(ei->message, sizeof(ei->message), "%s",
             x && x->message && *x->message ? x->message : "");
    const char *rid = x && x->request_id ? x->request_id
                                         : s3m_s3_resp_header(r, "x-amz-request-id");
    snprintf(ei->request_id, sizeof(ei->request_id), "%s", rid ? rid : "");
}

void s3m__s3_error_from_body(struct s3m_s3_req *r)
{
    struct s3m_xml_result *x = NULL;
    struct s3m_errinfo tmp;
    if (r->errbody.len &&
        !s3m_xml_parse(r->errbody.data, r->errbody.len, S3M_XML_ERROR, &x, &tmp) &&
        x->kind == S3M_XML_ERROR) {
        s3m__s3_set_error(r, &x->error);
    } else {
        s3m__s3_set_error(r, NULL);
    }
    s3m_xml_result_free(x);
}

long s3m__s3_retry_after_ms(const struct s3m_s3_req *r)
{
    const char *ra = s3m_s3_resp_header(r, "retry-after");
    if (!ra || !*ra)
        return 0;
    /* digits only; clamped while parsed, so no value (however long) wraps or overflows */
    long secs = 0;
    for (const char *s = ra; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        if (secs <= MAX_RETRY_AFTER_MS / 1000)
            secs = secs * 10 + (*s - '0');
    }
    return secs > MAX_RETRY_AFTER_MS / 1000 ? MAX_RETRY_AFTER_MS : secs * 1000;
}

/* A CreateBucket refused: true when the bucket is there and ours (r->ei cleared). */
bool s3m__s3_bucket_is_ours(struct s3m_s3_req *r)
{
    if (r->op != S3M_OP_CREATE_BUCKET)
        return false;
    if (!strcmp(r->ei.code, "BucketAlreadyOwnedByYou")) {
        /* created meanwhile by us (another shard of the job, or an attempt of this request
         * whose answer was lost): the bucket is there and ours, which is what was asked */
        s3m_log(S3M_LOG_INFO, "s3", "CreateBucket %s: already there and ours (%s)",
                r->bucket ? r->bucket : "", r->ei.code);
        s3m_errinfo_clear(&r->ei);
        return true;
    }
    if (!strcmp(r->ei.code, "BucketAlreadyExists") && !r->ei.message[0])
        snprintf(r->ei.message, sizeof(r->ei.message),
                 "the bucket name is taken by another account");
    return false;
}

void s3m__s3_build_target(struct s3m_s3_req *r, const struct s3m_endpoint *ep, struct s3m_buf *path,
                          struct s3m_buf *url)
{
    s3m_buf_adds(path, ep->path_base);
    if (r->key) {
        s3m_buf_addc(path, '/');
        s3m_uri_encode(path, r->key, strlen(r->key), true);
    } else if (!path->len) {
        s3m_buf_addc(path, '/');
    }
    s3m_buf_printf(url, "%s%s", ep->base_url, path->data);
    for (size_t i = 0; i < r->nquery; i++) {
        s3m_buf_addc(url, i ? '&' : '?');
        s3m_uri_encode(url, r->query[i].name, strlen(r->query[i].name), false);
        if (r->query[i].value) {
            s3m_buf_addc(url, '=');
            s3m_uri_encode(url, r->query[i].value, strlen(r->query[i].value), false);
        }
    }
}

/* The attempt's signature (a fresh date each attempt) as headers on its HTTP request; an
 * anonymous client sends only the payload hash. */
void s3m__s3_sign(struct s3m_s3_req *r, const struct s3m_endpoint *ep, const char *path,
                  const char *payload)
{
    struct s3m_s3 *c = r->c;
    if (c->anonymous) {
        s3m_http_add_header(&r->http, "X-Amz-Content-SHA256", payload);
        return;
    }
    char amz[17];
    s3m_sigv4_amz_date((int64_t)time(NULL), amz);
    struct s3m_sigv4_out o;
    s3m_sigv4_out_init(&o);
    struct s3m_sigv4_req sr = {
        .method = r->method,
        .host = ep->host,
        .path = path,
        .query = r->query,
        .nquery = r->nquery,
        .headers = r->headers,
        .nheaders = r->nheaders,
        .payload_hash = payload,
        .amz_date = amz,
        .region = c->region,
        .service = "s3",
        .add_content_sha256 = true,
    };
    s3m_sigv4_sign(&c->signer, &sr, &o);
    for (size_t i = 0; i < o.nadd_headers; i++)
        s3m_http_add_header(&r->http, o.add_headers[i].name, o.add_headers[i].value);
    s3m_http_add_header(&r->http, "Authorization", o.authorization.data);
    s3m_sigv4_out_cleanup(&o);
}
