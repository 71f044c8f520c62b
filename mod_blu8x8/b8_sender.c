#include "b8_sender.h"
#include "b8_metrics.h"
#include "b8_campaign_actions.h"
#include "b8_campaigns.h"
#include "b8_eightx8.h"
#include "b8_http.h"
#include "b8_lease.h"
#include "b8_log.h"
#include "b8_rate.h"
#include "b8_pace.h"
#include "b8_receipts.h"
#include "b8_results.h"
#include "b8_runtime.h"
#include "b8_settings.h"
#include "b8_util.h"

#include <stdlib.h>
#include <string.h>
#include <apr_allocator.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

#define SETTINGS_EVERY apr_time_from_msec(200)  /* send_interval & co. re-read */
#define IDLE_POLL apr_time_from_sec(1)          /* look for work without a wake-up */
#define DB_RETRY apr_time_from_sec(1)           /* after a database error */
#define DRAIN_TIME apr_time_from_sec(2)         /* on stop: wait for answers in flight */
#define CLAIM_ROUNDS 8                           /* of skipped (opted-out) rows per claim */

/* ------------------------------------------------------------ stale rows */

apr_status_t b8_sender_settle_stale(b8_store *st, apr_pool_t *p, int *settled, int *unknown)
{
    apr_status_t rv = b8_receipts_settle_stale(
        st, p, B8_SQL_SEND_STALE, "The worker stopped while this message was being sent: it may "
        "have reached 8x8. Requeue it only if it did not arrive.", settled, unknown);

    if (*settled || *unknown) {
        B8_LOG(B8_LOG_NOTICE, 0, "B8-1422: %d interrupted send(s) settled from receipts, %d "
               "marked unknown (never resent automatically)", *settled, *unknown);
    }
    return rv;
}

/* -------------------------------------------------------------- the state */

typedef struct job job;
struct job {
    apr_pool_t *pool;            /* everything of this one message */
    const char *id, *cmid, *phone, *campaign_id;
    b8_http_request req;
    b8_send_tries tries;
    int requests;
    apr_time_t started;          /* of the request in flight, for the latency */
    apr_time_t due;              /* when waiting to retry */
    b8_send_result result;       /* when answered for good, until recorded */
    job *next;
};

struct b8_sender {
    apr_pool_t *pool;
    b8_store *store;
    b8_settings_cache *settings;
    int max_in_flight;           /* now: sized to the rate and the latency */
    int fixed_in_flight;         /* set by the caller: never resized */
    int max_rate;                /* Blu8x8MaxRate */
    apr_interval_time_t latency; /* of 8x8's answers, smoothed */
    apr_time_t rate_next;        /* the rate limit frees a slot then */
    b8_http_multi *multi;

    apr_thread_mutex_t *lock;    /* guards stop and woken */
    int stop, woken;

    apr_pool_t *settings_pool;   /* the loaded settings below live here */
    apr_time_t settings_at;
    apr_interval_time_t interval;
    const b8_tz *tz;             /* of the time_zone setting: windows and caps */
    b8_eightx8_conf conf;
    const char *public_url;      /* tracked button links; NULL = plain URLs */
    const char *secret;          /* signs them */
    const char *conf_error;
    char logged_error[256];

    apr_time_t planned_last;     /* planned start of the last send (no drift) */
    int have_last;
    apr_time_t hold_until;       /* 8x8 said 429: nobody sends before */
    apr_time_t idle_until;       /* no work found: look again then */

    job *waiting;                /* to retry at job->due */
    job *finished;               /* answered, to be committed */
    int active;                  /* jobs not yet committed: the in-flight limit */
    int dirty;                   /* results committed since the last Done check */
    char campaign[24];           /* the campaign being sent, for the log */

    b8_db *db;                   /* this iteration's connection */
    b8_lease *lease;             /* several servers: claims only while it is ours */
};

/* The sender's own pool and allocator: only its thread allocates from it,
 * and at most max_free bytes of freed memory are kept for reuse. */
static apr_status_t private_pool(apr_pool_t **out)
{
    apr_allocator_t *a;
    apr_status_t rv;

    if ((rv = apr_allocator_create(&a)) != APR_SUCCESS) {
        return rv;
    }
    apr_allocator_max_free_set(a, 1024 * 1024);
    if ((rv = apr_pool_create_ex(out, NULL, NULL, a)) != APR_SUCCESS) {
        apr_allocator_destroy(a);
        return rv;
    }
    apr_allocator_owner_set(a, *out);
    return APR_SUCCESS;
}

