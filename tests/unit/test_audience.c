/* The audience resolver (b8_audience.h) on a real SQLite file: phones,
 * contacts, tags and CSV lines become recipients handed to a sink, with the
 * report the campaign and SMS answers show (duplicates, opted out, invalid
 * with line numbers), and transactions of `chunk` rows. */
#include "b8_test.h"

#include <apr_hash.h>

#include "b8_audience.h"
#include "b8_contacts.h"
#include "b8_settings.h"
#include "b8_store.h"

typedef struct {
    b8_store *st;
    b8_ctx ctx;
    const char *path;
    const char *ana, *ben;   /* contact ids: Ana opted out, Ben tagged vip with her */
} fixture;

/* What the test sink saw: "e164 name contact" per recipient. */
typedef struct {
    apr_array_header_t *rows;
    int opened;
} sink;

static apr_status_t collect(b8_audience *au, const char *e164, const char *name,
                            const char *contact_id)
{
    sink *s = au->baton;
    APR_ARRAY_PUSH(s->rows, const char *) = apr_psprintf(s->rows->pool, "%s %s %s", e164,
                                                         name ? name : "-",
                                                         contact_id ? "contact" : "-");
    au->rep.added++;
    return APR_SUCCESS;
}

static b8_errkind count_open(b8_audience *au, b8_err *err)
{
    ((sink *)au->baton)->opened++;
    return B8_OK;
}

static const char *contact(fixture *f, const char *json)
{
    cJSON *in = cJSON_Parse(json), *out = NULL;
    b8_err err = B8_ERR_INIT(f->ctx.pool);
    const char *id = NULL;

    if (b8_contact_create(&f->ctx, in, &out, &err) == B8_OK) {
        id = apr_psprintf(f->ctx.pool, "%.0f", cJSON_GetObjectItem(out, "id")->valuedouble);
    }
    cJSON_Delete(in);   /* ours; out and err.fields belong to the context's pool */
    return id;
}

static int setup(fixture *f, apr_pool_t *p)
{
    const char *err = NULL;

    memset(f, 0, sizeof(*f));
    f->path = b8_test_temp_db(p);
    if (b8_store_open(p, "sqlite3", f->path, 2, &f->st, &err) != APR_SUCCESS
        || b8_store_migrate(f->st, p, &err) != APR_SUCCESS
        || b8_db_get(f->st, p, &f->ctx.db) != APR_SUCCESS) {
        return 0;
    }
    f->ctx.pool = p;
    f->ctx.store = f->st;
    f->ctx.settings = b8_settings_make(p, NULL, NULL);
    f->ana = contact(f, "{\"name\": \"Ana\", \"phone\": \"+639170000001\", \"opted_out\": true,"
                        " \"tags\": [\"vip\"]}");
    f->ben = contact(f, "{\"name\": \"Ben\", \"phone\": \"+639170000002\", \"tags\": [\"vip\"]}");
    return f->ana && f->ben;
}

static void start(fixture *f, b8_audience *au, sink *s, int dedupe, int chunk, b8_err *err)
{
    memset(au, 0, sizeof(*au));
    memset(s, 0, sizeof(*s));
    s->rows = apr_array_make(f->ctx.pool, 8, sizeof(const char *));
    au->add = collect;
    au->opened = count_open;
    au->baton = s;
    au->chunk = chunk;
    au->dedupe = dedupe;
    B8_CHECK_INT(b8_audience_start(au, &f->ctx, err), B8_OK);
}

/* phones, then Ben by id, then the tag vip (Ana and Ben). */
static void resolve_all(fixture *f, b8_audience *au)
{
    cJSON *phones = cJSON_Parse("[\"0917 000 0001\", \"+639170000001\", \"abc\", 7,"
                                " \"+639170000003\"]");
    cJSON *ids = cJSON_CreateArray(), *tags = cJSON_Parse("[\"vip\", \"nope\"]");
    b8_err err = B8_ERR_INIT(f->ctx.pool);

    cJSON_AddItemToArray(ids, cJSON_CreateNumber(atof(f->ben)));
    B8_CHECK(b8_audience_phones(au, b8_audience_phone_entries(f->ctx.pool, phones, &err))
             == APR_SUCCESS);
    B8_CHECK(b8_audience_contacts(au, ids) == APR_SUCCESS);
    B8_CHECK(b8_audience_tags(au, tags) == APR_SUCCESS);
    cJSON_Delete(phones);
    cJSON_Delete(ids);
    cJSON_Delete(tags);
}

