#include "b8_http.h"
#include "b8_core.h"
#include "b8_log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include <curl/curl.h>

/* One transfer's state: an easy handle reused for request after request
 * (so its connection, or the multi's connection cache, stays warm) and the
 * buffers that capture the answer. */
typedef struct {
    CURL *easy;
    struct curl_slist *headers;
    const char *body;
    size_t body_len, body_off;
    char *buf;                      /* response body, malloc'd and reused */
    size_t len, cap;
    int truncated;
    size_t max_body;                /* this request's limit on the answer */
    char retry_after[64];
    int has_retry_after;
    char retry_after_ms[32];        /* OpenAI's millisecond form */
    int has_retry_after_ms;
    char errbuf[CURL_ERROR_SIZE];
    void *baton;
    int busy, done;
    CURLcode code;
    apr_time_t started;
} slot;

struct b8_http_client {
    slot s;
};

struct b8_http_multi {
    CURLM *multi;
    slot *slots;
    int nslots, busy;
};

/* --------------------------------------------------------------- process */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init_once(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_ALL);
}

apr_status_t b8_http_global_init(void)
{
    pthread_once(&global_once, global_init_once);
    if (global_rc != CURLE_OK) {
        B8_LOG(B8_LOG_ERR, 0, "B8-1401: libcurl cannot initialise: %s", curl_easy_strerror(global_rc));
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

b8_http_outcome b8_http_outcome_of(int curl_code, long request_bytes)
{
    switch ((CURLcode)curl_code) {
    case CURLE_OK:
        return B8_HTTP_ANSWERED;
    /* Nothing can have reached the server. */
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
        return B8_HTTP_NOT_SENT;
    /* libcurl wanted to resend on a fresh connection after the first one
     * died: the first copy went out. */
    case CURLE_SEND_FAIL_REWIND:
        return B8_HTTP_MAYBE_SENT;
    default:
        /* Timeouts, resets, empty replies: it depends on whether any of the
         * request was written (a connect timeout writes nothing). */
        return request_bytes > 0 ? B8_HTTP_MAYBE_SENT : B8_HTTP_NOT_SENT;
    }
}

/* ------------------------------------------------------------- callbacks */

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    slot *s = userdata;
    size_t n = size * nmemb;
    size_t max = s->max_body ? s->max_body : B8_HTTP_MAX_BODY;
    size_t take = s->len < max ? max - s->len : 0;

    if (take > n) {
        take = n;
    }
    if (take < n) {
        s->truncated = 1;   /* keep reading so the connection stays usable */
    }
    if (take == 0) {
        return n;
    }
    if (s->len + take + 1 > s->cap) {
        size_t want = s->cap ? s->cap : 4096;
        char *grown;
        while (want < s->len + take + 1) {
            want *= 2;
        }
        grown = realloc(s->buf, want);
        if (!grown) {
            return 0;   /* aborts the transfer: CURLE_WRITE_ERROR */
        }
        s->buf = grown;
        s->cap = want;
    }
    memcpy(s->buf + s->len, data, take);
    s->len += take;
    s->buf[s->len] = '\0';
    return n;
}

/* Copies a header's value (trimmed) when the line is that header and the
 * value fits; returns 1 then. */
static int header_value(const char *data, size_t n, const char *name, char *out, size_t outsz)
{
    size_t nl = strlen(name);
    const char *v;
    size_t vn;

    if (n <= nl || strncasecmp(data, name, nl) != 0) {
        return 0;
    }
    v = data + nl;
    vn = n - nl;
    while (vn && (*v == ' ' || *v == '\t')) {
        v++;
        vn--;
    }
    while (vn && (v[vn - 1] == '\r' || v[vn - 1] == '\n' || v[vn - 1] == ' ')) {
        vn--;
    }
    if (vn >= outsz) {
        return 0;
    }
    memcpy(out, v, vn);
    out[vn] = '\0';
    return 1;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
    slot *s = userdata;
    size_t n = size * nmemb;

    /* A new status line (after a 100 Continue, say) starts a new header set. */
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        s->has_retry_after = 0;
        s->has_retry_after_ms = 0;
    }
    else if (header_value(data, n, "retry-after:", s->retry_after, sizeof(s->retry_after))) {
        s->has_retry_after = 1;
    }
    else if (header_value(data, n, "retry-after-ms:", s->retry_after_ms,
                          sizeof(s->retry_after_ms))) {
        s->has_retry_after_ms = 1;
    }
    return n;
}

