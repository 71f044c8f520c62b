/* Safe by default: the origin comparison behind the admin's Origin check. */
#include "b8_test.h"
#include "b8_util.h"

B8_TEST(test_origin_canon)
{
    B8_CHECK_STR(b8_origin_canon(p, "http", "127.0.0.1:8080"), "http://127.0.0.1:8080");
    B8_CHECK_STR(b8_origin_canon(p, "http", "Blu.Example.PH"), "http://blu.example.ph:80");
    B8_CHECK_STR(b8_origin_canon(p, "https", "blu.example.ph"), "https://blu.example.ph:443");
    B8_CHECK_STR(b8_origin_canon(p, "HTTPS", "blu.example.ph:443"), "https://blu.example.ph:443");
    B8_CHECK_STR(b8_origin_canon(p, "http", "[::1]:8080"), "http://[::1]:8080");
    B8_CHECK(b8_origin_canon(p, "http", "") == NULL);
    B8_CHECK(b8_origin_canon(p, "http", NULL) == NULL);
    B8_CHECK(b8_origin_canon(p, "http", "host:") == NULL);
    B8_CHECK(b8_origin_canon(p, "http", "host:99999") == NULL);
    B8_CHECK(b8_origin_canon(p, "http", "host:8x") == NULL);
    B8_CHECK(b8_origin_canon(p, "ftp", "host") == NULL);
    B8_CHECK(b8_origin_canon(p, "http", "user@host") == NULL);
}

B8_TEST(test_origin_of)
{
    B8_CHECK_STR(b8_origin_of(p, "http://127.0.0.1:8080", 1), "http://127.0.0.1:8080");
    B8_CHECK_STR(b8_origin_of(p, "https://blu.example.ph", 1), "https://blu.example.ph:443");
    B8_CHECK(b8_origin_of(p, "null", 1) == NULL);
    B8_CHECK(b8_origin_of(p, "", 1) == NULL);
    B8_CHECK(b8_origin_of(p, "http://evil.example/x", 1) == NULL);   /* not an origin */
    B8_CHECK(b8_origin_of(p, "file://", 1) == NULL);
    B8_CHECK_STR(b8_origin_of(p, "https://blu.example.ph/blu8x8/", 0), "https://blu.example.ph:443");
    /* Same host, other port or scheme: another origin. */
    B8_CHECK(strcmp(b8_origin_of(p, "http://127.0.0.1:8081", 1),
                    b8_origin_canon(p, "http", "127.0.0.1:8080")) != 0);
    B8_CHECK(strcmp(b8_origin_of(p, "https://127.0.0.1:8080", 1),
                    b8_origin_canon(p, "http", "127.0.0.1:8080")) != 0);
    /* A longer host that starts with ours is not ours. */
    B8_CHECK(strcmp(b8_origin_of(p, "http://127.0.0.1.evil.example:8080", 1),
                    b8_origin_canon(p, "http", "127.0.0.1:8080")) != 0);
}

B8_TEST_MAIN(B8_CASE(test_origin_canon), B8_CASE(test_origin_of))
