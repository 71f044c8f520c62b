#include "b8_openai.h"
#include "b8_metrics.h"
#include "b8_util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <apr_date.h>
#include <apr_strings.h>

static void add_message(cJSON *messages, const char *role, const char *content)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", role);
    cJSON_AddStringToObject(m, "content", content ? content : "");
    cJSON_AddItemToArray(messages, m);
}

int b8_openai_is_reasoning(const char *model)
{
    /* o1, o1-mini, o3, o3-mini, o4-mini...: "o" and a digit. */
    return model && model[0] == 'o' && isdigit((unsigned char)model[1]);
}

long b8_openai_completion_cap(const char *model, long max_tokens)
{
    /* Reasoning tokens count against the cap: 200 leaves no visible reply. */
    if (b8_openai_is_reasoning(model) && max_tokens < B8_OPENAI_REASONING_FLOOR) {
        return B8_OPENAI_REASONING_FLOOR;
    }
    return max_tokens;
}

/* The o-series take no "system" message: "developer" replaces it, except
 * on o1-mini and o1-preview, which accept neither (only user/assistant). */
static void add_instructions(cJSON *messages, const char *model, const char *instructions)
{
    if (!b8_openai_is_reasoning(model)) {
        add_message(messages, "system", instructions);
    }
    else if (strncmp(model, "o1-mini", 7) == 0 || strncmp(model, "o1-preview", 10) == 0) {
        add_message(messages, "user", instructions);
    }
    else {
        add_message(messages, "developer", instructions);
    }
}

cJSON *b8_openai_chat_request(const char *model, long max_tokens, const char *instructions,
                              const apr_array_header_t *history, const char *message)
{
    cJSON *body = cJSON_CreateObject(), *messages;

    cJSON_AddStringToObject(body, "model", model);
    cJSON_AddNumberToObject(body, "max_completion_tokens",
                            (double)b8_openai_completion_cap(model, max_tokens));
    messages = cJSON_AddArrayToObject(body, "messages");
    add_instructions(messages, model, instructions);
    for (int i = 0; history && i < history->nelts; i++) {
        const b8_chat_turn *t = &APR_ARRAY_IDX(history, i, b8_chat_turn);
        add_message(messages, t->from_customer ? "user" : "assistant", t->text);
    }
    add_message(messages, "user", message);
    return body;
}

cJSON *b8_openai_intent_request(const char *model, const char *message)
{
    cJSON *body = cJSON_CreateObject(), *messages;

    cJSON_AddStringToObject(body, "model", model);
    /* Room for "Yes"/"No" (reasoning models spend tokens before answering). */
    cJSON_AddNumberToObject(body, "max_completion_tokens",
                            (double)b8_openai_completion_cap(model, 5));
    messages = cJSON_AddArrayToObject(body, "messages");
    add_instructions(messages, model, B8_INTENT_QUESTION);
    add_message(messages, "user", message);
    return body;
}

int b8_openai_answer_is_yes(const char *answer)
{
    const unsigned char *s = (const unsigned char *)answer;
    char word[8];
    int n = 0;

    if (!s) {
        return 0;
    }
    while (*s && (isspace(*s) || ispunct(*s))) {
        s++;
    }
    while (*s && !isspace(*s) && n < (int)sizeof(word) - 1) {
        if (!ispunct(*s)) {
            word[n++] = (char)tolower(*s);
        }
        s++;
    }
    word[n] = '\0';
    return strcmp(word, "yes") == 0;
}

static const char *error_message(apr_pool_t *p, const cJSON *json)
{
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(json, "error");
    const char *msg = b8_json_str(error, "message");
    return msg ? b8_utf8_clean(p, apr_pstrdup(p, msg)) : NULL;
}

/* OpenAI's error.code ("insufficient_quota", "rate_limit_exceeded"...);
 * the quota 429 carries the same word in error.type. */
static int error_is(const cJSON *json, const char *code)
{
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(json, "error");
    const char *c = b8_json_str(error, "code"), *t = b8_json_str(error, "type");
    return (c && strcmp(c, code) == 0) || (t && strcmp(t, code) == 0);
}

