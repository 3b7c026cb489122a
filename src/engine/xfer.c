/* xfer.c - one object copy as an explicit state machine (see s3m/xfer.h for the contract).
 *
 * States: HEAD (multipart source: metadata, then each part's size) -> SINGLE (one stream or one
 * CopyObject) or CREATE -> PARTS -> COMPLETE (after RECHECK where a guessed layout missed the
 * source ETag); ABORTING on any multipart failure; RETRY waits before a whole-object attempt;
 * DONE. A "pipe" is one GET streamed into one PUT/UploadPart.
 *
 * An upload is aborted exactly once: mpu_abort is the only way to ABORTING and does nothing in
 * ABORTING; the parts phase ends only in parts_settle, when no part is in flight (so no part
 * completion can arrive after the abort was sent). A streamed part or single PUT that failed
 * with a retryable cause is sent again on its own (its source range read again with If-Match)
 * after the client's backoff; waits are timers the context knows, so a stop ends them at once. */
#include "s3m/xfer.h"
#include "s3m/diff.h"
#include "s3m/hash.h"
#include "s3m/layout.h"
#include "s3m/log.h"
#include "s3m/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MiB (1024ull * 1024ull)
#define S3_MIN_PART (5 * MiB)

enum { X_HEAD, X_SINGLE, X_CREATE, X_PARTS, X_COMPLETE, X_ABORTING, X_RETRY, X_DONE, X_RECHECK };
static const char *const state_names[] = {"HEAD",     "SINGLE", "CREATE", "PARTS",  "COMPLETE",
                                          "ABORTING", "RETRY",  "DONE",   "RECHECK"};

static void set_state(struct s3m_xfer *x, int st)
{
    s3m_log(S3M_LOG_DEBUG, "xfer", "%s: %s -> %s", x->src_key, state_names[x->state],
            state_names[st]);
    x->state = st;
}

static void attempt_start(struct s3m_xfer *x);
static void attempt_failed(struct s3m_xfer *x);
static void parts_pump(struct s3m_xfer *x);
static void parts_settle(struct s3m_xfer *x);
static void mpu_abort(struct s3m_xfer *x);
static void head_done(struct s3m_s3_req *r, void *ud);

/* How a stream (part >= 0, or the single object) ended. */
struct outcome {
    struct s3m_errinfo ei;
    bool retryable;      /* a cause worth sending it again (the client could not replay it) */
    long retry_after_ms; /* the server's Retry-After on that failure */
};
static void part_finished(struct s3m_xfer *x, int idx, const struct outcome *o);
static void single_finished(struct s3m_xfer *x, const struct outcome *o);

/* ---- timers: deferred calls (never call back from inside a start function) and waits ---- */

struct s3m_xfer_timer {
    uv_timer_t t;
    struct s3m_xfer *x;
    int part;
    void (*fn)(struct s3m_xfer *x);
    void (*part_fn)(struct s3m_xfer *x, int part);
    struct s3m_xfer_timer *next; /* ctx->timers */
};

static void free_timer(uv_handle_t *h)
{
    free(h->data);
}

static void on_timer(uv_timer_t *t)
{
    struct s3m_xfer_timer *d = t->data;
    for (struct s3m_xfer_timer **pp = &d->x->ctx->timers; *pp; pp = &(*pp)->next) {
        if (*pp == d) {
            *pp = d->next;
            break;
        }
    }
    if (d->fn)
        d->fn(d->x);
    else
        d->part_fn(d->x, d->part);
    uv_close((uv_handle_t *)t, free_timer);
}

static void timer_start(struct s3m_xfer *x, uint64_t ms, void (*fn)(struct s3m_xfer *x),
                        void (*part_fn)(struct s3m_xfer *x, int part), int part)
{
    struct s3m_xfer_timer *d = s3m_calloc(1, sizeof(*d));
    d->x = x;
    d->fn = fn;
    d->part_fn = part_fn;
    d->part = part;
    d->next = x->ctx->timers;
    x->ctx->timers = d;
    uv_timer_init(&x->ctx->src->loop->uv, &d->t);
    d->t.data = d;
    uv_timer_start(&d->t, on_timer, ms, 0);
}

static void defer(struct s3m_xfer *x, uint64_t ms, void (*fn)(struct s3m_xfer *x))
{
    timer_start(x, ms, fn, NULL, -1);
}

/* ---- pipes: one GET streamed into one PUT or UploadPart through a ring buffer ---- */

struct s3m_xfer_pipe {
    struct s3m_xfer *x;
    int part; /* index in x->parts, -1 for the whole object */
    struct s3m_s3_req *get, *put;
    char *ring;
    size_t cap, head, len;
    uint64_t offset, expect, got, sent;
    struct s3m_md5_ctx md5;
    bool get_running, put_running, put_started, failed;
    bool resume_get, resume_put, queued, finish_queued, start_put;
    struct s3m_errinfo ei;
    bool retryable;      /* the first failure was worth sending the stream again */
    long retry_after_ms;
    struct s3m_xfer_pipe *next;
    struct s3m_xfer_pipe *all_next; /* ctx->pipes */
};

static void on_kick(uv_idle_t *h);

static void kick(struct s3m_xfer_pipe *p)
{
    struct s3m_xfer_ctx *c = p->x->ctx;
    if (p->queued)
        return;
    p->queued = true;
    p->next = c->pending;
    c->pending = p;
    if (!uv_is_active((uv_handle_t *)&c->kick))
        uv_idle_start(&c->kick, on_kick);
}

static void pipe_fail(struct s3m_xfer_pipe *p, const struct s3m_errinfo *ei, const char *side)
{
    if (p->failed)
        return;
    p->failed = true;
    p->ei = *ei;
    char msg[sizeof(p->ei.message) + 64];
    snprintf(msg, sizeof(msg), "%s: %s", side, ei->message);
    snprintf(p->ei.message, sizeof(p->ei.message), "%.*s", (int)sizeof(p->ei.message) - 1, msg);
    /* stop the other side (from the idle callback: we may be inside curl here) */
    p->resume_get = p->resume_put = true;
    kick(p);
}

/* A request of the pipe failed: keep whether the client found the cause worth a retry. */
static void pipe_fail_req(struct s3m_xfer_pipe *p, struct s3m_s3_req *r, const char *side)
{
    if (p->failed)
        return;
    p->retryable = r->retryable;
    p->retry_after_ms = r->retry_after_ms;
    pipe_fail(p, &r->ei, side);
}

