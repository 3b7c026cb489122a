/* backup.c - the quarantine's engine side: --backup-dir moves the destination's objects into the
 * backup before the job deletes or overwrites them (see backup_int.h), and the lines that say
 * so (with --immutable's refusals). Each move is one s3m_xfer, server-side on the destination
 * endpoint (source and destination both the destination's client), pinned to the listed ETag;
 * a delete batch's moves run --transfers at once; a key whose move failed leaves the batch. */
#include "backup_int.h"
#include "s3m/log.h"
#include "s3m/util.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The batch side drives control (one set_state); single moves for updates need no state. */
enum backup_state {
    B_IDLE,  /* no delete batch being moved */
    B_BATCH, /* a delete batch's moves run; the queue waits for resume */
};
static const char *const state_names[] = {"IDLE", "BATCH"};

#define BF_FAILED 1u /* a delete batch's move failed: no further batch */

/* what the moves need of the job: its destination and counters */
struct backup_env {
    struct s3m_s3 *dst;
    const char *dst_bucket, *dst_prefix, *label;
    const struct s3m_backup_cfg *cfg;
    int transfers; /* moves in flight at once for a delete batch */
    struct s3m_sync_stats *st;
};

struct s3m_backup {
    struct backup_env env;
    struct s3m_xfer_ctx xctx; /* source and destination: the destination's client */
    enum backup_state state;
    unsigned flags;
    /* the delete batch being moved */
    struct s3m_delq_batch batch; /* its arrays are the queue's */
    size_t next, active;
    void (*resume)(void *rud);
    void *rud;
};

struct move {
    struct s3m_backup *b;
    size_t idx; /* in the batch; SIZE_MAX: an update's, then its copy */
    struct s3m_xfer_ctx *xctx;
    struct s3m_backup_copy c; /* owned copies of the strings */
};

static void set_state(struct s3m_backup *b, enum backup_state st)
{
    s3m_log(S3M_LOG_DEBUG, "backup", "%s: %s -> %s", b->env.label, state_names[b->state],
            state_names[st]);
    b->state = st;
}

struct s3m_backup *s3m__backup_new(struct s3m_sync *s)
{
    if (!s->o.backup || s->o.mode == S3M_MODE_CHECK) /* check changes nothing */
        return NULL;
    struct s3m_backup *b = s3m_calloc(1, sizeof(*b));
    b->env = (struct backup_env){s->dst,      s->dst_bucket,  s->dst_prefix, s->label,
                                 s->o.backup, s->o.transfers, &s->st};
    s3m_xfer_ctx_init(&b->xctx, s->dst, s->dst);
    b->xctx.server_side = true; /* the same endpoint and credentials: checked by the caller */
    b->xctx.part_concurrency = s->xctx.part_concurrency;
    b->xctx.attempts = s->xctx.attempts;
    b->xctx.single_max = s->xctx.single_max;
    b->xctx.chunk_size = s->xctx.chunk_size;
    b->state = B_IDLE;
    return b;
}

void s3m__backup_free(struct s3m_backup *b)
{
    if (!b)
        return;
    assert(!b->xctx.xfers); /* no move in flight */
    s3m_xfer_ctx_close(&b->xctx);
    free(b);
}

void s3m__backup_stop(struct s3m_backup *b)
{
    if (b)
        s3m_xfer_ctx_stop(&b->xctx);
}

bool s3m__backup_failed(const struct s3m_backup *b)
{
    return b && (b->flags & BF_FAILED);
}

static char *backup_key(const struct s3m_backup *b, const char *rel)
{
    const struct s3m_backup_cfg *c = b->env.cfg;
    return s3m_plan_backup_key(c->prefix, rel, c->suffix, c->keep_extension);
}

const char *s3m__backup_why(const struct s3m_sync *s, enum s3m_plan_act act, const char *rel,
                            const char *why, bool dry_run, char *out, size_t n)
{
    const struct s3m_backup *b = s->backup;
    if (act == S3M_PLAN_REFUSE)
        s3m_log(S3M_LOG_ERROR, "sync", "%s: %s%s: not updated (--immutable): %s", s->label,
                s->dst_prefix, rel, why);
    if (!b || (act != S3M_PLAN_DELETE && act != S3M_PLAN_UPDATE))
        return why;
    char *k = backup_key(b, rel);
    snprintf(out, n, "%s; %smoved first to %s/%s", why, dry_run ? "would be " : "",
             b->env.cfg->bucket, k);
    free(k);
    return out;
}

/* ---- one move ---- */

static void moved(struct s3m_xfer *x, void *ud);

static void move_start(struct s3m_backup *b, struct move *m, const char *rel, uint64_t size,
                       const char *etag)
{
    struct s3m_buf src;
    s3m_buf_init(&src);
    s3m_buf_printf(&src, "%s%s", b->env.dst_prefix, rel);
    char *bk = backup_key(b, rel);
    s3m_xfer_start(&b->xctx, b->env.dst_bucket, s3m_buf_str(&src), b->env.cfg->bucket, bk, size,
                   etag, moved, m);
    free(bk);
    s3m_buf_cleanup(&src);
}

/* a move the run's deadline stopped (--max-duration): left for the next run, no failure */
static bool stopped_by_cutoff(const struct s3m_backup *b, const struct s3m_xfer *x)
{
    return x->ei.err == S3M_EABORTED && b->env.st->cut_off;
}

