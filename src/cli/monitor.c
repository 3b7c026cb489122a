/* monitor.c - what a run tells the systems that watch it from outside the pod it runs in:
 * --metrics-push (the run's series, the very text --metrics-file writes, to a Prometheus
 * Pushgateway under one group per job) and --notify-url (healthchecks-style pings: URL/start,
 * URL, URL/fail). Neither ever changes the exit code: a failure is a warning. */
#include "cli.h"
#include "s3m/hash.h"
#include "s3m/log.h"
#include "s3m/util.h"
#include "s3m/webhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MONITOR_TIMEOUT_MS 10000 /* each push or ping: the run waits no longer */
#define NOTIFY_BODY_MAX 16000    /* summary lines sent with the end ping, at most */

/* "http://HOST[:PORT]" of url, the rest (userinfo, path: a check's UUID, a gateway's
 * credentials) left out of log lines */
static const char *url_host(const char *url, char *out, size_t n)
{
    const char *sep = strstr(url, "://");
    const char *p = sep ? sep + 3 : url;
    int scheme = (int)(p - url);
    const char *end = p + strcspn(p, "/?#");
    for (const char *c = p; c < end; c++)
        if (*c == '@')
            p = c + 1;
    snprintf(out, n, "%.*s%.*s", scheme, url, (int)(end - p), p);
    return out;
}

int s3m_monitor_check(const struct s3m_opts *o)
{
    const char *urls[] = {o->metrics_push, o->notify_url};
    const char *names[] = {"--metrics-push", "--notify-url"};
    for (int i = 0; i < 2; i++) {
        const char *u = urls[i];
        if (!u)
            continue;
        const char *host = s3m_str_starts(u, "https://") ? u + 8
                         : s3m_str_starts(u, "http://")  ? u + 7
                                                         : NULL;
        if (!host || !*host || *host == '/' || strpbrk(u, " \t\r\n?#") || !s3m_webhook_url_ok(u)) {
            /* the URL itself is not shown: its userinfo or path may be a secret */
            fprintf(stderr,
                    "s3mirror: error: %s: the URL given is not an http:// or https:// URL "
                    "(without a query: s3mirror appends to its path)\n",
                    names[i]);
            return S3M_EXIT_USAGE;
        }
    }
    return 0;
}

/* "/NAME@base64/VALUE": the Pushgateway's form for a value that may hold '/' (RFC 4648's
 * URL-safe alphabet) */
static void group_label(struct s3m_buf *u, const char *name, const char *v)
{
    size_t n = strlen(v);
    char *b = s3m_malloc(4 * ((n + 2) / 3) + 1);
    s3m_base64((const uint8_t *)v, n, b);
    for (char *c = b; *c; c++)
        *c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
    s3m_buf_printf(u, "/%s@base64/%s", name, b);
    free(b);
}

void s3m_push_url(struct s3m_buf *u, const char *base, const char *src, const char *dst,
                  const char *shard, const char *command)
{
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    s3m_buf_add(u, base, n);
    s3m_buf_adds(u, "/metrics/job/s3mirror");
    group_label(u, "src", src);
    group_label(u, "dst", dst);
    if (shard)
        group_label(u, "shard", shard);
    if (command)
        s3m_buf_printf(u, "/command/%s", command);
}

/* The grouping key is the job (src, dst, shard: the textfile's labels), so runs of other
 * jobs, shards among them, keep their own groups; a copy or check of the pair has its own group
 * (command label), so it never replaces the sync's series. A run that succeeded PUTs: its group is
 * replaced whole, no series of an earlier run stays. Any other run POSTs all but the last
 * success's time: the series it sends replace theirs, the gateway keeps the last success of
 * the job (what --metrics-file carries over from its previous file). */
