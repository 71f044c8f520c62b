"""Speaking the real 8x8 (issue 15, sending side), against a real httpd and
the 8x8 stand-in that checks every body against 8x8's official schemas:

* account refusals pause (campaign and SMS lane) and leave the rows pending,
* an outage is waited out (every message sent exactly once), and a longer
  one than the retry window fails the message,
* the SMS fallback's receipts move a recipient to channel sms,
* every documented receipt sample of 8x8's pages has its documented effect,
* every SMS body (single, batch) validates against 8x8's SMS schema.
"""

from __future__ import annotations

import copy
import itertools
import json
import pathlib
import re
import time
import uuid

import pytest

import eightx8_schema
from conftest import Client, stays, wait_until

VIBER_SUB = "BluCoffeePH_TwoWayViber_NOTIF"
SMS_SUB = "BluCoffeePH_NOTIF"
HOOK = "/viber/status"
REFERENCE = eightx8_schema.REFERENCE
_phones = itertools.count(1)


# ------------------------------------------------------------------- helpers

def new_phones(n: int) -> list[str]:
    return [f"+63947{next(_phones):07d}" for _ in range(n)]


def set_interval(api, seconds) -> None:
    r = api.patch("/blu8x8/api/settings", json={"send_interval": seconds})
    assert r.status == 200, r


def make_campaign(api, phones, **fields) -> int:
    body = {"name": f"Real 8x8 {uuid.uuid4().hex[:6]}", "type": "text", "body": "Hello"}
    body.update(fields)
    r = api.post("/blu8x8/api/campaigns", json=body)
    assert r.status == 201, r
    cid = r.json["id"]
    r = api.post(f"/blu8x8/api/campaigns/{cid}/recipients", json={"phones": list(phones)})
    assert r.status == 200 and r.json["added"] == len(phones), r
    return cid


def action(api, cid, name):
    return api.post(f"/blu8x8/api/campaigns/{cid}/{name}", json={})


def campaign(api, cid) -> dict:
    r = api.get(f"/blu8x8/api/campaigns/{cid}")
    assert r.status == 200, r
    return r.json


def recipients(api, cid) -> list[dict]:
    r = api.get(f"/blu8x8/api/campaigns/{cid}/recipients?per_page=1000")
    assert r.status == 200, r
    return r.json["items"]


def status(api) -> dict:
    r = api.get("/blu8x8/api/status")
    assert r.status == 200, r
    return r.json


def hook(server, body) -> int:
    """Posts to the webhook as 8x8 does."""
    r = Client(server.port, None).request("POST", HOOK, body=json.dumps(body).encode(),
                                          headers={"Content-Type": "application/json"})
    return r.status


def sms_send(api, phones, text="Your order shipped") -> int:
    r = api.post("/blu8x8/api/sms", json={"text": text, "phones": phones})
    assert r.status == 202, r
    return r.json["id"]


def sms_rows(server, bid) -> list[dict]:
    cols = ("phone", "state", "umid", "client_message_id", "error_code", "error_id", "price")
    return [dict(zip(cols, r)) for r in server.sql(
        f"SELECT {', '.join(cols)} FROM messages WHERE sms_batch_id = ? ORDER BY id", (bid,))]


@pytest.fixture(autouse=True)
def _quiet(request, eightx8):
    """No campaign or paused lane of one test reaches into the next."""
    yield
    eightx8.clear_script()
    if "server" in request.fixturenames:
        api = request.getfixturevalue("server").client
        api.post("/blu8x8/api/sms/resume", json={})
        for state in ("sending", "queued", "paused"):
            for c in api.get(f"/blu8x8/api/campaigns?state={state}&per_page=1000").json["items"]:
                action(api, c["id"], "cancel")


# ------------------------------------------------------- account refusals