/* the outcome, logged and counted: a failed move leaves its object as it is */
static void move_report(struct s3m_backup *b, const struct s3m_xfer *x, bool del)
{
    if (!x->ei.err) {
        b->env.st->backed_up++;
        b->env.st->backed_up_bytes += x->size;
        s3m_log(S3M_LOG_INFO, "backup", "moved %s to %s/%s (%" PRIu64 " bytes) before %s",
                x->src_key, x->dst_bucket, x->dst_key, x->size,
                del ? "deleting it" : "updating it");
        return;
    }
    if (stopped_by_cutoff(b, x)) {
        s3m_log(S3M_LOG_INFO, "backup", "%s: moving %s stopped by the cut-off: not %s",
                b->env.label, x->src_key, del ? "deleted" : "overwritten");
        return;
    }
    char line[900];
    s3m_plan_note_error(b->env.st, &x->ei);
    struct s3m_log_fields lf = {b->env.dst->remote->name, x->src_bucket, x->src_key, &x->ei};
    s3m_logf(S3M_LOG_ERROR, "backup", &lf, "%s: moving %s to %s/%s failed, not %s: %s",
             b->env.label, x->src_key, x->dst_bucket, x->dst_key, del ? "deleted" : "overwritten",
             s3m_errinfo_str(&x->ei, line, sizeof(line)));
}

static void batch_pump(struct s3m_backup *b);

static void move_free(struct move *m)
{
    free((char *)m->c.src_bucket);
    free((char *)m->c.src_key);
    free((char *)m->c.dst_bucket);
    free((char *)m->c.dst_key);
    free((char *)m->c.etag);
    free(m);
}

/* an update's move is through: its copy starts, or it fails with the move's error */
static void update_moved(struct move *m, struct s3m_xfer *x)
{
    const struct s3m_backup_copy *c = &m->c;
    if (x->ei.err) {
        c->done(x, c->ud); /* the caller frees x */
    } else {
        s3m_xfer_free(x);
        s3m_xfer_start(m->xctx, c->src_bucket, c->src_key, c->dst_bucket, c->dst_key, c->size,
                       c->etag, c->done, c->ud);
    }
    move_free(m);
}

static void moved(struct s3m_xfer *x, void *ud)
{
    struct move *m = ud;
    struct s3m_backup *b = m->b;
    bool update = m->idx == SIZE_MAX;
    move_report(b, x, !update);
    if (update) {
        update_moved(m, x);
        return;
    }
    if (x->ei.err) { /* kept on the destination; the run's deletions stop after this batch */
        b->batch.skip[m->idx] = true;
        b->env.st->delete_errors += !stopped_by_cutoff(b, x);
        b->flags |= BF_FAILED;
    }
    s3m_xfer_free(x);
    move_free(m);
    b->active--;
    batch_pump(b);
}

bool s3m__backup_then_copy(struct s3m_backup *b, struct s3m_xfer_ctx *xctx,
                           const struct s3m_entry *old, const struct s3m_backup_copy *c)
{
    if (!b)
        return false;
    struct move *m = s3m_calloc(1, sizeof(*m));
    m->b = b;
    m->idx = SIZE_MAX;
    m->xctx = xctx;
    m->c = (struct s3m_backup_copy){s3m_strdup(c->src_bucket),
                                    s3m_strdup(c->src_key),
                                    s3m_strdup(c->dst_bucket),
                                    s3m_strdup(c->dst_key),
                                    c->size,
                                    s3m_strdup(c->etag ? c->etag : ""),
                                    c->done,
                                    c->ud};
    move_start(b, m, old->key, old->size, old->etag);
    return true;
}

/* ---- a delete batch ---- */

static void batch_pump(struct s3m_backup *b)
{
    struct s3m_delq_batch *d = &b->batch;
    size_t plen = strlen(b->env.dst_prefix), most = b->env.transfers > 0 ? b->env.transfers : 1;
    if (b->xctx.stopping) /* what was not moved stays */
        for (; b->next < d->n; b->next++)
            d->skip[b->next] = true;
    while (b->next < d->n && b->active < most) {
        struct move *m = s3m_calloc(1, sizeof(*m));
        m->b = b;
        m->idx = b->next++;
        b->active++;
        move_start(b, m, d->keys[m->idx] + plen, d->sizes[m->idx], d->etags[m->idx]);
    }
    if (b->active)
        return;
    for (size_t i = 0; b->xctx.stopping && i < d->n; i++) /* stopped: this batch deletes nothing */
        d->skip[i] = true;
    set_state(b, B_IDLE);
    b->resume(b->rud); /* from a move's callback: never from inside s3m__backup_batch */
}

bool s3m__backup_batch(void *ud, struct s3m_delq_batch *batch, void (*resume)(void *rud), void *rud)
{
    struct s3m_backup *b = ((struct s3m_sync *)ud)->backup;
    if (!b)
        return false;
    assert(b->state == B_IDLE && batch->n > 0);
    size_t plen = strlen(b->env.dst_prefix);
    for (size_t i = 0; i < batch->n; i++) { /* the queue's keys are the destination prefix's */
        assert(!strncmp(batch->keys[i], b->env.dst_prefix, plen));
        batch->skip[i] = b->xctx.stopping; /* stopped: nothing moved, nothing deleted */
    }
    if (b->xctx.stopping)
        return false;
    set_state(b, B_BATCH);
    b->batch = *batch;
    b->next = b->active = 0;
    b->resume = resume;
    b->rud = rud;
    batch_pump(b);
    return true;
}
