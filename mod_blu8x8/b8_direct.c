/* The direct lane: outbound Viber messages that are not campaign rows
 * (confirmations, AI replies, agent pings), sent one at a time by their own
 * thread as soon as they are queued. Same crash rule as the campaign sender:
 * 'sending' is committed before the request. */
#include "b8_sender.h"
#include "b8_metrics.h"
#include "b8_core.h"
#include "b8_eightx8.h"
#include "b8_http.h"
#include "b8_log.h"
#include "b8_runtime.h"
#include "b8_util.h"

#include <string.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>

#define DIRECT_POLL apr_time_from_msec(500)
#define DIRECT_BATCH "20"
#define CONF_WAIT apr_time_from_sec(5)

struct b8_direct {
    apr_pool_t *pool;
    b8_store *store;
    b8_settings_cache *settings;
    b8_http_client *client;
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *changed;
    int stop, woken;
    char logged_error[256];
};

apr_status_t b8_direct_create(apr_pool_t *p, b8_store *st, b8_settings_cache *settings,
                              b8_direct **out)
{
    b8_direct *d = apr_pcalloc(p, sizeof(*d));
    apr_status_t rv;

    /* Its own root pool: only the lane's thread allocates from it. */
    if ((rv = apr_pool_create_unmanaged(&d->pool)) != APR_SUCCESS) {
        return rv;
    }
    d->store = st;
    d->settings = settings;
    if ((rv = apr_thread_mutex_create(&d->lock, APR_THREAD_MUTEX_DEFAULT, p)) != APR_SUCCESS
        || (rv = apr_thread_cond_create(&d->changed, p)) != APR_SUCCESS) {
        return rv;
    }
    if (!(d->client = b8_http_client_create())) {
        return APR_ENOMEM;
    }
    *out = d;
    return APR_SUCCESS;
}

void b8_direct_destroy(b8_direct *d)
{
    if (d && d->client) {
        b8_http_client_destroy(d->client);
        d->client = NULL;
    }
    if (d && d->pool) {
        apr_pool_destroy(d->pool);
        d->pool = NULL;
    }
}

static void signal_flag(b8_direct *d, int *flag)
{
    apr_thread_mutex_lock(d->lock);
    *flag = 1;
    apr_thread_cond_broadcast(d->changed);
    apr_thread_mutex_unlock(d->lock);
}

void b8_direct_wake(b8_direct *d)
{
    signal_flag(d, &d->woken);
}

void b8_direct_stop(b8_direct *d)
{
    signal_flag(d, &d->stop);
}

/* Sleeps until the deadline or stop (and a wake-up, when wake_ends);
 * returns 0 when stopping. */
static int wait_until(b8_direct *d, apr_time_t deadline, int wake_ends)
{
    int go_on;

    apr_thread_mutex_lock(d->lock);
    while (!d->stop && !(wake_ends && d->woken)) {
        apr_time_t now = apr_time_now();
        if (now >= deadline) {
            break;
        }
        apr_thread_cond_timedwait(d->changed, d->lock, deadline - now);
    }
    if (wake_ends) {
        d->woken = 0;
    }
    go_on = !d->stop;
    apr_thread_mutex_unlock(d->lock);
    return go_on;
}

static int stopping(b8_direct *d)
{
    int s;
    apr_thread_mutex_lock(d->lock);
    s = d->stop;
    apr_thread_mutex_unlock(d->lock);
    return s;
}

static apr_status_t record(b8_db *db, apr_pool_t *p, const char *id, const b8_send_result *r,
                           int requests)
{
    const char *now = b8_now_iso(p);
    const char *extra = apr_itoa(p, requests > 1 ? requests - 1 : 0);

    if (r->verdict == B8_SEND_ACCEPTED) {
        const char *args[] = { r->umid, now, now, extra, id };
        return b8_db_exec(db, p, B8_SQL_SEND_ACCEPTED, args, NULL);
    }
    if (r->verdict == B8_SEND_UNKNOWN) {
        const char *args[] = { r->error_message, now, extra, id };
        return b8_db_exec(db, p, B8_SQL_SEND_UNKNOWN, args, NULL);
    }
    {
        const char *args[] = { r->error_code, r->error_message, r->error_id, now, extra, id };
        return b8_db_exec(db, p, B8_SQL_SEND_FAILED, args, NULL);
    }
}