static const char *invalid_at(const b8_audience *au, int i, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetArrayItem(au->rep.invalid, i), key);
    return cJSON_IsString(v) ? v->valuestring : cJSON_IsNumber(v) ? "number" : NULL;
}

B8_TEST(test_dedupe_before_opt_out)
{
    fixture f;
    b8_audience au;
    sink s;
    b8_err err = B8_ERR_INIT(p);

    B8_CHECK(setup(&f, p));
    start(&f, &au, &s, 1, 1000, &err);
    resolve_all(&f, &au);
    /* Ana's number twice: opted out once, then a duplicate; Ben once. */
    B8_CHECK_INT(s.rows->nelts, 2);
    B8_CHECK_STR(APR_ARRAY_IDX(s.rows, 0, const char *), "+639170000003 - -");
    B8_CHECK_STR(APR_ARRAY_IDX(s.rows, 1, const char *), "+639170000002 Ben contact");
    B8_CHECK_INT(au.rep.opted_out, 1);
    B8_CHECK_INT(au.rep.duplicates, 3);
    B8_CHECK_INT(au.rep.invalid_count, 3);
    B8_CHECK_STR(invalid_at(&au, 0, "value"), "abc");
    B8_CHECK(strncmp(invalid_at(&au, 0, "reason"), "not a valid phone number: ", 26) == 0);
    B8_CHECK_STR(invalid_at(&au, 1, "value"), "7");
    B8_CHECK_STR(invalid_at(&au, 1, "reason"), "not a valid phone number: not text");
    B8_CHECK_STR(invalid_at(&au, 2, "value"), "nope");
    B8_CHECK_STR(invalid_at(&au, 2, "reason"), "no such tag");
    B8_CHECK(invalid_at(&au, 0, "line") == NULL);
    B8_CHECK_INT(b8_audience_finish(&au, &err), B8_OK);
    b8_test_remove_db(p, f.path);
}

B8_TEST(test_without_dedupe_the_sink_sees_repeats)
{
    fixture f;
    b8_audience au;
    sink s;
    b8_err err = B8_ERR_INIT(p);

    B8_CHECK(setup(&f, p));
    start(&f, &au, &s, 0, 1000, &err);
    resolve_all(&f, &au);
    /* Opt-out first, every time; the sink (a UNIQUE index) finds repeats. */
    B8_CHECK_INT(au.rep.opted_out, 3);
    B8_CHECK_INT(au.rep.duplicates, 0);
    B8_CHECK_INT(s.rows->nelts, 3);
    B8_CHECK_STR(APR_ARRAY_IDX(s.rows, 2, const char *), "+639170000002 Ben contact");
    B8_CHECK_INT(b8_audience_finish(&au, &err), B8_OK);
    b8_test_remove_db(p, f.path);
}

B8_TEST(test_csv_lines_and_chunks)
{
    static const char csv[] = "phone,name\n+639170000004,Cy\nbad\n+639170000002,\n"
                              "+639170000001,Ana B\n";
    fixture f;
    b8_audience au;
    sink s;
    b8_err err = B8_ERR_INIT(p);
    const char *encoding = NULL;

    B8_CHECK(setup(&f, p));
    start(&f, &au, &s, 0, 2, &err);
    B8_CHECK(b8_audience_csv(&au, csv, sizeof(csv) - 1, &encoding) == APR_SUCCESS);
    B8_CHECK_STR(encoding, "utf-8");
    /* A name in the file wins; else the contact's. */
    B8_CHECK_INT(s.rows->nelts, 2);
    B8_CHECK_STR(APR_ARRAY_IDX(s.rows, 0, const char *), "+639170000004 Cy -");
    B8_CHECK_STR(APR_ARRAY_IDX(s.rows, 1, const char *), "+639170000002 Ben contact");
    B8_CHECK_INT(au.rep.opted_out, 1);
    B8_CHECK_INT(au.rep.invalid_count, 1);
    B8_CHECK_STR(invalid_at(&au, 0, "value"), "bad");
    B8_CHECK_INT(cJSON_GetObjectItem(cJSON_GetArrayItem(au.rep.invalid, 0), "line")->valueint, 3);
    /* Four lines in transactions of two: the first and one more were opened
     * (the fourth step commits and opens a third). */
    B8_CHECK_INT(s.opened, 3);
    B8_CHECK_INT(b8_audience_finish(&au, &err), B8_OK);
    b8_test_remove_db(p, f.path);
}

B8_TEST_MAIN(B8_CASE(test_dedupe_before_opt_out),
             B8_CASE(test_without_dedupe_the_sink_sees_repeats),
             B8_CASE(test_csv_lines_and_chunks))
