/* b8_metrics: the shared counters and the text they become, and the
 * counts the triggers keep in the database (SQLite). */
#include "b8_test.h"

#include <stdlib.h>

#include "b8_crypto.h"
#include "b8_metrics.h"
#include "b8_sql.h"
#include "b8_store.h"

static int has_line(const char *text, const char *line)
{
    const char *at = text;
    size_t n = strlen(line);
    while ((at = strstr(at, line)) != NULL) {
        if ((at == text || at[-1] == '\n') && (at[n] == '\n' || at[n] == '\0')) {
            return 1;
        }
        at += n;
    }
    return 0;
}

B8_TEST(counters_render_in_the_text_format)
{
    void *mem = calloc(1, b8_metrics_size());
    const char *text;

    /* Nothing attached: counting does nothing, the text still parses. */
    b8_metrics_attach(NULL);
    b8_metrics_webhook(200);
    text = b8_metrics_render(p, NULL, 0);
    B8_CHECK(has_line(text, "blu8x8_webhook_requests_total{code=\"200\"} 0"));
    B8_CHECK(has_line(text, "blu8x8_database_up 0"));
    B8_CHECK(!strstr(text, "blu8x8_messages_total"));

    b8_metrics_attach(mem);
    b8_metrics_webhook(200);
    b8_metrics_webhook(200);
    b8_metrics_webhook(401);
    b8_metrics_webhook(7);   /* not a status: counted apart, never out of bounds */
    b8_metrics_eightx8(B8_API_CHATAPPS, 200);
    b8_metrics_eightx8(B8_API_SMS_BATCH, 503);
    b8_metrics_eightx8(B8_API_SMS, 0);
    b8_metrics_openai(apr_time_from_msec(300));
    b8_metrics_openai(apr_time_from_sec(2));
    b8_metrics_openai(apr_time_from_sec(120));
    text = b8_metrics_render(p, NULL, 1);
    B8_CHECK(has_line(text, "# TYPE blu8x8_webhook_requests_total counter"));
    B8_CHECK(has_line(text, "blu8x8_webhook_requests_total{code=\"200\"} 2"));
    B8_CHECK(has_line(text, "blu8x8_webhook_requests_total{code=\"401\"} 1"));
    B8_CHECK(has_line(text, "blu8x8_eightx8_requests_total{api=\"chatapps\",code=\"200\"} 1"));
    B8_CHECK(has_line(text, "blu8x8_eightx8_requests_total{api=\"sms_batch\",code=\"503\"} 1"));
    B8_CHECK(has_line(text, "blu8x8_eightx8_requests_total{api=\"sms\",code=\"none\"} 1"));
    /* Cumulative buckets: 0.3 s falls in 0.5, 2 s in 2, 120 s only in +Inf. */
    B8_CHECK(has_line(text, "blu8x8_openai_request_seconds_bucket{le=\"0.25\"} 0"));
    B8_CHECK(has_line(text, "blu8x8_openai_request_seconds_bucket{le=\"0.5\"} 1"));
    B8_CHECK(has_line(text, "blu8x8_openai_request_seconds_bucket{le=\"2\"} 2"));
    B8_CHECK(has_line(text, "blu8x8_openai_request_seconds_bucket{le=\"60\"} 2"));
    B8_CHECK(has_line(text, "blu8x8_openai_request_seconds_bucket{le=\"+Inf\"} 3"));
    B8_CHECK(has_line(text, "blu8x8_openai_request_seconds_count 3"));
    B8_CHECK(has_line(text, "blu8x8_openai_request_seconds_sum 122.300000"));
    /* No beat yet: the worker is not up. A beat from this live process is;
     * one from a pid that is gone is not. */
    B8_CHECK(has_line(text, "blu8x8_worker_up 0"));
    b8_metrics_worker_beat((long)getpid(), 1, apr_time_from_sec(2));
    text = b8_metrics_render(p, NULL, 1);
    B8_CHECK(has_line(text, "blu8x8_worker_up 1"));
    B8_CHECK(has_line(text, "blu8x8_sender_active 1"));
    text = b8_metrics_render(p, NULL, 0);
    B8_CHECK(has_line(text, "blu8x8_worker_up 0"));
    b8_metrics_worker_beat(999999999L, 1, apr_time_from_sec(2));
    text = b8_metrics_render(p, NULL, 1);
    B8_CHECK(has_line(text, "blu8x8_worker_up 0") && has_line(text, "blu8x8_sender_active 0"));
    b8_metrics_attach(NULL);
    free(mem);
}


/* The triggers keep message_counts and queue_counts as rows change. */
B8_TEST(triggers_count_states_and_queues)
{
    const char *path = b8_test_temp_db(p), *err = NULL, *text;
    b8_store *st;
    b8_db *db;
    const char *now = "2026-01-01T00:00:00.000Z";
    int n = 0;

    B8_CHECK(b8_store_open(p, "sqlite3", path, 2, &st, &err) == APR_SUCCESS);
    B8_CHECK(b8_store_migrate(st, p, &err) == APR_SUCCESS);
    B8_CHECK(b8_db_get(st, p, &db) == APR_SUCCESS);
    /* Three AI replies queued (direct lane), one of them sent, then delivered. */
    for (int i = 0; i < 3; i++) {
        const char *args[] = { NULL, NULL, apr_psprintf(p, "+6391700000%02d", i),
                               apr_psprintf(p, "6391700000%02d", i), "Ana", "Hi",
                               b8_uuid4(p), now, now };
        const char *id = NULL;
        B8_CHECK(b8_db_value(db, p, B8_SQL_AI_REPLY_INSERT, args, &id) == APR_SUCCESS && id);
        if (i == 0) {
            const char *mark[] = { now, id };
            const char *acc[] = { "umid-1", now, now, "0", id };
            B8_CHECK(b8_db_exec(db, p, B8_SQL_SEND_MARK, mark, &n) == APR_SUCCESS && n == 1);
            B8_CHECK(b8_db_exec(db, p, B8_SQL_SEND_ACCEPTED, acc, &n) == APR_SUCCESS && n == 1);
        }
    }
    text = b8_metrics_render(p, db, 0);
    B8_CHECK(has_line(text, "blu8x8_database_up 1"));
    B8_CHECK(has_line(text, "blu8x8_queue_depth{lane=\"direct\"} 2"));
    B8_CHECK(has_line(text, "blu8x8_queue_depth{lane=\"sms\"} 0"));
    B8_CHECK(has_line(text, "blu8x8_messages_total{channel=\"viber\",state=\"sending\"} 1"));
    B8_CHECK(has_line(text, "blu8x8_messages_total{channel=\"viber\",state=\"queued\"} 1"));
    B8_CHECK(has_line(text, "blu8x8_messages_total{channel=\"viber\",state=\"delivered\"} 0"));
    b8_test_remove_db(p, path);
}

B8_TEST_MAIN(B8_CASE(counters_render_in_the_text_format),
             B8_CASE(triggers_count_states_and_queues))
