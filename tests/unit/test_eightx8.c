/* The 8x8 Viber payload of every campaign type (compared as parsed JSON,
 * not as strings), the classification of 8x8's answers, and the HTTP
 * client's rule for "not sent" versus "maybe sent". */
#include "b8_test_wire.h"
#include "b8_eightx8.h"
#include "b8_http.h"

#include <apr_strings.h>
#include <stdlib.h>
#include <curl/curl.h>

#define PHONE "+639170000001"
#define CMID "5b0c7a4e-1f0e-4a57-9d55-3c9a2a0e7d11"

static b8_campaign campaign(const char *type, const char *body, const char *url)
{
    b8_campaign c;
    memset(&c, 0, sizeof(c));
    c.id = "7";
    c.name = "Test";
    c.type = type;
    c.body = body;
    c.url = url;
    c.state = "sending";
    return c;
}

/* Builds the message for c and compares it with the expected JSON text. */
static void check_payload(apr_pool_t *p, const b8_campaign *c, const char *name,
                          const char *expected, int line)
{
    cJSON *got = b8_eightx8_campaign_message(p, c, PHONE, name, CMID, "Blu Coffee");
    b8_test_check_json(got, expected, __FILE__, line);
    cJSON_Delete(got);
}
#define CHECK_PAYLOAD(c, name, json) check_payload(p, (c), (name), (json), __LINE__)

#define HEAD "{\"user\":{\"msisdn\":\"" PHONE "\"},\"clientMessageId\":\"" CMID "\","

B8_TEST(test_text)
{
    b8_campaign c = campaign("text", "Hello {name}, your number is {phone}", NULL);
    CHECK_PAYLOAD(&c, "Ana", HEAD "\"type\":\"text\",\"content\":{\"text\":"
                  "\"Hello Ana, your number is " PHONE "\"}}");
    /* No name: {name} becomes empty, not "(null)". */
    CHECK_PAYLOAD(&c, NULL, HEAD "\"type\":\"text\",\"content\":{\"text\":"
                  "\"Hello , your number is " PHONE "\"}}");
}

B8_TEST(test_text_button)
{
    b8_campaign c = campaign("text", "Sale today", NULL);
    c.button_caption = "Shop now";
    c.button_url = "https://blu.example/shop";
    CHECK_PAYLOAD(&c, "", HEAD "\"type\":\"buttons\",\"content\":{\"text\":\"Sale today\","
                  "\"button\":{\"caption\":\"Shop now\",\"action\":\"https://blu.example/shop\"}}}");
}

B8_TEST(test_image)
{
    b8_campaign c = campaign("image", "", "https://blu.example/a.jpg");
    CHECK_PAYLOAD(&c, "", HEAD "\"type\":\"image\",\"content\":{\"url\":"
                  "\"https://blu.example/a.jpg\"}}");
    c.body = "New beans, {name}!";
    CHECK_PAYLOAD(&c, "Ben", HEAD "\"type\":\"image\",\"content\":{\"url\":"
                  "\"https://blu.example/a.jpg\",\"text\":\"New beans, Ben!\"}}");
}

B8_TEST(test_image_button)
{
    b8_campaign c = campaign("image", "Look", "https://blu.example/a.jpg");
    c.button_caption = "Order";
    c.button_url = "https://blu.example/o";
    CHECK_PAYLOAD(&c, "", HEAD "\"type\":\"buttons\",\"content\":{\"text\":\"Look\","
                  "\"url\":\"https://blu.example/a.jpg\",\"button\":{\"caption\":\"Order\","
                  "\"action\":\"https://blu.example/o\"}}}");
}

