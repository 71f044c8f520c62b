/* SMS page and API: the composer (sender account, recipients, text with a
 * live counter), the SMS log with its filters, and its CSV export. */
#include "mod_blu8x8_admin.h"

#include "http_protocol.h"

#include <apr_strings.h>

#include "b8_campaigns.h"
#include "b8_contacts.h"
#include "b8_sms.h"
#include "b8_sms_send.h"
#include "b8_states.h"
#include "b8_tags.h"

#define SELECTED_SHOWN 1000   /* contacts listed by name in the composer */

/* ------------------------------------------------------------------- API */

static int api_sms_send(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    int dry = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a->json, "dry_run"));
    b8_errkind kind = b8_sms_send_compose(a->ctx, a->json, &out, &err);
    if (kind == B8_OK && !dry) {
        b8_worker_wake();
    }
    /* dry_run: the numbers only, nothing queued (200, not 202). */
    return b8_api_answer(a, kind, &err, dry ? HTTP_OK : HTTP_ACCEPTED, out);
}

/* After an account refusal: the SMS lane tries again. */
static int api_sms_resume(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_sms_send_resume(a->ctx, &out, &err);
    if (kind == B8_OK) {
        b8_worker_wake();
    }
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

static int page_sms_resume(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    if (b8_sms_send_resume(a->ctx, &out, &err) != B8_OK) {
        return b8_page_error(a, &err);
    }
    b8_worker_wake();
    return b8_redirect(a, "sms", "resumed");
}

static int api_sms_list(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    b8_paging pg;
    cJSON *out = NULL;
    b8_errkind kind;
    b8_paging_from_query(a, &pg);
    kind = b8_sms_send_list(a->ctx, apr_table_get(a->query, "sender"), apr_table_get(a->query, "state"),
                       &pg, &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

static int api_sms_batch(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_sms_send_batch_get(a->ctx, a->params[0], &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

/* ------------------------------------------------------------------ page */

/* Values of a repeated query or form field ("contact_ids[]"). */
static int collect(void *rec, const char *key, const char *value)
{
    (void)key;
    if (value && *value) {
        cJSON_AddItemToArray(rec, cJSON_CreateString(value));
    }
    return 1;
}

static cJSON *values_of(apr_table_t *t, const char *key)
{
    cJSON *list = cJSON_CreateArray();
    if (t) {
        apr_table_do(collect, list, t, key, NULL);
    }
    return list;
}

static int in_list(const cJSON *list, const char *s)
{
    const cJSON *v;
    cJSON_ArrayForEach(v, list) {
        if (cJSON_IsString(v) && s && strcmp(v->valuestring, s) == 0) {
            return 1;
        }
    }
    return 0;
}

static void add_senders(b8_areq *a, cJSON *data, const char *chosen, const char *filter)
{
    apr_array_header_t *senders = b8_sms_send_senders(a->ctx);
    cJSON *list = cJSON_AddArrayToObject(data, "senders");
    cJSON *filters = cJSON_AddArrayToObject(data, "sender_filters");

    for (int i = 0; i < senders->nelts; i++) {
        const char *s = APR_ARRAY_IDX(senders, i, const char *);
        cJSON *o = cJSON_CreateObject(), *f = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "value", s);
        cJSON_AddBoolToObject(o, "default", i == 0);
        cJSON_AddBoolToObject(o, "selected", chosen ? strcasecmp(chosen, s) == 0 : i == 0);
        cJSON_AddItemToArray(list, o);
        cJSON_AddStringToObject(f, "value", s);
        cJSON_AddBoolToObject(f, "selected", filter && strcmp(filter, s) == 0);
        cJSON_AddItemToArray(filters, f);
    }
}

static void add_tags(b8_areq *a, cJSON *data, const cJSON *checked)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    b8_paging pg = { 1, 1000 };
    cJSON *out = NULL, *items, *t;

    if (b8_tags_list(a->ctx, &pg, &out, &err) != B8_OK) {
        return;
    }
    /* Detached from the pool-owned answer, the list is data's to own. */
    items = cJSON_DetachItemFromObjectCaseSensitive(out, "items");
    cJSON_ArrayForEach(t, items) {
        cJSON_AddBoolToObject(t, "checked", in_list(checked, b8_json_str(t, "name")));
    }
    cJSON_AddBoolToObject(data, "has_tags", cJSON_GetArraySize(items) > 0);
    cJSON_AddItemToObject(data, "tags", items);
}

/* The contacts chosen on the Contacts page, by name, with their ids kept
 * in the form. */
static void add_selected(b8_areq *a, cJSON *data, const cJSON *ids)
{
    cJSON *list = cJSON_AddArrayToObject(data, "contacts");
    const cJSON *v;
    int n = 0;

    cJSON_ArrayForEach(v, ids) {
        b8_err err = B8_ERR_INIT(a->r->pool);
        cJSON *c = NULL;
        if (n >= SELECTED_SHOWN) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "id", v->valuestring);
            cJSON_AddItemToArray(list, o);
            continue;
        }
        n++;
        if (b8_contact_get(a->ctx, v->valuestring, &c, &err) == B8_OK) {
            cJSON_AddItemReferenceToArray(list, c);
            continue;
        }
        c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "missing", v->valuestring);
        cJSON_AddItemToArray(list, c);
    }
    cJSON_AddNumberToObject(data, "contacts_count", cJSON_GetArraySize(list));
    cJSON_AddBoolToObject(data, "has_contacts", cJSON_GetArraySize(list) > 0);
}

