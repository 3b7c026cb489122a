/* summary_json.c - `--json`: each job's summary as one JSON object on stdout (instead of the
 * text line), with the same counts, and what a cut-off run (--max-duration) left; at the end,
 * what the whole run asked of each endpoint (the -v stats lines). */
#include "cmd_sync.h"
#include "s3m/util.h"

#include <inttypes.h>
#include <stdio.h>

static void counts(struct s3m_buf *b, const char *name, uint64_t n, uint64_t bytes)
{
    s3m_buf_printf(b, ",\"%s\":{\"objects\":%" PRIu64 ",\"bytes\":%" PRIu64 "}", name, n, bytes);
}

void s3m__summary_json(struct s3m_buf *b, const struct s3m_opts *o, enum s3m_sync_mode mode,
                       const char *label, const struct s3m_sync_stats *st, double secs)
{
    static const char *const cmds[] = {"sync", "copy", "check"};
    s3m_buf_printf(b, "{\"type\":\"summary\",\"command\":\"%s\",\"job\":\"",
                   (unsigned)mode < 3 ? cmds[mode] : "?");
    s3m_json_escape(b, label);
    s3m_buf_printf(b, "\",\"dry_run\":%s", o->dry_run ? "true" : "false");
    counts(b, "copy", st->copy.n, st->copy.bytes);
    counts(b, "update", st->update.n, st->update.bytes);
    counts(b, "delete", st->del.n, st->del.bytes); /* decided */
    counts(b, "deleted", st->deleted, st->deleted_bytes);
    counts(b, "skip", st->skip.n, st->skip.bytes);
    s3m_buf_printf(b, ",\"excluded\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"seconds\":%.3f",
                   st->excluded.n,
                   st->failed.n + st->delete_errors + (st->listing_failed ? 1 : 0) +
                       (st->delete_list_failed ? 1 : 0),
                   secs);
    s3m_buf_adds(b, ",\"deletions_refused\":");
    if (st->delete_refused) {
        s3m_buf_adds(b, "\"");
        s3m_json_escape(b, st->refused_why);
        s3m_buf_adds(b, "\"");
    } else {
        s3m_buf_adds(b, "null");
    }
    s3m_buf_printf(b, ",\"cut_off\":%s", st->cut_off ? "true" : "false");
    counts(b, "left", st->cut.n + (st->cut_off ? st->held.n : 0),
           st->cut.bytes + (st->cut_off ? st->held.bytes : 0));
    s3m_buf_printf(b, ",\"listing_complete\":%s}",
                   st->cut_unlisted || st->listing_failed ? "false" : "true");
}

static void endpoint(struct s3m_buf *b, const char *name, const struct s3m_s3_stats *cs)
{
    s3m_buf_printf(b, ",\"%s\":{\"requests\":{", name);
    const char *sep = "";
    for (int op = 0; op < S3M_OP__COUNT; op++)
        if (cs->requests[op]) {
            s3m_buf_printf(b, "%s\"%s\":%" PRIu64, sep, s3m_s3_op_name((enum s3m_s3_op)op),
                           cs->requests[op]);
            sep = ",";
        }
    s3m_buf_printf(b,
                   "},\"retries\":%" PRIu64 ",\"bytes_sent\":%" PRIu64
                   ",\"bytes_received\":%" PRIu64 ",\"connections\":%" PRIu64
                   ",\"tls_handshakes\":%" PRIu64 ",\"tls_resumed\":%" PRIu64 "}",
                   cs->retries, cs->bytes_sent, cs->bytes_received, cs->connections,
                   cs->tls_handshakes, cs->tls_resumed);
}

void s3m__stats_json(const struct s3m_s3_stats *ep[2])
{
    struct s3m_buf b;
    s3m_buf_init(&b);
    s3m_buf_adds(&b, "{\"type\":\"stats\"");
    endpoint(&b, "source", ep[0]);
    endpoint(&b, "destination", ep[1]);
    s3m_buf_adds(&b, "}");
    printf("%s\n", s3m_buf_str(&b));
    fflush(stdout);
    s3m_buf_cleanup(&b);
}

void s3m__create_bucket_line(bool json, const char *remote, const char *bucket)
{
    if (!json) {
        printf("create bucket %s:%s (not on destination)\n", remote, bucket);
        return;
    }
    struct s3m_buf b;
    s3m_buf_init(&b);
    s3m_buf_adds(&b, "{\"type\":\"action\",\"action\":\"create-bucket\",\"remote\":\"");
    s3m_json_escape(&b, remote);
    s3m_buf_adds(&b, "\",\"bucket\":\"");
    s3m_json_escape(&b, bucket);
    printf("%s\"}\n", s3m_buf_str(&b));
    s3m_buf_cleanup(&b);
}
