/* The one file of SQL. Statements are portable between SQLite (3.35+, for
 * RETURNING) and PostgreSQL; migrations use @PK@ and @ID@ for the column
 * types that differ. Times are ISO 8601 UTC text, booleans 0/1. */
#include "b8_sql.h"

#include <string.h>
#include <apr_strings.h>

static const struct { const char *sql; } statements[B8_SQL_COUNT] = {
    [B8_SQL_SCHEMA_VERSION] = { "SELECT MAX(version) FROM schema_version" },
    [B8_SQL_SCHEMA_VERSION_SET] = { "INSERT INTO schema_version (version) VALUES (%s)" },

    [B8_SQL_SETTINGS_ALL] = { "SELECT key, value FROM settings" },
    [B8_SQL_SETTING_PUT] = {
        "INSERT INTO settings (key, value, updated_at) VALUES (%s, %s, %s) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at" },
    [B8_SQL_SETTING_DELETE] = { "DELETE FROM settings WHERE key = %s" },

    [B8_SQL_RUNTIME_GET] = { "SELECT value, updated_at FROM runtime WHERE key = %s" },
    [B8_SQL_RUNTIME_PUT] = {
        "INSERT INTO runtime (key, value, updated_at) VALUES (%s, %s, %s) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at" },
    [B8_SQL_RUNTIME_PUT_IF_ABSENT] = {
        "INSERT INTO runtime (key, value, updated_at) VALUES (%s, %s, %s) "
        "ON CONFLICT (key) DO NOTHING" },

    /* users */
    [B8_SQL_USERS_COUNT] = { "SELECT COUNT(*) FROM users" },
    [B8_SQL_USERS_PAGE] = {
        "SELECT id, login, name, phone, is_admin, is_agent, created_at FROM users "
        "ORDER BY login LIMIT %s OFFSET %s" },
    [B8_SQL_USER_BY_ID] = {
        "SELECT id, login, name, phone, is_admin, is_agent, created_at FROM users WHERE id = %s" },
    [B8_SQL_USER_BY_LOGIN] = {
        "SELECT id, login, name, phone, is_admin, is_agent, created_at FROM users WHERE login = %s" },
    [B8_SQL_USER_INSERT] = {
        "INSERT INTO users (login, name, phone, is_admin, is_agent, created_at, updated_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (login) DO NOTHING RETURNING id" },
    [B8_SQL_USER_UPDATE] = {
        "UPDATE users SET login = %s, name = %s, phone = %s, is_admin = %s, is_agent = %s, "
        "updated_at = %s WHERE id = %s" },
    [B8_SQL_USER_DELETE] = { "DELETE FROM users WHERE id = %s" },
    /* A Blu8x8Admin login gets a user row with the administrator role only
     * when it has none, so the admin pages can change it afterwards. */
    [B8_SQL_USER_BOOTSTRAP_ADMIN] = {
        "INSERT INTO users (login, name, phone, is_admin, is_agent, created_at, updated_at) "
        "VALUES (%s, %s, NULL, 1, 0, %s, %s) ON CONFLICT (login) DO NOTHING" },
    [B8_SQL_USER_ENSURE_ADMIN] = {
        "UPDATE users SET is_admin = 1 WHERE login = %s AND is_admin = 0" },

    /* (each area's statements follow, in the order of B8_SQL_LIST) */
};

#define B8_SQL_RW_R 0
#define B8_SQL_RW_W 1
static const struct { const char *name; int writes; } meta[B8_SQL_COUNT] = {
#define B8_SQL_META(name, rw) [B8_SQL_##name] = { #name, B8_SQL_RW_##rw },
    B8_SQL_LIST(B8_SQL_META)
#undef B8_SQL_META
};

const char *b8_sql_text(b8_sql_id id)
{
    return statements[id].sql;
}

const char *b8_sql_name(b8_sql_id id)
{
    return meta[id].name;
}

int b8_sql_writes(b8_sql_id id)
{
    return meta[id].writes;
}

int b8_sql_nargs(b8_sql_id id)
{
    int n = 0;
    for (const char *s = statements[id].sql; (s = strchr(s, '%')) != NULL; s += 2) {
        n++;
    }
    return n;
}