static size_t on_read(char *buffer, size_t size, size_t nitems, void *userdata)
{
    slot *s = userdata;
    size_t room = size * nitems, left = s->body_len - s->body_off;
    size_t n = left < room ? left : room;

    memcpy(buffer, s->body + s->body_off, n);
    s->body_off += n;
    return n;
}

/* libcurl rewinds the body only to send it again, after a reused connection
 * died without an answer: that copy may already have been processed. */
static int on_seek(void *userdata, curl_off_t offset, int origin)
{
    (void)userdata;
    (void)offset;
    (void)origin;
    return CURL_SEEKFUNC_CANTSEEK;
}

/* ------------------------------------------------------------------ slots */

static apr_status_t slot_init(slot *s)
{
    memset(s, 0, sizeof(*s));
    s->easy = curl_easy_init();
    if (!s->easy) {
        return APR_ENOMEM;
    }
    curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);   /* threads: no SIGALRM */
    curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(s->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(s->easy, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(s->easy, CURLOPT_READDATA, s);
    curl_easy_setopt(s->easy, CURLOPT_SEEKFUNCTION, on_seek);
    curl_easy_setopt(s->easy, CURLOPT_SEEKDATA, s);
    curl_easy_setopt(s->easy, CURLOPT_ERRORBUFFER, s->errbuf);
    curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
    curl_easy_setopt(s->easy, CURLOPT_USERAGENT, "mod_blu8x8/" B8_VERSION);
    curl_easy_setopt(s->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(s->easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(s->easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(s->easy, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(s->easy, CURLOPT_PIPEWAIT, 1L);   /* HTTP/2: share one connection */
    /* Our requests and answers are small; libcurl's defaults (16 KB in, 64 KB
     * out per handle) would cost megabytes with 64 handles in flight. */
    curl_easy_setopt(s->easy, CURLOPT_BUFFERSIZE, 8192L);
    curl_easy_setopt(s->easy, CURLOPT_UPLOAD_BUFFERSIZE, 16384L);
    return APR_SUCCESS;
}

static void slot_cleanup(slot *s)
{
    if (s->headers) {
        curl_slist_free_all(s->headers);
        s->headers = NULL;
    }
    if (s->easy) {
        curl_easy_cleanup(s->easy);
        s->easy = NULL;
    }
    free(s->buf);
    s->buf = NULL;
}

static long to_ms(apr_interval_time_t t)
{
    return (long)(t / 1000);
}

static apr_status_t slot_prepare(slot *s, const b8_http_request *req, void *baton)
{
    apr_interval_time_t timeout = req->timeout > 0 ? req->timeout : apr_time_from_sec(30);
    apr_interval_time_t connect = req->connect_timeout > 0 ? req->connect_timeout
                                                           : apr_time_from_sec(10);
    char auth[4200];
    struct curl_slist *h = NULL, *next;

    if (connect > timeout) {
        connect = timeout;
    }
    s->len = 0;
    if (s->buf) {
        s->buf[0] = '\0';
    }
    s->truncated = 0;
    s->max_body = req->max_body;
    s->has_retry_after = 0;
    s->has_retry_after_ms = 0;
    s->errbuf[0] = '\0';
    s->body = req->body;
    s->body_len = req->body ? req->body_len : 0;
    s->body_off = 0;
    s->baton = baton;
    s->done = 0;
    s->code = CURLE_OK;
    if (s->headers) {
        curl_slist_free_all(s->headers);
        s->headers = NULL;
    }
    /* "Expect:" off: no 100-continue round trip before the body. */
    static const char *const fixed[] = { "Accept: application/json", "Expect:", NULL };
    for (int i = 0; fixed[i]; i++) {
        if (!(next = curl_slist_append(h, fixed[i]))) {
            curl_slist_free_all(h);
            return APR_ENOMEM;
        }
        h = next;
    }
    if (req->body) {
        if (!(next = curl_slist_append(h, "Content-Type: application/json"))) {
            curl_slist_free_all(h);
            return APR_ENOMEM;
        }
        h = next;
    }
    if (req->bearer) {
        apr_snprintf(auth, sizeof(auth), "Authorization: Bearer %s", req->bearer);
        next = curl_slist_append(h, auth);
        memset(auth, 0, sizeof(auth));   /* a secret: do not leave it on the stack */
        if (!next) {
            curl_slist_free_all(h);
            return APR_ENOMEM;
        }
        h = next;
    }
    s->headers = h;
    curl_easy_setopt(s->easy, CURLOPT_URL, req->url);
    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->headers);
    curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, to_ms(timeout));
    curl_easy_setopt(s->easy, CURLOPT_CONNECTTIMEOUT_MS, to_ms(connect));
    if (req->body) {
        curl_easy_setopt(s->easy, CURLOPT_POST, 1L);
        curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, NULL);   /* body comes from on_read */
        curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)s->body_len);
    }
    else {
        curl_easy_setopt(s->easy, CURLOPT_HTTPGET, 1L);
    }
    s->started = apr_time_now();
    return APR_SUCCESS;
}

