/* delayproxy.c - a TCP proxy that delays every byte by a fixed time in each direction, so a
 * loopback server behaves like one RTT away. The kernel here has no netem qdisc (no modules), so
 * the bench uses this instead of a veth pair with netem: latency only, no bandwidth limit, order
 * preserved, each direction delayed by half the RTT.
 *
 *   delayproxy LISTEN_PORT UPSTREAM_PORT RTT_MS      (127.0.0.1 on both sides) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static int upstream_port;
static uint64_t half_ms;

struct chunk {
    struct chunk *next;
    uint64_t due;
    size_t len; /* 0 = end of stream */
    char data[];
};

struct dir { /* one direction: bytes read from `from`, written to `to` after the delay */
    uv_tcp_t *from, *to;
    struct chunk *head, *tail;
    uv_timer_t timer;
    struct pair *p;
};

struct pair {
    uv_tcp_t client, server;
    uv_connect_t conn;
    struct dir up, down; /* up: client -> server */
    int closed;
};

static void on_closed(uv_handle_t *h)
{
    struct pair *p = ((struct dir *)h->data)->p; /* every handle's data is one of its dirs */
    if (++p->closed == 4) {
        struct dir *dirs[] = {&p->up, &p->down};
        for (int i = 0; i < 2; i++) {
            while (dirs[i]->head) {
                struct chunk *c = dirs[i]->head;
                dirs[i]->head = c->next;
                free(c);
            }
        }
        free(p);
    }
}

static void close_pair(struct pair *p)
{
    uv_handle_t *hs[] = {(uv_handle_t *)&p->client, (uv_handle_t *)&p->server,
                         (uv_handle_t *)&p->up.timer, (uv_handle_t *)&p->down.timer};
    for (int i = 0; i < 4; i++)
        if (!uv_is_closing(hs[i]))
            uv_close(hs[i], on_closed);
}

static void on_written(uv_write_t *w, int status)
{
    (void)status;
    free(w->data);
    free(w);
}

static void on_shutdown(uv_shutdown_t *s, int status)
{
    (void)status;
    free(s);
}

static void flush(uv_timer_t *t)
{
    struct dir *d = t->data;
    uint64_t now = uv_now(t->loop);
    while (d->head && d->head->due <= now) {
        struct chunk *c = d->head;
        d->head = c->next;
        if (!d->head)
            d->tail = NULL;
        if (!c->len) {
            uv_shutdown_t *s = malloc(sizeof(*s));
            if (uv_shutdown(s, (uv_stream_t *)d->to, on_shutdown))
                free(s);
            free(c);
            continue;
        }
        uv_write_t *w = malloc(sizeof(*w));
        w->data = c;
        uv_buf_t b = uv_buf_init(c->data, (unsigned)c->len);
        if (uv_write(w, (uv_stream_t *)d->to, &b, 1, on_written)) {
            free(c);
            free(w);
            close_pair(d->p);
            return;
        }
    }
    if (d->head)
        uv_timer_start(t, flush, d->head->due - now, 0);
}

static void enqueue(struct dir *d, const char *data, size_t len)
{
    struct chunk *c = malloc(sizeof(*c) + len);
    c->next = NULL;
    c->due = uv_now(d->timer.loop) + half_ms;
    c->len = len;
    memcpy(c->data, data, len);
    if (d->tail)
        d->tail->next = c;
    else
        d->head = c;
    d->tail = c;
    if (!uv_is_active((uv_handle_t *)&d->timer))
        uv_timer_start(&d->timer, flush, half_ms, 0);
}

static void alloc_cb(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    (void)h;
    b->base = malloc(sz);
    b->len = sz;
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct dir *d = s->data;
    if (n > 0)
        enqueue(d, b->base, (size_t)n);
    else if (n == UV_EOF)
        enqueue(d, NULL, 0);
    else if (n < 0)
        close_pair(d->p);
    free(b->base);
}

static void on_upstream(uv_connect_t *c, int status)
{
    struct pair *p = c->data;
    if (status < 0) {
        close_pair(p);
        return;
    }
    uv_tcp_nodelay(&p->server, 1);
    uv_read_start((uv_stream_t *)&p->client, alloc_cb, read_cb);
    uv_read_start((uv_stream_t *)&p->server, alloc_cb, read_cb);
}

static void on_conn(uv_stream_t *srv, int status)
{
    if (status < 0)
        return;
    struct pair *p = calloc(1, sizeof(*p));
    uv_loop_t *loop = srv->loop;
    p->up.from = p->down.to = &p->client;
    p->up.to = p->down.from = &p->server;
    p->up.p = p->down.p = p;
    uv_tcp_init(loop, &p->client);
    uv_tcp_init(loop, &p->server);
    uv_timer_init(loop, &p->up.timer);
    uv_timer_init(loop, &p->down.timer);
    p->client.data = p->up.timer.data = &p->up;
    p->server.data = p->down.timer.data = &p->down;
    if (uv_accept(srv, (uv_stream_t *)&p->client)) {
        close_pair(p);
        return;
    }
    uv_tcp_nodelay(&p->client, 1);
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", upstream_port, &addr);
    p->conn.data = p;
    uv_tcp_connect(&p->conn, &p->server, (const struct sockaddr *)&addr, on_upstream);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: delayproxy LISTEN_PORT UPSTREAM_PORT RTT_MS\n");
        return 2;
    }
    upstream_port = atoi(argv[2]);
    half_ms = (uint64_t)atoi(argv[3]) / 2;
    uv_loop_t *loop = uv_default_loop();
    uv_tcp_t srv;
    struct sockaddr_in addr;
    uv_tcp_init(loop, &srv);
    uv_ip4_addr("127.0.0.1", atoi(argv[1]), &addr);
    if (uv_tcp_bind(&srv, (const struct sockaddr *)&addr, 0) ||
        uv_listen((uv_stream_t *)&srv, 1024, on_conn)) {
        fprintf(stderr, "delayproxy: cannot listen on 127.0.0.1:%s\n", argv[1]);
        return 1;
    }
    return uv_run(loop, UV_RUN_DEFAULT);
}