apr_interval_time_t b8_openai_retry_in(const char *retry_after_ms, const char *retry_after)
{
    apr_interval_time_t max = apr_time_from_sec(B8_OPENAI_RETRY_MAX);
    apr_interval_time_t wait = -1;
    char *end;
    double v;

    /* retry-after-ms first: OpenAI's exact figure (retry-after rounds it up
     * to whole seconds). */
    if (retry_after_ms && *retry_after_ms) {
        v = strtod(retry_after_ms, &end);
        if (end != retry_after_ms && *end == '\0' && v >= 0) {
            wait = (apr_interval_time_t)(v * 1000.0);
        }
    }
    if (wait < 0 && retry_after && *retry_after) {
        v = strtod(retry_after, &end);
        if (end != retry_after && *end == '\0' && v >= 0) {
            wait = (apr_interval_time_t)(v * (double)APR_USEC_PER_SEC);
        }
        else {
            apr_time_t at = apr_date_parse_rfc(retry_after), now = apr_time_now();
            if (at != APR_DATE_BAD) {
                wait = at > now ? at - now : 0;
            }
        }
    }
    if (wait < 0) {
        return 0;
    }
    return wait > max ? max : wait;
}

void b8_openai_classify(apr_pool_t *p, const b8_http_response *res, b8_ai_result *out)
{
    cJSON *json;

    memset(out, 0, sizeof(*out));
    out->http_status = res->status;
    if (res->outcome != B8_HTTP_ANSWERED) {
        /* Asking OpenAI again does no harm: nothing is sent to the customer. */
        out->verdict = B8_AI_RETRY;
        out->error = apr_psprintf(p, "OpenAI did not answer: %s", res->error ? res->error : "no answer");
        return;
    }
    json = b8_json_parse(p, res->body, res->body_len);
    if (res->status == 200) {
        const cJSON *choices = cJSON_GetObjectItemCaseSensitive(json, "choices");
        const cJSON *first = cJSON_IsArray(choices) ? cJSON_GetArrayItem(choices, 0) : NULL;
        const cJSON *message = cJSON_GetObjectItemCaseSensitive(first, "message");
        const char *content = b8_json_str(message, "content");
        if (content && *content) {
            out->verdict = B8_AI_OK;
            /* Sent to the customer and stored: only valid UTF-8. */
            out->content = b8_utf8_clean(p, apr_pstrdup(p, content));
        }
        else if (b8_json_str(first, "finish_reason")
                 && strcmp(b8_json_str(first, "finish_reason"), "length") == 0) {
            /* Reasoning models spend the cap before writing anything. */
            out->verdict = B8_AI_FAILED;
            out->error = "OpenAI used up the completion token cap before writing a reply "
                         "(finish_reason length): raise the maximum completion tokens";
        }
        else {
            out->verdict = B8_AI_FAILED;
            out->error = "OpenAI answered without a reply text";
        }
    }
    else if (res->status == 401) {
        out->verdict = B8_AI_BAD_KEY;
        out->error = "invalid OpenAI key (OpenAI answered 401)";
    }
    else if (res->status == 429 && error_is(json, "insufficient_quota")) {
        /* No retry can succeed until someone adds credit at OpenAI. */
        const char *msg = error_message(p, json);
        out->verdict = B8_AI_QUOTA;
        out->error = apr_psprintf(p, "OpenAI quota exhausted (429 insufficient_quota): check the "
                                  "plan and billing of the OpenAI account%s%s", msg ? ". OpenAI: " : "",
                                  msg ? msg : "");
    }
    else if (res->status == 429 || res->status >= 500) {
        const char *msg = error_message(p, json);
        out->verdict = B8_AI_RETRY;
        out->error = apr_psprintf(p, "OpenAI answered %ld%s%s", res->status, msg ? ": " : "",
                                  msg ? msg : "");
        out->retry_in = b8_openai_retry_in(res->retry_after_ms, res->retry_after);
    }
    else {
        const char *msg = error_message(p, json);
        out->verdict = B8_AI_FAILED;
        out->error = apr_psprintf(p, "OpenAI refused the request (%ld): %s", res->status,
                                  msg ? msg : "no message");
    }
}

void b8_openai_call(apr_pool_t *p, const char *base_url, const char *key,
                    apr_interval_time_t timeout, const cJSON *body, b8_ai_result *out)
{
    b8_http_client *client = b8_http_thread_client();
    b8_http_request req;
    b8_http_response res;
    const char *text = b8_json_print(p, body);

    if (!client) {
        memset(out, 0, sizeof(*out));
        out->verdict = B8_AI_RETRY;
        out->error = "out of memory";
        return;
    }
    memset(&req, 0, sizeof(req));
    req.url = apr_pstrcat(p, base_url, "/v1/chat/completions", NULL);
    req.bearer = key;
    req.body = text;
    req.body_len = strlen(text);
    req.timeout = timeout;
    b8_http_perform(client, p, &req, &res);
    b8_metrics_openai(res.elapsed);
    b8_openai_classify(p, &res, out);
}
