/* The webhook's core. Parsing is pure (no database), so the fuzz target can
 * feed it anything; storing does all of one event's writes in one short
 * transaction. Message texts are never logged above debug. */
#include "b8_webhook.h"
#include "b8_results.h"
#include "b8_conversations.h"
#include "b8_crypto.h"
#include "b8_log.h"
#include "b8_phone.h"
#include "b8_settings.h"
#include "b8_sms.h"
#include "b8_suppressions.h"
#include "b8_util.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>

/* ------------------------------------------------------------- parsing */

/* Checks what cJSON would let through: nesting depth (cJSON's own limit is
 * 1000 levels, walked recursively) and \u0000 escapes, which would cut a
 * string short. Brackets inside strings do not count. */
static const char *prescan(const char *s, apr_size_t len)
{
    int depth = 0, in_string = 0;

    for (apr_size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\') {
                if (i + 5 < len && s[i + 1] == 'u' && memcmp(s + i + 2, "0000", 4) == 0) {
                    return "the JSON contains a NUL character (\\u0000)";
                }
                i++;   /* the escaped character cannot end the string */
            }
            else if (c == '"') {
                in_string = 0;
            }
            continue;
        }
        if (c == '"') {
            in_string = 1;
        }
        else if (c == '{' || c == '[') {
            if (++depth > B8_WEBHOOK_MAX_DEPTH) {
                return "the JSON is nested deeper than 32 levels";
            }
        }
        else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return NULL;
}

/* Validation state: the first problem found wins. */
typedef struct {
    apr_pool_t *p;
    const char *why;
} checker;

static void problem(checker *v, const char *path, const char *key, const char *what)
{
    if (!v->why) {
        v->why = apr_psprintf(v->p, "%s%s %s", path, key, what);
    }
}

static const cJSON *item(const cJSON *obj, const char *key)
{
    const cJSON *it = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    return it && !cJSON_IsNull(it) ? it : NULL;
}

/* A field of the JSON type is_type tells; NULL when absent or null, and a
 * problem ("must be ...") when of another type. */
static const cJSON *typed_field(checker *v, const cJSON *obj, const char *path, const char *key,
                                int required, cJSON_bool (*is_type)(const cJSON *),
                                const char *must_be)
{
    const cJSON *it = item(obj, key);
    if (!it) {
        if (required) {
            problem(v, path, key, "is missing");
        }
        return NULL;
    }
    if (!is_type(it)) {
        problem(v, path, key, must_be);
        return NULL;
    }
    return it;
}

/* A string field (copied into the pool). */
static const char *str_field(checker *v, const cJSON *obj, const char *path, const char *key,
                             int required)
{
    const cJSON *it = typed_field(v, obj, path, key, required, cJSON_IsString,
                                  "must be a string");
    return it ? apr_pstrdup(v->p, it->valuestring) : NULL;
}

static const cJSON *obj_field(checker *v, const cJSON *obj, const char *path, const char *key,
                              int required)
{
    return typed_field(v, obj, path, key, required, cJSON_IsObject, "must be an object");
}

/* libc's %g: APR's drops the leading zero of 0.5. */
static const char *number_text(apr_pool_t *p, double d)
{
    char buf[64];
    snprintf(buf, sizeof(buf), "%.10g", d);
    return apr_pstrdup(p, buf);
}

/* 8x8 sends error codes as numbers; older formats as strings. */
static const char *code_field(checker *v, const cJSON *obj, const char *path, const char *key)
{
    const cJSON *it = item(obj, key);
    if (!it) {
        return NULL;
    }
    if (cJSON_IsNumber(it)) {
        return number_text(v->p, it->valuedouble);
    }
    if (cJSON_IsString(it)) {
        return apr_pstrdup(v->p, it->valuestring);
    }
    problem(v, path, key, "must be a number or a string");
    return NULL;
}

/* An ISO 8601 time as our UTC text; NULL when absent or unreadable (the raw
 * JSON keeps it). */
