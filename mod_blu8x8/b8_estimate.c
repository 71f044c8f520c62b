/* Estimates before a send (b8_estimate.h). */
#include "b8_estimate.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "b8_campaigns.h"
#include "b8_log.h"
#include "b8_settings.h"
#include "b8_sms.h"

/* Rounded up to whole seconds (no libm). */
static long ceil_long(double x)
{
    long n = (long)x;
    return (double)n < x ? n + 1 : n;
}

void b8_estimate_pace_default(b8_ctx *ctx, b8_pace *pace)
{
    memset(pace, 0, sizeof(*pace));
    pace->interval = b8_setting_number(ctx->settings, B8_SET_SEND_INTERVAL);
    if (pace->interval < 0) {
        pace->interval = 0;
    }
    pace->window_start = -1;
    pace->window_end = -1;
    pace->daily_cap = -1;
}

/* Minutes of the window that are left today from minute m, and its length. */
static int window_len(const b8_pace *pace)
{
    int len = pace->window_end - pace->window_start;
    return len > 0 ? len : len + 24 * 60;
}

static int in_window(const b8_pace *pace, int m)
{
    int off = ((m - pace->window_start) % (24 * 60) + 24 * 60) % (24 * 60);
    return off < window_len(pace);
}

long b8_estimate_seconds(long n, const b8_pace *pace)
{
    double each = pace->interval;
    double total = 0;
    int minute = pace->now_minute;
    long today = pace->sent_today;
    int days = 0;

    if (pace->max_rate > 0 && 1.0 / pace->max_rate > each) {
        each = 1.0 / pace->max_rate;
    }
    if (pace->window_start < 0 && pace->daily_cap < 0) {
        return ceil_long((double)n * each);
    }
    /* Minute by minute through the days: waits outside the window and
     * after the day's cap count too. Bounded (a year) for absurd inputs. */
    while (n > 0 && days < 366) {
        long room = pace->daily_cap < 0 ? n : pace->daily_cap - today;
        int open = pace->window_start < 0 || in_window(pace, minute);
        if (open && room > 0) {
            double per_minute = each > 0 ? 60.0 / each : (double)n;
            long k = (long)per_minute < 1 ? 1 : (long)per_minute;
            if (k > room) {
                k = room;
            }
            if (k > n) {
                k = n;
            }
            n -= k;
            today += k;
            total += n > 0 ? 60 : (double)k * each;
        }
        else {
            total += 60;
        }
        if (++minute >= 24 * 60) {
            minute = 0;
            today = 0;
            days++;
        }
    }
    return ceil_long(total);
}

b8_errkind b8_estimate_campaign(b8_ctx *ctx, const char *id, const b8_pace *pace, cJSON **out,
                                b8_err *err)
{
    b8_campaign *c = NULL;
    b8_rows *rows;
    b8_pace def;
    const char *args[] = { id };
    long pending, opted, noname, sendable, seconds = 0;
    int parts = 0;
    apr_status_t rv;

    if ((rv = b8_campaign_load(ctx->db, ctx->pool, id, &c)) != APR_SUCCESS) {
        B8_LOG(B8_LOG_ERR, rv, "B8-4704: cannot load campaign %s: %s", id, b8_db_error(ctx->db));
        return b8_fail_db(err, ctx->db);
    }
    if (!c) {
        return b8_fail(err, B8_ENOTFOUND, "no such campaign");
    }
    if ((rv = b8_db_select(ctx->db, ctx->pool, B8_SQL_ESTIMATE_CAMPAIGN, args, &rows))
        != APR_SUCCESS || rows->nrows != 1) {
        B8_LOG(B8_LOG_ERR, rv, "B8-4705: cannot count campaign %s: %s", id, b8_db_error(ctx->db));
        return b8_fail_db(err, ctx->db);
    }
    pending = atol(B8_GET_OR(rows, 0, ESTIMATE, pending, "0"));
    opted = atol(B8_GET_OR(rows, 0, ESTIMATE, opted_out, "0"));
    noname = atol(B8_GET_OR(rows, 0, ESTIMATE, no_name, "0"));
    sendable = pending - opted;
    /* {name}/{first_name} left empty: only where the text has the variable
     * without a fallback ({name|there} is never empty). */
    {
        cJSON *empty = NULL;
        if (b8_campaign_empty_counts(ctx, id, &empty, err) != B8_OK) {
            return err->kind;
        }
        noname = (long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(empty, "name"));
    }
    if (c->fallback_text && *c->fallback_text) {
        /* As an average recipient's text: an example name in {name}. */
        b8_sms_count n;
        if (b8_sms_count_text(b8_campaign_expand(ctx->pool, c->fallback_text, "Maria Santos",
                                                 "+639171234567"), &n) == 0) {
            parts = n.parts;
        }
    }
    if (!pace) {
        /* The campaign's own send window and daily cap, at the current
         * interval; never faster than the rate cap allows. */
        double windowed = 0;
        b8_estimate_pace_default(ctx, &def);
        pace = &def;
        if (b8_campaign_seconds(ctx, id, sendable, &windowed, err) != B8_OK) {
            return err->kind;
        }
        seconds = (long)(windowed + 0.999);
    }
    *out = b8_json_object(ctx->pool);
    cJSON_AddStringToObject(*out, "state", c->state);
    cJSON_AddNumberToObject(*out, "recipients", (double)pending);
    cJSON_AddNumberToObject(*out, "sendable", (double)sendable);
    cJSON_AddNumberToObject(*out, "opted_out", (double)opted);
    cJSON_AddNumberToObject(cJSON_AddObjectToObject(*out, "empty"), "name", (double)noname);
    cJSON_AddNumberToObject(*out, "sms_parts", (double)parts * (double)sendable);
    cJSON_AddNumberToObject(*out, "sms_parts_each", parts);
    if (b8_estimate_seconds(sendable, pace) > seconds) {
        seconds = b8_estimate_seconds(sendable, pace);
    }
    cJSON_AddNumberToObject(*out, "seconds", (double)seconds);
    cJSON_AddNumberToObject(*out, "interval", pace->interval);
    return B8_OK;
}
