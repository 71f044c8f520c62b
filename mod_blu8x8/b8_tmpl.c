#include "b8_tmpl.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_tables.h>

/* ------------------------------------------------------------------ */
/* Parsed form                                                          */
/* ------------------------------------------------------------------ */

typedef enum {
    NODE_TEXT, NODE_VAR, NODE_RAW, NODE_SECTION, NODE_INVERTED, NODE_PARTIAL
} node_kind;

typedef struct b8_tmpl b8_tmpl;

typedef struct {
    node_kind kind;
    int line;
    const char *text;              /* TEXT: literal bytes (not NUL-terminated) */
    apr_size_t len;
    const char *name;              /* tag name as written */
    const char **parts;            /* name split at dots; nparts 0 means "." */
    int nparts;
    apr_array_header_t *children;  /* SECTION, INVERTED: node pointers */
    const char *indent;            /* PARTIAL: blanks before a standalone tag */
    const b8_tmpl *target;         /* PARTIAL: linked after loading; NULL if unknown */
} node;

struct b8_tmpl {
    const char *name;
    const char *label;             /* path or name, for messages */
    apr_array_header_t *nodes;
};

struct b8_tmpl_set {
    apr_hash_t *by_name;
};

#define NODES(arr) ((node **)(arr)->elts)

/* ------------------------------------------------------------------ */
/* Escaping                                                             */
/* ------------------------------------------------------------------ */

static const char *html_entity(char c)
{
    switch (c) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    case '"': return "&quot;";
    case '\'': return "&#39;";
    default: return NULL;
    }
}

const char *b8_html_escape(apr_pool_t *p, const char *s)
{
    apr_size_t extra = 0;
    const char *in;
    char *out, *o;

    if (!s) {
        return NULL;
    }
    for (in = s; *in; in++) {
        const char *ent = html_entity(*in);
        if (ent) {
            extra += strlen(ent) - 1;
        }
    }
    if (extra == 0) {
        return s;
    }
    out = apr_palloc(p, (apr_size_t)(in - s) + extra + 1);
    for (o = out, in = s; *in; in++) {
        const char *ent = html_entity(*in);
        if (ent) {
            apr_size_t n = strlen(ent);
            memcpy(o, ent, n);
            o += n;
        }
        else {
            *o++ = *in;
        }
    }
    *o = '\0';
    return out;
}

/* ------------------------------------------------------------------ */
/* Parser                                                               */
/* ------------------------------------------------------------------ */

typedef struct {
    apr_pool_t *p;
    const char *label;
    const char *src;
    apr_size_t len;
    apr_size_t text_start;         /* literal text not yet turned into a node */
    apr_size_t counted;            /* newlines counted up to this offset */
    int line;
    apr_array_header_t *root;
    apr_array_header_t *open;      /* sections awaiting their close tag */
    const char *err;
} parser;

typedef struct {
    char sigil;                    /* 0 plain, '{' triple, or one of #^/!>&= */
    apr_size_t start;              /* offset of "{{" */
    apr_size_t end;                /* offset just past the closing braces */
    const char *name;
    int line;
} tag;

