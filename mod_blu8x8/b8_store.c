#include "b8_store.h"
#include "b8_log.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <apr_atomic.h>
#include <apr_dbd.h>
#include <apr_lib.h>
#include <apr_file_io.h>
#include <apr_reslist.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <libpq-fe.h>

/* Most works one group transaction runs: bounds a group's latency. */
#define GROUP_MAX 128

/* One caller's work waiting for (or in) a group transaction. It lives on the
 * caller's stack: the caller sleeps until done is set under group_lock. */
typedef struct group_item {
    struct group_item *next;
    b8_tx_work work;
    b8_batch_work batch;
    void *arg;
    int done;
    apr_status_t rv;
    char error[512];
} group_item;

struct b8_store {
    apr_pool_t *pool;
    const char *driver_name;
    const char *params;
    const apr_dbd_driver_t *driver;
    apr_reslist_t *conns;
    int sqlite;
    /* apr_dbd's sqlite3 driver holds one process-wide mutex around every
     * call, so a writer waiting inside SQLite's busy handler would stall the
     * thread that holds the write lock: serialise our own writers first. */
    apr_thread_mutex_t *write_lock;
    /* ...and with the other processes (httpd children, the worker): a lock
     * file the kernel queues writers on, so that they never sleep in
     * SQLite's busy handler (1 ms and more) while holding that mutex. */
    apr_file_t *lock_file;
    /* Group commit (b8_db_group_write): the works queued by this process's
     * threads, and whether one of them is running a group now. */
    apr_thread_mutex_t *group_lock;
    apr_thread_cond_t *group_cond;
    group_item *group_head, *group_tail;
    int group_running;
    /* PostgreSQL's max_connections, once read (b8_db_unseen_writes_max). */
    volatile apr_uint32_t max_connections;
};

struct b8_db {
    b8_store *st;
    apr_pool_t *pool;
    apr_dbd_t *handle;
    apr_dbd_prepared_t *stmts[B8_SQL_COUNT];        /* SQLite */
    unsigned char pg_prepared[B8_SQL_COUNT];       /* PostgreSQL (pg_prepare) */
    int in_tx;
    int broken;
    char error[512];
};

static void db_set_error(b8_db *db, int rc, const char *what)
{
    const char *msg = apr_dbd_error(db->st->driver, db->handle, rc);
    apr_snprintf(db->error, sizeof(db->error), "%s: %s (%d)", what, msg ? msg : "unknown error", rc);
}

/* A lost PostgreSQL connection must not go back to the pool. */
static void check_broken(b8_db *db)
{
    if (!db->st->sqlite
        && apr_dbd_check_conn(db->st->driver, db->pool, db->handle) != APR_SUCCESS) {
        db->broken = 1;
    }
}

