/* Things that must happen once (b8_once.c): a flash is read once, by its
 * login only; an idempotency key claims, replays, refuses another body and
 * is busy while its first request runs. And the estimate's duration with
 * the optional send window and daily cap (b8_estimate.c). */
#include "b8_test.h"
#include "b8_estimate.h"
#include "b8_once.h"
#include "b8_store.h"

#include <string.h>

B8_TEST(flash_is_read_once_by_its_login)
{
    b8_test_store f;
    const char *token = NULL;
    cJSON *data = cJSON_CreateObject(), *out = NULL;

    B8_CHECK(b8_test_store_open(p, &f));
    cJSON_AddStringToObject(data, "notice_code", "saved");
    B8_CHECK(b8_once_flash_put(f.db, f.pool, "admin", data, &token) == APR_SUCCESS && token);
    cJSON_Delete(data);
    B8_CHECK(token && strlen(token) == 32);
    /* Another login's page does not get it (and does not use it up). */
    B8_CHECK(b8_once_flash_take(f.db, f.pool, "bob", token, &out) == APR_SUCCESS && out == NULL);
    B8_CHECK(b8_once_flash_take(f.db, f.pool, "admin", token, &out) == APR_SUCCESS && out);
    B8_CHECK(out && strcmp(cJSON_GetObjectItem(out, "notice_code")->valuestring, "saved") == 0);
    B8_CHECK(b8_once_flash_take(f.db, f.pool, "admin", token, &out) == APR_SUCCESS && out == NULL);
    /* A cookie that is not a token is no flash. */
    B8_CHECK(b8_once_flash_take(f.db, f.pool, "admin", "' OR 1=1 --", &out) == APR_SUCCESS
             && out == NULL);
    b8_test_store_close(p, &f);
}

B8_TEST(idempotency_key_claims_replays_and_refuses_another_body)
{
    b8_test_store f;
    b8_idem_state st;
    int status = 0;
    const char *body = NULL;

    B8_CHECK(b8_test_store_open(p, &f));
    B8_CHECK(b8_once_idem_begin(f.db, f.pool, "admin POST api/sms", "k1", "h1", &st, &status, &body)
             == APR_SUCCESS && st == B8_IDEM_NEW);
    /* While the first runs, a duplicate is told to wait. */
    B8_CHECK(b8_once_idem_begin(f.db, f.pool, "admin POST api/sms", "k1", "h1", &st, &status, &body)
             == APR_SUCCESS && st == B8_IDEM_BUSY);
    B8_CHECK(b8_once_idem_finish(f.db, f.pool, "admin POST api/sms", "k1", 202, "{\"id\":7}")
             == APR_SUCCESS);
    B8_CHECK(b8_once_idem_begin(f.db, f.pool, "admin POST api/sms", "k1", "h1", &st, &status, &body)
             == APR_SUCCESS && st == B8_IDEM_REPLAY && status == 202
             && body && strcmp(body, "{\"id\":7}") == 0);
    B8_CHECK(b8_once_idem_begin(f.db, f.pool, "admin POST api/sms", "k1", "h2", &st, &status, &body)
             == APR_SUCCESS && st == B8_IDEM_MISMATCH);
    /* Another scope (route or login) is another key. */
    B8_CHECK(b8_once_idem_begin(f.db, f.pool, "bob POST api/sms", "k1", "h2", &st, &status, &body)
             == APR_SUCCESS && st == B8_IDEM_NEW);
    /* A first request that failed without an answer is forgotten: a retry runs. */
    B8_CHECK(b8_once_idem_finish(f.db, f.pool, "bob POST api/sms", "k1", 0, NULL) == APR_SUCCESS);
    B8_CHECK(b8_once_idem_begin(f.db, f.pool, "bob POST api/sms", "k1", "h2", &st, &status, &body)
             == APR_SUCCESS && st == B8_IDEM_NEW);
    b8_test_store_close(p, &f);
}

static b8_pace pace(double interval, int start, int end, long cap, int now, long today)
{
    b8_pace x;
    memset(&x, 0, sizeof(x));
    x.interval = interval;
    x.window_start = start;
    x.window_end = end;
    x.daily_cap = cap;
    x.now_minute = now;
    x.sent_today = today;
    return x;
}

B8_TEST(estimate_seconds_with_interval_window_and_cap)
{
    b8_pace x = pace(5, -1, -1, -1, 0, 0);
    B8_CHECK(b8_estimate_seconds(100, &x) == 500);
    x.max_rate = 0.1;                              /* one every 10 s at most */
    B8_CHECK(b8_estimate_seconds(10, &x) == 100);
    x = pace(0.5, -1, -1, -1, 0, 0);
    B8_CHECK(b8_estimate_seconds(3, &x) == 2);     /* rounded up */
    /* A window 09:00-10:00 opening in an hour: the wait counts. */
    x = pace(60, 9 * 60, 10 * 60, -1, 8 * 60, 0);
    B8_CHECK(b8_estimate_seconds(1, &x) == 3600 + 60);
    /* Two messages a minute, a cap of 2 a day, 5 to go: three days. */
    x = pace(30, -1, -1, 2, 0, 0);
    B8_CHECK(b8_estimate_seconds(5, &x) >= 2 * 86400
             && b8_estimate_seconds(5, &x) < 3 * 86400);
    B8_CHECK(b8_estimate_seconds(0, &x) == 0);
}

B8_TEST_MAIN(B8_CASE(flash_is_read_once_by_its_login),
             B8_CASE(idempotency_key_claims_replays_and_refuses_another_body),
             B8_CASE(estimate_seconds_with_interval_window_and_cap))