/* Fills res from a finished transfer; everything is copied into p. */
static void slot_finish(slot *s, apr_pool_t *p, b8_http_response *res)
{
    long status = 0, request_bytes = 0;

    memset(res, 0, sizeof(*res));
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(s->easy, CURLINFO_REQUEST_SIZE, &request_bytes);
    res->curl_code = (int)s->code;
    res->outcome = b8_http_outcome_of((int)s->code, request_bytes);
    res->status = res->outcome == B8_HTTP_ANSWERED ? status : 0;
    res->body = s->len ? apr_pstrmemdup(p, s->buf, s->len) : "";
    res->body_len = s->len;
    res->truncated = s->truncated;
    res->retry_after = s->has_retry_after ? apr_pstrdup(p, s->retry_after) : NULL;
    res->retry_after_ms = s->has_retry_after_ms ? apr_pstrdup(p, s->retry_after_ms) : NULL;
    res->elapsed = apr_time_now() - s->started;
    if (res->outcome != B8_HTTP_ANSWERED) {
        res->error = apr_pstrdup(p, s->errbuf[0] ? s->errbuf : curl_easy_strerror(s->code));
    }
    if (s->headers) {
        curl_slist_free_all(s->headers);
        s->headers = NULL;
    }
    s->body = NULL;
    s->baton = NULL;
    /* Do not keep a large buffer around after an unusual answer. */
    if (s->cap > 16 * 1024) {
        free(s->buf);
        s->buf = NULL;
        s->cap = 0;
    }
    s->len = 0;
}

/* ---------------------------------------------------------- one at a time */

b8_http_client *b8_http_client_create(void)
{
    b8_http_client *c = calloc(1, sizeof(*c));

    if (!c) {
        return NULL;
    }
    if (b8_http_global_init() != APR_SUCCESS || slot_init(&c->s) != APR_SUCCESS) {
        slot_cleanup(&c->s);
        free(c);
        return NULL;
    }
    return c;
}

void b8_http_client_destroy(b8_http_client *c)
{
    if (c) {
        slot_cleanup(&c->s);
        free(c);
    }
}

static pthread_key_t thread_key;
static pthread_once_t thread_key_once = PTHREAD_ONCE_INIT;

static void thread_client_free(void *data)
{
    b8_http_client_destroy(data);
}

static void thread_key_init(void)
{
    if (pthread_key_create(&thread_key, thread_client_free) != 0) {
        B8_LOG(B8_LOG_ERR, 0, "B8-1402: cannot create the HTTP client thread key");
    }
}

b8_http_client *b8_http_thread_client(void)
{
    b8_http_client *c;

    pthread_once(&thread_key_once, thread_key_init);
    c = pthread_getspecific(thread_key);
    if (!c && (c = b8_http_client_create()) != NULL) {
        if (pthread_setspecific(thread_key, c) != 0) {
            b8_http_client_destroy(c);
            return NULL;
        }
    }
    return c;
}

void b8_http_perform(b8_http_client *c, apr_pool_t *p, const b8_http_request *req,
                     b8_http_response *res)
{
    if (slot_prepare(&c->s, req, NULL) != APR_SUCCESS) {
        memset(res, 0, sizeof(*res));
        res->outcome = B8_HTTP_NOT_SENT;
        res->body = "";
        res->error = "out of memory";
        res->curl_code = CURLE_OUT_OF_MEMORY;
        return;
    }
    c->s.code = curl_easy_perform(c->s.easy);
    slot_finish(&c->s, p, res);
}

/* ------------------------------------------------------------ many at once */

