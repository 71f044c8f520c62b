/* Delivery receipts: the forward-only state order of outbound messages (the
 * table of b8_states.h), the receipts table (every receipt is kept, matched
 * or not) and the campaign that becomes Done when its last recipient is
 * delivered or read. */
#include "b8_receipts.h"
#include "b8_core.h"
#include "b8_log.h"
#include "b8_states.h"
#include "b8_util.h"

#include <stdlib.h>
#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <cjson/cJSON.h>

/* A state's rank in the table of b8_states.h; -1 for one not in it. */
static int rank_of(const char *state)
{
    const b8_message_state *s = b8_message_state_find(state);
    return s ? s->rank : -1;
}

/* 8x8's receipt state as our message state; NULL for a state we do not know
 * (kept in receipts, applied to nothing). */
static const char *message_state_of(const char *receipt_state)
{
    const b8_message_state *s = b8_message_state_find(receipt_state);

    if (receipt_state && strcmp(receipt_state, "rejected") == 0) {
        return "failed";
    }
    return s && (s->flags & B8_MS_RECEIPT) ? s->name : NULL;
}

/* The columns of RECEIPT_MESSAGE_BY_*: id, state, umid, campaign_id, channel. */
typedef struct {
    const char *id, *state, *umid, *campaign_id, *channel;
} message_row;

/* A channel's place in a message's fallback: Viber (or any chat app)
 * first, SMS last. */
static int fallback_order(const char *channel)
{
    return channel && strcmp(channel, "sms") == 0 ? 1 : 0;
}

static apr_status_t find_message(b8_db *db, apr_pool_t *p, b8_sql_id id, const char *key,
                                 message_row **out)
{
    const char *args[] = { key };
    b8_rows *rows;
    apr_status_t rv;

    *out = NULL;
    if (!key || !*key) {
        return APR_SUCCESS;
    }
    if ((rv = b8_db_select(db, p, id, args, &rows)) != APR_SUCCESS) {
        return rv;
    }
    if (rows->nrows > 0) {
        message_row *m = apr_pcalloc(p, sizeof(*m));
        m->id = B8_GET(rows, 0, RECEIPT_MESSAGE, id);
        m->state = B8_GET(rows, 0, RECEIPT_MESSAGE, state);
        m->umid = B8_GET(rows, 0, RECEIPT_MESSAGE, umid);
        m->campaign_id = B8_GET(rows, 0, RECEIPT_MESSAGE, campaign_id);
        m->channel = B8_GET(rows, 0, RECEIPT_MESSAGE, channel);
        *out = m;
    }
    return APR_SUCCESS;
}

/* A campaign whose every recipient is delivered or read becomes Done. The
 * campaign row is locked before the count that decides, so two last
 * receipts committed at once on PostgreSQL cannot both miss each other.
 * That lock is taken only near the end: while more recipients are open than
 * transactions in flight could hide, this receipt cannot be the last one,
 * and locking the campaign row would make every receipt of the campaign
 * wait for the one before it to be flushed. */
static apr_status_t campaign_maybe_done(b8_db *db, apr_pool_t *p, const char *campaign_id)
{
    const char *lock_args[] = { campaign_id };
    const char *open_args[] = { campaign_id };
    const char *done_args[] = { NULL, NULL, campaign_id };
    const char *open = NULL;
    int n = 0;
    apr_status_t rv;

    if ((rv = b8_db_value(db, p, B8_SQL_RECEIPT_CAMPAIGN_OPEN, open_args, &open)) != APR_SUCCESS
        || (open && atol(open) > b8_db_unseen_writes_max(db, p))) {
        return rv;
    }
    if ((rv = b8_db_exec(db, p, B8_SQL_RECEIPT_CAMPAIGN_LOCK, lock_args, &n)) != APR_SUCCESS
        || n == 0) {
        return rv;   /* not a campaign that is being sent */
    }
    /* Read again: on PostgreSQL this statement sees what committed while
     * we waited for the lock. */
    if ((rv = b8_db_value(db, p, B8_SQL_RECEIPT_CAMPAIGN_OPEN, open_args, &open)) != APR_SUCCESS) {
        return rv;
    }
    if (open && strcmp(open, "0") != 0) {
        return APR_SUCCESS;
    }
    /* Timed now, not when this receipt arrived: the receipts this one
     * waited for were applied before. */
    done_args[0] = done_args[1] = b8_now_iso(p);
    if ((rv = b8_db_exec(db, p, B8_SQL_RECEIPT_CAMPAIGN_DONE, done_args, &n)) == APR_SUCCESS
        && n > 0) {
        B8_LOG(B8_LOG_INFO, 0, "B8-1501: campaign %s is done: every recipient has it",
               campaign_id);
    }
    return rv;
}

