/* sigv4.c - AWS Signature Version 4 signing for S3 (and the generic rules the AWS suite uses).
 *
 * The signing key depends only on secret, date, region and service, so it is derived once per
 * scope and cached in the signer: one HMAC over the string to sign per request after that. */
#include "s3m/sigv4.h"
#include "s3m/hash.h"
#include "s3m/uri.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void s3m_signer_init(struct s3m_signer *s, const char *access_key, const char *secret_key,
                     const char *session_token)
{
    memset(s, 0, sizeof(*s));
    s->access_key = s3m_strdup(access_key ? access_key : "");
    s->secret_key = s3m_strdup(secret_key ? secret_key : "");
    s->session_token = session_token && *session_token ? s3m_strdup(session_token) : NULL;
}

void s3m_signer_cleanup(struct s3m_signer *s)
{
    free(s->access_key);
    s3m_free_secret(s->secret_key);
    s3m_free_secret(s->session_token);
    s3m_wipe(s->key, sizeof(s->key));
    memset(s, 0, sizeof(*s));
}

void s3m_sigv4_out_init(struct s3m_sigv4_out *o)
{
    memset(o, 0, sizeof(*o));
}

void s3m_sigv4_out_cleanup(struct s3m_sigv4_out *o)
{
    s3m_buf_cleanup(&o->canonical_request);
    s3m_buf_cleanup(&o->string_to_sign);
    s3m_buf_cleanup(&o->signed_headers);
    s3m_buf_cleanup(&o->authorization);
    s3m_buf_cleanup(&o->presigned_query);
    memset(o, 0, sizeof(*o));
}

void s3m_sigv4_amz_date(int64_t t, char out[17])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static const uint8_t *signing_key(struct s3m_signer *s, const char *date8, const char *region,
                                  const char *service)
{
    char scope[128];
    snprintf(scope, sizeof(scope), "%s/%s/%s", date8, region, service);
    if (strcmp(scope, s->key_scope) == 0)
        return s->key;
    struct s3m_buf k;
    s3m_buf_init(&k);
    s3m_buf_printf(&k, "AWS4%s", s->secret_key);
    uint8_t a[32], b[32];
    s3m_hmac_sha256(k.data, k.len, date8, strlen(date8), a);
    s3m_hmac_sha256(a, 32, region, strlen(region), b);
    s3m_hmac_sha256(b, 32, service, strlen(service), a);
    s3m_hmac_sha256(a, 32, "aws4_request", 12, s->key);
    s3m_wipe(k.data, k.len);
    s3m_buf_cleanup(&k);
    s3m_wipe(a, sizeof(a));
    s3m_wipe(b, sizeof(b));
    snprintf(s->key_scope, sizeof(s->key_scope), "%s", scope);
    return s->key;
}

/* ---- canonical headers ---- */

struct chdr {
    char *name;  /* lower-case */
    char *value; /* trimmed, inner white space collapsed */
};

static char *canon_value(const char *v)
{
    struct s3m_buf b;
    s3m_buf_init(&b);
    bool space = false;
    for (; *v; v++) {
        bool ws = *v == ' ' || *v == '\t' || *v == '\n' || *v == '\r';
        if (ws) {
            space = b.len > 0;
            continue;
        }
        if (space)
            s3m_buf_addc(&b, ' ');
        space = false;
        s3m_buf_addc(&b, *v);
    }
    return s3m_buf_detach(&b);
}

static void add_chdr(struct chdr *h, size_t *n, const char *name, const char *value)
{
    char *lname = s3m_strdup(name);
    for (char *p = lname; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    char *cv = canon_value(value);
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(h[i].name, lname) == 0) { /* repeated header: values joined by ',' */
            struct s3m_buf b;
            s3m_buf_init(&b);
            s3m_buf_printf(&b, "%s,%s", h[i].value, cv);
            free(h[i].value);
            h[i].value = s3m_buf_detach(&b);
            free(lname);
            free(cv);
            return;
        }
    }
    /* stable insertion by name */
    size_t pos = *n;
    while (pos > 0 && strcmp(h[pos - 1].name, lname) > 0) {
        h[pos] = h[pos - 1];
        pos--;
    }
    h[pos].name = lname;
    h[pos].value = cv;
    (*n)++;
}

