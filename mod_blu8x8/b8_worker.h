/* The background worker's engine, independent of httpd: a minute ticker
 * (heartbeat and crons), the campaign sender and the direct lane
 * (b8_sender.h) and the AI lane (b8_ai_lane.h), each in its own thread.
 * The glue forks the process and calls b8_worker_run in it. */
#ifndef B8_WORKER_H
#define B8_WORKER_H

#include <signal.h>
#include <apr_file_io.h>
#include <apr_hash.h>
#include "b8_store.h"

typedef struct {
    b8_store *store;
    const apr_hash_t *config;      /* settings pinned by httpd config */
    volatile apr_uint32_t *settings_gen; /* bumped by every save on this server; may be NULL */
    const char *node;              /* this server, for the heartbeat key */
    apr_file_t *wake;              /* read end of the wake-up pipe */
    volatile sig_atomic_t *stop;   /* set by the signal handler */
    apr_interval_time_t heartbeat; /* default 2 s */
    apr_interval_time_t cron;      /* default 60 s */
    int max_in_flight;             /* campaign requests in flight; 0: 64 */
    apr_interval_time_t lease_ttl; /* sender lease (b8_lease.h); 0: B8_LEASE_TTL */
} b8_worker_env;

/* Runs until *env->stop is set; returns after every thread has ended. */
apr_status_t b8_worker_run(apr_pool_t *p, b8_worker_env *env);

#endif
