#include "b8_test.h"
#include "b8_csv.h"

#include <stdlib.h>
#include <apr_strings.h>

/* Reads every record of text into one "|"-joined string per record, with
 * the line number first ("3:a|b") and "N:!reason" for errors. */
static const char *read_all(apr_pool_t *p, const char *text, apr_size_t len)
{
    b8_csv *c = b8_csv_open(p, text, len);
    const char *out = "";
    apr_array_header_t *f;
    const char *err;
    int line, rc;

    while ((rc = b8_csv_next(c, p, &f, &line, &err)) != 0) {
        const char *rec;
        if (rc < 0) {
            B8_CHECK(err != NULL);
            B8_CHECK(f == NULL);
            rec = apr_psprintf(p, "%d:!%s", line, err);
        }
        else {
            B8_CHECK(err == NULL);
            rec = apr_psprintf(p, "%d:", line);
            for (int i = 0; i < f->nelts; i++) {
                rec = apr_pstrcat(p, rec, i ? "|" : "", APR_ARRAY_IDX(f, i, const char *), NULL);
            }
        }
        out = *out ? apr_pstrcat(p, out, "\n", rec, NULL) : rec;
    }
    return out;
}

#define READ(p, s) read_all((p), (s), sizeof(s) - 1)

B8_TEST(test_csv_basic)
{
    B8_CHECK_STR(READ(p, "name,phone\nAna,0917\n"), "1:name|phone\n2:Ana|0917");
    B8_CHECK_STR(READ(p, "a,b"), "1:a|b");
    B8_CHECK_STR(READ(p, "a,,c,\n"), "1:a||c|");
    B8_CHECK_STR(READ(p, ","), "1:|");
    B8_CHECK_STR(READ(p, ""), "");
    B8_CHECK_STR(read_all(p, NULL, 0), "");
    /* Unquoted fields are trimmed; a stray quote inside one is literal. */
    B8_CHECK_STR(READ(p, "  Ana  ,\t0917 \nmonitor 27\" wide,x\n"),
                 "1:Ana|0917\n2:monitor 27\" wide|x");
}

B8_TEST(test_csv_bom_and_line_ends)
{
    B8_CHECK_STR(READ(p, "\xEF\xBB\xBFname,phone\r\nAna,0917\r\n"), "1:name|phone\n2:Ana|0917");
    B8_CHECK_STR(READ(p, "a\rb\r\nc\nd"), "1:a\n2:b\n3:c\n4:d");
    /* A BOM only counts at the very start. */
    B8_CHECK_STR(READ(p, "a\n\xEF\xBB\xBF" "b\n"), "1:a\n2:\xEF\xBB\xBF" "b");
    /* The buffer need not be NUL-terminated: only len bytes are read. */
    B8_CHECK_STR(read_all(p, "a,b\nc,dXXXX", 7), "1:a|b\n2:c|d");
}

B8_TEST(test_csv_blank_lines)
{
    B8_CHECK_STR(READ(p, "\n\na,b\n\n  \n\t\r\nc,d\r\n\r\n\r\ne\n\n"), "3:a|b\n7:c|d\n10:e");
    B8_CHECK_STR(READ(p, "\n\n\n"), "");
    B8_CHECK_STR(READ(p, "a\n   "), "1:a");
}

B8_TEST(test_csv_quoted)
{
    B8_CHECK_STR(READ(p, "\"Cruz, Ana\",\"0917\"\n"), "1:Cruz, Ana|0917");
    B8_CHECK_STR(READ(p, "\"say \"\"hi\"\"\",x\n"), "1:say \"hi\"|x");
    B8_CHECK_STR(READ(p, "\"\"\"\"\n"), "1:\"");
    B8_CHECK_STR(READ(p, "\"\",\"\"\n"), "1:|");
    /* Spaces inside quotes are kept; around them they are dropped. */
    B8_CHECK_STR(READ(p, "  \" a \"  , b\n"), "1: a |b");
    B8_CHECK_STR(READ(p, "\"a\""), "1:a");
}

