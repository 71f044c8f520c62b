#include "b8_tags.h"
#include "b8_util.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

const char *b8_tag_name_invalid(apr_pool_t *p, const char *raw, const char **name)
{
    const char *s = raw ? b8_trim(p, raw) : "";

    *name = s;
    if (!*s) {
        return "is empty";
    }
    if (!b8_utf8_valid(s, strlen(s))) {
        return "is not valid UTF-8 text";
    }
    if (b8_utf8_length(s) > B8_TAG_MAX_CHARS) {
        return apr_psprintf(p, "is too long (at most %d characters)", B8_TAG_MAX_CHARS);
    }
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == ';' || *c == ',') {
            return "cannot contain ';' or ',' (they separate tags in lists and CSV files)";
        }
        if (*c < ' ' || *c == 0x7f) {
            return "cannot contain control characters";
        }
    }
    return NULL;
}

static cJSON *tag_json(const b8_rows *rows, int r)
{
    cJSON *o = cJSON_CreateObject();
    b8_json_add_int(o, "id", B8_GET(rows, r, TAG, id));
    b8_json_add_str(o, "name", B8_GET(rows, r, TAG, name));
    b8_json_add_int(o, "contacts", B8_GET_OR(rows, r, TAG, contacts, "0"));
    b8_json_add_str(o, "created_at", B8_GET(rows, r, TAG, created_at));
    return o;
}

