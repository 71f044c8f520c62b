/* Send windows and daily caps: when a campaign may send next and how long
 * a send takes, at fixed instants in fixed zones (no clock). */
#include "b8_test.h"
#include "b8_pace.h"

static apr_time_t manila(const b8_tz *tz, int y, int mo, int d, int h, int mi)
{
    return b8_tz_from_local(tz, y, mo, d, h, mi, 0);
}

B8_TEST(pace_parse)
{
    b8_pace r;
    const char *field = NULL;
    B8_CHECK(b8_pace_clock("09:00") == 9 * 3600 && b8_pace_clock("23:59:30") == 86370);
    B8_CHECK(b8_pace_clock("9:00") == -1 && b8_pace_clock("24:00") == -1
             && b8_pace_clock("09:60") == -1 && b8_pace_clock("09:00x") == -1
             && b8_pace_clock("") == -1);
    B8_CHECK(b8_pace_parse(NULL, NULL, NULL, &r, &field) == NULL && !r.window && !r.daily_cap);
    B8_CHECK(b8_pace_parse("09:00", "18:00", "500", &r, &field) == NULL && r.window
             && r.start == 9 * 3600 && r.end == 18 * 3600 && r.daily_cap == 500);
    B8_CHECK(b8_pace_parse("09:00", NULL, NULL, &r, &field) && strcmp(field, "window_end") == 0);
    B8_CHECK(b8_pace_parse(NULL, "18:00", NULL, &r, &field)
             && strcmp(field, "window_start") == 0);
    B8_CHECK(b8_pace_parse("9am", "18:00", NULL, &r, &field)
             && strcmp(field, "window_start") == 0);
    B8_CHECK(b8_pace_parse("09:00", "09:00", NULL, &r, &field)
             && strcmp(field, "window_end") == 0);
    B8_CHECK(b8_pace_parse(NULL, NULL, "0", &r, &field) && strcmp(field, "daily_cap") == 0);
    B8_CHECK(b8_pace_parse(NULL, NULL, "12x", &r, &field) && strcmp(field, "daily_cap") == 0);
}

B8_TEST(pace_next)
{
    b8_tz *tz = b8_tz_get(p, "Asia/Manila");
    b8_tz *la = b8_tz_get(p, "America/Los_Angeles");
    b8_pace r;
    const char *field;

    B8_CHECK(b8_pace_parse("09:00", "18:00", "100", &r, &field) == NULL);
    /* Inside the window and under the cap: now. */
    B8_CHECK(b8_pace_next(tz, &r, manila(tz, 2026, 12, 7, 10, 0), 5)
             == manila(tz, 2026, 12, 7, 10, 0));
    /* Before the window: its start today; after it: tomorrow's. */
    B8_CHECK(b8_pace_next(tz, &r, manila(tz, 2026, 12, 7, 7, 30), 0)
             == manila(tz, 2026, 12, 7, 9, 0));
    B8_CHECK(b8_pace_next(tz, &r, manila(tz, 2026, 12, 7, 18, 0), 0)
             == manila(tz, 2026, 12, 8, 9, 0));
    /* The cap reached: tomorrow's window start. */
    B8_CHECK(b8_pace_next(tz, &r, manila(tz, 2026, 12, 7, 10, 0), 100)
             == manila(tz, 2026, 12, 8, 9, 0));
    /* Over midnight (22:00 to 06:00): 23:00 and 05:00 inside, noon waits. */
    B8_CHECK(b8_pace_parse("22:00", "06:00", NULL, &r, &field) == NULL);
    B8_CHECK(b8_pace_next(tz, &r, manila(tz, 2026, 12, 7, 23, 0), 0)
             == manila(tz, 2026, 12, 7, 23, 0));
    B8_CHECK(b8_pace_next(tz, &r, manila(tz, 2026, 12, 8, 5, 0), 0)
             == manila(tz, 2026, 12, 8, 5, 0));
    B8_CHECK(b8_pace_next(tz, &r, manila(tz, 2026, 12, 7, 12, 0), 0)
             == manila(tz, 2026, 12, 7, 22, 0));
    /* Local time across a DST change: 09:00 PDT after the March change. */
    B8_CHECK(b8_pace_parse("09:00", "17:00", NULL, &r, &field) == NULL);
    B8_CHECK(b8_pace_next(la, &r, b8_tz_from_local(la, 2026, 3, 7, 20, 0, 0), 0)
             == b8_tz_from_local(la, 2026, 3, 8, 9, 0, 0));
    B8_CHECK_STR(b8_tz_format(p, la, b8_pace_next(la, &r, b8_tz_from_local(la, 2026, 3, 7, 20,
                                                                              0, 0), 0), 0),
                 "2026-03-08 09:00 PDT");
    B8_CHECK(b8_pace_next_midnight(tz, manila(tz, 2026, 12, 31, 23, 59))
             == manila(tz, 2027, 1, 1, 0, 0));
    B8_CHECK(b8_pace_midnight(tz, manila(tz, 2026, 12, 31, 23, 59))
             == manila(tz, 2026, 12, 31, 0, 0));
}

B8_TEST(pace_seconds)
{
    b8_tz *tz = b8_tz_get(p, "Asia/Manila");
    b8_pace r;
    const char *field;
    apr_time_t ten = manila(tz, 2026, 12, 7, 10, 0);

    /* No rules: n intervals. */
    B8_CHECK(b8_pace_parse(NULL, NULL, NULL, &r, &field) == NULL);
    B8_CHECK(b8_pace_seconds(tz, &r, ten, 0, 100, 5) == 500);
    B8_CHECK(b8_pace_seconds(tz, &r, ten, 0, 100, 0) == 0);
    /* A window 09:00-11:00 at 60 s: 60 today (10:00-11:00), 40 tomorrow
     * from 09:00, the last one ending at 09:40. */
    B8_CHECK(b8_pace_parse("09:00", "11:00", NULL, &r, &field) == NULL);
    B8_CHECK(b8_pace_seconds(tz, &r, ten, 0, 100, 60)
             == (double)(manila(tz, 2026, 12, 8, 9, 40) - ten) / APR_USEC_PER_SEC);
    /* A cap of 30 a day, as fast as possible: 3 days for 100 (30, 30, 30,
     * then 10 on the fourth at midnight). */
    B8_CHECK(b8_pace_parse(NULL, NULL, "30", &r, &field) == NULL);
    B8_CHECK(b8_pace_seconds(tz, &r, ten, 0, 100, 0)
             == (double)(manila(tz, 2026, 12, 10, 0, 0) - ten) / APR_USEC_PER_SEC);
    /* 20 already sent today: 10 more today, 30 a day after. */
    B8_CHECK(b8_pace_seconds(tz, &r, ten, 20, 40, 0)
             == (double)(manila(tz, 2026, 12, 8, 0, 0) - ten) / APR_USEC_PER_SEC);
    /* Window and cap together at 1 s: 5 today then 5 at 09:00 tomorrow. */
    B8_CHECK(b8_pace_parse("09:00", "18:00", "5", &r, &field) == NULL);
    B8_CHECK(b8_pace_seconds(tz, &r, ten, 0, 10, 1)
             == (double)(manila(tz, 2026, 12, 8, 9, 0) + apr_time_from_sec(5) - ten)
                    / APR_USEC_PER_SEC);
}

B8_TEST_MAIN(B8_CASE(pace_parse), B8_CASE(pace_next), B8_CASE(pace_seconds))