/* Bytes that did not add up (truncated, too many, wrong MD5): worth reading them again. */
static void pipe_fail_bytes(struct s3m_xfer_pipe *p, const struct s3m_errinfo *ei,
                            const char *side)
{
    if (!p->failed)
        p->retryable = true;
    pipe_fail(p, ei, side);
}

static void meta_from(struct s3m_xfer *x, const struct s3m_s3_req *r)
{
    static const char *const keep[] = {"content-type", "cache-control", "content-disposition",
                                       "content-encoding", "content-language", "expires"};
    for (size_t i = 0; i < x->nmeta; i++) {
        free((char *)x->meta[i].name);
        free((char *)x->meta[i].value);
    }
    x->nmeta = 0;
    for (size_t i = 0; i < r->nresp_headers; i++) {
        const char *n = r->resp_headers[i].name;
        bool take = strncasecmp(n, "x-amz-meta-", 11) == 0 &&
                    s3m_strcasecmp(n, S3M_XFER_SOURCE_ETAG_HEADER); /* ours is set anew */
        for (size_t k = 0; !take && k < S3M_ARRAY_LEN(keep); k++)
            take = !s3m_strcasecmp(n, keep[k]);
        if (!take)
            continue;
        x->meta = s3m_realloc(x->meta, (x->nmeta + 1) * sizeof(*x->meta));
        x->meta[x->nmeta].name = s3m_strdup(n);
        x->meta[x->nmeta++].value = s3m_strdup(r->resp_headers[i].value);
    }
}

static void add_meta(struct s3m_xfer *x, struct s3m_s3_req *r)
{
    for (size_t i = 0; i < x->nmeta; i++)
        s3m_s3_req_header(r, x->meta[i].name, x->meta[i].value);
}

static size_t pipe_read(struct s3m_s3_req *r, char *buf, size_t n, void *ud)
{
    (void)r;
    struct s3m_xfer_pipe *p = ud;
    if (p->failed)
        return S3M_HTTP_ABORT;
    if (!p->len)
        return p->get_running ? S3M_HTTP_PAUSE : 0;
    size_t c = n < p->len ? n : p->len;
    size_t first = p->cap - p->head < c ? p->cap - p->head : c;
    memcpy(buf, p->ring + p->head, first);
    memcpy(buf + first, p->ring, c - first);
    s3m_md5_update(&p->md5, buf, c);
    p->head = (p->head + c) % p->cap;
    p->len -= c;
    p->sent += c;
    p->x->ctx->bytes_streamed += c;
    if (p->get_running && p->get->http.paused_recv) {
        p->resume_get = true;
        kick(p);
    }
    return c;
}

static void pipe_put_done(struct s3m_s3_req *r, void *ud);

static void pipe_start_put(struct s3m_xfer_pipe *p)
{
    struct s3m_xfer *x = p->x;
    struct s3m_xfer_ctx *c = x->ctx;
    struct s3m_s3_req *r;
    p->put_started = true;
    if (p->part < 0) {
        meta_from(x, p->get);
        r = s3m_s3_put_object(c->dst, x->dst_bucket, x->dst_key);
        add_meta(x, r);
        uint8_t md5[S3M_MD5_LEN];
        char b64[32];
        if (x->src_parts == 0 && !s3m_unhex16(x->etag, md5)) { /* the server checks it too */
            s3m_base64(md5, sizeof(md5), b64);
            s3m_s3_req_header(r, "Content-MD5", b64);
        }
    } else {
        r = s3m_s3_upload_part(c->dst, x->dst_bucket, x->dst_key, x->upload_id,
                               x->parts[p->part].number);
    }
    s3m_s3_req_stream(r, (int64_t)p->expect, pipe_read);
    p->put = r;
    p->put_running = true;
    if (s3m_s3_submit(r, pipe_put_done, p)) {
        p->put_running = false;
        pipe_fail_req(p, r, "writing destination");
    }
}

static size_t pipe_write(struct s3m_s3_req *r, const char *data, size_t n, void *ud)
{
    (void)r;
    struct s3m_xfer_pipe *p = ud;
    if (p->failed)
        return S3M_HTTP_ABORT;
    if (!p->put_started) {
        /* curl refuses new transfers from inside a callback: start the PUT from the idle
         * callback, which then resumes this GET (its headers carry the metadata we copy) */
        p->start_put = true;
        kick(p);
        return S3M_HTTP_PAUSE;
    }
    if (p->got + n > p->expect) {
        struct s3m_errinfo ei;
        s3m_errinfo_set(&ei, S3M_EINTEGRITY, "source sent more bytes than listed (%" PRIu64 ")",
                        p->expect);
        pipe_fail_bytes(p, &ei, "reading source");
        return S3M_HTTP_ABORT;
    }
    if (n > p->cap) { /* never expected (curl hands out at most 16 KiB), but stay correct */
        char *bigger = s3m_malloc(n);
        size_t first = p->cap - p->head < p->len ? p->cap - p->head : p->len;
        memcpy(bigger, p->ring + p->head, first);
        memcpy(bigger + first, p->ring, p->len - first);
        free(p->ring);
        p->ring = bigger, p->cap = n, p->head = 0;
    }
    if (p->cap - p->len < n)
        return S3M_HTTP_PAUSE; /* the PUT side resumes us when it has drained the ring */
    size_t tail = (p->head + p->len) % p->cap;
    size_t first = p->cap - tail < n ? p->cap - tail : n;
    memcpy(p->ring + tail, data, first);
    memcpy(p->ring, data + first, n - first);
    p->len += n;
    p->got += n;
    if (p->put_running && p->put->http.paused_send) {
        p->resume_put = true;
        kick(p);
    }
    return n;
}

static void pipe_finish(struct s3m_xfer_pipe *p)
{
    struct s3m_xfer *x = p->x;
    struct s3m_xfer_ctx *c = x->ctx;
    for (struct s3m_xfer_pipe **pp = &c->pending; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    }
    for (struct s3m_xfer_pipe **pp = &c->pipes; *pp; pp = &(*pp)->all_next) {
        if (*pp == p) {
            *pp = p->all_next;
            break;
        }
    }
    int part = p->part;
    struct outcome o = {p->ei, p->failed && p->retryable, p->retry_after_ms};
    if (!p->failed && !p->put_started)
        s3m_errinfo_set(&o.ei, S3M_EINTEGRITY, "no data stream");
    s3m_s3_req_free(p->get);
    s3m_s3_req_free(p->put);
    s3m_md5_cleanup(&p->md5);
    free(p->ring);
    free(p);
    if (part < 0)
        single_finished(x, &o);
    else
        part_finished(x, part, &o);
}

