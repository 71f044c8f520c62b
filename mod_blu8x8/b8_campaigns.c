#include "b8_campaigns.h"
#include "b8_results.h"
#include "b8_contacts.h"
#include "b8_crypto.h"
#include "b8_csv.h"
#include "b8_import.h"
#include "b8_log.h"
#include "b8_pace.h"
#include "b8_phone.h"
#include "b8_settings.h"
#include "b8_sms.h"
#include "b8_tags.h"
#include "b8_util.h"
#include "b8_vars.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

const char *const b8_campaign_types[] = { "text", "image", "video", "file", "audio", NULL };

#define EXAMPLE_NAME "Juan dela Cruz"
#define EXAMPLE_PHONE "+639171234567"

static int in_list(const char *const *list, const char *s)
{
    for (int i = 0; s && list[i]; i++) {
        if (strcmp(list[i], s) == 0) {
            return 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ the object */

/* Every column of the statement's list fills the field of the same name. */
static b8_campaign *campaign_from_row(apr_pool_t *p, const b8_rows *rows, int r)
{
    b8_campaign *c = apr_pcalloc(p, sizeof(*c));
#define B8_CAMPAIGN_FIELD(shape, col) c->col = B8_GET(rows, r, shape, col);
    B8_COLS_CAMPAIGN(B8_CAMPAIGN_FIELD, CAMPAIGN)
#undef B8_CAMPAIGN_FIELD
    return c;
}

apr_status_t b8_campaign_load(b8_db *db, apr_pool_t *p, const char *id, b8_campaign **out)
{
    b8_rows *rows;
    const char *args[] = { id };
    apr_status_t rv = b8_db_select(db, p, B8_SQL_CAMPAIGN_BY_ID, args, &rows);
    if (rv == APR_SUCCESS) {
        *out = rows->nrows ? campaign_from_row(p, rows, 0) : NULL;
    }
    return rv;
}

static cJSON *counts_new(void)
{
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; b8_recipient_states[i]; i++) {
        cJSON_AddNumberToObject(o, b8_recipient_states[i], 0);
    }
    cJSON_AddNumberToObject(o, "total", 0);
    return o;
}

static void counts_add(cJSON *counts, const char *state, const char *n)
{
    double v = n ? strtod(n, NULL) : 0;
    cJSON *item = state ? cJSON_GetObjectItemCaseSensitive(counts, state) : NULL;
    cJSON *total = cJSON_GetObjectItemCaseSensitive(counts, "total");
    if (item && strcmp(state, "total") != 0) {
        cJSON_SetNumberValue(item, item->valuedouble + v);
    }
    cJSON_SetNumberValue(total, total->valuedouble + v);
}

cJSON *b8_campaign_json(const b8_campaign *c, cJSON *counts)
{
    cJSON *o = cJSON_CreateObject();
    b8_json_add_int(o, "id", c->id);
    b8_json_add_str(o, "name", c->name);
    b8_json_add_str(o, "type", c->type);
    b8_json_add_str(o, "body", c->body ? c->body : "");
    b8_json_add_str(o, "url", c->url);
    b8_json_add_str(o, "fallback_text", c->fallback_text);
    b8_json_add_int(o, "fallback_after", c->fallback_after ? c->fallback_after
                                                           : B8_FALLBACK_AFTER_DEFAULT);
    b8_json_add_str(o, "pause_reason", c->pause_reason);
    b8_json_add_str(o, "window_start", c->window_start);
    b8_json_add_str(o, "window_end", c->window_end);
    b8_json_add_int(o, "daily_cap", c->daily_cap);
    b8_json_add_str(o, "thumbnail_url", c->thumbnail_url);
    b8_json_add_int(o, "file_size", c->file_size);
    b8_json_add_int(o, "duration", c->duration);
    b8_json_add_str(o, "button_caption", c->button_caption);
    b8_json_add_str(o, "button_url", c->button_url);
    b8_json_add_str(o, "state", c->state);
    b8_json_add_str(o, "send_at", c->send_at);
    b8_json_add_str(o, "queued_at", c->queued_at);
    b8_json_add_str(o, "created_at", c->created_at);
    b8_json_add_str(o, "updated_at", c->updated_at);
    b8_json_add_str(o, "started_at", c->started_at);
    b8_json_add_str(o, "done_at", c->done_at);
    if (counts) {
        double sent = 0, total = cJSON_GetObjectItemCaseSensitive(counts, "total")->valuedouble;
        cJSON *progress;
        for (int i = 0; i < b8_message_state_count; i++) {
            const b8_message_state *s = &b8_message_state_table[i];
            /* The one "sent" of every page and answer (the progress poll's
             * too): accepted by 8x8 and not failed (undelivered is failed). */
            if (s->flags & B8_MS_SENT) {
                sent += cJSON_GetObjectItemCaseSensitive(counts, s->name)->valuedouble;
            }
        }
        cJSON_AddItemToObject(o, "counts", counts);
        /* What the list shows: how many were sent, of all recipients. */
        progress = cJSON_AddObjectToObject(o, "progress");
        cJSON_AddNumberToObject(progress, "sent", sent);
        cJSON_AddNumberToObject(progress, "total", total);
        cJSON_AddNumberToObject(progress, "percent", total > 0 ? (double)(long long)(sent * 100 / total) : 0);
    }
    cJSON_AddBoolToObject(o, "editable", b8_campaign_allows(c->state, B8_CA_EDIT));
    return o;
}

/* "clicked" (issue 19): recipients that clicked their button, not a
 * state, so not in "total". */
static apr_status_t counts_clicked(b8_db *db, apr_pool_t *p, const char *id, cJSON *counts)
{
    long clicked = 0;
    apr_status_t rv = b8_campaign_clicked(db, p, id, &clicked);
    cJSON_AddNumberToObject(counts, "clicked", (double)clicked);
    return rv;
}

apr_status_t b8_campaign_counts(b8_db *db, apr_pool_t *p, const char *id, cJSON **out)
{
    b8_rows *rows;
    const char *args[] = { id };
    apr_status_t rv = b8_db_select(db, p, B8_SQL_CAMPAIGN_COUNTS, args, &rows);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *out = counts_new();
    for (int i = 0; i < rows->nrows; i++) {
        counts_add(*out, B8_GET(rows, i, STATE_COUNT, state), B8_GET(rows, i, STATE_COUNT, n));
    }
    return counts_clicked(db, p, id, *out);
}

b8_errkind b8_campaign_get(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err)
{
    b8_campaign *c;
    cJSON *counts;

    if (b8_campaign_load(ctx->db, ctx->pool, id, &c) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if (!c) {
        return b8_fail(err, B8_ENOTFOUND, "no such campaign");
    }
    if (b8_campaign_counts(ctx->db, ctx->pool, id, &counts) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    *out = b8_json_pool_owned(ctx->pool, b8_campaign_json(c, counts));
    return B8_OK;
}

b8_errkind b8_campaigns_list(b8_ctx *ctx, const char *state, const char *q,
                             const b8_paging *pg, cJSON **out, b8_err *err)
{
    apr_pool_t *p = ctx->pool;
    const char *qq = q ? b8_trim(p, q) : NULL;
    const char *st = state && *state && strcmp(state, "all") != 0 ? state : NULL;
    const char *total;
    b8_rows *rows, *counts;
    cJSON *items;

    if (st && !in_list(b8_campaign_states, st)) {
        b8_field_error(err, "state", "Unknown state: use draft, queued, sending, paused, "
                       "cancelled, done or all.");
        return err->kind;
    }
    qq = qq && *qq ? qq : NULL;
    {
        const char *args[] = { st, st, qq, b8_like_contains(p, qq), apr_ltoa(p, pg->per_page),
                               apr_ltoa(p, (pg->page - 1) * pg->per_page) };
        if (b8_db_value(ctx->db, p, B8_SQL_CAMPAIGNS_COUNT, args, &total) != APR_SUCCESS
            || b8_db_select(ctx->db, p, B8_SQL_CAMPAIGNS_PAGE, args, &rows) != APR_SUCCESS
            || b8_db_select(ctx->db, p, B8_SQL_CAMPAIGNS_PAGE_COUNTS, args, &counts)
               != APR_SUCCESS) {
            return b8_fail_db(err, ctx->db);
        }
    }
    items = cJSON_CreateArray();
    for (int i = 0; i < rows->nrows; i++) {
        b8_campaign *c = campaign_from_row(p, rows, i);
        cJSON *cc = counts_new();
        for (int k = 0; k < counts->nrows; k++) {
            if (strcmp(B8_GET(counts, k, CAMPAIGN_COUNT, campaign_id), c->id) == 0) {
                counts_add(cc, B8_GET(counts, k, CAMPAIGN_COUNT, state),
                           B8_GET(counts, k, CAMPAIGN_COUNT, n));
            }
        }
        if (counts_clicked(ctx->db, p, c->id, cc) != APR_SUCCESS) {
            cJSON_Delete(cc);
            cJSON_Delete(items);
            return b8_fail_db(err, ctx->db);
        }
        cJSON_AddItemToArray(items, b8_campaign_json(c, cc));
    }
    *out = b8_json_pool_owned(ctx->pool, b8_list_envelope(items, total ? atol(total) : 0, pg));
    return B8_OK;
}

/* ------------------------------------------------------------ validation */

static int is_digits(const char *s)
{
    if (!s || !*s) {
        return 0;
    }
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s)) {
            return 0;
        }
    }
    return 1;
}

static int text_ok(const char *s)
{
    return !s || b8_utf8_valid(s, strlen(s));
}

static void check_url(b8_err *err, const char *field, const char *label, const char *url,
                      apr_pool_t *p)
{
    if (url && !b8_is_http_url(url)) {
        b8_field_error(err, field, apr_pstrcat(p, label, " must be an http:// or https:// "
                                               "address.", NULL));
    }
}

/* A positive whole number not above max, as stored text. */
static void check_count(b8_err *err, const char *field, const char *label, const char *v,
                        long max, apr_pool_t *p)
{
    long n;
    if (v && (!is_digits(v) || !b8_parse_long(v, &n) || n < 1 || n > max)) {
        b8_field_error(err, field, apr_psprintf(p, "%s must be a whole number from 1 to %ld.",
                                                label, max));
    }
}

b8_errkind b8_campaign_check(apr_pool_t *p, const b8_campaign *c, b8_err *err)
{
    int is_text = c->type && strcmp(c->type, "text") == 0;
    int is_video = c->type && strcmp(c->type, "video") == 0;
    int no_body = c->type && (strcmp(c->type, "file") == 0 || strcmp(c->type, "audio") == 0);
    b8_sms_count sms;

    if (!c->name || !*c->name) {
        b8_field_error(err, "name", "Give the campaign a name.");
    }
    else if (!text_ok(c->name) || b8_utf8_length(c->name) > B8_CAMPAIGN_NAME_MAX) {
        b8_field_error(err, "name", "The name is too long (at most 200 characters).");
    }
    if (!in_list(b8_campaign_types, c->type)) {
        b8_field_error(err, "type", "Choose a message type: text, image, video, file or audio.");
    }
    if (!text_ok(c->body)) {
        b8_field_error(err, "body", "The message is not valid UTF-8 text.");
    }
    else if (c->body && b8_utf8_length(c->body) > B8_CAMPAIGN_BODY_MAX) {
        b8_field_error(err, "body", apr_psprintf(p, "The message has %lu characters; Viber "
                                                 "allows at most 1,000.",
                                                 (unsigned long)b8_utf8_length(c->body)));
    }
    else if (is_text && (!c->body || !*c->body)) {
        b8_field_error(err, "body", "A text message needs a message body.");
    }
    else if (no_body && c->body && *c->body) {
        /* 8x8's Viber file message is the file alone. */
        b8_field_error(err, "body", "A file or audio message has no text: leave the message "
                       "empty.");
    }
    else if ((c->button_caption || c->button_url) && (!c->body || !*c->body)) {
        b8_field_error(err, "body", "A message with a button needs a message body.");
    }
    if (c->type && !is_text && !c->url) {
        b8_field_error(err, "url", "This message type needs a media URL.");
    }
    check_url(err, "url", "The media URL", c->url, p);
    check_url(err, "thumbnail_url", "The thumbnail URL", c->thumbnail_url, p);
    check_count(err, "file_size", "The file size (bytes)", c->file_size, B8_VIDEO_MAX_BYTES, p);
    check_count(err, "duration", "The duration (seconds)", c->duration, 86400, p);
    if (!is_video && c->type) {
        /* Only a video tells 8x8 its size and duration (audio goes as a file). */
        if (c->file_size) {
            b8_field_error(err, "file_size", "Only a video message has a file size.");
        }
        if (c->duration) {
            b8_field_error(err, "duration", "Only a video message has a duration.");
        }
    }
    if (is_video) {
        if (!c->thumbnail_url) {
            b8_field_error(err, "thumbnail_url", "A video needs a thumbnail URL.");
        }
        if (!c->file_size) {
            b8_field_error(err, "file_size", "A video needs its file size in bytes.");
        }
        if (!c->duration) {
            b8_field_error(err, "duration", "A video needs its duration in seconds.");
        }
    }
    if (c->button_caption || c->button_url) {
        if (c->type && (strcmp(c->type, "file") == 0 || strcmp(c->type, "audio") == 0)) {
            b8_field_error(err, "button_caption", "Only text, image and video messages can "
                           "have a button.");
        }
        if (!c->button_caption) {
            b8_field_error(err, "button_caption", "A button needs a caption (or remove its URL).");
        }
        else if (!text_ok(c->button_caption)
                 || b8_utf8_length(c->button_caption) > B8_BUTTON_CAPTION_MAX) {
            b8_field_error(err, "button_caption", "The button caption is too long (at most 30 "
                           "characters).");
        }
        if (!c->button_url) {
            b8_field_error(err, "button_url", "A button needs a URL (or remove its caption).");
        }
        check_url(err, "button_url", "The button URL", c->button_url, p);
    }
    if (c->fallback_after) {
        long n;
        if (!is_digits(c->fallback_after) || !b8_parse_long(c->fallback_after, &n)
            || n < B8_FALLBACK_AFTER_MIN || n > B8_FALLBACK_AFTER_MAX) {
            b8_field_error(err, "fallback_after", apr_psprintf(p, "The SMS fallback waits from "
                           "%d to %d seconds (one day).", B8_FALLBACK_AFTER_MIN,
                           B8_FALLBACK_AFTER_MAX));
        }
    }
    {
        b8_pace pace;
        const char *field = NULL;
        const char *why = b8_pace_parse(c->window_start, c->window_end, c->daily_cap, &pace,
                                        &field);
        if (why) {
            b8_field_error(err, field, why);
        }
    }
    if (c->fallback_text && b8_sms_count_text(c->fallback_text, &sms) != 0) {
        b8_field_error(err, "fallback_text", "The fallback text is not valid UTF-8 text.");
    }
    else if (c->fallback_text && sms.parts > B8_SMS_MAX_PARTS) {
        b8_field_error(err, "fallback_text", apr_psprintf(p, "The fallback text needs %d SMS "
                                                          "parts; at most %d are possible.",
                                                          sms.parts, B8_SMS_MAX_PARTS));
    }
    return err->kind;
}


/* A text field of in: absent -> unchanged; null or blank -> NULL. */
static void apply_text(apr_pool_t *p, const cJSON *in, const char *key, const char **dst,
                       int multiline, b8_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, key);
    const char *s;
    if (!v) {
        return;
    }
    if (cJSON_IsNull(v)) {
        *dst = NULL;
        return;
    }
    if (!cJSON_IsString(v)) {
        b8_field_error(err, key, "This must be text.");
        return;
    }
    s = multiline ? b8_unix_lines(p, v->valuestring) : b8_trim(p, v->valuestring);
    *dst = *b8_trim(p, s) ? s : NULL;
}

