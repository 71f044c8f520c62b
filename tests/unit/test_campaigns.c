/* Campaign rules without a database: field checks, {name}/{phone}
 * expansion, the SMS counter's JSON; tag names and form booleans. */
#include "b8_test.h"
#include "b8_campaigns.h"
#include "b8_sms.h"
#include "b8_contacts.h"
#include "b8_tags.h"
#include "b8_sql.h"

#include <apr_strings.h>

static b8_campaign text_campaign(void)
{
    b8_campaign c;
    memset(&c, 0, sizeof(c));
    c.name = "Launch";
    c.type = "text";
    c.body = "Hi {name}";
    c.state = "draft";
    return c;
}

/* The field message of a check, or NULL when the field passed. */
static const char *field(apr_pool_t *p, const b8_campaign *c, const char *name)
{
    b8_err err = B8_ERR_INIT(p);
    b8_campaign_check(p, c, &err);
    if (err.fields && cJSON_GetObjectItem(err.fields, name)) {
        return cJSON_GetObjectItem(err.fields, name)->valuestring;   /* fields belong to p */
    }
    return NULL;
}

static int valid(apr_pool_t *p, const b8_campaign *c)
{
    b8_err err = B8_ERR_INIT(p);
    return b8_campaign_check(p, c, &err) == B8_OK;
}

static char *repeat(apr_pool_t *p, const char *unit, int n)
{
    size_t len = strlen(unit);
    char *s = apr_palloc(p, len * (size_t)n + 1);
    for (int i = 0; i < n; i++) {
        memcpy(s + len * (size_t)i, unit, len);
    }
    s[len * (size_t)n] = '\0';
    return s;
}

B8_TEST(test_check_text)
{
    b8_campaign c = text_campaign();
    B8_CHECK(valid(p, &c));
    c.name = "";
    B8_CHECK_STR(field(p, &c, "name"), "Give the campaign a name.");
    c = text_campaign();
    c.body = NULL;
    B8_CHECK_STR(field(p, &c, "body"), "A text message needs a message body.");
    c.body = repeat(p, "é", 1000);      /* characters, not bytes */
    B8_CHECK(valid(p, &c));
    c.body = repeat(p, "a", 1001);
    B8_CHECK_STR(field(p, &c, "body"), "The message has 1001 characters; Viber allows at most "
                 "1,000.");
    c = text_campaign();
    c.type = "sticker";
    B8_CHECK(field(p, &c, "type") != NULL);
}

B8_TEST(test_check_media)
{
    b8_campaign c = text_campaign();
    c.type = "image";
    c.body = NULL;                       /* a caption is optional */
    B8_CHECK_STR(field(p, &c, "url"), "This message type needs a media URL.");
    c.url = "ftp://example.com/a.jpg";
    B8_CHECK_STR(field(p, &c, "url"), "The media URL must be an http:// or https:// address.");
    c.url = "javascript:alert(1)";
    B8_CHECK(field(p, &c, "url") != NULL);
    c.url = "https://example.com/a.jpg";
    B8_CHECK(valid(p, &c));
    c.type = "video";
    B8_CHECK(field(p, &c, "thumbnail_url") != NULL);
    B8_CHECK(field(p, &c, "file_size") != NULL);
    B8_CHECK(field(p, &c, "duration") != NULL);
    c.thumbnail_url = "https://example.com/t.jpg";
    c.file_size = "1048576";
    c.duration = "0";
    B8_CHECK(field(p, &c, "duration") != NULL);
    c.duration = "30";
    B8_CHECK(valid(p, &c));
    c.file_size = "209715201";           /* over 200 MB */
    B8_CHECK(field(p, &c, "file_size") != NULL);
    c.type = "audio";                    /* video-only requirements do not apply */
    c.file_size = NULL;
    c.duration = NULL;
    c.thumbnail_url = NULL;
    B8_CHECK(valid(p, &c));
}

B8_TEST(test_check_button)
{
    b8_campaign c = text_campaign();
    c.button_caption = "Order now";
    B8_CHECK_STR(field(p, &c, "button_url"), "A button needs a URL (or remove its caption).");
    c.button_url = "https://blucoffee.ph/order";
    B8_CHECK(valid(p, &c));
    c.button_caption = repeat(p, "b", 31);
    B8_CHECK(field(p, &c, "button_caption") != NULL);
    c.button_caption = NULL;
    B8_CHECK(field(p, &c, "button_caption") != NULL);
    c = text_campaign();
    c.type = "file";
    c.url = "https://example.com/menu.pdf";
    c.button_caption = "Open";
    c.button_url = "https://example.com";
    B8_CHECK_STR(field(p, &c, "button_caption"), "Only text, image and video messages can have a "
                 "button.");
}

/* 8x8's shapes: a button comes with text; a file (and audio, sent as a
 * file) is the file alone; only a video has a size and a duration. */
B8_TEST(test_check_viber_shapes)
{
    b8_campaign c = text_campaign();
    c.type = "image";
    c.url = "https://example.com/a.jpg";
    c.body = NULL;
    c.button_caption = "Order";
    c.button_url = "https://example.com/o";
    B8_CHECK_STR(field(p, &c, "body"), "A message with a button needs a message body.");
    c.body = "New beans";
    B8_CHECK(valid(p, &c));
    c = text_campaign();
    c.type = "file";
    c.url = "https://example.com/menu.pdf";
    B8_CHECK_STR(field(p, &c, "body"), "A file or audio message has no text: leave the "
                 "message empty.");
    c.body = NULL;
    B8_CHECK(valid(p, &c));
    c.type = "audio";
    c.file_size = "1000";
    c.duration = "5";
    B8_CHECK_STR(field(p, &c, "file_size"), "Only a video message has a file size.");
    B8_CHECK_STR(field(p, &c, "duration"), "Only a video message has a duration.");
    c.file_size = c.duration = NULL;
    B8_CHECK(valid(p, &c));
}