B8_TEST(test_csv_multiline)
{
    const char *got = READ(p, "id,note\n1,\"line one\nline two\r\nline three\"\n2,after\n\n3,\"x\ry\"\n4,z\n");

    B8_CHECK_STR(got, "1:id|note\n2:1|line one\nline two\r\nline three\n5:2|after\n"
                      "7:3|x\ry\n9:4|z");
}

B8_TEST(test_csv_errors)
{
    /* Junk after a closing quote: report line 2, carry on with line 3. */
    B8_CHECK_STR(READ(p, "a,b\n\"x\"y,z\nc,d\n"),
                 "1:a|b\n2:!unexpected character after closing quote\n3:c|d");
    /* Error after a multi-line field: resume after the line of the error. */
    B8_CHECK_STR(READ(p, "\"x\ny\"z,1\nc\n"),
                 "1:!unexpected character after closing quote\n3:c");
    /* Unterminated quote: resume right after the line it opened on. */
    B8_CHECK_STR(READ(p, "a,b\nc,\"open\nd,e\nf,g"),
                 "1:a|b\n2:!unterminated quoted field\n3:d|e\n4:f|g");
    B8_CHECK_STR(READ(p, "\"never closed"), "1:!unterminated quoted field");
    B8_CHECK_STR(READ(p, "ok\n\"x\"\"\n"), "1:ok\n2:!unterminated quoted field");
    /* NUL bytes would silently truncate C strings. */
    B8_CHECK_STR(read_all(p, "a\0b,c\nd\n", 8), "1:!NUL byte in field\n2:d");
    B8_CHECK_STR(read_all(p, "\"a\0b\",c\nd\n", 10), "1:!NUL byte in field\n2:d");
}

B8_TEST(test_csv_null_out_args)
{
    b8_csv *c = b8_csv_open(p, "a\n\"b\"c\nd\n", 9);
    apr_array_header_t *f;

    B8_CHECK_INT(b8_csv_next(c, p, &f, NULL, NULL), 1);
    B8_CHECK_INT(b8_csv_next(c, p, &f, NULL, NULL), -1);
    B8_CHECK_INT(b8_csv_next(c, p, &f, NULL, NULL), 1);
    B8_CHECK_STR(APR_ARRAY_IDX(f, 0, const char *), "d");
    B8_CHECK_INT(b8_csv_next(c, p, &f, NULL, NULL), 0);
    B8_CHECK_INT(b8_csv_next(c, p, &f, NULL, NULL), 0);
}

B8_TEST(test_csv_field)
{
    B8_CHECK_STR(b8_csv_field(p, "plain"), "plain");
    B8_CHECK_STR(b8_csv_field(p, ""), "");
    B8_CHECK_STR(b8_csv_field(p, NULL), "");
    B8_CHECK_STR(b8_csv_field(p, "Cruz, Ana"), "\"Cruz, Ana\"");
    B8_CHECK_STR(b8_csv_field(p, "say \"hi\""), "\"say \"\"hi\"\"\"");
    B8_CHECK_STR(b8_csv_field(p, "a\nb"), "\"a\nb\"");
    B8_CHECK_STR(b8_csv_field(p, "a\rb"), "\"a\rb\"");
    B8_CHECK_STR(b8_csv_field(p, " lead"), "\" lead\"");
    B8_CHECK_STR(b8_csv_field(p, "trail "), "\"trail \"");
    /* A leading TAB is formula-like: guarded with ', so no quotes needed. */
    B8_CHECK_STR(b8_csv_field(p, "\ttab"), "'\ttab");
    B8_CHECK_STR(b8_csv_field(p, "in side"), "in side");
    B8_CHECK_STR(b8_csv_field(p, "+639171234567"), "+639171234567");
}