void s3m_metrics_push(const struct s3m_opts *o, const char *src, const char *dst, const char *shard,
                      const char *command, const struct s3m_job_result *r)
{
    struct s3m_buf url, m;
    s3m_buf_init(&url);
    s3m_buf_init(&m);
    s3m_push_url(&url, o->metrics_push, src, dst, shard, command);
    bool ok = s3m_exit_success(r->exit_code);
    s3m_job_metrics_render(&m, src, dst, shard, r, ok ? r->end : -1);
    struct s3m_webhook_req q = {ok ? "PUT" : "POST",
                                s3m_buf_str(&url),
                                "text/plain; version=0.0.4; charset=utf-8",
                                s3m_buf_str(&m),
                                m.len,
                                MONITOR_TIMEOUT_MS,
                                o->ca_file};
    char err[300], host[300];
    int status = s3m_webhook_send(&q, err, sizeof(err));
    url_host(o->metrics_push, host, sizeof(host));
    if (status >= 200 && status < 300)
        s3m_log(S3M_LOG_INFO, "push", "metrics pushed to %s (%s, %zu bytes, HTTP %d)", host,
                q.method, m.len, status);
    else if (status)
        s3m_log(S3M_LOG_WARN, "push",
                "--metrics-push to %s refused: HTTP %d %s (the exit code stays %d)", host, status,
                err, r->exit_code);
    else
        s3m_log(S3M_LOG_WARN, "push", "--metrics-push to %s failed: %s (the exit code stays %d)",
                host, err, r->exit_code);
    s3m_buf_cleanup(&url);
    s3m_buf_cleanup(&m);
}

bool s3m_exit_success(int rc)
{
    /* 9: --error-on-no-transfer's "nothing to do", a run that went well; every other code
     * (a cut-off run's 15, a signal's 128+N, a check that found differences) is a failure */
    return rc == S3M_EXIT_OK || rc == S3M_EXIT_NOTRANSFER;
}

static void notify(const struct s3m_opts *o, const char *suffix, const char *body)
{
    struct s3m_buf url;
    s3m_buf_init(&url);
    size_t n = strlen(o->notify_url);
    while (n && o->notify_url[n - 1] == '/')
        n--;
    s3m_buf_add(&url, o->notify_url, n);
    s3m_buf_adds(&url, suffix);
    struct s3m_webhook_req q = {"POST",    s3m_buf_str(&url), "text/plain; charset=utf-8",
                                body,      strlen(body),      MONITOR_TIMEOUT_MS,
                                o->ca_file};
    char err[300], host[300];
    int status = s3m_webhook_send(&q, err, sizeof(err));
    url_host(o->notify_url, host, sizeof(host));
    const char *what = *suffix ? suffix + 1 : "success";
    if (status >= 200 && status < 300)
        s3m_log(S3M_LOG_INFO, "notify", "%s ping sent to %s (HTTP %d)", what, host, status);
    else if (status)
        s3m_log(S3M_LOG_WARN, "notify", "--notify-url: %s ping to %s refused: HTTP %d %s", what,
                host, status, err);
    else
        s3m_log(S3M_LOG_WARN, "notify", "--notify-url: %s ping to %s failed: %s", what, host, err);
    s3m_buf_cleanup(&url);
}

void s3m_notify_start(const struct s3m_opts *o, const char *cmd, const char *src, const char *dst)
{
    struct s3m_buf b;
    s3m_buf_init(&b);
    s3m_buf_printf(&b, "s3mirror %s %s %s: started\n", cmd, src, dst);
    notify(o, "/start", s3m_buf_str(&b));
    s3m_buf_cleanup(&b);
}

void s3m_notify_end(const struct s3m_opts *o, int rc, const char *lines)
{
    struct s3m_buf b;
    s3m_buf_init(&b);
    size_t n = strlen(lines);
    /* a whole remote's run has a line per bucket: the check's log keeps the start */
    if (n > NOTIFY_BODY_MAX)
        s3m_buf_printf(&b, "%.*s... (%zu more bytes of summary lines)\n", NOTIFY_BODY_MAX, lines,
                       n - NOTIFY_BODY_MAX);
    else
        s3m_buf_adds(&b, lines);
    s3m_buf_printf(&b, "exit code %d\n", rc);
    notify(o, s3m_exit_success(rc) ? "" : "/fail", s3m_buf_str(&b));
    s3m_buf_cleanup(&b);
}
