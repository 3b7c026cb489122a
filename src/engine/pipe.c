/* pipe.c - one GET streamed into one PUT or UploadPart through a bounded ring buffer, each side
 * paused while the other catches up, nothing on disk. The destination checks the bytes against
 * the MD5 it was given (Content-MD5) and its ETag against the one expected; the client hashes
 * them only where its owner asks (no server can check them). A stream that failed with a cause worth it is sent
 * again here on its own; its owner hears only the end (s3m__pipe_cbs.done). Each round holds its
 * buffers' size of the process's memory budget (s3m/membudget.h), waiting for it first. */
#include "xfer_int.h"
#include "s3m/hash.h"
#include "s3m/log.h"
#include "s3m/membudget.h"
#include "s3m/util.h"

#include <assert.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The pipe's booleans: one flags word. */
enum {
    P_GET_RUNNING = 1 << 0,
    P_PUT_RUNNING = 1 << 1,
    P_PUT_STARTED = 1 << 2,
    P_FAILED = 1 << 3,
    P_RETRYABLE = 1 << 4,  /* the first failure was worth sending the stream again */
    P_RESUME_GET = 1 << 5, /* asks of the kick (never from inside curl's callbacks) */
    P_RESUME_PUT = 1 << 6,
    P_START_PUT = 1 << 7,
    P_FINISH_QUEUED = 1 << 8, /* the GET could not start: end the round from the kick */
    P_QUEUED = 1 << 9,        /* on the context's pending list */
    P_WAITING = 1 << 10,      /* between two tries, its timer armed */
    P_DIGEST = 1 << 11,       /* the failure: the bytes' MD5 is not the one expected */
    P_PREPARING = 1 << 12,    /* the owner's prepare runs: the GET waits, paused */
    P_PREPARED = 1 << 13,     /* this round's prepare is over */
    P_BUDGET = 1 << 14,       /* waits for its buffers' memory (s3m/membudget.h) */
    P_GRANTED = 1 << 15,      /* got it while waiting: the kick starts the round */
};

struct s3m_xfer_pipe {
    struct s3m_xfer_ctx *c;
    struct s3m__pipe_src src;
    struct s3m__pipe_cbs cbs;
    void *ud;
    unsigned flags;
    int tries; /* failed tries of this stream */
    struct s3m_s3_req *get, *put;
    char *ring;
    size_t cap, head, len;
    uint64_t got, sent;
    struct s3m__pipe_check chk; /* this round's, from the owner's make_put */
    struct s3m_md5_ctx md5;     /* chk.hash only */
    char md5_hex[33];           /* of the bytes sent, once the destination answered */
    char etag[80];              /* the destination's answer */
    struct s3m_errinfo ei;
    long retry_after_ms;
    struct s3m_timer *wait;
    struct s3m_membudget_wait bw;   /* its place in the budget's queue */
    uint64_t held;                  /* budget this round holds, given back when it ends */
    struct s3m_xfer_pipe *next;     /* ctx->pending */
    struct s3m_xfer_pipe *all_next; /* ctx->pipes */
};

#define HAS(p, f) (((p)->flags & (f)) != 0)

/* ---- failing ---- */

static void kick(struct s3m_xfer_pipe *p)
{
    struct s3m_xfer_ctx *c = p->c;
    if (HAS(p, P_QUEUED))
        return;
    p->flags |= P_QUEUED;
    p->next = c->pending;
    c->pending = p;
    s3m_kick_arm(c->kick);
}

static void pipe_fail(struct s3m_xfer_pipe *p, const struct s3m_errinfo *ei, const char *side)
{
    if (HAS(p, P_FAILED))
        return;
    p->flags |= P_FAILED;
    p->ei = *ei;
    char msg[sizeof(p->ei.message) + 64];
    snprintf(msg, sizeof(msg), "%s: %s", side, ei->message);
    snprintf(p->ei.message, sizeof(p->ei.message), "%.*s", (int)sizeof(p->ei.message) - 1, msg);
    /* stop the other side (from the kick: we may be inside curl here) */
    p->flags |= P_RESUME_GET | P_RESUME_PUT;
    kick(p);
}

/* A request of the pipe failed: keep whether the client found the cause worth a retry. */
static void pipe_fail_req(struct s3m_xfer_pipe *p, struct s3m_s3_req *r, const char *side)
{
    if (HAS(p, P_FAILED))
        return;
    if (r->retryable)
        p->flags |= P_RETRYABLE;
    p->retry_after_ms = r->retry_after_ms;
    pipe_fail(p, &r->ei, side);
}

