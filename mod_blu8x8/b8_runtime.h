/* Values the module keeps in the database besides the domain and the
 * settings: the worker's heartbeat and cron runs, the server secret's row. */
#ifndef B8_RUNTIME_H
#define B8_RUNTIME_H

#include "b8_core.h"

apr_status_t b8_runtime_get(b8_db *db, apr_pool_t *p, const char *key,
                            const char **value, const char **updated_at);
apr_status_t b8_runtime_put(b8_db *db, apr_pool_t *p, const char *key, const char *value);


/* Worker heartbeat, keyed by node (this server) so several servers can
 * share a database. */
const char *b8_worker_key(apr_pool_t *p, const char *node);



/* 8x8 as the senders find it: written (runtime "eightx8") only when it
 * changes in this process; reachable after any answer below 500, not after
 * a 5xx or a failed connection (error says which). */
apr_status_t b8_eightx8_reach_note(b8_db *db, apr_pool_t *p, int reachable, const char *error);

/* The SMS lane's pause after an account refusal: reason is 8x8's code and
 * message; NULL resumes it (also done by every settings save and by POST
 * /api/sms/resume). *reason is NULL when the lane is not paused. */
apr_status_t b8_sms_pause_set(b8_db *db, apr_pool_t *p, const char *reason);
apr_status_t b8_sms_pause_get(b8_db *db, apr_pool_t *p, const char **reason,
                              const char **since);

/* GET /api/status: this server's worker (pid alive and heartbeat fresh),
 * the crons' last runs, "eightx8": {"reachable", "last_error", "since"} and
 * "sms": {"paused", "reason", "since"}. */
cJSON *b8_status_json(b8_ctx *ctx, const char *node, int worker_enabled);
/* The dashboard's figures: campaigns per state, inbound messages per AI
 * state, unclaimed leads, SMS of the last 24 hours, contacts. */
cJSON *b8_dashboard_json(b8_ctx *ctx);

#endif
