/* s3m/loop.h - one libuv loop driving one libcurl multi handle through curl's socket API
 * (CURLMOPT_SOCKETFUNCTION -> uv_poll, CURLMOPT_TIMERFUNCTION -> uv_timer): no busy polling, no
 * thread per request. Every HTTP transfer of the process runs on it (s3m/http.h). */
#ifndef S3M_LOOP_H
#define S3M_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

struct s3m_loop_opts {
    long max_host_connections;  /* per host; 0 = unlimited */
    long max_total_connections; /* 0 = unlimited */
};

struct s3m_loop {
    uv_loop_t uv;
    void *multi; /* CURLM * */
    uv_timer_t timer;
    int active;               /* transfers in flight */
    struct s3m__sock **socks; /* the poll handle of each socket curl watches, by fd (loop.c) */
    size_t nsocks;
    void *share; /* CURLSH *: TLS sessions (and addresses) shared by every transfer */
    bool closing;
    struct s3m_bwlimit *bw; /* --bwlimit (s3m/ratelimit.h); NULL: no limit, no cost */
    struct s3m_tps *tps;    /* --tpslimit: the endpoints' request limiters */
};

/* Set up the loop and multi handle. */
int s3m_loop_init(struct s3m_loop *l, const struct s3m_loop_opts *o);
/* Run until there is nothing left to do. */
void s3m_loop_run(struct s3m_loop *l);
/* Close every handle and free the loop's resources (no transfers may be active). */
void s3m_loop_cleanup(struct s3m_loop *l);
/* Milliseconds since an arbitrary point, from the loop's clock. */
uint64_t s3m_loop_now(struct s3m_loop *l);
/* Run the loop until done(ud) is true (tested before each iteration). Returns false when the
 * loop ran out of work first: nothing left that could make done() true (a bug in the caller). */
bool s3m_loop_run_until(struct s3m_loop *l, bool (*done)(void *ud), void *ud);

/* The thin handles the layers above get instead of libuv's. Each is a heap object owned by its
 * creator, which must _free it (a no-op on NULL); after _free its callback never runs. */

/* A timer: cb(ud) after ms, then every repeat_ms (0 = once). Restarting re-arms it. */
struct s3m_timer;
struct s3m_timer *s3m_timer_new(struct s3m_loop *l, void (*cb)(void *ud), void *ud);
void s3m_timer_start(struct s3m_timer *t, uint64_t ms, uint64_t repeat_ms);
void s3m_timer_stop(struct s3m_timer *t);
bool s3m_timer_active(const struct s3m_timer *t);
/* The timer alone keeps no loop run going (a deadline: it fires only while other work runs;
 * between runs its owner looks at the clock). */
void s3m_timer_unref(struct s3m_timer *t);
void s3m_timer_free(struct s3m_timer *t);

/* A kick: cb(ud) once on the loop's next iteration, from outside any curl callback (curl
 * refuses new transfers and cross-handle unpauses from inside its own). Arming an armed kick
 * does nothing more; the loop does not block while one is armed. */
struct s3m_kick;
struct s3m_kick *s3m_kick_new(struct s3m_loop *l, void (*cb)(void *ud), void *ud);
void s3m_kick_arm(struct s3m_kick *k);
void s3m_kick_free(struct s3m_kick *k);

/* A signal watcher: cb(signum, ud) from the loop when the process receives signum (the
 * process's default action for it is replaced while the watcher exists). It never keeps the
 * loop running: it answers while something else runs the loop, and a signal that comes while no
 * loop runs waits until the next run or s3m_signal_poll. */
struct s3m_signal;
struct s3m_signal *s3m_signal_new(struct s3m_loop *l, int signum, void (*cb)(int signum, void *ud),
                                  void *ud);
/* Deliver now a signal that came while no loop ran: one look at the loop, without waiting
 * (this runs whatever else of the loop is due as well, as any loop iteration does). */
void s3m_signal_poll(struct s3m_signal *s);
void s3m_signal_free(struct s3m_signal *s);

#endif
