/* The AI lane of the worker: answers stored inbound Viber texts with
 * OpenAI (and, in Da Vinci mode, asks the intent question and makes leads).
 * It only writes rows: the reply and the agent pings are outbound messages
 * in state 'pending' that the direct lane sends, with its crash rule. */
#ifndef B8_AI_LANE_H
#define B8_AI_LANE_H

#include <apr_hash.h>
#include "b8_settings.h"
#include "b8_store.h"

#define B8_AI_MAX_ATTEMPTS 5
#define B8_AI_HISTORY_TURNS 6
#define B8_AI_REPLY_MAX_CHARS 1000   /* Viber's limit on a text, in code points */

typedef struct {
    b8_store *store;
    b8_settings_cache *settings;   /* the worker's one snapshot (b8_settings.h) */
    void (*wake_senders)(void *baton);   /* new outbound rows are waiting */
    void *baton;
} b8_ai_lane_env;

/* Answers at most one phone's group of texts. Returns 1 when it did work
 * (call again at once), 0 when idle; *next_at is when something may become
 * due (0: nothing known; wait for a wake-up or the next tick). */
int b8_ai_lane_step(apr_pool_t *p, const b8_ai_lane_env *env, apr_time_t *next_at);

#endif
