/* test_http_pause.c - net/http's paused or limited transfers end at once when they are stopped,
 * never at a curl timer (the 20 s connect timeout here). libcurl 7.88 calls the write callback
 * from inside the curl_easy_pause that resumes it, and a write error there left the transfer in
 * place until the connect timeout: a --max-duration cut under --bwlimit took 10 s (CI). Cases: a
 * GET paused by its owner and resumed into a write that aborts (the pipe's other half failed
 * meanwhile), or cancelled; a send resumed into a read that aborts; a paused send cancelled; a
 * write or read that aborts when the --bwlimit limiter's timer resumes it; a cancel while the
 * transfer waits in the limiter's queue; a cancel of a transfer whose server says nothing; a
 * resumed write that pauses again and is then cancelled. The stops come 2.5 s in, once curl's
 * once-a-second low-speed timer has stopped for the paused transfer. A one-connection HTTP
 * server on loopback, in a thread; an alarm ends a test that hangs. */
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

#include "s3m/bwtable.h"
#include "s3m/http.h"
#include "s3m/loop.h"
#include "s3m/ratelimit.h"
#include "thttp.h"

#define BODY (8u << 20)

enum mode { SEND_BODY, SINK };

struct server {
    int lfd;
    int port;
    enum mode mode;
    pthread_t thread;
};

/* one connection: read the request's head; SEND_BODY answers 200 with BODY bytes, SINK reads
 * (and drops) whatever comes, never answering, until the client goes */
