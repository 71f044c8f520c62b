/* The FAQ knowledge base of the AI chatbot: pages and JSON API. The rules
 * are core (b8_faqs.c). */
#include "mod_blu8x8_admin.h"

#include <apr_strings.h>

#include "b8_faqs.h"
#include "b8_runtime.h"
#include "b8_settings.h"
#include "b8_util.h"

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
    if (b8_ai_system_prompt(a->ctx->db, a->r->pool, b8_ctx_setting(a->ctx, B8_SET_AI_PERSONA),
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
