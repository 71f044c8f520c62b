/* Every SQL statement the module runs, named. The text lives in b8_sql.c;
 * placeholders are apr_dbd's %s, so the same text runs on SQLite and
 * PostgreSQL. W marks statements that write (they take the write lock). */
#ifndef B8_SQL_H
#define B8_SQL_H

#include <apr_pools.h>

/* One list per area; an area adds its statements to its own list. */
#define B8_SQL_CORE(X) \
    X(SCHEMA_VERSION, R) \
    X(SCHEMA_VERSION_SET, W) \
    X(SETTINGS_ALL, R) \
    X(SETTING_PUT, W) \
    X(SETTING_DELETE, W) \
    X(RUNTIME_GET, R) \
    X(RUNTIME_PUT, W) \
    X(RUNTIME_PUT_IF_ABSENT, W)

#define B8_SQL_USERS(X) \
    X(USERS_COUNT, R) \
    X(USERS_PAGE, R) \
    X(USER_BY_ID, R) \
    X(USER_BY_LOGIN, R) \
    X(USER_INSERT, W) \
    X(USER_UPDATE, W) \
    X(USER_DELETE, W) \
    X(USER_BOOTSTRAP_ADMIN, W) \
    X(USER_ENSURE_ADMIN, W)

#define B8_SQL_LIST(X) \
    B8_SQL_CORE(X) \
    B8_SQL_USERS(X)

typedef enum {
#define B8_SQL_ENUM(name, rw) B8_SQL_##name,
    B8_SQL_LIST(B8_SQL_ENUM)
#undef B8_SQL_ENUM
    B8_SQL_COUNT
} b8_sql_id;

const char *b8_sql_text(b8_sql_id id);
const char *b8_sql_name(b8_sql_id id);
int b8_sql_nargs(b8_sql_id id);
int b8_sql_writes(b8_sql_id id);

int b8_sql_migration_count(void);
/* DDL of migration v (1-based) for the driver, statements separated by ';'. */
const char *b8_sql_migration(apr_pool_t *p, int v, int sqlite);

#endif
