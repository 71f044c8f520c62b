/* Unit tests of the webhook core: the forward-only state order, parsing and
 * validation of 8x8's events (samples of 8x8-API.md and malformed bodies),
 * and storing receipts and inbound messages on a real SQLite file. */
#include "b8_test.h"

#include <stdlib.h>
#include <unistd.h>
#include <apr_file_io.h>
#include <apr_hash.h>
#include <apr_strings.h>

#include "b8_receipts.h"
#include "b8_settings.h"
#include "b8_store.h"
#include "b8_util.h"
#include "b8_webhook.h"

#define V9_RECEIPT \
    "{\"version\": 9, \"namespace\": \"ChatApps\", \"eventType\": \"outbound_message_status_changed\"," \
    " \"description\": \"ChatApps outbound message delivery receipt\"," \
    " \"payload\": {\"umid\": \"82188ee0-109f-e811-8150-020897df5459\"," \
    " \"clientMessageId\": \"5b0c7a4e-1f0e-4a57-9d55-3c9a2a0e7d11\"," \
    " \"subAccountId\": \"BluCoffeePH_TwoWayViber_NOTIF\", \"channel\": \"viber\"," \
    " \"user\": {\"msisdn\": \"+639170000001\"}," \
    " \"status\": {\"state\": \"delivered\", \"detail\": \"delivered_to_recipient\"," \
    " \"timestamp\": \"2026-11-01T08:20:03.12Z\"}}}"

#define SMS_RECEIPT \
    "{\"namespace\": \"SMS\", \"eventType\": \"outbound_message_status_changed\"," \
    " \"payload\": {\"umid\": \"u-sms-1\", \"clientMessageId\": \"c-sms-1\", \"batchId\": \"b1\"," \
    " \"subAccountId\": \"BluCoffeePH_NOTIF\", \"source\": \"Blu Orders\"," \
    " \"destination\": \"+639170000002\", \"status\": {\"state\": \"undelivered\"," \
    " \"detail\": \"rejected_by_operator\", \"timestamp\": \"2026-11-01T08:21:00Z\"," \
    " \"errorCode\": 15, \"errorMessage\": \"Expired\"}," \
    " \"price\": {\"total\": 0.0446592, \"perSms\": 0.0446592, \"currency\": \"EUR\"}, \"smsCount\": 1}}"

#define INBOUND_VIBER \
    "{\"namespace\": \"ChatApps\", \"eventType\": \"inbound_message_received\"," \
    " \"description\": \"ChatApps inbound message\"," \
    " \"payload\": {\"umid\": \"9e09ac86-bd74-5465-851d-1eb5a5fdbb9a\"," \
    " \"subAccountId\": \"BluCoffeePH_TwoWayViber_NOTIF\"," \
    " \"timestamp\": \"2026-11-01T14:34:56.017Z\"," \
    " \"user\": {\"msisdn\": \"+639170000001\", \"channelUserId\": \"639170000001\", \"name\": \"Ana\"}," \
    " \"recipient\": {\"channel\": \"viber\", \"channelId\": \"2f9c\"}," \
    " \"type\": \"Text\", \"content\": {\"text\": \"Do you sell espresso machines?\"}}}"

#define INBOUND_SMS \
    "{\"namespace\": \"SMS\", \"eventType\": \"inbound_message_received\"," \
    " \"description\": \"SMS inbound message\"," \
    " \"payload\": {\"umid\": \"sms-in-1\", \"subAccountId\": \"BluCoffeePH_NOTIF\"," \
    " \"timestamp\": \"2016-01-01T14:34:56.017Z\", \"source\": \"+6581968289\"," \
    " \"destination\": \"+4534735477\", \"body\": \"Test MO message\", \"encoding\": \"GSM7\"," \
    " \"smsCount\": 2, \"price\": {\"total\": 0.0446592, \"perSms\": 0.0446592, \"currency\": \"EUR\"}}}"

static const char *parse(apr_pool_t *p, const char *body, b8_event *ev)
{
    return b8_webhook_parse(p, body, strlen(body), "63", ev);
}

/* The reason a body is refused (NULL when it is accepted). */
static const char *refused(apr_pool_t *p, const char *body)
{
    b8_event ev;
    return parse(p, body, &ev);
}

static const char *nested(apr_pool_t *p, int levels)
{
    /* {"eventType":"x","payload":{"a":[[...]]}}: levels counts every bracket. */
    const char *inner = "1";
    for (int i = 0; i < levels - 2; i++) {
        inner = apr_pstrcat(p, "[", inner, "]", NULL);
    }
    return apr_pstrcat(p, "{\"eventType\": \"x\", \"payload\": {\"a\": ", inner, "}}", NULL);
}

