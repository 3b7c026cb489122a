/* diff.c - merge-join of two sorted key streams and the compare rules.
 *
 * The merge holds no entries of its own: it peeks at the head of each side, emits one decision
 * and advances the side(s) it consumed, so memory does not depend on the number of keys. */
#include "s3m/diff.h"
#include "s3m/util.h"

#include <stdio.h>
#include <string.h>

bool s3m_compare_parse(const char *s, enum s3m_compare *out)
{
    static const struct {
        const char *name;
        enum s3m_compare mode;
    } modes[] = {{"etag", S3M_CMP_ETAG},
                 {"size", S3M_CMP_SIZE},
                 {"size-mtime", S3M_CMP_SIZE_MTIME},
                 {"checksum", S3M_CMP_CHECKSUM}};
    for (size_t i = 0; i < S3M_ARRAY_LEN(modes); i++)
        if (!strcmp(s, modes[i].name))
            return *out = modes[i].mode, true;
    return false;
}

int s3m_etag_parts(const char *etag)
{
    if (!etag)
        return -1;
    size_t n = strlen(etag);
    size_t hex = strspn(etag, "0123456789abcdefABCDEF");
    if (hex != 32)
        return -1;
    if (n == 32)
        return 0;
    uint64_t parts;
    if (etag[32] != '-' || !s3m_parse_u64(etag + 33, &parts) || parts < 1 || parts > 10000)
        return -1;
    return (int)parts;
}

enum s3m_action s3m_compare_entries(const struct s3m_entry *src, const struct s3m_entry *dst,
                                    enum s3m_compare mode, const char **why, bool *unverified,
                                    bool *needs_content, bool *needs_head)
{
    *unverified = *needs_content = *needs_head = false;
    if (src->size != dst->size) {
        *why = "size differs";
        return S3M_ACT_UPDATE;
    }
    if (mode == S3M_CMP_SIZE) {
        *why = "same size";
        return S3M_ACT_SKIP;
    }
    if (mode == S3M_CMP_SIZE_MTIME) {
        if (src->mtime > dst->mtime) {
            *why = "source is newer";
            return S3M_ACT_UPDATE;
        }
        *why = "same size, destination not older";
        return S3M_ACT_SKIP;
    }
    int ps = s3m_etag_parts(src->etag), pd = s3m_etag_parts(dst->etag);
    bool comparable = ps >= 0 && ps == pd; /* same kind of ETag: equal ETags mean equal bytes */
    if (comparable) {
        if (s3m_strcasecmp(src->etag, dst->etag) && ps > 0) {
            /* maybe our own copy whose part layout could not be learned nor guessed: it carries
             * the source ETag it was copied from in its metadata, which the caller reads */
            *needs_head = true;
            *why = "multipart ETag differs: source ETag recorded on the destination to be read";
            return S3M_ACT_SKIP;
        }
        if (s3m_strcasecmp(src->etag, dst->etag)) {
            *why = "ETag differs";
            return S3M_ACT_UPDATE;
        }
        *why = "same ETag";
        return S3M_ACT_SKIP;
    }
    /* different part layouts (or an ETag that is no MD5): the ETags prove nothing */
    *unverified = true;
    if (mode == S3M_CMP_CHECKSUM) {
        *needs_content = true;
        *why = "ETags not comparable: content to be compared";
        return S3M_ACT_SKIP;
    }
    if (src->mtime > dst->mtime) {
        *why = "ETags not comparable (different part layouts), source is newer";
        return S3M_ACT_UPDATE;
    }
    *why = "ETags not comparable (different part layouts), same size, destination not older";
    return S3M_ACT_SKIP;
}

