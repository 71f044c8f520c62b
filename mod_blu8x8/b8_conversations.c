/* Conversations (issue 18). Texts are returned as stored; the templates
 * and the page's script escape them. */
#include "b8_conversations.h"
#include "b8_campaigns.h"
#include "b8_crypto.h"
#include "b8_log.h"
#include "b8_phone.h"
#include "b8_runtime.h"
#include "b8_settings.h"
#include "b8_util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

/* Viber refuses longer texts (8x8 error 3006 "Too long text"). */
#define REPLY_MAX_CHARS 1000

/* How much of the latest message the list shows. */
#define PREVIEW_CHARS 80

static apr_interval_time_t handoff_span(const b8_settings *s)
{
    double hours = b8_setting_number(s, B8_SET_AI_HANDOFF_HOURS);
    return (apr_interval_time_t)((hours < 0 ? 0 : hours) * 3600.0 * APR_USEC_PER_SEC);
}

/* ------------------------------------------------ writes of other parts */

apr_status_t b8_conv_handoff(b8_db *db, apr_pool_t *p, const b8_settings *s,
                             const char *phone_key, const char **login)
{
    const char *args[] = { phone_key, b8_time_iso(p, apr_time_now() - handoff_span(s)) };
    *login = NULL;
    return b8_db_value(db, p, B8_SQL_CONV_HANDOFF, args, login);
}

apr_status_t b8_conv_touch(b8_db *db, apr_pool_t *p, const char *phone_key, const char *text)
{
    const char *now = b8_now_iso(p);
    const char *args[] = { now, text, now, phone_key };
    return b8_db_exec(db, p, B8_SQL_CONV_TOUCH, args, NULL);
}

/* A system note in the thread ("Claimed by Alma"); never sent. */
static apr_status_t system_note(b8_db *db, apr_pool_t *p, const char *user_id, const char *phone,
                                const char *phone_key, const char *text)
{
    const char *now = b8_now_iso(p), *cmid = b8_uuid4(p);
    const char *args[] = { user_id, phone ? phone : "", phone_key, text, cmid, now, now };
    apr_status_t rv;

    if (!cmid) {
        return APR_EGENERAL;
    }
    if ((rv = b8_db_exec(db, p, B8_SQL_CONV_SYSTEM_INSERT, args, NULL)) != APR_SUCCESS) {
        return rv;
    }
    return b8_conv_touch(db, p, phone_key, text);
}

/* The claimer of the customer's open lead hears of a new message, at most
 * once per interval (the conversation row holds the last note's time). */
static apr_status_t note_claimer(b8_db *db, apr_pool_t *p, const b8_settings *s,
                                 const char *conv_id,
                                 const char *phone_key, const char *customer, int *queued)
{
    const char *largs[] = { phone_key };
    const char *now = b8_now_iso(p), *pub, *text, *cmid, *agent_key;
    b8_rows *lead;
    apr_status_t rv;
    int n = 0;

    if ((rv = b8_db_select(db, p, B8_SQL_LEAD_OPEN_BY_KEY, largs, &lead)) != APR_SUCCESS) {
        return rv;
    }
    /* Open and claimed, by an agent with a phone. */
    if (lead->nrows == 0 || !B8_GET(lead, 0, OPEN_LEAD, claimed_by) || !B8_GET(lead, 0, OPEN_LEAD, phone)
        || !*B8_GET(lead, 0, OPEN_LEAD, phone)) {
        return APR_SUCCESS;
    }
    {
        const char *args[] = { now, conv_id,
                               b8_time_iso(p, apr_time_now() - B8_CONV_NOTE_INTERVAL) };
        if ((rv = b8_db_exec(db, p, B8_SQL_CONV_NOTE_DUE, args, &n)) != APR_SUCCESS || n == 0) {
            return rv;   /* a note went out less than the interval ago */
        }
    }
    pub = b8_setting_str(s, B8_SET_PUBLIC_URL);
    text = apr_pstrcat(p, "New message from ", customer, NULL);
    if (pub && *pub) {
        text = apr_pstrcat(p, text, "\n", pub, "/blu8x8/conversations/", conv_id, NULL);
    }
    agent_key = b8_phone_match_key(p, B8_GET(lead, 0, OPEN_LEAD, phone),
                                   b8_setting_str(s, B8_SET_DEFAULT_COUNTRY));
    if (!(cmid = b8_uuid4(p))) {
        return APR_EGENERAL;
    }
    {
        const char *args[] = { B8_GET(lead, 0, OPEN_LEAD, id), B8_GET(lead, 0, OPEN_LEAD, claimed_by), B8_GET(lead, 0, OPEN_LEAD, phone),
                               agent_key, B8_GET(lead, 0, OPEN_LEAD, name), text, cmid, now, now };
        if ((rv = b8_db_exec(db, p, B8_SQL_CONV_AGENT_NOTE_INSERT, args, NULL)) != APR_SUCCESS) {
            return rv;
        }
    }
    *queued = 1;
    B8_LOG(B8_LOG_INFO, 0, "B8-4800: %s told of a new message in conversation %s (lead %s)",
           B8_GET(lead, 0, OPEN_LEAD, login), conv_id, B8_GET(lead, 0, OPEN_LEAD, id));
    return APR_SUCCESS;
}

