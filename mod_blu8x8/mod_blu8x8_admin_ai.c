/* Settings page and the FAQ knowledge base of the AI chatbot: pages and
 * JSON API. The rules are core (b8_settings.c, b8_runtime.c, b8_faqs.c). */
#include "mod_blu8x8_admin.h"

#include <apr_strings.h>

#include "b8_faqs.h"
#include "b8_runtime.h"
#include "b8_settings.h"
#include "b8_util.h"

/* -------------------------------------------------------------- settings */

static const char *source_label(b8_setting_source src)
{
    switch (src) {
    case B8_SRC_CONFIG: return "set in server config";
    case B8_SRC_DATABASE: return "saved here";
    default: return "default";
    }
}

/* Where an allowed base URL is: 8x8's regions by their host's ending. */
static const char *region_of(const char *url)
{
    if (strstr(url, ".us.8x8.com")) return "United States";
    if (strstr(url, ".8x8.com")) return "Asia-Pacific";
    if (strstr(url, ".8x8.uk")) return "Europe (UK)";
    if (strstr(url, ".8x8.id")) return "Indonesia";
    return "OpenAI";
}

/* A base URL the page may set is a choice among the allowed ones (other URLs
 * only by directive). A value saved before that rule stays listed, so saving
 * the form does not change it behind the admin's back. */
static void add_url_choices(apr_pool_t *p, cJSON *o, const b8_setting_def *d, const char *shown)
{
    cJSON *choices = cJSON_AddArrayToObject(o, "choices");
    int found = 0;

    cJSON_AddBoolToObject(o, "is_choice", 1);
    for (int i = 0; d->choices[i]; i++) {
        cJSON *c = cJSON_CreateObject();
        int sel = strcmp(d->choices[i], shown) == 0;
        cJSON_AddStringToObject(c, "value", d->choices[i]);
        cJSON_AddStringToObject(c, "label", apr_psprintf(p, "%s (%s)", region_of(d->choices[i]),
                                                     d->choices[i]));
        cJSON_AddBoolToObject(c, "selected", sel);
        cJSON_AddItemToArray(choices, c);
        found |= sel;
    }
    if (!found && *shown) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "value", shown);
        cJSON_AddStringToObject(c, "label", shown);
        cJSON_AddBoolToObject(c, "selected", 1);
        cJSON_AddItemToArray(choices, c);
    }
}

/* The page's view of one setting: effective value, source and the editor
 * that fits its type. typed (a failed form) wins over the stored value. */
static cJSON *setting_view(b8_areq *a, const b8_setting_def *d, const cJSON *typed,
                           const cJSON *errors)
{
    b8_setting_source src;
    const char *v = b8_setting_effective(a->ctx->config, a->ctx->dbsettings, d->key, &src);
    const char *shown = b8_json_str(typed, d->key);
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "key", d->key);
    cJSON_AddStringToObject(o, "label", d->label);
    cJSON_AddStringToObject(o, "help", d->help);
    cJSON_AddStringToObject(o, "directive", d->directive);
    cJSON_AddStringToObject(o, "source", source_label(src));
    cJSON_AddBoolToObject(o, "pinned", src == B8_SRC_CONFIG);
    if (b8_json_str(errors, d->key)) {
        cJSON_AddStringToObject(o, "error", b8_json_str(errors, d->key));
    }
    if (d->type == B8_SET_SECRET) {
        cJSON_AddBoolToObject(o, "is_secret", 1);
        cJSON_AddBoolToObject(o, "set", v && *v);
        return o;
    }
    if (!shown) {
        shown = v ? v : "";
    }
    switch (d->type) {
    case B8_SET_BOOL:
        cJSON_AddBoolToObject(o, "is_bool", 1);
        cJSON_AddBoolToObject(o, "on", strcmp(shown, "1") == 0);
        break;
    case B8_SET_CHOICE: {
        cJSON *choices = cJSON_AddArrayToObject(o, "choices");
        cJSON_AddBoolToObject(o, "is_choice", 1);
        for (int i = 0; d->choices && d->choices[i]; i++) {
            cJSON *c = cJSON_CreateObject();
            cJSON_AddStringToObject(c, "value", d->choices[i]);
            cJSON_AddStringToObject(c, "label", d->choices[i]);
            cJSON_AddBoolToObject(c, "selected", strcmp(d->choices[i], shown) == 0);
            cJSON_AddItemToArray(choices, c);
        }
        break;
    }
    case B8_SET_SENDERS:
        cJSON_AddBoolToObject(o, "is_lines", 1);
        break;
    case B8_SET_NUMBER:
        cJSON_AddBoolToObject(o, "is_number", 1);
        cJSON_AddStringToObject(o, "step", "any");
        break;
    case B8_SET_INT:
        cJSON_AddBoolToObject(o, "is_number", 1);
        cJSON_AddStringToObject(o, "step", "1");
        break;
    case B8_SET_URL:
        if (d->choices) {
            add_url_choices(a->r->pool, o, d, shown);
        }
        else {
            cJSON_AddBoolToObject(o, "is_url", 1);
        }
        break;
    default:
        cJSON_AddBoolToObject(o, "is_text", 1);
        break;
    }
    cJSON_AddStringToObject(o, "value", shown);
    return o;
}

