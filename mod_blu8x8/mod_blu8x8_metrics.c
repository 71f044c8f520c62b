/* The metrics handler (blu8x8-metrics): Prometheus text format 0.0.4, built
 * by the core (b8_metrics.c). conf/blu8x8.conf mounts it with Require
 * local; no login of its own. A database that cannot be reached still
 * answers 200 with this server's own figures and blu8x8_database_up 0, so
 * that the alert says which part is down. */
#include "mod_blu8x8.h"

#include "http_protocol.h"

#include "b8_metrics.h"

int b8_metrics_handler(request_rec *r)
{
    b8_db *db = NULL;
    const char *text;

    if (r->method_number != M_GET) {
        apr_table_setn(r->headers_out, "Allow", "GET, HEAD");
        return b8_send_json_error(r, HTTP_METHOD_NOT_ALLOWED, "only GET is allowed here");
    }
    if (!b8_proc.store || b8_db_get(b8_proc.store, r->pool, &db) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "B8-4602: metrics without the "
                      "database's figures: the database is not available");
        db = NULL;
    }
    text = b8_metrics_render(r->pool, db, b8_proc.conf->worker);
    ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    ap_set_content_length(r, (apr_off_t)strlen(text));
    if (!r->header_only) {
        ap_rputs(text, r);
    }
    return OK;
}
