/* test_sigv4.c - the signer against the published AWS SigV4 suites and the S3 signing vectors
 * in tests/data (expected values from the data files only). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3m/hash.h"
#include "s3m/sigv4.h"
#include "s3m/uri.h"
#include "tjson.h"

static int n_run, n_pass;

/* ---- a parsed request.txt / .req ---- */
struct req {
    char method[16];
    char *path;
    struct s3m_kv query[32];
    size_t nquery;
    struct s3m_kv headers[32];
    size_t nheaders;
    char *host;
    char *amz_date; /* from an X-Amz-Date header, if any */
    char *body;
    size_t bodylen;
    char *strings[128];
    size_t nstrings;
};

static char *keep(struct req *r, char *s)
{
    r->strings[r->nstrings++] = s;
    return s;
}

static char *decode(struct req *r, const char *s, size_t n)
{
    struct s3m_buf b;
    s3m_buf_init(&b);
    s3m_buf_adds(&b, "");
    /* the suite writes query text either raw UTF-8 or %-encoded: decode to get the parameter */
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n + 1) {
            char hx[3] = {s[i + 1], s[i + 2], 0};
            s3m_buf_addc(&b, (char)strtol(hx, NULL, 16));
            i += 2;
        } else {
            s3m_buf_addc(&b, s[i]);
        }
    }
    return keep(r, s3m_buf_detach(&b));
}

static void parse_req(struct req *r, const char *text)
{
    memset(r, 0, sizeof(*r));
    const char *sp = strchr(text, ' ');
    snprintf(r->method, sizeof(r->method), "%.*s", (int)(sp - text), text);
    const char *target = sp + 1, *tend = strstr(target, " HTTP/1.1");
    const char *q = memchr(target, '?', (size_t)(tend - target));
    const char *pend = q ? q : tend;
    r->path = keep(r, strndup(target, (size_t)(pend - target)));
    if (q) {
        const char *p = q + 1;
        while (p < tend) {
            const char *amp = memchr(p, '&', (size_t)(tend - p));
            const char *e = amp ? amp : tend;
            const char *eq = memchr(p, '=', (size_t)(e - p));
            struct s3m_kv *kv = &r->query[r->nquery++];
            kv->name = decode(r, p, (size_t)((eq ? eq : e) - p));
            kv->value = eq ? decode(r, eq + 1, (size_t)(e - eq - 1)) : "";
            p = e + 1;
        }
    }
    const char *line = strchr(tend, '\n') + 1;
    while (*line && *line != '\n') {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (line[0] == ' ' || line[0] == '\t') { /* continuation of the previous header */
            struct s3m_kv *h = &r->headers[r->nheaders - 1];
            char *joined;
            if (asprintf(&joined, "%s %.*s", h->value, (int)len, line) < 0)
                abort();
            h->value = keep(r, joined);
        } else {
            const char *colon = memchr(line, ':', len);
            char *name = keep(r, strndup(line, (size_t)(colon - line)));
            char *value = keep(r, strndup(colon + 1, len - (size_t)(colon - line) - 1));
            if (!strcasecmp(name, "host"))
                r->host = value;
            else if (!strcasecmp(name, "x-amz-date"))
                r->amz_date = value;
            else
                r->headers[r->nheaders++] = (struct s3m_kv){name, value};
        }
        line = nl ? nl + 1 : line + len;
    }
    if (*line == '\n') {
        r->body = keep(r, strdup(line + 1));
        r->bodylen = strlen(r->body);
    } else {
        r->body = keep(r, strdup(""));
    }
}

static void free_req(struct req *r)
{
    for (size_t i = 0; i < r->nstrings; i++)
        free(r->strings[i]);
}

static char *slurp(const char *dir, const char *name)
{
    char path[4096];
    size_t len;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return tj_read_file(path, &len);
}

