/* plan.c - the planner: diff item + options -> action record, the job's counters, the safety
 * rules (refusal, --max-delete) and the report / plan lines. Pure: the engine carries the
 * actions out and hands in the FILE the lines go to. */
#include "s3m/plan.h"
#include "s3m/util.h"

#include <inttypes.h>
#include <string.h>
#include <strings.h>

/* copy / update from the listing: a transfer in a real sync or copy, counted only otherwise */
static bool runs(const struct s3m_plan_opts *o)
{
    return !o->dry_run && o->mode != S3M_MODE_CHECK;
}

/* --immutable: sync and copy never change an existing destination object (check only reports) */
static bool refuses(const struct s3m_plan_opts *o)
{
    return o->immutable && o->mode != S3M_MODE_CHECK;
}

static void decide_skip(const struct s3m_diff_item *it, struct s3m_plan_action *a)
{
    if (it->folder) { /* the key "" of one side: that side's folder itself */
        a->act = S3M_PLAN_FOLDER;
        a->dst_side = it->src.key == NULL;
        a->key = "";
        a->size = a->dst_side ? it->dst.size : it->src.size;
        return;
    }
    a->key = it->src.key;
    a->size = it->src.size;
    if (it->needs_head || it->needs_content) /* one HEAD, or reading both, decides */
        a->act = S3M_PLAN_VERIFY;
    else if (it->unverified) /* equality here rests on size and time: say so */
        a->act = S3M_PLAN_UNVERIFIABLE;
    else
        a->act = S3M_PLAN_SKIP;
}

void s3m_plan_decide(const struct s3m_plan_opts *o, const struct s3m_diff_item *it,
                     struct s3m_plan_action *a)
{
    memset(a, 0, sizeof(*a));
    a->why = it->why;
    switch (it->action) {
    case S3M_ACT_COPY:
    case S3M_ACT_UPDATE:
        a->act = it->action == S3M_ACT_COPY ? S3M_PLAN_COPY : S3M_PLAN_UPDATE;
        a->key = it->src.key;
        a->size = it->src.size;
        a->execute = runs(o);
        a->seen.src_etag = it->src.etag;
        if (a->act == S3M_PLAN_UPDATE)
            a->seen = (struct s3m_plan_seen){it->src.etag, it->dst.etag, it->dst.size};
        if (a->act == S3M_PLAN_UPDATE && refuses(o)) /* --immutable: never changed */
            a->act = S3M_PLAN_REFUSE, a->execute = false;
        break;
    case S3M_ACT_DELETE:
        a->dst_side = true;
        a->key = it->dst.key;
        a->size = it->dst.size;
        /* copy never deletes: the extra object stays, a plain skip */
        a->act = o->mode == S3M_MODE_COPY ? S3M_PLAN_NONE : S3M_PLAN_DELETE;
        a->execute = o->mode == S3M_MODE_SYNC && !o->dry_run;
        a->seen = (struct s3m_plan_seen){NULL, it->dst.etag, it->dst.size};
        break;
    case S3M_ACT_EXCLUDED:
        a->act = S3M_PLAN_EXCLUDE;
        a->dst_side = it->src.key == NULL;
        a->key = a->dst_side ? it->dst.key : it->src.key;
        a->size = a->dst_side ? it->dst.size : it->src.size;
        break;
    default: decide_skip(it, a);
    }
}

void s3m_plan_verified(const struct s3m_plan_opts *o, bool differ, bool head, const char *key,
                       uint64_t size, struct s3m_plan_action *a)
{
    memset(a, 0, sizeof(*a));
    a->key = key;
    a->size = size;
    if (differ) {
        a->act = S3M_PLAN_UPDATE;
        a->why = head ? "ETag differs" : "content differs (MD5)";
        a->execute = runs(o);
        a->verified = true;
        if (refuses(o))
            a->act = S3M_PLAN_REFUSE, a->execute = false;
    } else {
        a->act = S3M_PLAN_SKIP;
        a->why = head ? "same source ETag as recorded at copy time (other part layout)"
                      : "same content (MD5 of both read)";
    }
}

