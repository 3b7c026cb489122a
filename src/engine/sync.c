/* sync.c - the job: listings -> merge-join -> transfers / remembered deletes -> delete phase.
 *
 * One pump function moves the job forward whenever something happened (a listing page came,
 * a transfer ended): it pulls decisions only while the pool has room, so listings are read at
 * the pace of the transfers and memory stays bounded. Deletes are remembered in an unlinked
 * temporary file and run last (s3m_sync_delete), once the run - every job of it - is through
 * its copies and nothing failed and the safety rules allow. */
#include "s3m/sync.h"
#include "s3m/hash.h"
#include "s3m/log.h"
#include "s3m/util.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DELETE_BATCH 1000

/* ---- listers as merge streams (keys relative to the prefix) ---- */

struct side {
    struct s3m_lister *l;
    size_t plen;
};

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

/* ---- report ---- */

static void esc_key(FILE *f, const char *k)
{
    for (; *k; k++) {
        unsigned char c = (unsigned char)*k;
        if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\x%02x", c);
        else
            fputc(c, f);
    }
}

static const char *action_name(enum s3m_action a)
{
    switch (a) {
    case S3M_ACT_COPY: return "copy";
    case S3M_ACT_UPDATE: return "update";
    case S3M_ACT_DELETE: return "delete";
    case S3M_ACT_EXCLUDED: return "exclude";
    default: return "skip";
    }
}

/* The report and the plan come out in key order although the lanes (key ranges) are decided
 * at the same time: a lane's lines are spilled to an unlinked temporary file until every lane
 * before it is through, then copied out. Memory does not grow; a failed tmpfile only costs
 * the order. */