b8_http_multi *b8_http_multi_create(int max_transfers)
{
    b8_http_multi *m;

    if (max_transfers < 1 || b8_http_global_init() != APR_SUCCESS
        || !(m = calloc(1, sizeof(*m)))) {
        return NULL;
    }
    m->multi = curl_multi_init();
    m->slots = calloc((size_t)max_transfers, sizeof(slot));
    if (!m->multi || !m->slots) {
        b8_http_multi_destroy(m);
        return NULL;
    }
    m->nslots = max_transfers;
    for (int i = 0; i < max_transfers; i++) {
        if (slot_init(&m->slots[i]) != APR_SUCCESS) {
            b8_http_multi_destroy(m);
            return NULL;
        }
    }
    /* Keep as many connections open as requests may be in flight. */
    curl_multi_setopt(m->multi, CURLMOPT_MAXCONNECTS, (long)max_transfers);
    curl_multi_setopt(m->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)max_transfers);
    return m;
}

void b8_http_multi_destroy(b8_http_multi *m)
{
    if (!m) {
        return;
    }
    for (int i = 0; m->slots && i < m->nslots; i++) {
        if (m->slots[i].busy && m->multi) {
            curl_multi_remove_handle(m->multi, m->slots[i].easy);
        }
    }
    /* Handles first, then the multi (libcurl's documented order). */
    for (int i = 0; m->slots && i < m->nslots; i++) {
        slot_cleanup(&m->slots[i]);
    }
    if (m->multi) {
        curl_multi_cleanup(m->multi);
    }
    free(m->slots);
    free(m);
}

int b8_http_multi_free_slots(const b8_http_multi *m)
{
    return m->nslots - m->busy;
}

int b8_http_multi_in_flight(const b8_http_multi *m)
{
    return m->busy;
}

static void collect_finished(b8_http_multi *m)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(m->multi, &left)) != NULL) {
        slot *s = NULL;
        if (msg->msg != CURLMSG_DONE) {
            continue;
        }
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
        if (s) {
            s->code = msg->data.result;
            s->done = 1;
        }
    }
}

static void drive(b8_http_multi *m)
{
    int running = 0;
    CURLMcode mc = curl_multi_perform(m->multi, &running);

    if (mc != CURLM_OK) {
        B8_LOG(B8_LOG_ERR, 0, "B8-1403: curl_multi_perform: %s", curl_multi_strerror(mc));
    }
    collect_finished(m);
}

apr_status_t b8_http_multi_start(b8_http_multi *m, const b8_http_request *req, void *baton)
{
    slot *s = NULL;
    CURLMcode mc;

    for (int i = 0; i < m->nslots; i++) {
        if (!m->slots[i].busy) {
            s = &m->slots[i];
            break;
        }
    }
    if (!s) {
        return APR_EAGAIN;
    }
    if (slot_prepare(s, req, baton) != APR_SUCCESS) {
        return APR_ENOMEM;
    }
    mc = curl_multi_add_handle(m->multi, s->easy);
    if (mc != CURLM_OK) {
        B8_LOG(B8_LOG_ERR, 0, "B8-1404: curl_multi_add_handle: %s", curl_multi_strerror(mc));
        return APR_EGENERAL;
    }
    s->busy = 1;
    m->busy++;
    /* Put the request on the wire now: the start time is what pacing promises. */
    drive(m);
    return APR_SUCCESS;
}

static int any_done(const b8_http_multi *m)
{
    for (int i = 0; i < m->nslots; i++) {
        if (m->slots[i].busy && m->slots[i].done) {
            return 1;
        }
    }
    return 0;
}

void b8_http_multi_wait(b8_http_multi *m, apr_interval_time_t timeout)
{
    int numfds = 0;
    long ms = timeout > 0 ? (long)((timeout + 999) / 1000) : 0;
    CURLMcode mc;

    drive(m);
    if (any_done(m)) {
        return;
    }
    mc = curl_multi_poll(m->multi, NULL, 0, ms > 60000 ? 60000 : (int)ms, &numfds);
    if (mc != CURLM_OK) {
        B8_LOG(B8_LOG_ERR, 0, "B8-1405: curl_multi_poll: %s", curl_multi_strerror(mc));
    }
    drive(m);
}

int b8_http_multi_done(b8_http_multi *m, apr_pool_t *p, void **baton, b8_http_response *res)
{
    for (int i = 0; i < m->nslots; i++) {
        slot *s = &m->slots[i];
        if (s->busy && s->done) {
            *baton = s->baton;
            curl_multi_remove_handle(m->multi, s->easy);
            slot_finish(s, p, res);
            s->busy = 0;
            s->done = 0;
            m->busy--;
            return 1;
        }
    }
    return 0;
}

void b8_http_multi_wakeup(b8_http_multi *m)
{
    if (m && m->multi) {
        curl_multi_wakeup(m->multi);
    }
}