/* Bytes that did not add up (truncated, too many, wrong MD5): worth reading them again. */
static void pipe_fail_bytes(struct s3m_xfer_pipe *p, const struct s3m_errinfo *ei, const char *side)
{
    if (!HAS(p, P_FAILED))
        p->flags |= P_RETRYABLE;
    pipe_fail(p, ei, side);
}

/* ---- the two sides ---- */

static size_t pipe_read(struct s3m_s3_req *r, char *buf, size_t n, void *ud)
{
    (void)r;
    struct s3m_xfer_pipe *p = ud;
    if (HAS(p, P_FAILED))
        return S3M_HTTP_ABORT;
    if (!p->len)
        return HAS(p, P_GET_RUNNING) ? S3M_HTTP_PAUSE : 0;
    size_t c = n < p->len ? n : p->len;
    size_t first = p->cap - p->head < c ? p->cap - p->head : c;
    memcpy(buf, p->ring + p->head, first);
    memcpy(buf + first, p->ring, c - first);
    if (p->chk.hash)
        s3m_md5_update(&p->md5, buf, c);
    p->head = (p->head + c) % p->cap;
    p->len -= c;
    p->sent += c;
    p->c->bytes_streamed += c;
    if (HAS(p, P_GET_RUNNING) && s3m_http_paused(&p->get->http, S3M_HTTP_RECV)) {
        p->flags |= P_RESUME_GET;
        kick(p);
    }
    return c;
}

static void pipe_put_done(struct s3m_s3_req *r, void *ud);

/* Fewer, larger reads and writes for a large stream: curl's receive buffer (its default is
 * 16 KiB) and upload buffer (64 KiB) grow with the ring, a quarter and a half of it, capped
 * (curl allows up to 10 MiB and 2 MiB) and never above the body, so that a stream holds 1.75
 * times --buffer-size at most; a small object keeps curl's defaults. */
#define RECV_BUFFER_MAX (512u << 10)
#define SEND_BUFFER_MAX (2u << 20)
#define RECV_BUFFER_CURL (16u << 10) /* curl's defaults, what a small stream holds */
#define SEND_BUFFER_CURL (64u << 10)
static size_t stream_buffer_for(size_t buffer_size, uint64_t length, bool send)
{
    size_t cap = send ? SEND_BUFFER_MAX : RECV_BUFFER_MAX;
    size_t n = send ? buffer_size / 2 : buffer_size / 4;
    if (n > cap)
        n = cap;
    if (length < n)
        n = (size_t)length;
    return n <= (64u << 10) ? 0 : n;
}

uint64_t s3m_xfer_stream_charge(size_t buffer_size, uint64_t length)
{
    size_t recv = stream_buffer_for(buffer_size, length, false);
    size_t send = stream_buffer_for(buffer_size, length, true);
    uint64_t ring = length < buffer_size ? length : buffer_size;
    return (ring ? ring : 1) + (recv ? recv : RECV_BUFFER_CURL) + (send ? send : SEND_BUFFER_CURL);
}

static void big_buffers(const struct s3m_xfer_pipe *p, struct s3m_s3_req *r, bool send)
{
    size_t n = stream_buffer_for(p->c->buffer_size, p->src.length, send);
    if (!n)
        return;
    if (send)
        r->send_buffer = n;
    else
        r->recv_buffer = n;
}

static void pipe_start_put(struct s3m_xfer_pipe *p)
{
    p->flags |= P_PREPARED;
    p->flags |= P_PUT_STARTED;
    memset(&p->chk, 0, sizeof(p->chk));
    struct s3m_s3_req *r = p->cbs.make_put(p->ud, p->get, &p->chk);
    s3m_s3_req_stream(r, (int64_t)p->src.length, pipe_read);
    big_buffers(p, r, true);
    p->put = r;
    p->flags |= P_PUT_RUNNING;
    if (s3m_s3_submit(r, pipe_put_done, p)) {
        p->flags &= ~(unsigned)P_PUT_RUNNING;
        pipe_fail_req(p, r, "writing destination");
    }
}

/* The PUT starts, unless the owner has work to do first (the source's tags): then the GET
 * stays paused until s3m__pipe_prepared. True when the PUT started. */
