/* ranges.c - where one job's keyspace is cut into ranges listed at once: boundaries discovered
 * from the common prefixes under '/' (a few delimiter listings on the loop), or learned by the
 * previous run of the same source and kept in a cache file. Boundary text is shared with shard
 * plans (cli/shard.c). */
#include "s3m/ranges.h"
#include "s3m/hash.h"
#include "s3m/log.h"
#include "s3m/uri.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void s3m_bounds_free(struct s3m_bounds *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->keys[i]);
    free(b->keys);
    b->keys = NULL;
    b->n = 0;
}

static void bounds_add(struct s3m_bounds *b, const char *k)
{
    b->keys = s3m_realloc(b->keys, (b->n + 1) * sizeof(char *));
    b->keys[b->n++] = s3m_strdup(k);
}

/* one boundary line (no line end) decoded into k; false when it is no key */
static bool decode_line(struct s3m_buf *k, const char *line, size_t len)
{
    s3m_buf_reset(k);
    return s3m_uri_decode(k, line, len, false) && strlen(s3m_buf_str(k)) == k->len && k->len > 0 &&
           k->len <= 1024;
}

int s3m_bounds_parse(FILE *f, bool strict, struct s3m_bounds *b)
{
    memset(b, 0, sizeof(*b));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0, bad = 0;
    struct s3m_buf k;
    s3m_buf_init(&k);
    while (!bad && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (!len || line[0] == '#')
            continue;
        bool ok = decode_line(&k, line, (size_t)len);
        int c = ok && b->n ? strcmp(s3m_buf_str(&k), b->keys[b->n - 1]) : 1;
        if (!ok || c < 0 || (strict && c == 0))
            bad = lineno;
        else
            bounds_add(b, s3m_buf_str(&k));
    }
    free(line);
    s3m_buf_cleanup(&k);
    if (bad)
        s3m_bounds_free(b);
    return bad;
}

void s3m_bounds_text(struct s3m_buf *out, char *const *keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        s3m_uri_encode(out, keys[i], strlen(keys[i]), true);
        s3m_buf_addc(out, '\n');
    }
}

/* keep the keys of b strictly inside (lo, hi) (NULL: unbounded) */
static void keep_inside(struct s3m_bounds *b, const char *lo, const char *hi)
{
    size_t n = 0;
    for (size_t i = 0; i < b->n; i++)
        if ((!lo || strcmp(b->keys[i], lo) > 0) && (!hi || strcmp(b->keys[i], hi) < 0))
            b->keys[n++] = b->keys[i];
        else
            free(b->keys[i]);
    b->n = n;
}

void s3m_bounds_pick(struct s3m_bounds *cand, const char *lo, const char *hi, size_t want,
                     struct s3m_bounds *out)
{
    keep_inside(cand, lo, hi);
    out->n = s3m_keys_split(cand->keys, cand->n, want, true, &out->keys);
    s3m_bounds_free(cand);
    /* the split may cut a key short (before a control character): still above lo? (a cut key
     * is a prefix of a key below hi, so it stays below hi) */
    keep_inside(out, lo, NULL);
}

/* ---- discovering boundaries: common prefixes under '/' ----
 *
 * One delimiter listing per level, on the loop; the next level only once a level is done. */

enum disc_state { DISC_LISTING, DISC_DONE };

static const char *const disc_state_names[] = {"LISTING", "DONE"};

struct discovery {
    struct s3m_s3 *c;
    const char *bucket, *prefix;
    enum disc_state state;
    int depth;              /* of the level listed: 0 = prefix itself */
    char *sub;              /* the level under prefix ("" or ending in '/') */
    struct s3m_bounds cand; /* the names of the last level listed */
    struct s3m_s3_req *cur; /* the level's listing in flight, for a stop to cancel */
    bool (*stop)(void *ud);
    void *stop_ud;
};

/* a level deeper than this is no longer worth its request */
#define DISC_MAX_DEPTH 4

static void set_state(struct discovery *d, enum disc_state s)
{
    s3m_log(S3M_LOG_DEBUG, "ranges", "discovery %s -> %s (level '%s%s')",
            disc_state_names[d->state], disc_state_names[s], d->prefix, d->sub ? d->sub : "");
    d->state = s;
}

static bool disc_done(void *ud)
{
    struct discovery *d = ud;
    if (d->state != DISC_DONE && d->cur && d->stop && d->stop(d->stop_ud))
        s3m_s3_cancel(d->cur); /* its callback ends the discovery */
    return d->state == DISC_DONE;
}

static void level_failed(struct discovery *d, const struct s3m_errinfo *ei)
{
    char line[900];
    s3m_log(S3M_LOG_INFO, "sync", "listing ranges: %s (listing in one range)",
            s3m_errinfo_str(ei, line, sizeof(line)));
    set_state(d, DISC_DONE);
}

/* The names of one level's page (relative to prefix, keys and common prefixes alike) into
 * cand; returns the level's only common prefix (when it holds nothing else) to go down to. */
static char *level_names(struct discovery *d, const struct s3m_xml_list *l)
{
    size_t plen = strlen(d->prefix);
    if (l->is_truncated) {
        /* more names than one page: the first page's names would all sit at the start of
         * the keyspace and make lopsided ranges; better none (a shard plan helps) */
        s3m_log(S3M_LOG_INFO, "sync",
                "listing ranges: over %zu names under '%s%s': one range "
                "(use shard-plan and --shard-boundaries)",
                l->nprefixes + l->nobjects, d->prefix, d->sub);
        return NULL;
    }
    for (size_t i = 0; i < l->nprefixes; i++)
        if (!strncmp(l->common_prefixes[i], d->prefix, plen))
            bounds_add(&d->cand, l->common_prefixes[i] + plen);
    for (size_t i = 0; i < l->nobjects; i++)
        if (!strncmp(l->objects[i].key, d->prefix, plen) && l->objects[i].key[plen])
            bounds_add(&d->cand, l->objects[i].key + plen);
    return l->nprefixes == 1 && l->nobjects == 0 ? s3m_strdup(l->common_prefixes[0] + plen) : NULL;
}