static apr_status_t parse_fail(parser *ps, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static apr_status_t parse_fail(parser *ps, int line, const char *fmt, ...)
{
    va_list ap;
    const char *msg;

    va_start(ap, fmt);
    msg = apr_pvsprintf(ps->p, fmt, ap);
    va_end(ap);
    ps->err = apr_psprintf(ps->p, "%s:%d: %s", ps->label, line, msg);
    return APR_EINVAL;
}

/* Offsets asked for only grow, so lines are counted incrementally. */
static int line_at(parser *ps, apr_size_t off)
{
    for (; ps->counted < off; ps->counted++) {
        if (ps->src[ps->counted] == '\n') {
            ps->line++;
        }
    }
    return ps->line;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static int is_space(char c)
{
    return is_blank(c) || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static apr_array_header_t *container(parser *ps)
{
    if (ps->open->nelts == 0) {
        return ps->root;
    }
    return NODES(ps->open)[ps->open->nelts - 1]->children;
}

static node *add_node(parser *ps, node_kind kind, int line)
{
    node *n = apr_pcalloc(ps->p, sizeof(*n));
    n->kind = kind;
    n->line = line;
    APR_ARRAY_PUSH(container(ps), node *) = n;
    return n;
}

static void add_text(parser *ps, apr_size_t from, apr_size_t to)
{
    if (to > from) {
        node *n = add_node(ps, NODE_TEXT, 0);
        n->text = ps->src + from;
        n->len = to - from;
    }
}

static apr_status_t check_name(parser *ps, const tag *t)
{
    const char *c;

    if (!*t->name) {
        return parse_fail(ps, t->line, "empty tag name");
    }
    for (c = t->name; *c; c++) {
        if (is_space(*c) || *c == '{' || *c == '}') {
            return parse_fail(ps, t->line, "invalid tag name '%s'", t->name);
        }
    }
    return APR_SUCCESS;
}

/* Reads the tag whose "{{" is at open: its kind, trimmed name and extent. */
static apr_status_t read_tag(parser *ps, apr_size_t open, tag *t)
{
    apr_size_t inner = open + 2, cend;
    const char *closer = "}}";
    const char *close;
    char c = ps->src[inner];

    t->start = open;
    t->line = line_at(ps, open);
    t->sigil = 0;
    if (c == '{') {
        t->sigil = '{';
        closer = "}}}";
        inner++;
    }
    else if (c != '\0' && strchr("#^/!>&=", c)) {
        t->sigil = c;
        inner++;
    }
    close = strstr(ps->src + inner, closer);
    if (!close) {
        return parse_fail(ps, t->line, "tag is not closed with %s", closer);
    }
    cend = (apr_size_t)(close - ps->src);
    t->end = cend + strlen(closer);
    if (t->sigil == '!') {
        t->name = "";
        return APR_SUCCESS;
    }
    if (t->sigil == '=') {
        return parse_fail(ps, t->line, "set-delimiter tags are not supported");
    }
    while (inner < cend && is_space(ps->src[inner])) {
        inner++;
    }
    while (cend > inner && is_space(ps->src[cend - 1])) {
        cend--;
    }
    t->name = apr_pstrmemdup(ps->p, ps->src + inner, cend - inner);
    return check_name(ps, t);
}

/* Splits "a.b.c" so rendering never has to; "." becomes zero parts. */
static apr_status_t split_name(parser *ps, const tag *t, node *n)
{
    const char *s = t->name, *dot;
    int count = 1, i = 0;

    if (strcmp(s, ".") == 0) {
        n->parts = NULL;
        n->nparts = 0;
        return APR_SUCCESS;
    }
    for (dot = s; (dot = strchr(dot, '.')) != NULL; dot++) {
        count++;
    }
    n->parts = apr_palloc(ps->p, sizeof(*n->parts) * (apr_size_t)count);
    n->nparts = count;
    for (;;) {
        dot = strchr(s, '.');
        apr_size_t plen = dot ? (apr_size_t)(dot - s) : strlen(s);
        if (plen == 0) {
            return parse_fail(ps, t->line, "empty part in dotted name '%s'", t->name);
        }
        n->parts[i++] = apr_pstrmemdup(ps->p, s, plen);
        if (!dot) {
            return APR_SUCCESS;
        }
        s = dot + 1;
    }
}

static int may_stand_alone(char sigil)
{
    return sigil == '#' || sigil == '^' || sigil == '/' || sigil == '!' || sigil == '>';
}

/* A tag is standalone when only blanks share its line. Then *line_start is
 * where the line's leading blanks begin and *next is the start of the next
 * line (or the end of the source). */
static int standalone(const parser *ps, const tag *t, apr_size_t *line_start,
                      apr_size_t *next)
{
    const char *s = ps->src;
    apr_size_t k = t->start, e = t->end;

    /* Text before text_start belongs to an earlier tag's line. */
    while (k > ps->text_start && is_blank(s[k - 1])) {
        k--;
    }
    if (k > 0 && s[k - 1] != '\n') {
        return 0;
    }
    while (e < ps->len && is_blank(s[e])) {
        e++;
    }
    if (e + 1 < ps->len && s[e] == '\r' && s[e + 1] == '\n') {
        e += 2;
    }
    else if (e < ps->len && s[e] == '\n') {
        e++;
    }
    else if (e != ps->len) {
        return 0;
    }
    *line_start = k;
    *next = e;
    return 1;
}

static apr_status_t open_section(parser *ps, const tag *t)
{
    node *n;
    apr_status_t rv;

    if (ps->open->nelts >= B8_TMPL_MAX_NESTING) {
        return parse_fail(ps, t->line, "sections nested more than %d deep",
                          B8_TMPL_MAX_NESTING);
    }
    n = add_node(ps, t->sigil == '#' ? NODE_SECTION : NODE_INVERTED, t->line);
    n->name = t->name;
    n->children = apr_array_make(ps->p, 4, sizeof(node *));
    rv = split_name(ps, t, n);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    APR_ARRAY_PUSH(ps->open, node *) = n;
    return APR_SUCCESS;
}

static apr_status_t close_section(parser *ps, const tag *t)
{
    node *top;

    if (ps->open->nelts == 0) {
        return parse_fail(ps, t->line, "{{/%s}} without an open section", t->name);
    }
    top = NODES(ps->open)[ps->open->nelts - 1];
    if (strcmp(top->name, t->name) != 0) {
        return parse_fail(ps, t->line, "{{/%s}} does not match {{%c%s}} opened on line %d",
                          t->name, top->kind == NODE_SECTION ? '#' : '^', top->name,
                          top->line);
    }
    ps->open->nelts--;
    return APR_SUCCESS;
}

static apr_status_t add_tag(parser *ps, const tag *t, const char *indent)
{
    node *n;

    switch (t->sigil) {
    case '!':
        return APR_SUCCESS;
    case '#':
    case '^':
        return open_section(ps, t);
    case '/':
        return close_section(ps, t);
    case '>':
        n = add_node(ps, NODE_PARTIAL, t->line);
        n->name = t->name;
        n->indent = indent;
        return APR_SUCCESS;
    default:
        n = add_node(ps, t->sigil == 0 ? NODE_VAR : NODE_RAW, t->line);
        n->name = t->name;
        return split_name(ps, t, n);
    }
}

/* Handles the tag at open and moves text_start past it. */
static apr_status_t parse_tag(parser *ps, apr_size_t open)
{
    tag t;
    apr_size_t text_end = open, next, line_start;
    const char *indent = "";
    apr_status_t rv;

    rv = read_tag(ps, open, &t);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    next = t.end;
    if (may_stand_alone(t.sigil) && standalone(ps, &t, &line_start, &next)) {
        text_end = line_start;
        indent = apr_pstrmemdup(ps->p, ps->src + line_start, open - line_start);
    }
    add_text(ps, ps->text_start, text_end);
    rv = add_tag(ps, &t, indent);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    ps->text_start = next;
    return APR_SUCCESS;
}

static apr_status_t parse_template(apr_pool_t *p, const char *name, const char *label,
                                   const char *src, b8_tmpl **out, const char **err)
{
    parser ps;
    const char *open;
    apr_status_t rv;

    memset(&ps, 0, sizeof(ps));
    ps.p = p;
    ps.label = label;
    ps.src = src;
    ps.len = strlen(src);
    ps.line = 1;
    ps.root = apr_array_make(p, 8, sizeof(node *));
    ps.open = apr_array_make(p, 8, sizeof(node *));

    while ((open = strstr(src + ps.text_start, "{{")) != NULL) {
        rv = parse_tag(&ps, (apr_size_t)(open - src));
        if (rv != APR_SUCCESS) {
            *err = ps.err;
            return rv;
        }
    }
    add_text(&ps, ps.text_start, ps.len);
    if (ps.open->nelts > 0) {
        node *n = NODES(ps.open)[ps.open->nelts - 1];
        parse_fail(&ps, n->line, "section {{%c%s}} is never closed",
                   n->kind == NODE_SECTION ? '#' : '^', n->name);
        *err = ps.err;
        return APR_EINVAL;
    }
    *out = apr_pcalloc(p, sizeof(**out));
    (*out)->name = name;
    (*out)->label = label;
    (*out)->nodes = ps.root;
    return APR_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* Loading                                                              */
/* ------------------------------------------------------------------ */

static b8_tmpl_set *new_set(apr_pool_t *p)
{
    b8_tmpl_set *set = apr_pcalloc(p, sizeof(*set));
    set->by_name = apr_hash_make(p);
    return set;
}

static apr_status_t add_template(apr_pool_t *p, b8_tmpl_set *set, const char *name,
                                 const char *label, const char *src, const char **err)
{
    b8_tmpl *t;
    apr_status_t rv;

    if (apr_hash_get(set->by_name, name, APR_HASH_KEY_STRING)) {
        *err = apr_psprintf(p, "%s: template '%s' defined twice", label, name);
        return APR_EINVAL;
    }
    rv = parse_template(p, name, label, src, &t, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    apr_hash_set(set->by_name, t->name, APR_HASH_KEY_STRING, t);
    return APR_SUCCESS;
}

/* Resolving partials once means rendering does no name lookups for them.
 * Unknown ones stay NULL: that is an error only if a render reaches them. */
static void link_nodes(const b8_tmpl_set *set, apr_array_header_t *nodes)
{
    for (int i = 0; i < nodes->nelts; i++) {
        node *n = NODES(nodes)[i];
        if (n->kind == NODE_PARTIAL) {
            n->target = apr_hash_get(set->by_name, n->name, APR_HASH_KEY_STRING);
        }
        else if (n->children) {
            link_nodes(set, n->children);
        }
    }
}

static void link_partials(apr_pool_t *p, b8_tmpl_set *set)
{
    apr_hash_index_t *hi;

    for (hi = apr_hash_first(p, set->by_name); hi; hi = apr_hash_next(hi)) {
        b8_tmpl *t = apr_hash_this_val(hi);
        link_nodes(set, t->nodes);
    }
}

apr_status_t b8_tmpl_load_strings(apr_pool_t *p, int n, const char *const *names,
                                  const char *const *sources, b8_tmpl_set **out,
                                  const char **err)
{
    b8_tmpl_set *set = new_set(p);
    apr_status_t rv;

    *err = NULL;
    for (int i = 0; i < n; i++) {
        const char *name;
        if (!names[i] || !sources[i]) {
            *err = apr_psprintf(p, "template #%d has no name or no source", i);
            return APR_EINVAL;
        }
        name = apr_pstrdup(p, names[i]);
        rv = add_template(p, set, name, name, apr_pstrdup(p, sources[i]), err);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    link_partials(p, set);
    *out = set;
    return APR_SUCCESS;
}

static apr_status_t read_whole_file(apr_pool_t *p, const char *path, const char **out,
                                    const char **err)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_size_t size, got = 0;
    char *buf;
    apr_status_t rv, crv;

    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, APR_FPROT_OS_DEFAULT, p);
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "%s: cannot open: %pm", path, &rv);
        return rv;
    }
    rv = apr_file_info_get(&fi, APR_FINFO_SIZE, f);
    if (rv == APR_SUCCESS && (fi.size < 0 || fi.size > B8_TMPL_MAX_FILE_SIZE)) {
        *err = apr_psprintf(p, "%s: larger than %d bytes", path, B8_TMPL_MAX_FILE_SIZE);
        apr_file_close(f);
        return APR_EINVAL;
    }
    size = rv == APR_SUCCESS ? (apr_size_t)fi.size : 0;
    buf = apr_palloc(p, size + 1);
    if (rv == APR_SUCCESS && size > 0) {
        rv = apr_file_read_full(f, buf, size, &got);
    }
    crv = apr_file_close(f);
    if (rv == APR_SUCCESS) {
        rv = crv;
    }
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "%s: cannot read: %pm", path, &rv);
        return rv;
    }
    buf[got] = '\0';
    /* Parsing works on C strings, so a NUL would silently cut the template. */
    if (strlen(buf) != got) {
        *err = apr_psprintf(p, "%s: contains a NUL byte", path);
        return APR_EINVAL;
    }
    *out = buf;
    return APR_SUCCESS;
}

