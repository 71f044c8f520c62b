#include "b8_ai_lane.h"
#include "b8_conversations.h"
#include "b8_core.h"
#include "b8_crypto.h"
#include "b8_faqs.h"
#include "b8_leads.h"
#include "b8_log.h"
#include "b8_openai.h"
#include "b8_runtime.h"
#include "b8_settings.h"
#include "b8_util.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

/* One claimed group: the texts one phone sent within the quiet window. */
typedef struct {
    const char *token;
    b8_rows *rows;          /* id, phone, body, name, attempts, intent, contact_id, opted_out */
    const char *phone_key;
    const char *joined;     /* the texts, one per line */
    int attempts;
} ai_group;

typedef struct {
    apr_pool_t *p;
    const b8_ai_lane_env *env;
    b8_db *db;
    const b8_settings *s;
    apr_time_t now;
    apr_interval_time_t timeout;
} lane;

static const char *setting(const lane *l, b8_setting_id id)
{
    return b8_setting_str(l->s, id);
}

static apr_interval_time_t seconds_setting(const lane *l, b8_setting_id id, double min)
{
    double v = b8_setting_number(l->s, id);
    return (apr_interval_time_t)((v < min ? min : v) * APR_USEC_PER_SEC);
}

/* Ends the group in a final state (answered is set elsewhere). */
static void end_group(lane *l, const ai_group *g, const char *state, const char *why)
{
    const char *args[] = { state, why, g->token };
    if (b8_db_exec(l->db, l->p, B8_SQL_AI_END, args, NULL) != APR_SUCCESS) {
        B8_LOG(B8_LOG_ERR, 0, "B8-0701: cannot record the AI outcome: %s", b8_db_error(l->db));
    }
    if (strcmp(state, "failed") == 0) {
        B8_LOG(B8_LOG_WARNING, 0, "B8-0702: AI reply to inbound %s failed: %s",
               B8_GET(g->rows, 0, AI_CLAIMED, id), why);
    }
}

/* A failure that may pass: back to 'new' with a backoff, or failed for good
 * after B8_AI_MAX_ATTEMPTS. */
static void retry_or_fail(lane *l, const ai_group *g, const b8_ai_result *res)
{
    apr_interval_time_t wait;
    const char *args[3];

    if (g->attempts >= B8_AI_MAX_ATTEMPTS) {
        end_group(l, g, "failed", apr_psprintf(l->p, "%s (gave up after %d attempts)", res->error,
                                               g->attempts));
        return;
    }
    wait = res->retry_in ? res->retry_in : apr_time_from_sec(1 << (g->attempts - 1));
    /* From the answer, not from the step's start: the wait asked for is a
     * minimum (plus the millisecond the stored time may drop). */
    args[0] = b8_time_iso(l->p, apr_time_now() + wait + apr_time_from_msec(1));
    args[1] = res->error;
    args[2] = g->token;
    if (b8_db_exec(l->db, l->p, B8_SQL_AI_RETRY_LATER, args, NULL) != APR_SUCCESS) {
        B8_LOG(B8_LOG_ERR, 0, "B8-0703: cannot schedule the AI retry: %s", b8_db_error(l->db));
    }
    B8_LOG(B8_LOG_INFO, 0, "B8-0704: AI call for inbound %s will be retried: %s",
           B8_GET(g->rows, 0, AI_CLAIMED, id), res->error);
}

static void call_openai(lane *l, const cJSON *body, b8_ai_result *res)
{
    b8_openai_call(l->p, setting(l, B8_SET_OPENAI_URL), setting(l, B8_SET_OPENAI_KEY), l->timeout,
                   body, res);
}

/* Da Vinci: the intent question; on Yes the lead and its pings, in one
 * transaction guarded by the claim. Returns 0 when the group is done with
 * (retry scheduled, failed, or lost to another worker). */
static int ask_intent(lane *l, const ai_group *g)
{
    b8_ai_result res;
    cJSON *body = b8_json_pool_owned(l->p, b8_openai_intent_request(setting(l, B8_SET_OPENAI_MODEL),
                                                                    g->joined));
    const char *lead_id = NULL, *first_id = B8_GET(g->rows, 0, AI_CLAIMED, id);
    int pinged = 0, n = 0, yes;

    call_openai(l, body, &res);
    if (res.verdict == B8_AI_RETRY && g->attempts < B8_AI_MAX_ATTEMPTS) {
        retry_or_fail(l, g, &res);
        return 0;
    }
    if (res.verdict == B8_AI_BAD_KEY || res.verdict == B8_AI_QUOTA) {
        end_group(l, g, "failed", res.error);
        return 0;
    }
    if (res.verdict != B8_AI_OK) {
        /* Recorded; the customer still gets the reply. */
        const char *args[] = { apr_pstrcat(l->p, "error: ", res.error, NULL), g->token };
        b8_db_exec(l->db, l->p, B8_SQL_AI_SET_INTENT, args, NULL);
        return 1;
    }
    yes = b8_openai_answer_is_yes(res.content);
    if (b8_db_begin(l->db) != APR_SUCCESS) {
        return 0;
    }
    {
        const char *args[] = { yes ? "yes" : "no", g->token };
        if (b8_db_exec(l->db, l->p, B8_SQL_AI_SET_INTENT, args, &n) != APR_SUCCESS || n == 0
            || (yes && b8_lead_create(l->db, l->p, first_id, g->joined,
                                      B8_GET(g->rows, 0, AI_CLAIMED, phone),
                                      setting(l, B8_SET_DEFAULT_COUNTRY),
                                      setting(l, B8_SET_PUBLIC_URL),
                                      &lead_id, &pinged) != APR_SUCCESS)
            || b8_db_commit(l->db) != APR_SUCCESS) {
            b8_db_rollback(l->db);
            return 0;
        }
    }
    if (yes) {
        B8_LOG(B8_LOG_INFO, 0, "B8-0705: inbound %s shows interest: lead %s, %d agent(s) pinged",
               first_id, lead_id, pinged);
        if (pinged && l->env->wake_senders) {
            l->env->wake_senders(l->env->baton);
        }
    }
    return 1;
}

