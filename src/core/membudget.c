/* membudget.c - the transfer buffer memory budget (s3m/membudget.h): a count of bytes held and
 * a FIFO queue of streams waiting for theirs. */
#include "s3m/membudget.h"

#include <string.h>

static struct {
    uint64_t limit;
    struct s3m_membudget_wait *head, *tail;
    struct s3m_membudget_stats st;
} B;

static void hold(uint64_t charge)
{
    if (B.limit && charge > B.limit)
        B.st.oversized++;
    B.st.in_use += charge;
    if (B.st.in_use > B.st.peak)
        B.st.peak = B.st.in_use;
}

/* Whether charge may be held now: it fits, or nothing is held (progress). */
static bool fits(uint64_t charge)
{
    return !B.limit || B.st.in_use == 0 || B.st.in_use + charge <= B.limit;
}

/* Grant the queue's head while it fits; a waiter that does not fit stops the others behind it. */
static void grant_waiters(void)
{
    while (B.head && fits(B.head->charge)) {
        struct s3m_membudget_wait *w = B.head;
        B.head = w->next;
        if (!B.head)
            B.tail = NULL;
        w->next = NULL;
        w->queued = false;
        B.st.waiting--;
        hold(w->charge);
        w->granted(w);
    }
}

void s3m_membudget_set(uint64_t limit)
{
    B.limit = limit;
    grant_waiters();
}

uint64_t s3m_membudget_limit(void)
{
    return B.limit;
}

bool s3m_membudget_take(struct s3m_membudget_wait *w)
{
    w->next = NULL;
    w->queued = false;
    if (!B.head && fits(w->charge)) { /* nobody ahead of it */
        hold(w->charge);
        return true;
    }
    w->queued = true;
    if (B.tail)
        B.tail->next = w;
    else
        B.head = w;
    B.tail = w;
    B.st.waits++;
    B.st.waiting++;
    return false;
}

void s3m_membudget_cancel(struct s3m_membudget_wait *w)
{
    if (!w->queued)
        return;
    struct s3m_membudget_wait *prev = NULL;
    for (struct s3m_membudget_wait *q = B.head; q; prev = q, q = q->next) {
        if (q != w)
            continue;
        if (prev)
            prev->next = w->next;
        else
            B.head = w->next;
        if (B.tail == w)
            B.tail = prev;
        break;
    }
    w->next = NULL;
    w->queued = false;
    B.st.waiting--;
    grant_waiters(); /* it may have been the head that held the others back */
}

void s3m_membudget_release(uint64_t charge)
{
    B.st.in_use = charge > B.st.in_use ? 0 : B.st.in_use - charge;
    grant_waiters();
}

void s3m_membudget_stats(struct s3m_membudget_stats *st)
{
    *st = B.st;
}

void s3m_membudget_reset(void)
{
    memset(&B, 0, sizeof(B));
}