static const char *time_field(checker *v, const cJSON *obj, const char *path, const char *key)
{
    const char *s = str_field(v, obj, path, key, 0);
    apr_time_t t;
    return s && b8_time_parse(s, &t) ? b8_time_iso(v->p, t) : NULL;
}

static const char *lowercase(apr_pool_t *p, const char *s)
{
    char *out = apr_pstrdup(p, s);
    for (char *c = out; *c; c++) {
        *c = (char)tolower((unsigned char)*c);
    }
    return out;
}

/* SMS price: "<total> <currency>". */
static const char *price_field(checker *v, const cJSON *payload)
{
    const cJSON *price = obj_field(v, payload, "payload.", "price", 0);
    const cJSON *total;
    const char *currency;

    if (!price) {
        return NULL;
    }
    total = item(price, "total");
    currency = str_field(v, price, "payload.price.", "currency", 0);
    if (total && !cJSON_IsNumber(total)) {
        problem(v, "payload.price.", "total", "must be a number");
        return NULL;
    }
    if (!total) {
        return NULL;
    }
    return currency ? apr_pstrcat(v->p, number_text(v->p, total->valuedouble), " ", currency, NULL)
                    : number_text(v->p, total->valuedouble);
}

static void parse_receipt(checker *v, const cJSON *payload, b8_event *ev)
{
    b8_receipt *rc = &ev->receipt;
    const cJSON *status;

    rc->namespace_name = ev->namespace_name;
    rc->umid = str_field(v, payload, "payload.", "umid", 0);
    rc->client_message_id = str_field(v, payload, "payload.", "clientMessageId", 0);
    if (!v->why && !(rc->umid && *rc->umid) && !(rc->client_message_id && *rc->client_message_id)) {
        problem(v, "payload.", "umid", "is missing (and so is payload.clientMessageId)");
    }
    status = obj_field(v, payload, "payload.", "status", 1);
    rc->state = str_field(v, status, "payload.status.", "state", 1);
    rc->detail = str_field(v, status, "payload.status.", "detail", 0);
    rc->event_at = time_field(v, status, "payload.status.", "timestamp");
    /* Error details sit in status (current format) or beside it (older). */
    rc->error_code = code_field(v, status, "payload.status.", "errorCode");
    if (!rc->error_code) {
        rc->error_code = code_field(v, payload, "payload.", "errorCode");
    }
    rc->error_message = str_field(v, status, "payload.status.", "errorMessage", 0);
    if (!rc->error_message) {
        rc->error_message = str_field(v, payload, "payload.", "errorMessage", 0);
    }
    rc->price = price_field(v, payload);
    /* Which channel this is about: a Viber message with SMS fallback gets
     * receipts from both (ChatApps names it; an SMS receipt is SMS's). */
    {
        const char *channel = str_field(v, payload, "payload.", "channel", 0);
        int sms = ev->namespace_name && strcmp(ev->namespace_name, "SMS") == 0;
        rc->channel = sms ? "sms" : channel && *channel ? lowercase(v->p, channel) : NULL;
    }
    if (rc->umid && !*rc->umid) {
        rc->umid = NULL;
    }
    if (rc->client_message_id && !*rc->client_message_id) {
        rc->client_message_id = NULL;
    }
}

/* What an inbound message of another type than Text shows: the location,
 * the button chosen, the media URL, a caption or a payload. */
