#include "b8_results.h"
#include "b8_crypto.h"
#include "b8_runtime.h"
#include "b8_states.h"
#include "b8_util.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include "b8_log.h"

#define SIG_HEX 20           /* 80 bits of HMAC: unguessable, short on a phone */
#define MAX_ID_DIGITS 18
#define MAX_BUCKETS 5000     /* a timeline longer than this is cut (hours of 208 days) */

/* ------------------------------------------------------ click recorder */

#define QUEUE_MAX 50000          /* clicks waiting; beyond, recorded inline */
#define WRITE_TRIES 3

typedef struct {
    char id[MAX_ID_DIGITS + 1];
    char at[32];
} queued_click;

typedef struct {
    b8_store *store;
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *wake;
    apr_thread_t *thread;
    queued_click *queue, *batch;   /* swapped: the thread writes batch */
    apr_pool_t *pool;              /* the thread's own */
    apr_pool_t *thread_parent;     /* apr_thread_create's, touched under lock */
    int n, stop, failed;
} click_recorder;

static click_recorder *recorder;

static apr_status_t write_batch(click_recorder *c, apr_pool_t *p, int n)
{
    b8_db *db;
    apr_status_t rv;

    if ((rv = b8_db_get(c->store, p, &db)) != APR_SUCCESS || (rv = b8_db_begin(db))
        != APR_SUCCESS) {
        return rv;
    }
    for (int i = 0; i < n; i++) {
        const char *args[] = { c->batch[i].at, c->batch[i].id };
        const char *url = NULL;
        if ((rv = b8_db_value(db, p, B8_SQL_CLICK_RECORD, args, &url)) != APR_SUCCESS) {
            b8_db_rollback(db);
            return rv;
        }
    }
    if ((rv = b8_db_commit(db)) != APR_SUCCESS) {
        b8_db_rollback(db);
    }
    return rv;
}

