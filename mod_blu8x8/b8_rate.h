/* 8x8's rate limit (Blu8x8MaxRate, 1,800 requests/s per sub-account by
 * 8x8's documentation): one limiter per process for every lane that calls
 * 8x8 (campaign sender, SMS sender, direct lane, AI replies), keyed by
 * sub-account. No window of B8_RATE_WINDOW carries more than max_rate
 * request starts to one sub-account. Only the sender-lease holder's worker
 * runs these lanes, so one process limits what all servers send. */
#ifndef B8_RATE_H
#define B8_RATE_H

#include <apr_pools.h>
#include <apr_time.h>

/* One second, plus a margin for the network moving arrivals closer
 * together than their starts were. */
#define B8_RATE_WINDOW (apr_time_from_sec(1) + apr_time_from_msec(40))
#define B8_RATE_DEFAULT 1800

/* Once per process, before the lanes' threads start; until then every
 * request is allowed (a child's Send Test). */
apr_status_t b8_rate_init(apr_pool_t *p);

/* Takes a slot for one request to sub-account key now: 0 when taken, else
 * the time the next slot frees (nothing taken). max_rate <= 0: default. */
apr_time_t b8_rate_take(const char *key, int max_rate, apr_time_t now);

/* How many requests could start now (at most max_rate); *next: when one
 * more frees, meaningful when the answer is 0. */
int b8_rate_available(const char *key, int max_rate, apr_time_t now, apr_time_t *next);

/* Blocks until a slot is taken (lanes that send one request at a time). */
void b8_rate_wait(const char *key, int max_rate);

/* No request of any sub-account starts before t (a new lease holder after
 * the previous one's last send). */
void b8_rate_hold_until(apr_time_t t);

/* Tests: forgets every window. */
void b8_rate_reset(void);

#endif
