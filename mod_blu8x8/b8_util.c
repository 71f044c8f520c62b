#include "b8_util.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <apr_strings.h>

const char *b8_trim(apr_pool_t *p, const char *s)
{
    const char *end;

    while (*s && isspace((unsigned char)*s)) {
        s++;
    }
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1])) {
        end--;
    }
    return apr_pstrndup(p, s, (apr_size_t)(end - s));
}

const char *b8_unix_lines(apr_pool_t *p, const char *s)
{
    char *out, *o;
    if (!strchr(s, '\r')) {
        return s;
    }
    o = out = apr_palloc(p, strlen(s) + 1);
    for (; *s; s++) {
        if (*s == '\r') {
            *o++ = '\n';
            if (s[1] == '\n') {
                s++;
            }
        }
        else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return out;
}

apr_array_header_t *b8_split_lines(apr_pool_t *p, const char *s)
{
    apr_array_header_t *out = apr_array_make(p, 8, sizeof(const char *));

    while (s && *s) {
        apr_size_t n = strcspn(s, "\r\n");
        const char *line = b8_trim(p, apr_pstrndup(p, s, n));
        if (*line) {
            APR_ARRAY_PUSH(out, const char *) = line;
        }
        s += n;
        while (*s == '\r' || *s == '\n') {
            s++;
        }
    }
    return out;
}

const char *b8_join(apr_pool_t *p, const char *const *items, const char *sep)
{
    const char *out = "";
    for (int i = 0; items && items[i]; i++) {
        out = i ? apr_pstrcat(p, out, sep, items[i], NULL) : items[i];
    }
    return out;
}

const char *b8_join_array(apr_pool_t *p, const apr_array_header_t *items, const char *sep)
{
    const char *out = "";
    for (int i = 0; i < items->nelts; i++) {
        const char *s = APR_ARRAY_IDX(items, i, const char *);
        out = i ? apr_pstrcat(p, out, sep, s, NULL) : s;
    }
    return out;
}

int b8_is_http_url(const char *s)
{
    const char *host;

    if (!strncasecmp(s, "http://", 7)) {
        host = s + 7;
    }
    else if (!strncasecmp(s, "https://", 8)) {
        host = s + 8;
    }
    else {
        return 0;
    }
    if (!*host || *host == '/' || strlen(s) > 2000) {
        return 0;
    }
    for (const char *c = s; *c; c++) {
        if ((unsigned char)*c <= ' ' || *c == '"' || *c == '<' || *c == '>' || *c == 0x7f) {
            return 0;
        }
    }
    return 1;
}

int b8_parse_long(const char *s, long *out)
{
    char *end;
    long v;

    if (!s || !*s || isspace((unsigned char)*s)) {
        return 0;
    }
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end) {
        return 0;
    }
    *out = v;
    return 1;
}

const char *b8_time_iso(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t tm;

    if (apr_time_exp_gmt(&tm, t) != APR_SUCCESS) {
        return NULL;
    }
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                        tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_usec / 1000);
}

const char *b8_now_iso(apr_pool_t *p)
{
    return b8_time_iso(p, apr_time_now());
}

static int digits(const char **s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*s)[i])) {
            return 0;
        }
        v = v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    *out = v;
    return 1;
}

int b8_time_parse(const char *s, apr_time_t *out)
{
    apr_time_exp_t tm;
    int y, mo, d, h, mi, sec = 0, usec = 0, offset = 0;
    apr_time_t t;

    if (!s) {
        return 0;
    }
    memset(&tm, 0, sizeof(tm));
    if (!digits(&s, 4, &y) || *s++ != '-' || !digits(&s, 2, &mo) || *s++ != '-'
        || !digits(&s, 2, &d) || (*s != 'T' && *s != ' ')) {
        return 0;
    }
    s++;
    if (!digits(&s, 2, &h) || *s++ != ':' || !digits(&s, 2, &mi)) {
        return 0;
    }
    if (*s == ':') {
        s++;
        if (!digits(&s, 2, &sec)) {
            return 0;
        }
        if (*s == '.') {
            int scale = 100000;
            s++;
            if (!isdigit((unsigned char)*s)) {
                return 0;
            }
            while (isdigit((unsigned char)*s)) {
                usec += (*s - '0') * scale;
                scale /= 10;
                s++;
            }
        }
    }
    if (*s == 'Z' || *s == 'z') {
        s++;
    }
    else if (*s == '+' || *s == '-') {
        int sign = *s == '-' ? -1 : 1, oh, om = 0;
        s++;
        if (!digits(&s, 2, &oh)) {
            return 0;
        }
        if (*s == ':') {
            s++;
        }
        if (*s && !digits(&s, 2, &om)) {
            return 0;
        }
        offset = sign * (oh * 3600 + om * 60);
    }
    if (*s || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) {
        return 0;
    }
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    tm.tm_usec = usec;
    if (apr_time_exp_gmt_get(&t, &tm) != APR_SUCCESS) {
        return 0;
    }
    *out = t - apr_time_from_sec(offset);
    return 1;
}

