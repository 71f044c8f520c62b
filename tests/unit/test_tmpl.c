/* Unit tests for the template engine (b8_tmpl.c). */
#include <stdlib.h>
#include <apr_file_io.h>
#include <apr_strings.h>

#include "b8_test.h"
#include "b8_tmpl.h"

/* Loads (name, source) pairs, failing the check when they do not load. */
static b8_tmpl_set *load(apr_pool_t *p, int n, const char *const *names,
                         const char *const *sources)
{
    b8_tmpl_set *set = NULL;
    const char *err = NULL;
    apr_status_t rv = b8_tmpl_load_strings(p, n, names, sources, &set, &err);
    B8_CHECK(rv == APR_SUCCESS);
    if (rv != APR_SUCCESS) {
        fprintf(stderr, "    load error: %s\n", err ? err : "(none)");
    }
    return set;
}

/* Renders template "main" of set with JSON data; NULL on any failure. */
static const char *render_set(apr_pool_t *p, const b8_tmpl_set *set, const char *json)
{
    cJSON *data = json ? cJSON_Parse(json) : NULL;
    const char *out = NULL, *err = NULL;
    apr_status_t rv;

    B8_CHECK(!json || data);
    if (!set) {
        cJSON_Delete(data);
        return NULL;
    }
    rv = b8_tmpl_render(p, set, "main", data, &out, &err);
    cJSON_Delete(data);
    if (rv != APR_SUCCESS) {
        fprintf(stderr, "    render error: %s\n", err ? err : "(none)");
        return NULL;
    }
    return out;
}

/* One template named "main" rendered with JSON data. */
static const char *render1(apr_pool_t *p, const char *src, const char *json)
{
    const char *names[] = { "main" };
    const char *sources[] = { src };
    return render_set(p, load(p, 1, names, sources), json);
}

/* The load error for a single template named "t" (NULL if it loaded). */
static const char *load_error(apr_pool_t *p, const char *src)
{
    const char *names[] = { "t" };
    const char *sources[] = { src };
    b8_tmpl_set *set = NULL;
    const char *err = NULL;
    apr_status_t rv = b8_tmpl_load_strings(p, 1, names, sources, &set, &err);
    B8_CHECK(rv == APR_SUCCESS || rv == APR_EINVAL);
    return rv == APR_SUCCESS ? NULL : err;
}

/* Renders "main" expecting failure; returns the error message. */
static const char *render_error(apr_pool_t *p, const b8_tmpl_set *set, const char *name,
                                apr_status_t want)
{
    const char *out = NULL, *err = NULL;
    apr_status_t rv = b8_tmpl_render(p, set, name, NULL, &out, &err);
    B8_CHECK_INT(rv, want);
    B8_CHECK(out == NULL);
    return err ? err : "";
}