static bool put_go(struct s3m_xfer_pipe *p)
{
    p->flags |= P_PREPARING; /* prepare may say it is over from inside the call */
    if (!HAS(p, P_PREPARED) && p->cbs.prepare && p->cbs.prepare(p->ud, p, p->get))
        return false;
    p->flags &= ~(unsigned)P_PREPARING;
    pipe_start_put(p);
    return true;
}

void s3m__pipe_prepared(struct s3m_xfer_pipe *p, const struct s3m_errinfo *ei)
{
    assert(HAS(p, P_PREPARING));
    p->flags &= ~(unsigned)P_PREPARING;
    p->flags |= P_PREPARED;
    if (ei && ei->err)
        pipe_fail(p, ei, "reading source tags");
    if (HAS(p, P_FAILED))
        p->flags |= P_FINISH_QUEUED; /* the kick ends the round (the GET may be over) */
    else
        p->flags |= P_START_PUT;
    kick(p);
}

/* A write larger than the ring (never expected: curl hands out at most 16 KiB): grow it. */
static void ring_grow(struct s3m_xfer_pipe *p, size_t n)
{
    char *bigger = s3m_malloc(n);
    size_t first = p->cap - p->head < p->len ? p->cap - p->head : p->len;
    memcpy(bigger, p->ring + p->head, first);
    memcpy(bigger + first, p->ring, p->len - first);
    free(p->ring);
    p->ring = bigger, p->cap = n, p->head = 0;
}

static size_t pipe_write(struct s3m_s3_req *r, const char *data, size_t n, void *ud)
{
    (void)r;
    struct s3m_xfer_pipe *p = ud;
    if (HAS(p, P_FAILED))
        return S3M_HTTP_ABORT;
    if (!HAS(p, P_PUT_STARTED)) {
        /* curl refuses new transfers from inside a callback: start the PUT from the kick,
         * which then resumes this GET (its headers carry the metadata we copy) */
        p->flags |= P_START_PUT;
        kick(p);
        return S3M_HTTP_PAUSE;
    }
    if (p->got + n > p->src.length) {
        struct s3m_errinfo ei;
        s3m_errinfo_set(&ei, S3M_EINTEGRITY, "source sent more bytes than listed (%" PRIu64 ")",
                        p->src.length);
        pipe_fail_bytes(p, &ei, "reading source");
        return S3M_HTTP_ABORT;
    }
    if (n > p->cap)
        ring_grow(p, n);
    if (p->cap - p->len < n)
        return S3M_HTTP_PAUSE; /* the PUT side resumes us when it has drained the ring */
    size_t tail = (p->head + p->len) % p->cap;
    size_t first = p->cap - tail < n ? p->cap - tail : n;
    memcpy(p->ring + tail, data, first);
    memcpy(p->ring, data + first, n - first);
    p->len += n;
    p->got += n;
    if (HAS(p, P_PUT_RUNNING) && s3m_http_paused(&p->put->http, S3M_HTTP_SEND)) {
        p->flags |= P_RESUME_PUT;
        kick(p);
    }
    return n;
}

/* ---- rounds: one GET and one PUT; again after a retryable failure ---- */

static void unlink_from(struct s3m_xfer_pipe **pp, struct s3m_xfer_pipe *p, bool all)
{
    for (; *pp; pp = all ? &(*pp)->all_next : &(*pp)->next) {
        if (*pp == p) {
            *pp = all ? p->all_next : p->next;
            return;
        }
    }
}

static void round_start(struct s3m_xfer_pipe *p);

/* The stream is over for good: the pipe goes, then its owner hears. */
static void pipe_end(struct s3m_xfer_pipe *p, const struct s3m__outcome *o)
{
    struct s3m__pipe_cbs cbs = p->cbs;
    void *ud = p->ud;
    unlink_from(&p->c->pipes, p, true);
    s3m_timer_free(p->wait);
    free(p);
    cbs.done(ud, o);
}

/* The owner wants no more of this stream: a stop, or it gave up (may_retry false). */
static bool unwanted(const struct s3m_xfer_pipe *p)
{
    return p->c->stopping || (p->cbs.may_retry && !p->cbs.may_retry(p->ud));
}

static void on_wait(void *ud)
{
    struct s3m_xfer_pipe *p = ud;
    p->flags &= ~(unsigned)P_WAITING;
    if (unwanted(p)) {
        struct s3m__outcome o = {.retryable = false};
        s3m_errinfo_set(&o.ei, S3M_EABORTED, "interrupted");
        pipe_end(p, &o);
        return;
    }
    round_start(p); /* the source range read again, with If-Match */
}

