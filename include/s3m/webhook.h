/* s3m/webhook.h - one small blocking HTTP request to a monitoring endpoint (a Prometheus
 * Pushgateway, a healthchecks-style ping URL), outside the loop: at the start or the end of a
 * run, bounded by its timeout, its outcome told to the caller and never retried. */
#ifndef S3M_WEBHOOK_H
#define S3M_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>

struct s3m_webhook_req {
    const char *method;       /* "PUT" or "POST" */
    const char *url;          /* the whole URL */
    const char *content_type; /* NULL: none */
    const char *body;         /* sent as is, len bytes */
    size_t len;
    long timeout_ms;     /* the whole request, connecting included */
    const char *ca_file; /* NULL: the system bundle (https) */
};

/* Send q and wait for its answer. Returns the HTTP status of the answer, or 0 when none came
 * (refused, timed out, TLS): err then says why. On a status, err holds the start of the
 * answer's body (what a Pushgateway says about a refused push), "" for none. err has n bytes. */
int s3m_webhook_send(const struct s3m_webhook_req *q, char *err, size_t n);

/* Whether url is one the request can be sent to (scheme, host, port parse), checked before a
 * run so that a URL with a typo is a usage error, not a push lost at the end. */
bool s3m_webhook_url_ok(const char *url);

#endif
