/* The admin handler: routing, the admin role, CSRF, and turning core
 * results into JSON answers or pages rendered from templates. */
#include "mod_blu8x8_admin.h"

#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"

#include <apr_strings.h>

#include "b8_crypto.h"
#include "b8_once.h"
#include "b8_runtime.h"
#include "b8_settings.h"
#include "b8_tz.h"
#include "b8_users.h"
#include "b8_util.h"

/* ------------------------------------------------------------ rendering */

/* agent: shown to a user with only the sales_agent role. */
static const struct { const char *id, *label, *path; int agent; } nav_items[] = {
    { "dashboard", "Dashboard", "", 0 },
    { "campaigns", "Campaigns", "campaigns", 0 },
    { "contacts", "Contacts", "contacts", 0 },
    { "sms", "SMS", "sms", 0 },
    { "tags", "Tags", "tags", 0 },
    { "suppressions", "Opt-outs", "suppressions", 0 },
    { "conversations", "Conversations", "conversations", 1 },
    { "leads", "Leads", "leads", 1 },
    { "faqs", "FAQ", "faqs", 0 },
    { "settings", "Settings", "settings", 0 },
    { "users", "Users", "users", 0 },
};

/* Times are stored in UTC; pages show them in the time_zone setting's
 * zone, with its abbreviation ("2026-12-07 14:05:09 PST"). */
static void add_local_times(apr_pool_t *p, const b8_tz *tz, cJSON *node)
{
    cJSON *child;
    if (!cJSON_IsObject(node) && !cJSON_IsArray(node)) {
        return;
    }
    for (child = node->child; child; child = child->next) {
        add_local_times(p, tz, child);
    }
    if (cJSON_IsObject(node)) {
        cJSON *extra = NULL;
        for (child = node->child; child; child = child->next) {
            apr_size_t n = child->string ? strlen(child->string) : 0;
            apr_time_t t;
            if (n > 3 && cJSON_IsString(child) && (strcmp(child->string + n - 3, "_at") == 0
                                                   || strcmp(child->string, "last_tick") == 0
                                                   || strcmp(child->string, "last_run") == 0
                                                   || strcmp(child->string, "since") == 0)
                && b8_time_parse(child->valuestring, &t)) {
                if (!extra) {
                    extra = b8_json_object(p);   /* a pool-owned holder, emptied below */
                }
                cJSON_AddStringToObject(extra, apr_pstrcat(p, child->string, "_local", NULL),
                                        b8_tz_format(p, tz, t, 1));
            }
        }
        if (extra) {
            while (extra->child) {
                cJSON *item = cJSON_DetachItemViaPointer(extra, extra->child);
                cJSON_AddItemToObject(node, item->string, item);
            }
        }
    }
}

