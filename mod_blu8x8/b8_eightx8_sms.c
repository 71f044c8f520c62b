#include "b8_eightx8_sms.h"
#include "b8_util.h"
#include "b8_settings.h"

#include <string.h>
#include <strings.h>
#include <apr_escape.h>
#include <apr_strings.h>

/* ------------------------------------------------------------- settings */

const char *b8_eightx8_sms_conf_load(apr_pool_t *p, const b8_settings *s, b8_sms_conf *out)
{
    memset(out, 0, sizeof(*out));
    return b8_eightx8_account_load(p, s, B8_SET_SMS_SUB_ACCOUNT, B8_SET_SMS_URL, &out->api_key,
                                   &out->sub_account, &out->base_url, &out->timeout);
}

/* ------------------------------------------------------------- requests */

const char *b8_eightx8_sms_client_batch_id(apr_pool_t *p, const char *first_row_id)
{
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    char buf[32], *end = buf + sizeof(buf) - 1;
    char *at = end;
    char *stop = NULL;
    apr_uint64_t v;

    if (!first_row_id || !*first_row_id || *first_row_id == '-') {
        return NULL;
    }
    v = (apr_uint64_t)apr_strtoi64(first_row_id, &stop, 10);
    if (!stop || *stop || v == 0) {
        return NULL;
    }
    *at = '\0';
    while (v) {
        *--at = digits[v % 36];
        v /= 36;
    }
    return apr_pstrcat(p, "b8-", at, NULL);
}

cJSON *b8_eightx8_sms_single_body(const char *source, const b8_sms_out *m)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "destination", m->phone);
    cJSON_AddStringToObject(o, "text", m->text ? m->text : "");
    cJSON_AddStringToObject(o, "source", source);
    cJSON_AddStringToObject(o, "clientMessageId", m->client_message_id);
    cJSON_AddStringToObject(o, "encoding", "AUTO");
    return o;
}

cJSON *b8_eightx8_sms_batch_body(const char *source, const b8_sms_out *msgs, int n,
                         const char *client_batch_id)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *tmpl = cJSON_AddObjectToObject(o, "template");
    cJSON *list = cJSON_AddArrayToObject(o, "messages");

    cJSON_AddStringToObject(tmpl, "source", source);
    cJSON_AddStringToObject(tmpl, "encoding", "AUTO");
    for (int i = 0; i < n; i++) {
        /* 8x8's schema requires each message's text, even when they are
         * all the same (only the destinations form shares one, and it
         * cannot carry our clientMessageIds). */
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "destination", msgs[i].phone);
        cJSON_AddStringToObject(m, "clientMessageId", msgs[i].client_message_id);
        cJSON_AddStringToObject(m, "text", msgs[i].text ? msgs[i].text : "");
        cJSON_AddItemToArray(list, m);
    }
    if (client_batch_id) {
        cJSON_AddStringToObject(o, "clientBatchId", client_batch_id);
    }
    cJSON_AddBoolToObject(o, "includeMessagesInResponse", 1);
    return o;
}

void b8_eightx8_sms_request(apr_pool_t *p, const b8_sms_conf *conf, int batch, const char *body,
                    b8_http_request *req)
{
    memset(req, 0, sizeof(*req));
    req->url = apr_pstrcat(p, conf->base_url, "/api/v1/subaccounts/",
                           apr_pescape_path_segment(p, conf->sub_account),
                           batch ? "/messages/batch" : "/messages", NULL);
    req->bearer = conf->api_key;
    req->body = body;
    req->body_len = strlen(body);
    req->timeout = conf->timeout;
    req->max_body = batch ? B8_SMS_ANSWER_MAX : 0;
}

/* ------------------------------------------------------------- answers */

static const char *text_of(apr_pool_t *p, const cJSON *v)
{
    if (cJSON_IsString(v) && *v->valuestring) {
        /* Stored: never with invalid UTF-8 from the wire. */
        return b8_utf8_clean(p, apr_pstrdup(p, v->valuestring));
    }
    if (cJSON_IsNumber(v)) {
        return apr_psprintf(p, "%.0f", v->valuedouble);
    }
    return NULL;
}