static apr_status_t raw_query(b8_db *db, const char *sql)
{
    int nrows = 0;
    int rc = apr_dbd_query(db->st->driver, db->handle, &nrows, sql);
    if (rc != 0) {
        db_set_error(db, rc, sql);
        check_broken(db);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

/* The first column of the first row of a statement that cannot answer
 * NULL there (a count), copied before the driver frees its result. */
static apr_status_t raw_value(b8_db *db, apr_pool_t *p, const char *sql, const char **value)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    int rc = apr_dbd_select(db->st->driver, p, db->handle, &res, sql, 1);

    *value = NULL;
    if (rc != 0) {
        db_set_error(db, rc, sql);
        check_broken(db);
        return APR_EGENERAL;
    }
    while (apr_dbd_get_row(db->st->driver, p, res, &row, -1) == 0) {
        if (!*value) {
            const char *v = apr_dbd_get_entry(db->st->driver, row, 0);
            *value = apr_pstrdup(p, v ? v : "");
        }
    }
    return APR_SUCCESS;
}

/* Statements that answer rows (PRAGMAs) go through select; the rows are read
 * and dropped. */
static apr_status_t raw_select(b8_db *db, apr_pool_t *p, const char *sql)
{
    const char *ignored;
    return raw_value(db, p, sql, &ignored);
}

static apr_status_t conn_construct(void **resource, void *params, apr_pool_t *pool)
{
    b8_store *st = params;
    b8_db *db;
    apr_pool_t *own;
    const char *error = NULL;
    apr_status_t rv;

    /* A pool (and allocator) of the connection's own: its statements are
     * prepared into it lazily by whichever thread borrows it, while the
     * reslist's pool is shared by every thread of the process. */
    (void)pool;
    if ((rv = apr_pool_create_unmanaged_ex(&own, NULL, NULL)) != APR_SUCCESS) {
        return rv;
    }
    db = apr_pcalloc(own, sizeof(*db));
    db->st = st;
    db->pool = own;
    rv = apr_dbd_open_ex(st->driver, own, st->params, &db->handle, &error);
    if (rv != APR_SUCCESS || !db->handle) {
        B8_LOG(B8_LOG_ERR, rv, "B8-0101: cannot open %s database: %s", st->driver_name,
               error ? error : "unknown error");
        apr_pool_destroy(own);
        return rv ? rv : APR_EGENERAL;
    }
    if (st->sqlite) {
        /* No mmap_size: with a connection per thread and a growing file,
         * the remapping costs more than the reads it saves (bench_webhook). */
        /* synchronous = FULL: a commit survives a power loss too. A webhook
         * event answered 200, or a recipient marked 'sending' before its
         * request, must not vanish after a reboot (a lost mark would send
         * the message again). A 1 MiB page cache per connection: the hot
         * pages are few (indexes of the current campaign), connections many.
         * Temporary storage in memory: a statement whose triggers write
         * (campaign_counts) keeps a statement journal, which must not cost
         * file writes on every recipient inserted or receipt applied; a
         * small temp cache, so that no connection keeps sort pages (the
         * worker's memory stays flat: bench_sender). */
        static const char *const pragmas[] = {
            "PRAGMA busy_timeout = 10000", "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON",
            "PRAGMA cache_size = -1024", "PRAGMA temp_store = MEMORY", "PRAGMA temp.cache_size = -128", NULL
        };
        for (int i = 0; pragmas[i]; i++) {
            if (raw_select(db, own, pragmas[i]) != APR_SUCCESS) {
                B8_LOG(B8_LOG_ERR, 0, "B8-0102: %s", db->error);
                apr_dbd_close(st->driver, db->handle);
                apr_pool_destroy(own);
                return APR_EGENERAL;
            }
        }
    }
    *resource = db;
    return APR_SUCCESS;
}

static apr_status_t conn_destruct(void *resource, void *params, apr_pool_t *pool)
{
    b8_db *db = resource;
    (void)params;
    (void)pool;
    if (db->handle) {
        apr_dbd_close(db->st->driver, db->handle);
        db->handle = NULL;
    }
    apr_pool_destroy(db->pool);   /* db itself lives there */
    return APR_SUCCESS;
}

apr_status_t b8_store_open(apr_pool_t *p, const char *driver, const char *params,
                           int max_conns, b8_store **out, const char **err)
{
    b8_store *st = apr_pcalloc(p, sizeof(*st));
    apr_status_t rv;

    rv = apr_dbd_init(p);
    if (rv != APR_SUCCESS) {
        *err = "apr_dbd_init failed";
        return rv;
    }
    st->pool = p;
    st->driver_name = apr_pstrdup(p, driver);
    st->params = apr_pstrdup(p, params);
    st->sqlite = strcmp(driver, "sqlite3") == 0;
    if (!st->sqlite && strcmp(driver, "pgsql") != 0) {
        *err = apr_psprintf(p, "unsupported database driver \"%s\" (use sqlite3 or pgsql)", driver);
        return APR_EINVAL;
    }
    rv = apr_dbd_get_driver(p, driver, &st->driver);
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "apr_dbd driver \"%s\" is not available (install libaprutil1-dbd-%s)",
                            driver, st->sqlite ? "sqlite3" : "pgsql");
        return rv;
    }
    if ((rv = apr_thread_mutex_create(&st->write_lock, APR_THREAD_MUTEX_DEFAULT, p))
            != APR_SUCCESS
        || (rv = apr_thread_mutex_create(&st->group_lock, APR_THREAD_MUTEX_DEFAULT, p))
            != APR_SUCCESS
        || (rv = apr_thread_cond_create(&st->group_cond, p)) != APR_SUCCESS) {
        *err = "cannot create the store's write locks";
        return rv;
    }
    if (st->sqlite
        && apr_file_open(&st->lock_file, apr_pstrcat(p, params, "-lock", NULL),
                         APR_FOPEN_READ | APR_FOPEN_WRITE | APR_FOPEN_CREATE,
                         APR_FPROT_UREAD | APR_FPROT_UWRITE, p)   /* like the database */
               != APR_SUCCESS) {
        /* Still correct without it: SQLite's busy timeout serialises. */
        B8_LOG(B8_LOG_WARNING, 0, "B8-0110: cannot open %s-lock: writers of several processes "
               "will wait in SQLite's busy handler", params);
        st->lock_file = NULL;
    }
    rv = apr_reslist_create(&st->conns, 0, max_conns, max_conns, apr_time_from_sec(300),
                            conn_construct, conn_destruct, st, p);
    if (rv != APR_SUCCESS) {
        *err = "cannot create the connection pool";
        return rv;
    }
    *out = st;
    return APR_SUCCESS;
}

long b8_db_unseen_writes_max(b8_db *db, apr_pool_t *p)
{
    apr_uint32_t known;
    const char *value = NULL;
    long n;

    if (db->st->sqlite) {
        return 0;
    }
    if ((known = apr_atomic_read32(&db->st->max_connections)) != 0) {
        return (long)known;
    }
    if (raw_value(db, p, "SHOW max_connections", &value) != APR_SUCCESS || !value
        || (n = atol(value)) <= 0 || n > 1000000) {
        return LONG_MAX;   /* never skip the locked check */
    }
    apr_atomic_set32(&db->st->max_connections, (apr_uint32_t)n);
    return n;
}