/* The last few turns with this phone before the group, oldest first. */
static apr_array_header_t *history(lane *l, const ai_group *g)
{
    apr_array_header_t *turns = apr_array_make(l->p, B8_AI_HISTORY_TURNS, sizeof(b8_chat_turn));
    b8_rows *rows;
    const char *args[] = { g->phone_key, B8_GET(g->rows, 0, AI_CLAIMED, id), g->phone_key,
                           b8_time_iso(l->p, l->now), apr_itoa(l->p, B8_AI_HISTORY_TURNS) };

    if (b8_db_select(l->db, l->p, B8_SQL_AI_HISTORY, args, &rows) != APR_SUCCESS) {
        return turns;
    }
    for (int i = rows->nrows - 1; i >= 0; i--) {
        b8_chat_turn *t = apr_array_push(turns);
        t->from_customer = B8_GET_IS(rows, i, AI_TURN, who, "1");
        t->text = B8_GET(rows, i, AI_TURN, body);
    }
    return turns;
}

static void answer(lane *l, const ai_group *g)
{
    b8_ai_result res;
    const char *system = NULL, *reply_id = NULL;
    const b8_rows *r = g->rows;
    int last = r->nrows - 1, n = 0;
    cJSON *body;

    if (b8_ai_system_prompt(l->db, l->p, setting(l, B8_SET_AI_PERSONA), &system) != APR_SUCCESS) {
        return;
    }
    body = b8_json_pool_owned(l->p, b8_openai_chat_request(
                                        setting(l, B8_SET_OPENAI_MODEL),
                                        b8_setting_int(l->s, B8_SET_OPENAI_MAX_TOKENS),
                                        system, history(l, g), g->joined));
    call_openai(l, body, &res);
    if (res.verdict == B8_AI_RETRY) {
        retry_or_fail(l, g, &res);
        return;
    }
    if (res.verdict != B8_AI_OK) {
        end_group(l, g, "failed", res.error);
        return;
    }
    /* Viber refuses longer texts (8x8 error 3006 "Too long text"). */
    res.content = b8_text_cap(l->p, res.content, B8_AI_REPLY_MAX_CHARS);
    /* The reply row and "answered" commit together, and only while the
     * claim is still ours: a reply is made once whatever happens. */
    if (b8_db_begin(l->db) != APR_SUCCESS) {
        return;
    }
    {
        const char *now = b8_time_iso(l->p, apr_time_now());
        const char *ins[] = { B8_GET(r, last, AI_CLAIMED, id),
                              B8_GET(r, last, AI_CLAIMED, contact_id),
                              B8_GET(r, last, AI_CLAIMED, phone), g->phone_key,
                              B8_GET(r, last, AI_CLAIMED, name), res.content, b8_uuid4(l->p),
                              now, now };
        if (!ins[6] || b8_db_value(l->db, l->p, B8_SQL_AI_REPLY_INSERT, ins, &reply_id) != APR_SUCCESS
            || !reply_id) {
            b8_db_rollback(l->db);
            return;
        }
    }
    {
        const char *upd[] = { reply_id, g->token };
        if (b8_db_exec(l->db, l->p, B8_SQL_AI_ANSWERED, upd, &n) != APR_SUCCESS || n == 0
            || b8_conv_touch(l->db, l->p, g->phone_key, res.content) != APR_SUCCESS
            || b8_db_commit(l->db) != APR_SUCCESS) {
            b8_db_rollback(l->db);
            return;
        }
    }
    B8_LOG(B8_LOG_INFO, 0, "B8-0706: AI reply %s made for %d inbound message(s)", reply_id,
           r->nrows);
    if (l->env->wake_senders) {
        l->env->wake_senders(l->env->baton);
    }
}

