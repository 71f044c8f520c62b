#include "b8_campaigns.h"
#include "b8_results.h"
#include "b8_contacts.h"
#include "b8_crypto.h"
#include "b8_csv.h"
#include "b8_import.h"
#include "b8_log.h"
#include "b8_phone.h"
#include "b8_sms.h"
#include "b8_tags.h"
#include "b8_util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

const char *const b8_campaign_types[] = { "text", "image", "video", "file", "audio", NULL };
const char *const b8_campaign_states[] = {
    "draft", "queued", "sending", "paused", "cancelled", "done", NULL
};
const char *const b8_recipient_states[] = {
    "pending", "sending", "queued", "sent", "delivered", "read", "undelivered", "failed",
    "unknown", "skipped", "cancelled", NULL
};

/* Recipient states that mean 8x8 accepted the message (the list's progress). */
static const char *const accepted_states[] = {
    "queued", "sent", "delivered", "read", "undelivered", NULL
};

#define EXAMPLE_NAME "Juan dela Cruz"
#define EXAMPLE_PHONE "+639171234567"
#define TAG_CHUNK "1000"
#define RETARGET_CHUNK 1000

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

static b8_campaign *campaign_from_row(apr_pool_t *p, const b8_rows *rows, int r)
{
    b8_campaign *c = apr_pcalloc(p, sizeof(*c));
    const char **f[] = { &c->id, &c->name, &c->type, &c->body, &c->url, &c->fallback_text,
                         &c->thumbnail_url, &c->file_size, &c->duration, &c->button_caption,
                         &c->button_url, &c->state, &c->send_at, &c->queued_at, &c->created_at,
                         &c->updated_at, &c->started_at, &c->done_at, &c->fallback_after,
                         &c->pause_reason };
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        *f[i] = B8_CELL(rows, r, (int)i);
    }
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
        for (int i = 0; accepted_states[i]; i++) {
            sent += cJSON_GetObjectItemCaseSensitive(counts, accepted_states[i])->valuedouble;
        }
        cJSON_AddItemToObject(o, "counts", counts);
        /* What the list shows: how many 8x8 accepted, of all recipients. */
        progress = cJSON_AddObjectToObject(o, "progress");
        cJSON_AddNumberToObject(progress, "sent", sent);
        cJSON_AddNumberToObject(progress, "total", total);
        cJSON_AddNumberToObject(progress, "percent", total > 0 ? (double)(long long)(sent * 100 / total) : 0);
    }
    cJSON_AddBoolToObject(o, "editable", c->state && strcmp(c->state, "draft") == 0);
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

