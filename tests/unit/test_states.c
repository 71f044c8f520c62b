/* Unit tests of the state tables (b8_states.h): the SQL of b8_sql.c that
 * names message or campaign states must say what the tables say, and the
 * derived checks keep their meaning. A state added to a table and not to
 * the SQL (or the other way round) fails here. */
#include "b8_test.h"

#include <apr_tables.h>

#include "b8_sql.h"
#include "b8_states.h"

/* The quoted names of the list that follows `after` in sql, e.g. after
 * "m.state IN (": {"pending", "sending"}; NULL when `after` is missing. */
static apr_array_header_t *sql_list(apr_pool_t *p, const char *sql, const char *after)
{
    const char *s = sql ? strstr(sql, after) : NULL;
    apr_array_header_t *names = apr_array_make(p, 8, sizeof(const char *));

    if (!s) {
        return NULL;
    }
    for (s += strlen(after); *s && *s != ')'; s++) {
        if (*s == '\'') {
            const char *end = strchr(s + 1, '\'');
            if (!end) {
                return NULL;
            }
            APR_ARRAY_PUSH(names, const char *) = apr_pstrndup(p, s + 1, (apr_size_t)(end - s - 1));
            s = end;
        }
    }
    return names;
}

static int listed(const apr_array_header_t *names, const char *name)
{
    for (int i = 0; names && i < names->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(names, i, const char *), name) == 0) {
            return 1;
        }
    }
    return 0;
}

/* 1 when the SQL list holds exactly the message states with `flags` (with
 * none of them, when `without`); otherwise says which state differs. */
static int message_states_are(const char *sql, const char *after, unsigned flags, int without,
                              apr_pool_t *p)
{
    apr_array_header_t *names = sql_list(p, sql, after);
    int ok = names != NULL, n = 0;

    for (int i = 0; ok && i < b8_message_state_count; i++) {
        const b8_message_state *s = &b8_message_state_table[i];
        int want = without ? (s->flags & flags) == 0 : (s->flags & flags) == flags;
        n += want;
        if (want != listed(names, s->name)) {
            fprintf(stderr, "    state %s: table says %d, SQL after \"%s\" says %d\n", s->name,
                    want, after, !want);
            ok = 0;
        }
    }
    return ok && names->nelts == n;
}

static int same_campaign_states(const char *sql, const char *after, b8_campaign_action a,
                                apr_pool_t *p)
{
    apr_array_header_t *names = sql_list(p, sql, after);
    int ok = names != NULL, n = 0;

    for (int i = 0; ok && i < b8_campaign_state_count; i++) {
        int want = (b8_campaign_state_table[i].actions & (unsigned)a) != 0;
        n += want;
        if (want != listed(names, b8_campaign_state_table[i].name)) {
            fprintf(stderr, "    campaign state %s: table says %d, SQL says %d\n",
                    b8_campaign_state_table[i].name, want, !want);
            ok = 0;
        }
    }
    return ok && names->nelts == n;
}

B8_TEST(test_receipt_ranks_match_the_table)
{
    const char *want = b8_message_rank_case(p);
    const char *sql = b8_sql_text(B8_SQL_RECEIPT_MESSAGE_APPLY);

    B8_CHECK_STR(want, "CASE state WHEN 'pending' THEN 0 WHEN 'sending' THEN 1 WHEN 'unknown' "
                 "THEN 2 WHEN 'queued' THEN 3 WHEN 'sent' THEN 4 WHEN 'delivered' THEN 5 "
                 "ELSE 99 END");
    if (!strstr(sql, want)) {
        fprintf(stderr, "    RECEIPT_MESSAGE_APPLY: %s\n    lacks: %s\n", sql, want);
        B8_CHECK(!"the SQL ranks differ from b8_states.h");
    }
    /* The one-statement receipt of PostgreSQL carries the same guard. */
    if (!strstr(b8_sql_text(B8_SQL_RECEIPT_BATCH), want)) {
        fprintf(stderr, "    RECEIPT_BATCH lacks: %s\n", want);
        B8_CHECK(!"the SQL ranks differ from b8_states.h");
    }
}

/* The SMS fallback's switch keeps a delivery or read unless matched: the
 * ranks of the states that reached the phone, the others 0. */
B8_TEST(test_switch_ranks_match_the_table)
{
    const char *want = "CASE state";
    for (int rank = 0; rank <= 99; rank++) {
        for (int i = 0; i < b8_message_state_count; i++) {
            const b8_message_state *m = &b8_message_state_table[i];
            if ((m->flags & B8_MS_REACHED) && m->rank == rank) {
                want = apr_psprintf(p, "%s WHEN '%s' THEN %d", want, m->name, m->rank);
            }
        }
    }
    want = apr_pstrcat(p, want, " ELSE 0 END", NULL);
    B8_CHECK_STR(want, "CASE state WHEN 'delivered' THEN 5 WHEN 'read' THEN 6 ELSE 0 END");
    B8_CHECK(strstr(b8_sql_text(B8_SQL_RECEIPT_MESSAGE_SWITCH), want) != NULL);
}

