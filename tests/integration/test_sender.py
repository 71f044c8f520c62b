"""The sending engine (issue 4) against a real httpd and the 8x8 stand-in:
payloads as 8x8 receives them, Send Test, retries and their limits, the
"maybe sent" rule, campaign actions, pacing, the direct lane, and the crash
test (the worker SIGKILLed mid-send never sends anyone twice).

Most tests share one server; a test that needs its own configuration (a
short Blu8x8HttpTimeout, an 8x8 URL nobody listens on) or kills processes
gets its own from make_server.
"""

from __future__ import annotations

import datetime
import itertools
import json
import os
import signal
import time
import uuid

import pytest

import eightx8_schema
from conftest import Client, free_port, stays, wait_until
from standins import EightByEight

SUB = "BluCoffeePH_TwoWayViber_NOTIF"
PATH = f"/api/v1/subaccounts/{SUB}/messages"
_phones = itertools.count(1)

# ------------------------------------------------------------------- helpers

def new_phones(n: int) -> list[str]:
    return [f"+63927{next(_phones):07d}" for _ in range(n)]


def set_interval(api, seconds) -> None:
    r = api.patch("/blu8x8/api/settings", json={"send_interval": seconds})
    assert r.status == 200, r


def make_campaign(api, phones=(), contact_ids=(), **fields) -> int:
    body = {"name": f"Sender test {uuid.uuid4().hex[:6]}", "type": "text", "body": "Hello {name}"}
    body.update(fields)
    r = api.post("/blu8x8/api/campaigns", json=body)
    assert r.status == 201, r
    cid = r.json["id"]
    if phones or contact_ids:
        r = api.post(f"/blu8x8/api/campaigns/{cid}/recipients",
                     json={"phones": list(phones), "contact_ids": list(contact_ids)})
        assert r.status == 200 and r.json["added"] == len(phones) + len(contact_ids), r
    return cid


def action(api, cid, name, body=None):
    return api.post(f"/blu8x8/api/campaigns/{cid}/{name}", json=body if body is not None else {})


def rows(server, cid) -> list[dict]:
    cols = ("id", "phone", "client_message_id", "umid", "state", "error_code", "error_message",
            "attempts")
    return [dict(zip(cols, r)) for r in server.sql(
        f"SELECT {', '.join(cols)} FROM messages WHERE campaign_id = ? ORDER BY id", (cid,))]


def progress(api, cid) -> dict:
    r = api.get(f"/blu8x8/api/campaigns/{cid}/progress")
    assert r.status == 200, r
    return r.json


def wait_processed(api, cid, timeout=15.0) -> dict:
    """Until no recipient is pending or sending; returns the progress."""
    def done():
        p = progress(api, cid)
        return p if p["counts"]["pending"] == 0 and p["counts"]["sending"] == 0 else None
    return wait_until(done, timeout, what=f"campaign {cid} processed")


def requests_to(eightx8, phone) -> list:
    return [r for r in eightx8.requests if (r.json or {}).get("user", {}).get("msisdn") == phone]


@pytest.fixture(autouse=True)
def _quiet_shared_server(request):
    """No campaign of one test keeps sending into the next."""
    yield
    if "server" in request.fixturenames:
        api = request.getfixturevalue("server").client
        for state in ("sending", "queued", "paused"):
            for c in api.get(f"/blu8x8/api/campaigns?state={state}&per_page=1000").json["items"]:
                action(api, c["id"], "cancel")


# ------------------------------------------------------------------ payloads

FALLBACK = {"encoding": "AUTO", "source": "Blu Coffee"}


def channels(after=60):
    return [{"channel": "Viber", "fallbackAfter": after, "successStatus": "Delivered"},
            {"channel": "SMS"}]


