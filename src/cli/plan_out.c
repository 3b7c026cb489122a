/* plan_out.c - the --plan file of a run as `apply` reads it (format 1, s3m/planfile.h): a
 * header naming the command line that shaped it, the lines the jobs write, and a trailer with
 * the SHA-256 of every byte before it, written when the file is closed after a whole run. */
#include "cli.h"
#include "s3m/planfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef S3M_VERSION
#define S3M_VERSION "0.0.0"
#endif

/* the FILE the jobs write to: each byte goes to the file and into the hash */
struct plan_out {
    FILE *f;
    struct s3m_sha256_ctx sha;
    uint64_t lines;
    bool unfinished; /* no trailer */
};

/* the one plan of the process (a FILE of fopencookie does not give its cookie back) */
static struct plan_out *current;

static ssize_t plan_write(void *cookie, const char *buf, size_t n)
{
    struct plan_out *po = cookie;
    s3m_sha256_update(&po->sha, buf, n);
    for (const char *p = buf; (p = memchr(p, '\n', n - (size_t)(p - buf))); p++)
        po->lines++;
    return fwrite(buf, 1, n, po->f) == n ? (ssize_t)n : -1;
}

/* the trailer: a plan without it (a run killed while writing) is refused by apply */
static int plan_close(void *cookie)
{
    struct plan_out *po = cookie;
    char hex[65];
    struct s3m_buf b;
    s3m_buf_init(&b);
    s3m_sha256_final_hex(&po->sha, hex);
    if (!po->unfinished)
        s3m_planfile_trailer(&b, hex, po->lines);
    bool ok = !b.len || fwrite(b.data, 1, b.len, po->f) == b.len; /* none: a partial plan */
    ok &= fclose(po->f) == 0;
    s3m_buf_cleanup(&b);
    free(po);
    current = NULL;
    return ok ? 0 : EOF;
}

void s3m_plan_close(FILE *plan, bool complete)
{
    if (current)
        current->unfinished = !complete;
    fclose(plan);
}

FILE *s3m_plan_open(const struct s3m_opts *o, const char *cmd, const char *src, const char *dst,
                    bool dry_run)
{
    FILE *f = fopen(o->plan, "w");
    if (!f)
        return NULL;
    struct plan_out *po = s3m_calloc(1, sizeof(*po));
    po->f = f;
    current = po;
    s3m_sha256_init(&po->sha);
    cookie_io_functions_t io = {NULL, plan_write, NULL, plan_close};
    FILE *out = fopencookie(po, "w", io);
    if (!out) {
        char hex[65];
        s3m_sha256_final_hex(&po->sha, hex);
        fclose(f);
        free(po);
        current = NULL;
        return NULL;
    }
    const char **args = s3m_calloc((size_t)o->nplan_args + 3, sizeof(char *));
    args[0] = cmd;
    args[1] = src;
    args[2] = dst;
    for (int i = 0; i < o->nplan_args; i++)
        args[3 + i] = o->plan_args[i];
    char created[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    struct s3m_buf b;
    s3m_buf_init(&b);
    s3m_planfile_header(&b, S3M_VERSION, created, dry_run, args, (size_t)o->nplan_args + 3);
    fwrite(b.data, 1, b.len, out);
    s3m_buf_cleanup(&b);
    free(args);
    return out;
}