static const char *content_text(checker *v, const cJSON *content)
{
    const cJSON *loc = obj_field(v, content, "payload.content.", "location", 0);
    const cJSON *interactive = obj_field(v, content, "payload.content.", "interactive", 0);
    const char *s;

    if (loc) {
        const cJSON *lat = item(loc, "latitude"), *lon = item(loc, "longitude");
        if (cJSON_IsNumber(lat) && cJSON_IsNumber(lon)) {
            return apr_pstrcat(v->p, number_text(v->p, lat->valuedouble), ",",
                               number_text(v->p, lon->valuedouble), NULL);
        }
    }
    if (interactive) {
        static const char *const replies[] = { "button_reply", "list_reply" };
        for (size_t i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
            const cJSON *reply = item(interactive, replies[i]);
            if (cJSON_IsObject(reply) && cJSON_IsString(item(reply, "title"))) {
                return apr_pstrdup(v->p, item(reply, "title")->valuestring);
            }
        }
        /* WhatsApp Flow answers and call permission replies. */
        {
            const cJSON *nfm = item(interactive, "nfmReply");
            const cJSON *call = item(interactive, "callPermissionReply");
            if (cJSON_IsObject(nfm) && cJSON_IsString(item(nfm, "responseJson"))) {
                return apr_pstrdup(v->p, item(nfm, "responseJson")->valuestring);
            }
            if (cJSON_IsObject(call) && cJSON_IsString(item(call, "response"))) {
                return apr_pstrcat(v->p, "call permission: ", item(call, "response")->valuestring,
                                   NULL);
            }
        }
    }
    if ((s = str_field(v, content, "payload.content.", "url", 0)) != NULL
        || (s = str_field(v, content, "payload.content.", "text", 0)) != NULL) {
        return s;
    }
    return str_field(v, content, "payload.content.", "payload", 0);
}

static void set_phone(checker *v, b8_event *ev, const char *field, const char *input,
                      const char *default_country)
{
    const char *why = NULL;

    if (!input) {
        return;
    }
    ev->phone = b8_phone_e164(v->p, input, default_country, &why);
    if (!ev->phone) {
        if (!v->why) {
            v->why = apr_psprintf(v->p, "%s is not a phone number (%s)", field,
                                  why ? why : "invalid");
        }
        return;
    }
    ev->phone_key = b8_phone_match_key(v->p, ev->phone, default_country);
}

/* A sender without a phone number: its conversation key, never digits
 * only, so it matches no contact and no phone ("@line:U4f2...").*/
static void set_sender(checker *v, b8_event *ev, const char *sender)
{
    ev->phone = NULL;
    ev->phone_key = apr_pstrcat(v->p, "@", ev->channel, ":", sender, NULL);
    if (!ev->name || !*ev->name) {
        ev->name = sender;
    }
}

static void parse_inbound_chatapps(checker *v, const cJSON *payload, b8_event *ev,
                                   const char *default_country)
{
    const cJSON *user = obj_field(v, payload, "payload.", "user", 0);
    const cJSON *recipient = obj_field(v, payload, "payload.", "recipient", 0);
    const cJSON *content = obj_field(v, payload, "payload.", "content", 0);
    const char *type = str_field(v, payload, "payload.", "type", 1);
    const char *channel = str_field(v, recipient, "payload.recipient.", "channel", 0);
    const char *msisdn = str_field(v, user, "payload.user.", "msisdn", 0);

    ev->name = str_field(v, user, "payload.user.", "name", 0);
    ev->channel = channel && *channel ? lowercase(v->p, channel) : "viber";
    if (msisdn) {
        set_phone(v, ev, "payload.user.msisdn", msisdn, default_country);
    }
    else {
        /* Channels without phone numbers (LINE, WhatsApp by username...):
         * kept, with whatever names the sender (v3 leaves out empty fields). */
        const char *username = str_field(v, user, "payload.user.", "username", 0);
        const char *id = str_field(v, user, "payload.user.", "channelUserId", 0);
        const char *sender = username && *username ? username : id && *id ? id : NULL;
        if (!sender) {
            sender = str_field(v, recipient, "payload.recipient.", "channelId", 0);
        }
        set_sender(v, ev, sender && *sender ? sender : "unknown");
    }
    if (!type) {
        return;
    }
    ev->type = lowercase(v->p, type);
    if (strcmp(ev->type, "text") == 0) {
        if (!content) {
            problem(v, "payload.", "content", "is missing");
            return;
        }
        ev->text = str_field(v, content, "payload.content.", "text", 1);
    }
    else if (content) {
        ev->text = content_text(v, content);
    }
}