apr_status_t b8_sender_create(apr_pool_t *p, b8_store *st, b8_settings_cache *settings,
                              int max_in_flight, b8_sender **out)
{
    b8_sender *s = apr_pcalloc(p, sizeof(*s));
    apr_status_t rv;

    if ((rv = private_pool(&s->pool)) != APR_SUCCESS) {
        return rv;
    }
    s->store = st;
    s->settings = settings;
    s->fixed_in_flight = max_in_flight > 0;
    s->max_in_flight = max_in_flight > 0 ? max_in_flight : B8_SENDER_MAX_IN_FLIGHT;
    if ((rv = apr_thread_mutex_create(&s->lock, APR_THREAD_MUTEX_DEFAULT, p)) != APR_SUCCESS) {
        return rv;
    }
    if (!(s->multi = b8_http_multi_create(s->fixed_in_flight ? s->max_in_flight
                                                             : B8_SENDER_IN_FLIGHT_CAP))) {
        return APR_ENOMEM;
    }
    *out = s;
    return APR_SUCCESS;
}

void b8_sender_destroy(b8_sender *s)
{
    if (s && s->multi) {
        b8_http_multi_destroy(s->multi);
        s->multi = NULL;
    }
    if (s && s->pool) {
        apr_pool_destroy(s->pool);
        s->pool = NULL;
    }
}

void b8_sender_use_lease(b8_sender *s, b8_lease *lease, apr_time_t last_start)
{
    s->lease = lease;
    if (last_start > 0) {
        /* The previous holder's last send: the interval runs from there. */
        s->planned_last = last_start;
        s->have_last = 1;
    }
}

void b8_sender_wake(b8_sender *s)
{
    apr_thread_mutex_lock(s->lock);
    s->woken = 1;
    apr_thread_mutex_unlock(s->lock);
    b8_http_multi_wakeup(s->multi);
}

void b8_sender_stop(b8_sender *s)
{
    apr_thread_mutex_lock(s->lock);
    s->stop = 1;
    apr_thread_mutex_unlock(s->lock);
    b8_http_multi_wakeup(s->multi);
}

static void take_flags(b8_sender *s, int *stop, int *woken)
{
    apr_thread_mutex_lock(s->lock);
    *stop = s->stop;
    *woken = s->woken;
    s->woken = 0;
    apr_thread_mutex_unlock(s->lock);
}

/* This iteration's database connection (borrowed until p is cleared). */
static b8_db *iter_db(b8_sender *s, apr_pool_t *p)
{
    if (!s->db && b8_db_get(s->store, p, &s->db) != APR_SUCCESS) {
        s->db = NULL;
    }
    return s->db;
}

/* ------------------------------------------------------------- settings */

/* Enough requests in flight to keep the rate with 8x8's latency (Little's
 * law), with room for its jitter; 64 until an answer measured it. */
static void size_in_flight(b8_sender *s)
{
    double want;

    if (s->fixed_in_flight || s->latency <= 0) {
        return;
    }
    want = (s->max_rate > 0 ? s->max_rate : B8_RATE_DEFAULT)
           * ((double)s->latency / APR_USEC_PER_SEC) * 1.5 + 16;
    s->max_in_flight = want > B8_SENDER_IN_FLIGHT_CAP ? B8_SENDER_IN_FLIGHT_CAP
                       : want < 16 ? 16 : (int)want;
}

