#include "b8_csv.h"

#include <string.h>
#include <apr_strings.h>

struct b8_csv {
    const char *d;
    apr_size_t len;
    apr_size_t pos;
    int line;       /* physical line number at pos */
};

b8_csv *b8_csv_open(apr_pool_t *p, const char *data, apr_size_t len)
{
    b8_csv *c = apr_pcalloc(p, sizeof(*c));

    c->d = data ? data : "";
    c->len = data ? len : 0;
    c->line = 1;
    if (c->len >= 3 && memcmp(c->d, "\xEF\xBB\xBF", 3) == 0) {
        c->pos = 3;
    }
    return c;
}

static int is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

static int is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* ^[+-]?[0-9]+(\.[0-9]+)?$ */
static int plain_number(const char *s)
{
    if (*s == '+' || *s == '-') {
        s++;
    }
    if (!is_digit(*s)) {
        return 0;
    }
    while (is_digit(*s)) {
        s++;
    }
    if (*s == '.') {
        s++;
        if (!is_digit(*s)) {
            return 0;
        }
        while (is_digit(*s)) {
            s++;
        }
    }
    return *s == '\0';
}

/* The first character after any ' marks, where a spreadsheet sees a formula. */
static const char *after_marks(const char *s)
{
    while (*s == '\'') {
        s++;
    }
    return *s && strchr("=+-@\t\r", *s) ? s : NULL;
}

int b8_csv_formula_like(const char *s)
{
    const char *t;

    if (!s || !(t = after_marks(s))) {
        return 0;
    }
    /* A number as such is harmless; with ' marks before it, the marks must
     * survive the round trip, so it is guarded too. */
    return t > s || !plain_number(s);
}

/* The field as read: without the ' an export (or a spreadsheet user) put
 * before a formula character; '+639... reads as the number. */
static const char *unguard(const char *field)
{
    return field[0] == '\'' && after_marks(field + 1) ? field + 1 : field;
}

/* Length of the line end at i: 2 for CRLF, 1 for LF or CR, 0 for none. */
static apr_size_t eol_len(const b8_csv *c, apr_size_t i)
{
    if (i >= c->len) {
        return 0;
    }
    if (c->d[i] == '\r') {
        return (i + 1 < c->len && c->d[i + 1] == '\n') ? 2 : 1;
    }
    return c->d[i] == '\n' ? 1 : 0;
}

/* Continue after the line end that follows i; line_at_i is the line of i. */
static void resync(b8_csv *c, apr_size_t i, int line_at_i)
{
    while (i < c->len && eol_len(c, i) == 0) {
        i++;
    }
    if (i < c->len) {
        i += eol_len(c, i);
        line_at_i++;
    }
    c->pos = i;
    c->line = line_at_i;
}

static void skip_blank_lines(b8_csv *c)
{
    for (;;) {
        apr_size_t j = c->pos, n;
        while (j < c->len && is_blank(c->d[j])) {
            j++;
        }
        if (j >= c->len) {
            c->pos = c->len;
            return;
        }
        n = eol_len(c, j);
        if (n == 0) {
            return;
        }
        c->pos = j + n;
        c->line++;
    }
}