const char *b8_origin_canon(apr_pool_t *p, const char *scheme, const char *authority)
{
    const char *port = NULL, *host_end;
    char *host;
    long n;

    if (!scheme || !authority || !*authority) {
        return NULL;
    }
    if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) {
        return NULL;
    }
    if (authority[0] == '[') {
        if (!(host_end = strchr(authority, ']'))) {
            return NULL;
        }
        host_end++;
    }
    else {
        host_end = authority + strcspn(authority, ":");
    }
    if (*host_end == ':') {
        port = host_end + 1;
        if (!*port || strspn(port, "0123456789") != strlen(port) || strlen(port) > 5
            || !b8_parse_long(port, &n) || n < 1 || n > 65535) {
            return NULL;
        }
    }
    else if (*host_end) {
        return NULL;
    }
    host = apr_pstrndup(p, authority, (apr_size_t)(host_end - authority));
    if (!*host || strpbrk(host, "/?#@ \t")) {
        return NULL;
    }
    for (char *c = host; *c; c++) {
        *c = (char)tolower((unsigned char)*c);
    }
    if (!port) {
        n = strcasecmp(scheme, "https") == 0 ? 443 : 80;
    }
    return apr_psprintf(p, "%s://%s:%ld", strcasecmp(scheme, "https") == 0 ? "https" : "http",
                        host, n);
}

const char *b8_origin_of(apr_pool_t *p, const char *url, int whole)
{
    const char *sep, *auth;
    apr_size_t alen;

    if (!url || !(sep = strstr(url, "://"))) {
        return NULL;
    }
    auth = sep + 3;
    alen = strcspn(auth, "/?#");
    if (whole && auth[alen]) {
        return NULL;
    }
    return b8_origin_canon(p, apr_pstrndup(p, url, (apr_size_t)(sep - url)),
                           apr_pstrndup(p, auth, alen));
}

int b8_utf8_valid(const char *s, apr_size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    apr_size_t i = 0;

    while (i < len) {
        unsigned char c = u[i];
        int n;
        unsigned int cp;
        if (c == 0) {
            return 0;
        }
        if (c < 0x80) { i++; continue; }
        if ((c & 0xe0) == 0xc0) { n = 1; cp = c & 0x1f; }
        else if ((c & 0xf0) == 0xe0) { n = 2; cp = c & 0x0f; }
        else if ((c & 0xf8) == 0xf0) { n = 3; cp = c & 0x07; }
        else { return 0; }
        if (i + (apr_size_t)n >= len) {
            return 0;
        }
        for (int k = 1; k <= n; k++) {
            if ((u[i + k] & 0xc0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (u[i + k] & 0x3f);
        }
        /* Overlong forms, surrogates and values past U+10FFFF are invalid. */
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000)
            || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
            return 0;
        }
        i += (apr_size_t)n + 1;
    }
    return 1;
}

/* Length of the valid UTF-8 character at s (1..4), or 0. */
static apr_size_t utf8_char_len(const char *s, apr_size_t left)
{
    for (apr_size_t n = 1; n <= 4 && n <= left; n++) {
        if (b8_utf8_valid(s, n)) {
            return n;
        }
    }
    return 0;
}

