/* Users pages and API: logins, names, phones and roles. */
#include "mod_blu8x8_admin.h"

#include <apr_strings.h>

static int api_users_list(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    b8_paging pg;
    cJSON *out = NULL;
    b8_paging_from_query(a, &pg);
    b8_errkind kind = b8_users_list(a->ctx, &pg, &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

static int api_users_create(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_user_create(a->ctx, a->json, &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_CREATED, out);
}

static int api_user_get(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_user_get(a->ctx, a->params[0], &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

static int api_user_patch(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_user_update(a->ctx, a->params[0], a->json, &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

static int api_user_delete(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    b8_errkind kind = b8_user_delete(a->ctx, a->params[0], &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, NULL);
}

static int users_page(b8_areq *a, int status, cJSON *form, b8_err *err)
{
    b8_err lerr = B8_ERR_INIT(a->r->pool);
    b8_paging pg;
    cJSON *data = NULL;

    b8_paging_from_query(a, &pg);
    if (b8_users_list(a->ctx, &pg, &data, &lerr) != B8_OK) {
        return b8_page_error(a, &lerr);
    }
    if (form) {
        cJSON_AddItemReferenceToObject(data, "form", form);
    }
    if (err && err->fields) {
        cJSON_AddItemReferenceToObject(data, "errors", err->fields);
    }
    return b8_render_page(a, status, "users", "Users", "users", data);
}

static int page_users(b8_areq *a)
{
    return users_page(a, HTTP_OK, NULL, NULL);
}

static int page_users_create(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL, *in = b8_form_to_json(a->r->pool, a->form);
    if (!cJSON_GetObjectItemCaseSensitive(in, "roles")) {
        cJSON_AddArrayToObject(in, "roles");
    }
    if (b8_user_create(a->ctx, in, &out, &err) != B8_OK) {
        if (err.kind == B8_EINVALID) {
            return users_page(a, HTTP_UNPROCESSABLE_ENTITY, in, &err);
        }
        return b8_page_error(a, &err);
    }
    return b8_redirect(a, "users", "created");
}

static int user_edit_page(b8_areq *a, int status, cJSON *user, b8_err *err)
{
    cJSON *data = b8_json_object(a->r->pool);
    const cJSON *role;
    cJSON_AddItemReferenceToObject(data, "user", user);
    cJSON_ArrayForEach(role, cJSON_GetObjectItemCaseSensitive(user, "roles")) {
        if (cJSON_IsString(role)) {
            cJSON_AddBoolToObject(data, apr_pstrcat(a->r->pool, "is_", role->valuestring, NULL), 1);
        }
    }
    if (err && err->fields) {
        cJSON_AddItemReferenceToObject(data, "errors", err->fields);
    }
    return b8_render_page(a, status, "user_edit", "Edit user", "users", data);
}

static int page_user(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *user = NULL;
    if (b8_user_get(a->ctx, a->params[0], &user, &err) != B8_OK) {
        return b8_page_error(a, &err);
    }
    return user_edit_page(a, HTTP_OK, user, NULL);
}

static int page_user_update(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL, *in = b8_form_to_json(a->r->pool, a->form);
    if (!cJSON_GetObjectItemCaseSensitive(in, "roles")) {
        cJSON_AddArrayToObject(in, "roles");
    }
    if (b8_user_update(a->ctx, a->params[0], in, &out, &err) != B8_OK) {
        if (err.kind == B8_EINVALID) {
            cJSON_AddStringToObject(in, "id", a->params[0]);
            return user_edit_page(a, HTTP_UNPROCESSABLE_ENTITY, in, &err);
        }
        return b8_page_error(a, &err);
    }
    return b8_redirect(a, "users", "saved");
}

static int page_user_delete(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    if (b8_user_delete(a->ctx, a->params[0], &err) != B8_OK) {
        return b8_page_error(a, &err);
    }
    return b8_redirect(a, "users", "deleted");
}

const b8_route b8_routes_users[] = {
    { "GET", "users", page_users, B8_BODY_NONE },
    { "POST", "users", page_users_create, B8_BODY_FORM },
    { "GET", "users/:", page_user, B8_BODY_NONE },
    { "POST", "users/:", page_user_update, B8_BODY_FORM },
    { "POST", "users/:/delete", page_user_delete, B8_BODY_FORM },
    { "GET", "api/users", api_users_list, B8_BODY_NONE },
    { "POST", "api/users", api_users_create, B8_BODY_JSON },
    { "GET", "api/users/:", api_user_get, B8_BODY_NONE },
    { "PATCH", "api/users/:", api_user_patch, B8_BODY_JSON },
    { "DELETE", "api/users/:", api_user_delete, B8_BODY_NONE },
    { NULL, NULL, NULL, 0 }
};
