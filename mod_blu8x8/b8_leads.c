#include "b8_leads.h"
#include "b8_conversations.h"
#include "b8_crypto.h"
#include "b8_csv.h"
#include "b8_phone.h"
#include "b8_runtime.h"
#include "b8_users.h"
#include "b8_util.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

const char *b8_claim_url(apr_pool_t *p, const char *public_url, const char *secret,
                         const char *lead_id, const char *user_id)
{
    return apr_pstrcat(p, public_url ? public_url : "", "/crm/", lead_id, "/", user_id, "?sig=",
                       b8_claim_signature(p, secret, lead_id, user_id), NULL);
}

/* The ping names the customer (contact name, else the phone) and quotes the
 * inquiry, shortened to stay well inside Viber's 1,000 characters. */
static const char *ping_text(apr_pool_t *p, const char *customer, const char *phone,
                             const char *text)
{
    const char *quote = text;
    if (b8_utf8_length(text) > 600) {
        apr_size_t bytes = 0, chars = 0;
        while (text[bytes] && chars < 600) {
            bytes++;
            while ((text[bytes] & 0xc0) == 0x80) {
                bytes++;
            }
            chars++;
        }
        quote = apr_pstrcat(p, apr_pstrndup(p, text, bytes), "…", NULL);
    }
    if (phone && strcmp(phone, customer) != 0) {
        customer = apr_pstrcat(p, customer, " (", phone, ")", NULL);
    }
    return apr_psprintf(p, "New lead from %s: \"%s\" Can you handle it?", customer, quote);
}

apr_status_t b8_lead_create(b8_db *db, apr_pool_t *p, const char *inbound_id,
                            const char *text, const char *phone, const char *default_country,
                            const char *public_url, const char **lead_id, int *pinged)
{
    const char *key = b8_phone_match_key(p, phone, default_country);
    const char *e164 = b8_phone_e164(p, phone, default_country, NULL);
    const char *now = b8_now_iso(p), *secret, *contact_id = NULL, *customer;
    b8_rows *rows, *agents;
    apr_status_t rv;

    *pinged = 0;
    if (!e164) {
        e164 = phone;
    }
    if (key) {
        const char *args[] = { key };
        if ((rv = b8_db_select(db, p, B8_SQL_LEAD_CONTACT_BY_KEY, args, &rows)) != APR_SUCCESS) {
            return rv;
        }
        if (rows->nrows) {
            contact_id = B8_GET(rows, 0, ID_NAME, id);
        }
    }
    customer = contact_id && B8_GET(rows, 0, ID_NAME, name) && *B8_GET(rows, 0, ID_NAME, name)
        ? B8_GET(rows, 0, ID_NAME, name) : NULL;
    if (!customer && key) {
        /* No contact name: the name the customer has on Viber. */
        const char *args[] = { key };
        const char *name = NULL;
        if ((rv = b8_db_value(db, p, B8_SQL_CONV_NAME_BY_KEY, args, &name)) != APR_SUCCESS) {
            return rv;
        }
        customer = name && *name ? name : NULL;
    }
    if (!customer) {
        customer = e164;
    }
    if (key) {
        /* One open lead per customer: a follow-up joins it (no new pings). */
        const char *args[] = { key };
        b8_rows *open;
        if ((rv = b8_db_select(db, p, B8_SQL_LEAD_OPEN_BY_KEY, args, &open)) != APR_SUCCESS) {
            return rv;
        }
        if (open->nrows) {
            *lead_id = B8_GET(open, 0, OPEN_LEAD, id);
            return APR_SUCCESS;
        }
    }
    {
        /* The lead counts for the campaign its message was attributed to. */
        const char *args[] = { inbound_id, text, e164, key, contact_id, now, inbound_id };
        if ((rv = b8_db_value(db, p, B8_SQL_LEAD_INSERT, args, lead_id)) != APR_SUCCESS) {
            return rv;
        }
    }
    if (!*lead_id) {
        /* Made by an earlier attempt: exactly one lead per inbound message. */
        const char *args[] = { inbound_id };
        return b8_db_value(db, p, B8_SQL_LEAD_BY_INBOUND, args, lead_id);
    }
    if (key) {
        const char *args[] = { *lead_id, key };
        if ((rv = b8_db_exec(db, p, B8_SQL_CONV_SET_LEAD, args, NULL)) != APR_SUCCESS) {
            return rv;
        }
    }
    if ((rv = b8_server_secret(db, p, &secret)) != APR_SUCCESS
        || (rv = b8_db_select(db, p, B8_SQL_LEAD_AGENTS, NULL, &agents)) != APR_SUCCESS) {
        return rv;
    }
    for (int i = 0; i < agents->nrows; i++) {
        const char *uid = B8_GET(agents, i, AGENT, id);
        const char *agent_phone = B8_GET(agents, i, AGENT, phone);
        const char *cmid = b8_uuid4(p);
        const char *args[] = {
            *lead_id, uid, inbound_id, agent_phone, b8_phone_match_key(p, agent_phone, default_country),
            B8_GET(agents, i, AGENT, name), ping_text(p, customer, e164, text), B8_PING_CAPTION,
            b8_claim_url(p, public_url, secret, *lead_id, uid), cmid, now, now
        };
        if (!cmid) {
            return APR_EGENERAL;
        }
        if ((rv = b8_db_exec(db, p, B8_SQL_LEAD_PING_INSERT, args, NULL)) != APR_SUCCESS) {
            return rv;
        }
        (*pinged)++;
    }
    return APR_SUCCESS;
}