static void refresh_settings(b8_sender *s, int force)
{
    apr_time_t now = apr_time_now();
    apr_pool_t *fresh, *tmp;
    const b8_settings *saved = NULL;
    b8_db *db;
    const char *why;
    double secs;

    if (!force && s->settings_pool && now - s->settings_at < SETTINGS_EVERY) {
        return;
    }
    apr_pool_create(&fresh, s->pool);
    apr_pool_create(&tmp, fresh);   /* the connection goes back when tmp goes */
    if (b8_db_get(s->store, tmp, &db) != APR_SUCCESS
        || b8_settings_cache_get(s->settings, db, fresh, &saved) != APR_SUCCESS) {
        apr_pool_destroy(fresh);
        s->settings_at = now;       /* keep the old values; try again later */
        return;
    }
    apr_pool_destroy(tmp);
    why = b8_eightx8_conf_load(fresh, saved, &s->conf);
    secs = b8_setting_number(saved, B8_SET_SEND_INTERVAL);
    s->interval = secs > 0 ? (apr_interval_time_t)(secs * APR_USEC_PER_SEC + 0.5) : 0;
    s->max_rate = s->conf.max_rate;
    size_in_flight(s);
    s->tz = b8_tz_get(fresh, b8_setting_str(saved, B8_SET_TIME_ZONE));
    /* With a public URL, buttons go through /r/<token>. */
    s->public_url = b8_setting_str(saved, B8_SET_PUBLIC_URL);
    s->public_url = s->public_url ? apr_pstrdup(fresh, s->public_url) : NULL;
    s->secret = NULL;
    if (s->public_url && *s->public_url) {
        const char *secret = NULL;
        apr_pool_t *tp;
        apr_pool_create(&tp, fresh);
        if (b8_db_get(s->store, tp, &db) == APR_SUCCESS
            && b8_click_secret(db, fresh, &secret) == APR_SUCCESS) {
            s->secret = secret;
        }
        apr_pool_destroy(tp);
    }
    if (s->settings_pool) {
        apr_pool_destroy(s->settings_pool);
    }
    s->settings_pool = fresh;
    s->settings_at = now;
    s->conf_error = why;
    if (why && strcmp(why, s->logged_error) != 0) {
        B8_LOG(B8_LOG_WARNING, 0, "B8-1423: campaigns wait, nothing is sent: %s", why);
        apr_cpystrn(s->logged_error, why, sizeof(s->logged_error));
    }
    else if (!why && s->logged_error[0]) {
        B8_LOG(B8_LOG_NOTICE, 0, "B8-1424: 8x8 settings complete: sending resumes");
        s->logged_error[0] = '\0';
    }
}

/* ------------------------------------------------------------------ jobs */

static void push_finished(b8_sender *s, job *j)
{
    job **pp = &s->finished;
    while (*pp) {
        pp = &(*pp)->next;
    }
    j->next = NULL;
    *pp = j;
}

static void start(b8_sender *s, job *j)
{
    apr_time_t now = apr_time_now();
    apr_time_t at = b8_rate_take(s->conf.sub_account, s->max_rate, now);

    if (at) {
        /* 8x8's rate is reached (other lanes took the slots): it waits. */
        j->due = at;
        j->next = s->waiting;
        s->waiting = j;
        if (at > s->rate_next) {
            s->rate_next = at;
        }
        return;
    }
    j->started = now;
    j->requests++;
    if (b8_http_multi_start(s->multi, &j->req, j) != APR_SUCCESS) {
        /* Nothing went out: a failure of ours, final for this row. */
        memset(&j->result, 0, sizeof(j->result));
        j->result.verdict = B8_SEND_FAILED;
        j->result.error_message = "Internal error: the request could not be started.";
        push_finished(s, j);
    }
}

/* A job for a row just marked 'sending'; its request is made in its pool. */
static job *new_job(b8_sender *s, const b8_campaign *c, const char *id, const char *phone,
                    const char *name, const char *cmid)
{
    apr_pool_t *jp;
    job *j;
    cJSON *msg;

    apr_pool_create(&jp, s->pool);
    j = apr_pcalloc(jp, sizeof(*j));
    j->pool = jp;
    j->id = apr_pstrdup(jp, id);
    j->cmid = apr_pstrdup(jp, cmid);
    j->phone = apr_pstrdup(jp, phone);
    j->campaign_id = apr_pstrdup(jp, c->id);
    if (s->public_url && *s->public_url && s->secret && c->button_url && *c->button_url) {
        /* The recipient's own tracked link in place of the button URL. */
        b8_campaign *tracked = apr_pmemdup(jp, c, sizeof(*c));
        const char *url = b8_click_url(jp, s->public_url, s->secret, j->id);
        if (url) {
            tracked->button_url = url;
            c = tracked;
        }
    }
    msg = b8_json_pool_owned(jp, b8_eightx8_campaign_message(jp, c, j->phone, name, j->cmid,
                                                             s->conf.sms_source));
    b8_eightx8_request(jp, &s->conf, b8_json_print(jp, msg), &j->req);
    /* The settings pool may be replaced while the request is in flight. */
    j->req.url = apr_pstrdup(jp, j->req.url);
    j->req.bearer = apr_pstrdup(jp, j->req.bearer);
    return j;
}

