#include "b8_metrics.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_tables.h>

#define MAX_STATUS 600   /* HTTP statuses 100..599; 0 = no answer */

/* OpenAI request seconds: upper bounds of the histogram's buckets (a
 * reply takes from under a second to the 30 s timeout and its retries). */
static const double openai_bounds[] = { 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60 };
#define OPENAI_BUCKETS (sizeof(openai_bounds) / sizeof(openai_bounds[0]))

/* The shared block: plain counters, changed with atomic adds only. */
typedef struct {
    apr_uint64_t webhook[MAX_STATUS];
    apr_uint64_t eightx8[B8_API_COUNT][MAX_STATUS];
    apr_uint64_t openai_bucket[OPENAI_BUCKETS + 1];   /* last: above every bound */
    apr_uint64_t openai_sum_us;
    apr_uint64_t worker_pid;
    apr_uint64_t worker_beat_us;       /* apr_time_t of the last beat */
    apr_uint64_t worker_interval_us;
    apr_uint64_t sender_active;
} shared_counters;

static shared_counters *shm;

static const char *const api_names[B8_API_COUNT] = { "chatapps", "sms", "sms_batch" };

apr_size_t b8_metrics_size(void)
{
    return sizeof(shared_counters);
}

void b8_metrics_attach(void *mem)
{
    __atomic_store_n(&shm, (shared_counters *)mem, __ATOMIC_RELEASE);
}

static shared_counters *counters(void)
{
    return __atomic_load_n(&shm, __ATOMIC_ACQUIRE);
}

static void add(apr_uint64_t *v, apr_uint64_t n)
{
    __atomic_fetch_add(v, n, __ATOMIC_RELAXED);
}

static apr_uint64_t get(const apr_uint64_t *v)
{
    return __atomic_load_n(v, __ATOMIC_RELAXED);
}

static int status_index(long status)
{
    return status >= 100 && status < MAX_STATUS ? (int)status : 0;
}

void b8_metrics_webhook(int status)
{
    shared_counters *c = counters();
    if (c) {
        add(&c->webhook[status_index(status)], 1);
    }
}

void b8_metrics_eightx8(b8_api api, long status)
{
    shared_counters *c = counters();
    if (c && api >= 0 && api < B8_API_COUNT) {
        add(&c->eightx8[api][status_index(status)], 1);
    }
}

void b8_metrics_openai(apr_interval_time_t elapsed)
{
    shared_counters *c = counters();
    double secs = (double)elapsed / APR_USEC_PER_SEC;
    apr_size_t i = 0;

    if (!c) {
        return;
    }
    if (elapsed < 0) {
        elapsed = 0;
    }
    while (i < OPENAI_BUCKETS && secs > openai_bounds[i]) {
        i++;
    }
    add(&c->openai_bucket[i], 1);
    add(&c->openai_sum_us, (apr_uint64_t)elapsed);
}

void b8_metrics_worker_beat(long pid, int sender_active, apr_interval_time_t interval)
{
    shared_counters *c = counters();
    if (c) {
        __atomic_store_n(&c->worker_pid, (apr_uint64_t)pid, __ATOMIC_RELAXED);
        __atomic_store_n(&c->worker_interval_us, (apr_uint64_t)interval, __ATOMIC_RELAXED);
        __atomic_store_n(&c->sender_active, (apr_uint64_t)(sender_active != 0), __ATOMIC_RELAXED);
        __atomic_store_n(&c->worker_beat_us, (apr_uint64_t)apr_time_now(), __ATOMIC_RELEASE);
    }
}

/* ------------------------------------------------------------ rendering */

typedef struct {
    apr_pool_t *p;
    apr_array_header_t *out;
} writer;

static void put(writer *w, const char *s)
{
    APR_ARRAY_PUSH(w->out, const char *) = s;
}

static void family(writer *w, const char *name, const char *type, const char *help)
{
    put(w, apr_psprintf(w->p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type));
}

/* A label value as the format wants it: \, " and newline escaped. */
static const char *label(apr_pool_t *p, const char *v)
{
    char *out, *o;
    if (!strpbrk(v, "\\\"\n")) {
        return v;
    }
    o = out = apr_palloc(p, strlen(v) * 2 + 1);
    for (; *v; v++) {
        if (*v == '\\' || *v == '"') {
            *o++ = '\\';
            *o++ = *v;
        }
        else if (*v == '\n') {
            *o++ = '\\';
            *o++ = 'n';
        }
        else {
            *o++ = *v;
        }
    }
    *o = '\0';
    return out;
}

static void sample_u(writer *w, const char *name, const char *labels, apr_uint64_t v)
{
    put(w, apr_psprintf(w->p, "%s%s%s%s %" APR_UINT64_T_FMT "\n", name, labels ? "{" : "",
                        labels ? labels : "", labels ? "}" : "", v));
}