B8_TEST(state_order_moves_forward_only)
{
    B8_CHECK(b8_message_state_advances("pending", "sending"));
    B8_CHECK(b8_message_state_advances("sending", "queued"));
    B8_CHECK(b8_message_state_advances("sending", "unknown"));
    B8_CHECK(b8_message_state_advances("unknown", "delivered"));
    B8_CHECK(b8_message_state_advances("queued", "read"));
    B8_CHECK(b8_message_state_advances("sent", "undelivered"));
    B8_CHECK(b8_message_state_advances("unknown", "failed"));
    B8_CHECK(b8_message_state_advances("pending", "cancelled"));
    B8_CHECK(!b8_message_state_advances("read", "sent"));
    B8_CHECK(!b8_message_state_advances("read", "delivered"));
    B8_CHECK(!b8_message_state_advances("delivered", "delivered"));
    B8_CHECK(!b8_message_state_advances("delivered", "undelivered"));
    B8_CHECK(!b8_message_state_advances("undelivered", "read"));
    B8_CHECK(!b8_message_state_advances("failed", "delivered"));
    B8_CHECK(!b8_message_state_advances("queued", "pending"));
    B8_CHECK(!b8_message_state_advances("sending", "cancelled"));
    B8_CHECK(!b8_message_state_advances("queued", "expired"));
    B8_CHECK(!b8_message_state_advances(NULL, "sent"));
}

B8_TEST(parses_the_samples)
{
    b8_event ev;

    B8_CHECK(parse(p, V9_RECEIPT, &ev) == NULL);
    B8_CHECK_INT(ev.kind, B8_EVENT_RECEIPT);
    B8_CHECK_STR(ev.receipt.umid, "82188ee0-109f-e811-8150-020897df5459");
    B8_CHECK_STR(ev.receipt.client_message_id, "5b0c7a4e-1f0e-4a57-9d55-3c9a2a0e7d11");
    B8_CHECK_STR(ev.receipt.state, "delivered");
    B8_CHECK_STR(ev.receipt.detail, "delivered_to_recipient");
    B8_CHECK_STR(ev.receipt.event_at, "2026-11-01T08:20:03.120Z");
    B8_CHECK_STR(ev.receipt.namespace_name, "ChatApps");

    B8_CHECK(parse(p, SMS_RECEIPT, &ev) == NULL);
    B8_CHECK_STR(ev.receipt.namespace_name, "SMS");
    B8_CHECK_STR(ev.receipt.error_code, "15");
    B8_CHECK_STR(ev.receipt.error_message, "Expired");
    B8_CHECK_STR(ev.receipt.price, "0.0446592 EUR");

    B8_CHECK(parse(p, INBOUND_VIBER, &ev) == NULL);
    B8_CHECK_INT(ev.kind, B8_EVENT_INBOUND);
    B8_CHECK_STR(ev.phone, "+639170000001");
    B8_CHECK_STR(ev.phone_key, "639170000001");
    B8_CHECK_STR(ev.name, "Ana");
    B8_CHECK_STR(ev.channel, "viber");
    B8_CHECK_STR(ev.type, "text");
    B8_CHECK_STR(ev.text, "Do you sell espresso machines?");
    B8_CHECK_STR(ev.event_at, "2026-11-01T14:34:56.017Z");
    B8_CHECK(ev.raw && strstr(ev.raw, "espresso"));

    B8_CHECK(parse(p, INBOUND_SMS, &ev) == NULL);
    B8_CHECK_STR(ev.namespace_name, "SMS");
    B8_CHECK_STR(ev.phone, "+6581968289");
    B8_CHECK_STR(ev.channel, "sms");
    B8_CHECK_STR(ev.type, "text");
    B8_CHECK_STR(ev.text, "Test MO message");
    B8_CHECK(ev.name == NULL);
}

