/* connstat.c - connections and TLS sessions of the loop's transfers: one curl share handle per
 * loop keeps TLS sessions so a new connection resumes one (an abbreviated handshake) instead of
 * a full handshake, and each transfer counts what it opened, handshook and resumed. */
#include "s3m/http.h"
#include "http_int.h"

#include <curl/curl.h>
#include <openssl/ssl.h>

/* curl's sessions are per easy handle unless shared; the loop runs one thread, so no locks */
void s3m__share_init(struct s3m_loop *l)
{
    CURLSH *sh = curl_share_init();
    if (sh && curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
        curl_share_cleanup(sh);
        sh = NULL;
    }
    if (sh) /* addresses too: a new connection to a known host skips the lookup */
        curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    l->share = sh;
}

/* after the multi handle, which may still hold easy handles attached to it */
void s3m__share_cleanup(struct s3m_loop *l)
{
    if (l->share)
        curl_share_cleanup(l->share);
    l->share = NULL;
}

/* Called by curl once the request's connection is up (new or reused), before it is sent: a
 * connection this transfer opened shows here whether its TLS handshake resumed a session. Set,
 * not added: curl may call it again if it has to reconnect, and then tells the new total. */
static int prereq_fn(void *ud, char *ip, char *lip, int port, int lport)
{
    (void)ip, (void)lip, (void)port, (void)lport;
    struct s3m_http *h = ud;
    CURL *e = h->easy;
    long n = 0;
    const struct curl_tlssessioninfo *ti = NULL;
    curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &n);
    if (n <= 0)
        return CURL_PREREQFUNC_OK; /* a kept-alive connection: nothing was opened */
    h->conn.tls_handshakes = h->conn.tls_resumed = 0;
    if (curl_easy_getinfo(e, CURLINFO_TLS_SSL_PTR, &ti) == CURLE_OK && ti &&
        ti->backend == CURLSSLBACKEND_OPENSSL && ti->internals) {
        h->conn.tls_handshakes = 1; /* the connection in use; earlier ones of a reconnect failed */
        h->conn.tls_resumed = SSL_session_reused((SSL *)ti->internals) ? 1 : 0;
    }
    return CURL_PREREQFUNC_OK;
}

void s3m__conn_setopt(struct s3m_http *h)
{
    CURL *e = h->easy;
    h->conn.opened = h->conn.tls_handshakes = h->conn.tls_resumed = 0;
    if (h->loop->share)
        curl_easy_setopt(e, CURLOPT_SHARE, (CURLSH *)h->loop->share);
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, prereq_fn);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, h);
}

/* at the end of a transfer: the connections it opened, including ones that failed */
void s3m__conn_finish(struct s3m_http *h)
{
    long n = 0;
    if (curl_easy_getinfo((CURL *)h->easy, CURLINFO_NUM_CONNECTS, &n) == CURLE_OK && n > 0)
        h->conn.opened = (uint32_t)n;
}
