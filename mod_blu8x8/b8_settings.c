#include "b8_settings.h"
#include "b8_phone.h"
#include "b8_sms.h"
#include "b8_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_file_io.h>
#include <apr_strings.h>

const char *const b8_openai_models[] = {
    "gpt-4o", "gpt-4o-mini", "o1", "o1-mini", "gpt-4-turbo", "gpt-4-turbo-preview", "o3-mini", "o3",
    "o4-mini", NULL
};

#define DEFAULT_SENDERS "Blu Coffee\nBlu Orders\nBlu Service\nBlu Acctg\nBlu Intrnal"

/* The base URLs the API and the Settings page may choose: 8x8's regions and
 * OpenAI. Anything else (a stand-in, a proxy) only by directive, so whoever
 * holds an admin login cannot send the write-only keys to a host of theirs. */
static const char *const chatapps_regions[] = {
    "https://chatapps.8x8.com", "https://chatapps.us.8x8.com", "https://chatapps.8x8.uk",
    "https://chatapps.8x8.id", NULL
};
static const char *const sms_regions[] = {
    "https://sms.8x8.com", "https://sms.us.8x8.com", "https://sms.8x8.uk", "https://sms.8x8.id",
    NULL
};
static const char *const openai_hosts[] = { "https://api.openai.com", NULL };