def test_every_message_type_arrives_as_8x8_expects_it(server, eightx8):
    """Each campaign type and combination (button, fallback) as 8x8 receives
    it; every body validates against 8x8's official send schema."""
    api = server.client
    set_interval(api, 0)
    ana = new_phones(1)[0]
    r = api.post("/blu8x8/api/contacts", json={"name": "Ana Cruz", "phone": ana})
    assert r.status == 201, r
    ana_id = r.json["id"]
    media = "https://cdn.blu.example"
    button = {"caption": "Shop", "action": f"{media}/shop"}
    video = {"filesize": 1048576, "duration": 42, "thumbnail": f"{media}/t.jpg"}
    video_fields = dict(type="video", url=f"{media}/v.mp4", thumbnail_url=f"{media}/t.jpg",
                        file_size=1048576, duration=42)
    # (campaign fields, type, content, channels)
    cases = [
        (dict(type="text", body="Hi {name}, call {phone}"),
         "text", {"text": "Hi Ana Cruz, call " + ana}, None),
        (dict(type="text", body="Sale", button_caption="Shop", button_url=f"{media}/shop"),
         "buttons", {"text": "Sale", "button": button}, None),
        (dict(type="text", body="Sale", fallback_text="Sale: {phone}", fallback_after=120),
         "text", {"text": "Sale", "fallbackText": "Sale: PHONE", "sms": FALLBACK},
         channels(120)),
        (dict(type="text", body="Sale", button_caption="Shop", button_url=f"{media}/shop",
              fallback_text="Sale"),
         "buttons", {"text": "Sale", "button": button, "fallbackText": "Sale",
                     "sms": FALLBACK}, channels()),
        (dict(type="image", body="", url=f"{media}/a.jpg"),
         "image", {"url": f"{media}/a.jpg"}, None),
        (dict(type="image", body="New roast", url=f"{media}/a.jpg"),
         "image", {"url": f"{media}/a.jpg", "text": "New roast"}, None),
        (dict(type="image", body="Order", url=f"{media}/b.png", button_caption="Shop",
              button_url=f"{media}/shop"),
         "buttons", {"text": "Order", "url": f"{media}/b.png", "button": button}, None),
        (dict(type="image", body="Order", url=f"{media}/b.png", button_caption="Shop",
              button_url=f"{media}/shop", fallback_text="See blu.example"),
         "buttons", {"text": "Order", "url": f"{media}/b.png", "button": button,
                     "fallbackText": "See blu.example", "sms": FALLBACK}, channels()),
        (dict(body="", **video_fields),
         "video", {"url": f"{media}/v.mp4", "video": video}, None),
        (dict(body="Watch", **video_fields),
         "video", {"url": f"{media}/v.mp4", "text": "Watch", "video": video}, None),
        (dict(body="Watch", button_caption="Shop", button_url=f"{media}/shop",
              fallback_text="Watch at blu.example", fallback_after=10, **video_fields),
         "video", {"url": f"{media}/v.mp4", "text": "Watch", "video": video, "button": button,
                   "fallbackText": "Watch at blu.example", "sms": FALLBACK}, channels(10)),
        (dict(type="file", body="", url=f"{media}/menu.pdf"), "file", {"url": f"{media}/menu.pdf"},
         None),
        (dict(type="audio", body="", url=f"{media}/jingle.mp3"), "file",
         {"url": f"{media}/jingle.mp3"},
         None),
        (dict(type="audio", body="", url=f"{media}/jingle.mp3", fallback_text="Listen: {phone}"),
         "file", {"url": f"{media}/jingle.mp3", "fallbackText": "Listen: PHONE",
                  "sms": FALLBACK}, channels()),
    ]
    expected = {}
    for fields, type_, content, chans in cases:
        if fields.get("body", "").startswith("Hi {name}"):
            cid, phone = make_campaign(api, contact_ids=[ana_id], **fields), ana
        else:
            phone = new_phones(1)[0]
            cid = make_campaign(api, [phone], **fields)
        content = json.loads(json.dumps(content).replace("PHONE", phone))
        cmid = rows(server, cid)[0]["client_message_id"]
        payload = {"user": {"msisdn": phone}, "clientMessageId": cmid, "type": type_,
                   "content": content}
        if chans:
            payload["channels"] = chans
        expected[phone] = (cid, payload)
        assert action(api, cid, "send").status == 200
    assert eightx8.wait_for(len(cases), timeout=10)
    for phone, (cid, payload) in expected.items():
        [req] = requests_to(eightx8, phone)
        assert req.method == "POST" and req.path == PATH
        assert req.headers["Authorization"] == "Bearer test-8x8-key"
        assert req.headers["Content-Type"].startswith("application/json")
        assert req.json == payload
        assert eightx8_schema.errors("viber", req.json) == [], req.json
        row = wait_until(lambda: [x for x in rows(server, cid) if x["state"] == "queued"],
                         what="queued")[0]
        assert row["umid"] == eightx8.umids[payload["clientMessageId"]]
    assert eightx8.schema_errors == []
    # Keep-alive: far fewer connections than messages.
    assert len(eightx8.connection_ids) < len(cases)


