/* defer.c - a job's waiting copies: spooled on disk while the listings run (every write
 * checked, the region read back and counted before use), then run tier after tier once the run
 * has decided (SPOOLING -> TAKING <-> DRAINING ... -> DONE). A tier starts only when every
 * transfer before it succeeded; the job says what counts as a failure and hears of each outcome
 * through its callbacks. Memory does not grow with the number of waiting objects. */
#include "defer_int.h"
#include "s3m/log.h"
#include "s3m/util.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define NFIELDS                                                                                    \
    7                   /* act and tier, size, source ETag, key (relative), why, what the plan saw
                   * of the destination: its ETag and size (apply checks them) */
#define FIELD_MAX 4096u /* longer than any key (1024) or reason: a field past it is damage */

enum defer_state {
    D_SPOOLING, /* the copy phase: decisions are written to the spool */
    D_TAKING,   /* the current tier's entries are read and started while there is room */
    D_DRAINING, /* ... all read: its transfers in flight end, then the next tier */
    D_DONE,
};
static const char *const state_names[] = {"SPOOLING", "TAKING", "DRAINING", "DONE"};

struct s3m_defer {
    FILE **shared;                 /* the run's spool (made by the first job that needs it) */
    const struct s3m_tiers *tiers; /* NULL: nothing waits for a tier */
    unsigned ntiers;
    bool hold_updates; /* --max-change: every update waits for the run's decision (not a dry run) */
    bool dry_run;      /* later tiers are spooled for the report's order only */
    const char *label; /* the job's, for the log */
    struct s3m_sync_stats *st;
    enum defer_state state; /* changed only in set_state */
    FILE *f;                /* the spool, NULL until the first entry */
    bool own;               /* ... the job's own file (no shared one) */
    off_t start, end;       /* the job's region of it */
    uint64_t written, written_bytes, updates;
    struct s3m_sync_counts *per_tier; /* ntiers + 1 */
    /* running */
    struct s3m_defer_env env;
    const struct s3m_defer_cbs *cbs;
    void *ud;
    unsigned tier;     /* the tier being taken */
    char blocked[600]; /* why this tier and the later ones do not start ("" = they may) */
    int inflight;      /* transfers started and not ended */
    uint64_t settled, settled_bytes; /* entries taken or held so far */
    struct s3m_buf field[NFIELDS];   /* the entry just read */
};

struct defer_xfer {
    struct s3m_defer *d;
    enum s3m_plan_act act;
};

static void set_state(struct s3m_defer *d, enum defer_state st)
{
    s3m_log(S3M_LOG_DEBUG, "defer", "%s: %s -> %s (tier %u)", d->label, state_names[d->state],
            state_names[st], d->tier);
    d->state = st;
}

struct s3m_defer *s3m__defer_new(const struct s3m_sync_opts *o, const char *label,
                                 struct s3m_sync_stats *st)
{
    struct s3m_defer *d = s3m_calloc(1, sizeof(*d));
    bool copies = o->mode != S3M_MODE_CHECK;
    d->shared = o->defer_list;
    d->tiers = copies && o->tiers && o->tiers->ntiers ? o->tiers : NULL;
    d->ntiers = d->tiers ? d->tiers->ntiers : 0;
    d->hold_updates = copies && !o->dry_run && (o->max_change >= 0 || o->max_change_pct >= 0);
    d->dry_run = o->dry_run;
    d->label = label;
    d->st = st;
    d->per_tier = s3m_calloc(d->ntiers + 1, sizeof(*d->per_tier));
    for (int i = 0; i < NFIELDS; i++)
        s3m_buf_init(&d->field[i]);
    return d;
}

void s3m__defer_free(struct s3m_defer *d)
{
    if (!d)
        return;
    if (d->f && d->own)
        fclose(d->f); /* a shared one is the caller's */
    for (int i = 0; i < NFIELDS; i++)
        s3m_buf_cleanup(&d->field[i]);
    free(d->per_tier);
    free(d);
}

unsigned s3m__defer_tier(const struct s3m_defer *d, const struct s3m_plan_action *a)
{
    bool keyed = a->act == S3M_PLAN_COPY || a->act == S3M_PLAN_UPDATE || a->act == S3M_PLAN_DELETE;
    return keyed && d->ntiers ? s3m_tiers_of(d->tiers, a->key) : 0;
}

uint64_t s3m__defer_updates(const struct s3m_defer *d)
{
    return d->updates;
}

const struct s3m_sync_counts *s3m__defer_tier_counts(const struct s3m_defer *d, unsigned *ntiers)
{
    *ntiers = d->ntiers;
    return d->ntiers ? d->per_tier : NULL;
}

