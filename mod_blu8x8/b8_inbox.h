/* The Inbox: inbound messages (API) and conversations by phone (page). */
#ifndef B8_INBOX_H
#define B8_INBOX_H

#include "b8_core.h"

/* GET /api/inbound: {"items": [{"id", "umid", "phone", "name", "channel",
 * "type", "text", "received_at", "event_at", "contact_id", "ai_state",
 * "ai_error", "reply_id"}], "total", "page", "per_page"}, newest first.
 * phone (any format) filters; one that is not a phone number gives an empty
 * list. */
b8_errkind b8_inbound_list(b8_ctx *ctx, const char *phone, const b8_paging *pg, cJSON **out,
                           b8_err *err);

/* The Inbox page's data: {"conversations": [{"phone", "name", "contact_id",
 * "opted_out", "messages": [...oldest first]}], "total", "page", "per_page",
 * "pages", "q"}; one conversation per phone that wrote to us, the latest
 * first. q (optional) matches phone digits or the sender's or contact's
 * name. */
b8_errkind b8_inbox_conversations(b8_ctx *ctx, const char *q, const b8_paging *pg, cJSON **out,
                                  b8_err *err);

/* How many messages of one conversation the page shows (the latest). */
#define B8_INBOX_THREAD_LIMIT 50

#endif