void s3m_plan_tags(const struct s3m_plan_opts *o, bool differ, const char *unverified_why,
                   const char *key, uint64_t size, struct s3m_plan_action *a)
{
    memset(a, 0, sizeof(*a));
    a->key = key;
    a->size = size;
    a->verified = true;
    if (differ) {
        a->act = S3M_PLAN_UPDATE;
        a->why = "tags";
        a->execute = runs(o);
        if (refuses(o))
            a->act = S3M_PLAN_REFUSE, a->execute = false;
    } else if (unverified_why) { /* as the listing decided it */
        a->act = S3M_PLAN_UNVERIFIABLE;
        a->why = unverified_why;
    } else {
        a->act = S3M_PLAN_SKIP;
        a->why = "same tags";
    }
}

void s3m_plan_folder_why(char *out, size_t n, bool dst_side, const char *bucket, const char *prefix,
                         const char *why)
{
    snprintf(out, n, "%s folder marker %s/%s: %s", dst_side ? "destination" : "source", bucket,
             prefix, why);
}

/* ---- counters ---- */

static void add(struct s3m_sync_counts *c, uint64_t size)
{
    c->n++;
    c->bytes += size;
}

void s3m_plan_count(const struct s3m_plan_opts *o, struct s3m_sync_stats *st,
                    const struct s3m_plan_action *a)
{
    switch (a->act) {
    case S3M_PLAN_COPY:
    case S3M_PLAN_UPDATE:
        if (!a->verified) /* the planned total is what the listings decided */
            add(&st->planned, a->size);
        if (!a->execute) /* a transfer counts when it ends */
            add(a->act == S3M_PLAN_COPY ? &st->copy : &st->update, a->size);
        break;
    case S3M_PLAN_DELETE: add(&st->del, a->size); break;
    case S3M_PLAN_NONE: st->skip.n++; break;
    case S3M_PLAN_EXCLUDE: st->excluded.n++; break;
    case S3M_PLAN_UNVERIFIABLE:
        st->unverified.n++;
        add(&st->skip, a->size);
        break;
    case S3M_PLAN_SKIP: add(&st->skip, a->size); break;
    case S3M_PLAN_FOLDER: /* check does not count it: no object of either side's mirror */
        if (o->mode != S3M_MODE_CHECK)
            add(&st->skip, a->size);
        break;
    case S3M_PLAN_ABORT_UPLOAD: st->stale_uploads++; break;
    case S3M_PLAN_REFUSE: add(&st->immutable, a->size); break;
    case S3M_PLAN_VERIFY: break; /* counted once settled (s3m_plan_verified) */
    }
}

void s3m_plan_count_transfer(struct s3m_sync_stats *st, enum s3m_plan_act act, uint64_t size,
                             bool ok)
{
    if (!ok)
        add(&st->failed, size);
    else
        add(act == S3M_PLAN_COPY ? &st->copy : &st->update, size);
}

void s3m_plan_note_error(struct s3m_sync_stats *st, const struct s3m_errinfo *ei)
{
    if (!st->first_error.err)
        st->first_error = *ei;
}

/* ---- the safety rules ---- */

bool s3m_plan_refusal(const struct s3m_plan_opts *o, const struct s3m_plan_job *j, char *why,
                      size_t n)
{
    if (j->interrupted)
        snprintf(why, n, "interrupted");
    else if (j->listing_failed)
        snprintf(why, n, "a listing did not complete");
    else if (j->failed)
        snprintf(why, n, "%" PRIu64 " object(s) failed to copy", j->failed);
    else if (j->immutable)
        snprintf(why, n,
                 "%" PRIu64 " destination object(s) differ from the source under --immutable",
                 j->immutable);
    else if (j->delete_list_failed)
        snprintf(why, n, "the delete list could not be written");
    else if (j->src_scope == 0 && j->dst_scope > 0 && !o->allow_empty_source)
        snprintf(why, n,
                 "the source listing is empty (no object in scope) and the destination "
                 "holds %" PRIu64 " objects in scope (use --allow-empty-source if that is meant)",
                 j->dst_scope);
    else
        return false;
    return true;
}

bool s3m_plan_over_cap(const struct s3m_plan_opts *o, uint64_t ndel, uint64_t ndst, char *why,
                       size_t n)
{
    if (o->max_delete >= 0 && (int64_t)ndel > o->max_delete)
        snprintf(why, n, "%" PRIu64 " deletions exceed --max-delete %" PRId64, ndel, o->max_delete);
    else if (o->max_delete_pct >= 0 && ndst &&
             100.0 * (double)ndel / (double)ndst > o->max_delete_pct)
        snprintf(why, n,
                 "%" PRIu64 " deletions are %.1f%% of the destination, over "
                 "--max-delete %g%%",
                 ndel, 100.0 * (double)ndel / (double)ndst, o->max_delete_pct);
    else
        return false;
    return true;
}

