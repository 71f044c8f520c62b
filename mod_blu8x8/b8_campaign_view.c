#include "b8_campaign_view.h"

#include <string.h>

static double count_of(const cJSON *counts, const char *state)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(counts, state);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static int state_is(const char *state, const char *const *set)
{
    for (int i = 0; set[i]; i++) {
        if (strcmp(state, set[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

cJSON *b8_campaign_allowed_actions(const cJSON *campaign)
{
    static const char *const draft_or_queued[] = { "draft", "queued", NULL };
    static const char *const running[] = { "queued", "sending", "paused", NULL };
    static const char *const after_start[] = { "sending", "paused", "done", NULL };
    const cJSON *state_item = cJSON_GetObjectItemCaseSensitive(campaign, "state");
    const char *state = cJSON_IsString(state_item) ? state_item->valuestring : "";
    const cJSON *counts = cJSON_GetObjectItemCaseSensitive(campaign, "counts");
    int has_recipients = count_of(counts, "total") > 0;
    int failed = count_of(counts, "failed") + count_of(counts, "undelivered") > 0;
    cJSON *o = cJSON_CreateObject();
    int send = state_is(state, draft_or_queued) && has_recipients;

    cJSON_AddBoolToObject(o, "send", send);
    cJSON_AddBoolToObject(o, "queue", send);
    cJSON_AddBoolToObject(o, "unqueue", strcmp(state, "queued") == 0);
    cJSON_AddBoolToObject(o, "pause", strcmp(state, "sending") == 0);
    cJSON_AddBoolToObject(o, "resume", strcmp(state, "paused") == 0);
    cJSON_AddBoolToObject(o, "cancel", state_is(state, running));
    cJSON_AddBoolToObject(o, "duplicate", 1);
    cJSON_AddBoolToObject(o, "retry_failed", state_is(state, after_start) && failed);
    cJSON_AddBoolToObject(o, "requeue_unknown",
                          state_is(state, after_start) && count_of(counts, "unknown") > 0);
    cJSON_AddBoolToObject(o, "test", 1);
    cJSON_AddBoolToObject(o, "live", state_is(state, running));
    return o;
}

void b8_campaign_add_funnel(cJSON *progress)
{
    const cJSON *counts = cJSON_GetObjectItemCaseSensitive(progress, "counts");
    double total = count_of(counts, "total");
    double read = count_of(counts, "read");
    double delivered = read + count_of(counts, "delivered");
    double sent = delivered + count_of(counts, "sent") + count_of(counts, "undelivered");
    double accepted = sent + count_of(counts, "queued");
    double failed = count_of(counts, "failed") + count_of(counts, "undelivered");
    const struct { const char *label; double n; } steps[] = {
        { "Accepted by 8x8", accepted }, { "To the network", sent }, { "Delivered", delivered },
        { "Read", read }, { "Failed", failed },
    };
    cJSON *funnel = cJSON_AddArrayToObject(progress, "funnel");

    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "label", steps[i].label);
        cJSON_AddNumberToObject(s, "count", steps[i].n);
        /* Of every recipient, one decimal: the funnel reads as rates too. */
        cJSON_AddNumberToObject(s, "rate", total > 0 ? (double)(long)(steps[i].n * 1000.0 / total
                                                                      + 0.5) / 10.0 : 0);
        cJSON_AddNumberToObject(s, "width", total > 0 ? (double)(int)(steps[i].n * 100.0 / total) : 0);
        cJSON_AddNumberToObject(s, "y", (double)(i * 22));
        cJSON_AddItemToArray(funnel, s);
    }
}
