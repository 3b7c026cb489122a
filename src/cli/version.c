/* version.c - `s3mirror version` and `--version`: our version and the libraries we run on. */
#include "cli.h"

#include <curl/curl.h>
#include <libxml/xmlversion.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <uv.h>

#ifndef S3M_VERSION
#define S3M_VERSION "0.0.0"
#endif
#ifndef S3M_GIT_REV
#define S3M_GIT_REV "unknown"
#endif

void s3m_cmd_version(void)
{
    printf("s3mirror %s (%s)\n", S3M_VERSION, S3M_GIT_REV);
    printf("libcurl %s, libuv %s, libxml2 %s, %s\n", curl_version_info(CURLVERSION_NOW)->version,
           uv_version_string(), LIBXML_DOTTED_VERSION, OpenSSL_version(OPENSSL_VERSION));
}
