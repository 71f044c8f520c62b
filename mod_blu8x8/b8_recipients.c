/* Campaign recipients: rows of the messages table with kind 'campaign',
 * channel 'viber', state 'pending' and a fresh clientMessageId (UUID) each;
 * added from phones, contacts, tags or a CSV (b8_audience.h) while the
 * campaign is a Draft. */
#include "b8_recipients.h"
#include "b8_audience.h"
#include "b8_results.h"
#include "b8_contacts.h"
#include "b8_crypto.h"
#include "b8_log.h"
#include "b8_phone.h"
#include "b8_settings.h"
#include "b8_util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>

#define CHANGE "have its recipients changed"

/* Rows are inserted B8_RECIPIENT_BATCH per statement (one statement and
 * its bookkeeping for many rows: 100,000 pasted numbers in a couple of
 * thousand statements), kept back until the batch is full or the
 * transaction commits (the audience's flush). */
typedef struct {
    const char *campaign_id;
    apr_pool_t *rp;    /* the rows kept back */
    struct { const char *phone, *name, *contact_id; } rows[B8_RECIPIENT_BATCH];
    int nrows;
} sink;

/* Batched rows cost a third of what they did one at a time, so twice
 * B8_IMPORT_CHUNK rows hold SQLite's write lock (receipts wait behind it)
 * no longer than one chunk used to, with half the commits (each rewrites
 * the index pages its chunk touched). */
#define RECIPIENT_CHUNK (2 * B8_IMPORT_CHUNK)

/* Every transaction of an add checks again that the campaign is a Draft. */
static b8_errkind still_draft(b8_audience *au, b8_err *err)
{
    const sink *k = au->baton;
    return b8_campaign_require_draft(au->ctx, au->cp, k->campaign_id, CHANGE, err);
}

/* The rows kept back, in one statement when the batch is full; the number
 * inserted tells the duplicates (numbers the campaign has already). */
static apr_status_t flush(b8_audience *au)
{
    sink *k = au->baton;
    unsigned char random[B8_RECIPIENT_BATCH * 16];
    const char *args[B8_RECIPIENT_BATCH * 8];
    int n = k->nrows, full = n == B8_RECIPIENT_BATCH, inserted = 0;
    apr_status_t rv = APR_SUCCESS;

    if (!n) {
        return APR_SUCCESS;
    }
    k->nrows = 0;
    if (apr_generate_random_bytes(random, (apr_size_t)n * 16) != APR_SUCCESS) {
        rv = APR_EGENERAL;
    }
    for (int i = 0; i < n && rv == APR_SUCCESS; i++) {
        const char **row = full ? args + i * 8 : args;
        row[0] = k->campaign_id;
        row[1] = k->rows[i].contact_id;
        row[2] = k->rows[i].phone;
        row[3] = k->rows[i].phone + 1;
        row[4] = k->rows[i].name && *k->rows[i].name ? k->rows[i].name : NULL;
        row[5] = b8_uuid4_from(k->rp, random + i * 16);
        row[6] = au->now;
        row[7] = au->now;
        if (!full && (rv = b8_db_exec(au->ctx->db, k->rp, B8_SQL_RECIPIENT_INSERT, args,
                                      &inserted)) == APR_SUCCESS) {
            au->rep.added += inserted;
            au->rep.duplicates += 1 - inserted;
        }
    }
    if (full && rv == APR_SUCCESS
        && (rv = b8_db_exec(au->ctx->db, k->rp, B8_SQL_RECIPIENT_INSERT_BATCH, args, &inserted))
               == APR_SUCCESS) {
        au->rep.added += inserted;
        au->rep.duplicates += n - inserted;
    }
    apr_pool_clear(k->rp);
    return rv;
}

/* One recipient row, kept back for the batch. */
static apr_status_t insert(b8_audience *au, const char *phone, const char *name,
                           const char *contact_id)
{
    sink *k = au->baton;

    k->rows[k->nrows].phone = apr_pstrdup(k->rp, phone);
    k->rows[k->nrows].name = name ? apr_pstrdup(k->rp, name) : NULL;
    k->rows[k->nrows].contact_id = contact_id ? apr_pstrdup(k->rp, contact_id) : NULL;
    return ++k->nrows == B8_RECIPIENT_BATCH ? flush(au) : APR_SUCCESS;
}

