/* Unit tests of the statements' named columns: every shape's column list
 * (b8_sql.h) against the columns SQLite reports for the statement's text on
 * the migrated schema, so a reordered, renamed or added SELECT column fails
 * here instead of shifting fields in the code that reads it; and the store
 * reads a cell only under the shape its rows have. */
#include "b8_test.h"

#include <sqlite3.h>

#include "b8_sql.h"
#include "b8_store.h"
#include "b8_util.h"

/* apr_dbd's %s placeholders as SQLite's. */
static const char *sqlite_text(apr_pool_t *p, const char *sql)
{
    char *out = apr_pstrdup(p, sql), *o = out;
    for (const char *s = sql; *s; s++) {
        if (s[0] == '%' && s[1] == 's') {
            *o++ = '?';
            s++;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return out;
}

static const char *migrated_db(apr_pool_t *p)
{
    const char *path = b8_test_temp_db(p), *err = NULL;
    b8_store *st;
    B8_CHECK(b8_store_open(p, "sqlite3", path, 1, &st, &err) == APR_SUCCESS);
    B8_CHECK(b8_store_migrate(st, p, &err) == APR_SUCCESS);
    return path;
}

B8_TEST(every_shape_matches_its_statements_columns)
{
    const char *path = migrated_db(p);
    sqlite3 *lite = NULL;
    int checked = 0;

    B8_CHECK(sqlite3_open_v2(path, &lite, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    for (int id = 0; lite && id < B8_SQL_COUNT; id++) {
        const char *const *cols = b8_sql_shape_columns(b8_sql_shape((b8_sql_id)id));
        sqlite3_stmt *stmt = NULL;
        int n, want = 0;

        if (b8_sql_pgsql_only((b8_sql_id)id)) {
            continue;   /* SQLite cannot prepare it: the PostgreSQL tests run it */
        }
        if (sqlite3_prepare_v2(lite, sqlite_text(p, b8_sql_text((b8_sql_id)id)), -1, &stmt, NULL)
            != SQLITE_OK) {
            B8_CHECK_STR(b8_sql_name((b8_sql_id)id), sqlite3_errmsg(lite));
            continue;
        }
        /* The store passes one argument per %s of the text (a % alone
         * is SQL's modulo). */
        if (sqlite3_bind_parameter_count(stmt) != b8_sql_nargs((b8_sql_id)id)) {
            B8_CHECK_STR(apr_psprintf(p, "%s has %d arguments", b8_sql_name((b8_sql_id)id),
                                      b8_sql_nargs((b8_sql_id)id)),
                         apr_psprintf(p, "%s has %d arguments", b8_sql_name((b8_sql_id)id),
                                      sqlite3_bind_parameter_count(stmt)));
        }
        n = sqlite3_column_count(stmt);
        /* Rows of several columns are read by name only. */
        if (n > 1 && !cols) {
            B8_CHECK_STR(apr_psprintf(p, "%s has %d columns", b8_sql_name((b8_sql_id)id), n),
                         "and no shape in b8_sql.h");
        }
        for (; cols && cols[want]; want++) {
            const char *got = want < n ? sqlite3_column_name(stmt, want) : "(missing)";
            if (strcmp(got, cols[want]) != 0) {
                B8_CHECK_STR(apr_psprintf(p, "%s column %d: %s", b8_sql_name((b8_sql_id)id), want,
                                          got), apr_psprintf(p, "%s column %d: %s",
                                          b8_sql_name((b8_sql_id)id), want, cols[want]));
            }
        }
        if (cols) {
            B8_CHECK_INT(n, want);
            checked++;
        }
        sqlite3_finalize(stmt);
    }
    B8_CHECK(checked > 50);
    /* PostgreSQL's receipt batch: one JSON argument, and a modulo. */
    B8_CHECK_INT(b8_sql_nargs(B8_SQL_RECEIPT_BATCH), 1);
    sqlite3_close(lite);
    b8_test_remove_db(p, path);
}

B8_TEST(rows_are_read_under_their_own_shape)
{
    const char *path = b8_test_temp_db(p), *err = NULL;
    const char *put[] = { "send_interval", "2", "2026-01-01T00:00:00Z" };
    const char *contact[] = { "Ana", "+639170000001", "9170000001", "0", NULL,
                              "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z" };
    const char *filter[] = { NULL, NULL, NULL, NULL, NULL, NULL, NULL, "10", "0" };
    const char *id = NULL;
    b8_store *st;
    b8_db *db;
    b8_rows *rows;

    B8_CHECK(b8_store_open(p, "sqlite3", path, 1, &st, &err) == APR_SUCCESS);
    B8_CHECK(b8_store_migrate(st, p, &err) == APR_SUCCESS);
    B8_CHECK(b8_db_get(st, p, &db) == APR_SUCCESS);
    B8_CHECK(b8_db_exec(db, p, B8_SQL_SETTING_PUT, put, NULL) == APR_SUCCESS);
    B8_CHECK(b8_db_select(db, p, B8_SQL_SETTINGS_ALL, NULL, &rows) == APR_SUCCESS);
    B8_CHECK_INT(rows->nrows, 1);
    B8_CHECK_STR(B8_GET(rows, 0, SETTING, key), "send_interval");
    B8_CHECK_STR(B8_GET(rows, 0, SETTING, value), "2");
    /* Another statement's shape, a row past the end: nothing. */
    B8_CHECK(B8_GET(rows, 0, RUNTIME, value) == NULL);
    B8_CHECK(B8_GET(rows, 1, SETTING, key) == NULL);
    B8_CHECK(b8_rows_id(rows, 0) == NULL);

    /* A shape that extends another reads as it (a contact with its tag). */
    B8_CHECK(b8_db_value(db, p, B8_SQL_CONTACT_INSERT, contact, &id) == APR_SUCCESS);
    B8_CHECK(b8_db_select(db, p, B8_SQL_CONTACTS_PAGE, filter, &rows) == APR_SUCCESS);
    B8_CHECK_INT(rows->nrows, 1);
    B8_CHECK_STR(B8_GET(rows, 0, CONTACT, phone), "+639170000001");
    B8_CHECK_STR(B8_GET(rows, 0, CONTACT_TAGGED, name), "Ana");
    B8_CHECK(B8_GET(rows, 0, CONTACT_TAGGED, tag) == NULL);
    B8_CHECK(B8_GET(rows, 0, TAG_CONTACT, phone_key) == NULL);   /* its column 3 is opted_out */
    B8_CHECK_STR(b8_rows_id(rows, 0), id);
    b8_test_remove_db(p, path);
}

B8_TEST_MAIN(B8_CASE(every_shape_matches_its_statements_columns),
             B8_CASE(rows_are_read_under_their_own_shape))
