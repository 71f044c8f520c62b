/* The one file of SQL. Statements are portable between SQLite (3.35+, for
 * RETURNING) and PostgreSQL; migrations use @PK@ and @ID@ for the column
 * types that differ. Times are ISO 8601 UTC text, booleans 0/1. */
#include "b8_sql.h"

#include <string.h>
#include <apr_strings.h>

/* Rows each campaign and state count is spread over (migration 3). */
#define B8_COUNT_SHARDS "32"

/* 1 when a contact (alias c) is on the suppression list, else 0. */
#define B8_SUPPRESSED_C "(SELECT COUNT(*) FROM suppressions s WHERE s.phone = c.phone)"

/* pgsql_only: SQL SQLite cannot run (never prepared there). */
static const struct {
    const char *sql;
    b8_shape shape;
    int pgsql_only;
} statements[B8_SQL_COUNT] = {
    [B8_SQL_SCHEMA_VERSION] = { "SELECT MAX(version) FROM schema_version" },
    [B8_SQL_SCHEMA_VERSION_SET] = { "INSERT INTO schema_version (version) VALUES (%s)" },

    [B8_SQL_SETTINGS_ALL] = { "SELECT key, value FROM settings", B8_SHAPE_SETTING },
    [B8_SQL_SETTING_PUT] = {
        "INSERT INTO settings (key, value, updated_at) VALUES (%s, %s, %s) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at" },
    [B8_SQL_SETTING_DELETE] = { "DELETE FROM settings WHERE key = %s" },
    /* Bumped in the transaction of every save: what other servers poll. */
    [B8_SQL_SETTINGS_VERSION_BUMP] = {
        "INSERT INTO runtime (key, value, updated_at) VALUES ('settings_version', '1', %s) "
        "ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(runtime.value AS INTEGER) + 1 AS TEXT), "
        "updated_at = excluded.updated_at" },

    [B8_SQL_RUNTIME_GET] = {
        "SELECT value, updated_at FROM runtime WHERE key = %s",
        B8_SHAPE_RUNTIME },
    [B8_SQL_RUNTIME_PUT] = {
        "INSERT INTO runtime (key, value, updated_at) VALUES (%s, %s, %s) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at" },
    [B8_SQL_RUNTIME_PUT_IF_ABSENT] = {
        "INSERT INTO runtime (key, value, updated_at) VALUES (%s, %s, %s) "
        "ON CONFLICT (key) DO NOTHING" },

    /* The sender lease. Taken when free or expired, renewed by its
     * owner; nrows 1 = held. Times are the servers' clocks (NTP). */
    [B8_SQL_LEASE_TAKE] = {
        "INSERT INTO leases (name, owner, expires_at, acquired_at) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, "
        "expires_at = excluded.expires_at, acquired_at = CASE WHEN leases.owner = "
        "excluded.owner THEN leases.acquired_at ELSE excluded.acquired_at END "
        "WHERE leases.owner = excluded.owner OR leases.expires_at < %s" },
    /* From a holder known dead (a worker of this same server that was killed). */
    [B8_SQL_LEASE_STEAL] = {
        "UPDATE leases SET owner = %s, expires_at = %s, acquired_at = %s "
        "WHERE name = %s AND owner = %s" },
    /* In the claim's transaction: the start of a send, kept for the next
     * holder's pacing; 0 rows = the lease is no longer ours (roll back). */
    [B8_SQL_LEASE_NOTE_SEND] = {
        "UPDATE leases SET last_send_at = %s WHERE name = %s AND owner = %s AND expires_at > %s" },
    [B8_SQL_LEASE_RELEASE] = {
        "UPDATE leases SET expires_at = %s WHERE name = %s AND owner = %s" },
    [B8_SQL_LEASE_GET] = {
        "SELECT owner, expires_at, acquired_at, last_send_at FROM leases WHERE name = %s",
        B8_SHAPE_LEASE },

    /* users */
    [B8_SQL_USERS_COUNT] = { "SELECT COUNT(*) FROM users" },
    [B8_SQL_USERS_PAGE] = {
        "SELECT id, login, name, phone, is_admin, is_agent, created_at FROM users "
        "ORDER BY login LIMIT %s OFFSET %s", B8_SHAPE_USER },
    [B8_SQL_USER_BY_ID] = {
        "SELECT id, login, name, phone, is_admin, is_agent, created_at FROM users WHERE id = %s",
        B8_SHAPE_USER },
    [B8_SQL_USER_BY_LOGIN] = {
        "SELECT id, login, name, phone, is_admin, is_agent, created_at FROM users WHERE login = %s",
        B8_SHAPE_USER },
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
    /* Sales agents nobody can ping about a lead (no phone). */
    [B8_SQL_USERS_AGENTS_NO_PHONE] = {
        "SELECT login FROM users WHERE is_agent = 1 AND (phone IS NULL OR phone = '') "
        "ORDER BY login", B8_SHAPE_LOGIN },
    [B8_SQL_USER_ENSURE_ADMIN] = {
        "UPDATE users SET is_admin = 1 WHERE login = %s AND is_admin = 0" },

    /* tags (names are unique whatever their case: index tags_name_ci) */
    [B8_SQL_TAGS_COUNT] = { "SELECT COUNT(*) FROM tags" },
    [B8_SQL_TAGS_PAGE] = {
        "SELECT t.id, t.name, "
        "(SELECT COUNT(*) FROM contact_tags ct WHERE ct.tag_id = t.id) AS contacts, "
        "t.created_at FROM tags t ORDER BY LOWER(t.name), t.id LIMIT %s OFFSET %s", B8_SHAPE_TAG },
    [B8_SQL_TAG_BY_ID] = {
        "SELECT t.id, t.name, "
        "(SELECT COUNT(*) FROM contact_tags ct WHERE ct.tag_id = t.id) AS contacts, "
        "t.created_at FROM tags t WHERE t.id = %s", B8_SHAPE_TAG },
    [B8_SQL_TAG_BY_NAME] = {
        "SELECT id, name FROM tags WHERE LOWER(name) = LOWER(%s)",
        B8_SHAPE_ID_NAME },
    [B8_SQL_TAG_INSERT] = {
        "INSERT INTO tags (name, created_at) VALUES (%s, %s) ON CONFLICT DO NOTHING RETURNING id" },
    [B8_SQL_TAG_RENAME] = { "UPDATE tags SET name = %s WHERE id = %s" },
    [B8_SQL_TAG_DELETE] = { "DELETE FROM tags WHERE id = %s" },
    /* Contacts of a tag in id order, one chunk after the last id seen. */
    [B8_SQL_TAG_CONTACTS_AFTER] = {
        "SELECT c.id, c.name, c.phone, c.phone_key, " B8_SUPPRESSED_C " AS opted_out "
        "FROM contact_tags ct "
        "JOIN contacts c ON c.id = ct.contact_id WHERE ct.tag_id = %s AND ct.contact_id > %s "
        "ORDER BY ct.contact_id LIMIT %s", B8_SHAPE_TAG_CONTACT },

    /* contacts; the list filters are optional (NULL = any): q (the name
     * folded as b8_fold_key does, or digits of the phone), tag name,
     * opted_out 0/1 (on the suppression list) */
#define B8_CONTACT_FILTER \
    "(CAST(%s AS TEXT) IS NULL OR COALESCE(c.name_key, LOWER(c.name)) LIKE %s ESCAPE '\\' " \
    "OR c.phone_key LIKE %s) " \
    "AND (CAST(%s AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM contact_tags x JOIN tags y " \
    "ON y.id = x.tag_id WHERE x.contact_id = c.id AND LOWER(y.name) = LOWER(%s))) " \
    "AND (CAST(%s AS TEXT) IS NULL OR " B8_SUPPRESSED_C " = CAST(%s AS INTEGER))"
/* opted_out and opted_out_at read the suppression list. */
#define B8_CONTACT_COLS "c.id, c.name, c.phone, " B8_SUPPRESSED_C " AS opted_out, " \
    "(SELECT s.created_at FROM suppressions s WHERE s.phone = c.phone) AS opted_out_at, " \
    "c.created_at, c.updated_at"
    [B8_SQL_CONTACTS_COUNT] = { "SELECT COUNT(*) FROM contacts c WHERE " B8_CONTACT_FILTER },
    /* One page of contacts with one row per tag (NULL when none). */
    [B8_SQL_CONTACTS_PAGE] = {
        "SELECT " B8_CONTACT_COLS ", t.name AS tag FROM (SELECT * FROM contacts c WHERE "
        B8_CONTACT_FILTER " ORDER BY LOWER(c.name), c.id LIMIT %s OFFSET %s) c "
        "LEFT JOIN contact_tags ct ON ct.contact_id = c.id LEFT JOIN tags t ON t.id = ct.tag_id "
        "ORDER BY LOWER(c.name), c.id, LOWER(t.name)", B8_SHAPE_CONTACT_TAGGED },
    [B8_SQL_CONTACT_BY_ID] = {
        "SELECT " B8_CONTACT_COLS " FROM contacts c WHERE c.id = %s",
        B8_SHAPE_CONTACT },
    [B8_SQL_CONTACT_BY_PHONE] = {
        "SELECT " B8_CONTACT_COLS " FROM contacts c WHERE c.phone = %s",
        B8_SHAPE_CONTACT },
    [B8_SQL_CONTACT_TAG_NAMES] = {
        "SELECT t.name FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id "
        "WHERE ct.contact_id = %s ORDER BY LOWER(t.name)", B8_SHAPE_TAG_NAME },
    [B8_SQL_CONTACT_INSERT] = {
        "INSERT INTO contacts (name, phone, phone_key, opted_out, opted_out_at, created_at, "
        "updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (phone) DO NOTHING "
        "RETURNING id" },
    [B8_SQL_CONTACT_UPDATE] = {
        "UPDATE contacts SET name = %s, phone = %s, phone_key = %s, opted_out = %s, "
        "opted_out_at = %s, updated_at = %s WHERE id = %s" },
    /* The folded name the search matches (b8_fold_key), after a write. */
    [B8_SQL_CONTACT_SET_NAME_KEY] = {
        "UPDATE contacts SET name_key = %s WHERE id = %s" },
    /* Contacts written before the folded name existed (migration 6). */
    [B8_SQL_CONTACTS_NAME_KEY_MISSING] = {
        "SELECT id, name FROM contacts WHERE name_key IS NULL AND id > %s ORDER BY id LIMIT %s",
        B8_SHAPE_ID_NAME },
    [B8_SQL_CONTACT_DELETE] = { "DELETE FROM contacts WHERE id = %s" },
    [B8_SQL_CONTACT_TAGS_CLEAR] = { "DELETE FROM contact_tags WHERE contact_id = %s" },
    [B8_SQL_CONTACT_TAG_ADD] = {
        "INSERT INTO contact_tags (contact_id, tag_id) VALUES (%s, %s) ON CONFLICT DO NOTHING" },
#undef B8_CONTACT_FILTER
#undef B8_CONTACT_COLS

    /* The suppression list: opted-out phones (E.164), whether or not they
     * are contacts. contacts.opted_out is kept as a copy for old readers. */
    [B8_SQL_SUPPRESSIONS_COUNT] = { "SELECT COUNT(*) FROM suppressions" },
    [B8_SQL_SUPPRESSIONS_PAGE] = {
        "SELECT phone, reason, created_at FROM suppressions ORDER BY created_at DESC, phone "
        "LIMIT %s OFFSET %s", B8_SHAPE_SUPPRESSION },
    [B8_SQL_SUPPRESSIONS_ALL] = {
        "SELECT phone, reason, created_at FROM suppressions ORDER BY phone",
        B8_SHAPE_SUPPRESSION },
    [B8_SQL_SUPPRESSION_GET] = {
        "SELECT phone, reason, created_at FROM suppressions WHERE phone = %s",
        B8_SHAPE_SUPPRESSION },
    /* The first opt-out's time and reason stay. */
    [B8_SQL_SUPPRESSION_ADD] = {
        "INSERT INTO suppressions (phone, reason, created_at) VALUES (%s, %s, %s) "
        "ON CONFLICT (phone) DO NOTHING" },
    [B8_SQL_SUPPRESSION_DELETE] = { "DELETE FROM suppressions WHERE phone = %s" },
    [B8_SQL_SUPPRESSION_CONTACT_SYNC] = {
        "UPDATE contacts SET opted_out = CAST(%s AS INTEGER), opted_out_at = %s, updated_at = %s "
        "WHERE phone = %s AND opted_out <> CAST(%s AS INTEGER)" },

    /* campaigns */
#define B8_CAMPAIGN_COLS \
    "c.id, c.name, c.type, c.body, c.url, c.fallback_text, c.thumbnail_url, c.file_size, " \
    "c.duration, c.button_caption, c.button_url, c.state, c.send_at, c.queued_at, " \
    "c.created_at, c.updated_at, c.started_at, c.done_at, c.fallback_after, c.pause_reason, " \
    "c.window_start, c.window_end, c.daily_cap, c.waiting_until"
#define B8_CAMPAIGN_FILTER \
    "(CAST(%s AS TEXT) IS NULL OR c.state = %s) " \
    "AND (CAST(%s AS TEXT) IS NULL OR LOWER(c.name) LIKE %s ESCAPE '\\')"
    [B8_SQL_CAMPAIGN_BY_ID] = {
        "SELECT " B8_CAMPAIGN_COLS " FROM campaigns c WHERE c.id = %s",
        B8_SHAPE_CAMPAIGN },
    [B8_SQL_CAMPAIGN_STATE] = { "SELECT state FROM campaigns WHERE id = %s" },
    [B8_SQL_CAMPAIGNS_COUNT] = { "SELECT COUNT(*) FROM campaigns c WHERE " B8_CAMPAIGN_FILTER },
    /* Newest first. */
    [B8_SQL_CAMPAIGNS_PAGE] = {
        "SELECT " B8_CAMPAIGN_COLS " FROM campaigns c WHERE " B8_CAMPAIGN_FILTER
        " ORDER BY c.id DESC LIMIT %s OFFSET %s", B8_SHAPE_CAMPAIGN },
    /* The recipient counts of that same page (kept by triggers). */
    [B8_SQL_CAMPAIGNS_PAGE_COUNTS] = {
        "SELECT n.campaign_id, n.state, SUM(n.n) AS n FROM campaign_counts n "
        "WHERE n.campaign_id IN (SELECT c.id FROM campaigns c WHERE " B8_CAMPAIGN_FILTER
        " ORDER BY c.id DESC LIMIT %s OFFSET %s) GROUP BY n.campaign_id, n.state "
        "HAVING SUM(n.n) > 0", B8_SHAPE_CAMPAIGN_COUNT },
    [B8_SQL_CAMPAIGN_INSERT] = {
        "INSERT INTO campaigns (name, type, body, url, fallback_text, thumbnail_url, file_size, "
        "duration, button_caption, button_url, state, created_at, updated_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'draft', %s, %s) RETURNING id" },
    /* Set apart from the INSERT, in its transaction: the INSERT is also
     * run on schema 1 (the migration test). */
    [B8_SQL_CAMPAIGN_SET_FALLBACK_AFTER] = {
        "UPDATE campaigns SET fallback_after = CAST(%s AS INTEGER) WHERE id = %s" },
    /* The send window and daily cap, in the create's or update's transaction. */
    [B8_SQL_CAMPAIGN_SET_PACE] = {
        "UPDATE campaigns SET window_start = %s, window_end = %s, "
        "daily_cap = CAST(%s AS INTEGER) WHERE id = %s" },
    /* The sender: the campaign waits until then (NULL: it may send). */
    [B8_SQL_CAMPAIGN_SET_WAITING] = {
        "UPDATE campaigns SET waiting_until = %s WHERE id = %s" },
    /* Sends of a campaign since an instant (its local day), for the cap:
     * every row that left 'pending' for 8x8, by when it went. */
    [B8_SQL_CAMPAIGN_SENT_SINCE] = {
        "SELECT COUNT(*) FROM messages WHERE campaign_id = %s AND state NOT IN ('pending', "
        "'cancelled', 'skipped') AND COALESCE(sent_at, updated_at) >= %s" },
    /* Only a Draft changes; the caller checks the state in the same transaction. */
    [B8_SQL_CAMPAIGN_UPDATE] = {
        "UPDATE campaigns SET name = %s, type = %s, body = %s, url = %s, fallback_text = %s, "
        "thumbnail_url = %s, file_size = %s, duration = %s, button_caption = %s, "
        "button_url = %s, fallback_after = CAST(%s AS INTEGER), updated_at = %s "
        "WHERE id = %s AND state = 'draft'" },
    [B8_SQL_CAMPAIGN_DELETE] = { "DELETE FROM campaigns WHERE id = %s AND state = 'draft'" },
    [B8_SQL_CAMPAIGN_COUNTS] = {
        "SELECT state, SUM(n) AS n FROM campaign_counts WHERE campaign_id = %s GROUP BY state "
        "HAVING SUM(n) > 0 ORDER BY state", B8_SHAPE_STATE_COUNT },
    /* Pending recipients without a name (the sender's name: the contact's
     * now, else the row's), for b8_campaign_empty_counts. */
    [B8_SQL_CAMPAIGN_EMPTY_NAMES] = {
        "SELECT COUNT(*) FROM messages m LEFT JOIN contacts ct ON ct.id = m.contact_id "
        "WHERE m.campaign_id = %s AND m.state = 'pending' "
        "AND TRIM(COALESCE(NULLIF(ct.name, ''), m.name, '')) = ''" },
    [B8_SQL_CAMPAIGN_FIRST_RECIPIENT] = {
        "SELECT name, phone FROM messages WHERE campaign_id = %s ORDER BY id LIMIT 1",
        B8_SHAPE_FIRST_RECIPIENT },
#undef B8_CAMPAIGN_COLS
#undef B8_CAMPAIGN_FILTER

    /* recipients: messages rows of kind 'campaign' */
#define B8_RECIPIENT_COLS \
    "id, phone, name, contact_id, client_message_id, umid, state, error_code, error_message, " \
    "updated_at, error_id, channel, sent_at, delivered_at, read_at, clicked_at, clicks, replied_at"
    [B8_SQL_RECIPIENT_INSERT] = {
        "INSERT INTO messages (kind, channel, campaign_id, contact_id, phone, phone_key, name, "
        "client_message_id, state, created_at, updated_at) "
        "VALUES ('campaign', 'viber', %s, %s, %s, %s, %s, %s, 'pending', %s, %s) "
        "ON CONFLICT (campaign_id, phone) DO NOTHING" },
    /* Imports add B8_RECIPIENT_BATCH rows per statement (b8_campaigns.c):
     * one statement, and its trigger bookkeeping, for many rows; a row
     * already there (or twice in the batch) is skipped, so the number of
     * rows inserted tells the duplicates. */
#define B8_X2(x) x ", " x
#define B8_X8(x) B8_X2(B8_X2(B8_X2(x)))
#define B8_X64(x) B8_X8(B8_X8(x))
    [B8_SQL_RECIPIENT_INSERT_BATCH] = {
        "INSERT INTO messages (kind, channel, campaign_id, contact_id, phone, phone_key, name, "
        "client_message_id, state, created_at, updated_at) VALUES "
        B8_X64("('campaign', 'viber', %s, %s, %s, %s, %s, %s, 'pending', %s, %s)")
        " ON CONFLICT (campaign_id, phone) DO NOTHING" },
    /* The contacts of a batch of phones (unused places are NULL), opted out
     * when their phone is on the suppression list. */
    [B8_SQL_RECIPIENT_CONTACTS_BATCH] = {
        "SELECT c.id, c.name, c.phone, " B8_SUPPRESSED_C " AS opted_out, "
        "(SELECT s.created_at FROM suppressions s WHERE s.phone = c.phone) AS opted_out_at, "
        "c.created_at, c.updated_at "
        "FROM contacts c WHERE c.phone IN (" B8_X64("%s") ")", B8_SHAPE_CONTACT },
    /* Which phones of a batch are on the suppression list (contacts or not). */
    [B8_SQL_SUPPRESSIONS_IN_BATCH] = {
        "SELECT phone FROM suppressions WHERE phone IN (" B8_X64("%s") ")", B8_SHAPE_PHONE },
#undef B8_X64
#undef B8_X8
#undef B8_X2
    [B8_SQL_RECIPIENT_BY_ID] = {
        "SELECT " B8_RECIPIENT_COLS " FROM messages WHERE id = %s AND campaign_id = %s",
        B8_SHAPE_RECIPIENT },
    [B8_SQL_RECIPIENT_DELETE] = { "DELETE FROM messages WHERE id = %s AND campaign_id = %s" },
    /* Pages walk the (campaign_id, id) index (a state filter reads past the
     * rows in other states: at most one campaign's rows). */
    [B8_SQL_RECIPIENTS_PAGE] = {
        "SELECT " B8_RECIPIENT_COLS " FROM messages WHERE campaign_id = %s "
        "ORDER BY id LIMIT %s OFFSET %s", B8_SHAPE_RECIPIENT },
    [B8_SQL_RECIPIENTS_PAGE_STATE] = {
        "SELECT " B8_RECIPIENT_COLS " FROM messages WHERE campaign_id = %s AND state = %s "
        "ORDER BY id LIMIT %s OFFSET %s", B8_SHAPE_RECIPIENT },
    /* recipients.csv: the id, then the columns of the file, one chunk after
     * the last id seen. */
    [B8_SQL_RECIPIENTS_AFTER] = {
        "SELECT id, phone, name, client_message_id, umid, state, error_code, error_message, "
        "error_id, updated_at, clicked_at, clicks, replied_at FROM messages WHERE campaign_id = %s "
        "AND id > %s ORDER BY id LIMIT %s", B8_SHAPE_RECIPIENT_EXPORT },
#undef B8_RECIPIENT_COLS

    /* faqs: ordered by position; new pairs go last */
    [B8_SQL_FAQS_COUNT] = { "SELECT COUNT(*) FROM faqs" },
    [B8_SQL_FAQS_ALL] = {
        "SELECT id, prompt, completion, position FROM faqs ORDER BY position, id", B8_SHAPE_FAQ },
    [B8_SQL_FAQS_PAGE] = {
        "SELECT id, prompt, completion, position FROM faqs ORDER BY position, id "
        "LIMIT %s OFFSET %s", B8_SHAPE_FAQ },
    [B8_SQL_FAQ_BY_ID] = {
        "SELECT id, prompt, completion, position FROM faqs WHERE id = %s",
        B8_SHAPE_FAQ },
    [B8_SQL_FAQ_INSERT] = {
        "INSERT INTO faqs (prompt, completion, position) "
        "VALUES (%s, %s, (SELECT COALESCE(MAX(position), 0) + 1 FROM faqs)) RETURNING id" },
    [B8_SQL_FAQ_UPDATE] = { "UPDATE faqs SET prompt = %s, completion = %s WHERE id = %s" },
    [B8_SQL_FAQ_DELETE] = { "DELETE FROM faqs WHERE id = %s" },
    [B8_SQL_FAQ_NEIGHBOUR_BEFORE] = {
        "SELECT id, position FROM faqs WHERE position < %s OR (position = %s AND id < %s) "
        "ORDER BY position DESC, id DESC LIMIT 1", B8_SHAPE_FAQ_POSITION },
    [B8_SQL_FAQ_NEIGHBOUR_AFTER] = {
        "SELECT id, position FROM faqs WHERE position > %s OR (position = %s AND id > %s) "
        "ORDER BY position, id LIMIT 1", B8_SHAPE_FAQ_POSITION },
    [B8_SQL_FAQ_SET_POSITION] = { "UPDATE faqs SET position = %s WHERE id = %s" },

    /* dashboard */
    [B8_SQL_DASH_CAMPAIGNS] = {
        "SELECT state, COUNT(*) AS n FROM campaigns GROUP BY state",
        B8_SHAPE_STATE_COUNT },
    [B8_SQL_DASH_INBOUND] = {
        "SELECT ai_state AS state, COUNT(*) AS n FROM inbound GROUP BY ai_state",
        B8_SHAPE_STATE_COUNT },
    [B8_SQL_DASH_LEADS_OPEN] = { "SELECT COUNT(*) FROM leads WHERE claimed_by IS NULL" },
    [B8_SQL_DASH_SMS_SINCE] = {
        "SELECT COUNT(*) FROM messages WHERE kind = 'sms' AND created_at >= %s" },
    [B8_SQL_DASH_CONTACTS] = {
        "SELECT COUNT(*) AS contacts, (SELECT COUNT(*) FROM contacts c JOIN suppressions s "
        "ON s.phone = c.phone) AS opted_out FROM contacts", B8_SHAPE_DASH_CONTACTS },
    [B8_SQL_DASH_REFUSED] = {
        "SELECT id, name, pause_reason FROM campaigns WHERE state = 'paused' "
        "AND pause_reason IS NOT NULL ORDER BY id DESC LIMIT 20", B8_SHAPE_REFUSED },

    /* leads: made from an inbound message; one open (new or claimed) lead
     * per customer phone; the first claim wins. Columns 0-9 as before, then
     * status, notes, the customer's conversation, the claimer's id and the
     * customer's phone key. */
#define B8_LEAD_COLUMNS \
    "SELECT l.id, l.created_at, l.name, l.phone, l.contact_id, l.inbound_id, l.claimed_at, " \
    "c.name AS contact_name, u.login AS claimed_by, u.name AS claimed_by_name, l.status, " \
    "l.notes, (SELECT cv.id FROM conversations cv WHERE cv.phone_key = l.phone_key) " \
    "AS conversation_id, l.claimed_by AS claimed_by_id, l.phone_key " \
    "FROM leads l LEFT JOIN contacts c ON c.id = l.contact_id " \
    "LEFT JOIN users u ON u.id = l.claimed_by "
    /* claimed filter (all|claimed|unclaimed), status (NULL = any, 'open' =
     * new or claimed), viewer (a sales agent: unclaimed leads or theirs). */
#define B8_LEAD_FILTER \
    "WHERE (%s = 'all' OR (%s = 'claimed' AND l.claimed_by IS NOT NULL) " \
    "OR (%s = 'unclaimed' AND l.claimed_by IS NULL)) " \
    "AND (CAST(%s AS TEXT) IS NULL OR l.status = %s " \
    "OR (%s = 'open' AND l.status IN ('new', 'claimed'))) " \
    "AND (CAST(%s AS TEXT) IS NULL OR l.claimed_by IS NULL " \
    "OR l.claimed_by = CAST(%s AS INTEGER)) "
    [B8_SQL_LEAD_INSERT] = {
        "INSERT INTO leads (inbound_id, name, phone, phone_key, contact_id, status, created_at, "
        "campaign_id) VALUES (%s, %s, %s, %s, %s, 'new', %s, "
        "(SELECT i.campaign_id FROM inbound i WHERE i.id = %s)) "
        "ON CONFLICT (inbound_id) DO NOTHING RETURNING id" },
    [B8_SQL_LEAD_BY_INBOUND] = { "SELECT id FROM leads WHERE inbound_id = %s" },
    [B8_SQL_LEAD_BY_ID] = { B8_LEAD_COLUMNS "WHERE l.id = %s", B8_SHAPE_LEAD },
    [B8_SQL_LEADS_COUNT] = { "SELECT COUNT(*) FROM leads l " B8_LEAD_FILTER },
    [B8_SQL_LEADS_PAGE] = {
        B8_LEAD_COLUMNS B8_LEAD_FILTER "ORDER BY l.id DESC LIMIT %s OFFSET %s",
        B8_SHAPE_LEAD },
    [B8_SQL_LEADS_ALL] = { B8_LEAD_COLUMNS "ORDER BY l.id DESC", B8_SHAPE_LEAD },
    [B8_SQL_LEAD_CLAIM] = {
        "UPDATE leads SET claimed_by = %s, claimed_at = %s, "
        "status = CASE WHEN status = 'new' THEN 'claimed' ELSE status END "
        "WHERE id = %s AND claimed_by IS NULL" },
    [B8_SQL_LEAD_PINGED] = {
        "SELECT u.login FROM messages m JOIN users u ON u.id = m.user_id "
        "WHERE m.lead_id = %s AND m.kind = 'agent_ping' ORDER BY u.login", B8_SHAPE_LOGIN },
    [B8_SQL_LEAD_AGENTS] = {
        "SELECT id, login, name, phone FROM users "
        "WHERE is_agent = 1 AND phone IS NOT NULL AND phone <> '' ORDER BY id", B8_SHAPE_AGENT },
    [B8_SQL_LEAD_CONTACT_BY_KEY] = {
        "SELECT id, name FROM contacts WHERE phone_key = %s ORDER BY id LIMIT 1",
        B8_SHAPE_ID_NAME },
    [B8_SQL_LEAD_PING_INSERT] = {
        "INSERT INTO messages (kind, channel, lead_id, user_id, inbound_id, phone, phone_key, name,"
        " body, button_caption, button_url, client_message_id, state, created_at, updated_at) "
        "VALUES ('agent_ping', 'viber', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'pending', %s, %s)" },
    /* The customer's open lead, with its claimer (id, login, name, phone). */
    [B8_SQL_LEAD_OPEN_BY_KEY] = {
        "SELECT l.id, l.claimed_by, u.login, u.name, u.phone FROM leads l "
        "LEFT JOIN users u ON u.id = l.claimed_by WHERE l.phone_key = %s "
        "AND l.status IN ('new', 'claimed') ORDER BY l.id DESC LIMIT 1", B8_SHAPE_OPEN_LEAD },
    [B8_SQL_LEAD_UPDATE] = { "UPDATE leads SET status = %s, notes = %s WHERE id = %s" },
#undef B8_LEAD_COLUMNS
#undef B8_LEAD_FILTER

    /* conversations: one row per customer phone key (a sender without a
     * phone number has its own '@channel:sender' key), written with every
     * inbound, AI or agent message so that the list is one index walk. */
#define B8_CONV_CONTACT \
    "LEFT JOIN contacts ct ON ct.id = COALESCE(c.contact_id, " \
    "(SELECT MIN(x.id) FROM contacts x WHERE x.phone_key = c.phone_key)) "
#define B8_CONV_COLS \
    "c.id, c.phone, COALESCE(NULLIF(ct.name, ''), c.name) AS name, ct.id AS contact_id, " \
    "c.status, u.login AS assignee, c.last_message_at, c.lead_id, c.last_in_at, c.seen_at, " \
    "c.phone_key, c.assignee_id, c.handoff_at, u.name AS assignee_name, ct.opted_out, " \
    "c.last_text"
#define B8_CONV_FROM \
    "FROM conversations c LEFT JOIN users u ON u.id = c.assignee_id " B8_CONV_CONTACT
    /* status (NULL = any), assignee id (NULL = any, 0 = none), viewer (a
     * sales agent: unassigned or theirs). */
#define B8_CONV_FILTER \
    "(CAST(%s AS TEXT) IS NULL OR c.status = %s) " \
    "AND (CAST(%s AS TEXT) IS NULL OR COALESCE(c.assignee_id, 0) = CAST(%s AS INTEGER)) " \
    "AND (CAST(%s AS TEXT) IS NULL OR c.assignee_id IS NULL " \
    "OR c.assignee_id = CAST(%s AS INTEGER))"
    /* phone digits, the sender's name or the contact's name */
#define B8_CONV_SEARCH \
    " AND (c.phone_key LIKE %s OR LOWER(COALESCE(c.name, '')) LIKE %s ESCAPE '\\' " \
    "OR EXISTS (SELECT 1 FROM contacts x WHERE x.phone_key = c.phone_key " \
    "AND LOWER(x.name) LIKE %s ESCAPE '\\'))"
    /* An inbound message: made, or reopened, latest activity now. */
    [B8_SQL_CONV_UPSERT_INBOUND] = {
        "INSERT INTO conversations (phone_key, phone, name, contact_id, status, last_message_at, "
        "last_text, last_in_at, created_at, updated_at) "
        "VALUES (%s, %s, %s, %s, 'open', %s, %s, %s, %s, %s) "
        "ON CONFLICT (phone_key) DO UPDATE SET phone = COALESCE(excluded.phone, "
        "conversations.phone), name = COALESCE(excluded.name, conversations.name), "
        "contact_id = COALESCE(excluded.contact_id, conversations.contact_id), status = 'open', "
        "last_message_at = excluded.last_message_at, last_text = excluded.last_text, "
        "last_in_at = excluded.last_in_at, updated_at = excluded.updated_at RETURNING id" },
    [B8_SQL_CONV_ENSURE] = {
        "INSERT INTO conversations (phone_key, phone, name, contact_id, status, last_message_at, "
        "created_at, updated_at) VALUES (%s, %s, %s, %s, 'open', %s, %s, %s) "
        "ON CONFLICT (phone_key) DO NOTHING" },
    [B8_SQL_CONV_ID_BY_KEY] = { "SELECT id FROM conversations WHERE phone_key = %s" },
    [B8_SQL_CONV_NAME_BY_KEY] = { "SELECT name FROM conversations WHERE phone_key = %s" },
    [B8_SQL_CONV_TOUCH] = {
        "UPDATE conversations SET last_message_at = %s, last_text = %s, updated_at = %s "
        "WHERE phone_key = %s" },
    [B8_SQL_CONV_BY_ID] = {
        "SELECT " B8_CONV_COLS " " B8_CONV_FROM "WHERE c.id = %s", B8_SHAPE_CONV },
    [B8_SQL_CONV_COUNT] = { "SELECT COUNT(*) FROM conversations c WHERE " B8_CONV_FILTER },
    /* The page's rows first (one walk of an index on last_message_at),
     * then their assignee and contact. */
    [B8_SQL_CONV_PAGE] = {
        "SELECT " B8_CONV_COLS " FROM (SELECT * FROM conversations c WHERE " B8_CONV_FILTER
        " ORDER BY c.last_message_at DESC, c.id DESC LIMIT %s OFFSET %s) c "
        "LEFT JOIN users u ON u.id = c.assignee_id " B8_CONV_CONTACT
        "ORDER BY c.last_message_at DESC, c.id DESC", B8_SHAPE_CONV },
    [B8_SQL_CONV_SEARCH_COUNT] = {
        "SELECT COUNT(*) FROM conversations c WHERE " B8_CONV_FILTER B8_CONV_SEARCH },
    [B8_SQL_CONV_SEARCH_PAGE] = {
        "SELECT " B8_CONV_COLS " FROM (SELECT * FROM conversations c WHERE " B8_CONV_FILTER
        B8_CONV_SEARCH " ORDER BY c.last_message_at DESC, c.id DESC LIMIT %s OFFSET %s) c "
        "LEFT JOIN users u ON u.id = c.assignee_id " B8_CONV_CONTACT
        "ORDER BY c.last_message_at DESC, c.id DESC", B8_SHAPE_CONV },
    /* The thread, newest first (the caller turns it): inbound rows and every
     * message to the customer's phone key but the agents' own pings and
     * notes; campaign and SMS rows at the time they were sent. */
    [B8_SQL_CONV_THREAD] = {
        "SELECT dir, id, at, kind, body, state, ai_state, ai_error, name, error_message, "
        "campaign_body, phone, author, type, campaign, channel FROM ("
        "SELECT 'in' AS dir, id, received_at AS at, 'inbound' AS kind, body, NULL AS state, "
        "ai_state, ai_error, name, NULL AS error_message, NULL AS campaign_body, phone, "
        "name AS author, type, NULL AS campaign, channel FROM inbound WHERE phone_key = %s "
        "UNION ALL SELECT 'out', m.id, CASE WHEN m.kind IN ('campaign', 'sms', 'test') "
        "THEN COALESCE(m.sent_at, m.created_at) ELSE m.created_at END, m.kind, m.body, "
        "m.state, NULL, NULL, m.name, m.error_message, c.body, m.phone, "
        "COALESCE(u.login, m.sender), NULL, c.name, m.channel FROM messages m "
        "LEFT JOIN campaigns c ON c.id = m.campaign_id LEFT JOIN users u ON u.id = m.user_id "
        "WHERE m.phone_key = %s AND m.kind NOT IN ('agent_ping', 'agent_note')"
        " AND (c.id IS NULL OR c.state <> 'draft')"      /* a Draft was never sent */
        ") t ORDER BY at DESC, id DESC LIMIT %s", B8_SHAPE_CONV_THREAD },
    [B8_SQL_CONV_ASSIGN] = {
        "UPDATE conversations SET assignee_id = %s, handoff_at = %s, updated_at = %s "
        "WHERE id = %s" },
    [B8_SQL_CONV_ASSIGN_IF_FREE] = {
        "UPDATE conversations SET assignee_id = %s, handoff_at = %s, updated_at = %s "
        "WHERE id = %s AND assignee_id IS NULL" },
    [B8_SQL_CONV_RESOLVE] = {
        "UPDATE conversations SET status = 'resolved', handoff_at = NULL, updated_at = %s "
        "WHERE id = %s" },
    /* Reopened by a person: the assignee (if any) handles it again. */
    [B8_SQL_CONV_REOPEN] = {
        "UPDATE conversations SET status = 'open', handoff_at = CASE WHEN assignee_id IS NULL "
        "THEN NULL ELSE %s END, updated_at = %s WHERE id = %s" },
    [B8_SQL_CONV_SEEN] = { "UPDATE conversations SET seen_at = %s WHERE id = %s" },
    /* An agent's message restarts the handoff clock. */
    [B8_SQL_CONV_AGENT_REPLIED] = {
        "UPDATE conversations SET last_message_at = %s, last_text = %s, handoff_at = CASE WHEN "
        "assignee_id IS NULL THEN NULL ELSE %s END, updated_at = %s WHERE id = %s" },
    [B8_SQL_CONV_SET_LEAD] = { "UPDATE conversations SET lead_id = %s WHERE phone_key = %s" },
    /* At most one "New message from" note per interval: 1 row = due now. */
    [B8_SQL_CONV_NOTE_DUE] = {
        "UPDATE conversations SET note_at = %s WHERE id = %s "
        "AND (note_at IS NULL OR note_at <= %s)" },
    /* The assignee's login while the AI stands back for this phone. */
    [B8_SQL_CONV_HANDOFF] = {
        "SELECT u.login FROM conversations c JOIN users u ON u.id = c.assignee_id "
        "WHERE c.phone_key = %s AND c.status = 'open' AND c.handoff_at > %s" },
    /* System notes ("Claimed by Alma") are messages that are never sent. */
    [B8_SQL_CONV_SYSTEM_INSERT] = {
        "INSERT INTO messages (kind, channel, user_id, phone, phone_key, body, client_message_id, "
        "state, created_at, updated_at) VALUES ('system', 'note', %s, %s, %s, %s, %s, 'done', "
        "%s, %s)" },
    [B8_SQL_CONV_AGENT_INSERT] = {
        "INSERT INTO messages (kind, channel, user_id, contact_id, phone, phone_key, name, body, "
        "client_message_id, state, created_at, updated_at) "
        "VALUES ('agent', 'viber', %s, %s, %s, %s, %s, %s, %s, 'pending', %s, %s) RETURNING id" },
    [B8_SQL_CONV_AGENT_NOTE_INSERT] = {
        "INSERT INTO messages (kind, channel, lead_id, user_id, phone, phone_key, name, body, "
        "client_message_id, state, created_at, updated_at) "
        "VALUES ('agent_note', 'viber', %s, %s, %s, %s, %s, %s, %s, 'pending', %s, %s)" },
    [B8_SQL_CONV_MESSAGE_BY_ID] = {
        "SELECT m.id, m.kind, m.body, m.state, m.created_at, u.login, m.error_message "
        "FROM messages m LEFT JOIN users u ON u.id = m.user_id WHERE m.id = %s",
        B8_SHAPE_CONV_MESSAGE },
    /* A failed AI answer asked again: a fresh start in the AI lane. */
    [B8_SQL_CONV_RETRY_AI] = {
        "UPDATE inbound SET ai_state = 'new', ai_error = NULL, ai_attempts = 0, ai_next_at = NULL, "
        "ai_claim = NULL WHERE phone_key = %s AND ai_state = 'failed'" },
    [B8_SQL_CONV_RETRY_AI_ONE] = {
        "UPDATE inbound SET ai_state = 'new', ai_error = NULL, ai_attempts = 0, ai_next_at = NULL, "
        "ai_claim = NULL WHERE id = %s AND ai_state = 'failed'" },
    [B8_SQL_INBOUND_HANDOFF_SKIP] = {
        "UPDATE inbound SET ai_state = 'skipped', ai_error = %s WHERE id = %s "
        "AND ai_state = 'new'" },
#undef B8_CONV_CONTACT
#undef B8_CONV_COLS
#undef B8_CONV_FROM
#undef B8_CONV_FILTER
#undef B8_CONV_SEARCH

    /* the AI lane: inbound texts are claimed per phone with a token, so each
     * is answered once even with several workers */
    [B8_SQL_AI_DUE_PHONE] = {
        "SELECT phone_key FROM inbound WHERE ai_state = 'new' "
        "AND (ai_next_at IS NULL OR ai_next_at <= %s) "
        "GROUP BY phone_key HAVING MAX(received_at) <= %s ORDER BY MIN(id) LIMIT 1" },
    /* The earliest retry time, and the earliest arrival of a text not
     * being retried (due a quiet window later). */
    [B8_SQL_AI_NEXT_DUE] = {
        "SELECT MIN(ai_next_at) AS next_at, "
        "MIN(CASE WHEN ai_next_at IS NULL THEN received_at END) AS waiting_since "
        "FROM inbound WHERE ai_state = 'new'", B8_SHAPE_AI_DUE },
    [B8_SQL_AI_RELEASE_STALE] = {
        "UPDATE inbound SET ai_state = 'new', ai_claim = NULL "
        "WHERE ai_state = 'answering' AND ai_claimed_at < %s" },
    [B8_SQL_AI_SWITCHED_OFF] = {
        "UPDATE inbound SET ai_state = 'not_answered' WHERE ai_state = 'new'" },
    [B8_SQL_AI_CLAIM] = {
        "UPDATE inbound SET ai_state = 'answering', ai_claim = %s, ai_claimed_at = %s, "
        "ai_attempts = ai_attempts + 1 WHERE phone_key = %s AND ai_state = 'new' "
        "AND (ai_next_at IS NULL OR ai_next_at <= %s)" },
    [B8_SQL_AI_CLAIMED] = {
        "SELECT i.id, i.phone, i.body, i.name, i.ai_attempts, i.intent, i.contact_id, "
        "(SELECT COUNT(*) FROM suppressions s WHERE s.phone = i.phone) AS opted_out "
        "FROM inbound i "
        "WHERE i.ai_claim = %s AND i.ai_state = 'answering' ORDER BY i.id", B8_SHAPE_AI_CLAIMED },
    /* The assistant turns: the AI's replies and the agents' (taking over after a handoff). */
    [B8_SQL_AI_HISTORY] = {
        "SELECT who, body FROM ("
        " SELECT 1 AS who, body, received_at AS at, id FROM inbound"
        "  WHERE phone_key = %s AND id < %s AND type = 'text' AND body IS NOT NULL"
        " UNION ALL"
        " SELECT 0 AS who, body, created_at AS at, id FROM messages"
        "  WHERE phone_key = %s AND kind IN ('ai_reply', 'agent') AND created_at < %s"
        ") turns ORDER BY at DESC, id DESC LIMIT %s", B8_SHAPE_AI_TURN },
    [B8_SQL_AI_RETRY_LATER] = {
        "UPDATE inbound SET ai_state = 'new', ai_claim = NULL, ai_next_at = %s, ai_error = %s "
        "WHERE ai_claim = %s AND ai_state = 'answering'" },
    [B8_SQL_AI_END] = {
        "UPDATE inbound SET ai_state = %s, ai_claim = NULL, ai_error = %s "
        "WHERE ai_claim = %s AND ai_state = 'answering'" },
    [B8_SQL_AI_SET_INTENT] = {
        "UPDATE inbound SET intent = %s WHERE ai_claim = %s AND ai_state = 'answering'" },
    [B8_SQL_AI_REPLY_INSERT] = {
        "INSERT INTO messages (kind, channel, inbound_id, contact_id, phone, phone_key, name, body,"
        " client_message_id, state, created_at, updated_at) "
        "VALUES ('ai_reply', 'viber', %s, %s, %s, %s, %s, %s, %s, 'pending', %s, %s) RETURNING id" },
    [B8_SQL_AI_ANSWERED] = {
        "UPDATE inbound SET ai_state = 'answered', ai_claim = NULL, ai_error = NULL, reply_id = %s "
        "WHERE ai_claim = %s AND ai_state = 'answering'" },

    /* webhook: delivery receipts (every one kept; matched = applied to a message) */
    [B8_SQL_RECEIPT_INSERT] = {
        "INSERT INTO receipts (umid, client_message_id, namespace, state, detail, error_code, "
        "error_message, price, event_at, received_at, matched, channel) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)" },
    [B8_SQL_RECEIPT_SET_MATCHED] = { "UPDATE receipts SET matched = 1 WHERE id = %s AND matched = 0" },
    /* A row still 'sending' whose fate nobody knows (a send cut short). */
    [B8_SQL_MESSAGE_SET_UNKNOWN] = {
        "UPDATE messages SET state = 'unknown', error_message = %s, updated_at = %s "
        "WHERE id = %s AND state = 'sending'" },
    /* Receipts kept for a message that did not exist or had no UMID yet. */
    [B8_SQL_RECEIPTS_FOR_MESSAGE] = {
        "SELECT id, umid, client_message_id, namespace, state, detail, error_code, error_message, "
        "price, event_at, channel FROM receipts WHERE (matched = 0 AND client_message_id = %s) "
        "OR (matched = 0 AND umid = %s) ORDER BY id", B8_SHAPE_RECEIPT },
    [B8_SQL_RECEIPT_MESSAGE_BY_UMID] = {
        "SELECT id, state, umid, campaign_id, channel FROM messages WHERE umid = %s "
        "ORDER BY id LIMIT 1", B8_SHAPE_RECEIPT_MESSAGE },
    [B8_SQL_RECEIPT_MESSAGE_BY_CMID] = {
        "SELECT id, state, umid, campaign_id, channel FROM messages WHERE client_message_id = %s",
        B8_SHAPE_RECEIPT_MESSAGE },
    /* Forward only, checked again here so that concurrent receipts on
     * PostgreSQL cannot move a row back: the ranks of b8_states.h for the
     * states that can still move (final states rank 99; test_states.c checks
     * this text and every state list here against that table); the last argument
     * is the new state's rank. The UMID is set apart (SET_UMID), only when
     * missing: naming it here would rewrite its index entry every time. */
    [B8_SQL_RECEIPT_MESSAGE_APPLY] = {
        "UPDATE messages SET state = %s, status_detail = %s, "
        "error_code = %s, error_message = %s, price = COALESCE(%s, price), receipt_at = %s, "
        "delivered_at = CASE WHEN CAST(%s AS TEXT) IN ('delivered', 'read') "
        "THEN COALESCE(delivered_at, %s) ELSE delivered_at END, "
        "read_at = CASE WHEN CAST(%s AS TEXT) = 'read' THEN COALESCE(read_at, %s) ELSE read_at END, "
        "updated_at = %s WHERE id = %s AND channel = %s AND (CASE state WHEN 'pending' THEN 0 "
        "WHEN 'sending' THEN 1 WHEN 'unknown' THEN 2 WHEN 'queued' THEN 3 WHEN 'sent' THEN 4 "
        "WHEN 'delivered' THEN 5 ELSE 99 END) < CAST(%s AS INTEGER)" },
    /* A receipt from the next channel of the message's fallback (Viber,
     * then SMS) starts that channel's progress from its own state, even
     * after a final failure on the first one; only a delivery or read on
     * the first channel stays unless the new state ranks as high (the
     * ranks of b8_states.h, checked by test_states.c). The old channel
     * guards against a concurrent switch. */
    [B8_SQL_RECEIPT_MESSAGE_SWITCH] = {
        "UPDATE messages SET state = %s, channel = %s, status_detail = %s, "
        "error_code = %s, error_message = %s, price = COALESCE(%s, price), receipt_at = %s, "
        "delivered_at = CASE WHEN CAST(%s AS TEXT) IN ('delivered', 'read') "
        "THEN COALESCE(delivered_at, %s) ELSE delivered_at END, "
        "read_at = CASE WHEN CAST(%s AS TEXT) = 'read' THEN COALESCE(read_at, %s) ELSE read_at END, "
        "updated_at = %s WHERE id = %s AND channel = %s AND (CASE state WHEN 'delivered' "
        "THEN 5 WHEN 'read' THEN 6 ELSE 0 END) <= CAST(%s AS INTEGER)" },
    [B8_SQL_RECEIPT_MESSAGE_SET_UMID] = {
        "UPDATE messages SET umid = %s, updated_at = %s WHERE id = %s AND umid IS NULL" },
    /* Locks the campaign row (a campaign being sent) before counting. */
    [B8_SQL_RECEIPT_CAMPAIGN_LOCK] = {
        "UPDATE campaigns SET state = state WHERE id = %s "
        "AND state IN ('queued', 'sending', 'paused')" },
    /* The recipients neither delivered nor read (0: the campaign is done). */
    [B8_SQL_RECEIPT_CAMPAIGN_OPEN] = {
        "SELECT COALESCE(SUM(n), 0) FROM campaign_counts WHERE campaign_id = %s "
        "AND state NOT IN ('delivered', 'read')" },
    [B8_SQL_RECEIPT_CAMPAIGN_DONE] = {
        "UPDATE campaigns SET state = 'done', done_at = %s, updated_at = %s WHERE id = %s "
        "AND state IN ('queued', 'sending', 'paused')" },

    /* PostgreSQL only (data-modifying WITH): the receipts that threads of
     * one process hand in together (b8_db_group_write), in one round trip
     * and one transaction. The argument is a JSON array, one object per
     * receipt k (0, 1, ...): umid, clientMessageId, namespace, 8x8 state,
     * detail, error code, error message, price, event_at, now, channel,
     * message state (NULL: none), its rank, 1 when it reached the phone.
     * Finds each message (by UMID, else clientMessageId), keeps the
     * receipts and moves each message forward on its channel with the guard
     * of RECEIPT_MESSAGE_APPLY (ranks of b8_states.h, checked by
     * test_states.c), once: with its receipt of highest rank (the first of
     * equals), as one after the other would. Messages are updated in the
     * order of their count rows (shard id % 32, as the triggers count), so
     * that concurrent batches lock count rows in one order and do not
     * deadlock. `slow` = 1 (nothing of that receipt written) when it needs
     * the full path: a switch to the fallback's next channel, or a UMID to
     * record. Answers per receipt, in order: k, matched, changed, slow,
     * campaign_id and, for a state that reached the phone, the campaign's
     * open recipients as seen before this statement (RECEIPT_CAMPAIGN_OPEN's
     * count, this batch's messages still in it). */
    [B8_SQL_RECEIPT_BATCH] = {
        "WITH a AS (SELECT * FROM json_to_recordset(CAST(%s AS JSON)) AS r(k INTEGER, "
        "r_umid TEXT, r_cmid TEXT, r_ns TEXT, r_state TEXT, r_detail TEXT, r_ecode TEXT, "
        "r_emsg TEXT, r_price TEXT, r_event_at TEXT, r_now TEXT, r_ch TEXT, r_to TEXT, "
        "r_rank INTEGER, r_reached INTEGER)), "
        /* One index lookup per receipt (a join would scan messages). */
        "fm AS (SELECT a.k, f.id AS m_id, f.umid AS m_umid, f.campaign_id AS m_campaign, "
        " COALESCE(f.channel, 'viber') AS m_channel FROM a CROSS JOIN LATERAL "
        " (SELECT * FROM (SELECT 0 AS pri, id, umid, campaign_id, channel FROM messages "
        "  WHERE umid = a.r_umid UNION ALL SELECT 1, id, umid, campaign_id, channel "
        "  FROM messages WHERE client_message_id = a.r_cmid) u ORDER BY pri, id LIMIT 1) f), "
        "am AS (SELECT a.*, fm.m_id, fm.m_campaign, fm.m_channel, "
        " CASE WHEN fm.m_id IS NOT NULL AND ((a.r_to IS NOT NULL AND (CASE WHEN "
        " COALESCE(a.r_ch, fm.m_channel) = 'sms' THEN 1 ELSE 0 END) <> (CASE WHEN "
        " fm.m_channel = 'sms' THEN 1 ELSE 0 END)) OR (fm.m_umid IS NULL AND a.r_umid "
        " IS NOT NULL)) THEN 1 ELSE 0 END AS m_slow FROM a LEFT JOIN fm ON fm.k = a.k), "
        "ins AS (INSERT INTO receipts (umid, client_message_id, namespace, state, detail, "
        " error_code, error_message, price, event_at, received_at, matched, channel) "
        " SELECT r_umid, r_cmid, r_ns, r_state, r_detail, r_ecode, r_emsg, r_price, "
        " r_event_at, r_now, CASE WHEN m_id IS NULL THEN 0 ELSE 1 END, r_ch FROM am "
        " WHERE m_slow = 0 ORDER BY k RETURNING id), "
        "best AS (SELECT DISTINCT ON (m_id) * FROM am WHERE m_slow = 0 AND m_id IS NOT NULL "
        " AND r_to IS NOT NULL ORDER BY m_id, r_rank DESC, k), "
        "upd AS (UPDATE messages SET state = b.r_to, status_detail = b.r_detail, "
        " error_code = b.r_ecode, error_message = b.r_emsg, price = COALESCE(b.r_price, price), "
        " receipt_at = COALESCE(b.r_event_at, b.r_now), "
        " delivered_at = CASE WHEN b.r_to IN ('delivered', 'read') "
        " THEN COALESCE(delivered_at, b.r_event_at, b.r_now) ELSE delivered_at END, "
        " read_at = CASE WHEN b.r_to = 'read' THEN COALESCE(read_at, b.r_event_at, b.r_now) "
        " ELSE read_at END, updated_at = b.r_now "
        " FROM (SELECT * FROM best ORDER BY m_id % " B8_COUNT_SHARDS ", m_id) b "
        " WHERE id = b.m_id AND channel = b.m_channel "
        " AND (CASE state WHEN 'pending' THEN 0 WHEN 'sending' THEN 1 WHEN 'unknown' THEN 2 "
        "WHEN 'queued' THEN 3 WHEN 'sent' THEN 4 WHEN 'delivered' THEN 5 ELSE 99 END) < b.r_rank "
        " RETURNING b.k), "
        "oc AS (SELECT campaign_id, SUM(n) AS n FROM campaign_counts "
        " WHERE campaign_id IN (SELECT m_campaign FROM am WHERE r_reached = 1) "
        " AND state NOT IN ('delivered', 'read') GROUP BY campaign_id) "
        "SELECT am.k, CASE WHEN am.m_id IS NULL THEN 0 ELSE 1 END AS matched, "
        "CASE WHEN upd.k IS NULL THEN 0 ELSE 1 END AS changed, am.m_slow AS slow, "
        "am.m_campaign AS campaign_id, CASE WHEN am.r_reached = 1 AND am.m_campaign IS NOT NULL "
        "THEN COALESCE(oc.n, 0) END AS open_before "
        "FROM am LEFT JOIN upd ON upd.k = am.k LEFT JOIN oc ON oc.campaign_id = am.m_campaign "
        "ORDER BY am.k",
        B8_SHAPE_RECEIPT_BATCH, 1 },

    /* webhook: inbound messages, stored once per UMID */
    [B8_SQL_INBOUND_EXISTS] = { "SELECT id FROM inbound WHERE umid = %s" },
    [B8_SQL_INBOUND_INSERT] = {
        "INSERT INTO inbound (umid, namespace, channel, phone, phone_key, name, type, body, raw, "
        "event_at, received_at, contact_id, ai_state) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (umid) DO NOTHING RETURNING id" },
    [B8_SQL_INBOUND_CONTACT_BY_KEY] = {
        "SELECT c.id, " B8_SUPPRESSED_C " AS opted_out, c.name FROM contacts c "
        "WHERE c.phone_key = %s ORDER BY c.id LIMIT 1", B8_SHAPE_INBOUND_CONTACT },
    [B8_SQL_INBOUND_CONTACT_CREATE] = {
        "INSERT INTO contacts (name, phone, phone_key, opted_out, opted_out_at, created_at, "
        "updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (phone) DO UPDATE SET "
        "opted_out = excluded.opted_out, opted_out_at = excluded.opted_out_at, "
        "updated_at = excluded.updated_at RETURNING id" },
    [B8_SQL_INBOUND_CONTACT_OPT] = {
        "UPDATE contacts SET opted_out = %s, opted_out_at = %s, updated_at = %s WHERE id = %s" },
    [B8_SQL_INBOUND_CONFIRMATION_INSERT] = {
        "INSERT INTO messages (kind, channel, inbound_id, contact_id, phone, phone_key, name, body, "
        "client_message_id, state, created_at, updated_at) "
        "VALUES ('confirmation', 'viber', %s, %s, %s, %s, %s, %s, %s, 'pending', %s, %s)" },
    /* STOP/START by SMS: answered by SMS, a send of one (kind 'sms', so the
     * SMS lane, log and crash rule treat it as every SMS); inbound_id marks
     * it as a confirmation, which the opt-out does not hold back. */
    [B8_SQL_INBOUND_SMS_CONFIRMATION_INSERT] = {
        "INSERT INTO messages (kind, channel, sms_batch_id, inbound_id, contact_id, phone, "
        "phone_key, name, body, sender, encoding, parts, client_message_id, state, created_at, "
        "updated_at) VALUES ('sms', 'sms', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'pending', "
        "%s, %s)" },

    /* the inbound API (newest first; contact by phone when not linked yet) */
#define B8_INBOUND_COLS \
    "i.id, i.umid, i.phone, i.name, i.channel, i.type, i.body, i.received_at, " \
    "COALESCE(i.contact_id, (SELECT MIN(c.id) FROM contacts c WHERE c.phone_key = i.phone_key)) " \
    "AS contact_id, " \
    "i.ai_state, i.ai_error, i.reply_id, i.event_at"
    [B8_SQL_INBOUND_COUNT] = { "SELECT COUNT(*) FROM inbound" },
    [B8_SQL_INBOUND_PAGE] = {
        "SELECT " B8_INBOUND_COLS " FROM inbound i ORDER BY i.id DESC LIMIT %s OFFSET %s",
        B8_SHAPE_INBOUND },
    [B8_SQL_INBOUND_COUNT_BY_KEY] = { "SELECT COUNT(*) FROM inbound WHERE phone_key = %s" },
    [B8_SQL_INBOUND_PAGE_BY_KEY] = {
        "SELECT " B8_INBOUND_COLS " FROM inbound i WHERE i.phone_key = %s "
        "ORDER BY i.id DESC LIMIT %s OFFSET %s", B8_SHAPE_INBOUND },
#undef B8_INBOUND_COLS


    /* The sender (campaign rows), the direct lane, actions, crons */
#define B8_DIRECT_KINDS "('confirmation', 'ai_reply', 'agent_ping', 'agent', 'agent_note')"
/* On the suppression list: the row's phone, or its contact's phone now. */
#define B8_OPTED_OUT(m) \
    "(EXISTS (SELECT 1 FROM suppressions s WHERE s.phone = " m ".phone) OR EXISTS (SELECT 1 " \
    "FROM contacts o JOIN suppressions s ON s.phone = o.phone WHERE o.id = " m ".contact_id))"
    /* Campaigns in the order they became Queued/Sending, with work left. */
    [B8_SQL_SEND_NEXT_CAMPAIGN] = {
        "SELECT c.id FROM campaigns c WHERE c.state = 'sending' "
        "AND (c.waiting_until IS NULL OR c.waiting_until <= %s) AND EXISTS (SELECT 1 FROM "
        "messages m WHERE m.campaign_id = c.id AND m.state = 'pending') "
        "ORDER BY COALESCE(c.queued_at, c.started_at, c.created_at), c.id LIMIT 1" },
    /* Recipients in insertion order, with the contact's name and opt-out now. */
    [B8_SQL_SEND_CLAIMABLE] = {
        "SELECT m.id, m.phone, COALESCE(NULLIF(ct.name, ''), m.name, '') AS name, "
        "m.client_message_id, "
        "CASE WHEN " B8_OPTED_OUT("m") " THEN 1 ELSE 0 END AS opted_out "
        "FROM messages m LEFT JOIN contacts ct ON ct.id = m.contact_id "
        "WHERE m.campaign_id = %s AND m.state = 'pending' ORDER BY m.id LIMIT %s",
        B8_SHAPE_CLAIMABLE },
    /* Committed before the request goes out (crash safety). */
    [B8_SQL_SEND_MARK] = {
        "UPDATE messages SET state = 'sending', attempts = attempts + 1, updated_at = %s "
        "WHERE id = %s AND state = 'pending'" },
    [B8_SQL_SEND_SKIP] = {
        "UPDATE messages SET state = 'skipped', error_message = %s, updated_at = %s "
        "WHERE id = %s AND state = 'pending'" },
    /* A receipt may have come first: never move a row backwards, keep its UMID. */
    [B8_SQL_SEND_ACCEPTED] = {
        "UPDATE messages SET umid = COALESCE(umid, %s), sent_at = COALESCE(sent_at, %s), "
        "updated_at = %s, attempts = attempts + %s, "
        "error_code = CASE WHEN state IN ('sending', 'unknown') THEN NULL ELSE error_code END, "
        "error_message = CASE WHEN state IN ('sending', 'unknown') THEN NULL "
        "ELSE error_message END, "
        "state = CASE WHEN state IN ('sending', 'unknown') THEN 'queued' ELSE state END "
        "WHERE id = %s" },
    [B8_SQL_SEND_FAILED] = {
        "UPDATE messages SET state = 'failed', error_code = %s, error_message = %s, "
        "error_id = %s, updated_at = %s, attempts = attempts + %s WHERE id = %s "
        "AND state IN ('sending', 'unknown')" },
    [B8_SQL_SEND_UNKNOWN] = {
        "UPDATE messages SET state = 'unknown', error_message = %s, updated_at = %s, "
        "attempts = attempts + %s WHERE id = %s AND state = 'sending'" },
    /* 8x8 refused the account, so it did not take the message: it waits. */
    [B8_SQL_SEND_BACK_PENDING] = {
        "UPDATE messages SET state = 'pending', updated_at = %s WHERE id = %s "
        "AND state = 'sending'" },
    [B8_SQL_SEND_PAUSE_REFUSED] = {
        "UPDATE campaigns SET state = 'paused', pause_reason = %s, updated_at = %s "
        "WHERE id = %s AND state = 'sending'" },
    /* Rows left 'sending' by a worker that died (settled at start). */
    [B8_SQL_SEND_STALE] = {
        "SELECT id, client_message_id FROM messages WHERE kind IN ('campaign', 'confirmation', "
        "'ai_reply', 'agent_ping', 'agent', 'agent_note') AND state = 'sending' "
        "AND channel = 'viber' AND id > %s ORDER BY id LIMIT 200", B8_SHAPE_STALE },
    [B8_SQL_DIRECT_NEXT] = {
        "SELECT id, phone, body, button_caption, button_url, client_message_id, kind "
        "FROM messages WHERE kind IN " B8_DIRECT_KINDS " AND state = 'pending' "
        "AND channel = 'viber' ORDER BY id LIMIT %s", B8_SHAPE_DIRECT },
    [B8_SQL_ACTION_TO_SENDING] = {
        "UPDATE campaigns SET state = 'sending', started_at = COALESCE(started_at, %s), "
        "queued_at = COALESCE(queued_at, %s), done_at = NULL, pause_reason = NULL, "
        "updated_at = %s WHERE id = %s" },
    [B8_SQL_ACTION_TO_QUEUED] = {
        "UPDATE campaigns SET state = 'queued', send_at = %s, queued_at = %s, updated_at = %s "
        "WHERE id = %s" },
    /* A person's move (pause, resume, cancel) ends an account-refusal pause. */
    [B8_SQL_ACTION_SET_STATE] = {
        "UPDATE campaigns SET state = %s, pause_reason = NULL, updated_at = %s WHERE id = %s" },
    [B8_SQL_ACTION_CANCEL_PENDING] = {
        "UPDATE messages SET state = 'cancelled', updated_at = %s "
        "WHERE campaign_id = %s AND state = 'pending'" },
    [B8_SQL_ACTION_ROWS_IN_STATE] = {
        "SELECT id FROM messages WHERE campaign_id = %s AND state IN (%s, %s) AND id > %s "
        "ORDER BY id LIMIT %s", B8_SHAPE_ROW_ID },
    /* Back to pending as a new message: fresh clientMessageId, no trace of the old one. */
    [B8_SQL_ACTION_ROW_RESET] = {
        "UPDATE messages SET state = 'pending', client_message_id = %s, umid = NULL, "
        "status_detail = NULL, error_code = NULL, error_message = NULL, error_id = NULL, "
        "price = NULL, channel = 'viber', attempts = 0, sent_at = NULL, receipt_at = NULL, "
        "updated_at = %s WHERE id = %s AND state IN (%s, %s)" },
    [B8_SQL_ACTION_DUPLICATE] = {
        "INSERT INTO campaigns (name, type, body, url, fallback_text, thumbnail_url, file_size, "
        "duration, button_caption, button_url, fallback_after, window_start, window_end, "
        "daily_cap, state, created_at, updated_at) "
        "SELECT CAST(%s AS TEXT), type, body, url, fallback_text, thumbnail_url, file_size, "
        "duration, button_caption, button_url, fallback_after, window_start, window_end, "
        "daily_cap, 'draft', CAST(%s AS TEXT), CAST(%s AS TEXT) "
        "FROM campaigns WHERE id = %s RETURNING id" },
    [B8_SQL_ACTION_COPY_SOURCE] = {
        "SELECT m.id, m.contact_id, m.phone, m.phone_key, m.name FROM messages m "
        "WHERE m.campaign_id = %s AND m.id > %s AND NOT " B8_OPTED_OUT("m")
        " ORDER BY m.id LIMIT %s", B8_SHAPE_COPY_SOURCE },
    [B8_SQL_ACTION_COPY_RECIPIENT] = {
        "INSERT INTO messages (kind, channel, campaign_id, contact_id, phone, phone_key, name, "
        "client_message_id, state, created_at, updated_at) "
        "VALUES ('campaign', 'viber', %s, %s, %s, %s, %s, %s, 'pending', %s, %s) "
        "ON CONFLICT (campaign_id, phone) DO NOTHING" },
    [B8_SQL_ACTION_PENDING_COUNT] = {
        "SELECT COALESCE(SUM(n), 0) FROM campaign_counts WHERE campaign_id = %s "
        "AND state = 'pending'" },
    [B8_SQL_PROGRESS_COUNTS] = {
        "SELECT state, SUM(n) AS n FROM campaign_counts WHERE campaign_id = %s GROUP BY state "
        "HAVING SUM(n) > 0 ORDER BY state", B8_SHAPE_STATE_COUNT },
    /* The state test is the messages_campaign_failures index's own. */
    [B8_SQL_PROGRESS_FAILURES] = {
        "SELECT id, phone, name, state, error_code, error_message, updated_at FROM messages "
        "WHERE campaign_id = %s AND state IN ('failed', 'undelivered', 'unknown') "
        "ORDER BY updated_at DESC, id DESC LIMIT %s", B8_SHAPE_FAILURE },
    [B8_SQL_SEND_TEST_CONTACT] = { "SELECT name FROM contacts WHERE phone = %s" },
    /* Minute cron "send queued campaigns" (and dated ones as they fall due). */
    [B8_SQL_CRON_START_DUE] = {
        "UPDATE campaigns SET state = 'sending', started_at = COALESCE(started_at, %s), "
        "queued_at = COALESCE(queued_at, %s), updated_at = %s "
        "WHERE state = 'queued' AND (send_at IS NULL OR send_at <= %s)" },
    [B8_SQL_CRON_START_DATED] = {
        "UPDATE campaigns SET state = 'sending', started_at = COALESCE(started_at, %s), "
        "queued_at = COALESCE(queued_at, %s), updated_at = %s "
        "WHERE state = 'queued' AND send_at IS NOT NULL AND send_at <= %s" },
    /* Minute cron "check UMIDs": every recipient accepted (UMID) or ended for good. */
    [B8_SQL_CRON_DONE] = {
        "UPDATE campaigns SET state = 'done', done_at = %s, updated_at = %s "
        "WHERE state = 'sending' AND NOT EXISTS (SELECT 1 FROM messages m "
        "WHERE m.campaign_id = campaigns.id AND (m.state IN ('pending', 'sending', 'unknown') "
        "OR (m.umid IS NULL AND m.state NOT IN ('failed', 'skipped', 'cancelled', "
        "'undelivered', 'delivered', 'read'))))" },
    /* The confirmation before Send now / Put in queue: the recipients still
     * to send, those who opted out since they were added, and those with
     * no name (for an empty {name}). */
    [B8_SQL_ESTIMATE_CAMPAIGN] = {
        "SELECT COUNT(*) AS pending, "
        "COALESCE(SUM(CASE WHEN " B8_OPTED_OUT("m") " THEN 1 ELSE 0 END), 0) AS opted_out, "
        "COALESCE(SUM(CASE WHEN NOT " B8_OPTED_OUT("m") " AND COALESCE(NULLIF(ct.name, ''), "
        "m.name, '') = '' THEN 1 ELSE 0 END), 0) AS no_name "
        "FROM messages m LEFT JOIN contacts ct ON ct.id = m.contact_id "
        "WHERE m.campaign_id = %s AND m.state = 'pending'", B8_SHAPE_ESTIMATE },

#undef B8_OPTED_OUT
#undef B8_DIRECT_KINDS

    /* SMS. A batch is 'composing' while the composer adds its rows
     * (the sender leaves it alone), then pending -> sending -> done. */
    [B8_SQL_SMS_BATCH_INSERT] = {
        "INSERT INTO sms_batches (sender, body, state, total, created_by, created_at, updated_at) "
        "VALUES (%s, %s, 'composing', 0, %s, %s, %s) RETURNING id" },
    [B8_SQL_SMS_BATCH_READY] = {
        "UPDATE sms_batches SET state = 'pending', total = %s, updated_at = %s "
        "WHERE id = %s AND state = 'composing'" },
    [B8_SQL_SMS_BATCH_DISCARD] = { "DELETE FROM sms_batches WHERE id = %s AND state = 'composing'" },
    [B8_SQL_SMS_INSERT] = {
        "INSERT INTO messages (kind, channel, sms_batch_id, contact_id, phone, phone_key, name, "
        "body, sender, encoding, parts, client_message_id, state, created_at, updated_at) "
        "VALUES ('sms', 'sms', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'pending', %s, %s)" },
    [B8_SQL_SMS_BATCH_BY_ID] = {
        "SELECT id, sender, body, state, total, created_by, created_at, updated_at, started_at, "
        "done_at, next_at, last_error FROM sms_batches WHERE id = %s", B8_SHAPE_SMS_BATCH },
    [B8_SQL_SMS_BATCH_COUNTS] = {
        "SELECT state, COUNT(*) AS n, COUNT(umid) AS with_umid FROM messages "
        "WHERE sms_batch_id = %s GROUP BY state", B8_SHAPE_SMS_BATCH_COUNT },
    /* The SMS log, newest first; filters optional (NULL = any): sender, state. */
#define B8_SMS_FILTER \
    "m.kind = 'sms' AND (CAST(%s AS TEXT) IS NULL OR m.sender = %s) " \
    "AND (CAST(%s AS TEXT) IS NULL OR m.state = %s)"
#define B8_SMS_COLS \
    "m.id, m.created_at, m.sender, m.phone, m.name, m.body, m.encoding, m.parts, m.umid, " \
    "m.state, m.error_code, m.error_message, m.error_id, m.price, m.sms_batch_id, " \
    "m.client_message_id, m.updated_at, m.contact_id"
    [B8_SQL_SMS_COUNT] = { "SELECT COUNT(*) FROM messages m WHERE " B8_SMS_FILTER },
    [B8_SQL_SMS_PAGE] = {
        "SELECT " B8_SMS_COLS " FROM messages m WHERE " B8_SMS_FILTER
        " ORDER BY m.id DESC LIMIT %s OFFSET %s", B8_SHAPE_SMS },
    [B8_SQL_SMS_EXPORT_AFTER] = {
        "SELECT " B8_SMS_COLS " FROM messages m WHERE " B8_SMS_FILTER
        " AND m.id > %s ORDER BY m.id LIMIT %s", B8_SHAPE_SMS },
#undef B8_SMS_FILTER
#undef B8_SMS_COLS
    /* The SMS sender (one batch request or one single send per step). */
    [B8_SQL_SMS_STALE] = {
        "SELECT id, client_message_id FROM messages WHERE kind = 'sms' AND state = 'sending' "
        "AND id > %s ORDER BY id LIMIT 500", B8_SHAPE_STALE },
    [B8_SQL_SMS_NEXT_BATCH] = {
        "SELECT id, sender, state, next_at, tries, rate_limited, total, failing_since "
        "FROM sms_batches "
        "WHERE state IN ('pending', 'sending') ORDER BY id LIMIT 1", B8_SHAPE_SMS_NEXT },
    /* Rows in insertion order, with the contact's opt-out as it is now. */
    [B8_SQL_SMS_CLAIMABLE] = {
        "SELECT m.id, m.phone, m.body, m.client_message_id, CASE WHEN m.inbound_id IS NULL AND "
        "(EXISTS (SELECT 1 FROM suppressions s WHERE s.phone = m.phone) OR EXISTS (SELECT 1 "
        "FROM contacts o JOIN suppressions s ON s.phone = o.phone WHERE o.id = m.contact_id)) "
        "THEN 1 ELSE 0 END AS opted_out FROM messages m WHERE m.sms_batch_id = %s "
        "AND m.state = 'pending' ORDER BY m.id LIMIT %s", B8_SHAPE_SMS_CLAIMABLE },
    [B8_SQL_SMS_SKIP] = {
        "UPDATE messages SET state = 'skipped', error_message = %s, updated_at = %s "
        "WHERE id = %s AND state = 'pending'" },
    /* A chunk is an id range of one batch: committed 'sending' before the request. */
    [B8_SQL_SMS_MARK_RANGE] = {
        "UPDATE messages SET state = 'sending', attempts = attempts + 1, updated_at = %s "
        "WHERE sms_batch_id = %s AND state = 'pending' AND id >= %s AND id <= %s" },
    [B8_SQL_SMS_BATCH_SENDING] = {
        "UPDATE sms_batches SET state = 'sending', started_at = COALESCE(started_at, %s), "
        "updated_at = %s WHERE id = %s AND state IN ('pending', 'sending')" },
    /* A receipt may have come first: never move a row backwards, keep its UMID. */
    [B8_SQL_SMS_ACCEPTED] = {
        "UPDATE messages SET umid = COALESCE(umid, %s), sent_at = COALESCE(sent_at, %s), "
        "updated_at = %s, "
        "error_code = CASE WHEN state IN ('sending', 'unknown') THEN NULL ELSE error_code END, "
        "error_message = CASE WHEN state IN ('sending', 'unknown') THEN NULL "
        "ELSE error_message END, "
        "state = CASE WHEN state IN ('sending', 'unknown') THEN 'queued' ELSE state END "
        "WHERE id = %s" },
    [B8_SQL_SMS_FAILED] = {
        "UPDATE messages SET state = 'failed', error_code = %s, error_message = %s, "
        "error_id = %s, updated_at = %s WHERE id = %s AND state IN ('sending', 'unknown')" },
    [B8_SQL_SMS_RANGE_FAILED] = {
        "UPDATE messages SET state = 'failed', error_code = %s, error_message = %s, "
        "error_id = %s, updated_at = %s WHERE sms_batch_id = %s AND state = 'sending' AND id >= %s "
        "AND id <= %s" },
    [B8_SQL_SMS_RANGE_UNKNOWN] = {
        "UPDATE messages SET state = 'unknown', error_message = %s, updated_at = %s "
        "WHERE sms_batch_id = %s AND state = 'sending' AND id >= %s AND id <= %s" },
    /* 8x8 did not take the chunk (429, 5xx, not sent): pending again, same ids. */
    [B8_SQL_SMS_RANGE_PENDING] = {
        "UPDATE messages SET state = 'pending', updated_at = %s "
        "WHERE sms_batch_id = %s AND state = 'sending' AND id >= %s AND id <= %s" },
    [B8_SQL_SMS_BATCH_RETRY] = {
        "UPDATE sms_batches SET tries = %s, rate_limited = %s, next_at = %s, last_error = %s, "
        "failing_since = %s, updated_at = %s WHERE id = %s" },
    [B8_SQL_SMS_BATCH_DONE] = {
        "UPDATE sms_batches SET state = 'done', done_at = %s, next_at = NULL, updated_at = %s "
        "WHERE id = %s AND state IN ('pending', 'sending') AND NOT EXISTS (SELECT 1 FROM "
        "messages m WHERE m.sms_batch_id = %s AND m.state IN ('pending', 'sending'))" },
    /* A composer that died half-way: its rows are never sent by surprise later. */
    [B8_SQL_SMS_ABANDON_ROWS] = {
        "UPDATE messages SET state = 'cancelled', error_message = %s, updated_at = %s "
        "WHERE state = 'pending' AND sms_batch_id IN (SELECT id FROM sms_batches "
        "WHERE state = 'composing' AND created_at < %s)" },
    [B8_SQL_SMS_ABANDON_BATCHES] = {
        "UPDATE sms_batches SET state = 'cancelled', updated_at = %s "
        "WHERE state = 'composing' AND created_at < %s" },

    /* metrics: messages that reached each state (pending is not counted:
     * see queue_depth), the direct and SMS queues (triggers below), the
     * campaigns being sent (their campaign_counts rows) and the AI lane
     * (the inbound_ai index, only the rows waiting) */
    [B8_SQL_METRICS_MESSAGES] = {
        "SELECT channel, state, SUM(n) AS n FROM message_counts GROUP BY channel, state "
        "ORDER BY channel, state", B8_SHAPE_METRIC_STATE },
    [B8_SQL_METRICS_QUEUES] = {
        "SELECT lane, SUM(n) AS n FROM queue_counts GROUP BY lane", B8_SHAPE_METRIC_LANE },
    [B8_SQL_METRICS_CAMPAIGN_QUEUE] = {
        "SELECT COALESCE(SUM(n.n), 0) FROM campaigns c JOIN campaign_counts n "
        "ON n.campaign_id = c.id AND n.state = 'pending' WHERE c.state = 'sending'" },
    [B8_SQL_METRICS_AI_QUEUE] = { "SELECT COUNT(*) FROM inbound WHERE ai_state = 'new'" },
    /* issue 19: a click on a recipient's button link: one indexed write
     * that answers where to go (the campaign's stored URL, nothing else). */
    [B8_SQL_CLICK_RECORD] = {
        "UPDATE messages SET clicks = clicks + 1, clicked_at = COALESCE(clicked_at, %s) "
        "WHERE id = %s AND kind = 'campaign' "
        "RETURNING (SELECT c.button_url FROM campaigns c WHERE c.id = messages.campaign_id)" },
    /* HEAD and link previewers: the same target, nothing counted. */
    [B8_SQL_CLICK_TARGET] = {
        "SELECT c.button_url FROM messages m JOIN campaigns c ON c.id = m.campaign_id "
        "WHERE m.id = %s AND m.kind = 'campaign'" },
    /* A reply counts for the latest campaign that reached that phone inside
     * the window (accepted by 8x8 and not undelivered); its first reply time
     * is kept. Args: now, phone_key, window start, now. */
    [B8_SQL_REPLY_ATTRIBUTE] = {
        "UPDATE messages SET replied_at = COALESCE(replied_at, %s) WHERE id = ("
        "SELECT id FROM messages WHERE phone_key = %s AND kind = 'campaign' "
        "AND state IN ('queued', 'sent', 'delivered', 'read') AND sent_at >= %s "
        "AND sent_at <= %s ORDER BY sent_at DESC, id DESC LIMIT 1) RETURNING campaign_id" },
    [B8_SQL_INBOUND_SET_CAMPAIGN] = { "UPDATE inbound SET campaign_id = %s WHERE id = %s" },
    /* Clicked and replied off their partial indexes, leads off theirs. */
    [B8_SQL_RESULTS_COUNTS] = {
        "SELECT (SELECT COUNT(*) FROM messages WHERE campaign_id = %s AND clicked_at IS NOT NULL) "
        "AS clicked, (SELECT COUNT(*) FROM messages WHERE campaign_id = %s "
        "AND replied_at IS NOT NULL) AS replied, "
        "(SELECT COUNT(*) FROM leads WHERE campaign_id = %s) AS leads, "
        "(SELECT COUNT(*) FROM leads WHERE campaign_id = %s AND status = 'won') AS won",
        B8_SHAPE_RESULTS_COUNTS },
    [B8_SQL_RESULTS_CLICKED] = {
        "SELECT COUNT(*) FROM messages WHERE campaign_id = %s AND clicked_at IS NOT NULL" },
    /* Each event's hours off its own index (only the rows that had the
     * event are in it, in hour order: no sort): event number, hour
     * ("2026-12-07T05"), count. The expression must stay the indexes' own.
     * Args: the campaign, five times. */
#define B8_TIMELINE_PART(k, col) \
    "SELECT " k " AS e, SUBSTR(" col ", 1, 13) AS b, COUNT(*) AS n FROM messages " \
    "WHERE campaign_id = %s AND " col " IS NOT NULL GROUP BY SUBSTR(" col ", 1, 13)"
    [B8_SQL_RESULTS_TIMELINE] = {
        B8_TIMELINE_PART("0", "sent_at") " UNION ALL " B8_TIMELINE_PART("1", "delivered_at")
        " UNION ALL " B8_TIMELINE_PART("2", "read_at") " UNION ALL "
        B8_TIMELINE_PART("3", "clicked_at") " UNION ALL " B8_TIMELINE_PART("4", "replied_at"),
        B8_SHAPE_TIMELINE },
#undef B8_TIMELINE_PART
    /* Retargeting: the rows of another campaign that meet every condition
     * given (NULL = any): states (a flag, then 16 slots, repeated to fill), clicked 0/1, replied
     * 0/1; in id order, one chunk after the last id seen. */
    [B8_SQL_RESULTS_RETARGET_AFTER] = {
        "SELECT m.id, m.contact_id, m.phone, m.name FROM messages m WHERE m.campaign_id = %s "
        "AND (CAST(%s AS TEXT) IS NULL OR m.state IN (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
        "%s, %s, %s, %s, %s, %s)) "
        "AND (CAST(%s AS TEXT) IS NULL OR (m.clicked_at IS NOT NULL) = (CAST(%s AS INTEGER) = 1)) "
        "AND (CAST(%s AS TEXT) IS NULL OR (m.replied_at IS NOT NULL) = (CAST(%s AS INTEGER) = 1)) "
        "AND m.id > %s ORDER BY m.id LIMIT %s", B8_SHAPE_RETARGET },
    /* The dashboard's days (UTC dates, from the given date on): campaign
     * messages by the day they were sent (the cohort: how many of them were
     * delivered, read, clicked since), inbound messages, leads, SMS and
     * their cost per sender. */
    [B8_SQL_RESULTS_DAYS_VIBER] = {
        "SELECT SUBSTR(sent_at, 1, 10) AS day, COUNT(*) AS sent, "
        "SUM(CASE WHEN state IN ('delivered', 'read') THEN 1 ELSE 0 END) AS delivered, "
        "SUM(CASE WHEN state = 'read' THEN 1 ELSE 0 END) AS read, "
        "SUM(CASE WHEN clicked_at IS NOT NULL THEN 1 ELSE 0 END) AS clicked "
        "FROM messages WHERE sent_at >= %s AND kind = 'campaign' GROUP BY 1", B8_SHAPE_DAY_VIBER },
    [B8_SQL_RESULTS_DAYS_INBOUND] = {
        "SELECT SUBSTR(received_at, 1, 10) AS day, COUNT(*) AS n FROM inbound "
        "WHERE received_at >= %s GROUP BY 1", B8_SHAPE_DAY_COUNT },
    [B8_SQL_RESULTS_DAYS_LEADS] = {
        "SELECT SUBSTR(created_at, 1, 10) AS day, COUNT(*) AS n FROM leads WHERE created_at >= %s "
        "GROUP BY 1", B8_SHAPE_DAY_COUNT },
    [B8_SQL_RESULTS_DAYS_SMS] = {
        "SELECT SUBSTR(sent_at, 1, 10) AS day, COALESCE(sender, '') AS sender, COUNT(*) AS n, "
        "SUM(CASE WHEN price IS NULL OR price = '' THEN 0 ELSE CAST(price AS NUMERIC) END) AS cost "
        "FROM messages WHERE sent_at >= %s AND kind = 'sms' GROUP BY 1, 2", B8_SHAPE_DAY_SMS },

    /* issue 17: a form's result, shown once on the page it lands on. */
    [B8_SQL_FLASH_INSERT] = {
        "INSERT INTO flashes (token, login, data, created_at) VALUES (%s, %s, %s, %s)" },
    [B8_SQL_FLASH_TAKE] = {
        "DELETE FROM flashes WHERE token = %s AND login = %s AND created_at > %s RETURNING data" },
    [B8_SQL_FLASH_EXPIRE] = { "DELETE FROM flashes WHERE created_at < %s" },
    /* Idempotency keys: the first request claims (scope, key) with state 0;
     * the answer is stored when it is known. nrows 0 = claimed before. */
    [B8_SQL_IDEM_CLAIM] = {
        "INSERT INTO idempotency_keys (scope, key, body_hash, status, created_at) "
        "VALUES (%s, %s, %s, 0, %s) ON CONFLICT (scope, key) DO NOTHING" },
    [B8_SQL_IDEM_GET] = {
        "SELECT body_hash, status, response, created_at FROM idempotency_keys "
        "WHERE scope = %s AND key = %s", B8_SHAPE_IDEM },
    [B8_SQL_IDEM_FINISH] = {
        "UPDATE idempotency_keys SET status = %s, response = %s WHERE scope = %s AND key = %s" },
    [B8_SQL_IDEM_FORGET] = { "DELETE FROM idempotency_keys WHERE scope = %s AND key = %s" },
    [B8_SQL_IDEM_EXPIRE] = {
        "DELETE FROM idempotency_keys WHERE created_at < %s" },

    /* Queued -> Draft: no longer dated, editable again. */
    [B8_SQL_ACTION_UNQUEUE] = {
        "UPDATE campaigns SET state = 'draft', send_at = NULL, queued_at = NULL, updated_at = %s "
        "WHERE id = %s AND state = 'queued'" },

    /* FAQ import with mode=replace: the file's pairs replace every pair. */
    [B8_SQL_FAQS_DELETE_ALL] = { "DELETE FROM faqs" },

    /* recipients.csv?state=: the page's filter. */
    [B8_SQL_RECIPIENTS_AFTER_STATE] = {
        "SELECT id, phone, name, client_message_id, umid, state, error_code, error_message, "
        "error_id, updated_at, clicked_at, clicks, replied_at FROM messages "
        "WHERE campaign_id = %s AND state = %s AND id > %s "
        "ORDER BY id LIMIT %s", B8_SHAPE_RECIPIENT_EXPORT },

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

/* Each shape's column names, from its one list in b8_sql.h. */
#define B8_COL_NAME(shape, col) #col,
#define B8_SHAPE_NAMES(shape) \
    static const char *const cols_##shape[] = { B8_COLS_##shape(B8_COL_NAME, shape) NULL };
B8_SHAPE_LIST(B8_SHAPE_NAMES)
#undef B8_SHAPE_NAMES
#undef B8_COL_NAME

static const struct { const char *name; const char *const *cols; } shapes[B8_SHAPE_COUNT] = {
#define B8_SHAPE_META(shape) [B8_SHAPE_##shape] = { #shape, cols_##shape },
    B8_SHAPE_LIST(B8_SHAPE_META)
#undef B8_SHAPE_META
};

b8_shape b8_sql_shape(b8_sql_id id)
{
    return statements[id].shape;
}

int b8_sql_pgsql_only(b8_sql_id id)
{
    return statements[id].pgsql_only;
}

const char *const *b8_sql_shape_columns(b8_shape shape)
{
    return shape > B8_SHAPE_NONE && shape < B8_SHAPE_COUNT ? shapes[shape].cols : NULL;
}

const char *b8_sql_shape_name(b8_shape shape)
{
    return shape > B8_SHAPE_NONE && shape < B8_SHAPE_COUNT ? shapes[shape].name : NULL;
}

int b8_sql_writes(b8_sql_id id)
{
    return meta[id].writes;
}

/* The arguments: each %s of the text (a % alone is SQL's modulo). */
int b8_sql_nargs(b8_sql_id id)
{
    int n = 0;
    for (const char *s = statements[id].sql; (s = strstr(s, "%s")) != NULL; s += 2) {
        n++;
    }
    return n;
}

/* Migration 1: the whole schema of SPEC.md; later ones change it. */
static const char *const migrations[] = {
    "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL);"
    "CREATE TABLE runtime (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL);"
    "CREATE TABLE leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at TEXT NOT NULL,"
    " acquired_at TEXT NOT NULL, last_send_at TEXT);"
    "CREATE TABLE users (id @PK@, login TEXT NOT NULL UNIQUE, name TEXT NOT NULL DEFAULT '',"
    " phone TEXT, is_admin INTEGER NOT NULL DEFAULT 0, is_agent INTEGER NOT NULL DEFAULT 0,"
    " created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
    "CREATE TABLE tags (id @PK@, name TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL);"
    "CREATE UNIQUE INDEX tags_name_ci ON tags (LOWER(name));"
    "CREATE TABLE contacts (id @PK@, name TEXT NOT NULL DEFAULT '', phone TEXT NOT NULL UNIQUE,"
    " phone_key TEXT NOT NULL, opted_out INTEGER NOT NULL DEFAULT 0, opted_out_at TEXT,"
    " created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
    /* Not "contacts_phone_key": PostgreSQL gives that name to UNIQUE (phone). */
    "CREATE INDEX contacts_by_phone_key ON contacts (phone_key);"
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
    " created_by TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
    " started_at TEXT, done_at TEXT, next_at TEXT, tries INTEGER NOT NULL DEFAULT 0,"
    " rate_limited INTEGER NOT NULL DEFAULT 0, last_error TEXT);"
    "CREATE INDEX sms_batches_state ON sms_batches (state, id);"
    "CREATE TABLE inbound (id @PK@, umid TEXT NOT NULL UNIQUE, namespace TEXT NOT NULL,"
    " channel TEXT, phone TEXT NOT NULL, phone_key TEXT, name TEXT, type TEXT NOT NULL,"
    " body TEXT, raw TEXT NOT NULL, event_at TEXT, received_at TEXT NOT NULL, contact_id @ID@,"
    " ai_state TEXT NOT NULL DEFAULT 'new', ai_error TEXT, ai_attempts INTEGER NOT NULL DEFAULT 0,"
    " ai_claim TEXT, ai_claimed_at TEXT, ai_next_at TEXT, reply_id @ID@, intent TEXT);"
    "CREATE INDEX inbound_ai_claim ON inbound (ai_claim);"
    "CREATE INDEX inbound_ai ON inbound (ai_state, id);"
    "CREATE INDEX inbound_phone ON inbound (phone_key, id);"
    "CREATE TABLE messages (id @PK@, kind TEXT NOT NULL, channel TEXT NOT NULL,"
    " campaign_id @ID@ REFERENCES campaigns (id) ON DELETE CASCADE,"
    " sms_batch_id @ID@ REFERENCES sms_batches (id) ON DELETE CASCADE,"
    " inbound_id @ID@, lead_id @ID@, user_id @ID@, contact_id @ID@,"
    " phone TEXT NOT NULL, phone_key TEXT, name TEXT, body TEXT, button_caption TEXT,"
    " button_url TEXT, sender TEXT, encoding TEXT,"
    " parts INTEGER, client_message_id TEXT NOT NULL UNIQUE, umid TEXT,"
    " state TEXT NOT NULL DEFAULT 'pending', status_detail TEXT, error_code TEXT,"
    " error_message TEXT, price TEXT, attempts INTEGER NOT NULL DEFAULT 0,"
    " created_at TEXT NOT NULL, updated_at TEXT NOT NULL, sent_at TEXT, receipt_at TEXT);"
    "CREATE UNIQUE INDEX messages_campaign_phone ON messages (campaign_id, phone);"
    "CREATE INDEX messages_campaign ON messages (campaign_id, id);"
    "CREATE INDEX messages_campaign_state ON messages (campaign_id, state, id);"
    "CREATE INDEX messages_umid ON messages (umid);"
    "CREATE INDEX messages_kind_state ON messages (kind, state, id);"
    "CREATE INDEX messages_phone ON messages (phone_key, id);"
    "CREATE INDEX messages_batch ON messages (sms_batch_id, id);"
    "CREATE INDEX messages_sms_log ON messages (id) WHERE kind = 'sms';"
    "CREATE TABLE receipts (id @PK@, umid TEXT, client_message_id TEXT, namespace TEXT NOT NULL,"
    " state TEXT NOT NULL, detail TEXT, error_code TEXT, error_message TEXT, price TEXT,"
    " event_at TEXT, received_at TEXT NOT NULL, matched INTEGER NOT NULL DEFAULT 0);"
    /* Only receipts still waiting for their message are looked up: applied
     * ones (nearly all) cost no index writes. */
    "CREATE INDEX receipts_cmid ON receipts (client_message_id) WHERE matched = 0;"
    "CREATE INDEX receipts_umid ON receipts (umid) WHERE matched = 0;"
    "CREATE TABLE faqs (id @PK@, prompt TEXT NOT NULL, completion TEXT NOT NULL,"
    " position INTEGER NOT NULL);"
    "CREATE TABLE leads (id @PK@, inbound_id @ID@ UNIQUE, name TEXT NOT NULL, phone TEXT NOT NULL,"
    " contact_id @ID@, claimed_by @ID@, claimed_at TEXT, created_at TEXT NOT NULL);"
    "CREATE INDEX leads_claimed ON leads (claimed_by, id);"
    "CREATE INDEX messages_lead ON messages (lead_id, user_id)",
    /* Migration 2: delivery receipts (most of all writes) touch the fewest
     * pages. Recipient counts per campaign and state are kept by triggers
     * (below, per database) in campaign_counts instead of being counted
     * off a (campaign_id, state) index that every receipt reshuffled; rows
     * are indexed by state only while a lane looks them up ('pending',
     * 'sending') or while they need attention (the failures list). */
    "CREATE TABLE campaign_counts (campaign_id @ID@ NOT NULL REFERENCES campaigns (id)"
    " ON DELETE CASCADE, state TEXT NOT NULL, n INTEGER NOT NULL,"
    " PRIMARY KEY (campaign_id, state));"
    "INSERT INTO campaign_counts (campaign_id, state, n) SELECT campaign_id, state, COUNT(*)"
    " FROM messages WHERE campaign_id IS NOT NULL GROUP BY campaign_id, state;"
    "DROP INDEX messages_kind_state;"
    "DROP INDEX messages_campaign_state;"
    "CREATE INDEX messages_kind_pending ON messages (kind, id) WHERE state = 'pending';"
    "CREATE INDEX messages_kind_sending ON messages (kind, id) WHERE state = 'sending';"
    "CREATE INDEX messages_campaign_pending ON messages (campaign_id, id) WHERE state = 'pending';"
    "CREATE INDEX messages_campaign_failures ON messages (campaign_id, updated_at)"
    " WHERE state IN ('failed', 'undelivered', 'unknown')",
    /* Migration 3: the counts of a campaign and state are spread over
     * B8_COUNT_SHARDS rows (a message counts in row id % shards), summed
     * when read. On PostgreSQL every receipt's transaction holds the count
     * rows it changed until its commit is flushed: one row per state made
     * concurrent receipts wait for each other (bench_webhook). */
    "DROP TABLE campaign_counts;"
    "CREATE TABLE campaign_counts (campaign_id @ID@ NOT NULL REFERENCES campaigns (id)"
    " ON DELETE CASCADE, state TEXT NOT NULL, shard INTEGER NOT NULL, n INTEGER NOT NULL,"
    " PRIMARY KEY (campaign_id, state, shard));"
    "INSERT INTO campaign_counts (campaign_id, state, shard, n)"
    " SELECT campaign_id, state, id % " B8_COUNT_SHARDS ", COUNT(*) FROM messages"
    " WHERE campaign_id IS NOT NULL GROUP BY campaign_id, state, id % " B8_COUNT_SHARDS ";"
    /* A receipt looks its message up by UMID, first id first: with the id
     * in the index, PostgreSQL cannot prefer walking the primary key and
     * filtering (its choice while a bulk-loaded table has no statistics:
     * a scan of the whole campaign per receipt). */
    "DROP INDEX messages_umid;"
    "CREATE INDEX messages_umid ON messages (umid, id)",
    /* Migration 4 (speaking the real 8x8): the seconds before a campaign's
     * SMS fallback; why a campaign was paused by an account refusal; 8x8's
     * errorId of a failed send; the channel a receipt is about (a fallback
     * moves a message from Viber to SMS); since when an SMS send has been
     * waiting out an 8x8 outage. */
    "ALTER TABLE campaigns ADD COLUMN fallback_after INTEGER NOT NULL DEFAULT 60;"
    "ALTER TABLE campaigns ADD COLUMN pause_reason TEXT;"
    "ALTER TABLE messages ADD COLUMN error_id TEXT;"
    "ALTER TABLE receipts ADD COLUMN channel TEXT;"
    "ALTER TABLE sms_batches ADD COLUMN failing_since TEXT",
    /* Migration 5: inbound.phone may be NULL, for senders without a
     * phone number (other chat channels, alphanumeric and short SMS
     * senders). Per database: SQLite rebuilds the table. */
    "",
    /* Migration 6 (O1, metrics): message_counts, the messages that reached
     * each channel and state (a counter: only ever added to), and
     * queue_counts, the pending messages of the direct and SMS lanes (a
     * gauge), both kept by triggers (below, per database) and read by
     * /blu8x8-metrics. They start from the rows there are now. Rows are
     * spread over shards (PostgreSQL: the connection's, so concurrent
     * receipts seldom wait for one another's count row); a read sums them.
     * Campaign rows added as pending fire nothing (imports stay fast). */
    "CREATE TABLE message_counts (channel TEXT NOT NULL, state TEXT NOT NULL,"
    " shard INTEGER NOT NULL, n @ID@ NOT NULL, PRIMARY KEY (channel, state, shard));"
    "INSERT INTO message_counts (channel, state, shard, n) SELECT channel, state, 0, COUNT(*)"
    " FROM messages WHERE state <> 'pending' GROUP BY channel, state;"
    "CREATE TABLE queue_counts (lane TEXT NOT NULL, shard INTEGER NOT NULL, n @ID@ NOT NULL,"
    " PRIMARY KEY (lane, shard));"
    "INSERT INTO queue_counts (lane, shard, n) SELECT CASE WHEN kind = 'sms' THEN 'sms'"
    " ELSE 'direct' END, 0, COUNT(*) FROM messages WHERE state = 'pending'"
    " AND kind <> 'campaign' GROUP BY CASE WHEN kind = 'sms' THEN 'sms' ELSE 'direct' END",
    /* Migration 7: conversations, one per customer phone
     * key, kept on write (latest activity, assignee, handoff clock, unread
     * and note marks), filled from the inbound messages stored so far;
     * leads get a status (new, claimed, won, lost), notes and the
     * customer's phone key (one open lead per customer). */
    "CREATE TABLE conversations (id @PK@, phone_key TEXT NOT NULL UNIQUE, phone TEXT, name TEXT,"
    " contact_id @ID@, status TEXT NOT NULL DEFAULT 'open', assignee_id @ID@, handoff_at TEXT,"
    " lead_id @ID@, last_message_at TEXT NOT NULL, last_text TEXT, last_in_at TEXT,"
    " seen_at TEXT, note_at TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
    /* The list walks the first index newest first (its optional filters
     * read past other rows); its count reads only the second. */
    "CREATE INDEX conversations_recent ON conversations (last_message_at, id);"
    "CREATE INDEX conversations_filters ON conversations (status, assignee_id);"
    "ALTER TABLE leads ADD COLUMN status TEXT NOT NULL DEFAULT 'new';"
    "ALTER TABLE leads ADD COLUMN notes TEXT;"
    "ALTER TABLE leads ADD COLUMN phone_key TEXT;"
    "UPDATE leads SET status = 'claimed' WHERE claimed_by IS NOT NULL;"
    "UPDATE leads SET phone_key = (SELECT i.phone_key FROM inbound i"
    " WHERE i.id = leads.inbound_id);"
    "CREATE INDEX leads_open ON leads (phone_key, status);"
    "INSERT INTO conversations (phone_key, phone, name, contact_id, status, last_message_at,"
    " last_in_at, created_at, updated_at) SELECT phone_key, MAX(phone), MAX(name),"
    " MIN(contact_id), 'open', MAX(received_at), MAX(received_at), MIN(received_at),"
    " MAX(received_at) FROM inbound WHERE phone_key IS NOT NULL GROUP BY phone_key;"
    "UPDATE conversations SET last_text = (SELECT i.body FROM inbound i"
    " WHERE i.phone_key = conversations.phone_key ORDER BY i.id DESC LIMIT 1);"
    "UPDATE conversations SET lead_id = (SELECT MAX(l.id) FROM leads l"
    " WHERE l.phone_key = conversations.phone_key)",

    /* Migration 8: the suppression list,
     * opt-outs by phone that outlive contacts (every opted-out contact moves
     * in); the contacts' folded name for an accent-insensitive search
     * (filled by b8_contacts_fold_backlog at the worker's start); campaign
     * send windows and daily caps. */
    "CREATE TABLE suppressions (phone TEXT PRIMARY KEY, reason TEXT NOT NULL DEFAULT '',"
    " created_at TEXT NOT NULL);"
    "INSERT INTO suppressions (phone, reason, created_at) SELECT phone, 'opted out',"
    " COALESCE(opted_out_at, updated_at) FROM contacts WHERE opted_out = 1;"
    "ALTER TABLE contacts ADD COLUMN name_key TEXT;"
    /* A campaign's send window ("HH:MM" local), daily cap, and until when
     * the sender leaves it waiting (outside the window, over the cap). */
    "ALTER TABLE campaigns ADD COLUMN window_start TEXT;"
    "ALTER TABLE campaigns ADD COLUMN window_end TEXT;"
    "ALTER TABLE campaigns ADD COLUMN daily_cap INTEGER;"
    "ALTER TABLE campaigns ADD COLUMN waiting_until TEXT",
    /* Migration 9: flashes (a form's
     * result, read once by the page the form redirects to) and
     * idempotency_keys (the first answer of a sending API call, by login
     * and route, kept 24 hours). */
    "CREATE TABLE flashes (token TEXT PRIMARY KEY, login TEXT NOT NULL, data TEXT NOT NULL,"
    " created_at TEXT NOT NULL);"
    "CREATE INDEX flashes_created ON flashes (created_at);"
    "CREATE TABLE idempotency_keys (scope TEXT NOT NULL, key TEXT NOT NULL,"
    " body_hash TEXT NOT NULL, status INTEGER NOT NULL DEFAULT 0, response TEXT,"
    " created_at TEXT NOT NULL, PRIMARY KEY (scope, key));"
    "CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at)",
    /* Migration 10: results of campaigns. A recipient row
     * keeps when it was delivered, read, first clicked (and how often) and
     * first replied to; an inbound message and a lead name the campaign
     * they are attributed to. */
    "ALTER TABLE messages ADD COLUMN delivered_at TEXT;"
    "ALTER TABLE messages ADD COLUMN read_at TEXT;"
    "ALTER TABLE messages ADD COLUMN clicked_at TEXT;"
    "ALTER TABLE messages ADD COLUMN clicks INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE messages ADD COLUMN replied_at TEXT;"
    "ALTER TABLE inbound ADD COLUMN campaign_id @ID@;"
    "ALTER TABLE leads ADD COLUMN campaign_id @ID@;"
    /* (the per-event indexes differ by database: results_indexes_*) */
    /* The dashboard's last days: sends by day, inbound by day. */
    "CREATE INDEX messages_sent ON messages (sent_at) WHERE sent_at IS NOT NULL;"
    "CREATE INDEX inbound_received ON inbound (received_at);"
    "CREATE INDEX leads_campaign ON leads (campaign_id, created_at)",
    /* Migration 11: the metrics' count rows by message id (PostgreSQL:
     * metrics_by_row_pgsql; SQLite keeps one row, it has no versions). */
    "",
};

/* The statements of a migration that differ by database (triggers), one
 * statement per string, NULL-terminated; run after its common DDL. */
static const char *const counts_sqlite[] = {
    "CREATE TRIGGER messages_counts_insert AFTER INSERT ON messages "
    "WHEN NEW.campaign_id IS NOT NULL BEGIN "
    "INSERT INTO campaign_counts (campaign_id, state, n) VALUES (NEW.campaign_id, NEW.state, 1) "
    "ON CONFLICT (campaign_id, state) DO UPDATE SET n = n + 1; END",
    "CREATE TRIGGER messages_counts_update AFTER UPDATE OF state ON messages "
    "WHEN NEW.campaign_id IS NOT NULL AND OLD.state <> NEW.state BEGIN "
    "UPDATE campaign_counts SET n = n - 1 WHERE campaign_id = OLD.campaign_id "
    "AND state = OLD.state; "
    "INSERT INTO campaign_counts (campaign_id, state, n) VALUES (NEW.campaign_id, NEW.state, 1) "
    "ON CONFLICT (campaign_id, state) DO UPDATE SET n = n + 1; END",
    "CREATE TRIGGER messages_counts_delete AFTER DELETE ON messages "
    "WHEN OLD.campaign_id IS NOT NULL BEGIN "
    "UPDATE campaign_counts SET n = n - 1 WHERE campaign_id = OLD.campaign_id "
    "AND state = OLD.state; END",
    NULL
};

/* A count row is decremented before the other is incremented: receipts
 * only move forward, so concurrent ones lock count rows in one order. */
static const char *const counts_pgsql[] = {
    "CREATE FUNCTION blu8x8_campaign_counts() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_OP <> 'INSERT' AND OLD.campaign_id IS NOT NULL THEN "
    "UPDATE campaign_counts SET n = n - 1 WHERE campaign_id = OLD.campaign_id "
    "AND state = OLD.state; END IF; "
    "IF TG_OP <> 'DELETE' AND NEW.campaign_id IS NOT NULL THEN "
    "INSERT INTO campaign_counts (campaign_id, state, n) VALUES (NEW.campaign_id, NEW.state, 1) "
    "ON CONFLICT (campaign_id, state) DO UPDATE SET n = campaign_counts.n + 1; END IF; "
    "RETURN NULL; END $$",
    "CREATE TRIGGER messages_counts AFTER INSERT OR DELETE ON messages "
    "FOR EACH ROW EXECUTE FUNCTION blu8x8_campaign_counts()",
    "CREATE TRIGGER messages_counts_state AFTER UPDATE OF state ON messages "
    "FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state) "
    "EXECUTE FUNCTION blu8x8_campaign_counts()",
    NULL
};

/* Migration 3: the same triggers, counting in the message's shard. */
static const char *const sharded_counts_sqlite[] = {
    "DROP TRIGGER messages_counts_insert",
    "DROP TRIGGER messages_counts_update",
    "DROP TRIGGER messages_counts_delete",
    "CREATE TRIGGER messages_counts_insert AFTER INSERT ON messages "
    "WHEN NEW.campaign_id IS NOT NULL BEGIN "
    "INSERT INTO campaign_counts (campaign_id, state, shard, n) "
    "VALUES (NEW.campaign_id, NEW.state, NEW.id % " B8_COUNT_SHARDS ", 1) "
    "ON CONFLICT (campaign_id, state, shard) DO UPDATE SET n = n + 1; END",
    "CREATE TRIGGER messages_counts_update AFTER UPDATE OF state ON messages "
    "WHEN NEW.campaign_id IS NOT NULL AND OLD.state <> NEW.state BEGIN "
    "UPDATE campaign_counts SET n = n - 1 WHERE campaign_id = OLD.campaign_id "
    "AND state = OLD.state AND shard = OLD.id % " B8_COUNT_SHARDS "; "
    "INSERT INTO campaign_counts (campaign_id, state, shard, n) "
    "VALUES (NEW.campaign_id, NEW.state, NEW.id % " B8_COUNT_SHARDS ", 1) "
    "ON CONFLICT (campaign_id, state, shard) DO UPDATE SET n = n + 1; END",
    "CREATE TRIGGER messages_counts_delete AFTER DELETE ON messages "
    "WHEN OLD.campaign_id IS NOT NULL BEGIN "
    "UPDATE campaign_counts SET n = n - 1 WHERE campaign_id = OLD.campaign_id "
    "AND state = OLD.state AND shard = OLD.id % " B8_COUNT_SHARDS "; END",
    NULL
};

static const char *const sharded_counts_pgsql[] = {
    "CREATE OR REPLACE FUNCTION blu8x8_campaign_counts() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN "
    "IF TG_OP <> 'INSERT' AND OLD.campaign_id IS NOT NULL THEN "
    "UPDATE campaign_counts SET n = n - 1 WHERE campaign_id = OLD.campaign_id "
    "AND state = OLD.state AND shard = OLD.id % " B8_COUNT_SHARDS "; END IF; "
    "IF TG_OP <> 'DELETE' AND NEW.campaign_id IS NOT NULL THEN "
    "INSERT INTO campaign_counts (campaign_id, state, shard, n) "
    "VALUES (NEW.campaign_id, NEW.state, NEW.id % " B8_COUNT_SHARDS ", 1) "
    "ON CONFLICT (campaign_id, state, shard) DO UPDATE SET n = campaign_counts.n + 1; END IF; "
    "RETURN NULL; END $$",
    NULL
};

/* Migration 5: SQLite cannot drop a NOT NULL: a copy of the table without
 * it replaces the table (same columns, ids, AUTOINCREMENT high-water mark
 * and indexes); nothing references inbound by foreign key. */
static const char *const inbound_phone_null_sqlite[] = {
    "CREATE TABLE inbound_new (id INTEGER PRIMARY KEY AUTOINCREMENT, umid TEXT NOT NULL UNIQUE,"
    " namespace TEXT NOT NULL, channel TEXT, phone TEXT, phone_key TEXT, name TEXT,"
    " type TEXT NOT NULL, body TEXT, raw TEXT NOT NULL, event_at TEXT, received_at TEXT NOT NULL,"
    " contact_id INTEGER, ai_state TEXT NOT NULL DEFAULT 'new', ai_error TEXT,"
    " ai_attempts INTEGER NOT NULL DEFAULT 0, ai_claim TEXT, ai_claimed_at TEXT, ai_next_at TEXT,"
    " reply_id INTEGER, intent TEXT)",
    "INSERT INTO inbound_new (id, umid, namespace, channel, phone, phone_key, name, type, body,"
    " raw, event_at, received_at, contact_id, ai_state, ai_error, ai_attempts, ai_claim,"
    " ai_claimed_at, ai_next_at, reply_id, intent) SELECT id, umid, namespace, channel, phone,"
    " phone_key, name, type, body, raw, event_at, received_at, contact_id, ai_state, ai_error,"
    " ai_attempts, ai_claim, ai_claimed_at, ai_next_at, reply_id, intent FROM inbound",
    "UPDATE sqlite_sequence SET seq = (SELECT MAX(seq) FROM sqlite_sequence"
    " WHERE name IN ('inbound', 'inbound_new')) WHERE name = 'inbound_new'",
    "DROP TABLE inbound",
    "ALTER TABLE inbound_new RENAME TO inbound",
    "CREATE INDEX inbound_ai_claim ON inbound (ai_claim)",
    "CREATE INDEX inbound_ai ON inbound (ai_state, id)",
    "CREATE INDEX inbound_phone ON inbound (phone_key, id)",
    NULL
};

static const char *const inbound_phone_null_pgsql[] = {
    "ALTER TABLE inbound ALTER COLUMN phone DROP NOT NULL",
    NULL
};

/* Migration 6 (O1, metrics): the triggers of message_counts and queue_counts.
 * The lane of a message: 'sms' for kind sms, 'direct' for the other kinds
 * but campaign (whose queue is read from campaign_counts). */
#define B8_LANE(m) "CASE WHEN " m ".kind = 'sms' THEN 'sms' ELSE 'direct' END"
static const char *const metrics_sqlite[] = {
    "CREATE TRIGGER messages_metrics_insert AFTER INSERT ON messages "
    "WHEN NEW.state <> 'pending' BEGIN "
    "INSERT INTO message_counts (channel, state, shard, n) VALUES (NEW.channel, NEW.state, 0, 1) "
    "ON CONFLICT (channel, state, shard) DO UPDATE SET n = n + 1; END",
    "CREATE TRIGGER messages_metrics_update AFTER UPDATE OF state, channel ON messages "
    "WHEN NEW.state <> 'pending' AND (OLD.state <> NEW.state OR OLD.channel <> NEW.channel) "
    "BEGIN INSERT INTO message_counts (channel, state, shard, n) "
    "VALUES (NEW.channel, NEW.state, 0, 1) "
    "ON CONFLICT (channel, state, shard) DO UPDATE SET n = n + 1; END",
    "CREATE TRIGGER messages_queue_insert AFTER INSERT ON messages "
    "WHEN NEW.kind <> 'campaign' AND NEW.state = 'pending' BEGIN "
    "INSERT INTO queue_counts (lane, shard, n) VALUES (" B8_LANE("NEW") ", 0, 1) "
    "ON CONFLICT (lane, shard) DO UPDATE SET n = n + 1; END",
    "CREATE TRIGGER messages_queue_update AFTER UPDATE OF state ON messages "
    "WHEN NEW.kind <> 'campaign' AND (OLD.state = 'pending') <> (NEW.state = 'pending') BEGIN "
    "INSERT INTO queue_counts (lane, shard, n) VALUES (" B8_LANE("NEW") ", 0, "
    "CASE WHEN NEW.state = 'pending' THEN 1 ELSE -1 END) "
    "ON CONFLICT (lane, shard) DO UPDATE SET n = n + excluded.n; END",
    "CREATE TRIGGER messages_queue_delete AFTER DELETE ON messages "
    "WHEN OLD.kind <> 'campaign' AND OLD.state = 'pending' BEGIN "
    "INSERT INTO queue_counts (lane, shard, n) VALUES (" B8_LANE("OLD") ", 0, -1) "
    "ON CONFLICT (lane, shard) DO UPDATE SET n = n - 1; END",
    NULL
};

/* One function for the three triggers; their WHEN clauses keep it from
 * running for a campaign row added as pending or a change of other
 * columns. Nested IFs: OLD does not exist on INSERT, nor NEW on DELETE.
 * Written once for migrations 6 and 11, which differ only in the count row
 * (shard) a change goes to: declare holds the function's variables,
 * new_shard and old_shard are the SQL for the shard of NEW and of OLD. */
#define B8_METRICS_FN(declare, new_shard, old_shard) \
    "CREATE OR REPLACE FUNCTION blu8x8_message_metrics() RETURNS trigger LANGUAGE plpgsql " \
    "AS $$ " declare "BEGIN " \
    "IF TG_OP <> 'DELETE' THEN " \
    " IF NEW.state <> 'pending' AND (TG_OP = 'INSERT' OR OLD.state <> NEW.state " \
    "  OR OLD.channel <> NEW.channel) THEN " \
    "  INSERT INTO message_counts (channel, state, shard, n) VALUES (NEW.channel, NEW.state, " \
    "  " new_shard ", 1) ON CONFLICT ON CONSTRAINT message_counts_pkey " \
    "  DO UPDATE SET n = message_counts.n + 1; END IF; " \
    " IF NEW.kind <> 'campaign' AND NEW.state = 'pending' AND (TG_OP = 'INSERT' " \
    "  OR OLD.state <> 'pending') THEN " \
    "  INSERT INTO queue_counts (lane, shard, n) VALUES (" B8_LANE("NEW") ", " new_shard ", 1) " \
    "  ON CONFLICT ON CONSTRAINT queue_counts_pkey DO UPDATE SET n = queue_counts.n + 1; " \
    " END IF; " \
    "END IF; " \
    "IF TG_OP <> 'INSERT' THEN " \
    " IF OLD.kind <> 'campaign' AND OLD.state = 'pending' AND (TG_OP = 'DELETE' " \
    "  OR NEW.state <> 'pending') THEN " \
    "  INSERT INTO queue_counts (lane, shard, n) VALUES (" B8_LANE("OLD") ", " old_shard ", -1) " \
    "  ON CONFLICT ON CONSTRAINT queue_counts_pkey DO UPDATE SET n = queue_counts.n - 1; " \
    " END IF; " \
    "END IF; " \
    "RETURN NULL; END $$"

static const char *const metrics_pgsql[] = {
    B8_METRICS_FN("DECLARE my_shard INTEGER := pg_backend_pid() % " B8_COUNT_SHARDS "; ",
                  "my_shard", "my_shard"),
    "CREATE TRIGGER messages_metrics_insert AFTER INSERT ON messages FOR EACH ROW "
    "WHEN (NEW.state <> 'pending' OR NEW.kind <> 'campaign') "
    "EXECUTE FUNCTION blu8x8_message_metrics()",
    "CREATE TRIGGER messages_metrics_update AFTER UPDATE OF state, channel ON messages "
    "FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state "
    "OR OLD.channel IS DISTINCT FROM NEW.channel) EXECUTE FUNCTION blu8x8_message_metrics()",
    "CREATE TRIGGER messages_metrics_delete AFTER DELETE ON messages FOR EACH ROW "
    "WHEN (OLD.kind <> 'campaign' AND OLD.state = 'pending') "
    "EXECUTE FUNCTION blu8x8_message_metrics()",
    NULL
};

/* Migration 11: a message counts in the shard of its id, as in
 * campaign_counts, no longer in its backend's. A bulk write (an SMS to a
 * tag, the sender's answers) updated one count row per row written, all in
 * its transaction's shard, and each update walked the versions the ones
 * before it left in that transaction: the cost grew with the square of the
 * transaction (README, Performance). */
static const char *const metrics_by_row_pgsql[] = {
    B8_METRICS_FN("", "NEW.id % " B8_COUNT_SHARDS, "OLD.id % " B8_COUNT_SHARDS),
    NULL
};
#undef B8_METRICS_FN
#undef B8_LANE
/* Migration F19: one index per event, on the hour it happened (only the
 * rows that had the event are in it): the timeline walks them in order
 * without a sort and without reading a campaign's 100,000 rows; clicked and
 * replied are counted off them. One entry each when a message is sent,
 * delivered, read, first clicked, first replied to (receipts write no
 * other index). PostgreSQL also keeps the column in the index (INCLUDE),
 * without which it reads the table for every row. */
#define B8_EVENT_INDEX(name, col, include) \
    "CREATE INDEX messages_campaign_" name " ON messages (campaign_id, SUBSTR(" col ", 1, 13))" \
    include " WHERE " col " IS NOT NULL"
static const char *const results_indexes_sqlite[] = {
    B8_EVENT_INDEX("sent", "sent_at", ""),
    B8_EVENT_INDEX("delivered", "delivered_at", ""),
    B8_EVENT_INDEX("read", "read_at", ""),
    B8_EVENT_INDEX("clicked", "clicked_at", ""),
    B8_EVENT_INDEX("replied", "replied_at", ""),
    NULL
};

static const char *const results_indexes_pgsql[] = {
    B8_EVENT_INDEX("sent", "sent_at", " INCLUDE (sent_at)"),
    B8_EVENT_INDEX("delivered", "delivered_at", " INCLUDE (delivered_at)"),
    B8_EVENT_INDEX("read", "read_at", " INCLUDE (read_at)"),
    B8_EVENT_INDEX("clicked", "clicked_at", " INCLUDE (clicked_at)"),
    B8_EVENT_INDEX("replied", "replied_at", " INCLUDE (replied_at)"),
    NULL
};
#undef B8_EVENT_INDEX

static const struct { const char *const *sqlite, *const *pgsql; } migration_extras[] = {
    { NULL, NULL },
    { counts_sqlite, counts_pgsql },
    { sharded_counts_sqlite, sharded_counts_pgsql },
    { NULL, NULL },
    { inbound_phone_null_sqlite, inbound_phone_null_pgsql },
    { metrics_sqlite, metrics_pgsql },
    { NULL, NULL },
    { NULL, NULL },
    { NULL, NULL },   /* migration 9: flashes, idempotency_keys */
    { results_indexes_sqlite, results_indexes_pgsql },
    { NULL, metrics_by_row_pgsql },
};

_Static_assert(sizeof(migration_extras) / sizeof(migration_extras[0])
                   == sizeof(migrations) / sizeof(migrations[0]),
               "one migration_extras entry per migration");

const char *const *b8_sql_migration_extra(int v, int sqlite)
{
    return sqlite ? migration_extras[v - 1].sqlite : migration_extras[v - 1].pgsql;
}

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