apr_status_t b8_conv_inbound(b8_db *db, apr_pool_t *p, const b8_settings *s,
                             const char *phone_key, const char *phone,
                             const char *name, const char *contact_id, const char *inbound_id,
                             const char *ai_state, const char *text, int *queued)
{
    const char *now = b8_now_iso(p), *conv_id = NULL, *customer = NULL;
    apr_status_t rv;

    *queued = 0;
    if (!phone_key) {
        return APR_SUCCESS;
    }
    {
        const char *args[] = { phone_key, phone, name && *name ? name : NULL, contact_id, now,
                               text, now, now, now };
        if ((rv = b8_db_value(db, p, B8_SQL_CONV_UPSERT_INBOUND, args, &conv_id)) != APR_SUCCESS
            || !conv_id) {
            return rv != APR_SUCCESS ? rv : APR_EGENERAL;
        }
    }
    if (ai_state && strcmp(ai_state, "new") == 0) {
        const char *login = NULL;
        if ((rv = b8_conv_handoff(db, p, s, phone_key, &login)) != APR_SUCCESS) {
            return rv;
        }
        if (login) {
            const char *args[] = { apr_pstrcat(p, "handled by ", login, NULL), inbound_id };
            if ((rv = b8_db_exec(db, p, B8_SQL_INBOUND_HANDOFF_SKIP, args, NULL)) != APR_SUCCESS) {
                return rv;
            }
        }
    }
    {
        const char *args[] = { conv_id };
        b8_rows *c;
        if ((rv = b8_db_select(db, p, B8_SQL_CONV_BY_ID, args, &c)) != APR_SUCCESS) {
            return rv;
        }
        if (c->nrows && B8_GET(c, 0, CONV, name) && *B8_GET(c, 0, CONV, name)) {
            customer = B8_GET(c, 0, CONV, name);
        }
    }
    if (!customer) {
        customer = phone ? phone : name ? name : "a customer";
    }
    return note_claimer(db, p, s, conv_id, phone_key, customer, queued);
}

apr_status_t b8_conv_claimed(b8_db *db, apr_pool_t *p, const char *phone_key, const char *phone,
                             const char *user_id, const char *who, const char **conv_id)
{
    const char *now = b8_now_iso(p);
    apr_status_t rv;

    *conv_id = NULL;
    if (!phone_key) {
        return APR_SUCCESS;
    }
    {
        const char *args[] = { phone_key, phone, NULL, NULL, now, now, now };
        const char *kargs[] = { phone_key };
        if ((rv = b8_db_exec(db, p, B8_SQL_CONV_ENSURE, args, NULL)) != APR_SUCCESS
            || (rv = b8_db_value(db, p, B8_SQL_CONV_ID_BY_KEY, kargs, conv_id)) != APR_SUCCESS
            || !*conv_id) {
            return rv != APR_SUCCESS ? rv : APR_EGENERAL;
        }
    }
    {
        const char *aargs[] = { user_id, now, now, *conv_id };
        const char *oargs[] = { now, now, *conv_id };
        if ((rv = b8_db_exec(db, p, B8_SQL_CONV_ASSIGN, aargs, NULL)) != APR_SUCCESS
            || (rv = b8_db_exec(db, p, B8_SQL_CONV_REOPEN, oargs, NULL)) != APR_SUCCESS) {
            return rv;
        }
    }
    return system_note(db, p, user_id, phone, phone_key,
                       apr_pstrcat(p, "Lead claimed by ", who, NULL));
}