/* An SMS sender that is no phone number: letters (an alphanumeric sender
 * ID such as "GLOBE") or at most 6 digits (a short code such as "2882"). */
static int sms_sender_is_named(const char *source)
{
    apr_size_t digits = 0;
    for (const char *c = source; *c; c++) {
        if (isalpha((unsigned char)*c)) {
            return 1;
        }
        if (isdigit((unsigned char)*c)) {
            digits++;
        }
    }
    return digits <= 6;
}

static void parse_inbound_sms(checker *v, const cJSON *payload, b8_event *ev,
                              const char *default_country)
{
    const char *source = str_field(v, payload, "payload.", "source", 1);

    ev->text = str_field(v, payload, "payload.", "body", 1);
    ev->channel = "sms";
    ev->type = "text";
    if (!source) {
        return;
    }
    if (!*source) {
        problem(v, "payload.", "source", "is empty");
    }
    else if (sms_sender_is_named(source)
             || !b8_phone_e164(v->p, source, default_country, NULL)) {
        /* Answered 200 and kept: a 400 only makes 8x8 retry, then drop it. */
        set_sender(v, ev, source);
    }
    else {
        set_phone(v, ev, "payload.source", source, default_country);
    }
}

static void parse_inbound(checker *v, const cJSON *payload, b8_event *ev,
                          const char *default_country)
{
    ev->umid = str_field(v, payload, "payload.", "umid", 1);
    if (ev->umid && !*ev->umid) {
        problem(v, "payload.", "umid", "is empty");
    }
    ev->event_at = time_field(v, payload, "payload.", "timestamp");
    if (strcmp(ev->namespace_name, "SMS") == 0) {
        parse_inbound_sms(v, payload, ev, default_country);
    }
    else {
        parse_inbound_chatapps(v, payload, ev, default_country);
    }
}

static void parse_event(checker *v, const cJSON *root, b8_event *ev, const char *default_country)
{
    const cJSON *payload;

    ev->event_type = str_field(v, root, "", "eventType", 1);
    if (!ev->event_type) {
        return;
    }
    if (strcmp(ev->event_type, "outbound_message_status_changed") == 0) {
        ev->kind = B8_EVENT_RECEIPT;
    }
    else if (strcmp(ev->event_type, "inbound_message_received") == 0) {
        ev->kind = B8_EVENT_INBOUND;
    }
    else {
        ev->kind = B8_EVENT_UNKNOWN;   /* its payload is none of our business */
        return;
    }
    ev->namespace_name = str_field(v, root, "", "namespace", 0);
    if (!ev->namespace_name) {
        ev->namespace_name = "ChatApps";
    }
    else if (strcmp(ev->namespace_name, "ChatApps") != 0 && strcmp(ev->namespace_name, "SMS") != 0) {
        problem(v, "", "namespace", "must be ChatApps or SMS");
        return;
    }
    if (item(root, "version") && !cJSON_IsNumber(item(root, "version"))) {
        problem(v, "", "version", "must be a number");
        return;
    }
    payload = obj_field(v, root, "", "payload", 1);
    if (!payload) {
        return;
    }
    if (ev->kind == B8_EVENT_RECEIPT) {
        parse_receipt(v, payload, ev);
    }
    else {
        parse_inbound(v, payload, ev, default_country);
    }
}

const char *b8_webhook_parse(apr_pool_t *p, const char *body, apr_size_t len,
                             const char *default_country, b8_event *ev)
{
    checker v = { p, NULL };
    const char *why, *end = NULL;
    cJSON *root;

    memset(ev, 0, sizeof(*ev));
    if (len == 0) {
        return "the body is empty";
    }
    if (!b8_utf8_valid(body, len)) {
        return "the body is not valid UTF-8 text (or contains a NUL byte)";
    }
    if ((why = prescan(body, len)) != NULL) {
        return why;
    }
    root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (!root) {
        return "the body is not valid JSON";
    }
    b8_json_pool_owned(p, root);
    for (; end && end < body + len; end++) {
        if (!isspace((unsigned char)*end)) {
            return "the body has text after the JSON value";
        }
    }
    if (!cJSON_IsObject(root)) {
        return "the body must be a JSON object";
    }
    parse_event(&v, root, ev, default_country);
    if (v.why) {
        return v.why;
    }
    ev->raw = apr_pstrmemdup(p, body, len);
    return NULL;
}

