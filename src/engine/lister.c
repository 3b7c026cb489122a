/* lister.c - ListObjectsV2 paging with one page of read-ahead and the safety checks a sync
 * depends on (strict key order, keys inside the prefix, a sane continuation). */
#include "s3m/lister.h"
#include "s3m/log.h"
#include "s3m/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void request_next(struct s3m_lister *l);

/* A page request's user data: the lister it reads for, or NULL once the lister is gone
 * (s3m_lister_cleanup while it was in flight): the request then only frees itself. The lister
 * is not the user data itself because it may be freed before the request ends. */
struct page_req {
    struct s3m_lister *l;
};

static void fail_list(struct s3m_lister *l, const struct s3m_errinfo *ei)
{
    l->failed = true;
    l->more = false;
    if (ei)
        l->ei = *ei;
}

/* Check the page's keys before anybody sees them. */
static bool check_page(struct s3m_lister *l, const struct s3m_xml_list *page)
{
    size_t plen = strlen(l->prefix);
    for (size_t i = 0; i < page->nobjects; i++) {
        const char *k = page->objects[i].key;
        if (strncmp(k, l->prefix, plen)) {
            s3m_errinfo_set(&l->ei, S3M_EUNSORTED,
                            "listing of %s returned key '%s' outside prefix '%s'", l->bucket, k,
                            l->prefix);
            return false;
        }
        if (l->last_key && strcmp(k, l->last_key) <= 0) {
            s3m_errinfo_set(&l->ei, S3M_EUNSORTED,
                            "listing of %s is not in strictly increasing key order ('%s' after "
                            "'%s'); refusing to go on",
                            l->bucket, k, l->last_key);
            return false;
        }
        free(l->last_key);
        l->last_key = s3m_strdup(k);
    }
    return true;
}

/* The page's continuation: whether there is more, and a server that would not progress. */
static void take_continuation(struct s3m_lister *l, const struct s3m_xml_list *page)
{
    const char *next = page->next_continuation_token && *page->next_continuation_token
                         ? page->next_continuation_token
                         : NULL;
    /* an empty truncated page: the same token again would ask the same question
     * forever; a run of new ones is bounded */
    bool same = next && l->token && !strcmp(next, l->token);
    l->empty_pages = page->nobjects ? 0 : l->empty_pages + 1;
    free(l->token);
    l->token = next ? s3m_strdup(next) : NULL;
    l->more = page->is_truncated;
    if (l->hi && page->nobjects && strcmp(page->objects[page->nobjects - 1].key, l->hi) >= 0)
        l->more = false; /* the range ends in this page */
    if (l->more && !l->token && !page->nobjects) {
        s3m_errinfo_set(&l->ei, S3M_ES3,
                        "listing of %s: truncated page with neither "
                        "keys nor continuation token",
                        l->bucket);
        fail_list(l, NULL);
    } else if (l->more && !page->nobjects && same) {
        s3m_errinfo_set(&l->ei, S3M_ES3,
                        "listing of %s: truncated page without keys "
                        "and with the continuation token it was asked with; refusing "
                        "to loop",
                        l->bucket);
        fail_list(l, NULL);
    } else if (l->more && l->empty_pages >= S3M_LIST_MAX_EMPTY_PAGES) {
        s3m_errinfo_set(&l->ei, S3M_ES3,
                        "listing of %s: %d truncated pages in a row "
                        "without keys; giving up",
                        l->bucket, S3M_LIST_MAX_EMPTY_PAGES);
        fail_list(l, NULL);
    }
}

/* A page arrived: checked, kept (to be consumed now, or read ahead), the next one asked for. */
static void take_page(struct s3m_lister *l, struct s3m_xml_result *x)
{
    const struct s3m_xml_list *page = &x->list;
    l->pages_done++;
    if (!check_page(l, page)) { /* check_page filled l->ei */
        fail_list(l, NULL);
        s3m_xml_result_free(x);
        return;
    }
    take_continuation(l, page);
    if (l->pages[0])
        l->pages[1] = x;
    else
        l->pages[0] = x, l->pos = 0;
    if (l->more && !l->pages[1])
        request_next(l); /* read ahead while the consumer works */
}

static void on_page(struct s3m_s3_req *r, void *ud)
{
    struct page_req *pr = ud;
    struct s3m_lister *l = pr->l;
    free(pr);
    if (!l) { /* orphaned: nobody waits for this page */
        s3m_s3_req_free(r);
        return;
    }
    l->inflight = NULL;
    if (r->ei.err) {
        fail_list(l, &r->ei);
    } else {
        struct s3m_xml_result *x = r->xml;
        r->xml = NULL;
        take_page(l, x);
    }
    s3m_s3_req_free(r);
    if (l->ready)
        l->ready(l, l->ud);
}

