/* Inbox page (conversations by phone) and the inbound messages API. */
#include "mod_blu8x8_admin.h"

#include <apr_escape.h>
#include <apr_strings.h>

#include "b8_inbox.h"

#define INBOX_PAGE_SIZE 20

/* Links to the previous and next pages keep the search. */
static void add_page_links(b8_areq *a, cJSON *data, const char *q, const b8_paging *pg)
{
    long pages = (long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(data, "pages"));
    const char *search = *q ? apr_pstrcat(a->r->pool, "&q=", apr_pescape_urlencoded(a->r->pool, q),
                                          NULL)
                            : "";
    if (pg->page > 1) {
        cJSON_AddStringToObject(data, "prev_href", apr_psprintf(a->r->pool, "%sinbox?page=%ld%s",
                                                                a->base, pg->page - 1, search));
    }
    if (pg->page < pages) {
        cJSON_AddStringToObject(data, "next_href", apr_psprintf(a->r->pool, "%sinbox?page=%ld%s",
                                                                a->base, pg->page + 1, search));
    }
}

static int page_inbox(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    b8_paging pg;
    cJSON *data = NULL;
    const char *q = apr_table_get(a->query, "q");

    if (!q || !*q) {
        q = apr_table_get(a->query, "phone");   /* links from other pages */
    }
    b8_paging_parse(&pg, apr_table_get(a->query, "page"), apr_table_get(a->query, "per_page"));
    if (!apr_table_get(a->query, "per_page")) {
        pg.per_page = INBOX_PAGE_SIZE;
    }
    if (b8_inbox_conversations(a->ctx, q, &pg, &data, &err) != B8_OK) {
        return b8_page_error(a, &err);
    }
    add_page_links(a, data, b8_json_str(data, "q"), &pg);
    return b8_render_page(a, HTTP_OK, "inbox", "Inbox", "inbox", data);
}

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

const b8_route b8_routes_inbox[] = {
    { "GET", "inbox", page_inbox, B8_BODY_NONE },
    { "GET", "api/inbound", api_inbound, B8_BODY_NONE },
    { NULL, NULL, NULL, 0 }
};
