#include "b8_eightx8.h"
#include "b8_metrics.h"
#include "b8_util.h"
#include "b8_settings.h"

#include <stdlib.h>
#include <string.h>
#include <apr_date.h>
#include <apr_escape.h>
#include <apr_strings.h>

/* ------------------------------------------------------------- settings */

const char *b8_eightx8_account_load(apr_pool_t *p, const b8_settings *s,
                                    b8_setting_id sub_account_key,
                                    b8_setting_id base_url_key, const char **api_key,
                                    const char **sub_account, const char **base_url,
                                    apr_interval_time_t *timeout)
{
    const b8_setting_id keys[] = { B8_SET_API_KEY, sub_account_key, base_url_key };
    const char **values[] = { api_key, sub_account, base_url };
    double seconds = b8_setting_number(s, B8_SET_HTTP_TIMEOUT);

    *timeout = (apr_interval_time_t)((seconds < 1 ? 1 : seconds) * APR_USEC_PER_SEC);
    for (int i = 0; i < 3; i++) {
        *values[i] = b8_setting_str(s, keys[i]);
    }
    for (int i = 0; i < 3; i++) {
        if (!*values[i] || !**values[i]) {
            const b8_setting_def *d = &b8_settings_table[keys[i]];
            return apr_psprintf(p, "The %s is not set: enter it in Settings or set %s in the "
                                "server config.", d->label, d->directive);
        }
    }
    return NULL;
}

const char *b8_eightx8_conf_load(apr_pool_t *p, const b8_settings *s, b8_eightx8_conf *out)
{
    apr_array_header_t *senders = b8_setting_list(p, s, B8_SET_SMS_SENDERS);

    memset(out, 0, sizeof(*out));
    out->sms_source = senders->nelts ? APR_ARRAY_IDX(senders, 0, const char *) : NULL;
    return b8_eightx8_account_load(p, s, B8_SET_VIBER_SUB_ACCOUNT, B8_SET_CHATAPPS_URL,
                                   &out->api_key, &out->sub_account, &out->base_url,
                                   &out->timeout);
}

/* ------------------------------------------------------------- payloads */

static int is_set(const char *s)
{
    return s && *s;
}

static cJSON *new_message(const char *phone, const char *client_message_id, const char *type,
                          cJSON **content)
{
    cJSON *msg = cJSON_CreateObject();
    cJSON *user = cJSON_AddObjectToObject(msg, "user");

    cJSON_AddStringToObject(user, "msisdn", phone);
    cJSON_AddStringToObject(msg, "clientMessageId", client_message_id);
    cJSON_AddStringToObject(msg, "type", type);
    *content = cJSON_AddObjectToObject(msg, "content");
    return msg;
}

static void add_button(cJSON *content, const char *caption, const char *url)
{
    cJSON *button = cJSON_AddObjectToObject(content, "button");
    cJSON_AddStringToObject(button, "caption", caption);
    cJSON_AddStringToObject(button, "action", url);
}

cJSON *b8_eightx8_text_message(const char *phone, const char *client_message_id,
                               const char *text, const char *button_caption,
                               const char *button_url)
{
    int button = is_set(button_caption) && is_set(button_url);
    cJSON *content;
    cJSON *msg = new_message(phone, client_message_id, button ? "buttons" : "text", &content);

    cJSON_AddStringToObject(content, "text", text ? text : "");
    if (button) {
        add_button(content, button_caption, button_url);
    }
    return msg;
}

/* A size or duration as the number 8x8's schema asks for. */
static void add_number(cJSON *o, const char *key, const char *digits)
{
    if (is_set(digits)) {
        cJSON_AddNumberToObject(o, key, strtod(digits, NULL));
    }
}

/* Shapes (8x8's Viber samples and the send schema): text {text}; text with
 * a button "buttons" {text, button}; image {url, text?}; image with a
 * button "buttons" {text, url, button}; video {url, video, text?,
 * button?}; file and audio "file" {url} (Viber has no audio type). A
 * button always comes with text: the campaign check requires a body. */