b8_errkind b8_tags_list(b8_ctx *ctx, const b8_paging *pg, cJSON **out, b8_err *err)
{
    b8_rows *rows;
    const char *total;
    const char *args[] = { apr_ltoa(ctx->pool, pg->per_page),
                           apr_ltoa(ctx->pool, (pg->page - 1) * pg->per_page) };
    cJSON *items;

    if (b8_db_value(ctx->db, ctx->pool, B8_SQL_TAGS_COUNT, NULL, &total) != APR_SUCCESS
        || b8_db_select(ctx->db, ctx->pool, B8_SQL_TAGS_PAGE, args, &rows) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    items = cJSON_CreateArray();
    for (int i = 0; i < rows->nrows; i++) {
        cJSON_AddItemToArray(items, tag_json(rows, i));
    }
    *out = b8_json_pool_owned(ctx->pool, b8_list_envelope(items, total ? atol(total) : 0, pg));
    return B8_OK;
}

b8_errkind b8_tag_get(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err)
{
    b8_rows *rows;
    const char *args[] = { id };
    if (b8_db_select(ctx->db, ctx->pool, B8_SQL_TAG_BY_ID, args, &rows) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if (!rows->nrows) {
        return b8_fail(err, B8_ENOTFOUND, "no such tag");
    }
    *out = b8_json_pool_owned(ctx->pool, tag_json(rows, 0));
    return B8_OK;
}

apr_status_t b8_tag_find(b8_db *db, apr_pool_t *p, const char *name, const char **id)
{
    const char *args[] = { name };
    return b8_db_value(db, p, B8_SQL_TAG_BY_NAME, args, id);
}

apr_status_t b8_tag_ensure(b8_db *db, apr_pool_t *p, const char *name, const char **id)
{
    const char *args[] = { name, b8_now_iso(p) };
    apr_status_t rv = b8_db_value(db, p, B8_SQL_TAG_INSERT, args, id);
    if (rv == APR_SUCCESS && !*id) {
        rv = b8_tag_find(db, p, name, id);
    }
    return rv;
}

/* The "name" of in, checked; NULL after adding a field error. */
static const char *name_from(b8_ctx *ctx, const cJSON *in, b8_err *err)
{
    const char *name, *why;
    const char *raw = b8_json_str(in, "name");

    if (!raw) {
        b8_field_error(err, "name", "Give the tag a name.");
        return NULL;
    }
    if ((why = b8_tag_name_invalid(ctx->pool, raw, &name)) != NULL) {
        b8_field_error(err, "name", apr_pstrcat(ctx->pool, "The name ", why, ".", NULL));
        return NULL;
    }
    return name;
}

b8_errkind b8_tag_create(b8_ctx *ctx, const cJSON *in, cJSON **out, b8_err *err)
{
    const char *name, *id = NULL;
    const char *args[2];

    if (!cJSON_IsObject(in)) {
        return b8_fail(err, B8_EINVALID, "expected a JSON object");
    }
    if (!(name = name_from(ctx, in, err))) {
        return err->kind;
    }
    args[0] = name;
    args[1] = b8_now_iso(ctx->pool);
    if (b8_db_value(ctx->db, ctx->pool, B8_SQL_TAG_INSERT, args, &id) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if (!id) {
        b8_field_error(err, "name", apr_psprintf(ctx->pool, "A tag called \"%s\" already exists.",
                                                 name));
        return err->kind;
    }
    return b8_tag_get(ctx, id, out, err);
}

b8_errkind b8_tag_update(b8_ctx *ctx, const char *id, const cJSON *in, cJSON **out, b8_err *err)
{
    const char *name, *other = NULL, *exists = NULL;
    const char *id_arg[] = { id };

    if (!cJSON_IsObject(in)) {
        return b8_fail(err, B8_EINVALID, "expected a JSON object");
    }
    if (!(name = name_from(ctx, in, err))) {
        return err->kind;
    }
    if (b8_db_begin(ctx->db) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if (b8_db_value(ctx->db, ctx->pool, B8_SQL_TAG_BY_ID, id_arg, &exists) != APR_SUCCESS
        || b8_tag_find(ctx->db, ctx->pool, name, &other) != APR_SUCCESS) {
        b8_db_rollback(ctx->db);
        return b8_fail_db(err, ctx->db);
    }
    if (!exists) {
        b8_db_rollback(ctx->db);
        return b8_fail(err, B8_ENOTFOUND, "no such tag");
    }
    if (other && strcmp(other, id) != 0) {
        b8_db_rollback(ctx->db);
        b8_field_error(err, "name", apr_psprintf(ctx->pool, "A tag called \"%s\" already exists.",
                                                 name));
        return err->kind;
    }
    {
        const char *args[] = { name, id };
        if (b8_db_exec(ctx->db, ctx->pool, B8_SQL_TAG_RENAME, args, NULL) != APR_SUCCESS
            || b8_db_commit(ctx->db) != APR_SUCCESS) {
            b8_db_rollback(ctx->db);
            return b8_fail_db(err, ctx->db);
        }
    }
    return b8_tag_get(ctx, id, out, err);
}

b8_errkind b8_tag_delete(b8_ctx *ctx, const char *id, b8_err *err)
{
    const char *args[] = { id };
    int n = 0;
    if (b8_db_exec(ctx->db, ctx->pool, B8_SQL_TAG_DELETE, args, &n) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    return n ? B8_OK : b8_fail(err, B8_ENOTFOUND, "no such tag");
}

typedef struct {
    b8_tag_contact_fn *fn;
    void *baton;
} tag_walk;

static apr_status_t tag_page(void *baton, apr_pool_t *p, const b8_rows *rows)
{
    tag_walk *w = baton;
    apr_status_t rv = APR_SUCCESS;

    for (int i = 0; i < rows->nrows && rv == APR_SUCCESS; i++) {
        rv = w->fn(w->baton, rows, i);
    }
    return rv;
}

apr_status_t b8_tag_each_contact(b8_db *db, apr_pool_t *parent, const char *tag_id,
                                 b8_tag_contact_fn *fn, void *baton)
{
    const char *args[] = { tag_id, NULL, NULL };
    tag_walk w = { fn, baton };
    return b8_db_walk(db, parent, B8_SQL_TAG_CONTACTS_AFTER, args, 3, B8_TAG_PAGE, tag_page, &w);
}
