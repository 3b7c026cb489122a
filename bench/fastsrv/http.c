/* http.c - HTTP/1.1 for bench/fastsrv: keep-alive connections on one libuv loop, request heads
 * parsed in place, bodies consumed in big reads (hashed or buffered as the S3 operation asks),
 * generated response bodies written straight from the pattern in 1 MiB writes (no copy). */
#include "fastsrv.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define IN_CAP (256 * 1024)  /* one read takes up to this much of a body */
#define OUT_CHUNK (1u << 20) /* one write of a generated body */
#define OUT_WRITES 4         /* writes in flight per connection */
#define BUF_MAX (16u << 20)  /* an XML request body (CompleteMultipartUpload of 10,000 parts) */

uint64_t fs_bytes_in, fs_bytes_out, fs_conns;

struct wreq {
    uv_write_t w;
    struct fs_conn *c;
    char *buf; /* malloc'd head or reply; NULL for a slice of the pattern */
};

static void process(struct fs_conn *c);
static void read_start(struct fs_conn *c);

static const char *reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 411: return "Length Required";
    case 416: return "Range Not Satisfiable";
    case 501: return "Not Implemented";
    default: return "Error";
    }
}

static void on_close(uv_handle_t *h)
{
    struct fs_conn *c = (struct fs_conn *)h;
    if (c->md)
        EVP_MD_CTX_free(c->md);
    free(c->in);
    free(c->buf);
    free(c);
}

static void conn_close(struct fs_conn *c)
{
    if (c->state == C_CLOSE)
        return;
    c->state = C_CLOSE;
    uv_close((uv_handle_t *)&c->tcp, on_close);
}

static void pump(struct fs_conn *c);

static void on_written(uv_write_t *w, int status)
{
    struct wreq *r = (struct wreq *)w;
    struct fs_conn *c = r->c;
    free(r->buf);
    free(r);
    c->writes--;
    if (status < 0) {
        conn_close(c);
        return;
    }
    if (c->state == C_SEND)
        pump(c);
}

static void send_raw(struct fs_conn *c, char *buf, const char *data, size_t len)
{
    struct wreq *r = malloc(sizeof(*r));
    r->c = c;
    r->buf = buf;
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    c->writes++;
    fs_bytes_out += len;
    if (uv_write(&r->w, (uv_stream_t *)&c->tcp, &b, 1, on_written)) {
        c->writes--;
        free(buf);
        free(r);
        conn_close(c);
    }
}

/* status line and headers (+ a copied body) in one write */
static void send_head(struct fs_conn *c, int status, const char *headers, uint64_t clen,
                      const char *body, size_t blen)
{
    size_t cap = 512 + strlen(headers) + blen;
    char *buf = malloc(cap);
    int n = snprintf(buf, cap,
                     "HTTP/1.1 %d %s\r\nContent-Length: %" PRIu64 "\r\nx-amz-request-id:"
                     " fastsrv\r\nServer: fastsrv\r\n%s\r\n",
                     status, reason(status), clen, headers);
    if (blen)
        memcpy(buf + n, body, blen);
    send_raw(c, buf, buf, (size_t)n + blen);
}

void fs_respond(struct fs_conn *c, int status, const char *headers, const char *body, size_t blen)
{
    send_head(c, status, headers, blen, body, blen);
}

void fs_respond_head(struct fs_conn *c, int status, const char *headers, uint64_t clen)
{
    send_head(c, status, headers, clen, NULL, 0);
}

void fs_error(struct fs_conn *c, int status, const char *code, const char *msg)
{
    char body[1024];
    int n = snprintf(body, sizeof(body),
                     "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>"
                     "%s</Code><Message>%s</Message><RequestId>fastsrv</RequestId></Error>",
                     code, msg);
    if (!strcmp(c->req.method, "HEAD"))
        fs_respond_head(c, status, "Content-Type: application/xml\r\n", (uint64_t)n);
    else
        fs_respond(c, status, "Content-Type: application/xml\r\n", body, (size_t)n);
}

static void pump(struct fs_conn *c)
{
    while (c->writes < OUT_WRITES && c->out_left) {
        size_t n = c->out_left < OUT_CHUNK ? (size_t)c->out_left : OUT_CHUNK;
        send_raw(c, NULL, (const char *)fs_pattern + c->out_pos, n);
        if (c->state == C_CLOSE)
            return;
        c->out_pos = (c->out_pos + n) % FS_PAT_LEN;
        c->out_left -= n;
    }
    if (!c->out_left && !c->writes) { /* the whole body is out: read the next request */
        c->state = C_HEAD;
        process(c);
    }
}

