/* Things that must happen once (issue 17, "no self-inflicted harm"):
 * - flashes: the result of an HTML form, stored under a random token the
 *   browser holds in a cookie, and read (deleted) by the page the form's
 *   303 lands on, so that reloading that page shows and sends nothing;
 * - idempotency keys: the first answer of a sending API call (POST
 *   /api/sms, campaign send, queue, test), replayed for the same key and
 *   body within 24 hours. Both live in the database: they work across
 *   children and servers. */
#ifndef B8_ONCE_H
#define B8_ONCE_H

#include "b8_core.h"

/* Seconds a flash waits for its page; an idempotency key is kept a day. */
#define B8_FLASH_TTL 600
#define B8_IDEM_TTL (24 * 3600)
#define B8_IDEM_KEY_MAX 255

/* Stores data (any JSON object) for login; *token is the cookie value. */
apr_status_t b8_once_flash_put(b8_db *db, apr_pool_t *p, const char *login, const cJSON *data,
                          const char **token);
/* The flash of token for login, deleted as it is read; *out NULL when
 * there is none (expired, read already, another login's). */
apr_status_t b8_once_flash_take(b8_db *db, apr_pool_t *p, const char *login, const char *token,
                           cJSON **out);

typedef enum {
    B8_IDEM_NEW,       /* claimed: run the request, then b8_once_idem_finish */
    B8_IDEM_REPLAY,    /* answered before: send *status and *body again */
    B8_IDEM_MISMATCH,  /* the key came with another body: 422 */
    B8_IDEM_BUSY       /* the first request with this key is still running: 409 */
} b8_idem_state;

/* scope: who and what (login, method, route); hash: of the body. */
apr_status_t b8_once_idem_begin(b8_db *db, apr_pool_t *p, const char *scope, const char *key,
                           const char *hash, b8_idem_state *state, int *status,
                           const char **body);
/* Stores the answer; a status of 0 (no answer to replay, e.g. the database
 * failed) forgets the key so that a retry runs again. */
apr_status_t b8_once_idem_finish(b8_db *db, apr_pool_t *p, const char *scope, const char *key,
                            int status, const char *body);

#endif