def test_viber_shapes_8x8_would_refuse_are_refused_here(server):
    """A button without a body, text on a file or audio message, a size or
    duration on audio, a fallback delay outside 8x8's 10 s to a day: 422."""
    api = server.client
    media = "https://cdn.blu.example"
    bad = [
        (dict(type="image", url=f"{media}/a.jpg", button_caption="Buy",
              button_url=f"{media}/buy"), "body"),
        (dict(type="text", body="", button_caption="Buy", button_url=f"{media}/buy"), "body"),
        (dict(type="file", body="Our menu", url=f"{media}/menu.pdf"), "body"),
        (dict(type="audio", body="Listen", url=f"{media}/j.mp3"), "body"),
        (dict(type="audio", url=f"{media}/j.mp3", file_size=1000), "file_size"),
        (dict(type="audio", url=f"{media}/j.mp3", duration=5), "duration"),
        (dict(type="text", body="Hi", fallback_text="Hi", fallback_after=9), "fallback_after"),
        (dict(type="text", body="Hi", fallback_text="Hi", fallback_after=86401),
         "fallback_after"),
    ]
    for fields, field in bad:
        r = api.post("/blu8x8/api/campaigns", json={"name": "Bad shape", **fields})
        assert r.status == 422 and field in r.json["fields"], (fields, r.json)
    r = api.post("/blu8x8/api/campaigns", json={"name": "Default wait", "type": "text",
                                                 "body": "Hi", "fallback_text": "Hi"})
    assert r.status == 201 and r.json["fallback_after"] == 60
    cid = r.json["id"]
    r = api.patch(f"/blu8x8/api/campaigns/{cid}", json={"fallback_after": 300})
    assert r.status == 200 and r.json["fallback_after"] == 300
    assert action(api, cid, "duplicate").json["fallback_after"] == 300


# ----------------------------------------------------------------- Send Test

def test_send_test_answers_the_umid_and_never_touches_recipients(server, eightx8):
    api = server.client
    phones = new_phones(2)
    cid = make_campaign(api, phones, body="Test for {name}")
    before = rows(server, cid)
    target = new_phones(1)[0]
    r = action(api, cid, "test", {"phone": target})
    assert r.status == 200, r
    [req] = eightx8.requests
    assert req.json["user"]["msisdn"] == target
    assert r.json["umid"] == eightx8.umids[req.json["clientMessageId"]]
    assert r.json["state"] == "queued"
    # Any number of times; recipients and campaign unchanged.
    assert action(api, cid, "test", {"phone": target}).status == 200
    assert rows(server, cid) == before
    assert api.get(f"/blu8x8/api/campaigns/{cid}").json["state"] == "draft"
    assert not (set(phones) & {q.json["user"]["msisdn"] for q in eightx8.requests})


