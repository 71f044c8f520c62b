/* Inbound messages (API); conversations are in b8_conversations.h. */
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

#endif