static void pipe_check(struct s3m_xfer_pipe *p)
{
    if (!p->get_running && !p->put_running)
        pipe_finish(p);
}

static void pipe_get_done(struct s3m_s3_req *r, void *ud)
{
    struct s3m_xfer_pipe *p = ud;
    p->get_running = false;
    if (r->ei.err) {
        pipe_fail_req(p, r, "reading source");
    } else if (p->got != p->expect) {
        struct s3m_errinfo ei;
        s3m_errinfo_set(&ei, S3M_EINTEGRITY, "source sent %" PRIu64 " of %" PRIu64 " bytes",
                        p->got, p->expect);
        pipe_fail_bytes(p, &ei, "reading source");
    } else if (!p->put_started) {
        pipe_start_put(p); /* an empty body: nothing came through pipe_write */
    } else if (p->put_running) {
        p->resume_put = true; /* let it read the end of the body */
        kick(p);
    }
    pipe_check(p);
}

static void pipe_put_done(struct s3m_s3_req *r, void *ud)
{
    struct s3m_xfer_pipe *p = ud;
    struct s3m_xfer *x = p->x;
    p->put_running = false;
    if (r->ei.err) {
        pipe_fail_req(p, r, "writing destination");
    } else if (!p->failed) {
        uint8_t md5[S3M_MD5_LEN];
        char hex[33];
        s3m_md5_final(&p->md5, md5);
        s3m_hex(md5, sizeof(md5), hex);
        const char *etag = s3m_s3_resp_header(r, "etag");
        char got[80] = "";
        if (etag)
            snprintf(got, sizeof(got), "%.*s", (int)strcspn(etag + (*etag == '"'), "\""),
                     etag + (*etag == '"'));
        struct s3m_errinfo ei;
        if (p->sent != p->expect) {
            s3m_errinfo_set(&ei, S3M_EINTEGRITY, "sent %" PRIu64 " of %" PRIu64 " bytes",
                            p->sent, p->expect);
            pipe_fail_bytes(p, &ei, "writing destination");
        } else if (s3m_strcasecmp(got, hex)) {
            s3m_errinfo_set(&ei, S3M_EINTEGRITY, "destination ETag %s differs from the MD5 %s "
                            "of the bytes sent", got, hex);
            x->ctx->integrity_failures++;
            pipe_fail_bytes(p, &ei, "verifying");
        } else if (p->part >= 0) {
            snprintf(x->parts[p->part].etag, sizeof(x->parts[p->part].etag), "%s", hex);
        }
    }
    pipe_check(p);
}

static void pipe_start(struct s3m_xfer *x, int part)
{
    struct s3m_xfer_ctx *c = x->ctx;
    struct s3m_xfer_pipe *p = s3m_calloc(1, sizeof(*p));
    p->x = x;
    p->part = part;
    p->all_next = c->pipes;
    c->pipes = p;
    p->cap = c->buffer_size;
    p->ring = s3m_malloc(p->cap);
    s3m_md5_init(&p->md5);
    char range[80], *rp = NULL;
    if (part >= 0) {
        p->offset = x->parts[part].offset;
        p->expect = x->parts[part].length;
        snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64, p->offset,
                 p->offset + p->expect - 1);
        rp = range;
    } else {
        p->expect = x->size;
    }
    /* If-Match: the bytes must be those of the listed version, or nothing */
    p->get = s3m_s3_get_object(c->src, x->src_bucket, x->src_key, rp, 0, x->etag);
    p->get->write_cb = pipe_write;
    p->get_running = true;
    if (s3m_s3_submit(p->get, pipe_get_done, p)) {
        p->get_running = false;
        pipe_fail_req(p, p->get, "reading source");
        p->finish_queued = true; /* finished from the idle callback, not from here */
        kick(p);
    }
}

static void on_kick(uv_idle_t *h)
{
    struct s3m_xfer_ctx *c = h->data;
    struct s3m_xfer_pipe *p = c->pending;
    c->pending = NULL;
    uv_idle_stop(h);
    while (p) {
        struct s3m_xfer_pipe *next = p->next;
        p->queued = false;
        p->next = NULL;
        bool resume_get = p->resume_get, resume_put = p->resume_put;
        p->resume_get = p->resume_put = false;
        if (p->failed) { /* stop whatever still runs */
            if (p->get_running)
                s3m_s3_cancel(p->get);
            if (p->put_running)
                s3m_s3_cancel(p->put);
        } else {
            if (p->start_put && !p->put_started) {
                p->start_put = false;
                pipe_start_put(p);
                resume_get = true;
            }
            if (resume_get && p->get_running)
                s3m_s3_resume(p->get);
            if (resume_put && p->put_running)
                s3m_s3_resume(p->put);
        }
        if (p->finish_queued)
            pipe_check(p);
        p = next;
    }
}

/* ---- context ---- */

void s3m_xfer_ctx_init(struct s3m_xfer_ctx *c, struct s3m_s3 *src, struct s3m_s3 *dst)
{
    memset(c, 0, sizeof(*c));
    c->src = src;
    c->dst = dst;
    c->part_concurrency = 4;
    c->buffer_size = 1 << 20;
    c->attempts = 3;
    c->single_max = 5ull << 30;
    c->chunk_size = 64 * MiB;
    uv_idle_init(&src->loop->uv, &c->kick);
    c->kick.data = c;
}

static void on_kick_closed(uv_handle_t *h)
{
    ((struct s3m_xfer_ctx *)h->data)->close_done = true;
}

