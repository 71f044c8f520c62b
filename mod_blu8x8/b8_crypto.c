#include "b8_crypto.h"
#include "b8_runtime.h"
#include "b8_util.h"

#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

static const char hexdigits[] = "0123456789abcdef";

static char *to_hex(apr_pool_t *p, const unsigned char *buf, apr_size_t n)
{
    char *out = apr_palloc(p, n * 2 + 1);
    for (apr_size_t i = 0; i < n; i++) {
        out[2 * i] = hexdigits[buf[i] >> 4];
        out[2 * i + 1] = hexdigits[buf[i] & 0x0f];
    }
    out[n * 2] = '\0';
    return out;
}

const char *b8_random_hex(apr_pool_t *p, apr_size_t nbytes)
{
    unsigned char *buf = apr_palloc(p, nbytes);
    if (apr_generate_random_bytes(buf, nbytes) != APR_SUCCESS) {
        return NULL;
    }
    return to_hex(p, buf, nbytes);
}

const char *b8_uuid4(apr_pool_t *p)
{
    unsigned char b[16];
    if (apr_generate_random_bytes(b, sizeof(b)) != APR_SUCCESS) {
        return NULL;
    }
    return b8_uuid4_from(p, b);
}

const char *b8_uuid4_from(apr_pool_t *p, const unsigned char *random16)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    char *out = apr_palloc(p, 37), *o = out;

    memcpy(b, random16, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);   /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);   /* RFC 4122 variant */
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            *o++ = '-';
        }
        *o++ = hex[b[i] >> 4];
        *o++ = hex[b[i] & 15];
    }
    *o = '\0';
    return out;
}

const char *b8_hmac_sha256_hex(apr_pool_t *p, const char *key, const char *msg)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)msg,
              strlen(msg), md, &mdlen)) {
        return NULL;
    }
    return to_hex(p, md, mdlen);
}

int b8_secure_equals(const char *a, const char *b)
{
    apr_size_t la, lb;
    unsigned char diff;

    if (!a || !b) {
        return 0;
    }
    la = strlen(a);
    lb = strlen(b);
    /* Walk b's length whatever a is, so timing tells nothing about b. */
    diff = (unsigned char)(la != lb);
    for (apr_size_t i = 0; i < lb; i++) {
        unsigned char ca = (unsigned char)(i < la ? a[i] : 0);
        diff |= (unsigned char)(ca ^ (unsigned char)b[i]);
    }
    return diff == 0;
}

int b8_secure_equals_hashed(const char *a, const char *b)
{
    unsigned char ha[EVP_MAX_MD_SIZE], hb[EVP_MAX_MD_SIZE];
    unsigned int la = 0, lb = 0;

    if (!a || !b) {
        return 0;
    }
    if (!EVP_Digest(a, strlen(a), ha, &la, EVP_sha256(), NULL)
        || !EVP_Digest(b, strlen(b), hb, &lb, EVP_sha256(), NULL)) {
        return 0;
    }
    return la == lb && CRYPTO_memcmp(ha, hb, la) == 0;
}

/* ------------------------------------------------------ the server secret */

apr_status_t b8_server_secret(b8_db *db, apr_pool_t *p, const char **secret)
{
    const char *fresh;
    const char *args[3];
    apr_status_t rv;

    /* Made once at start: every later call is a read, never a write (claim
     * taps arrive many at a time). */
    if (b8_runtime_get(db, p, "server_secret", secret, NULL) == APR_SUCCESS && *secret) {
        return APR_SUCCESS;
    }
    if (!(fresh = b8_random_hex(p, 32))) {
        return APR_EGENERAL;
    }
    /* Whoever inserts first wins; everybody then reads the same value. */
    args[0] = "server_secret";
    args[1] = fresh;
    args[2] = b8_now_iso(p);
    rv = b8_db_exec(db, p, B8_SQL_RUNTIME_PUT_IF_ABSENT, args, NULL);
    if (rv == APR_SUCCESS) {
        rv = b8_runtime_get(db, p, "server_secret", secret, NULL);
    }
    return rv == APR_SUCCESS && *secret ? APR_SUCCESS : APR_EGENERAL;
}

const char *b8_claim_signature(apr_pool_t *p, const char *secret, const char *lead_id,
                               const char *user_id)
{
    return b8_hmac_sha256_hex(p, secret, apr_pstrcat(p, "claim:", lead_id, ":", user_id, NULL));
}

const char *b8_csrf_token(b8_db *db, apr_pool_t *p, const char *login)
{
    const char *secret = NULL;

    if (b8_server_secret(db, p, &secret) != APR_SUCCESS || !secret) {
        return NULL;
    }
    return b8_hmac_sha256_hex(p, secret, apr_pstrcat(p, "csrf:", login, NULL));
}
