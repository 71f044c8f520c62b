#include "b8_phone.h"

#include <string.h>
#include <apr_strings.h>

#define B8_PHONE_DEFAULT_COUNTRY "63"
#define B8_PHONE_MIN_DIGITS 8
#define B8_PHONE_MAX_DIGITS 15
/* Digits that must follow the default country code before "639171234567"
 * is read as international rather than as a national number that happens
 * to start with those digits. */
#define B8_PHONE_MIN_AFTER_COUNTRY 8
/* Room for the digits we keep; anything longer is rejected as too long
 * without looking further, so the buffer cannot overflow. */
#define B8_PHONE_BUF 32

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int b8_phone_country_valid(const char *country)
{
    size_t n;

    if (!country) {
        return 0;
    }
    n = strlen(country);
    if (n < 1 || n > 3 || country[0] == '0') {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(country[i])) {
            return 0;
        }
    }
    return 1;
}

const char *b8_phone_e164(apr_pool_t *p, const char *input, const char *default_country,
                          const char **why)
{
    char digits[B8_PHONE_BUF];
    char out[B8_PHONE_BUF + 8];
    size_t nd = 0, total = 0, cc_len;
    const char *rest;
    const char *ignored;
    int plus = 0, seen = 0;

    if (!why) {
        why = &ignored;
    }
    *why = NULL;
    if (!default_country) {
        default_country = B8_PHONE_DEFAULT_COUNTRY;
    }
    if (!b8_phone_country_valid(default_country)) {
        *why = "invalid default country code";
        return NULL;
    }
    cc_len = strlen(default_country);
    if (!input) {
        *why = "empty";
        return NULL;
    }

    for (const char *s = input; *s; s++) {
        char c = *s;
        if (is_digit(c)) {
            if (nd < sizeof(digits) - 1) {
                digits[nd++] = c;
            }
            total++;
            seen = 1;
        }
        else if (c == '+') {
            if (seen) {
                *why = "'+' is only allowed at the start";
                return NULL;
            }
            plus = seen = 1;
        }
        else if (c == '(' && s[1] == '0' && s[2] == ')'
                 && ((plus && nd > 0) || (nd > 2 && digits[0] == '0' && digits[1] == '0'))) {
            /* "+63 (0) 917 ...": the bracketed 0 is only dialled nationally. */
            s += 2;
        }
        else if (c == ' ' || c == '\t' || c == '-' || c == '.'
                 || c == '(' || c == ')' || c == '[' || c == ']') {
            continue;
        }
        else if (is_letter(c)) {
            *why = "contains letters";
            return NULL;
        }
        else {
            *why = "contains invalid characters";
            return NULL;
        }
    }
    if (!seen) {
        *why = "empty";
        return NULL;
    }
    if (total > nd) {
        *why = "too long (E.164 allows at most 15 digits)";
        return NULL;
    }
    digits[nd] = '\0';

    out[0] = '+';
    out[1] = '\0';
    if (plus) {
        rest = digits;
    }
    else if (nd >= 2 && digits[0] == '0' && digits[1] == '0') {
        rest = digits + 2;
    }
    else if (nd >= 1 && digits[0] == '0') {
        /* National trunk prefix: the country code takes its place. */
        memcpy(out + 1, default_country, cc_len + 1);
        rest = digits + 1;
    }
    else if (nd >= cc_len + B8_PHONE_MIN_AFTER_COUNTRY
             && strncmp(digits, default_country, cc_len) == 0) {
        rest = digits;
    }
    else {
        memcpy(out + 1, default_country, cc_len + 1);
        rest = digits;
    }
    if (out[1] == '\0' && rest[0] == '0') {
        *why = "country code cannot start with 0";
        return NULL;
    }
    /* out holds at most "+" and 3 digits, rest at most B8_PHONE_BUF - 1. */
    strcat(out, rest);

    nd = strlen(out) - 1;
    if (nd < B8_PHONE_MIN_DIGITS) {
        *why = "too short";
        return NULL;
    }
    if (nd > B8_PHONE_MAX_DIGITS) {
        *why = "too long (E.164 allows at most 15 digits)";
        return NULL;
    }
    return apr_pstrdup(p, out);
}

const char *b8_phone_match_key(apr_pool_t *p, const char *input, const char *default_country)
{
    const char *e164 = b8_phone_e164(p, input, default_country, NULL);

    return e164 ? e164 + 1 : NULL;
}
