#include "b8_test.h"
#include "b8_sms.h"

#include <apr_strings.h>

/* unit repeated n times. */
static const char *rep(apr_pool_t *p, const char *unit, int n)
{
    size_t len = strlen(unit);
    char *s = apr_palloc(p, len * (size_t)n + 1);
    for (int i = 0; i < n; i++) {
        memcpy(s + len * (size_t)i, unit, len);
    }
    s[len * (size_t)n] = '\0';
    return s;
}

static b8_sms_count count(const char *text)
{
    b8_sms_count c;
    memset(&c, 0xff, sizeof(c));
    B8_CHECK_INT(b8_sms_count_text(text, &c), 0);
    return c;
}

B8_TEST(test_sms_empty)
{
    b8_sms_count c = count("");

    (void)p;
    B8_CHECK_INT(c.encoding, B8_SMS_GSM7);
    B8_CHECK_INT(c.characters, 0);
    B8_CHECK_INT(c.units, 0);
    B8_CHECK_INT(c.parts, 0);
    B8_CHECK_INT(c.per_part, 160);
    c = count(NULL);
    B8_CHECK_INT(c.parts, 0);
}

B8_TEST(test_sms_gsm_boundaries)
{
    b8_sms_count c = count(rep(p, "a", 160));

    B8_CHECK_INT(c.encoding, B8_SMS_GSM7);
    B8_CHECK_INT(c.characters, 160);
    B8_CHECK_INT(c.units, 160);
    B8_CHECK_INT(c.parts, 1);
    B8_CHECK_INT(c.per_part, 160);

    c = count(rep(p, "a", 161));
    B8_CHECK_INT(c.parts, 2);
    B8_CHECK_INT(c.per_part, 153);
    c = count(rep(p, "a", 306));
    B8_CHECK_INT(c.parts, 2);
    c = count(rep(p, "a", 307));
    B8_CHECK_INT(c.parts, 3);
    c = count("Hello");
    B8_CHECK_INT(c.characters, 5);
    B8_CHECK_INT(c.units, 5);
    B8_CHECK_INT(c.parts, 1);
}

B8_TEST(test_sms_max_parts)
{
    b8_sms_count c = count(rep(p, "x", 1530));

    B8_CHECK_INT(c.parts, 10);
    B8_CHECK_INT(c.parts, B8_SMS_MAX_PARTS);
    c = count(rep(p, "x", 1531));
    B8_CHECK_INT(c.parts, 11);
    B8_CHECK(c.parts > B8_SMS_MAX_PARTS);
}

B8_TEST(test_sms_extension)
{
    const char *ext[] = { "^", "{", "}", "[", "]", "~", "|", "\xe2\x82\xac", "\\", "\f" };
    b8_sms_count c;

    for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
        c = count(ext[i]);
        B8_CHECK_INT(c.encoding, B8_SMS_GSM7);
        B8_CHECK_INT(c.characters, 1);
        B8_CHECK_INT(c.units, 2);
    }
    c = count("^{}[]~|\xe2\x82\xac\\");
    B8_CHECK_INT(c.encoding, B8_SMS_GSM7);
    B8_CHECK_INT(c.characters, 9);
    B8_CHECK_INT(c.units, 18);
    /* 80 euro signs = 160 septets: still one part; one more char tips it. */
    c = count(rep(p, "\xe2\x82\xac", 80));
    B8_CHECK_INT(c.units, 160);
    B8_CHECK_INT(c.parts, 1);
    c = count(apr_pstrcat(p, rep(p, "\xe2\x82\xac", 80), "a", NULL));
    B8_CHECK_INT(c.units, 161);
    B8_CHECK_INT(c.parts, 2);
}

B8_TEST(test_sms_basic_alphabet)
{
    /* The whole default alphabet, each once (no ESC): 1 septet apiece. */
    const char *all = "@\xc2\xa3$\xc2\xa5\xc3\xa8\xc3\xa9\xc3\xb9\xc3\xac\xc3\xb2\xc3\x87\n"
                      "\xc3\x98\xc3\xb8\r\xc3\x85\xc3\xa5"
                      "\xce\x94_\xce\xa6\xce\x93\xce\x9b\xce\xa9\xce\xa0\xce\xa8\xce\xa3\xce\x98\xce\x9e"
                      "\xc3\x86\xc3\xa6\xc3\x9f\xc3\x89"
                      " !\"#\xc2\xa4%&'()*+,-./0123456789:;<=>?"
                      "\xc2\xa1" "ABCDEFGHIJKLMNOPQRSTUVWXYZ\xc3\x84\xc3\x96\xc3\x91\xc3\x9c\xc2\xa7"
                      "\xc2\xbf" "abcdefghijklmnopqrstuvwxyz\xc3\xa4\xc3\xb6\xc3\xb1\xc3\xbc\xc3\xa0";
    b8_sms_count c = count(all);

    (void)p;
    B8_CHECK_INT(c.encoding, B8_SMS_GSM7);
    B8_CHECK_INT(c.characters, 127);
    B8_CHECK_INT(c.units, 127);
}