int b8_store_is_sqlite(const b8_store *st)
{
    return st->sqlite;
}

int b8_db_is_sqlite(const b8_db *db)
{
    return db->st->sqlite;
}

int b8_db_in_tx(const b8_db *db)
{
    return db->in_tx;
}

static apr_status_t conn_release(void *data)
{
    b8_db *db = data;

    if (db->in_tx) {
        b8_db_rollback(db);
    }
    if (db->broken) {
        return apr_reslist_invalidate(db->st->conns, db);
    }
    return apr_reslist_release(db->st->conns, db);
}

apr_status_t b8_db_get(b8_store *st, apr_pool_t *p, b8_db **out)
{
    void *res;
    apr_status_t rv = apr_reslist_acquire(st->conns, &res);

    if (rv != APR_SUCCESS) {
        B8_LOG(B8_LOG_ERR, rv, "B8-0103: no database connection available");
        return rv;
    }
    *out = res;
    (*out)->error[0] = '\0';
    apr_pool_cleanup_register(p, res, conn_release, apr_pool_cleanup_null);
    return APR_SUCCESS;
}

/* db->error says what failed (either driver). */
static void prepare_failed(b8_db *db)
{
    B8_LOG(B8_LOG_ERR, 0, "B8-0104: cannot prepare %s", db->error);
}

static void statement_failed(b8_db *db)
{
    B8_LOG(B8_LOG_ERR, 0, "B8-0105: %s", db->error);
    check_broken(db);
}

static apr_status_t prepared(b8_db *db, b8_sql_id id, apr_dbd_prepared_t **out)
{
    if (!db->stmts[id]) {
        const char *sql = b8_sql_text(id);
        int rc = apr_dbd_prepare(db->st->driver, db->pool, db->handle, sql, NULL, &db->stmts[id]);
        if (rc != 0) {
            db_set_error(db, rc, b8_sql_name(id));
            prepare_failed(db);
            db->stmts[id] = NULL;
            return APR_EGENERAL;
        }
    }
    *out = db->stmts[id];
    return APR_SUCCESS;
}

static void write_lock_take(b8_store *st)
{
    apr_thread_mutex_lock(st->write_lock);
    if (st->lock_file) {
        apr_file_lock(st->lock_file, APR_FLOCK_EXCLUSIVE);
    }
}

static void write_lock_give(b8_store *st)
{
    if (st->lock_file) {
        apr_file_unlock(st->lock_file);
    }
    apr_thread_mutex_unlock(st->write_lock);
}

/* A write outside an explicit transaction still takes the write lock. */
static int autolock(b8_db *db, b8_sql_id id)
{
    if (db->st->sqlite && !db->in_tx && b8_sql_writes(id)) {
        write_lock_take(db->st);
        return 1;
    }
    return 0;
}

static void note_failure(b8_db *db, int rc, b8_sql_id id)
{
    db_set_error(db, rc, b8_sql_name(id));
    statement_failed(db);
}

/* One cell as a string, NULL for SQL NULL. The pgsql driver's get_entry
 * answers "" for NULL (datum_get tells them apart) and frees its result
 * (PQclear) once the last row has been read, so its strings are copied. */
static const char *cell(b8_db *db, apr_pool_t *p, apr_dbd_row_t *row, int c)
{
    char *v = NULL;

    if (db->st->sqlite) {
        return apr_dbd_get_entry(db->st->driver, row, c);
    }
    if (apr_dbd_datum_get(db->st->driver, row, c, APR_DBD_TYPE_STRING, &v) != APR_SUCCESS || !v) {
        return NULL;
    }
    return apr_pstrdup(p, v);
}

#define B8_CELL(rows, r, c) ((rows)->cells[(r) * (rows)->ncols + (c)])

/* The rows' own shape, or one whose column at that place has the same
 * name (a shape that extends another: CONTACT_TAGGED reads as CONTACT). */
const char *b8_rows_cell(const b8_rows *rows, int r, b8_shape shape, int col)
{
    b8_shape own = b8_sql_shape(rows->id);

    if (r < 0 || r >= rows->nrows || col < 0 || col >= rows->ncols) {
        return NULL;
    }
    if (own != shape) {
        const char *const *want = b8_sql_shape_columns(shape);
        const char *const *have = b8_sql_shape_columns(own);
        if (!want || !have || strcmp(want[col], have[col]) != 0) {
            return NULL;
        }
    }
    return B8_CELL(rows, r, col);
}

const char *b8_rows_id(const b8_rows *rows, int r)
{
    const char *const *cols = b8_sql_shape_columns(b8_sql_shape(rows->id));

    for (int c = 0; cols && cols[c]; c++) {
        if (strcmp(cols[c], "id") == 0) {
            return b8_rows_cell(rows, r, b8_sql_shape(rows->id), c);
        }
    }
    return NULL;
}