/* A failed round: wait the client's backoff and go again when the cause is worth it and the
 * tries (--low-level-retries) are not used up. */
static bool round_retry(struct s3m_xfer_pipe *p, const struct s3m__outcome *o)
{
    struct s3m_xfer_ctx *c = p->c;
    if (!o->ei.err || !o->retryable || unwanted(p))
        return false;
    if (++p->tries >= c->dst->opts.attempts)
        return false;
    long wait = s3m_s3_backoff_ms(c->dst, p->tries, o->retry_after_ms);
    char line[900], what[32] = "";
    if (p->src.part)
        snprintf(what, sizeof(what), " part %d", p->src.part);
    struct s3m_log_fields lf = {c->src->remote->name, p->src.bucket, p->src.key, &o->ei};
    s3m_logf(S3M_LOG_INFO, "xfer", &lf, "%s%s: try %d failed (%s), again in %ld ms", p->src.key,
             what, p->tries, s3m_errinfo_str(&o->ei, line, sizeof(line)), wait);
    c->stream_retries++;
    if (!p->wait)
        p->wait = s3m_timer_new(c->src->loop, on_wait, p);
    p->flags |= P_WAITING;
    s3m_timer_start(p->wait, (uint64_t)wait, 0);
    return true;
}

/* Both sides are over: the round's outcome, then again or the end. */
static void round_finish(struct s3m_xfer_pipe *p)
{
    unlink_from(&p->c->pending, p, false);
    struct s3m__outcome o = {p->ei, HAS(p, P_FAILED) && HAS(p, P_RETRYABLE), p->retry_after_ms, "",
                             "",    HAS(p, P_FAILED) && HAS(p, P_DIGEST)};
    if (!HAS(p, P_FAILED) && !HAS(p, P_PUT_STARTED))
        s3m_errinfo_set(&o.ei, S3M_EINTEGRITY, "no data stream");
    memcpy(o.md5, p->md5_hex, sizeof(o.md5)); /* also of a failed round sent whole */
    if (!o.ei.err)
        memcpy(o.etag, p->etag, sizeof(o.etag));
    s3m_s3_req_free(p->get);
    s3m_s3_req_free(p->put);
    p->get = p->put = NULL;
    s3m_md5_cleanup(&p->md5);
    free(p->ring);
    p->ring = NULL;
    s3m_membudget_cancel(&p->bw); /* stopped while it waited */
    s3m_membudget_release(p->held);
    p->held = 0;
    if (!round_retry(p, &o))
        pipe_end(p, &o);
}

static void pipe_check(struct s3m_xfer_pipe *p)
{
    if (!HAS(p, P_GET_RUNNING | P_PUT_RUNNING | P_PREPARING))
        round_finish(p);
}

static void pipe_get_done(struct s3m_s3_req *r, void *ud)
{
    struct s3m_xfer_pipe *p = ud;
    p->flags &= ~(unsigned)P_GET_RUNNING;
    if (r->ei.err) {
        pipe_fail_req(p, r, "reading source");
    } else if (p->got != p->src.length) {
        struct s3m_errinfo ei;
        s3m_errinfo_set(&ei, S3M_EINTEGRITY, "source sent %" PRIu64 " of %" PRIu64 " bytes", p->got,
                        p->src.length);
        pipe_fail_bytes(p, &ei, "reading source");
    } else if (!HAS(p, P_PUT_STARTED)) {
        put_go(p); /* an empty body: nothing came through pipe_write */
    } else if (HAS(p, P_PUT_RUNNING)) {
        p->flags |= P_RESUME_PUT; /* let it read the end of the body */
        kick(p);
    }
    pipe_check(p);
}

/* The client's MD5 of the bytes, once all were sent. */
static void md5_finish(struct s3m_xfer_pipe *p)
{
    uint8_t md5[S3M_MD5_LEN];
    if (!p->chk.hash || p->md5_hex[0] || p->sent != p->src.length)
        return;
    s3m_md5_final(&p->md5, md5);
    s3m_hex(md5, sizeof(md5), p->md5_hex);
}

/* The destination's ETag of what it stored (its MD5) must be the one expected: the client's
 * MD5 of the bytes sent, or the owner's (the source's ETag, which the destination was also
 * given as Content-MD5). A stream checked by the owner alone keeps the ETag for it. */