/* A whole-number field: a JSON number or digits; blank or null -> NULL. */
static void apply_count(apr_pool_t *p, const cJSON *in, const char *key, const char **dst,
                        b8_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, key);
    if (!v) {
        return;
    }
    if (cJSON_IsNull(v)) {
        *dst = NULL;
    }
    else if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e15
             && v->valuedouble == (double)(long long)v->valuedouble) {
        *dst = apr_psprintf(p, "%.0f", v->valuedouble);
    }
    else if (cJSON_IsString(v)) {
        const char *s = b8_trim(p, v->valuestring);
        *dst = *s ? s : NULL;
        if (*s && !is_digits(s)) {
            b8_field_error(err, key, "This must be a whole number.");
        }
    }
    else {
        b8_field_error(err, key, "This must be a whole number.");
    }
}

static void campaign_apply(apr_pool_t *p, b8_campaign *c, const cJSON *in, b8_err *err)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(in, "type");

    apply_text(p, in, "name", &c->name, 0, err);
    if (type) {
        if (cJSON_IsString(type)) {
            char *t = apr_pstrdup(p, b8_trim(p, type->valuestring));
            for (char *k = t; *k; k++) {
                *k = (char)tolower((unsigned char)*k);
            }
            c->type = t;
        }
        else {
            c->type = NULL;
        }
    }
    apply_text(p, in, "body", &c->body, 1, err);
    apply_text(p, in, "url", &c->url, 0, err);
    apply_text(p, in, "fallback_text", &c->fallback_text, 1, err);
    apply_text(p, in, "thumbnail_url", &c->thumbnail_url, 0, err);
    apply_count(p, in, "file_size", &c->file_size, err);
    apply_count(p, in, "duration", &c->duration, err);
    apply_text(p, in, "button_caption", &c->button_caption, 0, err);
    apply_text(p, in, "button_url", &c->button_url, 0, err);
    apply_text(p, in, "window_start", &c->window_start, 0, err);
    apply_text(p, in, "window_end", &c->window_end, 0, err);
    apply_count(p, in, "daily_cap", &c->daily_cap, err);
    apply_count(p, in, "fallback_after", &c->fallback_after, err);
    if (!c->fallback_after) {
        c->fallback_after = B8_FALLBACK_AFTER_DEFAULT;   /* null or blank: the default */
    }
}

