/* OpenAI chat completions: the only file that knows OpenAI's wire format.
 * Builds the requests of the AI reply and of the intent question, and turns
 * the answer into content or a verdict the AI lane acts on. */
#ifndef B8_OPENAI_H
#define B8_OPENAI_H

#include <apr_tables.h>
#include "b8_core.h"
#include "b8_http.h"

#define B8_INTENT_QUESTION \
    "Is this message showing interest in our coffee products and services? Answer Yes or No."

/* Completion cap of the o-series (reasoning models): their hidden reasoning
 * tokens count against max_completion_tokens. */
#define B8_OPENAI_REASONING_FLOOR 4000

/* 1 for the o-series ("o" and a digit: o1, o1-mini, o3, o4-mini...). */
int b8_openai_is_reasoning(const char *model);

/* max_tokens, raised to B8_OPENAI_REASONING_FLOOR for the o-series. */
long b8_openai_completion_cap(const char *model, long max_tokens);

/* One earlier turn of the conversation, oldest first. */
typedef struct {
    int from_customer;     /* 1: role user, 0: role assistant */
    const char *text;
} b8_chat_turn;

/* The chat-completions body: the instructions (as "system"; for the
 * o-series as "developer", and as a leading "user" message for o1-mini and
 * o1-preview, which refuse both), the history, then the new message. Only
 * model, messages and max_completion_tokens are sent: the o-series refuse
 * temperature, top_p, max_tokens and the like. */
cJSON *b8_openai_chat_request(const char *model, long max_tokens, const char *instructions,
                              const apr_array_header_t *history, const char *message);

/* The intent question about one (joined) customer text. */
cJSON *b8_openai_intent_request(const char *model, const char *message);

/* 1 when the answer's first word, case-insensitive and without punctuation,
 * is "yes". */
int b8_openai_answer_is_yes(const char *answer);

typedef enum {
    B8_AI_OK,          /* content holds the reply */
    B8_AI_RETRY,       /* 429, 5xx, timeout: try again later (retry_in) */
    B8_AI_BAD_KEY,     /* 401: stop; the key is invalid */
    B8_AI_QUOTA,       /* 429 insufficient_quota: stop; retrying cannot succeed */
    B8_AI_FAILED       /* any other refusal: error */
} b8_ai_verdict;

typedef struct {
    b8_ai_verdict verdict;
    const char *content;
    const char *error;
    long http_status;
    apr_interval_time_t retry_in;   /* from retry-after(-ms) when given, else 0 */
} b8_ai_result;

#define B8_OPENAI_RETRY_MAX 600   /* seconds: a longer wait asked for is capped */

/* The wait a 429/5xx asks for: retry-after-ms (milliseconds) when given,
 * else retry-after (seconds, fractions allowed, or an HTTP date); 0 when
 * neither is readable. */
apr_interval_time_t b8_openai_retry_in(const char *retry_after_ms, const char *retry_after);

void b8_openai_classify(apr_pool_t *p, const b8_http_response *res, b8_ai_result *out);

/* POST {base_url}/v1/chat/completions with this thread's HTTP client. */
void b8_openai_call(apr_pool_t *p, const char *base_url, const char *key,
                    apr_interval_time_t timeout, const cJSON *body, b8_ai_result *out);

#endif