static void put_verify(struct s3m_xfer_pipe *p, struct s3m_s3_req *r)
{
    const char *etag = s3m_s3_resp_header(r, "etag"), *want = p->chk.expect;
    if (etag)
        snprintf(p->etag, sizeof(p->etag), "%.*s", (int)strcspn(etag + (*etag == '"'), "\""),
                 etag + (*etag == '"'));
    md5_finish(p);
    if (p->chk.hash)
        want = p->md5_hex;
    struct s3m_errinfo ei;
    if (p->sent != p->src.length) {
        s3m_errinfo_set(&ei, S3M_EINTEGRITY, "sent %" PRIu64 " of %" PRIu64 " bytes", p->sent,
                        p->src.length);
        pipe_fail_bytes(p, &ei, "writing destination");
    } else if (*want && s3m_strcasecmp(p->etag, want)) {
        s3m_errinfo_set(&ei, S3M_EINTEGRITY, "destination ETag %s differs from the MD5 %s %s",
                        p->etag, want, p->chk.hash ? "of the bytes sent" : "expected");
        p->c->integrity_failures++;
        if (p->chk.hash) { /* the bytes were lost between us and the server: send them again */
            pipe_fail_bytes(p, &ei, "verifying");
        } else { /* the owner decides: the source's ETag may be no MD5 (hash them next) */
            p->flags |= P_DIGEST;
            pipe_fail(p, &ei, "verifying");
        }
    }
}

static void pipe_put_done(struct s3m_s3_req *r, void *ud)
{
    struct s3m_xfer_pipe *p = ud;
    p->flags &= ~(unsigned)P_PUT_RUNNING;
    if (r->ei.err) {
        if (!HAS(p, P_FAILED) && !strcmp(r->ei.code, "BadDigest")) {
            md5_finish(p); /* the owner compares it with the source's ETag */
            p->flags |= P_DIGEST;
        }
        pipe_fail_req(p, r, "writing destination");
    } else if (!HAS(p, P_FAILED)) {
        put_verify(p, r);
    }
    pipe_check(p);
}

/* The round holds its memory: the GET starts. */
static void round_go(struct s3m_xfer_pipe *p)
{
    struct s3m_xfer_ctx *c = p->c;
    p->ring = s3m_malloc(p->cap);
    char range[80], *rp = NULL;
    if (p->src.ranged) {
        snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64, p->src.offset,
                 p->src.offset + p->src.length - 1);
        rp = range;
    }
    /* If-Match: the bytes must be those of the listed version, or nothing */
    p->get = s3m_s3_get_object(c->src, p->src.bucket, p->src.key, rp, 0, p->src.etag);
    p->get->write_cb = pipe_write;
    big_buffers(p, p->get, false);
    p->flags |= P_GET_RUNNING;
    if (s3m_s3_submit(p->get, pipe_get_done, p)) {
        p->flags &= ~(unsigned)P_GET_RUNNING;
        pipe_fail_req(p, p->get, "reading source");
        p->flags |= P_FINISH_QUEUED; /* finished from the kick, not from here */
        kick(p);
    }
}

/* Granted from another stream's end (maybe inside curl): the kick starts the round. */
static void budget_granted(struct s3m_membudget_wait *w)
{
    struct s3m_xfer_pipe *p = (struct s3m_xfer_pipe *)((char *)w -
                                                       offsetof(struct s3m_xfer_pipe, bw));
    p->held = w->charge;
    p->flags = (p->flags & ~(unsigned)P_BUDGET) | P_GRANTED;
    kick(p);
}

static void round_start(struct s3m_xfer_pipe *p)
{
    struct s3m_xfer_ctx *c = p->c;
    p->flags = 0;
    p->head = p->len = 0;
    p->got = p->sent = 0;
    p->retry_after_ms = 0;
    p->md5_hex[0] = p->etag[0] = 0;
    memset(&p->chk, 0, sizeof(p->chk));
    s3m_errinfo_clear(&p->ei);
    s3m_md5_init(&p->md5);
    p->cap = p->src.length < c->buffer_size ? (size_t)p->src.length : c->buffer_size;
    p->cap += !p->cap; /* an empty body: a ring of one byte */
    p->bw = (struct s3m_membudget_wait){
        .charge = s3m_xfer_stream_charge(c->buffer_size, p->src.length), .granted = budget_granted};
    if (s3m_membudget_take(&p->bw)) {
        p->held = p->bw.charge;
        round_go(p);
        return;
    }
    p->flags |= P_BUDGET;
    struct s3m_membudget_stats st;
    s3m_membudget_stats(&st);
    s3m_log(S3M_LOG_DEBUG, "xfer",
            "%s (part %d): waits for buffer memory: %" PRIu64 " B, %" PRIu64 " of %" PRIu64
            " B held, %zu waiting",
            p->src.key, p->src.part, p->bw.charge, st.in_use, s3m_membudget_limit(), st.waiting);
}

