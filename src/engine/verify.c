/* verify.c - --compare checksum: read both objects of a pair and compare their MD5s, or HEAD
 * the destination of a multipart pair and compare the source ETag it recorded. One object per
 * pair, freed when both requests are back; the outcome goes to the job's callback. */
#include "verify_int.h"
#include "s3m/hash.h"
#include "s3m/http.h"
#include "s3m/util.h"
#include "s3m/xfer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct verify {
    size_t lane;
    char *key;
    uint64_t size;
    char etag[80];
    char dst_etag[80];
    uint64_t dst_size;
    bool head; /* the destination's HEAD only */
    struct s3m_md5_ctx md5[2];
    struct s3m_s3_req *req[2];
    int running;
    s3m_verify_cb done;
    bool (*stopped)(void *ud);
    void *ud;
};

static size_t verify_write(struct s3m_s3_req *r, const char *d, size_t n, void *ud)
{
    struct verify *v = ud;
    if (v->stopped && v->stopped(v->ud))
        return S3M_HTTP_ABORT; /* the request fails with S3M_EABORTED */
    s3m_md5_update(&v->md5[r == v->req[1]], d, n);
    return n;
}

/* The destination's HEAD: still the object listed, and copied from the source's version. */
static bool recorded_same(const struct verify *v)
{
    const char *et = s3m_s3_resp_header(v->req[0], "etag");
    const char *rec = s3m_s3_resp_header(v->req[0], S3M_XFER_SOURCE_ETAG_HEADER);
    if (!et || !rec)
        return false;
    size_t n = strlen(et);
    if (n >= 2 && et[0] == '"' && et[n - 1] == '"')
        et++, n -= 2;
    return n == strlen(v->dst_etag) && !strncasecmp(et, v->dst_etag, n) &&
           !s3m_strcasecmp(rec, v->etag);
}

static void verify_free(struct verify *v)
{
    for (int i = 0; i < 2; i++) {
        s3m_md5_cleanup(&v->md5[i]);
        s3m_s3_req_free(v->req[i]);
    }
    free(v->key);
    free(v);
}

static void verify_done(struct s3m_s3_req *r, void *ud)
{
    struct verify *v = ud;
    (void)r;
    if (--v->running)
        return;
    uint8_t a[S3M_MD5_LEN], b[S3M_MD5_LEN];
    s3m_md5_final(&v->md5[0], a);
    s3m_md5_final(&v->md5[1], b);
    const struct s3m_errinfo *e = v->req[0]->ei.err || v->head ? &v->req[0]->ei : &v->req[1]->ei;
    struct s3m_verify_result res = {
        v->lane, v->key, v->size, v->etag, {v->key, v->dst_size, v->dst_etag, 0}, v->head, false,
        NULL,    false,  NULL,    NULL};
    if (e->err)
        res.err = e;
    else
        res.differ = v->head ? !recorded_same(v) : memcmp(a, b, sizeof(a)) != 0;
    v->done(&res, v->ud);
    verify_free(v);
}

static char *join(const char *prefix, const char *rel)
{
    struct s3m_buf b;
    s3m_buf_init(&b);
    s3m_buf_printf(&b, "%s%s", prefix, rel);
    return s3m_buf_detach(&b);
}

static struct verify *verify_new(const struct s3m_verify_env *env, const struct s3m_diff_item *it,
                                 size_t lane)
{
    struct verify *v = s3m_calloc(1, sizeof(*v));
    v->lane = lane;
    v->key = s3m_strdup(it->src.key);
    v->size = it->src.size;
    snprintf(v->etag, sizeof(v->etag), "%s", it->src.etag);
    snprintf(v->dst_etag, sizeof(v->dst_etag), "%s", it->dst.etag);
    v->dst_size = it->dst.size;
    v->head = it->needs_head;
    char *sk = join(env->src_prefix, it->src.key), *dk = join(env->dst_prefix, it->src.key);
    if (v->head) {
        v->req[0] = s3m_s3_head_object(env->dst, env->dst_bucket, dk, 0);
    } else {
        v->req[0] = s3m_s3_get_object(env->src, env->src_bucket, sk, NULL, 0, it->src.etag);
        v->req[1] = s3m_s3_get_object(env->dst, env->dst_bucket, dk, NULL, 0, it->dst.etag);
    }
    free(sk);
    free(dk);
    for (int i = 0; i < 2; i++) {
        s3m_md5_init(&v->md5[i]);
        if (v->req[i])
            v->req[i]->write_cb = verify_write;
    }
    return v;
}

bool s3m__verify_start(const struct s3m_verify_env *env, const struct s3m_diff_item *it,
                       size_t lane, s3m_verify_cb done, void *ud, struct s3m_errinfo *ei)
{
    struct verify *v = verify_new(env, it, lane);
    v->done = done;
    v->stopped = env->stopped;
    v->ud = ud;
    /* a side that fails to start keeps its error in req->ei; verify_done reports it when the
     * other side ends. If neither starts (a broken endpoint), say so at once: the callback
     * never runs from inside this call. */
    int nreq = v->head ? 1 : 2;
    v->running = nreq;
    for (int i = 0; i < nreq; i++)
        if (s3m_s3_submit(v->req[i], verify_done, v))
            v->running--;
    if (v->running)
        return true;
    *ei = v->req[0]->ei;
    verify_free(v);
    return false;
}
