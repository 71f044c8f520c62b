/* Issue 19's pure parts: click tokens (signed, short, nothing else passes),
 * which User-Agents are link previews, the page's retargeting segments and
 * their checks, chart geometry. */
#include "b8_test.h"
#include "b8_results.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#define SECRET "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

B8_TEST(test_click_token_round_trip)
{
    const char *t = b8_click_token(p, SECRET, "1234");
    B8_CHECK(t != NULL);
    B8_CHECK(strncmp(t, "1234-", 5) == 0 && strlen(t) == 5 + 20);
    B8_CHECK(strspn(t + 5, "0123456789abcdef") == 20);
    B8_CHECK_STR(b8_click_token_check(p, SECRET, t), "1234");
    B8_CHECK_STR(b8_click_url(p, "https://blu.example.ph", SECRET, "1234"),
                 apr_pstrcat(p, "https://blu.example.ph/r/", t, NULL));
    /* Another recipient's token differs; another secret does not verify. */
    B8_CHECK(strcmp(b8_click_token(p, SECRET, "1235"), t) != 0);
    B8_CHECK(b8_click_token_check(p, "another secret", t) == NULL);
}

B8_TEST(test_click_token_refuses_anything_else)
{
    const char *t = b8_click_token(p, SECRET, "77");
    char *flipped = apr_pstrdup(p, t);
    const char *sig = strchr(t, '-') + 1;

    flipped[strlen(flipped) - 1] = flipped[strlen(flipped) - 1] == '0' ? '1' : '0';
    B8_CHECK(b8_click_token_check(p, SECRET, flipped) == NULL);
    B8_CHECK(b8_click_token_check(p, SECRET, apr_pstrcat(p, "78-", sig, NULL)) == NULL);
    B8_CHECK(b8_click_token_check(p, SECRET, apr_pstrcat(p, "077-", sig, NULL)) == NULL);
    B8_CHECK(b8_click_token_check(p, SECRET, apr_pstrcat(p, "-", sig, NULL)) == NULL);
    B8_CHECK(b8_click_token_check(p, SECRET, apr_pstrndup(p, t, strlen(t) - 1)) == NULL);
    B8_CHECK(b8_click_token_check(p, SECRET, apr_pstrcat(p, t, "0", NULL)) == NULL);
    B8_CHECK(b8_click_token_check(p, SECRET, "77") == NULL);
    B8_CHECK(b8_click_token_check(p, SECRET, "") == NULL);
    B8_CHECK(b8_click_token_check(p, SECRET, NULL) == NULL);
    B8_CHECK(b8_click_token_check(p, NULL, t) == NULL);
    B8_CHECK(b8_click_token_check(p, SECRET, apr_pstrcat(p, "1234567890123456789-", sig, NULL))
             == NULL);
}

B8_TEST(test_link_previews_are_told_apart)
{
    static const char *const previews[] = {
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Twitterbot/1.0", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "TelegramBot (like TwitterBot)",
        "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
        "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "WhatsApp/2.23.20.0 A", "Viber", "", NULL
    };
    static const char *const people[] = {
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 Viber/21.0",
        "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Version/4.0 Chrome/119.0 Mobile Safari/537.36 WhatsApp/2.23",
        NULL
    };
    for (int i = 0; previews[i]; i++) {
        B8_CHECK(b8_click_is_preview(previews[i]));
    }
    B8_CHECK(b8_click_is_preview(NULL));
    for (int i = 0; people[i]; i++) {
        B8_CHECK(!b8_click_is_preview(people[i]));
    }
}

B8_TEST(test_retarget_segments_and_checks)
{
    b8_err err = { 0 };
    cJSON *o = b8_retarget_preset("read_not_clicked", "12");
    char *text;

    B8_CHECK(o != NULL);
    text = cJSON_PrintUnformatted(o);
    B8_CHECK_STR(text, "{\"id\":12,\"states\":[\"read\"],\"clicked\":false}");
    free(text);
    B8_CHECK(b8_retarget_check(p, o, &err) == B8_OK);
    cJSON_Delete(o);
    B8_CHECK(b8_retarget_preset("nonsense", "12") == NULL);
    B8_CHECK(b8_retarget_preset("clicked", NULL) == NULL);
    {
        cJSON *presets = b8_retarget_presets();
        const cJSON *e;
        cJSON_ArrayForEach(e, presets) {
            cJSON *one = b8_retarget_preset(cJSON_GetObjectItem(e, "value")->valuestring, "3");
            b8_err e2 = { 0 };
            B8_CHECK(one && b8_retarget_check(p, one, &e2) == B8_OK);
            cJSON_Delete(one);
        }
        cJSON_Delete(presets);
    }
    {
        static const char *const bad[] = {
            "[]", "{\"states\": [\"read\"]}", "{\"id\": 1.5}", "{\"id\": 1, \"states\": \"read\"}",
            "{\"id\": 1, \"states\": [\"gone\"]}", "{\"id\": 1, \"clicked\": \"yes\"}",
            "{\"id\": 1, \"replied\": 1}", NULL
        };
        for (int i = 0; bad[i]; i++) {
            b8_err e3 = { 0 };
            cJSON *in = cJSON_Parse(bad[i]);
            B8_CHECK(b8_retarget_check(p, in, &e3) == B8_EINVALID);
            B8_CHECK(e3.fields != NULL);
            cJSON_Delete(e3.fields);
            cJSON_Delete(in);
        }
    }
}

B8_TEST(test_chart_geometry)
{
    static const char *const keys[] = { "sent", "read" };
    cJSON *rows = cJSON_Parse("[{\"t\":\"2026-12-07T05:00:00.000Z\",\"sent\":4,\"read\":0},"
                              "{\"t\":\"2026-12-07T06:00:00.000Z\",\"sent\":2,\"read\":1}]");
    cJSON *chart = b8_results_chart(p, rows, keys, 2, "t", 360, 180);
    const cJSON *series = cJSON_GetObjectItem(chart, "series");
    const cJSON *labels = cJSON_GetObjectItem(chart, "labels");

    B8_CHECK(cJSON_GetObjectItem(chart, "max")->valuedouble == 4);
    /* The largest value touches the top, 0 the axis; x spans the plot. */
    B8_CHECK_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(series, 0), "points")->valuestring,
                 "48.0,10.0 350.0,85.0");
    B8_CHECK_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(series, 1), "points")->valuestring,
                 "48.0,160.0 350.0,122.5");
    B8_CHECK(cJSON_GetObjectItem(cJSON_GetArrayItem(series, 0), "total")->valuedouble == 6);
    B8_CHECK_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(labels, 0), "text")->valuestring,
                 "12-07 05:00");
    cJSON_Delete(chart);
    cJSON_Delete(rows);
}

B8_TEST_MAIN(B8_CASE(test_click_token_round_trip), B8_CASE(test_click_token_refuses_anything_else),
             B8_CASE(test_link_previews_are_told_apart),
             B8_CASE(test_retarget_segments_and_checks), B8_CASE(test_chart_geometry))