void s3m__pipe_start(struct s3m_xfer_ctx *c, const struct s3m__pipe_src *src,
                     const struct s3m__pipe_cbs *cbs, void *ud)
{
    struct s3m_xfer_pipe *p = s3m_calloc(1, sizeof(*p));
    p->c = c;
    p->src = *src;
    p->cbs = *cbs;
    p->ud = ud;
    p->all_next = c->pipes;
    c->pipes = p;
    round_start(p);
}

/* ---- the kick: what curl's callbacks may not do themselves ---- */

/* A round that has not started ends: interrupted, not worth a retry. */
static void round_drop(struct s3m_xfer_pipe *p)
{
    struct s3m_errinfo ei;
    s3m_errinfo_set(&ei, S3M_EABORTED, "interrupted");
    pipe_fail(p, &ei, "waiting for buffer memory");
}

static void kicked(struct s3m_xfer_pipe *p)
{
    bool resume_get = HAS(p, P_RESUME_GET), resume_put = HAS(p, P_RESUME_PUT);
    p->flags &= ~(unsigned)(P_QUEUED | P_RESUME_GET | P_RESUME_PUT);
    p->next = NULL;
    if (HAS(p, P_GRANTED) && !HAS(p, P_FAILED) && unwanted(p))
        round_drop(p);                                      /* its owner gave up while it waited */
    if (HAS(p, P_FAILED) && HAS(p, P_BUDGET | P_GRANTED)) { /* the round never started */
        p->flags |= P_FINISH_QUEUED;
    } else if (HAS(p, P_GRANTED)) {
        p->flags &= ~(unsigned)P_GRANTED;
        round_go(p);
    }
    if (HAS(p, P_FAILED)) { /* stop whatever still runs */
        if (HAS(p, P_GET_RUNNING))
            s3m_s3_cancel(p->get);
        if (HAS(p, P_PUT_RUNNING))
            s3m_s3_cancel(p->put);
    } else {
        if (HAS(p, P_START_PUT) && !HAS(p, P_PUT_STARTED)) {
            p->flags &= ~(unsigned)P_START_PUT;
            resume_get = put_go(p);
        }
        if (resume_get && HAS(p, P_GET_RUNNING))
            s3m_s3_resume(p->get);
        if (resume_put && HAS(p, P_PUT_RUNNING))
            s3m_s3_resume(p->put);
    }
    if (HAS(p, P_FINISH_QUEUED))
        pipe_check(p);
}

void s3m__pipe_on_kick(void *ud)
{
    struct s3m_xfer_ctx *c = ud;
    struct s3m_xfer_pipe *p = c->pending;
    c->pending = NULL;
    while (p) {
        struct s3m_xfer_pipe *next = p->next;
        kicked(p);
        p = next;
    }
}

void s3m__pipe_stop_all(struct s3m_xfer_ctx *c)
{
    struct s3m_errinfo ei;
    s3m_errinfo_set(&ei, S3M_EABORTED, "interrupted");
    for (struct s3m_xfer_pipe *p = c->pipes; p; p = p->all_next) {
        if (HAS(p, P_WAITING))
            s3m_timer_start(p->wait, 0, 0); /* the wait ends now; on_wait sees the stop */
        else
            pipe_fail(p, &ei, "stopping");
    }
}

void s3m__pipe_cut_waiting(struct s3m_xfer_ctx *c)
{
    for (struct s3m_xfer_pipe *p = c->pipes; p; p = p->all_next)
        if (HAS(p, P_BUDGET) && !p->src.part && !p->tries) /* a whole object, never started */
            round_drop(p);
}

void s3m__pipe_drop_waiting(struct s3m_xfer_ctx *c)
{
    for (struct s3m_xfer_pipe *p = c->pipes; p; p = p->all_next)
        if (HAS(p, P_BUDGET) && p->cbs.may_retry && !p->cbs.may_retry(p->ud))
            round_drop(p);
}
