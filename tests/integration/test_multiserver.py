"""Several servers, one PostgreSQL database (issue 9).

Two httpd instances with the module point at the same database, as behind a
load balancer: exactly one worker sends (the lease holder), the campaign
interval holds across both and across a takeover, a holder that dies is
replaced within 30 s without anyone getting a message twice, and webhooks or
claim taps spread over both servers still make one reply, one lead and one
winner.

PostgreSQL only (B8_DB=pgsql, as `make test` runs it); skipped on SQLite,
where one file cannot be shared by servers on several machines.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import os
import pathlib
import signal
import statistics
import time
import uuid

import pytest

from conftest import DB, PG, pg_connect, stays, wait_until
from test_ai import (AI_DIRECTIVES, chat_calls, claim_links, inbound, intent_calls,
                     intent_reply, pings, viber_sends)

pytestmark = pytest.mark.skipif(
    DB != "pgsql", reason="several servers share one PostgreSQL database: run with "
                          "B8_DB=pgsql (make integration DB=pgsql)")

INTERVAL = 0.01
_phones = itertools.count(1)


# ------------------------------------------------------------------- helpers

def new_phones(n: int) -> list[str]:
    return [f"+63937{next(_phones):07d}" for _ in range(n)]


def start_pair(make_server, directives: str = ""):
    """Two servers on one fresh database, started at the same moment (both
    run the migration: the advisory lock makes one wait for the other)."""
    a = make_server(directives, start=False)
    b = make_server(directives, start=False, share_db_with=a)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda h: h.start(), (a, b)))
    return a, b


def holder(servers, timeout=30.0):
    """The one server whose worker is the active sender (status API)."""
    def find():
        active = [h for h in servers if h.proc.poll() is None
                  and h.client.get("/blu8x8/api/status").json["worker"].get("active")]
        return active if len(active) == 1 else None
    return wait_until(find, timeout, what="one active sender")[0]


def make_campaign(api, phones) -> int:
    r = api.post("/blu8x8/api/campaigns", json={"name": f"Multi {uuid.uuid4().hex[:6]}",
                                                "type": "text", "body": "Hello {name}"})
    assert r.status == 201, r
    cid = r.json["id"]
    r = api.post(f"/blu8x8/api/campaigns/{cid}/recipients", json={"phones": phones})
    assert r.status == 200 and r.json["added"] == len(phones), r
    return cid


def counts(api, cid) -> dict:
    r = api.get(f"/blu8x8/api/campaigns/{cid}/progress")
    assert r.status == 200, r
    return r.json["counts"]


def wait_processed(api, cid, timeout=60.0) -> dict:
    def done():
        c = counts(api, cid)
        return c if c["pending"] == 0 and c["sending"] == 0 else None
    return wait_until(done, timeout, what=f"campaign {cid} processed")


def send_times(eightx8, phones) -> list[float]:
    wanted = set(phones)
    return sorted(r.time for r in eightx8.requests
                  if (r.json or {}).get("user", {}).get("msisdn") in wanted)


def assert_paced(times: list[float], interval: float) -> None:
    """Loosely: the sends as a whole were not faster than the interval, and
    hardly any two came closer than half of it (arrival jitter aside)."""
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert times[-1] - times[0] >= 0.9 * interval * len(gaps), \
        f"{len(times)} sends in {times[-1] - times[0]:.2f} s"
    assert statistics.median(gaps) >= 0.8 * interval
    close = [g for g in gaps if g < interval / 2]
    assert len(close) <= len(gaps) // 20, f"{len(close)} of {len(gaps)} gaps under {interval / 2}"


def crash(h) -> None:
    """Kills every process of a server at once, as a power cut would."""
    pids = [h.pid]
    for entry in pathlib.Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1]
                                            .split()[1]) == h.pid:
                pids.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    h.proc.wait(10)


# ------------------------------------------------------------------ start-up

def test_a_role_with_only_dml_rights_serves_a_migrated_database(make_server):
    a = make_server()                                # migrates, as the owner
    role = "b8dml_" + uuid.uuid4().hex[:8]
    con = pg_connect(a.pg_db)
    try:
        con.autocommit = True
        cur = con.cursor()
        cur.execute(f"CREATE ROLE {role} LOGIN")
        cur.execute(f"GRANT CONNECT ON DATABASE {a.pg_db} TO {role}")
        cur.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
        cur.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}")
    finally:
        con.close()
    # libpq: the last user= wins; the later Blu8x8Database line wins too.
    b = make_server(f'Blu8x8Database pgsql "{PG} dbname={a.pg_db} user={role}"',
                    share_db_with=a)
    r = b.client.post("/blu8x8/api/contacts", json={"name": "Ana", "phone": "09171234567"})
    assert r.status == 201, r
    assert a.client.get(f"/blu8x8/api/contacts/{r.json['id']}").json["name"] == "Ana"


# ----------------------------------------------------------------- campaigns

def test_two_servers_send_one_campaign_once_at_the_interval(make_server, eightx8):
    a, b = start_pair(make_server)
    assert a.client.patch("/blu8x8/api/settings", json={"send_interval": INTERVAL}).status == 200
    phones = new_phones(1000)
    cid = make_campaign(b.client, phones)            # made on one server...
    first = holder((a, b))
    other = b if first is a else a
    assert other.client.post(f"/blu8x8/api/campaigns/{cid}/send", json={}).status == 200
    # ...sent by the lease holder only, until it stops cleanly half-way:
    # the other server takes over and finishes.
    assert eightx8.wait_for(400, timeout=30), "the campaign did not start"
    first.stop()
    assert holder((other,), timeout=10) is other
    c = wait_processed(other.client, cid)
    assert c["queued"] == 1000, c
    assert sorted(eightx8.sends_by_msisdn) == sorted(phones)
    assert set(eightx8.sends_by_msisdn.values()) == {1}      # each phone once
    assert_paced(send_times(eightx8, phones), INTERVAL)


def test_the_interval_holds_across_a_takeover(make_server, eightx8):
    """The next holder paces its first send from the last send the previous
    holder recorded in the database, not from its own start."""
    interval = 3.0
    a, b = start_pair(make_server)
    assert a.client.patch("/blu8x8/api/settings", json={"send_interval": interval}).status == 200
    phones = new_phones(2)
    cid = make_campaign(a.client, phones)
    first = holder((a, b))
    other = b if first is a else a
    assert a.client.post(f"/blu8x8/api/campaigns/{cid}/send", json={}).status == 200
    assert eightx8.wait_for(1, timeout=15)
    first.stop()                                     # releases the lease at once
    assert holder((other,), timeout=10) is other
    assert eightx8.wait_for(2, timeout=15)
    t1, t2 = send_times(eightx8, phones)
    assert t2 - t1 >= interval - 0.3, f"second send {t2 - t1:.2f} s after the first"
    assert set(eightx8.sends_by_msisdn.values()) == {1}


def test_holder_crash_other_server_takes_over_within_30s(make_server, eightx8):
    a, b = start_pair(make_server)
    assert a.client.patch("/blu8x8/api/settings", json={"send_interval": INTERVAL}).status == 200
    phones = new_phones(1000)
    cid = make_campaign(a.client, phones)
    assert a.client.post(f"/blu8x8/api/campaigns/{cid}/send", json={}).status == 200
    assert eightx8.wait_for(300, timeout=30), "the campaign did not start"
    dead = holder((a, b))
    survivor = b if dead is a else a
    crash(dead)
    killed_at = time.monotonic()
    sent_before = len(eightx8.requests)
    assert holder((survivor,), timeout=30) is survivor
    c = wait_processed(survivor.client, cid, timeout=60)
    resumed = min(r.time for r in eightx8.requests[sent_before:])
    assert resumed - killed_at < 30, f"sending resumed {resumed - killed_at:.1f} s after the crash"
    # Nobody twice; a message the dead server had in flight is 'unknown'
    # (never resent blindly), every other one reached 8x8 once.
    assert max(eightx8.sends_by_msisdn.values()) == 1
    assert c["unknown"] <= 2, c
    assert c["queued"] + c["unknown"] == 1000, c
    assert len(eightx8.sends_by_msisdn) >= c["queued"]


# ------------------------------------------------------------- AI and claims

def test_same_inbound_on_both_servers_one_reply_one_lead_one_claim_winner(
        make_server, openai, eightx8):
    a, b = start_pair(make_server, AI_DIRECTIVES)
    assert a.client.patch("/blu8x8/api/settings",
                          json={"ai_respond": True, "da_vinci": True}).status == 200
    # Saved on a: b's children obey it within a second (they cache settings).
    time.sleep(1.0)
    for login, phone in (("alice", "09171110001"), ("bob", "09171110002"),
                         ("carol", "09171110003")):
        r = b.client.post("/blu8x8/api/users", json={"login": login, "name": login.title(),
                                                     "phone": phone, "roles": ["sales_agent"]})
        assert r.status == 201, r
    openai.reply_fn = intent_reply("Yes")
    event = inbound("50 kilos of Barako for our cafes, please", phone="+639175550099")
    # 8x8 retries and a balancer spreading them: the same event on both at once.
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(
            lambda h: h.client.as_user(None).post("/viber/status", json=event), (a, b) * 4))
    assert [r.status for r in answers] == [200] * 8
    assert wait_until(lambda: len(pings(eightx8)) == 3, 20, what="three agent pings")
    assert wait_until(lambda: viber_sends(eightx8, "+639175550099"), 20, what="the AI reply")
    assert stays(lambda: len(viber_sends(eightx8, "+639175550099")), a.client) == 1  # one reply
    assert len(chat_calls(openai)) == 1 and len(intent_calls(openai)) == 1
    assert len(pings(eightx8)) == 3
    for h in (a, b):
        assert h.client.get("/blu8x8/api/inbound?phone=09175550099").json["total"] == 1
        leads = h.client.get("/blu8x8/api/leads").json["items"]
        assert len(leads) == 1 and leads[0]["claimed_by"] is None

    # 20 taps on the claim links, spread over both servers: one winner.
    links = list(claim_links(eightx8).values())
    assert len(links) == 3
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        taps = list(pool.map(lambda i: (a, b)[i % 2].client.as_user(None).get(links[i % 3]),
                             range(20)))
    winner = a.client.get("/blu8x8/api/leads").json["items"][0]["claimed_by"]
    assert winner in ("alice", "bob", "carol")
    assert b.client.get("/blu8x8/api/leads").json["items"][0]["claimed_by"] == winner
    wins = [r for r in taps if r.status == 200]
    losses = [r for r in taps if r.status == 409]
    assert wins and len(wins) + len(losses) == 20
    assert all(f"handled by {winner.title()}" in r.text for r in losses)


# ------------------------------------------------------------- conversations

def test_an_agent_reply_written_on_one_server_is_sent_once_by_the_active_worker(
        make_server, eightx8):
    a, b = start_pair(make_server)
    phone = "+639175550199"
    assert a.client.as_user(None).post("/viber/status",
                                       json=inbound("Hello?", phone=phone)).status == 200
    first = holder((a, b))
    other = b if first is a else a
    conv = other.client.get("/blu8x8/api/conversations?q=639175550199").json["items"][0]
    # Written on the server whose worker does not send.
    r = other.client.post(f"/blu8x8/api/conversations/{conv['id']}/messages",
                          json={"text": "Hi, Alma here"})
    assert r.status == 201, r
    assert wait_until(lambda: viber_sends(eightx8, phone), 20, what="the agent's reply")
    time.sleep(1.5)   # a few rounds of both workers' lanes
    assert len(viber_sends(eightx8, phone)) == 1
    for h in (a, b):
        msgs = h.client.get(f"/blu8x8/api/conversations/{conv['id']}").json["messages"]
        assert [m["state"] for m in msgs if m["kind"] == "agent"] == ["queued"]
