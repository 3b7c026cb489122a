/* delete.c - the delete queue: deletions remembered on disk during the copies (every write
 * checked, the region read back before use) and sent in batches after the run's decision.
 * Outcomes go to the job's callbacks; the queue never decides whether to delete. */
#include "delete_int.h"
#include "s3m/log.h"
#include "s3m/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define DELETE_BATCH 1000

struct s3m_delq {
    FILE **shared;
    FILE *f;                         /* keys to delete, "size\0key\0etag\0", NULL until the first */
    bool own;                        /* ... the queue's own file (no shared one) */
    off_t start, end;                /* the job's region of it */
    uint64_t pending, pending_bytes; /* entries written */
    /* the batch being sent */
    char **batch, **etags;
    uint64_t *sizes;
    bool *skip;   /* the before hook kept this key (its backup failed) */
    bool single;  /* the batch is one key XML cannot carry: DeleteObject */
    bool *failed; /* the server said it could not delete this key */
    size_t n;
    struct s3m_s3 *dst;
    const char *bucket, *prefix;
    const struct s3m_delq_cbs *cbs;
    void *ud;
    /* ordered copies: one pass over the region per tier, the highest first (s3m__delq_order) */
    const struct s3m_tiers *tiers;
    const char *label;
    unsigned tier;    /* the pass's */
    bool pass_failed; /* a deletion of this pass failed: no lower tier's is sent */
};

struct s3m_delq *s3m__delq_new(FILE **shared)
{
    struct s3m_delq *q = s3m_calloc(1, sizeof(*q));
    q->shared = shared;
    return q;
}

static void free_batch(struct s3m_delq *q)
{
    for (size_t i = 0; i < q->n; i++) {
        free(q->batch[i]);
        free(q->etags[i]);
        q->failed[i] = q->skip[i] = false;
    }
    q->n = 0;
}

void s3m__delq_free(struct s3m_delq *q)
{
    if (!q)
        return;
    if (q->f && q->own)
        fclose(q->f); /* a shared one is the caller's */
    if (q->batch)
        free_batch(q);
    free(q->batch);
    free(q->etags);
    free(q->skip);
    free(q->sizes);
    free(q->failed);
    free(q);
}

static bool fail(struct s3m_errinfo *ei)
{
    s3m_errinfo_set(ei, S3M_EIO, "delete list (temporary file): %s", strerror(errno));
    return false;
}

/* the run's one list, each job's entries in a region of their own (the jobs run one after the
 * other): one descriptor for any number of buckets */
static bool open_list(struct s3m_delq *q, struct s3m_errinfo *ei)
{
    long long start;
    if (!(q->f = s3m_spill_region(q->shared, &q->own, &start)))
        return fail(ei);
    q->start = q->end = (off_t)start;
    return true;
}

/* The delete list is the one thing on disk a deletion rests on: a short write (a full temp
 * dir, a file-size limit) could glue two keys into one never meant to be deleted. */
bool s3m__delq_add(struct s3m_delq *q, const struct s3m_entry *e, struct s3m_errinfo *ei)
{
    if (!q->f && !open_list(q, ei))
        return false;
    int n = fprintf(q->f, "%" PRIu64 "%c%s%c%s%c", e->size, 0, e->key, 0, e->etag ? e->etag : "",
                    0);
    if (n < 0 || ferror(q->f))
        return fail(ei);
    q->pending++;
    q->pending_bytes += e->size;
    return true;
}

bool s3m__delq_seal(struct s3m_delq *q, struct s3m_errinfo *ei)
{
    if (q->f && (q->end = ftello(q->f)) < 0)
        return fail(ei);
    return true;
}

/* one NUL-terminated field; false at the end of the file */
static bool read_field(FILE *f, struct s3m_buf *b)
{
    int c;
    s3m_buf_reset(b);
    while ((c = fgetc(f)) != EOF && c)
        s3m_buf_addc(b, (char)c);
    return c == 0;
}

/* one entry (etag may be NULL: not wanted) */
static bool read_entry(FILE *f, struct s3m_buf *size, struct s3m_buf *key, struct s3m_buf *etag)
{
    struct s3m_buf skip;
    s3m_buf_init(&skip);
    bool ok = read_field(f, size) && read_field(f, key) && read_field(f, etag ? etag : &skip);
    s3m_buf_cleanup(&skip);
    return ok;
}

/* count and add up the region's entries; false when one is malformed or the region does not
 * end exactly between two */
