/* The click handler: GET /r/<token> from a customer's phone (a campaign
 * button). No login: the signed token names one recipient row, and the
 * answer can only be that campaign's stored button URL (no open redirect).
 * It is on the customer's way to the shop: one indexed write, no settings
 * read, no template. */
#include "mod_blu8x8.h"

#include "http_core.h"
#include "http_protocol.h"

#include <apr_strings.h>

#include "b8_results.h"

/* The token below the mount point ("/r/" by default). */
static const char *token_of(request_rec *r)
{
    core_dir_config *cd = ap_get_core_module_config(r->per_dir_config);
    const char *base = cd && cd->d && cd->d[0] == '/' ? cd->d : "/r/";
    apr_size_t n = strlen(base);

    if (base[n - 1] != '/') {
        base = apr_pstrcat(r->pool, base, "/", NULL);
        n++;
    }
    if (strncmp(r->uri, base, n) != 0 || strchr(r->uri + n, '/')) {
        return NULL;
    }
    return r->uri + n;
}

int b8_click_handler(request_rec *r)
{
    const char *token, *id, *secret = NULL, *url = NULL;
    b8_db *db = NULL;
    int count;

    /* Kept on the redirect (error headers survive a non-200 answer). */
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->err_headers_out, "Referrer-Policy", "no-referrer");
    if (r->method_number != M_GET) {
        r->allowed = (AP_METHOD_BIT << M_GET);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (!b8_proc.store || b8_db_get(b8_proc.store, r->pool, &db) != APR_SUCCESS
        || b8_click_secret(db, r->pool, &secret) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "B8-4900: click: the database is not available");
        return HTTP_SERVICE_UNAVAILABLE;
    }
    token = token_of(r);
    if (!(id = b8_click_token_check(r->pool, secret, token))) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "B8-4901: click link with a bad token");
        return HTTP_NOT_FOUND;
    }
    /* HEAD and link-preview fetchers are sent on, not counted. */
    count = !r->header_only && !b8_click_is_preview(apr_table_get(r->headers_in, "User-Agent"));
    if (b8_click_follow(db, r->pool, id, count, &url) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "B8-4902: click on message %s not recorded: %s",
                      id, b8_db_error(db));
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (!url || !*url) {
        /* A deleted recipient or campaign, or a button without a URL. */
        return HTTP_NOT_FOUND;
    }
    apr_table_setn(r->headers_out, "Location", url);
    return HTTP_MOVED_TEMPORARILY;
}