/* The template name for a directory entry, or NULL when it is not one. */
static const char *template_name(apr_pool_t *p, const char *file)
{
    static const char ext[] = ".html";
    apr_size_t len = strlen(file), elen = sizeof(ext) - 1;

    if (file[0] == '.' || len <= elen || strcmp(file + len - elen, ext) != 0) {
        return NULL;
    }
    return apr_pstrmemdup(p, file, len - elen);
}

/* Only regular files (or links to them) are templates. */
static int is_regular(apr_pool_t *p, const char *path, apr_finfo_t *fi)
{
    if (!(fi->valid & APR_FINFO_TYPE) || fi->filetype == APR_LNK) {
        if (apr_stat(fi, path, APR_FINFO_TYPE, p) != APR_SUCCESS) {
            return 0;
        }
    }
    return fi->filetype == APR_REG;
}

static apr_status_t load_entries(apr_pool_t *p, const char *dir, apr_dir_t *d,
                                 b8_tmpl_set *set, const char **err)
{
    for (;;) {
        apr_finfo_t fi;
        const char *name, *src = NULL;
        char *path;
        apr_status_t rv = apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d);

        if (APR_STATUS_IS_ENOENT(rv)) {
            return APR_SUCCESS;
        }
        if (rv != APR_SUCCESS && rv != APR_INCOMPLETE) {
            *err = apr_psprintf(p, "%s: cannot read directory: %pm", dir, &rv);
            return rv;
        }
        if (!(fi.valid & APR_FINFO_NAME) || !(name = template_name(p, fi.name))) {
            continue;
        }
        rv = apr_filepath_merge(&path, dir, fi.name, 0, p);
        if (rv != APR_SUCCESS) {
            *err = apr_psprintf(p, "%s/%s: bad path: %pm", dir, fi.name, &rv);
            return rv;
        }
        if (!is_regular(p, path, &fi)) {
            continue;
        }
        rv = read_whole_file(p, path, &src, err);
        if (rv == APR_SUCCESS) {
            rv = add_template(p, set, name, path, src, err);
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
}

apr_status_t b8_tmpl_load_dir(apr_pool_t *p, const char *dir, b8_tmpl_set **out,
                              const char **err)
{
    b8_tmpl_set *set = new_set(p);
    apr_dir_t *d;
    apr_status_t rv, crv;

    *err = NULL;
    rv = apr_dir_open(&d, dir, p);
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "%s: cannot open template directory: %pm", dir, &rv);
        return rv;
    }
    rv = load_entries(p, dir, d, set, err);
    crv = apr_dir_close(d);
    if (rv == APR_SUCCESS && crv != APR_SUCCESS) {
        *err = apr_psprintf(p, "%s: cannot close directory: %pm", dir, &crv);
        rv = crv;
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    link_partials(p, set);
    *out = set;
    return APR_SUCCESS;
}

