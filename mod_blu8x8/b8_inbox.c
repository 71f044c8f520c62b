/* The Inbox: the inbound API and the conversations of the Inbox page.
 * Texts are returned as stored; the templates escape them. */
#include "b8_inbox.h"
#include "b8_campaigns.h"
#include "b8_phone.h"
#include "b8_settings.h"
#include "b8_util.h"

#include <ctype.h>
#include <string.h>
#include <apr_strings.h>

static cJSON *inbound_json(const b8_rows *rows, int r)
{
    cJSON *o = cJSON_CreateObject();
    b8_json_add_int(o, "id", B8_GET(rows, r, INBOUND, id));
    b8_json_add_str(o, "umid", B8_GET(rows, r, INBOUND, umid));
    b8_json_add_str(o, "phone", B8_GET(rows, r, INBOUND, phone));
    b8_json_add_str(o, "name", B8_GET(rows, r, INBOUND, name));
    b8_json_add_str(o, "channel", B8_GET(rows, r, INBOUND, channel));
    b8_json_add_str(o, "type", B8_GET(rows, r, INBOUND, type));
    b8_json_add_str(o, "text", B8_GET(rows, r, INBOUND, body));
    b8_json_add_str(o, "received_at", B8_GET(rows, r, INBOUND, received_at));
    b8_json_add_str(o, "event_at", B8_GET(rows, r, INBOUND, event_at));
    b8_json_add_int(o, "contact_id", B8_GET(rows, r, INBOUND, contact_id));
    b8_json_add_str(o, "ai_state", B8_GET(rows, r, INBOUND, ai_state));
    b8_json_add_str(o, "ai_error", B8_GET(rows, r, INBOUND, ai_error));
    b8_json_add_int(o, "reply_id", B8_GET(rows, r, INBOUND, reply_id));
    return o;
}

static long count_value(const char *v)
{
    long n = 0;
    return v && b8_parse_long(v, &n) ? n : 0;
}

b8_errkind b8_inbound_list(b8_ctx *ctx, const char *phone, const b8_paging *pg, cJSON **out,
                           b8_err *err)
{
    apr_pool_t *p = ctx->pool;
    const char *limit = apr_ltoa(p, pg->per_page);
    const char *offset = apr_ltoa(p, (pg->page - 1) * pg->per_page);
    const char *key = NULL, *total = NULL;
    b8_rows *rows = NULL;
    cJSON *items;

    if (phone && *phone) {
        key = b8_phone_match_key(p, phone, b8_ctx_setting(ctx, B8_SET_DEFAULT_COUNTRY));
        if (!key) {
            *out = b8_json_pool_owned(ctx->pool, b8_list_envelope(cJSON_CreateArray(), 0, pg));
            return B8_OK;
        }
    }
    if (key) {
        const char *cargs[] = { key };
        const char *args[] = { key, limit, offset };
        if (b8_db_value(ctx->db, p, B8_SQL_INBOUND_COUNT_BY_KEY, cargs, &total) != APR_SUCCESS
            || b8_db_select(ctx->db, p, B8_SQL_INBOUND_PAGE_BY_KEY, args, &rows) != APR_SUCCESS) {
            return b8_fail_db(err, ctx->db);
        }
    }
    else {
        const char *args[] = { limit, offset };
        if (b8_db_value(ctx->db, p, B8_SQL_INBOUND_COUNT, NULL, &total) != APR_SUCCESS
            || b8_db_select(ctx->db, p, B8_SQL_INBOUND_PAGE, args, &rows) != APR_SUCCESS) {
            return b8_fail_db(err, ctx->db);
        }
    }
    items = cJSON_CreateArray();
    for (int r = 0; r < rows->nrows; r++) {
        cJSON_AddItemToArray(items, inbound_json(rows, r));
    }
    *out = b8_json_pool_owned(ctx->pool, b8_list_envelope(items, count_value(total), pg));
    return B8_OK;
}

/* ------------------------------------------------------------ the page */

static const char *kind_label(const char *kind)
{
    static const struct { const char *kind, *label; } labels[] = {
        { "inbound", "Customer" }, { "campaign", "Campaign" }, { "ai_reply", "AI reply" },
        { "confirmation", "Confirmation" }, { "agent_ping", "Agent ping" }, { "ping", "Agent ping" },
        { "sms", "SMS" }, { "test", "Test" },
    };
    for (size_t i = 0; kind && i < sizeof(labels) / sizeof(labels[0]); i++) {
        if (strcmp(kind, labels[i].kind) == 0) {
            return labels[i].label;
        }
    }
    return kind ? kind : "Message";
}

