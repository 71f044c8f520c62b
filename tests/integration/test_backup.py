"""Backups (issue 20, item 6): a backup taken with the README's recipe in
the middle of a campaign, while the worker sends (SQLite: the sqlite3
tool's .backup; PostgreSQL: pg_dump, restored with pg_restore), restores to
a database on which the worker goes on: the rows that were in flight when
the backup was taken become `unknown` and are never sent again, the rows
still pending in the backup are sent once, and nobody the backup records as
sent is sent again.
"""

from __future__ import annotations

import collections
import itertools
import os
import shutil
import subprocess
import uuid

from conftest import DB, PG, wait_until

_phones = itertools.count(1)
N = 100


def new_phones(n: int) -> list[str]:
    return [f"+63946{next(_phones):07d}" for _ in range(n)]


def states(h) -> dict:
    """phone -> state of the campaign rows of the server's database."""
    return dict(h.sql("SELECT phone, state FROM messages WHERE kind = 'campaign' ORDER BY id"))


def backup(h, to):
    """The README's recipe, while httpd runs."""
    if DB == "pgsql":
        subprocess.run(["pg_dump", "-Fc", "-d", f"{PG} dbname={h.pg_db}", "-f", str(to)],
                       check=True, capture_output=True)
        return
    subprocess.run(["sqlite3", "-cmd", ".timeout 10000", str(h.db_path), f".backup '{to}'"],
                   check=True, capture_output=True)
    check = subprocess.run(["sqlite3", str(to), "PRAGMA integrity_check"],
                           check=True, capture_output=True, text=True)
    assert check.stdout.strip() == "ok"


def restore(h, backup_file):
    """Into the place of a server that is not running."""
    if DB == "pgsql":   # its own, empty database
        subprocess.run(["pg_restore", "--no-owner", "-d", f"{PG} dbname={h.pg_db}",
                        str(backup_file)], check=True, capture_output=True)
        return
    shutil.copyfile(backup_file, h.db_path)
    os.chmod(h.db_path, 0o600)
    if os.geteuid() == 0:
        shutil.chown(h.db_path, "www-data", "www-data")


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
    saved = h.root / "backup"
    backup(h, saved)

    # The original server finishes the campaign (everyone once), then stops.
    wait_until(lambda: all(s == "queued" for s in states(h).values()), timeout=60,
               what="the campaign sent")
    assert set(sends(eightx8).values()) == {1}
    h.stop()

    # Restore into a fresh server's place (httpd stopped there), as the README says.
    eightx8.clear()
    eightx8.latency = 0.0
    restored = make_server(start=False)
    restore(restored, saved)
    by_state = collections.defaultdict(set)
    for phone, state in states(restored).items():
        by_state[state].add(phone)
    assert by_state["sending"] and by_state["pending"] and by_state["queued"], by_state
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