void s3m_xfer_ctx_stop(struct s3m_xfer_ctx *c)
{
    c->stopping = true;
    struct s3m_errinfo ei;
    s3m_errinfo_set(&ei, S3M_EABORTED, "interrupted");
    for (struct s3m_xfer_pipe *p = c->pipes; p; p = p->all_next)
        pipe_fail(p, &ei, "stopping");
    for (struct s3m_xfer *x = c->xfers; x; x = x->all_next) {
        for (int i = 0; x->parts && i < x->nparts; i++) /* part copies in flight */
            if (x->parts[i].req)
                s3m_s3_cancel(x->parts[i].req);
        /* the request of a one-at-a-time phase: its done callback sees the cancel and the
         * transfer ends (an open upload aborted first). A CreateMultipartUpload already sent
         * is let finish (it is short): cut off, it could leave an upload whose id we never
         * learn; create_done aborts what it created. Waiting in backoff, it is cancelled. */
        if (x->cur && !(x->state == X_CREATE && x->cur->http.running))
            s3m_s3_cancel(x->cur);
    }
    for (struct s3m_xfer_timer *d = c->timers; d; d = d->next) /* waits end now */
        uv_timer_start(&d->t, on_timer, 0, 0);
}

void s3m_xfer_ctx_close(struct s3m_xfer_ctx *c)
{
    if (!c->closed)
        uv_close((uv_handle_t *)&c->kick, on_kick_closed);
    c->closed = true;
}

/* ---- part layouts ---- */

int s3m_xfer_part_candidates(uint64_t size, int parts, uint64_t *out, int max)
{
    static const uint64_t common[] = {5,  8,  16,  10,  15,  32,  64,  100, 128,
                                      50, 25, 256, 512, 1024, 20, 200, 500, 96};
    int n = 0;
    uint64_t tries[S3M_ARRAY_LEN(common) + 2];
    size_t nt = 0;
    for (size_t i = 0; i < S3M_ARRAY_LEN(common); i++)
        tries[nt++] = common[i] * MiB;
    uint64_t even = (size + (uint64_t)parts - 1) / (uint64_t)parts;
    tries[nt++] = (even + MiB - 1) / MiB * MiB; /* an even split rounded up to MiB */
    tries[nt++] = even;
    for (size_t i = 0; i < nt && n < max; i++) {
        uint64_t ps = tries[i];
        if (ps < S3_MIN_PART || (size + ps - 1) / ps != (uint64_t)parts)
            continue;
        bool dup = false;
        for (int k = 0; k < n; k++)
            dup |= out[k] == ps;
        if (!dup)
            out[n++] = ps;
    }
    return n;
}

/* ---- single object ---- */

/* ---- one stream sent again on its own ---- */

static void stream_again(struct s3m_xfer *x, int part)
{
    struct s3m_xfer_ctx *c = x->ctx;
    if (c->stopping || (part >= 0 && x->failing)) {
        struct outcome o = {.retryable = false};
        s3m_errinfo_set(&o.ei, S3M_EABORTED, "interrupted");
        if (part < 0)
            single_finished(x, &o);
        else
            part_finished(x, part, &o);
        return;
    }
    pipe_start(x, part); /* the source range read again, with If-Match */
}

/* A streamed part (or the single stream, part -1) failed: send it again after the client's
 * backoff when the cause is worth it and its tries (--low-level-retries) are not used up. */
static bool stream_retry(struct s3m_xfer *x, int part, const struct outcome *o)
{
    struct s3m_xfer_ctx *c = x->ctx;
    int *tries = part < 0 ? &x->single_tries : &x->parts[part].tries;
    if (!o->ei.err || !o->retryable || c->stopping || (part >= 0 && x->failing))
        return false;
    if (++*tries >= c->dst->opts.attempts)
        return false;
    long wait = s3m_s3_backoff_ms(c->dst, *tries, o->retry_after_ms);
    char line[900], what[32] = "";
    if (part >= 0)
        snprintf(what, sizeof(what), " part %d", x->parts[part].number);
    struct s3m_log_fields lf = {c->src->remote->name, x->src_bucket, x->src_key, &o->ei};
    s3m_logf(S3M_LOG_INFO, "xfer", &lf, "%s%s: try %d failed (%s), again in %ld ms", x->src_key,
             what, *tries, s3m_errinfo_str(&o->ei, line, sizeof(line)), wait);
    c->stream_retries++;
    timer_start(x, (uint64_t)wait, NULL, stream_again, part);
    return true;
}

static void single_finished(struct s3m_xfer *x, const struct outcome *o)
{
    if (stream_retry(x, -1, o))
        return;
    x->ei = o->ei;
    x->retry_after_ms = o->retry_after_ms;
    if (o->ei.err)
        attempt_failed(x);
    else {
        set_state(x, X_DONE);
        x->done(x, x->ud);
    }
}

static void server_copy_done(struct s3m_s3_req *r, void *ud)
{
    struct s3m_xfer *x = ud;
    x->cur = NULL;
    struct outcome o = {r->ei, false, r->retry_after_ms}; /* the client retried it already */
    if (!o.ei.err && r->xml && r->xml->single.etag && x->src_parts == 0 &&
        s3m_strcasecmp(r->xml->single.etag, x->etag))
        s3m_errinfo_set(&o.ei, S3M_EINTEGRITY, "server-side copy has ETag %s, source %s",
                        r->xml->single.etag, x->etag);
    s3m_s3_req_free(r);
    single_finished(x, &o);
}

static void start_single(struct s3m_xfer *x)
{
    set_state(x, X_SINGLE);
    struct s3m_xfer_ctx *c = x->ctx;
    if (!c->server_side) {
        pipe_start(x, -1);
        return;
    }
    struct s3m_s3_req *r = s3m_s3_copy_object(c->dst, x->dst_bucket, x->dst_key, x->src_bucket,
                                              x->src_key, x->etag);
    x->cur = r;
    if (s3m_s3_submit(r, server_copy_done, x)) {
        x->cur = NULL;
        x->ei = r->ei;
        s3m_s3_req_free(r);
        defer(x, 0, attempt_failed);
    }
}

/* ---- multipart ---- */

/* The abort is over (sent and answered, or not even sent): the upload is gone from x. */
static void abort_settled(struct s3m_xfer *x)
{
    free(x->upload_id);
    x->upload_id = NULL;
    if (!x->ei.err && !x->ctx->stopping) { /* aborted only to try the next part-size candidate */
        attempt_start(x);
        return;
    }
    attempt_failed(x);
}