static cJSON *lead_json(b8_ctx *ctx, const b8_rows *rows, int r)
{
    cJSON *o = cJSON_CreateObject(), *pinged = cJSON_CreateArray();
    b8_rows *logins;
    const char *args[] = { B8_GET(rows, r, LEAD, id) };
    const char *claimer = B8_GET(rows, r, LEAD, claimed_by_name);

    b8_json_add_int(o, "id", B8_GET(rows, r, LEAD, id));
    b8_json_add_str(o, "created_at", B8_GET(rows, r, LEAD, created_at));
    b8_json_add_str(o, "name", B8_GET(rows, r, LEAD, name));
    b8_json_add_str(o, "phone", B8_GET(rows, r, LEAD, phone));
    b8_json_add_int(o, "contact_id", B8_GET(rows, r, LEAD, contact_id));
    b8_json_add_str(o, "contact_name", B8_GET(rows, r, LEAD, contact_name));
    b8_json_add_int(o, "inbound_id", B8_GET(rows, r, LEAD, inbound_id));
    b8_json_add_str(o, "claimed_by", B8_GET(rows, r, LEAD, claimed_by));
    b8_json_add_str(o, "claimed_by_name", claimer && *claimer ? claimer
                                                              : B8_GET(rows, r, LEAD, claimed_by));
    b8_json_add_str(o, "claimed_at", B8_GET(rows, r, LEAD, claimed_at));
    b8_json_add_str(o, "status", B8_GET(rows, r, LEAD, status));
    b8_json_add_str(o, "notes", B8_GET(rows, r, LEAD, notes));
    b8_json_add_int(o, "conversation_id", B8_GET(rows, r, LEAD, conversation_id));
    if (b8_db_select(ctx->db, ctx->pool, B8_SQL_LEAD_PINGED, args, &logins) == APR_SUCCESS) {
        for (int i = 0; i < logins->nrows; i++) {
            cJSON_AddItemToArray(pinged, cJSON_CreateString(B8_GET(logins, i, LOGIN, login)));
        }
    }
    cJSON_AddItemToObject(o, "pinged", pinged);
    return o;
}

static int digits_only(const char *s)
{
    if (!s || !*s || strlen(s) > 18) {
        return 0;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9') {
            return 0;
        }
    }
    return 1;
}

