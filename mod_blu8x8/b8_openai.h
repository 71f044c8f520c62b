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

/* One earlier turn of the conversation, oldest first. */
typedef struct {
    int from_customer;     /* 1: role user, 0: role assistant */
    const char *text;
} b8_chat_turn;

/* The chat-completions body: the instructions (as "system", or as
 * "developer" for o1 and a leading "user" message for o1-mini, which refuse
 * the system role), the history, then the new message. */
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
    B8_AI_FAILED       /* any other refusal: error */
} b8_ai_verdict;

typedef struct {
    b8_ai_verdict verdict;
    const char *content;
    const char *error;
    long http_status;
    apr_interval_time_t retry_in;   /* from retry-after when given, else 0 */
} b8_ai_result;

void b8_openai_classify(apr_pool_t *p, const b8_http_response *res, b8_ai_result *out);

/* POST {base_url}/v1/chat/completions with this thread's HTTP client. */
void b8_openai_call(apr_pool_t *p, const char *base_url, const char *key,
                    apr_interval_time_t timeout, const cJSON *body, b8_ai_result *out);

#endif
