/* SMS with sender accounts: the composer (one send = one sms_batches row
 * and one messages row per recipient, kind and channel 'sms'), the SMS log
 * and its CSV export. Sending is the worker's (b8_sms_sender.h). */
#ifndef B8_SMS_SEND_H
#define B8_SMS_SEND_H

#include "b8_core.h"
#include <apr_tables.h>
#include "b8_campaigns.h"   /* b8_write_fn */

/* Rows per transaction while a send is composed. */
#define B8_SMS_COMPOSE_CHUNK 5000
/* A send's answer lists at most this many invalid entries ("invalid_count" has all). */
#define B8_SMS_MAX_INVALID 1000

/* The effective sender accounts (sms_senders), the default first. */
apr_array_header_t *b8_sms_send_senders(const b8_ctx *ctx);

/* POST /api/sms. in: {"sender" (default: the first account), "text",
 * "phones": [..] (or one string, numbers separated by new lines, commas or
 * semicolons), "contact_ids": [..], "tags": [names]}. Validates the sender,
 * the text (not empty, at most 10 parts) and that some recipient is given;
 * normalises phones to E.164, skips and counts opted-out contacts, collapses
 * duplicates, expands {name} and {phone} per recipient. The rows exist, state
 * 'pending', when it returns. out: {"id", "recipients", "opted_out",
 * "duplicates", "invalid": [{"value", "reason"}], "invalid_count",
 * "sender", "encoding", "parts"}. */
b8_errkind b8_sms_send_compose(b8_ctx *ctx, const cJSON *in, cJSON **out, b8_err *err);

/* The SMS lane after an account refusal: {"paused": bool, "reason",
 * "since"}. Resume clears the pause (the caller wakes the worker); saving
 * settings does it too. */
cJSON *b8_sms_send_lane_json(b8_ctx *ctx);
b8_errkind b8_sms_send_resume(b8_ctx *ctx, cJSON **out, b8_err *err);

/* The SMS log, newest first; sender and state filter (NULL or "" = any; an
 * unknown state is a validation error). Items: {"id", "created_at",
 * "sender", "phone", "name", "text", "encoding", "parts", "umid", "state",
 * "error_code", "error_message", "price", "batch_id", "client_message_id",
 * "contact_id", "updated_at"}. */
b8_errkind b8_sms_send_list(b8_ctx *ctx, const char *sender, const char *state, const b8_paging *pg,
                       cJSON **out, b8_err *err);

/* One send: {"id", "sender", "text", "state": composing|pending|sending|done|
 * cancelled, "total", "created_by", "created_at", "started_at", "done_at",
 * "retry_at", "last_error", "counts": {<state>: n, "total": n}, "with_umid"}. */
b8_errkind b8_sms_send_batch_get(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err);

/* sms.csv with the same filters, oldest first: the header row
 * created_at,sender,phone,name,text,encoding,parts,umid,state,error_code,
 * error_message, then the rows, given to write() in chunks. */
b8_errkind b8_sms_send_export(b8_ctx *ctx, const char *sender, const char *state, b8_write_fn *write,
                         void *baton, b8_err *err);

#endif