static void *APR_THREAD_FUNC recorder_run(apr_thread_t *t, void *arg)
{
    click_recorder *c = arg;
    apr_pool_t *p = c->pool;

    for (;;) {
        int n, stop;
        queued_click *swap;
        apr_thread_mutex_lock(c->lock);
        while (c->n == 0 && !c->stop) {
            apr_thread_cond_wait(c->wake, c->lock);
        }
        n = c->n;
        stop = c->stop;
        swap = c->batch;
        c->batch = c->queue;
        c->queue = swap;
        c->n = 0;
        apr_thread_mutex_unlock(c->lock);
        if (n > 0) {
            apr_status_t rv = APR_EGENERAL;
            for (int i = 0; i < WRITE_TRIES && rv != APR_SUCCESS; i++) {
                if (i > 0) {
                    apr_sleep(apr_time_from_msec(200));
                }
                rv = write_batch(c, p, n);
                apr_pool_clear(p);
            }
            if (rv != APR_SUCCESS) {
                B8_LOG(B8_LOG_ERR, rv, "B8-4903: %d click(s) could not be recorded", n);
            }
        }
        if (stop && n == 0) {
            break;
        }
    }
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

static apr_status_t recorder_stop(void *arg)
{
    click_recorder *c = arg;
    apr_status_t rv;

    apr_thread_t *thread;

    apr_thread_mutex_lock(c->lock);
    c->stop = 1;
    thread = c->thread;
    apr_thread_cond_signal(c->wake);
    apr_thread_mutex_unlock(c->lock);
    if (thread) {
        apr_thread_join(&rv, thread);
    }
    recorder = NULL;
    return APR_SUCCESS;
}

apr_status_t b8_clicks_start(apr_pool_t *p, b8_store *st)
{
    click_recorder *c = apr_pcalloc(p, sizeof(*c));
    apr_status_t rv;

    c->store = st;
    c->queue = apr_pcalloc(p, sizeof(*c->queue) * QUEUE_MAX);
    c->batch = apr_pcalloc(p, sizeof(*c->batch) * QUEUE_MAX);
    /* The thread itself starts with the first click: a child that serves
     * none has none (nothing more to stop when it is told to, even while
     * it is still starting). */
    if ((rv = apr_pool_create(&c->pool, p)) != APR_SUCCESS
        || (rv = apr_pool_create(&c->thread_parent, p)) != APR_SUCCESS
        || (rv = apr_thread_mutex_create(&c->lock, APR_THREAD_MUTEX_DEFAULT, p)) != APR_SUCCESS
        || (rv = apr_thread_cond_create(&c->wake, p)) != APR_SUCCESS) {
        return rv;
    }
    /* A pre-cleanup runs before p's subpools and cleanups go (the store's
     * included): the queue is written on the way out, then the thread ends. */
    apr_pool_pre_cleanup_register(p, c, recorder_stop);
    recorder = c;
    return APR_SUCCESS;
}

int b8_clicks_queue(const char *message_id, const char *at)
{
    click_recorder *c = recorder;
    int queued = 0;

    if (!c || strlen(message_id) > MAX_ID_DIGITS || strlen(at) >= sizeof(c->queue[0].at)) {
        return 0;
    }
    apr_thread_mutex_lock(c->lock);
    if (!c->thread && !c->failed && !c->stop
        && apr_thread_create(&c->thread, NULL, recorder_run, c, c->thread_parent) != APR_SUCCESS) {
        c->thread = NULL;
        c->failed = 1;   /* clicks are then written as they come */
    }
    if (c->thread && !c->stop && c->n < QUEUE_MAX) {
        apr_cpystrn(c->queue[c->n].id, message_id, sizeof(c->queue[0].id));
        apr_cpystrn(c->queue[c->n].at, at, sizeof(c->queue[0].at));
        c->n++;
        queued = 1;
        apr_thread_cond_signal(c->wake);
    }
    apr_thread_mutex_unlock(c->lock);
    return queued;
}

/* ------------------------------------------------------------ clicks */

static pthread_mutex_t secret_lock = PTHREAD_MUTEX_INITIALIZER;
static char secret_cache[129];

apr_status_t b8_click_secret(b8_db *db, apr_pool_t *p, const char **secret)
{
    apr_status_t rv = APR_SUCCESS;

    pthread_mutex_lock(&secret_lock);
    if (!secret_cache[0]) {
        const char *s = NULL;
        rv = b8_server_secret(db, p, &s);
        if (rv == APR_SUCCESS && s && strlen(s) < sizeof(secret_cache)) {
            apr_cpystrn(secret_cache, s, sizeof(secret_cache));
        }
        else if (rv == APR_SUCCESS) {
            rv = APR_EGENERAL;
        }
    }
    *secret = rv == APR_SUCCESS ? apr_pstrdup(p, secret_cache) : NULL;
    pthread_mutex_unlock(&secret_lock);
    return rv;
}

static const char *signature(apr_pool_t *p, const char *secret, const char *id)
{
    const char *mac = b8_hmac_sha256_hex(p, secret, apr_pstrcat(p, "click:", id, NULL));
    return mac ? apr_pstrndup(p, mac, SIG_HEX) : NULL;
}

const char *b8_click_token(apr_pool_t *p, const char *secret, const char *message_id)
{
    const char *sig = signature(p, secret, message_id);
    return sig ? apr_pstrcat(p, message_id, "-", sig, NULL) : NULL;
}

const char *b8_click_url(apr_pool_t *p, const char *public_url, const char *secret,
                         const char *message_id)
{
    const char *token = b8_click_token(p, secret, message_id);
    return token ? apr_pstrcat(p, public_url, "/r/", token, NULL) : NULL;
}

const char *b8_click_token_check(apr_pool_t *p, const char *secret, const char *token)
{
    const char *dash = token ? strchr(token, '-') : NULL;
    apr_size_t n;
    const char *id, *sig;

    if (!dash || !secret) {
        return NULL;
    }
    n = (apr_size_t)(dash - token);
    if (n < 1 || n > MAX_ID_DIGITS || token[0] == '0' || strlen(dash + 1) != SIG_HEX) {
        return NULL;
    }
    for (apr_size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)token[i])) {
            return NULL;
        }
    }
    id = apr_pstrndup(p, token, n);
    sig = signature(p, secret, id);
    return sig && b8_secure_equals(dash + 1, sig) ? id : NULL;
}

static int contains_ci(const char *hay, const char *needle)
{
    apr_size_t n = strlen(needle);
    for (; *hay; hay++) {
        if (strncasecmp(hay, needle, n) == 0) {
            return 1;
        }
    }
    return 0;
}