const b8_setting_def b8_settings_table[] = {
    { "api_key", "Blu8x8ApiKey", "8x8", "8x8 API key", B8_SET_SECRET, NULL, NULL,
      "Bearer token for every call to 8x8 (Viber and SMS)" },
    { "account_id", "Blu8x8AccountId", "8x8", "Account ID", B8_SET_STRING, "BluCoffeePH", NULL,
      "8x8 account ID (informational)" },
    { "viber_sub_account", "Blu8x8ViberSubAccount", "8x8", "Messaging (Viber) sub-account ID",
      B8_SET_STRING, "BluCoffeePH_TwoWayViber_NOTIF", NULL, "Sub-account used for every Viber send" },
    { "sms_sub_account", "Blu8x8SmsSubAccount", "8x8", "SMS sub-account ID", B8_SET_STRING,
      "BluCoffeePH_NOTIF", NULL, "Sub-account used for every SMS send" },
    { "chatapps_url", "Blu8x8ChatAppsURL", "8x8", "8x8 Chat Apps base URL", B8_SET_URL,
      "https://chatapps.8x8.com", chatapps_regions, "Base URL of 8x8 Chat Apps (region)" },
    { "sms_url", "Blu8x8SmsURL", "8x8", "8x8 SMS base URL", B8_SET_URL, "https://sms.8x8.com",
      sms_regions, "Base URL of 8x8 SMS (region)" },
    { "http_timeout", "Blu8x8HttpTimeout", "8x8", "8x8 request timeout (seconds)", B8_SET_NUMBER,
      "30", NULL, "Longest wait for one answer from 8x8 (at least 1 s); a send that gets no "
      "answer in time becomes \"unknown\"" },
    { "webhook_authorization", "Blu8x8WebhookAuthorization", "8x8", "Webhook Authorization header",
      B8_SET_SECRET, NULL, NULL, "Exact Authorization header value 8x8 sends with every webhook "
      "(its httpAuthorization); while it is not set, every webhook is refused" },
    { "send_interval", "Blu8x8SendInterval", "Sending", "Message sending interval (seconds)",
      B8_SET_NUMBER, "5", NULL, "Gap between the starts of two campaign sends; 0 = as fast as 8x8 accepts" },
    { "default_country", "Blu8x8DefaultCountry", "Sending", "Default country code", B8_SET_COUNTRY,
      "63", NULL, "Country calling code for local numbers (0917... becomes +63917...)" },
    { "ai_respond", "Blu8x8AIRespond", "ChatGPT", "Respond to inbound Viber with ChatGPT",
      B8_SET_BOOL, "0", NULL, "Master switch of the AI reply" },
    { "openai_key", "Blu8x8OpenAIKey", "ChatGPT", "ChatGPT API key", B8_SET_SECRET, NULL, NULL,
      "OpenAI API key" },
    { "openai_model", "Blu8x8OpenAIModel", "ChatGPT", "ChatGPT model", B8_SET_CHOICE, "gpt-4o",
      b8_openai_models, "Model for replies and intent detection" },
    { "openai_max_tokens", "Blu8x8OpenAIMaxTokens", "ChatGPT", "Maximum completion tokens",
      B8_SET_INT, "200", NULL, "Cap on reply length. o1, o1-mini and the other o-series models "
      "get at least 4000: their hidden reasoning counts against this cap" },
    { "ai_persona", "Blu8x8AIPersona", "ChatGPT", "Respond to user like",
      B8_SET_STRING, "You are a coffee expert at Blu Coffee Distributors.", NULL,
      "Persona: the start of the AI system prompt" },
    { "da_vinci", "Blu8x8DaVinci", "ChatGPT", "Da Vinci mode (intent to lead)", B8_SET_BOOL, "0",
      NULL, "Detect buying interest and create leads; needs the AI reply on" },
    { "openai_url", "Blu8x8OpenAIURL", "ChatGPT", "OpenAI API base URL", B8_SET_URL,
      "https://api.openai.com", openai_hosts, "Base URL of the OpenAI API" },
    { "openai_timeout", "Blu8x8OpenAITimeout", "ChatGPT", "OpenAI request timeout (seconds)",
      B8_SET_NUMBER, "30", NULL, "Longest wait for one answer from OpenAI (at least 1 s); then "
      "the AI lane tries again later" },
    { "ai_quiet_window", "Blu8x8AIQuietWindow", "ChatGPT", "Quiet window (seconds)",
      B8_SET_NUMBER, "4", NULL, "Texts from one phone that arrive within this many seconds of "
      "each other are answered together, once" },
    { "sms_senders", "Blu8x8SmsSender", "SMS senders", "SMS sender accounts", B8_SET_SENDERS,
      DEFAULT_SENDERS, NULL, "8x8 SMS sender IDs; the first is the default" },
    { "public_url", "Blu8x8PublicURL", "Links", "Public base URL", B8_SET_URL, NULL, NULL,
      "Public address of this server, used to build lead-claim links and the tracked "
      "campaign button links (/r/...); unset = buttons keep their plain URL, clicks are not counted" },
    { "attribution_days", "Blu8x8AttributionDays", "Links", "Attribution window (days)",
      B8_SET_INT, "7", NULL, "A reply or lead counts for the latest campaign that reached the "
      "phone within this many days before it" },
};
const int b8_settings_count = (int)(sizeof(b8_settings_table) / sizeof(b8_settings_table[0]));

const b8_setting_def *b8_setting_find(const char *key)
{
    for (int i = 0; key && i < b8_settings_count; i++) {
        if (strcmp(b8_settings_table[i].key, key) == 0) {
            return &b8_settings_table[i];
        }
    }
    return NULL;
}

const b8_setting_def *b8_setting_find_directive(const char *directive)
{
    for (int i = 0; directive && i < b8_settings_count; i++) {
        if (strcasecmp(b8_settings_table[i].directive, directive) == 0) {
            return &b8_settings_table[i];
        }
    }
    return NULL;
}

static const char *check_senders(apr_pool_t *p, const char *value, const char **out)
{
    apr_array_header_t *list = b8_split_lines(p, value);
    const char *joined = NULL;

    if (list->nelts == 0) {
        return "at least one SMS sender ID is needed";
    }
    for (int i = 0; i < list->nelts; i++) {
        const char *s = APR_ARRAY_IDX(list, i, const char *);
        const char *why = b8_sms_invalid_sender(s);
        if (why) {
            return apr_psprintf(p, "sender ID \"%s\": %s", s, why);
        }
        joined = joined ? apr_pstrcat(p, joined, "\n", s, NULL) : s;
    }
    *out = joined;
    return NULL;
}