static bool read_region(struct s3m_delq *q, uint64_t *count, uint64_t *bytes)
{
    struct s3m_buf size, key;
    s3m_buf_init(&size);
    s3m_buf_init(&key);
    bool ok = true;
    for (;;) {
        off_t pos = ftello(q->f);
        if (pos < 0 || pos > q->end) {
            ok = false;
            break;
        }
        if (pos == q->end)
            break;
        if (!read_entry(q->f, &size, &key, NULL)) { /* an entry cut short */
            ok = false;
            break;
        }
        const char *sz = s3m_buf_str(&size);
        ok = size.len && size.len < 21 && strspn(sz, "0123456789") == size.len;
        (*count)++;
        if (!ok)
            break;
        *bytes += strtoull(sz, NULL, 10);
    }
    /* a clean end, between entries, exactly where the job's region ends */
    ok = ok && !ferror(q->f) && ftello(q->f) == q->end;
    s3m_buf_cleanup(&size);
    s3m_buf_cleanup(&key);
    return ok;
}

bool s3m__delq_check(struct s3m_delq *q, uint64_t n, uint64_t bytes, char *why, size_t wn)
{
    if (!q->f) {
        snprintf(why, wn, "no delete list for %" PRIu64 " deletion(s)", n);
        return false;
    }
    if (fflush(q->f) || ferror(q->f)) {
        snprintf(why, wn, "writing it failed: %s", strerror(errno));
        return false;
    }
    if (fseeko(q->f, q->start, SEEK_SET)) {
        snprintf(why, wn, "seeking in it failed: %s", strerror(errno));
        return false;
    }
    uint64_t count = 0, sum = 0;
    bool ok = read_region(q, &count, &sum);
    if (!ok || count != q->pending || count != n || sum != q->pending_bytes || sum != bytes) {
        snprintf(why, wn,
                 "it reads back as %" PRIu64 " entries (%" PRIu64 " bytes)%s where %" PRIu64
                 " (%" PRIu64 " bytes) were decided",
                 count, sum, ok ? "" : ", malformed", n, bytes);
        return false;
    }
    if (fseeko(q->f, q->start, SEEK_SET)) {
        snprintf(why, wn, "seeking in it failed: %s", strerror(errno));
        return false;
    }
    return true;
}

/* ---- sending ---- */

static void send_next(struct s3m_delq *q);

/* the keys of this batch the server named as not deleted, each once (a server that names other
 * keys, or one key twice, cannot make a count wrap) */
static void note_key_errors(struct s3m_delq *q, const struct s3m_xml_delete *d)
{
    for (size_t i = 0; i < d->nerrors; i++) {
        const struct s3m_xml_deleted *e = &d->errors[i];
        for (size_t k = 0; e->key && k < q->n; k++)
            if (!q->failed[k] && !strcmp(q->batch[k], e->key)) {
                q->failed[k] = true; /* a key named twice is counted once */
                break;
            }
        q->cbs->key_failed(q->ud, e->key, e->code ? e->code : "", e->message ? e->message : "");
    }
}

static void batch_done(struct s3m_s3_req *r, void *ud)
{
    struct s3m_delq *q = ud;
    if (r->ei.err || (r->xml && r->xml->kind == S3M_XML_DELETE && r->xml->del.nerrors))
        q->pass_failed = true;
    if (r->ei.err) {
        q->cbs->batch_failed(q->ud, q->n, &r->ei, true);
    } else {
        if (r->xml && r->xml->kind == S3M_XML_DELETE)
            note_key_errors(q, &r->xml->del);
        size_t plen = strlen(q->prefix);
        for (size_t k = 0; k < q->n; k++)
            if (!q->failed[k])
                q->cbs->deleted(q->ud, q->batch[k] + plen, q->sizes[k]);
    }
    s3m_s3_req_free(r);
    free_batch(q);
    send_next(q);
}

/* XML 1.0 cannot carry these bytes: such keys are deleted one by one */
static bool xml_safe(const char *k)
{
    for (; *k; k++) {
        unsigned char c = (unsigned char)*k;
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            return false;
    }
    return true;
}

static char *join(const char *prefix, const char *rel)
{
    struct s3m_buf b;
    s3m_buf_init(&b);
    s3m_buf_printf(&b, "%s%s", prefix, rel);
    return s3m_buf_detach(&b);
}