/* ------------------------------------------------------------ reading */

static int is_true(const char *v)
{
    return v && strcmp(v, "0") != 0 && strcmp(v, "f") != 0 && strcmp(v, "false") != 0;
}

static int agent_only(const b8_user *viewer)
{
    return viewer && !viewer->is_admin;
}

/* Until when the AI stands back (0: it does not). */
static apr_time_t paused_until(b8_ctx *ctx, const b8_rows *rows, int r)
{
    apr_time_t t;
    if (!B8_GET(rows, r, CONV, assignee_id) || !B8_GET(rows, r, CONV, handoff_at)
        || strcmp(B8_GET(rows, r, CONV, status), "open") != 0
        || !b8_time_parse(B8_GET(rows, r, CONV, handoff_at), &t)) {
        return 0;
    }
    t += handoff_span(ctx->settings);
    return t > apr_time_now() ? t : 0;
}

static cJSON *conv_json(b8_ctx *ctx, const b8_rows *rows, int r)
{
    cJSON *o = cJSON_CreateObject();
    const char *last_in = B8_GET(rows, r, CONV, last_in_at), *seen = B8_GET(rows, r, CONV, seen_at);
    apr_time_t until = paused_until(ctx, rows, r);

    b8_json_add_int(o, "id", B8_GET(rows, r, CONV, id));
    b8_json_add_str(o, "phone", B8_GET(rows, r, CONV, phone));
    b8_json_add_str(o, "name", B8_GET(rows, r, CONV, name));
    b8_json_add_int(o, "contact_id", B8_GET(rows, r, CONV, contact_id));
    b8_json_add_str(o, "status", B8_GET(rows, r, CONV, status));
    b8_json_add_str(o, "assignee", B8_GET(rows, r, CONV, assignee));
    b8_json_add_str(o, "assignee_name", B8_GET(rows, r, CONV, assignee_name)
                                            && *B8_GET(rows, r, CONV, assignee_name)
                                            ? B8_GET(rows, r, CONV, assignee_name)
                                            : B8_GET(rows, r, CONV, assignee));
    b8_json_add_str(o, "last_message_at", B8_GET(rows, r, CONV, last_message_at));
    b8_json_add_int(o, "lead_id", B8_GET(rows, r, CONV, lead_id));
    b8_json_add_str(o, "last_text", B8_GET(rows, r, CONV, last_text)
                                        ? b8_text_cap(ctx->pool, B8_GET(rows, r, CONV, last_text),
                                                      PREVIEW_CHARS)
                                        : NULL);
    /* Unread: a customer message came after the last time anyone opened it. */
    b8_json_add_bool(o, "unread", last_in && (!seen || strcmp(last_in, seen) > 0));
    b8_json_add_bool(o, "opted_out", is_true(B8_GET(rows, r, CONV, opted_out)));
    b8_json_add_bool(o, "ai_paused", until != 0);
    b8_json_add_str(o, "handoff_ends_at", until ? b8_time_iso(ctx->pool, until) : NULL);
    return o;
}

/* "%<digits>%" for a search that looks like (part of) a phone number:
 * national trunk zeros dropped so 0917… finds +63917…; NULL otherwise. */
static const char *phone_pattern(apr_pool_t *p, const char *q)
{
    char *digits = apr_pcalloc(p, strlen(q) + 1), *d = digits;
    const char *start;

    for (const char *c = q; *c; c++) {
        if (isalpha((unsigned char)*c)) {
            return NULL;
        }
        if (isdigit((unsigned char)*c)) {
            *d++ = *c;
        }
    }
    for (start = digits; *start == '0'; start++) {
    }
    return *start ? apr_pstrcat(p, "%", start, "%", NULL) : NULL;
}

