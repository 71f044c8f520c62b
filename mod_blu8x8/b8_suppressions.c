#include "b8_suppressions.h"
#include "b8_csv.h"
#include "b8_import.h"
#include "b8_log.h"
#include "b8_phone.h"
#include "b8_settings.h"
#include "b8_util.h"

#include <stdlib.h>
#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>

apr_status_t b8_suppression_set(b8_db *db, apr_pool_t *p, const char *e164, int on,
                                const char *reason, const char *now)
{
    const char *flag = on ? "1" : "0";
    apr_status_t rv;

    if (on) {
        const char *args[] = { e164, reason ? reason : "", now };
        rv = b8_db_exec(db, p, B8_SQL_SUPPRESSION_ADD, args, NULL);
    }
    else {
        const char *args[] = { e164 };
        rv = b8_db_exec(db, p, B8_SQL_SUPPRESSION_DELETE, args, NULL);
    }
    if (rv == APR_SUCCESS) {
        /* The contacts' own column is a copy, for readers of old. */
        const char *args[] = { flag, on ? now : NULL, now, e164, flag };
        rv = b8_db_exec(db, p, B8_SQL_SUPPRESSION_CONTACT_SYNC, args, NULL);
    }
    return rv;
}

apr_status_t b8_suppression_has(b8_db *db, apr_pool_t *p, const char *e164, int *on)
{
    const char *args[] = { e164 };
    b8_rows *rows;
    apr_status_t rv = b8_db_select(db, p, B8_SQL_SUPPRESSION_GET, args, &rows);

    *on = rv == APR_SUCCESS && rows->nrows > 0;
    return rv;
}

static cJSON *row_json(const b8_rows *rows, int r)
{
    cJSON *o = cJSON_CreateObject();
    b8_json_add_str(o, "phone", B8_GET(rows, r, SUPPRESSION, phone));
    b8_json_add_str(o, "reason", B8_GET_OR(rows, r, SUPPRESSION, reason, ""));
    b8_json_add_str(o, "created_at", B8_GET(rows, r, SUPPRESSION, created_at));
    return o;
}

