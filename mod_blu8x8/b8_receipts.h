/* Delivery receipts: the state order of an outbound message and the
 * settling of a message from the receipts stored for it. Used by the
 * webhook (receipts as they come) and by the sender (a row whose request
 * may have reached 8x8 before a crash). */
#ifndef B8_RECEIPTS_H
#define B8_RECEIPTS_H

#include "b8_core.h"
#include "b8_states.h"

/* 1 when a receipt saying `to` on to_channel moves a message in `state` on
 * `channel`: forward on the same channel; on the fallback's next channel
 * (SMS after Viber) from any state but a delivery or read it does not
 * match; never back to an earlier channel. */
int b8_receipt_moves(const char *state, const char *channel, const char *to,
                     const char *to_channel);

/* Applies every stored receipt naming this clientMessageId (or the
 * message's UMID) that no message took yet to its message
 * (UMID, state forward only, error code/message, times) and, when the
 * message belongs to a campaign whose every recipient is now delivered or
 * read, makes the campaign Done. Must be called inside a transaction.
 * *settled is 1 when a receipt was found. */
apr_status_t b8_receipts_settle(b8_db *db, apr_pool_t *p, const char *client_message_id,
                                int *settled);

/* Rows a stopped worker left 'sending' (stale_sql answers id and
 * clientMessageId of those after an id, in id order): each is settled by the
 * receipts naming it or else becomes 'unknown' with reason, never resent
 * automatically. Counts both. */
apr_status_t b8_receipts_settle_stale(b8_store *st, apr_pool_t *p, b8_sql_id stale_sql,
                                      const char *reason, int *settled, int *unknown);

/* One delivery receipt as 8x8 sent it: state is 8x8's (queued, sent,
 * delivered, read, undelivered, rejected); event_at is ISO 8601 UTC or NULL;
 * price is "<total> <currency>" or NULL. */
typedef struct {
    const char *umid, *client_message_id, *namespace_name, *state, *detail;
    const char *error_code, *error_message, *price, *event_at;
    /* The channel the receipt is about, lowercase ("viber", "sms"); NULL:
     * the message's own. A receipt from a later channel of the fallback
     * (SMS after Viber) moves the message to that channel. */
    const char *channel;
} b8_receipt;

/* Keeps the receipt (table receipts) and applies it to its message, found by
 * UMID, else by clientMessageId (then the UMID is recorded on the row), with
 * the rules of b8_receipts_settle. Must be called inside a transaction.
 * *matched is 1 when the message exists, *changed when its state moved. */
apr_status_t b8_receipt_record(b8_db *db, apr_pool_t *p, const b8_receipt *rc, int *matched,
                               int *changed);

/* The same for several receipts in one statement and its own transaction
 * (one round trip for all, PostgreSQL). For receipt k: done[k] is 0 when
 * nothing of it was written and the caller must run b8_receipt_record in a
 * transaction (SQLite: always; a switch of channel; a UMID to record);
 * matched[k] and changed[k] as above. A campaign these receipts may have
 * completed is checked afterwards. Must be called outside a transaction;
 * on failure nothing was written. */
apr_status_t b8_receipts_record_batch(b8_db *db, apr_pool_t *p, const b8_receipt *const *rcs,
                                      int n, int *matched, int *changed, int *done);

#endif
