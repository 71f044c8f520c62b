#include "b8_sms_send.h"
#include "b8_audience.h"
#include "b8_crypto.h"
#include "b8_csv.h"
#include "b8_log.h"
#include "b8_phone.h"
#include "b8_runtime.h"
#include "b8_settings.h"
#include "b8_sms.h"
#include "b8_states.h"
#include "b8_tags.h"
#include "b8_util.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <apr_strings.h>

apr_array_header_t *b8_sms_send_senders(const b8_ctx *ctx)
{
    return b8_setting_list(ctx->pool, ctx->settings, B8_SET_SMS_SENDERS);
}

/* ------------------------------------------------------------ validation */


static int personalised(const char *text)
{
    return strstr(text, "{name}") || strstr(text, "{phone}");
}

static const char *parts_refusal(apr_pool_t *p, int parts)
{
    return apr_psprintf(p, "This text needs %d SMS parts; at most %d are allowed (1,530 GSM-7 "
                        "or 670 UCS-2 characters).", parts, B8_SMS_MAX_PARTS);
}

/* The sender account: one of the effective list (any case), default the first. */
static const char *check_sender(b8_ctx *ctx, const cJSON *in, b8_err *err)
{
    apr_array_header_t *senders = b8_sms_send_senders(ctx);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, "sender");
    const char *want;

    if (senders->nelts == 0) {
        b8_field_error(err, "sender", "No SMS sender account is configured (Settings, SMS "
                       "sender accounts).");
        return NULL;
    }
    if (!v || cJSON_IsNull(v) || (cJSON_IsString(v) && !*b8_trim(ctx->pool, v->valuestring))) {
        return APR_ARRAY_IDX(senders, 0, const char *);
    }
    if (!cJSON_IsString(v)) {
        b8_field_error(err, "sender", "The sender account must be text.");
        return NULL;
    }
    want = b8_trim(ctx->pool, v->valuestring);
    for (int i = 0; i < senders->nelts; i++) {
        if (strcasecmp(want, APR_ARRAY_IDX(senders, i, const char *)) == 0) {
            return APR_ARRAY_IDX(senders, i, const char *);
        }
    }
    b8_field_error(err, "sender", apr_psprintf(ctx->pool, "Unknown sender account “%s”: choose "
                                               "one of %s.", want,
                                               b8_join_array(ctx->pool, senders, ", ")));
    return NULL;
}

static const char *check_text(b8_ctx *ctx, const cJSON *in, b8_sms_count *count, b8_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, "text");
    const char *text;

    if (v && !cJSON_IsString(v) && !cJSON_IsNull(v)) {
        b8_field_error(err, "text", "The text must be a string.");
        return NULL;
    }
    text = cJSON_IsString(v) ? b8_unix_lines(ctx->pool, v->valuestring) : "";
    if (!*b8_trim(ctx->pool, text)) {
        b8_field_error(err, "text", "Write the text of the SMS.");
        return NULL;
    }
    if (b8_sms_count_text(text, count) != 0) {
        b8_field_error(err, "text", "The text is not valid UTF-8.");
        return NULL;
    }
    if (count->parts > B8_SMS_MAX_PARTS) {
        b8_field_error(err, "text", parts_refusal(ctx->pool, count->parts));
        return NULL;
    }
    return text;
}

static int list_size(const cJSON *in, const char *key, b8_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, key);
    if (!v || cJSON_IsNull(v)) {
        return 0;
    }
    if (!cJSON_IsArray(v)) {
        b8_field_error(err, key, "This must be a list.");
        return 0;
    }
    return cJSON_GetArraySize(v);
}

/* ------------------------------------------------------------- composing */

/* What every recipient row of a send shares (the audience's baton). */
typedef struct {
    const char *sender, *text, *batch_id;
    int personal;              /* {name} or {phone} in the text */
    const char *encoding, *parts;   /* of the text, when not personal */
} composer;

