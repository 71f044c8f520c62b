/* Campaigns: the data, the forms' validation and the Draft-only editing
 * rule. Recipients live in b8_recipients.h; sending (state changes after
 * Draft, the sender) in b8_sender.h / b8_campaign_actions.h. */
#ifndef B8_CAMPAIGNS_H
#define B8_CAMPAIGNS_H

#include "b8_core.h"
#include "b8_states.h"

/* One campaign row as the sender and the payload builder need it; every
 * field is the stored text (NULL when unset). type is lowercase:
 * text|image|video|file|audio; state draft|queued|sending|paused|cancelled|done. */
typedef struct {
    const char *id, *name, *type, *body, *url, *fallback_text, *thumbnail_url;
    const char *file_size, *duration, *button_caption, *button_url;
    const char *state, *send_at, *queued_at, *created_at, *updated_at, *started_at, *done_at;
    /* Seconds Viber has to deliver before 8x8 sends the SMS fallback; why
     * 8x8 refused the account (the campaign is paused), or NULL. */
    const char *fallback_after, *pause_reason;
} b8_campaign;

/* *out is NULL when there is no such campaign. */
apr_status_t b8_campaign_load(b8_db *db, apr_pool_t *p, const char *id, b8_campaign **out);

/* Checks every field of a campaign as the form and the API take it (also
 * used by Send Test and the sender before sending): adds field errors to
 * err and returns its kind. */
b8_errkind b8_campaign_check(apr_pool_t *p, const b8_campaign *c, b8_err *err);

/* The API object of API.md, with "counts" of every recipient state and "total". */
b8_errkind b8_campaign_get(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err);
b8_errkind b8_campaigns_list(b8_ctx *ctx, const char *state, const char *q,
                             const b8_paging *pg, cJSON **out, b8_err *err);
b8_errkind b8_campaign_create(b8_ctx *ctx, const cJSON *in, cJSON **out, b8_err *err);
b8_errkind b8_campaign_update(b8_ctx *ctx, const char *id, const cJSON *in, cJSON **out,
                              b8_err *err);
b8_errkind b8_campaign_delete(b8_ctx *ctx, const char *id, b8_err *err);

/* Inside a transaction: B8_OK when the campaign exists and is a Draft; else
 * 404, or 409 saying it cannot `what` ("be deleted"). */
b8_errkind b8_campaign_require_draft(b8_ctx *ctx, apr_pool_t *p, const char *id,
                                     const char *what, b8_err *err);


/* {name} and {phone} in a campaign text, for one recipient. */
const char *b8_campaign_expand(apr_pool_t *p, const char *text, const char *name,
                               const char *phone);

/* ---- additions ---- */

#define B8_CAMPAIGN_BODY_MAX 1000
#define B8_CAMPAIGN_NAME_MAX 200
#define B8_BUTTON_CAPTION_MAX 30
#define B8_VIDEO_MAX_BYTES 209715200L   /* 200 MB, 8x8's Viber limit */
/* 8x8's fallbackAfter: 10 seconds to one day; ours by default a minute. */
#define B8_FALLBACK_AFTER_MIN 10
#define B8_FALLBACK_AFTER_MAX 86400
#define B8_FALLBACK_AFTER_DEFAULT "60"

/* The enumeration of types, lowercase, NULL-terminated (the states are
 * b8_states.h's). */
extern const char *const b8_campaign_types[];

/* The campaign's "counts" object: every recipient state and "total". */
apr_status_t b8_campaign_counts(b8_db *db, apr_pool_t *p, const char *id, cJSON **out);

/* The API object of a loaded campaign with its counts (NULL: no counts). */
cJSON *b8_campaign_json(const b8_campaign *c, cJSON *counts);

/* The body (and fallback text) as the first recipient will get them:
 * {"name", "phone", "body", "fallback_text", "example": bool}; "example"
 * when the campaign has no recipients yet and a sample name is used. */
b8_errkind b8_campaign_preview(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err);



#endif
