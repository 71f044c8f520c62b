/* Metrics for Prometheus (handler blu8x8-metrics, text format 0.0.4).
 *
 * Two kinds of figures, both kept as things happen so a scrape reads a few
 * small rows and never counts a big table:
 *  - per server: webhook answers, 8x8 requests, OpenAI request times, this
 *    server's worker. Counters in a shared memory block that httpd's
 *    parent makes before it forks (children and the worker add to it with
 *    atomic increments); they start again from 0 when httpd starts.
 *  - global (every server on the database): messages per channel and state
 *    and the queues, kept by triggers on messages (message_counts,
 *    queue_counts) and campaign_counts. */
#ifndef B8_METRICS_H
#define B8_METRICS_H

#include <apr_pools.h>
#include <apr_time.h>
#include "b8_store.h"

/* The 8x8 APIs the module calls: the label api. */
typedef enum {
    B8_API_CHATAPPS = 0,   /* Viber messages (campaigns, replies, tests) */
    B8_API_SMS,            /* one SMS */
    B8_API_SMS_BATCH,      /* an SMS batch */
    B8_API_COUNT
} b8_api;

/* Size of the shared block b8_metrics_attach takes. */
apr_size_t b8_metrics_size(void);
/* Uses mem (zeroed by its maker, shared by every process of this server)
 * from now on; NULL: nothing is counted (unit tests, tools). */
void b8_metrics_attach(void *mem);

/* Counting: cheap, lock-free, from any thread or process. status 0 for
 * an 8x8 request that got no HTTP answer. */
void b8_metrics_webhook(int status);
void b8_metrics_eightx8(b8_api api, long status);
void b8_metrics_openai(apr_interval_time_t elapsed);
/* The worker's beat (every heartbeat): its pid, whether it holds the
 * sender lease, and the beat interval (worker_up goes 0 after 3 missed
 * beats, or at once when the pid is gone). */
void b8_metrics_worker_beat(long pid, int sender_active, apr_interval_time_t interval);

/* The whole exposition text, in p. db may be NULL (then the database's
 * figures are left out and blu8x8_database_up is 0). */
const char *b8_metrics_render(apr_pool_t *p, b8_db *db, int worker_enabled);

#endif
