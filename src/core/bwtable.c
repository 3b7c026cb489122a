/* bwtable.c - --bwlimit's value in rclone's syntax (fs/bwtimetable.go, fs/sizesuffix.go), the
 * slot in force at a time of the week, and the token bucket arithmetic of the limits. Pure. */
#include "s3m/bwtable.h"
#include "s3m/util.h"

#include <math.h> /* isfinite only: no libm, the core links without it */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static double multiplier(char c)
{
    static const char sym[] = "kmgtpe";
    const char *p = c ? strchr(sym, c | 0x20) : NULL;
    double m = p ? 1 : 0;
    for (const char *q = sym; p && q <= p; q++)
        m *= 1024;
    return m;
}

bool s3m_bw_parse_rate(const char *s, double *out)
{
    size_t n = strlen(s);
    if (!n || n > 40)
        return false;
    if (!strcasecmp(s, "off")) {
        *out = 0;
        return true;
    }
    double mult = 1024; /* rclone: a bare number is KiB/s */
    size_t num = n;
    char last = s[n - 1];
    if ((last == 'b' || last == 'B') && n > 2 && s[n - 2] == 'i') { /* KiB, MiB */
        mult = multiplier(s[n - 3]), num = n - 3;
    } else if (last == 'b' || last == 'B') {
        mult = 1, num = n - 1;
    } else if ((last == 'i' || last == 'I') && n > 1) { /* Ki, Mi */
        mult = multiplier(s[n - 2]), num = n - 2;
    } else if (!(last >= '0' && last <= '9') && last != '.') {
        mult = multiplier(last), num = n - 1;
    }
    if (mult == 0 || num == 0)
        return false;
    char buf[48], *end;
    memcpy(buf, s, num);
    buf[num] = 0;
    if (buf[0] == '-' || buf[0] == '+' || buf[0] == ' ')
        return false;
    double v = strtod(buf, &end);
    if (*end || !isfinite(v) || v < 0 || v * mult > 1e18)
        return false;
    *out = v * mult;
    return true;
}

bool s3m_bw_parse_pair(const char *s, struct s3m_bw_pair *out)
{
    const char *colon = strchr(s, ':');
    if (!colon) {
        if (!s3m_bw_parse_rate(s, &out->up))
            return false;
        out->down = out->up;
        return true;
    }
    char up[48];
    size_t n = (size_t)(colon - s);
    if (n >= sizeof(up))
        return false;
    memcpy(up, s, n);
    up[n] = 0;
    return s3m_bw_parse_rate(up, &out->up) && s3m_bw_parse_rate(colon + 1, &out->down);
}

static const char *const days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
static const char *const long_days[] = {"sunday",   "monday", "tuesday", "wednesday",
                                        "thursday", "friday", "saturday"};

static int parse_day(const char *s, size_t n)
{
    for (int i = 0; i < 7; i++)
        if ((n == 3 && !strncasecmp(s, days[i], 3)) ||
            (n == strlen(long_days[i]) && !strncasecmp(s, long_days[i], n)))
            return i;
    return -1;
}

static int two_digits(const char *s, int max)
{
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
        return -1;
    int v = (s[0] - '0') * 10 + (s[1] - '0');
    return v <= max ? v : -1;
}

/* "HH:MM" or "HH:MM:SS" of n bytes as seconds of the day; -1 when malformed */
static int32_t parse_clock(const char *s, size_t n)
{
    if ((n != 5 && n != 8) || s[2] != ':' || (n == 8 && s[5] != ':'))
        return -1;
    int h = two_digits(s, 23), m = two_digits(s + 3, 59), sec = n == 8 ? two_digits(s + 6, 59) : 0;
    if (h < 0 || m < 0 || sec < 0)
        return -1;
    return h * 3600 + m * 60 + sec;
}

/* the whole ms at or above ms (no libm) */
static uint64_t ceil_ms(double ms)
{
    uint64_t w = (uint64_t)ms;
    return (double)w < ms ? w + 1 : w;
}

static void add_slot(struct s3m_bwtable *t, int32_t week_s, struct s3m_bw_pair bw)
{
    t->slots = s3m_realloc(t->slots, (t->n + 1) * sizeof(*t->slots));
    t->slots[t->n].week_s = week_s;
    t->slots[t->n++].bw = bw;
}

/* one "TIME,PAIR" entry of n bytes; false with a message */
static bool parse_entry(struct s3m_bwtable *t, const char *s, size_t n, char *err, size_t errlen)
{
    const char *comma = memchr(s, ',', n);
    if (!comma || memchr(comma + 1, ',', (size_t)(s + n - comma - 1))) {
        snprintf(err, errlen, "'%.*s' is no TIME,RATE entry (e.g. 06:00,20M or Mon-08:00,512k)",
                 (int)n, s);
        return false;
    }
    const char *tm = s, *dash = memchr(s, '-', (size_t)(comma - s));
    int day = -1;
    if (dash) {
        if ((day = parse_day(s, (size_t)(dash - s))) < 0) {
            snprintf(err, errlen, "'%.*s': unknown day (Mon, Tue, ... Sun)", (int)(dash - s), s);
            return false;
        }
        tm = dash + 1;
    }
    int32_t clock = parse_clock(tm, (size_t)(comma - tm));
    if (clock < 0) {
        snprintf(err, errlen, "'%.*s': the time must be HH:MM or HH:MM:SS (00:00 to 23:59:59)",
                 (int)(comma - tm), tm);
        return false;
    }
    char rate[96];
    size_t rn = (size_t)(s + n - comma - 1);
    struct s3m_bw_pair bw;
    snprintf(rate, sizeof(rate), "%.*s", (int)rn, comma + 1);
    if (rn >= sizeof(rate) || !s3m_bw_parse_pair(rate, &bw)) {
        snprintf(err, errlen, "'%.*s': the rate must be off, RATE or UP:DOWN (e.g. 10M, 512k)",
                 (int)rn, comma + 1);
        return false;
    }
    for (int d = 0; d < 7; d++)
        if (day < 0 || d == day)
            add_slot(t, d * 86400 + clock, bw);
    return true;
}

