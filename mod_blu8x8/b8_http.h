/* The HTTP client: the only file that uses libcurl. Connections are kept
 * alive and reused (one easy handle per thread, or one multi handle for a
 * sender that keeps many requests in flight), with connect and total
 * timeouts. Failures are classified precisely, because the caller must know
 * whether the request may have reached the other side:
 *   NOT_SENT   - nothing went out (refused, DNS, connect timeout): safe to resend;
 *   MAYBE_SENT - the request (or part of it) went out and no answer came back
 *                (timeout, connection lost, empty reply): resending could
 *                deliver twice.
 * libcurl itself silently resends a POST when a reused keep-alive connection
 * dies without an answer; we refuse the rewind it needs for that, so such a
 * case comes back as MAYBE_SENT instead of a hidden second delivery. */
#ifndef B8_HTTP_H
#define B8_HTTP_H

#include <apr_pools.h>
#include <apr_time.h>

/* Response bodies are kept up to this size unless the request asks for
 * more (the rest is dropped). */
#define B8_HTTP_MAX_BODY (64 * 1024)

typedef enum {
    B8_HTTP_ANSWERED = 0,   /* an HTTP status came back (any status) */
    B8_HTTP_NOT_SENT,       /* failed before the request left */
    B8_HTTP_MAYBE_SENT      /* failed after the request went out */
} b8_http_outcome;

typedef struct {
    const char *url;
    const char *bearer;            /* "Authorization: Bearer <bearer>", NULL: none */
    const char *body;              /* JSON, POSTed as application/json; NULL: GET */
    apr_size_t body_len;
    apr_interval_time_t timeout;   /* whole request; 0: 30 s */
    apr_interval_time_t connect_timeout;  /* 0: the smaller of 10 s and timeout */
    apr_size_t max_body;           /* answer bytes kept; 0: B8_HTTP_MAX_BODY */
} b8_http_request;

typedef struct {
    b8_http_outcome outcome;
    long status;                   /* HTTP status, 0 when none came back */
    const char *body;              /* NUL-terminated, "" when none */
    apr_size_t body_len;
    int truncated;                 /* body was longer than B8_HTTP_MAX_BODY */
    const char *retry_after;       /* Retry-After header, or NULL */
    const char *retry_after_ms;    /* retry-after-ms header (OpenAI), or NULL */
    const char *error;             /* what went wrong, for logs and users; NULL when answered */
    int curl_code;
    apr_interval_time_t elapsed;
} b8_http_response;

/* Once per process, before any thread uses the client (the worker's main
 * and the httpd child_init call it); later calls do nothing. */
apr_status_t b8_http_global_init(void);

/* Pure rule behind the classification (exposed for the unit tests):
 * curl_code is a CURLcode, request_bytes what CURLINFO_REQUEST_SIZE said. */
b8_http_outcome b8_http_outcome_of(int curl_code, long request_bytes);

/* ------------------------------------------------------------ one at a time */

typedef struct b8_http_client b8_http_client;

/* A client with one easy handle; its connections stay open between calls.
 * Use it from one thread at a time. */
b8_http_client *b8_http_client_create(void);
void b8_http_client_destroy(b8_http_client *c);
/* The calling thread's own client, made on first use and freed when the
 * thread ends (httpd request threads: Send Test). NULL when out of memory. */
b8_http_client *b8_http_thread_client(void);

/* Synchronous request; the response is allocated in p. */
void b8_http_perform(b8_http_client *c, apr_pool_t *p, const b8_http_request *req,
                     b8_http_response *res);

/* ------------------------------------------------------------ many in flight */

typedef struct b8_http_multi b8_http_multi;

/* At most max_transfers requests in flight, over at most as many kept-alive
 * connections. Use it from one thread; only b8_http_multi_wakeup may be
 * called from others. */
b8_http_multi *b8_http_multi_create(int max_transfers);
void b8_http_multi_destroy(b8_http_multi *m);
int b8_http_multi_free_slots(const b8_http_multi *m);
int b8_http_multi_in_flight(const b8_http_multi *m);

/* Starts a request. The strings of req must stay valid until its response
 * has been taken with b8_http_multi_done. APR_EAGAIN when every slot is busy. */
apr_status_t b8_http_multi_start(b8_http_multi *m, const b8_http_request *req, void *baton);

/* Drives the transfers, waiting at most timeout for network activity or a
 * wake-up; returns early when something completed. */
void b8_http_multi_wait(b8_http_multi *m, apr_interval_time_t timeout);

/* Takes one finished request: 1 with its baton and response (in p), or 0. */
int b8_http_multi_done(b8_http_multi *m, apr_pool_t *p, void **baton, b8_http_response *res);

/* Makes a b8_http_multi_wait in another thread return now. */
void b8_http_multi_wakeup(b8_http_multi *m);

#endif
