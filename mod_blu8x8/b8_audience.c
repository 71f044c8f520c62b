#include "b8_audience.h"
#include "b8_phone.h"
#include "b8_results.h"
#include "b8_tags.h"
#include "b8_settings.h"
#include "b8_util.h"

#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>

/* A fresh transaction: its own memory and time, then the caller's check. */
static b8_errkind opened(b8_audience *au, b8_err *err)
{
    apr_pool_clear(au->cp);
    au->now = b8_now_iso(au->cp);
    if (au->opened && au->opened(au, err) != B8_OK) {
        b8_db_rollback(au->ctx->db);
        return err->kind;
    }
    return B8_OK;
}

b8_errkind b8_audience_start(b8_audience *au, b8_ctx *ctx, b8_err *err)
{
    au->ctx = ctx;
    au->err = err;
    au->country = b8_ctx_setting(ctx, B8_SET_DEFAULT_COUNTRY);
    au->seen = apr_hash_make(ctx->pool);
    b8_report_init(&au->rep, ctx->pool);
    apr_pool_create(&au->cp, ctx->pool);
    apr_pool_create(&au->bp, ctx->pool);
    au->nwaiting = 0;
    if (b8_db_chunk_begin(&au->tx, ctx->db, au->chunk) != APR_SUCCESS) {
        b8_audience_abort(au);
        return b8_fail_db(err, ctx->db);
    }
    if (opened(au, err) != B8_OK) {
        b8_audience_abort(au);
        return err->kind;
    }
    return B8_OK;
}

/* After each row: a full transaction is committed and the next one begun
 * (what the sink kept back is written in it first). */
static apr_status_t step(b8_audience *au)
{
    int fresh = 0;
    apr_status_t rv = APR_SUCCESS;

    if (au->flush && au->tx.n + 1 >= au->tx.size) {
        rv = au->flush(au);
    }
    if (rv == APR_SUCCESS) {
        rv = b8_db_chunk_step(&au->tx, &fresh);
    }

    if (rv == APR_SUCCESS && fresh && opened(au, au->err) != B8_OK) {
        rv = APR_EINVAL;
    }
    return rv;
}

/* One recipient: a duplicate (when deduplicating here), opted out, or
 * handed to the sink; then the step. */
static apr_status_t member(b8_audience *au, const char *e164, const char *name,
                           const char *contact_id, const char *contact_name, const char *opted_out)
{
    apr_status_t rv;

    if (au->dedupe && apr_hash_get(au->seen, e164, APR_HASH_KEY_STRING)) {
        au->rep.duplicates++;
        return step(au);
    }
    if (au->dedupe) {
        apr_hash_set(au->seen, apr_pstrdup(au->ctx->pool, e164), APR_HASH_KEY_STRING, "");
    }
    if (opted_out && strcmp(opted_out, "1") == 0) {
        au->rep.opted_out++;
        return step(au);
    }
    if ((rv = au->add(au, e164, name && *name ? name : contact_name, contact_id))
        != APR_SUCCESS) {
        return rv;
    }
    return step(au);
}

/* The numbers waiting, each linked to its contact when it is one (name
 * and opt-out): one lookup for the batch. */
static apr_status_t flush_numbers(b8_audience *au)
{
    const char *args[B8_RECIPIENT_BATCH];
    apr_hash_t *contacts, *suppressed;
    b8_rows *rows, *listed;
    apr_status_t rv;
    int n = au->nwaiting;

    if (!n) {
        return APR_SUCCESS;
    }
    au->nwaiting = 0;
    for (int i = 0; i < B8_RECIPIENT_BATCH; i++) {
        args[i] = i < n ? au->waiting[i].e164 : NULL;
    }
    rv = b8_db_select(au->ctx->db, au->bp, B8_SQL_RECIPIENT_CONTACTS_BATCH, args, &rows);
    /* The suppression list holds for a number that is no contact too (or
     * whose contact was deleted): one read for the batch. */
    if (rv == APR_SUCCESS) {
        rv = b8_db_select(au->ctx->db, au->bp, B8_SQL_SUPPRESSIONS_IN_BATCH, args, &listed);
    }
    if (rv == APR_SUCCESS) {
        suppressed = apr_hash_make(au->bp);
        for (int r = 0; r < listed->nrows; r++) {
            const char *phone = B8_GET(listed, r, PHONE, phone);
            if (phone) {
                apr_hash_set(suppressed, phone, APR_HASH_KEY_STRING, "1");
            }
        }
        /* phone -> its row (1-based, so that 0 is "none") */
        contacts = apr_hash_make(au->bp);
        for (int r = 0; r < rows->nrows; r++) {
            const char *phone = B8_GET(rows, r, CONTACT, phone);
            if (phone) {
                apr_hash_set(contacts, phone, APR_HASH_KEY_STRING, (void *)(apr_uintptr_t)(r + 1));
            }
        }
        for (int i = 0; i < n && rv == APR_SUCCESS; i++) {
            int r = (int)(apr_uintptr_t)apr_hash_get(contacts, au->waiting[i].e164,
                                                      APR_HASH_KEY_STRING) - 1;
            rv = r < 0 ? member(au, au->waiting[i].e164, au->waiting[i].name, NULL, NULL,
                                apr_hash_get(suppressed, au->waiting[i].e164, APR_HASH_KEY_STRING))
                       : member(au, au->waiting[i].e164, au->waiting[i].name,
                                B8_GET(rows, r, CONTACT, id), B8_GET(rows, r, CONTACT, name),
                                B8_GET(rows, r, CONTACT, opted_out));
        }
    }
    apr_pool_clear(au->bp);
    return rv;
}