/* --max-change: updates and deletions count alike (each changes or removes what the replica
 * holds); a percentage is of the destination objects in scope, as --max-delete's */
bool s3m_plan_over_change(int64_t max, double pct, uint64_t nupd, uint64_t ndel, uint64_t ndst,
                          char *why, size_t n)
{
    uint64_t chg = nupd + ndel;
    if (max >= 0 && chg > (uint64_t)max)
        snprintf(why, n,
                 "%" PRIu64 " changes (%" PRIu64 " updated, %" PRIu64
                 " deleted) exceed --max-change %" PRId64,
                 chg, nupd, ndel, max);
    else if (pct >= 0 && ndst && 100.0 * (double)chg / (double)ndst > pct)
        snprintf(why, n,
                 "%" PRIu64 " changes (%" PRIu64 " updated, %" PRIu64
                 " deleted) are %.1f%% of the destination, over --max-change %g%%",
                 chg, nupd, ndel, 100.0 * (double)chg / (double)ndst, pct);
    else
        return false;
    return true;
}

/* ---- report and plan lines ---- */

unsigned s3m_plan_outputs(const struct s3m_plan_opts *o, enum s3m_plan_act act)
{
    unsigned report = o->dry_run || o->mode == S3M_MODE_CHECK ? S3M_PLAN_OUT_REPORT : 0;
    bool real_sync = o->mode == S3M_MODE_SYNC && !o->dry_run;
    switch (act) {
    case S3M_PLAN_COPY:
    case S3M_PLAN_UPDATE:
    case S3M_PLAN_UNVERIFIABLE: return S3M_PLAN_OUT_PLAN | report;
    case S3M_PLAN_DELETE:
    case S3M_PLAN_ABORT_UPLOAD: /* a real sync's plan says what was done, when done */
        return (real_sync ? 0 : S3M_PLAN_OUT_PLAN) | report;
    case S3M_PLAN_FOLDER: /* check: no object of either side's mirror */
        return o->mode == S3M_MODE_CHECK ? 0 : S3M_PLAN_OUT_PLAN | report;
    case S3M_PLAN_REFUSE: /* an error naming the key: a real run's report says it too */
        return S3M_PLAN_OUT_PLAN | S3M_PLAN_OUT_REPORT;
    default: return 0;
    }
}

const char *s3m_plan_act_name(enum s3m_plan_act act)
{
    switch (act) {
    case S3M_PLAN_COPY: return "copy";
    case S3M_PLAN_UPDATE: return "update";
    case S3M_PLAN_DELETE: return "delete";
    case S3M_PLAN_EXCLUDE: return "exclude";
    case S3M_PLAN_ABORT_UPLOAD: return "abort-upload";
    case S3M_PLAN_REFUSE: return "refuse";
    default: return "skip";
    }
}

void s3m_plan_json(FILE *f, const struct s3m_plan_line *l)
{
    s3m_plan_json_seen(f, l, NULL);
}

/* the line's fields from "bucket" on, and the closing brace */
static void json_rest(FILE *f, const struct s3m_plan_line *l, const struct s3m_plan_seen *seen);

void s3m_plan_json_seen(FILE *f, const struct s3m_plan_line *l, const struct s3m_plan_seen *seen)
{
    fprintf(f, "{\"action\":\"%s\"", s3m_plan_act_name(l->act));
    json_rest(f, l, seen);
}

static const char *check_word(enum s3m_plan_act act);

void s3m_plan_report_json(FILE *f, enum s3m_sync_mode mode, const struct s3m_plan_line *l)
{
    if (mode == S3M_MODE_CHECK)
        fprintf(f, "{\"type\":\"difference\",\"difference\":\"%s\"", check_word(l->act));
    else
        fprintf(f, "{\"type\":\"action\",\"action\":\"%s\"", s3m_plan_act_name(l->act));
    json_rest(f, l, NULL);
}