int b8_click_is_preview(const char *ua)
{
    /* Fetchers that never are a person's browser. */
    static const char *const bots[] = {
        "facebookexternalhit", "Facebot", "Twitterbot", "Slackbot", "Slack-ImgProxy",
        "TelegramBot", "Discordbot", "LinkedInBot", "Googlebot", "bingbot", "Applebot",
        "SkypeUriPreview", "Pinterestbot", "redditbot", "Embedly", "Iframely", "vkShare",
        "Google-PageRenderer", "AdsBot-Google", "YandexBot", "DuckDuckBot", "Snapchat",
        NULL
    };
    /* Apps whose preview fetcher has its own agent, whose in-app browser a
     * Mozilla one. */
    static const char *const apps[] = { "WhatsApp", "Viber", NULL };

    if (!ua || !*ua) {
        return 1;
    }
    for (int i = 0; bots[i]; i++) {
        if (contains_ci(ua, bots[i])) {
            return 1;
        }
    }
    if (strncmp(ua, "Mozilla/", 8) != 0) {
        for (int i = 0; apps[i]; i++) {
            if (contains_ci(ua, apps[i])) {
                return 1;
            }
        }
    }
    return 0;
}

typedef struct {
    const char *message_id, *now;
    char url[B8_CLICK_URL_MAX];
    int found, too_long;
} click_work;

/* May run on another thread's connection: writes only into its arg. */
static apr_status_t record_click(b8_db *db, apr_pool_t *p, void *arg)
{
    click_work *w = arg;
    const char *args[] = { w->now, w->message_id };
    const char *url = NULL;
    apr_status_t rv = b8_db_value(db, p, B8_SQL_CLICK_RECORD, args, &url);

    w->found = rv == APR_SUCCESS && url;
    w->too_long = w->found && strlen(url) >= sizeof(w->url);
    if (w->found && !w->too_long) {
        memcpy(w->url, url, strlen(url) + 1);
    }
    return rv;
}

apr_status_t b8_click_follow(b8_db *db, apr_pool_t *p, const char *message_id, int count,
                             const char **url)
{
    *url = NULL;
    if (count && recorder) {
        /* Answered from a read; the recorder writes the click. */
        const char *args[] = { message_id };
        apr_status_t rv = b8_db_value(db, p, B8_SQL_CLICK_TARGET, args, url);
        if (rv == APR_SUCCESS && *url && b8_clicks_queue(message_id, b8_now_iso(p))) {
            return APR_SUCCESS;
        }
        if (rv != APR_SUCCESS || !*url) {
            return rv;
        }
        *url = NULL;   /* the queue is full: recorded here */
    }
    if (count) {
        /* Clicks arrive in floods (a campaign's link tapped by many at
         * once): those arriving together share one commit. */
        click_work *w = apr_pcalloc(p, sizeof(*w));
        apr_status_t rv;
        w->message_id = message_id;
        w->now = b8_now_iso(p);
        if ((rv = b8_db_group_write(db, record_click, NULL, w)) != APR_SUCCESS) {
            return rv;
        }
        if (w->found && !w->too_long) {
            *url = w->url;
            return APR_SUCCESS;
        }
        if (!w->found) {
            return APR_SUCCESS;
        }
        /* A URL longer than the buffer: counted; read it again. */
    }
    {
        const char *args[] = { message_id };
        return b8_db_value(db, p, B8_SQL_CLICK_TARGET, args, url);
    }
}

/* ------------------------------------------------------- attribution */

apr_status_t b8_reply_attribute(b8_db *db, apr_pool_t *p, const char *inbound_id,
                                const char *phone_key, long days, const char **campaign_id)
{
    apr_time_t now = apr_time_now();
    const char *now_iso = b8_time_iso(p, now);
    const char *from = b8_time_iso(p, now - apr_time_from_sec((apr_time_t)days * 86400));
    apr_status_t rv;

    *campaign_id = NULL;
    if (!phone_key || !*phone_key || days < 1) {
        return APR_SUCCESS;
    }
    {
        const char *args[] = { now_iso, phone_key, from, now_iso };
        if ((rv = b8_db_value(db, p, B8_SQL_REPLY_ATTRIBUTE, args, campaign_id)) != APR_SUCCESS) {
            return rv;
        }
    }
    if (*campaign_id) {
        const char *args[] = { *campaign_id, inbound_id };
        return b8_db_exec(db, p, B8_SQL_INBOUND_SET_CAMPAIGN, args, NULL);
    }
    return APR_SUCCESS;
}

/* ---------------------------------------------------------- results */

static double num(const char *s)
{
    return s ? strtod(s, NULL) : 0;
}

/* To 4 decimals (no libm: the unit tests link without it). */
static double round4(double v)
{
    return (double)(long long)(v * 10000 + (v < 0 ? -0.5 : 0.5)) / 10000;
}

static double rate(double n, double of)
{
    return of > 0 ? round4(n / of) : 0;
}