/* ----------------------------------------------------------------- CRUD */

b8_errkind b8_campaign_create(b8_ctx *ctx, const cJSON *in, cJSON **out, b8_err *err)
{
    b8_campaign *c = apr_pcalloc(ctx->pool, sizeof(*c));
    const char *now = b8_now_iso(ctx->pool), *id = NULL;

    if (!cJSON_IsObject(in)) {
        return b8_fail(err, B8_EINVALID, "expected a JSON object");
    }
    c->type = "text";
    c->state = "draft";
    campaign_apply(ctx->pool, c, in, err);
    if (err->kind != B8_OK || b8_campaign_check(ctx->pool, c, err) != B8_OK) {
        return err->kind;
    }
    {
        const char *args[] = { c->name, c->type, c->body ? c->body : "", c->url,
                               c->fallback_text, c->thumbnail_url, c->file_size, c->duration,
                               c->button_caption, c->button_url, now, now };
        const char *after[] = { c->fallback_after, NULL };
        const char *pace[] = { c->window_start, c->window_end, c->daily_cap, NULL };
        if (b8_db_begin(ctx->db) != APR_SUCCESS) {
            return b8_fail_db(err, ctx->db);
        }
        if (b8_db_value(ctx->db, ctx->pool, B8_SQL_CAMPAIGN_INSERT, args, &id) != APR_SUCCESS
            || !id || !(after[1] = id) || !(pace[3] = id)
            || b8_db_exec(ctx->db, ctx->pool, B8_SQL_CAMPAIGN_SET_FALLBACK_AFTER, after, NULL)
                   != APR_SUCCESS
            || b8_db_exec(ctx->db, ctx->pool, B8_SQL_CAMPAIGN_SET_PACE, pace, NULL)
                   != APR_SUCCESS
            || b8_db_commit(ctx->db) != APR_SUCCESS) {
            b8_db_rollback(ctx->db);
            return b8_fail_db(err, ctx->db);
        }
    }
    return b8_campaign_get(ctx, id, out, err);
}

