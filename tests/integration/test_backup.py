"""Backups (issue 20, item 6): an online SQLite backup taken with the
README's recipe (the sqlite3 tool's .backup) in the middle of a campaign
restores to a database on which the worker goes on: the rows that were in
flight when the backup was taken become `unknown` and are never sent again,
the rows still pending in the backup are sent once, and nobody the backup
records as sent is sent again.

SQLite only: PostgreSQL's recipe is pg_dump, PostgreSQL's own consistent
snapshot.
"""

from __future__ import annotations

import collections
import itertools
import os
import shutil
import subprocess
import uuid

import pytest

from conftest import DB, wait_until

pytestmark = pytest.mark.skipif(DB != "sqlite3", reason="the SQLite backup recipe")

_phones = itertools.count(1)
N = 100


def new_phones(n: int) -> list[str]:
    return [f"+63946{next(_phones):07d}" for _ in range(n)]


def states(h, db=None) -> dict:
    """phone -> state of the campaign rows, from the server's database or a file."""
    q = "SELECT phone, state FROM messages WHERE kind = 'campaign' ORDER BY id"
    if db is None:
        return dict(h.sql(q))
    import sqlite3
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return dict(con.execute(q).fetchall())
    finally:
        con.close()


def sends(eightx8) -> collections.Counter:
    return collections.Counter((r.json or {}).get("user", {}).get("msisdn")
                               for r in eightx8.requests if r.json)


def test_backup_mid_campaign_restores_and_resumes_without_resending(make_server, eightx8):
    # 8x8 answers slowly, so that requests are in flight (rows 'sending')
    # at any moment; one send every 30 ms.
    eightx8.latency = 0.6
    h = make_server()
    api = h.client
    assert api.patch("/blu8x8/api/settings", json={"send_interval": 0.03}).status == 200
    phones = new_phones(N)
    r = api.post("/blu8x8/api/campaigns", json={"name": f"Backup {uuid.uuid4().hex[:6]}",
                                                 "type": "text", "body": "Hello"})
    cid = r.json["id"]
    r = api.post(f"/blu8x8/api/campaigns/{cid}/recipients", json={"phones": phones})
    assert r.json["added"] == N, r
    assert api.post(f"/blu8x8/api/campaigns/{cid}/send", json={}).status == 200

    def mid_campaign():
        now = collections.Counter(states(h).values())
        return now["queued"] >= 5 and now["sending"] >= 2 and now["pending"] >= 10
    wait_until(mid_campaign, timeout=30, step=0.01, what="a campaign half sent")

    # The README's recipe, while the worker sends.
    backup = h.root / "backup.db"
    subprocess.run(["sqlite3", "-cmd", ".timeout 10000", str(h.db_path),
                    f".backup '{backup}'"], check=True, capture_output=True)
    check = subprocess.run(["sqlite3", str(backup), "PRAGMA integrity_check"],
                           check=True, capture_output=True, text=True)
    assert check.stdout.strip() == "ok"
    at_backup = states(h, backup)
    by_state = collections.defaultdict(set)
    for phone, state in at_backup.items():
        by_state[state].add(phone)
    assert by_state["sending"] and by_state["pending"] and by_state["queued"], by_state

    # The original server finishes the campaign (everyone once), then stops.
    wait_until(lambda: all(s == "queued" for s in states(h).values()), timeout=60,
               what="the campaign sent")
    assert set(sends(eightx8).values()) == {1}
    h.stop()

    # Restore into a fresh server's place (httpd stopped there), as the README says.
    eightx8.clear()
    eightx8.latency = 0.0
    restored = make_server(start=False)
    shutil.copyfile(backup, restored.db_path)
    os.chmod(restored.db_path, 0o600)
    if os.geteuid() == 0:
        shutil.chown(restored.db_path, "www-data", "www-data")
    restored.start()
    wait_until(lambda: "pending" not in states(restored).values()
               and "sending" not in states(restored).values(), timeout=30,
               what="the restored campaign processed")

    after = states(restored)
    resent = sends(eightx8)
    # In flight at the backup: unknown, never sent again.
    assert {after[p] for p in by_state["sending"]} == {"unknown"}
    assert not any(resent[p] for p in by_state["sending"])
    # Pending in the backup: sent once by the restored server.
    assert all(resent[p] == 1 for p in by_state["pending"]), resent
    assert {after[p] for p in by_state["pending"]} == {"queued"}
    # Accepted by 8x8 before the backup: not sent again.
    assert not any(resent[p] for p in by_state["queued"])
    assert set(resent.values()) <= {1}
    # The campaign's page still counts every recipient once.
    counts = restored.client.get(f"/blu8x8/api/campaigns/{cid}").json["counts"]
    assert counts["total"] == N and counts["unknown"] == len(by_state["sending"])