int b8_tmpl_exists(const b8_tmpl_set *set, const char *name)
{
    return set && name && apr_hash_get(set->by_name, name, APR_HASH_KEY_STRING) != NULL;
}

/* ------------------------------------------------------------------ */
/* Rendering                                                            */
/* ------------------------------------------------------------------ */

/* Context stack: frames live on the C stack of the rendering calls. */
typedef struct frame {
    const cJSON *value;
    const struct frame *up;
} frame;

/* malloc'd so that growing does not leave dead copies in the pool. */
typedef struct {
    char *data;
    apr_size_t len;
    apr_size_t cap;
    int nomem;
} outbuf;

typedef struct {
    apr_pool_t *p;
    outbuf out;
    const b8_tmpl *cur;            /* template being rendered, for messages */
    const char *indent;            /* prefix for lines of standalone partials */
    int line_start;                /* output is at the start of a line */
    int depth;                     /* partials currently nested */
    const char *err;
} render_state;

static int buf_reserve(outbuf *b, apr_size_t n)
{
    apr_size_t cap;
    char *grown;

    if (b->nomem || n > SIZE_MAX - b->len) {
        b->nomem = 1;
        return 0;
    }
    if (b->len + n <= b->cap) {
        return 1;
    }
    cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) {
        cap = cap > SIZE_MAX / 2 ? b->len + n : cap * 2;
    }
    grown = realloc(b->data, cap);
    if (!grown) {
        b->nomem = 1;
        return 0;
    }
    b->data = grown;
    b->cap = cap;
    return 1;
}

