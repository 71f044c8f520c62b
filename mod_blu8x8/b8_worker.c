#include "b8_worker.h"
#include "b8_metrics.h"
#include "b8_ai_lane.h"
#include "b8_campaign_actions.h"
#include "b8_core.h"
#include "b8_http.h"
#include "b8_lease.h"
#include "b8_log.h"
#include "b8_runtime.h"
#include "b8_sender.h"
#include "b8_sms_sender.h"
#include "b8_util.h"

#include <unistd.h>
#include <apr_poll.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#define LANE_POLL apr_time_from_sec(1)  /* lanes look for work without a wake-up */
#define LEASE_TRY apr_time_from_msec(500) /* a worker without the lease looks again */

typedef struct engines engines;

typedef struct {
    b8_worker_env *env;
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *changed;   /* signalled on stop and on wake-ups */
    int stopping;
    unsigned long wakeups;
    const char *started_at;
    apr_pool_t *pool;
    b8_sender *sender;            /* campaign rows, paced */
    b8_direct *direct;            /* confirmations, AI replies, agent pings */
    b8_settings_cache *settings;  /* one snapshot every lane reads, reloaded once per save */
    int engines_on;               /* the senders and lanes run: while this worker
                                   * holds the sender lease (one sender for all
                                   * servers on the database) */
    int kick;                     /* the ticker should look now */
    b8_lease *lease;
    engines *eng;                 /* started by the ticker on taking the lease */
    int wait_logged;
    apr_status_t failed;          /* the engines could not start */
} worker_state;

/* One of the flags w->lock guards, read under it. */
static int flag(worker_state *w, const int *field)
{
    int v;
    apr_thread_mutex_lock(w->lock);
    v = *field;
    apr_thread_mutex_unlock(w->lock);
    return v;
}

static int stopping(worker_state *w)
{
    return flag(w, &w->stopping);
}

/* Sleeps until the deadline, a wake-up or stop; returns 0 when stopping. */
static int wait_until(worker_state *w, apr_time_t deadline)
{
    int go_on;
    apr_thread_mutex_lock(w->lock);
    while (!w->stopping && !w->kick) {
        apr_time_t now = apr_time_now();
        if (now >= deadline) {
            break;
        }
        apr_thread_cond_timedwait(w->changed, w->lock, deadline - now);
    }
    w->kick = 0;
    go_on = !w->stopping;
    apr_thread_mutex_unlock(w->lock);
    return go_on;
}

static int engines_on(worker_state *w)
{
    return flag(w, &w->engines_on);
}

/* Send Now, Resume, a new confirmation: the senders look at once. */
static void wake_engines(worker_state *w, int direct_too)
{
    apr_thread_mutex_lock(w->lock);
    if (w->engines_on) {
        b8_sender_wake(w->sender);
        if (direct_too) {
            b8_direct_wake(w->direct);
        }
    }
    apr_thread_mutex_unlock(w->lock);
}

/* From any thread: the worker ends (the parent starts a new one). */
static void stop_worker(worker_state *w)
{
    *w->env->stop = 1;
    apr_thread_mutex_lock(w->lock);
    w->stopping = 1;
    apr_thread_cond_broadcast(w->changed);
    apr_thread_mutex_unlock(w->lock);
}

static void write_heartbeat(worker_state *w, apr_pool_t *p)
{
    b8_db *db;
    const char *value;
    int active = engines_on(w) && b8_lease_held(w->lease);

    b8_metrics_worker_beat((long)getpid(), active, w->env->heartbeat);
    if (b8_db_get(w->env->store, p, &db) != APR_SUCCESS) {
        return;
    }
    value = apr_psprintf(p, "{\"pid\":%ld,\"started_at\":\"%s\",\"last_tick\":\"%s\","
                         "\"active\":%s}", (long)getpid(), w->started_at, b8_now_iso(p),
                         active ? "true" : "false");
    if (b8_runtime_put(db, p, b8_worker_key(p, w->env->node), value) != APR_SUCCESS) {
        B8_LOG(B8_LOG_WARNING, 0, "B8-0201: cannot record the worker heartbeat: %s",
               b8_db_error(db));
    }
}