static void abort_done(struct s3m_s3_req *r, void *ud)
{
    struct s3m_xfer *x = ud;
    if (r->ei.err)
        s3m_log(S3M_LOG_WARN, "xfer", "%s: could not abort multipart upload %s: %s", x->dst_key,
                x->upload_id, r->ei.code[0] ? r->ei.code : r->ei.message);
    s3m_s3_req_free(r);
    abort_settled(x);
}

/* Every path that gives an upload up comes here; the state makes it happen once: ABORTING
 * lasts until the abort is settled, and nothing else can start meanwhile. */
static void mpu_abort(struct s3m_xfer *x)
{
    if (x->state == X_ABORTING || !x->upload_id) {
        s3m_log(S3M_LOG_DEBUG, "xfer", "%s: abort already under way", x->src_key);
        return;
    }
    if (x->state == X_PARTS && x->active) { /* never with parts in flight: settle aborts */
        x->failing = true;
        return;
    }
    set_state(x, X_ABORTING);
    struct s3m_s3_req *r = s3m_s3_abort_mpu(x->ctx->dst, x->dst_bucket, x->dst_key, x->upload_id);
    if (s3m_s3_submit(r, abort_done, x)) {
        s3m_log(S3M_LOG_WARN, "xfer", "%s: could not abort multipart upload %s: %s", x->dst_key,
                x->upload_id, r->ei.message);
        s3m_s3_req_free(r);
        defer(x, 0, abort_settled);
    }
}

static void complete_done(struct s3m_s3_req *r, void *ud)
{
    struct s3m_xfer *x = ud;
    x->cur = NULL;
    x->ei = r->ei;
    const char *etag = r->xml ? r->xml->single.etag : NULL;
    /* radosgw answers an empty ETag here; the layout was already checked before completing.
     * The destination must hold what we computed from the parts' MD5s (the source's ETag unless
     * the layout could not be reproduced). */
    if (!x->ei.err && etag && *etag && s3m_strcasecmp(etag, x->computed_etag))
        s3m_errinfo_set(&x->ei, S3M_EINTEGRITY, "completed upload has ETag %s, expected %s",
                        etag, x->computed_etag);
    s3m_s3_req_free(r);
    if (x->ei.err) {
        mpu_abort(x);
        return;
    }
    free(x->upload_id);
    x->upload_id = NULL;
    set_state(x, X_DONE);
    x->done(x, x->ud);
}

/* ---- the second read (RECHECK) ----
 * No guess reproduced the source ETag, or a single-part source was streamed in parts of
 * --multipart-chunk-size: the parts' MD5s cannot give the source ETag, so before the copy is
 * completed the source is read once more, part by part in our layout, pinned with If-Match,
 * and each part's MD5 compared with the one stored: two independent reads must agree. The
 * parts are read in order, so where the source ETag is a plain MD5 (a single-part source) the
 * MD5 of the whole second read must also equal it: the bytes stored are the source's. */

struct recheck {
    struct s3m_xfer *x;
    int idx;
    struct s3m_md5_ctx md5;
};

static void mpu_send_complete(struct s3m_xfer *x);

static size_t recheck_write(struct s3m_s3_req *r, const char *d, size_t n, void *ud)
{
    (void)r;
    struct recheck *k = ud;
    s3m_md5_update(&k->md5, d, n);
    if (k->x->whole)
        s3m_md5_update(k->x->whole, d, n);
    return n;
}

static void whole_drop(struct s3m_xfer *x)
{
    if (!x->whole)
        return;
    s3m_md5_cleanup(x->whole);
    free(x->whole);
    x->whole = NULL;
}

/* After the last part: the whole second read against a plain source ETag. */
static bool whole_matches(struct s3m_xfer *x)
{
    if (!x->whole)
        return true;
    uint8_t d[S3M_MD5_LEN];
    char hex[33];
    s3m_md5_final(x->whole, d);
    whole_drop(x);
    s3m_hex(d, sizeof(d), hex);
    if (!s3m_strcasecmp(hex, x->etag))
        return true;
    x->ctx->integrity_failures++;
    s3m_errinfo_set(&x->ei, S3M_EINTEGRITY, "the source read again has MD5 %s, source ETag %s",
                    hex, x->etag);
    return false;
}

static void recheck_part(struct s3m_xfer *x, int idx);

static void recheck_done(struct s3m_s3_req *r, void *ud)
{
    struct recheck *k = ud;
    struct s3m_xfer *x = k->x;
    x->cur = NULL;
    int idx = k->idx;
    uint8_t d[S3M_MD5_LEN];
    char hex[33];
    s3m_md5_final(&k->md5, d);
    s3m_md5_cleanup(&k->md5);
    free(k);
    s3m_hex(d, sizeof(d), hex);
    x->ei = r->ei;
    s3m_s3_req_free(r);
    if (!x->ei.err && x->ctx->stopping)
        s3m_errinfo_set(&x->ei, S3M_EABORTED, "interrupted");
    if (!x->ei.err && s3m_strcasecmp(hex, x->parts[idx].etag)) {
        x->ctx->integrity_failures++;
        s3m_errinfo_set(&x->ei, S3M_EINTEGRITY, "part %d read again has MD5 %s, stored %s",
                        x->parts[idx].number, hex, x->parts[idx].etag);
    }
    if (x->ei.err) {
        whole_drop(x);
        mpu_abort(x);
        return;
    }
    recheck_part(x, idx + 1);
}

static void recheck_part(struct s3m_xfer *x, int idx)
{
    for (; idx < x->nparts && !x->parts[idx].length; idx++) /* an empty part: nothing to read */
        if (s3m_strcasecmp(x->parts[idx].etag, "d41d8cd98f00b204e9800998ecf8427e")) {
            s3m_errinfo_set(&x->ei, S3M_EINTEGRITY, "empty part %d stored as %s",
                            x->parts[idx].number, x->parts[idx].etag);
            whole_drop(x);
            defer(x, 0, mpu_abort);
            return;
        }
    if (idx == x->nparts) {
        if (!whole_matches(x)) {
            defer(x, 0, mpu_abort);
            return;
        }
        mpu_send_complete(x);
        return;
    }
    const struct s3m_xfer_part *pt = &x->parts[idx];
    char range[64];
    snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64, pt->offset,
             pt->offset + pt->length - 1);
    struct recheck *k = s3m_calloc(1, sizeof(*k));
    k->x = x;
    k->idx = idx;
    s3m_md5_init(&k->md5);
    struct s3m_s3_req *r = s3m_s3_get_object(x->ctx->src, x->src_bucket, x->src_key, range, 0,
                                             x->etag);
    r->write_cb = recheck_write;
    x->cur = r;
    if (s3m_s3_submit(r, recheck_done, k)) {
        x->cur = NULL;
        x->ei = r->ei;
        s3m_s3_req_free(r);
        s3m_md5_cleanup(&k->md5);
        free(k);
        whole_drop(x);
        defer(x, 0, mpu_abort);
    }
}