static int settings_page(b8_areq *a, int status, const cJSON *typed, const cJSON *errors)
{
    cJSON *data = b8_json_object(a->r->pool), *groups = cJSON_AddArrayToObject(data, "groups");
    cJSON *group = NULL;
    const char *current = NULL;

    /* The table is ordered by group, so a new name starts a new section. */
    for (int i = 0; i < b8_settings_count; i++) {
        const b8_setting_def *d = &b8_settings_table[i];
        if (!current || strcmp(current, d->group) != 0) {
            group = cJSON_CreateObject();
            cJSON_AddStringToObject(group, "name", d->group);
            cJSON_AddArrayToObject(group, "settings");
            cJSON_AddItemToArray(groups, group);
            current = d->group;
        }
        cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(group, "settings"),
                             setting_view(a, d, typed, errors));
    }
    if (errors) {
        cJSON_AddBoolToObject(data, "has_errors", 1);
    }
    return b8_render_page(a, status, "settings", "Settings", "settings", data);
}

static int page_settings(b8_areq *a)
{
    return settings_page(a, HTTP_OK, NULL, NULL);
}

/* Form -> the PATCH body: only the editable settings the form carries; an
 * empty secret field keeps the secret. */
static cJSON *settings_changes(b8_areq *a, cJSON *form)
{
    cJSON *changes = b8_json_object(a->r->pool);
    for (int i = 0; i < b8_settings_count; i++) {
        const b8_setting_def *d = &b8_settings_table[i];
        const char *v = b8_json_str(form, d->key);
        if (!v || apr_hash_get((apr_hash_t *)a->ctx->config, d->key, APR_HASH_KEY_STRING)) {
            continue;
        }
        if (d->type == B8_SET_SECRET && !*v) {
            continue;
        }
        cJSON_AddStringToObject(changes, d->key, v);
    }
    return changes;
}

static int page_settings_save(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *form = b8_form_to_json(a->r->pool, a->form);

    if (b8_settings_update(a->ctx, settings_changes(a, form), &err) != B8_OK) {
        if (err.kind != B8_EINVALID) {
            return b8_page_error(a, &err);
        }
        /* Secrets are never echoed back, not even the typed ones. */
        for (int i = 0; i < b8_settings_count; i++) {
            if (b8_settings_table[i].type == B8_SET_SECRET) {
                cJSON_DeleteItemFromObjectCaseSensitive(form, b8_settings_table[i].key);
            }
        }
        return settings_page(a, HTTP_UNPROCESSABLE_ENTITY, form, err.fields);
    }
    b8_worker_wake();
    return b8_redirect(a, "settings", "saved");
}

/* ------------------------------------------------------------------ FAQs */

static int faqs_page(b8_areq *a, int status, cJSON *form, b8_err *err, cJSON *report)
{
    b8_err lerr = B8_ERR_INIT(a->r->pool);
    b8_paging pg = { 1, 1000 };
    cJSON *data = NULL;
    const char *prompt = NULL;

    if (b8_faqs_list(a->ctx, &pg, &data, &lerr) != B8_OK) {
        return b8_page_error(a, &lerr);
    }
    if (b8_ai_system_prompt(a->ctx->db, a->r->pool, b8_ctx_setting(a->ctx, "ai_persona"),
                            &prompt) != APR_SUCCESS) {
        b8_fail_db(&lerr, a->ctx->db);
        return b8_page_error(a, &lerr);
    }
    cJSON_AddStringToObject(data, "system_prompt", prompt);
    if (form) {
        cJSON_AddItemReferenceToObject(data, "form", form);
    }
    if (err && err->fields) {
        cJSON_AddItemReferenceToObject(data, "errors", err->fields);
    }
    if (report) {
        cJSON_AddItemReferenceToObject(data, "report", report);
    }
    return b8_render_page(a, status, "faqs", "FAQ for the AI", "faqs", data);
}

static int page_faqs(b8_areq *a)
{
    return faqs_page(a, HTTP_OK, NULL, NULL, NULL);
}

static int page_faq_create(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL, *in = b8_form_to_json(a->r->pool, a->form);
    if (b8_faq_create(a->ctx, in, &out, &err) != B8_OK) {
        return err.kind == B8_EINVALID ? faqs_page(a, HTTP_UNPROCESSABLE_ENTITY, in, &err, NULL)
                                       : b8_page_error(a, &err);
    }
    return b8_redirect(a, "faqs", "created");
}

