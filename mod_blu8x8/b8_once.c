/* Flashes and idempotency keys (b8_once.h). */
#include "b8_once.h"

#include <stdlib.h>
#include <apr_strings.h>

#include "b8_crypto.h"
#include "b8_log.h"
#include "b8_util.h"

static const char *ago(apr_pool_t *p, long seconds)
{
    return b8_time_iso(p, apr_time_now() - apr_time_from_sec(seconds));
}

apr_status_t b8_once_flash_put(b8_db *db, apr_pool_t *p, const char *login, const cJSON *data,
                          const char **token)
{
    const char *expire[] = { ago(p, B8_FLASH_TTL) };
    const char *t = b8_random_hex(p, 16);
    apr_status_t rv;

    if (!t) {
        return APR_EGENERAL;
    }
    /* Flashes nobody came back for (a closed tab) go with the next one. */
    if ((rv = b8_db_exec(db, p, B8_SQL_FLASH_EXPIRE, expire, NULL)) != APR_SUCCESS) {
        return rv;
    }
    {
        const char *args[] = { t, login ? login : "", b8_json_print(p, data), b8_now_iso(p) };
        if ((rv = b8_db_exec(db, p, B8_SQL_FLASH_INSERT, args, NULL)) != APR_SUCCESS) {
            return rv;
        }
    }
    *token = t;
    return APR_SUCCESS;
}

apr_status_t b8_once_flash_take(b8_db *db, apr_pool_t *p, const char *login, const char *token,
                           cJSON **out)
{
    const char *args[] = { token, login ? login : "", ago(p, B8_FLASH_TTL) };
    const char *data = NULL;
    apr_status_t rv;

    *out = NULL;
    if (!token || strspn(token, "0123456789abcdef") != 32 || token[32]) {
        return APR_SUCCESS;
    }
    if ((rv = b8_db_value(db, p, B8_SQL_FLASH_TAKE, args, &data)) != APR_SUCCESS) {
        return rv;
    }
    if (data) {
        *out = b8_json_parse(p, data, strlen(data));
    }
    return APR_SUCCESS;
}

apr_status_t b8_once_idem_begin(b8_db *db, apr_pool_t *p, const char *scope, const char *key,
                           const char *hash, b8_idem_state *state, int *status,
                           const char **body)
{
    const char *expire[] = { ago(p, B8_IDEM_TTL) };
    const char *claim[] = { scope, key, hash, b8_now_iso(p) };
    const char *get[] = { scope, key };
    b8_rows *rows;
    int n = 0;
    apr_status_t rv;

    *status = 0;
    *body = NULL;
    /* Keys older than a day are forgotten: the key may be used again. */
    if ((rv = b8_db_exec(db, p, B8_SQL_IDEM_EXPIRE, expire, NULL)) != APR_SUCCESS
        || (rv = b8_db_exec(db, p, B8_SQL_IDEM_CLAIM, claim, &n)) != APR_SUCCESS) {
        return rv;
    }
    if (n == 1) {
        *state = B8_IDEM_NEW;
        return APR_SUCCESS;
    }
    if ((rv = b8_db_select(db, p, B8_SQL_IDEM_GET, get, &rows)) != APR_SUCCESS) {
        return rv;
    }
    if (!rows->nrows) {
        /* Forgotten between the two statements (its first request failed):
         * nothing was sent; the caller may try again. */
        *state = B8_IDEM_BUSY;
        return APR_SUCCESS;
    }
    if (strcmp(B8_GET_OR(rows, 0, IDEM, body_hash, ""), hash) != 0) {
        *state = B8_IDEM_MISMATCH;
        return APR_SUCCESS;
    }
    *status = atoi(B8_GET_OR(rows, 0, IDEM, status, "0"));
    if (*status == 0) {
        *state = B8_IDEM_BUSY;
        return APR_SUCCESS;
    }
    *body = B8_GET_OR(rows, 0, IDEM, response, "");
    *state = B8_IDEM_REPLAY;
    return APR_SUCCESS;
}

apr_status_t b8_once_idem_finish(b8_db *db, apr_pool_t *p, const char *scope, const char *key,
                            int status, const char *body)
{
    apr_status_t rv;
    if (status == 0) {
        const char *args[] = { scope, key };
        rv = b8_db_exec(db, p, B8_SQL_IDEM_FORGET, args, NULL);
    }
    else {
        const char *args[] = { apr_itoa(p, status), body ? body : "", scope, key };
        rv = b8_db_exec(db, p, B8_SQL_IDEM_FINISH, args, NULL);
    }
    if (rv != APR_SUCCESS) {
        B8_LOG(B8_LOG_ERR, rv, "B8-4700: cannot store the answer of Idempotency-Key %s: %s", key,
               b8_db_error(db));
    }
    return rv;
}