static void json_rest(FILE *f, const struct s3m_plan_line *l, const struct s3m_plan_seen *seen)
{
    bool src = l->act == S3M_PLAN_COPY || l->act == S3M_PLAN_UPDATE;
    bool dst = l->act == S3M_PLAN_UPDATE || l->act == S3M_PLAN_DELETE;
    fputs(",\"bucket\":", f);
    s3m_json_fput(f, l->bucket);
    fputs(",\"key\":", f);
    s3m_json_fput(f, l->key);
    fprintf(f, ",\"size\":%" PRIu64, l->size);
    if (seen && src && seen->src_etag) {
        fputs(",\"src_etag\":", f);
        s3m_json_fput(f, seen->src_etag);
    }
    if (seen && dst && seen->dst_etag) {
        fputs(",\"dst_etag\":", f);
        s3m_json_fput(f, seen->dst_etag);
    }
    if (seen && l->act == S3M_PLAN_UPDATE && seen->dst_etag)
        fprintf(f, ",\"dst_size\":%" PRIu64, seen->dst_size);
    fputs(",\"why\":", f);
    char why[1200];
    if (l->act == S3M_PLAN_REFUSE) /* the rule that refused it, then the difference */
        snprintf(why, sizeof(why), "--immutable: %s", l->why);
    s3m_json_fput(f, l->act == S3M_PLAN_REFUSE ? why : l->why);
    if (l->tier)
        fprintf(f, ",\"tier\":%u", l->tier);
    fputs("}\n", f);
}

void s3m_plan_key_text(FILE *f, const char *k)
{
    for (; *k; k++) {
        unsigned char c = (unsigned char)*k;
        if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\x%02x", c);
        else
            fputc(c, f);
    }
}

/* check names what differs: only on one side, differs, or not verifiable by ETag */
static const char *check_word(enum s3m_plan_act act)
{
    switch (act) {
    case S3M_PLAN_COPY: return "only on source";
    case S3M_PLAN_UPDATE: return "differs";
    case S3M_PLAN_DELETE: return "only on destination";
    default: return "unverified";
    }
}

void s3m_plan_text(FILE *f, enum s3m_sync_mode mode, const struct s3m_plan_line *l)
{
    if (mode == S3M_MODE_CHECK)
        fprintf(f, "%-19s %12" PRIu64 " ", check_word(l->act), l->size);
    else if (l->act == S3M_PLAN_ABORT_UPLOAD) /* an unfinished upload has no size yet */
        fprintf(f, "%-6s %12s ", "abort", "-");
    else
        fprintf(f, "%-6s %12" PRIu64 " ", s3m_plan_act_name(l->act), l->size);
    s3m_plan_key_text(f, l->key);
    fprintf(f, "  (%s%s", l->act == S3M_PLAN_REFUSE ? "--immutable: " : "", l->why);
    if (l->tier)
        fprintf(f, "; tier %u", l->tier);
    fputs(")\n", f);
}

/* ---- --backup-dir naming ---- */

/* A second (third...) extension counts only when it names a known type, as rclone asks Go's
 * mime table: its built-in types and the usual archive / text ones. */
static bool known_ext(const char *e, size_t n)
{
    static const char *const types[] = {"tar", "gz",   "bz2",  "xz",   "zst",  "zip",  "txt",
                                        "csv", "tsv",  "json", "xml",  "html", "htm",  "css",
                                        "js",  "mjs",  "pdf",  "png",  "jpg",  "jpeg", "gif",
                                        "svg", "webp", "avif", "wasm", "sql"};
    for (size_t i = 0; i < S3M_ARRAY_LEN(types); i++)
        if (strlen(types[i]) == n && !strncasecmp(types[i], e, n))
            return true;
    return false;
}

/* where the extensions of the last path element begin (its end when there is none): Go's
 * path.Ext repeatedly, the first always, the others while known */
static size_t ext_start(const char *rel)
{
    const char *slash = strrchr(rel, '/');
    const char *base = slash ? slash + 1 : rel;
    size_t end = strlen(rel), start = end;
    for (bool first = true;; first = false) {
        const char *dot = NULL;
        for (const char *p = rel + start; p > base;) /* the last '.' before start */
            if (*--p == '.') {
                dot = p;
                break;
            }
        if (!dot || (!first && !known_ext(dot + 1, (size_t)(rel + start - dot - 1))))
            return start;
        start = (size_t)(dot - rel);
    }
}

char *s3m_plan_backup_key(const char *prefix, const char *rel, const char *suffix, bool keep_ext)
{
    struct s3m_buf b;
    s3m_buf_init(&b);
    size_t at = keep_ext && *suffix ? ext_start(rel) : strlen(rel);
    s3m_buf_printf(&b, "%s%.*s%s%s", prefix, (int)at, rel, suffix, rel + at);
    return s3m_buf_detach(&b);
}
