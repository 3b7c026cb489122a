/* shard.c - splitting one job's keyspace: ranges listed concurrently inside a run, --shard
 * INDEX/COUNT across processes, and `s3mirror shard-plan`, which writes the boundaries.
 *
 * A boundary file holds COUNT-1 keys (relative to the source prefix), percent-encoded one per
 * line, '#' lines being comments: shard i is the keys k with b[i-1] <= k < b[i]. Without a
 * file, --shard splits by a hash of the key, which needs no agreement but lists everything in
 * every process. */
#include "cli.h"
#include "s3m/diff.h"
#include "s3m/hash.h"
#include "s3m/lister.h"
#include "s3m/log.h"
#include "s3m/uri.h"
#include "s3m/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
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

int s3m_shard_parse(const char *spec, uint32_t *index, uint32_t *count)
{
    char *end;
    unsigned long i = strtoul(spec, &end, 10);
    if (end == spec || *end != '/' || spec[0] == '-')
        goto bad;
    const char *c = end + 1;
    unsigned long n = strtoul(c, &end, 10);
    if (end == c || *end || c[0] == '-' || n < 1 || n > 100000 || i >= n)
        goto bad;
    *index = (uint32_t)i;
    *count = (uint32_t)n;
    return 0;
bad:
    fprintf(stderr, "s3mirror: error: --shard: '%s' is not INDEX/COUNT with 0 <= INDEX < COUNT\n",
            spec);
    return S3M_EXIT_USAGE;
}

/* Boundary lines: percent-encoded keys, '#' lines and blank ones skipped; each key at least
 * (strict: greater than) the one before. Returns 0, or the number of the first bad line. */
static int read_keys(FILE *f, bool strict, struct s3m_bounds *b)
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
        s3m_buf_reset(&k);
        bool ok = s3m_uri_decode(&k, line, (size_t)len, false) &&
                  strlen(s3m_buf_str(&k)) == k.len && k.len > 0 && k.len <= 1024;
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

int s3m_bounds_read(const char *path, struct s3m_bounds *b)
{
    memset(b, 0, sizeof(*b));
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "s3mirror: error: --shard-boundaries: cannot read '%s': %s\n", path,
                strerror(errno));
        return S3M_EXIT_USAGE;
    }
    int bad = read_keys(f, false, b);
    fclose(f);
    if (!bad)
        return 0;
    fprintf(stderr, "s3mirror: error: --shard-boundaries: %s:%d: not a percent-encoded key, at "
            "least the one before\n", path, bad);
    return S3M_EXIT_USAGE;
}

/* Of the candidates, those strictly inside (lo, hi): up to want-1 of them, evenly spread,
 * into out. Frees cand. */
static void pick_inside(struct s3m_bounds *cand, const char *lo, const char *hi, size_t want,
                        struct s3m_bounds *out)
{
    size_t n = 0;
    for (size_t i = 0; i < cand->n; i++)
        if ((!lo || strcmp(cand->keys[i], lo) > 0) && (!hi || strcmp(cand->keys[i], hi) < 0))
            cand->keys[n++] = cand->keys[i];
        else
            free(cand->keys[i]);
    cand->n = n;
    out->n = s3m_keys_split(cand->keys, cand->n, want, true, &out->keys);
    s3m_bounds_free(cand);
    /* the split may cut a key short (before a control character): still inside (lo, hi)? */
    n = 0;
    for (size_t i = 0; i < out->n; i++)
        if (!lo || strcmp(out->keys[i], lo) > 0)
            out->keys[n++] = out->keys[i];
        else
            free(out->keys[i]);
    out->n = n;
}

/* ---- discovering boundaries: common prefixes under '/' ---- */

/* One delimiter listing page of prefix+sub: the names found (relative to prefix), keys and
 * common prefixes alike. Returns false when the request failed. */
