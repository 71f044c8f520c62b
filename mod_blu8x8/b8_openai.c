#include "b8_openai.h"
#include "b8_util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

static void add_message(cJSON *messages, const char *role, const char *content)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", role);
    cJSON_AddStringToObject(m, "content", content ? content : "");
    cJSON_AddItemToArray(messages, m);
}

/* o1 and o1-mini may refuse the system role (8x8-API.md). */
static void add_instructions(cJSON *messages, const char *model, const char *instructions)
{
    if (strcmp(model, "o1-mini") == 0) {
        add_message(messages, "user", instructions);
    }
    else if (strcmp(model, "o1") == 0) {
        add_message(messages, "developer", instructions);
    }
    else {
        add_message(messages, "system", instructions);
    }
}

cJSON *b8_openai_chat_request(const char *model, long max_tokens, const char *instructions,
                              const apr_array_header_t *history, const char *message)
{
    cJSON *body = cJSON_CreateObject(), *messages;

    cJSON_AddStringToObject(body, "model", model);
    cJSON_AddNumberToObject(body, "max_completion_tokens", (double)max_tokens);
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
                            strncmp(model, "o1", 2) == 0 ? 1000 : 5);
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
    json = cJSON_ParseWithLength(res->body, res->body_len);
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
        else {
            out->verdict = B8_AI_FAILED;
            out->error = "OpenAI answered without a reply text";
        }
    }
    else if (res->status == 401) {
        out->verdict = B8_AI_BAD_KEY;
        out->error = "invalid OpenAI key (OpenAI answered 401)";
    }
    else if (res->status == 429 || res->status >= 500) {
        const char *msg = error_message(p, json);
        out->verdict = B8_AI_RETRY;
        out->error = apr_psprintf(p, "OpenAI answered %ld%s%s", res->status, msg ? ": " : "",
                                  msg ? msg : "");
        if (res->retry_after) {
            long secs = atol(res->retry_after);
            out->retry_in = apr_time_from_sec(secs > 0 && secs < 600 ? secs : 1);
        }
    }
    else {
        const char *msg = error_message(p, json);
        out->verdict = B8_AI_FAILED;
        out->error = apr_psprintf(p, "OpenAI refused the request (%ld): %s", res->status,
                                  msg ? msg : "no message");
    }
    cJSON_Delete(json);
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
    b8_openai_classify(p, &res, out);
}