def test_account_refusal_pauses_the_campaign_with_its_rows_pending(server, eightx8):
    api = server.client
    set_interval(api, 0)
    phones = new_phones(3)
    eightx8.refuse_account(401, 1200, "Request was not authenticated properly",
                           path_contains=VIBER_SUB)
    cid = make_campaign(api, phones)
    assert action(api, cid, "send").status == 200
    c = wait_until(lambda: (lambda c: c if c["state"] == "paused" else None)(campaign(api, cid)),
                   what="paused")
    assert "1200" in c["pause_reason"] and "not authenticated" in c["pause_reason"]
    # Nothing else happens while paused.
    rows = stays(lambda: recipients(api, cid), api)
    assert [r["state"] for r in rows] == ["pending"] * 3
    assert not any(eightx8.sends_by_msisdn[p] for p in phones)
    # Shown on the campaign page and the dashboard.
    page = api.get(f"/blu8x8/campaigns/{cid}")
    assert page.status == 200 and "Request was not authenticated properly" in page.text
    dash = api.get("/blu8x8/")
    assert dash.status == 200 and f'id="refused-{cid}"' in dash.text
    # The account is fixed: resume sends every one of them once.
    eightx8.clear_script()
    r = action(api, cid, "resume")
    assert r.status == 200 and r.json["pause_reason"] is None
    wait_until(lambda: all(r["state"] == "queued" for r in recipients(api, cid)), what="queued")
    assert all(eightx8.sends_by_msisdn[p] == 1 for p in phones)


@pytest.mark.parametrize("http,code,message", [
    (403, 1201, "Forbidden"),
    (400, 1001, "Provided subAccountId doesn't belongs to your account"),
    (426, 1014, "TLS 1.3+ is required for Singapore-bound messages. Detected: TLSv1.2"),
])
def test_every_documented_account_refusal_pauses(server, eightx8, http, code, message):
    api = server.client
    set_interval(api, 0)
    [phone] = new_phones(1)
    eightx8.refuse_account(http, code, message, path_contains=VIBER_SUB)
    cid = make_campaign(api, [phone])
    assert action(api, cid, "send").status == 200
    c = wait_until(lambda: (lambda c: c if c["state"] == "paused" else None)(campaign(api, cid)),
                   what="paused")
    assert str(code) in c["pause_reason"] and message in c["pause_reason"]
    assert recipients(api, cid)[0]["state"] == "pending"


def test_a_message_refusal_still_fails_only_that_recipient_with_its_error_id(server, eightx8):
    api = server.client
    set_interval(api, 0)
    bad, good = new_phones(2)
    eightx8.reject_msisdn(bad, 1002, "Invalid MSISDN format (not E.164 international number)")
    cid = make_campaign(api, [bad, good])
    assert action(api, cid, "send").status == 200
    wait_until(lambda: all(r["state"] in ("failed", "queued") for r in recipients(api, cid)),
               what="sent")
    by_phone = {r["phone"]: r for r in recipients(api, cid)}
    assert by_phone[bad]["state"] == "failed" and by_phone[bad]["error_code"] == "1002"
    assert re.fullmatch(r"[0-9a-f-]{36}", by_phone[bad]["error_id"] or "")
    assert by_phone[good]["error_id"] is None and by_phone[good]["channel"] == "viber"
    csv_text = api.get(f"/blu8x8/campaigns/{cid}/recipients.csv").text
    assert by_phone[bad]["error_id"] in csv_text
    assert campaign(api, cid)["state"] != "paused"


def test_sms_account_refusal_pauses_the_lane_until_resumed(server, eightx8):
    api = server.client
    phones = new_phones(2)
    eightx8.refuse_account(403, 1201, "Forbidden", path_contains=SMS_SUB + "/")
    bid = sms_send(api, phones)
    s = wait_until(lambda: (lambda s: s if s["sms"]["paused"] else None)(status(api)),
                   what="SMS lane paused")
    assert "1201" in s["sms"]["reason"] and "Forbidden" in s["sms"]["reason"]
    assert stays(lambda: [r["state"] for r in sms_rows(server, bid)], api) == ["pending", "pending"]
    page = api.get("/blu8x8/sms")
    assert page.status == 200 and 'id="sms-paused"' in page.text
    eightx8.clear_script()
    r = api.post("/blu8x8/api/sms/resume", json={})
    assert r.status == 200 and r.json["paused"] is False
    wait_until(lambda: all(r["state"] == "queued" for r in sms_rows(server, bid)), what="sent")
    assert all(eightx8.sends_by_msisdn[p] == 1 for p in phones)
    assert status(api)["sms"] == {"paused": False, "reason": None, "since": None}


