#include "b8_test.h"
#include "b8_phone.h"

static const char *e164(apr_pool_t *p, const char *in)
{
    const char *why = "unset";
    const char *out = b8_phone_e164(p, in, "63", &why);
    /* why is reset on success so stale reasons never leak to the UI. */
    B8_CHECK(out ? why == NULL : why != NULL);
    return out;
}

static const char *reason(apr_pool_t *p, const char *in, const char *country)
{
    const char *why = NULL;
    const char *out = b8_phone_e164(p, in, country, &why);
    B8_CHECK(out == NULL);
    return why;
}

B8_TEST(test_ph_examples)
{
    B8_CHECK_STR(e164(p, "+63 917 123 4567"), "+639171234567");
    B8_CHECK_STR(e164(p, "0917-123-4567"), "+639171234567");
    B8_CHECK_STR(e164(p, "9171234567"), "+639171234567");
    B8_CHECK_STR(e164(p, "639171234567"), "+639171234567");
    B8_CHECK_STR(e164(p, "(0917) 123.4567"), "+639171234567");
    B8_CHECK_STR(e164(p, "+639171234567"), "+639171234567");
    B8_CHECK_STR(e164(p, "00639171234567"), "+639171234567");
    B8_CHECK_STR(e164(p, "0063 917 123 4567"), "+639171234567");
    B8_CHECK_STR(e164(p, "  +63\t917 123 4567  "), "+639171234567");
    B8_CHECK_STR(e164(p, "[0917] 123 4567"), "+639171234567");
}

B8_TEST(test_ph_landline)
{
    /* Metro Manila: 02 + 8 digits. */
    B8_CHECK_STR(e164(p, "(02) 8123-4567"), "+63281234567");
    /* A national number that starts with "63" but is too short to already
     * include the country code (Iligan area code 063). */
    B8_CHECK_STR(e164(p, "063 221 1234"), "+63632211234");
    B8_CHECK_STR(e164(p, "632211234"), "+63632211234");
}

B8_TEST(test_ph_trunk_hint)
{
    B8_CHECK_STR(e164(p, "+63 (0) 917 123 4567"), "+639171234567");
    B8_CHECK_STR(e164(p, "0063 (0)917 123 4567"), "+639171234567");
}

B8_TEST(test_ph_other_country)
{
    B8_CHECK_STR(e164(p, "+1 415 555 0100"), "+14155550100");
    B8_CHECK_STR(e164(p, "+65 9123 4567"), "+6591234567");
    B8_CHECK_STR(e164(p, "0044 20 7946 0958"), "+442079460958");
    B8_CHECK_STR(b8_phone_e164(p, "(415) 555-0100", "1", NULL), "+14155550100");
    B8_CHECK_STR(b8_phone_e164(p, "14155550100", "1", NULL), "+14155550100");
    /* NULL default country means the Philippines. */
    B8_CHECK_STR(b8_phone_e164(p, "09171234567", NULL, NULL), "+639171234567");
}

B8_TEST(test_ph_rejects)
{
    B8_CHECK_STR(reason(p, "0917-CALL-NOW", "63"), "contains letters");
    B8_CHECK_STR(reason(p, "+63 917 123 4567 ext 2", "63"), "contains letters");
    B8_CHECK_STR(reason(p, "0917#1234567", "63"), "contains invalid characters");
    B8_CHECK_STR(reason(p, "0917\xe2\x80\x93" "1234567", "63"), "contains invalid characters");
    B8_CHECK_STR(reason(p, "63+9171234567", "63"), "'+' is only allowed at the start");
    B8_CHECK_STR(reason(p, "++639171234567", "63"), "'+' is only allowed at the start");
    B8_CHECK_STR(reason(p, "12345", "63"), "too short");
    /* 5 digits + "63" is still 7 < 8. */
    B8_CHECK_STR(reason(p, "012345", "63"), "too short");
    B8_CHECK_STR(reason(p, "+1234567", "63"), "too short");
    B8_CHECK_STR(reason(p, "+", "63"), "too short");
    B8_CHECK_STR(reason(p, "+1234567890123456", "63"), "too long (E.164 allows at most 15 digits)");
    /* 14 national digits + "63" = 16. */
    B8_CHECK_STR(reason(p, "91712345678901", "63"), "too long (E.164 allows at most 15 digits)");
    B8_CHECK_STR(reason(p, "1234567890123456789012345678901234567890", "63"),
                 "too long (E.164 allows at most 15 digits)");
    B8_CHECK_STR(reason(p, "", "63"), "empty");
    B8_CHECK_STR(reason(p, "   ", "63"), "empty");
    B8_CHECK_STR(reason(p, " - ( ) ", "63"), "empty");
    B8_CHECK_STR(reason(p, NULL, "63"), "empty");
    B8_CHECK_STR(reason(p, "+0639171234567", "63"), "country code cannot start with 0");
    B8_CHECK_STR(reason(p, "000639171234567", "63"), "country code cannot start with 0");
    B8_CHECK_STR(reason(p, "09171234567", "6a"), "invalid default country code");
    /* why may be NULL. */
    B8_CHECK(b8_phone_e164(p, "abc", "63", NULL) == NULL);
}

B8_TEST(test_ph_limits)
{
    /* Exactly 8 and exactly 15 digits are accepted. */
    B8_CHECK_STR(e164(p, "+12345678"), "+12345678");
    B8_CHECK_STR(e164(p, "+123456789012345"), "+123456789012345");
    B8_CHECK_STR(e164(p, "0123456"), "+63123456");
    B8_CHECK_STR(e164(p, "9171234567890"), "+639171234567890");
}

B8_TEST(test_ph_match_key)
{
    const char *k = b8_phone_match_key(p, "+63 917 123 4567", "63");

    B8_CHECK_STR(k, "639171234567");
    B8_CHECK_STR(b8_phone_match_key(p, "09171234567", "63"), k);
    B8_CHECK_STR(b8_phone_match_key(p, "+639171234567", "63"), k);
    B8_CHECK_STR(b8_phone_match_key(p, "0917-123-4567", "63"), k);
    B8_CHECK_STR(b8_phone_match_key(p, "9171234567", "63"), k);
    B8_CHECK_STR(b8_phone_match_key(p, "+1 415 555 0100", "63"), "14155550100");
    B8_CHECK(b8_phone_match_key(p, "hello", "63") == NULL);
    B8_CHECK(b8_phone_match_key(p, "", "63") == NULL);
    B8_CHECK(b8_phone_match_key(p, NULL, "63") == NULL);
}

B8_TEST(test_ph_country_valid)
{
    (void)p;
    B8_CHECK(b8_phone_country_valid("63"));
    B8_CHECK(b8_phone_country_valid("1"));
    B8_CHECK(b8_phone_country_valid("971"));
    B8_CHECK(!b8_phone_country_valid(""));
    B8_CHECK(!b8_phone_country_valid(NULL));
    B8_CHECK(!b8_phone_country_valid("1234"));
    B8_CHECK(!b8_phone_country_valid("+63"));
    B8_CHECK(!b8_phone_country_valid("6a"));
    B8_CHECK(!b8_phone_country_valid(" 63"));
    B8_CHECK(!b8_phone_country_valid("063"));
    B8_CHECK(!b8_phone_country_valid("0"));
}

B8_TEST_MAIN(B8_CASE(test_ph_examples), B8_CASE(test_ph_landline), B8_CASE(test_ph_trunk_hint),
             B8_CASE(test_ph_other_country), B8_CASE(test_ph_rejects), B8_CASE(test_ph_limits),
             B8_CASE(test_ph_match_key), B8_CASE(test_ph_country_valid))
