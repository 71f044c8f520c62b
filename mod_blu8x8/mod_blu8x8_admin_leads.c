/* Leads page, CSV export and API. */
#include "mod_blu8x8_admin.h"

#include "b8_leads.h"

static int page_leads(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    b8_paging pg;
    cJSON *data = NULL;
    const char *claimed = apr_table_get(a->query, "claimed");

    b8_paging_from_query(a, &pg);
    if (b8_leads_list(a->ctx, claimed, &pg, &data, &err) != B8_OK) {
        return b8_page_error(a, &err);
    }
    {
        const char *filter = b8_json_str(data, "filter");
        cJSON_AddBoolToObject(data, "show_all", strcmp(filter, "all") == 0);
        cJSON_AddBoolToObject(data, "show_claimed", strcmp(filter, "claimed") == 0);
        cJSON_AddBoolToObject(data, "show_unclaimed", strcmp(filter, "unclaimed") == 0);
    }
    return b8_render_page(a, HTTP_OK, "leads", "Leads", "leads", data);
}

static int leads_csv(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    const char *csv = NULL;
    if (b8_leads_csv(a->ctx, &csv, &err) != B8_OK) {
        return b8_page_error(a, &err);
    }
    return b8_send_csv(a->r, "leads.csv", csv);
}

static int api_leads(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    b8_paging pg;
    cJSON *out = NULL;
    b8_errkind kind;
    b8_paging_from_query(a, &pg);
    kind = b8_leads_list(a->ctx, apr_table_get(a->query, "claimed"), &pg, &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

const b8_route b8_routes_leads[] = {
    { "GET", "leads", page_leads, B8_BODY_NONE },
    { "GET", "leads.csv", leads_csv, B8_BODY_NONE },
    { "GET", "api/leads", api_leads, B8_BODY_NONE },
    { NULL, NULL, NULL, 0 }
};
