/* Every SQL statement the module runs, named. The text lives in b8_sql.c;
 * placeholders are apr_dbd's %s, so the same text runs on SQLite and
 * PostgreSQL. W marks statements that write (they take the write lock). */
#ifndef B8_SQL_H
#define B8_SQL_H

#include <apr_pools.h>

/* One list per area; an area adds its statements to its own list. */
#define B8_SQL_CORE(X) \
    X(SCHEMA_VERSION, R) \
    X(SCHEMA_VERSION_SET, W) \
    X(SETTINGS_ALL, R) \
    X(SETTING_PUT, W) \
    X(SETTING_DELETE, W) \
    X(SETTINGS_VERSION_BUMP, W) \
    X(RUNTIME_GET, R) \
    X(RUNTIME_PUT, W) \
    X(RUNTIME_PUT_IF_ABSENT, W)

#define B8_SQL_USERS(X) \
    X(USERS_COUNT, R) \
    X(USERS_PAGE, R) \
    X(USER_BY_ID, R) \
    X(USER_BY_LOGIN, R) \
    X(USER_INSERT, W) \
    X(USER_UPDATE, W) \
    X(USER_DELETE, W) \
    X(USER_BOOTSTRAP_ADMIN, W) \
    X(USER_ENSURE_ADMIN, W) \
    X(USERS_AGENTS_NO_PHONE, R)

/* Issue 3: tags, contacts, campaigns and their recipients. */
#define B8_SQL_TAGS(X) \
    X(TAGS_COUNT, R) \
    X(TAGS_PAGE, R) \
    X(TAG_BY_ID, R) \
    X(TAG_BY_NAME, R) \
    X(TAG_INSERT, W) \
    X(TAG_RENAME, W) \
    X(TAG_DELETE, W) \
    X(TAG_CONTACTS_AFTER, R)

#define B8_SQL_CONTACTS(X) \
    X(CONTACTS_COUNT, R) \
    X(CONTACTS_PAGE, R) \
    X(CONTACT_BY_ID, R) \
    X(CONTACT_BY_PHONE, R) \
    X(CONTACT_TAG_NAMES, R) \
    X(CONTACT_INSERT, W) \
    X(CONTACT_UPDATE, W) \
    X(CONTACT_DELETE, W) \
    X(CONTACT_TAGS_CLEAR, W) \
    X(CONTACT_TAG_ADD, W) \
    X(CONTACT_SET_NAME_KEY, W) \
    X(CONTACTS_NAME_KEY_MISSING, R)

/* Opt-outs by phone, independent of contacts. */
#define B8_SQL_SUPPRESSIONS(X) \
    X(SUPPRESSIONS_COUNT, R) \
    X(SUPPRESSIONS_PAGE, R) \
    X(SUPPRESSIONS_ALL, R) \
    X(SUPPRESSION_GET, R) \
    X(SUPPRESSIONS_IN_BATCH, R) \
    X(SUPPRESSION_ADD, W) \
    X(SUPPRESSION_DELETE, W) \
    X(SUPPRESSION_CONTACT_SYNC, W)

#define B8_SQL_CAMPAIGNS(X) \
    X(CAMPAIGN_BY_ID, R) \
    X(CAMPAIGN_STATE, R) \
    X(CAMPAIGNS_COUNT, R) \
    X(CAMPAIGNS_PAGE, R) \
    X(CAMPAIGNS_PAGE_COUNTS, R) \
    X(CAMPAIGN_INSERT, W) \
    X(CAMPAIGN_SET_FALLBACK_AFTER, W) \
    X(CAMPAIGN_SET_PACE, W) \
    X(CAMPAIGN_SET_WAITING, W) \
    X(CAMPAIGN_SENT_SINCE, R) \
    X(CAMPAIGN_UPDATE, W) \
    X(CAMPAIGN_DELETE, W) \
    X(CAMPAIGN_COUNTS, R) \
    X(CAMPAIGN_EMPTY_NAMES, R) \
    X(CAMPAIGN_FIRST_RECIPIENT, R) \
    X(RECIPIENT_INSERT, W) \
    X(RECIPIENT_INSERT_BATCH, W) \
    X(RECIPIENT_CONTACTS_BATCH, R) \
    X(RECIPIENT_BY_ID, R) \
    X(RECIPIENT_DELETE, W) \
    X(RECIPIENTS_PAGE, R) \
    X(RECIPIENTS_PAGE_STATE, R) \
    X(RECIPIENTS_AFTER, R)