/* The campaign's send window and daily cap: 1 when it may send now (*want
 * lowered to what the cap still allows), 0 when it waits (its
 * waiting_until set, for the progress and for the next pick), -1 on a
 * database error. Inside the claim's transaction. */
static int pace_check(b8_sender *s, b8_db *db, apr_pool_t *p, const b8_campaign *c, int *want)
{
    apr_time_t now = apr_time_now(), next;
    const char *field = NULL;
    long sent = 0;
    b8_pace r;
    /* Settings not read yet (the database was away): UTC until they are. */
    const b8_tz *tz = s->tz ? s->tz : b8_tz_get(p, "UTC");

    if (b8_pace_parse(c->window_start, c->window_end, c->daily_cap, &r, &field)
        || (!r.window && !r.daily_cap)) {
        return 1;    /* no rules (a bad one was refused when saved) */
    }
    if (r.daily_cap) {
        const char *args[] = { c->id, b8_time_iso(p, b8_pace_midnight(tz, now)) };
        const char *n = NULL;
        if (b8_db_value(db, p, B8_SQL_CAMPAIGN_SENT_SINCE, args, &n) != APR_SUCCESS) {
            return -1;
        }
        sent = n ? atol(n) : 0;
    }
    next = b8_pace_next(tz, &r, now, sent);
    if (next > now) {
        const char *args[] = { b8_time_iso(p, next), c->id };
        if (b8_db_exec(db, p, B8_SQL_CAMPAIGN_SET_WAITING, args, NULL) != APR_SUCCESS) {
            return -1;
        }
        B8_LOG(B8_LOG_INFO, 0, "B8-4753: campaign %s waits until %s (%s)", c->id, args[0],
               r.daily_cap && sent >= r.daily_cap ? "daily cap reached" : "outside its window");
        return 0;
    }
    if (c->waiting_until) {
        const char *args[] = { NULL, c->id };
        if (b8_db_exec(db, p, B8_SQL_CAMPAIGN_SET_WAITING, args, NULL) != APR_SUCCESS) {
            return -1;
        }
    }
    if (r.daily_cap && r.daily_cap - sent < *want) {
        *want = (int)(r.daily_cap - sent);
    }
    return 1;
}

/* Marks up to `want` rows of the first campaign with work 'sending' and
 * commits, then starts their requests. Returns how many started (-1 on a
 * database error); *found is 0 when no campaign has work. */
