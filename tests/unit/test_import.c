/* Import helpers: the pasted-numbers reader (phone column, headers, line
 * numbers, broken lines), quoted lines, LIKE patterns and the report. */
#include "b8_test.h"
#include "b8_import.h"
#include "b8_util.h"
#include "b8_core.h"
#include "b8_settings.h"

#include <apr_strings.h>

typedef struct { int line; const char *e164, *name, *value, *reason; } got;

/* Reads everything; returns the number of records. */
static int read_all(apr_pool_t *p, const char *text, got *out, int max)
{
    b8_numbers *n = b8_numbers_open(p, text, strlen(text), "63");
    b8_number num;
    int i = 0;
    while (b8_numbers_next(n, p, &num)) {
        if (i < max) {
            out[i].line = num.line;
            out[i].e164 = num.e164;
            out[i].name = num.name;
            out[i].value = num.value;
            out[i].reason = num.reason;
        }
        i++;
    }
    return i;
}

B8_TEST(test_numbers_plain_list)
{
    got g[8];
    int n = read_all(p, "+63 917 123 4567\n0917-123-4568\n\n9171234569\n639171234570\n", g, 8);
    B8_CHECK_INT(n, 4);
    B8_CHECK_STR(g[0].e164, "+639171234567");
    B8_CHECK_INT(g[0].line, 1);
    B8_CHECK_STR(g[1].e164, "+639171234568");
    B8_CHECK_INT(g[2].line, 4);   /* the blank line counts */
    B8_CHECK_STR(g[2].e164, "+639171234569");
    B8_CHECK_STR(g[3].e164, "+639171234570");
    B8_CHECK(g[0].name == NULL);
}

B8_TEST(test_numbers_header_picks_phone_and_name_columns)
{
    got g[4];
    int n = read_all(p, "Name,Email,MOBILE\r\nAna,a@x.ph,0917 123 4567\r\nBo,,12\r\n", g, 4);
    B8_CHECK_INT(n, 2);
    B8_CHECK_STR(g[0].e164, "+639171234567");
    B8_CHECK_STR(g[0].name, "Ana");
    B8_CHECK_INT(g[0].line, 2);
    B8_CHECK(g[1].e164 == NULL);
    B8_CHECK_STR(g[1].value, "12");
    B8_CHECK_STR(g[1].reason, "not a valid phone number: too short");
    B8_CHECK_INT(g[1].line, 3);
}

B8_TEST(test_numbers_header_like_first_line_is_skipped)
{
    got g[4];
    /* No phone/mobile/number header, but no digits: a title row. */
    int n = read_all(p, "\xEF\xBB\xBF" "Customer list\n0917 123 4567\n", g, 4);
    B8_CHECK_INT(n, 1);
    B8_CHECK_STR(g[0].e164, "+639171234567");
    B8_CHECK_INT(g[0].line, 2);
}

B8_TEST(test_numbers_bad_first_line_with_digits_is_reported)
{
    got g[4];
    int n = read_all(p, "0917 12x\n0917 123 4567\n", g, 4);
    B8_CHECK_INT(n, 2);
    B8_CHECK(g[0].e164 == NULL);
    B8_CHECK_INT(g[0].line, 1);
    B8_CHECK_STR(g[0].reason, "not a valid phone number: contains letters");
    B8_CHECK_STR(g[1].e164, "+639171234567");
}

B8_TEST(test_numbers_broken_quote_is_reported_and_reading_goes_on)
{
    got g[4];
    int n = read_all(p, "phone\n\"0917 123 4567\n0917 123 4568\n", g, 4);
    B8_CHECK_INT(n, 2);
    B8_CHECK(g[0].e164 == NULL);
    B8_CHECK_INT(g[0].line, 2);
    B8_CHECK_STR(g[0].value, "\"0917 123 4567");
    B8_CHECK_STR(g[0].reason, "unterminated quoted field");
    B8_CHECK_STR(g[1].e164, "+639171234568");
    B8_CHECK_INT(g[1].line, 3);
}

