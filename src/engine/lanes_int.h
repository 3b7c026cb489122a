/* lanes_int.h - the key ranges of one job (engine-private, used by job.c).
 *
 * A lane is one key range with its own pair of listers and its own merge-join. The lanes give
 * their decisions in turn (round-robin), so that every lane's listing keeps moving; their
 * report and plan lines come out in key order: a lane's lines are spilled to an unlinked
 * temporary file until every lane before it is through, then copied out. */
#ifndef S3M_ENGINE_LANES_INT_H
#define S3M_ENGINE_LANES_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "s3m/diff.h"
#include "s3m/s3.h"

/* No lane: a line of the job as a whole (deletes done, the sweep), written straight out. */
#define S3M_NO_LANE ((size_t)-1)

struct s3m_lanes_cfg {
    struct s3m_s3 *src, *dst;
    const char *src_bucket, *src_prefix, *dst_bucket, *dst_prefix;
    size_t nlanes;             /* 0: one lane, everything */
    const char *const *bounds; /* nlanes + 1 relative keys, [0] and [nlanes] may be NULL */
    int max_keys;
    bool dst_absent; /* no destination listing: an empty one */
    const struct s3m_filter *filter;
    enum s3m_compare compare;
    FILE *report, *plan;     /* where the lines go, in key order (either may be NULL) */
    void (*ready)(void *ud); /* a listing has something new: pull again */
    void *ud;
};

/* Start every lane's listings. */
struct s3m_lanes *s3m__lanes_new(const struct s3m_lanes_cfg *cfg);
/* Close the spills and the listers (a listing request out is cancelled and frees itself). */
void s3m__lanes_free(struct s3m_lanes *ls);
/* The next decision of the next lane that has one: ENTRY (*lane and *it set, the item valid
 * until the next pull), WAIT (no lane has one ready), END (every lane is through) or ERROR (a
 * listing of lane *lane failed; s3m__lanes_error says which and why). */
enum s3m_pull s3m__lanes_pull(struct s3m_lanes *ls, size_t *lane, struct s3m_diff_item *it);
/* The error of a failed lane, its message naming the side: "listing REMOTE:BUCKET/PREFIX: ..".
 * msg gets the whole message, ei the error with the message cut to fit. */
void s3m__lanes_error(const struct s3m_lanes *ls, size_t lane, struct s3m_errinfo *ei, char *msg,
                      size_t n, const char **remote, const char **bucket);
/* Where a line of a lane goes: direct (the report or the plan) when the lane is the first one
 * unfinished or S3M_NO_LANE, else the lane's spill. */
FILE *s3m__lanes_out(struct s3m_lanes *ls, size_t lane, FILE *direct, bool plan);
/* A verification of a lane started (+1) or ended (-1): a lane is through when its listing
 * ended and none is out. */
void s3m__lanes_verifying(struct s3m_lanes *ls, size_t lane, int delta);
/* Copy out the lines of the lanes that are through; all: the job is over, every lane. */
void s3m__lanes_emit(struct s3m_lanes *ls, bool all);
/* A listing request of some lane is out; stop: cancel them (they come back failed). */
bool s3m__lanes_busy(const struct s3m_lanes *ls);
void s3m__lanes_stop(struct s3m_lanes *ls);

struct s3m_lanes_counts {
    uint64_t nsrc, ndst;           /* keys listed per side */
    uint64_t src_scope, dst_scope; /* ... of them in scope */
};
void s3m__lanes_counts(const struct s3m_lanes *ls, struct s3m_lanes_counts *c);

#endif
