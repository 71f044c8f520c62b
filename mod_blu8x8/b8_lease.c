#include "b8_lease.h"
#include "b8_crypto.h"
#include "b8_log.h"
#include "b8_util.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

/* Long ago: a released lease is expired for everybody. */
#define RELEASED_AT "1970-01-01T00:00:00.000Z"

struct b8_lease {
    const char *name;
    const char *family;         /* this server */
    const char *owner;          /* family|pid|random */
    apr_interval_time_t ttl;
    apr_thread_mutex_t *lock;   /* guards valid_until and held */
    apr_time_t valid_until;     /* this worker trusts its lease until then */
    int held;                   /* as of the last refresh (for *gained) */
};

apr_status_t b8_lease_create(apr_pool_t *p, const char *name, const char *family,
                             apr_interval_time_t ttl, b8_lease **out)
{
    b8_lease *l = apr_pcalloc(p, sizeof(*l));
    const char *nonce = b8_random_hex(p, 4);
    apr_status_t rv = apr_thread_mutex_create(&l->lock, APR_THREAD_MUTEX_DEFAULT, p);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!nonce) {
        return APR_EGENERAL;
    }
    l->name = apr_pstrdup(p, name);
    l->family = apr_pstrdup(p, family ? family : "-");
    l->owner = apr_psprintf(p, "%s|%ld|%s", l->family, (long)getpid(), nonce);
    l->ttl = ttl > 0 ? ttl : B8_LEASE_TTL;
    *out = l;
    return APR_SUCCESS;
}

const char *b8_lease_owner(const b8_lease *l)
{
    return l->owner;
}

/* Stop trusting the lease well before it expires for the others: the
 * margin covers a slow renewal and some clock difference between servers. */
static apr_interval_time_t trust_for(const b8_lease *l)
{
    return l->ttl - l->ttl * 2 / 5;
}

static void set_held(b8_lease *l, int held, apr_time_t valid_until)
{
    apr_thread_mutex_lock(l->lock);
    l->held = held;
    l->valid_until = held ? valid_until : 0;
    apr_thread_mutex_unlock(l->lock);
}

/* A holder of this server whose worker process is gone: "family|pid|...". */
static int holder_dead_here(const b8_lease *l, const char *holder)
{
    apr_size_t n = strlen(l->family);
    long pid;

    if (strncmp(holder, l->family, n) != 0 || holder[n] != '|') {
        return 0;
    }
    pid = strtol(holder + n + 1, NULL, 10);
    return pid > 0 && pid != (long)getpid() && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* The lease is held by another owner: take it if that one is known dead. */
static int steal_from_dead(b8_lease *l, b8_db *db, apr_pool_t *p, apr_time_t asked)
{
    const char *get[] = { l->name };
    const char *holder, *now = b8_time_iso(p, asked);
    b8_rows *rows;
    int n = 0;

    if (b8_db_select(db, p, B8_SQL_LEASE_GET, get, &rows) != APR_SUCCESS || rows->nrows == 0
        || !(holder = B8_GET(rows, 0, LEASE, owner)) || !holder_dead_here(l, holder)) {
        return 0;
    }
    {
        const char *args[] = { l->owner, b8_time_iso(p, asked + l->ttl), now, l->name, holder };
        if (b8_db_exec(db, p, B8_SQL_LEASE_STEAL, args, &n) != APR_SUCCESS || n != 1) {
            return 0;
        }
    }
    B8_LOG(B8_LOG_NOTICE, 0, "B8-0906: the sender lease's holder %s is a worker of this server "
           "that is gone: taken over at once", holder);
    return 1;
}

int b8_lease_refresh(b8_lease *l, b8_db *db, apr_pool_t *p, int *gained)
{
    apr_time_t asked = apr_time_now();
    const char *now = b8_time_iso(p, asked);
    const char *args[] = { l->name, l->owner, b8_time_iso(p, asked + l->ttl), now, now };
    int n = 0, before;

    apr_thread_mutex_lock(l->lock);
    before = l->held;
    apr_thread_mutex_unlock(l->lock);
    *gained = 0;
    if (b8_db_exec(db, p, B8_SQL_LEASE_TAKE, args, &n) != APR_SUCCESS) {
        /* Unknown: keep trusting a renewal that is still recent enough
         * (b8_lease_held checks the time). */
        B8_LOG(B8_LOG_WARNING, 0, "B8-0901: cannot renew the sender lease: %s",
               b8_db_error(db));
        return b8_lease_held(l);
    }
    if (n == 1 || (!before && steal_from_dead(l, db, p, asked))) {
        set_held(l, 1, asked + trust_for(l));
        if (!before) {
            *gained = 1;
            B8_LOG(B8_LOG_NOTICE, 0, "B8-0902: this server's worker (%s) is now the active "
                   "sender", l->owner);
        }
        return 1;
    }
    set_held(l, 0, 0);
    if (before) {
        B8_LOG(B8_LOG_WARNING, 0, "B8-0903: the sender lease went to another server; this "
               "worker (%s) stops sending", l->owner);
    }
    return 0;
}

int b8_lease_held(b8_lease *l)
{
    int held;
    apr_thread_mutex_lock(l->lock);
    held = l->held && apr_time_now() < l->valid_until;
    apr_thread_mutex_unlock(l->lock);
    return held;
}

void b8_lease_release(b8_lease *l, b8_db *db, apr_pool_t *p)
{
    const char *args[] = { RELEASED_AT, l->name, l->owner };
    int n = 0;

    set_held(l, 0, 0);
    if (b8_db_exec(db, p, B8_SQL_LEASE_RELEASE, args, &n) != APR_SUCCESS) {
        B8_LOG(B8_LOG_WARNING, 0, "B8-0904: cannot release the sender lease (it expires by "
               "itself): %s", b8_db_error(db));
    }
    else if (n == 1) {
        B8_LOG(B8_LOG_INFO, 0, "B8-0905: sender lease released by %s", l->owner);
    }
}

apr_status_t b8_lease_note_send(b8_lease *l, b8_db *db, apr_pool_t *p, apr_time_t start,
                                int *ours)
{
    const char *args[] = { b8_time_iso(p, start), l->name, l->owner,
                           b8_time_iso(p, apr_time_now()) };
    int n = 0;
    apr_status_t rv;

    *ours = 0;
    if (!b8_lease_held(l)) {
        return APR_SUCCESS;
    }
    rv = b8_db_exec(db, p, B8_SQL_LEASE_NOTE_SEND, args, &n);
    if (rv == APR_SUCCESS) {
        *ours = n == 1;
        if (n != 1) {
            set_held(l, 0, 0);
        }
    }
    return rv;
}

apr_status_t b8_lease_last_send(const b8_lease *l, b8_db *db, apr_pool_t *p, apr_time_t *start)
{
    const char *args[] = { l->name };
    b8_rows *rows;
    apr_status_t rv = b8_db_select(db, p, B8_SQL_LEASE_GET, args, &rows);

    *start = 0;
    if (rv == APR_SUCCESS && rows->nrows > 0 && B8_GET(rows, 0, LEASE, last_send_at)
        && !b8_time_parse(B8_GET(rows, 0, LEASE, last_send_at), start)) {
        *start = 0;
    }
    return rv;
}
