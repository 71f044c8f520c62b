/* Leads page, CSV export and API. A sales agent sees the unclaimed leads
 * and theirs (page and API); the export is the administrators'. */
#include "mod_blu8x8_admin.h"

#include "b8_leads.h"

static const char *const status_filters[] = { "open", "new", "claimed", "won", "lost", NULL };

static int page_leads(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    b8_paging pg;
    cJSON *data = NULL, *filters;
    const char *claimed = apr_table_get(a->query, "claimed");
    const char *status = apr_table_get(a->query, "status");

    b8_paging_from_query(a, &pg);
    if (b8_leads_list(a->ctx, a->user, claimed, status, &pg, &data, &err) != B8_OK) {
        return b8_page_error(a, &err);
    }
    {
        const char *filter = b8_json_str(data, "filter");
        cJSON_AddBoolToObject(data, "show_all", strcmp(filter, "all") == 0
                                                    && !b8_json_str(data, "status"));
        cJSON_AddBoolToObject(data, "show_claimed", strcmp(filter, "claimed") == 0);
        cJSON_AddBoolToObject(data, "show_unclaimed", strcmp(filter, "unclaimed") == 0);
    }
    filters = cJSON_AddArrayToObject(data, "status_filters");
    for (int i = 0; status_filters[i]; i++) {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "status", status_filters[i]);
        cJSON_AddBoolToObject(f, "active", status && strcmp(status, status_filters[i]) == 0);
        cJSON_AddItemToArray(filters, f);
    }
    cJSON_AddBoolToObject(data, "admin", a->user->is_admin);
    {
        /* Each lead's status form starts at its status. */
        cJSON *lead;
        cJSON_ArrayForEach(lead, cJSON_GetObjectItemCaseSensitive(data, "items")) {
            const char *current = b8_json_str(lead, "status");
            cJSON *opts = cJSON_AddArrayToObject(lead, "status_options");
            for (int i = 1; status_filters[i]; i++) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "value", status_filters[i]);
                cJSON_AddBoolToObject(o, "selected",
                                      current && strcmp(current, status_filters[i]) == 0);
                cJSON_AddItemToArray(opts, o);
            }
        }
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
    kind = b8_leads_list(a->ctx, a->user, apr_table_get(a->query, "claimed"),
                         apr_table_get(a->query, "status"), &pg, &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

static int api_lead_patch(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_lead_update(a->ctx, a->user, a->params[0], a->json, &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

/* The Leads page's status and notes form. */
static int page_lead_update(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL, *in = b8_form_to_json(a->r->pool, a->form);
    if (b8_lead_update(a->ctx, a->user, a->params[0], in, &out, &err) != B8_OK) {
        return b8_page_error(a, &err);
    }
    return b8_redirect(a, "leads", "saved");
}

const b8_route b8_routes_leads[] = {
    { "GET", "leads.csv", leads_csv, B8_BODY_NONE },
    { NULL, NULL, NULL, 0 }
};

const b8_route b8_routes_agent_leads[] = {
    { "GET", "leads", page_leads, B8_BODY_NONE },
    { "POST", "leads/:", page_lead_update, B8_BODY_FORM },
    { "GET", "api/leads", api_leads, B8_BODY_NONE },
    { "PATCH", "api/leads/:", api_lead_patch, B8_BODY_JSON },
    { NULL, NULL, NULL, 0 }
};
