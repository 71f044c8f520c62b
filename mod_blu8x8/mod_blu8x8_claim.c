/* The lead-claim handler: GET /crm/<lead_id>/<user_id>?sig=… from a sales
 * agent's phone. No login: the signed link is the credential. */
#include "mod_blu8x8.h"

#include "http_core.h"
#include "http_protocol.h"

#include <apr_strings.h>

#include "b8_leads.h"

static int claim_page(request_rec *r, int status, const char *state, cJSON *lead)
{
    cJSON *data = b8_json_object(r->pool);
    const char *html, *err = NULL;

    cJSON_AddBoolToObject(data, state, 1);
    if (lead) {
        cJSON_AddItemReferenceToObject(data, "lead", lead);
    }
    if (b8_tmpl_render(r->pool, b8_proc.templates, "claim", data, &html, &err) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "B8-0601: template claim: %s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return b8_send_html(r, status, html);
}

/* "<lead>/<user>" below the mount point; NULLs when the path is not that. */
static void parse_path(request_rec *r, const char **lead, const char **user)
{
    core_dir_config *cd = ap_get_core_module_config(r->per_dir_config);
    const char *base = cd && cd->d && cd->d[0] == '/' ? cd->d : "/crm/";
    apr_size_t n = strlen(base);
    const char *rest, *slash;

    *lead = *user = NULL;
    if (base[n - 1] != '/') {
        base = apr_pstrcat(r->pool, base, "/", NULL);
        n++;
    }
    if (strncmp(r->uri, base, n) != 0) {
        return;
    }
    rest = r->uri + n;
    slash = strchr(rest, '/');
    if (!slash || strchr(slash + 1, '/')) {
        return;
    }
    *lead = apr_pstrndup(r->pool, rest, (apr_size_t)(slash - rest));
    *user = slash + 1;
}

int b8_claim_handler(request_rec *r)
{
    const char *lead_id, *user_id, *sig;
    apr_table_t *query;
    b8_ctx *ctx;
    cJSON *lead = NULL;
    int status = OK;

    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    /* A stand-alone page: its own inline style, nothing else. */
    apr_table_setn(r->headers_out, "Content-Security-Policy",
                   "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
                   "base-uri 'none'; form-action 'none'");
    if (r->method_number != M_GET) {
        r->allowed = (AP_METHOD_BIT << M_GET);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    parse_path(r, &lead_id, &user_id);
    query = b8_parse_query(r->pool, r->args);
    sig = apr_table_get(query, "sig");
    if (!(ctx = b8_request_ctx(r, &status))) {
        return status;
    }
    /* HEAD (and so link previewers that use it) must not claim. */
    if (r->header_only) {
        return claim_page(r, HTTP_OK, "preview", NULL);
    }
    switch (b8_lead_claim(ctx, lead_id, user_id, sig, &lead)) {
    case B8_CLAIM_WON:
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "B8-0602: lead %s claimed by user %s",
                      lead_id, user_id);
        return claim_page(r, HTTP_OK, "won", lead);
    case B8_CLAIM_TAKEN:
        return claim_page(r, HTTP_CONFLICT, "taken", lead);
    case B8_CLAIM_FORBIDDEN:
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "B8-0603: claim link with a bad signature");
        return claim_page(r, HTTP_FORBIDDEN, "forbidden", NULL);
    default:
        return claim_page(r, HTTP_NOT_FOUND, "not_found", NULL);
    }
}