def test_a_settings_save_resumes_the_sms_lane(server, eightx8):
    api = server.client
    [phone] = new_phones(1)
    eightx8.refuse_account(path_contains=SMS_SUB + "/")
    bid = sms_send(api, [phone])
    wait_until(lambda: status(api)["sms"]["paused"], what="SMS lane paused")
    eightx8.clear_script()
    set_interval(api, 0)     # any save: the admin fixed something
    wait_until(lambda: sms_rows(server, bid)[0]["state"] == "queued", what="sent")
    assert eightx8.sends_by_msisdn[phone] == 1


# ------------------------------------------------------------------ outages

def test_an_outage_ends_with_every_message_sent_exactly_once(server, eightx8):
    api = server.client
    set_interval(api, 0)
    phones = new_phones(4)
    sms_phones = new_phones(2)
    cid = make_campaign(api, phones)
    eightx8.outage(3.0)
    try:
        assert action(api, cid, "send").status == 200
        bid = sms_send(api, sms_phones)
        s = wait_until(lambda: (lambda s: s if not s["eightx8"]["reachable"] else None)(
            status(api)), what="8x8 unreachable")
        assert s["eightx8"]["last_error"] and s["eightx8"]["since"]
        dash = api.get("/blu8x8/")
        assert "Not reachable" in dash.text
        assert all(r["state"] == "sending" for r in recipients(api, cid)[:1])
    finally:
        wait_until(lambda: eightx8._server is not None, timeout=10, what="8x8 back")
    wait_until(lambda: all(r["state"] == "queued" for r in recipients(api, cid)), timeout=40,
               what="campaign sent after the outage")
    wait_until(lambda: all(r["state"] == "queued" for r in sms_rows(server, bid)), timeout=40,
               what="SMS sent after the outage")
    assert all(eightx8.sends_by_msisdn[p] == 1 for p in phones + sms_phones)
    assert len([q for q in eightx8.requests if "/messages" in q.path]) == len(phones) + 1
    wait_until(lambda: status(api)["eightx8"]["reachable"], what="8x8 reachable again")


def test_an_outage_longer_than_the_retry_window_fails_the_message(make_server, eightx8):
    h = make_server("Blu8x8RetryWindow 2\n")
    api = h.client
    set_interval(api, 0)
    [phone] = new_phones(1)
    eightx8.fail(503, code=2000, message="Service busy", times=None, path_contains=VIBER_SUB)
    started = time.monotonic()
    cid = make_campaign(api, [phone])
    assert action(api, cid, "send").status == 200
    row = wait_until(lambda: (lambda r: r if r["state"] == "failed" else None)(
        recipients(api, cid)[0]), timeout=20, what="failed")
    assert time.monotonic() - started >= 2
    assert row["error_code"] == "2000" and "Service busy" in row["error_message"]
    tries = [q for q in eightx8.requests
             if (q.json or {}).get("user", {}).get("msisdn") == phone]
    # Backoff, not a busy loop: a handful of tries in two seconds.
    assert 3 <= len(tries) <= 6
    gaps = [b.time - a.time for a, b in zip(tries, tries[1:])]
    assert gaps == sorted(gaps)


# ------------------------------------------------------------------ fallback

def sent_campaign(server, eightx8, **fields) -> tuple[int, dict]:
    api = server.client
    set_interval(api, 0)
    [phone] = new_phones(1)
    cid = make_campaign(api, [phone], **fields)
    assert action(api, cid, "send").status == 200
    row = wait_until(lambda: (lambda r: r if r["state"] == "queued" else None)(
        recipients(api, cid)[0]), what="queued")
    return cid, row


def chatapps_receipt(row, channel, state, **extra):
    return {"version": 9, "namespace": "ChatApps", "eventType": "outbound_message_status_changed",
            "description": "ChatApps outbound message delivery receipt",
            "payload": {"umid": row["umid"], "clientMessageId": row["client_message_id"],
                        "subAccountId": VIBER_SUB, "channel": channel,
                        "user": {"msisdn": row["phone"]},
                        "status": {"state": state, "timestamp": "2026-11-01T08:20:03.12Z",
                                   **extra}}}


