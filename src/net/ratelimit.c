/* ratelimit.c - the run's limits on the loop. --bwlimit: one limiter for every transfer, a token
 * bucket per direction (upload: request bodies sent; download: response bodies received), a
 * FIFO queue of the transfers waiting for tokens, resumed from a refill timer, and the
 * timetable's timer that changes the rates at the slot boundaries. --tpslimit: a token bucket
 * per endpoint, from which a request takes its token before it is sent (s3/client.c waits). */
#include "s3m/ratelimit.h"
#include "s3m/log.h"
#include "s3m/util.h"
#include "http_int.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIN_TICK_MS 5
#define MAX_TABLE_WAIT_MS (10 * 60 * 1000) /* look at the wall clock again at least this often */

struct bw_dir {
    struct s3m_tokens tokens;
    struct s3m_http *head, *tail; /* waiting, in order */
};

struct s3m_bwlimit {
    struct s3m_loop *loop;
    struct bw_dir dir[2]; /* S3M_HTTP_RECV, S3M_HTTP_SEND */
    struct s3m_bwtable table;
    bool local;
    size_t chunk;
    int rcvbuf; /* the sockets' receive buffer while reads are limited (0: the system's) */
    const struct s3m_bw_slot *slot; /* in force */
    uv_timer_t refill;              /* referenced while anyone waits: that is work to do */
    uv_timer_t clock;               /* the timetable's next boundary; never keeps a run going */
    int open_handles;
};

static double dir_rate(const struct s3m_bw_pair *p, int d)
{
    return d == S3M_HTTP_SEND ? p->up : p->down;
}

static double burst_of(const struct s3m_bwlimit *b, double rate)
{
    double tenth = rate / 10; /* at most a tenth of a second ahead of the rate, or one chunk */
    return tenth > (double)b->chunk ? tenth : (double)b->chunk;
}

static void unlink_waiter(struct bw_dir *d, struct s3m_http *h)
{
    if (h->bw.prev)
        h->bw.prev->bw.next = h->bw.next;
    else
        d->head = h->bw.next;
    if (h->bw.next)
        h->bw.next->bw.prev = h->bw.prev;
    else
        d->tail = h->bw.prev;
    h->bw.prev = h->bw.next = NULL;
    h->bw.waiting = 0;
}

static void on_refill(uv_timer_t *t);

static void arm_refill(struct s3m_bwlimit *b)
{
    uint64_t wait = 0;
    bool any = false;
    for (int i = 0; i < 2; i++) {
        if (!b->dir[i].head)
            continue;
        uint64_t w = s3m_tokens_wait_ms(&b->dir[i].tokens);
        wait = !any || w < wait ? w : wait;
        any = true;
    }
    if (any)
        uv_timer_start(&b->refill, on_refill, wait < MIN_TICK_MS ? MIN_TICK_MS : wait, 0);
}

/* Hand tokens to the waiters in order while the bucket has any (the first may overdraw it by
 * its chunk); then resume them, outside the queue walk: a resumed receive takes its bytes at
 * once and may wait again at the tail. */
static void grant(struct s3m_bwlimit *b)
{
    struct s3m_http *ready = NULL, **tail = &ready;
    uint64_t now = uv_now(&b->loop->uv);
    for (int i = 0; i < 2; i++) {
        struct bw_dir *d = &b->dir[i];
        s3m_tokens_refill(&d->tokens, now);
        while (d->head && (d->tokens.level > 0 || d->tokens.rate <= 0)) {
            struct s3m_http *h = d->head;
            unlink_waiter(d, h);
            if (d->tokens.rate > 0) {
                d->tokens.level -= h->bw.want;
                h->bw.credit += h->bw.want;
            }
            h->bw.ready = NULL;
            *tail = h;
            tail = &h->bw.ready;
        }
    }
    while (ready) {
        struct s3m_http *h = ready;
        ready = h->bw.ready;
        h->bw.ready = NULL;
        s3m__http_repause(h);
    }
    arm_refill(b);
}

static void on_refill(uv_timer_t *t)
{
    grant(t->data);
}

