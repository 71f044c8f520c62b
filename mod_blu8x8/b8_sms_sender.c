#include "b8_sms_sender.h"
#include "b8_metrics.h"
#include "b8_core.h"
#include "b8_eightx8_sms.h"
#include "b8_log.h"
#include "b8_receipts.h"
#include "b8_runtime.h"
#include "b8_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#define RECORD_TRIES 10                          /* database errors after an answer */
#define RECORD_PAUSE apr_time_from_msec(200)
#define CLEANUP_EVERY apr_time_from_sec(60)      /* abandoned composers */
#define ABANDONED_AFTER apr_time_from_sec(600)

static const char *const CRASHED =
    "The worker stopped while this SMS was being sent: it may have reached 8x8. Send it again "
    "only if it did not arrive.";

/* ------------------------------------------------------------ stale rows */

apr_status_t b8_sms_sender_settle_stale(b8_store *st, apr_pool_t *p, int *settled, int *unknown)
{
    apr_status_t rv = b8_receipts_settle_stale(st, p, B8_SQL_SMS_STALE, CRASHED, settled,
                                               unknown);

    if (*settled || *unknown) {
        B8_LOG(B8_LOG_NOTICE, 0, "B8-0802: %d interrupted SMS settled from receipts, %d marked "
               "unknown (never resent automatically)", *settled, *unknown);
    }
    return rv;
}

/* The first step of this process settles what a dead worker left. */
static pthread_mutex_t first_lock = PTHREAD_MUTEX_INITIALIZER;
static int first_done;

static int settle_once(const b8_sms_sender_env *env, apr_pool_t *p)
{
    int ok = 1;
    pthread_mutex_lock(&first_lock);
    if (!first_done) {
        int settled = 0, unknown = 0;
        ok = b8_sms_sender_settle_stale(env->store, p, &settled, &unknown) == APR_SUCCESS;
        first_done = ok;
    }
    pthread_mutex_unlock(&first_lock);
    return ok;
}

/* ------------------------------------------------------------------ state */

/* The send being worked on (SMS_NEXT_BATCH) and the chunk claimed from it. */
typedef struct {
    apr_pool_t *p;
    const b8_sms_sender_env *env;
    b8_db *db;
    b8_sms_conf conf;
    /* batch: id, sender, state, next_at, tries, rate_limited, total */
    const char *batch, *sender;
    long total;
    b8_send_tries tries;
    /* chunk */
    int n;
    const char **ids;
    b8_sms_out *msgs;
    const char *first, *last;
} job;

typedef apr_status_t (*record_fn)(job *j, const void *data);

/* Writes an outcome in one transaction; a database error is retried for a
 * while (the answer exists only in memory), then the rows stay 'sending'
 * and are settled at the next start. */
static void record(job *j, record_fn fn, const void *data)
{
    for (int attempt = 1; attempt <= RECORD_TRIES; attempt++) {
        apr_status_t rv = b8_db_begin(j->db);
        if (rv == APR_SUCCESS && (rv = fn(j, data)) == APR_SUCCESS
            && (rv = b8_db_commit(j->db)) == APR_SUCCESS) {
            return;
        }
        if (rv != APR_SUCCESS) {
            b8_db_rollback(j->db);
        }
        B8_LOG(B8_LOG_ERR, rv, "B8-0803: cannot record SMS results of send %s (attempt %d): %s",
               j->batch, attempt, b8_db_error(j->db));
        apr_sleep(RECORD_PAUSE);
    }
    B8_LOG(B8_LOG_ERR, 0, "B8-0804: SMS %s..%s of send %s stay 'sending' until the worker "
           "restarts (then: settled or unknown)", j->first, j->last, j->batch);
}

/* Resets the send's retry state (an answer that ended the chunk). */
static apr_status_t batch_progress(job *j, const char *now)
{
    const char *args[] = { "0", "0", NULL, NULL, NULL, now, j->batch };
    return b8_db_exec(j->db, j->p, B8_SQL_SMS_BATCH_RETRY, args, NULL);
}

/* ------------------------------------------------------------- outcomes */