/* ---- the spool ---- */

static bool fail(struct s3m_errinfo *ei)
{
    s3m_errinfo_set(ei, S3M_EIO, "spool of waiting copies (temporary file): %s", strerror(errno));
    return false;
}

/* the run's one spool, each job's entries in a region of their own (the copy phases run one
 * after the other): one descriptor for any number of buckets */
static bool open_spool(struct s3m_defer *d, struct s3m_errinfo *ei)
{
    long long start;
    if (!(d->f = s3m_spill_region(d->shared, &d->own, &start)))
        return fail(ei);
    d->start = d->end = (off_t)start;
    return true;
}

/* the spool failed this object: it never starts, it counts as failed */
static void spool_failed(struct s3m_defer *d, const struct s3m_plan_action *a,
                         const struct s3m_errinfo *ei)
{
    s3m_plan_count_transfer(d->st, a->act, a->size, false);
    s3m_plan_note_error(d->st, ei);
    s3m_log(S3M_LOG_ERROR, "sync", "%s: %s: %s", d->label, a->key, ei->message);
}

bool s3m__defer_hold(struct s3m_defer *d, const struct s3m_plan_action *a, const char *etag)
{
    struct s3m_errinfo ei;
    assert(a->tier <= d->ntiers); /* s3m__defer_tier gives no other */
    d->per_tier[a->tier].n++;
    d->per_tier[a->tier].bytes += a->size;
    d->updates += a->act == S3M_PLAN_UPDATE;
    bool held_update = a->act == S3M_PLAN_UPDATE && d->hold_updates && !d->dry_run;
    if (!a->tier && !held_update)
        return false;
    if (!d->f && !open_spool(d, &ei)) {
        spool_failed(d, a, &ei);
        return true;
    }
    /* a short write could glue two entries into one never decided: each write is checked */
    const char *dst_etag = a->seen.dst_etag ? a->seen.dst_etag : "";
    int n = fprintf(d->f, "%c%u%c%" PRIu64 "%c%s%c%s%c%s%c%s%c%" PRIu64 "%c",
                    a->act == S3M_PLAN_UPDATE ? 'u' : 'c', a->tier, 0, a->size, 0, etag ? etag : "",
                    0, a->key, 0, a->why ? a->why : "", 0, dst_etag, 0, a->seen.dst_size, 0);
    if (n < 0 || ferror(d->f)) {
        fail(&ei);
        spool_failed(d, a, &ei);
        return true;
    }
    d->written++;
    d->written_bytes += a->size;
    return true;
}

void s3m__defer_seal(struct s3m_defer *d)
{
    if (d->f && (d->end = ftello(d->f)) < 0)
        d->end = d->start; /* the region then reads back short: nothing of it runs */
}

/* the next entry of the region into d->field: 1, or 0 at the region's end, -1 when what is
 * there is no entry (cut short, a field too long, past the region) */
static int read_entry(struct s3m_defer *d)
{
    off_t pos = ftello(d->f);
    if (pos == d->end)
        return 0;
    if (pos < 0 || pos > d->end)
        return -1;
    for (int i = 0; i < NFIELDS; i++) {
        struct s3m_buf *b = &d->field[i];
        int c;
        s3m_buf_reset(b);
        while ((c = fgetc(d->f)) != EOF && c && b->len < FIELD_MAX)
            s3m_buf_addc(b, (char)c);
        if (c != 0)
            return -1;
    }
    const char *head = s3m_buf_str(&d->field[0]), *size = s3m_buf_str(&d->field[1]);
    bool ok = (head[0] == 'c' || head[0] == 'u') && d->field[0].len > 1 && d->field[0].len < 4 &&
              strspn(head + 1, "0123456789") == d->field[0].len - 1 &&
              strtoul(head + 1, NULL, 10) <= d->ntiers && d->field[1].len && d->field[1].len < 21 &&
              strspn(size, "0123456789") == d->field[1].len && d->field[3].len && d->field[6].len &&
              d->field[6].len < 21 &&
              strspn(s3m_buf_str(&d->field[6]), "0123456789") == d->field[6].len &&
              ftello(d->f) <= d->end;
    return ok ? 1 : -1;
}