static b8_errkind adder_start(b8_audience *au, b8_ctx *ctx, const char *campaign_id,
                              b8_err *err)
{
    sink *k = apr_pcalloc(ctx->pool, sizeof(*k));

    k->campaign_id = campaign_id;
    apr_pool_create(&k->rp, ctx->pool);
    memset(au, 0, sizeof(*au));
    au->add = insert;
    au->flush = flush;
    au->opened = still_draft;
    au->baton = k;
    au->chunk = RECIPIENT_CHUNK;
    /* A big page cache on this connection while it adds (SQLite). */
    b8_db_bulk(ctx->db, ctx->pool);
    return b8_audience_start(au, ctx, err);
}

/* The end of an add: the report, or the failure that stopped it. */
static b8_errkind adder_end(b8_audience *au, apr_status_t rv, cJSON **report, b8_err *err)
{
    if (rv != APR_SUCCESS) {
        b8_audience_abort(au);
        return err->kind != B8_OK ? err->kind : b8_fail_db(err, au->ctx->db);
    }
    if (b8_audience_finish(au, err) != B8_OK) {
        return err->kind;
    }
    *report = b8_report_json(au->ctx->pool, &au->rep, 0, 1);
    return B8_OK;
}

/* Shape of the add request: optional lists; at least one entry overall. */
static b8_errkind check_add_request(apr_pool_t *p, const cJSON *in, b8_err *err)
{
    static const char *const keys[] = { "phones", "contact_ids", "tags" };
    int entries = 0;

    if (!cJSON_IsObject(in)) {
        return b8_fail(err, B8_EINVALID, "expected a JSON object");
    }
    for (int i = 0; i < 3; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, keys[i]);
        if (v && !cJSON_IsArray(v) && !cJSON_IsNull(v)) {
            b8_field_error(err, keys[i], "This must be a list.");
        }
        entries += cJSON_GetArraySize(v);
    }
    /* A fraction must not be rounded to another contact: 422 before anything is added. */
    if (err->kind == B8_OK && b8_json_ids_check(p, in, "contact_ids", err) != B8_OK) {
        return err->kind;
    }
    /* Retargeting (issue 19): recipients of another campaign. */
    {
        const cJSON *from = cJSON_GetObjectItemCaseSensitive(in, "from_campaign");
        if (err->kind == B8_OK && from && !cJSON_IsNull(from)) {
            if (b8_retarget_check(p, from, err) != B8_OK) {
                return err->kind;
            }
            entries++;
        }
    }
    if (err->kind == B8_OK && entries == 0) {
        b8_field_error(err, "phones", "Give at least one phone number, contact or tag.");
    }
    return err->kind;
}

