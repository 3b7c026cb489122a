/* client.c - sending S3 requests: addressing, SigV4 signing per attempt, response capture, the
 * retry policy (the one backoff formula of net/retry.c with this client's settings,
 * s3m_s3_backoff_ms, also used by the transfers) and the endpoint's concurrency limit
 * (AIMD: throttling halves the requests in flight, successes raise it; beyond it requests wait
 * in a queue, in order). Building a request and reading what its reply means: message.c.
 *
 * Each attempt is signed afresh (the signature covers the time). Replies are read as they
 * arrive: success XML goes straight into the streaming reader, error bodies into a bounded
 * buffer, object bodies to the caller's sink. */
#include "client_int.h"
#include "s3m/hash.h"
#include "s3m/log.h"
#include "s3m/ratelimit.h"
#include "s3m/retry.h"
#include "s3m/uri.h"
#include "s3m/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_ERR_BODY 65536

static const char *const op_names[] = {
#define S3M_XX(id, name) name,
    S3M_OP_MAP(S3M_XX)
#undef S3M_XX
};

const char *s3m_s3_op_name(enum s3m_s3_op op)
{
    return (unsigned)op < S3M_OP__COUNT ? op_names[op] : "?";
}

void s3m_s3_opts_default(struct s3m_s3_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->attempts = 5;
    o->backoff_base_ms = 100;
    o->backoff_cap_ms = 5000;
    o->http.connect_timeout_ms = 10000;
    o->http.low_speed_time_s = 60;
    o->http.verify_tls = true;
}

enum s3m_err s3m_s3_init(struct s3m_s3 *c, struct s3m_loop *loop, const struct s3m_remote *r,
                         const struct s3m_s3_opts *o, struct s3m_errinfo *ei)
{
    memset(c, 0, sizeof(*c));
    enum s3m_err err = s3m_remote_check(r, ei);
    if (err)
        return err;
    c->loop = loop;
    c->remote = r;
    c->opts = *o;
    if (r->no_check_certificate) {
        c->opts.http.verify_tls = false;
        s3m_log(S3M_LOG_WARN, "s3",
                "remote %s: TLS certificates are not checked "
                "(no_check_certificate = true)",
                r->name);
    }
    c->anonymous = !r->access_key_id || !*r->access_key_id;
    s3m_signer_init(&c->signer, r->access_key_id, r->secret_access_key, r->session_token);
    c->region = s3m_strdup(r->region && *r->region ? r->region : "us-east-1");
    c->rng = (unsigned)time(NULL) ^ (unsigned)getpid() ^ (unsigned)(uintptr_t)c;
    struct s3m_endpoint ep;
    if (o->tps > 0) { /* one limiter per endpoint, shared with its other clients */
        if ((err = s3m_endpoint_resolve(r, NULL, &ep, ei))) {
            s3m_s3_cleanup(c);
            return err;
        }
        c->tps = s3m_tps_get(loop, ep.base_url, o->tps, o->tps_burst);
        s3m_endpoint_cleanup(&ep);
    }
    return S3M_EOK;
}

void s3m_s3_cleanup(struct s3m_s3 *c)
{
    s3m_signer_cleanup(&c->signer);
    free(c->region);
    memset(c, 0, sizeof(*c));
}

/* ---- request building ---- */

static void reset_response(struct s3m_s3_req *r)
{
    s3m_xml_free(r->xp);
    r->xp = NULL;
    s3m_xml_result_free(r->xml);
    r->xml = NULL;
    s3m_buf_reset(&r->errbody);
    s3m__kv_free(r->resp_headers, r->nresp_headers);
    r->resp_headers = NULL;
    r->nresp_headers = r->cap_resp_headers = 0;
    r->status = 0;
    r->body_off = 0;
    r->body_started = false;
    r->retryable = false;
    s3m_errinfo_clear(&r->ei);
}

static void unqueue(struct s3m_s3_req *r);
static void release(struct s3m_s3_req *r);

void s3m_s3_req_free(struct s3m_s3_req *r)
{
    if (!r)
        return;
    s3m_timer_free(r->retry_timer); /* freed while waiting: its callback never runs */
    if (r->queued)
        unqueue(r);
    release(r);
    reset_response(r);
    s3m_http_cleanup(&r->http);
    free(r->method);
    free(r->bucket);
    free(r->key);
    s3m__kv_free(r->query, r->nquery);
    s3m__kv_free(r->headers, r->nheaders);
    s3m_buf_cleanup(&r->body);
    s3m_buf_cleanup(&r->errbody);
    free(r);
}

