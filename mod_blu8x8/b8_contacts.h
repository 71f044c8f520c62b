/* Contacts: a name, a unique E.164 phone, tags and the opted-out flag that
 * keeps them out of every campaign. */
#ifndef B8_CONTACTS_H
#define B8_CONTACTS_H

#include "b8_core.h"

#define B8_NAME_MAX_CHARS 200

/* q: name or phone (NULL = any); tag: a tag name; opted_out: "true"/"false"
 * (or 1/0; NULL = any). Objects: {"id", "name", "phone", "tags", "opted_out",
 * "opted_out_at", "created_at", "updated_at"}. */
b8_errkind b8_contacts_list(b8_ctx *ctx, const char *q, const char *tag, const char *opted_out,
                            const b8_paging *pg, cJSON **out, b8_err *err);
b8_errkind b8_contact_get(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err);
/* in: {"name", "phone", "tags": [names] (or one string, ';' or ','
 * separated), "opted_out": bool}; partial on update, where "tags" replaces
 * the list. Unknown tag names are created. */
b8_errkind b8_contact_create(b8_ctx *ctx, const cJSON *in, cJSON **out, b8_err *err);
b8_errkind b8_contact_update(b8_ctx *ctx, const char *id, const cJSON *in, cJSON **out,
                             b8_err *err);
b8_errkind b8_contact_delete(b8_ctx *ctx, const char *id, b8_err *err);

/* CSV "name,phone,tags" (tags ';'-separated; a header row is optional and
 * may order the columns) -> {"added", "updated", "duplicates", "invalid":
 * [{"line", "value", "reason"}], "invalid_count"}. A known phone updates
 * its contact (name, added tags); a phone met twice in the file, or a row
 * that changes nothing, is a duplicate. */
b8_errkind b8_contacts_import(b8_ctx *ctx, const char *csv, apr_size_t len, cJSON **report,
                              b8_err *err);

/* 1 or 0 for a JSON or form boolean (true, "true", "1", "on", "yes"; false,
 * "false", "0", "off", "no", ""); -1 when it is none of them. */
int b8_bool_value(const cJSON *v);

/* Contacts written before the folded search name existed get it (once, at
 * the worker's start; a no-op afterwards). */
apr_status_t b8_contacts_fold_backlog(b8_store *st, apr_pool_t *p);

#endif