static b8_errkind campaign_exists(b8_ctx *ctx, const char *id, b8_err *err)
{
    const char *args[] = { id };
    const char *state = NULL;
    if (b8_db_value(ctx->db, ctx->pool, B8_SQL_CAMPAIGN_STATE, args, &state) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    return state ? B8_OK : b8_fail(err, B8_ENOTFOUND, "no such campaign");
}

apr_status_t b8_campaign_clicked(b8_db *db, apr_pool_t *p, const char *id, long *clicked)
{
    const char *args[] = { id };
    const char *n = NULL;
    apr_status_t rv = b8_db_value(db, p, B8_SQL_RESULTS_CLICKED, args, &n);
    *clicked = n ? atol(n) : 0;
    return rv;
}

b8_errkind b8_campaign_stats(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err)
{
    const char *args4[] = { id, id, id, id };
    const char *args1[] = { id };
    double accepted = 0, delivered = 0, read = 0, clicked, replied, leads, won;
    b8_rows *counts, *rows;
    cJSON *o, *rates;

    if (campaign_exists(ctx, id, err) != B8_OK) {
        return err->kind;
    }
    if (b8_db_select(ctx->db, ctx->pool, B8_SQL_CAMPAIGN_COUNTS, args1, &counts) != APR_SUCCESS
        || b8_db_select(ctx->db, ctx->pool, B8_SQL_RESULTS_COUNTS, args4, &rows) != APR_SUCCESS
        || rows->nrows != 1) {
        return b8_fail_db(err, ctx->db);
    }
    for (int i = 0; i < counts->nrows; i++) {
        const char *st = B8_GET(counts, i, STATE_COUNT, state);
        double n = num(B8_GET(counts, i, STATE_COUNT, n));
        /* Accepted: every recipient 8x8 took (a later "undelivered" too);
         * delivered: on the phone (read included). */
        accepted += b8_message_state_is(st, B8_MS_ACCEPTED) ? n : 0;
        delivered += b8_message_state_is(st, B8_MS_REACHED) ? n : 0;
        read += strcmp(st, "read") == 0 ? n : 0;
    }
    clicked = num(B8_GET(rows, 0, RESULTS_COUNTS, clicked));
    replied = num(B8_GET(rows, 0, RESULTS_COUNTS, replied));
    leads = num(B8_GET(rows, 0, RESULTS_COUNTS, leads));
    won = num(B8_GET(rows, 0, RESULTS_COUNTS, won));
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "accepted", accepted);
    cJSON_AddNumberToObject(o, "delivered", delivered);
    cJSON_AddNumberToObject(o, "read", read);
    cJSON_AddNumberToObject(o, "clicked", clicked);
    cJSON_AddNumberToObject(o, "replied", replied);
    cJSON_AddNumberToObject(o, "leads", leads);
    /* Won: the campaign's leads an agent marked won (issue 18's status). */
    cJSON_AddNumberToObject(o, "won", won);
    rates = cJSON_AddObjectToObject(o, "rates");
    cJSON_AddNumberToObject(rates, "delivered", rate(delivered, accepted));
    cJSON_AddNumberToObject(rates, "read", rate(read, accepted));
    cJSON_AddNumberToObject(rates, "clicked", rate(clicked, accepted));
    cJSON_AddNumberToObject(rates, "replied", rate(replied, accepted));
    *out = b8_json_pool_owned(ctx->pool, o);
    return B8_OK;
}

/* Timeline buckets, in order; the five event counts of each. */
typedef struct {
    apr_time_t start;
    double n[5];
} bucket;

static const char *const event_keys[5] = { "sent", "delivered", "read", "clicked", "replied" };

/* The start of an hour ("2026-12-07T05"), or of its day. */
static int bucket_time(const char *hour, int day, apr_time_t *out)
{
    char buf[32];
    if (!hour || strlen(hour) != 13) {
        return 0;
    }
    apr_snprintf(buf, sizeof(buf), "%.*s%s", day ? 10 : 13, hour,
                 day ? "T00:00:00Z" : ":00:00Z");
    return b8_time_parse(buf, out);
}

