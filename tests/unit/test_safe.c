/* Safe by default: the origin comparison behind the admin's Origin check. */
#include "b8_test.h"
#include "b8_test_wire.h"
#include "b8_eightx8.h"
#include "b8_openai.h"
#include "b8_util.h"

B8_TEST(test_origin_canon)
{
    B8_CHECK_STR(b8_origin_canon(p, "http", "127.0.0.1:8080"), "http://127.0.0.1:8080");
    B8_CHECK_STR(b8_origin_canon(p, "http", "Blu.Example.PH"), "http://blu.example.ph:80");
    B8_CHECK_STR(b8_origin_canon(p, "https", "blu.example.ph"), "https://blu.example.ph:443");
    B8_CHECK_STR(b8_origin_canon(p, "HTTPS", "blu.example.ph:443"), "https://blu.example.ph:443");
    B8_CHECK_STR(b8_origin_canon(p, "http", "[::1]:8080"), "http://[::1]:8080");
    B8_CHECK(b8_origin_canon(p, "http", "") == NULL);
    B8_CHECK(b8_origin_canon(p, "http", NULL) == NULL);
    B8_CHECK(b8_origin_canon(p, "http", "host:") == NULL);
    B8_CHECK(b8_origin_canon(p, "http", "host:99999") == NULL);
    B8_CHECK(b8_origin_canon(p, "http", "host:8x") == NULL);
    B8_CHECK(b8_origin_canon(p, "ftp", "host") == NULL);
    B8_CHECK(b8_origin_canon(p, "http", "user@host") == NULL);
}

B8_TEST(test_origin_of)
{
    B8_CHECK_STR(b8_origin_of(p, "http://127.0.0.1:8080", 1), "http://127.0.0.1:8080");
    B8_CHECK_STR(b8_origin_of(p, "https://blu.example.ph", 1), "https://blu.example.ph:443");
    B8_CHECK(b8_origin_of(p, "null", 1) == NULL);
    B8_CHECK(b8_origin_of(p, "", 1) == NULL);
    B8_CHECK(b8_origin_of(p, "http://evil.example/x", 1) == NULL);   /* not an origin */
    B8_CHECK(b8_origin_of(p, "file://", 1) == NULL);
    B8_CHECK_STR(b8_origin_of(p, "https://blu.example.ph/blu8x8/", 0), "https://blu.example.ph:443");
    /* Same host, other port or scheme: another origin. */
    B8_CHECK(strcmp(b8_origin_of(p, "http://127.0.0.1:8081", 1),
                    b8_origin_canon(p, "http", "127.0.0.1:8080")) != 0);
    B8_CHECK(strcmp(b8_origin_of(p, "https://127.0.0.1:8080", 1),
                    b8_origin_canon(p, "http", "127.0.0.1:8080")) != 0);
    /* A longer host that starts with ours is not ours. */
    B8_CHECK(strcmp(b8_origin_of(p, "http://127.0.0.1.evil.example:8080", 1),
                    b8_origin_canon(p, "http", "127.0.0.1:8080")) != 0);
}

/* What 8x8 and OpenAI answer is stored and sent on: never invalid UTF-8. */
B8_TEST(test_upstream_text_is_cleaned)
{
    b8_ai_result ai;
    b8_send_tries t = { 0, 0, 0 };
    b8_send_result out;
    b8_http_response r = b8_test_answered(200, "{\"choices\":[{\"index\":0,\"message\":{\"role\":"
                                          "\"assistant\",\"content\":\"Caf\xE9 ok\"}}]}", NULL);
    b8_openai_classify(p, &r, &ai);
    B8_CHECK_INT(ai.verdict, B8_AI_OK);
    B8_CHECK_STR(ai.content, "Caf\xEF\xBF\xBD ok");

    r = b8_test_answered(400, "{\"code\":1002,\"message\":\"Invalid \xFF MSISDN\"}", NULL);
    b8_eightx8_classify(p, &r, &t, &out);
    B8_CHECK_INT(out.verdict, B8_SEND_FAILED);
    B8_CHECK_STR(out.error_code, "1002");
    B8_CHECK_STR(out.error_message, "Invalid \xEF\xBF\xBD MSISDN");
}

B8_TEST_MAIN(B8_CASE(test_origin_canon), B8_CASE(test_origin_of),
             B8_CASE(test_upstream_text_is_cleaned))