/* ------------------------------------------------------------- storing */

/* An 8x8 id for the log: printable and short, whatever was sent. */
static const char *loggable(const char *s)
{
    apr_size_t n;
    if (!s) {
        return "-";
    }
    n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:");
    return s[n] == '\0' && n > 0 && n <= 64 ? s : "(unprintable)";
}

typedef struct {
    const b8_receipt *receipt;
    int matched, changed;
} receipt_work;

static apr_status_t record_receipt(b8_db *db, apr_pool_t *p, void *arg)
{
    receipt_work *w = arg;
    return b8_receipt_record(db, p, w->receipt, &w->matched, &w->changed);
}

static apr_status_t record_receipts(b8_db *db, apr_pool_t *p, void *const *args, int n,
                                    int *done)
{
    const b8_receipt **rcs = apr_palloc(p, sizeof(*rcs) * (apr_size_t)n);
    int *matched = apr_palloc(p, sizeof(*matched) * (apr_size_t)n);
    int *changed = apr_palloc(p, sizeof(*changed) * (apr_size_t)n);
    apr_status_t rv;

    for (int i = 0; i < n; i++) {
        rcs[i] = ((receipt_work *)args[i])->receipt;
    }
    if ((rv = b8_receipts_record_batch(db, p, rcs, n, matched, changed, done)) == APR_SUCCESS) {
        for (int i = 0; i < n; i++) {
            ((receipt_work *)args[i])->matched = matched[i];
            ((receipt_work *)args[i])->changed = changed[i];
        }
    }
    return rv;
}

/* Receipts come in floods (a campaign's every recipient, several times):
 * the ones arriving together share one transaction and one commit (on
 * PostgreSQL one statement). */
static b8_errkind store_receipt(b8_ctx *ctx, const b8_event *ev, b8_err *err)
{
    const b8_receipt *rc = &ev->receipt;
    receipt_work w = { .receipt = rc };

    if (b8_db_group_write(ctx->db, record_receipt, record_receipts, &w) != APR_SUCCESS) {
        B8_LOG(B8_LOG_ERR, 0, "B8-1510: cannot store the receipt for umid %s",
               loggable(rc->umid));
        return b8_fail_db(err, ctx->db);
    }
    if (!w.matched) {
        B8_LOG(B8_LOG_INFO, 0, "B8-1512: receipt (%s) for a message we do not know yet, umid %s "
               "clientMessageId %s: kept to settle it later", loggable(rc->state),
               loggable(rc->umid), loggable(rc->client_message_id));
    }
    else {
        B8_LOG(B8_LOG_DEBUG, 0, "B8-1513: receipt %s for umid %s %s",
               loggable(rc->state), loggable(rc->umid),
               w.changed ? "applied" : "changed nothing (not a step forward)");
    }
    return B8_OK;
}

typedef enum { KEYWORD_NONE, KEYWORD_STOP, KEYWORD_START } keyword;

/* STOP / UNSUBSCRIBE / START, as the whole message, trimmed, in any case. */
static keyword keyword_of(apr_pool_t *p, const b8_event *ev)
{
    const char *t;
    /* A sender without a phone number has no contact to opt out. */
    if (!ev->phone || !ev->text || strcmp(ev->type, "text") != 0 || strlen(ev->text) > 64) {
        return KEYWORD_NONE;
    }
    t = b8_trim(p, ev->text);
    if (strcasecmp(t, "stop") == 0 || strcasecmp(t, "unsubscribe") == 0) {
        return KEYWORD_STOP;
    }
    return strcasecmp(t, "start") == 0 ? KEYWORD_START : KEYWORD_NONE;
}