B8_TEST(test_csv_line)
{
    const char *f3[] = { "a", NULL, "b,c" };
    const char *f1[] = { "" };

    B8_CHECK_STR(b8_csv_line(p, 3, f3), "a,,\"b,c\"\r\n");
    B8_CHECK_STR(b8_csv_line(p, 1, f1), "\"\"\r\n");
    B8_CHECK_STR(b8_csv_line(p, 0, NULL), "\r\n");
}

B8_TEST(test_csv_round_trip)
{
    const char *row[] = {
        "plain", "", "Cruz, Ana", "say \"hi\"", "multi\nline\r\nend\rx", " padded ",
        "\"", "\xc3\xb1" "a\xc3\xb1" "o \xe2\x82\xac", ",", "\t", NULL
    };
    const int n = (int)(sizeof(row) / sizeof(row[0]));
    const char *one[] = { "" };
    const char *text = apr_pstrcat(p, b8_csv_line(p, n, row), "\r\n", b8_csv_line(p, n, row),
                                   b8_csv_line(p, 1, one), "next\r\n", NULL);
    b8_csv *c = b8_csv_open(p, text, strlen(text));
    apr_array_header_t *f;
    const char *err;
    int line;

    for (int r = 0; r < 2; r++) {
        B8_CHECK_INT(b8_csv_next(c, p, &f, &line, &err), 1);
        B8_CHECK_INT(line, r == 0 ? 1 : 6);
        B8_CHECK_INT(f->nelts, n);
        for (int i = 0; i < n && i < f->nelts; i++) {
            B8_CHECK_STR(APR_ARRAY_IDX(f, i, const char *), row[i] ? row[i] : "");
        }
    }
    B8_CHECK_INT(b8_csv_next(c, p, &f, &line, &err), 1);
    B8_CHECK_INT(line, 10);
    B8_CHECK_INT(f->nelts, 1);
    B8_CHECK_STR(APR_ARRAY_IDX(f, 0, const char *), "");
    B8_CHECK_INT(b8_csv_next(c, p, &f, &line, &err), 1);
    B8_CHECK_INT(line, 11);
    B8_CHECK_STR(APR_ARRAY_IDX(f, 0, const char *), "next");
    B8_CHECK_INT(b8_csv_next(c, p, &f, &line, &err), 0);
}

/* 100,000 records with rp cleared each time: nothing may come from the
 * pool given to b8_csv_open, so that pool must not grow. */
B8_TEST(test_csv_bounded_memory)
{
    const char *rec = "12345,\"Cruz, Ana\",+639171234567,\"note \"\"x\"\"\"\r\n";
    apr_size_t rl = strlen(rec), total = rl * 100000;
    char *data = malloc(total);
    apr_pool_t *open_pool, *rp;
    apr_array_header_t *f;
    char *a, *b, *after;
    b8_csv *c;
    int line, rc, count = 0, bad = 0;

    B8_CHECK(data != NULL);
    if (!data) {
        return;
    }
    for (int i = 0; i < 100000; i++) {
        memcpy(data + rl * (apr_size_t)i, rec, rl);
    }
    B8_CHECK_INT(apr_pool_create(&open_pool, p), APR_SUCCESS);
    B8_CHECK_INT(apr_pool_create(&rp, p), APR_SUCCESS);
    c = b8_csv_open(open_pool, data, total);
    /* Two probes give the pool's allocation stride; a third one after the
     * loop lands exactly one stride further only if nothing else was
     * allocated from open_pool in between. */
    a = apr_palloc(open_pool, 1);
    b = apr_palloc(open_pool, 1);
    while ((rc = b8_csv_next(c, rp, &f, &line, NULL)) != 0) {
        if (rc != 1 || f->nelts != 4 || line != count + 1
            || strcmp(APR_ARRAY_IDX(f, 3, const char *), "note \"x\"") != 0) {
            bad++;
        }
        count++;
        apr_pool_clear(rp);
    }
    after = apr_palloc(open_pool, 1);
    B8_CHECK(after == b + (b - a));
    B8_CHECK_INT(count, 100000);
    B8_CHECK_INT(bad, 0);
    free(data);
}

