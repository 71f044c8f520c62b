/* Helpers for the tests of the wire formats (8x8, OpenAI): an HTTP answer
 * as the http client would hand it over, and a comparison of built JSON
 * with the expected text (key order free, values exact). */
#ifndef B8_TEST_WIRE_H
#define B8_TEST_WIRE_H

#include "b8_test.h"
#include "b8_http.h"

#include <cjson/cJSON.h>

static inline b8_http_response b8_test_answered(long status, const char *body,
                                                const char *retry_after)
{
    b8_http_response r;
    memset(&r, 0, sizeof(r));
    r.outcome = B8_HTTP_ANSWERED;
    r.status = status;
    r.body = body;
    r.body_len = strlen(body);
    r.retry_after = retry_after;
    return r;
}

static inline void b8_test_check_json(const cJSON *got, const char *expected, const char *file,
                                      int line)
{
    cJSON *want = cJSON_Parse(expected);
    if (!want) {
        b8_test_checks_failed++;
        fprintf(stderr, "  %s:%d: expected JSON does not parse\n", file, line);
    }
    else if (!cJSON_Compare(got, want, 1)) {
        char *g = cJSON_PrintUnformatted(got);
        b8_test_checks_failed++;
        fprintf(stderr, "  %s:%d: JSON differs\n    got:  %s\n    want: %s\n", file, line,
                g ? g : "(null)", expected);
        free(g);
    }
    cJSON_Delete(want);
}
#define B8_CHECK_JSON(got, json) b8_test_check_json((got), (json), __FILE__, __LINE__)

#endif