B8_TEST(parses_older_receipts_and_other_inbound_types)
{
    b8_event ev;

    /* Older format: no version, error details beside the status, code as text. */
    B8_CHECK(parse(p, "{\"namespace\":\"ChatApps\",\"eventType\":\"outbound_message_status_changed\","
                      "\"payload\":{\"umid\":\"u1\",\"status\":{\"state\":\"rejected\","
                      "\"timestamp\":\"2026-11-01T08:20:03Z\"},\"errorCode\":\"1002\","
                      "\"errorMessage\":\"Invalid MSISDN\"}}", &ev) == NULL);
    B8_CHECK_STR(ev.receipt.state, "rejected");
    B8_CHECK_STR(ev.receipt.error_code, "1002");
    B8_CHECK_STR(ev.receipt.error_message, "Invalid MSISDN");
    B8_CHECK(ev.receipt.client_message_id == NULL);

    B8_CHECK(parse(p, "{\"eventType\":\"inbound_message_received\",\"payload\":{\"umid\":\"l1\","
                      "\"user\":{\"msisdn\":\"09170000003\"},\"type\":\"Location\","
                      "\"content\":{\"location\":{\"latitude\":14.5995,\"longitude\":120.9842}}}}",
                   &ev) == NULL);
    B8_CHECK_STR(ev.type, "location");
    B8_CHECK_STR(ev.text, "14.5995,120.9842");
    B8_CHECK_STR(ev.phone, "+639170000003");

    B8_CHECK(parse(p, "{\"eventType\":\"inbound_message_received\",\"payload\":{\"umid\":\"b1\","
                      "\"user\":{\"msisdn\":\"+639170000003\"},\"type\":\"Interactive\","
                      "\"content\":{\"interactive\":{\"type\":\"button_reply\","
                      "\"button_reply\":{\"id\":\"1\",\"title\":\"Yes please\"}}}}}", &ev) == NULL);
    B8_CHECK_STR(ev.text, "Yes please");

    B8_CHECK(parse(p, "{\"eventType\":\"inbound_message_received\",\"payload\":{\"umid\":\"i1\","
                      "\"user\":{\"msisdn\":\"+639170000003\"},\"type\":\"Image\","
                      "\"content\":{\"url\":\"https://x.example/a.jpg\"}}}", &ev) == NULL);
    B8_CHECK_STR(ev.type, "image");
    B8_CHECK_STR(ev.text, "https://x.example/a.jpg");

    /* Event types we do not handle: accepted, their payload unchecked. */
    B8_CHECK(parse(p, "{\"eventType\":\"template_status_update\",\"eventDetails\":{}}", &ev) == NULL);
    B8_CHECK_INT(ev.kind, B8_EVENT_UNKNOWN);
}

B8_TEST(refuses_malformed_bodies)
{
    static const char nul_body[] = "{\"eventType\":\"x\0\",\"payload\":{}}";
    const char *why;

    B8_CHECK(refused(p, "") != NULL);
    B8_CHECK(refused(p, "{\"eventType\": \"inbound_message_received\", \"payload\": {") != NULL);
    B8_CHECK_STR(refused(p, "[{\"eventType\": \"x\"}]"), "the body must be a JSON object");
    B8_CHECK_STR(refused(p, "{\"eventType\":\"inbound_message_received\",\"payload\":\"x\"}"),
                 "payload must be an object");
    B8_CHECK_STR(refused(p, "{\"payload\":{}}"), "eventType is missing");
    B8_CHECK_STR(refused(p, "{\"eventType\":7,\"payload\":{}}"), "eventType must be a string");
    B8_CHECK_STR(refused(p, "{\"eventType\":\"outbound_message_status_changed\",\"namespace\":\"X\","
                            "\"payload\":{}}"), "namespace must be ChatApps or SMS");
    B8_CHECK_STR(refused(p, "{\"eventType\":\"outbound_message_status_changed\","
                            "\"payload\":{\"umid\":\"u\",\"status\":{\"state\":5}}}"),
                 "payload.status.state must be a string");
    B8_CHECK(refused(p, "{\"eventType\":\"outbound_message_status_changed\","
                        "\"payload\":{\"status\":{\"state\":\"read\"}}}") != NULL);
    B8_CHECK_STR(refused(p, "{\"eventType\":\"inbound_message_received\",\"payload\":{\"umid\":\"u\","
                            "\"user\":{\"msisdn\":\"+639170000001\"},\"type\":\"Text\","
                            "\"content\":{\"text\":[1]}}}"),
                 "payload.content.text must be a string");
    why = refused(p, "{\"eventType\":\"inbound_message_received\",\"payload\":{\"umid\":\"u\","
                     "\"user\":{\"msisdn\":\"call me\"},\"type\":\"Text\",\"content\":{\"text\":\"x\"}}}");
    B8_CHECK(why && strstr(why, "payload.user.msisdn is not a phone number"));
    B8_CHECK(refused(p, "{\"eventType\":\"x\",\"payload\":{}} trailing") != NULL);
    /* Invalid UTF-8, a NUL byte, and a NUL escape. */
    B8_CHECK(refused(p, "{\"eventType\":\"x\xff\",\"payload\":{}}") != NULL);
    {
        b8_event ev;
        B8_CHECK(b8_webhook_parse(p, nul_body, sizeof(nul_body) - 1, "63", &ev) != NULL);
    }
    B8_CHECK(refused(p, "{\"eventType\":\"x\\u0000y\",\"payload\":{}}") != NULL);
    B8_CHECK(refused(p, "{\"eventType\":\"x\\\\u0000\",\"payload\":{}}") == NULL);   /* escaped backslash */
}