/* The first of two places 8x8 may put a field (in status, or beside it). */
static const char *either(apr_pool_t *p, const cJSON *status, const cJSON *item, const char *key)
{
    const char *v = text_of(p, cJSON_GetObjectItemCaseSensitive(status, key));
    return v ? v : text_of(p, cJSON_GetObjectItemCaseSensitive(item, key));
}

static int is_refusal(const char *state)
{
    return state && (strcasecmp(state, "rejected") == 0 || strcasecmp(state, "failed") == 0
                     || strcasecmp(state, "error") == 0 || strcasecmp(state, "undeliverable") == 0);
}

void b8_eightx8_sms_parse_item(apr_pool_t *p, const cJSON *item, b8_sms_item *out)
{
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(item, "status");
    const char *state;

    memset(out, 0, sizeof(*out));
    out->client_message_id = text_of(p, cJSON_GetObjectItemCaseSensitive(item, "clientMessageId"));
    out->umid = text_of(p, cJSON_GetObjectItemCaseSensitive(item, "umid"));
    out->phone = text_of(p, cJSON_GetObjectItemCaseSensitive(item, "destination"));
    /* SMS says status.code "QUEUED"/"REJECTED"; Chat Apps style says
     * status.state; some answers put a bare string. */
    if (cJSON_IsString(status)) {
        state = status->valuestring;
    }
    else {
        state = b8_json_str(status, "code");
        if (!state) {
            state = b8_json_str(status, "state");
        }
    }
    if (is_refusal(state)) {
        out->outcome = B8_SMS_ITEM_REJECTED;
        out->error_code = either(p, status, item, "errorCode");
        out->error_message = either(p, status, item, "errorMessage");
        out->error_id = either(p, status, item, "errorId");
        if (!out->error_message) {
            out->error_message = either(p, status, item, "description");
        }
        if (!out->error_message) {
            out->error_message = "8x8 rejected this SMS.";
        }
    }
    else if (out->umid || (state && strcasecmp(state, "queued") == 0)) {
        out->outcome = B8_SMS_ITEM_QUEUED;
    }
    else {
        out->outcome = B8_SMS_ITEM_UNCLEAR;
    }
}

void b8_eightx8_sms_classify_single(apr_pool_t *p, const b8_http_response *res, b8_send_tries *tries,
                            b8_send_result *out)
{
    cJSON *body;
    b8_sms_item item;

    b8_eightx8_classify(p, res, tries, out);
    if (out->verdict != B8_SEND_ACCEPTED) {
        return;
    }
    body = b8_json_parse(p, res->body, res->body_len);
    b8_eightx8_sms_parse_item(p, body, &item);
    if (item.outcome == B8_SMS_ITEM_REJECTED) {
        out->verdict = B8_SEND_FAILED;
        out->umid = NULL;
        out->error_code = item.error_code;
        out->error_message = item.error_message;
        out->error_id = item.error_id;
        return;
    }
    out->umid = item.umid;
    out->state = "queued";
}

static long count_of(const cJSON *root, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    return cJSON_IsNumber(v) ? (long)v->valuedouble : -1;
}

int b8_eightx8_sms_parse_batch(apr_pool_t *p, const char *body, apr_size_t len, b8_sms_batch_answer *out)
{
    cJSON *root = b8_json_parse(p, body, len);
    const cJSON *list, *item;
    int i = 0;

    memset(out, 0, sizeof(*out));
    if (!cJSON_IsObject(root)) {
        return -1;
    }
    out->batch_id = text_of(p, cJSON_GetObjectItemCaseSensitive(root, "batchId"));
    out->accepted = count_of(root, "acceptedCount");
    out->rejected = count_of(root, "rejectedCount");
    list = cJSON_GetObjectItemCaseSensitive(root, "messages");
    if (cJSON_IsArray(list)) {
        out->listed = 1;
        out->items = apr_pcalloc(p, sizeof(b8_sms_item) * (apr_size_t)(cJSON_GetArraySize(list) + 1));
        cJSON_ArrayForEach(item, list) {
            if (cJSON_IsObject(item)) {
                b8_eightx8_sms_parse_item(p, item, &out->items[i++]);
            }
        }
        out->nitems = i;
    }
    return 0;
}
