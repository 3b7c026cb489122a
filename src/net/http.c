/* http.c - one HTTP request as a libcurl easy handle on the shared loop: options (keep-alive,
 * TCP_NODELAY, timeouts, TLS verification, PATH_AS_IS so keys reach the wire byte for byte),
 * streaming body callbacks with pause/resume, and the single completion callback. */
#include "s3m/http.h"
#include "s3m/util.h"
#include "http_int.h"

#include <curl/curl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

void s3m_http_init(struct s3m_http *h, struct s3m_loop *loop)
{
    memset(h, 0, sizeof(*h));
    h->loop = loop;
}

void s3m_http_cleanup(struct s3m_http *h)
{
    if (h->easy)
        curl_easy_cleanup(h->easy);
    curl_slist_free_all(h->hdrs);
    h->easy = NULL;
    h->hdrs = NULL;
}

void s3m_http_add_header(struct s3m_http *h, const char *name, const char *value)
{
    struct s3m_buf b;
    s3m_buf_init(&b);
    if (value && *value)
        s3m_buf_printf(&b, "%s: %s", name, value);
    else
        s3m_buf_printf(&b, "%s;", name); /* curl's syntax for a header with an empty value */
    struct curl_slist *l = curl_slist_append(h->hdrs, b.data);
    if (!l)
        abort();
    h->hdrs = l;
    s3m_wipe(b.data, b.len); /* may be a security token */
    s3m_buf_cleanup(&b);
}

static size_t hdr_fn(char *buf, size_t size, size_t n, void *ud)
{
    struct s3m_http *h = ud;
    size_t len = size * n;
    if (len >= 5 && !memcmp(buf, "HTTP/", 5)) { /* a new response (1xx first, then final) */
        int st = 0;
        const char *sp = memchr(buf, ' ', len);
        if (sp)
            st = atoi(sp + 1);
        h->status = st;
        return len;
    }
    const char *colon = memchr(buf, ':', len);
    if (!colon || !h->on_header)
        return len;
    size_t nlen = (size_t)(colon - buf);
    const char *v = colon + 1, *end = buf + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    if (h->status >= 200)
        h->on_header(h, buf, nlen, v, (size_t)(end - v));
    return len;
}

static size_t write_fn(char *buf, size_t size, size_t n, void *ud)
{
    struct s3m_http *h = ud;
    size_t len = size * n;
    /* cancelled: swallowed. curl hands what it kept while paused to us from inside the
     * curl_easy_pause of the cancel, where a write error leaves the transfer stuck, never done
     * (libcurl 7.88); the progress callback aborts it on the next turn instead */
    if (!h->on_write || h->cancelled) {
        h->bytes_received += len;
        return len;
    }
    bool limited = h->loop->bw && (h->bw_dirs & (1u << S3M_HTTP_RECV));
    if (limited && !s3m__bw_quota(h, S3M_HTTP_RECV, len))
        return CURL_WRITEFUNC_PAUSE; /* waits for tokens: the limiter's timer resumes it */
    size_t r = h->on_write(h, buf, len);
    if (r == S3M_HTTP_PAUSE) {
        h->paused_recv = true;
        return CURL_WRITEFUNC_PAUSE;
    }
    if (r == S3M_HTTP_ABORT && h->in_pause) {
        /* called from the curl_easy_pause that resumed us (the limiter's timer, a resume): a
         * write error there returns before curl schedules the handle again (libcurl 7.88), so
         * the transfer would sit until some curl timer; aborted as a cancel is, instead */
        h->cancelled = true;
        h->bytes_received += len;
        return len;
    }
    if (r == S3M_HTTP_ABORT)
        return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
    if (limited)
        s3m__bw_charge(h, S3M_HTTP_RECV, len);
    h->bytes_received += len;
    return len;
}

