/* The two state machines, each in one table: a message's (a campaign
 * recipient, an SMS, a reply) and a campaign's. Everything else is derived
 * from them: the state lists of filters and counts, the forward-only rule of
 * receipts, the buttons of the campaign page and the checks of its actions.
 * The SQL that names states (b8_sql.c) is checked against these tables by
 * tests/unit/test_states.c. */
#ifndef B8_STATES_H
#define B8_STATES_H

#include <apr_pools.h>

/* What a message state means to the code that reads it. */
enum {
    B8_MS_ACCEPTED = 1 << 0,  /* 8x8 took it: a receipt state we apply; the list's progress */
    B8_MS_SENT = 1 << 1,      /* counted as "sent" in a campaign's progress */
    B8_MS_FAILED = 1 << 2,    /* counted as "failed" */
    B8_MS_PROCESSED = 1 << 3, /* the sender is done with it (not pending or sending) */
    B8_MS_ATTENTION = 1 << 4, /* listed among a campaign's failures */
    B8_MS_IN_FLIGHT = 1 << 5, /* not yet accepted nor ended: keeps a campaign from Done */
    B8_MS_ENDED = 1 << 6,     /* ended for good for a campaign (delivered or final) */
    B8_MS_REACHED = 1 << 7,   /* on the phone: the last of these makes a campaign Done */
    B8_MS_AWAITED = 1 << 8,   /* handed to 8x8, its answer awaited (a late one still applies) */
    B8_MS_RECEIPT = 1 << 9,   /* a state 8x8's receipts name, applied as it is */
};

/* The message machine: name, rank, final, meaning. A state only moves to a
 * higher rank and never leaves a final one; a failure ranks with
 * "delivered", so it ends a message that was at most sent, and a late
 * failure never undoes a delivery. The order is the order of filters and
 * of the "counts" objects. */
#define B8_MESSAGE_STATES(X) \
    X(pending, 0, 0, B8_MS_IN_FLIGHT) \
    X(sending, 1, 0, B8_MS_IN_FLIGHT | B8_MS_AWAITED) \
    X(queued, 3, 0, B8_MS_ACCEPTED | B8_MS_SENT | B8_MS_PROCESSED | B8_MS_RECEIPT) \
    X(sent, 4, 0, B8_MS_ACCEPTED | B8_MS_SENT | B8_MS_PROCESSED | B8_MS_RECEIPT) \
    X(delivered, 5, 0, B8_MS_ACCEPTED | B8_MS_SENT | B8_MS_PROCESSED | B8_MS_ENDED \
      | B8_MS_REACHED | B8_MS_RECEIPT) \
    X(read, 6, 1, B8_MS_ACCEPTED | B8_MS_SENT | B8_MS_PROCESSED | B8_MS_ENDED | B8_MS_REACHED \
      | B8_MS_RECEIPT) \
    X(undelivered, 5, 1, B8_MS_ACCEPTED | B8_MS_FAILED | B8_MS_PROCESSED | B8_MS_ATTENTION \
      | B8_MS_ENDED | B8_MS_RECEIPT) \
    X(failed, 5, 1, B8_MS_FAILED | B8_MS_PROCESSED | B8_MS_ATTENTION | B8_MS_ENDED \
      | B8_MS_RECEIPT) \
    X(unknown, 2, 0, B8_MS_PROCESSED | B8_MS_ATTENTION | B8_MS_IN_FLIGHT | B8_MS_AWAITED) \
    X(skipped, 1, 1, B8_MS_PROCESSED | B8_MS_ENDED) \
    X(cancelled, 1, 1, B8_MS_PROCESSED | B8_MS_ENDED)

/* What can be done to a campaign. */
typedef enum {
    B8_CA_SEND = 1 << 0,
    B8_CA_QUEUE = 1 << 1,
    B8_CA_PAUSE = 1 << 2,
    B8_CA_RESUME = 1 << 3,
    B8_CA_CANCEL = 1 << 4,
    B8_CA_RETRY = 1 << 5,     /* retry failed, requeue unknown */
    B8_CA_LIVE = 1 << 6,      /* running: live progress, receipts may end it */
    B8_CA_DUPLICATE = 1 << 7,
    B8_CA_TEST = 1 << 8,
    B8_CA_EDIT = 1 << 9,      /* edit, delete, change recipients */
} b8_campaign_action;

#define B8_CA_ALWAYS (B8_CA_DUPLICATE | B8_CA_TEST)

/* The campaign machine: name and the actions the state allows. */
#define B8_CAMPAIGN_STATES(X) \
    X(draft, B8_CA_EDIT | B8_CA_SEND | B8_CA_QUEUE | B8_CA_ALWAYS) \
    X(queued, B8_CA_SEND | B8_CA_QUEUE | B8_CA_CANCEL | B8_CA_LIVE | B8_CA_ALWAYS) \
    X(sending, B8_CA_PAUSE | B8_CA_CANCEL | B8_CA_RETRY | B8_CA_LIVE | B8_CA_ALWAYS) \
    X(paused, B8_CA_RESUME | B8_CA_CANCEL | B8_CA_RETRY | B8_CA_LIVE | B8_CA_ALWAYS) \
    X(cancelled, B8_CA_ALWAYS) \
    X(done, B8_CA_RETRY | B8_CA_ALWAYS)

typedef struct {
    const char *name;
    int rank;
    int final;
    unsigned flags;
} b8_message_state;

typedef struct {
    const char *name;
    unsigned actions;
} b8_campaign_state;

extern const b8_message_state b8_message_state_table[];
extern const int b8_message_state_count;
extern const b8_campaign_state b8_campaign_state_table[];
extern const int b8_campaign_state_count;

/* NULL-terminated name lists, in table order. */
extern const char *const b8_recipient_states[];
extern const char *const b8_campaign_states[];

/* The row of a state; NULL for one not in the table (or NULL). */
const b8_message_state *b8_message_state_find(const char *state);
const b8_campaign_state *b8_campaign_state_find(const char *state);

/* Whether the message state has every flag of `flags` (0 for an unknown one). */
int b8_message_state_is(const char *state, unsigned flags);

/* Whether a message may move from one state to another: both known, from
 * not final, to ranked higher. */
int b8_message_state_advances(const char *from, const char *to);

/* "CASE state WHEN 'pending' THEN 0 ... ELSE 99 END": the ranks of the
 * states that can still move, as RECEIPT_MESSAGE_APPLY spells them. */
const char *b8_message_rank_case(apr_pool_t *p);

/* Whether the campaign state allows the action (0 for an unknown state). */
int b8_campaign_allows(const char *state, b8_campaign_action a);

/* The states that allow an action, for an error message: "draft or queued",
 * "sending, paused or done". */
const char *b8_campaign_states_allowing(apr_pool_t *p, b8_campaign_action a);

#endif