static bool list_level(struct s3m_s3 *c, const char *bucket, const char *prefix, const char *sub,
                       struct s3m_bounds *out, size_t *nprefixes, char **only_prefix)
{
    struct s3m_buf p;
    s3m_buf_init(&p);
    s3m_buf_printf(&p, "%s%s", prefix, sub);
    struct s3m_s3_req *r = s3m_s3_list_objects(c, bucket, s3m_buf_str(&p), NULL, NULL, "/", 1000);
    bool ok = !s3m_s3_run(r) && r->xml && r->xml->kind == S3M_XML_LIST;
    if (!ok) {
        char line[900];
        s3m_log(S3M_LOG_INFO, "sync", "listing ranges: %s (listing in one range)",
                s3m_errinfo_str(&r->ei, line, sizeof(line)));
    } else {
        size_t plen = strlen(prefix);
        const struct s3m_xml_list *l = &r->xml->list;
        *nprefixes = l->nprefixes;
        if (l->is_truncated) {
            /* more names than one page: the first page's names would all sit at the start
             * of the keyspace and make lopsided ranges; better none (a shard plan helps) */
            s3m_log(S3M_LOG_INFO, "sync", "listing ranges: over %zu names under '%s%s': one "
                    "range (use shard-plan and --shard-boundaries)", l->nprefixes + l->nobjects,
                    prefix, sub);
            s3m_s3_req_free(r);
            s3m_buf_cleanup(&p);
            *only_prefix = NULL;
            return true;
        }
        for (size_t i = 0; i < l->nprefixes; i++)
            if (!strncmp(l->common_prefixes[i], prefix, plen))
                bounds_add(out, l->common_prefixes[i] + plen);
        for (size_t i = 0; i < l->nobjects; i++)
            if (!strncmp(l->objects[i].key, prefix, plen) && l->objects[i].key[plen])
                bounds_add(out, l->objects[i].key + plen);
        *only_prefix = l->nprefixes == 1 && l->nobjects == 0
                           ? s3m_strdup(l->common_prefixes[0] + plen) : NULL;
    }
    s3m_s3_req_free(r);
    s3m_buf_cleanup(&p);
    return ok;
}

void s3m_bounds_discover(struct s3m_s3 *c, const char *bucket, const char *prefix, const char *lo,
                         const char *hi, size_t want, struct s3m_bounds *out)
{
    memset(out, 0, sizeof(*out));
    if (want < 2)
        return;
    struct s3m_bounds cand = {0};
    char *sub = s3m_strdup("");
    /* go down while a level holds a single common prefix ("backups/" -> "backups/daily/") */
    for (int depth = 0; depth < 4; depth++) {
        size_t np = 0;
        char *only = NULL;
        s3m_bounds_free(&cand);
        if (!list_level(c, bucket, prefix, sub, &cand, &np, &only))
            break;
        free(sub);
        sub = only;
        if (!sub)
            break;
    }
    free(sub);
    pick_inside(&cand, lo, hi, want, out);
}

/* ---- ranges learned by the previous run ----
 *
 * A keyspace without '/' structure offers nothing to split at before it is listed. So each run
 * keeps a sample of the source keys and leaves the boundaries of equal parts in a cache file
 * for the next run, which then lists those ranges at once. Stale boundaries cost only speed:
 * any boundaries make a correct split. */

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

void s3m_ranges_cache_load(const char *path, const char *lo, const char *hi, size_t want,
                           struct s3m_bounds *out)
{
    memset(out, 0, sizeof(*out));
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f)
        return;
    struct s3m_bounds all;
    read_keys(f, true, &all); /* damaged: nothing; the run rewrites it */
    fclose(f);
    pick_inside(&all, lo, hi, want, out);
}

/* keys as boundary-file lines */
static void keys_text(struct s3m_buf *b, char **keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        s3m_uri_encode(b, keys[i], strlen(keys[i]), true);
        s3m_buf_addc(b, '\n');
    }
}

void s3m_ranges_cache_save(const char *path, char **keys, size_t n)
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
    keys_text(&b, keys, n);
    if (s3m_file_replace(path, b.data, b.len))
        s3m_log(S3M_LOG_INFO, "sync", "%zu key range boundaries learned for the next run (%s)",
                n, path);
    else
        s3m_log(S3M_LOG_DEBUG, "sync", "cannot keep the learned key ranges in %s: %s", path,
                strerror(errno));
    s3m_buf_cleanup(&b);
}

/* ---- shard-plan ---- */

struct plan_state {
    struct s3m_lister l;
    size_t plen;
    struct s3m_sample sample;
    bool finished;
};

