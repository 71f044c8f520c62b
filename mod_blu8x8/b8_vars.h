/* Variables in campaign texts and SMS: {name}, {first_name}, {phone}, each
 * with an optional fallback for an empty value: {name|there}. Unknown
 * braces stay as they are written. */
#ifndef B8_VARS_H
#define B8_VARS_H

#include <apr_pools.h>
#include <cjson/cJSON.h>

/* Longest fallback text (bytes); a longer one is not a variable. */
#define B8_VAR_FALLBACK_MAX 100

/* text for one recipient: name as known (NULL = none), phone in E.164.
 * NULL text stays NULL; values are not expanded again. */
const char *b8_vars_expand(apr_pool_t *p, const char *text, const char *name,
                           const char *phone);

/* 1 when text holds any variable (so each recipient's text differs). */
int b8_vars_used(const char *text);

/* 1 when text has {name} or {first_name} without a fallback: a recipient
 * without a name would get an empty value ("Hi ! ..."). */
int b8_vars_name_unguarded(const char *text);

/* Counts, over a set of recipients, of those who would get an empty value
 * without a fallback, per variable. Add each recipient's name, then ask the
 * JSON {"name": n} (n counts {name} and {first_name} alike: both are empty
 * exactly when the name is). */
typedef struct {
    long name;
} b8_vars_empty;

void b8_vars_empty_add(b8_vars_empty *e, const char *text, const char *name);
cJSON *b8_vars_empty_json(const b8_vars_empty *e);

#endif
