/* listsrv.c - a synthetic S3 listing endpoint for the bench's huge-listing scenario.
 *
 * Answers ListObjectsV2 for buckets of N generated keys (deterministic keys, sizes and ETags,
 * real paging with continuation tokens and start-after) and HEAD for any of those objects, with
 * nothing stored: a 10-million-key bucket costs no disk and no memory. One libuv loop, HTTP/1.1
 * keep-alive, no authentication (signatures are not checked).
 *
 *   listsrv PORT NKEYS      (listens on 127.0.0.1:PORT) */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static uint64_t nkeys;

struct conn {
    uv_tcp_t tcp;
    char in[16384];
    size_t inlen;
};

struct wreq {
    uv_write_t w;
    char *buf;
};

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t obj_size(uint64_t i) { return 1024 + mix(i) % 4096; }

static void etag(uint64_t i, char out[33])
{
    snprintf(out, 33, "%016" PRIx64 "%016" PRIx64, mix(i * 2 + 1), mix(i * 2 + 2));
}

static void on_written(uv_write_t *w, int status)
{
    (void)status;
    struct wreq *r = (struct wreq *)w;
    free(r->buf);
    free(r);
}

static void on_close(uv_handle_t *h) { free(h); }

static void send_buf(struct conn *c, char *buf, size_t len)
{
    struct wreq *r = malloc(sizeof(*r));
    r->buf = buf;
    uv_buf_t b = uv_buf_init(buf, (unsigned)len);
    if (uv_write(&r->w, (uv_stream_t *)&c->tcp, &b, 1, on_written)) {
        free(buf);
        free(r);
    }
}

static void respond(struct conn *c, int status, const char *ctype, const char *extra,
                    const char *body, size_t blen, int head)
{
    char *buf = malloc(blen + 1024);
    int n = snprintf(buf, 1024,
                     "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nContent-Type: %s\r\n"
                     "x-amz-request-id: listsrv\r\n%s\r\n",
                     status, status == 200 ? "OK" : "Not Found", blen, ctype, extra);
    if (!head && blen)
        memcpy(buf + n, body, blen);
    send_buf(c, buf, (size_t)n + (head ? 0 : blen));
}

static const char *qget(const char *q, const char *name, char *out, size_t n)
{
    size_t l = strlen(name);
    for (const char *p = q; p && *p;) {
        if (!strncmp(p, name, l) && p[l] == '=') {
            const char *v = p + l + 1, *e = strchr(v, '&');
            size_t vl = e ? (size_t)(e - v) : strlen(v);
            snprintf(out, n, "%.*s", (int)(vl < n ? vl : n - 1), v);
            return out;
        }
        p = strchr(p, '&');
        if (p)
            p++;
    }
    return NULL;
}