int b8_receipt_moves(const char *state, const char *channel, const char *to,
                     const char *to_channel)
{
    int order = fallback_order(channel), to_order;

    if (!to_channel || !channel || strcmp(to_channel, channel) == 0) {
        return b8_message_state_advances(state, to);
    }
    to_order = fallback_order(to_channel);
    if (to_order != order) {
        /* The next channel starts over (a delivery or read stays unless
         * matched); a late receipt from the one before changes nothing. */
        int success = b8_message_state_is(state, B8_MS_REACHED);
        return to_order > order && rank_of(to) >= 0
               && (!success || rank_of(to) >= rank_of(state));
    }
    return b8_message_state_advances(state, to);
}

/* Applies one receipt to one message: a missing UMID is recorded, and the
 * state only moves forward on its channel; a receipt from the fallback's
 * next channel moves the message to it. */
static apr_status_t apply(b8_db *db, apr_pool_t *p, message_row *m, const b8_receipt *rc,
                          const char *now, int *changed)
{
    const char *to = message_state_of(rc->state);
    const char *channel = m->channel ? m->channel : "viber";
    const char *to_channel = rc->channel ? rc->channel : channel;
    int n = 0;
    apr_status_t rv;

    *changed = 0;
    if (!m->umid && rc->umid) {
        const char *args[] = { rc->umid, now, m->id };
        if ((rv = b8_db_exec(db, p, B8_SQL_RECEIPT_MESSAGE_SET_UMID, args, NULL)) != APR_SUCCESS) {
            return rv;
        }
    }
    if (to && fallback_order(to_channel) != fallback_order(channel)) {
        if (b8_receipt_moves(m->state, channel, to, to_channel)) {
            const char *args[] = {
                to, to_channel, rc->detail, rc->error_code, rc->error_message, rc->price,
                rc->event_at ? rc->event_at : now,
                to, rc->event_at ? rc->event_at : now,   /* delivered_at (issue 19) */
                to, rc->event_at ? rc->event_at : now,   /* read_at */
                now, m->id, channel, apr_itoa(p, rank_of(to))
            };
            if ((rv = b8_db_exec(db, p, B8_SQL_RECEIPT_MESSAGE_SWITCH, args, &n))
                != APR_SUCCESS) {
                return rv;
            }
            *changed = n > 0;
            if (*changed) {
                m->channel = apr_pstrdup(p, to_channel);
            }
        }
    }
    else if (to && b8_message_state_advances(m->state, to)) {
        const char *args[] = {
            to, rc->detail, rc->error_code, rc->error_message, rc->price,
            rc->event_at ? rc->event_at : now,
            to, rc->event_at ? rc->event_at : now,   /* delivered_at (issue 19) */
            to, rc->event_at ? rc->event_at : now,   /* read_at */
            now, m->id, channel, apr_itoa(p, rank_of(to))
        };
        if ((rv = b8_db_exec(db, p, B8_SQL_RECEIPT_MESSAGE_APPLY, args, &n)) != APR_SUCCESS) {
            return rv;
        }
        *changed = n > 0;
    }
    if (*changed) {
        if (m->campaign_id && b8_message_state_is(to, B8_MS_REACHED)) {
            return campaign_maybe_done(db, p, m->campaign_id);
        }
    }
    return APR_SUCCESS;
}

