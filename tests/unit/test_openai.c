/* The OpenAI client: requests as the API expects them (compared as parsed
 * JSON), the o1 role rule, answer classification, the Yes rule. */
#include "b8_test_wire.h"

#include "b8_openai.h"

static int same_json(const cJSON *got, const char *want)
{
    cJSON *w = cJSON_Parse(want);
    int same = cJSON_Compare(got, w, 1);
    if (!same) {
        char *g = cJSON_PrintUnformatted(got);
        fprintf(stderr, "    got:  %s\n    want: %s\n", g, want);
        cJSON_free(g);
    }
    cJSON_Delete(w);
    return same;
}

B8_TEST(chat_request_with_history)
{
    apr_array_header_t *h = apr_array_make(p, 2, sizeof(b8_chat_turn));
    b8_chat_turn *t = apr_array_push(h);
    t->from_customer = 1;
    t->text = "Hi";
    t = apr_array_push(h);
    t->from_customer = 0;
    t->text = "Hello! How can I help?";
    cJSON *req = b8_openai_chat_request("gpt-4o", 200, "You are a coffee expert.", h,
                                        "Do you deliver to Cebu?");
    B8_CHECK(same_json(req, "{\"model\":\"gpt-4o\",\"max_completion_tokens\":200,\"messages\":["
                            "{\"role\":\"system\",\"content\":\"You are a coffee expert.\"},"
                            "{\"role\":\"user\",\"content\":\"Hi\"},"
                            "{\"role\":\"assistant\",\"content\":\"Hello! How can I help?\"},"
                            "{\"role\":\"user\",\"content\":\"Do you deliver to Cebu?\"}]}"));
    cJSON_Delete(req);
}

B8_TEST(o1_family_role_rule)
{
    /* The o-series: "developer" instead of "system" (user on o1-mini, which
     * takes neither), and a completion cap of at least 4000 (reasoning). */
    cJSON *req = b8_openai_chat_request("o1", 50, "Persona", NULL, "Q");
    B8_CHECK(same_json(req, "{\"model\":\"o1\",\"max_completion_tokens\":4000,\"messages\":["
                            "{\"role\":\"developer\",\"content\":\"Persona\"},"
                            "{\"role\":\"user\",\"content\":\"Q\"}]}"));
    cJSON_Delete(req);
    req = b8_openai_chat_request("o1-mini", 200, "Persona", NULL, "Q");
    B8_CHECK(same_json(req, "{\"model\":\"o1-mini\",\"max_completion_tokens\":4000,\"messages\":["
                            "{\"role\":\"user\",\"content\":\"Persona\"},"
                            "{\"role\":\"user\",\"content\":\"Q\"}]}"));
    cJSON_Delete(req);
    req = b8_openai_chat_request("o3-mini", 6000, "Persona", NULL, "Q");
    B8_CHECK(same_json(req, "{\"model\":\"o3-mini\",\"max_completion_tokens\":6000,\"messages\":["
                            "{\"role\":\"developer\",\"content\":\"Persona\"},"
                            "{\"role\":\"user\",\"content\":\"Q\"}]}"));
    cJSON_Delete(req);
    req = b8_openai_intent_request("o4-mini", "Q");
    B8_CHECK_INT((long)cJSON_GetObjectItem(req, "max_completion_tokens")->valuedouble, 4000);
    cJSON_Delete(req);
    B8_CHECK(b8_openai_is_reasoning("o1") && b8_openai_is_reasoning("o3"));
    B8_CHECK(!b8_openai_is_reasoning("gpt-4o") && !b8_openai_is_reasoning("omni"));
    B8_CHECK_INT(b8_openai_completion_cap("gpt-4o-mini", 120), 120);
}

B8_TEST(intent_request_is_the_fixed_question)
{
    cJSON *req = b8_openai_intent_request("gpt-4o-mini", "How much is a kilo of Barako?");
    B8_CHECK(same_json(req, "{\"model\":\"gpt-4o-mini\",\"max_completion_tokens\":5,\"messages\":["
                            "{\"role\":\"system\",\"content\":\"Is this message showing interest in "
                            "our coffee products and services? Answer Yes or No.\"},"
                            "{\"role\":\"user\",\"content\":\"How much is a kilo of Barako?\"}]}"));
    cJSON_Delete(req);
}