static void buf_append(outbuf *b, const char *s, apr_size_t n)
{
    if (n > 0 && buf_reserve(b, n)) {
        memcpy(b->data + b->len, s, n);
        b->len += n;
    }
}

static void buf_append_escaped(outbuf *b, const char *s)
{
    const char *run = s;

    for (; *s; s++) {
        const char *ent = html_entity(*s);
        if (ent) {
            buf_append(b, run, (apr_size_t)(s - run));
            buf_append(b, ent, strlen(ent));
            run = s + 1;
        }
    }
    buf_append(b, run, (apr_size_t)(s - run));
}

/* Literal text; inside an indented partial each non-empty line gets the
 * indentation (blank lines stay blank so the HTML has no trailing spaces). */
static void emit_text(render_state *st, const char *s, apr_size_t n)
{
    if (!*st->indent) {
        buf_append(&st->out, s, n);
        return;
    }
    while (n > 0) {
        const char *nl = memchr(s, '\n', n);
        apr_size_t seg = nl ? (apr_size_t)(nl - s) + 1 : n;
        int blank = nl && (seg == 1 || (seg == 2 && s[0] == '\r'));
        if (st->line_start && !blank) {
            buf_append(&st->out, st->indent, strlen(st->indent));
        }
        buf_append(&st->out, s, seg);
        st->line_start = nl != NULL;
        s += seg;
        n -= seg;
    }
}