b8_errkind b8_suppressions_list(b8_ctx *ctx, const b8_paging *pg, cJSON **out, b8_err *err)
{
    apr_pool_t *p = ctx->pool;
    const char *total = NULL;
    const char *args[] = { apr_ltoa(p, pg->per_page), apr_ltoa(p, (pg->page - 1) * pg->per_page) };
    b8_rows *rows;
    cJSON *items;

    if (b8_db_value(ctx->db, p, B8_SQL_SUPPRESSIONS_COUNT, NULL, &total) != APR_SUCCESS
        || b8_db_select(ctx->db, p, B8_SQL_SUPPRESSIONS_PAGE, args, &rows) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    items = cJSON_CreateArray();
    for (int i = 0; i < rows->nrows; i++) {
        cJSON_AddItemToArray(items, row_json(rows, i));
    }
    *out = b8_json_pool_owned(ctx->pool, b8_list_envelope(items, total ? atol(total) : 0, pg));
    return B8_OK;
}

/* The E.164 form of a phone given by a person, or NULL with *why. */
static const char *phone_of(b8_ctx *ctx, const char *raw, const char **why)
{
    const char *t = raw ? b8_trim(ctx->pool, raw) : "";
    if (!*t) {
        *why = "a phone number is required";
        return NULL;
    }
    return b8_phone_e164(ctx->pool, t, b8_ctx_setting(ctx, B8_SET_DEFAULT_COUNTRY), why);
}

/* A reason is optional short text. NULL when valid, else why not. */
static const char *reason_invalid(const char *reason)
{
    if (!b8_utf8_valid(reason, strlen(reason))) {
        return "The reason is not valid UTF-8 text.";
    }
    if (b8_utf8_length(reason) > B8_SUPPRESSION_REASON_MAX) {
        return "The reason is too long (at most 200 characters).";
    }
    return NULL;
}

static b8_errkind get_one(b8_ctx *ctx, const char *e164, cJSON **out, b8_err *err)
{
    const char *args[] = { e164 };
    b8_rows *rows;
    if (b8_db_select(ctx->db, ctx->pool, B8_SQL_SUPPRESSION_GET, args, &rows) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if (!rows->nrows) {
        return b8_fail(err, B8_ENOTFOUND, "this phone is not on the suppression list");
    }
    *out = b8_json_pool_owned(ctx->pool, row_json(rows, 0));
    return B8_OK;
}

b8_errkind b8_suppression_add(b8_ctx *ctx, const cJSON *in, cJSON **out, b8_err *err)
{
    const cJSON *ph = cJSON_GetObjectItemCaseSensitive(in, "phone");
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(in, "reason");
    const char *why = NULL, *e164 = NULL, *reason = "", *bad;

    if (!cJSON_IsObject(in)) {
        return b8_fail(err, B8_EINVALID, "expected a JSON object");
    }
    if (!cJSON_IsString(ph)) {
        b8_field_error(err, "phone", "A phone number is required.");
    }
    else if (!(e164 = phone_of(ctx, ph->valuestring, &why))) {
        b8_field_error(err, "phone", apr_psprintf(ctx->pool,
                                                  "This is not a valid phone number: %s.", why));
    }
    if (rs && !cJSON_IsNull(rs)) {
        if (!cJSON_IsString(rs)) {
            b8_field_error(err, "reason", "The reason must be text.");
        }
        else if ((bad = reason_invalid(reason = b8_trim(ctx->pool, rs->valuestring))) != NULL) {
            b8_field_error(err, "reason", bad);
        }
    }
    if (err->kind != B8_OK) {
        return err->kind;
    }
    if (b8_db_begin(ctx->db) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if (b8_suppression_set(ctx->db, ctx->pool, e164, 1, *reason ? reason : "added by hand",
                           b8_now_iso(ctx->pool)) != APR_SUCCESS
        || b8_db_commit(ctx->db) != APR_SUCCESS) {
        b8_db_rollback(ctx->db);
        return b8_fail_db(err, ctx->db);
    }
    return get_one(ctx, e164, out, err);
}

b8_errkind b8_suppression_remove(b8_ctx *ctx, const char *phone, b8_err *err)
{
    const char *why = NULL, *e164 = phone_of(ctx, phone, &why);
    int on = 0;

    if (!e164) {
        return b8_fail(err, B8_ENOTFOUND, "this phone is not on the suppression list");
    }
    if (b8_db_begin(ctx->db) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if (b8_suppression_has(ctx->db, ctx->pool, e164, &on) != APR_SUCCESS
        || (on && b8_suppression_set(ctx->db, ctx->pool, e164, 0, NULL, b8_now_iso(ctx->pool))
                      != APR_SUCCESS)
        || b8_db_commit(ctx->db) != APR_SUCCESS) {
        b8_db_rollback(ctx->db);
        return b8_fail_db(err, ctx->db);
    }
    if (!on) {
        return b8_fail(err, B8_ENOTFOUND, "this phone is not on the suppression list");
    }
    B8_LOG(B8_LOG_NOTICE, 0, "B8-4750: %s removed from the suppression list by hand", e164);
    return B8_OK;
}

/* One data line of an import: added, a duplicate, or reported. */
static apr_status_t import_row(b8_ctx *ctx, apr_pool_t *p, b8_import_report *rep,
                               apr_hash_t *seen, int line, const apr_array_header_t *cells,
                               const char *now)
{
    const char *raw = cells->nelts > 0 ? b8_trim(p, APR_ARRAY_IDX(cells, 0, const char *)) : "";
    const char *reason = cells->nelts > 1 ? b8_trim(p, APR_ARRAY_IDX(cells, 1, const char *)) : "";
    const char *why = NULL, *e164, *bad;
    int on = 0;
    apr_status_t rv;

    if (!*raw) {
        b8_report_invalid(rep, line, raw, "no phone number");
        return APR_SUCCESS;
    }
    if (!(e164 = b8_phone_e164(p, raw, b8_ctx_setting(ctx, B8_SET_DEFAULT_COUNTRY), &why))) {
        b8_report_invalid(rep, line, raw, apr_pstrcat(p, "not a valid phone number: ", why, NULL));
        return APR_SUCCESS;
    }
    if ((bad = reason_invalid(reason)) != NULL) {
        b8_report_invalid(rep, line, reason, bad);
        return APR_SUCCESS;
    }
    if (apr_hash_get(seen, e164, APR_HASH_KEY_STRING)) {
        rep->duplicates++;
        return APR_SUCCESS;
    }
    apr_hash_set(seen, apr_pstrdup(ctx->pool, e164), APR_HASH_KEY_STRING, "");
    if ((rv = b8_suppression_has(ctx->db, p, e164, &on)) != APR_SUCCESS) {
        return rv;
    }
    if (on) {
        rep->duplicates++;
        return APR_SUCCESS;
    }
    if ((rv = b8_suppression_set(ctx->db, p, e164, 1, *reason ? reason : "imported", now))
        == APR_SUCCESS) {
        rep->added++;
    }
    return rv;
}

b8_errkind b8_suppressions_import(b8_ctx *ctx, const char *csv, apr_size_t len, cJSON **report,
                                  b8_err *err)
{
    b8_import_report rep;
    b8_db_chunk tx;
    const char *encoding, *now = b8_now_iso(ctx->pool);
    apr_hash_t *seen = apr_hash_make(ctx->pool);
    b8_csv *reader;
    apr_pool_t *cp;
    apr_status_t rv;
    int first = 1;

    /* A file that is not UTF-8 is read as Windows-1252 (what Excel writes). */
    csv = b8_text_as_utf8(ctx->pool, csv, len, &len, &encoding);
    reader = b8_csv_open(ctx->pool, csv, len);
    b8_report_init(&rep, ctx->pool);
    apr_pool_create(&cp, ctx->pool);
    rv = b8_db_chunk_begin(&tx, ctx->db, B8_IMPORT_CHUNK);
    while (rv == APR_SUCCESS) {
        apr_array_header_t *cells = NULL;
        const char *cerr = NULL;
        int line = 0, fresh = 0;
        int rc = b8_csv_next(reader, cp, &cells, &line, &cerr);
        if (rc == 0) {
            break;
        }
        if (rc < 0) {
            b8_report_invalid(&rep, line, "", cerr);
        }
        else if (first && cells->nelts > 0
                 && b8_is_phone_header(APR_ARRAY_IDX(cells, 0, const char *))) {
            /* the header row */
        }
        else if ((rv = import_row(ctx, cp, &rep, seen, line, cells, now)) != APR_SUCCESS) {
            break;
        }
        first = 0;
        if ((rv = b8_db_chunk_step(&tx, &fresh)) == APR_SUCCESS && fresh) {
            apr_pool_clear(cp);
        }
    }
    if (rv == APR_SUCCESS) {
        rv = b8_db_chunk_end(&tx);
    }
    if (rv != APR_SUCCESS) {
        b8_db_rollback(ctx->db);
        B8_LOG(B8_LOG_ERR, rv, "B8-4751: suppression list import stopped: %s",
               b8_db_error(ctx->db));
        return b8_fail_db(err, ctx->db);
    }
    *report = b8_report_json(ctx->pool, &rep, 0, 0);
    cJSON_AddStringToObject(*report, "encoding", encoding);
    return B8_OK;
}

b8_errkind b8_suppressions_csv(b8_ctx *ctx, const char **csv, b8_err *err)
{
    static const char *const header[] = { "phone", "reason", "created_at" };
    b8_rows *rows;
    apr_array_header_t *parts;

    if (b8_db_select(ctx->db, ctx->pool, B8_SQL_SUPPRESSIONS_ALL, NULL, &rows) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    parts = apr_array_make(ctx->pool, rows->nrows + 1, sizeof(const char *));
    APR_ARRAY_PUSH(parts, const char *) = b8_csv_header(ctx->pool, 3, header);
    for (int i = 0; i < rows->nrows; i++) {
        const char *f[] = { B8_GET(rows, i, SUPPRESSION, phone),
                            B8_GET(rows, i, SUPPRESSION, reason),
                            B8_GET(rows, i, SUPPRESSION, created_at) };
        APR_ARRAY_PUSH(parts, const char *) = b8_csv_line(ctx->pool, 3, f);
    }
    *csv = apr_array_pstrcat(ctx->pool, parts, 0);
    return B8_OK;
}