B8_TEST(test_numbers_empty_phone_cell)
{
    got g[4];
    int n = read_all(p, "name,phone\nAna,\n", g, 4);
    B8_CHECK_INT(n, 1);
    B8_CHECK_STR(g[0].reason, "no phone number");
    B8_CHECK_STR(g[0].name, "Ana");
}

B8_TEST(test_line_cursor)
{
    const char *text = "\xEF\xBB\xBF" "one\r\ntwo\rthree\n\nfive";
    b8_line_cursor c;
    b8_line_cursor_init(&c, text, strlen(text));
    B8_CHECK_STR(b8_line_cursor_text(&c, p, 1), "one");
    B8_CHECK_STR(b8_line_cursor_text(&c, p, 3), "three");
    B8_CHECK_STR(b8_line_cursor_text(&c, p, 4), "");
    B8_CHECK_STR(b8_line_cursor_text(&c, p, 5), "five");
    B8_CHECK_STR(b8_line_cursor_text(&c, p, 9), "");
}

B8_TEST(test_text_shorten_keeps_characters_whole)
{
    /* "é" is two bytes: cutting at 3 must not split the second one. */
    B8_CHECK_STR(b8_text_shorten(p, "aéé", 4), "aé");
    B8_CHECK_STR(b8_text_shorten(p, "aéé", 5), "aéé");
    B8_CHECK_STR(b8_text_shorten(p, "abc", 3), "abc");
}

B8_TEST(test_like_contains_escapes_wildcards)
{
    B8_CHECK_STR(b8_like_contains(p, "Ma_ria 5%"), "%ma\\_ria 5\\%%");
    B8_CHECK_STR(b8_like_contains(p, "a\\b"), "%a\\\\b%");
    B8_CHECK(b8_like_contains(p, "") == NULL);
    B8_CHECK(b8_like_contains(p, NULL) == NULL);
}

B8_TEST(test_headers)
{
    apr_array_header_t *row = apr_array_make(p, 2, sizeof(const char *));
    B8_CHECK(b8_is_phone_header(" Phone "));
    B8_CHECK(b8_is_phone_header("NUMBER"));
    B8_CHECK(b8_is_phone_header("mobile"));
    B8_CHECK(!b8_is_phone_header("phones"));
    B8_CHECK(b8_header_is("Name", "name"));
    APR_ARRAY_PUSH(row, const char *) = "Contact";
    APR_ARRAY_PUSH(row, const char *) = "";
    B8_CHECK(b8_row_looks_like_header(row));
    APR_ARRAY_PUSH(row, const char *) = "area 2";
    B8_CHECK(!b8_row_looks_like_header(row));
}

B8_TEST(test_report_caps_the_list_but_counts_all)
{
    b8_import_report r;
    cJSON *json, *first;
    char longer[300];

    memset(longer, 'x', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    b8_report_init(&r, p);
    r.added = 2;
    for (int i = 0; i < B8_IMPORT_MAX_INVALID + 5; i++) {
        b8_report_invalid(&r, i + 1, i == 0 ? longer : "v", "why");
    }
    json = b8_report_json(p, &r, 1, 1);
    B8_CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(json, "invalid")), B8_IMPORT_MAX_INVALID);
    B8_CHECK_INT(cJSON_GetObjectItem(json, "invalid_count")->valueint, B8_IMPORT_MAX_INVALID + 5);
    B8_CHECK_INT(cJSON_GetObjectItem(json, "added")->valueint, 2);
    B8_CHECK(cJSON_GetObjectItem(json, "updated") != NULL);
    first = cJSON_GetArrayItem(cJSON_GetObjectItem(json, "invalid"), 0);
    B8_CHECK_INT(strlen(cJSON_GetObjectItem(first, "value")->valuestring), B8_IMPORT_MAX_VALUE);
    B8_CHECK_INT(cJSON_GetObjectItem(first, "line")->valueint, 1);
    /* json and its invalid list belong to p */
}