static void request_next(struct s3m_lister *l)
{
    /* without a token (a server that truncates without one) continue after the last key */
    const char *start_after = l->token ? NULL : l->last_key ? l->last_key : l->start_after;
    struct s3m_s3_req *r = s3m_s3_list_objects(l->c, l->bucket, l->prefix, l->token, start_after,
                                               NULL, l->max_keys);
    struct page_req *pr = s3m_calloc(1, sizeof(*pr));
    pr->l = l;
    l->inflight = r;
    if (s3m_s3_submit(r, on_page, pr)) { /* done never runs */
        free(pr);
        fail_list(l, &r->ei);
        l->inflight = NULL;
        s3m_s3_req_free(r);
    }
}

char *s3m_key_before(const char *s)
{
    size_t n = 0;
    while (s[n] && (unsigned char)s[n] >= 0x20)
        n++;
    if (s[n]) /* a control character: cut before it (a prefix of s, so below it) */
        return s3m_strndup(s, n);
    while (n > 0 && ((unsigned char)s[n - 1] & 0xC0) == 0x80) /* continuation bytes */
        n--;
    if (n > 0)
        n--;
    return s3m_strndup(s, n);
}

void s3m_lister_start(struct s3m_lister *l, struct s3m_s3 *c, const char *bucket,
                      const char *prefix, int max_keys, s3m_lister_ready_cb ready, void *ud)
{
    s3m_lister_start_range(l, c, bucket, prefix, NULL, NULL, max_keys, ready, ud);
}

void s3m_lister_start_range(struct s3m_lister *l, struct s3m_s3 *c, const char *bucket,
                            const char *prefix, const char *lo, const char *hi, int max_keys,
                            s3m_lister_ready_cb ready, void *ud)
{
    memset(l, 0, sizeof(*l));
    if (lo && *lo) {
        l->lo = s3m_strdup(lo);
        l->start_after = s3m_key_before(lo);
        if (!*l->start_after) {
            free(l->start_after);
            l->start_after = NULL;
        }
    }
    if (hi)
        l->hi = s3m_strdup(hi);
    l->c = c;
    l->bucket = s3m_strdup(bucket);
    l->prefix = s3m_strdup(prefix ? prefix : "");
    l->max_keys = max_keys;
    l->ready = ready;
    l->ud = ud;
    l->more = true;
    request_next(l);
}

enum s3m_lister_state s3m_lister_peek(struct s3m_lister *l, const struct s3m_xml_object **obj)
{
    for (;;) {
        if (l->failed)
            return S3M_LIST_ERROR;
        struct s3m_xml_result *p = l->pages[0];
        if (l->past_hi)
            return S3M_LIST_END;
        if (p && l->pos < p->list.nobjects) {
            const struct s3m_xml_object *o = &p->list.objects[l->pos];
            if (l->lo) { /* keys between start-after and lo are skipped; once past it, done */
                if (strcmp(o->key, l->lo) < 0) {
                    l->pos++;
                    continue;
                }
                free(l->lo);
                l->lo = NULL;
            }
            if (l->hi && strcmp(o->key, l->hi) >= 0) {
                l->past_hi = true;
                continue;
            }
            *obj = o;
            return S3M_LIST_ENTRY;
        }
        if (p) { /* page used up: drop it, promote the read-ahead page */
            s3m_xml_result_free(p);
            l->pages[0] = l->pages[1];
            l->pages[1] = NULL;
            l->pos = 0;
            if (l->more && !l->inflight)
                request_next(l);
            continue;
        }
        return l->more || l->inflight ? S3M_LIST_WAIT : S3M_LIST_END;
    }
}

enum s3m_lister_state s3m_lister_next(struct s3m_lister *l, const struct s3m_xml_object **obj)
{
    enum s3m_lister_state st = s3m_lister_peek(l, obj);
    if (st == S3M_LIST_ENTRY) {
        l->pos++;
        l->keys_done++;
    }
    return st;
}

bool s3m_lister_busy(const struct s3m_lister *l)
{
    return l->inflight != NULL;
}

void s3m_lister_stop(struct s3m_lister *l)
{
    if (l->inflight)
        s3m_s3_cancel(l->inflight);
}

void s3m_lister_cleanup(struct s3m_lister *l)
{
    if (l->inflight) { /* let it finish on its own and free itself */
        ((struct page_req *)l->inflight->ud)->l = NULL; /* the ud this lister submitted it with */
        s3m_s3_cancel(l->inflight);
    }
    s3m_xml_result_free(l->pages[0]);
    s3m_xml_result_free(l->pages[1]);
    free(l->bucket);
    free(l->prefix);
    free(l->token);
    free(l->last_key);
    free(l->lo);
    free(l->hi);
    free(l->start_after);
    memset(l, 0, sizeof(*l));
}