#define CHECK_EQ(got, want, what, id)                                                              \
    do {                                                                                           \
        if (strcmp((got), (want))) {                                                               \
            print_error("%s: %s differs\n--- got ---\n%s\n--- want ---\n%s\n", (id), (what),       \
                        (got), (want));                                                            \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

/* ---- layout 1: aws-signing-test-suite/v4 ---- */

static void iso_to_amz(const char *iso, char out[17])
{
    /* 2015-08-30T12:36:00Z -> 20150830T123600Z */
    snprintf(out, 17, "%.4s%.2s%.2sT%.2s%.2s%.2sZ", iso, iso + 5, iso + 8, iso + 11, iso + 14,
             iso + 17);
}

static void run_suite_case(const char *dir, const char *id, bool query_applies)
{
    char ctxpath[1024];
    snprintf(ctxpath, sizeof(ctxpath), "%s/context.json", dir);
    struct tj *ctx = tj_parse_file(ctxpath);
    assert_non_null(ctx);
    const struct tj *cred = tj_get(ctx, "credentials");
    char *reqtext = slurp(dir, "request.txt");
    struct req r;
    parse_req(&r, reqtext);

    struct s3m_signer s;
    s3m_signer_init(&s, tj_str(cred, "access_key_id"), tj_str(cred, "secret_access_key"),
                    tj_str(cred, "token"));
    char amz[17], payload[65];
    iso_to_amz(tj_str(ctx, "timestamp"), amz);
    const char *signed_body_value = tj_str(ctx, "signed_body_value");
    s3m_sha256_hex(r.body, r.bodylen, payload);
    const struct tj *norm = tj_get(ctx, "normalize"), *sb = tj_get(ctx, "sign_body"),
                    *omit = tj_get(ctx, "omit_session_token");
    struct s3m_sigv4_req sr = {
        .method = r.method,
        .host = r.host,
        .path = r.path,
        .query = r.query,
        .nquery = r.nquery,
        .headers = r.headers,
        .nheaders = r.nheaders,
        .payload_hash = signed_body_value ? signed_body_value : payload,
        .amz_date = amz,
        .region = tj_str(ctx, "region"),
        .service = tj_str(ctx, "service"),
        .add_content_sha256 = sb && sb->b,
        .token_unsigned = omit && omit->b,
        .encode_path = true,
        .normalize_path = norm && norm->b,
        .expires = (long)tj_get(ctx, "expiration_in_seconds")->num,
    };
    struct s3m_sigv4_out o;
    s3m_sigv4_out_init(&o);
    s3m_sigv4_sign(&s, &sr, &o);
    char *creq = slurp(dir, "header-canonical-request.txt");
    char *sts = slurp(dir, "header-string-to-sign.txt");
    char *sig = slurp(dir, "header-signature.txt");
    char *signed_req = slurp(dir, "header-signed-request.txt");
    n_run++;
    CHECK_EQ(o.canonical_request.data, creq, "header canonical request", id);
    CHECK_EQ(o.string_to_sign.data, sts, "header string to sign", id);
    CHECK_EQ(o.signature, sig, "header signature", id);
    char *auth = strstr(signed_req, "\nAuthorization:");
    assert_non_null(auth);
    auth += strlen("\nAuthorization:");
    char *authend = strchr(auth, '\n');
    if (authend)
        *authend = 0;
    CHECK_EQ(o.authorization.data, auth, "Authorization header", id);
    n_pass++;
    free(creq), free(sts), free(sig), free(signed_req);

    if (query_applies) {
        sr.add_content_sha256 = false;
        s3m_sigv4_presign(&s, &sr, &o);
        creq = slurp(dir, "query-canonical-request.txt");
        sts = slurp(dir, "query-string-to-sign.txt");
        sig = slurp(dir, "query-signature.txt");
        n_run++;
        CHECK_EQ(o.canonical_request.data, creq, "query canonical request", id);
        CHECK_EQ(o.string_to_sign.data, sts, "query string to sign", id);
        CHECK_EQ(o.signature, sig, "query signature", id);
        n_pass++;
        free(creq), free(sts), free(sig);
    }
    s3m_sigv4_out_cleanup(&o);
    s3m_signer_cleanup(&s);
    free_req(&r);
    free(reqtext);
    tj_free(ctx);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t list_dir(const char *dir, char **names, size_t max)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *e;
    if (!d)
        return 0;
    while ((e = readdir(d)) && n < max)
        if (e->d_name[0] != '.' && e->d_type == DT_DIR)
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof(*names), name_cmp);
    return n;
}

static void test_aws_signing_suite(void **state)
{
    (void)state;
    char base[1024], dir[2048], *names[128];
    tj_data_path("sigv4/aws-signing-test-suite/v4", base, sizeof(base));
    size_t n = list_dir(base, names, 128);
    assert_int_equal(n, 38);
    int before = n_run;
    for (size_t i = 0; i < n; i++) {
        snprintf(dir, sizeof(dir), "%s/%s", base, names[i]);
        run_suite_case(dir, names[i], true);
        free(names[i]);
    }
    /* the removed UNSIGNED-PAYLOAD case: header files apply; its query files put
     * x-amz-content-sha256 into a presigned request, which S3 presigning does not do */
    tj_data_path("sigv4/aws-signing-test-suite-removed/v4/post-unsigned-payload", dir, sizeof(dir));
    run_suite_case(dir, "post-unsigned-payload", false);
    print_message("aws-signing-test-suite: %d signings checked, all equal\n", n_run - before);
}

/* ---- layout 2: aws4_testsuite (.req .creq .sts .authz) ---- */

static char *token_from_readme(void)
{
    char path[1024];
    size_t len;
    char *t = tj_read_file(
        tj_data_path("sigv4/aws4_testsuite/post-sts-token/readme.txt", path, sizeof(path)), &len);
    char *p = strstr(t, "X-Amz-Security-Token:\n\n");
    assert_non_null(p);
    p = strdup(p + strlen("X-Amz-Security-Token:\n\n"));
    free(t);
    s3m_trim(p);
    return p;
}

static char *token_from_context(const char *caseid)
{
    char rel[512], path[1024];
    snprintf(rel, sizeof(rel), "sigv4/aws-signing-test-suite/v4/%s/context.json", caseid);
    struct tj *ctx = tj_parse_file(tj_data_path(rel, path, sizeof(path)));
    char *tok = strdup(tj_str(tj_get(ctx, "credentials"), "token"));
    tj_free(ctx);
    return tok;
}

static void run_old_case(const char *dir, const char *id)
{
    char file[1200];
    snprintf(file, sizeof(file), "%s.req", id);
    char *reqtext = slurp(dir, file);
    struct req r;
    parse_req(&r, reqtext);
    char *token = NULL;
    if (!strcmp(id, "get-vanilla-with-session-token"))
        token = token_from_context(id);
    else if (strstr(id, "post-sts-header"))
        token = token_from_readme();
    /* "after": the token header is on the request but added after signing */
    bool after = !strcmp(id, "post-sts-header-after");
    size_t kept = 0;
    for (size_t i = 0; i < r.nheaders; i++)
        if (strcasecmp(r.headers[i].name, "X-Amz-Security-Token"))
            r.headers[kept++] = r.headers[i];
    r.nheaders = kept;
    struct s3m_signer s;
    s3m_signer_init(&s, "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token);
    char payload[65];
    s3m_sha256_hex(r.body, r.bodylen, payload);
    struct s3m_sigv4_req sr = {
        .method = r.method,
        .host = r.host,
        .path = r.path,
        .query = r.query,
        .nquery = r.nquery,
        .headers = r.headers,
        .nheaders = r.nheaders,
        .payload_hash = payload,
        .amz_date = r.amz_date,
        .region = "us-east-1",
        .service = "service",
        .token_unsigned = after,
        .encode_path = true,
        .normalize_path = true,
    };
    struct s3m_sigv4_out o;
    s3m_sigv4_out_init(&o);
    s3m_sigv4_sign(&s, &sr, &o);
    const char *ext[] = {"creq", "sts", "authz"};
    const char *got[] = {o.canonical_request.data, o.string_to_sign.data, o.authorization.data};
    n_run++;
    for (int i = 0; i < 3; i++) {
        snprintf(file, sizeof(file), "%s.%s", id, ext[i]);
        char *want = slurp(dir, file);
        assert_non_null(want);
        CHECK_EQ(got[i], want, ext[i], id);
        free(want);
    }
    n_pass++;
    s3m_sigv4_out_cleanup(&o);
    s3m_signer_cleanup(&s);
    free_req(&r);
    free(reqtext);
    free(token);
}

static void test_aws4_testsuite(void **state)
{
    (void)state;
    char base[1024], dir[2048], sub[3072], *names[64], *subs[16];
    tj_data_path("sigv4/aws4_testsuite", base, sizeof(base));
    size_t n = list_dir(base, names, 64), cases = 0;
    for (size_t i = 0; i < n; i++) {
        snprintf(dir, sizeof(dir), "%s/%s", base, names[i]);
        if (!strcmp(names[i], "normalize-path") || !strcmp(names[i], "post-sts-token")) {
            size_t m = list_dir(dir, subs, 16);
            for (size_t j = 0; j < m; j++) {
                snprintf(sub, sizeof(sub), "%s/%s", dir, subs[j]);
                run_old_case(sub, subs[j]);
                cases++;
                free(subs[j]);
            }
        } else {
            run_old_case(dir, names[i]);
            cases++;
        }
        free(names[i]);
    }
    assert_int_equal(cases, 34); /* 34 .req files (README: 36 folders incl. 2 groups) */
    print_message("aws4_testsuite: %zu cases, all equal\n", cases);
}

/* ---- S3 vectors ---- */

static void run_s3_vector(const struct tj *v, const char *file_kind)
{
    const char *id = tj_str(v, "id");
    const char *kind = tj_str(v, "kind") ? tj_str(v, "kind") : file_kind;
    struct s3m_kv query[32], headers[32];
    size_t nq = 0, nh = 0;
    const struct tj *qp = tj_get(v, "query_params");
    for (size_t i = 0; qp && i < qp->n; i++)
        query[nq++] = (struct s3m_kv){qp->items[i]->items[0]->str,
                                      qp->items[i]->items[1]->type == TJ_NULL
                                          ? NULL
                                          : qp->items[i]->items[1]->str};
    /* generated: headers_in (the signer adds host, date, content hash, token); documentation:
     * the full documented header list, of which the signer adds those itself */
    const struct tj *hin = tj_get(v, "headers_in") ? tj_get(v, "headers_in") : tj_get(v, "headers");
    bool doc_has_sha = false;
    for (size_t i = 0; hin && i < hin->n; i++) {
        const char *name = hin->items[i]->items[0]->str;
        if (!strcasecmp(name, "host") || !strcasecmp(name, "x-amz-date"))
            continue;
        if (!strcasecmp(name, "x-amz-content-sha256")) {
            doc_has_sha = true;
            continue;
        }
        headers[nh++] = (struct s3m_kv){name, hin->items[i]->items[1]->str};
    }
    bool generated = tj_get(v, "headers_in") != NULL;
    struct s3m_signer s;
    s3m_signer_init(&s, tj_str(v, "access_key"), tj_str(v, "secret_key"),
                    tj_str(v, "session_token"));
    const struct tj *exp = tj_get(v, "expected");
    const struct tj *expires = tj_get(v, "expires");
    struct s3m_sigv4_req sr = {
        .method = tj_str(v, "method"),
        .host = tj_str(v, "host"),
        .path = tj_str(v, "path"),
        .query = query,
        .nquery = nq,
        .headers = headers,
        .nheaders = nh,
        .payload_hash = tj_str(v, "payload_hash"),
        .amz_date = tj_str(v, "date"),
        .region = tj_str(v, "region"),
        .service = tj_str(v, "service"),
        .add_content_sha256 = generated || doc_has_sha,
        .expires = expires ? (long)expires->num : 0,
    };
    struct s3m_sigv4_out o;
    s3m_sigv4_out_init(&o);
    n_run++;
    const char *key = tj_str(v, "key"), *bucket = tj_str(v, "bucket");
    const char *addressing = tj_str(v, "addressing");
    if (key && addressing) { /* our key encoding must give the wire path of the vector */
        struct s3m_buf path;
        s3m_buf_init(&path);
        if (!strcmp(addressing, "path"))
            s3m_buf_printf(&path, "/%s", bucket);
        s3m_buf_addc(&path, '/');
        s3m_uri_encode(&path, key, strlen(key), true);
        CHECK_EQ(path.data, tj_str(v, "path"), "encoded key path", id);
        s3m_buf_cleanup(&path);
    }
    if (!strcmp(kind, "presigned-url")) {
        sr.add_content_sha256 = false;
        s3m_sigv4_presign(&s, &sr, &o);
        CHECK_EQ(o.canonical_request.data, tj_str(exp, "canonical_request"), "canonical", id);
        CHECK_EQ(o.string_to_sign.data, tj_str(exp, "string_to_sign"), "string to sign", id);
        CHECK_EQ(o.signature, tj_str(exp, "signature"), "signature", id);
        struct s3m_buf url;
        s3m_buf_init(&url);
        const char *wq = tj_str(v, "query");
        s3m_buf_printf(&url, "%s://%s%s?%s%s%s",
                       tj_str(v, "scheme") ? tj_str(v, "scheme") : "https", tj_str(v, "host"),
                       tj_str(v, "path"), wq ? wq : "", wq && *wq ? "&" : "",
                       o.presigned_query.data);
        CHECK_EQ(url.data, tj_str(exp, "url"), "presigned URL", id);
        s3m_buf_cleanup(&url);
    } else if (!strcmp(kind, "header")) {
        s3m_sigv4_sign(&s, &sr, &o);
        CHECK_EQ(o.canonical_request.data, tj_str(exp, "canonical_request"), "canonical", id);
        CHECK_EQ(o.string_to_sign.data, tj_str(exp, "string_to_sign"), "string to sign", id);
        CHECK_EQ(o.signed_headers.data, tj_str(exp, "signed_headers"), "signed headers", id);
        CHECK_EQ(o.signature, tj_str(exp, "signature"), "signature", id);
        CHECK_EQ(o.authorization.data, tj_str(exp, "authorization"), "authorization", id);
        /* the headers we add must be exactly those on the expected wire request */
        const struct tj *hout = tj_get(exp, "headers_out");
        for (size_t i = 0; hout && i < o.nadd_headers; i++) {
            bool found = false;
            for (size_t j = 0; j < hout->n; j++)
                found |= !strcmp(hout->items[j]->items[0]->str, o.add_headers[i].name) &&
                         !strcmp(hout->items[j]->items[1]->str, o.add_headers[i].value);
            if (!found) {
                print_error("%s: added header %s not in headers_out\n", id, o.add_headers[i].name);
                fail();
            }
        }
    } else {
        fail_msg("%s: unknown kind %s", id, kind);
    }
    n_pass++;
    s3m_sigv4_out_cleanup(&o);
    s3m_signer_cleanup(&s);
}

static void run_s3_file(const char *rel, int expect_count)
{
    char path[1024];
    struct tj *d = tj_parse_file(tj_data_path(rel, path, sizeof(path)));
    assert_non_null(d);
    const struct tj *vs = tj_get(d, "vectors");
    const char *fkind = tj_str(d, "kind");
    assert_int_equal(vs->n, expect_count);
    for (size_t i = 0; i < vs->n; i++)
        run_s3_vector(vs->items[i], fkind ? fkind : "header");
    print_message("%s: %zu vectors, all equal\n", rel, vs->n);
    tj_free(d);
}

static void test_s3_generated(void **state)
{
    (void)state;
    run_s3_file("s3-signing/generated.json", 64);
}

static void test_s3_docs(void **state)
{
    (void)state;
    run_s3_file("s3-signing/aws-docs-header-auth.json", 4);
    run_s3_file("s3-signing/aws-docs-presigned-url.json", 1);
}

/* The signing key is cached per scope: a second scope must not reuse the first key. */
static void test_key_cache_scope(void **state)
{
    (void)state;
    struct s3m_signer s;
    s3m_signer_init(&s, "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", NULL);
    struct s3m_sigv4_req r = {.method = "GET",
                              .host = "examplebucket.s3.amazonaws.com",
                              .path = "/test.txt",
                              .payload_hash = S3M_EMPTY_SHA256,
                              .amz_date = "20130524T000000Z",
                              .region = "eu-north-1",
                              .service = "s3",
                              .add_content_sha256 = true};
    struct s3m_sigv4_out o;
    s3m_sigv4_out_init(&o);
    s3m_sigv4_sign(&s, &r, &o); /* caches the eu-north-1 key */
    struct s3m_kv range = {"Range", "bytes=0-9"};
    r.region = "us-east-1";
    r.headers = &range;
    r.nheaders = 1;
    s3m_sigv4_sign(&s, &r, &o);
    /* AWS documentation example value */
    assert_string_equal(o.signature,
                        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    s3m_sigv4_out_cleanup(&o);
    s3m_signer_cleanup(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aws_signing_suite), cmocka_unit_test(test_aws4_testsuite),
        cmocka_unit_test(test_s3_generated),      cmocka_unit_test(test_s3_docs),
        cmocka_unit_test(test_key_cache_scope),
    };
    int rc = cmocka_run_group_tests_name("sigv4", tests, NULL, NULL);
    printf("sigv4 vectors: %d run, %d passed\n", n_run, n_pass);
    return rc;
}
