/* Conversations pages and API: the list, one thread with the reply form,
 * assign, resolve, reopen and retry the AI. Sales agents use them too. */
#include "mod_blu8x8_admin.h"

#include <apr_escape.h>
#include <apr_strings.h>

#include "b8_conversations.h"
#include "b8_util.h"

#define LIST_PAGE_SIZE 30

static long thread_limit(b8_areq *a)
{
    long n = 0;
    const char *v = apr_table_get(a->query, "limit");
    return v && b8_parse_long(v, &n) ? n : 0;
}

/* ------------------------------------------------------------------ API */

static int api_list(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    b8_paging pg;
    cJSON *out = NULL;
    b8_errkind kind;

    b8_paging_from_query(a, &pg);
    kind = b8_conversations_list(a->ctx, a->user, apr_table_get(a->query, "status"),
                                 apr_table_get(a->query, "assignee"),
                                 apr_table_get(a->query, "q"), &pg, &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

static int api_get(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    const char *seen = apr_table_get(a->query, "seen");
    b8_errkind kind = b8_conversation_get(a->ctx, a->user, a->params[0], thread_limit(a),
                                          seen && strcmp(seen, "1") == 0, &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

static int api_reply(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_conversation_reply(a->ctx, a->user, a->params[0], a->json, &out, &err);
    if (kind == B8_OK) {
        b8_worker_wake();
    }
    return b8_api_answer(a, kind, &err, HTTP_CREATED, out);
}

static int api_assign(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_conversation_assign(a->ctx, a->user, a->params[0], a->json, &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

static int api_resolve(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_conversation_set_status(a->ctx, a->user, a->params[0], 1, &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

static int api_reopen(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_conversation_set_status(a->ctx, a->user, a->params[0], 0, &out, &err);
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

static int api_retry_ai(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_conversation_retry_ai(a->ctx, a->user, a->params[0], &out, &err);
    if (kind == B8_OK) {
        b8_worker_wake();
    }
    return b8_api_answer(a, kind, &err, HTTP_OK, out);
}

/* ---------------------------------------------------------------- pages */

static cJSON *filter_link(b8_areq *a, const char *label, const char *status,
                          const char *assignee, int active)
{
    apr_pool_t *p = a->r->pool;
    cJSON *f = cJSON_CreateObject();
    const char *pairs = apr_pstrcat(p, "status=", status, assignee && *assignee ? "&" : "",
                                    b8_query_pair(p, "assignee", assignee), NULL);
    cJSON_AddStringToObject(f, "label", label);
    cJSON_AddStringToObject(f, "href", apr_pstrcat(p, a->base, "conversations?", pairs, NULL));
    cJSON_AddBoolToObject(f, "active", active);
    return f;
}

static int page_list(b8_areq *a)
{
    apr_pool_t *p = a->r->pool;
    b8_err err = B8_ERR_INIT(a->r->pool);
    b8_paging pg;
    cJSON *data = NULL, *filters, *who;
    const char *status = apr_table_get(a->query, "status");
    const char *assignee = apr_table_get(a->query, "assignee");
    const char *q = apr_table_get(a->query, "q"), *shown = assignee;

    /* Open ones by default, like an agent's inbox; "all" shows both. */
    if (!status || !*status) {
        status = q && *q ? "all" : "open";
    }
    if (assignee && strcmp(assignee, "me") == 0) {
        assignee = a->user->login;
    }
    b8_paging_parse(&pg, apr_table_get(a->query, "page"), apr_table_get(a->query, "per_page"));
    if (!apr_table_get(a->query, "per_page")) {
        pg.per_page = LIST_PAGE_SIZE;
    }
    if (b8_conversations_list(a->ctx, a->user, strcmp(status, "all") == 0 ? NULL : status,
                              assignee, q, &pg, &data, &err) != B8_OK) {
        return b8_page_error(a, &err);
    }
    shown = shown ? shown : "";
    filters = cJSON_AddArrayToObject(data, "status_filters");
    cJSON_AddItemToArray(filters, filter_link(a, "Open", "open", shown, !strcmp(status, "open")));
    cJSON_AddItemToArray(filters, filter_link(a, "Resolved", "resolved", shown,
                                              !strcmp(status, "resolved")));
    cJSON_AddItemToArray(filters, filter_link(a, "All", "all", shown, !strcmp(status, "all")));
    who = cJSON_AddArrayToObject(data, "assignee_filters");
    cJSON_AddItemToArray(who, filter_link(a, "Mine", status, "me", !strcmp(shown, "me")));
    cJSON_AddItemToArray(who, filter_link(a, "Unassigned", status, "none",
                                          !strcmp(shown, "none")));
    cJSON_AddItemToArray(who, filter_link(a, a->user->is_admin ? "Everyone" : "Mine and unassigned",
                                          status, "", !*shown));
    cJSON_AddStringToObject(data, "q", q ? q : "");
    cJSON_AddStringToObject(data, "status_value", status);
    cJSON_AddStringToObject(data, "assignee_value", shown);
    cJSON_AddItemToObject(data, "pager",
                          b8_pager(a, data, "conversations",
                                   apr_pstrcat(p, "status=", status,
                                               *shown ? "&" : "",
                                               b8_query_pair(p, "assignee", shown),
                                               q && *q ? "&" : "", b8_query_pair(p, "q", q),
                                               NULL)));
    return b8_render_page(a, HTTP_OK, "conversations", "Conversations", "conversations", data);
}

/* The users a conversation may be given to (sales agents, administrators). */
static cJSON *assignees(b8_areq *a, const char *current)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    b8_paging pg = { 1, 1000 };
    cJSON *list = NULL, *out = cJSON_CreateArray(), *u;

    if (b8_users_list(a->ctx, &pg, &list, &err) != B8_OK) {
        return out;
    }
    cJSON_ArrayForEach(u, cJSON_GetObjectItemCaseSensitive(list, "items")) {
        const char *login = b8_json_str(u, "login"), *name = b8_json_str(u, "name");
        cJSON *o;
        if (!cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(u, "roles"))) {
            continue;
        }
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "login", login);
        cJSON_AddStringToObject(o, "name", name && *name ? name : login);
        cJSON_AddBoolToObject(o, "selected", current && strcmp(current, login) == 0);
        cJSON_AddItemToArray(out, o);
    }
    return out;
}

static int conversation_page(b8_areq *a, int status, const char *draft, b8_err *failure)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *data = NULL;

    if (b8_conversation_get(a->ctx, a->user, a->params[0], thread_limit(a), 1, &data, &err)
        != B8_OK) {
        return b8_page_error(a, &err);
    }
    cJSON_AddItemToObject(data, "assignees", assignees(a, b8_json_str(data, "assignee")));
    cJSON_AddBoolToObject(data, "resolved", strcmp(b8_json_str(data, "status"), "resolved") == 0);
    cJSON_AddBoolToObject(data, "mine", b8_json_str(data, "assignee")
                                            && !strcmp(b8_json_str(data, "assignee"),
                                                       a->user->login));
    cJSON_AddStringToObject(data, "me_login", a->user->login);
    if (draft) {
        cJSON_AddStringToObject(data, "draft", draft);
    }
    if (failure) {
        const cJSON *why = failure->fields
                               ? cJSON_GetObjectItemCaseSensitive(failure->fields, "text") : NULL;
        cJSON_AddStringToObject(data, "reply_error",
                                cJSON_IsString(why) ? why->valuestring
                                : failure->message ? failure->message : "not sent");
    }
    return b8_render_page(a, status, "conversation",
                          b8_json_str(data, "name") ? b8_json_str(data, "name")
                          : b8_json_str(data, "phone") ? b8_json_str(data, "phone")
                                                       : "Conversation",
                          "conversations", data);
}

static int page_get(b8_areq *a)
{
    return conversation_page(a, HTTP_OK, NULL, NULL);
}

static const char *back(b8_areq *a)
{
    return apr_pstrcat(a->r->pool, "conversations/", a->params[0], NULL);
}

static int page_reply(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL, *in = b8_form_to_json(a->r->pool, a->form);
    if (b8_conversation_reply(a->ctx, a->user, a->params[0], in, &out, &err) != B8_OK) {
        if (err.kind == B8_EINVALID || err.kind == B8_ESTATE) {
            return conversation_page(a, b8_status_of(err.kind), b8_json_str(in, "text"), &err);
        }
        return b8_page_error(a, &err);
    }
    b8_worker_wake();
    return b8_redirect(a, back(a), NULL);
}

/* The small forms: their outcome is the page again. */
static int page_done(b8_areq *a, b8_errkind kind, b8_err *err, cJSON *out)
{
    if (kind != B8_OK) {
        return b8_page_error(a, err);
    }
    return b8_redirect(a, back(a), NULL);
}

static int page_assign(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL, *in = b8_json_object(a->r->pool);
    const char *login = apr_table_get(a->form, "login");
    if (login && *login) {
        cJSON_AddStringToObject(in, "login", login);
    }
    else {
        cJSON_AddNullToObject(in, "login");
    }
    return page_done(a, b8_conversation_assign(a->ctx, a->user, a->params[0], in, &out, &err),
                     &err, out);
}

static int page_resolve(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    return page_done(a, b8_conversation_set_status(a->ctx, a->user, a->params[0], 1, &out, &err),
                     &err, out);
}

static int page_reopen(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    return page_done(a, b8_conversation_set_status(a->ctx, a->user, a->params[0], 0, &out, &err),
                     &err, out);
}

static int page_retry_ai(b8_areq *a)
{
    b8_err err = B8_ERR_INIT(a->r->pool);
    cJSON *out = NULL;
    b8_errkind kind = b8_conversation_retry_ai(a->ctx, a->user, a->params[0], &out, &err);
    if (kind == B8_OK) {
        b8_worker_wake();
    }
    return page_done(a, kind, &err, out);
}

/* Old links (/inbox?phone=...) land on the conversations, searched (sales
 * agents too). */
static int page_inbox(b8_areq *a)
{
    const char *q = apr_table_get(a->query, "q");
    if (!q || !*q) {
        q = apr_table_get(a->query, "phone");
    }
    apr_table_setn(a->r->headers_out, "Location",
                   apr_pstrcat(a->r->pool, a->base, "conversations",
                               q && *q ? "?q=" : "",
                               q && *q ? apr_pescape_urlencoded(a->r->pool, q) : "", NULL));
    return HTTP_MOVED_PERMANENTLY;
}

const b8_route b8_routes_conversations[] = {
    { "GET", "inbox", page_inbox, B8_BODY_NONE },
    { "GET", "conversations", page_list, B8_BODY_NONE },
    { "GET", "conversations/:", page_get, B8_BODY_NONE },
    { "POST", "conversations/:/reply", page_reply, B8_BODY_FORM },
    { "POST", "conversations/:/assign", page_assign, B8_BODY_FORM },
    { "POST", "conversations/:/resolve", page_resolve, B8_BODY_FORM },
    { "POST", "conversations/:/reopen", page_reopen, B8_BODY_FORM },
    { "POST", "conversations/:/retry-ai", page_retry_ai, B8_BODY_FORM },
    { "GET", "api/conversations", api_list, B8_BODY_NONE },
    { "GET", "api/conversations/:", api_get, B8_BODY_NONE },
    { "POST", "api/conversations/:/messages", api_reply, B8_BODY_JSON },
    { "POST", "api/conversations/:/assign", api_assign, B8_BODY_JSON },
    { "POST", "api/conversations/:/resolve", api_resolve, B8_BODY_JSON },
    { "POST", "api/conversations/:/reopen", api_reopen, B8_BODY_JSON },
    { "POST", "api/conversations/:/retry-ai", api_retry_ai, B8_BODY_JSON },
    { NULL, NULL, NULL, 0 }
};