/* A whole chunk failed for good, or may have been sent. */
static apr_status_t write_range(job *j, const void *data)
{
    const b8_send_result *r = data;
    const char *now = b8_now_iso(j->p);
    apr_status_t rv;

    if (r->verdict == B8_SEND_UNKNOWN) {
        const char *args[] = { r->error_message, now, j->batch, j->first, j->last };
        rv = b8_db_exec(j->db, j->p, B8_SQL_SMS_RANGE_UNKNOWN, args, NULL);
    }
    else {
        const char *args[] = { r->error_code, r->error_message, r->error_id, now, j->batch,
                               j->first, j->last };
        rv = b8_db_exec(j->db, j->p, B8_SQL_SMS_RANGE_FAILED, args, NULL);
    }
    return rv == APR_SUCCESS ? batch_progress(j, now) : rv;
}

/* 8x8 took nothing (429, 5xx, not sent): pending again, retried later. */
static apr_status_t write_retry(job *j, const void *data)
{
    const b8_send_result *r = data;
    const char *now = b8_now_iso(j->p);
    const char *range[] = { now, j->batch, j->first, j->last };
    const char *retry[] = { apr_itoa(j->p, j->tries.tries), apr_itoa(j->p, j->tries.rate_limited),
                            b8_time_iso(j->p, apr_time_now() + r->retry_in), r->error_message,
                            j->tries.failing_since ? b8_time_iso(j->p, j->tries.failing_since)
                                                   : NULL,
                            now, j->batch };
    apr_status_t rv = b8_db_exec(j->db, j->p, B8_SQL_SMS_RANGE_PENDING, range, NULL);
    return rv == APR_SUCCESS ? b8_db_exec(j->db, j->p, B8_SQL_SMS_BATCH_RETRY, retry, NULL) : rv;
}

/* 8x8 refused the account: the chunk is pending again and the lane pauses
 * until the settings change or an admin resumes it. */
static apr_status_t write_account(job *j, const void *data)
{
    const b8_send_result *r = data;
    const char *now = b8_now_iso(j->p);
    const char *range[] = { now, j->batch, j->first, j->last };
    apr_status_t rv = b8_db_exec(j->db, j->p, B8_SQL_SMS_RANGE_PENDING, range, NULL);
    return rv == APR_SUCCESS ? b8_sms_pause_set(j->db, j->p, b8_eightx8_refusal_text(j->p, r))
                             : rv;
}

/* Tells the status page whether 8x8 answers (written only on a change). */
static void note_reach(job *j, const b8_http_response *res, const b8_send_result *r)
{
    if (r->unreachable || res->outcome == B8_HTTP_ANSWERED) {
        b8_eightx8_reach_note(j->db, j->p, !r->unreachable,
                              r->unreachable ? r->error_message : NULL);
    }
}

static apr_status_t write_single(job *j, const void *data)
{
    const b8_send_result *r = data;
    const char *now = b8_now_iso(j->p);
    apr_status_t rv;

    if (r->verdict == B8_SEND_ACCEPTED) {
        const char *args[] = { r->umid, now, now, j->ids[0] };
        rv = b8_db_exec(j->db, j->p, B8_SQL_SMS_ACCEPTED, args, NULL);
        return rv == APR_SUCCESS ? batch_progress(j, now) : rv;
    }
    return write_range(j, r);
}

typedef struct {
    b8_sms_batch_answer *answer;
    int queued, rejected, unclear;
} batch_outcome;

static apr_status_t write_item(job *j, int idx, const b8_sms_item *it, const char *now,
                               batch_outcome *o)
{
    switch (it->outcome) {
    case B8_SMS_ITEM_QUEUED: {
        const char *args[] = { it->umid, now, now, j->ids[idx] };
        o->queued++;
        return b8_db_exec(j->db, j->p, B8_SQL_SMS_ACCEPTED, args, NULL);
    }
    case B8_SMS_ITEM_REJECTED: {
        const char *args[] = { it->error_code, it->error_message, it->error_id, now,
                               j->ids[idx] };
        o->rejected++;
        return b8_db_exec(j->db, j->p, B8_SQL_SMS_FAILED, args, NULL);
    }
    default: {
        const char *args[] = { "8x8's answer did not say whether it took this SMS; it may have "
                               "been sent.", now, j->ids[idx] };
        o->unclear++;
        return b8_db_exec(j->db, j->p, B8_SQL_MESSAGE_SET_UNKNOWN, args, NULL);
    }
    }
}