static void sample_text(writer *w, const char *name, const char *labels, const char *v)
{
    put(w, apr_psprintf(w->p, "%s%s%s%s %s\n", name, labels ? "{" : "", labels ? labels : "",
                        labels ? "}" : "", v));
}

/* The states a message reaches after pending: each is listed (at 0 until
 * it happens) so that rate() and alerts find their series from the start. */
static const char *const message_states[] = {
    "sending", "queued", "sent", "delivered", "read", "failed", "undelivered", "unknown",
    "skipped", "cancelled", NULL
};
static const char *const channels[] = { "viber", "sms", NULL };

static int render_messages(writer *w, b8_db *db)
{
    b8_rows *rows;
    apr_hash_t *seen = apr_hash_make(w->p);

    if (b8_db_select(db, w->p, B8_SQL_METRICS_MESSAGES, NULL, &rows) != APR_SUCCESS) {
        return 0;
    }
    family(w, "blu8x8_messages_total", "counter",
           "Messages that reached each state, per channel (every server on the database; "
           "pending is not counted, see blu8x8_queue_depth).");
    for (int r = 0; r < rows->nrows; r++) {
        const char *ch = B8_GET(rows, r, METRIC_STATE, channel);
        const char *st = B8_GET(rows, r, METRIC_STATE, state);
        const char *n = B8_GET(rows, r, METRIC_STATE, n);
        const char *key;
        if (!ch || !st) {
            continue;
        }
        key = apr_pstrcat(w->p, ch, "\n", st, NULL);
        apr_hash_set(seen, key, APR_HASH_KEY_STRING, "");
        sample_text(w, "blu8x8_messages_total",
                    apr_psprintf(w->p, "channel=\"%s\",state=\"%s\"", label(w->p, ch),
                                 label(w->p, st)),
                    n && *n ? apr_psprintf(w->p, "%" APR_INT64_T_FMT, apr_atoi64(n)) : "0");
    }
    for (int c = 0; channels[c]; c++) {
        for (int s = 0; message_states[s]; s++) {
            const char *key = apr_pstrcat(w->p, channels[c], "\n", message_states[s], NULL);
            if (!apr_hash_get(seen, key, APR_HASH_KEY_STRING)) {
                sample_u(w, "blu8x8_messages_total",
                         apr_psprintf(w->p, "channel=\"%s\",state=\"%s\"", channels[c],
                                      message_states[s]), 0);
            }
        }
    }
    return 1;
}

static apr_int64_t one_value(writer *w, b8_db *db, b8_sql_id id, int *ok)
{
    const char *v = NULL;
    if (b8_db_value(db, w->p, id, NULL, &v) != APR_SUCCESS) {
        *ok = 0;
        return 0;
    }
    return v ? apr_atoi64(v) : 0;
}

static int render_queues(writer *w, b8_db *db)
{
    static const char *const lanes[] = { "campaign", "direct", "sms", "ai", NULL };
    apr_int64_t depth[4] = { 0, 0, 0, 0 };
    b8_rows *rows;
    int ok = 1;

    if (b8_db_select(db, w->p, B8_SQL_METRICS_QUEUES, NULL, &rows) != APR_SUCCESS) {
        return 0;
    }
    for (int r = 0; r < rows->nrows; r++) {
        const char *lane = B8_GET(rows, r, METRIC_LANE, lane);
        const char *n = B8_GET(rows, r, METRIC_LANE, n);
        for (int i = 0; lane && lanes[i]; i++) {
            if (strcmp(lane, lanes[i]) == 0) {
                depth[i] = n ? apr_atoi64(n) : 0;
            }
        }
    }
    depth[0] = one_value(w, db, B8_SQL_METRICS_CAMPAIGN_QUEUE, &ok);
    depth[3] = one_value(w, db, B8_SQL_METRICS_AI_QUEUE, &ok);
    if (!ok) {
        return 0;
    }
    family(w, "blu8x8_queue_depth", "gauge",
           "Messages waiting to be sent, per lane: campaign (recipients of campaigns being "
           "sent), direct (replies, confirmations, agent pings), sms, ai (inbound texts "
           "waiting for an AI reply). Every server on the database.");
    for (int i = 0; lanes[i]; i++) {
        sample_text(w, "blu8x8_queue_depth", apr_psprintf(w->p, "lane=\"%s\"", lanes[i]),
                    apr_psprintf(w->p, "%" APR_INT64_T_FMT, depth[i] < 0 ? 0 : depth[i]));
    }
    return 1;
}

