#include "b8_core.h"
#include "b8_csv.h"
#include "b8_settings.h"
#include "b8_util.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

b8_errkind b8_fail(b8_err *err, b8_errkind kind, const char *message)
{
    err->kind = kind;
    err->message = message;
    return kind;
}

b8_errkind b8_fail_db(b8_err *err, b8_db *db)
{
    (void)db;   /* the store has logged the details; users get no SQL */
    return b8_fail(err, B8_EINTERNAL, "database error (see the server error log)");
}

void b8_field_error(b8_err *err, const char *field, const char *message)
{
    err->kind = B8_EINVALID;
    if (!err->message) {
        err->message = "some fields are not valid";
    }
    if (!err->fields) {
        err->fields = cJSON_CreateObject();
        if (err->pool) {
            b8_json_pool_owned(err->pool, err->fields);
        }
    }
    if (!cJSON_GetObjectItemCaseSensitive(err->fields, field)) {
        cJSON_AddStringToObject(err->fields, field, message);
    }
}

const char *b8_ctx_setting(const b8_ctx *ctx, int id)
{
    return b8_setting_str(ctx->settings, (b8_setting_id)id);
}

const char *b8_json_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

cJSON *b8_json_add_str(cJSON *obj, const char *key, const char *value)
{
    return value ? cJSON_AddStringToObject(obj, key, value) : cJSON_AddNullToObject(obj, key);
}

cJSON *b8_json_add_int(cJSON *obj, const char *key, const char *value)
{
    if (!value) {
        return cJSON_AddNullToObject(obj, key);
    }
    return cJSON_AddNumberToObject(obj, key, (double)strtoll(value, NULL, 10));
}

cJSON *b8_json_add_bool(cJSON *obj, const char *key, int value)
{
    return cJSON_AddBoolToObject(obj, key, value ? 1 : 0);
}

const char *b8_json_id(apr_pool_t *p, const cJSON *v)
{
    double d;

    if (!cJSON_IsNumber(v)) {
        return NULL;
    }
    d = v->valuedouble;
    /* Doubles are exact integers up to 2^53; a fraction is never rounded. */
    if (!(d >= 1 && d <= 9007199254740991.0) || d != (double)(apr_int64_t)d) {
        return NULL;
    }
    return apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)d);
}

b8_errkind b8_json_ids_check(apr_pool_t *p, const cJSON *in, const char *key, b8_err *err)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(in, key), *v;

    if (!list || cJSON_IsNull(list)) {
        return B8_OK;
    }
    if (!cJSON_IsArray(list)) {
        b8_field_error(err, key, "This must be a list.");
        return B8_EINVALID;
    }
    cJSON_ArrayForEach(v, list) {
        if (!b8_json_id(p, v)) {
            b8_field_error(err, key, apr_psprintf(p, "Ids are whole numbers from 1 (written "
                                                  "without quotes); %s is not one.",
                                                  b8_json_print(p, v)));
            return B8_EINVALID;
        }
    }
    return B8_OK;
}

const char *b8_json_print(apr_pool_t *p, const cJSON *json)
{
    char *s = cJSON_PrintUnformatted(json);
    const char *out;
    if (!s) {
        return "{}";
    }
    out = apr_pstrdup(p, s);
    cJSON_free(s);
    return out;
}

static apr_status_t json_cleanup(void *data)
{
    cJSON_Delete(data);
    return APR_SUCCESS;
}

cJSON *b8_json_pool_owned(apr_pool_t *p, cJSON *json)
{
    if (json) {
        apr_pool_cleanup_register(p, json, json_cleanup, apr_pool_cleanup_null);
    }
    return json;
}

cJSON *b8_json_object(apr_pool_t *p)
{
    return b8_json_pool_owned(p, cJSON_CreateObject());
}

cJSON *b8_json_array(apr_pool_t *p)
{
    return b8_json_pool_owned(p, cJSON_CreateArray());
}

cJSON *b8_json_parse(apr_pool_t *p, const char *text, apr_size_t len)
{
    return b8_json_pool_owned(p, text && len ? cJSON_ParseWithLength(text, len) : NULL);
}

void b8_paging_parse(b8_paging *pg, const char *page, const char *per_page)
{
    long v;
    pg->page = 1;
    pg->per_page = 50;
    if (page && b8_parse_long(page, &v) && v >= 1 && v < 100000000) {
        pg->page = v;
    }
    if (per_page && b8_parse_long(per_page, &v) && v >= 1) {
        pg->per_page = v > 1000 ? 1000 : v;
    }
}

cJSON *b8_list_envelope(cJSON *items, long total, const b8_paging *pg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "items", items);
    cJSON_AddNumberToObject(o, "total", (double)total);
    cJSON_AddNumberToObject(o, "page", (double)pg->page);
    cJSON_AddNumberToObject(o, "per_page", (double)pg->per_page);
    cJSON_AddNumberToObject(o, "pages", (double)(total == 0 ? 1 : (total + pg->per_page - 1) / pg->per_page));
    return o;
}

/* ---------------------------------------------------------------- export */

#define EXPORT_CHUNK 5000

typedef struct {
    const b8_export_col *cols;
    int ncols;
    b8_shape shape;    /* the statement's, which cols name columns of */
    const char **fields;
    int unwritten;     /* write() failed */
    b8_write_fn *write;
    void *baton;
} export_walk;

/* One page of rows as CSV lines, written in one piece. */
static apr_status_t export_page(void *baton, apr_pool_t *cp, const b8_rows *rows)
{
    export_walk *w = baton;
    const char **lines;
    apr_size_t size = 0;
    char *text, *o;

    lines = apr_palloc(cp, sizeof(*lines) * (apr_size_t)rows->nrows);
    for (int r = 0; r < rows->nrows; r++) {
        for (int c = 0; c < w->ncols; c++) {
            w->fields[c] = b8_rows_cell(rows, r, w->shape, w->cols[c].col);
        }
        lines[r] = b8_csv_line(cp, w->ncols, w->fields);
        size += strlen(lines[r]);
    }
    /* One buffer per chunk (joining by concatenation would be quadratic). */
    text = o = apr_palloc(cp, size);
    for (int r = 0; r < rows->nrows; r++) {
        apr_size_t n = strlen(lines[r]);
        memcpy(o, lines[r], n);
        o += n;
    }
    if (w->write(w->baton, text, size) != APR_SUCCESS) {
        w->unwritten = 1;
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

b8_errkind b8_export_csv(b8_ctx *ctx, const b8_export_col *cols, int ncols, b8_sql_id sql,
                         const char **args, int nargs, b8_write_fn *write, void *baton,
                         b8_err *err)
{
    const char **fields = apr_palloc(ctx->pool, sizeof(*fields) * (apr_size_t)ncols);
    export_walk w = { cols, ncols, b8_sql_shape(sql), fields, 0, write, baton };
    const char *line;
    apr_status_t rv;

    for (int c = 0; c < ncols; c++) {
        fields[c] = cols[c].header;
    }
    line = b8_csv_header(ctx->pool, ncols, fields);
    if (write(baton, line, strlen(line)) != APR_SUCCESS) {
        return b8_fail(err, B8_EINTERNAL, "the export could not be written");
    }
    rv = b8_db_walk(ctx->db, ctx->pool, sql, args, nargs, EXPORT_CHUNK, export_page, &w);
    if (rv == APR_SUCCESS) {
        return B8_OK;
    }
    if (w.unwritten) {
        return b8_fail(err, B8_EINTERNAL, "the export could not be written");
    }
    return b8_fail_db(err, ctx->db);
}