/* Uploads that are not UTF-8 are read as Windows-1252 (Excel's CSV). */
B8_TEST(test_text_as_utf8_reads_windows_1252)
{
    const char *enc = NULL, *out;
    apr_size_t n = 0;
    char all[256];

    /* Valid UTF-8 (NUL bytes too: the CSV reader reports those) stays. */
    out = b8_text_as_utf8(p, "Jos\xC3\xA9,0917\n", 11, &n, &enc);
    B8_CHECK_STR(enc, "utf-8");
    B8_CHECK_INT(n, 11);
    B8_CHECK_STR(out, "Jos\xC3\xA9,0917\n");
    out = b8_text_as_utf8(p, "a\0b", 3, &n, &enc);
    B8_CHECK_STR(enc, "utf-8");
    B8_CHECK_INT(n, 3);
    out = b8_text_as_utf8(p, NULL, 0, &n, &enc);
    B8_CHECK_STR(enc, "utf-8");
    B8_CHECK_STR(out, "");

    /* "José" as Excel saves it; smart quotes, euro sign, trademark. */
    out = b8_text_as_utf8(p, "Jos\xE9,\x93hi\x94 \x80\x99", 12, &n, &enc);
    B8_CHECK_STR(enc, "windows-1252");
    B8_CHECK_STR(out, "Jos\xC3\xA9,\xE2\x80\x9Chi\xE2\x80\x9D \xE2\x82\xAC\xE2\x84\xA2");
    B8_CHECK_INT(n, strlen(out));
    /* A UTF-8 overlong form is not UTF-8 either. */
    b8_text_as_utf8(p, "\xC0\xAF", 2, &n, &enc);
    B8_CHECK_STR(enc, "windows-1252");

    /* All 256 bytes: the result is valid UTF-8, the five undefined bytes
     * become U+FFFD, and 0xA0..0xFF are Latin-1. */
    for (int i = 0; i < 256; i++) {
        all[i] = (char)i;
    }
    out = b8_text_as_utf8(p, all, 256, &n, &enc);
    B8_CHECK_STR(enc, "windows-1252");
    B8_CHECK(memchr(out, '\0', n) == out);          /* byte 0 is kept as NUL */
    B8_CHECK(b8_utf8_valid(out + 1, n - 1));
    {
        const unsigned char undefined[] = { 0x81, 0x8D, 0x8F, 0x90, 0x9D };
        for (int i = 0; i < 5; i++) {
            char one[2] = { (char)undefined[i], 0 };
            B8_CHECK_STR(b8_text_as_utf8(p, one, 1, &n, &enc), "\xEF\xBF\xBD");
        }
        B8_CHECK_STR(b8_text_as_utf8(p, "\xFF", 1, &n, &enc), "\xC3\xBF");
        B8_CHECK_STR(b8_text_as_utf8(p, "\xA0", 1, &n, &enc), "\xC2\xA0");
        B8_CHECK_STR(b8_text_as_utf8(p, "\x9F", 1, &n, &enc), "\xC5\xB8");
        B8_CHECK_STR(b8_text_as_utf8(p, "\x8A", 1, &n, &enc), "\xC5\xA0");
    }
}

