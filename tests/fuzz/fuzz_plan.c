/* fuzz_plan.c - the plan reader of `apply` (core/planfile.c) on any input, read twice: as it is
 * (the checksum path: what an edited file gives), and with a valid trailer added (the line
 * reader). Properties besides "no crash, no hang": a plan read whole gives each of its actions
 * a pass at the gate for the objects it names, and its actions written again by our writer
 * (s3m_plan_json_seen) read back as the same keys. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3m/planfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool read_all(struct s3m_planfile *p, const char *text, size_t len)
{
    s3m_planfile_init(p);
    size_t at = 0;
    bool ok = true;
    while (ok && at < len) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - text - at) + 1 : len - at;
        ok = s3m_planfile_feed(p, text + at, n);
        at += n;
    }
    return ok && s3m_planfile_finish(p);
}

/* body (ending in '\n') with its trailer */
static char *sign(const char *body, size_t len, size_t *out_len)
{
    char hex[65];
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += body[i] == '\n';
    s3m_sha256_hex(body, len, hex);
    char *out = malloc(len + 128);
    memcpy(out, body, len);
    *out_len = len + (size_t)snprintf(out + len, 128, "{\"sha256\":\"%s\",\"lines\":%zu}\n", hex,
                                      lines);
    return out;
}

/* the plan's actions through the gate, then written again and read back */
static void check(struct s3m_planfile *p)
{
    char why[2048];
    for (size_t i = 0; i < p->n; i++) {
        const struct s3m_planfile_entry *e = &p->e[i];
        struct s3m_plan_action a = {.act = e->act, .key = e->key, .size = e->size, .why = "f"};
        a.seen = (struct s3m_plan_seen){e->src_etag, e->dst_etag,
                                        e->act == S3M_PLAN_DELETE ? e->size : e->dst_size};
        if (s3m_planfile_gate(p, e->bucket, &a, why, sizeof(why)) != S3M_GATE_PASS)
            abort();
    }
    char *body = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&body, &len);
    struct s3m_buf h;
    s3m_buf_init(&h);
    s3m_planfile_header(&h, p->version, p->created, p->dry_run, (const char *const *)p->args,
                        p->nargs);
    fwrite(h.data, 1, h.len, f);
    s3m_buf_cleanup(&h);
    for (size_t i = 0; i < p->n; i++) {
        const struct s3m_planfile_entry *e = &p->e[i];
        struct s3m_plan_line l = {e->act, e->bucket, e->key, e->size, "why"};
        struct s3m_plan_seen seen = {e->src_etag, e->dst_etag, e->dst_size};
        s3m_plan_json_seen(f, &l, &seen);
    }
    fclose(f);
    size_t n;
    char *text = sign(body, len, &n);
    struct s3m_planfile q;
    if (!read_all(&q, text, n) || q.n != p->n || q.nargs != p->nargs)
        abort();
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(q.e[i].key, p->e[i].key) || strcmp(q.e[i].bucket, p->e[i].bucket))
            abort();
    s3m_planfile_cleanup(&q);
    free(text);
    free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct s3m_planfile p;
    read_all(&p, (const char *)data, size);
    s3m_planfile_cleanup(&p);
    char *body = malloc(size + 1);
    memcpy(body, data, size);
    size_t len = size;
    if (!len || body[len - 1] != '\n')
        body[len++] = '\n';
    size_t n;
    char *text = sign(body, len, &n);
    if (read_all(&p, text, n))
        check(&p);
    s3m_planfile_cleanup(&p);
    free(text);
    free(body);
    return 0;
}