/* FAQ knowledge base of the AI chatbot. */
#define B8_SQL_FAQS(X) \
    X(FAQS_COUNT, R) \
    X(FAQS_ALL, R) \
    X(FAQS_PAGE, R) \
    X(FAQ_BY_ID, R) \
    X(FAQ_INSERT, W) \
    X(FAQ_UPDATE, W) \
    X(FAQ_DELETE, W) \
    X(FAQ_NEIGHBOUR_BEFORE, R) \
    X(FAQ_NEIGHBOUR_AFTER, R) \
    X(FAQ_SET_POSITION, W)

/* Leads, agent pings and claims. */
#define B8_SQL_LEADS(X) \
    X(LEAD_INSERT, W) \
    X(LEAD_BY_INBOUND, R) \
    X(LEAD_BY_ID, R) \
    X(LEADS_COUNT, R) \
    X(LEADS_PAGE, R) \
    X(LEADS_ALL, R) \
    X(LEAD_CLAIM, W) \
    X(LEAD_PINGED, R) \
    X(LEAD_AGENTS, R) \
    X(LEAD_CONTACT_BY_KEY, R) \
    X(LEAD_PING_INSERT, W) \
    X(LEAD_OPEN_BY_KEY, R) \
    X(LEAD_UPDATE, W)

/* Issue 5: the webhook (delivery receipts, inbound messages) and the Inbox. */
#define B8_SQL_WEBHOOK(X) \
    X(RECEIPT_INSERT, W) \
    X(RECEIPT_SET_MATCHED, W) \
    X(MESSAGE_SET_UNKNOWN, W) \
    X(RECEIPTS_FOR_MESSAGE, R) \
    X(RECEIPT_MESSAGE_BY_UMID, R) \
    X(RECEIPT_MESSAGE_BY_CMID, R) \
    X(RECEIPT_MESSAGE_APPLY, W) \
    X(RECEIPT_MESSAGE_SWITCH, W) \
    X(RECEIPT_MESSAGE_SET_UMID, W) \
    X(RECEIPT_CAMPAIGN_LOCK, W) \
    X(RECEIPT_CAMPAIGN_OPEN, R) \
    X(RECEIPT_CAMPAIGN_DONE, W) \
    X(RECEIPT_BATCH, W) \
    X(INBOUND_EXISTS, R) \
    X(INBOUND_INSERT, W) \
    X(INBOUND_CONTACT_BY_KEY, R) \
    X(INBOUND_CONTACT_CREATE, W) \
    X(INBOUND_CONTACT_OPT, W) \
    X(INBOUND_CONFIRMATION_INSERT, W) \
    X(INBOUND_SMS_CONFIRMATION_INSERT, W) \
    X(INBOUND_COUNT, R) \
    X(INBOUND_PAGE, R) \
    X(INBOUND_COUNT_BY_KEY, R) \
    X(INBOUND_PAGE_BY_KEY, R)

/* Issue 4: the sender, the direct lane, campaign actions and the minute crons. */
#define B8_SQL_SEND(X) \
    X(SEND_NEXT_CAMPAIGN, R) \
    X(SEND_CLAIMABLE, R) \
    X(SEND_MARK, W) \
    X(SEND_SKIP, W) \
    X(SEND_ACCEPTED, W) \
    X(SEND_FAILED, W) \
    X(SEND_UNKNOWN, W) \
    X(SEND_BACK_PENDING, W) \
    X(SEND_PAUSE_REFUSED, W) \
    X(SEND_STALE, R) \
    X(DIRECT_NEXT, R) \
    X(ACTION_TO_SENDING, W) \
    X(ACTION_TO_QUEUED, W) \
    X(ACTION_SET_STATE, W) \
    X(ACTION_CANCEL_PENDING, W) \
    X(ACTION_ROWS_IN_STATE, R) \
    X(ACTION_ROW_RESET, W) \
    X(ACTION_DUPLICATE, W) \
    X(ACTION_COPY_SOURCE, R) \
    X(ACTION_COPY_RECIPIENT, W) \
    X(ACTION_PENDING_COUNT, R) \
    X(PROGRESS_COUNTS, R) \
    X(PROGRESS_FAILURES, R) \
    X(SEND_TEST_CONTACT, R) \
    X(CRON_START_DUE, W) \
    X(CRON_START_DATED, W) \
    X(CRON_DONE, W)