/* PostgreSQL runs our statements through libpq on apr_dbd's connection:
 * apr_dbd's pgsql driver prepares a statement on the server only under a
 * name, and then declares every argument VARCHAR (so `id = %s` fails);
 * without a name it sends the text with every execution, which PostgreSQL
 * parses and plans each time. Here each statement is prepared once per
 * connection, named after its b8_sql id, its arguments typed by their use
 * as they were in the text. */
static PGconn *pg_conn(b8_db *db)
{
    return apr_dbd_native_handle(db->st->driver, db->handle);
}

static void pg_set_error(b8_db *db, const PGresult *res, b8_sql_id id)
{
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(pg_conn(db));
    apr_snprintf(db->error, sizeof(db->error), "%s: %s (%d)", b8_sql_name(id),
                 msg && *msg ? msg : "unknown error",
                 res ? (int)PQresultStatus(res) : (int)PGRES_FATAL_ERROR);
}

/* The statement's text as PostgreSQL numbers its arguments: %s becomes $1, $2, and so on. */
static char *pg_text(const char *sql)
{
    char *out = malloc(strlen(sql) * 2 + 1), *o = out;
    int n = 0;

    if (!out) {
        return NULL;
    }
    for (const char *c = sql; *c; c++) {
        if (c[0] == '%' && c[1] == 's') {
            o += sprintf(o, "$%d", ++n);
            c++;
        }
        else {
            *o++ = *c;
        }
    }
    *o = '\0';
    return out;
}

static apr_status_t pg_prepare(b8_db *db, b8_sql_id id)
{
    char *text;
    PGresult *res;
    apr_status_t rv = APR_SUCCESS;

    if (db->pg_prepared[id]) {
        return APR_SUCCESS;
    }
    if ((text = pg_text(b8_sql_text(id))) == NULL) {
        return APR_ENOMEM;
    }
    res = PQprepare(pg_conn(db), b8_sql_name(id), text, b8_sql_nargs(id), NULL);
    free(text);
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
        pg_set_error(db, res, id);
        prepare_failed(db);
        check_broken(db);
        rv = APR_EGENERAL;
    }
    else {
        db->pg_prepared[id] = 1;
    }
    PQclear(res);
    return rv;
}

/* Runs the prepared statement: its result, or NULL (logged) on failure. */
static PGresult *pg_run(b8_db *db, b8_sql_id id, const char *const *args)
{
    PGresult *res;

    if (pg_prepare(db, id) != APR_SUCCESS) {
        return NULL;
    }
    res = PQexecPrepared(pg_conn(db), b8_sql_name(id), b8_sql_nargs(id), args, NULL, NULL, 0);
    if (!res || (PQresultStatus(res) != PGRES_TUPLES_OK
                 && PQresultStatus(res) != PGRES_COMMAND_OK)) {
        pg_set_error(db, res, id);
        statement_failed(db);
        PQclear(res);
        return NULL;
    }
    return res;
}

static apr_status_t pg_select(b8_db *db, apr_pool_t *p, b8_sql_id id,
                              const char *const *args, b8_rows **out)
{
    PGresult *res = pg_run(db, id, args);
    b8_rows *rows;

    if (!res) {
        return APR_EGENERAL;
    }
    rows = apr_pcalloc(p, sizeof(*rows));
    rows->id = id;
    rows->ncols = PQnfields(res);
    rows->nrows = PQntuples(res);
    rows->cells = apr_palloc(p, sizeof(const char *)
                                    * (apr_size_t)(rows->ncols * rows->nrows + 1));
    for (int r = 0; r < rows->nrows; r++) {
        for (int c = 0; c < rows->ncols; c++) {
            B8_CELL(rows, r, c) = PQgetisnull(res, r, c) ? NULL
                : apr_pstrmemdup(p, PQgetvalue(res, r, c), (apr_size_t)PQgetlength(res, r, c));
        }
    }
    PQclear(res);
    *out = rows;
    return APR_SUCCESS;
}

static apr_status_t pg_exec(b8_db *db, b8_sql_id id, const char *const *args, int *nrows)
{
    PGresult *res = pg_run(db, id, args);

    if (!res) {
        return APR_EGENERAL;
    }
    if (nrows) {
        *nrows = atoi(PQcmdTuples(res));
    }
    PQclear(res);
    return APR_SUCCESS;
}