const char *b8_setting_check(apr_pool_t *p, const b8_setting_def *d,
                             const char *value, const char **out)
{
    const char *v = value ? b8_trim(p, value) : "";

    /* Directives and the settings page reach here without the JSON check. */
    if (!b8_utf8_valid(v, strlen(v))) {
        return "is not valid UTF-8 text";
    }
    switch (d->type) {
    case B8_SET_STRING:
        if (strlen(v) > 4000) {
            return "is too long (at most 4000 characters)";
        }
        if (!*v && d->def) {
            return "must not be empty";
        }
        *out = v;
        return NULL;
    case B8_SET_SECRET:
        if (strlen(v) > 4000) {
            return "is too long (at most 4000 characters)";
        }
        *out = v;
        return NULL;
    case B8_SET_URL: {
        apr_size_t n;
        if (!*v && !d->def) {
            *out = v;
            return NULL;
        }
        if (!b8_is_http_url(v)) {
            return "must be an http:// or https:// URL";
        }
        n = strlen(v);
        while (n > 0 && v[n - 1] == '/') {
            n--;
        }
        *out = apr_pstrndup(p, v, n);
        return NULL;
    }
    case B8_SET_NUMBER: {
        char *end;
        double x;
        if (!*v) {
            return "must be a number of seconds (e.g. 5 or 0.2)";
        }
        x = strtod(v, &end);
        if (*end || x != x || x < 0 || x > 86400) {
            return "must be a number of seconds from 0 to 86400 (fractions allowed, e.g. 0.2)";
        }
        {
            /* libc's %g: APR's formatter writes 0.25 as ".25". */
            char buf[64];
            snprintf(buf, sizeof(buf), "%g", x);
            *out = apr_pstrdup(p, buf);
        }
        return NULL;
    }
    case B8_SET_INT: {
        long n;
        if (!b8_parse_long(v, &n) || n < 1 || n > 100000) {
            return "must be a whole number from 1 to 100000";
        }
        *out = apr_ltoa(p, n);
        return NULL;
    }
    case B8_SET_BOOL:
        if (!strcasecmp(v, "on") || !strcasecmp(v, "true") || !strcmp(v, "1")) {
            *out = "1";
        }
        else if (!strcasecmp(v, "off") || !strcasecmp(v, "false") || !strcmp(v, "0")) {
            *out = "0";
        }
        else {
            return "must be On or Off";
        }
        return NULL;
    case B8_SET_CHOICE:
        for (int i = 0; d->choices && d->choices[i]; i++) {
            if (strcmp(d->choices[i], v) == 0) {
                *out = d->choices[i];
                return NULL;
            }
        }
        return apr_psprintf(p, "must be one of: %s", b8_join(p, d->choices, ", "));
    case B8_SET_COUNTRY:
        if (!b8_phone_country_valid(v)) {
            return "must be a country calling code of 1 to 3 digits (e.g. 63)";
        }
        *out = v;
        return NULL;
    case B8_SET_SENDERS:
        return check_senders(p, v, out);
    }
    return "has an unknown type";
}

const char *b8_setting_check_api(apr_pool_t *p, const b8_setting_def *d, const char *norm,
                                 const char *current)
{
    if (d->type == B8_SET_URL && d->choices) {
        /* An unchanged value is no new destination (one saved before the rule). */
        if (current && strcmp(norm, current) == 0) {
            return NULL;
        }
        for (int i = 0; d->choices[i]; i++) {
            if (strcmp(d->choices[i], norm) == 0) {
                return NULL;
            }
        }
        return apr_psprintf(p, "must be one of: %s (any other URL only by the %s directive)",
                            b8_join(p, d->choices, ", "), d->directive);
    }
    if (strcmp(d->key, "webhook_authorization") == 0 && strcasecmp(norm, "none") == 0) {
        return "\"none\" (no check) can only be set by the Blu8x8WebhookAuthorization directive";
    }
    return NULL;
}

