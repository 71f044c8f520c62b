#include "b8_pace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY 86400L
#define MAX_DAILY_CAP 10000000L

long b8_pace_clock(const char *s)
{
    int h, m, sec = 0, n = 0;
    if (!s || sscanf(s, "%2d:%2d%n", &h, &m, &n) != 2 || n != 5) {
        return -1;
    }
    if (s[n] == ':') {
        int k = 0;
        if (sscanf(s + n + 1, "%2d%n", &sec, &k) != 1 || k != 2) {
            return -1;
        }
        n += 3;
    }
    if (s[n] || h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 59) {
        return -1;
    }
    return h * 3600L + m * 60L + sec;
}

const char *b8_pace_parse(const char *window_start, const char *window_end,
                          const char *daily_cap, b8_pace *out, const char **field)
{
    memset(out, 0, sizeof(*out));
    if (window_start || window_end) {
        if (!window_start || !window_end) {
            *field = window_start ? "window_end" : "window_start";
            return "A send window needs both a start and an end (or neither).";
        }
        if ((out->start = b8_pace_clock(window_start)) < 0) {
            *field = "window_start";
            return "The window start must be a time such as 09:00.";
        }
        if ((out->end = b8_pace_clock(window_end)) < 0) {
            *field = "window_end";
            return "The window end must be a time such as 18:00.";
        }
        if (out->start == out->end) {
            *field = "window_end";
            return "The window must end at another time than it starts.";
        }
        out->window = 1;
    }
    if (daily_cap) {
        char *end;
        long n = strtol(daily_cap, &end, 10);
        if (!*daily_cap || *end || n < 1 || n > MAX_DAILY_CAP) {
            *field = "daily_cap";
            return "The daily cap must be a whole number from 1 to 10,000,000 (or empty).";
        }
        out->daily_cap = n;
    }
    return NULL;
}

/* Seconds after local midnight of t, and that midnight (date fields). */
static long clock_of(const b8_tz *tz, apr_time_t t, b8_tz_local *l)
{
    b8_tz_local_of(tz, t, l);
    return l->hour * 3600L + l->min * 60L + l->sec;
}

/* The instant of local date (l + days) at `secs` after its midnight. */
static apr_time_t at_clock(const b8_tz *tz, const b8_tz_local *l, int days, long secs)
{
    return b8_tz_from_local(tz, l->year, l->mon, l->mday + days, (int)(secs / 3600),
                            (int)(secs / 60 % 60), (int)(secs % 60));
}

apr_time_t b8_pace_midnight(const b8_tz *tz, apr_time_t t)
{
    b8_tz_local l;
    clock_of(tz, t, &l);
    return at_clock(tz, &l, 0, 0);
}

apr_time_t b8_pace_next_midnight(const b8_tz *tz, apr_time_t t)
{
    b8_tz_local l;
    clock_of(tz, t, &l);
    return at_clock(tz, &l, 1, 0);
}

static int in_window(const b8_pace *r, long secs)
{
    if (!r->window) {
        return 1;
    }
    return r->start < r->end ? secs >= r->start && secs < r->end
                             : secs >= r->start || secs < r->end;
}

/* The next window start after t (t outside the window). */
static apr_time_t next_start(const b8_tz *tz, const b8_pace *r, apr_time_t t)
{
    b8_tz_local l;
    long secs = clock_of(tz, t, &l);
    apr_time_t s = at_clock(tz, &l, secs < r->start ? 0 : 1, r->start);
    return s > t ? s : at_clock(tz, &l, 1, r->start);
}

/* When the window that holds t closes. */
static apr_time_t window_close(const b8_tz *tz, const b8_pace *r, apr_time_t t)
{
    b8_tz_local l;
    long secs = clock_of(tz, t, &l);
    int days = r->start < r->end ? 0 : (secs >= r->start ? 1 : 0);
    apr_time_t e = at_clock(tz, &l, days, r->end);
    return e > t ? e : at_clock(tz, &l, days + 1, r->end);
}

apr_time_t b8_pace_next(const b8_tz *tz, const b8_pace *r, apr_time_t now, long sent_today)
{
    b8_tz_local l;
    apr_time_t t = now;

    if (r->daily_cap && sent_today >= r->daily_cap) {
        t = b8_pace_next_midnight(tz, now);
    }
    if (!in_window(r, clock_of(tz, t, &l))) {
        t = next_start(tz, r, t);
    }
    return t;
}

static int same_day(const b8_tz *tz, apr_time_t a, apr_time_t b)
{
    b8_tz_local x, y;
    b8_tz_local_of(tz, a, &x);
    b8_tz_local_of(tz, b, &y);
    return x.year == y.year && x.mon == y.mon && x.mday == y.mday;
}

double b8_pace_seconds(const b8_tz *tz, const b8_pace *r, apr_time_t now, long sent_today,
                       long n, double interval)
{
    apr_interval_time_t step = (apr_interval_time_t)(interval * APR_USEC_PER_SEC + 0.5);
    apr_time_t t = now, day = now, end = now;
    long sent = sent_today;

    /* One stretch of sending per round (to a window's close, a midnight or
     * the cap); ten years of rounds is more than any send needs. */
    for (int round = 0; n > 0 && round < 3660 * 4; round++) {
        apr_time_t seg_end, next;
        long room = n;
        if (!same_day(tz, t, day)) {
            sent = 0;                       /* a new local day: a fresh cap */
            day = t;
        }
        next = b8_pace_next(tz, r, t, sent);
        if (!same_day(tz, next, day)) {
            sent = 0;
            day = next;
            next = b8_pace_next(tz, r, next, 0);
        }
        t = next;
        seg_end = b8_pace_next_midnight(tz, t);
        if (r->window) {
            apr_time_t close = window_close(tz, r, t);
            seg_end = close < seg_end ? close : seg_end;
        }
        if (r->daily_cap && r->daily_cap - sent < room) {
            room = r->daily_cap - sent;
        }
        if (step > 0) {
            long fit = (long)((seg_end - t + step - 1) / step);
            room = fit < room ? fit : room;
        }
        room = room > 0 ? room : 0;
        n -= room;
        sent += room;
        t += step * room;
        end = t;
        if (n > 0 && !(r->daily_cap && sent >= r->daily_cap) && t < seg_end) {
            t = seg_end;
        }
    }
    return (double)(end - now) / APR_USEC_PER_SEC;
}
