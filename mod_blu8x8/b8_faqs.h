/* The FAQ knowledge base of the AI chatbot ("training data"): ordered
 * Prompt -> Completion pairs, and the system prompt built from them. */
#ifndef B8_FAQS_H
#define B8_FAQS_H

#include "b8_core.h"

#define B8_FAQ_LINE "For frequently asked questions, use these responses:"
#define B8_FAQ_MAX_TEXT 4000

b8_errkind b8_faqs_list(b8_ctx *ctx, const b8_paging *pg, cJSON **out, b8_err *err);
b8_errkind b8_faq_get(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err);
/* in: {"prompt", "completion"}; both required on create, partial on update. */
b8_errkind b8_faq_create(b8_ctx *ctx, const cJSON *in, cJSON **out, b8_err *err);
b8_errkind b8_faq_update(b8_ctx *ctx, const char *id, const cJSON *in, cJSON **out, b8_err *err);
b8_errkind b8_faq_delete(b8_ctx *ctx, const char *id, b8_err *err);
/* Swaps the pair with its neighbour: direction -1 (up) or +1 (down). */
b8_errkind b8_faq_move(b8_ctx *ctx, const char *id, int direction, b8_err *err);
/* CSV "prompt,completion" (header optional) -> {"added", "invalid": [...],
 * "replaced": n}. replace: the file's pairs replace every pair (in one
 * transaction; a file without one valid pair is refused, 422, and nothing
 * is removed); else they are appended. */
b8_errkind b8_faqs_import(b8_ctx *ctx, const char *csv, apr_size_t len, int replace,
                          cJSON **report, b8_err *err);
/* The whole list as CSV with the header "prompt,completion". */
b8_errkind b8_faqs_csv(b8_ctx *ctx, const char **csv, b8_err *err);

/* The AI's system prompt: the persona, then (with at least one pair) the
 * FAQ line and one "'<prompt>' - '<completion>'" line per pair, in order. */
apr_status_t b8_ai_system_prompt(b8_db *db, apr_pool_t *p, const char *persona,
                                 const char **prompt);

#endif