cJSON *b8_eightx8_campaign_message(apr_pool_t *p, const b8_campaign *c, const char *phone,
                                   const char *name, const char *client_message_id,
                                   const char *sms_source)
{
    const char *text = b8_campaign_expand(p, c->body ? c->body : "", name ? name : "", phone);
    int button = is_set(c->button_caption) && is_set(c->button_url);
    const char *type = c->type ? c->type : "text";
    cJSON *msg, *content;

    if (strcmp(type, "image") == 0) {
        msg = new_message(phone, client_message_id, button ? "buttons" : "image", &content);
        if (is_set(text)) {
            cJSON_AddStringToObject(content, "text", text);
        }
        b8_json_add_str(content, "url", c->url);
        if (button) {
            add_button(content, c->button_caption, c->button_url);
        }
    }
    else if (strcmp(type, "video") == 0) {
        cJSON *video;
        msg = new_message(phone, client_message_id, "video", &content);
        b8_json_add_str(content, "url", c->url);
        video = cJSON_AddObjectToObject(content, "video");
        add_number(video, "filesize", c->file_size);
        add_number(video, "duration", c->duration);
        if (is_set(c->thumbnail_url)) cJSON_AddStringToObject(video, "thumbnail", c->thumbnail_url);
        if (is_set(text)) {
            cJSON_AddStringToObject(content, "text", text);
        }
        if (button) {
            add_button(content, c->button_caption, c->button_url);
        }
    }
    else if (strcmp(type, "file") == 0 || strcmp(type, "audio") == 0) {
        /* Viber through 8x8 has no audio type: an audio file goes as a file. */
        msg = new_message(phone, client_message_id, "file", &content);
        b8_json_add_str(content, "url", c->url);
    }
    else {
        msg = new_message(phone, client_message_id, button ? "buttons" : "text", &content);
        cJSON_AddStringToObject(content, "text", text);
        if (button) {
            add_button(content, c->button_caption, c->button_url);
        }
    }
    if (is_set(c->fallback_text)) {
        /* 8x8's per-message fallback: Viber until delivered, SMS after
         * fallback_after seconds, with the SMS text and sender in content. */
        cJSON *channels = cJSON_AddArrayToObject(msg, "channels");
        cJSON *viber = cJSON_CreateObject(), *sms_channel = cJSON_CreateObject(), *sms;
        double after = is_set(c->fallback_after) ? strtod(c->fallback_after, NULL) : 60;

        cJSON_AddStringToObject(viber, "channel", "Viber");
        cJSON_AddNumberToObject(viber, "fallbackAfter", after);
        cJSON_AddStringToObject(viber, "successStatus", "Delivered");
        cJSON_AddItemToArray(channels, viber);
        cJSON_AddStringToObject(sms_channel, "channel", "SMS");
        cJSON_AddItemToArray(channels, sms_channel);
        cJSON_AddStringToObject(content, "fallbackText",
                                b8_campaign_expand(p, c->fallback_text, name ? name : "", phone));
        sms = cJSON_AddObjectToObject(content, "sms");
        cJSON_AddStringToObject(sms, "encoding", "AUTO");
        b8_json_add_str(sms, "source", sms_source);
    }
    return msg;
}

void b8_eightx8_request(apr_pool_t *p, const b8_eightx8_conf *conf, const char *body,
                        b8_http_request *req)
{
    memset(req, 0, sizeof(*req));
    req->url = apr_pstrcat(p, conf->base_url, "/api/v1/subaccounts/",
                           apr_pescape_path_segment(p, conf->sub_account), "/messages", NULL);
    req->bearer = conf->api_key;
    req->body = body;
    req->body_len = strlen(body);
    req->timeout = conf->timeout;
}

/* ------------------------------------------------------------- answers */

