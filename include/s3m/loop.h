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
    int active;          /* transfers in flight */
    uint64_t sockets_opened;
    bool closing;
};

/* Set up the loop and multi handle. */
int s3m_loop_init(struct s3m_loop *l, const struct s3m_loop_opts *o);
/* Run until there is nothing left to do. */
void s3m_loop_run(struct s3m_loop *l);
/* Close every handle and free the loop's resources (no transfers may be active). */
void s3m_loop_cleanup(struct s3m_loop *l);
/* Milliseconds since an arbitrary point, from the loop's clock. */
uint64_t s3m_loop_now(struct s3m_loop *l);

#endif
