/* SMS encoding and part counting, shared by the campaign form counter and
 * the SMS composer so both always agree with what 8x8 will bill. */
#ifndef B8_SMS_H
#define B8_SMS_H

#include <cjson/cJSON.h>

typedef enum { B8_SMS_GSM7 = 0, B8_SMS_UCS2 = 1 } b8_sms_encoding;

typedef struct {
    b8_sms_encoding encoding;
    int characters;   /* user-visible characters (Unicode code points) */
    int units;        /* GSM-7 septets (extension-table chars count 2) or UCS-2 code units (non-BMP counts 2) */
    int parts;        /* 0 for empty text; GSM-7: 1 if units <= 160 else ceil(units/153); UCS-2: 1 if units <= 70 else ceil(units/67) */
    int per_part;     /* 160/153 or 70/67 as applies (the limit of the current part size) */
} b8_sms_count;

#define B8_SMS_MAX_PARTS 10

/* Count a NUL-terminated UTF-8 text (NULL counts as empty). Returns 0, or -1
 * on invalid UTF-8 (overlong forms, surrogates, truncated sequences, above
 * U+10FFFF); then *out holds the UCS-2 counts of the valid prefix. Counts
 * saturate at INT_MAX. */
int b8_sms_count_text(const char *utf8, b8_sms_count *out);

/* "GSM-7" / "UCS-2" ("unknown" for any other value). */
const char *b8_sms_encoding_name(b8_sms_encoding e);

/* Sender IDs 8x8 accepts: alphanumeric of at most 11 characters (ASCII
 * letters, digits, spaces; at least one letter; no leading or trailing
 * space), or numeric of at most 16 characters, an optional leading "+" included (8x8's limit).
 * Returns NULL when valid, else a short reason. */
const char *b8_sms_invalid_sender(const char *sender);

/* The SMS parts of a text: {"characters", "encoding": "GSM-7"|"UCS-2",
 * "units", "parts", "per_part"}; NULL when text is not valid UTF-8. */
cJSON *b8_sms_count_json(const char *text);

#endif
