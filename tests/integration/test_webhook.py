"""Webhook POST /viber/status (delivery receipts, inbound messages) and the
Inbox (issue 5), against a real httpd.

The server here runs without the worker (Blu8x8Worker Off): no sender, cron
or AI lane touches the rows these tests look at, so every state seen is the
webhook's doing. Campaign recipients are made through the campaigns API;
what the sender would do next (mark the campaign sending, store each
recipient's UMID) is written into the SQLite file directly.
"""

from __future__ import annotations

import itertools
import json
import random
import shutil
import socket
import threading
import time
import urllib.parse
import uuid

import pytest

from conftest import DB, WEBHOOK_AUTH, Client, Httpd, inbound_event, new_root

HOOK = "/viber/status"
_phones = itertools.count(1)


@pytest.fixture(scope="module")
def server(eightx8, openai):
    h = Httpd(new_root(), "", eightx8, openai, worker=False).start()
    yield h
    h.stop()
    h.drop_database()
    problems = h.problems()
    if not problems:
        shutil.rmtree(h.root, ignore_errors=True)
    assert not problems, "server problems:\n" + "\n".join(problems)


# ------------------------------------------------------------------ helpers

def new_phone() -> str:
    return f"+63918{next(_phones):07d}"


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def hook(server, body, content_type="application/json", headers=None, method="POST"):
    """Posts to the webhook as 8x8 does: no login."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    hdrs = {"Content-Type": content_type} if content_type else {}
    hdrs.update(headers or {})
    return Client(server.port, None).request(method, HOOK, body=body, headers=hdrs)


def write_sql(server, query, params=()):
    """Writes to the module's database (SQLite WAL or PostgreSQL: safe while httpd runs)."""
    return server.write_sql(query, params)


def receipt(umid=None, cmid=None, state="delivered", namespace="ChatApps", version=9, **status):
    payload = {"subAccountId": "BluCoffeePH_TwoWayViber_NOTIF", "channel": "viber",
               "user": {"msisdn": "+639170000001"},
               "status": {"state": state, "timestamp": "2026-11-01T08:20:03.12Z", **status}}
    if umid:
        payload["umid"] = umid
    if cmid:
        payload["clientMessageId"] = cmid
    body = {"namespace": namespace, "eventType": "outbound_message_status_changed",
            "description": "ChatApps outbound message delivery receipt", "payload": payload}
    if version is not None:
        body["version"] = version
    return body


def inbound(phone, text="Do you sell espresso machines?", umid=None, name="Ana", type_="Text",
            content=None):
    return inbound_event(phone, text, umid=umid, name=name, kind=type_, content=content)


def seed_campaign(server, count, state="queued", with_umids=True):
    """A campaign being sent: recipients made by the campaigns API, then what
    the sender records (state, UMID). Returns (campaign id, recipients)."""
    c = server.client
    phones = [new_phone() for _ in range(count)]
    r = c.post("/blu8x8/api/campaigns", json={"name": f"Webhook test {uuid.uuid4().hex[:6]}",
                                              "type": "text", "body": "Hello {name}"})
    assert r.status == 201, r
    cid = r.json["id"]
    r = c.post(f"/blu8x8/api/campaigns/{cid}/recipients", json={"phones": phones})
    assert r.status == 200 and r.json["added"] == count, r
    rows = server.sql("SELECT id, phone, client_message_id FROM messages WHERE campaign_id = ? "
                      "ORDER BY id", (cid,))
    recipients = []
    for mid, phone, cmid in rows:
        umid = str(uuid.uuid4()) if with_umids else None
        write_sql(server, "UPDATE messages SET state = ?, umid = ?, sent_at = ? WHERE id = ?",
                  (state, umid, now_iso(), mid))
        recipients.append({"id": mid, "phone": phone, "cmid": cmid, "umid": umid})
    write_sql(server, "UPDATE campaigns SET state = 'sending', started_at = ? WHERE id = ?",
              (now_iso(), cid))
    return cid, recipients


def message(server, mid):
    cols = ("state", "umid", "status_detail", "error_code", "error_message", "price",
            "receipt_at", "updated_at")
    row = server.sql(f"SELECT {', '.join(cols)} FROM messages WHERE id = ?", (mid,))[0]
    return dict(zip(cols, row))


