/* What the campaign page shows besides the data: the actions the current
 * state allows, and the delivery funnel. Both read the campaign/progress
 * objects of b8_campaigns.h and b8_campaign_actions.h. */
#ifndef B8_CAMPAIGN_VIEW_H
#define B8_CAMPAIGN_VIEW_H

#include <cjson/cJSON.h>

/* {"send": bool, "queue", "pause", "resume", "cancel", "duplicate",
 *  "retry_failed", "requeue_unknown", "test", "any_send"} from the
 * campaign's state and counts, following b8_campaign_actions.h. */
cJSON *b8_campaign_allowed_actions(const cJSON *campaign);

/* Adds "funnel": [{"label", "count", "width"}] to a progress object: how
 * many reached 8x8 (queued or later), were sent, delivered, read, and how
 * many failed; width is the share of the total in percent (0-100). */
void b8_campaign_add_funnel(cJSON *progress);

/* Adds "state_counts": [{"state", "n"}] to a progress object, every
 * recipient state in the table's order (b8_states.h), for the page's list. */
void b8_campaign_add_state_counts(cJSON *progress);

#endif
