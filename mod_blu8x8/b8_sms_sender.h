/* The SMS sender of the worker: sends composed SMS (b8_sms_send.h) through
 * 8x8's SMS batch endpoint, up to 10,000 per request, or the single-send
 * endpoint for a one-recipient send. Not paced by the Viber interval.
 *
 * Crash rule, as for campaigns: a chunk's rows are marked 'sending' and
 * committed before its request; each message's UMID and state (queued, or
 * failed with 8x8's errorCode/errorMessage) are committed after the answer.
 * A request that may have reached 8x8 without an answer leaves its rows
 * 'unknown', never resent automatically. 429 (nothing was accepted): the
 * chunk goes back to 'pending' and is sent again after Retry-After with the
 * same clientMessageIds; 5xx or a connection that failed before the request
 * left: the same with a backoff, a bounded number of times, then failed.
 * The retry time lives in the sms_batches row, so it survives a restart. */
#ifndef B8_SMS_SENDER_H
#define B8_SMS_SENDER_H

#include <apr_hash.h>
#include "b8_settings.h"
#include "b8_store.h"

typedef struct {
    b8_store *store;
    b8_settings_cache *settings;   /* the worker's one snapshot (b8_settings.h) */
} b8_sms_sender_env;

/* Rows left 'sending' by a worker that died are settled from the receipts
 * naming their clientMessageId, or become 'unknown'. The first step of a
 * process calls it; callable on its own before that. */
apr_status_t b8_sms_sender_settle_stale(b8_store *st, apr_pool_t *p, int *settled, int *unknown);

/* One unit of work: one request (a batch chunk of up to 10,000 SMS of the
 * oldest send with work, or the single send of a one-recipient send), or
 * closing a send with nothing left. Returns 1 when it did work (call again
 * at once), 0 when idle; *next_at is when a waiting retry falls due (0:
 * nothing known; wait for a wake-up or a poll). One thread per process
 * calls it; it makes its HTTP request with that thread's client. */
int b8_sms_sender_step(apr_pool_t *p, const b8_sms_sender_env *env, apr_time_t *next_at);

#endif