/* One row: mark it 'sending' (committed), send with retries, record. */
static void send_one(b8_direct *d, apr_pool_t *p, b8_db *db, const b8_eightx8_conf *conf,
                     b8_rows *rows, int r)
{
    const char *id = B8_GET(rows, r, DIRECT, id), *phone = B8_GET(rows, r, DIRECT, phone);
    const char *mark[] = { b8_now_iso(p), id };
    b8_send_tries tries = { 0, 0, 0 };
    b8_send_result res;
    b8_http_request req;
    cJSON *msg;
    int n = 0, requests = 0;

    if (b8_db_exec(db, p, B8_SQL_SEND_MARK, mark, &n) != APR_SUCCESS || n != 1) {
        return;   /* taken by someone else, or the database is unwell: next round */
    }
    msg = b8_json_pool_owned(p, b8_eightx8_text_message(phone,
                                 B8_GET(rows, r, DIRECT, client_message_id),
                                 B8_GET(rows, r, DIRECT, body),
                                 B8_GET(rows, r, DIRECT, button_caption),
                                 B8_GET(rows, r, DIRECT, button_url)));
    b8_eightx8_request(p, conf, b8_json_print(p, msg), &req);
    for (;;) {
        b8_http_response http;
        requests++;
        b8_http_perform(d->client, p, &req, &http);
        b8_metrics_eightx8(B8_API_CHATAPPS, http.status);
        b8_eightx8_classify(p, &http, &tries, &res);
        if (res.verdict != B8_SEND_RETRY) {
            break;
        }
        if (!wait_until(d, apr_time_now() + res.retry_in, 0)) {
            /* Stopping mid-retry: the row stays 'sending', settled at the next start. */
            return;
        }
    }
    if (record(db, p, id, &res, requests) != APR_SUCCESS) {
        B8_LOG(B8_LOG_ERR, 0, "B8-1441: cannot record the send of %s message %s: %s",
               B8_GET(rows, r, DIRECT, kind), id, b8_db_error(db));
        return;
    }
    B8_LOG(res.verdict == B8_SEND_ACCEPTED ? B8_LOG_DEBUG : B8_LOG_WARNING, 0,
           "B8-1442: %s message %s to %s: %s", B8_GET(rows, r, DIRECT, kind), id, phone,
           res.verdict == B8_SEND_ACCEPTED ? "accepted by 8x8"
           : res.error_message ? res.error_message : "not sent");
}

void b8_direct_run(b8_direct *d)
{
    apr_pool_t *iter, *one;

    apr_pool_create(&iter, d->pool);
    apr_pool_tag(iter, "blu8x8-direct");
    while (!stopping(d)) {
        const b8_settings *saved = NULL;
        b8_eightx8_conf conf;
        const char *why;
        const char *args[] = { DIRECT_BATCH };
        b8_rows *rows = NULL;
        b8_db *db;

        apr_pool_clear(iter);
        if (b8_db_get(d->store, iter, &db) != APR_SUCCESS
            || b8_settings_cache_get(d->settings, db, iter, &saved) != APR_SUCCESS
            || b8_db_select(db, iter, B8_SQL_DIRECT_NEXT, args, &rows) != APR_SUCCESS) {
            wait_until(d, apr_time_now() + DIRECT_POLL * 2, 1);
            continue;
        }
        if (rows->nrows == 0) {
            wait_until(d, apr_time_now() + DIRECT_POLL, 1);
            continue;
        }
        if ((why = b8_eightx8_conf_load(iter, saved, &conf)) != NULL) {
            if (strcmp(why, d->logged_error) != 0) {
                B8_LOG(B8_LOG_WARNING, 0, "B8-1443: replies and confirmations wait: %s", why);
                apr_cpystrn(d->logged_error, why, sizeof(d->logged_error));
            }
            wait_until(d, apr_time_now() + CONF_WAIT, 1);
            continue;
        }
        d->logged_error[0] = '\0';
        apr_pool_create(&one, iter);
        for (int r = 0; r < rows->nrows && !stopping(d); r++) {
            apr_pool_clear(one);
            send_one(d, one, db, &conf, rows, r);
        }
    }
    apr_pool_destroy(iter);
}