def test_viber_undelivered_then_sms_delivered_is_delivered_on_sms(server, eightx8):
    api = server.client
    cid, row = sent_campaign(server, eightx8, fallback_text="Hello by SMS", fallback_after=30)
    [req] = [q for q in eightx8.requests if (q.json or {}).get("user", {}).get("msisdn")
             == row["phone"]]
    assert req.json["channels"] == [
        {"channel": "Viber", "fallbackAfter": 30, "successStatus": "Delivered"},
        {"channel": "SMS"}]
    assert hook(server, chatapps_receipt(row, "viber", "undelivered",
                                         detail="undelivered_to_recipient",
                                         errorCode=15, errorMessage="Invalid destination")) == 200
    r = recipients(api, cid)[0]
    assert (r["state"], r["channel"]) == ("undelivered", "viber")
    assert hook(server, chatapps_receipt(row, "sms", "delivered",
                                         detail="delivered_to_recipient")) == 200
    r = recipients(api, cid)[0]
    assert (r["state"], r["channel"]) == ("delivered", "sms")
    assert r["error_code"] is None
    wait_until(lambda: campaign(api, cid)["state"] == "done", what="campaign done")
    # A late Viber receipt changes nothing any more.
    assert hook(server, chatapps_receipt(row, "viber", "read")) == 200
    r = recipients(api, cid)[0]
    assert (r["state"], r["channel"]) == ("delivered", "sms")


def test_the_documented_fallback_sequence(server, eightx8):
    """whatsapp-sms-fallback.md's sample events (first channel Failed, then
    SMS Delivered), sent in the webhook's envelope: delivered on sms."""
    text = (REFERENCE / "whatsapp-sms-fallback.md").read_text(encoding="utf-8")
    section = text[text.index("### Sample Webhook Events"):]
    events = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", section, re.S)[:2]]
    assert [(e["channel"], e["status"]) for e in events] == [("WhatsApp", "Failed"),
                                                            ("SMS", "Delivered")]
    api = server.client
    cid, row = sent_campaign(server, eightx8, fallback_text="Hello by SMS")
    first, second = events
    # Our first channel is Viber: the sample's WhatsApp stands for it.
    assert hook(server, chatapps_receipt(row, "viber", first["status"].lower())) == 200
    assert recipients(api, cid)[0]["state"] == "failed"      # "failed" fails the row
    assert hook(server, chatapps_receipt(row, second["channel"],
                                         second["status"].lower())) == 200
    r = recipients(api, cid)[0]
    assert (r["state"], r["channel"]) == ("delivered", "sms")
    wait_until(lambda: campaign(api, cid)["state"] == "done", what="campaign done")


# ---------------------------------------------------- documented receipts

PLACEHOLDER = re.compile(r'(?<!")<([A-Z_]+)>(?!")')   # a bare <VALUE>, not "<VALUE>"


def documented_receipts() -> list[tuple[str, dict]]:
    """Every outbound receipt sample (JSON) of 8x8's receipt pages, with its
    <PLACEHOLDER> values made strings."""
    found = []
    for name in ("delivery-receipts-for-outbound-chatapps.mdx",
                 "delivery-receipts-for-outbound-sms.md"):
        text = (REFERENCE / name).read_text(encoding="utf-8")
        for title, block in re.findall(r"```json([^\n]*)\n(.*?)```", text, re.S):
            body = json.loads(PLACEHOLDER.sub(lambda m: json.dumps(m.group(1)), block))
            if body.get("eventType") == "outbound_message_status_changed":
                found.append((f"{name}{title}", body))
    return found


def test_the_receipt_pages_have_samples():
    titles = [t for t, _ in documented_receipts()]
    assert len(titles) >= 9
    assert any("Viber, delivered" in t for t in titles)
    assert any("v8" in t for t in titles) and any("v9" in t for t in titles)
    assert any("outbound-sms" in t for t in titles)


@pytest.mark.parametrize("title,sample", documented_receipts(),
                         ids=[t.split("—")[-1].strip(' "') or t
                              for t, _ in documented_receipts()])