/* "%<q>%" in lowercase with LIKE's wildcards escaped (ESCAPE '\'). */
static const char *name_pattern(apr_pool_t *p, const char *q)
{
    char *out = apr_palloc(p, strlen(q) * 2 + 3), *o = out;

    *o++ = '%';
    for (const char *c = q; *c; c++) {
        if (*c == '%' || *c == '_' || *c == '\\') {
            *o++ = '\\';
        }
        *o++ = (char)tolower((unsigned char)*c);
    }
    *o++ = '%';
    *o = '\0';
    return out;
}

b8_errkind b8_conversations_list(b8_ctx *ctx, const b8_user *viewer, const char *status,
                                 const char *assignee, const char *q, const b8_paging *pg,
                                 cJSON **out, b8_err *err)
{
    apr_pool_t *p = ctx->pool;
    const char *limit = apr_ltoa(p, pg->per_page);
    const char *offset = apr_ltoa(p, (pg->page - 1) * pg->per_page);
    const char *assignee_id = NULL, *viewer_id = agent_only(viewer) ? viewer->id : NULL;
    const char *total = NULL;
    b8_rows *rows;
    cJSON *items;
    long n = 0;

    if (status && !*status) {
        status = NULL;
    }
    if (status && strcmp(status, "open") != 0 && strcmp(status, "resolved") != 0) {
        b8_field_error(err, "status", "must be open or resolved");
        return B8_EINVALID;
    }
    if (assignee && *assignee) {
        if (strcmp(assignee, "none") == 0) {
            assignee_id = "0";
        }
        else {
            b8_user *u = NULL;
            if (b8_user_by_login(ctx->db, p, assignee, &u) != APR_SUCCESS) {
                return b8_fail_db(err, ctx->db);
            }
            assignee_id = u ? u->id : "-1";   /* nobody by that login: no rows */
        }
    }
    q = q ? b8_trim(p, q) : "";
    if (*q) {
        const char *ph = phone_pattern(p, q), *nm = name_pattern(p, q);
        const char *cargs[] = { status, status, assignee_id, assignee_id, viewer_id, viewer_id,
                                ph, nm, nm };
        const char *args[] = { status, status, assignee_id, assignee_id, viewer_id, viewer_id,
                               ph, nm, nm, limit, offset };
        if (b8_db_value(ctx->db, p, B8_SQL_CONV_SEARCH_COUNT, cargs, &total) != APR_SUCCESS
            || b8_db_select(ctx->db, p, B8_SQL_CONV_SEARCH_PAGE, args, &rows) != APR_SUCCESS) {
            return b8_fail_db(err, ctx->db);
        }
    }
    else {
        const char *cargs[] = { status, status, assignee_id, assignee_id, viewer_id, viewer_id };
        const char *args[] = { status, status, assignee_id, assignee_id, viewer_id, viewer_id,
                               limit, offset };
        if (b8_db_value(ctx->db, p, B8_SQL_CONV_COUNT, cargs, &total) != APR_SUCCESS
            || b8_db_select(ctx->db, p, B8_SQL_CONV_PAGE, args, &rows) != APR_SUCCESS) {
            return b8_fail_db(err, ctx->db);
        }
    }
    items = cJSON_CreateArray();
    for (int r = 0; r < rows->nrows; r++) {
        cJSON_AddItemToArray(items, conv_json(ctx, rows, r));
    }
    if (total) {
        b8_parse_long(total, &n);
    }
    *out = b8_json_pool_owned(ctx->pool, b8_list_envelope(items, n, pg));
    return B8_OK;
}

/* The conversation row, if the viewer may see it (a sales agent: the
 * unassigned ones and theirs). */
static b8_errkind load(b8_ctx *ctx, const b8_user *viewer, const char *id, b8_rows **rows,
                       b8_err *err)
{
    const char *args[] = { id };
    if (b8_db_select(ctx->db, ctx->pool, B8_SQL_CONV_BY_ID, args, rows) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if ((*rows)->nrows == 0
        || (agent_only(viewer) && B8_GET(*rows, 0, CONV, assignee_id)
            && strcmp(B8_GET(*rows, 0, CONV, assignee_id), viewer->id) != 0)) {
        return b8_fail(err, B8_ENOTFOUND, "no such conversation");
    }
    return B8_OK;
}

/* The stored kind as the API names it. */
static const char *api_kind(const char *kind)
{
    static const struct { const char *stored, *api; } kinds[] = {
        { "inbound", "inbound" }, { "ai_reply", "ai" }, { "agent", "agent" },
        { "campaign", "campaign" }, { "test", "campaign" }, { "sms", "sms" },
        { "system", "system" }, { "confirmation", "system" },
    };
    for (size_t i = 0; kind && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strcmp(kind, kinds[i].stored) == 0) {
            return kinds[i].api;
        }
    }
    return "system";
}