B8_TEST(test_video)
{
    b8_campaign c = campaign("video", "", "https://blu.example/v.mp4");
    c.file_size = "1048576";
    c.duration = "42";
    c.thumbnail_url = "https://blu.example/t.jpg";
    /* filesize and duration are numbers in 8x8's send schema. */
    CHECK_PAYLOAD(&c, "", HEAD "\"type\":\"video\",\"content\":{\"url\":"
                  "\"https://blu.example/v.mp4\",\"video\":{\"filesize\":1048576,"
                  "\"duration\":42,\"thumbnail\":\"https://blu.example/t.jpg\"}}}");
    c.body = "Watch";
    c.button_caption = "More";
    c.button_url = "https://blu.example/m";
    CHECK_PAYLOAD(&c, "", HEAD "\"type\":\"video\",\"content\":{\"url\":"
                  "\"https://blu.example/v.mp4\",\"video\":{\"filesize\":1048576,"
                  "\"duration\":42,\"thumbnail\":\"https://blu.example/t.jpg\"},"
                  "\"text\":\"Watch\",\"button\":{\"caption\":\"More\","
                  "\"action\":\"https://blu.example/m\"}}}");
}

B8_TEST(test_file_and_audio)
{
    b8_campaign c = campaign("file", "ignored", "https://blu.example/menu.pdf");
    CHECK_PAYLOAD(&c, "", HEAD "\"type\":\"file\",\"content\":{\"url\":"
                  "\"https://blu.example/menu.pdf\"}}");
    /* Viber through 8x8 has no audio type: it goes as a file. */
    c = campaign("audio", "", "https://blu.example/jingle.mp3");
    CHECK_PAYLOAD(&c, "", HEAD "\"type\":\"file\",\"content\":{\"url\":"
                  "\"https://blu.example/jingle.mp3\"}}");
}

#define CHANNELS(after) "\"channels\":[{\"channel\":\"Viber\",\"fallbackAfter\":" after "," \
    "\"successStatus\":\"Delivered\"},{\"channel\":\"SMS\"}],"

/* 8x8's per-message fallback: channels Viber then SMS after
 * fallback_after seconds, the SMS text and sender in content. */
B8_TEST(test_sms_fallback)
{
    b8_campaign c = campaign("text", "Hi {name}", NULL);
    c.fallback_text = "Hi {name}, see blu.example";
    CHECK_PAYLOAD(&c, "Cy", HEAD "\"type\":\"text\"," CHANNELS("60")
                  "\"content\":{\"text\":\"Hi Cy\","
                  "\"fallbackText\":\"Hi Cy, see blu.example\","
                  "\"sms\":{\"encoding\":\"AUTO\",\"source\":\"Blu Coffee\"}}}");
    c = campaign("audio", "", "https://blu.example/j.mp3");
    c.fallback_text = "Listen: blu.example/j";
    c.fallback_after = "300";
    CHECK_PAYLOAD(&c, "", HEAD "\"type\":\"file\"," CHANNELS("300")
                  "\"content\":{\"url\":"
                  "\"https://blu.example/j.mp3\",\"fallbackText\":\"Listen: blu.example/j\","
                  "\"sms\":{\"encoding\":\"AUTO\",\"source\":\"Blu Coffee\"}}}");
}

B8_TEST(test_text_message)
{
    cJSON *got = b8_eightx8_text_message(PHONE, CMID, "You are unsubscribed.", NULL, NULL);
    cJSON *want = cJSON_Parse(HEAD "\"type\":\"text\",\"content\":{\"text\":"
                              "\"You are unsubscribed.\"}}");
    (void)p;
    B8_CHECK(cJSON_Compare(got, want, 1));
    cJSON_Delete(got);
    cJSON_Delete(want);
    got = b8_eightx8_text_message(PHONE, CMID, "New lead", "Yes, let me handle it.",
                                  "https://blu.example/crm/1/2?sig=x");
    want = cJSON_Parse(HEAD "\"type\":\"buttons\",\"content\":{\"text\":\"New lead\","
                       "\"button\":{\"caption\":\"Yes, let me handle it.\","
                       "\"action\":\"https://blu.example/crm/1/2?sig=x\"}}}");
    B8_CHECK(cJSON_Compare(got, want, 1));
    cJSON_Delete(got);
    cJSON_Delete(want);
}