/* Index of the chunk row an answer item names: by clientMessageId, else
 * by destination (a send has each number once). */
static int row_of(apr_hash_t *by_cmid, apr_hash_t *by_phone, const b8_sms_item *it)
{
    int *idx = it->client_message_id
        ? apr_hash_get(by_cmid, it->client_message_id, APR_HASH_KEY_STRING) : NULL;
    if (!idx && !it->client_message_id && it->phone) {
        idx = apr_hash_get(by_phone, it->phone, APR_HASH_KEY_STRING);
    }
    return idx ? *idx : -1;
}

/* Each message's UMID and state from the answer; rows it does not name may
 * have been sent: unknown. */
static apr_status_t write_batch(job *j, const void *data)
{
    batch_outcome *o = (batch_outcome *)data;
    const b8_sms_batch_answer *a = o->answer;
    const char *now = b8_now_iso(j->p);
    apr_hash_t *by_cmid = apr_hash_make(j->p), *by_phone = apr_hash_make(j->p);
    char *done = apr_pcalloc(j->p, (apr_size_t)j->n);
    int *slots = apr_palloc(j->p, sizeof(int) * (apr_size_t)j->n);
    apr_status_t rv = APR_SUCCESS;

    o->queued = o->rejected = o->unclear = 0;
    for (int i = 0; i < j->n; i++) {
        slots[i] = i;
        apr_hash_set(by_cmid, j->msgs[i].client_message_id, APR_HASH_KEY_STRING, &slots[i]);
        apr_hash_set(by_phone, j->msgs[i].phone, APR_HASH_KEY_STRING, &slots[i]);
    }
    for (int k = 0; k < a->nitems && rv == APR_SUCCESS; k++) {
        int idx = row_of(by_cmid, by_phone, &a->items[k]);
        if (idx >= 0 && !done[idx]) {
            done[idx] = 1;
            rv = write_item(j, idx, &a->items[k], now, o);
        }
    }
    /* Without a list, a full acceptance still says every row was taken. */
    if (!a->listed && a->accepted == j->n && a->rejected <= 0) {
        b8_sms_item taken = { B8_SMS_ITEM_QUEUED, NULL, NULL, NULL, NULL, NULL, NULL };
        for (int i = 0; i < j->n && rv == APR_SUCCESS; i++) {
            done[i] = 1;
            rv = write_item(j, i, &taken, now, o);
        }
    }
    for (int i = 0; i < j->n && rv == APR_SUCCESS; i++) {
        if (!done[i]) {
            b8_sms_item unclear = { B8_SMS_ITEM_UNCLEAR, NULL, NULL, NULL, NULL, NULL, NULL };
            rv = write_item(j, i, &unclear, now, o);
        }
    }
    return rv == APR_SUCCESS ? batch_progress(j, now) : rv;
}

/* ---------------------------------------------------------------- a step */

static void load_batch(job *j, const b8_rows *b)
{
    j->batch = B8_GET(b, 0, SMS_NEXT, id);
    j->sender = B8_GET(b, 0, SMS_NEXT, sender);
    j->tries.tries = atoi(B8_GET_OR(b, 0, SMS_NEXT, tries, "0"));
    j->tries.rate_limited = atoi(B8_GET_OR(b, 0, SMS_NEXT, rate_limited, "0"));
    j->total = atol(B8_GET_OR(b, 0, SMS_NEXT, total, "0"));
    if (!B8_GET(b, 0, SMS_NEXT, failing_since)
        || !b8_time_parse(B8_GET(b, 0, SMS_NEXT, failing_since), &j->tries.failing_since)) {
        j->tries.failing_since = 0;
    }
}

/* No pending row left: the send is done (rows a failed record left
 * 'sending' are settled first, so they cannot hold it open forever). */
