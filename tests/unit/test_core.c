/* Unit tests of the foundation core: settings precedence and validation,
 * crypto helpers, time and UTF-8 helpers, and the store on a real SQLite
 * file (migrations, transactions, concurrent writers). */
#include "b8_test.h"

#include <stdlib.h>
#include <unistd.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "b8_crypto.h"
#include "b8_runtime.h"
#include "b8_settings.h"
#include "b8_store.h"
#include "b8_users.h"
#include "b8_util.h"

B8_TEST(settings_precedence)
{
    apr_hash_t *config = apr_hash_make(p), *db = apr_hash_make(p);
    b8_setting_source src;

    B8_CHECK_STR(b8_setting_effective(config, db, "send_interval", &src), "5");
    B8_CHECK_INT(src, B8_SRC_DEFAULT);
    apr_hash_set(db, "send_interval", APR_HASH_KEY_STRING, "0.2");
    B8_CHECK_STR(b8_setting_effective(config, db, "send_interval", &src), "0.2");
    B8_CHECK_INT(src, B8_SRC_DATABASE);
    apr_hash_set(config, "send_interval", APR_HASH_KEY_STRING, "1");
    B8_CHECK_STR(b8_setting_effective(config, db, "send_interval", &src), "1");
    B8_CHECK_INT(src, B8_SRC_CONFIG);
    B8_CHECK(b8_setting_effective(config, db, "api_key", &src) == NULL);
    B8_CHECK(b8_setting_number(b8_settings_make(p, config, db), B8_SET_SEND_INTERVAL) == 1.0);
    B8_CHECK_INT(b8_setting_list(p, b8_settings_make(p, config, db), B8_SET_SMS_SENDERS)->nelts, 5);
}

B8_TEST(settings_validation)
{
    const char *out = NULL;
    B8_CHECK(b8_setting_check(p, b8_setting_find("send_interval"), "0.25", &out) == NULL);
    B8_CHECK_STR(out, "0.25");
    B8_CHECK(b8_setting_check(p, b8_setting_find("send_interval"), "-1", &out) != NULL);
    B8_CHECK(b8_setting_check(p, b8_setting_find("send_interval"), "5s", &out) != NULL);
    B8_CHECK(b8_setting_check(p, b8_setting_find("openai_max_tokens"), "0", &out) != NULL);
    B8_CHECK(b8_setting_check(p, b8_setting_find("ai_respond"), "On", &out) == NULL);
    B8_CHECK_STR(out, "1");
    B8_CHECK(b8_setting_check(p, b8_setting_find("openai_model"), "o1-mini", &out) == NULL);
    B8_CHECK(b8_setting_check(p, b8_setting_find("openai_model"), "gpt-5", &out) != NULL);
    B8_CHECK(b8_setting_check(p, b8_setting_find("chatapps_url"), "https://x.test/", &out) == NULL);
    B8_CHECK_STR(out, "https://x.test");
    B8_CHECK(b8_setting_check(p, b8_setting_find("chatapps_url"), "javascript:alert(1)", &out) != NULL);
    B8_CHECK(b8_setting_check(p, b8_setting_find("sms_senders"), "Blu Coffee\nToo Long Sender", &out) != NULL);
    B8_CHECK(b8_setting_check(p, b8_setting_find("default_country"), "63", &out) == NULL);
    B8_CHECK(b8_setting_check(p, b8_setting_find("default_country"), "6a", &out) != NULL);
    B8_CHECK(b8_setting_find_directive("blu8x8apikey") == b8_setting_find("api_key"));
}

B8_TEST(settings_api_rules)
{
    const b8_setting_def *chat = b8_setting_find("chatapps_url"), *sms = b8_setting_find("sms_url");
    const b8_setting_def *oai = b8_setting_find("openai_url"), *pub = b8_setting_find("public_url");
    const b8_setting_def *hook = b8_setting_find("webhook_authorization");
    /* 8x8's regions and OpenAI only; the rest by directive. */
    B8_CHECK(b8_setting_check_api(p, chat, "https://chatapps.8x8.uk", NULL) == NULL);
    B8_CHECK(b8_setting_check_api(p, chat, "https://chatapps.us.8x8.com", NULL) == NULL);
    B8_CHECK(b8_setting_check_api(p, chat, "https://sms.8x8.com", NULL) != NULL);
    B8_CHECK(b8_setting_check_api(p, chat, "http://chatapps.8x8.com", NULL) != NULL);
    B8_CHECK(b8_setting_check_api(p, chat, "https://chatapps.8x8.com.evil.test", NULL) != NULL);
    B8_CHECK(b8_setting_check_api(p, sms, "https://sms.8x8.id", NULL) == NULL);
    B8_CHECK(b8_setting_check_api(p, sms, "http://evil", NULL) != NULL);
    B8_CHECK(b8_setting_check_api(p, oai, "https://api.openai.com", NULL) == NULL);
    B8_CHECK(b8_setting_check_api(p, oai, "https://api.openai.com.evil", NULL) != NULL);
    /* The value already saved is no new destination. */
    B8_CHECK(b8_setting_check_api(p, oai, "http://proxy.local", "http://proxy.local") == NULL);
    B8_CHECK(b8_setting_check_api(p, pub, "https://engage.example", NULL) == NULL);
    B8_CHECK(b8_setting_check_api(p, hook, "None", NULL) != NULL);
    B8_CHECK(b8_setting_check_api(p, hook, "Bearer k", NULL) == NULL);
    /* A directive takes any URL. */
    B8_CHECK(b8_setting_check(p, chat, "http://127.0.0.1:9/", &(const char *){ NULL }) == NULL);
}

