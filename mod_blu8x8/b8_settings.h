/* Settings: one table describes every setting (key, directive, type,
 * default); one function answers "what is the effective value of X and
 * where does it come from" (server config, else database, else default). */
#ifndef B8_SETTINGS_H
#define B8_SETTINGS_H

#include <apr_pools.h>
#include <apr_hash.h>
#include <apr_tables.h>
#include <apr_time.h>
#include "b8_core.h"

typedef enum {
    B8_STYPE_STRING,   /* free text */
    B8_STYPE_SECRET,   /* never shown back, never logged */
    B8_STYPE_URL,      /* http(s) URL, stored without a trailing slash */
    B8_STYPE_NUMBER,   /* decimal >= 0 */
    B8_STYPE_INT,      /* integer >= 1 */
    B8_STYPE_BOOL,     /* "1"/"0" */
    B8_STYPE_CHOICE,   /* one of choices[] */
    B8_STYPE_COUNTRY,  /* 1-3 digit country calling code */
    B8_STYPE_SENDERS,  /* list of SMS sender IDs, stored '\n'-joined */
    B8_STYPE_TIMEZONE  /* IANA time zone name the system's zoneinfo knows */
} b8_setting_type;

typedef enum {
    B8_SRC_DEFAULT = 0, B8_SRC_DATABASE = 1, B8_SRC_CONFIG = 2
} b8_setting_source;

typedef struct {
    const char *key;        /* API and database name */
    const char *directive;  /* httpd directive */
    const char *group;      /* Settings page section */
    const char *label;
    b8_setting_type type;
    const char *def;        /* default, NULL = unset */
    const char *const *choices;   /* CHOICE: the values; URL: what the API may set */
    const char *help;
} b8_setting_def;

/* The one table of settings: X(ID, key, directive, Settings page group,
 * label, type (the validator; SECRET = never shown back), default, choices,
 * help). B8_SET_<ID> names a setting in code; the key is its API and
 * database name. */
