/* The webhook's core: parse and validate one 8x8 event (pure, no database:
 * the fuzz target calls it), and store it — delivery receipts and inbound
 * messages — in one short transaction. */
#ifndef B8_WEBHOOK_H
#define B8_WEBHOOK_H

#include "b8_core.h"
#include "b8_receipts.h"

/* Deepest JSON nesting accepted; the outer object is level 1. */
#define B8_WEBHOOK_MAX_DEPTH 32

typedef enum {
    B8_EVENT_UNKNOWN,   /* an eventType we do not handle: answered 200, stored nowhere */
    B8_EVENT_RECEIPT,   /* outbound_message_status_changed */
    B8_EVENT_INBOUND    /* inbound_message_received */
} b8_event_kind;

typedef struct {
    b8_event_kind kind;
    const char *event_type;
    const char *namespace_name;   /* "ChatApps" or "SMS" */
    b8_receipt receipt;           /* B8_EVENT_RECEIPT */
    /* B8_EVENT_INBOUND: phone in E.164 and its digits key; a sender
     * without a phone number (other channels, alphanumeric or short SMS
     * senders) has phone NULL, the sender in name and phone_key
     * "@<channel>:<sender>"; type lowercase;
     * text is the message, or the URL, "lat,lon" or button title of other
     * types (NULL when there is none); event_at ISO 8601 UTC or NULL. */
    const char *umid, *phone, *phone_key, *name, *channel, *type, *text, *event_at, *raw;
} b8_event;

/* Parses and validates a webhook body of len bytes: valid UTF-8 without NUL
 * (not even as \u0000), JSON nested at most B8_WEBHOOK_MAX_DEPTH levels, an
 * object with a string eventType and, for receipts and inbound messages, a
 * payload object with the fields we use, of the right types. Phone numbers
 * are normalised with default_country. Returns NULL with *ev filled in
 * (allocated in p), or a sentence naming what is wrong. */
const char *b8_webhook_parse(apr_pool_t *p, const char *body, apr_size_t len,
                             const char *default_country, b8_event *ev);

/* Stores the event and what it causes (message state, campaign Done,
 * opt-out, confirmation reply, AI queue) in one transaction, committed on
 * return. A repeated inbound UMID changes nothing. *wake is 1 when the
 * worker has new work. */
b8_errkind b8_webhook_store(b8_ctx *ctx, const b8_event *ev, int *wake, b8_err *err);

/* The replies to STOP/UNSUBSCRIBE and START. */
#define B8_OPT_OUT_REPLY \
    "You have been unsubscribed from Blu Coffee messages. Reply START to subscribe again."
#define B8_OPT_IN_REPLY \
    "You are subscribed to Blu Coffee messages again. Reply STOP to unsubscribe."

#endif
