#include "b8_users.h"
#include "b8_phone.h"
#include "b8_settings.h"
#include "b8_util.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

static b8_user *user_from_row(apr_pool_t *p, const b8_rows *rows, int r)
{
    b8_user *u = apr_pcalloc(p, sizeof(*u));
    u->id = B8_GET(rows, r, USER, id);
    u->login = B8_GET(rows, r, USER, login);
    u->name = B8_GET(rows, r, USER, name);
    u->phone = B8_GET(rows, r, USER, phone);
    u->is_admin = B8_GET_IS(rows, r, USER, is_admin, "1");
    u->is_agent = B8_GET_IS(rows, r, USER, is_agent, "1");
    u->created_at = B8_GET(rows, r, USER, created_at);
    return u;
}

static apr_status_t user_query(b8_db *db, apr_pool_t *p, b8_sql_id q, const char *arg,
                               b8_user **out)
{
    b8_rows *rows;
    const char *args[] = { arg };
    apr_status_t rv = b8_db_select(db, p, q, args, &rows);
    if (rv == APR_SUCCESS) {
        *out = rows->nrows ? user_from_row(p, rows, 0) : NULL;
    }
    return rv;
}

apr_status_t b8_user_by_login(b8_db *db, apr_pool_t *p, const char *login, b8_user **out)
{
    return user_query(db, p, B8_SQL_USER_BY_LOGIN, login, out);
}

apr_status_t b8_users_bootstrap_admin(b8_db *db, apr_pool_t *p, const char *login)
{
    const char *now = b8_now_iso(p);
    const char *args[] = { login, login, now, now };
    return b8_db_exec(db, p, B8_SQL_USER_BOOTSTRAP_ADMIN, args, NULL);
}

cJSON *b8_user_json(const b8_user *u)
{
    cJSON *o = cJSON_CreateObject(), *roles = cJSON_CreateArray();
    b8_json_add_int(o, "id", u->id);
    b8_json_add_str(o, "login", u->login);
    b8_json_add_str(o, "name", u->name);
    b8_json_add_str(o, "phone", u->phone);
    if (u->is_admin) {
        cJSON_AddItemToArray(roles, cJSON_CreateString("administrator"));
    }
    if (u->is_agent) {
        cJSON_AddItemToArray(roles, cJSON_CreateString("sales_agent"));
    }
    cJSON_AddItemToObject(o, "roles", roles);
    b8_json_add_str(o, "created_at", u->created_at);
    return o;
}

b8_errkind b8_users_list(b8_ctx *ctx, const b8_paging *pg, cJSON **out, b8_err *err)
{
    b8_rows *rows;
    const char *total;
    const char *args[] = { apr_ltoa(ctx->pool, pg->per_page),
                           apr_ltoa(ctx->pool, (pg->page - 1) * pg->per_page) };
    cJSON *items;

    if (b8_db_value(ctx->db, ctx->pool, B8_SQL_USERS_COUNT, NULL, &total) != APR_SUCCESS
        || b8_db_select(ctx->db, ctx->pool, B8_SQL_USERS_PAGE, args, &rows) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    items = cJSON_CreateArray();
    for (int i = 0; i < rows->nrows; i++) {
        cJSON_AddItemToArray(items, b8_user_json(user_from_row(ctx->pool, rows, i)));
    }
    *out = b8_json_pool_owned(ctx->pool, b8_list_envelope(items, total ? atol(total) : 0, pg));
    return B8_OK;
}

b8_errkind b8_user_get(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err)
{
    b8_user *u;
    if (user_query(ctx->db, ctx->pool, B8_SQL_USER_BY_ID, id, &u) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if (!u) {
        return b8_fail(err, B8_ENOTFOUND, "no such user");
    }
    *out = b8_json_pool_owned(ctx->pool, b8_user_json(u));
    return B8_OK;
}

static int login_valid(const char *s)
{
    apr_size_t n = strlen(s);
    if (n == 0 || n > 64) {
        return 0;
    }
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c <= ' ' || *c == ':' || *c == 0x7f) {
            return 0;
        }
    }
    return 1;
}

