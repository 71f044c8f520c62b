"""Settings are cached per process, yet a save is obeyed everywhere soon.

Every request reads its settings from a per-process snapshot instead of the
database. A save bumps a version in the same transaction and a counter every
child of the same server shares: that server's next requests obey the new
value at once, whichever child answers; another server on the same
PostgreSQL database looks at the version at most every 250 ms, so it obeys
within a second. The webhook's Authorization check shows it: a request a
stale snapshot would refuse (or accept) tells on the cache.
"""

from __future__ import annotations

import concurrent.futures
import time

import pytest

from conftest import DB, Client
from test_webhook import HOOK, inbound, new_phone

# Fresh connections, several at once: the two children of the test server
# (StartServers 2) both answer some of them.
SPREAD = 24


def hooks(server, auth, n=SPREAD):
    """n webhook POSTs with that Authorization header, in parallel; their statuses."""
    def one(_):
        body = inbound(new_phone())
        return Client(server.port, None, auth).request("POST", HOOK, json=body).status
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(n)))


def save(server, value):
    r = server.client.patch("/blu8x8/api/settings", json={"webhook_authorization": value})
    assert r.status == 200, r


def test_a_save_is_obeyed_by_every_child_at_once(make_server):
    h = make_server(worker=False, webhook_auth=None)
    # Every child has a snapshot (nothing set: every event refused).
    assert set(hooks(h, "Bearer one-k1")) == {401}
    save(h, "Bearer one-k1")
    assert set(hooks(h, "Bearer one-k1")) == {200}
    assert set(hooks(h, "Bearer two-k2", n=8)) == {401}
    # And again: the snapshots follow each save, not only the first.
    save(h, "Bearer two-k2")
    assert set(hooks(h, "Bearer two-k2")) == {200}
    assert set(hooks(h, "Bearer one-k1", n=8)) == {401}
    assert h.sql("SELECT COUNT(*) FROM inbound")[0][0] == 2 * SPREAD


@pytest.mark.skipif(DB != "pgsql", reason="two servers share one PostgreSQL database: run with "
                                          "B8_DB=pgsql (make integration DB=pgsql)")
def test_a_save_on_one_server_is_obeyed_by_the_other_within_a_second(make_server):
    a = make_server(worker=False, webhook_auth=None, start=False)
    b = make_server(worker=False, webhook_auth=None, start=False, share_db_with=a)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda s: s.start(wait_worker=False), (a, b)))
    assert set(hooks(b, "Bearer multi-k1")) == {401}
    for old, new in ((None, "Bearer multi-k1"), ("Bearer multi-k1", "Bearer multi-k2")):
        save(a, new)
        saved_at = time.monotonic()
        while set(hooks(b, new)) != {200}:
            assert time.monotonic() - saved_at < 1.0, f"server B still refuses {new} after 1 s"
            time.sleep(0.02)
        took = time.monotonic() - saved_at
        assert took < 1.0, took
        # Every child of B obeys the new value and refuses the old one.
        assert set(hooks(b, old, n=8)) == {401}