b8_claim_result b8_lead_claim(b8_ctx *ctx, const char *lead_id, const char *user_id,
                              const char *sig, cJSON **lead)
{
    const char *secret;
    b8_user *agent = NULL;
    b8_rows *rows;
    const char *args[] = { lead_id };

    *lead = NULL;
    if (!digits_only(lead_id) || !digits_only(user_id)
        || b8_server_secret(ctx->db, ctx->pool, &secret) != APR_SUCCESS
        || !b8_secure_equals(sig, b8_claim_signature(ctx->pool, secret, lead_id, user_id))) {
        return B8_CLAIM_FORBIDDEN;
    }
    {
        const char *uargs[] = { user_id };
        b8_rows *u;
        if (b8_db_select(ctx->db, ctx->pool, B8_SQL_USER_BY_ID, uargs, &u) != APR_SUCCESS) {
            return B8_CLAIM_NOT_FOUND;
        }
        if (u->nrows && B8_GET_IS(u, 0, USER, is_agent, "1")) {
            agent = apr_pcalloc(ctx->pool, sizeof(*agent));
            agent->id = B8_GET(u, 0, USER, id);
            agent->login = B8_GET(u, 0, USER, login);
            agent->name = B8_GET(u, 0, USER, name);
        }
    }
    if (!agent || b8_db_select(ctx->db, ctx->pool, B8_SQL_LEAD_BY_ID, args, &rows) != APR_SUCCESS
        || rows->nrows == 0) {
        return B8_CLAIM_NOT_FOUND;
    }
    {
        /* One conditional update: of any number of simultaneous taps,
         * exactly one changes the row. */
        const char *cargs[] = { user_id, b8_now_iso(ctx->pool), lead_id };
        const char *conv = NULL;
        int n = 0;
        if (b8_db_begin(ctx->db) != APR_SUCCESS) {
            return B8_CLAIM_NOT_FOUND;
        }
        /* The winner gets the customer's conversation: the AI stands back. */
        if (b8_db_exec(ctx->db, ctx->pool, B8_SQL_LEAD_CLAIM, cargs, &n) != APR_SUCCESS
            || (n == 1 && b8_conv_claimed(ctx->db, ctx->pool, B8_GET(rows, 0, LEAD, phone_key),
                                          B8_GET(rows, 0, LEAD, phone), user_id,
                                          agent->name && *agent->name ? agent->name
                                                                      : agent->login,
                                          &conv) != APR_SUCCESS)
            || b8_db_commit(ctx->db) != APR_SUCCESS) {
            b8_db_rollback(ctx->db);
            return B8_CLAIM_NOT_FOUND;
        }
        if (b8_db_select(ctx->db, ctx->pool, B8_SQL_LEAD_BY_ID, args, &rows) != APR_SUCCESS
            || rows->nrows == 0) {
            return B8_CLAIM_NOT_FOUND;
        }
    }
    *lead = b8_json_pool_owned(ctx->pool, lead_json(ctx, rows, 0));
    return B8_GET(rows, 0, LEAD, claimed_by) && strcmp(B8_GET(rows, 0, LEAD, claimed_by),
                                                       agent->login) == 0 ? B8_CLAIM_WON
                                                                                : B8_CLAIM_TAKEN;
}

static const char *const lead_statuses[] = { "new", "claimed", "won", "lost", NULL };

static int known_status(const char *s, int open_too)
{
    for (int i = 0; s && lead_statuses[i]; i++) {
        if (strcmp(s, lead_statuses[i]) == 0) {
            return 1;
        }
    }
    return open_too && s && strcmp(s, "open") == 0;
}

b8_errkind b8_leads_list(b8_ctx *ctx, const b8_user *viewer, const char *claimed,
                         const char *status, const b8_paging *pg, cJSON **out, b8_err *err)
{
    const char *filter = "all", *total;
    const char *vid = viewer && !viewer->is_admin ? viewer->id : NULL;
    b8_rows *rows;
    cJSON *items;

    if (claimed && (!strcmp(claimed, "true") || !strcmp(claimed, "1"))) {
        filter = "claimed";
    }
    else if (claimed && (!strcmp(claimed, "false") || !strcmp(claimed, "0"))) {
        filter = "unclaimed";
    }
    if (status && !*status) {
        status = NULL;
    }
    if (status && !known_status(status, 1)) {
        b8_field_error(err, "status", "must be new, claimed, won, lost or open");
        return B8_EINVALID;
    }
    {
        const char *cargs[] = { filter, filter, filter, status, status, status, vid, vid };
        const char *pargs[] = { filter, filter, filter, status, status, status, vid, vid,
                                apr_ltoa(ctx->pool, pg->per_page),
                                apr_ltoa(ctx->pool, (pg->page - 1) * pg->per_page) };
        if (b8_db_value(ctx->db, ctx->pool, B8_SQL_LEADS_COUNT, cargs, &total) != APR_SUCCESS
            || b8_db_select(ctx->db, ctx->pool, B8_SQL_LEADS_PAGE, pargs, &rows) != APR_SUCCESS) {
            return b8_fail_db(err, ctx->db);
        }
    }
    items = cJSON_CreateArray();
    for (int i = 0; i < rows->nrows; i++) {
        cJSON_AddItemToArray(items, lead_json(ctx, rows, i));
    }
    *out = b8_json_pool_owned(ctx->pool, b8_list_envelope(items, total ? atol(total) : 0, pg));
    cJSON_AddStringToObject(*out, "filter", filter);
    b8_json_add_str(*out, "status", status);
    return B8_OK;
}