static apr_status_t load_counts(b8_db *db, apr_pool_t *p, const char *id, cJSON **out)
{
    b8_rows *rows;
    const char *args[] = { id };
    apr_status_t rv = b8_db_select(db, p, B8_SQL_CAMPAIGN_COUNTS, args, &rows);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *out = counts_new();
    for (int i = 0; i < rows->nrows; i++) {
        counts_add(*out, B8_CELL(rows, i, 0), B8_CELL(rows, i, 1));
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
    if (load_counts(ctx->db, ctx->pool, id, &counts) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    *out = b8_campaign_json(c, counts);
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
            if (strcmp(B8_CELL(counts, k, 0), c->id) == 0) {
                counts_add(cc, B8_CELL(counts, k, 1), B8_CELL(counts, k, 2));
            }
        }
        if (counts_clicked(ctx->db, p, c->id, cc) != APR_SUCCESS) {
            cJSON_Delete(cc);
            cJSON_Delete(items);
            return b8_fail_db(err, ctx->db);
        }
        cJSON_AddItemToArray(items, b8_campaign_json(c, cc));
    }
    *out = b8_list_envelope(items, total ? atol(total) : 0, pg);
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
        if (b8_db_begin(ctx->db) != APR_SUCCESS) {
            return b8_fail_db(err, ctx->db);
        }
        if (b8_db_value(ctx->db, ctx->pool, B8_SQL_CAMPAIGN_INSERT, args, &id) != APR_SUCCESS
            || !id || !(after[1] = id)
            || b8_db_exec(ctx->db, ctx->pool, B8_SQL_CAMPAIGN_SET_FALLBACK_AFTER, after, NULL)
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
    if (!c || strcmp(c->state, "draft") != 0) {
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
        if (b8_db_exec(ctx->db, ctx->pool, B8_SQL_CAMPAIGN_UPDATE, args, &n) != APR_SUCCESS
            || b8_db_commit(ctx->db) != APR_SUCCESS) {
            b8_db_rollback(ctx->db);
            return b8_fail_db(err, ctx->db);
        }
    }
    return b8_campaign_get(ctx, id, out, err);
}

/* Inside a transaction: B8_OK when the campaign exists and is a Draft. */
static b8_errkind require_draft(b8_ctx *ctx, apr_pool_t *p, const char *id, const char *what,
                                b8_err *err)
{
    const char *state = NULL;
    const char *args[] = { id };
    if (b8_db_value(ctx->db, p, B8_SQL_CAMPAIGN_STATE, args, &state) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if (!state) {
        return b8_fail(err, B8_ENOTFOUND, "no such campaign");
    }
    return strcmp(state, "draft") == 0 ? B8_OK : not_draft(ctx, err, state, what);
}

b8_errkind b8_campaign_delete(b8_ctx *ctx, const char *id, b8_err *err)
{
    const char *args[] = { id };

    if (b8_db_begin(ctx->db) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if (require_draft(ctx, ctx->pool, id, "be deleted", err) != B8_OK) {
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
    apr_size_t nn = name ? strlen(name) : 0, pn = phone ? strlen(phone) : 0, len = 0;
    const char *s;
    char *out, *o;

    if (!text) {
        return NULL;
    }
    for (s = text; *s; s++, len++) {
        if (strncmp(s, "{name}", 6) == 0) {
            len += nn;
        }
        else if (strncmp(s, "{phone}", 7) == 0) {
            len += pn;
        }
    }
    o = out = apr_palloc(p, len + 1);
    for (s = text; *s;) {
        if (strncmp(s, "{name}", 6) == 0) {
            memcpy(o, name ? name : "", nn);
            o += nn;
            s += 6;
        }
        else if (strncmp(s, "{phone}", 7) == 0) {
            memcpy(o, phone ? phone : "", pn);
            o += pn;
            s += 7;
        }
        else {
            *o++ = *s++;
        }
    }
    *o = '\0';
    return out;
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
        name = B8_CELL(rows, 0, 0) ? B8_CELL(rows, 0, 0) : "";
        phone = B8_CELL(rows, 0, 1);
        example = 0;
    }
    *out = cJSON_CreateObject();
    b8_json_add_str(*out, "name", name);
    b8_json_add_str(*out, "phone", phone);
    b8_json_add_str(*out, "body", b8_campaign_expand(ctx->pool, c->body ? c->body : "", name,
                                                     phone));
    b8_json_add_str(*out, "fallback_text", b8_campaign_expand(ctx->pool, c->fallback_text, name,
                                                              phone));
    b8_json_add_bool(*out, "example", example);
    return B8_OK;
}

cJSON *b8_sms_count_json(const char *text)
{
    b8_sms_count n;
    cJSON *o;
    if (b8_sms_count_text(text, &n) != 0) {
        return NULL;
    }
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "characters", n.characters);
    cJSON_AddStringToObject(o, "encoding", b8_sms_encoding_name(n.encoding));
    cJSON_AddNumberToObject(o, "units", n.units);
    cJSON_AddNumberToObject(o, "parts", n.parts);
    cJSON_AddNumberToObject(o, "per_part", n.per_part);
    return o;
}

/* ----------------------------------------------------------- recipients */

/* Adds recipients in chunks: one transaction (which re-checks the Draft
 * state) per B8_IMPORT_CHUNK rows, the chunk's memory freed after it. */
typedef struct {
    b8_ctx *ctx;
    const char *campaign_id;
    const char *country;
    const char *now;
    apr_pool_t *cp;
    int rows;          /* rows handled in the open transaction */
    int open;
    b8_import_report rep;
} adder;

static b8_errkind adder_open(adder *a, b8_err *err)
{
    apr_pool_clear(a->cp);
    a->now = b8_now_iso(a->cp);
    a->rows = 0;
    if (b8_db_begin(a->ctx->db) != APR_SUCCESS) {
        return b8_fail_db(err, a->ctx->db);
    }
    a->open = 1;
    if (require_draft(a->ctx, a->cp, a->campaign_id, "have its recipients changed", err)
        != B8_OK) {
        b8_db_rollback(a->ctx->db);
        a->open = 0;
        return err->kind;
    }
    return B8_OK;
}

static b8_errkind adder_close(adder *a, b8_err *err)
{
    if (a->open) {
        a->open = 0;
        if (b8_db_commit(a->ctx->db) != APR_SUCCESS) {
            return b8_fail_db(err, a->ctx->db);
        }
    }
    return B8_OK;
}

/* After each row: a full chunk is committed and the next one opened. */
static b8_errkind adder_step(adder *a, b8_err *err)
{
    if (++a->rows < B8_IMPORT_CHUNK) {
        return B8_OK;
    }
    if (adder_close(a, err) != B8_OK) {
        return err->kind;
    }
    return adder_open(a, err);
}

static void adder_abort(adder *a)
{
    if (a->open) {
        b8_db_rollback(a->ctx->db);
        a->open = 0;
    }
    cJSON_Delete(a->rep.invalid);
    a->rep.invalid = NULL;
}

static apr_status_t adder_insert(adder *a, const char *phone, const char *name,
                                 const char *contact_id)
{
    const char *cmid = b8_uuid4(a->cp);
    int n = 0;
    apr_status_t rv;

    if (!cmid) {
        return APR_EGENERAL;
    }
    {
        const char *args[] = { a->campaign_id, contact_id, phone, phone + 1,
                               name && *name ? name : NULL, cmid, a->now, a->now };
        rv = b8_db_exec(a->ctx->db, a->cp, B8_SQL_RECIPIENT_INSERT, args, &n);
    }
    if (rv == APR_SUCCESS) {
        if (n) {
            a->rep.added++;
        }
        else {
            a->rep.duplicates++;
        }
    }
    return rv;
}

/* A number: skipped when its contact opted out; linked to its contact. */
static apr_status_t adder_phone(adder *a, const char *e164, const char *name)
{
    b8_rows *rows;
    const char *args[] = { e164 };
    apr_status_t rv = b8_db_select(a->ctx->db, a->cp, B8_SQL_CONTACT_BY_PHONE, args, &rows);
    const char *contact_id = NULL;

    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (rows->nrows) {
        if (B8_CELL(rows, 0, 3) && strcmp(B8_CELL(rows, 0, 3), "1") == 0) {
            a->rep.opted_out++;
            return APR_SUCCESS;
        }
        contact_id = B8_CELL(rows, 0, 0);
        if (!name || !*name) {
            name = B8_CELL(rows, 0, 1);
        }
    }
    return adder_insert(a, e164, name, contact_id);
}

/* A contact row (id, name, phone, phone_key, opted_out). */
static apr_status_t adder_contact(adder *a, const b8_rows *rows, int r)
{
    if (B8_CELL(rows, r, 4) && strcmp(B8_CELL(rows, r, 4), "1") == 0) {
        a->rep.opted_out++;
        return APR_SUCCESS;
    }
    return adder_insert(a, B8_CELL(rows, r, 2), B8_CELL(rows, r, 1), B8_CELL(rows, r, 0));
}

static b8_errkind adder_start(adder *a, b8_ctx *ctx, const char *campaign_id, b8_err *err)
{
    memset(a, 0, sizeof(*a));
    a->ctx = ctx;
    a->campaign_id = campaign_id;
    a->country = b8_ctx_setting(ctx, "default_country");
    b8_report_init(&a->rep);
    apr_pool_create(&a->cp, ctx->pool);
    if (adder_open(a, err) != B8_OK) {
        adder_abort(a);
        return err->kind;
    }
    return B8_OK;
}

static b8_errkind adder_finish(adder *a, cJSON **report, b8_err *err)
{
    if (adder_close(a, err) != B8_OK) {
        adder_abort(a);
        return err->kind;
    }
    apr_pool_destroy(a->cp);
    *report = b8_report_json(&a->rep, 0, 1);
    return B8_OK;
}

/* Shape of the add request: optional lists; at least one entry overall. */
static b8_errkind check_add_request(apr_pool_t *p, const cJSON *in, b8_err *err)
{
    static const char *const keys[] = { "phones", "contact_ids", "tags" };
    int entries = 0;

    if (!cJSON_IsObject(in)) {
        return b8_fail(err, B8_EINVALID, "expected a JSON object");
    }
    for (int i = 0; i < 3; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, keys[i]);
        if (v && !cJSON_IsArray(v) && !cJSON_IsNull(v)) {
            b8_field_error(err, keys[i], "This must be a list.");
        }
        entries += cJSON_GetArraySize(v);
    }
    /* A fraction must not be rounded to another contact: 422 before anything is added. */
    if (err->kind == B8_OK && b8_json_ids_check(p, in, "contact_ids", err) != B8_OK) {
        return err->kind;
    }
    /* Retargeting (issue 19): recipients of another campaign. */
    {
        const cJSON *from = cJSON_GetObjectItemCaseSensitive(in, "from_campaign");
        if (from && !cJSON_IsNull(from)) {
            if (b8_retarget_check(p, from, err) != B8_OK) {
                return err->kind;
            }
            entries++;
        }
    }
    if (err->kind == B8_OK && entries == 0) {
        b8_field_error(err, "phones", "Give at least one phone number, contact or tag.");
    }
    return err->kind;
}

/* The text of a list entry, for the report. */
static const char *entry_text(apr_pool_t *p, const cJSON *v)
{
    if (cJSON_IsString(v)) {
        return v->valuestring;
    }
    return b8_json_print(p, v);
}

static apr_status_t add_phones(adder *a, const cJSON *list, b8_err *err)
{
    const cJSON *v;
    cJSON_ArrayForEach(v, list) {
        const char *why = NULL, *e164 = NULL;
        apr_status_t rv;
        if (cJSON_IsString(v)) {
            e164 = b8_phone_e164(a->cp, v->valuestring, a->country, &why);
        }
        if (!e164) {
            b8_report_invalid(&a->rep, 0, entry_text(a->cp, v),
                              apr_pstrcat(a->cp, "not a valid phone number: ",
                                          why ? why : "not text", NULL));
            continue;
        }
        if ((rv = adder_phone(a, e164, NULL)) != APR_SUCCESS) {
            return rv;
        }
        if (adder_step(a, err) != B8_OK) {
            return APR_EINVAL;
        }
    }
    return APR_SUCCESS;
}

static apr_status_t add_contacts(adder *a, const cJSON *list, b8_err *err)
{
    const cJSON *v;
    cJSON_ArrayForEach(v, list) {
        const char *id = NULL;
        b8_rows *rows = NULL;
        apr_status_t rv;
        /* The request was checked: every entry is an id (b8_json_id). */
        if ((id = b8_json_id(a->cp, v)) != NULL) {
            /* contact columns: id, name, phone, opted_out, ... */
            const char *args[] = { id };
            if ((rv = b8_db_select(a->ctx->db, a->cp, B8_SQL_CONTACT_BY_ID, args, &rows))
                != APR_SUCCESS) {
                return rv;
            }
        }
        if (!rows || !rows->nrows) {
            b8_report_invalid(&a->rep, 0, entry_text(a->cp, v), "no such contact");
            continue;
        }
        if (B8_CELL(rows, 0, 3) && strcmp(B8_CELL(rows, 0, 3), "1") == 0) {
            a->rep.opted_out++;
            continue;
        }
        if ((rv = adder_insert(a, B8_CELL(rows, 0, 2), B8_CELL(rows, 0, 1), B8_CELL(rows, 0, 0)))
            != APR_SUCCESS) {
            return rv;
        }
        if (adder_step(a, err) != B8_OK) {
            return APR_EINVAL;
        }
    }
    return APR_SUCCESS;
}

/* One contact of a tag (b8_tag_each_contact), then the adder's step. */
typedef struct {
    adder *a;
    b8_err *err;
} tag_walk;

static apr_status_t add_tag_contact(void *baton, const b8_rows *rows, int row)
{
    tag_walk *w = baton;
    apr_status_t rv = adder_contact(w->a, rows, row);
    if (rv == APR_SUCCESS && adder_step(w->a, w->err) != B8_OK) {
        rv = APR_EINVAL;
    }
    return rv;
}

static apr_status_t add_tag(adder *a, const char *tag_id, b8_err *err)
{
    tag_walk w = { a, err };
    return b8_tag_each_contact(a->ctx->db, a->ctx->pool, tag_id, TAG_CHUNK, add_tag_contact, &w);
}

static apr_status_t add_tags(adder *a, const cJSON *list, b8_err *err)
{
    const cJSON *v;
    cJSON_ArrayForEach(v, list) {
        const char *tag_id = NULL;
        apr_status_t rv;
        if (cJSON_IsString(v)
            && (rv = b8_tag_find(a->ctx->db, a->cp, b8_trim(a->cp, v->valuestring), &tag_id))
               != APR_SUCCESS) {
            return rv;
        }
        if (!tag_id) {
            b8_report_invalid(&a->rep, 0, entry_text(a->cp, v), "no such tag");
            continue;
        }
        tag_id = apr_pstrdup(a->ctx->pool, tag_id);
        if ((rv = add_tag(a, tag_id, err)) != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

/* The rows of another campaign that meet every condition of `from`, each
 * through the same rules as a typed phone (opt-out, duplicates, contact). */
static apr_status_t add_from_campaign(adder *a, const cJSON *from, b8_err *err)
{
    const char *after = "0";
    b8_rows *rows;
    apr_status_t rv;

    if (!from || cJSON_IsNull(from)) {
        return APR_SUCCESS;
    }
    for (;;) {
        apr_pool_t *chunk;
        apr_pool_create(&chunk, a->ctx->pool);
        if ((rv = b8_retarget_chunk(a->ctx->db, chunk, from, after, RETARGET_CHUNK, &rows))
            != APR_SUCCESS) {
            return rv;
        }
        for (int r = 0; r < rows->nrows; r++) {
            if ((rv = adder_phone(a, B8_CELL(rows, r, 2), B8_CELL(rows, r, 3))) != APR_SUCCESS) {
                return rv;
            }
            if (adder_step(a, err) != B8_OK) {
                return APR_EINVAL;
            }
        }
        if (rows->nrows < RETARGET_CHUNK) {
            return APR_SUCCESS;
        }
        after = apr_pstrdup(a->ctx->pool, B8_CELL(rows, rows->nrows - 1, 0));
        apr_pool_destroy(chunk);
    }
}

b8_errkind b8_recipients_add(b8_ctx *ctx, const char *campaign_id, const cJSON *in,
                             cJSON **report, b8_err *err)
{
    adder a;
    apr_status_t rv;

    if (check_add_request(ctx->pool, in, err) != B8_OK) {
        return err->kind;
    }
    {
        const cJSON *from = cJSON_GetObjectItemCaseSensitive(in, "from_campaign");
        const char *src = from ? b8_json_id(ctx->pool, cJSON_GetObjectItemCaseSensitive(from, "id"))
                               : NULL;
        const char *state = NULL;
        const char *args[] = { src };
        if (src && b8_db_value(ctx->db, ctx->pool, B8_SQL_CAMPAIGN_STATE, args, &state)
                   != APR_SUCCESS) {
            return b8_fail_db(err, ctx->db);
        }
        if (src && !state) {
            b8_field_error(err, "from_campaign.id", "No such campaign.");
            return err->kind;
        }
    }
    if (adder_start(&a, ctx, campaign_id, err) != B8_OK) {
        return err->kind;
    }
    rv = add_phones(&a, cJSON_GetObjectItemCaseSensitive(in, "phones"), err);
    if (rv == APR_SUCCESS) {
        rv = add_contacts(&a, cJSON_GetObjectItemCaseSensitive(in, "contact_ids"), err);
    }
    if (rv == APR_SUCCESS) {
        rv = add_tags(&a, cJSON_GetObjectItemCaseSensitive(in, "tags"), err);
    }
    if (rv == APR_SUCCESS) {
        rv = add_from_campaign(&a, cJSON_GetObjectItemCaseSensitive(in, "from_campaign"), err);
    }
    if (rv != APR_SUCCESS) {
        adder_abort(&a);
        return err->kind != B8_OK ? err->kind : b8_fail_db(err, ctx->db);
    }
    return adder_finish(&a, report, err);
}

b8_errkind b8_recipients_import(b8_ctx *ctx, const char *campaign_id, const char *csv,
                                apr_size_t len, cJSON **report, b8_err *err)
{
    adder a;
    b8_numbers *numbers;
    b8_number num;
    apr_pool_t *np;
    apr_status_t rv = APR_SUCCESS;
    const char *encoding;

    if (adder_start(&a, ctx, campaign_id, err) != B8_OK) {
        return err->kind;
    }
    /* A file that is not UTF-8 is read as Windows-1252 (what Excel writes). */
    csv = b8_text_as_utf8(ctx->pool, csv, len, &len, &encoding);
    numbers = b8_numbers_open(ctx->pool, csv, len, a.country);
    /* The reader's per-line memory, freed with each chunk. */
    np = a.cp;
    while (rv == APR_SUCCESS && b8_numbers_next(numbers, np, &num)) {
        if (!num.e164) {
            b8_report_invalid(&a.rep, num.line, num.value, num.reason);
        }
        else {
            rv = adder_phone(&a, num.e164, num.name);
        }
        if (rv == APR_SUCCESS && adder_step(&a, err) != B8_OK) {
            rv = APR_EINVAL;
        }
    }
    if (rv != APR_SUCCESS) {
        adder_abort(&a);
        if (err->kind == B8_OK) {
            B8_LOG(B8_LOG_ERR, rv, "B8-3002: recipients import stopped: %s",
                   b8_db_error(ctx->db));
        }
        return err->kind != B8_OK ? err->kind : b8_fail_db(err, ctx->db);
    }
    if (adder_finish(&a, report, err) != B8_OK) {
        return err->kind;
    }
    cJSON_AddStringToObject(*report, "encoding", encoding);
    return B8_OK;
}

/* The contact a typed name means: one match, or the one called exactly
 * that. *matches lists the candidates when that is ambiguous. */
static b8_errkind contact_by_name(b8_ctx *ctx, const char *name, const cJSON **found,
                                  cJSON **matches, b8_err *err)
{
    b8_paging pg = { 1, 20 };
    cJSON *list = NULL, *items, *item;
    int exact = 0;

    *found = NULL;
    *matches = NULL;
    if (b8_contacts_list(ctx, name, NULL, NULL, &pg, &list, err) != B8_OK) {
        return err->kind;
    }
    b8_json_pool_owned(ctx->pool, list);
    items = cJSON_GetObjectItemCaseSensitive(list, "items");
    cJSON_ArrayForEach(item, items) {
        const char *n = b8_json_str(item, "name");
        if (n && strcasecmp(n, name) == 0) {
            *found = item;
            exact++;
        }
    }
    if (cJSON_GetArraySize(items) == 1) {
        *found = items->child;
    }
    else if (exact != 1) {
        *found = NULL;
        if (cJSON_GetArraySize(items) > 1) {
            *matches = cJSON_DetachItemViaPointer(list, items);
        }
    }
    return B8_OK;
}

/* A name to look up, rather than a mistyped number: it has a letter and
 * does not start like a phone number. */
static int looks_like_name(const char *s)
{
    if (isdigit((unsigned char)*s) || *s == '+' || *s == '(') {
        return 0;
    }
    for (; *s; s++) {
        if (isalpha((unsigned char)*s) || (unsigned char)*s >= 0x80) {
            return 1;
        }
    }
    return 0;
}

b8_errkind b8_recipient_add_typed(b8_ctx *ctx, const char *campaign_id, const char *typed,
                                  const char *contact_id, cJSON **out, b8_err *err)
{
    apr_pool_t *p = ctx->pool;
    const char *t = typed ? b8_trim(p, typed) : "", *why = NULL, *e164, *label = "";
    cJSON *in = b8_json_pool_owned(p, cJSON_CreateObject()), *report = NULL, *matches = NULL;
    const cJSON *contact = NULL;
    double added, dups, opted;

    if (contact_id && *contact_id) {
        cJSON *c = NULL;
        if (b8_contact_get(ctx, contact_id, &c, err) != B8_OK) {
            return err->kind;
        }
        contact = b8_json_pool_owned(p, c);
    }
    else if (!*t) {
        b8_field_error(err, "who", "Type a phone number or a contact's name.");
        return err->kind;
    }
    else if ((e164 = b8_phone_e164(p, t, b8_ctx_setting(ctx, "default_country"), &why)) != NULL) {
        cJSON_AddItemToObject(in, "phones", cJSON_CreateStringArray(&e164, 1));
        label = e164;
    }
    else if (!looks_like_name(t)) {
        b8_field_error(err, "who", apr_psprintf(p, "This is not a valid phone number: %s.", why));
        return err->kind;
    }
    else if (contact_by_name(ctx, t, &contact, &matches, err) != B8_OK) {
        return err->kind;
    }
    else if (!contact) {
        if (!matches) {
            b8_field_error(err, "who", apr_psprintf(p, "No contact is called \"%s\", and it is "
                                                    "not a phone number.", t));
            return err->kind;
        }
        *out = cJSON_CreateObject();
        cJSON_AddFalseToObject(*out, "ok");
        cJSON_AddStringToObject(*out, "message", apr_psprintf(p, "Several contacts match \"%s\": "
                                                              "choose one.", t));
        cJSON_AddItemToObject(*out, "matches", matches);
        return B8_OK;
    }
    if (contact) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(contact, "id");
        const char *name = b8_json_str(contact, "name");
        cJSON_AddItemToObject(in, "contact_ids", cJSON_CreateDoubleArray(&id->valuedouble, 1));
        label = name && *name ? apr_psprintf(p, "%s (%s)", name, b8_json_str(contact, "phone"))
                              : b8_json_str(contact, "phone");
    }
    if (b8_recipients_add(ctx, campaign_id, in, &report, err) != B8_OK) {
        return err->kind;
    }
    b8_json_pool_owned(p, report);
    added = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(report, "added"));
    dups = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(report, "duplicates"));
    opted = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(report, "opted_out"));
    *out = cJSON_CreateObject();
    cJSON_AddBoolToObject(*out, "ok", added > 0);
    cJSON_AddStringToObject(*out, "message",
        added > 0 ? apr_psprintf(p, "Added %s.", label)
        : dups > 0 ? apr_psprintf(p, "%s is already a recipient of this campaign: not added "
                                  "again.", label)
        : opted > 0 ? apr_psprintf(p, "%s has opted out of messages: not added.", label)
        : apr_psprintf(p, "%s could not be added.", label));
    return B8_OK;
}