/* ---- HTTP callbacks ---- */

static void on_header(struct s3m_http *h, const char *name, size_t nlen, const char *value,
                      size_t vlen)
{
    struct s3m_s3_req *r = h->ud;
    if (r->nresp_headers >= 256)
        return;
    char *n = s3m_strndup(name, nlen), *v = s3m_strndup(value, vlen);
    r->resp_headers = s3m_realloc(r->resp_headers, (r->nresp_headers + 1) * sizeof(struct s3m_kv));
    r->resp_headers[r->nresp_headers].name = n;
    r->resp_headers[r->nresp_headers++].value = v;
}

static bool success(int status)
{
    return status >= 200 && status < 300;
}

static size_t on_write(struct s3m_http *h, const char *data, size_t n)
{
    struct s3m_s3_req *r = h->ud;
    if (!success(h->status)) {
        size_t room = MAX_ERR_BODY - r->errbody.len;
        s3m_buf_add(&r->errbody, data, n < room ? n : room);
        return n;
    }
    if (r->xml_accept) {
        if (!r->xp)
            r->xp = s3m_xml_new(r->xml_accept);
        if (s3m_xml_feed(r->xp, data, n, &r->ei))
            return S3M_HTTP_ABORT; /* the reader's error is in r->ei */
        return n;
    }
    if (r->write_cb) {
        r->body_started = true;
        return r->write_cb(r, data, n, r->ud);
    }
    return n;
}

static size_t on_read(struct s3m_http *h, char *buf, size_t n)
{
    struct s3m_s3_req *r = h->ud;
    if (r->read_cb)
        return r->read_cb(r, buf, n, r->ud);
    size_t left = r->body.len - r->body_off;
    if (n > left)
        n = left;
    memcpy(buf, r->body.data + r->body_off, n);
    r->body_off += n;
    return n;
}

/* curl sends the body again (a kept-alive connection closed unanswered): an in-memory body
 * goes back to offset; a stream (r->read_cb) cannot, and the transfer fails with curl code 65,
 * retryable: the caller sends the part again from its source (see s3m_http_transport_retryable). */
static bool on_seek(struct s3m_http *h, uint64_t offset)
{
    struct s3m_s3_req *r = h->ud;
    if (r->read_cb || offset > r->body.len)
        return false;
    r->body_off = (size_t)offset;
    return true;
}

/* ---- errors and retries ---- */

static unsigned client_rand(void *ud)
{
    return (unsigned)rand_r(ud);
}

long s3m_s3_backoff_ms(struct s3m_s3 *c, int attempt, long retry_after)
{
    struct s3m_retry_policy p = {c->opts.backoff_base_ms, c->opts.backoff_cap_ms};
    return s3m_retry_backoff_ms(&p, attempt, retry_after, client_rand, &c->rng);
}

static enum s3m_err start_attempt(struct s3m_s3_req *r);
static void finish(struct s3m_s3_req *r);

static enum s3m_err admit(struct s3m_s3_req *r);

static void on_retry_timer(void *ud)
{
    struct s3m_s3_req *r = ud;
    s3m_timer_free(r->retry_timer);
    r->retry_timer = NULL;
    if (r->cancelled) {
        finish(r); /* cancelled while waiting: reported from the loop */
        return;
    }
    if (r->counted) { /* admitted from the queue: its place is already held */
        if (start_attempt(r)) {
            r->counted = false;
            r->c->inflight--;
            finish(r);
        }
        return;
    }
    if (admit(r))
        finish(r); /* could not even start: report the error from the loop */
}

/* Run on_retry_timer after ms: a retry after its backoff, a start admitted from the queue, or
 * (r->cancelled) a cancelled request's completion. */
static void arm_timer(struct s3m_s3_req *r, uint64_t ms)
{
    if (!r->retry_timer)
        r->retry_timer = s3m_timer_new(r->c->loop, on_retry_timer, r);
    s3m_timer_start(r->retry_timer, ms, 0);
}

/* ---- the endpoint's concurrency (AIMD) ---- */