def campaign_state(server, cid):
    return server.sql("SELECT state, done_at FROM campaigns WHERE id = ?", (cid,))[0]


def counts(server):
    return (server.sql("SELECT COUNT(*) FROM receipts")[0][0],
            server.sql("SELECT COUNT(*) FROM inbound")[0][0])


def inbound_api(server, phone):
    r = server.client.get("/blu8x8/api/inbound?phone=" + urllib.parse.quote(phone, safe=""))
    assert r.status == 200
    return r.json


# ---------------------------------------------------------- 8x8's samples

def test_v9_viber_receipt_sets_delivered(server):
    _, (rec,) = seed_campaign(server, 1)
    r = hook(server, receipt(rec["umid"], rec["cmid"], "delivered",
                             detail="delivered_to_recipient"))
    assert r.status == 200 and r.json == {"ok": True}
    m = message(server, rec["id"])
    assert m["state"] == "delivered"
    assert m["status_detail"] == "delivered_to_recipient"
    assert m["receipt_at"] == "2026-11-01T08:20:03.120Z"


def test_older_receipt_without_version_fails_the_message_with_8x8s_error(server):
    _, (rec,) = seed_campaign(server, 1)
    body = receipt(rec["umid"], None, "rejected", version=None)
    body["payload"]["errorCode"] = 1002
    body["payload"]["errorMessage"] = "Invalid MSISDN"
    assert hook(server, body).status == 200
    m = message(server, rec["id"])
    assert (m["state"], m["error_code"], m["error_message"]) == ("failed", "1002", "Invalid MSISDN")
    # Final: a later receipt does not revive it.
    assert hook(server, receipt(rec["umid"], None, "delivered")).status == 200
    assert message(server, rec["id"])["state"] == "failed"


def test_sms_receipt_stores_undelivered_error_and_price(server):
    umid, cmid = str(uuid.uuid4()), str(uuid.uuid4())
    mid = write_sql(server, "INSERT INTO messages (kind, channel, phone, phone_key, body, sender, "
                    "client_message_id, umid, state, created_at, updated_at) VALUES ('sms', 'sms', "
                    "'+639170000002', '639170000002', 'Your order shipped', 'Blu Orders', ?, ?, "
                    "'queued', ?, ?)", (cmid, umid, now_iso(), now_iso()))
    body = {"namespace": "SMS", "eventType": "outbound_message_status_changed",
            "payload": {"umid": umid, "clientMessageId": cmid, "batchId": "b-1",
                        "clientBatchId": "cb-1", "subAccountId": "BluCoffeePH_NOTIF",
                        "source": "Blu Orders", "destination": "+639170000002",
                        "status": {"state": "undelivered", "detail": "rejected_by_operator",
                                   "timestamp": "2026-11-01T08:21:00Z", "errorCode": 15,
                                   "errorMessage": "Expired"},
                        "price": {"total": 0.0446592, "perSms": 0.0446592, "currency": "EUR"},
                        "smsCount": 1}}
    assert hook(server, body).status == 200
    m = message(server, mid)
    assert m["state"] == "undelivered"
    assert (m["status_detail"], m["error_code"], m["error_message"]) == \
        ("rejected_by_operator", "15", "Expired")
    assert m["price"] == "0.0446592 EUR"


def test_inbound_viber_sample_is_stored_and_listed(server):
    phone = new_phone()
    body = inbound(phone, umid=str(uuid.uuid4()))
    assert hook(server, body).status == 200
    items = inbound_api(server, phone)["items"]
    assert len(items) == 1
    it = items[0]
    assert it["umid"] == body["payload"]["umid"]
    assert (it["phone"], it["name"], it["channel"], it["type"], it["text"]) == \
        (phone, "Ana", "viber", "text", "Do you sell espresso machines?")
    assert it["ai_state"] == "not_answered"   # the AI switch is off by default
    assert it["contact_id"] is None and it["reply_id"] is None and it["ai_error"] is None
    assert it["received_at"].endswith("Z")
    raw = server.sql("SELECT raw, event_at FROM inbound WHERE id = ?", (it["id"],))[0]
    assert json.loads(raw[0]) == body and raw[1] == "2026-11-01T14:34:56.017Z"