def test_send_test_defaults_to_my_phone_and_reports_refusals(server, eightx8):
    api = server.client
    cid = make_campaign(api, new_phones(1), body="Hi {name}")
    admin = [u for u in api.get("/blu8x8/api/users").json["items"] if u["login"] == "admin"][0]
    api.patch(f"/blu8x8/api/users/{admin['id']}", json={"phone": None})
    r = action(api, cid, "test")
    assert r.status == 422 and "phone" in r.json["fields"]
    assert not eightx8.requests
    assert action(api, cid, "test", {"phone": "call me"}).status == 422

    mine = new_phones(1)[0]
    assert api.patch(f"/blu8x8/api/users/{admin['id']}",
                     json={"phone": mine, "name": "Admin Person"}).status == 200
    r = action(api, cid, "test")
    assert r.status == 200, r
    assert eightx8.requests[-1].json["user"]["msisdn"] == mine
    assert eightx8.requests[-1].json["content"]["text"] == "Hi Admin Person"

    eightx8.fail(400, 1002, "Invalid MSISDN")
    r = action(api, cid, "test")
    assert r.status == 502
    assert r.json["code"] == 1002 and r.json["http_status"] == 400
    assert "Invalid MSISDN" in r.json["error"]
    assert action(api, 999999, "test", {"phone": mine}).status == 404


# ------------------------------------------------------------------ retries

def test_rate_limit_is_retried_after_retry_after(server, eightx8):
    api = server.client
    set_interval(api, 0)
    [phone] = new_phones(1)
    eightx8.rate_limit(retry_after=1)
    cid = make_campaign(api, [phone])
    assert action(api, cid, "send").status == 200
    assert eightx8.wait_for(2, timeout=5)
    first, second = eightx8.requests[:2]
    assert 0.95 <= second.time - first.time < 2.0
    assert first.json["clientMessageId"] == second.json["clientMessageId"]
    wait_processed(api, cid)
    [row] = rows(server, cid)
    assert row["state"] == "queued" and row["attempts"] == 2
    assert eightx8.sends_by_msisdn[phone] == 1


def test_server_errors_are_retried_with_the_same_client_message_id(server, eightx8):
    api = server.client
    set_interval(api, 0)
    [phone] = new_phones(1)
    eightx8.fail(500, times=2)
    cid = make_campaign(api, [phone])
    assert action(api, cid, "send").status == 200
    assert eightx8.wait_for(3, timeout=5)
    wait_processed(api, cid)
    reqs = requests_to(eightx8, phone)
    assert len(reqs) == 3 and len({q.json["clientMessageId"] for q in reqs}) == 1
    # Backoff: the second wait is longer than the first.
    assert reqs[2].time - reqs[1].time > reqs[1].time - reqs[0].time
    [row] = rows(server, cid)
    assert row["state"] == "queued" and row["umid"] == eightx8.umids[reqs[0].json["clientMessageId"]]


def test_server_errors_give_up_after_the_retry_window(make_server, eightx8):
    """5xx answers are retried for Blu8x8RetryWindow (10 minutes by default;
    2 s here), then the message fails with 8x8's last word."""
    h = make_server("Blu8x8RetryWindow 2\n")
    api = h.client
    set_interval(api, 0)
    [phone] = new_phones(1)
    eightx8.fail(503, code=2000, message="Service busy", times=None)
    cid = make_campaign(api, [phone])
    assert action(api, cid, "send").status == 200
    wait_processed(api, cid, timeout=15)
    eightx8.clear_script()
    [row] = rows(h, cid)
    assert row["state"] == "failed" and row["error_code"] == "2000"
    assert "Service busy" in row["error_message"] and "503" in row["error_message"]
    tries = len(requests_to(eightx8, phone))
    assert 3 <= tries <= 6 and row["attempts"] == tries


def test_a_refusal_fails_only_that_recipient_with_8x8s_code(server, eightx8):
    api = server.client
    set_interval(api, 0)
    bad, good = new_phones(2)
    eightx8.reject_msisdn(bad, 1002, "Invalid MSISDN")
    cid = make_campaign(api, [bad, good])
    assert action(api, cid, "send").status == 200
    wait_processed(api, cid)
    by_phone = {r["phone"]: r for r in rows(server, cid)}
    assert by_phone[bad]["state"] == "failed"
    assert by_phone[bad]["error_code"] == "1002"
    assert by_phone[bad]["error_message"] == "Invalid MSISDN"
    assert len(requests_to(eightx8, bad)) == 1    # a 4xx is final: no retry
    assert by_phone[good]["state"] == "queued"
    p = progress(api, cid)
    assert p["failed"] == 1 and p["sent"] == 1
    assert p["failures"][0]["phone"] == bad and p["failures"][0]["error_code"] == "1002"
    # Every recipient has a UMID or a final state: Done without the minute cron.
    wait_until(lambda: api.get(f"/blu8x8/api/campaigns/{cid}").json["state"] == "done",
               what="done")


