/* Request helpers shared by the handlers: bounded body reading, answers in
 * JSON or HTML, the mapping of core error kinds to HTTP statuses. */
#include "mod_blu8x8.h"

#include "http_protocol.h"
#include "http_request.h"
#include "util_script.h"

#include <apr_strings.h>

#include "b8_runtime.h"
#include "b8_users.h"

/* Reads the whole body, chunked or not, refusing more than limit bytes:
 * httpd's own LimitRequestBody defaults to 1 GiB. Returns OK or a status. */
int b8_read_body(request_rec *r, apr_off_t limit, const char **body, apr_size_t *len)
{
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    apr_bucket_brigade *bb;
    char *buf;
    apr_size_t have = 0, cap;
    int seen_eos = 0;

    *body = "";
    *len = 0;
    if (cl) {
        apr_off_t n;
        char *end;
        if (apr_strtoff(&n, cl, &end, 10) != APR_SUCCESS || *end || n < 0) {
            return HTTP_BAD_REQUEST;
        }
        if (n > limit) {
            return HTTP_REQUEST_ENTITY_TOO_LARGE;
        }
    }
    cap = 8192;
    buf = apr_palloc(r->pool, cap + 1);
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    while (!seen_eos) {
        apr_status_t rv = ap_get_brigade(r->input_filters, bb, AP_MODE_READBYTES,
                                         APR_BLOCK_READ, 8192);
        if (rv != APR_SUCCESS) {
            apr_brigade_destroy(bb);
            return rv == AP_FILTER_ERROR ? HTTP_BAD_REQUEST : ap_map_http_request_error(rv, HTTP_BAD_REQUEST);
        }
        for (apr_bucket *b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
             b = APR_BUCKET_NEXT(b)) {
            const char *data;
            apr_size_t n;
            if (APR_BUCKET_IS_EOS(b)) {
                seen_eos = 1;
                break;
            }
            if (APR_BUCKET_IS_METADATA(b)) {
                continue;
            }
            if (apr_bucket_read(b, &data, &n, APR_BLOCK_READ) != APR_SUCCESS) {
                apr_brigade_destroy(bb);
                return HTTP_BAD_REQUEST;
            }
            if ((apr_off_t)(have + n) > limit) {
                apr_brigade_destroy(bb);
                return HTTP_REQUEST_ENTITY_TOO_LARGE;
            }
            if (have + n > cap) {
                char *grown;
                while (have + n > cap) {
                    cap *= 2;
                }
                grown = apr_palloc(r->pool, cap + 1);
                memcpy(grown, buf, have);
                buf = grown;
            }
            memcpy(buf + have, data, n);
            have += n;
        }
        apr_brigade_cleanup(bb);
    }
    apr_brigade_destroy(bb);
    buf[have] = '\0';
    *body = buf;
    *len = have;
    return OK;
}

static void security_headers(request_rec *r)
{
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
}

int b8_send_json(request_rec *r, int status, const cJSON *json)
{
    const char *text = b8_json_print(r->pool, json);
    r->status = status;
    security_headers(r);
    ap_set_content_type(r, "application/json; charset=utf-8");
    ap_set_content_length(r, (apr_off_t)strlen(text));
    if (!r->header_only) {
        ap_rputs(text, r);
    }
    return OK;
}

int b8_send_json_error(request_rec *r, int status, const char *message)
{
    cJSON *o = b8_json_object(r->pool);
    cJSON_AddStringToObject(o, "error", message);
    return b8_send_json(r, status, o);
}