/* The AI lane. */
#define B8_SQL_AI(X) \
    X(AI_DUE_PHONE, R) \
    X(AI_NEXT_DUE, R) \
    X(AI_RELEASE_STALE, W) \
    X(AI_SWITCHED_OFF, W) \
    X(AI_CLAIM, W) \
    X(AI_CLAIMED, R) \
    X(AI_HISTORY, R) \
    X(AI_RETRY_LATER, W) \
    X(AI_END, W) \
    X(AI_SET_INTENT, W) \
    X(AI_REPLY_INSERT, W) \
    X(AI_ANSWERED, W)

/* Issue 8: SMS with sender accounts (composer, log, the SMS sender). */
#define B8_SQL_SMS(X) \
    X(SMS_BATCH_INSERT, W) \
    X(SMS_BATCH_READY, W) \
    X(SMS_BATCH_DISCARD, W) \
    X(SMS_INSERT, W) \
    X(SMS_BATCH_BY_ID, R) \
    X(SMS_BATCH_COUNTS, R) \
    X(SMS_COUNT, R) \
    X(SMS_PAGE, R) \
    X(SMS_EXPORT_AFTER, R) \
    X(SMS_STALE, R) \
    X(SMS_NEXT_BATCH, R) \
    X(SMS_CLAIMABLE, R) \
    X(SMS_SKIP, W) \
    X(SMS_MARK_RANGE, W) \
    X(SMS_BATCH_SENDING, W) \
    X(SMS_ACCEPTED, W) \
    X(SMS_FAILED, W) \
    X(SMS_RANGE_FAILED, W) \
    X(SMS_RANGE_UNKNOWN, W) \
    X(SMS_RANGE_PENDING, W) \
    X(SMS_BATCH_RETRY, W) \
    X(SMS_BATCH_DONE, W) \
    X(SMS_ABANDON_ROWS, W) \
    X(SMS_ABANDON_BATCHES, W)

/* Conversations: one per customer phone (issue 18). */
#define B8_SQL_CONVERSATIONS(X) \
    X(CONV_UPSERT_INBOUND, W) \
    X(CONV_ENSURE, W) \
    X(CONV_ID_BY_KEY, R) \
    X(CONV_NAME_BY_KEY, R) \
    X(CONV_TOUCH, W) \
    X(CONV_BY_ID, R) \
    X(CONV_COUNT, R) \
    X(CONV_PAGE, R) \
    X(CONV_SEARCH_COUNT, R) \
    X(CONV_SEARCH_PAGE, R) \
    X(CONV_THREAD, R) \
    X(CONV_ASSIGN, W) \
    X(CONV_ASSIGN_IF_FREE, W) \
    X(CONV_RESOLVE, W) \
    X(CONV_REOPEN, W) \
    X(CONV_SEEN, W) \
    X(CONV_AGENT_REPLIED, W) \
    X(CONV_SET_LEAD, W) \
    X(CONV_NOTE_DUE, W) \
    X(CONV_HANDOFF, R) \
    X(CONV_SYSTEM_INSERT, W) \
    X(CONV_AGENT_INSERT, W) \
    X(CONV_AGENT_NOTE_INSERT, W) \
    X(CONV_MESSAGE_BY_ID, R) \
    X(CONV_RETRY_AI, W) \
    X(CONV_RETRY_AI_ONE, W) \
    X(INBOUND_HANDOFF_SKIP, W)

/* Dashboard figures. */
#define B8_SQL_DASHBOARD(X) \
    X(DASH_CAMPAIGNS, R) \
    X(DASH_INBOUND, R) \
    X(DASH_LEADS_OPEN, R) \
    X(DASH_SMS_SINCE, R) \
    X(DASH_CONTACTS, R) \
    X(DASH_REFUSED, R)

/* Metrics (b8_metrics.c): small rows kept by triggers, never a count of
 * messages. */
#define B8_SQL_METRICS(X) \
    X(METRICS_MESSAGES, R) \
    X(METRICS_QUEUES, R) \
    X(METRICS_CAMPAIGN_QUEUE, R) \
    X(METRICS_AI_QUEUE, R)

/* Issue 9: one active sender across servers (a lease row). */
#define B8_SQL_LEASE(X) \
    X(LEASE_TAKE, W) \
    X(LEASE_STEAL, W) \
    X(LEASE_NOTE_SEND, W) \
    X(LEASE_RELEASE, W) \
    X(LEASE_GET, R)