static void add_counter(cJSON *data, const char *text)
{
    cJSON *count = b8_sms_count_json(text ? text : "");
    if (!count) {
        count = b8_sms_count_json("");
    }
    cJSON_AddBoolToObject(count, "too_long",
                          cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(count, "parts")) > 10);
    cJSON_AddItemToObject(data, "count", count);
}

/* The log, filtered by sender and state; an unknown state shows them all. */
static b8_errkind add_log(b8_areq *a, cJSON *data, b8_err *err)
{
    apr_pool_t *p = a->r->pool;
    const char *sender = apr_table_get(a->query, "sender");
    const char *state = apr_table_get(a->query, "state");
    const char *pairs;
    b8_paging pg;
    cJSON *log = NULL, *states;

    b8_paging_from_query(a, &pg);
    if (b8_sms_send_list(a->ctx, sender, state, &pg, &log, err) == B8_EINVALID) {
        *err = (b8_err)B8_ERR_INIT(p);
        state = NULL;
    }
    if (!log && b8_sms_send_list(a->ctx, sender, NULL, &pg, &log, err) != B8_OK) {
        return err->kind;
    }
    pairs = apr_pstrcat(p, b8_query_pair(p, "sender", sender),
                        sender && *sender && state && *state ? "&" : "",
                        b8_query_pair(p, "state", state), NULL);
    cJSON_AddItemToObject(log, "pager", b8_pager(a, log, "sms", pairs));
    cJSON_AddStringToObject(data, "filter_query", pairs);
    states = cJSON_AddArrayToObject(data, "states");
    for (int i = 0; b8_recipient_states[i]; i++) {
        const b8_message_state *ms = b8_message_state_find(b8_recipient_states[i]);
        cJSON *o;
        if (ms && (ms->flags & B8_MS_VIBER_ONLY)) {
            continue;   /* the filter lists only states an SMS can have */
        }
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "value", b8_recipient_states[i]);
        cJSON_AddBoolToObject(o, "selected", state && strcmp(state, b8_recipient_states[i]) == 0);
        cJSON_AddItemToArray(states, o);
    }
    cJSON_AddItemReferenceToObject(data, "log", log);
    return B8_OK;
}

/* A restored form's ids and tags ("contact_ids": [3, 4]) as the page's
 * string lists. */
static cJSON *strings_of(const cJSON *list)
{
    cJSON *out = cJSON_CreateArray();
    const cJSON *v;
    cJSON_ArrayForEach(v, list) {
        if (cJSON_IsString(v) && *v->valuestring) {
            cJSON_AddItemToArray(out, cJSON_CreateString(v->valuestring));
        }
        else if (cJSON_IsNumber(v)) {
            cJSON_AddItemToArray(out, cJSON_CreateNumber(v->valuedouble));
        }
    }
    return out;
}

/* The confirmation's form: every field of the composer, hidden, so that
 * the final click sends exactly what the numbers are about. */
static cJSON *hidden_fields(const cJSON *form)
{
    cJSON *list = cJSON_CreateArray();
    const cJSON *f, *v;
    cJSON_ArrayForEach(f, form) {
        if (strcmp(f->string, "confirmed") == 0) {
            continue;
        }
        if (cJSON_IsArray(f)) {
            cJSON_ArrayForEach(v, f) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddItemToArray(list, o);
                cJSON_AddStringToObject(o, "name", f->string);
                if (cJSON_IsNumber(v)) {
                    char buf[32];
                    snprintf(buf, sizeof(buf), "%.0f", v->valuedouble);
                    cJSON_AddStringToObject(o, "value", buf);
                }
                else {
                    cJSON_AddStringToObject(o, "value", cJSON_IsString(v) ? v->valuestring : "");
                }
                cJSON_AddBoolToObject(o, "list", 1);
            }
        }
        else if (cJSON_IsString(f)) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", f->string);
            cJSON_AddStringToObject(o, "value", f->valuestring);
            cJSON_AddItemToArray(list, o);
        }
    }
    return list;
}

