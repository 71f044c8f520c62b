"""Inbound webhooks as 8x8 documents them (second round): every sample body
in 8x8's inbound pages (tests/reference/8x8/, copies of shared/reference/8x8/) is stored with the right
phone, name, type and text; senders without a phone number (other chat
channels, alphanumeric and short SMS senders) are answered 200 and kept with
phone null and the sender in name (no AI reply, no lead, no contact); STOP
and START are confirmed on the channel they came by."""

from __future__ import annotations

import json
import pathlib
import re
import shutil
import uuid

import pytest

from conftest import Client, Httpd, new_root, stays, wait_until

HOOK = "/viber/status"
REFERENCE = pathlib.Path(__file__).resolve().parents[1] / "reference" / "8x8"
PHONE = "+639171234567"

# Values for the documents' <PLACEHOLDER>s (bare, in place of a JSON value).
PLACEHOLDERS = {
    "USER_PHONE_NUMBER": PHONE,
    "WHATSAPP_BSUID": "PH.1a2b3c4d5e6f",
    "WHATSAPP_USER_PROFILE_NAME": "Ana Reyes",
    "WHATSAPP_USERNAME": "ana.reyes",
    "SUBACCOUNT_ID": "BluCoffeePH_TwoWayViber_NOTIF",
    "CHANNEL_ID": "2f9c0a1b",
    "REPLIED_MESSAGE_UMID": "7d1b2c3e-0000-4000-8000-000000000001",
}


def documented_samples(page: str) -> list[tuple[str, dict]]:
    """(title, body) of every inbound JSON sample on an 8x8 page, with fresh
    UMIDs and the placeholders filled in."""
    text = (REFERENCE / page).read_text()
    out = []
    for m in re.finditer(r"```json([^\n]*)\n(.*?)```", text, re.S):
        title, block = m.group(1), m.group(2)
        if "inbound_message_received" not in block:
            continue

        def fill(p):
            name = p.group(1)
            value = str(uuid.uuid4()) if name == "UNIQUE_MESSAGE_ID" else PLACEHOLDERS[name]
            return ": " + json.dumps(value)

        body = json.loads(re.sub(r":\s*<([A-Z_]+)>", fill, block))
        out.append((title.strip() or page, body))
    return out


CHATAPPS = documented_samples("inbound-chatapps-message.mdx")
SMS = documented_samples("inbound-sms.md")


@pytest.fixture(scope="module")
def server(eightx8, openai):
    """Without the worker: what is stored is the webhook's doing. The AI
    switch is on, so a row the AI leaves alone says so (skipped)."""
    h = Httpd(new_root(), "", eightx8, openai, worker=False).start()
    assert h.client.patch("/blu8x8/api/settings", json={"ai_respond": True}).status == 200
    yield h
    h.stop()
    h.drop_database()
    problems = h.problems()
    if not problems:
        shutil.rmtree(h.root, ignore_errors=True)
    assert not problems, "server problems:\n" + "\n".join(problems)


def hook(server, body):
    return Client(server.port, None).request(
        "POST", HOOK, body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})


def stored(server, umid):
    """The inbound API's item for this UMID."""
    page = 1
    while True:
        data = server.client.get(f"/blu8x8/api/inbound?per_page=1000&page={page}").json
        for it in data["items"]:
            if it["umid"] == umid:
                return it
        if page >= data["pages"]:
            raise AssertionError(f"inbound {umid} is not listed")
        page += 1


def counts(server):
    return server.sql("SELECT (SELECT COUNT(*) FROM contacts), (SELECT COUNT(*) FROM messages), "
                      "(SELECT COUNT(*) FROM leads)")[0]


# ------------------------------------------------------ documented samples

def test_the_pages_have_the_samples():
    titles = [t for t, _ in CHATAPPS]
    assert len(CHATAPPS) == 7 and len(SMS) == 1, titles
    assert any("Viber" in t for t in titles) and any("v2" in t for t in titles)


# What each documented sample must become: phone, name, channel, type, text.
def expected(body):
    p = body["payload"]
    if body["namespace"] == "SMS":
        return (p["source"], None, "sms", "text", p["body"])
    user, content = p["user"], p["content"]
    kind = p["type"].lower()
    if kind == "text":
        text = content["text"]
    else:
        inter = content["interactive"]
        text = inter["nfmReply"]["responseJson"] if "nfmReply" in inter else \
            "call permission: " + inter["callPermissionReply"]["response"]
    return (user["msisdn"], user.get("name"), p["recipient"]["channel"], kind, text)


