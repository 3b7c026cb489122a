/* s3ops.c - drives every S3 operation of the client once against a real server and prints
 * one JSON line per step; tests/e2e/test_s3ops.py checks the results with boto3.
 *
 *   s3ops ENDPOINT ACCESS_KEY SECRET_KEY BUCKET */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3m/hash.h"
#include "s3m/s3.h"

static struct s3m_s3 C;

static void emit(const char *step, struct s3m_s3_req *r, const char *extra_fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void emit(const char *step, struct s3m_s3_req *r, const char *extra_fmt, ...)
{
    printf("{\"step\":\"%s\",\"status\":%d,\"err\":\"%s\",\"code\":\"%s\"", step, r->status,
           s3m_err_name(r->ei.err), r->ei.code);
    const char *etag = s3m_s3_resp_header(r, "etag");
    if (etag)
        printf(",\"etag\":%s", etag[0] == '"' ? etag : "\"?\"");
    if (extra_fmt && *extra_fmt) {
        va_list ap;
        va_start(ap, extra_fmt);
        putchar(',');
        vprintf(extra_fmt, ap);
        va_end(ap);
    }
    printf("}\n");
    fflush(stdout);
}

static char *pattern(size_t n, unsigned seed)
{
    char *p = malloc(n);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (char)(seed >> 16);
    }
    return p;
}

struct stream {
    const char *data;
    size_t len, off;
    struct s3m_md5_ctx md5;
    size_t got;
};

static size_t read_stream(struct s3m_s3_req *r, char *buf, size_t n, void *ud)
{
    (void)r;
    struct stream *s = ud;
    size_t left = s->len - s->off;
    if (n > left)
        n = left;
    memcpy(buf, s->data + s->off, n);
    s->off += n;
    return n;
}

static size_t write_stream(struct s3m_s3_req *r, const char *d, size_t n, void *ud)
{
    (void)r;
    struct stream *s = ud;
    s3m_md5_update(&s->md5, d, n);
    s->got += n;
    return n;
}

static int done_flag;
static void on_done(struct s3m_s3_req *r, void *ud)
{
    (void)r, (void)ud;
    done_flag = 1;
}