def test_inbound_sms_sample_is_stored(server):
    body = {"namespace": "SMS", "eventType": "inbound_message_received",
            "description": "SMS inbound message",
            "payload": {"umid": str(uuid.uuid4()), "subAccountId": "BluCoffeePH_NOTIF",
                        "timestamp": "2016-01-01T14:34:56.017Z", "source": "+6581968289",
                        "destination": "+4534735477", "body": "Test MO message",
                        "encoding": "GSM7", "smsCount": 2,
                        "price": {"total": 0.0446592, "perSms": 0.0446592, "currency": "EUR"}}}
    assert hook(server, body).status == 200
    items = inbound_api(server, "+65 8196 8289")["items"]
    assert [(i["phone"], i["channel"], i["type"], i["text"]) for i in items] == \
        [("+6581968289", "sms", "text", "Test MO message")]


def test_inbound_media_and_location_keep_their_url_and_coordinates(server):
    phone = new_phone()
    hook(server, inbound(phone, type_="Image", content={"url": "https://cdn.example/p.jpg"}))
    hook(server, inbound(phone, type_="Location",
                         content={"location": {"latitude": 14.5995, "longitude": 120.9842}}))
    items = inbound_api(server, phone)["items"]
    assert [(i["type"], i["text"], i["ai_state"]) for i in items] == \
        [("location", "14.5995,120.9842", "skipped"), ("image", "https://cdn.example/p.jpg", "skipped")]


# ------------------------------------------------------------ idempotency

def test_same_receipt_five_times_changes_the_state_once(server):
    _, (rec,) = seed_campaign(server, 1)
    before = counts(server)[0]
    assert hook(server, receipt(rec["umid"], rec["cmid"], "delivered")).status == 200
    first = message(server, rec["id"])
    time.sleep(0.01)
    for _ in range(4):
        assert hook(server, receipt(rec["umid"], rec["cmid"], "delivered")).status == 200
    again = message(server, rec["id"])
    assert again["state"] == "delivered"
    assert again["updated_at"] == first["updated_at"]   # the repeats changed nothing
    assert counts(server)[0] == before + 5               # every receipt is kept


def test_same_inbound_five_times_is_stored_once(server):
    phone = new_phone()
    body = inbound(phone, text="STOP")
    for _ in range(5):
        assert hook(server, body).status == 200
    assert len(inbound_api(server, phone)["items"]) == 1
    assert server.sql("SELECT COUNT(*) FROM messages WHERE kind = 'confirmation' AND phone = ?",
                      (phone,))[0][0] == 1


def test_out_of_order_receipts_end_in_read(server):
    _, (a, b) = seed_campaign(server, 2)
    for state in ("read", "delivered", "sent", "queued"):       # read before delivered
        hook(server, receipt(a["umid"], a["cmid"], state))
    for state in ("delivered", "queued", "read", "sent"):       # delivered before queued
        hook(server, receipt(b["umid"], b["cmid"], state))
    assert message(server, a["id"])["state"] == "read"
    assert message(server, b["id"])["state"] == "read"
    # A late failure does not undo a delivery either.
    hook(server, receipt(a["umid"], a["cmid"], "undelivered", errorCode=15))
    assert message(server, a["id"])["state"] == "read"


def test_receipt_before_the_send_response_is_matched_by_client_message_id(server):
    _, (rec,) = seed_campaign(server, 1, state="sending", with_umids=False)
    umid = str(uuid.uuid4())
    assert hook(server, receipt(umid, rec["cmid"], "sent")).status == 200
    m = message(server, rec["id"])
    assert (m["state"], m["umid"]) == ("sent", umid)
    # Later receipts naming only the UMID find the row too.
    hook(server, receipt(umid, None, "delivered"))
    assert message(server, rec["id"])["state"] == "delivered"


def test_receipt_settles_an_unknown_row(server):
    _, (rec,) = seed_campaign(server, 1, state="unknown", with_umids=False)
    umid = str(uuid.uuid4())
    assert hook(server, receipt(umid, rec["cmid"], "delivered")).status == 200
    assert (message(server, rec["id"])["state"], message(server, rec["id"])["umid"]) == \
        ("delivered", umid)


