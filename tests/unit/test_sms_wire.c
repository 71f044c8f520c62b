/* 8x8 SMS wire formats: the single and batch request bodies (compared as
 * parsed JSON), the request URLs, and the reading of 8x8's answers: a
 * single answer QUEUED or REJECTED, a batch answer with one rejected
 * message, answers in the other shapes 8x8 uses, and broken answers. */
#include "b8_test_wire.h"
#include "b8_eightx8_sms.h"

#include <stdlib.h>
#include <apr_hash.h>
#include <apr_strings.h>

B8_TEST(test_single_body)
{
    b8_sms_out m = { "+639170000001", "Your order shipped", "b8f8-1" };
    cJSON *body = b8_eightx8_sms_single_body("Blu Orders", &m);

    (void)p;
    B8_CHECK_JSON(body, "{\"destination\":\"+639170000001\",\"text\":\"Your order shipped\","
               "\"source\":\"Blu Orders\",\"clientMessageId\":\"b8f8-1\",\"encoding\":\"AUTO\"}");
    cJSON_Delete(body);
}

B8_TEST(test_batch_body_shared_text)
{
    b8_sms_out m[] = { { "+639170000001", "Sale today", "c-1" },
                       { "+639170000002", "Sale today", "c-2" } };
    cJSON *body = b8_eightx8_sms_batch_body("Blu Coffee", m, 2, "b8-2s");

    (void)p;
    /* 8x8's schema wants each message's text, even one text for all. */
    B8_CHECK_JSON(body, "{\"template\":{\"source\":\"Blu Coffee\",\"encoding\":\"AUTO\"},"
               "\"messages\":["
               "{\"destination\":\"+639170000001\",\"clientMessageId\":\"c-1\","
               "\"text\":\"Sale today\"},"
               "{\"destination\":\"+639170000002\",\"clientMessageId\":\"c-2\","
               "\"text\":\"Sale today\"}],"
               "\"clientBatchId\":\"b8-2s\",\"includeMessagesInResponse\":true}");
    cJSON_Delete(body);
}

/* 8x8 takes a clientBatchId of at most 20 characters. */
B8_TEST(test_client_batch_id)
{
    const char *id = b8_eightx8_sms_client_batch_id(p, "9223372036854775807");

    B8_CHECK_STR(b8_eightx8_sms_client_batch_id(p, "1"), "b8-1");
    B8_CHECK_STR(b8_eightx8_sms_client_batch_id(p, "100"), "b8-2s");
    B8_CHECK_STR(b8_eightx8_sms_client_batch_id(p, "1296"), "b8-100");
    B8_CHECK_STR(id, "b8-1y2p0ij32e8e7");
    B8_CHECK(strlen(id) <= B8_SMS_CLIENT_BATCH_ID_MAX);
    B8_CHECK(strcmp(b8_eightx8_sms_client_batch_id(p, "35"), b8_eightx8_sms_client_batch_id(p, "36")) != 0);
    B8_CHECK(b8_eightx8_sms_client_batch_id(p, "0") == NULL);
    B8_CHECK(b8_eightx8_sms_client_batch_id(p, "-3") == NULL);
    B8_CHECK(b8_eightx8_sms_client_batch_id(p, "12x") == NULL);
    B8_CHECK(b8_eightx8_sms_client_batch_id(p, NULL) == NULL);
}

B8_TEST(test_batch_body_personalised)
{
    b8_sms_out m[] = { { "+639170000001", "Hi Ana", "c-1" },
                       { "+639170000002", "Hi Ben", "c-2" } };
    cJSON *body = b8_eightx8_sms_batch_body("Blu Service", m, 2, "b-1");

    (void)p;
    B8_CHECK_JSON(body, "{\"template\":{\"source\":\"Blu Service\",\"encoding\":\"AUTO\"},"
               "\"messages\":["
               "{\"destination\":\"+639170000001\",\"clientMessageId\":\"c-1\",\"text\":\"Hi Ana\"},"
               "{\"destination\":\"+639170000002\",\"clientMessageId\":\"c-2\",\"text\":\"Hi Ben\"}],"
               "\"clientBatchId\":\"b-1\",\"includeMessagesInResponse\":true}");
    cJSON_Delete(body);
}

