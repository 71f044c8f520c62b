#include "b8_contacts.h"
#include "b8_csv.h"
#include "b8_import.h"
#include "b8_log.h"
#include "b8_phone.h"
#include "b8_tags.h"
#include "b8_settings.h"
#include "b8_util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>

/* A contact as read or being written; tags NULL = leave them as they are. */
typedef struct {
    const char *id, *name, *phone, *phone_key, *opted_out_at, *created_at, *updated_at;
    int opted_out;
    apr_array_header_t *tags;
} contact;

int b8_bool_value(const cJSON *v)
{
    static const char *const yes[] = { "true", "1", "on", "yes", NULL };
    static const char *const no[] = { "false", "0", "off", "no", "", NULL };

    if (cJSON_IsBool(v)) {
        return cJSON_IsTrue(v) ? 1 : 0;
    }
    if (cJSON_IsNumber(v) && (v->valuedouble == 0 || v->valuedouble == 1)) {
        return v->valuedouble == 1;
    }
    if (!cJSON_IsString(v)) {
        return -1;
    }
    for (int i = 0; yes[i]; i++) {
        if (strcasecmp(v->valuestring, yes[i]) == 0) {
            return 1;
        }
    }
    for (int i = 0; no[i]; i++) {
        if (strcasecmp(v->valuestring, no[i]) == 0) {
            return 0;
        }
    }
    return -1;
}

static contact *contact_from_row(apr_pool_t *p, const b8_rows *rows, int r)
{
    contact *c = apr_pcalloc(p, sizeof(*c));
    c->id = B8_GET(rows, r, CONTACT, id);
    c->name = B8_GET_OR(rows, r, CONTACT, name, "");
    c->phone = B8_GET(rows, r, CONTACT, phone);
    c->opted_out = B8_GET_IS(rows, r, CONTACT, opted_out, "1");
    c->opted_out_at = B8_GET(rows, r, CONTACT, opted_out_at);
    c->created_at = B8_GET(rows, r, CONTACT, created_at);
    c->updated_at = B8_GET(rows, r, CONTACT, updated_at);
    return c;
}

static cJSON *contact_json(const contact *c, cJSON *tags)
{
    cJSON *o = cJSON_CreateObject();
    b8_json_add_int(o, "id", c->id);
    b8_json_add_str(o, "name", c->name);
    b8_json_add_str(o, "phone", c->phone);
    cJSON_AddItemToObject(o, "tags", tags ? tags : cJSON_CreateArray());
    b8_json_add_bool(o, "opted_out", c->opted_out);
    b8_json_add_str(o, "opted_out_at", c->opted_out ? c->opted_out_at : NULL);
    b8_json_add_str(o, "created_at", c->created_at);
    b8_json_add_str(o, "updated_at", c->updated_at);
    return o;
}

/* --------------------------------------------------------------- reading */

static const char *bool_filter(const char *s)
{
    cJSON v;
    int b;
    if (!s || !*s) {
        return NULL;
    }
    memset(&v, 0, sizeof(v));
    v.type = cJSON_String;
    v.valuestring = (char *)s;
    b = b8_bool_value(&v);
    return b < 0 ? NULL : (b ? "1" : "0");
}

/* "%917123%" for a search that holds digits: matched against phone_key, so
 * "0917 123" finds +63917123...; NULL without digits. */
static const char *digits_pattern(apr_pool_t *p, const char *q)
{
    char *out = apr_palloc(p, strlen(q) + 3), *o = out;
    const char *s = q;
    int any = 0;

    *o++ = '%';
    while (*s == '0' || (*s && !isdigit((unsigned char)*s))) {
        s++;
    }
    for (; *s; s++) {
        if (isdigit((unsigned char)*s)) {
            *o++ = *s;
            any = 1;
        }
        else if (isalpha((unsigned char)*s)) {
            return NULL;
        }
    }
    *o++ = '%';
    *o = '\0';
    return any ? out : NULL;
}

