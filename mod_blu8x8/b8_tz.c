#include "b8_tz.h"
#include "b8_util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_file_io.h>
#include <apr_strings.h>

/* A POSIX TZ rule (the TZif footer) for instants past the last transition:
 * "PST8PDT,M3.2.0,M11.1.0". Only the M (month.week.day) form is read. */
typedef struct {
    int valid, has_dst;
    long std_off, dst_off;          /* seconds east of UTC */
    char std_abbr[16], dst_abbr[16];
    int start_m, start_w, start_d, end_m, end_w, end_d;
    long start_t, end_t;            /* seconds after local midnight */
} posix_rule;

typedef struct {
    long off;
    int isdst;
    const char *abbr;
} tz_type;

struct b8_tz {
    int ntrans, ntypes;
    apr_int64_t *trans;     /* transition instants, seconds since the epoch */
    unsigned char *idx;     /* the type of each transition */
    tz_type *types;
    posix_rule rule;
};

/* ------------------------------------------------------------- calendar */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static long days_from_civil(long y, int m, int d)
{
    long era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153L * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(long z, int *y, int *m, int *d)
{
    long era, doe, yoe, doy, mp, yy;
    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    yy = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

static long floor_div(apr_int64_t a, long b)
{
    return (long)(a >= 0 ? a / b : -((-a + b - 1) / b));
}

/* ---------------------------------------------------------- POSIX rule */

static const char *rule_abbr(const char *s, char *out)
{
    int n = 0;
    if (*s == '<') {
        for (s++; *s && *s != '>' && n < 15; s++) {
            out[n++] = *s;
        }
        out[n] = '\0';
        return *s == '>' ? s + 1 : NULL;
    }
    while (isalpha((unsigned char)*s) && n < 15) {
        out[n++] = *s++;
    }
    out[n] = '\0';
    return n >= 3 ? s : NULL;
}

/* [+-]hh[:mm[:ss]] as seconds. */
static const char *rule_time(const char *s, long *out)
{
    int sign = 1;
    long h = 0, m = 0, sec = 0;
    if (*s == '+' || *s == '-') {
        sign = *s == '-' ? -1 : 1;
        s++;
    }
    if (!isdigit((unsigned char)*s)) {
        return NULL;
    }
    h = strtol(s, (char **)&s, 10);
    if (*s == ':') {
        m = strtol(s + 1, (char **)&s, 10);
        if (*s == ':') {
            sec = strtol(s + 1, (char **)&s, 10);
        }
    }
    *out = sign * (h * 3600 + m * 60 + sec);
    return s;
}

static const char *rule_date(const char *s, int *m, int *w, int *d, long *t)
{
    if (*s != 'M') {
        return NULL;
    }
    *m = (int)strtol(s + 1, (char **)&s, 10);
    if (*s != '.') {
        return NULL;
    }
    *w = (int)strtol(s + 1, (char **)&s, 10);
    if (*s != '.') {
        return NULL;
    }
    *d = (int)strtol(s + 1, (char **)&s, 10);
    *t = 7200;
    if (*s == '/') {
        s = rule_time(s + 1, t);
    }
    return (*m >= 1 && *m <= 12 && *w >= 1 && *w <= 5 && *d >= 0 && *d <= 6) ? s : NULL;
}

static void rule_parse(const char *s, posix_rule *r)
{
    long off;
    memset(r, 0, sizeof(*r));
    if (!s || !(s = rule_abbr(s, r->std_abbr)) || !(s = rule_time(s, &off))) {
        return;
    }
    r->std_off = -off;          /* POSIX counts west of UTC */
    if (!*s) {
        r->valid = 1;
        return;
    }
    if (!(s = rule_abbr(s, r->dst_abbr))) {
        return;
    }
    r->dst_off = r->std_off + 3600;
    if (*s && *s != ',') {
        if (!(s = rule_time(s, &off))) {
            return;
        }
        r->dst_off = -off;
    }
    if (*s != ',' || !(s = rule_date(s + 1, &r->start_m, &r->start_w, &r->start_d, &r->start_t))
        || *s != ',' || !(s = rule_date(s + 1, &r->end_m, &r->end_w, &r->end_d, &r->end_t))) {
        return;
    }
    r->has_dst = 1;
    r->valid = 1;
}

/* The local date (days since the epoch) of the w-th d-day of month m. */
static long rule_day(int year, int m, int w, int d)
{
    long first = days_from_civil(year, m, 1);
    int wday_first = (int)((first % 7 + 7 + 4) % 7);     /* 1970-01-01 was a Thursday */
    long day = first + (d - wday_first + 7) % 7 + 7L * (w - 1);
    int nm = m == 12 ? 1 : m + 1, ny = m == 12 ? year + 1 : year;
    while (day >= days_from_civil(ny, nm, 1)) {
        day -= 7;                                       /* w = 5: the last one */
    }
    return day;
}

static long rule_offset(const posix_rule *r, apr_int64_t t, const char **abbr)
{
    int y, m, d;
    apr_int64_t start, end;
    int in_dst;

    if (!r->has_dst) {
        *abbr = r->std_abbr;
        return r->std_off;
    }
    civil_from_days(floor_div(t + r->std_off, 86400), &y, &m, &d);
    /* The change instants in UTC: start is read in standard time, end in DST. */
    start = (apr_int64_t)rule_day(y, r->start_m, r->start_w, r->start_d) * 86400 + r->start_t
            - r->std_off;
    end = (apr_int64_t)rule_day(y, r->end_m, r->end_w, r->end_d) * 86400 + r->end_t - r->dst_off;
    in_dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
    *abbr = in_dst ? r->dst_abbr : r->std_abbr;
    return in_dst ? r->dst_off : r->std_off;
}

/* ---------------------------------------------------------------- TZif */

static apr_int64_t be(const unsigned char *b, int n)
{
    apr_uint64_t v = 0;
    for (int i = 0; i < n; i++) {
        v = (v << 8) | b[i];
    }
    if (n == 4) {
        return (apr_int64_t)(apr_int32_t)(apr_uint32_t)v;
    }
    return (apr_int64_t)v;
}

typedef struct { long isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt; } tzif_counts;

static int header(const unsigned char *d, apr_size_t len, tzif_counts *c)
{
    if (len < 44 || memcmp(d, "TZif", 4) != 0) {
        return 0;
    }
    c->isutcnt = (long)be(d + 20, 4);
    c->isstdcnt = (long)be(d + 24, 4);
    c->leapcnt = (long)be(d + 28, 4);
    c->timecnt = (long)be(d + 32, 4);
    c->typecnt = (long)be(d + 36, 4);
    c->charcnt = (long)be(d + 40, 4);
    return c->isutcnt >= 0 && c->isstdcnt >= 0 && c->leapcnt >= 0 && c->timecnt >= 0
           && c->timecnt < 100000 && c->typecnt >= 1 && c->typecnt <= 256 && c->charcnt >= 0
           && c->charcnt < 10000;
}

static apr_size_t block_len(const tzif_counts *c, int tsize)
{
    return (apr_size_t)(c->timecnt * tsize + c->timecnt + c->typecnt * 6 + c->charcnt
                        + c->leapcnt * (tsize + 4) + c->isstdcnt + c->isutcnt);
}

b8_tz *b8_tz_parse(apr_pool_t *p, const unsigned char *data, apr_size_t len)
{
    tzif_counts c;
    const unsigned char *d = data, *end = data + len, *q;
    int tsize = 4;
    b8_tz *tz;
    const char *chars;

    if (!header(d, len, &c)) {
        return NULL;
    }
    if (d[4] >= '2') {
        /* Skip the v1 block: the v2+ one has 64-bit times and a footer. */
        apr_size_t skip = 44 + block_len(&c, 4);
        if (skip >= len || !header(d + skip, len - skip, &c)) {
            return NULL;
        }
        d += skip;
        tsize = 8;
    }
    if ((apr_size_t)(end - d) < 44 + block_len(&c, tsize)) {
        return NULL;
    }
    tz = apr_pcalloc(p, sizeof(*tz));
    tz->ntrans = (int)c.timecnt;
    tz->ntypes = (int)c.typecnt;
    tz->trans = apr_palloc(p, sizeof(apr_int64_t) * (c.timecnt + 1));
    tz->idx = apr_palloc(p, (apr_size_t)c.timecnt + 1);
    tz->types = apr_palloc(p, sizeof(tz_type) * c.typecnt);
    q = d + 44;
    for (long i = 0; i < c.timecnt; i++, q += tsize) {
        tz->trans[i] = be(q, tsize);
    }
    for (long i = 0; i < c.timecnt; i++, q++) {
        if (*q >= c.typecnt) {
            return NULL;
        }
        tz->idx[i] = *q;
    }
    chars = apr_pstrmemdup(p, (const char *)q + c.typecnt * 6, (apr_size_t)c.charcnt);
    for (long i = 0; i < c.typecnt; i++, q += 6) {
        unsigned ai = q[5];
        tz->types[i].off = (long)be(q, 4);
        tz->types[i].isdst = q[4];
        tz->types[i].abbr = ai < (unsigned)c.charcnt ? chars + ai : "";
    }
    q = d + 44 + block_len(&c, tsize);
    if (tsize == 8 && q < end && *q == '\n') {
        const unsigned char *nl = memchr(q + 1, '\n', (apr_size_t)(end - q - 1));
        if (nl) {
            rule_parse(apr_pstrmemdup(p, (const char *)q + 1, (apr_size_t)(nl - q - 1)),
                       &tz->rule);
        }
    }
    return tz;
}

/* An IANA name: letters, digits, '_', '-', '+', '/' parts, no "..". */
static int name_ok(const char *name)
{
    int n = 0;
    if (!name || !*name || *name == '/' || strstr(name, "..") || strlen(name) > 64) {
        return 0;
    }
    for (const char *s = name; *s; s++, n++) {
        if (!isalnum((unsigned char)*s) && !strchr("_-+/", *s)) {
            return 0;
        }
    }
    return n > 0;
}

b8_tz *b8_tz_load(apr_pool_t *p, const char *dir, const char *name, const char **why)
{
    apr_file_t *f;
    apr_finfo_t fi;
    char *buf;
    apr_size_t n;
    b8_tz *tz;

    *why = NULL;
    if (!name_ok(name)) {
        *why = "is not a time zone name (e.g. Asia/Manila)";
        return NULL;
    }
    if (apr_file_open(&f, apr_pstrcat(p, dir ? dir : B8_TZ_DIR, "/", name, NULL),
                      APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p) != APR_SUCCESS) {
        *why = "is not a time zone this server knows (e.g. Asia/Manila)";
        return NULL;
    }
    if (apr_file_info_get(&fi, APR_FINFO_SIZE | APR_FINFO_TYPE, f) != APR_SUCCESS
        || fi.filetype != APR_REG || fi.size <= 0 || fi.size > 1024 * 1024) {
        apr_file_close(f);
        *why = "is not a time zone this server knows (e.g. Asia/Manila)";
        return NULL;
    }
    n = (apr_size_t)fi.size;
    buf = apr_palloc(p, n);
    if (apr_file_read_full(f, buf, n, &n) != APR_SUCCESS) {
        apr_file_close(f);
        *why = "cannot be read";
        return NULL;
    }
    apr_file_close(f);
    if (!(tz = b8_tz_parse(p, (const unsigned char *)buf, n))) {
        *why = "is not a valid time zone file";
    }
    return tz;
}

b8_tz *b8_tz_get(apr_pool_t *p, const char *name)
{
    const char *why;
    b8_tz *tz = b8_tz_load(p, NULL, name && *name ? name : B8_TZ_DEFAULT, &why);
    if (!tz) {
        tz = apr_pcalloc(p, sizeof(*tz));
        tz->ntypes = 1;
        tz->types = apr_pcalloc(p, sizeof(tz_type));
        tz->types[0].abbr = "UTC";
    }
    return tz;
}

long b8_tz_offset(const b8_tz *tz, apr_time_t t, const char **abbr)
{
    apr_int64_t s = floor_div(t, APR_USEC_PER_SEC);
    const char *dummy;
    const tz_type *ty;
    int lo = 0, hi = tz->ntrans;

    abbr = abbr ? abbr : &dummy;
    if (tz->ntrans == 0 || s >= tz->trans[tz->ntrans - 1]) {
        if (tz->rule.valid && (tz->ntrans == 0 || s >= tz->trans[tz->ntrans - 1])) {
            return rule_offset(&tz->rule, s, abbr);
        }
        ty = &tz->types[tz->ntrans ? tz->idx[tz->ntrans - 1] : 0];
        *abbr = ty->abbr;
        return ty->off;
    }
    if (s < tz->trans[0]) {
        /* Before the first transition: the first standard-time type. */
        int i = 0;
        while (i < tz->ntypes && tz->types[i].isdst) {
            i++;
        }
        ty = &tz->types[i < tz->ntypes ? i : 0];
        *abbr = ty->abbr;
        return ty->off;
    }
    while (hi - lo > 1) {             /* the last transition <= s */
        int mid = (lo + hi) / 2;
        if (tz->trans[mid] <= s) {
            lo = mid;
        }
        else {
            hi = mid;
        }
    }
    ty = &tz->types[tz->idx[lo]];
    *abbr = ty->abbr;
    return ty->off;
}

apr_time_t b8_tz_from_local(const b8_tz *tz, int year, int mon, int mday, int hour, int min,
                            int sec)
{
    apr_int64_t wall = (apr_int64_t)days_from_civil(year, mon, mday) * 86400 + hour * 3600L
                       + min * 60L + sec;
    /* The offsets a day before and a day after (no zone changes twice in
     * a day): the earlier valid reading; none in a skipped hour. */
    long before = b8_tz_offset(tz, apr_time_from_sec(wall - 86400), NULL);
    long after = b8_tz_offset(tz, apr_time_from_sec(wall + 86400), NULL);
    apr_int64_t t;

    if (b8_tz_offset(tz, apr_time_from_sec(wall - before), NULL) == before) {
        t = wall - before;
        if (after != before && b8_tz_offset(tz, apr_time_from_sec(wall - after), NULL) == after
            && wall - after < t) {
            t = wall - after;
        }
    }
    else if (b8_tz_offset(tz, apr_time_from_sec(wall - after), NULL) == after) {
        t = wall - after;
    }
    else {
        t = wall - before;
    }
    return apr_time_from_sec(t);
}

void b8_tz_local_of(const b8_tz *tz, apr_time_t t, b8_tz_local *out)
{
    const char *abbr;
    long off = b8_tz_offset(tz, t, &abbr);
    apr_int64_t wall = floor_div(t, APR_USEC_PER_SEC) + off;
    long days = floor_div(wall, 86400);
    long rem = (long)(wall - (apr_int64_t)days * 86400);

    civil_from_days(days, &out->year, &out->mon, &out->mday);
    out->hour = (int)(rem / 3600);
    out->min = (int)(rem / 60 % 60);
    out->sec = (int)(rem % 60);
    out->wday = (int)((days % 7 + 7 + 4) % 7);
    out->offset = off;
    out->abbr = abbr;
}

const char *b8_tz_format(apr_pool_t *p, const b8_tz *tz, apr_time_t t, int with_seconds)
{
    b8_tz_local l;
    b8_tz_local_of(tz, t, &l);
    if (with_seconds) {
        return apr_psprintf(p, "%04d-%02d-%02d %02d:%02d:%02d %s", l.year, l.mon, l.mday, l.hour,
                            l.min, l.sec, l.abbr);
    }
    return apr_psprintf(p, "%04d-%02d-%02d %02d:%02d %s", l.year, l.mon, l.mday, l.hour, l.min,
                        l.abbr);
}

int b8_tz_parse_local(const b8_tz *tz, const char *s, apr_time_t *out)
{
    int y, mo, d, h, mi, sec = 0, n = 0;
    apr_size_t len = s ? strlen(s) : 0;

    /* With a Z or an offset it says its own zone. */
    if (len > 16 && (s[len - 1] == 'Z' || s[len - 6] == '+' || s[len - 6] == '-')) {
        return b8_time_parse(s, out);
    }
    if (!s || sscanf(s, "%4d-%2d-%2d%*1[T ]%2d:%2d%n", &y, &mo, &d, &h, &mi, &n) != 5) {
        return 0;
    }
    if (s[n] == ':') {
        int m2 = 0;
        if (sscanf(s + n, ":%2d%n", &sec, &m2) != 1) {
            return 0;
        }
        n += m2;
    }
    if (s[n] || y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23
        || mi > 59 || sec > 59 || h < 0 || mi < 0 || sec < 0) {
        return 0;
    }
    *out = b8_tz_from_local(tz, y, mo, d, h, mi, sec);
    return 1;
}
