/* Campaign actions API: Send Now, Queue, Pause, Resume, Cancel, Duplicate,
 * Retry failed, Requeue unknown, Send Test, and the live progress poll.
 * Thin: the state machine and the 8x8 call are core (b8_campaign_actions.c). */
#include "mod_blu8x8_admin.h"

#include "b8_campaign_actions.h"
#include "b8_campaign_view.h"
#include "b8_util.h"

#include <apr_strings.h>

typedef b8_errkind (*action_fn)(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err);

/* Runs an action; wake: the worker should look at the queue now. */
static int run_action(b8_areq *a, action_fn fn, int status, int wake)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = fn(a->ctx, a->params[0], &out, &err);

    if (kind == B8_OK && wake) {
        b8_worker_wake();
    }
    return b8_api_answer(a, kind, &err, status, out);
}

static int api_send(b8_areq *a)
{
    return run_action(a, b8_campaign_send, HTTP_OK, 1);
}

static int api_queue(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_campaign_queue(a->ctx, a->params[0], a->json, &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

static int api_pause(b8_areq *a)
{
    return run_action(a, b8_campaign_pause, HTTP_OK, 0);
}

static int api_resume(b8_areq *a)
{
    return run_action(a, b8_campaign_resume, HTTP_OK, 1);
}

static int api_cancel(b8_areq *a)
{
    return run_action(a, b8_campaign_cancel, HTTP_OK, 0);
}

static int api_duplicate(b8_areq *a)
{
    return run_action(a, b8_campaign_duplicate, HTTP_CREATED, 0);
}

static int api_retry_failed(b8_areq *a)
{
    return run_action(a, b8_campaign_retry_failed, HTTP_OK, 1);
}

static int api_requeue_unknown(b8_areq *a)
{
    return run_action(a, b8_campaign_requeue_unknown, HTTP_OK, 1);
}

static int api_test(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_campaign_send_test(a->ctx, a->params[0], a->json, &out, &err);

    if (kind == B8_EUPSTREAM && out) {
        /* 8x8's refusal: {"error", "code", "http_status"} as the core made it. */
        return b8_send_json(a->r, HTTP_BAD_GATEWAY, out);
    }
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

static int api_progress(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_campaign_progress(a->ctx, a->params[0], &out, &err);
    if (kind == B8_OK) {
        b8_campaign_add_funnel(out);
    }
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

const b8_route b8_routes_send[] = {
    { "POST", "api/campaigns/:/send", api_send, B8_BODY_JSON },
    { "POST", "api/campaigns/:/queue", api_queue, B8_BODY_JSON },
    { "POST", "api/campaigns/:/pause", api_pause, B8_BODY_JSON },
    { "POST", "api/campaigns/:/resume", api_resume, B8_BODY_JSON },
    { "POST", "api/campaigns/:/cancel", api_cancel, B8_BODY_JSON },
    { "POST", "api/campaigns/:/duplicate", api_duplicate, B8_BODY_JSON },
    { "POST", "api/campaigns/:/retry-failed", api_retry_failed, B8_BODY_JSON },
    { "POST", "api/campaigns/:/requeue-unknown", api_requeue_unknown, B8_BODY_JSON },
    { "POST", "api/campaigns/:/test", api_test, B8_BODY_JSON },
    { "GET", "api/campaigns/:/progress", api_progress, B8_BODY_NONE },
    { NULL, NULL, NULL, 0 }
};

/* ------------------------------------------------------------------ pages */

/* The sending part of the campaign page: allowed actions, live progress
 * with its funnel, the Send Test answer, the default test phone. */
void b8_campaign_send_view(b8_areq *a, cJSON *data, const cJSON *campaign, cJSON *test)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *progress = NULL;
    const cJSON *idv = cJSON_GetObjectItemCaseSensitive(campaign, "id");

    cJSON_AddItemToObject(data, "actions", b8_campaign_allowed_actions(campaign));
    if (cJSON_IsNumber(idv)
        && b8_campaign_progress(a->ctx, apr_psprintf(a->r->pool, "%.0f", idv->valuedouble),
                                &progress, &err) == B8_OK) {
        b8_campaign_add_funnel(progress);
        b8_campaign_add_state_counts(progress);
        cJSON_AddItemReferenceToObject(data, "progress_live", progress);
    }
    if (test) {
        cJSON_AddItemReferenceToObject(data, "test", test);
    }
    if (a->user && a->user->phone) {
        cJSON_AddStringToObject(data, "my_phone", a->user->phone);
    }
}

/* A page action: run it, then back to the campaign page, or the page with
 * the reason when the state does not allow it. */
static int page_action(b8_areq *a, action_fn fn, const char *notice, int wake)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;

    if (fn(a->ctx, a->params[0], &out, &err) != B8_OK) {
        if (err.kind == B8_ENOTFOUND || err.kind == B8_EINTERNAL) {
            return b8_page_error(a, &err);
        }
        return b8_campaign_page(a, b8_status_of(err.kind), err.message, NULL);
    }
    if (wake) {
        b8_worker_wake();
    }
    return b8_redirect(a, apr_pstrcat(a->r->pool, "campaigns/", a->params[0], NULL), notice);
}

static int page_send(b8_areq *a)
{
    return page_action(a, b8_campaign_send, "sending", 1);
}

static int page_pause(b8_areq *a)
{
    return page_action(a, b8_campaign_pause, "paused", 0);
}

static int page_resume(b8_areq *a)
{
    return page_action(a, b8_campaign_resume, "resumed", 1);
}

static int page_cancel(b8_areq *a)
{
    return page_action(a, b8_campaign_cancel, "cancelled", 0);
}

static int page_retry_failed(b8_areq *a)
{
    return page_action(a, b8_campaign_retry_failed, "requeued", 1);
}

static int page_requeue_unknown(b8_areq *a)
{
    return page_action(a, b8_campaign_requeue_unknown, "requeued", 1);
}

static int page_queue(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL, *in = b8_json_object(a->r->pool);
    const char *when = apr_table_get(a->form, "send_at");

    if (when && *when) {
        apr_time_t t;
        if (!b8_time_parse_local(when, &t)) {
            return b8_campaign_page(a, HTTP_UNPROCESSABLE_ENTITY,
                                    "The send-at date and time is not valid.", NULL);
        }
        cJSON_AddStringToObject(in, "send_at", b8_time_iso(a->r->pool, t));
    }
    if (b8_campaign_queue(a->ctx, a->params[0], in, &out, &err) != B8_OK) {
        if (err.kind == B8_ENOTFOUND || err.kind == B8_EINTERNAL) {
            return b8_page_error(a, &err);
        }
        return b8_campaign_page(a, b8_status_of(err.kind), err.message, NULL);
    }
    return b8_redirect(a, apr_pstrcat(a->r->pool, "campaigns/", a->params[0], NULL), "queued");
}

static int page_duplicate(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    const cJSON *id;

    if (b8_campaign_duplicate(a->ctx, a->params[0], &out, &err) != B8_OK) {
        return b8_page_error(a, &err);
    }
    id = cJSON_GetObjectItemCaseSensitive(out, "id");
    return b8_redirect(a, apr_psprintf(a->r->pool, "campaigns/%.0f",
                                       cJSON_IsNumber(id) ? id->valuedouble : 0), "duplicated");
}

static int page_test(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL, *in = b8_json_object(a->r->pool), *test;
    const char *phone = apr_table_get(a->form, "phone");
    b8_errkind kind;

    if (phone && *phone) {
        cJSON_AddStringToObject(in, "phone", phone);
    }
    kind = b8_campaign_send_test(a->ctx, a->params[0], in, &out, &err);
    test = b8_json_object(a->r->pool);
    if (kind == B8_OK) {
        cJSON_AddBoolToObject(test, "ok", 1);
        cJSON_AddItemReferenceToObject(test, "answer", out);
        return b8_campaign_page(a, HTTP_OK, NULL, test);
    }
    if (kind == B8_ENOTFOUND || kind == B8_EINTERNAL) {
        return b8_page_error(a, &err);
    }
    /* 8x8's own words first; else the core's reason. */
    cJSON_AddStringToObject(test, "error", b8_json_str(out, "error") ? b8_json_str(out, "error")
                                           : err.message ? err.message
                                           : "the test message was not sent");
    if (out) {
        cJSON_AddItemReferenceToObject(test, "answer", out);
    }
    if (err.fields) {
        cJSON_AddItemReferenceToObject(test, "fields", err.fields);
    }
    return b8_campaign_page(a, b8_status_of(kind), NULL, test);
}

const b8_route b8_routes_send_pages[] = {
    { "POST", "campaigns/:/send", page_send, B8_BODY_FORM },
    { "POST", "campaigns/:/queue", page_queue, B8_BODY_FORM },
    { "POST", "campaigns/:/pause", page_pause, B8_BODY_FORM },
    { "POST", "campaigns/:/resume", page_resume, B8_BODY_FORM },
    { "POST", "campaigns/:/cancel", page_cancel, B8_BODY_FORM },
    { "POST", "campaigns/:/duplicate", page_duplicate, B8_BODY_FORM },
    { "POST", "campaigns/:/retry-failed", page_retry_failed, B8_BODY_FORM },
    { "POST", "campaigns/:/requeue-unknown", page_requeue_unknown, B8_BODY_FORM },
    { "POST", "campaigns/:/test", page_test, B8_BODY_FORM },
    { NULL, NULL, NULL, 0 }
};
