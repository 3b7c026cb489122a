/* s3m/membudget.h - the transfer buffer memory budget (--max-buffer-memory), one per process,
 * shared by every stream of every transfer.
 *
 * A stream charges what it holds while it runs (its ring and curl's receive and upload
 * buffers) before it starts and gives it back when its round ends. One that does not fit waits
 * in a FIFO queue (no stream overtakes an earlier one, so none starves) until others give
 * back; when no stream holds any budget the first waiter starts anyway, so a stream larger
 * than the whole budget runs alone and there is always progress. A limit of 0 turns it off.
 * Single-threaded: called from the loop only. A grant never starts anything itself: its
 * callback must defer the work (a kick), as it may run from inside another stream's end. */
#ifndef S3M_MEMBUDGET_H
#define S3M_MEMBUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --max-buffer-memory's default: see docs/benchmarks.md (large objects) for why. */
#define S3M_MEMBUDGET_DEFAULT (128ull << 20)

/* A stream's place in the queue: the caller's, alive until granted or cancelled. */
struct s3m_membudget_wait {
    struct s3m_membudget_wait *next;
    uint64_t charge;
    void (*granted)(struct s3m_membudget_wait *w); /* it holds its charge now */
    bool queued;
};

/* Set the limit in bytes (0: no budget, every take is granted at once). Changing it with
 * streams holding or waiting is allowed (waiters that now fit are granted). */
void s3m_membudget_set(uint64_t limit);
uint64_t s3m_membudget_limit(void);

/* Ask for w->charge bytes: true when granted at once; false when w queued (w->granted runs
 * once it holds them, unless cancelled first). */
bool s3m_membudget_take(struct s3m_membudget_wait *w);
/* Leave the queue (no-op when w is not queued). */
void s3m_membudget_cancel(struct s3m_membudget_wait *w);
/* Give back charge bytes taken (granted) before; waiters that now fit are granted, in order. */
void s3m_membudget_release(uint64_t charge);

struct s3m_membudget_stats {
    uint64_t in_use, peak; /* bytes held now, the most held at once */
    uint64_t waits;        /* takes that had to queue */
    uint64_t oversized;    /* grants above the limit (the stream ran alone) */
    size_t waiting;        /* queued now */
};
void s3m_membudget_stats(struct s3m_membudget_stats *st);
/* Forget everything (tests): no limit, nothing held, nobody queued. */
void s3m_membudget_reset(void);

#endif
