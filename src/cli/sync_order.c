/* sync_order.c - ordered copies and the change guard of a run: the tiers from --layout NAME and
 * --copy-last, --layout auto (one delimiter listing of each job's source folder, the preset it
 * looks like said on stdout and in the log), the run's --max-change decision and the per-tier
 * counts a dry run and -v show. The engine carries the tiers out (engine/defer.c). */
#include "cmd_sync.h"
#include "s3m/log.h"
#include "s3m/presets.h"
#include "s3m/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTO_PAGES 4 /* top-level names read by --layout auto: a few pages, bounded */

/* each --copy-last GLOB is one more tier, after those already there (a preset's) */
static int add_copy_last(const struct s3m_opts *o, struct s3m_tiers *t)
{
    for (int i = 0; i < o->copy_last.n; i++)
        if (!s3m_tiers_add(t, t->ntiers + 1, o->copy_last.v[i]))
            return s3m__usage_error(t->ntiers >= S3M_TIERS_MAX ? "--copy-last '%s': too many tiers"
                                                               : "--copy-last: malformed glob '%s'",
                                    o->copy_last.v[i]);
    return 0;
}

int s3m__order_init(struct s3m_order *ord, const struct s3m_opts *o, struct s3m_filter *f)
{
    memset(ord, 0, sizeof(*ord));
    s3m_tiers_init(&ord->tiers);
    ord->copy_last = &o->copy_last;
    ord->autodetect = o->layout && !strcmp(o->layout, "auto");
    char err[300];
    if (o->layout && !ord->autodetect &&
        !s3m_preset_apply(o->layout, &ord->tiers, f, err, sizeof(err)))
        return s3m__usage_error("--layout: %s", err);
    /* --layout auto adds a preset's tiers per job (4 at most today): leave them room */
    if (ord->autodetect && o->copy_last.n > S3M_TIERS_MAX - 8)
        return s3m__usage_error("--copy-last: at most %s with --layout auto", "56");
    return add_copy_last(o, &ord->tiers);
}

void s3m__order_cleanup(struct s3m_order *ord)
{
    s3m_tiers_cleanup(&ord->tiers);
}

void s3m__job_order_free(struct s3m_job_order *jo)
{
    if (!jo)
        return;
    s3m_tiers_cleanup(&jo->tiers);
    s3m_filter_cleanup(&jo->filter);
    free(jo);
}

/* one request on the loop, cancelled when the place's stop says so (S3M_EABORTED) */
struct stoppable {
    const struct s3m_job_place *jp;
    struct s3m_s3_req *r;
    bool done, cancelled;
};

static void stoppable_done(struct s3m_s3_req *r, void *ud)
{
    (void)r;
    ((struct stoppable *)ud)->done = true;
}

static bool stoppable_settled(void *ud)
{
    struct stoppable *s = ud;
    if (!s->done && !s->cancelled && s->jp->stop && s->jp->stop(s->jp->stop_ud)) {
        s->cancelled = true;
        s3m_s3_cancel(s->r);
    }
    return s->done;
}

static enum s3m_err run_stoppable(const struct s3m_job_place *jp, struct s3m_s3_req *r)
{
    struct stoppable s = {jp, r, false, false};
    enum s3m_err err = s3m_s3_submit(r, stoppable_done, &s);
    if (err)
        return err;
    if (!s3m_loop_run_until(jp->src->loop, stoppable_settled, &s))
        abort(); /* a submitted request always ends: its done callback is owed */
    return r->ei.err;
}

/* The top-level names under the source folder (keys and common prefixes, relative), as a
 * delimiter listing gives them: up to AUTO_PAGES pages. false (ei) when a page failed. */
static bool top_names(const struct s3m_job_place *jp, const char *bucket, const char *prefix,
                      char ***names, size_t *n, struct s3m_errinfo *ei)
{
    struct s3m_s3 *src = jp->src;
    size_t plen = strlen(prefix);
    char *token = NULL;
    bool ok = true;
    for (int page = 0; ok && page < AUTO_PAGES; page++) {
        struct s3m_s3_req *r = s3m_s3_list_objects(src, bucket, prefix, token, NULL, "/", 1000);
        ok = !run_stoppable(jp, r) && r->xml;
        if (!ok)
            *ei = r->ei;
        const struct s3m_xml_list *l = ok ? &r->xml->list : NULL;
        size_t more = l ? l->nobjects + l->nprefixes : 0;
        *names = s3m_realloc(*names, (*n + more + 1) * sizeof(char *));
        for (size_t i = 0; l && i < l->nobjects; i++)
            if (strlen(l->objects[i].key) > plen) /* not the folder's own marker */
                (*names)[(*n)++] = s3m_strdup(l->objects[i].key + plen);
        for (size_t i = 0; l && i < l->nprefixes; i++)
            if (strlen(l->common_prefixes[i]) > plen)
                (*names)[(*n)++] = s3m_strdup(l->common_prefixes[i] + plen);
        free(token);
        token = l && l->is_truncated && l->next_continuation_token
                  ? s3m_strdup(l->next_continuation_token)
                  : NULL;
        s3m_s3_req_free(r);
        if (!token)
            break;
    }
    free(token);
    return ok;
}

/* what --layout auto found, on stdout and in the log */
static void say(const char *msg)
{
    printf("%s\n", msg);
    fflush(stdout);
    if (!s3m_log_to_stderr()) /* the log file tells the whole story */
        s3m_log(S3M_LOG_NOTICE, "sync", "%s", msg);
}