/* Start the second read; the whole object's MD5 too where the source ETag is a plain MD5. */
static void recheck_start(struct s3m_xfer *x)
{
    uint8_t d[S3M_MD5_LEN];
    set_state(x, X_RECHECK);
    whole_drop(x);
    if (s3m_etag_parts(x->etag) == 0 && !s3m_unhex16(x->etag, d)) {
        x->whole = s3m_calloc(1, sizeof(*x->whole));
        s3m_md5_init(x->whole);
    }
    recheck_part(x, 0);
}

static void mpu_complete(struct s3m_xfer *x)
{
    /* the multipart ETag is the MD5 of the parts' binary MD5s: check the layout first. Each
     * part's MD5 is that of the bytes streamed from the source (and stored: the server's part
     * ETag matched it), so with the source's layout this verifies the whole object. */
    const char **md5s = s3m_calloc((size_t)x->nparts, sizeof(*md5s));
    for (int i = 0; i < x->nparts; i++)
        md5s[i] = x->parts[i].etag;
    char *want = x->computed_etag;
    bool formed = s3m_layout_etag(md5s, x->nparts, want);
    free(md5s);
    if (!formed) {
        s3m_errinfo_set(&x->ei, S3M_EINTEGRITY, "a part ETag is not an MD5");
        mpu_abort(x);
        return;
    }
    if (x->src_parts == 0) { /* a single-part source above --multipart-threshold */
        x->layout_mismatch = true;
        snprintf(x->note, sizeof(x->note), "%d parts: destination ETag %s (source %s is "
                 "single-part)", x->nparts, want, x->etag);
        if (!x->ctx->server_side) {
            /* each part's MD5 is only that of the bytes sent: nothing yet says they are the
             * source's. Read it again (RECHECK) and compare the whole with its ETag. Copied
             * inside the server (UploadPartCopy) no byte passed through us. */
            recheck_start(x);
            return;
        }
    } else if (x->learned && s3m_strcasecmp(want, x->etag)) {
        /* the source's own layout: the bytes read are not the source's */
        x->ctx->integrity_failures++;
        s3m_errinfo_set(&x->ei, S3M_EINTEGRITY, "the parts read have ETag %s in the source's "
                        "layout, source %s", want, x->etag);
        mpu_abort(x);
        return;
    } else if (s3m_strcasecmp(want, x->etag)) {
        s3m_errinfo_clear(&x->ei);
        if (x->candidate + 1 < x->ncandidates) {
            x->candidate++;
            s3m_log(S3M_LOG_INFO, "xfer", "%s: part size guess gives ETag %s, not %s; trying "
                    "%" PRIu64 " bytes", x->src_key, want, x->etag, x->candidates[x->candidate]);
            mpu_abort(x); /* x->ei clear: abort_done starts the next candidate */
            return;
        }
        /* every part was verified by its MD5, but without the source's part boundaries its
         * ETag cannot be recomputed: the destination keeps the source ETag in its metadata
         * (set at create time, guessed layouts only), which later runs compare instead. */
        x->layout_mismatch = true;
        snprintf(x->note, sizeof(x->note), "no part size reproduces ETag %s: destination ETag "
                 "%s", x->etag, want);
        s3m_log(S3M_LOG_WARN, "xfer", "%s: %s", x->src_key, x->note);
        recheck_start(x);
        return;
    }
    mpu_send_complete(x);
}

static void mpu_send_complete(struct s3m_xfer *x)
{
    set_state(x, X_COMPLETE);
    struct s3m_mpu_part *pp = s3m_calloc((size_t)x->nparts, sizeof(*pp));
    for (int i = 0; i < x->nparts; i++) {
        pp[i].number = x->parts[i].number;
        snprintf(pp[i].etag, sizeof(pp[i].etag), "%s", x->parts[i].etag);
    }
    struct s3m_s3_req *r = s3m_s3_complete_mpu(x->ctx->dst, x->dst_bucket, x->dst_key,
                                               x->upload_id, pp, (size_t)x->nparts);
    free(pp);
    x->cur = r;
    if (s3m_s3_submit(r, complete_done, x)) {
        x->cur = NULL;
        x->ei = r->ei;
        s3m_s3_req_free(r);
        mpu_abort(x);
    }
}

/* A part ended (idx -1: its reply could not be matched to a part). */
static void part_finished(struct s3m_xfer *x, int idx, const struct outcome *o)
{
    if (idx >= 0 && stream_retry(x, idx, o))
        return; /* still in flight: it waits, then goes again */
    x->active--;
    if (o->ei.err) {
        if (!x->failing) {
            x->ei = o->ei;
            x->retry_after_ms = o->retry_after_ms;
        }
        x->failing = true;
    } else {
        x->parts[idx].done = true;
        x->parts_ok++;
        x->ctx->parts_done++;
    }
    parts_pump(x);
    parts_settle(x);
}

/* The parts phase ends here and only here: once no part is in flight, the upload is completed
 * (every part done) or aborted (one failed, or a stop). */
static void parts_settle(struct s3m_xfer *x)
{
    if (x->state != X_PARTS || x->active)
        return;
    if (x->failing)
        mpu_abort(x);
    else if (x->parts_ok == x->nparts)
        mpu_complete(x);
}

static void part_copy_done(struct s3m_s3_req *r, void *ud)
{
    struct s3m_xfer *x = ud;
    int idx = -1;
    for (int i = 0; i < x->nparts; i++) /* find the part by its request */
        if (x->parts[i].req == r)
            idx = i;
    if (idx >= 0)
        x->parts[idx].req = NULL;
    struct outcome o = {r->ei, false, r->retry_after_ms}; /* the client retried it already */
    if (!o.ei.err && idx >= 0 && r->xml && r->xml->single.etag)
        snprintf(x->parts[idx].etag, sizeof(x->parts[idx].etag), "%s", r->xml->single.etag);
    else if (!o.ei.err)
        s3m_errinfo_set(&o.ei, S3M_EINTEGRITY, "UploadPartCopy reply without ETag");
    s3m_s3_req_free(r);
    part_finished(x, idx, &o);
}