static void record_cron(apr_pool_t *p, b8_db *db, const char *name)
{
    if (b8_runtime_put(db, p, apr_pstrcat(p, "cron:", name, NULL), b8_now_iso(p)) != APR_SUCCESS) {
        B8_LOG(B8_LOG_WARNING, 0, "B8-0202: cannot record cron %s: %s", name, b8_db_error(db));
    }
}

/* Queued campaigns whose time has come go to the sender. The minute cron
 * takes every due one; between minutes (dated_only) the heartbeat starts
 * those with a send_at, so "send at 20:00" starts at 20:00, not 20:00:59. */
static void start_queued(worker_state *w, apr_pool_t *p, b8_db *db, int dated_only)
{
    int started = 0;

    if (b8_campaigns_start_queued(db, p, dated_only, &started) != APR_SUCCESS) {
        B8_LOG(B8_LOG_WARNING, 0, "B8-1461: cron send_queued: %s", b8_db_error(db));
        return;
    }
    if (!dated_only) {
        record_cron(p, db, "send_queued");
    }
    if (started > 0) {
        wake_engines(w, 0);
    }
}

static void check_umids(apr_pool_t *p, b8_db *db)
{
    int done = 0;

    if (b8_campaigns_finish(db, p, &done) != APR_SUCCESS) {
        B8_LOG(B8_LOG_WARNING, 0, "B8-1462: cron check_umids: %s", b8_db_error(db));
        return;
    }
    record_cron(p, db, "check_umids");
}

/* The minute crons (also run once at start). */
static void run_crons(worker_state *w, apr_pool_t *p)
{
    b8_db *db;
    if (b8_db_get(w->env->store, p, &db) != APR_SUCCESS) {
        return;
    }
    start_queued(w, p, db, 0);
    check_umids(p, db);
}

static void start_dated(worker_state *w, apr_pool_t *p)
{
    b8_db *db;
    if (b8_db_get(w->env->store, p, &db) == APR_SUCCESS) {
        start_queued(w, p, db, 1);
    }
}

static void keep_lease(worker_state *w, apr_pool_t *p);

/* The lease first (renewed every beat, sought twice a second), then the
 * crons where the senders run, then the heartbeat: a worker shown running
 * has already run its crons if it sends. */
