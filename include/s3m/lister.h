/* s3m/lister.h - a bucket listing as a pull iterator over ListObjectsV2 pages.
 *
 * The next page is requested as soon as the current one has been parsed (its continuation
 * token is known), so the network works while the consumer works; at most two pages are held,
 * whatever the bucket size. Keys must arrive strictly increasing in byte order and inside the
 * prefix: anything else stops the listing with an error (a sync then deletes nothing). */
#ifndef S3M_LISTER_H
#define S3M_LISTER_H

#include <stdbool.h>
#include <stdint.h>

#include "s3m/s3.h"

enum s3m_lister_state { S3M_LIST_ENTRY, S3M_LIST_WAIT, S3M_LIST_END, S3M_LIST_ERROR };

struct s3m_lister;
typedef void (*s3m_lister_ready_cb)(struct s3m_lister *l, void *ud);

/* Truncated pages without keys in a row (each with a new continuation token) before the
 * listing is given up as a server that does not progress. */
#define S3M_LIST_MAX_EMPTY_PAGES 100

struct s3m_lister {
    struct s3m_s3 *c;
    char *bucket, *prefix;
    int max_keys;
    struct s3m_xml_result *pages[2]; /* [0] being consumed, [1] prefetched */
    size_t pos;                      /* next entry of pages[0] */
    struct s3m_s3_req *inflight;
    char *token;    /* continuation token for the next request */
    char *last_key; /* for the order check and as start-after fallback */
    bool more;      /* the server said there is more */
    bool failed;
    struct s3m_errinfo ei;
    char *lo, *hi;     /* key range [lo, hi) of full keys; NULL = unbounded (lo: or passed) */
    char *start_after; /* the first request's start-after (from lo) */
    bool past_hi;      /* a key >= hi was seen: the range is done */
    uint64_t pages_done, keys_done;
    int empty_pages; /* truncated pages without keys in a row */
    s3m_lister_ready_cb ready;
    void *ud;
};

/* Start listing bucket/prefix (prefix may be ""). ready is called from the loop whenever next()
 * would no longer answer WAIT. */
void s3m_lister_start(struct s3m_lister *l, struct s3m_s3 *c, const char *bucket,
                      const char *prefix, int max_keys, s3m_lister_ready_cb ready, void *ud);
/* Same, for the keys k with lo <= k < hi only (lo, hi NULL: unbounded). The listing starts near
 * lo (start-after) and stops paging at the first key >= hi. */
void s3m_lister_start_range(struct s3m_lister *l, struct s3m_s3 *c, const char *bucket,
                            const char *prefix, const char *lo, const char *hi, int max_keys,
                            s3m_lister_ready_cb ready, void *ud);
/* A string just below s, for start-after to include s: s without its last UTF-8 character (so
 * the request stays valid UTF-8), or cut before its first control character (below 0x20: some
 * servers echo start-after unescaped in the XML, where it is not allowed); keys in between are
 * skipped by the lister. */
char *s3m_key_before(const char *s);
/* Next entry: ENTRY (with *obj valid until the next call), WAIT, END or ERROR (l->ei). */
enum s3m_lister_state s3m_lister_next(struct s3m_lister *l, const struct s3m_xml_object **obj);
/* Peek at the next entry without consuming it (same answers as next). */
enum s3m_lister_state s3m_lister_peek(struct s3m_lister *l, const struct s3m_xml_object **obj);
/* A page request is out (a stopped job waits for it to come back before it is released). */
bool s3m_lister_busy(const struct s3m_lister *l);
/* Cancel the page request out, if any: it comes back soon, as failed; the listing stays. */
void s3m_lister_stop(struct s3m_lister *l);
/* Stop and free; an in-flight request is cancelled and freed when it finishes. */
void s3m_lister_cleanup(struct s3m_lister *l);

#endif
