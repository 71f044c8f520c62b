/* Campaign pages and API: the list, the campaign form, recipients (add one,
 * by tag, paste/upload, remove, export) and the SMS parts counter. */
#include "mod_blu8x8_admin.h"

#include "http_protocol.h"

#include <apr_strings.h>

#include "b8_campaigns.h"
#include "b8_recipients.h"
#include "b8_results.h"
#include "b8_sms.h"
#include "b8_tags.h"
#include "b8_util.h"

/* ------------------------------------------------------------------- API */

static int api_campaigns_list(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    b8_paging pg;
    cJSON *out = NULL;
    b8_errkind kind;
    b8_paging_from_query(a, &pg);
    kind = b8_campaigns_list(a->ctx, apr_table_get(a->query, "state"),
                             apr_table_get(a->query, "q"), &pg, &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

static int api_campaigns_create(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_campaign_create(a->ctx, a->json, &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_CREATED, out);
}

static int api_campaign_get(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_campaign_get(a->ctx, a->params[0], &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

static int api_campaign_patch(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_campaign_update(a->ctx, a->params[0], a->json, &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

static int api_campaign_delete(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    b8_errkind kind = b8_campaign_delete(a->ctx, a->params[0], &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, NULL);
}

static int api_recipients_add(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_recipients_add(a->ctx, a->params[0], a->json, &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

static int api_recipients_import(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_recipients_import(a->ctx, a->params[0], a->body, a->body_len, &out,
                                           &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

static int api_recipients_list(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    b8_paging pg;
    cJSON *out = NULL;
    b8_errkind kind;
    b8_paging_from_query(a, &pg);
    kind = b8_recipients_list(a->ctx, a->params[0], apr_table_get(a->query, "state"), &pg, &out,
                              &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

static int api_recipient_delete(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    b8_errkind kind = b8_recipient_delete(a->ctx, a->params[0], a->params[1], &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, NULL);
}

static int api_sms_count(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    const char *text = apr_table_get(a->query, "text");
    cJSON *out = b8_json_pool_owned(a->r->pool, b8_sms_count_json(text ? text : ""));
    if (!out) {
        b8_field_error(&err, "text", "The text is not valid UTF-8.");
    }
    return b8_api_answer(a, err.kind, &err, HTTP_OK, out);
}

/* ----------------------------------------------------------------- pages */

static const char *capitalized(apr_pool_t *p, const char *s)
{
    char *c = apr_pstrdup(p, s);
    if (*c >= 'a' && *c <= 'z') {
        *c = (char)(*c - 'a' + 'A');
    }
    return c;
}

/* [{"value", "label", "selected", "count"?}] for a select of an enumeration. */
static cJSON *options(apr_pool_t *p, const char *const *values, const char *selected,
                      const cJSON *counts)
{
    cJSON *list = cJSON_CreateArray();
    for (int i = 0; values[i]; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "value", values[i]);
        cJSON_AddStringToObject(o, "label", capitalized(p, values[i]));
        cJSON_AddBoolToObject(o, "selected", selected && strcmp(selected, values[i]) == 0);
        if (counts) {
            cJSON_AddNumberToObject(o, "count", cJSON_GetNumberValue(
                                        cJSON_GetObjectItemCaseSensitive(counts, values[i])));
        }
        cJSON_AddItemToArray(list, o);
    }
    return list;
}

static int page_campaigns(b8_areq *a)
{
    apr_pool_t *p = a->r->pool;
    b8_err err = B8_ERR_INIT(a->r->pool);
    b8_paging pg;
    cJSON *data = NULL;
    const char *state = apr_table_get(a->query, "state");
    const char *q = apr_table_get(a->query, "q");
    const char *pairs;

    /* The list opens on the Drafts; ?state=all shows every campaign. */
    if (!state || !*state) {
        state = "draft";
    }
    b8_paging_from_query(a, &pg);
    if (b8_campaigns_list(a->ctx, state, q, &pg, &data, &err) != B8_OK) {
        if (err.kind != B8_EINVALID) {
            return b8_page_error(a, &err);
        }
        err = (b8_err)B8_ERR_INIT(p);
        state = "all";
        if (b8_campaigns_list(a->ctx, state, q, &pg, &data, &err) != B8_OK) {
            return b8_page_error(a, &err);
        }
    }
    pairs = apr_pstrcat(p, b8_query_pair(p, "state", state), q && *q ? "&" : "",
                        b8_query_pair(p, "q", q), NULL);
    cJSON_AddItemToObject(data, "pager", b8_pager(a, data, "campaigns", pairs));
    cJSON_AddItemToObject(data, "states", options(p, b8_campaign_states, state, NULL));
    cJSON_AddBoolToObject(data, "all_states", strcmp(state, "all") == 0);
    cJSON_AddStringToObject(data, "state", state);
    cJSON_AddStringToObject(data, "q", q ? q : "");
    return b8_render_page(a, HTTP_OK, "campaigns", "Campaigns", "campaigns", data);
}

/* What a campaign page shows besides the campaign. */
typedef struct {
    cJSON *form;          /* typed values kept after a refused save */
    b8_err *form_err;     /* and their field messages */
    cJSON *report;        /* a bulk add or import report */
    cJSON *added;         /* the "add one" result */
    b8_err *add_err;      /* an add that was refused: field messages */
    const char *refusal;  /* an action refused because of the state */
    cJSON *test;          /* a Send Test answer or refusal */
} page_extras;

static void add_counters(cJSON *data, const cJSON *form)
{
    const char *body = b8_json_str(form, "body");
    const char *fallback = b8_json_str(form, "fallback_text");
    cJSON *sms = b8_sms_count_json(fallback ? fallback : "");

    cJSON_AddNumberToObject(data, "body_chars",
                            body && b8_utf8_valid(body, strlen(body)) ? b8_utf8_length(body) : 0);
    cJSON_AddNumberToObject(data, "body_max", B8_CAMPAIGN_BODY_MAX);
    if (!sms) {
        sms = b8_sms_count_json("");
    }
    cJSON_AddStringToObject(sms, "parts_word",
                            cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sms, "parts")) == 1
                            ? "part" : "parts");
    cJSON_AddItemToObject(data, "sms", sms);
}

static void add_form(b8_areq *a, cJSON *data, cJSON *form, page_extras *x)
{
    const char *type = b8_json_str(form, "type");

    cJSON_AddItemReferenceToObject(data, "form", form);
    cJSON_AddItemToObject(data, "types", options(a->r->pool, b8_campaign_types,
                                                 type ? type : "text", NULL));
    add_counters(data, form);
    if (x && x->form_err && x->form_err->fields) {
        cJSON_AddItemReferenceToObject(data, "errors", x->form_err->fields);
    }
}

/* Recipients table, its state filter and pager, the tags to add by. */
static b8_errkind add_recipients(b8_areq *a, cJSON *data, const char *id, b8_err *err)
{
    apr_pool_t *p = a->r->pool;
    const char *state = apr_table_get(a->query, "state");
    b8_paging pg, tpg = { 1, 1000 };
    cJSON *list = NULL, *tags = NULL;

    b8_paging_from_query(a, &pg);
    if (state && *state && strcmp(state, "all") != 0
        && b8_recipients_list(a->ctx, id, state, &pg, &list, err) == B8_EINVALID) {
        *err = (b8_err)B8_ERR_INIT(p);
        state = NULL;
    }
    if (!list && b8_recipients_list(a->ctx, id, NULL, &pg, &list, err) != B8_OK) {
        return err->kind;
    }
    cJSON_AddItemToObject(list, "pager",
                          b8_pager(a, list, apr_pstrcat(p, "campaigns/", id, NULL),
                                   b8_query_pair(p, "state", state)));
    cJSON_AddItemToObject(list, "states",
                          options(p, b8_recipient_states, state,
                                  cJSON_GetObjectItemCaseSensitive(list, "counts")));
    cJSON_AddBoolToObject(list, "all_states", !state || !*state || strcmp(state, "all") == 0);
    cJSON_AddItemReferenceToObject(data, "recipients", list);
    if (b8_tags_list(a->ctx, &tpg, &tags, err) != B8_OK) {
        return err->kind;
    }
    cJSON_AddItemReferenceToObject(data, "tags", tags);
    /* Retargeting: the other campaigns that sent something, newest first. */
    {
        b8_paging cpg = { 1, 100 };
        cJSON *camps = NULL, *sources = cJSON_AddArrayToObject(data, "retarget_sources");
        const cJSON *c;
        if (b8_campaigns_list(a->ctx, NULL, NULL, &cpg, &camps, err) != B8_OK) {
            return err->kind;
        }
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(camps, "items")) {
            const char *st = b8_json_str(c, "state");
            const cJSON *cidv = cJSON_GetObjectItemCaseSensitive(c, "id");
            if (st && strcmp(st, "draft") != 0 && cJSON_IsNumber(cidv)
                && strcmp(apr_psprintf(p, "%.0f", cidv->valuedouble), id) != 0) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddNumberToObject(o, "id", cidv->valuedouble);
                cJSON_AddStringToObject(o, "name", b8_json_str(c, "name"));
                cJSON_AddItemToArray(sources, o);
            }
        }
        cJSON_AddBoolToObject(data, "has_retarget_sources", cJSON_GetArraySize(sources) > 0);
        cJSON_AddItemToObject(data, "retarget_segments", b8_retarget_presets());
    }
    return B8_OK;
}

static int campaign_page(b8_areq *a, int status, const char *id, page_extras *x)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *data = b8_json_object(a->r->pool), *campaign = NULL, *preview = NULL;
    const char *name;

    if (b8_campaign_get(a->ctx, id, &campaign, &err) != B8_OK
        || b8_campaign_preview(a->ctx, id, &preview, &err) != B8_OK
        || add_recipients(a, data, id, &err) != B8_OK) {
        return b8_page_error(a, &err);
    }
    cJSON_AddItemReferenceToObject(data, "campaign", campaign);
    cJSON_AddItemReferenceToObject(data, "preview", preview);
    add_form(a, data, x && x->form ? x->form : campaign, x);
    cJSON_AddBoolToObject(data, "editable", cJSON_IsTrue(
                              cJSON_GetObjectItemCaseSensitive(campaign, "editable")));
    if (x && x->report) {
        cJSON_AddItemReferenceToObject(data, "report", x->report);
    }
    if (x && x->added) {
        cJSON_AddItemReferenceToObject(data, "added", x->added);
    }
    if (x && x->add_err && x->add_err->fields) {
        cJSON_AddItemReferenceToObject(data, "add_errors", x->add_err->fields);
    }
    if (x && x->refusal) {
        cJSON_AddStringToObject(data, "refusal", x->refusal);
    }
    /* Sending: the actions the state allows, live progress, Send Test. */
    b8_campaign_send_view(a, data, campaign, x ? x->test : NULL);
    /* Results (issue 19): once something was sent. */
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(campaign, "editable"))) {
        b8_campaign_results_view(a, data, id);
    }
    name = b8_json_str(campaign, "name");
    return b8_render_page(a, status, "campaign", name ? name : "Campaign", "campaigns", data);
}

int b8_campaign_page(b8_areq *a, int status, const char *refusal, cJSON *test)
{
    page_extras x = { 0 };
    x.refusal = refusal;
    x.test = test;
    return campaign_page(a, status, a->params[0], &x);
}

/* The page, with the last form's result (flash) at its top: a refused
 * save keeps what was typed ("form", "errors"); the others ("report",
 * "added", "add_errors", "refusal", "test", "confirm") go to the page as
 * they are. */
static int page_campaign(b8_areq *a)
{
    page_extras x = { 0 };
    b8_err form_err = B8_ERR_INIT(a->r->pool);
    x.form = b8_flash_item(a, "form");
    form_err.fields = b8_flash_item(a, "errors");
    x.form_err = &form_err;
    return campaign_page(a, HTTP_OK, a->params[0], &x);
}

/* Post/redirect/get: back to the campaign page with a flash. */
static int to_campaign(b8_areq *a, cJSON *flash)
{
    return b8_redirect_flash(a, apr_pstrcat(a->r->pool, "campaigns/", a->params[0], NULL), flash);
}

/* A refused form: what was typed and why, shown by the page it lands on. */
static cJSON *refusal_flash(apr_pool_t *p, int status, const char *key, cJSON *form,
                            b8_err *err)
{
    cJSON *flash = b8_json_object(p);
    cJSON_AddNumberToObject(flash, "status", status);
    if (form) {
        cJSON_AddItemReferenceToObject(flash, "form", form);
    }
    if (err->fields) {
        cJSON_AddItemReferenceToObject(flash, key, err->fields);
    }
    return flash;
}

static int new_campaign_page(b8_areq *a, int status, cJSON *form, b8_err *err)
{
    cJSON *data = b8_json_object(a->r->pool);
    page_extras x = { 0 };
    x.form_err = err;
    cJSON_AddBoolToObject(data, "is_new", 1);
    cJSON_AddBoolToObject(data, "editable", 1);
    add_form(a, data, form, &x);
    return b8_render_page(a, status, "campaign", "New campaign", "campaigns", data);
}

static int page_campaign_new(b8_areq *a)
{
    cJSON *form = b8_flash_item(a, "form");
    b8_err err = B8_ERR_INIT(a->r->pool);
    if (!form) {
        form = b8_json_object(a->r->pool);
        cJSON_AddStringToObject(form, "type", "text");
    }
    err.fields = b8_flash_item(a, "errors");
    return new_campaign_page(a, HTTP_OK, form, &err);
}

static int page_campaigns_create(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL, *in = b8_form_to_json(a->r->pool, a->form);
    const char *id;

    if (b8_campaign_create(a->ctx, in, &out, &err) != B8_OK) {
        if (err.kind == B8_EINVALID) {
            return b8_redirect_flash(a, "campaigns/new",
                                     refusal_flash(a->r->pool, HTTP_UNPROCESSABLE_ENTITY,
                                                   "errors", in, &err));
        }
        return b8_page_error(a, &err);
    }
    id = apr_psprintf(a->r->pool, "campaigns/%.0f",
                      cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(out, "id")));
    return b8_redirect(a, id, "created");
}

/* A refused action: 409 with the reason at the top of the campaign page. */
static int refused(b8_areq *a, b8_err *err, page_extras *x)
{
    cJSON *flash = refusal_flash(a->r->pool, b8_status_of(err->kind), "errors", NULL, err);
    (void)x;
    cJSON_AddStringToObject(flash, "refusal", err->message ? err->message : "refused");
    return to_campaign(a, flash);
}

static int page_campaign_update(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    page_extras x = { 0 };
    cJSON *out = NULL, *in = b8_form_to_json(a->r->pool, a->form);

    if (b8_campaign_update(a->ctx, a->params[0], in, &out, &err) != B8_OK) {
        if (err.kind == B8_EINVALID) {
            return to_campaign(a, refusal_flash(a->r->pool, HTTP_UNPROCESSABLE_ENTITY, "errors",
                                                in, &err));
        }
        return err.kind == B8_ESTATE ? refused(a, &err, &x) : b8_page_error(a, &err);
    }
    return b8_redirect(a, apr_pstrcat(a->r->pool, "campaigns/", a->params[0], NULL), "saved");
}

static int page_campaign_delete(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    page_extras x = { 0 };
    if (b8_campaign_delete(a->ctx, a->params[0], &err) != B8_OK) {
        return err.kind == B8_ESTATE ? refused(a, &err, &x) : b8_page_error(a, &err);
    }
    return b8_redirect(a, "campaigns", "deleted");
}

/* Answers an add or import on the page: the report, or why it was refused. */
static int after_add(b8_areq *a, b8_errkind kind, b8_err *err, page_extras *x)
{
    if (kind == B8_OK) {
        cJSON *flash = b8_json_object(a->r->pool);
        if (x->report) {
            cJSON_AddItemReferenceToObject(flash, "report", x->report);
        }
        if (x->added) {
            cJSON_AddItemReferenceToObject(flash, "added", x->added);
        }
        return to_campaign(a, flash);
    }
    if (kind == B8_EINVALID) {
        return to_campaign(a, refusal_flash(a->r->pool, HTTP_UNPROCESSABLE_ENTITY, "add_errors",
                                            NULL, err));
    }
    return kind == B8_ESTATE ? refused(a, err, x) : b8_page_error(a, err);
}

static int page_recipients_add(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    page_extras x = { 0 };
    cJSON *in = b8_form_to_json(a->r->pool, a->form);
    b8_errkind kind;

    if (strcmp(apr_table_get(a->form, "mode") ? apr_table_get(a->form, "mode") : "", "retarget")
        == 0) {
        /* Retargeting (issue 19): a segment of another campaign. */
        const char *from = apr_table_get(a->form, "from_id");
        cJSON *preset = b8_retarget_preset(apr_table_get(a->form, "segment"),
                                           from && *from ? from : NULL);
        cJSON *req = b8_json_pool_owned(a->r->pool, cJSON_CreateObject());
        if (preset) {
            cJSON_AddItemToObject(req, "from_campaign", preset);
            kind = b8_recipients_add(a->ctx, a->params[0], req, &x.report, &err);
        }
        else {
            kind = b8_fail(&err, B8_EINVALID, "choose a campaign and a segment");
        }
        if (kind == B8_EINVALID) {
            err.fields = NULL;   /* its cleanup stays with the pool */
            b8_field_error(&err, "from_campaign", "Choose a campaign and a segment.");
        }
    }
    else if (cJSON_GetObjectItemCaseSensitive(in, "tags")
        || strcmp(apr_table_get(a->form, "mode") ? apr_table_get(a->form, "mode") : "", "tags")
           == 0) {
        cJSON *tags = cJSON_DetachItemFromObjectCaseSensitive(in, "tags");
        cJSON *req = b8_json_object(a->r->pool);
        cJSON_AddItemToObject(req, "tags", tags ? tags : cJSON_CreateArray());
        kind = b8_recipients_add(a->ctx, a->params[0], req, &x.report, &err);
        if (kind == B8_EINVALID && err.fields) {
            err.fields = NULL;   /* its cleanup stays with the pool */
            b8_field_error(&err, "tags", "Tick at least one tag.");
        }
    }
    else {
        kind = b8_recipient_add_typed(a->ctx, a->params[0], apr_table_get(a->form, "who"),
                                      apr_table_get(a->form, "contact_id"), &x.added, &err);
    }
    return after_add(a, kind, &err, &x);
}

static int page_recipients_import(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    page_extras x = { 0 };
    const char *csv = apr_table_get(a->form, "csv");
    b8_errkind kind;

    if (!csv || !*b8_trim(a->r->pool, csv)) {
        b8_field_error(&err, "csv", "Paste numbers or choose a file first.");
        return after_add(a, err.kind, &err, &x);
    }
    kind = b8_recipients_import(a->ctx, a->params[0], csv, strlen(csv), &x.report, &err);
    return after_add(a, kind, &err, &x);
}

static int page_recipient_delete(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    page_extras x = { 0 };
    if (b8_recipient_delete(a->ctx, a->params[0], a->params[1], &err) != B8_OK) {
        return err.kind == B8_ESTATE ? refused(a, &err, &x) : b8_page_error(a, &err);
    }
    return b8_redirect(a, apr_pstrcat(a->r->pool, "campaigns/", a->params[0], NULL), "deleted");
}

/* recipients.csv, streamed in chunks as the core reads them. */
static int page_recipients_csv(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    b8_csv_stream s = { a->r, NULL, 0 };
    s.filename = apr_psprintf(a->r->pool, "campaign-%s-recipients.csv", a->params[0]);
    if (b8_recipients_export(a->ctx, a->params[0], apr_table_get(a->query, "state"),
                             b8_csv_stream_write, &s, &err) != B8_OK) {
        if (!s.started) {
            return b8_page_error(a, &err);
        }
        if (!a->r->header_only) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, a->r, "B8-3101: recipients export of "
                          "campaign %s stopped: %s", a->params[0], err.message);
        }
    }
    return OK;
}

const b8_route b8_routes_campaigns[] = {
    { "GET", "campaigns", page_campaigns, B8_BODY_NONE },
    { "POST", "campaigns", page_campaigns_create, B8_BODY_FORM },
    { "GET", "campaigns/new", page_campaign_new, B8_BODY_NONE },
    { "GET", "campaigns/:", page_campaign, B8_BODY_NONE },
    { "POST", "campaigns/:", page_campaign_update, B8_BODY_FORM },
    { "POST", "campaigns/:/delete", page_campaign_delete, B8_BODY_FORM },
    { "POST", "campaigns/:/recipients", page_recipients_add, B8_BODY_FORM },
    { "POST", "campaigns/:/recipients/import", page_recipients_import, B8_BODY_FORM_IMPORT },
    { "POST", "campaigns/:/recipients/:/delete", page_recipient_delete, B8_BODY_FORM },
    { "GET", "campaigns/:/recipients.csv", page_recipients_csv, B8_BODY_NONE },
    { "GET", "api/campaigns", api_campaigns_list, B8_BODY_NONE },
    { "POST", "api/campaigns", api_campaigns_create, B8_BODY_JSON },
    { "GET", "api/campaigns/:", api_campaign_get, B8_BODY_NONE },
    { "PATCH", "api/campaigns/:", api_campaign_patch, B8_BODY_JSON },
    { "DELETE", "api/campaigns/:", api_campaign_delete, B8_BODY_NONE },
    { "POST", "api/campaigns/:/recipients", api_recipients_add, B8_BODY_JSON },
    { "POST", "api/campaigns/:/recipients/import", api_recipients_import, B8_BODY_CSV },
    { "GET", "api/campaigns/:/recipients", api_recipients_list, B8_BODY_NONE },
    { "DELETE", "api/campaigns/:/recipients/:", api_recipient_delete, B8_BODY_NONE },
    { "GET", "api/sms-count", api_sms_count, B8_BODY_NONE },
    { NULL, NULL, NULL, 0 }
};