b8_webhook_auth b8_webhook_auth_mode(const apr_hash_t *config, const apr_hash_t *db,
                                     const char **want)
{
    const char *pinned = config ? apr_hash_get((apr_hash_t *)config, "webhook_authorization",
                                               APR_HASH_KEY_STRING) : NULL;
    const char *v;

    if (pinned && strcasecmp(pinned, "none") == 0) {
        return B8_HOOK_OPEN;
    }
    v = b8_setting_effective(config, db, "webhook_authorization", NULL);
    if (!v || !*v) {
        return B8_HOOK_CLOSED;
    }
    *want = v;
    return B8_HOOK_CHECK;
}

const char *b8_setting_effective(const apr_hash_t *config, const apr_hash_t *db,
                                 const char *key, b8_setting_source *source)
{
    const b8_setting_def *d = b8_setting_find(key);
    const char *v;

    if (config && (v = apr_hash_get((apr_hash_t *)config, key, APR_HASH_KEY_STRING))) {
        if (source) *source = B8_SRC_CONFIG;
        return v;
    }
    if (db && (v = apr_hash_get((apr_hash_t *)db, key, APR_HASH_KEY_STRING))) {
        if (source) *source = B8_SRC_DATABASE;
        return v;
    }
    if (source) *source = B8_SRC_DEFAULT;
    return d ? d->def : NULL;
}

const char *b8_settings_check_rules(const apr_hash_t *config, const apr_hash_t *db,
                                    const char **why)
{
    if (b8_setting_bool(config, db, "da_vinci") && !b8_setting_bool(config, db, "ai_respond")) {
        *why = "Da Vinci mode can only be on while \"Respond to inbound Viber with ChatGPT\" is on";
        return "da_vinci";
    }
    return NULL;
}

const char *b8_setting_source_name(b8_setting_source s)
{
    switch (s) {
    case B8_SRC_CONFIG: return "config";
    case B8_SRC_DATABASE: return "database";
    default: return "default";
    }
}

double b8_setting_number(const apr_hash_t *config, const apr_hash_t *db, const char *key)
{
    const char *v = b8_setting_effective(config, db, key, NULL);
    return v ? strtod(v, NULL) : 0.0;
}

long b8_setting_int(const apr_hash_t *config, const apr_hash_t *db, const char *key)
{
    const char *v = b8_setting_effective(config, db, key, NULL);
    return v ? strtol(v, NULL, 10) : 0;
}

int b8_setting_bool(const apr_hash_t *config, const apr_hash_t *db, const char *key)
{
    const char *v = b8_setting_effective(config, db, key, NULL);
    return v && strcmp(v, "1") == 0;
}

apr_array_header_t *b8_setting_list(apr_pool_t *p, const apr_hash_t *config,
                                    const apr_hash_t *db, const char *key)
{
    const char *v = b8_setting_effective(config, db, key, NULL);
    return b8_split_lines(p, v ? v : "");
}

const char *b8_secret_resolve(apr_pool_t *p, const char *value, const char **err)
{
    apr_file_t *f;
    char buf[4096];
    apr_size_t n = sizeof(buf) - 1;
    apr_status_t rv;

    if (strncmp(value, "file:", 5) != 0) {
        return value;
    }
    rv = apr_file_open(&f, value + 5, APR_FOPEN_READ, APR_OS_DEFAULT, p);
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "cannot read secret file %s", value + 5);
        return NULL;
    }
    rv = apr_file_read(f, buf, &n);
    apr_file_close(f);
    if (rv != APR_SUCCESS && rv != APR_EOF) {
        *err = apr_psprintf(p, "cannot read secret file %s", value + 5);
        return NULL;
    }
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    if (!buf[0]) {
        *err = apr_psprintf(p, "secret file %s is empty", value + 5);
        return NULL;
    }
    return apr_pstrdup(p, buf);
}