static void *serve(void *ud)
{
    struct server *s = ud;
    int fd = accept(s->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    char buf[65536];
    thttp_read_head(fd, buf, sizeof(buf));
    if (s->mode == SINK) {
        while (recv(fd, buf, sizeof(buf), 0) > 0)
            ;
        close(fd);
        return NULL;
    }
    snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n", BODY);
    thttp_send(fd, buf, BODY);
    close(fd);
    return NULL;
}

static void server_start(struct server *s, enum mode mode)
{
    s->mode = mode;
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

enum stop_how { RESUME, CANCEL };

struct run {
    struct s3m_http h;
    struct s3m_timer *t;
    int calls;
    int pause_first;  /* the first call pauses (the owner's pause) */
    int abort_after;  /* calls after which it aborts by itself (0: only once stopped) */
    bool pause_again; /* once stopped by RESUME: pause again rather than abort */
    bool stopped, done;
    enum stop_how how;
    enum s3m_err err;
    uint64_t stopped_at, done_at;
};

static size_t decide(struct run *r, size_t n)
{
    r->calls++;
    if (r->pause_first && r->calls == 1)
        return S3M_HTTP_PAUSE;
    if (r->stopped && r->pause_again)
        return S3M_HTTP_PAUSE;
    if (r->stopped)
        return S3M_HTTP_ABORT;
    if (r->abort_after && r->calls > r->abort_after) {
        r->stopped = true;
        r->stopped_at = s3m_loop_now(r->h.loop);
        return S3M_HTTP_ABORT;
    }
    return n;
}

static size_t on_write(struct s3m_http *h, const char *data, size_t n)
{
    (void)data;
    return decide(h->ud, n);
}

static size_t on_read(struct s3m_http *h, char *buf, size_t n)
{
    struct run *r = h->ud;
    size_t d = decide(r, n);
    if (d == n)
        memset(buf, 'y', n);
    return d;
}

static void on_done(struct s3m_http *h, enum s3m_err err, const char *msg)
{
    (void)msg;
    struct run *r = h->ud;
    r->done = true;
    r->err = err;
    r->done_at = s3m_loop_now(h->loop);
}

static void stop(void *ud)
{
    struct run *r = ud;
    if (r->done)
        return;
    if (!r->stopped) {
        r->stopped = true;
        r->stopped_at = s3m_loop_now(r->h.loop);
    }
    if (r->how == CANCEL)
        s3m_http_cancel(&r->h);
    else
        s3m_http_resume(&r->h);
}

/* pause_again: RESUME at 2.5 s into a pause again, then CANCEL at 5 s */
static void stop_then_cancel(void *ud)
{
    struct run *r = ud;
    if (!r->stopped) {
        stop(r);
        r->how = CANCEL;
        s3m_timer_start(r->t, 2500, 0);
        r->stopped = false; /* the cancel is the stop that counts */
        return;
    }
    stop(r);
}

static bool finished(void *ud)
{
    return ((struct run *)ud)->done;
}

struct scenario {
    const char *method;
    enum mode mode;
    const char *bwlimit; /* NULL: none */
    int pause_first, abort_after;
    bool pause_again;
    enum stop_how how;
    uint64_t stop_ms; /* 0: no timer (the callback aborts by itself) */
};

static void run_scenario(const struct scenario *sc)
{
    alarm(40);
    struct server s;
    server_start(&s, sc->mode);
    struct s3m_loop l;
    assert_int_equal(s3m_loop_init(&l, NULL), 0);
    if (sc->bwlimit) {
        struct s3m_bwtable t;
        char err[200];
        assert_true(s3m_bwtable_parse(sc->bwlimit, &t, err, sizeof(err)));
        s3m_ratelimit_bw(&l, &t, false, 1);
        s3m_bwtable_free(&t);
    }
    struct run r = {.pause_first = sc->pause_first,
                    .abort_after = sc->abort_after,
                    .pause_again = sc->pause_again,
                    .how = sc->how};
    s3m_http_init(&r.h, &l);
    r.h.on_write = on_write;
    r.h.on_done = on_done;
    r.h.ud = &r;
    bool put = !strcmp(sc->method, "PUT");
    if (put)
        r.h.on_read = on_read;
    r.h.bw_dirs = sc->bwlimit ? (put ? 1u << S3M_HTTP_SEND : 1u << S3M_HTTP_RECV) : 0;
    struct s3m_http_opts o = {.connect_timeout_ms = 20000, .low_speed_time_s = 60};
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/o", s.port);
    struct s3m_errinfo ei;
    assert_int_equal(s3m_http_start(&r.h, sc->method, url, put ? (int64_t)BODY : -1, &o, &ei),
                     S3M_EOK);
    r.t = s3m_timer_new(&l, sc->pause_again ? stop_then_cancel : stop, &r);
    if (sc->stop_ms)
        s3m_timer_start(r.t, sc->stop_ms, 0);
    assert_true(s3m_loop_run_until(&l, finished, &r));
    print_message("%s: stopped at %llu ms, done %llu ms later, err %d\n", sc->method,
                  (unsigned long long)r.stopped_at, (unsigned long long)(r.done_at - r.stopped_at),
                  (int)r.err);
    assert_int_equal(r.err, S3M_EABORTED);
    assert_true(r.stopped_at > 0);
    /* at once: well under the 20 s connect timeout (1.5 s: curl's once-a-second check) */
    assert_true(r.done_at - r.stopped_at < 1500);
    s3m_timer_free(r.t);
    s3m_http_cleanup(&r.h);
    s3m_loop_cleanup(&l);
    server_stop(&s);
    alarm(0);
}

/* a GET whose owner paused the receive (curl keeps the chunk), resumed 2.5 s later into a
 * write that aborts: the case CI found */
static void test_get_resumed_into_an_aborting_write(void **state)
{
    (void)state;
    struct scenario sc = {"GET", SEND_BODY, NULL, 1, 0, false, RESUME, 2500};
    run_scenario(&sc);
}

/* a GET whose owner paused the receive, cancelled 2.5 s later */
static void test_get_paused_receive_cancelled(void **state)
{
    (void)state;
    struct scenario sc = {"GET", SEND_BODY, NULL, 1, 0, false, CANCEL, 2500};
    run_scenario(&sc);
}

/* a PUT whose owner paused the send, resumed 2.5 s later into a read that aborts */
static void test_put_resumed_into_an_aborting_read(void **state)
{
    (void)state;
    struct scenario sc = {"PUT", SINK, NULL, 1, 0, false, RESUME, 2500};
    run_scenario(&sc);
}

/* a PUT whose owner paused the send, cancelled 2.5 s later */
static void test_put_paused_send_cancelled(void **state)
{
    (void)state;
    struct scenario sc = {"PUT", SINK, NULL, 1, 0, false, CANCEL, 2500};
    run_scenario(&sc);
}

/* --bwlimit 64k: a GET whose write aborts when the limiter's timer resumes it */
static void test_limited_get_write_aborts_on_the_limiters_resume(void **state)
{
    (void)state;
    struct scenario sc = {"GET", SEND_BODY, "64k", 0, 6, false, RESUME, 0};
    run_scenario(&sc);
}

/* --bwlimit 64k: a PUT whose read aborts when the limiter's timer resumes it */
static void test_limited_put_read_aborts_on_the_limiters_resume(void **state)
{
    (void)state;
    struct scenario sc = {"PUT", SINK, "64k", 0, 6, false, RESUME, 0};
    run_scenario(&sc);
}

/* --bwlimit 8k: a GET waiting for the limiter's tokens, cancelled */
static void test_limited_get_cancelled_while_waiting(void **state)
{
    (void)state;
    struct scenario sc = {"GET", SEND_BODY, "8k", 0, 0, false, CANCEL, 2500};
    run_scenario(&sc);
}

/* --bwlimit 8k: a PUT waiting for the limiter's tokens (paused both ways), cancelled */
static void test_limited_put_cancelled_while_waiting(void **state)
{
    (void)state;
    struct scenario sc = {"PUT", SINK, "8k", 0, 0, false, CANCEL, 2500};
    run_scenario(&sc);
}

/* a GET to a server that never answers, not paused, cancelled */
static void test_unanswered_get_cancelled(void **state)
{
    (void)state;
    struct scenario sc = {"GET", SINK, NULL, 0, 0, false, CANCEL, 2500};
    run_scenario(&sc);
}

/* a paused GET resumed into a write that pauses again, then cancelled */
static void test_get_repaused_from_the_resume_then_cancelled(void **state)
{
    (void)state;
    struct scenario sc = {"GET", SEND_BODY, NULL, 1, 0, true, RESUME, 2500};
    run_scenario(&sc);
}

/* the same under --bwlimit: the resume's write waits for tokens, then aborts */
static void test_limited_get_resumed_into_an_aborting_write(void **state)
{
    (void)state;
    struct scenario sc = {"GET", SEND_BODY, "8k", 1, 0, false, RESUME, 2500};
    run_scenario(&sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_resumed_into_an_aborting_write),
        cmocka_unit_test(test_get_paused_receive_cancelled),
        cmocka_unit_test(test_put_resumed_into_an_aborting_read),
        cmocka_unit_test(test_put_paused_send_cancelled),
        cmocka_unit_test(test_limited_get_write_aborts_on_the_limiters_resume),
        cmocka_unit_test(test_limited_put_read_aborts_on_the_limiters_resume),
        cmocka_unit_test(test_limited_get_cancelled_while_waiting),
        cmocka_unit_test(test_limited_put_cancelled_while_waiting),
        cmocka_unit_test(test_unanswered_get_cancelled),
        cmocka_unit_test(test_get_repaused_from_the_resume_then_cancelled),
        cmocka_unit_test(test_limited_get_resumed_into_an_aborting_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