B8_TEST(test_batch_body_ten_thousand)
{
    int n = B8_SMS_BATCH_MAX;
    b8_sms_out *m = apr_pcalloc(p, sizeof(*m) * (apr_size_t)n);
    cJSON *body, *list;

    for (int i = 0; i < n; i++) {
        m[i].phone = apr_psprintf(p, "+6391700%05d", i);
        m[i].text = "Same";
        m[i].client_message_id = apr_psprintf(p, "c-%d", i);
    }
    body = b8_eightx8_sms_batch_body("Blu Coffee", m, n, "b");
    list = cJSON_GetObjectItemCaseSensitive(body, "messages");
    B8_CHECK_INT(cJSON_GetArraySize(list), 10000);
    B8_CHECK_STR(b8_json_str(cJSON_GetArrayItem(list, 9999), "clientMessageId"), "c-9999");
    B8_CHECK_STR(b8_json_str(cJSON_GetArrayItem(list, 0), "text"), "Same");
    cJSON_Delete(body);
}

B8_TEST(test_requests)
{
    b8_sms_conf conf = { "key-1", "BluCoffeePH_NOTIF", "https://sms.8x8.com",
                         apr_time_from_sec(30) };
    b8_http_request req;

    b8_eightx8_sms_request(p, &conf, 0, "{}", &req);
    B8_CHECK_STR(req.url, "https://sms.8x8.com/api/v1/subaccounts/BluCoffeePH_NOTIF/messages");
    B8_CHECK_STR(req.bearer, "key-1");
    B8_CHECK_INT(req.body_len, 2);
    B8_CHECK_INT(req.max_body, 0);
    b8_eightx8_sms_request(p, &conf, 1, "{}", &req);
    B8_CHECK_STR(req.url,
                 "https://sms.8x8.com/api/v1/subaccounts/BluCoffeePH_NOTIF/messages/batch");
    /* A full batch answer lists 10,000 messages: far above the usual limit. */
    B8_CHECK(req.max_body >= 10000 * 400);
    conf.sub_account = "a b/c";
    b8_eightx8_sms_request(p, &conf, 0, "{}", &req);
    B8_CHECK_STR(req.url, "https://sms.8x8.com/api/v1/subaccounts/a%20b%2fc/messages");
}

B8_TEST(test_conf_load)
{
    apr_hash_t *config = apr_hash_make(p), *db = apr_hash_make(p);
    b8_sms_conf conf;
    const char *why = b8_eightx8_sms_conf_load(p, b8_settings_make(p, config, db), &conf);

    B8_CHECK(why && strstr(why, "API key"));
    apr_hash_set(db, "api_key", APR_HASH_KEY_STRING, "k");
    why = b8_eightx8_sms_conf_load(p, b8_settings_make(p, config, db), &conf);
    B8_CHECK(why == NULL);
    B8_CHECK_STR(conf.sub_account, "BluCoffeePH_NOTIF");
    B8_CHECK_STR(conf.base_url, "https://sms.8x8.com");
    B8_CHECK_INT(conf.timeout, apr_time_from_sec(30));
}

