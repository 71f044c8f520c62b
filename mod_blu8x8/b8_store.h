/* The store: the only file that talks apr_dbd. Connections are pooled and
 * reused; every statement is prepared once per connection from the table
 * in b8_sql.c, the one file of SQL. */
#ifndef B8_STORE_H
#define B8_STORE_H

#include <string.h>
#include <apr_pools.h>
#include "b8_sql.h"

typedef struct b8_store b8_store;
typedef struct b8_db b8_db;

/* Result rows, all cells as strings (NULL for SQL NULL), read by column
 * name: B8_GET(rows, r, SHAPE, column) with the statement's shape and a
 * column of its list in b8_sql.h (a misspelt or missing column does not
 * compile). Positions stay inside the store. */
typedef struct {
    int nrows;
    int ncols;
    b8_sql_id id;           /* the statement that made them */
    const char **cells;
} b8_rows;
#define B8_GET(rows, r, SHAPE, col) \
    b8_rows_cell((rows), (r), B8_SHAPE_##SHAPE, B8_COL_##SHAPE##_##col)
/* NULL for SQL NULL, and when the rows are not of that shape or r is out
 * of range (a programming error the tests see). */
const char *b8_rows_cell(const b8_rows *rows, int r, b8_shape shape, int col);
/* A cell equal to text (a NULL cell never is), and a cell or a default. */
#define B8_GET_IS(rows, r, SHAPE, col, text) b8_cell_is(B8_GET(rows, r, SHAPE, col), text)
#define B8_GET_OR(rows, r, SHAPE, col, dflt) b8_cell_or(B8_GET(rows, r, SHAPE, col), dflt)
static inline int b8_cell_is(const char *cell, const char *text)
{
    return cell && strcmp(cell, text) == 0;
}
static inline const char *b8_cell_or(const char *cell, const char *dflt)
{
    return cell ? cell : dflt;
}
/* The row's column named "id", for keyset walks over any statement. */
const char *b8_rows_id(const b8_rows *rows, int r);

/* driver: "sqlite3" or "pgsql"; params as apr_dbd_open takes them.
 * max_conns bounds the connections this process opens. The connection pool
 * allocates from p, from any thread, under its own lock: once threads run,
 * nobody else may allocate from p (use a subpool). */
apr_status_t b8_store_open(apr_pool_t *p, const char *driver, const char *params,
                           int max_conns, b8_store **out, const char **err);
/* Creates the schema or brings it up to date; safe when several processes
 * start at once (SQLite write lock, PostgreSQL advisory lock). */
apr_status_t b8_store_migrate(b8_store *st, apr_pool_t *p, const char **err);
/* Up to that version only (tests of an upgrade from an older schema). */
apr_status_t b8_store_migrate_to(b8_store *st, apr_pool_t *p, int version, const char **err);
int b8_store_schema_version(void);
int b8_store_is_sqlite(const b8_store *st);
int b8_db_is_sqlite(const b8_db *db);
/* 1 inside b8_db_begin .. commit/rollback. */
int b8_db_in_tx(const b8_db *db);
/* How many rows written by other transactions still in flight a statement
 * may not see: none on SQLite (one writer at a time, and a transaction sees
 * every commit made before it), at most one a transaction on PostgreSQL, so
 * its max_connections (read once; LONG_MAX when it cannot be read). */
long b8_db_unseen_writes_max(b8_db *db, apr_pool_t *p);

/* Borrows a connection until pool p is cleared (request or loop pool). */
apr_status_t b8_db_get(b8_store *st, apr_pool_t *p, b8_db **db);

/* args: as many as the statement's placeholders; NULL binds SQL NULL. */
apr_status_t b8_db_select(b8_db *db, apr_pool_t *p, b8_sql_id id,
                          const char *const *args, b8_rows **out);
apr_status_t b8_db_exec(b8_db *db, apr_pool_t *p, b8_sql_id id,
                        const char *const *args, int *nrows);
/* One value (first column of the first row) or NULL. */
apr_status_t b8_db_value(b8_db *db, apr_pool_t *p, b8_sql_id id,
                         const char *const *args, const char **value);

/* A write transaction: BEGIN IMMEDIATE on SQLite (so read-then-write cannot
 * fail on upgrade), serialised with this process's other writers. */
apr_status_t b8_db_begin(b8_db *db);
apr_status_t b8_db_commit(b8_db *db);
void b8_db_rollback(b8_db *db);

/* Group commit: runs work(db, p, arg) in a write transaction shared with
 * the works other threads of this process hand in at the same moment, so
 * that many small writes cost one commit (one fsync) together. Returns once
 * the transaction that ran it has committed, or with its failure. The work
 * may run on another thread's connection and may run twice (alone again
 * when its group failed): it touches only the database and its arg, and
 * allocates from p, which is cleared after it. Inside an open transaction
 * the work simply runs there.
 * On PostgreSQL works sharing a transaction could deadlock on each other's
 * row locks, so each runs alone, unless the caller gives batch: then the
 * args handed in together with the same batch go to one call of batch,
 * which writes them in one statement of its own (outside any transaction)
 * and sets done[i] for each arg it wrote; the others, or all when it
 * fails (it then wrote nothing), run alone in work. */
typedef apr_status_t (*b8_tx_work)(b8_db *db, apr_pool_t *p, void *arg);
typedef apr_status_t (*b8_batch_work)(b8_db *db, apr_pool_t *p, void *const *args, int n,
                                      int *done);
apr_status_t b8_db_group_write(b8_db *db, b8_tx_work work, b8_batch_work batch, void *arg);
const char *b8_db_error(const b8_db *db);

/* A keyset walk: page(baton, p, rows) for each page of at most `size` rows
 * that sql answers, p cleared between pages. The statement's first column
 * is the row id; its last two arguments (room in args, counted by nargs)
 * are the last id seen and the page size. Returns the first failure, of the
 * SELECT or of page(). */
typedef apr_status_t b8_page_fn(void *baton, apr_pool_t *p, const b8_rows *rows);
apr_status_t b8_db_walk(b8_db *db, apr_pool_t *parent, b8_sql_id sql, const char **args,
                        int nargs, int size, b8_page_fn *page, void *baton);

/* Many writes in transactions of `size` writes each, so that the write lock
 * is never held long: begin, a step after each write (a full transaction is
 * committed and the next begun; *fresh says so, for the caller to clear its
 * per-chunk memory and check again what the chunk relies on), end commits.
 * On failure, b8_db_rollback. */
typedef struct {
    b8_db *db;
    int size;
    int n;
} b8_db_chunk;

apr_status_t b8_db_chunk_begin(b8_db_chunk *c, b8_db *db, int size);
apr_status_t b8_db_chunk_step(b8_db_chunk *c, int *fresh);
apr_status_t b8_db_chunk_end(b8_db_chunk *c);

/* Bulk writes (imports) until pool p is cleared: a big page cache on
 * SQLite (see b8_store.c). p must be cleared before the connection goes
 * back (the request's pool, which borrowed it, or one under it). */
void b8_db_bulk(b8_db *db, apr_pool_t *p);

#endif
