/* Logic-less, Mustache-style HTML templates.
 *
 * Supported tags: {{name}} (HTML-escaped), {{{name}}} and {{& name}} (raw),
 * dotted names {{a.b.c}}, {{.}} (current item), sections {{#x}}...{{/x}},
 * inverted sections {{^x}}...{{/x}}, comments {{! ... }} and partials
 * {{> name}}. Lines holding only a section, inverted, close, comment or
 * partial tag (plus blanks) are dropped from the output, as in the Mustache
 * spec; a standalone partial's indentation is applied to its lines.
 * Set-delimiter tags ({{=<% %>=}}) are not supported and fail to load.
 *
 * Templates are parsed once when loaded; a loaded set is never modified, so
 * one set may be rendered from many threads at once. */
#ifndef B8_TMPL_H
#define B8_TMPL_H

#include <apr_pools.h>
#include <cjson/cJSON.h>

/* How many partials may be nested in one render: catches a template that
 * includes itself, directly or through others. */
#define B8_TMPL_MAX_PARTIAL_DEPTH 16

/* How deeply sections may nest in one template: keeps rendering recursion
 * bounded whatever the template says. */
#define B8_TMPL_MAX_NESTING 64

/* Largest template file b8_tmpl_load_dir accepts. */
#define B8_TMPL_MAX_FILE_SIZE (16 * 1024 * 1024)

typedef struct b8_tmpl_set b8_tmpl_set;

/* Load every "*.html" file of dir (not subdirectories, not dot-files); a
 * template's name is its file name without ".html". Everything is allocated
 * in p. Syntax errors fail with APR_EINVAL and *err = "path:line: message";
 * I/O errors return the APR status with a message naming the file. */
apr_status_t b8_tmpl_load_dir(apr_pool_t *p, const char *dir, b8_tmpl_set **out,
                              const char **err);

/* Build a set from n in-memory (name, source) pairs; the strings are copied
 * into p. Messages use the template name in place of a path. A repeated
 * name fails with APR_EINVAL. */
apr_status_t b8_tmpl_load_strings(apr_pool_t *p, int n, const char *const *names,
                                  const char *const *sources, b8_tmpl_set **out,
                                  const char **err);

/* Render template name with data (normally a cJSON object; NULL is an empty
 * context) into a string allocated in p.
 * Errors: APR_NOTFOUND for an unknown template or partial, APR_EINVAL when
 * partials nest deeper than B8_TMPL_MAX_PARTIAL_DEPTH, APR_ENOMEM; *err then
 * says what and where.
 * Values: strings as is, integral numbers like JSON integers ("42"), other
 * numbers with %g, true/false as "true"/"false"; null, missing names,
 * objects and arrays render as nothing. */
apr_status_t b8_tmpl_render(apr_pool_t *p, const b8_tmpl_set *set, const char *name,
                            const cJSON *data, const char **out, const char **err);

/* 1 when the set holds a template of that name: lets configuration code
 * check for required templates at startup. */
int b8_tmpl_exists(const b8_tmpl_set *set, const char *name);

/* s with & < > " ' replaced by &amp; &lt; &gt; &quot; &#39;. Returns s
 * itself when nothing needs escaping; NULL stays NULL. */
const char *b8_html_escape(apr_pool_t *p, const char *s);

#endif