b8_errkind b8_campaign_timeline(b8_ctx *ctx, const char *id, const char *bucket_name,
                                cJSON **out, b8_err *err)
{
    apr_pool_t *p = ctx->pool;
    int page = bucket_name && strcmp(bucket_name, "page") == 0;
    int day = bucket_name && strcmp(bucket_name, "day") == 0;
    const char *args[] = { id, id, id, id, id };
    apr_interval_time_t step = apr_time_from_sec(day ? 86400 : 3600);
    apr_time_t first = 0, last = 0;
    b8_rows *rows;
    bucket *b;
    long nb;
    cJSON *list;

    if (bucket_name && !page && !day && strcmp(bucket_name, "hour") != 0) {
        b8_field_error(err, "bucket", "Use hour or day.");
        return err->kind;
    }
    if (campaign_exists(ctx, id, err) != B8_OK) {
        return err->kind;
    }
    /* Rows: event (0..4), bucket prefix, count. */
    if (b8_db_select(ctx->db, p, B8_SQL_RESULTS_TIMELINE, args, &rows) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    /* The span: first send to last event (days: from their midnights). */
    for (int r = 0; r < rows->nrows; r++) {
        apr_time_t t;
        if (bucket_time(B8_GET(rows, r, TIMELINE, b), day, &t)) {
            if (!first || t < first) first = t;
            if (t > last) last = t;
        }
    }
    list = b8_json_array(p);
    *out = list;
    if (!first) {
        return B8_OK;
    }
    nb = (long)((last - first) / step) + 1;
    if (nb > MAX_BUCKETS) {
        nb = MAX_BUCKETS;
    }
    b = apr_pcalloc(p, sizeof(*b) * (apr_size_t)nb);
    for (long i = 0; i < nb; i++) {
        b[i].start = first + step * i;
    }
    for (int r = 0; r < rows->nrows; r++) {
        const char *e = B8_GET(rows, r, TIMELINE, e);
        int k = e ? atoi(e) : -1;
        apr_time_t t;
        if (k >= 0 && k < 5 && bucket_time(B8_GET(rows, r, TIMELINE, b), day, &t)) {
            long i = (long)((t - first) / step);
            if (i >= 0 && i < nb) {
                b[i].n[k] += num(B8_GET(rows, r, TIMELINE, n));
            }
        }
    }
    {
        /* The page: hours for the first two days, then days (the first one
         * from the end of those hours to midnight). Consecutive hours with
         * the same key are added up. */
        apr_time_t hours_end = first + apr_time_from_sec(48 * 3600);
        apr_interval_time_t dayl = apr_time_from_sec(86400);
        bucket cur;
        int have = 0, cur_day = 0;
        for (long i = 0; i <= nb; i++) {
            apr_time_t key = 0;
            int is_day = 0;
            if (i < nb) {
                key = b[i].start;
                if (page && key >= hours_end) {
                    key -= key % dayl;
                    key = key < hours_end ? hours_end : key;
                    is_day = 1;
                }
            }
            if (have && (i == nb || key != cur.start)) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "t", b8_time_iso(p, cur.start));
                for (int k = 0; k < 5; k++) {
                    cJSON_AddNumberToObject(o, event_keys[k], cur.n[k]);
                }
                if (page) {
                    cJSON_AddStringToObject(o, "bucket", cur_day ? "day" : "hour");
                }
                cJSON_AddItemToArray(list, o);
                have = 0;
            }
            if (i == nb) {
                break;
            }
            if (!have) {
                memset(&cur, 0, sizeof(cur));
                cur.start = key;
                cur_day = is_day;
                have = 1;
            }
            for (int k = 0; k < 5; k++) {
                cur.n[k] += b[i].n[k];
            }
        }
    }
    return B8_OK;
}

/* ------------------------------------------------------------ days */

static cJSON *day_of(cJSON *index, const char *date)
{
    return date ? cJSON_GetObjectItemCaseSensitive(index, date) : NULL;
}

static void day_add(cJSON *day, const char *key, double v)
{
    cJSON *item = cJSON_GetObjectItemCaseSensitive(day, key);
    if (item) {
        cJSON_SetNumberValue(item, item->valuedouble + v);
    }
}

