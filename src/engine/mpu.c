/* mpu.c - one multipart upload as an explicit state machine: HEAD (a multipart source's
 * metadata, then each part's size) -> CREATE -> PARTS -> (RECHECK) -> COMPLETE, or ABORTING.
 * The state drives control and changes only in set_state; what a request is about (which part,
 * which HEAD) travels as its user data. Its owner (xfer.c) hears the end through its callback.
 *
 * An upload is aborted exactly once: mpu_abort is the only way to ABORTING and does nothing
 * there; the parts phase ends only in parts_settle, when no part is in flight (so no part
 * completion can arrive after the abort was sent). */
#include "xfer_int.h"
#include "s3m/diff.h"
#include "s3m/layout.h"
#include "s3m/log.h"
#include "s3m/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S3_MIN_PART (5 * S3M__MIB)

enum mpu_state {
    M_IDLE,
    M_HEAD,
    M_RESUME,
    M_CREATE,
    M_PARTS,
    M_RECHECK,
    M_COMPLETE,
    M_ABORTING,
    M_DONE,
    M_FAILED
};
static const char *const state_names[] = {"IDLE",    "HEAD",     "RESUME",   "CREATE", "PARTS",
                                          "RECHECK", "COMPLETE", "ABORTING", "DONE",   "FAILED"};

enum { MF_FAILING = 1 << 0 }; /* a part failed or a stop came: no new part, abort at settle */

struct s3m_xfer_mpu {
    struct s3m_xfer_ctx *c;
    struct s3m__object o;
    enum s3m__mpu_mode mode;
    enum mpu_state state;
    unsigned flags;
    s3m__mpu_done_cb done;
    void *ud;
    struct s3m_timer *step; /* a step run from the loop: FAILED reports, ABORTING settles */
    int src_parts;          /* parts of the source's ETag (SOURCE mode) */
    uint64_t *learned;      /* the source's part sizes as its server told them, or NULL */
    int nlearned;
    bool assumed; /* learned is part 1's uniform layout (learn.c): checked as a guess */
    uint64_t candidates[24];
    int ncandidates, candidate;
    char *upload_id;
    struct s3m__part *parts;
    struct s3m__part_owner own; /* what its parts share */
    int nparts, next_part, active, parts_ok;
    char computed_etag[48];       /* the multipart ETag of the parts uploaded (before completing) */
    struct s3m__learn *learn;     /* the HEADs, in HEAD */
    struct s3m__recheck *recheck; /* the second read, in RECHECK */
    struct s3m__resume *resume;   /* the look for an earlier run's upload, in RESUME */
    struct s3m__resume_part *rparts;
    bool resume_tried; /* once per object: a failed attempt aborted what it resumed */
    bool adopted;      /* this run's upload is the one resumed (not created) */
    /* CreateMultipartUpload or CompleteMultipartUpload in flight, for a stop to cancel */
    struct s3m_s3_req *cur;
    struct s3m_errinfo ei;
    long retry_after_ms;
    char note[S3M__NOTE_LEN];
};

static void set_state(struct s3m_xfer_mpu *m, enum mpu_state st)
{
    s3m_log(S3M_LOG_DEBUG, "xfer", "%s: %s -> %s", m->o.src_key, state_names[m->state],
            state_names[st]);
    m->state = st;
}

static void mpu_create(struct s3m_xfer_mpu *m);
static void mpu_abort(struct s3m_xfer_mpu *m);
static void mpu_send_complete(struct s3m_xfer_mpu *m);
static void learned(void *ud, const struct s3m_errinfo *ei, uint64_t *sizes, int n, bool assumed);

/* ---- ends ---- */

static void report(struct s3m_xfer_mpu *m, enum s3m__mpu_end end)
{
    struct s3m__outcome o = {m->ei, false, m->retry_after_ms, "", "", false};
    m->done(m->ud, end, &o, m->note);
}

static void fail(struct s3m_xfer_mpu *m)
{
    set_state(m, M_FAILED);
    report(m, S3M__MPU_FAILED);
}

/* A CreateMultipartUpload could not start: the failure is reported from the loop (never
 * from inside s3m__mpu_run). */