/* Start parts up to the concurrency; never ends the phase (parts_settle does). */
static void parts_pump(struct s3m_xfer *x)
{
    struct s3m_xfer_ctx *c = x->ctx;
    if (x->state != X_PARTS)
        return;
    if (c->stopping && !x->failing) {
        s3m_errinfo_set(&x->ei, S3M_EABORTED, "interrupted");
        x->failing = true;
    }
    while (!x->failing && x->active < c->part_concurrency && x->next_part < x->nparts) {
        int i = x->next_part++;
        x->active++;
        if (!c->server_side) {
            pipe_start(x, i);
            continue;
        }
        struct s3m_xfer_part *pt = &x->parts[i];
        struct s3m_s3_req *r = s3m_s3_upload_part_copy(c->dst, x->dst_bucket, x->dst_key,
                                                       x->upload_id, pt->number, x->src_bucket,
                                                       x->src_key, pt->offset,
                                                       pt->offset + pt->length - 1);
        s3m_s3_req_etag_header(r, "x-amz-copy-source-if-match", x->etag);
        if (s3m_s3_submit(r, part_copy_done, x)) {
            x->ei = r->ei;
            x->failing = true;
            x->active--;
            s3m_s3_req_free(r);
        } else {
            pt->req = r;
        }
    }
}

static void create_done(struct s3m_s3_req *r, void *ud)
{
    struct s3m_xfer *x = ud;
    x->cur = NULL;
    x->ei = r->ei;
    if (!x->ei.err && (!r->xml || !r->xml->single.upload_id || !*r->xml->single.upload_id))
        s3m_errinfo_set(&x->ei, S3M_ES3, "CreateMultipartUpload reply without UploadId");
    if (x->ei.err) {
        s3m_s3_req_free(r);
        attempt_failed(x);
        return;
    }
    x->upload_id = s3m_strdup(r->xml->single.upload_id);
    s3m_s3_req_free(r);
    if (x->ctx->stopping) { /* created while stopping: abort it at once */
        s3m_errinfo_set(&x->ei, S3M_EABORTED, "interrupted");
        mpu_abort(x);
        return;
    }
    /* lay the parts out: the source's own sizes when learned, else the current guess */
    uint64_t ps = x->candidates[x->candidate];
    free(x->parts);
    x->parts = NULL;
    x->nparts = x->learned ? x->nlearned : s3m_layout_uniform(x->size, ps, NULL, 0);
    if (x->nparts <= 0) /* candidates and learned layouts have 1..10000 parts */
        abort();
    x->parts = s3m_calloc((size_t)x->nparts, sizeof(*x->parts));
    uint64_t off = 0;
    for (int i = 0; i < x->nparts; i++) {
        x->parts[i].number = i + 1;
        x->parts[i].offset = off;
        x->parts[i].length = x->learned ? x->learned[i]
                             : i + 1 < x->nparts ? ps : x->size - (uint64_t)i * ps;
        off += x->parts[i].length;
    }
    if (off != x->size)
        abort();
    x->next_part = x->active = x->parts_ok = 0;
    x->failing = false;
    x->part_size = ps;
    if (x->learned)
        snprintf(x->note, sizeof(x->note), "%d parts as on the source (sizes told by the "
                 "server)", x->nparts);
    else
        snprintf(x->note, sizeof(x->note), "%d parts of %" PRIu64 " bytes", x->nparts, ps);
    set_state(x, X_PARTS);
    parts_pump(x);
    parts_settle(x); /* the first part could not even start */
}

static void mpu_create(struct s3m_xfer *x)
{
    set_state(x, X_CREATE);
    struct s3m_s3_req *r = s3m_s3_create_mpu(x->ctx->dst, x->dst_bucket, x->dst_key);
    add_meta(x, r);
    if (x->src_parts > 0 && !x->learned) /* a guess may not reproduce the ETag: see diff.c */
        s3m_s3_req_header(r, S3M_XFER_SOURCE_ETAG_HEADER, x->etag);
    x->cur = r;
    if (s3m_s3_submit(r, create_done, x)) {
        x->cur = NULL;
        x->ei = r->ei;
        s3m_s3_req_free(r);
        defer(x, 0, attempt_failed);
    }
}

static void head_submit(struct s3m_xfer *x, int part)
{
    x->head_part = part;
    struct s3m_s3_req *r = s3m_s3_head_object(x->ctx->src, x->src_bucket, x->src_key, part);
    if (!part) /* plain HEAD: metadata, and If-Match: still the listed version. No If-Match on
                * ?partNumber=: moto compares it with the part's own ETag */
        s3m_s3_req_etag_header(r, "If-Match", x->etag);
    x->cur = r;
    if (s3m_s3_submit(r, head_done, x)) {
        x->cur = NULL;
        x->ei = r->ei;
        s3m_s3_req_free(r);
        defer(x, 0, attempt_failed);
    }
}

/* One HEAD ?partNumber=N answered: true when it told part N's size (AWS S3 and moto send that
 * part's Content-Length and x-amz-mp-parts-count; radosgw Pacific ignores partNumber and
 * answers with the whole object and no parts count). */
static bool part_size_told(struct s3m_xfer *x, const struct s3m_s3_req *r, uint64_t *len)
{
    const char *cl = s3m_s3_resp_header(r, "content-length");
    const char *pc = s3m_s3_resp_header(r, "x-amz-mp-parts-count");
    uint64_t count = 0;
    return cl && pc && s3m_parse_u64(cl, len) && s3m_parse_u64(pc, &count) &&
           count == (uint64_t)x->src_parts && *len > 0 && *len <= x->size;
}

static void layout_guess(struct s3m_xfer *x)
{
    free(x->learned);
    x->learned = NULL;
    x->nlearned = 0;
    x->ncandidates = s3m_xfer_part_candidates(x->size, x->src_parts, x->candidates,
                                              (int)S3M_ARRAY_LEN(x->candidates));
}