static void aimd_throttled(struct s3m_s3 *c, const char *why)
{
    uint64_t now = s3m_loop_now(c->loop);
    if (c->stats.concurrency_lowered && now - c->last_cut_ms < 1000)
        return; /* one cut per burst: the replies of one window arrive together */
    int base = c->window > 0 && (int)c->window < c->inflight ? (int)c->window : c->inflight;
    if (!c->window_peak)
        c->window_peak = c->inflight > 2 ? c->inflight : 2;
    int w = base / 2 > 1 ? base / 2 : 1;
    c->window = w;
    c->last_cut_ms = now;
    c->stats.concurrency_lowered++;
    if (!c->stats.concurrency_lowest || w < c->stats.concurrency_lowest)
        c->stats.concurrency_lowest = w;
    s3m_log(S3M_LOG_NOTICE, "s3", "remote %s: %s: concurrency lowered to %d requests in flight",
            c->remote->name, why, w);
}

static void aimd_success(struct s3m_s3 *c)
{
    if (c->window <= 0)
        return;
    int before = (int)c->window;
    c->window += 1.0 / c->window; /* about one more per window of successes */
    if ((int)c->window > before) {
        c->stats.concurrency_raised++;
        s3m_log(S3M_LOG_DEBUG, "s3", "remote %s: concurrency raised to %d", c->remote->name,
                (int)c->window);
    }
    if (c->window >= c->window_peak) {
        c->window = 0;
        s3m_log(S3M_LOG_INFO, "s3",
                "remote %s: concurrency limit lifted (%d in flight without "
                "throttling)",
                c->remote->name, c->window_peak);
    }
}

/* Start r now if the limit allows, else queue it (started when a request finishes). */
static enum s3m_err admit(struct s3m_s3_req *r)
{
    struct s3m_s3 *c = r->c;
    if (c->window > 0 && c->inflight >= (int)c->window) {
        r->queued = true;
        r->queue_next = NULL;
        if (c->queue_tail)
            c->queue_tail->queue_next = r;
        else
            c->queue = r;
        c->queue_tail = r;
        return S3M_EOK;
    }
    c->inflight++;
    r->counted = true;
    enum s3m_err err = start_attempt(r);
    if (err) {
        c->inflight--;
        r->counted = false;
    }
    return err;
}

static void unqueue(struct s3m_s3_req *r)
{
    struct s3m_s3 *c = r->c;
    struct s3m_s3_req *prev = NULL;
    for (struct s3m_s3_req *q = c->queue; q; prev = q, q = q->queue_next) {
        if (q != r)
            continue;
        if (prev)
            prev->queue_next = q->queue_next;
        else
            c->queue = q->queue_next;
        if (c->queue_tail == q)
            c->queue_tail = prev;
        break;
    }
    r->queued = false;
    r->queue_next = NULL;
}

/* r's transfer ended: give its place to the next queued request (started from the loop). */
static void release(struct s3m_s3_req *r)
{
    struct s3m_s3 *c = r->c;
    if (!r->counted)
        return;
    r->counted = false;
    c->inflight--;
    while (c->queue && (c->window <= 0 || c->inflight < (int)c->window)) {
        struct s3m_s3_req *q = c->queue;
        unqueue(q);
        c->inflight++; /* held for it until its timer starts it */
        q->counted = true;
        arm_timer(q, 0);
    }
}

static bool schedule_retry(struct s3m_s3_req *r, const char *cause)
{
    struct s3m_s3 *c = r->c;
    if (r->attempt >= c->opts.attempts)
        return false;
    bool replayable = !r->read_cb && !r->body_started;
    if (!replayable) {
        r->retryable = true;
        return false;
    }
    r->retry_after_ms = s3m__s3_retry_after_ms(r);
    long wait = s3m_s3_backoff_ms(c, r->attempt, r->retry_after_ms);
    c->stats.retries++;
    s3m_log(S3M_LOG_DEBUG, "s3", "%s %s/%s: attempt %d failed (%s), retry in %ld ms",
            s3m_s3_op_name(r->op), r->bucket ? r->bucket : "", r->key ? r->key : "", r->attempt,
            cause, wait);
    arm_timer(r, (uint64_t)wait);
    return true;
}

static void count_retry_status(struct s3m_s3 *c, int status)
{
    static const int statuses[] = {429, 500, 502, 503, 504};
    size_t i = 0;
    while (i < S3M_ARRAY_LEN(statuses) && statuses[i] != status)
        i++;
    c->stats.retries_by_status[i]++;
}

