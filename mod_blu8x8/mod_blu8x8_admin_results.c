/* Issue 19: a campaign's results (stats, timeline) and the dashboard's last
 * days, as JSON and as the figures the pages draw (inline SVG made by the
 * templates from the geometry the core computes). Thin: b8_results.c. */
#include "mod_blu8x8_admin.h"

#include "b8_results.h"

#include <apr_strings.h>

static int api_stats(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_campaign_stats(a->ctx, a->params[0], &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

static int api_timeline(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    const char *bucket = apr_table_get(a->query, "bucket");
    b8_errkind kind;

    /* "page" is the campaign page's mix; the API names hour or day. */
    if (bucket && strcmp(bucket, "hour") != 0 && strcmp(bucket, "day") != 0) {
        b8_field_error(&err, "bucket", "Use hour or day.");
        return b8_api_answer(a, err.kind, &err, HTTP_OK, NULL);
    }
    kind = b8_campaign_timeline(a->ctx, a->params[0], bucket ? bucket : "hour", &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

static int api_days(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_stats_days(a->ctx, apr_table_get(a->query, "days"), &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

const b8_route b8_routes_results[] = {
    { "GET", "api/campaigns/:/stats", api_stats, B8_BODY_NONE },
    { "GET", "api/campaigns/:/timeline", api_timeline, B8_BODY_NONE },
    { "GET", "api/stats", api_days, B8_BODY_NONE },
    { NULL, NULL, NULL, 0 }
};

/* ------------------------------------------------------------------ pages */

static void add_step(cJSON *funnel, const char *label, double n, double accepted, int rated)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "label", label);
    cJSON_AddNumberToObject(s, "n", n);
    if (rated) {
        double pct = accepted > 0 ? n * 100 / accepted : 0;
        char buf[32];
        apr_snprintf(buf, sizeof(buf), "%.1f%%", pct);
        cJSON_AddStringToObject(s, "rate", buf);
        /* Bar width in the page's 0..100 viewBox. */
        cJSON_AddNumberToObject(s, "bar", accepted > 0 ? (double)(long)(n * 1000 / accepted) / 10
                                                       : 0);
    }
    cJSON_AddItemToArray(funnel, s);
}

static double num_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

void b8_campaign_results_view(b8_areq *a, cJSON *data, const char *id)
{
    static const char *const keys[] = { "sent", "delivered", "read", "clicked", "replied" };
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *stats = NULL, *timeline = NULL, *results, *funnel;
    double acc;

    /* Both answers are pool-owned: added by reference, never freed. */
    if (b8_campaign_stats(a->ctx, id, &stats, &err) != B8_OK
        || b8_campaign_timeline(a->ctx, id, "page", &timeline, &err) != B8_OK) {
        return;
    }
    results = cJSON_AddObjectToObject(data, "results");
    acc = num_of(stats, "accepted");
    funnel = cJSON_AddArrayToObject(results, "funnel");
    add_step(funnel, "Accepted", acc, acc, 1);
    add_step(funnel, "Delivered", num_of(stats, "delivered"), acc, 1);
    add_step(funnel, "Read", num_of(stats, "read"), acc, 1);
    add_step(funnel, "Clicked", num_of(stats, "clicked"), acc, 1);
    add_step(funnel, "Replied", num_of(stats, "replied"), acc, 1);
    add_step(funnel, "Leads", num_of(stats, "leads"), acc, 1);
    add_step(funnel, "Won", num_of(stats, "won"), acc, 1);
    cJSON_AddItemReferenceToObject(results, "stats", stats);
    if (cJSON_GetArraySize(timeline) > 0) {
        cJSON *chart = b8_results_chart(a->r->pool, timeline, keys, 5, "t", 360, 180);
        cJSON_AddStringToObject(chart, "aria", "Sent, delivered, read, clicked and replied over time");
        cJSON_AddItemToObject(results, "chart", chart);
    }
}

void b8_dashboard_results_view(b8_areq *a, cJSON *data)
{
    static const char *const viber[] = { "sent", "delivered", "read", "clicked", "replies",
                                         "leads" };
    static const char *const money[] = { "sms_cost" };
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL, *days, *charts, *senders, *cost_rows;

    if (b8_stats_days(a->ctx, "30", &out, &err) != B8_OK) {
        return;
    }
    days = cJSON_GetObjectItemCaseSensitive(out, "days");
    charts = cJSON_AddObjectToObject(data, "charts");
    {
        cJSON *chart = b8_results_chart(a->r->pool, days, viber, 6, "date", 360, 180);
        cJSON_AddStringToObject(chart, "aria", "Campaign messages, replies and leads per day");
        cJSON_AddItemToObject(charts, "engagement", chart);
    }
    /* SMS cost: the total and one series per sender account. */
    senders = b8_json_array(a->r->pool);
    for (const cJSON *d = days->child; d; d = d->next) {
        const cJSON *by = cJSON_GetObjectItemCaseSensitive(d, "sms_cost_by_sender");
        for (const cJSON *s = by ? by->child : NULL; s; s = s->next) {
            int seen = 0;
            for (const cJSON *k = senders->child; k; k = k->next) {
                seen |= strcmp(k->valuestring, s->string) == 0;
            }
            if (!seen && cJSON_GetArraySize(senders) < 6) {
                cJSON_AddItemToArray(senders, cJSON_CreateString(s->string));
            }
        }
    }
    /* Rows with the total and each sender's cost as plain keys. */
    cost_rows = b8_json_array(a->r->pool);
    for (const cJSON *d = days->child; d; d = d->next) {
        cJSON *row = cJSON_CreateObject();
        const cJSON *by = cJSON_GetObjectItemCaseSensitive(d, "sms_cost_by_sender");
        cJSON_AddStringToObject(row, "date", cJSON_GetObjectItemCaseSensitive(d, "date")->valuestring);
        cJSON_AddNumberToObject(row, "sms_cost", num_of(d, "sms_cost"));
        for (const cJSON *k = senders->child; k; k = k->next) {
            cJSON_AddNumberToObject(row, apr_pstrcat(a->r->pool, "s:", k->valuestring, NULL),
                                    num_of(by, k->valuestring));
        }
        cJSON_AddItemToArray(cost_rows, row);
    }
    {
        int n = 1 + cJSON_GetArraySize(senders), i = 1;
        const char **keys = apr_pcalloc(a->r->pool, sizeof(*keys) * (apr_size_t)n);
        cJSON *chart, *s;
        keys[0] = money[0];
        for (const cJSON *k = senders->child; k; k = k->next) {
            keys[i++] = apr_pstrcat(a->r->pool, "s:", k->valuestring, NULL);
        }
        chart = b8_results_chart(a->r->pool, cost_rows, keys, n, "date", 360, 180);
        /* Series names for the legend: "total", then the sender IDs. */
        s = cJSON_GetObjectItemCaseSensitive(chart, "series");
        for (cJSON *e = s->child; e; e = e->next) {
            const char *key = cJSON_GetObjectItemCaseSensitive(e, "key")->valuestring;
            cJSON_AddStringToObject(e, "name", strncmp(key, "s:", 2) == 0 ? key + 2 : "total");
        }
        cJSON_AddStringToObject(chart, "aria", "SMS cost per day, total and per sender account");
        cJSON_AddItemToObject(charts, "sms_cost", chart);
    }
    {
        /* The 30-day totals next to the charts. */
        cJSON *totals = cJSON_AddObjectToObject(charts, "totals");
        static const char *const all[] = { "sent", "delivered", "read", "clicked", "replies",
                                           "leads", "sms", "sms_cost" };
        for (int k = 0; k < 8; k++) {
            double t = 0;
            for (const cJSON *d = days->child; d; d = d->next) {
                t += num_of(d, all[k]);
            }
            cJSON_AddNumberToObject(totals, all[k], k == 7 ? (double)(long long)(t * 100 + 0.5) / 100
                                                           : t);
        }
    }
}