static void run_ud(struct s3m_s3_req *r, void *ud)
{
    done_flag = 0;
    if (s3m_s3_submit(r, on_done, ud))
        return;
    while (!done_flag)
        uv_run(&C.loop->uv, UV_RUN_ONCE);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: s3ops ENDPOINT ACCESS_KEY SECRET_KEY BUCKET\n");
        return 2;
    }
    const char *b = argv[4];
    struct s3m_remote rem = {.name = "t", .type = "s3", .access_key_id = argv[2],
                             .secret_access_key = argv[3], .endpoint = argv[1],
                             .force_path_style = true, .origin = "args"};
    struct s3m_loop loop;
    struct s3m_loop_opts lo = {8, 16};
    s3m_loop_init(&loop, &lo);
    struct s3m_s3_opts so;
    s3m_s3_opts_default(&so);
    struct s3m_errinfo ei;
    if (s3m_s3_init(&C, &loop, &rem, &so, &ei))
        return 2;

    /* 1. PutObject from memory with Content-MD5 and metadata */
    size_t n1 = 1 << 20;
    char *d1 = pattern(n1, 1);
    uint8_t md5[16];
    char b64[32], hex[33];
    s3m_md5(d1, n1, md5);
    s3m_base64(md5, 16, b64);
    s3m_hex(md5, 16, hex);
    struct s3m_s3_req *r = s3m_s3_put_object(&C, b, "put/obj a+b");
    s3m_s3_req_body(r, d1, n1);
    s3m_s3_req_header(r, "Content-MD5", b64);
    s3m_s3_req_header(r, "Content-Type", "text/x-test");
    s3m_s3_req_header(r, "Cache-Control", "max-age=60");
    s3m_s3_req_header(r, "x-amz-meta-color", "blue");
    s3m_s3_run(r);
    emit("put_mem", r, "\"md5\":\"%s\"", hex);
    s3m_s3_req_free(r);

    /* 2. PutObject streamed (UNSIGNED-PAYLOAD) */
    struct stream st = {.data = pattern(100000, 2), .len = 100000};
    r = s3m_s3_put_object(&C, b, "put/stream");
    s3m_s3_req_stream(r, (int64_t)st.len, read_stream);
    run_ud(r, &st);
    s3m_md5(st.data, st.len, md5);
    s3m_hex(md5, 16, hex);
    emit("put_stream", r, "\"md5\":\"%s\"", hex);
    s3m_s3_req_free(r);

    /* 3. HeadObject */
    r = s3m_s3_head_object(&C, b, "put/obj a+b", 0);
    s3m_s3_run(r);
    const char *ct = s3m_s3_resp_header(r, "content-type"),
               *cl = s3m_s3_resp_header(r, "content-length"),
               *meta = s3m_s3_resp_header(r, "x-amz-meta-color");
    emit("head", r, "\"length\":\"%s\",\"type\":\"%s\",\"color\":\"%s\"", cl ? cl : "",
         ct ? ct : "", meta ? meta : "");
    s3m_s3_req_free(r);

    /* 4. GetObject: range, then the whole object streamed */
    struct stream g = {0};
    s3m_md5_init(&g.md5);
    r = s3m_s3_get_object(&C, b, "put/obj a+b", "bytes=10-19", 0, NULL);
    r->write_cb = write_stream;
    run_ud(r, &g);
    s3m_md5_final(&g.md5, md5);
    s3m_md5_cleanup(&g.md5);
    uint8_t want[16];
    s3m_md5(d1 + 10, 10, want);
    emit("get_range", r, "\"bytes\":%zu,\"match\":%s", g.got, memcmp(md5, want, 16) ? "false" : "true");
    s3m_s3_req_free(r);
    memset(&g, 0, sizeof(g));
    s3m_md5_init(&g.md5);
    r = s3m_s3_get_object(&C, b, "put/obj a+b", NULL, 0, NULL);
    r->write_cb = write_stream;
    run_ud(r, &g);
    s3m_md5_final(&g.md5, md5);
    s3m_md5_cleanup(&g.md5);
    s3m_md5(d1, n1, want);
    emit("get_full", r, "\"bytes\":%zu,\"match\":%s", g.got, memcmp(md5, want, 16) ? "false" : "true");
    s3m_s3_req_free(r);

    /* 5. If-Match mismatch -> 412; wrong Content-MD5 -> BadDigest */
    r = s3m_s3_get_object(&C, b, "put/obj a+b", NULL, 0, "00000000000000000000000000000000");
    s3m_s3_run(r);
    emit("get_if_match", r, NULL);
    s3m_s3_req_free(r);
    r = s3m_s3_put_object(&C, b, "put/baddigest");
    s3m_s3_req_body(r, "hello", 5);
    s3m_s3_req_header(r, "Content-MD5", b64);
    s3m_s3_run(r);
    emit("put_bad_md5", r, NULL);
    s3m_s3_req_free(r);

    /* 6. CopyObject (server side) */
    r = s3m_s3_copy_object(&C, b, "copy/obj", b, "put/obj a+b", NULL);
    s3m_s3_run(r);
    emit("copy", r, "\"copy_etag\":\"%s\"", r->xml && r->xml->single.etag ? r->xml->single.etag : "");
    s3m_s3_req_free(r);

    /* 7. Multipart: 5 MiB + 1 MiB (second part streamed), complete, HEAD ?partNumber=1 */
    r = s3m_s3_create_mpu(&C, b, "mpu/big");
    s3m_s3_run(r);
    char *upload = r->xml ? strdup(r->xml->single.upload_id) : strdup("");
    emit("mpu_create", r, "\"upload_id_len\":%zu", strlen(upload));
    s3m_s3_req_free(r);
    size_t p1 = 5 << 20, p2 = 1 << 20;
    char *d2 = pattern(p1 + p2, 3);
    struct s3m_mpu_part parts[2];
    r = s3m_s3_upload_part(&C, b, "mpu/big", upload, 1);
    s3m_s3_req_body(r, d2, p1);
    s3m_s3_run(r);
    snprintf(parts[0].etag, sizeof(parts[0].etag), "%.*s", 32, s3m_s3_resp_header(r, "etag") + 1);
    parts[0].number = 1;
    emit("mpu_part1", r, NULL);
    s3m_s3_req_free(r);
    struct stream s2 = {.data = d2 + p1, .len = p2};
    r = s3m_s3_upload_part(&C, b, "mpu/big", upload, 2);
    s3m_s3_req_stream(r, (int64_t)p2, read_stream);
    run_ud(r, &s2);
    snprintf(parts[1].etag, sizeof(parts[1].etag), "%.*s", 32, s3m_s3_resp_header(r, "etag") + 1);
    parts[1].number = 2;
    emit("mpu_part2", r, NULL);
    s3m_s3_req_free(r);
    r = s3m_s3_complete_mpu(&C, b, "mpu/big", upload, parts, 2);
    s3m_s3_run(r);
    emit("mpu_complete", r, "\"result_etag\":\"%s\"", r->xml && r->xml->single.etag ? r->xml->single.etag : "");
    s3m_s3_req_free(r);
    r = s3m_s3_head_object(&C, b, "mpu/big", 1);
    s3m_s3_run(r);
    cl = s3m_s3_resp_header(r, "content-length");
    const char *pc = s3m_s3_resp_header(r, "x-amz-mp-parts-count");
    emit("head_part1", r, "\"length\":\"%s\",\"parts\":\"%s\"", cl ? cl : "", pc ? pc : "");
    s3m_s3_req_free(r);

    /* 8. UploadPartCopy of a range of the multipart object */
    r = s3m_s3_create_mpu(&C, b, "mpu/copied");
    s3m_s3_run(r);
    char *upload2 = r->xml ? strdup(r->xml->single.upload_id) : strdup("");
    s3m_s3_req_free(r);
    r = s3m_s3_upload_part_copy(&C, b, "mpu/copied", upload2, 1, b, "mpu/big", 0, p1 - 1);
    s3m_s3_run(r);
    struct s3m_mpu_part cp = {.number = 1};
    snprintf(cp.etag, sizeof(cp.etag), "%s", r->xml && r->xml->single.etag ? r->xml->single.etag : "");
    emit("part_copy", r, "\"part_etag\":\"%s\"", cp.etag);
    s3m_s3_req_free(r);
    r = s3m_s3_complete_mpu(&C, b, "mpu/copied", upload2, &cp, 1);
    s3m_s3_run(r);
    emit("part_copy_complete", r, NULL);
    s3m_s3_req_free(r);

    /* 9. ListMultipartUploads and AbortMultipartUpload */
    r = s3m_s3_create_mpu(&C, b, "mpu/aborted");
    s3m_s3_run(r);
    char *upload3 = r->xml ? strdup(r->xml->single.upload_id) : strdup("");
    s3m_s3_req_free(r);
    r = s3m_s3_list_mpu(&C, b, "mpu/", NULL, NULL);
    s3m_s3_run(r);
    emit("list_mpu", r, "\"uploads\":%zu", r->xml ? r->xml->uploads.nuploads : 0);
    s3m_s3_req_free(r);
    r = s3m_s3_abort_mpu(&C, b, "mpu/aborted", upload3);
    s3m_s3_run(r);
    emit("abort_mpu", r, NULL);
    s3m_s3_req_free(r);
    r = s3m_s3_list_mpu(&C, b, "mpu/", NULL, NULL);
    s3m_s3_run(r);
    emit("list_mpu_after", r, "\"uploads\":%zu", r->xml ? r->xml->uploads.nuploads : 0);
    s3m_s3_req_free(r);
    r = s3m_s3_complete_mpu(&C, b, "mpu/none", "bogus-upload-id", parts, 1);
    s3m_s3_run(r);
    emit("complete_bogus", r, NULL);
    s3m_s3_req_free(r);

    /* 10. DeleteObjects (quiet), a key that never existed included; DeleteObject */
    const char *keys[] = {"put/stream", "copy/obj", "never/existed", "x&<y>\"'"};
    r = s3m_s3_delete_objects(&C, b, keys, 4);
    s3m_s3_run(r);
    emit("delete_objects", r, "\"errors\":%zu", r->xml ? r->xml->del.nerrors : 99);
    s3m_s3_req_free(r);
    r = s3m_s3_delete_object(&C, b, "todelete/single");
    s3m_s3_run(r);
    emit("delete_object", r, NULL);
    s3m_s3_req_free(r);

    /* 11. Buckets */
    char nb[128];
    snprintf(nb, sizeof(nb), "%s-new", b);
    r = s3m_s3_create_bucket(&C, nb);
    s3m_s3_run(r);
    emit("create_bucket", r, NULL);
    s3m_s3_req_free(r);
    r = s3m_s3_head_bucket(&C, nb);
    s3m_s3_run(r);
    emit("head_bucket", r, NULL);
    s3m_s3_req_free(r);
    r = s3m_s3_head_bucket(&C, "no-such-bucket-s3ops");
    s3m_s3_run(r);
    emit("head_missing_bucket", r, NULL);
    s3m_s3_req_free(r);

    printf("{\"step\":\"stats\",\"requests\":%" PRIu64 ",\"retries\":%" PRIu64 "}\n",
           C.stats.requests[S3M_OP_PUT_OBJECT], C.stats.retries);
    free(d1);
    free(d2);
    free((void *)st.data);
    free(upload);
    free(upload2);
    free(upload3);
    s3m_s3_cleanup(&C);
    s3m_loop_cleanup(&loop);
    return 0;
}