b8_errkind b8_stats_days(b8_ctx *ctx, const char *days_s, cJSON **out, b8_err *err)
{
    static const char *const keys[] = {
        "sent", "delivered", "read", "clicked", "replies", "leads", "sms", "sms_cost", NULL
    };
    apr_pool_t *p = ctx->pool;
    long days = 30;
    apr_time_t today;
    const char *since;
    cJSON *list, *index;
    b8_rows *viber, *in, *leads, *sms;

    if (days_s && *days_s) {
        char *end;
        days = strtol(days_s, &end, 10);
        if (*end || days < 1 || days > 366) {
            b8_field_error(err, "days", "A number of days from 1 to 366.");
            return err->kind;
        }
    }
    today = apr_time_now();
    today -= today % apr_time_from_sec(86400);
    since = b8_time_iso(p, today - apr_time_from_sec((apr_time_t)(days - 1) * 86400));
    {
        const char *args[] = { since };
        if (b8_db_select(ctx->db, p, B8_SQL_RESULTS_DAYS_VIBER, args, &viber) != APR_SUCCESS
            || b8_db_select(ctx->db, p, B8_SQL_RESULTS_DAYS_INBOUND, args, &in) != APR_SUCCESS
            || b8_db_select(ctx->db, p, B8_SQL_RESULTS_DAYS_LEADS, args, &leads) != APR_SUCCESS
            || b8_db_select(ctx->db, p, B8_SQL_RESULTS_DAYS_SMS, args, &sms) != APR_SUCCESS) {
            return b8_fail_db(err, ctx->db);
        }
    }
    list = cJSON_CreateArray();
    index = b8_json_pool_owned(p, cJSON_CreateObject());
    for (long i = days - 1; i >= 0; i--) {
        const char *date = apr_pstrndup(p, b8_time_iso(p, today - apr_time_from_sec(
                                                              (apr_time_t)i * 86400)), 10);
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "date", date);
        for (int k = 0; keys[k]; k++) {
            cJSON_AddNumberToObject(d, keys[k], 0);
        }
        cJSON_AddObjectToObject(d, "sms_cost_by_sender");
        cJSON_AddItemToArray(list, d);
        cJSON_AddItemReferenceToObject(index, date, d);
    }
    for (int r = 0; r < viber->nrows; r++) {
        cJSON *d = day_of(index, B8_GET(viber, r, DAY_VIBER, day));
        day_add(d, "sent", num(B8_GET(viber, r, DAY_VIBER, sent)));
        day_add(d, "delivered", num(B8_GET(viber, r, DAY_VIBER, delivered)));
        day_add(d, "read", num(B8_GET(viber, r, DAY_VIBER, read)));
        day_add(d, "clicked", num(B8_GET(viber, r, DAY_VIBER, clicked)));
    }
    for (int r = 0; r < in->nrows; r++) {
        day_add(day_of(index, B8_GET(in, r, DAY_COUNT, day)), "replies",
                num(B8_GET(in, r, DAY_COUNT, n)));
    }
    for (int r = 0; r < leads->nrows; r++) {
        day_add(day_of(index, B8_GET(leads, r, DAY_COUNT, day)), "leads",
                num(B8_GET(leads, r, DAY_COUNT, n)));
    }
    for (int r = 0; r < sms->nrows; r++) {
        cJSON *d = day_of(index, B8_GET(sms, r, DAY_SMS, day));
        double cost = num(B8_GET(sms, r, DAY_SMS, cost));
        if (!d) {
            continue;
        }
        day_add(d, "sms", num(B8_GET(sms, r, DAY_SMS, n)));
        day_add(d, "sms_cost", cost);
        {
            cJSON *by = cJSON_GetObjectItemCaseSensitive(d, "sms_cost_by_sender");
            const char *sender = B8_GET(sms, r, DAY_SMS, sender);
            cJSON *item = cJSON_GetObjectItemCaseSensitive(by, sender);
            if (item) {
                cJSON_SetNumberValue(item, item->valuedouble + cost);
            }
            else {
                cJSON_AddNumberToObject(by, sender, cost);
            }
        }
    }
    /* Costs to the cent's hundredth: sums of decimal prices. */
    for (cJSON *d = list->child; d; d = d->next) {
        cJSON *c = cJSON_GetObjectItemCaseSensitive(d, "sms_cost");
        cJSON_SetNumberValue(c, round4(c->valuedouble));
    }
    *out = b8_json_object(p);
    cJSON_AddItemToObject(*out, "days", list);
    return B8_OK;
}

/* ------------------------------------------------------------ charts */

/* An axis label that fits a phone: "12-07 05:00" for a time, "12-07" for a date. */
static const char *short_label(apr_pool_t *p, const cJSON *v)
{
    const char *s = cJSON_IsString(v) ? v->valuestring : "";
    apr_size_t n = strlen(s);
    if (n >= 16 && s[10] == 'T') {
        return apr_psprintf(p, "%.5s %.5s", s + 5, s + 11);
    }
    return n == 10 ? s + 5 : s;
}