/* Migration 1: the whole schema of SPEC.md. */
static const char *const migrations[] = {
    "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL);"
    "CREATE TABLE runtime (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL);"
    "CREATE TABLE users (id @PK@, login TEXT NOT NULL UNIQUE, name TEXT NOT NULL DEFAULT '',"
    " phone TEXT, is_admin INTEGER NOT NULL DEFAULT 0, is_agent INTEGER NOT NULL DEFAULT 0,"
    " created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
    "CREATE TABLE tags (id @PK@, name TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL);"
    "CREATE TABLE contacts (id @PK@, name TEXT NOT NULL DEFAULT '', phone TEXT NOT NULL UNIQUE,"
    " phone_key TEXT NOT NULL, opted_out INTEGER NOT NULL DEFAULT 0, opted_out_at TEXT,"
    " created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
    "CREATE INDEX contacts_phone_key ON contacts (phone_key);"
    "CREATE TABLE contact_tags (contact_id @ID@ NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,"
    " tag_id @ID@ NOT NULL REFERENCES tags (id) ON DELETE CASCADE, PRIMARY KEY (contact_id, tag_id));"
    "CREATE INDEX contact_tags_tag ON contact_tags (tag_id, contact_id);"
    "CREATE TABLE campaigns (id @PK@, name TEXT NOT NULL, type TEXT NOT NULL,"
    " body TEXT NOT NULL DEFAULT '', url TEXT, fallback_text TEXT, thumbnail_url TEXT,"
    " file_size @ID@, duration INTEGER, button_caption TEXT, button_url TEXT,"
    " state TEXT NOT NULL DEFAULT 'draft', send_at TEXT, queued_at TEXT,"
    " created_at TEXT NOT NULL, updated_at TEXT NOT NULL, started_at TEXT, done_at TEXT);"
    "CREATE INDEX campaigns_state ON campaigns (state, id);"
    "CREATE TABLE sms_batches (id @PK@, sender TEXT NOT NULL, body TEXT NOT NULL,"
    " state TEXT NOT NULL DEFAULT 'pending', total INTEGER NOT NULL DEFAULT 0,"
    " created_by TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
    "CREATE TABLE inbound (id @PK@, umid TEXT NOT NULL UNIQUE, namespace TEXT NOT NULL,"
    " channel TEXT, phone TEXT NOT NULL, phone_key TEXT, name TEXT, type TEXT NOT NULL,"
    " body TEXT, raw TEXT NOT NULL, event_at TEXT, received_at TEXT NOT NULL, contact_id @ID@,"
    " ai_state TEXT NOT NULL DEFAULT 'new', ai_error TEXT, ai_attempts INTEGER NOT NULL DEFAULT 0,"
    " ai_claimed_at TEXT, ai_next_at TEXT, reply_id @ID@, intent TEXT);"
    "CREATE INDEX inbound_ai ON inbound (ai_state, id);"
    "CREATE INDEX inbound_phone ON inbound (phone_key, id);"
    "CREATE TABLE messages (id @PK@, kind TEXT NOT NULL, channel TEXT NOT NULL,"
    " campaign_id @ID@ REFERENCES campaigns (id) ON DELETE CASCADE,"
    " sms_batch_id @ID@ REFERENCES sms_batches (id) ON DELETE CASCADE,"
    " inbound_id @ID@, lead_id @ID@, user_id @ID@, contact_id @ID@,"
    " phone TEXT NOT NULL, phone_key TEXT, name TEXT, body TEXT, sender TEXT, encoding TEXT,"
    " parts INTEGER, client_message_id TEXT NOT NULL UNIQUE, umid TEXT,"
    " state TEXT NOT NULL DEFAULT 'pending', status_detail TEXT, error_code TEXT,"
    " error_message TEXT, price TEXT, attempts INTEGER NOT NULL DEFAULT 0,"
    " created_at TEXT NOT NULL, updated_at TEXT NOT NULL, sent_at TEXT, receipt_at TEXT);"
    "CREATE UNIQUE INDEX messages_campaign_phone ON messages (campaign_id, phone);"
    "CREATE INDEX messages_campaign_state ON messages (campaign_id, state, id);"
    "CREATE INDEX messages_umid ON messages (umid);"
    "CREATE INDEX messages_kind_state ON messages (kind, state, id);"
    "CREATE INDEX messages_phone ON messages (phone_key, id);"
    "CREATE INDEX messages_batch ON messages (sms_batch_id, id);"
    "CREATE TABLE receipts (id @PK@, umid TEXT, client_message_id TEXT, namespace TEXT NOT NULL,"
    " state TEXT NOT NULL, detail TEXT, error_code TEXT, error_message TEXT, price TEXT,"
    " event_at TEXT, received_at TEXT NOT NULL, matched INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX receipts_cmid ON receipts (client_message_id);"
    "CREATE INDEX receipts_umid ON receipts (umid);"
    "CREATE TABLE faqs (id @PK@, prompt TEXT NOT NULL, completion TEXT NOT NULL,"
    " position INTEGER NOT NULL);"
    "CREATE TABLE leads (id @PK@, inbound_id @ID@ UNIQUE, name TEXT NOT NULL, phone TEXT NOT NULL,"
    " contact_id @ID@, claimed_by @ID@, claimed_at TEXT, created_at TEXT NOT NULL);"
    "CREATE INDEX leads_claimed ON leads (claimed_by, id)",
};

int b8_sql_migration_count(void)
{
    return (int)(sizeof(migrations) / sizeof(migrations[0]));
}

static const char *replace_all(apr_pool_t *p, const char *s, const char *from, const char *to)
{
    const char *out = "";
    const char *hit;
    while ((hit = strstr(s, from)) != NULL) {
        out = apr_pstrcat(p, out, apr_pstrndup(p, s, (apr_size_t)(hit - s)), to, NULL);
        s = hit + strlen(from);
    }
    return apr_pstrcat(p, out, s, NULL);
}

static const char *expand(apr_pool_t *p, const char *ddl, const char *pk, const char *id)
{
    return replace_all(p, replace_all(p, ddl, "@PK@", pk), "@ID@", id);
}

const char *b8_sql_migration(apr_pool_t *p, int v, int sqlite)
{
    return sqlite ? expand(p, migrations[v - 1], "INTEGER PRIMARY KEY AUTOINCREMENT", "INTEGER")
                  : expand(p, migrations[v - 1], "BIGSERIAL PRIMARY KEY", "BIGINT");
}
