/* http_int.h - what net/ shares inside itself about a transfer (not part of any public header):
 * the loop (loop.c) hands a finished easy handle back to its request (http.c). */
#ifndef S3M_HTTP_INT_H
#define S3M_HTTP_INT_H

#include <curl/curl.h>

#include "s3m/http.h"

/* The transfer of h is over with curl's result rc (already removed from the multi handle): its
 * on_done runs, once. Called by the loop only. */
void s3m__http_finished(struct s3m_http *h, CURLcode rc);

/* connstat.c: the loop's share handle (TLS sessions), set up and released with the loop */
void s3m__share_init(struct s3m_loop *l);
void s3m__share_cleanup(struct s3m_loop *l);
/* connstat.c: share the loop's TLS sessions and count h's connections (h->conn) */
void s3m__conn_setopt(struct s3m_http *h);
void s3m__conn_finish(struct s3m_http *h);

#endif
