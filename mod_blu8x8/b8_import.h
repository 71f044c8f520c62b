/* What the CSV imports share (contacts, campaign recipients): the report
 * of added/duplicate/invalid lines, the text of a reported line, header
 * detection, and the reader of pasted phone lists. */
#ifndef B8_IMPORT_H
#define B8_IMPORT_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <cjson/cJSON.h>

/* Rows per transaction in big imports: short write locks, bounded memory. */
#define B8_IMPORT_CHUNK 5000
/* A report lists at most this many invalid lines; "invalid_count" has all. */
#define B8_IMPORT_MAX_INVALID 10000
/* Longest value quoted back in a report (bytes, cut at a character). */
#define B8_IMPORT_MAX_VALUE 200

typedef struct {
    long added, updated, duplicates, opted_out;
    long invalid_count;
    cJSON *invalid;   /* [{"line"?, "value", "reason"}] */
    long max_invalid; /* listed at most (0: B8_IMPORT_MAX_INVALID) */
    int whole_values; /* quote values whole, not shortened */
} b8_import_report;

/* The invalid list is owned by p (b8_json_array). */
void b8_report_init(b8_import_report *r, apr_pool_t *p);
/* line 0 = no line (API lists). value is quoted back, shortened. */
void b8_report_invalid(b8_import_report *r, int line, const char *value, const char *reason);
/* The answer object, owned by p, which shows r->invalid by reference (keep
 * r's pool alive as long). Fields "updated" and/or "opted_out" are included
 * when asked. */
cJSON *b8_report_json(apr_pool_t *p, b8_import_report *r, int with_updated, int with_opted_out);

/* Walks a text forward to quote a reported line (LF, CRLF and CR end a line
 * as in b8_csv; a BOM is skipped). Lines must be asked in increasing order. */
typedef struct {
    const char *data;
    apr_size_t len, pos;
    int line;
} b8_line_cursor;

void b8_line_cursor_init(b8_line_cursor *c, const char *data, apr_size_t len);
/* Line n (1-based), at most B8_IMPORT_MAX_VALUE bytes, copied into p; ""
 * past the end. */
const char *b8_line_cursor_text(b8_line_cursor *c, apr_pool_t *p, int n);

/* An uploaded file as UTF-8 text. Valid UTF-8 (NUL bytes allowed: the CSV
 * reader reports them) is returned as it is with *encoding "utf-8";
 * anything else is read as Windows-1252, what Excel writes, and converted
 * (the five bytes that code page leaves undefined, 0x81 0x8D 0x8F 0x90 0x9D,
 * become U+FFFD) with *encoding "windows-1252". *out_len is the new length;
 * the result is NUL-terminated. */
const char *b8_text_as_utf8(apr_pool_t *p, const char *data, apr_size_t len,
                            apr_size_t *out_len, const char **encoding);

/* s cut to at most max bytes without splitting a UTF-8 character. */
const char *b8_text_shorten(apr_pool_t *p, const char *s, apr_size_t max);

/* 1 when a header cell names the phone column: phone, mobile or number
 * (any case, spaces around ignored). */
int b8_is_phone_header(const char *cell);
/* 1 when cell is name (any case, spaces ignored). */
int b8_header_is(const char *cell, const char *name);
/* 1 when a row looks like a header: no digits anywhere, some letter. */
int b8_row_looks_like_header(const apr_array_header_t *cells);

/* LIKE pattern "%s%" for a case-insensitive "contains" (lowercase, with
 * '\' escaping '%', '_' and '\'); NULL for NULL or empty s. */
const char *b8_like_contains(apr_pool_t *p, const char *s);

/* Pasted numbers or a CSV with a phone column. The phone column is the one
 * whose header is phone/mobile/number, else the first; a "name" column
 * gives each recipient's name. A header row is skipped; a first line that
 * is not a number but looks like a header is skipped too. */
typedef struct b8_numbers b8_numbers;

typedef struct {
    int line;            /* 1-based line of the input */
    const char *e164;    /* the number, or NULL when the line is invalid */
    const char *name;    /* from a "name" column, or NULL */
    const char *value;   /* invalid: what was given */
    const char *reason;  /* invalid: why */
} b8_number;

/* country: default country code for local numbers (NULL = "63"). The
 * reader allocates per record from the pool given to next. */
b8_numbers *b8_numbers_open(apr_pool_t *p, const char *data, apr_size_t len, const char *country);
/* 1 with *out filled, 0 at the end. */
int b8_numbers_next(b8_numbers *n, apr_pool_t *rp, b8_number *out);

#endif