B8_TEST(webhook_auth_mode)
{
    apr_hash_t *config = apr_hash_make(p), *db = apr_hash_make(p);
    const char *want = NULL;
    B8_CHECK_INT(b8_webhook_auth_mode(b8_settings_make(p, config, db), &want), B8_HOOK_CLOSED);
    B8_CHECK_INT(b8_webhook_auth_mode(b8_settings_make(p, NULL, NULL), &want), B8_HOOK_CLOSED);
    apr_hash_set(db, "webhook_authorization", APR_HASH_KEY_STRING, "");
    B8_CHECK_INT(b8_webhook_auth_mode(b8_settings_make(p, config, db), &want), B8_HOOK_CLOSED);
    apr_hash_set(db, "webhook_authorization", APR_HASH_KEY_STRING, "Bearer db");
    B8_CHECK_INT(b8_webhook_auth_mode(b8_settings_make(p, config, db), &want), B8_HOOK_CHECK);
    B8_CHECK_STR(want, "Bearer db");
    /* "none" opens it only from the server config. */
    apr_hash_set(db, "webhook_authorization", APR_HASH_KEY_STRING, "none");
    B8_CHECK_INT(b8_webhook_auth_mode(b8_settings_make(p, config, db), &want), B8_HOOK_CHECK);
    apr_hash_set(config, "webhook_authorization", APR_HASH_KEY_STRING, "None");
    B8_CHECK_INT(b8_webhook_auth_mode(b8_settings_make(p, config, db), &want), B8_HOOK_OPEN);
    apr_hash_set(config, "webhook_authorization", APR_HASH_KEY_STRING, "Bearer conf");
    B8_CHECK_INT(b8_webhook_auth_mode(b8_settings_make(p, config, db), &want), B8_HOOK_CHECK);
    B8_CHECK_STR(want, "Bearer conf");
}

B8_TEST(settings_da_vinci_rule)
{
    apr_hash_t *db = apr_hash_make(p);
    const char *why = NULL;
    apr_hash_set(db, "da_vinci", APR_HASH_KEY_STRING, "1");
    B8_CHECK_STR(b8_settings_check_rules(b8_settings_make(p, NULL, db), &why), "da_vinci");
    apr_hash_set(db, "ai_respond", APR_HASH_KEY_STRING, "1");
    B8_CHECK(b8_settings_check_rules(b8_settings_make(p, NULL, db), &why) == NULL);
}

