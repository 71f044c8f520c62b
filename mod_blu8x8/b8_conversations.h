/* Conversations: one per customer phone (a sender without a phone number
 * has its own, keyed '@channel:sender'), the whole thread in order, an
 * assignee, open/resolved, and the handoff: while an open conversation has
 * an assignee the AI does not answer that customer, until it is resolved or
 * ai_handoff_hours pass without an agent message. */
#ifndef B8_CONVERSATIONS_H
#define B8_CONVERSATIONS_H

#include "b8_core.h"
#include "b8_users.h"

/* How many messages a conversation answers by default (the latest), and
 * at most (?limit=). */
#define B8_CONV_THREAD_DEFAULT 300
#define B8_CONV_THREAD_MAX 5000
/* The claimer of an open lead hears of new messages at most this often. */
#define B8_CONV_NOTE_INTERVAL apr_time_from_sec(600)

/* ---- writes made by the other parts, in the caller's transaction ---- */

/* An inbound message was stored (inbound_id, its ai_state): the
 * conversation is made or reopened; a text meant for the AI while an agent
 * handles the customer is marked skipped ("handled by <login>"); the
 * claimer of the customer's open lead gets a Viber note (at most one per
 * B8_CONV_NOTE_INTERVAL). *queued is 1 when a note was queued. */
struct b8_settings;
apr_status_t b8_conv_inbound(b8_db *db, apr_pool_t *p, const struct b8_settings *s,
                             const char *phone_key, const char *phone,
                             const char *name, const char *contact_id, const char *inbound_id,
                             const char *ai_state, const char *text, int *queued);

/* The login of the agent handling this phone now (the AI stands back), or
 * NULL. */
apr_status_t b8_conv_handoff(b8_db *db, apr_pool_t *p, const struct b8_settings *s,
                             const char *phone_key, const char **login);

/* An outbound message (an AI reply) to this phone: latest activity now,
 * text shown in the list. */
apr_status_t b8_conv_touch(b8_db *db, apr_pool_t *p, const char *phone_key, const char *text);

/* A claim won: the customer's conversation is assigned to the claimer and
 * open, with a system note; *conv_id is the conversation. */
apr_status_t b8_conv_claimed(b8_db *db, apr_pool_t *p, const char *phone_key, const char *phone,
                             const char *user_id, const char *who, const char **conv_id);

/* ---- the API and pages; viewer is the logged-in user ---- */

/* {"items": [{"id", "phone", "name", "contact_id", "status", "assignee",
 * "assignee_name", "last_message_at", "lead_id", "unread", "opted_out",
 * "ai_paused", "handoff_ends_at"}],
 * "total", "page", "per_page"}, latest activity first. status
 * open|resolved (NULL = any), assignee <login>|none (NULL = any), q: phone
 * digits or name (NULL = no search). A sales agent sees the unassigned
 * ones and theirs. */
b8_errkind b8_conversations_list(b8_ctx *ctx, const b8_user *viewer, const char *status,
                                 const char *assignee, const char *q, const b8_paging *pg,
                                 cJSON **out, b8_err *err);

/* Answers (*out, err->fields) are pool-owned (ctx->pool). */

/* One conversation with "messages" [{"id", "direction", "kind", "text",
 * "at", "state", "author", ...}] oldest first (the latest limit; "more"
 * says older ones exist). seen marks it read. Not visible to the viewer:
 * B8_ENOTFOUND. */
b8_errkind b8_conversation_get(b8_ctx *ctx, const b8_user *viewer, const char *id, long limit,
                               int seen, cJSON **out, b8_err *err);

/* {"text"}: an agent's reply, sent on Viber by the worker's direct lane;
 * *out is the message (state pending). An unassigned conversation is
 * assigned to the replier. */
b8_errkind b8_conversation_reply(b8_ctx *ctx, const b8_user *viewer, const char *id,
                                 const cJSON *in, cJSON **out, b8_err *err);
/* {"login": <login>|null}. */
b8_errkind b8_conversation_assign(b8_ctx *ctx, const b8_user *viewer, const char *id,
                                  const cJSON *in, cJSON **out, b8_err *err);
/* resolve = 1 resolves, 0 reopens. */
b8_errkind b8_conversation_set_status(b8_ctx *ctx, const b8_user *viewer, const char *id,
                                      int resolve, cJSON **out, b8_err *err);
/* The failed AI answers of this conversation are asked again:
 * {"retried": n}. */
b8_errkind b8_conversation_retry_ai(b8_ctx *ctx, const b8_user *viewer, const char *id,
                                    cJSON **out, b8_err *err);
/* One failed inbound message asked again; 409 when it has not failed. */
b8_errkind b8_inbound_retry_ai(b8_ctx *ctx, const char *inbound_id, b8_err *err);

#endif
