/* Contacts and tags pages and API. */
#include "mod_blu8x8_admin.h"

#include <apr_strings.h>

#include "b8_contacts.h"
#include "b8_tags.h"

/* ------------------------------------------------------------- pager */

/* {"page", "pages", "total", "prev", "next"} for a list envelope; the links
 * keep `query` (already URL-encoded pairs joined by '&'). */
cJSON *b8_pager(b8_areq *a, const cJSON *list, const char *path, const char *query)
{
    cJSON *pager = cJSON_CreateObject();
    long page = (long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(list, "page"));
    long pages = (long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(list, "pages"));
    const char *prefix = apr_pstrcat(a->r->pool, a->base, path, "?", query && *query ? query : "",
                                     query && *query ? "&" : "", "page=", NULL);

    cJSON_AddNumberToObject(pager, "page", (double)page);
    cJSON_AddNumberToObject(pager, "pages", (double)pages);
    cJSON_AddNumberToObject(pager, "total",
                            cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(list, "total")));
    if (page > 1) {
        cJSON_AddStringToObject(pager, "prev",
                                apr_psprintf(a->r->pool, "%s%ld", prefix, page - 1));
    }
    if (page < pages) {
        cJSON_AddStringToObject(pager, "next",
                                apr_psprintf(a->r->pool, "%s%ld", prefix, page + 1));
    }
    return pager;
}

/* "key=value" URL-encoded, or "" when value is empty. */
const char *b8_query_pair(apr_pool_t *p, const char *key, const char *value)
{
    if (!value || !*value) {
        return "";
    }
    return apr_pstrcat(p, key, "=", ap_escape_urlencoded(p, value), NULL);
}

/* Pairs joined with '&', empty ones dropped. */
static const char *query_join(apr_pool_t *p, const char *const *pairs, int n)
{
    const char *out = "";
    for (int i = 0; i < n; i++) {
        if (*pairs[i]) {
            out = *out ? apr_pstrcat(p, out, "&", pairs[i], NULL) : pairs[i];
        }
    }
    return out;
}

static void move_errors(cJSON *data, b8_err *err)
{
    if (err && err->fields) {
        cJSON_AddItemReferenceToObject(data, "errors", err->fields);
    }
}

/* ------------------------------------------------------------- contacts API */