/* Issue 17: one-time results of HTML forms (post/redirect/get) and the
 * Idempotency-Key answers of the sending API calls. */
#define B8_SQL_ONCE(X) \
    X(FLASH_INSERT, W) \
    X(FLASH_TAKE, W) \
    X(FLASH_EXPIRE, W) \
    X(IDEM_CLAIM, W) \
    X(IDEM_GET, R) \
    X(IDEM_FINISH, W) \
    X(IDEM_FORGET, W) \
    X(IDEM_EXPIRE, W) \
    X(ESTIMATE_CAMPAIGN, R) \
    X(ACTION_UNQUEUE, W) \
    X(FAQS_DELETE_ALL, W) \
    X(RECIPIENTS_AFTER_STATE, R)
/* Issue 19: clicks, attribution, results, retargeting, the dashboard's days. */
#define B8_SQL_RESULTS(X) \
    X(CLICK_RECORD, W) \
    X(CLICK_TARGET, R) \
    X(REPLY_ATTRIBUTE, W) \
    X(INBOUND_SET_CAMPAIGN, W) \
    X(RESULTS_COUNTS, R) \
    X(RESULTS_CLICKED, R) \
    X(RESULTS_TIMELINE, R) \
    X(RESULTS_RETARGET_AFTER, R) \
    X(RESULTS_DAYS_VIBER, R) \
    X(RESULTS_DAYS_INBOUND, R) \
    X(RESULTS_DAYS_LEADS, R) \
    X(RESULTS_DAYS_SMS, R)

#define B8_SQL_LIST(X) \
    B8_SQL_CORE(X) \
    B8_SQL_ONCE(X) \
    B8_SQL_LEASE(X) \
    B8_SQL_DASHBOARD(X) \
    B8_SQL_WEBHOOK(X) \
    B8_SQL_USERS(X) \
    B8_SQL_FAQS(X) \
    B8_SQL_LEADS(X) \
    B8_SQL_CONVERSATIONS(X) \
    B8_SQL_AI(X) \
    B8_SQL_TAGS(X) \
    B8_SQL_CONTACTS(X) \
    B8_SQL_SUPPRESSIONS(X) \
    B8_SQL_CAMPAIGNS(X) \
    B8_SQL_SEND(X) \
    B8_SQL_SMS(X) \
    B8_SQL_METRICS(X) \
    B8_SQL_RESULTS(X)

typedef enum {
#define B8_SQL_ENUM(name, rw) B8_SQL_##name,
    B8_SQL_LIST(B8_SQL_ENUM)
#undef B8_SQL_ENUM
    B8_SQL_COUNT
} b8_sql_id;

/* Rows of RECIPIENT_INSERT_BATCH and phones of RECIPIENT_CONTACTS_BATCH
 * (their text repeats a tuple B8_X64 times). */
#define B8_RECIPIENT_BATCH 64

/* Result columns by name. Each statement that returns rows read by column
 * has a shape: its column list, written once here in SELECT order. The
 * enum B8_COL_<SHAPE>_<column> gives a column's position, rows are read by
 * name only (B8_GET in b8_store.h, which also checks the rows came from a
 * statement of that shape), and tests/unit/test_sql.c checks each list
 * against the columns SQLite reports for the statement's text: a reordered
 * or renamed column fails the build's unit tests, never reads a wrong
 * field. Column names are the SQL's own (an expression gets an AS). */
#define B8_COLS_SETTING(X, S) \
    X(S, key) X(S, value)
#define B8_COLS_RUNTIME(X, S) \
    X(S, value) X(S, updated_at)
#define B8_COLS_LEASE(X, S) \
    X(S, owner) X(S, expires_at) X(S, acquired_at) X(S, last_send_at)
#define B8_COLS_USER(X, S) \
    X(S, id) X(S, login) X(S, name) X(S, phone) X(S, is_admin) X(S, is_agent) \
    X(S, created_at)
#define B8_COLS_TAG(X, S) \
    X(S, id) X(S, name) X(S, contacts) X(S, created_at)
#define B8_COLS_TAG_CONTACT(X, S) \
    X(S, id) X(S, name) X(S, phone) X(S, phone_key) X(S, opted_out)
#define B8_COLS_CONTACT(X, S) \
    X(S, id) X(S, name) X(S, phone) X(S, opted_out) X(S, opted_out_at) X(S, created_at) \
    X(S, updated_at)