B8_TEST(test_request_url_and_auth)
{
    b8_eightx8_conf conf = { "key-1", "Blu Sub/1", "http://127.0.0.1:9", "Blu Coffee",
                             apr_time_from_sec(3) };
    b8_http_request req;
    b8_eightx8_request(p, &conf, "{}", &req);
    /* The sub-account is a path segment: escaped. */
    B8_CHECK_STR(req.url, "http://127.0.0.1:9/api/v1/subaccounts/Blu%20Sub%2f1/messages");
    B8_CHECK_STR(req.bearer, "key-1");
    B8_CHECK_INT(req.body_len, 2);
    B8_CHECK_INT(req.timeout, apr_time_from_sec(3));
}

B8_TEST(test_conf_missing)
{
    apr_hash_t *config = apr_hash_make(p);
    b8_eightx8_conf conf;
    const char *why = b8_eightx8_conf_load(p, b8_settings_make(p, config, NULL), &conf);
    B8_CHECK(why && strstr(why, "API key"));
    apr_hash_set(config, "api_key", APR_HASH_KEY_STRING, "k");
    B8_CHECK(b8_eightx8_conf_load(p, b8_settings_make(p, config, NULL), &conf) == NULL);
    B8_CHECK_STR(conf.sub_account, "BluCoffeePH_TwoWayViber_NOTIF");
    B8_CHECK_STR(conf.sms_source, "Blu Coffee");
    B8_CHECK_INT(conf.timeout, apr_time_from_sec(30));
    apr_hash_set(config, "viber_sub_account", APR_HASH_KEY_STRING, "");
    why = b8_eightx8_conf_load(p, b8_settings_make(p, config, NULL), &conf);
    B8_CHECK(why && strstr(why, "sub-account"));
}

B8_TEST(test_classify_accepted)
{
    b8_send_tries t = { 0, 0, 0 };
    b8_send_result out;
    b8_http_response r = b8_test_answered(200, "{\"umid\":\"u-1\",\"status\":{\"state\":\"queued\"}}", NULL);
    b8_eightx8_classify(p, &r, &t, &out);
    B8_CHECK_INT(out.verdict, B8_SEND_ACCEPTED);
    B8_CHECK_STR(out.umid, "u-1");
    B8_CHECK_STR(out.state, "queued");
    /* No umid: accepted all the same, the UMID comes with the receipt. */
    r = b8_test_answered(200, "{\"state\":\"queued\"}", NULL);
    b8_eightx8_classify(p, &r, &t, &out);
    B8_CHECK_INT(out.verdict, B8_SEND_ACCEPTED);
    B8_CHECK(out.umid == NULL);
    r = b8_test_answered(200, "", NULL);
    b8_eightx8_classify(p, &r, &t, &out);
    B8_CHECK_INT(out.verdict, B8_SEND_ACCEPTED);
}

B8_TEST(test_classify_rate_limit)
{
    b8_send_tries t = { 0, 0, 0 };
    b8_send_result out;
    b8_http_response r = b8_test_answered(429, "{\"code\":1100,\"message\":\"Too many\"}", "3");
    b8_eightx8_classify(p, &r, &t, &out);
    B8_CHECK_INT(out.verdict, B8_SEND_RETRY);
    B8_CHECK(out.rate_limited);
    B8_CHECK_INT(out.retry_in, apr_time_from_sec(3));
    r = b8_test_answered(429, "", NULL);
    b8_eightx8_classify(p, &r, &t, &out);
    B8_CHECK_INT(out.retry_in, apr_time_from_sec(1));   /* the default */
    /* 429s do not use up the 5xx attempts. */
    B8_CHECK_INT(t.tries, 0);
    B8_CHECK_INT(t.rate_limited, 2);
}

/* 5xx: retried with a growing backoff (capped) until the first failure is
 * older than the retry window, then failed. */