int b8_render_page(b8_areq *a, int status, const char *tmpl, const char *title,
                       const char *section, cJSON *data)
{
    request_rec *r = a->r;
    const char *content, *page, *err = NULL;
    cJSON *nav, *user;
    const char *notice;
    b8_tz *tz;

    tz = b8_tz_get(r->pool, b8_ctx_setting(a->ctx, B8_SET_TIME_ZONE));
    add_local_times(r->pool, tz, data);
    {
        const char *abbr = NULL;
        b8_tz_offset(tz, apr_time_now(), &abbr);
        cJSON_AddStringToObject(data, "tz_name", b8_ctx_setting(a->ctx, B8_SET_TIME_ZONE));
        cJSON_AddStringToObject(data, "tz_abbr", abbr);
    }
    cJSON_AddStringToObject(data, "base", a->base);
    cJSON_AddStringToObject(data, "csrf", a->csrf ? a->csrf : "");
    cJSON_AddStringToObject(data, "title", title);
    cJSON_AddStringToObject(data, "version", B8_VERSION);
    if (a->user) {
        user = cJSON_AddObjectToObject(data, "me");
        cJSON_AddStringToObject(user, "login", a->user->login);
        cJSON_AddStringToObject(user, "name", a->user->name && *a->user->name ? a->user->name
                                                                            : a->user->login);
    }
    nav = cJSON_AddArrayToObject(data, "nav");
    for (size_t i = 0; i < sizeof(nav_items) / sizeof(nav_items[0]); i++) {
        cJSON *item;
        if (a->user && !a->user->is_admin && !nav_items[i].agent) {
            continue;
        }
        item = cJSON_CreateObject();
        cJSON_AddStringToObject(item, "label", nav_items[i].label);
        cJSON_AddStringToObject(item, "href", apr_pstrcat(r->pool, a->base, nav_items[i].path, NULL));
        cJSON_AddBoolToObject(item, "active", section && strcmp(section, nav_items[i].id) == 0);
        cJSON_AddItemToArray(nav, item);
    }
    notice = a->query ? apr_table_get(a->query, "notice") : NULL;
    if (a->flash) {
        /* A form's result, at the top of the page it landed on. */
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(a->flash, "notice_code");
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(a->flash, "status");
        if (cJSON_IsString(code)) {
            notice = apr_pstrdup(r->pool, code->valuestring);
        }
        if (cJSON_IsNumber(st) && status == HTTP_OK) {
            status = (int)st->valuedouble;
        }
        /* The rest goes to the page as it is (by reference: the flash is
         * pool-owned); what the handler set itself wins. */
        for (const cJSON *item = a->flash->child; item; item = item->next) {
            if (strcmp(item->string, "status") != 0 && strcmp(item->string, "notice_code") != 0
                && !cJSON_GetObjectItemCaseSensitive(data, item->string)) {
                cJSON_AddItemReferenceToObject(data, item->string, (cJSON *)item);
            }
        }
    }
    if (notice) {
        static const struct { const char *code, *text; } notices[] = {
            { "created", "Created." }, { "saved", "Saved." }, { "deleted", "Deleted." },
            { "sending", "Sending started." }, { "queued", "Put in the queue." },
            { "paused", "Paused." }, { "resumed", "Sending resumed." },
            { "cancelled", "Cancelled: recipients not sent yet will not be sent." },
            { "duplicated", "Duplicated into this new Draft." },
            { "requeued", "Put back in the queue." },
            { "unqueued", "Back to Draft: it will not be sent until you send or queue it again." },
            { "moved", "Moved." },
        };
        for (size_t i = 0; i < sizeof(notices) / sizeof(notices[0]); i++) {
            if (strcmp(notice, notices[i].code) == 0 && !cJSON_GetObjectItemCaseSensitive(data,
                                                                                  "notice")) {
                cJSON_AddStringToObject(data, "notice", notices[i].text);
            }
        }
    }
    if (b8_tmpl_render(r->pool, b8_proc.templates, tmpl, data, &content, &err) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "B8-0501: template %s: %s", tmpl, err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    cJSON_AddStringToObject(data, "content", content);
    if (b8_tmpl_render(r->pool, b8_proc.templates, "layout", data, &page, &err) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "B8-0502: template layout: %s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return b8_send_html(r, status, page);
}

int b8_error_page(b8_areq *a, int status, const char *message)
{
    cJSON *data = b8_json_object(a->r->pool);
    cJSON_AddNumberToObject(data, "status", status);
    cJSON_AddStringToObject(data, "message", message);
    return b8_render_page(a, status, "error", apr_psprintf(a->r->pool, "Error %d", status), NULL, data);
}

int b8_api_error(b8_areq *a, const b8_err *err)
{
    return b8_send_json(a->r, b8_status_of(err->kind),
                        b8_json_pool_owned(a->r->pool, b8_err_json(err)));
}

int b8_page_error(b8_areq *a, const b8_err *err)
{
    return b8_error_page(a, b8_status_of(err->kind), err->message ? err->message : "error");
}

#define FLASH_COOKIE "b8_flash"

static void set_flash_cookie(b8_areq *a, const char *value, int max_age)
{
    request_rec *r = a->r;
    /* err_headers_out: kept on the 303 (httpd swaps headers_out for it). */
    apr_table_addn(r->err_headers_out, "Set-Cookie",
                   apr_psprintf(r->pool, FLASH_COOKIE "=%s; Path=%s; Max-Age=%d; HttpOnly; "
                                "SameSite=Lax%s", value, a->base, max_age,
                                strcmp(ap_http_scheme(r), "https") == 0 ? "; Secure" : ""));
}

int b8_redirect(b8_areq *a, const char *where, const char *notice)
{
    cJSON *flash = NULL;
    if (notice) {
        flash = b8_json_object(a->r->pool);
        cJSON_AddStringToObject(flash, "notice_code", notice);
    }
    return b8_redirect_flash(a, where, flash);
}

int b8_redirect_flash(b8_areq *a, const char *where, cJSON *flash)
{
    const char *token = NULL;
    const char *url = apr_pstrcat(a->r->pool, a->base, where, NULL);

    if (flash) {
        /* Without its flash the page still comes: the action happened. */
        if (b8_once_flash_put(a->ctx->db, a->r->pool, a->user ? a->user->login : "", flash, &token)
            == APR_SUCCESS) {
            set_flash_cookie(a, token, B8_FLASH_TTL);
        }
        else {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, a->r, "B8-4701: cannot store a form's "
                          "result for the next page: %s", b8_db_error(a->ctx->db));
        }
    }
    apr_table_setn(a->r->headers_out, "Location", url);
    apr_table_setn(a->r->err_headers_out, "Cache-Control", "no-store");
    return HTTP_SEE_OTHER;
}

int b8_form_refused(b8_areq *a, const char *where, cJSON *form, b8_err *err)
{
    cJSON *flash = b8_json_object(a->r->pool);
    cJSON_AddNumberToObject(flash, "status", b8_status_of(err->kind));
    if (form) {
        cJSON_AddItemReferenceToObject(flash, "form", form);
    }
    if (err->fields) {
        cJSON_AddItemReferenceToObject(flash, "errors", err->fields);
    }
    else if (err->message) {
        cJSON_AddStringToObject(flash, "refusal", err->message);
    }
    return b8_redirect_flash(a, where, flash);
}

cJSON *b8_flash_item(b8_areq *a, const char *key)
{
    return a->flash ? b8_json_pool_owned(a->r->pool,
                                         cJSON_DetachItemFromObjectCaseSensitive(a->flash, key))
                    : NULL;
}

/* The flash cookie's value, if the request has one. */
static const char *flash_cookie(request_rec *r)
{
    const char *all = apr_table_get(r->headers_in, "Cookie");
    char *copy, *last = NULL, *part;

    if (!all) {
        return NULL;
    }
    copy = apr_pstrdup(r->pool, all);
    for (part = apr_strtok(copy, ";", &last); part; part = apr_strtok(NULL, ";", &last)) {
        while (*part == ' ') {
            part++;
        }
        if (strncmp(part, FLASH_COOKIE "=", sizeof(FLASH_COOKIE)) == 0) {
            return part + sizeof(FLASH_COOKIE);
        }
    }
    return NULL;
}

/* A page (GET) takes the last form's result: once, then the cookie goes. */
static void take_flash(b8_areq *a)
{
    const char *token = flash_cookie(a->r);
    if (!token || !*token) {
        return;
    }
    if (b8_once_flash_take(a->ctx->db, a->r->pool, a->user->login, token, &a->flash) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, a->r, "B8-4702: cannot read a form's result: "
                      "%s", b8_db_error(a->ctx->db));
        a->flash = NULL;
    }
    if (a->flash && !cJSON_IsObject(a->flash)) {
        a->flash = NULL;
    }
    set_flash_cookie(a, "", 0);
}

