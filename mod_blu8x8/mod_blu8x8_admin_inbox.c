/* The inbound messages API; the Inbox page became the conversations. */
#include "mod_blu8x8_admin.h"

#include <apr_strings.h>

#include "b8_conversations.h"
#include "b8_inbox.h"
#include "b8_util.h"

static int api_inbound(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    b8_paging pg;
    cJSON *out = NULL;
    b8_errkind kind;

    b8_paging_from_query(a, &pg);
    kind = b8_inbound_list(a->ctx, apr_table_get(a->query, "phone"), &pg, &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

static int api_inbound_retry_ai(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    b8_errkind kind = b8_inbound_retry_ai(a->ctx, a->params[0], &err);
    cJSON *out = NULL;
    if (kind == B8_OK) {
        out = b8_json_object(a->r->pool);
        cJSON_AddNumberToObject(out, "retried", 1);
        b8_worker_wake();
    }
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

const b8_route b8_routes_inbox[] = {
    { "GET", "api/inbound", api_inbound, B8_BODY_NONE },
    { "POST", "api/inbound/:/retry-ai", api_inbound_retry_ai, B8_BODY_JSON },
    { NULL, NULL, NULL, 0 }
};