@pytest.mark.parametrize("title, body", CHATAPPS + SMS, ids=[t for t, _ in CHATAPPS + SMS])
def test_documented_inbound_sample_is_stored(server, title, body):
    before = counts(server)
    r = hook(server, body)
    assert r.status == 200, (title, r.text)
    it = stored(server, body["payload"]["umid"])
    assert (it["phone"], it["name"], it["channel"], it["type"], it["text"]) == expected(body)
    # Only a Viber text goes to the AI (replies are sent on Viber).
    viber_text = it["channel"] == "viber" and it["type"] == "text"
    assert it["ai_state"] == ("new" if viber_text else "skipped")
    assert counts(server) == before    # no contact, message or lead made
    # 8x8 retries: the same body again is stored once.
    assert hook(server, body).status == 200
    assert server.sql("SELECT COUNT(*) FROM inbound WHERE umid = ?",
                      (body["payload"]["umid"],)) == [(1,)]


# ------------------------------------------- senders without phone numbers

def line_event(user, text="Hello from LINE", channel="line"):
    return {"version": 3, "namespace": "ChatApps", "eventType": "inbound_message_received",
            "description": "ChatApps inbound message",
            "payload": {"umid": str(uuid.uuid4()), "subAccountId": "BluCoffeePH_TwoWayViber_NOTIF",
                        "timestamp": "2026-07-03T01:14:03.00Z", "user": user,
                        "recipient": {"channel": channel, "channelId": "line-chan-1"},
                        "type": "Text", "content": {"text": text}}}


def sms_event(source, text="Promo: 50% off"):
    return {"namespace": "SMS", "eventType": "inbound_message_received",
            "description": "SMS inbound message",
            "payload": {"umid": str(uuid.uuid4()), "subAccountId": "BluCoffeePH_NOTIF",
                        "timestamp": "2026-01-01T14:34:56.017Z", "source": source,
                        "destination": "+639170000999", "body": text, "encoding": "GSM7",
                        "smsCount": 1}}


@pytest.mark.parametrize("event, name, channel", [
    (line_event({"channelUserId": "U4af4980629", "name": "Ana"}), "Ana", "line"),
    (line_event({"channelUserId": "U4af4980629"}), "U4af4980629", "line"),
    (line_event({"username": "ana.reyes"}, channel="whatsapp"), "ana.reyes", "whatsapp"),
    (line_event({}), "line-chan-1", "line"),
    (sms_event("GLOBE"), "GLOBE", "sms"),
    (sms_event("BluPromo 2"), "BluPromo 2", "sms"),
    (sms_event("2882"), "2882", "sms"),
    (sms_event("225588"), "225588", "sms"),
], ids=["line-named", "line-id-only", "whatsapp-username", "no-user-fields", "sms-alpha",
        "sms-alpha-space", "sms-short-code", "sms-6-digit-code"])
def test_sender_without_phone_is_kept_with_phone_null(server, event, name, channel):
    before = counts(server)
    r = hook(server, event)
    assert r.status == 200, r.text
    it = stored(server, event["payload"]["umid"])
    assert (it["phone"], it["name"], it["channel"], it["type"]) == (None, name, channel, "text")
    assert it["ai_state"] == "skipped" and it["contact_id"] is None
    assert counts(server) == before    # no contact, no confirmation, no lead


def test_stop_from_an_alphanumeric_sender_changes_nothing(server):
    before = counts(server)
    for text in ("STOP", "START"):
        event = sms_event("GLOBE", text=text)
        assert hook(server, event).status == 200
        assert stored(server, event["payload"]["umid"])["ai_state"] == "skipped"
    assert counts(server) == before


