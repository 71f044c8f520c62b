/* Time zones from TZif files: offsets and abbreviations against the C
 * library's own reading of the same files (this test is one thread, so
 * setenv("TZ") is safe here), DST gaps and overlaps, the POSIX footer rule
 * past the last transition, and local text read back. */
#include "b8_test.h"
#include "b8_tz.h"

#include <time.h>

static const char *const zones[] = { "Asia/Manila", "America/Los_Angeles", "Europe/London",
                                     "Australia/Sydney", "America/Sao_Paulo", "Asia/Kolkata",
                                     "Pacific/Chatham", "UTC", NULL };

B8_TEST(tz_matches_libc)
{
    for (int z = 0; zones[z]; z++) {
        const char *why = NULL;
        b8_tz *tz = b8_tz_load(p, NULL, zones[z], &why);
        B8_CHECK(tz != NULL);
        if (!tz) {
            continue;
        }
        setenv("TZ", apr_pstrcat(p, ":", zones[z], NULL), 1);
        tzset();
        /* Every 7 hours and 13 minutes from 1990 to 2060 (past the fat
         * files' 2037 end: the footer rule). */
        for (time_t t = 631152000; t < 2840140800; t += 7 * 3600 + 13 * 60) {
            struct tm tm;
            const char *abbr = NULL;
            long off = b8_tz_offset(tz, apr_time_from_sec(t), &abbr);
            localtime_r(&t, &tm);
            if (off != tm.tm_gmtoff || strcmp(abbr, tm.tm_zone) != 0) {
                B8_CHECK_INT(off, tm.tm_gmtoff);
                B8_CHECK_STR(abbr, tm.tm_zone);
                fprintf(stderr, "    zone %s at %ld\n", zones[z], (long)t);
                break;
            }
        }
    }
    unsetenv("TZ");
    tzset();
}

B8_TEST(tz_local_times)
{
    const char *why = NULL;
    b8_tz *la = b8_tz_load(p, NULL, "America/Los_Angeles", &why);
    b8_tz *mnl = b8_tz_get(p, "Asia/Manila");
    apr_time_t t;
    b8_tz_local l;

    B8_CHECK(la != NULL);
    if (!la) {
        return;
    }
    /* 2026-12-07 22:05 UTC */
    t = apr_time_from_sec(1796681100);
    B8_CHECK_STR(b8_tz_format(p, la, t, 0), "2026-12-07 14:05 PST");
    B8_CHECK_STR(b8_tz_format(p, mnl, t, 0), "2026-12-08 06:05 PST");
    B8_CHECK_STR(b8_tz_format(p, la, apr_time_from_sec(1782957600), 1), "2026-07-01 19:00:00 PDT");
    /* Back from local text. */
    B8_CHECK(b8_tz_parse_local(la, "2026-12-07T14:05", &t) && t == apr_time_from_sec(1796681100));
    B8_CHECK(b8_tz_parse_local(mnl, "2026-12-08 06:05:00", &t)
             && t == apr_time_from_sec(1796681100));
    B8_CHECK(!b8_tz_parse_local(la, "2026-13-07T14:05", &t));
    B8_CHECK(!b8_tz_parse_local(la, "tomorrow", &t));
    /* 2026-03-08 02:30 does not exist in LA (clocks go 02:00 -> 03:00):
     * forward by the hour, 03:30 PDT = 10:30 UTC. */
    t = b8_tz_from_local(la, 2026, 3, 8, 2, 30, 0);
    B8_CHECK_STR(b8_tz_format(p, la, t, 0), "2026-03-08 03:30 PDT");
    /* 2026-11-01 01:30 happens twice: the first (PDT, 08:30 UTC). */
    t = b8_tz_from_local(la, 2026, 11, 1, 1, 30, 0);
    B8_CHECK(t == apr_time_from_sec(1793521800));
    b8_tz_local_of(la, t, &l);
    B8_CHECK(l.hour == 1 && l.min == 30 && l.offset == -7 * 3600 && l.wday == 0);
    /* Past 2037 the footer rule speaks: DST in July 2100. */
    t = b8_tz_from_local(la, 2100, 7, 4, 12, 0, 0);
    B8_CHECK_STR(b8_tz_format(p, la, t, 0), "2100-07-04 12:00 PDT");
}

B8_TEST(tz_names)
{
    const char *why = NULL;
    B8_CHECK(b8_tz_load(p, NULL, "Mars/Olympus", &why) == NULL && why);
    B8_CHECK(b8_tz_load(p, NULL, "../../etc/passwd", &why) == NULL && why);
    B8_CHECK(b8_tz_load(p, NULL, "/etc/passwd", &why) == NULL && why);
    B8_CHECK(b8_tz_load(p, NULL, "", &why) == NULL && why);
    B8_CHECK(b8_tz_load(p, NULL, "Asia", &why) == NULL && why);     /* a directory */
    B8_CHECK(b8_tz_parse(p, (const unsigned char *)"TZif2", 5) == NULL);
    /* An unknown name falls back to UTC where a zone must exist. */
    B8_CHECK(b8_tz_offset(b8_tz_get(p, "Nowhere/Town"), apr_time_now(), NULL) == 0);
}

B8_TEST_MAIN(B8_CASE(tz_matches_libc), B8_CASE(tz_local_times), B8_CASE(tz_names))