/* One recipient row: the text as this recipient gets it. */
static apr_status_t insert(b8_audience *au, const char *e164, const char *name,
                           const char *contact_id)
{
    composer *c = au->baton;
    const char *body = c->text, *encoding = c->encoding, *parts = c->parts;
    const char *cmid = b8_uuid4(au->cp);
    apr_status_t rv;

    if (!cmid) {
        return APR_EGENERAL;
    }
    if (c->personal) {
        b8_sms_count n;
        body = b8_campaign_expand(au->cp, c->text, name ? name : "", e164);
        if (b8_sms_count_text(body, &n) != 0) {
            b8_report_invalid(&au->rep, 0, e164, "the personalised text is not valid UTF-8");
            return APR_SUCCESS;
        }
        if (n.parts > B8_SMS_MAX_PARTS) {
            b8_report_invalid(&au->rep, 0, e164,
                              apr_psprintf(au->cp, "the personalised text needs %d SMS parts "
                                           "(at most %d)", n.parts, B8_SMS_MAX_PARTS));
            return APR_SUCCESS;
        }
        encoding = b8_sms_encoding_name(n.encoding);
        parts = apr_itoa(au->cp, n.parts);
    }
    {
        const char *args[] = { c->batch_id, contact_id, e164, e164 + 1,
                               name && *name ? name : NULL, body, c->sender, encoding, parts,
                               cmid, au->now, au->now };
        if ((rv = b8_db_exec(au->ctx->db, au->cp, B8_SQL_SMS_INSERT, args, NULL)) != APR_SUCCESS) {
            return rv;
        }
    }
    au->rep.added++;
    return APR_SUCCESS;
}

static apr_status_t create_batch(b8_audience *au)
{
    composer *c = au->baton;
    const char *args[] = { c->sender, c->text, au->ctx->login, au->now, au->now };
    const char *id = NULL;
    apr_status_t rv = b8_db_value(au->ctx->db, au->cp, B8_SQL_SMS_BATCH_INSERT, args, &id);
    if (rv == APR_SUCCESS && !id) {
        rv = APR_EGENERAL;
    }
    if (rv == APR_SUCCESS) {
        c->batch_id = apr_pstrdup(au->ctx->pool, id);
    }
    return rv;
}

/* Nobody to send to, or a failure: the composer's rows are rolled back and
 * the empty batch goes. */
static void discard_batch(b8_audience *au)
{
    composer *c = au->baton;
    const char *args[] = { c->batch_id };

    b8_audience_abort(au);
    if (!c->batch_id || b8_db_begin(au->ctx->db) != APR_SUCCESS) {
        return;
    }
    if (b8_db_exec(au->ctx->db, au->ctx->pool, B8_SQL_SMS_BATCH_DISCARD, args, NULL)
            != APR_SUCCESS
        || b8_db_commit(au->ctx->db) != APR_SUCCESS) {
        b8_db_rollback(au->ctx->db);
    }
}

static apr_status_t compose_rows(b8_audience *au, const apr_array_header_t *phones,
                                 const cJSON *in)
{
    apr_status_t rv;

    if ((rv = create_batch(au)) == APR_SUCCESS
        && (rv = b8_audience_phones(au, phones)) == APR_SUCCESS
        && (rv = b8_audience_contacts(au, cJSON_GetObjectItemCaseSensitive(in, "contact_ids")))
               == APR_SUCCESS) {
        rv = b8_audience_tags(au, cJSON_GetObjectItemCaseSensitive(in, "tags"));
    }
    return rv;
}

/* Ready for the sender: 'pending' with its total, in the last chunk. */
static apr_status_t batch_ready(b8_audience *au)
{
    composer *c = au->baton;
    const char *args[] = { apr_ltoa(au->cp, au->rep.added), au->now, c->batch_id };
    return b8_db_exec(au->ctx->db, au->cp, B8_SQL_SMS_BATCH_READY, args, NULL);
}

static cJSON *compose_answer(b8_audience *au)
{
    composer *c = au->baton;
    cJSON *o = cJSON_CreateObject();
    b8_json_add_int(o, "id", c->batch_id);
    cJSON_AddNumberToObject(o, "recipients", (double)au->rep.added);
    cJSON_AddNumberToObject(o, "opted_out", (double)au->rep.opted_out);
    cJSON_AddNumberToObject(o, "duplicates", (double)au->rep.duplicates);
    cJSON_AddItemReferenceToObject(o, "invalid", au->rep.invalid);
    cJSON_AddNumberToObject(o, "invalid_count", (double)au->rep.invalid_count);
    cJSON_AddStringToObject(o, "sender", c->sender);
    if (!c->personal) {
        cJSON_AddStringToObject(o, "encoding", c->encoding);
        b8_json_add_int(o, "parts", c->parts);
    }
    return o;
}