static void level_start(struct discovery *d);

static void level_done(struct s3m_s3_req *r, void *ud)
{
    struct discovery *d = ud;
    d->cur = NULL;
    if (r->ei.err || !r->xml || r->xml->kind != S3M_XML_LIST) {
        level_failed(d, &r->ei);
        s3m_s3_req_free(r);
        return;
    }
    char *only = level_names(d, &r->xml->list);
    s3m_s3_req_free(r);
    free(d->sub);
    d->sub = only;
    /* go down while a level holds a single common prefix ("backups/" -> "backups/daily/") */
    if (only && ++d->depth < DISC_MAX_DEPTH)
        level_start(d);
    else
        set_state(d, DISC_DONE);
}

static void level_start(struct discovery *d)
{
    s3m_bounds_free(&d->cand); /* only the deepest level listed counts */
    struct s3m_buf p;
    s3m_buf_init(&p);
    s3m_buf_printf(&p, "%s%s", d->prefix, d->sub);
    struct s3m_s3_req *r = s3m_s3_list_objects(d->c, d->bucket, s3m_buf_str(&p), NULL, NULL, "/",
                                               1000);
    s3m_buf_cleanup(&p);
    if (s3m_s3_submit(r, level_done, d)) {
        level_failed(d, &r->ei);
        s3m_s3_req_free(r);
    } else {
        d->cur = r;
    }
}

void s3m_bounds_discover(struct s3m_s3 *c, const char *bucket, const char *prefix, const char *lo,
                         const char *hi, size_t want, struct s3m_bounds *out,
                         bool (*stop)(void *ud), void *stop_ud)
{
    memset(out, 0, sizeof(*out));
    if (want < 2)
        return;
    struct discovery d = {.c = c,
                          .bucket = bucket,
                          .prefix = prefix,
                          .state = DISC_LISTING,
                          .sub = s3m_strdup(""),
                          .stop = stop,
                          .stop_ud = stop_ud};
    level_start(&d);
    /* every level's request ends (its callback runs once): the loop cannot run dry first */
    bool ran = s3m_loop_run_until(c->loop, disc_done, &d);
    assert(ran);
    (void)ran;
    free(d.sub);
    s3m_bounds_pick(&d.cand, lo, hi, want, out);
}

/* ---- ranges learned by the previous run ---- */

char *s3m_ranges_cache_path(const char *src_spec)
{
    const char *dir = getenv("S3MIRROR_CACHE_DIR");
    char buf[4096];
    if (!dir || !*dir)
        dir = getenv("CACHE_DIRECTORY"); /* systemd CacheDirectory= */
    if (!dir || !*dir) {
        const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
        if (xdg && *xdg)
            snprintf(buf, sizeof(buf), "%s/s3mirror", xdg);
        else if (home && *home)
            snprintf(buf, sizeof(buf), "%s/.cache/s3mirror", home);
        else
            return NULL;
        dir = buf;
    }
    char hex[65], key[2048];
    snprintf(key, sizeof(key), "ranges\n%s", src_spec);
    s3m_sha256_hex(key, strlen(key), hex);
    struct s3m_buf p;
    s3m_buf_init(&p);
    s3m_buf_printf(&p, "%s/ranges-%.16s", dir, hex);
    return s3m_buf_detach(&p);
}

/* The header line that says how many source keys the writing run listed. */
#define LISTED_LINE "# source keys listed: "

int64_t s3m_ranges_cache_load(const char *path, const char *lo, const char *hi, size_t want,
                              struct s3m_bounds *out)
{
    memset(out, 0, sizeof(*out));
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f)
        return -1;
    char line[128];
    int64_t listed = -1;
    for (int i = 0; i < 2 && fgets(line, sizeof(line), f); i++) { /* among the header lines */
        unsigned long long v;
        if (!strncmp(line, LISTED_LINE, strlen(LISTED_LINE)) &&
            sscanf(line + strlen(LISTED_LINE), "%llu", &v) == 1 && v <= INT64_MAX)
            listed = (int64_t)v;
    }
    rewind(f);
    struct s3m_bounds all;
    if (s3m_bounds_parse(f, true, &all)) /* damaged: nothing; the run rewrites it */
        listed = -1;
    fclose(f);
    s3m_bounds_pick(&all, lo, hi, want, out);
    return listed;
}

void s3m_ranges_cache_save(const char *path, char *const *keys, size_t n, uint64_t listed)
{
    char *dir = s3m_strdup(path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
        mkdir(dir, 0700); /* the cache directory itself; its parent must exist */
    }
    free(dir);
    struct s3m_buf b;
    s3m_buf_init(&b);
    s3m_buf_adds(&b, "# s3mirror: key ranges learned from the last listing (any boundaries are "
                     "correct; these make the parts even)\n");
    s3m_buf_printf(&b, LISTED_LINE "%" PRIu64 "\n", listed);
    s3m_bounds_text(&b, keys, n);
    if (s3m_file_replace(path, b.data, b.len))
        s3m_log(S3M_LOG_INFO, "sync", "%zu key range boundaries learned for the next run (%s)", n,
                path);
    else
        s3m_log(S3M_LOG_DEBUG, "sync", "cannot keep the learned key ranges in %s: %s", path,
                strerror(errno));
    s3m_buf_cleanup(&b);
}
