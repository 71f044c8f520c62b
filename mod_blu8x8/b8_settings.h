/* Settings: one table describes every setting (key, directive, type,
 * default); one function answers "what is the effective value of X and
 * where does it come from" (server config, else database, else default). */
#ifndef B8_SETTINGS_H
#define B8_SETTINGS_H

#include <apr_pools.h>
#include <apr_hash.h>
#include <apr_tables.h>

typedef enum {
    B8_SET_STRING,   /* free text */
    B8_SET_SECRET,   /* never shown back, never logged */
    B8_SET_URL,      /* http(s) URL, stored without a trailing slash */
    B8_SET_NUMBER,   /* decimal >= 0 */
    B8_SET_INT,      /* integer >= 1 */
    B8_SET_BOOL,     /* "1"/"0" */
    B8_SET_CHOICE,   /* one of choices[] */
    B8_SET_COUNTRY,  /* 1-3 digit country calling code */
    B8_SET_SENDERS,  /* list of SMS sender IDs, stored '\n'-joined */
    B8_SET_TIMEZONE  /* IANA time zone name the system's zoneinfo knows */
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

extern const b8_setting_def b8_settings_table[];
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

/* What the webhook does with the Authorization header: unset everywhere =
 * refuse every POST; "none" by directive = no check; else compare with *want. */
typedef enum { B8_HOOK_CLOSED, B8_HOOK_OPEN, B8_HOOK_CHECK } b8_webhook_auth;
b8_webhook_auth b8_webhook_auth_mode(const apr_hash_t *config, const apr_hash_t *db,
                                     const char **want);

/* Cross-setting rule: Da Vinci needs the AI reply. Returns the offending key
 * and sets *why, or NULL. get() answers effective values. */
const char *b8_settings_check_rules(const apr_hash_t *config, const apr_hash_t *db,
                                    const char **why);

/* The effective value of key: config (pinned), else database, else default.
 * config and db map key -> normalised string (db may be NULL). */
const char *b8_setting_effective(const apr_hash_t *config, const apr_hash_t *db,
                                 const char *key, b8_setting_source *source);

const char *b8_setting_source_name(b8_setting_source s);

/* Typed views of effective values. */
double b8_setting_number(const apr_hash_t *config, const apr_hash_t *db, const char *key);
long b8_setting_int(const apr_hash_t *config, const apr_hash_t *db, const char *key);
int b8_setting_bool(const apr_hash_t *config, const apr_hash_t *db, const char *key);
apr_array_header_t *b8_setting_list(apr_pool_t *p, const apr_hash_t *config,
                                    const apr_hash_t *db, const char *key);

/* A secret may be given as "file:/path": the first line of that file. */
const char *b8_secret_resolve(apr_pool_t *p, const char *value, const char **err);

#endif
