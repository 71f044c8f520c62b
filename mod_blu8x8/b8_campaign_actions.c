#include "b8_campaign_actions.h"
#include "b8_campaigns.h"
#include "b8_crypto.h"
#include "b8_eightx8.h"
#include "b8_log.h"
#include "b8_phone.h"
#include "b8_states.h"
#include "b8_users.h"
#include "b8_settings.h"
#include "b8_util.h"

#include <string.h>
#include <apr_strings.h>

/* Rows changed per transaction when an action touches many recipients, so
 * the sender and the webhook never wait long for the write lock. */
#define CHUNK 1000

/* The refusal of an action the campaign's state does not allow; the states
 * that would allow it come from the table (b8_states.h). */
static b8_errkind wrong_state(b8_ctx *ctx, const b8_campaign *c, const char *what,
                              b8_campaign_action a, b8_err *err)
{
    err->state = apr_pstrdup(ctx->pool, c->state);
    return b8_fail(err, B8_ESTATE, apr_psprintf(ctx->pool, "This campaign is %s: only %s "
                                                "campaigns can be %s.", c->state,
                                                b8_campaign_states_allowing(ctx->pool, a), what));
}

/* Loads the campaign (inside the caller's transaction, if any). */
static b8_errkind load(b8_ctx *ctx, const char *id, b8_campaign **c, b8_err *err)
{
    if (b8_campaign_load(ctx->db, ctx->pool, id, c) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if (!*c) {
        return b8_fail(err, B8_ENOTFOUND, "no such campaign");
    }
    return B8_OK;
}

/* Opens a transaction and loads the campaign in it; on error the
 * transaction is closed again. */
static b8_errkind begin_with(b8_ctx *ctx, const char *id, b8_campaign **c, b8_err *err)
{
    b8_errkind kind;

    if (b8_db_begin(ctx->db) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if ((kind = load(ctx, id, c, err)) != B8_OK) {
        b8_db_rollback(ctx->db);
    }
    return kind;
}

static b8_errkind commit(b8_ctx *ctx, b8_err *err)
{
    if (b8_db_commit(ctx->db) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    return B8_OK;
}

static b8_errkind rollback_db(b8_ctx *ctx, b8_err *err)
{
    b8_db_rollback(ctx->db);
    return b8_fail_db(err, ctx->db);
}

/* What Send Now and Put in Queue check first: a valid message, someone to
 * send it to, and 8x8 settings to send it with. */
static b8_errkind check_sendable(b8_ctx *ctx, const b8_campaign *c, b8_err *err)
{
    b8_eightx8_conf conf;
    const char *args[] = { c->id };
    const char *pending = NULL, *why;

    if (b8_campaign_check(ctx->pool, c, err) != B8_OK) {
        return err->kind;
    }
    if (b8_db_value(ctx->db, ctx->pool, B8_SQL_ACTION_PENDING_COUNT, args, &pending)
        != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if (!pending || strcmp(pending, "0") == 0) {
        return b8_fail(err, B8_EINVALID, "The campaign has no recipients waiting to be sent: "
                       "add recipients first.");
    }
    if ((why = b8_eightx8_conf_load(ctx->pool, ctx->settings, &conf)) != NULL) {
        return b8_fail(err, B8_EINVALID, why);
    }
    return B8_OK;
}

static b8_errkind set_state(b8_ctx *ctx, const char *id, const char *state, b8_err *err)
{
    const char *args[] = { state, b8_now_iso(ctx->pool), id };
    if (b8_db_exec(ctx->db, ctx->pool, B8_SQL_ACTION_SET_STATE, args, NULL) != APR_SUCCESS) {
        return rollback_db(ctx, err);
    }
    return B8_OK;
}

static b8_errkind to_sending(b8_ctx *ctx, const char *id, b8_err *err)
{
    const char *now = b8_now_iso(ctx->pool);
    const char *args[] = { now, now, now, id };
    if (b8_db_exec(ctx->db, ctx->pool, B8_SQL_ACTION_TO_SENDING, args, NULL) != APR_SUCCESS) {
        return rollback_db(ctx, err);
    }
    return B8_OK;
}

static b8_errkind answer(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err)
{
    return b8_campaign_get(ctx, id, out, err);
}

/* ---------------------------------------------------------------- states */

/* begin_with, and the campaign's state allows the action (else 409,
 * the transaction closed again). */
static b8_errkind begin_action(b8_ctx *ctx, const char *id, b8_campaign_action a,
                               const char *what, b8_campaign **c, b8_err *err)
{
    b8_errkind kind;

    if ((kind = begin_with(ctx, id, c, err)) != B8_OK) {
        return kind;
    }
    if (!b8_campaign_allows((*c)->state, a)) {
        b8_db_rollback(ctx->db);
        return wrong_state(ctx, *c, what, a, err);
    }
    return B8_OK;
}

b8_errkind b8_campaign_send(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err)
{
    b8_campaign *c;
    b8_errkind kind;

    if ((kind = begin_action(ctx, id, B8_CA_SEND, "sent", &c, err)) != B8_OK) {
        return kind;
    }
    if ((kind = check_sendable(ctx, c, err)) != B8_OK) {
        b8_db_rollback(ctx->db);
        return kind;
    }
    if ((kind = to_sending(ctx, id, err)) != B8_OK || (kind = commit(ctx, err)) != B8_OK) {
        return kind;
    }
    B8_LOG(B8_LOG_INFO, 0, "B8-1411: campaign %s: sending started by %s", id,
           ctx->login ? ctx->login : "?");
    return answer(ctx, id, out, err);
}

b8_errkind b8_campaign_queue(b8_ctx *ctx, const char *id, const cJSON *in, cJSON **out,
                             b8_err *err)
{
    const cJSON *v = cJSON_IsObject(in) ? cJSON_GetObjectItemCaseSensitive(in, "send_at") : NULL;
    const char *send_at = NULL, *now;
    b8_campaign *c;
    b8_errkind kind;

    if (v && !cJSON_IsNull(v) && !(cJSON_IsString(v) && !*b8_trim(ctx->pool, v->valuestring))) {
        apr_time_t t;
        if (!cJSON_IsString(v) || !b8_time_parse(b8_trim(ctx->pool, v->valuestring), &t)) {
            b8_field_error(err, "send_at", "must be a date and time in ISO 8601, e.g. "
                           "2026-11-01T20:00:00+08:00");
            return err->kind;
        }
        send_at = b8_time_iso(ctx->pool, t);
    }
    if ((kind = begin_action(ctx, id, B8_CA_QUEUE, "queued", &c, err)) != B8_OK) {
        return kind;
    }
    if ((kind = check_sendable(ctx, c, err)) != B8_OK) {
        b8_db_rollback(ctx->db);
        return kind;
    }
    now = b8_now_iso(ctx->pool);
    {
        const char *args[] = { send_at, now, now, id };
        if (b8_db_exec(ctx->db, ctx->pool, B8_SQL_ACTION_TO_QUEUED, args, NULL) != APR_SUCCESS) {
            return rollback_db(ctx, err);
        }
    }
    if ((kind = commit(ctx, err)) != B8_OK) {
        return kind;
    }
    return answer(ctx, id, out, err);
}

/* A plain state change to `to`, where the state allows the action. */
static b8_errkind move(b8_ctx *ctx, const char *id, b8_campaign_action a, const char *to,
                       const char *what, cJSON **out, b8_err *err)
{
    b8_campaign *c;
    b8_errkind kind;

    if ((kind = begin_action(ctx, id, a, what, &c, err)) != B8_OK) {
        return kind;
    }
    if ((kind = set_state(ctx, id, to, err)) != B8_OK || (kind = commit(ctx, err)) != B8_OK) {
        return kind;
    }
    return answer(ctx, id, out, err);
}

b8_errkind b8_campaign_pause(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err)
{
    return move(ctx, id, B8_CA_PAUSE, "paused", "paused", out, err);
}

b8_errkind b8_campaign_resume(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err)
{
    return move(ctx, id, B8_CA_RESUME, "sending", "resumed", out, err);
}

b8_errkind b8_campaign_cancel(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err)
{
    const char *args[2];
    b8_campaign *c;
    b8_errkind kind;
    int n = 0;

    if ((kind = begin_action(ctx, id, B8_CA_CANCEL, "cancelled", &c, err)) != B8_OK) {
        return kind;
    }
    if ((kind = set_state(ctx, id, "cancelled", err)) != B8_OK) {
        return kind;
    }
    /* Rows already sent keep their state; the rest will never go. */
    args[0] = b8_now_iso(ctx->pool);
    args[1] = id;
    if (b8_db_exec(ctx->db, ctx->pool, B8_SQL_ACTION_CANCEL_PENDING, args, &n) != APR_SUCCESS) {
        return rollback_db(ctx, err);
    }
    if ((kind = commit(ctx, err)) != B8_OK) {
        return kind;
    }
    B8_LOG(B8_LOG_INFO, 0, "B8-1412: campaign %s cancelled by %s (%d recipients not sent)", id,
           ctx->login ? ctx->login : "?", n);
    return answer(ctx, id, out, err);
}

/* ---------------------------------------------------- rows in chunks */

/* One row of a chunk, inside the chunk's transaction. */
typedef apr_status_t chunk_row_fn(b8_ctx *ctx, apr_pool_t *p, const b8_rows *rows, int r,
                                  void *baton);

typedef struct {
    b8_ctx *ctx;
    chunk_row_fn *each;
    void *baton;
} chunk_walk;

/* One page of rows in one transaction. */
static apr_status_t chunk_page(void *baton, apr_pool_t *p, const b8_rows *rows)
{
    chunk_walk *w = baton;
    apr_status_t rv;

    if ((rv = b8_db_begin(w->ctx->db)) != APR_SUCCESS) {
        return rv;
    }
    for (int r = 0; r < rows->nrows && rv == APR_SUCCESS; r++) {
        rv = w->each(w->ctx, p, rows, r, w->baton);
    }
    if (rv != APR_SUCCESS) {
        b8_db_rollback(w->ctx->db);
        return rv;
    }
    return b8_db_commit(w->ctx->db);
}

/* Calls each() for every row sql answers, CHUNK rows and one transaction at
 * a time (b8_db_walk: room for the last two arguments in args). */
static b8_errkind each_row_in_chunks(b8_ctx *ctx, b8_sql_id sql, const char **args, int nargs,
                                     chunk_row_fn *each, void *baton, b8_err *err)
{
    chunk_walk w = { ctx, each, baton };

    if (b8_db_walk(ctx->db, ctx->pool, sql, args, nargs, CHUNK, chunk_page, &w) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    return B8_OK;
}

/* ------------------------------------------------------------- duplicate */

typedef struct {
    const char *copy, *now;
} copy_baton;

/* id, contact_id, phone, phone_key, name of the source -> a pending row of the copy. */
static apr_status_t copy_recipient(b8_ctx *ctx, apr_pool_t *p, const b8_rows *rows, int r, void *baton)
{
    const copy_baton *b = baton;
    const char *cmid = b8_uuid4(p);
    const char *args[] = { b->copy, B8_GET(rows, r, COPY_SOURCE, contact_id),
                           B8_GET(rows, r, COPY_SOURCE, phone),
                           B8_GET(rows, r, COPY_SOURCE, phone_key),
                           B8_GET(rows, r, COPY_SOURCE, name), cmid, b->now, b->now };

    if (!cmid) {
        return APR_EGENERAL;
    }
    return b8_db_exec(ctx->db, p, B8_SQL_ACTION_COPY_RECIPIENT, args, NULL);
}

b8_errkind b8_campaign_duplicate(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err)
{
    b8_campaign *c;
    b8_errkind kind;
    const char *now = b8_now_iso(ctx->pool), *copy = NULL;

    if ((kind = load(ctx, id, &c, err)) != B8_OK) {
        return kind;
    }
    {
        const char *args[] = { apr_pstrcat(ctx->pool, c->name, " (copy)", NULL), now, now, id };
        if (b8_db_value(ctx->db, ctx->pool, B8_SQL_ACTION_DUPLICATE, args, &copy) != APR_SUCCESS) {
            return b8_fail_db(err, ctx->db);
        }
        if (!copy) {
            return b8_fail(err, B8_ENOTFOUND, "no such campaign");
        }
        copy = apr_pstrdup(ctx->pool, copy);
    }
    {
        copy_baton b = { copy, now };
        const char *sel[] = { id, NULL, NULL };
        if ((kind = each_row_in_chunks(ctx, B8_SQL_ACTION_COPY_SOURCE, sel, 3, copy_recipient,
                                       &b, err)) != B8_OK) {
            return kind;
        }
    }
    B8_LOG(B8_LOG_INFO, 0, "B8-1413: campaign %s duplicated as %s by %s", id, copy,
           ctx->login ? ctx->login : "?");
    return answer(ctx, copy, out, err);
}

/* ------------------------------------------------- retry failed / unknown */

typedef struct {
    const char *s1, *s2, *now;
    long total;
} requeue_baton;

static apr_status_t requeue_row(b8_ctx *ctx, apr_pool_t *p, const b8_rows *rows, int r, void *baton)
{
    requeue_baton *b = baton;
    const char *cmid = b8_uuid4(p);
    const char *args[] = { cmid, b->now, B8_GET(rows, r, ROW_ID, id), b->s1, b->s2 };
    int n = 0;
    apr_status_t rv;

    if (!cmid) {
        return APR_EGENERAL;
    }
    if ((rv = b8_db_exec(ctx->db, p, B8_SQL_ACTION_ROW_RESET, args, &n)) == APR_SUCCESS) {
        b->total += n;
    }
    return rv;
}

/* Rows in state s1 or s2 back to pending with a new clientMessageId, in
 * chunks; then a Done campaign sends again. */
static b8_errkind requeue(b8_ctx *ctx, const char *id, const char *s1, const char *s2,
                          const char *what, cJSON **out, b8_err *err)
{
    const char *now = b8_now_iso(ctx->pool);
    b8_campaign *c;
    b8_errkind kind;
    long total;

    if ((kind = load(ctx, id, &c, err)) != B8_OK) {
        return kind;
    }
    if (!b8_campaign_allows(c->state, B8_CA_RETRY)) {
        return wrong_state(ctx, c, what, B8_CA_RETRY, err);
    }
    {
        requeue_baton b = { s1, s2, now, 0 };
        const char *sel[] = { id, s1, s2, NULL, NULL };
        if ((kind = each_row_in_chunks(ctx, B8_SQL_ACTION_ROWS_IN_STATE, sel, 5, requeue_row,
                                       &b, err)) != B8_OK) {
            return kind;
        }
        total = b.total;
    }

    /* The state may have changed meanwhile: decide on the current one. */
    if ((kind = begin_with(ctx, id, &c, err)) != B8_OK) {
        return kind;
    }
    if (total > 0 && strcmp(c->state, "done") == 0) {
        if ((kind = to_sending(ctx, id, err)) != B8_OK) {
            return kind;
        }
    }
    else if (strcmp(c->state, "cancelled") == 0) {
        const char *args[] = { now, id };
        if (b8_db_exec(ctx->db, ctx->pool, B8_SQL_ACTION_CANCEL_PENDING, args, NULL)
            != APR_SUCCESS) {
            return rollback_db(ctx, err);
        }
    }
    if ((kind = commit(ctx, err)) != B8_OK) {
        return kind;
    }
    B8_LOG(B8_LOG_INFO, 0, "B8-1414: campaign %s: %ld %s/%s recipients back to pending by %s",
           id, total, s1, s2, ctx->login ? ctx->login : "?");
    return answer(ctx, id, out, err);
}

b8_errkind b8_campaign_retry_failed(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err)
{
    return requeue(ctx, id, "failed", "undelivered", "retried", out, err);
}

b8_errkind b8_campaign_requeue_unknown(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err)
{
    return requeue(ctx, id, "unknown", "unknown", "requeued", out, err);
}

/* ------------------------------------------------------------- send test */

/* The phone to test with and the name {name} becomes. */
static b8_errkind test_recipient(b8_ctx *ctx, const cJSON *in, const char **phone,
                                 const char **name, b8_err *err)
{
    const char *given = cJSON_IsObject(in) ? b8_json_str(in, "phone") : NULL;
    const char *why = NULL, *contact = NULL;
    const char *country = b8_ctx_setting(ctx, B8_SET_DEFAULT_COUNTRY);
    b8_user *me = NULL;

    if (ctx->login && b8_user_by_login(ctx->db, ctx->pool, ctx->login, &me) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if (!given || !*b8_trim(ctx->pool, given)) {
        if (!me || !me->phone || !*me->phone) {
            b8_field_error(err, "phone", "Give a phone number to send the test to: your user "
                           "has no phone number.");
            return err->kind;
        }
        given = me->phone;
    }
    if (!(*phone = b8_phone_e164(ctx->pool, given, country, &why))) {
        b8_field_error(err, "phone", apr_psprintf(ctx->pool, "is not a valid phone number (%s)",
                                                  why ? why : "invalid"));
        return err->kind;
    }
    {
        const char *args[] = { *phone };
        if (b8_db_value(ctx->db, ctx->pool, B8_SQL_SEND_TEST_CONTACT, args, &contact)
            != APR_SUCCESS) {
            return b8_fail_db(err, ctx->db);
        }
    }
    *name = contact ? contact : "";
    if (!contact && me && me->phone) {
        const char *mine = b8_phone_e164(ctx->pool, me->phone, country, NULL);
        if (mine && strcmp(mine, *phone) == 0) {
            *name = me->name ? me->name : "";
        }
    }
    return B8_OK;
}

static cJSON *upstream_error(const b8_send_result *res, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", message);
    b8_json_add_int(o, "code", res->error_code);
    if (res->http_status) {
        cJSON_AddNumberToObject(o, "http_status", (double)res->http_status);
    }
    else {
        cJSON_AddNullToObject(o, "http_status");
    }
    return o;
}

b8_errkind b8_campaign_send_test(b8_ctx *ctx, const char *id, const cJSON *in, cJSON **out,
                                 b8_err *err)
{
    b8_eightx8_conf conf;
    b8_send_result res;
    b8_campaign *c;
    const char *phone = NULL, *name = "", *cmid, *why;
    cJSON *msg;
    b8_errkind kind;

    if ((kind = load(ctx, id, &c, err)) != B8_OK) {
        return kind;
    }
    if (b8_campaign_check(ctx->pool, c, err) != B8_OK) {
        if (!err->message || strcmp(err->message, "some fields are not valid") == 0) {
            err->message = "The campaign cannot be sent as it is: fix the fields below first.";
        }
        return err->kind;
    }
    if ((kind = test_recipient(ctx, in, &phone, &name, err)) != B8_OK) {
        return kind;
    }
    if ((why = b8_eightx8_conf_load(ctx->pool, ctx->settings, &conf)) != NULL) {
        return b8_fail(err, B8_EINVALID, why);
    }
    if (!(cmid = b8_uuid4(ctx->pool))) {
        return b8_fail(err, B8_EINTERNAL, "cannot make a clientMessageId");
    }
    msg = b8_json_pool_owned(ctx->pool,
                             b8_eightx8_campaign_message(ctx->pool, c, phone, name, cmid,
                                                         conf.sms_source));
    b8_eightx8_send_now(ctx->pool, &conf, msg, &res);
    switch (res.verdict) {
    case B8_SEND_ACCEPTED:
        *out = b8_json_pool_owned(ctx->pool, cJSON_CreateObject());
        b8_json_add_str(*out, "umid", res.umid);
        cJSON_AddStringToObject(*out, "state", res.state ? res.state : "queued");
        cJSON_AddStringToObject(*out, "phone", phone);
        cJSON_AddStringToObject(*out, "client_message_id", cmid);
        B8_LOG(B8_LOG_INFO, 0, "B8-1415: campaign %s: test sent to %s (umid %s)", id, phone,
               res.umid ? res.umid : "to come");
        return B8_OK;
    case B8_SEND_UNKNOWN:
        *out = b8_json_pool_owned(ctx->pool, upstream_error(&res, apr_psprintf(ctx->pool,
                   "8x8 did not answer in time; the test message may have been sent. %s",
                   res.error_message)));
        break;
    case B8_SEND_RETRY:
    case B8_SEND_FAILED:
    default:
        *out = b8_json_pool_owned(ctx->pool, upstream_error(&res, apr_psprintf(ctx->pool,
                   "8x8 refused the test message: %s",
                   res.error_message ? res.error_message : "no reason given")));
        break;
    }
    B8_LOG(B8_LOG_NOTICE, 0, "B8-1416: campaign %s: test to %s failed: %s", id, phone,
           res.error_message ? res.error_message : "?");
    return b8_fail(err, B8_EUPSTREAM, "8x8 refused the test message");
}

/* -------------------------------------------------------------- progress */

b8_errkind b8_campaign_progress(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err)
{
    b8_campaign *c;
    b8_rows *rows, *fails;
    b8_errkind kind;
    cJSON *counts, *list;
    long total = 0, processed = 0, sent = 0, failed = 0;
    const char *args[] = { id };
    const char *fargs[] = { id, "20" };

    if ((kind = load(ctx, id, &c, err)) != B8_OK) {
        return kind;
    }
    if (b8_db_select(ctx->db, ctx->pool, B8_SQL_PROGRESS_COUNTS, args, &rows) != APR_SUCCESS
        || b8_db_select(ctx->db, ctx->pool, B8_SQL_PROGRESS_FAILURES, fargs, &fails)
               != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    *out = b8_json_pool_owned(ctx->pool, cJSON_CreateObject());
    b8_json_add_int(*out, "id", c->id);
    cJSON_AddStringToObject(*out, "state", c->state);
    b8_json_add_str(*out, "send_at", c->send_at);
    b8_json_add_str(*out, "started_at", c->started_at);
    b8_json_add_str(*out, "done_at", c->done_at);
    counts = cJSON_AddObjectToObject(*out, "counts");
    for (int i = 0; b8_recipient_states[i]; i++) {
        cJSON_AddNumberToObject(counts, b8_recipient_states[i], 0);
    }
    for (int r = 0; r < rows->nrows; r++) {
        const char *state = B8_GET(rows, r, STATE_COUNT, state);
        const b8_message_state *s;
        long n = 0;
        b8_parse_long(B8_GET(rows, r, STATE_COUNT, n), &n);
        total += n;
        if (!(s = b8_message_state_find(state))) {
            continue;
        }
        cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(counts, state), (double)n);
        processed += s->flags & B8_MS_PROCESSED ? n : 0;
        sent += s->flags & B8_MS_SENT ? n : 0;
        failed += s->flags & B8_MS_FAILED ? n : 0;
    }
    cJSON_AddNumberToObject(counts, "total", (double)total);
    cJSON_AddNumberToObject(*out, "processed", (double)processed);
    cJSON_AddNumberToObject(*out, "sent", (double)sent);
    cJSON_AddNumberToObject(*out, "failed", (double)failed);
    cJSON_AddNumberToObject(*out, "percent", total ? (double)(processed * 100 / total) : 0);
    list = cJSON_AddArrayToObject(*out, "failures");
    for (int r = 0; r < fails->nrows; r++) {
        cJSON *f = cJSON_CreateObject();
        b8_json_add_int(f, "id", B8_GET(fails, r, FAILURE, id));
        b8_json_add_str(f, "phone", B8_GET(fails, r, FAILURE, phone));
        b8_json_add_str(f, "name", B8_GET(fails, r, FAILURE, name));
        b8_json_add_str(f, "state", B8_GET(fails, r, FAILURE, state));
        b8_json_add_str(f, "error_code", B8_GET(fails, r, FAILURE, error_code));
        b8_json_add_str(f, "error_message", B8_GET(fails, r, FAILURE, error_message));
        b8_json_add_str(f, "updated_at", B8_GET(fails, r, FAILURE, updated_at));
        cJSON_AddItemToArray(list, f);
    }
    return B8_OK;
}

/* ----------------------------------------------------------------- crons */

apr_status_t b8_campaigns_start_queued(b8_db *db, apr_pool_t *p, int dated_only, int *started)
{
    const char *now = b8_now_iso(p);
    const char *args[] = { now, now, now, now };
    apr_status_t rv;

    *started = 0;
    rv = b8_db_exec(db, p, dated_only ? B8_SQL_CRON_START_DATED : B8_SQL_CRON_START_DUE, args,
                    started);
    if (rv == APR_SUCCESS && *started > 0) {
        B8_LOG(B8_LOG_INFO, 0, "B8-1417: %d queued campaign(s) handed to the sender", *started);
    }
    return rv;
}

apr_status_t b8_campaigns_finish(b8_db *db, apr_pool_t *p, int *finished)
{
    const char *now = b8_now_iso(p);
    const char *args[] = { now, now };
    apr_status_t rv;

    *finished = 0;
    rv = b8_db_exec(db, p, B8_SQL_CRON_DONE, args, finished);
    if (rv == APR_SUCCESS && *finished > 0) {
        B8_LOG(B8_LOG_INFO, 0, "B8-1418: %d campaign(s) done: every recipient has a UMID or "
               "a final state", *finished);
    }
    return rv;
}