/* from_campaign names an existing campaign (422 on from_campaign.id). */
static b8_errkind retarget_source_exists(b8_ctx *ctx, const cJSON *in, b8_err *err)
{
    const cJSON *from = cJSON_GetObjectItemCaseSensitive(in, "from_campaign");
    const char *src = from ? b8_json_id(ctx->pool, cJSON_GetObjectItemCaseSensitive(from, "id"))
                           : NULL;
    const char *state = NULL;
    const char *args[] = { src };

    if (!src) {
        return B8_OK;
    }
    if (b8_db_value(ctx->db, ctx->pool, B8_SQL_CAMPAIGN_STATE, args, &state) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if (!state) {
        b8_field_error(err, "from_campaign.id", "No such campaign.");
        return err->kind;
    }
    return B8_OK;
}

b8_errkind b8_recipients_add(b8_ctx *ctx, const char *campaign_id, const cJSON *in,
                             cJSON **report, b8_err *err)
{
    b8_audience au;
    apr_status_t rv;

    if (check_add_request(ctx->pool, in, err) != B8_OK
        || retarget_source_exists(ctx, in, err) != B8_OK
        || adder_start(&au, ctx, campaign_id, err) != B8_OK) {
        return err->kind;
    }
    rv = b8_audience_phones(&au, b8_audience_phone_entries(
                                     ctx->pool, cJSON_GetObjectItemCaseSensitive(in, "phones"),
                                     err));
    if (rv == APR_SUCCESS) {
        rv = b8_audience_contacts(&au, cJSON_GetObjectItemCaseSensitive(in, "contact_ids"));
    }
    if (rv == APR_SUCCESS) {
        rv = b8_audience_tags(&au, cJSON_GetObjectItemCaseSensitive(in, "tags"));
    }
    if (rv == APR_SUCCESS) {
        rv = b8_audience_campaign(&au, cJSON_GetObjectItemCaseSensitive(in, "from_campaign"));
    }
    return adder_end(&au, rv, report, err);
}

b8_errkind b8_recipients_import(b8_ctx *ctx, const char *campaign_id, const char *csv,
                                apr_size_t len, cJSON **report, b8_err *err)
{
    b8_audience au;
    const char *encoding = NULL;
    apr_status_t rv;

    if (adder_start(&au, ctx, campaign_id, err) != B8_OK) {
        return err->kind;
    }
    rv = b8_audience_csv(&au, csv, len, &encoding);
    if (rv != APR_SUCCESS && err->kind == B8_OK) {
        B8_LOG(B8_LOG_ERR, rv, "B8-3002: recipients import stopped: %s", b8_db_error(ctx->db));
    }
    if (adder_end(&au, rv, report, err) != B8_OK) {
        return err->kind;
    }
    cJSON_AddStringToObject(*report, "encoding", encoding);
    return B8_OK;
}

/* The contact a typed name means: one match, or the one called exactly
 * that. *matches lists the candidates when that is ambiguous. */
static b8_errkind contact_by_name(b8_ctx *ctx, const char *name, const cJSON **found,
                                  cJSON **matches, b8_err *err)
{
    b8_paging pg = { 1, 20 };
    cJSON *list = NULL, *items, *item;
    int exact = 0;

    *found = NULL;
    *matches = NULL;
    if (b8_contacts_list(ctx, name, NULL, NULL, &pg, &list, err) != B8_OK) {
        return err->kind;
    }
    items = cJSON_GetObjectItemCaseSensitive(list, "items");
    cJSON_ArrayForEach(item, items) {
        const char *n = b8_json_str(item, "name");
        if (n && strcasecmp(n, name) == 0) {
            *found = item;
            exact++;
        }
    }
    if (cJSON_GetArraySize(items) == 1) {
        *found = items->child;
    }
    else if (exact != 1) {
        *found = NULL;
        if (cJSON_GetArraySize(items) > 1) {
            *matches = cJSON_DetachItemViaPointer(list, items);
        }
    }
    return B8_OK;
}

/* A name to look up, rather than a mistyped number: it has a letter and
 * does not start like a phone number. */
static int looks_like_name(const char *s)
{
    if (isdigit((unsigned char)*s) || *s == '+' || *s == '(') {
        return 0;
    }
    for (; *s; s++) {
        if (isalpha((unsigned char)*s) || (unsigned char)*s >= 0x80) {
            return 1;
        }
    }
    return 0;
}

b8_errkind b8_recipient_add_typed(b8_ctx *ctx, const char *campaign_id, const char *typed,
                                  const char *contact_id, cJSON **out, b8_err *err)
{
    apr_pool_t *p = ctx->pool;
    const char *t = typed ? b8_trim(p, typed) : "", *why = NULL, *e164, *label = "";
    cJSON *in = b8_json_object(p), *report = NULL, *matches = NULL;
    const cJSON *contact = NULL;
    double added, dups, opted;

    if (contact_id && *contact_id) {
        cJSON *c = NULL;
        if (b8_contact_get(ctx, contact_id, &c, err) != B8_OK) {
            return err->kind;
        }
        contact = c;
    }
    else if (!*t) {
        b8_field_error(err, "who", "Type a phone number or a contact's name.");
        return err->kind;
    }
    else if ((e164 = b8_phone_e164(p, t, b8_ctx_setting(ctx, B8_SET_DEFAULT_COUNTRY), &why))
             != NULL) {
        cJSON_AddItemToObject(in, "phones", cJSON_CreateStringArray(&e164, 1));
        label = e164;
    }
    else if (!looks_like_name(t)) {
        b8_field_error(err, "who", apr_psprintf(p, "This is not a valid phone number: %s.", why));
        return err->kind;
    }
    else if (contact_by_name(ctx, t, &contact, &matches, err) != B8_OK) {
        return err->kind;
    }
    else if (!contact) {
        if (!matches) {
            b8_field_error(err, "who", apr_psprintf(p, "No contact is called \"%s\", and it is "
                                                    "not a phone number.", t));
            return err->kind;
        }
        *out = b8_json_pool_owned(ctx->pool, cJSON_CreateObject());
        cJSON_AddFalseToObject(*out, "ok");
        cJSON_AddStringToObject(*out, "message", apr_psprintf(p, "Several contacts match \"%s\": "
                                                              "choose one.", t));
        cJSON_AddItemToObject(*out, "matches", matches);
        return B8_OK;
    }
    if (contact) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(contact, "id");
        const char *name = b8_json_str(contact, "name");
        cJSON_AddItemToObject(in, "contact_ids", cJSON_CreateDoubleArray(&id->valuedouble, 1));
        label = name && *name ? apr_psprintf(p, "%s (%s)", name, b8_json_str(contact, "phone"))
                              : b8_json_str(contact, "phone");
    }
    if (b8_recipients_add(ctx, campaign_id, in, &report, err) != B8_OK) {
        return err->kind;
    }
    added = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(report, "added"));
    dups = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(report, "duplicates"));
    opted = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(report, "opted_out"));
    *out = b8_json_pool_owned(ctx->pool, cJSON_CreateObject());
    cJSON_AddBoolToObject(*out, "ok", added > 0);
    cJSON_AddStringToObject(*out, "message",
        added > 0 ? apr_psprintf(p, "Added %s.", label)
        : dups > 0 ? apr_psprintf(p, "%s is already a recipient of this campaign: not added "
                                  "again.", label)
        : opted > 0 ? apr_psprintf(p, "%s has opted out of messages: not added.", label)
        : apr_psprintf(p, "%s could not be added.", label));
    return B8_OK;
}

