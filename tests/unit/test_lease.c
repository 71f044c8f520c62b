/* The sender lease (b8_lease.c) on a SQLite store: one holder at a time,
 * takeover after expiry or release, the send fence and the pacing time. */
#include "b8_test.h"
#include "b8_lease.h"
#include "b8_store.h"

#include <sys/wait.h>
#include <unistd.h>
#include <stdlib.h>
#include <apr_file_io.h>
#include <apr_strings.h>

B8_TEST(one_holder_until_release)
{
    b8_test_store f;
    b8_lease *a, *b;
    int gained = 0;

    B8_CHECK(b8_test_store_open(p, &f));
    B8_CHECK(b8_lease_create(p, B8_LEASE_SENDER, "host-a:1", 0, &a) == APR_SUCCESS);
    B8_CHECK(b8_lease_create(p, B8_LEASE_SENDER, "host-b:2", 0, &b) == APR_SUCCESS);
    B8_CHECK(!b8_lease_held(a));
    B8_CHECK_INT(b8_lease_refresh(a, f.db, p, &gained), 1);
    B8_CHECK_INT(gained, 1);
    B8_CHECK(b8_lease_held(a));
    /* Renewed by its owner: held, not newly gained. */
    B8_CHECK_INT(b8_lease_refresh(a, f.db, p, &gained), 1);
    B8_CHECK_INT(gained, 0);
    /* Another worker cannot take a live lease. */
    B8_CHECK_INT(b8_lease_refresh(b, f.db, p, &gained), 0);
    B8_CHECK_INT(gained, 0);
    B8_CHECK(!b8_lease_held(b));
    /* Released: the other takes it at once; the old holder cannot come back. */
    b8_lease_release(a, f.db, p);
    B8_CHECK(!b8_lease_held(a));
    B8_CHECK_INT(b8_lease_refresh(b, f.db, p, &gained), 1);
    B8_CHECK_INT(gained, 1);
    B8_CHECK_INT(b8_lease_refresh(a, f.db, p, &gained), 0);
    b8_test_store_close(p, &f);
}

B8_TEST(expired_lease_is_taken_over)
{
    b8_test_store f;
    b8_lease *a, *b;
    int gained = 0;
    apr_interval_time_t ttl = apr_time_from_msec(300);

    B8_CHECK(b8_test_store_open(p, &f));
    B8_CHECK(b8_lease_create(p, B8_LEASE_SENDER, "a", ttl, &a) == APR_SUCCESS);
    B8_CHECK(b8_lease_create(p, B8_LEASE_SENDER, "b", ttl, &b) == APR_SUCCESS);
    B8_CHECK_INT(b8_lease_refresh(a, f.db, p, &gained), 1);
    /* The holder stops trusting its lease before it expires for others. */
    apr_sleep(apr_time_from_msec(200));
    B8_CHECK(!b8_lease_held(a));
    B8_CHECK_INT(b8_lease_refresh(b, f.db, p, &gained), 0);
    apr_sleep(apr_time_from_msec(150));
    B8_CHECK_INT(b8_lease_refresh(b, f.db, p, &gained), 1);
    B8_CHECK_INT(gained, 1);
    /* The dead holder's late renewal fails: the lease is b's now. */
    B8_CHECK_INT(b8_lease_refresh(a, f.db, p, &gained), 0);
    b8_test_store_close(p, &f);
}

B8_TEST(send_fence_and_last_send_time)
{
    b8_test_store f;
    b8_lease *a, *b;
    int gained = 0, ours = -1;
    apr_time_t start = apr_time_now() - apr_time_from_msec(1500), got = 1;

    B8_CHECK(b8_test_store_open(p, &f));
    B8_CHECK(b8_lease_create(p, B8_LEASE_SENDER, "a", 0, &a) == APR_SUCCESS);
    B8_CHECK(b8_lease_create(p, B8_LEASE_SENDER, "b", 0, &b) == APR_SUCCESS);
    B8_CHECK(b8_lease_last_send(a, f.db, p, &got) == APR_SUCCESS);
    B8_CHECK_INT(got, 0);
    /* Not held: no send. */
    B8_CHECK(b8_lease_note_send(a, f.db, p, start, &ours) == APR_SUCCESS);
    B8_CHECK_INT(ours, 0);
    B8_CHECK_INT(b8_lease_refresh(a, f.db, p, &gained), 1);
    B8_CHECK(b8_lease_note_send(a, f.db, p, start, &ours) == APR_SUCCESS);
    B8_CHECK_INT(ours, 1);
    /* The next holder reads the time (millisecond precision). */
    b8_lease_release(a, f.db, p);
    B8_CHECK_INT(b8_lease_refresh(b, f.db, p, &gained), 1);
    B8_CHECK(b8_lease_last_send(b, f.db, p, &got) == APR_SUCCESS);
    B8_CHECK(got > 0 && llabs((long long)(got - start)) < 1000);
    /* The old holder's fence fails even if it still believed it held it. */
    B8_CHECK(b8_lease_note_send(a, f.db, p, apr_time_now(), &ours) == APR_SUCCESS);
    B8_CHECK_INT(ours, 0);
    b8_test_store_close(p, &f);
}

B8_TEST(dead_worker_of_this_server_is_replaced_at_once)
{
    b8_test_store f;
    b8_lease *mine, *other_server, *successor;
    int gained = 0;
    pid_t child;

    B8_CHECK(b8_test_store_open(p, &f));
    /* A lease held by a process of this server that has ended (a child that
     * took it and exited), as when the parent restarts a killed worker. */
    child = fork();
    if (child == 0) {
        apr_pool_t *cp;
        b8_store *cst;
        b8_db *cdb;
        b8_lease *dead;
        const char *err = NULL;
        int g = 0, ok;
        apr_pool_create(&cp, NULL);
        ok = b8_store_open(cp, "sqlite3", f.path, 1, &cst, &err) == APR_SUCCESS
             && b8_db_get(cst, cp, &cdb) == APR_SUCCESS
             && b8_lease_create(cp, B8_LEASE_SENDER, "node-1", 0, &dead) == APR_SUCCESS
             && b8_lease_refresh(dead, cdb, cp, &g) == 1;
        _exit(ok ? 0 : 1);
    }
    B8_CHECK(child > 0);
    {
        int status = -1;
        B8_CHECK(waitpid(child, &status, 0) == child);
        B8_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    /* Another server must wait for the expiry... */
    B8_CHECK(b8_lease_create(p, B8_LEASE_SENDER, "node-2", 0, &other_server) == APR_SUCCESS);
    B8_CHECK_INT(b8_lease_refresh(other_server, f.db, p, &gained), 0);
    /* ...the same server's next worker need not. */
    B8_CHECK(b8_lease_create(p, B8_LEASE_SENDER, "node-1", 0, &successor) == APR_SUCCESS);
    B8_CHECK_INT(b8_lease_refresh(successor, f.db, p, &gained), 1);
    B8_CHECK_INT(gained, 1);
    /* A live holder of the same server is never taken from. */
    B8_CHECK(b8_lease_create(p, B8_LEASE_SENDER, "node-1", 0, &mine) == APR_SUCCESS);
    B8_CHECK_INT(b8_lease_refresh(mine, f.db, p, &gained), 0);
    b8_test_store_close(p, &f);
}

B8_TEST_MAIN(B8_CASE(one_holder_until_release), B8_CASE(expired_lease_is_taken_over),
             B8_CASE(send_fence_and_last_send_time),
             B8_CASE(dead_worker_of_this_server_is_replaced_at_once))
