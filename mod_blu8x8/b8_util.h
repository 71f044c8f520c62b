/* Small string, number and time helpers shared by the core. */
#ifndef B8_UTIL_H
#define B8_UTIL_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

const char *b8_trim(apr_pool_t *p, const char *s);
/* CRLF and lone CR become LF (a browser's textarea sends CRLF; it must not
 * count twice in an SMS). Returns s itself when it has no CR. */
const char *b8_unix_lines(apr_pool_t *p, const char *s);
/* Non-empty trimmed lines of s. */
apr_array_header_t *b8_split_lines(apr_pool_t *p, const char *s);
const char *b8_join(apr_pool_t *p, const char *const *items, const char *sep);
const char *b8_join_array(apr_pool_t *p, const apr_array_header_t *items, const char *sep);
int b8_is_http_url(const char *s);
/* Whole-string decimal integer; 0 on any junk or overflow. */
int b8_parse_long(const char *s, long *out);

/* ISO 8601 UTC with milliseconds: 2026-11-01T08:19:45.990Z */
const char *b8_time_iso(apr_pool_t *p, apr_time_t t);
const char *b8_now_iso(apr_pool_t *p);
/* Parses ISO 8601 date-times with Z or +hh:mm offsets (fraction optional,
 * seconds optional); 0 when malformed. */
int b8_time_parse(const char *s, apr_time_t *out);


/* Origins (RFC 6454) compared as "scheme://host:port", lowercase, with the
 * scheme's default port written out. b8_origin_canon: from a scheme and an
 * authority ("Host" header: host[:port], [v6]:port); NULL when malformed.
 * b8_origin_of: of an absolute http(s) URL; with whole = 1 the URL must be
 * an origin only (an "Origin" header: nothing after the authority). NULL
 * when malformed, for "null" and for other schemes. */
const char *b8_origin_canon(apr_pool_t *p, const char *scheme, const char *authority);
const char *b8_origin_of(apr_pool_t *p, const char *url, int whole);

/* 1 when s is valid UTF-8 without NUL (len bytes). */
int b8_utf8_valid(const char *s, apr_size_t len);
/* s itself when valid UTF-8, else a copy in p where each byte that does not
 * start a valid character becomes U+FFFD: for text from 8x8 and OpenAI,
 * which is stored or sent on and must not carry invalid bytes. NULL stays
 * NULL. */
const char *b8_utf8_clean(apr_pool_t *p, const char *s);
/* Number of Unicode code points in valid UTF-8. */
apr_size_t b8_utf8_length(const char *s);
/* s as a search key: ASCII lowercase, Latin letters with marks as plain
 * letters ("José" -> "jose", "Æ" -> "ae"); other characters as they are. */
const char *b8_fold_key(apr_pool_t *p, const char *s);

/* s cut to at most max_chars code points: at the last sentence end (".",
 * "!" or "?" before white space) when that keeps at least half, else at a
 * word boundary (or, for one long word, a code point) with "…" added. s
 * itself when short enough; never cut inside a UTF-8 sequence. */
const char *b8_text_cap(apr_pool_t *p, const char *s, apr_size_t max_chars);

#endif