/* A value's own newlines are data, so only the first line is indented. */
static void emit_value(render_state *st, const char *s, int escape)
{
    if (!*s) {
        return;
    }
    if (*st->indent && st->line_start) {
        buf_append(&st->out, st->indent, strlen(st->indent));
    }
    st->line_start = 0;
    if (escape) {
        buf_append_escaped(&st->out, s);
    }
    else {
        buf_append(&st->out, s, strlen(s));
    }
}

static const cJSON *lookup(const frame *ctx, const node *n)
{
    const cJSON *v = NULL;
    const frame *f;

    if (n->nparts == 0) {
        return ctx->value;
    }
    /* Only the first part walks up the stack; the rest must be inside it. */
    for (f = ctx; f && !v; f = f->up) {
        if (cJSON_IsObject(f->value)) {
            v = cJSON_GetObjectItemCaseSensitive(f->value, n->parts[0]);
        }
    }
    for (int i = 1; v && i < n->nparts; i++) {
        v = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, n->parts[i]) : NULL;
    }
    return v;
}

static void format_number(double d, char *buf, apr_size_t size)
{
    /* Exactly representable integers print like JSON integers. */
    if (d > -9007199254740992.0 && d < 9007199254740992.0 && d == (double)(long long)d) {
        snprintf(buf, size, "%lld", (long long)d);
    }
    else {
        snprintf(buf, size, "%g", d);
    }
}

static const char *scalar_text(const cJSON *v, char *num, apr_size_t numsize)
{
    if (cJSON_IsString(v)) {
        return v->valuestring ? v->valuestring : "";
    }
    if (cJSON_IsNumber(v)) {
        format_number(v->valuedouble, num, numsize);
        return num;
    }
    if (cJSON_IsTrue(v)) {
        return "true";
    }
    if (cJSON_IsFalse(v)) {
        return "false";
    }
    return "";   /* missing, null, objects and arrays */
}

static int is_truthy(const cJSON *v)
{
    if (cJSON_IsArray(v)) {
        return v->child != NULL;
    }
    if (cJSON_IsObject(v) || cJSON_IsTrue(v)) {
        return 1;
    }
    if (cJSON_IsString(v)) {
        return v->valuestring && *v->valuestring;
    }
    if (cJSON_IsNumber(v)) {
        return v->valuedouble != 0.0 && v->valuedouble == v->valuedouble;   /* NaN is false */
    }
    return 0;
}

static apr_status_t render_nodes(render_state *st, const apr_array_header_t *nodes,
                                 const frame *ctx);