cJSON *b8_results_chart(apr_pool_t *p, const cJSON *rows, const char *const *keys, int nkeys,
                        const char *label_key, int width, int height)
{
    cJSON *chart = cJSON_CreateObject(), *series = cJSON_AddArrayToObject(chart, "series");
    cJSON *labels = cJSON_AddArrayToObject(chart, "labels");
    int n = cJSON_GetArraySize(rows);
    double max = 0;
    const int left = 48, bottom = 20, top = 10, right = 10;
    double pw = width - left - right, ph = height - top - bottom;

    for (const cJSON *r = rows ? rows->child : NULL; r; r = r->next) {
        for (int k = 0; k < nkeys; k++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, keys[k]);
            if (cJSON_IsNumber(v) && v->valuedouble > max) {
                max = v->valuedouble;
            }
        }
    }
    cJSON_AddNumberToObject(chart, "width", width);
    cJSON_AddNumberToObject(chart, "height", height);
    cJSON_AddNumberToObject(chart, "max", max);
    cJSON_AddNumberToObject(chart, "left", left);
    cJSON_AddNumberToObject(chart, "top", top);
    cJSON_AddNumberToObject(chart, "axis_y", height - bottom);
    cJSON_AddNumberToObject(chart, "axis_x2", width - right);
    cJSON_AddNumberToObject(chart, "label_y", height - 4);
    cJSON_AddBoolToObject(chart, "empty", n == 0);
    for (int k = 0; k < nkeys; k++) {
        cJSON *s = cJSON_CreateObject();
        const char *points = "";
        double total = 0;
        int i = 0;
        for (const cJSON *r = rows ? rows->child : NULL; r; r = r->next, i++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, keys[k]);
            double val = cJSON_IsNumber(v) ? v->valuedouble : 0;
            double x = left + (n > 1 ? pw * i / (n - 1) : 0);
            double y = top + ph - (max > 0 ? ph * val / max : 0);
            total += val;
            points = apr_psprintf(p, "%s%s%.1f,%.1f", points, i ? " " : "", x, y);
            if (n == 1) {
                /* One bucket: a level line across, not an invisible dot. */
                points = apr_psprintf(p, "%s %.1f,%.1f", points, left + pw, y);
            }
        }
        cJSON_AddStringToObject(s, "key", keys[k]);
        cJSON_AddStringToObject(s, "points", points);
        cJSON_AddNumberToObject(s, "total", total);
        cJSON_AddNumberToObject(s, "index", k);
        cJSON_AddItemToArray(series, s);
    }
    /* Axis labels: the first and the last bucket, and the maximum. */
    if (n > 0 && label_key) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(rows, 0), label_key);
        const cJSON *z = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(rows, n - 1),
                                                          label_key);
        cJSON *la = cJSON_CreateObject(), *lz = cJSON_CreateObject();
        cJSON_AddStringToObject(la, "text", short_label(p, a));
        cJSON_AddNumberToObject(la, "x", left);
        cJSON_AddStringToObject(la, "anchor", "start");
        cJSON_AddItemToArray(labels, la);
        if (n > 1) {
            cJSON_AddStringToObject(lz, "text", short_label(p, z));
            cJSON_AddNumberToObject(lz, "x", width - right);
            cJSON_AddStringToObject(lz, "anchor", "end");
            cJSON_AddItemToArray(labels, lz);
        }
        else {
            cJSON_Delete(lz);
        }
    }
    return chart;
}

/* ------------------------------------------------------- retargeting */

/* States in one retargeting condition: at most as many as there are. */
#define RETARGET_SLOTS 16

static apr_array_header_t *states_list(apr_pool_t *p)
{
    apr_array_header_t *a = apr_array_make(p, 16, sizeof(const char *));
    for (int i = 0; b8_recipient_states[i]; i++) {
        APR_ARRAY_PUSH(a, const char *) = b8_recipient_states[i];
    }
    return a;
}

b8_errkind b8_retarget_check(apr_pool_t *p, const cJSON *from, b8_err *err)
{
    const cJSON *states, *clicked, *replied;

    if (!cJSON_IsObject(from)) {
        b8_field_error(err, "from_campaign", "An object: {\"id\", \"states\", \"clicked\", "
                       "\"replied\"}.");
        return err->kind;
    }
    if (!b8_json_id(p, cJSON_GetObjectItemCaseSensitive(from, "id"))) {
        b8_field_error(err, "from_campaign.id", "The id of the campaign to take recipients from.");
    }
    states = cJSON_GetObjectItemCaseSensitive(from, "states");
    if (states && !cJSON_IsNull(states)) {
        int n = 0;
        if (!cJSON_IsArray(states)) {
            b8_field_error(err, "from_campaign.states", "A list of recipient states.");
        }
        for (const cJSON *s = cJSON_IsArray(states) ? states->child : NULL; s; s = s->next) {
            if (!cJSON_IsString(s) || !b8_message_state_find(s->valuestring)
                || ++n > RETARGET_SLOTS) {
                b8_field_error(err, "from_campaign.states",
                               apr_pstrcat(p, "Unknown state: use ",
                                           apr_array_pstrcat(p, states_list(p), ','), ".",
                                           NULL));
                break;
            }
        }
    }
    clicked = cJSON_GetObjectItemCaseSensitive(from, "clicked");
    if (clicked && !cJSON_IsNull(clicked) && !cJSON_IsBool(clicked)) {
        b8_field_error(err, "from_campaign.clicked", "true or false.");
    }
    replied = cJSON_GetObjectItemCaseSensitive(from, "replied");
    if (replied && !cJSON_IsNull(replied) && !cJSON_IsBool(replied)) {
        b8_field_error(err, "from_campaign.replied", "true or false.");
    }
    return err->fields ? B8_EINVALID : B8_OK;
}