B8_TEST(test_sms_ucs2)
{
    /* One emoji (U+1F600) flips everything to UCS-2 and takes 2 units. */
    b8_sms_count c = count("Hi \xf0\x9f\x98\x80");

    B8_CHECK_INT(c.encoding, B8_SMS_UCS2);
    B8_CHECK_INT(c.characters, 4);
    B8_CHECK_INT(c.units, 5);
    B8_CHECK_INT(c.parts, 1);
    B8_CHECK_INT(c.per_part, 70);
    c = count("\xf0\x9f\x98\x80");
    B8_CHECK_INT(c.characters, 1);
    B8_CHECK_INT(c.units, 2);

    /* Characters outside GSM: backtick, tab, lowercase c-cedilla, CJK. */
    B8_CHECK_INT(count("`").encoding, B8_SMS_UCS2);
    B8_CHECK_INT(count("a\tb").encoding, B8_SMS_UCS2);
    B8_CHECK_INT(count("\xc3\xa7").encoding, B8_SMS_UCS2);
    B8_CHECK_INT(count("\xe4\xbd\xa0").encoding, B8_SMS_UCS2);

    /* Extension chars are 1 unit in UCS-2, not 2. */
    c = count("\xe2\x82\xac\xe4\xbd\xa0");
    B8_CHECK_INT(c.units, 2);

    c = count(rep(p, "\xe4\xbd\xa0", 70));
    B8_CHECK_INT(c.units, 70);
    B8_CHECK_INT(c.parts, 1);
    B8_CHECK_INT(c.per_part, 70);
    c = count(rep(p, "\xe4\xbd\xa0", 71));
    B8_CHECK_INT(c.parts, 2);
    B8_CHECK_INT(c.per_part, 67);
    c = count(rep(p, "\xe4\xbd\xa0", 134));
    B8_CHECK_INT(c.parts, 2);
    c = count(rep(p, "\xe4\xbd\xa0", 135));
    B8_CHECK_INT(c.parts, 3);
    /* 35 emoji = 70 units: one part; 36 = 72 units: two. */
    c = count(rep(p, "\xf0\x9f\x98\x80", 35));
    B8_CHECK_INT(c.characters, 35);
    B8_CHECK_INT(c.units, 70);
    B8_CHECK_INT(c.parts, 1);
    c = count(rep(p, "\xf0\x9f\x98\x80", 36));
    B8_CHECK_INT(c.parts, 2);
    /* GSM text plus one non-GSM char is counted wholly in UCS-2. */
    c = count(apr_pstrcat(p, rep(p, "a", 69), "\xe2\x80\x94", NULL));
    B8_CHECK_INT(c.units, 70);
    B8_CHECK_INT(c.parts, 1);
    c = count(apr_pstrcat(p, rep(p, "a", 70), "\xe2\x80\x94", NULL));
    B8_CHECK_INT(c.parts, 2);
}

B8_TEST(test_sms_filipino)
{
    b8_sms_count c = count("Salamat po! Ma\xc3\xb1" "ana, Para\xc3\xb1" "aque. Kumusta, Se\xc3\xb1or?");

    (void)p;
    B8_CHECK_INT(c.encoding, B8_SMS_GSM7);
    B8_CHECK_INT(c.characters, 46);
    B8_CHECK_INT(c.units, 46);
    B8_CHECK_INT(count("\xc3\x91").encoding, B8_SMS_GSM7);
}

B8_TEST(test_sms_invalid_utf8)
{
    const char *bad[] = {
        "abc\xff", "\x80", "\xc3", "ab\xc3(", "\xc0\xaf", "\xe0\x80\xaf",
        "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf0\x9f\x98", "\xf8\x88\x80\x80\x80"
    };
    b8_sms_count c;

    (void)p;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        B8_CHECK_INT(b8_sms_count_text(bad[i], &c), -1);
        B8_CHECK_INT(c.encoding, B8_SMS_UCS2);
    }
    B8_CHECK_INT(b8_sms_count_text("abc\xff", &c), -1);
    B8_CHECK_INT(c.characters, 3);
    B8_CHECK_INT(c.units, 3);
    B8_CHECK_INT(c.parts, 1);
    /* Largest valid code point and the edges around surrogates are fine. */
    B8_CHECK_INT(b8_sms_count_text("\xf4\x8f\xbf\xbf\xed\x9f\xbf\xee\x80\x80", &c), 0);
    B8_CHECK_INT(c.characters, 3);
    B8_CHECK_INT(c.units, 4);
}