static int finish_batch(job *j)
{
    const char *now = b8_now_iso(j->p);
    const char *args[] = { now, now, j->batch, j->batch };
    int n = 0, settled = 0, unknown = 0;

    if (b8_sms_sender_settle_stale(j->env->store, j->p, &settled, &unknown) != APR_SUCCESS
        || b8_db_exec(j->db, j->p, B8_SQL_SMS_BATCH_DONE, args, &n) != APR_SUCCESS) {
        B8_LOG(B8_LOG_ERR, 0, "B8-0805: cannot close SMS send %s: %s", j->batch,
               b8_db_error(j->db));
        return 0;
    }
    if (n > 0) {
        B8_LOG(B8_LOG_INFO, 0, "B8-0806: SMS send %s is done", j->batch);
    }
    return n > 0;
}

/* Marks the next chunk 'sending' (opted-out rows 'skipped') and commits.
 * Returns the rows claimed, 0 when none is pending, -1 on a database error. */
static int claim(job *j, int want, int *skipped)
{
    const char *args[] = { j->batch, apr_itoa(j->p, want) };
    const char *now = b8_now_iso(j->p);
    b8_rows *rows;
    int n = 0;

    *skipped = 0;
    if (b8_db_begin(j->db) != APR_SUCCESS) {
        return -1;
    }
    if (b8_db_select(j->db, j->p, B8_SQL_SMS_CLAIMABLE, args, &rows) != APR_SUCCESS) {
        goto failed;
    }
    j->ids = apr_palloc(j->p, sizeof(const char *) * (apr_size_t)(rows->nrows + 1));
    j->msgs = apr_palloc(j->p, sizeof(b8_sms_out) * (apr_size_t)(rows->nrows + 1));
    /* id, phone, body, client_message_id, opted_out now */
    for (int r = 0; r < rows->nrows; r++) {
        if (strcmp(B8_GET(rows, r, SMS_CLAIMABLE, opted_out), "0") != 0) {
            const char *sk[] = { "opted out", now, B8_GET(rows, r, SMS_CLAIMABLE, id) };
            if (b8_db_exec(j->db, j->p, B8_SQL_SMS_SKIP, sk, NULL) != APR_SUCCESS) {
                goto failed;
            }
            (*skipped)++;
            continue;
        }
        j->ids[n] = B8_GET(rows, r, SMS_CLAIMABLE, id);
        j->msgs[n].phone = B8_GET(rows, r, SMS_CLAIMABLE, phone);
        j->msgs[n].text = B8_GET(rows, r, SMS_CLAIMABLE, body);
        j->msgs[n].client_message_id = B8_GET(rows, r, SMS_CLAIMABLE, client_message_id);
        n++;
    }
    j->n = n;
    if (n > 0) {
        const char *mark[] = { now, j->batch, j->ids[0], j->ids[n - 1] };
        const char *sending[] = { now, now, j->batch };
        int marked = 0;
        j->first = j->ids[0];
        j->last = j->ids[n - 1];
        if (b8_db_exec(j->db, j->p, B8_SQL_SMS_MARK_RANGE, mark, &marked) != APR_SUCCESS
            || marked != n
            || b8_db_exec(j->db, j->p, B8_SQL_SMS_BATCH_SENDING, sending, NULL) != APR_SUCCESS) {
            goto failed;
        }
    }
    /* Crash safety: 'sending' is durable before the request goes out. */
    if (b8_db_commit(j->db) != APR_SUCCESS) {
        goto failed;
    }
    return rows->nrows;

failed:
    B8_LOG(B8_LOG_ERR, 0, "B8-0807: cannot claim SMS of send %s: %s", j->batch,
           b8_db_error(j->db));
    b8_db_rollback(j->db);
    return -1;
}