apr_interval_time_t b8_eightx8_retry_after(const char *value, apr_time_t now,
                                           apr_interval_time_t def)
{
    apr_interval_time_t wait = def;
    apr_interval_time_t max = apr_time_from_sec(B8_EIGHTX8_RETRY_AFTER_MAX);
    char *end;

    if (value && *value) {
        double secs = strtod(value, &end);
        if (end != value && *end == '\0') {
            if (secs >= 0) {
                wait = (apr_interval_time_t)(secs * APR_USEC_PER_SEC);
            }
        }
        else {
            apr_time_t at = apr_date_parse_rfc(value);
            if (at != APR_DATE_BAD) {
                wait = at > now ? at - now : 0;
            }
        }
    }
    return wait > max ? max : wait;
}

/* 8x8's error body: {"code": 1002, "message": "...", "errorId": "<uuid>"}. */
static void error_fields(apr_pool_t *p, const b8_http_response *res, const char **code,
                         const char **message, const char **error_id)
{
    cJSON *body = b8_json_parse(p, res->body, res->body_len);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(body, "code");
    const char *m = b8_json_str(body, "message");
    const char *eid = b8_json_str(body, "errorId");

    *code = NULL;
    *message = NULL;
    *error_id = eid && *eid ? apr_pstrdup(p, eid) : NULL;
    if (cJSON_IsNumber(c)) {
        *code = apr_psprintf(p, "%.0f", c->valuedouble);
    }
    else if (cJSON_IsString(c) && *c->valuestring) {
        *code = b8_utf8_clean(p, apr_pstrdup(p, c->valuestring));
    }
    /* Stored and shown: never with invalid UTF-8 from the wire. */
    if (m && *m) {
        *message = b8_utf8_clean(p, apr_pstrdup(p, m));
    }
}

static void accepted(apr_pool_t *p, const b8_http_response *res, b8_send_result *out)
{
    cJSON *body = b8_json_parse(p, res->body, res->body_len);
    const char *umid = b8_json_str(body, "umid");
    const char *state = b8_json_str(cJSON_GetObjectItemCaseSensitive(body, "status"), "state");

    if (!state) {
        state = b8_json_str(body, "state");
    }
    out->verdict = B8_SEND_ACCEPTED;
    out->umid = umid && *umid ? apr_pstrdup(p, umid) : NULL;
    out->state = apr_pstrdup(p, state && *state ? state : "queued");
}

static apr_interval_time_t backoff(int tries)
{
    apr_interval_time_t wait = apr_time_from_msec(B8_EIGHTX8_BACKOFF_MS);
    for (int i = 1; i < tries && i < 20; i++) {
        wait *= 2;
    }
    return wait > apr_time_from_sec(B8_EIGHTX8_BACKOFF_MAX)
        ? apr_time_from_sec(B8_EIGHTX8_BACKOFF_MAX) : wait;
}

static apr_interval_time_t retry_window = apr_time_from_sec(B8_EIGHTX8_RETRY_WINDOW_DEFAULT);

void b8_eightx8_set_retry_window(apr_interval_time_t window)
{
    retry_window = window < apr_time_from_sec(1) ? apr_time_from_sec(1) : window;
}

apr_interval_time_t b8_eightx8_retry_window(void)
{
    return retry_window;
}

const char *b8_eightx8_refusal_text(apr_pool_t *p, const b8_send_result *r)
{
    const char *msg = r->error_message ? r->error_message : "refused";
    return r->error_code ? apr_psprintf(p, "8x8 code %s: %s", r->error_code, msg)
                         : apr_psprintf(p, "HTTP %ld: %s", r->http_status, msg);
}