B8_TEST(test_sms_encoding_name)
{
    (void)p;
    B8_CHECK_STR(b8_sms_encoding_name(B8_SMS_GSM7), "GSM-7");
    B8_CHECK_STR(b8_sms_encoding_name(B8_SMS_UCS2), "UCS-2");
}

B8_TEST(test_sms_sender)
{
    (void)p;
    B8_CHECK(b8_sms_invalid_sender("Blu Coffee") == NULL);
    B8_CHECK(b8_sms_invalid_sender("Blu Intrnal") == NULL);
    B8_CHECK(b8_sms_invalid_sender("Blu8x8") == NULL);
    B8_CHECK(b8_sms_invalid_sender("B") == NULL);
    B8_CHECK(b8_sms_invalid_sender("+639171234567") == NULL);
    B8_CHECK(b8_sms_invalid_sender("639171234567") == NULL);
    B8_CHECK(b8_sms_invalid_sender("1234567890123456") == NULL);
    B8_CHECK(b8_sms_invalid_sender("+123456789012345") == NULL);
    B8_CHECK(b8_sms_invalid_sender("2929") == NULL);

    B8_CHECK_STR(b8_sms_invalid_sender("Blu Internal"),
                 "alphanumeric sender ID too long (at most 11 characters)");
    B8_CHECK_STR(b8_sms_invalid_sender("Blu-Coffee"), "only letters, digits and spaces are allowed");
    B8_CHECK_STR(b8_sms_invalid_sender("Blu\xc3\xb1"), "only letters, digits and spaces are allowed");
    B8_CHECK_STR(b8_sms_invalid_sender(""), "empty");
    B8_CHECK_STR(b8_sms_invalid_sender(NULL), "empty");
    /* 8x8's source: at most 16 characters, '+' included. */
    B8_CHECK_STR(b8_sms_invalid_sender("12345678901234567"),
                 "numeric sender ID too long (at most 16 digits)");
    B8_CHECK_STR(b8_sms_invalid_sender("+1234567890123456"),
                 "numeric sender ID too long (at most 16 characters with the '+')");
    B8_CHECK_STR(b8_sms_invalid_sender("+"), "a sender ID starting with '+' must be all digits");
    B8_CHECK_STR(b8_sms_invalid_sender("+63 917"), "a sender ID starting with '+' must be all digits");
    B8_CHECK_STR(b8_sms_invalid_sender("+Blu"), "a sender ID starting with '+' must be all digits");
    B8_CHECK_STR(b8_sms_invalid_sender("123 456"), "alphanumeric sender ID needs at least one letter");
    B8_CHECK_STR(b8_sms_invalid_sender(" Blu"), "must not start or end with a space");
    B8_CHECK_STR(b8_sms_invalid_sender("Blu "), "must not start or end with a space");
}

/* The composer's limits: 10 parts in UCS-2 too, and a single emoji in a
 * full GSM-7 SMS turns the whole text into UCS-2 parts. */
B8_TEST(test_sms_limits_ucs2)
{
    b8_sms_count c = count(rep(p, "\xe4\xbd\xa0", 670));

    B8_CHECK_INT(c.parts, 10);
    c = count(rep(p, "\xe4\xbd\xa0", 671));
    B8_CHECK_INT(c.parts, 11);
    B8_CHECK(c.parts > B8_SMS_MAX_PARTS);
    c = count(apr_pstrcat(p, rep(p, "a", 159), "\xf0\x9f\x98\x80", NULL));
    B8_CHECK_INT(c.encoding, B8_SMS_UCS2);
    B8_CHECK_INT(c.characters, 160);
    B8_CHECK_INT(c.units, 161);
    B8_CHECK_INT(c.parts, 3);
    B8_CHECK_INT(c.per_part, 67);
}

B8_TEST_MAIN(B8_CASE(test_sms_limits_ucs2), B8_CASE(test_sms_empty), B8_CASE(test_sms_gsm_boundaries), B8_CASE(test_sms_max_parts),
             B8_CASE(test_sms_extension), B8_CASE(test_sms_basic_alphabet), B8_CASE(test_sms_ucs2),
             B8_CASE(test_sms_filipino), B8_CASE(test_sms_invalid_utf8),
             B8_CASE(test_sms_encoding_name), B8_CASE(test_sms_sender))
