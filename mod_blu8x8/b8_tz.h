/* Time zones from the system's TZif files (tzdata, /usr/share/zoneinfo):
 * UTC offsets and abbreviations for any instant, DST included, with no
 * process-wide state (setenv("TZ") + localtime_r is not safe among httpd's
 * threads). The API keeps UTC; pages and forms speak local time. */
#ifndef B8_TZ_H
#define B8_TZ_H

#include <apr_pools.h>
#include <apr_time.h>

#define B8_TZ_DIR "/usr/share/zoneinfo"
#define B8_TZ_DEFAULT "Asia/Manila"

typedef struct b8_tz b8_tz;

/* The zone called name (an IANA name: "Asia/Manila", "UTC") from dir (NULL
 * = B8_TZ_DIR). NULL with *why when the name is not one. */
b8_tz *b8_tz_load(apr_pool_t *p, const char *dir, const char *name, const char **why);
/* Parses a TZif file's bytes (v1 or v2+). NULL when malformed. */
b8_tz *b8_tz_parse(apr_pool_t *p, const unsigned char *data, apr_size_t len);
/* The zone of the time_zone setting value, falling back to UTC (never NULL). */
b8_tz *b8_tz_get(apr_pool_t *p, const char *name);

/* Seconds east of UTC at the instant t, and the abbreviation ("PST",
 * "+08") in *abbr when asked. */
long b8_tz_offset(const b8_tz *tz, apr_time_t t, const char **abbr);

/* Local wall-clock fields to an instant (a time skipped by a DST change
 * moves forward by the change; a repeated one is its first occurrence). */
apr_time_t b8_tz_from_local(const b8_tz *tz, int year, int mon, int mday, int hour, int min,
                            int sec);
/* Local wall-clock fields of t (mon 1..12, wday 0 = Sunday). */
typedef struct { int year, mon, mday, hour, min, sec, wday; long offset; const char *abbr; }
    b8_tz_local;
void b8_tz_local_of(const b8_tz *tz, apr_time_t t, b8_tz_local *out);

/* "2026-12-07 14:05 PST" (with_seconds: "14:05:09"). */
const char *b8_tz_format(apr_pool_t *p, const b8_tz *tz, apr_time_t t, int with_seconds);
/* "2026-12-07T14:05" or "2026-12-07 14:05" (seconds optional) read as
 * local time (with a Z or an offset: as b8_time_parse); 0 when not such a
 * text. */
int b8_tz_parse_local(const b8_tz *tz, const char *s, apr_time_t *out);

#endif