/* Applies the fields present in `in` onto u, collecting field errors. */
static void user_apply(b8_ctx *ctx, b8_user *u, const cJSON *in, b8_err *err)
{
    const cJSON *v;

    if ((v = cJSON_GetObjectItemCaseSensitive(in, "login")) != NULL) {
        const char *login = cJSON_IsString(v) ? b8_trim(ctx->pool, v->valuestring) : NULL;
        if (!login || !login_valid(login)) {
            b8_field_error(err, "login", "is required: 1 to 64 characters, no spaces or colons");
        }
        else {
            u->login = login;
        }
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(in, "name")) != NULL) {
        if (!cJSON_IsString(v) && !cJSON_IsNull(v)) {
            b8_field_error(err, "name", "must be text");
        }
        else {
            u->name = cJSON_IsString(v) ? b8_trim(ctx->pool, v->valuestring) : "";
            if (b8_utf8_length(u->name) > 200) {
                b8_field_error(err, "name", "is too long (at most 200 characters)");
            }
        }
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(in, "phone")) != NULL) {
        const char *raw = cJSON_IsString(v) ? b8_trim(ctx->pool, v->valuestring) : NULL;
        if (!cJSON_IsString(v) && !cJSON_IsNull(v)) {
            b8_field_error(err, "phone", "must be text");
        }
        else if (!raw || !*raw) {
            u->phone = NULL;
        }
        else {
            const char *why = NULL;
            const char *e164 = b8_phone_e164(ctx->pool, raw,
                                             b8_ctx_setting(ctx, B8_SET_DEFAULT_COUNTRY), &why);
            if (!e164) {
                b8_field_error(err, "phone", apr_psprintf(ctx->pool, "is not a valid phone number: %s", why));
            }
            else {
                u->phone = e164;
            }
        }
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(in, "roles")) != NULL) {
        const cJSON *r;
        if (!cJSON_IsArray(v)) {
            b8_field_error(err, "roles", "must be a list of roles");
            return;
        }
        u->is_admin = u->is_agent = 0;
        cJSON_ArrayForEach(r, v) {
            if (cJSON_IsString(r) && strcmp(r->valuestring, "administrator") == 0) {
                u->is_admin = 1;
            }
            else if (cJSON_IsString(r) && strcmp(r->valuestring, "sales_agent") == 0) {
                u->is_agent = 1;
            }
            else {
                b8_field_error(err, "roles", "roles are \"administrator\" and \"sales_agent\"");
            }
        }
    }
}

b8_errkind b8_user_create(b8_ctx *ctx, const cJSON *in, cJSON **out, b8_err *err)
{
    b8_user *u = apr_pcalloc(ctx->pool, sizeof(*u));
    const char *now = b8_now_iso(ctx->pool);
    const char *id;

    if (!cJSON_IsObject(in)) {
        return b8_fail(err, B8_EINVALID, "expected a JSON object");
    }
    u->name = "";
    if (!cJSON_GetObjectItemCaseSensitive(in, "login")) {
        b8_field_error(err, "login", "is required");
    }
    user_apply(ctx, u, in, err);
    if (err->kind != B8_OK) {
        return err->kind;
    }
    {
        const char *args[] = { u->login, u->name, u->phone, u->is_admin ? "1" : "0",
                               u->is_agent ? "1" : "0", now, now };
        if (b8_db_value(ctx->db, ctx->pool, B8_SQL_USER_INSERT, args, &id) != APR_SUCCESS) {
            return b8_fail_db(err, ctx->db);
        }
    }
    if (!id) {
        b8_field_error(err, "login", "is already taken");
        return err->kind;
    }
    return b8_user_get(ctx, id, out, err);
}

b8_errkind b8_user_update(b8_ctx *ctx, const char *id, const cJSON *in, cJSON **out, b8_err *err)
{
    b8_user *u;
    int was_admin;
    int n = 0;

    if (!cJSON_IsObject(in)) {
        return b8_fail(err, B8_EINVALID, "expected a JSON object");
    }
    if (user_query(ctx->db, ctx->pool, B8_SQL_USER_BY_ID, id, &u) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if (!u) {
        return b8_fail(err, B8_ENOTFOUND, "no such user");
    }
    was_admin = u->is_admin;
    user_apply(ctx, u, in, err);
    if (err->kind == B8_OK && was_admin && !u->is_admin && ctx->login
        && strcmp(ctx->login, u->login) == 0) {
        b8_field_error(err, "roles", "you cannot remove your own administrator role");
    }
    if (err->kind != B8_OK) {
        return err->kind;
    }
    {
        b8_user *other;
        if (user_query(ctx->db, ctx->pool, B8_SQL_USER_BY_LOGIN, u->login, &other) != APR_SUCCESS) {
            return b8_fail_db(err, ctx->db);
        }
        if (other && strcmp(other->id, u->id) != 0) {
            b8_field_error(err, "login", "is already taken");
            return err->kind;
        }
    }
    {
        const char *args[] = { u->login, u->name, u->phone, u->is_admin ? "1" : "0",
                               u->is_agent ? "1" : "0", b8_now_iso(ctx->pool), u->id };
        if (b8_db_exec(ctx->db, ctx->pool, B8_SQL_USER_UPDATE, args, &n) != APR_SUCCESS) {
            return b8_fail_db(err, ctx->db);
        }
    }
    return b8_user_get(ctx, id, out, err);
}

b8_errkind b8_user_delete(b8_ctx *ctx, const char *id, b8_err *err)
{
    b8_user *u;
    const char *args[] = { id };

    if (user_query(ctx->db, ctx->pool, B8_SQL_USER_BY_ID, id, &u) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if (!u) {
        return b8_fail(err, B8_ENOTFOUND, "no such user");
    }
    if (ctx->login && strcmp(ctx->login, u->login) == 0) {
        return b8_fail(err, B8_ECONFLICT, "you cannot delete your own user");
    }
    if (b8_db_exec(ctx->db, ctx->pool, B8_SQL_USER_DELETE, args, NULL) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    return B8_OK;
}
