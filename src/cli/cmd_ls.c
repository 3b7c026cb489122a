/* cmd_ls.c - `lsd REMOTE:` (buckets), `lsd REMOTE:BUCKET[/PATH]` (the folders in a folder) and
 * `ls REMOTE:BUCKET[/PATH]` (keys), page by page: memory stays flat whatever the bucket size. */
#include "cli.h"
#include "s3m/lister.h"
#include "s3m/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* lsd REMOTE:BUCKET[/PATH]: the folders directly inside the folder (rclone's lsd), as full
 * key prefixes, one delimiter listing page at a time */
static int lsd_folders(struct s3m_opts *o, struct s3m_s3 *c, const struct s3m_spec *spec)
{
    char *token = NULL;
    int rc = 0;
    size_t plen = strlen(spec->prefix);
    for (int pages = 0;; pages++) {
        struct s3m_s3_req *r = s3m_s3_list_objects(c, spec->bucket, spec->prefix, token, NULL, "/",
                                                   o->max_keys);
        if (s3m_s3_run(r)) {
            char ctx[1200];
            snprintf(ctx, sizeof(ctx), "remote %s: listing bucket %s", spec->remote, spec->bucket);
            rc = s3m_cli_fail(ctx, &r->ei);
            s3m_s3_req_free(r);
            break;
        }
        const struct s3m_xml_list *l = &r->xml->list;
        for (size_t i = 0; i < l->nprefixes; i++) {
            const char *d = l->common_prefixes[i];
            if (strncmp(d, spec->prefix, plen) || !d[plen])
                continue; /* not inside the folder: a server's oddity, never shown */
            if (o->json) {
                fputs("{\"name\":", stdout);
                s3m_json_fput(stdout, d);
                fputs("}\n", stdout);
            } else {
                printf("%-24s %s\n", "-", d);
            }
        }
        bool more = l->is_truncated;
        const char *next = l->next_continuation_token;
        if (more && (!next || !*next || (token && !strcmp(token, next)) || pages > 1000000)) {
            fprintf(stderr,
                    "s3mirror: error: remote %s: listing bucket %s: truncated page "
                    "without a new continuation token\n",
                    spec->remote, spec->bucket);
            rc = S3M_EXIT_ERROR;
            more = false;
        }
        free(token);
        token = more ? s3m_strdup(next) : NULL;
        s3m_s3_req_free(r);
        if (!more)
            break;
    }
    free(token);
    fflush(stdout);
    return rc;
}

int s3m_cmd_lsd(struct s3m_opts *o, char **args, int nargs)
{
    struct s3m_errinfo ei;
    s3m_errinfo_clear(&ei);
    struct s3m_spec spec;
    if (nargs != 1) {
        fprintf(stderr, "s3mirror: error: usage: s3mirror lsd REMOTE:[BUCKET[/PATH]]\n");
        return S3M_EXIT_USAGE;
    }
    if (s3m_spec_parse(args[0], &spec, &ei))
        return s3m_cli_fail("lsd", &ei);
    struct s3m_env env;
    struct s3m_s3 c;
    int rc = s3m_env_init(&env, o);
    if (!rc && *spec.bucket && !(rc = s3m_env_client(&env, spec.remote, &c))) {
        rc = lsd_folders(o, &c, &spec);
        s3m_s3_cleanup(&c);
    } else if (!rc && !(rc = s3m_env_client(&env, spec.remote, &c))) {
        struct s3m_s3_req *r = s3m_s3_list_buckets(&c);
        if (s3m_s3_run(r)) {
            char ctx[300];
            snprintf(ctx, sizeof(ctx), "remote %s: listing buckets", spec.remote);
            rc = s3m_cli_fail(ctx, &r->ei);
        } else {
            const struct s3m_xml_buckets *b = &r->xml->buckets;
            for (size_t i = 0; i < b->nbuckets; i++) {
                if (o->json) {
                    fputs("{\"name\":", stdout);
                    s3m_json_fput(stdout, b->buckets[i].name);
                    fputs(",\"created\":", stdout);
                    s3m_json_fput(stdout, b->buckets[i].creation_date);
                    fputs("}\n", stdout);
                } else {
                    printf("%-24s %s\n",
                           b->buckets[i].creation_date ? b->buckets[i].creation_date : "-",
                           b->buckets[i].name);
                }
            }
        }
        s3m_s3_req_free(r);
        s3m_s3_cleanup(&c);
    }
    s3m_env_cleanup(&env);
    s3m_spec_cleanup(&spec);
    return rc;
}

struct ls_state {
    struct s3m_lister l;
    struct s3m_opts *o;
    bool finished;
    uint64_t count, bytes;
};

static void ls_drain(struct s3m_lister *l, void *ud)
{
    struct ls_state *st = ud;
    const struct s3m_xml_object *obj;
    enum s3m_lister_state s;
    while ((s = s3m_lister_next(l, &obj)) == S3M_LIST_ENTRY) {
        st->count++;
        st->bytes += obj->size;
        if (st->o->json) {
            fputs("{\"key\":", stdout);
            s3m_json_fput(stdout, obj->key);
            printf(",\"size\":%" PRIu64 ",\"etag\":", obj->size);
            s3m_json_fput(stdout, obj->etag);
            fputs(",\"modified\":", stdout);
            s3m_json_fput(stdout, obj->last_modified);
            fputs("}\n", stdout);
        } else {
            printf("%12" PRIu64 " %-24s %-34s %s\n", obj->size,
                   obj->last_modified ? obj->last_modified : "-", obj->etag ? obj->etag : "-",
                   obj->key);
        }
    }
    if (s != S3M_LIST_WAIT)
        st->finished = true;
}

static bool ls_finished(void *ud)
{
    return ((struct ls_state *)ud)->finished;
}

int s3m_cmd_ls(struct s3m_opts *o, char **args, int nargs)
{
    struct s3m_errinfo ei;
    s3m_errinfo_clear(&ei);
    struct s3m_spec spec;
    if (nargs != 1) {
        fprintf(stderr, "s3mirror: error: usage: s3mirror ls REMOTE:BUCKET[/PATH]\n");
        return S3M_EXIT_USAGE;
    }
    if (s3m_spec_parse(args[0], &spec, &ei))
        return s3m_cli_fail("ls", &ei);
    if (!*spec.bucket) {
        s3m_spec_cleanup(&spec);
        fprintf(stderr, "s3mirror: error: ls needs a bucket (REMOTE:BUCKET); "
                        "use 'lsd REMOTE:' to list buckets\n");
        return S3M_EXIT_USAGE;
    }
    struct s3m_env env;
    struct s3m_s3 c;
    int rc = s3m_env_init(&env, o);
    if (!rc && !(rc = s3m_env_client(&env, spec.remote, &c))) {
        struct ls_state st = {.o = o};
        s3m_lister_start(&st.l, &c, spec.bucket, spec.prefix, o->max_keys, ls_drain, &st);
        s3m_loop_run_until(&env.loop, ls_finished, &st);
        fflush(stdout);
        if (st.l.failed) {
            char ctx[1200];
            snprintf(ctx, sizeof(ctx), "remote %s: listing bucket %s", spec.remote, spec.bucket);
            rc = s3m_cli_fail(ctx, &st.l.ei);
        }
        s3m_lister_cleanup(&st.l);
        s3m_s3_cleanup(&c);
    }
    s3m_env_cleanup(&env);
    s3m_spec_cleanup(&spec);
    return rc;
}
