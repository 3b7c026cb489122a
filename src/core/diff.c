/* diff.c - merge-join of two sorted key streams and the compare rules.
 *
 * The merge holds no entries of its own: it peeks at the head of each side, emits one decision
 * and advances the side(s) it consumed, so memory does not depend on the number of keys. */
#include "s3m/diff.h"
#include "s3m/util.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

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
                                    bool *needs_content)
{
    *unverified = *needs_content = false;
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

int64_t s3m_parse_time(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    int n = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
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

enum s3m_pull s3m_diff_next(struct s3m_diff *d, struct s3m_diff_item *it)
{
    if (d->failed)
        return S3M_PULL_ERROR;
    struct s3m_entry s, t;
    enum s3m_pull ps = d->src_done ? S3M_PULL_END : d->src.peek(d->src.ctx, &s);
    enum s3m_pull pd = d->dst_done ? S3M_PULL_END : d->dst.peek(d->dst.ctx, &t);
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
    memset(it, 0, sizeof(*it));
    int c = d->src_done ? 1 : d->dst_done ? -1 : strcmp(s.key, t.key);
    if (c < 0) {
        it->src = s;
        it->action = included(d, &s) ? S3M_ACT_COPY : S3M_ACT_EXCLUDED;
        it->why = it->action == S3M_ACT_COPY ? "not on destination" : "excluded by filter";
        d->src.advance(d->src.ctx);
        d->nsrc++;
    } else if (c > 0) {
        it->dst = t;
        it->action = included(d, &t) ? S3M_ACT_DELETE : S3M_ACT_EXCLUDED;
        it->why = it->action == S3M_ACT_DELETE ? "not on source" : "excluded by filter";
        d->dst.advance(d->dst.ctx);
        d->ndst++;
    } else {
        it->src = s;
        it->dst = t;
        if (!included(d, &s)) {
            it->action = S3M_ACT_EXCLUDED;
            it->why = "excluded by filter";
        } else {
            it->action = s3m_compare_entries(&s, &t, d->mode, &it->why, &it->unverified,
                                             &it->needs_content);
        }
        d->src.advance(d->src.ctx);
        d->dst.advance(d->dst.ctx);
        d->nsrc++;
        d->ndst++;
    }
    return S3M_PULL_ENTRY;
}