/* ---- canonical query ---- */

struct cq {
    char *name, *value; /* encoded */
};

static int cq_cmp(const void *a, const void *b)
{
    const struct cq *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

static char *enc(const char *s)
{
    struct s3m_buf b;
    s3m_buf_init(&b);
    s3m_uri_encode(&b, s ? s : "", s ? strlen(s) : 0, false);
    return s3m_buf_detach(&b);
}

static void canonical_query(struct s3m_buf *out, const struct s3m_kv *q, size_t nq,
                            const struct s3m_kv *extra, size_t nextra)
{
    size_t n = nq + nextra;
    struct cq *v = s3m_calloc(n, sizeof(*v));
    for (size_t i = 0; i < n; i++) {
        const struct s3m_kv *kv = i < nq ? &q[i] : &extra[i - nq];
        v[i].name = enc(kv->name);
        v[i].value = enc(kv->value);
    }
    qsort(v, n, sizeof(*v), cq_cmp);
    for (size_t i = 0; i < n; i++) {
        s3m_buf_printf(out, "%s%s=%s", i ? "&" : "", v[i].name, v[i].value);
        free(v[i].name);
        free(v[i].value);
    }
    free(v);
}

/* ---- the common core ---- */

static void canonical_path(struct s3m_buf *out, const struct s3m_sigv4_req *r)
{
    const char *path = r->path && *r->path ? r->path : "/";
    struct s3m_buf tmp;
    s3m_buf_init(&tmp);
    if (r->normalize_path) {
        s3m_uri_normalize_path(&tmp, path);
        path = s3m_buf_str(&tmp);
    }
    if (r->encode_path)
        s3m_uri_encode(out, path, strlen(path), true);
    else
        s3m_buf_adds(out, path);
    s3m_buf_cleanup(&tmp);
}

/* Build canonical request and string to sign, then the signature. presign_params (may be
 * NULL) are the X-Amz-* query parameters of a presigned request. */
static void sign_core(struct s3m_signer *s, const struct s3m_sigv4_req *r, struct s3m_sigv4_out *o,
                      const struct s3m_kv *signhdr, size_t nsignhdr,
                      const struct s3m_kv *presign_params, size_t npresign, const char *scope)
{
    size_t cap = r->nheaders + nsignhdr + 1;
    struct chdr *h = s3m_calloc(cap, sizeof(*h));
    size_t nh = 0;
    add_chdr(h, &nh, "host", r->host);
    for (size_t i = 0; i < r->nheaders; i++)
        add_chdr(h, &nh, r->headers[i].name, r->headers[i].value);
    for (size_t i = 0; i < nsignhdr; i++)
        add_chdr(h, &nh, signhdr[i].name, signhdr[i].value);

    s3m_buf_reset(&o->signed_headers);
    for (size_t i = 0; i < nh; i++)
        s3m_buf_printf(&o->signed_headers, "%s%s", i ? ";" : "", h[i].name);

    struct s3m_buf *cr = &o->canonical_request;
    s3m_buf_reset(cr);
    s3m_buf_printf(cr, "%s\n", r->method);
    canonical_path(cr, r);
    s3m_buf_addc(cr, '\n');
    if (presign_params) {
        /* X-Amz-SignedHeaders must be known before the query is canonicalised */
        struct s3m_kv *pp = s3m_calloc(npresign, sizeof(*pp));
        memcpy(pp, presign_params, npresign * sizeof(*pp));
        for (size_t i = 0; i < npresign; i++)
            if (!strcmp(pp[i].name, "X-Amz-SignedHeaders"))
                pp[i].value = s3m_buf_str(&o->signed_headers);
        canonical_query(cr, r->query, r->nquery, pp, npresign);
        free(pp);
    } else {
        canonical_query(cr, r->query, r->nquery, NULL, 0);
    }
    s3m_buf_addc(cr, '\n');
    for (size_t i = 0; i < nh; i++) {
        s3m_buf_printf(cr, "%s:%s\n", h[i].name, h[i].value);
        free(h[i].name);
        free(h[i].value);
    }
    free(h);
    s3m_buf_printf(cr, "\n%s\n%s", s3m_buf_str(&o->signed_headers), r->payload_hash);

    char crhash[65];
    s3m_sha256_hex(cr->data, cr->len, crhash);
    s3m_buf_reset(&o->string_to_sign);
    s3m_buf_printf(&o->string_to_sign, "AWS4-HMAC-SHA256\n%s\n%s\n%s", r->amz_date, scope, crhash);

    char date8[9];
    memcpy(date8, r->amz_date, 8);
    date8[8] = 0;
    uint8_t sig[32];
    const uint8_t *key = signing_key(s, date8, r->region, r->service);
    s3m_hmac_sha256(key, 32, o->string_to_sign.data, o->string_to_sign.len, sig);
    s3m_hex(sig, 32, o->signature);
}

static void make_scope(const struct s3m_sigv4_req *r, char *scope, size_t n)
{
    assert(r->amz_date && strlen(r->amz_date) == 16);
    snprintf(scope, n, "%.8s/%s/%s/aws4_request", r->amz_date, r->region, r->service);
}

void s3m_sigv4_sign(struct s3m_signer *s, const struct s3m_sigv4_req *r, struct s3m_sigv4_out *o)
{
    char scope[160];
    make_scope(r, scope, sizeof(scope));
    struct s3m_kv signhdr[3];
    size_t n = 0;
    o->nadd_headers = 0;
    signhdr[n++] = (struct s3m_kv){"x-amz-date", r->amz_date};
    o->add_headers[o->nadd_headers++] = (struct s3m_kv){"X-Amz-Date", r->amz_date};
    if (r->add_content_sha256) {
        signhdr[n++] = (struct s3m_kv){"x-amz-content-sha256", r->payload_hash};
        o->add_headers[o->nadd_headers++] = (struct s3m_kv){"X-Amz-Content-SHA256",
                                                            r->payload_hash};
    }
    if (s->session_token) {
        if (!r->token_unsigned)
            signhdr[n++] = (struct s3m_kv){"x-amz-security-token", s->session_token};
        o->add_headers[o->nadd_headers++] = (struct s3m_kv){"X-Amz-Security-Token",
                                                            s->session_token};
    }
    sign_core(s, r, o, signhdr, n, NULL, 0, scope);
    s3m_buf_reset(&o->authorization);
    s3m_buf_printf(&o->authorization,
                   "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                   s->access_key, scope, s3m_buf_str(&o->signed_headers), o->signature);
}

void s3m_sigv4_presign(struct s3m_signer *s, const struct s3m_sigv4_req *r, struct s3m_sigv4_out *o)
{
    char scope[160], cred[512], expires[32];
    make_scope(r, scope, sizeof(scope));
    snprintf(cred, sizeof(cred), "%s/%s", s->access_key, scope);
    snprintf(expires, sizeof(expires), "%ld", r->expires);
    struct s3m_kv pp[6];
    size_t n = 0;
    pp[n++] = (struct s3m_kv){"X-Amz-Algorithm", "AWS4-HMAC-SHA256"};
    pp[n++] = (struct s3m_kv){"X-Amz-Credential", cred};
    pp[n++] = (struct s3m_kv){"X-Amz-Date", r->amz_date};
    pp[n++] = (struct s3m_kv){"X-Amz-Expires", expires};
    pp[n++] = (struct s3m_kv){"X-Amz-SignedHeaders", ""};
    if (s->session_token && !r->token_unsigned)
        pp[n++] = (struct s3m_kv){"X-Amz-Security-Token", s->session_token};
    o->nadd_headers = 0;
    sign_core(s, r, o, NULL, 0, pp, n, scope);
    /* the query to append, in the order SDKs emit it, signature last */
    s3m_buf_reset(&o->presigned_query);
    for (size_t i = 0; i < n; i++) {
        const char *v = strcmp(pp[i].name, "X-Amz-SignedHeaders") ? pp[i].value
                                                                  : s3m_buf_str(&o->signed_headers);
        char *ev = enc(v);
        s3m_buf_printf(&o->presigned_query, "%s=%s&", pp[i].name, ev);
        free(ev);
    }
    s3m_buf_printf(&o->presigned_query, "X-Amz-Signature=%s", o->signature);
    if (s->session_token && r->token_unsigned) {
        char *et = enc(s->session_token);
        s3m_buf_printf(&o->presigned_query, "&X-Amz-Security-Token=%s", et);
        free(et);
    }
}