#define B8_COLS_CONTACT_TAGGED(X, S) \
    X(S, id) X(S, name) X(S, phone) X(S, opted_out) X(S, opted_out_at) X(S, created_at) \
    X(S, updated_at) X(S, tag)
#define B8_COLS_TAG_NAME(X, S) \
    X(S, name)
#define B8_COLS_CAMPAIGN(X, S) \
    X(S, id) X(S, name) X(S, type) X(S, body) X(S, url) X(S, fallback_text) \
    X(S, thumbnail_url) X(S, file_size) X(S, duration) X(S, button_caption) \
    X(S, button_url) X(S, state) X(S, send_at) X(S, queued_at) X(S, created_at) \
    X(S, updated_at) X(S, started_at) X(S, done_at) X(S, fallback_after) X(S, pause_reason) \
    X(S, window_start) X(S, window_end) X(S, daily_cap) X(S, waiting_until)
#define B8_COLS_CAMPAIGN_COUNT(X, S) \
    X(S, campaign_id) X(S, state) X(S, n)
#define B8_COLS_STATE_COUNT(X, S) \
    X(S, state) X(S, n)
#define B8_COLS_FIRST_RECIPIENT(X, S) \
    X(S, name) X(S, phone)
#define B8_COLS_RECIPIENT(X, S) \
    X(S, id) X(S, phone) X(S, name) X(S, contact_id) X(S, client_message_id) X(S, umid) \
    X(S, state) X(S, error_code) X(S, error_message) X(S, updated_at) X(S, error_id) \
    X(S, channel) X(S, sent_at) X(S, delivered_at) X(S, read_at) X(S, clicked_at) \
    X(S, clicks) X(S, replied_at)
#define B8_COLS_RECIPIENT_EXPORT(X, S) \
    X(S, id) X(S, phone) X(S, name) X(S, client_message_id) X(S, umid) X(S, state) \
    X(S, error_code) X(S, error_message) X(S, error_id) X(S, updated_at) X(S, clicked_at) \
    X(S, clicks) X(S, replied_at)
#define B8_COLS_FAQ(X, S) \
    X(S, id) X(S, prompt) X(S, completion) X(S, position)
#define B8_COLS_FAQ_POSITION(X, S) \
    X(S, id) X(S, position)
#define B8_COLS_DASH_CONTACTS(X, S) \
    X(S, contacts) X(S, opted_out)
#define B8_COLS_REFUSED(X, S) \
    X(S, id) X(S, name) X(S, pause_reason)
#define B8_COLS_LEAD(X, S) \
    X(S, id) X(S, created_at) X(S, name) X(S, phone) X(S, contact_id) X(S, inbound_id) \
    X(S, claimed_at) X(S, contact_name) X(S, claimed_by) X(S, claimed_by_name) X(S, status) \
    X(S, notes) X(S, conversation_id) X(S, claimed_by_id) X(S, phone_key)
#define B8_COLS_OPEN_LEAD(X, S) \
    X(S, id) X(S, claimed_by) X(S, login) X(S, name) X(S, phone)
#define B8_COLS_LOGIN(X, S) \
    X(S, login)
#define B8_COLS_AGENT(X, S) \
    X(S, id) X(S, login) X(S, name) X(S, phone)
#define B8_COLS_ID_NAME(X, S) \
    X(S, id) X(S, name)
#define B8_COLS_AI_CLAIMED(X, S) \
    X(S, id) X(S, phone) X(S, body) X(S, name) X(S, ai_attempts) X(S, intent) \
    X(S, contact_id) X(S, opted_out)
#define B8_COLS_AI_TURN(X, S) \
    X(S, who) X(S, body)
#define B8_COLS_AI_DUE(X, S) \
    X(S, next_at) X(S, waiting_since)
#define B8_COLS_RECEIPT(X, S) \
    X(S, id) X(S, umid) X(S, client_message_id) X(S, namespace) X(S, state) X(S, detail) \
    X(S, error_code) X(S, error_message) X(S, price) X(S, event_at) X(S, channel)
#define B8_COLS_RECEIPT_MESSAGE(X, S) \
    X(S, id) X(S, state) X(S, umid) X(S, campaign_id) X(S, channel)
#define B8_COLS_RECEIPT_BATCH(X, S) \
    X(S, k) X(S, matched) X(S, changed) X(S, slow) X(S, campaign_id) X(S, open_before)