b8_errkind b8_sms_send_compose(b8_ctx *ctx, const cJSON *in, cJSON **out, b8_err *err)
{
    composer c;
    b8_audience au;
    b8_sms_count count;
    apr_array_header_t *phones;
    apr_status_t rv;
    int entries;

    if (!cJSON_IsObject(in)) {
        return b8_fail(err, B8_EINVALID, "expected a JSON object");
    }
    memset(&c, 0, sizeof(c));
    c.sender = check_sender(ctx, in, err);
    c.text = check_text(ctx, in, &count, err);
    phones = b8_audience_phone_entries(ctx->pool, cJSON_GetObjectItemCaseSensitive(in, "phones"),
                                       err);
    entries = phones->nelts + list_size(in, "contact_ids", err) + list_size(in, "tags", err);
    /* A fraction must not be rounded to another contact: 422 before anything is sent. */
    if (!(err->fields && cJSON_GetObjectItemCaseSensitive(err->fields, "contact_ids"))) {
        b8_json_ids_check(ctx->pool, in, "contact_ids", err);
    }
    if (entries == 0 && !(err->fields && cJSON_GetObjectItemCaseSensitive(err->fields, "phones"))) {
        b8_field_error(err, "phones", "Choose at least one recipient: a phone number, contacts "
                       "or a tag.");
    }
    if (err->kind != B8_OK) {
        return err->kind;
    }
    c.personal = personalised(c.text);
    c.encoding = b8_sms_encoding_name(count.encoding);
    c.parts = apr_itoa(ctx->pool, count.parts);

    /* A number given twice is sent once, and counted a duplicate before
     * its opt-out is. */
    memset(&au, 0, sizeof(au));
    au.add = insert;
    au.baton = &c;
    au.chunk = B8_SMS_COMPOSE_CHUNK;
    au.dedupe = 1;
    if (b8_audience_start(&au, ctx, err) != B8_OK) {
        B8_LOG(B8_LOG_ERR, 0, "B8-4400: cannot begin composing the SMS send: %s",
               b8_db_error(ctx->db));
        return err->kind;
    }
    au.rep.max_invalid = B8_SMS_MAX_INVALID;
    au.rep.whole_values = 1;

    rv = compose_rows(&au, phones, in);
    if (rv == APR_SUCCESS && au.rep.added == 0) {
        discard_batch(&au);
        b8_field_error(err, "phones", apr_psprintf(ctx->pool, "No one can get this SMS: %ld "
                                                   "opted out, %ld invalid, %ld duplicate(s).",
                                                   au.rep.opted_out, au.rep.invalid_count,
                                                   au.rep.duplicates));
        return err->kind;
    }
    if (rv == APR_SUCCESS) {
        rv = batch_ready(&au);
    }
    if (rv != APR_SUCCESS || b8_audience_finish(&au, err) != B8_OK) {
        b8_errkind kind = err->kind != B8_OK ? err->kind : b8_fail_db(err, ctx->db);
        B8_LOG(B8_LOG_ERR, rv, "B8-0820: cannot compose the SMS send: %s", b8_db_error(ctx->db));
        discard_batch(&au);
        return kind;
    }
    B8_LOG(B8_LOG_INFO, 0, "B8-0821: SMS send %s from %s: %ld recipient(s), %ld opted out, %ld "
           "invalid, %ld duplicate(s)", c.batch_id, c.sender, au.rep.added, au.rep.opted_out,
           au.rep.invalid_count, au.rep.duplicates);
    *out = b8_json_pool_owned(ctx->pool, compose_answer(&au));
    return B8_OK;
}

/* ------------------------------------------------------------------ log */


/* NULL for "" and "all"; 422 for a state that does not exist. */
static b8_errkind filters(b8_ctx *ctx, const char **sender, const char **state, b8_err *err)
{
    if (*sender && !**sender) {
        *sender = NULL;
    }
    if (*state && (!**state || strcmp(*state, "all") == 0)) {
        *state = NULL;
    }
    if (*state && !b8_message_state_find(*state)) {
        b8_field_error(err, "state", apr_psprintf(ctx->pool, "Unknown state “%s”.", *state));
    }
    return err->kind;
}