#define B8_SETTINGS_TABLE(X) \
    X(API_KEY, "api_key", "Blu8x8ApiKey", "8x8", "8x8 API key", B8_STYPE_SECRET, NULL, NULL, \
      "Bearer token for every call to 8x8 (Viber and SMS)") \
    X(ACCOUNT_ID, "account_id", "Blu8x8AccountId", "8x8", "Account ID", B8_STYPE_STRING, \
      "BluCoffeePH", NULL, "8x8 account ID (informational)") \
    X(VIBER_SUB_ACCOUNT, "viber_sub_account", "Blu8x8ViberSubAccount", "8x8", \
      "Messaging (Viber) sub-account ID", B8_STYPE_STRING, "BluCoffeePH_TwoWayViber_NOTIF", \
      NULL, "Sub-account used for every Viber send") \
    X(SMS_SUB_ACCOUNT, "sms_sub_account", "Blu8x8SmsSubAccount", "8x8", "SMS sub-account ID", \
      B8_STYPE_STRING, "BluCoffeePH_NOTIF", NULL, "Sub-account used for every SMS send") \
    X(CHATAPPS_URL, "chatapps_url", "Blu8x8ChatAppsURL", "8x8", "8x8 Chat Apps base URL", \
      B8_STYPE_URL, "https://chatapps.8x8.com", chatapps_regions, \
      "Base URL of 8x8 Chat Apps (region)") \
    X(SMS_URL, "sms_url", "Blu8x8SmsURL", "8x8", "8x8 SMS base URL", B8_STYPE_URL, \
      "https://sms.8x8.com", sms_regions, "Base URL of 8x8 SMS (region)") \
    X(HTTP_TIMEOUT, "http_timeout", "Blu8x8HttpTimeout", "8x8", "8x8 request timeout (seconds)", \
      B8_STYPE_NUMBER, "30", NULL, \
      "Longest wait for one answer from 8x8 (at least 1 s); a send that gets no answer in " \
      "time becomes \"unknown\"") \
    X(WEBHOOK_AUTHORIZATION, "webhook_authorization", "Blu8x8WebhookAuthorization", "8x8", \
      "Webhook Authorization header", B8_STYPE_SECRET, NULL, NULL, \
      "Exact Authorization header value 8x8 sends with every webhook (its " \
      "httpAuthorization); while it is not set, every webhook is refused") \
    X(SEND_INTERVAL, "send_interval", "Blu8x8SendInterval", "Sending", \
      "Message sending interval (seconds)", B8_STYPE_NUMBER, "5", NULL, \
      "Gap between the starts of two campaign sends; 0 = as fast as 8x8 accepts") \
    X(MAX_RATE, "max_rate", "Blu8x8MaxRate", "Sending", \
      "8x8 rate limit (messages per second)", B8_STYPE_INT, "1800", NULL, \
      "Most requests per second to one 8x8 sub-account, across campaigns, SMS, direct " \
      "messages and AI replies and across servers (8x8's documented limit: 1800)") \
    X(DEFAULT_COUNTRY, "default_country", "Blu8x8DefaultCountry", "Sending", \
      "Default country code", B8_STYPE_COUNTRY, "63", NULL, \
      "Country calling code for local numbers (0917... becomes +63917...)") \
    X(TIME_ZONE, "time_zone", "Blu8x8TimeZone", "Sending", "Time zone", B8_STYPE_TIMEZONE, \
      "Asia/Manila", NULL, "IANA time zone of the pages, of \"Send at\" and of campaign send " \
      "windows and daily caps (e.g. Asia/Manila, America/Los_Angeles); the API keeps UTC") \
    X(AI_RESPOND, "ai_respond", "Blu8x8AIRespond", "ChatGPT", \
      "Respond to inbound Viber with ChatGPT", B8_STYPE_BOOL, "0", NULL, \
      "Master switch of the AI reply") \
    X(OPENAI_KEY, "openai_key", "Blu8x8OpenAIKey", "ChatGPT", "ChatGPT API key", \
      B8_STYPE_SECRET, NULL, NULL, "OpenAI API key") \
    X(OPENAI_MODEL, "openai_model", "Blu8x8OpenAIModel", "ChatGPT", "ChatGPT model", \
      B8_STYPE_CHOICE, "gpt-4o", b8_openai_models, "Model for replies and intent detection") \
    X(OPENAI_MAX_TOKENS, "openai_max_tokens", "Blu8x8OpenAIMaxTokens", "ChatGPT", \
      "Maximum completion tokens", B8_STYPE_INT, "200", NULL, \
      "Cap on reply length. o1, o1-mini and the other o-series models get at least 4000: " \
      "their hidden reasoning counts against this cap") \
    X(AI_PERSONA, "ai_persona", "Blu8x8AIPersona", "ChatGPT", "Respond to user like", \
      B8_STYPE_STRING, "You are a coffee expert at Blu Coffee Distributors.", NULL, \
      "Persona: the start of the AI system prompt") \
    X(DA_VINCI, "da_vinci", "Blu8x8DaVinci", "ChatGPT", "Da Vinci mode (intent to lead)", \
      B8_STYPE_BOOL, "0", NULL, \
      "Detect buying interest and create leads; needs the AI reply on") \
    X(OPENAI_URL, "openai_url", "Blu8x8OpenAIURL", "ChatGPT", "OpenAI API base URL", \
      B8_STYPE_URL, "https://api.openai.com", openai_hosts, "Base URL of the OpenAI API") \
    X(OPENAI_TIMEOUT, "openai_timeout", "Blu8x8OpenAITimeout", "ChatGPT", \
      "OpenAI request timeout (seconds)", B8_STYPE_NUMBER, "30", NULL, \
      "Longest wait for one answer from OpenAI (at least 1 s); then the AI lane tries again " \
      "later") \
    X(AI_QUIET_WINDOW, "ai_quiet_window", "Blu8x8AIQuietWindow", "ChatGPT", \
      "Quiet window (seconds)", B8_STYPE_NUMBER, "4", NULL, \
      "Texts from one phone that arrive within this many seconds of each other are answered " \
      "together, once") \
    X(AI_HANDOFF_HOURS, "ai_handoff_hours", "Blu8x8AIHandoffHours", "ChatGPT", \
      "AI handoff (hours)", B8_STYPE_NUMBER, "24", NULL, \
      "While an open conversation has an assignee the AI does not answer that customer, " \
      "until it is resolved or this many hours pass without an agent message (fractions " \
      "allowed)") \
    X(SMS_SENDERS, "sms_senders", "Blu8x8SmsSender", "SMS senders", "SMS sender accounts", \
      B8_STYPE_SENDERS, DEFAULT_SENDERS, NULL, "8x8 SMS sender IDs; the first is the default") \
    X(PUBLIC_URL, "public_url", "Blu8x8PublicURL", "Links", "Public base URL", B8_STYPE_URL, \
      NULL, NULL, "Public address of this server, used to build lead-claim links and the " \
      "tracked campaign button links (/r/...); unset = buttons keep their plain URL, clicks " \
      "are not counted") \
    X(ATTRIBUTION_DAYS, "attribution_days", "Blu8x8AttributionDays", "Links", \
      "Attribution window (days)", B8_STYPE_INT, "7", NULL, "A reply or lead counts for the " \
      "latest campaign that reached the phone within this many days before it")

typedef enum {
#define B8_SETTING_ID(id, ...) B8_SET_##id,
    B8_SETTINGS_TABLE(B8_SETTING_ID)
#undef B8_SETTING_ID
    B8_SET__COUNT
} b8_setting_id;