/* the index of the first key greater than s (keys are "key%010u", in order) */
static uint64_t first_after(const char *s)
{
    uint64_t lo = 0, hi = nkeys;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        char k[32];
        snprintf(k, sizeof(k), "key%010" PRIu64, mid);
        if (strcmp(k, s) > 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static void list(struct conn *c, const char *bucket, const char *q)
{
    char tok[64], sa[256], mk[16], pfx[64];
    uint64_t start = 0, max = 1000;
    int v2 = strstr(q, "list-type=2") != NULL;
    if (qget(q, "continuation-token", tok, sizeof(tok)))
        start = strtoull(tok, NULL, 10);
    else if (qget(q, "start-after", sa, sizeof(sa)) || qget(q, "marker", sa, sizeof(sa)))
        start = first_after(sa); /* v2 start-after, v1 marker: any string, not only keys */
    if (qget(q, "max-keys", mk, sizeof(mk)) && atoi(mk) > 0 && atoi(mk) < 1000)
        max = (uint64_t)atoi(mk);
    if (qget(q, "prefix", pfx, sizeof(pfx)) && *pfx)
        start = nkeys; /* only the empty prefix has keys */
    uint64_t end = start + max < nkeys ? start + max : nkeys;
    size_t cap = 512 + (end - start) * 256;
    char *b = malloc(cap);
    size_t n = (size_t)snprintf(b, cap,
                                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult "
                                "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>%s</Name>"
                                "<Prefix></Prefix><KeyCount>%" PRIu64 "</KeyCount><MaxKeys>%" PRIu64
                                "</MaxKeys><IsTruncated>%s</IsTruncated>",
                                bucket, end - start, max, end < nkeys ? "true" : "false");
    if (strstr(q, "encoding-type=url"))
        n += (size_t)snprintf(b + n, cap - n, "<EncodingType>url</EncodingType>");
    if (end < nkeys && v2)
        n += (size_t)snprintf(b + n, cap - n, "<NextContinuationToken>%" PRIu64
                              "</NextContinuationToken>", end);
    else if (end < nkeys && end > start) /* v1 */
        n += (size_t)snprintf(b + n, cap - n, "<NextMarker>key%010" PRIu64 "</NextMarker>",
                              end - 1);
    for (uint64_t i = start; i < end; i++) {
        char e[33];
        etag(i, e);
        n += (size_t)snprintf(b + n, cap - n,
                              "<Contents><Key>key%010" PRIu64 "</Key><LastModified>2026-01-01T00:00"
                              ":00.000Z</LastModified><ETag>&quot;%s&quot;</ETag><Size>%" PRIu64
                              "</Size><StorageClass>STANDARD</StorageClass></Contents>",
                              i, e, obj_size(i));
    }
    n += (size_t)snprintf(b + n, cap - n, "</ListBucketResult>");
    respond(c, 200, "application/xml", "", b, n, 0);
    free(b);
}

static void handle(struct conn *c, const char *method, char *target)
{
    int head = !strcmp(method, "HEAD");
    char *q = strchr(target, '?');
    if (q)
        *q++ = 0;
    char *bucket = target + 1, *key = strchr(bucket, '/');
    if (key)
        *key++ = 0;
    if (!strcmp(method, "GET") && *bucket && (!key || !*key)) {
        list(c, bucket, q ? q : "");
        return;
    }
    if (key && *key && !strncmp(key, "key", 3)) {
        uint64_t i = strtoull(key + 3, NULL, 10);
        if (i < nkeys) {
            char extra[256], e[33];
            etag(i, e);
            snprintf(extra, sizeof(extra), "ETag: \"%s\"\r\nLast-Modified: Thu, 01 Jan 2026 "
                     "00:00:00 GMT\r\n", e);
            /* HEAD only: bodies are not served */
            char *hdr = malloc(512);
            int n = snprintf(hdr, 512, "HTTP/1.1 200 OK\r\nContent-Length: %" PRIu64 "\r\n"
                             "Content-Type: application/octet-stream\r\n%s\r\n", obj_size(i), extra);
            if (head) {
                send_buf(c, hdr, (size_t)n);
                return;
            }
            free(hdr);
        }
    }
    if (!key || !*key) { /* HEAD bucket, GetBucketLocation and friends */
        const char *ok = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><LocationConstraint/>";
        respond(c, 200, "application/xml", "", ok, strlen(ok), head);
        return;
    }
    const char *nf = "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>synthetic"
                     "</Message></Error>";
    respond(c, 404, "application/xml", "", nf, strlen(nf), head);
}

static void alloc_cb(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    (void)sz;
    struct conn *c = (struct conn *)h;
    b->base = c->in + c->inlen;
    b->len = sizeof(c->in) - c->inlen - 1;
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    (void)b;
    struct conn *c = (struct conn *)s;
    if (nread < 0 || (nread == 0 && c->inlen >= sizeof(c->in) - 1)) {
        uv_close((uv_handle_t *)s, on_close);
        return;
    }
    c->inlen += (size_t)nread;
    c->in[c->inlen] = 0;
    char *end;
    while ((end = strstr(c->in, "\r\n\r\n"))) {
        size_t used = (size_t)(end + 4 - c->in);
        char method[16], target[4096];
        if (sscanf(c->in, "%15s %4095s", method, target) == 2)
            handle(c, method, target);
        memmove(c->in, c->in + used, c->inlen - used + 1);
        c->inlen -= used;
    }
}

static void on_conn(uv_stream_t *srv, int status)
{
    if (status < 0)
        return;
    struct conn *c = calloc(1, sizeof(*c));
    uv_tcp_init(srv->loop, &c->tcp);
    if (uv_accept(srv, (uv_stream_t *)&c->tcp) == 0) {
        uv_tcp_nodelay(&c->tcp, 1);
        uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
    } else {
        uv_close((uv_handle_t *)&c->tcp, on_close);
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: listsrv PORT NKEYS\n");
        return 2;
    }
    nkeys = strtoull(argv[2], NULL, 10);
    uv_loop_t *loop = uv_default_loop();
    uv_tcp_t srv;
    struct sockaddr_in addr;
    uv_tcp_init(loop, &srv);
    uv_ip4_addr("127.0.0.1", atoi(argv[1]), &addr);
    if (uv_tcp_bind(&srv, (const struct sockaddr *)&addr, 0) ||
        uv_listen((uv_stream_t *)&srv, 512, on_conn)) {
        fprintf(stderr, "listsrv: cannot listen on 127.0.0.1:%s\n", argv[1]);
        return 1;
    }
    return uv_run(loop, UV_RUN_DEFAULT);
}