static void head_done(struct s3m_s3_req *r, void *ud)
{
    struct s3m_xfer *x = ud;
    x->cur = NULL;
    x->ei = r->ei;
    if (!x->ei.err && x->ctx->stopping)
        s3m_errinfo_set(&x->ei, S3M_EABORTED, "interrupted");
    if (x->ei.err) {
        s3m_s3_req_free(r);
        attempt_failed(x);
        return;
    }
    int part = x->head_part;
    if (!part) { /* the plain HEAD: metadata (moto drops it on ?partNumber=) */
        meta_from(x, r);
        s3m_s3_req_free(r);
        free(x->learned);
        x->learned = s3m_calloc((size_t)x->src_parts, sizeof(*x->learned));
        x->nlearned = 0;
        head_submit(x, 1);
        return;
    }
    uint64_t len = 0;
    bool told = part_size_told(x, r, &len);
    s3m_s3_req_free(r);
    if (told) {
        x->learned[part - 1] = len;
        x->nlearned = part;
        if (part + 1 < x->src_parts) { /* each part's size, but the last: the rest of the object */
            head_submit(x, part + 1);
            return;
        }
        uint64_t sum = 0;
        for (int i = 0; i < part; i++)
            sum += x->learned[i];
        if (part < x->src_parts && sum < x->size)
            x->learned[x->nlearned++] = x->size - sum;
    }
    if (told && s3m_layout_check(x->size, x->learned, x->nlearned) &&
        x->nlearned == x->src_parts) {
        x->candidates[0] = x->learned[0]; /* the server told us the layout */
        x->ncandidates = 1;
        s3m_log(S3M_LOG_DEBUG, "xfer", "%s: %d part sizes learned from the source", x->src_key,
                x->nlearned);
    } else {
        /* e.g. radosgw Pacific answers ?partNumber=N with the whole object: guess */
        layout_guess(x);
    }
    x->candidate = 0;
    if (!x->ncandidates) {
        snprintf(x->note, sizeof(x->note), "part layout of %s unknown: copied as one part",
                 x->etag);
        x->src_parts = -1; /* no Content-MD5 from a multipart ETag */
        start_single(x);
        return;
    }
    mpu_create(x);
}

/* ---- attempts ---- */

static bool retry_worth(const struct s3m_errinfo *ei)
{
    if (ei->err == S3M_ENOTFOUND || ei->err == S3M_EAUTH || ei->err == S3M_ETLS)
        return false;
    return ei->http_status != 412; /* the source changed since it was listed */
}

static void attempt_failed(struct s3m_xfer *x)
{
    struct s3m_xfer_ctx *c = x->ctx;
    if (x->upload_id) { /* never leave a multipart upload behind */
        mpu_abort(x);
        return;
    }
    if (x->attempt < c->attempts && retry_worth(&x->ei) && !c->stopping) {
        char line[900];
        struct s3m_log_fields lf = {c->src->remote->name, x->src_bucket, x->src_key, &x->ei};
        s3m_logf(S3M_LOG_INFO, "xfer", &lf, "%s: attempt %d failed (%s), retrying", x->src_key,
                 x->attempt, s3m_errinfo_str(&x->ei, line, sizeof(line)));
        c->object_retries++;
        set_state(x, X_RETRY);
        defer(x, (uint64_t)s3m_s3_backoff_ms(c->dst, x->attempt, x->retry_after_ms),
              attempt_start);
        return;
    }
    set_state(x, X_DONE);
    x->done(x, x->ud);
}

static void attempt_start(struct s3m_xfer *x)
{
    if (x->ctx->stopping) {
        s3m_errinfo_set(&x->ei, S3M_EABORTED, "interrupted");
        attempt_failed(x);
        return;
    }
    s3m_errinfo_clear(&x->ei);
    x->single_tries = 0;
    x->retry_after_ms = 0;
    if (x->state == X_RETRY || x->attempt == 0) /* a new part-size candidate is no new attempt */
        x->attempt++;
    if (x->src_parts <= 0 && x->size <= x->ctx->single_max) {
        start_single(x);
        return;
    }
    if (x->src_parts > 0 && x->ncandidates) { /* layout known or being guessed */
        mpu_create(x);
        return;
    }
    if (x->src_parts > 0) {
        set_state(x, X_HEAD);
        /* first a plain HEAD (metadata), then ?partNumber=1..N-1 for the layout */
        head_submit(x, 0);
        return;
    }
    /* a single-part source above --multipart-threshold: parts of --multipart-chunk-size
     * (its ETag on the destination will be a multipart one) */
    x->candidates[0] = x->ctx->chunk_size;
    x->ncandidates = 1;
    x->src_parts = 0;
    mpu_create(x);
}

static void first_start(struct s3m_xfer *x)
{
    attempt_start(x);
}

struct s3m_xfer *s3m_xfer_start(struct s3m_xfer_ctx *c, const char *src_bucket,
                                const char *src_key, const char *dst_bucket, const char *dst_key,
                                uint64_t size, const char *etag, s3m_xfer_done_cb done, void *ud)
{
    struct s3m_xfer *x = s3m_calloc(1, sizeof(*x));
    x->ctx = c;
    x->src_bucket = s3m_strdup(src_bucket);
    x->src_key = s3m_strdup(src_key);
    x->dst_bucket = s3m_strdup(dst_bucket);
    x->dst_key = s3m_strdup(dst_key);
    x->size = size;
    snprintf(x->etag, sizeof(x->etag), "%s", etag ? etag : "");
    x->src_parts = s3m_etag_parts(x->etag);
    x->done = done;
    x->ud = ud;
    x->state = X_SINGLE;
    x->all_next = c->xfers;
    c->xfers = x;
    defer(x, 0, first_start); /* done never runs from inside this call */
    return x;
}

void s3m_xfer_free(struct s3m_xfer *x)
{
    if (!x)
        return;
    for (struct s3m_xfer **pp = &x->ctx->xfers; *pp; pp = &(*pp)->all_next) {
        if (*pp == x) {
            *pp = x->all_next;
            break;
        }
    }
    for (size_t i = 0; i < x->nmeta; i++) {
        free((char *)x->meta[i].name);
        free((char *)x->meta[i].value);
    }
    free(x->meta);
    whole_drop(x);
    free(x->parts);
    free(x->learned);
    free(x->upload_id);
    free(x->src_bucket);
    free(x->src_key);
    free(x->dst_bucket);
    free(x->dst_key);
    free(x);
}