def test_connection_dropped_after_the_request_is_unknown_not_resent(server, eightx8):
    """8x8 read the request, then the connection died: it may have been
    accepted (no idempotency key at 8x8), so it is never sent again."""
    api = server.client
    set_interval(api, 0)
    [phone] = new_phones(1)
    eightx8.close_before_answer()
    cid = make_campaign(api, [phone])
    assert action(api, cid, "send").status == 200
    wait_processed(api, cid)
    [row] = rows(server, cid)
    assert row["state"] == "unknown" and "may have" in row["error_message"]
    assert stays(lambda: len(requests_to(eightx8, phone)), api) == 1   # never resent
    # Unknown keeps the campaign from Done until a receipt or a human decides.
    assert api.get(f"/blu8x8/api/campaigns/{cid}").json["state"] == "sending"
    r = action(api, cid, "requeue-unknown")
    assert r.status == 200 and r.json["state"] == "sending"
    wait_processed(api, cid)
    [row2] = rows(server, cid)
    assert row2["state"] == "queued" and row2["client_message_id"] != row["client_message_id"]
    assert len(requests_to(eightx8, phone)) == 2


def test_connection_refused_is_retried_until_8x8_is_back(make_server):
    port = free_port()
    h = make_server(f"Blu8x8ChatAppsURL http://127.0.0.1:{port}\n")
    api = h.client
    set_interval(api, 0)
    [phone] = new_phones(1)
    cid = make_campaign(api, [phone])
    assert action(api, cid, "send").status == 200
    # A fixed wait: refusals leave no trace to poll (nothing listens; attempts
    # are committed with the outcome).
    time.sleep(0.6)   # refused at least twice by now
    assert rows(h, cid)[0]["state"] == "sending"
    late = EightByEight(port=port).start()
    try:
        wait_processed(api, cid, timeout=10)
        [row] = rows(h, cid)
        assert row["state"] == "queued" and row["attempts"] >= 3
        assert len(late.requests) == 1 and late.sends_by_msisdn[phone] == 1
    finally:
        late.stop()


def test_no_answer_becomes_unknown_and_a_receipt_settles_it(make_server, eightx8):
    h = make_server("Blu8x8HttpTimeout 1\n")
    api = h.client
    set_interval(api, 0)
    [phone] = new_phones(1)
    eightx8.hang()
    cid = make_campaign(api, [phone])
    t0 = time.time()
    assert action(api, cid, "send").status == 200
    wait_processed(api, cid, timeout=5)
    assert 0.9 < time.time() - t0 < 3
    [row] = rows(h, cid)
    assert row["state"] == "unknown" and len(eightx8.requests) == 1
    # 8x8 did take it: its receipt names the clientMessageId.
    receipt = {"namespace": "ChatApps", "eventType": "outbound_message_status_changed",
               "payload": {"umid": "82188ee0-109f-e811-8150-020897df5459",
                           "clientMessageId": row["client_message_id"], "channel": "viber",
                           "user": {"msisdn": phone},
                           "status": {"state": "delivered", "timestamp": "2026-11-01T08:20:03Z"}}}
    r = Client(h.port, None).post("/viber/status", json=receipt)
    assert r.status == 200, r
    [row] = rows(h, cid)
    assert row["state"] == "delivered" and row["umid"] == receipt["payload"]["umid"]
    wait_until(lambda: api.get(f"/blu8x8/api/campaigns/{cid}").json["state"] == "done",
               what="done after the receipt")


# ------------------------------------------------------------------ actions

