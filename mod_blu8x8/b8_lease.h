/* One active sender across every server on the database: a lease row.
 *
 * Each worker seeks the lease "sender" twice a second until it holds it;
 * the holder renews it every heartbeat and is the only one that runs the
 * campaign sender, the direct lane, the SMS sender, the AI lane and the
 * minute crons (b8_worker.c). A holder that dies stops renewing: its lease
 * expires after the TTL and another worker takes it. A holder that stops
 * cleanly releases it, so the next one takes over within half a second.
 *
 * The holder checks its own clock too: it believes it holds the lease only
 * until TTL - margin after its last successful renewal, so it stops sending
 * before anybody else may start, even when it cannot reach the database.
 * Every claim of campaign rows also writes the send's start time in the
 * lease row, in the claim's own transaction and only while the row still
 * names this owner (a fence), and the next holder paces its first send
 * from that time: the global interval holds across a takeover.
 *
 * On SQLite (one server) the lease is simply always this worker's, except
 * for a moment during a graceful restart, when the old worker still runs. */
#ifndef B8_LEASE_H
#define B8_LEASE_H

#include "b8_store.h"
#include <apr_time.h>

#define B8_LEASE_SENDER "sender"
#define B8_LEASE_TTL apr_time_from_sec(10)

typedef struct b8_lease b8_lease;

/* family: this server (its node name, unique per httpd generation); the
 * owner is "family|pid|random", unique to this worker process. A worker
 * takes the lease at once from a holder of its own family whose process is
 * gone (a worker of this server that was killed): no need to wait for the
 * expiry then. ttl 0: B8_LEASE_TTL. */
apr_status_t b8_lease_create(apr_pool_t *p, const char *name, const char *family,
                             apr_interval_time_t ttl, b8_lease **out);
const char *b8_lease_owner(const b8_lease *l);

/* Takes the lease when free or expired, renews it when ours. Returns 1
 * when this worker holds it after the call; *gained is 1 when it did not
 * hold it before (the caller then settles what a dead holder left). */
int b8_lease_refresh(b8_lease *l, b8_db *db, apr_pool_t *p, int *gained);
/* Any thread: 1 while the last renewal is recent enough to trust. */
int b8_lease_held(b8_lease *l);
/* Gives it up (clean stop): another server may take it at once. */
void b8_lease_release(b8_lease *l, b8_db *db, apr_pool_t *p);

/* Inside the transaction that claims rows to send: records `start` as the
 * last send's start. *ours is 0 when the lease is no longer this worker's:
 * the caller rolls back and sends nothing. */
apr_status_t b8_lease_note_send(b8_lease *l, b8_db *db, apr_pool_t *p, apr_time_t start,
                                int *ours);
/* The last send start any holder recorded (*start 0 when none). */
apr_status_t b8_lease_last_send(const b8_lease *l, b8_db *db, apr_pool_t *p, apr_time_t *start);

#endif
