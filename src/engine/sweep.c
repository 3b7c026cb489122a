/* sweep.c - the stale multipart-upload sweep: ListMultipartUploads pages under the destination
 * prefix, one AbortMultipartUpload at a time for the job's own stale uploads. A small state
 * machine (LISTING -> SCANNING -> ABORTING -> SCANNING ... -> DONE); the job hears of each
 * upload and of the end through its callbacks. Never after a failed listing or copy, nor when
 * interrupted: the job starts it only when its deletions are allowed. */
#include "sweep_int.h"
#include "s3m/log.h"
#include "s3m/util.h"

#include <stdlib.h>
#include <string.h>

enum sweep_state { SWEEP_LISTING, SWEEP_SCANNING, SWEEP_ABORTING, SWEEP_DONE };

static const char *const state_names[] = {"LISTING", "SCANNING", "ABORTING", "DONE"};

struct s3m_sweep {
    struct s3m_sweep_cfg cfg;
    const struct s3m_sweep_cbs *cbs;
    void *ud;
    enum sweep_state state;           /* drives control; set only through set_state */
    struct s3m_s3_req *list;          /* the page being walked */
    size_t next;                      /* its next upload to look at */
    const struct s3m_xml_upload *cur; /* the upload whose abort is out */
    char *key_marker, *id_marker;
};

static void set_state(struct s3m_sweep *sw, enum sweep_state st)
{
    s3m_log(S3M_LOG_DEBUG, "sync", "%s: sweep %s -> %s", sw->cfg.label, state_names[sw->state],
            state_names[st]);
    sw->state = st;
}

static void scan(struct s3m_sweep *sw);

static void finish(struct s3m_sweep *sw)
{
    set_state(sw, SWEEP_DONE);
    sw->cbs->done(sw->ud);
}

static void list_failed(struct s3m_sweep *sw, const struct s3m_errinfo *ei)
{
    char line[900];
    struct s3m_log_fields lf = {sw->cfg.dst->remote->name, sw->cfg.bucket, NULL, ei};
    /* not fatal: the uploads stay until the next run; the listing some servers lack is fine */
    s3m_logf(ei->http_status == 501 ? S3M_LOG_INFO : S3M_LOG_WARN, "sync", &lf,
             "%s: cannot look for stale multipart uploads: %s", sw->cfg.label,
             s3m_errinfo_str(ei, line, sizeof(line)));
    finish(sw);
}

static void aborted(struct s3m_s3_req *r, void *ud)
{
    struct s3m_sweep *sw = ud;
    if (r->ei.err && r->ei.http_status != 404) {
        char line[900];
        struct s3m_log_fields lf = {sw->cfg.dst->remote->name, sw->cfg.bucket, r->key, &r->ei};
        s3m_logf(S3M_LOG_WARN, "sync", &lf, "%s: could not abort stale upload of %s: %s",
                 sw->cfg.label, r->key, s3m_errinfo_str(&r->ei, line, sizeof(line)));
    } else { /* aborted, or 404: gone meanwhile, which is what the abort was for */
        sw->cbs->upload(sw->ud, sw->cur->key + strlen(sw->cfg.prefix), sw->cur->initiated, true);
    }
    s3m_s3_req_free(r);
    sw->cur = NULL;
    set_state(sw, SWEEP_SCANNING);
    scan(sw);
}

static void listed(struct s3m_s3_req *r, void *ud)
{
    struct s3m_sweep *sw = ud;
    if (r->ei.err || !r->xml || r->xml->kind != S3M_XML_UPLOADS) {
        struct s3m_errinfo ei = r->ei;
        if (!ei.err)
            s3m_errinfo_set(&ei, S3M_EXML, "ListMultipartUploads: unexpected reply");
        list_failed(sw, &ei);
        return;
    }
    sw->next = 0;
    set_state(sw, SWEEP_SCANNING);
    scan(sw);
}

static void request_page(struct s3m_sweep *sw)
{
    set_state(sw, SWEEP_LISTING);
    s3m_s3_req_free(sw->list);
    sw->list = s3m_s3_list_mpu(sw->cfg.dst, sw->cfg.bucket, sw->cfg.prefix, sw->key_marker,
                               sw->id_marker);
    if (s3m_s3_submit(sw->list, listed, sw))
        list_failed(sw, &sw->list->ei);
}