B8_TEST(nesting_limit_is_32_levels)
{
    B8_CHECK(refused(p, nested(p, 32)) == NULL);
    B8_CHECK_STR(refused(p, nested(p, 33)), "the JSON is nested deeper than 32 levels");
    B8_CHECK(refused(p, nested(p, 200)) != NULL);
    /* Brackets inside strings are text. */
    B8_CHECK(refused(p, apr_pstrcat(p, "{\"eventType\":\"", apr_psprintf(p, "%0200d", 0), "[[[[[[[[[["
                                   "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\",\"payload\":{}}", NULL))
             == NULL);
}

/* ---------------------------------------------------------- storing */

static b8_ctx *open_ctx(apr_pool_t *p, const char *path)
{
    b8_ctx *ctx = apr_pcalloc(p, sizeof(*ctx));
    const char *err = NULL;

    ctx->pool = p;
    ctx->settings = b8_settings_make(p, NULL, NULL);
    B8_CHECK(b8_store_open(p, "sqlite3", path, 2, &ctx->store, &err) == APR_SUCCESS);
    B8_CHECK(b8_store_migrate(ctx->store, p, &err) == APR_SUCCESS);
    B8_CHECK(b8_db_get(ctx->store, p, &ctx->db) == APR_SUCCESS);
    return ctx;
}

static void post(b8_ctx *ctx, const char *body)
{
    b8_event ev;
    b8_err err = B8_ERR_INIT(ctx->pool);
    int wake = 0;
    B8_CHECK(parse(ctx->pool, body, &ev) == NULL);
    B8_CHECK_INT(b8_webhook_store(ctx, &ev, &wake, &err), B8_OK);
}

static const char *receipt(apr_pool_t *p, const char *umid, const char *cmid, const char *state)
{
    const char *ids = "";
    if (umid) {
        ids = apr_pstrcat(p, ids, "\"umid\":\"", umid, "\",", NULL);
    }
    if (cmid) {
        ids = apr_pstrcat(p, ids, "\"clientMessageId\":\"", cmid, "\",", NULL);
    }
    return apr_pstrcat(p, "{\"eventType\":\"outbound_message_status_changed\",\"payload\":{",
                       ids, "\"status\":{\"state\":\"", state, "\"}}}", NULL);
}

/* A message row to receive receipts: a queued confirmation reply. */
static void add_message(b8_ctx *ctx, const char *cmid)
{
    const char *now = b8_now_iso(ctx->pool);
    const char *args[] = { NULL, NULL, "+639170000009", "639170000009", NULL, "hi", cmid, now, now };
    B8_CHECK(b8_db_exec(ctx->db, ctx->pool, B8_SQL_INBOUND_CONFIRMATION_INSERT, args, NULL)
             == APR_SUCCESS);
}

static const char *message_state(b8_ctx *ctx, const char *cmid, const char **umid)
{
    const char *args[] = { cmid };
    b8_rows *rows = NULL;
    B8_CHECK(b8_db_select(ctx->db, ctx->pool, B8_SQL_RECEIPT_MESSAGE_BY_CMID, args, &rows)
             == APR_SUCCESS);
    if (!rows || rows->nrows == 0) {
        return NULL;
    }
    if (umid) {
        *umid = B8_GET(rows, 0, RECEIPT_MESSAGE, umid);
    }
    return B8_GET(rows, 0, RECEIPT_MESSAGE, state);
}