B8_TEST(crypto_helpers)
{
    const char *u = b8_uuid4(p), *v = b8_uuid4(p);
    B8_CHECK_INT(strlen(u), 36);
    B8_CHECK(u[14] == '4' && strchr("89ab", u[19]) != NULL);
    B8_CHECK(strcmp(u, v) != 0);
    /* RFC 4231 test case 2 */
    B8_CHECK_STR(b8_hmac_sha256_hex(p, "Jefe", "what do ya want for nothing?"),
                 "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    B8_CHECK(b8_secure_equals("Bearer abc", "Bearer abc"));
    B8_CHECK(!b8_secure_equals("Bearer ab", "Bearer abc"));
    B8_CHECK(!b8_secure_equals("Bearer abcd", "Bearer abc"));
    B8_CHECK(!b8_secure_equals(NULL, "x"));
    B8_CHECK(b8_secure_equals_hashed("k", "k") && !b8_secure_equals_hashed("k", "K"));
    B8_CHECK_INT(strlen(b8_random_hex(p, 16)), 32);
}

B8_TEST(time_and_utf8)
{
    apr_time_t t;
    B8_CHECK(b8_time_parse("2026-11-01T08:19:45.99Z", &t));
    B8_CHECK_STR(b8_time_iso(p, t), "2026-11-01T08:19:45.990Z");
    B8_CHECK(b8_time_parse("2026-11-01T16:19:45+08:00", &t));
    B8_CHECK_STR(b8_time_iso(p, t), "2026-11-01T08:19:45.000Z");
    B8_CHECK(b8_time_parse("2026-11-01 08:19", &t));
    B8_CHECK(!b8_time_parse("2026-13-01T00:00:00Z", &t));
    B8_CHECK(!b8_time_parse("yesterday", &t));
    B8_CHECK(b8_utf8_valid("caf\xc3\xa9", 5));
    B8_CHECK(!b8_utf8_valid("caf\xc3", 4));
    B8_CHECK(!b8_utf8_valid("\xc0\xaf", 2));          /* overlong */
    B8_CHECK(!b8_utf8_valid("\xed\xa0\x80", 3));      /* surrogate */
    B8_CHECK(!b8_utf8_valid("a\0b", 3));
    B8_CHECK_INT(b8_utf8_length("\xf0\x9f\x98\x80" "ab"), 3);
}

/* Viber's 1,000-character cap on AI replies: at a sentence end, else at a
 * word with "…", counted in code points, never inside a UTF-8 sequence. */
B8_TEST(text_cap)
{
    const char *s;
    char big[64];

    B8_CHECK_STR(b8_text_cap(p, "Short. Text.", 20), "Short. Text.");
    B8_CHECK_STR(b8_text_cap(p, "One two three. Four five six seven.", 20), "One two three.");
    B8_CHECK_STR(b8_text_cap(p, "Hello there! How are you? Fine thanks", 30),
                 "Hello there! How are you?");
    /* A sentence end too early: at a word boundary instead. */
    B8_CHECK_STR(b8_text_cap(p, "Hi. aaaa bbbb cccc dddd eeee ffff", 20), "Hi. aaaa bbbb cccc\xe2\x80\xa6");
    /* "3.5" is no sentence end. */
    B8_CHECK_STR(b8_text_cap(p, "Price 3.5 pesos per gram of beans", 12), "Price 3.5\xe2\x80\xa6");
    /* Multi-byte text: é is one character; the cut keeps whole characters. */
    s = b8_text_cap(p, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 4);
    B8_CHECK_STR(s, "\xc3\xa9\xc3\xa9\xc3\xa9\xe2\x80\xa6");
    B8_CHECK(b8_utf8_valid(s, strlen(s)));
    memset(big, 0, sizeof(big));
    for (int i = 0; i < 15; i++) {
        memcpy(big + 4 * i, "\xf0\x9f\x98\x80", 4);   /* 15 emoji, no spaces */
    }
    s = b8_text_cap(p, big, 10);
    B8_CHECK_INT(b8_utf8_length(s), 10);
    B8_CHECK(b8_utf8_valid(s, strlen(s)));
    B8_CHECK(b8_text_cap(p, NULL, 10) == NULL);
}

B8_TEST(settings_ids_name_their_row)
{
    /* The enum and the table come from one list: each id finds its key. */
    B8_CHECK_INT(b8_settings_count, B8_SET__COUNT);
    B8_CHECK(b8_setting_find("api_key") == &b8_settings_table[B8_SET_API_KEY]);
    B8_CHECK(b8_setting_find("public_url") == &b8_settings_table[B8_SET_PUBLIC_URL]);
    B8_CHECK(b8_setting_find("send_interval") == &b8_settings_table[B8_SET_SEND_INTERVAL]);
    for (int i = 0; i < B8_SET__COUNT; i++) {
        B8_CHECK(b8_settings_table[i].key && b8_settings_table[i].directive);
        B8_CHECK(b8_setting_find(b8_settings_table[i].key) == &b8_settings_table[i]);
    }
}

/* A save elsewhere: the settings rows and the version bumped together, as
 * b8_settings_update does. */
static void save_elsewhere(b8_db *db, apr_pool_t *p, const char *key, const char *value)
{
    const char *put[] = { key, value, b8_now_iso(p) };
    const char *bump[] = { b8_now_iso(p) };
    B8_CHECK(b8_db_exec(db, p, B8_SQL_SETTING_PUT, put, NULL) == APR_SUCCESS);
    B8_CHECK(b8_db_exec(db, p, B8_SQL_SETTINGS_VERSION_BUMP, bump, NULL) == APR_SUCCESS);
}

B8_TEST(settings_cache_follows_saves)
{
    const char *path = b8_test_temp_db(p), *err = NULL;
    b8_store *st;
    b8_db *db;
    apr_pool_t *sp, *req;
    b8_settings_cache *cache;
    const b8_settings *s1, *s2, *s3;
    apr_uint32_t gen = 0;

    apr_pool_create(&sp, p);
    B8_CHECK(b8_store_open(sp, "sqlite3", path, 2, &st, &err) == APR_SUCCESS);
    B8_CHECK(b8_store_migrate(st, sp, &err) == APR_SUCCESS);
    B8_CHECK(b8_db_get(st, sp, &db) == APR_SUCCESS);
    B8_CHECK(b8_settings_cache_create(sp, NULL, &gen, &cache) == APR_SUCCESS);
    apr_pool_create(&req, sp);
    B8_CHECK(b8_settings_cache_get(cache, db, req, &s1) == APR_SUCCESS);
    B8_CHECK_STR(b8_setting_str(s1, B8_SET_SEND_INTERVAL), "5");
    B8_CHECK(b8_settings_cache_get(cache, db, req, &s2) == APR_SUCCESS);
    B8_CHECK(s1 == s2);   /* no second read */
    /* Another server saves: seen once the recheck interval has passed. */
    save_elsewhere(db, sp, "send_interval", "2");
    apr_sleep(B8_SETTINGS_RECHECK + apr_time_from_msec(20));
    B8_CHECK(b8_settings_cache_get(cache, db, req, &s3) == APR_SUCCESS);
    B8_CHECK_STR(b8_setting_str(s3, B8_SET_SEND_INTERVAL), "2");
    B8_CHECK_INT(b8_setting_int(s3, B8_SET_SEND_INTERVAL), 2);
    /* The snapshot a request holds stays as it was. */
    B8_CHECK_STR(b8_setting_str(s1, B8_SET_SEND_INTERVAL), "5");
    /* A save on this server: seen at once through the shared counter. */
    save_elsewhere(db, sp, "send_interval", "3");
    b8_settings_cache_changed(cache);
    B8_CHECK_INT(gen, 1);
    B8_CHECK(b8_settings_cache_get(cache, db, req, &s2) == APR_SUCCESS);
    B8_CHECK_STR(b8_setting_str(s2, B8_SET_SEND_INTERVAL), "3");
    B8_CHECK(s2->source[B8_SET_SEND_INTERVAL] == B8_SRC_DATABASE);
    apr_pool_destroy(req);
    apr_pool_destroy(sp);
    b8_test_remove_db(p, path);
}

B8_TEST(store_migrates_once_and_keeps_data)
{
    const char *path = b8_test_temp_db(p), *err = NULL, *v = NULL, *secret1, *secret2;
    b8_store *st;
    b8_db *db;
    apr_pool_t *sp;

    apr_pool_create(&sp, p);
    B8_CHECK(b8_store_open(sp, "sqlite3", path, 4, &st, &err) == APR_SUCCESS);
    B8_CHECK(b8_store_migrate(st, sp, &err) == APR_SUCCESS);
    B8_CHECK(b8_store_migrate(st, sp, &err) == APR_SUCCESS);   /* idempotent */
    B8_CHECK(b8_db_get(st, sp, &db) == APR_SUCCESS);
    B8_CHECK(b8_db_value(db, sp, B8_SQL_SCHEMA_VERSION, NULL, &v) == APR_SUCCESS);
    B8_CHECK_INT(atoi(v ? v : "0"), b8_store_schema_version());
    B8_CHECK(b8_server_secret(db, sp, &secret1) == APR_SUCCESS);
    B8_CHECK(b8_server_secret(db, sp, &secret2) == APR_SUCCESS);
    B8_CHECK_STR(secret1, secret2);
    B8_CHECK_INT(strlen(secret1), 64);
    B8_CHECK(b8_users_bootstrap_admin(db, sp, "root-admin") == APR_SUCCESS);
    B8_CHECK(b8_users_bootstrap_admin(db, sp, "root-admin") == APR_SUCCESS);
    {
        b8_user *u = NULL;
        B8_CHECK(b8_user_by_login(db, sp, "root-admin", &u) == APR_SUCCESS);
        B8_CHECK(u && u->is_admin && !u->is_agent);
    }
    apr_pool_destroy(sp);
    b8_test_remove_db(p, path);
}

B8_TEST(store_rollback_discards)
{
    const char *path = b8_test_temp_db(p), *err = NULL, *v = "x";
    b8_store *st;
    b8_db *db;
    apr_pool_t *sp;
    const char *args[] = { "k", "v", "2026-01-01T00:00:00.000Z" };
    const char *key[] = { "k" };

    apr_pool_create(&sp, p);
    B8_CHECK(b8_store_open(sp, "sqlite3", path, 2, &st, &err) == APR_SUCCESS);
    B8_CHECK(b8_store_migrate(st, sp, &err) == APR_SUCCESS);
    B8_CHECK(b8_db_get(st, sp, &db) == APR_SUCCESS);
    B8_CHECK(b8_db_begin(db) == APR_SUCCESS);
    B8_CHECK(b8_db_exec(db, sp, B8_SQL_RUNTIME_PUT, args, NULL) == APR_SUCCESS);
    b8_db_rollback(db);
    B8_CHECK(b8_db_value(db, sp, B8_SQL_RUNTIME_GET, key, &v) == APR_SUCCESS);
    B8_CHECK(v == NULL);
    B8_CHECK(b8_db_begin(db) == APR_SUCCESS);
    B8_CHECK(b8_db_begin(db) != APR_SUCCESS);   /* no nesting */
    B8_CHECK(b8_db_exec(db, sp, B8_SQL_RUNTIME_PUT, args, NULL) == APR_SUCCESS);
    B8_CHECK(b8_db_commit(db) == APR_SUCCESS);
    B8_CHECK(b8_db_value(db, sp, B8_SQL_RUNTIME_GET, key, &v) == APR_SUCCESS);
    B8_CHECK_STR(v, "v");
    apr_pool_destroy(sp);
    b8_test_remove_db(p, path);
}

/* Several threads of one process doing read-then-write transactions on the
 * same row: with BEGIN IMMEDIATE and the store's write lock none may fail
 * and no increment may be lost. */
typedef struct { b8_store *st; int failures; } counter_job;

static void *APR_THREAD_FUNC increment_many(apr_thread_t *t, void *data)
{
    counter_job *job = data;
    apr_pool_t *tp;
    apr_pool_create(&tp, NULL);
    for (int i = 0; i < 200; i++) {
        b8_db *db;
        const char *v = NULL;
        const char *key[] = { "counter" };
        if (b8_db_get(job->st, tp, &db) != APR_SUCCESS || b8_db_begin(db) != APR_SUCCESS
            || b8_db_value(db, tp, B8_SQL_RUNTIME_GET, key, &v) != APR_SUCCESS) {
            job->failures++;
        }
        else {
            const char *args[] = { "counter", apr_itoa(tp, (v ? atoi(v) : 0) + 1),
                                   "2026-01-01T00:00:00.000Z" };
            if (b8_db_exec(db, tp, B8_SQL_RUNTIME_PUT, args, NULL) != APR_SUCCESS
                || b8_db_commit(db) != APR_SUCCESS) {
                job->failures++;
            }
        }
        apr_pool_clear(tp);
    }
    apr_pool_destroy(tp);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

B8_TEST(store_concurrent_writers_lose_nothing)
{
    const char *path = b8_test_temp_db(p), *err = NULL, *v = NULL;
    b8_store *st;
    b8_db *db;
    apr_pool_t *sp;
    apr_thread_t *threads[4];
    counter_job jobs[4];
    apr_status_t trv;
    const char *key[] = { "counter" };

    apr_pool_create(&sp, p);
    B8_CHECK(b8_store_open(sp, "sqlite3", path, 4, &st, &err) == APR_SUCCESS);
    B8_CHECK(b8_store_migrate(st, sp, &err) == APR_SUCCESS);
    for (int i = 0; i < 4; i++) {
        jobs[i].st = st;
        jobs[i].failures = 0;
        apr_thread_create(&threads[i], NULL, increment_many, &jobs[i], sp);
    }
    for (int i = 0; i < 4; i++) {
        apr_thread_join(&trv, threads[i]);
        B8_CHECK_INT(jobs[i].failures, 0);
    }
    B8_CHECK(b8_db_get(st, sp, &db) == APR_SUCCESS);
    B8_CHECK(b8_db_value(db, sp, B8_SQL_RUNTIME_GET, key, &v) == APR_SUCCESS);
    B8_CHECK_STR(v, "800");
    apr_pool_destroy(sp);
    b8_test_remove_db(p, path);
}

/* Group commit: threads hand in read-then-write works at once; works that
 * share a transaction still see each other's writes, and a failing work
 * (every 25th of thread 0) is undone alone, reported to its own caller. */
typedef struct { b8_store *st; int fail_every, failures, refused; } group_job;
typedef struct { int fail; } increment_arg;

static apr_status_t increment_work(b8_db *db, apr_pool_t *p, void *data)
{
    increment_arg *a = data;
    const char *key[] = { "counter" };
    const char *v = NULL;
    apr_status_t rv = b8_db_value(db, p, B8_SQL_RUNTIME_GET, key, &v);

    if (rv == APR_SUCCESS) {
        const char *args[] = { "counter", apr_itoa(p, (v ? atoi(v) : 0) + 1),
                               "2026-01-01T00:00:00.000Z" };
        rv = b8_db_exec(db, p, B8_SQL_RUNTIME_PUT, args, NULL);
    }
    return rv == APR_SUCCESS && a->fail ? APR_EGENERAL : rv;
}

static void *APR_THREAD_FUNC group_many(apr_thread_t *t, void *data)
{
    group_job *job = data;
    apr_pool_t *tp;

    apr_pool_create(&tp, NULL);
    for (int i = 1; i <= 100; i++) {
        increment_arg a = { job->fail_every && i % job->fail_every == 0 };
        b8_db *db;
        if (b8_db_get(job->st, tp, &db) != APR_SUCCESS) {
            job->failures++;
        }
        else if (b8_db_group_write(db, increment_work, NULL, &a) != APR_SUCCESS) {
            job->refused += a.fail;
            job->failures += !a.fail;
        }
        else {
            job->failures += a.fail;   /* a failing work must not be committed */
        }
        apr_pool_clear(tp);
    }
    apr_pool_destroy(tp);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

B8_TEST(store_group_write_commits_each_work_once)
{
    const char *path = b8_test_temp_db(p), *err = NULL, *v = NULL;
    b8_store *st;
    b8_db *db;
    apr_pool_t *sp;
    apr_thread_t *threads[8];
    group_job jobs[8];
    apr_status_t trv;
    const char *key[] = { "counter" };

    apr_pool_create(&sp, p);
    B8_CHECK(b8_store_open(sp, "sqlite3", path, 8, &st, &err) == APR_SUCCESS);
    B8_CHECK(b8_store_migrate(st, sp, &err) == APR_SUCCESS);
    for (int i = 0; i < 8; i++) {
        jobs[i] = (group_job){ .st = st, .fail_every = i == 0 ? 25 : 0 };
        apr_thread_create(&threads[i], NULL, group_many, &jobs[i], sp);
    }
    for (int i = 0; i < 8; i++) {
        apr_thread_join(&trv, threads[i]);
        B8_CHECK_INT(jobs[i].failures, 0);
    }
    B8_CHECK_INT(jobs[0].refused, 4);
    B8_CHECK(b8_db_get(st, sp, &db) == APR_SUCCESS);
    B8_CHECK(b8_db_value(db, sp, B8_SQL_RUNTIME_GET, key, &v) == APR_SUCCESS);
    B8_CHECK_STR(v, "796");
    /* Inside an open transaction the work simply joins it. */
    {
        increment_arg a = { 0 };
        B8_CHECK(b8_db_begin(db) == APR_SUCCESS);
        B8_CHECK(b8_db_group_write(db, increment_work, NULL, &a) == APR_SUCCESS);
        b8_db_rollback(db);
        B8_CHECK(b8_db_value(db, sp, B8_SQL_RUNTIME_GET, key, &v) == APR_SUCCESS);
        B8_CHECK_STR(v, "796");
    }
    apr_pool_destroy(sp);
    b8_test_remove_db(p, path);
}

/* Recipient counts per campaign and state (campaign_counts) are filled in
 * from the rows by migration 2 and kept by triggers from then on. */
static const char *counts_of(b8_db *db, apr_pool_t *p, const char *campaign_id)
{
    const char *args[] = { campaign_id };
    const char *out = "";
    b8_rows *rows;

    if (b8_db_select(db, p, B8_SQL_CAMPAIGN_COUNTS, args, &rows) != APR_SUCCESS) {
        return "error";
    }
    for (int i = 0; i < rows->nrows; i++) {
        out = apr_pstrcat(p, out, *out ? " " : "", B8_GET(rows, i, STATE_COUNT, state), "=",
                          B8_GET(rows, i, STATE_COUNT, n), NULL);
    }
    return out;
}

B8_TEST(store_campaign_counts_follow_the_rows)
{
    const char *path = b8_test_temp_db(p), *err = NULL, *cid = NULL, *mid = NULL;
    const char *now = "2026-01-01T00:00:00.000Z";
    b8_store *st;
    b8_db *db;
    apr_pool_t *sp, *v1;

    apr_pool_create(&sp, p);
    apr_pool_create(&v1, sp);
    B8_CHECK(b8_store_open(sp, "sqlite3", path, 2, &st, &err) == APR_SUCCESS);
    B8_CHECK(b8_store_migrate_to(st, v1, 1, &err) == APR_SUCCESS);
    B8_CHECK(b8_store_migrate_to(st, v1, 9999, &err) == APR_EINVAL);
    B8_CHECK(b8_db_get(st, v1, &db) == APR_SUCCESS);
    {
        const char *c[] = { "Counts", "text", "Hi", NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                            now, now };
        B8_CHECK(b8_db_value(db, v1, B8_SQL_CAMPAIGN_INSERT, c, &cid) == APR_SUCCESS && cid);
        cid = apr_pstrdup(sp, cid);
    }
    for (int i = 0; i < 3; i++) {
        const char *phone = apr_psprintf(v1, "+63917000000%d", i);
        const char *r[] = { cid, NULL, phone, phone + 1, "", apr_psprintf(v1, "cm-%d", i),
                            now, now };
        B8_CHECK(b8_db_exec(db, v1, B8_SQL_RECIPIENT_INSERT, r, NULL) == APR_SUCCESS);
    }
    {
        const char *k[] = { "cm-0" };
        const char *id = NULL;
        B8_CHECK(b8_db_value(db, v1, B8_SQL_RECEIPT_MESSAGE_BY_CMID, k, &id) == APR_SUCCESS);
        mid = apr_pstrdup(sp, id);
        const char *mark[] = { now, mid };
        B8_CHECK(b8_db_exec(db, v1, B8_SQL_SEND_MARK, mark, NULL) == APR_SUCCESS);
    }
    apr_pool_destroy(v1);   /* that connection's statements know only schema 1 */

    B8_CHECK(b8_store_migrate(st, sp, &err) == APR_SUCCESS);
    B8_CHECK(b8_db_get(st, sp, &db) == APR_SUCCESS);
    B8_CHECK_STR(counts_of(db, sp, cid), "pending=2 sending=1");
    {
        const char *apply[] = { "delivered", NULL, NULL, NULL, NULL, now, "delivered", now,
                                "delivered", now, now, mid, "viber", "5" };
        const char *cancel[] = { now, cid };
        const char *del[] = { mid, cid };
        int n = 0;
        B8_CHECK(b8_db_exec(db, sp, B8_SQL_RECEIPT_MESSAGE_APPLY, apply, &n) == APR_SUCCESS);
        B8_CHECK_INT(n, 1);
        B8_CHECK(b8_db_exec(db, sp, B8_SQL_ACTION_CANCEL_PENDING, cancel, &n) == APR_SUCCESS);
        B8_CHECK_INT(n, 2);
        B8_CHECK_STR(counts_of(db, sp, cid), "cancelled=2 delivered=1");
        B8_CHECK(b8_db_exec(db, sp, B8_SQL_RECIPIENT_DELETE, del, &n) == APR_SUCCESS);
        B8_CHECK_STR(counts_of(db, sp, cid), "cancelled=2");
    }
    apr_pool_destroy(sp);
    b8_test_remove_db(p, path);
}

/* The migration whose SQLite statements begin with `start` (by content, so
 * migrations added after it do not move the test). */
static int migration_starting(const char *start)
{
    for (int v = 1; v <= b8_sql_migration_count(); v++) {
        const char *const *extra = b8_sql_migration_extra(v, 1);
        if (extra && extra[0] && strncmp(extra[0], start, strlen(start)) == 0) {
            return v;
        }
    }
    return 0;
}

/* Migration 5 (inbound.phone nullable; SQLite rebuilds the table): the rows
 * stored before it stay, ids go on after theirs, and a sender without a
 * phone number can be stored after it (and not before). */
B8_TEST(store_inbound_phone_becomes_nullable)
{
    int nullable = migration_starting("CREATE TABLE inbound_new");
    const char *path = b8_test_temp_db(p), *err = NULL, *id1 = NULL, *id2 = NULL, *seen = NULL;
    const char *now = "2026-01-01T00:00:00.000Z";
    b8_store *st;
    b8_db *db;
    apr_pool_t *sp, *old;
    const char *with_phone[] = { "u-1", "ChatApps", "viber", "+639170000001", "639170000001",
                                 "Ana", "text", "Hi", "{}", NULL, now, NULL, "new" };
    const char *no_phone[] = { "u-2", "SMS", "sms", NULL, "@sms:GLOBE", "GLOBE", "text",
                               "Promo", "{}", NULL, now, NULL, "skipped" };

    apr_pool_create(&sp, p);
    apr_pool_create(&old, sp);
    B8_CHECK(b8_store_open(sp, "sqlite3", path, 2, &st, &err) == APR_SUCCESS);
    B8_CHECK(nullable > 1);
    B8_CHECK(b8_store_migrate_to(st, old, nullable - 1, &err) == APR_SUCCESS);
    B8_CHECK(b8_db_get(st, old, &db) == APR_SUCCESS);
    B8_CHECK(b8_db_value(db, old, B8_SQL_INBOUND_INSERT, with_phone, &id1) == APR_SUCCESS && id1);
    id1 = apr_pstrdup(sp, id1);
    B8_CHECK(b8_db_value(db, old, B8_SQL_INBOUND_INSERT, no_phone, &id2) != APR_SUCCESS);
    apr_pool_destroy(old);   /* that connection's statements know the old schema */

    B8_CHECK(b8_store_migrate(st, sp, &err) == APR_SUCCESS);
    B8_CHECK(b8_db_get(st, sp, &db) == APR_SUCCESS);
    {
        const char *k[] = { "u-1" };
        B8_CHECK(b8_db_value(db, sp, B8_SQL_INBOUND_EXISTS, k, &seen) == APR_SUCCESS && seen);
    }
    id2 = NULL;
    B8_CHECK(b8_db_value(db, sp, B8_SQL_INBOUND_INSERT, no_phone, &id2) == APR_SUCCESS && id2);
    B8_CHECK(id2 && atol(id2) > atol(id1));
    /* The UMID stays unique. */
    B8_CHECK(b8_db_value(db, sp, B8_SQL_INBOUND_INSERT, with_phone, &id2) == APR_SUCCESS
             && id2 == NULL);
    apr_pool_destroy(sp);
    b8_test_remove_db(p, path);
}

/* The migration whose common SQLite DDL holds `text` (by content). */
static int migration_holding(apr_pool_t *p, const char *text)
{
    for (int v = 1; v <= b8_sql_migration_count(); v++) {
        if (strstr(b8_sql_migration(p, v, 1), text)) {
            return v;
        }
    }
    return 0;
}

/* The conversations migration: one conversation per phone key of the
 * inbound messages stored before it, latest activity first. */
B8_TEST(store_conversations_filled_from_inbound)
{
    int conversations = migration_holding(p, "CREATE TABLE conversations");
    const char *path = b8_test_temp_db(p), *err = NULL, *id = NULL, *total = NULL;
    b8_store *st;
    b8_db *db;
    b8_rows *rows;
    apr_pool_t *sp, *old;
    const char *a1[] = { "c-1", "ChatApps", "viber", "+639170000001", "639170000001", "Ana",
                         "text", "Hi", "{}", NULL, "2026-01-01T00:00:01.000Z", NULL, "answered" };
    const char *a2[] = { "c-2", "ChatApps", "viber", "+639170000001", "639170000001", "Ana",
                         "text", "Again", "{}", NULL, "2026-01-01T00:00:03.000Z", NULL, "new" };
    const char *b1[] = { "c-3", "ChatApps", "viber", "+639170000002", "639170000002", "Ben",
                         "text", "Yo", "{}", NULL, "2026-01-01T00:00:02.000Z", NULL, "new" };

    apr_pool_create(&sp, p);
    apr_pool_create(&old, sp);
    B8_CHECK(b8_store_open(sp, "sqlite3", path, 2, &st, &err) == APR_SUCCESS);
    B8_CHECK(conversations > 1);
    B8_CHECK(b8_store_migrate_to(st, old, conversations - 1, &err) == APR_SUCCESS);
    B8_CHECK(b8_db_get(st, old, &db) == APR_SUCCESS);
    B8_CHECK(b8_db_value(db, old, B8_SQL_INBOUND_INSERT, a1, &id) == APR_SUCCESS && id);
    B8_CHECK(b8_db_value(db, old, B8_SQL_INBOUND_INSERT, b1, &id) == APR_SUCCESS && id);
    B8_CHECK(b8_db_value(db, old, B8_SQL_INBOUND_INSERT, a2, &id) == APR_SUCCESS && id);
    apr_pool_destroy(old);

    B8_CHECK(b8_store_migrate(st, sp, &err) == APR_SUCCESS);
    B8_CHECK(b8_db_get(st, sp, &db) == APR_SUCCESS);
    {
        const char *none[] = { NULL, NULL, NULL, NULL, NULL, NULL };
        const char *page[] = { NULL, NULL, NULL, NULL, NULL, NULL, "10", "0" };
        B8_CHECK(b8_db_value(db, sp, B8_SQL_CONV_COUNT, none, &total) == APR_SUCCESS && total
                 && strcmp(total, "2") == 0);
        B8_CHECK(b8_db_select(db, sp, B8_SQL_CONV_PAGE, page, &rows) == APR_SUCCESS
                 && rows->nrows == 2);
        /* Ana wrote last; both open, unassigned. */
        B8_CHECK(strcmp(B8_GET(rows, 0, CONV, phone), "+639170000001") == 0);
        B8_CHECK(strcmp(B8_GET(rows, 0, CONV, last_message_at), "2026-01-01T00:00:03.000Z") == 0);
        B8_CHECK(strcmp(B8_GET(rows, 1, CONV, name), "Ben") == 0);
        B8_CHECK(strcmp(B8_GET(rows, 0, CONV, status), "open") == 0 && !B8_GET(rows, 0, CONV, assignee));
    }
    {
        /* The thread of Ana: both inbound messages, newest first. */
        const char *args[] = { "639170000001", "639170000001", "10" };
        B8_CHECK(b8_db_select(db, sp, B8_SQL_CONV_THREAD, args, &rows) == APR_SUCCESS
                 && rows->nrows == 2 && strcmp(B8_GET(rows, 0, CONV_THREAD, body), "Again") == 0);
    }
    apr_pool_destroy(sp);
    b8_test_remove_db(p, path);
}

/* Search keys fold case and marks: Jose finds José. */
B8_TEST(fold_key)
{
    B8_CHECK(strcmp(b8_fold_key(p, "José Ñúñez"), "jose nunez") == 0);
    B8_CHECK(strcmp(b8_fold_key(p, "ÆSIR Straße Łódź"), "aesir strasse lodz") == 0);
    B8_CHECK(strcmp(b8_fold_key(p, "Иван 李"), "Иван 李") == 0);
    B8_CHECK(strcmp(b8_fold_key(p, ""), "") == 0);
}

/* The suppressions migration: opted-out contacts move onto the suppression list, with
 * their opt-out time; the others do not. */
B8_TEST(store_opted_out_contacts_become_suppressions)
{
    int mine = 0;
    const char *path = b8_test_temp_db(p), *err = NULL, *id = NULL;
    b8_store *st;
    b8_db *db;
    apr_pool_t *sp, *old;
    const char *out[] = { "Ana", "+639170000001", "639170000001", "1", "2026-01-02T00:00:00.000Z",
                          "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z" };
    const char *in[] = { "Ben", "+639170000002", "639170000002", "0", NULL,
                         "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z" };
    b8_rows *rows;

    apr_pool_create(&sp, p);
    apr_pool_create(&old, sp);
    B8_CHECK(b8_store_open(sp, "sqlite3", path, 2, &st, &err) == APR_SUCCESS);
    /* The schema just before the migration that makes the list, whatever
     * its number. */
    for (int v = 1; v <= b8_sql_migration_count() && !mine; v++) {
        if (strstr(b8_sql_migration(sp, v, 1), "CREATE TABLE suppressions")) {
            mine = v;
        }
    }
    B8_CHECK(mine > 1);
    B8_CHECK(b8_store_migrate_to(st, old, mine - 1, &err) == APR_SUCCESS);
    B8_CHECK(b8_db_get(st, old, &db) == APR_SUCCESS);
    B8_CHECK(b8_db_value(db, old, B8_SQL_CONTACT_INSERT, out, &id) == APR_SUCCESS && id);
    B8_CHECK(b8_db_value(db, old, B8_SQL_CONTACT_INSERT, in, &id) == APR_SUCCESS && id);
    apr_pool_destroy(old);

    B8_CHECK(b8_store_migrate(st, sp, &err) == APR_SUCCESS);
    B8_CHECK(b8_db_get(st, sp, &db) == APR_SUCCESS);
    B8_CHECK(b8_db_select(db, sp, B8_SQL_SUPPRESSIONS_ALL, NULL, &rows) == APR_SUCCESS);
    B8_CHECK(rows->nrows == 1);
    B8_CHECK(rows->nrows == 1 && B8_GET_IS(rows, 0, SUPPRESSION, phone, "+639170000001")
             && B8_GET_IS(rows, 0, SUPPRESSION, created_at, "2026-01-02T00:00:00.000Z"));
    {
        const char *k[] = { "+639170000001" };
        B8_CHECK(b8_db_select(db, sp, B8_SQL_CONTACT_BY_PHONE, k, &rows) == APR_SUCCESS
                 && rows->nrows == 1 && B8_GET_IS(rows, 0, CONTACT, opted_out, "1"));
    }
    apr_pool_destroy(sp);
    b8_test_remove_db(p, path);
}

B8_TEST_MAIN(B8_CASE(settings_precedence), B8_CASE(settings_validation),
             B8_CASE(settings_ids_name_their_row), B8_CASE(settings_cache_follows_saves),
             B8_CASE(settings_da_vinci_rule), B8_CASE(settings_api_rules),
             B8_CASE(webhook_auth_mode), B8_CASE(crypto_helpers), B8_CASE(time_and_utf8),
             B8_CASE(text_cap),
             B8_CASE(store_migrates_once_and_keeps_data), B8_CASE(store_rollback_discards),
             B8_CASE(store_concurrent_writers_lose_nothing),
             B8_CASE(store_group_write_commits_each_work_once),
             B8_CASE(store_campaign_counts_follow_the_rows),
             B8_CASE(store_inbound_phone_becomes_nullable),
             B8_CASE(store_conversations_filled_from_inbound),
             B8_CASE(fold_key), B8_CASE(store_opted_out_contacts_become_suppressions))