static int claim_group(lane *l, const char *phone_key, ai_group *g)
{
    const char *now = b8_time_iso(l->p, l->now);
    int n = 0;
    apr_array_header_t *texts;

    g->token = b8_uuid4(l->p);
    g->phone_key = phone_key;
    if (!g->token) {
        return 0;
    }
    {
        const char *args[] = { g->token, now, phone_key, now };
        if (b8_db_exec(l->db, l->p, B8_SQL_AI_CLAIM, args, &n) != APR_SUCCESS || n == 0) {
            return 0;   /* another worker was faster */
        }
    }
    {
        const char *args[] = { g->token };
        if (b8_db_select(l->db, l->p, B8_SQL_AI_CLAIMED, args, &g->rows) != APR_SUCCESS
            || g->rows->nrows == 0) {
            return 0;
        }
    }
    texts = apr_array_make(l->p, g->rows->nrows, sizeof(const char *));
    g->attempts = 0;
    for (int i = 0; i < g->rows->nrows; i++) {
        int a = atoi(B8_GET_OR(g->rows, i, AI_CLAIMED, ai_attempts, "0"));
        APR_ARRAY_PUSH(texts, const char *) = B8_GET_OR(g->rows, i, AI_CLAIMED, body, "");
        if (a > g->attempts) {
            g->attempts = a;
        }
    }
    g->joined = b8_join_array(l->p, texts, "\n");
    return 1;
}

/* When the next group may become due: the earliest retry time (exactly:
 * a retry-after-ms is honoured to the millisecond), or the oldest new
 * text's arrival plus the quiet window. */
static apr_time_t next_due(lane *l, apr_interval_time_t quiet)
{
    b8_rows *rows;
    apr_time_t t, due = 0;

    if (b8_db_select(l->db, l->p, B8_SQL_AI_NEXT_DUE, NULL, &rows) != APR_SUCCESS
        || rows->nrows == 0) {
        return 0;
    }
    if (B8_GET(rows, 0, AI_DUE, next_at) && b8_time_parse(B8_GET(rows, 0, AI_DUE, next_at), &t)) {
        due = t;
    }
    if (B8_GET(rows, 0, AI_DUE, waiting_since)
        && b8_time_parse(B8_GET(rows, 0, AI_DUE, waiting_since), &t)
        && (due == 0 || t + quiet < due)) {
        due = t + quiet;
    }
    return due;
}

int b8_ai_lane_step(apr_pool_t *p, const b8_ai_lane_env *env, apr_time_t *next_at)
{
    lane l;
    ai_group g;
    apr_interval_time_t quiet;
    const char *phone_key = NULL;

    *next_at = 0;
    memset(&l, 0, sizeof(l));
    l.p = p;
    l.env = env;
    if (b8_db_get(env->store, p, &l.db) != APR_SUCCESS
        || b8_settings_cache_get(env->settings, l.db, p, &l.s) != APR_SUCCESS) {
        return 0;
    }
    if (!b8_setting_bool(l.s, B8_SET_AI_RESPOND)) {
        /* Texts that waited while the switch went off are not answered later
         * by surprise. */
        b8_db_exec(l.db, p, B8_SQL_AI_SWITCHED_OFF, NULL, NULL);
        return 0;
    }
    l.now = apr_time_now();
    l.timeout = seconds_setting(&l, B8_SET_OPENAI_TIMEOUT, 1.0);
    quiet = seconds_setting(&l, B8_SET_AI_QUIET_WINDOW, 0.0);
    {
        /* A claim older than two timeouts belongs to a worker that died. */
        const char *args[] = { b8_time_iso(p, l.now - 2 * l.timeout - apr_time_from_sec(5)) };
        b8_db_exec(l.db, p, B8_SQL_AI_RELEASE_STALE, args, NULL);
    }
    {
        const char *args[] = { b8_time_iso(p, l.now), b8_time_iso(p, l.now - quiet) };
        if (b8_db_value(l.db, p, B8_SQL_AI_DUE_PHONE, args, &phone_key) != APR_SUCCESS) {
            return 0;
        }
    }
    if (!phone_key) {
        *next_at = next_due(&l, quiet);
        return 0;
    }
    memset(&g, 0, sizeof(g));
    if (!claim_group(&l, phone_key, &g)) {
        return 1;
    }
    if (B8_GET_IS(g.rows, 0, AI_CLAIMED, opted_out, "1")) {
        end_group(&l, &g, "skipped", "the contact opted out");
        return 1;
    }
    {
        /* Claimed by an agent after these texts came in. */
        const char *login = NULL;
        if (b8_conv_handoff(l.db, p, l.s, phone_key, &login) != APR_SUCCESS) {
            return 1;
        }
        if (login) {
            end_group(&l, &g, "skipped", apr_pstrcat(p, "handled by ", login, NULL));
            return 1;
        }
    }
    if (!setting(&l, B8_SET_OPENAI_KEY) || !*setting(&l, B8_SET_OPENAI_KEY)) {
        end_group(&l, &g, "failed", "no OpenAI key is set (Settings, ChatGPT API key)");
        return 1;
    }
    if (b8_setting_bool(l.s, B8_SET_DA_VINCI) && !B8_GET(g.rows, 0, AI_CLAIMED, intent)
        && !ask_intent(&l, &g)) {
        return 1;
    }
    answer(&l, &g);
    return 1;
}