#define B8_COLS_INBOUND_CONTACT(X, S) \
    X(S, id) X(S, opted_out) X(S, name)
#define B8_COLS_INBOUND(X, S) \
    X(S, id) X(S, umid) X(S, phone) X(S, name) X(S, channel) X(S, type) X(S, body) \
    X(S, received_at) X(S, contact_id) X(S, ai_state) X(S, ai_error) X(S, reply_id) \
    X(S, event_at)
#define B8_COLS_CONV(X, S) \
    X(S, id) X(S, phone) X(S, name) X(S, contact_id) X(S, status) X(S, assignee) \
    X(S, last_message_at) X(S, lead_id) X(S, last_in_at) X(S, seen_at) X(S, phone_key) \
    X(S, assignee_id) X(S, handoff_at) X(S, assignee_name) X(S, opted_out) X(S, last_text)
#define B8_COLS_CONV_THREAD(X, S) \
    X(S, dir) X(S, id) X(S, at) X(S, kind) X(S, body) X(S, state) X(S, ai_state) \
    X(S, ai_error) X(S, name) X(S, error_message) X(S, campaign_body) X(S, phone) \
    X(S, author) X(S, type) X(S, campaign) X(S, channel)
#define B8_COLS_CONV_MESSAGE(X, S) \
    X(S, id) X(S, kind) X(S, body) X(S, state) X(S, created_at) X(S, login) \
    X(S, error_message)
#define B8_COLS_CLAIMABLE(X, S) \
    X(S, id) X(S, phone) X(S, name) X(S, client_message_id) X(S, opted_out)
#define B8_COLS_STALE(X, S) \
    X(S, id) X(S, client_message_id)
#define B8_COLS_DIRECT(X, S) \
    X(S, id) X(S, phone) X(S, body) X(S, button_caption) X(S, button_url) \
    X(S, client_message_id) X(S, kind)
#define B8_COLS_ROW_ID(X, S) \
    X(S, id)
#define B8_COLS_COPY_SOURCE(X, S) \
    X(S, id) X(S, contact_id) X(S, phone) X(S, phone_key) X(S, name)
#define B8_COLS_FAILURE(X, S) \
    X(S, id) X(S, phone) X(S, name) X(S, state) X(S, error_code) X(S, error_message) \
    X(S, updated_at)
#define B8_COLS_SMS_BATCH(X, S) \
    X(S, id) X(S, sender) X(S, body) X(S, state) X(S, total) X(S, created_by) \
    X(S, created_at) X(S, updated_at) X(S, started_at) X(S, done_at) X(S, next_at) \
    X(S, last_error)
#define B8_COLS_SMS_BATCH_COUNT(X, S) \
    X(S, state) X(S, n) X(S, with_umid)
#define B8_COLS_SMS(X, S) \
    X(S, id) X(S, created_at) X(S, sender) X(S, phone) X(S, name) X(S, body) X(S, encoding) \
    X(S, parts) X(S, umid) X(S, state) X(S, error_code) X(S, error_message) X(S, error_id) \
    X(S, price) X(S, sms_batch_id) X(S, client_message_id) X(S, updated_at) X(S, contact_id)
#define B8_COLS_SMS_NEXT(X, S) \
    X(S, id) X(S, sender) X(S, state) X(S, next_at) X(S, tries) X(S, rate_limited) \
    X(S, total) X(S, failing_since)
#define B8_COLS_SMS_CLAIMABLE(X, S) \
    X(S, id) X(S, phone) X(S, body) X(S, client_message_id) X(S, opted_out)
#define B8_COLS_METRIC_STATE(X, S) \
    X(S, channel) X(S, state) X(S, n)
#define B8_COLS_METRIC_LANE(X, S) \
    X(S, lane) X(S, n)
/* Issue 17: an Idempotency-Key's row; the confirmation's counts. */
#define B8_COLS_IDEM(X, S) \
    X(S, body_hash) X(S, status) X(S, response) X(S, created_at)
#define B8_COLS_ESTIMATE(X, S) \
    X(S, pending) X(S, opted_out) X(S, no_name)
#define B8_COLS_SUPPRESSION(X, S) \
    X(S, phone) X(S, reason) X(S, created_at)
#define B8_COLS_PHONE(X, S) \
    X(S, phone)
/* Issue 19. */
#define B8_COLS_RESULTS_COUNTS(X, S) \
    X(S, clicked) X(S, replied) X(S, leads) X(S, won)