/* The stand-in's and 8x8's documented shape: status.code, errorCode inside status. */
B8_TEST(test_batch_answer_one_rejected)
{
    const char *body =
        "{\"batchId\":\"b-9\",\"clientBatchId\":\"x\",\"acceptedCount\":2,\"rejectedCount\":1,"
        "\"messages\":["
        "{\"umid\":\"u-1\",\"clientMessageId\":\"c-1\",\"destination\":\"+639170000001\","
        "\"encoding\":\"GSM7\",\"status\":{\"code\":\"QUEUED\",\"description\":\"ok\"}},"
        "{\"umid\":\"u-2\",\"clientMessageId\":\"c-2\",\"destination\":\"+639170000002\","
        "\"status\":{\"code\":\"REJECTED\",\"description\":\"Invalid MSISDN\","
        "\"errorCode\":1002,\"errorMessage\":\"Invalid MSISDN\"}},"
        "{\"umid\":\"u-3\",\"clientMessageId\":\"c-3\",\"destination\":\"+639170000003\","
        "\"status\":{\"code\":\"QUEUED\"}}]}";
    b8_sms_batch_answer a;

    B8_CHECK_INT(b8_eightx8_sms_parse_batch(p, body, strlen(body), &a), 0);
    B8_CHECK_STR(a.batch_id, "b-9");
    B8_CHECK_INT(a.accepted, 2);
    B8_CHECK_INT(a.rejected, 1);
    B8_CHECK_INT(a.listed, 1);
    B8_CHECK_INT(a.nitems, 3);
    B8_CHECK_INT(a.items[0].outcome, B8_SMS_ITEM_QUEUED);
    B8_CHECK_STR(a.items[0].umid, "u-1");
    B8_CHECK_STR(a.items[0].client_message_id, "c-1");
    B8_CHECK_INT(a.items[1].outcome, B8_SMS_ITEM_REJECTED);
    B8_CHECK_STR(a.items[1].client_message_id, "c-2");
    B8_CHECK_STR(a.items[1].error_code, "1002");
    B8_CHECK_STR(a.items[1].error_message, "Invalid MSISDN");
    B8_CHECK_INT(a.items[2].outcome, B8_SMS_ITEM_QUEUED);
    B8_CHECK_STR(a.items[2].umid, "u-3");
}

/* Other shapes: Chat Apps style status.state, error fields beside the
 * status, a description only, an item that says nothing. */
B8_TEST(test_batch_answer_other_shapes)
{
    const char *body =
        "{\"acceptedCount\":1,\"rejectedCount\":2,\"messages\":["
        "{\"umid\":\"u-1\",\"clientMessageId\":\"c-1\",\"status\":{\"state\":\"queued\"}},"
        "{\"clientMessageId\":\"c-2\",\"status\":{\"state\":\"rejected\"},"
        "\"errorCode\":\"1005\",\"errorMessage\":\"Invalid source\"},"
        "{\"clientMessageId\":\"c-3\",\"status\":{\"code\":\"rejected\",\"description\":\"Bad\"}},"
        "{\"clientMessageId\":\"c-4\"},"
        "\"junk\"]}";
    b8_sms_batch_answer a;

    B8_CHECK_INT(b8_eightx8_sms_parse_batch(p, body, strlen(body), &a), 0);
    B8_CHECK_INT(a.nitems, 4);
    B8_CHECK_INT(a.items[0].outcome, B8_SMS_ITEM_QUEUED);
    B8_CHECK_INT(a.items[1].outcome, B8_SMS_ITEM_REJECTED);
    B8_CHECK_STR(a.items[1].error_code, "1005");
    B8_CHECK_STR(a.items[1].error_message, "Invalid source");
    B8_CHECK_INT(a.items[2].outcome, B8_SMS_ITEM_REJECTED);
    B8_CHECK(a.items[2].error_code == NULL);
    B8_CHECK_STR(a.items[2].error_message, "Bad");
    B8_CHECK_INT(a.items[3].outcome, B8_SMS_ITEM_UNCLEAR);
    B8_CHECK(a.batch_id == NULL);
}

B8_TEST(test_batch_answer_broken)
{
    b8_sms_batch_answer a;
    const char *counts = "{\"batchId\":\"b\",\"acceptedCount\":5,\"rejectedCount\":0}";

    B8_CHECK_INT(b8_eightx8_sms_parse_batch(p, "", 0, &a), -1);
    B8_CHECK_INT(b8_eightx8_sms_parse_batch(p, "{\"messages\":[", 13, &a), -1);
    B8_CHECK_INT(b8_eightx8_sms_parse_batch(p, "[1,2]", 5, &a), -1);
    /* Counts only (includeMessagesInResponse ignored): no list. */
    B8_CHECK_INT(b8_eightx8_sms_parse_batch(p, counts, strlen(counts), &a), 0);
    B8_CHECK_INT(a.listed, 0);
    B8_CHECK_INT(a.nitems, 0);
    B8_CHECK_INT(a.accepted, 5);
    B8_CHECK_INT(a.rejected, 0);
}

