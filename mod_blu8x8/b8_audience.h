/* The audience of a send: phone numbers, contacts, tags and CSV files
 * resolved to recipients (normalised to E.164, linked to their contact,
 * opted-out contacts left out, duplicates counted), written by the caller's
 * sink in transactions of `chunk` rows. Campaign recipients and SMS sends
 * both resolve their audience here, and report it the same way
 * (b8_import_report: added, duplicates, opted_out, invalid). */
#ifndef B8_AUDIENCE_H
#define B8_AUDIENCE_H

#include "b8_core.h"
#include "b8_import.h"

typedef struct b8_audience b8_audience;

/* Writes one recipient (contact_id NULL: not a contact; name NULL: none)
 * and counts it in au->rep: added, a duplicate, or invalid. Runs in the
 * open transaction; allocates from au->cp. */
typedef apr_status_t b8_audience_add_fn(b8_audience *au, const char *e164, const char *name,
                                        const char *contact_id);
/* Runs at the start of each transaction (e.g. to check again that the
 * campaign is still a draft); a failure is set in err. */
typedef b8_errkind b8_audience_open_fn(b8_audience *au, b8_err *err);
/* Writes (and counts) what add kept back, before each commit: a sink that
 * writes many rows per statement. */
typedef apr_status_t b8_audience_flush_fn(b8_audience *au);

struct b8_audience {
    /* Set by the caller before b8_audience_start. */
    b8_audience_add_fn *add;
    b8_audience_open_fn *opened;  /* optional */
    b8_audience_flush_fn *flush;  /* optional */
    void *baton;
    int chunk;         /* rows per transaction */
    int dedupe;        /* a number met before is a duplicate (checked before opt-out);
                        * else the sink finds duplicates */
    /* Set by b8_audience_start. */
    b8_ctx *ctx;
    apr_pool_t *cp;    /* the open transaction's memory, cleared with each */
    const char *now;   /* the open transaction's time */
    const char *country;
    b8_import_report rep;
    apr_hash_t *seen;
    b8_db_chunk tx;
    b8_err *err;
    /* Numbers whose contact is looked up with the next ones, B8_RECIPIENT_BATCH
     * at a time, in their order (strings in bp, which outlives a commit). */
    apr_pool_t *bp;
    struct { const char *e164, *name; } waiting[B8_RECIPIENT_BATCH];
    int nwaiting;
};

/* Opens the first transaction. On failure nothing is left open. */
b8_errkind b8_audience_start(b8_audience *au, b8_ctx *ctx, b8_err *err);

/* The resolvers. They return APR_SUCCESS, or the failure that stopped them
 * (the caller then aborts; when err was set, its kind tells, else the
 * database's error). Invalid entries are reported (line 0), never fatal. */
apr_status_t b8_audience_phones(b8_audience *au, const apr_array_header_t *entries);
apr_status_t b8_audience_contacts(b8_audience *au, const cJSON *ids);
apr_status_t b8_audience_tags(b8_audience *au, const cJSON *names);
/* Retargeting (issue 19): the recipients of another campaign meeting every
 * condition of `from` ({"id", "states", "clicked", "replied"}, checked by
 * b8_retarget_check), each as a typed number (contact, opt-out, dedupe). */
apr_status_t b8_audience_campaign(b8_audience *au, const cJSON *from);
/* Pasted numbers or a CSV (b8_numbers): invalid lines reported with their
 * line number; *encoding: how the file was read (b8_text_as_utf8). */
apr_status_t b8_audience_csv(b8_audience *au, const char *csv, apr_size_t len,
                             const char **encoding);

/* Commits the last transaction and frees au->cp; au->rep holds the report. */
b8_errkind b8_audience_finish(b8_audience *au, b8_err *err);
/* Rolls the open transaction back and drops the report's list. */
void b8_audience_abort(b8_audience *au);

/* The entries of "phones": a JSON list, or one string of numbers separated
 * by lines, commas or semicolons (pool-owned); 422 on phones for anything
 * else. */
apr_array_header_t *b8_audience_phone_entries(apr_pool_t *p, const cJSON *v, b8_err *err);

#endif
