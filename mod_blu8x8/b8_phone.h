/* Phone numbers: normalisation to E.164 and keys for matching inbound
 * messages to contacts. The business is in the Philippines, so callers
 * normally pass "63" as the default country. */
#ifndef B8_PHONE_H
#define B8_PHONE_H

#include <apr_pools.h>

/* Normalise user input to E.164 ("+639171234567"). Spaces, tabs, dashes,
 * dots and brackets are ignored; a leading "00" means "+". With "+" (or
 * "00") the number keeps its own country, and a "(0)" trunk hint after the
 * country code is dropped. Without it: a leading 0 is a national trunk
 * prefix and is replaced by default_country; digits that already start with
 * default_country followed by at least 8 more digits are taken as
 * international; anything else gets default_country prefixed.
 * default_country NULL means "63". Returns NULL with *why (if why is not
 * NULL) set to a short reason: "empty", "contains letters", "contains
 * invalid characters", "'+' is only allowed at the start", "too short",
 * "too long (E.164 allows at most 15 digits)", "country code cannot start
 * with 0" or "invalid default country code". */
const char *b8_phone_e164(apr_pool_t *p, const char *input, const char *default_country,
                          const char **why);

/* Digits of the E.164 form ("639171234567"), equal for every way of writing
 * the same number; NULL when the input is not a valid number. */
const char *b8_phone_match_key(apr_pool_t *p, const char *input, const char *default_country);

/* 1 when country is 1-3 ASCII digits not starting with 0 (no calling code
 * starts with 0), else 0. */
int b8_phone_country_valid(const char *country);

#endif
