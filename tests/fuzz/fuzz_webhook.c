/* libFuzzer target: the webhook's parser and validator (b8_webhook_parse),
 * fed any bytes, as httpd hands it a request body: an exact-size heap copy
 * with a NUL after it (b8_read_body ends the body so). Storing is not
 * fuzzed: it only sees what the parser accepted. `make fuzz` builds and
 * runs it (FUZZ_SECONDS, default 60). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_pools.h>

#include "b8_webhook.h"

static apr_pool_t *root;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (apr_initialize() != APR_SUCCESS || apr_pool_create(&root, NULL) != APR_SUCCESS) {
        abort();
    }
    return 0;
}

/* Reads every string the parser gave back, so a dangling or unterminated
 * one shows up under ASan. */
static size_t touch(const char *s)
{
    return s ? strlen(s) : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    b8_event ev;
    char *body = malloc(size + 1);
    volatile size_t sink = 0;

    if (!body || apr_pool_create(&p, root) != APR_SUCCESS) {
        abort();
    }
    memcpy(body, data, size);
    body[size] = '\0';
    if (b8_webhook_parse(p, body, size, "63", &ev) == NULL) {
        const b8_receipt *rc = &ev.receipt;
        sink += touch(ev.event_type) + touch(ev.namespace_name) + touch(ev.umid);
        sink += touch(ev.phone) + touch(ev.phone_key) + touch(ev.name) + touch(ev.channel);
        sink += touch(ev.type) + touch(ev.text) + touch(ev.event_at) + touch(ev.raw);
        sink += touch(rc->umid) + touch(rc->client_message_id) + touch(rc->state);
        sink += touch(rc->detail) + touch(rc->error_code) + touch(rc->error_message);
        sink += touch(rc->price) + touch(rc->event_at);
        /* What the parser promises the store (b8_webhook.h): an inbound
         * message always has its conversation key; its phone, when the
         * sender has one, is E.164. */
        if ((ev.kind == B8_EVENT_INBOUND && (!ev.umid || !ev.phone_key || !ev.type
                                            || (ev.phone && ev.phone[0] != '+')))
            || (ev.kind == B8_EVENT_RECEIPT && (!rc->state || (!rc->umid && !rc->client_message_id)))
            || !ev.event_type) {
            abort();
        }
    }
    (void)sink;
    apr_pool_destroy(p);
    free(body);
    return 0;
}