static void fail_later(struct s3m_xfer_mpu *m, struct s3m_s3_req *r)
{
    m->cur = NULL;
    m->ei = r->ei;
    s3m_s3_req_free(r);
    set_state(m, M_FAILED);
    s3m_timer_start(m->step, 0, 0);
}

/* The abort is over (sent and answered, or not even sent): the upload is gone. */
static void abort_settled(struct s3m_xfer_mpu *m)
{
    free(m->upload_id);
    m->upload_id = NULL;
    if (!m->ei.err && !m->c->stopping) { /* aborted only to try the next part-size candidate */
        m->retry_after_ms = 0;
        mpu_create(m);
        return;
    }
    if (!m->ei.err) /* a stop came while it was aborted for the next guess: not copied */
        s3m_errinfo_set(&m->ei, S3M_EABORTED, "interrupted");
    fail(m);
}

static void on_step(void *ud)
{
    struct s3m_xfer_mpu *m = ud;
    if (m->state == M_FAILED)
        report(m, S3M__MPU_FAILED);
    else if (m->state == M_ABORTING) /* the abort could not be sent */
        abort_settled(m);
}

static void abort_done(struct s3m_s3_req *r, void *ud)
{
    struct s3m_xfer_mpu *m = ud;
    if (r->ei.err)
        s3m_log(S3M_LOG_WARN, "xfer", "%s: could not abort multipart upload %s: %s", m->o.dst_key,
                m->upload_id, r->ei.code[0] ? r->ei.code : r->ei.message);
    s3m_s3_req_free(r);
    abort_settled(m);
}

/* Every path that gives an upload up comes here; the state makes it happen once: ABORTING
 * lasts until the abort is settled, and nothing else can start meanwhile. */
static void mpu_abort(struct s3m_xfer_mpu *m)
{
    if (m->state == M_ABORTING || !m->upload_id) {
        s3m_log(S3M_LOG_DEBUG, "xfer", "%s: abort already under way", m->o.src_key);
        return;
    }
    if (m->state == M_PARTS && m->active) { /* never with parts in flight: settle aborts */
        m->flags |= MF_FAILING;
        return;
    }
    set_state(m, M_ABORTING);
    struct s3m_s3_req *r = s3m_s3_abort_mpu(m->c->dst, m->o.dst_bucket, m->o.dst_key, m->upload_id);
    if (s3m_s3_submit(r, abort_done, m)) {
        s3m_log(S3M_LOG_WARN, "xfer", "%s: could not abort multipart upload %s: %s", m->o.dst_key,
                m->upload_id, r->ei.message);
        s3m_s3_req_free(r);
        s3m_timer_start(m->step, 0, 0);
    }
}

static void complete_done(struct s3m_s3_req *r, void *ud)
{
    struct s3m_xfer_mpu *m = ud;
    m->cur = NULL;
    m->ei = r->ei;
    const char *etag = r->xml ? r->xml->single.etag : NULL;
    /* radosgw answers an empty ETag here; the layout was already checked before completing.
     * The destination must hold what we computed from the parts' MD5s (the source's ETag unless
     * the layout could not be reproduced). */
    if (!m->ei.err && etag && *etag && s3m_strcasecmp(etag, m->computed_etag))
        s3m_errinfo_set(&m->ei, S3M_EINTEGRITY, "completed upload has ETag %s, expected %s", etag,
                        m->computed_etag);
    s3m_s3_req_free(r);
    if (m->ei.err) {
        mpu_abort(m);
        return;
    }
    free(m->upload_id);
    m->upload_id = NULL;
    set_state(m, M_DONE);
    report(m, S3M__MPU_DONE);
}

static void mpu_send_complete(struct s3m_xfer_mpu *m)
{
    set_state(m, M_COMPLETE);
    struct s3m_mpu_part *pp = s3m__parts_list(m->parts, m->nparts);
    struct s3m_s3_req *r = s3m_s3_complete_mpu(m->c->dst, m->o.dst_bucket, m->o.dst_key,
                                               m->upload_id, pp, (size_t)m->nparts);
    free(pp);
    m->cur = r;
    if (s3m_s3_submit(r, complete_done, m)) {
        m->cur = NULL;
        m->ei = r->ei;
        s3m_s3_req_free(r);
        mpu_abort(m);
    }
}

