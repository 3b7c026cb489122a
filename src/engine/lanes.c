/* lanes.c - a job's key ranges: each lane lists its range on both sides and merges it on its
 * own; the lanes give decisions in turn, and their report / plan lines come out in key order
 * (a later lane's lines wait in a spill file). The job pulls; a listing's news goes back to it
 * through the ready callback it handed in. */
#include "lanes_int.h"
#include "s3m/lister.h"
#include "s3m/util.h"

#include <stdlib.h>
#include <string.h>

struct lane {
    struct s3m_lister lsrc, ldst;
    struct s3m_diff diff;
    bool done;
    int verifies;                    /* --compare reads still out */
    FILE *spill_report, *spill_plan; /* its lines, until the lanes before it are through */
};

struct s3m_lanes {
    struct s3m_lanes_cfg cfg;
    struct lane *lanes;
    size_t n, next, ndone;
    size_t emit; /* lanes before it are reported; its lines go straight out */
};

/* ---- listers as merge streams (keys relative to the prefix) ---- */

static enum s3m_pull side_peek(void *ctx, struct s3m_entry *e)
{
    struct s3m_lister *l = ctx;
    const struct s3m_xml_object *o;
    switch (s3m_lister_peek(l, &o)) {
    case S3M_LIST_ENTRY:
        e->key = o->key + strlen(l->prefix); /* the lister checked the prefix */
        e->size = o->size;
        e->etag = o->etag ? o->etag : "";
        e->mtime = s3m_parse_time(o->last_modified);
        return S3M_PULL_ENTRY;
    case S3M_LIST_WAIT: return S3M_PULL_WAIT;
    case S3M_LIST_END: return S3M_PULL_END;
    default: return S3M_PULL_ERROR;
    }
}

static enum s3m_pull empty_peek(void *ctx, struct s3m_entry *e)
{
    (void)ctx, (void)e;
    return S3M_PULL_END;
}

static void side_advance(void *ctx)
{
    const struct s3m_xml_object *o;
    s3m_lister_next(ctx, &o);
}

static void on_ready(struct s3m_lister *l, void *ud)
{
    struct s3m_lanes *ls = ud;
    (void)l;
    ls->cfg.ready(ls->cfg.ud);
}

static char *join(const char *prefix, const char *rel)
{
    if (!rel)
        return NULL;
    struct s3m_buf b;
    s3m_buf_init(&b);
    s3m_buf_printf(&b, "%s%s", prefix, rel);
    return s3m_buf_detach(&b);
}

static void lane_start(struct s3m_lanes *ls, struct lane *ln, const char *lo, const char *hi)
{
    const struct s3m_lanes_cfg *c = &ls->cfg;
    char *slo = join(c->src_prefix, lo), *shi = join(c->src_prefix, hi);
    char *dlo = join(c->dst_prefix, lo), *dhi = join(c->dst_prefix, hi);
    s3m_lister_start_range(&ln->lsrc, c->src, c->src_bucket, c->src_prefix, slo, shi, c->max_keys,
                           on_ready, ls);
    struct s3m_stream dst_stream = {side_peek, side_advance, &ln->ldst};
    if (c->dst_absent)
        dst_stream.peek = empty_peek;
    else
        s3m_lister_start_range(&ln->ldst, c->dst, c->dst_bucket, c->dst_prefix, dlo, dhi,
                               c->max_keys, on_ready, ls);
    s3m_diff_init(&ln->diff, (struct s3m_stream){side_peek, side_advance, &ln->lsrc}, dst_stream,
                  c->filter, c->compare);
    free(slo), free(shi), free(dlo), free(dhi);
}

struct s3m_lanes *s3m__lanes_new(const struct s3m_lanes_cfg *cfg)
{
    struct s3m_lanes *ls = s3m_calloc(1, sizeof(*ls));
    ls->cfg = *cfg;
    ls->n = cfg->nlanes ? cfg->nlanes : 1;
    ls->lanes = s3m_calloc(ls->n, sizeof(*ls->lanes));
    for (size_t i = 0; i < ls->n; i++)
        lane_start(ls, &ls->lanes[i], cfg->nlanes ? cfg->bounds[i] : NULL,
                   cfg->nlanes ? cfg->bounds[i + 1] : NULL);
    return ls;
}

void s3m__lanes_free(struct s3m_lanes *ls)
{
    if (!ls)
        return;
    for (size_t i = 0; i < ls->n; i++) {
        struct lane *ln = &ls->lanes[i];
        if (ln->spill_report)
            fclose(ln->spill_report);
        if (ln->spill_plan)
            fclose(ln->spill_plan);
        s3m_lister_cleanup(&ln->lsrc);
        if (!ls->cfg.dst_absent)
            s3m_lister_cleanup(&ln->ldst);
    }
    free(ls->lanes);
    free(ls);
}

