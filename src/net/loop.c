/* loop.c - glue between libuv and libcurl's multi socket API.
 *
 * curl tells us which sockets to watch (socket callback) and when to wake it (timer callback);
 * libuv watches them and calls curl_multi_socket_action. Finished transfers are collected after
 * every action and handed to their owner's done callback (see http.c). */
#include "s3m/loop.h"
#include "s3m/http.h"
#include "s3m/log.h"
#include "s3m/util.h"
#include "http_int.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

struct s3m__sock {
    uv_poll_t poll;
    curl_socket_t fd;
    struct s3m_loop *loop;
};

static void check_done(struct s3m_loop *l)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(l->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct s3m_http *h = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&h);
        CURLcode rc = m->data.result;
        curl_multi_remove_handle(l->multi, m->easy_handle);
        l->active--;
        s3m__http_finished(h, rc);
    }
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    struct s3m__sock *c = p->data;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    int running;
    struct s3m_loop *l = c->loop;
    curl_multi_socket_action(l->multi, c->fd, flags, &running);
    check_done(l);
}

static void on_timer(uv_timer_t *t)
{
    struct s3m_loop *l = t->data;
    int running;
    curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(l);
}

static void free_ctx(uv_handle_t *h)
{
    free(h->data);
}

/* The poll handle of socket fd, kept for the socket's life: curl removes a socket from its
 * watch list whenever its transfer pauses (a full or empty ring, the bandwidth limiter) and adds
 * it again on resume, several times per MiB of a large copy. Closing the handle and opening a
 * new one each time cost six epoll_ctl calls (libuv checks a new fd with an ADD and a DEL, and
 * invalidates it on stop and close); stopping and restarting the same handle costs three. A
 * handle left behind by a closed socket is stopped (its fd is in no epoll set); it is reused
 * only when curl adds a socket of that number again, and closed with the loop. */
static struct s3m__sock *sock_of(struct s3m_loop *l, curl_socket_t s)
{
    if ((size_t)s >= l->nsocks) {
        size_t n = l->nsocks ? l->nsocks : 64;
        while (n <= (size_t)s)
            n *= 2;
        l->socks = s3m_realloc(l->socks, n * sizeof(*l->socks));
        memset(l->socks + l->nsocks, 0, (n - l->nsocks) * sizeof(*l->socks));
        l->nsocks = n;
    }
    struct s3m__sock *c = l->socks[s];
    if (c)
        return c;
    c = s3m_calloc(1, sizeof(*c));
    c->fd = s;
    c->loop = l;
    if (uv_poll_init_socket(&l->uv, &c->poll, s)) {
        free(c);
        return NULL;
    }
    c->poll.data = c;
    l->socks[s] = c;
    return c;
}

static int sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)e;
    struct s3m_loop *l = userp;
    struct s3m__sock *c = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (c) {
            uv_poll_stop(&c->poll);
            curl_multi_assign(l->multi, s, NULL);
        }
        return 0;
    }
    if (s < 0)
        return -1;
    if (!c) {
        if (!(c = sock_of(l, s)))
            return -1;
        curl_multi_assign(l->multi, s, c);
    }
    int ev = 0;
    if (what & CURL_POLL_IN)
        ev |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        ev |= UV_WRITABLE;
    uv_poll_start(&c->poll, ev, on_poll);
    return 0;
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
    (void)m;
    struct s3m_loop *l = userp;
    if (timeout_ms < 0)
        uv_timer_stop(&l->timer);
    else
        uv_timer_start(&l->timer, on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

int s3m_loop_init(struct s3m_loop *l, const struct s3m_loop_opts *o)
{
    static bool global_done;
    if (!global_done) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        global_done = true;
    }
    memset(l, 0, sizeof(*l));
    if (uv_loop_init(&l->uv))
        return -1;
    uv_timer_init(&l->uv, &l->timer);
    l->timer.data = l;
    l->multi = curl_multi_init();
    if (!l->multi)
        abort();
    curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
    curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
    s3m__share_init(l);
    if (o && o->max_host_connections > 0)
        curl_multi_setopt(l->multi, CURLMOPT_MAX_HOST_CONNECTIONS, o->max_host_connections);
    if (o && o->max_total_connections > 0)
        curl_multi_setopt(l->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, o->max_total_connections);
    /* keep enough idle connections for the whole pool */
    if (o && o->max_total_connections > 0)
        curl_multi_setopt(l->multi, CURLMOPT_MAXCONNECTS, o->max_total_connections);
    return 0;
}

void s3m_loop_run(struct s3m_loop *l)
{
    uv_run(&l->uv, UV_RUN_DEFAULT);
}

uint64_t s3m_loop_now(struct s3m_loop *l)
{
    return uv_now(&l->uv);
}