static void on_done(struct s3m_http *h, enum s3m_err err, const char *msg)
{
    struct s3m_s3_req *r = h->ud;
    struct s3m_s3 *c = r->c;
    r->status = h->status;
    if (!err && (r->status == 503 || r->status == 429)) /* r still counted: the cut sees it */
        aimd_throttled(c, r->status == 503 ? "HTTP 503" : "HTTP 429");
    else if (!err && success(r->status))
        aimd_success(c);
    release(r);
    c->stats.bytes_sent += h->bytes_sent;
    c->stats.bytes_received += h->bytes_received;
    c->stats.connections += h->conn.opened;
    c->stats.tls_handshakes += h->conn.tls_handshakes;
    c->stats.tls_resumed += h->conn.tls_resumed;
    char cause[160];
    if (err && r->ei.err) {
        /* our own reader refused the body (r->ei already says why) */
    } else if (err) {
        s3m_errinfo_set(&r->ei, err, "%s", msg);
        if (!h->cancelled && s3m_http_transport_retryable(h)) {
            snprintf(cause, sizeof(cause), "%s", msg);
            if (schedule_retry(r, cause)) { /* the breakdown counts retries, as retries does */
                c->stats.retries_transport++;
                return;
            }
        }
    } else if (!success(r->status)) {
        s3m__s3_error_from_body(r);
        if (s3m__s3_bucket_is_ours(r)) {
            finish(r);
            return;
        }
        r->retry_after_ms = s3m__s3_retry_after_ms(r);
        if (r->status != 503 && r->status != 429 && !strcmp(r->ei.code, "SlowDown"))
            aimd_throttled(c, "SlowDown");
        if (s3m_s3_retryable(r->status, r->ei.code)) {
            snprintf(cause, sizeof(cause), "HTTP %d %s", r->status, r->ei.code);
            if (schedule_retry(r, cause)) {
                count_retry_status(c, r->status);
                return;
            }
        }
    } else if (r->xml_accept) {
        struct s3m_xml_parser *p = r->xp ? r->xp : s3m_xml_new(r->xml_accept);
        r->xp = NULL;
        if (!s3m_xml_finish(p, &r->xml, &r->ei) && r->xml->kind == S3M_XML_ERROR) {
            /* an <Error> under HTTP 200 (CompleteMultipartUpload, CopyObject) */
            s3m__s3_set_error(r, &r->xml->error);
            if (s3m_s3_retryable(0, r->ei.code) && schedule_retry(r, r->ei.code)) {
                s3m_xml_free(p);
                return;
            }
        }
        s3m_xml_free(p);
    }
    finish(r);
}

static void finish(struct s3m_s3_req *r)
{
    if (r->ei.err && r->xml) {
        s3m_xml_result_free(r->xml);
        r->xml = NULL;
    }
    uint64_t ms = s3m_loop_now(r->c->loop) - r->started_ms;
    if (r->ei.err) {
        char line[900];
        s3m_log(S3M_LOG_DEBUG, "s3", "%s %s/%s: failed after %d attempt(s), %llu ms: %s",
                s3m_s3_op_name(r->op), r->bucket ? r->bucket : "", r->key ? r->key : "", r->attempt,
                (unsigned long long)ms, s3m_errinfo_str(&r->ei, line, sizeof(line)));
    } else {
        s3m_log(S3M_LOG_DEBUG, "s3", "%s %s/%s: HTTP %d in %llu ms", s3m_s3_op_name(r->op),
                r->bucket ? r->bucket : "", r->key ? r->key : "", r->status,
                (unsigned long long)ms);
    }
    r->done(r, r->ud);
}

/* ---- signing and starting ---- */

static enum s3m_err start_attempt(struct s3m_s3_req *r)
{
    struct s3m_s3 *c = r->c;
    uint64_t wait;
    if (c->tps && !r->tps_ok && (wait = s3m_tps_reserve(c->tps))) {
        r->tps_ok = true; /* its token is taken: the timer starts it (timeouts run from then) */
        arm_timer(r, wait);
        return S3M_EOK;
    }
    r->tps_ok = false;
    reset_response(r);
    r->retry_after_ms = 0;
    r->attempt++;
    c->stats.requests[r->op]++;
    struct s3m_endpoint ep;
    enum s3m_err err = s3m_endpoint_resolve(c->remote, r->bucket, &ep, &r->ei);
    if (err)
        return err;
    struct s3m_buf path, url;
    s3m_buf_init(&path);
    s3m_buf_init(&url);
    s3m__s3_build_target(r, &ep, &path, &url);