/* an upload this job may abort: its key (relative) is one the job mirrors - in its shard, in
 * its key range, not excluded by a glob. Another shard's live upload is not ours. */
static bool owns(const struct s3m_sweep *sw, const char *rel)
{
    if (!*rel) /* an upload of the folder's own marker: no key this job writes */
        return false;
    if (sw->cfg.filter && !s3m_filter_match_name(sw->cfg.filter, rel))
        return false;
    if (sw->cfg.lo && strcmp(rel, sw->cfg.lo) < 0)
        return false;
    if (sw->cfg.hi && strcmp(rel, sw->cfg.hi) >= 0)
        return false;
    return true;
}

static bool stale_and_ours(const struct s3m_sweep *sw, const struct s3m_xml_upload *up)
{
    int64_t t = up->initiated ? s3m_parse_time(up->initiated) : 0;
    if (!up->key || !up->upload_id || t <= 0 || t >= sw->cfg.started)
        return false;
    size_t plen = strlen(sw->cfg.prefix);
    return !strncmp(up->key, sw->cfg.prefix, plen) && owns(sw, up->key + plen);
}

/* true: an abort is out, scanning goes on when it is back */
static bool try_abort(struct s3m_sweep *sw, const struct s3m_xml_upload *up)
{
    if (sw->cfg.dry_run) {
        sw->cbs->upload(sw->ud, up->key + strlen(sw->cfg.prefix), up->initiated, false);
        return false;
    }
    s3m_log(S3M_LOG_NOTICE, "sync",
            "%s: aborting multipart upload of %s initiated %s "
            "(left by an earlier run)",
            sw->cfg.label, up->key, up->initiated);
    struct s3m_s3_req *a = s3m_s3_abort_mpu(sw->cfg.dst, sw->cfg.bucket, up->key, up->upload_id);
    if (s3m_s3_submit(a, aborted, sw)) {
        s3m_s3_req_free(a);
        return false;
    }
    sw->cur = up;
    set_state(sw, SWEEP_ABORTING);
    return true;
}

static void scan(struct s3m_sweep *sw)
{
    const struct s3m_xml_uploads *u = &sw->list->xml->uploads;
    bool stop = sw->cbs->stopped(sw->ud);
    while (sw->next < u->nuploads && !stop) { /* a stop ends the sweep */
        const struct s3m_xml_upload *up = &u->uploads[sw->next++];
        if (stale_and_ours(sw, up) && try_abort(sw, up))
            return;
        stop = sw->cbs->stopped(sw->ud);
    }
    if (u->is_truncated && !stop && !s3m__uploads_more(u, sw->key_marker, sw->id_marker))
        s3m_log(S3M_LOG_INFO, "sync",
                "%s: the listing of multipart uploads does not advance: the sweep ends here",
                sw->cfg.label);
    if (!s3m__uploads_more(u, sw->key_marker, sw->id_marker) || stop) {
        finish(sw);
        return;
    }
    free(sw->key_marker);
    free(sw->id_marker);
    sw->key_marker = s3m_strdup(u->next_key_marker);
    sw->id_marker = u->next_upload_id_marker ? s3m_strdup(u->next_upload_id_marker) : NULL;
    request_page(sw);
}

bool s3m__uploads_more(const struct s3m_xml_uploads *u, const char *key_marker,
                       const char *id_marker)
{
    if (!u->is_truncated || !u->next_key_marker || !*u->next_key_marker)
        return false;
    int k = key_marker ? strcmp(u->next_key_marker, key_marker) : 1;
    if (k) /* keys come in order: a next marker before the one asked with goes back */
        return k > 0;
    const char *id = u->next_upload_id_marker ? u->next_upload_id_marker : "";
    return *id && strcmp(id, id_marker ? id_marker : "");
}

struct s3m_sweep *s3m__sweep_start(const struct s3m_sweep_cfg *cfg, const struct s3m_sweep_cbs *cbs,
                                   void *ud)
{
    struct s3m_sweep *sw = s3m_calloc(1, sizeof(*sw));
    sw->cfg = *cfg;
    sw->cbs = cbs;
    sw->ud = ud;
    request_page(sw);
    return sw;
}

void s3m__sweep_free(struct s3m_sweep *sw)
{
    if (!sw)
        return;
    s3m_s3_req_free(sw->list);
    free(sw->key_marker);
    free(sw->id_marker);
    free(sw);
}