B8_TEST(yes_rule)
{
    B8_CHECK(b8_openai_answer_is_yes("Yes"));
    B8_CHECK(b8_openai_answer_is_yes("YES!"));
    B8_CHECK(b8_openai_answer_is_yes("Yes, definitely"));
    B8_CHECK(b8_openai_answer_is_yes("  \"yes.\""));
    B8_CHECK(!b8_openai_answer_is_yes("No"));
    B8_CHECK(!b8_openai_answer_is_yes("Yesterday I bought beans"));
    B8_CHECK(!b8_openai_answer_is_yes("I think yes"));
    B8_CHECK(!b8_openai_answer_is_yes(""));
    B8_CHECK(!b8_openai_answer_is_yes(NULL));
}

B8_TEST(classification)
{
    b8_ai_result out;
    b8_http_response r = b8_test_answered(200, "{\"choices\":[{\"index\":0,\"message\":{\"role\":"
                                       "\"assistant\",\"content\":\"We deliver nationwide.\"}}]}", NULL);
    b8_openai_classify(p, &r, &out);
    B8_CHECK_INT(out.verdict, B8_AI_OK);
    B8_CHECK_STR(out.content, "We deliver nationwide.");

    r = b8_test_answered(401, "{\"error\":{\"message\":\"Incorrect API key provided\"}}", NULL);
    b8_openai_classify(p, &r, &out);
    B8_CHECK_INT(out.verdict, B8_AI_BAD_KEY);
    B8_CHECK(strstr(out.error, "invalid OpenAI key") != NULL);

    r = b8_test_answered(429, "{\"error\":{\"message\":\"Rate limit\"}}", "3");
    b8_openai_classify(p, &r, &out);
    B8_CHECK_INT(out.verdict, B8_AI_RETRY);
    B8_CHECK_INT(out.retry_in, apr_time_from_sec(3));

    /* retry-after-ms wins, to the millisecond; fractions of seconds too. */
    r = b8_test_answered(429, "{\"error\":{\"message\":\"Rate limit\",\"type\":\"requests\","
                              "\"code\":\"rate_limit_exceeded\",\"param\":null}}", "1");
    r.retry_after_ms = "300";
    b8_openai_classify(p, &r, &out);
    B8_CHECK_INT(out.verdict, B8_AI_RETRY);
    B8_CHECK_INT(out.retry_in, apr_time_from_msec(300));
    B8_CHECK_INT(b8_openai_retry_in(NULL, "0.25"), apr_time_from_msec(250));
    B8_CHECK_INT(b8_openai_retry_in("x", NULL), 0);
    B8_CHECK_INT(b8_openai_retry_in("99999999", NULL), apr_time_from_sec(B8_OPENAI_RETRY_MAX));

    /* The quota 429 is final. */
    r = b8_test_answered(429, "{\"error\":{\"message\":\"You exceeded your current quota\","
                              "\"type\":\"insufficient_quota\",\"code\":\"insufficient_quota\","
                              "\"param\":null}}", NULL);
    b8_openai_classify(p, &r, &out);
    B8_CHECK_INT(out.verdict, B8_AI_QUOTA);
    B8_CHECK(strstr(out.error, "OpenAI quota exhausted") != NULL);

    r = b8_test_answered(503, "oops", NULL);
    b8_openai_classify(p, &r, &out);
    B8_CHECK_INT(out.verdict, B8_AI_RETRY);

    r = b8_test_answered(400, "{\"error\":{\"message\":\"Unsupported parameter: 'max_tokens'\"}}", NULL);
    b8_openai_classify(p, &r, &out);
    B8_CHECK_INT(out.verdict, B8_AI_FAILED);
    B8_CHECK(strstr(out.error, "Unsupported parameter") != NULL);

    r = b8_test_answered(200, "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
                              "\"content\":\"\"},\"finish_reason\":\"length\"}]}", NULL);
    b8_openai_classify(p, &r, &out);
    B8_CHECK_INT(out.verdict, B8_AI_FAILED);
    B8_CHECK(strstr(out.error, "token cap") != NULL);

    r = b8_test_answered(200, "{\"choices\":[]}", NULL);
    b8_openai_classify(p, &r, &out);
    B8_CHECK_INT(out.verdict, B8_AI_FAILED);

    memset(&r, 0, sizeof(r));
    r.outcome = B8_HTTP_MAYBE_SENT;
    r.error = "Operation timed out";
    r.body = "";
    b8_openai_classify(p, &r, &out);
    B8_CHECK_INT(out.verdict, B8_AI_RETRY);
}

B8_TEST_MAIN(B8_CASE(chat_request_with_history), B8_CASE(o1_family_role_rule),
             B8_CASE(intent_request_is_the_fixed_question), B8_CASE(yes_rule),
             B8_CASE(classification))