apr_status_t b8_receipt_record(b8_db *db, apr_pool_t *p, const b8_receipt *rc, int *matched,
                               int *changed)
{
    const char *now = b8_now_iso(p);
    message_row *m = NULL;
    apr_status_t rv;

    *matched = 0;
    *changed = 0;
    if ((rv = find_message(db, p, B8_SQL_RECEIPT_MESSAGE_BY_UMID, rc->umid, &m)) != APR_SUCCESS
        || (!m && (rv = find_message(db, p, B8_SQL_RECEIPT_MESSAGE_BY_CMID,
                                     rc->client_message_id, &m)) != APR_SUCCESS)) {
        return rv;
    }
    {
        const char *args[] = {
            rc->umid, rc->client_message_id, rc->namespace_name, rc->state, rc->detail,
            rc->error_code, rc->error_message, rc->price, rc->event_at, now, m ? "1" : "0",
            rc->channel
        };
        if ((rv = b8_db_exec(db, p, B8_SQL_RECEIPT_INSERT, args, NULL)) != APR_SUCCESS) {
            return rv;
        }
    }
    if (!m) {
        return APR_SUCCESS;   /* kept: b8_receipts_settle applies it once the row names it */
    }
    *matched = 1;
    return apply(db, p, m, rc, now, changed);
}

/* RECEIPT_BATCH's argument: one object per receipt, k its index. */
static const char *batch_json(apr_pool_t *p, const b8_receipt *const *rcs, int n,
                              const char *now)
{
    cJSON *all = b8_json_array(p);

    for (int k = 0; all && k < n; k++) {
        const b8_receipt *rc = rcs[k];
        const char *to = message_state_of(rc->state);
        cJSON *o = cJSON_CreateObject();
        if (!o) {
            return NULL;
        }
        cJSON_AddItemToArray(all, o);
        cJSON_AddNumberToObject(o, "k", k);
        /* An empty identifier names no message (as in find_message). */
        b8_json_add_str(o, "r_umid", rc->umid && *rc->umid ? rc->umid : NULL);
        b8_json_add_str(o, "r_cmid", rc->client_message_id && *rc->client_message_id
                                         ? rc->client_message_id : NULL);
        b8_json_add_str(o, "r_ns", rc->namespace_name);
        b8_json_add_str(o, "r_state", rc->state);
        b8_json_add_str(o, "r_detail", rc->detail);
        b8_json_add_str(o, "r_ecode", rc->error_code);
        b8_json_add_str(o, "r_emsg", rc->error_message);
        b8_json_add_str(o, "r_price", rc->price);
        b8_json_add_str(o, "r_event_at", rc->event_at);
        b8_json_add_str(o, "r_now", now);
        b8_json_add_str(o, "r_ch", rc->channel);
        b8_json_add_str(o, "r_to", to);
        cJSON_AddNumberToObject(o, "r_rank", to ? rank_of(to) : 0);
        cJSON_AddNumberToObject(o, "r_reached", b8_message_state_is(to, B8_MS_REACHED));
    }
    return all ? b8_json_print(p, all) : NULL;
}

/* After a batch: a campaign whose open recipients, as counted before it
 * less the ones it delivered, are few enough that this batch may have been
 * its last receipts is checked (and made Done) in a transaction of its own.
 * While more are open than transactions in flight could hide, it cannot be. */