static int claim(b8_sender *s, apr_pool_t *p, int want, int *found)
{
    b8_db *db = iter_db(s, p);
    const char *cid = NULL, *now;
    b8_campaign *c = NULL;
    job *jobs = NULL, **tail = &jobs;
    int got = 0, skipped = 0;

    *found = 0;
    if (!db || b8_db_begin(db) != APR_SUCCESS) {
        return -1;
    }
    {
        /* Campaigns left waiting (window, cap) are not picked before their time. */
        const char *args[] = { b8_now_iso(p) };
        if (b8_db_value(db, p, B8_SQL_SEND_NEXT_CAMPAIGN, args, &cid) != APR_SUCCESS
            || (cid && b8_campaign_load(db, p, cid, &c) != APR_SUCCESS)) {
            b8_db_rollback(db);
            return -1;
        }
    }
    if (!cid || !c) {
        b8_db_rollback(db);
        return 0;
    }
    *found = 1;
    switch (pace_check(s, db, p, c, &want)) {
    case -1:
        b8_db_rollback(db);
        return -1;
    case 0:
        return b8_db_commit(db) == APR_SUCCESS ? 0 : -1;
    default:
        break;
    }
    now = b8_now_iso(p);
    for (int round = 0; round < CLAIM_ROUNDS && got < want; round++) {
        const char *args[] = { cid, apr_itoa(p, want - got) };
        b8_rows *rows;
        if (b8_db_select(db, p, B8_SQL_SEND_CLAIMABLE, args, &rows) != APR_SUCCESS) {
            goto failed;
        }
        if (rows->nrows == 0) {
            break;
        }
        for (int r = 0; r < rows->nrows; r++) {
            const char *id = B8_GET(rows, r, CLAIMABLE, id);
            int n = 0;
            if (strcmp(B8_GET(rows, r, CLAIMABLE, opted_out), "0") != 0) {
                /* Opted out after being added: skipped, and no interval spent. */
                const char *sk[] = { "opted out", now, id };
                if (b8_db_exec(db, p, B8_SQL_SEND_SKIP, sk, NULL) != APR_SUCCESS) {
                    goto failed;
                }
                skipped++;
                continue;
            }
            {
                const char *mk[] = { now, id };
                if (b8_db_exec(db, p, B8_SQL_SEND_MARK, mk, &n) != APR_SUCCESS) {
                    goto failed;
                }
            }
            if (n == 1) {
                *tail = new_job(s, c, id, B8_GET(rows, r, CLAIMABLE, phone),
                                B8_GET(rows, r, CLAIMABLE, name),
                                B8_GET(rows, r, CLAIMABLE, client_message_id));
                tail = &(*tail)->next;
                got++;
            }
        }
    }
    /* Several servers: the claim commits only while the lease is this
     * worker's, and leaves the send's start for the next holder's pacing. */
    if (got > 0 && s->lease) {
        int ours = 0;
        if (b8_lease_note_send(s->lease, db, p, apr_time_now(), &ours) != APR_SUCCESS) {
            goto failed;
        }
        if (!ours) {
            B8_LOG(B8_LOG_WARNING, 0, "B8-0908: the sender lease is no longer this worker's: "
                   "nothing more is sent from here");
            goto failed;
        }
    }
    /* Crash safety: 'sending' is durable before any request goes out. */
    if (b8_db_commit(db) != APR_SUCCESS) {
        goto discard;
    }
    if (strcmp(s->campaign, cid) != 0) {
        B8_LOG(B8_LOG_INFO, 0, "B8-1425: sending campaign %s", cid);
        apr_cpystrn(s->campaign, cid, sizeof(s->campaign));
    }
    if (skipped) {
        B8_LOG(B8_LOG_INFO, 0, "B8-1426: campaign %s: %d opted-out recipient(s) skipped", cid,
               skipped);
    }
    while (jobs) {
        job *j = jobs;
        jobs = j->next;
        j->next = NULL;
        s->active++;
        start(s, j);
    }
    return got;

failed:
    b8_db_rollback(db);
discard:
    while (jobs) {
        job *j = jobs;
        jobs = j->next;
        apr_pool_destroy(j->pool);
    }
    return -1;
}

static const char *verdict_name(b8_send_verdict v)
{
    switch (v) {
    case B8_SEND_ACCEPTED: return "accepted";
    case B8_SEND_RETRY: return "retry";
    case B8_SEND_FAILED: return "failed";
    case B8_SEND_ACCOUNT: return "account refused";
    default: return "unknown";
    }
}

/* Tells the status page whether 8x8 answers (written only on a change). */
static void note_reach(b8_sender *s, apr_pool_t *p, const b8_http_response *res,
                       const b8_send_result *r)
{
    b8_db *db;

    if (!r->unreachable && res->outcome != B8_HTTP_ANSWERED) {
        return;   /* maybe sent: says nothing about 8x8 */
    }
    if ((db = iter_db(s, p)) != NULL) {
        b8_eightx8_reach_note(db, p, !r->unreachable, r->unreachable ? r->error_message : NULL);
    }
}

/* Takes every answered request: retries wait, the rest is to be recorded. */
static void collect(b8_sender *s, apr_pool_t *p)
{
    b8_http_response res;
    void *baton;

    while (b8_http_multi_done(s->multi, p, &baton, &res)) {
        job *j = baton;
        apr_time_t now = apr_time_now();
        b8_metrics_eightx8(B8_API_CHATAPPS, res.status);
        b8_eightx8_classify(j->pool, &res, &j->tries, &j->result);
        if (j->started && res.outcome == B8_HTTP_ANSWERED) {
            apr_interval_time_t took = now - j->started;
            s->latency = s->latency ? (s->latency * 7 + took) / 8 : took;
            size_in_flight(s);
        }
        B8_LOG(B8_LOG_DEBUG, 0, "B8-1427: message %s to %s: HTTP %ld, %s%s%s", j->id,
               j->phone, res.status, verdict_name(j->result.verdict),
               j->result.error_message ? ": " : "",
               j->result.error_message ? j->result.error_message : "");
        note_reach(s, p, &res, &j->result);
        if (j->result.verdict == B8_SEND_RETRY) {
            j->due = now + j->result.retry_in;
            if ((j->result.rate_limited || j->result.unreachable) && j->due > s->hold_until) {
                /* 429 is about us, an outage about 8x8, not this message:
                 * every send waits (no new claim while 8x8 is away). */
                s->hold_until = j->due;
            }
            j->next = s->waiting;
            s->waiting = j;
        }
        else {
            push_finished(s, j);
        }
    }
}