extern const b8_setting_def b8_settings_table[B8_SET__COUNT];
extern const int b8_settings_count;
extern const char *const b8_openai_models[];

const b8_setting_def *b8_setting_find(const char *key);
const b8_setting_def *b8_setting_find_directive(const char *directive);

/* Validate and normalise one value; NULL on success with *out set, else a
 * sentence saying what is wrong. */
const char *b8_setting_check(apr_pool_t *p, const b8_setting_def *d,
                             const char *value, const char **out);

/* The rules only for values from the API and the Settings page (a directive
 * may set anything b8_setting_check takes): a URL with choices must be one of
 * them unless it is current (the saved value); the webhook check cannot be
 * switched off. norm is b8_setting_check's output. NULL = allowed. */
const char *b8_setting_check_api(apr_pool_t *p, const b8_setting_def *d, const char *norm,
                                 const char *current);

/* The effective value of key: config (pinned), else database, else default.
 * config and db map key -> normalised string (db may be NULL). */
const char *b8_setting_effective(const apr_hash_t *config, const apr_hash_t *db,
                                 const char *key, b8_setting_source *source);

const char *b8_setting_source_name(b8_setting_source s);

/* One immutable snapshot of every setting: what a request, or one step of a
 * worker lane, reads from start to end. Never changed once made. */
typedef struct b8_settings {
    const apr_hash_t *config;                   /* key -> value pinned by directive */
    const apr_hash_t *db;                       /* key -> value saved in the database */
    const char *value[B8_SET__COUNT];           /* effective; NULL = unset */
    b8_setting_source source[B8_SET__COUNT];
    const char *version;                        /* the settings version it was read at */
} b8_settings;

/* A snapshot in p of the pinned values and the saved ones (db may be NULL). */
b8_settings *b8_settings_make(apr_pool_t *p, const apr_hash_t *config, const apr_hash_t *db);
/* Reads the saved values and makes a snapshot in p. */
apr_status_t b8_settings_load(b8_db *db, apr_pool_t *p, const apr_hash_t *config,
                              const b8_settings **out);

/* Typed views of a snapshot. */
const char *b8_setting_str(const b8_settings *s, b8_setting_id id);
double b8_setting_number(const b8_settings *s, b8_setting_id id);
long b8_setting_int(const b8_settings *s, b8_setting_id id);
int b8_setting_bool(const b8_settings *s, b8_setting_id id);
apr_array_header_t *b8_setting_list(apr_pool_t *p, const b8_settings *s, b8_setting_id id);

/* What the webhook does with the Authorization header: unset everywhere =
 * refuse every POST; "none" by directive = no check; else compare with *want. */
typedef enum { B8_HOOK_CLOSED, B8_HOOK_OPEN, B8_HOOK_CHECK } b8_webhook_auth;
b8_webhook_auth b8_webhook_auth_mode(const b8_settings *s, const char **want);

/* Cross-setting rule: Da Vinci needs the AI reply. Returns the offending key
 * and sets *why, or NULL. */
const char *b8_settings_check_rules(const b8_settings *s, const char **why);

/* GET /api/settings shape: {"key": {"value"|"set", "source", "pinned"}}. */
cJSON *b8_settings_json(const b8_ctx *ctx);
/* PATCH: validates every key (unknown, pinned, bad value, Da Vinci rule),
 * saves all or nothing and bumps the settings version in the same
 * transaction; ctx->settings becomes the new snapshot. */
b8_errkind b8_settings_update(b8_ctx *ctx, const cJSON *changes, b8_err *err);

/* A process's settings, read from the database only when they changed:
 * another process of this server says so through *local_gen (shared memory
 * the writer bumps, read on every get), another server through the settings
 * version row, looked at no more often than every B8_SETTINGS_RECHECK. So a
 * setting saved on one server is obeyed by every other within a second. */
#define B8_SETTINGS_RECHECK apr_time_from_msec(250)
typedef struct b8_settings_cache b8_settings_cache;
/* local_gen may be NULL (then only the version row is looked at). */
apr_status_t b8_settings_cache_create(apr_pool_t *p, const apr_hash_t *config,
                                      volatile apr_uint32_t *local_gen,
                                      b8_settings_cache **out);
/* The current snapshot, valid until p is cleared. */
apr_status_t b8_settings_cache_get(b8_settings_cache *c, b8_db *db, apr_pool_t *p,
                                   const b8_settings **out);
/* After a save: every process of this server reloads on its next get. */
void b8_settings_cache_changed(b8_settings_cache *c);

/* A secret may be given as "file:/path": the first line of that file. */
const char *b8_secret_resolve(apr_pool_t *p, const char *value, const char **err);

#endif