b8_errkind b8_contacts_list(b8_ctx *ctx, const char *q, const char *tag, const char *opted_out,
                            const b8_paging *pg, cJSON **out, b8_err *err)
{
    apr_pool_t *p = ctx->pool;
    const char *qq = q ? b8_trim(p, q) : NULL;
    const char *tt = tag ? b8_trim(p, tag) : NULL;
    const char *oo = bool_filter(opted_out);
    const char *total;
    b8_rows *rows;
    cJSON *items, *cur = NULL, *cur_tags = NULL;
    const char *cur_id = NULL;

    qq = qq && *qq ? qq : NULL;
    tt = tt && *tt ? tt : NULL;
    {
        const char *args[] = { qq, b8_like_contains(p, qq), qq ? digits_pattern(p, qq) : NULL,
                               tt, tt, oo, oo, apr_ltoa(p, pg->per_page),
                               apr_ltoa(p, (pg->page - 1) * pg->per_page) };
        if (b8_db_value(ctx->db, p, B8_SQL_CONTACTS_COUNT, args, &total) != APR_SUCCESS
            || b8_db_select(ctx->db, p, B8_SQL_CONTACTS_PAGE, args, &rows) != APR_SUCCESS) {
            return b8_fail_db(err, ctx->db);
        }
    }
    items = cJSON_CreateArray();
    for (int i = 0; i < rows->nrows; i++) {
        const char *tag_name = B8_GET(rows, i, CONTACT_TAGGED, tag);
        if (!cur_id || strcmp(cur_id, B8_GET(rows, i, CONTACT_TAGGED, id)) != 0) {
            cur_tags = cJSON_CreateArray();
            cur = contact_json(contact_from_row(p, rows, i), cur_tags);
            cur_id = B8_GET(rows, i, CONTACT_TAGGED, id);
            cJSON_AddItemToArray(items, cur);
        }
        if (tag_name) {
            cJSON_AddItemToArray(cur_tags, cJSON_CreateString(tag_name));
        }
    }
    *out = b8_json_pool_owned(ctx->pool, b8_list_envelope(items, total ? atol(total) : 0, pg));
    return B8_OK;
}

static apr_status_t load(b8_ctx *ctx, b8_sql_id q, const char *arg, contact **out)
{
    b8_rows *rows;
    const char *args[] = { arg };
    apr_status_t rv = b8_db_select(ctx->db, ctx->pool, q, args, &rows);
    if (rv == APR_SUCCESS) {
        *out = rows->nrows ? contact_from_row(ctx->pool, rows, 0) : NULL;
    }
    return rv;
}

static apr_status_t tag_names(b8_db *db, apr_pool_t *p, const char *id, b8_rows **rows)
{
    const char *args[] = { id };
    return b8_db_select(db, p, B8_SQL_CONTACT_TAG_NAMES, args, rows);
}

