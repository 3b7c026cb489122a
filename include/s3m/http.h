/* s3m/http.h - one HTTP transfer on the shared loop (a libcurl easy handle).
 *
 * The owner fills the request, sets callbacks and calls s3m_http_start. Either start fails at
 * once (and done never runs) or done runs exactly once, later, from the loop. Bodies stream in
 * both directions through callbacks that may pause; s3m_http_resume restarts a paused side. */
#ifndef S3M_HTTP_H
#define S3M_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "s3m/err.h"
#include "s3m/loop.h"

#define S3M_HTTP_PAUSE ((size_t)-1) /* from read_cb / write_cb: pause this direction */
#define S3M_HTTP_ABORT ((size_t)-2) /* from read_cb / write_cb: fail the transfer */

struct s3m_http;

struct s3m_http_opts {
    long connect_timeout_ms;
    long low_speed_time_s; /* abort when below 1 byte/s for this long */
    long timeout_ms;       /* whole transfer; 0 = none */
    bool verify_tls;
    const char *ca_file; /* NULL = system bundle */
};

/* Called once per response header line (also for interim 1xx responses; status tells). */
typedef void (*s3m_http_header_cb)(struct s3m_http *h, const char *name, size_t nlen,
                                   const char *value, size_t vlen);
/* Response body bytes. Return n, S3M_HTTP_PAUSE or S3M_HTTP_ABORT. */
typedef size_t (*s3m_http_write_cb)(struct s3m_http *h, const char *data, size_t n);
/* Request body: fill up to n bytes of buf; return count (0 = end), PAUSE or ABORT. */
typedef size_t (*s3m_http_read_cb)(struct s3m_http *h, char *buf, size_t n);
/* Request body: go back to byte offset (curl sends the body again on a new connection when a
 * kept-alive one closed under it). Return true when done, false when the body cannot be read
 * again (a stream): the transfer then fails, transport-retryable (CURLE_SEND_FAIL_REWIND). */
typedef bool (*s3m_http_seek_cb)(struct s3m_http *h, uint64_t offset);
/* Transfer finished: err is OK when an HTTP response arrived whatever its status. */
typedef void (*s3m_http_done_cb)(struct s3m_http *h, enum s3m_err err, const char *errmsg);

struct s3m_http {
    struct s3m_loop *loop;
    void *easy; /* CURL * */
    void *hdrs; /* struct curl_slist * */
    int status; /* HTTP status of the final response */
    uint64_t bytes_sent, bytes_received;
    bool paused_send, paused_recv, running, cancelled;
    bool in_pause; /* inside our curl_easy_pause, which may call write_fn */
    s3m_http_header_cb on_header;
    s3m_http_write_cb on_write;
    s3m_http_read_cb on_read;
    s3m_http_seek_cb on_seek; /* NULL: the body cannot be rewound */
    s3m_http_done_cb on_done;
    void *ud;
    int transport_code; /* the transport library's code of the finished transfer, 0 = none */
    /* what this attempt did to the connection pool: connections it opened (0 = reused one),
     * and of the one it used, whether a TLS handshake made it and resumed a session */
    struct {
        uint32_t opened, tls_handshakes, tls_resumed;
    } conn;
    /* the transport's receive and send buffer sizes for a large body (0: its defaults) */
    size_t recv_buffer, send_buffer;
    /* --bwlimit counts this transfer's body in these directions (bits 1 << S3M_HTTP_RECV and
     * 1 << S3M_HTTP_SEND): object data, set by the owner before start; small control bodies
     * (listings, XML requests and replies) leave it 0 and are not limited */
    unsigned bw_dirs;
    /* the bandwidth limiter's state of this transfer (net/ratelimit.c) */
    struct {
        struct s3m_http *prev, *next, *ready; /* its place in the limiter's queue */
        double want, credit; /* bytes asked for while waiting; bytes granted, not yet moved */
        int waiting;         /* 0, or 1 + the direction it waits in */
    } bw;
    char errbuf[256];
};

/* The finished transfer failed in transport (connection refused, reset, timed out, nothing
 * received, a stream that had to be sent again): worth trying again. */
bool s3m_http_transport_retryable(const struct s3m_http *h);

/* Prepare h for a new request (also after a previous one finished). */
void s3m_http_init(struct s3m_http *h, struct s3m_loop *loop);
/* Release the easy handle and header list. Must not be running. */
void s3m_http_cleanup(struct s3m_http *h);
/* Add a request header line "Name: value". */
void s3m_http_add_header(struct s3m_http *h, const char *name, const char *value);
/* Start the request. body_len: -1 = no body, else the exact length sent through on_read. */
enum s3m_err s3m_http_start(struct s3m_http *h, const char *method, const char *url,
                            int64_t body_len, const struct s3m_http_opts *o,
                            struct s3m_errinfo *ei);
/* Un-pause both directions (a no-op for a direction that is not paused). */
void s3m_http_resume(struct s3m_http *h);
/* Stop a running transfer now; done runs with ABORTED. */
void s3m_http_cancel(struct s3m_http *h);

/* The two directions of a transfer's body. */
enum s3m_http_dir { S3M_HTTP_RECV, S3M_HTTP_SEND };
/* Whether a running transfer is paused in that direction (its callback returned PAUSE and
 * nothing resumed it since), so a caller need not mirror curl's pause state. */
bool s3m_http_paused(const struct s3m_http *h, enum s3m_http_dir dir);

#endif