def test_invalid_transitions_answer_409_with_the_state(server):
    api = server.client
    cid = make_campaign(api, new_phones(1))
    for name in ("pause", "resume", "cancel", "retry-failed", "requeue-unknown"):
        r = action(api, cid, name)
        assert r.status == 409, (name, r)
        assert r.json["state"] == "draft" and r.json["error"]
    assert action(api, 999999, "send").status == 404
    empty = make_campaign(api)
    r = action(api, empty, "send")
    assert r.status == 422 and "recipients" in r.json["error"]
    assert api.get(f"/blu8x8/api/campaigns/{empty}").json["state"] == "draft"


def test_send_now_starts_at_once_in_insertion_order(server, eightx8):
    api = server.client
    set_interval(api, 0.05)
    phones = new_phones(5)
    cid = make_campaign(api, phones)
    t0 = time.monotonic()
    r = action(api, cid, "send")
    assert r.status == 200 and r.json["state"] == "sending"
    assert eightx8.wait_for(1, timeout=2)
    # Woken at once, not at the next poll or minute.
    assert eightx8.requests[0].time - t0 < 0.5
    assert eightx8.wait_for(5, timeout=5)
    assert [q.json["user"]["msisdn"] for q in eightx8.requests] == phones
    assert action(api, cid, "send").status == 409


def test_pause_resume_and_cancel_mid_send(server, eightx8):
    api = server.client
    set_interval(api, 0.2)
    phones = new_phones(12)
    cid = make_campaign(api, phones)
    assert action(api, cid, "send").status == 200
    assert eightx8.wait_for(3, timeout=5)
    r = action(api, cid, "pause")
    assert r.status == 200 and r.json["state"] == "paused"
    # At most the one in progress finishes; then nothing more goes out.
    wait_until(lambda: "sending" not in [x["state"] for x in rows(server, cid)],
               what="the send in progress finished")
    paused_at = stays(lambda: len(eightx8.requests), api)
    assert action(api, cid, "pause").status == 409
    r = action(api, cid, "resume")
    assert r.status == 200 and r.json["state"] == "sending"
    assert eightx8.wait_for(paused_at + 2, timeout=3)
    r = action(api, cid, "cancel")
    assert r.status == 200 and r.json["state"] == "cancelled"
    wait_until(lambda: "sending" not in [x["state"] for x in rows(server, cid)],
               what="the send in progress finished")
    sent = stays(lambda: len(eightx8.requests), api)
    assert sent < len(phones)
    states = [x["state"] for x in rows(server, cid)]
    assert states.count("queued") == sent and states.count("cancelled") == len(phones) - sent
    assert [q.json["user"]["msisdn"] for q in eightx8.requests] == phones[:sent]
    assert action(api, cid, "resume").status == 409


def test_queue_waits_for_send_at(server, eightx8):
    api = server.client
    set_interval(api, 0)
    phones = new_phones(2)
    cid = make_campaign(api, phones)
    r = action(api, cid, "queue", {"send_at": "not a date"})
    assert r.status == 422 and "send_at" in r.json["fields"]
    at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=3)
    local = at.astimezone(datetime.timezone(datetime.timedelta(hours=8)))
    r = action(api, cid, "queue", {"send_at": local.isoformat(timespec="seconds")})
    assert r.status == 200 and r.json["state"] == "queued"
    assert r.json["send_at"].endswith("Z")
    mono0, wall0 = time.monotonic(), time.time()
    # A worker heartbeat (its start_dated look at the queue) before send_at: nothing sent.
    assert stays(lambda: len(eightx8.requests), api, ticks=1) == 0
    assert api.get(f"/blu8x8/api/campaigns/{cid}").json["state"] == "queued"
    assert eightx8.wait_for(2, timeout=8)
    started = wall0 + (eightx8.requests[0].time - mono0)
    assert started >= at.replace(microsecond=0).timestamp() - 0.05
    wait_until(lambda: api.get(f"/blu8x8/api/campaigns/{cid}").json["state"] == "done",
               what="done")