B8_TEST(test_classify_server_errors)
{
    b8_send_tries t = { 0, 0, 0 };
    b8_send_result out;
    b8_http_response r = b8_test_answered(500, "{\"code\":2000,\"message\":\"Internal error\"}", NULL);
    apr_interval_time_t last = 0;

    B8_CHECK_INT(b8_eightx8_retry_window(), apr_time_from_sec(600));
    for (int i = 1; i < 8; i++) {
        b8_eightx8_classify(p, &r, &t, &out);
        B8_CHECK_INT(out.verdict, B8_SEND_RETRY);
        B8_CHECK(out.unreachable);
        B8_CHECK(out.retry_in > last);   /* exponential backoff */
        last = out.retry_in;
    }
    for (int i = 0; i < 20; i++) {
        b8_eightx8_classify(p, &r, &t, &out);
    }
    B8_CHECK_INT(out.verdict, B8_SEND_RETRY);
    B8_CHECK_INT(out.retry_in, apr_time_from_sec(B8_EIGHTX8_BACKOFF_MAX));
    /* Ten minutes after the first failure: failed. */
    t.failing_since = apr_time_now() - apr_time_from_sec(601);
    b8_eightx8_classify(p, &r, &t, &out);
    B8_CHECK_INT(out.verdict, B8_SEND_FAILED);
    B8_CHECK_STR(out.error_code, "2000");
    B8_CHECK(out.error_message && strstr(out.error_message, "Internal error"));
    /* An answer below 500 ends the outage: the window starts again. */
    r = b8_test_answered(200, "{\"umid\":\"u\"}", NULL);
    b8_eightx8_classify(p, &r, &t, &out);
    B8_CHECK_INT(t.failing_since, 0);
    /* The window is configurable (Blu8x8RetryWindow), at least a second. */
    b8_eightx8_set_retry_window(apr_time_from_sec(5));
    B8_CHECK_INT(b8_eightx8_retry_window(), apr_time_from_sec(5));
    b8_eightx8_set_retry_window(0);
    B8_CHECK_INT(b8_eightx8_retry_window(), apr_time_from_sec(1));
    b8_eightx8_set_retry_window(apr_time_from_sec(600));
}

/* 401, 403, 426 and 8x8's account codes are about the account. */
B8_TEST(test_classify_account)
{
    b8_send_tries t = { 0, 0, 0 };
    b8_send_result out;
    b8_http_response r = b8_test_answered(401, "{\"code\":1200,\"message\":\"Request was not "
                                          "authenticated properly\",\"errorId\":\"db9d\"}", NULL);
    b8_eightx8_classify(p, &r, &t, &out);
    B8_CHECK_INT(out.verdict, B8_SEND_ACCOUNT);
    B8_CHECK_STR(out.error_code, "1200");
    B8_CHECK_STR(out.error_id, "db9d");
    r = b8_test_answered(400, "{\"code\":1001,\"message\":\"Provided subAccountId doesn't "
                         "belongs to your account\"}", NULL);
    b8_eightx8_classify(p, &r, &t, &out);
    B8_CHECK_INT(out.verdict, B8_SEND_ACCOUNT);
    r = b8_test_answered(426, "{\"code\":1014,\"message\":\"TLS 1.3+ is required\"}", NULL);
    b8_eightx8_classify(p, &r, &t, &out);
    B8_CHECK_INT(out.verdict, B8_SEND_ACCOUNT);
    r = b8_test_answered(403, "", NULL);
    b8_eightx8_classify(p, &r, &t, &out);
    B8_CHECK_INT(out.verdict, B8_SEND_ACCOUNT);
    r = b8_test_answered(400, "{\"code\":1002,\"message\":\"Invalid MSISDN\"}", NULL);
    b8_eightx8_classify(p, &r, &t, &out);
    B8_CHECK_INT(out.verdict, B8_SEND_FAILED);
}

B8_TEST(test_classify_refused)
{
    b8_send_tries t = { 0, 0, 0 };
    b8_send_result out;
    b8_http_response r = b8_test_answered(400, "{\"code\":1002,\"message\":\"Invalid MSISDN\","
                                     "\"errorId\":\"e\"}", NULL);
    b8_eightx8_classify(p, &r, &t, &out);
    B8_CHECK_INT(out.verdict, B8_SEND_FAILED);
    B8_CHECK_STR(out.error_code, "1002");
    B8_CHECK_STR(out.error_message, "Invalid MSISDN");
    B8_CHECK_INT(out.http_status, 400);
    r = b8_test_answered(404, "<html>not json</html>", NULL);
    b8_eightx8_classify(p, &r, &t, &out);
    B8_CHECK_INT(out.verdict, B8_SEND_FAILED);
    B8_CHECK(out.error_code == NULL);
    B8_CHECK(out.error_message && strstr(out.error_message, "404"));
}

