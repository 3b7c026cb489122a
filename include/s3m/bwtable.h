/* s3m/bwtable.h - the value of --bwlimit in rclone's syntax (a rate, UP:DOWN, or a timetable of
 * "[DAY-]HH:MM[:SS],RATE" slots) and the token bucket arithmetic the limits share. Pure: no
 * clock is read here, the caller passes the time (net/ratelimit.c runs it on the loop). */
#ifndef S3M_BWTABLE_H
#define S3M_BWTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define S3M_WEEK_S (7 * 86400)

/* bytes per second, upload (writes to the destination) and download (reads); 0 = no limit */
struct s3m_bw_pair {
    double up, down;
};

struct s3m_bw_slot {
    int32_t week_s; /* where the slot starts: seconds since Sunday 00:00:00 */
    struct s3m_bw_pair bw;
};

struct s3m_bwtable {
    struct s3m_bw_slot *slots; /* in the order given; a time without a day is one slot per day */
    size_t n;
    bool timed; /* a timetable (else one slot: a rate for the whole run) */
};

/* One rate as rclone reads it: "off" (0: no limit), a number of KiB/s, or a number with a
 * binary suffix B, K, M, G, T, P (also Ki, KiB...): "10M" is 10 MiB/s. false when malformed. */
bool s3m_bw_parse_rate(const char *s, double *out);
/* "RATE" or "UP:DOWN" (rclone's meaning: UP for writes, DOWN for reads). */
bool s3m_bw_parse_pair(const char *s, struct s3m_bw_pair *out);
/* The whole value: a pair alone, or slots separated by spaces or ';', each "TIME,PAIR" where
 * TIME is HH:MM (every day), DAY-HH:MM (Mon, Monday, ... Sun) and :SS may follow the minutes
 * (an s3mirror extension). false with a message in err (size errlen). */
bool s3m_bwtable_parse(const char *s, struct s3m_bwtable *t, char *err, size_t errlen);
void s3m_bwtable_free(struct s3m_bwtable *t);
/* The slot in force at week position pos (0 .. S3M_WEEK_S-1): the latest slot that started at
 * or before pos, else (wrapping) the latest of the week; two at one time: the later given.
 * *next_s: seconds until the next slot boundary (0: none, the rate never changes). */
const struct s3m_bw_slot *s3m_bwtable_at(const struct s3m_bwtable *t, int32_t pos, int32_t *next_s);
/* The lowest rate of any slot and direction that limits (0: none limits). */
double s3m_bwtable_min_rate(const struct s3m_bwtable *t);
/* "2 MiB/s", "512 KiB/s", "off" */
const char *s3m_bw_str(double rate, char *out, size_t n);
/* "Mon 06:00:00" */
const char *s3m_bw_slot_str(const struct s3m_bw_slot *s, char *out, size_t n);

/* A token bucket: level grows at rate per second up to burst; taking may overdraw it (the
 * debt is paid back before anyone goes again), so a caller that cannot take part of what it
 * holds (a received chunk) is still counted exactly. */
struct s3m_tokens {
    double rate, burst, level;
    uint64_t last_ms;
};
/* Start full at now_ms, or change rate and burst (the level kept, capped at the new burst). */
void s3m_tokens_set(struct s3m_tokens *t, double rate, double burst, uint64_t now_ms);
void s3m_tokens_refill(struct s3m_tokens *t, uint64_t now_ms);
/* Take n at now_ms; returns the ms until the level is back to 0 or more (0: at once). */
uint64_t s3m_tokens_take(struct s3m_tokens *t, double n, uint64_t now_ms);
/* ms from the last refill until the level is above 0 (0: it is). */
uint64_t s3m_tokens_wait_ms(const struct s3m_tokens *t);

#endif