static const char *flag(const cJSON *v)
{
    return cJSON_IsBool(v) ? (cJSON_IsTrue(v) ? "1" : "0") : NULL;
}

apr_status_t b8_retarget_chunk(b8_db *db, apr_pool_t *p, const cJSON *from, const char *after_id,
                               int limit, b8_rows **rows)
{
    const cJSON *states = cJSON_GetObjectItemCaseSensitive(from, "states");
    const char *clicked = flag(cJSON_GetObjectItemCaseSensitive(from, "clicked"));
    const char *replied = flag(cJSON_GetObjectItemCaseSensitive(from, "replied"));
    const char *args[1 + 1 + RETARGET_SLOTS + 4 + 2];
    int a = 0, n = cJSON_IsArray(states) ? cJSON_GetArraySize(states) : 0;

    args[a++] = b8_json_id(p, cJSON_GetObjectItemCaseSensitive(from, "id"));
    /* An empty list: no state matches (every given condition must hold). */
    args[a++] = cJSON_IsArray(states) ? "1" : NULL;
    for (int i = 0; i < RETARGET_SLOTS; i++) {
        const cJSON *s = n ? cJSON_GetArrayItem(states, i < n ? i : 0) : NULL;
        args[a++] = s && cJSON_IsString(s) ? s->valuestring : "";
    }
    args[a++] = clicked;
    args[a++] = clicked;
    args[a++] = replied;
    args[a++] = replied;
    args[a++] = after_id;
    args[a++] = apr_itoa(p, limit);
    return b8_db_select(db, p, B8_SQL_RESULTS_RETARGET_AFTER, args, rows);
}

/* What a marketer picks on the campaign page. */
static const struct {
    const char *name, *label, *states[4];
    int clicked, replied;   /* -1 any, 0 no, 1 yes */
} presets[] = {
    { "read_not_clicked", "Read but didn't click", { "read", NULL }, 0, -1 },
    { "clicked_not_replied", "Clicked but didn't reply", { NULL }, 1, 0 },
    { "clicked", "Clicked", { NULL }, 1, -1 },
    { "replied", "Replied", { NULL }, -1, 1 },
    { "delivered_not_read", "Delivered but not read", { "delivered", NULL }, -1, -1 },
    { "not_delivered", "Not delivered (failed, undelivered)",
      { "failed", "undelivered", NULL }, -1, -1 },
    { "all_reached", "Everyone it reached", { "delivered", "read", NULL }, -1, -1 },
};

cJSON *b8_retarget_preset(const char *name, const char *id)
{
    for (size_t i = 0; name && id && i < sizeof(presets) / sizeof(presets[0]); i++) {
        if (strcmp(presets[i].name, name) == 0) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "id", strtod(id, NULL));
            if (presets[i].states[0]) {
                cJSON *st = cJSON_AddArrayToObject(o, "states");
                for (int k = 0; presets[i].states[k]; k++) {
                    cJSON_AddItemToArray(st, cJSON_CreateString(presets[i].states[k]));
                }
            }
            if (presets[i].clicked >= 0) {
                cJSON_AddBoolToObject(o, "clicked", presets[i].clicked);
            }
            if (presets[i].replied >= 0) {
                cJSON_AddBoolToObject(o, "replied", presets[i].replied);
            }
            return o;
        }
    }
    return NULL;
}

cJSON *b8_retarget_presets(void)
{
    cJSON *list = cJSON_CreateArray();
    for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "value", presets[i].name);
        cJSON_AddStringToObject(o, "label", presets[i].label);
        cJSON_AddItemToArray(list, o);
    }
    return list;
}