static void log_verdict(job *j, const b8_send_result *r)
{
    if (r->verdict == B8_SEND_RETRY) {
        B8_LOG(B8_LOG_INFO, 0, "B8-0808: SMS send %s: %d SMS not taken (HTTP %ld: %s); again in "
               "%.1f s", j->batch, j->n, r->http_status, r->error_message,
               (double)r->retry_in / APR_USEC_PER_SEC);
    }
    else if (r->verdict == B8_SEND_FAILED) {
        B8_LOG(B8_LOG_WARNING, 0, "B8-0809: SMS send %s: %d SMS failed (HTTP %ld, code %s): %s",
               j->batch, j->n, r->http_status, r->error_code ? r->error_code : "-",
               r->error_message);
    }
    else if (r->verdict == B8_SEND_UNKNOWN) {
        B8_LOG(B8_LOG_WARNING, 0, "B8-0810: SMS send %s: %d SMS unknown: %s", j->batch, j->n,
               r->error_message);
    }
    else if (r->verdict == B8_SEND_ACCOUNT) {
        B8_LOG(B8_LOG_WARNING, 0, "B8-4202: SMS sending paused: 8x8 refused the account (HTTP "
               "%ld, code %s): %s; send %s waits until the settings change or an admin resumes",
               r->http_status, r->error_code ? r->error_code : "-", r->error_message, j->batch);
    }
}

static void send_single(job *j, b8_http_client *client)
{
    cJSON *body = b8_json_pool_owned(j->p, b8_eightx8_sms_single_body(j->sender, &j->msgs[0]));
    b8_http_request req;
    b8_http_response res;
    b8_send_result r;

    b8_eightx8_sms_request(j->p, &j->conf, 0, b8_json_print(j->p, body), &req);
    b8_http_perform(client, j->p, &req, &res);
    b8_metrics_eightx8(B8_API_SMS, res.status);
    b8_eightx8_sms_classify_single(j->p, &res, &j->tries, &r);
    log_verdict(j, &r);
    note_reach(j, &res, &r);
    record(j, r.verdict == B8_SEND_RETRY ? write_retry
              : r.verdict == B8_SEND_ACCOUNT ? write_account : write_single, &r);
}

static void send_batch(job *j, b8_http_client *client)
{
    cJSON *body = b8_json_pool_owned(j->p, b8_eightx8_sms_batch_body(j->sender, j->msgs, j->n,
                                     b8_eightx8_sms_client_batch_id(j->p, j->first)));
    b8_http_request req;
    b8_http_response res;
    b8_send_result r;
    b8_sms_batch_answer answer;
    batch_outcome o;

    b8_eightx8_sms_request(j->p, &j->conf, 1, b8_json_print(j->p, body), &req);
    b8_http_perform(client, j->p, &req, &res);
    b8_metrics_eightx8(B8_API_SMS_BATCH, res.status);
    b8_eightx8_classify(j->p, &res, &j->tries, &r);
    log_verdict(j, &r);
    note_reach(j, &res, &r);
    if (r.verdict == B8_SEND_RETRY) {
        record(j, write_retry, &r);
        return;
    }
    if (r.verdict == B8_SEND_ACCOUNT) {
        record(j, write_account, &r);
        return;
    }
    if (r.verdict != B8_SEND_ACCEPTED) {
        record(j, write_range, &r);
        return;
    }
    if (res.truncated || b8_eightx8_sms_parse_batch(j->p, res.body, res.body_len, &answer) != 0) {
        r.verdict = B8_SEND_UNKNOWN;
        r.error_message = "8x8 took the batch but its answer could not be read; the SMS may "
                          "have been sent.";
        log_verdict(j, &r);
        record(j, write_range, &r);
        return;
    }
    memset(&o, 0, sizeof(o));
    o.answer = &answer;
    record(j, write_batch, &o);
    B8_LOG(B8_LOG_INFO, 0, "B8-0811: SMS send %s: %d SMS sent in %.2f s: %d queued, %d rejected, "
           "%d unclear", j->batch, j->n, (double)res.elapsed / APR_USEC_PER_SEC, o.queued,
           o.rejected, o.unclear);
}

/* Once a minute when idle: a composer that died half-way (its send still
 * 'composing' after ten minutes) never gets its rows sent later. */