/* The composer and the log. After a form, its flash holds what was typed
 * ("form", kept after a refusal and for the confirmation), "errors",
 * "report" (a send's answer) or "confirm" (a dry run's numbers). */
static int sms_page(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *data = b8_json_object(a->r->pool);
    cJSON *form = b8_flash_item(a, "form");
    cJSON *ids, *tags;

    if (form) {
        ids = b8_json_pool_owned(a->r->pool,
                                 strings_of(cJSON_GetObjectItemCaseSensitive(form, "contact_ids")));
        tags = b8_json_pool_owned(a->r->pool,
                                  strings_of(cJSON_GetObjectItemCaseSensitive(form, "tags")));
    }
    else {
        ids = b8_json_pool_owned(a->r->pool, values_of(a->query, "contact_ids[]"));
        tags = b8_json_pool_owned(a->r->pool, values_of(a->query, "tags[]"));
    }
    if (add_log(a, data, &err) != B8_OK) {
        return b8_page_error(a, &err);
    }
    add_senders(a, data, b8_json_str(form, "sender"), apr_table_get(a->query, "sender"));
    add_tags(a, data, tags);
    add_selected(a, data, ids);
    add_counter(data, b8_json_str(form, "text"));
    cJSON_AddItemToObject(data, "lane", b8_sms_send_lane_json(a->ctx));
    if (form) {
        cJSON_AddItemReferenceToObject(data, "form", form);
        if (a->flash && cJSON_GetObjectItemCaseSensitive(a->flash, "confirm")) {
            cJSON_AddItemToObject(data, "hidden", hidden_fields(form));
        }
    }
    return b8_render_page(a, HTTP_OK, "sms", "SMS", "sms", data);
}

static int page_sms(b8_areq *a)
{
    return sms_page(a);
}

/* Post/redirect/get in two steps: the first click (no "confirmed") only
 * counts (a dry run) and the page shows the numbers above a final button;
 * that one sends. Either way the answer is a 303 to the SMS page, which a
 * reload only shows again. */
static int page_sms_send(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL, *in = b8_form_to_json(a->r->pool, a->form);
    cJSON *flash = b8_json_object(a->r->pool);
    int confirmed = b8_json_str(in, "confirmed") && strcmp(b8_json_str(in, "confirmed"), "1") == 0;
    b8_errkind kind;

    cJSON_DeleteItemFromObjectCaseSensitive(in, "confirmed");
    if (!confirmed) {
        cJSON_AddBoolToObject(in, "dry_run", 1);
    }
    kind = b8_sms_send_compose(a->ctx, in, &out, &err);
    cJSON_DeleteItemFromObjectCaseSensitive(in, "dry_run");
    if (kind == B8_OK && confirmed) {
        b8_worker_wake();
        cJSON_AddItemReferenceToObject(flash, "report", out);
        return b8_redirect_flash(a, "sms", flash);
    }
    if (kind == B8_OK) {
        cJSON_AddItemReferenceToObject(flash, "confirm", out);
        cJSON_AddItemReferenceToObject(flash, "form", in);
        return b8_redirect_flash(a, "sms", flash);
    }
    if (kind == B8_EINVALID) {
        cJSON_AddNumberToObject(flash, "status", HTTP_UNPROCESSABLE_ENTITY);
        cJSON_AddItemReferenceToObject(flash, "form", in);
        if (err.fields) {
            cJSON_AddItemReferenceToObject(flash, "errors", err.fields);
        }
        return b8_redirect_flash(a, "sms", flash);
    }
    return b8_page_error(a, &err);
}

/* sms.csv, streamed in chunks as the core reads them. */
static int page_sms_csv(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    b8_csv_stream s = { a->r, "sms.csv", 0 };
    if (b8_sms_send_export(a->ctx, apr_table_get(a->query, "sender"), apr_table_get(a->query, "state"),
                      b8_csv_stream_write, &s, &err) != B8_OK) {
        if (!s.started) {
            return b8_page_error(a, &err);
        }
        if (!a->r->header_only) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, a->r, "B8-0830: SMS export stopped: %s",
                          err.message);
        }
    }
    return OK;
}

const b8_route b8_routes_sms[] = {
    { "GET", "sms", page_sms, B8_BODY_NONE },
    { "POST", "sms", page_sms_send, B8_BODY_FORM },
    { "GET", "sms.csv", page_sms_csv, B8_BODY_NONE },
    { "GET", "api/sms", api_sms_list, B8_BODY_NONE },
    { "POST", "api/sms", api_sms_send, B8_BODY_JSON },
    { "GET", "api/sms/batches/:", api_sms_batch, B8_BODY_NONE },
    { "POST", "api/sms/resume", api_sms_resume, B8_BODY_JSON },
    { "POST", "sms/resume", page_sms_resume, B8_BODY_FORM },
    { NULL, NULL, NULL, 0 }
};
