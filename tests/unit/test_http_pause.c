/* test_http_pause.c - net/http's paused transfers end at once when they are stopped: a receive
 * paused by its owner, then resumed into a write that aborts (a copy whose other half failed
 * while this one waited: the limiter's timer or the pipe resumes it), or cancelled while paused.
 * libcurl 7.88 calls the write callback from inside the curl_easy_pause that resumes it, and a
 * write error there left the transfer in place until a curl timer came (the 10 s connect
 * timeout): a --max-duration cut that took 10 s (CI). A one-connection HTTP server on loopback,
 * in a thread, sends a body larger than the socket buffers; an alarm ends a test that hangs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "s3m/http.h"
#include "s3m/loop.h"

#define BODY (8u << 20)

struct server {
    int lfd;
    int port;
    pthread_t thread;
};

/* one connection: read the request's head, answer 200 with BODY bytes until the client goes */
static void *serve(void *ud)
{
    struct server *s = ud;
    int fd = accept(s->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    char buf[65536];
    size_t got = 0;
    while (got < sizeof(buf) - 1) {
        ssize_t n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
        buf[got] = 0;
        if (strstr(buf, "\r\n\r\n"))
            break;
    }
    int len = snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n", BODY);
    size_t sent = 0, total = (size_t)len + BODY;
    bool head = true;
    while (sent < total) {
        size_t n = head ? (size_t)len : (total - sent < sizeof(buf) ? total - sent : sizeof(buf));
        if (!head)
            memset(buf, 'x', n);
        ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        sent += (size_t)w;
        head = false;
    }
    close(fd);
    return NULL;
}

static void server_start(struct server *s)
{
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->lfd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->lfd, 1), 0);
    socklen_t alen = sizeof(a);
    assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &alen), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(struct server *s)
{
    pthread_join(s->thread, NULL);
    close(s->lfd);
}

struct run {
    struct s3m_http h;
    struct s3m_timer *t;
    int writes;
    size_t then;       /* what on_write returns once stop() ran */
    bool cancel, done; /* stop() cancels rather than resumes */
    enum s3m_err err;
    uint64_t stopped_at, done_at;
};

static size_t on_write(struct s3m_http *h, const char *data, size_t n)
{
    (void)data;
    struct run *r = h->ud;
    if (r->writes++ == 0)
        return S3M_HTTP_PAUSE; /* the first chunk: curl keeps it while paused */
    return r->then == S3M_HTTP_ABORT ? S3M_HTTP_ABORT : n;
}

static void on_done(struct s3m_http *h, enum s3m_err err, const char *msg)
{
    (void)msg;
    struct run *r = h->ud;
    r->done = true;
    r->err = err;
    r->done_at = s3m_loop_now(h->loop);
}

/* 2.5 s into the transfer, paused all that time (curl's once-a-second low-speed timer has
 * stopped by then: nothing of curl's own runs it before the connect timeout): resume it into an
 * aborting write, or cancel it */
static void stop(void *ud)
{
    struct run *r = ud;
    r->stopped_at = s3m_loop_now(r->h.loop);
    assert_true(r->h.running);
    assert_true(s3m_http_paused(&r->h, S3M_HTTP_RECV));
    r->then = S3M_HTTP_ABORT;
    if (r->cancel)
        s3m_http_cancel(&r->h);
    else
        s3m_http_resume(&r->h);
}

static bool finished(void *ud)
{
    return ((struct run *)ud)->done;
}

static void run_paused_get(bool cancel)
{
    alarm(30);
    struct server s;
    server_start(&s);
    struct s3m_loop l;
    assert_int_equal(s3m_loop_init(&l, NULL), 0);
    struct run r = {.cancel = cancel};
    s3m_http_init(&r.h, &l);
    r.h.on_write = on_write;
    r.h.on_done = on_done;
    r.h.ud = &r;
    struct s3m_http_opts o = {.connect_timeout_ms = 20000, .low_speed_time_s = 60};
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/o", s.port);
    struct s3m_errinfo ei;
    assert_int_equal(s3m_http_start(&r.h, "GET", url, -1, &o, &ei), S3M_EOK);
    r.t = s3m_timer_new(&l, stop, &r);
    s3m_timer_start(r.t, 2500, 0);
    assert_true(s3m_loop_run_until(&l, finished, &r));
    assert_int_equal(r.err, S3M_EABORTED);
    assert_true(r.stopped_at > 0);
    /* at once: well under the connect timeout's 20 s, which was what ended it */
    assert_true(r.done_at - r.stopped_at < 1000);
    s3m_timer_free(r.t);
    s3m_http_cleanup(&r.h);
    s3m_loop_cleanup(&l);
    server_stop(&s);
    alarm(0);
}

static void test_resumed_into_an_aborting_write_ends_at_once(void **state)
{
    (void)state;
    run_paused_get(false);
}

static void test_cancelled_while_paused_ends_at_once(void **state)
{
    (void)state;
    run_paused_get(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resumed_into_an_aborting_write_ends_at_once),
        cmocka_unit_test(test_cancelled_while_paused_ends_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