static apr_status_t write_result(b8_db *db, apr_pool_t *p, const job *j, const char *now)
{
    const b8_send_result *r = &j->result;
    const char *extra = apr_itoa(p, j->requests > 1 ? j->requests - 1 : 0);

    switch (r->verdict) {
    case B8_SEND_ACCEPTED: {
        const char *args[] = { r->umid, now, now, extra, j->id };
        return b8_db_exec(db, p, B8_SQL_SEND_ACCEPTED, args, NULL);
    }
    case B8_SEND_UNKNOWN: {
        const char *args[] = { r->error_message, now, extra, j->id };
        return b8_db_exec(db, p, B8_SQL_SEND_UNKNOWN, args, NULL);
    }
    case B8_SEND_ACCOUNT: {
        /* Not taken: the row waits and its campaign pauses with 8x8's word. */
        const char *back[] = { now, j->id };
        const char *pause[] = { b8_eightx8_refusal_text(p, r), now, j->campaign_id };
        int n = 0;
        apr_status_t rv = b8_db_exec(db, p, B8_SQL_SEND_BACK_PENDING, back, NULL);
        if (rv == APR_SUCCESS
            && (rv = b8_db_exec(db, p, B8_SQL_SEND_PAUSE_REFUSED, pause, &n)) == APR_SUCCESS
            && n > 0) {
            B8_LOG(B8_LOG_WARNING, 0, "B8-4200: campaign %s paused: 8x8 refused the account "
                   "(%s); its recipients stay pending until it is resumed", j->campaign_id,
                   pause[0]);
        }
        return rv;
    }
    default: {
        const char *args[] = { r->error_code, r->error_message, r->error_id, now, extra, j->id };
        return b8_db_exec(db, p, B8_SQL_SEND_FAILED, args, NULL);
    }
    }
}

/* Commits every finished job's outcome in one transaction; on a database
 * error they stay in the list and are written on a later iteration. */
static void record(b8_sender *s, apr_pool_t *p)
{
    b8_db *db;
    const char *now;

    if (!s->finished) {
        return;
    }
    if (!(db = iter_db(s, p)) || b8_db_begin(db) != APR_SUCCESS) {
        return;
    }
    now = b8_now_iso(p);
    for (job *j = s->finished; j; j = j->next) {
        if (write_result(db, p, j, now) != APR_SUCCESS) {
            B8_LOG(B8_LOG_ERR, 0, "B8-1428: cannot record send results (will retry): %s",
                   b8_db_error(db));
            b8_db_rollback(db);
            return;
        }
    }
    if (b8_db_commit(db) != APR_SUCCESS) {
        return;
    }
    while (s->finished) {
        job *j = s->finished;
        s->finished = j->next;
        if (j->result.verdict == B8_SEND_UNKNOWN) {
            B8_LOG(B8_LOG_WARNING, 0, "B8-1429: message %s to %s is unknown: %s", j->id,
                   j->phone, j->result.error_message);
        }
        apr_pool_destroy(j->pool);
        s->active--;
    }
    s->dirty = 1;
}

static void start_retries(b8_sender *s, apr_time_t now)
{
    job **pp = &s->waiting;

    while (*pp) {
        job *j = *pp;
        if (j->due <= now && now >= s->hold_until) {
            *pp = j->next;
            j->next = NULL;
            start(s, j);
        }
        else {
            pp = &j->next;
        }
    }
}

/* Pacing: one start per interval, planned start to planned start, so a
 * late start does not push every later one back. */