/* the next batch from the list; true: a key to delete alone (not XML-safe) */
static bool fill_batch(struct s3m_delq *q)
{
    struct s3m_buf size, key, etag;
    s3m_buf_init(&size);
    s3m_buf_init(&key);
    s3m_buf_init(&etag);
    bool single = false;
    while (q->n < DELETE_BATCH && ftello(q->f) < q->end && read_entry(q->f, &size, &key, &etag)) {
        if (q->tiers && s3m_tiers_of(q->tiers, s3m_buf_str(&key)) != q->tier)
            continue; /* another tier's pass */
        char *full = join(q->prefix, s3m_buf_str(&key));
        if (!xml_safe(full) && q->n) { /* send the batch first, then this key on its own */
            fseek(q->f, -(long)(size.len + key.len + etag.len + 3), SEEK_CUR);
            free(full);
            break;
        }
        q->sizes[q->n] = strtoull(s3m_buf_str(&size), NULL, 10);
        q->etags[q->n] = s3m_strdup(s3m_buf_str(&etag));
        q->batch[q->n++] = full;
        if (!xml_safe(full)) {
            single = true;
            break;
        }
    }
    s3m_buf_cleanup(&size);
    s3m_buf_cleanup(&key);
    s3m_buf_cleanup(&etag);
    return single;
}

/* the pass is through: the next lower tier's, when every deletion of this one succeeded
 * (pointers go before the data they name: data deleted while its pointer stays breaks the
 * replica); false when there is none */
static bool next_pass(struct s3m_delq *q)
{
    if (!q->tiers || !q->tier)
        return false;
    if (q->pass_failed) {
        s3m_log(S3M_LOG_NOTICE, "sync",
                "%s: deletions of tier %u and lower not sent: one of tier %u failed", q->label,
                q->tier - 1, q->tier);
        return false;
    }
    q->tier--;
    return !fseeko(q->f, q->start, SEEK_SET);
}

/* --backup-dir: the keys whose move failed stay (and are not deleted) */
static void drop_skipped(struct s3m_delq *q)
{
    size_t k = 0;
    for (size_t i = 0; i < q->n; i++) {
        if (q->skip[i]) {
            free(q->batch[i]);
            free(q->etags[i]);
            q->skip[i] = false;
            q->pass_failed = true; /* its pointer stays: the lower tiers' data too */
            continue;
        }
        q->batch[k] = q->batch[i];
        q->etags[k] = q->etags[i];
        q->sizes[k++] = q->sizes[i];
    }
    q->n = k;
}

static void send_batch(void *ud)
{
    struct s3m_delq *q = ud;
    drop_skipped(q);
    if (!q->n) {
        send_next(q);
        return;
    }
    struct s3m_s3_req *r = q->single ? s3m_s3_delete_object(q->dst, q->bucket, q->batch[0])
                                     : s3m_s3_delete_objects(q->dst, q->bucket,
                                                             (const char *const *)q->batch, q->n);
    if (s3m_s3_submit(r, batch_done, q)) {
        q->cbs->batch_failed(q->ud, q->n, &r->ei, false);
        s3m_s3_req_free(r);
        free_batch(q);
        q->cbs->done(q->ud);
    }
}

static void send_next(struct s3m_delq *q)
{
    if (q->cbs->stopped(q->ud)) { /* interrupted between batches: no further deletes */
        q->cbs->done(q->ud);
        return;
    }
    q->single = fill_batch(q);
    while (!q->n && next_pass(q))
        q->single = fill_batch(q);
    if (!q->n) {
        q->cbs->done(q->ud);
        return;
    }
    struct s3m_delq_batch b = {q->batch, q->etags, q->sizes, q->skip, q->n};
    if (!q->cbs->before || !q->cbs->before(q->ud, &b, send_batch, q))
        send_batch(q);
}

void s3m__delq_order(struct s3m_delq *q, const struct s3m_tiers *tiers, const char *label)
{
    q->tiers = tiers && tiers->ntiers ? tiers : NULL;
    q->tier = q->tiers ? q->tiers->ntiers : 0;
    q->label = label;
}

bool s3m__delq_run(struct s3m_delq *q, struct s3m_s3 *dst, const char *bucket, const char *prefix,
                   const struct s3m_delq_cbs *cbs, void *ud, struct s3m_errinfo *ei)
{
    if (!q->f || fseeko(q->f, q->start, SEEK_SET))
        return fail(ei);
    q->dst = dst;
    q->bucket = bucket;
    q->prefix = prefix;
    q->cbs = cbs;
    q->ud = ud;
    q->batch = s3m_calloc(DELETE_BATCH, sizeof(char *));
    q->etags = s3m_calloc(DELETE_BATCH, sizeof(char *));
    q->skip = s3m_calloc(DELETE_BATCH, sizeof(bool));
    q->sizes = s3m_calloc(DELETE_BATCH, sizeof(uint64_t));
    q->failed = s3m_calloc(DELETE_BATCH, sizeof(bool));
    send_next(q);
    return true;
}
