/* SMS page and API: the composer (sender account, recipients, text with a
 * live counter), the SMS log with its filters, and its CSV export. */
#include "mod_blu8x8_admin.h"

#include "http_protocol.h"

#include <apr_strings.h>

#include "b8_campaigns.h"
#include "b8_contacts.h"
#include "b8_sms.h"
#include "b8_sms_send.h"
#include "b8_tags.h"

#define SELECTED_SHOWN 1000   /* contacts listed by name in the composer */

/* ------------------------------------------------------------------- API */

static int api_sms_send(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_sms_send_compose(a->ctx, a->json, &out, &err);
    if (kind == B8_OK) {
        b8_worker_wake();
    }
    return b8_api_answer(a, kind, &err, HTTP_ACCEPTED, out);
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
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "value", b8_recipient_states[i]);
        cJSON_AddBoolToObject(o, "selected", state && strcmp(state, b8_recipient_states[i]) == 0);
        cJSON_AddItemToArray(states, o);
    }
    cJSON_AddItemReferenceToObject(data, "log", log);
    return B8_OK;
}

/* form: what was typed (kept after a refusal); report: a send's answer. */
static int sms_page(b8_areq *a, int status, cJSON *form, b8_err *form_err, cJSON *report)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *data = b8_json_object(a->r->pool);
    apr_table_t *source = a->form ? a->form : a->query;
    cJSON *ids = b8_json_pool_owned(a->r->pool, values_of(source, "contact_ids[]"));
    cJSON *tags = b8_json_pool_owned(a->r->pool, values_of(source, "tags[]"));

    if (add_log(a, data, &err) != B8_OK) {
        return b8_page_error(a, &err);
    }
    if (report) {
        /* Sent: a fresh composer, with the outcome above it. */
        cJSON_AddItemReferenceToObject(data, "report", report);
        form = NULL;
        ids = tags = NULL;
    }
    add_senders(a, data, b8_json_str(form, "sender"), apr_table_get(a->query, "sender"));
    add_tags(a, data, tags);
    add_selected(a, data, ids);
    add_counter(data, b8_json_str(form, "text"));
    cJSON_AddItemToObject(data, "lane", b8_sms_send_lane_json(a->ctx));
    if (form) {
        cJSON_AddItemReferenceToObject(data, "form", form);
    }
    if (form_err && form_err->fields) {
        cJSON_AddItemReferenceToObject(data, "errors", form_err->fields);
    }
    return b8_render_page(a, status, "sms", "SMS", "sms", data);
}

static int page_sms(b8_areq *a)
{
    return sms_page(a, HTTP_OK, NULL, NULL, NULL);
}

static int page_sms_send(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL, *in = b8_form_to_json(a->r->pool, a->form);
    b8_errkind kind = b8_sms_send_compose(a->ctx, in, &out, &err);

    if (kind == B8_OK) {
        b8_worker_wake();
        return sms_page(a, HTTP_OK, NULL, NULL, out);
    }
    if (kind == B8_EINVALID) {
        return sms_page(a, HTTP_UNPROCESSABLE_ENTITY, in, &err, NULL);
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