/* SMS_PAGE columns: id, created_at, sender, phone, name, body, encoding,
 * parts, umid, state, error_code, error_message, error_id, price, sms_batch_id,
 * client_message_id, updated_at, contact_id */
static cJSON *sms_json(const b8_rows *rows, int r)
{
    cJSON *o = cJSON_CreateObject();
    b8_json_add_int(o, "id", B8_GET(rows, r, SMS, id));
    b8_json_add_str(o, "created_at", B8_GET(rows, r, SMS, created_at));
    b8_json_add_str(o, "sender", B8_GET(rows, r, SMS, sender));
    b8_json_add_str(o, "phone", B8_GET(rows, r, SMS, phone));
    b8_json_add_str(o, "name", B8_GET(rows, r, SMS, name));
    b8_json_add_str(o, "text", B8_GET(rows, r, SMS, body));
    b8_json_add_str(o, "encoding", B8_GET(rows, r, SMS, encoding));
    b8_json_add_int(o, "parts", B8_GET(rows, r, SMS, parts));
    b8_json_add_str(o, "umid", B8_GET(rows, r, SMS, umid));
    b8_json_add_str(o, "state", B8_GET(rows, r, SMS, state));
    b8_json_add_str(o, "error_code", B8_GET(rows, r, SMS, error_code));
    b8_json_add_str(o, "error_message", B8_GET(rows, r, SMS, error_message));
    b8_json_add_str(o, "error_id", B8_GET(rows, r, SMS, error_id));
    b8_json_add_str(o, "price", B8_GET(rows, r, SMS, price));
    b8_json_add_int(o, "batch_id", B8_GET(rows, r, SMS, sms_batch_id));
    b8_json_add_str(o, "client_message_id", B8_GET(rows, r, SMS, client_message_id));
    b8_json_add_str(o, "updated_at", B8_GET(rows, r, SMS, updated_at));
    b8_json_add_int(o, "contact_id", B8_GET(rows, r, SMS, contact_id));
    return o;
}

b8_errkind b8_sms_send_list(b8_ctx *ctx, const char *sender, const char *state, const b8_paging *pg,
                       cJSON **out, b8_err *err)
{
    const char *total = NULL;
    b8_rows *rows;
    cJSON *items;

    if (filters(ctx, &sender, &state, err) != B8_OK) {
        return err->kind;
    }
    {
        const char *args[] = { sender, sender, state, state };
        if (b8_db_value(ctx->db, ctx->pool, B8_SQL_SMS_COUNT, args, &total) != APR_SUCCESS) {
            return b8_fail_db(err, ctx->db);
        }
    }
    {
        const char *args[] = { sender, sender, state, state, apr_ltoa(ctx->pool, pg->per_page),
                               apr_ltoa(ctx->pool, (pg->page - 1) * pg->per_page) };
        if (b8_db_select(ctx->db, ctx->pool, B8_SQL_SMS_PAGE, args, &rows) != APR_SUCCESS) {
            return b8_fail_db(err, ctx->db);
        }
    }
    items = cJSON_CreateArray();
    for (int r = 0; r < rows->nrows; r++) {
        cJSON_AddItemToArray(items, sms_json(rows, r));
    }
    *out = b8_json_pool_owned(ctx->pool, b8_list_envelope(items, total ? atol(total) : 0, pg));
    return B8_OK;
}