/* A number: looked up with the next ones (the others wait their turn, so
 * the order stays the order given). */
static apr_status_t number(b8_audience *au, const char *e164, const char *name)
{
    au->waiting[au->nwaiting].e164 = apr_pstrdup(au->bp, e164);
    au->waiting[au->nwaiting].name = name ? apr_pstrdup(au->bp, name) : NULL;
    return ++au->nwaiting == B8_RECIPIENT_BATCH ? flush_numbers(au) : APR_SUCCESS;
}

/* The text of a list entry, for the report. */
static const char *entry_text(apr_pool_t *p, const cJSON *v)
{
    return cJSON_IsString(v) ? v->valuestring : b8_json_print(p, v);
}

apr_status_t b8_audience_phones(b8_audience *au, const apr_array_header_t *entries)
{
    for (int i = 0; entries && i < entries->nelts; i++) {
        const cJSON *v = APR_ARRAY_IDX(entries, i, const cJSON *);
        const char *why = NULL, *e164 = NULL;
        apr_status_t rv;

        if (cJSON_IsString(v)) {
            e164 = b8_phone_e164(au->cp, v->valuestring, au->country, &why);
        }
        if (!e164) {
            b8_report_invalid(&au->rep, 0, entry_text(au->cp, v),
                              apr_pstrcat(au->cp, "not a valid phone number: ",
                                          why ? why : "not text", NULL));
            continue;
        }
        if ((rv = number(au, e164, NULL)) != APR_SUCCESS) {
            return rv;
        }
    }
    return flush_numbers(au);
}