/* --layout auto: the preset the job's source folder looks like (NULL: none, or several) */
static const char *detect(const struct s3m_job_place *jp, const char *where, const char *bucket,
                          const char *prefix, struct s3m_errinfo *ei)
{
    char **names = NULL, msg[2600];
    size_t n = 0, k = 0;
    const char *found[2] = {NULL, NULL};
    bool ok = top_names(jp, bucket, prefix, &names, &n, ei);
    if (ok)
        k = s3m_preset_candidates((const char *const *)names, n, found, 2);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (!ok)
        return NULL;
    if (k == 1)
        snprintf(msg, sizeof(msg), "layout auto: %s looks like %s", where, found[0]);
    else if (k > 1)
        snprintf(msg, sizeof(msg),
                 "layout auto: %s looks like %s and %s%s: copied without tiers (name one with "
                 "--layout)",
                 where, found[0], found[1], k > 2 ? " and more" : "");
    else
        snprintf(msg, sizeof(msg),
                 "layout auto: %s looks like no known layout: copied without "
                 "tiers",
                 where);
    say(msg);
    return k == 1 ? found[0] : NULL;
}

bool s3m__order_job(const struct s3m_order *ord, const struct s3m_filter *base,
                    const struct s3m_job_place *jp, struct s3m_sync_opts *so,
                    struct s3m_job_order **jo, struct s3m_sync_stats *total)
{
    struct s3m_errinfo ei;
    *jo = NULL;
    s3m_errinfo_clear(&ei);
    so->filter = base;
    so->tiers = ord->tiers.ntiers ? &ord->tiers : NULL;
    if (!ord->autodetect)
        return true;
    char where[2200];
    snprintf(where, sizeof(where), "%s:%s%s%s", jp->remote, jp->bucket, *jp->prefix ? "/" : "",
             jp->prefix);
    const char *name = detect(jp, where, jp->bucket, jp->prefix, &ei);
    if (ei.err == S3M_EABORTED && jp->stop && jp->stop(jp->stop_ud))
        return false; /* stopped (a signal, the deadline): the job starts stopped */
    if (ei.err) {     /* no guess: without its tiers the job could break the replica */
        char ctx[2400];
        snprintf(ctx, sizeof(ctx), "%s: --layout auto: listing %s", jp->label, where);
        s3m_cli_fail(ctx, &ei);
        total->listing_failed = true;
        if (!total->first_error.err)
            total->first_error = ei;
        return false;
    }
    struct s3m_job_order *j = s3m_calloc(1, sizeof(*j));
    s3m_tiers_init(&j->tiers);
    j->filter = *base; /* its size, age and shard limits; its rules copied below */
    j->filter.rules = NULL;
    j->filter.nrules = 0;
    j->filter.has_include = false;
    for (size_t i = 0; i < base->nrules; i++)
        s3m_filter_add(&j->filter, base->rules[i].include, base->rules[i].glob);
    char err[300];
    if (name && !s3m_preset_apply(name, &j->tiers, &j->filter, err, sizeof(err)))
        abort();                                /* a name the detection gave is a preset */
    for (int i = 0; i < ord->copy_last->n; i++) /* checked by s3m__order_init */
        if (!s3m_tiers_add(&j->tiers, j->tiers.ntiers + 1, ord->copy_last->v[i]))
            abort();
    so->filter = &j->filter;
    so->tiers = j->tiers.ntiers ? &j->tiers : NULL;
    *jo = j;
    return true;
}

/* ---- the run's --max-change decision, the counts per tier ---- */

const char *s3m__change_decide(const struct s3m_sync_opts *so, const struct s3m_change *c,
                               char *why, size_t n, bool *over)
{
    *over = false;
    if ((so->max_change < 0 && so->max_change_pct < 0) || so->mode == S3M_MODE_CHECK)
        return NULL; /* check changes nothing */
    if (s3m_plan_over_change(so->max_change, so->max_change_pct, c->nupd, c->ndel, c->ndst, why,
                             n)) {
        *over = true;
        s3m_log(S3M_LOG_ERROR, "sync", "%s: %s every update and deletion", why,
                so->dry_run ? "would refuse" : "refusing");
        if (so->dry_run) /* a real run's summary lines say it (what is NOT done, and why) */
            printf("dry run: %s: every update and deletion would be refused\n", why);
        return why;
    }
    if (!c->whole) { /* a count that is only a lower bound cannot clear the cap */
        snprintf(why, n,
                 "the run's changes are unknown (a listing did not complete, or it was "
                 "stopped): --max-change cannot be checked");
        return why;
    }
    s3m_log(S3M_LOG_INFO, "sync",
            "--max-change: %" PRIu64 " updates and %" PRIu64 " deletions of %" PRIu64
            " destination objects: within the cap",
            c->nupd, c->ndel, c->ndst);
    return NULL;
}

void s3m__tiers_report(const struct s3m_opts *o, const char *label, const struct s3m_sync *job)
{
    unsigned nt;
    const struct s3m_sync_counts *t = s3m_sync_tier_counts(job, &nt);
    if (!t)
        return;
    struct s3m_buf b;
    s3m_buf_init(&b);
    s3m_buf_printf(&b, "tiers %s: copies and updates", label);
    for (unsigned i = 0; i <= nt; i++) {
        char h[32];
        s3m_buf_printf(&b, "%s tier %u %" PRIu64 " (%s)", i ? "," : "", i, t[i].n,
                       s3m_cli_human(t[i].bytes, h, sizeof(h)));
    }
    if (job->st.held.n)
        s3m_buf_printf(&b, "; %" PRIu64 " held back", job->st.held.n);
    if (o->dry_run)
        printf("%s\n", s3m_buf_str(&b));
    else
        s3m_log(S3M_LOG_INFO, "stats", "%s", s3m_buf_str(&b));
    s3m_buf_cleanup(&b);
}
