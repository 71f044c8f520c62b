/* 8x8 SMS: the only file that knows 8x8's SMS wire formats. It builds the
 * single-send and batch request bodies and reads 8x8's answers into
 * per-message results. Classification of HTTP answers (429, 5xx, 4xx,
 * "maybe sent") is b8_eightx8_classify's; see 8x8-API.md "8x8 SMS". */
#ifndef B8_EIGHTX8_SMS_H
#define B8_EIGHTX8_SMS_H

#include "b8_core.h"
#include "b8_eightx8.h"
#include "b8_http.h"

/* 8x8 takes at most this many SMS in one batch request. */
#define B8_SMS_BATCH_MAX 10000
/* A batch answer lists every message (about 250 bytes each). */
#define B8_SMS_ANSWER_MAX (16 * 1024 * 1024)

/* What an SMS send needs from the settings. */
typedef struct {
    const char *api_key;
    const char *sub_account;       /* SMS sub-account: path part of every send */
    const char *base_url;          /* SMS base URL, no trailing slash */
    apr_interval_time_t timeout;   /* Blu8x8HttpTimeout */
} b8_sms_conf;

/* Reads the effective settings. Returns NULL, or a sentence saying what is
 * missing, so that no request is made without it. */
const char *b8_eightx8_sms_conf_load(apr_pool_t *p, const b8_settings *s, b8_sms_conf *out);

/* One SMS to send. */
typedef struct {
    const char *phone;               /* E.164 */
    const char *text;                /* personalised text */
    const char *client_message_id;
} b8_sms_out;

/* 8x8's clientBatchId is at most this long. */
#define B8_SMS_CLIENT_BATCH_ID_MAX 20

/* The clientBatchId of the batch request whose first row is first_row_id
 * (a decimal message id): "b8-" and the id in base 36, at most 16
 * characters for any 64-bit id. A row is the first of one chunk only, so
 * the id is unique per batch request (a retry of the same chunk repeats
 * it). NULL when first_row_id is not a positive integer. */
const char *b8_eightx8_sms_client_batch_id(apr_pool_t *p, const char *first_row_id);

/* {"destination", "text", "source", "clientMessageId", "encoding": "AUTO"} */
cJSON *b8_eightx8_sms_single_body(const char *source, const b8_sms_out *m);

/* {"template": {"source", "encoding": "AUTO"}, "messages": [{"destination",
 * "clientMessageId", "text"}], "clientBatchId", "includeMessagesInResponse":
 * true}; n <= B8_SMS_BATCH_MAX. */
cJSON *b8_eightx8_sms_batch_body(const char *source, const b8_sms_out *msgs, int n,
                         const char *client_batch_id);

/* The HTTP request for a body made above (batch: the /batch endpoint,
 * which answers every message, so a larger answer is accepted). */
void b8_eightx8_sms_request(apr_pool_t *p, const b8_sms_conf *conf, int batch, const char *body,
                    b8_http_request *req);

/* One message of an answer. */
typedef enum {
    B8_SMS_ITEM_QUEUED,     /* accepted: umid */
    B8_SMS_ITEM_REJECTED,   /* refused: error_code, error_message */
    B8_SMS_ITEM_UNCLEAR     /* neither said: the message may have been accepted */
} b8_sms_item_outcome;

typedef struct {
    b8_sms_item_outcome outcome;
    const char *client_message_id, *umid, *phone;
    const char *error_code, *error_message, *error_id;
} b8_sms_item;

/* Reads one message object of an answer (single answer or batch item). */
void b8_eightx8_sms_parse_item(apr_pool_t *p, const cJSON *item, b8_sms_item *out);

/* Classifies the answer to a single send: b8_eightx8_classify, then a 2xx
 * whose status says REJECTED is failed with 8x8's code and description. */
void b8_eightx8_sms_classify_single(apr_pool_t *p, const b8_http_response *res, b8_send_tries *tries,
                            b8_send_result *out);

/* A 2xx batch answer: counts and, when 8x8 listed them, every message. */
typedef struct {
    const char *batch_id;
    long accepted, rejected;     /* -1 when not given */
    int listed;                  /* messages[] was present */
    int nitems;
    b8_sms_item *items;
} b8_sms_batch_answer;

/* 0 when body is a batch answer, else -1 (not JSON, cut short, not an object). */
int b8_eightx8_sms_parse_batch(apr_pool_t *p, const char *body, apr_size_t len, b8_sms_batch_answer *out);

#endif