static void render_shared(writer *w, const shared_counters *c)
{
    char buf[64];
    apr_uint64_t cumulative = 0;

    family(w, "blu8x8_webhook_requests_total", "counter",
           "Requests to the 8x8 webhook (/viber/status) by HTTP status answered (this server).");
    sample_u(w, "blu8x8_webhook_requests_total", "code=\"200\"", c ? get(&c->webhook[200]) : 0);
    for (int s = 100; c && s < MAX_STATUS; s++) {
        apr_uint64_t n = get(&c->webhook[s]);
        if (n && s != 200) {
            sample_u(w, "blu8x8_webhook_requests_total", apr_psprintf(w->p, "code=\"%d\"", s), n);
        }
    }

    family(w, "blu8x8_eightx8_requests_total", "counter",
           "Requests to 8x8 by API and HTTP status; code \"none\": no HTTP answer (connection "
           "refused, timeout). This server.");
    for (int a = 0; a < B8_API_COUNT; a++) {
        sample_u(w, "blu8x8_eightx8_requests_total",
                 apr_psprintf(w->p, "api=\"%s\",code=\"200\"", api_names[a]),
                 c ? get(&c->eightx8[a][200]) : 0);
        for (int s = 0; c && s < MAX_STATUS; s++) {
            apr_uint64_t n = get(&c->eightx8[a][s]);
            if (n && s != 200) {
                sample_u(w, "blu8x8_eightx8_requests_total",
                         s ? apr_psprintf(w->p, "api=\"%s\",code=\"%d\"", api_names[a], s)
                           : apr_psprintf(w->p, "api=\"%s\",code=\"none\"", api_names[a]), n);
            }
        }
    }

    family(w, "blu8x8_openai_request_seconds", "histogram",
           "Time taken by requests to OpenAI, answered or not (this server).");
    for (apr_size_t i = 0; i <= OPENAI_BUCKETS; i++) {
        cumulative += c ? get(&c->openai_bucket[i]) : 0;
        if (i < OPENAI_BUCKETS) {
            /* %g of libc, not APR's formatter. */
            snprintf(buf, sizeof(buf), "le=\"%g\"", openai_bounds[i]);
            sample_u(w, "blu8x8_openai_request_seconds_bucket", apr_pstrdup(w->p, buf),
                     cumulative);
        }
    }
    sample_u(w, "blu8x8_openai_request_seconds_bucket", "le=\"+Inf\"", cumulative);
    snprintf(buf, sizeof(buf), "%.6f", c ? (double)get(&c->openai_sum_us) / 1e6 : 0.0);
    sample_text(w, "blu8x8_openai_request_seconds_sum", NULL, apr_pstrdup(w->p, buf));
    sample_u(w, "blu8x8_openai_request_seconds_count", NULL, cumulative);
}

static int pid_alive(long pid)
{
    return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

static void render_worker(writer *w, const shared_counters *c, int worker_enabled)
{
    int up = 0, active = 0;

    if (c && worker_enabled) {
        apr_time_t beat = (apr_time_t)__atomic_load_n(&c->worker_beat_us, __ATOMIC_ACQUIRE);
        apr_interval_time_t every = (apr_interval_time_t)get(&c->worker_interval_us);
        apr_interval_time_t late = 3 * every;
        if (late < apr_time_from_sec(10)) {
            late = apr_time_from_sec(10);
        }
        up = beat && pid_alive((long)get(&c->worker_pid)) && apr_time_now() - beat <= late;
        active = up && get(&c->sender_active);
    }
    family(w, "blu8x8_worker_enabled", "gauge",
           "1 when this server runs a background worker (Blu8x8Worker On).");
    sample_u(w, "blu8x8_worker_enabled", NULL, worker_enabled ? 1 : 0);
    family(w, "blu8x8_worker_up", "gauge",
           "1 while this server's worker runs and beats (its heartbeat is at most 3 beats "
           "old).");
    sample_u(w, "blu8x8_worker_up", NULL, (apr_uint64_t)up);
    family(w, "blu8x8_sender_active", "gauge",
           "1 when this server's worker holds the sender lease (sends for every server; the "
           "sum over servers is 1 while anything can be sent).");
    sample_u(w, "blu8x8_sender_active", NULL, (apr_uint64_t)active);
}

const char *b8_metrics_render(apr_pool_t *p, b8_db *db, int worker_enabled)
{
    writer w;
    const shared_counters *c = counters();
    int db_ok = db != NULL;

    w.p = p;
    w.out = apr_array_make(p, 128, sizeof(const char *));
    /* The database's figures first, each family whole or not at all. */
    if (db_ok) {
        writer part = w;
        part.out = apr_array_make(p, 64, sizeof(const char *));
        db_ok = render_messages(&part, db) && render_queues(&part, db);
        if (db_ok) {
            apr_array_cat(w.out, part.out);
        }
    }
    family(&w, "blu8x8_database_up", "gauge",
           "1 when this server could read the figures kept in the database.");
    sample_u(&w, "blu8x8_database_up", NULL, db_ok ? 1 : 0);
    render_shared(&w, c);
    render_worker(&w, c, worker_enabled);
    return apr_array_pstrcat(p, w.out, 0);
}
