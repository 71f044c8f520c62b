/* The admin handler's shared pieces: the request being served, the route
 * tables each area (users, contacts, campaigns, ...) contributes, and the
 * helpers that turn core results into JSON answers or rendered pages. */
#ifndef MOD_BLU8X8_ADMIN_H
#define MOD_BLU8X8_ADMIN_H

#include "mod_blu8x8.h"
#include "b8_users.h"

#define B8_MAX_PARAMS 3

typedef struct {
    request_rec *r;
    b8_ctx *ctx;
    const char *base;                    /* where the handler is mounted, with '/' */
    const char *path;                    /* route path below base */
    const char *params[B8_MAX_PARAMS];   /* the :ids of the route, in order */
    b8_user *user;
    const char *csrf;
    apr_table_t *query;
    apr_table_t *form;                   /* HTML POST fields (CSRF checked) */
    cJSON *json;                         /* API request body */
    const char *body;                    /* raw body for BODY_CSV and BODY_JSON routes */
    apr_size_t body_len;
    cJSON *flash;                        /* the last form's result (GET pages), or NULL */
} b8_areq;

typedef int (*b8_route_fn)(b8_areq *a);

enum {
    B8_BODY_NONE,   /* no body read */
    B8_BODY_FORM,   /* x-www-form-urlencoded HTML form with CSRF token */
    B8_BODY_JSON,   /* API: Content-Type application/json, else 415 */
    B8_BODY_CSV,    /* API import: Content-Type text/csv, else 415; up to B8_MAX_IMPORT_BODY */
    B8_BODY_FORM_IMPORT  /* HTML form with CSRF token holding a pasted file: up to B8_MAX_IMPORT_BODY */
};

/* Imports (CSV bodies, pasted lists) may be larger than Blu8x8MaxBody. */
#define B8_MAX_IMPORT_BODY (32 * 1024 * 1024)

typedef struct {
    const char *method;
    const char *pattern;   /* segments; ":" matches one numeric id */
    b8_route_fn fn;
    int body;
} b8_route;

/* Each area's table ends with { NULL }. */
extern const b8_route b8_routes_users[];
extern const b8_route b8_routes_contacts[];    /* contacts, tags */
extern const b8_route b8_routes_suppressions[]; /* opt-outs by phone */
extern const b8_route b8_routes_campaigns[];   /* campaigns, recipients, sms-count */
extern const b8_route b8_routes_settings[];  /* Settings page, settings API */
extern const b8_route b8_routes_ai[];        /* FAQ */
extern const b8_route b8_routes_leads[];       /* leads.csv (administrators) */
/* The tables a user with only the sales_agent role may use too; every
 * other route needs the administrator role. */
extern const b8_route b8_routes_agent_leads[];   /* leads page and API */
extern const b8_route b8_routes_inbox[];       /* inbound API */
extern const b8_route b8_routes_conversations[];   /* and the old Inbox; sales agents too */
extern const b8_route b8_routes_send[];
extern const b8_route b8_routes_send_pages[];        /* campaign actions, Send Test, progress */
extern const b8_route b8_routes_sms[];         /* SMS composer, log, export */
extern const b8_route b8_routes_results[];     /* issue 19: stats, timeline, days */

/* Renders templates/<tmpl>.html inside the layout; data is pool-owned
 * (b8_json_object(a->r->pool), or a core operation's answer). */
int b8_render_page(b8_areq *a, int status, const char *tmpl, const char *title,
                   const char *section, cJSON *data);
int b8_error_page(b8_areq *a, int status, const char *message);
int b8_page_error(b8_areq *a, const b8_err *err);
/* JSON answer for an API route: the error or body (pool-owned, as every
 * core answer is; NULL answers 204). */
int b8_api_answer(b8_areq *a, b8_errkind kind, b8_err *err, int status, cJSON *body);
int b8_api_error(b8_areq *a, const b8_err *err);
/* Post/redirect/get: every form answers 303 to base + where. notice: a
 * code the landing page shows at its top (created|saved|deleted|...). */
int b8_redirect(b8_areq *a, const char *where, const char *notice);
/* The same with a result the landing page shows once (a flash: a
 * pool-owned object, b8_json_object; add core answers by reference):
 * its keys are added to the page's data ("report", "errors", "form",
 * "refusal", "test", "notice", ...); "status" is the status the landing
 * page answers with (e.g. 422 after a refused form). */
int b8_redirect_flash(b8_areq *a, const char *where, cJSON *flash);
/* A refused form: 303 back to where, whose page shows what was typed
 * ("form", may be NULL) and the field messages ("errors") with status 422. */
int b8_form_refused(b8_areq *a, const char *where, cJSON *form, b8_err *err);
/* The flash's value at key, detached (the page consumes it), or NULL. */
cJSON *b8_flash_item(b8_areq *a, const char *key);
/* Form fields -> JSON object ("x[]" keys become lists; csrf dropped). */
cJSON *b8_form_to_json(apr_pool_t *p, apr_table_t *form);
void b8_paging_from_query(b8_areq *a, b8_paging *pg);
/* List pages (mod_blu8x8_admin_contacts.c): {"page", "pages", "total",
 * "prev", "next"} links for a list envelope, keeping `query` (URL-encoded
 * pairs joined by '&'); "key=value" URL-encoded, "" for an empty value. */
cJSON *b8_pager(b8_areq *a, const cJSON *list, const char *path, const char *query);
const char *b8_query_pair(apr_pool_t *p, const char *key, const char *value);

/* The campaign page (mod_blu8x8_admin_campaigns.c) with an action's
 * refusal or a Send Test answer; the send glue adds its part of the page. */
int b8_campaign_page(b8_areq *a, int status, const char *refusal, cJSON *test);
/* mod_blu8x8_admin_results.c: the campaign page's results (funnel and
 * timeline chart) and the dashboard's charts, added to the page data. */
void b8_campaign_results_view(b8_areq *a, cJSON *data, const char *id);
void b8_dashboard_results_view(b8_areq *a, cJSON *data);
void b8_campaign_send_view(b8_areq *a, cJSON *data, const cJSON *campaign, cJSON *test);

#endif
