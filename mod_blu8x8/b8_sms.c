#include "b8_sms.h"

#include <limits.h>
#include <stddef.h>
#include <string.h>

#define GSM_SINGLE 160
#define GSM_MULTI 153
#define UCS2_SINGLE 70
#define UCS2_MULTI 67
#define SENDER_ALPHA_MAX 11
/* 8x8's source is at most 16 characters, a leading '+' included. */
#define SENDER_NUMERIC_MAX 16

/* Non-ASCII characters of the GSM 03.38 default alphabet (one septet). */
static const unsigned long gsm_basic_extra[] = {
    0x00A3, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC, 0x00F2, 0x00C7, /* £ ¥ è é ù ì ò Ç */
    0x00D8, 0x00F8, 0x00C5, 0x00E5,                                 /* Ø ø Å å */
    0x0394, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8,         /* Δ Φ Γ Λ Ω Π Ψ */
    0x03A3, 0x0398, 0x039E,                                         /* Σ Θ Ξ */
    0x00C6, 0x00E6, 0x00DF, 0x00C9,                                 /* Æ æ ß É */
    0x00A4, 0x00A1, 0x00C4, 0x00D6, 0x00D1, 0x00DC, 0x00A7,         /* ¤ ¡ Ä Ö Ñ Ü § */
    0x00BF, 0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0                  /* ¿ ä ö ñ ü à */
};

/* Septets a code point takes in GSM-7: 1 (default alphabet), 2 (escape +
 * extension table) or 0 when it cannot be sent in GSM-7 at all. */
static int gsm_septets(unsigned long cp)
{
    if (cp == '\n' || cp == '\r') {
        return 1;
    }
    if (cp == '\f' || cp == 0x20AC) { /* form feed, € */
        return 2;
    }
    if (cp >= 0x20 && cp < 0x7F) {
        if (cp == '`') {
            return 0;
        }
        return strchr("^{}\\[]~|", (int)cp) ? 2 : 1;
    }
    for (size_t i = 0; i < sizeof(gsm_basic_extra) / sizeof(gsm_basic_extra[0]); i++) {
        if (gsm_basic_extra[i] == cp) {
            return 1;
        }
    }
    return 0;
}

/* Decode one code point; returns its byte length, or 0 when the bytes are
 * not well-formed UTF-8. Stops at a NUL, so it never reads past the end. */
static int utf8_decode(const unsigned char *s, unsigned long *cp)
{
    unsigned char c = s[0];

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c < 0xC2) { /* stray continuation byte or overlong 2-byte form */
        return 0;
    }
    if (c < 0xE0) {
        if ((s[1] & 0xC0) != 0x80) {
            return 0;
        }
        *cp = ((unsigned long)(c & 0x1F) << 6) | (s[1] & 0x3F);
        return 2;
    }
    if (c < 0xF0) {
        if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) {
            return 0;
        }
        *cp = ((unsigned long)(c & 0x0F) << 12) | ((unsigned long)(s[1] & 0x3F) << 6)
              | (s[2] & 0x3F);
        if (*cp < 0x800 || (*cp >= 0xD800 && *cp <= 0xDFFF)) {
            return 0;
        }
        return 3;
    }
    if (c < 0xF5) {
        if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80) {
            return 0;
        }
        *cp = ((unsigned long)(c & 0x07) << 18) | ((unsigned long)(s[1] & 0x3F) << 12)
              | ((unsigned long)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
        if (*cp < 0x10000 || *cp > 0x10FFFF) {
            return 0;
        }
        return 4;
    }
    return 0;
}

static int clamp_int(size_t n)
{
    return n > (size_t)INT_MAX ? INT_MAX : (int)n;
}

static int ceil_div(int a, int b)
{
    return a / b + (a % b != 0);
}

int b8_sms_count_text(const char *utf8, b8_sms_count *out)
{
    const unsigned char *s = (const unsigned char *)(utf8 ? utf8 : "");
    size_t chars = 0, septets = 0, ucs2 = 0;
    int gsm = 1, rc = 0;
    int single, multi;

    while (*s) {
        unsigned long cp;
        int len = utf8_decode(s, &cp);
        int sept;

        if (len == 0) {
            rc = -1;
            gsm = 0;
            break;
        }
        s += len;
        chars++;
        ucs2 += cp > 0xFFFF ? 2 : 1;
        sept = gsm ? gsm_septets(cp) : 0;
        if (sept == 0) {
            gsm = 0;
        }
        septets += (size_t)sept;
    }

    out->encoding = gsm ? B8_SMS_GSM7 : B8_SMS_UCS2;
    out->characters = clamp_int(chars);
    out->units = clamp_int(gsm ? septets : ucs2);
    single = gsm ? GSM_SINGLE : UCS2_SINGLE;
    multi = gsm ? GSM_MULTI : UCS2_MULTI;
    if (out->units <= single) {
        out->parts = out->units ? 1 : 0;
        out->per_part = single;
    }
    else {
        out->parts = ceil_div(out->units, multi);
        out->per_part = multi;
    }
    return rc;
}

const char *b8_sms_encoding_name(b8_sms_encoding e)
{
    switch (e) {
    case B8_SMS_GSM7:
        return "GSM-7";
    case B8_SMS_UCS2:
        return "UCS-2";
    }
    return "unknown";
}

const char *b8_sms_invalid_sender(const char *sender)
{
    size_t n;
    int letters = 0, digits_only = 1;

    if (!sender || !*sender) {
        return "empty";
    }
    if (sender[0] == '+') {
        n = strlen(sender + 1);
        if (n == 0 || strspn(sender + 1, "0123456789") != n) {
            return "a sender ID starting with '+' must be all digits";
        }
        return n + 1 > SENDER_NUMERIC_MAX
            ? "numeric sender ID too long (at most 16 characters with the '+')" : NULL;
    }
    n = strlen(sender);
    for (size_t i = 0; i < n; i++) {
        char c = sender[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
            letters = 1;
            digits_only = 0;
        }
        else if (c == ' ') {
            digits_only = 0;
        }
        else if (c < '0' || c > '9') {
            return "only letters, digits and spaces are allowed";
        }
    }
    if (digits_only) {
        return n > SENDER_NUMERIC_MAX ? "numeric sender ID too long (at most 16 digits)" : NULL;
    }
    if (n > SENDER_ALPHA_MAX) {
        return "alphanumeric sender ID too long (at most 11 characters)";
    }
    if (!letters) {
        return "alphanumeric sender ID needs at least one letter";
    }
    if (sender[0] == ' ' || sender[n - 1] == ' ') {
        return "must not start or end with a space";
    }
    return NULL;
}

cJSON *b8_sms_count_json(const char *text)
{
    b8_sms_count n;
    cJSON *o;
    if (b8_sms_count_text(text, &n) != 0) {
        return NULL;
    }
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "characters", n.characters);
    cJSON_AddStringToObject(o, "encoding", b8_sms_encoding_name(n.encoding));
    cJSON_AddNumberToObject(o, "units", n.units);
    cJSON_AddNumberToObject(o, "parts", n.parts);
    cJSON_AddNumberToObject(o, "per_part", n.per_part);
    return o;
}
