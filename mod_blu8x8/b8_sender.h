/* The senders inside the worker process.
 *
 * Campaign sender (b8_sender.c): one thread, one libcurl multi handle. One
 * global interval (the effective send_interval, re-read while running)
 * separates the *starts* of two sends across all campaigns, measured start
 * to start without drift; requests overlap up to an in-flight limit when
 * 8x8 answers slower than the interval; interval 0 fills that limit.
 * Campaigns go in the order they became Queued/Sending, recipients in
 * insertion order; a paused or cancelled campaign stops within one interval;
 * opted-out contacts are skipped at send time.
 *
 * Direct lane (b8_direct.c): outbound Viber messages that are not campaign
 * rows (confirmations, AI replies, agent pings), sent promptly by their own
 * thread, never behind a campaign and not paced by the campaign interval.
 *
 * Crash safety, both: a row is marked 'sending' and committed before its
 * request; its UMID and state are committed after the answer. A row found
 * 'sending' at start is settled from a receipt naming its clientMessageId,
 * otherwise it becomes 'unknown': never resent automatically. Only the human
 * actions retry-failed / requeue-unknown put a row back to pending. */
#ifndef B8_SENDER_H
#define B8_SENDER_H

#include <apr_hash.h>
#include "b8_settings.h"
#include "b8_store.h"

#define B8_SENDER_MAX_IN_FLIGHT 64

/* At worker start, before any sender runs: every row left 'sending' by a
 * worker that died is settled or becomes 'unknown'. */
apr_status_t b8_sender_settle_stale(b8_store *st, apr_pool_t *p, int *settled, int *unknown);

typedef struct b8_sender b8_sender;

/* max_in_flight 0: B8_SENDER_MAX_IN_FLIGHT. */
apr_status_t b8_sender_create(apr_pool_t *p, b8_store *st, b8_settings_cache *settings,
                              int max_in_flight, b8_sender **out);
/* Several servers: claims only while `lease` is held, each in a
 * transaction that checks it; last_start is the previous holder's last send
 * start (0: none), the interval runs from there. Before b8_sender_run. */
struct b8_lease;
void b8_sender_use_lease(b8_sender *s, struct b8_lease *lease, apr_time_t last_start);
/* Runs in its own thread until b8_sender_stop; then waits a moment for
 * requests in flight and returns. */
void b8_sender_run(b8_sender *s);
/* Any thread: look for work now (Send Now, Resume, settings changed). */
void b8_sender_wake(b8_sender *s);
void b8_sender_stop(b8_sender *s);
/* After b8_sender_run has returned. */
void b8_sender_destroy(b8_sender *s);

typedef struct b8_direct b8_direct;

apr_status_t b8_direct_create(apr_pool_t *p, b8_store *st, b8_settings_cache *settings,
                              b8_direct **out);
void b8_direct_run(b8_direct *d);
void b8_direct_wake(b8_direct *d);
void b8_direct_stop(b8_direct *d);
void b8_direct_destroy(b8_direct *d);

#endif
