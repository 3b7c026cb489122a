/* sync_opts.c - the options of `sync`, `copy` and `check` turned into a filter and the job's
 * options, each checked: a malformed size, duration, glob or --max-delete is a usage error, never
 * a quiet default; and what the places are: the job's name, whether copies can be server-side,
 * a destination bucket to create, whether --backup-dir is on the destination's remote and clear
 * of both sides. */
#include "cmd_sync.h"
#include "s3m/log.h"
#include "s3m/membudget.h"
#include "s3m/xfer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int s3m__usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "s3mirror: error: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return S3M_EXIT_USAGE;
}

/* --max-delete and --max-change N|P%: N decimal digits (at most 10^15), P decimal digits with
 * an optional decimal fraction, at most 100. Nothing strtod would take besides (nan, inf, hex,
 * exponents, signs, spaces): a cap that quietly meant no cap would be worse than an error. */
static bool parse_cap(const char *s, int64_t *count, double *percent)
{
    size_t len = strlen(s);
    bool pct = len && s[len - 1] == '%';
    size_t n = pct ? len - 1 : len, i = 0, int_digits, frac_digits = 0;
    uint64_t v = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        if (i >= 16)
            return false; /* more than 10^15 */
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    int_digits = i;
    if (!int_digits)
        return false;
    if (pct && i < n && s[i] == '.') {
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            frac_digits++;
        if (!frac_digits || frac_digits > 6)
            return false;
    }
    if (i != n)
        return false;
    if (!pct) {
        if (v > 1000000000000000ull)
            return false;
        *count = (int64_t)v;
        return true;
    }
    char *end;
    double d = strtod(s, &end); /* only digits and one '.' are left: a plain decimal */
    if (end != s + n || !(d >= 0 && d <= 100))
        return false;
    *percent = d;
    return true;
}

/* options -> filter and job options; returns an exit code or 0 */
/* --include / --exclude, the sizes and ages: the run's filter */
/* --compare MODE[,tags], or tags alone (etag,tags): the mode, and whether tags are compared */
static bool compare_parse(const char *s, enum s3m_compare *mode, bool *tags)
{
    char base[32];
    const char *comma = strchr(s, ',');
    *tags = comma || !strcmp(s, "tags");
    if (!strcmp(s, "tags"))
        s = "etag";
    if (comma && (strcmp(comma, ",tags") || (size_t)(comma - s) >= sizeof(base)))
        return false;
    if (comma)
        snprintf(base, sizeof(base), "%.*s", (int)(comma - s), s), s = base;
    return s3m_compare_parse(s, mode);
}

static int filter_build(const struct s3m_opts *o, struct s3m_filter *f)
{
    for (int i = 0; i < o->nrules; i++)
        if (!s3m_filter_add(f, o->rules[i].include, o->rules[i].glob))
            return s3m__usage_error("malformed glob '%s'", o->rules[i].glob);
    if (o->min_size && !s3m_parse_size(o->min_size, &f->min_size))
        return s3m__usage_error("--min-size: '%s' is not a size", o->min_size);
    if (o->max_size && !s3m_parse_size(o->max_size, &f->max_size))
        return s3m__usage_error("--max-size: '%s' is not a size", o->max_size);
    if (o->min_age && !s3m_parse_duration(o->min_age, &f->min_age))
        return s3m__usage_error("--min-age: '%s' is not a duration", o->min_age);
    if (o->max_age && !s3m_parse_duration(o->max_age, &f->max_age))
        return s3m__usage_error("--max-age: '%s' is not a duration", o->max_age);
    return 0;
}

/* --buffer-size */
static int buffer_parse(const struct s3m_opts *o, struct s3m_sync_opts *so)
{
    uint64_t sz;
    if (o->multipart_chunk_buffer) {
        if (!s3m_parse_size(o->multipart_chunk_buffer, &sz) || sz < 65536 || sz > (1u << 30))
            return s3m__usage_error("--buffer-size: '%s' is not a size from 64k to 1G",
                                    o->multipart_chunk_buffer);
        so->buffer_size = (size_t)sz;
    }
    return 0;
}