B8_TEST(escape_function)
{
    const char *plain = "nothing to see";
    B8_CHECK(b8_html_escape(p, plain) == plain);
    B8_CHECK(b8_html_escape(p, NULL) == NULL);
    B8_CHECK_STR(b8_html_escape(p, ""), "");
    B8_CHECK_STR(b8_html_escape(p, "&"), "&amp;");
    B8_CHECK_STR(b8_html_escape(p, "<"), "&lt;");
    B8_CHECK_STR(b8_html_escape(p, ">"), "&gt;");
    B8_CHECK_STR(b8_html_escape(p, "\""), "&quot;");
    B8_CHECK_STR(b8_html_escape(p, "'"), "&#39;");
    B8_CHECK_STR(b8_html_escape(p, "a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
    B8_CHECK_STR(b8_html_escape(p, "<script>alert(1)</script>"),
                 "&lt;script&gt;alert(1)&lt;/script&gt;");
}

B8_TEST(escape_in_template)
{
    B8_CHECK_STR(render1(p, "[{{v}}]", "{\"v\":\"<script>alert(1)</script>\"}"),
                 "[&lt;script&gt;alert(1)&lt;/script&gt;]");
    B8_CHECK_STR(render1(p, "{{a}}{{b}}{{c}}{{d}}{{e}}",
                         "{\"a\":\"&\",\"b\":\"<\",\"c\":\">\",\"d\":\"\\\"\",\"e\":\"'\"}"),
                 "&amp;&lt;&gt;&quot;&#39;");
    B8_CHECK_STR(render1(p, "<a title=\"{{t}}\">", "{\"t\":\"x\\\" onclick='y'\"}"),
                 "<a title=\"x&quot; onclick=&#39;y&#39;\">");
    B8_CHECK_STR(render1(p, "{{ v }}|{{v}}", "{\"v\":\"ok\"}"), "ok|ok");
}

B8_TEST(raw_values)
{
    const char *json = "{\"h\":\"<b>&'\\\"</b>\"}";
    B8_CHECK_STR(render1(p, "{{{h}}}", json), "<b>&'\"</b>");
    B8_CHECK_STR(render1(p, "{{{ h }}}", json), "<b>&'\"</b>");
    B8_CHECK_STR(render1(p, "{{& h}}", json), "<b>&'\"</b>");
    B8_CHECK_STR(render1(p, "{{&h}}", json), "<b>&'\"</b>");
}

B8_TEST(scalars_and_missing)
{
    const char *json = "{\"t\":true,\"f\":false,\"n\":null,\"o\":{\"x\":1},\"a\":[1,2],"
                       "\"s\":\"str\"}";
    B8_CHECK_STR(render1(p, "{{t}}|{{f}}|{{n}}|{{missing}}|{{o}}|{{a}}|{{s}}", json),
                 "true|false|||||str");
    B8_CHECK_STR(render1(p, "[{{x}}]", NULL), "[]");
    B8_CHECK_STR(render1(p, "no tags at all", "{}"), "no tags at all");
    B8_CHECK_STR(render1(p, "", "{}"), "");
}

B8_TEST(numbers)
{
    const char *json = "{\"i\":42,\"neg\":-7,\"zero\":0,\"half\":3.5,\"small\":0.1,"
                       "\"big\":1e20,\"int_float\":2.0,\"large\":1234567890123}";
    B8_CHECK_STR(render1(p, "{{i}} {{neg}} {{zero}} {{half}} {{small}} {{big}} "
                         "{{int_float}} {{large}}", json),
                 "42 -7 0 3.5 0.1 1e+20 2 1234567890123");
    B8_CHECK_STR(render1(p, "{{#i}}yes {{.}}{{/i}}{{#zero}}no{{/zero}}"
                         "{{^zero}}zero{{/zero}}", json), "yes 42zero");
}

B8_TEST(dotted_names)
{
    const char *json = "{\"a\":{\"b\":{\"c\":\"deep<\"}},\"x\":{\"y\":1},"
                       "\"list\":[{\"name\":\"n1\"}]}";
    B8_CHECK_STR(render1(p, "{{a.b.c}}|{{{a.b.c}}}|{{x.y}}", json), "deep&lt;|deep<|1");
    /* A broken chain renders nothing and does not fall back up the stack. */
    B8_CHECK_STR(render1(p, "[{{a.nope.c}}][{{a.b.c.d}}][{{nope.b}}]", json), "[][][]");
    B8_CHECK_STR(render1(p, "{{#a.b}}{{c}}{{/a.b}}", json), "deep&lt;");
    /* The first part walks up from inside a list item. */
    B8_CHECK_STR(render1(p, "{{#list}}{{name}}:{{a.b.c}}{{/list}}", json), "n1:deep&lt;");
}

B8_TEST(lists)
{
    const char *objs = "{\"items\":[{\"n\":\"a\",\"v\":1},{\"n\":\"b\",\"v\":2},"
                       "{\"n\":\"<c>\",\"v\":3}]}";
    B8_CHECK_STR(render1(p, "<ul>{{#items}}<li>{{n}}={{v}}</li>{{/items}}</ul>", objs),
                 "<ul><li>a=1</li><li>b=2</li><li>&lt;c&gt;=3</li></ul>");
    B8_CHECK_STR(render1(p, "{{#tags}}[{{.}}]{{/tags}}", "{\"tags\":[\"x\",\"y\",\"<z>\"]}"),
                 "[x][y][&lt;z&gt;]");
    B8_CHECK_STR(render1(p, "{{#tags}}{{{.}}}{{/tags}}", "{\"tags\":[\"<z>\",1,true]}"),
                 "<z>1true");
    B8_CHECK_STR(render1(p, "{{#m}}({{#.}}{{.}}{{/.}}){{/m}}", "{\"m\":[[1,2],[3]]}"),
                 "(12)(3)");
}

B8_TEST(nested_sections_and_walk_up)
{
    const char *json = "{\"user\":\"ann\",\"groups\":[{\"g\":\"g1\",\"members\":["
                       "{\"m\":\"x\"},{\"m\":\"y\",\"user\":\"override\"}]},"
                       "{\"g\":\"g2\",\"members\":[]}]}";
    B8_CHECK_STR(render1(p, "{{#groups}}{{g}}:{{#members}}{{m}}/{{user}}/{{g}},"
                         "{{/members}}{{^members}}none{{/members}};{{/groups}}", json),
                 "g1:x/ann/g1,y/override/g1,;g2:none;");
    B8_CHECK_STR(render1(p, "{{#o}}{{k}}-{{top}}{{/o}}",
                         "{\"o\":{\"k\":\"inner\"},\"top\":\"outer\"}"), "inner-outer");
    /* An object section renders even when the object is empty. */
    B8_CHECK_STR(render1(p, "{{#o}}x{{/o}}", "{\"o\":{}}"), "x");
}

B8_TEST(booleans_and_truthiness)
{
    const char *json = "{\"t\":true,\"f\":false,\"n\":null,\"s\":\"str\",\"e\":\"\","
                       "\"name\":\"ann\"}";
    B8_CHECK_STR(render1(p, "{{#t}}T{{name}}{{/t}}{{#f}}F{{/f}}{{#n}}N{{/n}}"
                         "{{#s}}S{{.}}{{/s}}{{#e}}E{{/e}}{{#missing}}M{{/missing}}", json),
                 "TannSstr");
    B8_CHECK_STR(render1(p, "{{#t}}{{.}}{{/t}}", json), "true");
}

B8_TEST(inverted_sections)
{
    const char *json = "{\"empty\":[],\"full\":[1],\"f\":false,\"t\":true,\"z\":0,"
                       "\"e\":\"\",\"n\":null,\"name\":\"ann\"}";
    B8_CHECK_STR(render1(p, "{{^empty}}a{{/empty}}{{^f}}b{{/f}}{{^missing}}c{{/missing}}"
                         "{{^z}}d{{/z}}{{^e}}e{{/e}}{{^n}}f{{name}}{{/n}}", json),
                 "abcdefann");
    B8_CHECK_STR(render1(p, "[{{^full}}x{{/full}}{{^t}}y{{/t}}{{^name}}z{{/name}}]", json),
                 "[]");
}

B8_TEST(comments)
{
    B8_CHECK_STR(render1(p, "a{{! a comment }}b", "{}"), "ab");
    B8_CHECK_STR(render1(p, "a{{!multi\nline {{ comment}}b", "{}"), "ab");
    B8_CHECK_STR(render1(p, "<p>\n  {{! standalone }}\n</p>\n", "{}"), "<p>\n</p>\n");
    B8_CHECK_STR(render1(p, "<p>\n{{!\n  spans\n  lines\n}}\n</p>", "{}"), "<p>\n</p>");
}

B8_TEST(partials)
{
    const char *names[] = { "main", "item", "header" };
    const char *sources[] = {
        "{{> header}}<ul>{{#items}}{{>item}}{{/items}}</ul>",
        "<li>{{n}} of {{owner}}</li>",
        "<h1>{{title}}</h1>",
    };
    b8_tmpl_set *set = load(p, 3, names, sources);
    B8_CHECK(b8_tmpl_exists(set, "item"));
    B8_CHECK(!b8_tmpl_exists(set, "nope"));
    B8_CHECK_STR(render_set(p, set, "{\"title\":\"T<\",\"owner\":\"ann\","
                            "\"items\":[{\"n\":1},{\"n\":2}]}"),
                 "<h1>T&lt;</h1><ul><li>1 of ann</li><li>2 of ann</li></ul>");
}

B8_TEST(partial_recursion)
{
    /* Recursion that terminates with the data is fine (leaves need an empty
     * "kids", or the name would be found further up the stack) ... */
    const char *names[] = { "main", "node" };
    const char *sources[] = {
        "{{>node}}",
        "{{name}}{{#kids}}({{>node}}){{/kids}}",
    };
    b8_tmpl_set *set = load(p, 2, names, sources);
    B8_CHECK_STR(render_set(p, set, "{\"name\":\"a\",\"kids\":[{\"name\":\"b\",\"kids\":"
                            "[{\"name\":\"c\",\"kids\":[]}]},{\"name\":\"d\",\"kids\":[]}]}"),
                 "a(b(c))(d)");

    /* ... endless recursion hits the depth limit. */
    {
        const char *n2[] = { "main", "loop" };
        const char *s2[] = { "x{{>loop}}", "{{>main}}" };
        const char *err;
        set = load(p, 2, n2, s2);
        err = render_error(p, set, "main", APR_EINVAL);
        B8_CHECK(strstr(err, "nested more than 16 deep") != NULL);
    }
}

B8_TEST(unknown_template_and_partial)
{
    const char *names[] = { "main", "skip" };
    const char *sources[] = { "a{{>nope}}b", "{{#never}}{{>nope}}{{/never}}ok" };
    b8_tmpl_set *set = load(p, 2, names, sources);
    const char *out = NULL, *err;

    err = render_error(p, set, "missing", APR_NOTFOUND);
    B8_CHECK(strstr(err, "unknown template 'missing'") != NULL);
    err = render_error(p, set, "main", APR_NOTFOUND);
    B8_CHECK_STR(err, "main:1: unknown partial 'nope'");
    /* An unknown partial only matters when rendering reaches it. */
    B8_CHECK(b8_tmpl_render(p, set, "skip", NULL, &out, &err) == APR_SUCCESS);
    B8_CHECK_STR(out, "ok");
}

B8_TEST(syntax_errors)
{
    const char *err;

    err = load_error(p, "line1\n{{#a}}\nx\n");
    B8_CHECK_STR(err, "t:2: section {{#a}} is never closed");
    err = load_error(p, "{{#a}}\n{{^b}}\n{{/a}}\n{{/b}}");
    B8_CHECK_STR(err, "t:3: {{/a}} does not match {{^b}} opened on line 2");
    err = load_error(p, "a\n\n{{/x}}");
    B8_CHECK_STR(err, "t:3: {{/x}} without an open section");
    err = load_error(p, "a\n{{b");
    B8_CHECK_STR(err, "t:2: tag is not closed with }}");
    err = load_error(p, "{{{b}}");
    B8_CHECK_STR(err, "t:1: tag is not closed with }}}");
    err = load_error(p, "x {{ }}");
    B8_CHECK_STR(err, "t:1: empty tag name");
    err = load_error(p, "{{a b}}");
    B8_CHECK_STR(err, "t:1: invalid tag name 'a b'");
    err = load_error(p, "{{a..b}}");
    B8_CHECK_STR(err, "t:1: empty part in dotted name 'a..b'");
    err = load_error(p, "{{=<% %>=}}");
    B8_CHECK_STR(err, "t:1: set-delimiter tags are not supported");
    /* Line numbers count newlines inside earlier multi-line comments. */
    err = load_error(p, "{{! one\ntwo\nthree }}\n{{#s}}");
    B8_CHECK_STR(err, "t:4: section {{#s}} is never closed");

    {
        const char *names[] = { "x", "x" };
        const char *sources[] = { "a", "b" };
        b8_tmpl_set *set = NULL;
        B8_CHECK(b8_tmpl_load_strings(p, 2, names, sources, &set, &err) == APR_EINVAL);
        B8_CHECK(err && strstr(err, "defined twice"));
    }
}

B8_TEST(standalone_lines)
{
    const char *json = "{\"items\":[{\"n\":\"a\"},{\"n\":\"b\"}],\"f\":false}";

    B8_CHECK_STR(render1(p, "<ul>\n  {{#items}}\n  <li>{{n}}</li>\n  {{/items}}\n</ul>\n",
                         json),
                 "<ul>\n  <li>a</li>\n  <li>b</li>\n</ul>\n");
    B8_CHECK_STR(render1(p, "a\n{{^f}}\nb\n{{/f}}\nc", json), "a\nb\nc");
    /* Standalone at the very start and at the end without a newline. */
    B8_CHECK_STR(render1(p, "\t{{#f}}\nx\n{{/f}}\ny\n  {{! end }}", json), "y\n");
    /* CRLF line endings. */
    B8_CHECK_STR(render1(p, "a\r\n{{#items}}\r\n{{n}}\r\n{{/items}}\r\nb", json),
                 "a\r\na\r\nb\r\nb");
    /* Not standalone: other content shares the line. */
    B8_CHECK_STR(render1(p, " {{#items}}{{n}}{{/items}} \n", json), " ab \n");
    B8_CHECK_STR(render1(p, "x {{! c }}\n", json), "x \n");
    B8_CHECK_STR(render1(p, "{{n}} {{#f}}\n{{/f}}\n", json), " ");
    /* Variables are never standalone. */
    B8_CHECK_STR(render1(p, "  {{missing}}\n", json), "  \n");
}

B8_TEST(standalone_partial_indentation)
{
    const char *names[] = { "main", "row", "cell" };
    const char *sources[] = {
        "<table>\n  {{>row}}\n</table>\n",
        "<tr>\n\n  {{>cell}}\n</tr>\n",
        "<td>{{{v}}}</td>\n",
    };
    b8_tmpl_set *set = load(p, 3, names, sources);
    /* Blank lines stay blank; a value's own newlines are not indented. */
    B8_CHECK_STR(render_set(p, set, "{\"v\":\"1\\n2\"}"),
                 "<table>\n  <tr>\n\n    <td>1\n2</td>\n  </tr>\n</table>\n");
    {
        const char *n2[] = { "main", "p" };
        const char *s2[] = { "a {{>p}} b\n", "[{{x}}]" };
        set = load(p, 2, n2, s2);
        B8_CHECK_STR(render_set(p, set, "{\"x\":1}"), "a [1] b\n");
    }
}

/* Writes content to dir/name with apr_file_*. */
static int write_file(apr_pool_t *p, const char *dir, const char *name, const char *content)
{
    apr_file_t *f;
    apr_size_t n = strlen(content);
    const char *path = apr_pstrcat(p, dir, "/", name, NULL);
    apr_status_t rv = apr_file_open(&f, path, APR_FOPEN_WRITE | APR_FOPEN_CREATE |
                                    APR_FOPEN_TRUNCATE, APR_FPROT_OS_DEFAULT, p);
    if (rv != APR_SUCCESS) {
        return 0;
    }
    rv = apr_file_write_full(f, content, n, NULL);
    if (apr_file_close(f) != APR_SUCCESS) {
        return 0;
    }
    return rv == APR_SUCCESS;
}

static void remove_files(apr_pool_t *p, const char *dir, const char *const *files, int n)
{
    for (int i = 0; i < n; i++) {
        B8_CHECK(apr_file_remove(apr_pstrcat(p, dir, "/", files[i], NULL), p) == APR_SUCCESS);
    }
    B8_CHECK(apr_dir_remove(dir, p) == APR_SUCCESS);
}

B8_TEST(load_dir)
{
    char tmpl[] = "/tmp/b8_tmpl_test_XXXXXX";
    const char *dir = mkdtemp(tmpl);
    const char *files[] = { "layout.html", "dashboard.html", "notes.txt" };
    b8_tmpl_set *set = NULL;
    const char *out = NULL, *err = NULL;
    cJSON *data;
    apr_status_t rv;

    B8_CHECK(dir != NULL);
    if (!dir) {
        return;
    }
    B8_CHECK(write_file(p, dir, files[0], "<html>\n  {{>dashboard}}\n</html>\n"));
    B8_CHECK(write_file(p, dir, files[1], "<p>{{msg}}</p>\n"));
    B8_CHECK(write_file(p, dir, files[2], "{{#not a template"));
    B8_CHECK(apr_dir_make(apr_pstrcat(p, dir, "/sub.html", NULL), APR_FPROT_OS_DEFAULT, p)
             == APR_SUCCESS);

    rv = b8_tmpl_load_dir(p, dir, &set, &err);
    B8_CHECK_INT(rv, APR_SUCCESS);
    if (rv == APR_SUCCESS) {
        B8_CHECK(b8_tmpl_exists(set, "layout"));
        B8_CHECK(b8_tmpl_exists(set, "dashboard"));
        B8_CHECK(!b8_tmpl_exists(set, "notes"));
        B8_CHECK(!b8_tmpl_exists(set, "sub"));
        data = cJSON_Parse("{\"msg\":\"hi & bye\"}");
        B8_CHECK(b8_tmpl_render(p, set, "layout", data, &out, &err) == APR_SUCCESS);
        B8_CHECK_STR(out, "<html>\n  <p>hi &amp; bye</p>\n</html>\n");
        cJSON_Delete(data);
    }

    /* A syntax error names the file and line. */
    B8_CHECK(write_file(p, dir, "bad.html", "ok\n{{#open}}\n"));
    rv = b8_tmpl_load_dir(p, dir, &set, &err);
    B8_CHECK_INT(rv, APR_EINVAL);
    B8_CHECK_STR(err, apr_pstrcat(p, dir, "/bad.html:2: section {{#open}} is never closed",
                                  NULL));
    B8_CHECK(apr_file_remove(apr_pstrcat(p, dir, "/bad.html", NULL), p) == APR_SUCCESS);
    B8_CHECK(apr_dir_remove(apr_pstrcat(p, dir, "/sub.html", NULL), p) == APR_SUCCESS);
    remove_files(p, dir, files, 3);

    rv = b8_tmpl_load_dir(p, dir, &set, &err);
    B8_CHECK(rv != APR_SUCCESS);
    B8_CHECK(err && strstr(err, "cannot open template directory"));
}

B8_TEST_MAIN(B8_CASE(escape_function), B8_CASE(escape_in_template), B8_CASE(raw_values),
             B8_CASE(scalars_and_missing), B8_CASE(numbers), B8_CASE(dotted_names),
             B8_CASE(lists), B8_CASE(nested_sections_and_walk_up),
             B8_CASE(booleans_and_truthiness), B8_CASE(inverted_sections), B8_CASE(comments),
             B8_CASE(partials), B8_CASE(partial_recursion),
             B8_CASE(unknown_template_and_partial), B8_CASE(syntax_errors),
             B8_CASE(standalone_lines), B8_CASE(standalone_partial_indentation),
             B8_CASE(load_dir))
