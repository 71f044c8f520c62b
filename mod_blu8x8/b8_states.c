#include "b8_states.h"

#include <string.h>
#include <apr_strings.h>

#define MESSAGE_ROW(name, rank, final, flags) { #name, rank, final, flags },
#define CAMPAIGN_ROW(name, actions) { #name, actions },
#define NAME_OF(name, ...) #name,

const b8_message_state b8_message_state_table[] = { B8_MESSAGE_STATES(MESSAGE_ROW) };
const int b8_message_state_count =
    (int)(sizeof(b8_message_state_table) / sizeof(b8_message_state_table[0]));
const b8_campaign_state b8_campaign_state_table[] = { B8_CAMPAIGN_STATES(CAMPAIGN_ROW) };
const int b8_campaign_state_count =
    (int)(sizeof(b8_campaign_state_table) / sizeof(b8_campaign_state_table[0]));

const char *const b8_recipient_states[] = { B8_MESSAGE_STATES(NAME_OF) NULL };
const char *const b8_campaign_states[] = { B8_CAMPAIGN_STATES(NAME_OF) NULL };

const b8_message_state *b8_message_state_find(const char *state)
{
    for (int i = 0; state && i < b8_message_state_count; i++) {
        if (strcmp(state, b8_message_state_table[i].name) == 0) {
            return &b8_message_state_table[i];
        }
    }
    return NULL;
}

const b8_campaign_state *b8_campaign_state_find(const char *state)
{
    for (int i = 0; state && i < b8_campaign_state_count; i++) {
        if (strcmp(state, b8_campaign_state_table[i].name) == 0) {
            return &b8_campaign_state_table[i];
        }
    }
    return NULL;
}

int b8_message_state_is(const char *state, unsigned flags)
{
    const b8_message_state *s = b8_message_state_find(state);
    return s && (s->flags & flags) == flags;
}

int b8_message_state_advances(const char *from, const char *to)
{
    const b8_message_state *f = b8_message_state_find(from), *t = b8_message_state_find(to);
    return f && t && !f->final && t->rank > f->rank;
}

const char *b8_message_rank_case(apr_pool_t *p)
{
    const char *s = "CASE state";

    /* By rank, as a reader expects the ladder. */
    for (int rank = 0; rank <= 99; rank++) {
        for (int i = 0; i < b8_message_state_count; i++) {
            const b8_message_state *m = &b8_message_state_table[i];
            if (!m->final && m->rank == rank) {
                s = apr_psprintf(p, "%s WHEN '%s' THEN %d", s, m->name, m->rank);
            }
        }
    }
    return apr_pstrcat(p, s, " ELSE 99 END", NULL);
}

int b8_campaign_allows(const char *state, b8_campaign_action a)
{
    const b8_campaign_state *s = b8_campaign_state_find(state);
    return s && (s->actions & (unsigned)a) != 0;
}

const char *b8_campaign_states_allowing(apr_pool_t *p, b8_campaign_action a)
{
    const char *names[sizeof(b8_campaign_state_table) / sizeof(b8_campaign_state_table[0])];
    const char *s = "";
    int n = 0;

    for (int i = 0; i < b8_campaign_state_count; i++) {
        if (b8_campaign_state_table[i].actions & (unsigned)a) {
            names[n++] = b8_campaign_state_table[i].name;
        }
    }
    for (int i = 0; i < n; i++) {
        s = apr_pstrcat(p, s, i == 0 ? "" : i == n - 1 ? " or " : ", ", names[i], NULL);
    }
    return s;
}
