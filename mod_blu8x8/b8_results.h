/* Issue 19, "which campaign sold coffee": tracked button links (signed per
 * recipient), replies and leads attributed to the campaign that reached
 * the phone last, a campaign's results and timeline, retargeting, and the
 * dashboard's last days. */
#ifndef B8_RESULTS_H
#define B8_RESULTS_H

#include "b8_core.h"

/* ------------------------------------------------------------ clicks */

/* The server secret, read once per process (it never changes once made):
 * the click path costs no read of it. */
apr_status_t b8_click_secret(b8_db *db, apr_pool_t *p, const char **secret);

/* "<message id>-<20 hex of HMAC-SHA256(secret, "click:<id>")>": short,
 * URL-safe, names one recipient row and nothing else (no URL inside). */
const char *b8_click_token(apr_pool_t *p, const char *secret, const char *message_id);
/* <public_url>/r/<token>. */
const char *b8_click_url(apr_pool_t *p, const char *public_url, const char *secret,
                         const char *message_id);
/* The message id of a well-formed token with a valid signature, else NULL. */
const char *b8_click_token_check(apr_pool_t *p, const char *secret, const char *token);

/* 1 when a User-Agent is a link-preview fetcher or has none: redirected,
 * not counted. WhatsApp and Viber count as previews only with their own
 * short agent (their in-app browsers send a full Mozilla one). */
int b8_click_is_preview(const char *user_agent);

/* Longest button URL the click path answers without a second read. */
#define B8_CLICK_URL_MAX 2048

/* count 1: one indexed write (clicks + 1, first click time) that answers
 * the campaign's button URL; count 0: the URL only. *url NULL = no such
 * recipient or the campaign has no button URL. */
apr_status_t b8_click_follow(b8_db *db, apr_pool_t *p, const char *message_id, int count,
                             const char **url);

/* The click recorder of this process: a counted click is answered at once
 * and written by a thread of its own, with the clicks of the same moment,
 * in one transaction (a customer never waits for a commit). Set up once
 * per process (its thread starts with the first click); stopped, queue
 * written, when p is cleared. */
apr_status_t b8_clicks_start(apr_pool_t *p, b8_store *st);
/* Queues a counted click on message_id at `at` (ISO time). 0 when there is
 * no recorder or its queue is full: the caller records it itself. */
int b8_clicks_queue(const char *message_id, const char *at);

/* ------------------------------------------------------- attribution */

/* In the inbound message's transaction: the latest campaign message that
 * reached phone_key within `days` before now gets replied_at (the first
 * reply's time) and the inbound row its campaign_id. *campaign_id NULL =
 * none in the window. */
apr_status_t b8_reply_attribute(b8_db *db, apr_pool_t *p, const char *inbound_id,
                                const char *phone_key, long days, const char **campaign_id);

/* ---------------------------------------------------------- results */

/* GET …/campaigns/{id}/stats. */
b8_errkind b8_campaign_stats(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err);
/* GET …/campaigns/{id}/timeline?bucket=hour|day: consecutive buckets from
 * the first send to the last event. bucket "page": hours for the first two
 * days after the first send, then days (what the campaign page draws). */
b8_errkind b8_campaign_timeline(b8_ctx *ctx, const char *id, const char *bucket, cJSON **out,
                                b8_err *err);
/* The number of recipients that clicked (campaign counts' "clicked"). */
apr_status_t b8_campaign_clicked(b8_db *db, apr_pool_t *p, const char *id, long *clicked);

/* GET /api/stats?days=N (1..366, default 30): one entry per UTC day, oldest
 * first, today last. */
b8_errkind b8_stats_days(b8_ctx *ctx, const char *days, cJSON **out, b8_err *err);

/* Chart geometry for the templates' inline SVG: adds to each series a
 * "points" string and to the chart its axis labels (no markup here). */
cJSON *b8_results_chart(apr_pool_t *p, const cJSON *rows, const char *const *keys, int nkeys,
                        const char *label_key, int width, int height);

/* ------------------------------------------------------- retargeting */

/* Checks "from_campaign" of a recipients POST: {"id", "states": [...],
 * "clicked": bool, "replied": bool}. B8_OK, or B8_EINVALID naming the field. */
b8_errkind b8_retarget_check(apr_pool_t *p, const cJSON *from, b8_err *err);

/* The rows of the source campaign meeting every given condition, one chunk
 * after after_id: columns id, contact_id, phone, name. */
apr_status_t b8_retarget_chunk(b8_db *db, apr_pool_t *p, const cJSON *from, const char *after_id,
                               int limit, b8_rows **rows);

/* The campaign page's segments ("read_not_clicked", ...) as a
 * from_campaign object for campaign `id`; NULL for an unknown name. The
 * list of them (value, label) for the form. */
cJSON *b8_retarget_preset(const char *name, const char *id);
cJSON *b8_retarget_presets(void);

#endif