apr_status_t b8_db_select(b8_db *db, apr_pool_t *p, b8_sql_id id,
                          const char *const *args, b8_rows **out)
{
    apr_dbd_prepared_t *stmt;
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    b8_rows *rows;
    int rc, locked, ncols, cap = 16;

    if (!db->st->sqlite) {
        return pg_select(db, p, id, args, out);
    }
    if (prepared(db, id, &stmt) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    locked = autolock(db, id);
    rc = apr_dbd_pselect(db->st->driver, p, db->handle, &res, stmt, 1,
                         b8_sql_nargs(id), (const char **)args);
    if (rc != 0) {
        if (locked) write_lock_give(db->st);
        note_failure(db, rc, id);
        return APR_EGENERAL;
    }
    ncols = apr_dbd_num_cols(db->st->driver, res);
    rows = apr_pcalloc(p, sizeof(*rows));
    rows->ncols = ncols;
    rows->id = id;
    rows->cells = apr_palloc(p, sizeof(const char *) * (apr_size_t)(ncols * cap));
    while (apr_dbd_get_row(db->st->driver, p, res, &row, -1) == 0) {
        if (rows->nrows == cap) {
            const char **grown = apr_palloc(p, sizeof(const char *) * (apr_size_t)(ncols * cap * 2));
            memcpy(grown, rows->cells, sizeof(const char *) * (apr_size_t)(ncols * cap));
            rows->cells = grown;
            cap *= 2;
        }
        for (int c = 0; c < ncols; c++) {
            B8_CELL(rows, rows->nrows, c) = cell(db, p, row, c);
        }
        rows->nrows++;
    }
    if (locked) write_lock_give(db->st);
    *out = rows;
    return APR_SUCCESS;
}

apr_status_t b8_db_exec(b8_db *db, apr_pool_t *p, b8_sql_id id,
                        const char *const *args, int *nrows)
{
    apr_dbd_prepared_t *stmt;
    int rc, n = 0, locked;

    if (!db->st->sqlite) {
        return pg_exec(db, id, args, nrows);
    }
    if (prepared(db, id, &stmt) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    locked = autolock(db, id);
    rc = apr_dbd_pquery(db->st->driver, p, db->handle, &n, stmt,
                        b8_sql_nargs(id), (const char **)args);
    if (locked) write_lock_give(db->st);
    if (rc != 0) {
        note_failure(db, rc, id);
        return APR_EGENERAL;
    }
    if (nrows) {
        *nrows = n;
    }
    return APR_SUCCESS;
}

apr_status_t b8_db_value(b8_db *db, apr_pool_t *p, b8_sql_id id,
                         const char *const *args, const char **value)
{
    b8_rows *rows;
    apr_status_t rv = b8_db_select(db, p, id, args, &rows);
    if (rv == APR_SUCCESS) {
        *value = rows->nrows > 0 && rows->ncols > 0 ? B8_CELL(rows, 0, 0) : NULL;
    }
    return rv;
}

apr_status_t b8_db_begin(b8_db *db)
{
    apr_status_t rv;

    if (db->in_tx) {
        apr_cpystrn(db->error, "transaction already open", sizeof(db->error));
        return APR_EGENERAL;
    }
    if (db->st->sqlite) {
        write_lock_take(db->st);
    }
    rv = raw_query(db, db->st->sqlite ? "BEGIN IMMEDIATE" : "BEGIN");
    if (rv != APR_SUCCESS) {
        B8_LOG(B8_LOG_ERR, 0, "B8-0106: %s", db->error);
        if (db->st->sqlite) {
            write_lock_give(db->st);
        }
        return rv;
    }
    db->in_tx = 1;
    return APR_SUCCESS;
}

apr_status_t b8_db_commit(b8_db *db)
{
    apr_status_t rv;

    if (!db->in_tx) {
        return APR_EGENERAL;
    }
    rv = raw_query(db, "COMMIT");
    if (rv != APR_SUCCESS) {
        B8_LOG(B8_LOG_ERR, 0, "B8-0107: %s", db->error);
        raw_query(db, "ROLLBACK");
    }
    db->in_tx = 0;
    if (db->st->sqlite) {
        write_lock_give(db->st);
    }
    return rv;
}

void b8_db_rollback(b8_db *db)
{
    if (!db->in_tx) {
        return;
    }
    if (raw_query(db, "ROLLBACK") != APR_SUCCESS) {
        B8_LOG(B8_LOG_WARNING, 0, "B8-0108: %s", db->error);
    }
    db->in_tx = 0;
    if (db->st->sqlite) {
        write_lock_give(db->st);
    }
}

/* One work in its own transaction. */
static apr_status_t run_alone(b8_db *db, apr_pool_t *p, b8_tx_work work, void *arg)
{
    apr_status_t rv;

    if ((rv = b8_db_begin(db)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = work(db, p, arg)) != APR_SUCCESS) {
        b8_db_rollback(db);
        return rv;
    }
    return b8_db_commit(db);
}

/* Takes the queued works off the queue, at most GROUP_MAX, in their order:
 * on PostgreSQL only those of the first one's batch (group_lock held). */
static group_item *take_group(b8_store *st)
{
    group_item *group = NULL, **tail = &group, **at = &st->group_head, *it;
    b8_batch_work batch = st->group_head ? st->group_head->batch : NULL;
    int n = 0;

    st->group_tail = NULL;
    while ((it = *at) != NULL) {
        if (n < GROUP_MAX && (st->sqlite || it->batch == batch)) {
            *at = it->next;
            it->next = NULL;
            *tail = it;
            tail = &it->next;
            n++;
        }
        else {
            st->group_tail = it;
            at = &it->next;
        }
    }
    return group;
}

/* Leads one group on db: first the write transaction (while we wait for the
 * write lock, more works queue up), then every queued work in it, one
 * commit. When a work or the commit fails, the group is undone and each of
 * its works runs again alone, so that one bad work fails only its caller.
 * Answers the group it ran. */
static group_item *run_group(b8_db *db, apr_pool_t *p)
{
    b8_store *st = db->st;
    apr_status_t rv = b8_db_begin(db), began = rv;
    group_item *group, *it;

    apr_thread_mutex_lock(st->group_lock);
    group = take_group(st);
    apr_thread_mutex_unlock(st->group_lock);
    for (it = group; rv == APR_SUCCESS && it; it = it->next) {
        apr_pool_clear(p);
        rv = it->work(db, p, it->arg);
    }
    if (rv != APR_SUCCESS) {
        b8_db_rollback(db);
    }
    else {
        rv = b8_db_commit(db);
    }
    for (it = group; it; it = it->next) {
        apr_pool_clear(p);
        it->rv = rv == APR_SUCCESS || began != APR_SUCCESS || !group->next
                     ? rv : run_alone(db, p, it->work, it->arg);
        apr_cpystrn(it->error, it->rv == APR_SUCCESS ? "" : db->error, sizeof(it->error));
    }
    return group;
}

/* Leads one batch on db (PostgreSQL): the queued args of one batch
 * function in one call of it, then alone each one it did not write. */
static group_item *run_batch(b8_db *db, apr_pool_t *p)
{
    b8_store *st = db->st;
    group_item *group, *it;
    void **args;
    int *done, n = 0;
    apr_pool_t *q = NULL;
    apr_status_t rv;

    apr_thread_mutex_lock(st->group_lock);
    group = take_group(st);
    apr_thread_mutex_unlock(st->group_lock);
    if (!group) {
        return NULL;
    }
    for (it = group; it; it = it->next) {
        n++;
    }
    args = apr_palloc(p, sizeof(*args) * (apr_size_t)n);
    done = apr_pcalloc(p, sizeof(*done) * (apr_size_t)n);
    n = 0;
    for (it = group; it; it = it->next) {
        args[n++] = it->arg;
    }
    if ((rv = apr_pool_create(&q, p)) == APR_SUCCESS) {
        rv = group->batch(db, q, args, n, done);
        if (rv != APR_SUCCESS) {
            /* It wrote nothing (a deadlock, a lost connection): each one
             * alone then fails only its own caller. */
            B8_LOG(B8_LOG_WARNING, rv, "B8-5000: a batch of %d writes failed, each runs "
                   "alone: %s", n, b8_db_error(db));
            memset(done, 0, sizeof(*done) * (apr_size_t)n);
        }
    }
    n = 0;
    for (it = group; it; it = it->next) {
        if (!done[n++]) {
            if (q) {
                apr_pool_clear(q);
            }
            it->rv = q ? run_alone(db, q, it->work, it->arg) : rv;
        }
        else {
            it->rv = APR_SUCCESS;
        }
        apr_cpystrn(it->error, it->rv == APR_SUCCESS ? "" : db->error, sizeof(it->error));
    }
    return group;
}

apr_status_t b8_db_group_write(b8_db *db, b8_tx_work work, b8_batch_work batch, void *arg)
{
    b8_store *st = db->st;
    group_item me = { .work = work, .batch = batch, .arg = arg };
    apr_pool_t *p;
    apr_status_t rv;

    if (db->in_tx) {
        return work(db, db->pool, arg);   /* already inside the caller's transaction */
    }
    if ((rv = apr_pool_create(&p, db->pool)) != APR_SUCCESS) {
        return rv;
    }
    if (!st->sqlite && !batch) {
        /* PostgreSQL groups concurrent commits itself, and works sharing a
         * transaction there could deadlock on each other's row locks. */
        rv = run_alone(db, p, work, arg);
        apr_pool_destroy(p);
        return rv;
    }
    apr_thread_mutex_lock(st->group_lock);
    if (st->group_tail) {
        st->group_tail->next = &me;
    }
    else {
        st->group_head = &me;
    }
    st->group_tail = &me;
    while (!me.done) {
        group_item *group, *it, *next;

        if (st->group_running) {
            apr_thread_cond_wait(st->group_cond, st->group_lock);
            continue;
        }
        st->group_running = 1;
        apr_thread_mutex_unlock(st->group_lock);
        group = st->sqlite ? run_group(db, p) : run_batch(db, p);
        apr_thread_mutex_lock(st->group_lock);
        for (it = group; it; it = next) {
            next = it->next;   /* read before done: a done work's caller may leave */
            it->done = 1;
        }
        st->group_running = 0;
        apr_thread_cond_broadcast(st->group_cond);
    }
    apr_thread_mutex_unlock(st->group_lock);
    apr_pool_destroy(p);
    if (me.rv != APR_SUCCESS) {
        apr_cpystrn(db->error, me.error, sizeof(db->error));
    }
    return me.rv;
}

const char *b8_db_error(const b8_db *db)
{
    return db->error[0] ? db->error : "no error";
}

int b8_store_schema_version(void)
{
    return b8_sql_migration_count();
}

/* Runs one migration's statements; DDL is constant text, never user data. */
static apr_status_t run_migration(b8_db *db, apr_pool_t *p, int version)
{
    char *ddl = apr_pstrdup(p, b8_sql_migration(p, version, db->st->sqlite));
    const char *const *extra;
    char *last = NULL;

    for (char *stmt = apr_strtok(ddl, ";", &last); stmt; stmt = apr_strtok(NULL, ";", &last)) {
        const char *s = stmt;
        while (*s == ' ' || *s == '\n') {
            s++;
        }
        if (*s && raw_query(db, s) != APR_SUCCESS) {
            return APR_EGENERAL;
        }
    }
    extra = b8_sql_migration_extra(version, db->st->sqlite);
    for (int i = 0; extra && extra[i]; i++) {
        if (raw_query(db, extra[i]) != APR_SUCCESS) {
            return APR_EGENERAL;
        }
    }
    /* apr_dbd's sqlite3 driver prepares with the legacy interface, whose
     * statements fail (SQLITE_SCHEMA) once the schema changed instead of
     * preparing themselves again: prepare afresh after DDL. The old ones
     * are finalised with the connection's pool. */
    memset(db->stmts, 0, sizeof(db->stmts));
    /* PostgreSQL keeps its prepared statements by name: drop them too. */
    memset(db->pg_prepared, 0, sizeof(db->pg_prepared));
    return db->st->sqlite ? APR_SUCCESS : raw_query(db, "DEALLOCATE ALL");
}

/* 1 when the schema exists at that version (read without DDL). */
static int schema_up_to_date(b8_db *db, apr_pool_t *p, int target)
{
    const char *exists = NULL, *version = NULL;
    const char *probe = db->st->sqlite
        ? "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        : "SELECT COUNT(to_regclass('schema_version'))";

    return raw_value(db, p, probe, &exists) == APR_SUCCESS && exists && strcmp(exists, "1") == 0
           && b8_db_value(db, p, B8_SQL_SCHEMA_VERSION, NULL, &version) == APR_SUCCESS
           && version && strtol(version, NULL, 10) == target;
}

apr_status_t b8_store_migrate(b8_store *st, apr_pool_t *p, const char **err)
{
    return b8_store_migrate_to(st, p, b8_sql_migration_count(), err);
}

apr_status_t b8_store_migrate_to(b8_store *st, apr_pool_t *p, int target, const char **err)
{
    b8_db *db;
    const char *current;
    long have = 0;
    apr_status_t rv;
    apr_pool_t *tp;

    if (target < 1 || target > b8_sql_migration_count()) {
        *err = apr_psprintf(p, "no schema version %d (this module has 1 to %d)", target,
                            b8_sql_migration_count());
        return APR_EINVAL;
    }

    apr_pool_create(&tp, p);
    rv = b8_db_get(st, tp, &db);
    if (rv != APR_SUCCESS) {
        *err = "cannot open the database (check the Blu8x8Database path and its permissions)";
        apr_pool_destroy(tp);
        return rv;
    }
    if (schema_up_to_date(db, tp, target)) {
        /* Nothing to create or lock: a role with only DML rights can start. */
        apr_pool_destroy(tp);
        return APR_SUCCESS;
    }
    if (b8_db_begin(db) != APR_SUCCESS) {
        *err = apr_pstrdup(p, b8_db_error(db));
        apr_pool_destroy(tp);
        return APR_EGENERAL;
    }
    /* Concurrent starts: SQLite's write lock or this advisory lock makes the
     * second server wait and then see the new version. */
    if ((!st->sqlite && raw_select(db, tp, "SELECT pg_advisory_xact_lock(880808)") != APR_SUCCESS)
        || raw_query(db, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
               != APR_SUCCESS
        || b8_db_value(db, tp, B8_SQL_SCHEMA_VERSION, NULL, &current) != APR_SUCCESS) {
        *err = apr_pstrdup(p, b8_db_error(db));
        b8_db_rollback(db);
        apr_pool_destroy(tp);
        return APR_EGENERAL;
    }
    if (current) {
        have = strtol(current, NULL, 10);
    }
    if (have > b8_sql_migration_count()) {
        *err = apr_psprintf(p, "the database has schema version %ld, newer than this module's %d",
                            have, b8_sql_migration_count());
        b8_db_rollback(db);
        apr_pool_destroy(tp);
        return APR_EGENERAL;
    }
    for (int v = (int)have + 1; v <= target; v++) {
        const char *args[] = { apr_itoa(tp, v) };
        if (run_migration(db, tp, v) != APR_SUCCESS
            || b8_db_exec(db, tp, B8_SQL_SCHEMA_VERSION_SET, args, NULL) != APR_SUCCESS) {
            *err = apr_psprintf(p, "migration %d failed: %s", v, b8_db_error(db));
            b8_db_rollback(db);
            apr_pool_destroy(tp);
            return APR_EGENERAL;
        }
        B8_LOG(B8_LOG_NOTICE, 0, "B8-0109: database schema migrated to version %d", v);
    }
    rv = b8_db_commit(db);
    if (rv != APR_SUCCESS) {
        *err = apr_pstrdup(p, b8_db_error(db));
    }
    /* apr_dbd's sqlite3 driver prepares with the legacy API, whose
     * statements fail once the schema changed: this connection's cached
     * statements predate the DDL, so it is closed rather than reused. */
    db->broken = 1;
    apr_pool_destroy(tp);
    return rv;
}

/* ------------------------------------------------------------- chunking */

apr_status_t b8_db_walk(b8_db *db, apr_pool_t *parent, b8_sql_id sql, const char **args,
                        int nargs, int size, b8_page_fn *page, void *baton)
{
    char after[32] = "0";
    apr_pool_t *p;
    apr_status_t rv;

    if ((rv = apr_pool_create(&p, parent)) != APR_SUCCESS) {
        return rv;
    }
    for (;;) {
        b8_rows *rows;

        apr_pool_clear(p);
        args[nargs - 2] = after;
        args[nargs - 1] = apr_itoa(p, size);
        if ((rv = b8_db_select(db, p, sql, args, &rows)) != APR_SUCCESS || !rows->nrows) {
            break;
        }
        /* The last id before page() runs: a page may change its rows. */
        apr_cpystrn(after, B8_CELL(rows, rows->nrows - 1, 0), sizeof(after));
        if ((rv = page(baton, p, rows)) != APR_SUCCESS) {
            break;
        }
    }
    apr_pool_destroy(p);
    return rv;
}

/* On PostgreSQL a transaction holds no lock others wait on, but every row
 * added to a campaign updates one of its few count rows (campaign_counts,
 * by trigger), and a row updated again in the same transaction leaves a
 * version HOT pruning cannot remove yet, which each later update walks:
 * that cost grows with the square of the chunk, the commits and checks
 * between chunks with their number. 100,000 recipients imported on this
 * project's 2-core VM: 10.4-13.7 s in chunks of 10,000, 8.7-9.6 s of
 * 1,000, 14 s of 250, 7.9 s of 2,500 (bench_campaigns.py on PostgreSQL). */
#define B8_PG_CHUNK 2500

apr_status_t b8_db_chunk_begin(b8_db_chunk *c, b8_db *db, int size)
{
    c->db = db;
    c->size = db->st->sqlite || size < B8_PG_CHUNK ? size : B8_PG_CHUNK;
    c->n = 0;
    return b8_db_begin(db);
}

apr_status_t b8_db_chunk_step(b8_db_chunk *c, int *fresh)
{
    apr_status_t rv;

    *fresh = 0;
    if (++c->n < c->size) {
        return APR_SUCCESS;
    }
    c->n = 0;
    if ((rv = b8_db_commit(c->db)) != APR_SUCCESS) {
        return rv;
    }
    *fresh = 1;
    return b8_db_begin(c->db);
}

apr_status_t b8_db_chunk_end(b8_db_chunk *c)
{
    return c->db->in_tx ? b8_db_commit(c->db) : APR_SUCCESS;
}

/* A bulk import touches pages all over the indexes of messages (phones and
 * clientMessageIds come in random order): with the 1 MiB cache of every
 * connection, SQLite would spill dirty pages to the WAL in the middle of a
 * transaction and read them back, writing the same page many times. Big
 * while the import runs, back to small (memory freed) when p is cleared. */
#define B8_BULK_CACHE "PRAGMA cache_size = -65536"
#define B8_NORMAL_CACHE "PRAGMA cache_size = -1024"

static apr_status_t bulk_end(void *data)
{
    b8_db *db = data;
    if (!db->broken && db->handle) {
        if (raw_select(db, db->pool, B8_NORMAL_CACHE) != APR_SUCCESS
            || raw_select(db, db->pool, "PRAGMA shrink_memory") != APR_SUCCESS) {
            B8_LOG(B8_LOG_WARNING, 0, "B8-4600: cannot shrink the page cache after an "
                   "import: %s", db->error);
        }
    }
    return APR_SUCCESS;
}

void b8_db_bulk(b8_db *db, apr_pool_t *p)
{
    if (!db->st->sqlite) {
        return;
    }
    if (raw_select(db, db->pool, B8_BULK_CACHE) != APR_SUCCESS) {
        /* Slower, not wrong. */
        B8_LOG(B8_LOG_WARNING, 0, "B8-4601: cannot grow the page cache for an import: %s",
               db->error);
        return;
    }
    apr_pool_cleanup_register(p, db, bulk_end, apr_pool_cleanup_null);
}
