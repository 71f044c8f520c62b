#include "b8_faqs.h"
#include "b8_csv.h"
#include "b8_import.h"
#include "b8_util.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

static cJSON *faq_json(const b8_rows *rows, int r)
{
    cJSON *o = cJSON_CreateObject();
    b8_json_add_int(o, "id", B8_GET(rows, r, FAQ, id));
    b8_json_add_str(o, "prompt", B8_GET(rows, r, FAQ, prompt));
    b8_json_add_str(o, "completion", B8_GET(rows, r, FAQ, completion));
    b8_json_add_int(o, "position", B8_GET(rows, r, FAQ, position));
    return o;
}

b8_errkind b8_faqs_list(b8_ctx *ctx, const b8_paging *pg, cJSON **out, b8_err *err)
{
    b8_rows *rows;
    const char *total;
    const char *args[] = { apr_ltoa(ctx->pool, pg->per_page),
                           apr_ltoa(ctx->pool, (pg->page - 1) * pg->per_page) };
    cJSON *items;

    if (b8_db_value(ctx->db, ctx->pool, B8_SQL_FAQS_COUNT, NULL, &total) != APR_SUCCESS
        || b8_db_select(ctx->db, ctx->pool, B8_SQL_FAQS_PAGE, args, &rows) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    items = cJSON_CreateArray();
    for (int i = 0; i < rows->nrows; i++) {
        cJSON_AddItemToArray(items, faq_json(rows, i));
    }
    *out = b8_json_pool_owned(ctx->pool, b8_list_envelope(items, total ? atol(total) : 0, pg));
    return B8_OK;
}

static b8_errkind faq_row(b8_ctx *ctx, const char *id, b8_rows **rows, b8_err *err)
{
    const char *args[] = { id };
    if (b8_db_select(ctx->db, ctx->pool, B8_SQL_FAQ_BY_ID, args, rows) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if ((*rows)->nrows == 0) {
        return b8_fail(err, B8_ENOTFOUND, "no such FAQ pair");
    }
    return B8_OK;
}

b8_errkind b8_faq_get(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err)
{
    b8_rows *rows;
    if (faq_row(ctx, id, &rows, err) != B8_OK) {
        return err->kind;
    }
    *out = b8_json_pool_owned(ctx->pool, faq_json(rows, 0));
    return B8_OK;
}

/* One text field: required, trimmed, at most B8_FAQ_MAX_TEXT characters. */
static const char *faq_text(b8_ctx *ctx, const cJSON *in, const char *field, b8_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, field);
    const char *text;

    if (!cJSON_IsString(v)) {
        b8_field_error(err, field, "is required");
        return NULL;
    }
    text = b8_trim(ctx->pool, v->valuestring);
    if (!*text) {
        b8_field_error(err, field, "is required");
        return NULL;
    }
    if (b8_utf8_length(text) > B8_FAQ_MAX_TEXT) {
        b8_field_error(err, field, "is too long (at most 4000 characters)");
        return NULL;
    }
    return text;
}

b8_errkind b8_faq_create(b8_ctx *ctx, const cJSON *in, cJSON **out, b8_err *err)
{
    const char *prompt, *completion, *id = NULL;

    if (!cJSON_IsObject(in)) {
        return b8_fail(err, B8_EINVALID, "expected a JSON object");
    }
    prompt = faq_text(ctx, in, "prompt", err);
    completion = faq_text(ctx, in, "completion", err);
    if (err->kind != B8_OK) {
        return err->kind;
    }
    {
        const char *args[] = { prompt, completion };
        /* The position subquery reads then writes: one write transaction. */
        if (b8_db_begin(ctx->db) != APR_SUCCESS
            || b8_db_value(ctx->db, ctx->pool, B8_SQL_FAQ_INSERT, args, &id) != APR_SUCCESS
            || b8_db_commit(ctx->db) != APR_SUCCESS) {
            b8_db_rollback(ctx->db);
            return b8_fail_db(err, ctx->db);
        }
    }
    return b8_faq_get(ctx, id, out, err);
}

b8_errkind b8_faq_update(b8_ctx *ctx, const char *id, const cJSON *in, cJSON **out, b8_err *err)
{
    b8_rows *rows;
    const char *prompt, *completion;

    if (!cJSON_IsObject(in)) {
        return b8_fail(err, B8_EINVALID, "expected a JSON object");
    }
    if (faq_row(ctx, id, &rows, err) != B8_OK) {
        return err->kind;
    }
    prompt = cJSON_GetObjectItemCaseSensitive(in, "prompt") ? faq_text(ctx, in, "prompt", err)
                                                             : B8_GET(rows, 0, FAQ, prompt);
    completion = cJSON_GetObjectItemCaseSensitive(in, "completion")
                     ? faq_text(ctx, in, "completion", err) : B8_GET(rows, 0, FAQ, completion);
    if (err->kind != B8_OK) {
        return err->kind;
    }
    {
        const char *args[] = { prompt, completion, id };
        if (b8_db_exec(ctx->db, ctx->pool, B8_SQL_FAQ_UPDATE, args, NULL) != APR_SUCCESS) {
            return b8_fail_db(err, ctx->db);
        }
    }
    return b8_faq_get(ctx, id, out, err);
}

b8_errkind b8_faq_delete(b8_ctx *ctx, const char *id, b8_err *err)
{
    const char *args[] = { id };
    int n = 0;
    if (b8_db_exec(ctx->db, ctx->pool, B8_SQL_FAQ_DELETE, args, &n) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    return n ? B8_OK : b8_fail(err, B8_ENOTFOUND, "no such FAQ pair");
}

b8_errkind b8_faq_move(b8_ctx *ctx, const char *id, int direction, b8_err *err)
{
    b8_rows *rows, *other;

    if (b8_db_begin(ctx->db) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if (faq_row(ctx, id, &rows, err) != B8_OK) {
        b8_db_rollback(ctx->db);
        return err->kind;
    }
    {
        const char *pos = B8_GET(rows, 0, FAQ, position);
        const char *args[] = { pos, pos, id };
        if (b8_db_select(ctx->db, ctx->pool, direction < 0 ? B8_SQL_FAQ_NEIGHBOUR_BEFORE
                                                           : B8_SQL_FAQ_NEIGHBOUR_AFTER,
                         args, &other) != APR_SUCCESS) {
            b8_db_rollback(ctx->db);
            return b8_fail_db(err, ctx->db);
        }
        if (other->nrows == 1) {
            /* Equal positions (never made here, but possible in old data)
             * still swap: the neighbour takes ours and we take its position
             * nudged past it. */
            const char *opos = B8_GET(other, 0, FAQ_POSITION, position);
            const char *mine = strcmp(opos, pos) == 0
                                   ? apr_ltoa(ctx->pool, atol(pos) + direction) : opos;
            const char *a1[] = { mine, id };
            const char *a2[] = { pos, B8_GET(other, 0, FAQ_POSITION, id) };
            if (b8_db_exec(ctx->db, ctx->pool, B8_SQL_FAQ_SET_POSITION, a1, NULL) != APR_SUCCESS
                || b8_db_exec(ctx->db, ctx->pool, B8_SQL_FAQ_SET_POSITION, a2, NULL)
                       != APR_SUCCESS) {
                b8_db_rollback(ctx->db);
                return b8_fail_db(err, ctx->db);
            }
        }
    }
    if (b8_db_commit(ctx->db) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    return B8_OK;
}

static void add_invalid(cJSON *invalid, int line, const char *value, const char *reason)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "line", line);
    b8_json_add_str(o, "value", value);
    cJSON_AddStringToObject(o, "reason", reason);
    cJSON_AddItemToArray(invalid, o);
}

b8_errkind b8_faqs_import(b8_ctx *ctx, const char *csv, apr_size_t len, cJSON **report,
                          b8_err *err)
{
    const char *encoding, *why = NULL;
    b8_csv *reader;
    cJSON *invalid;
    apr_pool_t *rp;
    int added = 0, line = 0, first = 1, rc;
    apr_array_header_t *fields;

    /* A file that is not UTF-8 is read as Windows-1252 (what Excel writes). */
    csv = b8_text_as_utf8(ctx->pool, csv, len, &len, &encoding);
    reader = b8_csv_open(ctx->pool, csv, len);
    invalid = b8_json_array(ctx->pool);
    apr_pool_create(&rp, ctx->pool);
    if (b8_db_begin(ctx->db) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    while ((rc = b8_csv_next(reader, rp, &fields, &line, &why)) != 0) {
        const char *prompt, *completion;
        if (rc < 0) {
            add_invalid(invalid, line, NULL, why);
            first = 0;
            continue;
        }
        prompt = b8_trim(rp, APR_ARRAY_IDX(fields, 0, const char *));
        completion = fields->nelts > 1 ? b8_trim(rp, APR_ARRAY_IDX(fields, 1, const char *)) : "";
        if (first && !strcasecmp(prompt, "prompt") && !strcasecmp(completion, "completion")) {
            first = 0;
            continue;   /* the header row */
        }
        first = 0;
        if (fields->nelts != 2) {
            add_invalid(invalid, line, prompt, "expected two columns: prompt,completion");
        }
        else if (!*prompt || !*completion) {
            add_invalid(invalid, line, prompt, "prompt and completion are both required");
        }
        else if (b8_utf8_length(prompt) > B8_FAQ_MAX_TEXT
                 || b8_utf8_length(completion) > B8_FAQ_MAX_TEXT) {
            add_invalid(invalid, line, NULL, "too long (at most 4000 characters each)");
        }
        else {
            const char *args[] = { prompt, completion };
            const char *id;
            if (b8_db_value(ctx->db, rp, B8_SQL_FAQ_INSERT, args, &id) != APR_SUCCESS) {
                b8_db_rollback(ctx->db);
                apr_pool_destroy(rp);
                return b8_fail_db(err, ctx->db);
            }
            added++;
        }
        apr_pool_clear(rp);
    }
    if (b8_db_commit(ctx->db) != APR_SUCCESS) {
        apr_pool_destroy(rp);
        return b8_fail_db(err, ctx->db);
    }
    apr_pool_destroy(rp);
    *report = b8_json_pool_owned(ctx->pool, cJSON_CreateObject());
    cJSON_AddNumberToObject(*report, "added", added);
    cJSON_AddNumberToObject(*report, "invalid_count", cJSON_GetArraySize(invalid));
    cJSON_AddItemReferenceToObject(*report, "invalid", invalid);
    cJSON_AddStringToObject(*report, "encoding", encoding);
    return B8_OK;
}

b8_errkind b8_faqs_csv(b8_ctx *ctx, const char **csv, b8_err *err)
{
    static const char *const header[] = { "prompt", "completion" };
    b8_rows *rows;
    apr_array_header_t *parts;

    if (b8_db_select(ctx->db, ctx->pool, B8_SQL_FAQS_ALL, NULL, &rows) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    parts = apr_array_make(ctx->pool, rows->nrows + 1, sizeof(const char *));
    APR_ARRAY_PUSH(parts, const char *) = b8_csv_header(ctx->pool, 2, header);
    for (int i = 0; i < rows->nrows; i++) {
        const char *f[] = { B8_GET(rows, i, FAQ, prompt), B8_GET(rows, i, FAQ, completion) };
        APR_ARRAY_PUSH(parts, const char *) = b8_csv_line(ctx->pool, 2, f);
    }
    *csv = apr_array_pstrcat(ctx->pool, parts, 0);
    return B8_OK;
}

apr_status_t b8_ai_system_prompt(b8_db *db, apr_pool_t *p, const char *persona,
                                 const char **prompt)
{
    b8_rows *rows;
    apr_array_header_t *lines;
    apr_status_t rv = b8_db_select(db, p, B8_SQL_FAQS_ALL, NULL, &rows);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    lines = apr_array_make(p, rows->nrows + 2, sizeof(const char *));
    APR_ARRAY_PUSH(lines, const char *) = persona ? persona : "";
    if (rows->nrows > 0) {
        APR_ARRAY_PUSH(lines, const char *) = B8_FAQ_LINE;
    }
    for (int i = 0; i < rows->nrows; i++) {
        APR_ARRAY_PUSH(lines, const char *) = apr_psprintf(p, "'%s' - '%s'",
                                                           B8_GET(rows, i, FAQ, prompt),
                                                           B8_GET(rows, i, FAQ, completion));
    }
    *prompt = b8_join_array(p, lines, "\n");
    return APR_SUCCESS;
}