typedef struct {
    const char *id;
    int opted_out;
} contact_ref;

/* The sender's contact, and whether the phone is on the suppression list
 * (a deleted contact's opt-out stays). */
static apr_status_t find_contact(b8_ctx *ctx, const b8_event *ev, contact_ref *c)
{
    const char *args[] = { ev->phone_key };
    b8_rows *rows;
    apr_status_t rv = b8_db_select(ctx->db, ctx->pool, B8_SQL_INBOUND_CONTACT_BY_KEY, args, &rows);

    c->id = NULL;
    c->opted_out = 0;
    if (rv == APR_SUCCESS && rows->nrows > 0) {
        c->id = B8_GET(rows, 0, INBOUND_CONTACT, id);
        c->opted_out = B8_GET(rows, 0, INBOUND_CONTACT, opted_out)
            && strcmp(B8_GET(rows, 0, INBOUND_CONTACT, opted_out), "0") != 0;
    }
    if (rv == APR_SUCCESS && !c->opted_out && ev->phone) {
        rv = b8_suppression_has(ctx->db, ctx->pool, ev->phone, &c->opted_out);
    }
    return rv;
}

/* STOP opts the contact out (creating it when unknown); START opts it in. */
static apr_status_t apply_keyword(b8_ctx *ctx, const b8_event *ev, keyword kw, contact_ref *c,
                                  const char *now)
{
    int out = kw == KEYWORD_STOP;
    const char *flag = out ? "1" : "0", *since = out ? now : NULL;
    apr_status_t rv;

    /* The list holds the opt-out, contact or not. */
    if ((rv = b8_suppression_set(ctx->db, ctx->pool, ev->phone, out,
                                 apr_pstrcat(ctx->pool, "replied ", ev->text ? b8_trim(ctx->pool,
                                             ev->text) : "STOP", NULL), now)) != APR_SUCCESS) {
        return rv;
    }
    if (c->id) {
        const char *args[] = { flag, since, now, c->id };
        if (c->opted_out == out) {
            return APR_SUCCESS;   /* already so: keep the first opt-out time */
        }
        c->opted_out = out;
        return b8_db_exec(ctx->db, ctx->pool, B8_SQL_INBOUND_CONTACT_OPT, args, NULL);
    }
    {
        const char *args[] = { ev->name ? ev->name : "", ev->phone, ev->phone_key, flag, since,
                               now, now };
        c->opted_out = out;
        return b8_db_value(ctx->db, ctx->pool, B8_SQL_INBOUND_CONTACT_CREATE, args, &c->id);
    }
}

/* AI lane: text from a subscribed Viber (Chat Apps) sender while the switch
 * is on. Opt-in/out keywords, opted-out senders, other types and SMS are
 * not for the AI. */
static const char *ai_state_of(b8_ctx *ctx, const b8_event *ev, keyword kw, const contact_ref *c)
{
    if (kw != KEYWORD_NONE || c->opted_out || !ev->phone || strcmp(ev->type, "text") != 0
        || strcmp(ev->namespace_name, "ChatApps") != 0 || strcmp(ev->channel, "viber") != 0) {
        return "skipped";   /* the AI answers on Viber only */
    }
    return b8_setting_bool(ctx->settings, B8_SET_AI_RESPOND) ? "new" : "not_answered";
}

/* The SMS answer to STOP/START by SMS: a send of one row from the first
 * SMS sender, ready for the SMS lane when the transaction commits. */