static void clean_abandoned(job *j)
{
    static apr_time_t last;
    apr_time_t now = apr_time_now();
    const char *at = b8_now_iso(j->p), *before = b8_time_iso(j->p, now - ABANDONED_AFTER);
    const char *rows_args[] = { "The send was never completed (the request that composed it "
                                "failed).", at, before };
    const char *batch_args[] = { at, before };
    int n = 0;

    if (now - last < CLEANUP_EVERY) {
        return;
    }
    last = now;
    if (b8_db_begin(j->db) != APR_SUCCESS) {
        return;
    }
    if (b8_db_exec(j->db, j->p, B8_SQL_SMS_ABANDON_ROWS, rows_args, NULL) != APR_SUCCESS
        || b8_db_exec(j->db, j->p, B8_SQL_SMS_ABANDON_BATCHES, batch_args, &n) != APR_SUCCESS
        || b8_db_commit(j->db) != APR_SUCCESS) {
        b8_db_rollback(j->db);
        return;
    }
    if (n > 0) {
        B8_LOG(B8_LOG_NOTICE, 0, "B8-0812: %d SMS send(s) left half-composed were cancelled", n);
    }
}

/* Says once (until it changes) why nothing is sent. */
static void log_conf_error(const char *why)
{
    static char logged[256];
    if (why && strcmp(why, logged) != 0) {
        B8_LOG(B8_LOG_WARNING, 0, "B8-0813: SMS sends wait, nothing is sent: %s", why);
        apr_cpystrn(logged, why, sizeof(logged));
    }
    else if (!why && logged[0]) {
        B8_LOG(B8_LOG_NOTICE, 0, "B8-0814: SMS settings complete: sending resumes");
        logged[0] = '\0';
    }
}

int b8_sms_sender_step(apr_pool_t *p, const b8_sms_sender_env *env, apr_time_t *next_at)
{
    job j;
    const b8_settings *saved = NULL;
    b8_rows *b;
    b8_http_client *client;
    apr_time_t due;
    int skipped = 0, got;

    *next_at = 0;
    memset(&j, 0, sizeof(j));
    j.p = p;
    j.env = env;
    if (!settle_once(env, p) || b8_db_get(env->store, p, &j.db) != APR_SUCCESS) {
        *next_at = apr_time_now() + apr_time_from_sec(1);
        return 0;
    }
    if (b8_db_select(j.db, p, B8_SQL_SMS_NEXT_BATCH, NULL, &b) != APR_SUCCESS) {
        *next_at = apr_time_now() + apr_time_from_sec(1);
        return 0;
    }
    if (b->nrows == 0) {
        clean_abandoned(&j);
        return 0;
    }
    load_batch(&j, b);
    {
        /* Paused by an account refusal: nothing is sent until a settings
         * save or an admin's resume (both wake the worker). */
        const char *reason = NULL;
        if (b8_sms_pause_get(j.db, p, &reason, NULL) != APR_SUCCESS) {
            *next_at = apr_time_now() + apr_time_from_sec(1);
            return 0;
        }
        if (reason) {
            return 0;
        }
    }
    /* A 429 or a backoff holds every send: 8x8's limit is the account's. */
    if (B8_GET(b, 0, SMS_NEXT, next_at) && b8_time_parse(B8_GET(b, 0, SMS_NEXT, next_at), &due)
        && due > apr_time_now()) {
        *next_at = due;
        return 0;
    }
    if (b8_settings_cache_get(env->settings, j.db, p, &saved) != APR_SUCCESS) {
        *next_at = apr_time_now() + apr_time_from_sec(1);
        return 0;
    }
    {
        const char *why = b8_eightx8_sms_conf_load(p, saved, &j.conf);
        log_conf_error(why);
        if (why) {
            return 0;   /* settings changes wake the worker */
        }
    }
    if (!(client = b8_http_thread_client())) {
        *next_at = apr_time_now() + apr_time_from_sec(1);
        return 0;
    }
    got = claim(&j, j.total == 1 ? 1 : B8_SMS_BATCH_MAX, &skipped);
    if (got < 0) {
        *next_at = apr_time_now() + apr_time_from_sec(1);
        return 0;
    }
    if (got == 0) {
        return finish_batch(&j);
    }
    if (skipped) {
        B8_LOG(B8_LOG_INFO, 0, "B8-0815: SMS send %s: %d opted-out recipient(s) skipped",
               j.batch, skipped);
    }
    if (j.n == 0) {
        return 1;
    }
    if (j.total == 1 && j.n == 1) {
        send_single(&j, client);
    }
    else {
        send_batch(&j, client);
    }
    return 1;
}