B8_TEST(test_sql_state_lists_match_the_table)
{
    /* Each SQL list of message states, and the states it must hold: those
     * with `flags` (without any of them, when `without`). */
    static const struct {
        b8_sql_id sql;
        const char *after;
        unsigned flags;
        int without;
    } lists[] = {
        { B8_SQL_RECEIPT_CAMPAIGN_OPEN, "state NOT IN (", B8_MS_REACHED, 0 },
        { B8_SQL_RECEIPT_BATCH, "state NOT IN (", B8_MS_REACHED, 0 },
        { B8_SQL_PROGRESS_FAILURES, "state IN (", B8_MS_ATTENTION, 0 },
        { B8_SQL_CRON_DONE, "m.state IN (", B8_MS_IN_FLIGHT, 0 },
        { B8_SQL_CRON_DONE, "m.state NOT IN (", B8_MS_ENDED, 0 },
        /* An answer of 8x8 applies to a row still awaiting it, not after a receipt. */
        { B8_SQL_SEND_ACCEPTED, "WHEN state IN (", B8_MS_AWAITED, 0 },
        { B8_SQL_SEND_FAILED, "AND state IN (", B8_MS_AWAITED, 0 },
        { B8_SQL_SMS_ACCEPTED, "WHEN state IN (", B8_MS_AWAITED, 0 },
        { B8_SQL_SMS_FAILED, "AND state IN (", B8_MS_AWAITED, 0 },
        /* An SMS send is done when none of its rows is left to the sender. */
        { B8_SQL_SMS_BATCH_DONE, "m.state IN (", B8_MS_PROCESSED, 1 },
        /* Issue 19: a reply counts for a campaign that reached the phone
         * (sent, not failed or undelivered); the dashboard's delivered. */
        { B8_SQL_REPLY_ATTRIBUTE, "AND state IN (", B8_MS_SENT, 0 },
        { B8_SQL_RESULTS_DAYS_VIBER, "WHEN state IN (", B8_MS_REACHED, 0 },
    };

    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        if (!message_states_are(b8_sql_text(lists[i].sql), lists[i].after, lists[i].flags,
                                lists[i].without, p)) {
            fprintf(stderr, "    in %s\n", b8_sql_name(lists[i].sql));
            B8_CHECK(!"an SQL state list differs from b8_states.h");
        }
    }
    /* The index of migration 2 lists the failures too. */
    B8_CHECK(message_states_are(b8_sql_migration(p, 2, 1), "WHERE state IN (", B8_MS_ATTENTION, 0,
                                p));
    B8_CHECK(same_campaign_states(b8_sql_text(B8_SQL_RECEIPT_CAMPAIGN_LOCK), "state IN (",
                                  B8_CA_LIVE, p));
    B8_CHECK(same_campaign_states(b8_sql_text(B8_SQL_RECEIPT_CAMPAIGN_DONE), "state IN (",
                                  B8_CA_LIVE, p));
}

B8_TEST(test_lists_follow_the_table)
{
    int n = 0;

    for (; b8_recipient_states[n]; n++) {
        B8_CHECK_STR(b8_recipient_states[n], b8_message_state_table[n].name);
    }
    B8_CHECK_INT(n, b8_message_state_count);
    B8_CHECK_STR(b8_recipient_states[0], "pending");
    B8_CHECK_STR(b8_recipient_states[10], "cancelled");
    for (n = 0; b8_campaign_states[n]; n++) {
        B8_CHECK_STR(b8_campaign_states[n], b8_campaign_state_table[n].name);
    }
    B8_CHECK_INT(n, 6);
}

B8_TEST(test_campaign_actions_by_state)
{
    B8_CHECK(b8_campaign_allows("draft", B8_CA_SEND));
    B8_CHECK(b8_campaign_allows("queued", B8_CA_QUEUE));
    B8_CHECK(!b8_campaign_allows("sending", B8_CA_SEND));
    B8_CHECK(b8_campaign_allows("sending", B8_CA_PAUSE));
    B8_CHECK(!b8_campaign_allows("paused", B8_CA_PAUSE));
    B8_CHECK(b8_campaign_allows("paused", B8_CA_RESUME));
    B8_CHECK(!b8_campaign_allows("done", B8_CA_CANCEL));
    B8_CHECK(b8_campaign_allows("done", B8_CA_RETRY));
    B8_CHECK(!b8_campaign_allows("draft", B8_CA_RETRY));
    B8_CHECK(b8_campaign_allows("cancelled", B8_CA_DUPLICATE));
    B8_CHECK(!b8_campaign_allows("nonsense", B8_CA_DUPLICATE));
    B8_CHECK(!b8_campaign_allows(NULL, B8_CA_SEND));
    /* Only a Draft is edited (its fields, its recipients, deleting it). */
    B8_CHECK_STR(b8_campaign_states_allowing(p, B8_CA_EDIT), "draft");
    /* The refusals name the states that would allow the action. */
    B8_CHECK_STR(b8_campaign_states_allowing(p, B8_CA_SEND), "draft or queued");
    B8_CHECK_STR(b8_campaign_states_allowing(p, B8_CA_PAUSE), "sending");
    B8_CHECK_STR(b8_campaign_states_allowing(p, B8_CA_CANCEL), "queued, sending or paused");
    B8_CHECK_STR(b8_campaign_states_allowing(p, B8_CA_RETRY), "sending, paused or done");
}

B8_TEST(test_message_state_meanings)
{
    B8_CHECK(b8_message_state_is("undelivered", B8_MS_FAILED | B8_MS_ACCEPTED));
    B8_CHECK(!b8_message_state_is("failed", B8_MS_ACCEPTED));
    B8_CHECK(b8_message_state_is("read", B8_MS_REACHED));
    B8_CHECK(!b8_message_state_is("sent", B8_MS_REACHED));
    B8_CHECK(!b8_message_state_is("pending", B8_MS_PROCESSED));
    B8_CHECK(!b8_message_state_is("rejected", B8_MS_FAILED));
    B8_CHECK(b8_message_state_find("expired") == NULL);
}

B8_TEST_MAIN(B8_CASE(test_receipt_ranks_match_the_table),
             B8_CASE(test_switch_ranks_match_the_table),
             B8_CASE(test_sql_state_lists_match_the_table),
             B8_CASE(test_lists_follow_the_table),
             B8_CASE(test_campaign_actions_by_state),
             B8_CASE(test_message_state_meanings))