/* ---- RECHECK: the source read a second time (recheck.c) ---- */

static void recheck_ended(void *ud, const struct s3m_errinfo *ei)
{
    struct s3m_xfer_mpu *m = ud;
    m->ei = *ei; /* ei is the check's: copied before the check goes */
    s3m__recheck_free(m->recheck);
    m->recheck = NULL;
    /* a part stored is not what the source reads: a guess that missed may have missed only
     * for that byte (parts are not hashed on the client), so the next attempt guesses anew */
    if (m->ei.err == S3M_EINTEGRITY && m->mode == S3M__MPU_SOURCE && !m->learned)
        m->candidate = 0;
    if (m->ei.err)
        mpu_abort(m);
    else
        mpu_send_complete(m);
}

static void recheck_start(struct s3m_xfer_mpu *m)
{
    set_state(m, M_RECHECK);
    m->recheck = s3m__recheck_start(m->c, &m->o, s3m__parts_recheck(m->parts, m->nparts), m->nparts,
                                    recheck_ended, m);
}

/* ---- the end of the parts: check the layout's ETag, then COMPLETE, RECHECK or abort ---- */

/* The guessed layout missed the source ETag (want): the next guess, or a second read. */
static void guess_missed(struct s3m_xfer_mpu *m, const char *want)
{
    s3m_errinfo_clear(&m->ei);
    if (m->candidate + 1 < m->ncandidates) {
        m->candidate++;
        s3m_log(S3M_LOG_INFO, "xfer",
                "%s: part size guess gives ETag %s, not %s; trying %" PRIu64 " bytes", m->o.src_key,
                want, m->o.etag, m->candidates[m->candidate]);
        mpu_abort(m); /* m->ei clear: abort_settled starts the next candidate */
        return;
    }
    /* every part was verified by its MD5, but without the source's part boundaries its
     * ETag cannot be recomputed: the destination keeps the source ETag in its metadata
     * (set at create time, guessed layouts only), which later runs compare instead. */
    snprintf(m->note, sizeof(m->note), "no part size reproduces ETag %s: destination ETag %s",
             m->o.etag, want);
    s3m_log(S3M_LOG_WARN, "xfer", "%s: %s", m->o.src_key, m->note);
    recheck_start(m);
}

static void mpu_complete(struct s3m_xfer_mpu *m)
{
    /* the multipart ETag is the MD5 of the parts' binary MD5s: check the layout first. Each
     * part's ETag is the destination's MD5 of the bytes it stored, so with the source's layout
     * this verifies the whole object as stored against the source, end to end. */
    char *want = m->computed_etag;
    if (!s3m__parts_etag(m->parts, m->nparts, want)) {
        s3m_errinfo_set(&m->ei, S3M_EINTEGRITY, "a part ETag is not an MD5");
        mpu_abort(m);
    } else if (m->mode == S3M__MPU_CHUNKED) {
        snprintf(m->note, sizeof(m->note),
                 "%d parts: destination ETag %s (source %s is single-part)", m->nparts, want,
                 m->o.etag);
        /* each part's ETag is only the MD5 of the bytes stored: nothing yet says they are the
         * source's. Read it again (RECHECK) and compare the whole with its ETag. Copied
         * inside the server (UploadPartCopy) no byte passed through us. */
        if (!m->c->server_side)
            recheck_start(m);
        else
            mpu_send_complete(m);
    } else if (m->assumed && s3m_strcasecmp(want, m->o.etag)) {
        s3m_log(S3M_LOG_INFO, "xfer", "%s: %d uniform parts give ETag %s, not %s: relearning",
                m->o.src_key, m->nparts, want, m->o.etag);
        set_state(m, M_HEAD); /* each part's size asked, the upload open: `relearned` */
        m->learn = s3m__learn_start(m->c, &m->o, m->src_parts, m->learned, learned, m);
    } else if (m->learned && s3m_strcasecmp(want, m->o.etag)) {
        /* the source's own layout: the bytes read are not the source's */
        m->c->integrity_failures++;
        s3m_errinfo_set(&m->ei, S3M_EINTEGRITY,
                        "the parts read have ETag %s in the source's layout, source %s", want,
                        m->o.etag);
        mpu_abort(m);
    } else if (s3m_strcasecmp(want, m->o.etag)) {
        guess_missed(m, want);
    } else {
        mpu_send_complete(m);
    }
}