static const char *kind_label(const char *kind)
{
    static const struct { const char *kind, *label; } labels[] = {
        { "inbound", "Customer" }, { "campaign", "Campaign" }, { "test", "Test" },
        { "ai_reply", "AI" }, { "agent", "Agent" }, { "confirmation", "Confirmation" },
        { "sms", "SMS" }, { "system", "Note" },
    };
    for (size_t i = 0; kind && i < sizeof(labels) / sizeof(labels[0]); i++) {
        if (strcmp(kind, labels[i].kind) == 0) {
            return labels[i].label;
        }
    }
    return "Message";
}

static const char *ai_label(const char *state)
{
    static const struct { const char *state, *label; } labels[] = {
        { "new", "AI reply queued" }, { "answering", "AI answering" },
        { "answered", "AI answered" }, { "failed", "AI failed" },
        { "skipped", "AI skipped" }, { "not_answered", "not answered (AI off)" },
    };
    for (size_t i = 0; state && i < sizeof(labels) / sizeof(labels[0]); i++) {
        if (strcmp(state, labels[i].state) == 0) {
            return labels[i].label;
        }
    }
    return state;
}

/* "what" or "what: why". */
static const char *with_reason(apr_pool_t *p, const char *what, const char *why)
{
    return why && *why ? apr_pstrcat(p, what ? what : "", ": ", why, NULL) : what;
}

static cJSON *message_json(apr_pool_t *p, const b8_rows *rows, int r)
{
    cJSON *o = cJSON_CreateObject();
    int in = strcmp(B8_GET(rows, r, CONV_THREAD, dir), "in") == 0;
    const char *kind = B8_GET(rows, r, CONV_THREAD, kind), *text = B8_GET(rows, r, CONV_THREAD, body);
    const char *state = B8_GET(rows, r, CONV_THREAD, state), *author = B8_GET(rows, r, CONV_THREAD, author);
    int note = strcmp(kind, "system") == 0;

    /* A campaign message without its own text shows its campaign's. */
    if (!text && B8_GET(rows, r, CONV_THREAD, campaign_body)) {
        text = b8_campaign_expand(p, B8_GET(rows, r, CONV_THREAD, campaign_body),
                                  B8_GET(rows, r, CONV_THREAD, name), B8_GET(rows, r, CONV_THREAD, phone));
    }
    if (strcmp(kind, "ai_reply") == 0) {
        author = "AI";
    }
    else if (strcmp(kind, "campaign") == 0 || strcmp(kind, "test") == 0) {
        author = B8_GET(rows, r, CONV_THREAD, campaign);
    }
    b8_json_add_int(o, "id", B8_GET(rows, r, CONV_THREAD, id));
    b8_json_add_str(o, "direction", in ? "in" : "out");
    b8_json_add_str(o, "kind", api_kind(kind));
    b8_json_add_str(o, "kind_label", kind_label(kind));
    b8_json_add_str(o, "text", text);
    b8_json_add_str(o, "at", B8_GET(rows, r, CONV_THREAD, at));
    b8_json_add_str(o, "state", in || note ? NULL : state);
    b8_json_add_str(o, "author", author);
    b8_json_add_str(o, "channel", B8_GET(rows, r, CONV_THREAD, channel));
    if (in) {
        b8_json_add_str(o, "type", B8_GET(rows, r, CONV_THREAD, type));
        b8_json_add_str(o, "ai_state", B8_GET(rows, r, CONV_THREAD, ai_state));
        b8_json_add_str(o, "ai_error", B8_GET(rows, r, CONV_THREAD, ai_error));
        b8_json_add_str(o, "status_text", with_reason(p, ai_label(B8_GET(rows, r, CONV_THREAD, ai_state)),
                                                      B8_GET(rows, r, CONV_THREAD, ai_error)));
        b8_json_add_bool(o, "not_text", B8_GET(rows, r, CONV_THREAD, type)
                                            && strcmp(B8_GET(rows, r, CONV_THREAD, type), "text") != 0);
    }
    else if (!note) {
        b8_json_add_str(o, "error_message", B8_GET(rows, r, CONV_THREAD, error_message));
        b8_json_add_bool(o, "failed", state && (strcmp(state, "failed") == 0
                                                || strcmp(state, "undelivered") == 0));
        b8_json_add_str(o, "status_text", with_reason(p, state, B8_GET(rows, r, CONV_THREAD, error_message)));
    }
    return o;
}