size_t s3m__bw_quota(struct s3m_http *h, enum s3m_http_dir dir, size_t n)
{
    struct s3m_bwlimit *b = h->loop->bw;
    struct bw_dir *d = &b->dir[dir];
    if (d->tokens.rate <= 0)
        return n;
    size_t cut = dir == S3M_HTTP_SEND && n > b->chunk ? b->chunk : n;
    if (h->bw.credit > 0) /* granted while it waited (what goes beyond: from the bucket) */
        return cut;
    s3m_tokens_refill(&d->tokens, uv_now(&b->loop->uv));
    if (!d->head && d->tokens.level > 0)
        return cut;
    /* wait behind the others: first come, first served */
    h->bw.want = (double)cut;
    h->bw.waiting = 1 + (int)dir;
    h->bw.next = NULL;
    h->bw.prev = d->tail;
    if (d->tail)
        d->tail->bw.next = h;
    else
        d->head = h;
    d->tail = h;
    if (!uv_is_active((uv_handle_t *)&b->refill))
        arm_refill(b);
    return 0;
}

void s3m__bw_charge(struct s3m_http *h, enum s3m_http_dir dir, size_t n)
{
    struct bw_dir *d = &h->loop->bw->dir[dir];
    if (d->tokens.rate <= 0)
        return;
    h->bw.credit -= (double)n;
    if (h->bw.credit < 0) { /* beyond what was granted: from the bucket */
        d->tokens.level += h->bw.credit;
        h->bw.credit = 0;
    }
}

void s3m__bw_forget(struct s3m_http *h)
{
    struct s3m_bwlimit *b = h->loop->bw;
    if (!b)
        return;
    if (h->bw.waiting)
        unlink_waiter(&b->dir[h->bw.waiting - 1], h);
    for (int i = 0; i < 2 && h->bw.credit > 0; i++)
        if (h->bw_dirs & (1u << i)) { /* a grant it did not use goes back */
            b->dir[i].tokens.level += h->bw.credit;
            if (b->dir[i].tokens.level > b->dir[i].tokens.burst)
                b->dir[i].tokens.level = b->dir[i].tokens.burst;
            break;
        }
    h->bw.credit = 0;
}

size_t s3m__bw_chunk(const struct s3m_loop *l)
{
    return l->bw ? l->bw->chunk : 0;
}

int s3m__bw_rcvbuf(const struct s3m_loop *l)
{
    return l->bw ? l->bw->rcvbuf : 0;
}

/* The kernel's receive buffer grows to megabytes on a fast path (it measures how fast the
 * application read its last chunk, not the limit), and what it holds has crossed the link
 * unpaced: with reads limited, each connection gets about 1/32 s of the lowest read rate, and
 * all conns of them together (each also holds up to a chunk in curl's buffer) about 1/4 s, so
 * many transfers starting at once do not take seconds of data unpaced (4 KiB at least). */
static int rcvbuf_of(const struct s3m_bwtable *t, int conns)
{
    double low = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->slots[i].bw.down > 0 && (low == 0 || t->slots[i].bw.down < low))
            low = t->slots[i].bw.down;
    double r = low / 32, shared = low / (8.0 * (conns > 0 ? conns : 1));
    r = shared < r ? shared : r;
    return low <= 0 ? 0 : r < 4096 ? 4096 : r > 2097152 ? 2097152 : (int)r;
}

/* ---- the timetable ---- */

static void log_rates(const struct s3m_bwlimit *b, const char *how)
{
    char up[32], down[32], when[64];
    const struct s3m_bw_pair *p = &b->slot->bw;
    s3m_bw_str(p->up, up, sizeof(up));
    s3m_bw_str(p->down, down, sizeof(down));
    if (b->table.timed)
        snprintf(when, sizeof(when), " (timetable slot %s %s)",
                 s3m_bw_slot_str(b->slot, (char[24]){0}, 24), b->local ? "local" : "UTC");
    else
        when[0] = 0;
    if (p->up == p->down)
        s3m_log(S3M_LOG_NOTICE, "bwlimit", "bandwidth limit %s: %s%s", how, up, when);
    else
        s3m_log(S3M_LOG_NOTICE, "bwlimit", "bandwidth limit %s: upload %s, download %s%s", how, up,
                down, when);
}

/* the slot in force now by the wall clock, and the ms to the next boundary (0: none) */
static const struct s3m_bw_slot *slot_now(const struct s3m_bwlimit *b, uint64_t *next_ms)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (b->local)
        localtime_r(&ts.tv_sec, &tm);
    else
        gmtime_r(&ts.tv_sec, &tm);
    int32_t pos = tm.tm_wday * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec, next;
    const struct s3m_bw_slot *s = s3m_bwtable_at(&b->table, pos, &next);
    uint64_t ms = next ? (uint64_t)next * 1000 - (uint64_t)(ts.tv_nsec / 1000000) : 0;
    *next_ms = ms > MAX_TABLE_WAIT_MS ? MAX_TABLE_WAIT_MS : ms;
    return s;
}

