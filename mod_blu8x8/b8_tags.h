/* Tags: named groups of contacts, used to add campaign recipients. Names
 * are unique whatever their case and are how the API refers to a tag
 * everywhere but /api/tags. */
#ifndef B8_TAGS_H
#define B8_TAGS_H

#include "b8_core.h"

#define B8_TAG_MAX_CHARS 64

/* Trims raw into *name; returns NULL when valid, else why not (a sentence
 * fragment: "is empty", ...). */
const char *b8_tag_name_invalid(apr_pool_t *p, const char *raw, const char **name);

/* {"id", "name", "contacts"} objects. */
b8_errkind b8_tags_list(b8_ctx *ctx, const b8_paging *pg, cJSON **out, b8_err *err);
b8_errkind b8_tag_get(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err);
/* in: {"name"} */
b8_errkind b8_tag_create(b8_ctx *ctx, const cJSON *in, cJSON **out, b8_err *err);
b8_errkind b8_tag_update(b8_ctx *ctx, const char *id, const cJSON *in, cJSON **out, b8_err *err);
b8_errkind b8_tag_delete(b8_ctx *ctx, const char *id, b8_err *err);

/* The id of the tag called name (any case), or NULL in *id. */
apr_status_t b8_tag_find(b8_db *db, apr_pool_t *p, const char *name, const char **id);
/* Same, creating the tag when missing; call inside a transaction. */
apr_status_t b8_tag_ensure(b8_db *db, apr_pool_t *p, const char *name, const char **id);

/* Calls fn for every contact of a tag, in id order, reading pages of
 * B8_TAG_PAGE rows into a pool of their own (fn may clear its own pools
 * between two calls). The row's columns: id, name, phone, phone_key, opted_out.
 * Stops at the first status fn returns that is not APR_SUCCESS. */
typedef apr_status_t b8_tag_contact_fn(void *baton, const b8_rows *rows, int row);
#define B8_TAG_PAGE 1000
apr_status_t b8_tag_each_contact(b8_db *db, apr_pool_t *parent, const char *tag_id,
                                 b8_tag_contact_fn *fn, void *baton);

#endif