static void plan_drain(struct s3m_lister *l, void *ud)
{
    struct plan_state *st = ud;
    const struct s3m_xml_object *obj;
    enum s3m_lister_state s;
    while ((s = s3m_lister_next(l, &obj)) == S3M_LIST_ENTRY)
        if (obj->key[st->plen]) /* not the folder's own marker: a sync never mirrors that */
            s3m_sample_add(&st->sample, obj->key + st->plen);
    if (s != S3M_LIST_WAIT)
        st->finished = true;
}

int s3m_cmd_shard_plan(struct s3m_opts *o, char **args, int nargs)
{
    if (nargs != 2) {
        fprintf(stderr, "s3mirror: error: usage: s3mirror shard-plan SRC COUNT [--output FILE]\n");
        return S3M_EXIT_USAGE;
    }
    uint32_t idx, count;
    char spec_buf[64];
    snprintf(spec_buf, sizeof(spec_buf), "0/%s", args[1]);
    if (s3m_shard_parse(spec_buf, &idx, &count))
        return S3M_EXIT_USAGE;
    struct s3m_errinfo ei;
    s3m_errinfo_clear(&ei);
    struct s3m_spec spec;
    if (s3m_spec_parse(args[0], &spec, &ei))
        return s3m_cli_fail("shard-plan", &ei);
    if (!*spec.bucket) {
        s3m_spec_cleanup(&spec);
        fprintf(stderr, "s3mirror: error: shard-plan needs a bucket (REMOTE:BUCKET[/PATH])\n");
        return S3M_EXIT_USAGE;
    }
    struct s3m_env env;
    struct s3m_s3 c;
    int rc = s3m_env_init(&env, o);
    if (!rc && !(rc = s3m_env_client(&env, spec.remote, &c))) {
        struct plan_state st = {.plen = strlen(spec.prefix)};
        s3m_sample_init(&st.sample, 64 * (size_t)count < 4096 ? 4096 : 64 * (size_t)count);
        s3m_lister_start(&st.l, &c, spec.bucket, spec.prefix, o->max_keys, plan_drain, &st);
        while (!st.finished)
            uv_run(&env.loop.uv, UV_RUN_ONCE);
        if (st.l.failed) {
            char ctx[1200];
            snprintf(ctx, sizeof(ctx), "remote %s: listing bucket %s", spec.remote, spec.bucket);
            rc = s3m_cli_fail(ctx, &st.l.ei);
        } else {
            FILE *out = stdout;
            if (o->output && !(out = fopen(o->output, "w"))) {
                fprintf(stderr, "s3mirror: error: --output: cannot write '%s': %s\n", o->output,
                        strerror(errno));
                rc = S3M_EXIT_USAGE;
            }
            if (!rc) {
                fprintf(out, "# s3mirror shard plan: %s, %" PRIu64 " keys, %u shards\n"
                        "# shard i holds the keys from line i (inclusive) to line i+1 "
                        "(exclusive); percent-encoded, relative to the prefix\n",
                        args[0], st.sample.seen, count);
                /* with fewer keys than shards a boundary repeats: those shards are empty */
                char **b;
                size_t nb = s3m_sample_bounds(&st.sample, count, false, &b);
                struct s3m_buf e;
                s3m_buf_init(&e);
                keys_text(&e, b, nb);
                if (e.len)
                    fwrite(e.data, 1, e.len, out);
                s3m_buf_cleanup(&e);
                for (size_t i = 0; i < nb; i++)
                    free(b[i]);
                free(b);
                if (out != stdout && fclose(out)) {
                    fprintf(stderr, "s3mirror: error: --output: writing '%s' failed\n", o->output);
                    rc = S3M_EXIT_ERROR;
                }
                if (!rc)
                    fprintf(stderr, "shard plan: %" PRIu64 " keys in %u shards%s%s\n",
                            st.sample.seen, count, o->output ? ", written to " : "",
                            o->output ? o->output : "");
            }
        }
        s3m_sample_cleanup(&st.sample);
        s3m_lister_cleanup(&st.l);
        s3m_s3_cleanup(&c);
    }
    s3m_env_cleanup(&env);
    s3m_spec_cleanup(&spec);
    return rc;
}