void s3m__buffer_warn(const struct s3m_opts *o, const struct s3m_sync_opts *so)
{
    size_t buffer_size = so->buffer_size ? so->buffer_size : S3M_XFER_BUFFER_SIZE;
    uint64_t limit = s3m_membudget_limit();
    uint64_t charge = s3m_xfer_stream_charge(buffer_size, UINT64_MAX);
    /* a check and a server-side copy stream nothing */
    if (so->mode == S3M_MODE_CHECK || so->server_side || !limit || charge * 2 <= limit)
        return;
    char c[32], l[32];
    s3m_log(S3M_LOG_WARN, "buffer",
            "--buffer-size %s: a stream of a large object or part holds %s (with curl's buffers), "
            "and --max-buffer-memory %s %s",
            o->multipart_chunk_buffer ? o->multipart_chunk_buffer : "1M (the default)",
            s3m_cli_human(charge, c, sizeof(c)),
            o->max_buffer_memory ? o->max_buffer_memory : s3m_cli_human(limit, l, sizeof(l)),
            charge > limit ? "is less than that: each runs alone, one after another"
                           : "holds one such stream at a time: large copies run one after another");
}

int s3m__sync_opts_build(struct s3m_opts *o, enum s3m_sync_mode mode, struct s3m_filter *f,
                         struct s3m_sync_opts *so)
{
    memset(so, 0, sizeof(*so));
    s3m_filter_init(f, (int64_t)time(NULL));
    so->mode = mode;
    if (o->multipart_threshold &&
        (!s3m_parse_size(o->multipart_threshold, &so->multipart_threshold) ||
         so->multipart_threshold < 5 * 1024 * 1024 || so->multipart_threshold > 5ull << 30))
        return s3m__usage_error("--multipart-threshold: '%s' is not a size from 5M to 5G",
                                o->multipart_threshold);
    if (o->multipart_chunk_size &&
        (!s3m_parse_size(o->multipart_chunk_size, &so->chunk_size) ||
         so->chunk_size < 5 * 1024 * 1024 || so->chunk_size > 5ull << 30))
        return s3m__usage_error("--multipart-chunk-size: '%s' is not a size from 5M to 5G",
                                o->multipart_chunk_size);
    so->dry_run = o->dry_run;
    so->transfers = s3m_cli_transfers(o);
    so->max_keys = o->max_keys;
    so->report = stdout;
    so->report_json = o->json;
    so->part_concurrency = (int)o->multipart_concurrency;
    so->attempts = (int)o->retries;
    so->allow_empty_source = o->allow_empty_source;
    so->immutable = o->immutable;
    so->no_resume = o->no_resume;
    so->max_delete = -1;
    so->max_delete_pct = -1;
    so->max_change = -1;
    so->max_change_pct = -1;
    if (o->compare && !compare_parse(o->compare, &so->compare, &so->compare_tags))
        return s3m__usage_error(
            "--compare: '%s' is not etag, size, size-mtime or checksum, optionally followed by "
            "',tags' (or tags alone)",
            o->compare);
    so->no_tags = o->no_tags;
    if (so->no_tags && so->compare_tags)
        return s3m__usage_error("--compare %s: tags are not compared with --no-tags", o->compare);
    if (buffer_parse(o, so))
        return S3M_EXIT_USAGE;
    int rc = filter_build(o, f);
    if (rc)
        return rc;
    if (o->max_delete && !parse_cap(o->max_delete, &so->max_delete, &so->max_delete_pct))
        return s3m__usage_error(
            "--max-delete: '%s' is not a count (decimal digits) nor a percentage "
            "from 0 to 100 (e.g. 12.5%%)",
            o->max_delete);
    if (o->max_change && !parse_cap(o->max_change, &so->max_change, &so->max_change_pct))
        return s3m__usage_error(
            "--max-change: '%s' is not a count (decimal digits) nor a percentage "
            "from 0 to 100 (e.g. 12.5%%)",
            o->max_change);
    so->filter = f;
    so->gate = o->gate; /* apply */
    return 0;
}

