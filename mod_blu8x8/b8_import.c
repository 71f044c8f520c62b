#include "b8_import.h"
#include "b8_core.h"
#include "b8_csv.h"
#include "b8_phone.h"
#include "b8_util.h"

#include <ctype.h>
#include <string.h>
#include <apr_strings.h>

/* -------------------------------------------------------------- encoding */

/* Windows-1252 0x80..0x9F; 0 where the code page defines nothing. */
static const unsigned short cp1252_high[32] = {
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
    0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178
};

/* Valid UTF-8 apart from NUL bytes, which b8_utf8_valid refuses. */
static int utf8_valid_with_nul(const char *s, apr_size_t len)
{
    apr_size_t start = 0;

    for (apr_size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '\0') {
            if (!b8_utf8_valid(s + start, i - start)) {
                return 0;
            }
            start = i + 1;
        }
    }
    return 1;
}

const char *b8_text_as_utf8(apr_pool_t *p, const char *data, apr_size_t len,
                            apr_size_t *out_len, const char **encoding)
{
    const unsigned char *u = (const unsigned char *)(data ? data : "");
    char *out, *o;

    if (!data) {
        len = 0;
    }
    if (utf8_valid_with_nul((const char *)u, len)) {
        *encoding = "utf-8";
        *out_len = len;
        return data ? data : "";
    }
    *encoding = "windows-1252";
    /* At most 3 bytes per input byte (U+20AC, U+FFFD). */
    o = out = apr_palloc(p, len * 3 + 1);
    for (apr_size_t i = 0; i < len; i++) {
        unsigned int cp = u[i];
        if (cp >= 0x80 && cp < 0xA0) {
            cp = cp1252_high[cp - 0x80] ? cp1252_high[cp - 0x80] : 0xFFFD;
        }
        if (cp < 0x80) {
            *o++ = (char)cp;
        }
        else if (cp < 0x800) {
            *o++ = (char)(0xC0 | (cp >> 6));
            *o++ = (char)(0x80 | (cp & 0x3F));
        }
        else {
            *o++ = (char)(0xE0 | (cp >> 12));
            *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
            *o++ = (char)(0x80 | (cp & 0x3F));
        }
    }
    *o = '\0';
    *out_len = (apr_size_t)(o - out);
    return out;
}

/* ---------------------------------------------------------------- report */

void b8_report_init(b8_import_report *r, apr_pool_t *p)
{
    memset(r, 0, sizeof(*r));
    r->invalid = b8_json_array(p);
}

void b8_report_invalid(b8_import_report *r, int line, const char *value, const char *reason)
{
    cJSON *item;
    char buf[B8_IMPORT_MAX_VALUE + 1];
    apr_size_t n = value ? strlen(value) : 0;

    r->invalid_count++;
    if (r->invalid_count > (r->max_invalid ? r->max_invalid : B8_IMPORT_MAX_INVALID)) {
        return;
    }
    if (n > B8_IMPORT_MAX_VALUE && !r->whole_values) {
        n = B8_IMPORT_MAX_VALUE;
        while (n > 0 && ((unsigned char)value[n] & 0xC0) == 0x80) {
            n--;
        }
    }
    if (n && n <= B8_IMPORT_MAX_VALUE) {
        memcpy(buf, value, n);
    }
    buf[n <= B8_IMPORT_MAX_VALUE ? n : 0] = '\0';
    item = cJSON_CreateObject();
    if (line > 0) {
        cJSON_AddNumberToObject(item, "line", line);
    }
    cJSON_AddStringToObject(item, "value", n > B8_IMPORT_MAX_VALUE ? value : buf);
    cJSON_AddStringToObject(item, "reason", reason);
    cJSON_AddItemToArray(r->invalid, item);
}

cJSON *b8_report_json(apr_pool_t *p, b8_import_report *r, int with_updated, int with_opted_out)
{
    cJSON *o = b8_json_object(p);
    cJSON_AddNumberToObject(o, "added", (double)r->added);
    if (with_updated) {
        cJSON_AddNumberToObject(o, "updated", (double)r->updated);
    }
    cJSON_AddNumberToObject(o, "duplicates", (double)r->duplicates);
    if (with_opted_out) {
        cJSON_AddNumberToObject(o, "opted_out", (double)r->opted_out);
    }
    cJSON_AddItemReferenceToObject(o, "invalid", r->invalid);
    cJSON_AddNumberToObject(o, "invalid_count", (double)r->invalid_count);
    r->invalid = NULL;
    return o;
}

/* ----------------------------------------------------------- line cursor */

void b8_line_cursor_init(b8_line_cursor *c, const char *data, apr_size_t len)
{
    c->data = data ? data : "";
    c->len = data ? len : 0;
    c->pos = 0;
    c->line = 1;
    if (c->len >= 3 && memcmp(c->data, "\xEF\xBB\xBF", 3) == 0) {
        c->pos = 3;
    }
}

static apr_size_t line_end(const b8_line_cursor *c, apr_size_t i)
{
    while (i < c->len && c->data[i] != '\n' && c->data[i] != '\r') {
        i++;
    }
    return i;
}