static b8_errkind not_draft(b8_ctx *ctx, b8_err *err, const char *state, const char *what)
{
    err->state = apr_pstrdup(ctx->pool, state);
    return b8_fail(err, B8_ESTATE,
                   apr_psprintf(ctx->pool, "Only a Draft campaign can %s; this one is %s.", what,
                                state));
}

b8_errkind b8_campaign_update(b8_ctx *ctx, const char *id, const cJSON *in, cJSON **out,
                              b8_err *err)
{
    b8_campaign *c;
    int n = 0;

    if (!cJSON_IsObject(in)) {
        return b8_fail(err, B8_EINVALID, "expected a JSON object");
    }
    if (b8_db_begin(ctx->db) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if (b8_campaign_load(ctx->db, ctx->pool, id, &c) != APR_SUCCESS) {
        b8_db_rollback(ctx->db);
        return b8_fail_db(err, ctx->db);
    }
    if (!c || !b8_campaign_allows(c->state, B8_CA_EDIT)) {
        b8_db_rollback(ctx->db);
        return c ? not_draft(ctx, err, c->state, "be edited")
                 : b8_fail(err, B8_ENOTFOUND, "no such campaign");
    }
    campaign_apply(ctx->pool, c, in, err);
    if (err->kind != B8_OK || b8_campaign_check(ctx->pool, c, err) != B8_OK) {
        b8_db_rollback(ctx->db);
        return err->kind;
    }
    {
        const char *args[] = { c->name, c->type, c->body ? c->body : "", c->url,
                               c->fallback_text, c->thumbnail_url, c->file_size, c->duration,
                               c->button_caption, c->button_url, c->fallback_after,
                               b8_now_iso(ctx->pool), id };
        const char *pace[] = { c->window_start, c->window_end, c->daily_cap, id };
        if (b8_db_exec(ctx->db, ctx->pool, B8_SQL_CAMPAIGN_UPDATE, args, &n) != APR_SUCCESS
            || b8_db_exec(ctx->db, ctx->pool, B8_SQL_CAMPAIGN_SET_PACE, pace, NULL) != APR_SUCCESS
            || b8_db_commit(ctx->db) != APR_SUCCESS) {
            b8_db_rollback(ctx->db);
            return b8_fail_db(err, ctx->db);
        }
    }
    return b8_campaign_get(ctx, id, out, err);
}

b8_errkind b8_campaign_require_draft(b8_ctx *ctx, apr_pool_t *p, const char *id,
                                     const char *what, b8_err *err)
{
    const char *state = NULL;
    const char *args[] = { id };
    if (b8_db_value(ctx->db, p, B8_SQL_CAMPAIGN_STATE, args, &state) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if (!state) {
        return b8_fail(err, B8_ENOTFOUND, "no such campaign");
    }
    return b8_campaign_allows(state, B8_CA_EDIT) ? B8_OK : not_draft(ctx, err, state, what);
}

b8_errkind b8_campaign_delete(b8_ctx *ctx, const char *id, b8_err *err)
{
    const char *args[] = { id };

    if (b8_db_begin(ctx->db) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if (b8_campaign_require_draft(ctx, ctx->pool, id, "be deleted", err) != B8_OK) {
        b8_db_rollback(ctx->db);
        return err->kind;
    }
    if (b8_db_exec(ctx->db, ctx->pool, B8_SQL_CAMPAIGN_DELETE, args, NULL) != APR_SUCCESS
        || b8_db_commit(ctx->db) != APR_SUCCESS) {
        b8_db_rollback(ctx->db);
        return b8_fail_db(err, ctx->db);
    }
    return B8_OK;
}

/* ------------------------------------------------------------ expanding */

const char *b8_campaign_expand(apr_pool_t *p, const char *text, const char *name,
                               const char *phone)
{
    return b8_vars_expand(p, text, name, phone);
}

b8_errkind b8_campaign_empty_counts(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err)
{
    b8_campaign *c;
    const char *n = NULL;
    b8_vars_empty e = { 0 };

    if (b8_campaign_load(ctx->db, ctx->pool, id, &c) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if (!c) {
        return b8_fail(err, B8_ENOTFOUND, "no such campaign");
    }
    if (b8_vars_name_unguarded(c->body) || b8_vars_name_unguarded(c->fallback_text)) {
        const char *args[] = { id };
        if (b8_db_value(ctx->db, ctx->pool, B8_SQL_CAMPAIGN_EMPTY_NAMES, args, &n)
            != APR_SUCCESS) {
            return b8_fail_db(err, ctx->db);
        }
        e.name = n ? atol(n) : 0;
    }
    *out = b8_json_pool_owned(ctx->pool, b8_vars_empty_json(&e));
    return B8_OK;
}

b8_errkind b8_campaign_seconds(b8_ctx *ctx, const char *id, long n, double *seconds,
                                b8_err *err)
{
    b8_campaign *c;
    b8_pace r;
    const char *field = NULL, *sent = NULL;
    double interval = b8_setting_number(ctx->settings, B8_SET_SEND_INTERVAL);
    b8_tz *tz = b8_tz_get(ctx->pool, b8_ctx_setting(ctx, B8_SET_TIME_ZONE));
    apr_time_t now = apr_time_now();

    if (b8_campaign_load(ctx->db, ctx->pool, id, &c) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if (!c) {
        return b8_fail(err, B8_ENOTFOUND, "no such campaign");
    }
    if (b8_pace_parse(c->window_start, c->window_end, c->daily_cap, &r, &field)) {
        memset(&r, 0, sizeof(r));
    }
    if (r.daily_cap) {
        const char *args[] = { id, b8_time_iso(ctx->pool, b8_pace_midnight(tz, now)) };
        if (b8_db_value(ctx->db, ctx->pool, B8_SQL_CAMPAIGN_SENT_SINCE, args, &sent)
            != APR_SUCCESS) {
            return b8_fail_db(err, ctx->db);
        }
    }
    *seconds = b8_pace_seconds(tz, &r, now, sent ? atol(sent) : 0, n, interval);
    return B8_OK;
}

b8_errkind b8_campaign_preview(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err)
{
    b8_campaign *c;
    b8_rows *rows = NULL;
    const char *args[] = { id };
    const char *name = EXAMPLE_NAME, *phone = EXAMPLE_PHONE;
    int example = 1;

    if (b8_campaign_load(ctx->db, ctx->pool, id, &c) != APR_SUCCESS
        || (c && b8_db_select(ctx->db, ctx->pool, B8_SQL_CAMPAIGN_FIRST_RECIPIENT, args, &rows)
                 != APR_SUCCESS)) {
        return b8_fail_db(err, ctx->db);
    }
    if (!c) {
        return b8_fail(err, B8_ENOTFOUND, "no such campaign");
    }
    if (rows->nrows) {
        name = B8_GET_OR(rows, 0, FIRST_RECIPIENT, name, "");
        phone = B8_GET(rows, 0, FIRST_RECIPIENT, phone);
        example = 0;
    }
    *out = b8_json_pool_owned(ctx->pool, cJSON_CreateObject());
    b8_json_add_str(*out, "name", name);
    b8_json_add_str(*out, "phone", phone);
    b8_json_add_str(*out, "body", b8_campaign_expand(ctx->pool, c->body ? c->body : "", name,
                                                     phone));
    b8_json_add_str(*out, "fallback_text", b8_campaign_expand(ctx->pool, c->fallback_text, name,
                                                              phone));
    b8_json_add_bool(*out, "example", example);
    return B8_OK;
}