int b8_send_html(request_rec *r, int status, const char *html)
{
    r->status = status;
    security_headers(r);
    apr_table_setn(r->headers_out, "X-Frame-Options", "DENY");
    apr_table_setn(r->headers_out, "Referrer-Policy", "same-origin");
    if (!apr_table_get(r->headers_out, "Content-Security-Policy")) {
        apr_table_setn(r->headers_out, "Content-Security-Policy",
                       "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                       "form-action 'self'; base-uri 'none'");
    }
    ap_set_content_type(r, "text/html; charset=utf-8");
    ap_set_content_length(r, (apr_off_t)strlen(html));
    if (!r->header_only) {
        ap_rputs(html, r);
    }
    return OK;
}

int b8_send_csv(request_rec *r, const char *filename, const char *csv)
{
    security_headers(r);
    ap_set_content_type(r, "text/csv; charset=utf-8");
    apr_table_setn(r->headers_out, "Content-Disposition",
                   apr_psprintf(r->pool, "attachment; filename=\"%s\"", filename));
    ap_set_content_length(r, (apr_off_t)strlen(csv));
    if (!r->header_only) {
        ap_rputs(csv, r);
    }
    return OK;
}

apr_status_t b8_csv_stream_write(void *baton, const char *data, apr_size_t len)
{
    b8_csv_stream *s = baton;
    if (!s->started) {
        s->started = 1;
        security_headers(s->r);
        ap_set_content_type(s->r, "text/csv; charset=utf-8");
        apr_table_setn(s->r->headers_out, "Content-Disposition",
                       apr_psprintf(s->r->pool, "attachment; filename=\"%s\"", s->filename));
        if (s->r->header_only) {
            return APR_EOF;
        }
    }
    return ap_rwrite(data, (int)len, s->r) < 0 ? APR_EGENERAL : APR_SUCCESS;
}

int b8_status_of(b8_errkind kind)
{
    switch (kind) {
    case B8_OK: return HTTP_OK;
    case B8_ENOTFOUND: return HTTP_NOT_FOUND;
    case B8_EINVALID: return HTTP_UNPROCESSABLE_ENTITY;
    case B8_ESTATE: return HTTP_CONFLICT;
    case B8_ECONFLICT: return HTTP_CONFLICT;
    case B8_EUPSTREAM: return HTTP_BAD_GATEWAY;
    default: return HTTP_INTERNAL_SERVER_ERROR;
    }
}

cJSON *b8_err_json(const b8_err *err)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", err->message ? err->message : "error");
    if (err->fields) {
        cJSON_AddItemReferenceToObject(o, "fields", err->fields);
    }
    if (err->state) {
        cJSON_AddStringToObject(o, "state", err->state);
    }
    return o;
}

/* A core context for this request: a borrowed connection and the saved
 * settings. On failure *http_status says what to answer. */
b8_ctx *b8_request_ctx(request_rec *r, int *http_status)
{
    b8_ctx *ctx = apr_pcalloc(r->pool, sizeof(*ctx));

    ctx->pool = r->pool;
    ctx->store = b8_proc.store;
    ctx->login = r->user;
    if (!ctx->store || b8_db_get(ctx->store, r->pool, &ctx->db) != APR_SUCCESS
        || b8_settings_cache_get(b8_proc.settings, ctx->db, r->pool, &ctx->settings)
               != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "B8-0401: the database is not available");
        *http_status = HTTP_SERVICE_UNAVAILABLE;
        return NULL;
    }
    return ctx;
}

/* application/x-www-form-urlencoded or a query string -> table (repeated
 * keys kept in order). */
apr_table_t *b8_parse_query(apr_pool_t *p, const char *query)
{
    apr_table_t *t = apr_table_make(p, 8);
    char *copy, *last = NULL;

    if (!query) {
        return t;
    }
    copy = apr_pstrdup(p, query);
    for (char *pair = apr_strtok(copy, "&", &last); pair; pair = apr_strtok(NULL, "&", &last)) {
        char *eq = strchr(pair, '=');
        char *key = pair, *val = "";
        if (eq) {
            *eq = '\0';
            val = eq + 1;
        }
        for (char *c = key; *c; c++) if (*c == '+') *c = ' ';
        for (char *c = val; *c; c++) if (*c == '+') *c = ' ';
        if (ap_unescape_urlencoded(key) != OK || ap_unescape_urlencoded(val) != OK) {
            continue;
        }
        if (*key) {
            apr_table_add(t, key, val);
        }
    }
    return t;
}

int b8_content_type_is(request_rec *r, const char *type)
{
    const char *ct = apr_table_get(r->headers_in, "Content-Type");
    apr_size_t n = strlen(type);
    if (!ct) {
        return 0;
    }
    while (*ct == ' ') {
        ct++;
    }
    return strncasecmp(ct, type, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}