static cJSON *recipient_json(const b8_rows *rows, int r)
{
    cJSON *o = cJSON_CreateObject();
    b8_json_add_int(o, "id", B8_CELL(rows, r, 0));
    b8_json_add_str(o, "phone", B8_CELL(rows, r, 1));
    b8_json_add_str(o, "name", B8_CELL(rows, r, 2));
    b8_json_add_int(o, "contact_id", B8_CELL(rows, r, 3));
    b8_json_add_str(o, "client_message_id", B8_CELL(rows, r, 4));
    b8_json_add_str(o, "umid", B8_CELL(rows, r, 5));
    b8_json_add_str(o, "state", B8_CELL(rows, r, 6));
    b8_json_add_str(o, "error_code", B8_CELL(rows, r, 7));
    b8_json_add_str(o, "error_message", B8_CELL(rows, r, 8));
    b8_json_add_str(o, "error_id", B8_CELL(rows, r, 10));
    b8_json_add_str(o, "channel", B8_CELL(rows, r, 11));
    b8_json_add_str(o, "updated_at", B8_CELL(rows, r, 9));
    b8_json_add_str(o, "sent_at", B8_CELL(rows, r, 12));
    b8_json_add_str(o, "delivered_at", B8_CELL(rows, r, 13));
    b8_json_add_str(o, "read_at", B8_CELL(rows, r, 14));
    b8_json_add_str(o, "clicked_at", B8_CELL(rows, r, 15));
    b8_json_add_int(o, "clicks", B8_CELL(rows, r, 16));
    b8_json_add_str(o, "replied_at", B8_CELL(rows, r, 17));
    return o;
}

