/* Leads: made from an inbound message that shows buying interest, pinged to
 * every sales agent on Viber with a signed claim link; the first tap wins. */
#ifndef B8_LEADS_H
#define B8_LEADS_H

#include "b8_core.h"
#include "b8_users.h"

#define B8_PING_CAPTION "Yes, let me handle it."

/* The claim link, signed by b8_claim_signature (b8_crypto.h). */
const char *b8_claim_url(apr_pool_t *p, const char *public_url, const char *secret,
                         const char *lead_id, const char *user_id);

/* In the caller's transaction: the lead of this inbound message (made once,
 * whatever retries happen) and one pending agent_ping message per sales
 * agent with a phone. *lead_id is the lead, new or existing; *pinged the
 * number of pings made now (0 when the lead existed already). */
apr_status_t b8_lead_create(b8_db *db, apr_pool_t *p, const char *inbound_id,
                            const char *text, const char *phone, const char *default_country,
                            const char *public_url, const char **lead_id, int *pinged);

typedef enum {
    B8_CLAIM_WON,        /* this agent holds the lead (now or already) */
    B8_CLAIM_TAKEN,      /* another agent holds it */
    B8_CLAIM_FORBIDDEN,  /* missing or wrong signature */
    B8_CLAIM_NOT_FOUND   /* no such lead or user, or not a sales agent */
} b8_claim_result;

/* Verifies the signature (constant time) first, then claims atomically.
 * *lead is the lead's JSON (with claimed_by_name) for the page. */
b8_claim_result b8_lead_claim(b8_ctx *ctx, const char *lead_id, const char *user_id,
                              const char *sig, cJSON **lead);

/* claimed true|false, status new|claimed|won|lost|open (NULL = any); a
 * sales agent (viewer without the administrator role) sees the unclaimed
 * leads and theirs. */
b8_errkind b8_leads_list(b8_ctx *ctx, const b8_user *viewer, const char *claimed,
                         const char *status, const b8_paging *pg, cJSON **out, b8_err *err);
/* PATCH {"status": new|claimed|won|lost, "notes": text|null}. */
b8_errkind b8_lead_update(b8_ctx *ctx, const b8_user *viewer, const char *id, const cJSON *in,
                          cJSON **out, b8_err *err);
b8_errkind b8_leads_csv(b8_ctx *ctx, const char **csv, b8_err *err);

#endif