static size_t read_fn(char *buf, size_t size, size_t n, void *ud)
{
    struct s3m_http *h = ud;
    size_t want = size * n;
    bool limited = h->loop->bw && (h->bw_dirs & (1u << S3M_HTTP_SEND));
    if (limited && !(want = s3m__bw_quota(h, S3M_HTTP_SEND, want))) {
        /* waits for tokens: the limiter's timer resumes it. Paused both ways: curl's low-speed
         * check (--timeout) passes over a paused receive, not a paused send, and a turn in the
         * limiter's queue may be longer than --timeout (it is no idle server) */
        curl_easy_pause(h->easy, CURLPAUSE_ALL);
        return CURL_READFUNC_PAUSE;
    }
    size_t r = h->on_read ? h->on_read(h, buf, want) : 0;
    if (r == S3M_HTTP_PAUSE) {
        h->paused_send = true;
        return CURL_READFUNC_PAUSE;
    }
    if (r == S3M_HTTP_ABORT)
        return CURL_READFUNC_ABORT;
    if (limited)
        s3m__bw_charge(h, S3M_HTTP_SEND, r);
    h->bytes_sent += r;
    return r;
}

static int seek_fn(void *ud, curl_off_t offset, int origin)
{
    struct s3m_http *h = ud;
    if (origin != SEEK_SET || offset < 0 || !h->on_seek)
        return CURL_SEEKFUNC_CANTSEEK;
    return h->on_seek(h, (uint64_t)offset) ? CURL_SEEKFUNC_OK : CURL_SEEKFUNC_CANTSEEK;
}

static int progress_fn(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    struct s3m_http *h = ud;
    return h->cancelled ? 1 : 0;
}

/* a new connection while --bwlimit limits reads: a bounded receive buffer (ratelimit.c) */
static int sockopt_fn(void *ud, curl_socket_t fd, curlsocktype purpose)
{
    struct s3m_http *h = ud;
    int size = s3m__bw_rcvbuf(h->loop);
    if (purpose == CURLSOCKTYPE_IPCXN && size > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    return CURL_SOCKOPT_OK;
}

/* h's easy handle (kept from its last attempt, so curl reuses the connection), reset for a new
 * attempt, with the attempt's counters and pause state cleared */
static CURL *fresh_easy(struct s3m_http *h)
{
    CURL *e = h->easy ? h->easy : curl_easy_init();
    if (!e)
        abort();
    h->easy = e;
    h->status = 0;
    h->bytes_sent = h->bytes_received = 0;
    h->paused_recv = h->paused_send = h->cancelled = false;
    memset(&h->bw, 0, sizeof(h->bw));
    h->errbuf[0] = 0;
    curl_easy_reset(e);
    return e;
}

/* what every request has: the URL as given, our callbacks, no signals, TCP options, the
 * timeouts and TLS verification of o */
static void set_common(CURL *e, struct s3m_http *h, const char *url, const struct s3m_http_opts *o)
{
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L); /* "a/../b" and "//" are literal key bytes */
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)h);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, hdr_fn);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_fn);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, progress_fn);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, h);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "s3mirror");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, o->low_speed_time_s);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->timeout_ms);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, o->verify_tls ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, o->verify_tls ? 2L : 0L);
    if (o->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, o->ca_file);
    s3m__conn_setopt(h); /* TLS session sharing and connection counts (connstat.c) */
    if (s3m__bw_rcvbuf(h->loop)) {
        curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, sockopt_fn);
        curl_easy_setopt(e, CURLOPT_SOCKOPTDATA, h);
    }
}

/* the method: HEAD asks for no body; PUT and POST send body_len bytes (none when -1) from
 * on_read; any other but GET goes by its name */
static void set_method(CURL *e, struct s3m_http *h, const char *method, int64_t body_len)
{
    if (!strcmp(method, "HEAD")) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (!strcmp(method, "PUT") || !strcmp(method, "POST")) {
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, read_fn);
        curl_easy_setopt(e, CURLOPT_READDATA, h);
        /* a body sent on a kept-alive connection the server closed unanswered is sent again on
         * a new one: curl rewinds it first (an in-memory body can, a stream cannot) */
        curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, seek_fn);
        curl_easy_setopt(e, CURLOPT_SEEKDATA, h);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)(body_len < 0 ? 0 : body_len));
        if (!strcmp(method, "POST"))
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "POST");
    } else if (strcmp(method, "GET")) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    }
}