def test_receipt_for_an_unknown_message_is_kept_unmatched(server):
    umid, cmid = str(uuid.uuid4()), str(uuid.uuid4())
    assert hook(server, receipt(umid, cmid, "delivered")).status == 200
    assert server.sql("SELECT state, matched FROM receipts WHERE umid = ?", (umid,)) == \
        [("delivered", 0)]
    assert "B8-1512" in server.read_log()


# ---------------------------------------------------------- campaign Done

def test_done_flips_exactly_when_the_last_recipient_is_delivered_or_read(server):
    cid, (a, b, c) = seed_campaign(server, 3)
    hook(server, receipt(a["umid"], a["cmid"], "delivered"))
    hook(server, receipt(b["umid"], b["cmid"], "read"))
    hook(server, receipt(c["umid"], c["cmid"], "sent"))
    assert campaign_state(server, cid) == ("sending", None)
    hook(server, receipt(c["umid"], c["cmid"], "delivered"))
    state, done_at = campaign_state(server, cid)
    assert state == "done" and done_at
    # Later read receipts leave it Done, with its first done time.
    hook(server, receipt(a["umid"], a["cmid"], "read"))
    assert campaign_state(server, cid) == ("done", done_at)


def test_campaign_with_an_undelivered_recipient_is_not_done_by_receipts(server):
    cid, (a, b) = seed_campaign(server, 2)
    hook(server, receipt(a["umid"], a["cmid"], "undelivered", errorCode=15, errorMessage="Expired"))
    hook(server, receipt(b["umid"], b["cmid"], "read"))
    assert campaign_state(server, cid)[0] == "sending"


