#include "b8_settings.h"
#include "b8_phone.h"
#include "b8_runtime.h"
#include "b8_sms.h"
#include "b8_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_atomic.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

const char *const b8_openai_models[] = {
    "gpt-4o", "gpt-4o-mini", "o1", "o1-mini", "gpt-4-turbo", "gpt-4-turbo-preview", "o3-mini", "o3",
    "o4-mini", NULL
};

/* The runtime row bumped with every save (b8_settings_update). */
#define B8_SETTINGS_VERSION_KEY "settings_version"

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

const b8_setting_def b8_settings_table[B8_SET__COUNT] = {
#define B8_SETTING_ROW(id, key, directive, group, label, type, def, choices, help) \
    [B8_SET_##id] = { key, directive, group, label, type, def, choices, help },
    B8_SETTINGS_TABLE(B8_SETTING_ROW)
#undef B8_SETTING_ROW
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
    case B8_STYPE_STRING:
        if (strlen(v) > 4000) {
            return "is too long (at most 4000 characters)";
        }
        if (!*v && d->def) {
            return "must not be empty";
        }
        *out = v;
        return NULL;
    case B8_STYPE_SECRET:
        if (strlen(v) > 4000) {
            return "is too long (at most 4000 characters)";
        }
        *out = v;
        return NULL;
    case B8_STYPE_URL: {
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
    case B8_STYPE_NUMBER: {
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
    case B8_STYPE_INT: {
        long n;
        if (!b8_parse_long(v, &n) || n < 1 || n > 100000) {
            return "must be a whole number from 1 to 100000";
        }
        *out = apr_ltoa(p, n);
        return NULL;
    }
    case B8_STYPE_BOOL:
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
    case B8_STYPE_CHOICE:
        for (int i = 0; d->choices && d->choices[i]; i++) {
            if (strcmp(d->choices[i], v) == 0) {
                *out = d->choices[i];
                return NULL;
            }
        }
        return apr_psprintf(p, "must be one of: %s", b8_join(p, d->choices, ", "));
    case B8_STYPE_COUNTRY:
        if (!b8_phone_country_valid(v)) {
            return "must be a country calling code of 1 to 3 digits (e.g. 63)";
        }
        *out = v;
        return NULL;
    case B8_STYPE_SENDERS:
        return check_senders(p, v, out);
    }
    return "has an unknown type";
}

const char *b8_setting_check_api(apr_pool_t *p, const b8_setting_def *d, const char *norm,
                                 const char *current)
{
    if (d->type == B8_STYPE_URL && d->choices) {
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

b8_webhook_auth b8_webhook_auth_mode(const b8_settings *s, const char **want)
{
    const char *v = s->value[B8_SET_WEBHOOK_AUTHORIZATION];

    if (s->source[B8_SET_WEBHOOK_AUTHORIZATION] == B8_SRC_CONFIG && strcasecmp(v, "none") == 0) {
        return B8_HOOK_OPEN;
    }
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

const char *b8_settings_check_rules(const b8_settings *s, const char **why)
{
    if (b8_setting_bool(s, B8_SET_DA_VINCI) && !b8_setting_bool(s, B8_SET_AI_RESPOND)) {
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

b8_settings *b8_settings_make(apr_pool_t *p, const apr_hash_t *config, const apr_hash_t *db)
{
    b8_settings *s = apr_pcalloc(p, sizeof(*s));

    s->config = config ? config : apr_hash_make(p);
    s->db = db ? db : apr_hash_make(p);
    s->version = "0";
    for (int i = 0; i < B8_SET__COUNT; i++) {
        s->value[i] = b8_setting_effective(s->config, s->db, b8_settings_table[i].key,
                                           &s->source[i]);
    }
    return s;
}

/* The saved values and the version they are at, version first: a save in
 * between gives newer values under an older version, read again next time. */
static apr_status_t load_saved(b8_db *db, apr_pool_t *p, const char **version, apr_hash_t **out)
{
    b8_rows *rows;
    apr_hash_t *h = apr_hash_make(p);
    const char *v = NULL;
    apr_status_t rv = b8_runtime_get(db, p, B8_SETTINGS_VERSION_KEY, &v, NULL);

    if (rv != APR_SUCCESS
        || (rv = b8_db_select(db, p, B8_SQL_SETTINGS_ALL, NULL, &rows)) != APR_SUCCESS) {
        return rv;
    }
    for (int i = 0; i < rows->nrows; i++) {
        if (B8_GET(rows, i, SETTING, key) && B8_GET(rows, i, SETTING, value)) {
            apr_hash_set(h, B8_GET(rows, i, SETTING, key), APR_HASH_KEY_STRING,
                         B8_GET(rows, i, SETTING, value));
        }
    }
    *version = v ? v : "0";
    *out = h;
    return APR_SUCCESS;
}

apr_status_t b8_settings_load(b8_db *db, apr_pool_t *p, const apr_hash_t *config,
                              const b8_settings **out)
{
    apr_hash_t *saved;
    const char *version;
    b8_settings *s;
    apr_status_t rv = load_saved(db, p, &version, &saved);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    s = b8_settings_make(p, config, saved);
    s->version = version;
    *out = s;
    return APR_SUCCESS;
}

const char *b8_setting_str(const b8_settings *s, b8_setting_id id)
{
    return s->value[id];
}

double b8_setting_number(const b8_settings *s, b8_setting_id id)
{
    return s->value[id] ? strtod(s->value[id], NULL) : 0.0;
}

long b8_setting_int(const b8_settings *s, b8_setting_id id)
{
    return s->value[id] ? strtol(s->value[id], NULL, 10) : 0;
}

int b8_setting_bool(const b8_settings *s, b8_setting_id id)
{
    return s->value[id] && strcmp(s->value[id], "1") == 0;
}

apr_array_header_t *b8_setting_list(apr_pool_t *p, const b8_settings *s, b8_setting_id id)
{
    return b8_split_lines(p, s->value[id] ? s->value[id] : "");
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
static cJSON *setting_value_json(apr_pool_t *p, const b8_setting_def *d, const char *v)
{
    switch (d->type) {
    case B8_STYPE_NUMBER:
        return cJSON_CreateNumber(v ? atof(v) : 0);
    case B8_STYPE_INT:
        return cJSON_CreateNumber(v ? (double)atol(v) : 0);
    case B8_STYPE_BOOL:
        return cJSON_CreateBool(v && strcmp(v, "1") == 0);
    case B8_STYPE_SENDERS: {
        apr_array_header_t *list = b8_split_lines(p, v ? v : "");
        cJSON *a = cJSON_CreateArray();
        for (int i = 0; i < list->nelts; i++) {
            cJSON_AddItemToArray(a, cJSON_CreateString(APR_ARRAY_IDX(list, i, const char *)));
        }
        return a;
    }
    default:
        return v ? cJSON_CreateString(v) : cJSON_CreateNull();
    }
}

cJSON *b8_settings_json(const b8_ctx *ctx)
{
    cJSON *out = cJSON_CreateObject();

    for (int i = 0; i < b8_settings_count; i++) {
        const b8_setting_def *d = &b8_settings_table[i];
        b8_setting_source src = ctx->settings->source[i];
        const char *v = ctx->settings->value[i];
        cJSON *o = cJSON_CreateObject();

        if (d->type == B8_STYPE_SECRET) {
            cJSON_AddBoolToObject(o, "set", v && *v);
        }
        else {
            cJSON_AddItemToObject(o, "value", setting_value_json(ctx->pool, d, v));
        }
        cJSON_AddStringToObject(o, "source", b8_setting_source_name(src));
        cJSON_AddBoolToObject(o, "pinned", src == B8_SRC_CONFIG);
        cJSON_AddItemToObject(out, d->key, o);
    }
    return out;
}

/* JSON value -> the text form b8_setting_check takes. */
static const char *setting_input_text(apr_pool_t *p, const b8_setting_def *d, const cJSON *v,
                                      const char **why)
{
    if (d->type == B8_STYPE_SENDERS && cJSON_IsArray(v)) {
        const char *joined = "";
        const cJSON *item;
        cJSON_ArrayForEach(item, v) {
            if (!cJSON_IsString(item)) {
                *why = "must be a list of strings";
                return NULL;
            }
            joined = apr_pstrcat(p, joined, item->valuestring, "\n", NULL);
        }
        return joined;
    }
    if (cJSON_IsString(v)) {
        return v->valuestring;
    }
    if (cJSON_IsBool(v)) {
        return cJSON_IsTrue(v) ? "1" : "0";
    }
    if (cJSON_IsNumber(v)) {
        char buf[64];
        snprintf(buf, sizeof(buf), "%.17g", v->valuedouble);   /* libc, not APR's %g */
        return apr_pstrdup(p, buf);
    }
    *why = "has the wrong type";
    return NULL;
}

b8_errkind b8_settings_update(b8_ctx *ctx, const cJSON *changes, b8_err *err)
{
    apr_hash_t *merged;
    const b8_settings *now = ctx->settings, *next;
    apr_array_header_t *keys, *values;
    const cJSON *item;
    const char *why = NULL, *bad;

    if (!cJSON_IsObject(changes)) {
        return b8_fail(err, B8_EINVALID, "expected a JSON object of settings");
    }
    merged = apr_hash_copy(ctx->pool, now->db);
    keys = apr_array_make(ctx->pool, 8, sizeof(const char *));
    values = apr_array_make(ctx->pool, 8, sizeof(const char *));
    cJSON_ArrayForEach(item, changes) {
        const b8_setting_def *d = b8_setting_find(item->string);
        const char *text, *norm = NULL;

        if (!d) {
            b8_field_error(err, item->string, "is not a setting");
            continue;
        }
        if (now->source[d - b8_settings_table] == B8_SRC_CONFIG) {
            err->kind = B8_ECONFLICT;
            err->message = apr_psprintf(ctx->pool, "%s is set in server config (%s) and cannot "
                                        "be changed here", d->key, d->directive);
            return err->kind;
        }
        text = setting_input_text(ctx->pool, d, item, &why);
        if (!text) {
            b8_field_error(err, d->key, why);
            continue;
        }
        if ((why = b8_setting_check(ctx->pool, d, text, &norm)) != NULL
            || (why = b8_setting_check_api(ctx->pool, d, norm,
                                           apr_hash_get((apr_hash_t *)now->db, d->key,
                                                        APR_HASH_KEY_STRING))) != NULL) {
            b8_field_error(err, d->key, why);
            continue;
        }
        APR_ARRAY_PUSH(keys, const char *) = d->key;
        APR_ARRAY_PUSH(values, const char *) = norm;
        apr_hash_set(merged, d->key, APR_HASH_KEY_STRING, norm);
    }
    if (err->kind != B8_OK && err->kind != B8_EINVALID) {
        return err->kind;
    }
    /* The cross-setting rule is reported with the field errors, so the form
     * shows every problem at once. */
    next = b8_settings_make(ctx->pool, now->config, merged);
    if ((bad = b8_settings_check_rules(next, &why)) != NULL) {
        b8_field_error(err, bad, why);
    }
    if (err->kind != B8_OK) {
        return err->kind;
    }
    if (b8_db_begin(ctx->db) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    for (int i = 0; i < keys->nelts; i++) {
        const char *args[] = { APR_ARRAY_IDX(keys, i, const char *),
                               APR_ARRAY_IDX(values, i, const char *), b8_now_iso(ctx->pool) };
        if (b8_db_exec(ctx->db, ctx->pool, B8_SQL_SETTING_PUT, args, NULL) != APR_SUCCESS) {
            b8_db_rollback(ctx->db);
            return b8_fail_db(err, ctx->db);
        }
    }
    /* The version moves with the values: other servers see both or neither. */
    {
        const char *args[] = { b8_now_iso(ctx->pool) };
        if (b8_db_exec(ctx->db, ctx->pool, B8_SQL_SETTINGS_VERSION_BUMP, args, NULL)
                != APR_SUCCESS) {
            b8_db_rollback(ctx->db);
            return b8_fail_db(err, ctx->db);
        }
    }
    /* New settings (a key, a sub-account, a region) are the fix for an
     * account refusal: the SMS lane tries again. */
    if (keys->nelts > 0 && b8_sms_pause_set(ctx->db, ctx->pool, NULL) != APR_SUCCESS) {
        b8_db_rollback(ctx->db);
        return b8_fail_db(err, ctx->db);
    }
    if (b8_db_commit(ctx->db) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    ctx->settings = next;
    return B8_OK;
}


/* ------------------------------------------------------------ the cache */

/* A snapshot shared by the threads of a process: its own pool (no parent,
 * so no allocator is shared between threads), freed with its last user. */
typedef struct cached {
    apr_pool_t *pool;
    const b8_settings *s;
    int refs;                     /* the cache's own, and one per user pool */
    b8_settings_cache *cache;
} cached;

struct b8_settings_cache {
    const apr_hash_t *config;
    volatile apr_uint32_t *local_gen;
    apr_uint32_t own_gen;         /* when local_gen is NULL */
#if APR_HAS_THREADS
    apr_thread_mutex_t *lock;
#endif
    cached *current;
    apr_uint32_t gen;             /* *local_gen when current was loaded */
    apr_time_t checked_at;        /* last look at the version row */
};

static void cache_lock(b8_settings_cache *c)
{
#if APR_HAS_THREADS
    apr_thread_mutex_lock(c->lock);
#else
    (void)c;
#endif
}

static void cache_unlock(b8_settings_cache *c)
{
#if APR_HAS_THREADS
    apr_thread_mutex_unlock(c->lock);
#else
    (void)c;
#endif
}

/* Under the lock. */
static void cached_release_locked(cached *e)
{
    if (e && --e->refs == 0) {
        apr_pool_destroy(e->pool);
    }
}

static apr_status_t cached_release(void *data)
{
    cached *e = data;
    b8_settings_cache *c = e->cache;

    cache_lock(c);
    cached_release_locked(e);
    cache_unlock(c);
    return APR_SUCCESS;
}

/* With the cache's pool: its own reference to the current snapshot goes. */
static apr_status_t cache_cleanup(void *data)
{
    b8_settings_cache *c = data;

    cache_lock(c);
    cached_release_locked(c->current);
    c->current = NULL;
    cache_unlock(c);
    return APR_SUCCESS;
}

apr_status_t b8_settings_cache_create(apr_pool_t *p, const apr_hash_t *config,
                                      volatile apr_uint32_t *local_gen,
                                      b8_settings_cache **out)
{
    b8_settings_cache *c = apr_pcalloc(p, sizeof(*c));

    c->config = config;
    c->local_gen = local_gen ? local_gen : &c->own_gen;
#if APR_HAS_THREADS
    {
        apr_status_t rv = apr_thread_mutex_create(&c->lock, APR_THREAD_MUTEX_DEFAULT, p);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
#endif
    /* Registered after the mutex: runs before the mutex is destroyed. */
    apr_pool_cleanup_register(p, c, cache_cleanup, apr_pool_cleanup_null);
    *out = c;
    return APR_SUCCESS;
}

/* Hands e to pool p (one more reference, dropped when p is cleared). */
static const b8_settings *cached_take_locked(cached *e, apr_pool_t *p)
{
    e->refs++;
    apr_pool_cleanup_register(p, e, cached_release, apr_pool_cleanup_null);
    return e->s;
}

static apr_status_t cached_load(b8_settings_cache *c, b8_db *db, cached **out)
{
    apr_pool_t *sp;
    cached *e;
    const b8_settings *s;
    apr_status_t rv = apr_pool_create_unmanaged_ex(&sp, NULL, NULL);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    apr_pool_tag(sp, "blu8x8-settings");
    if ((rv = b8_settings_load(db, sp, c->config, &s)) != APR_SUCCESS) {
        apr_pool_destroy(sp);
        return rv;
    }
    e = apr_pcalloc(sp, sizeof(*e));
    e->pool = sp;
    e->s = s;
    e->refs = 1;
    e->cache = c;
    *out = e;
    return APR_SUCCESS;
}

apr_status_t b8_settings_cache_get(b8_settings_cache *c, b8_db *db, apr_pool_t *p,
                                   const b8_settings **out)
{
    apr_uint32_t gen = apr_atomic_read32(c->local_gen);
    apr_time_t now = apr_time_now();
    const char *version = NULL;
    cached *fresh;
    apr_status_t rv;
    int same_gen;

    cache_lock(c);
    same_gen = c->current && c->gen == gen;
    if (same_gen && now - c->checked_at < B8_SETTINGS_RECHECK) {
        *out = cached_take_locked(c->current, p);
        cache_unlock(c);
        return APR_SUCCESS;
    }
    cache_unlock(c);
    /* Another server may have saved: one cheap read of the version row. */
    if (same_gen
        && (rv = b8_runtime_get(db, p, B8_SETTINGS_VERSION_KEY, &version, NULL)) == APR_SUCCESS) {
        cache_lock(c);
        if (c->current && c->gen == gen
            && strcmp(c->current->s->version, version ? version : "0") == 0) {
            c->checked_at = now;
            *out = cached_take_locked(c->current, p);
            cache_unlock(c);
            return APR_SUCCESS;
        }
        cache_unlock(c);
    }
    if ((rv = cached_load(c, db, &fresh)) != APR_SUCCESS) {
        return rv;
    }
    cache_lock(c);
    cached_release_locked(c->current);
    c->current = fresh;
    c->gen = gen;
    c->checked_at = now;
    *out = cached_take_locked(fresh, p);
    cache_unlock(c);
    return APR_SUCCESS;
}

void b8_settings_cache_changed(b8_settings_cache *c)
{
    apr_atomic_inc32(c->local_gen);
}