static FILE *lane_out(struct s3m_sync *s, FILE *direct, bool plan)
{
    if (!direct || s->cur_lane == s->emit_lane || s->cur_lane >= s->nlanes)
        return direct;
    struct s3m_sync_lane *ln = &s->lanes[s->cur_lane];
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

/* move on past the lanes that are complete, copying out what the next one has said so far;
 * all: the job is over, copy out every lane whatever its state */
static void advance_emit(struct s3m_sync *s, bool all)
{
    while (s->emit_lane < s->nlanes) {
        struct s3m_sync_lane *ln = &s->lanes[s->emit_lane];
        if (!all && !(ln->done && !ln->verifies))
            return;
        s->emit_lane++;
        if (s->emit_lane < s->nlanes) {
            copy_out(&s->lanes[s->emit_lane].spill_report, s->o.report);
            copy_out(&s->lanes[s->emit_lane].spill_plan, s->o.plan);
        }
    }
}

/* one line of the plan (JSON) and of the dry-run / check report; bucket: the side the key is
 * on (the destination for a delete) */
static void report_in(struct s3m_sync *s, enum s3m_action a, const char *bucket, const char *key,
                      uint64_t size, const char *why)
{
    /* a real sync's plan says the deletes it did, when done (plan_deleted): not those the
     * decision refuses, nor those that fail */
    bool later = a == S3M_ACT_DELETE && s->o.mode == S3M_MODE_SYNC && !s->o.dry_run;
    FILE *plan = later ? NULL : lane_out(s, s->o.plan, true);
    if (plan && a != S3M_ACT_EXCLUDED) {
        fprintf(plan, "{\"action\":\"%s\",\"bucket\":", action_name(a));
        s3m_json_fput(plan, bucket);
        fputs(",\"key\":", plan);
        s3m_json_fput(plan, key);
        fprintf(plan, ",\"size\":%" PRIu64 ",\"why\":", size);
        s3m_json_fput(plan, why);
        fputs("}\n", plan);
    }
    bool show = s->o.report && (s->o.dry_run || s->o.mode == S3M_MODE_CHECK);
    if (!show || a == S3M_ACT_EXCLUDED)
        return;
    FILE *out = lane_out(s, s->o.report, false);
    if (s->o.mode == S3M_MODE_CHECK) {
        static const char *const what[] = {"unverified", "only on source", "differs",
                                           "only on destination"};
        fprintf(out, "%-19s %12" PRIu64 " ", what[a], size);
    } else {
        fprintf(out, "%-6s %12" PRIu64 " ", action_name(a), size);
    }
    esc_key(out, key);
    fprintf(out, "  (%s)\n", why);
}

static void report(struct s3m_sync *s, enum s3m_action a, const char *key, uint64_t size,
                   const char *why)
{
    report_in(s, a, a == S3M_ACT_DELETE ? s->dst_bucket : s->src_bucket, key, size, why);
}

/* The key "" relative to a side's prefix is that folder's own marker: the folder itself. It is
 * skipped (never mapped to the empty key nor deleted) and said so in the plan and the dry run;
 * check does not count it (it is no object of either side's mirror). */
static void folder_marker(struct s3m_sync *s, const struct s3m_diff_item *it)
{
    bool src_side = it->src.key != NULL;
    const char *bucket = src_side ? s->src_bucket : s->dst_bucket;
    const char *prefix = src_side ? s->src_prefix : s->dst_prefix;
    uint64_t size = src_side ? it->src.size : it->dst.size;
    char why[1400];
    snprintf(why, sizeof(why), "%s folder marker %s/%s: %s", src_side ? "source" : "destination",
             bucket, prefix, it->why);
    s3m_log(S3M_LOG_INFO, "sync", "%s: %s", s->label, why);
    if (s->o.mode == S3M_MODE_CHECK)
        return;
    report_in(s, S3M_ACT_SKIP, bucket, "", size, why);
    s->st.skip.n++;
    s->st.skip.bytes += size;
}

static void note_error(struct s3m_sync *s, const struct s3m_errinfo *ei)
{
    if (!s->st.first_error.err)
        s->st.first_error = *ei;
}

/* ---- transfers ---- */

static void pump(struct s3m_sync *s);

static char *join(const char *prefix, const char *rel)
{
    struct s3m_buf b;
    s3m_buf_init(&b);
    s3m_buf_printf(&b, "%s%s", prefix, rel);
    return s3m_buf_detach(&b);
}

struct job_xfer {
    struct s3m_sync *s;
    enum s3m_action action;
};

static void xfer_done(struct s3m_xfer *x, void *ud)
{
    struct job_xfer *j = ud;
    struct s3m_sync *s = j->s;
    s->active--;
    if (x->ei.err) {
        char line[900];
        s->st.failed.n++;
        s->st.failed.bytes += x->size;
        note_error(s, &x->ei);
        struct s3m_log_fields lf = {s->src->remote->name, x->src_bucket, x->src_key, &x->ei};
        s3m_logf(S3M_LOG_ERROR, "sync", &lf, "%s: %s failed: %s", s->label, x->src_key,
                 s3m_errinfo_str(&x->ei, line, sizeof(line)));
    } else {
        struct s3m_sync_counts *c = j->action == S3M_ACT_COPY ? &s->st.copy : &s->st.update;
        c->n++;
        c->bytes += x->size;
        s3m_log(S3M_LOG_INFO, "sync", "%s %s (%" PRIu64 " bytes)%s%s",
                j->action == S3M_ACT_COPY ? "copied" : "updated", x->dst_key, x->size,
                x->note[0] ? ": " : "", x->note);
    }
    s3m_xfer_free(x);
    free(j);
    pump(s);
}

static void start_copy(struct s3m_sync *s, const struct s3m_diff_item *it)
{
    /* the empty relative key is the folder itself (the diff skips it): never written */
    assert(*it->src.key);
    char *sk = join(s->src_prefix, it->src.key), *dk = join(s->dst_prefix, it->src.key);
    struct job_xfer *j = s3m_calloc(1, sizeof(*j));
    j->s = s;
    j->action = it->action;
    s->active++;
    s3m_xfer_start(&s->xctx, s->src_bucket, sk, s->dst_bucket, dk, it->src.size, it->src.etag,
                   xfer_done, j);
    free(sk);
    free(dk);
}

/* --compare checksum: ETags that prove nothing are settled by reading both objects. A
 * multipart pair whose ETags differ with the same part count is settled by one HEAD of the
 * destination: the source ETag it recorded when we copied it (s3m/diff.h). */
struct verify {
    size_t lane;
    struct s3m_sync *s;
    char *key;
    uint64_t size;
    char etag[80];
    char dst_etag[80];
    bool head; /* the destination's HEAD only */
    struct s3m_md5_ctx md5[2];
    struct s3m_s3_req *req[2];
    int running;
};

static size_t verify_write(struct s3m_s3_req *r, const char *d, size_t n, void *ud)
{
    struct verify *v = ud;
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

static void verify_done(struct s3m_s3_req *r, void *ud)
{
    struct verify *v = ud;
    (void)r;
    if (--v->running)
        return;
    struct s3m_sync *s = v->s;
    s->active--;
    s->cur_lane = v->lane;
    s->lanes[v->lane].verifies--;
    uint8_t a[S3M_MD5_LEN], b[S3M_MD5_LEN];
    s3m_md5_final(&v->md5[0], a);
    s3m_md5_final(&v->md5[1], b);
    const struct s3m_errinfo *e = v->req[0]->ei.err || v->head ? &v->req[0]->ei : &v->req[1]->ei;
    bool differ = memcmp(a, b, sizeof(a)) != 0;
    if (v->head && !e->err)
        differ = !recorded_same(v);
    if (e->err) {
        char line[900];
        s->st.failed.n++;
        note_error(s, e);
        struct s3m_log_fields lf = {s->src->remote->name, s->src_bucket, v->key, e};
        s3m_logf(S3M_LOG_ERROR, "sync", &lf, "%s: comparing %s failed: %s", s->label, v->key,
                 s3m_errinfo_str(e, line, sizeof(line)));
    } else if (differ) {
        struct s3m_diff_item it = {.action = S3M_ACT_UPDATE,
                                   .why = v->head ? "ETag differs" : "content differs (MD5)"};
        it.src = (struct s3m_entry){v->key, v->size, v->etag, 0};
        report(s, it.action, v->key, v->size, it.why);
        if (s->o.dry_run || s->o.mode == S3M_MODE_CHECK)
            s->st.update.n++, s->st.update.bytes += v->size;
        else
            start_copy(s, &it);
    } else {
        s->st.skip.n++;
        s->st.skip.bytes += v->size;
        s3m_log(S3M_LOG_INFO, "sync", "%s: %s", v->key,
                v->head ? "same source ETag as recorded at copy time (other part layout)"
                        : "same content (MD5 of both read)");
    }
    for (int i = 0; i < 2; i++) {
        s3m_md5_cleanup(&v->md5[i]);
        s3m_s3_req_free(v->req[i]);
    }
    free(v->key);
    free(v);
    advance_emit(s, false);
    pump(s);
}

static void start_verify(struct s3m_sync *s, const struct s3m_diff_item *it)
{
    struct verify *v = s3m_calloc(1, sizeof(*v));
    v->s = s;
    v->lane = s->cur_lane;
    s->lanes[v->lane].verifies++;
    v->key = s3m_strdup(it->src.key);
    v->size = it->src.size;
    snprintf(v->etag, sizeof(v->etag), "%s", it->src.etag);
    snprintf(v->dst_etag, sizeof(v->dst_etag), "%s", it->dst.etag);
    v->head = it->needs_head;
    s->active++;
    char *sk = join(s->src_prefix, it->src.key), *dk = join(s->dst_prefix, it->src.key);
    if (v->head) {
        v->req[0] = s3m_s3_head_object(s->dst, s->dst_bucket, dk, 0);
    } else {
        v->req[0] = s3m_s3_get_object(s->src, s->src_bucket, sk, NULL, 0, it->src.etag);
        v->req[1] = s3m_s3_get_object(s->dst, s->dst_bucket, dk, NULL, 0, it->dst.etag);
    }
    free(sk);
    free(dk);
    int nreq = v->head ? 1 : 2;
    for (int i = 0; i < 2; i++) {
        s3m_md5_init(&v->md5[i]);
        if (i < nreq)
            v->req[i]->write_cb = verify_write;
    }
    /* a side that fails to start keeps its error in req->ei; verify_done reports it when the
     * other side ends. If neither starts (a broken endpoint), count the failure here: calling
     * verify_done from inside the pump would re-enter it. */
    v->running = nreq;
    for (int i = 0; i < nreq; i++)
        if (s3m_s3_submit(v->req[i], verify_done, v))
            v->running--;
    if (!v->running) {
        s->active--;
        s->lanes[v->lane].verifies--;
        s->st.failed.n++;
        note_error(s, &v->req[0]->ei);
        for (int i = 0; i < 2; i++) {
            s3m_md5_cleanup(&v->md5[i]);
            s3m_s3_req_free(v->req[i]);
        }
        free(v->key);
        free(v);
    }
}

/* The delete list is the one thing on disk a deletion rests on: a short write (a full temp
 * dir, a file-size limit) could glue two keys into one never meant to be deleted. Every write
 * is checked; the list is flushed and read back (s3m_sync_delete) before the first delete. */
static void delete_list_broken(struct s3m_sync *s, const char *what)
{
    if (s->st.delete_list_failed)
        return;
    s->st.delete_list_failed = true;
    struct s3m_errinfo ei;
    s3m_errinfo_set(&ei, S3M_EIO, "delete list (temporary file): %s", what);
    note_error(s, &ei);
    s3m_log(S3M_LOG_ERROR, "sync", "%s: %s", s->label, ei.message);
}

static void remember_delete(struct s3m_sync *s, const struct s3m_entry *e)
{
    assert(*e->key); /* the destination folder's own marker is never deleted */
    if (s->st.delete_list_failed)
        return;
    if (!s->deletes) {
        /* the run's one list, each job's entries in a region of their own (the jobs run one
         * after the other): one descriptor for any number of buckets */
        FILE **shared = s->o.delete_list;
        FILE *f = shared ? *shared : NULL;
        if (!f)
            f = tmpfile(); /* unlinked: gone with the process, whatever happens */
        if (!f) {
            delete_list_broken(s, strerror(errno));
            return;
        }
        if (shared)
            *shared = f;
        s->deletes = f;
        s->own_deletes = !shared;
        if (fseeko(f, 0, SEEK_END) || (s->del_start = ftello(f)) < 0) {
            delete_list_broken(s, strerror(errno));
            return;
        }
        s->del_end = s->del_start;
    }
    int n = fprintf(s->deletes, "%" PRIu64 "%c%s%c", e->size, 0, e->key, 0);
    if (n < 0 || ferror(s->deletes)) {
        delete_list_broken(s, strerror(errno));
        return;
    }
    s->pending_deletes++;
    s->pending_delete_bytes += e->size;
}

static void handle(struct s3m_sync *s, struct s3m_diff_item *it)
{
    switch (it->action) {
    case S3M_ACT_COPY:
    case S3M_ACT_UPDATE:
        report(s, it->action, it->src.key, it->src.size, it->why);
        s->st.planned.n++;
        s->st.planned.bytes += it->src.size;
        if (s->o.dry_run || s->o.mode == S3M_MODE_CHECK) {
            struct s3m_sync_counts *c = it->action == S3M_ACT_COPY ? &s->st.copy : &s->st.update;
            c->n++;
            c->bytes += it->src.size;
        } else {
            start_copy(s, it);
        }
        break;
    case S3M_ACT_DELETE:
        if (s->o.mode == S3M_MODE_COPY) {
            s->st.skip.n++; /* copy never deletes: the extra object stays */
            break;
        }
        report(s, it->action, it->dst.key, it->dst.size, it->why);
        s->st.del.n++;
        s->st.del.bytes += it->dst.size;
        if (!s->o.dry_run && s->o.mode == S3M_MODE_SYNC)
            remember_delete(s, &it->dst);
        break;
    case S3M_ACT_EXCLUDED:
        s->st.excluded.n++;
        break;
    default:
        if (it->folder) {
            folder_marker(s, it);
            break;
        }
        if (it->needs_head) { /* one HEAD of the destination decides (even in a dry run) */
            start_verify(s, it);
            break;
        }
        if (it->needs_content) { /* settled by reading both: identical or an update */
            start_verify(s, it);
            break;
        }
        if (it->unverified) { /* say so in the plan: equality here rests on size and time */
            s->st.unverified.n++;
            report(s, S3M_ACT_SKIP, it->src.key, it->src.size, it->why);
            s3m_log(S3M_LOG_INFO, "sync", "%s: %s", it->src.key, it->why);
        }
        s->st.skip.n++;
        s->st.skip.bytes += it->src.size;
    }
}

/* ---- delete phase ---- */

static void handle_closed(uv_handle_t *h)
{
    ((struct s3m_sync *)h->data)->handles_open--;
}

/* listing requests still out (another lane failed, or the job was stopped) */
static bool lanes_busy(const struct s3m_sync *s)
{
    for (size_t i = 0; i < s->nlanes; i++)
        if (s->lanes[i].lsrc.inflight || s->lanes[i].ldst.inflight)
            return true;
    return false;
}

static void finish(struct s3m_sync *s)
{
    s->finished = true;
    s->deleting = false;
    uv_close((uv_handle_t *)&s->sigint, handle_closed);
    uv_close((uv_handle_t *)&s->sigterm, handle_closed);
    if (s->del_phase) /* the rest was closed at the end of the copy phase */
        return;
    advance_emit(s, true);
    for (size_t i = 0; i < s->nlanes; i++) { /* the run waits for them to come back */
        if (s->lanes[i].lsrc.inflight)
            s3m_s3_cancel(s->lanes[i].lsrc.inflight);
        if (s->lanes[i].ldst.inflight)
            s3m_s3_cancel(s->lanes[i].ldst.inflight);
    }
    s3m_xfer_ctx_close(&s->xctx);
    if (s->o.progress_ms && s->o.progress) {
        uv_close((uv_handle_t *)&s->progress_timer, handle_closed);
        s->o.progress(s, s->o.progress_ud);
    }
}

uint64_t s3m_sync_bytes_done(const struct s3m_sync *s)
{
    uint64_t done = s->st.copy.bytes + s->st.update.bytes;
    if (s->o.dry_run || s->o.mode == S3M_MODE_CHECK)
        return done;
    return s->xctx.bytes_streamed > done ? s->xctx.bytes_streamed : done;
}

static void on_progress(uv_timer_t *t)
{
    struct s3m_sync *s = t->data;
    s->o.progress(s, s->o.progress_ud);
}

static void delete_next(struct s3m_sync *s);
static void on_signal(uv_signal_t *h, int signum);
static void start_signals(struct s3m_sync *s);

static void free_batch(struct s3m_sync *s)
{
    for (size_t i = 0; i < s->del_n; i++) {
        free(s->del_batch[i]);
        s->del_failed[i] = false;
    }
    s->del_n = 0;
}

static void delete_done(struct s3m_s3_req *r, void *ud)
{
    struct s3m_sync *s = ud;
    s->del_req = NULL;
    if (r->ei.err) {
        char line[900];
        s->st.delete_errors += s->del_n;
        note_error(s, &r->ei);
        struct s3m_log_fields lf = {s->dst->remote->name, s->dst_bucket, NULL, &r->ei};
        s3m_logf(S3M_LOG_ERROR, "sync", &lf, "%s: deleting %zu objects failed: %s", s->label,
                 s->del_n, s3m_errinfo_str(&r->ei, line, sizeof(line)));
    } else {
        s->st.deleted += s->del_n;
        for (size_t i = 0; i < s->del_n; i++)
            s->st.deleted_bytes += s->del_sizes[i];
    }
    if (!r->ei.err && r->xml && r->xml->kind == S3M_XML_DELETE) {
        /* only keys of this batch, each once, come off the count (a server that names other
         * keys, or one key twice, cannot make it wrap) */
        for (size_t i = 0; i < r->xml->del.nerrors; i++) {
            const struct s3m_xml_deleted *e = &r->xml->del.errors[i];
            for (size_t k = 0; e->key && k < s->del_n; k++)
                if (!s->del_failed[k] && !strcmp(s->del_batch[k], e->key)) {
                    s->st.deleted--;
                    s->st.deleted_bytes -= s->del_sizes[k];
                    s->del_failed[k] = true; /* a key named twice is subtracted once */
                    break;
                }
            s->st.delete_errors++;
            struct s3m_errinfo ei;
            s3m_errinfo_clear(&ei);
            ei.err = S3M_ES3;
            snprintf(ei.code, sizeof(ei.code), "%s", e->code ? e->code : "");
            snprintf(ei.message, sizeof(ei.message), "deleting %s: %s", e->key ? e->key : "?",
                     e->message ? e->message : "");
            note_error(s, &ei);
            struct s3m_log_fields lf = {s->dst->remote->name, s->dst_bucket, e->key, &ei};
            s3m_logf(S3M_LOG_ERROR, "sync", &lf, "%s: could not delete %s: %s %s", s->label,
                     e->key ? e->key : "?", ei.code, e->message ? e->message : "");
        }
    }
    if (!r->ei.err && s->o.plan) {
        size_t plen = strlen(s->dst_prefix);
        for (size_t k = 0; k < s->del_n; k++)
            if (!s->del_failed[k]) {
                fputs("{\"action\":\"delete\",\"bucket\":", s->o.plan);
                s3m_json_fput(s->o.plan, s->dst_bucket);
                fputs(",\"key\":", s->o.plan);
                s3m_json_fput(s->o.plan, s->del_batch[k] + plen);
                fprintf(s->o.plan, ",\"size\":%" PRIu64 ",\"why\":", s->del_sizes[k]);
                s3m_json_fput(s->o.plan, "not on source");
                fputs("}\n", s->o.plan);
            }
    }
    s3m_s3_req_free(r);
    free_batch(s);
    delete_next(s);
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

static bool read_entry(FILE *f, struct s3m_buf *size, struct s3m_buf *key)
{
    s3m_buf_reset(size);
    s3m_buf_reset(key);
    int c;
    while ((c = fgetc(f)) != EOF && c)
        s3m_buf_addc(size, (char)c);
    if (c == EOF)
        return false;
    while ((c = fgetc(f)) != EOF && c)
        s3m_buf_addc(key, (char)c);
    return c == 0;
}

static void delete_next(struct s3m_sync *s)
{
    if (s->aborted) { /* interrupted between batches: no further deletes */
        finish(s);
        return;
    }
    struct s3m_buf size, key;
    s3m_buf_init(&size);
    s3m_buf_init(&key);
    bool single = false;
    while (s->del_n < DELETE_BATCH && ftello(s->deletes) < s->del_end &&
           read_entry(s->deletes, &size, &key)) {
        char *full = join(s->dst_prefix, s3m_buf_str(&key));
        if (!xml_safe(full)) {
            if (s->del_n) { /* send the batch first, then this key on its own */
                fseek(s->deletes, -(long)(size.len + key.len + 2), SEEK_CUR);
                free(full);
                break;
            }
            s->del_sizes[s->del_n] = strtoull(s3m_buf_str(&size), NULL, 10);
            s->del_batch[s->del_n++] = full;
            single = true;
            break;
        }
        s->del_sizes[s->del_n] = strtoull(s3m_buf_str(&size), NULL, 10);
        s->del_batch[s->del_n++] = full;
    }
    s3m_buf_cleanup(&size);
    s3m_buf_cleanup(&key);
    if (!s->del_n) {
        finish(s);
        return;
    }
    struct s3m_s3_req *r = single
        ? s3m_s3_delete_object(s->dst, s->dst_bucket, s->del_batch[0])
        : s3m_s3_delete_objects(s->dst, s->dst_bucket, (const char *const *)s->del_batch,
                                s->del_n);
    s->del_req = r;
    if (s3m_s3_submit(r, delete_done, s)) {
        note_error(s, &r->ei);
        s->st.delete_errors += s->del_n;
        s3m_s3_req_free(r);
        free_batch(s);
        finish(s);
    }
}

/* Read the delete list back before anything is deleted: exactly the entries written (count
 * and bytes), each a decimal size and a key, nothing after the last one. */
static bool delete_list_reads_back(struct s3m_sync *s, char *why, size_t n)
{
    if (!s->deletes) {
        snprintf(why, n, "no delete list for %" PRIu64 " deletion(s)", s->st.del.n);
        return false;
    }
    if (fflush(s->deletes) || ferror(s->deletes)) {
        snprintf(why, n, "writing it failed: %s", strerror(errno));
        return false;
    }
    if (fseeko(s->deletes, s->del_start, SEEK_SET)) {
        snprintf(why, n, "seeking in it failed: %s", strerror(errno));
        return false;
    }
    struct s3m_buf size, key;
    s3m_buf_init(&size);
    s3m_buf_init(&key);
    uint64_t count = 0, bytes = 0;
    bool ok = true;
    for (;;) {
        off_t pos = ftello(s->deletes);
        if (pos < 0 || pos > s->del_end) {
            ok = false;
            break;
        }
        if (pos == s->del_end)
            break;
        if (!read_entry(s->deletes, &size, &key)) { /* an entry cut short */
            ok = false;
            break;
        }
        const char *sz = s3m_buf_str(&size);
        ok = size.len && size.len < 21 && strspn(sz, "0123456789") == size.len;
        count++;
        if (!ok)
            break;
        bytes += strtoull(sz, NULL, 10);
    }
    /* a clean end, between entries, exactly where the job's region ends */
    ok = ok && !ferror(s->deletes) && ftello(s->deletes) == s->del_end;
    s3m_buf_cleanup(&size);
    s3m_buf_cleanup(&key);
    if (!ok || count != s->pending_deletes || count != s->st.del.n ||
        bytes != s->pending_delete_bytes || bytes != s->st.del.bytes) {
        snprintf(why, n, "it reads back as %" PRIu64 " entries (%" PRIu64 " bytes)%s where %"
                 PRIu64 " (%" PRIu64 " bytes) were decided", count, bytes,
                 ok ? "" : ", malformed", s->st.del.n, s->st.del.bytes);
        return false;
    }
    if (fseeko(s->deletes, s->del_start, SEEK_SET)) {
        snprintf(why, n, "seeking in it failed: %s", strerror(errno));
        return false;
    }
    return true;
}

bool s3m_sync_refusal(struct s3m_sync *s, char *why, size_t n)
{
    char what[400];
    if (s->aborted)
        snprintf(why, n, "interrupted");
    else if (s->st.listing_failed)
        snprintf(why, n, "a listing did not complete");
    else if (s->st.failed.n)
        snprintf(why, n, "%" PRIu64 " object(s) failed to copy", s->st.failed.n);
    else if (s->st.delete_list_failed)
        snprintf(why, n, "the delete list could not be written");
    else if (s->st.src_scope == 0 && s->st.dst_scope > 0 && !s->o.allow_empty_source)
        snprintf(why, n, "the source listing is empty (no object in scope) and the destination "
                 "holds %" PRIu64 " objects in scope (use --allow-empty-source if that is meant)",
                 s->st.dst_scope);
    else if (s->o.mode == S3M_MODE_SYNC && !s->o.dry_run && s->st.del.n &&
             !delete_list_reads_back(s, what, sizeof(what))) {
        s->st.delete_list_failed = true;
        struct s3m_errinfo ei;
        s3m_errinfo_set(&ei, S3M_EIO, "delete list (temporary file): %s", what);
        note_error(s, &ei);
        s3m_log(S3M_LOG_ERROR, "sync", "%s: %s", s->label, ei.message);
        snprintf(why, n, "the delete list on disk does not read back as written");
    } else
        return false;
    return true;
}

bool s3m_sync_over_cap(const struct s3m_sync_opts *o, uint64_t ndel, uint64_t ndst, char *why,
                       size_t n)
{
    if (o->max_delete >= 0 && (int64_t)ndel > o->max_delete)
        snprintf(why, n, "%" PRIu64 " deletions exceed --max-delete %" PRId64, ndel,
                 o->max_delete);
    else if (o->max_delete_pct >= 0 && ndst &&
             100.0 * (double)ndel / (double)ndst > o->max_delete_pct)
        snprintf(why, n, "%" PRIu64 " deletions are %.1f%% of the destination, over "
                 "--max-delete %g%%", ndel, 100.0 * (double)ndel / (double)ndst,
                 o->max_delete_pct);
    else
        return false;
    return true;
}

void s3m_sync_refuse(struct s3m_sync *s, const char *why)
{
    if (s->o.mode != S3M_MODE_SYNC || !s->st.del.n || s->st.delete_refused)
        return;
    s->st.delete_refused = true;
    snprintf(s->st.refused_why, sizeof(s->st.refused_why), "%s", why);
    s3m_log(S3M_LOG_ERROR, "sync", "%s: %s %" PRIu64 " deletion(s): %s", s->label,
            s->o.dry_run ? "would not run" : "not deleting", s->st.del.n, why);
}

void s3m_sync_delete(struct s3m_sync *s)
{
    if (s->o.mode != S3M_MODE_SYNC || s->o.dry_run || !s->st.del.n || s->st.delete_refused)
        return;
    /* s3m_sync_refusal read the list back; the run's other jobs read theirs since */
    assert(s->deletes && s->pending_deletes == s->st.del.n && !s->st.delete_list_failed);
    if (fseeko(s->deletes, s->del_start, SEEK_SET)) {
        struct s3m_errinfo ei;
        s3m_errinfo_set(&ei, S3M_EIO, "delete list (temporary file): %s", strerror(errno));
        note_error(s, &ei);
        s->st.delete_errors += s->st.del.n;
        return;
    }
    s->del_phase = s->deleting = true;
    s->finished = false;
    start_signals(s);
    s->del_batch = s3m_calloc(DELETE_BATCH, sizeof(char *));
    s->del_sizes = s3m_calloc(DELETE_BATCH, sizeof(uint64_t));
    s->del_failed = s3m_calloc(DELETE_BATCH, sizeof(bool));
    delete_next(s);
    while (!s->finished || s->handles_open)
        uv_run(&s->src->loop->uv, UV_RUN_ONCE);
}

void s3m_sync_release(struct s3m_sync *s)
{
    for (size_t i = 0; i < s->nlanes; i++) {
        if (s->lanes[i].spill_report)
            fclose(s->lanes[i].spill_report);
        if (s->lanes[i].spill_plan)
            fclose(s->lanes[i].spill_plan);
        s3m_lister_cleanup(&s->lanes[i].lsrc);
        if (!s->o.dst_absent)
            s3m_lister_cleanup(&s->lanes[i].ldst);
    }
    free(s->lanes);
    s->lanes = NULL;
    s->nlanes = 0;
    s3m_sample_cleanup(&s->sample);
}

/* ---- stale multipart uploads ----
 *
 * A run killed with SIGKILL (or a lost pod) cannot abort its multipart uploads: their parts stay
 * on the destination, invisible and billed. The keys a sync mirrors belong to it (it deletes
 * whatever the source lacks), so after a clean copy phase a sync aborts the uploads of its keys
 * (see sweep_owns) that were initiated before this run began. A dry run lists them. Never after
 * a failed listing or copy, nor when interrupted: the same rules as deletions. */

static void sweep_step(struct s3m_sync *s);

static void sweep_finish(struct s3m_sync *s)
{
    s->sweeping = false;
    s3m_s3_req_free(s->sweep_list);
    s->sweep_list = NULL;
    free(s->sweep_key_marker);
    free(s->sweep_id_marker);
    s->sweep_key_marker = s->sweep_id_marker = NULL;
    finish(s);
}

static void sweep_failed(struct s3m_sync *s, const struct s3m_errinfo *ei)
{
    char line[900];
    struct s3m_log_fields lf = {s->dst->remote->name, s->dst_bucket, NULL, ei};
    /* not fatal: the uploads stay until the next run; the listing some servers lack is fine */
    s3m_logf(ei->http_status == 501 ? S3M_LOG_INFO : S3M_LOG_WARN, "sync", &lf,
             "%s: cannot look for stale multipart uploads: %s", s->label,
             s3m_errinfo_str(ei, line, sizeof(line)));
    sweep_finish(s);
}

static void sweep_aborted(struct s3m_s3_req *r, void *ud)
{
    struct s3m_sync *s = ud;
    if (r->ei.err && r->ei.http_status != 404) { /* 404: gone meanwhile, fine */
        char line[900];
        struct s3m_log_fields lf = {s->dst->remote->name, s->dst_bucket, r->key, &r->ei};
        s3m_logf(S3M_LOG_WARN, "sync", &lf, "%s: could not abort stale upload of %s: %s",
                 s->label, r->key, s3m_errinfo_str(&r->ei, line, sizeof(line)));
    } else {
        s->st.stale_uploads++;
    }
    s3m_s3_req_free(r);
    sweep_step(s);
}

static void sweep_listed(struct s3m_s3_req *r, void *ud)
{
    struct s3m_sync *s = ud;
    if (r->ei.err || !r->xml || r->xml->kind != S3M_XML_UPLOADS) {
        struct s3m_errinfo ei = r->ei;
        if (!ei.err)
            s3m_errinfo_set(&ei, S3M_EXML, "ListMultipartUploads: unexpected reply");
        sweep_failed(s, &ei);
        return;
    }
    s->sweep_next = 0;
    sweep_step(s);
}

/* an upload this job may abort: its key (relative) is one the job mirrors - in its shard, in
 * its key range, not excluded by a glob. Another shard's live upload is not ours. */
static bool sweep_owns(const struct s3m_sync *s, const char *rel)
{
    if (!*rel) /* an upload of the folder's own marker: no key this job writes */
        return false;
    if (s->o.filter && !s3m_filter_match_name(s->o.filter, rel))
        return false;
    /* the job's key range (the caller's bounds are gone by now: copies of its ends) */
    if (s->sweep_lo && strcmp(rel, s->sweep_lo) < 0)
        return false;
    if (s->sweep_hi && strcmp(rel, s->sweep_hi) >= 0)
        return false;
    return true;
}

static void sweep_step(struct s3m_sync *s)
{
    struct s3m_s3_req *l = s->sweep_list;
    if (l) {
        const struct s3m_xml_uploads *u = &l->xml->uploads;
        while (s->sweep_next < u->nuploads && !s->aborted) { /* a stop ends the sweep */
            const struct s3m_xml_upload *up = &u->uploads[s->sweep_next++];
            int64_t t = up->initiated ? s3m_parse_time(up->initiated) : 0;
            if (!up->key || !up->upload_id || t <= 0 || t >= s->started)
                continue;
            if (strncmp(up->key, s->dst_prefix, strlen(s->dst_prefix)) ||
                !sweep_owns(s, up->key + strlen(s->dst_prefix)))
                continue;
            if (s->o.dry_run) {
                s->st.stale_uploads++;
                if (s->o.report) {
                    fprintf(s->o.report, "%-6s %12s ", "abort", "-");
                    esc_key(s->o.report, up->key + strlen(s->dst_prefix));
                    fprintf(s->o.report, "  (multipart upload left by an earlier run, "
                            "initiated %s)\n", up->initiated);
                }
                continue;
            }
            s3m_log(S3M_LOG_NOTICE, "sync", "%s: aborting multipart upload of %s initiated %s "
                    "(left by an earlier run)", s->label, up->key, up->initiated);
            struct s3m_s3_req *a = s3m_s3_abort_mpu(s->dst, s->dst_bucket, up->key,
                                                    up->upload_id);
            if (s3m_s3_submit(a, sweep_aborted, s)) {
                s3m_s3_req_free(a);
                continue;
            }
            return;
        }
        if (!u->is_truncated || !u->next_key_marker || s->aborted) {
            sweep_finish(s);
            return;
        }
        free(s->sweep_key_marker);
        free(s->sweep_id_marker);
        s->sweep_key_marker = s3m_strdup(u->next_key_marker);
        s->sweep_id_marker = u->next_upload_id_marker ? s3m_strdup(u->next_upload_id_marker)
                                                      : NULL;
        s3m_s3_req_free(l);
    }
    s->sweep_list = s3m_s3_list_mpu(s->dst, s->dst_bucket, s->dst_prefix, s->sweep_key_marker,
                                    s->sweep_id_marker);
    if (s3m_s3_submit(s->sweep_list, sweep_listed, s))
        sweep_failed(s, &s->sweep_list->ei);
}

static void end_of_copies(struct s3m_sync *s)
{
    s3m_sync_listed(s, &s->st.src_keys, &s->st.dst_keys);
    if (s->deletes && !s->st.delete_list_failed && (s->del_end = ftello(s->deletes)) < 0)
        delete_list_broken(s, strerror(errno)); /* the region of this job ends here */
    s->st.src_scope = s->st.dst_scope = 0;
    for (size_t i = 0; i < s->nlanes; i++) {
        s->st.src_scope += s->lanes[i].diff.nsrc_scope;
        s->st.dst_scope += s->lanes[i].diff.ndst_scope;
    }
    /* deletions and the stale-upload sweep wait for the run's one decision (s3m_sync_refusal,
     * s3m_sync_over_cap over every job of the run), then s3m_sync_delete and s3m_sync_sweep */
    finish(s);
}

static void start_signals(struct s3m_sync *s)
{
    uv_signal_init(&s->src->loop->uv, &s->sigint);
    uv_signal_init(&s->src->loop->uv, &s->sigterm);
    s->sigint.data = s->sigterm.data = s;
    uv_signal_start(&s->sigint, on_signal, SIGINT);
    uv_signal_start(&s->sigterm, on_signal, SIGTERM);
    s->handles_open += 2;
}

void s3m_sync_sweep(struct s3m_sync *s)
{
    if (s->swept || s->o.mode != S3M_MODE_SYNC || s->o.dst_absent || s->aborted ||
        s->st.listing_failed || s->st.failed.n || s->st.delete_refused)
        return;
    s->del_phase = true; /* the copy phase is closed: finish() only closes the signals */
    s->finished = false;
    s->swept = s->sweeping = true;
    start_signals(s);
    sweep_step(s);
    while (!s->finished || s->handles_open)
        uv_run(&s->src->loop->uv, UV_RUN_ONCE);
}

/* ---- the pump ---- */

size_t s3m_sync_learned_bounds(struct s3m_sync *s, size_t want, char ***out)
{
    *out = NULL;
    /* a few pages are listed in a few round trips: not worth ranges */
    if (s->st.listing_failed || want < 2 || s->sample.seen < 10000)
        return 0;
    return s3m_sample_bounds(&s->sample, want, true, out);
}

static void lane_failed(struct s3m_sync *s, struct s3m_sync_lane *ln)
{
    s->listing_done = true;
    s->st.listing_failed = true;
    /* say which side: "listing osl1:bucket/prefix: <what>" */
    bool src_side = ln->lsrc.failed;
    const struct s3m_lister *l = src_side ? &ln->lsrc : &ln->ldst;
    const char *remote = (src_side ? s->src : s->dst)->remote->name;
    struct s3m_errinfo ei = l->ei;
    char msg[1200];
    snprintf(msg, sizeof(msg), "listing %s:%s%s%s: %s", remote, l->bucket, *l->prefix ? "/" : "",
             l->prefix, ei.message);
    size_t n = strlen(msg) < sizeof(ei.message) ? strlen(msg) : sizeof(ei.message) - 1;
    memcpy(ei.message, msg, n);
    ei.message[n] = 0;
    note_error(s, &ei);
    struct s3m_log_fields lf = {remote, l->bucket, NULL, &ei};
    s3m_logf(S3M_LOG_DEBUG, "sync", &lf, "%s", msg);
}

void s3m_sync_listed(const struct s3m_sync *s, uint64_t *nsrc, uint64_t *ndst)
{
    *nsrc = *ndst = 0;
    for (size_t i = 0; i < s->nlanes; i++) {
        *nsrc += s->lanes[i].diff.nsrc;
        *ndst += s->lanes[i].diff.ndst;
    }
}

static void pump(struct s3m_sync *s)
{
    if (s->finished || s->deleting || s->sweeping)
        return;
    /* one decision per lane in turn, so that every lane's listing keeps moving */
    bool progressed = true;
    while (progressed && !s->listing_done && !s->aborted && s->active < s->o.transfers) {
        progressed = false;
        for (size_t n = 0; n < s->nlanes && !s->listing_done && !s->aborted &&
                           s->active < s->o.transfers; n++) {
            struct s3m_sync_lane *ln = &s->lanes[s->lane_next];
            s->lane_next = (s->lane_next + 1) % s->nlanes;
            if (ln->done)
                continue;
            struct s3m_diff_item it;
            enum s3m_pull p = s3m_diff_next(&ln->diff, &it);
            if (p == S3M_PULL_WAIT)
                continue;
            progressed = true;
            if (p == S3M_PULL_END) {
                ln->done = true;
                if (++s->lanes_done == s->nlanes)
                    s->listing_done = true;
                advance_emit(s, false);
                continue;
            }
            if (p == S3M_PULL_ERROR) {
                lane_failed(s, ln);
                break;
            }
            s->cur_lane = (size_t)(ln - s->lanes);
            if (s->o.learn && it.src.key)
                s3m_sample_add(&s->sample, it.src.key);
            handle(s, &it);
        }
    }
    if ((s->listing_done || s->aborted) && s->active == 0)
        end_of_copies(s);
}

static void on_ready(struct s3m_lister *l, void *ud)
{
    (void)l;
    pump(ud);
}

void s3m_sync_run(struct s3m_sync *s, const struct s3m_sync_opts *o, struct s3m_s3 *src,
                  const char *src_bucket, const char *src_prefix, struct s3m_s3 *dst,
                  const char *dst_bucket, const char *dst_prefix, const char *label)
{
    memset(s, 0, sizeof(*s));
    s->o = *o;
    if (s->o.transfers < 1)
        s->o.transfers = 1;
    s->src = src;
    s->dst = dst;
    s->src_bucket = s3m_strdup(src_bucket);
    s->src_prefix = s3m_strdup(src_prefix);
    s->dst_bucket = s3m_strdup(dst_bucket);
    s->dst_prefix = s3m_strdup(dst_prefix);
    s->label = label;
    s->started = (int64_t)time(NULL);
    if (o->nlanes && o->bounds[0])
        s->sweep_lo = s3m_strdup(o->bounds[0]);
    if (o->nlanes && o->bounds[o->nlanes])
        s->sweep_hi = s3m_strdup(o->bounds[o->nlanes]);
    s3m_xfer_ctx_init(&s->xctx, src, dst);
    uv_signal_init(&src->loop->uv, &s->sigint);
    uv_signal_init(&src->loop->uv, &s->sigterm);
    s->sigint.data = s->sigterm.data = s;
    uv_signal_start(&s->sigint, on_signal, SIGINT);
    uv_signal_start(&s->sigterm, on_signal, SIGTERM);
    s->handles_open = 2;
    if (o->progress_ms && o->progress) {
        uv_timer_init(&src->loop->uv, &s->progress_timer);
        s->progress_timer.data = s;
        uv_timer_start(&s->progress_timer, on_progress, o->progress_ms, o->progress_ms);
        s->handles_open++;
    }
    s->xctx.server_side = o->server_side;
    if (o->part_concurrency > 0)
        s->xctx.part_concurrency = o->part_concurrency;
    if (o->buffer_size)
        s->xctx.buffer_size = o->buffer_size;
    if (o->attempts > 0)
        s->xctx.attempts = o->attempts;
    if (o->multipart_threshold)
        s->xctx.single_max = o->multipart_threshold;
    if (o->chunk_size)
        s->xctx.chunk_size = o->chunk_size;
    s3m_sample_init(&s->sample, 4096);
    s->nlanes = o->nlanes ? o->nlanes : 1;
    s->lanes = s3m_calloc(s->nlanes, sizeof(*s->lanes));
    for (size_t i = 0; i < s->nlanes; i++) {
        struct s3m_sync_lane *ln = &s->lanes[i];
        const char *lo = o->nlanes ? o->bounds[i] : NULL, *hi = o->nlanes ? o->bounds[i + 1] : NULL;
        char *slo = lo ? join(src_prefix, lo) : NULL, *shi = hi ? join(src_prefix, hi) : NULL;
        char *dlo = lo ? join(dst_prefix, lo) : NULL, *dhi = hi ? join(dst_prefix, hi) : NULL;
        s3m_lister_start_range(&ln->lsrc, src, src_bucket, src_prefix, slo, shi, o->max_keys,
                               on_ready, s);
        struct s3m_stream dst_stream = {side_peek, side_advance, &ln->ldst};
        if (o->dst_absent)
            dst_stream.peek = empty_peek;
        else
            s3m_lister_start_range(&ln->ldst, dst, dst_bucket, dst_prefix, dlo, dhi,
                                   o->max_keys, on_ready, s);
        s3m_diff_init(&ln->diff, (struct s3m_stream){side_peek, side_advance, &ln->lsrc},
                      dst_stream, o->filter, o->compare);
        free(slo), free(shi), free(dlo), free(dhi);
    }
    if (o->stopped)
        s3m_sync_abort(s);
    while (!s->finished || !s->xctx.close_done || s->handles_open || lanes_busy(s))
        uv_run(&src->loop->uv, UV_RUN_ONCE);
}

void s3m_sync_abort(struct s3m_sync *s)
{
    if (s->aborted)
        return;
    s->aborted = true;
    s3m_xfer_ctx_stop(&s->xctx);
    pump(s);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct s3m_sync *s = h->data;
    if (s->signal) {
        fprintf(stderr, "s3mirror: second signal: exiting now\n");
        _exit(128 + signum);
    }
    s->signal = signum;
    if (s->del_phase)
        s3m_log(S3M_LOG_NOTICE, "sync", "%s: %s received: stopping (no further deletions; %"
                PRIu64 " of %" PRIu64 " deleted so far, the batch in flight ends); send it "
                "again to exit at once", s->label, signum == SIGINT ? "SIGINT" : "SIGTERM",
                s->st.deleted, s->st.del.n);
    else
        s3m_log(S3M_LOG_NOTICE, "sync", "%s: %s received: stopping (no new copies, multipart "
                "uploads aborted, nothing deleted); send it again to exit at once", s->label,
                signum == SIGINT ? "SIGINT" : "SIGTERM");
    s3m_sync_abort(s);
}

void s3m_sync_cleanup(struct s3m_sync *s)
{
    s3m_sync_release(s);
    if (s->deletes && s->own_deletes)
        fclose(s->deletes); /* a shared one is the caller's */
    free(s->del_batch);
    free(s->del_sizes);
    free(s->del_failed);
    free(s->sweep_lo);
    free(s->sweep_hi);
    free(s->src_bucket);
    free(s->src_prefix);
    free(s->dst_bucket);
    free(s->dst_prefix);
}