static const char *ai_label(const char *state)
{
    static const struct { const char *state, *label; } labels[] = {
        { "new", "AI reply queued" }, { "answering", "AI answering" },
        { "answered", "AI answered" }, { "failed", "AI failed" },
        { "skipped", "not for the AI" }, { "not_answered", "not answered (AI off)" },
    };
    for (size_t i = 0; state && i < sizeof(labels) / sizeof(labels[0]); i++) {
        if (strcmp(state, labels[i].state) == 0) {
            return labels[i].label;
        }
    }
    return state;
}

/* Thread columns: dir, id, at, kind, body, state, ai_state, ai_error,
 * channel, name, error_message, campaign, type, phone, campaign_body. A
 * campaign message without its own text shows the campaign's, expanded for
 * this recipient. */
static cJSON *thread_message(apr_pool_t *p, const b8_rows *rows, int r)
{
    cJSON *o = cJSON_CreateObject();
    int in = strcmp(B8_GET(rows, r, THREAD, dir), "in") == 0;
    const char *state = B8_GET(rows, r, THREAD, state), *text = B8_GET(rows, r, THREAD, body);

    if (!text && B8_GET(rows, r, THREAD, campaign_body)) {
        text = b8_campaign_expand(p, B8_GET(rows, r, THREAD, campaign_body),
                                  B8_GET(rows, r, THREAD, name),
                                  B8_GET(rows, r, THREAD, phone));
    }

    b8_json_add_bool(o, "in", in);
    b8_json_add_int(o, "id", B8_GET(rows, r, THREAD, id));
    b8_json_add_str(o, "created_at", B8_GET(rows, r, THREAD, at));
    b8_json_add_str(o, "kind", B8_GET(rows, r, THREAD, kind));
    b8_json_add_str(o, "kind_label", kind_label(B8_GET(rows, r, THREAD, kind)));
    b8_json_add_str(o, "text", text);
    b8_json_add_str(o, "channel", B8_GET(rows, r, THREAD, channel));
    b8_json_add_str(o, "campaign", B8_GET(rows, r, THREAD, campaign));
    if (in) {
        b8_json_add_str(o, "type", B8_GET(rows, r, THREAD, type));
        b8_json_add_bool(o, "not_text", B8_GET(rows, r, THREAD, type)
                                            && strcmp(B8_GET(rows, r, THREAD, type), "text") != 0);
        b8_json_add_str(o, "ai_state", B8_GET(rows, r, THREAD, ai_state));
        b8_json_add_str(o, "ai_label", ai_label(B8_GET(rows, r, THREAD, ai_state)));
        b8_json_add_str(o, "ai_error", B8_GET(rows, r, THREAD, ai_error));
    }
    else {
        b8_json_add_str(o, "state", state);
        b8_json_add_bool(o, "failed", state && (strcmp(state, "failed") == 0
                                                || strcmp(state, "undelivered") == 0));
        b8_json_add_str(o, "error_message", B8_GET(rows, r, THREAD, error_message));
    }
    return o;
}