static cJSON *recipient_json(const b8_rows *rows, int r)
{
    cJSON *o = cJSON_CreateObject();
    b8_json_add_int(o, "id", B8_GET(rows, r, RECIPIENT, id));
    b8_json_add_str(o, "phone", B8_GET(rows, r, RECIPIENT, phone));
    b8_json_add_str(o, "name", B8_GET(rows, r, RECIPIENT, name));
    b8_json_add_int(o, "contact_id", B8_GET(rows, r, RECIPIENT, contact_id));
    b8_json_add_str(o, "client_message_id", B8_GET(rows, r, RECIPIENT, client_message_id));
    b8_json_add_str(o, "umid", B8_GET(rows, r, RECIPIENT, umid));
    b8_json_add_str(o, "state", B8_GET(rows, r, RECIPIENT, state));
    b8_json_add_str(o, "error_code", B8_GET(rows, r, RECIPIENT, error_code));
    b8_json_add_str(o, "error_message", B8_GET(rows, r, RECIPIENT, error_message));
    b8_json_add_str(o, "error_id", B8_GET(rows, r, RECIPIENT, error_id));
    b8_json_add_str(o, "channel", B8_GET(rows, r, RECIPIENT, channel));
    b8_json_add_str(o, "updated_at", B8_GET(rows, r, RECIPIENT, updated_at));
    /* Issue 19: when it was sent, delivered, read, first clicked, replied. */
    b8_json_add_str(o, "sent_at", B8_GET(rows, r, RECIPIENT, sent_at));
    b8_json_add_str(o, "delivered_at", B8_GET(rows, r, RECIPIENT, delivered_at));
    b8_json_add_str(o, "read_at", B8_GET(rows, r, RECIPIENT, read_at));
    b8_json_add_str(o, "clicked_at", B8_GET(rows, r, RECIPIENT, clicked_at));
    b8_json_add_int(o, "clicks", B8_GET(rows, r, RECIPIENT, clicks));
    b8_json_add_str(o, "replied_at", B8_GET(rows, r, RECIPIENT, replied_at));
    return o;
}