apr_status_t b8_audience_contacts(b8_audience *au, const cJSON *ids)
{
    const cJSON *v;
    apr_status_t rv = flush_numbers(au);

    if (rv != APR_SUCCESS) {
        return rv;
    }

    cJSON_ArrayForEach(v, ids) {
        /* The request was checked: every entry is an id (b8_json_ids_check). */
        const char *id = b8_json_id(au->cp, v);
        b8_rows *rows = NULL;

        if (id) {
            /* id, name, phone, opted_out, ... */
            const char *args[] = { id };
            if ((rv = b8_db_select(au->ctx->db, au->cp, B8_SQL_CONTACT_BY_ID, args, &rows))
                != APR_SUCCESS) {
                return rv;
            }
        }
        if (!rows || !rows->nrows) {
            b8_report_invalid(&au->rep, 0, entry_text(au->cp, v), "no such contact");
            continue;
        }
        if ((rv = member(au, B8_GET(rows, 0, CONTACT, phone), NULL, B8_GET(rows, 0, CONTACT, id),
                         B8_GET(rows, 0, CONTACT, name), B8_GET(rows, 0, CONTACT, opted_out)))
            != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

/* One contact of a tag: id, name, phone, phone_key, opted_out. */
static apr_status_t tag_contact(void *baton, const b8_rows *rows, int i)
{
    return member(baton, B8_GET(rows, i, TAG_CONTACT, phone), NULL, B8_GET(rows, i, TAG_CONTACT, id),
                  B8_GET(rows, i, TAG_CONTACT, name), B8_GET(rows, i, TAG_CONTACT, opted_out));
}

apr_status_t b8_audience_tags(b8_audience *au, const cJSON *names)
{
    const cJSON *v;
    apr_status_t rv = flush_numbers(au);

    if (rv != APR_SUCCESS) {
        return rv;
    }

    cJSON_ArrayForEach(v, names) {
        const char *tag_id = NULL;

        if (cJSON_IsString(v)
            && (rv = b8_tag_find(au->ctx->db, au->cp, b8_trim(au->cp, v->valuestring), &tag_id))
               != APR_SUCCESS) {
            return rv;
        }
        if (!tag_id) {
            b8_report_invalid(&au->rep, 0, entry_text(au->cp, v), "no such tag");
            continue;
        }
        /* au->cp is cleared between transactions, the walk spans them. */
        tag_id = apr_pstrdup(au->ctx->pool, tag_id);
        if ((rv = b8_tag_each_contact(au->ctx->db, au->ctx->pool, tag_id, tag_contact, au))
            != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

#define RETARGET_CHUNK 1000

apr_status_t b8_audience_campaign(b8_audience *au, const cJSON *from)
{
    const char *after = "0";
    apr_status_t rv = APR_SUCCESS;

    if (!from || cJSON_IsNull(from)) {
        return APR_SUCCESS;
    }
    for (;;) {
        /* au->cp is cleared between transactions, the walk spans them. */
        apr_pool_t *chunk;
        b8_rows *rows;
        int n;
        apr_pool_create(&chunk, au->ctx->pool);
        if ((rv = b8_retarget_chunk(au->ctx->db, chunk, from, after, RETARGET_CHUNK, &rows))
            != APR_SUCCESS) {
            break;
        }
        for (int r = 0; r < rows->nrows && rv == APR_SUCCESS; r++) {
            rv = number(au, B8_GET(rows, r, RETARGET, phone), B8_GET(rows, r, RETARGET, name));
        }
        n = rows->nrows;
        if (n > 0) {
            after = apr_pstrdup(au->ctx->pool, B8_GET(rows, n - 1, RETARGET, id));
        }
        apr_pool_destroy(chunk);
        if (rv != APR_SUCCESS || n < RETARGET_CHUNK) {
            break;
        }
    }
    return rv;
}

apr_status_t b8_audience_csv(b8_audience *au, const char *csv, apr_size_t len,
                             const char **encoding)
{
    b8_numbers *numbers;
    b8_number num;
    apr_status_t rv = APR_SUCCESS;

    /* A file that is not UTF-8 is read as Windows-1252 (what Excel writes). */
    csv = b8_text_as_utf8(au->ctx->pool, csv, len, &len, encoding);
    numbers = b8_numbers_open(au->ctx->pool, csv, len, au->country);
    /* The reader's per-line memory is the transaction's. */
    while (rv == APR_SUCCESS && b8_numbers_next(numbers, au->cp, &num)) {
        if (num.e164) {
            rv = number(au, num.e164, num.name);
        }
        else {
            b8_report_invalid(&au->rep, num.line, num.value, num.reason);
            rv = step(au);
        }
    }
    return rv == APR_SUCCESS ? flush_numbers(au) : rv;
}

b8_errkind b8_audience_finish(b8_audience *au, b8_err *err)
{
    if (flush_numbers(au) != APR_SUCCESS || (au->flush && au->flush(au) != APR_SUCCESS)
        || b8_db_chunk_end(&au->tx) != APR_SUCCESS) {
        b8_audience_abort(au);
        return b8_fail_db(err, au->ctx->db);
    }
    apr_pool_destroy(au->cp);
    au->cp = NULL;
    apr_pool_destroy(au->bp);
    au->bp = NULL;
    return B8_OK;
}

void b8_audience_abort(b8_audience *au)
{
    au->nwaiting = 0;
    b8_db_rollback(au->ctx->db);
}

apr_array_header_t *b8_audience_phone_entries(apr_pool_t *p, const cJSON *v, b8_err *err)
{
    apr_array_header_t *list = apr_array_make(p, 8, sizeof(const cJSON *));
    const cJSON *e;

    if (!v || cJSON_IsNull(v)) {
        return list;
    }
    if (cJSON_IsString(v)) {
        char *copy = apr_pstrdup(p, v->valuestring), *last = NULL;
        for (char *t = apr_strtok(copy, "\n\r,;", &last); t; t = apr_strtok(NULL, "\n\r,;", &last)) {
            if (*b8_trim(p, t)) {
                APR_ARRAY_PUSH(list, const cJSON *) = b8_json_pool_owned(p, cJSON_CreateString(
                                                                            b8_trim(p, t)));
            }
        }
        return list;
    }
    if (!cJSON_IsArray(v)) {
        b8_field_error(err, "phones", "Give the phone numbers as a list.");
        return list;
    }
    cJSON_ArrayForEach(e, v) {
        APR_ARRAY_PUSH(list, const cJSON *) = e;
    }
    return list;
}