def test_every_documented_receipt_has_its_effect(server, eightx8, title, sample):
    api = server.client
    body = copy.deepcopy(sample)
    payload = body["payload"]
    expected = {"queued": "queued", "sent": "sent", "delivered": "delivered", "read": "read",
                "undelivered": "undelivered", "rejected": "failed", "failed": "failed"}
    want = expected[payload["status"]["state"]]
    if body["namespace"] == "SMS":
        [phone] = new_phones(1)
        bid = sms_send(api, [phone])
        row = wait_until(lambda: (lambda r: r if r["state"] == "queued" else None)(
            sms_rows(server, bid)[0]), what="SMS queued")
        payload["umid"], payload["clientMessageId"] = row["umid"], row["client_message_id"]
        payload["destination"] = phone
        assert hook(server, body) == 200
        after = sms_rows(server, bid)[0]
        assert after["state"] == want
        if "price" in payload:
            assert after["price"] == f"{payload['price']['total']} {payload['price']['currency']}"
        if payload["status"].get("errorCode") is not None:
            assert after["error_code"] == str(payload["status"]["errorCode"])
        return
    cid, row = sent_campaign(server, eightx8)
    payload["umid"], payload["clientMessageId"] = row["umid"], row["client_message_id"]
    payload.get("user", {})["msisdn"] = row["phone"]
    assert hook(server, body) == 200
    r = recipients(api, cid)[0]
    assert r["state"] == want, (title, r)
    assert r["channel"] == "viber"     # a chat app's receipt: still the first channel
    if payload["status"].get("errorCode") is not None:
        assert r["error_code"] == str(payload["status"]["errorCode"])
    if want in ("delivered", "read"):
        wait_until(lambda: campaign(api, cid)["state"] == "done", what="campaign done")


# ----------------------------------------------------------- SMS schemas

def test_sms_single_and_batch_bodies_validate_against_8x8s_schema(server, eightx8):
    api = server.client
    [one] = new_phones(1)
    many = new_phones(3)
    first = sms_send(api, [one])
    wait_until(lambda: sms_rows(server, first)[0]["state"] == "queued", what="single sent")
    bid = sms_send(api, many, text="Hi {name}, sale today")
    wait_until(lambda: all(r["state"] == "queued" for r in sms_rows(server, bid)), what="sent")
    single = [q for q in eightx8.requests if q.path.endswith(f"{SMS_SUB}/messages")]
    batch = [q for q in eightx8.requests if q.path.endswith(f"{SMS_SUB}/messages/batch")]
    assert [q.json["destination"] for q in single] == [one]
    assert len(batch) == 1 and {m["destination"] for m in batch[0].json["messages"]} == set(many)
    assert eightx8_schema.errors("sms", single[0].json) == []
    assert eightx8_schema.errors("sms_batch", batch[0].json) == []
    assert len(batch[0].json["clientBatchId"]) <= 20
    assert eightx8.schema_errors == []


# ----------------------------------------------------------- the form

def test_campaign_form_takes_fallback_after_and_hides_body_for_files(server):
    client = server.client
    page = client.get("/blu8x8/campaigns/new")
    assert page.status == 200 and 'name="fallback_after"' in page.text
    # The message box belongs to text, image and video only.
    assert re.search(r'data-types="text image video">\s*<label>Message', page.text)
    r = client.post_form("/blu8x8/campaigns", {"name": "Form wait", "type": "text", "body": "Hi",
                                               "fallback_text": "Hi", "fallback_after": "5"},
                         page="/blu8x8/campaigns/new")
    assert r.status == 422 and "The SMS fallback waits from 10 to 86400 seconds" in r.text
    assert 'name="fallback_after" inputmode="numeric" value="5"' in r.text
    r = client.post_form("/blu8x8/campaigns", {"name": "Form wait", "type": "text", "body": "Hi",
                                               "fallback_text": "Hi", "fallback_after": "90"},
                         page="/blu8x8/campaigns/new")
    assert r.status == 303
    cid = re.search(r"/campaigns/(\d+)\?notice=created$", r.header("location")).group(1)
    assert campaign(client, cid)["fallback_after"] == 90
    r = client.post_form(f"/blu8x8/campaigns/{cid}", {"name": "Form file", "type": "file",
                                                      "body": "Our menu",
                                                      "url": "https://cdn.blu.example/m.pdf"})
    assert r.status == 422 and "A file or audio message has no text" in r.text
    r = client.post_form(f"/blu8x8/campaigns/{cid}", {"name": "Form file", "type": "file",
                                                      "body": "", "fallback_after": "",
                                                      "url": "https://cdn.blu.example/m.pdf"})
    assert r.status == 303
    assert campaign(client, cid)["fallback_after"] == 60      # blank: the default
