/* main.c - bench/fastsrv: a fast S3 endpoint for the bench, so that the client, not the server,
 * is what a run measures. Command line, the synthetic buckets, the listening socket and the
 * loop; see usage() for what it serves and why regenerating content from the key is valid. */
#include "fastsrv.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fs_verbose;

static void usage(void)
{
    fputs("usage: fastsrv PORT [NKEYS] [--bucket NAME:COUNT:SIZE[:PARTSIZE]]... [-v]\n"
          "       listsrv PORT NKEYS          (the same program, listsrv's arguments)\n"
          "\n"
          "An S3 endpoint on 127.0.0.1:PORT for the bench (no authentication, path-style):\n"
          "ListObjects v1/v2 (paging, prefix, delimiter, start-after, marker), HEAD, GET (Range,\n"
          "partNumber), PUT (Content-MD5 checked, ETag = MD5), multipart uploads (create, part,\n"
          "complete with the composite ETag, abort, list parts, list uploads), DeleteObjects,\n"
          "DELETE, CopyObject, UploadPartCopy, GetBucketLocation, ListBuckets.\n"
          "GET /_fastsrv/stats: requests by kind and connections accepted (JSON).\n"
          "\n"
          "Nothing is stored. Every object's bytes are generated from its key (a window of one\n"
          "random pattern that starts where the key's hash says), so:\n"
          "  --bucket NAME:COUNT:SIZE[:PARTSIZE]  a read-only bucket of COUNT objects\n"
          "      key0000000000... of SIZE bytes; with PARTSIZE, multipart objects with the\n"
          "      real composite ETags and partNumber reads.\n"
          "  NKEYS (listsrv mode): every other bucket lists NKEYS keys with listsrv's sizes and\n"
          "      made-up ETags (listings and HEAD only: for the huge-listing scenarios).\n"
          "  any other bucket is writable: it keeps the key, size, ETag and part layout of what\n"
          "      was uploaded, and a GET regenerates the bytes from the key. That is valid\n"
          "      because the bench only ever copies generated content from a synthetic bucket:\n"
          "      an upload (or part) whose bytes differ from the key's content is refused\n"
          "      (400 InvalidArgument), so a listing, HEAD or GET of the copy shows what was\n"
          "      really sent. Deleting removes the metadata.\n"
          "  buckets named sink-*: uploads are consumed and hashed, nothing kept or compared\n"
          "      (load tests with arbitrary bodies, e.g. wrk).\n",
          stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    int port = 0;
    fs_pattern_init();
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--bucket") && i + 1 < argc) {
            struct fs_bucket *b = fs_bucket_declare(argv[++i]);
            if (!b) {
                fprintf(stderr, "fastsrv: bad bucket spec %s (parts >= 5 MiB, <= 10000)\n",
                        argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "-v")) {
            fs_verbose = 1;
        } else if (argv[i][0] >= '0' && argv[i][0] <= '9' && !port) {
            port = atoi(argv[i]);
        } else if (argv[i][0] >= '0' && argv[i][0] <= '9') {
            fs_listing_keys = strtoull(argv[i], NULL, 10);
        } else {
            usage();
        }
    }
    if (!port)
        usage();
    /* the ETags of the synthetic objects are computed before the port opens, so that the
     * first listing of a run does not pay for them */
    for (struct fs_bucket *b = fs_bucket_first(); b; b = b->next)
        fs_bucket_warm(b);
    signal(SIGPIPE, SIG_IGN);
    uv_loop_t *loop = uv_default_loop();
    fs_http_listen(loop, "127.0.0.1", port);
    return uv_run(loop, UV_RUN_DEFAULT);
}
