/* test_loop_sockets.c - net/loop keeps one libuv poll handle per socket number: curl takes a
 * socket off its watch list whenever its transfer pauses and puts it back on resume, and the
 * handle is stopped and restarted rather than closed and opened again (six epoll_ctl calls
 * each time, three now). A handle outlives its socket and is reused when curl adds a socket of
 * that number again. Here GETs run one after the other against a loopback server that closes
 * every connection after its response, so each new connection takes a number a closed one had;
 * every GET pauses on every other write and is resumed from a timer; a pipe opened between
 * some of them shifts the numbers. Every GET must end with the whole body, and the loop's table
 * must hold the few numbers the sockets used, not one per connection or per pause. */
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
#include "thttp.h"

#define BODY (2u << 20)
#define GETS 24

struct server {
    int lfd, port;
    pthread_t thread;
};

/* GETS connections, one at a time: read the request's head, answer BODY bytes, close */
static void *serve(void *ud)
{
    struct server *s = ud;
    for (int i = 0; i < GETS; i++) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        char buf[4096];
        thttp_read_head(fd, buf, sizeof(buf));
        snprintf(buf, sizeof(buf),
                 "HTTP/1.1 200 OK\r\nContent-Length: %u\r\nConnection: close\r\n\r\n", BODY);
        thttp_send(fd, buf, BODY);
        close(fd);
    }
    return NULL;
}

struct get {
    struct s3m_http h;
    struct s3m_timer *resume;
    int calls, pauses;
    size_t bytes;
    bool done;
    enum s3m_err err;
};

/* every other call pauses (curl hands the same bytes again on resume) */
static size_t on_write(struct s3m_http *h, const char *data, size_t n)
{
    struct get *g = h->ud;
    if (++g->calls % 2) {
        g->pauses++;
        s3m_timer_start(g->resume, 1, 0);
        return S3M_HTTP_PAUSE;
    }
    for (size_t i = 0; i < n; i++)
        if (data[i] != 'x')
            return S3M_HTTP_ABORT;
    g->bytes += n;
    return n;
}

static void resume(void *ud)
{
    struct get *g = ud;
    if (!g->done)
        s3m_http_resume(&g->h);
}

static void on_done(struct s3m_http *h, enum s3m_err err, const char *msg)
{
    (void)msg;
    struct get *g = h->ud;
    g->done = true;
    g->err = err;
}

static bool finished(void *ud)
{
    return ((struct get *)ud)->done;
}

static void test_paused_gets_on_reused_socket_numbers(void **state)
{
    (void)state;
    alarm(60);
    struct server s;
    s.lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s.lfd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s.lfd, 4), 0);
    socklen_t alen = sizeof(a);
    assert_int_equal(getsockname(s.lfd, (struct sockaddr *)&a, &alen), 0);
    s.port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s.thread, NULL, serve, &s), 0);

    struct s3m_loop l;
    assert_int_equal(s3m_loop_init(&l, NULL), 0);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/o", s.port);
    struct s3m_http_opts o = {.connect_timeout_ms = 20000, .low_speed_time_s = 60};
    int pauses = 0;
    for (int i = 0; i < GETS; i++) {
        int p[2] = {-1, -1};
        if (i % 3 == 1) /* the next connection gets another number; the one after, this one's */
            assert_int_equal(pipe(p), 0);
        struct get g = {.calls = 0};
        s3m_http_init(&g.h, &l);
        g.h.on_write = on_write;
        g.h.on_done = on_done;
        g.h.ud = &g;
        g.resume = s3m_timer_new(&l, resume, &g);
        struct s3m_errinfo ei;
        assert_int_equal(s3m_http_start(&g.h, "GET", url, -1, &o, &ei), S3M_EOK);
        assert_true(s3m_loop_run_until(&l, finished, &g));
        assert_int_equal(g.err, S3M_EOK);
        assert_int_equal(g.bytes, BODY);
        assert_true(g.pauses >= 2);
        pauses += g.pauses;
        s3m_timer_free(g.resume);
        s3m_http_cleanup(&g.h);
        if (p[0] >= 0) {
            close(p[0]);
            close(p[1]);
        }
    }
    size_t handles = 0;
    for (size_t i = 0; i < l.nsocks; i++)
        handles += l.socks[i] != NULL;
    print_message("%d GETs, %d pauses, %zu poll handles\n", GETS, pauses, handles);
    assert_true(handles >= 1);
    assert_true(handles <= 4); /* the numbers used, not one per connection (24) or pause */
    s3m_loop_cleanup(&l);
    assert_null(l.socks);
    pthread_join(s.thread, NULL);
    close(s.lfd);
    alarm(0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paused_gets_on_reused_socket_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
