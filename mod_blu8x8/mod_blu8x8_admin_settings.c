/* The Settings page and GET/PATCH /api/settings. The rules, the table and
 * the snapshot are core (b8_settings.c). */
#include "mod_blu8x8_admin.h"

#include <apr_strings.h>

#include "b8_settings.h"
#include "b8_util.h"

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
    int id = (int)(d - b8_settings_table);
    b8_setting_source src = a->ctx->settings->source[id];
    const char *v = a->ctx->settings->value[id];
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
    if (d->type == B8_STYPE_SECRET) {
        cJSON_AddBoolToObject(o, "is_secret", 1);
        cJSON_AddBoolToObject(o, "set", v && *v);
        return o;
    }
    if (!shown) {
        shown = v ? v : "";
    }
    switch (d->type) {
    case B8_STYPE_BOOL:
        cJSON_AddBoolToObject(o, "is_bool", 1);
        cJSON_AddBoolToObject(o, "on", strcmp(shown, "1") == 0);
        break;
    case B8_STYPE_CHOICE: {
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
    case B8_STYPE_SENDERS:
        cJSON_AddBoolToObject(o, "is_lines", 1);
        break;
    case B8_STYPE_NUMBER:
        cJSON_AddBoolToObject(o, "is_number", 1);
        cJSON_AddStringToObject(o, "step", "any");
        break;
    case B8_STYPE_INT:
        cJSON_AddBoolToObject(o, "is_number", 1);
        cJSON_AddStringToObject(o, "step", "1");
        break;
    case B8_STYPE_URL:
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
        if (!v || a->ctx->settings->source[i] == B8_SRC_CONFIG) {
            continue;
        }
        if (d->type == B8_STYPE_SECRET && !*v) {
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
            if (b8_settings_table[i].type == B8_STYPE_SECRET) {
                cJSON_DeleteItemFromObjectCaseSensitive(form, b8_settings_table[i].key);
            }
        }
        return settings_page(a, HTTP_UNPROCESSABLE_ENTITY, form, err.fields);
    }
    b8_settings_cache_changed(b8_proc.settings);
    b8_worker_wake();
    return b8_redirect(a, "settings", "saved");
}

/* ------------------------------------------------------------------ API */


static int api_settings_get(b8_areq *a)
{
    return b8_send_json(a->r, HTTP_OK, b8_json_pool_owned(a->r->pool, b8_settings_json(a->ctx)));
}

static int api_settings_patch(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    if (b8_settings_update(a->ctx, a->json, &err) != B8_OK) {
        return b8_api_error(a, &err);
    }
    b8_settings_cache_changed(b8_proc.settings);
    b8_worker_wake();
    return api_settings_get(a);
}

const b8_route b8_routes_settings[] = {
    { "GET", "settings", page_settings, B8_BODY_NONE },
    { "POST", "settings", page_settings_save, B8_BODY_FORM },
    { "GET", "api/settings", api_settings_get, B8_BODY_NONE },
    { "PATCH", "api/settings", api_settings_patch, B8_BODY_JSON },
    { NULL, NULL, NULL, 0 }
};
