#include "b8_runtime.h"
#include "b8_states.h"
#include "b8_util.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

apr_status_t b8_runtime_get(b8_db *db, apr_pool_t *p, const char *key,
                            const char **value, const char **updated_at)
{
    b8_rows *rows;
    const char *args[] = { key };
    apr_status_t rv = b8_db_select(db, p, B8_SQL_RUNTIME_GET, args, &rows);

    if (rv == APR_SUCCESS) {
        *value = rows->nrows ? B8_GET(rows, 0, RUNTIME, value) : NULL;
        if (updated_at) {
            *updated_at = rows->nrows ? B8_GET(rows, 0, RUNTIME, updated_at) : NULL;
        }
    }
    return rv;
}

apr_status_t b8_runtime_put(b8_db *db, apr_pool_t *p, const char *key, const char *value)
{
    const char *args[] = { key, value, b8_now_iso(p) };
    return b8_db_exec(db, p, B8_SQL_RUNTIME_PUT, args, NULL);
}

const char *b8_worker_key(apr_pool_t *p, const char *node)
{
    return apr_pstrcat(p, "worker:", node, NULL);
}

static int pid_alive(long pid)
{
    return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

/* ------------------------------------------- 8x8 reachability, SMS pause */

#define REACH_KEY "eightx8"
#define SMS_PAUSE_KEY "sms_pause"

static pthread_mutex_t reach_lock = PTHREAD_MUTEX_INITIALIZER;
static int reach_known = -1;     /* this process's last written state */

apr_status_t b8_eightx8_reach_note(b8_db *db, apr_pool_t *p, int reachable, const char *error)
{
    cJSON *o;
    apr_status_t rv;
    int changed;

    pthread_mutex_lock(&reach_lock);
    changed = reach_known != reachable;
    reach_known = reachable;
    pthread_mutex_unlock(&reach_lock);
    if (!changed) {
        return APR_SUCCESS;   /* only a change is written: no write per message */
    }
    o = b8_json_object(p);
    cJSON_AddBoolToObject(o, "reachable", reachable);
    b8_json_add_str(o, "last_error", error);
    cJSON_AddStringToObject(o, "since", b8_now_iso(p));
    rv = b8_runtime_put(db, p, REACH_KEY, b8_json_print(p, o));
    if (rv != APR_SUCCESS) {
        pthread_mutex_lock(&reach_lock);
        reach_known = -1;     /* written next time */
        pthread_mutex_unlock(&reach_lock);
    }
    return rv;
}

apr_status_t b8_sms_pause_set(b8_db *db, apr_pool_t *p, const char *reason)
{
    const char *value = "";

    if (reason) {
        cJSON *o = b8_json_object(p);
        cJSON_AddStringToObject(o, "reason", reason);
        cJSON_AddStringToObject(o, "since", b8_now_iso(p));
        value = b8_json_print(p, o);
    }
    else {
        const char *now = NULL;
        /* Nothing to clear: no write (a settings save is not slowed). */
        if (b8_runtime_get(db, p, SMS_PAUSE_KEY, &now, NULL) == APR_SUCCESS
            && (!now || !*now)) {
            return APR_SUCCESS;
        }
    }
    return b8_runtime_put(db, p, SMS_PAUSE_KEY, value);
}

apr_status_t b8_sms_pause_get(b8_db *db, apr_pool_t *p, const char **reason, const char **since)
{
    const char *value = NULL;
    apr_status_t rv = b8_runtime_get(db, p, SMS_PAUSE_KEY, &value, NULL);

    *reason = NULL;
    if (since) {
        *since = NULL;
    }
    if (rv == APR_SUCCESS && value && *value) {
        cJSON *o = b8_json_parse(p, value, strlen(value));
        const char *r = b8_json_str(o, "reason"), *s = b8_json_str(o, "since");
        *reason = apr_pstrdup(p, r ? r : "8x8 refused the account");
        if (since && s) {
            *since = apr_pstrdup(p, s);
        }
    }
    return rv;
}

cJSON *b8_status_json(b8_ctx *ctx, const char *node, int worker_enabled)
{
    cJSON *out = cJSON_CreateObject(), *worker = cJSON_CreateObject(), *crons = cJSON_CreateObject();
    const char *value = NULL, *when;
    cJSON *beat = NULL;
    const cJSON *active;
    static const char *const names[] = { "send_queued", "check_umids", NULL };

    if (worker_enabled
        && b8_runtime_get(ctx->db, ctx->pool, b8_worker_key(ctx->pool, node), &value, NULL)
               == APR_SUCCESS && value) {
        beat = b8_json_parse(ctx->pool, value, strlen(value));
    }
    if (beat) {
        const cJSON *pid = cJSON_GetObjectItemCaseSensitive(beat, "pid");
        long p = cJSON_IsNumber(pid) ? (long)pid->valuedouble : 0;
        cJSON_AddBoolToObject(worker, "running", pid_alive(p));
        cJSON_AddNumberToObject(worker, "pid", (double)p);
        /* Several servers: this server's worker holds the sender lease. */
        active = cJSON_GetObjectItemCaseSensitive(beat, "active");
        cJSON_AddBoolToObject(worker, "active", pid_alive(p) && cJSON_IsTrue(active));
        b8_json_add_str(worker, "started_at", b8_json_str(beat, "started_at"));
        b8_json_add_str(worker, "last_tick", b8_json_str(beat, "last_tick"));
    }
    else {
        cJSON_AddBoolToObject(worker, "running", 0);
        cJSON_AddNullToObject(worker, "pid");
        cJSON_AddBoolToObject(worker, "active", 0);
        cJSON_AddNullToObject(worker, "started_at");
        cJSON_AddNullToObject(worker, "last_tick");
    }
    cJSON_AddBoolToObject(worker, "enabled", worker_enabled);
    cJSON_AddItemToObject(out, "worker", worker);
    for (int i = 0; names[i]; i++) {
        cJSON *c = cJSON_CreateObject();
        value = NULL;
        b8_runtime_get(ctx->db, ctx->pool, apr_pstrcat(ctx->pool, "cron:", names[i], NULL),
                       &value, &when);
        b8_json_add_str(c, "last_run", value);
        cJSON_AddItemToObject(crons, names[i], c);
    }
    cJSON_AddItemToObject(out, "crons", crons);
    {
        /* 8x8 as the senders last found it; reachable until they say not. */
        cJSON *reach = NULL, *sms = cJSON_CreateObject();
        const char *since = NULL, *reason = NULL;
        value = NULL;
        if (b8_runtime_get(ctx->db, ctx->pool, REACH_KEY, &value, NULL) == APR_SUCCESS && value) {
            reach = cJSON_Parse(value);
        }
        if (!cJSON_IsObject(reach)) {
            cJSON_Delete(reach);
            reach = cJSON_CreateObject();
            cJSON_AddBoolToObject(reach, "reachable", 1);
            cJSON_AddNullToObject(reach, "last_error");
            cJSON_AddNullToObject(reach, "since");
        }
        cJSON_AddItemToObject(out, "eightx8", reach);
        b8_sms_pause_get(ctx->db, ctx->pool, &reason, &since);
        cJSON_AddBoolToObject(sms, "paused", reason != NULL);
        b8_json_add_str(sms, "reason", reason);
        b8_json_add_str(sms, "since", since);
        cJSON_AddItemToObject(out, "sms", sms);
    }
    cJSON_AddStringToObject(out, "version", B8_VERSION);
    return out;
}

/* state -> count rows into an object (every key of `keys` present). */
static cJSON *count_by(b8_ctx *ctx, b8_sql_id q, const char *const *keys)
{
    cJSON *o = cJSON_CreateObject();
    b8_rows *rows;
    long total = 0;

    for (int i = 0; keys[i]; i++) {
        cJSON_AddNumberToObject(o, keys[i], 0);
    }
    if (b8_db_select(ctx->db, ctx->pool, q, NULL, &rows) == APR_SUCCESS) {
        for (int i = 0; i < rows->nrows; i++) {
            const char *k = B8_GET(rows, i, STATE_COUNT, state);
            long n = B8_GET(rows, i, STATE_COUNT, n) ? atol(B8_GET(rows, i, STATE_COUNT, n)) : 0;
            cJSON *item = k ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
            if (item) {
                cJSON_SetNumberValue(item, (double)n);
            }
            total += n;
        }
    }
    cJSON_AddNumberToObject(o, "total", (double)total);
    return o;
}

static double single_count(b8_ctx *ctx, b8_sql_id q, const char *const *args)
{
    const char *v = NULL;
    return b8_db_value(ctx->db, ctx->pool, q, args, &v) == APR_SUCCESS && v ? atof(v) : 0;
}

cJSON *b8_dashboard_json(b8_ctx *ctx)
{
    static const char *const ai_states[] = { "new", "not_answered", "answering", "answered",
                                             "failed", "skipped", NULL };
    cJSON *o = cJSON_CreateObject();
    const char *since[] = { b8_time_iso(ctx->pool, apr_time_now() - apr_time_from_sec(86400)) };
    b8_rows *rows;

    cJSON_AddItemToObject(o, "campaigns", count_by(ctx, B8_SQL_DASH_CAMPAIGNS,
                                                         b8_campaign_states));
    cJSON_AddItemToObject(o, "inbound", count_by(ctx, B8_SQL_DASH_INBOUND, ai_states));
    cJSON_AddNumberToObject(o, "leads_unclaimed", single_count(ctx, B8_SQL_DASH_LEADS_OPEN, NULL));
    cJSON_AddNumberToObject(o, "sms_24h", single_count(ctx, B8_SQL_DASH_SMS_SINCE, since));
    if (b8_db_select(ctx->db, ctx->pool, B8_SQL_DASH_CONTACTS, NULL, &rows) == APR_SUCCESS
        && rows->nrows == 1) {
        cJSON_AddNumberToObject(o, "contacts", B8_GET(rows, 0, DASH_CONTACTS, contacts)
                                ? atof(B8_GET(rows, 0, DASH_CONTACTS, contacts)) : 0);
        cJSON_AddNumberToObject(o, "opted_out", B8_GET(rows, 0, DASH_CONTACTS, opted_out)
                                ? atof(B8_GET(rows, 0, DASH_CONTACTS, opted_out)) : 0);
    }
    {
        /* Campaigns an account refusal paused, with 8x8's reason. */
        cJSON *paused = cJSON_AddArrayToObject(o, "refused");
        if (b8_db_select(ctx->db, ctx->pool, B8_SQL_DASH_REFUSED, NULL, &rows) == APR_SUCCESS) {
            for (int i = 0; i < rows->nrows; i++) {
                cJSON *c = cJSON_CreateObject();
                b8_json_add_int(c, "id", B8_GET(rows, i, REFUSED, id));
                b8_json_add_str(c, "name", B8_GET(rows, i, REFUSED, name));
                b8_json_add_str(c, "pause_reason", B8_GET(rows, i, REFUSED, pause_reason));
                cJSON_AddItemToArray(paused, c);
            }
        }
    }
    return o;
}