static int api_contacts_list(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    b8_paging pg;
    cJSON *out = NULL;
    b8_errkind kind;
    b8_paging_from_query(a, &pg);
    kind = b8_contacts_list(a->ctx, apr_table_get(a->query, "q"), apr_table_get(a->query, "tag"),
                            apr_table_get(a->query, "opted_out"), &pg, &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

static int api_contacts_create(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_contact_create(a->ctx, a->json, &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_CREATED, out);
}

static int api_contact_get(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_contact_get(a->ctx, a->params[0], &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

static int api_contact_patch(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_contact_update(a->ctx, a->params[0], a->json, &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

static int api_contact_delete(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    b8_errkind kind = b8_contact_delete(a->ctx, a->params[0], &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, NULL);
}

static int api_contacts_import(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_contacts_import(a->ctx, a->body, a->body_len, &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

/* ----------------------------------------------------------- contacts pages */

/* Tags for the filter and the hints: every tag, by name. */
static cJSON *all_tags(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    b8_paging pg = { 1, 1000 };
    cJSON *out = NULL;
    if (b8_tags_list(a->ctx, &pg, &out, &err) != B8_OK) {
        return cJSON_CreateArray();
    }
    /* Detached from the pool-owned answer, the list is its new parent's. */
    return cJSON_DetachItemFromObjectCaseSensitive(out, "items");
}

static int contacts_page(b8_areq *a, int status, cJSON *form, b8_err *form_err, cJSON *report)
{
    apr_pool_t *p = a->r->pool;
    b8_err err = B8_ERR_INIT(a->r->pool);
    b8_paging pg;
    cJSON *data = NULL, *tags, *t;
    const char *q = apr_table_get(a->query, "q");
    const char *tag = apr_table_get(a->query, "tag");
    const char *opted = apr_table_get(a->query, "opted_out");
    const char *pairs[3];

    b8_paging_from_query(a, &pg);
    if (b8_contacts_list(a->ctx, q, tag, opted, &pg, &data, &err) != B8_OK) {
        return b8_page_error(a, &err);
    }
    pairs[0] = b8_query_pair(p, "q", q);
    pairs[1] = b8_query_pair(p, "tag", tag);
    pairs[2] = b8_query_pair(p, "opted_out", opted);
    cJSON_AddItemToObject(data, "pager", b8_pager(a, data, "contacts", query_join(p, pairs, 3)));
    cJSON_AddStringToObject(data, "q", q ? q : "");
    tags = all_tags(a);
    cJSON_ArrayForEach(t, tags) {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "name"));
        cJSON_AddBoolToObject(t, "selected", tag && name && strcasecmp(tag, name) == 0);
    }
    cJSON_AddItemToObject(data, "all_tags", tags);
    cJSON_AddBoolToObject(data, "opted_yes", opted && strcmp(opted, "true") == 0);
    cJSON_AddBoolToObject(data, "opted_no", opted && strcmp(opted, "false") == 0);
    if (form) {
        cJSON_AddItemReferenceToObject(data, "form", form);
    }
    move_errors(data, form_err);
    if (report) {
        cJSON_AddItemReferenceToObject(data, "report", report);
    }
    return b8_render_page(a, status, "contacts", "Contacts", "contacts", data);
}

static int page_contacts(b8_areq *a)
{
    return contacts_page(a, HTTP_OK, NULL, NULL, NULL);
}

static int page_contacts_create(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL, *in = b8_form_to_json(a->r->pool, a->form);
    if (b8_contact_create(a->ctx, in, &out, &err) != B8_OK) {
        if (err.kind == B8_EINVALID) {
            return contacts_page(a, HTTP_UNPROCESSABLE_ENTITY, in, &err, NULL);
        }
        return b8_page_error(a, &err);
    }
    return b8_redirect(a, "contacts", "created");
}

static int page_contacts_import(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *report = NULL;
    const char *csv = apr_table_get(a->form, "csv");
    if (b8_contacts_import(a->ctx, csv ? csv : "", csv ? strlen(csv) : 0, &report, &err)
        != B8_OK) {
        return b8_page_error(a, &err);
    }
    return contacts_page(a, HTTP_OK, NULL, NULL, report);
}

/* "a; b" for the tags input of a contact object. */
static void add_tags_text(apr_pool_t *p, cJSON *contact)
{
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(contact, "tags"), *t;
    const char *text = "";
    if (cJSON_IsString(tags)) {
        return;
    }
    cJSON_ArrayForEach(t, tags) {
        if (cJSON_IsString(t)) {
            text = *text ? apr_pstrcat(p, text, "; ", t->valuestring, NULL) : t->valuestring;
        }
    }
    cJSON_AddStringToObject(contact, "tags_text", text);
}

static int contact_edit_page(b8_areq *a, int status, cJSON *contact, b8_err *err)
{
    cJSON *data = b8_json_object(a->r->pool);
    add_tags_text(a->r->pool, contact);
    cJSON_AddItemReferenceToObject(data, "contact", contact);
    cJSON_AddItemToObject(data, "all_tags", all_tags(a));
    move_errors(data, err);
    return b8_render_page(a, status, "contact_edit", "Edit contact", "contacts", data);
}

static int page_contact(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *contact = NULL;
    if (b8_contact_get(a->ctx, a->params[0], &contact, &err) != B8_OK) {
        return b8_page_error(a, &err);
    }
    return contact_edit_page(a, HTTP_OK, contact, NULL);
}

static int page_contact_update(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL, *in = b8_form_to_json(a->r->pool, a->form);
    /* An unticked checkbox sends nothing: it means "not opted out". */
    if (!cJSON_GetObjectItemCaseSensitive(in, "opted_out")) {
        cJSON_AddFalseToObject(in, "opted_out");
    }
    if (!cJSON_GetObjectItemCaseSensitive(in, "tags")) {
        cJSON_AddStringToObject(in, "tags", "");
    }
    if (b8_contact_update(a->ctx, a->params[0], in, &out, &err) != B8_OK) {
        if (err.kind == B8_EINVALID) {
            cJSON_AddStringToObject(in, "id", a->params[0]);
            cJSON_AddStringToObject(in, "tags_text",
                                    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in, "tags")));
            return contact_edit_page(a, HTTP_UNPROCESSABLE_ENTITY, in, &err);
        }
        return b8_page_error(a, &err);
    }
    return b8_redirect(a, "contacts", "saved");
}

static int page_contact_delete(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    if (b8_contact_delete(a->ctx, a->params[0], &err) != B8_OK) {
        return b8_page_error(a, &err);
    }
    return b8_redirect(a, "contacts", "deleted");
}

/* ------------------------------------------------------------------- tags */

static int api_tags_list(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    b8_paging pg;
    cJSON *out = NULL;
    b8_errkind kind;
    b8_paging_from_query(a, &pg);
    kind = b8_tags_list(a->ctx, &pg, &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

static int api_tags_create(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_tag_create(a->ctx, a->json, &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_CREATED, out);
}

static int api_tag_get(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_tag_get(a->ctx, a->params[0], &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

static int api_tag_patch(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_tag_update(a->ctx, a->params[0], a->json, &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

static int api_tag_delete(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    b8_errkind kind = b8_tag_delete(a->ctx, a->params[0], &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, NULL);
}

/* form: the typed values of the add form; edit_id/edit: a rename that failed. */
static int tags_page(b8_areq *a, int status, cJSON *form, const char *edit_id, cJSON *edit,
                     b8_err *form_err)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    b8_paging pg;
    cJSON *data = NULL, *t;

    b8_paging_from_query(a, &pg);
    if (b8_tags_list(a->ctx, &pg, &data, &err) != B8_OK) {
        return b8_page_error(a, &err);
    }
    cJSON_AddItemToObject(data, "pager", b8_pager(a, data, "tags", ""));
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(data, "items")) {
        cJSON *id = cJSON_GetObjectItemCaseSensitive(t, "id");
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "name"));
        cJSON_AddStringToObject(t, "contacts_href",
                                apr_pstrcat(a->r->pool, a->base, "contacts?",
                                            b8_query_pair(a->r->pool, "tag", name), NULL));
        if (edit_id && cJSON_IsNumber(id) && atol(edit_id) == (long)id->valuedouble) {
            cJSON_AddItemReferenceToObject(t, "edit", edit);
            if (form_err && form_err->fields) {
                cJSON_AddItemReferenceToObject(t, "rename_errors", form_err->fields);
                form_err->fields = NULL;   /* shown on its row only */
            }
        }
    }
    if (form) {
        cJSON_AddItemReferenceToObject(data, "form", form);
    }
    move_errors(data, form_err);
    return b8_render_page(a, status, "tags", "Tags", "tags", data);
}

static int page_tags(b8_areq *a)
{
    return tags_page(a, HTTP_OK, NULL, NULL, NULL, NULL);
}

static int page_tags_create(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL, *in = b8_form_to_json(a->r->pool, a->form);
    if (b8_tag_create(a->ctx, in, &out, &err) != B8_OK) {
        if (err.kind == B8_EINVALID) {
            return tags_page(a, HTTP_UNPROCESSABLE_ENTITY, in, NULL, NULL, &err);
        }
        return b8_page_error(a, &err);
    }
    return b8_redirect(a, "tags", "created");
}

static int page_tag_rename(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL, *in = b8_form_to_json(a->r->pool, a->form);
    if (b8_tag_update(a->ctx, a->params[0], in, &out, &err) != B8_OK) {
        if (err.kind == B8_EINVALID) {
            return tags_page(a, HTTP_UNPROCESSABLE_ENTITY, NULL, a->params[0], in, &err);
        }
        return b8_page_error(a, &err);
    }
    return b8_redirect(a, "tags", "saved");
}

static int page_tag_delete(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    if (b8_tag_delete(a->ctx, a->params[0], &err) != B8_OK) {
        return b8_page_error(a, &err);
    }
    return b8_redirect(a, "tags", "deleted");
}

const b8_route b8_routes_contacts[] = {
    { "GET", "contacts", page_contacts, B8_BODY_NONE },
    { "POST", "contacts", page_contacts_create, B8_BODY_FORM },
    { "POST", "contacts/import", page_contacts_import, B8_BODY_FORM_IMPORT },
    { "GET", "contacts/:", page_contact, B8_BODY_NONE },
    { "POST", "contacts/:", page_contact_update, B8_BODY_FORM },
    { "POST", "contacts/:/delete", page_contact_delete, B8_BODY_FORM },
    { "GET", "tags", page_tags, B8_BODY_NONE },
    { "POST", "tags", page_tags_create, B8_BODY_FORM },
    { "POST", "tags/:", page_tag_rename, B8_BODY_FORM },
    { "POST", "tags/:/delete", page_tag_delete, B8_BODY_FORM },
    { "GET", "api/contacts", api_contacts_list, B8_BODY_NONE },
    { "POST", "api/contacts", api_contacts_create, B8_BODY_JSON },
    { "POST", "api/contacts/import", api_contacts_import, B8_BODY_CSV },
    { "GET", "api/contacts/:", api_contact_get, B8_BODY_NONE },
    { "PATCH", "api/contacts/:", api_contact_patch, B8_BODY_JSON },
    { "DELETE", "api/contacts/:", api_contact_delete, B8_BODY_NONE },
    { "GET", "api/tags", api_tags_list, B8_BODY_NONE },
    { "POST", "api/tags", api_tags_create, B8_BODY_JSON },
    { "GET", "api/tags/:", api_tag_get, B8_BODY_NONE },
    { "PATCH", "api/tags/:", api_tag_patch, B8_BODY_JSON },
    { "DELETE", "api/tags/:", api_tag_delete, B8_BODY_NONE },
    { NULL, NULL, NULL, 0 }
};
