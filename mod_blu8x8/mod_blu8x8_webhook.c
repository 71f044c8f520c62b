/* The webhook handler (blu8x8-webhook): 8x8's delivery receipts and inbound
 * messages. Checks in API.md's order — 405, 401, 415, 413, 400 — then the
 * core stores the event and commits before the 200. No outbound call here:
 * replies are the worker's, woken when there is something to send. */
#include "mod_blu8x8.h"

#include "http_protocol.h"

#include "b8_crypto.h"
#include "b8_metrics.h"
#include "b8_settings.h"
#include "b8_webhook.h"

static int refuse(request_rec *r, int status, const char *why)
{
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "B8-1540: webhook answered %d: %s", status, why);
    return b8_send_json_error(r, status, why);
}

/* NULL when the request may pass, else why not. The configured value must
 * be sent as is; both sides are hashed first so the time taken tells
 * nothing. Nothing configured refuses everyone: an open webhook lets anyone
 * fake receipts and inbound texts. */
static const char *unauthorized(request_rec *r, b8_ctx *ctx)
{
    const char *want = NULL;

    switch (b8_webhook_auth_mode(ctx->settings, &want)) {
    case B8_HOOK_OPEN:
        return NULL;
    case B8_HOOK_CHECK:
        return b8_secure_equals_hashed(apr_table_get(r->headers_in, "Authorization"), want)
                   ? NULL : "missing or wrong Authorization header";
    default:
        return "this webhook is closed until Blu8x8WebhookAuthorization is set";
    }
}

static int webhook(request_rec *r)
{
    const char *body, *why;
    apr_size_t len;
    b8_ctx *ctx;
    b8_event ev;
    b8_err err = B8_ERR_INIT(r->pool);
    cJSON *ok;
    int status = OK, wake = 0;

    if (r->method_number != M_POST) {
        apr_table_setn(r->headers_out, "Allow", "POST");
        return refuse(r, HTTP_METHOD_NOT_ALLOWED, "only POST is allowed here");
    }
    if (!(ctx = b8_request_ctx(r, &status))) {
        return b8_send_json_error(r, status, "the database is not available; try again later");
    }
    if ((why = unauthorized(r, ctx)) != NULL) {
        return refuse(r, HTTP_UNAUTHORIZED, why);
    }
    if (!b8_content_type_is(r, "application/json")) {
        return refuse(r, HTTP_UNSUPPORTED_MEDIA_TYPE,
                      "send the body as Content-Type: application/json");
    }
    if ((status = b8_read_body(r, b8_proc.conf->max_body, &body, &len)) != OK) {
        return refuse(r, status, status == HTTP_REQUEST_ENTITY_TOO_LARGE
                                     ? "the request body is too large"
                                     : "cannot read the request body");
    }
    why = b8_webhook_parse(r->pool, body, len, b8_ctx_setting(ctx, B8_SET_DEFAULT_COUNTRY), &ev);
    if (why) {
        return refuse(r, HTTP_BAD_REQUEST, why);
    }
    if (b8_webhook_store(ctx, &ev, &wake, &err) != B8_OK) {
        /* 8x8 retries a 5xx: nothing is lost. */
        return b8_send_json_error(r, b8_status_of(err.kind), err.message);
    }
    if (wake) {
        b8_worker_wake();
    }
    ok = b8_json_object(r->pool);
    cJSON_AddTrueToObject(ok, "ok");
    return b8_send_json(r, HTTP_OK, ok);
}

/* Every answer counts in blu8x8_webhook_requests_total, refusals too. */
int b8_webhook_handler(request_rec *r)
{
    int rc = webhook(r);
    b8_metrics_webhook(rc == OK || rc == DONE ? r->status : rc);
    return rc;
}
