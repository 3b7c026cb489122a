/* s3m/ratelimit.h - the run's limits on the loop: --bwlimit (one limiter for every transfer of
 * the process, a token bucket per direction, its rate from a timetable changed on the loop at
 * the slot boundaries) and --tpslimit (a token bucket of requests per endpoint).
 *
 * Bandwidth counts the object bodies the owner marks (struct s3m_http.bw_dirs): what is read
 * from a source and written to a destination. A transfer whose bucket is empty is paused and
 * resumed from a loop timer in the order it began to wait, so none starves; with no limit set
 * the transfers never look at it. */
#ifndef S3M_RATELIMIT_H
#define S3M_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "s3m/bwtable.h"
#include "s3m/loop.h"

/* Limit the bandwidth of loop l's transfers by table t (copied). Slot times are UTC, or the
 * local time (TZ) when local. Logs the rate in force and every change at notice level. conns:
 * the transfers that may read at once (the receive buffers are sized so that together they hold
 * little of the rate). */
void s3m_ratelimit_bw(struct s3m_loop *l, const struct s3m_bwtable *t, bool local, int conns);

/* The request limiter of one endpoint (its base URL): every client of that endpoint on loop l
 * shares it. rate requests per second, at most burst at once (>= 1). */
struct s3m_tps;
struct s3m_tps *s3m_tps_get(struct s3m_loop *l, const char *endpoint, double rate, int burst);
/* Take the next request's token: the ms it must wait before it starts (0: now). */
uint64_t s3m_tps_reserve(struct s3m_tps *t);

#endif