/* the entry just read as the action it was when decided */
static void entry_action(struct s3m_defer *d, struct s3m_plan_action *a)
{
    const char *head = s3m_buf_str(&d->field[0]);
    memset(a, 0, sizeof(*a));
    a->act = head[0] == 'u' ? S3M_PLAN_UPDATE : S3M_PLAN_COPY;
    a->tier = (unsigned)strtoul(head + 1, NULL, 10);
    a->size = strtoull(s3m_buf_str(&d->field[1]), NULL, 10);
    a->key = s3m_buf_str(&d->field[3]);
    a->why = s3m_buf_str(&d->field[4]);
    a->seen.src_etag = s3m_buf_str(&d->field[2]);
    if (a->act == S3M_PLAN_UPDATE)
        a->seen.dst_etag = s3m_buf_str(&d->field[5]);
    a->seen.dst_size = strtoull(s3m_buf_str(&d->field[6]), NULL, 10);
    a->execute = !d->dry_run;
}

/* Before any use: the region holds exactly the entries written (count and bytes), each well
 * formed, and ends between two. */
static bool check_region(struct s3m_defer *d, char *why, size_t n)
{
    uint64_t count = 0, bytes = 0;
    int r = -1;
    if (fflush(d->f) || fseeko(d->f, d->start, SEEK_SET)) {
        snprintf(why, n, "%s", strerror(errno));
        return false;
    }
    while ((r = read_entry(d)) > 0) {
        struct s3m_plan_action a;
        entry_action(d, &a);
        count++;
        bytes += a.size;
    }
    if (r < 0 || ferror(d->f) || count != d->written || bytes != d->written_bytes) {
        snprintf(why, n,
                 "it reads back as %" PRIu64 " entries (%" PRIu64 " bytes)%s where %" PRIu64
                 " (%" PRIu64 " bytes) were spooled",
                 count, bytes, r < 0 ? ", malformed" : "", d->written, d->written_bytes);
        return false;
    }
    return true;
}

/* ---- running the tiers ---- */

static void pump(struct s3m_defer *d);

static void finish(struct s3m_defer *d)
{
    set_state(d, D_DONE);
    d->cbs->done(d->ud);
}

/* the spool cannot be trusted: what was not settled yet never runs */
static void lose(struct s3m_defer *d, const char *what)
{
    struct s3m_errinfo ei;
    s3m_errinfo_set(&ei, S3M_EIO, "spool of waiting copies (temporary file): %s", what);
    uint64_t n = d->written - d->settled;
    d->st->failed.n += n;
    d->st->failed.bytes += d->written_bytes - d->settled_bytes;
    s3m_plan_note_error(d->st, &ei);
    s3m_log(S3M_LOG_ERROR, "sync", "%s: %" PRIu64 " waiting copies not run: %s", d->label, n,
            ei.message);
    d->settled = d->written;
    d->settled_bytes = d->written_bytes;
    finish(d);
}

static void xfer_ended(struct s3m_xfer *x, void *ud)
{
    struct defer_xfer *j = ud;
    struct s3m_defer *d = j->d;
    d->inflight--;
    d->cbs->ended(d->ud, j->act, x);
    s3m_xfer_free(x);
    free(j);
    pump(d);
}

static char *join(const char *prefix, const char *rel)
{
    struct s3m_buf b;
    s3m_buf_init(&b);
    s3m_buf_printf(&b, "%s%s", prefix, rel);
    return s3m_buf_detach(&b);
}

/* a waiting action that does not run: counted, logged (the first reason is the job's) */
static void held(struct s3m_defer *d, const struct s3m_plan_action *a, const char *why)
{
    struct s3m_sync_stats *st = d->st;
    if (!st->held.n)
        snprintf(st->held_why, sizeof(st->held_why), "%.250s", why);
    st->held.n++;
    st->held.bytes += a->size;
    s3m_log(S3M_LOG_INFO, "sync", "%s: %s %s (tier %u): %s", d->label,
            a->act == S3M_PLAN_COPY ? "not copying" : "not updating", a->key, a->tier, why);
}

