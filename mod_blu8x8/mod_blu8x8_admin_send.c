/* Campaign actions API: Send Now, Queue, Pause, Resume, Cancel, Duplicate,
 * Retry failed, Requeue unknown, Send Test, and the live progress poll.
 * Thin: the state machine and the 8x8 call are core (b8_campaign_actions.c). */
#include "mod_blu8x8_admin.h"

#include "b8_campaign_actions.h"

typedef b8_errkind (*action_fn)(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err);

/* Runs an action; wake: the worker should look at the queue now. */
static int run_action(b8_areq *a, action_fn fn, int status, int wake)
{
    b8_err err = { 0 };
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
    b8_err err = { 0 };
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
    b8_err err = { 0 };
    cJSON *out = NULL;
    b8_errkind kind = b8_campaign_send_test(a->ctx, a->params[0], a->json, &out, &err);

    if (kind == B8_EUPSTREAM && out) {
        /* 8x8's refusal: {"error", "code", "http_status"} as the core made it. */
        return b8_send_json(a->r, HTTP_BAD_GATEWAY, b8_json_pool_owned(a->r->pool, out));
    }
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

static int api_progress(b8_areq *a)
{
    b8_err err = { 0 };
    cJSON *out = NULL;
    b8_errkind kind = b8_campaign_progress(a->ctx, a->params[0], &out, &err);
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
