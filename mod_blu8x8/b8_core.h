/* What every core operation gets (a context) and gives back on failure (an
 * error kind the glue maps to an HTTP status). */
#ifndef B8_CORE_H
#define B8_CORE_H

#include <apr_pools.h>
#include <apr_hash.h>
#include <cjson/cJSON.h>
#include "b8_store.h"

#define B8_VERSION "0.1.0"

typedef enum {
    B8_OK = 0,
    B8_ENOTFOUND,    /* unknown id: 404 */
    B8_EINVALID,     /* validation: 422 with field messages */
    B8_ESTATE,       /* wrong state: 409 with the current state */
    B8_ECONFLICT,    /* pinned by config and the like: 409 */
    B8_EUPSTREAM,    /* 8x8 or OpenAI refused: 502 */
    B8_EINTERNAL     /* database or system failure: 500 */
} b8_errkind;

typedef struct {
    apr_pool_t *pool;    /* owns fields (the request's): set it when declaring */
    b8_errkind kind;
    const char *message;
    cJSON *fields;       /* key -> message, for B8_EINVALID; pool-owned */
    const char *state;   /* current state, for B8_ESTATE */
} b8_err;
#define B8_ERR_INIT(p) { .pool = (p) }

typedef struct {
    apr_pool_t *pool;
    b8_store *store;
    b8_db *db;
    const struct b8_settings *settings;  /* this request's snapshot (b8_settings.h) */
    const char *login;         /* the authenticated user, if any */
} b8_ctx;

/* Error helpers: set *err and return its kind. */
b8_errkind b8_fail(b8_err *err, b8_errkind kind, const char *message);
b8_errkind b8_fail_db(b8_err *err, b8_db *db);
/* Adds a field message to a validation error (creates it if needed). */
void b8_field_error(b8_err *err, const char *field, const char *message);

/* Effective value of a setting (a b8_setting_id) in this context. */
const char *b8_ctx_setting(const b8_ctx *ctx, int id);

/* cJSON helpers that treat a missing key, JSON null and wrong types alike. */
const char *b8_json_str(const cJSON *obj, const char *key);
cJSON *b8_json_add_str(cJSON *obj, const char *key, const char *value);  /* NULL -> null */
cJSON *b8_json_add_int(cJSON *obj, const char *key, const char *value);  /* decimal text -> number */
cJSON *b8_json_add_bool(cJSON *obj, const char *key, int value);
/* An id in a JSON body: a JSON number that is a whole number from 1 to
 * 2^53 - 1. Returns its decimal text in p, or NULL for anything else (1.5,
 * which must not be rounded to 2; "1"; true; 1e20). */
const char *b8_json_id(apr_pool_t *p, const cJSON *v);
/* The list of ids at key (absent or null is fine): B8_OK, or B8_EINVALID
 * with a field error naming key when it is not a list or an entry is not an
 * id as b8_json_id. */
b8_errkind b8_json_ids_check(apr_pool_t *p, const cJSON *in, const char *key, b8_err *err);
/* Serialises and copies into the pool (cJSON allocates with malloc). */
const char *b8_json_print(apr_pool_t *p, const cJSON *json);
/* JSON lifetimes follow APR pools, as mod_md's md_json_t does: a tree
 * made by b8_json_object/b8_json_array/b8_json_parse, or handed to
 * b8_json_pool_owned, is freed by a cleanup when the pool is cleared, so
 * nobody calls cJSON_Delete on it. Every cJSON a core operation answers
 * (cJSON **out, err->fields) is pool-owned so: the glue parses, calls,
 * renders, and never frees.
 * The one rule: only a root is pool-owned. cJSON_AddItemTo* hands the item
 * to its parent, which frees it too; so a pool-owned tree is never added as
 * a child (that would free it twice): add it by reference
 * (cJSON_AddItemReferenceTo*, which the parent does not free) or add
 * cJSON_Duplicate(tree, 1). Children are built unowned (cJSON_Create*) and
 * given to their parent. Returns json. */
cJSON *b8_json_pool_owned(apr_pool_t *p, cJSON *json);
cJSON *b8_json_object(apr_pool_t *p);
cJSON *b8_json_array(apr_pool_t *p);
/* len bytes of text (not NUL-terminated); NULL when they are not JSON. */
cJSON *b8_json_parse(apr_pool_t *p, const char *text, apr_size_t len);

/* Paging: page >= 1, 1 <= per_page <= 1000 (default 50). */
typedef struct { long page, per_page; } b8_paging;
void b8_paging_parse(b8_paging *pg, const char *page, const char *per_page);
cJSON *b8_list_envelope(cJSON *items, long total, const b8_paging *pg);

/* CSV downloads, streamed: write gets the text in pieces. */
typedef apr_status_t b8_write_fn(void *baton, const char *data, apr_size_t len);
/* A CSV column: its header and the statement's column (B8_COL_<SHAPE>_x). */
typedef struct { const char *header; int col; } b8_export_col;
/* The header line, then the rows of sql in chunks after the last id seen
 * (its column "id"), until it answers none. The statement's last two
 * placeholders are that id and the chunk size (args has room for them:
 * nargs counts them). */
b8_errkind b8_export_csv(b8_ctx *ctx, const b8_export_col *cols, int ncols, b8_sql_id sql,
                         const char **args, int nargs, b8_write_fn *write, void *baton,
                         b8_err *err);

#endif