static apr_status_t queue_sms_confirmation(b8_ctx *ctx, const b8_event *ev, const char *text,
                                           const char *inbound_id, const char *contact_id,
                                           const char *now)
{
    apr_array_header_t *senders = b8_setting_list(ctx->pool, ctx->settings, B8_SET_SMS_SENDERS);
    const char *cmid = b8_uuid4(ctx->pool), *batch = NULL, *sender;
    b8_sms_count n;
    apr_status_t rv;

    if (!senders || senders->nelts == 0) {
        B8_LOG(B8_LOG_ERR, 0, "B8-4300: cannot answer STOP/START by SMS: no SMS sender is set");
        return APR_EGENERAL;
    }
    if (!cmid || b8_sms_count_text(text, &n) != 0) {
        return APR_EGENERAL;
    }
    sender = APR_ARRAY_IDX(senders, 0, const char *);
    {
        const char *args[] = { sender, text, NULL, now, now };
        if ((rv = b8_db_value(ctx->db, ctx->pool, B8_SQL_SMS_BATCH_INSERT, args, &batch))
            != APR_SUCCESS || !batch) {
            return rv != APR_SUCCESS ? rv : APR_EGENERAL;
        }
    }
    {
        const char *args[] = { batch, inbound_id, contact_id, ev->phone, ev->phone_key, ev->name,
                               text, sender, b8_sms_encoding_name(n.encoding),
                               apr_itoa(ctx->pool, n.parts), cmid, now, now };
        if ((rv = b8_db_exec(ctx->db, ctx->pool, B8_SQL_INBOUND_SMS_CONFIRMATION_INSERT, args,
                             NULL)) != APR_SUCCESS) {
            return rv;
        }
    }
    {
        const char *args[] = { "1", now, batch };
        return b8_db_exec(ctx->db, ctx->pool, B8_SQL_SMS_BATCH_READY, args, NULL);
    }
}

/* The answer goes back on the channel the keyword came by (SMS or Viber). */
static apr_status_t queue_confirmation(b8_ctx *ctx, const b8_event *ev, keyword kw,
                                       const char *inbound_id, const char *contact_id,
                                       const char *now)
{
    const char *text = kw == KEYWORD_STOP ? B8_OPT_OUT_REPLY : B8_OPT_IN_REPLY;
    const char *cmid;

    if (strcmp(ev->namespace_name, "SMS") == 0) {
        return queue_sms_confirmation(ctx, ev, text, inbound_id, contact_id, now);
    }
    if (strcmp(ev->channel, "viber") != 0) {
        /* A channel we do not send on (WhatsApp...): the opt-out holds, and
         * no Viber message surprises someone who never wrote on Viber. */
        return APR_SUCCESS;
    }
    cmid = b8_uuid4(ctx->pool);
    if (!cmid) {
        return APR_EGENERAL;
    }
    {
        const char *args[] = { inbound_id, contact_id, ev->phone, ev->phone_key, ev->name, text,
                               cmid, now, now };
        return b8_db_exec(ctx->db, ctx->pool, B8_SQL_INBOUND_CONFIRMATION_INSERT, args, NULL);
    }
}

/* The writes of one inbound message; the caller owns the transaction.
 * *inserted is 0 when the UMID was already stored. */
