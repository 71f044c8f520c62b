/* Randomness, HMAC, constant-time comparison, and the secrets and
 * signatures made from them (server secret, CSRF tokens, claim links): the
 * only file that uses OpenSSL. */
#ifndef B8_CRYPTO_H
#define B8_CRYPTO_H

#include <apr_pools.h>
#include "b8_store.h"

/* n random bytes as 2n lowercase hex characters; NULL when the system
 * random source fails. */
const char *b8_random_hex(apr_pool_t *p, apr_size_t nbytes);

/* A random (version 4) UUID, e.g. for clientMessageId; NULL on failure. */
const char *b8_uuid4(apr_pool_t *p);
/* The same from 16 random bytes the caller drew (many at once). */
const char *b8_uuid4_from(apr_pool_t *p, const unsigned char *random16);

/* HMAC-SHA256 of msg with key, as 64 lowercase hex characters. */
const char *b8_hmac_sha256_hex(apr_pool_t *p, const char *key, const char *msg);

/* 1 when a and b are equal; the time taken depends only on the length of b
 * (the untrusted value is a, the secret is b). NULL never equals. */
int b8_secure_equals(const char *a, const char *b);

/* Constant-time comparison of hashes of a and b: safe when either length is secret. */
int b8_secure_equals_hashed(const char *a, const char *b);

/* The secret behind CSRF tokens and claim links: made on first start,
 * kept in the database (runtime row server_secret), never shown. */
apr_status_t b8_server_secret(b8_db *db, apr_pool_t *p, const char **secret);

/* The claim link's signature: HMAC-SHA256 (hex) over lead and user id with
 * the server secret. */
const char *b8_claim_signature(apr_pool_t *p, const char *secret, const char *lead_id,
                               const char *user_id);

/* The admin forms' CSRF token of a login: HMAC-SHA256 (hex) with the server
 * secret. NULL when the secret cannot be read. */
const char *b8_csrf_token(b8_db *db, apr_pool_t *p, const char *login);

#endif