/* REMOTE:BUCKET[/FOLDER] as the job is known to its lock and metrics: the parsed spec, so that
 * "b/x", "b/x/" and "remote:/b/x" name one job (no trailing '/', as most people write it). */
void s3m__job_name(const struct s3m_spec *sp, char *out, size_t n)
{
    const char *p = sp->prefix ? sp->prefix : "";
    size_t lp = strlen(p);
    if (lp && p[lp - 1] == '/')
        lp--;
    snprintf(out, n, "%s:%s%s%.*s", sp->remote ? sp->remote : "", sp->bucket ? sp->bucket : "",
             lp ? "/" : "", (int)lp, p);
}

bool s3m__same_place(struct s3m_s3 *a, struct s3m_s3 *b)
{
    struct s3m_endpoint ea, eb;
    struct s3m_errinfo ei;
    if (s3m_endpoint_resolve(a->remote, NULL, &ea, &ei))
        return false;
    if (s3m_endpoint_resolve(b->remote, NULL, &eb, &ei)) {
        s3m_endpoint_cleanup(&ea);
        return false;
    }
    bool same = !strcmp(ea.base_url, eb.base_url);
    s3m_endpoint_cleanup(&ea);
    s3m_endpoint_cleanup(&eb);
    return same;
}

/* One bucket: sync and copy create a destination bucket that does not exist, as rclone does
 * (with the remote's location_constraint), once the source bucket is known to exist - a
 * missing source stays an error, reported by its listing, and nothing is created for it. A
 * dry run says it would; check creates nothing. Either compares against an empty listing. */
int s3m__ensure_dst_bucket(struct s3m_s3 *src, struct s3m_s3 *dst, const struct s3m_spec *s,
                           const struct s3m_spec *d, struct s3m_sync_opts *so)
{
    struct s3m_s3_req *h = s3m_s3_head_bucket(dst, d->bucket);
    bool missing = s3m_s3_run(h) && h->ei.http_status == 404;
    s3m_s3_req_free(h);
    if (!missing) /* there, or another error that the listing will report */
        return 0;
    h = s3m_s3_head_bucket(src, s->bucket);
    bool src_there = !s3m_s3_run(h);
    s3m_s3_req_free(h);
    if (!src_there)
        return 0;
    if (so->dry_run || so->mode == S3M_MODE_CHECK) {
        if (so->mode != S3M_MODE_CHECK)
            s3m__create_bucket_line(so->report_json, d->remote, d->bucket);
        so->dst_absent = true;
        return 0;
    }
    int rc = 0;
    struct s3m_s3_req *cb = s3m_s3_create_bucket(dst, d->bucket);
    if (s3m_s3_run(cb)) {
        char ctx[300];
        snprintf(ctx, sizeof(ctx), "remote %s: creating bucket %s", d->remote, d->bucket);
        rc = s3m_cli_fail(ctx, &cb->ei);
    } else {
        s3m_log(S3M_LOG_NOTICE, "sync", "created bucket %s:%s", d->remote, d->bucket);
    }
    s3m_s3_req_free(cb);
    return rc;
}

/* ---- --backup-dir, --suffix (rclone's checks) ---- */

int s3m__backup_parse(const struct s3m_opts *o, const struct s3m_spec *d, struct s3m_spec *bk,
                      struct s3m_backup_cfg *cfg)
{
    struct s3m_errinfo ei;
    if (!o->backup_dir) /* rclone would rename in place: the next sync would delete them */
        return o->suffix ? s3m__usage_error("%s", "--suffix needs --backup-dir (s3mirror "
                                                  "never renames inside the destination)")
                         : 0;
    s3m_errinfo_clear(&ei);
    if (s3m_spec_parse(o->backup_dir, bk, &ei))
        return s3m_cli_fail("--backup-dir", &ei);
    if (!*bk->bucket)
        return s3m__usage_error("--backup-dir: '%s' names no bucket (REMOTE:BUCKET/PATH)",
                                o->backup_dir);
    if (!*d->bucket) /* every bucket of the remote: any backup bucket is inside DST */
        return s3m__usage_error("%s", "--backup-dir: destination and parameter to --backup-dir "
                                      "mustn't overlap (DST is a whole remote)");
    *cfg = (struct s3m_backup_cfg){bk->bucket, bk->prefix, o->suffix ? o->suffix : "",
                                   o->suffix_keep_extension};
    return 0;
}