def post_concurrently(server, chunks, together=False):
    """Posts each chunk of bodies on a connection of its own, the chunks at
    once (together: the first post of each at the same moment). Answers the
    statuses."""
    answers = []
    start_together = threading.Barrier(len(chunks)) if together else None

    def post(chunk):
        client = Client(server.port, None)
        if start_together:
            start_together.wait()
        for body in chunk:
            answers.append(client.request("POST", HOOK, body=json.dumps(body).encode(),
                                          headers={"Content-Type": "application/json"}).status)

    threads = [threading.Thread(target=post, args=(chunk,)) for chunk in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def test_a_flood_of_concurrent_receipts_applies_every_one(server):
    """Receipts arriving together share transactions (group commit on
    SQLite): none may be lost, applied twice or answered before it is
    stored, and the campaign becomes Done exactly once."""
    cid, recipients = seed_campaign(server, 120)
    before = counts(server)[0]
    # Every recipient gets sent, delivered and read, in shuffled order,
    # plus receipts for messages we do not know (kept unmatched).
    bodies = [receipt(r["umid"], r["cmid"], state) for r in recipients
              for state in ("sent", "delivered", "read")]
    bodies += [receipt(f"flood-unknown-{i}", None, "delivered") for i in range(40)]
    random.Random(5).shuffle(bodies)
    answers = post_concurrently(server, [bodies[i::16] for i in range(16)])
    assert answers.count(200) == len(bodies), sorted(set(answers))
    assert counts(server)[0] - before == len(bodies)
    states = server.sql("SELECT state, COUNT(*) FROM messages WHERE campaign_id = ? "
                        "GROUP BY state", (cid,))
    assert states == [("read", 120)]
    assert server.sql("SELECT COUNT(*) FROM receipts WHERE umid LIKE ? AND matched = 0",
                      ("flood-unknown-%",))[0][0] == 40
    state, done_at = campaign_state(server, cid)
    assert state == "done" and done_at
    assert server.read_log().count(f"B8-1501: campaign {cid} is done") == 1


def test_receipts_arriving_together_apply_as_if_one_after_the_other(server):
    """Receipts that arrive at the same moment are written together (one
    statement on PostgreSQL, one transaction on SQLite). Several for one
    message, in any order and repeated, leave it at its furthest state as
    one after the other would; every receipt is kept once; a row known only
    by its clientMessageId gets its UMID (a receipt that takes the full
    path); and the campaign's counts stay equal to its messages. Which
    receipts share a write depends on timing: three rounds."""
    for seed in range(3):
        cid, known = seed_campaign(server, 8)
        cid2, unsent = seed_campaign(server, 4, state="sending", with_umids=False)
        before = counts(server)[0]
        bodies = [receipt(r["umid"], r["cmid"], state) for r in known
                  for state in ("read", "sent", "delivered", "delivered")]
        umids = {r["id"]: str(uuid.uuid4()) for r in unsent}
        bodies += [receipt(umids[r["id"]], r["cmid"], state) for r in unsent
                   for state in ("sent", "delivered")]
        random.Random(seed).shuffle(bodies)
        answers = post_concurrently(server, [[body] for body in bodies], together=True)
        assert answers.count(200) == len(bodies), sorted(set(answers))
        assert counts(server)[0] - before == len(bodies)
        assert server.sql("SELECT COUNT(*) FROM receipts WHERE umid IN (%s) AND matched = 0"
                          % ", ".join("?" * len(umids)), tuple(umids.values()))[0][0] == 0
        for r in known:
            assert message(server, r["id"])["state"] == "read", r
        for r in unsent:
            m = message(server, r["id"])
            assert (m["state"], m["umid"]) == ("delivered", umids[r["id"]]), r
        for c, want in ((cid, [("read", 8)]), (cid2, [("delivered", 4)])):
            assert server.sql("SELECT state, SUM(n) FROM campaign_counts WHERE campaign_id = ? "
                              "GROUP BY state HAVING SUM(n) <> 0", (c,)) == want
            assert campaign_state(server, c)[0] == "done"


@pytest.mark.expect_log("B8-0105", "B8-1510")
def test_a_receipt_the_database_refuses_fails_only_its_own_request(make_server):
    """A receipt the database refuses (here by a trigger made for the test)
    undoes the write it shared with others (a transaction on SQLite, a
    statement on PostgreSQL): each then runs alone, the refused one is
    answered 500 (8x8 sends it again) and the others are stored. A server of
    its own, the trigger made while it is stopped: SQLite's statements
    prepared before it would fail."""
    h = make_server(worker=False)
    h.stop()
    if DB == "pgsql":
        write_sql(h, "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ "
                     "BEGIN IF NEW.umid = 'poison' THEN RAISE EXCEPTION 'poison'; END IF; "
                     "RETURN NEW; END $$")
        write_sql(h, "CREATE TRIGGER refuse_poison BEFORE INSERT ON receipts FOR EACH ROW "
                     "EXECUTE FUNCTION refuse_poison()")
    else:
        write_sql(h, "CREATE TRIGGER refuse_poison BEFORE INSERT ON receipts "
                     "WHEN NEW.umid = 'poison' BEGIN SELECT RAISE(ABORT, 'poison'); END")
    h.start()
    _, recipients = seed_campaign(h, 24)
    bodies = [receipt(r["umid"], r["cmid"], "delivered") for r in recipients]
    bodies[12:12] = [receipt("poison", None, "delivered")] * 4
    answers = post_concurrently(h, [[body] for body in bodies], together=True)
    assert sorted(answers) == [200] * 24 + [500] * 4
    for r in recipients:
        assert message(h, r["id"])["state"] == "delivered", r
    assert h.sql("SELECT COUNT(*) FROM receipts WHERE umid = 'poison'")[0][0] == 0
    if DB == "pgsql":
        assert "B8-5000: a batch of" in h.read_log()


def test_a_large_campaign_becomes_done_once_when_its_last_receipts_race(server):
    """More recipients than the database has connections: the first
    receipts know they cannot be the last without locking the campaign
    (the receipts of a campaign do not wait for each other), the last ones
    lock it. The last 32 arrive at the same moment, and still the campaign
    becomes Done exactly once, after the last recipient is delivered."""
    cid, recipients = seed_campaign(server, 450)
    bodies = [receipt(r["umid"], r["cmid"], "delivered") for r in recipients]
    random.Random(7).shuffle(bodies)
    first, last = bodies[:-32], bodies[-32:]
    answers = post_concurrently(server, [first[i::16] for i in range(16)])
    answers += post_concurrently(server, [[body] for body in last], together=True)
    assert answers.count(200) == len(bodies), sorted(set(answers))
    assert server.sql("SELECT state, COUNT(*) FROM messages WHERE campaign_id = ? "
                      "GROUP BY state", (cid,)) == [("delivered", 450)]
    state, done_at = campaign_state(server, cid)
    assert state == "done" and done_at
    last_change = server.sql("SELECT MAX(updated_at) FROM messages WHERE campaign_id = ?",
                             (cid,))[0][0]
    assert done_at >= last_change
    assert server.read_log().count(f"B8-1501: campaign {cid} is done") == 1


# ------------------------------------------------------- refused requests

def test_wrong_method_is_405_with_allow_post(server):
    r = Client(server.port, None).get(HOOK)
    assert r.status == 405 and r.header("allow") == "POST" and r.json["error"]


def test_authorization_is_checked_when_configured(make_server):
    h = make_server("Blu8x8WebhookAuthorization \"Bearer 9QQhlsEb8VY\"\n", worker=False)
    phone = new_phone()
    body = inbound(phone)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "bearer 9QQhlsEb8VY"},
                    {"Authorization": "Bearer 9QQhlsEb8VYX"}):
        r = hook(h, body, headers=headers)
        assert r.status == 401, headers
        assert r.json["error"] and r.header("content-type").startswith("application/json")
    # 401 comes before 415 and 413.
    assert hook(h, b"x" * 300_000, content_type="text/plain").status == 401
    assert h.sql("SELECT COUNT(*) FROM inbound")[0][0] == 0
    r = hook(h, body, headers={"Authorization": "Bearer 9QQhlsEb8VY"})
    assert r.status == 200
    assert h.sql("SELECT COUNT(*) FROM inbound")[0][0] == 1
    assert "9QQhlsEb8VY" not in h.read_log()