b8_errkind b8_recipients_list(b8_ctx *ctx, const char *campaign_id, const char *state,
                              const b8_paging *pg, cJSON **out, b8_err *err)
{
    apr_pool_t *p = ctx->pool;
    const char *st = state && *state && strcmp(state, "all") != 0 ? state : NULL;
    const char *limit = apr_ltoa(p, pg->per_page);
    const char *offset = apr_ltoa(p, (pg->page - 1) * pg->per_page);
    b8_rows *rows;
    cJSON *counts = NULL, *items;
    double total;
    apr_status_t rv;

    if (st && !in_list(b8_recipient_states, st)) {
        b8_field_error(err, "state", "Unknown recipient state.");
        return err->kind;
    }
    {
        const char *exists = NULL;
        const char *args[] = { campaign_id };
        if (b8_db_value(ctx->db, p, B8_SQL_CAMPAIGN_STATE, args, &exists) != APR_SUCCESS
            || load_counts(ctx->db, p, campaign_id, &counts) != APR_SUCCESS) {
            return b8_fail_db(err, ctx->db);
        }
        if (!exists) {
            cJSON_Delete(counts);
            return b8_fail(err, B8_ENOTFOUND, "no such campaign");
        }
    }
    total = cJSON_GetObjectItemCaseSensitive(counts, st ? st : "total")->valuedouble;
    if (st) {
        const char *args[] = { campaign_id, st, limit, offset };
        rv = b8_db_select(ctx->db, p, B8_SQL_RECIPIENTS_PAGE_STATE, args, &rows);
    }
    else {
        const char *args[] = { campaign_id, limit, offset };
        rv = b8_db_select(ctx->db, p, B8_SQL_RECIPIENTS_PAGE, args, &rows);
    }
    if (rv != APR_SUCCESS) {
        cJSON_Delete(counts);
        return b8_fail_db(err, ctx->db);
    }
    items = cJSON_CreateArray();
    for (int i = 0; i < rows->nrows; i++) {
        cJSON_AddItemToArray(items, recipient_json(rows, i));
    }
    *out = b8_list_envelope(items, (long)total, pg);
    cJSON_AddItemToObject(*out, "counts", counts);
    return B8_OK;
}