static void apply_slot(struct s3m_bwlimit *b, const struct s3m_bw_slot *s, const char *how)
{
    bool changed = !b->slot || b->slot->bw.up != s->bw.up || b->slot->bw.down != s->bw.down;
    b->slot = s;
    if (!changed)
        return;
    uint64_t now = uv_now(&b->loop->uv);
    for (int i = 0; i < 2; i++) {
        double r = dir_rate(&s->bw, i);
        s3m_tokens_set(&b->dir[i].tokens, r, burst_of(b, r), now);
    }
    log_rates(b, how);
    grant(b); /* a direction now unlimited lets its waiters go; the others wait at the new rate */
}

static void on_clock(uv_timer_t *t)
{
    struct s3m_bwlimit *b = t->data;
    uint64_t next;
    apply_slot(b, slot_now(b, &next), "now");
    if (next)
        uv_timer_start(&b->clock, on_clock, next, 0);
}

void s3m_ratelimit_bw(struct s3m_loop *l, const struct s3m_bwtable *t, bool local, int conns)
{
    struct s3m_bwlimit *b = s3m_calloc(1, sizeof(*b));
    b->loop = l;
    b->local = local;
    b->table.n = t->n;
    b->table.timed = t->timed;
    b->table.slots = s3m_calloc(t->n, sizeof(*t->slots));
    memcpy(b->table.slots, t->slots, t->n * sizeof(*t->slots));
    /* a chunk of about 1/50 s at the lowest rate the table has (and no more than the receive
     * buffer of one of conns connections: curl's buffer too holds what crossed unpaced), 4 KiB
     * to 256 KiB */
    b->rcvbuf = rcvbuf_of(t, conns);
    double c = s3m_bwtable_min_rate(t) / 50;
    if (b->rcvbuf && c > b->rcvbuf)
        c = b->rcvbuf;
    b->chunk = c < 4096 ? 4096 : c > 262144 ? 262144 : (size_t)c;
    uv_timer_init(&l->uv, &b->refill);
    uv_timer_init(&l->uv, &b->clock);
    b->refill.data = b->clock.data = b;
    uv_unref((uv_handle_t *)&b->clock);
    l->bw = b;
    uint64_t next;
    apply_slot(b, slot_now(b, &next), "from the start");
    if (next)
        uv_timer_start(&b->clock, on_clock, next, 0);
}

/* ---- --tpslimit ---- */

struct s3m_tps {
    struct s3m_tps *next;
    struct s3m_loop *loop;
    char *endpoint;
    struct s3m_tokens tokens;
};

struct s3m_tps *s3m_tps_get(struct s3m_loop *l, const char *endpoint, double rate, int burst)
{
    for (struct s3m_tps *t = l->tps; t; t = t->next)
        if (!strcmp(t->endpoint, endpoint))
            return t;
    struct s3m_tps *t = s3m_calloc(1, sizeof(*t));
    t->loop = l;
    t->endpoint = s3m_strdup(endpoint);
    s3m_tokens_set(&t->tokens, rate, burst < 1 ? 1 : burst, uv_now(&l->uv));
    t->next = l->tps;
    l->tps = t;
    return t;
}

uint64_t s3m_tps_reserve(struct s3m_tps *t)
{
    return s3m_tokens_take(&t->tokens, 1, uv_now(&t->loop->uv));
}

/* ---- cleanup ---- */

static void bw_closed(uv_handle_t *h)
{
    struct s3m_bwlimit *b = h->data;
    if (--b->open_handles == 0) {
        s3m_bwtable_free(&b->table);
        free(b);
    }
}

void s3m__ratelimit_cleanup(struct s3m_loop *l)
{
    while (l->tps) {
        struct s3m_tps *t = l->tps;
        l->tps = t->next;
        free(t->endpoint);
        free(t);
    }
    struct s3m_bwlimit *b = l->bw;
    l->bw = NULL;
    if (!b)
        return;
    b->open_handles = 2;
    uv_close((uv_handle_t *)&b->refill, bw_closed);
    uv_close((uv_handle_t *)&b->clock, bw_closed);
}
