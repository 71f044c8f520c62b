#include "b8_vars.h"

#include <ctype.h>
#include <string.h>
#include <apr_strings.h>

typedef enum { VAR_NONE, VAR_NAME, VAR_FIRST_NAME, VAR_PHONE } var_kind;

/* A variable at s: its kind, length in the text, and fallback (or NULL). */
typedef struct {
    var_kind kind;
    apr_size_t len;
    const char *fallback;
    apr_size_t fallback_len;
} var_ref;

static int var_at(const char *s, var_ref *v)
{
    static const struct { const char *word; var_kind kind; } words[] = {
        { "name", VAR_NAME }, { "first_name", VAR_FIRST_NAME }, { "phone", VAR_PHONE },
    };
    if (*s != '{') {
        return 0;
    }
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        apr_size_t n = strlen(words[i].word);
        const char *after = s + 1 + n;
        if (strncmp(s + 1, words[i].word, n) != 0) {
            continue;
        }
        if (*after == '}') {
            v->kind = words[i].kind;
            v->len = n + 2;
            v->fallback = NULL;
            v->fallback_len = 0;
            return 1;
        }
        if (*after == '|') {
            const char *f = after + 1, *e = f;
            while (*e && *e != '}' && *e != '{' && *e != '\n' && e - f <= B8_VAR_FALLBACK_MAX) {
                e++;
            }
            if (*e != '}' || e - f > B8_VAR_FALLBACK_MAX) {
                return 0;
            }
            v->kind = words[i].kind;
            v->len = (apr_size_t)(e + 1 - s);
            v->fallback = f;
            v->fallback_len = (apr_size_t)(e - f);
            return 1;
        }
    }
    return 0;
}

/* The name without surrounding white space (start and length). */
static const char *trimmed(const char *s, apr_size_t *len)
{
    const char *e;
    if (!s) {
        *len = 0;
        return "";
    }
    while (*s && isspace((unsigned char)*s)) {
        s++;
    }
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) {
        e--;
    }
    *len = (apr_size_t)(e - s);
    return s;
}

/* The value of one variable for this recipient (start and length). */
static const char *value_of(const var_ref *v, const char *name, const char *phone,
                            apr_size_t *len)
{
    const char *s;
    switch (v->kind) {
    case VAR_NAME:
        return trimmed(name, len);
    case VAR_FIRST_NAME:
        s = trimmed(name, len);
        for (apr_size_t i = 0; i < *len; i++) {
            if (isspace((unsigned char)s[i])) {
                *len = i;
                break;
            }
        }
        return s;
    case VAR_PHONE:
        *len = phone ? strlen(phone) : 0;
        return phone ? phone : "";
    default:
        *len = 0;
        return "";
    }
}

const char *b8_vars_expand(apr_pool_t *p, const char *text, const char *name,
                           const char *phone)
{
    apr_size_t total = 0;
    char *out = NULL, *o = NULL;
    const char *s;

    if (!text) {
        return NULL;
    }
    /* Two passes: the length, then the copy. */
    for (int pass = 0; pass < 2; pass++) {
        o = pass ? (out = apr_palloc(p, total + 1)) : NULL;
        for (s = text; *s;) {
            var_ref v;
            const char *val;
            apr_size_t n;
            if (!var_at(s, &v)) {
                if (pass) {
                    *o++ = *s;
                }
                else {
                    total++;
                }
                s++;
                continue;
            }
            val = value_of(&v, name, phone, &n);
            if (!n && v.fallback) {
                val = v.fallback;
                n = v.fallback_len;
            }
            if (pass) {
                memcpy(o, val, n);
                o += n;
            }
            else {
                total += n;
            }
            s += v.len;
        }
    }
    *o = '\0';
    return out;
}

int b8_vars_used(const char *text)
{
    var_ref v;
    for (const char *s = text; s && *s; s++) {
        if (var_at(s, &v)) {
            return 1;
        }
    }
    return 0;
}

int b8_vars_name_unguarded(const char *text)
{
    var_ref v;
    for (const char *s = text; s && *s; s++) {
        if (var_at(s, &v) && (v.kind == VAR_NAME || v.kind == VAR_FIRST_NAME) && !v.fallback) {
            return 1;
        }
    }
    return 0;
}

void b8_vars_empty_add(b8_vars_empty *e, const char *text, const char *name)
{
    apr_size_t n;
    trimmed(name, &n);
    if (!n && b8_vars_name_unguarded(text)) {
        e->name++;
    }
}

cJSON *b8_vars_empty_json(const b8_vars_empty *e)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "name", (double)e->name);
    return o;
}
