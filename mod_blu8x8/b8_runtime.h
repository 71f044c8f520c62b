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



/* GET /api/status: this server's worker (pid alive and heartbeat fresh)
 * and the crons' last runs. */
cJSON *b8_status_json(b8_ctx *ctx, const char *node, int worker_enabled);
/* The dashboard's figures: campaigns per state, inbound messages per AI
 * state, unclaimed leads, SMS of the last 24 hours, contacts. */
cJSON *b8_dashboard_json(b8_ctx *ctx);

#endif