bool s3m_loop_run_until(struct s3m_loop *l, bool (*done)(void *ud), void *ud)
{
    while (!done(ud))
        if (uv_run(&l->uv, UV_RUN_ONCE) == 0 && !done(ud))
            return false;
    return true;
}

struct s3m_timer {
    uv_timer_t h;
    void (*cb)(void *ud);
    void *ud;
};

static void free_handle(uv_handle_t *h)
{
    free(h->data);
}

static void timer_fired(uv_timer_t *h)
{
    struct s3m_timer *t = h->data;
    t->cb(t->ud);
}

struct s3m_timer *s3m_timer_new(struct s3m_loop *l, void (*cb)(void *ud), void *ud)
{
    struct s3m_timer *t = s3m_calloc(1, sizeof(*t));
    uv_timer_init(&l->uv, &t->h);
    t->h.data = t;
    t->cb = cb;
    t->ud = ud;
    return t;
}

void s3m_timer_start(struct s3m_timer *t, uint64_t ms, uint64_t repeat_ms)
{
    uv_timer_start(&t->h, timer_fired, ms, repeat_ms);
}

void s3m_timer_stop(struct s3m_timer *t)
{
    uv_timer_stop(&t->h);
}

bool s3m_timer_active(const struct s3m_timer *t)
{
    return uv_is_active((const uv_handle_t *)&t->h);
}

void s3m_timer_unref(struct s3m_timer *t)
{
    uv_unref((uv_handle_t *)&t->h);
}

void s3m_timer_free(struct s3m_timer *t)
{
    if (!t)
        return;
    uv_timer_stop(&t->h);
    uv_close((uv_handle_t *)&t->h, free_handle);
}

struct s3m_kick {
    uv_idle_t h;
    void (*cb)(void *ud);
    void *ud;
};

static void kick_fired(uv_idle_t *h)
{
    struct s3m_kick *k = h->data;
    uv_idle_stop(h);
    k->cb(k->ud);
}

struct s3m_kick *s3m_kick_new(struct s3m_loop *l, void (*cb)(void *ud), void *ud)
{
    struct s3m_kick *k = s3m_calloc(1, sizeof(*k));
    uv_idle_init(&l->uv, &k->h);
    k->h.data = k;
    k->cb = cb;
    k->ud = ud;
    return k;
}

void s3m_kick_arm(struct s3m_kick *k)
{
    if (!uv_is_active((uv_handle_t *)&k->h))
        uv_idle_start(&k->h, kick_fired);
}

void s3m_kick_free(struct s3m_kick *k)
{
    if (!k)
        return;
    uv_idle_stop(&k->h);
    uv_close((uv_handle_t *)&k->h, free_handle);
}

struct s3m_signal {
    uv_signal_t h;
    void (*cb)(int signum, void *ud);
    void *ud;
};

static void signal_fired(uv_signal_t *h, int signum)
{
    struct s3m_signal *s = h->data;
    s->cb(signum, s->ud);
}

struct s3m_signal *s3m_signal_new(struct s3m_loop *l, int signum, void (*cb)(int signum, void *ud),
                                  void *ud)
{
    struct s3m_signal *s = s3m_calloc(1, sizeof(*s));
    uv_signal_init(&l->uv, &s->h);
    s->h.data = s;
    s->cb = cb;
    s->ud = ud;
    uv_signal_start(&s->h, signal_fired, signum);
    uv_unref((uv_handle_t *)&s->h); /* a watcher alone is no work: it never keeps a run going */
    return s;
}

void s3m_signal_poll(struct s3m_signal *s)
{
    /* libuv keeps a signal that came between runs in its pipe; but a loop with nothing
     * referenced is not alive and uv_run would not even look: referenced for one look */
    uv_ref((uv_handle_t *)&s->h);
    uv_run(s->h.loop, UV_RUN_NOWAIT);
    uv_unref((uv_handle_t *)&s->h);
}

void s3m_signal_free(struct s3m_signal *s)
{
    if (!s)
        return;
    uv_signal_stop(&s->h);
    uv_close((uv_handle_t *)&s->h, free_handle);
}

static void walk_close(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, h->type == UV_POLL ? free_ctx : NULL);
}

void s3m_loop_cleanup(struct s3m_loop *l)
{
    l->closing = true;
    /* the multi handle closes its connections, which removes their sockets (sock_cb) */
    curl_multi_cleanup(l->multi);
    l->multi = NULL;
    s3m__share_cleanup(l);
    s3m__ratelimit_cleanup(l);
    uv_walk(&l->uv, walk_close, NULL);
    uv_run(&l->uv, UV_RUN_DEFAULT);
    if (uv_loop_close(&l->uv))
        s3m_log(S3M_LOG_WARN, "loop", "libuv loop still had open handles at exit");
    free(l->socks); /* their handles were closed above */
    l->socks = NULL;
    l->nsocks = 0;
}
