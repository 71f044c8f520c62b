/* Minimal unit-test harness for the core library: no httpd, no framework.
 * Each test file defines tests with B8_TEST(name) and lists them in
 * B8_TEST_MAIN(...). The runner prints one line per failed check and a
 * closing line "N passed, N failed" that CI recognises. */
#ifndef B8_TEST_H
#define B8_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include "b8_store.h"

typedef void (*b8_test_fn)(apr_pool_t *p);
typedef struct { const char *name; b8_test_fn fn; } b8_test_case;

static int b8_test_checks_failed;

/* A fresh SQLite database file for a store test, and its removal (with
 * the WAL, shared-memory and write-lock files the store makes beside it). */
static inline const char *b8_test_temp_db(apr_pool_t *p)
{
    char *path = apr_pstrdup(p, "/tmp/b8-unit-XXXXXX");
    int fd = mkstemp(path);
    if (fd >= 0) {
        close(fd);
    }
    return path;
}

static inline void b8_test_remove_db(apr_pool_t *p, const char *path)
{
    static const char *const suffixes[] = { "", "-wal", "-shm", "-lock", NULL };
    for (int i = 0; suffixes[i]; i++) {
        apr_file_remove(apr_pstrcat(p, path, suffixes[i], NULL), p);
    }
}

/* A migrated SQLite store in a fresh file, with its own pool and one
 * connection: open it at a test's start (false when it failed), close it
 * at the end (the pool, then the files). */
typedef struct {
    const char *path;
    apr_pool_t *pool;
    b8_store *st;
    b8_db *db;
} b8_test_store;

static inline int b8_test_store_open(apr_pool_t *p, b8_test_store *f)
{
    const char *err = NULL;
    f->path = b8_test_temp_db(p);
    apr_pool_create(&f->pool, p);
    return b8_store_open(f->pool, "sqlite3", f->path, 2, &f->st, &err) == APR_SUCCESS
           && b8_store_migrate(f->st, f->pool, &err) == APR_SUCCESS
           && b8_db_get(f->st, f->pool, &f->db) == APR_SUCCESS;
}

static inline void b8_test_store_close(apr_pool_t *p, b8_test_store *f)
{
    apr_pool_destroy(f->pool);
    b8_test_remove_db(p, f->path);
}

#define B8_TEST(name) static void name(apr_pool_t *p)

#define B8_CHECK(cond) do { if (!(cond)) { b8_test_checks_failed++; \
    fprintf(stderr, "  %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)

#define B8_CHECK_STR(got, want) do { const char *g_ = (got), *w_ = (want); \
    if (!g_ || !w_ || strcmp(g_, w_) != 0) { b8_test_checks_failed++; \
    fprintf(stderr, "  %s:%d: %s\n    got:  %s\n    want: %s\n", __FILE__, __LINE__, #got, \
            g_ ? g_ : "(null)", w_ ? w_ : "(null)"); } } while (0)

#define B8_CHECK_INT(got, want) do { long long g_ = (long long)(got), w_ = (long long)(want); \
    if (g_ != w_) { b8_test_checks_failed++; \
    fprintf(stderr, "  %s:%d: %s: got %lld, want %lld\n", __FILE__, __LINE__, #got, g_, w_); } } while (0)

#define B8_TEST_MAIN(...) \
int main(void) { \
    static const b8_test_case cases[] = { __VA_ARGS__ }; \
    int passed = 0, failed = 0; \
    apr_pool_t *root; \
    apr_initialize(); \
    apr_pool_create(&root, NULL); \
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) { \
        apr_pool_t *p; int before = b8_test_checks_failed; \
        apr_pool_create(&p, root); \
        cases[i].fn(p); \
        apr_pool_destroy(p); \
        if (b8_test_checks_failed == before) { passed++; } \
        else { failed++; fprintf(stderr, "FAIL %s\n", cases[i].name); } \
    } \
    apr_pool_destroy(root); \
    apr_terminate(); \
    printf("%s: %d passed, %d failed\n", __FILE__, passed, failed); \
    return failed ? 1 : 0; \
}
#define B8_CASE(fn) { #fn, fn }

#endif