void fs_respond_content(struct fs_conn *c, int status, const char *headers, size_t voff,
                        uint64_t off, uint64_t len)
{
    send_head(c, status, headers, len, NULL, 0);
    if (!len || c->state == C_CLOSE)
        return;
    c->state = C_SEND;
    c->out_pos = (size_t)((voff + off) % FS_PAT_LEN);
    c->out_left = len;
    pump(c);
}

void fs_body_start(struct fs_conn *c, enum fs_body kind)
{
    c->body = kind;
    c->state = C_BODY;
    c->body_left = c->req.clen;
    c->body_pos = 0;
    c->cmp_ok = 1;
    if (kind == FS_BODY_HASH) {
        if (!c->md)
            c->md = EVP_MD_CTX_new();
        EVP_DigestInit_ex(c->md, EVP_md5(), NULL);
    }
    c->buflen = 0;
    if (kind == FS_BODY_BUFFER) {
        free(c->buf);
        c->buf = malloc(c->req.clen + 1);
    }
    if (c->req.expect && c->req.clen) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        send_raw(c, NULL, cont, sizeof(cont) - 1);
    }
}

static void hash_content(EVP_MD_CTX *md, size_t voff, uint64_t off, uint64_t len)
{
    size_t pos = (size_t)((voff + off) % FS_PAT_LEN);
    while (len) {
        size_t n = len < FS_PAT_LEN ? (size_t)len : FS_PAT_LEN;
        EVP_DigestUpdate(md, fs_pattern + pos, n);
        pos = (pos + n) % FS_PAT_LEN;
        len -= n;
    }
}

void fs_body_md5(struct fs_conn *c, unsigned char out[16])
{
    if (c->cmp && c->cmp_ok)
        fs_content_md5_cached(c->cmp_voff, c->cmp_base, c->req.clen, out);
    else
        EVP_DigestFinal_ex(c->md, out, NULL);
}

static void body_data(struct fs_conn *c, const char *p, size_t n)
{
    if (c->body == FS_BODY_HASH) {
        /* while the body is the generated content, its MD5 is the content's (cached): no
         * per-byte MD5; at the first difference, hash what matched so far and go on */
        if (c->cmp && c->cmp_ok &&
            !(c->cmp_ok = fs_content_equal(c->cmp_voff, c->cmp_base + c->body_pos, p, n)))
            hash_content(c->md, c->cmp_voff, c->cmp_base, c->body_pos);
        if (!c->cmp || !c->cmp_ok)
            EVP_DigestUpdate(c->md, p, n);
    } else if (c->body == FS_BODY_BUFFER) {
        memcpy(c->buf + c->buflen, p, n);
        c->buflen += n;
        c->buf[c->buflen] = 0;
    }
    c->body_pos += n;
    c->body_left -= n;
}

static void header(struct fs_req *r, const char *name, size_t nl, const char *v, size_t vl, int *cl)
{
#define IS(h) (nl == sizeof(h) - 1 && !strncasecmp(name, h, nl))
    char tmp[96];
    snprintf(tmp, sizeof(tmp), "%.*s", (int)(vl < sizeof(tmp) ? vl : sizeof(tmp) - 1), v);
    if (IS("x-amz-copy-source")) {
        const char *q = memchr(v, '?', vl); /* ?versionId=: there is one version */
        size_t l = q ? (size_t)(q - v) : vl;
        if (l && *v == '/')
            v++, l--;
        fs_urldecode(r->copy_source, sizeof(r->copy_source), v, l, 0);
    } else if (IS("x-amz-copy-source-range"))
        snprintf(r->copy_range, sizeof(r->copy_range), "%s", tmp);
    else if (IS("content-length"))
        r->clen = strtoull(tmp, NULL, 10);
    else if (IS("content-md5"))
        snprintf(r->content_md5, sizeof(r->content_md5), "%s", tmp);
    else if (IS("range"))
        snprintf(r->range, sizeof(r->range), "%s", tmp);
    else if (IS("expect"))
        r->expect = !strncasecmp(tmp, "100-continue", 12);
    else if (IS("transfer-encoding"))
        *cl = -1; /* chunked uploads: not served */
#undef IS
}

