/* A sliding window per sub-account: the start times of the last max_rate
 * requests in a ring; a request may start once the oldest of them is a
 * window old. Exact, unlike a per-second counter, whose two halves of
 * adjacent seconds could carry twice the rate in one second. The starts
 * are also spread evenly (a window / max_rate apart, small catch-up bursts
 * allowed): a whole second's worth started at once would reach 8x8 with
 * the jitter of as many new connections, some into the next window. */
#include "b8_rate.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

#define MAX_KEYS 8          /* sub-accounts: Viber's and SMS's, a few changes */
#define CATCH_UP apr_time_from_msec(20)   /* a late start may take this much */

typedef struct {
    char key[128];
    int cap;                /* the ring's size: the max_rate it was made for */
    apr_time_t *ring;       /* start times, oldest at head */
    int head, count;
    apr_time_t used;        /* last use, to recycle the slot of a stale key */
    apr_time_t tat;         /* the even schedule's next start */
} window;

static apr_thread_mutex_t *lock;
static window windows[MAX_KEYS];
static apr_time_t hold;

apr_status_t b8_rate_init(apr_pool_t *p)
{
    if (lock) {
        return APR_SUCCESS;
    }
    return apr_thread_mutex_create(&lock, APR_THREAD_MUTEX_DEFAULT, p);
}

static int rate_of(int max_rate)
{
    return max_rate > 0 ? max_rate : B8_RATE_DEFAULT;
}

/* The window of key sized for rate (lock held); NULL when out of memory. */
static window *find(const char *key, int rate, apr_time_t now)
{
    window *w = NULL, *oldest = &windows[0];

    key = key ? key : "";
    for (int i = 0; i < MAX_KEYS; i++) {
        if (windows[i].ring && strcmp(windows[i].key, key) == 0) {
            w = &windows[i];
            break;
        }
        if (!windows[i].ring || windows[i].used < oldest->used) {
            oldest = &windows[i];
        }
    }
    if (!w) {
        w = oldest;
        free(w->ring);
        memset(w, 0, sizeof(*w));
        apr_cpystrn(w->key, key, sizeof(w->key));
    }
    if (w->cap != rate) {
        /* A new rate: keep the newest starts that fit. */
        apr_time_t *ring = malloc(sizeof(*ring) * (size_t)rate);
        int keep = w->count < rate ? w->count : rate;
        if (!ring) {
            return NULL;
        }
        for (int i = 0; i < keep; i++) {
            ring[i] = w->ring[(w->head + w->count - keep + i) % w->cap];
        }
        free(w->ring);
        w->ring = ring;
        w->cap = rate;
        w->head = 0;
        w->count = keep;
    }
    while (w->count > 0 && w->ring[w->head] <= now - B8_RATE_WINDOW) {
        w->head = (w->head + 1) % w->cap;
        w->count--;
    }
    w->used = now;
    return w;
}

apr_time_t b8_rate_take(const char *key, int max_rate, apr_time_t now)
{
    apr_time_t next = 0;
    window *w;

    if (!lock) {
        return 0;
    }
    apr_thread_mutex_lock(lock);
    if (now < hold) {
        next = hold;
    }
    else if ((w = find(key, rate_of(max_rate), now)) != NULL) {
        apr_interval_time_t gap = B8_RATE_WINDOW / w->cap;
        if (w->count >= w->cap) {
            next = w->ring[w->head] + B8_RATE_WINDOW;
        }
        else if (w->tat - CATCH_UP > now) {
            next = w->tat - CATCH_UP;
        }
        else {
            w->ring[(w->head + w->count) % w->cap] = now;
            w->count++;
            w->tat = (w->tat > now ? w->tat : now) + gap;
        }
    }
    apr_thread_mutex_unlock(lock);
    return next;
}

int b8_rate_available(const char *key, int max_rate, apr_time_t now, apr_time_t *next)
{
    int n = rate_of(max_rate);
    window *w;

    *next = now;
    if (!lock) {
        return n;
    }
    apr_thread_mutex_lock(lock);
    if (now < hold) {
        n = 0;
        *next = hold;
    }
    else if ((w = find(key, n, now)) != NULL) {
        apr_interval_time_t gap = B8_RATE_WINDOW / w->cap;
        apr_time_t from = w->tat > now ? w->tat : now;
        /* Starts the even schedule allows by now + CATCH_UP. */
        long even = from - CATCH_UP > now ? 0 : (long)((now + CATCH_UP - from) / gap) + 1;
        n = w->cap - w->count;
        if (n == 0) {
            *next = w->ring[w->head] + B8_RATE_WINDOW;
        }
        else if (even == 0) {
            n = 0;
            *next = from - CATCH_UP;
        }
        else if (even < n) {
            n = (int)even;
        }
    }
    apr_thread_mutex_unlock(lock);
    return n;
}

void b8_rate_wait(const char *key, int max_rate)
{
    apr_time_t now, at;

    while ((at = b8_rate_take(key, max_rate, now = apr_time_now())) != 0) {
        apr_sleep(at > now ? at - now : 1000);
    }
}

void b8_rate_hold_until(apr_time_t t)
{
    if (!lock) {
        return;
    }
    apr_thread_mutex_lock(lock);
    if (t > hold) {
        hold = t;
    }
    apr_thread_mutex_unlock(lock);
}

void b8_rate_reset(void)
{
    if (!lock) {
        return;
    }
    apr_thread_mutex_lock(lock);
    hold = 0;
    for (int i = 0; i < MAX_KEYS; i++) {
        free(windows[i].ring);
        memset(&windows[i], 0, sizeof(windows[i]));
    }
    apr_thread_mutex_unlock(lock);
}
