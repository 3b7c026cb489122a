/* webhook.c - one blocking libcurl easy request for --metrics-push and --notify-url: sent at
 * the start or the end of a run, when no transfer runs on the loop, so a plain
 * curl_easy_perform with a hard timeout does; nothing on the loop waits for it. */
#include "s3m/webhook.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

/* what the answer says, kept up to the caller's buffer (its end cut) */
struct answer {
    char *out;
    size_t n, len;
};

static size_t keep_answer(char *data, size_t size, size_t nmemb, void *ud)
{
    struct answer *a = ud;
    size_t got = size * nmemb;
    size_t room = a->n - 1 - a->len;
    size_t take = got < room ? got : room;
    memcpy(a->out + a->len, data, take);
    a->len += take;
    a->out[a->len] = 0;
    return got;
}

/* a reply's body on one line, for a log line */
static void one_line(char *s)
{
    for (; *s; s++)
        if (*s == '\n' || *s == '\r' || *s == '\t')
            *s = ' ';
}

int s3m_webhook_send(const struct s3m_webhook_req *q, char *err, size_t n)
{
    char ebuf[CURL_ERROR_SIZE] = "";
    struct answer a = {err, n, 0};
    err[0] = 0;
    curl_global_init(CURL_GLOBAL_DEFAULT); /* reference-counted: a no-op after the loop's */
    CURL *e = curl_easy_init();
    if (!e) {
        snprintf(err, n, "cannot make a request");
        curl_global_cleanup();
        return 0;
    }
    struct curl_slist *h = curl_slist_append(NULL, "Expect:");
    char ct[200];
    if (q->content_type) {
        snprintf(ct, sizeof(ct), "Content-Type: %s", q->content_type);
        h = curl_slist_append(h, ct);
    }
    curl_easy_setopt(e, CURLOPT_URL, q->url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, q->method);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, q->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, q->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, q->timeout_ms);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "s3mirror");
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, keep_answer);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (q->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, q->ca_file);
    CURLcode cc = curl_easy_perform(e);
    long status = 0;
    if (cc == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    else
        snprintf(err, n, "%s", *ebuf ? ebuf : curl_easy_strerror(cc));
    one_line(err);
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    curl_global_cleanup();
    return (int)status;
}

bool s3m_webhook_url_ok(const char *url)
{
    CURLU *u = curl_url();
    bool ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK;
    curl_url_cleanup(u);
    return ok;
}