/* parses the head in c->in[0, len); 0 if malformed */
static int parse_head(struct fs_conn *c, size_t len)
{
    struct fs_req *r = &c->req;
    memset(r, 0, sizeof(*r));
    char *sp1 = memchr(c->in, ' ', len), *end = memmem(c->in, len, "\r\n", 2);
    char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1)) : NULL;
    if (!sp1 || !sp2 || sp1 - c->in >= (long)sizeof(r->method) || c->in[0] == ' ')
        return 0;
    memcpy(r->method, c->in, (size_t)(sp1 - c->in));
    char *path = sp1 + 1, *q = memchr(path, '?', (size_t)(sp2 - path));
    char *pend = q ? q : sp2;
    if (q)
        snprintf(r->query, sizeof(r->query), "%.*s", (int)(sp2 - q - 1), q + 1);
    if (*path++ != '/')
        return 0;
    char *slash = memchr(path, '/', (size_t)(pend - path));
    fs_urldecode(r->bucket, sizeof(r->bucket), path, (size_t)((slash ? slash : pend) - path), 0);
    if (slash) {
        r->has_key = 1;
        fs_urldecode(r->key, sizeof(r->key), slash + 1, (size_t)(pend - slash - 1), 0);
    }
    int cl = 0;
    for (char *l = end + 2; l < c->in + len;) {
        char *e = memmem(l, (size_t)(c->in + len - l), "\r\n", 2), *colon;
        if (!e || e == l)
            break;
        if ((colon = memchr(l, ':', (size_t)(e - l)))) {
            char *v = colon + 1;
            while (v < e && *v == ' ')
                v++;
            header(r, l, (size_t)(colon - l), v, (size_t)(e - v), &cl);
        }
        l = e + 2;
    }
    return cl == 0;
}

/* a request head is complete: hand it to the S3 layer; a body it did not ask for is skipped */
static int take_head(struct fs_conn *c)
{
    char *e = memmem(c->in, c->inlen, "\r\n\r\n", 4);
    if (!e) {
        if (c->inlen == c->incap)
            conn_close(c);
        return 0;
    }
    size_t used = (size_t)(e + 4 - c->in);
    int ok = parse_head(c, used);
    memmove(c->in, c->in + used, c->inlen - used);
    c->inlen -= used;
    if (!ok) {
        fs_error(c, 501, "NotImplemented", "malformed request or chunked body");
        conn_close(c);
        return 0;
    }
    c->body = FS_BODY_DISCARD;
    c->op = NULL;
    fs_s3_request(c);
    if (c->state == C_HEAD && c->req.clen) {
        if (c->req.expect) { /* answered before the body: the client may not send it */
            conn_close(c);
            return 0;
        }
        c->state = C_BODY;
        c->body_left = c->req.clen;
        c->op = c; /* marks "no one waits for this body" */
    }
    return 1;
}

static void process(struct fs_conn *c)
{
    while (c->state != C_CLOSE) {
        if (c->state == C_SEND) { /* no pipelining: the next request waits for this body */
            uv_read_stop((uv_stream_t *)&c->tcp);
            c->reading = 0;
            return;
        }
        if (c->state == C_HEAD) {
            if (!take_head(c))
                break;
            continue;
        }
        size_t n = c->inlen < c->body_left ? c->inlen : (size_t)c->body_left;
        if (c->body_left && !n)
            break;
        body_data(c, c->in, n);
        memmove(c->in, c->in + n, c->inlen - n);
        c->inlen -= n;
        if (!c->body_left) {
            c->state = C_HEAD;
            if (c->op != c)
                fs_s3_body_done(c);
        }
    }
    if ((c->state == C_HEAD || c->state == C_BODY) && !c->reading)
        read_start(c);
}

static void alloc_cb(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    (void)sz;
    struct fs_conn *c = (struct fs_conn *)h;
    b->base = c->in + c->inlen;
    b->len = c->incap - c->inlen;
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    (void)b;
    struct fs_conn *c = (struct fs_conn *)s;
    if (nread < 0) {
        conn_close(c);
        return;
    }
    c->inlen += (size_t)nread;
    fs_bytes_in += (uint64_t)nread;
    process(c);
}

static void read_start(struct fs_conn *c)
{
    c->reading = 1;
    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
}

static void on_conn(uv_stream_t *srv, int status)
{
    if (status < 0)
        return;
    struct fs_conn *c = calloc(1, sizeof(*c));
    fs_conns++;
    c->incap = IN_CAP;
    c->in = malloc(c->incap);
    uv_tcp_init(srv->loop, &c->tcp);
    if (uv_accept(srv, (uv_stream_t *)&c->tcp) == 0) {
        uv_tcp_nodelay(&c->tcp, 1);
        read_start(c);
    } else {
        conn_close(c);
    }
}

void fs_http_listen(uv_loop_t *loop, const char *host, int port)
{
    static uv_tcp_t srv;
    struct sockaddr_in addr;
    uv_tcp_init(loop, &srv);
    uv_ip4_addr(host, port, &addr);
    if (uv_tcp_bind(&srv, (const struct sockaddr *)&addr, 0) ||
        uv_listen((uv_stream_t *)&srv, 1024, on_conn)) {
        fprintf(stderr, "fastsrv: cannot listen on %s:%d\n", host, port);
        exit(1);
    }
}