/* ---- the ordered report ----
 * The report and the plan come out in key order although the lanes are decided at the same
 * time. Memory does not grow; a failed tmpfile only costs the order. */

FILE *s3m__lanes_out(struct s3m_lanes *ls, size_t lane, FILE *direct, bool plan)
{
    if (!ls || !direct || lane == ls->emit || lane >= ls->n)
        return direct;
    struct lane *ln = &ls->lanes[lane];
    FILE **spill = plan ? &ln->spill_plan : &ln->spill_report;
    if (!*spill)
        *spill = tmpfile();
    return *spill ? *spill : direct;
}

static void copy_out(FILE **spill, FILE *to)
{
    if (!*spill)
        return;
    char buf[65536];
    size_t n;
    rewind(*spill);
    while ((n = fread(buf, 1, sizeof(buf), *spill)) > 0)
        fwrite(buf, 1, n, to);
    fclose(*spill);
    *spill = NULL;
}

void s3m__lanes_emit(struct s3m_lanes *ls, bool all)
{
    while (ls->emit < ls->n) {
        struct lane *ln = &ls->lanes[ls->emit];
        if (!all && !(ln->done && !ln->verifies))
            return;
        ls->emit++;
        if (ls->emit < ls->n) {
            copy_out(&ls->lanes[ls->emit].spill_report, ls->cfg.report);
            copy_out(&ls->lanes[ls->emit].spill_plan, ls->cfg.plan);
        }
    }
}

void s3m__lanes_verifying(struct s3m_lanes *ls, size_t lane, int delta)
{
    ls->lanes[lane].verifies += delta;
}

/* ---- decisions, one lane after the other ---- */

enum s3m_pull s3m__lanes_pull(struct s3m_lanes *ls, size_t *lane, struct s3m_diff_item *it)
{
    size_t idle = 0; /* lanes in a row that had nothing */
    while (idle < ls->n) {
        size_t i = ls->next;
        struct lane *ln = &ls->lanes[i];
        ls->next = (ls->next + 1) % ls->n;
        enum s3m_pull p = ln->done ? S3M_PULL_WAIT : s3m_diff_next(&ln->diff, it);
        if (p == S3M_PULL_WAIT) {
            idle++;
            continue;
        }
        if (p == S3M_PULL_END) {
            ln->done = true;
            ls->ndone++;
            s3m__lanes_emit(ls, false);
            if (ls->ndone == ls->n)
                return S3M_PULL_END;
            idle = 0;
            continue;
        }
        *lane = i;
        return p;
    }
    return S3M_PULL_WAIT;
}

void s3m__lanes_error(const struct s3m_lanes *ls, size_t lane, struct s3m_errinfo *ei, char *msg,
                      size_t n, const char **remote, const char **bucket)
{
    const struct lane *ln = &ls->lanes[lane];
    bool src_side = ln->lsrc.failed;
    const struct s3m_lister *l = src_side ? &ln->lsrc : &ln->ldst;
    *remote = (src_side ? ls->cfg.src : ls->cfg.dst)->remote->name;
    *bucket = l->bucket;
    *ei = l->ei;
    snprintf(msg, n, "listing %s:%s%s%s: %s", *remote, l->bucket, *l->prefix ? "/" : "", l->prefix,
             ei->message);
    size_t len = strlen(msg) < sizeof(ei->message) ? strlen(msg) : sizeof(ei->message) - 1;
    memcpy(ei->message, msg, len);
    ei->message[len] = 0;
}

bool s3m__lanes_busy(const struct s3m_lanes *ls)
{
    for (size_t i = 0; ls && i < ls->n; i++)
        if (s3m_lister_busy(&ls->lanes[i].lsrc) || s3m_lister_busy(&ls->lanes[i].ldst))
            return true;
    return false;
}

void s3m__lanes_stop(struct s3m_lanes *ls)
{
    for (size_t i = 0; i < ls->n; i++) {
        s3m_lister_stop(&ls->lanes[i].lsrc);
        s3m_lister_stop(&ls->lanes[i].ldst);
    }
}

void s3m__lanes_counts(const struct s3m_lanes *ls, struct s3m_lanes_counts *c)
{
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; ls && i < ls->n; i++) {
        c->nsrc += ls->lanes[i].diff.nsrc;
        c->ndst += ls->lanes[i].diff.ndst;
        c->src_scope += ls->lanes[i].diff.nsrc_scope;
        c->dst_scope += ls->lanes[i].diff.ndst_scope;
    }
}