static apr_status_t render_section(render_state *st, const node *n, const frame *ctx)
{
    const cJSON *v = lookup(ctx, n);
    frame f;

    if (n->kind == NODE_INVERTED) {
        return is_truthy(v) ? APR_SUCCESS : render_nodes(st, n->children, ctx);
    }
    if (!is_truthy(v)) {
        return APR_SUCCESS;
    }
    f.up = ctx;
    if (!cJSON_IsArray(v)) {
        f.value = v;
        return render_nodes(st, n->children, &f);
    }
    for (const cJSON *item = v->child; item; item = item->next) {
        apr_status_t rv;
        f.value = item;
        rv = render_nodes(st, n->children, &f);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

static apr_status_t render_partial(render_state *st, const node *n, const frame *ctx)
{
    const b8_tmpl *saved_cur = st->cur;
    const char *saved_indent = st->indent;
    apr_status_t rv;

    if (!n->target) {
        st->err = apr_psprintf(st->p, "%s:%d: unknown partial '%s'", st->cur->label,
                               n->line, n->name);
        return APR_NOTFOUND;
    }
    if (st->depth >= B8_TMPL_MAX_PARTIAL_DEPTH) {
        st->err = apr_psprintf(st->p, "%s:%d: partial '%s' nested more than %d deep "
                               "(recursive partial?)", st->cur->label, n->line, n->name,
                               B8_TMPL_MAX_PARTIAL_DEPTH);
        return APR_EINVAL;
    }
    if (*n->indent) {
        st->indent = *saved_indent ? apr_pstrcat(st->p, saved_indent, n->indent, NULL)
                                   : n->indent;
        st->line_start = 1;   /* a standalone tag starts its line */
    }
    st->cur = n->target;
    st->depth++;
    rv = render_nodes(st, n->target->nodes, ctx);
    st->depth--;
    st->cur = saved_cur;
    st->indent = saved_indent;
    return rv;
}

static apr_status_t render_node(render_state *st, const node *n, const frame *ctx)
{
    char num[64];

    switch (n->kind) {
    case NODE_TEXT:
        emit_text(st, n->text, n->len);
        return APR_SUCCESS;
    case NODE_VAR:
    case NODE_RAW:
        emit_value(st, scalar_text(lookup(ctx, n), num, sizeof(num)), n->kind == NODE_VAR);
        return APR_SUCCESS;
    case NODE_SECTION:
    case NODE_INVERTED:
        return render_section(st, n, ctx);
    case NODE_PARTIAL:
        return render_partial(st, n, ctx);
    }
    return APR_EGENERAL;
}

static apr_status_t render_nodes(render_state *st, const apr_array_header_t *nodes,
                                 const frame *ctx)
{
    for (int i = 0; i < nodes->nelts; i++) {
        apr_status_t rv = render_node(st, ((const node *const *)nodes->elts)[i], ctx);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        if (st->out.nomem) {
            st->err = apr_psprintf(st->p, "%s: out of memory while rendering",
                                   st->cur->label);
            return APR_ENOMEM;
        }
    }
    return APR_SUCCESS;
}

apr_status_t b8_tmpl_render(apr_pool_t *p, const b8_tmpl_set *set, const char *name,
                            const cJSON *data, const char **out, const char **err)
{
    render_state st;
    frame root;
    apr_status_t rv;

    *out = NULL;
    *err = NULL;
    memset(&st, 0, sizeof(st));
    st.p = p;
    st.indent = "";
    st.line_start = 1;
    st.cur = name ? apr_hash_get(set->by_name, name, APR_HASH_KEY_STRING) : NULL;
    if (!st.cur) {
        *err = apr_psprintf(p, "unknown template '%s'", name ? name : "(null)");
        return APR_NOTFOUND;
    }
    root.value = data;
    root.up = NULL;
    rv = render_nodes(&st, st.cur->nodes, &root);
    if (rv == APR_SUCCESS) {
        *out = apr_pstrmemdup(p, st.out.data ? st.out.data : "", st.out.len);
    }
    else {
        *err = st.err;
    }
    free(st.out.data);
    return rv;
}