enum s3m_err s3m_http_start(struct s3m_http *h, const char *method, const char *url,
                            int64_t body_len, const struct s3m_http_opts *o, struct s3m_errinfo *ei)
{
    CURL *e = fresh_easy(h);
    set_common(e, h, url, o);
    /* no "Expect: 100-continue" round trip, no default Content-Type or Accept */
    s3m_http_add_header(h, "Expect", "");
    s3m_http_add_header(h, "Accept", "");
    set_method(e, h, method, body_len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->hdrs);
    /* a large streamed body: fewer, larger reads and writes (the owner sized them) */
    size_t recv_buffer = h->recv_buffer, chunk = s3m__bw_chunk(h->loop);
    if (chunk && (h->bw_dirs & (1u << S3M_HTTP_RECV))) /* a limited body: chunks the limit paces */
        recv_buffer = chunk < recv_buffer || !recv_buffer ? chunk : recv_buffer;
    if (recv_buffer)
        curl_easy_setopt(e, CURLOPT_BUFFERSIZE, (long)recv_buffer);
    if (h->send_buffer)
        curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, (long)h->send_buffer);
    if (curl_multi_add_handle(h->loop->multi, e) != CURLM_OK)
        return s3m_errinfo_set(ei, S3M_ENET, "cannot start HTTP transfer");
    h->running = true;
    h->loop->active++;
    return S3M_EOK;
}

void s3m__http_repause(struct s3m_http *h)
{
    if (!h->running)
        return;
    int mask = (h->paused_recv ? CURLPAUSE_RECV : 0) | (h->paused_send ? CURLPAUSE_SEND : 0);
    if (h->bw.waiting) /* still waiting for the bandwidth limiter: that direction stays paused */
        mask |= h->bw.waiting - 1 == S3M_HTTP_RECV ? CURLPAUSE_RECV : CURLPAUSE_SEND;
    h->in_pause = true;
    curl_easy_pause(h->easy, mask);
    h->in_pause = false;
}

void s3m_http_resume(struct s3m_http *h)
{
    if (!h->running || (!h->paused_recv && !h->paused_send))
        return;
    h->paused_recv = h->paused_send = false;
    s3m__http_repause(h);
}

void s3m_http_cancel(struct s3m_http *h)
{
    if (!h->running)
        return;
    h->cancelled = true;
    s3m__bw_forget(h); /* out of the limiter's queue too: curl must run it to see the cancel */
    h->paused_recv = h->paused_send = false;
    s3m__http_repause(h);
}

bool s3m_http_paused(const struct s3m_http *h, enum s3m_http_dir dir)
{
    return dir == S3M_HTTP_RECV ? h->paused_recv : h->paused_send;
}

static enum s3m_err map_curl(CURLcode rc)
{
    switch (rc) {
    case CURLE_OK: return S3M_EOK;
    case CURLE_OPERATION_TIMEDOUT: return S3M_ETIMEOUT;
    case CURLE_ABORTED_BY_CALLBACK: return S3M_EABORTED;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR: return S3M_ETLS;
    case CURLE_WRITE_ERROR:
    case CURLE_READ_ERROR: return S3M_EABORTED;
    default: return S3M_ENET;
    }
}

bool s3m_http_transport_retryable(const struct s3m_http *h)
{
    switch ((CURLcode)h->transport_code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_FAIL_REWIND: /* a stream curl had to send again; the caller replays it */
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: return true;
    default: return false;
    }
}

void s3m__http_finished(struct s3m_http *h, CURLcode rc)
{
    h->running = false;
    s3m__bw_forget(h);
    h->transport_code = (int)rc;
    s3m__conn_finish(h);
    enum s3m_err err = map_curl(rc);
    if (h->cancelled)
        err = S3M_EABORTED;
    char msg[300];
    if (err && rc == CURLE_SEND_FAIL_REWIND) /* curl says "seek callback returned error 2" */
        snprintf(msg, sizeof(msg),
                 "connection closed unanswered; a streamed body cannot be "
                 "sent again by this request");
    else if (err)
        snprintf(msg, sizeof(msg), "%s", h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
    else
        msg[0] = 0;
    curl_slist_free_all(h->hdrs);
    h->hdrs = NULL;
    h->on_done(h, err, msg);
}
