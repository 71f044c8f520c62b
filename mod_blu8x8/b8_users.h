/* Users: the httpd login mapped to a name, a phone and two roles. */
#ifndef B8_USERS_H
#define B8_USERS_H

#include "b8_core.h"

typedef struct {
    const char *id, *login, *name, *phone, *created_at;
    int is_admin, is_agent;
} b8_user;

/* NULL *out when the login has no user row. */
apr_status_t b8_user_by_login(b8_db *db, apr_pool_t *p, const char *login, b8_user **out);
/* Blu8x8Admin logins: a user row with the administrator role when missing. */
apr_status_t b8_users_bootstrap_admin(b8_db *db, apr_pool_t *p, const char *login);

cJSON *b8_user_json(const b8_user *u);
b8_errkind b8_users_list(b8_ctx *ctx, const b8_paging *pg, cJSON **out, b8_err *err);
b8_errkind b8_user_get(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err);
/* in: {"login", "name", "phone", "roles": [...]}; partial on update. */
b8_errkind b8_user_create(b8_ctx *ctx, const cJSON *in, cJSON **out, b8_err *err);
b8_errkind b8_user_update(b8_ctx *ctx, const char *id, const cJSON *in, cJSON **out, b8_err *err);
b8_errkind b8_user_delete(b8_ctx *ctx, const char *id, b8_err *err);
/* The logins of sales agents without a phone ("ana, ben"), who are never
 * pinged about leads; NULL when there are none (or on a database error,
 * logged: the pages still show). */
const char *b8_users_agents_without_phone(b8_ctx *ctx);

#endif