/* ------------------------------------------------------- idempotency keys */

/* The sending API calls, which take an Idempotency-Key header. */
static const char *const idempotent_routes[] = {
    "api/sms", "api/campaigns/:/send", "api/campaigns/:/queue", "api/campaigns/:/test", NULL
};

static int is_idempotent(const b8_route *rt)
{
    if (strcmp(rt->method, "POST") != 0) {
        return 0;
    }
    for (int i = 0; idempotent_routes[i]; i++) {
        if (strcmp(rt->pattern, idempotent_routes[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Runs a sending API call once per Idempotency-Key: the same key and body
 * within a day get the first answer again and send nothing; the key with
 * another body is refused (422); while the first still runs, 409. */
static int run_idempotent(b8_areq *a, const b8_route *rt)
{
    request_rec *r = a->r;
    const char *key = apr_table_get(r->headers_in, "Idempotency-Key");
    const char *scope, *hash, *body = NULL;
    b8_idem_state state;
    int status = 0, rc;

    if (!key) {
        return rt->fn(a);
    }
    if (!*key || strlen(key) > B8_IDEM_KEY_MAX || !b8_utf8_valid(key, strlen(key))) {
        return b8_send_json_error(r, HTTP_BAD_REQUEST, apr_psprintf(r->pool, "the "
                                  "Idempotency-Key header must be 1 to %d characters of text",
                                  B8_IDEM_KEY_MAX));
    }
    scope = apr_pstrcat(r->pool, a->user->login, " ", r->method, " ", a->path, NULL);
    hash = b8_hmac_sha256_hex(r->pool, "b8-idempotency",
                              apr_pstrmemdup(r->pool, a->body ? a->body : "", a->body_len));
    if (b8_once_idem_begin(a->ctx->db, r->pool, scope, key, hash, &state, &status, &body)
        != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "B8-4703: cannot check Idempotency-Key: %s",
                      b8_db_error(a->ctx->db));
        return b8_send_json_error(r, HTTP_INTERNAL_SERVER_ERROR, "database error");
    }
    switch (state) {
    case B8_IDEM_MISMATCH: {
        cJSON *o = b8_json_pool_owned(r->pool, cJSON_CreateObject());
        cJSON_AddStringToObject(o, "error", "this Idempotency-Key was used with another body: "
                                "use a new key for a new request");
        cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "fields"), "Idempotency-Key",
                                "used before with another body");
        return b8_send_json(r, HTTP_UNPROCESSABLE_ENTITY, o);
    }
    case B8_IDEM_BUSY:
        return b8_send_json_error(r, HTTP_CONFLICT, "a request with this Idempotency-Key is "
                                  "still being processed: ask again in a moment");
    case B8_IDEM_REPLAY:
        r->status = status;
        apr_table_setn(r->headers_out, "Idempotent-Replayed", "true");
        ap_set_content_type(r, "application/json; charset=utf-8");
        ap_set_content_length(r, (apr_off_t)strlen(body));
        if (!r->header_only) {
            ap_rputs(body, r);
        }
        return OK;
    case B8_IDEM_NEW:
        break;
    }
    /* The answer is captured as b8_send_json writes it (mod_blu8x8_http.c). */
    apr_table_setn(r->notes, "b8-capture", "1");
    rc = rt->fn(a);
    body = apr_table_get(r->notes, "b8-captured");
    status = rc == OK && body && r->status < 500 ? r->status
           : rc == OK && body && r->status == HTTP_BAD_GATEWAY ? r->status : 0;
    b8_once_idem_finish(a->ctx->db, r->pool, scope, key, status, body);
    return rc;
}

/* A form sends text; an id list ("x_ids[]") holds ids, which the core takes
 * only as JSON numbers. Digits become a number (when exact); anything else
 * stays text, which the core refuses naming the field. */
static cJSON *form_list_item(const char *key, const char *val)
{
    apr_size_t n = strlen(key);
    long v;

    if (n > 4 && strcmp(key + n - 4, "_ids") == 0 && strspn(val, "0123456789") == strlen(val)
        && strlen(val) <= 15 && b8_parse_long(val, &v)) {
        return cJSON_CreateNumber((double)v);
    }
    return cJSON_CreateString(val);
}

/* Form fields -> the JSON object the core takes ("x[]" keys become lists). */
cJSON *b8_form_to_json(apr_pool_t *p, apr_table_t *form)
{
    cJSON *o = b8_json_object(p);
    const apr_array_header_t *arr = apr_table_elts(form);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;

    for (int i = 0; i < arr->nelts; i++) {
        apr_size_t n = strlen(e[i].key);
        if (strcmp(e[i].key, "csrf") == 0) {
            continue;
        }
        if (n > 2 && strcmp(e[i].key + n - 2, "[]") == 0) {
            const char *k = apr_pstrndup(p, e[i].key, n - 2);
            cJSON *list = cJSON_GetObjectItemCaseSensitive(o, k);
            if (!list) {
                list = cJSON_AddArrayToObject(o, k);
            }
            if (*e[i].val) {
                cJSON_AddItemToArray(list, form_list_item(k, e[i].val));
            }
        }
        else if (!cJSON_GetObjectItemCaseSensitive(o, e[i].key)) {
            cJSON_AddStringToObject(o, e[i].key, e[i].val);
        }
    }
    return o;
}

int b8_api_answer(b8_areq *a, b8_errkind kind, b8_err *err, int status, cJSON *body)
{
    if (kind != B8_OK) {
        return b8_api_error(a, err);
    }
    if (!body) {
        a->r->status = HTTP_NO_CONTENT;
        return OK;
    }
    return b8_send_json(a->r, status, body);
}

void b8_paging_from_query(b8_areq *a, b8_paging *pg)
{
    b8_paging_parse(pg, apr_table_get(a->query, "page"), apr_table_get(a->query, "per_page"));
}

/* ------------------------------------------------------------- dashboard */

static int page_dashboard(b8_areq *a)
{
    cJSON *data;
    if (!a->user->is_admin) {
        return b8_redirect(a, "conversations", NULL);   /* a sales agent's home */
    }
    data = b8_json_object(a->r->pool);
    cJSON_AddItemToObject(data, "status",
                          b8_status_json(a->ctx, b8_proc.node, b8_proc.conf->worker));
    cJSON_AddItemToObject(data, "figures", b8_dashboard_json(a->ctx));
    b8_dashboard_results_view(a, data);
    return b8_render_page(a, HTTP_OK, "dashboard", "Dashboard", "dashboard", data);
}

static int api_status(b8_areq *a)
{
    cJSON *s = b8_json_pool_owned(a->r->pool,
                                  b8_status_json(a->ctx, b8_proc.node, b8_proc.conf->worker));
    return b8_send_json(a->r, HTTP_OK, s);
}

/* ---------------------------------------------------------------- routes */

static const b8_route b8_routes_core[] = {
    { "GET", "api/status", api_status, B8_BODY_NONE },
    { NULL, NULL, NULL, 0 }
};

/* A sales agent's home: the dashboard route sends them there. */
static const b8_route b8_routes_agent_home[] = {
    { "GET", "", page_dashboard, B8_BODY_NONE },
    { NULL, NULL, NULL, 0 }
};

/* Every area's routes; an area adds its table here. agent: a user with
 * only the sales_agent role may use the table's routes too. */
static const struct { const b8_route *routes; int agent; } route_tables[] = {
    { b8_routes_agent_home, 1 },
    { b8_routes_core, 0 },
    { b8_routes_users, 0 },
    { b8_routes_contacts, 0 },
    { b8_routes_suppressions, 0 },
    { b8_routes_campaigns, 0 },
    { b8_routes_settings, 0 },
    { b8_routes_ai, 0 },
    { b8_routes_leads, 0 },
    { b8_routes_agent_leads, 1 },
    { b8_routes_inbox, 0 },
    { b8_routes_conversations, 1 },
    { b8_routes_send, 0 },
    { b8_routes_send_pages, 0 },
    { b8_routes_sms, 0 },
    { b8_routes_results, 0 },
    { NULL, 0 }
};

/* Matches "users/:/delete" against "users/12/delete"; ids are digits. */
static int route_matches(const char *pattern, const char *path, const char **params)
{
    int n = 0;
    while (*pattern || *path) {
        if (*pattern == '*') {
            /* A phone: digits with an optional leading '+'. */
            const char *start = path;
            path += *path == '+';
            while (*path >= '0' && *path <= '9') {
                path++;
            }
            if (path - start < 3 || path - start > 20 || n >= B8_MAX_PARAMS) {
                return 0;
            }
            params[n++] = start;
            pattern++;
            continue;
        }
        if (*pattern == ':') {
            const char *start = path;
            while (*path >= '0' && *path <= '9') {
                path++;
            }
            if (path == start || path - start > 18 || n >= B8_MAX_PARAMS) {
                return 0;
            }
            params[n++] = start;
            pattern++;
            continue;
        }
        if (*pattern != *path) {
            return 0;
        }
        pattern++;
        path++;
    }
    return 1;
}

static int is_api(const char *path)
{
    return strncmp(path, "api/", 4) == 0 || strcmp(path, "api") == 0;
}

static int refuse(b8_areq *a, int status, const char *message)
{
    if (is_api(a->path)) {
        return b8_send_json_error(a->r, status, message);
    }
    return b8_error_page(a, status, message);
}

/* The name of the first form field whose value is not valid UTF-8 ("(name)"
 * when a name itself is not), or NULL. A pasted import file ("csv") is
 * exempt: the import reads such a file as Windows-1252. */
static const char *form_invalid_text(apr_table_t *form, int import)
{
    const apr_array_header_t *arr = apr_table_elts(form);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;

    for (int i = 0; i < arr->nelts; i++) {
        const char *k = e[i].key ? e[i].key : "", *v = e[i].val ? e[i].val : "";
        if (!b8_utf8_valid(k, strlen(k))) {
            return "(name)";
        }
        if (import && strcmp(k, "csv") == 0) {
            continue;
        }
        if (!b8_utf8_valid(v, strlen(v))) {
            return k;
        }
    }
    return NULL;
}

/* A state-changing request a browser sent from another site's page (or a
 * sandboxed one: "Origin: null") is refused, whatever its credentials. The
 * request's own origin is its scheme and Host header; the configured public
 * URL counts too (TLS ended at a balancer). No Origin header: a CLI client
 * or an old browser, allowed (HTML forms also carry the CSRF token). */
static int foreign_origin(b8_areq *a)
{
    request_rec *r = a->r;
    const char *origin = apr_table_get(r->headers_in, "Origin"), *given, *own, *pub;

    if (!origin || r->method_number == M_GET || r->method_number == M_OPTIONS) {
        return 0;
    }
    if (!(given = b8_origin_of(r->pool, origin, 1))) {
        return 1;
    }
    own = b8_origin_canon(r->pool, ap_http_scheme(r), apr_table_get(r->headers_in, "Host"));
    if (own && strcmp(given, own) == 0) {
        return 0;
    }
    pub = b8_ctx_setting(a->ctx, B8_SET_PUBLIC_URL);
    if (pub && *pub && (own = b8_origin_of(r->pool, pub, 0)) && strcmp(given, own) == 0) {
        return 0;
    }
    return 1;
}

/* Reads and checks the body the route takes. Returns -1 to go on, or the
 * handler's return value when an answer has been sent. */
static int read_request_body(b8_areq *a, const b8_route *rt)
{
    const char *body, *bad;
    apr_size_t len;
    int rc;
    int import = rt->body == B8_BODY_CSV || rt->body == B8_BODY_FORM_IMPORT;

    if (rt->body == B8_BODY_JSON) {
        if (!b8_content_type_is(a->r, "application/json")) {
            return b8_send_json_error(a->r, HTTP_UNSUPPORTED_MEDIA_TYPE,
                                      "send the body as Content-Type: application/json");
        }
    }
    else if (rt->body == B8_BODY_CSV) {
        if (!b8_content_type_is(a->r, "text/csv")) {
            return b8_send_json_error(a->r, HTTP_UNSUPPORTED_MEDIA_TYPE,
                                      "send the file as Content-Type: text/csv");
        }
    }
    else if (!b8_content_type_is(a->r, "application/x-www-form-urlencoded")) {
        return refuse(a, HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported form encoding");
    }
    if ((rc = b8_read_body(a->r, import ? B8_MAX_IMPORT_BODY : b8_proc.conf->max_body, &body,
                           &len)) != OK) {
        return refuse(a, rc, rc == HTTP_REQUEST_ENTITY_TOO_LARGE ? "the request body is too large"
                                                                 : "cannot read the request body");
    }
    if (rt->body == B8_BODY_CSV) {
        a->body = body;
        a->body_len = len;
        return -1;
    }
    if (rt->body == B8_BODY_JSON) {
        a->body = body;
        a->body_len = len;
        /* cJSON takes any bytes; nothing invalid may be stored or sent. */
        if (!b8_utf8_valid(body, len)) {
            return b8_send_json_error(a->r, HTTP_BAD_REQUEST,
                                      "the body is not valid UTF-8 text (or holds a NUL byte)");
        }
        /* An action without options may come with no body at all. */
        a->json = len == 0 ? b8_json_object(a->r->pool) : b8_json_parse(a->r->pool, body, len);
        if (!a->json) {
            return b8_send_json_error(a->r, HTTP_BAD_REQUEST, "the body is not valid JSON");
        }
        return -1;
    }
    a->form = b8_parse_query(a->r->pool, body);
    if (!b8_secure_equals(apr_table_get(a->form, "csrf"), a->csrf)) {
        return b8_error_page(a, HTTP_FORBIDDEN, "The form has expired or did not come from this "
                          "site (CSRF check failed). Reload the page and try again.");
    }
    if ((bad = form_invalid_text(a->form, rt->body == B8_BODY_FORM_IMPORT)) != NULL) {
        return b8_error_page(a, HTTP_BAD_REQUEST,
                             apr_psprintf(a->r->pool, "The field \"%s\" is not valid UTF-8 text. "
                                          "Go back, fix the text and send it again.", bad));
    }
    return -1;
}

int b8_admin_handler(request_rec *r)
{
    core_dir_config *cd = ap_get_core_module_config(r->per_dir_config);
    b8_areq *a = apr_pcalloc(r->pool, sizeof(*a));
    const b8_route *found = NULL;
    const char *allow = NULL;
    int status = OK, rc, agent_too = 0;

    a->r = r;
    /* The <Location> the handler is mounted at gives the base of every link. */
    a->base = cd && cd->d && cd->d[0] == '/' ? cd->d : "/";
    if (a->base[strlen(a->base) - 1] != '/') {
        a->base = apr_pstrcat(r->pool, a->base, "/", NULL);
    }
    if (strncmp(r->uri, a->base, strlen(a->base)) != 0) {
        return HTTP_NOT_FOUND;
    }
    a->path = r->uri + strlen(a->base);
    a->query = b8_parse_query(r->pool, r->args);

    /* httpd authenticates; the module authorises. */
    if (!r->user) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "B8-0503: no authenticated user: protect "
                      "%s with httpd authentication (AuthType, Require valid-user)", a->base);
        return is_api(a->path) ? b8_send_json_error(r, HTTP_FORBIDDEN, "authentication required")
                               : HTTP_FORBIDDEN;
    }
    if (!(a->ctx = b8_request_ctx(r, &status))) {
        return status;
    }
    if (b8_user_by_login(a->ctx->db, r->pool, r->user, &a->user) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (!a->user || (!a->user->is_admin && !a->user->is_agent)) {
        a->user = NULL;
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "B8-0504: %s is not an administrator", r->user);
        return refuse(a, HTTP_FORBIDDEN, "this login does not have the administrator role");
    }
    if (!(a->csrf = b8_csrf_token(a->ctx->db, a->r->pool, a->user->login))) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (foreign_origin(a)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "B8-4100: %s %s refused: its Origin %s "
                      "is not this site's", r->method, r->uri,
                      ap_escape_logitem(r->pool, apr_table_get(r->headers_in, "Origin")));
        return refuse(a, HTTP_FORBIDDEN, "this request came from another site's page (Origin "
                      "header) and was refused");
    }

    for (int t = 0; route_tables[t].routes && !found; t++) {
        for (const b8_route *rt = route_tables[t].routes; rt->method; rt++) {
            const char *params[B8_MAX_PARAMS] = { NULL };
            if (!route_matches(rt->pattern, a->path, params)) {
                continue;
            }
            allow = allow ? apr_pstrcat(r->pool, allow, ", ", rt->method, NULL) : rt->method;
            if (strcmp(rt->method, r->method) == 0
                || (strcmp(rt->method, "GET") == 0 && r->method_number == M_GET)) {
                found = rt;
                agent_too = route_tables[t].agent;
                for (int k = 0; k < B8_MAX_PARAMS; k++) {
                    a->params[k] = params[k] ? apr_pstrndup(r->pool, params[k],
                                                            strspn(params[k], "+0123456789"))
                                             : NULL;
                }
                break;
            }
        }
    }
    if (!found) {
        if (allow) {
            apr_table_setn(r->headers_out, "Allow", allow);
            return refuse(a, HTTP_METHOD_NOT_ALLOWED, "method not allowed here");
        }
        return refuse(a, HTTP_NOT_FOUND, "no such page");
    }
    if (!a->user->is_admin && !agent_too) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "B8-4803: sales agent %s refused %s %s",
                      r->user, r->method, ap_escape_logitem(r->pool, r->uri));
        return refuse(a, HTTP_FORBIDDEN, "a sales agent may use the conversations and leads only "
                      "(this needs the administrator role)");
    }
    if (found->body != B8_BODY_NONE && (rc = read_request_body(a, found)) != -1) {
        return rc;
    }
    if (is_idempotent(found)) {
        return run_idempotent(a, found);
    }
    /* Pages take the last form's result; exports and HEAD leave it. */
    if (r->method_number == M_GET && !r->header_only && !is_api(a->path)
        && !strstr(a->path, ".csv")) {
        take_flash(a);
    }
    return found->fn(a);
}