b8_errkind b8_lead_update(b8_ctx *ctx, const b8_user *viewer, const char *id, const cJSON *in,
                          cJSON **out, b8_err *err)
{
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(in, "status");
    const cJSON *notes = cJSON_GetObjectItemCaseSensitive(in, "notes");
    const char *args[] = { id };
    const char *status, *text;
    b8_rows *rows;

    if (b8_db_select(ctx->db, ctx->pool, B8_SQL_LEAD_BY_ID, args, &rows) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    /* A sales agent changes the unclaimed leads and theirs. */
    if (rows->nrows == 0 || (viewer && !viewer->is_admin && B8_GET(rows, 0, LEAD, claimed_by_id)
                             && strcmp(B8_GET(rows, 0, LEAD, claimed_by_id), viewer->id) != 0)) {
        return b8_fail(err, B8_ENOTFOUND, "no such lead");
    }
    status = B8_GET(rows, 0, LEAD, status);
    text = B8_GET(rows, 0, LEAD, notes);
    if (st && !cJSON_IsNull(st)) {
        if (!cJSON_IsString(st) || !known_status(st->valuestring, 0)) {
            b8_field_error(err, "status", "must be new, claimed, won or lost");
        }
        else {
            status = st->valuestring;
        }
    }
    if (notes) {
        if (cJSON_IsNull(notes)) {
            text = NULL;
        }
        else if (!cJSON_IsString(notes) || b8_utf8_length(notes->valuestring) > 10000) {
            b8_field_error(err, "notes", "must be text of at most 10,000 characters");
        }
        else {
            text = notes->valuestring;
        }
    }
    if (err->kind == B8_EINVALID) {
        return B8_EINVALID;
    }
    {
        const char *uargs[] = { status, text, id };
        if (b8_db_exec(ctx->db, ctx->pool, B8_SQL_LEAD_UPDATE, uargs, NULL) != APR_SUCCESS
            || b8_db_select(ctx->db, ctx->pool, B8_SQL_LEAD_BY_ID, args, &rows) != APR_SUCCESS
            || rows->nrows == 0) {
            return b8_fail_db(err, ctx->db);
        }
    }
    *out = b8_json_pool_owned(ctx->pool, lead_json(ctx, rows, 0));
    return B8_OK;
}

b8_errkind b8_leads_csv(b8_ctx *ctx, const char **csv, b8_err *err)
{
    static const char *const header[] = { "id", "created_at", "name", "phone", "contact",
                                          "claimed_by", "claimed_at" };
    b8_rows *rows;
    apr_array_header_t *lines;

    if (b8_db_select(ctx->db, ctx->pool, B8_SQL_LEADS_ALL, NULL, &rows) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    lines = apr_array_make(ctx->pool, rows->nrows + 1, sizeof(const char *));
    APR_ARRAY_PUSH(lines, const char *) = b8_csv_header(ctx->pool, 7, header);
    for (int i = 0; i < rows->nrows; i++) {
        const char *f[] = { B8_GET(rows, i, LEAD, id), B8_GET(rows, i, LEAD, created_at),
                            B8_GET(rows, i, LEAD, name), B8_GET(rows, i, LEAD, phone),
                            B8_GET(rows, i, LEAD, contact_name), B8_GET(rows, i, LEAD, claimed_by),
                            B8_GET(rows, i, LEAD, claimed_at) };
        APR_ARRAY_PUSH(lines, const char *) = b8_csv_line(ctx->pool, 7, f);
    }
    *csv = apr_array_pstrcat(ctx->pool, lines, 0);
    return B8_OK;
}