b8_errkind b8_sms_send_batch_get(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err)
{
    const char *args[] = { id };
    b8_rows *b, *counts;
    cJSON *o, *c;
    double total = 0, with_umid = 0;

    if (b8_db_select(ctx->db, ctx->pool, B8_SQL_SMS_BATCH_BY_ID, args, &b) != APR_SUCCESS
        || (b->nrows && b8_db_select(ctx->db, ctx->pool, B8_SQL_SMS_BATCH_COUNTS, args, &counts)
                        != APR_SUCCESS)) {
        return b8_fail_db(err, ctx->db);
    }
    if (!b->nrows) {
        return b8_fail(err, B8_ENOTFOUND, "no such SMS send");
    }
    /* id, sender, body, state, total, created_by, created_at, updated_at,
     * started_at, done_at, next_at, last_error */
    o = cJSON_CreateObject();
    b8_json_add_int(o, "id", B8_GET(b, 0, SMS_BATCH, id));
    b8_json_add_str(o, "sender", B8_GET(b, 0, SMS_BATCH, sender));
    b8_json_add_str(o, "text", B8_GET(b, 0, SMS_BATCH, body));
    b8_json_add_str(o, "state", B8_GET(b, 0, SMS_BATCH, state));
    b8_json_add_int(o, "total", B8_GET(b, 0, SMS_BATCH, total));
    b8_json_add_str(o, "created_by", B8_GET(b, 0, SMS_BATCH, created_by));
    b8_json_add_str(o, "created_at", B8_GET(b, 0, SMS_BATCH, created_at));
    b8_json_add_str(o, "started_at", B8_GET(b, 0, SMS_BATCH, started_at));
    b8_json_add_str(o, "done_at", B8_GET(b, 0, SMS_BATCH, done_at));
    b8_json_add_str(o, "retry_at", B8_GET(b, 0, SMS_BATCH, next_at));
    b8_json_add_str(o, "last_error", B8_GET(b, 0, SMS_BATCH, last_error));
    c = cJSON_AddObjectToObject(o, "counts");
    for (int i = 0; b8_recipient_states[i]; i++) {
        cJSON_AddNumberToObject(c, b8_recipient_states[i], 0);
    }
    for (int r = 0; r < counts->nrows; r++) {
        const char *state = B8_GET(counts, r, SMS_BATCH_COUNT, state);
        double n = atof(B8_GET(counts, r, SMS_BATCH_COUNT, n));
        if (cJSON_GetObjectItemCaseSensitive(c, state)) {
            cJSON_ReplaceItemInObjectCaseSensitive(c, state, cJSON_CreateNumber(n));
        }
        else {
            cJSON_AddNumberToObject(c, state, n);
        }
        total += n;
        with_umid += atof(B8_GET(counts, r, SMS_BATCH_COUNT, with_umid));
    }
    cJSON_AddNumberToObject(c, "total", total);
    cJSON_AddNumberToObject(o, "with_umid", with_umid);
    *out = b8_json_pool_owned(ctx->pool, o);
    return B8_OK;
}

/* ---------------------------------------------------------------- export */

b8_errkind b8_sms_send_export(b8_ctx *ctx, const char *sender, const char *state, b8_write_fn *write,
                         void *baton, b8_err *err)
{
#define COL(name) { #name, B8_COL_SMS_##name }
    static const b8_export_col cols[] = { COL(created_at), COL(sender), COL(phone), COL(name),
                                          { "text", B8_COL_SMS_body }, COL(encoding), COL(parts),
                                          COL(umid), COL(state), COL(error_code),
                                          COL(error_message), COL(error_id) };
#undef COL
    const char *args[6];

    if (filters(ctx, &sender, &state, err) != B8_OK) {
        return err->kind;
    }
    args[0] = args[1] = sender;
    args[2] = args[3] = state;
    return b8_export_csv(ctx, cols, (int)(sizeof(cols) / sizeof(cols[0])), B8_SQL_SMS_EXPORT_AFTER,
                         args, 6, write, baton, err);
}

/* ------------------------------------------------------- pause, resume */

cJSON *b8_sms_send_lane_json(b8_ctx *ctx)
{
    const char *reason = NULL, *since = NULL;
    cJSON *o = cJSON_CreateObject();

    b8_sms_pause_get(ctx->db, ctx->pool, &reason, &since);
    cJSON_AddBoolToObject(o, "paused", reason != NULL);
    b8_json_add_str(o, "reason", reason);
    b8_json_add_str(o, "since", since);
    return o;
}

b8_errkind b8_sms_send_resume(b8_ctx *ctx, cJSON **out, b8_err *err)
{
    if (b8_sms_pause_set(ctx->db, ctx->pool, NULL) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    B8_LOG(B8_LOG_NOTICE, 0, "B8-4201: SMS sending resumed by %s", ctx->login ? ctx->login : "?");
    *out = b8_json_pool_owned(ctx->pool, b8_sms_send_lane_json(ctx));
    return B8_OK;
}
