/* shard.c - --shard INDEX/COUNT across processes, --shard-boundaries (a plan's file) and
 * `s3mirror shard-plan`, which writes the boundaries. Where a job's own ranges come from is
 * engine/ranges.c.
 *
 * A boundary file holds COUNT-1 keys (relative to the source prefix), percent-encoded one per
 * line, '#' lines being comments: shard i is the keys k with b[i-1] <= k < b[i]. Without a
 * file, --shard splits by a hash of the key, which needs no agreement but lists everything in
 * every process. */
#include "cli.h"
#include "s3m/lister.h"
#include "s3m/ranges.h"
#include "s3m/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int s3m_bounds_read(const char *path, struct s3m_bounds *b)
{
    memset(b, 0, sizeof(*b));
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "s3mirror: error: --shard-boundaries: cannot read '%s': %s\n", path,
                strerror(errno));
        return S3M_EXIT_USAGE;
    }
    int bad = s3m_bounds_parse(f, false, b);
    fclose(f);
    if (!bad)
        return 0;
    fprintf(stderr,
            "s3mirror: error: --shard-boundaries: %s:%d: not a percent-encoded key, at "
            "least the one before\n",
            path, bad);
    return S3M_EXIT_USAGE;
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

static bool plan_finished(void *ud)
{
    return ((struct plan_state *)ud)->finished;
}

/* The plan's text: a header, then count-1 boundaries (with fewer keys than shards a boundary
 * repeats: those shards are empty). Returns an exit code. */
static int plan_write(const struct s3m_opts *o, const char *src, struct s3m_sample *sample,
                      uint32_t count)
{
    FILE *out = stdout;
    if (o->output && !(out = fopen(o->output, "w"))) {
        fprintf(stderr, "s3mirror: error: --output: cannot write '%s': %s\n", o->output,
                strerror(errno));
        return S3M_EXIT_USAGE;
    }
    fprintf(out,
            "# s3mirror shard plan: %s, %" PRIu64 " keys, %u shards\n"
            "# shard i holds the keys from line i (inclusive) to line i+1 "
            "(exclusive); percent-encoded, relative to the prefix\n",
            src, sample->seen, count);
    char **b;
    size_t nb = s3m_sample_bounds(sample, count, false, &b);
    struct s3m_buf e;
    s3m_buf_init(&e);
    s3m_bounds_text(&e, b, nb);
    if (e.len)
        fwrite(e.data, 1, e.len, out);
    s3m_buf_cleanup(&e);
    for (size_t i = 0; i < nb; i++)
        free(b[i]);
    free(b);
    if (out != stdout && fclose(out)) {
        fprintf(stderr, "s3mirror: error: --output: writing '%s' failed\n", o->output);
        return S3M_EXIT_ERROR;
    }
    fprintf(stderr, "shard plan: %" PRIu64 " keys in %u shards%s%s\n", sample->seen, count,
            o->output ? ", written to " : "", o->output ? o->output : "");
    return 0;
}

/* list the whole source once, sampling its keys, then write the plan */
static int plan_run(struct s3m_opts *o, struct s3m_env *env, const struct s3m_spec *spec,
                    const char *src, uint32_t count)
{
    struct s3m_s3 c;
    int rc = s3m_env_client(env, spec->remote, &c);
    if (rc)
        return rc;
    struct plan_state st = {.plen = strlen(spec->prefix)};
    s3m_sample_init(&st.sample, 64 * (size_t)count < 4096 ? 4096 : 64 * (size_t)count);
    s3m_lister_start(&st.l, &c, spec->bucket, spec->prefix, o->max_keys, plan_drain, &st);
    s3m_loop_run_until(&env->loop, plan_finished, &st);
    if (st.l.failed) {
        char ctx[1200];
        snprintf(ctx, sizeof(ctx), "remote %s: listing bucket %s", spec->remote, spec->bucket);
        rc = s3m_cli_fail(ctx, &st.l.ei);
    } else {
        rc = plan_write(o, src, &st.sample, count);
    }
    s3m_sample_cleanup(&st.sample);
    s3m_lister_cleanup(&st.l);
    s3m_s3_cleanup(&c);
    return rc;
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
    int rc = s3m_env_init(&env, o);
    if (!rc)
        rc = plan_run(o, &env, &spec, args[0], count);
    s3m_env_cleanup(&env);
    s3m_spec_cleanup(&spec);
    return rc;
}
