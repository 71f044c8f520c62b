/* RFC 4180 CSV reading and writing for contact imports and exports. The
 * reader is lenient where real spreadsheets are sloppy (BOM, any line end,
 * spaces around fields) and strict where data could be silently mangled
 * (quotes). */
#ifndef B8_CSV_H
#define B8_CSV_H

#include <apr_pools.h>
#include <apr_tables.h>

typedef struct b8_csv b8_csv;

/* Reader over an in-memory buffer (not necessarily NUL-terminated; data may
 * be NULL when len is 0). The buffer must outlive the reader. A UTF-8 BOM
 * at the start is skipped. LF, CRLF and lone CR all end a line. */
b8_csv *b8_csv_open(apr_pool_t *p, const char *data, apr_size_t len);

/* Next record. Returns 1 with *fields (array of const char *, allocated in
 * rp, like every field), 0 at end of input, -1 on a malformed record with
 * *err set ("unterminated quoted field", "unexpected character after
 * closing quote", "NUL byte in field"). After -1 the reader resumes at the
 * line after the one where the error was found (for an unterminated quote:
 * the line after the opening quote), so the caller can report the bad line
 * and go on. *line is the 1-based physical line where the record started.
 * Blank lines (empty or only spaces/tabs) count as lines but are skipped.
 * Quoted fields may hold commas, doubled quotes and line breaks (kept as
 * written); spaces and tabs around a field are dropped, but inside quotes
 * are kept. A quote inside an unquoted field is taken literally (5" disk).
 * A field that starts with ' followed by what b8_csv_formula_like looks
 * at (=, +, -, @, TAB, CR, after any more ' marks) is read without that
 * first ': exports guard so, and '+639... typed in a spreadsheet is a number.
 * Nothing is allocated from the pool given to b8_csv_open, so memory stays
 * bounded if the caller clears rp between records. line and err may be
 * NULL. */
int b8_csv_next(b8_csv *c, apr_pool_t *rp, apr_array_header_t **fields, int *line,
                const char **err);

/* What every export starts with, so spreadsheets read the file as UTF-8. */
#define B8_CSV_BOM "\xEF\xBB\xBF"

/* 1 when a spreadsheet could take cell s for a formula: it starts with =,
 * +, -, @, TAB or CR (after any leading ' marks, so a cell that really
 * starts with ' survives the round trip) and is not a plain number
 * (^[+-]?[0-9]+(\.[0-9]+)?$, so +639... phones and prices stay). Writers
 * then put a ' in front; the reader drops it again. */
int b8_csv_formula_like(const char *s);

/* One CSV field for output: guarded with a leading ' when
 * b8_csv_formula_like, then quoted (quotes doubled) when it contains a
 * comma, quote, CR or LF, or starts or ends with a space or tab; NULL gives
 * "". Always a copy in p. */
const char *b8_csv_field(apr_pool_t *p, const char *s);

/* n fields (NULL entries are empty, each written as b8_csv_field) joined
 * into one line ending in "\r\n". A single empty field is written as "" so
 * it is not read back as a blank line. */
const char *b8_csv_line(apr_pool_t *p, int n, const char *const *fields);

/* The first line of an export: B8_CSV_BOM, then b8_csv_line. */
const char *b8_csv_header(apr_pool_t *p, int n, const char *const *fields);

#endif