static int faq_edit_page(b8_areq *a, int status, cJSON *faq, b8_err *err)
{
    cJSON *data = b8_json_object(a->r->pool);
    cJSON_AddItemReferenceToObject(data, "faq", faq);
    if (err && err->fields) {
        cJSON_AddItemReferenceToObject(data, "errors", err->fields);
    }
    return b8_render_page(a, status, "faq_edit", "Edit FAQ pair", "faqs", data);
}

static int page_faq(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *faq = NULL;
    if (b8_faq_get(a->ctx, a->params[0], &faq, &err) != B8_OK) {
        return b8_page_error(a, &err);
    }
    return faq_edit_page(a, HTTP_OK, faq, NULL);
}

static int page_faq_update(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL, *in = b8_form_to_json(a->r->pool, a->form);
    if (b8_faq_update(a->ctx, a->params[0], in, &out, &err) != B8_OK) {
        if (err.kind == B8_EINVALID) {
            cJSON_AddStringToObject(in, "id", a->params[0]);
            return faq_edit_page(a, HTTP_UNPROCESSABLE_ENTITY, in, &err);
        }
        return b8_page_error(a, &err);
    }
    return b8_redirect(a, "faqs", "saved");
}

static int page_faq_delete(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    if (b8_faq_delete(a->ctx, a->params[0], &err) != B8_OK) {
        return b8_page_error(a, &err);
    }
    return b8_redirect(a, "faqs", "deleted");
}

static int faq_move(b8_areq *a, int direction)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    if (b8_faq_move(a->ctx, a->params[0], direction, &err) != B8_OK) {
        return b8_page_error(a, &err);
    }
    return b8_redirect(a, "faqs", NULL);
}

static int page_faq_up(b8_areq *a)
{
    return faq_move(a, -1);
}

static int page_faq_down(b8_areq *a)
{
    return faq_move(a, +1);
}

static int page_faqs_import(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *report = NULL;
    const char *csv = apr_table_get(a->form, "csv");

    if (!csv || !*b8_trim(a->r->pool, csv)) {
        b8_field_error(&err, "csv", "paste CSV lines or choose a file first");
        return faqs_page(a, HTTP_UNPROCESSABLE_ENTITY, NULL, &err, NULL);
    }
    if (b8_faqs_import(a->ctx, csv, strlen(csv), &report, &err) != B8_OK) {
        return b8_page_error(a, &err);
    }
    return faqs_page(a, HTTP_OK, NULL, NULL, report);
}

static int faqs_csv(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    const char *csv = NULL;
    if (b8_faqs_csv(a->ctx, &csv, &err) != B8_OK) {
        return b8_page_error(a, &err);
    }
    return b8_send_csv(a->r, "faqs.csv", csv);
}

static int api_faqs_list(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    b8_paging pg;
    cJSON *out = NULL;
    b8_errkind kind;
    b8_paging_from_query(a, &pg);
    kind = b8_faqs_list(a->ctx, &pg, &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

static int api_faq_create(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_faq_create(a->ctx, a->json, &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_CREATED, out);
}

static int api_faq_update(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_faq_update(a->ctx, a->params[0], a->json, &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

static int api_faq_delete(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    b8_errkind kind = b8_faq_delete(a->ctx, a->params[0], &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, NULL);
}

static int api_faqs_import(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_faqs_import(a->ctx, a->body, a->body_len, &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

const b8_route b8_routes_ai[] = {
    { "GET", "settings", page_settings, B8_BODY_NONE },
    { "POST", "settings", page_settings_save, B8_BODY_FORM },
    { "GET", "faqs", page_faqs, B8_BODY_NONE },
    { "POST", "faqs", page_faq_create, B8_BODY_FORM },
    { "GET", "faqs.csv", faqs_csv, B8_BODY_NONE },
    { "POST", "faqs/import", page_faqs_import, B8_BODY_FORM_IMPORT },
    { "GET", "faqs/:", page_faq, B8_BODY_NONE },
    { "POST", "faqs/:", page_faq_update, B8_BODY_FORM },
    { "POST", "faqs/:/delete", page_faq_delete, B8_BODY_FORM },
    { "POST", "faqs/:/up", page_faq_up, B8_BODY_FORM },
    { "POST", "faqs/:/down", page_faq_down, B8_BODY_FORM },
    { "GET", "api/faqs", api_faqs_list, B8_BODY_NONE },
    { "POST", "api/faqs", api_faq_create, B8_BODY_JSON },
    { "POST", "api/faqs/import", api_faqs_import, B8_BODY_CSV },
    { "PATCH", "api/faqs/:", api_faq_update, B8_BODY_JSON },
    { "DELETE", "api/faqs/:", api_faq_delete, B8_BODY_NONE },
    { NULL, NULL, NULL, 0 }
};