static void start_new(b8_sender *s, apr_pool_t *p, apr_time_t now)
{
    int free = s->max_in_flight - s->active, found = 0, n, slots;
    apr_time_t freed = now;

    if (s->conf_error || free <= 0 || now < s->hold_until || now < s->idle_until
        || (s->lease && !b8_lease_held(s->lease))) {
        return;
    }
    /* No more claimed than 8x8's rate lets start now. */
    if ((slots = b8_rate_available(s->conf.sub_account, s->max_rate, now, &freed)) <= 0) {
        s->rate_next = freed;
        return;
    }
    if (slots < free) {
        free = slots;
    }
    if (s->interval > 0) {
        apr_time_t next = s->have_last ? s->planned_last + s->interval : now;
        if (now < next) {
            return;
        }
        n = claim(s, p, 1, &found);
        if (n > 0) {
            /* Less than an interval late: keep the schedule; more (idle, or
             * the in-flight limit was reached): start a new one from now. */
            s->planned_last = s->have_last && now - next < s->interval ? next : now;
            s->have_last = 1;
        }
    }
    else {
        n = claim(s, p, free, &found);
    }
    if (n < 0) {
        s->idle_until = now + DB_RETRY;
    }
    else if (!found) {
        s->idle_until = now + IDLE_POLL;
    }
}

/* The last answer of a campaign is in: Done now rather than at the next
 * minute cron. */
static void finish_campaigns(b8_sender *s, apr_pool_t *p, apr_time_t now)
{
    b8_db *db;
    int done = 0;

    if (!s->dirty || s->active > 0 || now >= s->idle_until || !(db = iter_db(s, p))) {
        return;
    }
    if (b8_campaigns_finish(db, p, &done) == APR_SUCCESS) {
        s->dirty = 0;
    }
}

static apr_interval_time_t wait_time(b8_sender *s, apr_time_t now)
{
    apr_time_t t = now + IDLE_POLL;

    if (s->finished) {
        t = now + apr_time_from_msec(50);
    }
    if (!s->conf_error && s->active < s->max_in_flight) {
        apr_time_t at = now;
        if (s->idle_until > at) at = s->idle_until;
        if (s->hold_until > at) at = s->hold_until;
        if (s->interval > 0 && s->have_last && s->planned_last + s->interval > at) {
            at = s->planned_last + s->interval;
        }
        if (s->rate_next > at) {
            at = s->rate_next;
        }
        if (at < t) t = at;
    }
    for (job *j = s->waiting; j; j = j->next) {
        apr_time_t at = j->due > s->hold_until ? j->due : s->hold_until;
        if (at < t) t = at;
    }
    if (s->settings_at + SETTINGS_EVERY < t && s->active > 0) {
        t = s->settings_at + SETTINGS_EVERY;
    }
    return t > now ? t - now : 0;
}

/* On stop: give the requests in flight a moment, record what came back.
 * Rows still without an answer stay 'sending' and are settled at the next
 * start; nothing is resent. */
static void drain(b8_sender *s, apr_pool_t *iter)
{
    apr_time_t deadline = apr_time_now() + DRAIN_TIME;

    while (b8_http_multi_in_flight(s->multi) > 0 && apr_time_now() < deadline) {
        apr_pool_clear(iter);
        s->db = NULL;
        b8_http_multi_wait(s->multi, apr_time_from_msec(100));
        collect(s, iter);
        record(s, iter);
    }
    apr_pool_clear(iter);
    s->db = NULL;
    collect(s, iter);
    record(s, iter);
    if (s->active > 0) {
        B8_LOG(B8_LOG_NOTICE, 0, "B8-1430: sender stopping with %d message(s) unanswered or "
               "waiting to retry; they are settled at the next start", s->active);
    }
    apr_pool_clear(iter);
    s->db = NULL;
}

void b8_sender_run(b8_sender *s)
{
    apr_pool_t *iter;

    apr_pool_create(&iter, s->pool);
    apr_pool_tag(iter, "blu8x8-sender");
    refresh_settings(s, 1);
    for (;;) {
        int stop = 0, woken = 0;
        apr_time_t now;

        apr_pool_clear(iter);
        s->db = NULL;
        take_flags(s, &stop, &woken);
        if (stop) {
            break;
        }
        if (woken) {
            s->idle_until = 0;
        }
        refresh_settings(s, woken);
        now = apr_time_now();
        collect(s, iter);
        record(s, iter);
        start_retries(s, now);
        start_new(s, iter, apr_time_now());
        finish_campaigns(s, iter, apr_time_now());
        b8_http_multi_wait(s->multi, wait_time(s, apr_time_now()));
    }
    drain(s, iter);
    apr_pool_destroy(iter);
}