int b8_csv_next(b8_csv *c, apr_pool_t *rp, apr_array_header_t **fields, int *line,
                const char **err)
{
    const char *d = c->d;
    apr_array_header_t *arr;
    apr_size_t i;
    int cur, dummy_line;
    const char *dummy_err;

    if (!line) {
        line = &dummy_line;
    }
    if (!err) {
        err = &dummy_err;
    }
    *err = NULL;
    *fields = NULL;
    skip_blank_lines(c);
    *line = c->line;
    if (c->pos >= c->len) {
        return 0;
    }
    arr = apr_array_make(rp, 8, sizeof(const char *));
    i = c->pos;
    cur = c->line;

    for (;;) {
        apr_size_t j = i, k;
        char *field;

        while (j < c->len && is_blank(d[j])) {
            j++;
        }
        if (j < c->len && d[j] == '"') {
            apr_size_t n = 0;
            int lines = 0, closed = 0;
            char *o;

            /* First pass: find the closing quote and the unescaped size. */
            for (k = j + 1; k < c->len; k++, n++) {
                if (d[k] == '"') {
                    if (k + 1 < c->len && d[k + 1] == '"') {
                        k++;
                        continue;
                    }
                    closed = 1;
                    break;
                }
                if (d[k] == '\0') {
                    *err = "NUL byte in field";
                    resync(c, k, cur + lines);
                    return -1;
                }
                if (d[k] == '\n' || (d[k] == '\r' && eol_len(c, k) == 1)) {
                    lines++;
                }
            }
            if (!closed) {
                /* The quote swallowed the rest of the input; restart just
                 * after the line it was opened on so later rows survive. */
                *err = "unterminated quoted field";
                resync(c, j, cur);
                return -1;
            }
            field = o = apr_palloc(rp, n + 1);
            for (apr_size_t m = j + 1; m < k; m++) {
                *o++ = d[m];
                if (d[m] == '"') {
                    m++;
                }
            }
            *o = '\0';
            cur += lines;
            i = k + 1;
            while (i < c->len && is_blank(d[i])) {
                i++;
            }
            if (i < c->len && d[i] != ',' && eol_len(c, i) == 0) {
                *err = "unexpected character after closing quote";
                resync(c, i, cur);
                return -1;
            }
        }
        else {
            apr_size_t e;

            for (k = j; k < c->len && d[k] != ',' && d[k] != '\r' && d[k] != '\n'; k++) {
                if (d[k] == '\0') {
                    *err = "NUL byte in field";
                    resync(c, k, cur);
                    return -1;
                }
            }
            e = k;
            while (e > j && is_blank(d[e - 1])) {
                e--;
            }
            field = apr_pstrmemdup(rp, d + j, e - j);
            i = k;
        }
        APR_ARRAY_PUSH(arr, const char *) = unguard(field);

        if (i < c->len && d[i] == ',') {
            i++;
            continue;
        }
        if (i < c->len) {
            i += eol_len(c, i);
            cur++;
        }
        break;
    }
    c->pos = i;
    c->line = cur;
    *fields = arr;
    return 1;
}

static int needs_quotes(const char *s, apr_size_t len)
{
    if (len == 0) {
        return 0;
    }
    if (is_blank(s[0]) || is_blank(s[len - 1])) {
        return 1;
    }
    return strpbrk(s, ",\"\r\n") != NULL;
}

/* Bytes needed for s as a field, without the terminating NUL. */
static apr_size_t field_size(const char *s, int *quote)
{
    apr_size_t len = strlen(s), n = len;

    *quote = needs_quotes(s, len);
    if (*quote) {
        n += 2;
        for (const char *q = strchr(s, '"'); q; q = strchr(q + 1, '"')) {
            n++;
        }
    }
    return n;
}

static char *field_write(char *o, const char *s, int quote)
{
    if (!quote) {
        size_t len = strlen(s);
        memcpy(o, s, len);
        return o + len;
    }
    *o++ = '"';
    for (; *s; s++) {
        if (*s == '"') {
            *o++ = '"';
        }
        *o++ = *s;
    }
    *o++ = '"';
    return o;
}

/* s as written: with a ' in front when a spreadsheet could run it. */
static const char *guard(apr_pool_t *p, const char *s)
{
    return b8_csv_formula_like(s) ? apr_pstrcat(p, "'", s, NULL) : s;
}

const char *b8_csv_field(apr_pool_t *p, const char *s)
{
    int quote;
    apr_size_t n;
    char *out, *end;

    if (!s) {
        return "";
    }
    s = guard(p, s);
    n = field_size(s, &quote);
    out = apr_palloc(p, n + 1);
    end = field_write(out, s, quote);
    *end = '\0';
    return out;
}

const char *b8_csv_line(apr_pool_t *p, int n, const char *const *fields)
{
    apr_size_t total = 2;
    char *out, *o;
    int quote;
    const char **cells = apr_palloc(p, sizeof(*cells) * (apr_size_t)(n > 0 ? n : 1));

    for (int i = 0; i < n; i++) {
        cells[i] = guard(p, (fields && fields[i]) ? fields[i] : "");
        total += field_size(cells[i], &quote) + (i ? 1 : 0);
    }
    /* A lone empty field would be a blank line, which readers skip. */
    if (n == 1 && total == 2) {
        return "\"\"\r\n";
    }
    o = out = apr_palloc(p, total + 1);
    for (int i = 0; i < n; i++) {
        const char *s = cells[i];
        if (i) {
            *o++ = ',';
        }
        o = field_write(o, s, needs_quotes(s, strlen(s)));
    }
    memcpy(o, "\r\n", 3);
    return out;
}

const char *b8_csv_header(apr_pool_t *p, int n, const char *const *fields)
{
    return apr_pstrcat(p, B8_CSV_BOM, b8_csv_line(p, n, fields), NULL);
}