B8_TEST(test_single_answers)
{
    b8_send_tries t = { 0, 0, 0 };
    b8_send_result r;
    b8_http_response res = b8_test_answered(200, "{\"umid\":\"u-7\",\"clientMessageId\":\"c\","
                                  "\"destination\":\"+639170000001\",\"encoding\":\"GSM7\","
                                  "\"status\":{\"code\":\"QUEUED\",\"description\":\"ok\"}}", NULL);

    b8_eightx8_sms_classify_single(p, &res, &t, &r);
    B8_CHECK_INT(r.verdict, B8_SEND_ACCEPTED);
    B8_CHECK_STR(r.umid, "u-7");
    B8_CHECK_STR(r.state, "queued");

    /* HTTP 200 but REJECTED: failed with 8x8's code and description. */
    res = b8_test_answered(200, "{\"umid\":\"u-8\",\"status\":{\"code\":\"REJECTED\","
                 "\"description\":\"Invalid source\",\"errorCode\":1005}}", NULL);
    b8_eightx8_sms_classify_single(p, &res, &t, &r);
    B8_CHECK_INT(r.verdict, B8_SEND_FAILED);
    B8_CHECK_STR(r.error_code, "1005");
    B8_CHECK_STR(r.error_message, "Invalid source");
    B8_CHECK(r.umid == NULL);

    /* Accepted without a UMID: it comes with the receipt. */
    res = b8_test_answered(200, "{\"clientMessageId\":\"c\",\"status\":{\"code\":\"QUEUED\"}}", NULL);
    b8_eightx8_sms_classify_single(p, &res, &t, &r);
    B8_CHECK_INT(r.verdict, B8_SEND_ACCEPTED);
    B8_CHECK(r.umid == NULL);

    res = b8_test_answered(400, "{\"code\":1002,\"message\":\"Invalid MSISDN\"}", NULL);
    b8_eightx8_sms_classify_single(p, &res, &t, &r);
    B8_CHECK_INT(r.verdict, B8_SEND_FAILED);
    B8_CHECK_STR(r.error_code, "1002");
    B8_CHECK_STR(r.error_message, "Invalid MSISDN");

    res = b8_test_answered(429, "{\"code\":1100,\"message\":\"Too many\"}", NULL);
    res.retry_after = "2";
    b8_eightx8_sms_classify_single(p, &res, &t, &r);
    B8_CHECK_INT(r.verdict, B8_SEND_RETRY);
    B8_CHECK_INT(r.retry_in, apr_time_from_sec(2));
    B8_CHECK_INT(t.rate_limited, 1);

    res = b8_test_answered(503, "", NULL);
    b8_eightx8_sms_classify_single(p, &res, &t, &r);
    B8_CHECK_INT(r.verdict, B8_SEND_RETRY);
    B8_CHECK_INT(t.tries, 1);

    memset(&res, 0, sizeof(res));
    res.outcome = B8_HTTP_MAYBE_SENT;
    res.body = "";
    res.error = "Operation timed out";
    b8_eightx8_sms_classify_single(p, &res, &t, &r);
    B8_CHECK_INT(r.verdict, B8_SEND_UNKNOWN);
}

B8_TEST_MAIN(B8_CASE(test_single_body), B8_CASE(test_batch_body_shared_text),
             B8_CASE(test_batch_body_personalised), B8_CASE(test_client_batch_id), B8_CASE(test_batch_body_ten_thousand),
             B8_CASE(test_requests), B8_CASE(test_conf_load),
             B8_CASE(test_batch_answer_one_rejected), B8_CASE(test_batch_answer_other_shapes),
             B8_CASE(test_batch_answer_broken), B8_CASE(test_single_answers))
