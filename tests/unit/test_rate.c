/* 8x8's rate limit (b8_rate.c) on a simulated clock: no one-second window
 * carries more than max_rate starts, the limit is reached (not something
 * slower), starts are spread, sub-accounts are apart, and a new lease
 * holder waits out the previous one's window. */
#include "b8_test.h"
#include "b8_rate.h"

#define T0 ((apr_time_t)1000000000000LL)

/* Starts taken greedily every `step` for `span`; answers how many, and the
 * most within any window of one second. */
static int run(const char *key, int rate, apr_interval_time_t span, apr_interval_time_t step,
               apr_time_t *starts, int room, int *most)
{
    int n = 0;

    for (apr_time_t t = T0; t < T0 + span; t += step) {
        apr_time_t next = 0;
        int avail = b8_rate_available(key, rate, t, &next);
        for (int i = 0; i < avail && n < room; i++) {
            if (b8_rate_take(key, rate, t) != 0) {
                break;
            }
            starts[n++] = t;
        }
        /* What available says is what take does. */
        if (avail == 0 && b8_rate_take(key, rate, t) == 0) {
            starts[n++] = t;
            *most = 1 << 30;
            return n;
        }
    }
    *most = 0;
    for (int i = 0, j = 0; i < n; i++) {
        while (j < n && starts[j] < starts[i] + apr_time_from_sec(1)) {
            j++;
        }
        if (j - i > *most) {
            *most = j - i;
        }
    }
    return n;
}

B8_TEST(never_more_than_max_rate_in_a_second_and_close_to_it)
{
    static apr_time_t starts[20000];
    int most = 0, n;

    B8_CHECK(b8_rate_init(p) == APR_SUCCESS);
    b8_rate_reset();
    n = run("sub-a", 1800, apr_time_from_sec(5), 1000, starts, 20000, &most);
    B8_CHECK(most <= 1800);
    B8_CHECK(n >= 1700 * 5);
    b8_rate_reset();
    n = run("sub-a", 50, apr_time_from_sec(5), 3000, starts, 20000, &most);
    B8_CHECK(most <= 50);
    B8_CHECK(n >= 45 * 5);
}

B8_TEST(starts_are_spread_not_one_burst)
{
    static apr_time_t starts[1000];
    int most = 0, n, burst = 0;

    B8_CHECK(b8_rate_init(p) == APR_SUCCESS);
    b8_rate_reset();
    n = run("sub-a", 50, apr_time_from_sec(2), 1000, starts, 1000, &most);
    /* 50 a second (one each 20.8 ms, 20 ms of catch-up): at most 6 starts
     * within 100 ms, not 50 at once. */
    for (int i = 0, j = 0; i < n; i++) {
        while (j < n && starts[j] < starts[i] + apr_time_from_msec(100)) {
            j++;
        }
        if (j - i > burst) {
            burst = j - i;
        }
    }
    B8_CHECK(burst <= 6);
}

B8_TEST(sub_accounts_are_apart_and_a_hold_stops_all)
{
    B8_CHECK(b8_rate_init(p) == APR_SUCCESS);
    b8_rate_reset();
    B8_CHECK(b8_rate_take("viber", 1, T0) == 0);
    B8_CHECK(b8_rate_take("viber", 1, T0 + 1000) != 0);      /* its one a second is used */
    B8_CHECK(b8_rate_take("sms", 1, T0 + 1000) == 0);        /* another sub-account */
    B8_CHECK(b8_rate_take("viber", 1, T0 + B8_RATE_WINDOW) == 0);
    b8_rate_hold_until(T0 + apr_time_from_sec(10));
    B8_CHECK_INT(b8_rate_take("other", 5, T0 + apr_time_from_sec(9)),
                 T0 + apr_time_from_sec(10));
    B8_CHECK(b8_rate_take("other", 5, T0 + apr_time_from_sec(10)) == 0);
    b8_rate_reset();
}

B8_TEST_MAIN(B8_CASE(never_more_than_max_rate_in_a_second_and_close_to_it),
             B8_CASE(starts_are_spread_not_one_burst),
             B8_CASE(sub_accounts_are_apart_and_a_hold_stops_all))