const char *b8_utf8_clean(apr_pool_t *p, const char *s)
{
    apr_size_t len, i = 0;
    char *out, *o;

    if (!s || b8_utf8_valid(s, len = strlen(s))) {
        return s;
    }
    o = out = apr_palloc(p, len * 3 + 1);
    while (i < len) {
        apr_size_t n = utf8_char_len(s + i, len - i);
        if (n) {
            memcpy(o, s + i, n);
            o += n;
            i += n;
        }
        else {
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    *o = '\0';
    return out;
}

apr_size_t b8_utf8_length(const char *s)
{
    apr_size_t n = 0;
    for (const unsigned char *u = (const unsigned char *)s; *u; u++) {
        if ((*u & 0xc0) != 0x80) {
            n++;
        }
    }
    return n;
}

/* Byte offset just past the first n code points of s (or its end). */
static apr_size_t utf8_prefix(const char *s, apr_size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    apr_size_t i = 0, seen = 0;

    while (u[i]) {
        if ((u[i] & 0xc0) != 0x80) {
            if (seen == n) {
                break;
            }
            seen++;
        }
        i++;
    }
    return i;
}

static int is_space(char c)
{
    return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

/* The end of s[0..end) without trailing white space. */
static apr_size_t trim_end(const char *s, apr_size_t end)
{
    while (end > 0 && is_space(s[end - 1])) {
        end--;
    }
    return end;
}

const char *b8_text_cap(apr_pool_t *p, const char *s, apr_size_t max_chars)
{
    apr_size_t limit, cut = 0;

    if (!s || max_chars < 2 || b8_utf8_length(s) <= max_chars) {
        return s;
    }
    /* Every cut below falls on an ASCII byte (punctuation or white space)
     * or on a code point's first byte: never inside a UTF-8 sequence. */
    limit = utf8_prefix(s, max_chars);
    for (apr_size_t i = 1; i <= limit; i++) {
        /* ".", "!" or "?" (then closing quotes or brackets) before a space. */
        apr_size_t e = i;
        if (s[i - 1] != '.' && s[i - 1] != '!' && s[i - 1] != '?') {
            continue;
        }
        while (e < limit && (s[e] == '"' || s[e] == '\'' || s[e] == ')' || s[e] == ']')) {
            e++;
        }
        if (e <= limit && (is_space(s[e]) || s[e] == '\0')) {
            cut = e;
        }
    }
    /* A sentence end in the first half would throw most of the reply away. */
    if (cut > 0 && b8_utf8_length(apr_pstrmemdup(p, s, cut)) >= max_chars / 2) {
        return apr_pstrmemdup(p, s, cut);
    }
    /* Else at a word boundary, with an ellipsis (one code point) in the room. */
    limit = utf8_prefix(s, max_chars - 1);
    cut = 0;
    for (apr_size_t i = limit; i > 0; i--) {
        if (is_space(s[i])) {
            cut = trim_end(s, i);
            break;
        }
    }
    if (cut == 0) {
        cut = limit;   /* one long word: at a code point */
    }
    return apr_pstrcat(p, apr_pstrmemdup(p, s, cut), "\xe2\x80\xa6", NULL);
}

/* Latin letters with marks (U+00C0..U+017F) as plain lowercase letters. */
static const char *const fold_latin[0x180 - 0xC0] = {
    "a", "a", "a", "a", "a", "a", "ae", "c",
    "e", "e", "e", "e", "i", "i", "i", "i",
    "d", "n", "o", "o", "o", "o", "o", NULL,
    "o", "u", "u", "u", "u", "y", "th", "ss",
    "a", "a", "a", "a", "a", "a", "ae", "c",
    "e", "e", "e", "e", "i", "i", "i", "i",
    "d", "n", "o", "o", "o", "o", "o", NULL,
    "o", "u", "u", "u", "u", "y", "th", "y",
    "a", "a", "a", "a", "a", "a", "c", "c",
    "c", "c", "c", "c", "c", "c", "d", "d",
    "d", "d", "e", "e", "e", "e", "e", "e",
    "e", "e", "e", "e", "g", "g", "g", "g",
    "g", "g", "g", "g", "h", "h", "h", "h",
    "i", "i", "i", "i", "i", "i", "i", "i",
    "i", "i", "ij", "ij", "j", "j", "k", "k",
    "k", "l", "l", "l", "l", "l", "l", NULL,
    NULL, "l", "l", "n", "n", "n", "n", "n",
    "n", NULL, NULL, NULL, "o", "o", "o", "o",
    "o", "o", "oe", "oe", "r", "r", "r", "r",
    "r", "r", "s", "s", "s", "s", "s", "s",
    "s", "s", "t", "t", "t", "t", "t", "t",
    "u", "u", "u", "u", "u", "u", "u", "u",
    "u", "u", "u", "u", "w", "w", "y", "y",
    "y", "z", "z", "z", "z", "z", "z", "s",
};

const char *b8_fold_key(apr_pool_t *p, const char *s)
{
    apr_size_t n = strlen(s);
    /* A folded letter is at most 2 bytes, as its UTF-8 was. */
    char *out = apr_palloc(p, n + 1), *o = out;

    while (*s) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x80) {
            *o++ = (char)tolower(c);
            s++;
            continue;
        }
        if ((c & 0xE0) == 0xC0 && ((unsigned char)s[1] & 0xC0) == 0x80) {
            unsigned cp = ((c & 0x1Fu) << 6) | ((unsigned char)s[1] & 0x3Fu);
            if (cp >= 0xC0 && cp < 0x180 && fold_latin[cp - 0xC0]) {
                for (const char *f = fold_latin[cp - 0xC0]; *f; f++) {
                    *o++ = *f;
                }
                s += 2;
                continue;
            }
        }
        *o++ = *s++;
    }
    *o = '\0';
    return out;
}
