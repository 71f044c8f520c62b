/* Campaign actions after Draft (API.md "campaign actions"): the state
 * machine Draft -> Queued -> Sending -> Done with Paused and Cancelled,
 * Send Test, Duplicate, Retry failed, Requeue unknown, the live progress
 * figures, and the two minute crons. The sending itself is b8_sender.h. */
#ifndef B8_CAMPAIGN_ACTIONS_H
#define B8_CAMPAIGN_ACTIONS_H

#include "b8_core.h"

/* Every action answers like b8_campaign_get (the campaign object in *out)
 * or an error: 404 unknown id, 409 (B8_ESTATE, err->state) when the action
 * does not apply to the current state, 422 when the campaign cannot be sent. */

/* Draft or Queued -> Sending (the caller wakes the worker). */
b8_errkind b8_campaign_send(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err);
/* Draft or Queued -> Queued; in: {"send_at": "<ISO 8601>"} optional (null: at the next
 * minute cron). */
b8_errkind b8_campaign_queue(b8_ctx *ctx, const char *id, const cJSON *in, cJSON **out,
                             b8_err *err);
/* Queued -> Draft (unqueue): its send_at is forgotten; editable again. */
b8_errkind b8_campaign_unqueue(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err);
/* Sending -> Paused. */
b8_errkind b8_campaign_pause(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err);
/* Paused -> Sending. */
b8_errkind b8_campaign_resume(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err);
/* Queued, Sending or Paused -> Cancelled; pending recipients become cancelled. */
b8_errkind b8_campaign_cancel(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err);
/* Any state: a new Draft with the same content and recipients (fresh
 * clientMessageIds, pending; contacts who opted out are left out). */
b8_errkind b8_campaign_duplicate(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err);
/* Sending, Paused or Done: failed/undelivered (retry-failed) or unknown
 * (requeue-unknown) recipients back to pending with new clientMessageIds;
 * a Done campaign goes back to Sending. */
b8_errkind b8_campaign_retry_failed(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err);
b8_errkind b8_campaign_requeue_unknown(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err);

/* Send Test: one synchronous send of the campaign's message to one phone
 * (in: {"phone"}, default the logged-in user's phone); touches no recipient.
 * OK: {"umid", "state", "phone", "client_message_id"}. When 8x8 refuses or
 * does not answer: B8_EUPSTREAM and *out = {"error", "code", "http_status"}. */
b8_errkind b8_campaign_send_test(b8_ctx *ctx, const char *id, const cJSON *in, cJSON **out,
                                 b8_err *err);

/* Live progress for the page poll: {"id", "state", "started_at", "done_at",
 * "counts": {<state>: n, "total"}, "processed", "sent", "failed", "percent",
 * "failures": [{"id", "phone", "name", "state", "error_code", "error_message",
 * "updated_at"}]} (the 20 latest failed, undelivered or unknown rows). */
b8_errkind b8_campaign_progress(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err);

/* Cron "send queued campaigns": Queued -> Sending when send_at has come
 * (dated_only: only campaigns with a send_at, for the faster check between
 * minutes). *started = how many. */
apr_status_t b8_campaigns_start_queued(b8_db *db, apr_pool_t *p, int dated_only, int *started);
/* Cron "check UMIDs": Sending -> Done when every recipient has a UMID or has
 * ended for good (failed, skipped, cancelled, undelivered, delivered, read). */
apr_status_t b8_campaigns_finish(b8_db *db, apr_pool_t *p, int *finished);

#endif