def test_duplicate_makes_a_fresh_draft(server):
    api = server.client
    phones = new_phones(3)
    cid = make_campaign(api, phones, body="Dup {name}", fallback_text="SMS text")
    r = action(api, cid, "duplicate")
    assert r.status == 201, r
    copy = r.json
    assert copy["id"] != cid and copy["state"] == "draft"
    assert copy["body"] == "Dup {name}" and copy["fallback_text"] == "SMS text"
    assert copy["counts"]["pending"] == 3
    old, new = rows(server, cid), rows(server, copy["id"])
    assert [x["phone"] for x in new] == phones
    assert not {x["client_message_id"] for x in old} & {x["client_message_id"] for x in new}


def test_retry_failed_sends_the_failed_again_with_new_ids(server, eightx8):
    api = server.client
    set_interval(api, 0)
    bad, good = new_phones(2)
    eightx8.reject_msisdn(bad)
    cid = make_campaign(api, [bad, good])
    assert action(api, cid, "send").status == 200
    wait_until(lambda: api.get(f"/blu8x8/api/campaigns/{cid}").json["state"] == "done",
               what="done")
    failed = [x for x in rows(server, cid) if x["phone"] == bad][0]
    eightx8.reset()
    r = action(api, cid, "retry-failed")
    assert r.status == 200 and r.json["state"] == "sending"
    wait_processed(api, cid)
    again = [x for x in rows(server, cid) if x["phone"] == bad][0]
    assert again["state"] == "queued" and again["error_code"] is None
    assert again["client_message_id"] != failed["client_message_id"]
    assert [q.json["user"]["msisdn"] for q in eightx8.requests] == [bad]


def test_opted_out_contact_is_skipped_at_send_time(server, eightx8):
    api = server.client
    set_interval(api, 0)
    out_phone, in_phone = new_phones(2)
    r = api.post("/blu8x8/api/contacts", json={"name": "Later Out", "phone": out_phone})
    assert r.status == 201
    contact = r.json
    cid = make_campaign(api, [in_phone], contact_ids=[contact["id"]])
    assert api.patch(f"/blu8x8/api/contacts/{contact['id']}",
                     json={"opted_out": True}).status == 200
    assert action(api, cid, "send").status == 200
    wait_processed(api, cid)
    by_phone = {x["phone"]: x for x in rows(server, cid)}
    assert by_phone[out_phone]["state"] == "skipped"
    assert by_phone[out_phone]["error_message"] == "opted out"
    assert by_phone[in_phone]["state"] == "queued"
    assert not requests_to(eightx8, out_phone)


def test_pacing_keeps_the_interval_start_to_start(server, eightx8):
    api = server.client
    set_interval(api, 0.1)
    cid = make_campaign(api, new_phones(20))
    assert action(api, cid, "send").status == 200
    assert eightx8.wait_for(20, timeout=8)
    times = [q.time for q in eightx8.requests]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert all(abs(g - 0.1) < 0.05 for g in gaps), gaps
    assert abs((times[-1] - times[0]) - 1.9) < 0.1    # no drift


def test_interval_change_applies_while_sending(server, eightx8):
    api = server.client
    set_interval(api, 1)
    cid = make_campaign(api, new_phones(8))
    assert action(api, cid, "send").status == 200
    assert eightx8.wait_for(1, timeout=2)
    set_interval(api, 0.05)
    assert eightx8.wait_for(8, timeout=3)


# -------------------------------------------------------------- direct lane