/* digits of s[0..n) as a number, -1 if any is not a digit */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int64_t s3m_parse_time(const char *s)
{
    /* "YYYY-MM-DDTHH:MM:SS..." by hand: this runs for every listed key (sscanf + timegm were
     * a fifth of a no-change sync's CPU in callgrind) */
    if (!s || strlen(s) < 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':')
        return 0;
    int y = digits(s, 4), m = digits(s + 5, 2), d = digits(s + 8, 2);
    int hh = digits(s + 11, 2), mm = digits(s + 14, 2), ss = digits(s + 17, 2);
    if (y < 0 || m < 1 || m > 12 || d < 1 || d > 31 || hh < 0 || hh > 23 || mm < 0 || mm > 59 ||
        ss < 0 || ss > 60)
        return 0;
    /* days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil) */
    int64_t yy = y - (m <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    return days * 86400 + hh * 3600 + mm * 60 + ss;
}

/* ---- merge ---- */

void s3m_diff_init(struct s3m_diff *d, struct s3m_stream src, struct s3m_stream dst,
                   const struct s3m_filter *filter, enum s3m_compare mode)
{
    memset(d, 0, sizeof(*d));
    d->src = src;
    d->dst = dst;
    d->filter = filter;
    d->mode = mode;
}

static bool included(const struct s3m_diff *d, const struct s3m_entry *e)
{
    return !d->filter || s3m_filter_match(d->filter, e->key, e->size, e->mtime);
}

/* a folder's own marker: a skip said once per job, so under --shard by hash only in the shard
 * of the key "" (the others count it as excluded, as any key of another shard) */
static void folder_item(const struct s3m_diff *d, struct s3m_diff_item *it, const char *why)
{
    const struct s3m_filter *f = d->filter;
    if (f && f->shard_count > 1 && s3m_shard_of("", f->shard_count) != f->shard_index) {
        it->action = S3M_ACT_EXCLUDED;
        it->why = "excluded by filter";
        return;
    }
    it->action = S3M_ACT_SKIP;
    it->folder = true;
    it->why = why;
}

/* Peek at the head of each side: ENTRY when both are known (a finished side is known to have
 * none), WAIT while a side has nothing ready, END when both are done, ERROR once one failed. */
static enum s3m_pull peek_heads(struct s3m_diff *d, struct s3m_entry *s, struct s3m_entry *t)
{
    enum s3m_pull ps = d->src_done ? S3M_PULL_END : d->src.peek(d->src.ctx, s);
    enum s3m_pull pd = d->dst_done ? S3M_PULL_END : d->dst.peek(d->dst.ctx, t);
    if (ps == S3M_PULL_ERROR || pd == S3M_PULL_ERROR) {
        d->failed = true;
        return S3M_PULL_ERROR;
    }
    d->src_done = ps == S3M_PULL_END;
    d->dst_done = pd == S3M_PULL_END;
    if (ps == S3M_PULL_WAIT || pd == S3M_PULL_WAIT)
        return S3M_PULL_WAIT; /* both heads are needed to decide */
    if (d->src_done && d->dst_done)
        return S3M_PULL_END;
    return S3M_PULL_ENTRY;
}

/* The relative key "" is the prefix's own marker ("dir/" under "dir/"): the folder itself, not
 * an object of the mirror. It sorts first; skipped on both sides, never mapped to the other
 * side's folder, never deleted, not counted as a listed key. True when a head was one. */
static bool take_folder(struct s3m_diff *d, struct s3m_diff_item *it, const struct s3m_entry *s,
                        const struct s3m_entry *t)
{
    if (!d->src_done && !*s->key) {
        it->src = *s;
        folder_item(d, it, "the folder itself, not copied");
        d->src.advance(d->src.ctx);
        return true;
    }
    if (!d->dst_done && !*t->key) {
        it->dst = *t;
        folder_item(d, it, "the folder itself, kept");
        d->dst.advance(d->dst.ctx);
        return true;
    }
    return false;
}

/* a key only on the source: copied unless a filter leaves it out */
static void take_src_only(struct s3m_diff *d, struct s3m_diff_item *it, const struct s3m_entry *s)
{
    it->src = *s;
    it->action = included(d, s) ? S3M_ACT_COPY : S3M_ACT_EXCLUDED;
    it->why = it->action == S3M_ACT_COPY ? "not on destination" : "excluded by filter";
    d->src.advance(d->src.ctx);
    d->nsrc++;
    d->nsrc_scope += it->action != S3M_ACT_EXCLUDED;
}

/* a key only on the destination: deleted unless a filter leaves it out */
static void take_dst_only(struct s3m_diff *d, struct s3m_diff_item *it, const struct s3m_entry *t)
{
    it->dst = *t;
    it->action = included(d, t) ? S3M_ACT_DELETE : S3M_ACT_EXCLUDED;
    it->why = it->action == S3M_ACT_DELETE ? "not on source" : "excluded by filter";
    d->dst.advance(d->dst.ctx);
    d->ndst++;
    d->ndst_scope += it->action != S3M_ACT_EXCLUDED;
}

/* a key on both sides: the compare rules decide, unless a filter (judging the source's copy)
 * leaves it out */
static void take_pair(struct s3m_diff *d, struct s3m_diff_item *it, const struct s3m_entry *s,
                      const struct s3m_entry *t)
{
    it->src = *s;
    it->dst = *t;
    if (!included(d, s)) {
        it->action = S3M_ACT_EXCLUDED;
        it->why = "excluded by filter";
    } else {
        it->action = s3m_compare_entries(s, t, d->mode, &it->why, &it->unverified,
                                         &it->needs_content, &it->needs_head);
    }
    d->src.advance(d->src.ctx);
    d->dst.advance(d->dst.ctx);
    d->nsrc++;
    d->ndst++;
    d->nsrc_scope += it->action != S3M_ACT_EXCLUDED;
    d->ndst_scope += it->action != S3M_ACT_EXCLUDED;
}

enum s3m_pull s3m_diff_next(struct s3m_diff *d, struct s3m_diff_item *it)
{
    if (d->failed)
        return S3M_PULL_ERROR;
    struct s3m_entry s, t;
    enum s3m_pull p = peek_heads(d, &s, &t);
    if (p != S3M_PULL_ENTRY)
        return p;
    memset(it, 0, sizeof(*it));
    if (take_folder(d, it, &s, &t))
        return S3M_PULL_ENTRY;
    int c = d->src_done ? 1 : d->dst_done ? -1 : strcmp(s.key, t.key);
    if (c < 0)
        take_src_only(d, it, &s);
    else if (c > 0)
        take_dst_only(d, it, &t);
    else
        take_pair(d, it, &s, &t);
    return S3M_PULL_ENTRY;
}