b8_errkind b8_contact_get(b8_ctx *ctx, const char *id, cJSON **out, b8_err *err)
{
    contact *c;
    b8_rows *rows;
    cJSON *tags;

    if (load(ctx, B8_SQL_CONTACT_BY_ID, id, &c) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if (!c) {
        return b8_fail(err, B8_ENOTFOUND, "no such contact");
    }
    if (tag_names(ctx->db, ctx->pool, id, &rows) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    tags = cJSON_CreateArray();
    for (int i = 0; i < rows->nrows; i++) {
        cJSON_AddItemToArray(tags, cJSON_CreateString(B8_GET(rows, i, TAG_NAME, name)));
    }
    *out = b8_json_pool_owned(ctx->pool, contact_json(c, tags));
    return B8_OK;
}

/* --------------------------------------------------------------- writing */

/* Tag names from a JSON list or a ';'/','-separated string. */
static apr_array_header_t *tags_from(apr_pool_t *p, const cJSON *v, b8_err *err)
{
    apr_array_header_t *tags = apr_array_make(p, 4, sizeof(const char *));
    apr_array_header_t *raw = apr_array_make(p, 4, sizeof(const char *));
    const cJSON *item;

    if (cJSON_IsString(v)) {
        char *copy = apr_pstrdup(p, v->valuestring), *last = NULL;
        for (char *t = apr_strtok(copy, ";,", &last); t; t = apr_strtok(NULL, ";,", &last)) {
            if (*b8_trim(p, t)) {
                APR_ARRAY_PUSH(raw, const char *) = t;
            }
        }
    }
    else if (cJSON_IsArray(v)) {
        cJSON_ArrayForEach(item, v) {
            if (!cJSON_IsString(item)) {
                b8_field_error(err, "tags", "Tags must be a list of tag names.");
                return NULL;
            }
            APR_ARRAY_PUSH(raw, const char *) = item->valuestring;
        }
    }
    else if (!cJSON_IsNull(v)) {
        b8_field_error(err, "tags", "Tags must be a list of tag names.");
        return NULL;
    }
    for (int i = 0; i < raw->nelts; i++) {
        const char *name, *why = b8_tag_name_invalid(p, APR_ARRAY_IDX(raw, i, const char *), &name);
        if (why) {
            b8_field_error(err, "tags", apr_psprintf(p, "The tag \"%s\" %s.", name, why));
            return NULL;
        }
        APR_ARRAY_PUSH(tags, const char *) = name;
    }
    return tags;
}

/* Applies the fields present in `in` onto c, collecting field errors. */
static void contact_apply(b8_ctx *ctx, contact *c, const cJSON *in, b8_err *err)
{
    apr_pool_t *p = ctx->pool;
    const cJSON *v;

    if ((v = cJSON_GetObjectItemCaseSensitive(in, "name")) != NULL) {
        if (!cJSON_IsString(v) && !cJSON_IsNull(v)) {
            b8_field_error(err, "name", "The name must be text.");
        }
        else {
            c->name = cJSON_IsString(v) ? b8_trim(p, v->valuestring) : "";
            if (!b8_utf8_valid(c->name, strlen(c->name))) {
                b8_field_error(err, "name", "The name is not valid UTF-8 text.");
            }
            else if (b8_utf8_length(c->name) > B8_NAME_MAX_CHARS) {
                b8_field_error(err, "name", "The name is too long (at most 200 characters).");
            }
        }
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(in, "phone")) != NULL) {
        const char *raw = cJSON_IsString(v) ? b8_trim(p, v->valuestring) : "";
        const char *why = NULL, *e164;
        if (!*raw) {
            b8_field_error(err, "phone", "A phone number is required.");
        }
        else if (!(e164 = b8_phone_e164(p, raw, b8_ctx_setting(ctx, B8_SET_DEFAULT_COUNTRY),
                                        &why))) {
            b8_field_error(err, "phone", apr_psprintf(p, "This is not a valid phone number: %s.",
                                                      why));
        }
        else {
            c->phone = e164;
            c->phone_key = e164 + 1;
        }
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(in, "tags")) != NULL) {
        c->tags = tags_from(p, v, err);
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(in, "opted_out")) != NULL) {
        int b = b8_bool_value(v);
        if (b < 0) {
            b8_field_error(err, "opted_out", "Opted out must be true or false.");
        }
        else if (b != c->opted_out) {
            c->opted_out = b;
            c->opted_out_at = b ? b8_now_iso(p) : NULL;
        }
    }
}

/* Replaces the contact's tags (inside a transaction). */
static apr_status_t set_tags(b8_ctx *ctx, const char *id, const apr_array_header_t *tags)
{
    const char *clear[] = { id };
    apr_status_t rv = b8_db_exec(ctx->db, ctx->pool, B8_SQL_CONTACT_TAGS_CLEAR, clear, NULL);

    for (int i = 0; rv == APR_SUCCESS && i < tags->nelts; i++) {
        const char *tag_id = NULL;
        rv = b8_tag_ensure(ctx->db, ctx->pool, APR_ARRAY_IDX(tags, i, const char *), &tag_id);
        if (rv == APR_SUCCESS && tag_id) {
            const char *args[] = { id, tag_id };
            rv = b8_db_exec(ctx->db, ctx->pool, B8_SQL_CONTACT_TAG_ADD, args, NULL);
        }
    }
    return rv;
}

static b8_errkind phone_taken(b8_ctx *ctx, b8_err *err)
{
    b8_db_rollback(ctx->db);
    b8_field_error(err, "phone", "Another contact already has this phone number.");
    return err->kind;
}