b8_errkind b8_conversation_get(b8_ctx *ctx, const b8_user *viewer, const char *id, long limit,
                               int seen, cJSON **out, b8_err *err)
{
    apr_pool_t *p = ctx->pool;
    b8_rows *rows, *thread;
    b8_errkind kind;
    cJSON *conv, *messages;
    int failed = 0;

    if ((kind = load(ctx, viewer, id, &rows, err)) != B8_OK) {
        return kind;
    }
    if (limit < 1 || limit > B8_CONV_THREAD_MAX) {
        limit = B8_CONV_THREAD_DEFAULT;
    }
    {
        /* One more than shown: whether older ones exist. */
        const char *key = B8_GET(rows, 0, CONV, phone_key);
        const char *args[] = { key, key, apr_ltoa(p, limit + 1) };
        if (b8_db_select(ctx->db, p, B8_SQL_CONV_THREAD, args, &thread) != APR_SUCCESS) {
            return b8_fail_db(err, ctx->db);
        }
    }
    if (seen) {
        const char *args[] = { b8_now_iso(p), id };
        if (b8_db_exec(ctx->db, p, B8_SQL_CONV_SEEN, args, NULL) != APR_SUCCESS) {
            return b8_fail_db(err, ctx->db);
        }
    }
    conv = conv_json(ctx, rows, 0);
    messages = cJSON_AddArrayToObject(conv, "messages");
    /* Rows come newest first; a chat reads oldest first. */
    for (int r = (thread->nrows > limit ? (int)limit : thread->nrows) - 1; r >= 0; r--) {
        const char *ai = B8_GET(thread, r, CONV_THREAD, ai_state);
        cJSON_AddItemToArray(messages, message_json(p, thread, r));
        failed |= ai && strcmp(ai, "failed") == 0;
    }
    b8_json_add_bool(conv, "more", thread->nrows > limit);
    b8_json_add_bool(conv, "ai_failed", failed);
    /* Viber replies need a phone number and a customer who did not opt out. */
    b8_json_add_bool(conv, "can_reply", B8_GET(rows, 0, CONV, phone)
                                            && !is_true(B8_GET(rows, 0, CONV, opted_out)));
    *out = b8_json_pool_owned(p, conv);
    return B8_OK;
}

/* ------------------------------------------------------------ changes */