/* ---- PARTS ---- */

/* The parts phase ends here and only here: once no part is in flight, the upload is completed
 * (every part done) or aborted (one failed, or a stop). */
static void parts_settle(struct s3m_xfer_mpu *m)
{
    if (m->state != M_PARTS || m->active)
        return;
    if (m->flags & MF_FAILING)
        mpu_abort(m);
    else if (m->parts_ok == m->nparts)
        mpu_complete(m);
}

static void parts_pump(struct s3m_xfer_mpu *m);

static void part_finished(struct s3m__part *pt, const struct s3m__outcome *o)
{
    struct s3m_xfer_mpu *m = pt->own->ud;
    m->active--;
    if (o->ei.err) {
        if (!(m->flags & MF_FAILING)) {
            m->ei = o->ei;
            m->retry_after_ms = o->retry_after_ms;
        }
        m->flags |= MF_FAILING;
    } else {
        m->parts_ok++;
        m->c->parts_done++;
    }
    parts_pump(m);
    parts_settle(m);
}

static bool part_may_retry(void *ud)
{
    return !(((struct s3m_xfer_mpu *)ud)->flags & MF_FAILING);
}

/* Start parts up to the concurrency; never ends the phase (parts_settle does). */
static void parts_pump(struct s3m_xfer_mpu *m)
{
    struct s3m_xfer_ctx *c = m->c;
    if (m->state != M_PARTS)
        return;
    if (c->stopping && !(m->flags & MF_FAILING)) {
        s3m_errinfo_set(&m->ei, S3M_EABORTED, "interrupted");
        m->flags |= MF_FAILING;
    }
    while (!(m->flags & MF_FAILING) && m->active < c->part_concurrency &&
           m->next_part < m->nparts) {
        struct s3m__part *pt = &m->parts[m->next_part++];
        if (pt->kept)
            continue;
        m->active++;
        if (!s3m__part_start(pt, &m->ei)) {
            m->flags |= MF_FAILING;
            m->active--;
        }
    }
}

/* ---- CREATE ---- */

/* Lay the parts out: the source's own sizes when learned, else the current guess. */
static void parts_layout(struct s3m_xfer_mpu *m)
{
    free(m->parts);
    m->parts = s3m__learn_lay_out(m->o.size, m->learned, m->nlearned, m->assumed,
                                  m->candidates[m->candidate], &m->nparts, m->note);
    for (int i = 0; i < m->nparts; i++)
        m->parts[i].own = &m->own;
}

/* The upload is open (created, or resumed with its kept parts): send the others. */
static void parts_begin(struct s3m_xfer_mpu *m)
{
    m->own = (struct s3m__part_owner){m->c, &m->o, m->upload_id, part_may_retry, part_finished, m};
    m->next_part = m->active = m->parts_ok = 0;
    for (int i = 0; i < m->nparts; i++)
        m->parts_ok += m->parts[i].kept;
    m->flags &= ~(unsigned)MF_FAILING;
    set_state(m, M_PARTS);
    parts_pump(m);
    parts_settle(m); /* the first part could not even start, or every part was kept */
}

static void create_done(struct s3m_s3_req *r, void *ud)
{
    struct s3m_xfer_mpu *m = ud;
    m->cur = NULL;
    m->ei = r->ei;
    if (!m->ei.err && (!r->xml || !r->xml->single.upload_id || !*r->xml->single.upload_id))
        s3m_errinfo_set(&m->ei, S3M_ES3, "CreateMultipartUpload reply without UploadId");
    if (m->ei.err) {
        s3m_s3_req_free(r);
        fail(m);
        return;
    }
    m->upload_id = s3m_strdup(r->xml->single.upload_id);
    s3m_s3_req_free(r);
    if (m->c->stopping) { /* created while stopping: abort it at once */
        s3m_errinfo_set(&m->ei, S3M_EABORTED, "interrupted");
        mpu_abort(m);
        return;
    }
    parts_layout(m);
    parts_begin(m);
}