/* rel (a folder, "" or ending in '/') is left alone by the globs: an exclude rule of all of it
 * ("rel**" or "/rel**") decides for every key under it before any include rule could */
static bool folder_excluded(const struct s3m_filter *f, const char *rel)
{
    for (size_t i = 0; f && i < f->nrules; i++) {
        const char *g = f->rules[i].glob + (f->rules[i].glob[0] == '/');
        size_t n = strlen(rel);
        if (!f->rules[i].include && !strncmp(g, rel, n) && !strcmp(g + n, "**"))
            return true;
        if (f->rules[i].include) /* it might take a key under rel back in */
            return false;
    }
    return false;
}

/* one place inside (or equal to) the other: a usage error, unless the backup is a folder
 * of the synced place that the filters leave alone */
static int overlap(const char *what, const struct s3m_spec *side, const struct s3m_spec *bk,
                   const struct s3m_filter *f)
{
    size_t ls = strlen(side->prefix), lb = strlen(bk->prefix);
    if (strcmp(side->bucket, bk->bucket) || strncmp(side->prefix, bk->prefix, ls < lb ? ls : lb))
        return 0;
    if (lb > ls && folder_excluded(f, bk->prefix + ls))
        return 0;
    return s3m__usage_error("--backup-dir: %s and parameter to --backup-dir mustn't overlap "
                            "(exclude it with --exclude 'PATH/**' when it is inside)",
                            what);
}

static bool remote_place(const struct s3m_remote *r, struct s3m_endpoint *e)
{
    struct s3m_errinfo ei;
    return r && !s3m_endpoint_resolve(r, NULL, e, &ei);
}

/* the backup's remote is the destination's: the same endpoint and credentials */
static bool same_remote(const struct s3m_config *cfg, const char *a, const char *b)
{
    const struct s3m_remote *ra = s3m_config_find(cfg, a), *rb = s3m_config_find(cfg, b);
    struct s3m_endpoint ea, eb;
    if (!strcmp(a, b))
        return true;
    if (!remote_place(ra, &ea))
        return false;
    bool same = false;
    if (remote_place(rb, &eb)) {
        same = !strcmp(ea.base_url, eb.base_url) &&
               !strcmp(ra->access_key_id ? ra->access_key_id : "",
                       rb->access_key_id ? rb->access_key_id : "") &&
               !strcmp(ra->secret_access_key ? ra->secret_access_key : "",
                       rb->secret_access_key ? rb->secret_access_key : "");
        s3m_endpoint_cleanup(&eb);
    }
    s3m_endpoint_cleanup(&ea);
    return same;
}

/* the backup's bucket is there (a dry run would not find out otherwise) */
static int backup_bucket(struct s3m_s3 *dst, const struct s3m_spec *bk)
{
    struct s3m_s3_req *h = s3m_s3_head_bucket(dst, bk->bucket);
    int rc = 0;
    if (s3m_s3_run(h)) {
        char ctx[300];
        snprintf(ctx, sizeof(ctx), "--backup-dir: bucket %s:%s", bk->remote, bk->bucket);
        rc = s3m_cli_fail(ctx, &h->ei);
    }
    s3m_s3_req_free(h);
    return rc;
}

int s3m__backup_check(const struct s3m_config *cfg, struct s3m_s3 *dst, const struct s3m_spec *s,
                      const struct s3m_spec *d, bool src_same_place, const struct s3m_spec *bk,
                      const struct s3m_filter *f)
{
    if (!same_remote(cfg, bk->remote, d->remote))
        return s3m__usage_error("--backup-dir: '%s' has to be on the same remote as the "
                                "destination (the same endpoint and credentials)",
                                bk->remote);
    int rc = overlap("destination", d, bk, f);
    if (!rc && src_same_place)
        rc = overlap("source", s, bk, f);
    return rc ? rc : backup_bucket(dst, bk);
}