B8_TEST(test_classify_connection)
{
    b8_send_tries t = { 0, 0, 0 };
    b8_send_result out;
    b8_http_response r;

    memset(&r, 0, sizeof(r));
    r.outcome = B8_HTTP_NOT_SENT;
    r.body = "";
    r.error = "Connection refused";
    b8_eightx8_classify(p, &r, &t, &out);
    B8_CHECK_INT(out.verdict, B8_SEND_RETRY);
    r.outcome = B8_HTTP_MAYBE_SENT;
    r.error = "Operation timed out";
    b8_eightx8_classify(p, &r, &t, &out);
    B8_CHECK_INT(out.verdict, B8_SEND_UNKNOWN);
    B8_CHECK(out.error_message && strstr(out.error_message, "may have been sent"));
}

B8_TEST(test_retry_after_forms)
{
    apr_time_t now = apr_time_from_sec(1700000000);
    B8_CHECK_INT(b8_eightx8_retry_after("2", now, 7), apr_time_from_sec(2));
    B8_CHECK_INT(b8_eightx8_retry_after("0.5", now, 7), apr_time_from_msec(500));
    B8_CHECK_INT(b8_eightx8_retry_after(NULL, now, 7), 7);
    B8_CHECK_INT(b8_eightx8_retry_after("soon", now, 7), 7);
    B8_CHECK_INT(b8_eightx8_retry_after("100000", now, 7),
                 apr_time_from_sec(B8_EIGHTX8_RETRY_AFTER_MAX));
    /* HTTP date, 30 s after now (Tue, 14 Nov 2023 22:13:20 GMT = 1700000000). */
    B8_CHECK_INT(b8_eightx8_retry_after("Tue, 14 Nov 2023 22:13:50 GMT", now, 7),
                 apr_time_from_sec(30));
    (void)p;
}

B8_TEST(test_http_outcome_rule)
{
    (void)p;
    B8_CHECK_INT(b8_http_outcome_of(CURLE_OK, 100), B8_HTTP_ANSWERED);
    B8_CHECK_INT(b8_http_outcome_of(CURLE_COULDNT_CONNECT, 0), B8_HTTP_NOT_SENT);
    B8_CHECK_INT(b8_http_outcome_of(CURLE_COULDNT_RESOLVE_HOST, 0), B8_HTTP_NOT_SENT);
    /* A connect timeout wrote nothing; a timeout after the request may have been processed. */
    B8_CHECK_INT(b8_http_outcome_of(CURLE_OPERATION_TIMEDOUT, 0), B8_HTTP_NOT_SENT);
    B8_CHECK_INT(b8_http_outcome_of(CURLE_OPERATION_TIMEDOUT, 250), B8_HTTP_MAYBE_SENT);
    B8_CHECK_INT(b8_http_outcome_of(CURLE_GOT_NOTHING, 250), B8_HTTP_MAYBE_SENT);
    B8_CHECK_INT(b8_http_outcome_of(CURLE_RECV_ERROR, 250), B8_HTTP_MAYBE_SENT);
    /* libcurl wanted to resend on a new connection: the first copy went out. */
    B8_CHECK_INT(b8_http_outcome_of(CURLE_SEND_FAIL_REWIND, 0), B8_HTTP_MAYBE_SENT);
}

B8_TEST_MAIN(B8_CASE(test_text), B8_CASE(test_text_button), B8_CASE(test_image),
             B8_CASE(test_image_button), B8_CASE(test_video), B8_CASE(test_file_and_audio),
             B8_CASE(test_sms_fallback), B8_CASE(test_text_message),
             B8_CASE(test_request_url_and_auth), B8_CASE(test_conf_missing),
             B8_CASE(test_classify_accepted), B8_CASE(test_classify_rate_limit),
             B8_CASE(test_classify_server_errors), B8_CASE(test_classify_account), B8_CASE(test_classify_refused),
             B8_CASE(test_classify_connection), B8_CASE(test_retry_after_forms),
             B8_CASE(test_http_outcome_rule))