B8_TEST(receipts_move_state_forward_once)
{
    const char *path = b8_test_temp_db(p), *umid = NULL;
    b8_ctx *ctx = open_ctx(p, path);

    add_message(ctx, "cm-1");
    /* Before our send response: found by clientMessageId, UMID recorded. */
    post(ctx, receipt(p, "um-1", "cm-1", "sent"));
    B8_CHECK_STR(message_state(ctx, "cm-1", &umid), "sent");
    B8_CHECK_STR(umid, "um-1");
    /* Out of order: read, then a late delivered and sent change nothing. */
    post(ctx, receipt(p, "um-1", "cm-1", "read"));
    post(ctx, receipt(p, "um-1", "cm-1", "delivered"));
    post(ctx, receipt(p, "um-1", NULL, "sent"));
    B8_CHECK_STR(message_state(ctx, "cm-1", NULL), "read");

    /* rejected is our failed, and final. */
    add_message(ctx, "cm-2");
    post(ctx, receipt(p, "um-2", "cm-2", "rejected"));
    post(ctx, receipt(p, "um-2", "cm-2", "delivered"));
    B8_CHECK_STR(message_state(ctx, "cm-2", NULL), "failed");
    b8_test_remove_db(p, path);
}

static const char *channel_receipt(apr_pool_t *p, const char *ns, const char *channel,
                                   const char *umid, const char *state)
{
    return apr_pstrcat(p, "{\"namespace\":\"", ns, "\",\"eventType\":"
                       "\"outbound_message_status_changed\",\"payload\":{\"umid\":\"", umid,
                       "\",", channel ? apr_pstrcat(p, "\"channel\":\"", channel, "\",", NULL)
                                      : "",
                       "\"status\":{\"state\":\"", state, "\"}}}", NULL);
}

static const char *message_channel(b8_ctx *ctx, const char *cmid)
{
    const char *args[] = { cmid };
    b8_rows *rows = NULL;
    B8_CHECK(b8_db_select(ctx->db, ctx->pool, B8_SQL_RECEIPT_MESSAGE_BY_CMID, args, &rows)
             == APR_SUCCESS);
    return rows && rows->nrows ? B8_GET(rows, 0, RECEIPT_MESSAGE, channel) : NULL;
}

/* Viber with SMS fallback: Viber's undelivered, then the SMS's receipts. */
B8_TEST(fallback_receipts_move_to_sms)
{
    const char *path = b8_test_temp_db(p);
    b8_ctx *ctx = open_ctx(p, path);

    add_message(ctx, "cm-f");
    post(ctx, receipt(p, "um-f", "cm-f", "queued"));
    post(ctx, channel_receipt(p, "ChatApps", "Viber", "um-f", "undelivered"));
    B8_CHECK_STR(message_state(ctx, "cm-f", NULL), "undelivered");
    B8_CHECK_STR(message_channel(ctx, "cm-f"), "viber");
    post(ctx, channel_receipt(p, "ChatApps", "sms", "um-f", "sent"));
    B8_CHECK_STR(message_state(ctx, "cm-f", NULL), "sent");
    B8_CHECK_STR(message_channel(ctx, "cm-f"), "sms");
    post(ctx, channel_receipt(p, "SMS", NULL, "um-f", "delivered"));
    B8_CHECK_STR(message_state(ctx, "cm-f", NULL), "delivered");
    /* A late Viber receipt changes nothing once SMS took over. */
    post(ctx, channel_receipt(p, "ChatApps", "viber", "um-f", "read"));
    B8_CHECK_STR(message_state(ctx, "cm-f", NULL), "delivered");
    B8_CHECK_STR(message_channel(ctx, "cm-f"), "sms");

    /* Delivered on Viber: a stray SMS "sent" does not undo it. */
    add_message(ctx, "cm-g");
    post(ctx, channel_receipt(p, "ChatApps", "viber", "um-g", "queued"));
    post(ctx, receipt(p, "um-g", "cm-g", "delivered"));
    post(ctx, channel_receipt(p, "ChatApps", "sms", "um-g", "sent"));
    B8_CHECK_STR(message_state(ctx, "cm-g", NULL), "delivered");
    B8_CHECK_STR(message_channel(ctx, "cm-g"), "viber");

    /* 8x8's "failed" fails the row. */
    add_message(ctx, "cm-h");
    post(ctx, receipt(p, "um-h", "cm-h", "failed"));
    B8_CHECK_STR(message_state(ctx, "cm-h", NULL), "failed");
    b8_test_remove_db(p, path);
}