const char *b8_line_cursor_text(b8_line_cursor *c, apr_pool_t *p, int n)
{
    apr_size_t end;

    while (c->line < n && c->pos < c->len) {
        apr_size_t e = line_end(c, c->pos);
        if (e >= c->len) {
            c->pos = c->len;
            break;
        }
        c->pos = e + ((c->data[e] == '\r' && e + 1 < c->len && c->data[e + 1] == '\n') ? 2 : 1);
        c->line++;
    }
    if (c->line != n) {
        return "";
    }
    end = line_end(c, c->pos);
    return b8_text_shorten(p, apr_pstrmemdup(p, c->data + c->pos, end - c->pos),
                           B8_IMPORT_MAX_VALUE);
}

const char *b8_text_shorten(apr_pool_t *p, const char *s, apr_size_t max)
{
    apr_size_t n = strlen(s);
    if (n <= max) {
        return s;
    }
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) {
        n--;
    }
    return apr_pstrndup(p, s, n);
}

/* --------------------------------------------------------------- headers */

int b8_header_is(const char *cell, const char *name)
{
    apr_size_t n = strlen(name);
    while (*cell == ' ' || *cell == '\t') {
        cell++;
    }
    if (strncasecmp(cell, name, n) != 0) {
        return 0;
    }
    cell += n;
    while (*cell == ' ' || *cell == '\t') {
        cell++;
    }
    return *cell == '\0';
}

int b8_is_phone_header(const char *cell)
{
    return b8_header_is(cell, "phone") || b8_header_is(cell, "mobile")
           || b8_header_is(cell, "number");
}

int b8_row_looks_like_header(const apr_array_header_t *cells)
{
    int letters = 0;
    for (int i = 0; i < cells->nelts; i++) {
        for (const char *s = APR_ARRAY_IDX(cells, i, const char *); *s; s++) {
            if (isdigit((unsigned char)*s)) {
                return 0;
            }
            if (isalpha((unsigned char)*s)) {
                letters = 1;
            }
        }
    }
    return letters;
}

const char *b8_like_contains(apr_pool_t *p, const char *s)
{
    char *out, *o;

    if (!s || !*s) {
        return NULL;
    }
    o = out = apr_palloc(p, strlen(s) * 2 + 3);
    *o++ = '%';
    for (; *s; s++) {
        if (*s == '%' || *s == '_' || *s == '\\') {
            *o++ = '\\';
        }
        *o++ = (char)tolower((unsigned char)*s);
    }
    *o++ = '%';
    *o = '\0';
    return out;
}

/* ------------------------------------------------------- numbers reader */

struct b8_numbers {
    b8_csv *csv;
    b8_line_cursor lines;
    const char *country;
    int started;
    int phone_col;
    int name_col;    /* -1: none */
};

b8_numbers *b8_numbers_open(apr_pool_t *p, const char *data, apr_size_t len, const char *country)
{
    b8_numbers *n = apr_pcalloc(p, sizeof(*n));
    n->csv = b8_csv_open(p, data, len);
    b8_line_cursor_init(&n->lines, data, len);
    n->country = country;
    n->name_col = -1;
    return n;
}

static const char *cell(const apr_array_header_t *cells, int i)
{
    return i >= 0 && i < cells->nelts ? APR_ARRAY_IDX(cells, i, const char *) : NULL;
}

/* The first row: a header naming the columns, or data. Returns 1 when the
 * row is a header (or header-like) and must be skipped. */
static int first_row(b8_numbers *n, apr_pool_t *rp, const apr_array_header_t *cells)
{
    int phone_col = -1;
    for (int i = 0; i < cells->nelts; i++) {
        const char *c = APR_ARRAY_IDX(cells, i, const char *);
        if (phone_col < 0 && b8_is_phone_header(c)) {
            phone_col = i;
        }
        else if (n->name_col < 0 && b8_header_is(c, "name")) {
            n->name_col = i;
        }
    }
    if (phone_col >= 0) {
        n->phone_col = phone_col;
        return 1;
    }
    n->name_col = -1;
    n->phone_col = 0;
    return !b8_phone_e164(rp, cell(cells, 0), n->country, NULL)
           && b8_row_looks_like_header(cells);
}

int b8_numbers_next(b8_numbers *n, apr_pool_t *rp, b8_number *out)
{
    for (;;) {
        apr_array_header_t *cells = NULL;
        const char *err = NULL, *raw, *name;
        int rc = b8_csv_next(n->csv, rp, &cells, &out->line, &err);

        out->e164 = out->name = out->value = out->reason = NULL;
        if (rc == 0) {
            return 0;
        }
        if (rc < 0) {
            out->value = b8_line_cursor_text(&n->lines, rp, out->line);
            out->reason = err;
            n->started = 1;
            return 1;
        }
        if (!n->started) {
            n->started = 1;
            if (first_row(n, rp, cells)) {
                continue;
            }
        }
        raw = cell(cells, n->phone_col);
        name = cell(cells, n->name_col);
        out->name = name && *name ? name : NULL;
        if (!raw || !*raw) {
            out->value = raw ? raw : "";
            out->reason = "no phone number";
            return 1;
        }
        out->e164 = b8_phone_e164(rp, raw, n->country, &out->reason);
        if (!out->e164) {
            out->value = raw;
            out->reason = apr_pstrcat(rp, "not a valid phone number: ", out->reason, NULL);
        }
        return 1;
    }
}