def test_stop_confirmation_goes_out_through_the_direct_lane(server, eightx8):
    """A confirmation is not held behind a slow campaign or its interval."""
    api = server.client
    set_interval(api, 30)
    busy = make_campaign(api, new_phones(3))
    assert action(api, busy, "send").status == 200
    # 0 or 1 at once (the interval runs from the last send of any campaign), the rest 30 s apart.
    campaign_requests = stays(lambda: len(eightx8.requests), api, ticks=1)
    [phone] = new_phones(1)
    inbound = {"namespace": "ChatApps", "eventType": "inbound_message_received",
               "payload": {"umid": str(uuid.uuid4()), "subAccountId": SUB,
                           "timestamp": "2026-11-01T14:34:56.017Z",
                           "user": {"msisdn": phone, "name": "Stopper"},
                           "recipient": {"channel": "viber", "channelId": "x"},
                           "type": "Text", "content": {"text": "STOP"}}}
    r = Client(server.port, None).post("/viber/status", json=inbound)
    assert r.status == 200, r
    wait_until(lambda: requests_to(eightx8, phone), timeout=3, what="confirmation sent")
    [req] = requests_to(eightx8, phone)
    assert req.json["type"] == "text" and req.json["content"]["text"]
    row = wait_until(lambda: server.sql(
        "SELECT state, umid, client_message_id FROM messages WHERE kind = 'confirmation' "
        "AND phone = ? AND state = 'queued'", (phone,)), what="confirmation queued")[0]
    assert row[1] == eightx8.umids[row[2]] and req.json["clientMessageId"] == row[2]
    # The campaign is still waiting for its interval: the reply did not queue behind it.
    assert len(eightx8.requests) == campaign_requests + 1
    assert progress(api, busy)["counts"]["pending"] >= 2


# ------------------------------------------------------------------- status

def test_progress_and_crons_are_reported(server):
    api = server.client
    cid = make_campaign(api, new_phones(2))
    p = progress(api, cid)
    assert p["state"] == "draft" and p["counts"]["total"] == 2 and p["counts"]["pending"] == 2
    assert p["percent"] == 0 and p["failures"] == []
    crons = api.get("/blu8x8/api/status").json["crons"]
    assert crons["send_queued"]["last_run"] and crons["check_umids"]["last_run"]
    assert api.get("/blu8x8/api/campaigns/999999/progress").status == 404


# ------------------------------------------------------------------- crash

def test_worker_killed_mid_send_never_sends_twice(make_server, eightx8):
    h = make_server()
    api = h.client
    set_interval(api, 0.01)
    phones = new_phones(500)
    cid = make_campaign(api, phones)
    assert action(api, cid, "send").status == 200
    kills = 0
    for at in (60, 180, 300):
        assert eightx8.wait_for(at, timeout=20), "the sender stalled"
        pid = h.wait_worker()
        os.kill(pid, signal.SIGKILL)
        kills += 1
        h.wait_worker(timeout=15, not_pid=pid)
    p = wait_processed(api, cid, timeout=30)
    states = {x["phone"]: x["state"] for x in rows(h, cid)}
    assert set(states.values()) <= {"queued", "failed", "unknown"}, p["counts"]
    assert max(eightx8.sends_by_msisdn.values()) == 1          # nobody twice
    unknown = [ph for ph, s in states.items() if s == "unknown"]
    assert len(unknown) <= kills, p["counts"]
    # Never skipped: every row shown as sent reached 8x8, exactly once.
    for ph, s in states.items():
        if s == "queued":
            assert eightx8.sends_by_msisdn[ph] == 1, ph
    assert p["counts"]["queued"] + len(unknown) == len(phones)



def test_recipients_csv_guards_8x8s_error_message(server, eightx8):
    """8x8's errorMessage lands in recipients.csv: a formula there is written
    with a leading ' (the phone, a plain number, stays as it is)."""
    import csv as csv_module
    import io
    api = server.client
    set_interval(api, 0)
    bad = new_phones(1)[0]
    eightx8.reject_msisdn(bad, 1002, "=cmd|' /C calc'!A0")
    cid = make_campaign(api, [bad])
    assert action(api, cid, "send").status == 200
    wait_processed(api, cid)
    r = api.get(f"/blu8x8/campaigns/{cid}/recipients.csv")
    assert r.status == 200
    head, row = list(csv_module.reader(io.StringIO(r.csv_text)))
    assert row[head.index("phone")] == bad and bad.startswith("+")
    assert row[head.index("error_message")] == "'=cmd|' /C calc'!A0"
    assert rows(server, cid)[0]["error_message"] == "=cmd|' /C calc'!A0"   # stored as sent