#define B8_COLS_TIMELINE(X, S) \
    X(S, e) X(S, b) X(S, n)
#define B8_COLS_RETARGET(X, S) \
    X(S, id) X(S, contact_id) X(S, phone) X(S, name)
#define B8_COLS_DAY_VIBER(X, S) \
    X(S, day) X(S, sent) X(S, delivered) X(S, read) X(S, clicked)
#define B8_COLS_DAY_COUNT(X, S) \
    X(S, day) X(S, n)
#define B8_COLS_DAY_SMS(X, S) \
    X(S, day) X(S, sender) X(S, n) X(S, cost)
#define B8_SHAPE_LIST(S) \
    S(SETTING) \
    S(RUNTIME) \
    S(LEASE) \
    S(USER) \
    S(TAG) \
    S(TAG_CONTACT) \
    S(CONTACT) \
    S(CONTACT_TAGGED) \
    S(TAG_NAME) \
    S(CAMPAIGN) \
    S(CAMPAIGN_COUNT) \
    S(STATE_COUNT) \
    S(FIRST_RECIPIENT) \
    S(RECIPIENT) \
    S(RECIPIENT_EXPORT) \
    S(FAQ) \
    S(FAQ_POSITION) \
    S(DASH_CONTACTS) \
    S(REFUSED) \
    S(LEAD) \
    S(OPEN_LEAD) \
    S(LOGIN) \
    S(AGENT) \
    S(ID_NAME) \
    S(AI_CLAIMED) \
    S(AI_TURN) \
    S(AI_DUE) \
    S(RECEIPT) \
    S(RECEIPT_MESSAGE) \
    S(RECEIPT_BATCH) \
    S(INBOUND_CONTACT) \
    S(INBOUND) \
    S(CONV) \
    S(CONV_THREAD) \
    S(CONV_MESSAGE) \
    S(CLAIMABLE) \
    S(STALE) \
    S(DIRECT) \
    S(ROW_ID) \
    S(COPY_SOURCE) \
    S(FAILURE) \
    S(SMS_BATCH) \
    S(SMS_BATCH_COUNT) \
    S(SMS) \
    S(SMS_NEXT) \
    S(SMS_CLAIMABLE) \
    S(METRIC_STATE) \
    S(METRIC_LANE) \
    S(IDEM) \
    S(ESTIMATE) \
    S(SUPPRESSION) \
    S(PHONE) \
    S(RESULTS_COUNTS) \
    S(TIMELINE) \
    S(RETARGET) \
    S(DAY_VIBER) \
    S(DAY_COUNT) \
    S(DAY_SMS)

typedef enum {
    B8_SHAPE_NONE = 0,
#define B8_SHAPE_ENUM(shape) B8_SHAPE_##shape,
    B8_SHAPE_LIST(B8_SHAPE_ENUM)
#undef B8_SHAPE_ENUM
    B8_SHAPE_COUNT
} b8_shape;

#define B8_COL_ENUM(shape, col) B8_COL_##shape##_##col,
#define B8_SHAPE_COLS_ENUM(shape) enum { B8_COLS_##shape(B8_COL_ENUM, shape) B8_NCOLS_##shape };
B8_SHAPE_LIST(B8_SHAPE_COLS_ENUM)
#undef B8_SHAPE_COLS_ENUM
#undef B8_COL_ENUM

/* The shape of a statement's rows (B8_SHAPE_NONE: read by b8_db_value or
 * not at all), and a shape's column names, NULL-terminated. */
b8_shape b8_sql_shape(b8_sql_id id);
const char *const *b8_sql_shape_columns(b8_shape shape);
const char *b8_sql_shape_name(b8_shape shape);

const char *b8_sql_text(b8_sql_id id);
const char *b8_sql_name(b8_sql_id id);
int b8_sql_nargs(b8_sql_id id);
int b8_sql_writes(b8_sql_id id);
/* 1 for a statement only PostgreSQL runs (its caller checks the driver). */
int b8_sql_pgsql_only(b8_sql_id id);

int b8_sql_migration_count(void);
/* DDL of migration v (1-based) for the driver, statements separated by ';'. */
const char *b8_sql_migration(apr_pool_t *p, int v, int sqlite);
/* Its statements that differ by database (triggers), each whole, NULL-
 * terminated; NULL when there are none. Run after the common DDL. */
const char *const *b8_sql_migration_extra(int v, int sqlite);

#endif