static apr_status_t inbound_writes(b8_ctx *ctx, const b8_event *ev, int *inserted, int *wake)
{
    const char *now = b8_now_iso(ctx->pool), *inbound_id = NULL, *ai_state;
    keyword kw = keyword_of(ctx->pool, ev);
    contact_ref c;
    apr_status_t rv;
    int noted = 0;

    *inserted = 0;
    if ((rv = find_contact(ctx, ev, &c)) != APR_SUCCESS
        || (kw != KEYWORD_NONE && (rv = apply_keyword(ctx, ev, kw, &c, now)) != APR_SUCCESS)) {
        return rv;
    }
    ai_state = ai_state_of(ctx, ev, kw, &c);
    {
        const char *args[] = {
            ev->umid, ev->namespace_name, ev->channel, ev->phone, ev->phone_key, ev->name,
            ev->type, ev->text, ev->raw, ev->event_at, now, c.id, ai_state
        };
        if ((rv = b8_db_value(ctx->db, ctx->pool, B8_SQL_INBOUND_INSERT, args, &inbound_id))
            != APR_SUCCESS || !inbound_id) {
            return rv;   /* no id: stored by a request that ran at the same time */
        }
    }
    *inserted = 1;
    if (kw != KEYWORD_NONE
        && (rv = queue_confirmation(ctx, ev, kw, inbound_id, c.id, now)) != APR_SUCCESS) {
        return rv;
    }
    /* Issue 19: a reply counts for the latest campaign that reached this
     * phone in the window; STOP/START are not engagement. */
    if (kw == KEYWORD_NONE) {
        const char *campaign_id = NULL;
        long days = b8_setting_int(ctx->settings, B8_SET_ATTRIBUTION_DAYS);
        if ((rv = b8_reply_attribute(ctx->db, ctx->pool, inbound_id, ev->phone_key, days,
                                     &campaign_id)) != APR_SUCCESS) {
            return rv;
        }
        if (campaign_id) {
            B8_LOG(B8_LOG_INFO, 0, "B8-4910: inbound %s attributed to campaign %s", inbound_id,
                   campaign_id);
        }
    }
    /* Its conversation; the AI stands back while an agent handles it. */
    if ((rv = b8_conv_inbound(ctx->db, ctx->pool, ctx->settings, ev->phone_key,
                              ev->phone, ev->name, c.id, inbound_id, ai_state, ev->text,
                              &noted)) != APR_SUCCESS) {
        return rv;
    }
    *wake = kw != KEYWORD_NONE || strcmp(ai_state, "new") == 0 || noted;
    B8_LOG(B8_LOG_INFO, 0, "B8-1520: inbound %s message umid %s stored (inbound %s, AI %s%s)",
           loggable(ev->type), loggable(ev->umid), inbound_id, ai_state,
           kw == KEYWORD_STOP ? ", opted out" : kw == KEYWORD_START ? ", opted in" : "");
    return APR_SUCCESS;
}

static b8_errkind store_inbound(b8_ctx *ctx, const b8_event *ev, int *wake, b8_err *err)
{
    const char *args[] = { ev->umid };
    const char *seen = NULL;
    int inserted = 0;

    /* 8x8 retries: a repeat is answered without taking the write lock. */
    if (b8_db_value(ctx->db, ctx->pool, B8_SQL_INBOUND_EXISTS, args, &seen) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if (seen) {
        B8_LOG(B8_LOG_DEBUG, 0, "B8-1521: inbound umid %s was already stored",
               loggable(ev->umid));
        return B8_OK;
    }
    if (b8_db_begin(ctx->db) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if (inbound_writes(ctx, ev, &inserted, wake) != APR_SUCCESS) {
        b8_db_rollback(ctx->db);
        *wake = 0;
        B8_LOG(B8_LOG_ERR, 0, "B8-1522: cannot store inbound umid %s",
               loggable(ev->umid));
        return b8_fail_db(err, ctx->db);
    }
    if (!inserted) {
        b8_db_rollback(ctx->db);   /* a concurrent copy won: undo our contact changes */
        return B8_OK;
    }
    if (b8_db_commit(ctx->db) != APR_SUCCESS) {
        *wake = 0;
        B8_LOG(B8_LOG_ERR, 0, "B8-1523: cannot commit inbound umid %s",
               loggable(ev->umid));
        return b8_fail_db(err, ctx->db);
    }
    return B8_OK;
}

b8_errkind b8_webhook_store(b8_ctx *ctx, const b8_event *ev, int *wake, b8_err *err)
{
    *wake = 0;
    switch (ev->kind) {
    case B8_EVENT_RECEIPT:
        return store_receipt(ctx, ev, err);
    case B8_EVENT_INBOUND:
        return store_inbound(ctx, ev, wake, err);
    default:
        B8_LOG(B8_LOG_INFO, 0, "B8-1530: webhook event type %s ignored (answered 200)",
               loggable(ev->event_type));
        return B8_OK;
    }
}