def test_senders_without_phone_have_their_own_conversation(server):
    event = line_event({"channelUserId": "Uinbox0001", "name": "Lino Inbox"},
                       text="Hello from the inbox test")
    assert hook(server, event).status == 200
    page = server.client.get("/blu8x8/conversations?q=Lino").text
    assert "Lino Inbox" in page and "no phone number" in page
    assert "1 conversation(s)" in page
    conv = server.client.get("/blu8x8/api/conversations?q=Lino").json["items"][0]
    assert conv["phone"] is None and conv["name"] == "Lino Inbox"
    thread = server.client.get(f"/blu8x8/conversations/{conv['id']}").text
    assert "Hello from the inbox test" in thread
    assert "Viber replies need one" in thread           # no reply form without a phone
    r = server.client.post(f"/blu8x8/api/conversations/{conv['id']}/messages",
                           json={"text": "Hi Lino"})
    assert r.status == 422 and "phone number" in r.json["fields"]["text"]
    # Listed by the inbound API with phone null.
    assert stored(server, event["payload"]["umid"])["phone"] is None


def test_a_number_with_a_phone_is_still_a_phone(server):
    event = sms_event("639175550123", text="Hi from a phone")
    assert hook(server, event).status == 200
    assert stored(server, event["payload"]["umid"])["phone"] == "+639175550123"


# ------------------------------------------------------ STOP/START confirmations

def viber_sms_event(phone, text):
    return line_event({"msisdn": phone, "name": "Bea"}, text=text, channel="viber")


def sends_to(eightx8, phone):
    """(channel, SMS sender, text) of every message 8x8 accepted for phone."""
    out = []
    for a in list(eightx8.accepted):
        if a["msisdn"] == phone:
            msg = a["message"]
            text = msg.get("text") if a["channel"] == "sms" else msg["content"]["text"]
            out.append((a["channel"], msg.get("source"), text))
    return out


def test_stop_and_start_by_sms_are_confirmed_by_sms_from_the_first_sender(make_server, eightx8):
    h = make_server()
    phone = "+639175550777"
    assert Client(h.port, None).request(
        "POST", HOOK, body=json.dumps(sms_event(phone, "Stop")).encode(),
        headers={"Content-Type": "application/json"}).status == 200
    sent = wait_until(lambda: sends_to(eightx8, phone), timeout=20)
    assert sent == [("sms", "Blu Coffee", "You have been unsubscribed from Blu Coffee messages. "
                                          "Reply START to subscribe again.")]
    assert h.sql("SELECT opted_out FROM contacts WHERE phone = ?", (phone,)) == [(1,)]
    # The confirmation is an SMS like any other: in the SMS log, sent.
    log = wait_until(lambda: [s for s in h.client.get("/blu8x8/api/sms").json["items"]
                              if s["phone"] == phone and s["state"] != "pending"
                              and s["state"] != "sending"])
    assert log[0]["sender"] == "Blu Coffee" and log[0]["state"] not in ("skipped", "failed")
    assert Client(h.port, None).request(
        "POST", HOOK, body=json.dumps(sms_event(phone, "START")).encode(),
        headers={"Content-Type": "application/json"}).status == 200
    wait_until(lambda: len(sends_to(eightx8, phone)) == 2, timeout=20)
    kind, sender, text = sends_to(eightx8, phone)[1]
    assert (kind, sender) == ("sms", "Blu Coffee") and "Reply STOP to unsubscribe" in text
    assert stays(lambda: [s[0] for s in sends_to(eightx8, phone)], h.client) == \
        ["sms", "sms"]   # nothing on Viber


def test_stop_by_viber_is_confirmed_on_viber(make_server, eightx8):
    h = make_server()
    phone = "+639175550778"
    assert Client(h.port, None).request(
        "POST", HOOK, body=json.dumps(viber_sms_event(phone, "STOP")).encode(),
        headers={"Content-Type": "application/json"}).status == 200
    sent = wait_until(lambda: sends_to(eightx8, phone), timeout=20)
    assert sent[0][0] == "viber" and "unsubscribed" in sent[0][2]
    assert stays(lambda: [s[0] for s in sends_to(eightx8, phone)], h.client) == ["viber"]


def test_stop_on_a_channel_we_do_not_send_on_opts_out_without_a_viber_message(server):
    phone = "+639175550779"
    event = line_event({"msisdn": phone, "name": "Wanda"}, text="stop", channel="whatsapp")
    assert hook(server, event).status == 200
    assert server.sql("SELECT opted_out FROM contacts WHERE phone = ?", (phone,)) == [(1,)]
    assert server.sql("SELECT COUNT(*) FROM messages WHERE phone = ?", (phone,)) == [(0,)]
