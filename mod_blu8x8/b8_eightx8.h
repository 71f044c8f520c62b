/* 8x8 Chat Apps (Viber): the only file that knows 8x8's wire formats. It
 * builds the send request for every campaign type (and for the plain
 * text/button messages of the AI lane, agent pings and confirmations), and
 * turns 8x8's answer into a verdict the senders act on. See 8x8-API.md. */
#ifndef B8_EIGHTX8_H
#define B8_EIGHTX8_H

#include "b8_core.h"
#include "b8_campaigns.h"
#include "b8_http.h"
#include "b8_settings.h"

/* Retry policy for one message. 5xx answers and connection failures
 * before the request went out are retried for the retry window (10
 * minutes; Blu8x8RetryWindow for tests), then the message fails. */
#define B8_EIGHTX8_RETRY_WINDOW_DEFAULT 600 /* seconds */
#define B8_EIGHTX8_MAX_RATE_LIMITED 30 /* 429 answers, then failed */
#define B8_EIGHTX8_BACKOFF_MS 250     /* first wait after a 5xx; doubles each time */
#define B8_EIGHTX8_BACKOFF_MAX 30     /* seconds: the longest wait between two tries */

/* The retry window of this process (set from the configuration before the
 * worker starts); at least one second. */
void b8_eightx8_set_retry_window(apr_interval_time_t window);
apr_interval_time_t b8_eightx8_retry_window(void);

/* 1 when an 8x8 refusal is about the account, not the message: HTTP 401,
 * 403 or 426, or one of 8x8's account codes (1001 sub-account not yours,
 * 1014 TLS version refused, 1200 not authenticated, 1201 forbidden). */
int b8_eightx8_account_refusal(long http_status, const char *code);
#define B8_EIGHTX8_RETRY_AFTER_MAX 120 /* seconds: a longer Retry-After is capped */

/* What a Viber send needs from the settings. */
typedef struct {
    const char *api_key;
    const char *sub_account;
    const char *base_url;          /* Chat Apps base URL, no trailing slash */
    const char *sms_source;        /* first SMS sender: source of the SMS fallback */
    apr_interval_time_t timeout;   /* Blu8x8HttpTimeout */
} b8_eightx8_conf;

/* Reads the effective settings. Returns NULL, or a sentence saying what is
 * missing (API key, sub-account) so that no request is made without them. */
const char *b8_eightx8_conf_load(apr_pool_t *p, const b8_settings *s, b8_eightx8_conf *out);

/* What both 8x8 APIs need: the API key and the request timeout, with the
 * API's own sub-account and base URL (their setting keys). NULL, or a
 * sentence naming the first one missing and where to set it. */
const char *b8_eightx8_account_load(apr_pool_t *p, const b8_settings *s,
                                    b8_setting_id sub_account_key,
                                    b8_setting_id base_url_key, const char **api_key,
                                    const char **sub_account, const char **base_url,
                                    apr_interval_time_t *timeout);

/* The request body of one campaign message to one recipient: type and
 * content by campaign type, {name}/{phone} expanded, SMS fallback when the
 * campaign has fallback text, and always the row's clientMessageId. */
cJSON *b8_eightx8_campaign_message(apr_pool_t *p, const b8_campaign *c, const char *phone,
                                   const char *name, const char *client_message_id,
                                   const char *sms_source);

/* A text message, with one URL button when button_caption is set. */
cJSON *b8_eightx8_text_message(const char *phone, const char *client_message_id,
                               const char *text, const char *button_caption,
                               const char *button_url);

/* The HTTP request that sends body (JSON text) through Chat Apps. */
void b8_eightx8_request(apr_pool_t *p, const b8_eightx8_conf *conf, const char *body,
                        b8_http_request *req);

typedef enum {
    B8_SEND_ACCEPTED,   /* 8x8 took it: umid, or NULL when it comes with the receipt */
    B8_SEND_RETRY,      /* try again after retry_in, same clientMessageId */
    B8_SEND_FAILED,     /* refused, or retries exhausted: error_code/error_message */
    B8_SEND_UNKNOWN,    /* the request may have reached 8x8: never resend blindly */
    B8_SEND_ACCOUNT     /* 8x8 refused the account (not taken): pause, keep it pending */
} b8_send_verdict;

/* Attempts so far for one message (the caller keeps it between tries). */
typedef struct {
    int tries;          /* 5xx answers and connection failures */
    int rate_limited;   /* 429 answers */
    apr_time_t failing_since;   /* first of the current 5xx/connection failures, or 0 */
} b8_send_tries;

typedef struct {
    b8_send_verdict verdict;
    const char *umid;
    const char *state;           /* 8x8's status.state when accepted ("queued") */
    const char *error_code;      /* 8x8's code as text, or NULL */
    const char *error_message;
    const char *error_id;        /* 8x8's errorId (a reference for its support), or NULL */
    long http_status;            /* 0: no answer */
    apr_interval_time_t retry_in;
    int rate_limited;            /* a 429: every send should wait retry_in */
    int unreachable;             /* a 5xx or no connection: 8x8 is not answering */
} b8_send_result;

/* "<code>: <message>" (or "HTTP <status>: <message>") of a refusal: what
 * a paused campaign or SMS lane shows. */
const char *b8_eightx8_refusal_text(apr_pool_t *p, const b8_send_result *r);

/* Classifies one answer (or failure) and counts it in *tries. */
void b8_eightx8_classify(apr_pool_t *p, const b8_http_response *res, b8_send_tries *tries,
                         b8_send_result *out);

/* Retry-After as seconds or an HTTP date; def when absent or unreadable;
 * capped at B8_EIGHTX8_RETRY_AFTER_MAX. */
apr_interval_time_t b8_eightx8_retry_after(const char *value, apr_time_t now,
                                           apr_interval_time_t def);

/* One synchronous send with this thread's client (Send Test, the direct
 * lane): no retries, the verdict as classified. */
void b8_eightx8_send_now(apr_pool_t *p, const b8_eightx8_conf *conf, const cJSON *message,
                         b8_send_result *out);

#endif