static b8_errkind conversation(b8_ctx *ctx, const char *key, cJSON **out, b8_err *err)
{
    apr_pool_t *p = ctx->pool;
    const char *targs[] = { key, key, apr_itoa(p, B8_INBOX_THREAD_LIMIT) };
    const char *cargs[] = { key };
    const char *name = NULL, *phone = NULL;
    b8_rows *thread, *contact;
    cJSON *conv, *messages;

    if (b8_db_select(ctx->db, p, B8_SQL_INBOX_THREAD, targs, &thread) != APR_SUCCESS
        || b8_db_select(ctx->db, p, B8_SQL_INBOUND_CONTACT_BY_KEY, cargs, &contact)
               != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    conv = cJSON_CreateObject();
    messages = cJSON_CreateArray();
    /* Rows come newest first; the page reads oldest first, like a chat. */
    for (int r = thread->nrows - 1; r >= 0; r--) {
        int in = strcmp(B8_GET(thread, r, THREAD, dir), "in") == 0;
        cJSON_AddItemToArray(messages, thread_message(p, thread, r));
        if (in && B8_GET(thread, r, THREAD, name) && *B8_GET(thread, r, THREAD, name)) {
            name = B8_GET(thread, r, THREAD, name);   /* the latest name 8x8 gave */
        }
        if (in || !phone) {
            phone = B8_GET(thread, r, THREAD, phone);
        }
    }
    if (contact->nrows > 0) {
        b8_json_add_int(conv, "contact_id", B8_GET(contact, 0, INBOUND_CONTACT, id));
        const char *opted_out = B8_GET(contact, 0, INBOUND_CONTACT, opted_out);
        b8_json_add_bool(conv, "opted_out", opted_out && strcmp(opted_out, "0") != 0);
        if (B8_GET(contact, 0, INBOUND_CONTACT, name)
            && *B8_GET(contact, 0, INBOUND_CONTACT, name)) {
            name = B8_GET(contact, 0, INBOUND_CONTACT, name);
        }
    }
    /* A sender without a phone number has a key that is not digits. */
    b8_json_add_str(conv, "phone", phone ? phone : key[0] == '@' ? NULL
                                                   : apr_pstrcat(p, "+", key, NULL));
    b8_json_add_str(conv, "name", name);
    cJSON_AddNumberToObject(conv, "shown", thread->nrows);
    cJSON_AddItemToObject(conv, "messages", messages);
    *out = conv;
    return B8_OK;
}

/* "%<digits>%" for a search that looks like (part of) a phone number:
 * national trunk zeros dropped so 0917… finds +63917…; NULL otherwise. */
static const char *phone_pattern(apr_pool_t *p, const char *q)
{
    char *digits = apr_pcalloc(p, strlen(q) + 1), *d = digits;
    const char *start;

    for (const char *c = q; *c; c++) {
        if (isalpha((unsigned char)*c)) {
            return NULL;
        }
        if (isdigit((unsigned char)*c)) {
            *d++ = *c;
        }
    }
    for (start = digits; *start == '0'; start++) {
    }
    return *start ? apr_pstrcat(p, "%", start, "%", NULL) : NULL;
}

/* "%<q>%" in lowercase with LIKE's wildcards escaped (ESCAPE '\'). */
static const char *name_pattern(apr_pool_t *p, const char *q)
{
    char *out = apr_palloc(p, strlen(q) * 2 + 3), *o = out;

    *o++ = '%';
    for (const char *c = q; *c; c++) {
        if (*c == '%' || *c == '_' || *c == '\\') {
            *o++ = '\\';
        }
        *o++ = (char)tolower((unsigned char)*c);
    }
    *o++ = '%';
    *o = '\0';
    return out;
}

b8_errkind b8_inbox_conversations(b8_ctx *ctx, const char *q, const b8_paging *pg, cJSON **out,
                                  b8_err *err)
{
    apr_pool_t *p = ctx->pool;
    const char *limit = apr_ltoa(p, pg->per_page);
    const char *offset = apr_ltoa(p, (pg->page - 1) * pg->per_page);
    const char *total = NULL;
    b8_rows *rows;
    cJSON *list, *data;

    q = q ? b8_trim(p, q) : "";
    if (*q) {
        const char *ph = phone_pattern(p, q), *nm = name_pattern(p, q);
        const char *cargs[] = { ph, nm, nm };
        const char *args[] = { ph, nm, nm, limit, offset };
        if (b8_db_value(ctx->db, p, B8_SQL_INBOX_SEARCH_COUNT, cargs, &total) != APR_SUCCESS
            || b8_db_select(ctx->db, p, B8_SQL_INBOX_SEARCH_PAGE, args, &rows) != APR_SUCCESS) {
            return b8_fail_db(err, ctx->db);
        }
    }
    else {
        const char *args[] = { limit, offset };
        if (b8_db_value(ctx->db, p, B8_SQL_INBOX_CONVERSATIONS_COUNT, NULL, &total)
                != APR_SUCCESS
            || b8_db_select(ctx->db, p, B8_SQL_INBOX_CONVERSATIONS_PAGE, args, &rows)
                   != APR_SUCCESS) {
            return b8_fail_db(err, ctx->db);
        }
    }
    list = cJSON_CreateArray();
    for (int r = 0; r < rows->nrows; r++) {
        cJSON *conv = NULL;
        if (!B8_GET(rows, r, CONVERSATION, phone_key)) {
            continue;
        }
        if (conversation(ctx, B8_GET(rows, r, CONVERSATION, phone_key), &conv, err) != B8_OK) {
            cJSON_Delete(list);
            return err->kind;
        }
        cJSON_AddItemToArray(list, conv);
    }
    data = b8_list_envelope(list, count_value(total), pg);
    /* The envelope names them "items"; the page says what they are. */
    cJSON_AddItemToObject(data, "conversations", cJSON_DetachItemFromObject(data, "items"));
    cJSON_AddStringToObject(data, "q", q);
    *out = b8_json_pool_owned(ctx->pool, data);
    return B8_OK;
}