b8_errkind b8_contact_create(b8_ctx *ctx, const cJSON *in, cJSON **out, b8_err *err)
{
    contact *c = apr_pcalloc(ctx->pool, sizeof(*c));
    const char *now = b8_now_iso(ctx->pool), *id = NULL;

    if (!cJSON_IsObject(in)) {
        return b8_fail(err, B8_EINVALID, "expected a JSON object");
    }
    c->name = "";
    if (!cJSON_GetObjectItemCaseSensitive(in, "phone")) {
        b8_field_error(err, "phone", "A phone number is required.");
    }
    contact_apply(ctx, c, in, err);
    if (err->kind != B8_OK) {
        return err->kind;
    }
    if (b8_db_begin(ctx->db) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    {
        const char *args[] = { c->name, c->phone, c->phone_key, c->opted_out ? "1" : "0",
                               c->opted_out_at, now, now };
        if (b8_db_value(ctx->db, ctx->pool, B8_SQL_CONTACT_INSERT, args, &id) != APR_SUCCESS) {
            b8_db_rollback(ctx->db);
            return b8_fail_db(err, ctx->db);
        }
    }
    if (!id) {
        return phone_taken(ctx, err);
    }
    if ((c->tags && set_tags(ctx, id, c->tags) != APR_SUCCESS)
        || b8_db_commit(ctx->db) != APR_SUCCESS) {
        b8_db_rollback(ctx->db);
        return b8_fail_db(err, ctx->db);
    }
    return b8_contact_get(ctx, id, out, err);
}

b8_errkind b8_contact_update(b8_ctx *ctx, const char *id, const cJSON *in, cJSON **out,
                             b8_err *err)
{
    contact *c, *other = NULL;

    if (!cJSON_IsObject(in)) {
        return b8_fail(err, B8_EINVALID, "expected a JSON object");
    }
    if (b8_db_begin(ctx->db) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    if (load(ctx, B8_SQL_CONTACT_BY_ID, id, &c) != APR_SUCCESS) {
        b8_db_rollback(ctx->db);
        return b8_fail_db(err, ctx->db);
    }
    if (!c) {
        b8_db_rollback(ctx->db);
        return b8_fail(err, B8_ENOTFOUND, "no such contact");
    }
    c->phone_key = c->phone + (c->phone[0] == '+' ? 1 : 0);
    contact_apply(ctx, c, in, err);
    if (err->kind != B8_OK) {
        b8_db_rollback(ctx->db);
        return err->kind;
    }
    if (load(ctx, B8_SQL_CONTACT_BY_PHONE, c->phone, &other) != APR_SUCCESS) {
        b8_db_rollback(ctx->db);
        return b8_fail_db(err, ctx->db);
    }
    if (other && strcmp(other->id, c->id) != 0) {
        return phone_taken(ctx, err);
    }
    {
        const char *args[] = { c->name, c->phone, c->phone_key, c->opted_out ? "1" : "0",
                               c->opted_out_at, b8_now_iso(ctx->pool), c->id };
        if (b8_db_exec(ctx->db, ctx->pool, B8_SQL_CONTACT_UPDATE, args, NULL) != APR_SUCCESS
            || (c->tags && set_tags(ctx, id, c->tags) != APR_SUCCESS)
            || b8_db_commit(ctx->db) != APR_SUCCESS) {
            b8_db_rollback(ctx->db);
            return b8_fail_db(err, ctx->db);
        }
    }
    return b8_contact_get(ctx, id, out, err);
}

b8_errkind b8_contact_delete(b8_ctx *ctx, const char *id, b8_err *err)
{
    const char *args[] = { id };
    int n = 0;
    if (b8_db_exec(ctx->db, ctx->pool, B8_SQL_CONTACT_DELETE, args, &n) != APR_SUCCESS) {
        return b8_fail_db(err, ctx->db);
    }
    return n ? B8_OK : b8_fail(err, B8_ENOTFOUND, "no such contact");
}

/* ---------------------------------------------------------------- import */

typedef struct {
    b8_ctx *ctx;
    const char *country;
    b8_import_report rep;
    b8_line_cursor lines;
    apr_hash_t *seen;      /* E.164 numbers met in this file */
    apr_hash_t *tag_ids;   /* lowercase name -> id, for this import */
    int name_col, phone_col, tags_col;
} contact_import;

static const char *cell_at(const apr_array_header_t *cells, int i)
{
    return i >= 0 && i < cells->nelts ? APR_ARRAY_IDX(cells, i, const char *) : "";
}

/* The first row: a header (names the columns) or data. 1 = skip it. */
static int import_header(contact_import *im, apr_pool_t *p, const apr_array_header_t *cells)
{
    int header = 0;
    im->name_col = im->phone_col = im->tags_col = -1;
    for (int i = 0; i < cells->nelts; i++) {
        const char *c = APR_ARRAY_IDX(cells, i, const char *);
        if (im->phone_col < 0 && b8_is_phone_header(c)) {
            im->phone_col = i;
            header = 1;
        }
        else if (im->name_col < 0 && b8_header_is(c, "name")) {
            im->name_col = i;
            header = 1;
        }
        else if (im->tags_col < 0 && (b8_header_is(c, "tags") || b8_header_is(c, "tag"))) {
            im->tags_col = i;
            header = 1;
        }
    }
    if (header) {
        return 1;
    }
    im->name_col = 0;
    im->phone_col = 1;
    im->tags_col = 2;
    return !b8_phone_e164(p, cell_at(cells, 1), im->country, NULL)
           && b8_row_looks_like_header(cells);
}

static apr_status_t import_tag_id(contact_import *im, apr_pool_t *p, const char *name,
                                  const char **id)
{
    const char *key = apr_pstrdup(p, name);
    apr_status_t rv;

    for (char *k = (char *)key; *k; k++) {
        *k = (char)tolower((unsigned char)*k);
    }
    if ((*id = apr_hash_get(im->tag_ids, key, APR_HASH_KEY_STRING)) != NULL) {
        return APR_SUCCESS;
    }
    rv = b8_tag_ensure(im->ctx->db, p, name, id);
    if (rv == APR_SUCCESS && *id) {
        *id = apr_pstrdup(im->ctx->pool, *id);
        apr_hash_set(im->tag_ids, apr_pstrdup(im->ctx->pool, key), APR_HASH_KEY_STRING, *id);
    }
    return rv;
}

/* Adds the tags the contact does not have yet; *added counts them. */
static apr_status_t import_tags(contact_import *im, apr_pool_t *p, const char *contact_id,
                                const apr_array_header_t *tags, int is_new, int *added)
{
    b8_rows *have = NULL;
    apr_status_t rv;

    *added = 0;
    if (!tags->nelts) {
        return APR_SUCCESS;
    }
    if (!is_new && (rv = tag_names(im->ctx->db, p, contact_id, &have)) != APR_SUCCESS) {
        return rv;
    }
    for (int i = 0; i < tags->nelts; i++) {
        const char *name = APR_ARRAY_IDX(tags, i, const char *), *tag_id = NULL;
        int known = 0;
        for (int k = 0; have && k < have->nrows && !known; k++) {
            known = strcasecmp(B8_GET(have, k, TAG_NAME, name), name) == 0;
        }
        if (known) {
            continue;
        }
        if ((rv = import_tag_id(im, p, name, &tag_id)) != APR_SUCCESS) {
            return rv;
        }
        {
            const char *args[] = { contact_id, tag_id };
            int n = 0;
            if ((rv = b8_db_exec(im->ctx->db, p, B8_SQL_CONTACT_TAG_ADD, args, &n)) != APR_SUCCESS) {
                return rv;
            }
            *added += n;
        }
    }
    return APR_SUCCESS;
}

/* One data row. Returns a database failure; bad rows go to the report. */
static apr_status_t import_row(contact_import *im, apr_pool_t *p, int line,
                               const apr_array_header_t *cells)
{
    const char *name = b8_trim(p, cell_at(cells, im->name_col));
    const char *raw = cell_at(cells, im->phone_col), *why = NULL, *e164;
    const char *now = b8_now_iso(p);
    apr_array_header_t *tags;
    b8_err terr = B8_ERR_INIT(p);
    cJSON tv;
    b8_rows *rows;
    apr_status_t rv;
    int added_tags = 0;

    if (!*raw) {
        b8_report_invalid(&im->rep, line, b8_line_cursor_text(&im->lines, p, line),
                          "no phone number");
        return APR_SUCCESS;
    }
    if (!(e164 = b8_phone_e164(p, raw, im->country, &why))) {
        b8_report_invalid(&im->rep, line, raw,
                          apr_pstrcat(p, "not a valid phone number: ", why, NULL));
        return APR_SUCCESS;
    }
    if (!b8_utf8_valid(name, strlen(name)) || b8_utf8_length(name) > B8_NAME_MAX_CHARS) {
        b8_report_invalid(&im->rep, line, name,
                          "the name is not valid text or longer than 200 characters");
        return APR_SUCCESS;
    }
    memset(&tv, 0, sizeof(tv));
    tv.type = cJSON_String;
    tv.valuestring = (char *)cell_at(cells, im->tags_col);
    if (!(tags = tags_from(p, &tv, &terr))) {
        b8_report_invalid(&im->rep, line, tv.valuestring,
                          cJSON_GetObjectItemCaseSensitive(terr.fields, "tags")->valuestring);
        return APR_SUCCESS;
    }
    if (apr_hash_get(im->seen, e164, APR_HASH_KEY_STRING)) {
        im->rep.duplicates++;
        return APR_SUCCESS;
    }
    apr_hash_set(im->seen, apr_pstrdup(im->ctx->pool, e164), APR_HASH_KEY_STRING, "");
    {
        const char *args[] = { e164 };
        if ((rv = b8_db_select(im->ctx->db, p, B8_SQL_CONTACT_BY_PHONE, args, &rows))
            != APR_SUCCESS) {
            return rv;
        }
    }
    if (!rows->nrows) {
        const char *id = NULL;
        const char *args[] = { name, e164, e164 + 1, "0", NULL, now, now };
        if ((rv = b8_db_value(im->ctx->db, p, B8_SQL_CONTACT_INSERT, args, &id)) != APR_SUCCESS
            || (id && (rv = import_tags(im, p, id, tags, 1, &added_tags)) != APR_SUCCESS)) {
            return rv;
        }
        /* No id: another writer added the phone just now (PostgreSQL). */
        if (id) {
            im->rep.added++;
        }
        else {
            im->rep.duplicates++;
        }
        return APR_SUCCESS;
    }
    {
        contact *c = contact_from_row(p, rows, 0);
        int renamed = *name && strcmp(name, c->name) != 0;
        if (renamed) {
            const char *args[] = { name, c->phone, e164 + 1, c->opted_out ? "1" : "0",
                                   c->opted_out_at, now, c->id };
            if ((rv = b8_db_exec(im->ctx->db, p, B8_SQL_CONTACT_UPDATE, args, NULL))
                != APR_SUCCESS) {
                return rv;
            }
        }
        if ((rv = import_tags(im, p, c->id, tags, 0, &added_tags)) != APR_SUCCESS) {
            return rv;
        }
        if (renamed || added_tags) {
            im->rep.updated++;
        }
        else {
            im->rep.duplicates++;
        }
    }
    return APR_SUCCESS;
}

b8_errkind b8_contacts_import(b8_ctx *ctx, const char *csv, apr_size_t len, cJSON **report,
                              b8_err *err)
{
    contact_import im;
    b8_db_chunk tx;
    const char *encoding;
    b8_csv *reader;
    apr_pool_t *cp;
    apr_status_t rv = APR_SUCCESS;
    int started = 0, done = 0;

    /* A file that is not UTF-8 is read as Windows-1252 (what Excel writes). */
    csv = b8_text_as_utf8(ctx->pool, csv, len, &len, &encoding);
    reader = b8_csv_open(ctx->pool, csv, len);

    memset(&im, 0, sizeof(im));
    im.ctx = ctx;
    im.country = b8_ctx_setting(ctx, B8_SET_DEFAULT_COUNTRY);
    im.seen = apr_hash_make(ctx->pool);
    im.tag_ids = apr_hash_make(ctx->pool);
    b8_line_cursor_init(&im.lines, csv, len);
    b8_report_init(&im.rep, ctx->pool);
    apr_pool_create(&cp, ctx->pool);

    /* One transaction per chunk of rows: the write lock is never held long. */
    rv = b8_db_chunk_begin(&tx, ctx->db, B8_IMPORT_CHUNK);
    while (!done && rv == APR_SUCCESS) {
        apr_array_header_t *cells = NULL;
        const char *cerr = NULL;
        int line = 0, fresh = 0, header = 0;
        int rc = b8_csv_next(reader, cp, &cells, &line, &cerr);
        if (rc == 0) {
            done = 1;
            break;
        }
        if (rc > 0 && !started) {
            header = import_header(&im, cp, cells);
        }
        started = 1;
        if (rc < 0) {
            b8_report_invalid(&im.rep, line, b8_line_cursor_text(&im.lines, cp, line), cerr);
        }
        else if (!header) {
            rv = import_row(&im, cp, line, cells);
        }
        if (rv == APR_SUCCESS && (rv = b8_db_chunk_step(&tx, &fresh)) == APR_SUCCESS && fresh) {
            apr_pool_clear(cp);
        }
    }
    if (rv == APR_SUCCESS) {
        rv = b8_db_chunk_end(&tx);
    }
    if (rv != APR_SUCCESS) {
        b8_db_rollback(ctx->db);
        B8_LOG(B8_LOG_ERR, rv, "B8-3001: contacts import stopped: %s", b8_db_error(ctx->db));
        return b8_fail_db(err, ctx->db);
    }
    *report = b8_report_json(ctx->pool, &im.rep, 1, 0);
    cJSON_AddStringToObject(*report, "encoding", encoding);
    return B8_OK;
}