def test_content_type_must_be_json(server):
    before = counts(server)
    r = hook(server, json.dumps(inbound(new_phone())).encode(), content_type="text/plain")
    assert r.status == 415 and r.json["error"]
    assert hook(server, b"{}", content_type=None).status == 415
    # 415 comes before 413.
    assert hook(server, b"x" * 300_000, content_type="text/plain").status == 415
    assert hook(server, inbound(new_phone()), content_type="application/json; charset=utf-8").status == 200
    assert counts(server)[1] == before[1] + 1


def test_body_over_the_limit_is_413(server):
    before = counts(server)
    big = inbound(new_phone(), text="x" * 270_000)
    r = hook(server, big)
    assert r.status == 413 and r.json["error"]
    assert counts(server) == before


def raw_chunked_post(port, chunks):
    """A chunked POST sent by hand; returns the status code."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"POST " + HOOK.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                  b"Authorization: " + WEBHOOK_AUTH.encode() + b"\r\n"
                  b"Connection: close\r\n\r\n")
        try:
            for chunk in chunks:
                s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            s.sendall(b"0\r\n\r\n")
        except OSError:
            pass   # the server may answer and stop reading early
        data = b""
        while b"\r\n" not in data:
            part = s.recv(4096)
            if not part:
                break
            data += part
    return int(data.split(b" ", 2)[1])


def test_chunked_bodies_are_read_and_capped(server):
    phone = new_phone()
    body = json.dumps(inbound(phone)).encode()
    assert raw_chunked_post(server.port, [body[:10], body[10:]]) == 200
    assert len(inbound_api(server, phone)["items"]) == 1
    before = counts(server)
    big = json.dumps(inbound(new_phone(), text="y" * 300_000)).encode()
    assert raw_chunked_post(server.port, [big[i:i + 16384] for i in range(0, len(big), 16384)]) == 413
    assert counts(server) == before


BAD_BODIES = {
    "truncated JSON": b'{"namespace": "ChatApps", "eventType": "inbound_message_received", "payl',
    "a JSON array": b'[{"eventType": "inbound_message_received"}]',
    "payload of the wrong type": b'{"eventType": "inbound_message_received", "payload": "x"}',
    "receipt without status": json.dumps({"eventType": "outbound_message_status_changed",
                                          "payload": {"umid": "u-1"}}).encode(),
    "text that is not a string": json.dumps(inbound("+639170000001", content={"text": 42})).encode(),
    "200 levels of nesting": (b'{"eventType": "inbound_message_received", "payload": '
                              + b'{"a":' * 199 + b'1' + b'}' * 199 + b'}'),
    "invalid UTF-8": (b'{"eventType": "inbound_message_received", "payload": {"umid": "\xff\xfe", '
                      b'"user": {"msisdn": "+639170000001"}, "type": "Text", "content": {"text": "hi"}}}'),
    "a NUL byte": (b'{"eventType": "inbound_message_received", "payload": {"umid": "n-1\x00", '
                   b'"user": {"msisdn": "+639170000001"}, "type": "Text", "content": {"text": "hi"}}}'),
    "an escaped NUL": (b'{"eventType": "inbound_message_received", "payload": {"umid": "n-2", '
                       b'"user": {"msisdn": "+639170000001"}, "type": "Text", '
                       b'"content": {"text": "hi\\u0000there"}}}'),
    "an empty body": b"",
}


@pytest.mark.parametrize("name", list(BAD_BODIES))
def test_malformed_bodies_are_400_and_store_nothing(server, name):
    before = counts(server)
    r = hook(server, BAD_BODIES[name])
    assert r.status == 400, name
    assert isinstance(r.json["error"], str) and r.json["error"]
    assert counts(server) == before


def test_400_names_what_is_wrong(server):
    r = hook(server, BAD_BODIES["payload of the wrong type"])
    assert r.json["error"] == "payload must be an object"
    r = hook(server, BAD_BODIES["200 levels of nesting"])
    assert "nested deeper than 32 levels" in r.json["error"]


def test_unknown_event_type_is_200_and_logged(server):
    before = counts(server)
    r = hook(server, {"eventType": "template_status_update", "eventDetails": {"templateId": 1}})
    assert r.status == 200
    assert counts(server) == before
    assert "B8-1530: webhook event type template_status_update ignored" in server.read_log()


# ------------------------------------------------------------- STOP / START

def test_stop_opts_out_a_new_contact_and_queues_a_confirmation(server):
    phone = new_phone()
    assert hook(server, inbound(phone, text="  unsubscribe \n", name="Bea")).status == 200
    contact = server.sql("SELECT id, name, opted_out, opted_out_at FROM contacts WHERE phone = ?",
                         (phone,))
    assert len(contact) == 1
    cid, name, opted_out, opted_out_at = contact[0]
    assert (name, opted_out) == ("Bea", 1) and opted_out_at
    item = inbound_api(server, phone)["items"][0]
    assert item["ai_state"] == "skipped" and item["contact_id"] == cid
    replies = server.sql("SELECT kind, channel, state, body, inbound_id, contact_id FROM messages "
                         "WHERE phone = ?", (phone,))
    assert replies == [("confirmation", "viber", "pending",
                        "You have been unsubscribed from Blu Coffee messages. Reply START to "
                        "subscribe again.", item["id"], cid)]
    # An opted-out sender's other messages are not for the AI.
    hook(server, inbound(phone, text="hello again"))
    assert inbound_api(server, phone)["items"][0]["ai_state"] == "skipped"


def test_start_opts_back_in_and_is_confirmed(server):
    phone = new_phone()
    hook(server, inbound(phone, text="STOP"))
    assert hook(server, inbound(phone, text="Start")).status == 200
    assert server.sql("SELECT opted_out, opted_out_at FROM contacts WHERE phone = ?", (phone,)) == \
        [(0, None)]
    bodies = [b for (b,) in server.sql("SELECT body FROM messages WHERE phone = ? AND "
                                       "kind = 'confirmation' ORDER BY id", (phone,))]
    assert len(bodies) == 2 and "Reply STOP to unsubscribe" in bodies[1]


def test_stop_inside_a_sentence_is_an_ordinary_message(server):
    phone = new_phone()
    hook(server, inbound(phone, text="Please stop the espresso order"))
    assert server.sql("SELECT COUNT(*) FROM contacts WHERE phone = ?", (phone,)) == [(0,)]
    assert inbound_api(server, phone)["items"][0]["ai_state"] == "not_answered"


def test_text_is_queued_for_the_ai_when_the_switch_is_on(server):
    c = server.client
    assert c.patch("/blu8x8/api/settings", json={"ai_respond": True}).status == 200
    try:
        phone = new_phone()
        hook(server, inbound(phone, text="Do you deliver to Cebu?"))
        hook(server, inbound(phone, type_="Image", content={"url": "https://cdn.example/x.png"}))
        states = [i["ai_state"] for i in inbound_api(server, phone)["items"]]
        assert states == ["skipped", "new"]
    finally:
        assert c.patch("/blu8x8/api/settings", json={"ai_respond": False}).status == 200


# ------------------------------------------------------------------ Inbox

def test_inbound_api_takes_any_phone_format(server):
    phone = new_phone()            # +63918xxxxxxx
    hook(server, inbound(phone))
    local = "0" + phone[3:]        # 0918xxxxxxx
    spaced = f"{phone[:3]} {phone[3:6]} {phone[6:9]} {phone[9:]}"
    for form in (phone, local, spaced, phone[1:]):
        assert [i["phone"] for i in inbound_api(server, form)["items"]] == [phone], form
    assert inbound_api(server, "+639999999999") == {"items": [], "total": 0, "page": 1,
                                                     "per_page": 50, "pages": 1}
    assert inbound_api(server, "not a phone")["items"] == []
    assert server.client.as_user(None).get("/blu8x8/api/inbound").status == 401


def conversation_page(server, q):
    """The page of the one conversation a search finds (phone digits or name)."""
    items = server.client.get("/blu8x8/api/conversations?q=" + q).json["items"]
    assert len(items) == 1, items
    page = server.client.get(f"/blu8x8/conversations/{items[0]['id']}")
    assert page.status == 200
    return page.text


def test_conversation_escapes_inbound_text(server):
    phone = new_phone()
    attack = "<img src=x onerror=alert(1)>"
    hook(server, inbound(phone, text=attack, name="<b>Eve</b>"))
    assert inbound_api(server, phone)["items"][0]["text"] == attack   # stored as sent
    page = conversation_page(server, phone[1:])
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<img src=x" not in page and "<b>Eve" not in page
    listing = server.client.get("/blu8x8/conversations?q=" + phone[1:]).text
    assert "&lt;b&gt;Eve" in listing and "<b>Eve" not in listing


def test_conversations_newest_first_with_messages_in_and_out(server):
    cid, (rec,) = seed_campaign(server, 1)
    r = server.client.post("/blu8x8/api/contacts", json={"name": "Carla", "phone": rec["phone"]})
    assert r.status == 201, r
    hook(server, receipt(rec["umid"], rec["cmid"], "read"))
    hook(server, inbound(rec["phone"], text="Thanks! Price of the Arabica beans?", name="carla.v"))
    other = new_phone()
    hook(server, inbound(other, text="Latest message of all", name="Dan"))

    # The old Inbox address leads here.
    old = server.client.get("/blu8x8/inbox")
    assert old.status == 301 and old.header("Location").endswith("/blu8x8/conversations")
    page = server.client.get("/blu8x8/conversations")
    assert page.status == 200 and 'aria-current="page">Conversations' in page.text
    text = page.text
    assert text.index("Dan") < text.index("Carla")               # latest activity first

    carla = conversation_page(server, "carla")
    assert "Hello" in carla and 'data-state="read"' in carla      # the campaign message, read
    assert "Price of the Arabica beans?" in carla
    assert "not answered (AI off)" in carla                        # the inbound's AI status
    assert carla.index("Hello") < carla.index("Arabica")           # oldest first inside

    found = server.client.get("/blu8x8/conversations?q=carla").text
    assert "Carla" in found and "Dan" not in found
    found = server.client.get("/blu8x8/conversations?q=0" + rec["phone"][3:]).text
    assert "Carla" in found and "Dan" not in found
    assert "No conversations" in server.client.get("/blu8x8/conversations?q=nobody-here").text
    assert server.client.get("/blu8x8/inbox?phone=carla").header("Location").endswith(
        "/blu8x8/conversations?q=carla")


def test_conversations_pages(server):
    for _ in range(3):
        hook(server, inbound(new_phone()))
    first = server.client.get("/blu8x8/conversations?per_page=2")
    assert first.status == 200 and "page 1 of" in first.text and "Older" in first.text
    assert first.text.count('<li class="conv') == 2
    second = server.client.get("/blu8x8/conversations?per_page=2&page=2")
    assert "page 2 of" in second.text and "Newer" in second.text


# --------------------------------------------------------------- speed

def test_webhook_answers_within_milliseconds(server):
    _, recs = seed_campaign(server, 20)
    took = []
    for rec in recs:
        t = time.perf_counter()
        assert hook(server, receipt(rec["umid"], rec["cmid"], "delivered")).status == 200
        took.append(time.perf_counter() - t)
    took.sort()
    assert took[len(took) // 2] < 0.05, took