/* the entry just read: held (and why), its lines only (a dry run), or its transfer */
static void take(struct s3m_defer *d)
{
    struct s3m_plan_action a;
    entry_action(d, &a);
    d->settled++;
    d->settled_bytes += a.size;
    const char *why = d->cbs->stopped(d->ud)                  ? "interrupted"
                    : d->blocked[0]                           ? d->blocked
                    : a.act == S3M_PLAN_UPDATE && !d->dry_run ? d->env.refuse_updates
                                                              : NULL;
    if (why) {
        held(d, &a, why);
        return;
    }
    if (!d->dry_run && d->cbs->admit && !d->cbs->admit(d->ud, a.size)) {
        d->st->cut.n++; /* --cutoff-mode cautious: it would not finish in time */
        d->st->cut.bytes += a.size;
        d->st->cut_off = true;
        s3m_log(S3M_LOG_INFO, "sync",
                "%s: %s (tier %u) not started, it would not finish in time: "
                "cut off",
                d->label, a.key, a.tier);
        return;
    }
    d->cbs->line(d->ud, &a);
    if (d->dry_run)
        return;
    const struct s3m_defer_env *e = &d->env;
    char *sk = join(e->src_prefix, a.key), *dk = join(e->dst_prefix, a.key);
    struct defer_xfer *j = s3m_calloc(1, sizeof(*j));
    j->d = d;
    j->act = a.act;
    d->inflight++;
    const char *etag = s3m_buf_str(&d->field[2]);
    struct s3m_entry old = {a.key, a.seen.dst_size, a.seen.dst_etag,
                            0}; /* what an update replaces */
    struct s3m_backup_copy c = {e->src_bucket, sk, e->dst_bucket, dk, a.size, etag, xfer_ended, j};
    if (a.act != S3M_PLAN_UPDATE || !s3m__backup_then_copy(e->backup, e->xctx, &old, &c))
        s3m_xfer_start(e->xctx, e->src_bucket, sk, e->dst_bucket, dk, a.size, etag, xfer_ended, j);
    free(sk);
    free(dk);
}

/* the current tier is through: the next one, if every transfer so far succeeded; false when
 * there is none */
static bool next_tier(struct s3m_defer *d)
{
    if (d->tier == d->ntiers)
        return false;
    d->tier++;
    char why[400];
    const struct s3m_sync_stats *st = d->st;
    struct s3m_plan_opts po = {0};
    struct s3m_plan_job j = {.interrupted = d->cbs->stopped(d->ud),
                             .listing_failed = st->listing_failed,
                             .failed = st->failed.n,
                             .immutable = st->immutable.n};
    /* an update refused (--immutable) or held (--max-change) leaves data as it was: a pointer
     * of a later tier may name the new version, so no later tier starts either */
    bool refused = s3m_plan_refusal(&po, &j, why, sizeof(why));
    if (!refused && st->cut.n) { /* --cutoff-mode cautious did not start some: data missing */
        snprintf(why, sizeof(why), "%" PRIu64 " copies of the tiers before it cut off", st->cut.n);
        refused = true;
    }
    if (!refused && st->held.n) {
        snprintf(why, sizeof(why), "%" PRIu64 " update(s) of the tiers before it held back",
                 st->held.n);
        refused = true;
    }
    if (!d->blocked[0] && refused) {
        snprintf(d->blocked, sizeof(d->blocked), "not copied: tier %u did not start (%s)", d->tier,
                 why);
        s3m_log(S3M_LOG_NOTICE, "sync", "%s: tier %u and later not started: %s", d->label, d->tier,
                why);
    } else if (!d->blocked[0]) { /* (an earlier tier's reason stands for the later ones) */
        s3m_log(S3M_LOG_INFO, "sync", "%s: tier %u starts (the tiers before it are through)",
                d->label, d->tier);
    }
    if (fseeko(d->f, d->start, SEEK_SET)) {
        lose(d, strerror(errno));
        return true; /* finished */
    }
    set_state(d, D_TAKING);
    return true;
}

/* one tier's entries while there is room; the next tier once they all ended */
static void pump(struct s3m_defer *d)
{
    for (;;) {
        while (d->state == D_TAKING && d->inflight < d->env.transfers) {
            int r = read_entry(d);
            if (r < 0) {
                lose(d, "an entry does not read back as written");
                return;
            }
            if (r == 0) {
                set_state(d, D_DRAINING);
                break;
            }
            if (strtoul(s3m_buf_str(&d->field[0]) + 1, NULL, 10) == d->tier)
                take(d);
        }
        if (d->state != D_DRAINING || d->inflight)
            return;
        if (!next_tier(d)) {
            finish(d);
            return;
        }
    }
}

bool s3m__defer_run(struct s3m_defer *d, const struct s3m_defer_env *env,
                    const struct s3m_defer_cbs *cbs, void *ud)
{
    if (!d->written)
        return false;
    assert(d->state == D_SPOOLING);
    d->env = *env;
    if (d->env.transfers < 1)
        d->env.transfers = 1;
    d->cbs = cbs;
    d->ud = ud;
    d->tier = 0;
    char why[400];
    if (!check_region(d, why, sizeof(why))) {
        lose(d, why);
        return true;
    }
    if (fseeko(d->f, d->start, SEEK_SET)) {
        lose(d, strerror(errno));
        return true;
    }
    set_state(d, D_TAKING);
    pump(d);
    return true;
}
