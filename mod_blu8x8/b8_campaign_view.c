#include "b8_campaign_view.h"
#include "b8_states.h"

#include <string.h>

static double count_of(const cJSON *counts, const char *state)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(counts, state);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

cJSON *b8_campaign_allowed_actions(const cJSON *campaign)
{
    const cJSON *state_item = cJSON_GetObjectItemCaseSensitive(campaign, "state");
    const char *state = cJSON_IsString(state_item) ? state_item->valuestring : "";
    const cJSON *counts = cJSON_GetObjectItemCaseSensitive(campaign, "counts");
    int has_recipients = count_of(counts, "total") > 0;
    int failed = count_of(counts, "failed") + count_of(counts, "undelivered") > 0;
    cJSON *o = cJSON_CreateObject();
    int retry = b8_campaign_allows(state, B8_CA_RETRY);

    /* The buttons are the actions' own checks (b8_states.h), plus whether
     * there is anything to act on. */
    cJSON_AddBoolToObject(o, "send", b8_campaign_allows(state, B8_CA_SEND) && has_recipients);
    cJSON_AddBoolToObject(o, "queue", b8_campaign_allows(state, B8_CA_QUEUE) && has_recipients);
    cJSON_AddBoolToObject(o, "pause", b8_campaign_allows(state, B8_CA_PAUSE));
    cJSON_AddBoolToObject(o, "resume", b8_campaign_allows(state, B8_CA_RESUME));
    cJSON_AddBoolToObject(o, "cancel", b8_campaign_allows(state, B8_CA_CANCEL));
    cJSON_AddBoolToObject(o, "duplicate", b8_campaign_allows(state, B8_CA_DUPLICATE));
    cJSON_AddBoolToObject(o, "retry_failed", retry && failed);
    cJSON_AddBoolToObject(o, "requeue_unknown", retry && count_of(counts, "unknown") > 0);
    cJSON_AddBoolToObject(o, "test", b8_campaign_allows(state, B8_CA_TEST));
    cJSON_AddBoolToObject(o, "live", b8_campaign_allows(state, B8_CA_LIVE));
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
        { "Accepted by 8x8", accepted }, { "Sent", sent }, { "Delivered", delivered },
        { "Read", read }, { "Failed", failed },
    };
    cJSON *funnel = cJSON_AddArrayToObject(progress, "funnel");

    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "label", steps[i].label);
        cJSON_AddNumberToObject(s, "count", steps[i].n);
        cJSON_AddNumberToObject(s, "width", total > 0 ? (double)(int)(steps[i].n * 100.0 / total) : 0);
        cJSON_AddNumberToObject(s, "y", (double)(i * 22));
        cJSON_AddItemToArray(funnel, s);
    }
}

void b8_campaign_add_state_counts(cJSON *progress)
{
    const cJSON *counts = cJSON_GetObjectItemCaseSensitive(progress, "counts");
    cJSON *list = cJSON_AddArrayToObject(progress, "state_counts");

    for (int i = 0; b8_recipient_states[i]; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "state", b8_recipient_states[i]);
        cJSON_AddNumberToObject(o, "n", count_of(counts, b8_recipient_states[i]));
        cJSON_AddItemToArray(list, o);
    }
}