bool s3m_bwtable_parse(const char *s, struct s3m_bwtable *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    struct s3m_bw_pair bw;
    if (!strpbrk(s, " ;,")) { /* a rate for the whole run */
        if (!s3m_bw_parse_pair(s, &bw)) {
            snprintf(err, errlen,
                     "'%s': expected off, RATE, UP:DOWN or a timetable "
                     "(e.g. 10M, 4M:1M, \"06:00,20M 22:00,off\")",
                     s);
            return false;
        }
        add_slot(t, 0, bw);
        return true;
    }
    t->timed = true;
    for (const char *p = s; *p;) {
        size_t skip = strspn(p, " ;"), len;
        p += skip;
        if (!*p)
            break;
        len = strcspn(p, " ;");
        if (t->n >= 64 * 7 || !parse_entry(t, p, len, err, errlen)) {
            if (t->n >= 64 * 7)
                snprintf(err, errlen, "too many timetable entries");
            s3m_bwtable_free(t);
            return false;
        }
        p += len;
    }
    if (!t->n) {
        snprintf(err, errlen, "an empty timetable");
        return false;
    }
    return true;
}

void s3m_bwtable_free(struct s3m_bwtable *t)
{
    free(t->slots);
    memset(t, 0, sizeof(*t));
}

/* the latest slot (the later given on a tie) at or before pos; NULL when none is */
static const struct s3m_bw_slot *latest_upto(const struct s3m_bwtable *t, int32_t pos)
{
    const struct s3m_bw_slot *best = NULL;
    for (size_t i = 0; i < t->n; i++)
        if (t->slots[i].week_s <= pos && (!best || t->slots[i].week_s >= best->week_s))
            best = &t->slots[i];
    return best;
}

const struct s3m_bw_slot *s3m_bwtable_at(const struct s3m_bwtable *t, int32_t pos, int32_t *next_s)
{
    const struct s3m_bw_slot *s = latest_upto(t, pos);
    if (!s) /* before the week's first slot: the last one of the week before is in force */
        s = latest_upto(t, S3M_WEEK_S);
    int32_t next = 0;
    for (size_t i = 0; t->timed && i < t->n; i++) {
        int32_t d = t->slots[i].week_s - pos;
        if (d <= 0)
            d += S3M_WEEK_S;
        if (!next || d < next)
            next = d;
    }
    *next_s = next;
    return s;
}

double s3m_bwtable_min_rate(const struct s3m_bwtable *t)
{
    double m = 0;
    for (size_t i = 0; i < t->n; i++) {
        double r[2] = {t->slots[i].bw.up, t->slots[i].bw.down};
        for (int k = 0; k < 2; k++)
            if (r[k] > 0 && (m == 0 || r[k] < m))
                m = r[k];
    }
    return m;
}

const char *s3m_bw_str(double rate, char *out, size_t n)
{
    static const char *const units[] = {"B/s", "KiB/s", "MiB/s", "GiB/s", "TiB/s"};
    if (rate <= 0) {
        snprintf(out, n, "off");
        return out;
    }
    int u = 0;
    while (rate >= 1024 && u < 4)
        rate /= 1024, u++;
    snprintf(out, n, rate == (double)(uint64_t)rate ? "%.0f %s" : "%.3g %s", rate, units[u]);
    return out;
}

const char *s3m_bw_slot_str(const struct s3m_bw_slot *s, char *out, size_t n)
{
    int32_t d = s->week_s / 86400, r = s->week_s % 86400;
    snprintf(out, n, "%c%c%c %02d:%02d:%02d", days[d][0] - 32, days[d][1], days[d][2],
             (int)(r / 3600), (int)(r / 60 % 60), (int)(r % 60));
    return out;
}

void s3m_tokens_set(struct s3m_tokens *t, double rate, double burst, uint64_t now_ms)
{
    if (t->rate <= 0 || t->last_ms == 0) {
        t->level = burst; /* a limit that starts (or starts again): a full bucket */
    } else {
        s3m_tokens_refill(t, now_ms);
        if (t->level > burst)
            t->level = burst;
    }
    t->rate = rate;
    t->burst = burst;
    t->last_ms = now_ms ? now_ms : 1;
}

void s3m_tokens_refill(struct s3m_tokens *t, uint64_t now_ms)
{
    if (now_ms > t->last_ms) {
        t->level += t->rate * (double)(now_ms - t->last_ms) / 1000.0;
        if (t->level > t->burst)
            t->level = t->burst;
        t->last_ms = now_ms;
    }
}

uint64_t s3m_tokens_wait_ms(const struct s3m_tokens *t)
{
    if (t->level > 0 || t->rate <= 0)
        return 0;
    return ceil_ms(-t->level * 1000.0 / t->rate) + 1;
}

uint64_t s3m_tokens_take(struct s3m_tokens *t, double n, uint64_t now_ms)
{
    s3m_tokens_refill(t, now_ms);
    t->level -= n;
    if (t->level >= 0 || t->rate <= 0)
        return 0;
    return ceil_ms(-t->level * 1000.0 / t->rate);
}