/* RESUME (resume.c) is over: the upload adopted with the parts it holds, or none. */
static void resumed(void *ud, const char *upload_id, bool stopped)
{
    struct s3m_xfer_mpu *m = ud;
    for (int i = 0; upload_id && i < m->nparts; i++)
        if ((m->parts[i].kept = m->rparts[i].kept))
            snprintf(m->parts[i].etag, sizeof(m->parts[i].etag), "%s", m->rparts[i].etag);
    m->upload_id = upload_id ? s3m_strdup(upload_id) : NULL;
    s3m__resume_free(m->resume); /* upload_id was its string */
    m->resume = NULL;
    free(m->rparts);
    m->rparts = NULL;
    if (stopped && !m->upload_id) {
        s3m_errinfo_set(&m->ei, S3M_EABORTED, "interrupted");
        fail(m);
    } else if (!m->upload_id) {
        mpu_create(m);
    } else {
        size_t n = strlen(m->note);
        snprintf(m->note + n, sizeof(m->note) - n, ", resumed");
        m->adopted = true;
        if (m->assumed) /* in an assumed layout: the exact sizes first, the upload open */
            m->learn = s3m__learn_start(m->c, &m->o, m->src_parts, m->learned, learned, m);
        else
            parts_begin(m);
    }
}

/* Before the first upload of the object: an earlier run's upload of the key may hold some of
 * its parts already (checked against this layout: the source's told sizes, the chunks, or the
 * current guess, whose composite ETag mpu_complete still checks). Tried once per object. */
static bool resume_begin(struct s3m_xfer_mpu *m)
{
    if (!m->c->resume_before || m->resume_tried || m->c->stopping)
        return false;
    m->resume_tried = true;
    set_state(m, M_RESUME);
    parts_layout(m);
    m->rparts = s3m__parts_resume(m->parts, m->nparts);
    m->resume = s3m__resume_start(m->c, &m->o, m->rparts, m->nparts, resumed, m);
    return true;
}

/* The source ETag a create records: a guessed layout only (it may not reproduce the ETag). */
static const char *recorded_etag(const struct s3m_xfer_mpu *m)
{
    return m->mode == S3M__MPU_SOURCE && !m->learned ? m->o.etag : NULL;
}

static void mpu_create(struct s3m_xfer_mpu *m)
{
    if (resume_begin(m))
        return;
    set_state(m, M_CREATE);
    struct s3m_s3_req *r = s3m_s3_create_mpu(m->c->dst, m->o.dst_bucket, m->o.dst_key);
    s3m__create_headers(m->o.meta, recorded_etag(m), r);
    m->cur = r;
    if (s3m_s3_submit(r, create_done, m))
        fail_later(m, r);
}

/* ---- HEAD: the metadata, then each part's size (learn.c) ---- */

/* The layout is as learned, or guessed; CREATE, or (no guess at all) copied whole. */
static void layout_decided(struct s3m_xfer_mpu *m)
{
    bool told = s3m_layout_check(m->o.size, m->learned, m->nlearned) && m->nlearned == m->src_parts;
    s3m_log(S3M_LOG_DEBUG, "xfer", "%s: part sizes %s", m->o.src_key,
            told ? (m->assumed ? "assumed: part 1's, uniform" : "told") : "not told: guessed");
    if (told) {
        m->candidates[0] = m->learned[0]; /* the server told us the layout */
        m->ncandidates = 1;
    } else { /* e.g. radosgw Pacific answers ?partNumber=N with the whole object: guess */
        free(m->learned);
        m->learned = NULL;
        m->nlearned = 0;
        m->ncandidates = s3m_xfer_part_candidates(m->o.size, m->src_parts, m->candidates,
                                                  (int)S3M_ARRAY_LEN(m->candidates));
    }
    m->candidate = 0;
    if (m->ncandidates) {
        mpu_create(m);
        return;
    }
    snprintf(m->note, sizeof(m->note), "part layout of %s unknown: copied as one part", m->o.etag);
    set_state(m, M_DONE);
    report(m, S3M__MPU_NO_LAYOUT);
}