b8_errkind b8_recipients_list(b8_ctx *ctx, const char *campaign_id, const char *state,
                              const b8_paging *pg, cJSON **out, b8_err *err)
{
    apr_pool_t *p = ctx->pool;
    const char *st = state && *state && strcmp(state, "all") != 0 ? state : NULL;
    const char *limit = apr_ltoa(p, pg->per_page);
    const char *offset = apr_ltoa(p, (pg->page - 1) * pg->per_page);
    b8_rows *rows;
    cJSON *counts = NULL, *items;
    double total;
    apr_status_t rv;

    if (st && !b8_message_state_find(st)) {
        b8_field_error(err, "state", "Unknown recipient state.");
        return err->kind;
    }
    {
        const char *exists = NULL;
        const char *args[] = { campaign_id };
        if (b8_db_value(ctx->db, p, B8_SQL_CAMPAIGN_STATE, args, &exists) != APR_SUCCESS
            || b8_campaign_counts(ctx->db, p, campaign_id, &counts) != APR_SUCCESS) {
            return b8_fail_db(err, ctx->db);
        }
        if (!exists) {
            cJSON_Delete(counts);
            return b8_fail(err, B8_ENOTFOUND, "no such campaign");
        }
    }
    total = cJSON_GetObjectItemCaseSensitive(counts, st ? st : "total")->valuedouble;
    if (st) {
        const char *args[] = { campaign_id, st, limit, offset };
        rv = b8_db_select(ctx->db, p, B8_SQL_RECIPIENTS_PAGE_STATE, args, &rows);
    }
    else {
        const char *args[] = { campaign_id, limit, offset };
        rv = b8_db_select(ctx->db, p, B8_SQL_RECIPIENTS_PAGE, args, &rows);
    }
    if (rv != APR_SUCCESS) {
        cJSON_Delete(counts);
        return b8_fail_db(err, ctx->db);
    }
    items = cJSON_CreateArray();
    for (int i = 0; i < rows->nrows; i++) {
        cJSON_AddItemToArray(items, recipient_json(rows, i));
    }
    *out = b8_json_pool_owned(ctx->pool, b8_list_envelope(items, (long)total, pg));
    cJSON_AddItemToObject(*out, "counts", counts);
    return B8_OK;
}

b8_errkind b8_recipient_delete(b8_ctx *ctx, const char *campaign_id, const char *rid,
                               b8_err *err)
{
    const char *args[] = { rid, campaign_id };
    int n = 0;

    if (b8_db_begin(ctx->db) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if (b8_campaign_require_draft(ctx, ctx->pool, campaign_id, CHANGE, err)
        != B8_OK) {
        b8_db_rollback(ctx->db);
        return err->kind;
    }
    if (b8_db_exec(ctx->db, ctx->pool, B8_SQL_RECIPIENT_DELETE, args, &n) != APR_SUCCESS
        || b8_db_commit(ctx->db) != APR_SUCCESS) {
        b8_db_rollback(ctx->db);
        return b8_fail_db(err, ctx->db);
    }
    return n ? B8_OK : b8_fail(err, B8_ENOTFOUND, "no such recipient in this campaign");
}

/* ---------------------------------------------------------------- export */

b8_errkind b8_recipients_export(b8_ctx *ctx, const char *campaign_id, const char *only,
                                b8_write_fn *write, void *baton, b8_err *err)
{
    /* Issue 19's columns go last: scripts that read by position keep working. */
#define COL(name) { #name, B8_COL_RECIPIENT_EXPORT_##name }
    static const b8_export_col cols[] = { COL(phone), COL(name), COL(client_message_id),
                                          COL(umid), COL(state), COL(error_code),
                                          COL(error_message), COL(error_id), COL(updated_at),
                                          COL(clicked_at), COL(clicks), COL(replied_at) };
#undef COL
    const char *state = NULL;
    const char *args[] = { campaign_id, NULL, NULL };

    if (b8_db_value(ctx->db, ctx->pool, B8_SQL_CAMPAIGN_STATE, args, &state) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if (!state) {
        return b8_fail(err, B8_ENOTFOUND, "no such campaign");
    }
    if (only && *only && strcmp(only, "all") != 0) {
        /* The page's filter. */
        const char *fargs[] = { campaign_id, only, NULL, NULL };
        if (!b8_message_state_find(only)) {
            b8_field_error(err, "state", apr_psprintf(ctx->pool, "Unknown state “%s”.", only));
            return err->kind;
        }
        return b8_export_csv(ctx, cols, (int)(sizeof(cols) / sizeof(cols[0])),
                             B8_SQL_RECIPIENTS_AFTER_STATE, fargs, 4, write, baton, err);
    }
    return b8_export_csv(ctx, cols, (int)(sizeof(cols) / sizeof(cols[0])), B8_SQL_RECIPIENTS_AFTER,
                         args, 3, write, baton, err);
}