static b8_errkind answer_conv(b8_ctx *ctx, const b8_user *viewer, const char *id, cJSON **out,
                              b8_err *err)
{
    b8_rows *rows;
    const char *args[] = { id };
    (void)viewer;
    if (b8_db_select(ctx->db, ctx->pool, B8_SQL_CONV_BY_ID, args, &rows) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if (rows->nrows == 0) {
        return b8_fail(err, B8_ENOTFOUND, "no such conversation");
    }
    *out = b8_json_pool_owned(ctx->pool, conv_json(ctx, rows, 0));
    return B8_OK;
}

static b8_errkind fail_rollback(b8_ctx *ctx, b8_err *err)
{
    b8_errkind k = b8_fail_db(err, ctx->db);
    b8_db_rollback(ctx->db);
    return k;
}

b8_errkind b8_conversation_reply(b8_ctx *ctx, const b8_user *viewer, const char *id,
                                 const cJSON *in, cJSON **out, b8_err *err)
{
    apr_pool_t *p = ctx->pool;
    const char *text = b8_json_str(in, "text"), *now = b8_now_iso(p), *cmid = b8_uuid4(p);
    const char *msg_id = NULL;
    b8_rows *rows, *msg;
    b8_errkind kind;

    if ((kind = load(ctx, viewer, id, &rows, err)) != B8_OK) {
        return kind;
    }
    text = text ? b8_trim(p, text) : "";
    if (!*text) {
        b8_field_error(err, "text", "write the message");
        return B8_EINVALID;
    }
    if (b8_utf8_length(text) > REPLY_MAX_CHARS) {
        b8_field_error(err, "text", "at most 1,000 characters (Viber's limit)");
        return B8_EINVALID;
    }
    if (!B8_GET(rows, 0, CONV, phone)) {
        b8_field_error(err, "text", "this sender has no phone number: Viber replies need one");
        return B8_EINVALID;
    }
    if (is_true(B8_GET(rows, 0, CONV, opted_out))) {
        err->state = "opted_out";
        return b8_fail(err, B8_ESTATE, "the customer opted out (STOP): no message is sent");
    }
    if (!cmid || b8_db_begin(ctx->db) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    {
        /* Committed 'pending' here; the direct lane marks it 'sending'
         * (committed) before the request, like every send. */
        const char *args[] = { viewer->id, B8_GET(rows, 0, CONV, contact_id), B8_GET(rows, 0, CONV, phone),
                               B8_GET(rows, 0, CONV, phone_key), B8_GET(rows, 0, CONV, name), text, cmid,
                               now, now };
        const char *aargs[] = { viewer->id, now, now, id };
        const char *rargs[] = { now, text, now, now, id };
        if (b8_db_value(ctx->db, p, B8_SQL_CONV_AGENT_INSERT, args, &msg_id) != APR_SUCCESS
            || !msg_id
            || b8_db_exec(ctx->db, p, B8_SQL_CONV_ASSIGN_IF_FREE, aargs, NULL) != APR_SUCCESS
            || b8_db_exec(ctx->db, p, B8_SQL_CONV_AGENT_REPLIED, rargs, NULL) != APR_SUCCESS) {
            return fail_rollback(ctx, err);
        }
    }
    if (b8_db_commit(ctx->db) != APR_SUCCESS) {
        return fail_rollback(ctx, err);
    }
    B8_LOG(B8_LOG_INFO, 0, "B8-4801: %s replied in conversation %s (message %s)", viewer->login,
           id, msg_id);
    {
        const char *args[] = { msg_id };
        if (b8_db_select(ctx->db, p, B8_SQL_CONV_MESSAGE_BY_ID, args, &msg) != APR_SUCCESS
            || msg->nrows == 0) {
            return b8_fail_db(err, ctx->db);
        }
    }
    *out = b8_json_object(p);
    b8_json_add_int(*out, "id", B8_GET(msg, 0, CONV_MESSAGE, id));
    b8_json_add_str(*out, "direction", "out");
    b8_json_add_str(*out, "kind", "agent");
    b8_json_add_str(*out, "text", B8_GET(msg, 0, CONV_MESSAGE, body));
    b8_json_add_str(*out, "at", B8_GET(msg, 0, CONV_MESSAGE, created_at));
    b8_json_add_str(*out, "state", B8_GET(msg, 0, CONV_MESSAGE, state));
    b8_json_add_str(*out, "author", B8_GET(msg, 0, CONV_MESSAGE, login));
    b8_json_add_int(*out, "conversation_id", id);
    return B8_OK;
}

b8_errkind b8_conversation_assign(b8_ctx *ctx, const b8_user *viewer, const char *id,
                                  const cJSON *in, cJSON **out, b8_err *err)
{
    apr_pool_t *p = ctx->pool;
    const cJSON *login = cJSON_GetObjectItemCaseSensitive(in, "login");
    const char *now = b8_now_iso(p), *note;
    b8_user *to = NULL;
    b8_rows *rows;
    b8_errkind kind;

    if ((kind = load(ctx, viewer, id, &rows, err)) != B8_OK) {
        return kind;
    }
    if (!login || (!cJSON_IsNull(login) && !cJSON_IsString(login))) {
        b8_field_error(err, "login", "give a user's login, or null to unassign");
        return B8_EINVALID;
    }
    if (cJSON_IsString(login) && *login->valuestring) {
        if (b8_user_by_login(ctx->db, p, login->valuestring, &to) != APR_SUCCESS) {
            return b8_fail_db(err, ctx->db);
        }
        if (!to || (!to->is_agent && !to->is_admin)) {
            b8_field_error(err, "login", "no sales agent or administrator has this login");
            return B8_EINVALID;
        }
    }
    note = to ? apr_pstrcat(p, "Assigned to ", to->name && *to->name ? to->name : to->login,
                            " by ", viewer->login, NULL)
              : apr_pstrcat(p, "Unassigned by ", viewer->login, NULL);
    if (b8_db_begin(ctx->db) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    {
        /* A new assignee takes over now: the handoff clock starts. */
        const char *args[] = { to ? to->id : NULL, to ? now : NULL, now, id };
        if (b8_db_exec(ctx->db, p, B8_SQL_CONV_ASSIGN, args, NULL) != APR_SUCCESS
            || system_note(ctx->db, p, viewer->id, B8_GET(rows, 0, CONV, phone),
                           B8_GET(rows, 0, CONV, phone_key), note) != APR_SUCCESS
            || b8_db_commit(ctx->db) != APR_SUCCESS) {
            return fail_rollback(ctx, err);
        }
    }
    return answer_conv(ctx, viewer, id, out, err);
}

b8_errkind b8_conversation_set_status(b8_ctx *ctx, const b8_user *viewer, const char *id,
                                      int resolve, cJSON **out, b8_err *err)
{
    apr_pool_t *p = ctx->pool;
    const char *now = b8_now_iso(p);
    b8_rows *rows;
    b8_errkind kind;

    if ((kind = load(ctx, viewer, id, &rows, err)) != B8_OK) {
        return kind;
    }
    if (b8_db_begin(ctx->db) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    {
        const char *rargs[] = { now, id };
        const char *oargs[] = { now, now, id };
        if (b8_db_exec(ctx->db, p, resolve ? B8_SQL_CONV_RESOLVE : B8_SQL_CONV_REOPEN,
                       resolve ? rargs : oargs, NULL) != APR_SUCCESS
            || system_note(ctx->db, p, viewer->id, B8_GET(rows, 0, CONV, phone),
                           B8_GET(rows, 0, CONV, phone_key),
                           apr_pstrcat(p, resolve ? "Resolved by " : "Reopened by ",
                                       viewer->login, NULL)) != APR_SUCCESS
            || b8_db_commit(ctx->db) != APR_SUCCESS) {
            return fail_rollback(ctx, err);
        }
    }
    return answer_conv(ctx, viewer, id, out, err);
}

b8_errkind b8_conversation_retry_ai(b8_ctx *ctx, const b8_user *viewer, const char *id,
                                    cJSON **out, b8_err *err)
{
    b8_rows *rows;
    b8_errkind kind;
    int n = 0;

    if ((kind = load(ctx, viewer, id, &rows, err)) != B8_OK) {
        return kind;
    }
    {
        const char *args[] = { B8_GET(rows, 0, CONV, phone_key) };
        if (b8_db_exec(ctx->db, ctx->pool, B8_SQL_CONV_RETRY_AI, args, &n) != APR_SUCCESS) {
            return b8_fail_db(err, ctx->db);
        }
    }
    if (n == 0) {
        err->state = "none_failed";
        return b8_fail(err, B8_ESTATE, "no failed AI answer to retry in this conversation");
    }
    B8_LOG(B8_LOG_INFO, 0, "B8-4802: %s asked the AI again for %d message(s) of conversation %s",
           viewer->login, n, id);
    *out = b8_json_object(ctx->pool);
    cJSON_AddNumberToObject(*out, "retried", n);
    return B8_OK;
}

b8_errkind b8_inbound_retry_ai(b8_ctx *ctx, const char *inbound_id, b8_err *err)
{
    const char *args[] = { inbound_id };
    int n = 0;
    if (b8_db_exec(ctx->db, ctx->pool, B8_SQL_CONV_RETRY_AI_ONE, args, &n) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if (n == 0) {
        err->state = "not_failed";
        return b8_fail(err, B8_ESTATE, "this message has no failed AI answer");
    }
    return B8_OK;
}