/* The exact sizes (same: part 1's uniform ones), the upload open. Resumed (RESUME): complete
 * it, or check it again in them. After a miss: told now, or an upload again in them. */
static void relearned(struct s3m_xfer_mpu *m, bool same)
{
    m->candidates[0] = m->learned[0];
    if (m->state == M_RESUME && same) {
        parts_begin(m);
    } else if (m->state == M_RESUME) { /* not aborted: the resume lists it again */
        free(m->upload_id);
        m->upload_id = NULL;
        m->resume_tried = m->adopted = false;
        mpu_create(m);
    } else if (same) {
        mpu_complete(m);
    } else {
        mpu_abort(m);
    }
}

static void learned(void *ud, const struct s3m_errinfo *ei, uint64_t *sizes, int n, bool assumed)
{
    struct s3m_xfer_mpu *m = ud;
    m->ei = *ei; /* ei is the job's: copied before the job goes */
    s3m__learn_free(m->learn);
    m->learn = NULL;
    bool again = m->upload_id; /* relearn's end (assumed: the sizes are the uniform ones) */
    if (m->ei.err) {
        (again ? mpu_abort : fail)(m);
        return;
    }
    if (m->mode == S3M__MPU_CHUNKED) { /* the metadata and tags only: parts of the chunk size */
        m->candidates[0] = m->c->chunk_size;
        m->ncandidates = 1;
        mpu_create(m);
        return;
    }
    free(m->learned);
    m->learned = sizes; /* NULL: not told */
    m->nlearned = n;
    m->assumed = assumed && !again;
    if (again)
        relearned(m, assumed);
    else
        layout_decided(m);
}

/* ---- the upload's life ---- */

struct s3m_xfer_mpu *s3m__mpu_new(struct s3m_xfer_ctx *c, const struct s3m__object *obj,
                                  enum s3m__mpu_mode mode, s3m__mpu_done_cb done, void *ud)
{
    struct s3m_xfer_mpu *m = s3m_calloc(1, sizeof(*m));
    m->c = c;
    m->o = *obj;
    m->mode = mode;
    m->src_parts = mode == S3M__MPU_SOURCE ? s3m_etag_parts(obj->etag) : 0;
    m->done = done;
    m->ud = ud;
    m->step = s3m_timer_new(c->src->loop, on_step, m);
    return m;
}

void s3m__mpu_run(struct s3m_xfer_mpu *m)
{
    s3m_errinfo_clear(&m->ei);
    m->retry_after_ms = 0;
    m->adopted = false;
    if (m->ncandidates) { /* the layout known (or being guessed) since an earlier attempt */
        mpu_create(m);
        return;
    }
    set_state(m, M_HEAD);
    m->learn = s3m__learn_start(m->c, &m->o, m->src_parts, NULL, learned, m);
}

bool s3m__mpu_resumed(const struct s3m_xfer_mpu *m, const char **recorded)
{
    *recorded = recorded_etag(m);
    return m->adopted;
}

void s3m__mpu_stop(struct s3m_xfer_mpu *m)
{
    for (int i = 0; m->parts && i < m->nparts; i++) /* part copies in flight */
        if (m->parts[i].req)
            s3m_s3_cancel(m->parts[i].req);
    /* the request of a one-at-a-time phase: its done callback sees the cancel and the upload
     * ends (aborted first when open). A CreateMultipartUpload already sent is let finish (it
     * is short): cut off, it could leave an upload whose id we never learn; create_done
     * aborts what it created. Waiting in backoff, it is cancelled. */
    if (m->cur && !(m->state == M_CREATE && m->cur->http.running))
        s3m_s3_cancel(m->cur);
    s3m__learn_stop(m->learn);     /* its HEAD */
    s3m__resume_stop(m->resume);   /* its listing, ListParts or GET */
    s3m__recheck_stop(m->recheck); /* its GET */
}

void s3m__mpu_free(struct s3m_xfer_mpu *m)
{
    if (!m)
        return;
    s3m_timer_free(m->step);
    s3m__recheck_free(m->recheck);
    s3m__learn_free(m->learn);
    s3m__resume_free(m->resume);
    free(m->rparts);
    free(m->parts);
    free(m->learned);
    free(m->upload_id);
    free(m);
}