/* Spreadsheet formula injection: formula-like cells get a leading ' in
 * every export, numbers (phones, prices) stay, and the reader drops the '
 * again so an export re-imports unchanged. */
B8_TEST(test_csv_formula_guard)
{
    static const char *const hostile[] = {
        "=HYPERLINK(\"http://evil.example\",\"click\")", "+cmd", "-2+3", "@SUM(A1)",
        "\tx", "\r=1", "=", "-", "+", "'=x", "''@y", "'+639171234567", "'-5", "1+1", "'plain",
        "+63917 1234567", "1e5", "-1.", "+.5", "=1", NULL
    };
    const char *f3[3] = { "=1+2", "+639171234567", "-12.50" };

    B8_CHECK_STR(b8_csv_field(p, "=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
    B8_CHECK_STR(b8_csv_field(p, "=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
    B8_CHECK_STR(b8_csv_field(p, "@SUM(A1:A9)"), "'@SUM(A1:A9)");
    B8_CHECK_STR(b8_csv_field(p, "-1+1"), "'-1+1");
    B8_CHECK_STR(b8_csv_field(p, "+1+1"), "'+1+1");
    B8_CHECK_STR(b8_csv_field(p, "\r=1"), "\"'\r=1\"");
    /* Plain numbers stay as they are. */
    B8_CHECK_STR(b8_csv_field(p, "+639171234567"), "+639171234567");
    B8_CHECK_STR(b8_csv_field(p, "-12.50"), "-12.50");
    B8_CHECK_STR(b8_csv_field(p, "42"), "42");
    B8_CHECK_STR(b8_csv_field(p, "-1."), "'-1.");
    B8_CHECK_STR(b8_csv_field(p, "+.5"), "'+.5");
    /* Text that merely contains = or starts with ' otherwise is untouched. */
    B8_CHECK_STR(b8_csv_field(p, "a=b"), "a=b");
    B8_CHECK_STR(b8_csv_field(p, "'quoted'"), "'quoted'");
    /* A cell that already starts with ' before a formula keeps its marks. */
    B8_CHECK_STR(b8_csv_field(p, "'=x"), "''=x");
    B8_CHECK_STR(b8_csv_line(p, 3, f3), "'=1+2,+639171234567,-12.50\r\n");
    B8_CHECK_STR(b8_csv_header(p, 2, f3 + 1), "\xEF\xBB\xBF+639171234567,-12.50\r\n");

    /* The reader drops one guarding ' (quoted or not) and nothing else. */
    B8_CHECK_STR(READ(p, "'=1+2,\"'=a,b\",'x,''@y,'+639\n"), "1:=1+2|=a,b|'x|'@y|+639");
    B8_CHECK_STR(READ(p, "\xEF\xBB\xBF'-5,a\n"), "1:-5|a");

    /* Round trip: every hostile cell reads back exactly as it was. */
    for (int i = 0; hostile[i]; i++) {
        const char *row[2] = { hostile[i], "end" };
        const char *text = b8_csv_header(p, 2, row);
        b8_csv *c = b8_csv_open(p, text, strlen(text));
        apr_array_header_t *f = NULL;
        B8_CHECK_INT(b8_csv_next(c, p, &f, NULL, NULL), 1);
        if (f) {
            B8_CHECK_INT(f->nelts, 2);
            B8_CHECK_STR(APR_ARRAY_IDX(f, 0, const char *), hostile[i]);
        }
    }
}

B8_TEST_MAIN(B8_CASE(test_csv_basic), B8_CASE(test_csv_bom_and_line_ends),
             B8_CASE(test_csv_blank_lines), B8_CASE(test_csv_quoted), B8_CASE(test_csv_multiline),
             B8_CASE(test_csv_errors), B8_CASE(test_csv_null_out_args), B8_CASE(test_csv_field),
             B8_CASE(test_csv_line), B8_CASE(test_csv_round_trip), B8_CASE(test_csv_bounded_memory),
             B8_CASE(test_csv_formula_guard))
