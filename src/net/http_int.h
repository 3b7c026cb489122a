/* http_int.h - what net/ shares inside itself about a transfer (not part of any public header):
 * the loop (loop.c) hands a finished easy handle back to its request (http.c). */
#ifndef S3M_HTTP_INT_H
#define S3M_HTTP_INT_H

#include <curl/curl.h>

#include "s3m/http.h"

/* The transfer of h is over with curl's result rc (already removed from the multi handle): its
 * on_done runs, once. Called by the loop only. */
void s3m__http_finished(struct s3m_http *h, CURLcode rc);

/* connstat.c: the loop's share handle (TLS sessions), set up and released with the loop */
void s3m__share_init(struct s3m_loop *l);
void s3m__share_cleanup(struct s3m_loop *l);
/* connstat.c: share the loop's TLS sessions and count h's connections (h->conn) */
void s3m__conn_setopt(struct s3m_http *h);
void s3m__conn_finish(struct s3m_http *h);

/* ratelimit.c: the bandwidth limiter's side of a transfer whose body it counts (h->bw_dirs).
 * How many of the n bytes h may move now in direction dir: 0 = none, h now waits in the queue
 * and must pause (a timer resumes it, s3m__http_repause); else n or fewer (a send may be cut
 * to a chunk, a received chunk is taken whole). */
size_t s3m__bw_quota(struct s3m_http *h, enum s3m_http_dir dir, size_t n);
/* n bytes moved after a quota */
void s3m__bw_charge(struct s3m_http *h, enum s3m_http_dir dir, size_t n);
/* h ends or is cancelled: out of the queue, its unused grant back to the bucket */
void s3m__bw_forget(struct s3m_http *h);
/* the transport buffer for a limited body (0: no limit): a small share of the rate, so that
 * one chunk never overdraws the bucket by much */
size_t s3m__bw_chunk(const struct s3m_loop *l);
/* the receive buffer (SO_RCVBUF) of a new connection while reads are limited (0: the system's) */
int s3m__bw_rcvbuf(const struct s3m_loop *l);
/* at loop cleanup: the limiters' timers closed, their memory freed */
void s3m__ratelimit_cleanup(struct s3m_loop *l);
/* http.c: curl's pause state of h set again from its owner's pauses and the limiter's wait */
void s3m__http_repause(struct s3m_http *h);

#endif
