/* The inbound messages API (the conversations replace the Inbox page:
 * b8_conversations.c). Texts are returned as stored. */
#include "b8_inbox.h"
#include "b8_phone.h"
#include "b8_settings.h"
#include "b8_util.h"

#include <string.h>
#include <apr_strings.h>

static cJSON *inbound_json(const b8_rows *rows, int r)
{
    cJSON *o = cJSON_CreateObject();
    b8_json_add_int(o, "id", B8_GET(rows, r, INBOUND, id));
    b8_json_add_str(o, "umid", B8_GET(rows, r, INBOUND, umid));
    b8_json_add_str(o, "phone", B8_GET(rows, r, INBOUND, phone));
    b8_json_add_str(o, "name", B8_GET(rows, r, INBOUND, name));
    b8_json_add_str(o, "channel", B8_GET(rows, r, INBOUND, channel));
    b8_json_add_str(o, "type", B8_GET(rows, r, INBOUND, type));
    b8_json_add_str(o, "text", B8_GET(rows, r, INBOUND, body));
    b8_json_add_str(o, "received_at", B8_GET(rows, r, INBOUND, received_at));
    b8_json_add_str(o, "event_at", B8_GET(rows, r, INBOUND, event_at));
    b8_json_add_int(o, "contact_id", B8_GET(rows, r, INBOUND, contact_id));
    b8_json_add_str(o, "ai_state", B8_GET(rows, r, INBOUND, ai_state));
    b8_json_add_str(o, "ai_error", B8_GET(rows, r, INBOUND, ai_error));
    b8_json_add_int(o, "reply_id", B8_GET(rows, r, INBOUND, reply_id));
    return o;
}

static long count_value(const char *v)
{
    long n = 0;
    return v && b8_parse_long(v, &n) ? n : 0;
}

b8_errkind b8_inbound_list(b8_ctx *ctx, const char *phone, const b8_paging *pg, cJSON **out,
                           b8_err *err)
{
    apr_pool_t *p = ctx->pool;
    const char *limit = apr_ltoa(p, pg->per_page);
    const char *offset = apr_ltoa(p, (pg->page - 1) * pg->per_page);
    const char *key = NULL, *total = NULL;
    b8_rows *rows = NULL;
    cJSON *items;

    if (phone && *phone) {
        key = b8_phone_match_key(p, phone, b8_ctx_setting(ctx, B8_SET_DEFAULT_COUNTRY));
        if (!key) {
            *out = b8_json_pool_owned(ctx->pool, b8_list_envelope(cJSON_CreateArray(), 0, pg));
            return B8_OK;
        }
    }
    if (key) {
        const char *cargs[] = { key };
        const char *args[] = { key, limit, offset };
        if (b8_db_value(ctx->db, p, B8_SQL_INBOUND_COUNT_BY_KEY, cargs, &total) != APR_SUCCESS
            || b8_db_select(ctx->db, p, B8_SQL_INBOUND_PAGE_BY_KEY, args, &rows) != APR_SUCCESS) {
            return b8_fail_db(err, ctx->db);
        }
    }
    else {
        const char *args[] = { limit, offset };
        if (b8_db_value(ctx->db, p, B8_SQL_INBOUND_COUNT, NULL, &total) != APR_SUCCESS
            || b8_db_select(ctx->db, p, B8_SQL_INBOUND_PAGE, args, &rows) != APR_SUCCESS) {
            return b8_fail_db(err, ctx->db);
        }
    }
    items = cJSON_CreateArray();
    for (int r = 0; r < rows->nrows; r++) {
        cJSON_AddItemToArray(items, inbound_json(rows, r));
    }
    *out = b8_json_pool_owned(ctx->pool, b8_list_envelope(items, count_value(total), pg));
    return B8_OK;
}