int b8_eightx8_account_refusal(long http_status, const char *code)
{
    static const char *const codes[] = { "1001", "1014", "1200", "1201" };

    if (http_status == 401 || http_status == 403 || http_status == 426) {
        return 1;
    }
    for (size_t i = 0; code && i < sizeof(codes) / sizeof(codes[0]); i++) {
        if (strcmp(code, codes[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

/* A 5xx or a connection failure: retried with backoff while the first of
 * them is younger than the retry window, then failed. */
static void outage(apr_pool_t *p, b8_send_tries *tries, b8_send_result *out)
{
    apr_time_t now = apr_time_now();

    tries->tries++;
    out->unreachable = 1;
    if (!tries->failing_since) {
        tries->failing_since = now;
    }
    if (now - tries->failing_since >= retry_window) {
        out->verdict = B8_SEND_FAILED;
        out->error_message = apr_psprintf(p, "%s (%d attempts in %.0f s).", out->error_message,
                                          tries->tries,
                                          (double)(now - tries->failing_since) / APR_USEC_PER_SEC);
        return;
    }
    out->verdict = B8_SEND_RETRY;
    out->retry_in = backoff(tries->tries);
}

void b8_eightx8_classify(apr_pool_t *p, const b8_http_response *res, b8_send_tries *tries,
                         b8_send_result *out)
{
    memset(out, 0, sizeof(*out));
    out->http_status = res->status;

    if (res->outcome == B8_HTTP_MAYBE_SENT) {
        out->verdict = B8_SEND_UNKNOWN;
        out->error_message = apr_psprintf(p, "No answer from 8x8 (%s); the message may have "
                                          "been sent.", res->error ? res->error : "connection lost");
        return;
    }
    if (res->outcome == B8_HTTP_NOT_SENT) {
        out->error_message = apr_psprintf(p, "Could not reach 8x8: %s",
                                          res->error ? res->error : "connection failed");
        outage(p, tries, out);
        return;
    }
    if (res->status < 500) {
        tries->failing_since = 0;   /* 8x8 answers again */
    }
    if (res->status >= 200 && res->status < 300) {
        accepted(p, res, out);
        return;
    }
    error_fields(p, res, &out->error_code, &out->error_message, &out->error_id);
    if (!out->error_message) {
        out->error_message = apr_psprintf(p, "8x8 answered HTTP %ld.", res->status);
    }
    if (res->status == 429) {
        tries->rate_limited++;
        out->rate_limited = 1;
        if (tries->rate_limited >= B8_EIGHTX8_MAX_RATE_LIMITED) {
            out->verdict = B8_SEND_FAILED;
            out->error_message = apr_psprintf(p, "8x8 kept answering HTTP 429 (too many "
                                              "requests): %s", out->error_message);
            return;
        }
        out->verdict = B8_SEND_RETRY;
        out->retry_in = b8_eightx8_retry_after(res->retry_after, apr_time_now(),
                                               apr_time_from_sec(1));
        return;
    }
    if (res->status >= 500) {
        out->error_message = apr_psprintf(p, "8x8 answered HTTP %ld: %s", res->status,
                                          out->error_message);
        outage(p, tries, out);
        return;
    }
    /* The account, not this message: the sender pauses, the row waits. */
    if (b8_eightx8_account_refusal(res->status, out->error_code)) {
        out->verdict = B8_SEND_ACCOUNT;
        return;
    }
    /* Any other answer is 8x8 refusing this message: final. */
    out->verdict = B8_SEND_FAILED;
}

void b8_eightx8_send_now(apr_pool_t *p, const b8_eightx8_conf *conf, const cJSON *message,
                         b8_send_result *out)
{
    b8_http_client *client = b8_http_thread_client();
    b8_send_tries tries = { 0, 0, 0 };
    b8_http_request req;
    b8_http_response res;

    if (!client) {
        memset(out, 0, sizeof(*out));
        out->verdict = B8_SEND_FAILED;
        out->error_message = "Cannot create an HTTP client (out of memory).";
        return;
    }
    b8_eightx8_request(p, conf, b8_json_print(p, message), &req);
    b8_http_perform(client, p, &req, &res);
    b8_metrics_eightx8(B8_API_CHATAPPS, res.status);
    b8_eightx8_classify(p, &res, &tries, out);
}
