/* A campaign's send window and daily cap: when it may send, and how long a
 * number of messages takes at an interval. Windows are local wall-clock
 * times ("09:00" to "18:00"; one that ends before it starts runs over
 * midnight); the cap counts the sends of the local day. Pure functions of
 * the zone and the instant given, so they are tested without a clock. */
#ifndef B8_PACE_H
#define B8_PACE_H

#include "b8_tz.h"

typedef struct {
    int window;           /* 0: no window */
    long start, end;      /* seconds after local midnight */
    long daily_cap;       /* 0: no cap */
} b8_pace;

/* "HH:MM" or "HH:MM:SS" as seconds after midnight; -1 when not such a time. */
long b8_pace_clock(const char *s);
/* The rules of a campaign's fields (NULL = none). Returns NULL when valid,
 * else why not, with *field the field to blame. */
const char *b8_pace_parse(const char *window_start, const char *window_end,
                          const char *daily_cap, b8_pace *out, const char **field);

/* The first instant from `now` when one more message may go: now itself
 * when allowed. sent_today: messages already sent in the local day of now. */
apr_time_t b8_pace_next(const b8_tz *tz, const b8_pace *r, apr_time_t now, long sent_today);

/* The start of the local day after the one of t (when a cap resets). */
apr_time_t b8_pace_next_midnight(const b8_tz *tz, apr_time_t t);
/* The start of the local day of t. */
apr_time_t b8_pace_midnight(const b8_tz *tz, apr_time_t t);

/* Seconds from now until n messages have gone, each taking `interval`
 * seconds (0 = at once), waiting out the window and the cap. */
double b8_pace_seconds(const b8_tz *tz, const b8_pace *r, apr_time_t now, long sent_today,
                       long n, double interval);

#endif
