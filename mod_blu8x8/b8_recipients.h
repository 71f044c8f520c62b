/* Campaign recipients: rows of the messages table with kind 'campaign',
 * channel 'viber', state 'pending' and a fresh clientMessageId (UUID) each.
 * They change only while their campaign is a Draft. The add answers are
 * the b8_import_report of b8_audience.h. */
#ifndef B8_RECIPIENTS_H
#define B8_RECIPIENTS_H

#include "b8_campaigns.h"

b8_errkind b8_recipients_add(b8_ctx *ctx, const char *campaign_id, const cJSON *in,
                             cJSON **report, b8_err *err);
b8_errkind b8_recipients_import(b8_ctx *ctx, const char *campaign_id, const char *csv,
                                apr_size_t len, cJSON **report, b8_err *err);
b8_errkind b8_recipients_list(b8_ctx *ctx, const char *campaign_id, const char *state,
                              const b8_paging *pg, cJSON **out, b8_err *err);
b8_errkind b8_recipient_delete(b8_ctx *ctx, const char *campaign_id, const char *rid,
                               b8_err *err);

/* The campaign page's "add one" box: typed is a phone number or a contact's
 * name (or contact_id a contact picked from a list). out: {"ok": bool,
 * "message": "<what happened, as a sentence>", "matches": [contacts] when
 * several contacts match the name}. */
b8_errkind b8_recipient_add_typed(b8_ctx *ctx, const char *campaign_id, const char *typed,
                                  const char *contact_id, cJSON **out, b8_err *err);

/* recipients.csv: the header row, then every recipient in id order, given
 * to write() in chunks. Fails (before writing anything) for an unknown
 * campaign; a write() failure stops the export. */
b8_errkind b8_recipients_export(b8_ctx *ctx, const char *campaign_id, b8_write_fn *write,
                                void *baton, b8_err *err);

#endif