b8_errkind b8_recipient_delete(b8_ctx *ctx, const char *campaign_id, const char *rid,
                               b8_err *err)
{
    const char *args[] = { rid, campaign_id };
    int n = 0;

    if (b8_db_begin(ctx->db) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if (require_draft(ctx, ctx->pool, campaign_id, "have its recipients changed", err)
        != B8_OK) {
        b8_db_rollback(ctx->db);
        return err->kind;
    }
    if (b8_db_exec(ctx->db, ctx->pool, B8_SQL_RECIPIENT_DELETE, args, &n) != APR_SUCCESS
        || b8_db_commit(ctx->db) != APR_SUCCESS) {
        b8_db_rollback(ctx->db);
        return b8_fail_db(err, ctx->db);
    }
    return n ? B8_OK : b8_fail(err, B8_ENOTFOUND, "no such recipient in this campaign");
}

/* ---------------------------------------------------------------- export */

b8_errkind b8_recipients_export(b8_ctx *ctx, const char *campaign_id, b8_write_fn *write,
                                void *baton, b8_err *err)
{
    /* Issue 19's columns go last: scripts that read by position keep working. */
    static const char *const header[] = { "phone", "name", "client_message_id", "umid", "state",
                                          "error_code", "error_message", "error_id",
                                          "updated_at", "clicked_at", "clicks", "replied_at" };
    const char *state = NULL;
    const char *args[] = { campaign_id, NULL, NULL };

    if (b8_db_value(ctx->db, ctx->pool, B8_SQL_CAMPAIGN_STATE, args, &state) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if (!state) {
        return b8_fail(err, B8_ENOTFOUND, "no such campaign");
    }
    return b8_export_csv(ctx, header, 12, B8_SQL_RECIPIENTS_AFTER, args, 3, write, baton, err);
}