/* Text from 8x8 and OpenAI is stored and sent on: invalid bytes become U+FFFD. */
B8_TEST(test_utf8_clean)
{
    const char *ok = "Jos\xC3\xA9 \xE2\x82\xAC";
    B8_CHECK(b8_utf8_clean(p, ok) == ok);
    B8_CHECK(b8_utf8_clean(p, NULL) == NULL);
    B8_CHECK_STR(b8_utf8_clean(p, "a\xE9" "b"), "a\xEF\xBF\xBD" "b");
    B8_CHECK_STR(b8_utf8_clean(p, "\xC3"), "\xEF\xBF\xBD");
    B8_CHECK_STR(b8_utf8_clean(p, "\xED\xA0\x80x"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDx");
    B8_CHECK_STR(b8_utf8_clean(p, "\xF0\x9F\x98\x80\xFF"), "\xF0\x9F\x98\x80\xEF\xBF\xBD");
    B8_CHECK(b8_utf8_valid(b8_utf8_clean(p, "\xC0\xAF\x80\xF4\x90\x80\x80"),
                           strlen(b8_utf8_clean(p, "\xC0\xAF\x80\xF4\x90\x80\x80"))));
}

/* Ids in JSON bodies are whole numbers: 1.5 is not rounded to 2. */
B8_TEST(test_json_ids)
{
    static const char *const bad[] = { "1.5", "\"1\"", "true", "1e20", "0", "-1", "null",
                                       "[1]", "9007199254740992", NULL };
    cJSON *v;
    b8_err err = B8_ERR_INIT(p);

    for (int i = 0; bad[i]; i++) {
        v = cJSON_Parse(bad[i]);
        B8_CHECK(v != NULL);
        if (b8_json_id(p, v) != NULL) {
            fprintf(stderr, "  accepted as an id: %s\n", bad[i]);
            b8_test_checks_failed++;
        }
        cJSON_Delete(v);
    }
    v = cJSON_Parse("9007199254740991");
    B8_CHECK_STR(b8_json_id(p, v), "9007199254740991");
    cJSON_Delete(v);
    v = cJSON_Parse("42");
    B8_CHECK_STR(b8_json_id(p, v), "42");
    cJSON_Delete(v);

    v = cJSON_Parse("{\"contact_ids\": [1, 2]}");
    B8_CHECK_INT(b8_json_ids_check(p, v, "contact_ids", &err), B8_OK);
    B8_CHECK_INT(b8_json_ids_check(p, v, "absent", &err), B8_OK);
    cJSON_Delete(v);
    v = cJSON_Parse("{\"contact_ids\": [1, 1.5]}");
    B8_CHECK_INT(b8_json_ids_check(p, v, "contact_ids", &err), B8_EINVALID);
    B8_CHECK(cJSON_GetObjectItemCaseSensitive(err.fields, "contact_ids") != NULL);
    cJSON_Delete(v);
}

/* Settings (page, API and directives alike) refuse invalid UTF-8. */
B8_TEST(test_settings_refuse_invalid_utf8)
{
    const char *out = NULL;
    B8_CHECK(b8_setting_check(p, b8_setting_find("ai_persona"), "Caf\xE9", &out) != NULL);
    B8_CHECK(b8_setting_check(p, b8_setting_find("ai_persona"), "Caf\xC3\xA9", &out) == NULL);
    B8_CHECK_STR(out, "Caf\xC3\xA9");
}

B8_TEST_MAIN(B8_CASE(test_numbers_plain_list),
             B8_CASE(test_numbers_header_picks_phone_and_name_columns),
             B8_CASE(test_numbers_header_like_first_line_is_skipped),
             B8_CASE(test_numbers_bad_first_line_with_digits_is_reported),
             B8_CASE(test_numbers_broken_quote_is_reported_and_reading_goes_on),
             B8_CASE(test_numbers_empty_phone_cell),
             B8_CASE(test_line_cursor),
             B8_CASE(test_text_shorten_keeps_characters_whole),
             B8_CASE(test_like_contains_escapes_wildcards),
             B8_CASE(test_headers),
             B8_CASE(test_report_caps_the_list_but_counts_all),
             B8_CASE(test_text_as_utf8_reads_windows_1252),
             B8_CASE(test_utf8_clean), B8_CASE(test_json_ids),
             B8_CASE(test_settings_refuse_invalid_utf8))
