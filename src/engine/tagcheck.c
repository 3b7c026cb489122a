/* tagcheck.c - --compare MODE,tags: read both objects' tags (GetObjectTagging on each side) of a
 * pair the listing found equal and compare them as sets of key=value; and the update of a
 * tag-only difference, PutObjectTagging (none: s3m_s3_clear_tagging) on the destination, no
 * data copied. Outcomes go back through the job's callbacks. */
#include "verify_int.h"
#include "s3m/tags.h"
#include "s3m/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tagcheck {
    size_t lane;
    char *key;
    uint64_t size;
    char etag[80], dst_etag[80];
    uint64_t dst_size;
    char *unverified_why;      /* the pair was skipped as unverifiable, for this reason */
    struct s3m_s3_req *req[2]; /* the source's GetObjectTagging, the destination's */
    int running;
    s3m_verify_cb done;
    void *ud;
};

static void tagcheck_free(struct tagcheck *t)
{
    s3m_s3_req_free(t->req[0]);
    s3m_s3_req_free(t->req[1]);
    free(t->key);
    free(t->unverified_why);
    free(t);
}

static const struct s3m_xml_tagging *tags_of(const struct s3m_s3_req *r)
{
    static const struct s3m_xml_tagging none = {NULL, 0};
    return r->xml && r->xml->kind == S3M_XML_TAGGING ? &r->xml->tagging : &none;
}

static bool tags_differ(const struct s3m_xml_tagging *a, const struct s3m_xml_tagging *b)
{
    struct s3m_buf x, y;
    s3m_buf_init(&x);
    s3m_buf_init(&y);
    s3m_tags_encode(&x, a->tags, a->ntags);
    s3m_tags_encode(&y, b->tags, b->ntags);
    bool differ = strcmp(s3m_buf_str(&x), s3m_buf_str(&y)) != 0;
    s3m_buf_cleanup(&x);
    s3m_buf_cleanup(&y);
    return differ;
}

static void tagcheck_done(struct s3m_s3_req *r, void *ud)
{
    struct tagcheck *t = ud;
    (void)r;
    if (--t->running)
        return;
    const struct s3m_errinfo *e = t->req[0]->ei.err ? &t->req[0]->ei : &t->req[1]->ei;
    struct s3m_verify_result res = {t->lane,
                                    t->key,
                                    t->size,
                                    t->etag,
                                    {t->key, t->dst_size, t->dst_etag, 0},
                                    false,
                                    false,
                                    NULL,
                                    true,
                                    NULL,
                                    t->unverified_why};
    if (e->err) {
        res.err = e;
    } else {
        res.src_tags = tags_of(t->req[0]);
        res.differ = tags_differ(res.src_tags, tags_of(t->req[1]));
    }
    t->done(&res, t->ud);
    tagcheck_free(t);
}

static char *join(const char *prefix, const char *rel)
{
    struct s3m_buf b;
    s3m_buf_init(&b);
    s3m_buf_printf(&b, "%s%s", prefix, rel);
    return s3m_buf_detach(&b);
}

bool s3m__tagcheck_start(const struct s3m_verify_env *env, const struct s3m_diff_item *it,
                         size_t lane, s3m_verify_cb done, void *ud, struct s3m_errinfo *ei)
{
    struct tagcheck *t = s3m_calloc(1, sizeof(*t));
    const char *key = it->src.key;
    t->lane = lane;
    t->key = s3m_strdup(key);
    t->size = it->src.size;
    snprintf(t->etag, sizeof(t->etag), "%s", it->src.etag);
    snprintf(t->dst_etag, sizeof(t->dst_etag), "%s", it->dst.etag);
    t->dst_size = it->dst.size;
    if (it->unverified)
        t->unverified_why = s3m_strdup(it->why ? it->why : "unverifiable");
    t->done = done;
    t->ud = ud;
    char *sk = join(env->src_prefix, key), *dk = join(env->dst_prefix, key);
    t->req[0] = s3m_s3_get_tagging(env->src, env->src_bucket, sk);
    t->req[1] = s3m_s3_get_tagging(env->dst, env->dst_bucket, dk);
    free(sk);
    free(dk);
    /* as verify.c: a side that fails to start keeps its error for tagcheck_done */
    t->running = 2;
    for (int i = 0; i < 2; i++)
        if (s3m_s3_submit(t->req[i], tagcheck_done, t))
            t->running--;
    if (t->running)
        return true;
    *ei = t->req[0]->ei;
    tagcheck_free(t);
    return false;
}

/* ---- the update: the source's tags written on the destination ---- */

struct tagwrite {
    char *key;
    s3m_tagwrite_cb done;
    void *ud;
};

static void tagwrite_done(struct s3m_s3_req *r, void *ud)
{
    struct tagwrite *w = ud;
    w->done(&r->ei, w->key, w->ud);
    s3m_s3_req_free(r);
    free(w->key);
    free(w);
}

bool s3m__tagwrite_start(const struct s3m_verify_env *env, const char *key,
                         const struct s3m_xml_tagging *tags, s3m_tagwrite_cb done, void *ud,
                         struct s3m_errinfo *ei)
{
    char *dk = join(env->dst_prefix, key);
    struct s3m_s3_req *r = tags->ntags ? s3m_s3_put_tagging(env->dst, env->dst_bucket, dk,
                                                            tags->tags, tags->ntags)
                                       : s3m_s3_clear_tagging(env->dst, env->dst_bucket, dk);
    free(dk);
    struct tagwrite *w = s3m_calloc(1, sizeof(*w));
    w->key = s3m_strdup(key);
    w->done = done;
    w->ud = ud;
    if (!s3m_s3_submit(r, tagwrite_done, w))
        return true;
    *ei = r->ei;
    s3m_s3_req_free(r);
    free(w->key);
    free(w);
    return false;
}
