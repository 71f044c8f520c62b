/* The suppression list: phones (E.164) that opted out, kept whether or not
 * they are contacts. STOP adds, START removes; a contact's opted_out reads
 * it; every marketing send (campaigns, SMS) skips its phones, when
 * recipients are added and again when they are sent. Answers to a customer
 * who writes in (AI, confirmations) are not marketing and still go out. */
#ifndef B8_SUPPRESSIONS_H
#define B8_SUPPRESSIONS_H

#include "b8_core.h"

#define B8_SUPPRESSION_REASON_MAX 200

/* On (1) or off (0) for one E.164 phone, inside the caller's transaction or
 * alone; the contact with that phone gets the same opted_out copy. The first
 * opt-out's time and reason stay. */
apr_status_t b8_suppression_set(b8_db *db, apr_pool_t *p, const char *e164, int on,
                                const char *reason, const char *now);
/* 1 in *on when the phone is on the list. */
apr_status_t b8_suppression_has(b8_db *db, apr_pool_t *p, const char *e164, int *on);

/* {"phone", "reason", "created_at"} objects, newest first. */
b8_errkind b8_suppressions_list(b8_ctx *ctx, const b8_paging *pg, cJSON **out, b8_err *err);
/* in: {"phone", "reason"?}; 201 object (the existing one when listed). */
b8_errkind b8_suppression_add(b8_ctx *ctx, const cJSON *in, cJSON **out, b8_err *err);
/* phone in any form b8_phone_e164 reads; B8_ENOTFOUND when not listed. */
b8_errkind b8_suppression_remove(b8_ctx *ctx, const char *phone, b8_err *err);
/* text/csv "phone,reason" (header optional): {"added", "duplicates",
 * "invalid", "invalid_count", "encoding"}. */
b8_errkind b8_suppressions_import(b8_ctx *ctx, const char *csv, apr_size_t len, cJSON **report,
                                  b8_err *err);
/* suppressions.csv: phone,reason,created_at (BOM, formula guard). */
b8_errkind b8_suppressions_csv(b8_ctx *ctx, const char **csv, b8_err *err);

#endif