static void batch_campaigns_maybe_done(b8_db *db, apr_pool_t *p, const b8_rows *rows)
{
    apr_hash_t *seen = apr_hash_make(p);
    long unseen = -1;

    for (int i = 0; i < rows->nrows; i++) {
        const char *campaign_id = B8_GET(rows, i, RECEIPT_BATCH, campaign_id);
        const char *open = B8_GET(rows, i, RECEIPT_BATCH, open_before);
        long reached = 0;
        apr_status_t rv;

        if (!campaign_id || !open || apr_hash_get(seen, campaign_id, APR_HASH_KEY_STRING)) {
            continue;
        }
        apr_hash_set(seen, campaign_id, APR_HASH_KEY_STRING, campaign_id);
        for (int j = i; j < rows->nrows; j++) {
            const char *other = B8_GET(rows, j, RECEIPT_BATCH, campaign_id);
            reached += other && strcmp(other, campaign_id) == 0
                       && B8_GET(rows, j, RECEIPT_BATCH, open_before)
                       && !B8_GET_IS(rows, j, RECEIPT_BATCH, changed, "0");
        }
        if (reached == 0) {
            continue;
        }
        if (unseen < 0) {
            unseen = b8_db_unseen_writes_max(db, p);
        }
        if (atol(open) - reached > unseen) {
            continue;
        }
        if ((rv = b8_db_begin(db)) == APR_SUCCESS) {
            if ((rv = campaign_maybe_done(db, p, campaign_id)) == APR_SUCCESS) {
                rv = b8_db_commit(db);
            }
            else {
                b8_db_rollback(db);
            }
        }
        if (rv != APR_SUCCESS) {
            /* The receipts are stored: the worker's sweep makes the campaign
             * Done later, and a retry by 8x8 must not store them twice. */
            B8_LOG(B8_LOG_WARNING, rv, "B8-4650: receipt stored, but cannot check whether "
                   "campaign %s is done: %s", campaign_id, b8_db_error(db));
        }
    }
}

apr_status_t b8_receipts_record_batch(b8_db *db, apr_pool_t *p, const b8_receipt *const *rcs,
                                      int n, int *matched, int *changed, int *done)
{
    const char *args[1];
    b8_rows *rows;
    apr_status_t rv;

    for (int k = 0; k < n; k++) {
        matched[k] = changed[k] = done[k] = 0;
    }
    /* SQLite has no data-modifying WITH and gains nothing from fewer
     * statements (no round trips): its group transaction stays. */
    if (n == 0 || b8_db_is_sqlite(db) || b8_db_in_tx(db)) {
        return APR_SUCCESS;
    }
    if ((args[0] = batch_json(p, rcs, n, b8_now_iso(p))) == NULL) {
        return APR_ENOMEM;
    }
    if ((rv = b8_db_select(db, p, B8_SQL_RECEIPT_BATCH, args, &rows)) != APR_SUCCESS) {
        return rv;
    }
    for (int i = 0; i < rows->nrows; i++) {
        int k = atoi(B8_GET_OR(rows, i, RECEIPT_BATCH, k, "-1"));
        if (k < 0 || k >= n || !B8_GET_IS(rows, i, RECEIPT_BATCH, slow, "0")) {
            continue;   /* slow: nothing written, the full path follows */
        }
        done[k] = 1;
        matched[k] = !B8_GET_IS(rows, i, RECEIPT_BATCH, matched, "0");
        changed[k] = !B8_GET_IS(rows, i, RECEIPT_BATCH, changed, "0");
    }
    batch_campaigns_maybe_done(db, p, rows);
    return APR_SUCCESS;
}

