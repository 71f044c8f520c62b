/* What a send will do, shown before the final click (issue 17): how many
 * get it, how many are skipped as opted out, how many get an empty
 * variable, the SMS parts if every fallback goes, and how long it takes. */
#ifndef B8_ESTIMATE_H
#define B8_ESTIMATE_H

#include "b8_core.h"

/* How fast sending goes: the interval between messages (send_interval) and
 * the limits a campaign may add. The send window and the daily cap are
 * optional (window_start < 0: none; daily_cap < 0: none): a campaign with
 * them passes its own, everything else passes none. */
typedef struct {
    double interval;        /* seconds between two messages (0: as fast as 8x8 takes them) */
    double max_rate;        /* messages a second at most (0: no cap) */
    int window_start;       /* minutes after local midnight, or -1 */
    int window_end;         /* minutes after local midnight (< start: over midnight) */
    long daily_cap;         /* messages a local day, or -1 */
    int now_minute;         /* local minutes after midnight now (for the window) */
    long sent_today;        /* already sent today (for the cap) */
} b8_pace;

/* The pace of this server's settings, with no window and no cap. */
void b8_estimate_pace_default(b8_ctx *ctx, b8_pace *pace);
/* Seconds n messages take at that pace (whole seconds, rounded up). */
long b8_estimate_seconds(long n, const b8_pace *pace);

/* GET /api/campaigns/{id}/estimate: {"state", "recipients", "sendable", "opted_out",
 * "empty": {"name": n}, "sms_parts", "sms_parts_each", "seconds",
 * "interval"}. pace NULL: b8_estimate_pace_default. */
b8_errkind b8_estimate_campaign(b8_ctx *ctx, const char *id, const b8_pace *pace, cJSON **out,
                                b8_err *err);

#endif