B8_TEST(test_check_fallback_after)
{
    b8_campaign c = text_campaign();
    c.fallback_text = "Hi";
    c.fallback_after = "60";
    B8_CHECK(valid(p, &c));
    c.fallback_after = "10";
    B8_CHECK(valid(p, &c));
    c.fallback_after = "86400";
    B8_CHECK(valid(p, &c));
    c.fallback_after = "9";
    B8_CHECK_STR(field(p, &c, "fallback_after"), "The SMS fallback waits from 10 to 86400 "
                 "seconds (one day).");
    c.fallback_after = "86401";
    B8_CHECK(field(p, &c, "fallback_after") != NULL);
    c.fallback_after = "1.5";
    B8_CHECK(field(p, &c, "fallback_after") != NULL);
}

B8_TEST(test_check_fallback_parts)
{
    b8_campaign c = text_campaign();
    c.fallback_text = repeat(p, "a", 153 * 10);
    B8_CHECK(valid(p, &c));
    c.fallback_text = repeat(p, "a", 153 * 10 + 1);
    B8_CHECK_STR(field(p, &c, "fallback_text"), "The fallback text needs 11 SMS parts; at most 10 "
                 "are possible.");
}

B8_TEST(test_expand)
{
    B8_CHECK_STR(b8_campaign_expand(p, "Hi {name} ({phone}), {name}!", "Ana", "+639171234567"),
                 "Hi Ana (+639171234567), Ana!");
    B8_CHECK_STR(b8_campaign_expand(p, "Hi {name}.", NULL, "+63"), "Hi .");
    B8_CHECK_STR(b8_campaign_expand(p, "{nam} {phone", "A", "B"), "{nam} {phone");
    B8_CHECK_STR(b8_campaign_expand(p, "{name}", "{phone}", "X"), "{phone}");   /* no re-expansion */
    B8_CHECK(b8_campaign_expand(p, NULL, "A", "B") == NULL);
}

B8_TEST(test_sms_count_json)
{
    cJSON *o = b8_sms_count_json("Hello €");
    (void)p;
    B8_CHECK_STR(cJSON_GetObjectItem(o, "encoding")->valuestring, "GSM-7");
    B8_CHECK_INT(cJSON_GetObjectItem(o, "characters")->valueint, 7);
    B8_CHECK_INT(cJSON_GetObjectItem(o, "units")->valueint, 8);
    B8_CHECK_INT(cJSON_GetObjectItem(o, "parts")->valueint, 1);
    B8_CHECK_INT(cJSON_GetObjectItem(o, "per_part")->valueint, 160);
    cJSON_Delete(o);
    o = b8_sms_count_json("Kape ☕");
    B8_CHECK_STR(cJSON_GetObjectItem(o, "encoding")->valuestring, "UCS-2");
    cJSON_Delete(o);
    B8_CHECK(b8_sms_count_json("bad \xC3") == NULL);
}

B8_TEST(test_tag_names)
{
    const char *name;
    B8_CHECK(b8_tag_name_invalid(p, "  VIP  ", &name) == NULL);
    B8_CHECK_STR(name, "VIP");
    B8_CHECK_STR(b8_tag_name_invalid(p, " ", &name), "is empty");
    B8_CHECK(b8_tag_name_invalid(p, "a;b", &name) != NULL);
    B8_CHECK(b8_tag_name_invalid(p, "a,b", &name) != NULL);
    B8_CHECK(b8_tag_name_invalid(p, repeat(p, "t", 65), &name) != NULL);
    B8_CHECK(b8_tag_name_invalid(p, repeat(p, "ñ", 64), &name) == NULL);
}

B8_TEST(test_bool_value)
{
    cJSON *t = cJSON_CreateTrue(), *s = cJSON_CreateString("on"), *z = cJSON_CreateString(""),
          *bad = cJSON_CreateString("maybe"), *n = cJSON_CreateNumber(0);
    (void)p;
    B8_CHECK_INT(b8_bool_value(t), 1);
    B8_CHECK_INT(b8_bool_value(s), 1);
    B8_CHECK_INT(b8_bool_value(z), 0);
    B8_CHECK_INT(b8_bool_value(n), 0);
    B8_CHECK_INT(b8_bool_value(bad), -1);
    B8_CHECK_INT(b8_bool_value(NULL), -1);
    cJSON_Delete(t);
    cJSON_Delete(s);
    cJSON_Delete(z);
    cJSON_Delete(bad);
    cJSON_Delete(n);
}

/* The import's batch statements carry as many rows as it fills. */
B8_TEST(test_import_batch_statements)
{
    (void)p;
    B8_CHECK_INT(b8_sql_nargs(B8_SQL_RECIPIENT_INSERT_BATCH), 8 * B8_RECIPIENT_BATCH);
    B8_CHECK_INT(b8_sql_nargs(B8_SQL_RECIPIENT_INSERT), 8);
    B8_CHECK_INT(b8_sql_nargs(B8_SQL_RECIPIENT_CONTACTS_BATCH), B8_RECIPIENT_BATCH);
}

B8_TEST_MAIN(B8_CASE(test_import_batch_statements),
             B8_CASE(test_check_text),
             B8_CASE(test_check_media),
             B8_CASE(test_check_button),
             B8_CASE(test_check_viber_shapes),
             B8_CASE(test_check_fallback_after),
             B8_CASE(test_check_fallback_parts),
             B8_CASE(test_expand),
             B8_CASE(test_sms_count_json),
             B8_CASE(test_tag_names),
             B8_CASE(test_bool_value))