apr_status_t b8_receipts_settle(b8_db *db, apr_pool_t *p, const char *client_message_id,
                                int *settled)
{
    const char *now = b8_now_iso(p);
    message_row *m = NULL;
    b8_rows *rows;
    apr_status_t rv;

    *settled = 0;
    if ((rv = find_message(db, p, B8_SQL_RECEIPT_MESSAGE_BY_CMID, client_message_id, &m))
        != APR_SUCCESS || !m) {
        return rv;
    }
    {
        /* Receipts naming the row's clientMessageId, or its UMID once known. */
        const char *args[] = { client_message_id, m->umid };
        if ((rv = b8_db_select(db, p, B8_SQL_RECEIPTS_FOR_MESSAGE, args, &rows)) != APR_SUCCESS) {
            return rv;
        }
    }
    for (int i = 0; i < rows->nrows; i++) {
        b8_receipt rc = {
            .umid = B8_GET(rows, i, RECEIPT, umid),
            .client_message_id = B8_GET(rows, i, RECEIPT, client_message_id),
            .namespace_name = B8_GET(rows, i, RECEIPT, namespace),
            .state = B8_GET(rows, i, RECEIPT, state),
            .detail = B8_GET(rows, i, RECEIPT, detail),
            .error_code = B8_GET(rows, i, RECEIPT, error_code),
            .error_message = B8_GET(rows, i, RECEIPT, error_message),
            .price = B8_GET(rows, i, RECEIPT, price),
            .event_at = B8_GET(rows, i, RECEIPT, event_at),
            .channel = B8_GET(rows, i, RECEIPT, channel)
        };
        const char *id_args[] = { B8_GET(rows, i, RECEIPT, id) };
        int changed = 0;
        if ((rv = apply(db, p, m, &rc, now, &changed)) != APR_SUCCESS
            || (rv = b8_db_exec(db, p, B8_SQL_RECEIPT_SET_MATCHED, id_args, NULL))
                   != APR_SUCCESS) {
            return rv;
        }
        if (changed) {
            m->state = message_state_of(rc.state);
        }
        if (!m->umid && rc.umid) {
            m->umid = rc.umid;
        }
        *settled = 1;
    }
    return APR_SUCCESS;
}

apr_status_t b8_receipts_settle_stale(b8_store *st, apr_pool_t *p, b8_sql_id stale_sql,
                                      const char *reason, int *settled, int *unknown)
{
    const char *after = "0";
    apr_pool_t *chunk;
    apr_status_t rv;

    *settled = *unknown = 0;
    if ((rv = apr_pool_create(&chunk, p)) != APR_SUCCESS) {
        return rv;
    }
    for (;;) {
        const char *args[] = { after };
        const char *now;
        b8_rows *rows;
        b8_db *db;

        apr_pool_clear(chunk);
        if ((rv = b8_db_get(st, chunk, &db)) != APR_SUCCESS
            || (rv = b8_db_begin(db)) != APR_SUCCESS) {
            break;
        }
        if ((rv = b8_db_select(db, chunk, stale_sql, args, &rows)) != APR_SUCCESS
            || rows->nrows == 0) {
            b8_db_rollback(db);
            break;
        }
        now = b8_now_iso(chunk);
        for (int r = 0; r < rows->nrows && rv == APR_SUCCESS; r++) {
            const char *u[] = { reason, now, B8_GET(rows, r, STALE, id) };
            int ok = 0, n = 0;
            /* A receipt naming the clientMessageId tells what 8x8 did with it;
             * a row the receipts did not move is still 'sending'. */
            if ((rv = b8_receipts_settle(db, chunk, B8_GET(rows, r, STALE, client_message_id),
                                         &ok)) == APR_SUCCESS
                && (rv = b8_db_exec(db, chunk, B8_SQL_MESSAGE_SET_UNKNOWN, u, &n))
                       == APR_SUCCESS) {
                *settled += ok;
                *unknown += n;
            }
        }
        if (rv != APR_SUCCESS || (rv = b8_db_commit(db)) != APR_SUCCESS) {
            B8_LOG(B8_LOG_ERR, rv, "B8-1514: cannot settle the rows a stopped worker left "
                   "sending: %s", b8_db_error(db));
            b8_db_rollback(db);
            break;
        }
        after = apr_pstrdup(p, b8_rows_id(rows, rows->nrows - 1));
    }
    apr_pool_destroy(chunk);
    return rv;
}