B8_TEST(fallback_order_rules)
{
    B8_CHECK(b8_receipt_moves("undelivered", "viber", "delivered", "sms"));
    B8_CHECK(b8_receipt_moves("failed", "viber", "queued", "sms"));
    B8_CHECK(b8_receipt_moves("sent", "viber", "sent", "sms"));
    B8_CHECK(!b8_receipt_moves("delivered", "viber", "sent", "sms"));
    B8_CHECK(b8_receipt_moves("delivered", "viber", "delivered", "sms"));
    B8_CHECK(!b8_receipt_moves("sent", "sms", "read", "viber"));
    B8_CHECK(!b8_receipt_moves("undelivered", "viber", "delivered", "viber"));
    B8_CHECK(b8_receipt_moves("sent", "sms", "delivered", NULL));
}

B8_TEST(unknown_receipt_is_kept_and_settles_later)
{
    const char *path = b8_test_temp_db(p), *umid = NULL;
    b8_ctx *ctx = open_ctx(p, path);
    int settled = -1;

    post(ctx, receipt(p, "um-9", "cm-9", "delivered"));   /* no such message yet */
    add_message(ctx, "cm-9");
    B8_CHECK_STR(message_state(ctx, "cm-9", NULL), "pending");
    B8_CHECK(b8_db_begin(ctx->db) == APR_SUCCESS);
    B8_CHECK(b8_receipts_settle(ctx->db, p, "cm-9", &settled) == APR_SUCCESS);
    B8_CHECK(b8_db_commit(ctx->db) == APR_SUCCESS);
    B8_CHECK_INT(settled, 1);
    B8_CHECK_STR(message_state(ctx, "cm-9", &umid), "delivered");
    B8_CHECK_STR(umid, "um-9");

    add_message(ctx, "cm-10");
    B8_CHECK(b8_db_begin(ctx->db) == APR_SUCCESS);
    B8_CHECK(b8_receipts_settle(ctx->db, p, "cm-10", &settled) == APR_SUCCESS);
    b8_db_rollback(ctx->db);
    B8_CHECK_INT(settled, 0);
    b8_test_remove_db(p, path);
}

B8_TEST(inbound_once_and_stop_start)
{
    const char *path = b8_test_temp_db(p), *v = NULL;
    b8_ctx *ctx = open_ctx(p, path);
    const char *key[] = { "639170000001" };
    b8_rows *rows = NULL;

    for (int i = 0; i < 3; i++) {
        post(ctx, INBOUND_VIBER);
    }
    B8_CHECK(b8_db_value(ctx->db, p, B8_SQL_INBOUND_COUNT, NULL, &v) == APR_SUCCESS);
    B8_CHECK_STR(v, "1");
    post(ctx, "{\"eventType\":\"inbound_message_received\",\"payload\":{\"umid\":\"s1\","
              "\"user\":{\"msisdn\":\"+639170000001\",\"name\":\"Ana\"},\"type\":\"Text\","
              "\"content\":{\"text\":\"  Stop \\n\"}}}");
    B8_CHECK(b8_db_select(ctx->db, p, B8_SQL_INBOUND_CONTACT_BY_KEY, key, &rows) == APR_SUCCESS);
    B8_CHECK_INT(rows->nrows, 1);
    B8_CHECK_STR(B8_GET(rows, 0, INBOUND_CONTACT, opted_out), "1");
    B8_CHECK_STR(B8_GET(rows, 0, INBOUND_CONTACT, name), "Ana");
    post(ctx, "{\"eventType\":\"inbound_message_received\",\"payload\":{\"umid\":\"s2\","
              "\"user\":{\"msisdn\":\"+639170000001\"},\"type\":\"Text\","
              "\"content\":{\"text\":\"START\"}}}");
    B8_CHECK(b8_db_select(ctx->db, p, B8_SQL_INBOUND_CONTACT_BY_KEY, key, &rows) == APR_SUCCESS);
    B8_CHECK_STR(B8_GET(rows, 0, INBOUND_CONTACT, opted_out), "0");
    B8_CHECK(b8_db_value(ctx->db, p, B8_SQL_INBOUND_COUNT, NULL, &v) == APR_SUCCESS);
    B8_CHECK_STR(v, "3");
    b8_test_remove_db(p, path);
}

B8_TEST_MAIN(B8_CASE(state_order_moves_forward_only), B8_CASE(parses_the_samples),
             B8_CASE(parses_older_receipts_and_other_inbound_types),
             B8_CASE(refuses_malformed_bodies), B8_CASE(nesting_limit_is_32_levels),
             B8_CASE(receipts_move_state_forward_once), B8_CASE(fallback_receipts_move_to_sms),
             B8_CASE(fallback_order_rules),
             B8_CASE(unknown_receipt_is_kept_and_settles_later),
             B8_CASE(inbound_once_and_stop_start))