static void *APR_THREAD_FUNC ticker_main(apr_thread_t *t, void *data)
{
    worker_state *w = data;
    apr_pool_t *iter;
    apr_time_t start = apr_time_now(), next_beat = start, next_cron = start, next_try = start;

    apr_pool_create(&iter, NULL);
    while (!stopping(w)) {
        apr_time_t now = apr_time_now(), deadline;
        int on = engines_on(w);
        if (on ? now >= next_beat : now >= next_try) {
            keep_lease(w, iter);
            next_try = now + LEASE_TRY;
            if (!on && engines_on(w)) {
                on = 1;
                next_cron = now;      /* the crons run at once on taking over */
            }
        }
        if (on && now >= next_cron && !stopping(w)) {
            run_crons(w, iter);
            while (next_cron <= now) {
                next_cron += w->env->cron;
            }
        }
        if (now >= next_beat) {
            if (on && !stopping(w)) {
                start_dated(w, iter);
            }
            write_heartbeat(w, iter);
            /* Paced from the start, so ticks do not drift. */
            while (next_beat <= now) {
                next_beat += w->env->heartbeat;
            }
        }
        apr_pool_clear(iter);
        deadline = next_beat;
        if (on && next_cron < deadline) deadline = next_cron;
        if (!on && next_try < deadline) deadline = next_try;
        wait_until(w, deadline);
    }
    apr_pool_destroy(iter);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

/* Drains the wake-up pipe; each byte means "look at the queue now". */
static int drain_wake(apr_file_t *f)
{
    char buf[256];
    apr_size_t n;
    int got = 0;
    do {
        n = sizeof(buf);
        if (apr_file_read(f, buf, &n) != APR_SUCCESS) {
            break;
        }
        got += (int)n;
    } while (n == sizeof(buf));
    return got;
}

/* Sleeps until the deadline, stop, or a wake-up after the one numbered
 * `seen`; returns 0 when stopping. */
static int wait_wake(worker_state *w, apr_time_t deadline, unsigned long seen)
{
    int go_on;
    apr_thread_mutex_lock(w->lock);
    while (!w->stopping && w->wakeups == seen) {
        apr_time_t now = apr_time_now();
        if (now >= deadline) {
            break;
        }
        apr_thread_cond_timedwait(w->changed, w->lock, deadline - now);
    }
    go_on = !w->stopping;
    apr_thread_mutex_unlock(w->lock);
    return go_on;
}

static unsigned long wakeups(worker_state *w)
{
    unsigned long n;
    apr_thread_mutex_lock(w->lock);
    n = w->wakeups;
    apr_thread_mutex_unlock(w->lock);
    return n;
}

/* The AI lane writes replies and agent pings as pending rows: the direct
 * lane sends them. */
static void wake_direct(void *baton)
{
    b8_direct_wake(((worker_state *)baton)->direct);
}

/* A lane runs a core step function in a loop: one unit of work per step
 * (one phone's texts for the AI lane, one batch request for SMS); between
 * steps it sleeps until something is due, a wake-up or a poll. */
typedef struct {
    worker_state *w;
    int (*step)(apr_pool_t *p, const void *env, apr_time_t *next_at);
    const void *env;
    const char *tag;
} lane_loop;

static void *APR_THREAD_FUNC lane_main(apr_thread_t *t, void *data)
{
    lane_loop *lane = data;
    worker_state *w = lane->w;
    apr_pool_t *iter;

    apr_pool_create(&iter, NULL);
    apr_pool_tag(iter, lane->tag);
    while (!stopping(w)) {
        unsigned long seen = wakeups(w);
        apr_time_t next_at = 0, deadline;
        apr_pool_clear(iter);
        if (lane->step(iter, lane->env, &next_at)) {
            continue;
        }
        deadline = apr_time_now() + LANE_POLL;
        if (next_at > 0 && next_at < deadline) {
            deadline = next_at;
        }
        wait_wake(w, deadline, seen);
    }
    apr_pool_destroy(iter);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

static int ai_step(apr_pool_t *p, const void *env, apr_time_t *next_at)
{
    return b8_ai_lane_step(p, env, next_at);
}

static int sms_step(apr_pool_t *p, const void *env, apr_time_t *next_at)
{
    return b8_sms_sender_step(p, env, next_at);
}

static void *APR_THREAD_FUNC sender_main(apr_thread_t *t, void *data)
{
    b8_sender_run(data);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

static void *APR_THREAD_FUNC direct_main(apr_thread_t *t, void *data)
{
    b8_direct_run(data);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

/* Before any thread sends: rows a dead worker left 'sending' are settled
 * from receipts or become 'unknown', never resent. */
static apr_status_t start_engines(worker_state *w, apr_pool_t *p)
{
    b8_worker_env *env = w->env;
    int settled = 0, unknown = 0;
    apr_status_t rv;

    if ((rv = b8_http_global_init()) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = b8_sender_settle_stale(env->store, p, &settled, &unknown)) != APR_SUCCESS) {
        B8_LOG(B8_LOG_ERR, rv, "B8-1463: cannot settle interrupted sends; not sending");
        return rv;
    }
    if ((rv = b8_sender_create(p, env->store, w->settings, env->max_in_flight, &w->sender))
            != APR_SUCCESS
        || (rv = b8_direct_create(p, env->store, w->settings, &w->direct)) != APR_SUCCESS) {
        B8_LOG(B8_LOG_ERR, rv, "B8-1464: cannot create the senders");
        return rv;
    }
    return APR_SUCCESS;
}

/* What runs only while this worker holds the lease. */
struct engines {
    apr_thread_t *sender, *direct, *ai, *sms;
    b8_ai_lane_env ai_env;
    b8_sms_sender_env sms_env;
    lane_loop ai_loop, sms_loop;
};

/* Settles what a dead worker left, then starts the sending threads. */
static apr_status_t engines_start(worker_state *w, engines *e, apr_pool_t *p)
{
    apr_thread_t *t;
    apr_status_t rv;

    if ((rv = start_engines(w, p)) != APR_SUCCESS) {
        return rv;
    }
    {
        /* The interval runs on from the previous holder's last send. */
        apr_pool_t *tp;
        b8_db *db;
        apr_time_t last = 0;
        apr_pool_create(&tp, p);
        if (b8_db_get(w->env->store, tp, &db) == APR_SUCCESS) {
            b8_lease_last_send(w->lease, db, tp, &last);
        }
        apr_pool_destroy(tp);
        b8_sender_use_lease(w->sender, w->lease, last);
    }
    memset(e, 0, sizeof(*e));
    e->ai_env.store = w->env->store;
    e->ai_env.settings = w->settings;
    e->ai_env.wake_senders = wake_direct;
    e->ai_env.baton = w;
    e->ai_loop = (lane_loop){ w, ai_step, &e->ai_env, "blu8x8-ai-lane" };
    e->sms_env.store = w->env->store;
    e->sms_env.settings = w->settings;
    e->sms_loop = (lane_loop){ w, sms_step, &e->sms_env, "blu8x8-sms" };
    /* apr_thread_create fills its out-pointer even on failure: keep our own. */
    if ((rv = apr_thread_create(&t, NULL, sender_main, w->sender, p)) != APR_SUCCESS) {
        return rv;
    }
    e->sender = t;
    if ((rv = apr_thread_create(&t, NULL, direct_main, w->direct, p)) != APR_SUCCESS) {
        return rv;
    }
    e->direct = t;
    if ((rv = apr_thread_create(&t, NULL, lane_main, &e->ai_loop, p)) != APR_SUCCESS) {
        return rv;
    }
    e->ai = t;
    if ((rv = apr_thread_create(&t, NULL, lane_main, &e->sms_loop, p)) != APR_SUCCESS) {
        return rv;
    }
    e->sms = t;
    return APR_SUCCESS;
}

static void engines_join(worker_state *w, engines *e)
{
    apr_status_t trv;

    if (w->sender) {
        b8_sender_stop(w->sender);
    }
    if (w->direct) {
        b8_direct_stop(w->direct);
    }
    if (e->sender) apr_thread_join(&trv, e->sender);
    if (e->direct) apr_thread_join(&trv, e->direct);
    if (e->sms) apr_thread_join(&trv, e->sms);
    if (e->ai) apr_thread_join(&trv, e->ai);
    b8_sender_destroy(w->sender);
    b8_direct_destroy(w->direct);
}

/* Starts the senders and lanes: called once this worker holds the lease. */
static apr_status_t start_sending(worker_state *w, apr_pool_t *p)
{
    apr_status_t rv = engines_start(w, w->eng, w->pool);

    (void)p;
    apr_thread_mutex_lock(w->lock);
    w->engines_on = rv == APR_SUCCESS;
    w->kick = 1;                  /* the crons run once at start */
    apr_thread_cond_broadcast(w->changed);
    apr_thread_mutex_unlock(w->lock);
    if (rv != APR_SUCCESS) {
        B8_LOG(B8_LOG_ERR, rv, "B8-4500: cannot start the sending threads");
    }
    return rv;
}

/* The one place that decides whether this worker sends: the holder of the
 * sender lease does (b8_lease.h); the others wait for it, with their ticker
 * and heartbeat only. A holder whose lease is lost, or was lost for a while,
 * stops the whole worker: the parent starts a new one, which settles and
 * waits like any other, so a worker never has to stop its threads and
 * start them again. */
static void keep_lease(worker_state *w, apr_pool_t *p)
{
    int on = engines_on(w), held, gained = 0;
    b8_db *db;
    apr_status_t rv;

    if (b8_db_get(w->env->store, p, &db) == APR_SUCCESS) {
        held = b8_lease_refresh(w->lease, db, p, &gained);
    }
    else {
        held = b8_lease_held(w->lease);
    }
    if (on) {
        if (!held || gained) {
            B8_LOG(B8_LOG_ERR, 0, "B8-0907: this worker no longer holds the sender lease; it "
                   "stops so that only one worker sends (a new one starts and waits)");
            stop_worker(w);
        }
        return;
    }
    if (!held) {
        if (!w->wait_logged) {
            B8_LOG(B8_LOG_NOTICE, 0, "B8-0909: another worker holds the sender lease: this one "
                   "waits (one sender for every server on the database)");
            w->wait_logged = 1;
        }
        return;
    }
    if ((rv = start_sending(w, p)) != APR_SUCCESS) {
        w->failed = rv;
        b8_lease_release(w->lease, db, p);
        stop_worker(w);
    }
}

apr_status_t b8_worker_run(apr_pool_t *p, b8_worker_env *env)
{
    worker_state w;
    engines e;
    apr_thread_t *ticker = NULL;
    apr_pollfd_t pfd;
    apr_status_t rv, trv;

    memset(&w, 0, sizeof(w));
    memset(&e, 0, sizeof(e));
    w.env = env;
    w.eng = &e;
    /* The engines are made by the ticker thread while the store allocates
     * from p (its connection pool, under its lock): a pool of their own. */
    if ((rv = apr_pool_create(&w.pool, p)) != APR_SUCCESS) {
        return rv;
    }
    w.started_at = b8_now_iso(p);
    if (!env->heartbeat) env->heartbeat = apr_time_from_sec(2);
    if (!env->cron) env->cron = apr_time_from_sec(60);
    if ((rv = b8_http_global_init()) != APR_SUCCESS
        || (rv = b8_lease_create(p, B8_LEASE_SENDER, env->node, env->lease_ttl, &w.lease))
               != APR_SUCCESS
        || (rv = b8_settings_cache_create(p, env->config, env->settings_gen, &w.settings))
               != APR_SUCCESS
        || (rv = apr_thread_mutex_create(&w.lock, APR_THREAD_MUTEX_DEFAULT, p)) != APR_SUCCESS
        || (rv = apr_thread_cond_create(&w.changed, p)) != APR_SUCCESS
        || (rv = apr_thread_create(&ticker, NULL, ticker_main, &w, p)) != APR_SUCCESS) {
        B8_LOG(B8_LOG_ERR, rv, "B8-0203: cannot start the worker threads");
        return rv;
    }
    B8_LOG(B8_LOG_INFO, 0, "B8-0204: worker %ld started", (long)getpid());

    memset(&pfd, 0, sizeof(pfd));
    pfd.p = p;
    pfd.desc_type = APR_POLL_FILE;
    pfd.desc.f = env->wake;
    pfd.reqevents = APR_POLLIN;
    while (!*env->stop) {
        apr_int32_t nready = 0;
        if (env->wake) {
            apr_status_t prv = apr_poll(&pfd, 1, &nready, apr_time_from_msec(500));
            if (prv == APR_SUCCESS && nready > 0 && drain_wake(env->wake) > 0) {
                apr_thread_mutex_lock(w.lock);
                w.wakeups++;
                apr_thread_cond_broadcast(w.changed);
                apr_thread_mutex_unlock(w.lock);
                wake_engines(&w, 1);
            }
        }
        else {
            apr_sleep(apr_time_from_msec(500));
        }
    }
    apr_thread_mutex_lock(w.lock);
    w.stopping = 1;
    apr_thread_cond_broadcast(w.changed);
    apr_thread_mutex_unlock(w.lock);
    /* The ticker first: it is the one that may start the engines. */
    apr_thread_join(&trv, ticker);
    engines_join(&w, &e);
    if (w.engines_on) {
        /* Answers recorded: the next worker (a graceful restart's, or another
         * server's) need not wait for the lease to expire. */
        apr_pool_t *tp;
        b8_db *db;
        apr_pool_create(&tp, p);
        if (b8_db_get(env->store, tp, &db) == APR_SUCCESS) {
            b8_lease_release(w.lease, db, tp);
        }
        apr_pool_destroy(tp);
    }
    B8_LOG(B8_LOG_INFO, 0, "B8-0205: worker %ld stopped", (long)getpid());
    return w.failed != APR_SUCCESS ? w.failed : rv;
}