    char payload[65];
    if (r->read_cb)
        snprintf(payload, sizeof(payload), "%s", S3M_UNSIGNED_PAYLOAD);
    else
        s3m_sha256_hex(r->body.data ? r->body.data : "", r->body.len, payload);
    s3m_http_cleanup(&r->http);
    s3m_http_init(&r->http, c->loop);
    r->http.ud = r;
    r->http.on_header = on_header;
    r->http.on_write = on_write;
    r->http.on_read = on_read;
    r->http.on_seek = on_seek;
    r->http.on_done = on_done;
    r->http.recv_buffer = r->recv_buffer;
    r->http.send_buffer = r->send_buffer;
    /* --bwlimit counts object bodies, streamed to or from the caller; not listings or XML */
    r->http.bw_dirs = (r->write_cb ? 1u << S3M_HTTP_RECV : 0) |
                      (r->read_cb ? 1u << S3M_HTTP_SEND : 0);
    for (size_t i = 0; i < r->nheaders; i++)
        s3m_http_add_header(&r->http, r->headers[i].name, r->headers[i].value);
    s3m__s3_sign(r, &ep, path.data, payload);
    int64_t body_len = r->read_cb ? r->stream_len : (r->has_body ? (int64_t)r->body.len : -1);
    if (body_len < 0 && (!strcmp(r->method, "PUT") || !strcmp(r->method, "POST")))
        body_len = 0;
    r->started_ms = s3m_loop_now(c->loop);
    err = s3m_http_start(&r->http, r->method, url.data, body_len, &c->opts.http, &r->ei);
    s3m_buf_cleanup(&path);
    s3m_buf_cleanup(&url);
    s3m_endpoint_cleanup(&ep);
    return err;
}

/* Test hook: S3MIRROR_TEST_FAIL_SUBMIT="OpName:N" makes the Nth submit of that operation (from
 * 1, counted per process) fail at once, as a submit that cannot start does. The e2e tests use it
 * for paths no server can provoke. */
static bool injected_submit_failure(struct s3m_s3_req *r)
{
    static int seen[S3M_OP__COUNT];
    const char *spec = getenv("S3MIRROR_TEST_FAIL_SUBMIT");
    const char *name = s3m_s3_op_name(r->op);
    size_t n = strlen(name);
    if (!spec || strncmp(spec, name, n) || spec[n] != ':')
        return false;
    return ++seen[r->op] == atoi(spec + n + 1);
}

enum s3m_err s3m_s3_submit(struct s3m_s3_req *r, s3m_s3_done_cb done, void *ud)
{
    r->done = done;
    r->ud = ud;
    r->attempt = 0;
    r->cancelled = false;
    r->tps_ok = false;
    r->retry_after_ms = 0;
    if (injected_submit_failure(r))
        return s3m_errinfo_set(&r->ei, S3M_ENET, "cannot start HTTP transfer (injected)");
    return admit(r);
}

static void run_done(struct s3m_s3_req *r, void *ud)
{
    (void)r;
    *(bool *)ud = true;
}

static bool run_finished(void *ud)
{
    return *(bool *)ud;
}

enum s3m_err s3m_s3_run(struct s3m_s3_req *r)
{
    bool done = false;
    enum s3m_err err = s3m_s3_submit(r, run_done, &done);
    if (err)
        return err;
    if (!s3m_loop_run_until(r->c->loop, run_finished, &done))
        abort(); /* a submitted request always ends: its done callback is owed */
    return r->ei.err;
}

void s3m_s3_resume(struct s3m_s3_req *r)
{
    s3m_http_resume(&r->http);
}

void s3m_s3_cancel(struct s3m_s3_req *r)
{
    if (r->http.running) {
        s3m_http_cancel(&r->http);
        return;
    }
    if (r->cancelled || (!r->retry_timer && !r->queued))
        return; /* finished, or already on its way out */
    /* waiting in backoff or in the queue: done runs from the loop, now */
    r->cancelled = true;
    if (r->queued)
        unqueue(r);
    release(r); /* admitted from the queue, its start not yet run: its place goes on */
    s3m_errinfo_set(&r->ei, S3M_EABORTED, "cancelled (was waiting to retry or to start)");
    arm_timer(r, 0);
}
