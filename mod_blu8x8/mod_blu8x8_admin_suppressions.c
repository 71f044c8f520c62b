/* The suppression list: page, API, CSV import and export. */
#include "mod_blu8x8_admin.h"

#include <apr_strings.h>

#include "b8_suppressions.h"

static int api_list(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    b8_paging pg;
    cJSON *out = NULL;
    b8_errkind kind;
    b8_paging_from_query(a, &pg);
    kind = b8_suppressions_list(a->ctx, &pg, &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

static int api_add(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_suppression_add(a->ctx, a->json, &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_CREATED, out);
}

static int api_remove(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    b8_errkind kind = b8_suppression_remove(a->ctx, a->params[0], &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, NULL);
}

static int api_import(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_suppressions_import(a->ctx, a->body, a->body_len, &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

static int export_csv(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    const char *csv = NULL;
    if (b8_suppressions_csv(a->ctx, &csv, &err) != B8_OK) {
        return b8_page_error(a, &err);
    }
    return b8_send_csv(a->r, "suppressions.csv", csv);
}

/* form: what was typed in the add form when it failed; report: an import's. */
static int list_page(b8_areq *a, int status, cJSON *form, b8_err *form_err, cJSON *report)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    b8_paging pg;
    cJSON *data = NULL;

    b8_paging_from_query(a, &pg);
    if (b8_suppressions_list(a->ctx, &pg, &data, &err) != B8_OK) {
        return b8_page_error(a, &err);
    }
    cJSON_AddItemToObject(data, "pager", b8_pager(a, data, "suppressions", ""));
    if (form) {
        cJSON_AddItemReferenceToObject(data, "form", form);
    }
    if (form_err && form_err->fields) {
        cJSON_AddItemReferenceToObject(data, "errors", form_err->fields);
    }
    if (report) {
        cJSON_AddItemReferenceToObject(data, "report", report);
    }
    return b8_render_page(a, status, "suppressions", "Opt-outs", "suppressions", data);
}

static int page_list(b8_areq *a)
{
    return list_page(a, HTTP_OK, NULL, NULL, NULL);
}

static int page_add(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL, *in = b8_form_to_json(a->r->pool, a->form);
    if (b8_suppression_add(a->ctx, in, &out, &err) != B8_OK) {
        if (err.kind == B8_EINVALID) {
            return list_page(a, HTTP_UNPROCESSABLE_ENTITY, in, &err, NULL);
        }
        return b8_page_error(a, &err);
    }
    return b8_redirect(a, "suppressions", "created");
}

static int page_remove(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    if (b8_suppression_remove(a->ctx, a->params[0], &err) != B8_OK) {
        return b8_page_error(a, &err);
    }
    return b8_redirect(a, "suppressions", "deleted");
}

static int page_import(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *report = NULL;
    const char *csv = apr_table_get(a->form, "csv");
    if (b8_suppressions_import(a->ctx, csv ? csv : "", csv ? strlen(csv) : 0, &report, &err)
        != B8_OK) {
        return b8_page_error(a, &err);
    }
    return list_page(a, HTTP_OK, NULL, NULL, report);
}

/* '*' is a phone: digits with an optional leading '+'. */
const b8_route b8_routes_suppressions[] = {
    { "GET", "suppressions", page_list, B8_BODY_NONE },
    { "POST", "suppressions", page_add, B8_BODY_FORM },
    { "POST", "suppressions/import", page_import, B8_BODY_FORM_IMPORT },
    { "POST", "suppressions/*/delete", page_remove, B8_BODY_FORM },
    { "GET", "suppressions.csv", export_csv, B8_BODY_NONE },
    { "GET", "api/suppressions", api_list, B8_BODY_NONE },
    { "POST", "api/suppressions", api_add, B8_BODY_JSON },
    { "POST", "api/suppressions/import", api_import, B8_BODY_CSV },
    { "DELETE", "api/suppressions/*", api_remove, B8_BODY_NONE },
    { NULL, NULL, NULL, 0 }
};
